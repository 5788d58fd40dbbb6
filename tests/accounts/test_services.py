"""Accounts use cases against the database: sign-up, approval, context, tokens, buyer identity."""

import hashlib

import pytest
from django.db import connection

from ehub.accounts import services
from ehub.accounts.domain import OrgKind, OrgStatus, Role
from ehub.accounts.models import ApiToken, BuyerProfile, Membership, Organization, User
from ehub.core.context import Context
from ehub.core.errors import NotFound, PermissionDenied, ValidationFailed
from ehub.core.models import AuditEntry

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "durian-season-2026"


def merchant_signup(**kw):
    data = {
        "email": "owner@durian.example",
        "password": GOOD_PASSWORD,
        "full_name": "Tan Mei Ling",
        "legal_name": "Durian Raja Sdn. Bhd.",
        "registration_number": "201901012345",
        "country": "MY",
    }
    data.update(kw)
    return services.sign_up_merchant(services.MerchantSignup(**data))


def make_org(kind=OrgKind.MERCHANT, name="Org", status=OrgStatus.ACTIVE):
    return Organization.objects.create(kind=kind, legal_name=name, country="MY", status=status)


def make_user(email, org=None, role=Role.OWNER, **kw):
    user = User.objects.create_user(email, GOOD_PASSWORD, **kw)
    if org is not None:
        Membership.objects.create(user=user, org=org, role=role)
    return user


def test_passwords_are_hashed_with_argon2():
    user = make_user("a@example.com")
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(GOOD_PASSWORD)
    assert not user.check_password("wrong-password-123")


def test_email_login_is_case_insensitive():
    make_user("Mixed@Example.com")
    assert User.objects.get_by_natural_key("mixed@example.COM").email == "mixed@example.com"


def test_merchant_signup_creates_pending_org_with_owner_and_audit():
    user, org = merchant_signup()
    assert org.kind == OrgKind.MERCHANT
    assert org.status == OrgStatus.PENDING
    assert org.public_id.startswith("ORG-")
    assert Membership.objects.filter(user=user, org=org, role=Role.OWNER).exists()
    entry = AuditEntry.objects.get(action="merchant.signed_up")
    assert entry.actor_id == user.pk
    assert entry.object_id == str(org.pk)


def test_merchant_signup_reports_every_bad_field_and_writes_nothing():
    with pytest.raises(ValidationFailed) as err:
        merchant_signup(
            email="not-an-email", password="123", legal_name="", registration_number="2019"
        )
    fields = {e.field for e in err.value.errors}
    assert {"email", "password", "legal_name", "registration_number"} <= fields
    assert not User.objects.exists()
    assert not Organization.objects.exists()


def test_duplicate_registration_number_is_refused():
    merchant_signup()
    with pytest.raises(ValidationFailed) as err:
        merchant_signup(email="other@example.com")
    assert [e.field for e in err.value.errors] == ["registration_number"]


def test_buyer_signup_has_profile_and_no_org():
    user = services.sign_up_buyer(services.BuyerSignup("li@example.cn", GOOD_PASSWORD, "Li Wei"))
    assert BuyerProfile.objects.filter(user=user).exists()
    assert services.orgs_of(user) == []
    ctx = services.build_context(user)
    assert ctx.org is None and ctx.roles == frozenset()


def test_only_platform_staff_approve_merchants():
    _user, org = merchant_signup()
    outsider = make_user("m@example.com", make_org(name="Other merchant"))
    with pytest.raises(PermissionDenied):
        services.approve_org(services.build_context(outsider), org.pk)

    platform = make_org(OrgKind.PLATFORM, "eHub")
    staff = make_user("ops@example.com", platform, Role.ADMIN)
    ctx = services.build_context(staff)
    approved = services.approve_org(ctx, org.pk)
    assert approved.status == OrgStatus.ACTIVE
    assert approved.approved_by == staff
    assert services.approve_org(ctx, org.pk).status == OrgStatus.ACTIVE  # idempotent
    assert AuditEntry.objects.filter(action="org.approved").count() == 1
    with pytest.raises(NotFound):
        services.approve_org(ctx, 999_999)


def test_is_platform_staff_people_and_machines():
    platform, merchant = make_org(OrgKind.PLATFORM, "eHub"), make_org(name="Merchant")

    def both(ctx):
        return services.is_platform_staff(ctx), services.is_platform_staff(ctx, allow_system=True)

    for role in (Role.OWNER, Role.ADMIN, Role.STAFF):
        member = make_user(f"{role}@ehub.example", platform, role)
        assert both(services.build_context(member)) == (True, True)
    officer = make_user("officer@ehub.example", platform, Role.OFFICER)
    assert both(services.build_context(officer)) == (False, False)
    django_staff = make_user("root@ehub.example", merchant, is_staff=True)
    assert both(services.build_context(django_staff)) == (True, True)
    merchant_owner = make_user("owner@merchant.example", merchant)
    assert both(services.build_context(merchant_owner)) == (False, False)
    assert both(services.build_context(None)) == (False, False)
    # No person: the system role, or a command acting for the platform org with a staff role.
    assert both(Context.system()) == (False, True)
    assert both(Context(org=platform, roles=frozenset({Role.OWNER}), via="cli")) == (False, True)
    assert both(Context(org=merchant, roles=frozenset({Role.OWNER}), via="cli")) == (False, False)
    # A system context carrying a signed-in person is judged by that person without allow_system.
    assert both(Context(user=merchant_owner, roles=frozenset({"system"}))) == (False, True)

    with pytest.raises(PermissionDenied, match="Sign in"):
        services.require_platform_staff(Context(org=platform, roles=frozenset({Role.OWNER})))
    with pytest.raises(PermissionDenied, match="Only platform staff"):
        services.require_platform_staff(services.build_context(officer))
    services.require_platform_staff(services.build_context(django_staff))


