"""The shipping desk as a seller uses it: the list, its filters and search, the 출고 생성 panel,
bulk combine/cancel, Excel, a box's detail with split and cancel, the dashboard and search."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from channels.models import ChannelAccount
from oms.models import Job
from oms.roles import Role
from orders.models import LineStatus, OrderLine
from orders.services import lines_transition, order_line_cancel
from shipping.models import Shipment, ShipmentItem, ShipmentStatus
from shipping.services_build import shipments_build
from tests.channels.factories import ChannelAccountFactory
from tests.conftest import client_for, sheet_of
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import courier, ingest_orders, stocked_sku

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def account() -> ChannelAccount:
    return ChannelAccountFactory.create(name="스마트스토어 본점")


@pytest.fixture
def staff(make_user) -> Client:
    return client_for(make_user(Role.STAFF))


def confirmed(account: ChannelAccount, *, name: str = "홍길동", n: int = 1, **order: Any) -> list[OrderLine]:
    sku = stocked_sku("KNIT-BK-S", quantity=1000) if not _sku_exists() else None
    code = sku.code if sku else "KNIT-BK-S"
    (made,) = ingest_orders(
        account,
        [channel_order(*[channel_line(codes=(code,)) for _ in range(n)], recipient_name=name, **order)],
    )
    lines = list(made.lines.order_by("pk"))
    lines_transition(lines=lines, target=LineStatus.CONFIRMED, actor=None)
    return lines


def _sku_exists() -> bool:
    from catalog.models import Sku

    return Sku.objects.filter(code="KNIT-BK-S").exists()


def box_of(line: OrderLine) -> Shipment:
    return ShipmentItem.objects.select_related("shipment").get(line=line).shipment


def test_the_build_panel_counts_waiting_lines_and_builds_them(account, staff) -> None:
    confirmed(account, name="가", n=2)
    confirmed(account, name="나")

    page = staff.get(reverse("shipping:desk"))
    assert "Confirmed lines waiting for a box: 3" in page.content.decode()

    response = staff.post(reverse("shipping:desk_build"), {"across_channels": ""}, follow=True)

    html = response.content.decode()
    assert "2 new shipments, 3 lines boxed" in html
    assert Shipment.objects.count() == 2
    for box in Shipment.objects.all():
        assert box.number in html
    assert "Confirmed lines waiting for a box: 0" in html


def test_a_big_build_runs_as_a_job_with_a_progress_bar(
    account, staff, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from oms.celery import app

    settings.SHIPPING_BUILD_JOB_THRESHOLD = 2
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    confirmed(account, name="가", n=3)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("shipping:desk_build"), {})

    job = Job.objects.get(kind="shipping.build")
    assert response["Location"].endswith(f"?job={job.pk}")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.message.startswith("1 shipments created, 3 lines boxed")
    page = staff.get(response["Location"]).content.decode()
    assert f'id="job-{job.pk}"' in page and "See the result" in page


def test_skipped_lines_are_listed_with_why(account, staff) -> None:
    confirmed(account, name="가")
    (made,) = ingest_orders(account, [channel_order(channel_line(line_id="NOMAP-1", codes=("NOPE",)))])
    lines_transition(lines=list(made.lines.all()), target=LineStatus.CONFIRMED, actor=None)

    html = staff.post(reverse("shipping:desk_build"), {}, follow=True).content.decode()

    assert "1 line not boxed" in html
    assert "NOMAP-1</a> — needs mapping to a SKU" in html


def test_the_list_filters_searches_and_flags_cancelled_lines(account, staff) -> None:
    (a,) = confirmed(account, name="김철수", recipient_phone="010-5555-1234")
    b1, b2 = confirmed(account, name="이영희", n=2)
    shipments_build(actor=None)
    Shipment.objects.filter(pk=box_of(a).pk).update(tracking_number="601234567890")
    order_line_cancel(line=OrderLine.objects.get(pk=b1.pk), actor=None)

    def listed(**params: str) -> set[str]:
        html = staff.get(reverse("shipping:desk"), params).content.decode()
        return {s.number for s in Shipment.objects.all() if s.number in html}

    box_a, box_b = box_of(a).number, box_of(b2).number
    assert listed() == {box_a, box_b}
    assert listed(q=box_a) == {box_a}
    assert listed(q="601234567890") == {box_a}
    assert listed(q="01055551234") == {box_a}
    assert listed(q="이영") == {box_b}
    assert listed(q=a.order.external_order_id) == {box_a}
    assert listed(tracking="no") == {box_b}
    assert listed(status="shipped") == set()
    assert listed(attention="on") == {box_b}
    assert listed(ids=f"{box_of(b2).pk}") == {box_b}
    html = staff.get(reverse("shipping:desk"), {"q": box_b}).content.decode()
    assert "1 cancelled line — don" in html


def test_tabs_count_boxes_per_state_and_stop_at_the_cap(account, staff, monkeypatch) -> None:
    for name in ("가", "나", "다", "라"):
        confirmed(account, name=name)
    shipments_build(actor=None)
    first, second, *_rest = Shipment.objects.order_by("pk")
    Shipment.objects.filter(pk=first.pk).update(status=ShipmentStatus.SHIPPED)
    Shipment.objects.filter(pk=second.pk).update(status=ShipmentStatus.CANCELLED)

    def tabs(**params: str) -> tuple[dict[str, tuple[int, bool]], Any]:
        response = staff.get(reverse("shipping:desk"), params)
        return {str(t["label"]): (t["count"], t["capped"]) for t in response.context["tabs"]}, response

    counted, response = tabs()
    assert counted["All"] == (3, False) and counted["Not shipped yet"] == (2, False)
    assert counted["Ready to ship"] == (2, False) and counted["Shipped"] == (1, False)
    assert counted["Cancelled"] == (1, False)
    assert response.context["total"] == 3 and not response.context["total_capped"]
    assert tabs(status="shipped")[1].context["total"] == 1

    # With a cap of 2 (10,000 in the app) a full tab says "2+", sums included, and so does the head.
    monkeypatch.setattr("shipping.selectors.COUNT_CAP", 2)
    monkeypatch.setattr("shipping.views_desk.COUNT_CAP", 2)
    counted, response = tabs()
    assert counted["Ready to ship"] == (2, True) and counted["Not shipped yet"] == (2, True)
    assert counted["All"] == (3, True) and counted["Shipped"] == (1, False)
    assert response.context["total"] == 2 and response.context["total_capped"]
    html = response.content.decode()
    assert "2+ boxes" in html and 'data-total="2+"' in html


def test_bulk_combine_and_cancel(account, staff) -> None:
    (a,) = confirmed(account, name="가", bundle_key="P1")
    (b,) = confirmed(account, name="가", bundle_key="P2")
    shipments_build(actor=None)
    ids = [box_of(a).pk, box_of(b).pk]

    response = staff.post(reverse("shipping:desk_bulk"), {"action": "merge", "ids": ids}, follow=True)
    assert f"2 shipments combined into {box_of(a).number}." in response.content.decode()
    assert box_of(a) == box_of(b)

    response = staff.post(
        reverse("shipping:desk_bulk"), {"action": "cancel", "ids": [box_of(a).pk]}, follow=True
    )
    assert "1 shipments cancelled" in response.content.decode()
    assert OrderLine.objects.get(pk=a.pk).status == LineStatus.CONFIRMED


def test_bulk_combine_refusal_is_shown(account, staff) -> None:
    (a,) = confirmed(account, name="가")
    (b,) = confirmed(account, name="나")
    shipments_build(actor=None)
    response = staff.post(
        reverse("shipping:desk_bulk"), {"action": "merge", "ids": [box_of(a).pk, box_of(b).pk]}, follow=True
    )
    assert "These shipments go to different recipients" in response.content.decode()
    assert box_of(a) != box_of(b)


def test_nothing_selected_says_so(staff) -> None:
    response = staff.post(reverse("shipping:desk_bulk"), {"action": "merge"}, follow=True)
    assert "Select the shipments first." in response.content.decode()


def test_selected_boxes_go_to_another_page_as_ids(account, staff) -> None:
    (a,) = confirmed(account, name="가")
    (b,) = confirmed(account, name="나")
    shipments_build(actor=None)
    ids = sorted([box_of(a).pk, box_of(b).pk])
    response = staff.post(reverse("shipping:desk_bulk"), {"go": "picking", "ids": ids})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('shipping:picking')}?ids={ids[0]},{ids[1]}"


def test_excel_of_what_is_shown(account, staff) -> None:
    confirmed(account, name="가", n=2)
    confirmed(account, name="=HYPERLINK(1)")
    shipments_build(actor=None)

    sheet = sheet_of(staff.get(reverse("shipping:desk"), {"format": "xlsx", "q": "가"}))

    rows = list(sheet.values)
    assert rows[0][:3] == ("Shipment no.", "Status", "Channel")
    assert len(rows) == 2 and rows[1][4] == "가" and rows[1][9] == 2
    all_rows = list(sheet_of(staff.post(reverse("shipping:desk_export"), {"select_all": "filtered"})).values)
    assert len(all_rows) == 3
    assert "'=HYPERLINK(1)" in [r[4] for r in all_rows]  # a recipient name is never a formula


def test_detail_shows_items_and_splits_and_cancels(account, staff) -> None:
    a, b = confirmed(account, name="가", n=2)
    shipments_build(actor=None)
    box = box_of(a)

    html = staff.get(reverse("shipping:shipment_detail", args=[box.pk])).content.decode()
    assert box.number in html and a.order.external_order_id in html and "KNIT-BK-S" in html

    response = staff.post(reverse("shipping:shipment_split", args=[box.pk]), {"lines": [b.pk]}, follow=True)
    new = box_of(b)
    assert new != box
    assert f"The chosen lines are in a new box, {new.number}." in response.content.decode()

    response = staff.post(reverse("shipping:shipment_cancel", args=[new.pk]), follow=True)
    assert f"{new.number} cancelled" in response.content.decode()
    new.refresh_from_db()
    assert new.status == ShipmentStatus.CANCELLED


def test_split_without_lines_is_refused_with_a_message(account, staff) -> None:
    a, _b = confirmed(account, name="가", n=2)
    shipments_build(actor=None)
    response = staff.post(reverse("shipping:shipment_split", args=[box_of(a).pk]), {}, follow=True)
    assert "Choose the lines that go into the new box." in response.content.decode()


def test_prune_from_the_detail_page(account, staff) -> None:
    a, b = confirmed(account, name="가", n=2)
    shipments_build(actor=None)
    box = box_of(a)
    order_line_cancel(line=OrderLine.objects.get(pk=a.pk), actor=None)
    detail = staff.get(reverse("shipping:shipment_detail", args=[box.pk])).content.decode()
    assert "1 line of this box was cancelled or is asked to be" in detail

    response = staff.post(reverse("shipping:shipment_prune", args=[box.pk]), follow=True)

    assert f"1 cancelled lines taken out of {box.number}." in response.content.decode()
    assert list(box.items.values_list("line_id", flat=True)) == [b.pk]


def test_dashboard_cards_and_global_search(account, staff) -> None:
    (a,) = confirmed(account, name="가")
    confirmed(account, name="나")
    shipments_build(actor=None, line_ids=[a.pk])
    box = box_of(a)

    home = staff.get("/").content.decode()
    assert "Lines waiting for a box" in home and "No tracking number" in home
    assert f"{reverse('shipping:desk')}?status=open&amp;tracking=no" in home

    Shipment.objects.filter(pk=box.pk).update(tracking_number="601234567890")
    found = staff.get(reverse("search"), {"q": "601234567890"}).content.decode()
    assert box.number in found and reverse("shipping:shipment_detail", args=[box.pk]) in found


def test_cancelled_boxes_stay_out_of_the_way_unless_asked_for(account, staff) -> None:
    (a,) = confirmed(account, name="가", bundle_key="P1")
    (b,) = confirmed(account, name="가", bundle_key="P2")
    shipments_build(actor=None)
    emptied = box_of(b)
    staff.post(reverse("shipping:desk_bulk"), {"action": "merge", "ids": [box_of(a).pk, emptied.pk]})

    html = staff.get(reverse("shipping:desk")).content.decode()
    assert box_of(a).number in html and emptied.number not in html
    assert emptied.number in staff.get(reverse("shipping:desk"), {"status": "cancelled"}).content.decode()
    assert emptied.number in staff.get(reverse("shipping:desk"), {"q": emptied.number}).content.decode()


def test_detail_links_each_box_to_the_stages_it_can_still_go_to(account, staff) -> None:
    from shipping.services_dispatch import dispatch_sheet_mark
    from shipping.services_tracking import shipment_set_tracking

    a, _b = confirmed(account, name="가", n=2)
    shipments_build(actor=None)
    box = box_of(a)
    html = staff.get(reverse("shipping:shipment_detail", args=[box.pk])).content.decode()
    slips = f"{reverse('shipping:slips')}?ids={box.pk}"
    assert f'href="{reverse("shipping:pack_box", args=[box.pk])}"' in html
    assert f'href="{slips}"' in html
    assert f'href="{reverse("shipping:dispatch")}?ids={box.pk}"' in html
    assert reverse("shipping:dispatch_correct", args=[box.pk]) not in html

    shipment_set_tracking(shipment=box, courier=courier("CJGLS"), number="684100000012", actor=None)
    assert dispatch_sheet_mark(account=account, shipment_ids=[box.pk], actor=None)
    html = staff.get(reverse("shipping:shipment_detail", args=[box.pk])).content.decode()
    # Shipped: its slip and the tracking-number correction, not the stages it has passed.
    assert f'href="{slips}"' in html
    assert f'href="{reverse("shipping:dispatch_correct", args=[box.pk])}"' in html
    assert reverse("shipping:pack_box", args=[box.pk]) not in html
    assert f"{reverse('shipping:dispatch')}?ids=" not in html
    # The lines that went out still count (they were counted as nothing once shipped).
    assert "<dt>Quantity</dt><dd>2</dd>" in html
    assert 'class="not-live"' not in html


def test_the_order_page_shows_its_boxes_with_status_and_tracking_link(account, staff) -> None:
    from shipping.services_tracking import shipment_set_tracking

    a, b = confirmed(account, name="가", n=2)
    order_url = reverse("orders:order_detail", args=[a.order_id])
    assert "order-shipments" not in staff.get(order_url).content.decode()  # no box yet, no card
    shipments_build(actor=None)
    box = box_of(a)
    html = staff.get(order_url).content.decode()
    assert f'href="{reverse("shipping:shipment_detail", args=[box.pk])}"' in html
    assert "No tracking number yet" in html and a.external_line_id in html and b.external_line_id in html

    shipment_set_tracking(shipment=box, courier=courier("CJGLS"), number="684100000012", actor=None)
    html = staff.get(order_url).content.decode()
    assert "https://trace.cjlogistics.com/next/tracking.html?wblNo=684100000012" in html


def test_enter_in_a_rows_tracking_number_without_javascript_presses_no_bulk_button(account, staff) -> None:
    # A browser submits a form on Enter with its first submit button (here "Combine into one
    # box", which merged the ticked boxes); a disabled first button makes Enter do nothing.
    confirmed(account, name="가")
    shipments_build(actor=None)
    html = staff.get(reverse("shipping:desk")).content.decode()
    bulk_form = html[html.index("data-bulk-form>") :]
    first_button = bulk_form[bulk_form.index("<button") : bulk_form.index(">", bulk_form.index("<button"))]
    assert 'type="submit"' in first_button and " disabled" in first_button
    assert bulk_form.index("data-no-implicit-submit") < bulk_form.index('value="merge"')
