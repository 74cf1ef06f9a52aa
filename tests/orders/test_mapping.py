"""매칭 and 재할당 services: orders.mapping, and the group reads of orders.selectors_matching."""

from __future__ import annotations

import pytest

from catalog.models import Sku
from channels.models import OptionMapping, OptionMappingItem
from channels.types import LineState
from inventory.models import Reservation, StockLevel
from inventory.services import stock_receive
from oms.listing import keyset_page
from oms.models import AuditLog
from oms.roles import Role
from orders.ingest import orders_ingest
from orders.mapping import (
    MappingError,
    backorder_reassign,
    option_mapping_delete,
    option_mapping_save,
    unmapped_auto_match,
)
from orders.models import LineSku, LineStatus, OrderEvent, OrderLine
from orders.selectors_matching import (
    BACKORDER_ORDER,
    backorder_line_list,
    backorder_reassign_preview,
    backorder_rows,
    backorder_sku_totals,
    matching_counts,
    sku_suggestions,
    unmapped_group_list,
    unmapped_groups,
)
from orders.services import order_line_cancel
from tests.catalog.factories import ProductFactory, SkuFactory, make_bundle
from tests.channels.factories import ChannelAccountFactory
from tests.inventory.factories import LocationFactory
from tests.orders.builders import channel_line, channel_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(make_user):
    """An account, a warehouse with 2 black sweaters, a manager, and nothing mapped yet."""

    class Shop:
        account = ChannelAccountFactory.create(name="니트샵 스마트스토어")
        warehouse = LocationFactory.create()
        sweater = SkuFactory.create(code="KNIT-BK-S")
        manager = make_user(Role.MANAGER)

    stock_receive(sku=Shop.sweater, location=Shop.warehouse, quantity=2)
    return Shop


def ingest_unmapped(
    shop, *, count: int, option: str = "블랙 / S", quantity: int = 1, product_id: str = "P100"
):
    """`count` orders of one unmapped option, the first one oldest. Returns their lines."""
    orders = [
        channel_order(
            channel_line(option=option, quantity=quantity, product_id=product_id, codes=("NOPE",)),
            minutes_ago=100 - i,
        )
        for i in range(count)
    ]
    orders_ingest(account=shop.account, orders=orders)
    return [OrderLine.objects.get(order__external_order_id=o.external_order_id) for o in orders]


def save(shop, items, *, option: str = "블랙 / S", product_id: str = "P100"):
    return option_mapping_save(
        account=shop.account,
        channel_product_id=product_id,
        option_key=option,
        product_name="울 라운드 니트",
        option_text=option,
        items=items,
        actor=shop.manager,
    )


def reserved(sku: Sku) -> int:
    return sum(StockLevel.objects.filter(sku=sku).values_list("reserved", flat=True))


# --- Groups ------------------------------------------------------------------------------------------


def test_unmapped_lines_are_grouped_per_account_product_and_option_with_counts(shop) -> None:
    ingest_unmapped(shop, count=3, quantity=2)
    ingest_unmapped(shop, count=1, option="네이비 / M")
    other = ChannelAccountFactory.create()
    orders_ingest(account=other, orders=[channel_order(channel_line(option="블랙 / S"))])
    # A cancelled unmapped line waits for nothing.
    orders_ingest(
        account=shop.account,
        orders=[channel_order(channel_line(option="블랙 / S", state=LineState.CANCELLED))],
    )

    groups = unmapped_groups(unmapped_group_list(filters={}))

    summary = sorted((g.account.name, g.key, g.lines, g.quantity) for g in groups)
    assert summary == sorted(
        [
            ("니트샵 스마트스토어", "블랙 / S", 3, 6),
            ("니트샵 스마트스토어", "네이비 / M", 1, 1),
            (other.name, "블랙 / S", 1, 1),
        ]
    )
    black = next(g for g in groups if g.account == shop.account and g.key == "블랙 / S")
    first_line = OrderLine.objects.filter(option_text="블랙 / S", account=shop.account).order_by(
        "ordered_at"
    )[0]
    assert black.oldest == first_line.ordered_at
    assert [g.key for g in unmapped_groups(unmapped_group_list(filters={"account": other}))] == ["블랙 / S"]
    assert [g.key for g in unmapped_groups(unmapped_group_list(filters={"q": "네이비"}))] == ["네이비 / M"]
    assert unmapped_group_list(filters={"sort": "lines"})[0]["lines"] == 3
    counts = matching_counts()
    assert (counts.unmapped_lines, counts.unmapped_groups) == (5, 3)


