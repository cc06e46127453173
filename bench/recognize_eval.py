"""Piece recognition on Vienna 4x22 among hundreds of distractor scores.

Library: the 4 Vienna 4x22 scores (MusicXML) plus ``--distractors`` scores from music21's
bundled corpus (MusicXML and Humdrum files, shuffled with the seed, those of ≥ 40 notes parsed
with music21 and written as MIDI files into a cache folder by ``--prepare``, which needs
music21: run it with the bench venv's Python); the library folder holds symlinks to the first
``--distractors`` of them by name.

Queries: ``--per-performance`` seeded random start points in each of the 88 performances; a
query is the performance from the start point on (the notes of the ``.match`` file's
performance, sorted by onset, then pitch; times as played), of which ``identify`` looks up
the first ``QUERY_NOTES`` (40), or more when the passage returns elsewhere in the piece.

* **right**: the right piece, and the reported bar holds a score note that the ground truth
  matches to one of the performed notes ``start … start + 9`` (the bar "within 10 notes");
* **right, repeat passes as one**: the same, a note and its repeat (partitura's ``-1``/``-2``
  ids of one printed note) counting as one note;
* **piece right**: the right piece, whatever the bar;
* **unknown when held out**: each Vienna piece in turn is taken out of the library and its
  performances' queries are asked again: the share answered "unknown" (the rest name a wrong
  piece);
* ms per query (``identify``: the index look-ups and the verification), index build time cold
  (every score parsed) and warm (notes from the cache, the index rebuilt);
* ``--variants``: a scale test, the inversion, retrograde and retrograde inversion of every
  distractor added as further pieces (4× the distractors).

Run::

    /tmp/bench-assess/bin/python -m bench.recognize_eval --prepare   # once: music21 → MIDI
    .venv/bin/python -m bench.recognize_eval --cold                   # the figures
    .venv/bin/python -m bench.recognize_eval --variants               # 2,004 pieces
"""

from __future__ import annotations

import argparse
import collections
import csv
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "performances"
CACHE = Path(tempfile.gettempdir()) / "etude-recognize-bench"


def prepare(out: Path, count: int, seed: int) -> None:
    """Writes `count` music21 corpus scores (≥ 40 notes each) as MIDI files into `out`."""
    from music21 import converter, corpus

    out.mkdir(parents=True, exist_ok=True)
    paths = sorted(
        str(p) for p in corpus.getPaths() if str(p).endswith((".mxl", ".xml", ".musicxml", ".krn"))
    )
    random.Random(seed).shuffle(paths)
    done = 0
    for p in paths:
        if done >= count:
            break
        dst = out / f"{Path(p).parent.name}__{Path(p).stem}.mid"
        if dst.exists():
            done += 1
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = converter.parse(p)
                if len(s.flatten().notes) < 40:
                    continue
                s.write("midi", fp=str(dst))
            done += 1
        except Exception as exc:  # music21 raises many kinds on odd corpus files
            print(f"skipped {p}: {type(exc).__name__}", file=sys.stderr)
    print(f"{done} distractor MIDI files in {out}")


def _base(note_id: str) -> str:
    """A partitura note id without its repeat-pass suffix (``n7-2`` → ``n7``)."""
    head, sep, tail = note_id.rpartition("-")
    return head if sep and tail.isdigit() else note_id


def _with_variants(lib: Any) -> Any:
    """`lib` plus three made-up variants of each distractor (new pieces with real statistics)."""
    import dataclasses

    import numpy as np

    from etude_engine.recognize import LibraryPiece

    pieces, notes = list(lib.pieces), list(lib.notes)
    for piece, (pitch, onset, bar) in zip(lib.pieces, lib.notes, strict=True):
        if not piece.name.startswith("distractors/"):
            continue
        pitch, onset, bar = np.asarray(pitch), np.asarray(onset), np.asarray(bar)
        inverted = np.clip(120 - pitch, 0, 127)
        back = onset.max() - onset
        for tag, p, o in (("inv", inverted, onset), ("ret", pitch, back), ("ri", inverted, back)):
            pieces.append(dataclasses.replace(piece, name=f"{piece.name}~{tag}"))
            notes.append((p, o, bar))
    assert all(isinstance(p, LibraryPiece) for p in pieces)
    big = dataclasses.replace(lib, pieces=pieces, notes=notes)
    return big.without(set())


