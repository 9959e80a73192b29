"""Document extraction: .txt, UN export, .pdf, .docx, .html; every failure is an InputError."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fahras.errors import InputError
from fahras.text import ExtractedText, extract, extract_bytes


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: one Helvetica text line per string, pages in order (ASCII only)."""
    page_ids = []
    font_id = 3
    next_id = 4
    bodies = {}
    for lines in pages:
        page_id, content_id = next_id, next_id + 1
        next_id += 2
        page_ids.append(page_id)
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 760 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops += [f"({escaped}) Tj", "T*"]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1") if lines else b""
        bodies[page_id] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                           f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {content_id} 0 R >>").encode()
        bodies[content_id] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    bodies[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    bodies[2] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    bodies[font_id] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = {}
    for obj_id in sorted(bodies):
        offsets[obj_id] = out.tell()
        out.write(b"%d 0 obj\n" % obj_id + bodies[obj_id] + b"\nendobj\n")
    xref = out.tell()
    count = max(bodies) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % count)
    for obj_id in range(1, count):
        out.write(b"%010d 00000 n \n" % offsets[obj_id])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref))
    return out.getvalue()


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs[:1]:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    for text in paragraphs[1:]:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


PAGE_1 = ["United Nations", "Security Council", "S/RES/2999 (2031)", "Distr.: General 3 March 2031",
          "Resolution 2999 (2031)", "The Security Council,",
          "Recalling its resolution 2250 (2015) on youth, peace and security,", "31-04567 (E)", "*3104567*"]
PAGE_2 = ["S/RES/2999 (2031)", "1. Decides to remain seized of the matter.", "2/2 31-04567"]


def test_pdf_text_with_furniture_stripped(tmp_path):
    path = tmp_path / "resolution.pdf"
    path.write_bytes(make_pdf([PAGE_1, PAGE_2]))
    result = extract(path)
    assert isinstance(result, ExtractedText)
    assert result.symbol == "S/RES/2999 (2031)"
    assert result.lang == "en"
    assert result.source == str(path)
    lines = result.text.rstrip("\n").split("\n")
    assert lines == ["United Nations", "Security Council", "Resolution 2999 (2031)", "The Security Council,",
                     "Recalling its resolution 2250 (2015) on youth, peace and security,",
                     "1. Decides to remain seized of the matter."]


def test_pdf_without_stripping_keeps_everything():
    result = extract_bytes(make_pdf([PAGE_1, PAGE_2]), "r.pdf", strip=False)
    assert result.symbol is None
    assert "31-04567 (E)" in result.text and "2/2 31-04567" in result.text


def test_scanned_pdf_without_text_layer():
    with pytest.raises(InputError, match="no text layer") as caught:
        extract_bytes(make_pdf([[], []]), "scan.pdf")
    assert caught.value.path == "scan.pdf"


@pytest.mark.parametrize("data", [
    b"%PDF-1.4\nthis is not really a PDF\n",
    b"",
    make_pdf([PAGE_1])[:300],
    b"PK\x03\x04 not a pdf at all",
])
def test_corrupt_pdf(data):
    with pytest.raises(InputError, match="cannot read PDF") as caught:
        extract_bytes(data, "broken.pdf")
    assert str(caught.value).startswith("broken.pdf: ")


def test_docx_paragraphs_and_tables_in_order(tmp_path):
    path = tmp_path / "letter.docx"
    path.write_bytes(make_docx(
        ["Le Conseil de sécurité examine la situation humanitaire dans la région.",
         "Les États Membres sont priés de verser leurs contributions sans tarder."],
        table=[["Pays", "Contribution"], ["Mali", "1 200"]]))
    result = extract(path)
    assert result.lang == "fr"
    assert result.text.split("\n") == [
        "Le Conseil de sécurité examine la situation humanitaire dans la région.",
        "Pays\tContribution", "Mali\t1 200",
        "Les États Membres sont priés de verser leurs contributions sans tarder."]


