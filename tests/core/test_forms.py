"""add_service_errors: a service's field errors land next to the form fields they name."""

from django import forms

from ehub.core.errors import FieldError, NotFound, ValidationFailed
from ehub.core.forms import add_service_errors


class AsnLikeForm(forms.Form):
    hub = forms.CharField(required=False)
    lines = forms.CharField(required=False)  # one "SKU qty" per line
    sku_code = forms.CharField(required=False)

    FIELD_OF = {"warehouse": "hub"}


def errors_after(exc, form_class=AsnLikeForm):
    form = form_class(data={})
    assert form.is_valid()
    add_service_errors(form, exc)
    return form.errors.get_json_data()


def messages(data):
    return {name: [e["message"] for e in errs] for name, errs in data.items()}


def test_field_errors_go_next_to_their_field_with_their_code():
    data = errors_after(ValidationFailed.single("hub", "Choose a hub.", "no_hub"))
    assert data == {"hub": [{"message": "Choose a hub.", "code": "no_hub"}]}


def test_field_of_maps_a_service_name_to_the_form_name():
    assert messages(errors_after(ValidationFailed.single("warehouse", "Closed."))) == {
        "hub": ["Closed."]
    }


def test_indexed_fields_go_next_to_their_base_field():
    exc = ValidationFailed(
        [
            FieldError("lines[0].sku_code", "Unknown SKU code.", "unknown_sku"),
            FieldError("lines[2].qty", "Enter a quantity of at least 1."),
        ]
    )
    assert messages(errors_after(exc)) == {
        "lines": ["Unknown SKU code.", "Enter a quantity of at least 1."]
    }


def test_a_form_field_of_the_full_name_wins_over_the_base():
    class Grid(AsnLikeForm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["lines[0].sku_code"] = forms.CharField(required=False)

    exc = ValidationFailed.single("lines[0].sku_code", "Unknown SKU code.")
    assert messages(errors_after(exc, Grid)) == {"lines[0].sku_code": ["Unknown SKU code."]}


def test_unknown_fields_go_above_the_form_prefixed_with_their_name():
    exc = ValidationFailed(
        [FieldError("parts[1].merchant", "No such merchant."), FieldError("note", "Too long.")]
    )
    assert messages(errors_after(exc)) == {
        "__all__": ["parts[1].merchant: No such merchant.", "note: Too long."]
    }


def test_an_error_without_fields_goes_above_the_form():
    data = errors_after(NotFound("No such hub."))
    assert data == {"__all__": [{"message": "No such hub.", "code": "not_found"}]}
