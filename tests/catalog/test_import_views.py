"""The upload pages as a seller meets them: errors on the form, the preview, apply, cancel."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import xlsxwriter
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from catalog.models import Product, Sku
from oms.models import ImportSession, User
from tests.conftest import client_for as _client_for

pytestmark = pytest.mark.django_db

HEADERS = ["상품코드", "상품명", "SKU코드", "판매가"]


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    """Messages are asserted in English (the msgids), whatever the Korean catalog says."""
    with translation.override("en"):
        yield


def xlsx(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = book.add_worksheet()
    ws.write_row(0, 0, headers)
    for r, row in enumerate(rows, start=1):
        ws.write_row(r, 0, row)
    book.close()
    return buf.getvalue()


def client_for(user: User) -> Any:
    """A signed-in client that chose English in the language switcher."""
    client = _client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def post_file(client: Any, data: bytes, name: str = "p.xlsx", **extra: str) -> Any:
    return client.post(reverse("catalog:product_import"), {"file": SimpleUploadedFile(name, data), **extra})


def test_an_unreadable_file_is_explained_on_the_form_and_nothing_is_kept(manager_user: User) -> None:
    client = client_for(manager_user)
    response = post_file(client, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "photo.xlsx")
    assert response.status_code == 400
    assert "not a spreadsheet" in response.content.decode()
    response = post_file(client, xlsx([["A", "가방"]], ["상품코드", "상품명"]))
    assert response.status_code == 400
    assert "Required columns are missing: SKU코드" in response.content.decode()
    assert not ImportSession.objects.exists()


def test_upload_preview_apply_through_the_pages(manager_user: User) -> None:
    client = client_for(manager_user)
    response = post_file(client, xlsx([["BAG", "에코백", "BAG-1", 15000], ["BAG", "에코백", "BAG-2", "x"]]))
    session = ImportSession.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "catalog:product_import_detail", args=[session.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert "BAG-2" in page and "판매가" in page and "data-import-commit" not in page
    assert client.post(reverse("catalog:product_import_commit", args=[session.pk])).status_code == 302
    assert not Product.objects.exists()

    response = post_file(client, xlsx([["BAG", "에코백", "BAG-1", 15000], ["BAG", "에코백", "BAG-2", 15000]]))
    fixed = ImportSession.objects.latest("pk")
    page = client.get(response["Location"]).content.decode()
    assert "data-import-commit" in page
    response = client.post(reverse("catalog:product_import_commit", args=[fixed.pk]), follow=True)
    assert response.status_code == 200
    assert Sku.objects.filter(product__code="BAG").count() == 2
    assert "import-done" in response.content.decode()


def test_cancel_drops_the_file(manager_user: User) -> None:
    client = client_for(manager_user)
    post_file(client, xlsx([["BAG", "에코백", "BAG-1", 15000]]))
    session = ImportSession.objects.get()
    path = session.file.path
    response = client.post(reverse("catalog:product_import_cancel", args=[session.pk]))
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == ImportSession.Status.CANCELLED and not session.file
    import os

    assert not os.path.exists(path)
    client.post(reverse("catalog:product_import_commit", args=[session.pk]))
    assert not Product.objects.exists()


def test_others_uploads_are_hidden_and_staff_cannot_upload(
    manager_user: User, staff_user: User, make_user: Any
) -> None:
    from oms.roles import Role

    post_file(client_for(manager_user), xlsx([["BAG", "에코백", "BAG-1", 15000]]))
    session = ImportSession.objects.get()
    other = make_user(Role.MANAGER)
    assert (
        client_for(other).get(reverse("catalog:product_import_detail", args=[session.pk])).status_code == 404
    )
    assert (
        client_for(make_user(Role.ADMIN))
        .get(reverse("catalog:product_import_detail", args=[session.pk]))
        .status_code
        == 200
    )
    staff = client_for(staff_user)
    assert post_file(staff, xlsx([["X", "x", "X-1", 1]])).status_code == 403
    assert staff.get(reverse("catalog:product_import_export")).status_code == 200
    assert ImportSession.objects.count() == 1


def test_a_password_protected_sheet_asks_for_its_password(manager_user: User) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(xlsx([["BAG", "에코백", "BAG-1", 15000]]))).encrypt("pw-1234", out)
    client = client_for(manager_user)
    asked = post_file(client, out.getvalue())
    assert asked.status_code == 400 and "password-protected" in asked.content.decode()
    wrong = post_file(client, out.getvalue(), password="nope")
    assert wrong.status_code == 400 and "password is wrong" in wrong.content.decode()
    response = post_file(client, out.getvalue(), password="pw-1234")
    assert response.status_code == 302
    client.post(reverse("catalog:product_import_commit", args=[ImportSession.objects.get().pk]))
    assert Sku.objects.get().code == "BAG-1"
