"""Throughput and memory of ``storescope browse --all --format jsonl`` on a big
PostgreSQL table, against raw psycopg2 doing the same job.

Not a test (tests/bench is outside the timed suite). Run from the repo root:

    python tests/bench/bench_cli_browse_all.py            # 2,000,000 rows
    python tests/bench/bench_cli_browse_all.py --rows 200000

It starts its own sandbox PostgreSQL, creates ``bench.public.big`` (5 columns:
bigint key, text, numeric(12,2), timestamptz, float8) with generate_series,
then runs, each in a fresh child process writing to /dev/null:

- ``raw``: a psycopg2 named cursor (itersize 5000) and ``json.dumps`` of a
  dict per row (``default=str`` for Decimal and datetime) — what a script
  would write by hand;
- ``cli``: ``tui.cli.main(['browse', URL, 'bench/public/big', '--all', '--format',
  'jsonl'])``, i.e. ``storescope browse URL bench/public/big --all --format jsonl``.

and prints rows/s and the child's peak RSS (``wait4`` rusage), best of N runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from storescope.backends import sandbox  # noqa: E402

# Peak RSS from /proc/self/status: a child's getrusage ru_maxrss is not usable,
# because Linux carries the pre-exec high-water mark (the forking parent's,
# with vfork) over exec().
HWM = "sys.stderr.write([l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])"

RAW = (
    """
import json, sys, psycopg2
conn = psycopg2.connect(sys.argv[1])
cur = conn.cursor(name="raw")
cur.itersize = 5000
cur.execute("SELECT * FROM big")
cols = None
out = sys.stdout
n = 0
for row in cur:
    if cols is None:
        cols = [d[0] for d in cur.description]
    out.write(json.dumps(dict(zip(cols, row)), default=str) + "\\n")
    n += 1
out.flush()
print(n, file=sys.stderr)
"""
    + HWM
    + "\n"
)

# The CLI's own main(), in a fresh interpreter that reports its VmHWM at the end.
CLI = (
    """
import sys
from storescope.tui.cli import main
rc = main(sys.argv[1:])
sys.stdout.flush()
"""
    + HWM
    + "\nsys.exit(rc)\n"
)


def _run(argv: list[str]) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB, rows written) of one child
    writing to /dev/null. CPU time (user + sys) is the steadier number on a
    busy machine; wall time includes waiting for the server."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(os.devnull, "wb") as devnull:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=devnull, stderr=subprocess.PIPE, cwd=ROOT, env=env)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {err.decode()[-500:]}")
    lines = err.decode().split("\n")
    hwm = next(int(line.split()[1]) for line in lines if line.startswith("VmHWM:"))
    counts = [line for line in lines if line.strip().isdigit()]
    rows = int(counts[0]) if counts else -1
    return elapsed, usage.ru_utime + usage.ru_stime, hwm, rows


def _count_cli_rows(url: str) -> int:
    """Every row exactly once (a separate run, so counting does not slow the timed one)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "storescope",
            "browse",
            url,
            "bench/public/big",
            "--all",
            "--format",
            "jsonl",
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None
    n = sum(1 for _ in proc.stdout)
    proc.wait()
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    import psycopg2

    server = sandbox.start_postgres()
    try:
        admin = psycopg2.connect(server.url)
        admin.autocommit = True
        admin.cursor().execute("CREATE DATABASE bench")
        admin.close()
        url = server.url.rsplit("/", 1)[0] + "/bench"
        conn = psycopg2.connect(url)
        conn.autocommit = True
        start = time.monotonic()
        conn.cursor().execute(
            """
            CREATE TABLE big (id bigint PRIMARY KEY, name text, amount numeric(12,2),
                              created timestamptz, score float8);
            INSERT INTO big
            SELECT g, 'customer ' || g, (g %% 100000) / 100.0,
                   timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
                   g / 7.0
            FROM generate_series(1, %s) g;
            """,
            (args.rows,),
        )
        conn.cursor().execute("VACUUM ANALYZE big")
        conn.close()
        print(f"seeded {args.rows:,} rows in {time.monotonic() - start:.1f} s")

        raw_cmd = [sys.executable, "-c", RAW, url]
        cli_cmd = [
            sys.executable,
            "-c",
            CLI,
            "browse",
            server.url,
            "bench/public/big",
            "--all",
            "--format",
            "jsonl",
        ]
        best: dict[str, tuple[float, float, int]] = {}
        for name, cmd in [("raw", raw_cmd), ("cli", cli_cmd)] * args.runs:
            wall, cpu, rss, rows = _run(cmd)
            if name == "raw":
                assert rows == args.rows, rows
            print(
                f"  {name}: wall {wall:6.2f} s ({args.rows / wall:9,.0f} rows/s)  "
                f"cpu {cpu:6.2f} s ({args.rows / cpu:9,.0f} rows/cpu-s)  "
                f"peak RSS {rss / 1024:5.1f} MiB"
            )
            old = best.get(name, (float("inf"), float("inf"), 0))
            best[name] = (min(old[0], wall), min(old[1], cpu), max(old[2], rss))
        n = _count_cli_rows(server.url)
        assert n == args.rows, f"cli wrote {n} rows, expected {args.rows}"
        for name in ("raw", "cli"):
            wall, cpu, rss = best[name]
            print(
                f"best {name}: {args.rows / wall:,.0f} rows/s wall, "
                f"{args.rows / cpu:,.0f} rows/cpu-s, peak RSS {rss / 1024:.1f} MiB"
            )
        print(
            f"cli / raw throughput: {best['raw'][0] / best['cli'][0]:.2f} (wall), "
            f"{best['raw'][1] / best['cli'][1]:.2f} (cpu); every row exactly once: {n:,}"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