# --- Saving a mapping ---------------------------------------------------------------------------------


def test_saving_a_mapping_maps_every_waiting_line_and_reserves_oldest_first(shop) -> None:
    lines = ingest_unmapped(shop, count=3)

    result = save(shop, [(shop.sweater, 1)])

    assert (result.created, result.counts.mapped, result.counts.reserved, result.counts.short) == (
        True,
        3,
        2,
        1,
    )
    for line in lines:
        line.refresh_from_db()
    assert [ln.unmapped for ln in lines] == [False, False, False]
    assert [ln.backorder for ln in lines] == [False, False, True]  # the newest one waits
    assert reserved(shop.sweater) == 2  # never more than the 2 on hand
    assert Reservation.objects.filter(reference=lines[2].reservation_reference).count() == 0
    mapped = OrderEvent.objects.filter(type=OrderEvent.Type.MAPPED)
    assert mapped.count() == 3 and {e.user for e in mapped} == {shop.manager}
    assert OrderEvent.objects.filter(type=OrderEvent.Type.BACKORDER, line=lines[2]).exists()
    audit = AuditLog.objects.get(action="option_mapping.create")
    assert audit.actor == shop.manager and audit.changes["lines_mapped"] == 3
    mapping = OptionMapping.objects.get()
    assert (mapping.channel_product_id, mapping.option_key, mapping.created_by) == (
        "P100",
        "블랙 / S",
        shop.manager,
    )


def test_a_bundle_mapping_multiplies_each_item_by_the_line_quantity(shop) -> None:
    scarf = SkuFactory.create(code="SCARF")
    cup = SkuFactory.create(code="CUP")
    stock_receive(sku=scarf, location=shop.warehouse, quantity=10)
    stock_receive(sku=cup, location=shop.warehouse, quantity=10)
    gift_set = make_bundle([(cup, 2)], code="SET-CUP2")
    (line,) = ingest_unmapped(shop, count=1, quantity=2)

    save(shop, [(shop.sweater, 1), (scarf, 2), (gift_set, 1)])

    assert dict(LineSku.objects.filter(line=line).values_list("sku__code", "quantity")) == {
        "KNIT-BK-S": 2,
        "SCARF": 4,
        "SET-CUP2": 2,
    }
    assert (reserved(shop.sweater), reserved(scarf), reserved(cup)) == (2, 4, 4)


def test_saving_the_same_mapping_twice_writes_nothing_the_second_time(shop) -> None:
    ingest_unmapped(shop, count=3)
    save(shop, [(shop.sweater, 1)])
    before = (OrderEvent.objects.count(), AuditLog.objects.count(), Reservation.objects.count())

    again = save(shop, [(shop.sweater, 1)])

    assert (again.created, again.changed, again.counts.mapped) == (False, False, 0)
    assert (OrderEvent.objects.count(), AuditLog.objects.count(), Reservation.objects.count()) == before
    assert LineSku.objects.count() == 3 and OptionMappingItem.objects.count() == 1
    assert reserved(shop.sweater) == 2


