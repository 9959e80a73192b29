"""The indexers' page in a real headless Chromium against a live ``fahras serve``.

Debian's ``chromium`` (``scripts/ci-browser.sh`` installs it) driven by
Playwright for Python, pointed at it with ``executable_path`` (Playwright's
own browser download is never used).  Where Chromium or Playwright is
missing the tests are skipped, unless ``FAHRAS_REQUIRE_BROWSER=1`` (set by
``scripts/ci-browser.sh``) or ``CI=true`` turns that into a failure.

Screenshots of the page in English and Arabic are written to the test's
temporary folder, and also to ``$FAHRAS_WEB_SCREENSHOTS`` when that is set
(``FAHRAS_WEB_SCREENSHOTS=docs/screenshots`` made the README's).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import requires_shared

CHROMIUM = os.environ.get("FAHRAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1360, "height": 960}
CONSULTATIONS = "CONSULTATIONS"


def _browser_or_skip():
    required = os.environ.get("FAHRAS_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("Playwright for Python is not installed (pip install -e '.[test]')")
        pytest.skip("Playwright for Python is not installed")
    if not Path(CHROMIUM).is_file():
        if required:
            pytest.fail(f"{CHROMIUM} is missing: bash scripts/ci-browser.sh installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page_model(time_split, unbis, tmp_path_factory) -> Path:
    """A small omikuji model on the 2005-2011 resolutions (it explains with spans in the text)."""
    from fahras import Indexer, read_corpus

    out = tmp_path_factory.mktemp("web-models") / "unsc"
    Indexer(backend="omikuji", cv_folds=0).fit(read_corpus(time_split[0]), unbis).save(out)
    return out


@pytest.fixture(scope="module")
def server(browser, page_model, time_split, tmp_path_factory):
    """``fahras serve`` (a real uvicorn process) with a corpus folder and a SQLite feedback database."""
    requires_shared()
    from service_support import Server

    base = tmp_path_factory.mktemp("web-serve")
    corpus = base / "incoming"
    corpus.mkdir()
    for path in sorted(time_split[1].glob("*.txt"))[1:3]:
        shutil.copy(path, corpus / path.name)
    db = base / "feedback.db"
    config = base / "projects.toml"
    config.write_text(f'[service]\ndb = "sqlite:///{db}"\n\n'
                      f'[projects.unsc]\nname = "Security Council resolutions"\nmodel = "{page_model}"\n'
                      f'corpus = "{corpus}"\n', encoding="utf-8")
    with Server(["--config", str(config)], cwd=base) as running:
        running.db_url = f"sqlite:///{db}"
        running.corpus = corpus
        yield running


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # (a request the test itself makes fail is logged by Chromium as "Failed to load resource")
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    # nothing may be fetched from anywhere but the server itself
    outside: list[str] = []
    page.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(server.url)
                                      or route.request.url.startswith("data:")
                                      else (outside.append(route.request.url), route.abort())))
    yield page
    context.close()
    assert outside == []
    assert errors == []


def screenshot(page, name: str, tmp_path: Path) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    target = tmp_path / name
    page.screenshot(path=str(target), full_page=True)
    wanted = os.environ.get("FAHRAS_WEB_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copy(target, Path(wanted) / name)


def marks_at_their_offsets(page) -> list[dict]:
    """For each highlighted span: its offset in the shown text and its text, and the API's span."""
    return page.evaluate("""() => {
        const box = document.getElementById('doc-text');
        const state = window.fahrasPage.state;
        const spans = (state.results[state.selected].evidence || [])
            .filter(s => Number.isInteger(s.start)).sort((a, b) => a.start - b.start);
        const found = [];
        let offset = 0;
        for (const node of box.childNodes) {
            if (node.nodeName === 'MARK') { found.push({start: offset, text: node.textContent}); }
            offset += node.textContent.length;
        }
        return {found, spans, shown: box.textContent, text: state.doc.text};
    }""")


