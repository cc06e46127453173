"""MIDI sources: a live input port (mido + python-rtmidi, hot-plug) and a file replayed in time."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import mido

from .base import SourceError, TimedMessage

TICK_SECONDS = 0.25  # how often a quiet source still reports the time


def list_midi_ports() -> list[str]:
    try:
        return list(mido.get_input_names())
    except Exception as exc:  # rtmidi raises its own error types when ALSA is missing
        raise SourceError(f"cannot list MIDI ports ({exc}); is ALSA available?") from exc


class MidiPortSource:
    """A live input port, matched by a substring of its name. Survives unplugging: when the
    port disappears it waits for it to come back."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = f"midi-port:{name}"
        self.resolve()  # fail fast with the list of ports

    def resolve(self) -> str:
        ports = list_midi_ports()
        matches = [p for p in ports if self.name.lower() in p.lower()]
        if not matches:
            there = ", ".join(repr(p) for p in ports) or "none"
            raise SourceError(
                f"no MIDI input port matching {self.name!r}; ports there are: {there}"
            )
        return matches[0]

    def messages(self, stop: threading.Event) -> Iterator[TimedMessage]:
        start = time.monotonic()
        while not stop.is_set():
            try:
                port_name = self.resolve()
            except SourceError:
                yield TimedMessage(time.monotonic() - start)
                stop.wait(1.0)
                continue
            inbox: queue.Queue[mido.Message] = queue.Queue()
            with mido.open_input(port_name, callback=inbox.put):
                last_check = time.monotonic()
                while not stop.is_set():
                    try:
                        msg = inbox.get(timeout=TICK_SECONDS)
                        yield TimedMessage(time.monotonic() - start, msg)
                    except queue.Empty:
                        yield TimedMessage(time.monotonic() - start)
                    if time.monotonic() - last_check > 1.0:
                        last_check = time.monotonic()
                        if port_name not in list_midi_ports():
                            break  # unplugged: wait for it to return


def load_midi_file(path: Path) -> mido.MidiFile:
    try:
        midi = mido.MidiFile(path)
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: no such MIDI file") from exc
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise SourceError(f"{path}: not a readable MIDI file ({exc})") from exc
    has_notes = any(msg.type == "note_on" for track in midi.tracks for msg in track)
    if not has_notes:
        raise SourceError(f"{path}: a MIDI file with no notes in it; nothing to replay")
    return midi


class MidiFileSource:
    """Replays a MIDI file at ``speed`` × real time (``speed=0`` means as fast as possible)."""

    def __init__(self, path: Path, speed: float = 1.0, loop: bool = False) -> None:
        self.path = Path(path)
        self.speed = speed
        self.loop = loop
        self.midi = load_midi_file(self.path)
        self.description = f"midi-file:{self.path.name}"

    def messages(self, stop: threading.Event) -> Iterator[TimedMessage]:
        offset = 0.0
        while not stop.is_set():
            wall_start = time.monotonic()
            t = 0.0
            for msg in self.midi:  # delta times in seconds, tempo applied by mido
                t += msg.time
                if msg.is_meta or msg.type not in ("note_on", "note_off", "control_change"):
                    continue
                yield from self._wait_until(t, offset, wall_start, stop)
                if stop.is_set():
                    return
                yield TimedMessage(offset + t, msg)
            yield TimedMessage(offset + t, end_of_take=True)
            if not self.loop:
                return
            offset += t + 1.0

    def _wait_until(
        self, t: float, offset: float, wall_start: float, stop: threading.Event
    ) -> Iterator[TimedMessage]:
        if self.speed <= 0:
            return
        while True:
            due = wall_start + t / self.speed
            remaining = due - time.monotonic()
            if remaining <= 0:
                return
            if remaining > TICK_SECONDS:
                if stop.wait(TICK_SECONDS):
                    return
                elapsed = (time.monotonic() - wall_start) * self.speed
                yield TimedMessage(offset + elapsed)
            else:
                time.sleep(remaining)
