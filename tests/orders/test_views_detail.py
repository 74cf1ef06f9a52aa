from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import StockLevel
from inventory.services import stock_receive
from oms.models import AuditLog, User
from orders.models import LineStatus, Order, OrderEvent, OrderLine
from orders.services import order_line_confirm
from tests.conftest import client_for
from tests.orders.desk import Desk, make_desk

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def desk() -> Desk:
    return make_desk()


def _detail(user: User, order: Order) -> str:
    response = client_for(user).get(reverse("orders:order_detail", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_detail_shows_header_lines_skus_and_stock_state(desk: Desk, manager_user: User) -> None:
    body = _detail(manager_user, desk.lee)
    assert "2026010100000002" in body and "이바다" in body and "0504-5555-6789" in body
    assert "L-LEE-1" in body and "L-LEE-2" in body and "KNIT-BK-S" in body
    lines = {
        ln.external_line_id: ln
        for ln in client_for(manager_user)
        .get(reverse("orders:order_detail", args=[desk.lee.pk]))
        .context["lines"]
    }
    assert lines["L-LEE-1"].stock.held == 1
    assert lines["L-LEE-2"].unmapped and lines["L-LEE-2"].stock.held == 0


def test_detail_names_the_shortage_of_a_backorder_line(desk: Desk, manager_user: User) -> None:
    response = client_for(manager_user).get(reverse("orders:order_detail", args=[desk.park.pk]))
    (line,) = response.context["lines"]
    assert line.backorder
    assert [(sku.code, short) for sku, short in line.stock.shortages] == [("CAP-BK", 1)]
    assert "CAP-BK" in response.content.decode()


def test_detail_flags_an_old_six_digit_zip(desk: Desk, manager_user: User) -> None:
    assert desk.choi.zip_is_old
    body = _detail(manager_user, desk.choi)
    assert "135-080" in body and "badge warn" in body
    assert "135-080" not in _detail(manager_user, desk.kim)


def test_line_actions_swap_the_lines_and_timeline(desk: Desk, manager_user: User) -> None:
    client = client_for(manager_user)
    line = desk.line(desk.kim)
    response = client.post(reverse("orders:line_confirm", args=[line.pk]), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and 'id="order-lines"' in body and "<html" not in body
    assert 'id="timeline" hx-swap-oob="true"' in body
    assert OrderLine.objects.get(pk=line.pk).status == LineStatus.CONFIRMED

    response = client.post(
        reverse("orders:line_hold", args=[line.pk]), {"reason": "고객 요청 보류"}, headers=HTMX
    )
    assert OrderLine.objects.get(pk=line.pk).status == LineStatus.HOLD
    assert "고객 요청 보류" in response.content.decode()  # on the timeline
    client.post(reverse("orders:line_unhold", args=[line.pk]), headers=HTMX)
    assert OrderLine.objects.get(pk=line.pk).status == LineStatus.CONFIRMED
    events = OrderEvent.objects.filter(line=line, type=OrderEvent.Type.STATUS).order_by("pk")
    assert [e.data["to"] for e in events] == ["confirmed", "hold", "confirmed"]
    assert {e.user_id for e in events} == {manager_user.pk}


def test_a_refused_action_says_why_in_the_row_and_changes_nothing(desk: Desk, manager_user: User) -> None:
    line = order_line_confirm(line=desk.line(desk.kim), actor=manager_user)
    before = OrderEvent.objects.count()
    response = client_for(manager_user).post(reverse("orders:line_unhold", args=[line.pk]), headers=HTMX)
    assert response.status_code == 200
    assert '<div class="error" role="alert">' in response.content.decode()
    assert OrderLine.objects.get(pk=line.pk).status == LineStatus.CONFIRMED
    assert OrderEvent.objects.count() == before


def test_cancel_needs_a_reason_then_releases_the_stock(desk: Desk, manager_user: User) -> None:
    client = client_for(manager_user)
    line = desk.line(desk.kim)
    assert StockLevel.objects.get(sku=desk.knit).reserved == 4
    response = client.post(reverse("orders:line_cancel", args=[line.pk]), {"reason": ""}, headers=HTMX)
    assert '<div class="error" role="alert">' in response.content.decode()
    assert OrderLine.objects.get(pk=line.pk).status == LineStatus.NEW
    client.post(reverse("orders:line_cancel", args=[line.pk]), {"reason": "고객 변심"}, headers=HTMX)
    assert OrderLine.objects.get(pk=line.pk).status == LineStatus.CANCELLED
    assert StockLevel.objects.get(sku=desk.knit).reserved == 2
    assert OrderEvent.objects.filter(line=line, message__contains="고객 변심").exists()


def test_actions_without_javascript_redirect_back_with_a_message(desk: Desk, manager_user: User) -> None:
    line = desk.line(desk.kim)
    response = client_for(manager_user).post(reverse("orders:line_confirm", args=[line.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("orders:order_detail", args=[desk.kim.pk])
    assert [str(m) for m in response.context["messages"]]
    assert OrderLine.objects.get(pk=line.pk).status == LineStatus.CONFIRMED


def test_backorder_line_says_it_waits_for_reallocation_once_stock_is_there(
    desk: Desk, manager_user: User
) -> None:
    stock_receive(sku=desk.cap, location=desk.warehouse, quantity=1)
    response = client_for(manager_user).get(reverse("orders:order_detail", args=[desk.park.pk]))
    (line,) = response.context["lines"]
    assert line.backorder and line.stock.shortages == []  # stock is there: waiting for reallocation


def test_memo_is_saved_on_the_order_and_the_timeline(desk: Desk, manager_user: User) -> None:
    client = client_for(manager_user)
    url = reverse("orders:order_memo", args=[desk.kim.pk])
    response = client.post(url, {"memo": "고객 통화: 금요일 도착 요청"}, headers=HTMX)
    body = response.content.decode()
    assert 'id="memo"' in body and 'id="timeline" hx-swap-oob="true"' in body
    assert Order.objects.get(pk=desk.kim.pk).memo == "고객 통화: 금요일 도착 요청"
    note = OrderEvent.objects.get(order=desk.kim, type=OrderEvent.Type.NOTE)
    assert note.user == manager_user and note.message == "고객 통화: 금요일 도착 요청"
    assert AuditLog.objects.filter(action="order.memo").count() == 1
    client.post(url, {"memo": "고객 통화: 금요일 도착 요청"}, headers=HTMX)  # unchanged: nothing written
    assert OrderEvent.objects.filter(type=OrderEvent.Type.NOTE).count() == 1
    too_long = client.post(url, {"memo": "x" * 2001}, headers=HTMX)
    assert 'class="field has-error"' in too_long.content.decode()
    assert Order.objects.get(pk=desk.kim.pk).memo == "고객 통화: 금요일 도착 요청"


def test_unmapped_line_links_to_the_matching_page_when_it_exists(desk: Desk, manager_user: User) -> None:
    response = client_for(manager_user).get(reverse("orders:order_detail", args=[desk.lee.pk]))
    from orders.views import matching_url

    url = matching_url()
    if url is not None:
        assert url in response.content.decode()
    else:
        assert response.context["matching_url"] is None


def test_unknown_order_is_404(manager_user: User) -> None:
    assert client_for(manager_user).get(reverse("orders:order_detail", args=[999999])).status_code == 404
