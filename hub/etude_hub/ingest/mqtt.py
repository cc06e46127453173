"""The hub's MQTT connection (paho-mqtt 2.x), handing messages to asyncio.

A persistent session (clean_session=False, fixed client id) makes the broker keep QoS 1
messages while the hub is away. Messages are acknowledged by hand, only after the pipeline
has committed them, so a hub killed mid-batch gets them again instead of losing them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from etude_protocol import QOS, Availability, Topics, encode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    topic: str
    payload: bytes
    retain: bool
    mid: int
    qos: int


class HubMqtt:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        topics: Topics,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.topics = topics
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue()
        self.connected = asyncio.Event()
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=paho.MQTTv311,
            manual_ack=True,
        )
        if username:
            client.username_pw_set(username, password)
        client.will_set(topics.hub_state(), encode(Availability(state="offline")), QOS, True)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.max_inflight_messages_set(1000)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()

    async def stop(self) -> None:
        self._stopping = True
        if self._client.is_connected():
            info = self._client.publish(
                self.topics.hub_state(), encode(Availability(state="offline")), QOS, True
            )
            await asyncio.to_thread(info.wait_for_publish, 2.0)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    def ack(self, message: Incoming) -> None:
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    # paho's network thread calls these; hand everything to the event loop.
    def _on_connect(
        self, client: paho.Client, _u: object, _f: object, reason: object, _p: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT connection refused: %s", reason)
            return
        subs = [
            (self.topics.all_events(), QOS),
            (self.topics.all_device_states(), QOS),
            (self.topics.all_device_infos(), QOS),
        ]
        client.subscribe(subs)
        client.publish(self.topics.hub_state(), encode(Availability(state="online")), QOS, True)
        log.info("MQTT connected to %s:%s", self._host, self._port)

    def _on_subscribe(
        self,
        _c: paho.Client,
        _u: object,
        _mid: int,
        reasons: list[ReasonCode],
        _p: Properties | None,
    ) -> None:
        # Connected means subscribed: what is published from now on reaches the hub.
        if any(r.is_failure for r in reasons):
            log.error("MQTT subscription refused: %s", reasons)
            return
        self._call(self.connected.set)

    def _on_disconnect(
        self, _c: paho.Client, _u: object, _f: object, reason: object, _p: object
    ) -> None:
        if not self._stopping:
            log.warning("MQTT disconnected (%s); paho reconnects", reason)
        self._call(self.connected.clear)

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        incoming = Incoming(msg.topic, bytes(msg.payload), bool(msg.retain), msg.mid, msg.qos)
        self._call(self.queue.put_nowait, incoming)

    def _call(self, fn: object, *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn, *args)  # type: ignore[arg-type]
