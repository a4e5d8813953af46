"""A local stand-in for Slack's Socket Mode endpoint: a minimal WebSocket server (RFC 6455) on 127.0.0.1.

It accepts the bot's connection, says hello, sends envelopes (events, slash
commands) and records the acks the bot sends back; pings are answered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class SocketStandIn:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.conn: socket.socket | None = None
        self.connected = threading.Event()
        self.acks: list[dict[str, Any]] = []
        self.acked = threading.Condition()
        self._send_lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.listener.getsockname()[1]}/link"

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        key = next(line.split(":", 1)[1].strip() for line in request.decode().split("\r\n")
                   if line.lower().startswith("sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        self.conn = conn
        self.send({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        self.connected.set()
        try:
            self._read(conn)
        except OSError:
            pass

    def _read(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        while True:
            head = reader.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", reader.read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", reader.read(8))[0]
            mask = reader.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(reader.read(length)))
            if opcode == 0x9:
                self._frame(0xA, data)
            elif opcode == 0x8:
                return
            elif opcode == 0x1:
                with self.acked:
                    self.acks.append(json.loads(data))
                    self.acked.notify_all()

    def _frame(self, opcode: int, data: bytes) -> None:
        size = len(data)
        head = bytes([0x80 | opcode])
        head += bytes([size]) if size < 126 else (bytes([126]) + struct.pack("!H", size) if size < 65536
                                                   else bytes([127]) + struct.pack("!Q", size))
        with self._send_lock:
            assert self.conn is not None
            self.conn.sendall(head + data)

    def send(self, message: dict[str, Any]) -> None:
        self._frame(0x1, json.dumps(message).encode())

    def wait_ack(self, envelope_id: str, timeout: float = 15) -> dict[str, Any]:
        with self.acked:
            if not self.acked.wait_for(lambda: any(a.get("envelope_id") == envelope_id for a in self.acks),
                                       timeout):
                raise AssertionError(f"no ack for {envelope_id}: {self.acks}")
            return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()
