"""Catalog screens: the product list with bulk edit, the product page with SKUs edited in place,
product creation from an option matrix, and the bundle (세트상품) editor.

Every page works without JavaScript; with htmx the same views answer with a fragment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from catalog.excel import catalogue_response
from catalog.forms import (
    BulkEditForm,
    BundleComponentsForm,
    BundleForm,
    OptionAxesForm,
    ProductEditForm,
    ProductFilterForm,
    ProductForm,
    ProductPriceForm,
    SkuAddForm,
    SkuDraftFormSet,
    SkuInlineForm,
    sku_drafts,
)
from catalog.models import Product, Sku
from catalog.selectors import (
    LIST_ORDER,
    StockState,
    brand_choices,
    bundle_components,
    bundle_sellable,
    category_choices,
    product_code_taken,
    product_history,
    product_skus,
    sku_list,
    sku_search,
    sku_stock_rows,
    skus_by_codes,
    stock_state,
)
from catalog.services import (
    BulkPreview,
    CatalogError,
    MatrixRow,
    NameMode,
    PriceMode,
    bundle_create,
    bundle_set_components,
    option_matrix,
    option_matrix_errors,
    product_bulk_rename,
    product_bulk_rename_preview,
    product_create,
    product_set_sku_status,
    product_update,
    sku_add,
    sku_bulk_price,
    sku_bulk_price_preview,
    sku_bulk_status,
    sku_bulk_status_preview,
    sku_update,
)
from inventory.selectors import available_map
from oms.excel import xlsx_response
from oms.forms import flash_errors
from oms.http import AuthedHttpRequest
from oms.listing import page_from_request, querystring_without, selected_queryset

LIST_KEYS = ("after", "before", "format")


def _add_errors(form: Any, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        form.add_error(name if name in form.fields else None, message)


# --- Product list, Excel download and bulk edit ------------------------------------------------------


def _list_url(filter_query: str) -> str:
    url = reverse("catalog:product_list")
    return f"{url}?{filter_query}" if filter_query else url


def _xlsx(queryset: Any) -> HttpResponseBase:
    headers = [
        _("Product code"),
        _("Product name"),
        _("Brand"),
        _("Category"),
        _("Option"),
        _("SKU code"),
        _("Kind"),
        _("Barcode"),
        _("Sale price"),
        _("Extra price"),
        _("Price"),
        _("Cost"),
        _("Safety stock"),
        _("Low-stock threshold"),
        _("Available"),
        _("Stock"),
        _("Sale status"),
        _("In use"),
    ]

    def rows() -> Any:
        chunk: list[Sku] = []
        for sku in queryset.order_by(*LIST_ORDER).iterator(chunk_size=1000):
            chunk.append(sku)
            if len(chunk) == 1000:
                yield from _xlsx_rows(chunk)
                chunk = []
        yield from _xlsx_rows(chunk)

    return xlsx_response(filename="products.xlsx", sheet=_("Products"), headers=headers, rows=rows())


def _xlsx_rows(skus: list[Sku]) -> Any:
    for sku, available, state in sku_stock_rows(skus):
        product = sku.product
        yield [
            product.code,
            product.name,
            product.brand,
            product.category,
            sku.option_label,
            sku.code,
            sku.get_kind_display(),
            sku.barcode,
            product.sale_price,
            sku.extra_price,
            sku.price,
            sku.cost,
            sku.safety_stock,
            sku.low_stock_threshold,
            available,
            str(state.label),
            sku.get_status_display(),
            _("Yes") if sku.is_active else _("No"),
        ]


@permission_required("catalog.view_product", raise_exception=True)
def product_list_view(request: AuthedHttpRequest) -> HttpResponseBase:
    filter_form = ProductFilterForm(request.GET or None)
    queryset = sku_list(filters=filter_form.filters())
    if request.GET.get("format") == "xlsx":
        return _xlsx(queryset)
    if request.GET.get("format") == "upload":
        # The same SKUs in the bulk upload layout (catalog.excel): edit and upload back.
        skus = queryset.order_by(*LIST_ORDER).iterator(chunk_size=2000)
        return catalogue_response(skus, filename="products-for-upload.xlsx")
    page = page_from_request(request, queryset, order=LIST_ORDER)
    context: dict[str, Any] = {
        "filter_form": filter_form,
        "page": page,
        "rows": sku_stock_rows(page.items),
        "filter_query": querystring_without(request.GET, *LIST_KEYS),
        "total": queryset.count(),
        "bulk_form": BulkEditForm(prefix="bulk"),
        "brands": brand_choices(),
        "categories": category_choices(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "catalog/product_list.html#results", context)
    return render(request, "catalog/product_list.html", context)


def _carry_fields(data: QueryDict) -> list[tuple[str, str]]:
    """The posted selection and action, to post again from the preview's Apply button."""
    return [
        (key, value)
        for key, values in data.lists()
        if key not in {"csrfmiddlewaretoken", "confirm"}
        for value in values
    ]


