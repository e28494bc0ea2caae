"""The rulebook: one module per rule, each exposing `RULE`; `all_rules()` finds them all.

Adding a rule is adding a module here (and nothing else): the registry, the generated reference
(docs/rules.md) and the example test all pick it up.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from policies.rules._rule import Check, Hit, Rule

__all__ = ["Check", "Hit", "Rule", "all_rules", "rule_by_code"]


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule module's `RULE`, ordered by code."""
    found: list[Rule] = []
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_") or module_info.name == "docs":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        rule = getattr(module, "RULE", None)
        if isinstance(rule, Rule):
            found.append(rule)
    codes = [r.code for r in found]
    duplicates = {c for c in codes if codes.count(c) > 1}
    if duplicates:
        raise RuntimeError(f"rule codes used twice: {sorted(duplicates)}")
    return tuple(sorted(found, key=lambda r: r.code))


def rule_by_code(code: str) -> Rule | None:
    return next((r for r in all_rules() if r.code == code), None)
