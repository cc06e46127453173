"""Microphone audio through the engine: the notes heard, chunk by chunk, and level windows.

Notes are passed on as soon as the engine knows them (every chunk), so that the controller
can place each in the score and tell the engine what the score expects next: with that
expectation the engine decides, for each expected pitch, whether it sounded (its
score-informed check), which is far more reliable than transcribing blind. A pitch heard
that the score did not expect still comes through, from the blind transcription: that is a
wrong or extra note the student must hear about.

Level figures would be ~86 messages a second per 512-sample chunk, so they are folded into
windows of about a quarter second (power-averaged RMS, maximum peak, every onset kept with
its time).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from etude_engine import StreamingAnalyser

from .sources.base import AudioChunk

WINDOW_SECONDS = 0.25
SILENCE_DBFS = -120.0
#: A pitch heard at an onset with no loudness figure to go by.
DEFAULT_VELOCITY = 64
#: At an onset the score informed, a pitch it did not expect is a wrong note — a serious
#: thing to tell a student — or a partial of the notes played taken for a note. A wrong note
#: usually stands in for an expected one a key or two away that did not sound: such a pitch
#: is passed on as the blind transcription heard it; any other only when it is this sure of
#: it (0.5: just heard).
UNEXPECTED_CONFIDENCE = 0.65
WRONG_KEY_REACH = 2  # semitones
#: A pitch heard again this soon after its last onset is that note heard twice (a spread
#: chord's second onset re-hears the first one's notes), not a key struck again: faster
#: repetition than this is beyond a piano's action.
RESTRIKE_SECONDS = 0.07


@dataclass(frozen=True)
class HeardNote:
    """A note the engine heard: ``time`` is its onset (or its end, for an ending).

    ``informed``: decided by the score-informed check of a pitch the score expected."""

    pitch: int
    time: float  # stream time, seconds
    velocity: int = 0
    informed: bool = False


@dataclass
class Heard:
    """What one chunk told about notes."""

    notes: list[HeardNote] = field(default_factory=list)
    note_ends: list[HeardNote] = field(default_factory=list)


@dataclass
class AudioWindow:
    start: float  # source time, seconds
    duration: float
    rms_dbfs: float
    peak_dbfs: float
    onset_times: list[float] = field(default_factory=list)  # relative to start


class Listener:
    """The engine's streaming analyser, fed chunk by chunk: notes per chunk, levels per window."""

    def __init__(self, sample_rate: int, window_seconds: float = WINDOW_SECONDS) -> None:
        self.analyser = StreamingAnalyser(sample_rate)
        self.sample_rate = sample_rate
        self.window_samples = max(1, round(window_seconds * sample_rate))
        # Pitches the blind transcription heard but the score-informed check ruled out: their
        # endings, when they come, end nothing that was published.
        self._overruled: set[tuple[int, float]] = set()  # pitch, onset
        # Notes only the score-informed check heard, (pitch, onset): the engine does not
        # track them, so they end with their chord (see _ends).
        self._unended: list[tuple[int, float, bool]] = []  # pitch, onset, has a heard mate
        self._last_onset: dict[int, float] = {}  # pitch -> onset of its last note published
        self._reset(0.0)

    def expect(self, pitches: Iterable[int]) -> None:
        """The pitches the score expects at the next onset (``[]``: no expectation)."""
        self.analyser.expect([p for p in pitches if 21 <= p <= 108])

    def _reset(self, start: float) -> None:
        self._start = start
        self._samples = 0
        self._energy = 0.0
        self._peak = SILENCE_DBFS
        self._onsets: list[float] = []

    def push(self, chunk: AudioChunk) -> tuple[Heard, AudioWindow | None]:
        """Analyses one chunk: the notes it told, and a level window when one is complete."""
        if self._samples == 0:
            self._start = chunk.time
        figures = self.analyser.process(chunk.samples)
        notes = self._notes(figures)
        heard = Heard(notes, self._ends(figures, notes))
        n = len(chunk.samples)
        self._energy += (10 ** (figures.rms_dbfs / 10)) * n
        self._peak = max(self._peak, figures.peak_dbfs)
        self._onsets.extend(t - self._start for t in figures.onset_times)
        self._samples += n
        if self._samples < self.window_samples:
            return heard, None
        mean_power = self._energy / self._samples
        rms = 10 * math.log10(mean_power) if mean_power > 0 else SILENCE_DBFS
        window = AudioWindow(
            start=self._start,
            duration=self._samples / self.sample_rate,
            rms_dbfs=max(SILENCE_DBFS, rms),
            peak_dbfs=self._peak,
            onset_times=[max(0.0, o) for o in self._onsets],
        )
        self._reset(chunk.time + n / self.sample_rate)
        return heard, window

    def _notes(self, figures: Any) -> list[HeardNote]:
        """The chunk's notes: at an onset the score informed, its checks decide the expected
        pitches and the blind transcription adds only the pitches the score did not expect."""
        checks: dict[float, list[Any]] = {}
        for check in figures.checks:
            checks.setdefault(check.time, []).append(check)
        velocity_at = {level.time: level.velocity for level in figures.onset_levels}
        notes: list[HeardNote] = []
        blind_at: dict[float, dict[int, int]] = {}
        sure: set[tuple[int, float]] = set()
        for note in figures.notes:
            blind_at.setdefault(note.onset, {})[note.pitch] = note.velocity
            if note.confidence >= UNEXPECTED_CONFIDENCE:
                sure.add((note.pitch, note.onset))
            if note.onset not in checks:
                notes.append(HeardNote(note.pitch, note.onset, note.velocity))
        for time, onset_checks in checks.items():
            blind = blind_at.get(time, {})
            fallback = velocity_at.get(time) or (
                round(sum(blind.values()) / len(blind)) if blind else DEFAULT_VELOCITY
            )
            expected = {check.pitch for check in onset_checks}
            sounded = {check.pitch for check in onset_checks if check.sounded}
            silent = expected - sounded
            for pitch in blind.keys() - expected:
                if any(abs(pitch - p) <= WRONG_KEY_REACH for p in silent):
                    sure.add((pitch, time))
            unexpected = {p for p in blind.keys() - expected if (p, time) in sure}
            mated = bool((sounded & blind.keys()) or unexpected)
            for check in onset_checks:
                if check.sounded:
                    velocity = blind.get(check.pitch, fallback)
                    notes.append(HeardNote(check.pitch, time, velocity, informed=True))
                    if check.pitch not in blind:  # the engine will not tell when it ends
                        self._unended.append((check.pitch, time, mated))
                elif check.pitch in blind:
                    self._overruled.add((check.pitch, time))
            for pitch, velocity in blind.items():
                if pitch in expected:
                    continue
                if (pitch, time) in sure:
                    notes.append(HeardNote(pitch, time, velocity))
                else:
                    self._overruled.add((pitch, time))
        notes.sort(key=lambda n: (n.time, n.pitch))
        fresh = []
        for note in notes:
            last = self._last_onset.get(note.pitch)
            if last is None or note.time - last >= RESTRIKE_SECONDS:
                fresh.append(note)
                self._last_onset[note.pitch] = note.time
        return fresh

    def _ends(self, figures: Any, notes: list[HeardNote]) -> list[HeardNote]:
        """The chunk's note endings. A note only the check heard ends with a chord-mate the
        engine heard too, or else when the next notes begin (or its key is struck again)."""
        ends = []
        for end in figures.note_offs:
            if (end.pitch, end.onset) in self._overruled:
                self._overruled.discard((end.pitch, end.onset))
                continue
            ends.append(HeardNote(end.pitch, end.offset))
            ends.extend(HeardNote(p, end.offset) for p, t, _ in self._unended if t == end.onset)
            self._unended = [u for u in self._unended if u[1] != end.onset]
        if notes:
            first, struck = notes[0].time, {n.pitch for n in notes}
            ending = [u for u in self._unended if u[1] < first and (u[0] in struck or not u[2])]
            ends.extend(HeardNote(pitch, first) for pitch, _, _ in ending)
            self._unended = [u for u in self._unended if u not in ending]
        return ends
