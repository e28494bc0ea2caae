"""The catalog queries of introspection: one per object family, built once per server version.

Every query starts from the same scope (`nsp`: the schemas introspected, `rel`: their tables, views,
materialized views and sequences that no extension owns) and asks PostgreSQL to print each
definition itself (`format_type`, `pg_get_expr`, `pg_get_*def`). Comments come from
`pg_description` by a join in each family's query, not by `obj_description` per row.

Where PostgreSQL versions differ, the difference is decided here and nowhere else
(`CatalogQueries.for_server`):

* generated columns (`attgenerated`) exist from 12 (`v`, virtual, from 18);
* a partition's clones of its parent's triggers are marked by `tgparentid` from 13 (before, they
  are internal triggers);
* NOT NULL constraints of tables are rows of `pg_constraint` from 18: the model shows nullability as
  `Column.not_null` on every version, and a NOT VALID one (18 only) as a constraint of kind
  `not_null`, with the column no longer counted as NOT NULL (`attnotnull` is true for it);
* a domain's NOT NULL is a `pg_constraint` row from 17: the model shows it as `Domain.not_null`
  (`typnotnull`) on every version and keeps only CHECK constraints in `Domain.constraints`.

Everything else used (`pg_sequence`, `polpermissive`, `prokind`, `indnkeyatts`, `relispartition`,
`pg_get_partkeydef`) exists in every supported version (11 to 18).
"""

from __future__ import annotations

from typing import NamedTuple

SETTINGS = """
SELECT set_config('search_path', 'public', true),
       set_config('DateStyle', 'ISO, MDY', true),
       set_config('IntervalStyle', 'postgres', true),
       set_config('TimeZone', 'UTC', true),
       set_config('extra_float_digits', '3', true),
       set_config('bytea_output', 'hex', true),
       set_config('standard_conforming_strings', 'on', true),
       set_config('quote_all_identifiers', 'off', true),
       set_config('work_mem', '64MB', true),
       set_config('jit', 'off', true)
"""
"""Session settings that change how PostgreSQL prints types, names and constants in definitions
(a type outside the search path is schema-qualified; a timestamptz constant is printed in the session's
time zone), fixed for the introspection's transaction so that two sessions print alike; and the
speed of the catalog queries on a schema of thousands of tables: enough memory for their sorts not to
spill to disk, and no JIT compilation (their estimated cost reaches `jit_above_cost`, and compiling
takes longer than running them)."""

_SCOPE = """
WITH nsp AS (
    SELECT n.oid, n.nspname
    FROM pg_namespace n
    WHERE left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema'
      AND n.nspname <> ALL (%(excluded)s::text[])
      AND NOT EXISTS (SELECT FROM pg_depend e
                      WHERE e.classid = 'pg_namespace'::regclass AND e.objid = n.oid AND e.deptype = 'e')
), rel AS (
    SELECT c.oid, nsp.nspname, c.relname, c.relkind
    FROM pg_class c JOIN nsp ON nsp.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND NOT EXISTS (SELECT FROM pg_depend e
                      WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
)
"""

_SCHEMAS = """
SELECT nsp.nspname, ds.description AS comment
FROM nsp
LEFT JOIN pg_description ds ON ds.classoid = 'pg_namespace'::regclass AND ds.objoid = nsp.oid AND ds.objsubid = 0
WHERE nsp.nspname <> 'public'
"""

_EXTENSIONS = """
SELECT e.extname, n.nspname, e.extversion
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
"""

