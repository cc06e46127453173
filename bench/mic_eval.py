"""Practice at an acoustic piano: what the bridge hears and assesses from a microphone alone.

The issue-4 figures (`bench.audio_eval`) score the engine's analyser on its own; this one runs
the whole bridge path a practice room uses without MIDI — a WAV replayed as the microphone,
the notes heard, the piece named from them, the score's next chord expected by the engine's
score-informed check, the session assessed — and compares it with:

* **blind**: the same bridge without a score library (notes transcribed blind, as before the
  piece is named);
* **MIDI**: the same performance read from its MIDI file, the assessment a digital piano gets.

Audio: the first 30 s of the 8 held-out performances of `bench.audio_eval` (Vienna 4x22,
rendered with FluidSynth), in its five conditions. Heard notes are scored against the MIDI
notes: a true note is found when a heard note has its pitch within 100 ms (a rolled chord's
notes may be reported at its first onset; 50 ms figures are printed too).

    uv run --frozen --with scipy python -m bench.mic_eval            # ~3 min on 2 cores
    uv run --frozen --with scipy python -m bench.mic_eval --files 2 --conditions clean

Renders are cached in ~/.cache/etude/renders (shared with bench.audio_eval).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile

from bench.audio_eval import CACHE, CONDITIONS, SR, SUBSET, degrade, load_clip
from etude_bridge.analysis import HeardNote
from etude_bridge.assessment import SessionAssessor
from etude_bridge.controller import Bridge
from etude_bridge.outbox import Outbox
from etude_bridge.sources import AudioFileSource, MidiFileSource
from etude_protocol import Topics

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "cli" / "etude_cli" / "scores"
SECONDS = 30.0


class _Recording(Bridge):
    """The bridge, keeping the notes it heard (stream time) for scoring."""

    heard: list[HeardNote]

    def on_heard(self, heard: Any, listener: Any = None) -> None:
        self.heard.extend(heard.notes)
        super().on_heard(heard, listener)


@dataclass
class Run:
    heard: list[HeardNote]
    analysis: dict[str, Any] | None
    seconds: float


def run_bridge(
    work: Path, *, wav: Path | None = None, midi: Path | None = None, library: bool
) -> Run:
    outbox = Outbox(work / f"outbox-{time.monotonic_ns()}.db")
    bridge = _Recording(
        device_id="bench",
        topics=Topics(),
        outbox=outbox,
        mqtt=None,
        audio=AudioFileSource(wav, speed=0) if wav else None,
        midi=MidiFileSource(midi, speed=0) if midi else None,
        assessor=SessionAssessor(LIBRARY, work / "cache") if library else None,
    )
    bridge.heard = []
    started = time.perf_counter()
    bridge.run()
    elapsed = time.perf_counter() - started
    analyses = [
        json.loads(item.payload)
        for item in outbox.pending(limit=100_000)
        if b'"session_analysis"' in item.payload
    ]
    return Run(bridge.heard, analyses[0] if analyses else None, elapsed)


def found(truth: list[tuple[int, float]], heard: list[HeardNote], window: float) -> int:
    """True notes heard with their pitch within `window` s, each heard note used once."""
    by_pitch: dict[int, list[float]] = {}
    for note in heard:
        by_pitch.setdefault(note.pitch, []).append(note.time)
    hits = 0
    for pitch, t in truth:
        times = by_pitch.get(pitch, [])
        best = min(range(len(times)), key=lambda k: abs(times[k] - t), default=None)
        if best is not None and abs(times[best] - t) < window:
            times.pop(best)
            hits += 1
    return hits


def prf(truth: list[tuple[int, float]], heard: list[HeardNote], window: float) -> tuple[float, ...]:
    hits = found(truth, heard, window)
    p = hits / len(heard) if heard else 0.0
    r = hits / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


MISTAKES = ("wrong_pitch", "missed", "extra")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=len(SUBSET))
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    args = ap.parse_args(argv)
    conditions = [c.strip() for c in args.conditions.split(",")]
    unknown = set(conditions) - set(CONDITIONS)
    if unknown:
        print(f"unknown condition(s) {sorted(unknown)}; choose from {CONDITIONS}", file=sys.stderr)
        return 2

    rows: dict[str, dict[str, list[float]]] = {c: {} for c in conditions}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for i, name in enumerate(SUBSET[: args.files]):
            clip = load_clip(name, SECONDS)
            truth = [(pitch, onset) for pitch, onset, _, _ in clip.notes]
            midi = CACHE / "clips" / f"{name}_{SECONDS:g}s.mid"
            by_midi = run_bridge(work, midi=midi, library=True).analysis
            for condition in conditions:
                soundfont = "timgm6mb" if condition == "2nd piano" else "fluidr3"
                wav = work / "take.wav"
                soundfile.write(wav, degrade(clip.audio[soundfont], condition, seed=i), SR)
                blind = run_bridge(work, wav=wav, library=False)
                informed = run_bridge(work, wav=wav, library=True)
                row = rows[condition]
                for label, r in (("blind", blind), ("informed", informed)):
                    for window in (0.1, 0.05):
                        for key, value in zip("PRF", prf(truth, r.heard, window), strict=True):
                            row.setdefault(f"{label} {key} {window * 1000:g}", []).append(value)
                    row.setdefault(f"{label} s", []).append(r.seconds)
                row.setdefault("informed share", []).append(
                    sum(n.informed for n in informed.heard) / max(1, len(informed.heard))
                )
                a, m = informed.analysis, by_midi
                named = a is not None and m is not None and a.get("piece") == m.get("piece")
                row.setdefault("named", []).append(float(named))
                if named and a is not None and m is not None:
                    row.setdefault("pitch acc audio", []).append(a["pitch_accuracy"])
                    row.setdefault("pitch acc MIDI", []).append(m["pitch_accuracy"])
                    for kind in MISTAKES:
                        row.setdefault(f"{kind} audio", []).append(a[kind])
                        row.setdefault(f"{kind} MIDI", []).append(m[kind])
                print(f"  {name} · {condition}: done", file=sys.stderr)

    summary = {
        c: {k: (sum(v) if k.split()[0] in MISTAKES else statistics.fmean(v)) for k, v in r.items()}
        for c, r in rows.items()
    }
    if args.json:
        print(json.dumps({"files": args.files, "seconds": SECONDS, "conditions": summary}))
        return 0
    print(
        f"\nHeard notes, {args.files} performances × {SECONDS:g} s (P / R / F, window 100 ms;"
        " 50 ms in brackets)\n"
    )
    print("| condition | blind | informed | informed share |")
    print("| --- | --- | --- | ---: |")
    for c, s in summary.items():

        def cell(label: str, s: dict[str, float] = s) -> str:
            wide = " / ".join(f"{s[f'{label} {k} 100']:.3f}" for k in "PRF")
            return f"{wide} ({s[f'{label} F 50']:.3f})"

        print(f"| {c} | {cell('blind')} | {cell('informed')} | {s['informed share']:.2f} |")
    print("\nThe assessment from the microphone beside the one from MIDI (same performances)\n")
    print(
        "| condition | piece named | pitch accuracy audio / MIDI | wrong pitch | missed | extra |"
    )
    print("| --- | ---: | --- | --- | --- | --- |")
    for c, s in summary.items():
        if "pitch acc audio" not in s:
            print(f"| {c} | {s['named']:.2f} | – | – | – | – |")
            continue
        counts = " | ".join(f"{s[f'{k} audio']:.0f} / {s[f'{k} MIDI']:.0f}" for k in MISTAKES)
        print(
            f"| {c} | {s['named']:.2f} | {s['pitch acc audio']:.3f} / {s['pitch acc MIDI']:.3f} "
            f"| {counts} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
