"""The order desk: the line list (상품주문 목록) with tabs, filters, bulk actions and Excel; the
order detail with per-line actions, the timeline and the CS memo; the manual order form."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from channels.models import ChannelAccount, Marketplace
from oms.excel import xlsx_response
from oms.forms import flash_errors, valid_filters
from oms.http import AuthedHttpRequest
from oms.listing import querystring_without, selected_queryset
from orders.forms import (
    BulkActionForm,
    LineCancelForm,
    LineFilterForm,
    LineHoldForm,
    ManualLineFormSet,
    ManualOrderForm,
    MemoForm,
)
from orders.models import LineStatus, Order, OrderLine
from orders.selectors import (
    FLAGS,
    LIST_DEFERRED,
    counts_invalidate,
    line_count,
    line_page,
    line_sku_codes,
    line_sort,
    line_stock_map,
    line_tab_counts,
    order_get_for_detail,
    order_line_list,
    order_status_summary,
    order_timeline,
    prepare_filters,
    sku_search,
)
from orders.services import (
    ALLOWED,
    TransitionRefused,
    order_line_cancel,
    order_line_confirm,
    order_line_hold,
    order_line_unhold,
)
from orders.services_bulk import BulkAction, lines_bulk_action
from orders.services_manual import (
    ManualLine,
    ManualOrderError,
    ManualOrderExists,
    Recipient,
    manual_order_no,
    order_manual_create,
)
from orders.services_memo import order_memo_update
from orders.templatetags import order_tags

# A bulk action over more lines than this is refused: narrow the filters (each chunk of the
# action is its own transaction, but the request still has to finish).
BULK_MAX = 5000
# Excel holds 1,048,576 rows; one is the header.
XLSX_MAX_ROWS = 1_048_575
BULK_RESULT_KEY = "orders_bulk_result"
REFUSED_SHOWN = 100

# Tabs always shown, in the order a seller works; other states get a tab once they have lines.
MAIN_TABS = (
    LineStatus.NEW,
    LineStatus.CONFIRMED,
    LineStatus.READY,
    LineStatus.HOLD,
    LineStatus.CANCEL_REQUESTED,
)
FLAG_LABELS = {
    "unmapped": gettext_lazy("Needs mapping"),
    "backorder": gettext_lazy("Short of stock"),
    "address_changed": gettext_lazy("Address changed"),
}
ACTION_LABELS = {
    BulkAction.CONFIRM: gettext_lazy("Confirm"),
    BulkAction.HOLD: gettext_lazy("Hold"),
    BulkAction.UNHOLD: gettext_lazy("Release hold"),
    BulkAction.CANCEL: gettext_lazy("Cancel"),
}


def matching_url() -> str | None:
    """The 매칭 page, once it exists (built separately)."""
    return _url_or_none("orders:matching")


def _url_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


# --- The list -----------------------------------------------------------------------------------


def _tabs(request: AuthedHttpRequest, filters: dict[str, Any], counts: Any) -> list[dict[str, Any]]:
    base = request.GET.copy()
    for key in ("status", "flag", "after", "before", "format"):
        base.pop(key, None)

    def url(**extra: str) -> str:
        q = base.copy()
        for k, v in extra.items():
            q[k] = v
        encoded = q.urlencode()
        return f"?{encoded}" if encoded else "?"

    status, flag = filters.get("status") or "", filters.get("flag") or ""
    tabs = [
        {
            "key": "all",
            "label": _("All"),
            "url": url(),
            "count": counts.total,
            "capped": counts.is_capped(counts.total),
            "active": not status and not flag,
        }
    ]
    shown = [
        s
        for s in LineStatus
        if s in MAIN_TABS or counts.status(s.value) or s.value == status or not counts.per_tab
    ]
    for state in shown:
        tabs.append(
            {
                "key": state.value,
                "label": state.label,
                "url": url(status=state.value),
                "count": counts.status(state.value) if counts.per_tab else None,
                "capped": counts.is_capped(counts.status(state.value)),
                "active": status == state.value and not flag,
                "state": state.value,
            }
        )
    for name in FLAGS:
        tabs.append(
            {
                "key": name,
                "label": FLAG_LABELS[name],
                "url": url(flag=name),
                "count": counts.by_flag.get(name, 0) if counts.per_tab else None,
                "capped": counts.is_capped(counts.by_flag.get(name, 0)),
                "active": flag == name and not status,
                "flag": name,
            }
        )
    return tabs


@dataclass(frozen=True)
class ListRow:
    """One line of the list, ready to print: the page renders 50 of these, and doing the
    formatting here rather than through template filters halves the page's rendering time."""

    pk: int
    day: str
    time: str
    account: str
    order_url: str
    order_no: str
    line_no: str
    product: str
    option: str
    skus: list[tuple[str, int | None]]
    quantity: int
    amount: str
    recipient: str
    phone: str
    safe_number: bool
    status: str
    status_label: str
    tone: str
    unmapped: bool
    backorder: bool
    address_changed: bool


