"""WebSocket admission: optional API key (Bearer header, the browser's
`openai-insecure-api-key.KEY` subprotocol, or `?api_key=` for clients that can set neither),
the `realtime` subprotocol when offered, and a polite refusal otherwise."""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

KEY_PROTOCOL = "openai-insecure-api-key."


def _offered(ws: HTTPConnection) -> list[str]:
    return list(ws.scope.get("subprotocols") or [])


def choose_subprotocol(ws: WebSocket) -> str | None:
    return "realtime" if "realtime" in _offered(ws) else None


def authorized(ws: HTTPConnection, api_key: str | None) -> bool:
    if api_key is None:
        return True
    candidates: list[str] = []
    header = ws.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        candidates.append(header[7:].strip())
    candidates += [p[len(KEY_PROTOCOL) :] for p in _offered(ws) if p.startswith(KEY_PROTOCOL)]
    if "api_key" in ws.query_params:
        candidates.append(ws.query_params["api_key"])
    return any(hmac.compare_digest(c.encode(), api_key.encode()) for c in candidates)


async def refuse(ws: WebSocket, status: int, code: str, message: str) -> None:
    """An HTTP error before the upgrade where the server supports it, else close 1008."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        body = {"error": {"type": "invalid_request_error", "code": code, "message": message}}
        await ws.send_denial_response(JSONResponse(body, status_code=status))
    else:
        await ws.close(code=1008 if status in (401, 403) else 1013, reason=message[:120])


async def admit(
    ws: WebSocket, api_key: str | None, full: bool, max_sessions: int | None, key_hint: str = ""
) -> bool:
    """The checks every endpoint makes before accepting: the key, then the session limit.
    A refused connection is answered with an HTTP error and False is returned."""
    if not authorized(ws, api_key):
        await refuse(ws, 401, "invalid_api_key", f"missing or wrong API key{key_hint}")
        return False
    if full:
        await refuse(
            ws, 503, "server_busy", f"the server is at its limit of {max_sessions} sessions"
        )
        return False
    return True
