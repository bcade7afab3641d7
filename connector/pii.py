"""Normalize and hash customer emails and phone numbers the way Northbeam does.

Northbeam matches ``hashed_customer_email`` and ``hashed_customer_phone_number``
against hashes it computes itself, so the rules here must produce the same
text before hashing: emails trimmed, lowercased and cleaned per provider
(gmail.com, yahoo.com, ymail.com, outlook.com), phones in E.164 form with the
leading ``+``. Digests are SHA-256 of the UTF-8 text, 64 lowercase hex digits.

The module needs only ``phonenumbers`` and the country table in
``connector.transform.countries``, so a dbt Python model or a notebook can use
it directly::

    from connector.pii import hash_email, hash_phone

    hash_email("  John.Doe+Promo@GMAIL.COM ")  # digest of "johndoe@gmail.com"
    hash_phone("020 7946 0958", "GB")  # digest of "+442079460958"

Phone parsing uses ``phonenumbers`` (pinned to 9.0.43 because its metadata
decides which number ranges are valid) and is memoised per (text, region).
"""

from __future__ import annotations

import hashlib
import numbers
import re
from typing import Final

import phonenumbers

from connector.memo import RegionMemo
from connector.transform.countries import ALPHA3_TO_ALPHA2

__all__ = [
    "clear_phone_cache",
    "hash_email",
    "hash_phone",
    "is_sendable_email",
    "is_sha256_hex",
    "normalize_email",
    "normalize_phone",
    "normalize_sha256",
    "region_from_country",
    "sha256_hex",
]

_SHA256_HEX: Final = re.compile(r"[0-9a-fA-F]{64}")
_SHA256_HEX_LOWER: Final = re.compile(r"[0-9a-f]{64}")
# E.164 allows at most 15 digits, country code included.
_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}")

# Local-part rule per exact domain: cut from the first occurrence of the
# character (inclusive), then optionally remove every period.
_DOMAIN_RULES: Final[dict[str, tuple[str, bool]]] = {
    "gmail.com": ("+", True),
    "yahoo.com": ("-", True),
    "ymail.com": ("-", True),
    # Northbeam's text for outlook.com is known only up to "Remove e". Cutting
    # at "+" follows Outlook's sub-addressing, and periods there are
    # significant, so removing them would merge different mailboxes.
    "outlook.com": ("+", False),
}

# Phone numbers memoised per generation. The memo keeps at most twice as
# many, and _PHONE_MEMO below gives the memory this takes.
_PHONE_GENERATION: Final = 32_768

# Each supported region code, mapped to one shared string object, so that
# memo keys do not keep a copy of the region per number.
_PHONE_REGIONS: Final = {code: code for code in phonenumbers.SUPPORTED_REGIONS}

# Without this, phonenumbers calls re.compile for each metadata pattern it
# uses, about 14 times per number, and recompiles once re's own cache of 512
# patterns is full. Its cache holds only patterns of the fixed metadata, so
# it stays bounded. Parsing got about 13% faster with it (12,000 distinct
# numbers from five countries, Python 3.11, phonenumbers 9.0.43).
phonenumbers.enable_pattern_cache()


def sha256_hex(text: str) -> str:
    """Hash the UTF-8 bytes of ``text`` with SHA-256 into 64 lowercase hex digits.

    Raises:
        ValueError: ``text`` is empty. One digest for every missing value
            would tie unrelated customers together.
    """
    if not text:
        raise ValueError(
            "Cannot hash an empty string, because its digest would be shared "
            "by every customer without a value. Send no field instead."
        )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sha256_hex(value: object) -> bool:
    """Check that ``value`` is a digest as sent: 64 lowercase hex digits."""
    return isinstance(value, str) and _SHA256_HEX_LOWER.fullmatch(value) is not None


