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
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import TypeVar

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from archlint.model import Edit, Span, utf16_to_index

N = TypeVar("N", bound=cst.CSTNode)


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A fix whose safety (or message) is its own rather than the rule's: Ruff's per-fix applicability.

    A rule's ``fix`` returns the new tree (the rule's ``fix_applicability``) or a
    ``Rewrite`` when this one fix is safer or riskier than the rule's others.
    """

    tree: cst.Module
    applicability: str  # "safe" or "unsafe"
    message: str = ""


class FixSource:
    """One parsed file for fixes: the tree, positions of its nodes, helpers to rewrite it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.wrapper = MetadataWrapper(cst.parse_module(text))
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self._lines = text.splitlines()
        self._parents: dict[int, cst.CSTNode] | None = None
        #: Work a fix shares between the findings of this file (keyed by the fix's own name first).
        self.memo: dict[tuple[object, ...], object] = {}
        #: (line, column) -> the nodes starting there with their positions, in ``positions`` order.
        self._starts: dict[tuple[int, int], list[tuple[cst.CSTNode, CodeRange]]] | None = None

    def nodes_at(self, span: Span, kind: type[N] | tuple[type[N], ...]) -> list[N]:
        """Nodes of ``kind`` that start where the span starts: the one ending where it ends first, then larger first."""
        line, column = span.line, utf16_to_index(self._lines, span.line, span.column)
        end = (span.end_line, utf16_to_index(self._lines, span.end_line, span.end_column))
        if self._starts is None:
            self._starts = defaultdict(list)
            for node, pos in self.positions.items():
                self._starts[(pos.start.line, pos.start.column)].append((node, pos))
        found = [(node, pos) for node, pos in self._starts.get((line, column), ()) if isinstance(node, kind)]
        found.sort(key=lambda item: ((item[1].end.line, item[1].end.column) != end, -item[1].end.line, -item[1].end.column))
        return [node for node, _ in found]

    def node_at(self, span: Span, kind: type[N] | tuple[type[N], ...]) -> N | None:
        """The node of ``kind`` the span covers (exactly, else the largest starting there); None: none."""
        nodes = self.nodes_at(span, kind)
        return nodes[0] if nodes else None

    def assigned_value(self, span: Span) -> cst.BaseExpression | None:
        """The value assigned by the assignment statement at ``span`` (``x = v``, ``x: T = v``)."""
        annotated = self.node_at(span, cst.AnnAssign)
        if annotated is not None:
            return annotated.value
        plain = self.node_at(span, cst.Assign)
        return plain.value if plain is not None else None

    def enclosing(self, node: cst.CSTNode, kind: type[N] | tuple[type[N], ...]) -> N | None:
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
                            asname = alias.asname.name if alias.asname else None
                            local = asname.value if isinstance(asname, cst.Name) else _dotted(alias.name)
                            names[local] = _dotted(alias.name)
        return names


def keyword_arg(call: cst.Call, keyword: str) -> cst.Arg | None:
    """The argument ``keyword=...`` of ``call`` (None: not given)."""
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)


def with_argument(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call | None:
    """``call`` with ``keyword=value``: the existing argument's value replaced, else one appended in its layout.

    A call with one argument a line (a trailing comma) gets the new one on a
    line of its own. None when ``**kwargs`` may already hold the keyword.
    """
    existing = keyword_arg(call, keyword)
    if existing is not None:
        return call.deep_replace(existing, existing.with_changes(value=value))  # type: ignore[return-value]
    if any(arg.star == "**" for arg in call.args):
        return None
    new_arg = cst.Arg(
        value=value,
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    args = list(call.args)
    if args:
        last = args[-1]
        if last.comma is cst.MaybeSentinel.DEFAULT:
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(new_arg)
        elif isinstance(last.comma, cst.Comma) and isinstance(last.comma.whitespace_after, cst.ParenthesizedWhitespace):
            # One argument a line: the last one keeps its comma and comment, the new one goes on its own line.
            closing = last.comma.whitespace_after
            before = (
                args[-2].comma.whitespace_after
                if len(args) > 1 and isinstance(args[-2].comma, cst.Comma)
                else call.whitespace_before_args
            )
            indent = before.last_line if isinstance(before, cst.ParenthesizedWhitespace) else closing.last_line
            args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=closing.with_changes(last_line=indent)))
            args.append(
                new_arg.with_changes(
                    comma=cst.Comma(
                        whitespace_after=cst.ParenthesizedWhitespace(indent=closing.indent, last_line=closing.last_line)
                    )
                )
            )
        else:  # `f(a, b,)` on one line: the trailing comma moves to the new last argument
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(new_arg.with_changes(comma=last.comma))
    else:
        args.append(new_arg)
    return call.with_changes(args=args)


