"""Connection profiles: `--profile NAME` wherever a URL goes, the password
fetched at use time and never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storescope.backends import sandbox
from storescope.tui.config import (
    ProfileError,
    SecretError,
    load_profiles,
    resolve_profile,
    with_password,
)

from .conftest import PG_DB, run_cli


def _url_without_password(pg_url: str) -> str:
    return pg_url.replace(f":{sandbox.PG_PASSWORD}@", "@")


def _write(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"STORESCOPE_CONFIG": str(path)}


def test_password_from_env_var_connects_and_is_never_printed(pg_cli: str, tmp_path: Path) -> None:
    env = _write(
        tmp_path,
        f'[profiles.local]\nurl = "{_url_without_password(pg_cli)}"\npassword_env = "CLITEST_PW"\n',
    )
    r = run_cli(
        "ls", "--profile", "local", PG_DB, "--json", env={**env, "CLITEST_PW": sandbox.PG_PASSWORD}
    )
    assert r.returncode == 0, r.stderr
    assert any(e["name"] == "public" for e in json.loads(r.stdout))
    assert sandbox.PG_PASSWORD not in r.stdout + r.stderr


def test_password_from_command_connects(pg_cli: str, tmp_path: Path) -> None:
    env = _write(
        tmp_path,
        f'[profiles.cmd]\nurl = "{_url_without_password(pg_cli)}"\n'
        f"password_command = \"printf '%s\\\\n' '{sandbox.PG_PASSWORD}'\"\n",
    )
    r = run_cli(
        "browse",
        "--profile",
        "cmd",
        f"{PG_DB}/public/many",
        "--limit",
        "2",
        "--format",
        "jsonl",
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["id"] for line in r.lines] == [1, 2]


def test_wrong_password_from_profile_is_redacted_from_the_error(
    pg_cli: str, tmp_path: Path
) -> None:
    secret = "S3cret-From-Env"
    env = _write(
        tmp_path,
        f'[profiles.bad]\nurl = "{_url_without_password(pg_cli)}"\npassword_env = "CLITEST_PW"\n',
    )
    r = run_cli("ls", "--profile", "bad", env={**env, "CLITEST_PW": secret})
    assert r.returncode == 1
    assert r.stderr.startswith("storescope: Connection failed:")
    assert secret not in r.stderr


def test_unknown_profile_exits_2_listing_the_known_ones(tmp_path: Path) -> None:
    env = _write(
        tmp_path,
        '[profiles.alpha]\nurl = "redis://127.0.0.1:1/0"\n[profiles.beta]\nurl = "s3://"\n',
    )
    r = run_cli("ls", "--profile", "gamma", env=env)
    assert r.returncode == 2
    assert "gamma" in r.stderr and "alpha, beta" in r.stderr


def test_missing_env_var_exits_1_naming_the_variable(tmp_path: Path) -> None:
    env = _write(
        tmp_path,
        '[profiles.p]\nurl = "postgresql://u@127.0.0.1:1/db"\npassword_env = "CLITEST_UNSET_VAR"\n',
    )
    r = run_cli("ls", "--profile", "p", env=env)
    assert r.returncode == 1
    assert "CLITEST_UNSET_VAR" in r.stderr and len(r.stderr.splitlines()) == 1


def test_failing_password_command_exits_1(tmp_path: Path) -> None:
    env = _write(
        tmp_path,
        '[profiles.p]\nurl = "postgresql://u@127.0.0.1:1/db"\npassword_command = "exit 3"\n',
    )
    r = run_cli("ls", "--profile", "p", env=env)
    assert r.returncode == 1
    assert "status 3" in r.stderr


def test_profile_read_only_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[profiles.prod]\nurl = "postgresql://app@db/shop"\nread_only = true\n')
    conn = resolve_profile("prod", path)
    assert conn.read_only and conn.url == "postgresql://app@db/shop"


def test_password_is_percent_encoded_into_the_url_and_not_in_repr(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[profiles.p]\nurl = "postgresql://app@db:5432/shop"\npassword_command = "echo \'p@ss/w:rd\'"\n'
    )
    conn = resolve_profile("p", path)
    assert conn.url == "postgresql://app:p%40ss%2Fw%3Ard@db:5432/shop"
    assert "p@ss" not in repr(conn) and "p%40ss" not in repr(conn)
    assert "p@ss/w:rd" in conn.secrets
    assert with_password("redis://host:6379/0", "x") == "redis://:x@host:6379/0"


@pytest.mark.parametrize(
    "body,message",
    [
        ('url = "redis://h"\nread-only = true\n', "unknown key"),
        ("read_only = true\n", "needs a url"),
        ('url = "redis://h"\nread_only = "yes"\n', "read_only"),
        ('url = "s3://"\npassword_env = "X"\n', "AWS credential chain"),
        ('url = "redis://h"\npassword_env = "X"\npassword_command = "y"\n', "not both"),
    ],
)
def test_mistakes_in_a_profile_are_reported(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[profiles.p]\n" + body)
    with pytest.raises(ProfileError, match=message):
        load_profiles(path)


def test_password_command_timeout_is_a_secret_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[profiles.p]\nurl = "redis://h"\npassword_command = "sleep 5"\npassword_timeout = 0.2\n'
    )
    with pytest.raises(SecretError, match="did not finish"):
        resolve_profile("p", path)


def test_no_config_file_means_no_profiles(tmp_path: Path) -> None:
    assert load_profiles(tmp_path / "missing.toml") == {}
