"""The warehouse floor: pick list (screen and A4 print), packing slips (A4 print) and the packing
table (검수). Views are thin: a form, one service or selector call, a page or a fragment."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from oms.http import AuthedHttpRequest
from oms.models import Company
from shipping.forms_pack import BoxFilterForm, PackScanForm
from shipping.models import Shipment
from shipping.selectors_pick import (
    BoxFilters,
    pack_figures,
    parse_shipment_ids,
    pick_list,
    pick_shipments,
    slip_list,
)
from shipping.services_pack import (
    PackOutcome,
    PackRefused,
    pack_box_problem,
    pack_handle,
    pack_reset,
    pack_state,
)

SLIPS_PER_PRINT = 500  # slips in one print run; the page links to the next run
LONG_QUERY = 1800  # past this, print buttons post the selection rather than put it in the URL


def _box_filters(request: AuthedHttpRequest) -> tuple[BoxFilterForm, BoxFilters, QueryDict]:
    """The boxes asked for: ?ids=1,2,3 (or repeated ids, or 출고번호s) from the desk, else the
    account / courier / status filters. GET and POST alike (the desk posts long selections)."""
    data = request.POST if request.method == "POST" else request.GET
    form = BoxFilterForm(data)
    ids = tuple(parse_shipment_ids(data.getlist("ids")))
    if form.is_valid():
        account, courier = form.cleaned_data["account"], form.cleaned_data["courier"]
        filters = BoxFilters(
            ids=ids,
            account_id=account.pk if account else None,
            courier_id=courier.pk if courier else None,
            status=form.cleaned_data["status"],
        )
    else:
        filters = BoxFilters(ids=ids)
    query = QueryDict(mutable=True)
    if ids:
        query["ids"] = ",".join(str(pk) for pk in ids)
    for name, value in (
        ("account", filters.account_id),
        ("courier", filters.courier_id),
        ("status", filters.status),
    ):
        if value:
            query[name] = str(value)
    return form, filters, query


def _selection_context(request: AuthedHttpRequest) -> dict[str, object]:
    form, filters, query = _box_filters(request)
    shipments = pick_shipments(filters=filters)
    ids = list(shipments.values_list("pk", flat=True))
    querystring = query.urlencode()
    return {
        "form": form,
        "filters": filters,
        "ids": ids,
        "skipped": max(0, len(filters.ids) - len(ids)) if filters.chosen else 0,
        "query": query,
        "querystring": querystring,
        "post_selection": len(querystring) > LONG_QUERY,
    }


@require_http_methods(["GET", "POST"])
@permission_required("shipping.view_shipment", raise_exception=True)
def picking_view(request: AuthedHttpRequest) -> HttpResponse:
    """The pick list on screen: filters, figures, the table, and the print buttons."""
    context = _selection_context(request)
    context["pick"] = pick_list(shipment_ids=context["ids"])  # type: ignore[arg-type]
    return render(request, "shipping/pick_list.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("shipping.view_shipment", raise_exception=True)
def picking_print_view(request: AuthedHttpRequest) -> HttpResponse:
    """The same pick list as a standalone A4 page."""
    context = _selection_context(request)
    context["pick"] = pick_list(shipment_ids=context["ids"])  # type: ignore[arg-type]
    context["company"] = Company.objects.filter(pk=1).first()
    context["printed_at"] = timezone.localtime()
    return render(request, "shipping/pick_print.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("shipping.view_shipment", raise_exception=True)
def slips_view(request: AuthedHttpRequest) -> HttpResponse:
    """Packing slips, one A4 page per box, for the chosen or filtered boxes (in runs of 500)."""
    context = _selection_context(request)
    ids: list[int] = context["ids"]  # type: ignore[assignment]
    data = request.POST if request.method == "POST" else request.GET
    after = int(data["after"]) if data.get("after", "").isdigit() else 0
    run = [pk for pk in ids if pk > after][:SLIPS_PER_PRINT]
    shipments = list(Shipment.objects.filter(pk__in=run).select_related("courier", "account").order_by("pk"))
    remaining = len([pk for pk in ids if pk > (run[-1] if run else after)])
    next_query = ""
    if remaining:
        query: QueryDict = context["query"].copy()  # type: ignore[attr-defined]
        query["after"] = str(run[-1])
        next_query = query.urlencode()
    context.update(
        slips=slip_list(shipments=shipments),
        company=Company.objects.filter(pk=1).first(),
        printed_at=timezone.localtime(),
        total=len(ids),
        first_index=len(ids) - remaining - len(run) + 1,
        last_index=len(ids) - remaining,
        remaining=remaining,
        next_query=next_query,
    )
    return render(request, "shipping/slip_print.html", context)


# --- 검수 ---------------------------------------------------------------------------------------


def _pack_page(request: AuthedHttpRequest, shipment: Shipment | None) -> HttpResponse:
    state = pack_state(shipment=shipment) if shipment else None
    problem = pack_box_problem(state=state) if state else ""
    return render(
        request,
        "shipping/pack.html",
        {"state": state, "problem": problem, "figures": pack_figures()},
    )


@require_http_methods(["GET"])
@permission_required("shipping.view_shipment", raise_exception=True)
def pack_view(request: AuthedHttpRequest) -> HttpResponse:
    """The packing table, no box open: scan a 출고번호 or a tracking number."""
    return _pack_page(request, None)


@require_http_methods(["GET"])
@permission_required("shipping.view_shipment", raise_exception=True)
def pack_box_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The packing table with one box open (its URL keeps the box across scans without JS)."""
    return _pack_page(request, get_object_or_404(Shipment, pk=pk))


