"""HTTP client of the Northbeam Orders API.

The client only builds and sends requests. Responses are classified in
:mod:`connector.sink.responses`. The API key and client id travel in
headers and never appear in a URL, a ``repr`` or a log line.
"""

from __future__ import annotations

import datetime as dt
import logging

import httpx
from pydantic import SecretStr

from connector.config import NorthbeamSettings
from connector.errors import ConfigError

logger = logging.getLogger(__name__)

_HTTP_LOGGERS = ("httpx", "httpcore")


class OrdersClient:
    """Send upserts and reads to ``/v1/orders`` or ``/v2/orders``.

    Thread-safe: one client serves every worker of a sink. ``transport``
    replaces the network, for example with ``httpx.MockTransport`` in tests.
    """

    def __init__(
        self,
        settings: NorthbeamSettings,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        _quiet_http_loggers()
        self.base_url = settings.url
        self.api_version = settings.api_version
        self.path = f"/{settings.api_version}/orders"
        api_key = _header_value(settings.api_key, "northbeam.api_key")
        client_id = _header_value(settings.client_id, "northbeam.client_id")
        self._http = httpx.Client(
            base_url=settings.url,
            headers={
                "Authorization": api_key,
                "Data-Client-ID": client_id,
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(settings.timeout_seconds),
            transport=transport,
        )

    @property
    def host(self) -> str:
        """Host name of the API this client talks to."""
        return httpx.URL(self.base_url).host

    def post_orders(self, body: bytes) -> httpx.Response:
        """Upsert the orders of one JSON array body; the response is read fully.

        Raises:
            httpx.TransportError: the request timed out or the connection failed.
        """
        return self._http.post(
            self.path,
            content=body,
            headers={"Content-Type": "application/json"},
        )

    def read_status(self, day: dt.date) -> int:
        """Request the orders of ``day`` and return the HTTP status only.

        The response body is left unread, because on a busy account a day
        of orders can be large and nothing here needs it.
        """
        params = {"start_date": day.isoformat(), "end_date": day.isoformat()}
        with self._http.stream("GET", self.path, params=params) as response:
            return response.status_code

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __repr__(self) -> str:
        return (
            f"OrdersClient(url={self.base_url!r}, path={self.path!r}, "
            "api_key=<redacted>, client_id=<redacted>)"
        )


def _header_value(secret: SecretStr, setting: str) -> str:
    """Return the secret, or raise when it cannot be sent in an HTTP header.

    httpx would raise too, but its error repeats the value.
    """
    value = secret.get_secret_value()
    if value.isascii() and value.isprintable():
        return value
    raise ConfigError(
        f"{setting} contains a line break, a control character or a non-ASCII "
        "character, which an HTTP header cannot carry. Check the value in the "
        "environment variable or secrets file it comes from.",
        key=setting,
    )


def _quiet_http_loggers() -> None:
    """Set httpx and httpcore to WARNING unless the root logger is at DEBUG.

    httpx logs every request at INFO. A level set on those loggers already
    (by the CLI, for instance) is kept.
    """
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        return
    for name in _HTTP_LOGGERS:
        http_logger = logging.getLogger(name)
        if http_logger.level == logging.NOTSET:
            http_logger.setLevel(logging.WARNING)
