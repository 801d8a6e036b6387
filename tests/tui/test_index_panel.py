"""The index panel (F4) on the real sandbox PostgreSQL: what a user sees of a
table's indexes, and creating/dropping one after reviewing what will run; and
the same panel on a store with indexes but no change plans (no server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from storescope.backends import memdocs, open_backend, sandbox
from storescope.backends.base import Backend, Capability
from storescope.backends.types import (
    INDEX_ALL_OR_NOTHING,
    Atomicity,
    Column,
    CreateIndex,
    DropIndex,
    IndexDirection,
    IndexInfo,
    IndexOptions,
    IndexPlan,
    IndexSpec,
    Node,
    NodeKind,
    Page,
    ServerInfo,
)
from storescope.screens.change_plan import ChangePlanScreen
from storescope.tui.messages import PlanReviewRequested
from storescope.tui.session import Session
from storescope.tui.snapshot import wait_until_idle
from storescope.tui.widgets.indexes.index_panel import INDEX_UNSAID, IndexPanel, review_of
from storescope.tui.widgets.panel import PanelContext
from tests.pg_helpers import execute

from .conftest import drive, open_table, run_app, screen_text

DB = "tuiindexes"
ITEMS = (DB, "public", "items")


def _execute(url: str, *statements: str) -> list[tuple[object, ...]]:
    """The rows of the last statement that returns rows ([] if none does)."""
    results = execute(url, *statements)
    return results[-1] if results else []


def _db_url(server_url: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{DB}"


@pytest.fixture()
def items_db(pg_server: sandbox.Server) -> Iterator[str]:
    """A database of its own: ``items`` with a primary key, a duplicate pair
    of indexes on sku and a never-used index on name; qty repeats (a unique
    index on it fails). The server's URL is returned."""
    _execute(pg_server.url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    _execute(
        _db_url(pg_server.url),
        "CREATE TABLE items (id integer PRIMARY KEY, sku text NOT NULL, name text, qty integer)",
        "INSERT INTO items SELECT i, 'sku-' || i, 'item ' || i, i % 7"
        " FROM generate_series(1, 300) AS i",
        "CREATE INDEX items_sku_a ON items (sku)",
        "CREATE INDEX items_sku_b ON items (sku)",
        "CREATE INDEX items_name_idx ON items (name)",
        "ANALYZE",
    )
    yield pg_server.url
    _execute(pg_server.url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def _index_names(server_url: str) -> set[str]:
    rows = _execute(
        _db_url(server_url), "SELECT indexname FROM pg_indexes WHERE tablename = 'items'"
    )
    return {str(r[0]) for r in rows}


async def test_f4_lists_the_indexes_with_the_duplicate_pair_and_the_unused_one_flagged(
    items_db: str,
) -> None:
    async with run_app([items_db], size=(120, 40)) as (app, pilot):
        explorer = await open_table(app, pilot, ITEMS)
        await drive(pilot, ["f4"])
        panel = explorer.panels["indexes"]
        assert isinstance(panel, IndexPanel)
        text = screen_text(app)
        assert "Indexes of items · 4 indexes, 3 flagged" in text
        for name in ("items_pkey", "items_sku_a", "items_sku_b", "items_name_idx"):
            assert name in text
        assert "duplicate of items_sku_a" in panel.table.indexes[3].flags
        line = next(line for line in text.splitlines() if "items_sku_b" in line)
        assert "⚠" in line and "duplicate, unused" in line
        flags = {i.name: i.flags for i in panel.table.indexes}
        assert "unused" in flags["items_name_idx"] and flags["items_pkey"] == ()
        line = next(line for line in text.splitlines() if "items_name_idx" in line)
        assert "⚠" in line and "unused" in line and "btree" in line
        assert "primary" in next(line for line in text.splitlines() if "items_pkey" in line)
        # The focused index (the first) shows its definition, size and scans below.
        assert "CREATE INDEX items_name_idx ON public.items USING btree (name)" in text
        assert " kB · 0 scans" in text
        assert "unused: no scan has used it" in text

        await drive(pilot, ["down", "down", "down"])
        text = screen_text(app)
        assert "CREATE INDEX items_sku_b ON public.items USING btree (sku)" in text
        assert "⚠ duplicate of items_sku_a: same columns, method and predicate as" in text


async def test_an_index_created_through_the_form_and_the_plan_review_appears_then_drops(
    items_db: str,
) -> None:
    async with run_app([items_db], size=(120, 40)) as (app, pilot):
        explorer = await open_table(app, pilot, ITEMS)
        await drive(pilot, ["f4", "n"])
        panel = explorer.panels["indexes"]
        assert isinstance(panel, IndexPanel) and panel.form is not None
        text = screen_text(app)
        assert "New index on items" in text
        assert "of: id, sku, name, qty" in text, "the table's columns are listed"
        # "na" completes to "name" (→ accepts the suggestion).
        # Tab: method, unique, concurrently, where, name.
        await drive(pilot, [*"na", "right", *", qty DESC", *["tab"] * 5])
        assert app.screen.query_one("#index-columns", Input).value == "name, qty DESC"
        await drive(pilot, [*"items_by_name", "enter"])
        assert isinstance(app.screen, ChangePlanScreen)
        review = screen_text(app)
        assert "Create index" in review
        assert 'CREATE INDEX CONCURRENTLY "items_by_name" ON' in review
        assert '("name", "qty" DESC)' in review
        # PostgreSQL's words, as before: a concurrent build is not all or nothing.
        assert "NOT atomic: steps that ran stay applied if a later one fails" in review

        # Esc on the review: nothing runs, the form is still there as filled in.
        await drive(pilot, ["escape"])
        assert not isinstance(app.screen, ChangePlanScreen)
        assert "items_by_name" not in _index_names(items_db)
        assert panel.form is not None
        assert app.screen.query_one("#index-name", Input).value == "items_by_name"

        await drive(pilot, ["enter"])  # the name field still has the focus: review again
        assert isinstance(app.screen, ChangePlanScreen)
        await drive(pilot, ["enter"])  # confirm
        assert "items_by_name" in _index_names(items_db)
        assert panel.form is None
        text = screen_text(app)
        assert "Index created: items_by_name." in text
        assert "5 indexes" in text
        current = panel.table.current
        assert current is not None and current.name == "items_by_name", "the cursor is on it"
        assert "CREATE INDEX items_by_name ON public.items USING btree (name, qty DESC)" in text

        # Drop it: the review says it is a drop; Esc first leaves it be.
        await drive(pilot, ["d"])
        assert isinstance(app.screen, ChangePlanScreen)
        review = screen_text(app)
        assert "Drop index items_by_name" in review
        assert 'DROP INDEX CONCURRENTLY "public"."items_by_name"' in review
        await drive(pilot, ["escape"])
        assert "items_by_name" in _index_names(items_db)
        await drive(pilot, ["d", "enter"])
        assert "items_by_name" not in _index_names(items_db)
        text = screen_text(app)
        assert "Index items_by_name dropped." in text
        assert "4 indexes" in text and "items_by_name" not in text.split("dropped.")[-1]


async def test_a_failing_unique_build_shows_the_error_and_the_invalid_index_it_left(
    items_db: str,
) -> None:
    async with run_app([items_db], size=(120, 40)) as (app, pilot):
        explorer = await open_table(app, pilot, ITEMS)
        # qty repeats; Tab Tab reaches "unique", space ticks it, ctrl+s submits.
        await drive(pilot, ["f4", "n", *"qty", "tab", "tab", "space", "ctrl+s"])
        review = screen_text(app)
        assert 'CREATE UNIQUE INDEX CONCURRENTLY ON "public"."items"' in review
        await drive(pilot, ["enter"])
        panel = explorer.panels["indexes"]
        assert isinstance(panel, IndexPanel)
        app.clear_notifications()  # they cover the right of the panel
        await pilot.pause()
        text = screen_text(app)
        assert "✕ Create index failed: could not create unique index" in text
        assert "INVALID index items_qty_idx" in text
        invalid = next(i for i in panel.table.indexes if i.name == "items_qty_idx")
        assert not invalid.valid and "invalid" in invalid.flags
        line = next(line for line in text.splitlines() if "✕  items_qty_idx" in line)
        assert "invalid" in line
        assert "Traceback" not in text


async def test_a_read_only_connection_says_why_it_cannot_create_or_drop(items_db: str) -> None:
    async with run_app([items_db], size=(80, 24), read_only=True) as (app, pilot):
        await open_table(app, pilot, ITEMS)
        await drive(pilot, ["f4", "n"])
        text = screen_text(app)
        assert "Read-only connection" in text and "indexes cannot be created" in text
        assert "items_sku_a" in text, "the list is still shown at 80x24"
        assert "New index on" not in text


async def test_the_form_fits_80x24(items_db: str) -> None:
    async with run_app([items_db], size=(80, 24)) as (app, pilot):
        await open_table(app, pilot, ITEMS)
        await drive(pilot, ["f4", "n"])
        text = screen_text(app)
        for label in ("Columns", "Method", "unique", "concurrently", "Where", "Name", "Esc"):
            assert label in text, label


# -- a store with INDEXES but without PLAN (no server) -----------------------------------


class IndexesOnly(Backend):
    """A document-like store that has indexes and no change plans: its
    ``plan``/``apply`` are the base class's, which refuse. It describes its
    form in its own words (fields with a direction each, a filter document,
    a TTL, sparse; no methods, no online choice) and its commands as text."""

    product = "Docs"
    capabilities = Capability.INDEXES

    def __init__(self) -> None:
        super().__init__("fake://indexes-only")
        self.indexes: dict[str, IndexInfo] = {"_id_": IndexInfo("_id_", "_id", unique=True)}
        self.created: list[IndexSpec] = []
        self.dropped: list[tuple[str, bool]] = []

    def connect(self) -> None:
        return

    def close(self) -> None:
        return

    def ping(self) -> float:
        return 0.0

    def server_info(self) -> ServerInfo:
        return ServerInfo("Docs", "1")

    def list_children(self, path: tuple[str, ...]) -> list[Node]:
        return []

    def browse(self, path: tuple[str, ...], **kwargs: Any) -> Page:
        return Page((Column("_id"), Column("name"), Column("age")), (), None)

    def list_indexes(self, path: tuple[str, ...]) -> list[IndexInfo]:
        return list(self.indexes.values())

    def index_options(self, path: tuple[str, ...]) -> IndexOptions:
        return IndexOptions(
            fields_label="Keys",
            fields_placeholder="name, age desc",
            field_noun="key",
            directions=True,
            descending_words=("desc", "-1"),
            partial=True,
            partial_label="Filter",
            partial_placeholder='a filter document: {"age": {"$gt": 18}}',
            ttl=True,
            sparse=True,
            name_placeholder="empty: named after its keys",
        )

    def plan_index(self, change: CreateIndex | DropIndex) -> IndexPlan:
        if isinstance(change, DropIndex):
            return IndexPlan(change, f"db.people.dropIndex({change.name!r})")
        spec = change.spec
        keys = ", ".join(
            f'"{c}": {-1 if d is IndexDirection.DESCENDING else 1}' for c, d in spec.fields
        )
        options = (
            f'{{"expireAfterSeconds": {spec.ttl_seconds}, "sparse": {str(spec.sparse).lower()}}}'
        )
        return IndexPlan(
            change, f"db.people.createIndex({{{keys}}}, {options})", note="builds in place"
        )

    def create_index(self, path: tuple[str, ...], spec: IndexSpec) -> None:
        self.created.append(spec)
        name = spec.name or "_".join(spec.columns)
        self.indexes[name] = IndexInfo(name, ", ".join(spec.columns))

    def drop_index(self, path: tuple[str, ...], name: str, *, online: bool = True) -> None:
        self.dropped.append((name, online))
        del self.indexes[name]


class _OneBackendSession(Session):
    """A session whose connection is the given backend object."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend.url)
        self.backend = backend

    def _open(self, line: Any) -> Backend:
        line.backend = self.backend
        self.capabilities = self.backend.capabilities
        return self.backend


class IndexesOnlyApp(App[None]):
    def __init__(self, backend: IndexesOnly) -> None:
        super().__init__()
        self.session = _OneBackendSession(backend)

    def compose(self) -> ComposeResult:
        yield IndexPanel(
            PanelContext(
                session=self.session,
                read_only=False,
                path=lambda: ("db", "people"),
                describe=lambda error: ("Error", str(error)),
                status_changed=lambda panel: None,
            ),
            id="panel-indexes",
        )

    def on_mount(self) -> None:
        panel = self.query_one(IndexPanel)
        panel.panel_shown()
        panel.table.focus()

    def on_plan_review_requested(self, event: PlanReviewRequested) -> None:
        screen = ChangePlanScreen(event.plan, title=event.title, confirm=event.confirm)
        self.push_screen(screen, lambda answer: event.done(bool(answer)))


async def test_a_store_with_indexes_but_no_change_plans_creates_and_drops_in_its_own_words() -> (
    None
):
    backend = IndexesOnly()
    assert Capability.PLAN not in backend.capabilities
    app = IndexesOnlyApp(backend)
    async with app.run_test(size=(130, 30)) as pilot:
        await wait_until_idle(pilot)
        assert "Indexes of people · 1 index" in screen_text(app)
        await drive(pilot, ["n"])
        text = screen_text(app)
        # Only what the store offers, in its words.
        for shown in ("Keys", "of: _id, name, age", "unique", "sparse", "Filter", "TTL (s)"):
            assert shown in text, shown
        for absent in ("Method", "concurrently", "Where", "Columns"):
            assert absent not in text, absent
        assert "→ takes a key" in text
        # Keys, tab: unique, sparse (ticked), filter, TTL 60, name.
        await drive(pilot, [*"age desc, name", "tab", "tab", "space", "tab", "tab", *"60"])
        await drive(pilot, ["enter"])
        assert isinstance(app.screen, ChangePlanScreen)
        review = screen_text(app)
        assert 'db.people.createIndex({"age": -1, "name": 1},' in review
        assert '"expireAfterSeconds": 60, "sparse": true' in review
        assert "builds in place" in review
        await drive(pilot, ["enter"])
        assert backend.created == [
            IndexSpec(
                ("age", "name"),
                online=False,
                directions=(IndexDirection.DESCENDING, IndexDirection.DEFAULT),
                ttl_seconds=60,
                sparse=True,
            )
        ]
        text = screen_text(app)
        assert "Index created." in text and "2 indexes" in text
        panel = app.query_one(IndexPanel)
        current = panel.table.current
        assert current is not None and current.name == "age_name", "the cursor is on it"

        await drive(pilot, ["d"])
        assert isinstance(app.screen, ChangePlanScreen)
        assert "db.people.dropIndex('age_name')" in screen_text(app)
        await drive(pilot, ["enter"])
        assert backend.dropped == [("age_name", False)], "not online: the store does not offer it"
        assert "Index age_name dropped." in screen_text(app)


_BUILD = CreateIndex(("db", "t"), IndexSpec(("a",)))


@pytest.mark.parametrize(
    ("plan", "said"),
    [
        # PostgreSQL's words, as today: CREATE INDEX CONCURRENTLY is not all
        # or nothing, a plain CREATE INDEX runs in one transaction.
        (IndexPlan(_BUILD, "c", all_or_nothing=False, atomicity=Atomicity.STEP_BY_STEP),
         Atomicity.STEP_BY_STEP.words),
        (IndexPlan(_BUILD, "c", atomicity=Atomicity.ONE_TRANSACTION),
         Atomicity.ONE_TRANSACTION.words),
        # A store without transactions (memdocs) says so in its own words.
        (IndexPlan(_BUILD, "c", atomicity=INDEX_ALL_OR_NOTHING), INDEX_ALL_OR_NOTHING),
        (IndexPlan(_BUILD, "c", atomicity="a build either finishes or is removed"),
         "a build either finishes or is removed"),
        # Not all or nothing, nothing more said: step by step.
        (IndexPlan(_BUILD, "c", all_or_nothing=False), Atomicity.STEP_BY_STEP.words),
        # A store that says nothing: a sentence that claims nothing (no
        # transaction guessed from its flags, as MongoDB would have got).
        (IndexPlan(_BUILD, "c"), INDEX_UNSAID),
    ],
)  # fmt: skip
def test_the_index_review_says_what_a_failed_change_does_as_the_store_does_it(
    plan: IndexPlan, said: str
) -> None:
    review = review_of(plan)
    assert review.atomicity_text == said
    assert ("transaction" in review.atomicity_text) == (said == Atomicity.ONE_TRANSACTION.words)


def test_each_backend_says_its_index_changes_atomicity_itself(items_db: str) -> None:
    """PostgreSQL: a plain build is one transaction, CONCURRENTLY is not
    atomic; memdocs: all or nothing without a transaction; the fake: a
    failed build leaves an invalid index behind (step by step)."""
    spec = IndexSpec(("name",))
    with open_backend(items_db) as pg:
        plain = pg.plan_index(CreateIndex(ITEMS, IndexSpec(("name",), online=False)))
        online = pg.plan_index(CreateIndex(ITEMS, IndexSpec(("name",), online=True)))
    assert review_of(plain).atomicity_text == Atomicity.ONE_TRANSACTION.words
    assert review_of(online).atomicity_text == Atomicity.STEP_BY_STEP.words
    memdocs.register_store("atomicity", memdocs.default_store())
    with open_backend("memdocs://atomicity") as docs:
        built = docs.plan_index(CreateIndex(("shop", "orders"), IndexSpec(("total",))))
    assert review_of(built).atomicity_text == INDEX_ALL_OR_NOTHING
    with open_backend("fake://demo") as fake:
        faked = fake.plan_index(CreateIndex(_fake_table(fake), spec))
    assert faked.atomicity is Atomicity.STEP_BY_STEP


def _fake_table(backend: Backend) -> tuple[str, ...]:
    """The first node holding records in the fake's catalog."""
    nodes = backend.list_children(())
    while nodes:
        node = nodes.pop(0)
        if node.kind is NodeKind.TABLE:
            return node.path
        if node.expandable:
            nodes.extend(backend.list_children(node.path))
    raise AssertionError("the fake has no table")
