"""Tests of the Python API of etude_engine (the Rust analysis engine)."""

from __future__ import annotations

import importlib.metadata
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import etude_engine
from etude_engine import (
    SILENCE_FLOOR_DBFS,
    AudioTypeError,
    ChunkFigures,
    EngineError,
    InvalidAudioError,
    InvalidConfigError,
    StreamingAnalyser,
    detect_onsets,
    levels,
)

SR = 44_100
HOP = 256  # the onset hop (loudness frames stay 512 samples)
FRAME = 1024
ONSET_TIMES = [1.0 + 0.5 * i for i in range(8)]
PITCHES = [261.63, 329.63, 392.0, 523.25, 440.0, 196.0, 880.0, 293.66]

Audio = npt.NDArray[np.float32]


def sine(amplitude: float, freq: float, seconds: float, sr: int = SR) -> Audio:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def bursts(times: list[float], seconds: float, sr: int = SR) -> Audio:
    """Decaying piano-like tones (4 partials, 3 ms attack, 0.1 s decay)."""
    out = np.zeros(int(seconds * sr))
    t = np.arange(int(0.8 * sr)) / sr
    env = np.minimum(t / 0.003, 1.0) * np.exp(-t / 0.1)
    for i, t0 in enumerate(times):
        f0 = PITCHES[i % len(PITCHES)]
        tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 5))
        start = round(t0 * sr)
        seg = out[start : start + len(t)]
        seg += (0.3 * env * tone)[: len(seg)]
    return out.astype(np.float32)


@pytest.fixture(scope="module")
def signal() -> Audio:
    # 1 s of silence, a note every 0.5 s, then ~1 s of decay and silence.
    return bursts(ONSET_TIMES, 5.5)


def stream(x: Audio, sizes: list[int], **kwargs: int) -> tuple[list[float], StreamingAnalyser]:
    analyser = StreamingAnalyser(SR, **kwargs)
    times: list[float] = []
    pos, k = 0, 0
    while pos < len(x):
        size = sizes[k % len(sizes)]
        figures = analyser.process(x[pos : pos + size])
        assert figures.onset == bool(figures.onset_times)
        times.extend(figures.onset_times)
        pos += size
        k += 1
    return times, analyser


# -- the package -------------------------------------------------------------


def test_package_surface() -> None:
    # The Rust crate's version must match the Python package's.
    assert etude_engine.__version__ == importlib.metadata.version("etude-engine")
    for name in etude_engine.__all__:
        assert hasattr(etude_engine, name), name
    assert SILENCE_FLOOR_DBFS == -120.0
    assert etude_engine.MIN_SAMPLE_RATE == 4_000
    assert etude_engine.MAX_SAMPLE_RATE == 768_000
    sig = inspect.signature(StreamingAnalyser)
    assert str(sig) == "(sample_rate, frame_size=1024, hop_size=256, *, pitch=True, notes=True)"


def test_exception_hierarchy() -> None:
    assert issubclass(EngineError, Exception)
    assert issubclass(InvalidAudioError, EngineError)
    assert issubclass(InvalidAudioError, ValueError)
    assert issubclass(AudioTypeError, InvalidAudioError)
    assert issubclass(AudioTypeError, TypeError)
    assert issubclass(InvalidConfigError, EngineError)
    assert issubclass(InvalidConfigError, ValueError)
    # The very classes of the Python module, not copies made in Rust.
    assert etude_engine.exceptions.InvalidAudioError is InvalidAudioError


# -- levels --------------------------------------------------------------------


def test_levels_of_a_sine() -> None:
    amplitude = 10 ** (-6 / 20)
    rms, peak = levels(sine(amplitude, 1000.0, 1.0, sr=48_000))
    # A sine's RMS is its peak less 3.0103 dB.
    assert rms == pytest.approx(-9.0103, abs=1e-3)
    assert peak == pytest.approx(-6.0, abs=1e-3)


def test_levels_of_silence() -> None:
    assert levels(np.zeros(4096, np.float32)) == (SILENCE_FLOOR_DBFS, SILENCE_FLOOR_DBFS)


def test_levels_of_a_strided_view() -> None:
    x = sine(0.5, 440.0, 0.5)
    assert levels(x[::2]) == pytest.approx(levels(np.ascontiguousarray(x[::2])))


