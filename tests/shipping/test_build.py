"""출고 생성 (합포장): which confirmed lines go into which box, and changing boxes by hand."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from channels.models import ChannelAccount
from orders.models import LineStatus, OrderEvent, OrderLine
from orders.services import lines_transition, order_line_cancel, order_line_hold
from shipping.models import Shipment, ShipmentItem, ShipmentStatus
from shipping.selectors import live_items
from shipping.services_boxes import (
    ShipmentRefused,
    shipment_cancel,
    shipment_merge,
    shipment_prune,
    shipment_split,
)
from shipping.services_build import shipments_build
from tests.channels.factories import ChannelAccountFactory
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import ingest_orders, stocked_sku

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def account() -> ChannelAccount:
    return ChannelAccountFactory.create()


@pytest.fixture
def sku_code() -> str:
    return stocked_sku("KNIT-BK-S", quantity=500).code


def confirmed(account: ChannelAccount, *lines: Any, **order: Any) -> list[OrderLine]:
    """One order ingested (stock reserved) and its lines confirmed (발주확인)."""
    (made,) = ingest_orders(account, [channel_order(*lines, **order)])
    lines_ = list(made.lines.order_by("pk"))
    lines_transition(lines=lines_, target=LineStatus.CONFIRMED, actor=None)
    return list(made.lines.order_by("pk"))


def box_of(line: OrderLine) -> Shipment:
    return ShipmentItem.objects.select_related("shipment").get(line=line).shipment


def test_two_orders_to_the_same_recipient_go_in_one_box(account, sku_code, admin_user) -> None:
    (a,) = confirmed(account, channel_line(codes=(sku_code,)))
    # the same person, phone typed differently, address with extra spaces
    (b,) = confirmed(
        account,
        channel_line(codes=(sku_code,)),
        recipient_phone="010 1234 5678",
        address1="서울특별시  중구 세종대로   110",
    )

    outcome = shipments_build(actor=admin_user)

    assert len(outcome.created) == 1 and outcome.lines_boxed == 2
    box = box_of(a)
    assert box == box_of(b)
    assert box.status == ShipmentStatus.READY
    assert box.recipient_name == "홍길동" and box.address == "서울특별시 중구 세종대로 110 3층"
    assert box.courier is not None and box.courier.is_default
    assert OrderLine.objects.get(pk=a.pk).status == LineStatus.READY
    assert OrderEvent.objects.filter(line=a, message=f"Packed into shipment {box.number}").exists()


def test_a_different_address_is_a_different_box(account, sku_code) -> None:
    (a,) = confirmed(account, channel_line(codes=(sku_code,)))
    (b,) = confirmed(account, channel_line(codes=(sku_code,)), address2="4층")
    (c,) = confirmed(account, channel_line(codes=(sku_code,)), zip_code="04525")

    outcome = shipments_build(actor=None)

    assert len(outcome.created) == 3
    assert len({box_of(a).pk, box_of(b).pk, box_of(c).pk}) == 3


def test_the_channels_bundle_id_wins_over_the_recipient(account, sku_code) -> None:
    # same bundle id, recipient spelled differently: one box
    (a,) = confirmed(account, channel_line(codes=(sku_code,)), bundle_key="PKG-1")
    (b,) = confirmed(account, channel_line(codes=(sku_code,)), bundle_key="PKG-1", recipient_name="홍 길동")
    # same recipient, another bundle id: its own box
    (c,) = confirmed(account, channel_line(codes=(sku_code,)), bundle_key="PKG-2")

    shipments_build(actor=None)

    assert box_of(a) == box_of(b)
    assert box_of(c) != box_of(a)


def test_the_same_bundle_id_on_two_accounts_does_not_merge(sku_code) -> None:
    one, two = ChannelAccountFactory.create(), ChannelAccountFactory.create()
    (a,) = confirmed(one, channel_line(codes=(sku_code,)), bundle_key="PKG-1")
    (b,) = confirmed(two, channel_line(codes=(sku_code,)), bundle_key="PKG-1")

    shipments_build(actor=None)

    assert box_of(a) != box_of(b)
    assert box_of(a).account_id == one.pk


def test_a_no_merge_product_ships_alone(account) -> None:
    normal = stocked_sku("CUP-01")
    fragile = stocked_sku("GLASS-01")
    fragile.product.no_merge = True
    fragile.product.save()
    a, b, c = confirmed(
        account,
        channel_line(codes=(normal.code,)),
        channel_line(codes=(fragile.code,)),
        channel_line(codes=(fragile.code,)),
    )

    outcome = shipments_build(actor=None)

    assert len(outcome.created) == 3
    assert len({box_of(a).pk, box_of(b).pk, box_of(c).pk}) == 3
    assert box_of(b).items.count() == 1


def test_across_channels_merges_accounts_only_when_asked(sku_code) -> None:
    one, two = ChannelAccountFactory.create(), ChannelAccountFactory.create()
    (a,) = confirmed(one, channel_line(codes=(sku_code,)), bundle_key="PKG-1")
    (b,) = confirmed(two, channel_line(codes=(sku_code,)))

    shipments_build(actor=None, account=one)
    assert box_of(a).account_id == one.pk
    assert not ShipmentItem.objects.filter(line=b).exists()  # other account untouched

    shipment_cancel(shipment=box_of(a), actor=None)
    shipments_build(actor=None, across_channels=True)

    box = box_of(a)
    assert box == box_of(b)
    assert box.account_id is None


def test_across_channels_joins_an_open_box_of_one_account(sku_code) -> None:
    one, two = ChannelAccountFactory.create(), ChannelAccountFactory.create()
    (a,) = confirmed(one, channel_line(codes=(sku_code,)))
    shipments_build(actor=None)
    (b,) = confirmed(two, channel_line(codes=(sku_code,)))

    outcome = shipments_build(actor=None, across_channels=True)

    assert outcome.created == [] and outcome.joined == {box_of(a).pk: 1}
    assert box_of(b) == box_of(a)
    assert box_of(a).account_id is None


def test_a_later_order_joins_the_open_box_but_not_one_with_a_tracking_number(account, sku_code) -> None:
    (a,) = confirmed(account, channel_line(codes=(sku_code,)))
    shipments_build(actor=None)
    (b,) = confirmed(account, channel_line(codes=(sku_code,)))
    shipments_build(actor=None)
    assert box_of(b) == box_of(a)

    Shipment.objects.filter(pk=box_of(a).pk).update(tracking_number="601234567890")
    (c,) = confirmed(account, channel_line(codes=(sku_code,)))
    shipments_build(actor=None)
    assert box_of(c) != box_of(a)


def test_lines_that_cannot_ship_are_skipped_with_a_reason(account, sku_code) -> None:
    scarce = stocked_sku("RARE-01", quantity=1)
    (ok,) = confirmed(account, channel_line(codes=(sku_code,)))
    (short,) = confirmed(account, channel_line(codes=(scarce.code,), quantity=5), recipient_name="김철수")
    (unmapped,) = confirmed(account, channel_line(codes=("NO-SUCH-SKU",)), recipient_name="이영희")
    (held,) = confirmed(account, channel_line(codes=(sku_code,)), recipient_name="박민수")
    order_line_hold(line=held, actor=None, reason="고객 요청")
    (new,) = ingest_orders(account, [channel_order(channel_line(codes=(sku_code,)), recipient_name="최")])

    outcome = shipments_build(actor=None)

    assert outcome.lines_boxed == 1 and box_of(ok)
    reasons = {s.line_id: s.reason for s in outcome.skipped}
    assert reasons == {short.pk: "short of stock", unmapped.pk: "needs mapping to a SKU", held.pk: "on hold"}
    for line in (short, unmapped, held):
        assert not ShipmentItem.objects.filter(line=line).exists()
    assert OrderLine.objects.get(pk=new.lines.get().pk).status == LineStatus.NEW


def test_chosen_lines_say_why_they_were_not_boxed(account, sku_code) -> None:
    (a,) = confirmed(account, channel_line(codes=(sku_code,)))
    (made,) = ingest_orders(account, [channel_order(channel_line(codes=(sku_code,)))])
    new_line = made.lines.get()
    shipments_build(actor=None)

    outcome = shipments_build(actor=None, line_ids=[a.pk, new_line.pk])

    reasons = {s.line_id: s.reason for s in outcome.skipped}
    assert reasons[a.pk] == f"already in shipment {box_of(a).number}"
    assert reasons[new_line.pk] == "New: only confirmed lines go into boxes"


def test_building_twice_makes_nothing_new(account, sku_code) -> None:
    for name in ("가", "나", "다"):
        confirmed(
            account, channel_line(codes=(sku_code,)), channel_line(codes=(sku_code,)), recipient_name=name
        )
    first = shipments_build(actor=None)
    assert len(first.created) == 3 and first.lines_boxed == 6

    second = shipments_build(actor=None)

    assert second.created == [] and second.joined == {} and second.lines_boxed == 0
    assert Shipment.objects.count() == 3 and ShipmentItem.objects.count() == 6


def test_a_line_cancelled_after_boxing_leaves_the_box(account, sku_code) -> None:
    a, b = confirmed(account, channel_line(codes=(sku_code,)), channel_line(codes=(sku_code,)))
    shipments_build(actor=None)
    box = box_of(a)

    order_line_cancel(line=OrderLine.objects.get(pk=a.pk), actor=None, reason="고객 취소")
    assert [it.line_id for it in live_items(box)] == [b.pk]  # not picked even before pruning

    assert shipment_prune(shipment=box) == 1
    assert list(box.items.values_list("line_id", flat=True)) == [b.pk]
    order_line_cancel(line=OrderLine.objects.get(pk=b.pk), actor=None)
    shipment_prune()
    box.refresh_from_db()
    assert box.status == ShipmentStatus.CANCELLED and not box.items.exists()


def test_a_line_back_from_a_cancel_request_is_boxed_again(account, sku_code) -> None:
    (a,) = confirmed(account, channel_line(codes=(sku_code,)))
    shipments_build(actor=None)
    lines_transition(lines=[a], target=LineStatus.CANCEL_REQUESTED, actor=None)
    shipment_prune()
    assert not ShipmentItem.objects.filter(line=a).exists()
    lines_transition(lines=[a], target=LineStatus.READY, actor=None)  # the channel refused the cancel

    outcome = shipments_build(actor=None)

    assert outcome.lines_boxed == 1 and box_of(a).status == ShipmentStatus.READY


def test_manual_merge_split_and_cancel(account, sku_code, admin_user) -> None:
    a, b = confirmed(
        account, channel_line(codes=(sku_code,)), channel_line(codes=(sku_code,)), bundle_key="P1"
    )
    (c,) = confirmed(account, channel_line(codes=(sku_code,)), bundle_key="P2")
    shipments_build(actor=admin_user)
    first, second = box_of(a), box_of(c)
    assert first != second

    merged = shipment_merge(shipments=[second, first], actor=admin_user)
    assert merged == first
    assert {box_of(x).pk for x in (a, b, c)} == {first.pk}
    second.refresh_from_db()
    assert second.status == ShipmentStatus.CANCELLED

    new = shipment_split(shipment=merged, line_ids=[b.pk], actor=admin_user)
    assert box_of(b) == new and box_of(a) == merged
    assert new.recipient_name == merged.recipient_name and new.tracking_number == ""

    shipment_cancel(shipment=new, actor=admin_user)
    new.refresh_from_db()
    assert new.status == ShipmentStatus.CANCELLED
    assert OrderLine.objects.get(pk=b.pk).status == LineStatus.CONFIRMED
    assert not ShipmentItem.objects.filter(line=b).exists()
    # and the next build boxes it again (joining the open box of its key)
    outcome = shipments_build(actor=admin_user)
    assert outcome.lines_boxed == 1


def test_merge_refuses_no_merge_products_tracked_and_packed_boxes(account, sku_code) -> None:
    fragile = stocked_sku("GLASS-01")
    fragile.product.no_merge = True
    fragile.product.save()
    a, b = confirmed(account, channel_line(codes=(sku_code,)), channel_line(codes=(fragile.code,)))
    (c,) = confirmed(account, channel_line(codes=(sku_code,)), bundle_key="P9")
    shipments_build(actor=None)

    with pytest.raises(ShipmentRefused, match="never ships with other orders"):
        shipment_merge(shipments=[box_of(a), box_of(b)], actor=None)

    Shipment.objects.filter(pk=box_of(c).pk).update(tracking_number="601234567890")
    with pytest.raises(ShipmentRefused, match="already has tracking number 601234567890"):
        shipment_merge(shipments=[box_of(a), box_of(c)], actor=None)

    Shipment.objects.filter(pk=box_of(c).pk).update(tracking_number="", status=ShipmentStatus.PACKED)
    with pytest.raises(ShipmentRefused, match="only boxes that are not packed or shipped"):
        shipment_merge(shipments=[box_of(a), box_of(c)], actor=None)
    assert box_of(a) != box_of(c)


def test_merge_refuses_different_recipients_and_split_keeps_one_line(account, sku_code) -> None:
    (a,) = confirmed(account, channel_line(codes=(sku_code,)))
    (b,) = confirmed(account, channel_line(codes=(sku_code,)), recipient_name="김철수")
    shipments_build(actor=None)
    with pytest.raises(ShipmentRefused, match="different recipients"):
        shipment_merge(shipments=[box_of(a), box_of(b)], actor=None)
    with pytest.raises(ShipmentRefused, match="Leave at least one line"):
        shipment_split(shipment=box_of(a), line_ids=[a.pk], actor=None)


def test_cancel_refuses_a_shipped_box(account, sku_code) -> None:
    (a,) = confirmed(account, channel_line(codes=(sku_code,)))
    shipments_build(actor=None)
    Shipment.objects.filter(pk=box_of(a).pk).update(status=ShipmentStatus.SHIPPED)
    with pytest.raises(ShipmentRefused, match="can't be cancelled"):
        shipment_cancel(shipment=box_of(a), actor=None)


def test_many_boxes_are_built_in_few_queries(account, sku_code, django_assert_max_num_queries) -> None:
    for i in range(60):
        confirmed(account, channel_line(codes=(sku_code,)), recipient_name=f"고객{i}")
    with django_assert_max_num_queries(40):
        outcome = shipments_build(actor=None)
    assert len(outcome.created) == 60


# --- Concurrency (Postgres) --------------------------------------------------------------------


def _together(jobs: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def work(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            results[i] = jobs[i]()
        except BaseException as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_builds_at_once_never_put_a_line_in_two_boxes(sku_code) -> None:
    account = ChannelAccountFactory.create()
    for i in range(40):
        confirmed(
            account,
            channel_line(codes=(sku_code,)),
            channel_line(codes=(sku_code,)),
            recipient_name=f"고객{i % 25}",
        )

    results = _together([lambda: shipments_build(actor=None) for _ in range(4)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert ShipmentItem.objects.count() == 80
    assert sum(r.lines_boxed for r in results) == 80
    # one box per recipient: nobody made a second box for a key another run had just made
    live = Shipment.objects.exclude(status=ShipmentStatus.CANCELLED)
    assert live.count() == 25
    assert OrderLine.objects.filter(status=LineStatus.READY).count() == 80


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_builds_of_different_lines_of_one_recipient_make_one_box(sku_code) -> None:
    account = ChannelAccountFactory.create()
    lines = [confirmed(account, channel_line(codes=(sku_code,)))[0] for _ in range(6)]
    odd, even = [ln.pk for ln in lines[::2]], [ln.pk for ln in lines[1::2]]

    results = _together(
        [
            lambda: shipments_build(actor=None, line_ids=odd),
            lambda: shipments_build(actor=None, line_ids=even),
        ]
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert Shipment.objects.count() == 1
    assert Shipment.objects.get().items.count() == 6


def test_merging_or_splitting_a_half_scanned_box_starts_its_packing_over(
    account, sku_code, admin_user
) -> None:
    from shipping.services_pack import pack_scan, pack_state

    a, b = confirmed(
        account, channel_line(codes=(sku_code,)), channel_line(codes=(sku_code,)), bundle_key="P1"
    )
    (c,) = confirmed(account, channel_line(codes=(sku_code,)), bundle_key="P2")
    shipments_build(actor=admin_user)
    first, second = box_of(a), box_of(c)
    pack_scan(shipment_id=first.pk, code=sku_code, count=1, actor=admin_user)  # 1 of its 2 units

    merged = shipment_merge(shipments=[first, second], actor=admin_user)
    merged.refresh_from_db()
    # three units now, none counted: the packer scans the combined box from the start
    assert merged.pack_progress == {} and pack_state(shipment=merged).scanned_total == 0

    pack_scan(shipment_id=merged.pk, code=sku_code, count=2, actor=admin_user)
    new = shipment_split(shipment=merged, line_ids=[b.pk], actor=admin_user)
    merged.refresh_from_db()
    # 2 scanned would count as complete for the 2 units left: both boxes start over instead
    assert merged.pack_progress == {} and new.pack_progress == {}
    assert merged.status == ShipmentStatus.READY and not pack_state(shipment=merged).complete
