"""Forms of the accounts pages. They only shape input: the rules are in accounts.services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .domain import InvalidNumber, normalize_cn_resident_id, normalize_registration_number
from .models import User


class LoginForm(AuthenticationForm):
    """Django's login form with an email field (eHub users have no username)."""

    username = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _("That email address and password do not match an account."),
        "inactive": _("This account is inactive."),
    }


class BuyerSignupForm(forms.Form):
    full_name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("At least 10 characters; not a common password and not all digits."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class MerchantSignupForm(forms.Form):
    legal_name = forms.CharField(
        label=_("Company legal name"),
        max_length=200,
        help_text=_("As registered with the Companies Commission of Malaysia (SSM)."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    registration_number = forms.CharField(
        label=_("SSM registration number"),
        max_length=32,
        help_text=_("The 12-digit company number, e.g. 201901000005."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        initial="MY",
        help_text=_("Two-letter country code where the company is registered."),
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 2}),
    )
    full_name = forms.CharField(
        label=_("Owner's name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("At least 10 characters; not a common password and not all digits."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        # Early feedback with the domain's own rule, so a bad SSM number is reported together
        # with any missing field; sign_up_merchant checks it again.
        data = super().clean()
        number, country = data.get("registration_number"), data.get("country")
        if number and country:
            try:
                normalize_registration_number(country, number)
            except InvalidNumber as exc:
                self.add_error("registration_number", str(exc.message))
        return data


class BuyerIdentityForm(forms.Form):
    """The identity a buyer declares to customs. Stored values are never put back in the form."""

    real_name = forms.CharField(
        label=_("Real name"),
        max_length=100,
        help_text=_("Exactly as on your resident ID card."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        help_text=_("18 characters; the last may be X."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_id_number(self):
        number = self.cleaned_data["id_number"]
        try:
            normalize_cn_resident_id(number)
        except InvalidNumber as exc:
            raise forms.ValidationError(str(exc.message), code="invalid") from exc
        return number


# ---------------------------------------------------------------------------------------------
# Admin: Django's user forms, rebuilt around the email (eHub users have no username)
# ---------------------------------------------------------------------------------------------


class _EmailMixin:
    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip().lower()
        taken = User.objects.filter(email__iexact=email)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if email and taken.exists():
            raise forms.ValidationError(_("An account with this email already exists."))
        return email


class AdminUserCreationForm(_EmailMixin, auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class AdminUserChangeForm(_EmailMixin, auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class TokenForm(forms.Form):
    """The name of a new API token (an organization's, on the merchant settings page)."""

    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("Say what will use it, e.g. “Shop sync” or “ERP export”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class PersonalTokenForm(TokenForm):
    """The name of a new personal API token (a person's own, on the profile page)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].help_text = _("Say what will use it, e.g. “My shopping app”.")


class TrainerForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("The person signs up first; then appoint them here."),
    )
