"""Starting child processes the way a user's shell would, whatever started the suite."""

from __future__ import annotations

import signal


def default_signals() -> None:
    """``preexec_fn`` for a child a test will signal: SIGINT back to its
    default disposition. Under ``nohup``, in the background (``&``) or from
    some CI runners the suite itself runs with SIGINT ignored, and a child
    inherits that, so the Ctrl+C the test sends would do nothing; a user's
    terminal always delivers it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
