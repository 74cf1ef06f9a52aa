"""Writes of the sandbox marketplace: its API keys, the confirmations, dispatches, stock and
product pushes the OMS sends it, and the event log its page shows.

Each write answers per item, like a real marketplace's batch endpoints: an item the sandbox
refuses (unknown line, unknown courier, a tracking number of the wrong length, a negative
stock) is answered with a code and a reason, and the other items of the batch go on. Every
call that reaches a service leaves one SandboxEvent, in the same transaction as its changes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.sandbox.couriers import COURIERS
from channels.sandbox_models import (
    SandboxApiKey,
    SandboxEvent,
    SandboxListing,
    SandboxOrder,
    SandboxOrderLine,
)
from oms.models import User
from oms.services import audit_record

MAX_STOCK = 99_999  # the largest quantity an option may show (Naver's limit)
MAX_PRICE = 99_999_990
PRICE_UNIT = 10  # prices are in 10-won steps, as on Naver and Coupang
EVENT_KEEP = 5_000  # events older than the newest this many are pruned
PAYLOAD_ITEMS = 50  # items kept in one event's details
KEY_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often
TOKEN_PREFIX = "sbx_"  # noqa: S105 - a visible prefix, not a secret


@dataclass(frozen=True)
class Answer:
    """The sandbox's answer for one item of a batch."""

    id: str
    ok: bool
    code: str = ""
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "ok": self.ok}
        if self.code:
            out["code"] = self.code
        if self.message:
            out["message"] = self.message
        return out


@dataclass(frozen=True)
class DispatchItem:
    line_no: str
    courier_code: str
    tracking_number: str


@dataclass(frozen=True)
class StockItem:
    product_id: str
    option_id: str
    quantity: int
    price: int | None = None


@dataclass(frozen=True)
class ProductItem:
    """A product-level change (option_id empty: every option of the product) or an option's."""

    product_id: str
    option_id: str = ""
    price: int | None = None
    sale_status: str | None = None
    name: str | None = None


# --- Events -------------------------------------------------------------------------------------


def _event(
    kind: str, summary: str, answers: Sequence[Answer] = (), details: list[Any] | None = None
) -> SandboxEvent:
    payload = details if details is not None else [a.as_json() for a in answers]
    return SandboxEvent.objects.create(
        kind=kind,
        summary=summary[:500],
        ok_count=sum(1 for a in answers if a.ok),
        failed_count=sum(1 for a in answers if not a.ok),
        payload=payload[:PAYLOAD_ITEMS],
    )


def _batch_event(
    kind: str,
    message: str,
    answers: Sequence[Answer],
    refused: Sequence[Answer],
    details: list[Any] | None = None,
) -> SandboxEvent:
    """The event of one batch call: every item it received, those refused before they reached
    the service (unreadable items) included. `message` takes count, ok and failed."""
    every = [*answers, *refused]
    ok = sum(1 for a in every if a.ok)
    shown = [*(details if details is not None else [a.as_json() for a in answers])]
    shown += [r.as_json() for r in refused]
    summary = message % {"count": len(every), "ok": ok, "failed": len(every) - ok}
    return _event(kind, summary, every, details=shown)


def sandbox_orders_read_record(
    *, orders: Sequence[SandboxOrder], since: datetime, until: datetime
) -> SandboxEvent | None:
    """Note that the OMS read these orders (one page of the order API). The event names only the
    orders it had not read since they last changed: the OMS re-reads an overlap every minute,
    and the re-reads would bury what is new. A page with nothing new leaves no event."""
    if not orders:
        return None
    now = timezone.now()
    news = [o for o in orders if o.read_at is None or o.read_at < o.changed_at]
    with transaction.atomic():
        SandboxOrder.objects.filter(pk__in=[o.pk for o in orders]).update(read_at=now)
        if not news:
            return None
        lines = sum(len(o.lines.all()) for o in news)
        summary = _(
            "%(orders)d new or changed orders (%(lines)d product orders) collected; "
            "%(read)d read, changed %(since)s – %(until)s"
        ) % {
            "orders": len(news),
            "lines": lines,
            "read": len(orders),
            "since": timezone.localtime(since).strftime("%m-%d %H:%M:%S"),
            "until": timezone.localtime(until).strftime("%m-%d %H:%M:%S"),
        }
        details = [{"id": o.order_no, "lines": [ln.line_no for ln in o.lines.all()]} for o in news]
        return _event(SandboxEvent.Kind.ORDERS_READ, summary, details=details)


