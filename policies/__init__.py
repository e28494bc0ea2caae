"""The rulebook: pure, I/O-free parsing, classification, risk rules and rollback SQL."""
