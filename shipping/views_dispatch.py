"""The dispatch desk (발송처리): boxes ready to go back to their channels, the run's per-item
result with retries, the Excel-only channels' sheets, and tracking-number correction. Views are
thin: parse, one service call, a page or a file."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from channels.models import ChannelAccount
from oms.http import AuthedHttpRequest
from oms.listing import page_from_request, querystring_without, selected_queryset
from oms.models import Job
from shipping.couriers import TrackingNumberInvalid
from shipping.excel_dispatch import dispatch_sheet_response, sheet_layout
from shipping.forms_dispatch import TrackingCorrectForm
from shipping.models import Shipment, ShipmentItem, ShipmentStatus, shipment_pk_from_number
from shipping.selectors_dispatch import (
    TO_SEND,
    account_sends_by_api,
    dispatch_groups,
    dispatch_items,
    dispatch_ready_shipments,
)
from shipping.services_dispatch import (
    JOB_KIND,
    DispatchRefused,
    dispatch_job_shipments,
    dispatch_sheet_mark,
    dispatch_start,
    excel_items,
    sheet_items,
    shipment_correct_tracking,
)

Dispatch = ShipmentItem.Dispatch
PAGE_SIZE = 100
RESULT_ROWS = 500  # items listed on a result page (problems first); the counts cover all


# --- The ready list -------------------------------------------------------------------------------


def _ids_param(values: list[str]) -> list[int] | None:
    """?ids=1,2 or ?ids=1&ids=2 or 출고번호 (S00000001): the boxes the desk sent over."""
    tokens = [t for v in values for t in v.replace(" ", ",").split(",") if t.strip()]
    if not tokens:
        return None
    return [pk for pk in (shipment_pk_from_number(t) for t in tokens) if pk is not None]


@dataclass
class _Filters:
    account: ChannelAccount | None = None
    packed_only: bool = False
    ids: list[int] | None = None

    @classmethod
    def read(cls, data: QueryDict, *, scope_key: str = "ids") -> _Filters:
        """The page's filters; on the page ?ids= limits it to boxes the desk sent over, and
        the form carries that limit back as `scope` (its `ids` are the ticked boxes)."""
        account_id = str(data.get("account") or "")
        account = ChannelAccount.objects.filter(pk=int(account_id)).first() if account_id.isdigit() else None
        return cls(
            account=account, packed_only=data.get("packed") == "1", ids=_ids_param(data.getlist(scope_key))
        )

    def queryset(self) -> Any:
        return dispatch_ready_shipments(
            packed_only=self.packed_only,
            account_id=self.account.pk if self.account else None,
            ids=self.ids,
        )


@dataclass
class _BoxRow:
    box: Shipment
    lines: list[ShipmentItem] = field(default_factory=list)

    @property
    def pending(self) -> list[ShipmentItem]:
        return [i for i in self.lines if i.dispatch_state in TO_SEND]

    @property
    def failed(self) -> list[ShipmentItem]:
        return [i for i in self.lines if i.dispatch_state == Dispatch.FAILED]

    @property
    def notes(self) -> list[ShipmentItem]:
        """Unsent items with a reason: refused by the channel, or held back here last time."""
        return [i for i in self.pending if i.dispatch_message]

    @property
    def accounts(self) -> list[str]:
        return sorted({i.line.account.name for i in self.pending})

    @property
    def products(self) -> str:
        names = [i.line.product_name for i in self.lines]
        if len(names) <= 1:
            return names[0] if names else ""
        return _("%(first)s and %(count)d more") % {"first": names[0], "count": len(names) - 1}


def _box_rows(boxes: list[Shipment]) -> list[_BoxRow]:
    rows = {box.pk: _BoxRow(box) for box in boxes}
    items = ShipmentItem.objects.filter(shipment_id__in=rows).select_related("line__order", "line__account")
    for item in items.order_by("pk"):
        rows[item.shipment_id].lines.append(item)
    return list(rows.values())


def _recent_runs() -> list[Job]:
    """The last runs. A run's message is what it found when it ran ("waiting for an Excel sheet
    14"); for runs that left lines to a sheet, `sheet_lines_left` says how many still wait now."""
    jobs = list(Job.objects.filter(kind=JOB_KIND).select_related("created_by").order_by("-pk")[:5])
    for job in jobs:
        result = job.result or {}
        if job.is_finished and result.get("excel_waiting"):
            job.sheet_lines_left = ShipmentItem.objects.filter(  # type: ignore[attr-defined]
                shipment_id__in=dispatch_job_shipments(job),
                line__account_id__in=result.get("excel_accounts") or [],
                dispatch_state=Dispatch.WAITING,
            ).count()
    return jobs