def mentioned_names(tree: cst.CSTNode) -> set[str]:
    """Every name the tree mentions: a conservative stand-in for the names a module binds
    (an import, a definition, an assignment), for a fix choosing a name that clashes with none."""
    found: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    tree.visit(_Collect())
    return found


def _isort_key(name: str) -> tuple[int, str]:
    """isort's (and Ruff's) `order-by-type`: CONSTANTS, then Classes, then the rest."""
    return (0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2, name)


def add_import(tree: cst.Module, module: str, name: str) -> cst.Module:
    """``from module import name`` added unless already there.

    Merged into the module's existing ``from module import ...`` at its sorted
    place (appended when that list is not sorted); else a new import statement.
    """
    for statement in tree.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and not small.relative
                and _dotted(small.module) == module
                and not isinstance(small.names, cst.ImportStar)
            ):
                continue
            aliases = list(small.names)
            if any(a.asname is None and _dotted(a.name) == name for a in aliases):
                return tree
            keys = [_isort_key(_dotted(a.name)) for a in aliases]
            position = len(aliases)
            if keys == sorted(keys):
                position = next((i for i, k in enumerate(keys) if k > _isort_key(name)), len(aliases))
            space = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            new = cst.ImportAlias(name=cst.Name(name))
            if position < len(aliases):
                comma = (
                    aliases[position].comma
                    if isinstance(aliases[position].comma, cst.Comma) and (position + 1 < len(aliases))
                    else space
                )
                aliases.insert(position, new.with_changes(comma=comma))
            else:
                last = aliases[-1]
                between = aliases[-2].comma if len(aliases) > 1 else space
                aliases[-1] = last.with_changes(comma=between)
                aliases.append(new.with_changes(comma=last.comma))
            return tree.deep_replace(small, small.with_changes(names=aliases))  # type: ignore[arg-type, return-value]
    if module.split(".")[0] in sys.stdlib_module_names:
        placed = _add_stdlib_import(tree, module, name)
        if placed is not None:
            return placed
    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, module, name)
    return AddImportsVisitor(context).transform_module(tree)


def _add_stdlib_import(tree: cst.Module, module: str, name: str) -> cst.Module | None:
    """A new standard-library import where isort puts it: after the leading block's last standard-library import,
    else first in that block with a blank line before the third-party ones (None: the module has no imports)."""
    body = list(tree.body)
    imports: list[tuple[int, bool]] = []  # (position, standard library?) of the leading import block
    for position, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
        ):
            imports.append((position, _stdlib_statement(statement)))
        elif imports or not _docstring_or_future(statement):
            break
    imports = [(p, std) for p, std in imports if not _future(body[p])]
    if not imports:
        return None
    new = cst.SimpleStatementLine([cst.ImportFrom(module=cst.parse_expression(module), names=[cst.ImportAlias(cst.Name(name))])])  # type: ignore[arg-type]
    standard = [p for p, std in imports if std]
    if standard:
        body.insert(standard[-1] + 1, new)
    else:
        first = imports[0][0]
        original = body[first]
        assert isinstance(original, cst.SimpleStatementLine)
        body[first : first + 1] = [
            new.with_changes(leading_lines=original.leading_lines),
            original.with_changes(leading_lines=[cst.EmptyLine()]),
        ]
    return tree.with_changes(body=body)


def _stdlib_statement(statement: cst.SimpleStatementLine) -> bool:
    for small in statement.body:
        if isinstance(small, cst.ImportFrom):
            if small.relative or small.module is None:
                return False
            root = _dotted(small.module).split(".")[0]
        elif isinstance(small, cst.Import):
            root = _dotted(small.names[0].name).split(".")[0]
        else:
            return False
        if root not in sys.stdlib_module_names:
            return False
    return True


def _future(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom) and s.module is not None and _dotted(s.module) == "__future__" for s in statement.body
    )


def _docstring_or_future(statement: cst.BaseStatement) -> bool:
    if _future(statement):
        return True
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


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
    for edit in sorted(changes, key=lambda e: (e.span.line, e.span.column, e.span.end_line, e.span.end_column), reverse=True):
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
