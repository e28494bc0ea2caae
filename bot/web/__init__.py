"""The web service: GitHub webhooks in, durable jobs out; health, readiness and metrics.

* `create_app(settings, control_url, listen_host=..., metrics=..., worker=...)`: the FastAPI app;
* `routing.route(event, payload, delivery_id, settings)`: the pure event -> jobs decision;
* `webhooks.verify_signature(body, header, secrets)`: the HMAC check.
"""

from bot.web.app import create_app, is_loopback

__all__ = ["create_app", "is_loopback"]
