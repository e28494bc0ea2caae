"""The shape of a rule: a check function plus the metadata its documentation is generated from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.unit import AnalyzedStatement, MigrationUnit


@dataclass(frozen=True)
class Hit:
    """One place a rule objects to: the statement (for line and suppression) and a message.

    `severity` lets a rule soften a hit it is unsure of (an unknown old type, say); the policy
    file's setting still wins over it. `safer` is the rule's safer way written for this statement
    (see `_recipes`), when the rule can; the finding shows the rule's example otherwise, labelled as
    one, unless `no_recipe` says why no safe way fits this statement (then that is shown instead).
    """

    statement: AnalyzedStatement | None
    message: str
    severity: Severity | None = None
    line: int | None = None
    path: str | None = None
    safer: str | None = None
    no_recipe: str | None = None
    """Why no safe recipe fits this statement (said instead of the rule's example), when so."""
    example: str | None = None
    """A worked example that fits this kind of statement but is not written for it (shown labelled
    as an example, instead of the rule's own)."""


Check = Callable[[MigrationUnit], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    """A rule and its reference page: code (`SW` + family digit + number), name, category, default
    severity, why it matters, the safer way as SQL, and a bad and a good example that its own test
    runs. `bad_context`/`good_context` are `Context` fields the examples need (a PostgreSQL
    version, the changed files of a pull request)."""

    code: str
    name: str
    category: Category
    severity: Severity
    summary: str
    rationale: str
    safer: str
    bad: str
    good: str
    check: Check
    bad_context: Mapping[str, Any] = field(default_factory=dict)
    good_context: Mapping[str, Any] = field(default_factory=dict)
    change_set: bool = False
    """True for rules about the pull request as a whole (run once, not per migration file)."""
    needs: frozenset[OperationKind] | None = None
    """The operation kinds without one of which the rule cannot object (None: it may object to any
    statement). The analysis runs the rule only on migrations that have one: most have few kinds."""
