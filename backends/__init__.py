"""Backends: one module per store behind one interface (see ``base``).

Imports here stay light: a driver is imported only when a backend for its
scheme is opened, so the TUI paints its first frame before any driver loads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import BackendError, NotSupported
from .secrets import is_secret_param

if TYPE_CHECKING:
    from .base import Backend

# scheme -> (module, class, pip package that provides the driver)
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "postgresql": ("storescope.backends.postgres", "PostgresBackend", "psycopg2-binary"),
    "postgres": ("storescope.backends.postgres", "PostgresBackend", "psycopg2-binary"),
    "mongodb": ("storescope.backends.mongo", "MongoBackend", "pymongo"),
    "mongodb+srv": ("storescope.backends.mongo", "MongoBackend", "pymongo"),
    "redis": ("storescope.backends.redis", "RedisBackend", "redis"),
    "rediss": ("storescope.backends.redis", "RedisBackend", "redis"),
    "s3": ("storescope.backends.s3", "S3Backend", "boto3"),
    "fake": ("storescope.backends.fake", "FakeBackend", ""),
}

SCHEMES = tuple(s for s in _REGISTRY if s != "fake")

# Query parameters whose values are secrets and must never be shown.


def scheme_of(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError as e:  # e.g. an unclosed '[' of an IPv6 host
        raise NotSupported(f"cannot parse it ({e})", title="Invalid URL") from e


def backend_class(url: str) -> type[Backend]:
    """The Backend class for ``url``'s scheme, imported on first use."""
    scheme = scheme_of(url)
    if scheme not in _REGISTRY:
        shown = scheme or "(none)"
        raise NotSupported(
            f"unknown URL scheme '{shown}'; expected one of: "
            + ", ".join(f"{s}://" for s in SCHEMES),
            title="Unknown URL scheme",
        )
    module_name, class_name, package = _REGISTRY[scheme]
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        hint = f" (pip install {package})" if package else ""
        raise NotSupported(f"the driver for {scheme}:// is not installed{hint}: {e}") from e
    cls: type[Backend] = getattr(module, class_name)
    return cls


def open_backend(url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> Backend:
    """A backend for ``url``, chosen by its scheme; not yet connected."""
    cls = backend_class(url)
    return cls(url, read_only=read_only, connect_timeout=connect_timeout)


def redact_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:***@{hostport}" if sep else f"{user}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "***" if is_secret_param(k) else _redact_value(v)) for k, v in pairs],
            safe=":/*@",
        )
    out = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    # urlunsplit drops the '//' of an empty authority ("s3://?endpoint=...").
    if not netloc and url[len(parts.scheme) + 1 :].startswith("//"):
        out = f"{parts.scheme}://{out[len(parts.scheme) + 1 :]}"
    return out


def _redact_value(value: str) -> str:
    """A parameter value that is itself a URL (``endpoint=``) may carry
    credentials of its own."""
    if "://" in value and "@" in value:
        return redact_url(value)
    return value


__all__ = ["BackendError", "SCHEMES", "backend_class", "open_backend", "redact_url", "scheme_of"]
