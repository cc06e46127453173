"""Injected mistakes on Vienna 4x22: does the assessment find what was done to a performance?

Seeded perturbations of the real performances (the ``.match`` files' notes, whose ground truth
says which score note each one plays), at several rates ``r``:

* tempo drift: time is warped so the tempo slows steadily, by 20 % at the end;
* restarts: ``1 + int(20 r)`` times, the player stops before a note, goes back 1–3 bars to a
  bar start, plays the notes of those bars again (a copy of the original playing, 0.5 s later)
  and carries on; notes of replayed bars are "restarted notes";
* outside replayed bars, each matched note independently with probability ``r``: a wrong
  pitch (±1–2 semitones, not a pitch of the score within one quarter), an omission, or a
  single-note timing shift of ±80–200 ms; and after each note with probability ``r`` an
  inserted note (a pitch of the score within 2 quarters excluded) between it and the next.

Scored, over injected mistakes only (the performers' own ornaments and slips, which the
ground truth labels insertion/deletion or matches to a score note of another pitch, are left
out of both sides, and so is a note called extra because such an insertion took its score
note: the two swap roles (which strike of a key is the insertion is the annotator's call, and a
wrong note followed by the performer's strike of the right pitch reads as a slip corrected);
``bench/assess_eval.py`` scores those):

* wrong_pitch P/R: performed notes labelled wrong_pitch vs notes given a wrong pitch;
* missed P/R: score notes labelled missed vs notes omitted;
* extra P/R: performed notes labelled extra vs inserted notes;
* restarted: recall = restarted notes matched to their score note / restarted notes;
  precision = of the restarted notes labelled match, the share matched to the right note;
* timing: for each shifted note, (its timing deviation) − (the same note's deviation in the
  same perturbed performance without the shifts); share within ±20 ms of the injected shift.

Offline: ``etude_engine.align``. Online: ``ScoreFollower`` fed one note at a time (with its
revisions); it labels notes match or extra only, so its labels are derived the
way the offline aligner does: an extra note and a (primary) score note left unstruck in its onset
group or the next, within 2 semitones, make a wrong pitch, as many pairs as possible, the
cheapest (nearer the reported group, then nearer in time to the notes matched in the score
note's group, then in pitch); a score note never struck is missed.

Run::

    .venv/bin/python -m bench.mistakes_eval            # all 88, rates 0.02 0.05 0.1
    .venv/bin/python -m bench.mistakes_eval --limit 2  # 2 per piece
    .venv/bin/python -m bench.mistakes_eval --offline-only --seed 1 2 5 11  # + pooled
    .venv/bin/python -m bench.mistakes_eval --offline-only --rubato  # + the rubato guard
"""

from __future__ import annotations

import argparse
import collections
import csv
import time
import warnings
from bisect import bisect_left
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "performances"
RATES = (0.02, 0.05, 0.1)


@dataclass
class Item:
    pitch: int
    t: float
    dur: float
    vel: int
    sidx: int  # score note it plays (-1: none)
    kind: str  # "orig", "natural" (a ground-truth insertion), "replay", "inserted"
    wrong: bool = False
    shift: float = 0.0


def _rows(data: Path, limit: int) -> list[dict[str, str]]:
    rows = list(csv.DictReader((data / "manifest.csv").open()))
    if not limit:
        return rows
    per: collections.Counter[str] = collections.Counter()
    out = []
    for r in rows:
        per[r["piece"]] += 1
        if per[r["piece"]] <= limit:
            out.append(r)
    return out


def base_items(sd: Any, pn: Any, gt: list[dict[str, Any]]) -> list[Item]:
    idx = {s: i for i, s in enumerate(sd.ids)}
    matched = {a["performance_id"]: a["score_id"] for a in gt if a["label"] == "match"}
    order = np.lexsort((pn["pitch"], pn["onset_sec"]))
    items = []
    for i in order:
        sid = matched.get(pn["id"][i])
        s = idx.get(sid, -1) if sid is not None else -1
        if s >= 0 and int(sd.pitch[s]) != int(pn["pitch"][i]):
            s = -1  # matched to a note of another pitch: the performer's own wrong note
        items.append(
            Item(
                int(pn["pitch"][i]),
                float(pn["onset_sec"][i]),
                float(pn["duration_sec"][i]),
                int(pn["velocity"][i]),
                s,
                "orig" if s >= 0 else "natural",
            )
        )
    return items


