"""Code lists the stand-in checks currencies and shipping countries against.

The currency and country patterns in Northbeam's OpenAPI files are
alternations without a group, so ``^AED|...|ZWD$`` accepts any string that
contains a code. The stand-in checks membership in the code lists instead.
"""

from __future__ import annotations

from connector.transform.countries import ALPHA3_TO_ALPHA2

# Active ISO 4217 codes. The list matches iso_4217.json of Debian's iso-codes
# 4.15.0 without HRK (withdrawn when Croatia adopted the euro in 2023) and
# with ZWG (added 2024) and XCG (added 2025). Withdrawn codes that the OpenAPI
# pattern still lists (BYR, HRK, MRO, STD, VEF, ZWD) are rejected, and so are
# its non-ISO codes GGP, IMP, JEP, SPL and TVD.
_CURRENCY_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND
    BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU
    CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD
    OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU
    XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW
    ZWG ZWL
    """
ISO_4217_CURRENCIES: frozenset[str] = frozenset(_CURRENCY_CODES.split())


#: ISO 3166-1 alpha-3 country codes accepted in ``country_code``.
ISO_3166_ALPHA3: frozenset[str] = frozenset(ALPHA3_TO_ALPHA2)
