"""SQL of the changes to schemas, extensions, types, domains, sequences, functions, triggers,
policies, comments and privileges (no trailing semicolons)."""

from __future__ import annotations

from policies.schema.changes import (
    AddAttribute,
    AddDomainConstraint,
    AddEnumValue,
    AlterAttributeType,
    AlterPolicy,
    AlterSequence,
    CreateComposite,
    CreateDomain,
    CreateEnum,
    CreateExtension,
    CreateFunction,
    CreatePolicy,
    CreateSchema,
    CreateSequence,
    CreateTrigger,
    DropAttribute,
    DropComposite,
    DropDomain,
    DropDomainConstraint,
    DropEnum,
    DropExtension,
    DropFunction,
    DropPolicy,
    DropSchema,
    DropSequence,
    DropTrigger,
    Grant,
    MoveSequencePast,
    RebuildComposite,
    RebuildDomain,
    RebuildEnum,
    RenameEnumValue,
    RenamePolicy,
    RenameSchema,
    RenameSequence,
    RenameTrigger,
    RenameType,
    ReplaceFunction,
    Revoke,
    SetComment,
    SetDomainDefault,
    SetDomainNotNull,
    SetExtensionSchema,
    SetSequenceOwner,
    SetTriggerEnabled,
    UpdateExtension,
    ValidateDomainConstraint,
)
from policies.schema.ddl.names import bare, collation, function_name, literal, qualified, quote_ident
from policies.schema.ddl.relations import changed_sequence_options, rename_statements, sequence_options
from policies.schema.model import OWNER, Function, ObjectKey, RlsPolicy, Trigger

# -- schemas and extensions ------------------------------------------------------------------------


def create_schema(change: CreateSchema) -> list[str]:
    return [f"CREATE SCHEMA {quote_ident(change.name)}"]


def drop_schema(change: DropSchema) -> list[str]:
    return [f"DROP SCHEMA {quote_ident(change.name)}"]


def rename_schema(change: RenameSchema) -> list[str]:
    return [f"ALTER SCHEMA {quote_ident(change.old)} RENAME TO {quote_ident(change.new)}"]


def create_extension(change: CreateExtension) -> list[str]:
    extension = change.extension
    sql = f"CREATE EXTENSION {quote_ident(extension.name)}"
    if extension.schema:
        sql += f" WITH SCHEMA {quote_ident(extension.schema)}"
    if extension.version:
        sql += f" VERSION {literal(extension.version)}"
    return [sql]


def drop_extension(change: DropExtension) -> list[str]:
    return [f"DROP EXTENSION {quote_ident(change.extension.name)}"]


def update_extension(change: UpdateExtension) -> list[str]:
    return [f"ALTER EXTENSION {quote_ident(change.name)} UPDATE TO {literal(change.version)}"]


def set_extension_schema(change: SetExtensionSchema) -> list[str]:
    return [f"ALTER EXTENSION {quote_ident(change.name)} SET SCHEMA {quote_ident(change.schema)}"]


# -- types -----------------------------------------------------------------------------------------


def _enum(name: str, values: tuple[str, ...]) -> str:
    return f"CREATE TYPE {qualified(name)} AS ENUM ({', '.join(literal(v) for v in values)})"


def create_enum(change: CreateEnum) -> list[str]:
    return [_enum(change.name, change.values)]


def drop_type(change: DropEnum | DropComposite) -> list[str]:
    return [f"DROP TYPE {qualified(change.name)}"]


def add_enum_value(change: AddEnumValue) -> list[str]:
    sql = f"ALTER TYPE {qualified(change.type)} ADD VALUE {literal(change.value)}"
    if change.before is not None:
        sql += f" BEFORE {literal(change.before)}"
    elif change.after is not None:
        sql += f" AFTER {literal(change.after)}"
    return [sql]


def rename_enum_value(change: RenameEnumValue) -> list[str]:
    return [f"ALTER TYPE {qualified(change.type)} RENAME VALUE {literal(change.old)} TO {literal(change.new)}"]


def rebuild_enum(change: RebuildEnum) -> list[str]:
    return [f"ALTER TYPE {qualified(change.name)} RENAME TO {bare(change.old_name)}", _enum(change.name, change.values)]


