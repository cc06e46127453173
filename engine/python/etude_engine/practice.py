"""Practice loop: the troubled bars of an attempt as a short exercise to play and assess again.

:func:`exercise` cuts bars ``first … last`` out of a score (one hand or both) and sets them at a
chosen share of the notated tempo; :func:`write_exercise` writes it as a MIDI file (mido; one
track per hand, the tempo and time signature set) and a MusicXML file (partitura reads the MIDI
file back and saves it), both ready for ``etude assess``. :func:`from_report` takes the bars,
hand and tempo from the first item of an assessment's feedback that has a ``practice`` field.

Bar numbers are those of the assessment (the unfolded score's, as in ``etude assess --json``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from etude_engine.exceptions import InvalidConfigError
from etude_engine.scores import ScoreData

__all__ = [
    "Exercise",
    "ExerciseNote",
    "exercise",
    "exercise_for_cli",
    "from_report",
    "write_exercise",
]

Hand = Literal["left", "right", "both"]

#: Velocity for a note without a dynamics marking, and the range the markings map onto.
DEFAULT_VELOCITY = 64
#: Grace notes are written this many quarters before their main note.
GRACE_Q = 0.125
TICKS_PER_QUARTER = 480


@dataclass(frozen=True)
class ExerciseNote:
    pitch: int
    onset_q: float
    duration_q: float
    velocity: int
    hand: int  # 0 right, 1 left


@dataclass(frozen=True)
class Exercise:
    """Bars ``first … last`` of a score, for one hand or both, at ``qpm`` quarters a minute."""

    source: str
    first: int
    last: int
    hand: Hand
    tempo: float  # share of the notated tempo
    qpm: float
    time_signature: tuple[int, int]
    notes: list[ExerciseNote]

    @property
    def name(self) -> str:
        stem = Path(self.source).stem
        bars = f"bar{self.first}" if self.first == self.last else f"bars{self.first}-{self.last}"
        return f"{stem}-{bars}-{self.hand}-{round(self.tempo * 100)}pct"


def exercise(
    sd: ScoreData, first: int, last: int, *, hand: Hand = "both", tempo: float = 0.7
) -> Exercise:
    """Bars `first` … `last` of `sd` for `hand`, at `tempo` × the notated tempo.

    Raises :class:`InvalidConfigError` for an empty selection or a tempo outside (0, 2].
    """
    if hand not in ("left", "right", "both"):
        raise InvalidConfigError(f"hand must be left, right or both, got {hand!r}")
    if not (math.isfinite(tempo) and 0.0 < tempo <= 2.0):
        raise InvalidConfigError(
            f"tempo must be a share of the notated tempo in (0, 2], got {tempo}"
        )
    if last < first:
        first, last = last, first
    keep = (sd.bar >= first) & (sd.bar <= last)
    if hand != "both":
        keep &= sd.hand == (0 if hand == "right" else 1)
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        raise InvalidConfigError(
            f"{sd.path}: no {'' if hand == 'both' else hand + '-hand '}notes in bars {first}–{last}"
        )
    # The first bar's downbeat: its notes' onset less the beats already gone.
    beat_q = 4.0 / sd.time_signature[1]
    in_first = idx[sd.bar[idx] == sd.bar[idx].min()]
    k0 = in_first[np.argmin(sd.onset_q[in_first])]
    origin = float(sd.onset_q[k0] - (sd.beat[k0] - 1.0) * beat_q)
    notes = []
    for i in idx:
        on = float(sd.onset_q[i]) - origin
        dur = float(sd.duration_q[i])
        if sd.grace[i] or dur <= 0.0:
            on, dur = max(0.0, on - GRACE_Q), GRACE_Q
        level = float(sd.dynamic[i])
        vel = DEFAULT_VELOCITY if math.isnan(level) else round(30 + 80 * level)
        notes.append(ExerciseNote(int(sd.pitch[i]), on, dur, int(vel), int(sd.hand[i])))
    # One key, one note: a unison of two voices (or hands) is written once, the longest.
    longest: dict[tuple[float, int], ExerciseNote] = {}
    for n in notes:
        key = (round(n.onset_q, 6), n.pitch)
        if key not in longest or n.duration_q > longest[key].duration_q:
            longest[key] = n
    notes = sorted(longest.values(), key=lambda n: (n.onset_q, n.pitch))
    return Exercise(
        source=sd.path,
        first=first,
        last=last,
        hand=hand,
        tempo=tempo,
        qpm=float(max(1, round(sd.qpm * tempo))),  # a metronome mark: whole numbers
        time_signature=sd.time_signature,
        notes=notes,
    )


def from_report(
    sd: ScoreData,
    report: dict[str, Any],
    *,
    hand: Hand | None = None,
    tempo: float | None = None,
    bars: tuple[int, int] | None = None,
) -> Exercise | None:
    """The exercise the report's first practice suggestion asks for (arguments override it);
    ``None`` when nothing is to be practised and no `bars` are given."""
    item = next((f["practice"] for f in report.get("feedback", []) if f.get("practice")), None)
    if bars is None:
        if item is None:
            return None
        bars = (int(item["bars"][0]), int(item["bars"][1]))
    chosen_hand: Hand = hand or (item["hand"] if item else "both")
    chosen_tempo = tempo if tempo is not None else float(item["tempo"]) if item else 0.7
    return exercise(sd, bars[0], bars[1], hand=chosen_hand, tempo=chosen_tempo)


def _midi(ex: Exercise, path: Path) -> None:
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    hands = sorted({n.hand for n in ex.notes})
    for k, hand in enumerate(hands):
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name="right" if hand == 0 else "left"))
        if k == 0:
            num, den = ex.time_signature
            # Rounded down: a hair over the mark, which MusicXML writers truncate.
            track.append(mido.MetaMessage("set_tempo", tempo=int(60_000_000 // ex.qpm)))
            track.append(mido.MetaMessage("time_signature", numerator=num, denominator=den))
        events = []
        for n in ex.notes:
            if n.hand != hand:
                continue
            on = round(n.onset_q * TICKS_PER_QUARTER)
            off = max(on + 1, round((n.onset_q + n.duration_q) * TICKS_PER_QUARTER))
            events.append((on, 1, n.pitch, n.velocity))
            events.append((off, 0, n.pitch, 0))
        events.sort()
        now = 0
        for tick, is_on, pitch, vel in events:
            kind = "note_on" if is_on else "note_off"
            track.append(mido.Message(kind, note=pitch, velocity=vel, channel=0, time=tick - now))
            now = tick
        mid.tracks.append(track)
    mid.save(str(path))


def write_exercise(ex: Exercise, out_dir: str | Path) -> dict[str, str]:
    """Writes ``<name>.mid`` and ``<name>.musicxml`` into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    midi_path = out / f"{ex.name}.mid"
    xml_path = out / f"{ex.name}.musicxml"
    _midi(ex, midi_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import partitura

        score = partitura.load_score_midi(str(midi_path))
        partitura.save_musicxml(score, str(xml_path))
    return {"midi": str(midi_path), "musicxml": str(xml_path)}


def exercise_for_cli(sd: ScoreData, report: dict[str, Any], args: Any) -> dict[str, Any] | None:
    """``etude assess --exercise``: writes the exercise the options and the report ask for;
    returns the JSON's ``exercise`` field (None when there is nothing to practise)."""
    bars = None
    if args.bars:
        first, _, last = str(args.bars).partition("-")
        try:
            bars = (int(first), int(last or first))
        except ValueError:
            raise InvalidConfigError(
                f"--bars: expected FIRST-LAST, e.g. 12-14, got {args.bars!r}"
            ) from None
    tempo = None if args.tempo is None else args.tempo / 100.0
    ex = from_report(sd, report, hand=args.hand, tempo=tempo, bars=bars)
    if ex is None:
        return None
    paths = write_exercise(ex, args.exercise)
    return {
        "bars": [ex.first, ex.last],
        "hand": ex.hand,
        "tempo": ex.tempo,
        "qpm": round(ex.qpm, 2),
        "notes": len(ex.notes),
        **paths,
    }
