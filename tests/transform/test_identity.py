"""Tests of the identity fields built for each order (connector.transform.identity)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import phonenumbers
import pytest

from connector import pii
from connector.errors import MappingError
from connector.records import Identity
from connector.transform.identity import IdentityHasher, IdentityPolicy, IdentityStats

# SHA-256 of johndoe@gmail.com, +14155552671, +442079460958 and
# john.doe@example.com.
JOHNDOE_GMAIL = "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3"
US_PHONE = "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928"
UK_PHONE = "f0bf0228144d9fe2bdf1da2d8ca698f17bf1410ee688b075c27062e47b6f0b6d"
OTHER_DIGEST = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f"

HASHED_EMAIL = "hashed_customer_email"
HASHED_PHONE = "hashed_customer_phone_number"
RAW_EMAIL = "customer_email"
RAW_PHONE = "customer_phone_number"


def _counts(stats: IdentityStats) -> dict[str, int]:
    """Return the non-zero counters, so one assert shows every count."""
    return {name: value for name, value in dataclasses.asdict(stats).items() if value}


def test_default_policy_hashes_email_and_phone() -> None:
    hasher = IdentityHasher()

    fields = hasher.apply(Identity(email=" John.Doe@Gmail.com", phone="(415) 555-2671"))

    assert fields == {HASHED_EMAIL: JOHNDOE_GMAIL, HASHED_PHONE: US_PHONE}
    assert _counts(hasher.stats) == {"orders": 1, "hashed_email": 1, "hashed_phone": 1}


def test_default_policy_values() -> None:
    policy = IdentityPolicy()

    assert policy.send_raw_email is False
    assert policy.send_raw_phone is False
    assert policy.default_region == "US"


def test_raw_email_opt_in_sends_normalized_email() -> None:
    hasher = IdentityHasher(IdentityPolicy(send_raw_email=True))

    fields = hasher.apply(
        Identity(email="John.Doe+Promo@GMAIL.COM", phone="4155552671")
    )

    assert fields == {RAW_EMAIL: "johndoe@gmail.com", HASHED_PHONE: US_PHONE}
    assert _counts(hasher.stats) == {"orders": 1, "raw_email": 1, "hashed_phone": 1}


def test_raw_phone_opt_in_sends_e164() -> None:
    hasher = IdentityHasher(IdentityPolicy(send_raw_phone=True))

    fields = hasher.apply(Identity(email="jane@example.com", phone="1-415-555-2671"))

    assert fields[RAW_PHONE] == "+14155552671"
    assert HASHED_PHONE not in fields
    assert HASHED_EMAIL in fields
    assert _counts(hasher.stats) == {"orders": 1, "hashed_email": 1, "raw_phone": 1}


_IDENTITIES = [
    Identity(email="jane@example.com", phone="4155552671"),
    Identity(email="jane@example.com", email_sha256=OTHER_DIGEST),
    Identity(phone="4155552671", phone_sha256=OTHER_DIGEST),
    Identity(email=JOHNDOE_GMAIL, phone=US_PHONE.upper()),
    Identity(email="n/a", phone="12345"),
    Identity(email="jane@example.com", email_sha256="bad", phone_sha256="bad"),
]


@pytest.mark.parametrize("identity", _IDENTITIES)
@pytest.mark.parametrize("send_raw_email", [False, True])
@pytest.mark.parametrize("send_raw_phone", [False, True])
def test_never_raw_and_hashed_together(
    identity: Identity, send_raw_email: bool, send_raw_phone: bool
) -> None:
    policy = IdentityPolicy(
        send_raw_email=send_raw_email, send_raw_phone=send_raw_phone
    )

    fields = IdentityHasher(policy).apply(identity)

    assert not {RAW_EMAIL, HASHED_EMAIL} <= fields.keys()
    assert not {RAW_PHONE, HASHED_PHONE} <= fields.keys()


def test_prehashed_values_pass_through_lowercased() -> None:
    hasher = IdentityHasher()
    identity = Identity(
        email_sha256=f" {JOHNDOE_GMAIL.upper()} ", phone_sha256=f"{US_PHONE}\n"
    )

    fields = hasher.apply(identity)

    assert fields == {HASHED_EMAIL: JOHNDOE_GMAIL, HASHED_PHONE: US_PHONE}
    assert _counts(hasher.stats) == {"orders": 1, "hashed_email": 1, "hashed_phone": 1}


def test_prehashed_value_wins_over_raw_opt_in() -> None:
    policy = IdentityPolicy(send_raw_email=True, send_raw_phone=True)
    identity = Identity(
        email="jane@example.com",
        email_sha256=OTHER_DIGEST,
        phone="4155552671",
        phone_sha256=OTHER_DIGEST,
    )

    fields = IdentityHasher(policy).apply(identity)

    assert fields == {HASHED_EMAIL: OTHER_DIGEST, HASHED_PHONE: OTHER_DIGEST}


def test_digest_in_raw_column_is_not_hashed_again() -> None:
    policy = IdentityPolicy(send_raw_email=True, send_raw_phone=True)
    identity = Identity(email=JOHNDOE_GMAIL.upper(), phone=f" {US_PHONE} ")

    fields = IdentityHasher(policy).apply(identity)

    assert fields == {HASHED_EMAIL: JOHNDOE_GMAIL, HASHED_PHONE: US_PHONE}


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "a" * 63, "a" * 65, 12345])
def test_invalid_prehashed_value_dropped_and_counted(bad: Any) -> None:
    hasher = IdentityHasher()

    fields = hasher.apply(Identity(email_sha256=bad, phone_sha256=bad))

    assert fields == {}
    assert _counts(hasher.stats) == {"orders": 1, "prehashed_invalid": 2}


def test_invalid_prehashed_value_falls_back_to_raw() -> None:
    hasher = IdentityHasher()
    identity = Identity(
        email="John.Doe@gmail.com",
        email_sha256="not-a-digest",
        phone="415 555 2671",
        phone_sha256="not-a-digest",
    )

    fields = hasher.apply(identity)

    assert fields == {HASHED_EMAIL: JOHNDOE_GMAIL, HASHED_PHONE: US_PHONE}
    assert hasher.stats.prehashed_invalid == 2


@pytest.mark.parametrize(
    "phone", ["12345", "555-2671", "n/a", "415-555-2671 mobile", "07700 900123", True]
)
def test_invalid_phone_dropped_and_counted(phone: Any) -> None:
    hasher = IdentityHasher()

    fields = hasher.apply(Identity(phone=phone))

    assert fields == {}
    assert _counts(hasher.stats) == {"orders": 1, "phones_invalid": 1}


@pytest.mark.parametrize("region", ["GBR", "gbr", " GB ", "gb"])
def test_phone_region_alpha2_or_alpha3(region: str) -> None:
    hasher = IdentityHasher()

    fields = hasher.apply(Identity(phone="020 7946 0958", phone_region=region))

    assert fields == {HASHED_PHONE: UK_PHONE}
    assert hasher.stats.phone_regions_unknown == 0


def test_phone_region_blank_uses_default() -> None:
    hasher = IdentityHasher(IdentityPolicy(default_region="GBR"))

    fields = hasher.apply(Identity(phone="020 7946 0958", phone_region="  "))

    assert fields == {HASHED_PHONE: UK_PHONE}
    assert hasher.stats.phone_regions_unknown == 0


@pytest.mark.parametrize("region", ["United Kingdom", "UK", "ATA", "XXX"])
def test_unknown_phone_region_uses_default_and_counts(region: str) -> None:
    hasher = IdentityHasher()

    fields = hasher.apply(Identity(phone="415 555 2671", phone_region=region))

    assert fields == {HASHED_PHONE: US_PHONE}
    assert hasher.stats.phone_regions_unknown == 1


def test_explicit_country_code_beats_phone_region() -> None:
    hasher = IdentityHasher()

    fields = hasher.apply(Identity(phone="+1 415 555 2671", phone_region="GBR"))

    assert fields == {HASHED_PHONE: US_PHONE}


def test_no_default_region_requires_country_code() -> None:
    hasher = IdentityHasher(IdentityPolicy(default_region=None))

    national = hasher.apply(Identity(phone="4155552671"))
    international = hasher.apply(Identity(phone="+1 415 555 2671"))
    with_region = hasher.apply(Identity(phone="4155552671", phone_region="USA"))

    assert national == {}
    assert international == {HASHED_PHONE: US_PHONE}
    assert with_region == {HASHED_PHONE: US_PHONE}
    assert hasher.stats.phones_invalid == 1


@pytest.mark.parametrize("region", ["XX", "UK", "Britain", ""])
def test_invalid_default_region_raises(region: str) -> None:
    with pytest.raises(MappingError, match=r"identity\.default_region") as caught:
        IdentityHasher(IdentityPolicy(default_region=region))

    assert caught.value.field == "identity.default_region"


@pytest.mark.parametrize(
    "email",
    ["n/a", "N/A ", "none", "@gmail.com", "+tag@gmail.com", "user@", "a@b@c.com", 42],
)
@pytest.mark.parametrize("send_raw_email", [False, True])
def test_placeholder_email_not_sent(email: Any, send_raw_email: bool) -> None:
    hasher = IdentityHasher(IdentityPolicy(send_raw_email=send_raw_email))

    fields = hasher.apply(Identity(email=email))

    assert fields == {}
    assert _counts(hasher.stats) == {"orders": 1, "emails_placeholder": 1}


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_values_send_and_count_nothing(blank: str | None) -> None:
    hasher = IdentityHasher()
    identity = Identity(
        email=blank,
        phone=blank,
        phone_region=blank,
        email_sha256=blank,
        phone_sha256=blank,
    )

    fields = hasher.apply(identity)

    assert fields == {}
    assert _counts(hasher.stats) == {"orders": 1}


def test_stats_count_across_orders() -> None:
    hasher = IdentityHasher(IdentityPolicy(send_raw_phone=True))
    identities = [
        Identity(email="jane@example.com", phone="4155552671"),
        Identity(email="n/a", phone="12345"),
        Identity(email_sha256=OTHER_DIGEST, phone_sha256="bad"),
        Identity(phone="020 7946 0958", phone_region="Narnia"),
    ]

    for identity in identities:
        hasher.apply(identity)

    assert _counts(hasher.stats) == {
        "orders": 4,
        "hashed_email": 2,
        "raw_phone": 1,
        "emails_placeholder": 1,
        "phones_invalid": 2,
        "prehashed_invalid": 1,
        "phone_regions_unknown": 1,
    }


def test_repeated_phone_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_parse = phonenumbers.parse

    def counting_parse(text: str, region: str | None = None) -> Any:
        calls.append(text)
        return real_parse(text, region)

    pii.clear_phone_cache()
    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    hasher = IdentityHasher()
    for _ in range(5):
        hasher.apply(Identity(phone="(415) 555-2671"))
    hasher.apply(Identity(phone="(415) 555-2671", phone_region="CAN"))

    assert len(calls) == 2
    assert hasher.stats.hashed_phone == 6


def test_apply_logs_no_personal_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hasher = IdentityHasher(IdentityPolicy(default_region="GBR"))

    hasher.apply(Identity(email="jane.private@example.com", phone="07911 123456"))
    hasher.apply(Identity(email="n/a", phone="07700 900123"))

    assert "jane.private" not in caplog.text
    assert "07911" not in caplog.text
    assert "jane.private" not in repr(hasher.stats)
