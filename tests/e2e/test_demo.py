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

from support.audio import excerpt, render
from support.etude import performance

pytestmark = pytest.mark.e2e


def _start_demo(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Starts `etude demo` at 10× speed; returns it, the page's address and its output."""
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
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "demo exited early:\n" + "".join(output)
        output.append(line)
        if match := re.search(r"Open (http://127\.0\.0\.1:\d+/)", line):
            return proc, match.group(1), output
    proc.kill()
    raise AssertionError("no address printed:\n" + "".join(output))


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.loads(reply.read())["data"]


def test_demo_runs_and_stops_cleanly(tmp_path: Path) -> None:
    proc, address, output = _start_demo(tmp_path)
    deadline = time.monotonic() + 90
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


def test_demo_replays_a_recording_of_an_acoustic_piano(tmp_path: Path) -> None:
    """`etude demo --audio-file`: the notes come from the engine listening, the piece is named
    from them and each pass of the recording is one take, assessed."""
    excerpt(performance("Chopin_op10_no3_p01"), 25.0, tmp_path / "take.mid")
    wav = render(tmp_path / "take.mid", tmp_path / "take.wav")
    proc, address, output = _start_demo(tmp_path, "--audio-file", str(wav))
    sessions: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(s["analysed"] for s in sessions):
            sessions = _get(address + "api/v1/devices/demo-piano/sessions")  # type: ignore[assignment]
            time.sleep(0.5)
        taken = next(s for s in sessions if s["analysed"])
        notes = _get(f"{address}api/v1/sessions/{taken['id']}/notes")
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert taken["piece_name"] == "Chopin_op10_no3", sessions
    assert taken["source"] == "audio-file:take.wav"  # no MIDI: every note was heard
    assert isinstance(notes, list) and sum(n["on"] for n in notes) > 100
    assert proc.returncode == 0, "".join(output) + rest
    assert "Traceback" not in "".join(output) + rest


def test_demo_refuses_a_missing_recording(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "etude_cli", "demo", "--audio-file", str(tmp_path / "no.wav")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no.wav: no such audio file" in done.stderr
    assert "Etude is running" not in done.stdout