def test_whitespace_variants_of_one_option_are_one_mapping(shop) -> None:
    ingest_unmapped(shop, count=1, option="블랙 / S")
    ingest_unmapped(shop, count=1, option="블랙  /   S")

    result = save(shop, [(shop.sweater, 1)])

    assert result.counts.mapped == 2
    assert not OrderLine.objects.filter(unmapped=True).exists()


def test_replacing_a_mapping_changes_later_orders_and_leaves_mapped_lines_alone(shop) -> None:
    navy = SkuFactory.create(code="KNIT-NV-S")
    stock_receive(sku=navy, location=shop.warehouse, quantity=5)
    (first,) = ingest_unmapped(shop, count=1)
    save(shop, [(shop.sweater, 1)])

    result = save(shop, [(navy, 1)])

    assert (result.created, result.changed, result.counts.mapped) == (False, True, 0)
    assert list(LineSku.objects.filter(line=first).values_list("sku__code", flat=True)) == ["KNIT-BK-S"]
    update = AuditLog.objects.get(action="option_mapping.update")
    assert update.changes["items"] == ["KNIT-BK-S ×1", "KNIT-NV-S ×1"]
    orders_ingest(account=shop.account, orders=[channel_order(channel_line(option="블랙 / S"))])
    later = OrderLine.objects.exclude(pk=first.pk).get()
    assert list(LineSku.objects.filter(line=later).values_list("sku__code", flat=True)) == ["KNIT-NV-S"]


def test_later_orders_use_the_saved_mapping(shop) -> None:
    ingest_unmapped(shop, count=1)
    save(shop, [(shop.sweater, 1)])

    result = orders_ingest(account=shop.account, orders=[channel_order(channel_line(option="블랙 / S"))])

    assert (result.unmapped, result.reserved) == (0, 1)
    assert reserved(shop.sweater) == 2


def test_lines_past_the_stock_holding_states_are_mapped_but_hold_no_stock(shop) -> None:
    orders_ingest(
        account=shop.account,
        orders=[channel_order(channel_line(option="블랙 / S", state=LineState.SHIPPED))],
    )

    result = save(shop, [(shop.sweater, 1)])

    assert (result.counts.mapped, result.counts.reserved, result.counts.short) == (1, 0, 0)
    assert OrderLine.objects.get().status == LineStatus.SHIPPED
    assert reserved(shop.sweater) == 0


@pytest.mark.parametrize(
    ("make_items", "message"),
    [
        (lambda s, x: [(s.sweater, 0)], "whole number from 1"),
        (lambda s, x: [(s.sweater, -2)], "whole number from 1"),
        (lambda s, x: [(s.sweater, "2")], "whole number from 1"),
        (lambda s, x: [(x["inactive"], 1)], "inactive"),
        (lambda s, x: [(x["unsaved"], 1)], "no longer exists"),
        (lambda s, x: [(x["empty_bundle"], 1)], "bundle without components"),
        (lambda s, x: [(s.sweater, 1), (s.sweater, 2)], "listed twice"),
        (lambda s, x: [], "at least one SKU"),
        (lambda s, x: [(s.sweater, 1), (x["inactive"], 0)], "inactive"),
    ],
    ids=["zero", "negative", "text", "inactive", "unknown", "empty-bundle", "twice", "none", "mixed"],
)
def test_bad_items_are_refused_and_nothing_is_written(shop, make_items, message) -> None:
    ingest_unmapped(shop, count=2)
    extra = {
        "inactive": SkuFactory.create(code="OLD", is_active=False),
        "unsaved": Sku(pk=999_999, code="GHOST"),
        "empty_bundle": SkuFactory.create(code="SET-EMPTY", kind=Sku.Kind.BUNDLE),
    }
    before = (OrderEvent.objects.count(), Reservation.objects.count())

    with pytest.raises(MappingError) as refused:
        save(shop, make_items(shop, extra))

    assert message in str(refused.value)
    assert not OptionMapping.objects.exists() and not LineSku.objects.exists()
    assert OrderLine.objects.filter(unmapped=True).count() == 2
    assert (OrderEvent.objects.count(), Reservation.objects.count()) == before
    assert not AuditLog.objects.filter(action__startswith="option_mapping").exists()


