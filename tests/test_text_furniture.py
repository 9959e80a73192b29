"""UN page furniture: job numbers, barcodes, page marks, running headers; document symbols."""

from __future__ import annotations

from pathlib import Path

import pytest

from fahras.text import find_symbol, strip_furniture
from fahras.text.furniture import SYMBOL, _symbols_of_line

# Three pages of a resolution as text extraction gives them (written for this test).
PAGES = """United Nations
Security Council

S/RES/2999 (2031)
Distr.: General 3 March 2031

Resolution 2999 (2031)
Adopted by the Security Council at its 9876th meeting, on 3 March 2031
The Security Council,
Recalling its resolutions 1503 (2003) and 2250 (2015), and the report of the Secretary-General (S/2031/120),
Expressing concern at the situation of displaced persons in the region, including
31-04567 (E)    040331
*3104567*
Please recycle


S/RES/2999 (2031)
those living in camps along the border,
1. Decides to renew the mandate of the mission until 31 March 2032;
2
31-04567


S/RES/2999 (2031)
2. Requests the Secretary-General to report every three months;
3. Decides to remain seized of the matter.
3/3 31-04567
"""

CLEAN = """United Nations
Security Council
Resolution 2999 (2031)
Adopted by the Security Council at its 9876th meeting, on 3 March 2031
The Security Council,
Recalling its resolutions 1503 (2003) and 2250 (2015), and the report of the Secretary-General (S/2031/120),
Expressing concern at the situation of displaced persons in the region, including
those living in camps along the border,
1. Decides to renew the mandate of the mission until 31 March 2032;
2. Requests the Secretary-General to report every three months;
3. Decides to remain seized of the matter.
"""


def test_realistic_pages_are_cleaned_and_the_symbol_found():
    clean, symbol = strip_furniture(PAGES)
    assert symbol == "S/RES/2999 (2031)"
    assert clean == CLEAN


def test_real_content_that_looks_like_furniture_stays():
    text = ("The Council recalls resolution 1503 (2003) and document S/2010/334.\n"
            "S/2005/9\n"
            "Paragraphs 2 and 3 of annex 2/5 are deleted.\n"
            "Distribution of aid: general principles\n"
            "15\n"
            "Member States shall report.\n")
    clean, symbol = strip_furniture(text)
    assert symbol is None
    assert clean == text


def test_page_number_lines_only_go_next_to_furniture_or_page_gaps():
    text = "First page ends here\n4\n\n\nSecond page starts here\n12\nA list item follows\n7"
    clean, _ = strip_furniture(text)
    assert clean == "First page ends here\nSecond page starts here\n12\nA list item follows"


@pytest.mark.parametrize("line", [
    "15-21698 (E)", "10-41557 (A)", "10-41557 (A)    *1041557*", "*1041557*", "2 13-31417",
    "13-31417 3/5", "3/5 13-31417", "05-21201 (E) 180105", "09-12345* (E)", "GE.05-12345 (F)",
    "2/5", "Distr.: General 18 January 2005", "Distr. générale 2 mars 2015", "Distr.: Limited",
    "Original: English", "Please recycle", "Please recycle ♲",
])
def test_furniture_lines_go(line):
    clean, _ = strip_furniture(f"Before the line.\n{line}\nAfter the line.")
    assert clean == "Before the line.\nAfter the line."


def test_inline_job_number_and_barcode_in_one_line_text():
    text = "ويرحب المجلس بالجهود المبذولة 10-41557 (A) *1041557* ويقرر أن يبقي المسألة قيد نظره."
    clean, _ = strip_furniture(text)
    assert clean == "ويرحب المجلس بالجهود المبذولة ويقرر أن يبقي المسألة قيد نظره."


def test_arabic_pages_with_a_joint_symbol_header():
    text = ("الأمم المتحدة\nA/64/842–S/2010/334\nالجمعية العامة\nمجلس الأمن\n"
            "يشرفني أن أحيل طيه نص البيان\n10-41557 (A)\n*1041557*\n\n\n"
            "A/64/842\nS/2010/334\nبشأن الحالة في قيرغيزستان.\n2\n10-41557\n")
    clean, symbol = strip_furniture(text)
    assert symbol == "A/64/842"
    assert clean == ("الأمم المتحدة\nالجمعية العامة\nمجلس الأمن\nيشرفني أن أحيل طيه نص البيان\n"
                     "بشأن الحالة في قيرغيزستان.\n")


