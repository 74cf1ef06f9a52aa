from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from inventory.models import StockLevel
from oms.models import User
from orders.ingest import orders_ingest
from orders.models import ImportBatch, LineStatus, Order, OrderEvent, OrderLine
from orders.services import order_line_cancel, order_line_confirm, order_line_hold
from tests.conftest import client_for, sheet_of
from tests.orders.builders import channel_line, channel_order
from tests.orders.desk import Desk, make_desk

pytestmark = pytest.mark.django_db

LIST = "orders:order_list"


@pytest.fixture
def desk() -> Desk:
    return make_desk()


def _lines_shown(response) -> set[str]:
    return {line.external_line_id for line in response.context["page"].items}


def _get(user: User, **params: str):
    return client_for(user).get(reverse(LIST), params)


# --- The list: tabs, filters, search --------------------------------------------------------------


def test_list_shows_every_line_with_tab_counts_per_state_and_flag(desk: Desk, manager_user: User) -> None:
    order_line_confirm(line=desk.line(desk.choi), actor=manager_user)
    response = _get(manager_user)
    assert response.status_code == 200
    assert _lines_shown(response) == {"L-KIM-1", "L-LEE-1", "L-LEE-2", "L-PARK-1", "L-CHOI-1"}
    tabs = {t["key"]: t["count"] for t in response.context["tabs"]}
    assert (tabs["all"], tabs["new"], tabs["confirmed"], tabs["hold"]) == (5, 4, 1, 0)
    assert (tabs["unmapped"], tabs["backorder"], tabs["address_changed"]) == (1, 1, 0)
    assert "cancelled" not in tabs  # a state without lines gets no tab unless it is a main one
    body = response.content.decode()
    assert "2026010100000001" in body and "010-2222-1234" in body


def test_filters_by_account_state_and_flag(desk: Desk, manager_user: User) -> None:
    order_line_hold(line=desk.line(desk.kim), actor=manager_user, reason="주소 확인")
    assert _lines_shown(_get(manager_user, account=str(desk.coupang.pk))) == {"L-PARK-1", "L-CHOI-1"}
    assert _lines_shown(_get(manager_user, status="hold")) == {"L-KIM-1"}
    assert _lines_shown(_get(manager_user, flag="unmapped")) == {"L-LEE-2"}
    assert _lines_shown(_get(manager_user, flag="backorder")) == {"L-PARK-1"}
    both = _get(manager_user, account=str(desk.store.pk), status="new")
    assert _lines_shown(both) == {"L-LEE-1", "L-LEE-2"}
    assert both.context["total"] == 2
    # The tabs count under the other filters (the store's lines only).
    tabs = {t.get("state"): t["count"] for t in both.context["tabs"] if t.get("state")}
    assert tabs["hold"] == 1 and tabs["new"] == 2


def test_filter_by_upload_shows_the_orders_that_upload_created(desk: Desk, manager_user: User) -> None:
    upload = ImportBatch.objects.create(
        account=desk.coupang,
        profile_name="coupang",
        filename="DeliveryList_1125.xlsx",
        uploaded_by=manager_user,
    )
    Order.objects.filter(lines__external_line_id="L-PARK-1").update(import_batch=upload)

    response = _get(manager_user, batch=str(upload.pk))
    assert _lines_shown(response) == {"L-PARK-1"} and response.context["total"] == 1
    body = response.content.decode()
    assert 'data-filter="batch"' in body and "DeliveryList_1125.xlsx" in body
    assert f'name="batch" value="{upload.pk}"' in body  # kept when the other filters change
    # the other filters narrow it further; an unknown upload is ignored, not an error
    assert _lines_shown(_get(manager_user, batch=str(upload.pk), status="hold")) == set()
    assert len(_lines_shown(_get(manager_user, batch="999999"))) == 5
    # a bulk action from the filtered list stays within the upload
    back = urlencode({"batch": upload.pk})
    response = _bulk(manager_user, "hold", back=back, select_all="filtered", note="업로드 확인")
    assert response.context["bulk_result"]["changed"] == 1
    assert response.request["QUERY_STRING"] == back


