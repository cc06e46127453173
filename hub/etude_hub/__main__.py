"""`etude hub`: run the hub (HTTP + WebSocket + MQTT ingest)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .app import create_app
from .config import HubConfig
from .signals import until_stopped


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="etude hub",
        description="Run the Etude hub. Settings: defaults < etude.toml [hub] < ETUDE_HUB_*.",
    )
    parser.add_argument(
        "--config", type=Path, help="TOML file (default: $ETUDE_CONFIG or ./etude.toml)"
    )
    parser.add_argument("--database-url", help="e.g. postgresql+asyncpg://etude@db/etude")
    parser.add_argument("--host", help="HTTP listen address")
    parser.add_argument("--port", type=int, help="HTTP port (0: any free port)")
    parser.add_argument("--mqtt-host")
    parser.add_argument("--mqtt-port", type=int)
    parser.add_argument("--port-file", type=Path, help="write the bound HTTP port to this file")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def load_config(args: argparse.Namespace) -> HubConfig:
    if args.config:
        if not args.config.exists():
            raise SystemExit(f"etude hub: config file {args.config} not found")
        os.environ["ETUDE_CONFIG"] = str(args.config)
    overrides = {
        "database_url": args.database_url,
        "http_host": args.host,
        "http_port": args.port,
        "mqtt_host": args.mqtt_host,
        "mqtt_port": args.mqtt_port,
        "port_file": args.port_file,
    }
    return HubConfig(**{k: v for k, v in overrides.items() if v is not None})


async def serve(config: HubConfig) -> None:
    app = create_app(config)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, config.http_host, config.http_port)
    await site.start()
    port = runner.addresses[0][1]
    if config.port_file:
        config.port_file.write_text(str(port))
    logging.getLogger("etude_hub").info("hub listening on http://%s:%s/", config.http_host, port)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(args)
    except ValidationError as exc:
        print(f"etude hub: bad configuration:\n{exc}", file=sys.stderr)
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config))
    except (OSError, SQLAlchemyError) as exc:
        where = make_url(config.database_url).render_as_string(hide_password=True)
        print(
            f"etude hub: cannot start: {exc.__class__.__name__}: {exc}\n"
            f"  database: {where} (ETUDE_HUB_DATABASE_URL): is it running and reachable?\n"
            f"  HTTP: {config.http_host}:{config.http_port} (ETUDE_HUB_HTTP_PORT): is it free?",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
