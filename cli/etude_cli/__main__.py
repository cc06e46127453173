"""`etude <command> ...`: dispatch to the components installed in this environment.

Each component registers its commands under the ``etude.commands`` entry-point group, so a
practice-room device with only the bridge installed gets ``etude bridge`` and nothing that
needs the hub's dependencies.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.metadata import entry_points

Command = Callable[[list[str] | None], int | None]


def available_commands() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group="etude.commands")}


def usage(commands: dict[str, object]) -> str:
    names = ", ".join(sorted(commands)) or "(none installed)"
    return f"usage: etude <command> [options]\ncommands: {names}\n`etude <command> --help` for more"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    commands = available_commands()
    if not args or args[0] in ("-h", "--help"):
        print(usage(commands))
        return 0
    name, rest = args[0], args[1:]
    entry = commands.get(name)
    if entry is None:
        print(f"etude: unknown command {name!r}\n{usage(commands)}", file=sys.stderr)
        return 2
    command: Command = entry.load()  # type: ignore[attr-defined]
    result = command(rest)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
