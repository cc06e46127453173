"""The bridge controller: sources in, protocol events out through the outbox.

MIDI and audio run in their own threads; both go through ``_emit``, which holds one lock
so that sequence numbers and session boundaries stay consistent.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import mido

from etude_protocol import (
    AudioFeatures,
    EventBase,
    NoteOff,
    NoteOn,
    Pedal,
    PieceRecognised,
    PositionRevision,
    PositionsRevised,
    ScorePosition,
    SessionAnalysis,
    SessionEnded,
    SessionStarted,
    SessionState,
    Topics,
    encode,
    utc_now,
)

from .assessment import Recognition, ScoreGroups, SessionAssessor, TakeRecorder
from .mqtt import BridgeMqtt
from .outbox import Outbox
from .session import ActiveSession, SessionTracker
from .sources.base import AudioSource, MidiSource, TimedMessage

if TYPE_CHECKING:
    from .analysis import AudioWindow, Heard, HeardNote, Listener

log = logging.getLogger(__name__)

PEDALS = {64: "sustain", 66: "sostenuto", 67: "soft"}
#: Heard notes the engine is at least this sure of (0.5: just heard) name the piece: the
#: doubtful ones are mostly partials taken for notes. Measured on the held-out renders: the
#: unseen second piano is named 8 times in 8 from 96 such notes, 6 in 8 from all notes.
RECOGNITION_CONFIDENCE = 0.8
#: The last stretch of a recording heard again whose notes are not decided yet (an onset's
#: notes are known about 0.1 s after it).
UNDECIDED_SECONDS = 0.25
#: Notes placed anew per positions_revised event (the protocol's limit).
MAX_REVISIONS = 64


@dataclass
class LiveScore:
    """The piece a session is playing, and the follower that places each new note in it.

    The follower may place earlier notes anew once the notes after them show where they
    belong (a restart recognised, a note settled into its chord): those of the notes published
    with a place (`bind`) are kept for a positions_revised event (`take_revisions`)."""

    recognition: Recognition
    follower: Any  # etude_engine.ScoreFollower
    groups: ScoreGroups
    #: The note_on seq of each note placed, in order (None: not published with its place).
    seqs: list[int | None] = field(default_factory=list)
    _revised: dict[int, ScorePosition] = field(default_factory=dict, init=False)

    def place(self, pitch: int, onset: float, velocity: int) -> ScorePosition | None:
        step = self.follower.push(pitch, onset, velocity)
        self.seqs.append(None)
        for index, note in step.revised:
            self._revise(index, self.groups.place_of_note(note), "match")
        for index, score_q in step.revised_extra:
            self._revise(index, self.groups.place_at(score_q), "extra")
        if step.bar is None:
            return None
        return ScorePosition(bar=step.bar, beat=max(0.0, step.beat), label=step.label)

    def bind(self, seq: int) -> None:
        """The note placed last was published as note_on `seq`."""
        if self.seqs:
            self.seqs[-1] = seq

    def take_revisions(self) -> list[PositionRevision]:
        """The published notes placed anew since the last call, in seq order."""
        out = [PositionRevision(seq=seq, position=p) for seq, p in sorted(self._revised.items())]
        self._revised.clear()
        return out

    def _revise(
        self, index: int, place: tuple[int, float] | None, label: Literal["match", "extra"]
    ) -> None:
        seq = self.seqs[index] if 0 <= index < len(self.seqs) else None
        if seq is not None and place is not None:
            bar, beat = place
            self._revised[seq] = ScorePosition(bar=bar, beat=max(0.0, beat), label=label)

    def expected_next(self) -> tuple[int, ...]:
        """The pitches of the score's next chord after where the player is."""
        position = self.follower.position
        return () if position is None else self.groups.after(position[2])


@dataclass
class BridgeStats:
    events: int = 0
    notes: int = 0
    sessions: int = 0
    analyses: int = 0
    informed_notes: int = 0  # heard notes decided by the score-informed check
    heard_again: int = 0  # notes of the take heard again once the piece was named


