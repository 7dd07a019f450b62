"""Facts built by archlint's walk (LibCST's code generation, computing positions as it goes) equal those
of the same collector visited the LibCST way, with positions from MetadataWrapper's PositionProvider.

What is compared (issue 15: the reference visit costs about twice the walk, and archlint's own source
files, 85% of the bytes once compared, were most of this module's 20 seconds): every
node type of LibCST, in one zoo file written for it (``tests/fixtures/collect/every_node.py``; a test below
holds it to every type LibCST has, so a LibCST release that adds one fails until the zoo holds it),
read with each of Python's three newlines; every fixture with a suppression comment (what an earlier
faster walk got wrong); every fifth other fixture file; and, for the positions alone, all of
``engine.py``. The walk's hooks are per node type, so every hook that can fire fires in the set.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from archlint.collect.visitor import FactCollector, collect_tree, positions

FIXTURES = Path(__file__).parent / "fixtures"
SRC = Path(__file__).parent.parent / "src"
ZOO = FIXTURES / "collect" / "every_node.py"


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


def _node_types() -> set[str]:
    """Every concrete node class of the installed LibCST."""
    found, todo = set(), [cst.CSTNode]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("libcst.") and not cls.__name__.startswith("Base") and not inspect.isabstract(cls):
            found.add(cls.__name__)
    return found


def _types_in(tree: cst.CSTNode) -> set[str]:
    seen, todo = set(), [tree]
    while todo:
        node = todo.pop()
        seen.add(type(node).__name__)
        todo.extend(node.children)
    return seen


def test_the_zoo_holds_every_node_type_of_libcst():
    missing = _node_types() - _types_in(cst.parse_module(ZOO.read_text(encoding="utf-8")))
    assert not missing, f"add to {ZOO.name} code that LibCST parses into: {', '.join(sorted(missing))}"


def _sample() -> list[Path]:
    """Every fixture with a suppression comment and every fifth other fixture file."""
    out = []
    for number, path in enumerate(p for p in sorted(FIXTURES.rglob("*.py")) if p != ZOO):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "noqa" in text or "archlint:" in text or number % 5 == 0:
            out.append(path)
    return out


SAMPLE = _sample()


def test_the_sample_spans_the_fixtures():
    assert len(SAMPLE) > 150
    assert sum("noqa" in p.read_text(encoding="utf-8", errors="replace") for p in SAMPLE) >= 4


def _compare(source: str) -> FactCollector | None:
    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None  # nothing to compare: no tree (a fixture broken on purpose)
    walked = collect_tree(source, tree)  # the walk leaves the tree as it was: the reference visits the same nodes
    reference = _WrapperCollector(source)
    MetadataWrapper(tree, unsafe_skip_copy=True).visit(reference)
    for field in ("module_scope", "functions", "classes", "suppressions", "branches", "suppression_comments"):
        assert getattr(walked, field) == getattr(reference, field), field
    return walked


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_facts_match_the_wrapper_visit_on_every_node_type(newline):
    walked = _compare(ZOO.read_text(encoding="utf-8").replace("\n", newline))
    assert walked is not None and walked.functions and walked.classes and walked.suppression_comments


@pytest.mark.parametrize("path", SAMPLE, ids=[str(p.relative_to(SRC.parent)) for p in SAMPLE])
def test_facts_match_the_wrapper_visit_on_fixture_files(path):
    """One file a test, so that pytest-xdist spreads the sample over the cores."""
    _compare(path.read_text(encoding="utf-8", errors="replace"))
