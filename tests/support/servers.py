"""Throw-away PostgreSQL and Mosquitto servers for tests (stdlib only).

Each server lives in its own temporary directory, listens on a free TCP port on
127.0.0.1 and is removed again by ``stop()``: use it as a context manager, or
call ``start()``/``stop()``. An ``atexit`` hook stops whatever is still running
when the interpreter exits (a plain SIGTERM is turned into SystemExit for that).

    with PostgresServer() as pg:
        url = pg.create_database("hub_test")  # postgresql+asyncpg://postgres@127.0.0.1:PORT/hub_test

    with MosquittoServer() as broker:
        connect(broker.host, broker.port)
        broker.restart()                       # same port, broker briefly gone

Environment overrides: ``ETUDE_PG_BINDIR`` (directory holding initdb, pg_ctl,
psql) and ``ETUDE_MOSQUITTO`` (path of the mosquitto binary).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Self

__all__ = [
    "MissingDependencyError",
    "MosquittoServer",
    "PostgresServer",
    "ServerError",
    "find_mosquitto",
    "find_pg_bindir",
    "free_port",
]

HOST = "127.0.0.1"
SETUP_HINT = "run scripts/setup.sh"


class ServerError(RuntimeError):
    """A test server could not be started, used or stopped."""


class MissingDependencyError(ServerError):
    """A program or OS user the test servers need is not installed."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _read_text(path: Path, limit: int = 20_000) -> str:
    """The end of a log file (at most ``limit`` characters), or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<{path}: {exc.strerror}>"
    if len(text) > limit:
        text = "...\n" + text[-limit:]
    return text


def _is_root() -> bool:
    return os.geteuid() == 0


def _tmp_root() -> str:
    """A temp directory other OS users can reach (PostgreSQL runs as ``postgres``)."""
    root = tempfile.gettempdir()
    if _is_root():
        path = Path(root).resolve()
        for part in (path, *path.parents):
            if not part.stat().st_mode & 0o001:  # not traversable by others
                return "/tmp"
    return root


_live: set[PostgresServer | MosquittoServer] = set()
_live_lock = threading.Lock()


def _register(server: PostgresServer | MosquittoServer) -> None:
    with _live_lock:
        _live.add(server)
    _exit_on_sigterm()


def _exit_on_sigterm() -> None:
    """Turn a plain SIGTERM (CI cancelling the run) into SystemExit so cleanup still runs.

    Only when nobody has set a SIGTERM handler and only from the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)


def _unregister(server: PostgresServer | MosquittoServer) -> None:
    with _live_lock:
        _live.discard(server)


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited already; only its parent's wait() is missing.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


# --------------------------------------------------------------------------- PostgreSQL


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name  # /usr/lib/postgresql/<version>/bin
    return tuple(int(n) for n in re.findall(r"\d+", version)) or (0,)


def find_pg_bindir() -> Path:
    """The directory holding the PostgreSQL server binaries (initdb, pg_ctl, postgres, psql).

    ``$ETUDE_PG_BINDIR`` first, then ``pg_config --bindir`` (only if it really holds
    initdb: on Debian pg_config may come from a client-only package), then the highest
    version under /usr/lib/postgresql/*/bin.
    """
    needed = ("initdb", "pg_ctl", "postgres", "psql")

    def complete(d: str | Path) -> bool:
        return all(os.access(Path(d, name), os.X_OK) for name in needed)

    override = os.environ.get("ETUDE_PG_BINDIR")
    if override:
        if complete(override):
            return Path(override)
        raise MissingDependencyError(
            f"ETUDE_PG_BINDIR={override} does not hold all of {', '.join(needed)}"
        )
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out and complete(out):
                return Path(out)
    candidates = sorted(
        (d for d in glob.glob("/usr/lib/postgresql/*/bin") if complete(d)),
        key=_version_key,
    )
    if candidates:
        return Path(candidates[-1])
    raise MissingDependencyError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) not found in "
        "pg_config --bindir nor /usr/lib/postgresql/*/bin: "
        f"{SETUP_HINT} (it installs the Debian package 'postgresql'), "
        "or point ETUDE_PG_BINDIR at them"
    )


