"""The audio analysis on a real performance rendered with FluidSynth (the MIDI is the truth),
and the `etude analyze` command on it. Tolerances sit below the figures measured by
bench/audio_eval.py, so a regression fails here first."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile

from etude_engine import Note, StreamingAnalyser, analyze_dynamics, check_pitches, transcribe
from etude_engine.cli_analyze import analyse_file
from etude_engine.cli_analyze import main as analyze_main
from support.audio import excerpt, render
from support.etude import performance

SR = 44_100
SECONDS = 12.0
WINDOW = 0.05


@pytest.fixture(scope="module")
def clip(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, np.ndarray, list[tuple[int, float, int]]]:
    tmp = tmp_path_factory.mktemp("rendered")
    mid = tmp / "clip.mid"
    excerpt(performance("Mozart_K331_1st-mov_p01"), SECONDS, mid)
    wav = render(mid, tmp / "clip.wav")
    x, sr = soundfile.read(wav, dtype="float32", always_2d=True)
    assert sr == SR
    truth: list[tuple[int, float, int]] = []
    t = 0.0
    for msg in mido.MidiFile(mid):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            truth.append((msg.note, t, msg.velocity))
    return wav, np.ascontiguousarray(x.mean(axis=1)), truth


def merged(times: list[float], within: float = 0.03) -> list[float]:
    out: list[float] = []
    for t in sorted(times):
        if not out or t - out[-1] > within:
            out.append(t)
    return out


def f_measure(hits: int, n_est: int, n_ref: int) -> float:
    return 2 * hits / max(1, n_est + n_ref)


def matched(notes: list[Note], truth: list[tuple[int, float, int]]) -> list[tuple[int, int]]:
    """(estimated, true) velocity of each true note found (same pitch, within 50 ms)."""
    used: set[int] = set()
    pairs = []
    for pitch, onset, velocity in truth:
        for j, n in enumerate(notes):
            if j not in used and n.pitch == pitch and abs(n.onset - onset) <= WINDOW:
                used.add(j)
                pairs.append((n.velocity, velocity))
                break
    return pairs


def test_notes_onsets_and_velocities(
    clip: tuple[Path, np.ndarray, list[tuple[int, float, int]]],
) -> None:
    _, x, truth = clip
    notes = transcribe(x, SR)
    pairs = matched(notes, truth)
    f = f_measure(len(pairs), len(notes), len(truth))
    assert f > 0.8, f  # measured 0.89 (a performance the model was not trained on)
    # The learned model against the harmonic sum it replaced.
    harmonic = transcribe(x, SR, method="harmonic")
    f_harmonic = f_measure(len(matched(harmonic, truth)), len(harmonic), len(truth))
    assert f > f_harmonic + 0.1, (f, f_harmonic)  # measured 0.89 against 0.74
    # Louder played, louder heard: rank correlation of the velocities.
    a = np.argsort(np.argsort([p[0] for p in pairs]))
    b = np.argsort(np.argsort([p[1] for p in pairs]))
    rho = float(np.corrcoef(a, b)[0, 1])
    assert rho > 0.5, rho  # measured 0.69 on this clip (0.84-0.90 on the bench's subset)
    d = analyze_dynamics(x, SR)
    assert len(d.notes) == len(notes)
    assert -40 < d.rms_dbfs < d.peak_dbfs < 0


def test_streaming_latency_and_score_informed(
    clip: tuple[Path, np.ndarray, list[tuple[int, float, int]]],
) -> None:
    _, x, truth = clip
    analyser = StreamingAnalyser(SR)
    emitted = []  # (onset time, end of the chunk that reported it)
    onset_truth = merged([t for _, t, _ in truth])
    for start in range(0, len(x), 512):
        fig = analyser.process(x[start : start + 512])
        emitted += [(t, (start + 512) / SR) for t in fig.onset_times]
    # As the bench measures it: from each true onset to the first report of an
    # onset within 50 ms of it.
    lags = []
    for o in onset_truth:
        reports = [now for t, now in emitted if abs(t - o) <= WINDOW]
        if reports:
            lags.append(min(reports) - o)
    assert len(lags) > 0.8 * len(onset_truth)  # measured: all 29
    assert float(np.percentile(lags, 95)) < 0.03  # measured 19 ms
    # Score-informed: the played chord's pitches heard, a semitone above each not.
    chords: dict[float, set[int]] = {}
    for pitch, t, _ in truth:
        key = next((k for k in chords if abs(k - t) <= 0.03), t)
        chords.setdefault(key, set()).add(pitch)
    right = wrong = total = 0
    for t, pitches in list(chords.items())[2:30]:
        distractors = [p + 1 for p in pitches if p + 1 not in pitches]
        checks = check_pitches(x, SR, t + 0.0035, sorted(pitches) + distractors)
        for c in checks:
            total += 1
            if c.sounded == (c.pitch in pitches):
                right += 1
            elif c.pitch not in pitches:
                wrong += 1
    assert right / total > 0.7, (right, wrong, total)  # measured 0.79


def test_cli_json(
    clip: tuple[Path, np.ndarray, list[tuple[int, float, int]]], capsys: pytest.CaptureFixture[str]
) -> None:
    wav, _, truth = clip
    assert analyze_main([str(wav), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["schema"] == 1 and out["sample_rate"] == SR and out["channels"] == 2
    assert out["duration"] == pytest.approx(len(soundfile.read(wav)[0]) / SR, abs=1e-3)
    assert len(out["onsets"]) > 0.55 * len(merged([t for _, t, _ in truth]))
    assert out["onsets"] == sorted(out["onsets"])
    note = out["notes"][0]
    assert set(note) == {"pitch", "name", "onset", "offset", "velocity", "confidence"}
    assert all(n["offset"] > n["onset"] and 1 <= n["velocity"] <= 127 for n in out["notes"])
    loud = out["loudness"]
    assert loud["peak_dbfs"] > loud["rms_dbfs"] > -60
    assert len(loud["frames_rms_dbfs"]) == int(out["duration"] * SR) // 512
    assert {"time", "level_dbfs", "velocity", "notes"} == set(loud["onsets"][0])
    # The readable summary.
    assert analyze_main([str(wav)]) == 0
    text = capsys.readouterr().out
    assert "onsets:" in text and "notes:" in text and "velocity" in text


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"RIFF\x00\x00\x00\x00WAVEjunkjunk", "corrupt.wav"), (b"not audio at all", "notes.txt")],
)
def test_cli_refuses_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, name: str
) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    assert analyze_main([str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("etude analyze: ") and str(bad) in err and "\n" not in err


def test_cli_missing_and_empty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.wav"
    assert analyze_main([str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, dtype=np.float32), SR)
    assert analyze_main([str(empty)]) == 2
    assert "no audio" in capsys.readouterr().err


def test_etude_command_dispatches_analyze(tmp_path: Path) -> None:
    wav = tmp_path / "tone.flac"
    t = np.arange(SR) / SR
    soundfile.write(wav, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR)
    done = subprocess.run(
        [sys.executable, "-m", "etude_cli", "analyze", str(wav), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["duration"] == pytest.approx(1.0)
    bad = subprocess.run(
        [sys.executable, "-m", "etude_cli", "analyze", str(tmp_path / "x.ogg")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "x.ogg" in bad.stderr


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_progress_bar_on_a_terminal_only(
    clip: tuple[Path, np.ndarray, list[tuple[int, float, int]]],
) -> None:
    wav, _, _ = clip
    tty = FakeTerminal()
    analyse_file(wav, progress_stream=tty)
    shown = tty.getvalue()
    assert "analysing [" in shown and "100%" in shown
    assert shown.endswith("\r")  # the bar is wiped at the end
    pipe = io.StringIO()
    analyse_file(wav, progress_stream=pipe)
    assert pipe.getvalue() == ""