@require_POST
@permission_required("catalog.change_sku", raise_exception=True)
def product_bulk_view(request: AuthedHttpRequest) -> HttpResponse:
    """Bulk edit the checked SKUs, or all SKUs matching the filters: a preview first (old ->
    new, refusals), then Apply."""
    filter_form = ProductFilterForm(request.POST)
    filters = filter_form.filters()
    filter_query = querystring_without(_filter_data(request.POST), *LIST_KEYS)
    selected = selected_queryset(request.POST, sku_list(filters=filters))
    form = BulkEditForm(request.POST, prefix="bulk")
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(_list_url(filter_query))
    action = form.cleaned_data["action"]
    if action == "name" and not request.user.has_perm("catalog.change_product"):
        raise PermissionDenied
    if not selected.exists():
        messages.error(request, _("Select at least one SKU first."))
        return redirect(_list_url(filter_query))
    data = form.cleaned_data
    error = ""
    if request.POST.get("confirm") == "1":
        try:
            if action == "price":
                result = sku_bulk_price(
                    actor=request.user, skus=selected, mode=data["price_mode"], amount=data["price_amount"]
                )
            elif action == "name":
                result = product_bulk_rename(
                    actor=request.user, skus=selected, mode=data["name_mode"], text=data["name_text"]
                )
            else:
                result = sku_bulk_status(actor=request.user, skus=selected, status=data["status"])
        except CatalogError as exc:
            error = str(exc)
        else:
            if action == "name":
                text = ngettext(
                    "%(count)d product renamed.", "%(count)d products renamed.", result.changed
                ) % {"count": result.changed}
            else:
                text = ngettext("%(count)d SKU updated.", "%(count)d SKUs updated.", result.changed) % {
                    "count": result.changed
                }
            messages.success(request, text)
            if result.unchanged:
                messages.info(
                    request,
                    ngettext(
                        "%(count)d already had this value and was left as it was.",
                        "%(count)d already had this value and were left as they were.",
                        result.unchanged,
                    )
                    % {"count": result.unchanged},
                )
            return redirect(_list_url(filter_query))
    preview = _bulk_preview(selected, data)
    context = {
        "preview": preview,
        "action": action,
        "description": _bulk_description(data),
        "carry": _carry_fields(request.POST),
        "back_url": _list_url(filter_query),
        "error": error,
    }
    return render(request, "catalog/bulk_preview.html", context, status=400 if error else 200)


def _filter_data(data: QueryDict) -> QueryDict:
    out = QueryDict(mutable=True)
    for name in ProductFilterForm.base_fields:
        value = data.get(name)
        if isinstance(value, str) and value:
            out[name] = value
    return out


def _bulk_preview(selected: Any, data: dict[str, Any]) -> BulkPreview:
    if data["action"] == "price":
        return sku_bulk_price_preview(skus=selected, mode=data["price_mode"], amount=data["price_amount"])
    if data["action"] == "name":
        return product_bulk_rename_preview(skus=selected, mode=data["name_mode"], text=data["name_text"])
    return sku_bulk_status_preview(skus=selected, status=data["status"])


def _bulk_description(data: dict[str, Any]) -> str:
    if data["action"] == "price":
        amount: Decimal = data["price_amount"]
        shown = f"{amount.normalize():f}" if amount % 1 else f"{int(amount):,}"
        return _("Price: %(mode)s %(amount)s (rounded to 10 won)") % {
            "mode": PriceMode(data["price_mode"]).label,
            "amount": shown,
        }
    if data["action"] == "name":
        return _("Product name: %(mode)s “%(text)s”") % {
            "mode": NameMode(data["name_mode"]).label,
            "text": data["name_text"].strip(),
        }
    return _("Sale status: %(status)s") % {"status": Product.Status(data["status"]).label}


# --- Product page and SKUs in place ---------------------------------------------------------------


@dataclass
class SkuRow:
    sku: Sku
    form: SkuInlineForm | None
    available: int
    state: StockState
    components: list[Any]
    saved: bool = False


