"""HTTP plumbing: a threading server on 127.0.0.1 and its request handler."""

from __future__ import annotations

import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connector.standin.replies import Reply, error_reply
from connector.standin.service import OrdersService, Request

logger = logging.getLogger(__name__)


class BodyFramingError(ValueError):
    """The request body length could not be determined."""


class StandInHTTPServer(ThreadingHTTPServer):
    """Threading HTTP server that tracks open connections so stop() can end them."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: OrdersService) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-response are expected here, and
        # the default handler prints a traceback to stderr for each of them.
        logger.debug(
            "connection from %s ended with %r", client_address[0], sys.exc_info()[1]
        )

    def close_connections(self) -> None:
        """Shut down every open client connection (keep-alive included)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("connection already closed")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes. With Nagle's algorithm on,
    # the body waits for the client's delayed ACK on every keep-alive request.
    disable_nagle_algorithm = True
    server: StandInHTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        # The service logs method, path and status at DEBUG, so the default
        # per-request line on stderr is switched off.
        return

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except BodyFramingError as exc:
            path = urlsplit(self.path).path
            logger.debug("%s %s -> 400: %s", self.command, path, exc)
            self.close_connection = True
            self._send(Reply(400, headers={"Connection": "close"}))
            return
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query),
            headers=self._lowercase_headers(),
            body=body,
        )
        try:
            reply = self.server.service.handle(request)
        except Exception:
            logger.exception("stand-in failed on %s %s", self.command, url.path)
            reply = error_reply(500, "internal server error")
        if reply.delay_seconds:
            self.server.stopping.wait(reply.delay_seconds)
        if reply.drop:
            self.close_connection = True
            return
        self._send(reply)

    def _lowercase_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), value)
        return headers

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise BodyFramingError("Content-Length is not a number") from None
        if length < 0:
            raise BodyFramingError("Content-Length is negative")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BodyFramingError("invalid chunk size") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
