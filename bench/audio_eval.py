"""Audio analysis: etude_engine beside aubio, librosa and basic-pitch, in one run.

Renders excerpts of real performances (Vienna 4x22 MIDI, the ground truth) with FluidSynth,
degrades them (noise, reverberation, gain, a second piano sound) and scores every system on
the same audio with mir_eval. See bench/README.md for the figures and the set-up.

    /tmp/bench-audio/bin/python -m bench.audio_eval            # the documented subset
    /tmp/bench-audio/bin/python -m bench.audio_eval --quick    # 2 files, ours only

Needs: fluidsynth, fluid-soundfont-gm, timgm6mb-soundfont, aubio-tools (Debian); a venv with
etude-engine[bench-audio] and basic-pitch installed --no-deps (bench/README.md says how).
Renders are cached in ~/.cache/etude/renders.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mido
import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import etude_engine  # noqa: E402
from support.audio import excerpt  # noqa: E402
from support.audio import render as render_with_fluidsynth  # noqa: E402

PERFORMANCES = Path(
    os.environ.get("ETUDE_PERFORMANCES", ROOT.parent / "shared/data/performances/vienna4x22/midi")
)
CACHE = Path(os.environ.get("ETUDE_RENDER_CACHE", Path.home() / ".cache/etude/renders"))
SOUNDFONTS = {
    "fluidr3": Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    "timgm6mb": Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
}
SR = 44_100
HOP = 512
# Two performances of each piece, different pianists (the documented subset).
SUBSET = [
    "Chopin_op10_no3_p01",
    "Chopin_op10_no3_p12",
    "Chopin_op38_p03",
    "Chopin_op38_p15",
    "Mozart_K331_1st-mov_p05",
    "Mozart_K331_1st-mov_p18",
    "Schubert_D783_no15_p07",
    "Schubert_D783_no15_p20",
]
# Other pianists of the same pieces: what the engine's settings were tuned on (--tuning), so
# that the subset above stays a held-out test.
TUNING = [
    "Chopin_op10_no3_p02",
    "Chopin_op10_no3_p09",
    "Chopin_op38_p04",
    "Chopin_op38_p11",
    "Mozart_K331_1st-mov_p03",
    "Mozart_K331_1st-mov_p08",
    "Schubert_D783_no15_p02",
    "Schubert_D783_no15_p10",
]
CONDITIONS = ["clean", "noise 20 dB", "reverb 0.5 s", "gain -20 dB", "2nd piano"]
ONSET_WINDOW = 0.05
CHORD_MERGE = 0.03


# -- audio -------------------------------------------------------------------------------


def render(midi: Path, wav: Path, soundfont: Path) -> None:
    render_with_fluidsynth(midi, wav, SR, soundfont, timeout=600)


def read(wav: Path) -> np.ndarray:
    x, sr = soundfile.read(wav, dtype="float32", always_2d=True)
    assert sr == SR
    return np.ascontiguousarray(x.mean(axis=1), dtype=np.float32)


def renderer_offset(soundfont: str) -> float:
    """Seconds between a note-on at 0.5 s and the first sound the renderer writes."""
    wav = CACHE / soundfont / "_offset_probe.wav"
    if not wav.exists():
        wav.parent.mkdir(parents=True, exist_ok=True)
        mid = mido.MidiFile(ticks_per_beat=480)
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("set_tempo", tempo=500000))
        track.append(mido.Message("note_on", note=60, velocity=100, time=480))
        track.append(mido.Message("note_off", note=60, time=480))
        mid.tracks.append(track)
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / "probe.mid"
            mid.save(probe)
            render(probe, wav, SOUNDFONTS[soundfont])
    x = read(wav)
    first = int(np.argmax(np.abs(x) > 0.01 * np.abs(x).max()))
    return first / SR - 0.5


@dataclass
class Clip:
    name: str
    notes: list[tuple[int, float, float, int]]  # pitch, onset, offset, velocity (MIDI clock)
    audio: dict[str, np.ndarray] = field(default_factory=dict)  # per soundfont


def truth_notes(midi: Path) -> list[tuple[int, float, float, int]]:
    notes: list[tuple[int, float, float, int]] = []
    sounding: dict[int, tuple[float, int]] = {}
    t = 0.0
    for msg in mido.MidiFile(midi):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            if msg.note in sounding:
                on, vel = sounding.pop(msg.note)
                notes.append((msg.note, on, t, vel))
            sounding[msg.note] = (t, msg.velocity)
        elif msg.type in ("note_off", "note_on") and msg.note in sounding:
            on, vel = sounding.pop(msg.note)
            notes.append((msg.note, on, t, vel))
    return sorted(notes, key=lambda n: (n[1], n[0]))


def load_clip(name: str, seconds: float) -> Clip:
    clip_dir = CACHE / "clips"
    clip_dir.mkdir(parents=True, exist_ok=True)
    mid = clip_dir / f"{name}_{seconds:g}s.mid"
    if not mid.exists():
        excerpt(PERFORMANCES / f"{name}.mid", seconds, mid)
    clip = Clip(name, [n for n in truth_notes(mid) if n[1] < seconds])
    for sf in SOUNDFONTS:
        wav = CACHE / sf / f"{name}_{seconds:g}s.wav"
        if not wav.exists():
            wav.parent.mkdir(parents=True, exist_ok=True)
            render(mid, wav, SOUNDFONTS[sf])
        clip.audio[sf] = read(wav)
    return clip


def degrade(x: np.ndarray, condition: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if condition == "noise 20 dB":
        rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
        y = x + rng.normal(0.0, rms / 10.0, len(x))
    elif condition == "reverb 0.5 s":
        # Exponentially decaying noise, RT60 0.5 s (60 dB down in 0.5 s), direct path first.
        n = int(0.6 * SR)
        t = np.arange(n) / SR
        ir = rng.normal(0.0, 1.0, n) * 10 ** (-3.0 * t / 0.5)
        ir *= 0.5 / np.sqrt(np.sum(ir**2))  # reverberant energy 6 dB under the direct sound
        ir[0] = 1.0
        from scipy.signal import fftconvolve

        y = fftconvolve(x, ir)[: len(x)]
    elif condition == "gain -20 dB":
        y = x * 0.1
    else:
        y = x
    peak = float(np.max(np.abs(y)))
    if peak > 0.99:
        y = y * (0.99 / peak)
    return np.ascontiguousarray(y, dtype=np.float32)


# -- metrics -------------------------------------------------------------------------------


def merged(times: list[float] | np.ndarray, within: float = CHORD_MERGE) -> np.ndarray:
    out: list[float] = []
    for t in sorted(times):
        if not out or t - out[-1] > within:
            out.append(float(t))
    return np.array(out)


def onset_f(ref: np.ndarray, est: np.ndarray) -> float:
    import mir_eval

    if len(est) == 0:
        return 0.0
    f, _, _ = mir_eval.onset.f_measure(ref, merged(est), window=ONSET_WINDOW)
    return float(f)


def note_f(ref: list[tuple[int, float, float, int]], est: list[tuple[int, float, float]]) -> float:
    import mir_eval

    if not est:
        return 0.0
    ri = np.array([[n[1], max(n[2], n[1] + 0.01)] for n in ref])
    rp = np.array([440.0 * 2 ** ((n[0] - 69) / 12) for n in ref])
    ei = np.array([[e[1], max(e[2], e[1] + 0.01)] for e in est])
    ep = np.array([440.0 * 2 ** ((e[0] - 69) / 12) for e in est])
    _, _, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ri, rp, ei, ep, onset_tolerance=ONSET_WINDOW, offset_ratio=None
    )
    return float(f)


def match_notes(
    ref: list[tuple[int, float, float, int]], est: list[tuple[int, float, Any]]
) -> list[tuple[int, Any]]:
    """Greedy (true index, est payload) pairs of the same pitch within the onset window."""
    used: set[int] = set()
    pairs = []
    for i, (p, on, _, _) in enumerate(ref):
        best, best_d = None, ONSET_WINDOW
        for j, e in enumerate(est):
            if j in used or e[0] != p:
                continue
            d = abs(e[1] - on)
            if d <= best_d:
                best, best_d = j, d
        if best is not None:
            used.add(best)
            pairs.append((i, est[best][2]))
    return pairs


def chords(ref: list[tuple[int, float, float, int]]) -> list[tuple[float, set[int]]]:
    out: list[tuple[float, set[int]]] = []
    for p, on, _, _ in ref:
        if out and on - out[-1][0] <= CHORD_MERGE:
            out[-1][1].add(p)
        else:
            out.append((on, {p}))
    return out


def cpu() -> float:
    return time.process_time()


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# -- systems ---------------------------------------------------------------------------


@dataclass
class Result:
    onsets: np.ndarray
    notes: list[tuple[int, float, float]] | None = None
    velocities: list[tuple[int, float, float]] | None = None  # pitch, onset, velocity
    latencies: list[float] | None = None  # (onset, emitted) pairs flattened later
    emitted: list[tuple[float, float]] | None = None
    cpu: float = 0.0
    checks: dict[tuple[float, int], bool] | None = None


def ours(x: np.ndarray, *, notes: bool, pitch: bool = False) -> Result:
    analyser = etude_engine.StreamingAnalyser(SR, pitch=pitch, notes=notes)
    onsets: list[float] = []
    emitted: list[tuple[float, float]] = []
    events: list[Any] = []
    offs: dict[tuple[int, float], float] = {}
    t0 = cpu()
    for start in range(0, len(x), HOP):
        fig = analyser.process(x[start : start + HOP])
        if fig.onset_times:
            now = (start + len(x[start : start + HOP])) / SR
            for t in fig.onset_times:
                onsets.append(t)
                emitted.append((t, now))
        if notes:
            events.extend(fig.notes)
            for o in fig.note_offs:
                offs[(o.pitch, o.onset)] = o.offset
    if notes:
        for o in analyser.finish():
            offs[(o.pitch, o.onset)] = o.offset
    used = cpu() - t0
    res = Result(np.array(onsets), emitted=emitted, cpu=used)
    if notes:
        end = len(x) / SR
        res.notes = [(e.pitch, e.onset, offs.get((e.pitch, e.onset), end)) for e in events]
        res.velocities = [(e.pitch, e.onset, float(e.velocity)) for e in events]
    return res


def ours_offline(x: np.ndarray, **kwargs: Any) -> Result:
    t0 = cpu()
    notes = etude_engine.transcribe(x, SR, **kwargs)
    used = cpu() - t0
    res = Result(merged([n.onset for n in notes]), cpu=used)
    res.notes = [(n.pitch, n.onset, n.offset) for n in notes]
    res.velocities = [(n.pitch, n.onset, float(n.velocity)) for n in notes]
    return res


def aubio(wav: Path, method: str | None) -> Result:
    cmd = ["aubioonset", "-i", str(wav)]
    if method:
        cmd += ["-O", method]
    c0 = child_cpu()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    used = child_cpu() - c0
    return Result(np.array([float(v) for v in out.split()]), cpu=used)


def librosa_onsets(wav: Path) -> Result:
    import librosa

    t0 = cpu()
    y, sr = librosa.load(wav, sr=None, mono=True)
    on = librosa.onset.onset_detect(y=y, sr=sr, units="time")
    return Result(np.asarray(on), cpu=cpu() - t0)


class BasicPitch:
    def __init__(self) -> None:
        logging.getLogger().setLevel(logging.ERROR)
        t0 = cpu()
        from basic_pitch import ICASSP_2022_MODEL_PATH
        from basic_pitch.inference import Model

        onnx = Path(ICASSP_2022_MODEL_PATH).with_suffix(".onnx")
        self.model = Model(onnx)
        self.startup = cpu() - t0

    def __call__(self, wav: Path, min_note_ms: float) -> Result:
        from basic_pitch.inference import predict

        t0 = cpu()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, _, events = predict(wav, self.model, minimum_note_length=min_note_ms)
        used = cpu() - t0
        notes = [(int(p), float(s), float(e)) for s, e, p, _, _ in events]
        notes.sort(key=lambda n: n[1])
        vel = [(int(p), float(s), float(a)) for s, e, p, a, _ in events]
        return Result(np.array([n[1] for n in notes]), notes=notes, velocities=vel, cpu=used)


# -- the run -------------------------------------------------------------------------------


@dataclass
class Tally:
    onset_f: list[float] = field(default_factory=list)
    note_f: list[float] = field(default_factory=list)
    cpu: float = 0.0
    audio_s: float = 0.0
    latency: list[float] = field(default_factory=list)
    vel_pairs: list[tuple[float, float]] = field(default_factory=list)
    check_f: list[float] = field(default_factory=list)


def score_informed_ours(
    x: np.ndarray, ref: list[tuple[int, float, float, int]], offset: float, seed: int
) -> tuple[list[bool], list[bool], list[tuple[float, int, bool]]]:
    """(truth, decision) per expected pitch, with a distractor a semitone or tone away."""
    rng = np.random.default_rng(seed)
    truth, said, items = [], [], []
    duration = len(x) / SR
    for on, pitches in chords(ref):
        t = on + offset
        if t >= duration - 0.1:
            continue
        distractor = min(pitches) + int(rng.choice([-2, -1, 1, 2]))
        while distractor in pitches:
            distractor += 1
        expected = [*sorted(pitches), distractor]
        expected = [p for p in expected if 21 <= p <= 108]
        checks = etude_engine.check_pitches(x, SR, t, expected)
        for c in checks:
            truth.append(c.pitch in pitches)
            said.append(c.sounded)
            items.append((t, c.pitch, c.pitch in pitches))
    return truth, said, items


def f1(truth: list[bool], said: list[bool]) -> float:
    tp = sum(1 for a, b in zip(truth, said, strict=True) if a and b)
    fp = sum(1 for a, b in zip(truth, said, strict=True) if not a and b)
    fn = sum(1 for a, b in zip(truth, said, strict=True) if a and not b)
    return 2 * tp / max(1, 2 * tp + fp + fn)


def spearman(pairs: list[tuple[float, float]]) -> float:
    from scipy.stats import spearmanr

    if len(pairs) < 3:
        return float("nan")
    a, b = zip(*pairs, strict=True)
    return float(spearmanr(a, b).statistic)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=len(SUBSET), help="how many of the subset")
    ap.add_argument("--seconds", type=float, default=30.0, help="excerpt length")
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--quick", action="store_true", help="2 files, ours only")
    ap.add_argument("--no-anchors", action="store_true")
    ap.add_argument(
        "--tuning", action="store_true", help="the tuning performances instead of the test subset"
    )
    args = ap.parse_args(argv)
    files = (TUNING if args.tuning else SUBSET)[: 2 if args.quick else args.files]
    conditions = [c.strip() for c in args.conditions.split(",")]
    anchors = not (args.quick or args.no_anchors)

    offsets = {sf: renderer_offset(sf) for sf in SOUNDFONTS}
    print(
        f"renderer start offset: {', '.join(f'{k} {v * 1000:.1f} ms' for k, v in offsets.items())}"
    )
    clips = [load_clip(name, args.seconds) for name in files]
    n_notes = sum(len(c.notes) for c in clips)
    print(f"{len(clips)} excerpts of {args.seconds:g} s, {n_notes} notes: {', '.join(files)}")

    bp = BasicPitch() if anchors else None
    if bp:
        print(f"basic-pitch start-up (model load, onnxruntime): {bp.startup:.2f} s CPU")
    systems = ["ours"]
    if anchors:
        systems += ["aubio (hfc)", "aubio specflux", "librosa", "basic-pitch 58 ms", "basic-pitch"]
    systems_onset_only = ["ours (onsets only)", "ours harmonic sum", "ours offline 8192"]
    table: dict[str, dict[str, Tally]] = {c: {} for c in conditions}
    tmp = Path(tempfile.mkdtemp(prefix="etude-bench-"))
    try:
        for cond in conditions:
            for k, clip in enumerate(clips):
                sf = "timgm6mb" if cond == "2nd piano" else "fluidr3"
                off = offsets[sf]
                x = degrade(clip.audio[sf], cond, seed=k)
                wav = tmp / f"{clip.name}.wav"
                soundfile.write(wav, x, SR, subtype="FLOAT")
                ref = [(p, on + off, e + off, v) for p, on, e, v in clip.notes]
                ref_on = merged([n[1] for n in ref])
                dur = len(x) / SR
                runs: dict[str, Callable[[], Result]] = {
                    "ours": lambda x=x: ours(x, notes=True),
                    "ours (onsets only)": lambda x=x: ours(x, notes=False),
                    "ours harmonic sum": lambda x=x: ours_offline(x, method="harmonic"),
                    "ours offline 8192": lambda x=x: ours_offline(x, frame_size=8192),
                }
                if anchors and bp:
                    runs["aubio (hfc)"] = lambda wav=wav: aubio(wav, None)
                    runs["aubio specflux"] = lambda wav=wav: aubio(wav, "specflux")
                    runs["librosa"] = lambda wav=wav: librosa_onsets(wav)
                    runs["basic-pitch 58 ms"] = lambda wav=wav: bp(wav, 58.0)
                    runs["basic-pitch"] = lambda wav=wav: bp(wav, 127.7)
                for name, run in runs.items():
                    r = run()
                    t = table[cond].setdefault(name, Tally())
                    t.onset_f.append(onset_f(ref_on, r.onsets))
                    t.cpu += r.cpu
                    t.audio_s += dur
                    if r.notes is not None:
                        t.note_f.append(note_f(ref, r.notes))
                    if r.velocities is not None:
                        for i, v in match_notes(ref, r.velocities):
                            t.vel_pairs.append((v, float(ref[i][3])))
                    if r.emitted:
                        for on in ref_on:
                            hits = [e for d, e in r.emitted if abs(d - on) <= ONSET_WINDOW]
                            if hits:
                                t.latency.append(min(hits) - on)
                    if name == "ours":
                        truth, said, _ = score_informed_ours(x, ref, 0.0, seed=k)
                        t.check_f.append(f1(truth, said))
                    if name == "basic-pitch 58 ms" and r.notes is not None:
                        truth, said = [], []
                        rng = np.random.default_rng(k)
                        for on, pitches in chords(ref):
                            if on >= dur - 0.1:
                                continue
                            d = min(pitches) + int(rng.choice([-2, -1, 1, 2]))
                            while d in pitches:
                                d += 1
                            for p in [*sorted(pitches), d]:
                                if not 21 <= p <= 108:
                                    continue
                                truth.append(p in pitches)
                                said.append(
                                    any(
                                        n[0] == p and abs(n[1] - on) <= ONSET_WINDOW
                                        for n in r.notes
                                    )
                                )
                        t.check_f.append(f1(truth, said))
                print(f"  {cond}: {clip.name} done", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    hops_per_s = SR / HOP
    print()
    header = (
        "| condition | system | onset F | note F | score-informed F | latency p50/p95 ms "
        "| CPU µs/512-hop | CPU s per audio s | velocity ρ |"
    )
    print(header)
    print("|" + " --- |" * 9)
    for cond in conditions:
        for name in systems + systems_onset_only:
            t = table[cond].get(name)
            if t is None:
                continue
            lat = "–"
            if t.latency:
                p50, p95 = (np.percentile(t.latency, q) * 1000 for q in (50, 95))
                lat = f"{p50:.0f} / {p95:.0f}"
            nf = f"{np.mean(t.note_f):.3f}" if t.note_f else "–"
            cf = f"{np.mean(t.check_f):.3f}" if t.check_f else "–"
            rho = f"{spearman(t.vel_pairs):.3f}" if t.vel_pairs else "–"
            per_hop = t.cpu / (t.audio_s * hops_per_s) * 1e6
            print(
                f"| {cond} | {name} | {np.mean(t.onset_f):.3f} | {nf} | {cf} | {lat} "
                f"| {per_hop:.1f} | {t.cpu / t.audio_s:.4f} | {rho} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