def normalize_sha256(value: object) -> str | None:
    """Lowercase a pre-hashed value, or return None if it is not a SHA-256.

    Surrounding whitespace is ignored and either case is accepted. Anything
    other than exactly 64 hex digits gives None.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _SHA256_HEX.fullmatch(text) is None:
        return None
    return text.lower()


def normalize_email(raw: object) -> str | None:
    """Trim, lowercase and apply the provider rule to an email address.

    A value without exactly one ``@`` is returned trimmed and lowercased, as
    Northbeam's hashing guide specifies. Returns None for non-strings, for
    blank text and for text that cannot be encoded as UTF-8 (a lone
    surrogate, for example from a JSON ``\\ud800`` escape).
    """
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    if not text or not _is_utf8_encodable(text):
        return None
    if text.count("@") != 1:
        return text

    local, domain = text.split("@")
    rule = _DOMAIN_RULES.get(domain)
    if rule is not None:
        local = _apply_domain_rule(local, *rule)
    return f"{local}@{domain}"


def is_sendable_email(normalized: str | None) -> bool:
    """Check that a normalized email has one ``@`` and text on both sides.

    Placeholders such as ``n/a``, ``@gmail.com`` or ``user@`` fail, so the
    connector sends no email field for them instead of a hash that many
    unrelated customers would share.
    """
    if not normalized:
        return False
    local, _, domain = normalized.partition("@")
    return bool(local) and bool(domain) and "@" not in domain


def hash_email(raw: object) -> str | None:
    """Hash the normalized email address, or return None if there is none.

    A value that already is a SHA-256 hex digest (64 hex digits, any case)
    is returned lowercased instead of being hashed again. Placeholders are
    hashed like any other text, so use :func:`is_sendable_email` to leave
    them out.
    """
    prehashed = normalize_sha256(raw)
    if prehashed is not None:
        return prehashed

    normalized = normalize_email(raw)
    if normalized is None:
        return None
    return sha256_hex(normalized)


def normalize_phone(raw: object, default_region: str | None = "US") -> str | None:
    """Convert a phone number to E.164 form, or return None if it is invalid.

    ``default_region`` is an ISO 3166-1 alpha-2 code in any case. It applies
    only to numbers written without a country code (no ``+`` or
    international prefix). With None such numbers return None. Extensions
    are dropped, and numbers longer than the 15 digits E.164 allows return
    None. Integers are read as their decimal digits. Booleans and
    types other than ``str`` and integers return None.

    Raises:
        ValueError: ``default_region`` is not a region ``phonenumbers`` has
            numbering data for.
    """
    region = _phone_region(default_region)
    text = _phone_text(raw)
    if text is None:
        return None
    return _PHONE_MEMO(text, region)


def hash_phone(raw: object, default_region: str | None = "US") -> str | None:
    """Hash the phone number in E.164 form, or return None if it is invalid.

    A value that already is a SHA-256 hex digest is returned lowercased.

    Raises:
        ValueError: ``default_region`` is not a region ``phonenumbers`` has
            numbering data for.
    """
    region = _phone_region(default_region)
    prehashed = normalize_sha256(raw)
    if prehashed is not None:
        return prehashed

    text = _phone_text(raw)
    e164 = None if text is None else _PHONE_MEMO(text, region)
    if e164 is None:
        return None
    return sha256_hex(e164)


def region_from_country(code: object) -> str | None:
    """Convert an ISO 3166-1 alpha-2 or alpha-3 code to a phone region.

    Case and surrounding whitespace are ignored. Returns None for anything
    else and for territories without their own numbering data in
    ``phonenumbers`` 9.0.43: AQ, BV, GS, HM, PN, TF and UM.
    """
    if not isinstance(code, str):
        return None
    text = code.strip().upper()
    if len(text) == 3:
        text = ALPHA3_TO_ALPHA2.get(text, "")
    return _PHONE_REGIONS.get(text)


def clear_phone_cache() -> None:
    """Forget memoised phone numbers and the personal data the cache holds."""
    _PHONE_MEMO.clear()


def _apply_domain_rule(local: str, cut_at: str, remove_periods: bool) -> str:
    local = local.partition(cut_at)[0]
    if remove_periods:
        # Removing periods can expose whitespace at the start, as in
        # ". x@gmail.com". Trimming it keeps normalization idempotent.
        local = local.replace(".", "").lstrip()
    return local


def _is_utf8_encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _phone_region(region: str | None) -> str | None:
    if region is None:
        return None
    code = _PHONE_REGIONS.get(region) if isinstance(region, str) else None
    if code is not None:
        return code
    code = region.strip().upper() if isinstance(region, str) else None
    if code not in _PHONE_REGIONS:
        raise ValueError(
            f"default_region {region!r} is not an ISO 3166-1 alpha-2 code with "
            "phone numbering data. Use a code such as 'US' or 'GB' (convert "
            "alpha-3 codes with region_from_country), or None to accept only "
            "numbers written with a country code."
        )
    return _PHONE_REGIONS[code]


def _phone_text(raw: object) -> str | None:
    # Text is by far the most common, and the Integral check below is slow.
    if isinstance(raw, str):
        return raw.strip() or None
    # bool is a subclass of int, so True would otherwise become the number 1.
    if isinstance(raw, bool):
        return None
    if isinstance(raw, numbers.Integral):
        return str(int(raw))
    return None


def _e164(text: str, region: str | None) -> str | None:
    number = _parse_valid(text, region)
    if number is None and text.startswith("00") and "+" not in text:
        # Most of the world dials abroad with 00, but the default region may
        # not (011 in the US), so read 00 as "+" when the first parse fails.
        number = _parse_valid("+" + text[2:], None)
    if number is None:
        return None

    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # NOTE: phonenumbers 9.0.43 accepts some German numbers of 16 digits
    # (+49 and 14 more), which E.164 does not allow. They are left out
    # because it is unknown how Northbeam hashes them.
    if _E164.fullmatch(e164) is None:
        return None
    return e164


# At most 65,536 numbers, about 10 MB. Filled with the texts and E.164
# strings of distinct numbers of five countries, it took 160 bytes per number
# (tracemalloc, Python 3.11). Twice the generation cut phone parses by a
# fifth in the 1,000,000-order benchmark shop, for 10 MB more.
_PHONE_MEMO: Final = RegionMemo(_e164, _PHONE_GENERATION)


def _parse_valid(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return number
