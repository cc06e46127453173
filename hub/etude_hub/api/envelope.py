from __future__ import annotations

from typing import Any

from aiohttp import web


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response({"status": "ok", "data": data}, status=status)
