"""Feedback thresholds: a professional's expression against a student's slips.

The assessment's tempo and rhythm feedback must stay quiet on a professional's rubato and
speak up when a student rushes, drags, slows down over the piece or plays a bar unevenly.
This bench calibrates the thresholds in ``etude_engine.assess`` on the 88 professional
Vienna 4x22 takes (where a teacher would flag nothing) and measures them on the same takes
with faults injected (seed 5), one fault per take and kind:

* drag — three consecutive bars played at 70 % of the player's tempo;
* rush — three consecutive bars at 133 %;
* drift — the whole take slowing steadily, 20 % slower at the end;
* uneven — every chord (notes within 30 ms) of one bar moved 70–150 ms early or late at
  random;
* ignored dynamics — each stretch of the score under one marking played at a loudness drawn at
  random (its notes moved together, so voicing and accents stay): the player's own spread of
  loudness, unrelated to the markings (only the scores marking three stretches or more);
* loose chords — every note of each hand's chords struck 0–80 ms late at random.

A fault is *found* when the feedback names it: a dragged (rushed) run overlapping the three
bars, a slowing drift, or the bar called uneven. Each threshold is the smallest that leaves at
most one professional take in ten with that kind of feedback (``FALSE_ALARM_BUDGET``); it is
calibrated with each piece held out in turn (chosen on the other three, measured on it), and
once on all four (the value to ship). The rows marked *shipped* use the constants in
``etude_engine.assess`` as they are. A take whose score marks fewer than three stretches has
no dynamics evidence either way and is left out of that column.

    .venv/bin/python -m bench.feedback_eval          # ~1 min
"""

from __future__ import annotations

import argparse
import collections
import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from etude_engine import assess as assess_mod
from etude_engine.assess import align_performance, assess
from etude_engine.scores import Performance, load_performance, load_score

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "performances"
FALSE_ALARM_BUDGET = 0.10
FAULTS = ("drag", "rush", "drift", "uneven", "ignored dynamics", "loose chords")
GRIDS = {
    "tempo": np.round(np.arange(0.05, 0.80, 0.01), 2),
    "drift": np.round(np.arange(0.02, 0.50, 0.01), 2),
    "uneven": np.round(np.arange(1.2, 8.0, 0.1), 1),
    # 1 − dynamics_following: 0 follows perfectly, 2 the markings turned upside down.
    "dynamics": np.round(np.arange(0.05, 2.0, 0.01), 2),
    "chords": np.arange(10.0, 80.0, 0.5),
}
KIND_OF = {
    "drag": "tempo",
    "rush": "tempo",
    "drift": "drift",
    "uneven": "uneven",
    "ignored dynamics": "dynamics",
    "loose chords": "chords",
}


@dataclass
class Take:
    """One professional take: the strongest evidence in it for each kind of feedback, and for
    each injected fault the strongest evidence *at the fault* (the threshold finds it below)."""

    piece: str
    pro: dict[str, float] = field(default_factory=dict)
    fault: dict[str, float] = field(default_factory=dict)
    kinds: collections.Counter[str] = field(default_factory=collections.Counter)


def _warp(perf: Performance, fn: Callable[[np.ndarray], np.ndarray]) -> Performance:
    return Performance(perf.path, perf.pitch, fn(perf.onset_s), fn(perf.offset_s), perf.velocity)


def _stretch(t0: float, t1: float, k: float) -> Callable[[np.ndarray], np.ndarray]:
    def fn(t: np.ndarray) -> np.ndarray:
        inside = t0 + (t - t0) * k
        after = t0 + (t1 - t0) * k + (t - t1)
        return np.where(t < t0, t, np.where(t < t1, inside, after))

    return fn


