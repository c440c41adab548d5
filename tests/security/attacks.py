"""Runs the attack tables (``*.yaml`` here) against a real server; shared by the security
tests and ``bench/security.py``.

Each member is sent as its ``kind`` says and comes back as an :class:`Outcome`: the statuses
and error codes it got, WebSocket messages left without an answer, and what went wrong
(a 5xx, a dropped connection, an answer outside ``expect``)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

HERE = Path(__file__).parent
TIMEOUT = 60.0
"""Longest any one answer may take here: a refusal comes in milliseconds, audio in seconds;
this only keeps a hanging server from hanging the suite."""


@dataclass
class Member:
    klass: str
    name: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.klass}: {self.name}"


@dataclass
class Outcome:
    statuses: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def load(name: str) -> list[Member]:
    data = yaml.safe_load((HERE / name).read_text("utf-8"))
    return [Member(block["class"], m["name"], m) for block in data for m in block["members"]]


def value(expr: str, **names: Any) -> Any:
    """A payload written as a Python expression (literals, ``*`` and ``+``: no builtins)."""
    return eval(expr, {"__builtins__": {}, "True": True, "False": False, "None": None}, names)


def variants(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The member's names for ``each`` (one send per combination), or none."""
    each = spec.get("each") or {}
    keys = list(each)
    for combo in product(*(each[k] for k in keys)):
        yield dict(zip(keys, combo, strict=True))


def run(member: Member, url: str, **context: Any) -> Outcome:
    kind = member.spec["kind"]
    start = time.perf_counter()
    out = RUNNERS[kind](member.spec, url, context)
    out.seconds = time.perf_counter() - start
    expect = member.spec.get("expect")
    if expect is not None:
        out.problems += [f"status {s} not in {expect}" for s in out.statuses if s not in expect]
    codes = member.spec.get("codes")
    if codes is not None:
        out.problems += [f"code {c!r} not in {codes}" for c in out.codes if c not in codes]
    out.problems += [f"server error {s}" for s in out.statuses if s >= 500 and s != 503]
    return out


# --- HTTP ------------------------------------------------------------------------------


def _http_once(spec: dict[str, Any], url: str, names: dict[str, Any]) -> tuple[int, str]:
    kwargs: dict[str, Any] = {"timeout": TIMEOUT}
    if "json" in spec:
        kwargs["json"] = value(spec["json"], **names)
    if "query" in spec:
        kwargs["params"] = value(spec["query"], **names)
    if "content" in spec:
        content = value(spec["content"], **names)
        kwargs["content"] = (
            content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
        )
        kwargs["headers"] = {"content-type": "application/json"}
    with httpx.Client() as client, client.stream(spec["method"], url + spec["path"], **kwargs) as r:
        data = b"".join(r.iter_bytes())
    code = ""
    if r.status_code >= 400:
        try:
            code = json.loads(data)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = "(no JSON error body)"
    return r.status_code, code


def _http(spec: dict[str, Any], url: str, context: dict[str, Any]) -> Outcome:
    out = Outcome()
    calls = [names for names in variants(spec) for _ in range(spec.get("times", 1))]
    with ThreadPoolExecutor(max(1, spec.get("times", 1))) as pool:
        for status, code in pool.map(lambda n: _http_once(spec, url, n), calls):
            out.statuses.append(status)
            if code:
                out.codes.append(code)
                if code == "(no JSON error body)":
                    out.problems.append(f"{status} without a JSON error body")
    return out


def _chunked(spec: dict[str, Any], url: str, context: dict[str, Any]) -> Outcome:
    """A body with no Content-Length, sent as fast as the server takes it."""
    out = Outcome()

    def one(_: int) -> int:
        host, port = _address(url)
        with socket.create_connection((host, port), timeout=TIMEOUT) as s:
            s.sendall(
                f"POST {spec['path']} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n".encode()
            )
            piece = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
            try:
                for _ in range(spec["megabytes"] * 16):
                    s.sendall(piece)
                s.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # refused before the end: what should happen
            return _status(s)

    with ThreadPoolExecutor(spec.get("times", 1)) as pool:
        out.statuses += list(pool.map(one, range(spec.get("times", 1))))
    return out


def _raw(spec: dict[str, Any], url: str, context: dict[str, Any]) -> Outcome:
    """Bytes over a socket, all at once or a byte at a time every ``trickle`` seconds."""
    data: bytes = value(spec["bytes"])
    host, port = _address(url)
    with socket.create_connection((host, port), timeout=TIMEOUT) as s:
        try:
            if spec.get("trickle"):
                for b in data:
                    s.sendall(bytes([b]))
                    time.sleep(spec["trickle"])
                    if _closed(s):
                        break
            else:
                s.sendall(data)
        except OSError:
            pass
        return Outcome(statuses=[_status(s)])


