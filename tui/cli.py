"""The ``storescope`` command line.

```
storescope [URL | --profile NAME]... [--read-only]   open the TUI, one tab per connection
storescope demo [--read-only]                        local servers with sample data, in the TUI
storescope ls (URL | --profile NAME) [PATH] [--json | --format table|tsv|json|jsonl]
storescope browse (URL | --profile NAME) PATH [--limit N] [--cursor C | --all]
                  [--format table|json|jsonl|csv] [--preview]
storescope query (URL | --profile NAME) TEXT [--limit N] [--format table|json|jsonl|csv]
                 [--preview]
storescope snapshot [URL | --profile NAME]... --out FILE.svg|FILE.txt [--keys "..."] [--size WxH]
```

PATH is the catalog path printed by ``ls``: segments joined with ``/``, a
``/`` or ``%`` inside a segment percent-encoded (``backends.paths``).

Decisions a script can rely on:

- Exit status 0 on success, 1 on a backend error (one line on stderr,
  ``storescope: <title>: <message>``, never a traceback or a password), 2 on bad
  usage, 130 on Ctrl+C, 141 (as if killed by SIGPIPE) when stdout is closed
  early (``| head``), silently. Bad usage includes an unknown command, a URL
  that is not one (an unknown scheme, a port or Redis database that is not a
  number, an unknown MongoDB or Redis option; schemes are case-insensitive),
  a ``--limit`` out of range, an unknown ``--keys`` name, and a URL, PATH,
  TEXT or ``--keys`` holding bytes that are not UTF-8 (except a Redis PATH:
  Redis names are bytes). ``snapshot`` exits 1 when a connection failed,
  after saving the picture of the error.
- A URL with a password or secret options is redacted from the process title
  (``ps``) as soon as the command starts (``setproctitle``).
- ``ls`` prints one child per line. When stdout is a terminal: aligned columns
  under a header (``--format table``). Otherwise tab-separated ``PATH KIND
  ESTIMATE DETAIL`` (``--format tsv``; the estimate ``-`` when unknown; tabs
  and line breaks inside a field escaped as ``\\t``/``\\n``). The lossless
  forms: ``--format json`` (or ``--json``) one JSON array of objects
  ``{"path", "name", "kind", "estimate", "detail"}`` (``[]`` for an empty
  level), ``--format jsonl`` one such object per line. ``--json`` with another
  ``--format`` is bad usage.
- ``browse`` prints one page. For ``table``, ``csv`` and ``jsonl`` the cursor of
  the next page goes to stderr as ``next cursor: C`` (nothing when it was the
  last page), so stdout stays pure data; ``json`` carries it as
  ``"next_cursor"``. ``--all`` streams every page (5000 records each unless
  ``--limit``), writing and flushing each before fetching the next, so memory
  stays flat whatever the size. With ``--all``, ``csv`` and ``table`` take their
  columns from the first page: for a document store a field that first appears
  later is left out (named once on stderr) — ``jsonl`` keeps every field (and
  ``json`` too: its ``"columns"`` are the first page's, each row object holds
  all of its document's fields). ``table`` also keeps the first page's widths.
  Value encodings are described in ``tui.formats``.
- ``csv``, ``json`` and ``jsonl`` write every value whole, however big (the
  backend is asked for whole pages, which it keeps bounded in memory by
  ending a page early when its values are big). Should a store still hand
  out a preview, the command stops with exit status 1 naming the record and
  the field, never writing the preview as if it were the value.
  ``--preview`` (browse and query) writes previews on purpose, marked with
  the true size. ``table`` always shows previews, for people, and says so
  once on stderr when it cut a value.
- ``query`` runs each statement of TEXT (``-``: standard input) in order, on
  one session, and stops at the first that fails (exit 1, the server's
  message and where in TEXT: ``at character N (LINE L: ...)``). Rows stream
  page by page (``QUERY_PAGE_SIZE``), so memory stays flat whatever the size;
  ``--limit N`` prints at most N rows of each statement. Command tags
  (``INSERT 0 3``, ``SELECT 20``) and server notices go to stderr. With several
  statements returning rows: ``table`` and ``csv`` print one block each,
  separated by an empty line; ``jsonl`` one line per row throughout; ``json``
  one document per statement per line, ``{"columns", "rows", "status"}``.

The headless commands never import Textual (nor Rich); the TUI, ``demo`` and
``snapshot`` import it lazily.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from storescope.backends import (
    SCHEMES,
    InvalidURL,
    backend_class,
    check_url,
    open_backend,
    redact_url,
)
from storescope.backends.errors import BackendError
from storescope.backends.paths import decode_path, encode_path
from storescope.backends.secrets import scrub, url_secrets
from storescope.backends.types import RecordStyle

if TYPE_CHECKING:
    from storescope.tui import formats
    from storescope.tui.config import Connection


class _LazyModule:
    """A module imported on first attribute use, then bound in place.

    ``storescope URL`` opens the TUI, where every millisecond before the first
    frame counts; the output formats and the profile reader (~40 ms of
    imports together) are needed only by the headless commands and profiles.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        value = getattr(importlib.import_module(self._name), attr)
        setattr(self, attr, value)
        return value


formats = _LazyModule("storescope.tui.formats")  # type: ignore[assignment]  # noqa: F811
_config: Any = _LazyModule("storescope.tui.config")

if TYPE_CHECKING:
    from storescope.backends.base import Backend
    from storescope.backends.types import Node, Page

PROG = "storescope"
COMMANDS = ("demo", "ls", "browse", "query", "snapshot")
#: Records per page of ``browse --all`` when no --limit is given: big enough
#: that per-page round-trips do not dominate, small enough to stay flat.
ALL_PAGE_SIZE = 5000
#: Rows per page of ``query``'s streamed results.
QUERY_PAGE_SIZE = 1000
#: Output a page of a whole result (csv, json, jsonl) aims at: its pages start
#: at one row and grow to ``QUERY_PAGE_SIZE`` while their rows stay small, so
#: a result of 6 MB texts is not fetched 1,000 at a time.
QUERY_PAGE_CHARS = 16 * 1024 * 1024
DEMO_ORDER = ("postgres", "mongo", "redis", "s3")
#: Seconds to wait for a server in ls/browse: a script learns that a host is
#: down within 5 s of starting the command, interpreter start-up included.
CONNECT_TIMEOUT = 3.0
#: Largest ``browse --limit``: one page is held in memory whole.
MAX_PAGE_LIMIT = 1_000_000
#: Largest ``query --limit``: rows are streamed, so only a sanity bound.
MAX_QUERY_LIMIT = 1_000_000_000

