"""The fake GitHub as a real HTTP server: an ASGI app served by uvicorn on a loopback port.

Each request goes through, in order: recording; matching a documented operation and validating
the request against GitHub's OpenAPI description (a mismatch is a *violation*: the fixture fails
the test that caused it); authentication as GitHub does it (an App JWT for `/app...` and the
installation lookup, an installation or plain token elsewhere); the primary rate limit; injected
faults; the operation itself; the answer's own validation against the description.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import tarfile
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

import jwt
import uvicorn
from starlette.requests import Request
from starlette.responses import Response

from .endpoints import HANDLERS, Answer, Call, Refusal
from .openapi import Description, Operation
from .responses import Shapes
from .state import AppIdentity, Credential, FakeGitHubState, Fault, RecordedRequest

JWT_OPERATIONS = frozenset({
    "GET /app",
    "POST /app/installations/{installation_id}/access_tokens",
    "GET /repos/{owner}/{repo}/installation",
})
PRIMARY_LIMIT_MESSAGE = "API rate limit exceeded for installation ID {id}. If you reach out to GitHub Support for help, please include the request ID."
SECONDARY_LIMIT_MESSAGE = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID."


class FakeGitHub:
    """The server, its state (replaced by `reset` between tests) and the App's identity."""

    def __init__(self, app: AppIdentity, describe: Description) -> None:
        self.app_identity = app
        self.describe = describe
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.state = FakeGitHubState(app, self.url)
        self.shapes = Shapes(describe, self.state)
        config = uvicorn.Config(self, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="fake-github", daemon=True)

    def start(self) -> FakeGitHub:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake GitHub did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def reset(self) -> FakeGitHubState:
        """A fresh, empty state (same server, same App)."""
        self.state = FakeGitHubState(self.app_identity, self.url)
        self.shapes = Shapes(self.describe, self.state)
        return self.state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self._handle(request)
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        state, shapes = self.state, self.shapes
        raw = await request.body()
        path = request.url.path
        query = parse_qsl(request.url.query, keep_blank_values=True)
        if path.startswith("/_codeload/"):
            return self._codeload(state, path, dict(query))
        method = request.method
        matched = self.describe.match(method, path)
        op, params = matched if matched else (None, {})
        body = _json_or_none(raw)
        record = RecordedRequest(time.time(), method, path, query, op.name if op else None,
                                 None, body)
        with state.lock:
            state.requests.append(record)
        if state.latency_s:
            await asyncio.sleep(state.latency_s)
        headers = {k.lower(): v for k, v in request.headers.items()}
        content_type = headers.get("content-type", "").split(";")[0] if raw else ""
        errors = self.describe.request_errors(op, method, path, query, headers, raw or None, content_type)
        if errors or op is None:
            state.violations.append(f"{method} {path}: " + "; ".join(errors or ["no such operation"]))
            answer = Refusal(404 if op is None else 422, "fake GitHub: the request does not match "
                             "GitHub's OpenAPI description: " + "; ".join(errors)).answer()
            return self._send(record, answer, op, method, path, query)
        try:
            credential = self._authenticate(state, op, params, headers, record)
            self._primary_limit(state, credential)
        except Refusal as refusal:
            return self._send(record, refusal.answer(), op, method, path, query, credential=None)
        fault = state.take_fault(method, path, op.template)
        call = Call(state, shapes, params, dict(query), body, credential, path)
        if fault is not None:
            record.fault = fault.kind
            early = await self._fault_before(fault)
            if early is not None:
                return self._send(record, early, op, method, path, query, credential)
        try:
            answer = HANDLERS[op.name](call)
        except Refusal as refusal:
            answer = refusal.answer()
        if fault is not None and fault.after:
            if fault.kind == "timeout":
                await asyncio.sleep(fault.delay)
            else:
                answer = Refusal(fault.status, "Server Error").answer()
        return self._send(record, answer, op, method, path, query, credential)

    async def _fault_before(self, fault: Fault) -> Answer | None:
        if fault.after:
            return None
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
            return None
        if fault.kind == "hold":
            fault.arrived.set()
            await asyncio.to_thread(fault.release.wait, 60)
            return None
        if fault.kind == "secondary_rate_limit":
            return Refusal(fault.status, SECONDARY_LIMIT_MESSAGE, {"Retry-After": str(fault.retry_after)}).answer()
        return Refusal(fault.status, "Server Error").answer()

    def _authenticate(self, state: FakeGitHubState, op: Operation, params: dict[str, str],
                      headers: dict[str, str], record: RecordedRequest) -> Credential | None:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if not value:
            raise Refusal(401, "Requires authentication")
        if value.count(".") == 2 and scheme.lower() == "bearer":
            record.credential = "jwt"
            self._check_jwt(state, value)
            if op.name not in JWT_OPERATIONS:
                raise Refusal(401, "A JSON web token could not be decoded")
            return None
        if op.name in JWT_OPERATIONS:
            raise Refusal(401, "A JSON web token could not be decoded")
        with state.lock:
            credential = state.credentials.get(value)
        if credential is None or (credential.expires_at is not None and credential.expires_at <= time.time()):
            raise Refusal(401, "Bad credentials")
        record.credential = credential.kind
        repo = f"{params.get('owner')}/{params.get('repo')}"
        if credential.kind == "installation" and "owner" in params:
            assert credential.installation_id is not None
            if repo not in state.installations.get(credential.installation_id, set()):
                raise Refusal(404, "Not Found")
        return credential

    @staticmethod
    def _check_jwt(state: FakeGitHubState, token: str) -> None:
        """GitHub's checks of an App JWT: RS256 by the App's key, `iss` the App id, issued in the
        past, expiring in the future and at most ten minutes after it was issued."""
        try:
            claims = jwt.decode(token, state.app.public_key_pem, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]}, leeway=0)
        except jwt.ExpiredSignatureError:
            raise Refusal(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires") from None
        except jwt.PyJWTError:
            raise Refusal(401, "A JSON web token could not be decoded") from None
        if str(claims["iss"]) != str(state.app.id):
            raise Refusal(401, "'Issuer' claim ('iss') must be an Integer")
        now = time.time()
        if claims["iat"] > now + 1:
            raise Refusal(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
        if claims["exp"] - claims["iat"] > 660 or claims["exp"] > now + 600:
            raise Refusal(401, "'Expiration time' claim ('exp') is too far in the future")

    @staticmethod
    def _primary_limit(state: FakeGitHubState, credential: Credential | None) -> None:
        until = state.rate_limited_until
        if until is None:
            return
        if time.time() >= until:
            state.rate_limited_until = None
            return
        raise Refusal(state.rate_limit_status, PRIMARY_LIMIT_MESSAGE.format(id=state.INSTALLATION_ID), {
            "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
            "X-RateLimit-Reset": str(int(until)), "X-RateLimit-Resource": "core",
        })

    def _send(self, record: RecordedRequest, answer: Answer, op: Operation | None, method: str, path: str,
              query: list[tuple[str, str]], credential: Credential | None = None) -> Response:
        state = self.state
        headers = {"X-GitHub-Request-Id": f"FAKE:{id(record):x}", "X-GitHub-Api-Version-Selected": "2022-11-28"}
        if credential is not None and "X-RateLimit-Remaining" not in answer.headers:
            with state.lock:
                credential.remaining = max(credential.remaining - 1, 0)
            headers.update({"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(credential.remaining),
                            "X-RateLimit-Used": str(5000 - credential.remaining),
                            "X-RateLimit-Reset": str(int(credential.window_reset)), "X-RateLimit-Resource": "core"})
        headers.update(answer.headers)
        content = b"" if answer.body is None else json.dumps(answer.body).encode()
        if content:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if op is not None:
            lower = {k.lower(): v for k, v in headers.items()}
            for error in self.describe.response_errors(op, method, path, query, answer.status, lower, content):
                state.violations.append(f"fake GitHub's own answer to {method} {path} ({answer.status}): {error}")
        record.status, record.finished = answer.status, time.time()
        return Response(content, status_code=answer.status, headers=headers)

    @staticmethod
    def _codeload(state: FakeGitHubState, path: str, query: dict[str, str]) -> Response:
        """The archive a tarball redirect points at: `{owner}-{repo}-{sha7}/` and the files below."""
        _, _, owner, repo, _, sha = path.split("/", 5)
        with state.lock:
            expiry = state.archive_tokens.get(query.get("token", ""))
            state.requests.append(RecordedRequest(time.time(), "GET", path, [], None, None, None, 200, time.time()))
        if expiry is None or expiry < time.time() or sha not in state.git.commits:
            return Response(b"Not Found", status_code=404)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            root = f"{owner}-{repo}-{sha[:7]}"
            for name, data in sorted(state.git.files(state.git.commits[sha].tree).items()):
                info = tarfile.TarInfo(f"{root}/{name}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return Response(buffer.getvalue(), media_type="application/x-gzip")


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
