"""S3-specific behaviour over the sandbox moto server (the shared behaviour is
in test_conformance.py): the prefix tree, odd keys, folder markers, URL forms,
credentials, bounded listings and the read-ahead that keeps small pages cheap.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storescope.backends import open_backend, sandbox
from storescope.backends.errors import (
    ConnectionFailed,
    ConnectionLost,
    NotFound,
    NotSupported,
    PermissionDenied,
    QueryFailed,
)
from storescope.backends.paths import decode_path, encode_path
from storescope.backends.s3 import LIST_CHILDREN_CAP, S3Backend
from storescope.backends.types import Node, NodeKind
from tests.backends.harness_s3 import ensure_bucket, list_keys, put_objects, raw_client

TREE = "s3-tree"
MANY = "s3-many"
# Two 1,000-key refills (around pages 142 and 285 at limit 7), then a last page of one.
MANY_N = 2_101
TREE_KEYS = {
    "readme.txt": b"hello",
    "logs/2024/01/a.log": b"a" * 10,
    "logs/2024/01/b.log": b"b" * 2048,
    "logs/2024/02/c.log": b"c",
    "logs/2025/01/d.log": b"d",
    "photos/": b"",  # a console-made "folder" marker
    "photos/cat.jpg": b"jpeg",
    "empty-folder/": b"",
}
ODD_KEYS = {
    "odd/with space.txt",
    "odd/100%.txt",
    "odd/%2F not a slash",
    "odd/ünïcödé ✓.txt",
    "odd/a+b=c.txt",
    "odd/double//slash.txt",
    "odd/quote'\"mark",
}


def endpoint(server: sandbox.Server) -> str:
    return server.url.split("endpoint=", 1)[1]


@pytest.fixture(scope="module")
def s3(s3_server: sandbox.Server) -> Any:
    """A raw boto3 client on the shared server, with the small tree seeded."""
    client = raw_client(s3_server)
    ensure_bucket(s3_server, client, TREE)
    put_objects(client, TREE, [*TREE_KEYS.items(), *((k, b"odd") for k in ODD_KEYS)])
    return client


@pytest.fixture(scope="module")
def many(s3_server: sandbox.Server, s3: Any) -> tuple[str, ...]:
    ensure_bucket(s3_server, s3, MANY)
    put_objects(s3, MANY, ((f"many/{i:05d}", b"") for i in range(MANY_N)))
    return (MANY, "many/")


@pytest.fixture
def backend(s3_server: sandbox.Server, s3: Any) -> Iterator[S3Backend]:
    b = open_backend(s3_server.url)
    assert isinstance(b, S3Backend)
    b.connect()
    try:
        yield b
    finally:
        b.close()


def names(nodes: list[Node]) -> list[str]:
    return [n.name for n in nodes]


def keys_of(backend: S3Backend, path: tuple[str, ...], **kw: Any) -> list[str]:
    return [row[0] for page in backend.iter_pages(path, **kw) for row in page.rows]


# -- catalog ---------------------------------------------------------------


def test_prefixes_come_first_then_objects_one_level_at_a_time(backend: S3Backend) -> None:
    top = backend.list_children((TREE,))
    assert names(top) == ["empty-folder/", "logs/", "odd/", "photos/", "readme.txt"]
    assert [n.kind for n in top] == [NodeKind.PREFIX] * 4 + [NodeKind.OBJECT]
    assert all(n.expandable and n.browsable for n in top[:4])
    readme = top[-1]
    assert not readme.expandable and not readme.browsable
    assert readme.detail.startswith("5 B · ")

    assert names(backend.list_children((TREE, "logs/"))) == ["2024/", "2025/"]
    assert names(backend.list_children((TREE, "logs/", "2024/"))) == ["01/", "02/"]
    month = backend.list_children((TREE, "logs/", "2024/", "01/"))
    assert names(month) == ["a.log", "b.log"]
    assert month[1].detail.startswith("2.0 KiB · ")
    assert ["".join(n.path[1:]) for n in month] == ["logs/2024/01/a.log", "logs/2024/01/b.log"]


def test_buckets_are_listed_at_the_top(backend: S3Backend) -> None:
    top = {n.name: n for n in backend.list_children(())}
    tree = top[TREE]
    assert tree.path == (TREE,) and tree.kind is NodeKind.BUCKET
    assert tree.expandable and tree.browsable and tree.estimate is None


def test_browse_lists_every_object_under_a_prefix_recursively(backend: S3Backend) -> None:
    page = backend.browse((TREE, "logs/"), limit=50)
    assert [c.name for c in page.columns] == ["key", "size", "last_modified", "etag"]
    assert [row[0] for row in page.rows] == [k for k in sorted(TREE_KEYS) if k.startswith("logs/")]
    assert page.next_cursor is None
    key, size, modified, etag = page.rows[1]
    assert key == "logs/2024/01/b.log" and size == 2048
    assert isinstance(modified, datetime) and modified.tzinfo is UTC
    assert abs((datetime.now(UTC) - modified).total_seconds()) < 3600
    assert etag == hashlib.md5(TREE_KEYS[key]).hexdigest()


def test_odd_keys_round_trip_through_the_tree_and_browse(backend: S3Backend) -> None:
    found: set[str] = set()

    def walk(path: tuple[str, ...]) -> None:
        for node in backend.list_children(path):
            assert decode_path(encode_path(node.path)) == node.path
            if node.kind is NodeKind.PREFIX:
                walk(node.path)
            else:
                found.add("".join(node.path[1:]))

    walk((TREE, "odd/"))
    assert found == ODD_KEYS
    assert set(keys_of(backend, (TREE, "odd/"), limit=2)) == ODD_KEYS
    # "double//slash.txt" sits below a prefix segment that is just "/".
    assert names(backend.list_children((TREE, "odd/", "double/", "/"))) == ["slash.txt"]
    assert keys_of(backend, (TREE, "odd/", "double/", "/")) == ["odd/double//slash.txt"]


def test_folder_marker_is_the_prefix_itself_not_a_child(backend: S3Backend) -> None:
    assert names(backend.list_children((TREE, "photos/"))) == ["cat.jpg"]
    assert backend.list_children((TREE, "empty-folder/")) == []
    # Browsing shows the marker: it is a real object a user may want to delete.
    assert keys_of(backend, (TREE, "photos/")) == ["photos/", "photos/cat.jpg"]


def test_a_prefix_with_nothing_under_it_is_not_found(backend: S3Backend) -> None:
    for path in [(TREE, "nothing-here/"), (TREE, "logs/", "2023/")]:
        shown = f"s3://{path[0]}/{''.join(path[1:])}"
        before = backend.list_requests
        with pytest.raises(NotFound, match=f"^no objects under {shown}$"):
            backend.list_children(path)
        with pytest.raises(NotFound, match=f"^no objects under {shown}$"):
            backend.browse(path, limit=10)
        assert backend.list_requests - before == 2, "one LIST each, no second look"
    # The sibling that exists is unaffected.
    assert names(backend.list_children((TREE, "logs/", "2024/"))) == ["01/", "02/"]
    assert keys_of(backend, (TREE, "logs/", "2025/")) == ["logs/2025/01/d.log"]


def test_a_prefix_holding_only_its_folder_marker_exists(backend: S3Backend) -> None:
    assert backend.list_children((TREE, "empty-folder/")) == []
    page = backend.browse((TREE, "empty-folder/"), limit=10)
    assert [row[0] for row in page.rows] == ["empty-folder/"] and page.next_cursor is None


def test_a_filter_matching_nothing_is_an_empty_page(backend: S3Backend) -> None:
    page = backend.browse((TREE, "logs/"), filter="2099/", limit=10)
    assert page.rows == () and page.next_cursor is None


def test_a_bucket_with_no_objects_is_an_empty_container(
    s3_server: sandbox.Server, s3: Any, backend: S3Backend
) -> None:
    ensure_bucket(s3_server, s3, "s3-empty")
    assert backend.list_children(("s3-empty",)) == []
    page = backend.browse(("s3-empty",), limit=10)
    assert page.rows == () and page.next_cursor is None


def test_a_later_page_emptied_by_deletes_ends_the_cursor(
    s3_server: sandbox.Server, s3: Any, backend: S3Backend
) -> None:
    bucket, keys = "s3-vanishing", ["gone/1", "gone/2", "gone/3"]
    ensure_bucket(s3_server, s3, bucket)
    put_objects(s3, bucket, ((k, b"x") for k in keys))
    first = backend.browse((bucket, "gone/"), limit=2)
    assert first.next_cursor is not None
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    # Another connection: no read-ahead left over from the first page.
    fresh = open_backend(s3_server.url)
    fresh.connect()
    try:
        page = fresh.browse((bucket, "gone/"), cursor=first.next_cursor, limit=2)
    finally:
        fresh.close()
    assert page.rows == () and page.next_cursor is None


def test_filter_is_a_key_prefix_below_the_path(backend: S3Backend) -> None:
    keys = keys_of(backend, (TREE, "logs/"), filter="2024/")
    assert keys == ["logs/2024/01/a.log", "logs/2024/01/b.log", "logs/2024/02/c.log"]
    with pytest.raises(NotSupported):
        backend.browse((TREE,), filter={"key": "x"})
    with pytest.raises(NotSupported):
        backend.browse((TREE,), sort="size")


def test_an_object_is_opened_not_browsed(backend: S3Backend) -> None:
    with pytest.raises(NotSupported, match="opened, not browsed"):
        backend.browse((TREE, "readme.txt"))
    with pytest.raises(NotSupported):
        backend.list_children((TREE, "readme.txt"))


def test_missing_or_invalid_bucket_is_not_found(backend: S3Backend) -> None:
    with pytest.raises(NotFound, match="NoSuchBucket") as info:
        backend.list_children(("no-such-bucket-xyz",))
    from botocore.exceptions import ClientError

    assert isinstance(info.value.__cause__, ClientError)
    with pytest.raises(NotFound, match="not a valid S3 bucket name"):
        backend.browse(("Not A Bucket!",))


# -- bounded listing and read-ahead -----------------------------------------


def test_list_children_is_bounded_and_marks_the_cut(
    backend: S3Backend, many: tuple[str, ...]
) -> None:
    before = backend.list_requests
    nodes = backend.list_children(many)
    assert backend.list_requests - before == 1, "one LIST request, never a walk"
    *objects, marker = nodes
    assert 0 < len(objects) <= LIST_CHILDREN_CAP
    assert all(n.kind is NodeKind.OBJECT for n in objects)
    assert marker.path == (*many, "") and marker.name == "…" and marker.kind is NodeKind.MORE
    assert not marker.expandable and not marker.browsable
    assert "browse" in marker.detail
    with pytest.raises(NotSupported):
        backend.browse(marker.path)


def test_read_ahead_and_fresh_start_after_pages_are_identical(
    s3_server: sandbox.Server, s3: Any, backend: S3Backend, many: tuple[str, ...]
) -> None:
    limit = 7
    pages = []
    cursor: str | None = None
    before = backend.list_requests
    while True:
        page = backend.browse(many, cursor=cursor, limit=limit)
        pages.append((cursor, page))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(pages) == -(-MANY_N // limit)
    # A small first LIST, then ~1,000 keys per LIST: 301 pages cost 4 requests.
    assert backend.list_requests - before <= 5
    assert [r[0] for _, p in pages for r in p.rows] == sorted(list_keys(s3, *many))

    # The same cursors on another connection, which has no read-ahead for
    # them: every page is its own StartAfter LIST and comes out the same,
    # including the pages around each 1,000-key refill.
    fresh = open_backend(s3_server.url)
    assert isinstance(fresh, S3Backend)
    fresh.connect()
    try:
        sample = {1, 2, 100, 141, 142, 143, 144, 285, 286, 287, len(pages) - 1}
        # Backwards, so no page is the one the previous call read ahead for.
        for i in sorted(sample, reverse=True):
            cursor, expected = pages[i]
            before = fresh.list_requests
            got = fresh.browse(many, cursor=cursor, limit=limit)
            assert fresh.list_requests - before == 1
            assert got == expected, f"page {i} differs"
    finally:
        fresh.close()


# -- URLs, credentials, connection ------------------------------------------


def test_bucket_url_shows_only_that_bucket(s3_server: sandbox.Server, s3: Any) -> None:
    b = open_backend(f"s3://{TREE}?endpoint={endpoint(s3_server)}")
    b.connect()
    try:
        assert [n.path for n in b.list_children(())] == [(TREE,)]
        assert "readme.txt" in names(b.list_children((TREE,)))
        with pytest.raises(NotFound, match="only bucket"):
            b.browse(("conformance",))
        assert ("bucket", TREE) in b.server_info().details
        assert b.ping() >= 0
    finally:
        b.close()


def test_bucket_url_for_a_missing_bucket_fails_to_connect(s3_server: sandbox.Server) -> None:
    b = open_backend(f"s3://no-such-bucket-xyz?endpoint={endpoint(s3_server)}")
    with pytest.raises(ConnectionFailed, match="no-such-bucket-xyz"):
        b.connect()


@pytest.mark.parametrize(
    "url",
    [
        "s3://AKIAEXAMPLE:s3cr3t-value@bucket?endpoint={ep}",
        "s3://?endpoint={ep}&aws_secret_access_key=s3cr3t-value",
        "s3://?endpoint={ep}&secret_key=s3cr3t-value",
        "s3://?endpoint=http://AKIAEXAMPLE:s3cr3t-value@127.0.0.1:1",
    ],
)
def test_access_keys_in_the_url_are_refused(s3_server: sandbox.Server, url: str) -> None:
    b = open_backend(url.format(ep=endpoint(s3_server)))
    with pytest.raises(NotSupported, match="AWS_ACCESS_KEY_ID") as info:
        b.connect()
    assert "s3cr3t" not in str(info.value)
    assert "s3cr3t" not in b.display_url


def test_unknown_url_parameter_is_refused(s3_server: sandbox.Server) -> None:
    with pytest.raises(NotSupported, match="endpoint, region, profile"):
        open_backend(f"s3://?endpoint_url={endpoint(s3_server)}").connect()


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An environment with no AWS credentials anywhere in the chain."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("")
    credentials.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    # Nothing answers 169.254.169.254 here; do not wait for it.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return credentials


def test_missing_credentials_fail_with_a_hint(
    s3_server: sandbox.Server, no_aws_credentials: Path
) -> None:
    with pytest.raises(ConnectionFailed) as info:
        open_backend(s3_server.url).connect()
    assert "AWS_ACCESS_KEY_ID" in str(info.value) and "profile=" in str(info.value)


def test_named_profile_supplies_the_credentials(
    s3_server: sandbox.Server, s3: Any, no_aws_credentials: Path
) -> None:
    no_aws_credentials.write_text(
        "[demo]\naws_access_key_id = sandbox\naws_secret_access_key = sandbox\n"
    )
    b = open_backend(f"s3://?endpoint={endpoint(s3_server)}&profile=demo&region=eu-west-1")
    b.connect()
    try:
        assert TREE in names(b.list_children(()))
        details = dict(b.server_info().details)
        assert details["profile"] == "demo" and details["region"] == "eu-west-1"
    finally:
        b.close()
    with pytest.raises(ConnectionFailed, match="nope"):
        open_backend(f"s3://?endpoint={endpoint(s3_server)}&profile=nope").connect()


def test_server_info_is_honest_about_what_it_knows(backend: S3Backend) -> None:
    info = backend.server_info()
    assert info.product == "S3" and info.version == "2006-03-01"
    details = dict(info.details)
    assert details["endpoint"].startswith("http://127.0.0.1:")
    assert "Werkzeug" in details["server"]  # moto answers with werkzeug's header


def test_cursor_from_elsewhere_is_rejected(backend: S3Backend) -> None:
    with pytest.raises(QueryFailed):
        backend.browse((TREE,), cursor="not-ours", limit=5)


def test_importing_the_backend_does_not_load_boto3() -> None:
    code = "import sys, storescope.backends.s3; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert out.stdout.split() == ["False", "False"]


# -- a private server: IAM enforcement and a server that goes away ------------


@pytest.fixture
def private_server() -> Iterator[sandbox.Server]:
    server = sandbox.start_s3()
    try:
        yield server
    finally:
        server.stop()


def _iam_user(server: sandbox.Server, policy: dict[str, Any]) -> dict[str, str]:
    import boto3

    iam = boto3.session.Session().client(
        "iam", endpoint_url=endpoint(server), region_name="us-east-1"
    )
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    return {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


# What AWS does, and what these tests hold the emulator to: ListObjectsV2 and
# HeadBucket are both authorized by the IAM action s3:ListBucket on the bucket's
# ARN (arn:aws:s3:::BUCKET); there is no IAM action named s3:ListObjectsV2 or
# s3:HeadBucket (AWS S3 API reference, "Permissions" of ListObjectsV2 and of
# HeadBucket; the Service Authorization Reference lists s3:ListBucket for both).
# ListBuckets needs s3:ListAllMyBuckets on "*". moto 5.2.6 checks the operation
# names instead (s3:ListObjectsV2) and denies the listing, a regression:
# pyproject.toml keeps moto below 5.2.6 until a release passes
# test_moto_authorizes_listing_by_s3_listbucket_as_aws_does. (moto, 5.2.5 too,
# also denies HeadBucket to such a caller, unlike AWS; storescope checks a bucket
# with a one-key ListObjectsV2, not HeadBucket, so no test here relies on it.)
LIST_ONE_BUCKET = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::open-bkt"}
    ],
}


def _enforce_auth(server: sandbox.Server) -> None:
    request = urllib.request.Request(
        endpoint(server) + "/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_moto_authorizes_listing_by_s3_listbucket_as_aws_does(
    private_server: sandbox.Server,
) -> None:
    """The emulator, not storescope: with only s3:ListBucket on one bucket's
    ARN, AWS lets a caller list that bucket's objects (ListObjectsV2), and not
    another bucket's. If this fails after a moto upgrade, the emulator moved
    away from AWS; keep the lock on the last good moto."""
    import boto3
    from botocore.exceptions import ClientError

    raw = raw_client(private_server)
    for bucket in ("open-bkt", "secret-bkt"):
        raw.create_bucket(Bucket=bucket)
    key = _iam_user(private_server, LIST_ONE_BUCKET)
    _enforce_auth(private_server)
    client = boto3.session.Session(
        aws_access_key_id=key["id"], aws_secret_access_key=key["secret"]
    ).client("s3", endpoint_url=endpoint(private_server), region_name="us-east-1")
    assert client.list_objects_v2(Bucket="open-bkt", MaxKeys=1)["KeyCount"] == 0
    with pytest.raises(ClientError) as denied:
        client.list_objects_v2(Bucket="secret-bkt", MaxKeys=1)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_denied_access_is_permission_denied_and_bucket_url_helps(
    private_server: sandbox.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = raw_client(private_server)
    for bucket in ("open-bkt", "secret-bkt"):
        raw.create_bucket(Bucket=bucket)
    # May list the one bucket's objects, but not list buckets (see LIST_ONE_BUCKET).
    key = _iam_user(private_server, LIST_ONE_BUCKET)
    _enforce_auth(private_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["secret"])
    ep = endpoint(private_server)

    with pytest.raises(ConnectionFailed, match=r"AccessDenied.*s3://BUCKET"):
        open_backend(f"s3://?endpoint={ep}").connect()

    b = open_backend(f"s3://open-bkt?endpoint={ep}")
    b.connect()
    try:
        assert b.browse(("open-bkt",)).rows == ()
        assert b.list_children(()) == [
            Node(("open-bkt",), "open-bkt", NodeKind.BUCKET, expandable=True, browsable=True)
        ]
    finally:
        b.close()

    b = open_backend(f"s3://secret-bkt?endpoint={ep}")
    with pytest.raises(ConnectionFailed, match="secret-bkt.*AccessDenied"):
        b.connect()

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY")
    with pytest.raises(ConnectionFailed, match="InvalidAccessKeyId.*AWS_ACCESS_KEY_ID"):
        open_backend(f"s3://open-bkt?endpoint={ep}").connect()


def test_browse_denied_after_connect_is_permission_denied(
    private_server: sandbox.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = raw_client(private_server)
    for bucket in ("open-bkt", "secret-bkt"):
        raw.create_bucket(Bucket=bucket)
    key = _iam_user(
        private_server,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": "arn:aws:s3:::open-bkt",
                },
            ],
        },
    )
    _enforce_auth(private_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["secret"])
    b = open_backend(private_server.url)
    b.connect()
    try:
        assert names(b.list_children(())) == ["open-bkt", "secret-bkt"]
        with pytest.raises(PermissionDenied, match="AccessDenied"):
            b.browse(("secret-bkt",))
        assert b.browse(("open-bkt",)).next_cursor is None
    finally:
        b.close()


def test_server_gone_after_connect_is_connection_lost(private_server: sandbox.Server) -> None:
    raw_client(private_server).create_bucket(Bucket="short-lived")
    b = open_backend(private_server.url, connect_timeout=2)
    b.connect()
    private_server.stop()
    start = time.monotonic()
    with pytest.raises(ConnectionLost):
        b.browse(("short-lived",))
    with pytest.raises(ConnectionLost):
        b.ping()
    assert time.monotonic() - start < 5
    b.close()
