"""Manual orders (전화주문 / 오프라인 주문): typed in by the seller, then ingested exactly like a
collected order (orders.ingest.orders_ingest, source=manual), so they map and reserve stock
the same way."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Sku
from channels.models import ChannelAccount, Marketplace
from channels.types import ChannelOrder, ChannelOrderLine
from oms.models import User
from oms.services import audit_record
from orders.ingest import IngestResult, orders_ingest
from orders.models import Order

MANUAL_ORDER_NO = re.compile(r"^M\d{8}-[0-9A-F]{8}$")
DEFAULT_MANUAL_ACCOUNT = "전화주문"


class ManualOrderError(Exception):
    """Refused; nothing was written. str() is for the user."""


class ManualOrderExists(ManualOrderError):
    def __init__(self, order: Order) -> None:
        self.order = order
        super().__init__(_("Order %(no)s is already registered.") % {"no": order.external_order_id})


@dataclass(frozen=True)
class ManualLine:
    sku: Sku
    quantity: int
    unit_price: int
    discount: int = 0


@dataclass(frozen=True)
class Recipient:
    name: str
    phone: str
    zip_code: str
    address1: str
    address2: str = ""
    phone2: str = ""
    delivery_message: str = ""
    buyer_name: str = ""
    buyer_phone: str = ""


def manual_order_no() -> str:
    """A fresh order no. for the form; the form carries it, so submitting twice creates one order."""
    return f"M{timezone.localdate():%Y%m%d}-{secrets.token_hex(4).upper()}"


@transaction.atomic
def manual_account_get_or_create(*, name: str, actor: User | None) -> ChannelAccount:
    """The manual (phone / offline) channel account called `name`, created if missing."""
    name = name.strip()
    if not name:
        raise ManualOrderError(_("Enter a name for the sales channel."))
    account = ChannelAccount.objects.filter(name=name).first()
    if account is not None:
        if account.marketplace != Marketplace.MANUAL:
            raise ManualOrderError(
                _("“%(name)s” is already the name of a marketplace account; choose another name.")
                % {"name": name}
            )
        return account
    account = ChannelAccount.objects.create(marketplace=Marketplace.MANUAL, name=name[:100])
    audit_record(
        actor=actor, action="channels.account_create", obj=account, changes={"marketplace": "manual"}
    )
    return account


@transaction.atomic
def order_manual_create(
    *,
    account: ChannelAccount | None,
    new_account_name: str = "",
    order_no: str,
    recipient: Recipient,
    lines: Sequence[ManualLine],
    shipping_fee: int = 0,
    paid: bool = True,
    actor: User | None,
) -> tuple[Order, IngestResult]:
    """Register a phone / offline order through the ingestion service: it is stored, mapped to
    its SKUs and reserves stock (or is flagged 재고 부족) like any collected order. Without an
    `account`, the manual account `new_account_name` is used (created if missing)."""
    if account is None:
        account = manual_account_get_or_create(name=new_account_name, actor=actor)
    if account.marketplace != Marketplace.MANUAL:
        raise ManualOrderError(_("Manual orders go to a phone / offline sales channel."))
    if not MANUAL_ORDER_NO.match(order_no):
        raise ManualOrderError(_("The form has expired; open the order form again."))
    if not lines:
        raise ManualOrderError(_("Add at least one product."))
    for line in lines:
        if line.quantity < 1 or line.unit_price < 0 or line.discount < 0:
            raise ManualOrderError(_("Quantities must be 1 or more and prices 0 or more."))
        if not line.sku.is_active:
            raise ManualOrderError(_("SKU %(code)s is not active.") % {"code": line.sku.code})
    existing = Order.objects.filter(account=account, external_order_id=order_no).first()
    if existing is not None:
        raise ManualOrderExists(existing)
    now = timezone.now()
    channel_order = ChannelOrder(
        external_order_id=order_no,
        ordered_at=now,
        paid_at=now if paid else None,
        buyer_name=recipient.buyer_name or recipient.name,
        buyer_phone=recipient.buyer_phone or recipient.phone,
        recipient_name=recipient.name,
        recipient_phone=recipient.phone,
        recipient_phone2=recipient.phone2,
        zip_code=recipient.zip_code,
        address1=recipient.address1,
        address2=recipient.address2,
        delivery_message=recipient.delivery_message,
        shipping_fee=shipping_fee,
        lines=tuple(
            ChannelOrderLine(
                external_line_id=f"{order_no}-{i:02d}",
                product_name=line.sku.product.name,
                option_text=line.sku.option_label,
                channel_product_id=line.sku.product.code,
                channel_option_id=line.sku.code,
                seller_codes=(line.sku.code,),
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
            )
            for i, line in enumerate(lines, start=1)
        ),
        raw={"entered_by": actor.username if actor else ""},
    )
    result = orders_ingest(account=account, orders=[channel_order], source=Order.Source.MANUAL, actor=actor)
    order = Order.objects.get(account=account, external_order_id=order_no)
    audit_record(
        actor=actor,
        action="order.manual_create",
        obj=order,
        changes={"lines": len(lines), "total": order.total_amount, "backorder": result.backorder},
    )
    return order, result
