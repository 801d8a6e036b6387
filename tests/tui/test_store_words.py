"""Each store's nouns (``Backend.words``) as the panels use them: counts,
the empty grid's hint, and the word a cell with no value shows. No server:
the words are the backend class's, known from the URL alone."""

from __future__ import annotations

import pytest

from storescope.backends.types import Column, Page
from storescope.tui.widgets.grid.cells import CellKind, format_value
from storescope.tui.widgets.grid.page_window import PageWindow
from storescope.tui.widgets.store_words import NEUTRAL_WORDS, words_of


@pytest.mark.parametrize(
    ("url", "one", "many", "hint", "no_value"),
    [
        ("postgresql://h/db", "1 row", "3 rows", "Choose a table", "NULL"),
        ("fake://demo", "1 row", "3 rows", "Choose a table", "NULL"),
        ("memdocs://shop", "1 document", "3 documents", "Choose a collection", "null"),
        ("mongodb://h/db", "1 document", "3 documents", "Choose a collection", "null"),
        ("redis://h/0", "1 key", "3 keys", "Choose a namespace or key", "(nil)"),
        ("s3://bucket", "1 object", "3 objects", "Choose a bucket or prefix", "—"),
    ],
)
def test_every_store_counts_in_its_own_noun(
    url: str, one: str, many: str, hint: str, no_value: str
) -> None:
    words = words_of(url)
    assert words.count(1) == one and words.count(3) == many
    assert words.count(None) == f"{many.split()[1]} unknown"
    assert words.choose_hint == f"{hint} in the catalog and press Enter."
    assert words.no_value == no_value


def test_an_unknown_scheme_speaks_the_neutral_words() -> None:
    assert words_of("nosuch://x") is NEUTRAL_WORDS
    assert NEUTRAL_WORDS.count(2) == "2 records"


def test_a_cell_with_no_value_shows_the_stores_word_and_is_wide_enough_for_it() -> None:
    assert format_value(None) == ("NULL", CellKind.NULL)
    assert format_value(None, "(nil)") == ("(nil)", CellKind.NULL)
    w = PageWindow(page_size=10, max_pages=2, null_word="(nil)")
    w.add(0, Page((Column("v"),), ((None,), (None,)), None), near_row=0)
    cells = w.cells(0)
    assert cells is not None and cells[0] == ("(nil)", CellKind.NULL)
    assert w.widths == [len("(nil)")], "the column is measured with the word it shows"


@pytest.mark.parametrize(
    ("url", "path", "container", "null_key"),
    [
        (
            "fake://demo?caps=records",
            ("shop", "public", "customers"),
            "table",
            "Set NULL",
        ),
        ("memdocs://words-records", ("shop", "orders"), "collection", "Set null"),
    ],
)
async def test_the_data_panel_and_cell_editor_say_the_stores_words(
    url: str, path: tuple[str, ...], container: str, null_key: str
) -> None:
    """Why nothing can be edited yet names the store's container ("no
    collection is open"), and ctrl+n in the cell editor's footer is named
    in the store's word for no value; PostgreSQL's fake keeps "table",
    "NULL"."""
    from storescope.backends import memdocs
    from storescope.tui.widgets.records.data_panel import DataPanel

    from .conftest import drive, explorer_of, open_table, run_app, screen_text

    memdocs.register_store("words-records", memdocs.default_store())
    async with run_app([url], size=(120, 30)) as (app, pilot):
        panel = explorer_of(app).query_one(DataPanel)
        assert panel.read_only_reason() == f"no {container} is open"
        await open_table(app, pilot, path)
        assert panel.read_only_reason() is None
        schema = panel.schemas.pop(path)
        assert panel.read_only_reason() == (
            f"the {container}'s fields are still being read; try again in a moment"
        )
        panel.schemas[path] = schema
        await drive(pilot, ["right", "e"])
        assert panel.editor.display and panel.editor.has_focus
        assert null_key in screen_text(app), "the footer names ctrl+n in the store's word"
        other = "Set null" if null_key == "Set NULL" else "Set NULL"
        assert other not in screen_text(app)
