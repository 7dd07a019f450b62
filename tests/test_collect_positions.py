"""Facts built by archlint's walk (LibCST's code generation, computing positions as it goes) equal those
of the same collector visited the LibCST way, with positions from MetadataWrapper's PositionProvider."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from archlint.collect import _collect
from archlint.collect.visitor import FactCollector, positions

FIXTURES = Path(__file__).parent / "fixtures"
SRC = Path(__file__).parent.parent / "src"


class _WrapperCollector(FactCollector):
    """The reference: positions resolved by MetadataWrapper, read through get_metadata."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, source: str) -> None:
        super().__init__(source, {})
        self._position = lambda node: _range(self.get_metadata(PositionProvider, node))


def _range(code: CodeRange) -> tuple[int, int, int, int]:
    return (code.start.line, code.start.column, code.end.line, code.end.column)


def test_positions_are_position_providers():
    source = (SRC / "archlint" / "engine.py").read_text(encoding="utf-8")
    tree = cst.parse_module(source)
    reference = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    assert positions(tree) == {id(node): _range(code) for node, code in reference.items()}


def _sample() -> list[Path]:
    """Every fixture with a suppression comment (what an earlier faster walk got wrong), and every
    fifth other fixture and source file (the whole set was compared once, by hand: identical)."""
    out = []
    for number, path in enumerate(sorted(FIXTURES.rglob("*.py")) + sorted(SRC.rglob("*.py"))):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "noqa" in text or "archlint:" in text or number % 5 == 0:
            out.append(path)
    return out


SAMPLE = _sample()


def test_the_sample_is_most_of_the_tree():
    parsed = 0
    for path in SAMPLE:
        try:
            ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        parsed += 1
    assert len(SAMPLE) > 150 and parsed > 150


@pytest.mark.parametrize("path", SAMPLE, ids=[str(p.relative_to(SRC.parent)) for p in SAMPLE])
def test_facts_match_the_wrapper_visit_on_fixture_and_source_files(path):
    """One file a test, so that pytest-xdist spreads the sample over the cores."""
    source = path.read_text(encoding="utf-8", errors="replace")
    facts = _collect(source, "")
    if facts.parse_error is not None:
        return  # nothing to compare: no tree
    reference = _WrapperCollector(source)
    MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True).visit(reference)
    for field in ("module_scope", "functions", "classes", "suppressions", "branches", "suppression_comments"):
        assert getattr(facts, field) == getattr(reference, field), field
