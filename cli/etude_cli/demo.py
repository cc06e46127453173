"""`etude demo`: the whole of Etude on one machine, with nothing to set up.

Starts, as one process tree: an embedded MQTT broker, the hub on SQLite in a data folder,
and a bridge replaying a bundled real piano performance in real time, again and again; at
the end of each take the bridge recognises the piece in the bundled score library and the
page shows its assessment. Prints the address of the page; Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PERFORMANCES = Path(__file__).resolve().parent / "performances"
DEFAULT_PERFORMANCE = PERFORMANCES / "Chopin_op10_no3_p01.mid"
SCORES = Path(__file__).resolve().parent / "scores"


def free_port(preferred: int = 0) -> int:
    for candidate in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise OSError("no free TCP port")


def wait_for_file(path: Path, proc: subprocess.Popen[bytes], what: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}; see its log above")
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s")


class ProcessTree:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([sys.executable, "-m", "etude_cli", *args], env=env)
        self.children.append((name, proc))
        return proc

    def stop(self) -> None:
        for _name, proc in reversed(self.children):  # bridge, then hub, then broker
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def failed(self) -> str | None:
        for name, proc in self.children:
            if proc.poll() is not None and proc.returncode != 0:
                return f"{name} exited with status {proc.returncode}"
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="etude demo", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="page port (another if busy)")
    parser.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    parser.add_argument("--midi-file", type=Path, default=DEFAULT_PERFORMANCE)
    parser.add_argument(
        "--audio-file",
        type=Path,
        help="replay a recording (WAV/FLAC/OGG) of an acoustic piano instead, as if from a "
        "microphone: the notes are heard by the engine, checked against the score once "
        "the piece is named",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed, 1 = real time")
    parser.add_argument("--exit-after", type=float, help="stop after this many seconds")
    args = parser.parse_args(argv)
    if args.audio_file is not None and not args.audio_file.is_file():
        # (One the bridge cannot read, it refuses itself, naming the file: the demo then stops.)
        print(f"etude demo: {args.audio_file}: no such audio file", file=sys.stderr)
        return 2
    if args.audio_file is None and not args.midi_file.exists():
        print(f"etude demo: {args.midi_file}: no such MIDI file", file=sys.stderr)
        return 2
    source = (
        ["--audio-file", str(args.audio_file.resolve())]
        if args.audio_file is not None
        else ["--midi-file", str(args.midi_file)]
    )

    data = args.data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    for stale in ("broker.ready", "hub.port"):
        (data / stale).unlink(missing_ok=True)
    mqtt_port = free_port()
    http_port = free_port(args.port)
    tree = ProcessTree()
    stopping = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        broker = tree.spawn(
            "broker",
            ["broker", "--port", str(mqtt_port), "--ready-file", str(data / "broker.ready")],
        )
        wait_for_file(data / "broker.ready", broker, "the MQTT broker", 30)
        hub = tree.spawn(
            "hub",
            [
                "hub",
                "--port",
                str(http_port),
                "--mqtt-port",
                str(mqtt_port),
                "--database-url",
                f"sqlite+aiosqlite:///{data / 'etude.db'}",
                "--port-file",
                str(data / "hub.port"),
            ],
        )
        wait_for_file(data / "hub.port", hub, "the hub", 60)
        tree.spawn(
            "bridge",
            [
                "bridge",
                "--device-id",
                "demo-piano",
                *source,
                "--speed",
                str(args.speed),
                "--loop",
                "--mqtt-port",
                str(mqtt_port),
                "--outbox",
                str(data / "bridge-outbox.db"),
                "--score-library",
                str(SCORES),
            ],
        )
        print(
            f"\n  Etude is running. Open http://127.0.0.1:{http_port}/  (Ctrl-C to stop)\n",
            flush=True,
        )
        started = time.monotonic()
        while not stopping:
            if (problem := tree.failed()) is not None:
                print(f"etude demo: {problem}", file=sys.stderr)
                return 1
            if args.exit_after is not None and time.monotonic() - started > args.exit_after:
                break
            time.sleep(0.2)
    except RuntimeError as exc:
        print(f"etude demo: {exc}", file=sys.stderr)
        return 1
    finally:
        tree.stop()
    print("etude demo: stopped", flush=True)
    return 0