def test_a_mapping_needs_a_product_id_or_an_option(shop) -> None:
    with pytest.raises(MappingError, match="channel product id or the option"):
        save(shop, [(shop.sweater, 1)], option=" ", product_id="")
    assert not OptionMapping.objects.exists()


def test_a_refused_replacement_keeps_the_old_mapping(shop) -> None:
    save(shop, [(shop.sweater, 1)])
    with pytest.raises(MappingError):
        save(shop, [(shop.sweater, 0)])
    assert list(OptionMappingItem.objects.values_list("sku__code", "quantity")) == [("KNIT-BK-S", 1)]


def test_deleting_a_mapping_affects_only_later_orders(shop) -> None:
    (line,) = ingest_unmapped(shop, count=1)
    result = save(shop, [(shop.sweater, 1)])

    option_mapping_delete(mapping=result.mapping, actor=shop.manager)

    assert not OptionMapping.objects.exists()
    line.refresh_from_db()
    assert not line.unmapped and reserved(shop.sweater) == 1
    assert AuditLog.objects.get(action="option_mapping.delete").changes["items"] == ["KNIT-BK-S ×1", None]
    later = orders_ingest(account=shop.account, orders=[channel_order(channel_line(option="블랙 / S"))])
    assert later.unmapped == 1


# --- SKU 코드로 자동 매칭 ----------------------------------------------------------------------------


def test_auto_match_maps_groups_whose_codes_name_one_active_sku(shop) -> None:
    orders_ingest(
        account=shop.account,
        orders=[
            # seller codes that name a SKU created after the orders came in
            channel_order(channel_line(option="레드 / S", codes=("KNIT-RD-S",)), minutes_ago=50),
            channel_order(channel_line(option="레드 / S", codes=("KNIT-RD-S",)), minutes_ago=40),
            # the option text is the SKU code
            channel_order(channel_line(option="KNIT-BK-S", product_id="P200")),
            # the channel option id is a SKU barcode
            channel_order(channel_line(option="그린", product_id="P300", channel_option_id="8801234567890")),
            # lines of one option naming two different SKUs: left for a person
            channel_order(channel_line(option="믹스", product_id="P400", codes=("KNIT-RD-S",))),
            channel_order(channel_line(option="믹스", product_id="P400", codes=("KNIT-GR-S",))),
            # nothing names a SKU
            channel_order(channel_line(option="퍼플", product_id="P500")),
        ],
    )
    red = SkuFactory.create(code="KNIT-RD-S")
    green = SkuFactory.create(code="KNIT-GR-S", barcode="8801234567890")
    stock_receive(sku=red, location=shop.warehouse, quantity=1)
    stock_receive(sku=green, location=shop.warehouse, quantity=3)

    result = unmapped_auto_match(actor=shop.manager)

    assert (result.mappings_created, result.groups_mapped, result.mapped) == (3, 3, 4)
    assert (result.reserved, result.short, result.conflicts, result.unmatched) == (3, 1, 1, 1)
    keys = set(OptionMapping.objects.values_list("channel_product_id", "option_key", "items__sku__code"))
    assert keys == {
        ("P100", "레드 / S", "KNIT-RD-S"),
        ("P200", "KNIT-BK-S", "KNIT-BK-S"),
        ("P300", "8801234567890", "KNIT-GR-S"),
    }
    # The older red order got the one red sweater.
    reds = OrderLine.objects.filter(option_text="레드 / S").order_by("ordered_at")
    assert [ln.backorder for ln in reds] == [False, True]
    assert set(OrderLine.objects.filter(unmapped=True).values_list("option_text", flat=True)) == {
        "믹스",
        "퍼플",
    }
    assert AuditLog.objects.filter(action="option_mapping.auto_create").count() == 3
    assert AuditLog.objects.get(action="orders.auto_match").changes["lines_mapped"] == 4

    again = unmapped_auto_match(actor=shop.manager)
    assert (again.mappings_created, again.mapped, again.conflicts, again.unmatched) == (0, 0, 1, 1)
    assert AuditLog.objects.filter(action="orders.auto_match").count() == 1


