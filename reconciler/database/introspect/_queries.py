"""The catalog queries of introspection: one per object family, built once per server version.

The scope (`_SCOPE`: `nsp`, the schemas introspected; `rel`, their tables, views, materialized
views and sequences that no extension owns) is worked out by the relations query, whose OIDs the
queries of columns, constraints, indexes, sequences, triggers and policies then take (`_given`);
types, functions and schemas filter by `nsp` themselves. Each asks PostgreSQL to print definitions
itself (`format_type`, `pg_get_expr`, `pg_get_*def`). A reference to another object comes back as
its OID, named from the rows of its own family (or by `_NAMES` when it is outside the scope), and
comments come from one query on `pg_description`: a join per row to name things cost more than the
whole of some families on a schema of thousands of tables. OIDs never reach the model.

Where PostgreSQL versions differ, the difference is decided here and nowhere else
(`CatalogQueries.for_server`):

* generated columns (`attgenerated`) exist from 12 (`v`, virtual, from 18);
* a partition's clones of its parent's triggers are marked by `tgparentid` from 13 (before, they
  are internal triggers);
* NOT NULL constraints of tables are rows of `pg_constraint` from 18: the model shows nullability as
  `Column.not_null` on every version, and a NOT VALID one (18 only) as a constraint of kind
  `not_null`, with the column no longer counted as NOT NULL (`attnotnull` is true for it);
  such a constraint's name is `Column.not_null_name` when it is not the default one (a rename of
  the table or the column keeps the old name), except an inherited one (a partition's, a child
  table's), whose name depends on how the partition was made and is left out;
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
SELECT nsp.oid, nsp.nspname FROM nsp WHERE nsp.nspname <> 'public'
"""

_EXTENSIONS = """
SELECT e.extname, n.nspname, e.extversion
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
"""

_COMMENTS = """
SELECT CASE d.classoid
           WHEN 'pg_class'::regclass THEN 'pg_class'
           WHEN 'pg_constraint'::regclass THEN 'pg_constraint'
           WHEN 'pg_type'::regclass THEN 'pg_type'
           WHEN 'pg_proc'::regclass THEN 'pg_proc'
           WHEN 'pg_trigger'::regclass THEN 'pg_trigger'
           WHEN 'pg_policy'::regclass THEN 'pg_policy'
           WHEN 'pg_namespace'::regclass THEN 'pg_namespace'
       END AS catalog,
       d.objoid, d.objsubid, d.description
FROM pg_description d
WHERE d.objoid >= 16384  -- FirstNormalObjectId: PostgreSQL's own objects have lower OIDs
  AND d.classoid IN ('pg_class'::regclass, 'pg_constraint'::regclass, 'pg_type'::regclass, 'pg_proc'::regclass,
                     'pg_trigger'::regclass, 'pg_policy'::regclass, 'pg_namespace'::regclass)
"""
"""Every comment on an object that is not PostgreSQL's own, looked up by (catalog, OID, column) as
each family is assembled: one query instead of a join per row."""

_RELATIONS = """
SELECT r.oid, r.nspname, r.relname, r.relkind,
       c.relpersistence = 'u' AS unlogged,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       c.reloptions::text[] AS options,
       toast.reloptions::text[] AS toast_options,
       inh.inhparent AS parent,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_by,
       pt.partattrs::int2[] AS partition_key,
       CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition,
       CASE WHEN r.relkind IN ('v', 'm') THEN ARRAY(
           SELECT DISTINCT d.refobjid
           FROM pg_rewrite rw
           JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid
           WHERE rw.ev_class = c.oid) END AS depends_on,
       coalesce(c.relacl, acldefault(CASE WHEN r.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))::text[]
           AS acl,
       makeaclitem(c.relowner, c.relowner, 'SELECT', false)::text AS owner_item
FROM rel r
JOIN pg_class c ON c.oid = r.oid
LEFT JOIN pg_class toast ON toast.oid = c.reltoastrelid
LEFT JOIN pg_inherits inh ON c.relispartition AND inh.inhrelid = c.oid
LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
ORDER BY c.oid
"""
"""Tables, views, materialized views and sequences in scope (the sequences' own fields come from
`_SEQUENCES`): their keys name every reference the other families make by OID."""

def _given(scope: str) -> str:
    """The relations of `scope` (a list of OIDs the relations query found): working out the scope
    (schemas, extension members) once, not in every query, halves the server's work on a large schema."""
    return f"WITH rel AS (SELECT unnest(%({scope})s::oid[]) AS oid)\n"


