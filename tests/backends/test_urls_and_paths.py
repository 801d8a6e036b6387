"""URLs shown to users never carry secrets; PATHs printed by `ls` read back
to the same catalog path."""

from __future__ import annotations

import pytest

from storescope.backends import open_backend, redact_url
from storescope.backends.errors import NotSupported
from storescope.backends.paths import decode_path, encode_path


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://app:s3cret@db.example:5432/shop",
            "postgresql://app:***@db.example:5432/shop",
        ),
        (
            "postgresql://app@db/shop?password=s3cret&sslmode=require",
            "postgresql://app@db/shop?password=***&sslmode=require",
        ),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("mongodb://u:s3cret@a:1,b:2/?replicaSet=rs", "mongodb://u:***@a:1,b:2/?replicaSet=rs"),
        ("s3://?endpoint=http://127.0.0.1:9000", "s3://?endpoint=http://127.0.0.1:9000"),
        ("s3://?endpoint=http://key:s3cret@minio:9000", "s3://?endpoint=http://key:***@minio:9000"),
        ("s3://bucket", "s3://bucket"),
    ],
)
def test_redacted_url_hides_only_the_secret(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "s3cret" not in redact_url(url)


def test_unknown_scheme_names_the_ones_we_know() -> None:
    with pytest.raises(NotSupported) as info:
        open_backend("mysql://localhost/db")
    assert "mysql" in str(info.value) and "postgresql://" in str(info.value)


@pytest.mark.parametrize(
    "path",
    [
        (),
        ("shop",),
        ("shop", "public", "Order Items"),
        ("b", "logs/", "2026/", "a%b.log"),
        ("db0", "a:", ":", "b"),
        ("db0", "foo:", ""),
        ("x", "100%/", "%2F"),
    ],
)
def test_paths_round_trip(path: tuple[str, ...]) -> None:
    assert decode_path(encode_path(path)) == path


def test_slash_and_percent_inside_a_name_are_encoded() -> None:
    assert encode_path(("bucket", "logs/", "50%.txt")) == "bucket/logs%2F/50%25.txt"
    assert decode_path("bucket/logs%2f/50%25.txt") == ("bucket", "logs/", "50%.txt")


def test_display_path_reads_like_the_store_spells_it() -> None:
    from storescope.backends.paths import display_path

    assert (
        display_path(("shop-data", "logs/", "2026/", "app-01.log"))
        == "shop-data/logs/2026/app-01.log"
    )
    assert display_path(("db0", "cart:", "1002")) == "db0/cart:/1002"
    assert display_path(("shop", "public", "Order Items")) == "shop/public/Order Items"


@pytest.mark.parametrize(
    "url",
    [
        "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=s3cret",
        "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:s3cret",
        "postgresql://h/db?sslpassword=s3cret",
        "s3://?endpoint=http://127.0.0.1:9000&aws_session_token=s3cret",
    ],
)
def test_every_secret_looking_parameter_is_redacted(url: str) -> None:
    assert "s3cret" not in redact_url(url)


def test_scrub_removes_url_secrets_even_from_an_unparseable_url() -> None:
    from storescope.backends.secrets import scrub, url_secrets

    url = "postgresql://bob:s3cr%zzet@[::1/db"
    message = f'invalid percent-encoded token: "s3cr%zzet" in {url}'
    assert "s3cr" not in scrub(message, url_secrets(url))
    assert "s3cret" not in scrub("password=s3cret", url_secrets("postgresql://u:s3cret@h/db"))


def test_a_malformed_url_is_a_clear_error_not_a_traceback() -> None:
    with pytest.raises(NotSupported) as info:
        open_backend("postgresql://[::1/db")
    assert info.value.title == "Invalid URL" and "IPv6" in str(info.value)
    assert redact_url("postgresql://u:pw@[::1/db") == "<invalid URL>"
