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

import contextlib
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from storescope.backends.secrets import url_secrets as _url_secrets

_KEYS = frozenset({"url", "read_only", "password_env", "password_command", "password_timeout"})
#: Seconds a ``password_command`` may run (a profile's ``password_timeout``
#: overrides it); past them it is stopped and the connection fails.
DEFAULT_PASSWORD_TIMEOUT = 30.0
#: Seconds between SIGTERM and SIGKILL to a timed-out command's process group.
KILL_GRACE_SECONDS = 0.5


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
            returncode, stdout = run_password_command(
                profile.password_command, profile.password_timeout
            )
        except subprocess.TimeoutExpired as e:
            raise SecretError(
                f"profile '{profile.name}': password_command did not finish within "
                f"{profile.password_timeout:g} s (stopped; raise password_timeout to wait longer)"
            ) from e
        except OSError as e:
            raise SecretError(
                f"profile '{profile.name}': password_command could not run: {e.strerror}"
            ) from e
        if returncode != 0:
            raise SecretError(
                f"profile '{profile.name}': password_command exited with status {returncode}"
            )
        lines = stdout.decode("utf-8", errors="replace").splitlines()
        if not lines or not lines[0]:
            raise SecretError(f"profile '{profile.name}': password_command printed no password")
        return lines[0]
    return None


def run_password_command(command: str, timeout: float) -> tuple[int, bytes]:
    """(exit status, stdout) of ``command`` run through the shell, like git's
    credential helpers (the command is the user's own configuration, and
    pipes are common there). Raises ``subprocess.TimeoutExpired`` once
    ``timeout`` seconds have passed, after stopping it.

    The command runs in a process group of its own, so that on time-out the
    whole group is killed: ``sleep 100; echo x`` has the shell *and* its
    ``sleep`` child, which holds the output pipe open. (Killing only the shell,
    as ``subprocess.run(timeout=...)`` does, leaves that child, and reading to
    the end of its output then waits the full 100 s.) When we own the
    terminal, the group is handed the terminal for as long as it runs, so a
    command that asks on it (``read -s``, ssh, sudo) can still read it
    instead of being stopped as a background job."""
    proc = subprocess.Popen(command, shell=True, stdout=subprocess.PIPE, process_group=0)
    terminal = _hand_terminal_to(proc.pid)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise
    except BaseException:  # Ctrl+C while it runs: leave nothing behind
        _kill_group(proc)
        raise
    finally:
        if terminal is not None:
            _take_terminal_back(terminal)
    return proc.returncode, stdout


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, SIGKILL to what is left of it
    shortly after; then reap the shell. Never waits for the output pipe."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(KILL_GRACE_SECONDS)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.stdout is not None:
        proc.stdout.close()
    proc.wait()


def _hand_terminal_to(pgid: int) -> int | None:
    """Make ``pgid`` the terminal's foreground process group when ours is it
    now; returns the terminal's fd to give it back with, or None."""
    if threading.current_thread() is not threading.main_thread():
        return None  # signal handlers can only be changed from the main thread
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None  # no controlling terminal: nothing to hand over
    try:
        if os.tcgetpgrp(fd) != os.getpgrp():
            os.close(fd)
            return None
        _set_foreground(fd, pgid)
    except OSError:  # the command already exited (its group is gone)
        os.close(fd)
        return None
    # It may have tried the terminal before it was its own, and been stopped.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGCONT)
    return fd


def _take_terminal_back(fd: int) -> None:
    try:
        _set_foreground(fd, os.getpgrp())
    except OSError:
        pass  # the terminal went away: nothing to give back
    finally:
        os.close(fd)


def _set_foreground(fd: int, pgid: int) -> None:
    # A background group (we are one once the command has the terminal)
    # that calls tcsetpgrp gets SIGTTOU, which would stop us: ignore it.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(fd, pgid)
    finally:
        signal.signal(signal.SIGTTOU, previous)


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
