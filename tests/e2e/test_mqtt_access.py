"""Per-device MQTT credentials and topic rules on a real Mosquitto: a room can speak only for
itself, and nobody gets in without a password."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from support.checks import note_ons_stored, stored_counts
from support.etude import count_note_ons, performance, start_bridge, start_hub
from support.servers import MosquittoServer, PostgresServer

pytestmark = pytest.mark.e2e


def mqtt_access(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "etude_cli", "mqtt-access", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def credentials(kind: str, user: str, passwd: Path) -> dict[str, str]:
    return dict(json.loads(mqtt_access(kind, user, "--password-file", str(passwd), "--json")))


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[MosquittoServer, dict[str, dict[str, str]]]]:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    acl.write_text(mqtt_access("acl", "--hub-user", "etude-hub"))
    creds = {
        "hub": credentials("add-user", "etude-hub", passwd),
        "room-a": credentials("add-device", "room-a", passwd),
    }
    assert "room-a" in passwd.read_text() and creds["room-a"]["password"] not in passwd.read_text()
    with MosquittoServer(password_file=passwd, acl_file=acl) as broker:
        yield broker, creds


def connect_code(port: int, user: str | None, password: str | None) -> int:
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    if user:
        client.username_pw_set(user, password)
    try:
        client.connect("127.0.0.1", port)
        result: list[int] = []
        client.on_connect = lambda _c, _u, _f, reason, _p: result.append(reason.value)
        for _ in range(50):
            client.loop(timeout=0.1)
            if result:
                break
        return result[0] if result else -1
    finally:
        client.disconnect()


def test_nobody_gets_in_without_the_right_password(
    secured: tuple[MosquittoServer, dict[str, dict[str, str]]],
) -> None:
    broker, creds = secured
    assert connect_code(broker.port, None, None) != 0
    assert connect_code(broker.port, "room-a", "wrong") != 0
    assert connect_code(broker.port, "room-a", creds["room-a"]["password"]) == 0


async def test_a_room_can_publish_only_as_itself(
    secured: tuple[MosquittoServer, dict[str, dict[str, str]]],
    postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    broker, creds = secured
    url = postgres.create_database("etude_acl")
    hub_env = {
        "ETUDE_HUB_MQTT_USERNAME": "etude-hub",
        "ETUDE_HUB_MQTT_PASSWORD": creds["hub"]["password"],
    }
    room_env = {
        "ETUDE_BRIDGE_MQTT_USERNAME": "room-a",
        "ETUDE_BRIDGE_MQTT_PASSWORD": creds["room-a"]["password"],
    }
    midi = performance("Schubert_D783_no15_p02")
    hub = await asyncio.to_thread(start_hub, tmp_path, url, broker.port, hub_env)
    try:
        honest = start_bridge(
            tmp_path, broker.port, midi, speed=0, device_id="room-a", env=room_env
        )
        # Same credentials, claiming to be another room: the broker drops its messages.
        impostor = start_bridge(
            tmp_path,
            broker.port,
            midi,
            speed=0,
            device_id="room-b",
            env=room_env,
            extra=["--drain-timeout", "10"],
        )
        assert await asyncio.to_thread(honest.popen.wait, 60) == 0, honest.log()[-2000:]
        await asyncio.to_thread(impostor.popen.wait, 60)
        await note_ons_stored(url, count_note_ons(midi), "room-a")
    finally:
        hub.proc.terminate()
    assert (await stored_counts(url, "room-a")).note_ons == count_note_ons(midi)
    assert "replay finished" in impostor.log()  # it did connect and publish...
    assert (await stored_counts(url, "room-b")).events == 0  # ...and none of it got through


def test_bad_device_id_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "etude_cli",
            "mqtt-access",
            "add-device",
            "Room B",
            "--password-file",
            str(tmp_path / "p"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "device id" in result.stderr
