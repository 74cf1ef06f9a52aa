"""Forms for the stock pages: they parse and validate input; inventory.services does the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from inventory.models import Location, StockMovement
from inventory.selectors import SHORT, StockState, stock_brands, stock_categories, stock_locations

# Bigger than any real shipment; stops a typo (an extra 0, a barcode pasted in) becoming stock.
MAX_QUANTITY = 1_000_000

ADJUST_REASONS = [
    pgettext_lazy("adjust reason", "Damaged"),
    pgettext_lazy("adjust reason", "Lost"),
    pgettext_lazy("adjust reason", "Found"),
    pgettext_lazy("adjust reason", "Correction"),
    pgettext_lazy("adjust reason", "Sample / giveaway"),
    pgettext_lazy("adjust reason", "Defective return"),
]


class LocationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        label = f"{obj.name} ({obj.code})"
        if not obj.sells:
            label += " · " + str(_("not sold"))
        return label


def _location_field(label: Any, *, required: bool = True, empty_label: Any = None) -> LocationChoiceField:
    return LocationChoiceField(
        label=label,
        queryset=stock_locations(),
        required=required,
        empty_label=empty_label,
        error_messages={"invalid_choice": _("Choose an active location from the list.")},
    )


def _quantity_field(label: Any, *, min_value: int, help_text: Any = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=min_value,
        max_value=MAX_QUANTITY,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


# --- Stock changes -------------------------------------------------------------------------------


class StockReceiveForm(forms.Form):
    """입고: goods arrived at a location."""

    location = _location_field(_("Location"))
    quantity = _quantity_field(_("Quantity received"), min_value=1)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=100,
        required=False,
        help_text=_("Purchase order, supplier invoice or inbound number (optional)."),
    )
    reason = forms.CharField(label=_("Memo"), max_length=200, required=False)


class StockAdjustForm(forms.Form):
    """조정: add or remove stock for a stated reason."""

    location = _location_field(_("Location"))
    delta = forms.IntegerField(
        label=_("Change (+/-)"),
        min_value=-MAX_QUANTITY,
        max_value=MAX_QUANTITY,
        help_text=_("Positive adds stock, negative removes it, e.g. -2."),
        widget=forms.NumberInput(attrs={"autocomplete": "off"}),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.TextInput(attrs={"list": "adjust-reasons", "autocomplete": "off"}),
        error_messages={"required": _("Say why the stock changes (damaged, lost, correction...).")},
    )

    def clean_delta(self) -> int:
        delta: int = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError(_("Enter a change other than 0."))
        return delta

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why the stock changes (damaged, lost, correction...)."))
        return reason


class StockTransferForm(forms.Form):
    """이동: move free stock from one location to another."""

    from_location = _location_field(_("From"))
    to_location = _location_field(_("To"))
    quantity = _quantity_field(_("Quantity"), min_value=1)
    reason = forms.CharField(label=_("Memo"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        source, target = cleaned.get("from_location"), cleaned.get("to_location")
        if source is not None and target is not None and source.pk == target.pk:
            self.add_error("to_location", _("Choose a location other than the one the stock leaves."))
        return cleaned


class StockCountForm(forms.Form):
    """실사: set on hand to what was counted; the difference goes to the ledger."""

    location = _location_field(_("Location"))
    counted = _quantity_field(
        _("Counted quantity"),
        min_value=0,
        help_text=_("What is physically there now, reserved units included."),
    )
    reason = forms.CharField(label=_("Memo"), max_length=200, required=False)


# --- Filters -------------------------------------------------------------------------------------


def _choices_with_all(values: list[str], all_label: Any) -> list[tuple[str, Any]]:
    return [("", all_label), *((v, v) for v in values)]


class StockFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("SKU code, product name, barcode"), "type": "search"}),
    )
    location = LocationChoiceField(
        label=_("Location"),
        queryset=Location.objects.none(),
        required=False,
        empty_label=_("All locations"),
    )
    state = forms.ChoiceField(
        label=_("Stock state"),
        required=False,
        choices=[
            ("", _("All")),
            (SHORT, _("Sold out or low")),
            *StockState.choices,
        ],
    )
    brand = forms.ChoiceField(label=_("Brand"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    active = forms.ChoiceField(
        label=_("Sale"),
        required=False,
        choices=[("", _("All")), ("1", _("Active SKUs")), ("0", _("Inactive or discontinued"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location_field = self.fields["location"]
        assert isinstance(location_field, forms.ModelChoiceField)
        location_field.queryset = stock_locations(include_inactive=True)
        self._set_choices("brand", stock_brands(), _("All brands"))
        self._set_choices("category", stock_categories(), _("All categories"))

    def _set_choices(self, name: str, values: list[str], all_label: Any) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = _choices_with_all(values, all_label)


class LowStockFilterForm(StockFilterForm):
    """The 재고 부족 list: always active SKUs at or below their threshold."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["active"]
        state = self.fields["state"]
        assert isinstance(state, forms.ChoiceField)
        state.choices = [
            ("", _("Sold out or low")),
            (StockState.SOLD_OUT.value, StockState.SOLD_OUT.label),
            (StockState.LOW.value, StockState.LOW.label),
        ]


class MovementFilterForm(forms.Form):
    location = LocationChoiceField(
        label=_("Location"),
        queryset=Location.objects.none(),
        required=False,
        empty_label=_("All locations"),
    )
    type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("All types")), *StockMovement.Type.choices]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location_field = self.fields["location"]
        assert isinstance(location_field, forms.ModelChoiceField)
        location_field.queryset = stock_locations(include_inactive=True)


# --- Locations -----------------------------------------------------------------------------------


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ["code", "name", "kind", "sells", "priority", "is_active"]
        help_texts = {
            "code": _("Short code used in sheets and references, e.g. WH01. Letters, digits, - and _."),
            "sells": _(
                "Stock here counts toward what the channels may sell. Untick for defect or returns areas."
            ),
            "is_active": _("An inactive location is closed: it must be empty first."),
        }

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip().upper()
        if not code or not all(c.isascii() and (c.isalnum() or c in "-_") for c in code):
            raise forms.ValidationError(_("Use letters, digits, - and _ only."))
        return code

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a name."))
        return name
