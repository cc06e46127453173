"""Piece recognition: the index, the cached library, ``identify`` and ``etude identify``.

A small library (two Vienna 4x22 scores and three made-up MIDI pieces, copied to a temporary
folder) and real performances cut at a start point; a third Vienna piece stays out of the
library and must come back "unknown".
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from etude_engine import InvalidConfigError, InvalidScoreError, PieceIndex
from etude_engine.assess import align_performance
from etude_engine.cli_identify import main
from etude_engine.recognize import (
    MIN_CONFIDENCE,
    Library,
    LibraryPiece,
    identify,
    load_library,
)
from etude_engine.scores import (
    Performance,
    load_performance,
    load_score,
    performance_from_notes,
)
from support.midi import VIENNA, write_perf_midi

DATA = VIENNA  # ../shared beside the project, as in CI (see tests/support)

IN_LIBRARY = ("Mozart_K331_1st-mov", "Schubert_D783_no15")


def made_up_piece(path: Path, seed: int) -> None:
    rng = random.Random(seed)
    notes, p = [], 67
    for k in range(64):
        p = max(55, min(84, p + rng.choice([-4, -2, -1, 1, 2, 3, 5])))
        notes.append((p, k * 0.25, k * 0.25 + 0.24, 70))
        if k % 4 == 0:
            notes.append((p - 12 - rng.choice([3, 4, 7]), k * 0.25, k * 0.25 + 0.9, 60))
    write_perf_midi(path, notes)


def cut(perf: Performance, start: int, path: Path) -> Performance:
    """The performance from note `start` on, as a new MIDI file (times kept)."""
    notes = [
        (int(perf.pitch[i]), float(perf.onset_s[i]), float(perf.offset_s[i]), int(perf.velocity[i]))
        for i in range(start, len(perf))
    ]
    write_perf_midi(path, notes)
    return load_performance(path)


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lib = tmp_path_factory.mktemp("library")
    (lib / "classics").mkdir()
    for name in IN_LIBRARY:
        shutil.copy(DATA / "musicxml" / f"{name}.musicxml", lib / "classics")
    for k in range(3):
        made_up_piece(lib / f"tune{k}.mid", k)
    (lib / "notes.txt").write_text("not a score")
    (lib / "broken.musicxml").write_text("<score-partwise><part")
    return lib


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def library(library_dir: Path, cache_dir: Path) -> Library:
    return load_library(library_dir, cache_dir=cache_dir)


def test_library_lists_scores_and_skips_broken_ones(library: Library) -> None:
    names = [p.name for p in library.pieces]
    assert names == [
        "classics/Mozart_K331_1st-mov.musicxml",
        "classics/Schubert_D783_no15.musicxml",
        "tune0.mid",
        "tune1.mid",
        "tune2.mid",
    ]
    assert [s[0] for s in library.skipped] == ["broken.musicxml"]
    assert "broken.musicxml" in library.skipped[0][1]
    assert len(library.index) == 5


def test_identifies_piece_from_the_start(library: Library) -> None:
    perf = load_performance(DATA / "midi" / "Mozart_K331_1st-mov_p05.mid")
    got = identify(perf, library)
    assert got["piece"] == "classics/Mozart_K331_1st-mov.musicxml"
    assert got["bar"] == 1
    assert got["confidence"] > 0.8


def test_identifies_piece_and_bar_from_the_middle(library: Library, tmp_path: Path) -> None:
    name = "Schubert_D783_no15"
    sd = load_score(DATA / "musicxml" / f"{name}.musicxml")
    full = load_performance(DATA / "midi" / f"{name}_p07.mid")
    a = align_performance(sd, full)
    start = 120

    def page(i: int) -> str:
        """A note as printed: its id without the repeat-pass suffix (n7-2 → n7)."""
        return sd.ids[i].rsplit("-", 1)[0]

    # The notes the first ten notes played are matched to, as printed (repeat passes alike:
    # the dance repeats note for note, and the first pass is named).
    want = {page(s) for s in a.perf_score_index[start : start + 10] if s >= 0}
    got = identify(cut(full, start, tmp_path / "from120.mid"), library)
    assert got["piece"] == f"classics/{name}.musicxml"
    in_bar = {page(i) for i in range(len(sd)) if sd.bar[i] == got["bar"]}
    assert in_bar & want


def test_piece_outside_the_library_is_unknown(library: Library) -> None:
    perf = load_performance(DATA / "midi" / "Chopin_op10_no3_p01.mid")
    got = identify(perf, library)
    assert got["piece"] is None and got["bar"] is None
    assert 0.0 <= got["confidence"] < MIN_CONFIDENCE


def test_cache_parses_only_what_changed(library_dir: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    shutil.copytree(library_dir, lib, ignore=shutil.ignore_patterns("classics"))
    cache = tmp_path / "cache"
    first = load_library(lib, cache_dir=cache)
    assert first.parsed == 4  # three scores and the broken file
    again = load_library(lib, cache_dir=cache)
    assert again.parsed == 0 and [p.name for p in again.pieces] == [p.name for p in first.pieces]
    tune = lib / "tune1.mid"
    st = tune.stat()
    os.utime(tune, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    made_up_piece(lib / "tune9.mid", 9)
    (lib / "tune0.mid").unlink()
    changed = load_library(lib, cache_dir=cache)
    assert changed.parsed == 2
    assert [p.name for p in changed.pieces][-3:] == ["tune1.mid", "tune2.mid", "tune9.mid"]
    without = changed.without({"tune9.mid"})
    assert len(without) == len(changed) - 1 and len(without.index) == len(changed) - 1


def test_cli_json_and_text(
    library_dir: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_dir))
    perf = DATA / "midi" / "Mozart_K331_1st-mov_p05.mid"
    assert main([str(perf), "--library", str(library_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"piece", "bar", "confidence"}
    assert out["piece"] == "classics/Mozart_K331_1st-mov.musicxml" and out["bar"] == 1
    assert (
        main([str(DATA / "midi" / "Chopin_op10_no3_p01.mid"), "--library", str(library_dir)]) == 0
    )
    assert capsys.readouterr().out.startswith("unknown")


def test_cli_errors(library_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    assert main([str(bad), "--library", str(library_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("etude identify: ") and "bad.mid" in err and err.count("\n") == 1
    perf = DATA / "midi" / "Mozart_K331_1st-mov_p05.mid"
    assert main([str(perf), "--library", str(tmp_path / "nowhere")]) == 2
    assert "no such library folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(perf), "--library", str(empty)]) == 2
    assert "no readable scores" in capsys.readouterr().err


def test_index_refuses_bad_columns() -> None:
    ix = PieceIndex()
    with pytest.raises(InvalidConfigError, match="equal lengths"):
        ix.add_piece([60, 62], [0.0], [1, 1])
    with pytest.raises(InvalidScoreError, match="pitch"):
        ix.add_piece([200], [0.0], [1])
    with pytest.raises(InvalidScoreError, match="no notes"):
        ix.add_piece([], [], [])
    with pytest.raises(InvalidConfigError, match="ngram"):
        PieceIndex(ngram=0)
    assert ix.rank([60, 62, 64, 65, 67], [0.0, 0.5, 1.0, 1.5, 2.0]) == []


def test_take_length_breaks_ties_between_repeated_passes() -> None:
    """A passage the score plays twice note for note: a take that ends where the score
    does is named in the second pass; an attempt still being played, in the first."""
    rng = random.Random(3)

    def line(n: int) -> list[int]:
        return [rng.randrange(55, 80) for _ in range(n)]

    x, a, y = line(16), line(32), line(16)
    pitches = x + a + y + a  # one note per quarter, four quarters a bar
    onset_q = [float(k) for k in range(len(pitches))]
    bars = [1 + k // 4 for k in range(len(pitches))]
    pieces = [LibraryPiece(name="tune.mid", path="tune.mid", title="", notes=len(pitches))]
    library = Library(
        folder="",
        pieces=pieces,
        index=PieceIndex(),
        skipped=[],
        parsed=0,
        build_s=0.0,
        notes=[(pitches, onset_q, bars)],
    ).without(set())
    # The second pass, played to the end (0.5 s a quarter).
    t = [0.5 * k for k in range(len(a))]
    take = performance_from_notes(a, t, [s + 0.4 for s in t], [64] * len(a))
    first, second = 1 + 16 // 4, 1 + 64 // 4
    assert identify(take, library)["bar"] == second
    assert identify(take, library, whole_take=False)["bar"] == first
    # From the first pass on, the notes after the passage tell the passes apart.
    k0 = 16
    t = [0.5 * k for k in range(len(pitches) - k0)]
    take = performance_from_notes(pitches[k0:], t, [s + 0.4 for s in t], [64] * len(t))
    assert identify(take, library)["bar"] == first
