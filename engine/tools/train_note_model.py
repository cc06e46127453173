"""Trains the note model of audio/note_model.rs and writes its weights (note_weights.rs).

    /tmp/bench-audio/bin/python engine/tools/train_note_model.py [--seed 0] [--hidden 24]

What it learns from (FluidR3_GM only; TimGM6mb stays unseen, and so do the 8 performances of
bench/audio_eval.py's test subset):
* the 8 *tuning* performances of bench/audio_eval.py, whole, rendered with FluidSynth;
* `--chord-seconds` of random chords (1–6 notes over the keyboard, random velocities,
  overlapping), rendered the same way;
each in four versions: as rendered, with white noise (15–30 dB SNR), with a synthetic
reverberation (RT60 0.3–0.8 s) and at a random gain (−30..0 dB). (`--eq` adds a random
smooth EQ to the last three, to mimic other pianos: it scored lower on the second soundfont,
0.69 against 0.74 on held-out tuning performances, so it is off.)

At every onset that the engine's detector finds (and at every true chord onset), the features
of note_features.py are taken for all 88 pitches; a pitch is positive when a true note of it
starts within 50 ms of the onset (and this onset is the nearest to it). A one-hidden-layer
perceptron (ReLU) shared by all pitches and a logistic regression are fitted (scikit-learn,
seeded) on all positives and a sample of negatives (the positives' octave, fifth and semitone
neighbours, and random ones); the model's logit is the mean of theirs. (The perceptron alone
is better on FluidR3 but worse on another piano: on 3 tuning performances held out of
training, 0.80–0.82 and 0.74 on TimGM6mb; the logistic regression 0.76–0.79 and 0.83; their
mean 0.80–0.82 and 0.82.)

Needs the bench-audio extra, mido, fluidsynth and fluid-soundfont-gm. Renders are cached in
~/.cache/etude/train.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import mido
import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import note_features as nf  # noqa: E402

import etude_engine  # noqa: E402
from bench.audio_eval import TUNING  # noqa: E402  (one tuning set: the bench's held-out split)
from support.audio import render  # noqa: E402

SR = 44_100
N, DELAY, GAP = 3072, 1024, 1152  # NoteConfig::for_rate(44_100)
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
PERFORMANCES = ROOT.parent / "shared/data/performances/vienna4x22/midi"
CACHE = Path.home() / ".cache/etude/train"
WEIGHTS = ROOT / "engine/crates/etude-core/src/audio/note_weights.rs"
Note = tuple[int, float, int]  # pitch, onset s, velocity


def truth(midi: Path) -> list[Note]:
    out, t = [], 0.0
    for msg in mido.MidiFile(midi):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            out.append((msg.note, t, msg.velocity))
    return out


def random_chords(path: Path, seconds: float, rng: np.random.Generator) -> None:
    """Chords of 1–6 notes, random spacing, velocities and lengths (some overlapping)."""
    events: list[tuple[float, mido.Message]] = []
    t = 0.5
    while t < seconds:
        k = int(rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 6]))
        centre = rng.normal(62, 12)
        pitches = {int(np.clip(round(centre + rng.normal(0, 7)), 21, 108)) for _ in range(k)}
        vel = int(rng.integers(25, 120))
        for p in pitches:
            on = t + rng.uniform(0, 0.015)
            length = float(rng.choice([0.1, 0.25, 0.5, 1.0, 2.0])) * rng.uniform(0.7, 1.3)
            v = int(np.clip(vel + rng.normal(0, 8), 1, 127))
            events.append((on, mido.Message("note_on", note=p, velocity=v)))
            events.append((on + length, mido.Message("note_off", note=p)))
        t += float(rng.choice([0.08, 0.15, 0.25, 0.4, 0.7]))
    events.sort(key=lambda e: (e[0], e[1].type == "note_on"))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)])
    last = 0.0
    sounding: set[int] = set()
    for when, msg in events:
        if msg.type == "note_on" and msg.note in sounding:
            continue  # keep it simple: no re-strike while sounding
        if msg.type == "note_off" and msg.note not in sounding:
            continue
        (sounding.add if msg.type == "note_on" else sounding.discard)(msg.note)
        track.append(msg.copy(time=round(mido.second2tick(when - last, 480, 500000))))
        last = when
    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(track)
    mid.save(path)


def load(midi: Path, wav: Path) -> tuple[np.ndarray, list[Note]]:
    if not wav.exists():
        wav.parent.mkdir(parents=True, exist_ok=True)
        render(midi, wav, SR, SOUNDFONT, timeout=1200)
    x, sr = soundfile.read(wav, dtype="float32", always_2d=True)
    assert sr == SR
    return np.ascontiguousarray(x.mean(axis=1)), truth(midi)


def equalise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random smooth EQ (a tilt and slow ripples, ±6 dB or so over log frequency): another
    piano, another microphone, another room."""
    spec = np.fft.rfft(x)
    f = np.maximum(np.fft.rfftfreq(len(x), 1.0 / SR), 20.0)
    u = np.log2(f / 20.0) / np.log2(SR / 40.0)  # 0..1 over 20 Hz..Nyquist
    db = rng.uniform(-8, 8) * (u - 0.5)
    for k in (1, 2, 3):
        db += rng.uniform(-3, 3) * np.cos(np.pi * k * u + rng.uniform(0, np.pi))
    return np.fft.irfft(spec * 10 ** (db / 20), len(x))


