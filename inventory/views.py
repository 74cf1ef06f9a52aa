"""Stock pages: the overview, the 재고 부족 list, a SKU's stock and ledger, the four stock
forms (입고 / 조정 / 이동 / 실사) and locations. Views are thin: a form, one service call."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Sku
from inventory.forms import (
    ADJUST_REASONS,
    LocationForm,
    LowStockFilterForm,
    MovementFilterForm,
    StockAdjustForm,
    StockCountForm,
    StockFilterForm,
    StockReceiveForm,
    StockTransferForm,
)
from inventory.location_services import location_create, location_update
from inventory.models import Location, StockLevel, StockMovement
from inventory.selectors import (
    LOW_STOCK_ORDER,
    LocationLevel,
    StockState,
    available_map,
    bundle_components,
    level_values_by_sku,
    levels_by_sku,
    location_list,
    low_stock_list,
    sku_levels,
    sku_movements,
    sku_stock_get,
    stock_locations,
    stock_overview,
    stock_state,
)
from inventory.services import InventoryError, stock_adjust, stock_count, stock_receive, stock_transfer
from oms.excel import xlsx_response
from oms.http import AuthedHttpRequest
from oms.listing import page_from_request, querystring_without

# --- Overview and 재고 부족 -----------------------------------------------------------------------


@dataclass(frozen=True)
class StockRow:
    """One SKU on the overview: its figures (available and the badge from the database), one
    cell per location column, and on hand / reserved summed over every location it is at."""

    sku: Sku
    cells: list[LocationLevel]
    on_hand_total: int
    reserved_total: int

    @property
    def state(self) -> StockState:
        return stock_state(self.sku.available, self.sku.low_stock_threshold)  # type: ignore[attr-defined]


def _stock_rows(skus: Sequence[Sku], locations: Sequence[Location]) -> list[StockRow]:
    """The rows of one page: one query for all their stock levels."""
    levels = levels_by_sku(sku_ids=[s.pk for s in skus])
    rows = []
    for sku in skus:
        held = levels.get(sku.pk, {})
        rows.append(
            StockRow(
                sku=sku,
                cells=_cells(held, locations),
                on_hand_total=sum(lv.on_hand for lv in held.values()),
                reserved_total=sum(lv.reserved for lv in held.values()),
            )
        )
    return rows


def _cells(levels: dict[int, StockLevel], locations: Sequence[Location]) -> list[LocationLevel]:
    out = []
    for location in locations:
        level = levels.get(location.pk)
        out.append(
            LocationLevel(
                location=location,
                on_hand=level.on_hand if level else 0,
                reserved=level.reserved if level else 0,
                updated_at=level.updated_at if level else None,
            )
        )
    return out


XLSX_FIELDS = (
    "pk",
    "code",
    "product__code",
    "product__name",
    "option_label",
    "barcode",
    "product__brand",
    "product__category",
    "safety_stock",
    "available",
    "low_stock_threshold",
)
XLSX_CHUNK = 2000


def _stock_xlsx(
    queryset: QuerySet[Sku],
    locations: Sequence[Location],
    *,
    order: tuple[str, ...],
    filename: str,
    sheet: str,
) -> HttpResponseBase:
    """What the filters show, every row, with one on-hand and one reserved column per location.

    Plain values, not model instances, and one stock-level query per 2,000 SKUs: a 100k-SKU
    catalogue downloads in seconds."""
    headers = [
        _("SKU code"),
        _("Product code"),
        _("Product name"),
        _("Option"),
        _("Barcode"),
        _("Brand"),
        _("Category"),
    ]
    for location in locations:
        headers += [
            _("%(location)s on hand") % {"location": location.name},
            _("%(location)s reserved") % {"location": location.name},
        ]
    headers += [
        _("On hand"),
        _("Reserved"),
        _("Safety stock"),
        _("Available"),
        _("Low-stock threshold"),
        _("Stock state"),
    ]
    labels = {state: str(state.label) for state in StockState}

    def rows() -> Iterator[list[Any]]:
        values = queryset.order_by(*order).values_list(*XLSX_FIELDS).iterator(chunk_size=XLSX_CHUNK)
        while chunk := list(islice(values, XLSX_CHUNK)):
            levels = level_values_by_sku(sku_ids=[r[0] for r in chunk])
            for pk, *text, safety, available, threshold in chunk:
                held = levels.get(pk, {})
                yield [
                    *text,
                    *(n for loc in locations for n in held.get(loc.pk, (0, 0))),
                    sum(on_hand for on_hand, _r in held.values()),
                    sum(reserved for _o, reserved in held.values()),
                    safety,
                    available,
                    threshold,
                    labels[stock_state(available, threshold)],
                ]

    return xlsx_response(filename=filename, sheet=sheet, headers=headers, rows=rows())


def _stock_list(
    request: AuthedHttpRequest,
    *,
    filter_form: StockFilterForm,
    queryset_for: Callable[..., QuerySet[Sku]],
    order: tuple[str, ...],
    template: str,
    xlsx_name: str,
    sheet: str,
) -> HttpResponseBase:
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    queryset = queryset_for(filters=filters)
    location = filters.get("location")
    locations = [location] if location else list(stock_locations())
    if request.GET.get("format") == "xlsx":
        return _stock_xlsx(queryset, locations, order=order, filename=xlsx_name, sheet=sheet)
    page = page_from_request(request, queryset, order=order)
    context = {
        "filter_form": filter_form,
        "page": page,
        "rows": _stock_rows(page.items, locations),
        "locations": locations,
        "filter_query": querystring_without(request.GET, "after", "before", "format"),
        "total": queryset.count(),
        "next_url": request.get_full_path(),
    }
    if request.htmx:
        return render(request, f"{template}#results", context)
    return render(request, template, context)


@permission_required("inventory.view_stocklevel", raise_exception=True)
def stock_list_view(request: AuthedHttpRequest) -> HttpResponseBase:
    """재고 현황: every single SKU with its stock per location, available and badge."""
    return _stock_list(
        request,
        filter_form=StockFilterForm(request.GET or None),
        queryset_for=stock_overview,
        order=("code", "pk"),
        template="inventory/stock_list.html",
        xlsx_name="stock.xlsx",
        sheet=_("Stock"),
    )


@permission_required("inventory.view_stocklevel", raise_exception=True)
def low_stock_view(request: AuthedHttpRequest) -> HttpResponseBase:
    """재고 부족: active SKUs at or below their low-stock threshold, the emptiest first."""
    return _stock_list(
        request,
        filter_form=LowStockFilterForm(request.GET or None),
        queryset_for=low_stock_list,
        order=LOW_STOCK_ORDER,
        template="inventory/low_stock.html",
        xlsx_name="low-stock.xlsx",
        sheet=_("Low stock"),
    )


# --- One SKU: levels and ledger ------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceKind:
    """A kind of ledger reference ("<prefix>:<id>"): how it reads, and the page it links to
    for users with `permission` (reverse(url_name, args=[id]))."""

    label: Any
    url_name: str | None = None
    permission: str | None = None


REFERENCE_KINDS = {
    # An order line is shown on its order's page: its id is looked up (one query per page).
    "orderline": ReferenceKind(gettext_lazy("Order line %(id)s"), "orders:order_detail", "orders.view_order"),
    "import": ReferenceKind(
        gettext_lazy("Excel upload %(id)s"), "inventory:stock_import_detail", "inventory.change_stocklevel"
    ),
    "shipment": ReferenceKind(
        gettext_lazy("Shipment %(id)s"), "shipping:shipment_detail", "shipping.view_shipment"
    ),
    "claim": ReferenceKind(gettext_lazy("Claim %(id)s"), "cs:claim_detail", "cs.view_claim"),
    "transfer": ReferenceKind(gettext_lazy("Transfer %(id)s")),
}


@dataclass(frozen=True)
class Reference:
    text: str
    label: str
    url: str | None


def _reverse_or_none(url_name: str, arg: int) -> str | None:
    # A page another app has not built yet: the reference shows as text until it exists.
    try:
        return reverse(url_name, args=[arg])
    except NoReverseMatch:
        return None


def _order_ids(line_ids: set[int]) -> dict[int, int]:
    if not line_ids:
        return {}
    from orders.models import OrderLine  # inventory is below orders: read it only here

    return dict(OrderLine.objects.filter(pk__in=line_ids).values_list("pk", "order_id"))


def ledger_references(references: Iterable[str], *, user: Any) -> dict[str, Reference]:
    """{reference: how it shows} for one page of the ledger: "orderline:12" reads "Order line
    12" and links to its order (at the line) for users who may see orders; "import:7" links to
    the Excel upload; a reference without a known prefix shows as typed."""
    parsed = {}
    for reference in set(references):
        prefix, sep, ident = reference.partition(":")
        kind = REFERENCE_KINDS.get(prefix) if sep else None
        parsed[reference] = (prefix, ident, kind)
    orders = _order_ids(
        {int(ident) for prefix, ident, _k in parsed.values() if prefix == "orderline" and ident.isdigit()}
    )
    out = {}
    for reference, (prefix, ident, kind) in parsed.items():
        if kind is None or not ident:
            out[reference] = Reference(reference, reference, None)
            continue
        url = None
        allowed = kind.permission is None or user.has_perm(kind.permission)
        if kind.url_name and allowed and ident.isdigit():
            if prefix == "orderline":
                order_id = orders.get(int(ident))
                url = _reverse_or_none(kind.url_name, order_id) if order_id else None
                url = f"{url}#line-{ident}" if url else None
            else:
                url = _reverse_or_none(kind.url_name, int(ident))
        out[reference] = Reference(reference, str(kind.label % {"id": ident}), url)
    return out


@dataclass(frozen=True)
class LedgerRow:
    movement: StockMovement
    reference: Reference | None


ACTIONS: list[tuple[str, Any]] = [
    ("receive", gettext_lazy("Receive")),
    ("adjust", gettext_lazy("Adjust")),
    ("transfer", gettext_lazy("Transfer")),
    ("count", gettext_lazy("Stock count")),
]


def _ledger_rows(movements: Sequence[StockMovement], *, user: Any) -> list[LedgerRow]:
    references = ledger_references((m.reference for m in movements if m.reference), user=user)
    return [LedgerRow(m, references.get(m.reference)) for m in movements]


def _get_sku(pk: int) -> Sku:
    try:
        return sku_stock_get(pk=pk)
    except Sku.DoesNotExist:
        raise Http404(_("No such SKU.")) from None


def _safe_next(request: AuthedHttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _sku_page(
    request: AuthedHttpRequest,
    sku: Sku,
    *,
    action: str | None = None,
    action_form: forms.Form | None = None,
    status: int = 200,
) -> HttpResponse:
    if action is None and not sku.is_bundle and request.user.has_perm("inventory.change_stocklevel"):
        # Goods arriving is what people come here for most: the receive form is open by default.
        action, action_form = "receive", StockReceiveForm(initial=_initial_location(request))
    movement_filter = MovementFilterForm(request.GET or None)
    movement_filters = movement_filter.cleaned_data if movement_filter.is_valid() else {}
    page = page_from_request(request, sku_movements(sku=sku, filters=movement_filters), order=("-pk",))
    context: dict[str, Any] = {
        "sku": sku,
        "levels": [],
        "components": [],
        "movement_filter": movement_filter,
        "page": page,
        "ledger": _ledger_rows(page.items, user=request.user),
        "filter_query": querystring_without(request.GET, "after", "before", "format"),
        "actions": ACTIONS,
        "action": action,
        "action_form": action_form,
        "adjust_reasons": ADJUST_REASONS,
        "next_url": _safe_next(request) or "",
    }
    if sku.is_bundle:
        components = bundle_components(sku=sku)
        available = available_map([sku.pk, *(item.component_id for item in components)])
        context["components"] = [
            (item, available.get(item.component_id, 0), available.get(item.component_id, 0) // item.quantity)
            for item in components
        ]
        context["available"] = available.get(sku.pk, 0)
    else:
        levels = sku_levels(sku=sku)
        context["levels"] = levels
        context["on_hand_total"] = sum(lv.on_hand for lv in levels)
        context["reserved_total"] = sum(lv.reserved for lv in levels)
        context["available"] = sku.available  # type: ignore[attr-defined]
    context["state"] = stock_state(context["available"], sku.low_stock_threshold)
    context["product_url"] = _product_url(sku)
    if request.htmx and request.htmx.target == "ledger":
        return render(request, "inventory/sku_stock.html#ledger", context, status=status)
    return render(request, "inventory/sku_stock.html", context, status=status)


def _product_url(sku: Sku) -> str | None:
    """The catalog's page for the SKU's product, once the catalog serves one."""
    try:
        return reverse("catalog:product_detail", args=[sku.product_id])
    except NoReverseMatch:
        return None


@permission_required("inventory.view_stocklevel", raise_exception=True)
def sku_stock_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    """A SKU's stock per location and its ledger, newest first (?format=xlsx: the ledger)."""
    sku = _get_sku(pk)
    if request.GET.get("format") == "xlsx":
        return _ledger_xlsx(request, sku)
    return _sku_page(request, sku)