class Bridge:
    def __init__(
        self,
        *,
        device_id: str,
        topics: Topics,
        outbox: Outbox,
        mqtt: BridgeMqtt | None,
        idle_timeout: float = 20.0,
        midi: MidiSource | None = None,
        audio: AudioSource | None = None,
        assessor: SessionAssessor | None = None,
        lockstep: bool | None = None,
    ) -> None:
        """`lockstep`: the sources wait while the piece is looked up, as if the look-up took
        no time. Default: when a source replays a file as fast as it goes (``speed=0``), so
        that such a replay — a benchmark, a test — is the same every run; played in real time,
        the notes that come during a look-up are caught up with after it."""
        self.device_id = device_id
        self.topics = topics
        self.outbox = outbox
        self.mqtt = mqtt
        self.midi = midi
        self.audio = audio
        self.sessions = SessionTracker(idle_timeout)
        self.stats = BridgeStats()
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self.assessor = assessor
        self._take = TakeRecorder()
        # Heard notes the engine was sure of: what names the piece when the notes come from a
        # microphone (partials taken for notes would hide it). With MIDI, the take itself.
        self._sure = TakeRecorder()
        self._tried_at = 0  # evidence size at the last look-up
        self._listener: Listener | None = None  # the microphone's, once audio runs
        self._live: LiveScore | None = None
        self._recognising = False
        if lockstep is None:
            lockstep = any(getattr(source, "speed", 1.0) <= 0 for source in (midi, audio))
        self._lockstep = lockstep
        self._lookup: Future[None] | None = None  # the look-up lockstep waits for
        # One worker, so that analyses go out in the order their sessions ended; the engine
        # runs there, off the threads that read the piano.
        self._analysis_worker = ThreadPoolExecutor(1, thread_name_prefix="assess")
        self._pending: list[Future[None]] = []
        self._warmed_up = self._analysis_worker.submit(self._warm_up)

    # ---------------------------------------------------------------- running

    def run(self) -> None:
        """Run the sources until they end (a replay without loop) or stop() is called.

        The score library is indexed first (seconds; from its cache after the first run), so
        that the first session can be followed as soon as its piece is named."""
        self._warmed_up.result()
        threads = []
        if self.midi is not None:
            threads.append(threading.Thread(target=self._run_midi, name="midi", daemon=True))
        if self.audio is not None:
            threads.append(threading.Thread(target=self._run_audio, name="audio", daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
        with self._lock:
            self._end_session("stopped" if self.stop_event.is_set() else "source_ended")
        self.finish_analyses()

    def stop(self) -> None:
        self.stop_event.set()

    def finish_analyses(self) -> None:
        """Waits until every ended session's analysis is in the outbox."""
        for future in self._pending:
            future.result()
        self._pending.clear()
        self._analysis_worker.shutdown(wait=True)

    def _run_midi(self) -> None:
        assert self.midi is not None
        for timed in self.midi.messages(self.stop_event):
            self.on_midi(timed)
            self._keep_step()

    def _run_audio(self) -> None:
        assert self.audio is not None
        from .analysis import Listener  # the engine is needed only for audio

        # Without MIDI the microphone tells the notes, and the score (once the piece is
        # named) tells the listener what to expect next.
        listener = self._listener = Listener(self.audio.sample_rate)
        hears_notes = self.midi is None
        for chunk in self.audio.chunks(self.stop_event):
            heard, window = listener.push(chunk)
            if hears_notes and (heard.notes or heard.note_ends):
                self.on_heard(heard, listener)
                self._keep_step()
            if window is not None:
                self.on_audio_window(window)
            if chunk.end_of_take:  # a replayed file's pass: one take
                with self._lock:
                    self._end_session("source_ended")

    def _keep_step(self) -> None:
        """In lockstep, waits (off the lock) for the look-up the last note started."""
        if self._lockstep and self._lookup is not None:
            lookup, self._lookup = self._lookup, None
            lookup.result()

    # ---------------------------------------------------------------- MIDI

    def on_midi(self, timed: TimedMessage) -> None:
        with self._lock:
            if timed.end_of_take:
                self._end_session("source_ended")
                return
            msg = timed.message
            if msg is None:
                if self.sessions.idle_expired(timed.time):
                    self._end_session("idle")
                return
            self._on_message(timed.time, msg)

    def _on_message(self, t: float, msg: mido.Message) -> None:
        if msg.type == "note_on" and msg.velocity > 0:
            self._activity(t, is_note=True)
            session_time = self.sessions.session_time(t)
            seq = self._emit(
                NoteOn,
                pitch=msg.note,
                velocity=msg.velocity,
                channel=msg.channel,
                session_time=session_time,
                position=self._played(session_time, msg.note, msg.velocity, msg.channel),
            )
            self._placed(seq)
            self.stats.notes += 1
        elif msg.type in ("note_off", "note_on"):
            if self.sessions.current is None:
                return  # a release from before the session: nothing to pair it with
            self._take.note_off(self.sessions.session_time(t), msg.note, msg.channel)
            self._emit(
                NoteOff,
                pitch=msg.note,
                velocity=msg.velocity if msg.type == "note_off" else 0,
                channel=msg.channel,
                session_time=self.sessions.session_time(t),
            )
        elif msg.type == "control_change" and msg.control in PEDALS:
            if self.sessions.current is None and msg.value < 64:
                return
            self._activity(t, is_note=False)
            self._emit(
                Pedal,
                pedal=PEDALS[msg.control],
                value=msg.value,
                session_time=self.sessions.session_time(t),
            )

    # ---------------------------------------------------------------- audio

    def on_audio_window(self, window: AudioWindow) -> None:
        with self._lock:
            if window.onset_times:
                self._activity(window.start + window.onset_times[0], is_note=False)
            elif self.sessions.idle_expired(window.start):
                self._end_session("idle")
            if self.sessions.current is None:
                return
            self._emit(
                AudioFeatures,
                session_time=self.sessions.session_time(window.start),
                window_seconds=window.duration,
                rms_dbfs=window.rms_dbfs,
                peak_dbfs=window.peak_dbfs,
                onset_times=[
                    self.sessions.session_time(window.start + o) for o in window.onset_times
                ],
            )

    def on_heard(self, heard: Heard, listener: Listener | None = None) -> None:
        """Notes the microphone heard (an acoustic piano): published like MIDI notes. Once
        the piece is followed, `listener` is told which pitches the score expects next."""
        with self._lock:
            for end in heard.note_ends:
                if self.sessions.current is not None:
                    self._heard_ending(end)
            for note in heard.notes:
                self._heard_note(note)
            if listener is not None and heard.notes:  # the player moved on: what comes next?
                listener.expect(self._live.expected_next() if self._live else ())

    def _heard_note(self, note: HeardNote) -> None:
        self._activity(note.time, is_note=True)
        session_time = self.sessions.session_time(note.time)
        velocity = max(1, note.velocity)
        seq = self._emit(
            NoteOn,
            pitch=note.pitch,
            velocity=velocity,
            session_time=session_time,
            origin="audio",
            position=self._played(
                session_time,
                note.pitch,
                velocity,
                sure=note.confidence >= RECOGNITION_CONFIDENCE,
            ),
        )
        self._placed(seq)
        self.stats.notes += 1
        self.stats.informed_notes += note.informed

    def _heard_ending(self, end: HeardNote) -> None:
        session_time = self.sessions.session_time(end.time)
        self._take.note_off(session_time, end.pitch)
        self._emit(NoteOff, pitch=end.pitch, session_time=session_time, origin="audio")

    # ---------------------------------------------------------------- sessions and output

    def _activity(self, t: float, *, is_note: bool) -> None:
        started = self.sessions.on_activity(t, is_note=is_note)
        if started is not None:
            self._start_session(started)

    def _start_session(self, session: ActiveSession) -> None:
        source = " + ".join(s.description for s in (self.midi, self.audio) if s is not None)
        ts = utc_now()
        self._take, self._live, self._recognising = TakeRecorder(), None, False
        self._sure, self._tried_at = TakeRecorder(), 0
        self._emit(SessionStarted, ts=ts, source=source)
        self.stats.sessions += 1
        state = SessionState(
            device_id=self.device_id, session_id=session.id, started_at=ts, source=source
        )
        self._retain(self.topics.device_session(self.device_id), encode(state))
        log.info("session %s started (%s)", session.id, source)

    def _end_session(self, reason: str) -> None:
        session = self.sessions.current
        if session is None:
            return
        self._emit(
            SessionEnded,
            duration_seconds=max(0.0, session.last_activity - session.start),
            note_count=session.note_count,
            reason=reason,
        )
        self.sessions.end()
        self._retain(self.topics.device_session(self.device_id), b"")
        log.info("session %s ended (%s, %d notes)", session.id, reason, session.note_count)
        if self.assessor is not None:
            evidence = self._evidence().snapshot()
            take, self._take = self._take.finish(), TakeRecorder()
            recognition = self._live.recognition if self._live else None
            self._pending.append(
                self._analysis_worker.submit(self._analyse, session.id, take, recognition, evidence)
            )
        self._live, self._recognising = None, False

    # ---------------------------------------------------------------- live score following

    def _evidence(self) -> TakeRecorder:
        return self._sure if self.midi is None else self._take

    def _played(
        self,
        session_time: float,
        pitch: int,
        velocity: int,
        channel: int = 0,
        *,
        sure: bool = True,
    ) -> ScorePosition | None:
        """Records a struck note; its place in the piece once the piece is known. Looks the
        piece up (on the worker) when enough notes have been played (`sure`: a heard note the
        engine was sure of, evidence for the look-up)."""
        self._take.note_on(session_time, pitch, velocity, channel)
        if sure and self.midi is None:
            self._sure.note_on(session_time, pitch, velocity, channel)
        if self._live is not None:
            return self._live.place(pitch, session_time, velocity)
        session = self.sessions.current
        evidence = len(self._evidence())
        wanted = (
            self.assessor is not None
            and evidence in SessionAssessor.RECOGNISE_AT
            and evidence != self._tried_at
        )
        if wanted and session is not None and not self._recognising:
            self._recognising, self._tried_at = True, evidence
            self._lookup = self._analysis_worker.submit(
                self._recognise, session.id, self._evidence().snapshot(), self._take.snapshot()
            )
            self._pending.append(self._lookup)
        return None

    def _placed(self, seq: int) -> None:
        """The note just played went out as note_on `seq`; earlier notes the follower placed
        anew on it go out as positions_revised."""
        if self._live is None:
            return
        self._live.bind(seq)
        revisions = self._live.take_revisions()
        for start in range(0, len(revisions), MAX_REVISIONS):
            self._emit(PositionsRevised, revisions=revisions[start : start + MAX_REVISIONS])

    def _recognise(
        self, session_id: uuid.UUID, evidence: TakeRecorder, snapshot: TakeRecorder
    ) -> None:
        assert self.assessor is not None
        try:
            recognition = self.assessor.recognise(evidence)
            live = (
                LiveScore(
                    recognition,
                    self.assessor.follower(recognition),
                    self.assessor.groups(recognition),
                )
                if recognition
                else None
            )
            if live is not None:  # catch up with the notes that named it, off the lock
                for pitch, onset, velocity in zip(
                    snapshot.pitch, snapshot.onset, snapshot.velocity, strict=True
                ):
                    live.place(pitch, onset, velocity)
        except Exception:  # following is a bonus: the session goes on without it
            log.exception("could not recognise the piece of session %s", session_id)
            live = None
        again = self._hear_again(session_id, live) if live is not None else None
        with self._lock:
            current = self.sessions.current
            if current is None or current.id != session_id:
                return  # the session ended meanwhile: its analysis will name the piece
            self._recognising = False
            if live is None:
                return
            take = self._take
            for k in range(len(snapshot), len(take)):  # and with those played meanwhile
                live.place(take.pitch[k], take.onset[k], take.velocity[k])
            if again is not None:  # for the analysis: the notes heard blind, heard again
                since, cut, notes = again
                take.replace_between(since, cut, notes)
                self.stats.heard_again += sum(1 for t in notes.onset if since <= t < cut)
            self._live = live
            found = live.recognition
            self._emit(
                PieceRecognised,
                session_id=session_id,
                piece=found.title,
                score=found.name[:500],
                bar=found.bar,
                confidence=found.confidence,
                notes_used=found.notes_used,
            )
        log.info("session %s: playing %s from bar %s", session_id, found.title, found.bar)

    def _hear_again(
        self, session_id: uuid.UUID, live: LiveScore
    ) -> tuple[float, float, TakeRecorder] | None:
        """With a microphone only: the session's audio so far (as much as the listener kept)
        heard again now that the piece is known, the score telling the engine what comes
        next: (since, cut, notes), session seconds, the notes struck from `since` to before
        `cut` standing for the live ones. On the worker; None if nothing can be heard again."""
        listener = self._listener
        if self.midi is not None or listener is None or self.assessor is None:
            return None
        with self._lock:
            current = self.sessions.current
            if current is None or current.id != session_id:
                return None
            session_start = current.start
        from .analysis import relisten

        try:
            start, samples = listener.recording(since=session_start - 0.5)
            follow = LiveScore(
                live.recognition,
                self.assessor.follower(live.recognition),
                live.groups,
            )
            again = TakeRecorder()

            def heard(told: Heard) -> tuple[int, ...]:
                for end in told.note_ends:
                    if end.time >= session_start:
                        again.note_off(end.time - session_start, end.pitch)
                for note in told.notes:
                    if note.time >= session_start:
                        velocity = max(1, note.velocity)
                        again.note_on(note.time - session_start, note.pitch, velocity)
                        follow.place(note.pitch, note.time - session_start, velocity)
                return follow.expected_next()

            relisten(samples, listener.sample_rate, start, heard)
        except Exception:  # the notes heard live stand
            log.exception("could not hear session %s again", session_id)
            return None
        # Notes near the end of the recording are not decided yet: the live ones stand there.
        cut = start + len(samples) / listener.sample_rate - UNDECIDED_SECONDS - session_start
        # The first moments of a recording that began mid-session are heard without what
        # came before: from there on only.
        since = 0.0 if start <= session_start else start - session_start + UNDECIDED_SECONDS
        log.info("session %s: %d notes heard again with the score", session_id, len(again))
        return since, max(since, cut), again

    # ---------------------------------------------------------------- analysis (worker thread)

    def _warm_up(self) -> None:
        if self.assessor is None:
            return
        try:
            self.assessor.warm_up()
        except Exception:  # a broken library must not stop the bridge: it plays on, unassessed
            log.exception("could not index the score library")

    def _analyse(
        self,
        session_id: uuid.UUID,
        take: TakeRecorder,
        recognition: Recognition | None,
        evidence: TakeRecorder | None = None,
    ) -> None:
        assert self.assessor is not None
        try:
            fields = self.assessor.analyse(take, recognition, evidence=evidence)
        except Exception:  # the notes are already safe in the outbox; only the analysis is lost
            log.exception("could not analyse session %s", session_id)
            return
        if fields is None:
            return
        with self._lock:
            self._emit(SessionAnalysis, session_id=session_id, **fields)
            self.stats.analyses += 1
        log.info(
            "session %s: %s, score %s",
            session_id,
            fields.get("piece") or "free play",
            fields.get("overall_score"),
        )

    def _emit(self, event_type: type[EventBase], **fields: Any) -> int:
        """Store one event in the outbox (it takes the next seq), then wake the publisher.
        Device, seq, time and the current session are filled in here."""
        fields.setdefault("session_id", self.sessions.current.id if self.sessions.current else None)

        def build(seq: int) -> tuple[str, bytes]:
            fields.setdefault("ts", utc_now())
            event = event_type(device_id=self.device_id, seq=seq, **fields)
            return self.topics.event(self.device_id, event.kind), encode(event)  # type: ignore[attr-defined]

        seq = self.outbox.append(build)
        self.stats.events += 1
        if self.mqtt is not None:
            self.mqtt.notify()
        return seq

    def _retain(self, topic: str, payload: bytes) -> None:
        if self.mqtt is not None:
            self.mqtt.publish_retained(topic, payload)