EXIT_OK = 0
EXIT_BACKEND = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """Bad usage found after argument parsing (exit status 2)."""


# -- output --------------------------------------------------------------------


class Output:
    """stdout as UTF-8 bytes, written in big chunks.

    A name with bytes that are not UTF-8 (a Redis key, say) reaches us holding
    lone surrogates (``surrogateescape``). In JSON they are written as
    ``\\udcff`` escapes, valid JSON that reads back as the same name; in text
    (tab-separated, csv) as the original raw bytes, so ``cut -f1 | xargs``
    finds the same key again.
    """

    def __init__(self, *, json: bool = False) -> None:
        sys.stdout.flush()
        self._buffer = getattr(sys.stdout, "buffer", None)
        self._errors = "backslashreplace" if json else "surrogateescape"
        self.written = 0  # characters written so far (sizes query pages)

    def write(self, text: str) -> None:
        self.written += len(text)
        if self._buffer is None:
            sys.stdout.write(text)
            return
        try:
            data = text.encode("utf-8", self._errors)
        except UnicodeEncodeError:  # a surrogate that is no escaped byte
            data = text.encode("utf-8", "backslashreplace")
        self._buffer.write(data)

    def flush(self) -> None:
        if self._buffer is not None:
            self._buffer.flush()
        else:
            sys.stdout.flush()


def _say(message: str) -> None:
    """One line on stderr, for people (progress, the next cursor), through the
    one sanitizer (``tui.sanitize``): it may quote the server (a notice, an
    error naming a table), and stderr is usually the terminal."""
    from storescope.tui.sanitize import sanitize

    sys.stderr.write(sanitize(message) + "\n")
    sys.stderr.flush()


# -- argument parsing ----------------------------------------------------------------


