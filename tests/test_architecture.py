"""Components talk only through etude_protocol: none imports another's internals, and the
protocol itself stays pure (no I/O libraries)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {
    "etude_protocol": REPO / "protocol" / "etude_protocol",
    "etude_bridge": REPO / "bridge" / "etude_bridge",
    "etude_hub": REPO / "hub" / "etude_hub",
    "etude_tui": REPO / "tui" / "etude_tui",
    "etude_cli": REPO / "cli" / "etude_cli",
}
ALLOWED = {
    "etude_protocol": set(),
    "etude_bridge": {"etude_protocol", "etude_engine"},
    "etude_hub": {"etude_protocol"},
    "etude_tui": {"etude_protocol"},
    "etude_cli": set(),  # finds the others through entry points only
}
PROTOCOL_MAY_NOT_USE = {"paho", "aiohttp", "sqlalchemy", "asyncio", "socket", "mido"}


def imported_roots_of_file(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def imported_roots(package_dir: Path) -> set[str]:
    return set().union(*(imported_roots_of_file(p) for p in package_dir.rglob("*.py")))


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_components_import_only_the_protocol(package: str) -> None:
    etude = {r for r in imported_roots(PACKAGES[package]) if r.startswith("etude_")}
    assert etude - {package} <= ALLOWED[package]


def test_protocol_is_pure() -> None:
    assert not imported_roots(PACKAGES["etude_protocol"]) & PROTOCOL_MAY_NOT_USE


def test_only_the_mqtt_modules_import_paho() -> None:
    users = sorted(
        str(path.relative_to(REPO))
        for root in PACKAGES.values()
        for path in root.rglob("*.py")
        if "paho" in imported_roots_of_file(path)
    )
    assert users == ["bridge/etude_bridge/mqtt.py", "hub/etude_hub/ingest/mqtt.py"]
