"""Onset detection alone: ours (and optionally librosa) on the audio of `bench.audio_eval`.

A lean companion of `bench/audio_eval.py` for work on the onset detector: the same clips,
conditions, offsets and scoring (mir_eval onset F, 50 ms window, chord notes within 30 ms
merged), but only onsets, so that a run over the tuning set takes seconds.

    python -m bench.onset_sweep --tuning                 # ours, the 8 tuning performances
    python -m bench.onset_sweep --anchors                # ours, librosa and aubio (both
                                                         # methods), the test subset
    python -m bench.onset_sweep --tuning --dump DIR      # write the degraded audio as raw
                                                         # float32 + truth, for an external sweep

Latency: from the true onset to the end of the 512-sample chunk whose `process()` reported
it, p50/p95, as in audio_eval. CPU per 512 samples: ours, the streaming analyser with onsets
only; the anchors as audio_eval counts them (aubio: the child process, start-up included).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bench import audio_eval as ev


def run(args: argparse.Namespace) -> int:
    files = ev.TUNING if args.tuning else ev.SUBSET
    conditions = [c.strip() for c in args.conditions.split(",")]
    offsets = {sf: ev.renderer_offset(sf) for sf in ev.SOUNDFONTS}
    clips = [ev.load_clip(name, args.seconds) for name in files[: args.files]]
    rows = []
    for cond in conditions:
        f_ours, lat, cpu, audio_s = [], [], 0.0, 0.0
        anchors: dict[str, tuple[list[float], list[float]]] = {}  # name: (F, CPU)
        for k, clip in enumerate(clips):
            sf = "timgm6mb" if cond == "2nd piano" else "fluidr3"
            x = ev.degrade(clip.audio[sf], cond, seed=k)
            ref_on = ev.merged([n[1] + offsets[sf] for n in clip.notes])
            if args.dump:
                out = Path(args.dump) / cond.replace(" ", "_")
                out.mkdir(parents=True, exist_ok=True)
                x.tofile(out / f"{clip.name}.f32")
                np.savetxt(out / f"{clip.name}.ref", ref_on, fmt="%.6f")
                continue
            r = ev.ours(x, notes=False)
            f_ours.append(ev.onset_f(ref_on, r.onsets))
            cpu += r.cpu
            audio_s += len(x) / ev.SR
            for on in ref_on:
                hits = [e for d, e in r.emitted or [] if abs(d - on) <= ev.ONSET_WINDOW]
                if hits:
                    lat.append(min(hits) - on)
            if args.anchors:
                import soundfile

                wav = Path(args.tmp) / f"{clip.name}.wav"
                soundfile.write(wav, x, ev.SR, subtype="FLOAT")
                for name, r in (
                    ("librosa", ev.librosa_onsets(wav)),
                    ("aubio hfc", ev.aubio(wav, None)),
                    ("aubio specflux", ev.aubio(wav, "specflux")),
                ):
                    fs, cpus = anchors.setdefault(name, ([], []))
                    fs.append(ev.onset_f(ref_on, r.onsets))
                    cpus.append(r.cpu)
        if args.dump:
            continue
        p50, p95 = (np.percentile(lat, q) * 1000 for q in (50, 95))
        per_hop = cpu / (audio_s * ev.SR / ev.HOP) * 1e6
        rows.append(
            f"| {cond} | ours | {np.mean(f_ours):.3f} | {p50:.0f} / {p95:.0f} | {per_hop:.1f} |"
        )
        for name, (fs, cpus) in anchors.items():
            hop_cost = sum(cpus) / (audio_s * ev.SR / ev.HOP) * 1e6
            rows.append(f"| {cond} | {name} | {np.mean(fs):.3f} | | {hop_cost:.1f} |")
    if rows:
        print("| condition | system | onset F | latency p50/p95 ms | CPU µs/512 |")
        print("| --- | --- | ---: | ---: | ---: |")
        print("\n".join(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tuning", action="store_true", help="the tuning performances")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--conditions", default=",".join(ev.CONDITIONS))
    ap.add_argument("--anchors", action="store_true", help="librosa and aubio beside ours")
    ap.add_argument("--dump", help="write audio and truth here instead of scoring")
    ap.add_argument("--tmp", default="/tmp", help="where the anchors' WAV files go")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
