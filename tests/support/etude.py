"""Run Etude's own commands (`etude hub`, `etude bridge`, `etude broker`) as real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido

from .servers import free_port

REPO = Path(__file__).resolve().parents[2]
# ../shared beside the project root (as in CI), unless ETUDE_SHARED says where it is.
SHARED = Path(os.environ.get("ETUDE_SHARED", REPO.parent / "shared"))
PERFORMANCES = SHARED / "data" / "performances" / "vienna4x22" / "midi"
ETUDE = [sys.executable, "-m", "etude_cli"]


def performance(name: str = "Chopin_op10_no3_p01") -> Path:
    path = PERFORMANCES / f"{name}.mid"
    assert path.exists(), f"{path} missing: the shared performance data is needed"
    return path


def count_note_ons(path: Path) -> int:
    return sum(1 for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity > 0)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ETUDE_CONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 15) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(f"process did not stop on SIGTERM:\n{self.log()[-3000:]}") from exc

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait()


def spawn(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> Proc:
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        popen = subprocess.Popen(
            [*ETUDE, *args], stdout=log, stderr=subprocess.STDOUT, env=_env(env)
        )
    return Proc(popen, log_path)


@dataclass
class Hub:
    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as reply:
            return json.loads(reply.read())["data"]


def start_hub(
    tmp: Path,
    database_url: str,
    mqtt_port: int,
    env: dict[str, str] | None = None,
    name: str = "hub",
) -> Hub:
    port = free_port()
    proc = spawn(
        ["hub", "--port", str(port), "--database-url", database_url, "--mqtt-port", str(mqtt_port)],
        tmp / f"{name}.log",
        env,
    )
    hub = Hub(proc, port)

    def ready() -> bool:
        if proc.popen.poll() is not None:
            raise AssertionError(f"hub exited:\n{proc.log()[-3000:]}")
        try:
            return bool(hub.get("/api/v1/health")["mqtt"] == "connected")
        except OSError:
            return False

    wait_for(ready, 60, "the hub to serve and connect to MQTT")
    return hub


@contextmanager
def running_hub(
    tmp: Path, database_url: str, mqtt_port: int, env: dict[str, str] | None = None
) -> Iterator[Hub]:
    hub = start_hub(tmp, database_url, mqtt_port, env)
    try:
        yield hub
    finally:
        hub.proc.terminate()


def events_sent(bridge: Proc) -> int:
    """How many events a finished replay put in its outbox (from its last log line)."""
    found = re.findall(r"replay finished: \d+ notes, (\d+) events", bridge.log())
    assert found, f"the bridge did not finish its replay:\n{bridge.log()[-3000:]}"
    return int(found[-1])


def start_bridge(
    tmp: Path,
    mqtt_port: int,
    midi: Path,
    *,
    speed: float = 20,
    device_id: str = "piano-1",
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Proc:
    return spawn(
        [
            "bridge",
            "--device-id",
            device_id,
            "--midi-file",
            str(midi),
            "--speed",
            str(speed),
            "--mqtt-port",
            str(mqtt_port),
            "--outbox",
            str(tmp / f"{device_id}-outbox.db"),
            *(extra or []),
        ],
        tmp / f"bridge-{device_id}.log",
        env,
    )


@contextmanager
def embedded_broker(tmp: Path) -> Iterator[int]:
    port = free_port()
    ready = tmp / "broker.ready"
    proc = spawn(["broker", "--port", str(port), "--ready-file", str(ready)], tmp / "broker.log")
    try:
        wait_for(ready.exists, 30, "the embedded broker")
        yield port
    finally:
        proc.terminate()
