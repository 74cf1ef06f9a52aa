"""Parsing and validating catalog input; the rules that need the database live in services."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Product, Sku
from catalog.selectors import StockState, skus_by_codes
from catalog.services import (
    MAX_BUNDLE_QUANTITY,
    MAX_OPTION_AXES,
    MAX_PRICE,
    NameMode,
    PriceMode,
    ProductDraft,
    SkuDraft,
    code_error,
)

OPTION_VALUE_SPLIT = re.compile(r"[,，、\n]")


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


class ProductFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, product code, SKU code, barcode"), "type": "search"}
        ),
    )
    status = forms.ChoiceField(
        label=_("Sale status"), required=False, choices=_blank(_("All")) + list(Product.Status.choices)
    )
    stock = forms.ChoiceField(
        label=_("Stock"), required=False, choices=_blank(_("All")) + list(StockState.choices)
    )
    brand = forms.CharField(
        label=_("Brand"), required=False, widget=forms.TextInput(attrs={"list": "brand-list"})
    )
    category = forms.CharField(
        label=_("Category"), required=False, widget=forms.TextInput(attrs={"list": "category-list"})
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=_blank(_("All")) + list(Sku.Kind.choices)
    )
    active = forms.ChoiceField(
        label=_("In use"),
        required=False,
        choices=[("", _("All")), ("1", _("In use")), ("0", _("Not in use"))],
    )

    def filters(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_valid() else {}


# --- Bulk edit ------------------------------------------------------------------------------------


class BulkEditForm(forms.Form):
    ACTIONS = ("price", "name", "status")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    price_mode = forms.ChoiceField(label=_("Price"), required=False, choices=PriceMode.choices)
    price_amount = forms.DecimalField(
        label=_("Amount"), required=False, max_digits=12, decimal_places=2, min_value=Decimal(0)
    )
    name_mode = forms.ChoiceField(label=_("Product name"), required=False, choices=NameMode.choices)
    name_text = forms.CharField(label=_("Words"), required=False, max_length=100, strip=False)
    status = forms.ChoiceField(label=_("Sale status"), required=False, choices=Product.Status.choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "price":
            mode, amount = data.get("price_mode"), data.get("price_amount")
            if not mode:
                self.add_error("price_mode", _("Choose how to change the price."))
            elif amount is None:
                self.add_error("price_amount", _("Enter an amount."))
            elif (
                mode in {PriceMode.SET, PriceMode.ADD, PriceMode.SUBTRACT} and amount != amount.to_integral()
            ):
                self.add_error("price_amount", _("Enter whole won, without decimals."))
            elif mode in {
                PriceMode.ADD,
                PriceMode.SUBTRACT,
                PriceMode.PERCENT_UP,
                PriceMode.PERCENT_DOWN,
            } and (amount == 0):
                self.add_error("price_amount", _("Enter an amount above 0."))
            elif mode == PriceMode.SET and amount > MAX_PRICE:
                self.add_error("price_amount", _("At most %(max)s won.") % {"max": f"{MAX_PRICE:,}"})
            elif mode == PriceMode.PERCENT_DOWN and amount > 100:
                self.add_error("price_amount", _("A price can be lowered by at most 100%."))
            elif mode == PriceMode.PERCENT_UP and amount > 1000:
                self.add_error("price_amount", _("A price can be raised by at most 1000%."))
        elif action == "name":
            if not data.get("name_mode"):
                self.add_error("name_mode", _("Choose how to change the name."))
            if not (data.get("name_text") or "").strip():
                self.add_error("name_text", _("Enter the words to add or remove."))
        elif action == "status" and not data.get("status"):
            self.add_error("status", _("Choose a sale status."))
        return data


# --- Products ---------------------------------------------------------------------------------------


class ImageUrlsField(forms.CharField):
    """One image URL per line."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value)
        return [line.strip() for line in (text or "").splitlines() if line.strip()]

    def validate(self, value: Any) -> None:
        validator = URLValidator(schemes=["http", "https"])
        for url in value:
            try:
                validator(url)
            except forms.ValidationError as exc:
                raise forms.ValidationError(_("Not a web address: %(url)s") % {"url": url}) from exc

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value


