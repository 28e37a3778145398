"""Operating a Keloa: backups, moving to PostgreSQL, retention, checks (python -m keloa_web)."""
