"""`etude protocol docs|schema [--check]`: write or check the generated protocol reference."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .docs import json_schemas, render_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="etude protocol", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    docs = sub.add_parser("docs", help="write docs/protocol.md from the models")
    docs.add_argument("--out", type=Path, default=Path("docs/protocol.md"))
    docs.add_argument("--check", action="store_true", help="fail if the file is out of date")
    schema = sub.add_parser("schema", help="print the JSON Schemas of every message")
    schema.add_argument("--json", action="store_true", help="(default) JSON output")
    args = parser.parse_args(argv)
    if args.what == "schema":
        json.dump(json_schemas(), sys.stdout, indent=2)
        print()
        return 0
    text = render_markdown()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run `etude protocol docs`", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0