def _shown(text: str, width: int = 40) -> str:
    """An argument quoted for an error message, cut to ``width``."""
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def _bounded_int(maximum: int) -> Any:
    """An argparse type: a whole number from 1 to ``maximum``, and the
    message saying that range otherwise (huge numbers included: they would
    reach the server as an out-of-range error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not a whole number: {_shown(text)} (1 to {maximum:,})"
            ) from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"out of range: {_shown(text)} (a whole number from 1 to {maximum:,})"
            )
        return value

    return parse


def _utf8(parser: argparse.ArgumentParser, what: str, text: str) -> None:
    """Exit with status 2 when ``text`` (an argument, which Python hands over
    with each byte that is not UTF-8 as a lone surrogate) is not valid UTF-8."""
    for i, ch in enumerate(text):
        if "\ud800" <= ch <= "\udfff":
            byte = f"byte 0x{ord(ch) - 0xDC00:02x}" if ch >= "\udc80" else "a lone surrogate"
            parser.error(f"{what} is not valid UTF-8 ({byte} at character {i + 1})")


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT like 120x40, got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (20 <= width <= 1000 and 5 <= height <= 500):
        raise argparse.ArgumentTypeError(f"size out of range (20..1000 x 5..500): {text}")
    return width, height


def _read_only_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="refuse every write (enforced by the backend)",
    )


#: Said once on stderr when the table format showed less than a value.
PREVIEW_NOTE = "note: values cut to previews; --format csv/json/jsonl writes them whole"


def _preview_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preview",
        action="store_true",
        help="write big values cut to previews, marked with their true size (for people); "
        "without it csv, json and jsonl write every value whole",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds: {text}")
    return value


def _connect_timeout_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=CONNECT_TIMEOUT,
        metavar="S",
        help=f"give up connecting after S seconds (default {CONNECT_TIMEOUT:g})",
    )


def _parser(command: str) -> argparse.ArgumentParser:
    """The parser of one command (``open`` is the TUI)."""
    if command == "open":
        p = argparse.ArgumentParser(
            prog=PROG,
            usage=f"{PROG} [URL | --profile NAME]... [--read-only]\n"
            f"       {PROG} {{demo,ls,browse,query,snapshot}} ... (see {PROG} COMMAND --help)",
            description="Open the storescope TUI, one tab per connection.",
            epilog="URL schemes: "
            + ", ".join(f"{s}://" for s in SCHEMES)
            + f". Try '{PROG} demo' for local servers with sample data.",
        )
        p.add_argument("urls", nargs="*", metavar="URL", help="a connection URL")
        p.add_argument(
            "--profile",
            action="append",
            default=[],
            metavar="NAME",
            help="a saved connection from the config file (repeatable)",
        )
        _read_only_flag(p)
        return p
    if command == "demo":
        p = argparse.ArgumentParser(
            prog=f"{PROG} demo",
            description="Start local PostgreSQL, MongoDB (SecantusDB), Redis and S3 (moto) "
            "servers with sample data, open the TUI on them, and stop them on exit.",
            epilog="With --out, run the TUI headless on the demo instead, press --keys and "
            "save the screen (.svg or .txt), as `storescope snapshot` does: this is how "
            "README's screenshot is made.",
        )
        p.add_argument("--out", metavar="FILE", help="save a snapshot instead of opening the TUI")
        p.add_argument("--keys", default="", help="with --out: keys to press, space-separated")
        p.add_argument(
            "--size", type=_size, default=(120, 40), metavar="WxH", help="with --out: terminal size"
        )
        _read_only_flag(p)
        return p
    if command == "ls":
        p = argparse.ArgumentParser(
            prog=f"{PROG} ls",
            usage=f"{PROG} ls (URL | --profile NAME) [PATH] "
            "[--json | --format table|tsv|json|jsonl] [--read-only]",
            description="List the children of PATH (the top level when omitted).",
        )
        p.add_argument("targets", nargs="*", metavar="URL [PATH]", help=argparse.SUPPRESS)
        p.add_argument("--profile", metavar="NAME", help="a saved connection instead of a URL")
        p.add_argument(
            "--format",
            choices=LS_FORMATS,
            help="table: aligned, for people (default on a terminal); tsv: tab-separated "
            "PATH KIND ESTIMATE DETAIL (default otherwise); json: one array of objects "
            '{"path", "name", "kind", "estimate", "detail"}; jsonl: one such object per line',
        )
        p.add_argument("--json", action="store_true", help="the same as --format json")
        _connect_timeout_flag(p)
        _read_only_flag(p)
        return p
    if command == "browse":
        p = argparse.ArgumentParser(
            prog=f"{PROG} browse",
            usage=f"{PROG} browse (URL | --profile NAME) PATH [--limit N] [--cursor C | --all]\n"
            f"{' ' * 18}[--format table|json|jsonl|csv] [--read-only]",
            description="Print one page of records of PATH (a table, collection, key "
            "namespace or bucket prefix).",
            epilog="Unless --format json, the cursor of the next page is printed on stderr "
            "as 'next cursor: C' (nothing after the last page); pass it to --cursor. "
            "Exact numbers: numeric is written with its own digits; bytes as \\x hex; "
            "intervals as ISO-8601 durations.",
        )
        p.add_argument("targets", nargs="*", metavar="URL PATH", help=argparse.SUPPRESS)
        p.add_argument("--profile", metavar="NAME", help="a saved connection instead of a URL")
        p.add_argument(
            "--limit",
            type=_bounded_int(MAX_PAGE_LIMIT),
            metavar="N",
            help=f"records per page, 1 to {MAX_PAGE_LIMIT:,} (default: the store's page size; "
            f"{ALL_PAGE_SIZE} with --all)",
        )
        which = p.add_mutually_exclusive_group()
        which.add_argument(
            "--cursor", metavar="C", help="continue from a previous page's next cursor"
        )
        which.add_argument("--all", action="store_true", help="stream every page")
        p.add_argument(
            "--format",
            choices=("table", "json", "jsonl", "csv"),
            default="table",
            help="table: aligned, for people (default); json: one object "
            '{"columns", "rows", "next_cursor"}; jsonl: one record per line '
            "(MongoDB as relaxed Extended JSON); csv: a header, then rows",
        )
        _preview_flag(p)
        _connect_timeout_flag(p)
        _read_only_flag(p)
        return p
    if command == "query":
        p = argparse.ArgumentParser(
            prog=f"{PROG} query",
            usage=f"{PROG} query (URL | --profile NAME) TEXT [--limit N]\n"
            f"{' ' * 17}[--format table|json|jsonl|csv] [--read-only]",
            description="Run the statements of TEXT in order and print the rows they "
            "return. TEXT '-' reads standard input.",
            epilog="Rows stream page by page, whatever their number. Command tags and "
            "notices go to stderr; the first failing statement stops the run (exit 1).",
        )
        p.add_argument("targets", nargs="*", metavar="URL TEXT", help=argparse.SUPPRESS)
        p.add_argument("--profile", metavar="NAME", help="a saved connection instead of a URL")
        p.add_argument(
            "--limit",
            type=_bounded_int(MAX_QUERY_LIMIT),
            metavar="N",
            help="print at most N rows of each statement (default: all, streamed)",
        )
        p.add_argument(
            "--format",
            choices=("table", "json", "jsonl", "csv"),
            default="table",
            help="table: aligned, for people (default); json: one document "
            '{"columns", "rows", "status"} per statement; jsonl: one row per line; '
            "csv: a header, then rows",
        )
        _preview_flag(p)
        _connect_timeout_flag(p)
        _read_only_flag(p)
        return p
    if command == "snapshot":
        p = argparse.ArgumentParser(
            prog=f"{PROG} snapshot",
            usage=f"{PROG} snapshot [URL | --profile NAME]... --out FILE.svg|FILE.txt "
            '[--keys "k1 k2 ..."] [--size WxH] [--read-only]',
            description="Run the TUI headless, press the keys, and save the screen "
            "(SVG for .svg, plain text for .txt).",
        )
        p.add_argument("urls", nargs="*", metavar="URL")
        p.add_argument("--profile", action="append", default=[], metavar="NAME")
        p.add_argument(
            "--keys", default="", help="keys to press, space-separated (Textual key names)"
        )
        p.add_argument(
            "--size",
            type=_size,
            default=(120, 40),
            metavar="WxH",
            help="terminal size (default 120x40)",
        )
        p.add_argument("--out", required=True, metavar="FILE")
        _read_only_flag(p)
        return p
    raise AssertionError(command)


_TOP_HELP = f"""\
usage: {PROG} [URL | --profile NAME]... [--read-only]
       {PROG} COMMAND [ARGS]

Explore PostgreSQL, MongoDB, Redis and S3 from one terminal UI.

commands:
  (none)      open the TUI on the given URLs / profiles, one tab each
  demo        start local servers with sample data and open the TUI on them
  ls          list a level of the catalog (databases, tables, keys, objects...)
  browse      print one page (or --all pages) of records
  query       run statements (SQL...) and print their rows
  snapshot    run the TUI headless, press keys, save the screen as SVG or text

options:
  --read-only     refuse every write (accepted by every command)
  --profile NAME  a saved connection (~/.config/storescope/config.toml)
  -h, --help      this help; '{PROG} COMMAND --help' for a command's options
  --version       the version, with Python's and the drivers'

URL schemes: {", ".join(f"{s}://" for s in SCHEMES)}
Exit status: 0 ok, 1 backend error, 2 bad usage, 130 interrupted.
"""


#: The libraries a bug report needs, by distribution name (psycopg2 is either
#: of two distributions). Their versions come from the installed metadata, so
#: ``--version`` imports none of them.
VERSION_PACKAGES = (
    ("textual", ("textual",)),
    ("psycopg2", ("psycopg2-binary", "psycopg2")),
    ("pymongo", ("pymongo",)),
    ("redis", ("redis",)),
    ("botocore", ("botocore",)),
)


def version_report() -> str:
    """``storescope --version``: storescope's version, then Python's and each
    library's on a line of its own, or ``not installed``."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import storescope

    lines = [
        f"{PROG} {storescope.__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()}, {sys.platform})",
    ]
    for name, distributions in VERSION_PACKAGES:
        found = "not installed"
        for dist in distributions:
            try:
                found = version(dist)
                break
            except PackageNotFoundError:
                continue
        lines.append(f"{name} {found}")
    return "\n".join(lines) + "\n"