_COLUMNS = _given("relations") + """, default_sequence AS (
    SELECT d.objid AS attrdef, min(d.refobjid) AS sequence
    FROM pg_depend d
    JOIN pg_class sc ON sc.oid = d.refobjid AND sc.relkind = 'S'
    WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
    GROUP BY d.objid
)
SELECT r.oid, a.attnum, a.attname,
       format_type(a.atttypid, a.atttypmod) AS type,
       {not_null} AS not_null,
       pg_get_expr(ad.adbin, ad.adrelid) AS default,
       a.attidentity AS identity,
       {generated} AS generated,
       coll_nsp.nspname AS collation_schema, coll.collname AS collation_name,
       NOT a.attislocal AS inherited,
       seq.sequence,
       {not_null_name} AS not_null_name
FROM rel r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_collation coll ON coll.oid = a.attcollation AND a.attcollation <> t.typcollation
LEFT JOIN pg_namespace coll_nsp ON coll_nsp.oid = coll.collnamespace
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN default_sequence seq ON seq.attrdef = ad.oid{not_null_join}
ORDER BY r.oid, a.attnum
"""

_CONSTRAINTS = _given("tables") + """
SELECT con.oid AS constraint_oid, r.oid, con.conname, con.contype, con.conkey AS columns,
       quote_ident(single.attname) AS quoted_column,
       con.convalidated AS validated,
       con.confrelid AS referenced_table,
       CASE WHEN con.contype = 'f' THEN ARRAY(
           SELECT (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = con.confrelid AND a.attnum = k.attnum)
           FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
           ORDER BY k.position) END AS referenced_columns,
       CASE WHEN con.contype IN ('p', 'u', 'x') THEN con.conindid END AS index,
       pg_get_constraintdef(con.oid) AS definition,
       NOT con.conislocal AS inherited
FROM rel r
JOIN pg_constraint con ON con.conrelid = r.oid
LEFT JOIN pg_attribute single ON con.contype IN ('c', 'n') AND cardinality(con.conkey) = 1
                             AND single.attrelid = con.conrelid AND single.attnum = con.conkey[1]
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x'){invalid_not_null}
ORDER BY r.oid, con.conname
"""

_INDEXES = _given("indexed") + """
SELECT i.indexrelid AS index_oid, r.oid, n.nspname, ic.relname,
       i.indkey::int2[] AS columns, i.indnkeyatts AS key_columns,
       i.indisunique AS unique, i.indpred IS NOT NULL AS partial, i.indisvalid AS valid,
       pg_get_indexdef(i.indexrelid) AS definition,
       inh.inhparent AS parent
FROM rel r
JOIN pg_index i ON i.indrelid = r.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
LEFT JOIN pg_inherits inh ON inh.inhrelid = i.indexrelid
ORDER BY i.indexrelid
"""

_SEQUENCES = _given("sequences") + """
SELECT r.oid,
       format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
       owner_dep.deptype = 'i' AS identity,
       owner_dep.refobjid AS owner_table, owner_att.attname AS owner_column
FROM rel r
JOIN pg_sequence s ON s.seqrelid = r.oid
LEFT JOIN pg_depend owner_dep ON owner_dep.classid = 'pg_class'::regclass AND owner_dep.objid = r.oid
                             AND owner_dep.refclassid = 'pg_class'::regclass AND owner_dep.refobjsubid > 0
                             AND owner_dep.deptype IN ('a', 'i')
LEFT JOIN pg_attribute owner_att ON owner_att.attrelid = owner_dep.refobjid AND owner_att.attnum = owner_dep.refobjsubid
ORDER BY r.oid
"""

