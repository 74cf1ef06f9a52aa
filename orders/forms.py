"""Input parsing for the order desk: list filters, line actions, the CS memo, the manual order."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku
from channels.forms import AccountChoiceField
from channels.models import ChannelAccount
from oms.forms import DateRangeForm
from orders.models import ImportBatch, LineStatus
from orders.normalize import normalize_phone, normalize_zip
from orders.selectors import manual_account_list
from orders.services_bulk import BulkAction

FLAG_CHOICES = [
    ("", _("Any")),
    ("unmapped", _("Needs mapping")),
    ("backorder", _("Short of stock")),
    ("address_changed", _("Address changed")),
]
SORT_CHOICES = [("newest", _("Newest first")), ("oldest", _("Oldest first"))]
DATE_FIELD_CHOICES = [("ordered", _("Ordered")), ("paid", _("Paid"))]


class LineFilterForm(DateRangeForm):
    """The order list's filters; every one lives in the URL."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Order no., name, phone (last 4), SKU, product")}
        ),
    )
    account = AccountChoiceField(
        label=_("Channel account"),
        required=False,
        queryset=ChannelAccount.objects.order_by("name"),
        empty_label=_("All channels"),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *LineStatus.choices]
    )
    flag = forms.ChoiceField(label=_("Flag"), required=False, choices=FLAG_CHOICES)
    date_field = forms.ChoiceField(label=_("Date"), required=False, choices=DATE_FIELD_CHOICES)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)
    # The orders one upload created (the link from an upload's result page).
    batch = forms.ModelChoiceField(
        label=_("Upload"),
        required=False,
        queryset=ImportBatch.objects.select_related("account"),
        widget=forms.HiddenInput,
    )


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            (BulkAction.CONFIRM, _("Confirm")),
            (BulkAction.HOLD, _("Hold")),
            (BulkAction.UNHOLD, _("Release hold")),
            (BulkAction.CANCEL, _("Cancel")),
        ],
        error_messages={"required": _("Choose an action."), "invalid_choice": _("Choose an action.")},
    )
    note = forms.CharField(label=_("Reason"), required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") == BulkAction.CANCEL and not cleaned.get("note", "").strip():
            self.add_error("note", _("Enter a reason for cancelling."))
        return cleaned


class LineHoldForm(forms.Form):
    reason = forms.CharField(label=_("Reason for holding"), required=False, max_length=200)


class LineCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=200,
        error_messages={"required": _("Enter a reason for cancelling.")},
    )


class MemoForm(forms.Form):
    memo = forms.CharField(
        label=_("CS memo"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": _("Notes for the team: calls, promises, changes")}
        ),
    )


# --- Manual order -------------------------------------------------------------------------------


class ManualOrderForm(forms.Form):
    order_no = forms.CharField(widget=forms.HiddenInput)
    account = AccountChoiceField(
        label=_("Sales channel"),
        required=False,
        queryset=ChannelAccount.objects.none(),
        empty_label=_("New channel…"),
    )
    new_account_name = forms.CharField(
        label=_("New channel name"),
        required=False,
        max_length=100,
        help_text=_("For example 전화주문 or 오프라인 매장. Used when no channel is chosen above."),
    )
    recipient_name = forms.CharField(label=_("Recipient"), max_length=100)
    recipient_phone = forms.CharField(label=_("Phone"), max_length=20)
    recipient_phone2 = forms.CharField(label=_("Phone 2"), max_length=20, required=False)
    zip_code = forms.CharField(label=_("Zip code"), max_length=7)
    address1 = forms.CharField(label=_("Address"), max_length=300)
    address2 = forms.CharField(label=_("Address detail"), max_length=300, required=False)
    delivery_message = forms.CharField(label=_("Delivery message"), max_length=500, required=False)
    buyer_name = forms.CharField(
        label=_("Buyer"), max_length=100, required=False, help_text=_("Leave empty when it is the recipient.")
    )
    buyer_phone = forms.CharField(label=_("Buyer phone"), max_length=20, required=False)
    shipping_fee = forms.IntegerField(label=_("Shipping fee"), min_value=0, max_value=1_000_000, initial=0)
    paid = forms.BooleanField(label=_("Already paid"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        accounts = manual_account_list()
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]
        if not self.is_bound:
            first = accounts.first()
            if first is not None:
                self.initial.setdefault("account", first.pk)
            else:
                self.initial.setdefault("new_account_name", "전화주문")

    def _clean_phone(self, name: str, *, required: bool) -> str:
        raw = self.cleaned_data.get(name, "")
        if not raw:
            return ""
        digits = normalize_phone(raw).digits
        if not (9 <= len(digits) <= 12) or not digits.startswith("0"):
            raise forms.ValidationError(_("Enter a phone number such as 010-1234-5678."))
        return digits

    def clean_recipient_phone(self) -> str:
        return self._clean_phone("recipient_phone", required=True)

    def clean_recipient_phone2(self) -> str:
        return self._clean_phone("recipient_phone2", required=False)

    def clean_buyer_phone(self) -> str:
        return self._clean_phone("buyer_phone", required=False)

    def clean_zip_code(self) -> str:
        zip_ = normalize_zip(self.cleaned_data.get("zip_code", ""))
        if not zip_.valid or zip_.is_old:
            raise forms.ValidationError(_("Enter the 5-digit zip code (도로명 우편번호)."))
        return zip_.code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("account") and not (cleaned.get("new_account_name") or "").strip():
            self.add_error("new_account_name", _("Choose a sales channel or enter a name for a new one."))
        return cleaned


class ManualLineForm(forms.Form):
    sku_code = forms.CharField(
        label=_("SKU"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("SKU code or product name")}),
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=9999, initial=1)
    unit_price = forms.IntegerField(
        label=_("Unit price"),
        min_value=0,
        max_value=100_000_000,
        required=False,
        help_text=_("Empty: the SKU's sale price."),
    )

    def clean_sku_code(self) -> Sku:
        code = self.cleaned_data["sku_code"].strip()
        sku = Sku.objects.filter(code__iexact=code).select_related("product").first()
        if sku is None:
            raise forms.ValidationError(_("No SKU with code “%(code)s”.") % {"code": code})
        if not sku.is_active:
            raise forms.ValidationError(_("SKU %(code)s is not active.") % {"code": sku.code})
        return sku

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        sku = cleaned.get("sku_code")
        if isinstance(sku, Sku) and cleaned.get("unit_price") is None:
            cleaned["unit_price"] = sku.price
        return cleaned


class _BaseLineFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        filled = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not filled:
            raise forms.ValidationError(_("Add at least one product."))


ManualLineFormSet = forms.formset_factory(
    ManualLineForm, formset=_BaseLineFormSet, extra=2, min_num=0, max_num=50, validate_max=True
)
