"""The stock Excel upload (엑셀 재고 업로드): template and count-sheet downloads, upload ->
preview -> apply, on the pages shared with the product upload (catalog.views_import)."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse, HttpResponseBase
from django.views.decorators.http import require_GET, require_POST

from catalog.views_import import (
    ImportPage,
    cancel_action,
    commit_action,
    detail_page,
    errors_download,
    upload_page,
)
from inventory import excel
from inventory.models import Location
from oms.http import AuthedHttpRequest
from oms.models import ImportSession

IMPORT_PERM = "inventory.change_stocklevel"

STOCK = ImportPage(
    kind=ImportSession.Kind.STOCK,
    namespace="inventory",
    prefix="stock_import",
    nav_section="inventory",
    template_dir="inventory",
    list_url_name="inventory:stock_list",
    key_headers=("SKU코드", "위치"),
)


@require_GET
@permission_required("inventory.view_stocklevel", raise_exception=True)
def stock_import_template_view(request: AuthedHttpRequest) -> HttpResponseBase:
    return excel.template_response(locations=excel.active_locations())


@require_GET
@permission_required("inventory.view_stocklevel", raise_exception=True)
def stock_import_export_view(request: AuthedHttpRequest) -> HttpResponseBase:
    location_id = request.GET.get("location", "")
    location = Location.objects.filter(pk=int(location_id)).first() if location_id.isdigit() else None
    suffix = f"_{location.code}" if location else ""
    return excel.count_sheet_response(
        excel.stock_levels(location_id=location.pk if location else None),
        filename=f"stock_count{suffix}.xlsx",
    )


@permission_required(IMPORT_PERM, raise_exception=True)
def stock_import_view(request: AuthedHttpRequest) -> HttpResponse:
    return upload_page(request, STOCK, {"locations": excel.active_locations(), "guide": excel.guide_lines()})


@require_GET
@permission_required(IMPORT_PERM, raise_exception=True)
def stock_import_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return detail_page(request, STOCK, pk)


@require_POST
@permission_required(IMPORT_PERM, raise_exception=True)
def stock_import_commit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return commit_action(request, STOCK, pk)


@require_POST
@permission_required(IMPORT_PERM, raise_exception=True)
def stock_import_cancel_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return cancel_action(request, STOCK, pk)


@require_GET
@permission_required(IMPORT_PERM, raise_exception=True)
def stock_import_errors_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    return errors_download(request, STOCK, pk)