def test_levels_do_not_modify_input() -> None:
    x = sine(0.5, 440.0, 0.1)
    before = x.copy()
    levels(x)
    detect_onsets(x, SR)
    np.testing.assert_array_equal(x, before)


# -- onsets --------------------------------------------------------------------


def test_onsets_of_bursts(signal: Audio) -> None:
    found = detect_onsets(signal, SR)
    assert found.dtype == np.float64
    assert found.ndim == 1
    assert len(found) == len(ONSET_TIMES), found
    # Within 512 samples (two hops) of the truth: after digital silence the
    # flux rises as soon as the attack enters the frame, a little early.
    np.testing.assert_allclose(found, ONSET_TIMES, rtol=0, atol=512 / SR)
    # Sample-accurate to the hop: n * hop + frame / 2 samples.
    grid = (found * SR - FRAME / 2) / HOP
    np.testing.assert_allclose(grid, np.round(grid), atol=1e-6)


def test_no_onsets_in_silence() -> None:
    assert len(detect_onsets(np.zeros(SR * 3, np.float32), SR)) == 0


def test_no_onsets_in_steady_noise() -> None:
    rng = np.random.default_rng(7)
    hiss = (0.01 * rng.standard_normal(SR * 5)).astype(np.float32)
    assert len(detect_onsets(hiss, SR)) == 0


def test_onsets_at_other_settings(signal: Audio) -> None:
    found = detect_onsets(signal, SR, frame_size=2048, hop_size=256)
    assert len(found) == len(ONSET_TIMES)
    np.testing.assert_allclose(found, ONSET_TIMES, rtol=0, atol=(256 + 2048 / 2) / SR)


# -- streaming -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes",
    [[256], [512], [1000], [1024], [1], [4097], [300, 1, 2047, 512, 999, 64]],
    ids=lambda s: "/".join(map(str, s)),
)
def test_streaming_equals_batch(signal: Audio, sizes: list[int]) -> None:
    if sizes == [1]:
        signal = signal[: SR * 2]  # keep the one-sample case quick
    batch = detect_onsets(signal, SR).tolist()
    times, analyser = stream(signal, sizes)
    assert times == batch
    assert analyser.samples_seen == len(signal)