def test_auto_match_ignores_inactive_skus_and_shared_barcodes(shop) -> None:
    orders_ingest(
        account=shop.account,
        orders=[
            channel_order(channel_line(option="A", codes=("RETIRED",))),
            channel_order(channel_line(option="B", channel_option_id="8800000000001")),
        ],
    )
    SkuFactory.create(code="RETIRED", is_active=False)
    SkuFactory.create(code="TWIN-1", barcode="8800000000001")
    SkuFactory.create(code="TWIN-2", barcode="8800000000001")

    result = unmapped_auto_match(actor=shop.manager)

    assert (result.mapped, result.unmatched) == (0, 2)
    assert not OptionMapping.objects.exists()


def test_auto_match_uses_a_product_id_barcode_only_for_a_product_without_options(shop) -> None:
    SkuFactory.create(code="MUG", barcode="8809999999999")
    orders_ingest(
        account=shop.account,
        orders=[
            channel_order(channel_line(option="", product_id="8809999999999")),
            channel_order(channel_line(option="대형", product_id="8809999999999")),
        ],
    )

    result = unmapped_auto_match(actor=shop.manager)

    assert (result.mapped, result.unmatched) == (1, 1)
    assert OrderLine.objects.get(unmapped=True).option_text == "대형"


def test_auto_match_applies_a_saved_mapping_to_lines_that_missed_it(shop) -> None:
    (line,) = ingest_unmapped(shop, count=1)
    # Saved by hand while this order was being collected: the line came in unmapped anyway.
    mapping = OptionMapping.objects.create(
        account=shop.account, channel_product_id="P100", option_key="블랙 / S"
    )
    OptionMappingItem.objects.create(mapping=mapping, sku=shop.sweater, quantity=2)

    result = unmapped_auto_match(actor=shop.manager, account=shop.account)

    assert (result.mappings_created, result.mapped, result.reserved) == (0, 1, 1)
    assert LineSku.objects.get(line=line).quantity == 2


def test_auto_match_is_limited_to_one_account_when_asked(shop) -> None:
    other = ChannelAccountFactory.create()
    orders_ingest(account=other, orders=[channel_order(channel_line(option="KNIT-BK-S"))])
    orders_ingest(account=shop.account, orders=[channel_order(channel_line(option="KNIT-BK-S"))])

    result = unmapped_auto_match(actor=shop.manager, account=other)

    assert result.mapped == 1
    assert OrderLine.objects.get(unmapped=True).account == shop.account


# --- 재할당 -------------------------------------------------------------------------------------------


def test_reassign_reserves_backorder_lines_oldest_first_once_stock_arrives(shop) -> None:
    lines = ingest_unmapped(shop, count=5)
    save(shop, [(shop.sweater, 1)])  # 2 reserved, 3 short
    stock_receive(sku=shop.sweater, location=shop.warehouse, quantity=2)
    assert backorder_reassign_preview().would_reserve == 2

    result = backorder_reassign(actor=shop.manager)

    assert (result.reserved, result.short) == (2, 1)
    for line in lines:
        line.refresh_from_db()
    assert [ln.backorder for ln in lines] == [False, False, False, False, True]
    assert reserved(shop.sweater) == 4
    events = OrderEvent.objects.filter(type=OrderEvent.Type.RESERVED, line__in=lines[2:])
    assert {(e.line_id, e.user) for e in events} == {(lines[2].pk, shop.manager), (lines[3].pk, shop.manager)}
    assert AuditLog.objects.get(action="orders.backorder_reassign").changes == {"reserved": 2, "short": 1}

    again = backorder_reassign(actor=shop.manager)
    assert (again.reserved, again.short) == (0, 1)
    assert reserved(shop.sweater) == 4
    assert Reservation.objects.filter(quantity__gt=0).count() == 4


