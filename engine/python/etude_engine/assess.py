"""Assessing a performance against a score: the report behind ``etude assess``.

:func:`assess` aligns the performed notes to the score in Rust (:func:`etude_engine.align`)
and returns a JSON-ready report: ``metrics``, ``bars`` (per-bar figures), ``feedback`` (a
short ranked list of suggestions, each with its evidence) and ``alignment`` (one entry per
score note — a restarted passage adds one per earlier pass that was played — and one per
extra performed note). The shape is a public interface, documented in ``docs/cli.md``;
formulas are in ``docs/assessment.md``.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from etude_engine._engine import Alignment, align
from etude_engine.scores import Performance, ScoreData

__all__ = ["assess", "feedback"]

JSON = dict[str, Any]

#: A bar whose local tempo is this far above / below the attempt's median rushed / dragged.
TEMPO_TOLERANCE = 0.12
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
    # 2. Tempo: runs of bars that rush or drag against the attempt's own median tempo.
    tempi = [b["qpm"] for b in bars if b["qpm"]]
    if len(tempi) >= 4:
        med = statistics.median(tempi)
        for sign, word, advice in ((1, "rushed", "hold back"), (-1, "dragged", "keep moving")):
            flags = [
                bool(b["qpm"]) and sign * (b["qpm"] / med - 1.0) > TEMPO_TOLERANCE for b in bars
            ]
            for a, z in _runs(flags):
                run = [b for b in bars[a : z + 1] if b["qpm"]]
                mean_qpm = statistics.fmean(b["qpm"] for b in run)
                pct = round(100 * (mean_qpm / med - 1.0))
                numbers = [bars[a]["bar"], bars[z]["bar"]]
                msg = (
                    f"{_span(numbers)}: {word} ({pct:+d}% against your tempo of "
                    f"{med:.0f} quarters/min) — {advice}: practise with a metronome at "
                    f"{0.8 * med:.0f}, then {med:.0f}"
                )
                items.append(
                    (
                        abs(pct) / 5.0 * len(run),
                        len(items),
                        {
                            "kind": "tempo",
                            "bars": numbers,
                            "hand": None,
                            "message": msg,
                            "evidence": {
                                "bar_qpm": round(mean_qpm, 1),
                                "median_qpm": round(med, 1),
                            },
                            "practice": {"bars": numbers, "hand": "both", "tempo": 0.8},
                        },
                    )
                )
    # 3. Evenness: bars whose notes stray furthest from the local tempo line.
    loose = [b for b in bars if (b["rhythm_accuracy"] is not None and b["rhythm_accuracy"] < 0.6)]
    for b in sorted(loose, key=lambda b: (b["rhythm_accuracy"], b["bar"]))[:2]:
        msg = (
            f"Bar {b['bar']}: uneven timing (notes {b['mean_abs_timing_deviation_ms']:.0f} ms "
            f"off the local beat on average) — practise it slowly with a metronome"
        )
        items.append(
            (
                (1.0 - b["rhythm_accuracy"]) * 5.0,
                len(items),
                {
                    "kind": "rhythm",
                    "bars": [b["bar"], b["bar"]],
                    "hand": None,
                    "message": msg,
                    "evidence": {
                        "rhythm_accuracy": b["rhythm_accuracy"],
                        "mean_abs_timing_deviation_ms": b["mean_abs_timing_deviation_ms"],
                    },
                    "practice": {"bars": [b["bar"], b["bar"]], "hand": "both", "tempo": 0.6},
                },
            )
        )
    # 4. Dynamics.
    follow = metrics.get("dynamics_following")
    if follow is not None and follow < 0.3:
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
    # 5. Chords.
    spread = metrics.get("chord_spread_ms")
    if spread is not None and spread > 40.0:
        items.append(
            (
                spread / 20.0,
                len(items),
                {
                    "kind": "chords",
                    "bars": None,
                    "hand": None,
                    "message": (
                        f"Chords: notes of a chord start {spread:.0f} ms apart (median) — play "
                        f"them as blocks, slowly, listening for one attack"
                    ),
                    "evidence": {"chord_spread_ms": round(spread, 1)},
                    "practice": None,
                },
            )
        )
    items.sort(key=lambda t: (-t[0], t[1]))
    return [item for _, _, item in items[:MAX_FEEDBACK]]


def assess(sd: ScoreData, perf: Performance) -> JSON:
    """Aligns `perf` to `sd` and returns the report (see the module doc)."""
    a = align(
        sd.model,
        perf.pitch.tolist(),
        perf.onset_s.tolist(),
        perf.offset_s.tolist(),
        perf.velocity.tolist(),
    )
    m = a.metrics()
    bars = _bars(m)
    metrics: JSON = {
        "pitch_accuracy": _r(m["pitch_accuracy"]),
        "rhythm_accuracy": _r(m["rhythm_accuracy"]),
        "dynamics_range": _r(m["dynamics_range"]),
        "overall_score": _r(m["overall_score"], 1),
        "dynamics_following": _r(m["dynamics_following"]),
        "chord_spread_ms": _r(m["chord_spread_ms"], 1),
        "hand_balance": _r(m["hand_balance"], 1),
        "notes": _hand_json(m["all"]),
        "hands": {"right": _hand_json(m["right"]), "left": _hand_json(m["left"])},
        "restarts": len(a.segment_starts) - 1 if a.segment_starts else 0,
    }
    return {
        "score": sd.path,
        "performance": perf.path,
        "metrics": metrics,
        "bars": bars,
        "feedback": feedback(metrics, bars),
        "alignment": _alignment_json(sd, perf, a),
    }
