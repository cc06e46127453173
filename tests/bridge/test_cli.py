"""`etude bridge` refuses bad input with a one-line reason and exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.etude import SHARED

ETUDE = [sys.executable, "-m", "etude_cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ETUDE_")}
    full_env.update(env or {})
    return subprocess.run([*ETUDE, *args], capture_output=True, text=True, timeout=60, env=full_env)


def test_nothing_to_listen_to(tmp_path: Path) -> None:
    result = run("bridge", "--outbox", str(tmp_path / "o.db"))
    assert result.returncode == 2
    assert "nothing to listen to" in result.stderr and "--list-ports" in result.stderr


def test_corrupt_midi_file(tmp_path: Path) -> None:
    bad = tmp_path / "take.mid"
    bad.write_bytes(b"MThd garbage")
    result = run("bridge", "--midi-file", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_device_id_from_the_environment(tmp_path: Path) -> None:
    result = run("bridge", "--midi-file", "x.mid", env={"ETUDE_BRIDGE_DEVICE_ID": "Room 1"})
    assert result.returncode == 2
    assert "device_id" in result.stderr


def test_settings_come_from_toml_then_environment(tmp_path: Path) -> None:
    from etude_bridge.config import BridgeConfig

    toml = tmp_path / "etude.toml"
    toml.write_text('[bridge]\ndevice_id = "room-3"\nmqtt_port = 1999\n[hub]\nhttp_port = 1\n')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ETUDE_CONFIG", str(toml))
        assert BridgeConfig().device_id == "room-3"
        assert BridgeConfig().mqtt_port == 1999
        mp.setenv("ETUDE_BRIDGE_MQTT_PORT", "2001")
        assert BridgeConfig().mqtt_port == 2001  # environment beats the file


def test_unknown_command_is_exit_status_2() -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert "unknown command" in result.stderr and "bridge" in result.stderr


def test_live_port_without_midi_support_is_one_clear_line() -> None:
    # This machine has no ALSA sequencer (no sound hardware): the real error path.
    result = run("bridge", "--midi-port", "Digital Piano")
    assert result.returncode == 2
    # ALSA's C library prints its own line first; ours is one line that says what is wrong.
    ours = [line for line in result.stderr.splitlines() if line.startswith("etude bridge:")]
    assert len(ours) == 1 and "cannot list MIDI ports" in ours[0], result.stderr
    assert "Traceback" not in result.stderr


def test_score_library_that_is_not_a_folder(tmp_path: Path) -> None:
    take = SHARED / "data" / "performances" / "vienna4x22" / "midi" / "Mozart_K331_1st-mov_p01.mid"
    missing = tmp_path / "no-such-library"
    result = run("bridge", "--midi-file", str(take), "--score-library", str(missing))
    assert result.returncode == 2
    assert str(missing) in result.stderr and "not a folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
