"""``etude assess SCORE PERFORMANCE.mid [--json]``: how an attempt went, and what to practise.

Prints the metrics and the feedback, or with ``--json`` one object with ``metrics``, ``bars``,
``feedback`` and ``alignment`` (shape in ``docs/cli.md``). A missing, corrupt or unsupported
file is a one-line error on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from etude_engine._cli import fail, print_json
from etude_engine.exceptions import EngineError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="etude assess",
        description="Assess a performance (MIDI) against its score "
        "(MusicXML .musicxml/.xml/.mxl or MIDI).",
    )
    p.add_argument("score", help="the score: .musicxml, .xml, .mxl, .mid or .midi")
    p.add_argument("performance", help="the performance: a MIDI file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="parse the score again (and do not keep it in ~/.cache/etude)",
    )
    p.add_argument(
        "--exercise",
        metavar="OUT_DIR",
        help="write the bars to practise (the first feedback item's) as MIDI and MusicXML here",
    )
    p.add_argument("--tempo", type=float, help="exercise tempo, %% of the notated (default: 70)")
    p.add_argument("--hand", choices=("left", "right", "both"), help="exercise hand")
    p.add_argument("--bars", help="exercise bars, e.g. 12-14 (default: from the feedback)")
    return p


def _text(report: dict[str, Any]) -> str:
    m = report["metrics"]
    n = m["notes"]
    attempt = report["attempt"]
    played = "the whole score"
    if not attempt["whole_score"] and attempt["first_bar"] is not None:
        played = f"bars {attempt['first_bar']}–{attempt['last_bar']} (the passage played)"
    lines = [
        f"assessed         {played}",
        f"overall score    {m['overall_score']:.1f} / 100",
        f"pitch accuracy   {m['pitch_accuracy']:.3f}   ({n['matched']} right, "
        f"{n['wrong_pitch']} wrong, {n['missed']} missed, {n['extra']} extra)",
        f"rhythm accuracy  {m['rhythm_accuracy']:.3f}",
        f"dynamics range   {m['dynamics_range']:.3f}",
    ]
    if m["restarts"]:
        lines.append(f"restarts         {m['restarts']}")
    lines.append("")
    if report["feedback"]:
        lines.append("what to practise:")
        lines.extend(f"  {k}. {f['message']}" for k, f in enumerate(report["feedback"], 1))
    else:
        lines.append("nothing to single out: well played.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from etude_engine.assess import assess
    from etude_engine.scores import default_cache_dir, load_performance, load_score_cached

    try:
        # The next take of the same piece is assessed without parsing its score again.
        score = load_score_cached(args.score, None if args.no_cache else default_cache_dir())
        perf = load_performance(args.performance)
        report = assess(score, perf)
        if args.exercise:
            from etude_engine.practice import exercise_for_cli

            report["exercise"] = exercise_for_cli(score, report, args)
    except EngineError as exc:
        return fail("assess", exc)
    if args.json:
        print_json(report)
    else:
        print(_text(report))
        if report.get("exercise"):
            ex = report["exercise"]
            print(f"\nexercise: {ex['midi']}\n          {ex['musicxml']}")
        elif args.exercise:
            print("\nno exercise written: nothing to practise (give --bars to choose)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
