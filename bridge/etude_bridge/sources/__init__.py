"""Input sources behind one interface: live MIDI port, MIDI file replay, microphone, WAV replay."""

from .audio import AudioFileSource, MicrophoneSource
from .base import AudioChunk, SourceError, TimedMessage
from .midi import MidiFileSource, MidiPortSource, list_midi_ports

__all__ = [
    "AudioChunk",
    "AudioFileSource",
    "MicrophoneSource",
    "MidiFileSource",
    "MidiPortSource",
    "SourceError",
    "TimedMessage",
    "list_midi_ports",
]
