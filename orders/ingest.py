"""The one ingestion service every order source uses (Excel now, channel adapters next).

It takes plain ChannelOrder dataclasses and, in transactions of whole orders, upserts them
idempotently: the same input twice creates nothing; a changed address or channel state updates
the order and writes an OrderEvent. New lines are mapped to SKUs (an OptionMapping first,
otherwise a seller code equal to a SKU code) and reserve stock through inventory.services in
the same transaction; a line that cannot be fully reserved is stored and flagged BACKORDER.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Sku
from channels.models import ChannelAccount, OptionMapping
from channels.types import ChannelOrder, ChannelOrderLine, LineState
from inventory.services import ReserveRequest, stock_reserve_many
from oms.db import bulk_set, chunked, insert_rows, is_postgres, pg_array, without_cyclic_gc
from oms.models import User
from orders.models import (
    RESERVING_STATES,
    ImportBatch,
    LineSku,
    LineStatus,
    Order,
    OrderEvent,
    OrderLine,
    reservation_reference,
)
from orders.normalize import normalize_address, normalize_phone, normalize_zip
from orders.services import TERMINAL_STATES, order_line_apply_channel_state

BATCH_ORDERS = 500

# The OMS state a new line starts in, from the channel's state.
INITIAL_STATUS = {
    LineState.NEW: LineStatus.NEW,
    LineState.CONFIRMED: LineStatus.CONFIRMED,
    LineState.SHIPPED: LineStatus.SHIPPED,
    LineState.DELIVERED: LineStatus.DELIVERED,
    LineState.COMPLETED: LineStatus.COMPLETED,
    LineState.CANCEL_REQUESTED: LineStatus.CANCEL_REQUESTED,
    LineState.CANCELLED: LineStatus.CANCELLED,
    LineState.RETURN_REQUESTED: LineStatus.RETURN_REQUESTED,
    LineState.RETURNED: LineStatus.RETURNED,
    LineState.EXCHANGE_REQUESTED: LineStatus.EXCHANGE_REQUESTED,
    LineState.EXCHANGED: LineStatus.EXCHANGED,
}

# Channel states that move an existing line on re-ingestion (claims made on the channel).
# Forward progress the OMS itself drives (confirm, ship) is left to those services.
CHANNEL_DRIVEN = {
    LineState.CANCEL_REQUESTED: LineStatus.CANCEL_REQUESTED,
    LineState.CANCELLED: LineStatus.CANCELLED,
    LineState.RETURN_REQUESTED: LineStatus.RETURN_REQUESTED,
    LineState.RETURNED: LineStatus.RETURNED,
    LineState.EXCHANGE_REQUESTED: LineStatus.EXCHANGE_REQUESTED,
    LineState.EXCHANGED: LineStatus.EXCHANGED,
    LineState.DELIVERED: LineStatus.DELIVERED,
    LineState.COMPLETED: LineStatus.COMPLETED,
}

# Order fields compared on re-ingestion; a change writes an event (address ones flag the lines).
ADDRESS_FIELDS = ("recipient_name", "recipient_phone", "recipient_phone2", "zip_code", "address1", "address2")
OTHER_FIELDS = ("delivery_message", "buyer_name", "buyer_phone", "paid_at")


@dataclass
class IngestResult:
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    lines_created: int = 0
    lines_updated: int = 0
    lines_unchanged: int = 0
    unmapped: int = 0
    backorder: int = 0
    reserved: int = 0
    order_ids: list[int] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        for name in (
            "orders_created",
            "orders_updated",
            "orders_unchanged",
            "lines_created",
            "lines_updated",
            "lines_unchanged",
            "unmapped",
            "backorder",
            "reserved",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.order_ids += other.order_ids

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "order_ids"}


def option_key(line: ChannelOrderLine) -> str:
    """The key an OptionMapping is stored under: the channel's option id, else the option text
    with whitespace collapsed. Without a channel product id either (Excel-only channels such as
    11st), the product name comes first, so "블랙" of two different products never shares one
    mapping."""
    if line.channel_option_id.strip():
        return line.channel_option_id.strip()
    option = normalize_address(line.option_text)
    if line.channel_product_id.strip():
        return option
    return f"{normalize_address(line.product_name)} | {option}"[:300]


def _order_values(order: ChannelOrder) -> dict[str, Any]:
    phone = normalize_phone(order.recipient_phone)
    phone2 = normalize_phone(order.recipient_phone2)
    buyer = normalize_phone(order.buyer_phone)
    zip_ = normalize_zip(order.zip_code)
    total = order.total_amount
    if total is None:
        total = sum(_line_total(line) for line in order.lines) + order.shipping_fee
    return {
        "ordered_at": order.ordered_at,
        "paid_at": order.paid_at,
        "buyer_name": order.buyer_name.strip()[:100],
        "buyer_phone": buyer.digits[:20],
        "recipient_name": order.recipient_name.strip()[:100],
        "recipient_phone": phone.digits[:20],
        "recipient_phone2": phone2.digits[:20],
        "phone_last4": phone.last4 or buyer.last4,
        "zip_code": zip_.code,
        "zip_is_old": zip_.is_old,
        "address1": normalize_address(order.address1)[:300],
        "address2": normalize_address(order.address2)[:300],
        "delivery_message": order.delivery_message.strip()[:500],
        "shipping_fee": order.shipping_fee,
        "total_amount": total,
        "bundle_key": order.bundle_key.strip()[:100],
    }


def _line_total(line: ChannelOrderLine) -> int:
    return line.line_total if line.line_total is not None else line.unit_price * line.quantity - line.discount


class SkuResolver:
    """Maps channel lines to SKUs for one account: OptionMapping first, then seller codes."""

    def __init__(self, account: ChannelAccount) -> None:
        self.account = account

    def resolve(self, lines: Sequence[ChannelOrderLine]) -> list[list[tuple[int, int]] | None]:
        line_keys = [(ln.channel_product_id, option_key(ln)) for ln in lines]
        keys = set(line_keys)
        mappings: dict[tuple[str, str], list[tuple[int, int]]] = {}
        if keys:
            rows = OptionMapping.objects.filter(
                account=self.account,
                channel_product_id__in={k[0] for k in keys},
                option_key__in={k[1] for k in keys},
            ).prefetch_related("items")
            for mapping in rows:
                mappings[(mapping.channel_product_id, mapping.option_key)] = [
                    (item.sku_id, item.quantity) for item in mapping.items.all()
                ]
        codes = {code.strip() for ln in lines for code in ln.seller_codes if code and code.strip()}
        sku_by_code = (
            dict(Sku.objects.filter(code__in=codes, is_active=True).values_list("code", "pk"))
            if codes
            else {}
        )
        out: list[list[tuple[int, int]] | None] = []
        for ln, key in zip(lines, line_keys, strict=True):
            mapped = mappings.get(key) if mappings else None
            if mapped:
                out.append([(sku_id, per_unit * ln.quantity) for sku_id, per_unit in mapped])
                continue
            found = next(
                (sku_by_code[c.strip()] for c in ln.seller_codes if c and c.strip() in sku_by_code), None
            )
            out.append([(found, ln.quantity)] if found else None)
        return out


@dataclass(slots=True)
class _Waiting:
    """A mapped line waiting for stock, as reserving needs it (no ORM instance)."""

    pk: int
    order_id: int
    product_name: str
    backorder: bool
    sort_at: datetime
    allocation: list[tuple[int, int]]
    line: OrderLine | None = None


EVENT_COLUMNS = ("order_id", "line_id", "type", "message", "data", "user_id")
# Plain values of the event types written in bulk (an enum's .value is slow in a hot loop).
_COLLECTED = str(OrderEvent.Type.COLLECTED)
_RESERVED = str(OrderEvent.Type.RESERVED)
_BACKORDER = str(OrderEvent.Type.BACKORDER)


def _user_id(actor: User | None) -> int | None:
    return actor.pk if actor is not None and actor.is_authenticated else None


def _set_backorder(line_ids: Sequence[int], flag: bool, now: datetime) -> None:
    if not line_ids:
        return
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {OrderLine._meta.db_table} SET backorder = %s, updated_at = %s "  # noqa: S608
                "WHERE id = ANY(%s::bigint[])",
                [flag, now, pg_array(line_ids)],
            )
        return
    for part in chunked(line_ids, 500):
        OrderLine.objects.filter(pk__in=part).update(backorder=flag, updated_at=now)


def _reserve_waiting(
    waiting: Sequence[_Waiting], *, actor: User | None, per_order_events: bool = False
) -> tuple[list[_Waiting], list[_Waiting]]:
    """Reserve for the lines, oldest first, each all or nothing; set their backorder flags (on
    the rows and on `waiting`) and write their events: one per line, or with `per_order_events`
    (new orders) one "reserved" event per order naming its reserved products. Returns
    (reserved, short)."""
    ordered = sorted((w for w in waiting if w.allocation), key=lambda w: (w.sort_at, w.pk))
    if not ordered:
        return [], []
    results = stock_reserve_many(
        requests=[ReserveRequest(reservation_reference(w.pk), w.allocation) for w in ordered],
        actor=actor,
        detail=False,
    )
    user_id = _user_id(actor)
    reserved: list[_Waiting] = []
    short: list[_Waiting] = []
    events: list[tuple[Any, ...]] = []
    per_order: dict[int, list[_Waiting]] = defaultdict(list)
    for w, result in zip(ordered, results, strict=True):
        if result.ok:
            reserved.append(w)
            if w.backorder or not result.already_reserved:
                if per_order_events:
                    per_order[w.order_id].append(w)
                else:
                    events.append((w.order_id, w.pk, _RESERVED, w.product_name[:200], {}, user_id))
        else:
            short.append(w)
            if not w.backorder:
                events.append(
                    (
                        w.order_id,
                        w.pk,
                        _BACKORDER,
                        "; ".join(f"{s.sku_code} -{s.short}" for s in result.shortages)[:500],
                        {"shortages": [s.__dict__ for s in result.shortages]},
                        user_id,
                    )
                )
    for order_id, done in per_order.items():
        # One row for the order's reserved lines (pointing at the line when there is one).
        events.append(
            (
                order_id,
                done[0].pk if len(done) == 1 else None,
                _RESERVED,
                ", ".join(dict.fromkeys(w.product_name for w in done))[:500],
                {"lines": [w.pk for w in done]} if len(done) > 1 else {},
                user_id,
            )
        )
    now = timezone.now()
    _set_backorder([w.pk for w in reserved if w.backorder], False, now)
    _set_backorder([w.pk for w in short if not w.backorder], True, now)
    for w in reserved:
        w.backorder = False
    for w in short:
        w.backorder = True
    insert_rows(OrderEvent, EVENT_COLUMNS, events)
    return reserved, short


def reserve_lines(
    lines: Sequence[OrderLine], *, actor: User | None
) -> tuple[list[OrderLine], list[OrderLine]]:
    """Reserve stock for mapped lines, oldest first, each all or nothing. Updates the lines'
    backorder flags and writes events. Returns (reserved, short). Call inside a transaction."""
    if not lines:
        return [], []
    allocations: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row in LineSku.objects.filter(line__in=lines).values_list("line_id", "sku_id", "quantity"):
        allocations[row[0]].append((row[1], row[2]))
    now = timezone.now()
    waiting = [
        _Waiting(
            pk=ln.pk,
            order_id=ln.order_id,
            product_name=ln.product_name,
            backorder=ln.backorder,
            sort_at=ln.ordered_at or ln.created_at or now,
            allocation=allocations.get(ln.pk, []),
            line=ln,
        )
        for ln in lines
    ]
    reserved, short = _reserve_waiting(waiting, actor=actor)
    for w in (*reserved, *short):
        assert w.line is not None
        w.line.backorder = w.backorder
    return [w.line for w in reserved if w.line], [w.line for w in short if w.line]


def _chunks(orders: Sequence[ChannelOrder], size: int) -> Iterable[Sequence[ChannelOrder]]:
    for start in range(0, len(orders), size):
        yield orders[start : start + size]


def orders_ingest(
    *,
    account: ChannelAccount,
    orders: Sequence[ChannelOrder],
    source: str = Order.Source.API,
    actor: User | None = None,
    import_batch: ImportBatch | None = None,
    batch_size: int = BATCH_ORDERS,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Upsert `orders` for `account`, a batch of whole orders per transaction."""
    # The same order twice in one input: the later copy wins.
    unique = list({order.external_order_id: order for order in orders}.values())
    total = IngestResult()
    done = 0
    with without_cyclic_gc():
        for chunk in _chunks(unique, batch_size):
            total.add(
                _ingest_chunk(account=account, orders=chunk, source=source, actor=actor, batch=import_batch)
            )
            done += len(chunk)
            if progress:
                progress(done)
    return total


