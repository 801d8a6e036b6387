"""memdocs' own behaviour, beyond the contracts test_conformance.py checks
for every store: its command language, filters and sorts on nested fields,
changes by field path, its index options and its plan without costs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from storescope.backends import memdocs, open_backend
from storescope.backends.base import Backend
from storescope.backends.errors import NotSupported, QueryFailed, ReadOnly
from storescope.backends.types import (
    UNSET,
    Atomicity,
    CreateIndex,
    Filter,
    IndexDirection,
    IndexSpec,
    Replace,
    Sort,
    SortDirection,
    StatementKind,
    Update,
)
from storescope.backends.types import Command as CommandStep

ORDERS = ("shop", "orders")
_names = itertools.count()


@pytest.fixture
def backend() -> Iterator[Backend]:
    name = f"unit{next(_names)}"
    memdocs.register_store(name, memdocs.default_store())
    b = open_backend(f"memdocs://{name}")
    b.connect()
    yield b
    b.close()


def test_split_on_lines_and_semicolons_but_not_inside_json(backend: Backend) -> None:
    script = 'find orders {"a":\n  "x;y"}; count orders\n# a comment\ndelete orders {}\n'
    statements = backend.split(script)
    assert [s.text for s in statements] == [
        'find orders {"a":\n  "x;y"}',
        "count orders",
        "delete orders {}",
    ]
    assert [s.kind for s in statements] == [
        StatementKind.READ,
        StatementKind.READ,
        StatementKind.WRITE,
    ]
    assert [s.destructive for s in statements] == [False, False, True]
    assert all(script[s.start : s.end] == s.text for s in statements)


def test_filters_reach_nested_fields_and_arrays(backend: Backend) -> None:
    def count(filter_text: str) -> int:
        result = backend.execute(f"count orders {filter_text}")
        return int(result.rows[0][0])

    assert count('{"customer.address.city": "Oslo"}') == 123
    assert count('{"items.sku": "lamp"}') > 0
    assert count('{"total": {"$gt": 400}, "status": {"$in": ["open", "paid"]}}') > 0
    assert count('{"note": {"$exists": false}}') == 880
    with pytest.raises(QueryFailed) as info:
        backend.execute("find orders {not json}")
    assert info.value.position is not None


def test_sorted_browse_pages_join_on_ties_and_missing_values(backend: Backend) -> None:
    """Sorted by a field most documents lack (note) and then by status
    descending: pages of 7 still join without gaps or duplicates."""
    sort = Sort(((("note",), SortDirection.ASCENDING), (("status",), SortDirection.DESCENDING)))
    filt = Filter('{"total": {"$lt": 300}}')
    ids: list[int] = []
    cursor = None
    while True:
        page = backend.browse(ORDERS, cursor=cursor, limit=7, filter=filt, sort=sort)
        ids.extend(row[0] for row in page.rows)
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = backend.execute('count orders {"total": {"$lt": 300}}').rows[0][0]
    assert len(ids) == len(set(ids)) == expected
    with pytest.raises(QueryFailed):
        backend.browse(ORDERS, filter=Filter("status = 'open'"))


def test_update_by_field_path_unset_and_replace(backend: Backend) -> None:
    key = (("_id", 1),)
    backend.apply(
        [Update(ORDERS, key, ((("customer", "address", "city"), "Rome"), ("note", UNSET)))]
    )
    doc = dict(backend.get(ORDERS, key).fields)
    assert doc["customer"]["address"] == {"city": "Rome", "zip": "1000"}
    assert "note" not in doc
    backend.apply([Replace(ORDERS, key, (("status", "void"),))])
    assert dict(backend.get(ORDERS, key).fields) == {"_id": 1, "status": "void"}


def test_a_command_step_shows_its_text_and_counts_now(backend: Backend) -> None:
    step = CommandStep(ORDERS, 'delete orders {"status": "void"}')
    plan = backend.plan([step])
    assert plan.steps[0].text == step.text
    assert plan.steps[0].affected == 275
    assert plan.atomicity is Atomicity.STEP_BY_STEP
    assert backend.apply([step]).affected == (275,)
    with pytest.raises(NotSupported):
        backend.plan([CommandStep(ORDERS, "count orders")])


def test_indexes_with_direction_ttl_sparse_and_unique(backend: Backend) -> None:
    spec = IndexSpec(
        ("created", "note"),
        directions=(IndexDirection.DESCENDING, IndexDirection.ASCENDING),
        ttl_seconds=3600,
        sparse=True,
    )
    planned = backend.plan_index(CreateIndex(ORDERS, spec))
    assert planned.text == (
        'createIndex orders {"created": -1, "note": 1}'
        ' {"name": "created_-1_note_1", "sparse": true, "expireAfterSeconds": 3600}'
    )
    backend.create_index(ORDERS, spec)
    made = {i.name: i for i in backend.list_indexes(ORDERS)}["created_-1_note_1"]
    assert made.columns == "created -1, note 1"
    assert "TTL 3600 s" in made.flags and "sparse" in made.flags
    with pytest.raises(QueryFailed, match="duplicate key"):
        backend.create_index(ORDERS, IndexSpec(("status",), unique=True, name="status_u"))
    options = backend.index_options(ORDERS)
    assert options.directions and options.ttl and options.sparse and not options.online


def test_explain_without_an_index_rejects_nothing(backend: Backend) -> None:
    plain = backend.explain('find orders {"total": {"$gt": 10}}')
    assert plain.root.label == "scan the whole collection orders"
    assert plain.rejected == () and plain.root.total_cost is None
    indexed = backend.explain('find orders {"status": "paid"}', analyze=True)
    assert [n.label for n in indexed.rejected] == ["scan the whole collection orders"]
    assert indexed.root.actual_rows == 275.0


def test_read_only_refuses_writes_typed_as_commands(backend: Backend) -> None:
    ro = open_backend(backend.url, read_only=True)
    ro.connect()
    for command in (
        'insert orders {"_id": 9999}',
        'update orders {} {"$set": {"x": 1}}',
        "delete orders {}",
        'createIndex orders {"x": 1}',
        "dropIndex orders status_1",
    ):
        with pytest.raises(ReadOnly):
            ro.execute(command)
    assert ro.execute("count orders").rows == ((1100,),)
    ro.close()


def test_values_typed_in_an_editor_follow_the_field_type(backend: Backend) -> None:
    schema = backend.record_schema(ORDERS)
    fields = {f.name: f for f in schema.fields}
    codec = schema.codec
    assert codec.parse(fields["status"], "42") == "42"
    assert codec.parse(fields["total"], "42.5") == 42.5
    assert codec.parse(fields["customer"], '{"name": "Bo"}') == {"name": "Bo"}
    assert codec.parse(fields["total"], "not json") == "not json"
    assert (codec.null_word, codec.unset_word, codec.default_word) == ("null", "unset", "")
    assert not fields["_id"].editable
