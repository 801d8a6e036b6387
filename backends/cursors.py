"""Page cursors as text: the one encoder and the one bounded decoder every
backend uses.

A cursor is handed to the user (``storescope browse --cursor C``) and comes
back from them, so it is untrusted input. Decoding is bounded twice:

- a cursor longer than ``MAX_CURSOR_CHARS`` is refused before any work;
- a compressed cursor is inflated with ``zlib.decompressobj(...).decompress``
  and ``max_length``, so a "zip bomb" (126 KB that inflates to 95 MB) stops
  at ``MAX_CURSOR_BYTES`` instead of filling memory.

Why 4 MiB and not 64 KiB: a Redis cursor carries the names a SCAN batch
returned beyond the page (up to ~1000 of them, see ``redis._collect``), and
names of a few hundred bytes each are ordinary. Every other backend's cursor
holds one key and stays under a few KiB. The encoder refuses to build a cursor
the decoder would refuse, so a cursor storescope printed always reads back.
"""

from __future__ import annotations

import base64
import binascii
import zlib

#: Largest decoded (inflated) cursor payload, in bytes.
MAX_CURSOR_BYTES = 4 * 1024 * 1024
#: Largest cursor text: base64 of a payload that did not compress at all
#: (zlib adds a few bytes per 16 KiB block), plus a prefix.
MAX_CURSOR_CHARS = (MAX_CURSOR_BYTES + MAX_CURSOR_BYTES // 1000 + 64) * 4 // 3 + 64


class CursorError(ValueError):
    """A cursor that cannot be decoded (each backend words its own message)."""


def encode_cursor(payload: bytes, *, compress: bool = False, prefix: str = "") -> str:
    """``payload`` as URL-safe base64 text (zlib-compressed first when
    ``compress``), after ``prefix``. Raises ``CursorError`` when the payload
    is larger than ``decode_cursor`` accepts."""
    if len(payload) > MAX_CURSOR_BYTES:
        raise CursorError(
            f"the page cursor would hold {len(payload):,} bytes "
            f"(at most {MAX_CURSOR_BYTES:,} are accepted back)"
        )
    raw = zlib.compress(payload) if compress else payload
    return prefix + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, *, compressed: bool = False, prefix: str = "") -> bytes:
    """The payload of a cursor made by ``encode_cursor`` with the same
    ``compressed`` and ``prefix``. Raises ``CursorError`` (never anything
    else) for a cursor that is not one, too long, or inflates past
    ``MAX_CURSOR_BYTES``."""
    if not isinstance(cursor, str):
        raise CursorError("a page cursor is text")
    if len(cursor) > MAX_CURSOR_CHARS:
        raise CursorError(f"too long ({len(cursor):,} characters)")
    if not cursor.startswith(prefix):
        raise CursorError("it does not come from this kind of store")
    text = cursor[len(prefix) :]
    if not text.isascii():
        raise CursorError("it holds characters that are not base64")
    try:
        # Strict: urlsafe_b64decode would skip characters outside the alphabet.
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as e:
        raise CursorError(f"not base64 ({e})") from e
    if not compressed:
        if len(raw) > MAX_CURSOR_BYTES:
            raise CursorError(f"too long ({len(raw):,} bytes)")
        return raw
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(raw, MAX_CURSOR_BYTES + 1)
    except zlib.error as e:
        raise CursorError(f"not compressed data ({e})") from e
    if len(data) > MAX_CURSOR_BYTES or inflater.unconsumed_tail:
        raise CursorError(f"it inflates to more than {MAX_CURSOR_BYTES:,} bytes")
    if not inflater.eof:
        raise CursorError("truncated")
    return data
