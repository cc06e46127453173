"""The HTTP API (/api/v1), the WebSocket live stream and the page."""
