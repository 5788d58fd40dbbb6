"""Domain errors carry what the API needs for problem+json and views need inline."""

from ehub.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)


def test_statuses_and_codes():
    assert (NotFound().status, NotFound.code) == (404, "not_found")
    assert (PermissionDenied().status, PermissionDenied.code) == (403, "permission_denied")
    assert (Conflict().status, Conflict.code) == (409, "conflict")
    assert DomainError().status == 400
    assert ValidationFailed.single("email", "Taken.", "taken").status == 422


def test_message_defaults_to_title_and_overrides():
    error = NotFound()
    assert error.detail == str(NotFound.title)
    error = Conflict("Already approved.", code="already_approved", field="status")
    assert (error.code, error.field, error.detail) == (
        "already_approved",
        "status",
        "Already approved.",
    )
    assert Conflict.code == "conflict"  # the instance override does not leak to the class
    assert str(error) == "Already approved."


def test_problem_details():
    error = ValidationFailed(
        [
            FieldError("email", "Enter a valid email address."),
            FieldError("name", "Required.", "required"),
        ]
    )
    problem = error.as_problem(instance="/api/v1/orgs")
    assert problem == {
        "title": "Some fields are invalid.",
        "status": 422,
        "detail": "Some fields are invalid.",
        "code": "validation_failed",
        "instance": "/api/v1/orgs",
        "errors": [
            {"field": "email", "message": "Enter a valid email address.", "code": "invalid"},
            {"field": "name", "message": "Required.", "code": "required"},
        ],
    }
    assert error.field is None
    single = NotFound("No such order.", field="order_id").as_problem()
    assert single["errors"] == [
        {"field": "order_id", "message": "No such order.", "code": "not_found"}
    ]
    assert "errors" not in PermissionDenied().as_problem()
