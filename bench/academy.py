"""Academy benchmark: server time of the academy's pages with 1,000 learners at work.

Each database is built in a child process (so its Django settings never meet another
benchmark's): migrate, then a trainer installs the three seed courses
(``academy/data/courses/*.toml``) through ``content.install_course``, as ``academy.demo`` does,
and platform staff feature the flagged ones. Then, in bulk: N learners (80 % of them staff of
merchant organizations, five to a merchant, the rest individuals), reading in English, Malay or
Chinese; each enrolled in one to three courses at a different stage: just enrolled, part-way
through the lessons, all lessons read with quizzes tried (some passed, some failed, some with
every attempt used, a few with an attempt left open) or done, with its certificate. Attempts
are graded with ``academy.domain`` like real ones. A cohort of 200 learners of the first
course is led by the trainer; twenty merchants get 25 products each (some with HS code and a
Chinese title, some with stock in the hub) so their readiness score has something to measure.

Requests go through Django's test ``Client``, so the full middleware stack, URL routing, the
view, every query and template rendering are timed; the network is not. Learners are signed in
(``force_login``, outside the timing) and each page is requested on behalf of several of them.

Measured, after a warm-up, as p50/p95/p99 in milliseconds, with the queries one request makes:
the catalogue, a course page, a lesson page (Malay and Chinese readers), a quiz page, starting
and submitting an attempt (the two POSTs timed together), My learning, the cohort report of
200 members, a certificate PDF and a merchant's readiness page. Also: quiz submissions per
second from one process (attempts started beforehand, the submit POSTs back to back), and
what one ``render_markdown`` of a seed lesson costs (to set against the lesson page).
No targets: a p95 over 100 ms is flagged (``flag`` and a mark in the metric).

Databases: SQLite in a temporary file always; PostgreSQL when ``EHUB_BENCH_DATABASE_URL``
is set, in a database of its own (``<name>_academy``, created and dropped here).
Sizes: ``EHUB_BENCH_ACADEMY_LEARNERS`` (default 1,000), ``EHUB_BENCH_ACADEMY_REQUESTS``
(default 200 per page; the cohort report and the PDF get a quarter of that).

Run alone with ``EHUB_DEBUG=1 .venv/bin/python -m bench academy``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

from bench._databases import each_database

NAME = "academy"
LEARNERS = int(os.environ.get("EHUB_BENCH_ACADEMY_LEARNERS", "1000"))
REQUESTS = int(os.environ.get("EHUB_BENCH_ACADEMY_REQUESTS", "200"))
HEAVY_REQUESTS = max(20, REQUESTS // 4)  # cohort report and certificate PDF
WARMUP = 10
COHORT_SIZE = 200
CLIENTS_PER_PAGE = 12  # learners a page is requested for, in turn
READINESS_MERCHANTS = 20
PRODUCTS_PER_MERCHANT = 25
SLOW_P95_MS = 100
LANGUAGES = ("en", "ms", "zh-hans")

# Share of learners enrolled in each seed course (in the order of the course files).
ENROLMENT_SHARE = (0.95, 0.6, 0.35)
# Stage of an enrolment: (weight, name).
STAGES = ((25, "enrolled"), (30, "reading"), (20, "quizzing"), (25, "done"))


# ---------------------------------------------------------------------------------------------
# Parent: one child process per database
# ---------------------------------------------------------------------------------------------


def run() -> list[dict]:
    return each_database(NAME)


# ---------------------------------------------------------------------------------------------
# Child: seed
# ---------------------------------------------------------------------------------------------


def _django() -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # DEBUG keeps every query in memory: not what production does


def _install_courses() -> dict:
    """The trainer, the platform staff and the three seed courses, as ``academy.demo`` does."""
    from ehub.academy import content, services
    from ehub.accounts.domain import OrgKind, Role
    from ehub.accounts.models import Membership, Organization, User
    from ehub.accounts.services import build_context

    platform = Organization.objects.create(
        kind=OrgKind.PLATFORM, legal_name="eHub Operations", country="MY"
    )
    trainer = User.objects.create_user("trainer@bench.example", None, full_name="Daniel Lim")
    Membership.objects.create(user=trainer, org=platform, role=Role.TRAINER)
    staff = User.objects.create_user("staff@bench.example", None, is_staff=True)
    Membership.objects.create(user=staff, org=platform, role=Role.ADMIN)
    trainer_ctx = build_context(User.objects.get(pk=trainer.pk), via="cli")
    staff_ctx = build_context(User.objects.get(pk=staff.pk), via="cli")
    slugs = []
    for path in content.course_files():
        data = content.load(path)
        course, _created = content.install_course(trainer_ctx, data)
        slugs.append(course.slug)
        if data.get("featured"):
            services.feature_course(staff_ctx, course.slug, True)
    return {"trainer": trainer, "trainer_ctx": trainer_ctx, "slugs": slugs}


def _course_facts(slugs: list[str]) -> list[dict]:
    """Per course: its lessons in reading order, its quizzes with their answer keys."""
    from ehub.academy import domain, services
    from ehub.academy.models import Course

    facts = []
    for slug in slugs:
        course = Course.objects.prefetch_related("translations").get(slug=slug)
        outline = services.course_outline(None, slug)
        quizzes = []
        for quiz in outline.quizzes:
            questions = services.quiz_questions(quiz)
            quizzes.append(
                {
                    "quiz": quiz,
                    "module_id": quiz.module_id,
                    "pass_mark": quiz.pass_mark,
                    "max_attempts": quiz.max_attempts,
                    "keys": [
                        domain.QuestionKey(
                            id=q.pk,
                            kind=domain.QuestionKind(q.kind),
                            correct=frozenset(c.pk for c in q.choices.all() if c.is_correct),
                            choices=frozenset(c.pk for c in q.choices.all()),
                        )
                        for q in questions
                    ],
                }
            )
        facts.append(
            {
                "course": course,
                "slug": slug,
                "titles": {t.language: t.title for t in course.translations.all()},
                "lessons": [lesson.pk for lesson in outline.lessons],
                "lesson_module": {lesson.pk: lesson.module_id for lesson in outline.lessons},
                "quizzes": quizzes,
            }
        )
    return facts


def _answers(key, right: bool, rng: random.Random) -> list[int]:
    if right:
        return sorted(key.correct)
    wrong = sorted(key.choices - key.correct)
    return [rng.choice(wrong)] if wrong else sorted(key.correct)


def _attempt(enrolment, quiz: dict, number: int, passing: bool | None, rng, when):
    """An Attempt row as the services would leave it: ``passing`` None leaves it open."""
    import datetime as dt

    from ehub.academy import domain
    from ehub.academy.models import Attempt
    from ehub.core.ids import new_public_id

    keys = quiz["keys"]
    seed = rng.getrandbits(48)
    order, choice_order = domain.shuffled_order(
        [k.id for k in keys], {k.id: sorted(k.choices) for k in keys}, seed
    )
    row = Attempt(
        public_id=new_public_id("ATT"),
        enrolment=enrolment,
        quiz=quiz["quiz"],
        number=number,
        seed=seed,
        question_order=order,
        choice_order={str(k): v for k, v in choice_order.items()},
        started_at=when,
    )
    if passing is None:
        return row
    # A pass gets every answer right; a fail gets some right, but stays under the pass mark.
    answers = {k.id: _answers(k, passing or rng.random() < 0.4, rng) for k in keys}
    result = domain.grade(keys, answers, quiz["pass_mark"])
    if not passing and result.passed:
        answers = {k.id: _answers(k, False, rng) for k in keys}
        result = domain.grade(keys, answers, quiz["pass_mark"])
    if result.passed != passing:
        raise AssertionError("the seeded attempt does not grade as planned")
    row.answers = {str(r.id): sorted(r.chosen) for r in result.results}
    row.score = result.score
    row.passed = result.passed
    row.submitted_at = when + dt.timedelta(minutes=rng.randrange(3, 25))
    return row


def _seed(rng: random.Random) -> dict:
    import datetime as dt

    from ehub.academy import domain, services
    from ehub.academy.models import Attempt, Certificate, Enrolment, LessonProgress
    from ehub.accounts.domain import OrgKind, Role
    from ehub.accounts.models import Membership, Organization, User
    from ehub.catalog.models import Product, ProductStatus, ProductTranslation, Sku, Stock
    from ehub.core.ids import new_public_id

    installed = _install_courses()
    facts = _course_facts(installed["slugs"])
    start = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)

    # Learners: merchant staff (five to a merchant, the first its owner) and individuals.
    unusable = "!bench-no-password"
    User.objects.bulk_create(
        (
            User(
                email=f"learner{i:05d}@bench.example",
                full_name=f"Learner {i:05d}",
                preferred_language=LANGUAGES[i % len(LANGUAGES)],
                password=unusable,
            )
            for i in range(LEARNERS)
        ),
        batch_size=1000,
    )
    users = list(User.objects.filter(email__endswith="@bench.example", password=unusable))
    users.sort(key=lambda u: u.email)
    staffed = int(LEARNERS * 0.8) // 5 * 5
    Organization.objects.bulk_create(
        Organization(
            kind=OrgKind.MERCHANT,
            legal_name=f"Kedai Belajar {m:03d} Sdn. Bhd.",
            country="MY",
            public_id=new_public_id("ORG"),
        )
        for m in range(staffed // 5)
    )
    merchants = list(Organization.objects.filter(kind=OrgKind.MERCHANT).order_by("pk"))
    Membership.objects.bulk_create(
        (
            Membership(
                user=users[i], org=merchants[i // 5], role=Role.OWNER if i % 5 == 0 else Role.STAFF
            )
            for i in range(staffed)
        ),
        batch_size=1000,
    )

    # Enrolments at every stage, with their lessons read, attempts and certificates.
    cohort_members = set(rng.sample(range(len(users)), min(COHORT_SIZE, len(users))))
    enrolments, plans = [], []
    for i, user in enumerate(users):
        for c, course in enumerate(facts):
            if not (rng.random() < ENROLMENT_SHARE[c] or (c == 0 and i in cohort_members)):
                continue
            stage = rng.choices([s for _w, s in STAGES], weights=[w for w, _s in STAGES])[0]
            enrolled_at = start + dt.timedelta(hours=rng.randrange(0, 24 * 60))
            enrolments.append(
                Enrolment(user=user, course=course["course"], enrolled_at=enrolled_at)
            )
            plans.append((user, course, stage, enrolled_at))
    Enrolment.objects.bulk_create(enrolments, batch_size=1000)
    enrolments = {
        (e.user_id, e.course_id): e for e in Enrolment.objects.select_related("user", "course")
    }
    progress_rows, attempts, certificates, changed = [], [], [], []
    for user, course, stage, enrolled_at in plans:
        enrolment = enrolments[(user.pk, course["course"].pk)]
        lessons = course["lessons"]
        if stage == "enrolled":
            read = 0
        elif stage == "reading":
            read = rng.randrange(1, len(lessons))
        else:
            read = len(lessons)
        when = enrolled_at
        for lesson_id in lessons[:read]:
            when += dt.timedelta(minutes=rng.randrange(4, 40))
            progress_rows.append(
                LessonProgress(enrolment=enrolment, lesson_id=lesson_id, completed_at=when)
            )
        done = set(lessons[:read])
        passed = 0
        for quiz in course["quizzes"]:
            # A module's quiz is tried once all its lessons are read.
            if any(course["lesson_module"][x] == quiz["module_id"] for x in set(lessons) - done):
                continue
            if stage == "done":
                outcome = rng.choices(["first", "second"], weights=[70, 30])[0]
            elif stage in ("reading", "quizzing"):
                outcome = rng.choices(
                    ["none", "first", "second", "failing", "exhausted", "open"],
                    weights=[20, 30, 15, 15, 12, 8],
                )[0]
            else:
                outcome = "none"
            fails = {"first": 0, "second": 1, "failing": rng.randrange(1, 3), "exhausted": 3}
            fails["open"] = rng.randrange(0, 2)
            number = 0
            for _ in range(fails.get(outcome, 0)):
                number += 1
                when += dt.timedelta(minutes=rng.randrange(10, 600))
                attempts.append(_attempt(enrolment, quiz, number, False, rng, when))
            if outcome in ("first", "second"):
                number += 1
                when += dt.timedelta(minutes=rng.randrange(10, 600))
                attempts.append(_attempt(enrolment, quiz, number, True, rng, when))
                passed += 1
            elif outcome == "open":
                number += 1
                attempts.append(_attempt(enrolment, quiz, number, None, rng, when))
        enrolment.progress = domain.progress_percent(
            read, len(lessons), passed, len(course["quizzes"])
        )
        enrolment.last_lesson_id = lessons[read - 1] if read else None
        if domain.is_complete(read, len(lessons), passed, len(course["quizzes"])):
            enrolment.completed_at = when
            language = user.preferred_language
            certificates.append(
                Certificate(
                    code=new_public_id("CERT"),
                    enrolment=enrolment,
                    learner_name=user.full_name,
                    course_title=course["titles"].get(language) or course["titles"]["en"],
                    language=language,
                    issued_at=when,
                )
            )
        changed.append(enrolment)
    LessonProgress.objects.bulk_create(progress_rows, batch_size=2000)
    Attempt.objects.bulk_create(attempts, batch_size=1000)
    Enrolment.objects.bulk_update(
        changed, ["progress", "last_lesson", "completed_at"], batch_size=1000
    )
    Certificate.objects.bulk_create(certificates, batch_size=1000)

    # The cohort: 200 learners of the first course, led by the trainer.
    cohort = services.create_cohort(
        installed["trainer_ctx"],
        name="Malaysia Week readiness",
        slug=facts[0]["slug"],
        starts_on=start.date(),
    )
    cohort.members.add(*(users[i] for i in sorted(cohort_members)))

    # Products of the merchants whose readiness page is measured.
    hub = Organization.objects.create(
        kind=OrgKind.HUB_OPERATOR, legal_name="KLIA Aeropolis eFulfilment Hub", country="MY"
    )
    measured = merchants[:READINESS_MERCHANTS]
    Product.objects.bulk_create(
        Product(
            org=org,
            public_id=new_public_id("PRD"),
            status=ProductStatus.ACTIVE,
            brand=f"Brand {m}",
            category="food_drink",
            hs_code="090111" if p % 10 < 7 else "",
            published_at=start,
            net_weight_g=500,
        )
        for m, org in enumerate(measured)
        for p in range(PRODUCTS_PER_MERCHANT)
    )
    products = list(Product.objects.filter(org__in=measured).order_by("pk"))
    ProductTranslation.objects.bulk_create(
        ProductTranslation(product=product, language=language, title=f"{title} {i}")
        for i, product in enumerate(products)
        for language, title in (("en", "Ipoh white coffee"), ("zh-hans", "怡保白咖啡"))
        if language == "en" or i % 5 < 3
    )
    Sku.objects.bulk_create(
        Sku(product=p, org=p.org, code=f"B{i}", price_myr=2500, variant={"size": "250 g"})
        for i, p in enumerate(products)
    )
    skus = list(Sku.objects.filter(product__in=products).order_by("pk"))
    Stock.objects.bulk_create(
        Stock(sku=sku, hub=hub, org=sku.org, on_hand=40 if i % 3 else 0, reserved=0)
        for i, sku in enumerate(skus)
    )
    return {
        "trainer": installed["trainer"],
        "cohort": cohort,
        "facts": facts,
        "users": users,
        "merchant_owners": [users[m * 5] for m in range(len(measured))],
        "counts": {
            "enrolments": len(changed),
            "lessons read": len(progress_rows),
            "attempts": len(attempts),
            "certificates": len(certificates),
        },
    }


# ---------------------------------------------------------------------------------------------
# Child: measure
# ---------------------------------------------------------------------------------------------


class Clients:
    """One signed-in test Client per user, made on first use (outside any timing).

    They share one request handler whose middleware is loaded up front: a Client loads the
    middleware on its first request (tens of ms in DEBUG, whitenoise scanning the static
    files), which a server does once per process, so it must not land in a timed request.
    """

    def __init__(self):
        from django.test.client import ClientHandler

        self._handler = ClientHandler(enforce_csrf_checks=False)
        self._handler.load_middleware()
        self._by_user: dict[int, object] = {}

    def __call__(self, user):
        from django.test import Client

        client = self._by_user.get(user.pk)
        if client is None:
            client = Client()
            client.handler = self._handler
            client.force_login(user)
            self._by_user[user.pk] = client
        return client


def _percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def _measure(calls: list[Callable[[], None]]) -> tuple[dict[str, float], int]:
    """Run ``calls[:WARMUP]`` untimed, count the queries of the next, time the rest."""
    from django.db import connection

    for call in calls[:WARMUP]:
        call()
    # Counted with an execute wrapper: the test Client's request_started signal empties
    # Django's own query log in the middle of a request.
    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)
    ):
        calls[WARMUP]()
    samples = []
    for call in calls[WARMUP + 1 :]:
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return _percentiles(samples), len(queries)


def _get(client, path: str, status: int = 200) -> Callable[[], None]:
    def call() -> None:
        response = client.get(path)
        if response.status_code != status:
            raise RuntimeError(f"GET {path} answered {response.status_code}")

    return call


def _learners(seeded: dict, count: int, rng, *, language=None, course=None, certified=False):
    """Up to ``count`` learners (users) matching the filters, picked at random."""
    from ehub.academy.models import Enrolment

    qs = Enrolment.objects.filter(user__in=seeded["users"])
    if language:
        qs = qs.filter(user__preferred_language=language)
    if course is not None:
        qs = qs.filter(course=course)
    if certified:
        qs = qs.filter(certificate__isnull=False)
    ids = sorted(set(qs.values_list("user_id", flat=True)))
    by_pk = {u.pk: u for u in seeded["users"]}
    return [by_pk[pk] for pk in rng.sample(ids, min(count, len(ids)))]


def _page_calls(seeded: dict, clients: Clients, rng) -> dict[str, list[Callable[[], None]]]:
    from ehub.academy.models import Certificate, Enrolment

    facts = seeded["facts"]
    n = WARMUP + 1 + REQUESTS
    heavy = WARMUP + 1 + HEAVY_REQUESTS
    anyone = _learners(seeded, CLIENTS_PER_PAGE, rng)
    pages: dict[str, list[Callable[[], None]]] = {}

    pages["catalogue"] = [_get(clients(anyone[i % len(anyone)]), "/academy/") for i in range(n)]

    enrolled = list(
        Enrolment.objects.filter(user__in=anyone).select_related("course").order_by("pk")
    )
    pages["course page"] = [
        _get(clients(e.user), f"/academy/courses/{e.course.slug}/")
        for e in (enrolled[i % len(enrolled)] for i in range(n))
    ]

    for language, label in (("ms", "lesson page ms"), ("zh-hans", "lesson page zh")):
        readers = []
        for course in facts:
            for user in _learners(seeded, CLIENTS_PER_PAGE // 3, rng, language=language,
                                  course=course["course"]):  # fmt: skip
                readers.append((user, course))
        pages[label] = []
        for i in range(n):
            user, course = readers[i % len(readers)]
            lesson = rng.choice(course["lessons"])
            path = f"/academy/courses/{course['slug']}/lessons/{lesson}/"
            pages[label].append(_get(clients(user), path))

    pages["quiz page"] = []
    for i in range(n):
        e = enrolled[i % len(enrolled)]
        quiz = rng.choice(next(f for f in facts if f["slug"] == e.course.slug)["quizzes"])
        path = f"/academy/courses/{e.course.slug}/modules/{quiz['module_id']}/quiz/"
        pages["quiz page"].append(_get(clients(e.user), path))

    pages["my learning"] = [
        _get(clients(anyone[i % len(anyone)]), "/academy/my/") for i in range(n)
    ]

    trainer = clients(seeded["trainer"])
    pages["cohort report (200)"] = [
        _get(trainer, f"/academy/cohorts/{seeded['cohort'].pk}/") for _ in range(heavy)
    ]

    holders = list(
        Certificate.objects.filter(enrolment__user__in=seeded["users"])
        .select_related("enrolment__user")
        .order_by("?")[:CLIENTS_PER_PAGE]
    )
    pages["certificate PDF"] = [
        _get(clients(c.enrolment.user), f"/academy/certificates/{c.code}.pdf")
        for c in (holders[i % len(holders)] for i in range(heavy))
    ]

    owners = seeded["merchant_owners"]
    pages["readiness page"] = [
        _get(clients(owners[i % len(owners)]), "/academy/readiness/") for i in range(n)
    ]
    return pages


def _free_slots(seeded: dict) -> list[tuple]:
    """(enrolment, quiz facts) pairs whose learner may start an attempt now, one per attempt
    left, shuffled by the caller."""
    from django.db.models import Count, Q

    from ehub.academy.models import Attempt, Enrolment

    quizzes = {q["quiz"].pk: (f, q) for f in seeded["facts"] for q in f["quizzes"]}
    used = {
        (row["enrolment_id"], row["quiz_id"]): (row["n"], row["open"])
        for row in Attempt.objects.values("enrolment_id", "quiz_id").annotate(
            n=Count("pk"), open=Count("pk", filter=Q(submitted_at__isnull=True))
        )
    }
    slots = []
    for e in Enrolment.objects.filter(user__in=seeded["users"]).select_related("user", "course"):
        for facts, quiz in quizzes.values():
            if facts["course"].pk != e.course_id:
                continue
            n, open_ = used.get((e.pk, quiz["quiz"].pk), (0, 0))
            if open_:
                continue
            slots.extend([(e, facts, quiz)] * (quiz["max_attempts"] - n))
    return slots


def _attempt_calls(slots, clients: Clients, rng, count: int) -> list[Callable[[], None]]:
    """Start + submit pairs through the pages; 70 % of them with every answer right."""
    calls = []
    for enrolment, facts, quiz in slots[:count]:
        client = clients(enrolment.user)
        right = rng.random() < 0.7
        answers = {f"q{k.id}": _answers(k, right, rng) for k in quiz["keys"]}
        start = f"/academy/courses/{facts['slug']}/modules/{quiz['module_id']}/quiz/"

        def call(client=client, start=start, answers=answers) -> None:
            response = client.post(start)
            location = response.get("Location", "")
            if response.status_code != 302 or "/academy/attempts/" not in location:
                raise RuntimeError(f"POST {start} answered {response.status_code} {location}")
            response = client.post(location, answers)
            if response.status_code != 302:
                raise RuntimeError(f"POST {location} answered {response.status_code}")

        calls.append(call)
    return calls


def _throughput(slots, clients: Clients, rng, count: int) -> float:
    """Submissions per second: attempts started beforehand, then the submit POSTs back to
    back, through the pages, from this one process."""
    from ehub.academy import services
    from ehub.accounts.services import build_context

    ready = []
    for enrolment, facts, quiz in slots[:count]:
        ctx = build_context(enrolment.user)
        attempt = services.start_attempt(ctx, facts["slug"], quiz["module_id"])
        answers = {f"q{k.id}": _answers(k, rng.random() < 0.7, rng) for k in quiz["keys"]}
        ready.append((clients(enrolment.user), f"/academy/attempts/{attempt.public_id}/", answers))
    began = time.perf_counter()
    for client, path, answers in ready:
        response = client.post(path, answers)
        if response.status_code != 302:
            raise RuntimeError(f"POST {path} answered {response.status_code}")
    return len(ready) / (time.perf_counter() - began)


def _render_cost(facts: list[dict]) -> dict[str, float]:
    """Median ms of one ``render_markdown`` of a seed lesson, per language: the share of the
    lesson page's time that Markdown and the sanitiser take."""
    from ehub.academy.models import LessonTranslation
    from ehub.academy.rendering import render_markdown

    lesson_ids = [x for f in facts for x in f["lessons"]]
    out = {}
    for language in ("ms", "zh-hans"):
        bodies = list(
            LessonTranslation.objects.filter(
                lesson_id__in=lesson_ids, language=language
            ).values_list("body", flat=True)
        )
        samples = []
        for _ in range(10):
            for body in bodies:
                began = time.perf_counter()
                render_markdown(body)
                samples.append((time.perf_counter() - began) * 1000)
        out[language] = statistics.median(samples)
    return out