def degrade(x: np.ndarray, kind: str, rng: np.random.Generator, eq: bool) -> np.ndarray:
    x64 = x.astype(np.float64)
    if eq and kind != "clean":
        x64 = equalise(x64, rng)
    if kind == "noise":
        rms = float(np.sqrt(np.mean(x64**2)))
        y = x64 + rng.normal(0.0, rms * 10 ** (-rng.uniform(15, 30) / 20), len(x))
    elif kind == "reverb":
        from scipy.signal import fftconvolve

        rt60 = rng.uniform(0.3, 0.8)
        n = int(1.2 * rt60 * SR)
        t = np.arange(n) / SR
        ir = rng.normal(0.0, 1.0, n) * 10 ** (-3.0 * t / rt60)
        ir *= rng.uniform(0.3, 0.7) / np.sqrt(np.sum(ir**2))
        ir[0] = 1.0
        y = fftconvolve(x64, ir)[: len(x)]
    elif kind == "gain":
        y = x64 * 10 ** (-rng.uniform(0, 30) / 20)
    else:
        y = x64
    peak = float(np.max(np.abs(y)))
    if peak > 0.99:
        y *= 0.99 / peak
    return y.astype(np.float32)


def onset_samples(x: np.ndarray, notes: list[Note], rng: np.random.Generator) -> np.ndarray:
    """The detector's onsets, plus true chord onsets (jittered a little) it missed."""
    found = np.array(etude_engine.detect_onsets(x, SR))
    true = np.array(sorted({round(n[1], 3) for n in notes}))
    missed = [t for t in true if len(found) == 0 or np.min(np.abs(found - t)) > 0.05]
    jitter = rng.uniform(-0.01, 0.01, len(missed))
    times = np.sort(np.concatenate([found, np.array(missed) + jitter]))
    return np.round(times * SR).astype(np.int64)


def labels(onsets: np.ndarray, notes: list[Note], offset: float) -> np.ndarray:
    """(onsets, 88) booleans: a note is positive at the nearest onset within 50 ms."""
    y = np.zeros((len(onsets), nf.PITCH_HIGH - nf.PITCH_LOW + 1), dtype=bool)
    times = onsets / SR
    for p, on, _ in notes:
        if not nf.PITCH_LOW <= p <= nf.PITCH_HIGH or len(times) == 0:
            continue
        d = np.abs(times - (on + offset))
        i = int(np.argmin(d))
        if d[i] <= 0.05:
            y[i, p - nf.PITCH_LOW] = True
    return y


def sample_rows(y: np.ndarray, rng: np.random.Generator, random_neg: int) -> np.ndarray:
    """Indices (row-major in the 88 pitches) of all positives and chosen negatives."""
    keep = y.copy()
    for d in (-12, -1, 1, 12, 19, 24, -19, 2, -2, 28):
        shifted = np.zeros_like(y)
        if d > 0:
            shifted[:, d:] = y[:, :-d]
        else:
            shifted[:, :d] = y[:, -d:]
        keep |= shifted
    for i in range(len(y)):
        keep[i, rng.integers(0, y.shape[1], random_neg)] = True
    return np.flatnonzero(keep.ravel())


def dataset(
    items: list[tuple[np.ndarray, list[Note]]],
    rng: np.random.Generator,
    offset: float,
    eq: bool,
) -> tuple[np.ndarray, np.ndarray]:
    fe = nf.Frontend(SR, N, DELAY, GAP)
    xs, ys = [], []
    for base, notes in items:
        for kind in ("clean", "noise", "reverb", "gain"):
            x = degrade(base, kind, rng, eq)
            on = onset_samples(x, notes, rng)
            y = labels(on, notes, offset)
            rows = np.stack([fe.features(x, int(s)) for s in on])  # onsets, 88, F
            pick = sample_rows(y, rng, random_neg=12)
            xs.append(rows.reshape(-1, nf.N_FEATURES)[pick])
            ys.append(y.ravel()[pick])
            print(f"  {kind}: {len(on)} onsets, {int(y.sum())} notes", file=sys.stderr)
    return np.concatenate(xs), np.concatenate(ys)


def renderer_offset() -> float:
    probe = CACHE / "_offset_probe.mid"
    wav = CACHE / "_offset_probe.wav"
    if not wav.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        mid = mido.MidiFile(ticks_per_beat=480)
        track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)])
        track.append(mido.Message("note_on", note=60, velocity=100, time=480))
        track.append(mido.Message("note_off", note=60, time=480))
        mid.tracks.append(track)
        mid.save(probe)
        render(probe, wav, SR, SOUNDFONT)
    x, _ = soundfile.read(wav, dtype="float32", always_2d=True)
    m = np.abs(x.mean(axis=1))
    return float(np.argmax(m > 0.01 * m.max())) / SR - 0.5


