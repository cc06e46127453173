"""Free play: tempo and stability, evenness of runs, dynamics range, and ``etude freeplay``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from etude_engine.cli_freeplay import main
from etude_engine.freeplay import free_play
from etude_engine.scores import Performance, load_performance, performance_from_notes
from support.midi import VIENNA

DATA = VIENNA  # ../shared beside the project, as in CI (see tests/support)

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 81, 83, 84]


def scale_with_chords(
    ioi: float = 0.25,
    timing_jitter: float = 0.0,
    velocity_jitter: int = 0,
    accelerando: float = 0.0,
    seed: int = 1,
) -> Performance:
    """Two octaves of C major up and down in eighths, a left-hand chord every four notes
    (struck unevenly, as hands do); optional jitter and a tempo change through the take."""
    rng = random.Random(seed)
    line = C_MAJOR + C_MAJOR[-2::-1]
    notes, t = [], 0.5
    for k, p in enumerate(line):
        on = t + rng.uniform(-timing_jitter, timing_jitter)
        vel = 70 + rng.randint(-velocity_jitter, velocity_jitter)
        notes.append((p, on, on + 0.9 * ioi, vel))
        if k % 4 == 0:
            for j, q in enumerate((36, 43, 48)):
                notes.append((q, on + 0.012 * j, on + 3.5 * ioi, 55))
        t += ioi * (1.0 + accelerando * k / len(line))
    cols = list(zip(*notes, strict=True))
    return performance_from_notes(cols[0], cols[1], cols[2], cols[3])


def test_steady_scale_tempo_and_evenness() -> None:
    r = free_play(scale_with_chords(ioi=0.25))
    assert r["tempo_bpm"] == pytest.approx(120.0, abs=1.0)  # eighths at 0.25 s: 120 quarters
    assert r["tempo_stability"] > 0.95
    scales = [run for run in r["runs"] if run["kind"] == "scale"]
    assert [(s["direction"], s["notes"]) for s in scales] == [("up", 15), ("down", 15)]
    assert all(s["evenness"] > 0.95 and s["timing_cv"] < 0.01 for s in scales)
    assert r["evenness"] > 0.95


def test_uneven_playing_scores_lower() -> None:
    even = free_play(scale_with_chords())
    rough = free_play(scale_with_chords(timing_jitter=0.04, velocity_jitter=15))
    assert rough["evenness"] < even["evenness"] - 0.3
    assert all(run["velocity_sd"] > 4 for run in rough["runs"] if run["kind"] == "scale")
    assert rough["dynamics_range"] > even["dynamics_range"]


def test_drifting_tempo_is_less_stable() -> None:
    steady = free_play(scale_with_chords())
    drifting = free_play(scale_with_chords(accelerando=-0.5))  # 50 % faster by the end
    assert drifting["tempo_cv"] > 0.05
    assert drifting["tempo_stability"] < steady["tempo_stability"] - 0.2
    bpm = [c["bpm"] for c in drifting["tempo_curve"]]
    assert bpm[-1] > bpm[0] * 1.2


def test_dynamics_range_formula() -> None:
    perf = performance_from_notes(
        [60] * 21,
        [0.3 * k for k in range(21)],
        [0.3 * k + 0.2 for k in range(21)],
        list(range(30, 135, 5)),
    )
    vel = np.arange(30, 135, 5)
    want = (np.percentile(vel, 95) - np.percentile(vel, 5)) / 127
    assert free_play(perf)["dynamics_range"] == pytest.approx(want, abs=1e-4)
    assert free_play(perf)["runs"] == []


def test_real_performance_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = DATA / "midi" / "Chopin_op38_p03.mid"
    take = tmp_path / src.name
    take.write_bytes(src.read_bytes())
    r = free_play(load_performance(take))
    assert r["notes"] > 500 and 40 <= r["tempo_bpm"] < 180
    assert 0.0 <= r["tempo_stability"] <= 1.0 and 0.1 < r["dynamics_range"] < 0.8
    assert main([str(take), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tempo_bpm"] == r["tempo_bpm"] and out["runs"] == r["runs"]
    assert main([str(take)]) == 0
    assert "tempo" in capsys.readouterr().out
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd nonsense")
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("etude freeplay: ") and err.count("\n") == 1
