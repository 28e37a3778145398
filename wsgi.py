"""WSGI entry point: `gunicorn wsgi:app`."""
from keloa_web import create_app

app = create_app()
