"""매칭 (unmapped lines grouped by channel option, the mapping editor with SKU search, saved
mappings) and 재고 부족 (backorder lines and 재할당). Thin: a form, one service call."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from channels.models import ChannelAccount, OptionMapping
from inventory.selectors import available_map
from oms.excel import xlsx_response
from oms.http import AuthedHttpRequest
from oms.listing import page_from_request, querystring_without
from orders.forms_matching import (
    DOM_ID,
    AccountScopeForm,
    BackorderFilterForm,
    ItemRow,
    MappingFilterForm,
    MappingForm,
    MatchingFilterForm,
)
from orders.mapping import (
    MappingError,
    backorder_reassign,
    option_mapping_delete,
    option_mapping_save,
    unmapped_auto_match,
)
from orders.models import RESERVING_STATES, OrderLine
from orders.selectors import counts_invalidate
from orders.selectors_matching import (
    BACKORDER_ORDER,
    EDITOR_SAMPLE,
    backorder_line_list,
    backorder_reassign_preview,
    backorder_rows,
    backorder_sku_totals,
    mappings_for_keys,
    matching_counts,
    option_mapping_list,
    sku_search,
    sku_suggestions,
    skus_by_code,
    unmapped_group_list,
    unmapped_groups,
    waiting_lines_for_key,
)

GROUPS_PER_PAGE = 30
VIEW = "orders.view_orderline"
CHANGE = "orders.change_orderline"


def _section(request: AuthedHttpRequest) -> None:
    request.nav_section = "orders"  # type: ignore[attr-defined]


def _filters(form: Any) -> dict[str, Any]:
    return form.cleaned_data if form.is_valid() else {}


# --- 매칭 대기: unmapped groups ------------------------------------------------------------------


@require_GET
@permission_required(VIEW, raise_exception=True)
def matching_list_view(request: AuthedHttpRequest) -> HttpResponseBase:
    _section(request)
    filter_form = MatchingFilterForm(request.GET or None)
    filters = _filters(filter_form)
    queryset = unmapped_group_list(filters=filters)
    if request.GET.get("format") == "xlsx":
        return _groups_xlsx(queryset)
    page = Paginator(queryset, GROUPS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filter_form": filter_form,
        "page": page,
        "groups": unmapped_groups(page.object_list),
        "filter_query": querystring_without(request.GET, "page", "format"),
        "counts": matching_counts(),
        "scope_account": filters.get("account"),
        "can_change": request.user.has_perm(CHANGE),
    }
    if request.htmx and request.htmx.target == "results":
        return render(request, "orders/matching_list.html#results", context)
    return render(request, "orders/matching_list.html", context)


def _groups_xlsx(queryset: Any) -> HttpResponseBase:
    rows = (
        [
            g.account.name,
            g.channel_product_id,
            g.product_name,
            g.option_text,
            g.channel_option_id,
            g.lines,
            g.quantity,
            g.oldest,
        ]
        for chunk in _chunked(queryset, 500)
        for g in unmapped_groups(chunk)
    )
    headers = [
        _("Channel account"),
        _("Channel product id"),
        _("Channel product name"),
        _("Channel option"),
        _("Channel option id"),
        _("Lines"),
        _("Quantity"),
        _("Oldest order"),
    ]
    return xlsx_response(filename="unmapped-options.xlsx", sheet=_("Unmapped"), headers=headers, rows=rows)


def _chunked(queryset: Any, size: int) -> Any:
    start = 0
    while True:
        chunk = list(queryset[start : start + size])
        if not chunk:
            return
        yield chunk
        start += size


# --- The mapping editor -----------------------------------------------------------------------------


def _editor_context(request: AuthedHttpRequest, form: MappingForm, *, inline: bool) -> dict[str, Any]:
    """What the editor shows beside the form: the waiting lines of the key, the saved mapping,
    and each typed row's SKU with its available stock."""
    account = form.value("account")
    if not isinstance(account, ChannelAccount):
        account = ChannelAccount.objects.filter(pk=account).first() if str(account or "").isdigit() else None
    product_id = (form.value("channel_product_id") or "").strip()
    key = (form.value("option_key") or "").strip()
    lines: list[OrderLine] = []
    mapping = None
    if account is not None and (product_id or key):
        lines = waiting_lines_for_key(account_id=account.pk, channel_product_id=product_id, key=key)
        mapping = mappings_for_keys({(account.pk, product_id, key)}).get((account.pk, product_id, key))
    if form.is_bound:
        # Rows whose code was never checked (the form stopped earlier) still show their SKU.
        found = skus_by_code(row.code for row in form.rows if row.sku is None)
        for row in form.rows:
            row.sku = row.sku or found.get(row.code)
    available = available_map([row.sku.pk for row in form.rows if row.sku is not None])
    return {
        "form": form,
        "rows": [(row, available.get(row.sku.pk) if row.sku else None) for row in form.rows],
        # Blank rows for a browser without JavaScript (matching.js removes them and adds rows on demand).
        "spare_rows": range(2),
        "waiting": lines[:EDITOR_SAMPLE],
        "waiting_count": len(lines),
        "waiting_quantity": sum(line.quantity for line in lines),
        "waiting_reserving": sum(1 for line in lines if line.status in RESERVING_STATES),
        "mapping": mapping,
        "suggestions": sku_suggestions(
            product_name=form.value("product_name") or "", option_text=form.value("option_text") or ""
        ),
        "account": account,
        "fixed": bool(form.value("fixed")) and account is not None,
        "inline": inline,
        "dom_id": form.value("dom_id") or "",
        "can_change": request.user.has_perm(CHANGE),
    }


