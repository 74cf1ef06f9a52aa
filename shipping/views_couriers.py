"""The courier table (everyone reads it, administrators change it) and the courier order sheet
download. Views are thin: a form, one service call, a page or a file."""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from channels.models import Marketplace
from oms.http import AuthedHttpRequest
from shipping.couriers import CourierError, courier_create, courier_make_default, courier_update
from shipping.excel_courier import LAYOUTS, CompanyDetailsMissing, Sender, courier_sheet_rows
from shipping.forms_couriers import CourierForm, CourierSheetForm
from shipping.models import Courier
from shipping.services_sheet import (
    SheetFilters,
    courier_sheet_export,
    courier_sheet_queryset,
    courier_sheet_select,
)

PREVIEW_ROWS = 20

# --- Couriers ------------------------------------------------------------------------------------


@require_GET
@permission_required("shipping.view_courier", raise_exception=True)
def courier_list_view(request: AuthedHttpRequest) -> HttpResponse:
    couriers = list(Courier.objects.order_by("-is_active", "sort_order", "name"))
    labels = dict(Marketplace.choices)
    for courier in couriers:
        courier.codes_display = [  # type: ignore[attr-defined]
            (labels.get(market, market), code) for market, code in sorted(courier.marketplace_codes.items())
        ]
    return render(
        request,
        "shipping/courier_list.html",
        {"couriers": couriers, "can_change": request.user.has_perm("shipping.change_courier")},
    )


def _courier_form_page(
    request: AuthedHttpRequest, form: CourierForm, courier: Courier | None, *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "shipping/courier_form.html",
        {"form": form, "courier": courier, "creating": courier is None},
        status=status,
    )


@permission_required("shipping.add_courier", raise_exception=True)
def courier_create_view(request: AuthedHttpRequest) -> HttpResponse:
    form = CourierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            courier = courier_create(values=form.values(), actor=request.user)
        except CourierError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Courier %(name)s added.") % {"name": courier.name})
            return redirect("shipping:courier_list")
    return _courier_form_page(request, form, None, status=400 if request.method == "POST" else 200)


@permission_required("shipping.change_courier", raise_exception=True)
def courier_edit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    courier = get_object_or_404(Courier, pk=pk)
    form = CourierForm(request.POST or None, instance=Courier.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            courier = courier_update(courier=courier, values=form.values(), actor=request.user)
        except CourierError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Courier %(name)s saved.") % {"name": courier.name})
            return redirect("shipping:courier_list")
    return _courier_form_page(request, form, courier, status=400 if request.method == "POST" else 200)


@require_POST
@permission_required("shipping.change_courier", raise_exception=True)
def courier_default_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    courier = get_object_or_404(Courier, pk=pk)
    try:
        courier = courier_make_default(courier=courier, actor=request.user)
    except CourierError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(name)s is now the default courier.") % {"name": courier.name})
    return redirect("shipping:courier_list")


# --- Courier order sheet -------------------------------------------------------------------------

# A first visit (or the desk sending its selected boxes) gets these; a submitted form says
# everything itself (an unticked box is absent from it).
_SHEET_DEFAULTS = {"layout": "generic", "without_tracking": "on", "mark_printed": "on"}


def _sheet_data(source: QueryDict) -> QueryDict:
    data = source.copy()
    ids = [part for value in source.getlist("ids") for part in value.split(",") if part.strip()]
    if ids:
        data.setlist("ids", [",".join(p.strip() for p in ids)])
    if "layout" not in source:
        for key, value in _SHEET_DEFAULTS.items():
            data.setdefault(key, value)
    return data


def _filters(form: CourierSheetForm) -> SheetFilters:
    data = form.cleaned_data
    return SheetFilters(
        courier=data["courier"],
        account=data["account"],
        statuses=(data["status"],) if data["status"] else (),
        without_tracking=data["without_tracking"],
        ids=tuple(data["ids"]),
    )


def _sheet_page(
    request: AuthedHttpRequest, form: CourierSheetForm, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "layouts": LAYOUTS, **extra}
    try:
        context["sender"] = Sender.from_company()
    except CompanyDetailsMissing as exc:
        context["sender_error"] = str(exc)
    if form.is_valid():
        queryset = courier_sheet_queryset(filters=_filters(form))
        ids = list(queryset.values_list("pk", flat=True))
        context["count"] = len(ids)
        # Sent to the courier before: a second registration would book the box twice.
        context["already_printed"] = queryset.filter(printed_at__isnull=False).count() if ids else 0
        context["preview"] = list(courier_sheet_rows(ids[:PREVIEW_ROWS]))
        context["picked_ids"] = form.cleaned_data["ids"]
        context["count_negative"] = -len(ids)
    context["can_mark"] = request.user.has_perm("shipping.change_shipment")
    return render(request, "shipping/courier_sheet.html", context, status=status)


@permission_required("shipping.view_shipment", raise_exception=True)
def courier_sheet_view(request: AuthedHttpRequest) -> HttpResponseBase:
    """GET: choose the shipments and the layout, see how many and the first rows. POST with
    action=export: download the sheet (and mark the boxes printed). A POST without it is the
    desk handing over its selected boxes (ids): the same page, those boxes chosen."""
    if request.method != "POST":
        return _sheet_page(request, CourierSheetForm(_sheet_data(request.GET)))
    form = CourierSheetForm(_sheet_data(request.POST))
    if request.POST.get("action") != "export":
        return _sheet_page(request, form)
    if not form.is_valid():
        return _sheet_page(request, form, status=400)
    mark = form.cleaned_data["mark_printed"]
    if mark and not request.user.has_perm("shipping.change_shipment"):
        mark = False
    ids = courier_sheet_select(filters=_filters(form))
    if not ids:
        messages.warning(request, _("No shipments match; nothing was exported."))
        return _sheet_page(request, form)
    layout = form.cleaned_data["layout"]
    tmp = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    try:
        result = courier_sheet_export(
            fileobj=tmp, shipment_ids=ids, layout=layout, mark_printed=mark, actor=request.user
        )
    except CompanyDetailsMissing:
        tmp.close()
        return _sheet_page(request, form, status=400)
    tmp.seek(0)
    if result.marked_printed:
        messages.success(
            request,
            _("%(count)d shipments exported; %(marked)d marked as invoice printed.")
            % {"count": result.count, "marked": result.marked_printed},
        )
    stamp = timezone.localtime().strftime("%Y%m%d_%H%M")
    return FileResponse(
        tmp,
        as_attachment=True,
        filename=f"courier_sheet_{layout}_{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
