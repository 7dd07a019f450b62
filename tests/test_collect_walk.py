"""The fact walk (no node rebuilding, no whitespace nodes) builds exactly the facts LibCST's full visit builds."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper

from archlint.collect import _collect
from archlint.collect.visitor import FactCollector

FIXTURES = Path(__file__).parent / "fixtures"
SRC = Path(__file__).parent.parent / "src"


def _with_full_visit(source: str):
    """The reference: LibCST's own visitor over every node, comments included."""
    facts = _collect(source, "")
    collector = FactCollector(source)
    MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True).visit(collector)
    return facts, collector


def test_the_walk_matches_libcsts_visit_on_every_fixture_and_source_file():
    files = sorted(FIXTURES.rglob("*.py")) + sorted(SRC.rglob("*.py"))
    assert len(files) > 100
    for path in files:
        source = path.read_text(encoding="utf-8")
        facts, reference = _with_full_visit(source)
        if facts.parse_error is not None:
            continue
        assert facts.module_scope == reference.module_scope, path
        assert facts.functions == reference.functions, path
        assert facts.classes == reference.classes, path
        assert facts.suppressions == reference.suppressions, path
