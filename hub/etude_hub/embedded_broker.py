"""`etude broker`: an in-process MQTT broker (amqtt) for the zero-setup, one-machine run.

Production uses Mosquitto (or a clustered broker) instead; nothing else changes but the
host and port in the configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from amqtt.broker import Broker

from .signals import until_stopped


def broker_config(host: str, port: int) -> dict[str, object]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 200}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }


async def run_broker(host: str, port: int, ready_file: Path | None = None) -> None:
    broker = Broker(broker_config(host, port))
    await broker.start()
    logging.getLogger("etude_hub.broker").info("embedded MQTT broker on %s:%d", host, port)
    if ready_file:
        await asyncio.to_thread(ready_file.write_text, str(port))
    try:
        await until_stopped()
    finally:
        await broker.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="etude broker", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--ready-file", type=Path, help="written once the broker listens")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_broker(args.host, args.port, args.ready_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