def perturb(
    sd: Any, items: list[Item], rate: float, rng: np.random.Generator, restarts: bool = True
) -> tuple[list[Item], list[tuple[float, float]]]:
    """The perturbed performance and the replayed score ranges [q0, q1)."""
    q = sd.onset_q
    bar_starts = sorted({float(x) for x, b in zip(q, sd.beat, strict=True) if abs(b - 1) < 1e-9})
    items = [replace(it) for it in items]
    replayed: list[tuple[float, float]] = []
    n_restarts = 1 + int(20 * rate) if restarts else 0
    span = len(items) // (n_restarts + 1)
    for r in range(n_restarts):
        lo, hi = span * r + span // 2, span * (r + 1) + span // 2
        cands = [k for k in range(lo, min(hi, len(items))) if items[k].kind == "orig"]
        if not cands:
            continue
        k = int(rng.choice(cands))
        qk = float(q[items[k].sidx])
        j = bisect_left(bar_starts, qk - 1e-9)
        if j == 0:
            continue
        qb = bar_starts[max(0, j - int(rng.integers(1, 4)))]
        src = [
            it
            for it in items[:k]
            if it.kind == "orig" and qb <= float(q[it.sidx]) < qk and it.t > items[k].t - 60
        ]
        if len(src) < 4:
            continue
        t0 = min(it.t for it in src)
        offset = items[k].t + 0.5 - t0
        replay = [replace(it, t=it.t + offset, kind="replay") for it in src]
        for it in items[k:]:
            it.t += offset
        items = sorted(items[:k] + replay + items[k:], key=lambda it: (it.t, it.pitch))
        replayed.append((qb, qk))

    def in_replayed(s: int) -> bool:
        return any(a <= q[s] < b for a, b in replayed)

    # Tempo drift: slows steadily, 20 % slower at the end.
    t_end = max(it.t for it in items) or 1.0
    for it in items:
        it.t = it.t + 0.2 * it.t * it.t / (2 * t_end)
    out: list[Item] = []
    for n, it in enumerate(items):
        if it.kind == "orig" and not in_replayed(it.sidx):
            u = rng.random()
            near = set(sd.pitch[np.abs(q - q[it.sidx]) <= 1.0].tolist())
            if u < rate:
                deltas = [d for d in (-2, -1, 1, 2) if it.pitch + d not in near]
                if deltas:
                    it = replace(it, pitch=it.pitch + int(rng.choice(deltas)), wrong=True)
            elif u < 2 * rate:
                continue  # omitted
            elif u < 3 * rate:
                size = rng.uniform(0.08, 0.2) * (1 if rng.random() < 0.5 else -1)
                it = replace(it, shift=size)
        out.append(it)
        if it.kind in ("orig", "replay") and rng.random() < rate and n + 1 < len(items):
            gap = items[n + 1].t - it.t
            if gap >= 0.06 and it.sidx >= 0:
                near = set(sd.pitch[np.abs(q - q[it.sidx]) <= 2.0].tolist())
                pitches = [p for p in range(it.pitch - 12, it.pitch + 13) if p not in near]
                if pitches:
                    p = int(rng.choice(pitches))
                    t = it.t + rng.uniform(0.25, 0.75) * gap
                    out.append(Item(p, t, 0.1, 60, -1, "inserted"))
    out.sort(key=lambda it: (it.t + it.shift, it.pitch))
    return out, replayed


def _count(c: collections.Counter[str], key: str, truth: set[Any], pred: set[Any]) -> None:
    c[key + "tp"] += len(truth & pred)
    c[key + "p"] += len(pred)
    c[key + "g"] += len(truth)


def offline(sd: Any, items: list[Item], shifts: bool) -> Any:
    from etude_engine import align

    t = [it.t + (it.shift if shifts else 0.0) for it in items]
    return align(
        sd.model,
        [it.pitch for it in items],
        t,
        [x + it.dur for x, it in zip(t, items, strict=True)],
        [it.vel for it in items],
    )


