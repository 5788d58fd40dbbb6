"""Accounts pages: sign in and out, sign up (buyer, merchant), password reset, organization and
language switching, the buyer's declared identity. Thin: every rule is in accounts.services.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ehub.core.errors import NotFound, PermissionDenied, ValidationFailed
from ehub.core.fields import mask
from ehub.core.forms import add_service_errors

from . import services
from .domain import home_portal
from .forms import (
    BuyerIdentityForm,
    BuyerSignupForm,
    LoginForm,
    MerchantSignupForm,
    PersonalTokenForm,
)
from .middleware import context_of

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def safe_next(request, fallback: str = "/") -> str:
    """The ``next`` target of a form (or the referring page) if it is on this site."""
    for candidate in (
        request.POST.get("next"),
        request.GET.get("next"),
        request.headers.get("Referer"),
    ):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return fallback


def _set_language_cookie(response, code: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def _start_session(request, user) -> None:
    """Sign ``user`` in and make their first organization the active one."""
    auth_login(request, user, backend=MODEL_BACKEND)
    orgs = services.orgs_of(user)
    if orgs:
        request.session[services.SESSION_ORG_KEY] = orgs[0].pk
    else:
        request.session.pop(services.SESSION_ORG_KEY, None)


# ---------------------------------------------------------------------------------------------
# Sign in / out
# ---------------------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        _start_session(self.request, user)
        response = HttpResponseRedirect(self.get_success_url())
        if user.preferred_language in dict(settings.LANGUAGES):
            _set_language_cookie(response, user.preferred_language)
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5 refuses GET); the language cookie outlives the session on purpose."""

    template_name = "accounts/logged_out.html"


# ---------------------------------------------------------------------------------------------
# Sign up
# ---------------------------------------------------------------------------------------------


def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


@require_http_methods(["GET", "POST"])
def signup_buyer(request):
    form = BuyerSignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = services.BuyerSignup(language=_language(), **form.cleaned_data)
        try:
            user = services.sign_up_buyer(data)
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            _start_session(request, user)
            messages.success(request, _("Welcome to eHub. Your account is ready."))
            return redirect(safe_next(request, reverse("web:home")))
    status = 422 if form.is_bound else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def signup_merchant(request):
    form = MerchantSignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = services.MerchantSignup(language=_language(), **form.cleaned_data)
        try:
            user, _org = services.sign_up_merchant(data)
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            _start_session(request, user)
            messages.success(
                request,
                _("Your company is registered. Platform staff will review it before you can sell."),
            )
            return redirect("web:merchant")
    status = 422 if form.is_bound else 200
    return render(request, "accounts/signup_merchant.html", {"form": form}, status=status)


# ---------------------------------------------------------------------------------------------
# Password reset (Django's views, eHub's templates)
# ---------------------------------------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


# ---------------------------------------------------------------------------------------------
# Switchers
# ---------------------------------------------------------------------------------------------


@require_POST
@login_required
def switch_org(request):
    try:
        org = services.switch_org(request.user, int(request.POST.get("org", "")))
    except (ValueError, NotFound) as exc:
        raise Http404(_("Organization not found.")) from exc
    request.session[services.SESSION_ORG_KEY] = org.pk
    messages.info(request, _("You are now working for %(org)s.") % {"org": org.name})
    # Land on the new org's own portal: going back to the previous org's portal would switch
    # straight back to the previous org.
    portal = home_portal(org.kind)
    return redirect(reverse(f"web:{portal}") if portal else safe_next(request))


@require_POST
def set_language(request):
    code = request.POST.get("language", "")
    response = redirect(safe_next(request))
    if code not in dict(settings.LANGUAGES):
        return response  # an unknown code changes nothing
    translation.activate(code)
    _set_language_cookie(response, code)
    if request.user.is_authenticated:
        services.set_language(request.user, code)
    return response


# ---------------------------------------------------------------------------------------------
# Profile: the identity a buyer declares to customs
# ---------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def profile(request):
    form = BuyerIdentityForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_buyer_identity(context_of(request), **form.cleaned_data)
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your identity for customs is saved."))
            return redirect("accounts:profile")
    return _profile_page(request, form=form, status=422 if form.is_bound else 200)


def _declared(request) -> dict | None:
    buyer = services.buyer_identity(context_of(request))
    if buyer is None or not buyer.id_number:
        return None
    return {
        "real_name": mask(buyer.real_name, visible=1),
        "id_number": mask(buyer.id_number),
        "phone": mask(buyer.phone),
        "verified": buyer.id_verified,
    }


# The profile lists this many personal tokens: every active one (services.MAX_PERSONAL_TOKENS,
# listed first) and the latest revoked.
PROFILE_TOKENS = 50


def _profile_page(request, *, form=None, token_form=None, issued=None, status=200):
    tokens = services.list_personal_tokens(context_of(request))
    response = render(
        request,
        "accounts/profile.html",
        {
            "form": form or BuyerIdentityForm(),
            "declared": _declared(request),
            "token_form": token_form or PersonalTokenForm(),
            "tokens": tokens[:PROFILE_TOKENS],
            "issued": issued,
        },
        status=status,
    )
    if issued is not None:
        # The secret is in this page only: keep it out of every cache and the history.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def token_create(request):
    """A personal API token (for the buyer's own scripts and apps); shown once."""
    form = PersonalTokenForm(request.POST)
    if form.is_valid():
        try:
            issued = services.create_personal_token(context_of(request), form.cleaned_data["name"])
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            return _profile_page(request, issued=issued)
    return _profile_page(request, token_form=form, status=422)


@require_POST
@login_required
def token_revoke(request, token_id: int):
    try:
        token = services.revoke_personal_token(context_of(request), token_id)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("Token “%(name)s” is revoked.") % {"name": token.name})
    return redirect(reverse("accounts:profile") + "#tokens-title")