def _split_command(argv: list[str]) -> tuple[str | None, list[str], bool]:
    """(command, its arguments, global --read-only). The TUI is the implicit
    command ``open``: ``storescope URL`` needs no verb."""
    read_only = False
    i = 0
    while i < len(argv) and argv[i] == "--read-only":
        read_only = True
        i += 1
    rest = argv[i:]
    if not rest:
        return None, [], read_only
    if rest[0] in COMMANDS:
        return rest[0], rest[1:], read_only
    if rest[0] in ("-h", "--help", "--version"):
        return rest[0], rest[1:], read_only
    return "open", rest, read_only


def _ordered_targets(argv: Sequence[str], urls: Sequence[str]) -> list[tuple[str, str]]:
    """URLs and ``--profile`` names in command-line order (one tab each, in
    the order given); argparse keeps the two in separate lists."""
    out: list[tuple[str, str]] = []
    pending = list(urls)
    tokens = iter(argv)
    for token in tokens:
        if token == "--profile":
            out.append(("profile", next(tokens, "")))
        elif token.startswith("--profile="):
            out.append(("profile", token.partition("=")[2]))
        elif pending and token == pending[0]:
            out.append(("url", pending.pop(0)))
    out.extend(("url", u) for u in pending)
    return out


# -- connections -------------------------------------------------------------------


def _connection(kind: str, value: str, read_only: bool) -> Connection:
    """The connection a URL or profile names, its URL checked (``InvalidURL``,
    exit status 2) before anything is started or imported, and its scheme in
    lower case."""
    connection: Connection
    if kind == "profile":
        conn = _config.resolve_profile(value)
        url = check_url(conn.url)
        connection = _config.Connection(url, conn.read_only or read_only, conn.secrets)
    else:
        url = check_url(value)
        connection = _config.Connection(url, read_only, _config.url_secrets(value))
    return connection


def _binary_names(url: str) -> bool:
    """Whether the store's names are bytes (Redis keys), so a PATH or TEXT
    holding bytes that are not UTF-8 is meant; for every other store such an
    argument names nothing and is refused as bad usage."""
    return bool(getattr(backend_class(url), "binary_names", False))


@contextlib.contextmanager
def _opened(conn: Connection, connect_timeout: float) -> Iterator[Backend]:
    backend = open_backend(conn.url, read_only=conn.read_only, connect_timeout=connect_timeout)
    try:
        backend.connect()
        yield backend
    finally:
        backend.close()


# -- ls ----------------------------------------------------------------------------


def _one_target(
    args: argparse.Namespace, parser: argparse.ArgumentParser, *, need_path: bool
) -> tuple[str, str, str | None]:
    """(kind, url-or-profile, PATH text) from ``URL [PATH]`` or ``--profile NAME [PATH]``."""
    targets: list[str] = args.targets
    if args.profile is not None:
        kind, value, rest = "profile", args.profile, targets
    elif targets:
        kind, value, rest = "url", targets[0], targets[1:]
    else:
        parser.error("a URL or --profile NAME is required")
    if len(rest) > 1:
        parser.error(f"unexpected argument(s): {' '.join(map(_shown, rest[1:]))}")
    path = rest[0] if rest else None
    if kind == "profile" and path is not None and "://" in path:
        parser.error("give a URL or --profile NAME, not both")
    if need_path and path is None:
        parser.error("PATH is required (see 'storescope ls URL')")
    return kind, value, path


#: ``ls --format`` choices; without one, ``table`` on a terminal, ``tsv`` otherwise.
LS_FORMATS = ("table", "tsv", "json", "jsonl")


