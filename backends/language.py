"""How a backend describes its query language to the query editor.

The query panel knows no language: everything it says and does that depends
on one (the name in its hint line, the file extension of its open/save
dialogs, the highlighting, what completion offers after the word typed, how
an identifier is quoted, the formatter, the text "open in query" writes, the
explain and transaction words, the title of a result tab) comes from the
backend's ``QueryLanguage`` (``Backend.language``). A part a store does not
have is ``None``, and the panel then offers no key for it.

Every field has a default, so a store whose query is a command line needs
to name little more than ``name``: ``PLAIN`` is such a description, and the
one a backend gets when it declares none.

The descriptions are frozen values holding plain functions: they are read
on the event loop (a few of them are called there too: ``title_of``,
``completion.context``, ``format``, ``open_template``), so none of those
functions may touch the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .types import StatementKind

if TYPE_CHECKING:
    from .types import Statement

__all__ = [
    "PLAIN",
    "CompletionContext",
    "CompletionRules",
    "ExplainWords",
    "QueryLanguage",
    "TransactionWords",
]


@dataclass(frozen=True, slots=True)
class CompletionContext:
    """What the editor should offer for the word being typed.

    ``qualifier`` is the name before a member separator ("orders" in
    ``orders.cu``), as typed; ``word`` the part typed so far (replaced when a
    name is accepted). ``prefer`` lists the kinds of name (as
    ``Backend.completions`` calls them: "table", "column", "keyword"...) that
    fit here, best first; names of other kinds come after them, and an empty
    ``prefer`` keeps alphabetical order.
    """

    qualifier: str | None
    word: str
    prefer: tuple[str, ...] = ()


_PLAIN_WORD = re.compile(r"(?:(?P<q>[\w$]+)\.)?(?P<w>[\w$]*)$")


def plain_context(text: str, cursor: int) -> CompletionContext:
    """The word (letters, digits, ``_``, ``$``) ending at ``cursor``, with
    the name before a ``.`` as its qualifier; no preferred kinds."""
    m = _PLAIN_WORD.search(text[:cursor])
    if m is None:
        return CompletionContext(None, "")
    return CompletionContext(m.group("q"), m.group("w"))


def plain_split(name: str) -> tuple[str, str] | None:
    """``orders.total`` -> ("orders", "total"); None for a name without a dot."""
    head, dot, tail = name.partition(".")
    return (head, tail) if dot and head and tail else None


def plain_quote(name: str) -> str:
    return name


@dataclass(frozen=True, slots=True)
class CompletionRules:
    """How the editor completes names of this language.

    ``context(text, cursor)`` reads the text before the cursor (the editor
    passes a bounded window of it) and says what to offer. ``split_name``
    splits a qualified name from ``Backend.completions`` ("table.column")
    into (qualifier, member), or None when it is not qualified. ``quote``
    writes an identifier so the language reads it back as that name.
    ``word_chars`` are the characters, beside letters and digits, that keep
    a completion going while typed (others close it). ``keywords`` are
    offered too, as written.
    """

    keywords: tuple[str, ...] = ()
    context: Callable[[str, int], CompletionContext] = plain_context
    split_name: Callable[[str], tuple[str, str] | None] = plain_split
    quote: Callable[[str], str] = plain_quote
    word_chars: str = "_$."


@dataclass(frozen=True, slots=True)
class ExplainWords:
    """What the explain keys and a plan's tab say (``Capability.EXPLAIN``).

    ``analyze_label`` is None for a store that cannot run a statement to
    measure it (no second key then). ``analyze_runs``: measuring executes
    the statement, so one that writes asks first, with ``analyze_warning``
    as the question (the store undoes it, or says here that it does not).
    """

    label: str = "Explain"
    title: str = "Plan"
    analyze_label: str | None = None
    analyze_title: str = "Plan, measured"
    analyze_runs: bool = True
    analyze_warning: str = "Measuring the plan runs the statement."


def _never(statement: Statement) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class TransactionWords:
    """How a store with ``Capability.TRANSACTIONS`` names its transactions.

    ``begin``/``commit``/``rollback`` are the store's own words (the status
    line and questions quote them). The status line says ``"{begin} ·
    {open}"`` while a transaction is open, ``"{failed} · {rollback}"`` when
    a statement failed inside it, and ``autocommit`` or ``manual`` outside
    one. ``begins(statement)`` is True for a statement (as the backend's
    ``split`` made it) that opens a transaction, so a destructive statement
    after it is known to be undoable.
    """

    begin: str = "begin"
    commit: str = "commit"
    rollback: str = "roll back"
    open: str = "in transaction"
    failed: str = "transaction failed"
    autocommit: str = "autocommit"
    manual: str = "manual · next statement begins"
    begins: Callable[[Statement], bool] = _never


def kind_title(statement: Statement) -> str:
    """A result tab's title from what the statement does."""
    return _KIND_TITLES.get(statement.kind, "run")


_KIND_TITLES = {
    StatementKind.READ: "read",
    StatementKind.WRITE: "write",
    StatementKind.DDL: "schema",
    StatementKind.TRANSACTION: "transaction",
}


@dataclass(frozen=True, slots=True)
class QueryLanguage:
    """A store's query language as the query editor shows it.

    ``name`` leads the editor's hint line and names the formatter key.
    ``extension`` (with its dot, or "") names the files the editor opens and
    saves. ``highlight`` is a TextArea (tree-sitter) language name, or None.
    ``title_of(statement)`` is a result tab's title (a few characters).
    ``format`` rewrites a text neatly (None: no format key).
    ``open_template(path)`` is a statement reading the catalog node at
    ``path`` (None: no such key), and ``open_label`` that key's label.
    ``explain`` and ``transactions`` are read only when the backend has the
    capability; ``transactions`` None offers no transaction keys at all.
    """

    name: str = "query"
    extension: str = ""
    highlight: str | None = None
    completion: CompletionRules = field(default_factory=CompletionRules)
    title_of: Callable[[Statement], str] = kind_title
    format: Callable[[str], str] | None = None
    open_template: Callable[[tuple[str, ...]], str] | None = None
    open_label: str = "Query the current node"
    explain: ExplainWords = field(default_factory=ExplainWords)
    transactions: TransactionWords | None = None

    @property
    def files(self) -> str:
        """How the open/save keys name the files: ".sql" or "file"."""
        return self.extension or "file"


#: The description of a store that declares none: a plain command line.
PLAIN = QueryLanguage()