def _sku_rows(product: Product, *, can_edit: bool, bound: SkuInlineForm | None = None) -> list[SkuRow]:
    skus = list(product_skus(product=product))
    available = available_map(s.pk for s in skus)
    rows = []
    for sku in skus:
        sku.product = product
        if bound is not None and bound.sku.pk == sku.pk:
            form: SkuInlineForm | None = bound
        else:
            form = SkuInlineForm(sku=sku) if can_edit else None
        components = bundle_components(bundle=sku) if sku.is_bundle else []
        value = available.get(sku.pk, 0)
        rows.append(SkuRow(sku, form, value, stock_state(value, sku.low_stock_threshold), components))
    return rows


def _detail_context(
    request: AuthedHttpRequest,
    product: Product,
    *,
    bound: SkuInlineForm | None = None,
    price_form: ProductPriceForm | None = None,
) -> dict:
    can_edit = request.user.has_perm("catalog.change_sku")
    return {
        "product": product,
        "price_form": price_form or ProductPriceForm(initial={"sale_price": product.sale_price}),
        "sku_rows": _sku_rows(product, can_edit=can_edit, bound=bound),
        "can_edit": can_edit,
        "history": product_history(product=product),
        "statuses": Product.Status.choices,
    }


@permission_required("catalog.view_product", raise_exception=True)
def product_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    return render(request, "catalog/product_detail.html", _detail_context(request, product))


@require_POST
@permission_required("catalog.change_sku", raise_exception=True)
def sku_update_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Save one SKU row of the product page: the row again (htmx), or back to the page."""
    sku = get_object_or_404(Sku.objects.select_related("product"), pk=pk)
    form = SkuInlineForm(request.POST, sku=sku)
    saved = False
    if form.is_valid():
        try:
            sku = sku_update(actor=request.user, sku=sku, values=form.values())
        except CatalogError as exc:
            _add_errors(form, exc.fields)
            if exc.message:
                form.add_error(None, exc.message)
        else:
            saved = True
    if not request.htmx:
        if saved:
            messages.success(request, _("SKU %(code)s saved.") % {"code": sku.code})
            return redirect("catalog:product_detail", pk=sku.product_id)
        context = _detail_context(request, sku.product, bound=form)
        return render(request, "catalog/product_detail.html", context, status=400)
    if saved:
        form = SkuInlineForm(sku=sku)
    value = available_map([sku.pk])[sku.pk]
    components = bundle_components(bundle=sku) if sku.is_bundle else []
    row = SkuRow(sku, form, value, stock_state(value, sku.low_stock_threshold), components, saved=saved)
    context = {"row": row, "product": sku.product, "can_edit": True}
    return render(request, "catalog/product_detail.html#sku-row", context)


@require_POST
@permission_required("catalog.change_product", raise_exception=True)
def product_price_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Change the base sale price in place. Every option's price is base + extra, so with htmx
    the SKU rows come back too (out of band) showing their new prices."""
    product = get_object_or_404(Product, pk=pk)
    form = ProductPriceForm(request.POST)
    saved = False
    if form.is_valid():
        try:
            product = product_update(
                actor=request.user, product=product, values={"sale_price": form.cleaned_data["sale_price"]}
            )
        except CatalogError as exc:
            _add_errors(form, exc.fields)
        else:
            saved = True
    if not request.htmx:
        if saved:
            messages.success(request, _("Base sale price of %(code)s saved.") % {"code": product.code})
            return redirect("catalog:product_detail", pk=product.pk)
        return render(
            request,
            "catalog/product_detail.html",
            _detail_context(request, product, price_form=form),
            status=400,
        )
    context = _detail_context(request, product, price_form=None if saved else form)
    context["price_saved"] = saved
    html = render_to_string("catalog/product_detail.html#product-card", context, request=request)
    if saved:
        html += render_to_string(
            "catalog/product_detail.html#sku-rows", {**context, "oob": True}, request=request
        )
    return HttpResponse(html)


@require_POST
@permission_required("catalog.change_sku", raise_exception=True)
def product_status_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    status = request.POST.get("status", "")
    if status not in Product.Status.values:
        messages.error(request, _("Choose a sale status."))
        return redirect("catalog:product_detail", pk=pk)
    result = product_set_sku_status(actor=request.user, product=product, status=status)
    messages.success(
        request,
        ngettext("%(count)d SKU set to %(status)s.", "%(count)d SKUs set to %(status)s.", result.changed)
        % {"count": result.changed, "status": Product.Status(status).label},
    )
    return redirect("catalog:product_detail", pk=pk)


