"""The hidden marker of the one sticky comment on a pull request (DESIGN's table of names).

The bot finds its comment again by this marker, looked up among its own comments only (a reply
may quote it); the markdown renderer leaves room for it under GitHub's comment limit.
"""

STICKY_MARKER = "<!-- schemawarden -->"