def online(sd: Any, items: list[Item]) -> tuple[list[str], list[int]]:
    """Per performed note: label (match / wrong_pitch / extra) and score note (-1)."""
    from etude_engine import ScoreFollower

    f = ScoreFollower(sd.model)
    note = [-1] * len(items)
    pos: list[float | None] = [None] * len(items)
    for k, it in enumerate(items):
        s = f.push(it.pitch, it.t + it.shift, it.vel)
        note[k] = -1 if s.score_note is None else s.score_note
        pos[k] = s.score_q
        for j, n in s.revised:
            note[j] = n
            pos[j] = float(sd.onset_q[n])
        for j, q in s.revised_extra:
            note[j] = -1
            pos[j] = q
    struck = {n for n in note if n >= 0}
    onsets = np.unique(sd.onset_q)
    labels = ["match" if n >= 0 else "extra" for n in note]
    # Every (extra note, unstruck score note) pair in the window (the note's group and the next,
    # within 2 semitones); not first come first served (an inserted note played before a wrong
    # note would take the wrong note's score note).
    pairs: list[tuple[int, int, int, int]] = []
    for k, it in enumerate(items):
        q = pos[k]
        if note[k] >= 0 or q is None:  # (a pickup's positions are below 0)
            continue
        g = int(np.searchsorted(onsets, q - 1e-9))
        window = onsets[g : g + 2]
        # A unison doubling is one key: its primary note stands for it (the follower reports
        # primaries, and only primaries count as missed).
        for i in np.where(np.isin(sd.onset_q, window))[0].tolist():
            d = abs(int(sd.pitch[i]) - it.pitch)
            if sd.model.primary(i) == i and i not in struck and d <= 2:
                step = int(np.searchsorted(onsets, sd.onset_q[i] - 1e-9)) - g
                pairs.append((step, d, k, i))
    # As many pairs as the window allows (a greedy pairing can leave a wrong note unpaired when
    # another extra note took its score note but had another one to take), then the cheapest:
    # nearer the reported group, then struck with the notes matched in the score note's group (a
    # wrong note in a chord comes with it; an inserted note falls between chords), then nearer
    # in pitch. Only what the follower reported and the performed times are used.
    if pairs:
        from scipy.optimize import linear_sum_assignment

        at: dict[float, list[float]] = collections.defaultdict(list)
        for k, n in enumerate(note):
            if n >= 0:
                at[float(sd.onset_q[n])].append(items[k].t + items[k].shift)
        ks = sorted({k for _, _, k, _ in pairs})
        is_ = sorted({i for _, _, _, i in pairs})
        row = {k: r for r, k in enumerate(ks)}
        col = {i: c for c, i in enumerate(is_)}
        big = 1e6
        cost = np.full((len(ks), len(is_)), big)
        for step, d, k, i in pairs:
            ts = at.get(float(sd.onset_q[i]))
            t = items[k].t + items[k].shift
            dt = min(min(abs(t - x) for x in ts), 0.3) / 0.1 if ts else 0.0
            r, c = row[k], col[i]
            cost[r, c] = min(cost[r, c], 10.0 * step + dt + d)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if cost[r, c] < big:
                labels[ks[r]] = "wrong_pitch"
                note[ks[r]] = is_[c]
    return labels, note


def _print_table(
    title: str,
    counts: dict[tuple[int, float, str], collections.Counter[str]],
    timing: dict[tuple[int, float], list[float]],
    rates: list[float],
    shown: tuple[str, ...],
    seeds: list[int],
) -> None:
    print(title)
    print(
        f"{'rate':>5} {'system':<7} {'wrong_pitch P/R':>16} {'missed P/R':>14} "
        f"{'extra P/R':>14} {'restarted P/R':>15} {'timing ±20 ms':>14}"
    )
    for rate in rates:
        for system in shown:
            c: collections.Counter[str] = collections.Counter()
            for seed in seeds:
                c.update(counts[(seed, rate, system)])

            def pr(key: str, c: collections.Counter[str] = c) -> str:
                p = c[key + "tp"] / c[key + "p"] if c[key + "p"] else 1.0
                rc = c[key + "tp"] / c[key + "g"] if c[key + "g"] else 1.0
                return f"{p:.3f}/{rc:.3f}"

            errs = np.abs(np.concatenate([np.asarray(timing[(s, rate)]) for s in seeds]))
            tim = f"{np.mean(errs <= 0.02):.3f} (n={len(errs)})" if system == "offline" else "—"
            print(
                f"{rate:5.2f} {system:<7} {pr('wrong'):>16} {pr('missed'):>14} "
                f"{pr('extra'):>14} {pr('restart_'):>15} {tim:>14}"
            )


def _stand_ins(items: list[Item], natural: set[int], labels: Any, sidx: Any) -> set[int]:
    """Notes called extra because a performer's own extra strike (a ground-truth insertion) was
    matched to their score note: the two swap roles. Which of two strikes of one key is "the"
    note and which the insertion is the annotator's call; and a note given a wrong pitch by the
    injection, with the right pitch struck just after it by the performer, reads as a wrong note
    corrected (extra, then the match). The performer's insertions are left out of the scores, so
    these notes are too."""
    taken = {int(sidx[k]) for k in natural if labels[k] == "match" and int(sidx[k]) >= 0}
    return {
        k
        for k, it in enumerate(items)
        if labels[k] == "extra" and it.kind == "orig" and it.sidx in taken
    }