_UNSAFE_FILENAME = re.compile(r"[^\w.-]+")


def _ledger_xlsx(request: AuthedHttpRequest, sku: Sku) -> HttpResponseBase:
    """The SKU's ledger as the filters show it, newest first, every row."""
    movement_filter = MovementFilterForm(request.GET)
    filters = movement_filter.cleaned_data if movement_filter.is_valid() else {}
    movements = sku_movements(sku=sku, filters=filters).order_by("-pk")
    types = dict(StockMovement.Type.choices)
    headers = [
        _("Time"),
        _("Type"),
        _("Location"),
        _("On-hand change"),
        _("Reserved change"),
        _("On hand after"),
        _("Reserved after"),
        _("Reason"),
        _("Reference"),
        _("User"),
    ]

    def rows() -> Iterator[list[Any]]:
        for m in movements.iterator(chunk_size=2000):
            yield [
                m.created_at,
                str(types.get(m.type, m.type)),
                m.location.name,
                m.quantity,
                m.reserved_delta,
                m.on_hand_after,
                m.reserved_after,
                m.reason or None,
                m.reference or None,
                m.user.display_name if m.user else None,
            ]

    return xlsx_response(
        filename=f"ledger-{_UNSAFE_FILENAME.sub('_', sku.code)}.xlsx",
        sheet=_("Stock ledger"),
        headers=headers,
        rows=rows(),
    )