def f32(v: np.floating[Any]) -> str:
    """The shortest Rust literal that reads back as the same f32."""
    return np.format_float_scientific(np.float32(v), unique=True).replace(".e", "e")


def write_weights(model: object, linear: object, path: Path, meta: str) -> None:
    """The output logit is the mean of the perceptron's and the logistic regression's."""
    w1 = np.asarray(model.coefs_[0], dtype=np.float32)  # type: ignore[attr-defined]
    b1 = np.asarray(model.intercepts_[0], dtype=np.float32)  # type: ignore[attr-defined]
    w2 = 0.5 * np.asarray(model.coefs_[1], dtype=np.float32)[:, 0]  # type: ignore[attr-defined]
    w0 = 0.5 * np.asarray(linear.coef_[0], dtype=np.float32)  # type: ignore[attr-defined]
    b2 = np.float32(0.5 * (model.intercepts_[1][0] + linear.intercept_[0]))  # type: ignore[attr-defined]

    def arr(a: np.ndarray) -> str:
        # The shortest text that reads back as the same f32.
        return ", ".join(f32(v) for v in a.ravel())

    hidden = w1.shape[1]
    path.write_text(
        "// Generated by engine/tools/train_note_model.py: do not edit.\n"
        f"// {meta}\n"
        "// Regenerate: /tmp/bench-audio/bin/python engine/tools/train_note_model.py\n\n"
        f"/// Inputs per pitch (note_features.py's N_FEATURES).\n"
        f"pub(crate) const INPUTS: usize = {w1.shape[0]};\n"
        f"/// Hidden units.\n"
        f"pub(crate) const HIDDEN: usize = {hidden};\n"
        f"/// Input-to-hidden weights, input-major ([input][hidden]).\n"
        f"#[rustfmt::skip]\npub(crate) const W1: [f32; {w1.size}] = [{arr(w1)}];\n"
        f"/// Input-to-output (linear) weights.\n"
        f"#[rustfmt::skip]\npub(crate) const W0: [f32; {w0.size}] = [{arr(w0)}];\n"
        f"/// Hidden biases.\n"
        f"#[rustfmt::skip]\npub(crate) const B1: [f32; {hidden}] = [{arr(b1)}];\n"
        f"/// Hidden-to-output weights.\n"
        f"#[rustfmt::skip]\npub(crate) const W2: [f32; {hidden}] = [{arr(w2)}];\n"
        f"/// Output bias.\npub(crate) const B2: f32 = {f32(b2)};\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=24)
    ap.add_argument("--chord-seconds", type=float, default=600.0)
    ap.add_argument("--validate", default="", help="tuning performances held out (comma list)")
    ap.add_argument(
        "--eq", action="store_true", help="random EQ on the degraded versions (tried: worse)"
    )
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--save-data", type=Path, help="also save the feature matrix (.npz)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    offset = renderer_offset()
    held = {v for v in args.validate.split(",") if v}
    items = []
    for name in TUNING:
        if name in held:
            continue
        items.append(load(PERFORMANCES / f"{name}.mid", CACHE / f"{name}.wav"))
    with tempfile.TemporaryDirectory() as tmp:
        mid = CACHE / f"chords_{args.seed}_{args.chord_seconds:g}s.mid"
        if not mid.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            random_chords(Path(tmp) / "c.mid", args.chord_seconds, np.random.default_rng(args.seed))
            Path(tmp, "c.mid").rename(mid)
        items.append(load(mid, mid.with_suffix(".wav")))
    x, y = dataset(items, rng, offset, args.eq)
    print(f"{len(y)} rows, {int(y.sum())} positive", file=sys.stderr)
    if args.save_data:
        np.savez_compressed(args.save_data, x=x, y=y)
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=(args.hidden,),
        alpha=1e-4,
        batch_size=512,
        learning_rate_init=1e-3,
        max_iter=40,
        early_stopping=True,
        n_iter_no_change=4,
        random_state=args.seed,
    )
    model.fit(x, y)
    print(f"validation accuracy {model.best_validation_score_:.4f}", file=sys.stderr)
    from sklearn.linear_model import LogisticRegression

    linear = LogisticRegression(max_iter=300, C=1.0)
    linear.fit(x, y)
    meta = (
        f"MLP {nf.N_FEATURES}-{args.hidden}-1 averaged with a logistic regression (logits), "
        f"seed {args.seed}, {len(y)} rows "
        f"({int(y.sum())} positive) from {len(items) - 1} FluidR3 tuning performances and "
        f"{args.chord_seconds:g} s of random chords"
    )
    write_weights(model, linear, args.out, meta)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