_RELATIONS = """
SELECT r.oid, r.nspname, r.relname, r.relkind,
       c.relpersistence = 'u' AS unlogged,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       c.reloptions::text[] AS options,
       toast.reloptions::text[] AS toast_options,
       parent_nsp.nspname AS parent_schema, parent.relname AS parent_name,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_by,
       pt.partattrs::int2[] AS partition_key,
       CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition,
       CASE WHEN r.relkind IN ('v', 'm') THEN ARRAY(
           SELECT DISTINCT ARRAY[dn.nspname::text, dc.relname::text]
           FROM pg_rewrite rw
           JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid
           JOIN pg_class dc ON dc.oid = d.refobjid
           JOIN pg_namespace dn ON dn.oid = dc.relnamespace
           WHERE rw.ev_class = c.oid) END AS depends_on,
       coalesce(c.relacl, acldefault('r', c.relowner))::text[] AS acl,
       makeaclitem(c.relowner, c.relowner, 'SELECT', false)::text AS owner_item,
       ds.description AS comment
FROM rel r
JOIN pg_class c ON c.oid = r.oid
LEFT JOIN pg_class toast ON toast.oid = c.reltoastrelid
LEFT JOIN pg_inherits inh ON c.relispartition AND inh.inhrelid = c.oid
LEFT JOIN pg_class parent ON parent.oid = inh.inhparent
LEFT JOIN pg_namespace parent_nsp ON parent_nsp.oid = parent.relnamespace
LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
LEFT JOIN pg_description ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = c.oid AND ds.objsubid = 0
WHERE r.relkind IN ('r', 'p', 'v', 'm')
ORDER BY c.oid
"""

_COLUMNS = """
, default_sequence AS (
    SELECT DISTINCT ON (d.objid) d.objid AS attrdef, sn.nspname, sc.relname
    FROM pg_depend d
    JOIN pg_class sc ON sc.oid = d.refobjid AND sc.relkind = 'S'
    JOIN pg_namespace sn ON sn.oid = sc.relnamespace
    WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
    ORDER BY d.objid, sn.nspname, sc.relname
)
SELECT r.oid, r.nspname, r.relname, a.attnum, a.attname,
       format_type(a.atttypid, a.atttypmod) AS type,
       {not_null} AS not_null,
       pg_get_expr(ad.adbin, ad.adrelid) AS default,
       a.attidentity AS identity,
       {generated} AS generated,
       coll_nsp.nspname AS collation_schema, coll.collname AS collation_name,
       NOT a.attislocal AS inherited,
       seq.nspname AS sequence_schema, seq.relname AS sequence_name,
       ds.description AS comment
FROM rel r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_collation coll ON coll.oid = a.attcollation AND a.attcollation <> t.typcollation
LEFT JOIN pg_namespace coll_nsp ON coll_nsp.oid = coll.collnamespace
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN default_sequence seq ON seq.attrdef = ad.oid
LEFT JOIN pg_description ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = a.attrelid AND ds.objsubid = a.attnum
WHERE r.relkind IN ('r', 'p', 'v', 'm')
ORDER BY r.oid, a.attnum
"""

_CONSTRAINTS = """
SELECT r.oid, r.nspname, r.relname, con.conname, con.contype, con.conkey AS columns,
       quote_ident(single.attname) AS quoted_column,
       con.convalidated AS validated,
       ref_nsp.nspname AS referenced_schema, ref.relname AS referenced_name,
       CASE WHEN con.contype = 'f' THEN ARRAY(
           SELECT (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = con.confrelid AND a.attnum = k.attnum)
           FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
           ORDER BY k.position) END AS referenced_columns,
       CASE WHEN con.contype IN ('p', 'u', 'x') THEN idx.relname END AS index_name,
       pg_get_constraintdef(con.oid) AS definition,
       NOT con.conislocal AS inherited,
       ds.description AS comment
FROM rel r
JOIN pg_constraint con ON con.conrelid = r.oid
LEFT JOIN pg_attribute single ON con.contype IN ('c', 'n') AND cardinality(con.conkey) = 1
                             AND single.attrelid = con.conrelid AND single.attnum = con.conkey[1]
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
LEFT JOIN pg_namespace ref_nsp ON ref_nsp.oid = ref.relnamespace
LEFT JOIN pg_class idx ON idx.oid = con.conindid
LEFT JOIN pg_description ds ON ds.classoid = 'pg_constraint'::regclass AND ds.objoid = con.oid AND ds.objsubid = 0
WHERE r.relkind IN ('r', 'p') AND (con.contype IN ('p', 'u', 'f', 'c', 'x'){invalid_not_null})
ORDER BY r.oid, con.conname
"""

