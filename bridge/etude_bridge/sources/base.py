"""What every source hands the bridge: messages or audio chunks stamped on the source's clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import mido
import numpy as np
import numpy.typing as npt


class SourceError(Exception):
    """A source that cannot be opened or read; the message says what to do."""


@dataclass(frozen=True)
class TimedMessage:
    """A MIDI message at ``time`` seconds on the source's clock.

    ``message`` is None for a tick (nothing played; lets idle timeouts fire), and
    ``end_of_take`` marks the end of a replayed file.
    """

    time: float
    message: mido.Message | None = None
    end_of_take: bool = False


@dataclass(frozen=True)
class AudioChunk:
    """Samples from ``time`` seconds on the source's clock; ``end_of_take`` marks the last
    chunk of a replayed file's pass."""

    time: float  # source time of the first sample, seconds
    samples: npt.NDArray[np.float32]  # mono
    sample_rate: int
    end_of_take: bool = False


class MidiSource(Protocol):
    description: str

    def messages(self, stop: threading.Event) -> Iterator[TimedMessage]: ...


class AudioSource(Protocol):
    description: str
    sample_rate: int

    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]: ...
