"""The Malay and Chinese catalogues: complete, not fuzzy, placeholders kept, .mo up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import ehub

LOCALE = Path(ehub.__file__).parent / "locale"
LANGS = ["ms", "zh_Hans"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def po(lang):
    with open(LOCALE / lang / "LC_MESSAGES" / "django.po", "rb") as f:
        return read_po(f)


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def entries(catalog):
    return [m for m in catalog if m.id]


@pytest.mark.parametrize("lang", LANGS)
def test_every_entry_is_translated_and_not_fuzzy(lang):
    catalog = po(lang)
    assert not catalog.fuzzy, "the header is marked fuzzy"
    untranslated = [
        m.id
        for m in entries(catalog)
        if not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    fuzzy = [m.id for m in entries(catalog) if m.fuzzy]
    assert untranslated == []
    assert fuzzy == []
    assert len(entries(catalog)) > 100


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_survive_translation(lang):
    for m in entries(po(lang)):
        source = m.id[0] if isinstance(m.id, tuple) else m.id
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for string in strings:
            assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(source)), (
                source
            )


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalogue_matches_the_source(lang):
    with open(LOCALE / lang / "LC_MESSAGES" / "django.mo", "rb") as f:
        compiled = {(m.context, _key(m.id)): _key(m.string) for m in read_mo(f) if m.id}
    source = {(m.context, _key(m.id)): _key(m.string) for m in entries(po(lang))}
    assert compiled == source, "run `ehub compilemessages` and commit the .mo"


@pytest.mark.parametrize("lang", LANGS)
def test_translations_differ_from_english(lang):
    """Guards against copying the English text in: most entries must actually change."""
    items = entries(po(lang))
    same = [m.id for m in items if m.string == m.id]
    assert len(same) < len(items) * 0.05, same
