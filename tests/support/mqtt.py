"""A plain paho client for tests that speak to the broker directly."""

from __future__ import annotations

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


def publish_all(port: int, messages: list[tuple[str, bytes]], retain: bool = False) -> None:
    """Publish in order with QoS 1 and wait until the broker acknowledged each."""
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload in messages:
            info = client.publish(topic, payload, qos=1, retain=retain)
            info.wait_for_publish(timeout=10)
            assert info.is_published(), f"broker did not acknowledge {topic}"
    finally:
        client.disconnect()
        client.loop_stop()
