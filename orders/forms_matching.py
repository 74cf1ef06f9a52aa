"""Forms for the 매칭 and 재고 부족 pages: they parse input; orders.mapping does the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku
from channels.models import ChannelAccount
from channels.types import ChannelOrderLine
from orders.ingest import option_key
from orders.mapping import MAX_ITEM_QUANTITY, MAX_ITEMS
from orders.selectors_matching import skus_by_code

DOM_ID = re.compile(r"^g[0-9a-f]{12}$")


def _account_field(*, required: bool = False) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Channel account"),
        queryset=ChannelAccount.objects.order_by("name"),
        required=required,
        empty_label=_("All channels") if not required else "---------",
        error_messages={"invalid_choice": _("Choose a channel account from the list.")},
    )


class MatchingFilterForm(forms.Form):
    account = _account_field()
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"placeholder": _("Product, option, product id, order no."), "type": "search"}
        ),
    )
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[("oldest", _("Oldest order first")), ("lines", _("Most lines first"))],
    )


class MappingFilterForm(forms.Form):
    account = _account_field()
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"placeholder": _("Product, option, product id, SKU code"), "type": "search"}
        ),
    )


class BackorderFilterForm(forms.Form):
    account = _account_field()
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"placeholder": _("Order no., product, SKU code, recipient"), "type": "search"}
        ),
    )


class AccountScopeForm(forms.Form):
    """The optional account a bulk action (자동 매칭, 재할당) is limited to."""

    account = _account_field()


@dataclass
class ItemRow:
    """One typed row of the mapping editor, kept to show it again with its error."""

    code: str
    quantity: str
    sku: Sku | None = None
    error: str = ""


class MappingForm(forms.Form):
    """The mapping editor: the key (account, channel product id, option) and rows of SKU code x
    quantity posted as parallel `sku` / `quantity` lists. Rows without a code are ignored; a
    code that names no SKU, or a quantity that is not a whole number from 1, is reported by row."""

    account = _account_field(required=True)
    channel_product_id = forms.CharField(label=_("Channel product id"), required=False, max_length=100)
    channel_option_id = forms.CharField(
        label=_("Channel option id"),
        required=False,
        max_length=100,
        help_text=_("Only when the channel gives each option an id (e.g. Coupang 옵션ID)."),
    )
    option_key = forms.CharField(required=False, max_length=300, widget=forms.HiddenInput)
    product_name = forms.CharField(label=_("Channel product name"), required=False, max_length=300)
    option_text = forms.CharField(label=_("Channel option"), required=False, max_length=300)
    # The key comes from a group of waiting lines or a saved mapping: shown, not typed.
    fixed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    dom_id = forms.CharField(required=False, widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, rows: list[ItemRow] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[ItemRow] = rows or [ItemRow(code="", quantity="1")]
        if self.is_bound:
            data = self.data if isinstance(self.data, QueryDict) else QueryDict(mutable=True)
            codes = [c.strip() for c in data.getlist("sku")]
            quantities = [q.strip() for q in data.getlist("quantity")]
            self.rows = [ItemRow(code=c, quantity=q) for c, q in zip_longest(codes, quantities, fillvalue="")]
            if not self.rows:
                self.rows = [ItemRow(code="", quantity="1")]

    def value(self, name: str) -> Any:
        """A field's current value, bound or initial (for the editor around the form)."""
        if self.is_bound and hasattr(self, "cleaned_data") and name in self.cleaned_data:
            return self.cleaned_data[name]
        return self[name].value()

    def clean_dom_id(self) -> str:
        value: str = self.cleaned_data.get("dom_id") or ""
        return value if DOM_ID.match(value) else ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        key = (cleaned.get("option_key") or "").strip()
        if not key:
            key = option_key(
                ChannelOrderLine(
                    external_line_id="",
                    product_name=cleaned.get("product_name") or "",
                    quantity=1,
                    option_text=cleaned.get("option_text") or "",
                    channel_product_id=cleaned.get("channel_product_id") or "",
                    channel_option_id=cleaned.get("channel_option_id") or "",
                )
            )
        cleaned["option_key"] = key
        if not key and not (cleaned.get("channel_product_id") or "").strip():
            raise forms.ValidationError(
                _("Enter the channel product id or the option: a mapping needs at least one of them.")
            )
        cleaned["items"] = self._clean_rows()
        return cleaned

    def _clean_rows(self) -> list[tuple[Sku, int]]:
        # A row without a SKU code is an unused row (the editor starts each with quantity 1).
        rows = [(number, row) for number, row in enumerate(self.rows, start=1) if row.code]
        found = skus_by_code(row.code for _n, row in rows)
        items: list[tuple[Sku, int]] = []
        for number, row in rows:
            row.sku = found.get(row.code)
            quantity = _whole_number(row.quantity)
            if row.sku is None:
                row.error = str(
                    _("Row %(row)d: no SKU has the code “%(code)s”. Pick one from the search.")
                    % {"row": number, "code": row.code}
                )
            elif quantity is None or not 1 <= quantity <= MAX_ITEM_QUANTITY:
                row.error = str(
                    _("Row %(row)d: the quantity must be a whole number from 1 to %(max)d.")
                    % {"row": number, "max": MAX_ITEM_QUANTITY}
                )
            else:
                items.append((row.sku, quantity))
        failed = [row.error for _n, row in rows if row.error]
        for error in failed:
            self.add_error(None, error)
        if not rows:
            self.add_error(None, _("Add at least one SKU."))
        elif len(rows) > MAX_ITEMS:
            self.add_error(None, _("A mapping holds at most %(n)d SKUs.") % {"n": MAX_ITEMS})
        return [] if failed else items


def _whole_number(text: str) -> int | None:
    cleaned = text.replace(",", "").strip()
    if not re.fullmatch(r"[0-9]{1,6}", cleaned):
        return None
    return int(cleaned)
