#!/bin/sh
# Container entry point: `web` migrates the database then serves; `worker` runs one worker.py.
set -eu
# Media, and anything else Keloa writes, readable by the keloa user only.
umask 077
cd /app

case "${1:-web}" in
  web)
    # Migrations before serving: the schema is never older than the code that uses it.
    python -m alembic upgrade head
    exec gunicorn -c gunicorn.conf.py wsgi:app
    ;;
  worker)
    shift
    exec python worker.py "$@"
    ;;
  migrate)
    exec python -m alembic upgrade head
    ;;
  *)
    exec "$@"
    ;;
esac
