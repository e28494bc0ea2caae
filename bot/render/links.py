"""Where a rule's documentation lives, so every output links a finding to its rule page.

`docs/rules.md` has one section per rule headed `SW123 name`; GitHub turns such a heading
into the anchor `#sw123-name`.
"""

from __future__ import annotations

import re

RULES_DOC_URL = "https://github.com/schemawarden/schemawarden/blob/main/docs/rules.md"


def rule_anchor(code: str, name: str) -> str:
    """GitHub's anchor for the heading `code name`: lower case, spaces to dashes, punctuation dropped."""
    slug = re.sub(r"[^\w\- ]", "", f"{code} {name}".strip().lower())
    return slug.replace(" ", "-")


def rule_url(code: str, name: str, base: str = RULES_DOC_URL) -> str:
    return f"{base}#{rule_anchor(code, name)}"
