"""Online score following on Vienna 4x22: ours beside pymatchmaker, in one printed table.

Each performance's notes (from the ``.match`` file, the ids the ground truth uses) are fed one
at a time, in order of onset then pitch, to a causal follower of the MusicXML score. After each
note the follower's reported score position is compared with the ground truth:

* a performed note the ground truth matches to score note ``n``: right when the reported
  position is ``n``'s onset (same onset, in partitura's ``onset_beat``);
* an inserted note (ornament notes, slips): right when the reported position is within one beat
  of the onset of the score note matched by the last matched note played before it.

CPU: ``time.process_time`` spent in the per-note calls, divided by the notes (the machine is
shared). Ours is also scored "with revisions": when the follower jumps (a restart) it re-matches
the notes it had lost; those count with their revised position.

pymatchmaker pins numpy<2, so it runs in a venv of its own (see bench/README.md); this script
runs itself there with ``--anchor`` in a subprocess and prints both in one table::

    .venv/bin/python -m bench.follow_eval                       # all 88, anchor if available
    .venv/bin/python -m bench.follow_eval --limit 2 --no-anchor
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "performances"
ANCHOR_PYTHON = Path("/tmp/bench-follow/bin/python")


def _rows(data: Path, limit: int) -> list[dict[str, str]]:
    rows = list(csv.DictReader((data / "manifest.csv").open()))
    if not limit:
        return rows
    per: collections.Counter[str] = collections.Counter()
    kept = []
    for r in rows:
        per[r["piece"]] += 1
        if per[r["piece"]] <= limit:
            kept.append(r)
    return kept


def truth(sna: Any, pn: Any, gt: list[dict[str, Any]]) -> tuple[Any, Any, Any]:
    """Playing order, and per performed note (in that order) the true beat and insertion flag."""
    beat_of = {n["id"]: float(n["onset_beat"]) for n in sna}
    order = np.lexsort((pn["pitch"], pn["onset_sec"]))
    matched = {a["performance_id"]: a["score_id"] for a in gt if a["label"] == "match"}
    beats = np.full(len(order), np.nan)
    inserted = np.zeros(len(order), dtype=bool)
    last = np.nan
    for k, i in enumerate(order):
        sid = matched.get(pn["id"][i])
        if sid is not None and sid in beat_of:
            last = beat_of[sid]
            beats[k] = last
        else:
            inserted[k] = True
            beats[k] = last
    # Insertions before any match: the first matched note's onset.
    first = beats[~inserted][0] if (~inserted).any() else 0.0
    beats[np.isnan(beats)] = first
    return order, beats, inserted


def right(reported: Any, beats: Any, inserted: Any) -> int:
    rep = np.asarray(reported, dtype=float)
    ok_match = ~inserted & (np.abs(rep - beats) < 1e-6)
    ok_ins = inserted & (np.abs(rep - beats) <= 1.0 + 1e-9)
    return int(np.sum(ok_match | ok_ins))


def run_ours(rows: list[dict[str, str]], data: Path) -> dict[str, list[float]]:
    import partitura as pt

    from etude_engine import ScoreFollower
    from etude_engine.scores import load_score

    out: dict[str, list[float]] = {"etude": [0, 0, 0.0], "etude, with revisions": [0, 0, 0.0]}
    scores: dict[str, tuple[Any, Any, dict[float, float]]] = {}
    for r in rows:
        if r["piece"] not in scores:
            path = data / r["score"]
            sd = load_score(path)
            sna = pt.load_musicxml(str(path)).note_array(include_grace_notes=True)
            beat_by_id = {n["id"]: float(n["onset_beat"]) for n in sna}
            q_to_beat = {float(q): beat_by_id[i] for q, i in zip(sd.onset_q, sd.ids, strict=True)}
            scores[r["piece"]] = (sd, sna, q_to_beat)
        sd, sna, q_to_beat = scores[r["piece"]]
        perf, gt = pt.load_match(str(data / r["alignment"]))
        pn = perf.note_array()
        order, beats, inserted = truth(sna, pn, gt)
        follower = ScoreFollower(sd.model)
        pitches = pn["pitch"][order].tolist()
        onsets = pn["onset_sec"][order].tolist()
        vels = pn["velocity"][order].tolist()
        steps = []
        t0 = time.process_time()
        for p, t, v in zip(pitches, onsets, vels, strict=True):
            steps.append(follower.push(p, t, v))
        cpu = time.process_time() - t0
        rep = [q_to_beat.get(s.score_q, np.nan) if s.score_q is not None else np.nan for s in steps]
        revised = list(rep)
        for s in steps:
            for k, note in s.revised:
                revised[k] = q_to_beat[float(sd.onset_q[note])]
        for name, reported in (("etude", rep), ("etude, with revisions", revised)):
            out[name][0] += right(reported, beats, inserted)
            out[name][1] += len(order)
            out[name][2] += cpu
    return out


def run_anchor(rows: list[dict[str, str]], data: Path) -> dict[str, list[float]]:
    """pymatchmaker's symbolic followers, stepped one performed note at a time."""
    import partitura as pt
    from matchmaker.prob.hmm import PitchHMM

    out: dict[str, list[float]] = {"pymatchmaker PitchHMM (pthmm, default)": [0, 0, 0.0]}
    scores: dict[str, Any] = {}
    for r in rows:
        if r["piece"] not in scores:
            scores[r["piece"]] = pt.load_musicxml(str(data / r["score"])).note_array(
                include_grace_notes=True
            )
        sna = scores[r["piece"]]
        perf, gt = pt.load_match(str(data / r["alignment"]))
        pn = perf.note_array()
        order, beats, inserted = truth(sna, pn, gt)
        name = "pymatchmaker PitchHMM (pthmm, default)"
        hmm = PitchHMM(reference_features=sna, has_insertions=True, piano_range=True)
        positions = hmm.score_positions
        rep = []
        t0 = time.process_time()
        for p in pn["pitch"][order]:
            obs = np.zeros(88, dtype=np.float32)
            obs[int(p) - 21] = 1.0
            hmm.step(obs)
            rep.append(float(positions[hmm.current_index]))
        out[name][2] += time.process_time() - t0
        out[name][0] += right(rep, beats, inserted)
        out[name][1] += len(order)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=0, help="performances per piece (0: all)")
    parser.add_argument("--no-anchor", action="store_true")
    parser.add_argument("--anchor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--anchor-python", type=Path, default=ANCHOR_PYTHON)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = _rows(args.data, args.limit)
    if args.anchor:
        print(json.dumps(run_anchor(rows, args.data)))
        return 0
    results = run_ours(rows, args.data)
    if not args.no_anchor:
        if args.anchor_python.exists():
            cmd = [str(args.anchor_python), __file__, "--anchor", "--data", str(args.data)]
            cmd += ["--limit", str(args.limit)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode == 0:
                results.update(json.loads(done.stdout.strip().splitlines()[-1]))
            else:
                print(f"anchor failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        else:
            print(f"no anchor venv at {args.anchor_python}: anchor skipped", file=sys.stderr)
    notes = int(results["etude"][1])
    print(f"{len(rows)} performances, {notes} performed notes")
    print(f"{'follower':<42} {'right positions':>16} {'µs/note':>9}")
    for name, (ok, n, cpu) in results.items():
        print(f"{name:<42} {ok / n:16.4f} {cpu / n * 1e6:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
