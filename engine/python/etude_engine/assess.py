"""Assessing a performance against a score: the report behind ``etude assess``.

:func:`assess` aligns the performed notes to the score in Rust (:func:`etude_engine.align`)
and returns a JSON-ready report: ``metrics``, ``bars`` (per-bar figures), ``feedback`` (a
short ranked list of suggestions, each with its evidence) and ``alignment`` (one entry per
score note — a restarted passage adds one per earlier pass that was played — and one per
extra performed note). The shape is a public interface, documented in ``docs/cli.md``;
formulas are in ``docs/assessment.md``.
"""

from __future__ import annotations

import bisect
import collections
import math
import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np

from etude_engine._engine import Alignment, align
from etude_engine.scores import Performance, ScoreData, excerpt

__all__ = ["align_performance", "assess", "attempted_bars", "feedback"]

JSON = dict[str, Any]

# The thresholds below tell a student's slip from a professional's expression. They are
# calibrated on the 88 professional Vienna 4x22 takes (where a teacher would flag nothing) against
# the same takes with tempo and timing faults injected: `bench/feedback_eval.py` sets each one,
# piece by piece held out, so that at most one professional take in ten draws that feedback.

#: Log tempo ratio against the attempt's median beyond which a bar counts as rushed or dragged
#: (0.28: 32 % faster or 24 % slower). Phrase endings in Schubert and Mozart drag by 20 %.
TEMPO_TOLERANCE = 0.28
#: Bars that must rush or drag together before tempo feedback speaks: one slow bar is a
#: phrase ending or a breath.
TEMPO_RUN_BARS = 2
#: The last bars of an attempt are left out of tempo feedback: a closing ritardando is expected.
ENDING_BARS = 2
#: Change of log tempo from the first to the last bar (a robust line through the bars' tempi)
#: beyond which the whole attempt drifted slower or faster.
DRIFT_TOLERANCE = 0.18
#: A bar is uneven when its timing irregularity (see `_irregularity`) is this many times the
#: attempt's usual bar's.
UNEVEN_RATIO = 2.6
#: Median spread of one hand's chords beyond which they are not struck together. The 88
#: professional takes spread theirs by 9–43 ms (median 16); two are above 35 ms. (Across both
#: hands a chord spreads 17–66 ms: a melody played ahead of its accompaniment is expression.)
#: Set above the bench's 10 % budget (28.5 ms): at 30 ms a professional take of Chopin op. 10
#: no. 3 in four would be told to play its chords as blocks.
CHORD_SPREAD_MS = 35.0
#: Below this correlation between the marked levels and the loudness of the stretches under
#: them, the dynamics do not follow the markings. Professionals: 0.36–0.97. Set below the
#: bench's 10 % budget (0.54): a threshold chosen on one piece does not carry to another
#: (chosen on Schubert, it flags 95 % of the op. 10 no. 3 takes).
DYNAMICS_FOLLOWING_MIN = 0.3
#: Feedback items returned at most.
MAX_FEEDBACK = 5


def _r(x: float | None, nd: int = 4) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), nd)


def _hand_json(h: JSON) -> JSON:
    return {
        "matched": h["matched"],
        "wrong_pitch": h["wrong_pitch"],
        "missed": h["missed"],
        "extra": h["extra"],
        "pitch_accuracy": _r(h["pitch_accuracy"]),
        "rhythm_accuracy": _r(h["rhythm_accuracy"]),
        "mean_timing_deviation_ms": _r(h["mean_dev_ms"], 1),
        "mean_abs_timing_deviation_ms": _r(h["mean_abs_dev_ms"], 1),
        "mean_velocity": _r(h["mean_velocity"], 1),
        "chord_spread_ms": _r(h["chord_spread_ms"], 1),
    }


