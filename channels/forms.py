"""Forms for channel accounts, listings and the sync monitor: parse and validate only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku
from channels.models import ChannelAccount, Listing, Marketplace, SyncJob
from channels.selectors import CredentialsView, MarketplaceInfo

CRED_PREFIX = "cred_"


class AccountChoiceField(forms.ModelChoiceField):
    """A channel account select, each option "name (marketplace)"."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_marketplace_display()})"


GENERAL_FIELDS = ("name", "base_url", "is_active")
SCHEDULE_FIELDS = ("collect_interval_minutes",)
SETTLEMENT_FIELDS = ("commission_rate",)
STOCK_FIELDS = ("stock_push_enabled", "stock_keep_back", "stock_expose_percent", "stock_zero_threshold")


class AccountForm(forms.Form):
    """An account's settings plus the credentials its marketplace's adapter asks for.

    Secrets are never rendered back: their inputs start empty, say 설정됨 ····1234 when a
    value is saved, and an empty input keeps the saved value."""

    name = forms.CharField(
        label=_("Account name"),
        max_length=100,
        help_text=_("How this account appears on orders and reports, e.g. 스마트스토어 본점."),
    )
    base_url = forms.CharField(label=_("API base URL"), max_length=300, required=False)
    is_active = forms.BooleanField(
        label=_("In use"),
        required=False,
        initial=True,
        help_text=_("Turn off for an account you no longer sell on; its orders stay."),
    )
    collect_interval_minutes = forms.IntegerField(
        label=_("Collect orders every (minutes)"), min_value=1, max_value=1440, initial=5
    )
    commission_rate = forms.DecimalField(
        label=_("Commission (%)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        initial=0,
        help_text=_("The marketplace's fee on sales, for the settlement report."),
    )
    stock_push_enabled = forms.BooleanField(
        label=_("Send stock to this channel"), required=False, initial=True
    )
    stock_keep_back = forms.IntegerField(
        label=_("Keep back"),
        min_value=0,
        initial=0,
        help_text=_("Show this many fewer than are available (a buffer against overselling)."),
    )
    stock_expose_percent = forms.IntegerField(
        label=_("Expose (%)"),
        min_value=0,
        max_value=100,
        initial=100,
        help_text=_("Share of the available quantity this channel may sell."),
    )
    stock_zero_threshold = forms.IntegerField(
        label=_("Sold out at or below"),
        min_value=0,
        initial=0,
        help_text=_("Send 0 when the available quantity is at or below this number."),
    )

    def __init__(
        self,
        *args: Any,
        marketplace: MarketplaceInfo,
        account: ChannelAccount | None = None,
        credentials: CredentialsView | None = None,
        **kwargs: Any,
    ) -> None:
        if account is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": account.name,
                "base_url": account.base_url,
                **{
                    f: getattr(account, f)
                    for f in (*SCHEDULE_FIELDS, *SETTLEMENT_FIELDS, *STOCK_FIELDS, "is_active")
                },
            }
        super().__init__(*args, **kwargs)
        self.marketplace = marketplace
        self.account = account
        if marketplace.default_base_url:
            self.fields["base_url"].widget.attrs["placeholder"] = marketplace.default_base_url
            self.fields["base_url"].help_text = _("Leave empty to use %(url)s.") % {
                "url": marketplace.default_base_url
            }
        else:
            # Nothing is collected from or sent to an Excel-only marketplace.
            for name in ("base_url", *SCHEDULE_FIELDS, *STOCK_FIELDS):
                del self.fields[name]
        if account is None:
            del self.fields["is_active"]
        states = {s.field.name: s for s in credentials.fields} if credentials else {}
        for cred in marketplace.credential_fields:
            state = states.get(cred.name)
            saved = bool(state and state.is_set)
            required = cred.required and not saved
            if cred.secret:
                field: forms.Field = forms.CharField(
                    label=str(cred.label),
                    required=required,
                    strip=True,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                )
                if saved and state is not None:
                    field.help_text = format_html(
                        '<span class="cred-set">{}</span> {} {}',
                        _("Configured"),
                        state.display,
                        _("· leave empty to keep it."),
                    )
                elif cred.help_text:
                    field.help_text = str(cred.help_text)
            else:
                field = forms.CharField(
                    label=str(cred.label),
                    required=cred.required,
                    initial=state.display if state else "",
                    widget=forms.TextInput(attrs={"autocomplete": "off"}),
                )
                field.help_text = str(cred.help_text)
            self.fields[CRED_PREFIX + cred.name] = field

    # --- groups for the template -----------------------------------------------------------

    def _group(self, names: tuple[str, ...]) -> list[forms.BoundField]:
        return [self[n] for n in names if n in self.fields]

    @property
    def general_fields(self) -> list[forms.BoundField]:
        return self._group(GENERAL_FIELDS)

    @property
    def schedule_fields(self) -> list[forms.BoundField]:
        return self._group(SCHEDULE_FIELDS)

    @property
    def settlement_fields(self) -> list[forms.BoundField]:
        return self._group(SETTLEMENT_FIELDS)

    @property
    def stock_fields(self) -> list[forms.BoundField]:
        return self._group(STOCK_FIELDS)

    @property
    def credential_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.fields if n.startswith(CRED_PREFIX)]

    # --- validation ------------------------------------------------------------------------

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        clash = ChannelAccount.objects.filter(name=name)
        if self.account is not None:
            clash = clash.exclude(pk=self.account.pk)
        if clash.exists():
            raise ValidationError(_("Another channel account already has this name."))
        return name

    def clean_base_url(self) -> str:
        url: str = (self.cleaned_data.get("base_url") or "").strip()
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                raise ValidationError(
                    _("Enter a full address starting with https:// (or http://).")
                ) from None
        return url

    def credential_changes(self) -> dict[str, str | None]:
        """For the service: None keeps a saved secret (its input was left empty)."""
        out: dict[str, str | None] = {}
        for cred in self.marketplace.credential_fields:
            value = self.cleaned_data.get(CRED_PREFIX + cred.name) or ""
            out[cred.name] = None if cred.secret and not value else value
        return out

    def settings_values(self) -> dict[str, Any]:
        names = (*SCHEDULE_FIELDS, *SETTLEMENT_FIELDS, *STOCK_FIELDS, "is_active")
        return {n: self.cleaned_data[n] for n in names if n in self.fields}

    def add_service_errors(self, fields: dict[str, str], message: str) -> None:
        """Show a service's AccountError next to the inputs it is about."""
        placed = False
        for name, text in fields.items():
            target = name if name in self.fields else CRED_PREFIX + name
            if target in self.fields:
                self.add_error(target, text)
                placed = True
        if not placed:
            self.add_error(None, message)


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False)
    marketplace = forms.ChoiceField(
        label=_("Marketplace"), required=False, choices=[("", _("All")), *Marketplace.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *ChannelAccount.Status.choices]
    )


class ListingFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Name, channel id, seller code, SKU")}),
    )
    link = forms.ChoiceField(
        label=_("SKU link"),
        required=False,
        choices=[("", _("All")), ("linked", _("Linked")), ("unlinked", _("Not linked"))],
    )
    sync = forms.ChoiceField(
        label=_("Stock sync"),
        required=False,
        choices=[
            ("", _("All")),
            ("ok", _("Sent")),
            ("never", _("Not sent yet")),
            ("error", _("Send failed")),
            ("excluded", _("Excluded")),
        ],
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Listing.Status.choices]
    )


class ListingLinkForm(forms.Form):
    sku_code = forms.CharField(
        label=_("SKU code"),
        max_length=64,
        required=False,
        help_text=_("Leave empty to unlink."),
    )

    def clean_sku_code(self) -> Sku | None:
        code = self.cleaned_data["sku_code"].strip()
        if not code:
            return None
        sku = Sku.objects.filter(code=code).first() or Sku.objects.filter(barcode=code).first()
        if sku is None:
            raise ValidationError(_("No SKU has the code or barcode %(code)s.") % {"code": code})
        if not sku.is_active:
            raise ValidationError(_("SKU %(code)s is not in use.") % {"code": sku.code})
        return sku


class SyncJobFilterForm(forms.Form):
    account = forms.ModelChoiceField(
        label=_("Account"),
        required=False,
        queryset=ChannelAccount.objects.order_by("name"),
        empty_label=_("All"),
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *SyncJob.Kind.choices])
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *SyncJob.Status.choices]
    )
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned
