"""Forms of the sandbox page: parse and validate only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from channels.sandbox_models import SandboxEvent


class EventFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All events")), *SandboxEvent.Kind.choices]
    )


class GenerateForm(forms.Form):
    count = forms.IntegerField(label=_("Orders"), min_value=1, max_value=20, initial=1)


class KeyIssueForm(forms.Form):
    label = forms.CharField(
        label=_("Label"),
        max_length=100,
        required=False,
        help_text=_("Where the token will be used, e.g. the channel account's name."),
    )