def _alignment_json(sd: ScoreData, perf: Performance, a: Alignment) -> list[JSON]:
    out: list[JSON] = []

    def pnote(i: int) -> JSON | None:
        if i < 0:
            return None
        return {
            "index": i,
            "pitch": int(perf.pitch[i]),
            "onset_s": round(float(perf.onset_s[i]), 4),
        }

    for si, lab, pi, dev in zip(
        a.note_score_index, a.note_label, a.note_perf_index, a.note_timing_dev_s, strict=True
    ):
        out.append(
            {
                "score_note_id": sd.ids[int(si)],
                "performance_note": pnote(int(pi)),
                "label": lab,
                "timing_deviation_ms": None if math.isnan(dev) else round(float(dev) * 1000.0, 1),
            }
        )
    for i, lab in enumerate(a.perf_label):
        if lab == "extra":
            out.append(
                {
                    "score_note_id": None,
                    "performance_note": pnote(i),
                    "label": "extra",
                    "timing_deviation_ms": None,
                }
            )
    return out


def _bars(m: JSON) -> list[JSON]:
    bars = []
    for b in m["bars"]:
        entry = {"bar": b["bar"], "start_q": _r(b["start_q"]), "qpm": _r(b["qpm"], 1)}
        entry.update(_hand_json(b))
        entry["right"] = _hand_json(b["right"])
        entry["left"] = _hand_json(b["left"])
        bars.append(entry)
    return bars


def _span(bars: list[int]) -> str:
    return f"Bar {bars[0]}" if bars[0] == bars[-1] else f"Bars {bars[0]}–{bars[-1]}"


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """Index ranges [a, b] of consecutive True flags (one clean bar between joins them)."""
    runs: list[tuple[int, int]] = []
    k = 0
    while k < len(flags):
        if not flags[k]:
            k += 1
            continue
        a = b = k
        while b + 1 < len(flags) and (flags[b + 1] or (b + 2 < len(flags) and flags[b + 2])):
            b += 1
        while not flags[b]:
            b -= 1
        runs.append((a, b))
        k = b + 1
    return runs


