"""Trains the score-informed check of audio/notes.rs and writes its weights (check_weights.rs).

    /tmp/bench-audio/bin/python engine/tools/train_check_model.py

The check decides, for each pitch the score expects at an onset, whether it sounded. It is a
logistic regression on four numbers, all from the note model's logits `z` (note_model.rs,
clipped to ±LOGIT_CLIP): the pitch's own `z` and by how much it is exceeded (0 if not) by the
largest `z` of its ±1 semitone neighbours, of its ±2 semitone neighbours and of the *other
expected* pitches within 2 semitones: a pitch the score expects beside another expected pitch
that clearly sounded is most likely that pitch's leakage, or a wrong note played in its place.
The decision is the strictest that still hears 98 % of the played pitches (the earlier rule's
recall here).

What it learns from: the 8 *tuning* performances of bench/audio_eval.py (30 s excerpts, as the
bench renders and caches them), FluidR3_GM only, in the bench's four FluidR3 conditions
(clean, noise 20 dB, reverberation, −20 dB). At every true chord onset the expected pitches are
the chord plus a wrong pitch 1–2 semitones from its lowest note (the bench's protocol), and,
as more negatives, every other pitch 1–2 semitones from its lowest or highest note and two
random pitches at least 3 semitones from every chord note, within an octave of the chord
(omissions; each judged with the chord). TimGM6mb and the 8 test performances stay unseen.
The note model's logits are computed in numpy (note_features.py and note_weights.rs).

Needs the bench-audio venv (scikit-learn, mido, soundfile) and the bench's renders (made by
running bench/audio_eval.py --tuning once).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import note_features as nf  # noqa: E402

from bench import audio_eval as ae  # noqa: E402

SR = 44_100
N, DELAY, GAP = 3072, 1024, 1152  # NoteConfig::for_rate(44_100)
LOGIT_CLIP = 10.0
AUDIO = ROOT / "engine/crates/etude-core/src/audio"
CONDITIONS = ["clean", "noise 20 dB", "reverb 0.5 s", "gain -20 dB"]  # FluidR3 only
# Share of the played pitches the check must hear (the earlier rule's, q ≥ 0.05, on these rows).
RECALL = 0.98


class NoteLogits:
    """The note model of note_model.rs in numpy (weights read from note_weights.rs)."""

    def __init__(self) -> None:
        text = (AUDIO / "note_weights.rs").read_text()

        def arr(name: str) -> np.ndarray:
            m = re.search(rf"const {name}: \[f32; \d+\] = \[(.*?)\];", text, re.S)
            assert m, name
            return np.array([float(v) for v in m.group(1).split(",")], dtype=np.float64)

        m = re.search(r"HIDDEN: usize = (\d+)", text)
        b2 = re.search(r"B2: f32 = ([-+0-9.e]+);", text)
        assert m and b2
        self.w1 = arr("W1").reshape(-1, int(m.group(1)))
        self.b1, self.w2, self.w0 = arr("B1"), arr("W2"), arr("W0")
        self.b2 = float(b2.group(1))
        self.fe = nf.Frontend(SR, N, DELAY, GAP)

    def __call__(self, x: np.ndarray, s: int) -> np.ndarray:
        rows = self.fe.features(x, s).astype(np.float64)
        z = np.maximum(rows @ self.w1 + self.b1, 0.0) @ self.w2 + rows @ self.w0 + self.b2
        return np.asarray(np.clip(z, -LOGIT_CLIP, LOGIT_CLIP))


def check_features(p: int, expected: list[int], z: np.ndarray) -> list[float]:
    """The check's inputs for expected pitch `p` (as notes.rs's `check_inputs`)."""

    def at(q: int) -> float:
        return float(z[q - nf.PITCH_LOW]) if nf.PITCH_LOW <= q <= nf.PITCH_HIGH else -LOGIT_CLIP

    own = at(p)
    others = [at(e) for e in expected if e != p and abs(e - p) <= 2]
    return [
        own,
        max(0.0, max(at(p - 1), at(p + 1)) - own),
        max(0.0, max(at(p - 2), at(p + 2)) - own),
        max(0.0, max(others, default=-LOGIT_CLIP) - own),
    ]


def dataset() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, sounded, in the bench's protocol) over the tuning set."""
    logits = NoteLogits()
    offset = ae.renderer_offset("fluidr3")
    xs: list[list[float]] = []
    ys: list[bool] = []
    bench: list[bool] = []
    for k, name in enumerate(ae.TUNING):
        clip = ae.load_clip(name, 30.0)
        for cond in CONDITIONS:
            x = ae.degrade(clip.audio["fluidr3"], cond, seed=k)
            ref = [(p, on + offset, e + offset, v) for p, on, e, v in clip.notes]
            rng = np.random.default_rng(k)
            for on, pitches in ae.chords(ref):
                if on >= len(x) / SR - 0.1:
                    continue
                d = min(pitches) + int(rng.choice([-2, -1, 1, 2]))
                while d in pitches:
                    d += 1
                protocol = [*sorted(pitches), d]
                extra = {
                    b + dd
                    for b in (min(pitches), max(pitches))
                    for dd in (-2, -1, 1, 2)
                    if b + dd not in pitches and b + dd != d
                }
                # Omissions: pitches the score might expect that were not played, away
                # from every played one.
                far = [
                    q
                    for q in range(min(pitches) - 12, max(pitches) + 13)
                    if min(abs(q - c) for c in pitches) >= 3
                ]
                extra |= {int(q) for q in rng.choice(far, size=min(2, len(far)), replace=False)}
                z = logits(x, round(on * SR))
                for p in [*protocol, *sorted(extra)]:
                    if not nf.PITCH_LOW <= p <= nf.PITCH_HIGH:
                        continue
                    expected = protocol if p in protocol else [*sorted(pitches), p]
                    xs.append(check_features(p, expected, z))
                    ys.append(p in pitches)
                    bench.append(p in protocol)
        print(f"  {name}: {len(ys)} rows", file=sys.stderr)
    return np.array(xs), np.array(ys), np.array(bench)