_TYPES = """
SELECT t.oid, n.nspname, t.typname, t.typtype, t.typrelid,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       t.typnotnull AS not_null,
       CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END AS default,
       coll_nsp.nspname AS collation_schema, coll.collname AS collation_name,
       CASE WHEN t.typtype = 'e' THEN ARRAY(
           SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder
       ) END AS labels,
       CASE WHEN t.typtype = 'c' THEN ARRAY(
           SELECT ARRAY[a.attnum::text, a.attname::text, format_type(a.atttypid, a.atttypmod), acn.nspname::text,
                        ac.collname::text]
           FROM pg_attribute a
           JOIN pg_type at ON at.oid = a.atttypid
           LEFT JOIN pg_collation ac ON ac.oid = a.attcollation AND a.attcollation <> at.typcollation
           LEFT JOIN pg_namespace acn ON acn.oid = ac.collnamespace
           WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
           ORDER BY a.attnum
       ) END AS attributes,
       CASE WHEN t.typtype = 'd' THEN ARRAY(
           SELECT ARRAY[con.conname::text, pg_get_constraintdef(con.oid), con.convalidated::text]
           FROM pg_constraint con
           WHERE con.contypid = t.oid AND con.contype = 'c'
           ORDER BY con.conname
       ) END AS constraints
FROM pg_type t
JOIN nsp n ON n.oid = t.typnamespace
LEFT JOIN pg_class rc ON rc.oid = t.typrelid
LEFT JOIN pg_type base ON base.oid = t.typbasetype
LEFT JOIN pg_collation coll ON t.typtype = 'd' AND coll.oid = t.typcollation AND t.typcollation <> base.typcollation
LEFT JOIN pg_namespace coll_nsp ON coll_nsp.oid = coll.collnamespace
WHERE (t.typrelid = 0 OR rc.relkind = 'c')
  AND NOT EXISTS (SELECT FROM pg_depend e
                  WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid AND e.deptype IN ('e', 'i'))
ORDER BY t.oid
"""

_FUNCTIONS = """
SELECT p.oid, n.nspname, p.proname,
       pg_get_function_identity_arguments(p.oid) AS arguments,
       p.prokind AS kind,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition
FROM pg_proc p
JOIN nsp n ON n.oid = p.pronamespace
WHERE NOT EXISTS (SELECT FROM pg_depend e
                  WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype IN ('e', 'i'))
ORDER BY p.oid
"""

_TRIGGERS = _given("relations") + """
SELECT t.oid AS trigger_oid, r.oid, t.tgname, pg_get_triggerdef(t.oid) AS definition, t.tgenabled AS enabled
FROM rel r
JOIN pg_trigger t ON t.tgrelid = r.oid
WHERE NOT t.tgisinternal{not_a_clone}
ORDER BY t.oid
"""

_POLICIES = _given("tables") + """
SELECT p.oid AS policy_oid, r.oid, p.polname, p.polcmd, p.polpermissive,
       ARRAY(SELECT coalesce(ro.rolname::text, 'public')
             FROM unnest(p.polroles) AS k(oid) LEFT JOIN pg_roles ro ON ro.oid = k.oid) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using_expression,
       pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
FROM rel r
JOIN pg_policy p ON p.polrelid = r.oid
ORDER BY p.oid
"""

_NAMES = """
SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY (%(oids)s::oid[])
"""
"""The names of relations referenced from the scope but outside it (a foreign key to a table of an
excluded schema, a view reading a catalog, a default drawing from another schema's sequence):
usually none, then not run."""


class CatalogQueries(NamedTuple):
    """The SQL of each object family for one server version; each takes `%(excluded)s`, the list of
    schema names to leave out, and returns named columns (see the assembly that reads them)."""

    schemas: str
    extensions: str
    comments: str
    relations: str
    columns: str
    constraints: str
    indexes: str
    sequences: str
    types: str
    functions: str
    triggers: str
    policies: str
    names: str

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
            not_null_name="nn.conname" if major >= 18 else "NULL::name",
            not_null_join=(
                "\nLEFT JOIN pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n'"
                " AND nn.conkey[1] = a.attnum AND nn.coninhcount = 0" if major >= 18 else ""
            ),
            generated="a.attgenerated <> ''" if major >= 12 else "false",
        )
        return cls(
            schemas=_SCOPE + _SCHEMAS,
            extensions=_EXTENSIONS,
            comments=_COMMENTS,
            relations=_SCOPE + _RELATIONS,
            columns=columns,
            constraints=_CONSTRAINTS.format(
                invalid_not_null=" OR (con.contype = 'n' AND NOT con.convalidated)" if major >= 18 else ""
            ),
            indexes=_INDEXES,
            sequences=_SEQUENCES,
            types=_SCOPE + _TYPES,
            functions=_SCOPE + _FUNCTIONS,
            triggers=_TRIGGERS.format(not_a_clone=" AND t.tgparentid = 0" if major >= 13 else ""),
            policies=_POLICIES,
            names=_NAMES,
        )
