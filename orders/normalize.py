"""Normalisation of phones, zip codes and addresses (../shared/channel-specs.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NON_DIGITS = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Phone:
    digits: str  # what we store: digits only, leading 0 restored, "" if nothing usable
    is_safe_number: bool  # 050x 안심번호: temporary, never a customer identity key
    is_masked: bool  # "0502-****-1234": the channel hid part of it

    @property
    def last4(self) -> str:
        return self.digits[-4:] if len(self.digits) >= 4 else ""


def normalize_phone(raw: object) -> Phone:
    text = "" if raw is None else str(raw).strip()
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    masked = "*" in text
    digits = _NON_DIGITS.sub("", text)
    if digits.startswith("82") and (text.lstrip().startswith("+") or len(digits) in (11, 12)):
        digits = "0" + digits[2:]
    if len(digits) in (9, 10) and digits[0] in "123456789" and not digits.startswith("0"):
        # Excel turned 010-1234-5678 into the number 1012345678 (and 02-123-4567 into 21234567).
        digits = "0" + digits
    safe = (digits.startswith("050") and len(digits) in (11, 12)) or (masked and text.startswith("050"))
    return Phone(digits=digits, is_safe_number=bool(safe), is_masked=masked)


def is_mobile(digits: str) -> bool:
    return bool(re.fullmatch(r"01[016789]\d{7,8}", digits))


@dataclass(frozen=True)
class Zip:
    code: str
    is_old: bool  # 6-digit NNN-NNN code from before 2015: kept as is and flagged, never guessed
    valid: bool


def normalize_zip(raw: object) -> Zip:
    if isinstance(raw, float) and raw.is_integer():
        raw = str(int(raw))
    text = "" if raw is None else str(raw).strip()
    digits = _NON_DIGITS.sub("", text)
    if not digits:
        return Zip("", False, False)
    if len(digits) == 6:
        return Zip(f"{digits[:3]}-{digits[3:]}", True, True)
    if len(digits) == 4:
        # 04524 read as a number lost its leading 0.
        digits = "0" + digits
    return Zip(digits, False, len(digits) == 5)


def normalize_address(*parts: str) -> str:
    """Whitespace collapsed, for comparing and for the 합포장 key."""
    return _SPACES.sub(" ", " ".join(p for p in parts if p)).strip()
