"""Offline note alignment on Vienna 4x22: ours beside parangonar's matchers, in one run.

For each of the 88 performances, every matcher gets the same score (the MusicXML file) and
the same performed notes (the performance inside the ``.match`` file, whose ids the ground
truth uses) and is scored against the ground-truth alignment:

* match F — (score id, performance id) pairs labelled match;
* missed F — score notes labelled deletion (ours: missed or wrong_pitch);
* extra F — performed notes labelled insertion (ours: extra or wrong_pitch);
* CPU time per performed note (``time.process_time``; the machine is shared).

Scope: score notes that appear in no ground-truth entry (32 unison doublings in Chopin op. 10
no. 3, see the data README) and unison doublings in general (two voices on one key at one
onset: one key press, which the ground truth sometimes calls a deletion, sometimes leaves out)
are left out of the score side, for every matcher alike.

Run (the anchors are benchmark-only dependencies, never the engine's)::

    uv run --extra bench-assess python -m bench.assess_eval            # all 88
    uv run --extra bench-assess python -m bench.assess_eval --limit 8  # 2 per piece
"""

from __future__ import annotations

import argparse
import collections
import csv
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from etude_engine import align
from etude_engine.scores import load_score

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "performances"

Alignment = list[dict[str, Any]]


def _ours(sd: Any, pn: Any) -> Alignment:
    a = align(
        sd.model,
        pn["pitch"].tolist(),
        pn["onset_sec"].tolist(),
        (pn["onset_sec"] + pn["duration_sec"]).tolist(),
        pn["velocity"].tolist(),
    )
    out: Alignment = []
    ids = sd.ids
    pids = pn["id"]
    for si, lab, pi, fin in zip(
        a.note_score_index, a.note_label, a.note_perf_index, a.note_is_final, strict=True
    ):
        if lab == "match":
            out.append({"label": "match", "score_id": ids[si], "performance_id": pids[pi]})
        elif fin:
            out.append({"label": "deletion", "score_id": ids[si]})
    for k, lab in enumerate(a.perf_label):
        if lab != "match":
            out.append({"label": "insertion", "performance_id": pids[k]})
    return out


def _anchors() -> dict[str, Callable[[Any, Any], Alignment]]:
    try:
        import parangonar as pa
    except ImportError:
        print("parangonar not installed: anchors skipped (uv run --extra bench-assess ...)")
        return {}
    dual = pa.DualDTWNoteMatcher()
    auto = pa.AutomaticNoteMatcher()

    def toltw(sna: Any, pna: Any) -> Alignment:
        return list(pa.TOLTWMatcher(sna).offline(pna))

    return {
        "parangonar DualDTW": lambda sna, pna: list(dual(sna, pna)),
        "parangonar Automatic": lambda sna, pna: list(auto(sna, pna)),
        "parangonar TOLTW": toltw,
    }


def _sets(al: Alignment, scope: set[str]) -> tuple[set[Any], set[Any], set[Any]]:
    m = {(a["score_id"], a["performance_id"]) for a in al if a["label"] == "match"}
    d = {a["score_id"] for a in al if a["label"] == "deletion"}
    i = {a["performance_id"] for a in al if a["label"] == "insertion"}
    # A matcher that matches a note outside the scope loses nothing; one that leaves a
    # performed note unmatched without calling it an insertion loses recall.
    return {x for x in m if x[0] in scope}, d & scope, i


def _f(c: collections.Counter[str], k: str) -> tuple[float, float, float]:
    tp, p, g = c[k + "tp"], c[k + "p"], c[k + "g"]
    pr = tp / p if p else 1.0
    rc = tp / g if g else 1.0
    return pr, rc, (2 * pr * rc / (pr + rc) if pr + rc else 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=0, help="performances per piece (0: all)")
    parser.add_argument("--no-anchors", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import partitura as pt

    rows = list(csv.DictReader((args.data / "manifest.csv").open()))
    if args.limit:
        per: collections.Counter[str] = collections.Counter()
        kept = []
        for r in rows:
            per[r["piece"]] += 1
            if per[r["piece"]] <= args.limit:
                kept.append(r)
        rows = kept
    matchers: dict[str, Callable[[Any, Any], Alignment]] = {}
    scores: dict[str, tuple[Any, Any]] = {}
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    cpu: dict[str, float] = collections.defaultdict(float)
    notes = 0
    anchors = {} if args.no_anchors else _anchors()
    for r in rows:
        if r["piece"] not in scores:
            path = args.data / r["score"]
            sna = pt.load_musicxml(str(path)).note_array(include_grace_notes=True)
            scores[r["piece"]] = (load_score(path), sna)
        sd, sna = scores[r["piece"]]
        perf, gt = pt.load_match(str(args.data / r["alignment"]))
        pn = perf.note_array()
        notes += len(pn)
        in_gt = {a["score_id"] for a in gt if "score_id" in a}
        doubled = {sd.ids[i] for i in range(len(sd)) if sd.model.primary(i) != i}
        scope = in_gt - doubled
        truth = _sets(gt, scope)

        def ours(_sna: Any, pna: Any, sd: Any = sd) -> Alignment:
            return _ours(sd, pna)

        matchers = {"etude": ours, **anchors}
        for name, fn in matchers.items():
            t0 = time.process_time()
            al = fn(sna, pn)
            cpu[name] += time.process_time() - t0
            got = _sets(al, scope)
            for key, g_set, p_set in zip("mdi", truth, got, strict=True):
                counts[name][key + "tp"] += len(g_set & p_set)
                counts[name][key + "p"] += len(p_set)
                counts[name][key + "g"] += len(g_set)
    print(f"{len(rows)} performances, {notes} performed notes, {len(scores)} pieces")
    print(
        f"{'matcher':<22} {'match F':>8} {'missed F':>9} {'(P / R)':>13} "
        f"{'extra F':>8} {'(P / R)':>13} {'µs/note':>9}"
    )
    for name in matchers:
        c = counts[name]
        _, _, mf = _f(c, "m")
        dp, dr, df = _f(c, "d")
        ip, ir, iff = _f(c, "i")
        us = cpu[name] / notes * 1e6
        print(
            f"{name:<22} {mf:8.4f} {df:9.4f} {dp:6.3f}/{dr:6.3f} {iff:8.4f} "
            f"{ip:6.3f}/{ir:6.3f} {us:9.1f}"
        )
    if "parangonar DualDTW" in cpu:
        ratio = cpu["parangonar DualDTW"] / max(cpu["etude"], 1e-9)
        print(f"etude CPU time: 1/{ratio:.0f} of DualDTW's")
    _ = np  # numpy arrays flow through; kept for type clarity
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
