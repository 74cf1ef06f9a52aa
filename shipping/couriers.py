"""Courier lookups and tracking-number rules (channel-specs.md, Couriers): digits and length
only, since no Korean courier documents a check digit."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from shipping.models import Courier, parse_tracking_lengths

_SEPARATORS = re.compile(r"[\s\-]")


class TrackingNumberInvalid(ValueError):
    """A tracking number the courier's rule refuses; str() is for the user."""

    def __init__(self, number: str, message: str) -> None:
        self.number = number
        super().__init__(message)


def tracking_normalize(number: object) -> str:
    """What people type or sheets hold -> digits as the courier prints them: spaces and hyphens
    dropped, a float from Excel (6.01234567890e11) read back as its digits."""
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return _SEPARATORS.sub("", str(number or "").strip())


def tracking_validate(*, courier: Courier, number: object) -> str:
    """The normalised number, or TrackingNumberInvalid saying why (in the user's language)."""
    text = tracking_normalize(number)
    if not text:
        raise TrackingNumberInvalid(text, _("Enter the tracking number."))
    if not text.isdigit():
        raise TrackingNumberInvalid(
            text, _("A tracking number has digits only (%(number)s).") % {"number": text}
        )
    spans = parse_tracking_lengths(courier.tracking_lengths)
    if spans and not any(lo <= len(text) <= hi for lo, hi in spans):
        raise TrackingNumberInvalid(
            text,
            _("%(courier)s tracking numbers have %(lengths)s digits; %(number)s has %(count)d.")
            % {
                "courier": courier.name,
                "lengths": courier.tracking_lengths,
                "number": text,
                "count": len(text),
            },
        )
    return text


def default_courier() -> Courier | None:
    return Courier.objects.filter(is_default=True, is_active=True).first()
