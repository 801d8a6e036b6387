"""The monitor panel's cost while it shows: CPU of the app polling every 2 s.

    python -m tests.bench.bench_monitor [--seconds 30] [--url POSTGRES_URL]

Starts a sandbox PostgreSQL (unless --url is given), runs the real app in a
pseudo-terminal (120x40), opens the monitor panel (F6) and measures the app
process's CPU time (utime + stime from /proc/<pid>/stat) over ``--seconds``
of polling. The same run measures:

- the app idle on the data panel for as long (the floor: Textual's own
  timers, the cursor...);
- the raw baseline: ``backend.stats()`` called directly in this process
  every 2 s for as long (the queries and their decoding, no UI).

Prints one line per measure, and the ratio app / raw. Target: the app
with the monitor shown stays under 5 % of one core.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time

from tests.bench.tui_probe import Terminal

F6 = b"\x1b[17~"
F2 = b"\x1b[12~"
INTERVAL = 2.0


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After "pid (comm)": state is field 3, utime 14, stime 15 (1-based).
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def _drain(term: Terminal, seconds: float) -> int:
    """Keep reading the app's output for ``seconds`` (a terminal that is not
    read blocks the app); returns the bytes it drew."""
    end = time.perf_counter() + seconds
    drawn = 0
    while (left := end - time.perf_counter()) > 0:
        ready, _, _ = select.select([term.fd], [], [], left)
        if ready:
            try:
                drawn += len(os.read(term.fd, 1 << 16))
            except OSError:
                break
    return drawn


def app_cpu(url: str, seconds: float) -> tuple[float, float, int, int]:
    """(% of one core with the monitor shown, % idle on the data panel,
    bytes drawn while monitoring, bytes drawn idle)."""
    term = Terminal([sys.executable, "-m", "storescope", url])
    try:
        term.read_until_quiet(0.5, marker=b"postgres")
        _drain(term, 1.0)
        # Idle first: the data panel, nothing polling.
        t0, c0 = time.perf_counter(), _cpu_seconds(term.pid)
        idle_drawn = _drain(term, seconds)
        idle = (_cpu_seconds(term.pid) - c0) / (time.perf_counter() - t0)

        os.write(term.fd, F6)
        term.read_until_quiet(0.3, marker=b"Sessions")
        _drain(term, 2 * INTERVAL)  # the first samples build the tables
        t0, c0 = time.perf_counter(), _cpu_seconds(term.pid)
        drawn = _drain(term, seconds)
        shown = (_cpu_seconds(term.pid) - c0) / (time.perf_counter() - t0)
        os.write(term.fd, F2)
        _drain(term, 0.5)
    finally:
        term.close()
    return shown * 100, idle * 100, drawn, idle_drawn


def raw_cpu(url: str, seconds: float) -> tuple[float, int]:
    """(% of one core, samples): backend.stats() every 2 s in this process."""
    from storescope.backends import open_backend

    backend = open_backend(url)
    backend.connect()
    try:
        backend.stats()  # connect, first statement: not part of the steady state
        samples = 0
        t0, c0 = time.perf_counter(), time.process_time()
        next_at = t0
        while time.perf_counter() - t0 < seconds:
            backend.stats()
            samples += 1
            next_at += INTERVAL
            time.sleep(max(0.0, min(next_at, t0 + seconds) - time.perf_counter()))
        cpu = (time.process_time() - c0) / (time.perf_counter() - t0)
    finally:
        backend.close()
    return cpu * 100, samples


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.bench_monitor")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--url", default="")
    args = ap.parse_args()
    server = None
    url = args.url
    if not url:
        from storescope.backends import sandbox

        server = sandbox.start_postgres()
        url = server.url
    try:
        shown, idle, drawn, idle_drawn = app_cpu(url, args.seconds)
        raw, samples = raw_cpu(url, args.seconds)
    finally:
        if server is not None:
            server.stop()
    print(f"# monitor panel CPU over {args.seconds:.0f} s, polling every {INTERVAL:.0f} s")
    print(f"app, monitor shown          {shown:6.2f} % of one core   ({drawn:,} bytes drawn)")
    print(f"app, idle on the data panel {idle:6.2f} % of one core   ({idle_drawn:,} bytes drawn)")
    print(f"raw backend.stats() loop    {raw:6.2f} % of one core   ({samples} samples)")
    ratio = shown / raw if raw else float("nan")
    verdict = "ok" if shown < 5.0 else "OVER TARGET"
    print(
        f"ratio app / raw             {ratio:6.2f}            target < 5 % of one core: {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
