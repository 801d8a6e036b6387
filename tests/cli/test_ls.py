"""`storescope ls`: one level of each store's catalog, as a script reads it."""

from __future__ import annotations

import json

import pytest

from storescope.backends.paths import decode_path

from .conftest import BUCKET, MONGO_DB, PG_DB, REDIS_DB, run_cli

LS_KEYS = {"path", "name", "kind", "estimate", "detail"}

# store fixture -> (top-level name it must show, kind, a nested PATH, a child path it must show, kind)
CASES = {
    "pg_cli": (PG_DB, "database", f"{PG_DB}/public", f"{PG_DB}/public/items", "table"),
    "mongo_cli": (MONGO_DB, "database", MONGO_DB, f"{MONGO_DB}/people", "collection"),
    "redis_cli": (f"db{REDIS_DB}", "database", f"db{REDIS_DB}", f"db{REDIS_DB}/user:", "namespace"),
    "s3_cli": (BUCKET, "bucket", BUCKET, f"{BUCKET}/readme.md", "object"),
}


def _json_lines(stdout: str) -> list[dict[str, object]]:
    """``ls --json``: one JSON array of objects (the whole stdout, for json.loads)."""
    entries = json.loads(stdout)
    assert isinstance(entries, list) and all(isinstance(e, dict) for e in entries), stdout
    return entries


@pytest.mark.parametrize("store", list(CASES))
def test_ls_top_level_lists_the_seeded_container(
    store: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(store)
    top, kind, *_ = CASES[store]
    r = run_cli("ls", url, "--json")
    assert r.returncode == 0, r.stderr
    entries = _json_lines(r.stdout)
    assert all(set(e) == LS_KEYS for e in entries)
    mine = [e for e in entries if e["path"] == top]
    assert mine and mine[0]["name"] == top and mine[0]["kind"] == kind


@pytest.mark.parametrize("store", list(CASES))
def test_ls_nested_json_shape_for_each_store(store: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(store)
    _, _, parent, child, kind = CASES[store]
    r = run_cli("ls", url, parent, "--json")
    assert r.returncode == 0, r.stderr
    entries = {e["path"]: e for e in _json_lines(r.stdout)}
    assert child in entries, entries
    entry = entries[child]
    assert entry["kind"] == kind
    assert entry["name"] == decode_path(child)[-1]
    assert entry["estimate"] is None or isinstance(entry["estimate"], int)


def test_ls_plain_output_is_tab_separated_path_kind_estimate(pg_cli: str) -> None:
    r = run_cli("ls", pg_cli, f"{PG_DB}/public")
    assert r.returncode == 0, r.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in r.lines}
    items = rows[f"{PG_DB}/public/items"]
    assert items[1] == "table"
    assert items[2] == "-" or items[2].isdigit()


def test_ls_estimate_is_a_number_when_the_store_knows_it(pg_cli: str) -> None:
    r = run_cli("ls", pg_cli, f"{PG_DB}/public", "--json")
    many = next(e for e in _json_lines(r.stdout) if e["name"] == "many")
    # ANALYZE ran at seeding: reltuples is exact here, but only an estimate is promised.
    assert isinstance(many["estimate"], int) and many["estimate"] > 10_000


def test_ls_percent_encodes_slash_and_percent_in_names(pg_cli: str, redis_cli: str) -> None:
    r = run_cli("ls", pg_cli, f"{PG_DB}/public", "--json")
    odd = next(e for e in _json_lines(r.stdout) if e["name"] == "a/b%c")
    assert odd["path"] == f"{PG_DB}/public/a%2Fb%25c"
    browsed = run_cli("browse", pg_cli, str(odd["path"]), "--format", "jsonl")
    assert browsed.returncode == 0, browsed.stderr
    assert [json.loads(x)["id"] for x in browsed.lines] == [1, 2]

    r = run_cli("ls", redis_cli, f"db{REDIS_DB}")
    paths = [line.split("\t")[0] for line in r.lines]
    assert f"db{REDIS_DB}/odd%2Fkey%251" in paths


def test_ls_s3_prefix_segment_is_encoded_and_lists_its_objects(s3_cli: str) -> None:
    r = run_cli("ls", s3_cli, BUCKET, "--json")
    prefix = next(e for e in _json_lines(r.stdout) if e["kind"] == "prefix")
    assert prefix["name"] == "logs/" and prefix["path"] == f"{BUCKET}/logs%2F"
    inner = run_cli("ls", s3_cli, str(prefix["path"]), "--json")
    assert inner.returncode == 0, inner.stderr
    names = {e["name"] for e in _json_lines(inner.stdout)}
    assert names == {"2024/", "b.txt"}


@pytest.mark.parametrize("store", list(CASES))
def test_ls_json_is_one_array_and_format_jsonl_one_object_per_line(
    store: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(store)
    _, _, parent, child, _ = CASES[store]
    as_json = run_cli("ls", url, parent, "--json")
    as_format_json = run_cli("ls", url, parent, "--format", "json")
    as_jsonl = run_cli("ls", url, parent, "--format", "jsonl")
    for r in (as_json, as_format_json, as_jsonl):
        assert r.returncode == 0, r.stderr
    array = json.loads(as_json.stdout)
    assert isinstance(array, list) and array
    assert all(set(e) == LS_KEYS for e in array)
    assert child in {e["path"] for e in array}
    assert json.loads(as_format_json.stdout) == array
    # jsonl: the same objects, in the same order, each alone on its line.
    assert [json.loads(line) for line in as_jsonl.lines] == array
    assert as_jsonl.stdout.count("\n") == len(array)


def test_ls_an_empty_level_is_an_empty_array(redis_cli: str) -> None:
    empty = f"db{(REDIS_DB + 1) % 16}"  # the CLI tests' own server seeds only db REDIS_DB
    r = run_cli("ls", redis_cli, empty, "--json")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[]\n"
    assert json.loads(r.stdout) == []
    jsonl = run_cli("ls", redis_cli, empty, "--format", "jsonl")
    assert jsonl.returncode == 0, jsonl.stderr
    assert jsonl.stdout == ""


def test_ls_format_tsv_and_table_name_the_plain_forms(pg_cli: str) -> None:
    tsv = run_cli("ls", pg_cli, f"{PG_DB}/public", "--format", "tsv")
    assert tsv.returncode == 0, tsv.stderr
    assert f"{PG_DB}/public/items\ttable" in {"\t".join(x.split("\t")[:2]) for x in tsv.lines}
    table = run_cli("ls", pg_cli, f"{PG_DB}/public", "--format", "table")
    assert table.returncode == 0, table.stderr
    assert table.lines[0].split() == ["PATH", "KIND", "ESTIMATE", "DETAIL"]
    row = next(x for x in table.lines if x.startswith(f"{PG_DB}/public/items "))
    assert row.split()[1] == "table"


@pytest.mark.parametrize("fmt", ["table", "tsv", "jsonl"])
def test_ls_json_with_another_format_is_bad_usage(pg_cli: str, fmt: str) -> None:
    r = run_cli("ls", pg_cli, "--json", "--format", fmt)
    assert r.returncode == 2
    assert r.stdout == ""
    assert "--json" in r.stderr and f"--format {fmt}" in r.stderr
    assert "Traceback" not in r.stderr
    # --json beside the --format it means is not a conflict.
    same = run_cli("ls", pg_cli, "--json", "--format", "json")
    assert same.returncode == 0, same.stderr
    assert PG_DB in {e["path"] for e in _json_lines(same.stdout)}