# --- What changed since the last collection ---------------------------------------------------------
# Each order keeps a digest of the channel's data it was last ingested from. The same data again
# (a sheet uploaded twice, a collection window overlapping the last one) matches it and costs one
# indexed look-up per batch: nothing is re-read, compared or written. A different digest (or none:
# orders stored before digests, or whose last channel state could not be applied) goes through the
# field-by-field comparison below.

_ORDER_DIGEST_FIELDS = tuple(f.name for f in fields(ChannelOrder) if f.name not in {"lines", "raw"})
_LINE_DIGEST_FIELDS = tuple(f.name for f in fields(ChannelOrderLine))
_order_key = attrgetter(*_ORDER_DIGEST_FIELDS)
_line_key = attrgetter(*_LINE_DIGEST_FIELDS)


def order_digest(order: ChannelOrder) -> str:
    """A stable fingerprint of what the channel said about the order and its lines."""
    key = (1, _order_key(order), [_line_key(line) for line in order.lines])
    return hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()


@transaction.atomic
def _ingest_chunk(
    *,
    account: ChannelAccount,
    orders: Sequence[ChannelOrder],
    source: str,
    actor: User | None,
    batch: ImportBatch | None,
) -> IngestResult:
    result = IngestResult()
    digests = {o.external_order_id[:100]: order_digest(o) for o in orders}
    known = {
        ext: (pk, digest)
        for ext, pk, digest in Order.objects.filter(
            account=account, external_order_id__in=list(digests)
        ).values_list("external_order_id", "pk", "ingest_digest")
    }
    pk_of: dict[str, int] = {}
    fresh: list[ChannelOrder] = []
    compare: list[ChannelOrder] = []
    for incoming in orders:
        key = incoming.external_order_id[:100]
        hit = known.get(key)
        if hit is None:
            fresh.append(incoming)
        elif hit[1] and hit[1] == digests[key]:
            pk_of[key] = hit[0]
            result.orders_unchanged += 1
            result.lines_unchanged += len(incoming.lines)
        else:
            compare.append(incoming)
    if fresh:
        # A new order whose line is already stored (under another order) takes the careful path.
        taken = _stored_line_ids(account, [ln.external_line_id[:100] for o in fresh for ln in o.lines])
        if taken:
            compare += [o for o in fresh if any(ln.external_line_id[:100] in taken for ln in o.lines)]
            fresh = [o for o in fresh if not any(ln.external_line_id[:100] in taken for ln in o.lines)]
    if compare:
        result.add(
            _ingest_compared(
                account=account, orders=compare, digests=digests, source=source, actor=actor, batch=batch
            )
        )
    if fresh:
        result.add(
            _ingest_new(
                account=account, orders=fresh, digests=digests, source=source, actor=actor, batch=batch
            )
        )
    pk_of.update(zip([o.external_order_id[:100] for o in compare + fresh], result.order_ids, strict=True))
    result.order_ids = [pk_of[o.external_order_id[:100]] for o in orders]
    return result


