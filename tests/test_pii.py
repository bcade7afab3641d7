"""Tests of email and phone normalization and hashing (connector.pii)."""

from __future__ import annotations

import itertools
import json
import re
import string
from pathlib import Path
from typing import Any, NamedTuple

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector import pii
from connector.transform.countries import ALPHA2_TO_ALPHA3, ALPHA3_TO_ALPHA2

SHARED_DIR = Path(__file__).resolve().parents[1] / ".." / "shared"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
LOWER_HEX_64 = re.compile(r"[0-9a-f]{64}")


class Vector(NamedTuple):
    number: int
    kind: str
    raw: Any
    region: str | None
    normalized: str | None
    sha256: str | None


# Published worked examples, numbered as published: (number, kind, input,
# region, normalized, sha256). Region None means default_region=None for
# phones and "not applicable" for emails. A test below compares this table
# with the published one.
_VECTOR_ROWS: list[tuple[Any, ...]] = [
    (
        1,
        "email",
        "John.Doe@Example.com",
        None,
        "john.doe@example.com",
        "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f",
    ),
    (
        2,
        "email",
        "  jane@example.com  ",
        None,
        "jane@example.com",
        "8c87b489ce35cf2e2f39f80e282cb2e804932a56a213983eeeb428407d43b52d",
    ),
    (
        3,
        "email",
        "\tJane@Example.com\r\n",
        None,
        "jane@example.com",
        "8c87b489ce35cf2e2f39f80e282cb2e804932a56a213983eeeb428407d43b52d",
    ),
    (
        4,
        "email",
        "\xa0jane@example.com\xa0",
        None,
        "jane@example.com",
        "8c87b489ce35cf2e2f39f80e282cb2e804932a56a213983eeeb428407d43b52d",
    ),
    (
        5,
        "email",
        "john doe@example.com",
        None,
        "john doe@example.com",
        "35d37d9e414c0c363d984fcd9e81443926e1a39f5c2bcf21a46373a42e76bacd",
    ),
    (
        6,
        "email",
        "John.Doe@gmail.com",
        None,
        "johndoe@gmail.com",
        "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3",
    ),
    (
        7,
        "email",
        "  John.Doe+Promo@GMAIL.COM ",
        None,
        "johndoe@gmail.com",
        "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3",
    ),
    (
        8,
        "email",
        "j.o.h.n+a+b.c@gmail.com",
        None,
        "john@gmail.com",
        "142d78e466cacab37c3751a6ba0d288ce40db609ce9c49617ea6b24665f1aa9c",
    ),
    (
        9,
        "email",
        "John_Smith@gmail.com",
        None,
        "john_smith@gmail.com",
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
    ),
    (
        10,
        "email",
        "john-doe@gmail.com",
        None,
        "john-doe@gmail.com",
        "ad74fd24ad0e03619fcc7a24c86dd144b6819d5994f89140a07474dfe76f3d72",
    ),
    (
        11,
        "email",
        "John.Doe+x@googlemail.com",
        None,
        "john.doe+x@googlemail.com",
        "4ee81182a289904a64e4afa274f4fbb5cdc9a7e2e22b18ac7a75bf947f06507f",
    ),
    (
        12,
        "email",
        "Jane.Doe-Shopping@yahoo.com",
        None,
        "janedoe@yahoo.com",
        "358c42e07d578d9a029e5aa3cd34b16d0078a633a4fc0ea0dd3ea965687944eb",
    ),
    (
        13,
        "email",
        "jane.doe-a-b@YMAIL.com",
        None,
        "janedoe@ymail.com",
        "1f9ceb3873ffad3718d2f894f420b5164bf2aea2e173cd6ef07ece9ff8899982",
    ),
    (
        14,
        "email",
        "jane.doe+promo@yahoo.com",
        None,
        "janedoe+promo@yahoo.com",
        "3449f16c3dde65fb9139435ef81462de576f1fb3f898c5cee56c8b46d3b31a3a",
    ),
    (
        15,
        "email",
        "jane.doe-x@yahoo.co.uk",
        None,
        "jane.doe-x@yahoo.co.uk",
        "690a399bb32d7205e77a16fbf8799617e956035616701f043c14af5ddeb6ca49",
    ),
    (
        16,
        "email",
        "John.Smith+News@Outlook.com",
        None,
        "john.smith@outlook.com",
        "40fae2d5fea0d17b4b8db3ce424898060bfccb5da866160f5f9b9078976ef2fe",
    ),
    (
        17,
        "email",
        "john.smith-x@outlook.com",
        None,
        "john.smith-x@outlook.com",
        "6153efb98ada08d8c195c59ad20814567c413454c164546525a7ea7f9c3b376e",
    ),
    (
        18,
        "email",
        "John.Smith+News@hotmail.com",
        None,
        "john.smith+news@hotmail.com",
        "b9a3fab71f1272bd379117c53480a189820cc9e09f2880400e5d6fb2872a030b",
    ),
    (
        19,
        "email",
        "John.Smith+News@live.com",
        None,
        "john.smith+news@live.com",
        "a57192100803b590bbad6aed9bba088eb1e2d9de43f5b8e5fb418232ae0c6e39",
    ),
    (
        20,
        "email",
        "John.Appleseed+x@icloud.com",
        None,
        "john.appleseed+x@icloud.com",
        "a2e02ca298f792adc756d8c3f8edce08da94c42f61392c8f3c220318aa1ee4ad",
    ),
    (
        21,
        "email",
        "first.last@mail.gmail.com",
        None,
        "first.last@mail.gmail.com",
        "02fffedfba066e77eabff1671ab3a17d3836260720c0da9561fb2e72fd84dc42",
    ),
    (
        22,
        "email",
        "A@B@gmail.com",
        None,
        "a@b@gmail.com",
        "17804fe2c843f7e9cb08cf677df28a9d8f76b431acdeacbfdddb68993bca25aa",
    ),
    (
        23,
        "email",
        "John.Doe.gmail.com",
        None,
        "john.doe.gmail.com",
        "8811474c1ee83be31062594e9f37d27b4efa1e8a3d77169a2c9a8e50e2509cdd",
    ),
    (
        24,
        "email",
        "N/A",
        None,
        "n/a",
        "a683c5c5349f6f7fb903ba8a9e7e55d0ba1b8f03579f95be83f4954c33e81098",
    ),
    (
        25,
        "email",
        "+tag@gmail.com",
        None,
        "@gmail.com",
        "29630d82ffa90155f4db96bee440f47635564c31475ff86474e1bb38c1668ad9",
    ),
    (
        26,
        "email",
        "user@",
        None,
        "user@",
        "123237df1bdab119529a8415d6265effbf5b68d00ac386624e336ad3f340c3f5",
    ),
    (27, "email", "", None, None, None),
    (28, "email", "   ", None, None, None),
    (29, "email", None, None, None, None),
    (
        30,
        "email",
        "José.Niño@Bücher.DE",
        None,
        "josé.niño@bücher.de",
        "f765aaf24437815880ad99addc66176eda4981c21ba983d7f85795938962da2d",
    ),
    (
        31,
        "email",
        "jose@xn--bcher-kva.de",
        None,
        "jose@xn--bcher-kva.de",
        "3351b8ecfcabba442ea8591c3125ef7c0ffc41728c719b48df40dde7d9be4f8c",
    ),
    (
        32,
        "email",
        "Ñandú.Pérez+x@GMAIL.COM",
        None,
        "ñandúpérez@gmail.com",
        "54ff9bfdce8e8c4f62905aa5d1c1b751061bb614d78d2474006a2ae1a5346893",
    ),
    (
        33,
        "email",
        "06A240D11CC201676DA976F7B49341181FD180DA37CBE40A77432C0A366C80C3",
        None,
        "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3",
        "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3",
    ),
    (
        34,
        "phone",
        "4155552671",
        "US",
        "+14155552671",
        "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
    ),
    (
        35,
        "phone",
        "+1 (415) 555-2671",
        "US",
        "+14155552671",
        "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
    ),
    (
        36,
        "phone",
        "(415) 555-2671",
        "US",
        "+14155552671",
        "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
    ),
    (
        37,
        "phone",
        "1-415-555-2671",
        "US",
        "+14155552671",
        "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
    ),
    (
        38,
        "phone",
        "+14155552671",
        None,
        "+14155552671",
        "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
    ),
    (39, "phone", "4155552671", None, None, None),
    (
        40,
        "phone",
        "020 7946 0958",
        "GB",
        "+442079460958",
        "f0bf0228144d9fe2bdf1da2d8ca698f17bf1410ee688b075c27062e47b6f0b6d",
    ),
    (
        41,
        "phone",
        "020 7946 0958",
        "gb",
        "+442079460958",
        "f0bf0228144d9fe2bdf1da2d8ca698f17bf1410ee688b075c27062e47b6f0b6d",
    ),
    (42, "phone", "020 7946 0958", "US", None, None),
    (
        43,
        "phone",
        "+44 (0)20 7946 0958",
        "US",
        "+442079460958",
        "f0bf0228144d9fe2bdf1da2d8ca698f17bf1410ee688b075c27062e47b6f0b6d",
    ),
    (
        44,
        "phone",
        "0044 20 7946 0958",
        "US",
        "+442079460958",
        "f0bf0228144d9fe2bdf1da2d8ca698f17bf1410ee688b075c27062e47b6f0b6d",
    ),
    (
        45,
        "phone",
        "0044 20 7946 0958",
        None,
        "+442079460958",
        "f0bf0228144d9fe2bdf1da2d8ca698f17bf1410ee688b075c27062e47b6f0b6d",
    ),
    (
        46,
        "phone",
        "011 44 20 7946 0958",
        "US",
        "+442079460958",
        "f0bf0228144d9fe2bdf1da2d8ca698f17bf1410ee688b075c27062e47b6f0b6d",
    ),
    (
        47,
        "phone",
        "+1 415 555 2671",
        "GB",
        "+14155552671",
        "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
    ),
    (
        48,
        "phone",
        "415-555-2671 x123",
        "US",
        "+14155552671",
        "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
    ),
    (
        49,
        "phone",
        "415.555.2671 ext. 123",
        "US",
        "+14155552671",
        "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
    ),
    (
        50,
        "phone",
        "1-800-FLOWERS",
        "US",
        "+18003569377",
        "b7092830a46827b527d318de83143f775c6e79c3705294510f12c964302ceffd",
    ),
    (51, "phone", "n/a", "US", None, None),
    (52, "phone", "415-555-2671 mobile", "US", None, None),
    (53, "phone", "12345", "US", None, None),
    (54, "phone", "555-2671", "US", None, None),
    (55, "phone", "+1 415 555 26711", "US", None, None),
    (56, "phone", "", "US", None, None),
    (57, "phone", "   ", "US", None, None),
    (58, "phone", None, "US", None, None),
    (
        59,
        "phone",
        4155552671,
        "US",
        "+14155552671",
        "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
    ),
    (
        60,
        "phone",
        "06 6988 4000",
        "IT",
        "+390669884000",
        "d75e00370236d8bf12c595584c97f6476cfa30599eb88fa41b7c3b7ae5e8f572",
    ),
    (
        61,
        "phone",
        "+39 06 6988 4000",
        None,
        "+390669884000",
        "d75e00370236d8bf12c595584c97f6476cfa30599eb88fa41b7c3b7ae5e8f572",
    ),
    (
        62,
        "phone",
        "07911 123456",
        "GB",
        "+447911123456",
        "20b18ac9de7b3aad174961827d8e451c410af9aedfd1d699927f4b29b81aa1fa",
    ),
    (63, "phone", "07700 900123", "GB", None, None),
    (
        64,
        "phone",
        "015123456789",
        "DE",
        "+4915123456789",
        "663a4322addcdcc2be9435bfd2505066dc1048b89d33e48f363119f18bdd71e8",
    ),
    (
        65,
        "phone",
        "9876543210",
        "IN",
        "+919876543210",
        "f3a47ce5ce3d4ca8ad15225a245b2759022f79489f5c62719b8c9490f7aab90e",
    ),
    (
        66,
        "phone",
        "(650)555-1212",
        "US",
        "+16505551212",
        "1e231c66011e7a2d867a9cfae267a6aff103cf4913640b6e71a99850fc0ffbc8",
    ),
    (
        67,
        "phone",
        "+12133734253",
        "US",
        "+12133734253",
        "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd",
    ),
    (
        68,
        "phone",
        "06A240D11CC201676DA976F7B49341181FD180DA37CBE40A77432C0A366C80C3",
        "US",
        None,
        "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3",
    ),
]
VECTORS = [Vector(*row) for row in _VECTOR_ROWS]