def test_reassign_skips_cancelled_lines_and_gives_their_turn_to_the_next(shop) -> None:
    lines = ingest_unmapped(shop, count=4)
    save(shop, [(shop.sweater, 1)])
    order_line_cancel(line=lines[2], actor=shop.manager)
    stock_receive(sku=shop.sweater, location=shop.warehouse, quantity=1)

    result = backorder_reassign(actor=shop.manager)

    assert (result.reserved, result.short) == (1, 0)
    lines[3].refresh_from_db()
    assert not lines[3].backorder and reserved(shop.sweater) == 3


def test_backorder_rows_show_what_each_sku_is_short_of_now(shop) -> None:
    lines = ingest_unmapped(shop, count=3, quantity=2)
    save(shop, [(shop.sweater, 1)])  # the oldest takes both sweaters
    stock_receive(sku=shop.sweater, location=shop.warehouse, quantity=1)

    waiting = list(backorder_line_list(filters={}).order_by(*BACKORDER_ORDER))
    rows = backorder_rows(waiting)

    assert [row.line.pk for row in rows] == [lines[1].pk, lines[2].pk]
    need = rows[0].needs[0]
    assert (need.sku.code, need.needed, need.free, need.short) == ("KNIT-BK-S", 2, 1, 1)
    assert matching_counts().backorder_lines == 2
    assert backorder_reassign_preview().would_reserve == 0


def test_backorder_lines_page_oldest_first_through_keyset_cursors(shop) -> None:
    lines = ingest_unmapped(shop, count=7)
    save(shop, [(shop.sweater, 1)])  # 2 reserved, 5 waiting

    seen, cursor = [], None
    while True:
        page = keyset_page(backorder_line_list(filters={}), order=BACKORDER_ORDER, after=cursor, size=2)
        seen += [line.pk for line in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor

    assert seen == [line.pk for line in lines[2:]]


def test_suggestions_rank_skus_sharing_the_option_values_first_and_never_confuse_l_with_xl(shop) -> None:
    shirt = ProductFactory.create(name="린넨 오버셔츠")
    SkuFactory.create(code="SH-WH-XL", product=shirt, option_label="화이트 / XL")
    SkuFactory.create(code="SH-WH-L", product=shirt, option_label="화이트 / L")
    SkuFactory.create(code="SH-BK-L", product=shirt, option_label="블랙 / L")
    SkuFactory.create(code="SH-OLD", product=shirt, option_label="화이트 / L", is_active=False)
    SkuFactory.create(code="MUG-WH", product=ProductFactory.create(name="머그컵"), option_label="화이트 / L")

    hits = sku_suggestions(
        product_name="여름 린넨 오버셔츠 [당일발송]", option_text="색상: 화이트 / 사이즈: L"
    )

    assert [h.sku.code for h in hits] == ["SH-WH-L", "SH-BK-L", "SH-WH-XL"]
    assert sku_suggestions(product_name="A", option_text="화이트") == []


def test_restock_totals_count_bundles_as_their_components(shop) -> None:
    cup = SkuFactory.create(code="CUP")
    stock_receive(sku=cup, location=shop.warehouse, quantity=1)
    cups = make_bundle([(cup, 2)], code="SET-CUP2")
    ingest_unmapped(shop, count=3)
    save(shop, [(cups, 1)])  # every line needs 2 cups; 1 cup in stock

    totals = backorder_sku_totals()

    assert [(t.sku.code, t.lines, t.needed, t.free, t.short) for t in totals] == [("CUP", 3, 6, 1, 5)]
