"""Demo data of the academy: the seed courses, featured, and a cohort of the demo merchants.

``seed(orgs, out=print)`` takes the organizations of ``web.demo`` by key. The courses are
written by the demo trainer (``trainer@ehub.demo``, or the first user with the trainer role)
from ``academy/data/courses/*.toml``; platform staff feature those marked ``featured``. A
cohort "Malaysia Week readiness" led by the trainer holds the demo merchants' owners. Safe to
run again: existing courses and the cohort are left as they are.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ehub.accounts.domain import Role
from ehub.accounts.models import Membership, User
from ehub.accounts.services import build_context
from ehub.core import clock

from . import content, services
from .models import Cohort, Course

TRAINER_EMAIL = "trainer@ehub.demo"
COHORT_NAME = "Malaysia Week readiness"
COHORT_MERCHANTS = ("durian", "batik", "nest")


def _trainer() -> User | None:
    user = User.objects.filter(email=TRAINER_EMAIL).first()
    if user is None:
        member = (
            Membership.objects.filter(role=Role.TRAINER)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        user = member.user if member else None
    return user


@transaction.atomic
def seed(orgs: dict | None = None, out=print) -> int:
    """Install the seed courses; returns how many were created."""
    trainer = _trainer()
    if trainer is None:
        out("academy demo: no trainer user yet, courses not installed.")
        return 0
    ctx = build_context(trainer, via="cli")
    created = 0
    featured = []
    for path in content.course_files():
        data = content.load(path)
        course, was_created = content.install_course(ctx, data)
        created += int(was_created)
        if data.get("featured"):
            featured.append(course.slug)
    staff = User.objects.filter(is_staff=True, is_active=True).order_by("pk").first()
    if staff is not None:
        staff_ctx = build_context(staff, via="cli")
        for slug in featured:
            services.feature_course(staff_ctx, slug, True)
    first = Course.objects.filter(slug="selling-to-china-cbec").first()
    if first is not None and not Cohort.objects.filter(name=COHORT_NAME, trainer=trainer).exists():
        cohort = services.create_cohort(
            ctx,
            name=COHORT_NAME,
            slug=first.slug,
            starts_on=(clock.now() + dt.timedelta(days=7)).date(),
        )
        owners = Membership.objects.filter(
            org__in=[orgs[k] for k in COHORT_MERCHANTS if orgs and k in orgs], role=Role.OWNER
        ).values_list("user__email", flat=True)
        for email in owners:
            services.add_cohort_member(ctx, cohort.pk, email)
    if created:
        out(f"academy demo: {created} courses published by {trainer.email} (see /academy/).")
    return created
