"""Microphone audio through the engine, summarised into short windows for the wire.

The engine reports per chunk; publishing every 512-sample chunk would be ~86 messages a
second, so figures are folded into windows of about a quarter second (power-averaged RMS,
maximum peak, every onset kept with its time). The notes the engine hears ride along, for the
controller to publish when there is no MIDI to tell the notes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from etude_engine import StreamingAnalyser

from .sources.base import AudioChunk

WINDOW_SECONDS = 0.25
SILENCE_DBFS = -120.0


@dataclass(frozen=True)
class HeardNote:
    """A note the engine heard: ``time`` is its onset (or its end, for an ending)."""

    pitch: int
    time: float  # stream time, seconds
    velocity: int = 0


@dataclass
class AudioWindow:
    start: float  # source time, seconds
    duration: float
    rms_dbfs: float
    peak_dbfs: float
    onset_times: list[float] = field(default_factory=list)  # relative to start
    notes: list[HeardNote] = field(default_factory=list)
    note_ends: list[HeardNote] = field(default_factory=list)


class LevelWindowing:
    def __init__(self, sample_rate: int, window_seconds: float = WINDOW_SECONDS) -> None:
        self.analyser = StreamingAnalyser(sample_rate)
        self.sample_rate = sample_rate
        self.window_samples = max(1, round(window_seconds * sample_rate))
        self._reset(0.0)

    def _reset(self, start: float) -> None:
        self._start = start
        self._samples = 0
        self._energy = 0.0
        self._peak = SILENCE_DBFS
        self._onsets: list[float] = []
        self._notes: list[HeardNote] = []
        self._ends: list[HeardNote] = []

    def push(self, chunk: AudioChunk) -> Iterator[AudioWindow]:
        if self._samples == 0:
            self._start = chunk.time
        figures = self.analyser.process(chunk.samples)
        n = len(chunk.samples)
        self._energy += (10 ** (figures.rms_dbfs / 10)) * n
        self._peak = max(self._peak, figures.peak_dbfs)
        self._onsets.extend(t - self._start for t in figures.onset_times)
        self._notes.extend(HeardNote(n.pitch, n.onset, n.velocity) for n in figures.notes)
        self._ends.extend(HeardNote(n.pitch, n.offset) for n in figures.note_offs)
        self._samples += n
        if self._samples >= self.window_samples:
            mean_power = self._energy / self._samples
            rms = 10 * math.log10(mean_power) if mean_power > 0 else SILENCE_DBFS
            yield AudioWindow(
                start=self._start,
                duration=self._samples / self.sample_rate,
                rms_dbfs=max(SILENCE_DBFS, rms),
                peak_dbfs=self._peak,
                onset_times=[max(0.0, o) for o in self._onsets],
                notes=self._notes,
                note_ends=self._ends,
            )
            self._reset(chunk.time + n / self.sample_rate)
