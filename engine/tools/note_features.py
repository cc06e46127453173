"""The note model's input features, in numpy: the reference for audio/note_model.rs.

At an onset at sample `s`, two Hann-windowed magnitude spectra of `n` samples (the engine's
`NoteConfig` frame: 3072 at 44.1 kHz): *after*, starting `delay` samples after `s`, and
*before*, ending `before_gap` samples before `s`; and their rectified difference
`R = max(0, after − before)` per bin (what the onset added). Each is reduced to semitone bands
(MIDI `BAND_LOW..BAND_LOW + BANDS`; a band is the largest bin between its ±½-semitone edges, or
its nearest bin when it is narrower than a bin; bands above `TOP_HZ` are 0), and to log levels
relative to the after frame's loudest band (gain does not matter), clipped at −`RANGE_DECADES`
decades and scaled to 0..1.

The features of pitch `p` are the after and new-sound bands at `OFFSETS` semitones from `p`
(its partials sit at +0, +12, +19, +24, +28, …), the pitch's register and the onset's
new-sound-to-after ratio: the same layout for every pitch, so one small model serves all 88.
"""

from __future__ import annotations

import numpy as np

BAND_LOW = 19
OFFSETS = np.arange(-2, 41)  # semitones from the pitch
BANDS = 108 + int(OFFSETS[-1]) - BAND_LOW + 1
TOP_HZ = 8000.0
RANGE_DECADES = 4.0
PITCH_LOW, PITCH_HIGH = 21, 108
N_FEATURES = 2 * len(OFFSETS) + 2


def midi_to_hz(m: float) -> float:
    return float(440.0 * 2.0 ** ((m - 69.0) / 12.0))


def hann(n: int) -> np.ndarray:
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    return w * (2.0 / w.sum())


def band_ranges(n: int, sample_rate: int) -> list[tuple[int, int] | None]:
    """Inclusive bin range of each band, None above the top (as note_model.rs)."""
    bw = sample_rate / n
    top = min(0.45 * sample_rate, TOP_HZ)
    bins = n // 2 + 1
    out: list[tuple[int, int] | None] = []
    for b in range(BANDS):
        m = BAND_LOW + b
        fc = midi_to_hz(m)
        if fc > top:
            out.append(None)
            continue
        lo = int(np.ceil(midi_to_hz(m - 0.5) / bw))
        hi = int(np.ceil(midi_to_hz(m + 0.5) / bw)) - 1
        if hi < lo:
            lo = hi = int(np.floor(fc / bw + 0.5))  # half away from zero, as Rust
        out.append((max(lo, 1), min(max(hi, 1), bins - 1)))
    return out


def bands(mags: np.ndarray, ranges: list[tuple[int, int] | None]) -> np.ndarray:
    return np.array([0.0 if r is None else float(mags[r[0] : r[1] + 1].max()) for r in ranges])


def log_level(x: np.ndarray, norm: float) -> np.ndarray:
    v = np.log10(np.maximum(x / norm, 10.0**-RANGE_DECADES))
    return np.asarray(v / RANGE_DECADES + 1.0)


class Frontend:
    def __init__(self, sample_rate: int, n: int, delay: int, before_gap: int) -> None:
        self.sr, self.n, self.delay, self.gap = sample_rate, n, delay, before_gap
        self.window = hann(n)
        self.ranges = band_ranges(n, sample_rate)

    def frame(self, x: np.ndarray, start: int) -> np.ndarray:
        out = np.zeros(self.n)
        lo, hi = max(start, 0), min(start + self.n, len(x))
        if hi > lo:
            out[lo - start : hi - start] = x[lo:hi]
        return out

    def onset_bands(self, x: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
        """(after, new) band levels, 0..1, and the onset-wide feature."""
        after = np.abs(np.fft.rfft(self.frame(x, s + self.delay) * self.window))
        before = np.abs(np.fft.rfft(self.frame(x, s - self.gap - self.n) * self.window))
        a = bands(after, self.ranges)
        r = bands(np.maximum(after - before, 0.0), self.ranges)
        norm = max(float(a.max()), 1e-9)
        return log_level(a, norm), log_level(r, norm)

    def features(self, x: np.ndarray, s: int) -> np.ndarray:
        """One row of N_FEATURES per pitch PITCH_LOW..=PITCH_HIGH."""
        a, r = self.onset_bands(x, s)
        return pitch_rows(a, r)


def pitch_rows(a: np.ndarray, r: np.ndarray) -> np.ndarray:
    pitches = np.arange(PITCH_LOW, PITCH_HIGH + 1)
    idx = pitches[:, None] - BAND_LOW + OFFSETS[None, :]
    onset_wide = np.full((len(pitches), 1), float(r.max()))
    register = ((pitches - 64.0) / 24.0)[:, None]
    return np.hstack([a[idx], r[idx], register, onset_wide]).astype(np.float32)
