"""A minimal RFC 6455 client for the load generator.

The stock client libraries cost several times more CPU per frame than the servers being
measured, so thousands of subscribers on two cores would measure the client instead of the
server. This client does only what the benchmark needs: the opening handshake, parsing of
server frames (fragmented messages included), masked client frames, answering pings and closes.
It never offers permessage-deflate, so every viewer receives the same bytes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Refuse absurd frames instead of buffering them: the protocol caps frames at 64 KiB, but a
# batch can be larger than what a client may send, so allow some headroom.
MAX_MESSAGE_SIZE = 16 * 1024 * 1024


class ProtocolError(Exception):
    """The server sent something that is not valid websocket framing."""


def _mask(payload: bytes, key: bytes) -> bytes:
    # XOR through one big integer: much faster in CPython than a per-byte loop.
    if not payload:
        return payload
    length = len(payload)
    repeated = (key * (length // 4 + 1))[:length]
    masked = int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")
    return masked.to_bytes(length, "little")


def encode_frame(opcode: int, payload: bytes, *, mask_key: bytes | None = None) -> bytes:
    """One final client frame; clients must mask (RFC 6455 5.3)."""
    key = os.urandom(4) if mask_key is None else mask_key
    length = len(payload)
    first = 0x80 | opcode
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    return header + key + _mask(payload, key)


class FrameParser:
    """Turns a byte stream from the server into complete messages.

    ``feed`` returns ``(opcode, payload)`` pairs: data messages reassembled from fragments, and
    control frames (which may arrive between fragments) as they come.
    """

    __slots__ = ("_buffer", "_fragments", "_fragment_opcode", "_fragment_size")

    def __init__(self) -> None:
        self._buffer = b""
        self._fragments: list[bytes] = []
        self._fragment_opcode = 0
        self._fragment_size = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buffer = self._buffer + data if self._buffer else data
        messages: list[tuple[int, bytes]] = []
        position = 0
        end = len(buffer)
        while end - position >= 2:
            first = buffer[position]
            second = buffer[position + 1]
            if first & 0x70:
                raise ProtocolError("reserved bits set; no extension was negotiated")
            length = second & 0x7F
            header = 2
            if length == 126:
                if end - position < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, position + 2)
                header = 4
            elif length == 127:
                if end - position < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, position + 2)
                header = 10
            if length > MAX_MESSAGE_SIZE:
                raise ProtocolError(f"frame of {length} bytes")
            masked = second & 0x80
            if masked:
                header += 4
            if end - position < header + length:
                break
            start = position + header
            payload = buffer[start : start + length]
            if masked:
                payload = _mask(payload, buffer[start - 4 : start])
            position = start + length
            self._frame(first & 0x80, first & 0x0F, payload, messages)
        self._buffer = buffer[position:] if position < end else b""
        return messages

    def _frame(self, fin: int, opcode: int, payload: bytes, out: list[tuple[int, bytes]]) -> None:
        if opcode >= OP_CLOSE:
            if not fin or len(payload) > 125:
                raise ProtocolError("fragmented or oversized control frame")
            out.append((opcode, payload))
            return
        if opcode == OP_CONTINUATION:
            if not self._fragments:
                raise ProtocolError("continuation frame without a first fragment")
            self._fragments.append(payload)
            self._fragment_size += len(payload)
            if self._fragment_size > MAX_MESSAGE_SIZE:
                raise ProtocolError("message too large")
            if fin:
                out.append((self._fragment_opcode, b"".join(self._fragments)))
                self._fragments = []
                self._fragment_size = 0
            return
        if opcode not in (OP_TEXT, OP_BINARY):
            raise ProtocolError(f"unknown opcode {opcode}")
        if self._fragments:
            raise ProtocolError("new message before the previous one was finished")
        if fin:
            out.append((opcode, payload))
            return
        self._fragments = [payload]
        self._fragment_opcode = opcode
        self._fragment_size = len(payload)


def close_code(payload: bytes) -> int:
    """The status code of a close frame; 1005 when it has none (RFC 6455 7.1.5)."""
    if len(payload) >= 2:
        return struct.unpack("!H", payload[:2])[0]
    return 1005


def handshake_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def handshake_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def handshake_request(host: str, port: int, path: str, key: str, subprotocols: list[str]) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if subprotocols:
        lines.append(f"Sec-WebSocket-Protocol: {', '.join(subprotocols)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def handshake_response_check(head: bytes, key: str) -> None:
    """Raise ``ProtocolError`` unless ``head`` is a valid 101 answer to ``key``."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[1] != "101":
        raise ProtocolError(f"handshake refused: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("sec-websocket-accept") != handshake_accept(key):
        raise ProtocolError("bad Sec-WebSocket-Accept")
    if "sec-websocket-extensions" in headers:
        raise ProtocolError("server negotiated an extension that was not offered")


# Called with (opcode, payload, receive time) for every data message.
MessageHandler = Callable[[int, bytes, float], None]


@dataclass
class CloseInfo:
    code: int = 1006
    reason: str = ""


class ClientProtocol(asyncio.Protocol):
    """One websocket connection. ``opened`` resolves after the handshake."""

    def __init__(
        self, host: str, port: int, path: str, subprotocols: list[str], on_message: MessageHandler
    ) -> None:
        self._request_parts = (host, port, path, subprotocols)
        self._key = handshake_key()
        self._on_message = on_message
        self._head = b""
        self._parser: FrameParser | None = None
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[CloseInfo] = loop.create_future()
        self.close_info = CloseInfo()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, hence the cast.
        self.transport = cast(asyncio.Transport, transport)
        host, port, path, subprotocols = self._request_parts
        self.transport.write(handshake_request(host, port, path, self._key, subprotocols))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if self._parser is None:
            data = self._handshake_data(data)
            if self._parser is None or not data:
                return
        try:
            messages = self._parser.feed(data)
        except ProtocolError as error:
            self._fail(1002, str(error))
            return
        for opcode, payload in messages:
            if opcode <= OP_BINARY:
                self._on_message(opcode, payload, now)
            elif opcode == OP_PING:
                self.send(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self._closing(payload)

    def _handshake_data(self, data: bytes) -> bytes:
        self._head += data
        head, separator, rest = self._head.partition(b"\r\n\r\n")
        if not separator:
            return b""
        try:
            handshake_response_check(head, self._key)
        except ProtocolError as error:
            self._fail(1002, str(error))
            return b""
        self._head = b""
        self._parser = FrameParser()
        if not self.opened.done():
            self.opened.set_result(None)
        return rest

    def _closing(self, payload: bytes) -> None:
        self.close_info = CloseInfo(close_code(payload), payload[2:].decode("utf-8", "replace"))
        # Echo the close (RFC 6455 5.5.1); the server then closes TCP.
        self.send(OP_CLOSE, payload[:2])
        if self.transport is not None:
            self.transport.close()

    def _fail(self, code: int, reason: str) -> None:
        self.close_info = CloseInfo(code, reason)
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.abort()

    def send(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(opcode, payload))

    def send_text(self, text: str) -> None:
        self.send(OP_TEXT, text.encode())

    def close(self, code: int = 1000) -> None:
        self.send(OP_CLOSE, struct.pack("!H", code))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(str(exc or "connection closed")))
        if not self.closed.done():
            self.closed.set_result(self.close_info)


async def connect(
    host: str,
    port: int,
    path: str,
    on_message: MessageHandler,
    *,
    subprotocols: list[str] | None = None,
    timeout: float = 30.0,
) -> ClientProtocol:
    """Open a websocket; raises ``ConnectionError``/``TimeoutError`` when that fails."""
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(
            lambda: ClientProtocol(host, port, path, subprotocols or [], on_message), host, port
        ),
        timeout,
    )
    try:
        await asyncio.wait_for(protocol.opened, timeout)
    except BaseException:
        if protocol.transport is not None:
            protocol.transport.abort()
        raise
    return protocol
