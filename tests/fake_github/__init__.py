"""The fake GitHub's pytest fixtures (`plugin.py`) and the scripts that regenerate its data."""
