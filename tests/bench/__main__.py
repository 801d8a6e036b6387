"""storescope benchmarks, run on demand: ``python -m tests.bench``.

Each measure is printed beside the raw driver (or a bare Textual app) measured
in the same run, so a noisy machine cancels out in the ratio. Not part of the
timed test suite (pytest ignores tests/bench).

Measures (targets from the foundation issue):
  launch -> first paint                      <= 0.35 s
  key -> first rows of a 2M-row PG table     <= 150 ms
  peak RSS after paging 50 screens down it   <= 100 MiB
  PageDown latency, 20-column grid           <= 35 ms median
  browse --all --format jsonl over 2M rows   flat RSS <= 100 MiB, >= 1/3 raw throughput
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_child(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    stdout: int | None = subprocess.DEVNULL,
    tty: bool = False,
) -> tuple[float, float, int, bytes]:
    """Run a child; return (wall seconds, peak RSS MiB, exit status, output)."""
    full_env = {**os.environ, **(env or {})}
    out = b""
    t0 = time.perf_counter()
    if tty:
        import pty

        pid, fd = pty.fork()
        if pid == 0:  # child
            os.execvpe(argv[0], argv, full_env)
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        _, status, usage = os.wait4(pid, 0)
        out = b"".join(chunks)
    else:
        proc = subprocess.Popen(argv, env=full_env, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        assert proc.stderr is not None
        out = proc.stderr.read()
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out


def median_of(values: list[float]) -> float:
    return statistics.median(values)


def row(name: str, ours: float, raw: float, unit: str, target: str) -> None:
    ratio = ours / raw if raw else float("nan")
    print(
        f"{name:<44} {ours:>10.3f} {unit:<4} raw {raw:>10.3f} {unit:<4} ratio {ratio:>6.2f}   target {target}"
    )


# -- data ---------------------------------------------------------------------


def make_pg(rows: int) -> tuple[object, str]:
    from storescope.backends import sandbox

    server = sandbox.start_postgres()
    import psycopg2

    conn = psycopg2.connect(server.url)
    conn.autocommit = True
    cur = conn.cursor()
    t = time.perf_counter()
    cur.execute(
        "CREATE TABLE big (id bigint PRIMARY KEY, name text, amount numeric(12,2), "
        "created_at timestamptz, flag boolean)"
    )
    cur.execute(
        "INSERT INTO big SELECT g, 'name ' || g, (g %% 100000) / 100.0, "
        "timestamptz '2026-01-01' + g * interval '1 second', g %% 2 = 0 "
        "FROM generate_series(1, %s) g",
        (rows,),
    )
    cols = ", ".join(f"c{i:02d} text" for i in range(1, 20))
    vals = ", ".join(f"'v{i:02d}-' || g" for i in range(1, 20))
    cur.execute(f"CREATE TABLE wide (id bigint PRIMARY KEY, {cols})")
    cur.execute(f"INSERT INTO wide SELECT g, {vals} FROM generate_series(1, 100000) g")
    cur.execute("ANALYZE")
    conn.close()
    print(
        f"# seeded big ({rows:,} rows) and wide (100,000 x 20) in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    return server, server.url  # type: ignore[attr-defined]


# -- measures -----------------------------------------------------------------

BARE_APP = """
import os, sys, time
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self._painted)
    def _painted(self):
        stamp = os.environ.get("STORESCOPE_PAINT_STAMP")
        if stamp:
            with open(stamp, "w") as f:
                f.write(repr(time.time()))
        self.exit()
