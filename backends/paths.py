"""Catalog paths as text: segments joined with '/', with '/' and '%' inside a
segment percent-encoded. This is the PATH the CLI prints and reads.

Store conventions for segments (so paths stay unambiguous and reversible):

- PostgreSQL: (database, schema, table)
- MongoDB: (database, collection)
- Redis: ("db0", ns..., key-tail). Namespace segments end with ':' (so "user:"),
  the last segment of a key does not; the full key is "".join(path[1:]).
- S3: (bucket, prefix..., object-tail). Prefix segments end with '/' (so
  "logs/"), the object's last segment does not; the key is "".join(path[1:]).
"""

from __future__ import annotations


def encode_segment(segment: str) -> str:
    return segment.replace("%", "%25").replace("/", "%2F")


def decode_segment(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        code = text[i + 1 : i + 3].upper()
        if ch == "%" and code in ("25", "2F"):
            out.append("%" if code == "25" else "/")
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def encode_path(path: tuple[str, ...]) -> str:
    return "/".join(encode_segment(s) for s in path)


def decode_path(text: str) -> tuple[str, ...]:
    """Inverse of ``encode_path``. The empty string is the root ``()``."""
    if text == "":
        return ()
    return tuple(decode_segment(s) for s in text.split("/"))


def display_path(path: tuple[str, ...]) -> str:
    """``path`` for people to read (status lines, titles): segments joined
    with '/', except after a segment that already ends in '/' (S3 prefixes),
    and nothing escaped. Not meant to be parsed back: use ``encode_path``."""
    out = ""
    for i, segment in enumerate(path):
        if i and not out.endswith("/"):
            out += "/"
        out += segment
    return out
