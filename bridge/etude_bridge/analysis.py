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
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

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
#: Audio kept (a minute: 10 MB at 44.1 kHz), so that once the piece is named the notes heard
#: blind before can be heard again with the score (see :func:`relisten`).
KEEP_SECONDS = 60.0
RELISTEN_CHUNK = 1024


@dataclass(frozen=True)
class HeardNote:
    """A note the engine heard: ``time`` is its onset (or its end, for an ending).

    ``informed``: decided by the score-informed check of a pitch the score expected."""

    pitch: int
    time: float  # stream time, seconds
    velocity: int = 0
    informed: bool = False
    confidence: float = 1.0  # 0.5: just heard


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


@dataclass
class _Sounding:
    """A published note still sounding, and the engine's note it stands for."""

    onset: float
    engine_onset: float | None  # None: only the score-informed check heard it
    mated: bool = False  # a note the engine heard began with it (its chord's end ends it)


class Listener:
    """The engine's streaming analyser, fed chunk by chunk: notes per chunk, levels per window.

    The notes passed on keep their own bookkeeping (`_sounding`), so that every note-on gets
    one ending: the engine's notes end when it says, a note only the check heard ends with its
    chord (or when the next notes begin), and a key struck again ends its previous note."""

    def __init__(
        self,
        sample_rate: int,
        window_seconds: float = WINDOW_SECONDS,
        keep_seconds: float = KEEP_SECONDS,
    ) -> None:
        self.analyser = StreamingAnalyser(sample_rate)
        self.sample_rate = sample_rate
        self.window_samples = max(1, round(window_seconds * sample_rate))
        self._sounding: dict[int, _Sounding] = {}  # by pitch
        # The last keep_seconds of audio as (stream time, samples); read from another thread.
        self._kept: deque[tuple[float, npt.NDArray[np.float32]]] = deque()
        self._kept_samples = 0
        self._keep_samples = round(keep_seconds * sample_rate)
        self._kept_lock = threading.Lock()
        self._reset(0.0)

    def recording(self, since: float) -> tuple[float, npt.NDArray[np.float32]]:
        """The audio kept from about stream time `since` on: its start and its samples."""
        with self._kept_lock:
            pieces = [(t, x) for t, x in self._kept if t + len(x) / self.sample_rate > since]
        if not pieces:
            return since, np.zeros(0, dtype=np.float32)
        return pieces[0][0], np.concatenate([x for _, x in pieces])

    def _keep(self, samples: npt.NDArray[np.float32]) -> None:
        if self._keep_samples <= 0:
            return
        with self._kept_lock:
            # Sources hand over a fresh array per chunk (never a reused buffer): kept as is.
            self._kept.append((self.analyser.samples_seen / self.sample_rate, samples))
            self._kept_samples += len(samples)
            while self._kept_samples - len(self._kept[0][1]) >= self._keep_samples:
                self._kept_samples -= len(self._kept.popleft()[1])

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
        self._keep(chunk.samples)
        figures = self.analyser.process(chunk.samples)
        heard = self._heard(figures)
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

    def _heard(self, figures: Any) -> Heard:
        """The chunk's notes and endings, in time order (an ending first at the same time)."""
        heard = Heard()
        candidates = self._candidates(figures)
        # The engine ends a note when it hears its pitch begin again; heard again this soon,
        # it is the same note (see _publish), which goes on.
        twice = {note.pitch for note, _, _ in candidates if self._heard_twice(note)}
        for end in figures.note_offs:  # the engine's endings come before its new notes
            if end.pitch not in twice:
                self._engine_ended(end.pitch, end.onset, end.offset, heard)
        for note, engine_onset, mated in candidates:
            self._publish(note, engine_onset, mated, heard)
        return heard

    def _candidates(self, figures: Any) -> list[tuple[HeardNote, float | None, bool]]:
        """The chunk's notes: (note, the engine's onset of it or None, has a heard mate). At an
        onset the score informed, its checks decide the expected pitches and the blind
        transcription adds only pitches the score did not expect that it is sure of."""
        checks: dict[float, list[Any]] = {}
        for check in figures.checks:
            checks.setdefault(check.time, []).append(check)
        velocity_at = {level.time: level.velocity for level in figures.onset_levels}
        out: list[tuple[HeardNote, float | None, bool]] = []
        blind_at: dict[float, dict[int, Any]] = {}
        for note in figures.notes:
            blind_at.setdefault(note.onset, {})[note.pitch] = note
            if note.onset not in checks:
                heard = HeardNote(note.pitch, note.onset, note.velocity, False, note.confidence)
                out.append((heard, note.onset, True))
        for time, onset_checks in checks.items():
            blind = blind_at.get(time, {})
            fallback = velocity_at.get(time) or (
                round(sum(n.velocity for n in blind.values()) / len(blind))
                if blind
                else DEFAULT_VELOCITY
            )
            expected = {check.pitch for check in onset_checks}
            sounded = {check.pitch for check in onset_checks if check.sounded}
            confidence = {check.pitch: check.confidence for check in onset_checks}
            silent = expected - sounded
            unexpected = {
                pitch
                for pitch, note in blind.items()
                if pitch not in expected
                and (
                    note.confidence >= UNEXPECTED_CONFIDENCE
                    or any(abs(pitch - p) <= WRONG_KEY_REACH for p in silent)
                )
            }
            mated = bool((sounded & blind.keys()) or unexpected)
            for pitch in sorted(sounded):
                velocity = blind[pitch].velocity if pitch in blind else fallback
                engine_onset = time if pitch in blind else None
                note = HeardNote(pitch, time, velocity, informed=True, confidence=confidence[pitch])
                out.append((note, engine_onset, mated))
            out.extend(
                (HeardNote(p, time, blind[p].velocity, False, blind[p].confidence), time, True)
                for p in sorted(unexpected)
            )
        out.sort(key=lambda item: (item[0].time, item[0].pitch))
        return out

    def _heard_twice(self, note: HeardNote) -> bool:
        """Whether `note` is the note of its pitch still sounding, heard a second time."""
        sounding = self._sounding.get(note.pitch)
        return sounding is not None and note.time - sounding.onset < RESTRIKE_SECONDS

    def _publish(
        self, note: HeardNote, engine_onset: float | None, mated: bool, heard: Heard
    ) -> None:
        sounding = self._sounding.get(note.pitch)
        if sounding is not None and self._heard_twice(note):
            # The same note heard twice: the engine's later note now stands for it.
            if engine_onset is not None:
                sounding.engine_onset = engine_onset
            return
        self._end_unmated(note.time, heard)
        if sounding is not None:  # a key struck again ends its previous note
            heard.note_ends.append(HeardNote(note.pitch, note.time))
        self._sounding[note.pitch] = _Sounding(note.time, engine_onset, mated)
        heard.notes.append(note)

    def _engine_ended(self, pitch: int, onset: float, offset: float, heard: Heard) -> None:
        sounding = self._sounding.get(pitch)
        if sounding is None or sounding.engine_onset != onset:
            return  # a note that was not passed on, or one already ended
        del self._sounding[pitch]
        heard.note_ends.append(HeardNote(pitch, offset))
        for other, s in list(self._sounding.items()):  # notes only the check heard, its chord
            if s.engine_onset is None and s.onset == sounding.onset:
                del self._sounding[other]
                heard.note_ends.append(HeardNote(other, offset))

    def _end_unmated(self, time: float, heard: Heard) -> None:
        """Notes only the check heard, with no note of the engine's in their chord to end with,
        end when the next notes begin."""
        for pitch, s in list(self._sounding.items()):
            if s.engine_onset is None and not s.mated and s.onset < time:
                del self._sounding[pitch]
                heard.note_ends.append(HeardNote(pitch, time))


def relisten(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    start: float,
    heard: Callable[[Heard], Iterable[int]],
) -> None:
    """Hears `samples` (from stream time `start`) again with a fresh analyser: the notes heard
    blind before the piece was named, heard with the score. `heard` gets what each chunk told
    (stream times) and returns the pitches the score expects next."""
    listener = Listener(sample_rate, keep_seconds=0)
    for k in range(0, len(samples), RELISTEN_CHUNK):
        piece = samples[k : k + RELISTEN_CHUNK]
        told, _ = listener.push(AudioChunk(start + k / sample_rate, piece, sample_rate))
        if told.notes or told.note_ends:
            shifted = Heard(
                [replace(n, time=n.time + start) for n in told.notes],
                [replace(n, time=n.time + start) for n in told.note_ends],
            )
            expected = heard(shifted)
            if told.notes:
                listener.expect(expected)