def _ls_format(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The one format ``ls`` writes: ``--json`` is ``--format json``, so any
    other ``--format`` beside it is bad usage (exit 2)."""
    fmt: str | None = args.format
    if args.json:
        if fmt not in (None, "json"):
            parser.error(f"--json is --format json; give one of them, not --format {fmt}")
        return "json"
    if fmt is None:
        return "table" if sys.stdout.isatty() else "tsv"
    return fmt


def _estimate_text(estimate: int | None) -> str:
    return "-" if estimate is None else str(estimate)


def cmd_ls(
    args: argparse.Namespace, parser: argparse.ArgumentParser, read_only: bool, secrets: list[str]
) -> int:
    fmt = _ls_format(args, parser)
    kind, value, path_text = _one_target(args, parser, need_path=False)
    conn = _connection(kind, value, read_only or args.read_only)
    secrets.extend(conn.secrets)
    if not _binary_names(conn.url):
        _utf8(parser, "PATH", path_text or "")
    path = decode_path(path_text or "")
    with _opened(conn, args.connect_timeout) as backend:
        nodes = backend.list_children(path)
    out = Output(json=fmt in ("json", "jsonl"))
    if fmt == "jsonl":
        for n in nodes:
            out.write(_node_json(n) + "\n")
    elif fmt == "json":
        # One array (json.load reads it), written node by node, an object per line.
        for i, n in enumerate(nodes):
            out.write(("," if i else "[") + "\n" + _node_json(n))
        out.write("\n]\n" if nodes else "[]\n")
    elif fmt == "table":
        rows = [
            [
                formats.escape_controls(encode_path(n.path)),
                str(n.kind),
                _estimate_text(n.estimate),
                formats.escape_controls(n.detail),
            ]
            for n in nodes
        ]
        lines, _ = formats.aligned_lines(
            ["PATH", "KIND", "ESTIMATE", "DETAIL"], rows, right=[False, False, True, False]
        )
        out.write("".join(line + "\n" for line in lines))
    else:
        out.write(
            "".join(
                "\t".join(
                    [
                        formats.tsv_field(encode_path(n.path)),
                        str(n.kind),
                        _estimate_text(n.estimate),
                        formats.tsv_field(n.detail),
                    ]
                ).rstrip("\t")
                + "\n"
                for n in nodes
            )
        )
    out.flush()
    return EXIT_OK


def _node_json(node: Node) -> str:
    return formats.dumps(
        {
            "path": encode_path(node.path),
            "name": node.name,
            "kind": str(node.kind),
            "estimate": node.estimate,
            "detail": node.detail,
        }
    )


# -- browse --------------------------------------------------------------------------


class PageWriter:
    """Writes pages in one format, streaming: nothing is kept between pages
    except the first page's columns (and, for tables, its widths).

    ``whole`` (csv, json and jsonl unless ``preview``) is what to ask the
    backend for; a ``Truncated`` cell in such a page stops the command
    (``ValueNotWhole``) before that page is written. ``where`` names what is
    written in that message (the PATH, the statement); ``said`` holds the
    notes already given on stderr, shared by the writers of one command."""

    def __init__(
        self,
        out: Output,
        fmt: str,
        *,
        documents: bool,
        streaming: bool,
        preview: bool = False,
        where: str = "",
        said: set[str] | None = None,
    ) -> None:
        self.out = out
        self.fmt = fmt
        self.documents = documents
        self.streaming = streaming
        self.whole = fmt != "table" and not preview
        self.where = where
        self._said = said if said is not None else set()
        self.count = 0
        self._columns: tuple[str, ...] | None = None
        self._encoders: dict[tuple[str, ...], Any] = {}
        self._widths: list[int] | None = None
        self._right: list[bool] = []
        self._dropped: set[str] = set()

    def _encoder(self, columns: tuple[str, ...]) -> Any:
        enc = self._encoders.get(columns)
        if enc is None:
            # Document pages each have their own column set; keep a few.
            if len(self._encoders) > 64:
                self._encoders.clear()
            enc = self._encoders[columns] = formats.record_encoder(
                columns, documents=self.documents, whole=self.whole
            )
        return enc

    def _aligned(
        self, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> Iterator[Sequence[Any]]:
        """Rows re-ordered to the first page's columns (documents vary)."""
        assert self._columns is not None
        if columns == self._columns:
            yield from rows
            return
        index = {name: i for i, name in enumerate(columns)}
        new = [c for c in columns if c not in self._columns and c not in self._dropped]
        if new:
            self._dropped.update(new)
            _say(
                f"note: field(s) not in the first page's columns are left out of {self.fmt}: "
                + ", ".join(new)
                + " (use --format jsonl to keep every field)"
            )
        from storescope.backends.types import MISSING

        picks = [index.get(c) for c in self._columns]
        for row in rows:
            yield [MISSING if i is None else row[i] for i in picks]

    def page(self, page: Page) -> None:
        try:
            self._page(page)
        except formats.CutValue as e:
            raise self._not_whole(page, e.value) from None

    def _not_whole(self, page: Page, cut: Any) -> BackendError:
        """The error naming the record and field whose value came cut."""
        names = [c.name for c in page.columns]
        for n, row in enumerate(page.rows):
            for i, value in enumerate(row):
                if value is not cut:
                    continue
                key = [
                    f"{c.name}={formats.plain_text(row[j], documents=self.documents)}"
                    for j, c in enumerate(page.columns)
                    if c.primary_key
                ]
                record = ", ".join(key) if key else f"number {self.count + n + 1}"
                what = f"field {names[i]!r} of the record {record}"
                break
            else:
                continue
            break
        else:
            what = "a value"
        where = f"{self.where}: " if self.where else ""
        message = formats.escape_controls(
            f"{where}{what} came only as a preview ({cut.total_size} {cut.unit}) and was "
            f"not written; --preview writes previews, marked with their true size"
        )
        return BackendError(message, title="Value not whole")

    def _page(self, page: Page) -> None:
        columns = tuple(c.name for c in page.columns)
        first = self._columns is None
        if first:
            self._columns = columns
        rows = page.rows
        if self.fmt == "jsonl":
            if rows:
                enc = self._encoder(columns)
                self.out.write("\n".join([enc(r) for r in rows]) + "\n")
        elif self.fmt == "json":
            if first:
                self.out.write('{"columns":' + formats.dumps(list(columns)) + ',"rows":[')
            if rows:
                enc = self._encoder(columns)
                self.out.write(("," if self.count else "") + ",".join([enc(r) for r in rows]))
        elif self.fmt == "csv":
            if first:
                self.out.write(formats.csv_row(columns))
            docs, whole = self.documents, self.whole
            self.out.write(
                "".join(
                    [
                        formats.csv_row(r, documents=docs, whole=whole)
                        for r in self._aligned(columns, rows)
                    ]
                )
            )
        else:
            self._table(columns, rows, first)
        self.count += len(rows)
        self.out.flush()

    def _table(self, columns: tuple[str, ...], rows: Sequence[Sequence[Any]], first: bool) -> None:
        docs = self.documents
        aligned = list(self._aligned(columns, rows))
        shown = [[formats.table_cell_cut(v, documents=docs) for v in r] for r in aligned]
        cells = [[cell for cell, _ in r] for r in shown]
        if PREVIEW_NOTE not in self._said and any(cut for r in shown for _, cut in r):
            self._said.add(PREVIEW_NOTE)
            _say(PREVIEW_NOTE)
        header = [
            formats.fit(formats.escape_controls(c), formats.MAX_CELL) for c in (self._columns or ())
        ]
        if first:
            self._right = [
                any(formats.is_numeric(r[i]) for r in aligned)
                and all(formats.is_numeric(r[i]) or r[i] is None for r in aligned)
                for i in range(len(header))
            ]
            lines, self._widths = formats.aligned_lines(header, cells, right=self._right)
        else:
            lines, _ = formats.aligned_lines(None, cells, right=self._right, widths=self._widths)
        if lines:
            self.out.write("".join(line + "\n" for line in lines))

    def finish(self, next_cursor: str | None) -> None:
        if self.fmt == "json":
            if self._columns is None:
                self.out.write('{"columns":[],"rows":[')
            self.out.write('],"next_cursor":' + formats.dumps(next_cursor) + "}\n")
        elif self.fmt == "table":
            self.out.write(f"({self.count} row{'' if self.count == 1 else 's'})\n")
        self.out.flush()
        if next_cursor is not None and self.fmt != "json":
            _say(f"next cursor: {next_cursor}")


def cmd_browse(
    args: argparse.Namespace, parser: argparse.ArgumentParser, read_only: bool, secrets: list[str]
) -> int:
    kind, value, path_text = _one_target(args, parser, need_path=True)
    assert path_text is not None
    conn = _connection(kind, value, read_only or args.read_only)
    secrets.extend(conn.secrets)
    if not _binary_names(conn.url):
        _utf8(parser, "PATH", path_text)
    path = decode_path(path_text)
    cls = backend_class(conn.url)
    limit = args.limit or (
        ALL_PAGE_SIZE if args.all else getattr(cls, "default_page_size", 100) or 100
    )
    documents = cls.record_style is RecordStyle.DOCUMENTS
    out = Output(json=args.format in ("json", "jsonl"))
    writer = PageWriter(
        out,
        args.format,
        documents=documents,
        streaming=args.all,
        preview=args.preview,
        where=path_text,
    )
    with _opened(conn, args.connect_timeout) as backend:
        if args.all:
            for page in backend.iter_pages(path, limit=limit, whole=writer.whole):
                writer.page(page)
            writer.finish(None)
        else:
            page = backend.browse(path, cursor=args.cursor, limit=limit, whole=writer.whole)
            writer.page(page)
            writer.finish(page.next_cursor)
    return EXIT_OK


# -- query ---------------------------------------------------------------------------


class QueryWriter(PageWriter):
    """A statement's rows in one format; ``json`` ends with its command tag."""

    def finish_result(self, status: str) -> None:
        if self.fmt == "json":
            if self._columns is None:
                self.out.write('{"columns":[],"rows":[')
            self.out.write('],"status":' + formats.dumps(status) + "}\n")
            self.out.flush()
        else:
            self.finish(None)


def _query_target(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[str, str, str]:
    """(kind, url-or-profile, TEXT) from ``URL TEXT`` or ``--profile NAME TEXT``."""
    targets: list[str] = args.targets
    if args.profile is not None:
        kind, value, rest = "profile", args.profile, targets
    elif targets:
        kind, value, rest = "url", targets[0], targets[1:]
    else:
        parser.error("a URL or --profile NAME is required")
    if not rest:
        parser.error("TEXT is required: the statements to run ('-' reads standard input)")
    if len(rest) > 1:
        parser.error(
            f"unexpected argument(s): {' '.join(map(_shown, rest[1:]))} "
            "(quote TEXT as one argument)"
        )
    # Standard input as bytes: a byte that is not UTF-8 becomes a lone
    # surrogate, as in an argument, and is refused the same way.
    text = _read_stdin() if rest[0] == "-" else rest[0]
    return kind, value, text


def _read_stdin() -> str:
    stdin = getattr(sys.stdin, "buffer", None)
    if stdin is None:  # replaced by a text-only stream (tests)
        return sys.stdin.read()
    data: bytes = stdin.read()
    return data.decode("utf-8", "surrogateescape")


def _where(text: str, at: int) -> str:
    """``at character N (LINE L: ...)`` for a 0-based offset into TEXT, as
    psql points at an error (one line: the line's text around the spot)."""
    line = text.count("\n", 0, at) + 1
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    source = text[start : end if end >= 0 else len(text)]
    column = at - start
    if len(source) > 80:  # keep the spot in view
        cut = max(0, column - 40)
        source = ("…" if cut else "") + source[cut : cut + 80] + "…"
    return f"at character {at + 1} (LINE {line}: {formats.escape_controls(source.strip())})"


def _run_statements(
    backend: Backend, text: str, args: argparse.Namespace, out: Output, documents: bool
) -> None:
    from storescope.backends.errors import QueryFailed
    from storescope.backends.types import Page

    statements = backend.split(text)
    if not statements:
        raise UsageError("TEXT holds no statement")
    limit: int | None = args.limit
    printed = False
    whole = args.format != "table" and not args.preview
    said: set[str] = set()
    for number, stmt in enumerate(statements, 1):
        size = 1 if whole else QUERY_PAGE_SIZE
        first = min(size, limit) if limit else size
        try:
            result = backend.execute(stmt.text, limit=first, whole=whole)
        except QueryFailed as e:
            if e.position is None:
                raise
            where = _where(text, stmt.start + e.position)
            raise QueryFailed(f"{e.message} {where}", e.title, position=e.position) from e
        for notice in result.notices:
            _say(notice)
        if not result.columns:
            _say(result.status or "(empty statement)")
            continue
        if printed and args.format in ("table", "csv"):
            out.write("\n")
        printed = True
        writer = QueryWriter(
            out,
            args.format,
            documents=documents,
            streaming=True,
            preview=args.preview,
            where=f"statement {number}",
            said=said,
        )
        written = out.written
        writer.page(Page(result.columns, result.rows, result.next_cursor))
        if whole:
            size = _next_page_size(size, out.written - written, len(result.rows))
        cursor = result.next_cursor
        while cursor is not None and (limit is None or writer.count < limit):
            want = size if limit is None else min(size, limit - writer.count)
            written = out.written
            page = backend.fetch(cursor, limit=want)
            writer.page(page)
            if whole:
                size = _next_page_size(size, out.written - written, len(page.rows))
            cursor = page.next_cursor
        # A streamed result's tag is "SELECT" until its end is seen: count here.
        status = result.status or "SELECT"
        if cursor is not None:
            if result.handle is not None:
                backend.release(result.handle)  # ends the server's read at once
            if status == "SELECT":
                status = f"SELECT {writer.count}"
            status += f" (stopped at --limit {limit}; the rest was not fetched)"
        elif status == "SELECT":
            status = f"SELECT {writer.count}"
        writer.finish_result(status)
        _say(status)


def _next_page_size(size: int, chars: int, rows: int) -> int:
    """The next page size of a whole result: twice the last, at most
    ``QUERY_PAGE_SIZE``, and no more rows than ``QUERY_PAGE_CHARS`` of
    output hold at the last page's size per row (at least one)."""
    per_row = max(1, chars // max(1, rows))
    return max(1, min(QUERY_PAGE_SIZE, size * 2, QUERY_PAGE_CHARS // per_row))


def cmd_query(
    args: argparse.Namespace, parser: argparse.ArgumentParser, read_only: bool, secrets: list[str]
) -> int:
    kind, value, text = _query_target(args, parser)
    conn = _connection(kind, value, read_only or args.read_only)
    secrets.extend(conn.secrets)
    if not _binary_names(conn.url):
        _utf8(parser, "TEXT", text)
    cls = backend_class(conn.url)
    documents = cls.record_style is RecordStyle.DOCUMENTS
    out = Output(json=args.format in ("json", "jsonl"))
    with _opened(conn, args.connect_timeout) as backend:
        try:
            _interruptible(backend, lambda: _run_statements(backend, text, args, out, documents))
        except UsageError as e:
            parser.print_usage(sys.stderr)
            _say(f"{PROG} query: error: {e}")
            return EXIT_USAGE
    return EXIT_OK


def _interruptible(backend: Backend, work: Any) -> None:
    """Run ``work`` in a thread so Ctrl+C can cancel the statement on the
    server: a blocking driver call would otherwise only see the interrupt
    when the statement ends by itself."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as e:  # handed to the main thread, re-raised there
            failure.append(e)

    worker = threading.Thread(target=run, name="storescope-query", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        from storescope.backends.base import Capability

        if Capability.CANCEL in backend.capabilities:
            try:
                backend.cancel()
            except BackendError as e:  # leaving anyway (exit status 130): just say so
                _say(f"{PROG}: {e}")
        worker.join(5)
        raise
    if failure:
        raise failure[0]


# -- TUI, demo, snapshot (these import Textual, lazily) ---------------------------------


def _connections(
    argv: Sequence[str], args: argparse.Namespace, read_only: bool, secrets: list[str]
) -> list[Connection]:
    conns = []
    for kind, value in _ordered_targets(argv, args.urls):
        conn = _connection(kind, value, read_only)
        secrets.extend(conn.secrets)
        conns.append(conn)
    return conns


def _app_read_only(conns: Sequence[Connection], read_only: bool) -> bool:
    # The app takes one read-only flag for all its tabs: when any connection
    # asks for read-only (a production profile), every tab gets it. Safety wins.
    return read_only or any(c.read_only for c in conns)


def cmd_open(
    argv: Sequence[str], args: argparse.Namespace, read_only: bool, secrets: list[str]
) -> int:
    read_only = read_only or args.read_only
    conns = _connections(argv, args, read_only, secrets)
    if not conns:
        _parser("open").print_usage(sys.stderr)
        _say(f"{PROG}: error: give a URL or --profile NAME, or try '{PROG} demo'")
        return EXIT_USAGE
    return _run_app([c.url for c in conns], _app_read_only(conns, read_only))


def _run_app(urls: list[str], read_only: bool) -> int:
    from storescope.tui.app import StorescopeApp

    app = StorescopeApp(urls, read_only=read_only)
    app.run()
    code = getattr(app, "return_code", None)
    return int(code or 0)


class _Progress:
    """``seeding… (N s)`` on stderr, ticking each second on a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.start = time.monotonic()
        self._done = threading.Event()
        self._tty = sys.stderr.isatty()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Progress:
        if self._tty:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        else:
            _say(f"{self.label}…")
        return self

    def _tick(self) -> None:
        while True:
            sys.stderr.write(f"\r{self.label}… ({time.monotonic() - self.start:.0f} s)")
            sys.stderr.flush()
            if self._done.wait(1.0):
                return

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        elapsed = time.monotonic() - self.start
        end = "\r" if self._tty else ""
        if exc[0] is None:
            sys.stderr.write(f"{end}{self.label}… done ({elapsed:.1f} s)\n")
        elif self._tty:
            sys.stderr.write("\n")
        sys.stderr.flush()


#: What ``storescope demo`` needs beyond the core install: the [demo] extra's
#: servers (SecantusDB and moto run in-process from their packages).
DEMO_MODULES = ("secantus", "moto", "flask", "flask_cors")


def cmd_demo(args: argparse.Namespace, read_only: bool) -> int:
    import importlib.util

    missing = [m for m in DEMO_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        _say(
            f"{PROG}: the demo needs the [demo] extra ({', '.join(missing)} missing): "
            f"pip install 'storescope[demo]'"
        )
        return EXIT_BACKEND

    from storescope import demo
    from storescope.backends import sandbox

    try:
        try:
            with _Progress("starting servers"):
                servers = sandbox.start()
        except sandbox.SandboxError as e:
            _say(f"{PROG}: could not start the demo servers: {' '.join(str(e).split())}")
            return EXIT_BACKEND
        with _Progress("seeding"):
            urls = demo.seed_all(servers)
        ordered = [urls[k] for k in DEMO_ORDER if k in urls]
        ordered += [u for k, u in urls.items() if k not in DEMO_ORDER]
        if args.out:
            return _save_snapshot(
                ordered, args.out, args.keys, args.size, read_only or args.read_only
            )
        return _run_app(ordered, read_only or args.read_only)
    finally:
        sandbox.stop_all()


def cmd_snapshot(
    argv: Sequence[str],
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    read_only: bool,
    secrets: list[str],
) -> int:
    out_path: str = args.out
    if os.path.splitext(out_path)[1].lower() not in (".svg", ".txt"):
        parser.error(f"--out must end in .svg or .txt: {out_path}")
    _check_keys(parser, args.keys)
    read_only = read_only or args.read_only
    conns = _connections(argv, args, read_only, secrets)
    if not conns:
        parser.error("give at least one URL or --profile NAME")
    return _save_snapshot(
        [c.url for c in conns], out_path, args.keys, args.size, _app_read_only(conns, read_only)
    )


def _check_keys(parser: argparse.ArgumentParser, keys: str) -> None:
    """Exit with status 2 on a --keys name that is no key (it would press
    nothing, silently), before any server is reached."""
    _utf8(parser, "--keys", keys)
    from storescope.tui.snapshot import unknown_keys

    unknown = unknown_keys(keys.split())
    if unknown:
        parser.error(
            f"unknown key name{'s' if len(unknown) > 1 else ''} in --keys: "
            + ", ".join(_shown(k, 30) for k in unknown)
            + " (Textual key names: a, enter, escape, tab, up, pagedown, f1..f24, ctrl+r, "
            "question_mark...; 'wait' settles, 'wait:MS' pauses)"
        )


def _save_snapshot(
    urls: list[str], out_path: str, keys: str, size: tuple[int, int], read_only: bool
) -> int:
    suffix = os.path.splitext(out_path)[1].lower()
    if suffix not in (".svg", ".txt"):
        _say(f"{PROG}: --out must end in .svg or .txt: {out_path}")
        return EXIT_USAGE
    # Fail before the (seconds-long) headless run, not after it.
    folder = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise OSError(
            errno.ENOENT if not os.path.isdir(folder) else errno.EACCES,
            "cannot write the snapshot",
            out_path,
        )
    from storescope.tui.snapshot import take_snapshot

    shot = take_snapshot(urls, keys=keys.split(), size=size, read_only=read_only)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(shot.svg if suffix == ".svg" else shot.text)
    if shot.failed:
        # The picture of the error is written; the run still failed.
        what = shot.errors[0] if shot.errors else f"Connection failed: {', '.join(shot.failed)}"
        _say(f"{PROG}: {' '.join(what.split())} (the snapshot {out_path} shows it)")
        return EXIT_BACKEND
    return EXIT_OK


# -- main ----------------------------------------------------------------------------


def _fail(message: str, code: int, secrets: Sequence[str]) -> int:
    with contextlib.suppress(BrokenPipeError, OSError):
        sys.stdout.flush()
    _say(f"{PROG}: " + " ".join(scrub(message, secrets).split()))
    return code


def _quiet_broken_pipe() -> int:
    # stdout's reader went away (``| head``): point stdout at /dev/null so the
    # interpreter's final flush does not print a second error, and leave.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def _dispatch(argv: list[str], secrets: list[str]) -> int:
    command, rest, read_only = _split_command(argv)
    if command is None:
        sys.stderr.write(_TOP_HELP.split("\n\n")[0] + "\n")
        _say(
            f"{PROG}: error: give a URL or --profile NAME, or try '{PROG} demo' ('{PROG} --help' for more)"
        )
        return EXIT_USAGE
    if command in ("-h", "--help"):
        sys.stdout.write(_TOP_HELP)
        return EXIT_OK
    if command == "--version":
        sys.stdout.write(version_report())
        return EXIT_OK
    if command == "open" and not rest[0].startswith("-") and "://" not in rest[0]:
        # Neither a command nor a URL: most likely a mistyped command.
        word = rest[0] if re.fullmatch(r"[A-Za-z][\w.-]{0,39}", rest[0]) else None
        sys.stderr.write(_TOP_HELP.split("\n\n")[0] + "\n")
        _say(
            f"{PROG}: error: "
            + (f"unknown command '{word}'" if word else "neither a command nor a URL")
            + f": commands are {', '.join(COMMANDS)}; or give a URL ("
            + ", ".join(f"{s}://" for s in SCHEMES)
            + ") or --profile NAME to open the TUI"
        )
        return EXIT_USAGE
    parser = _parser(command)
    args = parser.parse_intermixed_args(rest)
    if command == "open":
        return cmd_open(rest, args, read_only, secrets)
    if command == "demo":
        if args.out:
            _check_keys(parser, args.keys)
        return cmd_demo(args, read_only)
    if command == "ls":
        return cmd_ls(args, parser, read_only, secrets)
    if command == "browse":
        return cmd_browse(args, parser, read_only, secrets)
    if command == "query":
        return cmd_query(args, parser, read_only, secrets)
    return cmd_snapshot(rest, args, parser, read_only, secrets)


def hide_passwords_from_ps(argv: Sequence[str]) -> bool:
    """Rewrite the process title (what ``ps`` and /proc/PID/cmdline show) to
    ``storescope`` and ``argv`` with each URL's password and secret query
    values as ``***``, when any argument holds one; returns whether it did.
    Until this runs, early in start-up, other local users can read them."""
    shown = [redact_url(a) if "://" in a and url_secrets(a) else a for a in argv]
    if shown == list(argv):
        return False
    try:
        import setproctitle
    except ImportError:  # a core dependency; only a broken install lacks it
        return False
    title = " ".join([PROG, *shown])
    # Undecodable bytes (lone surrogates) cannot go through setproctitle's UTF-8.
    setproctitle.setproctitle(title.encode("utf-8", "backslashreplace").decode("utf-8"))
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (also for usage errors, which
    argparse reports by raising SystemExit)."""
    if argv is None:  # this process's own command line, which ps shows
        argv = sys.argv[1:]
        hide_passwords_from_ps(argv)
    argv = list(argv)
    secrets: list[str] = []
    try:
        code = _dispatch(argv, secrets)
        # Flush here, not at interpreter exit, so a closed pipe is caught below.
        sys.stdout.flush()
        return code
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    except InvalidURL as e:  # bad usage, found before anything was sent
        return _fail(f"{e.title}: {e}", EXIT_USAGE, secrets)
    except BackendError as e:
        return _fail(f"{e.title}: {e}", EXIT_BACKEND, secrets)
    except _config.ProfileError as e:
        return _fail(str(e), EXIT_USAGE, secrets)
    except _config.SecretError as e:
        return _fail(f"Password unavailable: {e}", EXIT_BACKEND, secrets)
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            sys.stderr.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except OSError as e:
        # e.g. the --out file cannot be written; not a backend error but just
        # as much a one-line failure for the user.
        return _fail(
            f"{e.strerror or e}: {e.filename}" if e.filename else str(e), EXIT_BACKEND, secrets
        )


if __name__ == "__main__":
    sys.exit(main())