def _vector_id(vector: Vector) -> str:
    return f"ex{vector.number:02d}-{vector.kind}"


def _normalize(vector: Vector) -> str | None:
    if vector.kind == "email":
        return pii.normalize_email(vector.raw)
    return pii.normalize_phone(vector.raw, vector.region)


def _hash(vector: Vector) -> str | None:
    if vector.kind == "email":
        return pii.hash_email(vector.raw)
    return pii.hash_phone(vector.raw, vector.region)


@pytest.mark.parametrize("vector", VECTORS, ids=_vector_id)
def test_worked_example(vector: Vector) -> None:
    assert _normalize(vector) == vector.normalized
    assert _hash(vector) == vector.sha256


def test_worked_examples_cover_reference_table() -> None:
    """The table above is a faithful copy of the 68 published examples."""
    reference = SHARED_DIR / "northbeam" / "HASHING.md"
    rows = [
        line
        for line in reference.read_text(encoding="utf-8").splitlines()
        if re.match(r"\| \d+ \|", line)
    ]

    assert len(rows) == 68
    assert [_parse_reference_row(row) for row in rows] == VECTORS


def _parse_reference_row(line: str) -> Vector:
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    number, kind, raw, region, normalized, sha256 = cells[:6]
    return Vector(
        number=int(number),
        kind=kind,
        raw=_parse_reference_value(raw),
        region=None if region == "\u2013" else region,  # en dash
        normalized=_parse_reference_value(normalized),
        sha256=None if sha256 == "None" else sha256.strip("`"),
    )