def _closed(s: socket.socket) -> bool:
    """Has the server answered (or closed) already? Peeks without waiting."""
    timeout = s.gettimeout()
    s.setblocking(False)
    try:
        return bool(s.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.settimeout(timeout)  # setblocking(True) would wait forever on a silent server


def _status(s: socket.socket) -> int:
    """The status of the first answer on the socket; 0 when it closed without one."""
    buf = b""
    try:
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    except OSError:
        pass
    parts = buf.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _address(url: str) -> tuple[str, int]:
    u = urlsplit(url)
    return u.hostname or "127.0.0.1", u.port or 80


# --- WebSocket -------------------------------------------------------------------------


def _ws(spec: dict[str, Any], url: str, context: dict[str, Any]) -> Outcome:
    """Every message answered (``end`` or an error frame), and the socket still usable."""
    out = Outcome()
    ws_url = url.replace("http", "ws", 1) + "/ws/tts"
    try:
        with connect(ws_url, max_size=None, open_timeout=10, close_timeout=5) as ws:
            for expr in spec["messages"]:
                message = value(expr)
                ws.send(json.dumps(message) if isinstance(message, dict) else message)
                frame = _answer(ws)
                if frame.get("type") == "error":
                    out.codes.append(frame["error"]["code"])
                    out.statuses.append(400)
                else:
                    out.statuses.append(200)
            ws.send(json.dumps({"text": "好。"}))  # still usable
            if _answer(ws).get("type") != "end":
                out.problems.append("the socket did not serve a good request after them")
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else None
        if code != spec.get("closes"):
            out.problems.append(f"connection dropped without an error frame (close {code})")
        return out
    if spec.get("closes"):
        out.problems.append(f"expected close {spec['closes']}, the socket stayed open")
    return out


def _answer(ws: Any) -> dict[str, Any]:
    """Frames until this request's last one (``end`` or ``error``)."""
    while True:
        frame = ws.recv(timeout=TIMEOUT)
        if isinstance(frame, str):
            data = json.loads(frame)
            if data.get("type") in ("end", "error"):
                return dict(data)


# --- slow readers ----------------------------------------------------------------------

READER_TEXT = "今天天气很好，我们去公园散步吧。" * 30


def _slow_reader(spec: dict[str, Any], url: str, context: dict[str, Any]) -> Outcome:
    """Ask for a long answer, read its first bytes, then nothing: the server must drop the
    connection and free the request's slot within ``send_timeout`` of its stalled send
    (``context['drop_seen']`` finds that moment in the server's log)."""
    out = Outcome()
    transport = spec["transport"]
    host, port = _address(url)
    stack = ExitStack()
    if transport == "ws":
        ws = stack.enter_context(connect(url.replace("http", "ws", 1) + "/ws/tts", max_size=None))
        ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ws.send(json.dumps({"text": READER_TEXT, "format": "pcm", "sample_rate": 48000}))
        ws.recv(timeout=TIMEOUT)  # the start frame; then never again
    else:
        s = stack.enter_context(socket.socket())
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, port))
        body = json.dumps(
            {
                "text": READER_TEXT,
                "format": "pcm",
                "sample_rate": 48000,
                "stream": transport == "http",
                "timestamps": True,
            }
        ).encode()
        s.sendall(
            b"POST /tts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        s.recv(1024)
    with stack:
        drop: Callable[[], float | None] = context["drop_seen"]
        deadline = time.monotonic() + TIMEOUT
        since = None
        while time.monotonic() < deadline and since is None:
            since = drop()
            time.sleep(0.05)
        if since is None:
            out.problems.append("the server never dropped the stalled reader")
            return out
        free = None
        while time.monotonic() < deadline:
            if httpx.get(url + "/ready", timeout=10).json()["inflight"] == 0:
                free = time.time()
                break
            time.sleep(0.05)
        if free is None:
            out.problems.append("the slot was never freed")
            return out
        out.codes.append(f"freed {free - since:.2f} s after the stall began")
        limit = context["send_timeout"] + 1.0
        if free - since > limit:
            out.problems.append(f"slot freed {free - since:.1f} s after the stall (> {limit} s)")
    return out


RUNNERS: dict[str, Callable[[dict[str, Any], str, dict[str, Any]], Outcome]] = {
    "http": _http,
    "chunked": _chunked,
    "raw": _raw,
    "ws": _ws,
    "slow_reader": _slow_reader,
}
