"""What the engine's commands (`etude analyze|assess|identify|freeplay`) share: the one-line
error on bad input, and the JSON they print with `--json`."""

from __future__ import annotations

import json
import sys


def fail(command: str, problem: BaseException | str) -> int:
    """Prints `etude COMMAND: problem` as one line on stderr; returns exit status 2."""
    print(f"etude {command}: {problem}".replace("\n", " "), file=sys.stderr)
    return 2


def print_json(result: object) -> None:
    """One JSON object on stdout (non-ASCII kept as it is), then a newline."""
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
