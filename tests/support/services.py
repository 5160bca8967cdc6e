"""Real PostgreSQL and Redis servers for the test suite, one of each per pytest process.

Each server gets its own temporary directory and a free loopback port, so several pytest
processes can run at once. A missing server binary fails the tests that need it (it never
skips them): `scripts/setup` installs the binaries.

Fixtures (imported into tests/conftest.py):
- `postgres_server` (session): a `PostgresServer`; `.url(db)`, `.dsn(db)`, `.create_database(name)`.
- `postgres_url` (function): `postgresql+asyncpg://...` URL of a fresh, empty database.
- `redis_server` (session): `redis://127.0.0.1:PORT/0`.
- `redis_url` (function): the same URL, after FLUSHALL.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

SETUP_HINT = "run scripts/setup (as root it installs the Debian packages) or install them by hand"
START_ATTEMPTS = 3
T = TypeVar("T")


class ServiceUnavailable(RuntimeError):
    """A server could not be found or started; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _save_log(log: Path) -> None:
    """Keep a server's log in $ATENDE_TEST_ARTIFACTS (CI keeps it), if that is set."""
    target = os.environ.get("ATENDE_TEST_ARTIFACTS")
    if target and log.exists():
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, Path(target) / f"{log.parent.name}.log")  # atende-pg-<random>.log


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def find_pg_bindir() -> Path | None:
    """Directory holding initdb, pg_ctl and postgres: from PATH, else the newest Debian install."""
    on_path = [shutil.which(name) for name in ("initdb", "pg_ctl", "postgres")]
    if all(on_path):
        return Path(os.path.realpath(str(on_path[0]))).parent

    def major(bindir: str) -> int:
        match = re.search(r"/(\d+)/bin$", bindir)
        return int(match.group(1)) if match else 0

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True):
        if all(os.access(os.path.join(bindir, n), os.X_OK) for n in ("initdb", "pg_ctl", "postgres")):
            return Path(bindir)
    return None


def _unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (or `nobody`)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise ServiceUnavailable("running as root and neither a `postgres` nor a `nobody` user exists")


class PostgresServer:
    """A throw-away PostgreSQL cluster: trust auth, no durability (fsync off), loopback only."""

    user = "atende"

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.os_user = _unprivileged_user()
        # As root, /tmp rather than $TMPDIR: the server's user must be able to reach the directory.
        self.base = Path(tempfile.mkdtemp(prefix="atende-pg-", dir="/tmp" if self.os_user else None))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.port = 0
        self._db_counter = itertools.count(1)
        atexit.register(self.stop)  # in case the session ends without its teardown

    def _cmd(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", self.os_user, "--"] if self.os_user else []
        return [*prefix, *args]

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        # cwd: the unprivileged user may not be allowed into the caller's directory.
        return subprocess.run(
            self._cmd(*args), cwd=self.base, capture_output=True, text=True, timeout=timeout, check=False
        )

    def start(self) -> None:
        if self.os_user:
            shutil.chown(self.base, self.os_user)
        init = self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        if init.returncode != 0:
            raise ServiceUnavailable(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        for _ in range(START_ATTEMPTS):  # another process may take the free port first
            self.port = free_port()
            started = self._pg_ctl_start()
            if started.returncode == 0:
                return
        raise ServiceUnavailable(f"PostgreSQL did not start:\n{started.stdout}\n{started.stderr}\n{_tail(self.log)}")

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} -c fsync=off"
            " -c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        return self._run(
            str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.log), "-o", options,
        )  # fmt: skip

    def halt(self) -> None:
        """Stop the server (fast: sessions are cut) but keep its files, to `resume()` it (failure tests)."""
        self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w")

    def resume(self) -> None:
        """Start a halted server again, on the same port."""
        started = self._pg_ctl_start()
        if started.returncode != 0:
            raise ServiceUnavailable(f"PostgreSQL did not restart:\n{started.stderr}\n{_tail(self.log)}")

    def stop(self) -> None:
        """Stop the server (if it runs, even half-started) and delete its files."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", "-w")
        if self.base.exists():
            _save_log(self.log)
            shutil.rmtree(self.base, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        """A plain libpq/asyncpg DSN."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def url(self, dbname: str = "postgres") -> str:
        """A SQLAlchemy URL for the asyncpg driver."""
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        """Run one statement from synchronous code (a fixture), whatever event loop is around."""
        import asyncpg

        async def run() -> None:
            conn = await asyncpg.connect(self.dsn(dbname))
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        # A thread of its own: asyncio.run() must not replace the event loop of the test.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, run()).result()

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain database name: {name!r}")
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a test's database (best effort: its connections are closed by force)."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain database name: {name!r}")
        with contextlib.suppress(Exception):
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def fresh_database(self, hint: str = "") -> str:
        """Create a database with a unique name (derived from `hint`) and return its URL."""
        slug = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")
        return self.create_database(f"t{next(self._db_counter)}_{slug}"[:63].rstrip("_"))


class RedisServer:
    """A throw-away Redis server: no persistence, loopback only. Restartable on the same port."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.base = Path(tempfile.mkdtemp(prefix="atende-redis-"))
        self.log = self.base / "redis.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        atexit.register(self.cleanup)  # in case the session ends without its teardown

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start on a free port, or again on the same port after `stop()`."""
        keep_port = self.port != 0
        for _ in range(1 if keep_port else START_ATTEMPTS):
            if not keep_port:
                self.port = free_port()
            if self._spawn():
                return
        raise ServiceUnavailable(f"redis-server did not start on port {self.port}:\n{_tail(self.log)}")

    def _spawn(self) -> bool:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(self.base), "--daemonize", "no",
                ],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.base,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            if self._ping():
                return True
            time.sleep(0.02)
        self.stop()
        return False

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def cleanup(self) -> None:
        """Stop the server and delete its files."""
        self.stop()
        if self.base.exists():
            _save_log(self.log)
            shutil.rmtree(self.base, ignore_errors=True)


def start_postgres() -> PostgresServer:
    bindir = find_pg_bindir()
    if bindir is None:
        raise ServiceUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) are not in PATH nor in "
            f"/usr/lib/postgresql/*/bin: {SETUP_HINT} (Debian package `postgresql`)."
        )
    server = PostgresServer(bindir)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


def start_redis() -> RedisServer:
    executable = shutil.which("redis-server")
    if executable is None:
        raise ServiceUnavailable(f"redis-server is not in PATH: {SETUP_HINT} (Debian package `redis-server`).")
    server = RedisServer(executable)
    try:
        server.start()
    except BaseException:
        server.cleanup()
        raise
    return server


def require(start: Callable[[], T]) -> T:
    """`start()`, or fail the test (never skip it) with the reason the server is unavailable."""
    try:
        return start()
    except ServiceUnavailable as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)  # outside the except block: the report shows only the reason


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this pytest process (fails, never skips, when it cannot start)."""
    server = require(start_postgres)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL (postgresql+asyncpg://) of a fresh, empty database for this test. Dropped after
    it, so the server's files stay small and the session's teardown (deleting them) stays quick."""
    url = postgres_server.fresh_database(request.node.name)
    yield url
    postgres_server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """URL (redis://127.0.0.1:PORT/0) of a Redis server for this pytest process."""
    server = require(start_redis)
    try:
        yield server.url
    finally:
        server.cleanup()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The Redis URL, emptied (FLUSHALL) for this test."""
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushall()
    return redis_server