_INDEXES = """
SELECT r.oid, r.nspname, r.relname AS table_name, ic.relname AS index_name,
       i.indkey::int2[] AS columns, i.indnkeyatts AS key_columns,
       i.indisunique AS unique, i.indpred IS NOT NULL AS partial, i.indisvalid AS valid,
       pg_get_indexdef(i.indexrelid) AS definition,
       con.conname AS constraint_name,
       parent_nsp.nspname AS parent_schema, parent.relname AS parent_name,
       ds.description AS comment
FROM rel r
JOIN pg_index i ON i.indrelid = r.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                           AND con.contype IN ('p', 'u', 'x')
LEFT JOIN pg_inherits inh ON inh.inhrelid = i.indexrelid
LEFT JOIN pg_class parent ON parent.oid = inh.inhparent
LEFT JOIN pg_namespace parent_nsp ON parent_nsp.oid = parent.relnamespace
LEFT JOIN pg_description ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = i.indexrelid AND ds.objsubid = 0
WHERE r.relkind IN ('r', 'p', 'm')
ORDER BY i.indexrelid
"""

_SEQUENCES = """
SELECT r.nspname, r.relname,
       format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
       owner_dep.deptype = 'i' AS identity,
       owner_nsp.nspname AS owner_schema, owner_rel.relname AS owner_table, owner_att.attname AS owner_column,
       coalesce(c.relacl, acldefault('s', c.relowner))::text[] AS acl,
       makeaclitem(c.relowner, c.relowner, 'SELECT', false)::text AS owner_item,
       ds.description AS comment
FROM rel r
JOIN pg_class c ON c.oid = r.oid
JOIN pg_sequence s ON s.seqrelid = r.oid
LEFT JOIN pg_depend owner_dep ON owner_dep.classid = 'pg_class'::regclass AND owner_dep.objid = r.oid
                             AND owner_dep.refclassid = 'pg_class'::regclass AND owner_dep.refobjsubid > 0
                             AND owner_dep.deptype IN ('a', 'i')
LEFT JOIN pg_class owner_rel ON owner_rel.oid = owner_dep.refobjid
LEFT JOIN pg_namespace owner_nsp ON owner_nsp.oid = owner_rel.relnamespace
LEFT JOIN pg_attribute owner_att ON owner_att.attrelid = owner_dep.refobjid AND owner_att.attnum = owner_dep.refobjsubid
LEFT JOIN pg_description ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = c.oid AND ds.objsubid = 0
WHERE r.relkind = 'S'
ORDER BY c.oid
"""

_TYPES = """
SELECT n.nspname, t.typname, t.typtype,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       t.typnotnull AS not_null,
       CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END AS default,
       coll_nsp.nspname AS collation_schema, coll.collname AS collation_name,
       CASE WHEN t.typtype = 'e' THEN ARRAY(
           SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder
       ) END AS labels,
       CASE WHEN t.typtype = 'c' THEN ARRAY(
           SELECT ARRAY[a.attname::text, format_type(a.atttypid, a.atttypmod), acn.nspname::text,
                        ac.collname::text, ads.description]
           FROM pg_attribute a
           JOIN pg_type at ON at.oid = a.atttypid
           LEFT JOIN pg_collation ac ON ac.oid = a.attcollation AND a.attcollation <> at.typcollation
           LEFT JOIN pg_namespace acn ON acn.oid = ac.collnamespace
           LEFT JOIN pg_description ads ON ads.classoid = 'pg_class'::regclass AND ads.objoid = a.attrelid
                                       AND ads.objsubid = a.attnum
           WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
           ORDER BY a.attnum
       ) END AS attributes,
       CASE WHEN t.typtype = 'd' THEN ARRAY(
           SELECT ARRAY[con.conname::text, pg_get_constraintdef(con.oid), con.convalidated::text]
           FROM pg_constraint con
           WHERE con.contypid = t.oid AND con.contype = 'c'
           ORDER BY con.conname
       ) END AS constraints,
       ds.description AS comment
FROM pg_type t
JOIN nsp n ON n.oid = t.typnamespace
LEFT JOIN pg_class rc ON rc.oid = t.typrelid
LEFT JOIN pg_type base ON base.oid = t.typbasetype
LEFT JOIN pg_collation coll ON t.typtype = 'd' AND coll.oid = t.typcollation AND t.typcollation <> base.typcollation
LEFT JOIN pg_namespace coll_nsp ON coll_nsp.oid = coll.collnamespace
LEFT JOIN pg_description ds ON ds.classoid = 'pg_type'::regclass AND ds.objoid = t.oid AND ds.objsubid = 0
WHERE (t.typrelid = 0 OR rc.relkind = 'c')
  AND NOT EXISTS (SELECT FROM pg_depend e
                  WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid AND e.deptype IN ('e', 'i'))
ORDER BY t.oid
"""

