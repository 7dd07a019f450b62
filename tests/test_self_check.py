"""archlint checks itself: its own layers are a custom S17 contract in its pyproject.toml.

`.ci/run` runs `archlint check src/` on the repository; these tests pin that
the source passes and that a layering violation planted in a copy fails.
archlint's own source is parsed once a session: the first test fills the
session's facts cache (conftest.py), the others and the planted copy (same
contents but three files) read it; one pytest-xdist worker runs this module's
tests in order (conftest.py, TOGETHER), so no two workers parse it side by side.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from archlint.checks.s17_layers import LayerImportViolation, _Layers
from archlint.config import load_config, rule_settings
from archlint.engine import Overrides, build_project, run

REPO = Path(__file__).resolve().parents[1]


def test_archlint_source_keeps_its_layer_contract():
    result = run([REPO / "src"])
    assert [f"{f.path}:{f.span.line}: {f.rule_id} {f.message}" for f in result.report.findings] == []
    assert "AL601" in {r.id for r in result.report.rules}, "the self-check runs the layer rules"
    assert result.report.files_checked > 20


def test_the_contract_places_archlint_modules_in_their_layers():
    config = load_config(REPO / "pyproject.toml", REPO)
    _enabled, _severity, options = rule_settings(config, LayerImportViolation)
    project, _rules, _files = build_project(config, REPO, Overrides(select=["S17"]))
    layers = _Layers(project.index, options)
    placed = {f.module: layers.layer_of(f) for f in project.index.files.values()}
    assert placed["archlint.cli"] == "cli"
    assert placed["archlint.engine"] == "engine"
    assert placed["archlint.checks.al0_engine"] == "checks"  # the AL0xx rules, not the engine
    assert placed["archlint.report.sarif"] == "report"
    assert placed["archlint.collect.visitor"] == "collect"
    assert placed["archlint.model"] == "model"
    assert placed["archlint"] is None  # the package's __init__ (the version) is shared


@pytest.fixture
def copy(tmp_path):
    dest = tmp_path / "archlint-copy"
    shutil.copytree(REPO / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def plant(path: Path, line: str) -> int:
    """Insert an import after the module's ``from __future__`` line; return its line number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, text in enumerate(lines) if text.startswith("from __future__")) + 1
    lines.insert(at, line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return at + 1


def test_a_layering_violation_planted_in_a_copy_fails_the_check(copy):
    package = copy / "src" / "archlint"
    up = plant(package / "model.py", "from archlint.cli import main")
    sideways = plant(package / "report" / "text.py", "from archlint.engine import run")
    config_read = plant(package / "checks" / "s01_versioned_routes.py", "from archlint.config import load_config")
    result = run([copy / "src"])
    got = sorted((f.path, f.span.line, f.rule_id) for f in result.report.findings)
    assert got == [
        ("src/archlint/checks/s01_versioned_routes.py", config_read, "AL601"),
        ("src/archlint/model.py", up, "AL601"),
        ("src/archlint/report/text.py", sideways, "AL601"),
    ]
    messages = {f.path: f.message for f in result.report.findings}
    assert "the cli layer sits above the model layer" in messages["src/archlint/model.py"]
    assert "independent" in messages["src/archlint/report/text.py"]
    assert "forbids the checks layer to import the config layer" in messages["src/archlint/checks/s01_versioned_routes.py"]
    assert max(f.severity for f in result.report.findings) >= result.fail_on


def test_no_module_is_named_like_a_standard_library_module():
    # Issue 15: `archlint/report/statistics.py` read like the standard library's `statistics`.
    source = Path(__file__).resolve().parent.parent / "src" / "archlint"
    stdlib = set(sys.stdlib_module_names)
    clashes = sorted(str(p.relative_to(source)) for p in source.rglob("*.py") if p.stem in stdlib)
    assert clashes == []