def _initial_location(request: AuthedHttpRequest) -> dict[str, Any]:
    # "at", not "location": that name filters the ledger on the same page.
    raw = request.GET.get("at", "")
    return {"location": int(raw), "from_location": int(raw)} if raw.isdigit() else {}


def _stock_form_view(
    request: AuthedHttpRequest, pk: int, *, action: str, form_class: type[forms.Form], perform: Any
) -> HttpResponse:
    """GET: the SKU page with this form open. POST: validate, call the service once, and go
    back (to ?next= or the SKU page); a refused change re-shows the form with why."""
    sku = _get_sku(pk)
    if sku.is_bundle:
        messages.error(
            request,
            _("%(sku)s is a bundle: its stock is kept on its components.") % {"sku": sku.code},
        )
        return redirect("inventory:sku_stock", pk=sku.pk)
    if request.method != "POST":
        return _sku_page(
            request, sku, action=action, action_form=form_class(initial=_initial_location(request))
        )
    form = form_class(request.POST)
    if form.is_valid():
        try:
            message = perform(sku, form.cleaned_data, request.user)
        except InventoryError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, message)
            return HttpResponseRedirect(_safe_next(request) or _again_url(sku, action, form.cleaned_data))
    return _sku_page(request, sku, action=action, action_form=form, status=400)


