"""Free play (no score): tempo and its stability, evenness of runs, dynamics range.

Everything is measured on the performed notes alone:

* **Events.** Notes starting within :data:`CHORD_WINDOW_S` of an event's first note are one
  event (a chord, however unevenly struck); inter-onset intervals (IOIs) are between events.
* **Pulse and tempo.** The pulse is the most common IOI: the peak of a Gaussian kernel density
  of log IOIs (σ = 0.1, i.e. ±10 %) between 80 ms and 2 s. Each IOI is then read as a whole
  number (1–4) of pulses or half a pulse, when it is within 20 % of one; the IOIs that are not
  are left out. ``tempo_bpm`` is 60 / pulse, folded by factors of 2 into [60, 180).
* **Stability.** The local pulse of a window of :data:`WINDOW` read IOIs (their median of IOI /
  count) gives the tempo curve; ``tempo_cv`` is the coefficient of variation (std / mean) of
  that curve and ``tempo_stability`` = max(0, 1 − 5 · tempo_cv) (1: steady; a 20 % swing: 0).
* **Runs** (scales and arpeggios): in the top line and in the bass line (the highest and lowest
  note of each event), ≥ :data:`MIN_RUN` successive notes moving the same way by 1–2 semitones
  (scale) or 1–5 (arpeggio, some step > 2), with every IOI within a factor 2 of the run's
  median. For each: ``timing_cv`` (std / mean of its IOIs), ``velocity_sd`` (MIDI units), and
  ``evenness`` = max(0, 1 − 4 · timing_cv) · max(0, 1 − velocity_sd / 20).
* **Dynamics range**: (95th − 5th percentile of velocities) / 127, as in ``etude assess``.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np
import numpy.typing as npt

from etude_engine.scores import Performance

__all__ = ["CHORD_WINDOW_S", "MIN_RUN", "WINDOW", "free_play"]

CHORD_WINDOW_S = 0.05
MIN_RUN = 6
WINDOW = 8


def _events(perf: Performance) -> tuple[list[float], list[list[int]]]:
    """Event onsets and, per event, the indices of its notes."""
    onsets: list[float] = []
    members: list[list[int]] = []
    for i, t in enumerate(perf.onset_s.tolist()):
        if onsets and t - onsets[-1] <= CHORD_WINDOW_S:
            members[-1].append(i)
        else:
            onsets.append(t)
            members.append([i])
    return onsets, members


def _pulse(iois: npt.NDArray[np.float64]) -> float | None:
    x = np.log(iois[(iois >= 0.08) & (iois <= 2.0)])
    if len(x) < 3:
        return None
    grid = np.linspace(math.log(0.08), math.log(2.0), 400)
    density = np.exp(-0.5 * ((grid[:, None] - x[None, :]) / 0.1) ** 2).sum(axis=1)
    return float(math.exp(grid[int(np.argmax(density))]))


def _read(ioi: float, pulse: float) -> float | None:
    """The number of pulses `ioi` is (0.5, 1, 2, 3, 4), or None when it is none of them."""
    for count in (1.0, 2.0, 0.5, 3.0, 4.0):
        if abs(ioi / (pulse * count) - 1.0) <= 0.2:
            return count
    return None


def _runs(line: list[int], onsets: list[float], vel: list[float]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n = len(line)
    k = 0
    while k < n - 1:
        step = line[k + 1] - line[k]
        if not 1 <= abs(step) <= 5:
            k += 1
            continue
        sign = 1 if step > 0 else -1
        end = k + 1
        while end + 1 < n and 1 <= sign * (line[end + 1] - line[end]) <= 5:
            end += 1
        # Cut where the rhythm breaks (a pause, a held note).
        a = k
        while a < end:
            iois = [onsets[j + 1] - onsets[j] for j in range(a, end)]
            med = statistics.median(iois)
            b = a
            while b < end and 0.5 * med <= iois[b - a] <= 2.0 * med:
                b += 1
            if b - a + 1 >= MIN_RUN:
                seg = iois[: b - a]
                steps = [abs(line[j + 1] - line[j]) for j in range(a, b)]
                mean = statistics.fmean(seg)
                tcv = statistics.pstdev(seg) / mean if mean > 0 else 0.0
                vsd = statistics.pstdev(vel[a : b + 1])
                out.append(
                    {
                        "kind": "scale" if max(steps) <= 2 else "arpeggio",
                        "direction": "up" if sign > 0 else "down",
                        "start_s": round(onsets[a], 3),
                        "end_s": round(onsets[b], 3),
                        "notes": b - a + 1,
                        "mean_ioi_ms": round(mean * 1000, 1),
                        "timing_cv": round(tcv, 4),
                        "velocity_sd": round(vsd, 2),
                        "evenness": round(max(0.0, 1 - 4 * tcv) * max(0.0, 1 - vsd / 20), 4),
                    }
                )
            a = max(b, a + 1)
        k = end
    return out


def free_play(perf: Performance) -> dict[str, Any]:
    """The free-play figures of `perf` (see the module doc) as a JSON-ready dict."""
    onsets, members = _events(perf)
    vel = perf.velocity.astype(np.float64)
    iois = np.diff(np.asarray(onsets, dtype=np.float64))
    pulse = _pulse(iois) if len(iois) else None
    tempo_bpm = tempo_cv = stability = None
    curve: list[dict[str, float]] = []
    if pulse is not None:
        local: list[tuple[float, float]] = []
        for k, ioi in enumerate(iois.tolist()):
            c = _read(ioi, pulse)
            if c is not None:
                local.append((onsets[k], ioi / c))
        for k in range(0, max(0, len(local) - WINDOW + 1)):
            win = local[k : k + WINDOW]
            p = statistics.median(v for _, v in win)
            curve.append({"time_s": round(win[0][0], 3), "bpm": round(60.0 / p, 2)})
        if local:
            pulse = statistics.median(v for _, v in local)
        bpm = 60.0 / pulse
        while bpm >= 180.0:
            bpm /= 2.0
        while bpm < 60.0:
            bpm *= 2.0
        tempo_bpm = round(bpm, 1)
        if len(curve) >= 2:
            values = [c["bpm"] for c in curve]
            tempo_cv = round(statistics.pstdev(values) / statistics.fmean(values), 4)
            stability = round(max(0.0, 1.0 - 5.0 * tempo_cv), 4)
    top = [int(max(perf.pitch[m])) for m in members]
    bass = [int(min(perf.pitch[m])) for m in members]
    top_vel = [float(vel[max(m, key=lambda i: perf.pitch[i])]) for m in members]
    bass_vel = [float(vel[min(m, key=lambda i: perf.pitch[i])]) for m in members]
    runs = _runs(top, onsets, top_vel)
    seen = {(r["start_s"], r["end_s"]) for r in runs}
    runs += [r for r in _runs(bass, onsets, bass_vel) if (r["start_s"], r["end_s"]) not in seen]
    runs.sort(key=lambda r: r["start_s"])
    dyn = float(np.percentile(vel, 95) - np.percentile(vel, 5)) / 127.0 if len(vel) else 0.0
    evenness = round(statistics.fmean(r["evenness"] for r in runs), 4) if runs else None
    return {
        "performance": perf.path,
        "notes": len(perf),
        "duration_s": round(float(perf.offset_s.max() - perf.onset_s.min()), 3),
        "tempo_bpm": tempo_bpm,
        "tempo_cv": tempo_cv,
        "tempo_stability": stability,
        "tempo_curve": curve,
        "dynamics_range": round(dyn, 4),
        "velocity": {
            "mean": round(float(vel.mean()), 1),
            "p5": round(float(np.percentile(vel, 5)), 1),
            "p95": round(float(np.percentile(vel, 95)), 1),
        },
        "evenness": evenness,
        "runs": runs,
    }
