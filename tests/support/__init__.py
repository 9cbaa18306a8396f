"""Test infrastructure: real Redis and PostgreSQL servers and live node processes."""
