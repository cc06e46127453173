"""`etude hub` explains what is wrong instead of a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

from support.servers import free_port


def run_hub(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETUDE_")}
    return subprocess.run(
        [sys.executable, "-m", "etude_cli", "hub", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unreachable_database_is_explained() -> None:
    port = free_port()
    result = run_hub(
        "--port", "0", "--database-url", f"postgresql+asyncpg://etude:secret@127.0.0.1:{port}/etude"
    )
    assert result.returncode == 1
    assert "cannot start" in result.stderr and "ETUDE_HUB_DATABASE_URL" in result.stderr
    assert "secret" not in result.stderr  # never print the password
    assert "Traceback" not in result.stderr


def test_bad_setting_is_exit_status_2() -> None:
    result = run_hub("--port", "70000")
    assert result.returncode == 2
    assert "http_port" in result.stderr
