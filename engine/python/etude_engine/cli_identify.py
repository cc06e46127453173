"""``etude identify PERFORMANCE.mid --library DIR [--json]``: which piece, from which bar.

Indexes the scores under ``DIR`` (cached, so only new or changed files are parsed again; a
progress bar on a terminal while parsing), looks the first notes of the performance up and
prints the piece and the bar, or "unknown". With ``--json``: ``{"piece": str|null, "bar":
int|null, "confidence": float}`` (shape in ``docs/cli.md``). A missing or unreadable
performance, or a missing library folder, is a one-line error on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from etude_engine._cli import fail, print_json
from etude_engine.exceptions import EngineError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="etude identify",
        description="Name the piece (from a library of scores) and the bar where a "
        "performance starts.",
    )
    p.add_argument("performance", help="the performance: a MIDI file")
    p.add_argument(
        "--library",
        required=True,
        help="folder of scores (.musicxml, .xml, .mxl, .mid, .midi; searched recursively)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="parse every score again (and do not write the cache)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from etude_engine.recognize import identify, load_library, tty_progress
    from etude_engine.scores import load_performance

    try:
        perf = load_performance(args.performance)
        library = load_library(
            args.library,
            use_cache=not args.no_cache,
            progress=tty_progress if sys.stderr.isatty() else None,
        )
        if not library.pieces:
            raise EngineError(f"{args.library}: no readable scores in the library")
        found = identify(perf, library)
    except EngineError as exc:
        return fail("identify", exc)
    result = {"piece": found["piece"], "bar": found["bar"], "confidence": found["confidence"]}
    if args.json:
        print_json(result)
    elif result["piece"] is None:
        print(f"unknown: not in the library (best match {result['confidence']:.2f})")
    else:
        print(f"{result['piece']}, bar {result['bar']} (confidence {result['confidence']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
