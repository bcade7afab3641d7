"""Plain records passed between the stages of a sync.

Raw personal data travels only inside :class:`Identity`, whose ``repr`` is
masked, and is turned into hashed fields in ``connector.transform``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Identity:
    """Raw identity values of one order, before hashing.

    ``email_sha256`` and ``phone_sha256`` come from columns the mapping
    declares as already hashed. ``phone_region`` is an ISO 3166-1 alpha-2
    code used for numbers written without a country code.
    """

    email: Any = None
    phone: Any = None
    phone_region: str | None = None
    email_sha256: str | None = None
    phone_sha256: str | None = None

    def __repr__(self) -> str:
        present = [
            name
            for name in ("email", "phone", "email_sha256", "phone_sha256")
            if getattr(self, name) not in (None, "")
        ]
        return f"Identity(<redacted: {', '.join(present) or 'empty'}>)"


@dataclass(slots=True)
class MappedOrder:
    """One order built from warehouse rows by the mapping.

    ``key`` is the order key as text, used by state and reject reports.
    ``cursor`` is the value of the cursor column, typed as the warehouse
    returned it (``datetime``, ``date`` or ``int``), or ``None``.
    ``document`` holds the Northbeam fields except identities, with money as
    ``Decimal`` and timestamps as ISO-8601 strings with an offset; absent
    optional fields are left out, never set to ``None``.
    """

    key: str
    cursor: Any
    document: dict[str, Any]
    identity: Identity = field(default_factory=Identity)


@dataclass(frozen=True, slots=True)
class Reject:
    """An order that was not sent, and why.

    ``stage`` is one of ``mapping``, ``validation``, ``api`` or ``source``.
    ``field_path`` is a JSON path into the order (``$.products[0].price``)
    when the reason concerns one field. ``reason`` never contains a raw
    personal value or a secret.
    """

    order_key: str
    stage: str
    reason: str
    order_id: str | None = None
    field_path: str | None = None
