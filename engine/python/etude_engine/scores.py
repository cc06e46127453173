"""Scores and performances from files, into the engine's compact model.

Scores (``.musicxml``, ``.xml``, ``.mxl``, ``.mid``, ``.midi``) are parsed with partitura,
repeats unfolded, and flattened to one row per note: onset and duration in quarters and in
seconds at the notated tempo, measure number, beat, hand (staff), voice, grace and ornament
flags and the loudness the markings ask for. Note ids are partitura's (with its ``-1``/``-2``
suffixes when repeats were unfolded), so alignments compare with other tools.

Performances are MIDI files read with mido; their notes are numbered in the order the CLI's
JSON uses: by onset time, then pitch.

A file that cannot be used raises :class:`~etude_engine.exceptions.InvalidScoreError` or
:class:`~etude_engine.exceptions.InvalidPerformanceError` with a one-line message naming the
file and the problem.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import warnings
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from etude_engine._engine import Score
from etude_engine.exceptions import InvalidConfigError, InvalidPerformanceError, InvalidScoreError

__all__ = [
    "DYNAMIC_LEVELS",
    "MIDI_SUFFIXES",
    "SCORE_SUFFIXES",
    "Performance",
    "ScoreData",
    "default_cache_dir",
    "excerpt",
    "load_performance",
    "load_score",
    "load_score_cached",
    "performance_from_notes",
]

SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".mid", ".midi")
#: The note columns of a ScoreData, in the order the engine's Score takes them.
COLUMNS = (
    "pitch",
    "onset_q",
    "duration_q",
    "onset_s",
    "duration_s",
    "bar",
    "beat",
    "hand",
    "voice",
    "grace",
    "ornament",
    "dynamic",
)
#: Bumped when what :func:`load_score_cached` keeps changes.
SCORE_CACHE_VERSION = 1
MIDI_SUFFIXES = (".mid", ".midi")

#: Loudness asked for by each constant dynamics marking, on 0 (ppp) … 1 (fff).
DYNAMIC_LEVELS: dict[str, float] = {
    "pppp": 0.0,
    "ppp": 0.05,
    "pp": 0.15,
    "p": 0.3,
    "mp": 0.42,
    "mf": 0.55,
    "f": 0.7,
    "ff": 0.85,
    "fff": 0.95,
    "ffff": 1.0,
}

#: Quarter notes per minute when the score gives no tempo.
DEFAULT_QPM = 100.0


@dataclass(frozen=True)
class ScoreData:
    """A score as the engine sees it: note columns (one row per note) and the Rust model."""

    path: str
    title: str
    ids: list[str]
    pitch: npt.NDArray[np.int64]
    onset_q: npt.NDArray[np.float64]
    duration_q: npt.NDArray[np.float64]
    onset_s: npt.NDArray[np.float64]
    duration_s: npt.NDArray[np.float64]
    bar: npt.NDArray[np.int64]
    beat: npt.NDArray[np.float64]
    hand: npt.NDArray[np.int64]  # 0 right, 1 left
    voice: npt.NDArray[np.int64]
    grace: npt.NDArray[np.bool_]
    ornament: npt.NDArray[np.bool_]
    dynamic: npt.NDArray[np.float64]  # NaN: no marking yet
    qpm: float
    time_signature: tuple[int, int]
    model: Score = field(repr=False)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Performance:
    """Performed notes sorted by onset, then pitch (the index is the JSON's ``index``)."""

    path: str
    pitch: npt.NDArray[np.int64]
    onset_s: npt.NDArray[np.float64]
    offset_s: npt.NDArray[np.float64]
    velocity: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.pitch)


def _fail(path: Path | str, problem: str) -> InvalidScoreError:
    return InvalidScoreError(f"{path}: {problem}")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _parse(path: Path) -> Any:
    suffix = path.suffix.lower()
    with warnings.catch_warnings():
        # Deferred (importing partitura takes ~0.5 s), and quiet: its dependencies warn.
        warnings.simplefilter("ignore")
        import partitura

        if suffix in MIDI_SUFFIXES:
            return partitura.load_score_midi(str(path))
        return partitura.load_musicxml(str(path))