@permission_required("catalog.change_product", raise_exception=True)
def product_edit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    form = ProductEditForm(request.POST or None, initial=ProductEditForm.initial_for(product))
    if request.method == "POST" and form.is_valid():
        try:
            product_update(actor=request.user, product=product, values=form.values())
        except CatalogError as exc:
            _add_errors(form, exc.fields)
        else:
            messages.success(request, _("Product %(code)s saved.") % {"code": product.code})
            return redirect("catalog:product_detail", pk=product.pk)
    return render(request, "catalog/product_edit.html", {"form": form, "product": product})


@permission_required("catalog.add_sku", raise_exception=True)
def sku_add_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    form = SkuAddForm(request.POST or None, initial={"code": f"{product.code}-"})
    if request.method == "POST" and form.is_valid():
        try:
            sku = sku_add(actor=request.user, product=product, draft=form.draft())
        except CatalogError as exc:
            _add_errors(form, exc.fields)
        else:
            messages.success(request, _("SKU %(code)s added.") % {"code": sku.code})
            return redirect("catalog:product_detail", pk=product.pk)
    return render(request, "catalog/sku_add.html", {"form": form, "product": product})


# --- Product creation with the option matrix ---------------------------------------------------------


def _axes_signature(axes: list[tuple[str, list[str]]], product_code: str) -> str:
    return json.dumps([product_code, axes], ensure_ascii=False)


def _posted_rows(data: QueryDict) -> dict[tuple[str, ...], dict[str, str]]:
    """What the user typed on the previewed rows, by option combination, so a new preview
    (options changed) keeps edited codes, prices and barcodes where the combination remains."""
    out: dict[tuple[str, ...], dict[str, str]] = {}
    try:
        total = int(data.get("sku-TOTAL_FORMS", "0"))
    except ValueError:
        return out
    for i in range(min(total, 500)):
        try:
            values = json.loads(data.get(f"sku-{i}-values", ""))
        except ValueError:
            continue
        if isinstance(values, list):
            out[tuple(str(v) for v in values)] = {
                "code": data.get(f"sku-{i}-code", ""),
                "extra_price": data.get(f"sku-{i}-extra_price", "0"),
                "barcode": data.get(f"sku-{i}-barcode", ""),
            }
    return out


def _previous_product_code(data: QueryDict) -> str:
    try:
        previous = json.loads(data.get("signature", ""))
    except ValueError:
        return ""
    return previous[0] if isinstance(previous, list) and previous and isinstance(previous[0], str) else ""


def _preview_formset(data: QueryDict, matrix: list[MatrixRow], code: str) -> Any:
    """The matrix as an editable formset, keeping what was typed on rows that remain. Codes
    typed under a product code that has since changed move to the new one (KN-01-BK-S ->
    KN-02-BK-S)."""
    typed = _posted_rows(data)
    previous = _previous_product_code(data)
    initial = []
    for row in matrix:
        kept = typed.get(row.values, {})
        kept_code = kept.get("code", "").strip()
        if kept_code and previous and previous != code:
            if kept_code == previous:
                kept_code = code
            elif kept_code.startswith(f"{previous}-"):
                kept_code = code + kept_code[len(previous) :]
        initial.append(
            {
                "values": json.dumps(list(row.values), ensure_ascii=False),
                "code": kept_code or row.suggested_code,
                "extra_price": kept.get("extra_price") or 0,
                "barcode": kept.get("barcode", ""),
            }
        )
    return SkuDraftFormSet(initial=initial, prefix="sku")