def _clean_env() -> dict[str, str]:
    """The environment for PostgreSQL programs: no PG* variables that could redirect them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1:<free port>, trust authentication.

    Runs as the OS user ``postgres`` when the tests run as root (PostgreSQL refuses
    root), otherwise as the current user. The superuser role is ``postgres``.
    """

    host = HOST
    superuser = "postgres"

    DEFAULT_SETTINGS: dict[str, str] = {  # noqa: RUF012
        "listen_addresses": HOST,
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
    }

    def __init__(
        self,
        *,
        port: int | None = None,
        settings: dict[str, Any] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self._requested_port = port
        self.port: int = port or 0
        extra = {k: str(v) for k, v in (settings or {}).items()}
        self.settings = {**self.DEFAULT_SETTINGS, **extra}
        self.startup_timeout = startup_timeout
        self.base_dir: Path | None = None
        self.bindir: Path | None = None
        self.startup_seconds: float | None = None
        self._run_as: str | None = None
        self._running = False

    # -- paths
    @property
    def data_dir(self) -> Path:
        return self._base / "data"

    @property
    def socket_dir(self) -> Path:
        return self._base / "sock"

    @property
    def log_path(self) -> Path:
        return self._base / "postgresql.log"

    @property
    def _base(self) -> Path:
        if self.base_dir is None:
            raise ServerError("PostgresServer is not started")
        return self.base_dir

    @property
    def running(self) -> bool:
        return self._running

    def log_text(self) -> str:
        return _read_text(self.log_path) if self.base_dir else ""

    # -- running the PostgreSQL programs
    def _cmd(self, program: str, *args: str) -> list[str]:
        assert self.bindir is not None
        cmd = [str(self.bindir / program), *args]
        if self._run_as:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            cmd = [runuser, "-u", self._run_as, "--", *cmd]
        return cmd

    def _run(
        self, program: str, *args: str, timeout: float = 60.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = self._cmd(program, *args)
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=self.base_dir or "/",
                env=_clean_env(),
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise ServerError(f"{program} timed out after {timeout}s: {' '.join(cmd)}") from exc
        if check and proc.returncode != 0:
            raise ServerError(
                f"{program} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                f"{proc.stdout}{proc.stderr}".rstrip()
            )
        return proc

    # -- life cycle
    def start(self) -> Self:
        if self._running:
            raise ServerError("PostgresServer already started")
        began = time.monotonic()
        self.bindir = find_pg_bindir()
        uid, gid = os.getuid(), os.getgid()
        if _is_root():
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise MissingDependencyError(
                    "running as root, but there is no OS user 'postgres' to run PostgreSQL as "
                    f"(PostgreSQL refuses to run as root): {SETUP_HINT} "
                    "(the Debian package 'postgresql' creates the user)"
                ) from None
            if not shutil.which("runuser") and not os.path.exists("/usr/sbin/runuser"):
                raise MissingDependencyError(
                    "runuser not found: install the Debian package 'util-linux'"
                )
            self._run_as, uid, gid = "postgres", entry.pw_uid, entry.pw_gid
        self.base_dir = Path(tempfile.mkdtemp(prefix="etude-pg-", dir=_tmp_root()))
        _register(self)
        try:
            os.chown(self.base_dir, uid, gid)
            self.socket_dir.mkdir(mode=0o700)
            os.chown(self.socket_dir, uid, gid)
            self._run(
                "initdb",
                "-D", str(self.data_dir),
                "-U", self.superuser,
                "--auth=trust",
                "--no-locale",
                "-E", "UTF8",
                "--no-sync",
            )  # fmt: skip
            settings = {**self.settings, "unix_socket_directories": str(self.socket_dir)}
            with (self.data_dir / "postgresql.conf").open("a") as conf:
                conf.write("\n# etude test server\n")
                for key, value in settings.items():
                    conf.write(f"{key} = '{value.replace(chr(39), chr(39) * 2)}'\n")
            self._start_postmaster()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _start_postmaster(self) -> None:
        attempts = 1 if self._requested_port else 5
        for attempt in range(1, attempts + 1):
            self.port = self._requested_port or free_port()
            proc = self._run(
                "pg_ctl",
                "-D", str(self.data_dir),
                "-l", str(self.log_path),
                "-o", f"-p {self.port}",
                "-w", "-t", str(int(self.startup_timeout)),
                "start",
                timeout=self.startup_timeout + 30,
                check=False,
            )  # fmt: skip
            log = self.log_text()
            if proc.returncode == 0:
                self._running = True
                break
            if attempt < attempts and "could not bind" in log:
                continue  # lost the race for the port: another one
            raise ServerError(
                f"PostgreSQL failed to start on {HOST}:{self.port} "
                f"(pg_ctl exit {proc.returncode}).\n{proc.stdout}{proc.stderr}\n"
                f"--- server log {self.log_path} ---\n{log}"
            )
        deadline = time.monotonic() + self.startup_timeout
        while not _port_open(HOST, self.port):
            if time.monotonic() > deadline:
                raise ServerError(
                    f"PostgreSQL started but {HOST}:{self.port} does not accept connections.\n"
                    f"--- server log {self.log_path} ---\n{self.log_text()}"
                )
            time.sleep(0.05)

    def _postmaster_pid(self) -> int | None:
        if self.base_dir is None:
            return None
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def pause(self) -> None:
        """Stop the server but keep its data: the database "goes away" until ``resume()``."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", timeout=40)
        self._running = False

    def resume(self) -> None:
        """Start a paused server again, on the same port."""
        self._requested_port = self.port
        self._start_postmaster()

    def stop(self) -> None:
        """Stop the server at once (``pg_ctl stop -m immediate``) and remove its directory."""
        if self.base_dir is None:
            _unregister(self)
            return
        pid = self._postmaster_pid()
        if pid is not None and self.bindir is not None:
            with contextlib.suppress(ServerError):
                self._run(
                    "pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "20", "stop",
                    timeout=40,
                )  # fmt: skip
            if _process_alive(pid):  # pg_ctl could not do it: by force
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _process_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
        self._running = False
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None
        _unregister(self)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- using it
    def url_for(self, name: str, driver: str | None = "asyncpg") -> str:
        """SQLAlchemy URL of database ``name``; ``driver=None`` gives a plain libpq URL."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.superuser}@{HOST}:{self.port}/{urllib.parse.quote(name, safe='')}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run ``sql`` with the psql program; its unaligned, tuples-only output."""
        if not self._running:
            raise ServerError("PostgresServer is not running")
        return self._run(
            "psql",
            "-h", HOST, "-p", str(self.port), "-U", self.superuser, "-d", dbname,
            "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
            "-c", sql,
        ).stdout  # fmt: skip

    def create_database(self, name: str, driver: str | None = "asyncpg") -> str:
        """Create database ``name`` (owned by ``postgres``); return its SQLAlchemy URL."""
        self.psql(f"CREATE DATABASE {_quote_ident(name)}")
        return self.url_for(name, driver)

    def drop_database(self, name: str) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")


def _quote_ident(name: str) -> str:
    if not name or "\0" in name:
        raise ValueError(f"invalid database name {name!r}")
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- Mosquitto


def find_mosquitto() -> Path:
    """The mosquitto broker binary: ``$ETUDE_MOSQUITTO``, PATH, then /usr/sbin, /usr/local/sbin."""
    override = os.environ.get("ETUDE_MOSQUITTO")
    if override:
        if os.access(override, os.X_OK):
            return Path(override)
        raise MissingDependencyError(f"ETUDE_MOSQUITTO={override} is not an executable file")
    found = shutil.which("mosquitto")
    for candidate in (found, "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise MissingDependencyError(
        f"mosquitto not found (PATH, /usr/sbin, /usr/local/sbin): {SETUP_HINT} "
        "(it installs the Debian package 'mosquitto'), or set ETUDE_MOSQUITTO"
    )


class MosquittoServer:
    """A throw-away Mosquitto broker on 127.0.0.1:<free port>.

    Anonymous clients are allowed unless ``password_file`` is given (then
    ``allow_anonymous false``; ``acl_file`` adds topic rules). Persistent sessions
    (clean_session=false) of disconnected clients queue up to ``max_queued_messages``
    QoS 1/2 messages (default 1,000,000; no byte limit).
    """

    host = HOST

    def __init__(
        self,
        *,
        port: int | None = None,
        password_file: str | os.PathLike[str] | None = None,
        acl_file: str | os.PathLike[str] | None = None,
        allow_anonymous: bool | None = None,
        persistence: bool = False,
        max_queued_messages: int = 1_000_000,
        max_inflight_messages: int = 100,
        extra_config: str = "",
        startup_timeout: float = 10.0,
    ) -> None:
        if max_queued_messages < 1:
            # 0 is documented as "no maximum" but is broken in several 2.0.x releases
            # (all messages dropped / QUOTA_EXCEEDED): always give a real number.
            raise ValueError("max_queued_messages must be >= 1")
        self._requested_port = port
        self.port: int = port or 0
        self.password_file = Path(password_file).resolve() if password_file else None
        self.acl_file = Path(acl_file).resolve() if acl_file else None
        self.allow_anonymous = (
            allow_anonymous if allow_anonymous is not None else self.password_file is None
        )
        self.persistence = persistence
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        self.extra_config = extra_config
        self.startup_timeout = startup_timeout
        self.base_dir: Path | None = None
        self.binary: Path | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def _base(self) -> Path:
        if self.base_dir is None:
            raise ServerError("MosquittoServer is not started")
        return self.base_dir

    @property
    def config_path(self) -> Path:
        return self._base / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self._base / "mosquitto.log"

    @property
    def _output_path(self) -> Path:  # the broker's own stdout/stderr (errors before logging starts)
        return self._base / "mosquitto.out"

    @property
    def url(self) -> str:
        return f"mqtt://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        """The broker's log so far (all runs of this server, restarts included)."""
        if self.base_dir is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def _config(self) -> str:
        lines = [
            "# etude test broker",
            f"listener {self.port} {HOST}",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
        ]
        if self.password_file:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file:
            lines.append(f"acl_file {self.acl_file}")
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self._base}/"]
        else:
            lines.append("persistence false")
        lines += [
            # Explicit, large limits: "0 = unlimited" is buggy in several 2.0.x releases.
            f"max_queued_messages {self.max_queued_messages}",
            "max_queued_bytes 0",  # no byte limit on the queue
            "queue_qos0_messages false",
            f"max_inflight_messages {self.max_inflight_messages}",
            "set_tcp_nodelay true",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        ]
        if _is_root():
            # As root mosquitto drops privileges to user 'mosquitto' before it opens
            # its log file, which then cannot write into this root-owned temp dir,
            # nor read password files under pytest's 0700 tmp_path. Stay root.
            lines.append("user root")
        if self.extra_config:
            lines.append(self.extra_config)
        return "\n".join(lines) + "\n"

    def start(self) -> Self:
        if self.running:
            raise ServerError("MosquittoServer already running")
        began = time.monotonic()
        first = self.base_dir is None
        if first:
            self.binary = find_mosquitto()
            self.base_dir = Path(tempfile.mkdtemp(prefix="etude-mqtt-", dir=_tmp_root()))
            _register(self)
        try:
            # A fresh server may take another port when it loses the race for a free
            # one; a restart keeps its port (clients reconnect to it).
            pick_port = first and not self._requested_port
            attempts = 5 if pick_port else 1
            for attempt in range(1, attempts + 1):
                if pick_port:
                    self.port = free_port()
                try:
                    self._spawn_and_wait()
                    break
                except ServerError as exc:
                    if attempt < attempts and "in use" in str(exc):
                        continue
                    raise
        except BaseException:
            if first:
                self.stop()
            else:
                self.stop_process(kill=True)
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _spawn_and_wait(self) -> None:
        assert self.binary is not None
        self.config_path.write_text(self._config())
        log_before = self.log_text().count(" running")
        with self._output_path.open("ab") as out:
            self._proc = subprocess.Popen(
                [str(self.binary), "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self._base,
                close_fds=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        spawned = time.monotonic()
        while True:
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                raise ServerError(self._failure(f"exited with code {code}"))
            if _port_open(HOST, self.port):
                # Make sure it is *our* broker listening: 2.x logs "... running" once its
                # listeners are open; older versions get a second to fail on bind.
                ours = self.log_text().count(" running") > log_before
                if ours or time.monotonic() - spawned > 1.0:
                    if self._proc.poll() is None:
                        return
                    continue
            if time.monotonic() > deadline:
                self.stop_process(kill=True)
                raise ServerError(self._failure(f"did not listen within {self.startup_timeout}s"))
            time.sleep(0.02)

    def _failure(self, what: str) -> str:
        output = _read_text(self._output_path).strip()
        log = _read_text(self.log_path).strip()
        text = f"mosquitto on {HOST}:{self.port} {what}; config {self.config_path}"
        if output:
            text += f"\n--- mosquitto output ---\n{output}"
        text += f"\n--- mosquitto log {self.log_path} ---\n{log}"
        if "Address already in use" in output + log:
            text += f"\n(port {self.port} in use)"
        return text

    def stop_process(self, *, kill: bool = False, timeout: float = 10.0) -> None:
        """Stop the broker process but keep its directory (``start()`` brings it back).

        ``kill=True`` sends SIGKILL (a crash: no persistence save) instead of SIGTERM.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            if kill:
                proc.kill()
            else:
                proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)

    def restart(self, *, kill: bool = False, downtime: float = 0.0) -> Self:
        """Stop the broker and start it again on the same port after ``downtime`` seconds."""
        self.stop_process(kill=kill)
        if downtime > 0:
            time.sleep(downtime)
        return self.start()

    def stop(self) -> None:
        """Stop the broker and remove its directory."""
        self.stop_process()
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        _unregister(self)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
