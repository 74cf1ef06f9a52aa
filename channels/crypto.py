"""Channel credentials at rest: one MultiFernet token of a JSON object per account.

The keys come from settings.OMS_CREDENTIALS_KEYS (the environment): the first key encrypts,
every listed key decrypts, so a key is rotated by putting a new one first, running
`manage.py rotate_credentials_key`, then dropping the old one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

MASK = "····"


class CredentialsUnreadable(Exception):
    """The stored token was encrypted with a key that is no longer in OMS_CREDENTIALS_KEYS (or
    it was altered). str() is for people."""


@lru_cache(maxsize=4)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    if not keys:
        raise ImproperlyConfigured("OMS_CREDENTIALS_KEYS is empty: set at least one Fernet key")
    try:
        fernets = [Fernet(key.encode() if isinstance(key, str) else key) for key in keys]
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "OMS_CREDENTIALS_KEYS holds a key that is not a Fernet key (32 url-safe base64 bytes)"
        ) from exc
    return MultiFernet(fernets), fernets[0]


def _keys() -> tuple[str, ...]:
    keys: Sequence[str] = settings.OMS_CREDENTIALS_KEYS
    return tuple(keys)


def encrypt_credentials(values: Mapping[str, str]) -> str:
    """The token to store for these credential values (empty values are dropped)."""
    clean = {str(k): str(v) for k, v in values.items() if v not in (None, "")}
    if not clean:
        return ""
    multi, _primary = _fernets(_keys())
    payload = json.dumps(clean, ensure_ascii=False, sort_keys=True).encode()
    return multi.encrypt(payload).decode()


def decrypt_credentials(token: str) -> dict[str, str]:
    if not token:
        return {}
    multi, _primary = _fernets(_keys())
    try:
        data = json.loads(multi.decrypt(token.encode()))
    except InvalidToken as exc:
        raise CredentialsUnreadable(
            _(
                "The saved credentials cannot be decrypted with the keys in OMS_CREDENTIALS_KEYS. "
                "Add the key they were saved with back to the list, or enter the credentials again."
            )
        ) from exc
    if not isinstance(data, dict):
        raise CredentialsUnreadable(_("The saved credentials are damaged; enter them again."))
    return {str(k): str(v) for k, v in data.items()}


def is_current(token: str) -> bool:
    """Whether the token is already encrypted with the first (current) key."""
    if not token:
        return True
    _multi, primary = _fernets(_keys())
    try:
        primary.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate_token(token: str) -> str:
    """Re-encrypt a token with the first key (decrypting with any listed key)."""
    if not token:
        return token
    multi, _primary = _fernets(_keys())
    try:
        return multi.rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialsUnreadable(
            _("The saved credentials cannot be decrypted with the keys in OMS_CREDENTIALS_KEYS.")
        ) from exc


def mask(value: str) -> str:
    """설정됨 ····1234: the last four characters, and only when the value is long enough that
    four characters give nothing useful away."""
    if len(value) >= 12:
        return f"{MASK}{value[-4:]}"
    return MASK
