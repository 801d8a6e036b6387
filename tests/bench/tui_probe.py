"""The TUI half of the benchmarks: the real app in a pseudo-terminal, driven
by key bytes, timed from the key's write to the last byte of the frame it
causes — what a user at a terminal sees, with no test harness in between.

    python -m tests.bench.tui_probe POSTGRES_URL   (its database holds big, wide)

Prints one JSON line. Run by ``python -m tests.bench``.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import termios
import time

KEYS = {
    "enter": b"\r",
    "down": b"\x1b[B",
    "up": b"\x1b[A",
    "tab": b"\t",
    "pagedown": b"\x1b[6~",
    "home": b"\x1b[H",
    "q": b"q",
}


class Terminal:
    """A child process on a pty of a fixed size."""

    def __init__(self, argv: list[str], cols: int = 120, rows: int = 40) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        pid, fd = pty.fork()
        if pid == 0:
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.pid, self.fd = pid, fd
        self.screen = bytearray()

    def read_until_quiet(
        self, quiet: float, timeout: float = 30.0, marker: bytes | None = None
    ) -> float:
        """Read output until ``marker`` has been seen (if given) and then
        nothing arrives for ``quiet`` seconds; return the last byte's time."""
        last = time.perf_counter()
        seen = marker is None
        buf = bytearray()
        deadline = last + timeout
        while True:
            wait = quiet if seen else max(0.0, deadline - time.perf_counter())
            r, _, _ = select.select([self.fd], [], [], wait)
            if not r:
                if seen:
                    return last
                raise TimeoutError(f"{marker!r} never appeared")
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:
                return last
            last = time.perf_counter()
            buf += data
            self.screen += data
            if not seen and marker is not None and marker in buf:
                seen = True
                self.marker_at = last
            if time.perf_counter() > deadline:
                raise TimeoutError("output never settled")

    def press(self, key: str, *, quiet: float = 0.03, marker: bytes | None = None) -> float:
        """Send a key; return seconds from the write to the frame's last byte."""
        t0 = time.perf_counter()
        os.write(self.fd, KEYS[key])
        return self.read_until_quiet(quiet, marker=marker) - t0

    def vm_hwm_mib(self) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        try:
            os.write(self.fd, b"q")
            self.read_until_quiet(0.2, timeout=5)
        except OSError:
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)


def probe(url: str) -> dict[str, float]:
    out: dict[str, float] = {}
    term = Terminal([sys.executable, "-m", "storescope", url])
    # Catalog: the sandbox server has one database ("postgres") -> public ->
    # big, wide (tables sorted by name).
    term.read_until_quiet(0.5, marker=b"postgres")
    term.press("enter", quiet=0.3, marker=b"public")  # expand the database
    term.press("down")
    term.press("enter", quiet=0.3, marker=b"wide")  # expand public: big, wide
    term.press("down")  # on "big"
    firsts, settled = [], []
    for _ in range(7):
        # First rows: the grid draws row 1's text ("name 1") once they arrive;
        # "settled" is when the screen stops changing (scrollbar, counters).
        t0 = time.perf_counter()
        settled.append(term.press("enter", quiet=0.05, marker=b"name 1"))
        firsts.append(term.marker_at - t0)
        term.press("down", quiet=0.05)
        term.press("enter", quiet=0.2, marker=b"v01-1")  # open wide meanwhile
        term.press("up", quiet=0.05)
    out["first_rows_s"] = statistics.median(firsts)
    out["first_rows_settled_s"] = statistics.median(settled)

    # Page 50 screens down the 2M-row table; memory must stay flat.
    term.press("enter", quiet=0.1, marker=b"name 1")
    term.press("tab", quiet=0.1)
    for _ in range(50):
        term.press("pagedown", quiet=0.05)
    out["rss_mib"] = term.vm_hwm_mib()

    # PageDown on the 20-column table, key to painted frame.
    term.press("tab", quiet=0.1)  # back to the catalog
    term.press("down", quiet=0.05)
    term.press("enter", quiet=0.2, marker=b"v01-1")
    term.press("tab", quiet=0.1)
    times = [term.press("pagedown", quiet=0.03) for _ in range(60)]
    out["pagedown_ms"] = statistics.median(times) * 1000
    out["pagedown_p90_ms"] = sorted(times)[int(len(times) * 0.9)] * 1000
    term.close()
    return out


BARE_PAGER = """
from textual.app import App
from textual.binding import Binding
from textual.widgets import Static
class Bare(App):
    BINDINGS = [Binding("pagedown", "page", "Page"), Binding("q", "quit", "Quit")]
    n = 0
    def compose(self):
        yield Static(self._text(), id="s")
    def _text(self):
        first = self.n * 36
        return "\\n".join(
            f"{first + i:8d}  " + "  ".join(f"v{c:02d}-{first + i}" for c in range(12))
            for i in range(38)
        )
    def action_page(self):
        self.n += 1
        self.query_one("#s", Static).update(self._text())
Bare().run()
"""


def bare_textual_pagedown() -> float:
    """A bare Textual app repainting a full screen of text per PageDown: the
    floor any Textual grid stands on."""
    term = Terminal([sys.executable, "-c", BARE_PAGER])
    term.read_until_quiet(0.5, marker=b"v01-1")
    times = [term.press("pagedown", quiet=0.03) for _ in range(60)]
    term.close()
    return statistics.median(times) * 1000


def raw(url: str) -> dict[str, float]:
    """The raw driver doing the same fetches, in a fresh process."""
    code = f"""
import json, statistics, time, psycopg2
conn = psycopg2.connect({url!r})
out = {{}}
firsts = []
for i in range(7):
    t = time.perf_counter()
    cur = conn.cursor(name=f"b{{i}}")
    cur.execute("SELECT * FROM big ORDER BY id")
    cur.fetchmany(100)
    firsts.append(time.perf_counter() - t)
    cur.close()
    conn.rollback()
out["raw_first_rows_s"] = statistics.median(firsts)
cur = conn.cursor(name="scroll")
cur.execute("SELECT * FROM big ORDER BY id")
cur.fetchmany(50 * 36)
cur.close()
conn.rollback()
cur = conn.cursor(name="wide")
cur.execute("SELECT * FROM wide ORDER BY id")
times = []
for _ in range(60):
    t = time.perf_counter()
    cur.fetchmany(36)
    times.append(time.perf_counter() - t)
out["raw_pagedown_ms"] = statistics.median(times) * 1000
with open("/proc/self/status") as f:
    out["raw_rss_mib"] = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
print(json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def main() -> int:
    url = sys.argv[1]
    ours = probe(url)
    ours.update(raw(url))
    ours["bare_textual_pagedown_ms"] = bare_textual_pagedown()
    print(json.dumps(ours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
