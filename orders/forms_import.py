"""Input parsing for the order-sheet upload and the user-defined sheet profiles."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels.forms import AccountChoiceField
from channels.models import ChannelAccount, Marketplace
from oms.sheets import SheetUploadForm, normalize_header
from orders.excel import user_profile
from orders.excel_profiles import BUILTIN_PROFILES, ORDER_FIELDS, SheetProfile
from orders.models import ExcelProfile

AUTO = ""


def import_accounts() -> QuerySet[ChannelAccount]:
    """Accounts an order sheet can be uploaded for: in use, and not the phone/offline one."""
    return (
        ChannelAccount.objects.filter(is_active=True).exclude(marketplace=Marketplace.MANUAL).order_by("name")
    )


def profile_choices() -> list[tuple[str, Any]]:
    """자동 감지, the built-in profiles, then every account's own profiles grouped by account."""
    choices: list[tuple[str, Any]] = [(AUTO, _("Detect automatically"))]
    choices.append((str(_("Built-in")), [(key, p.label) for key, p in BUILTIN_PROFILES.items()]))
    own: dict[str, list[tuple[str, str]]] = {}
    for profile in ExcelProfile.objects.select_related("account").order_by("account__name", "name"):
        own.setdefault(profile.account.name, []).append((f"user:{profile.pk}", profile.name))
    for account_name, items in own.items():
        choices.append((account_name, items))
    return choices


class OrderUploadForm(SheetUploadForm):
    """Channel account, sheet profile (or detect it), the file and its password."""

    field_order = ["account", "profile", "file", "password"]

    account = AccountChoiceField(
        label=_("Channel account"),
        queryset=ChannelAccount.objects.none(),
        empty_label=_("Choose the account the orders belong to"),
    )
    profile = forms.ChoiceField(
        label=_("Sheet profile"),
        required=False,
        help_text=_(
            "Detect automatically finds the layout from the headers; choose one if it guesses wrong."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account_field = self.fields["account"]
        assert isinstance(account_field, forms.ModelChoiceField)
        account_field.queryset = import_accounts()
        profile_field = self.fields["profile"]
        assert isinstance(profile_field, forms.ChoiceField)
        profile_field.choices = profile_choices()
        self.fields["password"].help_text = _(
            "SmartStore order downloads are password-protected: enter the password you set when "
            "downloading. Leave empty for other files."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        account: ChannelAccount | None = cleaned.get("account")
        key = cleaned.get("profile") or AUTO
        cleaned["sheet_profile"] = None
        if key and account is not None:
            if key in BUILTIN_PROFILES:
                cleaned["sheet_profile"] = BUILTIN_PROFILES[key]
            else:
                own = ExcelProfile.objects.filter(account=account).select_related("account")
                found = own.filter(pk=int(key[5:])).first() if key[5:].isdigit() else None
                if found is None:
                    self.add_error(
                        "profile",
                        _("This profile belongs to another account. Choose one of %(account)s's profiles.")
                        % {"account": account.name},
                    )
                else:
                    cleaned["sheet_profile"] = user_profile(found)
        return cleaned

    def sheet_profile(self) -> SheetProfile | None:
        profile: SheetProfile | None = self.cleaned_data.get("sheet_profile")
        return profile


# --- User-defined profiles -----------------------------------------------------------------------

FIELD_PREFIX = "f_"
# Fields every profile must map (address: 주소 or 기본 주소).
REQUIRED_FIELDS = [name for name, spec in ORDER_FIELDS.items() if spec.required and name != "address1"]


def field_hint(name: str) -> str:
    """A header text sellers' sheets commonly use for the field (from the built-in profiles)."""
    for profile in BUILTIN_PROFILES.values():
        texts = profile.headers.get(name)
        if texts:
            return texts[0]
    return ""


class ExcelProfileForm(forms.Form):
    """One sheet layout of one account: a header text per field ("|" between alternatives)."""

    name = forms.CharField(label=_("Profile name"), max_length=100)
    sheet_name = forms.CharField(
        label=_("Sheet name"),
        max_length=100,
        required=False,
        help_text=_("Leave empty to use the first sheet that has the headers."),
    )
    header_row = forms.IntegerField(
        label=_("Header row"),
        required=False,
        min_value=1,
        max_value=50,
        help_text=_("The row number of the header row as Excel shows it; leave empty to find it."),
    )

    def __init__(
        self, *args: Any, account: ChannelAccount, instance: ExcelProfile | None = None, **kwargs: Any
    ):
        self.account = account
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            initial: dict[str, Any] = {
                "name": instance.name,
                "sheet_name": instance.sheet_name,
                "header_row": instance.header_row or None,
            }
            for name, text in (instance.mapping or {}).items():
                initial[FIELD_PREFIX + name] = text
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        for name, spec in ORDER_FIELDS.items():
            required = spec.required and name != "address1"
            hint = field_hint(name)
            attrs = {"placeholder": gettext("e.g. %(header)s") % {"header": hint}} if hint else {}
            self.fields[FIELD_PREFIX + name] = forms.CharField(
                label=str(spec.label),
                max_length=300,
                required=False,
                widget=forms.TextInput(attrs=attrs),
            )
            self.fields[FIELD_PREFIX + name].is_required_field = required  # type: ignore[attr-defined]

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[FIELD_PREFIX + name] for name in ORDER_FIELDS]

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        others = ExcelProfile.objects.filter(account=self.account, name=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("This account already has a profile with this name."))
        if name in BUILTIN_PROFILES:
            raise forms.ValidationError(_("This name is used by a built-in profile; choose another."))
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        mapping: dict[str, str] = {}
        for name in ORDER_FIELDS:
            parts = [p.strip() for p in str(cleaned.get(FIELD_PREFIX + name) or "").split("|")]
            text = " | ".join(p for p in parts if p)
            if text:
                mapping[name] = text
        for name in REQUIRED_FIELDS:
            if name not in mapping:
                self.add_error(FIELD_PREFIX + name, _("Required: give the header text of this column."))
        if "address1" not in mapping and "address_full" not in mapping:
            message = _("Map the address: either Full address, or Address (with Address detail).")
            self.add_error(FIELD_PREFIX + "address_full", message)
        if "address2" in mapping and "address1" not in mapping:
            self.add_error(FIELD_PREFIX + "address1", _("Address detail needs Address as well."))
        # One header can feed one field only: the sheet reader maps each header once.
        owner: dict[str, str] = {}
        for name, text in mapping.items():
            for header in text.split("|"):
                key = normalize_header(header)
                if not key:
                    continue
                if key in owner:
                    self.add_error(
                        FIELD_PREFIX + name,
                        _("The header %(header)s is already given for %(field)s.")
                        % {"header": header.strip(), "field": ORDER_FIELDS[owner[key]].label},
                    )
                else:
                    owner[key] = name
        cleaned["mapping"] = mapping
        return cleaned
