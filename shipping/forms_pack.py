"""Forms of the pick list, packing slips and the packing table: parse input only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from channels.models import ChannelAccount
from shipping.models import Courier, ShipmentStatus
from shipping.services_pack import MAX_COUNT


class BoxFilterForm(forms.Form):
    """Which boxes a pick list or slips cover, when none were chosen on the desk."""

    account = forms.ModelChoiceField(
        label=_("Channel account"),
        queryset=ChannelAccount.objects.order_by("name"),
        required=False,
        empty_label=_("All accounts"),
    )
    courier = forms.ModelChoiceField(
        label=_("Courier"),
        queryset=Courier.objects.order_by("sort_order", "name"),
        required=False,
        empty_label=_("All couriers"),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Not packed yet")),
            (ShipmentStatus.READY.value, ShipmentStatus.READY.label),
            (ShipmentStatus.PRINTED.value, ShipmentStatus.PRINTED.label),
            (ShipmentStatus.PACKED.value, ShipmentStatus.PACKED.label),
        ],
    )


class PackScanForm(forms.Form):
    code = forms.CharField(label=_("Scan"), max_length=200, strip=True)
    count = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_COUNT, required=False)
    box = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
