from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from oms.models import AuditLog, Company, User
from oms.roles import Role

ROLE_CHOICES = [(role.name, role.label) for role in Role]


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("User name"), widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class _PasswordPairMixin(forms.Form):
    password1 = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def _password_user(self) -> User | None:
        return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords do not match."))
        elif p1:
            try:
                password_validation.validate_password(p1, self._password_user())
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class UserCreateForm(_PasswordPairMixin):
    username = forms.RegexField(
        label=_("User name"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Use letters, digits and @/./+/-/_ only.")},
    )
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)

    field_order = ["username", "last_name", "first_name", "email", "role", "password1", "password2"]

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This user name is already taken."))
        return username

    def _password_user(self) -> User | None:
        return User(username=self.cleaned_data.get("username", ""), email=self.cleaned_data.get("email", ""))


class UserEditForm(forms.Form):
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


class PasswordResetForm(_PasswordPairMixin):
    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def _password_user(self) -> User | None:
        return self.user


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All roles")), *ROLE_CHOICES])
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("1", _("Active")), ("0", _("Deactivated"))],
    )


class ContentTypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.app_label} · {obj.name}"


class DateRangeForm(forms.Form):
    """A filter form with date_from / date_to fields (declared by the subclass, where they
    should appear) that refuses an end date before the start date."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


def flash_errors(request: HttpRequest, form: forms.Form) -> None:
    """Each of the form's errors as an error message (a form posted from a list page, which
    redirects back to the list instead of showing the form again)."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))


def valid_filters(form: forms.Form, *, drop_blank: bool = False) -> dict[str, Any]:
    """The valid filters of a bound form; invalid fields are dropped (the form shows why), and
    with `drop_blank` the empty ones too."""
    if form.is_bound:
        form.is_valid()
    return {
        k: v
        for k, v in getattr(form, "cleaned_data", {}).items()
        if k not in form.errors and not (drop_blank and v in ("", None))
    }


class AuditFilterForm(DateRangeForm):
    actor = forms.ModelChoiceField(
        label=_("User"), required=False, queryset=User.objects.order_by("username")
    )
    content_type = ContentTypeChoiceField(
        label=_("Object type"), required=False, queryset=ContentType.objects.none()
    )
    action = forms.CharField(label=_("Action"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        used = AuditLog.objects.exclude(content_type=None).values("content_type").distinct()
        field = self.fields["content_type"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = ContentType.objects.filter(pk__in=used).order_by("app_label", "model")


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = [
            "name",
            "business_number",
            "representative",
            "phone",
            "email",
            "zip_code",
            "address",
            "return_zip_code",
            "return_address",
        ]