def _stored_line_ids(account: ChannelAccount, line_ids: Sequence[str]) -> set[str]:
    if not line_ids:
        return set()
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT external_line_id FROM {OrderLine._meta.db_table} "  # noqa: S608
                "WHERE account_id = %s AND external_line_id = ANY(%s::varchar[])",
                [account.pk, pg_array(line_ids)],
            )
            return {row[0] for row in cursor.fetchall()}
    found: set[str] = set()
    for part in chunked(line_ids, 500):
        found.update(
            OrderLine.objects.filter(account=account, external_line_id__in=part).values_list(
                "external_line_id", flat=True
            )
        )
    return found


# --- New orders: plain rows, COPY, one reservation call --------------------------------------------

ORDER_COLUMNS = (
    "account_id",
    "external_order_id",
    "source",
    "import_batch_id",
    "raw",
    "ingest_digest",
    "ordered_at",
    "paid_at",
    "buyer_name",
    "buyer_phone",
    "recipient_name",
    "recipient_phone",
    "recipient_phone2",
    "phone_last4",
    "zip_code",
    "zip_is_old",
    "address1",
    "address2",
    "delivery_message",
    "shipping_fee",
    "total_amount",
    "bundle_key",
)
LINE_COLUMNS = (
    "order_id",
    "account_id",
    "external_line_id",
    "channel_product_id",
    "channel_option_id",
    "product_name",
    "option_text",
    "seller_codes",
    "quantity",
    "unit_price",
    "discount",
    "line_total",
    "status",
    "channel_status",
    "ordered_at",
    "unmapped",
)


