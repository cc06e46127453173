"""The audio API of etude_engine on synthetic signals: pitch, notes, dynamics, score checks,
streaming == batch for any chunking, and bad input refused with clear exceptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from etude_engine import (
    SILENCE_FLOOR_DBFS,
    AudioTypeError,
    InvalidAudioError,
    InvalidConfigError,
    Note,
    StreamingAnalyser,
    analyze_dynamics,
    check_pitches,
    detect_onsets,
    detect_pitch,
    transcribe,
)

SR = 44_100
Audio = npt.NDArray[np.float32]


def hz(pitch: float) -> float:
    return float(440.0 * 2 ** ((pitch - 69) / 12))


def piano(events: list[tuple[float, list[int], float]], seconds: float, sr: int = SR) -> Audio:
    """Piano-like tones: (time, pitches, amplitude); 20 partials, 1/h roll-off, 0.5 s decay."""
    out = np.zeros(int(seconds * sr))
    t = np.arange(len(out)) / sr
    env = np.minimum(t / 0.002, 1.0) * np.exp(-t / 0.5)
    for t0, pitches, amp in events:
        start = round(t0 * sr)
        for p in pitches:
            f0 = hz(p)
            tone = sum(
                np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 21) if f0 * h < sr * 0.45
            )
            seg = out[start : start + len(t)]
            seg += (amp * env * tone)[: len(seg)]
    return out.astype(np.float32)


EVENTS = [
    (0.5, [60], 0.2),
    (1.0, [64], 0.1),
    (1.5, [67], 0.05),
    (2.0, [48, 55, 64], 0.1),
    (2.7, [72], 0.15),
    (3.3, [53, 57, 60, 65], 0.08),
    (4.0, [45], 0.2),
]


@pytest.fixture(scope="module")
def music() -> Audio:
    return piano(EVENTS, 5.5)


def test_detect_pitch_follows_a_melody() -> None:
    x = piano([(0.2, [57], 0.2), (0.8, [64], 0.2), (1.4, [69], 0.2)], 2.0)
    track = detect_pitch(x, SR)
    assert len(track) == len(track.times) == len(track.f0) == (len(x) - 2048) // 512 + 1
    assert track.voiced.dtype == np.bool_
    for t_lo, t_hi, pitch in [(0.35, 0.75, 57), (0.95, 1.35, 64), (1.55, 1.9, 69)]:
        sel = (track.times > t_lo) & (track.times < t_hi)
        assert track.voiced[sel].all()
        assert np.all(np.abs(12 * np.log2(track.f0[sel] / hz(pitch))) < 0.2)
        assert track.confidence[sel].min() > 0.8
    silent = track.times < 0.15
    assert not track.voiced[silent].any() and (track.f0[silent] == 0).all()


def test_transcribe_finds_chords_and_ranks_loudness(music: Audio) -> None:
    notes = transcribe(music, SR)
    found = {(round(n.onset, 1), n.pitch) for n in notes}
    want = {(round(t, 1), p) for t, ps, _ in EVENTS for p in ps}
    hits = len(found & want)
    assert hits >= 0.85 * len(want), sorted(found)
    assert len(found - want) <= 2, sorted(found - want)
    for n in notes:
        assert isinstance(n, Note)
        assert n.offset > n.onset
        assert 1 <= n.velocity <= 127
        assert 0.5 <= n.confidence < 1.0
    single = {n.pitch: n.velocity for n in notes if n.onset < 1.6}
    assert single[60] > single[64] > single[67], single  # 0.2 > 0.1 > 0.05


def test_analyze_dynamics(music: Audio) -> None:
    d = analyze_dynamics(music, SR)
    assert len(d.frame_times) == len(d.frame_rms_dbfs) == len(music) // 512
    assert d.frame_rms_dbfs[:40].max() == SILENCE_FLOOR_DBFS  # the first 0.46 s are silent
    assert d.peak_dbfs > -10 and d.rms_dbfs < d.peak_dbfs
    assert len(d.onsets) == len(EVENTS)
    loud = {round(o.time, 1): o for o in d.onsets}
    assert loud[0.5].level_dbfs > loud[1.0].level_dbfs > loud[1.5].level_dbfs
    assert loud[0.5].velocity > loud[1.5].velocity
    assert loud[2.0].notes == 3
    # Twice the amplitude: +6 dB, and a velocity higher by a factor of about 2**(6/40*log2 10).
    louder = analyze_dynamics(music * np.float32(2.0), SR)
    for a, b in zip(d.notes, louder.notes, strict=True):
        assert b.level_dbfs == pytest.approx(a.level_dbfs + 6.02, abs=0.1)


def test_check_pitches_is_score_informed(music: Audio) -> None:
    # The chord at 3.3 s is F3 A3 C4 F4; E4 and G3 are wrong guesses.
    checks = check_pitches(music, SR, 3.3, [53, 57, 60, 65, 64, 55])
    said = {c.pitch: c.sounded for c in checks}
    assert said == {53: True, 57: True, 60: True, 65: True, 64: False, 55: False}
    for c in checks:
        assert (c.confidence >= 0.5) == c.sounded
        assert c.time == pytest.approx(3.3, abs=1e-4)
        assert (c.level_dbfs > -60) == c.sounded
    # Before anything new sounds, nothing is heard.
    quiet = check_pitches(music, SR, 0.3, [60])
    assert not quiet[0].sounded


def stream(x: Audio, sizes: list[int], **kwargs: Any) -> dict[str, list[Any]]:
    analyser = StreamingAnalyser(SR, **kwargs)
    out: dict[str, list[Any]] = {
        k: [] for k in ("onset_times", "pitch", "loudness", "notes", "note_offs", "onset_levels")
    }
    pos, k = 0, 0
    while pos < len(x):
        fig = analyser.process(x[pos : pos + sizes[k % len(sizes)]])
        for key, items in out.items():
            items.extend(getattr(fig, key))
        pos += sizes[k % len(sizes)]
        k += 1
    out["note_offs"].extend(analyser.finish())
    assert analyser.samples_seen == 0  # finish() resets
    return out


@pytest.mark.parametrize("sizes", [[512], [1], [100, 4097, 3], [1024, 7, 300, 2048]])
def test_streaming_equals_batch_for_any_chunking(music: Audio, sizes: list[int]) -> None:
    x = music[: SR * 3] if sizes == [1] else music  # one sample at a time: keep it short
    whole = stream(x, [len(x)])
    assert stream(x, sizes) == whole
    # ... and equals the whole-buffer functions.
    assert whole["onset_times"] == list(detect_onsets(x, SR))
    track = detect_pitch(x, SR)
    assert [p.f0 for p in whole["pitch"]] == list(track.f0)
    assert [p.confidence for p in whole["pitch"]] == list(track.confidence)
    batch = transcribe(x, SR)
    assert [(n.pitch, n.onset, n.velocity) for n in whole["notes"]] == [
        (n.pitch, n.onset, n.velocity) for n in batch
    ]
    offsets = {(o.pitch, o.onset): o.offset for o in whole["note_offs"]}
    assert [offsets[(n.pitch, n.onset)] for n in batch] == [n.offset for n in batch]


def test_streamed_events_come_in_time(music: Audio) -> None:
    analyser = StreamingAnalyser(SR)
    lag_onset, lag_notes = [], []
    for start in range(0, len(music), 512):
        fig = analyser.process(music[start : start + 512])
        now = (start + 512) / SR
        lag_onset += [now - t for t in fig.onset_times]
        lag_notes += [now - n.onset for n in fig.notes]
        for p in fig.pitch:
            assert now - p.time <= 1024 / SR + 1e-9
    assert max(lag_onset) <= 1024 / SR + 1e-9  # half a frame + one hop
    assert max(lag_notes) <= 0.1  # within 100 ms of the onset


def test_expect_gives_checks_at_the_next_onset(music: Audio) -> None:
    analyser = StreamingAnalyser(SR, pitch=False)
    checks = []
    expected = iter([[60], [64, 65], [67], [48, 55, 64], [72], [53, 57, 60, 66], [45]])
    analyser.expect(next(expected))
    for start in range(0, len(music), 512):
        fig = analyser.process(music[start : start + 512])
        if fig.onset_times:
            analyser.expect(next(expected, []))
        checks.extend(fig.checks)
    said = {(round(c.time, 1), c.pitch): c.sounded for c in checks}
    assert said[(1.0, 64)] and not said[(1.0, 65)]
    assert said[(3.3, 60)] and not said[(3.3, 66)]
    assert all(v for (t, p), v in said.items() if (t, p) not in ((1.0, 65), (3.3, 66)))
    with pytest.raises(InvalidConfigError, match="pitch 200"):
        analyser.expect([60, 200])
    with pytest.raises(TypeError):
        analyser.expect([60.5])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        analyser.expect(60)  # type: ignore[arg-type]


def test_optional_analyses_can_be_off(music: Audio) -> None:
    fig = StreamingAnalyser(SR, pitch=False, notes=False).process(music)
    assert fig.pitch == [] and fig.notes == [] and fig.onset_levels == []
    assert len(fig.onset_times) == len(EVENTS)
    assert len(fig.loudness) == len(music) // 512


def test_other_sample_rates() -> None:
    for sr in (16_000, 22_050, 48_000):
        x = piano([(0.5, [60], 0.2), (1.2, [55, 64], 0.2)], 2.2, sr=sr)
        notes = transcribe(x, sr)
        assert {(round(n.onset, 1), n.pitch) for n in notes} >= {(0.5, 60), (1.2, 64)}, sr
        track = detect_pitch(x, sr)
        held = (track.times > 0.6) & (track.times < 1.1)
        assert (np.abs(track.f0[held] - hz(60)) < 3).all(), sr


# -- bad input: a clear exception, never a crash --------------------------------------------

ok = np.zeros(4096, dtype=np.float32)
BAD_AUDIO: list[tuple[object, type[Exception], str]] = [
    (np.array([0.0, np.nan], dtype=np.float32), InvalidAudioError, "not finite"),
    (np.array([np.inf] * 10, dtype=np.float32), InvalidAudioError, "not finite"),
    (np.zeros(0, dtype=np.float32), InvalidAudioError, "empty"),
    (np.zeros((2, 1000), dtype=np.float32), InvalidAudioError, "1-D"),
    (np.zeros(1000, dtype=np.float64), AudioTypeError, "float32"),
    (np.zeros(1000, dtype=np.int16), AudioTypeError, "float32"),
    ([0.0] * 1000, AudioTypeError, "ndarray"),
]

CALLS: dict[str, Callable[[Any, Any], object]] = {
    "detect_pitch": lambda x, sr: detect_pitch(x, sr),
    "transcribe": lambda x, sr: transcribe(x, sr),
    "analyze_dynamics": lambda x, sr: analyze_dynamics(x, sr),
    "check_pitches": lambda x, sr: check_pitches(x, sr, 0.01, [60]),
    "StreamingAnalyser": lambda x, sr: StreamingAnalyser(sr).process(x),
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(("audio", "error", "message"), BAD_AUDIO)
def test_bad_audio_is_refused(
    call: str, audio: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        CALLS[call](audio, SR)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("rate", [0, 10, 3_999, 10_000_000, 2**70, -44_100])
def test_absurd_sample_rates_are_refused(call: str, rate: int) -> None:
    with pytest.raises(InvalidConfigError):
        CALLS[call](ok, rate)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(TypeError):
        detect_pitch(ok, 44_100.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="fmin"):
        detect_pitch(ok, SR, fmin=5.0)
    with pytest.raises(InvalidConfigError, match="fmax"):
        detect_pitch(ok, SR, fmax=30_000.0)
    with pytest.raises(InvalidConfigError, match="threshold"):
        detect_pitch(ok, SR, threshold=float("nan"))
    with pytest.raises(InvalidConfigError, match="frame size"):
        detect_pitch(ok, SR, frame_size=1001)
    with pytest.raises(TypeError, match="fmin"):
        detect_pitch(ok, SR, fmin="low")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="max_polyphony"):
        transcribe(ok, SR, max_polyphony=0)
    with pytest.raises(InvalidConfigError, match="relative_threshold"):
        transcribe(ok, SR, relative_threshold=2.0)
    with pytest.raises(InvalidConfigError, match="frame size"):
        transcribe(ok, SR, frame_size=3)
    with pytest.raises(InvalidConfigError, match="time"):
        check_pitches(ok, SR, 5.0, [60])
    with pytest.raises(InvalidConfigError, match="time"):
        check_pitches(ok, SR, float("nan"), [60])
    with pytest.raises(InvalidConfigError, match="pitch 12"):
        check_pitches(ok, SR, 0.01, [60, 12])
    with pytest.raises(InvalidConfigError, match="pitch -1"):
        check_pitches(ok, SR, 0.01, [-1])
    with pytest.raises(TypeError, match="iterable"):
        check_pitches(ok, SR, 0.01, 60)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bool"):
        check_pitches(ok, SR, 0.01, [True])
    assert check_pitches(ok, SR, 0.01, []) == []


def test_onsets_do_not_depend_on_the_level(music: Audio) -> None:
    # The spectrum is normalised by a running level before the log, so 20 dB
    # (or 40 dB) quieter playing gives the same onsets, within one hop.
    loud = detect_onsets(music, SR)
    assert len(loud) == 7
    for gain in (0.1, 0.01):
        quiet = detect_onsets((music * gain).astype(np.float32), SR)
        np.testing.assert_allclose(quiet, loud, rtol=0, atol=256 / SR + 1e-9)
