"""End-to-end latency: note-on read by the bridge → the same event at a WebSocket client.

    uv run python -m bench.e2e_latency [--devices 4] [--speed 4] [--json]

Runs on both back-ends in one go — PostgreSQL + Mosquitto, and SQLite + the embedded broker —
with real processes (`etude hub`, `etude bridge` per device) replaying real performances.
Latency is measured on one clock: the event's `ts` (stamped by the bridge when the MIDI
message arrived) against the time the WebSocket client received it. The split at the hub uses
the `received_at` the hub stores for each event (when its batch's database write began):
"bridge → hub ingest" is outbox + MQTT broker + hub queue, "hub store → WebSocket" is the
insert and commit, the fan-out and the send.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.etude import (
    count_note_ons,
    embedded_broker,
    performance,
    start_bridge,
    start_hub,
)
from support.servers import MosquittoServer, PostgresServer

PIECES = [
    "Chopin_op38_p01",
    "Mozart_K331_1st-mov_p02",
    "Chopin_op10_no3_p03",
    "Schubert_D783_no15_p04",
    "Chopin_op38_p05",
    "Mozart_K331_1st-mov_p06",
    "Chopin_op10_no3_p07",
    "Schubert_D783_no15_p08",
    "Chopin_op38_p09",
    "Mozart_K331_1st-mov_p10",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def watch(
    url: str,
    device: str,
    expected: int,
    arrivals: dict[tuple[str, int], float],
    stamps: dict[tuple[str, int], float],
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{url}/api/v1/devices/{device}/live") as ws,
    ):
        got = 0
        async for msg in ws:
            now = time.time()
            data = json.loads(msg.data)
            if data["type"] != "event" or data["event"]["kind"] != "note_on":
                continue
            event = data["event"]
            key = (device, event["seq"])
            arrivals[key] = now
            stamps[key] = datetime.fromisoformat(event["ts"]).timestamp()
            got += 1
            if got >= expected:
                return


async def received_at(database_url: str) -> dict[tuple[str, int], float]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT device_id, seq, received_at FROM events WHERE kind = 'note_on'")
            )
            out = {}
            for device, seq, at in rows:
                if isinstance(at, str):
                    at = datetime.fromisoformat(at)
                if at.tzinfo is None:  # SQLite drops the zone; the hub writes UTC
                    at = at.replace(tzinfo=UTC)
                out[(device, int(seq))] = at.timestamp()
            return out
    finally:
        await engine.dispose()


async def run_backend(
    name: str, database_url: str, mqtt_port: int, tmp: Path, devices: int, speed: float
) -> dict[str, Any]:
    hub = await asyncio.to_thread(start_hub, tmp, database_url, mqtt_port)
    arrivals: dict[tuple[str, int], float] = {}
    stamps: dict[tuple[str, int], float] = {}
    try:
        pieces = [performance(PIECES[i % len(PIECES)]) for i in range(devices)]
        ids = [f"bench-{i}" for i in range(devices)]
        watchers = [
            asyncio.create_task(watch(hub.url, d, count_note_ons(p), arrivals, stamps))
            for d, p in zip(ids, pieces, strict=True)
        ]
        await asyncio.sleep(0.5)
        bridges = [
            start_bridge(tmp, mqtt_port, p, speed=speed, device_id=d)
            for d, p in zip(ids, pieces, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*watchers), timeout=900)
        for bridge in bridges:
            bridge.terminate()
        stored = await received_at(database_url)
    finally:
        hub.proc.terminate()
    total = [(arrivals[k] - stamps[k]) * 1000 for k in arrivals]
    to_hub = [(stored[k] - stamps[k]) * 1000 for k in arrivals if k in stored]
    hub_to_ws = [(arrivals[k] - stored[k]) * 1000 for k in arrivals if k in stored]

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
            "max": max(values),
            "mean": statistics.fmean(values),
        }

    return {
        "backend": name,
        "notes": len(total),
        "devices": devices,
        "speed": speed,
        "end_to_end_ms": summary(total),
        "bridge_to_hub_ms": summary(to_hub),
        "hub_store_and_push_ms": summary(hub_to_ws),
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="etude-bench-") as tmp_name:
        tmp = Path(tmp_name)
        # Durable settings, as in production (the test servers trade durability for speed).
        durable = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
        with PostgresServer(settings=durable) as pg, MosquittoServer() as mosquitto:
            url = pg.create_database("bench")
            (tmp / "pg").mkdir()
            results.append(
                await run_backend(
                    "postgres+mosquitto", url, mosquitto.port, tmp / "pg", args.devices, args.speed
                )
            )
        (tmp / "lite").mkdir()
        with embedded_broker(tmp / "lite") as port:
            results.append(
                await run_backend(
                    "sqlite+embedded",
                    f"sqlite+aiosqlite:///{tmp}/lite/etude.db",
                    port,
                    tmp / "lite",
                    args.devices,
                    args.speed,
                )
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=4, help="bridges replaying at once")
    parser.add_argument("--speed", type=float, default=4.0, help="replay speed of each")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return 0
    print(
        f"note-on at the bridge → WebSocket client; {args.devices} devices at "
        f"{args.speed}× real time each\n"
    )
    header = (
        f"{'back-end':<20} {'notes':>6}  {'segment':<26} "
        f"{'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  (ms)"
    )
    print(header)
    for r in results:
        for segment, key in (
            ("end to end", "end_to_end_ms"),
            ("bridge → hub ingest", "bridge_to_hub_ms"),
            ("hub store → WebSocket", "hub_store_and_push_ms"),
        ):
            s = r[key]
            print(
                f"{r['backend']:<20} {r['notes']:>6}  {segment:<26} {s['p50']:>7.1f} "
                f"{s['p95']:>7.1f} {s['p99']:>7.1f} {s['max']:>7.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