_FUNCTIONS = """
SELECT n.nspname, p.proname,
       pg_get_function_identity_arguments(p.oid) AS arguments,
       p.prokind AS kind,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
       ds.description AS comment
FROM pg_proc p
JOIN nsp n ON n.oid = p.pronamespace
LEFT JOIN pg_description ds ON ds.classoid = 'pg_proc'::regclass AND ds.objoid = p.oid AND ds.objsubid = 0
WHERE NOT EXISTS (SELECT FROM pg_depend e
                  WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype IN ('e', 'i'))
ORDER BY p.oid
"""

_TRIGGERS = """
SELECT r.nspname, r.relname, t.tgname, pg_get_triggerdef(t.oid) AS definition, t.tgenabled AS enabled,
       ds.description AS comment
FROM rel r
JOIN pg_trigger t ON t.tgrelid = r.oid
LEFT JOIN pg_description ds ON ds.classoid = 'pg_trigger'::regclass AND ds.objoid = t.oid AND ds.objsubid = 0
WHERE NOT t.tgisinternal{not_a_clone}
ORDER BY t.oid
"""

_POLICIES = """
SELECT r.nspname, r.relname, p.polname, p.polcmd, p.polpermissive,
       ARRAY(SELECT coalesce(ro.rolname::text, 'public')
             FROM unnest(p.polroles) AS k(oid) LEFT JOIN pg_roles ro ON ro.oid = k.oid) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using_expression,
       pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
       ds.description AS comment
FROM rel r
JOIN pg_policy p ON p.polrelid = r.oid
LEFT JOIN pg_description ds ON ds.classoid = 'pg_policy'::regclass AND ds.objoid = p.oid AND ds.objsubid = 0
ORDER BY p.oid
"""


class CatalogQueries(NamedTuple):
    """The SQL of each object family for one server version; each takes `%(excluded)s`, the list of
    schema names to leave out, and returns named columns (see the assembly that reads them)."""

    schemas: str
    extensions: str
    relations: str
    columns: str
    constraints: str
    indexes: str
    sequences: str
    types: str
    functions: str
    triggers: str
    policies: str

    @classmethod
    def for_server(cls, server_version: int) -> CatalogQueries:
        """The queries for `server_version` as libpq reports it (`150004` for 15.4)."""
        major = server_version // 10000
        not_null = "a.attnotnull"
        if major >= 18:  # attnotnull is also true under a NOT VALID NOT NULL constraint
            not_null = (
                "(a.attnotnull AND NOT EXISTS (SELECT FROM pg_constraint nn WHERE nn.conrelid = a.attrelid"
                " AND nn.contype = 'n' AND NOT nn.convalidated AND nn.conkey[1] = a.attnum))"
            )
        columns = _COLUMNS.format(
            not_null=not_null,
            generated="a.attgenerated <> ''" if major >= 12 else "false",
        )
        return cls(
            schemas=_SCOPE + _SCHEMAS,
            extensions=_EXTENSIONS,
            relations=_SCOPE + _RELATIONS,
            columns=_SCOPE + columns,
            constraints=_SCOPE
            + _CONSTRAINTS.format(
                invalid_not_null=" OR (con.contype = 'n' AND NOT con.convalidated)" if major >= 18 else ""
            ),
            indexes=_SCOPE + _INDEXES,
            sequences=_SCOPE + _SEQUENCES,
            types=_SCOPE + _TYPES,
            functions=_SCOPE + _FUNCTIONS,
            triggers=_SCOPE + _TRIGGERS.format(not_a_clone=" AND t.tgparentid = 0" if major >= 13 else ""),
            policies=_SCOPE + _POLICIES,
        )
