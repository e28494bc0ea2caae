"""SW508: an identifier longer than PostgreSQL's 63-byte limit (silently truncated)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.parsing import long_identifiers, may_have_long_identifier
from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit

MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1


def check(unit: MigrationUnit) -> Iterator[Hit]:
    if not may_have_long_identifier(unit.text, MAX_IDENTIFIER_BYTES):
        return  # every statement is a part of the file's text, DO block bodies included
    for statement in unit.statements:
        for name in long_identifiers(statement.sql, MAX_IDENTIFIER_BYTES):
            cut = name.encode()[:MAX_IDENTIFIER_BYTES].decode(errors="ignore")
            yield Hit(
                statement,
                f'"{name}" is {len(name.encode())} bytes; PostgreSQL silently truncates it to "{cut}", so a '
                "later statement (or drizzle-kit, whose snapshot keeps the full name) that names it in full "
                "will not find it.",
            )


RULE = Rule(
    code="SW508",
    name="identifier-too-long",
    category=Category.DESIGN,
    severity=Severity.INFO,
    summary="Keep identifiers within 63 bytes.",
    rationale=(
        "PostgreSQL truncates identifiers longer than 63 bytes with only a NOTICE. drizzle-kit builds "
        "foreign key names from both tables and columns, which easily exceeds the limit; its snapshot "
        "remembers the full name, so a later generated DROP CONSTRAINT names a constraint that does not "
        "exist and the migration fails. Name long constraints explicitly."
    ),
    safer=(
        'ALTER TABLE "workspace_member_invitations" ADD CONSTRAINT "wmi_workspace_fk"\n'
        '  FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") NOT VALID;'
    ),
    bad=(
        'ALTER TABLE "workspace_member_invitations" ADD CONSTRAINT '
        '"workspace_member_invitations_workspace_id_workspaces_id_fk_constraint" '
        'FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") NOT VALID;'
    ),
    good=(
        'ALTER TABLE "workspace_member_invitations" ADD CONSTRAINT "wmi_workspace_fk" '
        'FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") NOT VALID;'
    ),
    check=check,
)
