"""Malaysian export declarations through the services, the sandbox customs and the API."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from ehub.accounts.domain import OrgKind
from ehub.accounts.services import build_context, create_token
from ehub.catalog.tariff import load_default_tariff
from ehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ehub.core.models import AuditEntry
from ehub.core.tasks import run_pending_tasks
from ehub.customs import export
from ehub.customs.gateways_my import RecordingMalaysianCustoms, sandbox_decide
from ehub.customs.models import ExportDeclaration, ExportDeclarationLine


def payload(**changes) -> dict:
    data = dict(
        exporter_address="12 Jalan Ampang, 50450 Kuala Lumpur",
        consignee_name="Hangzhou Bonded Hub Co., Ltd.",
        consignee_address="1 Wensan Road, Hangzhou",
        consignee_country="CN",
        declarant="Tan Mei Ling",
        destination_country="CN",
        destination_port="PVG",
        departure_date="2024-03-01",
        transport_reference="232-12345675",
        lines=[
            dict(
                hs_code="151110",
                tariff_code="1511100000",
                description="Crude palm oil",
                quantity="1000",
                unit="KGM",
                fob="4321.99",
                net_kg="1000",
                gross_kg="1040.5",
            ),
            dict(
                hs_code="0810.60",
                tariff_code="0810600000",
                description="Musang King durian, fresh",
                quantity="50",
                unit="KGM",
                fob="2500.00",
                net_kg="50",
                gross_kg="58",
            ),
        ],
    )
    data.update(changes)
    return data


@pytest.fixture
def world(db, make_org, make_user, settings):
    settings.EHUB_MY_CUSTOMS_GATEWAY = "sandbox"
    settings.EHUB_MY_CUSTOMS_SANDBOX_DELAY_SECONDS = 0
    load_default_tariff()
    merchant = make_org(name="Durian Raja Sdn. Bhd.", registration_number="201901012345")
    owner = make_user("owner@durian.example", org=merchant)
    rival = make_org(name="Other Exporter Sdn. Bhd.", registration_number="202001000123")
    rival_owner = make_user("owner@rival.example", org=rival)
    platform = make_org(kind=OrgKind.PLATFORM, name="eHub Platform")
    platform_user = make_user("staff@platform.example", org=platform)

    class World:
        ctx = build_context(owner)
        rival_ctx = build_context(rival_owner)
        platform_ctx = build_context(platform_user)

    World.merchant, World.owner = merchant, owner
    return World


def field_codes(exc) -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in exc.value.errors}


def test_draft_computes_duty_from_the_tariff_on_the_departure_date(world):
    decl = export.create_export_declaration(world.ctx, payload())
    assert decl.status == "draft"
    assert decl.exporter_ssm == "201901012345"  # the organization's, by default
    assert decl.exporter_name == "Durian Raja Sdn. Bhd."
    lines = list(decl.lines.all())
    # 2024 rate 8 %: 4321.99 × 0.08 = 345.7592 -> RM 345.76; durian nil
    assert [(x.hs_code, x.duty) for x in lines] == [("151110", 34_576), ("081060", 0)]
    assert decl.duty_total == 34_576 == sum(x.duty for x in lines)
    assert decl.fob_total == 682_199
    assert decl.gross_kg == Decimal("1098.5")
    entry = AuditEntry.objects.get(action="customs.export_drafted")
    assert entry.object_id == str(decl.pk) and entry.after["status"] == "draft"


def test_before_the_rate_change_the_2022_rate_applies(world):
    decl = export.create_export_declaration(world.ctx, payload(departure_date="2023-12-31"))
    # 2022 rate 5 %: 4321.99 × 0.05 = 216.0995 -> RM 216.10
    assert decl.duty_total == 21_610
    first = decl.lines.get(line_no=1)
    assert first.duty_rate == Decimal("0.05") and first.duty == 21_610


def test_validation_names_every_bad_field_and_writes_nothing(world):
    bad = payload(exporter_ssm="123", destination_port="XXX")
    bad["lines"][0] = dict(bad["lines"][0], hs_code="123456", fob="0")
    bad["lines"][1] = dict(bad["lines"][1], gross_kg="49.9")
    with pytest.raises(ValidationFailed) as exc:
        export.create_export_declaration(world.ctx, bad)
    assert field_codes(exc) >= {
        ("exporter_ssm", "invalid_ssm"),
        ("destination_port", "invalid"),
        ("lines[0].hs_code", "invalid"),
        ("lines[0].fob", "invalid"),
        ("lines[1].gross_kg", "gross_below_net"),
    }
    assert not ExportDeclaration.objects.exists()
    assert not ExportDeclarationLine.objects.exists()


def test_unparseable_input_is_named(world):
    bad = payload(departure_date="1 March")
    bad["lines"][0] = dict(bad["lines"][0], fob="-5", net_kg="heavy")
    with pytest.raises(ValidationFailed) as exc:
        export.create_export_declaration(world.ctx, bad)
    assert {f for f, _c in field_codes(exc)} == {"departure_date", "lines[0].net_kg"}
    bad = payload()
    bad["lines"][0] = dict(bad["lines"][0], fob="-5")
    with pytest.raises(ValidationFailed) as exc:
        export.create_export_declaration(world.ctx, bad)
    assert field_codes(exc) == {("lines[0].fob", "invalid")}


def test_only_merchants_declare_exports(world):
    with pytest.raises(PermissionDenied):
        export.create_export_declaration(world.platform_ctx, payload())


def test_submit_then_the_sandbox_releases(world, settings):
    decl = export.create_export_declaration(world.ctx, payload())
    export.submit(world.ctx, decl.public_id)
    decl.refresh_from_db()
    assert decl.status == "submitted" and decl.submitted_at is not None
    assert run_pending_tasks(raise_errors=True) == 1
    decl.refresh_from_db()
    assert decl.status == "released"
    assert decl.customs_reference.startswith("K2")
    actions = list(
        AuditEntry.objects.filter(object_id=str(decl.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "customs.export_drafted",
        "customs.export_submitted",
        "customs.export_released",
    ]
    # idempotent: a second submit neither changes nor re-sends anything
    export.submit(world.ctx, decl.public_id)
    assert run_pending_tasks() == 0
    decl.refresh_from_db()
    assert decl.status == "released"


def test_the_sandbox_waits_for_its_delay(world, settings):
    settings.EHUB_MY_CUSTOMS_SANDBOX_DELAY_SECONDS = 3600
    decl = export.create_export_declaration(world.ctx, payload())
    export.submit(world.ctx, decl.public_id)
    assert run_pending_tasks() == 0
    decl.refresh_from_db()
    assert decl.status == "submitted"


def test_submitting_twice_sends_once(world):
    gateway = RecordingMalaysianCustoms()
    decl = export.create_export_declaration(world.ctx, payload())
    export.submit(world.ctx, decl.public_id, gateway=gateway)
    export.submit(world.ctx, decl.public_id, gateway=gateway)
    assert len(gateway.sent) == 1
    message = gateway.sent[0]
    assert message["reference"] == decl.public_id
    assert message["duty_total_sen"] == 34_576 and len(message["lines"]) == 2
    assert AuditEntry.objects.filter(action="customs.export_submitted").count() == 1


def test_the_sandbox_refuses_an_invalid_declaration_with_reasons(world):
    decl = export.create_export_declaration(world.ctx, payload())
    # Tampered with behind the service's back: customs checks what it receives.
    ExportDeclarationLine.objects.filter(declaration=decl, line_no=2).update(gross_kg=10)
    export.submit(world.ctx, decl.public_id)
    run_pending_tasks(raise_errors=True)
    decl.refresh_from_db()
    assert decl.status == "refused"
    assert "lines[1].gross_kg" in decl.reason
    assert AuditEntry.objects.filter(action="customs.export_refused").count() == 1


def test_the_sandbox_refuses_a_wrong_duty_and_a_malformed_message(world):
    gateway = RecordingMalaysianCustoms()
    decl = export.create_export_declaration(world.ctx, payload())
    export.submit(world.ctx, decl.public_id, gateway=gateway)
    message = gateway.sent[0]
    assert sandbox_decide(message) == ("released", "")
    status, reason = sandbox_decide(dict(message, duty_total_sen=0))
    assert status == "refused" and reason.startswith("duty_total")
    status, reason = sandbox_decide({k: v for k, v in message.items() if k != "lines"})
    assert status == "refused" and "malformed" in reason


def test_answers_only_move_forward(world):
    decl = export.create_export_declaration(world.ctx, payload())
    system = type(world.ctx).system()
    with pytest.raises(Conflict, match="not been submitted"):
        export.apply_answer(system, decl.public_id, "released")
    export.submit(world.ctx, decl.public_id, gateway=RecordingMalaysianCustoms())
    assert export.apply_answer(system, decl.public_id, "released") is True
    assert export.apply_answer(system, decl.public_id, "released") is False
    assert export.apply_answer(system, decl.public_id, "refused", "late") is False
    decl.refresh_from_db()
    assert decl.status == "released" and decl.reason == ""
    with pytest.raises(ValidationFailed):
        export.apply_answer(system, decl.public_id, "draft")


def test_another_organization_cannot_see_or_submit(world):
    decl = export.create_export_declaration(world.ctx, payload())
    assert list(export.exports_of(world.rival_ctx)) == []
    with pytest.raises(NotFound):
        export.export_of(world.rival_ctx, decl.public_id)
    with pytest.raises(NotFound):
        export.submit(world.rival_ctx, decl.public_id)
    decl.refresh_from_db()
    assert decl.status == "draft"


# -- API --------------------------------------------------------------------------------------

API = "/api/v1/customs/exports"


def client_for(ctx) -> Client:
    issued = create_token(ctx, "exports")
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")


@pytest.mark.urls("tests.customs.urls_export")
def test_api_draft_submit_release_and_scoping(world, django_assert_max_num_queries):
    client = client_for(world.ctx)
    body = payload()
    response = client.post(API, json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "draft" and created["duty_total_sen"] == 34_576
    assert [line["duty_sen"] for line in created["lines"]] == [34_576, 0]
    public_id = created["id"]

    with django_assert_max_num_queries(8):
        listing = client.get(API).json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == public_id

    response = client.post(f"{API}/{public_id}/submit")
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    run_pending_tasks(raise_errors=True)
    with django_assert_max_num_queries(8):
        detail = client.get(f"{API}/{public_id}").json()
    assert detail["status"] == "released"

    rival = client_for(world.rival_ctx)
    assert rival.get(f"{API}/{public_id}").status_code == 404
    assert rival.post(f"{API}/{public_id}/submit").status_code == 404
    assert rival.get(API).json()["count"] == 0


@pytest.mark.urls("tests.customs.urls_export")
def test_api_validation_is_problem_json_naming_fields(world):
    client = client_for(world.ctx)
    body = payload(exporter_ssm="2019-01-012345X")
    body["lines"][1] = dict(body["lines"][1], gross_kg="1")
    response = client.post(API, json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert {e["field"] for e in response.json()["errors"]} == {
        "body.exporter_ssm",
        "body.lines[1].gross_kg",
    }
