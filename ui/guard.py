"""Two guards in front of the Gradio app, as one ASGI middleware (`Guard`):

- **Login throttling.** Gradio's login route checks a password as fast as it is asked (30 wrong
  passwords in 3 s). Per client address, the answer to a failed login is held back 1, 2, 4 … s
  (`Settings.login_fail_delay`, doubled per failure in a row, capped at `login_max_delay`), and
  while it is held, or while a try is in flight, further tries from that address are refused at once
  (HTTP 429, `Retry-After`) without reaching the password check. A success resets the count.
  The auth callable cannot do this: Gradio calls it with the user name and password only, not the
  client, and a blocking sleep there would stall the event loop for everyone.
- **Chinese refusals.** Gradio's own refusals on these routes are English ("Incorrect credentials.",
  "File size exceeded maximum allowed size of … bytes."); they are replaced by Chinese JSON
  `{"detail": …}` bodies, status kept. (The browser's login page shows its own localised note for a
  400; the upload size toast is translated in the page, see `ui.app.size_toast_js`.)

Behind a reverse proxy, uvicorn rewrites the client address from X-Forwarded-For only for trusted
proxies (127.0.0.1 by default), so every client is still counted on its own.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WRONG_LOGIN = "用户名或密码错误。"
THROTTLED = "登录失败次数过多，请 {s} 秒后再试。"
UPLOAD_TOO_LARGE = "文件过大，已拒绝上传（单个文件不超过 {mb} MB）。"

# A client's failures are forgotten after this long without one, so a typo last week does not
# make today's first typo wait long; the table of clients is pruned on the same clock.
_FORGET_AFTER = 3600.0
_PRUNE_AT = 10_000


@dataclass
class _Client:
    failures: int = 0
    blocked_until: float = 0.0
    last_failure: float = 0.0
    in_flight: bool = False


class LoginThrottle:
    """Failed-login bookkeeping per client address; the wait doubles with each failure in a row.

    >>> t = LoginThrottle(base=1.0, cap=5.0, clock=lambda: 100.0)
    >>> [t.failed("a") for _ in range(5)]
    [1.0, 2.0, 4.0, 5.0, 5.0]
    >>> t.succeeded("a"); t.failed("a")
    1.0
    """

    def __init__(self, base: float, cap: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.base, self.cap, self.clock = base, cap, clock
        self._clients: dict[str, _Client] = {}

    def _get(self, client: str) -> _Client:
        now = self.clock()
        c = self._clients.get(client)
        if c is not None and c.failures and not c.in_flight and now - c.last_failure > _FORGET_AFTER:
            c = None
        if c is None:
            if len(self._clients) >= _PRUNE_AT:  # many addresses (a scan): drop the idle ones
                self._clients = {
                    k: v for k, v in self._clients.items() if v.in_flight or now - v.last_failure <= _FORGET_AFTER
                }
            c = self._clients[client] = _Client()
        return c

    def wait(self, client: str) -> float:
        """Seconds before `client` may try again (0 = now)."""
        c = self._get(client)
        return max(0.0, c.blocked_until - self.clock())

    def failed(self, client: str) -> float:
        """Record a failure; returns the wait it earns."""
        c = self._get(client)
        c.failures += 1
        delay = min(self.base * 2 ** (c.failures - 1), self.cap)
        c.last_failure = now = self.clock()
        c.blocked_until = now + delay
        return delay

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)

    def begin(self, client: str) -> bool:
        """Claim the client's one login slot; False while another try of its is in flight or it must wait."""
        c = self._get(client)
        if c.in_flight or c.blocked_until > self.clock():
            return False
        c.in_flight = True
        return True

    def end(self, client: str) -> None:
        c = self._clients.get(client)
        if c is not None:
            c.in_flight = False


class Guard:
    """ASGI middleware: login throttling and Chinese refusals (see the module docstring).

    `throttle` None turns throttling off (no login configured).
    """

    def __init__(self, app: ASGIApp, throttle: LoginThrottle | None = None, max_upload_bytes: int = 0) -> None:
        self.app, self.throttle, self.max_upload_bytes = app, throttle, max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").rstrip("/")
        if path.endswith("/login"):
            await self._login(scope, receive, send)
        elif path.endswith("/upload"):
            await self.app(scope, receive, _replace_refusal(send, 413, self._upload_refusal))
        else:
            await self.app(scope, receive, send)

    def _upload_refusal(self) -> str:
        return UPLOAD_TOO_LARGE.format(mb=f"{self.max_upload_bytes / 1e6:g}")

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        t = self.throttle
        if t is None:
            await self.app(scope, receive, _replace_refusal(send, 400, lambda: WRONG_LOGIN))
            return
        client = (scope.get("client") or ("?", 0))[0]
        if not t.begin(client):
            wait = max(1, math.ceil(t.wait(client)))
            await _json(send, 429, THROTTLED.format(s=wait), [(b"retry-after", str(wait).encode())])
            return
        status: list[int] = []
        held: list[Message] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            if status and status[0] == 400:
                held.append(message)  # the refusal goes out later, in Chinese, after the wait
            else:
                await send(message)

        try:
            await self.app(scope, receive, capture)
            if status and status[0] == 400:
                delay = t.failed(client)
                await asyncio.sleep(delay)
                await _json(send, 400, WRONG_LOGIN)
            elif status and status[0] < 400:
                t.succeeded(client)
        finally:
            t.end(client)


def _replace_refusal(send: Send, status: int, text: Callable[[], str]) -> Send:
    """A `send` that swaps the body of a response with `status` for a Chinese {"detail"}."""
    state: dict[str, bool] = {"swap": False}

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == status:
            state["swap"] = True
            return
        if state["swap"]:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await _json(send, status, text())
            return
        await send(message)

    return wrapped


async def _json(send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