def test_context_uses_chosen_org_only_if_member():
    a, b, c = make_org(name="A"), make_org(name="B"), make_org(name="C")
    user = make_user("two@example.com", a)
    Membership.objects.create(user=user, org=b, role=Role.STAFF)
    assert services.build_context(user, b.pk).org == b
    assert services.build_context(user, b.pk).roles == {Role.STAFF}
    assert services.build_context(user, c.pk).org == a  # not a member of C: falls back
    with pytest.raises(NotFound):
        services.switch_org(user, c.pk)


def test_scoped_querysets_only_show_the_active_org():
    a, b = make_org(name="A"), make_org(name="B")
    ua, ub = make_user("a@example.com", a), make_user("b@example.com", b)
    ta = services.create_token(services.build_context(ua), "a-token").token
    services.create_token(services.build_context(ub), "b-token")
    assert list(services.list_tokens(services.build_context(ua))) == [ta]
    assert (
        services.scoped(
            ApiToken.objects.all(), services.build_context(make_user("x@example.com"))
        ).count()
        == 0
    )


def test_token_is_stored_hashed_and_authenticates():
    org = make_org()
    owner = make_user("o@example.com", org)
    issued = services.create_token(services.build_context(owner), "ERP sync")
    assert issued.secret.startswith("ehub_" + issued.token.prefix + "_")
    stored = ApiToken.objects.get()
    assert stored.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    with connection.cursor() as cur:  # the secret itself is nowhere in the table
        cur.execute("SELECT * FROM accounts_apitoken")
        assert issued.secret not in repr(cur.fetchall())
    found = services.authenticate_token(issued.secret)
    assert found == stored
    assert found.last_used_at is not None
    assert services.authenticate_token(issued.secret + "x") is None
    assert services.authenticate_token("") is None


def test_revoked_token_no_longer_authenticates_and_other_orgs_cannot_revoke():
    a, b = make_org(name="A"), make_org(name="B")
    owner_a, owner_b = make_user("a@example.com", a), make_user("b@example.com", b)
    issued = services.create_token(services.build_context(owner_a), "t")
    with pytest.raises(NotFound):
        services.revoke_token(services.build_context(owner_b), issued.token.pk)
    assert services.authenticate_token(issued.secret) is not None
    services.revoke_token(services.build_context(owner_a), issued.token.pk)
    assert services.authenticate_token(issued.secret) is None


def test_token_of_suspended_org_or_inactive_user_is_refused():
    org = make_org()
    owner = make_user("o@example.com", org)
    issued = services.create_token(services.build_context(owner), "t")
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert services.authenticate_token(issued.secret) is None
    User.objects.filter(pk=owner.pk).update(is_active=True)
    Organization.objects.filter(pk=org.pk).update(status=OrgStatus.SUSPENDED)
    assert services.authenticate_token(issued.secret) is None


def test_staff_member_cannot_manage_tokens():
    org = make_org()
    staff = make_user("s@example.com", org, Role.STAFF)
    with pytest.raises(PermissionDenied):
        services.create_token(services.build_context(staff), "t")


def test_token_name_required():
    owner = make_user("o@example.com", make_org())
    with pytest.raises(ValidationFailed) as err:
        services.create_token(services.build_context(owner), "  ")
    assert err.value.errors[0].field == "name"


def test_token_context_is_scoped_to_the_tokens_org():
    a, b = make_org(name="A"), make_org(name="B")
    user = make_user("both@example.com", a)
    Membership.objects.create(user=user, org=b, role=Role.OWNER)
    issued = services.create_token(services.build_context(user, b.pk), "b only")
    ctx = services.context_for_token(services.authenticate_token(issued.secret))
    assert ctx.org == b
    assert ctx.via == "api"


def test_buyer_identity_is_encrypted_at_rest_and_validated():
    user = services.sign_up_buyer(services.BuyerSignup("li@example.cn", GOOD_PASSWORD, "Li Wei"))
    ctx = services.build_context(user)
    with pytest.raises(ValidationFailed) as err:
        services.update_buyer_identity(
            ctx, real_name="李伟", id_number="110101199003071234", phone="138"
        )
    assert {e.field for e in err.value.errors} == {"id_number", "phone"}

    services.update_buyer_identity(
        ctx, real_name="李伟", id_number="110101199003071233", phone="+86 138 0013 8000"
    )
    profile = BuyerProfile.objects.get(user=user)
    assert profile.id_number == "110101199003071233"
    assert profile.real_name == "李伟"
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone, real_name FROM accounts_buyerprofile")
        raw = cur.fetchone()
    assert "110101199003071233" not in raw[0] and raw[0].startswith("enc1:")
    assert "13800138000" not in raw[1]
    assert "李伟" not in raw[2]
    audit = AuditEntry.objects.get(action="buyer.identity_updated")
    assert "110101199003071233" not in repr(audit.after) + repr(audit.before)
