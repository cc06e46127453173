"""The bridge's MQTT side (paho-mqtt 2.x): availability, device info and the outbox pump.

Birth and will follow the zigbee2mqtt / Home Assistant convention: the will sets the
retained ``state`` to offline; after each connect the bridge publishes ``online`` and its
``info``. A publisher thread sends outbox items oldest first, at most ``window`` unacknowledged
at a time, and deletes each only when its PUBACK arrives. paho resends in-flight messages
after a reconnect, so an item is never dropped between the two.
"""

from __future__ import annotations

import logging
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from etude_protocol import QOS, Availability, DeviceInfo, ProtocolError, Topics, decode, encode

from .outbox import Outbox

log = logging.getLogger(__name__)


class BridgeMqtt:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        topics: Topics,
        info: DeviceInfo,
        outbox: Outbox,
        username: str | None = None,
        password: str | None = None,
        wait_for_hub: bool = True,
        window: int = 200,
    ) -> None:
        self.topics = topics
        self.info = info
        self.outbox = outbox
        self.window = window
        self.wait_for_hub = wait_for_hub
        self.connected = threading.Event()
        self.hub_online = threading.Event()
        self._hub_state: str | None = None
        self._host, self._port = host, port
        self._wake = threading.Condition()
        self._inflight: dict[int, int] = {}  # mid -> seq
        # PUBACKs whose mid the pump had not recorded yet (or retained publishes): mid -> time.
        self._early_acks: dict[int, float] = {}
        self._last_sent = 0
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"etude-bridge-{info.device_id}",
            clean_session=True,
            protocol=paho.MQTTv311,
        )
        if username:
            client.username_pw_set(username, password)
        client.will_set(self._state_topic, encode(Availability(state="offline")), QOS, True)
        client.reconnect_delay_set(min_delay=1, max_delay=15)
        client.max_inflight_messages_set(window)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        self._client = client

    @property
    def _state_topic(self) -> str:
        return self.topics.device_state(self.info.device_id)

    def start(self) -> None:
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        self._pump = threading.Thread(target=self._pump_outbox, name="outbox-pump", daemon=True)
        self._pump.start()

    def notify(self) -> None:
        """Wake the pump: something was appended to the outbox."""
        with self._wake:
            self._wake.notify()

    def publish_retained(self, topic: str, payload: bytes) -> None:
        """Retained state (not an event): sent directly, the latest value is what counts."""
        self._client.publish(topic, payload, QOS, retain=True)

    def drain(self, timeout: float) -> bool:
        """Wait until the outbox is empty (everything acknowledged by the broker)."""
        deadline = threading.Event()
        waited = 0.0
        while len(self.outbox) and waited < timeout:
            deadline.wait(0.05)
            waited += 0.05
            self.notify()
        return len(self.outbox) == 0

    def stop(self) -> None:
        self._stop.set()
        self.notify()
        if self._pump:
            self._pump.join(timeout=5)
        if self._client.is_connected():
            info = self._client.publish(
                self._state_topic, encode(Availability(state="offline")), QOS, True
            )
            info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()

    # ---------------------------------------------------------------- the pump

    def _ready(self) -> bool:
        if not self.connected.is_set():
            return False
        return self.hub_online.is_set() or not self.wait_for_hub

    def _pump_outbox(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                room = self.window - len(self._inflight)
                if not self._ready() or room <= 0:
                    self._wake.wait(timeout=0.5)
                    continue
                after = self._last_sent
            items = self.outbox.pending(after_seq=after, limit=room)
            if not items:
                with self._wake:
                    self._wake.wait(timeout=0.5)
                continue
            for item in items:
                # Never hold our lock while calling into paho: its network thread calls
                # _on_publish with paho's own locks held.
                info = self._client.publish(item.topic, item.payload, QOS)
                if info.rc == paho.MQTT_ERR_QUEUE_SIZE:
                    break
                with self._wake:
                    self._last_sent = item.seq
                    acked_already = self._early_acks.pop(info.mid, None) is not None
                    if not acked_already:
                        self._inflight[info.mid] = item.seq
                if acked_already:
                    self.outbox.delete(item.seq)

    # ---------------------------------------------------------------- paho callbacks

    def _on_connect(
        self, client: paho.Client, _u: object, _f: object, reason: object, _p: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT connection refused: %s", reason)
            return
        client.subscribe(self.topics.hub_state(), QOS)
        client.publish(self._state_topic, encode(Availability(state="online")), QOS, True)
        client.publish(self.topics.device_info(self.info.device_id), encode(self.info), QOS, True)
        log.info("MQTT connected to %s:%s as %s", self._host, self._port, self.info.device_id)
        self.connected.set()
        self.notify()

    def _on_disconnect(
        self, _c: paho.Client, _u: object, _f: object, reason: object, _p: object
    ) -> None:
        if self.connected.is_set() and not self._stop.is_set():
            log.warning("MQTT disconnected (%s); events wait in the outbox", reason)
        self.connected.clear()

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        if msg.topic != self.topics.hub_state() or not msg.payload:
            return
        try:
            state = decode(Availability, bytes(msg.payload)).state
        except ProtocolError as exc:
            log.warning("ignoring bad hub state: %s", exc)
            return
        changed, self._hub_state = state != self._hub_state, state
        if state == "online":
            if changed:
                log.info("hub is online: delivering the outbox")
            self.hub_online.set()
            self.notify()
        else:
            if changed:
                log.warning("hub is offline: holding events in the outbox")
            self.hub_online.clear()

    def _on_publish(self, _c: paho.Client, _u: object, mid: int, _r: object, _p: object) -> None:
        with self._wake:
            seq = self._inflight.pop(mid, None)
            if seq is None:
                now = time.monotonic()
                self._early_acks[mid] = now
                if len(self._early_acks) > 64:  # forget stale ones before mids wrap around
                    self._early_acks = {m: t for m, t in self._early_acks.items() if now - t < 5}
            self._wake.notify()
        if seq is not None:
            self.outbox.delete(seq)
