"""Certificate PDFs (Latin and Chinese, checked by rendering and extracting text) and the public
verification page."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from django.utils import translation

from ehub.academy import services
from ehub.academy.certificates import render_certificate

from .conftest import ctx_for, finish_course

pytestmark = pytest.mark.django_db


def _text_and_image(pdf: bytes):
    document = pdfium.PdfDocument(io.BytesIO(pdf))
    assert len(document) == 1
    page = document[0]
    text = page.get_textpage().get_text_range()
    image = page.render(scale=1).to_pil()
    return text, image


def test_certificate_pdf_carries_name_course_and_code(course, learner_ctx):
    enrolment = finish_course(learner_ctx, course)
    certificate = enrolment.certificate
    pdf = render_certificate(certificate, base_url="https://ehub.example/")
    assert pdf.startswith(b"%PDF")
    text, image = _text_and_image(pdf)
    assert "Nur Aina" in text
    assert certificate.course_title in text
    assert certificate.code in text
    assert f"https://ehub.example/academy/verify/{certificate.code}/" in text
    # Something is drawn (the QR code and border): not a blank page.
    assert image.convert("L").getextrema()[0] < 50


def test_chinese_certificate_renders_cjk_text(make_course, make_user):
    course = make_course(
        slug="zh-course",
        title={"en": "CBEC", "zh-hans": "跨境电商入门"},
        summary={"en": "", "zh-hans": "限额"},
    )
    user = make_user("li@example.cn", full_name="李伟", preferred_language="zh-hans")
    with translation.override("zh-hans"):
        enrolment = finish_course(ctx_for(user), course)
    certificate = enrolment.certificate
    assert certificate.language == "zh-hans"
    assert certificate.course_title == "跨境电商入门"
    text, _image = _text_and_image(render_certificate(certificate))
    assert "李伟" in text
    assert "跨境电商入门" in text
    assert certificate.code in text


def test_pdf_download_is_the_learners_own(client, course, learner, learner_ctx, make_user):
    enrolment = finish_course(learner_ctx, course)
    url = f"/academy/certificates/{enrolment.certificate.code}.pdf"
    client.force_login(make_user("nosy@example.com"))
    assert client.get(url).status_code == 404
    client.force_login(learner)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_verification_page_is_public_and_confirms(
    client, course, learner_ctx, django_assert_max_num_queries
):
    certificate = finish_course(learner_ctx, course).certificate
    with django_assert_max_num_queries(3):
        response = client.get(f"/academy/verify/{certificate.code}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "This certificate is genuine." in text
    assert "Nur Aina" in text
    assert certificate.course_title in text


def test_unknown_code_is_a_404_page_that_says_so(client, db):
    response = client.get("/academy/verify/CERT-0000-0000-0000-0000/")
    assert response.status_code == 404
    text = response.content.decode()
    assert "Certificate not found" in text
    assert "CERT-0000-0000-0000-0000" in text
    response = client.get("/academy/verify/<script>/")
    assert response.status_code == 404
    assert "<script>" not in response.content.decode().split("<main", 1)[1]


def test_services_verify_returns_the_certificate(course, learner_ctx):
    certificate = finish_course(learner_ctx, course).certificate
    assert services.verify_certificate(certificate.code).learner_name == "Nur Aina"