def _again_url(sku: Sku, action: str, data: dict[str, Any]) -> str:
    """Back to the SKU page with the same form open at the same location: the next box of a
    delivery is one quantity away."""
    location = data.get("location") or data.get("from_location")
    url = reverse(f"inventory:stock_{action}", args=[sku.pk])
    return f"{url}?at={location.pk}" if location is not None else url


def _receive(sku: Sku, data: dict[str, Any], actor: Any) -> str:
    movement = stock_receive(
        sku=sku,
        location=data["location"],
        quantity=data["quantity"],
        reason=data["reason"],
        reference=data["reference"],
        actor=actor,
    )
    return _("Received %(quantity)d × %(sku)s at %(location)s. On hand there: %(after)d.") % {
        "quantity": data["quantity"],
        "sku": sku.code,
        "location": data["location"].name,
        "after": movement.on_hand_after,
    }


def _adjust(sku: Sku, data: dict[str, Any], actor: Any) -> str:
    movement = stock_adjust(
        sku=sku, location=data["location"], delta=data["delta"], reason=data["reason"], actor=actor
    )
    return _("Adjusted %(sku)s at %(location)s by %(delta)+d (%(reason)s). On hand there: %(after)d.") % {
        "sku": sku.code,
        "location": data["location"].name,
        "delta": data["delta"],
        "reason": data["reason"],
        "after": movement.on_hand_after,
    }


