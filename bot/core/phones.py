"""Privacy: mainland mobile numbers found and masked however they are written (exports, console pages, logs)."""

from __future__ import annotations

import re
import unicodedata

# "1", then ten more digits, each after at most two separators (spaces, dots, dashes, full-width punctuation...),
# matched on text whose digits are normalised to ASCII (full-width １３９ → 139) position for position.
CANDIDATE = re.compile(r"(?<!\d)(?:\+?86[\W_]{0,2})?1(?:[\W_]{0,2}\d){10}(?!\d)")
OTHER_DIGIT = re.compile(r"(?![0-9])\d")  # a decimal digit other than 0-9 (full-width ０-９, Arabic-Indic...)
MOBILE_DIGITS = re.compile(r"^(?:86)?(1[3-9]\d{9})$")  # 11 digits, 13x–19x, an optional country code


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit (full-width, Arabic-Indic...) as its ASCII digit; the same length."""
    return text if text.isascii() else OTHER_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)


def digits_of(text: str) -> str:
    """Only the digits of `text`, NFKC-normalised to ASCII."""
    return re.sub(r"\D", "", ascii_digits(unicodedata.normalize("NFKC", text)))


def masked(digits: str) -> str:
    """138****5678 from the 11 digits of a mobile number."""
    return digits[:3] + "****" + digits[-4:]


def mask_phone(phone: str | None) -> str:
    """A phone field masked: 138****5678 whatever its separators or digit forms; "" when there is none."""
    if not phone:
        return ""
    digits = digits_of(phone)
    found = MOBILE_DIGITS.match(digits)
    if found:
        return masked(found.group(1))
    return masked(digits) if len(digits) >= 7 else "****"


def mask_phones(text: str | None) -> str:
    """Free text with every mobile number in it masked (139.0013.8000, １３９００１３８０００ → 139****8000)."""
    if not text:
        return text or ""
    plain = ascii_digits(text)
    out, last = [], 0
    for match in CANDIDATE.finditer(plain):
        found = MOBILE_DIGITS.match(re.sub(r"\D", "", match.group()))
        if found:
            out += [text[last : match.start()], masked(found.group(1))]
            last = match.end()
    return "".join(out) + text[last:] if out else text