def _same_key(sd: Any, a: int, b: int) -> bool:
    """Score notes ``a`` and ``b`` are one key press: the same note, or unison doublings of it
    (the ground truth names either; the follower reports the primary)."""
    return a >= 0 and b >= 0 and sd.model.primary(a) == sd.model.primary(b)


def _where(sd: Any, i: int) -> str:
    return f"s{i}(q={float(sd.onset_q[i]):.2f} p={int(sd.pitch[i])})"


def _item(items: list[Item], k: int, a: Any) -> str:
    it = items[k]
    tag = it.kind + ("/wrong" if it.wrong else "") + (f"/shift{it.shift:+.2f}" if it.shift else "")
    return (
        f"#{k} t={it.t + it.shift:.3f} p={it.pitch} {tag} truth=s{it.sidx} "
        f"-> {a.perf_label[k]} s{int(a.perf_score_index[k])} seg{int(a.perf_segment[k])}"
    )


def _context(items: list[Item], a: Any, centre: int, width: int = 4) -> None:
    for k in range(max(0, centre - width), min(len(items), centre + width + 1)):
        print(("   > " if k == centre else "     ") + _item(items, k, a))


def _trace(
    kinds: list[str],
    row: dict[str, str],
    rate: float,
    sd: Any,
    items: list[Item],
    replayed: list[tuple[float, float]],
    a: Any,
    omitted: set[int],
    inserted: set[int],
    natural: set[int],
) -> None:
    """Prints each offline false missed / extra note with its neighbourhood."""
    head = f"[{row['piece']} {row['pianist']} r={rate}] restarts={replayed}"
    if "missed" in kinds:
        passes: dict[int, list[str]] = collections.defaultdict(list)
        for si, lab, seg, f in zip(
            a.note_score_index, a.note_label, a.note_segment, a.note_is_final, strict=True
        ):
            passes[int(si)].append(f"{lab}@seg{int(seg)}{'*' if f else ''}")
        by_s = {it.sidx: k for k, it in enumerate(items) if it.sidx >= 0 and it.kind == "orig"}
        for si, lab, f in zip(a.note_score_index, a.note_label, a.note_is_final, strict=True):
            si = int(si)
            if not f or lab != "missed" or si in omitted or si not in by_s:
                continue
            if any(x <= sd.onset_q[si] < y for x, y in replayed):
                continue
            print(f"FALSE MISSED {head} {_where(sd, si)} passes={passes[si]}")
            _context(items, a, by_s[si])
    if "extra" in kinds:
        final = {
            int(si): lab
            for si, lab, f in zip(a.note_score_index, a.note_label, a.note_is_final, strict=True)
            if f
        }
        tq, ts, tseg = (np.asarray(a.tempo[c]) for c in ("score_q", "time_s", "segment"))
        stand_ins = _stand_ins(items, natural, a.perf_label, a.perf_score_index)
        for k, lab in enumerate(a.perf_label):
            if lab == "extra" and k not in inserted | natural | stand_ins:
                it = items[k]
                note = ""
                if it.sidx >= 0:
                    sel = tseg == int(a.perf_segment[k])
                    pred = (
                        float(np.interp(sd.onset_q[it.sidx], tq[sel], ts[sel])) if sel.any() else 0
                    )
                    note = (
                        f" truth {_where(sd, it.sidx)} is {final.get(it.sidx)}, "
                        f"its line time {pred:.3f} ({(it.t + it.shift - pred) * 1000:+.0f} ms)"
                    )
                print(f"FALSE EXTRA {head}{note}")
                _context(items, a, k)
    if "restart" in kinds:
        for k, it in enumerate(items):
            if it.kind == "replay" and not (
                a.perf_label[k] == "match" and _same_key(sd, int(a.perf_score_index[k]), it.sidx)
            ):
                print(f"RESTART MISS {head}")
                _context(items, a, k)


