"""Events: delivered by tasks written in the publisher's transaction."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from ehub.core import events
from ehub.core.context import Context
from ehub.core.tasks import TaskFailed, run_pending_tasks

CALLS: list[tuple[str, events.Event]] = []


def first_handler(event):
    CALLS.append(("first", event))


def second_handler(event):
    CALLS.append(("second", event))


def failing_handler(event):
    raise RuntimeError("handler failed")


FIRST = f"{__name__}.first_handler"
SECOND = f"{__name__}.second_handler"
FAILING = f"{__name__}.failing_handler"


@pytest.fixture(autouse=True)
def clean_subscriptions():
    CALLS.clear()
    yield
    for name in ("test.happened", "test.other"):
        for handler in events.subscribers(name):
            events.unsubscribe(name, handler)
    CALLS.clear()


@pytest.mark.django_db(transaction=True)
def test_rolled_back_publish_enqueues_nothing():
    events.subscribe("test.happened", FIRST)
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish("test.happened", {"order": 1})
        assert DBTaskResult.objects.count() == 1  # written, but inside the transaction
        raise RuntimeError("change rolled back")
    assert DBTaskResult.objects.count() == 0
    assert run_pending_tasks() == 0
    assert CALLS == []


@pytest.mark.django_db(transaction=True)
def test_committed_publish_runs_the_handler_once():
    events.subscribe("test.happened", FIRST)
    events.subscribe("test.happened", FIRST)  # duplicate registration is ignored
    with transaction.atomic():
        published = events.publish(
            "test.happened", {"order": 1, "items": ("a", "b")}, ctx=Context.system(via="cli")
        )
    assert CALLS == []  # nothing runs before the worker does
    assert run_pending_tasks() == 1
    assert run_pending_tasks() == 0
    assert len(CALLS) == 1
    name, event = CALLS[0]
    assert name == "first"
    assert event.name == "test.happened"
    assert event.payload == {"order": 1, "items": ["a", "b"]}
    assert event.id == published.id
    assert event.occurred_at == published.occurred_at
    assert event.meta == {"actor_id": None, "org_id": None, "via": "cli", "request_id": ""}
    assert DBTaskResult.objects.successful().count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_subscribers_are_both_called_with_the_same_event():
    events.subscribe("test.happened", FIRST)
    events.subscribe("test.happened", SECOND)
    events.subscribe("test.other", SECOND)
    events.publish("test.happened", {"n": 1})
    assert run_pending_tasks() == 2
    assert sorted(name for name, _ in CALLS) == ["first", "second"]
    assert len({event.id for _, event in CALLS}) == 1


@pytest.mark.django_db
def test_publish_without_subscribers_is_a_no_op(caplog):
    caplog.set_level("DEBUG", logger="ehub.core.events")
    event = events.publish("test.happened", {"n": 1})
    assert event.name == "test.happened"
    assert DBTaskResult.objects.count() == 0
    assert "no subscribers" in caplog.text


@pytest.mark.django_db
def test_non_json_payload_is_refused():
    from decimal import Decimal

    events.subscribe("test.happened", FIRST)
    for bad in ({"amount": Decimal("1.5")}, {"x": object()}, {1: "a"}, {"x": float("nan")}, ["a"]):
        with pytest.raises(TypeError):
            events.publish("test.happened", bad)
    assert DBTaskResult.objects.count() == 0


def test_names_and_handler_paths_are_validated():
    with pytest.raises(ValueError):
        events.subscribe("Happened", FIRST)
    with pytest.raises(ValueError):
        events.subscribe("test.happened", "not a path")
    with pytest.raises(ValueError):
        events.publish("nodot", {})


@pytest.mark.django_db(transaction=True)
def test_a_failing_handler_fails_only_its_own_task():
    events.subscribe("test.happened", FAILING)
    events.subscribe("test.happened", FIRST)
    events.publish("test.happened", {"n": 1})
    assert run_pending_tasks() == 2
    assert [name for name, _ in CALLS] == ["first"]
    assert DBTaskResult.objects.failed().count() == 1
    events.publish("test.happened", {"n": 2})
    with pytest.raises(TaskFailed):
        run_pending_tasks(raise_errors=True)


@pytest.mark.django_db
def test_run_pending_tasks_respects_max_tasks_inside_a_test_transaction():
    events.subscribe("test.happened", FIRST)
    for n in range(3):
        events.publish("test.happened", {"n": n})
    assert run_pending_tasks(max_tasks=2) == 2
    assert run_pending_tasks() == 1
    assert sorted(event.payload["n"] for _, event in CALLS) == [0, 1, 2]


@pytest.mark.django_db(transaction=True)
def test_publish_many_writes_every_delivery_in_the_callers_transaction():
    events.subscribe("test.happened", FIRST)
    events.subscribe("test.happened", SECOND)
    events.subscribe("test.other", SECOND)
    ctx = Context.system(via="cli")
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish_many([("test.happened", {"n": 0})], ctx=ctx)
        assert DBTaskResult.objects.count() == 2
        raise RuntimeError("change rolled back")
    assert DBTaskResult.objects.count() == 0

    with transaction.atomic():
        published = events.publish_many(
            [
                ("test.happened", {"n": 1, "items": ("a", "b")}),
                ("test.other", {"n": 2}),
                ("test.nobody", {"n": 3}),  # no subscriber: returned, nothing queued
            ],
            ctx=ctx,
        )
    assert [e.name for e in published] == ["test.happened", "test.other", "test.nobody"]
    assert len({e.id for e in published}) == 3
    assert DBTaskResult.objects.count() == 3
    assert run_pending_tasks(raise_errors=True) == 3
    got = sorted((name, e.name, e.payload["n"], e.id) for name, e in CALLS)
    first, second = published[0], published[1]
    assert got == sorted(
        [
            ("first", "test.happened", 1, first.id),
            ("second", "test.happened", 1, first.id),
            ("second", "test.other", 2, second.id),
        ]
    )
    for _, event in CALLS:
        assert event.meta == {"actor_id": None, "org_id": None, "via": "cli", "request_id": ""}
        assert event.occurred_at == first.occurred_at
    assert {"n": 1, "items": ["a", "b"]} in [e.payload for _, e in CALLS]


@pytest.mark.django_db
def test_publish_many_refuses_a_bad_event_before_writing_any():
    events.subscribe("test.happened", FIRST)
    with pytest.raises(TypeError):
        events.publish_many([("test.happened", {"n": 1}), ("test.happened", {"x": object()})])
    with pytest.raises(ValueError):
        events.publish_many([("test.happened", {"n": 1}), ("nodot", {})])
    assert DBTaskResult.objects.count() == 0
    assert events.publish_many([]) == []
