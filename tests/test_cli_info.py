"""``fahras info`` (a readable summary; --json for the manifest) and a training summary that adds up."""

from __future__ import annotations

import json
import re

from clirun import run
from conftest import UNBIS_JSON


def _subject_lines(text: str) -> tuple[int, list[int]]:
    """The total of the "N subjects the model can suggest" line and the counts of the lines under it."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if "subjects the model can suggest" in line)
    total = int(re.search(r"(\d+) subjects the model can suggest", lines[head]).group(1))
    parts = []
    for line in lines[head + 1:]:
        numbers = [int(n) for n in re.findall(r"(\d+) (?:thesaurus concepts|local headings)", line)]
        if not numbers:
            break
        parts.extend(numbers)
    return total, parts


def test_info_is_a_readable_summary_that_adds_up(capsys, trained_model):
    from fahras import __version__, Indexer

    result = run(capsys, "info", trained_model)
    assert result.code == 0, result.err
    text = result.out
    fields = {line.split(":", 1)[0] for line in text.splitlines() if re.match(r"^[a-z ]+:", line)}
    assert {"model", "backend", "analyzer", "training", "subjects", "decision rule", "thesaurus", "versions",
            "size on disk"} <= fields
    assert re.search(r"^backend: +ensemble of tfidf-linear, omikuji, knn, headings, acronyms$", text, re.M)
    assert f"fahras {__version__}" in text
    indexer = Indexer.load(trained_model)
    assert f"{indexer.training_['documents']} documents" in text
    assert indexer.rule_.describe() in text
    total, parts = _subject_lines(text)
    assert total == len(indexer.subjects_) and sum(parts) == total and len(parts) >= 3
    assert str(UNBIS_JSON.name) in text
    size = sum(p.stat().st_size for p in trained_model.rglob("*") if p.is_file())
    shown = re.search(r"size on disk: +([\d.]+) (bytes|KB|MB|GB)", text)
    factor = {"bytes": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}[shown.group(2)]
    assert abs(float(shown.group(1)) * factor - size) <= 0.05 * factor + 1
    assert "{" not in text  # not the manifest


def test_info_json_is_the_manifest(capsys, trained_model):
    result = run(capsys, "info", trained_model, "--json")
    assert json.loads(result.out) == json.loads((trained_model / "manifest.json").read_text(encoding="utf-8"))


def test_info_on_a_missing_model_is_one_line(capsys, tmp_path):
    result = run(capsys, "info", tmp_path / "nothing")
    assert result.code == 66 and len(result.err.strip().splitlines()) == 1


def test_training_summary_says_what_each_number_is(capsys, time_split, tmp_path):
    corpus = tmp_path / "train"
    corpus.mkdir()
    for path in sorted(time_split[0].iterdir())[::10]:
        (corpus / path.name).symlink_to(path.resolve())
    result = run(capsys, "train", "--vocab", UNBIS_JSON, "--out", tmp_path / "m", "--cv-folds", "0", "--quiet",
                 corpus)
    assert result.code == 0, result.err
    text = result.err
    from fahras import Indexer

    indexer = Indexer.load(tmp_path / "m")
    t = indexer.training_
    assert f"on {t['documents']} documents" in text
    assert (f"{t['thesaurus_occurrences']} matched thesaurus concepts, {t['local_occurrences']} kept as local "
            f"headings") in text
    total, parts = _subject_lines(text)
    assert total == t["subjects"] == len(indexer.subjects_)
    assert sum(parts) == total
    assert parts[:2] == [t["thesaurus_subjects"], t["local_subjects"]]
    assert "composed by the headings backend" in text  # the numbers the old summary left unexplained