def list_rows(lines: list[OrderLine]) -> list[ListRow]:
    codes = line_sku_codes(lines)
    detail = reverse("orders:order_detail", args=[0]).removesuffix("0/")
    rows = []
    for line in lines:
        when = timezone.localtime(line.sort_at)  # type: ignore[attr-defined]
        order = line.order
        rows.append(
            ListRow(
                pk=line.pk,
                day=f"{when:%Y-%m-%d}",
                time=f"{when:%H:%M}",
                account=line.account.name,
                order_url=f"{detail}{line.order_id}/",
                order_no=order.external_order_id,
                line_no=line.external_line_id,
                product=line.product_name,
                option=line.option_text,
                skus=[(code, q if q != line.quantity else None) for code, q in codes.get(line.pk, [])],
                quantity=line.quantity,
                amount=f"{line.line_total:,}",
                recipient=order.recipient_name,
                phone=order_tags.phone(order.recipient_phone),
                safe_number=order_tags.is_safe_number(order.recipient_phone),
                status=line.status,
                status_label=order_tags.status_label(line.status),
                tone=order_tags.status_tone(line.status),
                unmapped=line.unmapped,
                backorder=line.backorder,
                address_changed=line.address_changed,
            )
        )
    return rows


def account_choices() -> list[tuple[str, str]]:
    """The account filter's options in one small query (the select is rendered by hand: form
    widgets render each option through a template, a noticeable share of the page's time)."""
    labels = dict(Marketplace.choices)
    rows = ChannelAccount.objects.order_by("name").values_list("pk", "name", "marketplace")
    return [("", _("All channels"))] + [(str(pk), f"{name} ({labels.get(m, m)})") for pk, name, m in rows]


def _line_rows(lines: Any) -> Iterator[list[Any]]:
    for line in lines:
        order = line.order
        skus = ", ".join(f"{ls.sku.code} x{ls.quantity}" for ls in line.skus.all())
        yield [
            order.external_order_id,
            line.external_line_id,
            line.account.name,
            order.ordered_at,
            order.paid_at,
            str(LineStatus(line.status).label),
            _("Yes") if line.unmapped else "",
            _("Yes") if line.backorder else "",
            _("Yes") if line.address_changed else "",
            line.product_name,
            line.option_text,
            skus,
            line.quantity,
            line.unit_price,
            line.discount,
            line.line_total,
            order.buyer_name,
            order.buyer_phone,
            order.recipient_name,
            order.recipient_phone,
            order.recipient_phone2,
            order.zip_code,
            order.address1,
            order.address2,
            order.delivery_message,
            order.memo,
        ]


def _xlsx(lines: Any, filename: str) -> FileResponse:
    headers = [
        _("Order no."),
        _("Line no."),
        _("Channel account"),
        _("Ordered"),
        _("Paid"),
        _("Status"),
        _("Needs mapping"),
        _("Short of stock"),
        _("Address changed"),
        _("Product"),
        _("Option"),
        _("SKU"),
        _("Quantity"),
        _("Unit price"),
        _("Discount"),
        _("Line total"),
        _("Buyer"),
        _("Buyer phone"),
        _("Recipient"),
        _("Recipient phone"),
        _("Recipient phone 2"),
        _("Zip code"),
        _("Address"),
        _("Address detail"),
        _("Delivery message"),
        _("CS memo"),
    ]
    rows = lines.defer(*LIST_DEFERRED).prefetch_related("skus__sku")[:XLSX_MAX_ROWS].iterator(chunk_size=2000)
    return xlsx_response(filename=filename, sheet=_("Orders"), headers=headers, rows=_line_rows(rows))


