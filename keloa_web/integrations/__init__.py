"""Integrations: connecting Instagram accounts through Facebook Login, one channel per account."""
