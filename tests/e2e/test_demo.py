"""`etude demo` brings the whole thing up on one machine, prints the page's address, serves
the replayed notes and, after each take, its assessment against the bundled score; stops
cleanly."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_runs_and_stops_cleanly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "etude_cli",
            "demo",
            "--port",
            "0",
            "--speed",
            "10",
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output: list[str] = []
    address = None
    deadline = time.monotonic() + 90
    while address is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "demo exited early:\n" + "".join(output)
        output.append(line)
        if match := re.search(r"Open (http://127\.0\.0\.1:\d+/)", line):
            address = match.group(1)
    assert address, "no address printed:\n" + "".join(output)
    try:
        last_seq = 0
        while time.monotonic() < deadline and last_seq < 200:
            with urllib.request.urlopen(address + "api/v1/devices", timeout=5) as reply:
                devices = json.loads(reply.read())["data"]
            last_seq = max((d["last_seq"] for d in devices if d["id"] == "demo-piano"), default=0)
            time.sleep(0.3)
        with urllib.request.urlopen(address, timeout=5) as reply:
            page = reply.read().decode()
        pieces: list[str | None] = []
        deadline = time.monotonic() + 120  # one take at 10x, and the library's first indexing
        while time.monotonic() < deadline and not any(pieces):
            with urllib.request.urlopen(address + "api/v1/devices/demo-piano/sessions") as reply:
                pieces = [s["piece_name"] for s in json.loads(reply.read())["data"]]
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert last_seq >= 200, "the bundled performance did not reach the hub"
    assert "<canvas" in page
    assert "Chopin_op10_no3" in pieces, "no take was recognised and assessed:\n" + "".join(output)
    assert proc.returncode == 0
    assert "etude demo: stopped" in rest
    assert "Traceback" not in "".join(output) + rest