def _transfer(sku: Sku, data: dict[str, Any], actor: Any) -> str:
    stock_transfer(
        sku=sku,
        from_location=data["from_location"],
        to_location=data["to_location"],
        quantity=data["quantity"],
        reason=data["reason"],
        actor=actor,
    )
    return _("Moved %(quantity)d × %(sku)s from %(source)s to %(target)s.") % {
        "quantity": data["quantity"],
        "sku": sku.code,
        "source": data["from_location"].name,
        "target": data["to_location"].name,
    }


def _count(sku: Sku, data: dict[str, Any], actor: Any) -> str:
    movement = stock_count(
        sku=sku, location=data["location"], counted=data["counted"], reason=data["reason"], actor=actor
    )
    if movement is None:
        return _("%(sku)s at %(location)s: the count matches the system (%(counted)d); nothing changed.") % {
            "sku": sku.code,
            "location": data["location"].name,
            "counted": data["counted"],
        }
    return _("Counted %(sku)s at %(location)s: %(counted)d (%(delta)+d).") % {
        "sku": sku.code,
        "location": data["location"].name,
        "counted": data["counted"],
        "delta": movement.quantity,
    }


@permission_required("inventory.change_stocklevel", raise_exception=True)
def stock_receive_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _stock_form_view(request, pk, action="receive", form_class=StockReceiveForm, perform=_receive)


@permission_required("inventory.change_stocklevel", raise_exception=True)
def stock_adjust_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _stock_form_view(request, pk, action="adjust", form_class=StockAdjustForm, perform=_adjust)


@permission_required("inventory.change_stocklevel", raise_exception=True)
def stock_transfer_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _stock_form_view(request, pk, action="transfer", form_class=StockTransferForm, perform=_transfer)


@permission_required("inventory.change_stocklevel", raise_exception=True)
def stock_count_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _stock_form_view(request, pk, action="count", form_class=StockCountForm, perform=_count)


# --- Locations -----------------------------------------------------------------------------------


@permission_required("inventory.view_location", raise_exception=True)
def location_list_view(request: AuthedHttpRequest) -> HttpResponse:
    return render(request, "inventory/location_list.html", {"locations": location_list()})


@permission_required("inventory.add_location", raise_exception=True)
def location_create_view(request: AuthedHttpRequest) -> HttpResponse:
    form = LocationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            location = location_create(values=form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Location %(name)s created.") % {"name": location.name})
            return redirect("inventory:location_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "inventory/location_form.html", {"form": form, "creating": True}, status=status)


@permission_required("inventory.change_location", raise_exception=True)
def location_edit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    form = LocationForm(request.POST or None, instance=location)
    if request.method == "POST" and form.is_valid():
        try:
            location = location_update(location=location, values=form.cleaned_data, actor=request.user)
        except InventoryError as exc:
            form.add_error("is_active", str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Location %(name)s saved.") % {"name": location.name})
            return redirect("inventory:location_list")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "inventory/location_form.html", {"form": form, "location": location}, status=status
    )