def _xlsx_filename() -> str:
    return f"orders-{timezone.localtime():%Y%m%d-%H%M}.xlsx"


@require_GET
@permission_required("orders.view_order", raise_exception=True)
def order_list_view(request: AuthedHttpRequest) -> HttpResponseBase:
    filter_form = LineFilterForm(request.GET or None)
    filters = prepare_filters(valid_filters(filter_form))
    queryset = order_line_list(filters=filters)
    order = line_sort(filters)
    if request.GET.get("format") == "xlsx":
        return _xlsx(queryset.order_by(*order), _xlsx_filename())
    page = line_page(
        queryset=queryset, order=order, after=request.GET.get("after"), before=request.GET.get("before")
    )
    counts = line_tab_counts(filters=filters)
    total = line_count(filters=filters, counts=counts)
    context: dict[str, Any] = {
        "filter_form": filter_form,
        "filters": filters,
        "page": page,
        "rows": list_rows(page.items),
        "flag_labels": {name: str(label) for name, label in FLAG_LABELS.items()},
        "safe_number_label": _("safe no."),
        "safe_number_hint": _("Safe number (안심번호): forwarded by the marketplace, not the customer’s own"),
        "tabs": _tabs(request, filters, counts),
        "total": total,
        "total_capped": counts.is_capped(total),
        "filter_query": querystring_without(request.GET, "after", "before", "format"),
        "batch_clear_query": querystring_without(request.GET, "after", "before", "format", "batch"),
        "account_choices": account_choices(),
        "bulk_result": request.session.pop(BULK_RESULT_KEY, None),
        "matching_url": matching_url(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "orders/order_list.html#results", context)
    return render(request, "orders/order_list.html", context)


def _back_to_list(request: AuthedHttpRequest) -> HttpResponse:
    """The list with the filters the bulk form was posted from (only our own query keys)."""
    allowed = {"q", "account", "batch", "status", "flag", "date_field", "date_from", "date_to", "sort"}
    pairs = [(k, v) for k, v in parse_qsl(request.POST.get("back", "")) if k in allowed]
    url = reverse("orders:order_list")
    return redirect(f"{url}?{urlencode(pairs)}" if pairs else url)


def _selection(request: AuthedHttpRequest) -> tuple[Any, bool]:
    """The lines a bulk action applies to (checked ids, or every line the filters match)."""
    filters = valid_filters(LineFilterForm(_filter_data(request.POST)))
    queryset = order_line_list(filters=filters)
    return selected_queryset(request.POST, queryset), request.POST.get("select_all") == "filtered"


def _filter_data(data: QueryDict) -> QueryDict:
    """The filters the list was showing, carried in the bulk form as `back` (its query string)."""
    return QueryDict(data.get("back", ""))


@require_POST
@permission_required("orders.change_orderline", raise_exception=True)
def order_bulk_view(request: AuthedHttpRequest) -> HttpResponse:
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return _back_to_list(request)
    selection, all_matching = _selection(request)
    ids = list(selection.order_by("pk").values_list("pk", flat=True)[: BULK_MAX + 1])
    if not ids:
        messages.error(request, _("Select the lines first."))
        return _back_to_list(request)
    if len(ids) > BULK_MAX:
        messages.error(
            request,
            _("That is more than %(max)d lines at once; narrow the filters and repeat.") % {"max": BULK_MAX},
        )
        return _back_to_list(request)
    action = form.cleaned_data["action"]
    result = lines_bulk_action(
        line_ids=ids, action=action, actor=request.user, note=form.cleaned_data["note"]
    )
    counts_invalidate()
    request.session[BULK_RESULT_KEY] = {
        "action": str(ACTION_LABELS[action]),
        "changed": result.changed,
        "refused_total": len(result.refused),
        "refused": [
            {"line": line_no, "order_id": order_id, "reason": why}
            for _pk, order_id, line_no, why in result.refused[:REFUSED_SHOWN]
        ],
        "all_matching": all_matching,
    }
    return _back_to_list(request)


@require_POST
@permission_required("orders.view_order", raise_exception=True)
def order_export_view(request: AuthedHttpRequest) -> HttpResponseBase:
    """엑셀 다운로드 of the selected lines (or all matching the filters)."""
    selection, _all = _selection(request)
    if not selection.exists():
        messages.error(request, _("Select the lines first."))
        return _back_to_list(request)
    filters = valid_filters(LineFilterForm(_filter_data(request.POST)))
    return _xlsx(selection.order_by(*line_sort(filters)), _xlsx_filename())


# --- Order detail -------------------------------------------------------------------------------


def _detail_context(request: AuthedHttpRequest, order: Order, **extra: Any) -> dict[str, Any]:
    lines = list(order.lines.all())
    stock = line_stock_map(lines)
    for line in lines:
        line.stock = stock[line.pk]  # type: ignore[attr-defined]
        line.actions = line_actions(line)  # type: ignore[attr-defined]
    context = {
        "order": order,
        "lines": lines,
        "timeline": order_timeline(order=order)[:200],
        "status_summary": order_status_summary(order),
        "memo_form": MemoForm(initial={"memo": order.memo}),
        "hold_form": LineHoldForm(),
        "cancel_form": LineCancelForm(),
        "can_act": request.user.has_perm("orders.change_orderline"),
        "can_memo": request.user.has_perm("orders.change_order"),
        "matching_url": matching_url(),
        "backorders_url": _url_or_none("orders:backorders"),
        "products_total": sum(line.line_total for line in lines),
    }
    context.update(extra)
    return context


def line_actions(line: OrderLine) -> dict[str, bool]:
    """Which buttons a line offers, from the state machine (a held line only goes back)."""
    targets = ALLOWED[line.status]
    return {
        "confirm": line.status == LineStatus.NEW,
        "hold": LineStatus.HOLD in targets,
        "unhold": line.status == LineStatus.HOLD,
        "cancel": LineStatus.CANCELLED in targets,
    }


@require_GET
@permission_required("orders.view_order", raise_exception=True)
def order_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        order = order_get_for_detail(pk=pk)
    except Order.DoesNotExist as missing:
        raise Http404 from missing
    return render(request, "orders/order_detail.html", _detail_context(request, order))


def _line_action(
    request: AuthedHttpRequest,
    pk: int,
    act: Callable[[OrderLine, dict[str, Any]], OrderLine],
    form: Any = None,
    done: str = "",
) -> HttpResponse:
    """Run one line action; answer htmx with the line's row and the refreshed timeline, a plain
    POST with a redirect to the order."""
    line = get_object_or_404(OrderLine.objects.select_related("order"), pk=pk)
    error = ""
    if form is not None and not form.is_valid():
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    else:
        try:
            act(line, form.cleaned_data if form is not None else {})
        except TransitionRefused as refused:
            error = str(refused)
        else:
            counts_invalidate()
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect("orders:order_detail", pk=line.order_id)
    order = order_get_for_detail(pk=line.order_id)
    context = _detail_context(request, order, line_error={"line": pk, "message": error}, line_done=pk)
    context["line"] = next(ln for ln in context["lines"] if ln.pk == pk)
    context["flash"] = "" if error else done
    return render(request, "orders/order_detail.html#line-update", context)


@require_POST
@permission_required("orders.change_orderline", raise_exception=True)
def line_confirm_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _line_action(
        request,
        pk,
        lambda line, _data: order_line_confirm(line=line, actor=request.user),
        done=_("Confirmed."),
    )


@require_POST
@permission_required("orders.change_orderline", raise_exception=True)
def line_hold_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _line_action(
        request,
        pk,
        lambda line, data: order_line_hold(line=line, actor=request.user, reason=data["reason"]),
        form=LineHoldForm(request.POST),
        done=_("Put on hold."),
    )


@require_POST
@permission_required("orders.change_orderline", raise_exception=True)
def line_unhold_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _line_action(
        request,
        pk,
        lambda line, _data: order_line_unhold(line=line, actor=request.user),
        done=_("Hold released."),
    )


@require_POST
@permission_required("orders.change_orderline", raise_exception=True)
def line_cancel_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _line_action(
        request,
        pk,
        lambda line, data: order_line_cancel(line=line, actor=request.user, reason=data["reason"]),
        form=LineCancelForm(request.POST),
        done=_("Cancelled; its stock is back in the pool."),
    )


@require_POST
@permission_required("orders.change_order", raise_exception=True)
def order_memo_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=pk)
    form = MemoForm(request.POST)
    saved = False
    if form.is_valid():
        order = order_memo_update(order=order, memo=form.cleaned_data["memo"], actor=request.user)
        saved = True
    if not request.htmx:
        if saved:
            messages.success(request, _("Memo saved."))
        else:
            messages.error(request, " ".join(str(e) for e in form.errors.get("memo", [])))
        return redirect("orders:order_detail", pk=order.pk)
    order = order_get_for_detail(pk=order.pk)
    context = _detail_context(request, order, memo_saved=saved)
    if not saved:
        context["memo_form"] = form
    return render(request, "orders/order_detail.html#memo-update", context)


