"""The academy's demo seed: three published courses, one featured, a cohort; idempotent."""

from __future__ import annotations

import pytest

from ehub.academy import demo
from ehub.academy.models import Cohort, Course

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent(make_org, make_user, staff_user, merchant_org, merchant_user):
    from ehub.accounts.domain import OrgKind, Role

    platform = make_org(kind=OrgKind.PLATFORM, name="eHub Operations")
    make_user(demo.TRAINER_EMAIL, org=platform, role=Role.TRAINER, full_name="Daniel Lim")
    lines: list[str] = []
    assert demo.seed({"durian": merchant_org}, out=lines.append) == 3
    assert Course.objects.filter(status="published").count() == 3
    assert list(Course.objects.filter(featured=True).values_list("slug", flat=True)) == [
        "selling-to-china-cbec"
    ]
    cohort = Cohort.objects.get(name=demo.COHORT_NAME)
    assert list(cohort.members.all()) == [merchant_user]
    assert lines and "3 courses" in lines[0]
    assert demo.seed({"durian": merchant_org}, out=lines.append) == 0
    assert Course.objects.count() == 3 and Cohort.objects.count() == 1


def test_seed_without_a_trainer_says_so(db):
    lines: list[str] = []
    assert demo.seed({}, out=lines.append) == 0
    assert "no trainer" in lines[0]