def _parse_reference_value(cell: str) -> Any:
    if cell == "None":
        return None
    if integer := re.fullmatch(r"(\d+) \(int\)", cell):
        return int(integer.group(1))
    return json.loads(cell.strip("`"))


def test_sha256_hex_known_digest() -> None:
    assert pii.sha256_hex("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_sha256_hex_rejects_empty_string() -> None:
    with pytest.raises(ValueError, match="empty string"):
        pii.sha256_hex("")


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("J.D@YAHOO.COM", "jd@yahoo.com"),
        ("a.b-c-d@ymail.com", "ab@ymail.com"),
        ("john.doe-x+y@gmail.com", "johndoe-x@gmail.com"),
        ("first.last@outlook.com", "first.last@outlook.com"),
        ("user@gmail.com.", "user@gmail.com."),
        ("user@GMAIL.com\u2003", "user@gmail.com"),
        (". x@gmail.com", "x@gmail.com"),
        ("@", "@"),
        ("ÄÖÜ@Example.COM", "äöü@example.com"),
        ("STRASSE.ß@example.com", "strasse.ß@example.com"),
    ],
)
def test_normalize_email_hard_cases(raw: str, normalized: str) -> None:
    assert pii.normalize_email(raw) == normalized


@pytest.mark.parametrize("raw", [42, b"jane@example.com", ["x@y.com"], "\ud800@x.com"])
def test_normalize_email_rejects_non_text(raw: object) -> None:
    assert pii.normalize_email(raw) is None
    assert pii.hash_email(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c",
        "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3a",
        "0x06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3",
    ],
)
def test_hash_email_hashes_near_digests(raw: str) -> None:
    """Only exactly 64 hex digits count as already hashed."""
    assert pii.hash_email(raw) == pii.sha256_hex(raw.lower())