def test_address_changed_lines_have_their_own_tab(desk: Desk, manager_user: User) -> None:
    moved = channel_order(
        channel_line(line_id="L-KIM-1", codes=("KNIT-BK-S",), quantity=2),
        order_id="2026010100000001",
        recipient_name="김하늘",
        recipient_phone="010-2222-1234",
        address1="부산광역시 해운대구 센텀중앙로 79",
        minutes_ago=2 * 24 * 60,
    )
    orders_ingest(account=desk.store, orders=[moved])
    response = _get(manager_user, flag="address_changed")
    assert _lines_shown(response) == {"L-KIM-1"}
    assert "badge warn" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("1234", {"L-KIM-1"}),  # last 4 digits of a phone
        ("6789", {"L-LEE-1", "L-LEE-2"}),  # ... of a 050x safe number too
        ("010-7777-4321", {"L-PARK-1"}),  # a full phone, typed with dashes
        ("01077774321", {"L-PARK-1"}),
        ("2026010100000002", {"L-LEE-1", "L-LEE-2"}),  # order no.
        ("L-CHOI-1", {"L-CHOI-1"}),  # line no.
        ("김하늘", {"L-KIM-1"}),  # recipient name
        ("박구", {"L-PARK-1"}),  # name prefix
        ("cap-bk", {"L-PARK-1"}),  # SKU code, any case
        ("볼캡", {"L-PARK-1"}),  # the catalog product name of the line's SKU
        ("니트", {"L-KIM-1", "L-LEE-1", "L-CHOI-1", "L-LEE-2"}),  # ... and an unmapped line's own name
        ("에코백", set()),  # an unmapped line's option text is not searched
        ("0000", {"L-CHOI-1"}),
        ("9999", set()),  # the middle of a phone is not its last 4 digits
    ],
)
def test_search_box(desk: Desk, manager_user: User, query: str, expected: set[str]) -> None:
    assert _lines_shown(_get(manager_user, q=query)) == expected


def test_search_by_product_name_matches_part_of_it(desk: Desk, manager_user: User) -> None:
    line = channel_line(line_id="L-NEW-1")
    orders_ingest(
        account=desk.store,
        orders=[channel_order(type(line)(**{**line.__dict__, "product_name": "여름 린넨 오버셔츠"}))],
    )
    assert _lines_shown(_get(manager_user, q="린넨")) == {"L-NEW-1"}


def test_date_range_filters_by_ordered_or_paid_day_in_korean_time(desk: Desk, manager_user: User) -> None:
    kst = dt.timezone(dt.timedelta(hours=9))
    stamps = {
        "L-D1": dt.datetime(2026, 3, 1, 23, 59, tzinfo=kst),
        "L-D2": dt.datetime(2026, 3, 2, 0, 0, tzinfo=kst),
        "L-D3": dt.datetime(2026, 3, 2, 23, 59, tzinfo=kst),
        "L-D4": dt.datetime(2026, 3, 3, 0, 1, tzinfo=kst),
    }
    orders_ingest(
        account=desk.store,
        orders=[
            channel_order(channel_line(line_id=line_id), ordered_at=at, paid_at=at + dt.timedelta(hours=1))
            for line_id, at in stamps.items()
        ],
    )
    day = {"date_from": "2026-03-02", "date_to": "2026-03-02"}
    assert _lines_shown(_get(manager_user, **day)) == {"L-D2", "L-D3"}
    assert _lines_shown(_get(manager_user, date_field="paid", **day)) == {"L-D1", "L-D2"}
    assert _lines_shown(_get(manager_user, date_from="2026-03-03")) >= {"L-D4"}
    bad = _get(manager_user, date_from="2026-03-03", date_to="2026-03-02")
    assert "date_to" in bad.context["filter_form"].errors


def test_paging_walks_every_line_once_newest_or_oldest_first(desk: Desk, manager_user: User) -> None:
    orders_ingest(
        account=desk.store, orders=[channel_order(channel_line(), minutes_ago=200 + i) for i in range(60)]
    )
    client = client_for(manager_user)
    for sort in ("newest", "oldest"):
        seen: list[int] = []
        params = {"sort": sort}
        while True:
            response = client.get(reverse(LIST), params)
            page = response.context["page"]
            seen += [line.pk for line in page.items]
            if not page.next_cursor:
                break
            params = {"sort": sort, "after": page.next_cursor}
        assert len(seen) == len(set(seen)) == 65
        stamps = [(OrderLine.objects.get(pk=pk).ordered_at, pk) for pk in seen]
        assert stamps == sorted(stamps, reverse=sort == "newest")


