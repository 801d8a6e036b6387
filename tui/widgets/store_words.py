"""The store's nouns for a widget's sentences (``Backend.words``).

A widget that counts records or names a missing value ("rows 1–19 of ≥ 200",
"→ 3 documents", a NULL cell) says it in the words of the store it shows.
Those are a class attribute of the backend serving the connection's URL, so
they are known without a connection. A widget inside a panel finds them
through the panel's session; one shown alone (a test) is given them, or
speaks the neutral words (record, container).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storescope import backends
from storescope.backends.errors import BackendError
from storescope.backends.types import StoreWords

if TYPE_CHECKING:
    from textual.dom import DOMNode

#: The words of a store nobody described (a widget shown alone).
NEUTRAL_WORDS = StoreWords()


def words_of(url: str) -> StoreWords:
    """The words of the backend class serving ``url`` (no connection)."""
    try:
        words: StoreWords = backends.described(url, "words")
        return words
    except BackendError:
        return NEUTRAL_WORDS


def words_near(node: DOMNode) -> StoreWords:
    """The words of the store shown by the panel ``node`` is in (the
    nearest ancestor with a ``PanelContext``), or the neutral words."""
    from storescope.tui.widgets.panel import Panel

    for ancestor in node.ancestors_with_self:
        if isinstance(ancestor, Panel):
            return words_of(ancestor.context.session.url)
    return NEUTRAL_WORDS
