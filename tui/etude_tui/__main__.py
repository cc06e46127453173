"""`etude tui`: follow a practice room live in the terminal."""

from __future__ import annotations

import argparse
import sys

from etude_protocol import TopicError, check_device_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="etude tui", description=__doc__)
    parser.add_argument("--hub", default="http://127.0.0.1:8080", help="the hub's address")
    parser.add_argument("--device", default="demo-piano", help="the device to follow")
    args = parser.parse_args(argv)
    try:
        check_device_id(args.device)
    except TopicError as exc:
        print(f"etude tui: {exc}", file=sys.stderr)
        return 2
    from .app import EtudeApp

    EtudeApp(args.hub, args.device).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