def _ingest_new(
    *,
    account: ChannelAccount,
    orders: Sequence[ChannelOrder],
    digests: dict[str, str],
    source: str,
    actor: User | None,
    batch: ImportBatch | None,
) -> IngestResult:
    """Orders none of whose lines is stored yet: written as plain rows (COPY on Postgres), their
    lines mapped and reserved in one call."""
    result = IngestResult(orders_created=len(orders))
    batch_id = batch.pk if batch is not None else None
    rows = []
    for incoming in orders:
        values = _order_values(incoming)
        key = incoming.external_order_id[:100]
        rows.append(
            (
                account.pk,
                key,
                str(source),
                batch_id,
                incoming.raw,
                digests[key],
                *(values[c] for c in ORDER_COLUMNS[6:]),
            )
        )
    order_ids = insert_rows(Order, ORDER_COLUMNS, rows)
    result.order_ids = order_ids
    user_id = _user_id(actor)
    insert_rows(
        OrderEvent,
        ("order_id", "type", "message", "user_id"),
        [(pk, _COLLECTED, f"{source}", user_id) for pk in order_ids],
    )

    channel_lines = [ln for o in orders for ln in o.lines]
    allocations = SkuResolver(account).resolve(channel_lines)
    line_rows = []
    meta: list[tuple[int, str, datetime | None, bool]] = []  # order id, product, ordered at, reserves
    for order_id, incoming in zip(order_ids, orders, strict=True):
        ordered_at = incoming.ordered_at
        for ln in incoming.lines:
            status = INITIAL_STATUS[ln.state]
            product_name = ln.product_name[:300]
            line_rows.append(
                (
                    order_id,
                    account.pk,
                    ln.external_line_id[:100],
                    ln.channel_product_id[:100],
                    ln.channel_option_id[:100],
                    product_name,
                    ln.option_text.strip()[:300],
                    [c.strip() for c in ln.seller_codes if c and c.strip()],
                    ln.quantity,
                    ln.unit_price,
                    ln.discount,
                    _line_total(ln),
                    str(status),
                    ln.channel_status[:50],
                    ordered_at,
                    False,
                )
            )
            meta.append((order_id, product_name, ordered_at, status in RESERVING_STATES))
    for i, allocation in enumerate(allocations):
        if allocation is None:
            line_rows[i] = (*line_rows[i][:-1], True)
    line_ids = insert_rows(OrderLine, LINE_COLUMNS, line_rows)

    sku_rows = []
    waiting = []
    now = timezone.now()
    for line_id, allocation, (order_id, product_name, ordered_at, reserves) in zip(
        line_ids, allocations, meta, strict=True
    ):
        if allocation is None:
            result.unmapped += 1
            continue
        merged: dict[int, int] = defaultdict(int)
        for sku_id, quantity in allocation:
            merged[sku_id] += quantity
        sku_rows += [(line_id, sku_id, q) for sku_id, q in merged.items()]
        if reserves:
            waiting.append(
                _Waiting(line_id, order_id, product_name, False, ordered_at or now, list(merged.items()))
            )
    insert_rows(LineSku, ("line_id", "sku_id", "quantity"), sku_rows)
    result.lines_created = len(line_ids)
    reserved, short = _reserve_waiting(waiting, actor=actor, per_order_events=True)
    result.reserved, result.backorder = len(reserved), len(short)
    return result