@require_GET
@permission_required("shipping.view_shipment", raise_exception=True)
def dispatch_view(request: AuthedHttpRequest) -> HttpResponse:
    filters = _Filters.read(request.GET)
    ready = filters.queryset()
    page = page_from_request(request, ready, order=("pk",), size=PAGE_SIZE)
    groups = dispatch_groups(ready)
    scope_query = urlencode({"ids": ",".join(map(str, filters.ids))}) if filters.ids else ""
    return render(
        request,
        "shipping/dispatch.html",
        {
            "filters": filters,
            "groups": groups,
            "api_boxes": sum(g.boxes for g in groups if g.by_api),
            "excel_boxes": sum(g.boxes for g in groups if not g.by_api),
            "total": ready.count(),
            "page": page,
            "rows": _box_rows(page.items),
            "filter_query": querystring_without(request.GET, "after", "before"),
            "scope_query": scope_query,
            "recent": _recent_runs(),
            "can_dispatch": request.user.has_perm("shipping.change_shipment"),
        },
    )


@require_POST
@permission_required("shipping.change_shipment", raise_exception=True)
def dispatch_start_view(request: AuthedHttpRequest) -> HttpResponseBase:
    filters = _Filters.read(request.POST, scope_key="scope")
    chosen = list(selected_queryset(request.POST, filters.queryset()).values_list("pk", flat=True))
    try:
        job = dispatch_start(shipment_ids=chosen, actor=request.user, packed_only=filters.packed_only)
    except DispatchRefused as exc:
        messages.error(request, str(exc))
        back = request.POST.get("back", "")
        return redirect(reverse("shipping:dispatch") + (f"?{back}" if back else ""))
    return redirect("shipping:dispatch_result", pk=job.pk)


# --- The result of a run -------------------------------------------------------------------------


def _job(pk: int) -> Job:
    return get_object_or_404(Job.objects.select_related("created_by"), pk=pk, kind=JOB_KIND)


@dataclass
class _SheetAccount:
    account: ChannelAccount
    waiting: int
    done: int
    layout: str


def _sheet_accounts(ids: list[int]) -> list[_SheetAccount]:
    rows = (
        ShipmentItem.objects.filter(shipment_id__in=ids)
        .values("line__account_id")
        .annotate(
            waiting=Count("pk", filter=Q(dispatch_state__in=TO_SEND)),
            done=Count("pk", filter=Q(dispatch_state=Dispatch.EXCEL)),
        )
    )
    counts = {r["line__account_id"]: r for r in rows}
    out = []
    for account in ChannelAccount.objects.filter(pk__in=counts).order_by("name"):
        if account_sends_by_api(account):
            continue
        waiting = excel_items(account=account, shipment_ids=ids).count()
        out.append(_SheetAccount(account, waiting, counts[account.pk]["done"], sheet_layout(account).key))
    return out


@require_GET
@permission_required("shipping.view_shipment", raise_exception=True)
def dispatch_result_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    job = _job(pk)
    if request.htmx and request.GET.get("part") == "progress":
        if job.is_finished:
            return HttpResponseClientRefresh()
        return render(request, "shipping/dispatch_result.html#progress", {"job": job})
    ids = dispatch_job_shipments(job)
    items = dispatch_items(shipment_ids=ids)
    states = dict(items.order_by().values_list("dispatch_state").annotate(n=Count("pk")))
    # Refused by the channel, or held back here (a line on hold, cancel requested) with why.
    problems = list(
        items.filter(
            Q(dispatch_state=Dispatch.FAILED) | (Q(dispatch_state=Dispatch.WAITING) & ~Q(dispatch_message=""))
        )[:RESULT_ROWS]
    )
    sheets = _sheet_accounts(ids) if job.is_finished else []
    sheet_ids = {s.account.pk for s in sheets}
    waiting_api = items.filter(dispatch_state__in=TO_SEND).exclude(line__account_id__in=sheet_ids).exists()
    boxes = Shipment.objects.filter(pk__in=ids)
    return render(
        request,
        "shipping/dispatch_result.html",
        {
            "job": job,
            "result": job.result or {},
            "counts": {
                "sent": states.get(Dispatch.SENT, 0),
                "failed": states.get(Dispatch.FAILED, 0),
                "excel": states.get(Dispatch.EXCEL, 0),
                "waiting": states.get(Dispatch.WAITING, 0),
                "boxes": len(ids),
                "shipped": boxes.filter(
                    status__in=[ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED]
                ).count(),
            },
            "problems": problems,
            "rows": list(items[:RESULT_ROWS]),
            "more_rows": max(0, sum(states.values()) - RESULT_ROWS),
            "sheets": sheets,
            "can_retry": job.is_finished and waiting_api,
            "can_dispatch": request.user.has_perm("shipping.change_shipment"),
            "retry_of": (job.result or {}).get("retry_of"),
        },
    )


