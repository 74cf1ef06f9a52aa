"""The CS memo on an order: one text kept on the order, every edit on the timeline."""

from __future__ import annotations

from django.db import transaction

from oms.models import User
from oms.services import audit_record
from orders.models import Order, OrderEvent


@transaction.atomic
def order_memo_update(*, order: Order, memo: str, actor: User | None) -> Order:
    """Replace the order's CS memo; writes an OrderEvent NOTE and an audit entry. An unchanged
    memo writes nothing."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    memo = memo.strip()
    if locked.memo == memo:
        return locked
    old = locked.memo
    locked.memo = memo
    locked.save(update_fields=["memo", "updated_at"])
    OrderEvent.objects.create(
        order=locked, type=OrderEvent.Type.NOTE, message=memo[:500], user=actor, data={"memo": True}
    )
    audit_record(actor=actor, action="order.memo", obj=locked, changes={"memo": [old, memo]})
    return locked
