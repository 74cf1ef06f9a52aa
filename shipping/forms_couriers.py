"""Forms for the courier table and the courier order sheet (parse and validate input only)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from channels.models import ChannelAccount, Marketplace
from shipping.excel_courier import LAYOUTS
from shipping.models import OPEN_SHIPMENT_STATES, Courier, ShipmentStatus, parse_tracking_lengths

# Marketplaces whose courier codes differ from the Naver/Coupang code (channel-specs.md):
# each gets its own field; any other marketplace goes in the "other codes" box.
CODE_FIELD_MARKETPLACES = (Marketplace.ELEVENST, Marketplace.GMARKET, Marketplace.AUCTION, Marketplace.CAFE24)
_CODE_RE = re.compile(r"^[A-Z0-9_\-]+$")


def _code_field_name(marketplace: str) -> str:
    return f"code_{marketplace}"


class CourierForm(forms.ModelForm):
    other_codes = forms.CharField(
        label=_("Other marketplaces' codes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "shopify=CJ Logistics"}),
        help_text=_("One per line as marketplace=code, e.g. shopify=CJ Logistics."),
    )

    class Meta:
        model = Courier
        fields = ["name", "code", "tracking_lengths", "tracking_url", "sort_order", "is_active", "is_default"]
        help_texts = {
            "code": _(
                "The code Naver SmartStore and Coupang use (e.g. CJGLS; HYUNDAI for 롯데택배, "
                "KGB for 로젠택배). Capital letters, digits, - and _."
            ),
            "sort_order": _("Couriers are listed by this number, smallest first."),
            "is_default": _("New shipments get the default courier. Only one courier is the default."),
            "is_active": _(
                "A courier not in use is left out of choices; shipments already using it keep it."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes: dict[str, Any] = dict(self.instance.marketplace_codes or {}) if self.instance.pk else {}
        # Each known marketplace gets a field, placed after the courier code.
        fields: dict[str, forms.Field] = {}
        for name, field in self.fields.items():
            fields[name] = field
            if name == "code":
                for marketplace in CODE_FIELD_MARKETPLACES:
                    fields[_code_field_name(marketplace)] = forms.CharField(
                        label=_("%(marketplace)s code") % {"marketplace": marketplace.label},
                        required=False,
                        max_length=30,
                        initial=codes.pop(marketplace.value, ""),
                    )
        self.fields = fields
        self.fields["sort_order"].label = _("Sort order")
        self.fields["other_codes"].initial = "\n".join(f"{k}={v}" for k, v in sorted(codes.items()))
        self.fields["tracking_url"].widget.attrs["placeholder"] = "https://…?number={number}"
        self.fields["tracking_lengths"].widget.attrs["placeholder"] = "10,12"

    def _get_validation_exclusions(self) -> set[str]:
        # The one-default constraint is the service's to keep (it unsets the old default in the
        # same transaction); checked here, ticking "default" would always collide with the old one.
        return {*super()._get_validation_exclusions(), "is_default"}  # type: ignore[misc]

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip().upper()
        if not _CODE_RE.match(code):
            raise forms.ValidationError(_("Use capital letters, digits, - and _ only."))
        return code

    def clean_name(self) -> str:
        name: str = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Enter a name."))
        return name

    def clean_tracking_lengths(self) -> str:
        rule: str = self.cleaned_data["tracking_lengths"].strip()
        try:
            spans = parse_tracking_lengths(rule)
        except ValueError:
            raise forms.ValidationError(
                _("Write digit counts like 10,12 or a range like 8-16 (1 to 50); leave empty for no rule.")
            ) from None
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in spans)

    def clean_tracking_url(self) -> str:
        url: str = self.cleaned_data["tracking_url"].strip()
        if not url:
            return ""
        if not url.startswith(("https://", "http://")):
            raise forms.ValidationError(_("The tracking URL starts with https:// or http://."))
        if "{number}" not in url:
            raise forms.ValidationError(
                _("Put {number} where the tracking number goes, e.g. https://example.com/track?no={number}.")
            )
        return url

    def clean_other_codes(self) -> dict[str, str]:
        codes: dict[str, str] = {}
        known = {m.value for m in Marketplace}
        for number, raw in enumerate(self.cleaned_data["other_codes"].splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            key, sep, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key or not value:
                raise forms.ValidationError(
                    _("Line %(line)d: write marketplace=code (e.g. shopify=CJ Logistics).") % {"line": number}
                )
            if key not in known:
                raise forms.ValidationError(
                    _("Line %(line)d: unknown marketplace %(key)s. Use one of: %(known)s.")
                    % {"line": number, "key": key, "known": ", ".join(sorted(known))}
                )
            if key in codes:
                raise forms.ValidationError(
                    _("Line %(line)d: %(key)s is given twice.") % {"line": number, "key": key}
                )
            codes[key] = value
        return codes

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        codes = dict(cleaned.get("other_codes") or {})
        for marketplace in CODE_FIELD_MARKETPLACES:
            value = (cleaned.get(_code_field_name(marketplace)) or "").strip()
            if value and marketplace.value in codes:
                self.add_error(
                    "other_codes",
                    _("%(marketplace)s has its own field above; remove it here.")
                    % {"marketplace": marketplace.value},
                )
            if value:
                codes[marketplace.value] = value
        cleaned["marketplace_codes"] = codes
        return cleaned

    def code_fields(self) -> list[forms.BoundField]:
        return [self[_code_field_name(m)] for m in CODE_FIELD_MARKETPLACES]

    def values(self) -> dict[str, Any]:
        """What the courier services take."""
        data = self.cleaned_data
        return {name: data[name] for name in (*self.Meta.fields, "marketplace_codes")}


class CourierSheetForm(forms.Form):
    """Which shipments go on the courier sheet, in which layout."""

    STATUS_CHOICES = [("", _("All open shipments"))] + [
        (s.value, s.label) for s in ShipmentStatus if s in OPEN_SHIPMENT_STATES
    ]

    courier = forms.ModelChoiceField(
        label=_("Courier"),
        queryset=Courier.objects.filter(is_active=True),
        required=False,
        empty_label=_("All couriers"),
    )
    account = forms.ModelChoiceField(
        label=_("Channel account"),
        queryset=ChannelAccount.objects.order_by("name"),
        required=False,
        empty_label=_("All accounts"),
    )
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    without_tracking = forms.BooleanField(
        label=_("Only shipments without a tracking number"), required=False, initial=True
    )
    layout = forms.ChoiceField(
        label=_("Sheet layout"),
        choices=[(key, layout.label) for key, layout in LAYOUTS.items()],
        initial="generic",
        widget=forms.RadioSelect,
    )
    mark_printed = forms.BooleanField(
        label=_("Mark the exported shipments as invoice printed"),
        required=False,
        initial=True,
        help_text=_("Shipments still ready to ship become 'invoice printed'."),
    )
    ids = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data.get("ids") or ""
        ids: list[int] = []
        for part in re.split(r"[\s,]+", raw.strip()):
            if not part:
                continue
            if not part.isdigit():
                raise forms.ValidationError(_("Shipment ids are numbers separated by commas."))
            ids.append(int(part))
        return ids
