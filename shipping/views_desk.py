"""The shipping desk (출고 관리): the shipment list with tabs, filters, search, bulk actions and
Excel; the 출고 생성 (합포장) panel; a box's detail with split and cancel."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from oms.excel import xlsx_response
from oms.forms import flash_errors, valid_filters
from oms.http import AuthedHttpRequest
from oms.listing import COUNT_CAP, page_from_request, querystring_without, selected_queryset
from oms.selectors import job_list_for
from shipping.forms_desk import BuildForm, DeskBulkForm, DeskFilterForm, SplitForm
from shipping.models import Shipment, ShipmentStatus
from shipping.selectors import (
    EDITABLE_STATES,
    blocked_line_count,
    buildable_line_count,
    shipment_attention_count,
    shipment_detail_items,
    shipment_get_for_detail,
    shipment_list,
    shipment_status_counts,
    shipment_summaries,
    shipments_from_ids,
)
from shipping.services_boxes import (
    ShipmentRefused,
    shipment_cancel,
    shipment_merge,
    shipment_prune,
    shipment_split,
    shipments_cancel,
)
from shipping.services_build import shipments_build_start

BUILD_RESULT_KEY = "shipping_build_result"
BULK_MAX = 5000
LINK_MAX = 1000  # ids passed on to another page in its address
XLSX_MAX_ROWS = 1_048_575
SKIPPED_SHOWN = 50
FILTER_KEYS = ("q", "status", "account", "courier", "tracking", "attention", "date_from", "date_to", "ids")
# Pages of the other workflows the selection can be taken to (when they exist).
LINK_TARGETS = ("shipping:courier_sheet", "shipping:picking", "shipping:dispatch")


def _url_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _filters(data: QueryDict) -> tuple[DeskFilterForm, dict[str, Any]]:
    form = DeskFilterForm(data or None)
    filters = valid_filters(form, drop_blank=True)
    ids = shipments_from_ids(data.get("ids"))
    if ids:
        filters["ids"] = ids
    return form, filters


def _tabs(
    request: AuthedHttpRequest, filters: dict[str, Any], counts: dict[str, int]
) -> list[dict[str, Any]]:
    """The status tabs; a tab whose count (or one of the counts it adds up) reached COUNT_CAP
    is shown as "N+"."""
    base = request.GET.copy()
    for key in ("status", "attention", "after", "before", "format", "job"):
        base.pop(key, None)

    def url(**extra: str) -> str:
        q = base.copy()
        for k, v in extra.items():
            q[k] = v
        encoded = q.urlencode()
        return f"?{encoded}" if encoded else "?"

    status = filters.get("status") or ""
    attention = bool(filters.get("attention"))

    def added(states: Sequence[ShipmentStatus]) -> dict[str, Any]:
        values = [counts.get(s.value, 0) for s in states]
        return {"count": sum(values), "capped": any(v >= COUNT_CAP for v in values)}

    live = [s for s in ShipmentStatus if s != ShipmentStatus.CANCELLED]
    tabs = [
        {"label": _("All"), "url": url(), "active": not status and not attention, **added(live)},
        {
            "label": _("Not shipped yet"),
            "url": url(status="open"),
            "active": status == "open",
            **added([ShipmentStatus.READY, ShipmentStatus.PRINTED, ShipmentStatus.PACKED]),
        },
    ]
    for state in ShipmentStatus:
        tabs.append(
            {
                "label": state.label,
                "url": url(status=state.value),
                "active": status == state.value and not attention,
                **added([state]),
            }
        )
    attention_count = shipment_attention_count()
    tabs.append(
        {
            "label": _("Needs a look"),
            "url": url(attention="on"),
            "count": attention_count,  # open boxes only: never many, counted exactly
            "capped": False,
            "active": attention,
            "flag": True,
        }
    )
    return tabs


def _rows(shipments: list[Shipment]) -> list[dict[str, Any]]:
    summaries = shipment_summaries([s.pk for s in shipments])
    rows = []
    for shipment in shipments:
        summary = summaries.get(shipment.pk)
        rows.append(
            {"shipment": shipment, "summary": summary, "created": timezone.localtime(shipment.created_at)}
        )
    return rows


def _shipment_xlsx(shipments: Any) -> FileResponse:
    headers = [
        _("Shipment no."),
        _("Status"),
        _("Channel"),
        _("Order no."),
        _("Recipient"),
        _("Recipient phone"),
        _("Zip code"),
        _("Address"),
        _("Items"),
        _("Quantity"),
        _("Courier"),
        _("Tracking no."),
        _("Delivery message"),
        _("Created"),
    ]

    def rows() -> Iterator[list[Any]]:
        batch: list[Shipment] = []
        for shipment in shipments[:XLSX_MAX_ROWS].iterator(chunk_size=2000):
            batch.append(shipment)
            if len(batch) >= 2000:
                yield from _xlsx_rows(batch)
                batch = []
        yield from _xlsx_rows(batch)

    return xlsx_response(
        filename=f"shipments-{timezone.localtime():%Y%m%d-%H%M}.xlsx",
        sheet=_("Shipments"),
        headers=headers,
        rows=rows(),
    )


def _xlsx_rows(batch: list[Shipment]) -> Iterator[list[Any]]:
    summaries = shipment_summaries([s.pk for s in batch])
    for s in batch:
        summary = summaries.get(s.pk)
        yield [
            s.number,
            s.get_status_display(),
            ", ".join(summary.channels) if summary else (s.account.name if s.account else ""),
            ", ".join(no for _id, no in summary.orders) if summary else "",
            s.recipient_name,
            s.recipient_phone,
            s.zip_code,
            s.address,
            " / ".join(summary.products) if summary else "",
            summary.quantity if summary else 0,
            s.courier.name if s.courier else "",
            s.tracking_number,
            s.delivery_message,
            timezone.localtime(s.created_at).replace(tzinfo=None),
        ]


@require_GET
@permission_required("shipping.view_shipment", raise_exception=True)
def desk_view(request: AuthedHttpRequest) -> HttpResponseBase:
    form, filters = _filters(request.GET)
    queryset = shipment_list(filters=filters)
    if request.GET.get("format") == "xlsx":
        return _shipment_xlsx(queryset.order_by("-pk"))
    page = page_from_request(request, queryset, order=("-pk",))
    counts = shipment_status_counts(filters=filters)
    job = None
    job_id = request.GET.get("job", "")
    if job_id.isdigit():
        job = job_list_for(user=request.user).filter(pk=int(job_id)).first()
    links = {}
    for name in LINK_TARGETS:
        url = _url_or_none(name)
        if url:
            links[name.split(":")[1]] = url
    context = {
        "filter_form": form,
        "filters": filters,
        "page": page,
        "total": counts["total"],
        "total_capped": counts["total"] >= COUNT_CAP,
        "rows": _rows(page.items),
        "tabs": _tabs(request, filters, counts),
        "filter_query": querystring_without(request.GET, "after", "before", "format", "job"),
        "buildable": buildable_line_count(),
        "blocked": blocked_line_count(),
        "build_form": BuildForm(),
        "build_result": request.session.pop(BUILD_RESULT_KEY, None),
        "job": job,
        "links": links,
        "chosen_ids": ",".join(str(pk) for pk in filters.get("ids", [])),
    }
    return render(request, "shipping/desk.html", context)


def _back_to_desk(request: AuthedHttpRequest) -> HttpResponse:
    pairs = [(k, v) for k, v in parse_qsl(request.POST.get("back", "")) if k in FILTER_KEYS]
    url = reverse("shipping:desk")
    return redirect(f"{url}?{urlencode(pairs)}" if pairs else url)


def _selection(request: AuthedHttpRequest) -> Any:
    _form, filters = _filters(QueryDict(request.POST.get("back", "")))
    return selected_queryset(request.POST, shipment_list(filters=filters))


@require_POST
@permission_required("shipping.view_shipment", raise_exception=True)
def desk_bulk_view(request: AuthedHttpRequest) -> HttpResponse:
    """Bulk actions on the chosen boxes: combine, cancel, or take them to another page."""
    target = request.POST.get("go", "")
    selection = _selection(request)
    ids = list(selection.order_by("pk").values_list("pk", flat=True)[: BULK_MAX + 1])
    if not ids:
        messages.error(request, _("Select the shipments first."))
        return _back_to_desk(request)
    if target:
        url = _url_or_none(f"shipping:{target}") if f"shipping:{target}" in LINK_TARGETS else None
        if url is None:
            messages.error(request, _("That page is not available."))
            return _back_to_desk(request)
        if len(ids) > LINK_MAX:
            messages.error(
                request,
                _("That is more than %(max)d shipments at once; narrow the filters and repeat.")
                % {"max": LINK_MAX},
            )
            return _back_to_desk(request)
        return redirect(f"{url}?ids={','.join(str(pk) for pk in ids)}")
    if not request.user.has_perm("shipping.change_shipment"):
        raise PermissionDenied
    form = DeskBulkForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return _back_to_desk(request)
    if len(ids) > BULK_MAX:
        messages.error(
            request,
            _("That is more than %(max)d shipments at once; narrow the filters and repeat.")
            % {"max": BULK_MAX},
        )
        return _back_to_desk(request)
    boxes = list(Shipment.objects.filter(pk__in=ids).order_by("pk"))
    if form.cleaned_data["action"] == "merge":
        try:
            merged = shipment_merge(shipments=boxes, actor=request.user)
        except ShipmentRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("%(count)d shipments combined into %(number)s.")
                % {"count": len(boxes), "number": merged.number},
            )
        return _back_to_desk(request)
    done, refused = shipments_cancel(shipments=boxes, actor=request.user)
    if done:
        messages.success(
            request,
            _("%(count)d shipments cancelled; their lines are back to confirmed.") % {"count": len(done)},
        )
    for _box, why in refused[:20]:
        messages.error(request, why)
    return _back_to_desk(request)


@require_POST
@permission_required("shipping.view_shipment", raise_exception=True)
def desk_export_view(request: AuthedHttpRequest) -> HttpResponseBase:
    """엑셀 다운로드 of the chosen boxes (or all that match the filters)."""
    selection = _selection(request)
    if not selection.exists():
        messages.error(request, _("Select the shipments first."))
        return _back_to_desk(request)
    return _shipment_xlsx(selection.order_by("-pk"))


@require_POST
@permission_required("shipping.add_shipment", raise_exception=True)
def desk_build_view(request: AuthedHttpRequest) -> HttpResponse:
    """출고 생성 (합포장) from the confirmed lines."""
    form = BuildForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("shipping:desk")
    started = shipments_build_start(
        actor=request.user,
        account=form.cleaned_data["account"],
        across_channels=form.cleaned_data["across_channels"],
    )
    if started.job is not None:
        return redirect(f"{reverse('shipping:desk')}?job={started.job.pk}")
    outcome = started.outcome
    assert outcome is not None
    request.session[BUILD_RESULT_KEY] = {
        "created": len(outcome.created),
        "joined": len(outcome.joined),
        "lines": outcome.lines_boxed,
        "skipped_total": len(outcome.skipped),
        "skipped": [
            {"order_id": s.order_id, "line": s.external_line_id, "reason": s.reason}
            for s in outcome.skipped[:SKIPPED_SHOWN]
        ],
    }
    return redirect(
        f"{reverse('shipping:desk')}?status=ready" if outcome.lines_boxed else reverse("shipping:desk")
    )


# --- Detail --------------------------------------------------------------------------------------


@require_GET
@permission_required("shipping.view_shipment", raise_exception=True)
def shipment_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        shipment = shipment_get_for_detail(pk=pk)
    except Shipment.DoesNotExist:
        raise Http404 from None
    items = shipment_detail_items(shipment=shipment)
    editable = shipment.status in EDITABLE_STATES
    context = {
        "shipment": shipment,
        "items": items,
        "editable": editable,
        "cancellable": shipment.status
        in (ShipmentStatus.READY, ShipmentStatus.PRINTED, ShipmentStatus.PACKED),
        "stale": [it for it in items if it.stale],  # type: ignore[attr-defined]
        "quantity": sum(it.line.quantity for it in items if it.live),  # type: ignore[attr-defined,misc]
        "links": _detail_links(shipment),
    }
    return render(request, "shipping/shipment_detail.html", context)


def _detail_links(shipment: Shipment) -> dict[str, str]:
    """The stages a box can go to from its page: an open box to the pick list, courier sheet,
    packing slip, packing table and dispatch; a shipped box to its slip and to the tracking-number
    correction; a cancelled box nowhere."""
    ids = f"?ids={shipment.pk}"
    if shipment.status in (ShipmentStatus.READY, ShipmentStatus.PRINTED, ShipmentStatus.PACKED):
        names = {
            "picking": ("shipping:picking", ids),
            "courier_sheet": ("shipping:courier_sheet", ids),
            "slips": ("shipping:slips", ids),
            "dispatch": ("shipping:dispatch", ids),
        }
        links = {key: f"{url}{query}" for key, (name, query) in names.items() if (url := _url_or_none(name))}
        links["pack"] = reverse("shipping:pack_box", args=[shipment.pk])
        return links
    if shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED):
        return {
            "slips": reverse("shipping:slips") + ids,
            "correct": reverse("shipping:dispatch_correct", args=[shipment.pk]),
        }
    return {}


def _box_or_404(pk: int) -> Shipment:
    return get_object_or_404(Shipment.objects.all(), pk=pk)


@require_POST
@permission_required("shipping.change_shipment", raise_exception=True)
def shipment_split_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shipment = _box_or_404(pk)
    form = SplitForm(request.POST, line_ids=list(shipment.items.values_list("line_id", flat=True)))
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("shipping:shipment_detail", pk=pk)
    try:
        new = shipment_split(shipment=shipment, line_ids=form.cleaned_data["lines"], actor=request.user)
    except ShipmentRefused as exc:
        messages.error(request, str(exc))
        return redirect("shipping:shipment_detail", pk=pk)
    messages.success(request, _("The chosen lines are in a new box, %(number)s.") % {"number": new.number})
    return redirect("shipping:shipment_detail", pk=new.pk)


@require_POST
@permission_required("shipping.change_shipment", raise_exception=True)
def shipment_cancel_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shipment = _box_or_404(pk)
    try:
        shipment_cancel(shipment=shipment, actor=request.user)
    except ShipmentRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("%(number)s cancelled; its lines are back to confirmed.") % {"number": shipment.number}
        )
    return redirect("shipping:shipment_detail", pk=pk)


@require_POST
@permission_required("shipping.change_shipment", raise_exception=True)
def shipment_prune_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shipment = _box_or_404(pk)
    removed = shipment_prune(shipment=shipment, actor=request.user)
    if removed:
        messages.success(
            request,
            _("%(count)d cancelled lines taken out of %(number)s.")
            % {"count": removed, "number": shipment.number},
        )
    else:
        messages.info(request, _("Nothing to take out."))
    return redirect("shipping:shipment_detail", pk=pk)