# --- Known orders (or new ones sharing a stored line): compared field by field ----------------------


def _ingest_compared(
    *,
    account: ChannelAccount,
    orders: Sequence[ChannelOrder],
    digests: dict[str, str],
    source: str,
    actor: User | None,
    batch: ImportBatch | None,
) -> IngestResult:
    result = IngestResult()
    existing_orders = {
        o.external_order_id: o
        for o in Order.objects.filter(
            account=account, external_order_id__in=[o.external_order_id[:100] for o in orders]
        )
    }
    line_ids = [ln.external_line_id[:100] for o in orders for ln in o.lines]
    existing_lines = {
        ln.external_line_id: ln
        for ln in OrderLine.objects.filter(account=account, external_line_id__in=line_ids).select_related(
            "order"
        )
    }
    events: list[OrderEvent] = []
    to_create: list[tuple[ChannelOrder, Order]] = []
    changed_orders: list[Order] = []
    update_fields: set[str] = set()
    address_changed_orders: set[int] = set()

    for incoming in orders:
        values = _order_values(incoming)
        key = incoming.external_order_id[:100]
        current = existing_orders.get(key)
        if current is None:
            order = Order(
                account=account,
                external_order_id=key,
                source=source,
                import_batch=batch,
                raw=incoming.raw,
                ingest_digest=digests[key],
                **values,
            )
            to_create.append((incoming, order))
            continue
        current.ingest_digest = digests[key]
        diff = {
            name: [getattr(current, name), values[name]]
            for name in (*ADDRESS_FIELDS, *OTHER_FIELDS)
            if values[name] != getattr(current, name) and values[name] not in ("", None)
        }
        if diff:
            for name, (_old, new) in diff.items():
                setattr(current, name, new)
            if set(diff) & {"recipient_phone", "recipient_phone2"}:
                current.phone_last4 = values["phone_last4"]
                update_fields.add("phone_last4")
            if "zip_code" in diff:
                current.zip_is_old = values["zip_is_old"]
                update_fields.add("zip_is_old")
            update_fields.update(diff)
            changed_orders.append(current)
            is_address = bool(set(diff) & set(ADDRESS_FIELDS))
            if is_address:
                address_changed_orders.add(current.pk)
            events.append(
                OrderEvent(
                    order=current,
                    user=actor,
                    type=OrderEvent.Type.ADDRESS_CHANGED if is_address else OrderEvent.Type.UPDATED,
                    message=", ".join(sorted(diff)),
                    data={"changes": {k: [str(v[0]), str(v[1])] for k, v in diff.items()}},
                )
            )

    if to_create:
        Order.objects.bulk_create([o for _i, o in to_create])
        for _incoming, order in to_create:
            events.append(
                OrderEvent(order=order, type=OrderEvent.Type.COLLECTED, user=actor, message=f"{source}")
            )
    if changed_orders:
        Order.objects.bulk_update(changed_orders, sorted(update_fields | {"updated_at"}))
        for order in changed_orders:
            order.updated_at = timezone.now()
    # Order-level events first, so the timeline reads collected -> reserved / short.
    OrderEvent.objects.bulk_create(events)
    result.orders_created = len(to_create)
    result.orders_updated = len(changed_orders)
    result.orders_unchanged = len(orders) - len(to_create) - len(changed_orders)

    order_by_external = {**existing_orders, **{o.external_order_id: o for _i, o in to_create}}
    new_lines: list[tuple[ChannelOrderLine, OrderLine]] = []
    state_moves: list[tuple[OrderLine, LineStatus]] = []
    for incoming in orders:
        order = order_by_external[incoming.external_order_id[:100]]
        result.order_ids.append(order.pk)
        for ln in incoming.lines:
            current_line = existing_lines.get(ln.external_line_id[:100])
            if current_line is None:
                line = OrderLine(
                    order=order,
                    account=account,
                    external_line_id=ln.external_line_id[:100],
                    channel_product_id=ln.channel_product_id[:100],
                    channel_option_id=ln.channel_option_id[:100],
                    product_name=ln.product_name[:300],
                    option_text=ln.option_text.strip()[:300],
                    seller_codes=[c.strip() for c in ln.seller_codes if c and c.strip()],
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    discount=ln.discount,
                    line_total=_line_total(ln),
                    status=INITIAL_STATUS[ln.state],
                    channel_status=ln.channel_status[:50],
                    ordered_at=order.ordered_at,
                )
                new_lines.append((ln, line))
                continue
            target = CHANNEL_DRIVEN.get(ln.state)
            if target and current_line.status != target and current_line.status not in TERMINAL_STATES:
                state_moves.append((current_line, target))
            elif current_line.order_id in address_changed_orders and not current_line.address_changed:
                current_line.address_changed = True
                current_line.save(update_fields=["address_changed", "updated_at"])
                result.lines_updated += 1
            else:
                result.lines_unchanged += 1

    # Existing lines first: every writer locks order lines before stock (매칭, 재할당 and
    # cancel do the same), so the two never wait on each other in opposite orders.
    unsettled: set[int] = set()
    if state_moves:
        locked = {
            ln.pk: ln
            for ln in OrderLine.objects.filter(pk__in=[ln.pk for ln, _t in state_moves])
            .order_by("pk")
            .select_for_update()
        }
        for line, target in state_moves:
            if order_line_apply_channel_state(line=locked[line.pk], target=target, actor=actor):
                result.lines_updated += 1
            elif locked[line.pk].status != target:
                # Not applied: compare again next time instead of trusting the digest.
                unsettled.add(line.order_id)
    stamped = [o for o in existing_orders.values()]
    for order in stamped:
        if order.pk in unsettled:
            order.ingest_digest = ""
    bulk_set(Order, stamped, ["ingest_digest"])

    if new_lines:
        lines = [line for _i, line in new_lines]
        allocations = SkuResolver(account).resolve([ln for ln, _line in new_lines])
        for line, allocation in zip(lines, allocations, strict=True):
            line.unmapped = allocation is None
        OrderLine.objects.bulk_create(lines)
        line_skus = []
        for line, allocation in zip(lines, allocations, strict=True):
            if allocation is None:
                continue
            merged: dict[int, int] = defaultdict(int)
            for sku_id, quantity in allocation:
                merged[sku_id] += quantity
            line_skus += [LineSku(line=line, sku_id=sku_id, quantity=q) for sku_id, q in merged.items()]
        LineSku.objects.bulk_create(line_skus)
        result.lines_created = len(lines)
        result.unmapped = sum(1 for line in lines if line.unmapped)
        reservable = [ln for ln in lines if not ln.unmapped and ln.status in RESERVING_STATES]
        reserved, short = reserve_lines(reservable, actor=actor)
        result.reserved, result.backorder = len(reserved), len(short)

    return result
