"""Tracking numbers on boxes: the courier's rule, open boxes only, one number per recipient,
all or nothing for many, and the audit/timeline rows that say who typed what."""

from __future__ import annotations

import pytest

from channels.models import ChannelAccount
from oms.models import AuditLog, User
from orders.models import OrderEvent
from shipping.models import Shipment, ShipmentItem, ShipmentStatus
from shipping.services_tracking import (
    TrackingAssignment,
    TrackingError,
    TrackingRefused,
    shipment_clear_tracking,
    shipment_set_tracking,
    shipments_set_tracking_many,
)
from tests.channels.factories import ChannelAccountFactory
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import (
    ShipmentFactory,
    courier,
    ingest_orders,
    ready_shipment,
    shipment_of,
    stocked_sku,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def account() -> ChannelAccount:
    return ChannelAccountFactory.create()


def test_a_valid_number_is_saved_normalised_with_its_courier(
    account: ChannelAccount, staff_user: User
) -> None:
    box = ready_shipment(account)
    saved = shipment_set_tracking(
        shipment=box, courier=courier("HYUNDAI"), number=" 1234-5678-9012 ", actor=staff_user
    )
    box.refresh_from_db()
    assert box.courier is not None
    assert (box.courier.code, box.tracking_number) == ("HYUNDAI", "123456789012")
    assert saved.tracking_number == "123456789012"


def test_a_number_of_the_wrong_length_is_refused_with_the_couriers_rule(account: ChannelAccount) -> None:
    box = ready_shipment(account)
    with pytest.raises(TrackingError) as refused:
        shipment_set_tracking(shipment=box, courier=courier("EPOST"), number="123456789012", actor=None)
    assert "13" in str(refused.value) and "12" in str(refused.value)
    box.refresh_from_db()
    assert box.tracking_number == ""


def test_letters_are_refused(account: ChannelAccount) -> None:
    box = ready_shipment(account)
    with pytest.raises(TrackingError, match="digits only"):
        shipment_set_tracking(shipment=box, courier=courier(), number="12345ABC90", actor=None)


@pytest.mark.parametrize(
    "status", [ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED]
)
def test_shipped_and_cancelled_boxes_are_refused(account: ChannelAccount, status: str) -> None:
    box = ready_shipment(account)
    Shipment.objects.filter(pk=box.pk).update(status=status)
    box.refresh_from_db()
    with pytest.raises(TrackingError, match=box.number):
        shipment_set_tracking(shipment=box, courier=courier(), number="123456789012", actor=None)
    box.refresh_from_db()
    assert box.tracking_number == ""


def test_a_box_already_sent_to_the_channel_is_refused(account: ChannelAccount) -> None:
    box = ready_shipment(account)
    ShipmentItem.objects.filter(shipment=box).update(dispatch_state=ShipmentItem.Dispatch.SENT)
    with pytest.raises(TrackingError, match="dispatch page"):
        shipment_set_tracking(shipment=box, courier=courier(), number="123456789012", actor=None)


def test_a_number_used_for_another_recipient_is_refused_naming_that_box(account: ChannelAccount) -> None:
    first = ready_shipment(account)
    shipment_set_tracking(shipment=first, courier=courier(), number="123456789012", actor=None)
    sku = stocked_sku("TUMB-SV")
    (order,) = ingest_orders(
        account, [channel_order(channel_line(codes=(sku.code,)), recipient_name="김철수")]
    )
    other = shipment_of(list(order.lines.all()))
    with pytest.raises(TrackingError) as refused:
        shipment_set_tracking(shipment=other, courier=courier(), number="123456789012", actor=None)
    assert first.number in str(refused.value)
    assert "another recipient" in str(refused.value)


def test_the_same_recipient_may_share_a_number(account: ChannelAccount) -> None:
    # Same person, phone written differently, address spaced differently: one parcel for the courier.
    first = ready_shipment(account)
    second = ShipmentFactory.create(
        recipient_name=first.recipient_name,
        recipient_phone="010 1234 5678",
        address=first.address.replace(" ", "  "),
    )
    shipment_set_tracking(shipment=first, courier=courier(), number="123456789012", actor=None)
    shipment_set_tracking(shipment=second, courier=courier(), number="123456789012", actor=None)
    assert Shipment.objects.filter(tracking_number="123456789012").count() == 2


def test_a_cancelled_boxs_number_can_be_reused(account: ChannelAccount) -> None:
    old = ShipmentFactory.create(recipient_name="이영희", tracking_number="123456789012", courier=courier())
    Shipment.objects.filter(pk=old.pk).update(status=ShipmentStatus.CANCELLED)
    box = ready_shipment(account)
    shipment_set_tracking(shipment=box, courier=courier(), number="123456789012", actor=None)
    box.refresh_from_db()
    assert box.tracking_number == "123456789012"


def test_an_inactive_courier_is_refused(account: ChannelAccount) -> None:
    box = ready_shipment(account)
    off = courier("CHUNIL")
    off.is_active = False
    off.save()
    with pytest.raises(TrackingError, match="not in use"):
        shipment_set_tracking(shipment=box, courier=off, number="12345678901", actor=None)


def test_saving_writes_an_audit_row_per_box_and_a_timeline_event_per_line(
    account: ChannelAccount, staff_user: User
) -> None:
    sku = stocked_sku("KNIT-BK-S")
    (order,) = ingest_orders(
        account, [channel_order(channel_line(codes=(sku.code,)), channel_line(codes=(sku.code,)))]
    )
    box = shipment_of(list(order.lines.all()))
    shipment_set_tracking(shipment=box, courier=courier(), number="123456789012", actor=staff_user)
    audit = AuditLog.objects.get(action="shipping.tracking_set")
    assert audit.actor == staff_user and audit.object_id == str(box.pk)
    assert audit.changes["tracking_number"] == ["", "123456789012"]
    events = OrderEvent.objects.filter(order=order, type=OrderEvent.Type.NOTE)
    assert events.count() == 2
    assert all("123456789012" in e.message and e.user == staff_user for e in events)


def test_the_same_number_again_writes_nothing(account: ChannelAccount) -> None:
    box = ready_shipment(account)
    shipment_set_tracking(shipment=box, courier=courier(), number="123456789012", actor=None)
    shipment_set_tracking(shipment=box, courier=courier(), number="1234 5678 9012", actor=None)
    assert AuditLog.objects.filter(action="shipping.tracking_set").count() == 1


def test_clearing_takes_the_number_off_and_keeps_the_courier(account: ChannelAccount) -> None:
    box = ready_shipment(account)
    shipment_set_tracking(shipment=box, courier=courier("HANJIN"), number="123456789012", actor=None)
    shipment_clear_tracking(shipment=box, actor=None)
    box.refresh_from_db()
    assert box.courier is not None
    assert (box.courier.code, box.tracking_number) == ("HANJIN", "")
    assert AuditLog.objects.filter(action="shipping.tracking_clear").count() == 1


def test_clearing_a_shipped_box_is_refused(account: ChannelAccount) -> None:
    box = ready_shipment(account)
    shipment_set_tracking(shipment=box, courier=courier(), number="123456789012", actor=None)
    Shipment.objects.filter(pk=box.pk).update(status=ShipmentStatus.SHIPPED)
    with pytest.raises(TrackingError):
        shipment_clear_tracking(shipment=box, actor=None)
    box.refresh_from_db()
    assert box.tracking_number == "123456789012"


def test_many_is_all_or_nothing_and_lists_every_problem(account: ChannelAccount) -> None:
    good = ready_shipment(account)
    bad = ready_shipment(account)
    with pytest.raises(TrackingRefused) as refused:
        shipments_set_tracking_many(
            assignments=[
                TrackingAssignment(shipment_id=good.pk, courier=courier(), number="123456789012", ref=2),
                TrackingAssignment(shipment_id=bad.pk, courier=courier(), number="12", ref=3),
                TrackingAssignment(shipment_id=999999, courier=courier(), number="123456789013", ref=4),
            ],
            actor=None,
        )
    assert {p.ref for p in refused.value.problems} == {3, 4}
    assert not Shipment.objects.exclude(tracking_number="").exists()


def test_many_refuses_one_number_for_two_recipients_inside_the_batch(account: ChannelAccount) -> None:
    a = ShipmentFactory.create(recipient_name="가나다")
    b = ShipmentFactory.create(recipient_name="라마바")
    with pytest.raises(TrackingRefused) as refused:
        shipments_set_tracking_many(
            assignments=[
                TrackingAssignment(shipment_id=a.pk, courier=courier(), number="123456789012", ref="a"),
                TrackingAssignment(shipment_id=b.pk, courier=courier(), number="123456789012", ref="b"),
            ],
            actor=None,
        )
    messages = {p.ref: p.message for p in refused.value.problems}
    assert b.number in messages["a"] and a.number in messages["b"]


def test_many_may_swap_two_boxes_numbers(account: ChannelAccount) -> None:
    a = ShipmentFactory.create(recipient_name="가나다", courier=courier(), tracking_number="111111111111")
    b = ShipmentFactory.create(recipient_name="라마바", courier=courier(), tracking_number="222222222222")
    outcome = shipments_set_tracking_many(
        assignments=[
            TrackingAssignment(shipment_id=a.pk, courier=courier(), number="222222222222"),
            TrackingAssignment(shipment_id=b.pk, courier=courier(), number="111111111111"),
        ],
        actor=None,
    )
    assert outcome.changed == [a.pk, b.pk]
    a.refresh_from_db()
    assert a.tracking_number == "222222222222"


def test_five_thousand_boxes_in_a_few_statements(django_assert_max_num_queries) -> None:
    ShipmentFactory._meta.model.objects.bulk_create(
        [
            Shipment(recipient_name=f"고객{i}", recipient_phone=f"0101234{i:04d}", address=f"주소 {i}")
            for i in range(5000)
        ]
    )
    ids = list(Shipment.objects.order_by("pk").values_list("pk", flat=True))
    cj = courier()
    assignments = [
        TrackingAssignment(shipment_id=pk, courier=cj, number=f"6{i:011d}") for i, pk in enumerate(ids)
    ]
    # Bulk, not per box: a few statements per 900 boxes (SQLite splits inserts finer than Postgres).
    with django_assert_max_num_queries(100):
        outcome = shipments_set_tracking_many(assignments=assignments, actor=None)
    assert len(outcome.changed) == 5000
    assert Shipment.objects.filter(tracking_number__startswith="6").count() == 5000