class ProductForm(forms.Form):
    code = forms.CharField(
        label=_("Product code"),
        max_length=50,
        help_text=_("Your own code for the product (letters, digits, '-', '_', '.'), e.g. KN-2026-01."),
    )
    name = forms.CharField(label=_("Product name"), max_length=200)
    brand = forms.CharField(label=_("Brand"), max_length=100, required=False)
    category = forms.CharField(
        label=_("Category"),
        max_length=200,
        required=False,
        help_text=_("Levels separated by '>', e.g. 의류>니트."),
    )
    sale_price = forms.IntegerField(label=_("Sale price (won)"), min_value=0, max_value=MAX_PRICE)
    cost = forms.IntegerField(
        label=_("Cost (won)"), min_value=0, max_value=MAX_PRICE, initial=0, required=False
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    image_urls = ImageUrlsField(label=_("Image URLs"), required=False, help_text=_("One address per line."))
    no_merge = forms.BooleanField(
        label=_("Never pack with other orders"),
        required=False,
        help_text=_("합포장 불가: ships in its own box."),
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip()
        problem = code_error(code, max_length=50)
        if problem:
            raise forms.ValidationError(problem)
        return code

    def clean_cost(self) -> int:
        return self.cleaned_data.get("cost") or 0

    def draft(self, *, option_names: list[str] | None = None) -> ProductDraft:
        d = self.cleaned_data
        return ProductDraft(
            code=d["code"],
            name=d["name"],
            brand=d.get("brand", ""),
            category=d.get("category", ""),
            sale_price=d["sale_price"],
            cost=d.get("cost") or 0,
            description=d.get("description", ""),
            image_urls=d.get("image_urls") or [],
            option_names=option_names or [],
            no_merge=d.get("no_merge", False),
        )


class ProductEditForm(ProductForm):
    """The product's own fields; the code is the key channels and sheets use, so it stays."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["code"]

    def values(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "brand": d.get("brand", ""),
            "category": d.get("category", ""),
            "sale_price": d["sale_price"],
            "cost": d.get("cost") or 0,
            "description": d.get("description", ""),
            "image_urls": d.get("image_urls") or [],
            "no_merge": d.get("no_merge", False),
        }

    @staticmethod
    def initial_for(product: Product) -> dict[str, Any]:
        return {name: getattr(product, name) for name in ProductEditForm.base_fields if name != "code"}


class ProductPriceForm(forms.Form):
    """The base sale price alone, edited in place on the product page."""

    sale_price = forms.IntegerField(
        label=_("Base sale price"),
        min_value=0,
        max_value=MAX_PRICE,
        widget=forms.NumberInput(attrs={"class": "num", "aria-label": _("Base sale price")}),
    )


class OptionAxesForm(forms.Form):
    """Up to three options, each a name and its values separated by commas
    (색상: 블랙, 아이보리 / 사이즈: S, M)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(1, MAX_OPTION_AXES + 1):
            self.fields[f"option_{i}_name"] = forms.CharField(
                label=_("Option %(n)d name") % {"n": i},
                max_length=30,
                required=False,
                widget=forms.TextInput(attrs={"placeholder": [_("e.g. 색상"), _("e.g. 사이즈"), ""][i - 1]}),
            )
            self.fields[f"option_{i}_values"] = forms.CharField(
                label=_("Values"),
                max_length=1000,
                required=False,
                widget=forms.TextInput(
                    attrs={"placeholder": [_("e.g. 블랙, 아이보리"), _("e.g. S, M, L"), ""][i - 1]}
                ),
            )

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"option_{i}_name"], self[f"option_{i}_values"]) for i in range(1, MAX_OPTION_AXES + 1)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        axes: list[tuple[str, list[str]]] = []
        for i in range(1, MAX_OPTION_AXES + 1):
            name = (data.get(f"option_{i}_name") or "").strip()
            values = [
                v.strip() for v in OPTION_VALUE_SPLIT.split(data.get(f"option_{i}_values") or "") if v.strip()
            ]
            if not name and not values:
                continue
            if not name:
                self.add_error(f"option_{i}_name", _("Name this option (e.g. 색상)."))
                continue
            if not values:
                self.add_error(f"option_{i}_values", _("Give at least one value, separated by commas."))
                continue
            too_long = [v for v in values if len(v) > 50]
            if too_long:
                self.add_error(f"option_{i}_values", _("A value can have at most 50 characters."))
                continue
            axes.append((name, values))
        data["axes"] = axes
        return data


