"""The in-place tracking-number editor of a desk row. Field names carry the shipment ("t12-number")
because every row's editor may sit inside the desk's one bulk-action form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shipping.couriers import default_courier
from shipping.models import Courier, Shipment


def tracking_prefix(shipment_id: int) -> str:
    return f"t{shipment_id}"


class TrackingCellForm(forms.Form):
    courier = forms.ModelChoiceField(
        label=_("Courier"),
        queryset=Courier.objects.filter(is_active=True),
        required=False,
        error_messages={"invalid_choice": _("Choose a courier that is in use.")},
    )
    number = forms.CharField(label=_("Tracking number"), max_length=50, required=False)

    def __init__(self, *args: Any, shipment: Shipment, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", tracking_prefix(shipment.pk))
        super().__init__(*args, **kwargs)
        self.shipment = shipment

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("number") and data.get("courier") is None:
            courier = self.shipment.courier if self.shipment.courier_id else default_courier()
            if courier is None:
                raise forms.ValidationError(_("Choose the courier."))
            data["courier"] = courier
        return data