def _count_text(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class TempoWindow:
    """Consecutive bars that all rush (sign +1) or drag (-1) by at least `strength`."""

    first: int  # index into the attempt's bars
    last: int
    sign: int
    strength: float  # the smallest |log(bar tempo / median)| in the window


def _tempo_bars(bars: list[JSON]) -> tuple[list[int], list[float], float]:
    """Indices of the bars with a tempo (closing bars left out), their log tempo, the median."""
    timed = [i for i, b in enumerate(bars) if b["qpm"]]
    if len(timed) <= ENDING_BARS:
        return [], [], 0.0
    med = statistics.median(bars[i]["qpm"] for i in timed)
    timed = timed[: len(timed) - ENDING_BARS]
    return timed, [math.log(bars[i]["qpm"] / med) for i in timed], med


def tempo_windows(bars: list[JSON]) -> list[TempoWindow]:
    """Every run of TEMPO_RUN_BARS consecutive timed bars, with how far it rushes or drags."""
    timed, logs, _ = _tempo_bars(bars)
    out: list[TempoWindow] = []
    for k in range(len(timed) - TEMPO_RUN_BARS + 1):
        window = logs[k : k + TEMPO_RUN_BARS]
        sign = 1 if window[0] > 0 else -1
        strength = min(sign * d for d in window)
        if strength > 0:
            out.append(TempoWindow(timed[k], timed[k + TEMPO_RUN_BARS - 1], sign, strength))
    return out


def tempo_drift(bars: list[JSON]) -> float:
    """Change of log tempo over the attempt: Theil–Sen slope through the bars' tempi × span."""
    timed, logs, _ = _tempo_bars(bars)
    if len(timed) < 8:
        return 0.0
    slopes = [
        (logs[j] - logs[i]) / (timed[j] - timed[i])
        for i in range(len(timed))
        for j in range(i + 1, len(timed))
    ]
    return statistics.median(slopes) * (timed[-1] - timed[0])


def unevenness(bars: list[JSON]) -> list[tuple[int, float]]:
    """(bar index, ratio) for each bar: its timing irregularity over the attempt's usual bar's."""
    closing = len(bars) - ENDING_BARS  # a final ritardando or fermata is not unevenness
    figures = [
        (i, float(b["timing_irregularity"]))
        for i, b in enumerate(bars[:closing])
        if b.get("timing_irregularity") is not None
    ]
    if len(figures) < 4:
        return []
    usual = max(statistics.median(f for _, f in figures), 1e-3)
    return [(i, f / usual) for i, f in figures]


def _irregularity(sd: ScoreData, perf: Performance, a: Alignment, bars: list[JSON]) -> None:
    """Adds each bar's ``timing_irregularity``: the mean jump in log tempo from one inter-onset
    interval to the next, over the onset groups of the bar's final pass.

    Rubato bends the tempo smoothly, so consecutive intervals stretch alike and the jumps stay
    small; a stumbling hand stretches one interval and squeezes the next. Chord spread and a
    melody played ahead of its chord do not count: a group's time is its notes' median onset.
    """
    times: dict[float, list[float]] = {}
    for si, lab, pi, final in zip(
        a.note_score_index, a.note_label, a.note_perf_index, a.note_is_final, strict=True
    ):
        if lab == "match" and final and not sd.grace[si]:
            times.setdefault(float(sd.onset_q[si]), []).append(float(perf.onset_s[pi]))
    qs = sorted(times)
    ts = [statistics.median(times[q]) for q in qs]
    logs = [
        math.log((ts[k + 1] - ts[k]) / (qs[k + 1] - qs[k])) if ts[k + 1] > ts[k] else math.nan
        for k in range(len(qs) - 1)
    ]
    # A bar played in several passes (restarts) is listed once per pass; the last is final.
    entry_at = {float(b["start_q"]): i for i, b in enumerate(bars)}
    starts = sorted(entry_at)
    jumps: dict[int, list[float]] = {}
    for k in range(1, len(logs)):
        if starts and not (math.isnan(logs[k]) or math.isnan(logs[k - 1])):
            bar = starts[max(0, bisect.bisect_right(starts, qs[k] + 1e-9) - 1)]
            jumps.setdefault(entry_at[bar], []).append(abs(logs[k] - logs[k - 1]))
    for i, b in enumerate(bars):
        found = jumps.get(i, [])
        b["timing_irregularity"] = _r(statistics.fmean(found)) if len(found) >= 3 else None


#: A metronome's range of marks (Maelzel's scale runs 40–208).
METRONOME_RANGE = (40.0, 208.0)
#: Note values a click can stand for, as (name, quarters per click).
_CLICK_UNITS = (
    ("quarter", 1.0),
    ("eighth", 0.5),
    ("half", 2.0),
    ("sixteenth", 0.25),
    ("whole", 4.0),
)


def _click_unit(qpm: float) -> tuple[str, float]:
    """The note value a metronome should click at `qpm` quarters a minute: the quarter when its
    mark is on the metronome, else the nearest value that puts it there (a slow Lento's
    quarters, 27 a minute, are clicked as 54 eighths)."""
    lo, hi = METRONOME_RANGE
    for name, per_click in _CLICK_UNITS:
        if lo <= qpm / per_click <= hi:
            return name, per_click
    return _CLICK_UNITS[0]


def _tempo_items(bars: list[JSON]) -> list[tuple[float, int, JSON]]:
    """Runs of bars that rush or drag, and a drift over the whole attempt."""
    timed, _, med = _tempo_bars(bars)
    items: list[tuple[float, int, JSON]] = []
    for sign, word, advice in ((1, "rushed", "hold back"), (-1, "dragged", "keep moving")):
        flags = [False] * len(bars)
        for w in tempo_windows(bars):
            if w.sign == sign and w.strength > TEMPO_TOLERANCE:
                flags[w.first : w.last + 1] = [True] * (w.last - w.first + 1)
        for a, z in _runs(flags):
            run = [b for b in bars[a : z + 1] if b["qpm"]]
            mean_qpm = statistics.fmean(b["qpm"] for b in run)
            pct = round(100 * (mean_qpm / med - 1.0))
            numbers = [bars[a]["bar"], bars[z]["bar"]]
            # The slower mark must be on the metronome too.
            unit, per_click = _click_unit(0.8 * med)
            msg = (
                f"{_span(numbers)}: {word} ({pct:+d}% against your tempo of "
                f"{med / per_click:.0f} {unit}s a minute) — {advice}: practise with a metronome "
                f"at {0.8 * med / per_click:.0f} to the {unit}, then {med / per_click:.0f}"
            )
            evidence = {"bar_qpm": round(mean_qpm, 1), "median_qpm": round(med, 1)}
            practice = {"bars": numbers, "hand": "both", "tempo": 0.8}
            item: JSON = {"kind": "tempo", "bars": numbers, "hand": None, "message": msg}
            item |= {"evidence": evidence, "practice": practice}
            items.append((abs(pct) / 5.0 * len(run), 0, item))
    drift = tempo_drift(bars)
    if abs(drift) > DRIFT_TOLERANCE:
        numbers = [bars[timed[0]]["bar"], bars[timed[-1]]["bar"]]
        pct = round(100 * (math.exp(drift) - 1.0))
        word = "slowed down" if drift < 0 else "sped up"
        msg = (
            f"{_span(numbers)}: your tempo {word} steadily ({pct:+d}% from start to end) — "
            f"choose a tempo you can keep to the end and practise with a metronome"
        )
        drifted: JSON = {"kind": "tempo", "bars": numbers, "hand": None, "message": msg}
        drifted |= {"evidence": {"drift_percent": pct}, "practice": None}
        items.append((abs(pct) / 5.0 * 2, 0, drifted))
    return items


def _rhythm_items(bars: list[JSON]) -> list[tuple[float, int, JSON]]:
    """The two bars (at most) whose timing is most uneven against the rest of the attempt."""
    uneven = [(r, i) for i, r in unevenness(bars) if r > UNEVEN_RATIO]
    items: list[tuple[float, int, JSON]] = []
    for ratio, i in sorted(uneven, key=lambda t: (-t[0], t[1]))[:2]:
        b = bars[i]
        msg = (
            f"Bar {b['bar']}: uneven timing (notes {b['mean_abs_timing_deviation_ms']:.0f} ms "
            f"off the local beat on average, {ratio:.1f}× your usual) — practise it slowly "
            f"with a metronome"
        )
        evidence = {
            "rhythm_accuracy": b["rhythm_accuracy"],
            "mean_abs_timing_deviation_ms": b["mean_abs_timing_deviation_ms"],
            "ratio_to_usual": round(ratio, 2),
        }
        item: JSON = {"kind": "rhythm", "bars": [b["bar"], b["bar"]], "hand": None, "message": msg}
        item |= {
            "evidence": evidence,
            "practice": {"bars": [b["bar"], b["bar"]], "hand": "both", "tempo": 0.6},
        }
        items.append((ratio * 2.0, 0, item))
    return items


def _chords_item(metrics: JSON, bars: list[JSON], spread: float) -> JSON:
    """Chords not struck together: the hand whose own chords spread (both when both do), and
    the run of bars where they spread most."""
    uneven = [
        h
        for h in ("right", "left")
        if (metrics["hands"][h]["chord_spread_ms"] or 0) > CHORD_SPREAD_MS
    ]
    hand = uneven[0] if len(uneven) == 1 else None

    def bar_spread(b: JSON) -> float:
        return float((b[hand] if hand else b)["chord_spread_ms"] or 0.0)

    runs = _runs([bar_spread(b) > CHORD_SPREAD_MS for b in bars])
    numbers = None
    if runs:
        a, z = max(runs, key=lambda r: sum(bar_spread(b) for b in bars[r[0] : r[1] + 1]))
        numbers = [bars[a]["bar"], bars[z]["bar"]]
    shown = float(metrics["hands"][hand]["chord_spread_ms"]) if hand else spread
    where = f"{_span(numbers)}, " if numbers else ""
    who = f"{hand} hand" if hand else "both hands"
    evidence: JSON = {"hand_chord_spread_ms": round(spread, 1)}
    for h in ("right", "left"):
        evidence[f"{h}_chord_spread_ms"] = metrics["hands"][h]["chord_spread_ms"]
    return {
        "kind": "chords",
        "bars": numbers,
        "hand": hand,
        "message": (
            f"{where}{who}: the notes of a chord start {shown:.0f} ms apart (median) — play "
            f"them as blocks, slowly, listening for one attack"
        ),
        "evidence": evidence,
        "practice": ({"bars": numbers, "hand": hand or "both", "tempo": 0.6} if numbers else None),
    }


def feedback(metrics: JSON, bars: list[JSON]) -> list[JSON]:
    """A short ranked list of specific suggestions, each with its evidence.

    Deterministic: the same figures always give the same list, in the same order.
    """
    items: list[tuple[float, int, JSON]] = []
    # 1. Notes: runs of bars where one hand has two or more errors.
    for hand in ("right", "left"):
        flags = [b[hand]["wrong_pitch"] + b[hand]["missed"] + b[hand]["extra"] >= 2 for b in bars]
        for a, z in _runs(flags):
            run = bars[a : z + 1]
            missed = sum(b[hand]["missed"] for b in run)
            wrong = sum(b[hand]["wrong_pitch"] for b in run)
            extra = sum(b[hand]["extra"] for b in run)
            numbers = [b["bar"] for b in run]
            parts = [
                _count_text(n, w)
                for n, w in ((missed, "missed note"), (wrong, "wrong note"), (extra, "extra note"))
                if n
            ]
            msg = (
                f"{_span(numbers)}, {hand} hand: {', '.join(parts)} — practise the {hand} hand "
                f"alone at 70% tempo, then hands together"
            )
            items.append(
                (
                    float(missed + wrong + extra),
                    len(items),
                    {
                        "kind": "notes",
                        "bars": [numbers[0], numbers[-1]],
                        "hand": hand,
                        "message": msg,
                        "evidence": {"missed": missed, "wrong_pitch": wrong, "extra": extra},
                        "practice": {"bars": [numbers[0], numbers[-1]], "hand": hand, "tempo": 0.7},
                    },
                )
            )
    for weight, _, item in _tempo_items(bars) + _rhythm_items(bars):
        items.append((weight, len(items), item))
    # 4. Dynamics.
    follow = metrics.get("dynamics_following")
    if follow is not None and follow < DYNAMICS_FOLLOWING_MIN:
        items.append(
            (
                3.0,
                len(items),
                {
                    "kind": "dynamics",
                    "bars": None,
                    "hand": None,
                    "message": (
                        f"Dynamics: your loudness hardly follows the markings (correlation "
                        f"{follow:.2f}) — exaggerate the contrasts the score asks for"
                    ),
                    "evidence": {"dynamics_following": round(follow, 3)},
                    "practice": None,
                },
            )
        )
    elif metrics["dynamics_range"] < 0.15:
        items.append(
            (
                2.0,
                len(items),
                {
                    "kind": "dynamics",
                    "bars": None,
                    "hand": None,
                    "message": (
                        "Dynamics: everything at about the same loudness (range "
                        f"{metrics['dynamics_range']:.2f}) — shape the phrases louder and softer"
                    ),
                    "evidence": {"dynamics_range": metrics["dynamics_range"]},
                    "practice": None,
                },
            )
        )
    # 5. Chords: one hand's, since a melody played ahead of its accompaniment is expression.
    spread = metrics.get("hand_chord_spread_ms")
    if spread is not None and spread > CHORD_SPREAD_MS:
        items.append((spread / 10.0, len(items), _chords_item(metrics, bars, spread)))
    items.sort(key=lambda t: (-t[0], t[1]))
    return [item for _, _, item in items[:MAX_FEEDBACK]]


def align_performance(sd: ScoreData, perf: Performance) -> Alignment:
    """The engine's offline alignment of `perf` to `sd` (:func:`etude_engine.align`)."""
    return align(
        sd.model,
        perf.pitch.tolist(),
        perf.onset_s.tolist(),
        perf.offset_s.tolist(),
        perf.velocity.tolist(),
    )


#: Bars in a row that may go unplayed inside one attempted passage (a bar left out, a lost
#: bar); a longer hole splits the attempt, and the passage with the most matched notes counts.
MAX_UNPLAYED_BARS = 2


def attempted_bars(sd: ScoreData, a: Alignment) -> tuple[int, int] | None:
    """The first and last bar of the passage the attempt played (unfolded numbering), or None.

    A bar counts as played when at least two of its notes (its only note, for a one-note bar)
    were matched, so that a stray match does not stretch the passage. When the music played
    also stands elsewhere in the score (a repeat), the aligner may put the attempt's first
    notes there; the longest passage (by matched notes) is the one kept.
    """
    matched = collections.Counter(
        int(sd.bar[si])
        for si, lab in zip(a.note_score_index, a.note_label, strict=True)
        if lab == "match"
    )
    order = sorted(
        {int(b): float(q) for b, q in zip(sd.bar[::-1], sd.onset_q[::-1], strict=True)}.items(),
        key=lambda item: item[1],
    )  # bars by their first onset
    sizes = collections.Counter(int(b) for b in sd.bar)
    played = [k for k, (b, _) in enumerate(order) if matched[b] >= min(2, sizes[b])]
    if not played:
        return None
    passages: list[list[int]] = [[played[0]]]
    for k in played[1:]:
        if k - passages[-1][-1] > MAX_UNPLAYED_BARS + 1:
            passages.append([])
        passages[-1].append(k)
    best = max(passages, key=lambda run: sum(matched[order[k][0]] for k in run))
    return order[best[0]][0], order[best[-1]][0]


def _played_range(sd: ScoreData, a: Alignment, first: int, last: int) -> tuple[float, float]:
    """Score onsets (quarters) of the first and last note matched in bars `first` … `last`:
    an attempt that starts or stops inside a bar has not reached the notes beyond."""
    lo = float(sd.onset_q[sd.bar == first].min())
    hi = float(sd.onset_q[sd.bar == last].max())
    qs = [
        float(sd.onset_q[si])
        for si, lab in zip(a.note_score_index, a.note_label, strict=True)
        if lab == "match" and lo <= sd.onset_q[si] <= hi
    ]
    return min(qs), max(qs)


def assess(sd: ScoreData, perf: Performance) -> JSON:
    """Aligns `perf` to `sd` and returns the report (see the module doc).

    A practice attempt often plays a passage, not the piece: the report covers the music from
    the first to the last note played (``attempt`` names the bars), so what was never reached is
    not called missed. Notes left out before the first or after the last note played cannot
    be told from a passage chosen on purpose and are not reported.
    """
    a = align_performance(sd, perf)
    span = attempted_bars(sd, a)
    whole = span is None or (
        span[0] == int(sd.bar[int(np.argmin(sd.onset_q))])
        and span[1] == int(sd.bar[int(np.argmax(sd.onset_q))])
    )
    if span is not None and not whole:
        sd = excerpt(sd, *_played_range(sd, a, *span))
        a = align_performance(sd, perf)
    m = a.metrics()
    bars = _bars(m)
    _irregularity(sd, perf, a, bars)
    metrics: JSON = {
        "pitch_accuracy": _r(m["pitch_accuracy"]),
        "rhythm_accuracy": _r(m["rhythm_accuracy"]),
        "dynamics_range": _r(m["dynamics_range"]),
        "overall_score": _r(m["overall_score"], 1),
        "dynamics_following": _r(m["dynamics_following"]),
        "chord_spread_ms": _r(m["chord_spread_ms"], 1),
        "hand_chord_spread_ms": _r(m["hand_chord_spread_ms"], 1),
        "hand_balance": _r(m["hand_balance"], 1),
        "notes": _hand_json(m["all"]),
        "hands": {"right": _hand_json(m["right"]), "left": _hand_json(m["left"])},
        "restarts": len(a.segment_starts) - 1 if a.segment_starts else 0,
    }
    return {
        "score": sd.path,
        "performance": perf.path,
        "attempt": {
            "first_bar": span[0] if span else None,
            "last_bar": span[1] if span else None,
            "whole_score": whole,
        },
        "metrics": metrics,
        "bars": bars,
        "feedback": feedback(metrics, bars),
        "alignment": _alignment_json(sd, perf, a),
    }
