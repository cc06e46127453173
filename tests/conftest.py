"""Shared fixtures: real PostgreSQL and Mosquitto servers for the whole run, a fresh
database per test, and the two back-ends the end-to-end tests run on."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.etude import embedded_broker
from support.servers import MosquittoServer, PostgresServer

_db_names = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def private_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Parsed scores and library indexes go to a folder of this run, not the user's
    ~/.cache (the commands under test, and the processes they start, read XDG_CACHE_HOME)."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    yield cache
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoServer]:
    with MosquittoServer(persistence=True) as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    return postgres.create_database(f"etude_test_{next(_db_names)}")


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    mqtt_port: int
    # Tests share one Mosquitto: a base topic and hub client id of their own keep the
    # persistent sessions of one test from feeding the next.
    namespace: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "ETUDE_HUB_BASE_TOPIC": self.namespace,
            "ETUDE_BRIDGE_BASE_TOPIC": self.namespace,
            "ETUDE_HUB_MQTT_CLIENT_ID": f"hub-{self.namespace}",
        }


@pytest.fixture(params=["postgres+mosquitto", "sqlite+embedded"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "postgres+mosquitto":
        pg: PostgresServer = request.getfixturevalue("postgres")
        broker: MosquittoServer = request.getfixturevalue("mosquitto")
        n = next(_db_names)
        url = pg.create_database(f"etude_test_{n}")
        yield Backend(request.param, url, broker.port, f"t{n}")
    else:
        n = next(_db_names)
        with embedded_broker(tmp_path) as port:
            yield Backend(request.param, f"sqlite+aiosqlite:///{tmp_path}/etude.db", port, f"t{n}")