def _initial_form(request: AuthedHttpRequest) -> MappingForm:
    """The editor for ?mapping=<pk> (a saved mapping), ?account=&product=&key= (a group of
    waiting lines; its saved mapping if there is one), or nothing (a new mapping typed in)."""
    initial: dict[str, Any] = {"next": request.GET.get("next", ""), "dom_id": request.GET.get("dom_id", "")}
    mapping: OptionMapping | None = None
    if request.GET.get("mapping"):
        try:
            mapping = OptionMapping.objects.select_related("account").get(pk=int(request.GET["mapping"]))
        except (ValueError, OptionMapping.DoesNotExist) as missing:
            raise Http404(_("That mapping no longer exists.")) from missing
        initial.update(
            account=mapping.account,
            channel_product_id=mapping.channel_product_id,
            option_key=mapping.option_key,
            product_name=mapping.product_name,
            option_text=mapping.option_text,
            fixed=True,
        )
    elif request.GET.get("account"):
        try:
            account = ChannelAccount.objects.get(pk=int(request.GET["account"]))
        except (ValueError, ChannelAccount.DoesNotExist) as missing:
            raise Http404(_("That channel account does not exist.")) from missing
        product_id, key = request.GET.get("product", ""), request.GET.get("key", "")
        lines = waiting_lines_for_key(account_id=account.pk, channel_product_id=product_id, key=key)
        mapping = mappings_for_keys({(account.pk, product_id, key)}).get((account.pk, product_id, key))
        sample = lines[-1] if lines else None
        initial.update(
            account=account,
            channel_product_id=product_id,
            option_key=key,
            product_name=sample.product_name if sample else (mapping.product_name if mapping else ""),
            option_text=sample.option_text if sample else (mapping.option_text if mapping else key),
            fixed=True,
        )
    rows = []
    if mapping is not None:
        rows = [ItemRow(code=i.sku.code, quantity=str(i.quantity), sku=i.sku) for i in mapping.items.all()]
    return MappingForm(initial=initial, rows=rows)


@require_GET
@permission_required(VIEW, raise_exception=True)
def matching_edit_view(request: AuthedHttpRequest) -> HttpResponse:
    _section(request)
    form = _initial_form(request)
    inline = bool(request.htmx) and bool(form.initial.get("dom_id"))
    if inline and not DOM_ID.match(form.initial["dom_id"]):
        raise Http404
    context = _editor_context(request, form, inline=inline)
    if request.htmx:
        return render(request, "orders/matching_edit.html#editor", context)
    return render(request, "orders/matching_edit.html", context)


def _safe_next(request: AuthedHttpRequest, target: str) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=False
    ):
        return target
    return reverse("orders:matching")


def _counts_message(mapped: int, reserved: int, short: int) -> str:
    return _("Lines mapped: %(mapped)d · stock reserved: %(reserved)d · short of stock: %(short)d.") % {
        "mapped": mapped,
        "reserved": reserved,
        "short": short,
    }


@require_POST
@permission_required(CHANGE, raise_exception=True)
def matching_save_view(request: AuthedHttpRequest) -> HttpResponse:
    _section(request)
    form = MappingForm(request.POST)
    inline = bool(request.htmx) and bool(DOM_ID.match(request.POST.get("dom_id", "")))
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = option_mapping_save(
                account=data["account"],
                channel_product_id=data["channel_product_id"],
                option_key=data["option_key"],
                product_name=data["product_name"],
                option_text=data["option_text"],
                items=data["items"],
                actor=request.user,
            )
        except MappingError as refused:
            for error in refused.errors:
                form.add_error(None, error)
        else:
            counts = result.counts
            if counts.mapped:
                counts_invalidate()  # the order list's 매칭 필요 / 재고 부족 tabs
            summary = _counts_message(counts.mapped, counts.reserved, counts.short)
            if inline:
                response = render(
                    request,
                    "orders/matching_list.html#saved",
                    {"result": result, "summary": summary, "dom_id": data["dom_id"], "form": form},
                )
                # The tab counts above the list refresh themselves on this event.
                return trigger_client_event(response, "matching-changed")
            if counts.mapped:
                messages.success(request, _("Mapping saved.") + " " + summary)
            else:
                messages.success(
                    request,
                    _(
                        "Mapping saved. No order waits for this option now; "
                        "later orders of it are mapped as they come in."
                    ),
                )
            if counts.short:
                messages.warning(
                    request,
                    _("Some lines are short of stock: see 재고 부족 and use 재할당 once stock arrives."),
                )
            return redirect(_safe_next(request, data.get("next") or ""))
    context = _editor_context(request, form, inline=inline)
    if inline:
        response = render(request, "orders/matching_edit.html#editor", context)
        return reswap(retarget(response, f"#editor-{context['dom_id']}"), "innerHTML")
    return render(request, "orders/matching_edit.html", context, status=400 if not request.htmx else 200)


@require_GET
@permission_required(VIEW, raise_exception=True)
def matching_sku_search_view(request: AuthedHttpRequest) -> HttpResponse:
    """Search as you type in the editor: active SKUs by code, barcode, product or option."""
    text = (request.GET.get("q") or request.GET.get("sku") or "").strip()[:100]
    hits = sku_search(text=text) if text else []
    return render(request, "orders/matching_edit.html#sku-results", {"hits": hits, "text": text})


@require_POST
@permission_required(CHANGE, raise_exception=True)
def matching_auto_view(request: AuthedHttpRequest) -> HttpResponse:
    """SKU 코드로 자동 매칭 over every waiting group, or one account's."""
    form = AccountScopeForm(request.POST)
    account = form.cleaned_data.get("account") if form.is_valid() else None
    result = unmapped_auto_match(actor=request.user, account=account)
    if result.mapped:
        counts_invalidate()
    if result.mapped or result.mappings_created:
        messages.success(
            request,
            _("Auto-match made %(created)d mappings.") % {"created": result.mappings_created}
            + " "
            + _counts_message(result.mapped, result.reserved, result.short),
        )
    else:
        messages.info(request, _("Auto-match found no waiting option whose codes name an active SKU."))
    if result.conflicts:
        messages.warning(
            request,
            _("%(n)d options were left alone because their orders name different SKUs: map them by hand.")
            % {"n": result.conflicts},
        )
    url = reverse("orders:matching")
    return redirect(f"{url}?account={account.pk}" if account else url)


# --- Saved mappings --------------------------------------------------------------------------------


@require_GET
@permission_required(VIEW, raise_exception=True)
def matching_mappings_view(request: AuthedHttpRequest) -> HttpResponseBase:
    _section(request)
    filter_form = MappingFilterForm(request.GET or None)
    queryset = option_mapping_list(filters=_filters(filter_form))
    if request.GET.get("format") == "xlsx":
        return _mappings_xlsx(queryset)
    page = page_from_request(request, queryset, order=("-pk",))
    context = {
        "filter_form": filter_form,
        "page": page,
        "mappings": page.items,
        "filter_query": querystring_without(request.GET, "after", "before", "format"),
        "total": queryset.count(),
        "counts": matching_counts(),
        "can_change": request.user.has_perm(CHANGE),
    }
    if request.htmx and request.htmx.target == "results":
        return render(request, "orders/matching_mappings.html#results", context)
    return render(request, "orders/matching_mappings.html", context)


