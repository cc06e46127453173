"""Piece recognition: which piece of a library an attempt is playing, and from which bar.

A library is a folder of scores (``.musicxml``, ``.xml``, ``.mxl``, ``.mid``, ``.midi``, found
recursively). :func:`load_library` parses them with :func:`etude_engine.scores.load_score_cached` —
the slow part — and caches the notes the index needs (pitch, onset, bar; grace notes left out)
in one ``.npz`` file per library folder, under ``$XDG_CACHE_HOME/etude`` (default
``~/.cache/etude``), keyed by each file's path, size and modification time: only new
or changed files are parsed again. The index itself (:class:`etude_engine.PieceIndex`, Rust)
is rebuilt from the cached notes in milliseconds.

:func:`identify` looks the first notes of a performance up in the index (pitch-interval
n-grams, candidate voting, then a local alignment of the best candidates; see
``docs/assessment.md``) and names the piece and the bar, or ``None`` when the best candidate
explains too few of the notes (:data:`MIN_CONFIDENCE`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from etude_engine._engine import PieceIndex
from etude_engine.exceptions import EngineError, InvalidScoreError
from etude_engine.scores import (
    SCORE_SUFFIXES,
    Performance,
    default_cache_dir,
    load_score_cached,
)

__all__ = [
    "MIN_CONFIDENCE",
    "QUERY_NOTES",
    "Library",
    "LibraryPiece",
    "default_cache_dir",
    "identify",
    "load_library",
]

#: Below this confidence (share of the query's notes the best alignment explains) the
#: attempt is "unknown". Set from bench/recognize_eval.py.
MIN_CONFIDENCE = 0.7
#: Performed notes looked at, from the start of the attempt.
QUERY_NOTES = 40
#: Places of one piece whose confidences are this close are told apart by more notes.
AMBIGUITY = 0.03
#: Places of one piece whose confidences are this close are taken as equally good (a
#: passage repeated note for note), for :func:`_by_take_length`.
TIE = 1e-6
#: The most performed notes :func:`identify` may be asked to look at.
MAX_QUERY_NOTES = 160
#: Bumped when the cached note format changes.
CACHE_VERSION = 1

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class LibraryPiece:
    """One score of the library: its path relative to the folder, and its title."""

    name: str
    path: str
    title: str
    notes: int


@dataclass
class Library:
    """A folder of scores and its index."""

    folder: str
    pieces: list[LibraryPiece]
    index: PieceIndex
    #: Files that could not be read: (relative path, one-line problem).
    skipped: list[tuple[str, str]]
    #: Scores parsed for this load (the others came from the cache).
    parsed: int
    #: Seconds spent parsing and building the index.
    build_s: float
    #: Each piece's indexed notes: (pitch, onset in quarters, bar) columns.
    notes: list[tuple[Any, Any, Any]]

    def __len__(self) -> int:
        return len(self.pieces)

    def without(self, names: set[str]) -> Library:
        """The same library less the pieces named (relative paths); nothing is parsed."""
        keep = [k for k, p in enumerate(self.pieces) if p.name not in names]
        t0 = time.perf_counter()
        index = _index([self.notes[k] for k in keep])
        return Library(
            folder=self.folder,
            pieces=[self.pieces[k] for k in keep],
            index=index,
            skipped=self.skipped,
            parsed=0,
            build_s=time.perf_counter() - t0,
            notes=[self.notes[k] for k in keep],
        )


def _index(notes: list[tuple[Any, Any, Any]]) -> PieceIndex:
    index = PieceIndex(max_query_notes=MAX_QUERY_NOTES)
    for pitch, onset_q, bar in notes:
        index.add_piece(
            np.asarray(pitch).tolist(), np.asarray(onset_q).tolist(), np.asarray(bar).tolist()
        )
    return index


def _score_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in SCORE_SUFFIXES and not p.name.startswith(".")
    )


def _cache_path(folder: Path, cache_dir: Path) -> Path:
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"{folder.name or 'library'}-{digest}.npz"


def _read_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Cached entries by relative name: stamp, title and note columns (or the problem)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("version") != CACHE_VERSION:
                return {}
            pitch, onset, bar = z["pitch"], z["onset_q"], z["bar"]
    except (OSError, ValueError, KeyError):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for e in meta["files"]:
        a, b = e["start"], e["end"]
        out[e["name"]] = {**e, "pitch": pitch[a:b], "onset_q": onset[a:b], "bar": bar[a:b]}
    return out


def _write_cache(path: Path, entries: list[dict[str, Any]]) -> None:
    files, start = [], 0
    for e in entries:
        n = len(e["pitch"])
        files.append(
            {k: e[k] for k in ("name", "stamp", "title", "problem")}
            | {"start": start, "end": start + n}
        )
        start += n

    def cat(key: str, dtype: Any) -> Any:
        parts = [np.asarray(e[key], dtype=dtype) for e in entries]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        meta=np.asarray(json.dumps({"version": CACHE_VERSION, "files": files})),
        pitch=cat("pitch", np.int16),
        onset_q=cat("onset_q", np.float64),
        bar=cat("bar", np.int32),
    )
    os.replace(tmp, path)


def _stamp(p: Path) -> str:
    st = p.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def tty_progress(done: int, total: int, name: str) -> None:
    """A one-line progress bar on stderr (used when stderr is a terminal)."""
    width = 30
    fill = width * done // max(total, 1)
    shown = name if len(name) <= 40 else "…" + name[-39:]
    sys.stderr.write(f"\rindexing [{'#' * fill}{'.' * (width - fill)}] {done}/{total} {shown:<40}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def load_library(
    folder: str | Path,
    *,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> Library:
    """Indexes the scores under `folder`, parsing only what the cache does not hold.

    Unreadable scores are skipped (listed in :attr:`Library.skipped`); a folder that does not
    exist raises :class:`InvalidScoreError`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidScoreError(f"{folder}: no such library folder")
    t0 = time.perf_counter()
    cache_root = Path(cache_dir) if cache_dir else default_cache_dir()
    cpath = _cache_path(folder, cache_root)
    cached = _read_cache(cpath) if use_cache else {}
    files = _score_files(folder)
    entries: list[dict[str, Any]] = []
    todo = []
    for p in files:
        name = p.relative_to(folder).as_posix()
        stamp = _stamp(p)
        hit = cached.get(name)
        if hit is not None and hit["stamp"] == stamp:
            entries.append(hit)
        else:
            entries.append({"name": name, "stamp": stamp})
            todo.append(len(entries) - 1)
    for k, i in enumerate(todo):
        e = entries[i]
        if progress is not None:
            progress(k, len(todo), e["name"])
        try:
            # The whole score is cached too, so whoever loads it next (the bridge, to follow
            # and assess it) does not parse it a second time.
            sd = load_score_cached(folder / e["name"], cache_root if use_cache else None)
            keep = ~sd.grace
            e.update(
                title=sd.title,
                problem=None,
                pitch=sd.pitch[keep],
                onset_q=sd.onset_q[keep],
                bar=sd.bar[keep],
            )
        except EngineError as exc:
            e.update(title="", problem=str(exc), pitch=[], onset_q=[], bar=[])
    if progress is not None and todo:
        progress(len(todo), len(todo), "")
    if use_cache and (todo or set(cached) != {e["name"] for e in entries}):
        with contextlib.suppress(OSError):  # a read-only cache is only slower
            _write_cache(cpath, entries)
    pieces: list[LibraryPiece] = []
    skipped: list[tuple[str, str]] = []
    notes: list[tuple[Any, Any, Any]] = []
    for e in entries:
        if e["problem"] is not None or len(e["pitch"]) == 0:
            skipped.append((e["name"], e["problem"] or "no notes"))
            continue
        notes.append((e["pitch"], e["onset_q"], e["bar"]))
        pieces.append(
            LibraryPiece(
                name=e["name"],
                path=str(folder / e["name"]),
                title=e["title"],
                notes=len(e["pitch"]),
            )
        )
    index = _index(notes)
    return Library(
        folder=str(folder),
        pieces=pieces,
        index=index,
        skipped=skipped,
        parsed=len(todo),
        build_s=time.perf_counter() - t0,
        notes=notes,
    )