def _trace_online(
    kinds: list[str],
    row: dict[str, str],
    rate: float,
    sd: Any,
    items: list[Item],
    replayed: list[tuple[float, float]],
    labels: list[str],
    note: list[int],
    missed: set[int],
    omitted: set[int],
    wrong: set[int],
    inserted: set[int],
    natural: set[int],
) -> None:
    """Prints each online false missed / extra / wrong pitch / replayed miss with its context."""
    head = f"[{row['piece']} {row['pianist']} r={rate}] restarts={replayed}"

    def show(centre: int, width: int = 5) -> None:
        for k in range(max(0, centre - width), min(len(items), centre + width + 1)):
            it = items[k]
            tag = (
                it.kind
                + ("/wrong" if it.wrong else "")
                + (f"/shift{it.shift:+.2f}" if it.shift else "")
            )
            truth = _where(sd, it.sidx) if it.sidx >= 0 else "-"
            got = _where(sd, note[k]) if note[k] >= 0 else "-"
            print(
                ("   > " if k == centre else "     ")
                + f"#{k} t={it.t + it.shift:.3f} p={it.pitch} {tag} truth={truth} "
                f"-> {labels[k]} {got}"
            )

    if "missed" in kinds:
        by_s = {it.sidx: k for k, it in enumerate(items) if it.sidx >= 0 and it.kind == "orig"}
        for si in sorted(missed - omitted):
            if si not in by_s:
                continue
            print(f"FALSE MISSED {head} {_where(sd, si)}")
            show(by_s[si])
    for kind, lab, truth in (("extra", "extra", inserted), ("wrong", "wrong_pitch", wrong)):
        if kind in kinds:
            for k, got in enumerate(labels):
                if got == lab and k not in truth and k not in natural:
                    print(f"FALSE {kind.upper()} {head}")
                    show(k)
    if "restart" in kinds:
        for k, it in enumerate(items):
            if it.kind == "replay" and labels[k] == "match" and not _same_key(sd, note[k], it.sidx):
                print(f"RESTART WRONG {head}")
                show(k)


def _trace_timing(
    row: dict[str, str],
    rate: float,
    sd: Any,
    items: list[Item],
    it: Item,
    a: Any,
    b: Any,
    err: float,
) -> None:
    k = items.index(it)
    print(f"TIMING err={err * 1000:+.0f} ms [{row['piece']} r={rate}] {_where(sd, it.sidx)}")
    _context(items, a, k, 3)


def _deviations(al: Any) -> dict[int, float]:
    """Timing deviation of each score note's final pass, where it has one."""
    return {
        int(si): float(d)
        for si, d, f in zip(
            al.note_score_index, al.note_timing_dev_s, al.note_is_final, strict=True
        )
        if f and d == d
    }


