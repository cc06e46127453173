"""Hub settings: defaults < TOML file ([hub] table) < environment (ETUDE_HUB_*).

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


def config_file() -> Path:
    return Path(os.environ.get("ETUDE_CONFIG", "etude.toml"))


class HubConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ETUDE_HUB_", extra="forbid")

    database_url: str = Field(
        "sqlite+aiosqlite:///data/etude.db",
        description="SQLAlchemy URL: sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB",
    )
    http_host: str = Field("127.0.0.1", description="Address the web server listens on")
    http_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    mqtt_host: str = Field("127.0.0.1", description="MQTT broker host")
    mqtt_port: int = Field(1883, ge=1, le=65535, description="MQTT broker port")
    mqtt_username: str | None = Field(None, description="MQTT user (when the broker asks)")
    mqtt_password: str | None = Field(None, description="MQTT password")
    mqtt_client_id: str = Field(
        "etude-hub", description="Persistent-session id: messages wait at the broker for it"
    )
    base_topic: str = Field("etude", description="Root of every MQTT topic")
    ingest_batch_size: int = Field(500, ge=1, description="Events committed per transaction")
    migrate_on_start: bool = Field(True, description="Run Alembic migrations at start-up")
    port_file: Path | None = Field(None, description="Write the bound HTTP port here")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, config_file(), toml_table_header=("hub",))
        return (init_settings, env_settings, toml)
