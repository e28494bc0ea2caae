"""Where a rule's documentation lives, so every output links a finding to its rule page.

`docs/rules.md` has one section per rule headed `SW123 name`; GitHub turns such a heading
into the anchor `#sw123-name`. Without a configured base (the policy's `docs_url`), links are
relative to the repository (`docs/rules.md#sw101-...`): honest, if only as good as the reader's
checkout. SARIF's `helpUri` must be absolute, so it is only given when a base is configured.
"""

from __future__ import annotations

import re

RULES_DOC_PATH = "docs/rules.md"


def rule_anchor(code: str, name: str) -> str:
    """GitHub's anchor for the heading `code name`: lower case, spaces to dashes, punctuation dropped."""
    slug = re.sub(r"[^\w\- ]", "", f"{code} {name}".strip().lower())
    return slug.replace(" ", "-")


def rule_url(code: str, name: str, docs_url: str | None = None) -> str:
    """The rule's section: under `docs_url` when configured, else the repository-relative page."""
    return f"{docs_url or RULES_DOC_PATH}#{rule_anchor(code, name)}"


def help_uri(code: str, name: str, docs_url: str | None) -> str | None:
    """An absolute link to the rule's section, or None when no absolute base is configured."""
    if not docs_url or not re.match(r"^https?://", docs_url):
        return None
    return rule_url(code, name, docs_url)
