"""Self-checks of tests/support/servers.py: start real servers, use them, see them gone.

Stdlib only (raw MQTT 3.1.1 over a socket, psql as a subprocess), so these run
before the project's Python dependencies are installed.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from support.servers import (
    MissingDependencyError,
    MosquittoServer,
    PostgresServer,
    ServerError,
    free_port,
)

# --------------------------------------------------------------------------- helpers


def _pgrep(pattern: str) -> str:
    """Processes whose command line contains ``pattern`` (empty when none)."""
    proc = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True)
    return proc.stdout.strip()


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_gone(pattern: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while (left := _pgrep(pattern)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _mqtt_str(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + _remaining_length(len(body)) + body


def mqtt_connect_packet(
    client_id: str,
    *,
    clean_session: bool = True,
    username: str | None = None,
    password: str | None = None,
    keepalive: int = 60,
) -> bytes:
    """An MQTT 3.1.1 CONNECT packet."""
    flags = 0x02 if clean_session else 0x00
    payload = _mqtt_str(client_id)
    if username is not None:
        flags |= 0x80
        payload += _mqtt_str(username)
    if password is not None:
        flags |= 0x40
        payload += _mqtt_str(password)
    variable = _mqtt_str("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive)
    return _packet(0x10, variable + payload)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def mqtt_connect(port: int, client_id: str, **kwargs: Any) -> tuple[socket.socket, int, bool]:
    """Connect; return (socket, CONNACK return code, session present)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(mqtt_connect_packet(client_id, **kwargs))
    connack = _recv_exact(sock, 4)
    assert connack[:2] == b"\x20\x02", f"not a CONNACK: {connack!r}"
    return sock, connack[3], bool(connack[2] & 0x01)


def mqtt_disconnect(sock: socket.socket) -> None:
    try:
        sock.sendall(b"\xe0\x00")
    finally:
        sock.close()