def rebuild_domain(change: RebuildDomain) -> list[str]:
    renamed = f"ALTER DOMAIN {qualified(change.domain.name)} RENAME TO {bare(change.old_name)}"
    return [renamed, *create_domain(CreateDomain(change.domain))]


def rebuild_composite(change: RebuildComposite) -> list[str]:
    renamed = f"ALTER TYPE {qualified(change.composite.name)} RENAME TO {bare(change.old_name)}"
    return [renamed, *create_composite(CreateComposite(change.composite))]


def rename_type(change: RenameType) -> list[str]:
    return rename_statements("DOMAIN" if change.kind == "domain" else "TYPE", change.old, change.new)


def create_domain(change: CreateDomain) -> list[str]:
    domain = change.domain
    parts = [f"CREATE DOMAIN {qualified(domain.name)} AS {domain.base_type}"]
    if domain.collation:
        parts.append(f"COLLATE {collation(domain.collation)}")
    if domain.default is not None:
        parts.append(f"DEFAULT {domain.default}")
    named_not_null = any(c.definition == "NOT NULL" for c in domain.constraints)
    if domain.not_null and not named_not_null:
        parts.append("NOT NULL")
    later = []
    for constraint in domain.constraints:
        if constraint.validated and not constraint.definition.endswith(" NOT VALID"):
            parts.append(f"CONSTRAINT {quote_ident(constraint.name)} {constraint.definition}")
        else:  # CREATE DOMAIN cannot skip validation
            later += add_domain_constraint(AddDomainConstraint(domain.name, constraint))
    return [" ".join(parts), *later]


def drop_domain(change: DropDomain) -> list[str]:
    return [f"DROP DOMAIN {qualified(change.name)}"]


def set_domain_default(change: SetDomainDefault) -> list[str]:
    action = f"SET DEFAULT {change.default}" if change.default is not None else "DROP DEFAULT"
    return [f"ALTER DOMAIN {qualified(change.name)} {action}"]


def set_domain_not_null(change: SetDomainNotNull) -> list[str]:
    return [f"ALTER DOMAIN {qualified(change.name)} {'SET' if change.not_null else 'DROP'} NOT NULL"]


def add_domain_constraint(change: AddDomainConstraint) -> list[str]:
    constraint = change.constraint
    definition = constraint.definition
    if not constraint.validated and not definition.endswith(" NOT VALID"):
        definition += " NOT VALID"
    return [f"ALTER DOMAIN {qualified(change.domain)} ADD CONSTRAINT {quote_ident(constraint.name)} {definition}"]


def drop_domain_constraint(change: DropDomainConstraint) -> list[str]:
    return [f"ALTER DOMAIN {qualified(change.domain)} DROP CONSTRAINT {quote_ident(change.name)}"]


def validate_domain_constraint(change: ValidateDomainConstraint) -> list[str]:
    return [f"ALTER DOMAIN {qualified(change.domain)} VALIDATE CONSTRAINT {quote_ident(change.name)}"]


def _attribute(name: str, data_type: str, chosen: str | None) -> str:
    return f"{quote_ident(name)} {data_type}" + (f" COLLATE {collation(chosen)}" if chosen else "")


def create_composite(change: CreateComposite) -> list[str]:
    attributes = ", ".join(_attribute(*attribute) for attribute in change.composite.attributes)
    return [f"CREATE TYPE {qualified(change.composite.name)} AS ({attributes})"]


def add_attribute(change: AddAttribute) -> list[str]:
    return [f"ALTER TYPE {qualified(change.type)} ADD ATTRIBUTE {_attribute(change.attribute, change.data_type, change.collation)}"]


def drop_attribute(change: DropAttribute) -> list[str]:
    return [f"ALTER TYPE {qualified(change.type)} DROP ATTRIBUTE {quote_ident(change.attribute)}"]


def alter_attribute_type(change: AlterAttributeType) -> list[str]:
    clause = f" COLLATE {collation(change.collation)}" if change.collation else ""
    return [
        f"ALTER TYPE {qualified(change.type)} ALTER ATTRIBUTE {quote_ident(change.attribute)} "
        f"SET DATA TYPE {change.data_type}{clause}"
    ]


# -- sequences -------------------------------------------------------------------------------------


def create_sequence(change: CreateSequence) -> list[str]:
    sequence = change.sequence
    if sequence.options is not None:
        words = [f"AS {sequence.options.data_type}", *sequence_options(sequence.options)]
    else:
        words = [f"START WITH {sequence.start}"] if sequence.start is not None else []
    return [" ".join([f"CREATE SEQUENCE {qualified(sequence.name)}", *words])]


