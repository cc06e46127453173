"""Generated reference documents are up to date with the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_configuration_doc_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_config_docs.py"), "--check"], check=False
    )
    assert result.returncode == 0, "run `uv run python scripts/gen_config_docs.py`"
