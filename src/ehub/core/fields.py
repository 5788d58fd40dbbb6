"""Model fields for personal data encrypted at rest (ID numbers, phones, addresses).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
``EHUB_FIELD_ENCRYPTION_KEY`` (or SECRET_KEY when unset). Ciphertext is not searchable: keep a
keyed hash beside the field (``blind_index``) where a lookup by value is needed.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models

_PREFIX = "enc1:"


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    digest = hashlib.sha256(b"ehub-field-encryption:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _secret() -> str:
    return settings.FIELD_ENCRYPTION_KEY or settings.SECRET_KEY


def encrypt(value: str) -> str:
    return _PREFIX + _fernet(_secret()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if not token.startswith(_PREFIX):
        raise ValueError("value is not eHub ciphertext")
    try:
        return _fernet(_secret()).decrypt(token[len(_PREFIX) :].encode()).decode()
    except InvalidToken as exc:  # wrong key or tampered value
        raise ValueError("cannot decrypt value: wrong EHUB_FIELD_ENCRYPTION_KEY?") from exc


def blind_index(value: str) -> str:
    """A keyed hash of a normalised value, for equality lookups on encrypted data."""
    key = hashlib.sha256(b"ehub-blind-index:" + _secret().encode()).digest()
    return hmac.new(key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; reads return plain text."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


def mask(value: str | None, visible: int = 4, char: str = "•") -> str:
    """Mask personal data for display, keeping the last ``visible`` characters."""
    if not value:
        return ""
    if len(value) <= visible:
        return char * len(value)
    return char * (len(value) - visible) + value[-visible:]
