"""Keeping secrets off the screen: which URL parts are secret, and scrubbing
them out of any text (drivers sometimes echo a DSN in an error message).

One rule for everything that displays a URL or an error: the CLI's stderr,
the TUI's notifications, tab titles and status line, and snapshots.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

# A query parameter whose name contains one of these words is secret
# (password, sslpassword, tlsCertificateKeyFilePassword, secret_key,
# aws_session_token, aws_access_key_id...). Some parameters carry secrets
# inside their value.
_SECRET_WORDS = ("password", "secret", "token", "credential", "access_key")
_SECRET_WHOLE = {"authmechanismproperties"}

_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)


def is_secret_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_WHOLE or any(word in lowered for word in _SECRET_WORDS)


def url_secrets(url: str) -> tuple[str, ...]:
    """The secrets written in ``url`` itself (its password, the values of
    secret query parameters), raw and percent-decoded/encoded, for ``scrub``."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # Unparseable: fall back to what sits between "user:" and "@".
        match = re.search(r"://[^:/@\s]*:([^@\s]+)@", url)
        password = match.group(1) if match else None
        parts = None
    if password:
        found.update({password, unquote(password)})
    if parts is not None:
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if value and is_secret_param(key):
                found.update({value, quote(value, safe="")})
    return tuple(s for s in found if s)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets``, and any password inside a URL,
    replaced by ``***``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return _URL_PASSWORD.sub(r"\1***@", text)
