"""Backends: one module per store behind one interface (see ``base``).

Imports here stay light: a driver is imported only when a backend for its
scheme is opened, so the TUI paints its first frame before any driver loads.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import BackendError, InvalidURL, NotSupported
from .secrets import is_secret_param

if TYPE_CHECKING:
    from .base import Backend


@dataclass(frozen=True, slots=True)
class SchemeEntry:
    """One URL scheme of the registry: the module and class that serve it,
    the pip package of its driver (an install hint; "" for none), the short
    name tabs show, and whether it is an in-memory store for tests and
    demos (not listed among the schemes a user is told about)."""

    module: str
    cls: str
    package: str
    short_name: str
    in_memory: bool = False
    #: The backend's ``words`` and ``language`` as ``"module:NAME"`` in a
    #: light module of this package (no driver), so a panel can speak the
    #: store's words before the backend's module is loaded (in a worker, on
    #: connect); "" for a store whose module is light itself. A test checks
    #: they are the class's own.
    words: str = ""
    language: str = ""


_PG = SchemeEntry(
    "storescope.backends.postgres",
    "PostgresBackend",
    "psycopg2-binary",
    "PG",
    words="types:ROW_WORDS",
    language="sql_language:POSTGRES_SQL",
)
_MONGO = SchemeEntry(
    "storescope.backends.mongo",
    "MongoBackend",
    "pymongo",
    "Mongo",
    words="types:DOCUMENT_WORDS",
    language="language:PLAIN",
)
_REDIS = SchemeEntry(
    "storescope.backends.redis",
    "RedisBackend",
    "redis",
    "Redis",
    words="types:KEY_WORDS",
    language="language:PLAIN",
)

# The one list of schemes: everything else (SCHEMES, tab titles, the CLI's
# usage text) reads it.
_REGISTRY: dict[str, SchemeEntry] = {
    "postgresql": _PG,
    "postgres": _PG,
    "mongodb": _MONGO,
    "mongodb+srv": _MONGO,
    "redis": _REDIS,
    "rediss": _REDIS,
    "s3": SchemeEntry(
        "storescope.backends.s3",
        "S3Backend",
        "boto3",
        "S3",
        words="types:OBJECT_WORDS",
        language="language:PLAIN",
    ),
    "fake": SchemeEntry("storescope.backends.fake", "FakeBackend", "", "Fake", in_memory=True),
    "memdocs": SchemeEntry(
        "storescope.backends.memdocs", "MemDocsBackend", "", "memdocs", in_memory=True
    ),
}

#: The schemes a user is told about (the in-memory test stores left out).
SCHEMES = tuple(s for s, entry in _REGISTRY.items() if not entry.in_memory)


def short_name(scheme: str) -> str | None:
    """The short product name a tab shows for ``scheme`` (any case), or
    None for a scheme the registry does not know."""
    entry = _REGISTRY.get(scheme.lower())
    return entry.short_name if entry else None


# Query parameters whose values are secrets and must never be shown.


#: A Redis URL's path: the database number, or nothing (database 0).
_REDIS_DB_PATH = re.compile(r"/?([0-9]{1,9})?/?")


def scheme_of(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError as e:  # e.g. an unclosed '[' of an IPv6 host
        raise InvalidURL(f"cannot parse it ({e})") from e


def _unknown_scheme(scheme: str) -> InvalidURL:
    what = f"unknown URL scheme '{scheme}'" if scheme else "not a URL (no SCHEME:// at its start)"
    return InvalidURL(
        f"{what}; expected one of: " + ", ".join(f"{s}://" for s in SCHEMES),
        title="Unknown URL scheme",
    )


def check_url(url: str) -> str:
    """``url`` with its scheme in lower case (schemes are case-insensitive:
    ``POSTGRESQL://`` is ``postgresql://``), after the checks that need no
    driver. Raises ``InvalidURL`` for text that is not a URL, an unknown
    scheme, bytes that are not UTF-8, a port that is not a number, or a Redis
    database that is not one. The message never repeats the URL: it may hold
    a password."""
    for i, ch in enumerate(url):
        if "\udc80" <= ch <= "\udcff":  # a byte that was not UTF-8 (surrogateescape)
            raise InvalidURL(
                f"the URL is not valid UTF-8 (byte 0x{ord(ch) - 0xDC00:02x} at character {i + 1})"
            )
        if "\ud800" <= ch <= "\udfff":
            raise InvalidURL(f"the URL is not valid UTF-8 (a lone surrogate at character {i + 1})")
    scheme = scheme_of(url)
    if scheme not in _REGISTRY or "://" not in url:
        raise _unknown_scheme(scheme if "://" in url else "")
    url = scheme + url[len(scheme) :]
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    if "," not in hosts:  # PostgreSQL and MongoDB also take host1:port1,host2:port2
        try:
            parts.port  # noqa: B018  (urllib checks the port when asked for it)
        except ValueError as e:
            raise InvalidURL(f"the port must be a number from 1 to 65535 ({e})") from None
    if scheme in ("redis", "rediss"):
        if not _REDIS_DB_PATH.fullmatch(parts.path):
            raise InvalidURL(
                "a Redis URL's path is its database number (redis://HOST:PORT/0), "
                f"not '{parts.path.lstrip('/')}'"
            )
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "db" and not value.isdigit():
                raise InvalidURL(f"the Redis database (db=) must be a number, not '{value}'")
    return url


def backend_class(url: str) -> type[Backend]:
    """The Backend class for ``url``'s scheme, imported on first use."""
    scheme = scheme_of(url)
    if scheme not in _REGISTRY:
        raise _unknown_scheme(scheme)
    entry = _REGISTRY[scheme]
    module_name, class_name, package = entry.module, entry.cls, entry.package
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        hint = f" (pip install {package})" if package else ""
        raise NotSupported(f"the driver for {scheme}:// is not installed{hint}: {e}") from e
    cls: type[Backend] = getattr(module, class_name)
    return cls


def open_backend(url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> Backend:
    """A backend for ``url``, chosen by its scheme; not yet connected.
    Raises ``InvalidURL`` for a URL that ``check_url`` refuses."""
    url = check_url(url)
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


__all__ = [
    "SCHEMES",
    "BackendError",
    "InvalidURL",
    "backend_class",
    "check_url",
    "open_backend",
    "redact_url",
    "scheme_of",
    "short_name",
]


def described(url: str, what: str) -> Any:
    """The ``words`` or ``language`` (``what``) of the backend serving
    ``url``, without loading its driver: panels ask for them on the event
    loop, before the connection (made in a worker) has loaded the backend's
    module. Once that module is loaded, its class answers."""
    scheme = scheme_of(url)
    entry = _REGISTRY.get(scheme)
    if entry is None:
        raise _unknown_scheme(scheme)
    light: str = getattr(entry, what)
    if not light or entry.module in sys.modules:
        return getattr(backend_class(url), what)
    module, _, name = light.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
