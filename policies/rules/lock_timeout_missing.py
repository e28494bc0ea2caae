"""SW606: blocking locks taken with no lock_timeout set."""

from __future__ import annotations

from collections.abc import Iterator

from policies.locks import BLOCKS_WRITES
from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import quoted
from policies.rules._recipes import lock_timeout_first
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    if not unit.context.drizzle_applies:
        return  # schemawarden's apply sets lock_timeout for every statement itself
    bounded = False
    for statement in unit.statements:
        for op in statement.operations:
            if op.kind is OperationKind.SET and op.name == "lock_timeout":
                bounded = _bounds(op.value)
        if bounded:
            continue
        for result in statement.effects:
            blocking = [
                lock for lock in result.locks if lock.mode in BLOCKS_WRITES and not statement.is_new(lock.relation)
            ]
            if blocking:
                yield Hit(
                    statement,
                    f'{blocking[0].mode} on {quoted(blocking[0].relation)} is requested with no lock_timeout: if a '
                    "long query holds the table, this statement waits and every query behind it queues. "
                    "schemawarden's apply sets lock_timeout itself; drizzle-orm's migrator does not.",
                    # no recipe for a statement PostgreSQL refuses (SW609): it would repeat the statement
                    safer=None if statement.refusals else lock_timeout_first(statement),
                    no_recipe="fix the statement first (SW609): PostgreSQL refuses it" if statement.refusals else None,
                )
                return


def _bounds(value: str | None) -> bool:
    """`SET lock_timeout = '5s'` bounds the wait; `= 0`, `TO DEFAULT` and `RESET` (the server's
    default, 0: wait forever) do not (runtime-config-client.html#GUC-LOCK-TIMEOUT)."""
    if value is None:
        return False
    digits = value.strip().strip("'\"").split()[0] if value.strip() else "0"
    number = "".join(ch for ch in digits if ch.isdigit() or ch == ".")
    return bool(number) and float(number) > 0


RULE = Rule(
    code="SW606",
    name="lock-timeout-missing",
    category=Category.PROCESS,
    severity=Severity.INFO,
    summary="Bound lock waits with lock_timeout when a migration takes blocking locks.",
    rationale=(
        "A statement that needs a lock conflicting with a running query waits for it, and every later "
        "query on the table queues behind the waiting statement: a five-minute report turns a "
        "millisecond ALTER TABLE into a five-minute outage. A lock_timeout makes the migration fail "
        "fast instead, to be retried. schemawarden's apply sets one (and retries); drizzle-orm's "
        "migrator does not, so migrations it runs should set their own (a `SET lock_timeout = 0` "
        "or `RESET lock_timeout` waits forever again). The rule is quiet where schemawarden applies "
        "the migrations (`applied_by = \"schemawarden\"`, the default when the policy declares "
        "environments)."
    ),
    safer="SET lock_timeout = '5s';\nALTER TABLE \"orders\" ADD COLUMN \"note\" text;",
    bad='ALTER TABLE "orders" ADD COLUMN "note" text;',
    good="SET lock_timeout = '5s';\nALTER TABLE \"orders\" ADD COLUMN \"note\" text;",
    check=check,
)