def drop_sequence(change: DropSequence) -> list[str]:
    return [f"DROP SEQUENCE {qualified(change.sequence.name)}"]


def alter_sequence(change: AlterSequence) -> list[str]:
    new, old = change.options, change.old
    if old is None:
        words = [f"AS {new.data_type}", *sequence_options(new, always=True)]
    else:
        words = []
        retyped = new.data_type != old.data_type
        if retyped:
            words.append(f"AS {new.data_type}")
        words += changed_sequence_options(new, old, limits=retyped)
    return [" ".join([f"ALTER SEQUENCE {qualified(change.name)}", *words])] if words else []


def set_sequence_owner(change: SetSequenceOwner) -> list[str]:
    if change.owned_by is None:
        owner = "NONE"
    else:
        table, column = change.owned_by
        owner = f"{qualified(table)}.{quote_ident(column)}"
    return [f"ALTER SEQUENCE {qualified(change.name)} OWNED BY {owner}"]


def rename_sequence(change: RenameSequence) -> list[str]:
    return rename_statements("SEQUENCE", change.old, change.new)


def move_sequence_past(change: MoveSequencePast) -> list[str]:
    """`setval` past the values the columns hold, computed from the rows when it runs: to the
    highest of them (lowest, descending) as called, so that `nextval` gives the one after; to
    START, not called, when the table is empty or holds only values before START (setval refuses a
    value outside MINVALUE..MAXVALUE, and START is within them)."""
    extreme, bound, beyond = ("max", "greatest", ">=") if change.ascending else ("min", "least", "<=")
    start = str(change.start)
    if change.sequence is None:
        [(table, column)] = change.columns
        sequence = f"pg_get_serial_sequence({literal(qualified(table))}, {literal(column)})"
    else:
        sequence = literal(qualified(change.sequence))
    if len(change.columns) == 1:
        [(table, column)] = change.columns
        value = f"{extreme}({quote_ident(column)})"
        source = qualified(table)
    else:
        each = ", ".join(f"(SELECT {extreme}({quote_ident(c)}) FROM {qualified(t)})" for t, c in change.columns)
        value, source = "found", f"(SELECT {bound}({each}) AS found) AS found"
    return [
        f"SELECT setval({sequence}, {bound}({value}, {start}), coalesce({value} {beyond} {start}, false)) FROM {source}"
    ]


# -- functions, triggers, policies -----------------------------------------------------------------


def create_function(change: CreateFunction | ReplaceFunction) -> list[str]:
    definition = change.function.definition
    return [definition.rstrip().removesuffix(";")] if definition else []


_ROUTINE_WORDS = {"p": "PROCEDURE", "a": "AGGREGATE"}


def _routine(function: Function) -> str:
    return f"{_ROUTINE_WORDS.get(function.kind, 'FUNCTION')} {function_name(function.signature)}"


def drop_function(change: DropFunction) -> list[str]:
    return [f"DROP {_routine(change.function)}"]


