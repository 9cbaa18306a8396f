"""Mastodon-compatible client API, one module per resource."""
