"""DDL generation: typed changes (`policies.schema.changes`) as SQL statements, in the order
PostgreSQL needs them (`policies.schema.ddl.order`), and the notes on what SQL cannot do.

    statements = render(diff(after, before, renames.inverted()), pg_version=16)

Statements carry no trailing semicolon. Names are schema-qualified and quoted as `quote_ident`
does; definitions are PostgreSQL's own (`pg_get_constraintdef`, `pg_get_indexdef`,
`pg_get_viewdef`, `pg_get_functiondef`, `pg_get_triggerdef`). `ALTER TYPE ... ADD VALUE` is one
statement of its own: before PostgreSQL 12 it cannot run in a transaction block, and a value added
in a transaction cannot be used in it (sql-altertype.html), which the caller's execution plan
handles as for a migration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from policies.schema import changes as c
from policies.schema.ddl import objects, relations
from policies.schema.ddl.order import order

__all__ = ["notes", "render"]

_Render = Callable[[Any], list[str]]

_RENDER: dict[type[c.Change], _Render] = {
    c.CreateSchema: objects.create_schema, c.DropSchema: objects.drop_schema, c.RenameSchema: objects.rename_schema,
    c.CreateExtension: objects.create_extension, c.DropExtension: objects.drop_extension,
    c.UpdateExtension: objects.update_extension, c.SetExtensionSchema: objects.set_extension_schema,
    c.CreateEnum: objects.create_enum, c.DropEnum: objects.drop_type, c.AddEnumValue: objects.add_enum_value,
    c.RenameEnumValue: objects.rename_enum_value, c.RebuildEnum: objects.rebuild_enum, c.RebuildDomain: objects.rebuild_domain,
    c.RebuildComposite: objects.rebuild_composite, c.RenameType: objects.rename_type,
    c.CreateDomain: objects.create_domain, c.DropDomain: objects.drop_domain,
    c.SetDomainDefault: objects.set_domain_default, c.SetDomainNotNull: objects.set_domain_not_null,
    c.AddDomainConstraint: objects.add_domain_constraint, c.DropDomainConstraint: objects.drop_domain_constraint,
    c.ValidateDomainConstraint: objects.validate_domain_constraint,
    c.CreateComposite: objects.create_composite, c.DropComposite: objects.drop_type,
    c.AddAttribute: objects.add_attribute, c.DropAttribute: objects.drop_attribute,
    c.AlterAttributeType: objects.alter_attribute_type,
    c.CreateSequence: objects.create_sequence, c.DropSequence: objects.drop_sequence,
    c.AlterSequence: objects.alter_sequence, c.SetSequenceOwner: objects.set_sequence_owner,
    c.RenameSequence: objects.rename_sequence,
    c.MoveSequencePast: objects.move_sequence_past,
    c.CreateTable: relations.create_table, c.DropTable: relations.drop_table, c.RenameTable: relations.rename_table,
    c.AttachPartition: relations.attach_partition, c.DetachPartition: relations.detach_partition,
    c.SetLogged: relations.set_logged, c.SetStorageOptions: relations.set_storage_options,
    c.SetRowSecurity: relations.set_row_security, c.SetForceRowSecurity: relations.set_force_row_security,
    c.CreateView: relations.create_view, c.DropView: relations.drop_view,
    c.AddColumn: relations.add_column, c.DropColumn: relations.drop_column, c.RenameColumn: relations.rename_column,
    c.AlterColumnType: relations.alter_column_type, c.SetColumnCollation: relations.set_column_collation,
    c.SetColumnDefault: relations.set_column_default, c.DropColumnDefault: relations.drop_column_default,
    c.SetNotNull: relations.set_not_null, c.DropNotNull: relations.drop_not_null,
    c.AddIdentity: relations.add_identity, c.DropIdentity: relations.drop_identity,
    c.SetIdentityGeneration: relations.set_identity_generation,
    c.AlterIdentityOptions: relations.alter_identity_options,
    c.AddConstraint: relations.add_constraint, c.DropConstraint: relations.drop_constraint,
    c.RenameConstraint: relations.rename_constraint, c.RenameNotNull: relations.rename_not_null, c.ValidateConstraint: relations.validate_constraint,
    c.CreateIndex: relations.create_index, c.DropIndex: relations.drop_index, c.RenameIndex: relations.rename_index,
    c.CreateFunction: objects.create_function, c.ReplaceFunction: objects.create_function,
    c.DropFunction: objects.drop_function,
    c.CreateTrigger: objects.create_trigger, c.DropTrigger: objects.drop_trigger,
    c.RenameTrigger: objects.rename_trigger, c.SetTriggerEnabled: objects.set_trigger_enabled,
    c.CreatePolicy: objects.create_policy, c.DropPolicy: objects.drop_policy, c.AlterPolicy: objects.alter_policy,
    c.RenamePolicy: objects.rename_policy,
    c.SetComment: objects.set_comment, c.Grant: objects.grant, c.Revoke: objects.revoke,
    c.ColumnOrder: lambda change: [],
}


def render(changes: Iterable[c.Change], *, pg_version: int = 18) -> list[str]:
    """The SQL statements of `changes`, in dependency order, for PostgreSQL `pg_version` (a major
    version, 11 to 18: `SET EXPRESSION` from 17). Raises `ValueError` for a change the model
    cannot write (a constraint without definition of a kind that needs one)."""
    statements: list[str] = []
    for item in order(changes):
        if isinstance(item, tuple):
            statements += relations.drop_tables(list(item))
        elif isinstance(item, c.SetGeneratedExpression):
            statements += relations.set_generated_expression(item, pg_version)
        elif isinstance(item, c.SetNotNull):
            statements += relations.set_not_null(item, pg_version)
        elif isinstance(item, c.RenameNotNull):
            statements += relations.rename_not_null(item, pg_version)
        else:
            statements += _RENDER[type(item)](item)
    return statements


def notes(changes: Iterable[c.Change], *, pg_version: int = 18) -> tuple[str, ...]:
    """What the SQL of `changes` cannot make exact, one sentence each: a column order no ALTER can
    restore, a generated column added again before PostgreSQL 17, an aggregate without definition."""
    found: list[str] = []
    for change in changes:
        if isinstance(change, c.ColumnOrder):
            found.append(
                f"columns of {change.table} end in the order {', '.join(change.result)} instead of "
                f"{', '.join(change.wanted)}: PostgreSQL adds a column last and no ALTER moves one"
            )
        elif isinstance(change, c.SetGeneratedExpression) and pg_version < 17:
            found.append(
                f"generated column {change.table}.{change.column.name} is dropped and added again "
                "(SET EXPRESSION needs PostgreSQL 17): it moves to the end of the table"
            )
        elif isinstance(change, c.CreateFunction) and not change.function.definition:
            found.append(f"{change.function.signature} has no definition in the catalog (an aggregate): not made")
    return tuple(found)