def test_upload_decide_add_by_arabic_search_and_save(page, server, time_split, tmp_path):
    from fahras.feedback import FeedbackStore

    document = sorted(time_split[1].glob("*.txt"))[0]
    page.goto(server.url + "/?lang=en")
    assert page.locator("html").get_attribute("dir") == "ltr"
    page.set_input_files("#file", str(document))
    page.wait_for_selector("#suggestions li.suggestion")

    # ranked suggestions with score bars and the decision rule's picks marked
    rows = page.locator("#suggestions li.suggestion")
    assert rows.count() >= 5
    scores = [float(v) for v in page.locator("#suggestions .value").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    widths = page.locator("#suggestions .fill").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert widths[0] > widths[-1] >= 0 and widths[0] > 10
    assert page.locator("#suggestions .badge.decided").count() >= 1
    assert "model" in page.locator("#suggestions .badge.decided").first.inner_text()

    # the first descriptor is selected: its evidence is highlighted where the API's offsets point
    assert page.locator("#suggestions li.selected").count() == 1
    info = marks_at_their_offsets(page)
    assert info["shown"] == info["text"]
    assert info["text"].startswith("%%%")  # a UN export file: offsets count from the file's first line
    assert len(info["found"]) >= 1
    for mark in info["found"]:
        assert info["text"][mark["start"]:mark["start"] + len(mark["text"])] == mark["text"]
        assert any(s["start"] <= mark["start"] < s["end"] for s in info["spans"])
    # ... and scrolled into view inside the text box
    visible = page.evaluate("""() => {
        const box = document.getElementById('doc-text').getBoundingClientRect();
        const mark = document.querySelector('#doc-text mark.current').getBoundingClientRect();
        return mark.top >= box.top && mark.bottom <= box.bottom;
    }""")
    assert visible

    # keyboard alone: accept the first, move down, reject the second (another descriptor's evidence shows)
    uris = rows.evaluate_all("els => els.map(e => e.dataset.uri)")
    page.locator("#pick-0").focus()
    page.keyboard.press("a")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == "pick-1"
    page.keyboard.press("r")
    assert rows.nth(0).locator("button.accepted").get_attribute("aria-pressed") == "true"
    assert rows.nth(1).locator("button.rejected").get_attribute("aria-pressed") == "true"
    assert "accepted" in rows.nth(0).get_attribute("class") and "rejected" in rows.nth(1).get_attribute("class")
    assert page.locator("#suggestions li.selected").get_attribute("data-uri") == uris[1]

    # add one by Arabic autocomplete (D focuses the search field)
    page.keyboard.press("d")
    assert page.evaluate("document.activeElement.id") == "add-input"
    page.keyboard.type("مشاور")
    page.wait_for_selector("#add-options li[role=option][data-uri]")
    options = page.locator("#add-options li[role=option][data-uri]")
    labels = options.locator(".option-label").all_inner_texts()
    assert CONSULTATIONS in labels, labels
    target = labels.index(CONSULTATIONS)
    option = options.nth(target)
    assert "مشاور" in option.locator(".matched").inner_text()
    assert option.locator(".group").count() == 1        # its micro-thesaurus is shown
    consultations = option.get_attribute("data-uri")
    assert consultations not in uris, "the model suggested CONSULTATIONS itself; pick another concept"
    for _ in range(target):
        page.keyboard.press("ArrowDown")
    assert page.locator("#add-input").get_attribute("aria-activedescendant") == option.get_attribute("id")
    page.keyboard.press("Enter")
    assert page.locator("#added-list li").count() == 1
    assert page.locator("#added-list li .option-label").inner_text() == CONSULTATIONS

    # save with S, after naming the indexer; the page confirms with the decision's number
    page.fill("#indexer", "Test Indexer")
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    page.wait_for_selector("#status.ok")
    status = page.locator("#status-text").inner_text()
    assert status.startswith("Saved")
    saved_id = int(status.rsplit(" ", 1)[1].rstrip("."))
    screenshot(page, "page-en.png", tmp_path)

    # exactly that decision is in the database
    store = FeedbackStore(server.db_url)
    try:
        decisions = list(store.decisions("unsc"))
    finally:
        store.close()
    assert len(decisions) == 1
    decision = decisions[0]
    assert decision.id == saved_id
    assert decision.document_id == document.stem
    assert (decision.accepted, decision.rejected, decision.added) == ([uris[0]], [uris[1]], [consultations])
    assert decision.indexer == "Test Indexer"
    assert decision.language == "en"
    assert [s.uri for s in decision.shown] == uris
    assert [s.rank for s in decision.shown] == list(range(1, len(uris) + 1))
    assert decision.source == "decision"


def test_arabic_lays_the_page_out_right_to_left(page, server, time_split, tmp_path):
    page.goto(server.url + "/?lang=en")
    page.click("nav.languages a[data-lang=ar]")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    assert "lang=ar" in page.url
    assert page.locator("#save").inner_text() == "حفظ القرار"

    # a fresh load of the shared address is right to left from the server on
    page.goto(page.url)
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.set_input_files("#file", str(sorted(time_split[1].glob("*.txt"))[0]))
    page.wait_for_selector("#suggestions li.suggestion")
    # the document pane (first in the source) sits on the right, the suggestions on the left
    document_box = page.locator(".document-pane").bounding_box()
    suggestions_box = page.locator(".suggest-pane").bounding_box()
    assert document_box["x"] > suggestions_box["x"]
    # ranks on the right of their labels; labels of thesaurus concepts in Arabic
    first = page.locator("#suggestions li.suggestion").first
    assert first.locator(".rank").bounding_box()["x"] > first.locator(".label").bounding_box()["x"]
    state = page.evaluate("window.fahrasPage.state.results")
    shown = page.locator("#suggestions .label").all_inner_texts()
    arabic = [r["labels"]["ar"] for r in state if not r["local"]]
    assert arabic and all(label in shown for label in arabic)
    assert any("\u0600" <= ch <= "\u06ff" for ch in "".join(shown))
    # an English document stays left to right inside the Arabic page
    assert page.locator("#doc-text").get_attribute("dir") == "ltr"
    page.locator("#add-input").fill("مشاور")
    page.wait_for_selector("#add-options li[role=option][data-uri]")
    assert "المشاورات" in page.locator("#add-options").inner_text()
    screenshot(page, "page-ar.png", tmp_path)

    # switching languages in place relabels what is shown, without reopening the document
    page.keyboard.press("Escape")
    page.click("nav.languages a[data-lang=zh]")
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator("html").get_attribute("lang") == "zh"
    zh = [r["labels"]["zh"] for r in state if not r["local"]]
    shown = page.locator("#suggestions .label").all_inner_texts()
    assert all(label in shown for label in zh)


def test_queue_symbol_paste_and_a_server_that_does_not_answer(page, server):
    page.goto(server.url + "/?lang=fr")
    names = sorted(p.stem for p in server.corpus.iterdir())

    # queue mode walks the corpus folder; N opens the next document
    page.click("#queue-start")
    page.wait_for_selector("#suggestions li.suggestion")
    assert page.locator("#queue-pos").inner_text() == f"Document 1 sur {len(names)}"
    assert page.evaluate("window.fahrasPage.state.doc.id") == names[0]
    page.locator("#pick-0").focus()
    page.keyboard.press("n")
    page.wait_for_function("id => window.fahrasPage.state.doc && window.fahrasPage.state.doc.id === id", arg=names[1])
    assert page.locator("#queue-pos").inner_text() == f"Document 2 sur {len(names)}"

    # a document symbol known to the corpus folder opens that document
    symbol = page.evaluate("key => fetch('/v1/fahras/documents/' + encodeURIComponent(key)).then(r => r.json())",
                           names[0])["symbol"]
    assert symbol and "/" in symbol
    page.keyboard.press("o")
    page.fill("#doc-key", symbol)
    page.press("#doc-key", "Enter")
    page.wait_for_function("id => window.fahrasPage.state.doc.id === id", arg=names[0])
    assert "lang=fr" in page.url and "doc=" in page.url
    assert page.locator("#queue-nav").is_hidden()

    # a list of ids makes a queue of its own
    page.keyboard.press("o")
    page.fill("#doc-key", f"{names[1]}, {names[0]}")
    page.press("#doc-key", "Enter")
    page.wait_for_function("id => window.fahrasPage.state.doc.id === id", arg=names[1])
    assert page.locator("#queue-pos").inner_text() == "Document 1 sur 2"
    page.locator("#pick-0").focus()
    page.keyboard.press("n")
    page.wait_for_function("id => window.fahrasPage.state.doc.id === id", arg=names[0])
    assert page.locator("#queue-pos").inner_text() == "Document 2 sur 2"

    # the server does not answer: the page says so and offers to retry, which then works
    page.route("**/suggest*", lambda route: route.abort("connectionrefused"))
    page.locator("summary").first.click()
    page.fill("#paste-text", "The Security Council condemns the attacks on peacekeepers in Darfur and "
                             "calls for a ceasefire and humanitarian access in the Sudan.")
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#status.error")
    assert "Le serveur n'a pas répondu." in page.locator("#status-text").inner_text()
    assert page.locator("#retry").is_visible()
    page.unroute("**/suggest*")
    page.click("#retry")
    page.wait_for_function("() => window.fahrasPage.state.doc && window.fahrasPage.state.doc.id.startsWith('text-')")
    assert page.locator("#status").is_hidden()
    assert page.locator("#suggestions li.suggestion").count() >= 1

    # a file dropped on the document's side opens too
    page.evaluate("""text => {
        const data = new DataTransfer();
        data.items.add(new File([text], 'dropped-resolution.txt', {type: 'text/plain'}));
        const pane = document.querySelector('.document-pane');
        pane.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
        pane.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
    }""", (server.corpus / f"{names[1]}.txt").read_text(encoding="utf-8"))
    page.wait_for_function("() => window.fahrasPage.state.doc.id === 'dropped-resolution'")
    assert page.locator("#suggestions li.suggestion").count() >= 1
