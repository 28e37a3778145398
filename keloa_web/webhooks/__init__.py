"""Receiving Instagram webhooks: intake, parsing, and the ingest jobs that apply them."""
