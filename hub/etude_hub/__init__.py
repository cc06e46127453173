"""Etude hub: MQTT ingest → database → REST/WebSocket API and the web page."""

__version__ = "0.1.0"
