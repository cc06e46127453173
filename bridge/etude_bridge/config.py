"""Bridge settings: defaults < TOML file ([bridge] table) < environment (ETUDE_BRIDGE_*).

The TOML file is ``$ETUDE_CONFIG`` or ``./etude.toml`` when it exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class BridgeConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ETUDE_BRIDGE_", extra="forbid")

    device_id: str = Field(
        "piano-1", pattern=r"^[a-z0-9_-]{1,64}$", description="Id in MQTT topics"
    )
    device_name: str = Field("", description="Human name, e.g. 'Room 3'")
    mqtt_host: str = Field("127.0.0.1", description="MQTT broker host")
    mqtt_port: int = Field(1883, ge=1, le=65535, description="MQTT broker port")
    mqtt_username: str | None = Field(None, description="This device's MQTT user")
    mqtt_password: str | None = Field(None, description="This device's MQTT password")
    base_topic: str = Field("etude", description="Root of every MQTT topic")
    outbox_path: Path = Field(
        Path("data/bridge-outbox.db"), description="On-device outbox (SQLite)"
    )
    midi_port: str | None = Field(None, description="Live MIDI input port name (substring match)")
    midi_file: Path | None = Field(None, description="Replay this MIDI file instead of a port")
    audio_device: str | None = Field(None, description="Microphone (sounddevice name or index)")
    audio_file: Path | None = Field(None, description="Replay this WAV file as microphone input")
    replay_speed: float = Field(1.0, ge=0, le=1000, description="1 = real time, 0 = at once")
    replay_loop: bool = Field(False, description="Replay the file again and again")
    idle_timeout: float = Field(20.0, gt=0, description="Seconds without notes that end a session")
    wait_for_hub: bool = Field(True, description="Hold the outbox until the hub is online")
    publish_window: int = Field(200, ge=1, le=10_000, description="Unacknowledged messages at once")
    assess_sessions: bool = Field(
        True, description="Send the engine's analysis of each finished session"
    )
    score_library: Path | None = Field(
        None,
        description="Folder of scores (MusicXML, MIDI): a session that plays one of them is "
        "assessed against it; otherwise it gets free-play figures",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get("ETUDE_CONFIG", "etude.toml"))
        toml = TomlConfigSettingsSource(settings_cls, path, toml_table_header=("bridge",))
        return (init_settings, env_settings, toml)