def _abs_deviations(al: Any) -> list[float]:
    return [abs(d) for d in _deviations(al).values()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=0, help="performances per piece (0: all)")
    parser.add_argument(
        "--seed",
        type=int,
        nargs="+",
        default=[5],
        help="one table per seed, and the counts pooled when there are several",
    )
    parser.add_argument("--rates", type=float, nargs="+", default=list(RATES))
    parser.add_argument("--no-restarts", action="store_true", help="note-level mistakes only")
    parser.add_argument(
        "--offline-only", action="store_true", help="skip the online follower (diagnostics)"
    )
    parser.add_argument(
        "--online-only", action="store_true", help="skip the offline aligner (iterating)"
    )
    parser.add_argument(
        "--trace-online",
        choices=("missed", "extra", "wrong", "restart"),
        action="append",
        default=[],
        help="print the online false positives of this kind, note by note (diagnostics)",
    )
    parser.add_argument(
        "--trace",
        choices=("missed", "extra", "timing", "restart"),
        action="append",
        default=[],
        help="print the offline false positives of this kind, note by note (diagnostics)",
    )
    parser.add_argument(
        "--rubato",
        action="store_true",
        help="also print the median |timing deviation| of the 88 takes as played (no mistakes)",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import partitura as pt

    from etude_engine.scores import load_score

    rows = _rows(args.data, args.limit)
    scores: dict[str, Any] = {}
    counts: dict[tuple[int, float, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    timing: dict[tuple[int, float], list[float]] = collections.defaultdict(list)
    rubato: list[float] = []
    started = time.time()
    for n, r in enumerate(rows):
        if r["piece"] not in scores:
            scores[r["piece"]] = load_score(args.data / r["score"])
        sd = scores[r["piece"]]
        perf, gt = pt.load_match(str(args.data / r["alignment"]))
        base = base_items(sd, perf.note_array(), gt)
        deleted = {sd.ids.index(a["score_id"]) for a in gt if a["label"] == "deletion"} | {
            i for i in range(len(sd)) if sd.model.primary(i) != i
        }
        if args.rubato:
            rubato += _abs_deviations(offline(sd, base, shifts=False))
        for seed, rate in [(seed, rate) for seed in args.seed for rate in args.rates]:
            rng = np.random.default_rng([seed, n, int(rate * 1000)])
            items, replayed = perturb(sd, base, rate, rng, not args.no_restarts)
            in_rep = np.zeros(len(sd), dtype=bool)
            for a, b in replayed:
                in_rep |= (sd.onset_q >= a) & (sd.onset_q < b)
            played = {it.sidx for it in items if it.sidx >= 0 and not it.wrong}
            base_s = {it.sidx for it in base}
            scope = [
                i for i in range(len(sd)) if not in_rep[i] and i not in deleted and i in base_s
            ]
            wrong_s = {it.sidx for it in items if it.wrong}
            omitted = {i for i in scope if i not in played and i not in wrong_s}
            wrong = {k for k, it in enumerate(items) if it.wrong}
            inserted = {k for k, it in enumerate(items) if it.kind == "inserted"}
            natural = {k for k, it in enumerate(items) if it.kind == "natural"}
            replay = [k for k, it in enumerate(items) if it.kind == "replay"]
            scope_set = set(scope)

            systems: list[tuple[str, Any, Any, set[int]]] = []
            if not args.online_only:
                a = offline(sd, items, shifts=True)
                fin = {
                    int(si): lab
                    for si, lab, f in zip(
                        a.note_score_index, a.note_label, a.note_is_final, strict=True
                    )
                    if f
                }
                systems.append(
                    (
                        "offline",
                        a.perf_label,
                        a.perf_score_index,
                        {i for i in scope if fin.get(i) == "missed"},
                    )
                )
            if not args.offline_only:
                on_labels, on_note = online(sd, items)
                on_missed = {i for i in scope if i not in set(on_note)}
                systems.append(("online", on_labels, on_note, on_missed))
                if args.trace_online:
                    _trace_online(
                        args.trace_online,
                        r,
                        rate,
                        sd,
                        items,
                        replayed,
                        on_labels,
                        on_note,
                        on_missed,
                        omitted,
                        wrong,
                        inserted,
                        natural,
                    )
            if args.trace and not args.online_only:
                _trace(args.trace, r, rate, sd, items, replayed, a, omitted, inserted, natural)
            for system, labels, sidx, missed_pred in systems:
                c = counts[(seed, rate, system)]
                stand_ins = _stand_ins(items, natural, labels, sidx)
                pred_wrong = {k for k, lab in enumerate(labels) if lab == "wrong_pitch"} - natural
                pred_extra = {k for k, lab in enumerate(labels) if lab == "extra"} - natural
                pred_extra -= stand_ins
                _count(c, "wrong", wrong - stand_ins, pred_wrong)
                _count(c, "extra", inserted, pred_extra)
                _count(c, "missed", omitted, missed_pred & scope_set)
                ok = sum(
                    1
                    for k in replay
                    if labels[k] == "match" and _same_key(sd, int(sidx[k]), items[k].sidx)
                )
                called = sum(1 for k in replay if labels[k] == "match")
                c["restart_tp"] += ok
                c["restart_p"] += called
                c["restart_g"] += len(replay)
            if args.online_only:
                continue
            # Timing: the same perturbed performance without the shifts.
            b = offline(sd, items, shifts=False)

            da, db = _deviations(a), _deviations(b)
            for it in items:
                if it.shift and it.sidx in da and it.sidx in db:
                    err = da[it.sidx] - db[it.sidx] - it.shift
                    timing[(seed, rate)].append(err)
                    if "timing" in args.trace and abs(err) > 0.02:
                        _trace_timing(r, rate, sd, items, it, a, b, err)
    shown: tuple[str, ...] = ("offline", "online")
    if args.offline_only:
        shown = ("offline",)
    elif args.online_only:
        shown = ("online",)
    print(f"{len(rows)} performances × rates {args.rates} ({time.time() - started:.0f} s)")
    for seed in args.seed:
        _print_table(f"seed {seed}", counts, timing, args.rates, shown, [seed])
    if len(args.seed) > 1:
        _print_table("pooled over the seeds", counts, timing, args.rates, shown, args.seed)
    if rubato:
        # How closely the deviation line follows real rubato: a line that ignored the player's
        # tempo changes would score well on shifted notes and put every real note off it.
        print(
            f"rubato guard: median |timing deviation| of the takes as played "
            f"{np.median(rubato) * 1000:.1f} ms (n={len(rubato)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