def test_htmx_request_gets_the_results_fragment(desk: Desk, manager_user: User) -> None:
    response = client_for(manager_user).get(reverse(LIST), {"status": "new"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert 'id="results"' in body and "<html" not in body


# --- Bulk actions ---------------------------------------------------------------------------------


def _bulk(user: User, action: str, *, ids=(), back: str = "", **extra: str):
    data = {"action": action, "back": back, "ids": [str(i) for i in ids], **extra}
    return client_for(user).post(reverse("orders:order_bulk"), data, follow=True)


def test_bulk_confirm_reports_changed_and_each_refused_line_with_its_reason(
    desk: Desk, manager_user: User
) -> None:
    cancelled = desk.line(desk.choi)
    order_line_cancel(line=cancelled, actor=manager_user, reason="고객 변심")
    ids = [desk.line(desk.kim).pk, desk.line(desk.park).pk, cancelled.pk]
    response = _bulk(manager_user, "confirm", ids=ids)
    result = response.context["bulk_result"]
    assert result["changed"] == 2 and result["refused_total"] == 1
    assert result["refused"][0]["line"] == "L-CHOI-1"
    assert str(LineStatus.CANCELLED.label) in result["refused"][0]["reason"]
    body = response.content.decode()
    assert "L-CHOI-1" in body and result["refused"][0]["reason"] in body
    assert set(
        OrderLine.objects.filter(status=LineStatus.CONFIRMED).values_list("external_line_id", flat=True)
    ) == {
        "L-KIM-1",
        "L-PARK-1",
    }
    events = OrderEvent.objects.filter(type=OrderEvent.Type.STATUS, data__to="confirmed")
    assert events.count() == 2 and {e.user_id for e in events} == {manager_user.pk}


def test_bulk_select_all_matching_acts_on_the_filtered_lines_only(desk: Desk, manager_user: User) -> None:
    back = urlencode({"account": desk.coupang.pk, "status": "new"})
    response = _bulk(manager_user, "hold", back=back, select_all="filtered", note="재고 확인")
    assert response.context["bulk_result"]["changed"] == 2
    held = OrderLine.objects.filter(status=LineStatus.HOLD)
    assert set(held.values_list("external_line_id", flat=True)) == {"L-PARK-1", "L-CHOI-1"}
    assert OrderEvent.objects.filter(type=OrderEvent.Type.STATUS, message__contains="재고 확인").count() == 2
    # Back on the same filters afterwards, with fresh counts.
    assert response.request["QUERY_STRING"] == back
    assert response.context["total"] == 0


def test_bulk_never_touches_a_checked_line_outside_the_filters(desk: Desk, manager_user: User) -> None:
    outside = desk.line(desk.kim)
    back = urlencode({"account": desk.coupang.pk})
    _bulk(manager_user, "confirm", ids=[outside.pk, desk.line(desk.park).pk], back=back)
    assert OrderLine.objects.get(pk=outside.pk).status == LineStatus.NEW
    assert OrderLine.objects.get(pk=desk.line(desk.park).pk).status == LineStatus.CONFIRMED


def test_bulk_release_hold_sends_each_line_back_where_it_was(desk: Desk, manager_user: User) -> None:
    was_confirmed = order_line_confirm(line=desk.line(desk.kim), actor=manager_user)
    order_line_hold(line=was_confirmed, actor=manager_user)
    order_line_hold(line=desk.line(desk.park), actor=manager_user)
    response = _bulk(
        manager_user, "unhold", ids=[desk.line(desk.kim).pk, desk.line(desk.park).pk, desk.line(desk.choi).pk]
    )
    result = response.context["bulk_result"]
    assert result["changed"] == 2 and [r["line"] for r in result["refused"]] == ["L-CHOI-1"]
    assert OrderLine.objects.get(external_line_id="L-KIM-1").status == LineStatus.CONFIRMED
    assert OrderLine.objects.get(external_line_id="L-PARK-1").status == LineStatus.NEW


def test_bulk_cancel_needs_a_reason_and_releases_stock(desk: Desk, manager_user: User) -> None:
    kim = desk.line(desk.kim)
    assert StockLevel.objects.get(sku=desk.knit).reserved == 4
    refused = _bulk(manager_user, "cancel", ids=[kim.pk])
    assert "bulk_result" not in refused.context or not refused.context["bulk_result"]
    assert [str(m) for m in refused.context["messages"]]
    assert OrderLine.objects.get(pk=kim.pk).status == LineStatus.NEW
    _bulk(manager_user, "cancel", ids=[kim.pk], note="고객 변심")
    assert OrderLine.objects.get(pk=kim.pk).status == LineStatus.CANCELLED
    assert StockLevel.objects.get(sku=desk.knit).reserved == 2


def test_bulk_without_a_selection_changes_nothing(desk: Desk, manager_user: User) -> None:
    response = _bulk(manager_user, "confirm")
    assert [str(m) for m in response.context["messages"]]
    assert not OrderLine.objects.exclude(status=LineStatus.NEW).exists()


def test_staff_sees_the_list_and_detail_but_no_action_buttons(desk: Desk, staff_user: User) -> None:
    client = client_for(staff_user)
    body = client.get(reverse(LIST)).content.decode()
    assert 'value="confirm"' not in body and 'value="cancel"' not in body
    detail = client.get(reverse("orders:order_detail", args=[desk.kim.pk])).content.decode()
    assert reverse("orders:line_confirm", args=[desk.line(desk.kim).pk]) not in detail
    assert (
        client.post(reverse("orders:order_bulk"), {"action": "confirm", "select_all": "filtered"}).status_code
        == 403
    )
    assert not OrderLine.objects.exclude(status=LineStatus.NEW).exists()


# --- Excel ------------------------------------------------------------------------------------------


def test_excel_download_holds_what_the_filters_show(desk: Desk, manager_user: User) -> None:
    response = _get(manager_user, account=str(desk.store.pk), format="xlsx")
    sheet = sheet_of(response)
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows[0]) == 26
    line_no = 1
    assert sorted(r[line_no] for r in rows[1:]) == ["L-KIM-1", "L-LEE-1", "L-LEE-2"]
    kim = next(r for r in rows[1:] if r[line_no] == "L-KIM-1")
    assert "2026010100000001" in kim and "01022221234" in kim and "KNIT-BK-S x2" in kim


def test_excel_cells_never_become_formulas(desk: Desk, manager_user: User) -> None:
    orders_ingest(
        account=desk.store,
        orders=[channel_order(channel_line(line_id="L-EVIL"), recipient_name='=HYPERLINK("http://x","y")')],
    )
    rows = list(sheet_of(_get(manager_user, q="L-EVIL", format="xlsx")).iter_rows(values_only=True))
    assert len(rows) == 2
    assert '\'=HYPERLINK("http://x","y")' in rows[1]


def test_excel_of_the_selected_lines(desk: Desk, staff_user: User) -> None:
    response = client_for(staff_user).post(
        reverse("orders:order_export"),
        {"ids": [desk.line(desk.park).pk, desk.line(desk.choi).pk], "back": ""},
    )
    rows = list(sheet_of(response).iter_rows(values_only=True))
    assert len(rows) == 3
    assert {r[1] for r in rows[1:]} == {"L-PARK-1", "L-CHOI-1"}


def test_a_search_matching_very_many_lines_still_filters_but_counts_only_the_total(
    desk: Desk, manager_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orders.selectors.SEARCH_ID_CAP", 1)
    response = _get(manager_user, q="니트")
    assert _lines_shown(response) == {"L-KIM-1", "L-LEE-1", "L-CHOI-1", "L-LEE-2"}
    tabs = {t["key"]: t["count"] for t in response.context["tabs"]}
    assert tabs["all"] == 4 and tabs["new"] is None
    assert response.context["total"] == 4
    held = _get(manager_user, q="니트", status="new")
    assert held.context["total"] == 4 and len(held.context["page"].items) == 4


def test_big_counts_stop_at_the_cap_and_say_so(desk: Desk, manager_user: User, monkeypatch) -> None:
    monkeypatch.setattr("orders.selectors.COUNT_CAP", 3)
    response = _get(manager_user)
    tabs = {t["key"]: (t["count"], t["capped"]) for t in response.context["tabs"]}
    assert tabs["all"] == (3, True) and tabs["new"] == (3, True) and tabs["unmapped"] == (1, False)
    assert response.context["total_capped"]
    body = response.content.decode()
    assert '<span class="n">3+</span>' in body and 'data-total="3+"' in body
    # Still every line on the page: the cap only bounds the counting.
    assert len(response.context["page"].items) == 5
