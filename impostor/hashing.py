"""Secrets (PINs, API keys, trainee codes) stored only as salted slow hashes (scrypt), checked in
constant time; the station and the practice server share them.

A stored secret is one text: ``scrypt$N$r$p$salt$hash`` (salt and hash in URL-safe base64), so
the cost can be raised later and old entries still check. An API key is handed out once as
``NAME.SECRET``: the name finds its one stored hash, so checking a key costs one scrypt, not one
per key on the station.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random

__all__ = ["check_secret", "hash_secret", "new_key", "split_key"]

# scrypt's cost: 2**14 × 8 × 128 bytes = 16 MB and about 50 ms a check on the reference machine;
# a short PIN stays slow to guess from a stolen file
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_HASH_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    """The salted scrypt hash of ``secret``, as the one text the station stores."""
    salt = _random.token_bytes(_SALT_BYTES)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_HASH_BYTES)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def check_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one ``stored`` was made from (constant-time comparison).

    A damaged stored text checks as False rather than raising.
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        found = hashlib.scrypt(
            secret.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


def new_key(name: str) -> str:
    """A fresh API key for the system ``name``: ``NAME.SECRET`` with 256 random bits."""
    return f"{name}.{_random.token_urlsafe(32)}"


def split_key(key: str) -> tuple[str, str] | None:
    """``(name, secret)`` of an API key as sent, or None when it is not shaped like one."""
    name, dot, secret = key.strip().rpartition(".")
    if not dot or not name or len(secret) < 20:
        return None
    return name, secret
