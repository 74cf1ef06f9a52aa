"""Tracking numbers: typed in place on a desk row, or uploaded from a sheet (upload -> preview ->
apply, on the import pages shared with the product and stock uploads)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from catalog.views_import import (
    ImportPage,
    cancel_action,
    commit_action,
    detail_page,
    errors_download,
    sessions_for,
)
from oms.http import AuthedHttpRequest
from oms.models import ImportSession
from oms.sheets import SheetError, SheetUploadForm
from shipping import excel_tracking
from shipping.forms_tracking import TrackingCellForm
from shipping.models import Shipment
from shipping.services_tracking import TrackingError, shipment_clear_tracking, shipment_set_tracking
from shipping.services_tracking_import import tracking_import_start

CHANGE_PERM = "shipping.change_shipment"
VIEW_PERM = "shipping.view_shipment"

TRACKING = ImportPage(
    kind=ImportSession.Kind.TRACKING,
    namespace="shipping",
    prefix="tracking_import",
    nav_section="shipping",
    template_dir="shipping/tracking_import",
    list_url_name="shipping:desk",
    key_headers=("출고번호", "송장번호"),
)


def _back(request: AuthedHttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("shipping:desk")


@require_POST
@permission_required(CHANGE_PERM, raise_exception=True)
def shipment_tracking_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    """Save one box's courier and number (empty number: take it off). htmx gets the cell back,
    with the error in it; a plain form post goes back where it came from."""
    shipment = get_object_or_404(Shipment.objects.select_related("courier"), pk=pk)
    form = TrackingCellForm(request.POST, shipment=shipment)
    error = ""
    message = short = ""
    if not form.is_valid():
        error = " ".join(str(m) for messages_ in form.errors.values() for m in messages_)
    else:
        number = form.cleaned_data["number"].strip()
        try:
            if number:
                shipment = shipment_set_tracking(
                    shipment=shipment, courier=form.cleaned_data["courier"], number=number, actor=request.user
                )
                short = _("Saved")
                message = _("%(shipment)s: %(courier)s %(number)s saved.") % {
                    "shipment": shipment.number,
                    "courier": shipment.courier.name if shipment.courier else "",
                    "number": shipment.tracking_number,
                }
            elif shipment.tracking_number:
                shipment = shipment_clear_tracking(shipment=shipment, actor=request.user)
                short = _("Tracking number removed")
                message = _("%(shipment)s: tracking number removed.") % {"shipment": shipment.number}
        except TrackingError as exc:
            error = str(exc)
    if request.htmx:
        context = {
            "shipment": shipment,
            "tracking_error": error,
            "tracking_saved": not error,
            "tracking_message": short,
            "tracking_number": form.data.get(f"{form.prefix}-number", "") if error else "",
            "tracking_next": request.POST.get("next", ""),
            "tracking_standalone": bool(request.POST.get(f"{form.prefix}-standalone")),
        }
        return render(request, "shipping/tracking_cell.html", context)
    if error:
        messages.error(request, f"{shipment.number}: {error}")
    elif message:
        messages.success(request, message)
    return redirect(_back(request))


# --- Sheet upload -------------------------------------------------------------------------------


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def tracking_import_template_view(request: AuthedHttpRequest) -> HttpResponseBase:
    return excel_tracking.template_response()


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def tracking_import_export_view(request: AuthedHttpRequest) -> HttpResponseBase:
    return excel_tracking.open_boxes_response()


@permission_required(CHANGE_PERM, raise_exception=True)
def tracking_import_view(request: AuthedHttpRequest) -> HttpResponse:
    request.nav_section = "shipping"  # type: ignore[attr-defined]
    form = SheetUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            session = tracking_import_start(
                owner=request.user,
                upload=form.cleaned_data["file"],
                password=form.cleaned_data["password"] or "",
            )
        except SheetError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect(TRACKING.url("detail", session.pk))
    context = {
        "form": form,
        "recent": sessions_for(request.user, TRACKING.kind).order_by("-pk")[:10],
        "page": TRACKING,
        "urls": {
            "upload": TRACKING.url(""),
            "template": TRACKING.url("template"),
            "export": TRACKING.url("export"),
        },
        "guide": excel_tracking.guide_lines(),
        "waiting": Shipment.objects.filter(
            tracking_number="", status__in=("ready", "printed", "packed")
        ).count(),
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "shipping/tracking_import/import_upload.html", context, status=status)


@require_GET
@permission_required(CHANGE_PERM, raise_exception=True)
def tracking_import_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return detail_page(request, TRACKING, pk)


@require_POST
@permission_required(CHANGE_PERM, raise_exception=True)
def tracking_import_commit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return commit_action(request, TRACKING, pk)


@require_POST
@permission_required(CHANGE_PERM, raise_exception=True)
def tracking_import_cancel_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return cancel_action(request, TRACKING, pk)


@require_GET
@permission_required(CHANGE_PERM, raise_exception=True)
def tracking_import_errors_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    return errors_download(request, TRACKING, pk)