def _mappings_xlsx(queryset: Any) -> HttpResponseBase:
    rows = (
        [
            m.account.name,
            m.channel_product_id,
            m.product_name,
            m.option_text or m.option_key,
            m.option_key,
            item.sku.code,
            item.sku.product.name,
            item.sku.option_label,
            item.quantity,
            m.created_by.display_name if m.created_by else "",
            m.created_at,
        ]
        for m in queryset.order_by("-pk").iterator(chunk_size=500)
        for item in m.items.all()
    )
    headers = [
        _("Channel account"),
        _("Channel product id"),
        _("Channel product name"),
        _("Channel option"),
        _("Option key"),
        _("SKU code"),
        _("Product name"),
        _("Option"),
        _("Quantity"),
        _("Created by"),
        _("Created"),
    ]
    return xlsx_response(filename="option-mappings.xlsx", sheet=_("Mappings"), headers=headers, rows=rows)


@require_POST
@permission_required(CHANGE, raise_exception=True)
def matching_mapping_delete_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    mapping = get_object_or_404(OptionMapping.objects.select_related("account"), pk=pk)
    label = (
        f"{mapping.product_name or mapping.channel_product_id} / {mapping.option_text or mapping.option_key}"
    )
    option_mapping_delete(mapping=mapping, actor=request.user)
    messages.success(
        request,
        _(
            "Mapping “%(label)s” deleted. Orders already mapped keep their SKUs; "
            "new orders of it will need mapping."
        )
        % {"label": label},
    )
    return redirect(_safe_next(request, request.POST.get("next") or reverse("orders:matching_mappings")))


# --- 재고 부족 and 재할당 ------------------------------------------------------------------------------


@require_GET
@permission_required(VIEW, raise_exception=True)
def backorder_list_view(request: AuthedHttpRequest) -> HttpResponseBase:
    _section(request)
    filter_form = BackorderFilterForm(request.GET or None)
    filters = _filters(filter_form)
    queryset = backorder_line_list(filters=filters)
    if request.GET.get("format") == "xlsx":
        return _backorders_xlsx(queryset)
    page = page_from_request(request, queryset, order=BACKORDER_ORDER)
    context = {
        "filter_form": filter_form,
        "page": page,
        "rows": backorder_rows(page.items),
        "filter_query": querystring_without(request.GET, "after", "before", "format"),
        "total": queryset.count(),
        "counts": matching_counts(),
        "preview": backorder_reassign_preview(account=filters.get("account")),
        "shortages": backorder_sku_totals(account=filters.get("account")),
        "scope_account": filters.get("account"),
        "can_change": request.user.has_perm(CHANGE),
    }
    if request.htmx and request.htmx.target == "results":
        return render(request, "orders/backorders.html#results", context)
    return render(request, "orders/backorders.html", context)


def _backorders_xlsx(queryset: Any) -> HttpResponseBase:
    def rows() -> Any:
        for chunk in _chunked(queryset.order_by(*BACKORDER_ORDER), 500):
            for row in backorder_rows(chunk):
                line = row.line
                for need in row.needs:
                    yield [
                        line.ordered_at,
                        line.account.name,
                        line.order.external_order_id,
                        line.external_line_id,
                        line.product_name,
                        line.option_text,
                        line.quantity,
                        line.get_status_display(),
                        need.sku.code,
                        need.needed,
                        need.free,
                        need.short,
                    ]

    headers = [
        _("Ordered"),
        _("Channel account"),
        _("Order no."),
        _("Line no."),
        _("Product"),
        _("Option"),
        _("Quantity"),
        _("Status"),
        _("SKU code"),
        _("Needed"),
        _("Free now"),
        _("Short"),
    ]
    return xlsx_response(filename="backorders.xlsx", sheet=_("Short of stock"), headers=headers, rows=rows())


@require_POST
@permission_required(CHANGE, raise_exception=True)
def backorder_reassign_view(request: AuthedHttpRequest) -> HttpResponse:
    """재할당: reserve waiting backorder lines oldest first, for one account or all."""
    form = AccountScopeForm(request.POST)
    account = form.cleaned_data.get("account") if form.is_valid() else None
    result = backorder_reassign(actor=request.user, account=account)
    if result.reserved:
        counts_invalidate()
    if result.reserved:
        messages.success(
            request,
            _("Stock reserved for %(reserved)d lines, oldest first. Still short: %(short)d.")
            % {"reserved": result.reserved, "short": result.short},
        )
    elif result.short:
        messages.warning(
            request,
            _("No line could be reserved yet: %(short)d lines are still short of stock. Receive stock first.")
            % {"short": result.short},
        )
    else:
        messages.info(request, _("No line is waiting for stock."))
    url = reverse("orders:backorders")
    return redirect(f"{url}?account={account.pk}" if account else url)
