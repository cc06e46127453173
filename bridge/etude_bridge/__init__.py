"""Etude bridge: the practice-room daemon. MIDI and microphone in; events over MQTT out."""

__version__ = "0.1.0"
