from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from oms.models import User
from orders.dashboard import order_cards
from orders.models import LineStatus
from orders.search import search_orders
from orders.selectors import counts_invalidate, line_count, line_tab_counts, order_line_list, order_search
from orders.services import order_line_confirm
from tests.orders.desk import Desk, make_desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk() -> Desk:
    return make_desk()


def test_tab_counts_are_cached_briefly_and_dropped_after_a_change_from_the_desk(
    desk: Desk, manager_user: User, django_assert_num_queries
) -> None:
    first = line_tab_counts(filters={})
    assert (first.total, first.status("new"), first.by_flag["unmapped"]) == (5, 5, 1)
    with django_assert_num_queries(0):
        assert line_tab_counts(filters={}) == first
    order_line_confirm(line=desk.line(desk.kim), actor=manager_user)
    assert line_tab_counts(filters={}).status("confirmed") == 0  # still the cached figure
    counts_invalidate()
    fresh = line_tab_counts(filters={})
    assert (fresh.status("new"), fresh.status("confirmed")) == (4, 1)


def test_counts_are_kept_per_filter_set(desk: Desk) -> None:
    store = line_tab_counts(filters={"account": desk.store})
    coupang = line_tab_counts(filters={"account": desk.coupang.pk})
    assert (store.total, coupang.total) == (3, 2)
    assert line_tab_counts(filters={"q": "1234"}).total == 1


def test_line_count_is_what_select_all_acts_on(desk: Desk, manager_user: User) -> None:
    order_line_confirm(line=desk.line(desk.park), actor=manager_user)
    counts_invalidate()
    for filters in (
        {},
        {"status": "new"},
        {"flag": "backorder"},
        {"status": "confirmed", "flag": "backorder"},
        {"status": "new", "flag": "backorder"},
        {"account": desk.store, "status": "new"},
    ):
        assert line_count(filters=filters) == order_line_list(filters=filters).count(), filters


def test_order_search_finds_orders_by_number_phone_and_name(desk: Desk) -> None:
    assert [o.pk for o in order_search(text="1234")] == [desk.kim.pk]
    assert [o.pk for o in order_search(text="010-7777-4321")] == [desk.park.pk]
    assert [o.pk for o in order_search(text="3000000002")] == [desk.choi.pk]
    assert [o.pk for o in order_search(text="L-LEE-2")] == [desk.lee.pk]
    assert [o.pk for o in order_search(text="이바")] == [desk.lee.pk]
    assert order_search(text="  ") == []


def test_global_search_provider_links_to_the_order_and_hides_from_no_role(
    desk: Desk, manager_user: User, make_user
) -> None:
    request = RequestFactory().get("/search/")
    request.user = manager_user
    section = search_orders(request, "김하늘")
    assert section is not None
    assert [h.url for h in section.hits] == [reverse("orders:order_detail", args=[desk.kim.pk])]
    request.user = User.objects.create(username="norole")
    assert search_orders(request, "김하늘") is None


def test_dashboard_cards_count_new_unmapped_and_short_lines(desk: Desk, manager_user: User) -> None:
    request = RequestFactory().get("/")
    request.user = manager_user
    cards = {card.url.split("?")[1]: card.count for card in order_cards(request)}
    assert cards == {f"status={LineStatus.NEW.value}": 5, "flag=unmapped": 1, "flag=backorder": 1}
    request.user = User.objects.create(username="norole")
    assert order_cards(request) == []


def test_a_capped_dashboard_count_says_it_is_at_least_that(
    desk: Desk, manager_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orders.selectors.COUNT_CAP", 3)
    request = RequestFactory().get("/")
    request.user = manager_user
    new, unmapped, _short = order_cards(request)
    assert new.count == 3 and "3" in str(new.hint) and str(new.hint) != str(unmapped.hint)
    assert unmapped.count == 1 and "1" not in str(unmapped.hint)
