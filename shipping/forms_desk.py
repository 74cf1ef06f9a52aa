"""Forms of the shipping desk: the list's filters (all in the URL), the build panel, bulk
actions and the split form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from channels.forms import AccountChoiceField
from channels.models import ChannelAccount
from oms.forms import DateRangeForm
from shipping.models import Courier, ShipmentStatus

TRACKING_CHOICES = [("", _("All")), ("no", _("Without tracking no.")), ("yes", _("With tracking no."))]
STATUS_CHOICES = [("", _("All")), ("open", _("Not shipped yet")), *ShipmentStatus.choices]


class DeskFilterForm(DateRangeForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Shipment no., order no., recipient, phone, tracking no."),
            }
        ),
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    account = AccountChoiceField(
        label=_("Channel account"),
        required=False,
        queryset=ChannelAccount.objects.order_by("name"),
        empty_label=_("All channels"),
    )
    courier = forms.ModelChoiceField(
        label=_("Courier"), required=False, queryset=Courier.objects.all(), empty_label=_("All couriers")
    )
    tracking = forms.ChoiceField(label=_("Tracking no."), required=False, choices=TRACKING_CHOICES)
    attention = forms.BooleanField(label=_("Needs a look"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class BuildForm(forms.Form):
    account = AccountChoiceField(
        label=_("Channel account"),
        required=False,
        queryset=ChannelAccount.objects.order_by("name"),
        empty_label=_("All channels"),
    )
    across_channels = forms.BooleanField(
        label=_("Combine across channels"),
        required=False,
        help_text=_("One box for the same recipient even when the orders came from different channels."),
    )


class DeskBulkForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("merge", _("Combine into one box")), ("cancel", _("Cancel shipment"))],
        error_messages={"required": _("Choose an action."), "invalid_choice": _("Choose an action.")},
    )


class SplitForm(forms.Form):
    lines = forms.TypedMultipleChoiceField(
        label=_("Lines for the new box"),
        coerce=int,
        error_messages={"required": _("Choose the lines that go into the new box.")},
    )

    def __init__(self, *args: Any, line_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["lines"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(pk, str(pk)) for pk in line_ids]
