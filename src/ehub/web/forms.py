"""Forms of the portal shell."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("Say what will use it, e.g. “Shop sync” or “ERP export”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
