"""Test infrastructure and the helpers tests import: real Redis and PostgreSQL servers, live node processes,
media, generation, streams and waiting. conftest.py files hold fixtures only."""