@permission_required("catalog.add_product", raise_exception=True)
def product_create_view(request: AuthedHttpRequest) -> HttpResponse:
    """New product: fill the product and its options, preview the generated SKUs (codes,
    extra prices and barcodes editable), save. Changing the options and previewing again
    keeps what was typed on the rows that remain."""
    product_form = ProductForm(request.POST or None, initial={"cost": 0})
    axes_form = OptionAxesForm(request.POST or None)
    formset = None
    matrix: list[MatrixRow] = []
    notice = signature = ""
    if request.method == "POST" and _valid_product_and_axes(product_form, axes_form):
        code = product_form.cleaned_data["code"]
        axes = axes_form.cleaned_data["axes"]
        option_names = [name for name, _values in axes]
        signature = _axes_signature(axes, code)
        matrix = option_matrix(product_code=code, axes=axes)
        saving = request.POST.get("action") == "save"
        if saving and request.POST.get("signature") == signature:
            formset = SkuDraftFormSet(request.POST, prefix="sku")
            if formset.is_valid():
                try:
                    product = product_create(
                        actor=request.user,
                        draft=product_form.draft(option_names=option_names),
                        skus=sku_drafts(formset, option_names),
                    )
                except CatalogError as exc:
                    _add_errors(product_form, exc.fields)
                    for index, row_errors in exc.rows.items():
                        _add_errors(formset.forms[index], row_errors)
                    notice = exc.message
                else:
                    count = product.skus.count()
                    messages.success(
                        request,
                        ngettext(
                            "Product %(code)s created with %(count)d SKU.",
                            "Product %(code)s created with %(count)d SKUs.",
                            count,
                        )
                        % {"code": product.code, "count": count},
                    )
                    url = reverse("catalog:product_detail", args=[product.pk])
                    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        else:
            if saving:
                notice = _(
                    "The product code or options changed since the preview: check the SKUs and save again."
                )
            formset = _preview_formset(request.POST, matrix, code)
    context = {
        "product_form": product_form,
        "axes_form": axes_form,
        "formset": formset,
        "rows": list(zip(formset.forms, matrix, strict=False)) if formset is not None else [],
        "signature": signature,
        "notice": notice,
    }
    if request.htmx:
        return render(request, "catalog/product_create.html#create-form", context)
    return render(request, "catalog/product_create.html", context)


def _valid_product_and_axes(product_form: ProductForm, axes_form: OptionAxesForm) -> bool:
    """Both forms valid, the options make a usable matrix, and the product code is free
    (said at preview time rather than after the SKUs were checked)."""
    valid = product_form.is_valid() & axes_form.is_valid()
    if valid:
        for index, message in option_matrix_errors(axes_form.cleaned_data["axes"]).items():
            axes_form.add_error(f"option_{min(index, 2) + 1}_values", message)
            valid = False
    if product_form.is_valid() and product_code_taken(product_form.cleaned_data["code"]):
        product_form.add_error(
            "code", _("Product code %(code)s already exists.") % {"code": product_form.cleaned_data["code"]}
        )
        valid = False
    return valid


# --- SKU search and bundles ---------------------------------------------------------------------------


@require_GET
@permission_required("catalog.view_product", raise_exception=True)
def sku_search_view(request: AuthedHttpRequest) -> HttpResponse:
    """SKUs by code, barcode, name or option, as you type (the bundle editor), or as a page."""
    query = request.GET.get("q") or request.GET.get("sku_q") or ""
    for_bundle = request.GET.get("for") == "bundle"
    skus = sku_search(query=query, kind=Sku.Kind.SINGLE if for_bundle else None)
    available = available_map(s.pk for s in skus)
    context = {
        "query": query,
        "results": [(s, available.get(s.pk, 0)) for s in skus],
        "for_bundle": for_bundle,
    }
    if request.htmx:
        return render(request, "catalog/sku_search.html#results", context)
    return render(request, "catalog/sku_search.html", context)


@require_GET
@permission_required("catalog.view_product", raise_exception=True)
def bundle_component_row_view(request: AuthedHttpRequest) -> HttpResponse:
    """One component row for the bundle editor (htmx appends it to the components table)."""
    raw = request.GET.get("sku", "")
    sku = get_object_or_404(Sku.objects.select_related("product"), pk=int(raw) if raw.isdigit() else 0)
    if sku.is_bundle:
        return HttpResponse(
            _("%(code)s is a bundle; a bundle is made of single SKUs only.") % {"code": sku.code}, status=400
        )
    context = {"code": sku.code, "quantity": 1, "sku": sku, "available": available_map([sku.pk])[sku.pk]}
    return render(request, "catalog/bundle_form.html#component-row", context)


@require_GET
@permission_required("catalog.view_product", raise_exception=True)
def bundle_sellable_view(request: AuthedHttpRequest) -> HttpResponse:
    """The quantity the bundle being edited could sell now, derived from its components."""
    return render(request, "catalog/bundle_form.html#sellable", _sellable_context(request.GET))


def _sellable_context(data: QueryDict) -> dict[str, Any]:
    codes = data.getlist("component")
    quantities = data.getlist("quantity")
    found = skus_by_codes(codes)
    components: list[tuple[Sku, int]] = []
    for i, code in enumerate(codes):
        sku = found.get(code.strip())
        try:
            quantity = int((quantities[i] if i < len(quantities) else "1") or "1")
        except ValueError:
            continue
        if sku is not None and not sku.is_bundle and quantity >= 1:
            components.append((sku, quantity))
    try:
        safety = max(0, int(data.get("safety_stock") or 0))
    except ValueError:
        safety = 0
    return {"sellable": bundle_sellable(components, safety_stock=safety), "component_count": len(components)}


