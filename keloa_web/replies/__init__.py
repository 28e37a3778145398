"""Saved replies: their page, and the composer's "/" picker."""
