"""Database messages cleaned of secrets and row values."""

from __future__ import annotations

from connector.source.failures import Redactor


class DriverError(Exception):
    pass


class Wrapped(Exception):
    def __init__(self, orig: Exception) -> None:
        super().__init__("wrapper text with [SQL: select secret]")
        self.orig = orig


def test_redact_replaces_plain_and_url_encoded_secret() -> None:
    redactor = Redactor(["p@ss word/1", None, ""])

    text = redactor.redact("a p@ss word/1 b p%40ss%20word%2F1 c p%40ss+word%2F1")

    assert text == "a *** b *** c ***"


def test_driver_message_drops_sql_echo_and_masks_values() -> None:
    error = DriverError(
        'invalid input syntax for type integer: "jane.doe@example.com"\n'
        "LINE 1: SELECT CAST(email AS INT) FROM orders\n"
        "                    ^\n"
        "HINT: relation \"raw.orders\" at host '10.0.0.5'"
    )

    message = Redactor().driver_message(Wrapped(error))

    assert "jane.doe" not in message
    assert '"<value>"' in message
    assert "LINE 1" not in message
    assert '"raw.orders"' in message
    assert "'10.0.0.5'" in message
    assert "select secret" not in message
    assert message.endswith(".")


def test_driver_message_masks_names_with_spaces_and_secrets() -> None:
    redactor = Redactor(["hunter2"])
    error = DriverError("could not convert 'Jane Doe' for user with password hunter2")

    message = redactor.driver_message(error)

    assert "Jane Doe" not in message
    assert "hunter2" not in message
    assert message == "could not convert '<value>' for user with password ***."