def _main(label: str) -> None:
    _django()
    from django.core.management import call_command
    from django.db import connection

    rng = random.Random(20260105)
    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_s = time.perf_counter() - began
    began = time.perf_counter()
    seeded = _seed(rng)
    seed_s = time.perf_counter() - began
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    clients = Clients()
    figures: dict[str, tuple[dict[str, float], int, int]] = {}
    for page, calls in _page_calls(seeded, clients, rng).items():
        stats, queries = _measure(calls)
        figures[page] = (stats, queries, len(calls) - WARMUP - 1)

    slots = _free_slots(seeded)
    rng.shuffle(slots)
    pairs = WARMUP + 1 + REQUESTS
    stats, queries = _measure(_attempt_calls(slots, clients, rng, pairs))
    figures["attempt start+submit"] = (stats, queries, REQUESTS)
    per_second = _throughput(slots[pairs:], clients, rng, REQUESTS)
    render = _render_cost(seeded["facts"])

    rows = [
        {"metric": f"migrate ({label})", "value": round(migrate_s, 1), "unit": "s",
         "target": None},
        {"metric": f"seed {LEARNERS} learners ({label})", "value": round(seed_s, 1), "unit": "s",
         "target": None, **seeded["counts"]},
    ]  # fmt: skip
    for page, (stats, queries, requests) in figures.items():
        for cut in ("p50", "p95", "p99"):
            slow = cut == "p95" and stats[cut] > SLOW_P95_MS
            row = {
                "metric": f"{page} {cut} ({label})" + (" [p95 > 100 ms]" if slow else ""),
                "value": round(stats[cut], 2),
                "unit": "ms",
                "target": None,
                "requests": requests,
                "learners": LEARNERS,
            }
            if slow:
                row["flag"] = f"p95 over {SLOW_P95_MS} ms"
            rows.append(row)
        rows.append(
            {"metric": f"{page} queries ({label})", "value": queries, "unit": "queries",
             "target": None}
        )  # fmt: skip
    rows.append(
        {"metric": f"quiz submissions ({label})", "value": round(per_second, 1), "unit": "per s",
         "target": None, "submissions": REQUESTS}
    )  # fmt: skip
    for language, ms in render.items():
        rows.append(
            {"metric": f"render_markdown, one {language} lesson ({label})", "value": round(ms, 2),
             "unit": "ms", "target": None}
        )  # fmt: skip
    print(json.dumps(rows))


if __name__ == "__main__":
    _main(sys.argv[1])
