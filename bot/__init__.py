"""The application: CLI, settings, and (later) the GitHub webhook service."""
