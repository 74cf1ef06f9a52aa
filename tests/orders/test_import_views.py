"""The order-sheet upload pages: upload -> preview -> register or cancel, the bad-rows download,
the list of uploads and the sheet-profile editor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from channels.models import ChannelAccount, Marketplace
from oms.models import User
from oms.roles import Role
from orders.models import ExcelProfile, ImportBatch, Order
from tests.channels.factories import ChannelAccountFactory
from tests.conftest import client_for as _client_for
from tests.conftest import sheet_of
from tests.orders.test_excel import COUPANG_HEADERS, coupang_row, xlsx

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parents[1] / "samples"
SMARTSTORE = SAMPLES / "smartstore_발송처리_sample.xlsx"
COUPANG = SAMPLES / "coupang_DeliveryList_sample.xlsx"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def client_for(user: User) -> Any:
    """A logged-in client that reads the pages in English (the msgids), whatever the Korean
    catalog says."""
    client = _client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def account() -> ChannelAccount:
    return ChannelAccountFactory.create(name="니트샵 스마트스토어", marketplace=Marketplace.SMARTSTORE)


def _file(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


def _post(client: Any, account: ChannelAccount, upload: SimpleUploadedFile, **data: Any) -> Any:
    return client.post(
        reverse("orders:import"),
        {"account": account.pk, "profile": "", "password": "", "file": upload, **data},
    )


def test_upload_page_offers_accounts_profiles_and_the_smartstore_password_note(
    staff_user: User, account: ChannelAccount
) -> None:
    ChannelAccountFactory.create(name="전화주문", marketplace=Marketplace.MANUAL)
    ExcelProfile.objects.create(account=account, name="내 양식", mapping={})
    response = client_for(staff_user).get(reverse("orders:import"), {"account": account.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "니트샵 스마트스토어" in html and "전화주문" not in html  # no sheets for phone orders
    assert f'value="{account.pk}" selected' in html
    for key in ("smartstore", "coupang", "11st", "user:"):
        assert f'value="{key}' in html
    assert "SmartStore order downloads are password-protected" in html
    assert "No order sheets uploaded yet." in html


def test_staff_uploads_the_smartstore_sample_previews_and_registers(
    staff_user: User, account: ChannelAccount
) -> None:
    client = client_for(staff_user)
    response = _post(client, account, _file(SMARTSTORE), password="sample1234")
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "orders:import_detail", args=[batch.pk]
    )
    assert batch.uploaded_by == staff_user

    page = client.get(response["Location"]).content.decode()
    assert 'data-count="orders">12<' in page and 'data-count="lines">21 lines<' in page
    assert 'data-count="new_orders">12<' in page and 'data-count="new_lines">21 lines<' in page
    assert 'data-count="present_orders">0<' in page
    assert "Register 12 valid orders" in page and "data-cancel" in page

    response = client.post(reverse("orders:import_commit", args=[batch.pk]))
    assert response.status_code == 302
    assert Order.objects.filter(import_batch=batch).count() == 12
    page = client.get(response["Location"]).content.decode()
    assert "Order upload result" in page
    assert 'data-count="orders_created">12<' in page
    assert "20261120000300" in page  # the registered orders are listed with links
    assert (
        reverse("orders:order_detail", args=[Order.objects.get(external_order_id="20261120000300").pk])
        in page
    )
    assert "data-register" not in page
    # "Orders from this upload": the order list filtered to this batch's 21 lines
    batch_list_url = f"{reverse('orders:order_list')}?batch={batch.pk}"
    assert batch_list_url in page
    listed = client.get(batch_list_url).content.decode()
    assert "21 lines" in listed and 'data-filter="batch"' in listed and "smartstore_" in listed

    # The same sheet again: everything is already there, registering creates nothing.
    _post(client, account, _file(SMARTSTORE), password="sample1234")
    second = ImportBatch.objects.latest("pk")
    page = client.get(reverse("orders:import_detail", args=[second.pk])).content.decode()
    assert 'data-count="new_orders">0<' in page
    assert 'data-count="present_orders">12<' in page and 'data-count="present_lines">21 lines<' in page
    client.post(reverse("orders:import_commit", args=[second.pk]))
    second.refresh_from_db()
    assert second.counts["result"]["orders_created"] == 0 and Order.objects.count() == 12


@pytest.mark.parametrize(
    ("password", "upload", "says"),
    [
        ("wrong", SMARTSTORE, "password is wrong"),
        ("", SMARTSTORE, "password-protected"),
    ],
)
def test_a_locked_file_is_explained_at_the_password_field_and_nothing_is_kept(
    staff_user: User, account: ChannelAccount, password: str, upload: Path, says: str
) -> None:
    response = _post(client_for(staff_user), account, _file(upload), password=password)
    assert response.status_code == 400
    assert says in " ".join(response.context["form"].errors["password"])
    assert not ImportBatch.objects.exists()


def test_a_file_that_is_not_a_spreadsheet_or_fits_no_profile_is_refused_on_the_form(
    staff_user: User, account: ChannelAccount
) -> None:
    client = client_for(staff_user)
    response = _post(client, account, SimpleUploadedFile("memo.pdf", b"%PDF-1.7 \x00\x01\x02 binary"))
    assert response.status_code == 400 and "not a spreadsheet" in response.content.decode()
    response = _post(client, account, SimpleUploadedFile("x.xlsx", xlsx([["이름"], ["홍길동"]])))
    assert response.status_code == 400 and "fit no order profile" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_an_oversize_upload_is_refused(settings, staff_user: User, account: ChannelAccount) -> None:
    settings.OMS_UPLOAD_MAX_BYTES = 1000
    response = _post(client_for(staff_user), account, _file(COUPANG))
    assert response.status_code == 400 and "MB" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_another_accounts_profile_is_refused(staff_user: User, account: ChannelAccount) -> None:
    other = ChannelAccountFactory.create(marketplace=Marketplace.GMARKET)
    profile = ExcelProfile.objects.create(account=other, name="지마켓", mapping={})
    response = _post(client_for(staff_user), account, _file(COUPANG), profile=f"user:{profile.pk}")
    assert response.status_code == 400 and "belongs to another account" in response.content.decode()


def test_bad_rows_are_listed_with_row_column_and_reason_and_download_as_xlsx(staff_user: User) -> None:
    account = ChannelAccountFactory.create(marketplace=Marketplace.COUPANG)
    rows = [COUPANG_HEADERS, coupang_row(1), coupang_row(2, **{"구매수(수량)": "두개"})]
    client = client_for(staff_user)
    _post(client, account, SimpleUploadedFile("d.xlsx", xlsx(rows, "Delivery")))
    batch = ImportBatch.objects.get()
    page = client.get(reverse("orders:import_detail", args=[batch.pk])).content.decode()
    assert 'data-count="error_rows">1<' in page
    assert '<td class="num">3</td><td>구매수(수량)</td>' in page and "두개" in page
    assert "Register 1 valid order" in page

    sheet = sheet_of(client.get(reverse("orders:import_errors", args=[batch.pk])))
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Row", "Column", "Reason", "Value"]
    assert values[1][0] == 3 and values[1][1] == "구매수(수량)" and values[1][3] == "두개"


def test_cancel_returns_to_the_upload_page_and_nothing_is_registered(
    staff_user: User, account: ChannelAccount
) -> None:
    client = client_for(staff_user)
    _post(client, account, _file(SMARTSTORE), password="sample1234")
    batch = ImportBatch.objects.get()
    response = client.post(reverse("orders:import_cancel", args=[batch.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("orders:import")
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CANCELLED and not Order.objects.exists()
    response = client.post(reverse("orders:import_commit", args=[batch.pk]), follow=True)
    assert "cannot be registered" in response.content.decode()
    assert not Order.objects.exists()


def test_a_big_sheet_shows_a_progress_bar_that_reloads_when_done(
    settings, staff_user: User, account: ChannelAccount
) -> None:
    settings.ORDER_IMPORT_JOB_THRESHOLD = 5
    client = client_for(staff_user)
    _post(client, account, _file(SMARTSTORE), password="sample1234")
    batch = ImportBatch.objects.get()
    client.post(reverse("orders:import_commit", args=[batch.pk]))  # the task waits for a worker
    url = reverse("orders:import_detail", args=[batch.pk])
    page = client.get(url).content.decode()
    assert "data-progress" in page and "Registering" in page and "data-register" not in page
    fragment = client.get(url, {"part": "progress"}, HTTP_HX_REQUEST="true")
    assert "data-progress" in fragment.content.decode() and "<html" not in fragment.content.decode()

    from orders.tasks import order_import_commit_task

    batch.refresh_from_db()
    assert batch.job_id is not None
    order_import_commit_task(batch_id=batch.pk, job_id=batch.job_id)
    done = client.get(url, {"part": "progress"}, HTTP_HX_REQUEST="true")
    assert done.headers.get("HX-Refresh") == "true"
    assert Order.objects.count() == 12


def test_the_upload_list_filters_by_account_and_status(staff_user: User, account: ChannelAccount) -> None:
    other = ChannelAccountFactory.create(name="다른 계정", marketplace=Marketplace.COUPANG)
    ImportBatch.objects.create(account=account, profile_name="A", filename="first.xlsx")
    ImportBatch.objects.create(
        account=other, profile_name="B", filename="second.xlsx", status=ImportBatch.Status.COMMITTED
    )
    client = client_for(staff_user)
    page = client.get(reverse("orders:import_list")).content.decode()
    assert "first.xlsx" in page and "second.xlsx" in page
    page = client.get(reverse("orders:import_list"), {"account": other.pk}).content.decode()
    assert "first.xlsx" not in page and "second.xlsx" in page
    page = client.get(reverse("orders:import_list"), {"status": "preview"}).content.decode()
    assert "first.xlsx" in page and "second.xlsx" not in page


# --- Profiles ----------------------------------------------------------------------------------


def _profile_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "지마켓 주문",
        "sheet_name": "",
        "header_row": "",
        "f_external_order_id": "주문번호",
        "f_external_line_id": "상품주문번호",
        "f_product_name": "상품명",
        "f_quantity": "수량",
        "f_recipient_name": "받는분",
        "f_recipient_phone": "받는분 휴대폰",
        "f_address_full": "주소",
        "f_seller_code": "판매자코드 | 관리코드",
    }
    data.update(overrides)
    return data


def test_a_manager_defines_a_profile_and_an_upload_reads_the_sheet_with_it(
    manager_user: User, staff_user: User
) -> None:
    gmarket = ChannelAccountFactory.create(name="지마켓 상점", marketplace=Marketplace.GMARKET)
    client = client_for(manager_user)
    url = reverse("orders:import_profile_create")
    assert "지마켓 상점" in client.get(url).content.decode()  # first the account
    form_page = client.get(url, {"account": gmarket.pk}).content.decode()
    assert 'name="f_external_order_id"' in form_page and 'placeholder="e.g. 주문번호"' in form_page

    response = client.post(f"{url}?account={gmarket.pk}", _profile_data())
    assert response.status_code == 302
    profile = ExcelProfile.objects.get()
    assert profile.account == gmarket and profile.header_row == 0
    assert profile.mapping["seller_code"] == "판매자코드 | 관리코드"
    assert "f_address1" not in profile.mapping and "address1" not in profile.mapping

    rows: list[list[Any]] = [
        ["주문번호", "상품주문번호", "상품명", "수량", "받는분", "받는분 휴대폰", "주소", "관리코드"],
        ["G1", "G1-1", "머그컵", 2, "김철수", "010-2222-3333", "서울 강남구 테헤란로 1", "MUG-WH"],
    ]
    staff = client_for(staff_user)
    _post(staff, gmarket, SimpleUploadedFile("g.xlsx", xlsx(rows)), profile=f"user:{profile.pk}")
    batch = ImportBatch.objects.get()
    assert batch.profile_name == "지마켓 주문" and batch.counts["orders"] == 1

    listing = client.get(reverse("orders:import_profiles")).content.decode()
    assert "지마켓 주문" in listing

    edit = reverse("orders:import_profile_edit", args=[profile.pk])
    assert 'value="판매자코드 | 관리코드"' in client.get(edit).content.decode()
    client.post(edit, _profile_data(name="지마켓 v2", header_row="3"))
    profile.refresh_from_db()
    assert (profile.name, profile.header_row) == ("지마켓 v2", 3)

    client.post(reverse("orders:import_profile_delete", args=[profile.pk]))
    assert not ExcelProfile.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"f_quantity": ""}, "f_quantity", "Required"),
        ({"f_address_full": ""}, "f_address_full", "Map the address"),
        ({"f_buyer_name": "받는분"}, "f_recipient_name", "already given"),
        ({"name": "coupang"}, "name", "built-in"),
    ],
)
def test_a_profile_without_the_required_fields_is_refused(
    manager_user: User, overrides: dict[str, str], field: str, says: str
) -> None:
    gmarket = ChannelAccountFactory.create(marketplace=Marketplace.GMARKET)
    url = f"{reverse('orders:import_profile_create')}?account={gmarket.pk}"
    response = client_for(manager_user).post(url, _profile_data(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and says in " ".join(errors[field])
    assert not ExcelProfile.objects.exists()


def test_profile_names_are_unique_per_account(manager_user: User) -> None:
    gmarket = ChannelAccountFactory.create(marketplace=Marketplace.GMARKET)
    ExcelProfile.objects.create(account=gmarket, name="지마켓 주문", mapping={})
    url = f"{reverse('orders:import_profile_create')}?account={gmarket.pk}"
    response = client_for(manager_user).post(url, _profile_data())
    assert response.status_code == 400 and "already has a profile" in response.content.decode()


def test_staff_see_profiles_but_cannot_edit_them(make_user: Any) -> None:
    staff = make_user(Role.STAFF)
    gmarket = ChannelAccountFactory.create(marketplace=Marketplace.GMARKET)
    profile = ExcelProfile.objects.create(account=gmarket, name="지마켓 주문", mapping={})
    client = client_for(staff)
    page = client.get(reverse("orders:import_profiles")).content.decode()
    assert "지마켓 주문" in page
    assert reverse("orders:import_profile_edit", args=[profile.pk]) not in page
    assert reverse("orders:import_profile_create") not in page
    assert client.get(reverse("orders:import_profile_edit", args=[profile.pk])).status_code == 403
