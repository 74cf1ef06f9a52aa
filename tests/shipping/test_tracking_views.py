"""Tracking numbers on the screens: typed in a desk row (htmx swaps the cell, the error in Korean
right there; without JavaScript a plain post that comes back), and the upload pages."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from channels.models import ChannelAccount
from oms.models import ImportSession, User
from shipping.models import Shipment, ShipmentStatus
from shipping.services_tracking import shipment_set_tracking
from tests.channels.factories import ChannelAccountFactory
from tests.conftest import client_for, sheet_of
from tests.shipping.factories import ShipmentFactory, courier, ready_shipment

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def account() -> ChannelAccount:
    return ChannelAccountFactory.create()


def post_cell(
    user: User, box: Shipment, number: str, courier_code: str = "CJGLS", client: Any = None, **extra: Any
) -> Any:
    data = {f"t{box.pk}-courier": courier(courier_code).pk, f"t{box.pk}-number": number, "next": "/shipping/"}
    client = client or client_for(user)
    return client.post(reverse("shipping:shipment_tracking", args=[box.pk]), data, **extra)


def test_htmx_save_returns_the_cell_with_the_number(account: ChannelAccount, staff_user: User) -> None:
    box = ready_shipment(account)
    response = post_cell(staff_user, box, "6012-3456-7890", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-tracking-saved" in html and 'value="601234567890"' in html and "저장됨" in html
    box.refresh_from_db()
    assert box.tracking_number == "601234567890"


def test_htmx_error_is_shown_in_korean_in_the_cell_and_keeps_what_was_typed(
    account: ChannelAccount, staff_user: User
) -> None:
    box = ready_shipment(account)
    response = post_cell(staff_user, box, "12345", courier_code="EPOST", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html and "자리" in html and 'value="12345"' in html
    assert "data-tracking-saved" not in html
    box.refresh_from_db()
    assert box.tracking_number == ""


def test_without_javascript_the_post_comes_back_with_a_message(
    account: ChannelAccount, staff_user: User
) -> None:
    box = ready_shipment(account)
    client = client_for(staff_user)
    response = post_cell(staff_user, box, "601234567890", courier_code="HANJIN", client=client)
    assert response.status_code == 302 and response["Location"] == "/shipping/"
    page = client.get(response["Location"]).content.decode()
    assert f"{box.number}: 한진택배 601234567890 저장했습니다." in page
    box.refresh_from_db()
    assert box.courier is not None and box.courier.code == "HANJIN"


def test_without_javascript_an_error_comes_back_as_a_message(
    account: ChannelAccount, staff_user: User
) -> None:
    box = ready_shipment(account)
    client = client_for(staff_user)
    response = post_cell(staff_user, box, "abc", client=client)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert f"{box.number}: 송장번호는 숫자만 입력할 수 있습니다 (abc)." in page


def test_an_offsite_next_is_ignored(account: ChannelAccount, staff_user: User) -> None:
    box = ready_shipment(account)
    data = {f"t{box.pk}-number": "601234567890", "next": "https://evil.example/"}
    response = client_for(staff_user).post(reverse("shipping:shipment_tracking", args=[box.pk]), data)
    assert response["Location"] == reverse("shipping:desk")


def test_an_empty_number_removes_it(account: ChannelAccount, staff_user: User) -> None:
    box = ready_shipment(account)
    shipment_set_tracking(shipment=box, courier=courier(), number="601234567890", actor=None)
    response = post_cell(staff_user, box, "", **HTMX)
    assert "송장번호를 지웠습니다" in response.content.decode()
    box.refresh_from_db()
    assert box.tracking_number == ""


def test_the_desk_row_has_the_editor_inside_the_bulk_form(account: ChannelAccount, staff_user: User) -> None:
    box = ready_shipment(account)
    html = client_for(staff_user).get(reverse("shipping:desk")).content.decode()
    cell = html[html.index(f'id="tracking-cell-{box.pk}"') :]
    cell = cell[: cell.index("</td>")]
    assert f'name="t{box.pk}-number"' in cell and "<form" not in cell  # a nested form would end the bulk form
    assert html.count("js/tracking.js") == 1
    assert "selected>CJ대한통운" in cell  # the default courier to start with


def test_a_shipped_box_shows_its_number_read_only(account: ChannelAccount, staff_user: User) -> None:
    box = ShipmentFactory.create(courier=courier(), tracking_number="601234567890")
    Shipment.objects.filter(pk=box.pk).update(status=ShipmentStatus.SHIPPED)
    html = client_for(staff_user).get(reverse("shipping:desk")).content.decode()
    cell = html[html.index(f'id="tracking-cell-{box.pk}"') :]
    cell = cell[: cell.index("</td>")]
    assert "601234567890" in cell and "<input" not in cell


def test_the_template_lists_open_boxes_without_a_number(account: ChannelAccount, staff_user: User) -> None:
    waiting = ready_shipment(account)
    done = ready_shipment(account)
    shipment_set_tracking(shipment=done, courier=courier(), number="601234567890", actor=None)
    sheet = sheet_of(client_for(staff_user).get(reverse("shipping:tracking_import_template")))
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == ["출고번호", "수취인", "주문번호", "택배사", "송장번호"]
    assert [r[0] for r in rows[1:]] == [waiting.number]
    assert rows[1][1] == waiting.recipient_name and rows[1][2]


def test_the_filled_template_uploads_and_applies(account: ChannelAccount, staff_user: User) -> None:
    box = ready_shipment(account)
    response = client_for(staff_user).get(reverse("shipping:tracking_import_template"))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    ws = book.worksheets[0]
    ws.cell(2, 5, "601234567890")
    out = io.BytesIO()
    book.save(out)
    client = client_for(staff_user)
    upload = client.post(
        reverse("shipping:tracking_import"), {"file": SimpleUploadedFile("t.xlsx", out.getvalue())}
    )
    assert upload.status_code == 302
    session = ImportSession.objects.get()
    detail = client.get(upload["Location"]).content.decode()
    assert "송장번호" in detail and box.number in detail
    applied = client.post(reverse("shipping:tracking_import_commit", args=[session.pk]))
    assert applied.status_code == 302
    box.refresh_from_db()
    assert box.tracking_number == "601234567890"


def test_an_unreadable_upload_shows_the_reason_on_the_form(staff_user: User) -> None:
    data = io.BytesIO()
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["수취인", "송장번호"])
    ws.append(["홍길동", "601234567890"])
    book.save(data)
    response = client_for(staff_user).post(
        reverse("shipping:tracking_import"), {"file": SimpleUploadedFile("t.xlsx", data.getvalue())}
    )
    assert response.status_code == 400
    assert "출고번호" in response.content.decode()
    assert not ImportSession.objects.exists()


def test_bad_rows_download_names_row_column_reason(account: ChannelAccount, staff_user: User) -> None:
    data = io.BytesIO()
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["출고번호", "택배사", "송장번호"])
    ws.append(["S99999999", "", "601234567890"])
    book.save(data)
    client = client_for(staff_user)
    client.post(reverse("shipping:tracking_import"), {"file": SimpleUploadedFile("t.xlsx", data.getvalue())})
    session = ImportSession.objects.get()
    assert session.status == ImportSession.Status.INVALID
    page = client.get(reverse("shipping:tracking_import_detail", args=[session.pk])).content.decode()
    assert "S99999999" in page and "출고" in page
    sheet = sheet_of(client.get(reverse("shipping:tracking_import_errors", args=[session.pk])))
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == 2 and rows[1][1] == "출고번호" and "S99999999" in str(rows[1][2])


def test_the_upload_page_offers_both_downloads(staff_user: User) -> None:
    html = client_for(staff_user).get(reverse("shipping:tracking_import")).content.decode()
    assert reverse("shipping:tracking_import_template") in html
    assert reverse("shipping:tracking_import_export") in html
    assert "쿠팡" in html or "Coupang" in html


def test_the_detail_page_cell_posts_to_its_own_url(account: ChannelAccount, staff_user: User) -> None:
    box = ready_shipment(account)
    client = client_for(staff_user)
    html = client.get(reverse("shipping:shipment_detail", args=[box.pk])).content.decode()
    cell = html[html.index(f'id="tracking-cell-{box.pk}"') :]
    cell = cell[: cell.index("</dd>")]
    assert f'formaction="{reverse("shipping:shipment_tracking", args=[box.pk])}"' in cell


def test_a_standalone_cell_brings_its_own_form_and_keeps_it_after_a_save(
    account: ChannelAccount, staff_user: User
) -> None:
    box = ready_shipment(account)
    data = {f"t{box.pk}-number": "601234567890", f"t{box.pk}-standalone": "1"}
    url = reverse("shipping:shipment_tracking", args=[box.pk])
    swapped = client_for(staff_user).post(url, data, **HTMX).content.decode()
    assert f'<form method="post" action="{url}"' in swapped and 'value="601234567890"' in swapped


def test_a_channel_sheet_without_numbers_says_what_to_fill_in(staff_user: User) -> None:
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "samples" / "smartstore_발송처리_sample.xlsx"
    client = client_for(staff_user)
    upload = SimpleUploadedFile("발송처리.xlsx", sample.read_bytes())
    response = client.post(reverse("shipping:tracking_import"), {"file": upload, "password": "sample1234"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "스마트스토어 일괄 발송처리 시트" in page
    assert "송장번호가 적힌 행이 없습니다" in page and "disabled" in page


def test_an_error_row_shows_the_boxs_recipient(account: ChannelAccount, staff_user: User) -> None:
    box = ready_shipment(account)
    data = io.BytesIO()
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["출고번호", "송장번호"])
    ws.append([box.number, "12"])
    book.save(data)
    client = client_for(staff_user)
    response = client.post(
        reverse("shipping:tracking_import"), {"file": SimpleUploadedFile("t.xlsx", data.getvalue())}
    )
    page = client.get(response["Location"]).content.decode()
    assert box.recipient_name in page and "2자리" in page