# --- Manual order -------------------------------------------------------------------------------


@permission_required("orders.add_order", raise_exception=True)
def order_create_view(request: AuthedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ManualOrderForm(request.POST)
        lines = ManualLineFormSet(request.POST, prefix="lines")
        if form.is_valid() and lines.is_valid():
            data = form.cleaned_data
            try:
                order, result = order_manual_create(
                    account=data["account"],
                    new_account_name=data["new_account_name"],
                    order_no=data["order_no"],
                    recipient=Recipient(
                        name=data["recipient_name"],
                        phone=data["recipient_phone"],
                        phone2=data["recipient_phone2"],
                        zip_code=data["zip_code"],
                        address1=data["address1"],
                        address2=data["address2"],
                        delivery_message=data["delivery_message"],
                        buyer_name=data["buyer_name"],
                        buyer_phone=data["buyer_phone"],
                    ),
                    lines=[
                        ManualLine(
                            sku=f.cleaned_data["sku_code"],
                            quantity=f.cleaned_data["quantity"],
                            unit_price=f.cleaned_data["unit_price"],
                        )
                        for f in lines.forms
                        if f.cleaned_data
                    ],
                    shipping_fee=data["shipping_fee"],
                    paid=data["paid"],
                    actor=request.user,
                )
            except ManualOrderExists as exists:
                messages.info(request, str(exists))
                return redirect("orders:order_detail", pk=exists.order.pk)
            except ManualOrderError as refused:
                form.add_error(None, str(refused))
            else:
                counts_invalidate()
                messages.success(request, _("Order %(no)s registered.") % {"no": order.external_order_id})
                if result.backorder:
                    messages.warning(
                        request,
                        ngettext(
                            "%(n)d line is short of stock and waits for stock (재고 부족).",
                            "%(n)d lines are short of stock and wait for stock (재고 부족).",
                            result.backorder,
                        )
                        % {"n": result.backorder},
                    )
                return redirect("orders:order_detail", pk=order.pk)
    else:
        form = ManualOrderForm(initial={"order_no": manual_order_no()})
        lines = ManualLineFormSet(prefix="lines")
    return render(request, "orders/order_form.html", {"form": form, "lines": lines}, status=200)


@require_GET
@permission_required("orders.add_order", raise_exception=True)
def sku_search_view(request: AuthedHttpRequest) -> HttpResponse:
    """Search-as-you-type for the manual order form: <option>s for the SKU field's datalist."""
    text = request.GET.get("q") or next((request.GET[k] for k in request.GET if k.endswith("sku_code")), "")
    return render(request, "orders/order_form.html#sku-options", {"results": sku_search(text=text)})