def _has_repeats(part: Any) -> bool:
    import partitura.score as ps

    names = ("Repeat", "Ending", "DaCapo", "DalSegno", "Fine", "Segno", "Coda", "ToCoda")
    kinds = [getattr(ps, n) for n in names if hasattr(ps, n)]
    return any(next(iter(part.iter_all(k)), None) is not None for k in kinds)


def _tempo_segments(part: Any) -> list[tuple[float, float]]:
    """(start quarter, seconds per quarter) from the part's metronome marks."""
    import partitura.score as ps

    marks = sorted(part.iter_all(ps.Tempo), key=lambda t: t.start.t)
    out: list[tuple[float, float]] = []
    for t in marks:
        us = getattr(t, "microseconds_per_quarter", None)
        if not us or us <= 0:
            continue
        q = float(part.quarter_map(t.start.t))
        out.append((q, us / 1e6))
    if not out:
        out = [(-math.inf, 60.0 / DEFAULT_QPM)]
    return out


def _seconds(quarters: npt.NDArray[np.float64], tempi: list[tuple[float, float]]) -> Any:
    """Seconds at the notated tempo for positions in quarters (piecewise constant tempo)."""
    starts = [q for q, _ in tempi]
    spqs = [s for _, s in tempi]
    origin = float(quarters.min()) if len(quarters) else 0.0
    # Seconds at each tempo change.
    bounds = [origin if math.isinf(starts[0]) else starts[0]]
    at = [0.0]
    for k in range(1, len(starts)):
        at.append(at[-1] + (starts[k] - bounds[-1]) * spqs[k - 1])
        bounds.append(starts[k])
    out = np.empty(len(quarters))
    for i, q in enumerate(quarters):
        k = max(0, bisect_right(bounds, float(q)) - 1)
        out[i] = at[k] + (float(q) - bounds[k]) * spqs[k]
    return out - out.min() if len(out) else out


def _dynamics(part: Any) -> tuple[list[float], list[float]]:
    """(start quarter, level) of the part's constant dynamics markings, in order."""
    import partitura.score as ps

    found = []
    for d in part.iter_all(ps.ConstantLoudnessDirection, include_subclasses=True):
        level = DYNAMIC_LEVELS.get(str(getattr(d, "text", "")).strip().lower())
        if level is not None:
            found.append((float(part.quarter_map(d.start.t)), level))
    found.sort()
    return [q for q, _ in found], [lv for _, lv in found]


