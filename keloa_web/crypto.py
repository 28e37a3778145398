"""Encryption at rest for Page tokens and API keys (Fernet, key derived from SECRET_KEY)."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"keloa-at-rest-v1", info=b"tokens").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str) -> str:
    return _fernet(current_app.config["SECRET_KEY"]).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str | None) -> str | None:
    """The plaintext, or None when missing or encrypted under another SECRET_KEY."""
    if not ciphertext:
        return None
    try:
        return _fernet(current_app.config["SECRET_KEY"]).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        return None
