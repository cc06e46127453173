"""What a finished session was, and how it went: the engine's assessment, on the device.

The controller records each session's notes (:class:`TakeRecorder`). When the session ends,
:class:`SessionAssessor` names the piece from the score library (``score_library`` in the
settings) and assesses the passage played against it; a take that is not in the library, or a
bridge without one, gets the free-play figures instead. The result is the fields of a
``session_analysis`` event. The engine is imported here only, so a bridge without the engine
still runs (and sends no analysis).
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Sessions with fewer notes than this are not assessed: a few keys pressed in passing.
MIN_NOTES = 8
#: A library this small has all its scores parsed at start-up (a big one: each on first use).
PRELOAD_SCORES = 32
#: Feedback items sent at most (the protocol allows 10).
MAX_FEEDBACK = 5


@dataclass
class TakeRecorder:
    """The notes of one session: onsets paired with their releases, in session seconds."""

    pitch: list[int] = field(default_factory=list)
    onset: list[float] = field(default_factory=list)
    offset: list[float] = field(default_factory=list)
    velocity: list[int] = field(default_factory=list)
    _sounding: dict[tuple[int, int], int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pitch)

    def note_on(self, t: float, pitch: int, velocity: int, channel: int = 0) -> None:
        self.note_off(t, pitch, channel)  # a key struck again ends its previous note
        self._sounding[(channel, pitch)] = len(self.pitch)
        self.pitch.append(pitch)
        self.onset.append(t)
        self.offset.append(math.nan)
        self.velocity.append(velocity)

    def note_off(self, t: float, pitch: int, channel: int = 0) -> None:
        index = self._sounding.pop((channel, pitch), None)
        if index is not None:
            self.offset[index] = max(t, self.onset[index])

    def snapshot(self) -> TakeRecorder:
        """A copy of the notes so far (the ones still sounding end where they began)."""
        return TakeRecorder(
            list(self.pitch), list(self.onset), list(self.offset), list(self.velocity)
        )

    def replace_between(self, since: float, cut: float, other: TakeRecorder) -> None:
        """Replaces the notes struck from `since` to before `cut` (session seconds) with those
        of `other` struck then: the same stretch of playing, heard again better."""
        before = [k for k, t in enumerate(self.onset) if t < since]
        after = [k for k, t in enumerate(self.onset) if t >= cut]
        taken = [k for k, t in enumerate(other.onset) if since <= t < cut]
        theirs_at = {old: len(before) + n for n, old in enumerate(taken)}
        mine_at = {old: n for n, old in enumerate(before)}
        mine_at.update({old: len(before) + len(taken) + n for n, old in enumerate(after)})
        sounding = {key: theirs_at[k] for key, k in other._sounding.items() if k in theirs_at}
        sounding.update({key: mine_at[k] for key, k in self._sounding.items() if k in mine_at})
        for column in ("pitch", "onset", "offset", "velocity"):
            mine, theirs = getattr(self, column), getattr(other, column)
            merged = [mine[k] for k in before] + [theirs[k] for k in taken]
            setattr(self, column, merged + [mine[k] for k in after])
        self._sounding = sounding

    def finish(self) -> TakeRecorder:
        """Closes the notes still sounding at the last event heard; returns self."""
        end = max([*self.onset, *(o for o in self.offset if not math.isnan(o))], default=0.0)
        for index in self._sounding.values():
            self.offset[index] = max(end, self.onset[index])
        self._sounding.clear()
        return self


@dataclass(frozen=True)
class Recognition:
    """A piece of the library named by a session's first notes."""

    name: str  # the score's file, relative to the library folder
    title: str
    bar: int | None
    confidence: float
    notes_used: int


@dataclass(frozen=True)
class ScoreGroups:
    """A score's notes gathered into chords (notes struck together), in score order: what
    the score expects after a given place in it, and where in the score (bar, beat) each
    chord and each note is."""

    onset_q: tuple[float, ...]
    pitches: tuple[tuple[int, ...], ...]
    #: (bar, beat) of each chord, and of each score note (by its index in the score).
    places: tuple[tuple[int, float], ...] = ()
    note_places: tuple[tuple[int, float], ...] = ()

    @classmethod
    def of(cls, onset_q: Any, pitch: Any, bar: Any = None, beat: Any = None) -> ScoreGroups:
        chords: dict[float, set[int]] = {}
        for q, p in zip(onset_q, pitch, strict=True):
            chords.setdefault(round(float(q), 6), set()).add(int(p))
        order = sorted(chords)
        note_places: tuple[tuple[int, float], ...] = ()
        places: tuple[tuple[int, float], ...] = ()
        if bar is not None and beat is not None:
            note_places = tuple((int(b), float(t)) for b, t in zip(bar, beat, strict=True))
            first: dict[float, tuple[int, float]] = {}
            for q, place in zip(onset_q, note_places, strict=True):
                first.setdefault(round(float(q), 6), place)
            places = tuple(first[q] for q in order)
        return cls(
            tuple(order), tuple(tuple(sorted(chords[q])) for q in order), places, note_places
        )

    def after(self, score_q: float) -> tuple[int, ...]:
        """The pitches of the first chord after `score_q` (quarters), or () at the end."""
        i = bisect.bisect_right(self.onset_q, round(score_q, 6))
        return self.pitches[i] if i < len(self.pitches) else ()

    def place_of_note(self, note: int) -> tuple[int, float] | None:
        """(bar, beat) of score note `note`, if the places are known."""
        return self.note_places[note] if 0 <= note < len(self.note_places) else None

    def place_at(self, score_q: float) -> tuple[int, float] | None:
        """(bar, beat) of the chord at `score_q` (or the last one before it)."""
        i = bisect.bisect_right(self.onset_q, round(score_q, 6)) - 1
        return self.places[i] if 0 <= i < len(self.places) else None


