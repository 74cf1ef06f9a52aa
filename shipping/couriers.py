"""Courier lookups and tracking-number rules (channel-specs.md, Couriers): digits and length
only, since no Korean courier documents a check digit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from oms.models import User
from oms.services import audit_record, field_changes
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


# What sheets and people write for a courier, normalised (see _courier_key), -> our courier code.
# Marketplace sheets use the Korean name ("CJ대한통운", "롯데택배"), people shorten it ("대한통운",
# "롯데") or use the old brand ("현대택배" is 롯데택배 since 2016, and Naver/Coupang still say HYUNDAI).
COURIER_ALIASES: dict[str, tuple[str, ...]] = {
    "CJGLS": (
        "cj대한통운",
        "대한통운",
        "cj택배",
        "cj",
        "cj로지스틱스",
        "cjlogistics",
        "cj대한통운택배",
        "대한통운택배",
        "cjgls택배",
        "cj대한통운주식회사",
        "korexpress",
    ),
    "HYUNDAI": (
        "롯데택배",
        "롯데",
        "롯데글로벌로지스",
        "롯데로지스틱스",
        "현대택배",
        "현대",
        "lotte",
        "lotteglogis",
        "롯데글로벌",
        "hyundai택배",
        "lottegloballogistics",
        "롯데택배주식회사",
    ),
    "HANJIN": ("한진택배", "한진", "hanjin", "한진express", "hanjinexpress"),
    "KGB": ("로젠택배", "로젠", "logen", "ilogen", "kgb택배", "kgb로젠"),
    "EPOST": (
        "우체국택배",
        "우체국",
        "우편",
        "우체국소포",
        "우정사업본부",
        "epost",
        "koreapost",
        "우체국등기",
    ),
    "KDEXP": ("경동택배", "경동", "경동화물", "kdexp택배", "경동물류", "kyungdong"),
    "DAESIN": ("대신택배", "대신", "대신화물", "대신화물택배", "daesin"),
    "ILYANG": ("일양로지스", "일양", "일양택배", "ilyanglogis", "ilyang", "ilyanglogistics"),
    "HDEXP": ("합동택배", "합동", "합동화물", "hapdong"),
    "CHUNIL": ("천일택배", "천일", "천일특송", "천일화물", "chunil"),
    "CUPARCEL": ("cu편의점택배", "cu택배", "cupost", "cu편의점", "cu"),
    "CVSNET": (
        "gspostbox",
        "gspostbox택배",
        "gs편의점택배",
        "gs택배",
        "gs25",
        "gs25편의점택배",
        "postbox",
        "cvsnet편의점택배",
        "편의점택배gs25",
    ),
}

# Company suffixes and decorations that never tell couriers apart.
_COMPANY_NOISE = re.compile(r"\(주\)|㈜|주식회사|\(유\)|co\.?,?ltd\.?|inc\.?|corp\.?")
_KEY_DROP = re.compile(r"[\s\-_.·,/]")
_PARENS = re.compile(r"^(?P<outer>[^()\[\]]*)[(\[](?P<inner>[^()\[\]]*)[)\]]\s*$")


def _courier_key(text: str) -> str:
    """Case, spaces, punctuation and company suffixes removed: 'CJ 대한통운(주)' -> 'cj대한통운'."""
    lowered = _COMPANY_NOISE.sub("", text.strip().lower().replace(" ", ""))
    return _KEY_DROP.sub("", lowered)


def _without_taekbae(key: str) -> str:
    return key[:-2] if key.endswith("택배") and len(key) > 2 else key


class CourierIndex:
    """Every courier loaded once (a dozen rows), resolved in memory: use one per sheet upload
    so thousands of rows cost one query. `courier_resolve` builds one per call."""

    def __init__(self, couriers: list[Courier]) -> None:
        # Active couriers win where an inactive one shares a key.
        ordered = sorted(couriers, key=lambda c: (not c.is_active, c.sort_order, c.pk or 0))
        self.couriers = ordered
        self._by_key: dict[str, Courier] = {}
        self._by_market: dict[str, dict[str, Courier]] = {}
        self._market_any: dict[str, list[Courier]] = {}
        by_code = {c.code.upper(): c for c in ordered}
        for courier in ordered:
            self._by_key.setdefault(_courier_key(courier.code), courier)
        for courier in ordered:
            self._by_key.setdefault(_courier_key(courier.name), courier)
        for courier in ordered:
            self._by_key.setdefault(_without_taekbae(_courier_key(courier.name)), courier)
        for code, aliases in COURIER_ALIASES.items():
            courier_for_alias = by_code.get(code)
            if courier_for_alias is None:
                continue
            for alias in aliases:
                self._by_key.setdefault(_courier_key(alias), courier_for_alias)
        for courier in ordered:
            for market, value in (courier.marketplace_codes or {}).items():
                code_key = _courier_key(str(value))
                if not code_key:
                    continue
                self._by_market.setdefault(str(market), {}).setdefault(code_key, courier)
                bucket = self._market_any.setdefault(code_key, [])
                if courier not in bucket:
                    bucket.append(courier)

    def resolve(self, text: object, *, marketplace: str | None = None) -> Courier | None:
        """The courier `text` names, or None when it names none (or several)."""
        if text is None:
            return None
        if isinstance(text, float) and text.is_integer():
            text = int(text)
        raw = str(text).strip()
        if not raw:
            return None
        found = self._resolve_one(raw, marketplace=marketplace)
        if found is not None:
            return found
        # "CJ대한통운(CJGLS)", "롯데택배 [HYUNDAI]": either part may be the known one.
        match = _PARENS.match(raw)
        if match:
            for part in (match.group("inner"), match.group("outer")):
                if part.strip():
                    found = self._resolve_one(part.strip(), marketplace=marketplace)
                    if found is not None:
                        return found
        return None

    def _resolve_one(self, raw: str, *, marketplace: str | None) -> Courier | None:
        key = _courier_key(raw)
        if not key:
            return None
        if key.isdigit():
            return self._resolve_number(key, marketplace=marketplace)
        return self._by_key.get(key) or self._by_key.get(_without_taekbae(key))

    def _resolve_number(self, key: str, *, marketplace: str | None) -> Courier | None:
        # Marketplace codes are numbers with leading zeros ("00034") that Excel turns into 34.
        candidates = [key] + ([key.zfill(5)] if len(key) < 5 else [])
        if marketplace:
            codes = self._by_market.get(marketplace, {})
            for candidate in candidates:
                if candidate in codes:
                    return codes[candidate]
        for candidate in candidates:
            matches = self._market_any.get(candidate, [])
            if len({c.pk for c in matches}) == 1:
                return matches[0]
        return self._by_key.get(key)


def courier_index() -> CourierIndex:
    """All couriers (active and not) for resolving many names with one query."""
    return CourierIndex(list(Courier.objects.all()))


def courier_resolve(text: object, *, marketplace: str | None = None) -> Courier | None:
    """The courier that `text` names, as sheets and people write it: our code (CJGLS), a
    marketplace's code (11st 00034, ESM 10013; `marketplace` first where given), the name with
    or without spaces, or a common variant (대한통운, CJ택배, 롯데, 현대택배, 한진, 로젠, 우체국, ...),
    case-insensitive. None when nothing (or more than one courier) matches. The courier may be
    inactive (is_active False): the caller decides whether that is an error. For many rows,
    build one `courier_index()` and call its `resolve`."""
    return courier_index().resolve(text, marketplace=marketplace)


# --- Courier table writes (admins) ---------------------------------------------------------------

COURIER_FIELDS = (
    "code",
    "name",
    "marketplace_codes",
    "tracking_lengths",
    "tracking_url",
    "is_default",
    "is_active",
    "sort_order",
)


class CourierError(ValueError):
    """A courier change the rules refuse; str() is for the user."""


def _clear_other_defaults(courier: Courier | None) -> None:
    # The partial unique index allows one default: unset the old one before setting the new,
    # in the same transaction, with the old row locked so two admins cannot both win.
    others = Courier.objects.filter(is_default=True).order_by("pk").select_for_update()
    if courier is not None and courier.pk:
        others = others.exclude(pk=courier.pk)
    ids = list(others.values_list("pk", flat=True))
    if ids:
        Courier.objects.filter(pk__in=ids).update(is_default=False)


def _check_default_active(values: Mapping[str, Any]) -> None:
    if values.get("is_default") and not values.get("is_active", True):
        raise CourierError(_("The default courier must be in use. Tick 'in use' or choose another default."))


@transaction.atomic
def courier_create(*, values: Mapping[str, Any], actor: User | None) -> Courier:
    """A new courier; made the default (and the old default unset) when values say so."""
    _check_default_active(values)
    courier = Courier(**{name: values[name] for name in COURIER_FIELDS if name in values})
    if courier.is_default:
        _clear_other_defaults(None)  # first: full_clean checks the one-default constraint
    courier.full_clean()
    courier.save(force_insert=True)
    audit_record(
        actor=actor,
        action="courier.create",
        obj=courier,
        changes={name: getattr(courier, name) for name in COURIER_FIELDS},
    )
    return courier


@transaction.atomic
def courier_update(*, courier: Courier, values: Mapping[str, Any], actor: User | None) -> Courier:
    """Edit a courier. The default courier stays in use; unticking 'default' on it is refused
    (choose another default instead), so there is always one default while any is in use."""
    courier = Courier.objects.select_for_update().get(pk=courier.pk)
    changes = field_changes(courier, {name: values[name] for name in COURIER_FIELDS if name in values})
    if not changes:
        return courier
    merged = {name: getattr(courier, name) for name in COURIER_FIELDS} | {
        name: new for name, (_old, new) in changes.items()
    }
    _check_default_active(merged)
    if courier.is_default and not merged["is_default"]:
        raise CourierError(
            _("%(courier)s is the default courier. Make another courier the default instead.")
            % {"courier": courier.name}
        )
    for name, (_old, new) in changes.items():
        setattr(courier, name, new)
    if "is_default" in changes and courier.is_default:
        _clear_other_defaults(courier)  # first: full_clean checks the one-default constraint
    courier.full_clean()
    courier.save(update_fields=[*changes, "updated_at"])
    audit_record(actor=actor, action="courier.update", obj=courier, changes=changes)
    return courier


@transaction.atomic
def courier_make_default(*, courier: Courier, actor: User | None) -> Courier:
    """Make `courier` the one default (the old default stays, no longer default)."""
    courier = Courier.objects.select_for_update().get(pk=courier.pk)
    if courier.is_default:
        return courier
    if not courier.is_active:
        raise CourierError(
            _("%(courier)s is not in use. Put it back in use before making it the default.")
            % {"courier": courier.name}
        )
    previous = Courier.objects.filter(is_default=True).first()
    _clear_other_defaults(courier)
    courier.is_default = True
    courier.save(update_fields=["is_default", "updated_at"])
    audit_record(
        actor=actor,
        action="courier.default",
        obj=courier,
        changes={"is_default": [previous.name if previous else None, courier.name]},
    )
    return courier
