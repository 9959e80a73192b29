"""Fuzzing document extraction (.txt, UN export, .pdf, .docx, .html) and its hostile inputs.

Any bytes under any name give an :class:`ExtractedText` or one
:class:`InputError` naming the file; the hostile cases (a zip bomb named
``.docx``, deeply nested HTML, a PDF whose page tree loops, binary data named
``.txt``, UTF-16 and Windows-1252 text) give a clear message quickly.
"""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fahras.errors import InputError
from fahras.text import extract, extract_bytes

from robust_support import FUZZ, FUZZ_LONG, run_measured
from test_text_extract import make_docx, make_pdf

SUFFIXES = [".txt", ".pdf", ".docx", ".html", ".htm", ""]
PDF = make_pdf([["The Security Council decides to renew the mandate."], ["Second page text."]])
DOCX = make_docx(["The Security Council decides to renew the mandate.", "Second paragraph."])
HTML = b"<html><head><title>t</title></head><body><p>The Security <b>Council</b> decides.</p></body></html>"


def _mutate(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data[:max(1, cut)])
    for where, value in flips:
        out[where % len(out)] = value
    return bytes(out)


mutated = st.builds(_mutate, st.sampled_from([PDF, DOCX, HTML]), st.integers(0, len(DOCX)),
                    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4))
documents = st.one_of(st.binary(max_size=400), mutated,
                      st.text(max_size=200).map(lambda t: t.encode("utf-8")),
                      st.builds(lambda t, e: t.encode(e, "replace"), st.text(max_size=100),
                                st.sampled_from(["utf-16", "utf-16-le", "cp1252", "latin-1"])))


def _extract_outcome(data: bytes, name: str) -> None:
    try:
        result = extract_bytes(data, name)
    except InputError as error:
        assert error.path == name and name in str(error)
        return
    assert result.text.strip() and result.source == name


@FUZZ
@given(documents, st.sampled_from(SUFFIXES))
def test_extract_never_crashes(data, suffix):
    _extract_outcome(data, f"doc{suffix}")


@pytest.mark.slow
@FUZZ_LONG
@given(documents, st.sampled_from(SUFFIXES))
def test_extract_never_crashes_long(data, suffix):
    _extract_outcome(data, f"doc{suffix}")


# -- the old implementation of the HTML text, as an oracle for the tree walk that replaced it
def _old_html_text(data: bytes) -> str:
    from bs4 import BeautifulSoup

    from fahras.text.extract import _BLOCKS

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return soup.get_text()


html_piece = st.sampled_from(["<p>", "</p>", "<div>", "</div>", "<br>", "<b>", "</b>", "<script>x</script>",
                              "<!-- c -->", "<td>", "<li>", "text", " ", "\n", "&amp;", "<![CDATA[cd]]>",
                              "<head><title>t</title></head>", "é", "<table><tr><td>a</td></tr></table>"])


@FUZZ
@given(st.lists(html_piece, max_size=25).map("".join))
def test_html_walk_gives_the_old_text(html):
    from bs4 import BeautifulSoup

    from fahras.text.extract import _html_text

    assert _html_text(BeautifulSoup(html.encode(), "html.parser")) == _old_html_text(html.encode())


# -- hostile inputs, each a regression test -----------------------------------------------
def _zip_bomb(megabytes: int) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(DOCX))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml":
                pad = "<w:p><w:r><w:t>" + "A" * 1000 + "</w:t></w:r></w:p>"
                data = data.decode().replace("<w:body>", "<w:body>" + pad * (megabytes * 1000), 1).encode()
            bomb.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_zip_bomb_docx_is_refused_at_once():
    bomb = _zip_bomb(60)  # < 300 KB packed, 60 MB unpacked; took 148 s and 1.4 GB for 300 MB before
    assert len(bomb) < 2**20
    started = time.perf_counter()
    with pytest.raises(InputError, match="bomb.docx: the DOCX would unpack to .* over the limit"):
        extract_bytes(bomb, "bomb.docx")
    assert time.perf_counter() - started < 2


def test_deeply_nested_html_is_linear():
    depth = 20_000  # 5,000 took 20 s before (quadratic), 100,000 never finished
    html = ("<div>" * depth + "deep text" + "</div>" * depth).encode()
    started = time.perf_counter()
    assert extract_bytes(html, "nested.html").text == "deep text"
    assert time.perf_counter() - started < 30


def test_pdf_whose_page_tree_loops():
    loop = PDF.replace(b"/Kids [4 0 R 6 0 R]", b"/Kids [2 0 R 4 0 R]")
    assert loop != PDF
    with pytest.raises(InputError, match="loop.pdf: cannot read PDF"):
        extract_bytes(loop, "loop.pdf")


@pytest.mark.parametrize("data, words", [
    (bytes(range(256)) * 40, "binary data"),
    ("Le Conseil de sécurité".encode("utf-16"), "UTF-16"),
    ("The Security Council decided".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
    ("Le Conseil de sécurité décide".encode("cp1252"), "Windows-1252 or Latin-1"),
    (b"", "no text"),
    (b"%%%IRAQ|\n\n", "no text"),
])
def test_bad_text_files_say_what_they_look_like(data, words):
    with pytest.raises(InputError) as info:
        extract_bytes(data, "doc.txt")
    assert words in str(info.value) and "doc.txt" in str(info.value)


def test_document_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_bytes(b"word " * 300_000)  # 1.5 MB
    monkeypatch.setenv("FAHRAS_MAX_DOCUMENT_BYTES", str(2**20))
    with pytest.raises(InputError, match=r"big.txt: document of 1.4 MB is larger than the limit of 1.0 MB"):
        extract(path)
    assert extract(path, max_bytes=2 * 2**20).text.startswith("word")
    monkeypatch.setenv("FAHRAS_MAX_DOCUMENT_BYTES", "lots")
    with pytest.raises(Exception, match="FAHRAS_MAX_DOCUMENT_BYTES='lots'"):
        extract(path)


def test_large_document_memory_and_time_are_bounded(tmp_path):
    # A few MB in the default run; the 200 MB case is in test_robust_large.py (slow).
    path = tmp_path / "long.txt"
    path.write_bytes(b"a" * (4 * 2**20))
    result = run_measured(f"""
        from fahras.text import extract
        _result["lang"] = extract({str(path)!r}).lang
    """)
    assert result["peak_mb"] < 250, result
    assert result["seconds"] < 30, result
