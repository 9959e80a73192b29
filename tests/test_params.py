"""``--param NAME=VALUE``: JSON or Python spellings; ``fahras backends`` shows defaults and descriptions."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from fahras.cli import _parse_params, cli
from fahras.models import backend_class, backend_names, create_backend


@pytest.mark.parametrize("text, value", [
    ("false", False), ("False", False), ("true", True), ("True", True), ("null", None), ("None", None),
    ("3", 3), ("2.5", 2.5), ("[1, 2]", [1, 2]), ("(1, 2)", (1, 2)), ("('17', '08.03.02')", ("17", "08.03.02")),
    ('{"bias": -12}', {"bias": -12}), ("{'bias': -12}", {"bias": -12}), ("domain", "domain"),
    ("a=b", "a=b"), ("", ""),
])
def test_values_in_json_or_python_spelling(text, value):
    assert _parse_params((f"name={text}",)) == {"name": value}


def test_a_pair_without_a_name_is_refused():
    for item in ("=3", "novalue"):
        with pytest.raises(click.BadParameter):
            _parse_params((item,))


def test_python_spellings_make_valid_backend_parameters():
    params = _parse_params(("exclusive_groups=('17',)", "learn=False", "weights=None", "semantic=False"))
    backend = create_backend("zeroshot", params)
    assert backend.learn is False and backend.weights is None and list(backend.exclusive_groups) == ["17"]


def test_backends_shows_every_default_as_json_with_its_description():
    result = CliRunner().invoke(cli, ["backends"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    heads = [n for n, line in enumerate(lines) if not line.startswith(" ")]
    assert [lines[n].split(":")[0] for n in heads] == backend_names()
    for start, end, name in zip(heads, heads[1:] + [len(lines)], backend_names()):
        section = lines[start + 1:end]
        expected = []
        for pname, spec in backend_class(name).params.items():
            expected.append(f"    --param {pname}={json.dumps(spec.default, ensure_ascii=False)}")
            expected.append(f"        {spec.description} [{spec.allowed()}]")
        assert section == expected
    assert "    --param learn=true" in lines and "    --param weights=null" in lines
