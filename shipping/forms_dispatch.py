"""Forms of the dispatch desk: parse and validate input only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from shipping.models import Courier


class TrackingCorrectForm(forms.Form):
    courier = forms.ModelChoiceField(
        label=_("Courier"), queryset=Courier.objects.filter(is_active=True), empty_label=None
    )
    number = forms.CharField(label=_("Tracking number"), max_length=50)
