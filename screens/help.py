"""The keys screen (``?`` / F1): every key of the app, the catalog and the
grid, generated from their bindings so it cannot drift from what works.

The panels' sections are the active connection's (``key_sections``): only
the panels it offers, and the query and monitor keys that store has, in its
words (``QueryPanel.key_bindings``, ``MonitorPanel.key_bindings``), so a
store without transactions lists no transaction key. Labels can come from
a store: the rows go through the one sanitizer (``tui.sanitize``) and are
Content parts, never markup, so none can carry an escape to the terminal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.actions import parse as parse_action
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from storescope.tui.sanitize import sanitize

if TYPE_CHECKING:
    from textual.app import App, ComposeResult

    from storescope.screens.explorer import Explorer

#: (section title, [(keys, what they do)])
Sections = list[tuple[str, list[tuple[str, str]]]]

KEY_WIDTH = 12


def binding_rows(bindings: Iterable[BindingType], key_display: object) -> list[tuple[str, str]]:
    """(keys, description) for each binding that has a description.

    ``key_display`` is ``App.get_key_display``; keys of one binding written
    "a,b" are shown "a / b".
    """
    rows: list[tuple[str, str]] = []
    groups: dict[str, int] = {}  # a footer group (↑↓←→ Move) is one row here too
    for item in bindings:
        if not isinstance(item, Binding) or not item.description:
            continue
        keys = []
        for key in item.key.split(","):
            single = "," not in item.key
            one = Binding(
                key.strip(),
                item.action,
                item.description,
                key_display=item.key_display if single else None,
            )
            keys.append(key_display(one) if callable(key_display) else key)
        shown = " / ".join(keys)
        if item.group is not None and item.group.description and single:
            name = item.group.description
            if name in groups:
                keys_so_far, _ = rows[groups[name]]
                rows[groups[name]] = (f"{keys_so_far} {shown}", name)
                continue
            groups[name] = len(rows)
            rows.append((shown, name))
            continue
        rows.append((shown, item.description))
    return rows


def key_sections(app: App[Any], explorer: Explorer | None) -> Sections:
    """The keys screen's sections for ``explorer``, the active connection
    (None: no connection, every panel's keys as its class declares them)."""
    from textual.widgets import TextArea

    from storescope.screens.explorer import Explorer
    from storescope.tui.widgets import CatalogTree, DataGrid
    from storescope.tui.widgets.explain.explain_view import PlanTree
    from storescope.tui.widgets.indexes.index_form import IndexForm
    from storescope.tui.widgets.indexes.index_panel import IndexPanel
    from storescope.tui.widgets.monitor.monitor_panel import MonitorPanel
    from storescope.tui.widgets.query.query_editor import QueryEditor
    from storescope.tui.widgets.query.query_history import HistoryPicker
    from storescope.tui.widgets.query.query_keys import language_of, offered_keys
    from storescope.tui.widgets.query.query_panel import QueryPanel
    from storescope.tui.widgets.records.data_panel import CellEditor, DataPanel
    from storescope.tui.widgets.store_words import NEUTRAL_WORDS, words_of

    def rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
        return binding_rows(bindings, app.get_key_display)

    offered = (
        {p.id for p in explorer.offered_panels()}
        if explorer is not None and explorer.built
        else None
    )

    def offers(panel_id: str) -> bool:
        return offered is None or panel_id in offered

    def panel_key(binding: BindingType) -> bool:
        """A key of a panel this connection offers (or not a panel key)."""
        if not isinstance(binding, Binding):
            return True
        _, name, parameters = parse_action(binding.action)
        return name != "show_panel" or offers(str(parameters[0]) if parameters else "")

    query_keys: list[BindingType] = list(QueryPanel.BINDINGS)
    monitor_keys: list[BindingType] = list(MonitorPanel.BINDINGS)
    record_keys: list[BindingType] = [*DataPanel.BINDINGS, *CellEditor.BINDINGS]
    words = NEUTRAL_WORDS
    explains = True
    if explorer is not None:
        words = words_of(explorer.session.url)
        record_keys = list(
            DataPanel.offered_keys(explorer.capabilities, read_only=explorer.session.read_only)
        )
        if any(b.action == "edit_cell" for b in record_keys if isinstance(b, Binding)):
            record_keys += CellEditor.keys(words.no_value)
        query = explorer.panels.get("query")
        if isinstance(query, QueryPanel):
            query_keys = list(query.key_bindings())
        else:
            language = language_of(explorer.session.url)
            query_keys = list(offered_keys(language, explorer.capabilities))
        monitor = explorer.panels.get("monitor")
        if isinstance(monitor, MonitorPanel):
            monitor_keys = list(monitor.key_bindings())
        explains = any(
            isinstance(b, Binding) and b.action.startswith("explain(") for b in query_keys
        )
    sections: Sections = [
        (
            "Everywhere",
            rows(type(app).BINDINGS) + [("tab", "Catalog ⇄ grid"), ("^p", "Command palette")],
        ),
        ("Catalog", rows(CatalogTree.BINDINGS) + [("↑ / ↓", "Move")]),
        # ctrl+r is listed under "Everywhere" already.
        ("Panels", [r for r in rows(filter(panel_key, Explorer.BINDINGS)) if r[1] != "Reconnect"]),
        ("Grid", rows(DataGrid.BINDINGS)),
        (
            "Grid cells",
            [
                (words.no_value, "null value"),
                ("·", "absent field"),
                ("⏎", "line break in a value"),
                ("… (size)", "cut to fit; true size"),
                ("name*", f"primary key {words.field}"),
            ],
        ),
        ("Records", rows(record_keys)),
    ]
    if offers("query"):
        # The editor's own keys, not every TextArea movement key.
        editor_keys = [b for b in QueryEditor.BINDINGS if b not in TextArea.BINDINGS]
        sections += [
            ("Query", rows(query_keys) + rows(editor_keys)),
            ("Query history", rows(HistoryPicker.BINDINGS)),
        ]
    if offers("indexes"):
        sections += [
            ("Indexes", rows(IndexPanel.BINDINGS)),
            ("New index form", rows(IndexForm.BINDINGS)),
        ]
    if offers("query") and explains:
        sections.append(("Query plan", rows(PlanTree.BINDINGS)))
    if offers("monitor"):
        sections.append(("Monitor", rows(monitor_keys)))
    return sections


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss_help", "Close", show=True, key_display="esc"),
    ]

    def __init__(self, sections: Sections) -> None:
        super().__init__(id="help")
        self.sections = sections

    def compose(self) -> ComposeResult:
        # Two columns so the whole list fits an 80x24 terminal unscrolled.
        half = (len(self.sections) + 1) // 2
        with VerticalScroll(id="help-box") as box:
            box.border_title = "storescope · keys"
            box.border_subtitle = "esc closes"
            with Horizontal(id="help-columns"):
                yield Static(self._content(self.sections[:half]), classes="help-column")
                yield Static(self._content(self.sections[half:]), classes="help-column")

    @staticmethod
    def _content(sections: Sections) -> Content:
        parts: list[str | tuple[str, str]] = []
        for n, (title, rows) in enumerate(sections):
            if n:
                parts.append("\n")
            parts.append((f"{sanitize(title)}\n", "bold $text-accent"))
            for keys, description in rows:
                parts.append((f" {sanitize(keys):<{KEY_WIDTH}} ", "bold"))
                parts.append(f"{sanitize(description)}\n")
        return Content.assemble(*parts).rstrip()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
