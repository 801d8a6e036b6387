"""memdocs' command language ("memdocs commands", see the package
docstring): parsing, the script splitter, and the command text of a change."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import (
    QueryFailed,
)
from ..types import (
    MISSING,
    UNSET,
    CreateIndex,
    Delete,
    DropIndex,
    IndexDirection,
    IndexSpec,
    Insert,
    Replace,
    Statement,
    StatementKind,
    Update,
)
from ..types import Command as CommandStep
from .store import (
    _index_of,
    _json,
    _name_token,
)

if TYPE_CHECKING:
    from ..types import Change


# -- the command language ----------------------------------------------------------

_READS = {"find", "count", "sleep"}
_WRITES = {"insert", "update", "replace", "delete"}
_DDL = {"createIndex", "dropIndex"}
_COMMANDS = _READS | _WRITES | _DDL | {"use"}


@dataclass(frozen=True)
class Parsed:
    verb: str
    collection: str = ""
    args: tuple[Any, ...] = ()

    @property
    def kind(self) -> StatementKind:
        if self.verb in _READS:
            return StatementKind.READ
        if self.verb in _WRITES:
            return StatementKind.WRITE
        if self.verb in _DDL:
            return StatementKind.DDL
        return StatementKind.OTHER

    @property
    def filter(self) -> dict[str, Any]:
        f = self.args[0] if self.args else {}
        if not isinstance(f, dict):
            raise QueryFailed(f"{self.verb}: the filter must be a JSON object, not {_json(f)}")
        return f


def parse_command(text: str) -> Parsed:
    """One command of the language (see the module docstring)."""
    body = text.strip()
    match = re.match(r"\s*([A-Za-z]+)", body)
    if match is None:
        raise QueryFailed("expected a command: " + ", ".join(sorted(_COMMANDS)), position=0)
    verb = match.group(1)
    if verb not in _COMMANDS:
        raise QueryFailed(
            f"unknown command {verb!r}; expected one of: " + ", ".join(sorted(_COMMANDS)),
            position=0,
        )
    rest = body[match.end() :]
    pos = match.end()
    decoder = json.JSONDecoder()

    def skip() -> None:
        nonlocal pos
        while pos < len(body) and body[pos].isspace():
            pos += 1

    skip()
    if verb == "sleep":
        try:
            return Parsed(verb, "", (float(rest.strip() or "0"),))
        except ValueError:
            raise QueryFailed("sleep takes a number of seconds", position=pos) from None
    if pos >= len(body):
        raise QueryFailed(f"{verb}: which collection?", position=pos)
    if body[pos] == '"':
        try:
            name, pos = decoder.raw_decode(body, pos)
        except json.JSONDecodeError as e:
            raise QueryFailed(f"{verb}: bad collection name ({e.msg})", position=e.pos) from e
    else:
        end = pos
        while end < len(body) and not body[end].isspace() and body[end] not in "{[":
            end += 1
        name, pos = body[pos:end], end
    args: list[Any] = []
    while True:
        skip()
        if pos >= len(body):
            break
        if verb in ("dropIndex", "use") and body[pos] not in '{["':
            args.append(body[pos:].strip())
            break
        try:
            value, pos = decoder.raw_decode(body, pos)
        except json.JSONDecodeError as e:
            raise QueryFailed(f"{verb}: bad JSON argument ({e.msg})", position=e.pos) from e
        args.append(value)
    return Parsed(verb, str(name), tuple(args))


def split_commands(text: str) -> list[Statement]:
    """The commands of a script: split on ``;`` and on line ends outside
    JSON strings and brackets; ``#`` lines are comments."""
    statements: list[Statement] = []
    start = 0
    depth = 0
    quote = False
    escaped = False
    comment = False

    def flush(end: int) -> None:
        chunk = text[start:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            body = chunk.strip()
            s = start + lead
            verb = re.match(r"[A-Za-z]*", body)
            kind = StatementKind.OTHER
            destructive = False
            try:
                cmd = parse_command(body)
                kind = cmd.kind
                destructive = (cmd.verb in ("update", "delete") and not cmd.filter) or (
                    cmd.verb == "dropIndex"
                )
            except QueryFailed:
                if verb and verb.group(0) in _READS:
                    kind = StatementKind.READ
            statements.append(Statement(body, s, s + len(body), kind, destructive))

    for i, ch in enumerate(text):
        if comment:
            if ch == "\n":
                comment = False
                start = i + 1
            continue
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quote = False
        elif ch == '"':
            quote = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth = max(0, depth - 1)
        elif ch == "#" and not text[start:i].strip():
            comment = True
        elif depth == 0 and ch in ";\n":
            flush(i)
            start = i + 1
    if not comment:
        flush(len(text))
    return statements


# -- change helpers -------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateMany:
    """A store command step (``update``/``replace`` of every match)."""

    path: tuple[str, ...]
    filter: dict[str, Any]
    update: dict[str, Any]
    replace: bool = False


@dataclass(frozen=True)
class DeleteMany:
    path: tuple[str, ...]
    filter: dict[str, Any]


def _change_of(path: tuple[str, ...], cmd: Parsed) -> Change | _Command:
    if cmd.verb == "insert":
        if not cmd.args or not isinstance(cmd.args[0], dict):
            raise QueryFailed("insert takes a document: insert COLLECTION {...}")
        return Insert(path, tuple(cmd.args[0].items()))
    if cmd.verb in ("update", "replace"):
        if len(cmd.args) != 2 or not isinstance(cmd.args[1], dict):
            raise QueryFailed(f"{cmd.verb} takes a filter and a document")
        return UpdateMany(path, cmd.filter, cmd.args[1], cmd.verb == "replace")
    if cmd.verb == "delete":
        if not cmd.args:
            raise QueryFailed("delete takes a filter ({} deletes every document)")
        return DeleteMany(path, cmd.filter)
    if cmd.verb == "createIndex":
        keys = cmd.args[0] if cmd.args else None
        if not isinstance(keys, dict) or not keys:
            raise QueryFailed('createIndex takes its fields: createIndex COLL {"field": 1}')
        options = cmd.args[1] if len(cmd.args) > 1 and isinstance(cmd.args[1], dict) else {}
        hashed = any(v == "hashed" for v in keys.values())
        ttl = options.get("expireAfterSeconds")
        spec = IndexSpec(
            tuple(keys),
            unique=bool(options.get("unique", False)),
            method="hashed" if hashed else "",
            name=str(options.get("name", "")),
            online=False,
            directions=tuple(
                IndexDirection.DESCENDING if v == -1 else IndexDirection.ASCENDING
                for v in keys.values()
            ),
            ttl_seconds=ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else None,
            sparse=bool(options.get("sparse", False)),
        )
        return CreateIndex(path, spec)
    if cmd.verb == "dropIndex":
        if not cmd.args:
            raise QueryFailed("dropIndex takes an index name")
        return DropIndex(path, str(cmd.args[0]), online=False)
    raise QueryFailed(f"{cmd.verb} is not a change")


#: Changes only typed commands make (``update``/``delete`` of every match).
_Command = UpdateMany | DeleteMany


def _command_text(change: Any) -> str:
    """The memdocs command a change runs, as a user could type it."""
    coll = _name_token(change.path[-1])
    if isinstance(change, Insert):
        return f"insert {coll} {_json(dict(change.fields))}"
    if isinstance(change, Update):
        sets = {_dotted(k): v for k, v in change.changes if v is not MISSING and v is not UNSET}
        unsets = {_dotted(k): 1 for k, v in change.changes if v is MISSING or v is UNSET}
        update: dict[str, Any] = {}
        if sets:
            update["$set"] = sets
        if unsets:
            update["$unset"] = unsets
        return f"update {coll} {_json(dict(change.key))} {_json(update)}"
    if isinstance(change, Replace):
        return f"replace {coll} {_json(dict(change.key))} {_json(dict(change.document))}"
    if isinstance(change, CommandStep):
        return change.text
    if isinstance(change, Delete):
        return f"delete {coll} {_json(dict(change.key))}"
    if isinstance(change, UpdateMany):
        verb = "replace" if change.replace else "update"
        return f"{verb} {coll} {_json(change.filter)} {_json(change.update)}"
    if isinstance(change, DeleteMany):
        return f"delete {coll} {_json(change.filter)}"
    if isinstance(change, CreateIndex):
        index = _index_of(change.spec)
        keys = {f: ("hashed" if index.hashed else d) for f, d in index.fields}
        options: dict[str, Any] = {"name": index.name}
        if index.unique:
            options["unique"] = True
        if index.sparse:
            options["sparse"] = True
        if index.ttl_seconds is not None:
            options["expireAfterSeconds"] = index.ttl_seconds
        return f"createIndex {coll} {_json(keys)} {_json(options)}"
    if isinstance(change, DropIndex):
        return f"dropIndex {coll} {change.name}"
    return repr(change)


def _dotted(name: Any) -> str:
    return ".".join(str(p) for p in name) if isinstance(name, tuple) else str(name)