@pytest.mark.parametrize("line, symbols", [
    ("S/RES/2250 (2015)", ["S/RES/2250 (2015)"]),
    ("S/RES/1581(2005)", ["S/RES/1581 (2005)"]),
    ("S/RES/1583 (2005)*", ["S/RES/1583 (2005)"]),
    ("A/64/842", ["A/64/842"]),
    ("S/2010/334", ["S/2010/334"]),
    ("A/RES/70/1", ["A/RES/70/1"]),
    ("E/CN.4/2005/L.10", ["E/CN.4/2005/L.10"]),
    ("A/C.3/64/L.20/Rev.1", ["A/C.3/64/L.20/Rev.1"]),
    ("  A/64/842 - S/2010/334  ", ["A/64/842", "S/2010/334"]),
    ("resolution 1503 (2003)", None),
    ("and/or", None),
    ("TCP/IP", None),
    ("2/5", None),
    ("See S/2010/334.", None),
])
def test_symbol_lines(line, symbols):
    assert _symbols_of_line(line) == symbols


def test_symbol_mentions_inside_sentences():
    text = "recalling (S/2005/9), A/RES/60/1 and E/CN.4/2005/L.10. Also S/RES/1325 (2000)."
    found = [m.group(1) + (m.group(2) or "") for m in SYMBOL.finditer(text)]
    assert found == ["S/2005/9", "A/RES/60/1", "E/CN.4/2005/L.10", "S/RES/1325 (2000)"]


def test_find_symbol():
    assert find_symbol(PAGES) == "S/RES/2999 (2031)"
    assert find_symbol("The Council recalls S/RES/1325 (2000).") is None
    assert find_symbol("") is None
    # A running header repeated on later pages, without a masthead in reach.
    body = "\n".join(f"Paragraph {i} of the report on the situation." for i in range(20))
    assert find_symbol(f"{body}\nS/2010/334\n{body}\nS/2010/334\n{body}") == "S/2010/334"


def test_line_endings_and_form_feeds():
    clean, symbol = strip_furniture("A/64/842\r\nText one\r\n\x0cA/64/842\r\nText two")
    assert (clean, symbol) == ("Text one\nText two", "A/64/842")


TRAIN = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "unsc-resolutions" / "train"


@pytest.mark.skipif(not TRAIN.is_dir(), reason="shared data not available")
def test_real_resolution():
    raw = (TRAIN / "S_RES_2100_2013_.txt").read_text(encoding="utf-8")
    body = raw.split("\n", 2)[2]
    clean, symbol = strip_furniture(body)
    assert symbol == "S/RES/2100 (2013)"
    assert "13-31417" not in clean and "*1331417*" not in clean and "Distr." not in clean
    assert "S/RES/2100 (2013)" not in clean
    assert "including\nthose who have previously advocated independence" in clean
    assert "resolution 2085 (2012)" in clean
    assert not any(line.strip().isdigit() for line in clean.split("\n"))


def test_mask_furniture_keeps_offsets():
    from fahras.text import mask_furniture

    text = ("United Nations\r\nS/RES/1581 (2005)\r\nSecurity Council\n05-21201 (E)\nThe Council decides\f"
            "2/5\nS/RES/1581 (2005)\nto remain seized. *0521201*\n")
    masked, symbol = mask_furniture(text)
    assert symbol == "S/RES/1581 (2005)"
    assert len(masked) == len(text)
    for word in ("United Nations", "Security Council", "The Council decides", "to remain seized."):
        assert masked.index(word) == text.index(word)
    for furniture in ("05-21201", "2/5", "S/RES/1581", "*0521201*"):
        assert furniture not in masked
    assert [i for i, ch in enumerate(masked) if ch in "\r\n\f"] == [i for i, ch in enumerate(text) if ch in "\r\n\f"]


def test_mask_furniture_is_the_same_whatever_the_line_breaks():
    # Text with only "\n" takes a plain split; with "\r\n" the line breaks are kept as found.
    from fahras.text import mask_furniture

    masked, symbol = mask_furniture(PAGES)
    crlf_masked, crlf_symbol = mask_furniture(PAGES.replace("\n", "\r\n"))
    assert symbol == crlf_symbol == "S/RES/2999 (2031)"
    assert crlf_masked.replace("\r\n", "\n") == masked and len(masked) == len(PAGES)
    assert "31-04567" not in masked and "Please recycle" not in masked and "The Security Council," in masked