@require_POST
@permission_required("shipping.change_shipment", raise_exception=True)
def pack_scan_view(request: AuthedHttpRequest) -> HttpResponseBase:
    """One scan: opens a box, or counts an item into the open one. htmx gets the panel back;
    a plain form post is redirected to the box's page with the result as a message."""
    form = PackScanForm(request.POST)
    box_id = None
    if form.is_valid():
        box_id = form.cleaned_data["box"]
        outcome = pack_handle(
            box_id=box_id,
            code=form.cleaned_data["code"],
            count=form.cleaned_data["count"] or 1,
            actor=request.user,
        )
    else:
        raw_box = request.POST.get("box", "")
        box_id = int(raw_box) if raw_box.isdigit() and len(raw_box) <= 12 else None
        errors = "; ".join(
            f"{form.fields[name].label}: {error}"
            if name in form.fields and form.fields[name].label
            else str(error)
            for name, errs in form.errors.items()
            for error in errs
        )
        shipment = Shipment.objects.filter(pk=box_id).first() if box_id else None
        outcome = PackOutcome(
            state=pack_state(shipment=shipment) if shipment else None,
            result="refused",
            message=errors,
            scanned=request.POST.get("code", "")[:200],
        )
    state = outcome.state
    target = reverse("shipping:pack_box", args=[state.shipment.pk]) if state else reverse("shipping:pack")
    if request.htmx:
        response = render(
            request,
            "shipping/pack.html#panel",
            {
                "state": state,
                "outcome": outcome,
                "problem": pack_box_problem(state=state) if state else "",
                "figures": pack_figures(),
            },
        )
        response["HX-Push-Url"] = target
        return response
    if outcome.refused:
        scanned = outcome.scanned
        text = (
            f"{scanned} — {outcome.message}"
            if scanned and scanned not in outcome.message
            else outcome.message
        )
        messages.error(request, text, extra_tags="pack-alert")
    else:
        messages.success(request, outcome.message, extra_tags=f"pack-{outcome.result}")
    return redirect(target)


@require_POST
@permission_required("shipping.change_shipment", raise_exception=True)
def pack_reset_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    shipment = get_object_or_404(Shipment, pk=pk)
    try:
        pack_reset(shipment_id=shipment.pk, actor=request.user)
    except PackRefused as refused:
        messages.error(request, str(refused), extra_tags="pack-alert")
    else:
        messages.success(request, _("%(number)s: scanning starts over.") % {"number": shipment.number})
    return redirect("shipping:pack_box", pk=shipment.pk)
