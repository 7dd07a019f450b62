"""What a rule's fix works with: one file's LibCST tree, the finding's node, and text edits.

Facts carry no CST, so fixes re-parse the files they touch (and only those).
A rule that can fix its findings declares ``FIXES`` (before/after examples that
are tests) and implements ``fix(finding, source) -> str | None``, returning the
whole new text of the file (usually ``source.replace(node, new_node)``, plus
imports through ``source.add_import``). ``edits(old, new)`` turns that into
minimal text edits, so several fixes of one file combine in one pass and SARIF
can carry them as ``artifactChanges``.
"""

from __future__ import annotations

import difflib
from typing import TypeVar

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from archlint.model import Edit, Span

NodeT = TypeVar("NodeT", bound=cst.CSTNode)


class FixSource:
    """One parsed file for fixes: the tree, positions of its nodes, helpers to rewrite it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.wrapper = MetadataWrapper(cst.parse_module(text))
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self._lines = text.splitlines()
        self._parents: dict[int, cst.CSTNode] | None = None

    def nodes_at(self, span: Span, kind: type | tuple[type, ...] = cst.CSTNode) -> list[cst.CSTNode]:
        """Nodes of ``kind`` that start where the span starts: the one ending where it ends first, then larger first."""
        line, column = span.line, utf16_to_index(self._lines, span.line, span.column)
        end = (span.end_line, utf16_to_index(self._lines, span.end_line, span.end_column))
        found = [
            (node, pos) for node, pos in self.positions.items()
            if isinstance(node, kind) and pos.start.line == line and pos.start.column == column
        ]
        found.sort(key=lambda item: ((item[1].end.line, item[1].end.column) != end,
                                     -item[1].end.line, -item[1].end.column))
        return [node for node, _ in found]

    def node_at(self, span: Span, kind: type[NodeT]) -> NodeT | None:
        """The node of ``kind`` the span covers (exactly, else the largest starting there); None: none."""
        nodes = self.nodes_at(span, kind)
        return nodes[0] if nodes and isinstance(nodes[0], kind) else None

    def enclosing(self, node: cst.CSTNode, kind: type | tuple[type, ...]) -> cst.CSTNode | None:
        """The innermost ancestor of ``node`` of ``kind`` (None: none)."""
        if self._parents is None:
            self._parents = {}
            parents = self._parents

            class _Parents(cst.CSTVisitor):
                def on_visit(self, parent: cst.CSTNode) -> bool:
                    for child in parent.children:
                        parents[id(child)] = parent
                    return True

            self.module.visit(_Parents())
        current = self._parents.get(id(node))
        while current is not None and not isinstance(current, kind):
            current = self._parents.get(id(current))
        return current

    def replace(self, old: cst.CSTNode, new: cst.CSTNode | cst.RemovalSentinel) -> cst.Module:
        return self.module.deep_replace(old, new)  # type: ignore[arg-type]

    def imported_names(self, module: str) -> dict[str, str]:
        """Names bound by ``from module import x [as y]`` at module level: local name -> imported name."""
        names: dict[str, str] = {}
        for statement in self.module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
                    if _dotted(small.module) == module and not isinstance(small.names, cst.ImportStar):
                        for alias in small.names:
                            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else _dotted(alias.name)
                            names[local] = _dotted(alias.name)
        return names


def add_import(tree: cst.Module, module: str, name: str) -> cst.Module:
    """``from module import name`` added (or merged into an existing import) unless already there."""
    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, module, name)
    return AddImportsVisitor(context).transform_module(tree)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def utf16_to_index(lines: list[str], line: int, column: int) -> int:
    """Character offset on a 1-based line of a 1-based UTF-16 column."""
    if not 0 < line <= len(lines):
        return max(column - 1, 0)
    units = column - 1
    for index, char in enumerate(lines[line - 1]):
        if units <= 0:
            return index
        units -= 2 if ord(char) > 0xFFFF else 1
    return len(lines[line - 1])


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def edits(old: str, new: str) -> tuple[Edit, ...]:
    """Minimal edits turning ``old`` into ``new``: changed line blocks, trimmed to the characters that differ."""
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    out: list[Edit] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed, added = "".join(a[i1:i2]), "".join(b[j1:j2])
        prefix = 0
        limit = min(len(removed), len(added))
        while prefix < limit and removed[prefix] == added[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and removed[-1 - suffix] == added[-1 - suffix]:
            suffix += 1
        start_line, start_col = _advance(i1 + 1, 1, removed[:prefix])
        end_line, end_col = _advance(i1 + 1, 1, removed[: len(removed) - suffix])
        out.append(Edit(Span(start_line, start_col, end_line, end_col), added[prefix : len(added) - suffix]))
    return tuple(out)


def _advance(line: int, column: int, text: str) -> tuple[int, int]:
    """The (line, UTF-16 column) after ``text`` starting at (line, column)."""
    parts = text.split("\n")
    if len(parts) == 1:
        return line, column + _utf16(text)
    return line + len(parts) - 1, 1 + _utf16(parts[-1])


def apply_edits(text: str, changes: list[Edit]) -> str:
    """``text`` with non-overlapping edits applied (callers check overlaps with ``overlaps``)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    bare = [line_text.rstrip("\r\n") for line_text in lines]

    def offset(line: int, column: int) -> int:
        if line > len(lines):
            return len(text)
        return starts[line - 1] + utf16_to_index(bare, line, column)

    out = text
    for edit in sorted(changes, key=lambda e: (e.span.line, e.span.column, e.span.end_line, e.span.end_column),
                       reverse=True):
        begin = offset(edit.span.line, edit.span.column)
        end = offset(edit.span.end_line, edit.span.end_column)
        out = out[:begin] + edit.content + out[end:]
    return out


def overlaps(a: Edit, b: Edit) -> bool:
    """Whether two edits touch the same text (two insertions at one point do; identical edits do not)."""
    if a == b:
        return False
    a0, a1 = (a.span.line, a.span.column), (a.span.end_line, a.span.end_column)
    b0, b1 = (b.span.line, b.span.column), (b.span.end_line, b.span.end_column)
    if a0 == a1 and b0 == b1:
        return a0 == b0
    return a0 < b1 and b0 < a1 or (a0 == a1 and b0 <= a0 < b1) or (b0 == b1 and a0 <= b0 < a1)
