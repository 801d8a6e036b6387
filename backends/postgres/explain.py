"""PostgreSQL EXPLAIN (Capability.EXPLAIN).

``explain`` runs ``EXPLAIN (FORMAT JSON[, ANALYZE][, BUFFERS])`` and turns the
JSON into a ``PlanNode`` tree labelled the way psql prints it ("Index Scan
using orders_pkey on orders o", "Hash Left Join", "HashAggregate").
``actual_rows`` is per loop, like ``est_rows`` and like psql;
``actual_time_ms`` is the node's time over all its loops (Actual Total Time x
Actual Loops), so ``self_time_ms`` (that minus the children's, floored at 0)
is comparable between nodes. The plan's ``heading`` is psql's word for it:
"EXPLAIN ANALYZE" or "EXPLAIN (estimates only)". PostgreSQL's planner keeps
no rejected plans.

With ``analyze`` the statement really runs, so it always runs inside a
transaction that is rolled back afterwards (BEGIN ... ROLLBACK, or a savepoint
when the connection is already inside a user's transaction): not only
INSERT/UPDATE/DELETE/MERGE and SELECT INTO write, a SELECT can write through a
volatile function too. EXPLAIN runs on the query session
(``QuerySession.explain_json``): the text must hold exactly one statement, as
pglast (the server's grammar) reads it; on a read-only connection the same
checks as for a statement run apply (side-effect functions anywhere in it,
and with ANALYZE only a reading statement), and every EXPLAIN runs in a
read-only transaction, where PostgreSQL refuses whatever they miss
(nextval(), a writing function). It runs through the query session's call lock
and cancel mechanism, so ``cancel()`` stops EXPLAIN ANALYZE.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from ..errors import QueryFailed
from ..types import Explained, PlanNode
from .query import QuerySession

#: What ``Explained.heading`` says, as psql users know it.
HEADING_ANALYZED = "EXPLAIN ANALYZE"
HEADING_ESTIMATED = "EXPLAIN (estimates only)"

# -- EXPLAIN --------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_$]*")


def _quote(name: str) -> str:
    """psql's quote_identifier, near enough: quotes when the name needs it."""
    if _PLAIN_NAME.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


_JOIN_SUFFIX = " Join"
_AGG_NAMES = {
    "Plain": "Aggregate",
    "Sorted": "GroupAggregate",
    "Hashed": "HashAggregate",
    "Mixed": "MixedAggregate",
}


def _label(node: dict[str, Any]) -> str:
    """The node's headline as psql's text format prints it."""
    kind = str(node.get("Node Type", "?"))
    if kind == "Aggregate":
        kind = _AGG_NAMES.get(str(node.get("Strategy")), kind)
        if node.get("Partial Mode") in ("Partial", "Finalize"):
            kind = f"{node['Partial Mode']} {kind}"
    elif kind == "SetOp":
        kind = "HashSetOp" if node.get("Strategy") == "Hashed" else "SetOp"
        if node.get("Command"):
            kind += f" {node['Command']}"
    elif kind == "ModifyTable":
        kind = str(node.get("Operation", kind))
    elif kind == "Custom Scan" and node.get("Custom Plan Provider"):
        kind += f" ({node['Custom Plan Provider']})"
    join = node.get("Join Type")
    if join and join != "Inner":
        base = kind[: -len(_JOIN_SUFFIX)] if kind.endswith(_JOIN_SUFFIX) else kind
        kind = f"{base} {join} Join"
    if node.get("Parallel Aware"):
        kind = f"Parallel {kind}"
    if node.get("Async Capable"):
        kind = f"Async {kind}"
    if node.get("Scan Direction") == "Backward":
        kind += " Backward"
    index = node.get("Index Name")
    target = None
    for key in ("Relation Name", "Function Name", "CTE Name", "Tuplestore Name"):
        if node.get(key):
            target = str(node[key])
            break
    alias = node.get("Alias")
    if index and node.get("Node Type") == "Bitmap Index Scan":
        return f"{kind} on {_quote(str(index))}"
    if index:
        kind += f" using {_quote(str(index))}"
    if target is not None:
        kind += f" on {_quote(target)}"
        if alias and alias != target:
            kind += f" {_quote(str(alias))}"
    elif alias:
        kind += f" on {_quote(str(alias))}"
    return kind


# Keys shown in the label, the cost/row/time fields, or grouped below.
_NOT_DETAILS = frozenset(
    {
        "Node Type", "Parallel Aware", "Async Capable", "Join Type", "Relation Name",
        "Schema", "Alias", "Index Name", "Startup Cost", "Total Cost", "Plan Rows",
        "Plan Width", "Actual Startup Time", "Actual Total Time", "Actual Rows",
        "Actual Loops", "Plans", "Strategy", "Partial Mode", "Operation", "Command",
        "Scan Direction", "Function Name", "CTE Name", "Tuplestore Name",
        "Parent Relationship", "Custom Plan Provider", "Inner Unique",
        "Original Hash Buckets", "Original Hash Batches", "Sort Space Used",
        "Sort Space Type", "Workers",
    }
)  # fmt: skip
_KB = frozenset({"Peak Memory Usage", "Disk Usage", "Sort Space Used"})
# Shown only when not zero, as psql does.
_ZERO_HIDDEN = ("Rows Removed by", "Disk Usage", "Planned Partitions", "Exact Heap", "Lossy Heap")
_BUFFER_KINDS = ("Shared", "Local", "Temp")
_BUFFER_OPS = ("Hit", "Read", "Dirtied", "Written")