def test_streaming_figures(signal: Audio) -> None:
    analyser = StreamingAnalyser(SR)
    assert analyser.sample_rate == SR
    assert (analyser.frame_size, analyser.hop_size) == (FRAME, HOP)
    assert analyser.latency_samples == FRAME // 2  # no look-ahead
    chunks = [analyser.process(c) for c in np.array_split(signal, len(signal) // 1024)]
    first = chunks[0]
    assert isinstance(first, ChunkFigures)
    assert (first.rms_dbfs, first.peak_dbfs, first.onset, first.flux) == (
        SILENCE_FLOOR_DBFS,
        SILENCE_FLOOR_DBFS,
        False,
        0.0,
    )
    assert first.onset_times == []
    flagged = [c for c in chunks if c.onset]
    assert len(flagged) == len(ONSET_TIMES)
    # An onset is confirmed a little after it happens, while the note sounds.
    assert all(c.peak_dbfs > -30 for c in flagged)
    assert all(c.flux == 0.0 for c in chunks[:40])  # the first second is silent
    assert max(c.flux for c in chunks) > 0.05
    assert max(c.peak_dbfs for c in chunks) <= 0.0
    assert sum(c.frames for c in chunks) == (len(signal) - FRAME) // HOP + 1
    with pytest.raises(AttributeError):
        first.onset = True  # type: ignore[misc]


def test_reset(signal: Audio) -> None:
    analyser = StreamingAnalyser(SR)
    first = [t for c in np.array_split(signal, 50) for t in analyser.process(c).onset_times]
    analyser.reset()
    assert analyser.samples_seen == 0
    second = [t for c in np.array_split(signal, 70) for t in analyser.process(c).onset_times]
    assert first == second == detect_onsets(signal, SR).tolist()


def test_bad_chunk_leaves_stream_intact(signal: Audio) -> None:
    analyser = StreamingAnalyser(SR)
    half = len(signal) // 2
    times = list(analyser.process(signal[:half]).onset_times)
    with pytest.raises(InvalidAudioError):
        analyser.process(np.array([0.0, np.nan], np.float32))
    assert analyser.samples_seen == half
    times += analyser.process(signal[half:]).onset_times
    assert times == detect_onsets(signal, SR).tolist()


# -- bad input: one test each ----------------------------------------------------


def every_entry_point(x: Any) -> list[Callable[[], object]]:
    analyser = StreamingAnalyser(SR)
    return [lambda: levels(x), lambda: detect_onsets(x, SR), lambda: analyser.process(x)]


def assert_all_raise(x: Any, exc: type[EngineError], match: str) -> None:
    """Each entry point raises exactly `exc`. (A pyo3 PanicException derives
    from BaseException, so it would escape pytest.raises and fail the test.)"""
    for call in every_entry_point(x):
        with pytest.raises(exc, match=match) as info:
            call()
        assert type(info.value) is exc
        assert isinstance(info.value, EngineError)


def test_nan() -> None:
    x = np.zeros(2048, np.float32)
    x[1000] = np.nan
    assert_all_raise(x, InvalidAudioError, r"sample 1000 is not finite \(NaN\)")


def test_inf() -> None:
    x = np.zeros(2048, np.float32)
    x[7] = -np.inf
    assert_all_raise(x, InvalidAudioError, r"sample 7 is not finite \(-inf\)")


def test_empty() -> None:
    assert_all_raise(np.zeros(0, np.float32), InvalidAudioError, "empty")


def test_float64_dtype() -> None:
    with pytest.raises(ValueError, match="dtype float32, got float64"):
        levels(np.zeros(64))  # type: ignore[arg-type]
    assert_all_raise(np.zeros(2048), AudioTypeError, "dtype float32, got float64")


def test_two_dimensional() -> None:
    assert_all_raise(np.zeros((2, 1024), np.float32), InvalidAudioError, r"1-D.*\(2, 1024\)")


def test_int_array() -> None:
    with pytest.raises(TypeError, match="got int16"):
        levels(np.zeros(64, np.int16))
    assert_all_raise(np.zeros(2048, np.int32), AudioTypeError, "dtype float32, got int32")


def test_not_an_array() -> None:
    assert_all_raise([0.0] * 2048, AudioTypeError, "numpy.ndarray of float32, got list")


def test_big_endian_float32() -> None:
    assert_all_raise(np.zeros(2048, ">f4"), AudioTypeError, "dtype float32")


@pytest.mark.parametrize("sample_rate", [0, 10, 3_999, 768_001, 10_000_000, -44_100, 2**80])
def test_bad_sample_rate(sample_rate: int) -> None:
    with pytest.raises(InvalidConfigError, match=r"sample[ _]rate") as info:
        StreamingAnalyser(sample_rate)
    assert isinstance(info.value, EngineError)
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidConfigError, match=r"sample[ _]rate"):
        detect_onsets(np.zeros(4096, np.float32), sample_rate)


def test_sample_rate_not_an_int() -> None:
    with pytest.raises(TypeError, match="sample_rate must be an int, got float"):
        StreamingAnalyser(44_100.0)  # type: ignore[arg-type]


def test_numpy_int_sample_rate_is_fine() -> None:
    assert StreamingAnalyser(np.int64(48_000)).sample_rate == 48_000  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frame_size", "hop_size", "match"),
    [
        (1001, 512, "frame size 1001"),
        (32, 16, "frame size 32"),
        (1024, 0, "hop size 0"),
        (1024, 2048, "hop size 2048"),
        (-1024, 512, "frame_size must not be negative"),
    ],
)
def test_bad_frame_or_hop(frame_size: int, hop_size: int, match: str) -> None:
    with pytest.raises(InvalidConfigError, match=match):
        StreamingAnalyser(SR, frame_size, hop_size)
    with pytest.raises(InvalidConfigError, match=match):
        detect_onsets(np.zeros(4096, np.float32), SR, frame_size=frame_size, hop_size=hop_size)


def test_transcribe_method() -> None:
    t = np.arange(SR) / SR
    x = np.zeros(2 * SR, dtype=np.float32)
    tone = sum(np.sin(2 * np.pi * 220.0 * h * t) / h for h in range(1, 9)) * np.exp(-t / 0.5)
    x[SR // 2 : SR // 2 + SR] = 0.1 * tone
    for method in ("learned", "harmonic"):
        notes = etude_engine.transcribe(x, SR, method=method)
        assert 57 in [n.pitch for n in notes], (method, notes)
    with pytest.raises(etude_engine.InvalidConfigError, match="method"):
        etude_engine.transcribe(x, SR, method="nmf")
