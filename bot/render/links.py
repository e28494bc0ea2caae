"""Where a rule's documentation lives, so an output can link a finding to its rule page.

The reference (docs/rules.md in schemawarden's own repository) has one section per rule headed
`SW123 name`; GitHub turns such a heading into the anchor `#sw123-name`. A link needs the
policy's `docs_url` (the published reference): a relative `docs/rules.md` would resolve against
the *user's* repository, where no such file exists. Without one, outputs name the rule and the
PR comment carries the rule's rationale itself. SARIF's `helpUri` must moreover be absolute.
"""

from __future__ import annotations

import re


def rule_anchor(code: str, name: str) -> str:
    """GitHub's anchor for the heading `code name`: lower case, spaces to dashes, punctuation dropped."""
    slug = re.sub(r"[^\w\- ]", "", f"{code} {name}".strip().lower())
    return slug.replace(" ", "-")


def rule_url(code: str, name: str, docs_url: str | None = None) -> str | None:
    """The rule's section under `docs_url`, or None when no reference is configured."""
    if not docs_url:
        return None
    return f"{docs_url}#{rule_anchor(code, name)}"


def help_uri(code: str, name: str, docs_url: str | None) -> str | None:
    """An absolute link to the rule's section, or None when no absolute base is configured."""
    if not docs_url or not re.match(r"^https?://", docs_url):
        return None
    return rule_url(code, name, docs_url)
