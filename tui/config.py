"""Connection profiles: ``~/.config/storescope/config.toml``.

```toml
[profiles.prod]
url = "postgresql://app@db.internal:5432/shop"   # no password in the file
read_only = true
password_command = "pass show db/prod"            # or: password_env = "PROD_PG_PASSWORD"
```

The file is read from ``$STORESCOPE_CONFIG`` when set, else
``$XDG_CONFIG_HOME/storescope/config.toml`` (``~/.config`` by default). A
profile's password is fetched only when the profile is used — from an
environment variable or by running ``password_command`` through the shell
(its first output line; stdin and stderr stay on the terminal so a GPG
pinentry can ask) — and is put into the URL in memory only. storescope never
writes it anywhere or shows it: the CLI redacts it from every error message.

Keys of a profile: ``url`` (required), ``read_only``, ``password_env``,
``password_command``, ``password_timeout`` (seconds, default 30). Unknown keys
are an error, so a typo like ``read-only`` cannot silently leave a production
connection writable.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from storescope.backends.secrets import url_secrets as _url_secrets

_KEYS = frozenset({"url", "read_only", "password_env", "password_command", "password_timeout"})
DEFAULT_PASSWORD_TIMEOUT = 30.0


class ProfileError(Exception):
    """The configuration is wrong (unknown profile, bad file): a usage error."""


class SecretError(Exception):
    """A profile's password could not be fetched (unset variable, failed command)."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    url: str
    read_only: bool = False
    password_env: str | None = None
    password_command: str | None = None
    password_timeout: float = DEFAULT_PASSWORD_TIMEOUT


@dataclass(frozen=True, slots=True)
class Connection:
    """A URL ready for ``open_backend``, with the secrets it holds (so error
    messages can be scrubbed of them)."""

    url: str
    read_only: bool = False
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never show the password, even in a traceback
        from storescope.backends import redact_url

        return f"Connection(url={redact_url(self.url)!r}, read_only={self.read_only})"


def config_path() -> Path:
    explicit = os.environ.get("STORESCOPE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "storescope" / "config.toml"


def load_profiles(path: Path | None = None) -> dict[str, Profile]:
    """Every profile of the config file; ``{}`` when the file does not exist."""
    import tomllib  # here, not at the top: `storescope URL` paints before reading TOML

    path = path or config_path()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ProfileError(f"cannot read {path}: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"{path}: {e}") from e
    table = data.get("profiles", {})
    if not isinstance(table, dict):
        raise ProfileError(f"{path}: [profiles] must be a table")
    return {name: _profile(path, name, body) for name, body in table.items()}


def _profile(path: Path, name: str, body: Any) -> Profile:
    where = f"{path}: profile '{name}'"
    if not isinstance(body, dict):
        raise ProfileError(f"{where} must be a table")
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        raise ProfileError(
            f"{where} has unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}"
        )
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise ProfileError(f"{where} needs a url")
    read_only = body.get("read_only", False)
    if not isinstance(read_only, bool):
        raise ProfileError(f"{where}: read_only must be true or false")
    env = body.get("password_env")
    command = body.get("password_command")
    for key, value in (("password_env", env), ("password_command", command)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ProfileError(f"{where}: {key} must be a non-empty string")
    if env and command:
        raise ProfileError(f"{where}: use password_env or password_command, not both")
    timeout = body.get("password_timeout", DEFAULT_PASSWORD_TIMEOUT)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ProfileError(f"{where}: password_timeout must be a positive number of seconds")
    if (env or command) and urlsplit(url).scheme.lower() == "s3":
        raise ProfileError(
            f"{where}: S3 credentials come from the AWS credential chain "
            "(AWS_PROFILE, AWS_ACCESS_KEY_ID...), not a password"
        )
    return Profile(name, url, read_only, env, command, float(timeout))


def find_profile(name: str, path: Path | None = None) -> Profile:
    profiles = load_profiles(path)
    if name not in profiles:
        where = path or config_path()
        known = ", ".join(sorted(profiles)) or f"none: {where} defines no profiles"
        raise ProfileError(f"unknown profile '{name}' (known: {known})")
    return profiles[name]


def fetch_password(profile: Profile) -> str | None:
    """The profile's password, fetched now; ``None`` when it names no source."""
    if profile.password_env:
        value = os.environ.get(profile.password_env)
        if value is None:
            raise SecretError(
                f"profile '{profile.name}': environment variable {profile.password_env} is not set"
            )
        return value
    if profile.password_command:
        try:
            # Through the shell, like git's credential helpers: the command is
            # the user's own configuration, and pipes are common there.
            done = subprocess.run(
                profile.password_command,
                shell=True,
                stdout=subprocess.PIPE,
                timeout=profile.password_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise SecretError(
                f"profile '{profile.name}': password_command did not finish within "
                f"{profile.password_timeout:g} s"
            ) from e
        except OSError as e:
            raise SecretError(
                f"profile '{profile.name}': password_command could not run: {e.strerror}"
            ) from e
        if done.returncode != 0:
            raise SecretError(
                f"profile '{profile.name}': password_command exited with status {done.returncode}"
            )
        lines = done.stdout.decode("utf-8", errors="replace").splitlines()
        if not lines or not lines[0]:
            raise SecretError(f"profile '{profile.name}': password_command printed no password")
        return lines[0]
    return None


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in its user info (percent-encoded)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    user = userinfo.partition(":")[0] if at else ""
    if not at:
        hostport = netloc
    netloc = f"{user}:{quote(password, safe='')}@{hostport}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def resolve_profile(name: str, path: Path | None = None) -> Connection:
    """The connection a profile names, its password fetched and inserted."""
    profile = find_profile(name, path)
    password = fetch_password(profile)
    if password is None:
        return Connection(profile.url, profile.read_only)
    secrets = tuple({password, quote(password, safe="")})
    return Connection(with_password(profile.url, password), profile.read_only, secrets)


# The one rule for what in a URL is secret lives with the backends (the
# TUI and the CLI both scrub with it); re-exported for this module's callers.
url_secrets = _url_secrets
