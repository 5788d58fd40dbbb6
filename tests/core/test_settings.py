"""Settings are read from the environment, as README's "Configuration" table promises."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

import ehub.settings

ROOT = Path(__file__).resolve().parents[2]
# How eHub reads a variable: os.environ / the settings helpers / customs' settings-or-env helper.
_READ = r'(?:environ\.get|environ\[|env_bool|env_list|env_map|_setting)\(?\s*"{name}"'


def _settings_with(monkeypatch, **env: str) -> dict:
    """The settings module executed afresh with ``env`` (Django's own settings are untouched)."""
    monkeypatch.setenv("EHUB_DEBUG", "1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(ehub.settings.__file__)


def test_every_readme_variable_is_read_from_the_environment():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = sorted(set(re.findall(r"`(EHUB_[A-Z0-9_]+)`", table)))
    assert len(names) > 40
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("src/ehub", "bench")
        for path in (ROOT / folder).rglob("*.py")
    )
    unread = [name for name in names if not re.search(_READ.format(name=name), sources)]
    assert unread == []


def test_storefront_currencies_come_from_the_environment(monkeypatch):
    values = _settings_with(
        monkeypatch,
        EHUB_STOREFRONT_CURRENCIES="cny, myr,HKD",
        EHUB_STOREFRONT_CURRENCY_BY_LANGUAGE="zh-Hans=hkd, en = MYR",
    )
    assert values["EHUB_STOREFRONT_CURRENCIES"] == ("CNY", "MYR", "HKD")
    assert values["EHUB_STOREFRONT_CURRENCY_BY_LANGUAGE"] == {"zh-hans": "HKD", "en": "MYR"}


def test_storefront_currency_defaults(monkeypatch):
    monkeypatch.delenv("EHUB_STOREFRONT_CURRENCIES", raising=False)
    monkeypatch.delenv("EHUB_STOREFRONT_CURRENCY_BY_LANGUAGE", raising=False)
    values = _settings_with(monkeypatch)
    assert values["EHUB_STOREFRONT_CURRENCIES"] == ("CNY", "MYR", "SGD", "USD")
    assert values["EHUB_STOREFRONT_CURRENCY_BY_LANGUAGE"] == {
        "zh-hans": "CNY",
        "en": "MYR",
        "ms": "MYR",
    }


@pytest.mark.parametrize(("raw", "threads", "access_log"), [("", 8, True), ("4", 4, False)])
def test_web_server_threads_and_access_log(monkeypatch, raw, threads, access_log):
    env = {"EHUB_WEB_THREADS": raw, "EHUB_WEB_ACCESS_LOG": "0"} if raw else {}
    if not raw:
        monkeypatch.delenv("EHUB_WEB_THREADS", raising=False)
        monkeypatch.delenv("EHUB_WEB_ACCESS_LOG", raising=False)
    values = _settings_with(monkeypatch, **env)
    assert values["EHUB_WEB_THREADS"] == threads
    assert values["EHUB_WEB_ACCESS_LOG"] is access_log
