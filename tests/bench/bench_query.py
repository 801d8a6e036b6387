"""Benchmark of the query panel (F3) in a real terminal, against raw psycopg2.

    python -m tests.bench.bench_query [POSTGRES_URL]

Without a URL a sandbox PostgreSQL is started. A database ``benchquery`` is
(re)created with ``big`` (2M rows, 5 columns) and 1,000 small tables. Measured
through a pseudo-terminal (tests/bench/tui_probe.py's ``Terminal``), from the
key's bytes to the frame they cause:

  F5 -> first rows of ``SELECT * FROM big``      vs psycopg2's first 200 rows
  RSS while paging 300 screens through it (flat) vs psycopg2 reading as many
  completion popup after typing (1,000 tables)   vs typing a plain character

Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg2

from tests.bench.tui_probe import Terminal

DB = "benchquery"
F3 = b"\x1bOR"
F5 = b"\x1b[15~"
CTRL_L = b"\x0c"
CTRL_U = b"\x15"
END = b"\x1b[F"
PAGEDOWN = b"\x1b[6~"
ROWS = 2_000_000


def _exec(url: str, *statements: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for s in statements:
            cur.execute(s)
    conn.close()


def prepare(server_url: str) -> str:
    _exec(server_url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    url = server_url.rsplit("/", 1)[0] + f"/{DB}"
    tables = ";".join(
        f"CREATE TABLE t{i:04d} (id integer PRIMARY KEY, label text, amount numeric)"
        for i in range(1, 1001)
    )
    _exec(
        url,
        "CREATE TABLE big (id integer PRIMARY KEY, name text, amount numeric,"
        " created timestamptz, flag boolean)",
        f"INSERT INTO big SELECT i, 'name ' || i, i * 1.5, '2024-01-01'::timestamptz"
        f" + i * interval '1 minute', i % 2 = 0 FROM generate_series(1, {ROWS}) AS i",
        tables,
        "VACUUM ANALYZE big",
    )
    return url


def send(term: Terminal, data: bytes, *, quiet: float = 0.05, marker: bytes | None = None) -> float:
    t0 = time.perf_counter()
    os.write(term.fd, data)
    return term.read_until_quiet(quiet, marker=marker) - t0


def vm_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def probe(url: str) -> dict[str, float]:
    out: dict[str, float] = {}
    env_home = tempfile.mkdtemp(prefix="bench-query-")
    os.environ["XDG_DATA_HOME"] = env_home  # a history of its own
    term = Terminal([sys.executable, "-m", "storescope", url])
    term.read_until_quiet(0.5, marker=DB.encode())
    send(term, F3, quiet=0.5, marker=b"Run")
    time.sleep(2.0)  # completion names (1,000 tables) load in the background
    term.read_until_quiet(0.2)

    # Completion: the key that opens the popup vs a plain key (a space).
    plain, popup = [], []
    for i in range(1, 8):
        send(term, END + CTRL_U, quiet=0.1)
        send(term, b"SELECT * FROM", quiet=0.1)
        plain.append(send(term, b" ", quiet=0.03))
        send(term, b"t", quiet=0.05)
        popup.append(send(term, b"0", quiet=0.03, marker=f"t0{i:03d}".encode()[:4]))
    out["completion_popup_ms"] = statistics.median(popup) * 1000
    out["plain_key_ms"] = statistics.median(plain) * 1000
    send(term, b"\x1b", quiet=0.1)  # close the popup

    # First rows: each run selects a different tag, so the marker is new.
    firsts, settled = [], []
    for i in range(1, 8):
        send(term, END + CTRL_U, quiet=0.1)
        send(term, f"SELECT 'r' || {i} || 'x' AS tag, * FROM big".encode(), quiet=0.1)
        t0 = time.perf_counter()
        settled.append(send(term, F5, quiet=0.05, marker=f"r{i}x".encode()))
        firsts.append(term.marker_at - t0)
    out["first_rows_s"] = statistics.median(firsts)
    out["first_rows_settled_s"] = statistics.median(settled)

    # Page through the last result; RSS must stay flat.
    send(term, CTRL_L, quiet=0.1)
    samples = {}
    for n in range(1, 301):
        send(term, PAGEDOWN, quiet=0.02)
        if n in (50, 150, 300):
            samples[n] = vm_rss_mib(term.pid)
    out["rss_after_50_pages_mib"] = samples[50]
    out["rss_after_150_pages_mib"] = samples[150]
    out["rss_after_300_pages_mib"] = samples[300]
    out["peak_rss_mib"] = term.vm_hwm_mib()
    os.write(term.fd, b"\x11")  # ctrl+q
    term.read_until_quiet(0.3, timeout=5)
    os.waitpid(term.pid, 0)
    os.close(term.fd)
    return out


def index_latency() -> dict[str, float]:
    """The completion index itself: building it and one lookup, 1,000 tables."""
    from storescope.backends.sql_language import SQL_KEYWORDS
    from storescope.tui.widgets.query.completion import CompletionIndex

    names = [(f"t{i:04d}", "table") for i in range(1, 1001)]
    names += [
        (f"t{i:04d}.{c}", "column") for i in range(1, 1001) for c in ("id", "label", "amount")
    ]
    t0 = time.perf_counter()
    index = CompletionIndex.build(names, SQL_KEYWORDS)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(1000):
        index.matches("t0")
    lookup = (time.perf_counter() - t0) / 1000
    return {"index_build_ms": built * 1000, "index_lookup_us": lookup * 1e6}


def raw(url: str) -> dict[str, float]:
    code = f"""
import json, statistics, time, psycopg2
conn = psycopg2.connect({url!r})
out = {{}}
firsts = []
for i in range(7):
    t = time.perf_counter()
    cur = conn.cursor(name=f"b{{i}}")
    cur.execute("SELECT 'r' || %s || 'x' AS tag, * FROM big", (i,))
    cur.fetchmany(200)
    firsts.append(time.perf_counter() - t)
    cur.close()
    conn.rollback()
out["raw_first_rows_s"] = statistics.median(firsts)
cur = conn.cursor(name="scroll")
cur.execute("SELECT * FROM big")
for _ in range(300):
    cur.fetchmany(36)
cur.close()
conn.rollback()
with open("/proc/self/status") as f:
    out["raw_rss_mib"] = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
print(json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def main() -> int:
    server = None
    if len(sys.argv) > 1:
        server_url = sys.argv[1]
    else:
        from storescope.backends import sandbox

        server = sandbox.start_postgres()
        server_url = server.url
    try:
        t0 = time.perf_counter()
        url = prepare(server_url)
        out: dict[str, float] = {"prepare_s": time.perf_counter() - t0}
        out.update(raw(url))
        out.update(probe(url))
        out.update(index_latency())
        out["first_rows_ratio_vs_raw"] = out["first_rows_s"] / out["raw_first_rows_s"]
        out["rss_ratio_vs_raw"] = out["peak_rss_mib"] / out["raw_rss_mib"]
        out["popup_ratio_vs_plain_key"] = out["completion_popup_ms"] / out["plain_key_ms"]
        print(json.dumps({k: round(v, 4) for k, v in out.items()}, indent=1))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
