"""``etude freeplay PERFORMANCE.mid [--json]``: tempo, steadiness, evenness and dynamics of
playing without a score (figures defined in :mod:`etude_engine.freeplay` and
``docs/cli.md``). A missing or unreadable file is a one-line error and exit status 2.
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
        prog="etude freeplay",
        description="Tempo and its stability, evenness of scales and arpeggios, and dynamics "
        "range of a performance played without a score.",
    )
    p.add_argument("performance", help="the performance: a MIDI file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def _text(r: dict[str, Any]) -> str:
    lines = [
        f"tempo            {_fmt(r['tempo_bpm'], '.0f')} bpm",
        f"tempo stability  {_fmt(r['tempo_stability'], '.2f')}   "
        f"(variation {_fmt(r['tempo_cv'] and 100 * r['tempo_cv'], '.1f')} %)",
        f"dynamics range   {r['dynamics_range']:.3f}   "
        f"(velocity {r['velocity']['p5']:.0f}–{r['velocity']['p95']:.0f})",
    ]
    if r["runs"]:
        lines.append(
            f"evenness         {r['evenness']:.2f}   ({len(r['runs'])} scale/arpeggio runs)"
        )
        worst = min(r["runs"], key=lambda x: x["evenness"])
        lines.append(
            f"  least even: {worst['kind']} {worst['direction']} at {worst['start_s']:.1f} s "
            f"({worst['notes']} notes, timing ±{100 * worst['timing_cv']:.0f} %, "
            f"velocity ±{worst['velocity_sd']:.0f})"
        )
    else:
        lines.append("evenness         n/a   (no scale or arpeggio runs found)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from etude_engine.freeplay import free_play
    from etude_engine.scores import load_performance

    try:
        report = free_play(load_performance(args.performance))
    except EngineError as exc:
        return fail("freeplay", exc)
    if args.json:
        print_json(report)
    else:
        print(_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