_ENABLED = {"O": "ENABLE", "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}


def _enable(trigger: Trigger, enabled: str) -> str:
    return f"ALTER TABLE {qualified(trigger.table)} {_ENABLED.get(enabled, 'ENABLE')} TRIGGER {quote_ident(trigger.name)}"


def create_trigger(change: CreateTrigger) -> list[str]:
    trigger = change.trigger
    statements = [trigger.definition.rstrip().removesuffix(";")]
    if trigger.enabled != "O":
        statements.append(_enable(trigger, trigger.enabled))
    return statements


def drop_trigger(change: DropTrigger) -> list[str]:
    return [f"DROP TRIGGER {quote_ident(change.trigger.name)} ON {qualified(change.trigger.table)}"]


def set_trigger_enabled(change: SetTriggerEnabled) -> list[str]:
    return [_enable(change.trigger, change.enabled)]


def rename_trigger(change: RenameTrigger) -> list[str]:
    return [f"ALTER TRIGGER {quote_ident(change.old)} ON {qualified(change.table)} RENAME TO {quote_ident(change.new)}"]


def _roles(roles: tuple[str, ...]) -> str:
    return ", ".join("PUBLIC" if role == "public" else quote_ident(role) for role in roles)


def create_policy(change: CreatePolicy) -> list[str]:
    policy = change.policy
    parts = [f"CREATE POLICY {quote_ident(policy.name)} ON {qualified(policy.table)}"]
    if not policy.permissive:
        parts.append("AS RESTRICTIVE")
    if policy.command != "ALL":
        parts.append(f"FOR {policy.command}")
    if policy.roles != ("public",):
        parts.append(f"TO {_roles(policy.roles)}")
    parts += _policy_expressions(policy)
    return [" ".join(parts)]


def _policy_expressions(policy: RlsPolicy, old: RlsPolicy | None = None) -> list[str]:
    parts = []
    if policy.using is not None and (old is None or old.using != policy.using):
        parts.append(f"USING ({policy.using})")
    if policy.with_check is not None and (old is None or old.with_check != policy.with_check):
        parts.append(f"WITH CHECK ({policy.with_check})")
    return parts


def drop_policy(change: DropPolicy) -> list[str]:
    return [f"DROP POLICY {quote_ident(change.policy.name)} ON {qualified(change.policy.table)}"]


def alter_policy(change: AlterPolicy) -> list[str]:
    policy, old = change.policy, change.old
    parts = [f"ALTER POLICY {quote_ident(policy.name)} ON {qualified(policy.table)}"]
    if policy.roles != old.roles:
        parts.append(f"TO {_roles(policy.roles)}")
    parts += _policy_expressions(policy, old)
    return [" ".join(parts)] if len(parts) > 1 else []


def rename_policy(change: RenamePolicy) -> list[str]:
    return [f"ALTER POLICY {quote_ident(change.old)} ON {qualified(change.table)} RENAME TO {quote_ident(change.new)}"]


# -- comments and privileges -----------------------------------------------------------------------


def object_name(target: ObjectKey) -> str:
    """The object as COMMENT ON, GRANT and REVOKE name it, with its kind's words."""
    kind, key = target
    if kind == "column":
        table, _, column = key.rpartition(".")
        return f"COLUMN {qualified(table)}.{quote_ident(column)}"
    if kind in ("constraint", "trigger", "policy"):
        table, _, name = key.rpartition(".")
        return f"{kind.upper()} {quote_ident(name)} ON {qualified(table)}"
    if kind in ("function", "procedure", "aggregate"):
        return f"{kind.upper()} {function_name(key)}"
    if kind == "schema":
        return f"SCHEMA {quote_ident(key)}"
    return f"{kind.upper()} {qualified(key)}"


def set_comment(change: SetComment) -> list[str]:
    text = literal(change.comment) if change.comment is not None else "NULL"
    return [f"COMMENT ON {object_name(change.target)} IS {text}"]


_PRIVILEGES = {
    "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "D": "TRUNCATE", "x": "REFERENCES",
    "t": "TRIGGER", "m": "MAINTAIN", "U": "USAGE", "X": "EXECUTE", "C": "CREATE", "c": "CONNECT", "T": "TEMPORARY",
}
"""`aclitem` letters and their privileges (ddl-priv.html, table 5.1)."""


def _grant_target(target: ObjectKey) -> str:
    kind, key = target
    if kind == "sequence":
        return f"SEQUENCE {qualified(key)}"
    if kind in ("table", "view", "materialized view"):
        return f"TABLE {qualified(key)}"
    return object_name(target)


def _grantee(role: str) -> str:
    """PUBLIC for the empty grantee, the session's role for the owner (introspection writes the
    owner `$owner`; the SQL runs as the role that owns what it changes)."""
    if role == "":
        return "PUBLIC"
    return "CURRENT_USER" if role == OWNER else quote_ident(role)



def grant(change: Grant) -> list[str]:
    privileges = ", ".join(_PRIVILEGES[p] for p in change.privileges)
    option = " WITH GRANT OPTION" if change.grant_option else ""
    return [f"GRANT {privileges} ON {_grant_target(change.target)} TO {_grantee(change.grantee)}{option}"]


def revoke(change: Revoke) -> list[str]:
    privileges = ", ".join(_PRIVILEGES[p] for p in change.privileges)
    option = "GRANT OPTION FOR " if change.grant_option else ""
    return [f"REVOKE {option}{privileges} ON {_grant_target(change.target)} FROM {_grantee(change.grantee)}"]