def _component_rows(form: Any) -> list[dict[str, Any]]:
    typed = form.component_rows()
    found = skus_by_codes(code for code, _q in typed)
    available = available_map(s.pk for s in found.values())
    rows = []
    for code, quantity in typed:
        sku = found.get(code.strip())
        rows.append(
            {
                "code": code,
                "quantity": quantity,
                "sku": sku,
                "available": available.get(sku.pk, 0) if sku else None,
            }
        )
    return rows


@permission_required("catalog.add_sku", raise_exception=True)
def bundle_create_view(request: AuthedHttpRequest) -> HttpResponse:
    """New bundle SKU (세트상품): on a new set product, or with ?product=<id> on an existing one."""
    product_id = request.GET.get("product") or request.POST.get("product")
    product = get_object_or_404(Product, pk=product_id) if product_id else None
    if product is None and not request.user.has_perm("catalog.add_product"):
        raise PermissionDenied
    form = BundleForm(request.POST or None, product=product)
    notice = ""
    if request.method == "POST" and request.POST.get("action") == "save" and form.is_valid():
        try:
            bundle = bundle_create(
                actor=request.user,
                product=product or form.product_draft(),
                draft=form.sku_draft(),
                components=form.cleaned_data["components"],
            )
        except CatalogError as exc:
            _add_errors(form, exc.fields)
            notice = exc.message
        else:
            messages.success(request, _("Bundle %(code)s created.") % {"code": bundle.code})
            return redirect("catalog:product_detail", pk=bundle.product_id)
    context = {
        "form": form,
        "product": product,
        "bundle": None,
        "component_rows": _component_rows(form),
        "blank_rows": range(max(2, form.BLANK_ROWS - len(form.component_rows()))),
        "notice": notice,
        **_search_context(request),
        **_sellable_context(request.POST if request.method == "POST" else QueryDict()),
    }
    return render(request, "catalog/bundle_form.html", context, status=_form_status(request, form, notice))


@permission_required("catalog.change_sku", raise_exception=True)
def bundle_edit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    bundle = get_object_or_404(Sku.objects.select_related("product"), pk=pk, kind=Sku.Kind.BUNDLE)
    saved = [
        (item.component.code, str(item.quantity)) for item, _available in bundle_components(bundle=bundle)
    ]
    form = BundleComponentsForm(request.POST or None, initial={"component_rows": saved})
    notice = ""
    if request.method == "POST" and request.POST.get("action") == "save" and form.is_valid():
        try:
            bundle_set_components(
                actor=request.user, bundle=bundle, components=form.cleaned_data["components"]
            )
        except CatalogError as exc:
            notice = str(exc)
        else:
            messages.success(request, _("Components of %(code)s saved.") % {"code": bundle.code})
            return redirect("catalog:product_detail", pk=bundle.product_id)
    sellable_data = request.POST if request.method == "POST" else _rows_query(saved)
    context = {
        "form": form,
        "product": bundle.product,
        "bundle": bundle,
        "component_rows": _component_rows(form),
        "blank_rows": range(max(2, form.BLANK_ROWS - len(form.component_rows()))),
        "notice": notice,
        **_search_context(request),
        **_sellable_context(sellable_data),
    }
    return render(request, "catalog/bundle_form.html", context, status=_form_status(request, form, notice))


def _search_context(request: AuthedHttpRequest) -> dict[str, Any]:
    """Without JavaScript, Enter in the SKU search field recalculates the form; the results
    are shown in place so their codes can be typed into the empty rows."""
    query = (request.POST.get("sku_q") or "").strip() if request.method == "POST" else ""
    skus = sku_search(query=query, kind=Sku.Kind.SINGLE) if query else []
    available = available_map(s.pk for s in skus)
    return {"search_query": query, "search_results": [(s, available.get(s.pk, 0)) for s in skus]}


def _form_status(request: AuthedHttpRequest, form: Any, notice: str) -> int:
    tried_to_save = request.method == "POST" and request.POST.get("action") == "save"
    return 400 if tried_to_save and (form.errors or notice) else 200


def _rows_query(rows: list[tuple[str, str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for code, quantity in rows:
        data.appendlist("component", code)
        data.appendlist("quantity", quantity)
    return data
