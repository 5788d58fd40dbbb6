"""Showing a service's field errors on a Django form, so pages and the API name the same fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ehub.core.errors import DomainError


def add_service_errors(form: forms.Form, exc: DomainError) -> None:
    """Put each FieldError next to its field, the rest above the form.

    A form whose field names differ from the service's may map them with a ``FIELD_OF`` dict
    (service field → form field). An indexed field such as ``lines[0].sku_code`` the form does
    not have goes next to its base field (``lines``), e.g. a textarea of one item per line. An
    error naming a field the form does not have is shown above the form, prefixed with that name
    so the reader still knows what it is about.
    """
    errors = exc.errors
    if not errors:
        form.add_error(None, forms.ValidationError(str(exc.detail), code=exc.code))
        return
    mapping = getattr(form, "FIELD_OF", {})
    for error in errors:
        name = mapping.get(error.field, error.field)
        if name not in form.fields:
            name = name.partition("[")[0]  # lines[0].sku_code -> lines
        if name not in form.fields:
            name = None
        message = str(error.message)
        if name is None and error.field:
            message = f"{error.field}: {message}"
        form.add_error(name, forms.ValidationError(message, code=error.code or "invalid"))


class ImageUploadForm(forms.Form):
    """One uploaded picture and its alt text. A plain FileField: the service decides what is
    an image (``core.images``), for pages and the API alike. Subclasses set ``max_bytes`` to
    their service's limit (shown in the help text) and may give ``alt_text`` an example."""

    max_bytes = 5 * 1024 * 1024
    alt_text_help = _("What the picture shows; it becomes the image’s alt text.")

    image = forms.FileField(
        label=_("Image"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
        ),
    )
    alt_text = forms.CharField(
        label=_("Description for screen readers"), max_length=200, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["image"].help_text = _("JPEG, PNG, WebP or GIF, at most %(size)d MB.") % {
            "size": self.max_bytes // (1024 * 1024)
        }
        self.fields["alt_text"].help_text = self.alt_text_help