@require_POST
@permission_required("shipping.change_shipment", raise_exception=True)
def dispatch_retry_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    job = _job(pk)
    ids = list(
        Shipment.objects.filter(
            pk__in=dispatch_job_shipments(job), items__dispatch_state__in=TO_SEND
        ).values_list("pk", flat=True)
    )
    try:
        again = dispatch_start(
            shipment_ids=ids,
            actor=request.user,
            packed_only=bool((job.result or {}).get("packed_only")),
            retry_of=job,
        )
    except DispatchRefused:
        messages.info(request, _("Nothing is left to send: every item of this run reached its channel."))
        return redirect("shipping:dispatch_result", pk=job.pk)
    return redirect("shipping:dispatch_result", pk=again.pk)


@require_http_methods(["GET", "POST"])
@permission_required("shipping.view_shipment", raise_exception=True)
def dispatch_sheet_view(request: AuthedHttpRequest, pk: int, account_pk: int) -> HttpResponseBase:
    """POST: mark the account's items of this run dispatched (their lines ship) and download the
    filled sheet; GET: the same sheet again, for what was marked before."""
    job = _job(pk)
    account = get_object_or_404(ChannelAccount, pk=account_pk)
    ids = dispatch_job_shipments(job)
    if request.method == "POST":
        if not request.user.has_perm("shipping.change_shipment"):
            return HttpResponse(status=403)
        try:
            dispatch_sheet_mark(
                account=account,
                shipment_ids=ids,
                actor=request.user,
                packed_only=bool((job.result or {}).get("packed_only")),
            )
        except DispatchRefused as exc:
            messages.error(request, str(exc))
            return redirect("shipping:dispatch_result", pk=job.pk)
    items = sheet_items(account=account, shipment_ids=ids)
    if not items.exists():
        messages.info(
            request,
            _("%(account)s has nothing dispatched by sheet in this run yet.") % {"account": account.name},
        )
        return redirect("shipping:dispatch_result", pk=job.pk)
    return dispatch_sheet_response(account=account, items=items)


# --- Tracking-number correction ------------------------------------------------------------------


def _next_url(request: AuthedHttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@require_http_methods(["GET", "POST"])
@permission_required("shipping.view_shipment", raise_exception=True)
def dispatch_correct_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    box = get_object_or_404(Shipment.objects.select_related("courier"), pk=pk)
    back = _next_url(request, reverse("shipping:dispatch"))
    initial = {"courier": box.courier_id, "number": box.tracking_number}
    form = TrackingCorrectForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("shipping.change_shipment"):
            return HttpResponse(status=403)
        if form.is_valid():
            try:
                result = shipment_correct_tracking(
                    shipment=box,
                    courier=form.cleaned_data["courier"],
                    number=form.cleaned_data["number"],
                    actor=request.user,
                )
            except TrackingNumberInvalid as exc:
                form.add_error("number", str(exc))
            except DispatchRefused as exc:
                form.add_error(None, str(exc))
            else:
                if result.changed:
                    messages.success(
                        request,
                        _("%(shipment)s now ships under %(courier)s %(number)s.")
                        % {
                            "shipment": box.number,
                            "courier": form.cleaned_data["courier"].name,
                            "number": result.shipment.tracking_number,
                        },
                    )
                else:
                    messages.info(request, _("The tracking number is unchanged."))
                for notice in result.notices:
                    messages.warning(request, notice)
                return redirect(back)
        status = 400
    items = list(box.items.select_related("line__order", "line__account").order_by("pk"))
    per_account: dict[str, int] = defaultdict(int)
    for item in items:
        if item.dispatch_state in (Dispatch.SENT, Dispatch.EXCEL):
            per_account[item.line.account.name] += 1
    return render(
        request,
        "shipping/dispatch_correct.html",
        {"box": box, "form": form, "items": items, "sent_accounts": dict(per_account), "back": back},
        status=status,
    )
