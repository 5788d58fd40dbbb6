"""The `ehub` command line: demo seed, tokens, deploy checks, the console script itself."""

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ehub.accounts import services
from ehub.accounts.models import ApiToken, BuyerProfile, Membership, Organization, User
from ehub.web import demo

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent_and_complete():
    first = demo.seed()
    counts = (User.objects.count(), Organization.objects.count(), Membership.objects.count())
    second = demo.seed()
    assert counts == (
        User.objects.count(),
        Organization.objects.count(),
        Membership.objects.count(),
    )
    assert [x.email for x in first] == [x.email for x in second]
    kinds = set(Organization.objects.values_list("kind", flat=True))
    assert kinds == {"platform", "merchant", "hub_operator", "customs_authority"}
    assert Organization.objects.filter(kind="merchant", status="active").count() == 3
    assert Organization.objects.get(legal_name__startswith="KLIA Aeropolis").kind == "hub_operator"
    assert BuyerProfile.objects.filter(id_verified=True).count() == 2
    for email in (
        "durian@ehub.demo",
        "li.wei@buyer.demo",
        "customs@ehub.demo",
        "trainer@ehub.demo",
    ):
        assert User.objects.get(email=email).check_password(demo.DEMO_PASSWORD)


def test_demo_registration_numbers_pass_the_real_checks():
    from ehub.accounts.domain import normalize_cn_resident_id, normalize_registration_number

    demo.seed()
    registered = list(Organization.objects.exclude(registration_number=""))
    profiles = list(BuyerProfile.objects.all())
    assert registered and profiles, "the demo seeds registered companies and buyer identities"
    for org in registered:
        assert (
            normalize_registration_number(org.country, org.registration_number)
            == org.registration_number
        )
    for profile in profiles:
        assert normalize_cn_resident_id(profile.id_number) == profile.id_number


def test_demo_command_seed_only_prints_logins():
    out = io.StringIO()
    call_command("demo", "--seed-only", stdout=out)
    text = out.getvalue()
    assert demo.DEMO_PASSWORD in text
    for email in ("ops@ehub.demo", "hub@ehub.demo", "durian@ehub.demo", "wang.fang@buyer.demo"):
        assert email in text


def test_token_command_creates_lists_and_revokes():
    demo.seed()
    org = Organization.objects.get(legal_name__startswith="Raja Musang King")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "token",
        "create",
        "--org",
        org.public_id,
        "--user",
        "durian@ehub.demo",
        "--name",
        "ci",
        stdout=out,
        stderr=err,
    )
    secret = out.getvalue().strip()
    token = services.authenticate_token(secret)
    assert token is not None and token.org == org
    out = io.StringIO()
    call_command("token", "list", "--org", org.public_id, stdout=out)
    assert token.prefix in out.getvalue() and "active" in out.getvalue()
    call_command("token", "revoke", token.prefix, stdout=io.StringIO())
    assert services.authenticate_token(secret) is None
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_token_command_refuses_a_non_member():
    demo.seed()
    org = Organization.objects.get(legal_name__startswith="Raja Musang King")
    with pytest.raises(CommandError):
        call_command(
            "token", "create", "--org", org.public_id, "--user", "batik@ehub.demo", "--name", "x"
        )


def _ehub(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EHUB_", "DJANGO_"))}
    env.update(env_extra or {})
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "ehub", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_missing_secret_key_is_a_clear_error_when_debug_is_off():
    result = _ehub("check")
    assert result.returncode == 2
    assert "EHUB_SECRET_KEY" in result.stderr


def test_deploy_check_has_no_warnings_with_debug_off(tmp_path):
    result = _ehub(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={
            "EHUB_SECRET_KEY": "x" * 20 + "a-long-random-secret-for-the-deploy-check-0123456789",
            "EHUB_ALLOWED_HOSTS": "ehub.example.com",
            "EHUB_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_redis_cache_is_used_when_configured():
    from django.conf import settings
    from django.core.cache import cache

    if os.environ.get("EHUB_REDIS_URL"):
        assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    else:
        assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    cache.set("ehub-probe", {"n": 1}, 30)
    assert cache.get("ehub-probe") == {"n": 1}