class SkuDraftForm(forms.Form):
    """One generated SKU row of the option matrix, editable before saving."""

    values = forms.CharField(widget=forms.HiddenInput)
    code = forms.CharField(label=_("SKU code"), max_length=64)
    extra_price = forms.IntegerField(
        label=_("Extra price"), initial=0, min_value=-MAX_PRICE, max_value=MAX_PRICE, required=False
    )
    barcode = forms.CharField(label=_("Barcode"), max_length=64, required=False)

    def clean_values(self) -> list[str]:
        try:
            values = json.loads(self.cleaned_data["values"])
        except ValueError as exc:
            raise forms.ValidationError(_("This row is damaged; preview the SKUs again.")) from exc
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise forms.ValidationError(_("This row is damaged; preview the SKUs again."))
        return values

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip()
        problem = code_error(code)
        if problem:
            raise forms.ValidationError(problem)
        return code

    def clean_extra_price(self) -> int:
        return self.cleaned_data.get("extra_price") or 0


SkuDraftFormSet = forms.formset_factory(SkuDraftForm, extra=0, max_num=500, validate_max=True)


def sku_drafts(formset: Any, option_names: list[str]) -> list[SkuDraft]:
    drafts = []
    for form in formset.forms:
        values = form.cleaned_data["values"]
        drafts.append(
            SkuDraft(
                code=form.cleaned_data["code"],
                option_values=dict(zip(option_names, values, strict=False)),
                option_label=" / ".join(values),
                extra_price=form.cleaned_data["extra_price"],
                barcode=form.cleaned_data.get("barcode", "").strip(),
            )
        )
    return drafts


# --- SKUs -------------------------------------------------------------------------------------------