class SessionAssessor:
    """Recognises, follows and assesses sessions. Not thread-safe: one worker thread uses it
    (and the MIDI thread only pushes notes to the followers it hands out)."""

    #: Notes played after which the piece is looked up, until it is found.
    RECOGNISE_AT = (24, 48, 96, 160)

    def __init__(self, library_dir: Path | None, cache_dir: Path | None = None) -> None:
        self.library_dir = library_dir
        self.cache_dir = cache_dir
        self._library: Any = None
        self._scores: dict[str, Any] = {}

    def warm_up(self) -> None:
        """Indexes the library (parsing only the scores its cache does not hold)."""
        if self.library_dir is None or self._library is not None:
            return
        from etude_engine.recognize import load_library

        self._library = load_library(self.library_dir, cache_dir=self.cache_dir)
        for name, problem in self._library.skipped:
            log.warning("score library: %s skipped: %s", name, problem)
        log.info("score library %s: %d pieces", self.library_dir, len(self._library))
        if len(self._library) <= PRELOAD_SCORES:  # then following starts the moment it is named
            for piece in self._library.pieces:
                self._score(piece.name)

    def recognise(self, take: TakeRecorder, *, finished: bool = False) -> Recognition | None:
        """The library piece the take plays, or None (no library, unknown, too few notes).

        `finished`: the take is over, so where it ends can tell the passes of a repeat apart."""
        if len(take) < MIN_NOTES:
            return None
        self.warm_up()
        if self._library is None or not len(self._library):
            return None
        from etude_engine.recognize import identify

        found = identify(_performance(take), self._library, whole_take=finished)
        if found["piece"] is None:
            return None
        name = str(found["piece"])
        return Recognition(
            name=name,
            title=str(self._score(name).title)[:255],
            bar=found["bar"],
            confidence=min(1.0, max(0.0, float(found["confidence"]))),
            notes_used=int(found.get("notes_used", len(take))),
        )

    def follower(self, recognition: Recognition) -> Any:
        """A fresh live score follower (etude_engine.ScoreFollower) for the piece."""
        from etude_engine import ScoreFollower

        return ScoreFollower(self._score(recognition.name).model)

    def groups(self, recognition: Recognition) -> ScoreGroups:
        """The piece's chords, for telling the audio analyser what comes next."""
        score = self._score(recognition.name)
        return ScoreGroups.of(score.onset_q, score.pitch, score.bar, score.beat)

    def analyse(
        self,
        take: TakeRecorder,
        recognition: Recognition | None = None,
        *,
        evidence: TakeRecorder | None = None,
    ) -> dict[str, Any] | None:
        """The fields of a session_analysis event for `take`, or None when it is too short.

        `recognition`: the piece already named while the session was played, if any;
        `evidence`: the notes to name it from otherwise (default: the whole take)."""
        if len(take) < MIN_NOTES:
            return None
        recognition = recognition or self.recognise(
            take if evidence is None else evidence, finished=True
        )
        perf = _performance(take)
        if recognition is not None:
            return self._assessed(perf, recognition)
        return self._free_play(perf)

    def _score(self, name: str) -> Any:
        if name not in self._scores:
            from etude_engine.scores import load_score_cached

            assert self.library_dir is not None
            self._scores[name] = load_score_cached(self.library_dir / name, self.cache_dir)
        return self._scores[name]

    def _assessed(self, perf: Any, recognition: Recognition) -> dict[str, Any]:
        from etude_engine.assess import assess

        report = assess(self._score(recognition.name), perf)
        metrics, notes = report["metrics"], report["metrics"]["notes"]
        return {
            "piece": recognition.title,
            "score": recognition.name[:500],
            "confidence": recognition.confidence,
            "first_bar": report["attempt"]["first_bar"],
            "last_bar": report["attempt"]["last_bar"],
            "pitch_accuracy": metrics["pitch_accuracy"],
            "rhythm_accuracy": metrics["rhythm_accuracy"],
            "dynamics_range": _share(metrics["dynamics_range"]),
            "overall_score": metrics["overall_score"],
            "matched": notes["matched"],
            "wrong_pitch": notes["wrong_pitch"],
            "missed": notes["missed"],
            "extra": notes["extra"],
            "feedback": [_feedback_item(item) for item in report["feedback"][:MAX_FEEDBACK]],
        }

    def _free_play(self, perf: Any) -> dict[str, Any]:
        from etude_engine.freeplay import free_play

        figures = free_play(perf)
        return {
            "tempo_bpm": figures["tempo_bpm"],
            "tempo_stability": _share(figures["tempo_stability"]),
            "evenness": _share(figures["evenness"]),
            "dynamics_range": _share(figures["dynamics_range"]),
        }


def _performance(take: TakeRecorder) -> Any:
    from etude_engine.scores import performance_from_notes

    offsets = [o if not math.isnan(o) else t for t, o in zip(take.onset, take.offset, strict=True)]
    return performance_from_notes(take.pitch, take.onset, offsets, take.velocity)


def _share(x: float | None) -> float | None:
    return None if x is None else min(1.0, max(0.0, float(x)))


def _feedback_item(item: dict[str, Any]) -> dict[str, Any]:
    bars = item.get("bars")
    return {
        "kind": str(item["kind"])[:20],
        "bars": (int(bars[0]), int(bars[1])) if bars else None,
        "hand": item.get("hand") if item.get("hand") in ("right", "left") else None,
        "message": str(item["message"])[:500],
    }