def _is_buffer_key(key: str) -> bool:
    return key.endswith(" Blocks") and key.split(" ", 1)[0] in _BUFFER_KINDS


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def _buffers(node: dict[str, Any]) -> str:
    """psql's "shared hit=3 read=2, temp written=1"; "" when all are zero."""
    groups = []
    for kind in _BUFFER_KINDS:
        parts = [
            f"{op.lower()}={node[f'{kind} {op} Blocks']}"
            for op in _BUFFER_OPS
            if node.get(f"{kind} {op} Blocks")
        ]
        if parts:
            groups.append(f"{kind.lower()} {' '.join(parts)}")
    return ", ".join(groups)


def _io_timings(node: dict[str, Any]) -> str:
    parts = [
        f"{key.replace(' I/O', '').replace(' Time', '').lower()}={_number(value)}"
        for key, value in node.items()
        if "I/O" in key and isinstance(value, int | float) and value
    ]
    return " ".join(parts)


def _details(node: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    buffers_done = io_done = False
    for key, value in node.items():
        if key in _NOT_DETAILS:
            continue
        if _is_buffer_key(key):
            if not buffers_done:
                buffers_done = True
                text = _buffers(node)
                if text:
                    out.append(("Buffers", text))
            continue
        if "I/O" in key:
            if not io_done:
                io_done = True
                text = _io_timings(node)
                if text:
                    out.append(("I/O Timings", text))
            continue
        if key == "Sort Method":
            text = str(value)
            if node.get("Sort Space Type"):
                text += f"  {node['Sort Space Type']}: {node.get('Sort Space Used')}kB"
            out.append((key, text))
            continue
        if isinstance(value, bool):
            if value:
                out.append((key, "true"))
            continue
        if isinstance(value, int | float):
            if not value and key.startswith(_ZERO_HIDDEN):
                continue
            out.append((key, _number(value) + ("kB" if key in _KB else "")))
        elif isinstance(value, str):
            out.append((key, value))
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            out.append((key, ", ".join(str(v) for v in value)))
    return tuple(out)


def _plan_node(node: dict[str, Any], analyzed: bool) -> PlanNode:
    children = tuple(_plan_node(child, analyzed) for child in node.get("Plans") or ())
    total_cost = _float(node.get("Total Cost"))
    self_cost = None
    if total_cost is not None:
        # Rounded as PostgreSQL prints costs and times, without float noise.
        self_cost = round(max(0.0, total_cost - sum(c.total_cost or 0.0 for c in children)), 2)
    loops = actual_rows = actual_time = self_time = None
    if analyzed and "Actual Loops" in node:
        loops = int(node["Actual Loops"])
        actual_rows = _float(node.get("Actual Rows"))
        per_loop = _float(node.get("Actual Total Time")) or 0.0
        actual_time = round(per_loop * loops, 3)
        children_time = sum(c.actual_time_ms or 0.0 for c in children)
        self_time = round(max(0.0, actual_time - children_time), 3)
    details = _details(node)
    if analyzed and loops == 0:
        details = (("Never executed", "true"), *details)
    return PlanNode(
        label=_label(node),
        startup_cost=_float(node.get("Startup Cost")),
        total_cost=total_cost,
        self_cost=self_cost,
        est_rows=_float(node.get("Plan Rows")),
        actual_rows=actual_rows,
        loops=loops,
        actual_time_ms=actual_time,
        self_time_ms=self_time,
        details=details,
        children=children,
    )


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _explained(statement: str, raw: str, analyzed: bool) -> Explained:
    try:
        doc = json.loads(raw)
        top = doc[0]
        root = _plan_node(top["Plan"], analyzed)
    except (ValueError, LookupError, TypeError) as e:
        raise QueryFailed(f"PostgreSQL returned a plan that could not be read: {e}") from e
    extra: list[tuple[str, str]] = []
    planning = top.get("Planning")
    if isinstance(planning, dict) and _buffers(planning):
        extra.append(("Planning Buffers", _buffers(planning)))
    for trigger in top.get("Triggers") or ():
        name = f"Trigger {trigger.get('Trigger Name', '?')}"
        if trigger.get("Relation"):
            name += f" on {trigger['Relation']}"
        extra.append((name, f"time={_number(trigger.get('Time'))} calls={trigger.get('Calls')}"))
    jit = top.get("JIT")
    if isinstance(jit, dict) and jit.get("Functions"):
        extra.append(("JIT", f"functions={jit['Functions']}"))
    if extra:
        root = dataclasses.replace(root, details=root.details + tuple(extra))
    return Explained(
        statement=statement,
        root=root,
        analyzed=analyzed,
        planning_ms=_float(top.get("Planning Time")),
        execution_ms=_float(top.get("Execution Time")),
        raw=raw,
        heading=HEADING_ANALYZED if analyzed else HEADING_ESTIMATED,
    )


class Explainer:
    """EXPLAIN of a PostgreSQL backend: runs on the query session, through
    its statement checks, call lock and ``cancel()``."""

    def __init__(self, session: QuerySession) -> None:
        self._session = session

    def explain(self, statement: str, *, analyze: bool = False, buffers: bool = False) -> Explained:
        raw = self._session.explain_json(statement, analyze=analyze, buffers=buffers)
        return _explained(statement, raw, analyze)
