"""`etude bridge`: run the practice-room daemon."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from etude_protocol import PROTOCOL_VERSION, DeviceInfo, Topics

from . import __version__
from .assessment import SessionAssessor
from .config import BridgeConfig
from .controller import Bridge
from .mqtt import BridgeMqtt
from .outbox import Outbox
from .sources import (
    AudioFileSource,
    MicrophoneSource,
    MidiFileSource,
    MidiPortSource,
    SourceError,
    list_midi_ports,
)
from .sources.base import AudioSource, MidiSource

log = logging.getLogger("etude_bridge")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="etude bridge",
        description="Read a piano (MIDI port or file) and/or a microphone (device or WAV file), "
        "detect practice sessions and publish them over MQTT. "
        "Settings: defaults < etude.toml [bridge] < ETUDE_BRIDGE_* < these options.",
    )
    p.add_argument("--config", type=Path, help="TOML file (default: $ETUDE_CONFIG or ./etude.toml)")
    p.add_argument("--device-id")
    p.add_argument("--midi-port", help="live MIDI input (part of the port name)")
    p.add_argument("--midi-file", type=Path, help="replay a MIDI file")
    p.add_argument("--audio-device", help="live microphone (name or index)")
    p.add_argument("--audio-file", type=Path, help="replay a WAV/FLAC/OGG file as microphone")
    p.add_argument("--speed", type=float, help="replay speed, 1 = real time")
    p.add_argument("--loop", action="store_true", default=None, help="replay again and again")
    p.add_argument("--mqtt-host")
    p.add_argument("--mqtt-port", type=int)
    p.add_argument("--outbox", type=Path, help="outbox database file")
    p.add_argument(
        "--score-library", type=Path, help="folder of scores to recognise and assess sessions"
    )
    p.add_argument(
        "--no-wait-for-hub", action="store_true", help="publish even if no hub is online"
    )
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        help="after a replay ends, seconds to wait for the outbox to empty",
    )
    p.add_argument("--list-ports", action="store_true", help="list MIDI input ports and exit")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def load_config(args: argparse.Namespace) -> BridgeConfig:
    if args.config:
        if not args.config.exists():
            raise SourceError(f"config file {args.config} not found")
        os.environ["ETUDE_CONFIG"] = str(args.config)
    overrides = {
        "device_id": args.device_id,
        "midi_port": args.midi_port,
        "midi_file": args.midi_file,
        "audio_device": args.audio_device,
        "audio_file": args.audio_file,
        "replay_speed": args.speed,
        "replay_loop": args.loop,
        "mqtt_host": args.mqtt_host,
        "mqtt_port": args.mqtt_port,
        "outbox_path": args.outbox,
        "score_library": args.score_library,
        "wait_for_hub": False if args.no_wait_for_hub else None,
    }
    return BridgeConfig(**{k: v for k, v in overrides.items() if v is not None})


def open_sources(config: BridgeConfig) -> tuple[MidiSource | None, AudioSource | None]:
    midi: MidiSource | None = None
    audio: AudioSource | None = None
    if config.midi_file and config.midi_port:
        raise SourceError("give either a MIDI port or a MIDI file, not both")
    if config.midi_file:
        midi = MidiFileSource(config.midi_file, config.replay_speed, config.replay_loop)
    elif config.midi_port:
        midi = MidiPortSource(config.midi_port)
    if config.audio_file:
        audio = AudioFileSource(
            config.audio_file, config.replay_speed, loop=bool(config.replay_loop)
        )
    elif config.audio_device:
        audio = MicrophoneSource(config.audio_device)
    if config.score_library is not None and not config.score_library.is_dir():
        raise SourceError(f"score library {config.score_library} is not a folder")
    if midi is None and audio is None:
        raise SourceError(
            "nothing to listen to: give --midi-port, --midi-file, --audio-device or --audio-file "
            "(`etude bridge --list-ports` lists MIDI inputs)"
        )
    return midi, audio


def engine_version() -> str | None:
    try:
        import etude_engine

        return str(etude_engine.__version__)
    except ImportError:
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.list_ports:
            print("\n".join(list_midi_ports()) or "(no MIDI input ports)")
            return 0
        config = load_config(args)
        midi, audio = open_sources(config)
    except ValidationError as exc:
        print(f"etude bridge: bad configuration:\n{exc}", file=sys.stderr)
        return 2
    except SourceError as exc:
        print(f"etude bridge: {exc}", file=sys.stderr)
        return 2

    topics = Topics(config.base_topic)
    outbox = Outbox(config.outbox_path)
    capabilities = [c for c, s in (("midi", midi), ("audio", audio)) if s is not None]
    info = DeviceInfo(
        device_id=config.device_id,
        name=config.device_name,
        software_version=__version__,
        engine_version=engine_version(),
        protocol_version=PROTOCOL_VERSION,
        capabilities=capabilities,
    )
    mqtt = BridgeMqtt(
        host=config.mqtt_host,
        port=config.mqtt_port,
        topics=topics,
        info=info,
        outbox=outbox,
        username=config.mqtt_username,
        password=config.mqtt_password,
        wait_for_hub=config.wait_for_hub,
        window=config.publish_window,
    )
    assessor = None
    if config.assess_sessions and info.engine_version is not None:
        cache = config.outbox_path.parent / "score-index"
        assessor = SessionAssessor(config.score_library, cache_dir=cache)
    bridge = Bridge(
        assessor=assessor,
        device_id=config.device_id,
        topics=topics,
        outbox=outbox,
        mqtt=mqtt,
        idle_timeout=config.idle_timeout,
        midi=midi,
        audio=audio,
    )

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        bridge.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if len(outbox):
        log.info("%d events from an earlier run wait in the outbox", len(outbox))
    mqtt.start()
    try:
        bridge.run()
        if not bridge.stop_event.is_set():
            log.info(
                "replay finished: %d notes, %d events", bridge.stats.notes, bridge.stats.events
            )
            if not mqtt.drain(args.drain_timeout):
                log.warning(
                    "%d events still in the outbox; they go out on the next run", len(outbox)
                )
    finally:
        mqtt.stop()
        outbox.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