def _ambiguous(ranked: list[dict[str, Any]]) -> bool:
    """Another place in the same piece explains the notes (nearly) as well as the best."""
    best = ranked[0]
    return any(
        r["piece"] == best["piece"]
        and r["bar"] != best["bar"]
        and r["confidence"] >= best["confidence"] - AMBIGUITY
        for r in ranked[1:]
    )


def _notes_after(library: Library, place: dict[str, Any]) -> int:
    """Notes of the place's piece from the place's onset to the end of the score."""
    onset_q = np.asarray(library.notes[int(place["piece"])][1])
    return int(np.count_nonzero(onset_q >= float(place["onset_q"]) - 1e-9))


def _by_take_length(ranked: list[dict[str, Any]], library: Library, left: int) -> dict[str, Any]:
    """The best place; among places of its piece that the notes explain equally well (a
    passage the score repeats note for note), the one whose score goes on for about as many
    notes as the take still has (`left`, from the query's start): a take that ends N notes
    later is more likely in the pass that the score ends about N notes later. Only a
    tie-breaker: without it the first pass is named, which is no better a guess."""
    best = ranked[0]
    tied = [
        r
        for r in ranked
        if r["piece"] == best["piece"] and abs(r["confidence"] - best["confidence"]) <= TIE
    ]
    if len(tied) < 2:
        return best
    return min(tied, key=lambda r: abs(_notes_after(library, r) - left))


def identify(
    perf: Performance,
    library: Library,
    *,
    min_confidence: float = MIN_CONFIDENCE,
    query_notes: int = QUERY_NOTES,
    whole_take: bool = True,
) -> dict[str, Any]:
    """``{"piece": name | None, "bar": int | None, "confidence": float}`` from the first notes
    of `perf` (``piece``: the score's path relative to the library folder).

    The first `query_notes` notes are looked up; when the music at the best place comes back
    elsewhere in the same piece (a repeat, a returning theme) and the notes cannot tell the
    places apart, twice as many are looked up, and so on up to :data:`MAX_QUERY_NOTES`.
    ``notes_used`` in the result says how many were needed. When even then places tie and
    `perf` is a `whole_take` (it ends where the player stopped, as a recorded file does), the
    number of notes it has left breaks the tie (:func:`_by_take_length`); pass
    ``whole_take=False`` for an attempt still being played (the first pass is named).
    """
    n = min(len(perf), query_notes, MAX_QUERY_NOTES)
    while True:
        ranked = library.index.rank(perf.pitch[:n].tolist(), perf.onset_s[:n].tolist())
        longer = min(len(perf), 2 * n, MAX_QUERY_NOTES)
        if not ranked or not _ambiguous(ranked) or longer <= n:
            break
        n = longer
    if not ranked:
        return {"piece": None, "bar": None, "confidence": 0.0, "notes_used": n}
    best = _by_take_length(ranked, library, len(perf)) if whole_take else ranked[0]
    conf = round(float(best["confidence"]), 4)
    if conf < min_confidence:
        return {"piece": None, "bar": None, "confidence": conf, "notes_used": n}
    return {
        "piece": library.pieces[int(best["piece"])].name,
        "bar": int(best["bar"]),
        "confidence": conf,
        "notes_used": n,
    }
