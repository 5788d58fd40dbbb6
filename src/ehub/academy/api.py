"""Academy API: courses, enrolments, certificates."""

from ninja import Router

router = Router()