class PacketReader:
    """Splits an MQTT byte stream into (first byte, body) packets."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def packets(self) -> list[tuple[int, bytes]]:
        """Receive once; every complete packet buffered so far."""
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("broker closed the connection")
        self.buf += chunk
        out: list[tuple[int, bytes]] = []
        while True:
            pos, length, shift = 1, 0, 0
            while True:
                if pos >= len(self.buf):
                    return out
                byte = self.buf[pos]
                length |= (byte & 0x7F) << shift
                shift += 7
                pos += 1
                if not byte & 0x80:
                    break
            if len(self.buf) < pos + length:
                return out
            out.append((self.buf[0], bytes(self.buf[pos : pos + length])))
            del self.buf[: pos + length]


# --------------------------------------------------------------------------- free_port


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


# --------------------------------------------------------------------------- PostgreSQL


def test_postgres_create_database_and_select() -> None:
    began = time.monotonic()
    with PostgresServer() as pg:
        print(f"\nPostgreSQL start-up: {time.monotonic() - began:.2f}s (port {pg.port})")
        base = pg.base_dir
        assert base is not None and base.is_dir()
        assert _port_open(pg.port)

        url = pg.create_database("etude_selfcheck")
        assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/etude_selfcheck"
        assert pg.url_for("etude_selfcheck") == url
        netloc = f"postgres@127.0.0.1:{pg.port}"
        assert pg.url_for("x", driver="psycopg") == f"postgresql+psycopg://{netloc}/x"
        assert pg.url_for("x", driver=None) == f"postgresql://{netloc}/x"

        # SELECT 1 through the psql binary, over TCP, as the test process's own user.
        assert pg.bindir is not None
        out = subprocess.run(
            [str(pg.bindir / "psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
             "-d", "etude_selfcheck", "-X", "-A", "-t", "-c", "SELECT 1"],
            capture_output=True, text=True, timeout=30, check=True, cwd="/",
            env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
        ).stdout  # fmt: skip
        assert out.strip() == "1"

        settings = pg.psql(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'full_page_writes', 'max_connections', "
            "'listen_addresses', 'port') ORDER BY name"
        )
        assert dict(line.split("|") for line in settings.split()) == {
            "fsync": "off",
            "full_page_writes": "off",
            "listen_addresses": "127.0.0.1",
            "max_connections": "200",
            "port": str(pg.port),
            "synchronous_commit": "off",
        }
        assert "etude_selfcheck" in pg.psql("SELECT datname FROM pg_database").split()
        pg.drop_database("etude_selfcheck")
        assert "etude_selfcheck" not in pg.psql("SELECT datname FROM pg_database").split()
        port = pg.port

    assert pg.base_dir is None
    assert not base.exists()
    assert not _port_open(port)
    assert _wait_gone(str(base)) == ""


def test_postgres_error_names_the_log() -> None:
    pg = PostgresServer(settings={"max_connections": "not-a-number"})
    with pytest.raises(ServerError, match="max_connections") as info:
        pg.start()
    assert "server log" in str(info.value)
    assert pg.base_dir is None  # cleaned up after the failure


def test_postgres_missing_binaries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ETUDE_PG_BINDIR", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="ETUDE_PG_BINDIR"):
        PostgresServer().start()


# --------------------------------------------------------------------------- Mosquitto


def test_mosquitto_connect_and_stop() -> None:
    began = time.monotonic()
    with MosquittoServer() as broker:
        print(f"\nMosquitto start-up: {time.monotonic() - began:.3f}s (port {broker.port})")
        base, pid = broker.base_dir, broker.pid
        assert base is not None and pid is not None
        assert broker.host == "127.0.0.1"
        sock, rc, _ = mqtt_connect(broker.port, "selfcheck")
        assert rc == 0
        mqtt_disconnect(sock)
        deadline = time.monotonic() + 5
        while "selfcheck" not in broker.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "New client connected" in broker.log_text()
        port = broker.port

    assert not base.exists()
    assert not _port_open(port)
    assert not Path(f"/proc/{pid}").exists()
    assert _wait_gone(str(base)) == ""


def test_mosquitto_restart_keeps_port() -> None:
    with MosquittoServer() as broker:
        port, first_pid = broker.port, broker.pid
        sock, rc, _ = mqtt_connect(port, "before")
        assert rc == 0

        began = time.monotonic()
        broker.restart()
        print(f"\nMosquitto restart: {time.monotonic() - began:.3f}s")
        assert broker.port == port and broker.pid != first_pid
        assert sock.recv(1) == b""  # the old connection went away with the old broker
        sock.close()
        sock, rc, _ = mqtt_connect(port, "after")
        assert rc == 0
        mqtt_disconnect(sock)

        broker.stop_process(kill=True)
        assert not broker.running and not _port_open(port)
        broker.start()
        assert broker.running and broker.port == port
        # One "mosquitto version ... running" line a start.
        assert broker.log_text().count(" running") == 3
        base = broker.base_dir
        assert base is not None
    assert not base.exists()
    assert _wait_gone(str(base)) == ""


def _subscribe_offline(port: int, client_id: str, topic: str) -> None:
    """Create a persistent session subscribed to ``topic`` (QoS 1) and disconnect."""
    sock, rc, _ = mqtt_connect(port, client_id, clean_session=False)
    assert rc == 0
    sock.sendall(_packet(0x82, struct.pack("!H", 1) + _mqtt_str(topic) + b"\x01"))
    assert _recv_exact(sock, 5) == b"\x90\x03\x00\x01\x01"  # SUBACK, QoS 1 granted
    mqtt_disconnect(sock)


def _publish_qos1(port: int, topic: str, payload: bytes) -> None:
    sock, rc, _ = mqtt_connect(port, "publisher")
    assert rc == 0
    sock.sendall(_packet(0x32, _mqtt_str(topic) + struct.pack("!H", 1) + payload))
    assert _recv_exact(sock, 4) == b"\x40\x02\x00\x01"  # PUBACK
    mqtt_disconnect(sock)


@pytest.mark.parametrize("persistence", [False, True])
def test_mosquitto_restart_persistence(persistence: bool) -> None:
    """Sessions and queued messages survive a restart only with persistence=True."""
    with MosquittoServer(persistence=persistence) as broker:
        _subscribe_offline(broker.port, "sub", "etude/p")
        _publish_qos1(broker.port, "etude/p", b"kept")
        broker.restart()
        sock, rc, present = mqtt_connect(broker.port, "sub", clean_session=False)
        assert rc == 0 and present is persistence
        if persistence:
            first, body = PacketReader(sock).packets()[0]
            assert first & 0xF0 == 0x30 and body.endswith(b"kept")
        mqtt_disconnect(sock)


def test_mosquitto_password_and_acl(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "device1", "s3cret"], check=True)
    acl = tmp_path / "acl"
    acl.write_text("user device1\ntopic readwrite etude/#\n")
    with MosquittoServer(password_file=passwd, acl_file=acl) as broker:
        assert "allow_anonymous false" in broker.config_path.read_text()
        sock, rc, _ = mqtt_connect(broker.port, "anon")
        assert rc == 5  # not authorised
        sock.close()
        sock, rc, _ = mqtt_connect(broker.port, "dev", username="device1", password="wrong")
        assert rc in (4, 5)  # bad user name or password
        sock.close()
        sock, rc, _ = mqtt_connect(broker.port, "dev", username="device1", password="s3cret")
        assert rc == 0
        mqtt_disconnect(sock)


def test_mosquitto_missing_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETUDE_MOSQUITTO", "/nonexistent/mosquitto")
    with pytest.raises(MissingDependencyError, match="ETUDE_MOSQUITTO"):
        MosquittoServer().start()
    monkeypatch.delenv("ETUDE_MOSQUITTO")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(MissingDependencyError, match=r"mosquitto not found.*scripts/setup\.sh"):
        MosquittoServer().start()


def test_mosquitto_queues_200k_for_offline_persistent_session() -> None:
    """A disconnected clean_session=false subscriber gets every QoS 1 message, in order."""
    total = 200_000
    topic = "etude/q"
    with MosquittoServer() as broker:
        # Subscribe with a persistent session, then go away.
        _subscribe_offline(broker.port, "queued-sub", topic)

        # Publish `total` QoS 1 messages while it is offline.
        began = time.monotonic()
        pub, rc, _ = mqtt_connect(broker.port, "publisher")
        assert rc == 0
        topic_bytes = _mqtt_str(topic)

        def send_all() -> None:
            batch = bytearray()
            for i in range(total):
                body = topic_bytes + struct.pack("!H", i % 65535 + 1) + str(i).encode()
                batch += _packet(0x32, body)
                if len(batch) > 1 << 16:
                    pub.sendall(batch)
                    batch.clear()
            pub.sendall(batch)

        sender = threading.Thread(target=send_all)
        sender.start()
        acked, reader = 0, PacketReader(pub)
        while acked < total:
            acked += sum(1 for first, _ in reader.packets() if first == 0x40)
        sender.join()
        mqtt_disconnect(pub)
        published = time.monotonic() - began

        # Come back: the session is there and every message arrives, in order.
        began = time.monotonic()
        sub, rc, present = mqtt_connect(broker.port, "queued-sub", clean_session=False)
        assert rc == 0 and present
        sub.settimeout(30)
        expected, reader = 0, PacketReader(sub)
        while expected < total:
            acks = bytearray()
            for first, body in reader.packets():
                assert first & 0xF0 == 0x30, hex(first)
                assert (first >> 1) & 0x03 == 1  # QoS 1
                tlen = struct.unpack_from("!H", body)[0]
                mid = body[2 + tlen : 4 + tlen]
                assert int(body[4 + tlen :]) == expected
                expected += 1
                acks += b"\x40\x02" + mid
            sub.sendall(acks)
        mqtt_disconnect(sub)
        delivered = time.monotonic() - began
        print(
            f"\n{total} QoS 1 messages: queued in {published:.1f}s, delivered in {delivered:.1f}s"
        )
        assert "dropped" not in broker.log_text()