def _drift(t_end: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda t: t + 0.2 * t * t / (2 * t_end)


def _chords(onsets: np.ndarray, notes: list[int]) -> list[list[int]]:
    """`notes` in chords: those struck within 30 ms of a chord's first note move together."""
    chords: list[list[int]] = []
    for i in sorted(notes, key=lambda i: onsets[i]):
        if chords and onsets[i] - onsets[chords[-1][0]] < 0.03:
            chords[-1].append(i)
        else:
            chords.append([i])
    return chords


def _dynamics(metrics: dict[str, Any]) -> float:
    """Evidence that the loudness ignores the markings; NaN when the score marks too little."""
    follow = metrics["dynamics_following"]
    return math.nan if follow is None else 1.0 - follow


def _chord_spread(metrics: dict[str, Any]) -> float:
    spread = metrics["hand_chord_spread_ms"]
    return 0.0 if spread is None else float(spread)


def _evidence(report: dict[str, Any]) -> dict[str, float]:
    bars = report["bars"]
    windows = assess_mod.tempo_windows(bars)
    uneven = assess_mod.unevenness(bars)
    return {
        "tempo": max((w.strength for w in windows), default=0.0),
        "drift": abs(assess_mod.tempo_drift(bars)),
        "uneven": max((r for _, r in uneven), default=0.0),
        "dynamics": _dynamics(report["metrics"]),
        "chords": _chord_spread(report["metrics"]),
    }


def _with_velocity(perf: Performance, velocity: np.ndarray) -> Performance:
    loud = np.clip(np.rint(velocity), 1, 127).astype(perf.velocity.dtype)
    return Performance(perf.path, perf.pitch, perf.onset_s, perf.offset_s, loud)


def _ignored_dynamics(
    sd: Any, perf: Performance, matched: list[tuple[int, int]], rng: np.random.Generator
) -> Performance:
    """Each stretch under one marking moved to a loudness drawn from the player's own stretches'."""
    stretch_of: dict[int, int] = {}
    k, level = -1, None
    for i in np.argsort(sd.onset_q, kind="stable"):
        if sd.dynamic[i] != level:  # (NaN never equals: unmarked notes stay apart)
            k, level = k + 1, sd.dynamic[i]
        stretch_of[int(i)] = k
    members: dict[int, list[int]] = collections.defaultdict(list)
    for si, pi in matched:
        members[stretch_of[si]].append(pi)
    medians = {s: float(np.median(perf.velocity[ps])) for s, ps in members.items()}
    pool = np.array(list(medians.values()))
    velocity = perf.velocity.astype(float)
    for s, ps in members.items():
        velocity[ps] += rng.choice(pool) - medians[s]
    return _with_velocity(perf, velocity)


def _loose_chords(
    sd: Any, perf: Performance, matched: list[tuple[int, int]], rng: np.random.Generator
) -> Performance:
    chords: dict[tuple[float, int], list[int]] = collections.defaultdict(list)
    for si, pi in matched:
        chords[(float(sd.onset_q[si]), int(sd.hand[si]))].append(pi)
    onsets, offsets = perf.onset_s.copy(), perf.offset_s.copy()
    for notes in chords.values():
        if len(notes) >= 2:
            late = rng.uniform(0.0, 0.08, len(notes))
            onsets[notes] += late
            offsets[notes] += late
    order = np.lexsort((perf.pitch, onsets))
    return Performance(
        perf.path, perf.pitch[order], onsets[order], offsets[order], perf.velocity[order]
    )


def _tempo_at(bars: list[dict[str, Any]], numbers: set[int], sign: int) -> float:
    return max(
        (
            w.strength
            for w in assess_mod.tempo_windows(bars)
            if w.sign == sign and {b["bar"] for b in bars[w.first : w.last + 1]} & numbers
        ),
        default=0.0,
    )


def _take(
    row: dict[str, str], sd: Any, rng: np.random.Generator, rng_more: np.random.Generator
) -> Take:
    perf = load_performance(DATA / row["midi"])
    report = assess(sd, perf)
    take = Take(row["piece"], _evidence(report))
    take.kinds.update(item["kind"] for item in report["feedback"])
    a = align_performance(sd, perf)
    bar_notes: dict[int, list[int]] = collections.defaultdict(list)
    matched: list[tuple[int, int]] = []
    for si, lab, pi, final in zip(
        a.note_score_index, a.note_label, a.note_perf_index, a.note_is_final, strict=True
    ):
        if lab == "match":
            bar_notes[int(sd.bar[si])].append(int(pi))
            if final:
                matched.append((int(si), int(pi)))
    start = {b: float(perf.onset_s[ns].min()) for b, ns in bar_notes.items()}
    # Three-bar faults stay clear of the first bar and of the closing bars left out of feedback.
    firsts = sorted(b for b in start if b > 1 and b + 3 in start and b + 3 + 2 <= max(start))
    for name, k, sign in (("drag", 1 / 0.7, -1), ("rush", 0.75, 1)):
        b = int(rng.choice(firsts))
        bars = assess(sd, _warp(perf, _stretch(start[b], start[b + 3], k)))["bars"]
        take.fault[name] = _tempo_at(bars, {b, b + 1, b + 2}, sign)
    drifted = assess(sd, _warp(perf, _drift(float(perf.onset_s.max()))))["bars"]
    slowing = -assess_mod.tempo_drift(drifted)
    take.fault["drift"] = slowing
    b = int(rng.choice(firsts))
    onsets = perf.onset_s.copy()
    offsets = perf.offset_s.copy()
    for chord in _chords(perf.onset_s, bar_notes[b]):
        shift = rng.uniform(0.07, 0.15) * (1 if rng.random() < 0.5 else -1)
        onsets[chord] += shift
        offsets[chord] += shift
    order = np.lexsort((perf.pitch, onsets))
    shaken = Performance(
        perf.path, perf.pitch[order], onsets[order], offsets[order], perf.velocity[order]
    )
    bars = assess(sd, shaken)["bars"]
    take.fault["uneven"] = max(
        (r for i, r in assess_mod.unevenness(bars) if bars[i]["bar"] == b), default=0.0
    )
    # (Their own generator, so the faults above stay those measured before these were added.)
    ignored = assess(sd, _ignored_dynamics(sd, perf, matched, rng_more))["metrics"]
    take.fault["ignored dynamics"] = _dynamics(ignored)
    loose = assess(sd, _loose_chords(sd, perf, matched, rng_more))["metrics"]
    take.fault["loose chords"] = _chord_spread(loose)
    return take


def _share(values: list[float], threshold: float) -> float:
    """Share of `values` above `threshold`, NaN (no evidence either way) left out."""
    known = [v for v in values if not math.isnan(v)]
    return float(np.mean([v > threshold for v in known])) if known else math.nan


def _calibrate(takes: list[Take], kind: str) -> float:
    """The smallest threshold that leaves at most FALSE_ALARM_BUDGET of `takes` flagged."""
    for theta in GRIDS[kind]:
        if not _share([t.pro[kind] for t in takes], theta) > FALSE_ALARM_BUDGET:
            return float(theta)
    return float(GRIDS[kind][-1])


def _rates(takes: list[Take], thresholds: dict[str, float]) -> dict[str, float]:
    out = {k: _share([t.pro[k] for t in takes], thresholds[k]) for k in GRIDS}
    for fault in FAULTS:
        found = _share([t.fault[fault] for t in takes], thresholds[KIND_OF[fault]])
        out["found " + fault] = found
    return out


def _row(label: str, thresholds: dict[str, float], r: dict[str, float]) -> str:
    th = " / ".join(f"{thresholds[k]:g}" for k in GRIDS)
    alarms = " / ".join("—" if math.isnan(r[k]) else f"{r[k]:.2f}" for k in GRIDS)
    found = " | ".join(
        "—" if math.isnan(r["found " + f]) else f"{r['found ' + f]:.2f}" for f in FAULTS
    )
    return f"| {label} | {th} | {alarms} | {found} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.parse_args(argv)
    rng, rng_more = np.random.default_rng(5), np.random.default_rng(6)
    rows = list(csv.DictReader((DATA / "manifest.csv").open()))
    scores: dict[str, Any] = {}
    takes = []
    for row in rows:
        if row["score"] not in scores:
            scores[row["score"]] = load_score(DATA / row["score"])
        takes.append(_take(row, scores[row["score"]], rng, rng_more))
    shipped = {
        "tempo": assess_mod.TEMPO_TOLERANCE,
        "drift": assess_mod.DRIFT_TOLERANCE,
        "uneven": assess_mod.UNEVEN_RATIO,
        "dynamics": 1.0 - assess_mod.DYNAMICS_FOLLOWING_MIN,
        "chords": assess_mod.CHORD_SPREAD_MS,
    }
    print(f"{len(takes)} professional takes; false-alarm budget {FALSE_ALARM_BUDGET:.0%}\n")
    kinds = " / ".join(GRIDS)
    print(
        f"| held out | thresholds {kinds} | pro takes flagged {kinds} | found: "
        + " | ".join(FAULTS)
        + " |"
    )
    print("|" + " --- |" * (3 + len(FAULTS)))
    pieces = sorted({t.piece for t in takes})
    for piece in pieces:
        train = [t for t in takes if t.piece != piece]
        test = [t for t in takes if t.piece == piece]
        thresholds = {k: _calibrate(train, k) for k in GRIDS}
        print(_row(piece, thresholds, _rates(test, thresholds)))
    everything = {k: _calibrate(takes, k) for k in GRIDS}
    print(_row("none (all four: the value to ship)", everything, _rates(takes, everything)))
    for piece in pieces:
        test = [t for t in takes if t.piece == piece]
        print(_row(f"shipped, {piece}", shipped, _rates(test, shipped)))
    print(_row("shipped, all", shipped, _rates(takes, shipped)))
    kinds = sum((t.kinds for t in takes), collections.Counter[str]())
    print("\nFeedback items over the professional takes, by kind:", dict(sorted(kinds.items())))
    pros_worst = {k: float(np.nanpercentile([t.pro[k] for t in takes], 90)) for k in GRIDS}
    print(
        "\n90th percentile of the professional evidence:",
        {k: round(v, 3) for k, v in pros_worst.items()},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
