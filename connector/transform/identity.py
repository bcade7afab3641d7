"""Turn an order's raw email and phone into Northbeam's customer fields.

Each identity is sent at most once per order: hashed by default
(``hashed_customer_email``, ``hashed_customer_phone_number``), or raw
(``customer_email``, ``customer_phone_number``) only when the mapping opts in.
Values that cannot identify a customer (placeholder emails, invalid phone
numbers, malformed pre-hashed values) are left out and counted, never sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from connector import pii
from connector.errors import MappingError
from connector.records import Identity

__all__ = ["IdentityHasher", "IdentityPolicy", "IdentityStats"]

HASHED_EMAIL: Final = "hashed_customer_email"
HASHED_PHONE: Final = "hashed_customer_phone_number"
RAW_EMAIL: Final = "customer_email"
RAW_PHONE: Final = "customer_phone_number"


@dataclass(frozen=True)
class IdentityPolicy:
    """Mapping settings that decide how identities are sent.

    ``default_region`` is an ISO 3166-1 alpha-2 or alpha-3 code used for
    phone numbers without a country code when the order has no usable
    ``phone_region``. None accepts only numbers written with a country code.
    """

    send_raw_email: bool = False
    send_raw_phone: bool = False
    default_region: str | None = "US"


@dataclass
class IdentityStats:
    """Counters of one run, which contain counts only, never personal values.

    ``prehashed_invalid`` counts values from pre-hashed columns that are not
    64 hex digits. ``phone_regions_unknown`` counts orders whose
    ``phone_region`` was set but is not a known country code, so the
    default region was used.
    """

    orders: int = 0
    hashed_email: int = 0
    hashed_phone: int = 0
    raw_email: int = 0
    raw_phone: int = 0
    phones_invalid: int = 0
    emails_placeholder: int = 0
    prehashed_invalid: int = 0
    phone_regions_unknown: int = 0


class IdentityHasher:
    """Build the identity fields of each order under one policy.

    For each of email and phone the first usable source wins:

    1. a valid value from the pre-hashed column, even under a raw opt-in;
    2. a raw value that already is a SHA-256 hex digest, sent as a hash;
    3. the normalized raw value, hashed unless the policy opts in to raw.

    Phone parsing is memoised by :mod:`connector.pii`.
    """

    def __init__(self, policy: IdentityPolicy | None = None) -> None:
        """Create a hasher for ``policy``, by default hashing with region US.

        Raises:
            MappingError: ``default_region`` is not a known ISO 3166-1 code
                with phone numbering data.
        """
        self.policy = policy or IdentityPolicy()
        self.stats = IdentityStats()
        self._default_region = _default_phone_region(self.policy.default_region)

    def apply(self, identity: Identity) -> dict[str, str]:
        """Return the identity fields to merge into the order document."""
        self.stats.orders += 1
        fields = self._email_fields(identity)
        fields.update(self._phone_fields(identity))
        return fields

    def _email_fields(self, identity: Identity) -> dict[str, str]:
        prehashed = self._prehashed(identity.email_sha256)
        if prehashed is None and not _is_blank(identity.email):
            prehashed = pii.normalize_sha256(identity.email)
        if prehashed is not None:
            self.stats.hashed_email += 1
            return {HASHED_EMAIL: prehashed}
        if _is_blank(identity.email):
            return {}

        normalized = pii.normalize_email(identity.email)
        if normalized is None or not pii.is_sendable_email(normalized):
            self.stats.emails_placeholder += 1
            return {}
        if self.policy.send_raw_email:
            self.stats.raw_email += 1
            return {RAW_EMAIL: normalized}
        self.stats.hashed_email += 1
        return {HASHED_EMAIL: pii.sha256_hex(normalized)}

    def _phone_fields(self, identity: Identity) -> dict[str, str]:
        prehashed = self._prehashed(identity.phone_sha256)
        if prehashed is None and not _is_blank(identity.phone):
            prehashed = pii.normalize_sha256(identity.phone)
        if prehashed is not None:
            self.stats.hashed_phone += 1
            return {HASHED_PHONE: prehashed}
        if _is_blank(identity.phone):
            return {}

        e164 = pii.normalize_phone(identity.phone, self._phone_region(identity))
        if e164 is None:
            self.stats.phones_invalid += 1
            return {}
        if self.policy.send_raw_phone:
            self.stats.raw_phone += 1
            return {RAW_PHONE: e164}
        self.stats.hashed_phone += 1
        return {HASHED_PHONE: pii.sha256_hex(e164)}

    def _prehashed(self, value: object) -> str | None:
        if _is_blank(value):
            return None
        digest = pii.normalize_sha256(value)
        if digest is None:
            self.stats.prehashed_invalid += 1
        return digest

    def _phone_region(self, identity: Identity) -> str | None:
        if _is_blank(identity.phone_region):
            return self._default_region
        region = pii.region_from_country(identity.phone_region)
        if region is None:
            self.stats.phone_regions_unknown += 1
            return self._default_region
        return region


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _default_phone_region(code: str | None) -> str | None:
    if code is None:
        return None
    region = pii.region_from_country(code)
    if region is None:
        raise MappingError(
            f"identity.default_region {code!r} is not an ISO 3166-1 alpha-2 or "
            "alpha-3 code with phone numbering data. Use a code such as US or "
            "GBR, or set it to null to accept only numbers written with a "
            "country code.",
            field="identity.default_region",
        )
    return region
