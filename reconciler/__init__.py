"""Everything that touches a database or a migrations folder."""
