"""Imports run one way: no module of ``src/fahras`` imports from a layer above its own.

The layers, lowest first (docs/design.md, "Layers"), with the modules and
packages of each.  A module may import from its own layer and the layers
below.  Every import counts, also one inside a function (a lazy import is
a dependency all the same).  A new top-level module or package must be
given its layer here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fahras"

#: Layer of each top-level module or package of ``fahras``, lowest first.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "_version", "_system", "textfile", "workers"),   # no Fahras imports but these
    ("vocab", "corpus", "store", "subjects", "feedback"),        # data in and out
    ("text",),                                                   # extraction, language, analysis
    ("connectors",),                                             # fetching thesauri and corpora
    ("models",),                                                 # backends
    ("decision", "evaluate", "formats", "explain"),              # choosing, measuring, writing out
    ("indexer", "learning"),                                     # the library's front door
    ("batch", "cluster"),                                        # folders of documents, here or on a cluster
    ("cli", "service", "__main__", "__init__"),                  # the user's entry points (and the package)
    ("web",),                                                    # the page, a plug-in of the service
]
LEVEL = {name: n for n, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str:
    """The top-level unit (``models`` for ``fahras.models.base``) of a dotted module name below fahras."""
    parts = module.split(".")
    assert parts[0] == "fahras"
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path, root: Path = SRC.parent) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1] if len(parts) > 2 else parts
    return ".".join(parts)


def _imports(path: Path, root: Path = SRC.parent) -> list[tuple[int, str]]:
    """(line, imported fahras module) for every import in ``path`` (below ``root``), wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "fahras"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "fahras":
                continue
            if module == "fahras":  # from fahras import x: x may be a submodule or a name of the package
                for alias in node.names:
                    sub = f"fahras.{alias.name}"
                    found.append((node.lineno, sub if _unit(sub) in LEVEL else "fahras"))
            else:
                found.append((node.lineno, module))
    return found


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_unit_has_a_layer():
    units = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in _sources()}
    missing = sorted(units - set(LEVEL) - {"py.typed"})
    assert not missing, f"give these modules a layer in tests/test_layers.py and docs/design.md: {missing}"


def _violations(path: Path, root: Path = SRC.parent) -> list[str]:
    own = _unit(_module_name(path, root))
    wrong = []
    for line, module in _imports(path, root):
        other = _unit(module)
        if other not in LEVEL:
            wrong.append(f"line {line}: {module} has no layer")
        elif LEVEL[other] > LEVEL[own]:
            wrong.append(f"line {line}: imports {module} ({other}, layer {LEVEL[other]}) from {own}, "
                         f"layer {LEVEL[own]}")
    return wrong


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_from_a_layer_above(path):
    wrong = _violations(path)
    assert not wrong, f"{path.relative_to(SRC)}:\n" + "\n".join(wrong)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    sample = tmp_path / "fahras" / "text" / "probe.py"
    sample.parent.mkdir(parents=True)
    sample.write_text("import fahras.errors\n\n\ndef f():\n    from fahras.indexer import Indexer\n"
                      "    from ..models import base\n    from . import analyzer\n", encoding="utf-8")
    assert [m for _, m in _imports(sample, tmp_path)] == [
        "fahras.errors", "fahras.indexer", "fahras.models", "fahras.text"]
    wrong = _violations(sample, tmp_path)
    assert len(wrong) == 2 and "fahras.indexer" in wrong[0] and "fahras.models" in wrong[1]


def _models_imports(name: str) -> set[str]:
    return {m for _, m in _imports(SRC / "models" / f"{name}.py")
            if m == "fahras.models" or m.startswith("fahras.models.")}


def test_the_models_base_does_not_import_the_registry():
    """The registry lives in fahras.models (the package); the base class must not import it back.

    It may use leaf helpers of the package (modules that import nothing from fahras.models), such as
    the memory budget, since those cannot lead back to the registry or to a backend."""
    modules = _models_imports("base") - {"fahras.models.base"}
    assert "fahras.models" not in modules
    for module in modules:
        leaf = module.rsplit(".", 1)[1]
        assert not _models_imports(leaf), f"models/base.py imports {module}, which imports from fahras.models"