def f1(y: np.ndarray, said: np.ndarray) -> float:
    tp = int(np.sum(y & said))
    return 2 * tp / max(1, 2 * tp + int(np.sum(~y & said)) + int(np.sum(y & ~said)))


def main() -> int:
    from sklearn.linear_model import LogisticRegression

    x, y, bench = dataset()
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    logit = model.decision_function(x)
    grid = np.arange(-3.0, 1.001, 0.25)
    played = logit[y]
    for t in grid:
        print(
            f"  decision {t:+.2f}: F1 {f1(y[bench], logit[bench] >= t):.4f} (protocol), "
            f"recall {np.mean(played >= t):.4f}",
            file=sys.stderr,
        )
    # The strictest decision that still hears RECALL of the played pitches: the protocol's F1
    # alone would favour a lower one, which its single near-miss per chord does not punish
    # but omissions (an expected pitch not played, far from the others) would.
    best = max(float(t) for t in grid if np.mean(played >= t) >= RECALL)
    print(
        f"{len(y)} rows ({int(y.sum())} sounded); decision at logit {best:+.2f}: "
        f"F1 {f1(y[bench], logit[bench] >= best):.4f} on the protocol's rows",
        file=sys.stderr,
    )
    w = model.coef_[0]
    b = float(model.intercept_[0]) - best  # the decision at 0
    out = AUDIO / "check_weights.rs"
    out.write_text(
        "// Generated by engine/tools/train_check_model.py: do not edit.\n"
        f"// Logistic regression, {len(y)} rows ({int(y.sum())} sounded) from the 8 FluidR3 "
        "tuning performances in 4 conditions\n"
        "// Regenerate: /tmp/bench-audio/bin/python engine/tools/train_check_model.py\n\n"
        "/// Logits are clipped to ± this.\n"
        f"pub(crate) const LOGIT_CLIP: f64 = {LOGIT_CLIP!r};\n"
        "/// Weights of (own logit, and by how much it is exceeded by: the ±1 neighbours', the ±2\n"
        "/// neighbours', the other expected pitches' within 2 semitones).\n"
        f"pub(crate) const WEIGHTS: [f64; 4] = [{', '.join(repr(float(v)) for v in w)}];\n"
        "/// Bias, the decision threshold folded in (sounded at a logit ≥ 0).\n"
        f"pub(crate) const BIAS: f64 = {b!r};\n"
    )
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