def load_score(path: str | Path) -> ScoreData:
    """Reads a score file into the engine's model (repeats unfolded)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SCORE_SUFFIXES:
        raise _fail(
            path,
            f"unsupported score format {suffix or '(none)'!r} "
            f"(use one of {', '.join(SCORE_SUFFIXES)})",
        )
    if not path.is_file():
        raise _fail(path, "no such file")
    try:
        score = _parse(path)
    except Exception as exc:  # partitura raises many kinds on bad input
        raise _fail(path, f"cannot read score: {_one_line(exc)}") from exc
    try:
        return _flatten(path, score)
    except InvalidScoreError:
        raise
    except Exception as exc:
        raise _fail(path, f"cannot use score: {_one_line(exc)}") from exc


def _flatten(path: Path, score: Any) -> ScoreData:
    import partitura.score as ps

    parts = list(ps.iter_parts(score.parts if isinstance(score, ps.Score) else score))
    if not parts:
        raise _fail(path, "the score has no parts")
    rows: list[tuple[Any, ...]] = []
    qpm = DEFAULT_QPM
    ts = (4, 4)
    unfolded = []
    for part0 in parts:
        part = part0
        if _has_repeats(part0):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                part = ps.unfold_part_maximal(part0, update_ids=True)
        unfolded.append(part)
    # Tempo is global: the first part with metronome marks gives it to all (a MIDI score
    # keeps its tempo events in the first track only).
    global_tempi = next(
        (t for t in (_tempo_segments(p) for p in unfolded) if not math.isinf(t[0][0])),
        _tempo_segments(unfolded[0]),
    )
    for part_index, part in enumerate(unfolded):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            na = part.note_array(
                include_staff=True, include_grace_notes=True, include_time_signature=True
            )
        if len(na) == 0:
            continue
        tempi = global_tempi
        if part_index == 0:
            qpm = 60.0 / tempi[0][1]
            ts = (int(na["ts_beats"][0]), int(na["ts_beat_type"][0]))
        measures = sorted(part.iter_all(ps.Measure), key=lambda m: m.start.t)
        m_starts = [float(part.quarter_map(m.start.t)) for m in measures]
        m_numbers = [
            int(m.number) if m.number is not None else k + 1 for k, m in enumerate(measures)
        ]
        ornamented = {n.id for n in part.notes_tied if getattr(n, "ornaments", None)}
        dyn_q, dyn_level = _dynamics(part)
        onset_q = na["onset_quarter"].astype(np.float64)
        onset_s = _seconds(onset_q, tempi)
        end_s = _seconds(onset_q + na["duration_quarter"], tempi)
        for k, row in enumerate(na):
            q = float(onset_q[k])
            mi = max(0, bisect_right(m_starts, q + 1e-9) - 1)
            bar = m_numbers[mi] if m_numbers else 1
            beat_len = 4.0 / float(row["ts_beat_type"] or 4)
            beat = 1.0 + max(0.0, q - (m_starts[mi] if m_starts else 0.0)) / beat_len
            di = bisect_right(dyn_q, q + 1e-9) - 1
            level = dyn_level[di] if di >= 0 else math.nan
            rows.append(
                (
                    str(row["id"]),
                    int(row["pitch"]),
                    q,
                    float(row["duration_quarter"]),
                    float(onset_s[k]),
                    max(0.0, float(end_s[k] - onset_s[k])),
                    bar,
                    beat,
                    int(row["staff"]),
                    part_index,
                    int(row["voice"]),
                    bool(row["is_grace"]),
                    str(row["id"]) in ornamented,
                    level,
                )
            )
    if not rows:
        raise _fail(path, "the score has no notes")
    # Hands: two or more staves → staff 1 is the right hand; otherwise parts; otherwise pitch.
    staves = {r[8] for r in rows}
    parts_used = {r[9] for r in rows}
    if len(staves) > 1:
        hand = [0 if r[8] <= min(staves) else 1 for r in rows]
    elif len(parts_used) > 1:
        hand = [0 if r[9] == min(parts_used) else 1 for r in rows]
    else:
        hand = [0 if r[1] >= 60 else 1 for r in rows]
    ids = [r[0] for r in rows]
    if len(set(ids)) != len(ids):
        seen: dict[str, int] = {}
        for k, i in enumerate(ids):
            seen[i] = seen.get(i, 0) + 1
            if seen[i] > 1:
                ids[k] = f"{i}~{seen[i]}"
    cols = list(zip(*rows, strict=True))
    data: dict[str, Any] = {
        "pitch": np.asarray(cols[1], dtype=np.int64),
        "onset_q": np.asarray(cols[2], dtype=np.float64),
        "duration_q": np.asarray(cols[3], dtype=np.float64),
        "onset_s": np.asarray(cols[4], dtype=np.float64),
        "duration_s": np.asarray(cols[5], dtype=np.float64),
        "bar": np.asarray(cols[6], dtype=np.int64),
        "beat": np.asarray(cols[7], dtype=np.float64),
        "hand": np.asarray(hand, dtype=np.int64),
        "voice": np.asarray(cols[10], dtype=np.int64),
        "grace": np.asarray(cols[11], dtype=np.bool_),
        "ornament": np.asarray(cols[12], dtype=np.bool_),
        "dynamic": np.asarray(cols[13], dtype=np.float64),
    }
    model = Score(**{k: v.tolist() for k, v in data.items()})
    title = getattr(score, "title", None) or path.stem
    return ScoreData(
        path=str(path), title=str(title), ids=ids, qpm=qpm, time_signature=ts, model=model, **data
    )


def default_cache_dir() -> Path:
    """Where parsed scores (and the recognition library's index) are kept between runs:
    ``$XDG_CACHE_HOME/etude``, by default ``~/.cache/etude``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "etude"


def load_score_cached(path: str | Path, cache_dir: str | Path | None) -> ScoreData:
    """:func:`load_score`, keeping the parsed score in `cache_dir` (one ``.npz`` per score,
    keyed by its path, size and modification time), so that a score is parsed once: partitura
    takes seconds over a large MusicXML file, the cache milliseconds."""
    if cache_dir is None:
        return load_score(path)
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return load_score(path)  # it says what is wrong with the path
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{SCORE_CACHE_VERSION}"
    cached = Path(cache_dir) / f"score-{hashlib.sha1(key.encode()).hexdigest()[:20]}.npz"
    try:
        with np.load(cached, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            columns = {name: z[name] for name in COLUMNS}
        model = Score(**{k: v.tolist() for k, v in columns.items()})
        return ScoreData(
            path=str(path),
            title=meta["title"],
            ids=meta["ids"],
            qpm=meta["qpm"],
            time_signature=tuple(meta["time_signature"]),
            model=model,
            **columns,
        )
    except (OSError, ValueError, KeyError):
        pass  # not cached yet, or from another version: parse it
    sd = load_score(path)
    _write_cached(sd, cached)
    return sd


def _write_cached(sd: ScoreData, cached: Path) -> None:
    """Keeps `sd` in `cached`, atomically; a cache that cannot be written (read-only, full) only
    means the score is parsed again next time, so the error is not the caller's."""
    meta = {"title": sd.title, "ids": sd.ids, "qpm": sd.qpm, "time_signature": sd.time_signature}
    tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp.npz")
    columns = {n: getattr(sd, n) for n in COLUMNS}
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(tmp, meta=np.asarray(json.dumps(meta)), **columns)
        os.replace(tmp, cached)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def excerpt(sd: ScoreData, start_q: float, end_q: float) -> ScoreData:
    """The notes of `sd` with onsets from `start_q` to `end_q` quarters; ids and times kept."""
    keep = (sd.onset_q >= start_q - 1e-9) & (sd.onset_q <= end_q + 1e-9)
    if not keep.any():
        raise InvalidConfigError(f"{sd.path} has no notes from quarter {start_q} to {end_q}")
    columns = {name: getattr(sd, name)[keep] for name in COLUMNS}
    model = Score(**{k: v.tolist() for k, v in columns.items()})
    ids = [i for i, k in zip(sd.ids, keep, strict=True) if k]
    return replace(sd, ids=ids, model=model, **columns)


def performance_from_notes(
    pitch: Sequence[int],
    onset_s: Sequence[float],
    offset_s: Sequence[float],
    velocity: Sequence[int],
    path: str = "<notes>",
) -> Performance:
    """A :class:`Performance` from note columns (sorted here by onset, then pitch)."""
    p = np.asarray(pitch, dtype=np.int64)
    on = np.asarray(onset_s, dtype=np.float64)
    off = np.asarray(offset_s, dtype=np.float64)
    vel = np.asarray(velocity, dtype=np.int64)
    order = np.lexsort((p, on))
    return Performance(
        path=path, pitch=p[order], onset_s=on[order], offset_s=off[order], velocity=vel[order]
    )


def load_performance(path: str | Path) -> Performance:
    """Reads the notes of a MIDI performance (all tracks and channels; pedals ignored)."""
    import mido

    path = Path(path)
    if not path.is_file():
        raise InvalidPerformanceError(f"{path}: no such file")
    try:
        midi = mido.MidiFile(str(path))
        messages = list(midi)  # merged tracks, delta times in seconds
    except Exception as exc:
        raise InvalidPerformanceError(
            f"{path}: not a readable MIDI file: {_one_line(exc)}"
        ) from exc
    now = 0.0
    sounding: dict[tuple[int, int], list[tuple[float, int]]] = {}
    notes: list[tuple[int, float, float, int]] = []
    for msg in messages:
        now += float(msg.time)
        if msg.type == "note_on" and msg.velocity > 0:
            sounding.setdefault((msg.channel, msg.note), []).append((now, msg.velocity))
        elif msg.type in ("note_off", "note_on"):
            started = sounding.get((msg.channel, msg.note))
            if started:
                on, vel = started.pop(0)
                notes.append((msg.note, on, now, vel))
    for (_, pitch), started in sounding.items():
        notes.extend((pitch, on, max(on, now), vel) for on, vel in started)
    if not notes:
        raise InvalidPerformanceError(f"{path}: the MIDI file has no notes")
    cols = list(zip(*notes, strict=True))
    return performance_from_notes(cols[0], cols[1], cols[2], cols[3], path=str(path))
