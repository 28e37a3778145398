"""Deleting people's data: Meta's data deletion callback, its status page, and the admin action."""