Bare().run()
"""


def bench_launch(runs: int) -> None:
    import tempfile

    stamp = Path(tempfile.mkdtemp()) / "stamp"
    env = {
        "STORESCOPE_EXIT_AFTER_PAINT": "1",
        "STORESCOPE_PAINT_STAMP": str(stamp),
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "40",
    }

    def once(argv: list[str]) -> float:
        stamp.unlink(missing_ok=True)
        t0 = time.time()
        run_child(argv, env=env, tty=True)
        return float(stamp.read_text()) - t0

    ours_argv = [sys.executable, "-m", "storescope", "fake://demo"]
    bare_argv = [sys.executable, "-c", BARE_APP]
    once(ours_argv), once(bare_argv)  # warm the page cache
    ours = [once(ours_argv) for _ in range(runs)]
    bare = [once(bare_argv) for _ in range(runs)]
    row(
        "launch -> first paint (median)",
        median_of(ours),
        median_of(bare),
        "s",
        "<= 0.35 s (raw = bare Textual app)",
    )


# Runs a module or code as __main__ and reports the process's own peak RSS
# (VmHWM) on stderr at exit: a child's rusage on Linux can include the memory
# of the parent it was forked from, before the exec.
HWM_WRAPPER = (
    "import atexit, runpy, sys\n"
    "def hwm():\n"
    "    with open('/proc/self/status') as f:\n"
    "        kb = next(int(l.split()[1]) for l in f if l.startswith('VmHWM:'))\n"
    "    sys.stderr.write(f'\\nVMHWM {kb}\\n')\n"
    "atexit.register(hwm)\n"
    "mode, target = sys.argv[1], sys.argv[2]\n"
    "sys.argv = [target, *sys.argv[3:]]\n"
    "if mode == '-m':\n"
    "    runpy.run_module(target, run_name='__main__', alter_sys=True)\n"
    "else:\n"
    "    exec(compile(target, '<raw>', 'exec'), {'__name__': '__main__'})\n"
)


def _hwm(stderr: bytes) -> float:
    for line in reversed(stderr.decode(errors="replace").splitlines()):
        if line.startswith("VMHWM "):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_browse_all(url: str) -> None:
    ours = [
        sys.executable,
        "-c",
        HWM_WRAPPER,
        "-m",
        "storescope",
        "browse",
        url,
        "postgres/public/big",
        "--all",
        "--format",
        "jsonl",
    ]
    raw_code = (
        "import sys, json, psycopg2\n"
        f"conn = psycopg2.connect({url!r})\n"
        "cur = conn.cursor(name='raw'); cur.itersize = 5000\n"
        "cur.execute('SELECT * FROM big ORDER BY id')\n"
        "rows = iter(cur)\n"
        "first = next(rows)\n"
        "names = [d[0] for d in cur.description]\n"
        "w = sys.stdout.write\n"
        "w(json.dumps(dict(zip(names, first)), default=str) + '\\n')\n"
        "for r in rows:\n"
        "    w(json.dumps(dict(zip(names, r)), default=str) + '\\n')\n"
    )
    raw = [sys.executable, "-c", HWM_WRAPPER, "-c", raw_code]
    with open(os.devnull, "wb") as null:
        ow, _, ocode, oerr = run_child(ours, stdout=null.fileno())
        rw, _, rcode, rerr = run_child(raw, stdout=null.fileno())
    orss, rrss = _hwm(oerr), _hwm(rerr)
    if ocode or rcode:
        print("# browse --all failed:", ocode, oerr.decode()[-500:], rcode, rerr.decode()[-500:])
        return
    n = ROWS
    row("browse --all jsonl: rows/s", n / ow, n / rw, "r/s", ">= 1/3 of raw (ratio >= 0.33)")
    row("browse --all jsonl: peak RSS", orss, rrss, "MiB", "<= 100 MiB, flat")


def bench_tui(url: str, runs: int) -> None:
    """Runs tests/bench/tui_probe.py in a child (clean RSS) and prints its rows."""
    argv = [sys.executable, "-m", "tests.bench.tui_probe", url]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=900)
    if proc.returncode != 0:
        print("# tui probe failed:", proc.stderr[-2000:])
        return
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    row(
        "key -> first rows, 2M-row table (median)",
        results["first_rows_s"] * 1000,
        results["raw_first_rows_s"] * 1000,
        "ms",
        "<= 150 ms (raw = named cursor, 100 rows)",
    )
    row(
        "key -> first rows, screen settled (median)",
        results["first_rows_settled_s"] * 1000,
        results["raw_first_rows_s"] * 1000,
        "ms",
        "(the frames after: scrollbar, counters)",
    )
    row(
        "peak RSS after paging 50 screens",
        results["rss_mib"],
        results["raw_rss_mib"],
        "MiB",
        "<= 100 MiB (raw = psycopg2 process fetching the same rows)",
    )
    row(
        "PageDown, 20-column grid (median)",
        results["pagedown_ms"],
        results["raw_pagedown_ms"],
        "ms",
        "<= 35 ms (raw = fetchmany of one screen)",
    )
    row(
        "PageDown vs a bare Textual full repaint",
        results["pagedown_ms"],
        results["bare_textual_pagedown_ms"],
        "ms",
        "(the floor: a Static repainted with 38 new lines)",
    )


ROWS = 2_000_000


def main() -> int:
    global ROWS
    ap = argparse.ArgumentParser(prog="python -m tests.bench")
    ap.add_argument("--rows", type=int, default=ROWS)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument(
        "--only",
        default="launch,tui,browse,query,monitor",
        help="comma-separated: launch, tui, browse, query, monitor",
    )
    args = ap.parse_args()
    ROWS = args.rows
    only = set(args.only.split(","))
    print(
        f"# storescope benchmarks, {os.cpu_count()} cores, python {sys.version.split()[0]}",
        flush=True,
    )
    if "launch" in only:
        bench_launch(args.runs)
    if only & {"tui", "browse"}:
        server, url = make_pg(ROWS)
        try:
            if "tui" in only:
                bench_tui(url, args.runs)
            if "browse" in only:
                bench_browse_all(url)
        finally:
            server.stop()  # type: ignore[attr-defined]
    # Issue 3's benches start their own servers; each prints its own rows.
    status = 0
    for name in ("query", "monitor"):
        if name in only:
            module = f"tests.bench.bench_{name}"
            status |= subprocess.run([sys.executable, "-m", module], cwd=ROOT).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