def _library_folder(distractors: Path, count: int) -> Path:
    """A folder of symlinks: the 4 Vienna scores and the first `count` distractors."""
    lib = CACHE / f"library-{count}"
    (lib / "vienna").mkdir(parents=True, exist_ok=True)
    (lib / "distractors").mkdir(parents=True, exist_ok=True)
    for p in sorted((DATA / "vienna4x22" / "musicxml").glob("*.musicxml")):
        link = lib / "vienna" / p.name
        if not link.exists():
            link.symlink_to(p)
    files = sorted(distractors.glob("*.mid"))[:count]
    if len(files) < count:
        sys.exit(f"only {len(files)} distractors in {distractors}: run --prepare first")
    chosen = {p.name for p in files}
    for link in (lib / "distractors").iterdir():
        if link.name not in chosen:
            link.unlink()
    for p in files:
        link = lib / "distractors" / p.name
        if not link.exists():
            link.symlink_to(p)
    return lib


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prepare", action="store_true", help="write distractor MIDI (music21)")
    ap.add_argument("--distractors", type=int, default=500)
    ap.add_argument("--distractor-dir", type=Path, default=CACHE / "distractors")
    ap.add_argument("--per-performance", type=int, default=10)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--query-notes", type=int, default=0, help="default: QUERY_NOTES")
    ap.add_argument("--cold", action="store_true", help="also time a build with no cache")
    ap.add_argument(
        "--variants",
        action="store_true",
        help="scale test: add the inversion, retrograde and retrograde inversion of every "
        "distractor (4× the distractors)",
    )
    ap.add_argument(
        "--no-take-length",
        action="store_true",
        help="do not break ties between repeated passes by the notes the take has left "
        "(identify(whole_take=False): the first pass is named)",
    )
    args = ap.parse_args()
    whole = not args.no_take_length
    if args.prepare:
        prepare(args.distractor_dir, args.distractors + 100, args.seed)
        return

    import partitura as pt

    from etude_engine.recognize import (
        MIN_CONFIDENCE,
        QUERY_NOTES,
        identify,
        load_library,
        tty_progress,
    )
    from etude_engine.scores import load_score, performance_from_notes

    qn = args.query_notes or QUERY_NOTES
    folder = _library_folder(args.distractor_dir, args.distractors)
    cache_dir = CACHE / "index-cache"
    progress = tty_progress if sys.stderr.isatty() else None
    if args.cold:
        t0 = time.perf_counter()
        load_library(folder, cache_dir=cache_dir, use_cache=False, progress=progress)
        print(f"cold build (parse every score): {time.perf_counter() - t0:.1f} s")
    lib = load_library(folder, cache_dir=cache_dir, progress=progress)
    if lib.parsed:
        print(f"built (parsed {lib.parsed} scores): {lib.build_s:.1f} s")
    lib = load_library(folder, cache_dir=cache_dir)
    keys, postings = lib.index.size
    print(
        f"library: {len(lib)} pieces ({len(lib.skipped)} unreadable skipped), "
        f"{keys} keys, {postings} postings; warm load (cache + index): {lib.build_s * 1000:.0f} ms"
    )
    if args.variants:
        lib = _with_variants(lib)
        print(
            f"with inverted / retrograde variants of every distractor: {len(lib)} pieces, "
            f"index built in {lib.build_s * 1000:.0f} ms"
        )
    held = {p.name: lib.without({p.name}) for p in lib.pieces if p.name.startswith("vienna/")}

    rng = random.Random(args.seed)
    rows = list(csv.DictReader((DATA / "manifest.csv").open()))
    bars_of: dict[str, dict[str, int]] = {}
    # Unfolded bar → partitura ids without the repeat-pass suffix (the notes on the page).
    pages_of: dict[str, dict[int, set[str]]] = {}
    # Per query: (right piece and bar, right piece, confidence, held-out confidence).
    results: list[tuple[str, bool, bool, float, float, bool]] = []
    times: list[float] = []
    used: list[int] = []
    for r in rows:
        name = f"vienna/{Path(r['score']).name}"
        if name not in bars_of:
            sd = load_score(DATA / r["score"])
            bars_of[name] = {i: int(b) for i, b in zip(sd.ids, sd.bar, strict=True)}
            page_of = collections.defaultdict(set)
            for i, b in zip(sd.ids, sd.bar, strict=True):
                page_of[int(b)].add(_base(i))
            pages_of[name] = page_of
        bar_of = bars_of[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            perf, gt = pt.load_match(str(DATA / r["alignment"]))
        pn = perf.note_array()
        pn = pn[sorted(range(len(pn)), key=lambda i: (pn["onset_sec"][i], pn["pitch"][i]))]
        matched = {a["performance_id"]: a["score_id"] for a in gt if a["label"] == "match"}
        for _ in range(args.per_performance):
            s = rng.randrange(0, len(pn) - qn)
            # The rest of the take: identify reads at most MAX_QUERY_NOTES of it, and how
            # many notes the take has left breaks ties between repeated passes.
            q = pn[s:]
            want = {
                bar_of[matched[pid]]
                for pid in q["id"][:10]
                if pid in matched and matched[pid] in bar_of
            }
            if not want:
                continue
            want_page = {_base(matched[pid]) for pid in q["id"][:10] if pid in matched}
            perf_q = performance_from_notes(
                q["pitch"], q["onset_sec"], q["onset_sec"] + q["duration_sec"], q["velocity"]
            )
            t0 = time.perf_counter()
            got = identify(perf_q, lib, min_confidence=0.0, query_notes=qn, whole_take=whole)
            times.append(time.perf_counter() - t0)
            used.append(got["notes_used"])
            ok_piece = got["piece"] == name
            out = identify(perf_q, held[name], min_confidence=0.0, query_notes=qn, whole_take=whole)
            on_page = ok_piece and bool(pages_of[name].get(got["bar"], set()) & want_page)
            results.append(
                (
                    name,
                    bool(ok_piece and got["bar"] in want),
                    bool(ok_piece),
                    float(got["confidence"]),
                    float(out["confidence"]),
                    bool(on_page),
                )
            )
    n = len(results)
    print(f"queries: {n} ({args.per_performance} per performance, {qn} notes each)")

    def figures(cut: float) -> tuple[float, float, float, float, float]:
        right = sum(r[1] and r[3] >= cut for r in results) / n
        page = sum(r[5] and r[3] >= cut for r in results) / n
        piece = sum(r[2] and r[3] >= cut for r in results) / n
        unknown = sum(r[3] < cut for r in results) / n
        held_unknown = sum(r[4] < cut for r in results) / n
        return right, page, piece, unknown, held_unknown

    right, page, piece, unknown, held_unknown = figures(MIN_CONFIDENCE)
    print(f"at MIN_CONFIDENCE = {MIN_CONFIDENCE}:")
    print(f"  right piece and bar within 10 notes: {right:.3f}")
    print(f"  ... repeat passes as one bar:        {page:.3f}")
    print(f"  right piece:                         {piece:.3f}")
    print(f"  'unknown' for a piece in the library: {unknown:.3f}")
    print(f"  'unknown' when the piece is held out: {held_unknown:.3f} (the rest: a wrong piece)")
    for name in sorted({r[0] for r in results}):
        mine = [r for r in results if r[0] == name]
        ok = sum(r[1] and r[3] >= MIN_CONFIDENCE for r in mine) / len(mine)
        ok_page = sum(r[5] and r[3] >= MIN_CONFIDENCE for r in mine) / len(mine)
        held_ok = sum(r[4] < MIN_CONFIDENCE for r in mine) / len(mine)
        print(
            f"  {name:<40} right {ok:.3f} ({ok_page:.3f} repeat passes as one), "
            f"unknown when held out {held_ok:.3f}"
        )
    print(
        "threshold sweep: cut, right, right (repeats as one), right piece, "
        "unknown (in library), unknown (held out)"
    )
    for cut in (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
        print("  " + "  ".join(f"{x:.3f}" for x in (cut, *figures(cut))))
    print(
        f"notes looked up: {qn} first, more when a passage returns: "
        f"mean {statistics.fmean(used):.1f}, "
        f"{sum(u > qn for u in used) / n:.3f} of queries needed more"
    )
    ms = sorted(t * 1000 for t in times)
    print(
        f"ms per query: mean {statistics.fmean(ms):.2f}, p50 {ms[len(ms) // 2]:.2f}, "
        f"p95 {ms[int(len(ms) * 0.95)]:.2f}"
    )


if __name__ == "__main__":
    main()
