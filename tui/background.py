"""One way to call a backend from a widget without blocking the event loop.

Every panel used to repeat the same thread worker: call the session, post one
message on success and another on failure, and post nothing once the worker
was cancelled (a newer request replaced it). ``call_in_background`` is that
pattern once::

    call_in_background(
        self,
        lambda b: b.list_indexes(path),
        done=lambda indexes: self.IndexesLoaded(path, indexes),
        failed=lambda e: self.IndexesFailed(e, path),
        group="index_loaders",
    )

``done`` and ``failed`` build the message to post (or return ``None`` to
post nothing); they run in the worker thread, so they must only build a
message, never touch a widget. A worker replaced by a newer one of the same
group (``exclusive=True``) is cancelled and its result dropped, unless
``post_when_cancelled`` says the outcome must still be heard (an apply whose
result the user has to learn even when a new request came).

A call that is not a ``BackendError`` is a bug: the worker ends in the ERROR
state, which the panels report through ``WorkFailed`` as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.message import Message
from textual.worker import Worker, get_current_worker

from storescope.backends.errors import BackendError

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from storescope.backends.base import Backend
    from storescope.tui.session import Session

T = TypeVar("T")


def call_in_background(
    widget: DOMNode,
    call: Callable[[Backend], T],
    *,
    done: Callable[[T], Message | None],
    failed: Callable[[BackendError], Message | None],
    group: str,
    session: Session | None = None,
    abandonable: bool = True,
    exclusive: bool = True,
    post_when_cancelled: bool = False,
    target: DOMNode | None = None,
) -> Worker[None]:
    """Run ``call`` on the session in a thread worker and post its outcome.

    ``session`` defaults to the widget's ``context.session``; ``target`` (the
    widget by default) receives the message. ``abandonable=False`` is for a
    commit whose outcome the caller must learn (see ``Session.call``).
    """
    the_session: Session = session if session is not None else widget.context.session  # type: ignore[attr-defined]
    receiver = target if target is not None else widget

    def work() -> None:
        worker = get_current_worker()
        try:
            result = the_session.call(call, abandonable=abandonable)
        except BackendError as e:
            message = failed(e)
        else:
            message = done(result)
        if message is not None and (post_when_cancelled or not worker.is_cancelled):
            receiver.post_message(message)

    runner: Any = widget
    worker: Worker[None] = runner.run_worker(
        work, thread=True, exclusive=exclusive, exit_on_error=False, group=group
    )
    return worker