def test_hash_email_passes_padded_digest_through() -> None:
    digest = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f"

    assert pii.hash_email(f"  {digest.upper()}\n") == digest


@pytest.mark.parametrize(
    ("normalized", "sendable"),
    [
        ("jane@example.com", True),
        ("john doe@example.com", True),
        ("n/a", False),
        ("none", False),
        ("@gmail.com", False),
        ("user@", False),
        ("@", False),
        ("a@b@gmail.com", False),
        ("", False),
        (None, False),
    ],
)
def test_is_sendable_email(normalized: str | None, sendable: bool) -> None:
    assert pii.is_sendable_email(normalized) is sendable


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3", True),
        ("06A240D11CC201676DA976F7B49341181FD180DA37CBE40A77432C0A366C80C3", False),
        (" 06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3", False),
        ("06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c", False),
        ("g6a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3", False),
        (None, False),
        (123, False),
    ],
)
def test_is_sha256_hex(value: object, expected: bool) -> None:
    assert pii.is_sha256_hex(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            " 06A240D11CC201676DA976F7B49341181FD180DA37CBE40A77432C0A366C80C3\t",
            "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3",
        ),
        ("06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c", None),
        ("not a digest", None),
        ("", None),
        (None, None),
        (0x06A240D11CC201676DA976F7B49341181FD180DA37CBE40A77432C0A366C80C3, None),
    ],
)
def test_normalize_sha256(value: object, expected: str | None) -> None:
    assert pii.normalize_sha256(value) == expected


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("0011 61 2 9374 4000", "AU", "+61293744000"),
        ("00 44 20 7946 0958", "GB", "+442079460958"),
        ("00 1 415 555 2671", None, "+14155552671"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("+33 1 42 68 53 00", None, "+33142685300"),
        ("tel:+1-415-555-2671", None, "+14155552671"),
        ("4155552671;ext=12", "US", "+14155552671"),
        ("415 555 2671 #123", "US", "+14155552671"),
        ("4155552671", " us ", "+14155552671"),
        ("+442079460958", "gb", "+442079460958"),
        ("415-555-2671 / 415-555-2672", "US", None),
        ("+44 20 7946 0958 0958", None, None),
        ("0044 7700 900123", "US", None),
        ("0201 0000 0000 000", "DE", None),
    ],
)
def test_normalize_phone_hard_cases(raw: str, region: str | None, e164: str) -> None:
    assert pii.normalize_phone(raw, region) == e164