def _plain_zip() -> bytes:
    """A valid zip archive that is not a Word document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize("data", [b"PK\x03\x04garbage", b"plain text", _plain_zip()])
def test_corrupt_docx(data):
    with pytest.raises(InputError, match="cannot read DOCX"):
        extract_bytes(data, "letter.docx")


def test_empty_docx():
    with pytest.raises(InputError, match="no text"):
        extract_bytes(make_docx([""]), "empty.docx")


def test_html_text_blocks_and_no_scripts():
    html = ("<!DOCTYPE html><html><head><title>Ignored title</title><style>p {color: red}</style></head>"
            "<body><h1>Совет Безопасности</h1><script>alert('x')</script>"
            "<p>Совет <b>продлевает</b> мандат&nbsp;миссии.<br>Вторая строка.</p>"
            "<ul><li>Первый пункт</li><li>Второй пункт</li></ul></body></html>")
    result = extract_bytes(html.encode("utf-8"), "page.html")
    assert result.lang == "ru"
    assert result.text == ("Совет Безопасности\n\nСовет продлевает мандат миссии.\nВторая строка.\n\n"
                           "Первый пункт\n\nВторой пункт")


def test_html_in_a_legacy_encoding():
    html = '<html><head><meta charset="windows-1252"></head><body><p>Résolution adoptée</p></body></html>'
    assert extract_bytes(html.encode("cp1252"), "page.htm").text == "Résolution adoptée"


def test_plain_text_and_bom(tmp_path):
    path = tmp_path / "note.txt"
    path.write_bytes("\ufeffEl Consejo de Seguridad prorrogó el mandato de la misión.\n".encode("utf-8"))
    result = extract(path)
    assert result.text == "El Consejo de Seguridad prorrogó el mandato de la misión.\n"
    assert (result.lang, result.symbol, result.subjects) == ("es", None, ())


def test_un_export_format_header_is_not_text():
    data = "%%%ARMED INCIDENTS|KYRGYZSTAN|\n\nقرر المجلس تمديد ولاية البعثة.\n".encode("utf-8")
    result = extract_bytes(data, "000_doc.txt")
    assert result.text == "قرر المجلس تمديد ولاية البعثة.\n"
    assert result.subjects == ("ARMED INCIDENTS", "KYRGYZSTAN")
    assert result.lang == "ar"


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("first line\nsecond line\nRésolution\n".encode("latin-1"))
    with pytest.raises(InputError) as caught:
        extract(path)
    assert caught.value.path == str(path)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: not valid UTF-8")


@pytest.mark.parametrize("name", ["report.doc", "slides.pptx", "data.odt"])
def test_unsupported_extension(name):
    with pytest.raises(InputError, match="unsupported file type"):
        extract_bytes(b"whatever", name)


def test_no_extension_is_sniffed():
    assert extract_bytes(make_pdf([["Hello from a PDF without a name"]]), "upload").text.startswith("Hello")
    assert extract_bytes(b"Just some text here.", "upload").text == "Just some text here."


def test_missing_file_folder_and_empty_text(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        extract(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="folder"):
        extract(tmp_path)
    with pytest.raises(InputError, match="no text"):
        extract_bytes(b"  \n\n", "blank.txt")
    with pytest.raises(InputError, match="no text"):
        extract_bytes(b"%%%A|B|\n\n", "header-only.txt")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.sampled_from(["x.pdf", "x.docx", "x.html", "x.txt", "x"]))
def test_any_bytes_give_text_or_an_input_error(data, name):
    try:
        result = extract_bytes(data, name)
    except InputError as error:
        assert error.path == name
    else:
        assert result.text.strip()


SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not available")
def test_real_export_files():
    arabic = extract(SHARED / "examples" / "000_5a894c35c2768328.txt")
    assert arabic.lang == "ar"
    assert arabic.subjects == ("ARMED INCIDENTS", "KYRGYZSTAN", "CONSULTATIONS")
    assert arabic.text.startswith("الجمعية العامة مجلس الأمن")
    english = extract(SHARED / "unsc-resolutions" / "train" / "S_RES_1581_2005_.txt")
    assert (english.lang, english.symbol) == ("en", "S/RES/1581 (2005)")
    assert english.text.startswith("United Nations\nSecurity Council\nResolution 1581 (2005)\n")