class SkuInlineForm(forms.Form):
    """One SKU row of the product page. Its inputs sit in table cells and belong to the row's
    <form> through the form attribute."""

    option_label = forms.CharField(label=_("Option"), max_length=200, required=False)
    extra_price = forms.IntegerField(label=_("Extra price"), min_value=-MAX_PRICE, max_value=MAX_PRICE)
    barcode = forms.CharField(label=_("Barcode"), max_length=64, required=False)
    safety_stock = forms.IntegerField(label=_("Safety stock"), min_value=0, max_value=1_000_000)
    low_stock_threshold = forms.IntegerField(label=_("Low-stock threshold"), min_value=0, max_value=1_000_000)
    status = forms.ChoiceField(label=_("Sale status"), choices=Product.Status.choices)
    is_active = forms.BooleanField(label=_("In use"), required=False)

    def __init__(self, *args: Any, sku: Sku, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"sku-{sku.pk}")
        if not args and "data" not in kwargs:
            kwargs.setdefault("initial", {name: getattr(sku, name) for name in self.base_fields})
        super().__init__(*args, **kwargs)
        self.sku = sku
        form_id = f"sku-form-{sku.pk}"
        for formfield in self.fields.values():
            formfield.widget.attrs["form"] = form_id
            formfield.widget.attrs["aria-label"] = f"{sku.code} {formfield.label}"
        self.fields["extra_price"].widget.attrs["class"] = "num"
        self.fields["safety_stock"].widget.attrs["class"] = "num short"
        self.fields["low_stock_threshold"].widget.attrs["class"] = "num short"

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class SkuAddForm(forms.Form):
    code = forms.CharField(label=_("SKU code"), max_length=64)
    option_label = forms.CharField(label=_("Option"), max_length=200, required=False)
    extra_price = forms.IntegerField(
        label=_("Extra price"), initial=0, min_value=-MAX_PRICE, max_value=MAX_PRICE, required=False
    )
    barcode = forms.CharField(label=_("Barcode"), max_length=64, required=False)
    safety_stock = forms.IntegerField(label=_("Safety stock"), min_value=0, initial=0, required=False)
    low_stock_threshold = forms.IntegerField(
        label=_("Low-stock threshold"), min_value=0, initial=0, required=False
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip()
        problem = code_error(code)
        if problem:
            raise forms.ValidationError(problem)
        return code

    def draft(self) -> SkuDraft:
        d = self.cleaned_data
        return SkuDraft(
            code=d["code"],
            option_label=d.get("option_label", "").strip(),
            extra_price=d.get("extra_price") or 0,
            barcode=(d.get("barcode") or "").strip(),
            safety_stock=d.get("safety_stock") or 0,
            low_stock_threshold=d.get("low_stock_threshold") or 0,
        )


# --- Bundles ----------------------------------------------------------------------------------------


class BundleComponentsMixin(forms.Form):
    """Components arrive as parallel lists component=<SKU code>, quantity=<n>; blank rows are
    skipped, the same SKU on two rows is added up."""

    BLANK_ROWS = 3

    def clean_components(self) -> list[tuple[Sku, int]]:
        codes = self.data.getlist("component") if hasattr(self.data, "getlist") else []
        quantities = self.data.getlist("quantity") if hasattr(self.data, "getlist") else []
        typed: list[tuple[str, str]] = []
        for i, raw_code in enumerate(codes):
            code = raw_code.strip()
            raw_quantity = (quantities[i] if i < len(quantities) else "").strip()
            if code or raw_quantity:
                typed.append((code, raw_quantity))
        found = skus_by_codes(code for code, _q in typed)
        errors: list[str] = []
        totals: dict[int, int] = {}
        skus: dict[int, Sku] = {}
        for code, raw_quantity in typed:
            if not code:
                errors.append(gettext("A component row has a quantity but no SKU code."))
                continue
            sku = found.get(code)
            if sku is None:
                errors.append(gettext("No SKU has the code %(code)s.") % {"code": code})
                continue
            try:
                quantity = int(raw_quantity or "1")
            except ValueError:
                errors.append(gettext("%(code)s: the quantity must be a whole number.") % {"code": code})
                continue
            if not 1 <= quantity <= MAX_BUNDLE_QUANTITY:
                errors.append(
                    gettext("%(code)s: the quantity must be from 1 to %(max)d.")
                    % {"code": code, "max": MAX_BUNDLE_QUANTITY}
                )
                continue
            skus[sku.pk] = sku
            totals[sku.pk] = totals.get(sku.pk, 0) + quantity
        if errors:
            raise forms.ValidationError(errors)
        if not totals:
            raise forms.ValidationError(_("Add at least one component."))
        return [(skus[pk], quantity) for pk, quantity in totals.items()]

    def component_rows(self) -> list[tuple[str, str]]:
        """The rows to show again: what was typed, or the saved components."""
        if self.is_bound and hasattr(self.data, "getlist"):
            codes = self.data.getlist("component")
            quantities = self.data.getlist("quantity")
            rows = [
                (c, quantities[i] if i < len(quantities) else "1") for i, c in enumerate(codes) if c.strip()
            ]
        else:
            rows = list(self.initial.get("component_rows", []))
        return rows


class BundleForm(BundleComponentsMixin):
    """A new bundle SKU: on a new set product (code, name, price) or on an existing product."""

    product_code = forms.CharField(label=_("Product code"), max_length=50, required=False)
    product_name = forms.CharField(label=_("Product name"), max_length=200, required=False)
    sale_price = forms.IntegerField(
        label=_("Sale price (won)"), min_value=0, max_value=MAX_PRICE, required=False
    )
    brand = forms.CharField(label=_("Brand"), max_length=100, required=False)
    category = forms.CharField(label=_("Category"), max_length=200, required=False)
    code = forms.CharField(
        label=_("Bundle SKU code"),
        max_length=64,
        required=False,
        help_text=_("Leave empty to use the product code."),
    )
    option_label = forms.CharField(label=_("Option"), max_length=200, required=False)
    extra_price = forms.IntegerField(
        label=_("Extra price"), min_value=-MAX_PRICE, max_value=MAX_PRICE, required=False, initial=0
    )
    components = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, product: Product | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.product = product
        if product is not None:
            for name in ("product_code", "product_name", "sale_price", "brand", "category"):
                del self.fields[name]
        else:
            self.fields["product_code"].required = True
            self.fields["product_name"].required = True
            self.fields["sale_price"].required = True

    def clean_product_code(self) -> str:
        code: str = (self.cleaned_data.get("product_code") or "").strip()
        problem = code_error(code, max_length=50)
        if problem:
            raise forms.ValidationError(problem)
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code = (data.get("code") or "").strip() or (data.get("product_code") or "")
        if self.product is not None and not code:
            self.add_error("code", _("Enter a SKU code for the bundle."))
        elif code:
            problem = code_error(code)
            if problem:
                self.add_error("code", problem)
        data["code"] = code
        return data

    def product_draft(self) -> ProductDraft:
        d = self.cleaned_data
        return ProductDraft(
            code=d["product_code"],
            name=d["product_name"],
            brand=d.get("brand", ""),
            category=d.get("category", ""),
            sale_price=d["sale_price"],
        )

    def sku_draft(self) -> SkuDraft:
        d = self.cleaned_data
        return SkuDraft(
            code=d["code"], option_label=d.get("option_label", ""), extra_price=d.get("extra_price") or 0
        )


class BundleComponentsForm(BundleComponentsMixin):
    components = forms.CharField(required=False, widget=forms.HiddenInput)
