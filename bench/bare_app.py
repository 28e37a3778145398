"""The baseline for webhook intake: a bare Flask route under the same gunicorn settings."""
from flask import Flask

app = Flask(__name__)


@app.post("/webhooks/instagram")
def webhook_ok():
    return "ok"