def sandbox_fault_record(*, status: int, method: str, path: str) -> SandboxEvent:
    """A failure the sandbox answered on purpose (settings.OMS_SANDBOX_FAULT_RATE)."""
    summary = _("Answered %(status)d on purpose to %(method)s %(path)s") % {
        "status": status,
        "method": method,
        "path": path,
    }
    with transaction.atomic():
        return _event(SandboxEvent.Kind.FAULT, summary, details=[{"status": status, "path": path}])


def sandbox_events_prune(*, keep: int = EVENT_KEEP) -> int:
    """Delete all but the newest `keep` events. Returns how many went."""
    boundary = SandboxEvent.objects.order_by("-pk").values_list("pk", flat=True)[keep : keep + 1]
    cut = boundary.first()
    if cut is None:
        return 0
    deleted, _by_model = SandboxEvent.objects.filter(pk__lte=cut).delete()
    return deleted


# --- API keys -------------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def sandbox_key_issue(*, actor: User | None, label: str = "") -> tuple[SandboxApiKey, str]:
    """A new API token. The token itself is returned once and never stored: only its hash."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    key = SandboxApiKey.objects.create(
        label=label.strip()[:100], token_hash=token_hash(token), last4=token[-4:]
    )
    audit_record(actor=actor, action="sandbox.key_issue", obj=key, changes={"label": key.label})
    return key, token


@transaction.atomic
def sandbox_key_revoke(*, actor: User | None, key: SandboxApiKey) -> SandboxApiKey:
    locked = SandboxApiKey.objects.select_for_update().get(pk=key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="sandbox.key_revoke", obj=locked, changes={"label": locked.label})
    return locked


def sandbox_key_authenticate(*, token: str) -> SandboxApiKey | None:
    """The active key this token belongs to, or None. Notes when the key was last used."""
    token = token.strip()
    if not token:
        return None
    key = SandboxApiKey.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= KEY_TOUCH_EVERY:
        SandboxApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# --- Orders: 발주확인 and 발송처리 ------------------------------------------------------------------


def _locked_lines(line_nos: Iterable[str]) -> dict[str, SandboxOrderLine]:
    wanted = {n for n in line_nos if n}
    return {
        line.line_no: line
        for line in SandboxOrderLine.objects.filter(line_no__in=wanted).order_by("pk").select_for_update()
    }


def _touch_orders(order_ids: set[int], now: datetime) -> None:
    if order_ids:
        SandboxOrder.objects.filter(pk__in=order_ids).update(changed_at=now)


def _not_found(line_no: str) -> Answer:
    return Answer(
        line_no,
        False,
        "NOT_FOUND",
        _("There is no product order %(id)s in this store.") % {"id": line_no or "-"},
    )


@transaction.atomic
def sandbox_lines_confirm(*, line_nos: Sequence[str], refused: Sequence[Answer] = ()) -> list[Answer]:
    """발주확인: NEW lines become CONFIRMED. Confirming a line again is answered ok (a retried
    call must not fail), and so is a line already dispatched (it is past confirmation)."""
    now = timezone.now()
    lines = _locked_lines(line_nos)
    answers: list[Answer] = []
    changed: list[SandboxOrderLine] = []
    for line_no in line_nos:
        line = lines.get(line_no)
        if line is None:
            answers.append(_not_found(line_no))
            continue
        if line.status == SandboxOrderLine.Status.NEW:
            line.status, line.confirmed_at = SandboxOrderLine.Status.CONFIRMED, now
            changed.append(line)
            answers.append(Answer(line_no, True))
        else:
            answers.append(Answer(line_no, True, "ALREADY_CONFIRMED"))
    SandboxOrderLine.objects.bulk_update(changed, ["status", "confirmed_at"])
    _touch_orders({line.order_id for line in changed}, now)
    _batch_event(
        SandboxEvent.Kind.CONFIRM,
        _("Confirmation of %(count)d product orders: %(ok)d accepted, %(failed)d refused"),
        answers,
        refused,
    )
    return answers


def _dispatch_refusal(line: SandboxOrderLine, item: DispatchItem) -> Answer | None:
    courier = COURIERS.get(item.courier_code)
    if courier is None:
        return Answer(
            item.line_no,
            False,
            "INVALID_COURIER",
            _("Unknown courier code %(code)s. Use one of: %(codes)s.")
            % {"code": item.courier_code or "-", "codes": ", ".join(COURIERS)},
        )
    if not courier.accepts(item.tracking_number):
        return Answer(
            item.line_no,
            False,
            "INVALID_TRACKING_NUMBER",
            _("%(number)s is not a %(courier)s tracking number: digits only, %(lengths)s digits long.")
            % {
                "number": item.tracking_number or "-",
                "courier": courier.name,
                "lengths": courier.lengths_text,
            },
        )
    if line.status == SandboxOrderLine.Status.DISPATCHED and (line.courier_code, line.tracking_number) != (
        item.courier_code,
        item.tracking_number,
    ):
        return Answer(
            item.line_no,
            False,
            "ALREADY_DISPATCHED",
            _(
                "Already dispatched with %(courier)s %(number)s; a tracking number is changed by "
                "a correction, not a new dispatch."
            )
            % {"courier": line.courier_code, "number": line.tracking_number},
        )
    return None


@transaction.atomic
def sandbox_lines_dispatch(*, items: Sequence[DispatchItem], refused: Sequence[Answer] = ()) -> list[Answer]:
    """발송처리: a NEW or CONFIRMED line becomes DISPATCHED under a courier and tracking number
    (a NEW line is confirmed on the way, as Naver does). The same dispatch sent again is
    answered ok; another tracking number for a dispatched line is refused."""
    now = timezone.now()
    lines = _locked_lines(item.line_no for item in items)
    answers: list[Answer] = []
    changed: dict[int, SandboxOrderLine] = {}
    for item in items:
        line = lines.get(item.line_no)
        if line is None:
            answers.append(_not_found(item.line_no))
            continue
        refusal = _dispatch_refusal(line, item)
        if refusal is not None:
            answers.append(refusal)
            continue
        if line.status == SandboxOrderLine.Status.DISPATCHED:
            answers.append(Answer(item.line_no, True, "ALREADY_DISPATCHED"))
            continue
        line.confirmed_at = line.confirmed_at or now
        line.status, line.dispatched_at = SandboxOrderLine.Status.DISPATCHED, now
        line.courier_code, line.tracking_number = item.courier_code, item.tracking_number
        changed[line.pk] = line
        answers.append(Answer(item.line_no, True))
    SandboxOrderLine.objects.bulk_update(
        changed.values(), ["status", "confirmed_at", "dispatched_at", "courier_code", "tracking_number"]
    )
    _touch_orders({line.order_id for line in changed.values()}, now)
    details = [
        {**a.as_json(), "courier": i.courier_code, "tracking": i.tracking_number}
        for a, i in zip(answers, items, strict=True)
    ]
    _batch_event(
        SandboxEvent.Kind.DISPATCH,
        _("Dispatch of %(count)d product orders: %(ok)d accepted, %(failed)d refused"),
        answers,
        refused,
        details=details,
    )
    return answers


# --- Stock and product pushes -----------------------------------------------------------------------


def _locked_listings(option_ids: Iterable[str]) -> dict[str, SandboxListing]:
    wanted = {o for o in option_ids if o}
    return {
        listing.option_id: listing
        for listing in SandboxListing.objects.filter(option_id__in=wanted).order_by("pk").select_for_update()
    }


def _unknown_option(product_id: str, option_id: str) -> Answer:
    return Answer(
        option_id or product_id,
        False,
        "NOT_FOUND",
        _("There is no option %(option)s of product %(product)s in this store.")
        % {"option": option_id or "-", "product": product_id or "-"},
    )


def _price_refusal(key: str, price: int) -> Answer | None:
    if price < PRICE_UNIT or price > MAX_PRICE or price % PRICE_UNIT:
        return Answer(
            key,
            False,
            "INVALID_PRICE",
            _("A price must be between 10 and 99,999,990 won, in 10-won steps (got %(price)s).")
            % {"price": price},
        )
    return None


@transaction.atomic
def sandbox_stock_set(*, items: Sequence[StockItem], refused: Sequence[Answer] = ()) -> list[Answer]:
    """Set the quantity (and optionally the price) each option shows. The later item wins when
    one option comes twice."""
    now = timezone.now()
    listings = _locked_listings(item.option_id for item in items)
    answers: list[Answer] = []
    details: list[dict[str, Any]] = []
    changed: dict[int, SandboxListing] = {}
    for item in items:
        listing = listings.get(item.option_id)
        if listing is None or listing.product_id != item.product_id:
            answers.append(_unknown_option(item.product_id, item.option_id))
            details.append(answers[-1].as_json())
            continue
        if not 0 <= item.quantity <= MAX_STOCK:
            answers.append(
                Answer(
                    item.option_id,
                    False,
                    "INVALID_QUANTITY",
                    _("A stock quantity must be between 0 and %(max)s (got %(quantity)s).")
                    % {"max": f"{MAX_STOCK:,}", "quantity": item.quantity},
                )
            )
            details.append(answers[-1].as_json())
            continue
        if item.price is not None and (refusal := _price_refusal(item.option_id, item.price)) is not None:
            answers.append(refusal)
            details.append(refusal.as_json())
            continue
        before = listing.stock_quantity
        listing.stock_quantity, listing.stock_updated_at = item.quantity, now
        if item.price is not None:
            listing.price, listing.product_updated_at = item.price, now
        changed[listing.pk] = listing
        answers.append(Answer(item.option_id, True))
        details.append(
            {"id": item.option_id, "ok": True, "name": str(listing), "from": before, "to": item.quantity}
        )
    SandboxListing.objects.bulk_update(
        changed.values(), ["stock_quantity", "stock_updated_at", "price", "product_updated_at"]
    )
    _batch_event(
        SandboxEvent.Kind.STOCK,
        _("Stock of %(count)d options: %(ok)d set, %(failed)d refused"),
        answers,
        refused,
        details=details,
    )
    return answers


@transaction.atomic
def sandbox_products_set(*, items: Sequence[ProductItem], refused: Sequence[Answer] = ()) -> list[Answer]:
    """Price, sale status (ON_SALE / SUSPENDED) or name of an option, or of every option of a
    product when the item names no option."""
    now = timezone.now()
    product_ids = {item.product_id for item in items if not item.option_id}
    by_product: dict[str, list[SandboxListing]] = {}
    for listing in (
        SandboxListing.objects.filter(product_id__in=product_ids).order_by("pk").select_for_update()
    ):
        by_product.setdefault(listing.product_id, []).append(listing)
    by_option = _locked_listings(item.option_id for item in items)
    answers: list[Answer] = []
    details: list[dict[str, Any]] = []
    changed: dict[int, SandboxListing] = {}
    for item in items:
        key = item.option_id or item.product_id
        if item.option_id:
            found = by_option.get(item.option_id)
            targets = [found] if found is not None and found.product_id == item.product_id else []
        else:
            targets = by_product.get(item.product_id, [])
        targets = [changed.get(t.pk, t) for t in targets]
        if not targets:
            answers.append(_unknown_option(item.product_id, item.option_id))
            details.append(answers[-1].as_json())
            continue
        refusal: Answer | None = None
        if item.price is None and item.sale_status is None and item.name is None:
            refusal = Answer(
                key, False, "NOTHING_TO_CHANGE", _("The item changes neither price, sale status nor name.")
            )
        elif item.price is not None:
            refusal = _price_refusal(key, item.price)
        if (
            refusal is None
            and item.sale_status is not None
            and item.sale_status not in SandboxListing.SaleStatus.values
        ):
            refusal = Answer(
                key,
                False,
                "INVALID_SALE_STATUS",
                _("Unknown sale status %(status)s: use ON_SALE or SUSPENDED.") % {"status": item.sale_status},
            )
        if refusal is None and item.name is not None and not 1 <= len(item.name.strip()) <= 100:
            refusal = Answer(
                key, False, "INVALID_NAME", _("A product name must be 1 to 100 characters long.")
            )
        if refusal is not None:
            answers.append(refusal)
            details.append(refusal.as_json())
            continue
        change: dict[str, Any] = {}
        for listing in targets:
            if item.price is not None:
                change["price"] = [listing.price, item.price]
                listing.price = item.price
            if item.sale_status is not None:
                change["status"] = [listing.sale_status, item.sale_status]
                listing.sale_status = item.sale_status
            if item.name is not None:
                change["name"] = [listing.product_name, item.name.strip()]
                listing.product_name = item.name.strip()
            listing.product_updated_at = now
            changed[listing.pk] = listing
        answers.append(Answer(key, True))
        details.append({"id": key, "ok": True, "name": str(targets[0]), **change})
    SandboxListing.objects.bulk_update(
        changed.values(), ["price", "sale_status", "product_name", "product_updated_at"]
    )
    _batch_event(
        SandboxEvent.Kind.PRODUCT,
        _("Price / sale status of %(count)d items: %(ok)d set, %(failed)d refused"),
        answers,
        refused,
        details=details,
    )
    return answers


# --- Listings (the demo registers products) --------------------------------------------------------


@transaction.atomic
def sandbox_listing_register(
    *,
    product_id: str,
    option_id: str,
    product_name: str,
    option_text: str,
    price: int,
    stock_quantity: int,
    seller_code: str,
) -> tuple[SandboxListing, bool]:
    """Put an option on sale in the sandbox, as a seller registering a product would. An option
    already registered is left as it is (its stock is the OMS's to set). Returns (listing,
    created)."""
    listing = SandboxListing.objects.filter(option_id=option_id).first()
    if listing is not None:
        return listing, False
    listing = SandboxListing(
        product_id=product_id,
        option_id=option_id,
        product_name=product_name[:200],
        option_text=option_text[:200],
        price=price,
        stock_quantity=max(0, min(MAX_STOCK, stock_quantity)),
        seller_code=seller_code[:100],
        stock_updated_at=timezone.now(),
    )
    listing.full_clean()
    listing.save()
    return listing, True
