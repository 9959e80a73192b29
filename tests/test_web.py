"""The indexers' page without a browser: its words, its route, its assets (tests/test_web_browser.py drives it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("jinja2")
from fastapi.testclient import TestClient  # noqa: E402

from fahras.service import ProjectConfig, ServiceConfig, create_app  # noqa: E402
from fahras.web import STATIC_DIR, TEMPLATE_DIR  # noqa: E402
from fahras.web.strings import LANGUAGE_NAMES, STRINGS, choose_language  # noqa: E402
from fahras.vocab import LANGUAGES  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src" / "fahras"


def test_every_language_has_every_string():
    assert set(STRINGS) == set(LANGUAGES) == set(LANGUAGE_NAMES)
    keys = set(STRINGS["en"])
    for lang, table in STRINGS.items():
        assert set(table) == keys, (lang, keys ^ set(table))
        for key, text in table.items():
            assert text.strip(), (lang, key)
            # the same placeholders everywhere, so that the script can fill them in
            assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", STRINGS["en"][key])), (lang, key)
    # each language's words are in its own script (a table copied by mistake would not be)
    scripts = {"ar": "[\u0600-\u06ff]", "zh": "[\u4e00-\u9fff]", "ru": "[\u0400-\u04ff]"}
    for lang, script in scripts.items():
        assert re.search(script, STRINGS[lang]["save"]) and re.search(script, STRINGS[lang]["accept"]), lang
    assert len({STRINGS[lang]["save"] for lang in LANGUAGES}) == 6


def test_every_string_key_the_page_uses_exists():
    used = set(re.findall(r'data-i18n="(\w+)"', (TEMPLATE_DIR / "index.html").read_text(encoding="utf-8")))
    used |= set(re.findall(r"\bt\('(\w+)'", (STATIC_DIR / "page.js").read_text(encoding="utf-8")))
    used |= set(re.findall(r"\bt\.(\w+)", (TEMPLATE_DIR / "index.html").read_text(encoding="utf-8")))
    assert used - set(STRINGS["en"]) == set()
    assert len(used) > 40


def test_choose_language():
    assert choose_language("ar") == "ar"
    assert choose_language("ZH") == "zh"
    assert choose_language("de", "ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert choose_language(None, "de-DE, fr;q=0.5, es;q=0.7") == "es"
    assert choose_language(None, "de, en;q=0") == "en"
    assert choose_language(None, "fr;q=abc, ar;q=0.2") == "ar"
    assert choose_language(None, None) == "en"
    assert choose_language("../../etc", None) == "en"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # the page needs no loaded model: load=False keeps this test fast
    folder = tmp_path_factory.mktemp("web") / "unsc"
    config = ServiceConfig(projects=(ProjectConfig("unsc", folder, name="Security Council"),
                                     ProjectConfig("ga", folder, name="General Assembly <b>")))
    with TestClient(create_app(config, load=False)) as c:
        yield c


@pytest.mark.parametrize("lang", LANGUAGES)
def test_page_in_each_language(client, lang):
    response = client.get(f"/?lang={lang}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    direction = "rtl" if lang == "ar" else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert f"<title data-i18n=\"title\">{STRINGS[lang]['title']}</title>" in html
    assert STRINGS[lang]["save"] in html and STRINGS[lang]["key_accept"] in html
    # the language links keep the project and mark the current language
    assert re.search(rf'href="/\?lang={lang}&amp;project=unsc"[^>]*aria-current="true"', html)
    # everything comes from this server; scripts only from files (the policy forbids inline ones)
    assert "Content-Security-Policy" in response.headers
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", html)


def test_page_language_from_the_browser_and_project_from_the_address(client):
    html = client.get("/", headers={"Accept-Language": "fr-CH, fr;q=0.9"}).text
    assert '<html lang="fr" dir="ltr">' in html
    html = client.get("/?lang=xx&project=ga").text
    assert '<html lang="en" dir="ltr">' in html
    assert '<option value="ga" selected>General Assembly &lt;b&gt;</option>' in html  # escaped
    html = client.get("/?project=nonexistent").text
    assert '<option value="unsc" selected>' in html


def test_page_config_block_is_json_that_cannot_end_the_element(client):
    import json

    html = client.get("/?lang=ar").text
    block = re.search(r'<script type="application/json" id="page-config">(.*?)</script>', html, re.S).group(1)
    data = json.loads(block)
    assert data["lang"] == "ar" and data["project"] == "unsc"
    assert [p["id"] for p in data["projects"]] == ["unsc", "ga"]
    assert data["strings"]["zh"]["save"] == STRINGS["zh"]["save"]
    assert data["languages"]["ar"]["dir"] == "rtl"
    assert "</" not in block


def test_static_assets_are_served_and_local(client):
    html = client.get("/").text
    for asset, kind in (("page.js", "javascript"), ("page.css", "text/css"), ("icon.svg", "image/svg+xml")):
        url = re.search(rf'"(/web/static/{re.escape(asset)}\?v=\w+)"', html).group(1)
        response = client.get(url)
        assert response.status_code == 200 and kind in response.headers["content-type"], asset
        assert response.content == (STATIC_DIR / asset).read_bytes()
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(url\(|@import|src=|href=|fetch\()\s*['\"]?(https?:)?//", text), path.name
    assert client.get("/web/static/../__init__.py").status_code == 404


def test_the_library_never_imports_the_page():
    offenders = []
    for path in SRC.rglob("*.py"):
        if "web" in path.relative_to(SRC).parts[:1]:
            continue
        if re.search(r"^\s*(from|import)\s+fahras\.web\b", path.read_text(encoding="utf-8"), re.M):
            offenders.append(str(path))
    assert offenders == []


def test_mount_is_the_registered_page_plugin():
    from importlib.metadata import entry_points

    entries = [e for e in entry_points(group="fahras.service.pages") if e.name == "web"]
    assert [e.value for e in entries] == ["fahras.web:mount"]
    from fahras.web import mount

    assert entries[0].load() is mount
