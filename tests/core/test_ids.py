"""Public ids: shape, randomness, check character, normalisation."""

import re

import pytest

from ehub.core.ids import (
    ALPHABET,
    RANDOM_SYMBOLS,
    InvalidPublicId,
    is_valid_public_id,
    new_public_id,
    normalize_public_id,
)

SHAPE = re.compile(
    r"^ORD-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"
)


def test_format_and_alphabet():
    assert len(ALPHABET) == 32 and not set("ILOU") & set(ALPHABET)
    assert RANDOM_SYMBOLS * 5 >= 60
    public_id = new_public_id("ORD")
    assert SHAPE.match(public_id), public_id
    assert is_valid_public_id(public_id)
    assert is_valid_public_id(public_id, prefix="ORD")
    assert not is_valid_public_id(public_id, prefix="ORG")
    assert len(new_public_id("ORG")) <= 32  # fits accounts.Organization.public_id


def test_unique_across_ten_thousand():
    ids = {new_public_id("ORD") for _ in range(10_000)}
    assert len(ids) == 10_000
    # Every symbol shows up in every random position: nothing is stuck.
    bodies = [i.replace("-", "")[3:] for i in ids]
    for position in range(RANDOM_SYMBOLS):
        assert len({body[position] for body in bodies}) == 32


def test_prefix_is_validated():
    for bad in ("", "o", "ord", "1AB", "TOOLONGPREFIX", "OR-D"):
        with pytest.raises(ValueError):
            new_public_id(bad)


def _body_positions(public_id):
    return [i for i, ch in enumerate(public_id) if i > 3 and ch != "-"]


@pytest.mark.parametrize("sample", range(20))
def test_check_character_catches_every_single_character_typo(sample):
    public_id = new_public_id("ORD")
    for i in _body_positions(public_id):
        for symbol in ALPHABET:
            if symbol == public_id[i]:
                continue
            typo = public_id[:i] + symbol + public_id[i + 1 :]
            assert not is_valid_public_id(typo), typo
            with pytest.raises(InvalidPublicId):
                normalize_public_id(typo)


@pytest.mark.parametrize("sample", range(50))
def test_check_character_catches_adjacent_swaps(sample):
    body = new_public_id("ORD").replace("-", "")[3:]
    for i in range(len(body) - 1):
        if body[i] == body[i + 1]:
            continue
        swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :]
        with pytest.raises(InvalidPublicId):
            normalize_public_id("ORD" + swapped)


def test_normalisation_accepts_what_people_type():
    public_id = new_public_id("ORD")
    compact = public_id.replace("-", "")
    assert normalize_public_id(public_id) == public_id
    assert normalize_public_id(public_id.lower()) == public_id
    assert normalize_public_id(compact) == public_id
    assert normalize_public_id(f"  {compact.lower()}  ") == public_id
    assert normalize_public_id(" ".join(public_id.split("-"))) == public_id
    assert normalize_public_id(public_id, prefix="ORD") == public_id
    with pytest.raises(InvalidPublicId):
        normalize_public_id(public_id, prefix="ORG")


def test_normalisation_reads_look_alikes_as_crockford_does():
    # Build an id whose body holds 0 and 1, then type them as O and I/L.
    for _ in range(2000):
        public_id = new_public_id("ORD")
        body = public_id[4:]
        if "0" in body and "1" in body:
            break
    else:
        pytest.fail("no id with both 0 and 1 in 2000 tries")
    typed = "ORD-" + body.replace("0", "o").replace("1", "l")
    assert normalize_public_id(typed) == public_id
    assert normalize_public_id("ORD-" + body.replace("1", "I")) == public_id


def test_garbage_is_refused():
    for bad in ("", "ORD", "ORD-1234", "ORD-UUUU-UUUU-UUUU-UUUU", "-" * 30, "1234567890ABCDEFGH"):
        assert not is_valid_public_id(bad)
        with pytest.raises(InvalidPublicId):
            normalize_public_id(bad)
    assert not is_valid_public_id(None)
