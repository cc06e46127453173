"""Audio sources: a microphone (sounddevice) and a WAV file replayed as if it were one."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .base import AudioChunk, SourceError

CHUNK = 1024


def _mono(block: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
    if block.ndim == 2:
        block = block.mean(axis=1)
    return np.ascontiguousarray(block, dtype=np.float32)


class AudioFileSource:
    """Replays a sound file (WAV/FLAC/OGG via soundfile) in chunks at ``speed`` × real time
    (``speed=0``: as fast as it goes); with ``loop``, again and again, each pass following
    the last on the same clock."""

    def __init__(
        self, path: Path, speed: float = 1.0, chunk: int = CHUNK, *, loop: bool = False
    ) -> None:
        import soundfile

        self.path = Path(path)
        self.speed = speed
        self.chunk = chunk
        self.loop = loop
        try:
            info = soundfile.info(str(self.path))
        except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError
            raise SourceError(f"{self.path}: not a readable audio file ({exc})") from exc
        self.sample_rate = int(info.samplerate)
        self.description = f"audio-file:{self.path.name}"

    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]:
        import soundfile

        wall_start = time.monotonic()
        done = 0
        while not stop.is_set():
            with soundfile.SoundFile(str(self.path)) as f:
                frames = f.frames
                blocks = f.blocks(blocksize=self.chunk, dtype="float32", always_2d=True)
                for k, block in enumerate(blocks):
                    if stop.is_set():
                        return
                    t = done / self.sample_rate
                    if self.speed > 0:
                        delay = wall_start + t / self.speed - time.monotonic()
                        if delay > 0:
                            stop.wait(delay)
                    last = (k + 1) * self.chunk >= frames
                    yield AudioChunk(t, _mono(block), self.sample_rate, end_of_take=last)
                    done += len(block)
            if not self.loop or frames == 0:
                return


class MicrophoneSource:
    """A live input device through PortAudio (sounddevice)."""

    def __init__(self, device: str | int | None, sample_rate: int = 44100, chunk: int = CHUNK):
        try:
            import sounddevice
        except OSError as exc:  # PortAudio library missing
            raise SourceError(f"no audio support ({exc}); install libportaudio2") from exc
        self._sd = sounddevice
        self.device = int(device) if isinstance(device, str) and device.isdigit() else device
        self.sample_rate = sample_rate
        self.chunk = chunk
        try:
            sounddevice.check_input_settings(device=self.device, samplerate=sample_rate, channels=1)
        except Exception as exc:
            devices = [
                d["name"] for d in sounddevice.query_devices() if d["max_input_channels"] > 0
            ]
            there = ", ".join(repr(d) for d in devices) or "none"
            raise SourceError(
                f"cannot open audio input {device!r} ({exc}); inputs there are: {there}"
            ) from exc
        self.description = f"microphone:{device}"

    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]:
        inbox: queue.Queue[np.ndarray[Any, Any]] = queue.Queue(maxsize=256)

        def callback(
            indata: np.ndarray[Any, Any], _frames: int, _t: object, _status: object
        ) -> None:
            # When the analyser falls behind, dropping audio beats growing without bound.
            with contextlib.suppress(queue.Full):
                inbox.put_nowait(indata.copy())

        done = 0
        with self._sd.InputStream(
            device=self.device,
            samplerate=self.sample_rate,
            channels=1,
            blocksize=self.chunk,
            dtype="float32",
            callback=callback,
        ):
            while not stop.is_set():
                try:
                    block = inbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                yield AudioChunk(done / self.sample_rate, _mono(block), self.sample_rate)
                done += len(block)