@pytest.mark.parametrize("raw", [True, False, 4155552671.0, b"4155552671", object()])
def test_normalize_phone_rejects_other_types(raw: object) -> None:
    assert pii.normalize_phone(raw) is None
    assert pii.hash_phone(raw) is None


@pytest.mark.parametrize("region", ["GBR", "UK", "ZZ", "", "001", 44])
def test_phone_functions_reject_unknown_region(region: Any) -> None:
    digest = "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3"

    with pytest.raises(ValueError, match="not an ISO 3166-1 alpha-2 code"):
        pii.normalize_phone("+14155552671", region)
    with pytest.raises(ValueError, match="not an ISO 3166-1 alpha-2 code"):
        pii.hash_phone(digest, region)


def test_phone_parse_is_memoised(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_parse = phonenumbers.parse

    def counting_parse(text: str, region: str | None = None) -> Any:
        calls.append(text)
        return real_parse(text, region)

    pii.clear_phone_cache()
    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    for _ in range(3):
        assert pii.hash_phone(" (415) 555-2671 ") is not None
    assert len(calls) == 1

    pii.normalize_phone("(415) 555-2671", "CA")
    assert len(calls) == 2


def test_clear_phone_cache_forgets_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_parse = phonenumbers.parse

    def counting_parse(text: str, region: str | None = None) -> Any:
        calls.append(text)
        return real_parse(text, region)

    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    pii.normalize_phone("+1 202 555 0123")
    pii.clear_phone_cache()
    pii.normalize_phone("+1 202 555 0123")

    assert len(calls) == 2


@pytest.mark.parametrize(
    ("code", "region"),
    [
        ("US", "US"),
        ("us", "US"),
        (" gbr ", "GB"),
        ("Gbr", "GB"),
        ("DEU", "DE"),
        ("XK", "XK"),
        ("ATA", None),
        ("AQ", None),
        ("UK", None),
        ("United Kingdom", None),
        ("", None),
        (None, None),
        (826, None),
    ],
)
def test_region_from_country(code: object, region: str | None) -> None:
    assert pii.region_from_country(code) == region


def test_countries_tables_are_inverse() -> None:
    assert len(ALPHA3_TO_ALPHA2) == 249
    assert len(ALPHA2_TO_ALPHA3) == 249
    assert {a2: a3 for a3, a2 in ALPHA3_TO_ALPHA2.items()} == ALPHA2_TO_ALPHA3


def test_alpha3_codes_match_orders_api() -> None:
    """The alpha-3 table accepts exactly the codes the Orders API lists."""
    schema_path = SHARED_DIR / "northbeam" / "orders-v2.openapi.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    patterns = set(_country_code_patterns(schema))
    assert len(patterns) == 1
    pattern = re.compile(patterns.pop())

    letters = string.ascii_uppercase
    accepted = {
        code
        for code in map("".join, itertools.product(letters, repeat=3))
        if pattern.fullmatch(code)
    }
    assert accepted == set(ALPHA3_TO_ALPHA2)


def _country_code_patterns(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        country_code = node.get("country_code")
        if isinstance(country_code, dict) and "pattern" in country_code:
            found.append(country_code["pattern"])
        for child in node.values():
            found.extend(_country_code_patterns(child))
    elif isinstance(node, list):
        for child in node:
            found.extend(_country_code_patterns(child))
    return found


def test_alpha2_codes_without_phone_data() -> None:
    without_phone_data = set(ALPHA2_TO_ALPHA3) - set(phonenumbers.SUPPORTED_REGIONS)

    assert without_phone_data == {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}


# Property tests.

_PHONE_REGIONS = ["US", "GB", "DE", "IT", "FR", "IN", "AU", "BR", "JP", None]
_WHITESPACE = st.text(" \t\r\n\xa0\u2003", max_size=3)
_EMAIL_DOMAINS = [
    "gmail.com",
    "yahoo.com",
    "ymail.com",
    "outlook.com",
    "example.com",
    "bücher.de",
]


@st.composite
def _emails(draw: st.DrawFn) -> str:
    local = draw(st.text(string.ascii_letters + string.digits + ".+-_", min_size=1))
    domain = draw(
        st.sampled_from(_EMAIL_DOMAINS)
        | st.from_regex(r"[a-z]{1,8}\.[a-z]{2,3}", fullmatch=True)
    )
    return f"{local}@{domain}"


@given(st.text())
def test_normalize_email_is_idempotent(raw: str) -> None:
    normalized = pii.normalize_email(raw)
    if normalized is not None:
        assert pii.normalize_email(normalized) == normalized


@given(_emails())
def test_normalize_email_is_idempotent_on_addresses(raw: str) -> None:
    normalized = pii.normalize_email(raw)
    if normalized is not None:
        assert pii.normalize_email(normalized) == normalized


@given(_emails(), st.lists(st.booleans()), _WHITESPACE, _WHITESPACE)
def test_email_hash_ignores_case_and_padding(
    email: str, upper: list[bool], before: str, after: str
) -> None:
    cased = "".join(
        char.upper() if flag else char
        for char, flag in zip(email, itertools.cycle(upper or [True]), strict=False)
    )

    assert pii.hash_email(f"{before}{cased}{after}") == pii.hash_email(email)


@given(st.text(), _WHITESPACE, _WHITESPACE)
def test_email_hash_ignores_lowercasing_and_padding(
    raw: str, before: str, after: str
) -> None:
    assert pii.hash_email(f"{before}{raw.lower()}{after}") == pii.hash_email(raw)


@given(st.text())
def test_hash_email_output_is_digest_or_none(raw: str) -> None:
    digest = pii.hash_email(raw)
    assert digest is None or LOWER_HEX_64.fullmatch(digest)


@given(st.text() | st.integers(), st.sampled_from(_PHONE_REGIONS))
def test_hash_phone_output_is_digest_or_none(
    raw: str | int, region: str | None
) -> None:
    digest = pii.hash_phone(raw, region)
    assert digest is None or LOWER_HEX_64.fullmatch(digest)


_PHONE_TEXT = st.text("0123456789 +-().x", max_size=24) | st.from_regex(
    r"\+?[0-9]{7,13}", fullmatch=True
)


@given(_PHONE_TEXT | st.text() | st.integers(), st.sampled_from(_PHONE_REGIONS))
def test_normalize_phone_output_is_e164_or_none(
    raw: str | int, region: str | None
) -> None:
    e164 = pii.normalize_phone(raw, region)
    assert e164 is None or E164.fullmatch(e164)


@given(_PHONE_TEXT, st.sampled_from(_PHONE_REGIONS))
def test_normalize_phone_is_idempotent(raw: str, region: str | None) -> None:
    e164 = pii.normalize_phone(raw, region)
    if e164 is not None:
        assert pii.normalize_phone(e164, region) == e164
        assert pii.normalize_phone(e164, None) == e164


@given(st.text())
def test_normalize_sha256_is_idempotent(raw: str) -> None:
    digest = pii.normalize_sha256(raw)
    if digest is not None:
        assert pii.normalize_sha256(digest) == digest
        assert pii.is_sha256_hex(digest)
