"""The one LibCST traversal: a single pass builds a file's facts.

Expressions are converted bottom-up in ``on_leave`` (each node once, from its
children's already-built ``Expr``), and statements are recorded into the scope
that encloses them.

The pass is LibCST's own code generation (:class:`_Walk`), which visits every
node in source order and knows each node's position as it goes: it computes
``PositionProvider``'s ranges and calls the collector's hooks in the order a
``CSTVisitor`` would, in one pass instead of a position pass (a whole code
generation) plus a visit (which rebuilds every node). The collector is also a
``CSTVisitor``: ``tests/test_collect_positions.py`` visits it the LibCST way,
with ``MetadataWrapper``'s positions, and requires the same facts.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState

from archlint.collect.facts import (
    Assign,
    Attr,
    AttrRead,
    Await,
    BinOp,
    Branch,
    Call,
    CallSite,
    ClassFact,
    DictExpr,
    Expr,
    FString,
    FunctionFact,
    ImportFact,
    Lit,
    Loop,
    Name,
    Other,
    Param,
    Scope,
    Seq,
    Starred,
    Subscript,
    Suppression,
    UnaryOp,
    WithItem,
)
from archlint.model import Span

_ARCHLINT_IGNORE = re.compile(r"#\s*archlint:\s*ignore(?:\[(?P<codes>[A-Za-z0-9_,\s]*)\])?", re.I)
#: The directive with its reason (``-- why``, up to the next ``#`` directive or the end of the comment).
_ARCHLINT_DIRECTIVE = re.compile(
    r"#\s*archlint:\s*ignore(?:\[(?P<codes>[A-Za-z0-9_,\s]*)\])?(?:\s*--\s*(?P<reason>[^#]*))?", re.I
)
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_]+(?:[,\s]+[A-Za-z0-9_]+)*))?", re.I)

_COMPREHENSIONS: frozenset[type[cst.CSTNode]] = frozenset({cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp})
#: The nodes a loop is recorded for (its span is the node's, set when the node is left).
_LOOP_NODES: frozenset[type[cst.CSTNode]] = _COMPREHENSIONS | {cst.For, cst.While}
#: Nodes that open a scope of their own: an assignment's guards are looked for up to the nearest.
_SCOPE_NODES = (cst.FunctionDef, cst.ClassDef, cst.Module, cst.Lambda)
#: Blocks that may not run (or run more than once): an assignment inside one hides no earlier binding.
_GUARDS = (cst.If, cst.Try, cst.TryStar, cst.For, cst.While, cst.Match)


def _codes(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    codes = frozenset(c.strip().upper() for c in re.split(r"[,\s]+", text) if c.strip())
    return codes or None


def _ordered_codes(text: str | None) -> tuple[str, ...] | None:
    """The codes of a directive as written (upper-cased, duplicates dropped); None: no codes."""
    if text is None:
        return None
    codes = tuple(dict.fromkeys(c.strip().upper() for c in re.split(r"[,\s]+", text) if c.strip()))
    return codes or None


def _target_names(node: cst.BaseExpression | None) -> frozenset[str]:
    if isinstance(node, cst.Name):
        return frozenset({node.value})
    if isinstance(node, (cst.Tuple, cst.List)):
        names: set[str] = set()
        for element in node.elements:
            names |= _target_names(element.value)
        return frozenset(names)
    return frozenset()


def _asname(alias: cst.ImportAlias) -> str | None:
    """The name an import binds with ``as`` (always a plain name in an import)."""
    if alias.asname is None or not isinstance(alias.asname.name, cst.Name):
        return None
    return alias.asname.name.value


def _dotted_module(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted_module(node.value)}.{node.attr.value}"
    return ""


#: A node's range as ``PositionProvider`` gives it: (start line, start column, end line, end column),
#: lines from 1, columns from 0 in code points.
Range = tuple[int, int, int, int]


class FactCollector(cst.CSTVisitor):
    """Driven over the parsed module by :func:`collect_tree`; ``positions`` are ``PositionProvider``'s
    ranges of its nodes, read only once a node has been left (the walk computes them as it goes).

    A hook therefore asks for the range of a node it has left, never of the node being visited:
    what needs the enclosing node's range (a loop's span) is filled in when that node is left."""

    def __init__(self, source: str, positions: Mapping[int, Range]) -> None:
        super().__init__()
        self._position: Callable[[cst.CSTNode], Range] = lambda node: positions[id(node)]
        self._lines = source.splitlines() if not source.isascii() else None
        self._source = source
        self._source_lines: list[str] | None = None
        self.exprs: dict[int, Expr] = {}
        self._stack: list[cst.CSTNode] = []
        self._scopes: list[Scope] = []
        self._callsites: dict[int, CallSite] = {}
        self._loops: list[tuple[Loop, frozenset[str]]] = []
        self._loop_counter = 0
        self._type_checking = 0
        self.module_scope: Scope | None = None
        self.functions: dict[str, FunctionFact] = {}
        #: Qualnames given to function definitions (by node id): a redefinition gets its own.
        self._qualnames: dict[int, str] = {}
        self.classes: dict[str, ClassFact] = {}
        self.suppressions: dict[int, frozenset[str] | None] = {}
        self.branches: list[Branch] = []
        self.suppression_comments: list[Suppression] = []
        #: Loops whose node is still being walked (by node id): their span is set when it is left.
        self._open_loops: dict[int, Loop] = {}

    # ------------------------------------------------------------------ spans
    def span(self, node: cst.CSTNode) -> Span:
        line, column, end_line, end_column = self._position(node)
        return Span(line, self._col(line, column), end_line, self._col(end_line, end_column))

    def _col(self, line: int, column: int) -> int:
        if self._lines is None or line > len(self._lines):
            return column + 1
        prefix = self._lines[line - 1][:column]
        if prefix.isascii():
            return column + 1
        return len(prefix.encode("utf-16-le")) // 2 + 1

    def expr(self, node: cst.CSTNode | None) -> Expr | None:
        if node is None:
            return None
        return self.exprs.get(id(node))

    @property
    def scope(self) -> Scope:
        return self._scopes[-1]

    def _child_qualname(self, name: str) -> str:
        scope = self.scope
        if scope.kind == "module":
            return name
        if scope.kind == "class":
            return f"{scope.qualname}.{name}"
        return f"{scope.qualname}.<locals>.{name}"

    # -------------------------------------------------------- generic hooks
    # LibCST's default hooks look up ``visit_<Type>`` by name for every node and
    # every attribute; dispatching through per-type tables built once is
    # markedly faster, and nothing here uses attribute-specific visitors.
    def on_visit(self, node: cst.CSTNode) -> bool:
        self._stack.append(node)
        handler = _VISIT.get(type(node))
        if handler is not None:
            handler(self, node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        steps = _LEAVE.get(type(original_node))
        if steps is not None:
            for step in steps:
                step(self, original_node)
        self._stack.pop()

    def _enter_comprehension(self, node: cst.BaseComp) -> None:
        self._push_loop("comprehension", node.for_in.target, None, node.for_in.asynchronous is not None, node)

    def _leave_comprehension(self, node: cst.BaseComp) -> None:
        loop, _ = self._loops.pop()
        loop.target = self.expr(node.for_in.target)
        loop.iter = self.expr(node.for_in.iter)

    def _close_loop(self, node: cst.CSTNode) -> None:
        opened = self._open_loops.pop(id(node), None)
        if opened is not None:
            opened.span = self.span(node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if attribute == "body":
            if isinstance(node, cst.FunctionDef):
                self._enter_function(node)
            elif isinstance(node, cst.ClassDef):
                self._enter_class(node)
            elif isinstance(node, cst.For):
                self._push_loop("for", node.target, node.iter, node.asynchronous is not None, node)
            elif isinstance(node, cst.While):
                self._push_loop("while", None, node.test, False, node)
            elif isinstance(node, cst.If) and self._is_type_checking(node.test):
                self._type_checking += 1

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        if attribute == "body":
            if isinstance(original_node, (cst.FunctionDef, cst.ClassDef)):
                self._scopes.pop()
            elif isinstance(original_node, (cst.For, cst.While)):
                self._loops.pop()
            elif isinstance(original_node, cst.If) and self._is_type_checking(original_node.test):
                self._type_checking -= 1

    # ---------------------------------------------------------------- module
    def visit_Module(self, node: cst.Module) -> None:
        self.module_scope = Scope(qualname="", kind="module", span=Span(1, 1, 1, 1), docstring=node.get_docstring())
        self._scopes.append(self.module_scope)

    def leave_Comment(self, node: cst.Comment) -> None:
        line, start, _end_line, end = self._position(node)
        column = self._col(line, start)
        end_column = self._col(line, end)
        before = ""
        if _ARCHLINT_DIRECTIVE.search(node.value) or _NOQA.search(node.value):
            if self._source_lines is None:
                self._source_lines = self._source.splitlines()
            if line <= len(self._source_lines):
                before = self._source_lines[line - 1][:start]
        leading = len(before) - len(before.rstrip())
        for kind, pattern in (("archlint", _ARCHLINT_DIRECTIVE), ("noqa", _NOQA)):
            for found in pattern.finditer(node.value):
                codes = _ordered_codes(found.group("codes"))
                reason = (found.groupdict().get("reason") or "").strip()
                self.suppression_comments.append(
                    Suppression(
                        line,
                        column,
                        end_column,
                        node.value,
                        kind,
                        codes,
                        reason,
                        found.start(),
                        found.end(),
                        leading,
                        not before.strip(),
                    )
                )
        for pattern in (_ARCHLINT_IGNORE, _NOQA):
            match = pattern.search(node.value)
            if match is None:
                continue
            line_codes = _codes(match.group("codes"))
            previous = self.suppressions.get(line, frozenset())
            if line_codes is None or previous is None:
                self.suppressions[line] = None
            else:
                self.suppressions[line] = previous | line_codes

    # ------------------------------------------------------------- scopes
    def _header(self, node: cst.FunctionDef | cst.ClassDef) -> tuple[int, int]:
        name_line = self._position(node.name)[0]
        if node.decorators:
            first = self._position(node.decorators[0])[0]
            return (first, name_line)
        return (name_line, name_line)

    def _definition(self, node: cst.FunctionDef | cst.ClassDef) -> dict:
        """The fields functions and classes share."""
        return dict(
            qualname=self._qualnames.get(id(node)) or self._child_qualname(node.name.value),
            span=self.span(node.name),
            parent=self.scope.qualname,
            docstring=node.get_docstring(),
            name=node.name.value,
            decorators=[e for d in node.decorators if (e := self.expr(d.decorator)) is not None],
            header=self._header(node),
        )

    def _enter_function(self, node: cst.FunctionDef) -> None:
        qualname = self._child_qualname(node.name.value)
        if qualname in self.functions:
            # The same name defined again (two handlers both called ``get``): each
            # definition is its own function, keyed by its position; the name
            # means the last one, as in Python.
            qualname = f"{qualname}@{self._position(node.name)[0]}"
        self._qualnames[id(node)] = qualname
        self.scope.defs[node.name.value] = qualname
        parent = self.scope
        fact = FunctionFact(
            kind="function",
            is_async=node.asynchronous is not None,
            params=self._params(node.params),
            returns_annotation=self.expr(node.returns.annotation) if node.returns else None,
            class_qualname=parent.qualname if parent.kind == "class" else None,
            **self._definition(node),
        )
        self.functions[fact.qualname] = fact
        self._scopes.append(fact)

    def _params(self, params: cst.Parameters) -> list[Param]:
        out: list[Param] = []

        def add(param: cst.Param, kind: str) -> None:
            out.append(
                Param(
                    name=param.name.value,
                    kind=kind,
                    annotation=self.expr(param.annotation.annotation) if param.annotation else None,
                    default=self.expr(param.default),
                    span=self.span(param.name),
                )
            )

        for p in params.posonly_params:
            add(p, "posonly")
        for p in params.params:
            add(p, "normal")
        if isinstance(params.star_arg, cst.Param):
            add(params.star_arg, "vararg")
        for p in params.kwonly_params:
            add(p, "kwonly")
        if params.star_kwarg is not None:
            add(params.star_kwarg, "kwarg")
        return out

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scope.defs[node.name.value] = self._child_qualname(node.name.value)

    def _enter_class(self, node: cst.ClassDef) -> None:
        fact = ClassFact(
            kind="class",
            bases=[e for a in node.bases if (e := self.expr(a.value)) is not None],
            keywords=[(a.keyword.value, e) for a in node.keywords if a.keyword and (e := self.expr(a.value))],
            **self._definition(node),
        )
        self.classes[fact.qualname] = fact
        self._scopes.append(fact)

    # -------------------------------------------------------------- loops
    def _push_loop(self, kind, target, iter_, is_async, node) -> None:
        self._loop_counter += 1
        parent = self._loops[-1][0].id if self._loops else -1
        loop = Loop(
            id=self._loop_counter,
            kind=kind,
            target=self.expr(target),
            iter=self.expr(iter_),
            is_async=is_async,
            span=Span.point(1),  # the loop's node is being walked: its span is set when it is left
            parent=parent,
        )
        self._open_loops[id(node)] = loop
        self.scope.loops.append(loop)
        self._loops.append((loop, _target_names(target)))

    @staticmethod
    def _is_type_checking(test: cst.BaseExpression) -> bool:
        return _dotted_module(test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}

    # -------------------------------------------------------- statements
    def _loop_depth(self) -> int:
        return len(self._loops)

    def _guarded(self) -> bool:
        """The statement being left sits in a block of its scope that may not run (if, try, match, loop)."""
        for node in reversed(self._stack):
            if isinstance(node, _SCOPE_NODES):
                return False
            if isinstance(node, _GUARDS):
                return True
        return False

    def leave_If(self, node: cst.If) -> None:
        test = self.expr(node.test)
        if test is not None:
            orelse = self.span(node.orelse) if node.orelse is not None else None
            self.branches.append(Branch(test, self.span(node.body), orelse))

    def leave_Assign(self, node: cst.Assign) -> None:
        targets = tuple(e for t in node.targets if (e := self.expr(t.target)) is not None)
        self.scope.assigns.append(
            Assign(targets, self.expr(node.value), self.span(node), loop_depth=self._loop_depth(), guarded=self._guarded())
        )

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        target = self.expr(node.target)
        if target is None:
            return
        self.scope.assigns.append(
            Assign(
                (target,),
                self.expr(node.value),
                self.span(node),
                annotation=self.expr(node.annotation.annotation),
                loop_depth=self._loop_depth(),
                guarded=self._guarded(),
            )
        )

    def leave_TypeAlias(self, node: cst.TypeAlias) -> None:
        """``type NameStr = Annotated[str, ...]`` (Python 3.12+) binds like an assignment."""
        target = self.expr(node.name)
        if target is None:
            return
        self.scope.assigns.append(
            Assign((target,), self.expr(node.value), self.span(node), loop_depth=self._loop_depth(), guarded=self._guarded())
        )

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        target = self.expr(node.target)
        if target is None:
            return
        self.scope.assigns.append(
            Assign(
                (target,),
                self.expr(node.value),
                self.span(node),
                op=type(node.operator).__name__,
                loop_depth=self._loop_depth(),
                guarded=self._guarded(),
            )
        )

    def leave_WithItem(self, node: cst.WithItem) -> None:
        context = self.expr(node.item)
        if context is None:
            return
        with_node = self._stack[-2] if len(self._stack) > 1 else None
        is_async = isinstance(with_node, cst.With) and with_node.asynchronous is not None
        target = self.expr(node.asname.name) if node.asname else None
        self.scope.withs.append(WithItem(context, target, is_async, self.span(node)))

    def leave_Expr(self, node: cst.Expr) -> None:
        value = self.expr(node.value)
        if value is not None and not isinstance(value, (Call, Lit)):
            self.scope.expr_stmts.append(value)

    def leave_Return(self, node: cst.Return) -> None:
        self.scope.returns.append(self.expr(node.value))

    def leave_Raise(self, node: cst.Raise) -> None:
        self.scope.raises.append(self.expr(node.exc))

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(self.scope, FunctionFact):
            self.scope.is_generator = True

    def leave_Yield(self, node: cst.Yield) -> None:
        if not isinstance(node.value, cst.From):
            self.scope.yields.append(self.expr(node.value))

    def visit_Global(self, node: cst.Global) -> None:
        self.scope.globals.extend(n.name.value for n in node.names)

    def leave_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            self.scope.imports.append(
                ImportFact(
                    module=_dotted_module(alias.name),
                    name=None,
                    asname=_asname(alias),
                    level=0,
                    span=self.span(alias),
                    scope=self.scope.qualname,
                    type_checking=self._type_checking > 0,
                    statement=self.span(node),
                )
            )

    def leave_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = _dotted_module(node.module)
        level = len(node.relative)
        if isinstance(node.names, cst.ImportStar):
            self.scope.imports.append(
                ImportFact(
                    module, "*", None, level, self.span(node), self.scope.qualname, self._type_checking > 0, self.span(node)
                )
            )
            return
        for alias in node.names:
            self.scope.imports.append(
                ImportFact(
                    module=module,
                    name=_dotted_module(alias.name),
                    asname=_asname(alias),
                    level=level,
                    span=self.span(alias),
                    scope=self.scope.qualname,
                    type_checking=self._type_checking > 0,
                    statement=self.span(node),
                )
            )

    # ---------------------------------------------------------- call sites
    def _call_context(self) -> str:
        # self._stack[-1] is the Call being left.
        index = len(self._stack) - 2
        while index >= 0 and isinstance(self._stack[index], (cst.Await,)):
            index -= 1
        parent = self._stack[index] if index >= 0 else None
        return _CONTEXTS.get(type(parent), "expr")

    def record_call(self, node: cst.Call, call: Call) -> None:
        loop = self._loops[-1][0].id if self._loops else -1
        site = CallSite(call=call, context=self._call_context(), loop_depth=self._loop_depth(), loop=loop)
        self._callsites[id(node)] = site
        self.scope.calls.append(site)

    def leave_Await(self, node: cst.Await) -> None:
        site = self._callsites.get(id(node.expression))
        if site is not None:
            site.awaited = True

    def leave_Attribute(self, node: cst.Attribute) -> None:
        if not self._loops or not isinstance(node.value, cst.Name):
            return
        name = node.value.value
        for loop, names in reversed(self._loops):
            if name in names:
                self.scope.attr_reads.append(AttrRead(loop.id, name, node.attr.value, self.span(node)))
                return


_NEWLINE = re.compile(r"\r\n?|\n")
#: The nodes whose ``body`` the collector enters and leaves (``on_visit_attribute(node, "body")``).
_BODY_OWNERS = frozenset({cst.FunctionDef, cst.ClassDef, cst.For, cst.While, cst.If})
#: Whitespace, punctuation and operators: about six nodes in ten, none of which a fact needs (no
#: hook, no range, never the parent of an expression; a comment inside one is a node of its own).
#: Not the parentheses: ``from x import (a, b)`` ends its range at its right one.
#: The collecting walk does nothing for them but generate their code.
_TOKENS: frozenset[type[cst.CSTNode]] = frozenset(
    {
        cst.SimpleWhitespace,
        cst.ParenthesizedWhitespace,
        cst.TrailingWhitespace,
        cst.EmptyLine,
        cst.Newline,
        cst.Dot,
        cst.Comma,
        cst.Colon,
        cst.Semicolon,
        cst.AssignEqual,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
        *(
            t
            for t in vars(cst).values()
            if isinstance(t, type)
            and issubclass(t, (cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseAugOp))
        ),
    }
)


class _Walk(CodegenState):
    """LibCST's code generation of a module as a walk: every node in source order, with its range.

    ``before_codegen``/``after_codegen`` bracket each node's code, so they are a visit in the order
    of a ``CSTVisitor`` (a node, then its children in source order); the line and column the
    generated tokens reach give ``PositionProvider``'s ranges (``record_syntactic_position`` is how
    LibCST's nodes trim whitespace they own, exactly as ``PositionProvidingCodegenState`` does).
    No token is kept: only the position they reach.
    """

    def __init__(self, module: cst.Module, collector: FactCollector | None) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.line = 1
        self.column = 0
        #: Ranges by node id (the tree outlives the walk, so ids are not reused).
        self.ranges: dict[int, Range] = {}
        self._starts: list[tuple[int, int]] = []
        self._collector = collector

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        if not self.tokens:
            self.tokens.append(value)  # Module's code generation asks whether anything was written
        if "\n" in value or "\r" in value:
            segments = _NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def pop_trailing_newline(self) -> None:
        """The module's last newline, dropped from the code: positions keep it (as ``PositionProvider``'s)."""

    #: Node types the walk skips (no range, no hook); ``positions`` skips none.
    skip: frozenset[type[cst.CSTNode]] = _TOKENS

    def before_codegen(self, node: cst.CSTNode) -> None:
        if type(node) in self.skip:
            return
        self._starts.append((self.line, self.column))
        collector = self._collector
        if collector is not None:
            stack = collector._stack
            if stack and type(stack[-1]) in _BODY_OWNERS and stack[-1].body is node:  # type: ignore[attr-defined]
                collector.on_visit_attribute(stack[-1], "body")
            collector.on_visit(node)

    def after_codegen(self, node: cst.CSTNode) -> None:
        if type(node) in self.skip:
            return
        line, column = self._starts.pop()
        key = id(node)
        if key not in self.ranges:  # a range recorded by record_syntactic_position stands
            self.ranges[key] = (line, column, self.line, self.column)
        collector = self._collector
        if collector is not None:
            collector.on_leave(node)
            stack = collector._stack
            if stack and type(stack[-1]) in _BODY_OWNERS and stack[-1].body is node:  # type: ignore[attr-defined]
                collector.on_leave_attribute(stack[-1], "body")

    def record_syntactic_position(  # type: ignore[override]  # a context manager class, not a generator
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
    ) -> _Syntactic | contextlib.nullcontext[None]:
        if start_node is None and end_node is None and type(node) is not cst.StarredElement:
            lpar = getattr(node, "lpar", None)
            if type(lpar) in (tuple, list) and not lpar:
                # An expression without parentheses: its syntactic range is the range
                # ``after_codegen`` records, as nothing is generated around it (but a
                # starred element's comma).
                return _UNCHANGED
        return _Syntactic(self, node, start_node, end_node)


_UNCHANGED = contextlib.nullcontext()


class _Syntactic:
    """``PositionProvidingCodegenState.record_syntactic_position``: the node's range without the
    whitespace it owns, hoisted from its first and last syntactic children when given."""

    __slots__ = ("_walk", "_node", "_start_node", "_end_node", "_start")

    def __init__(self, walk: _Walk, node: cst.CSTNode, start_node: cst.CSTNode | None, end_node: cst.CSTNode | None) -> None:
        self._walk, self._node, self._start_node, self._end_node = walk, node, start_node, end_node

    def __enter__(self) -> None:
        self._start = (self._walk.line, self._walk.column)

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        walk = self._walk
        line, column = self._start if self._start_node is None else walk.ranges[id(self._start_node)][:2]
        if self._end_node is None:
            end_line, end_column = walk.line, walk.column
        else:
            end_line, end_column = walk.ranges[id(self._end_node)][2:]
        walk.ranges[id(self._node)] = (line, column, end_line, end_column)


def positions(tree: cst.Module) -> dict[int, Range]:
    """``PositionProvider``'s ranges of every node of ``tree`` (by node id), from the walk alone."""
    walk = _Walk(tree, None)
    walk.skip = frozenset()
    tree._codegen(walk)
    return walk.ranges


def collect_tree(source: str, tree: cst.Module) -> FactCollector:
    """One walk of the parsed ``source``: its facts, on the returned collector."""
    ranges: dict[int, Range] = {}
    collector = FactCollector(source, ranges)
    walk = _Walk(tree, collector)
    walk.ranges = ranges
    tree._codegen(walk)
    return collector


#: A ``visit_<Node>`` / ``leave_<Node>`` method, under the node type it takes (so it is only given that type).
_Handler = Callable[["FactCollector", cst.CSTNode], None]


def _dispatch(prefix: str) -> dict[type[cst.CSTNode], _Handler]:
    table: dict[type[cst.CSTNode], _Handler] = {}
    for attr, fn in vars(FactCollector).items():
        if attr.startswith(prefix) and callable(fn):
            node_type = getattr(cst, attr[len(prefix) :], None)
            if isinstance(node_type, type):
                table[node_type] = fn
    return table


_CONTEXTS: dict[type, str] = {
    cst.Expr: "stmt",
    cst.Assign: "assign",
    cst.AnnAssign: "assign",
    cst.AugAssign: "assign",
    cst.Return: "return",
    cst.Arg: "arg",
    cst.Decorator: "decorator",
    cst.Param: "default",
    cst.Annotation: "annotation",
    cst.WithItem: "with",
    cst.Attribute: "receiver",
    cst.Yield: "yield",
}


# --------------------------------------------------------------------------- #
# Expression builders: node -> Expr, from the children's Exprs
# --------------------------------------------------------------------------- #


def _other(c: FactCollector, node: cst.CSTNode) -> Expr:
    children = tuple(e for child in node.children if (e := c.exprs.get(id(child))) is not None)
    return Other(c.span(node), type(node).__name__, children)


def _name(c: FactCollector, node: cst.Name) -> Expr:
    if node.value in ("True", "False", "None"):
        return Lit(c.span(node), {"True": True, "False": False, "None": None}[node.value])
    return Name(c.span(node), node.value)


def _attribute(c: FactCollector, node: cst.Attribute) -> Expr:
    base = c.expr(node.value) or Other(c.span(node.value), type(node.value).__name__)
    return Attr(c.span(node), base, node.attr.value)


def _string(c: FactCollector, node: cst.SimpleString | cst.ConcatenatedString) -> Expr:
    try:
        value = node.evaluated_value
    except Exception:  # pragma: no cover - LibCST refuses odd escapes
        value = None
    if value is None:
        return _other(c, node)
    return Lit(c.span(node), value)


def _number(c: FactCollector, node: cst.Integer | cst.Float | cst.Imaginary) -> Expr:
    try:
        return Lit(c.span(node), node.evaluated_value)
    except Exception:  # pragma: no cover
        return _other(c, node)


def _fstring(c: FactCollector, node: cst.FormattedString) -> Expr:
    parts: list[Expr] = []
    formatted = False
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            parts.append(Lit(c.span(part), part.value.replace("{{", "{").replace("}}", "}")))
        elif isinstance(part, cst.FormattedStringExpression):
            inner = c.expr(part.expression) or Other(c.span(part), "FormattedStringExpression")
            parts.append(inner)
            formatted = formatted or part.conversion is not None or part.format_spec is not None
    return FString(c.span(node), tuple(parts), formatted)


def _call(c: FactCollector, node: cst.Call) -> Expr:
    args: list[Expr] = []
    kwargs: list[tuple[str | None, Expr]] = []
    for arg in node.args:
        value = c.expr(arg.value) or Other(c.span(arg.value), type(arg.value).__name__)
        if arg.keyword is not None:
            kwargs.append((arg.keyword.value, value))
        elif arg.star == "**":
            kwargs.append((None, value))
        elif arg.star == "*":
            args.append(Starred(c.span(arg), value))
        else:
            args.append(value)
    func = c.expr(node.func) or Other(c.span(node.func), type(node.func).__name__)
    call = Call(c.span(node), func, tuple(args), tuple(kwargs))
    c.record_call(node, call)
    return call


def _comparison(c: FactCollector, node: cst.Comparison) -> Expr:
    """``a == b``, ``a is not None``, ``a < b < c``: the operands in order and each operator."""
    operands = [c.expr(node.left)] + [c.expr(t.comparator) for t in node.comparisons]
    if any(o is None for o in operands):
        return _other(c, node)
    ops = tuple(type(t.operator).__name__ for t in node.comparisons)
    return Other(c.span(node), "Comparison", tuple(o for o in operands if o is not None), ops)


def _boolean(c: FactCollector, node: cst.BooleanOperation) -> Expr:
    left, right = c.expr(node.left), c.expr(node.right)
    if left is None or right is None:
        return _other(c, node)
    return Other(c.span(node), "BooleanOperation", (left, right), (type(node.operator).__name__,))


def _binop(c: FactCollector, node: cst.BinaryOperation) -> Expr:
    left, right = c.expr(node.left), c.expr(node.right)
    if left is None or right is None:
        return _other(c, node)
    return BinOp(c.span(node), type(node.operator).__name__, left, right)


def _unary(c: FactCollector, node: cst.UnaryOperation) -> Expr:
    operand = c.expr(node.expression)
    if operand is None:
        return _other(c, node)
    return UnaryOp(c.span(node), type(node.operator).__name__, operand)


def _sequence(kind: str):
    def build(c: FactCollector, node) -> Expr:
        items: list[Expr] = []
        for element in node.elements:
            value = c.expr(element.value) or Other(c.span(element), "Element")
            items.append(Starred(c.span(element), value) if isinstance(element, cst.StarredElement) else value)
        return Seq(c.span(node), kind, tuple(items))

    return build


def _dict(c: FactCollector, node: cst.Dict) -> Expr:
    items: list[tuple[Expr | None, Expr]] = []
    for element in node.elements:
        if isinstance(element, cst.DictElement):
            key = c.expr(element.key)
            value = c.expr(element.value)
            if key is not None and value is not None:
                items.append((key, value))
        else:
            value = c.expr(element.value)
            if value is not None:
                items.append((None, value))
    return DictExpr(c.span(node), tuple(items))


def _subscript(c: FactCollector, node: cst.Subscript) -> Expr:
    base = c.expr(node.value)
    if base is None:
        return _other(c, node)
    items: list[Expr] = []
    for element in node.slice:
        if isinstance(element.slice, cst.Index):
            items.append(c.expr(element.slice.value) or Other(c.span(element), "Index"))
        else:
            items.append(Other(c.span(element), "Slice"))
    return Subscript(c.span(node), base, tuple(items))


def _await(c: FactCollector, node: cst.Await) -> Expr:
    value = c.expr(node.expression)
    if value is None:
        return _other(c, node)
    return Await(c.span(node), value)


def _ellipsis(c: FactCollector, node: cst.Ellipsis) -> Expr:
    return Lit(c.span(node), Ellipsis)


_BUILDERS: dict[type[cst.CSTNode], Callable[..., Expr | None]] = {
    cst.Name: _name,
    cst.Attribute: _attribute,
    cst.SimpleString: _string,
    cst.ConcatenatedString: _string,
    cst.Integer: _number,
    cst.Float: _number,
    cst.Imaginary: _number,
    cst.FormattedString: _fstring,
    cst.Call: _call,
    cst.BinaryOperation: _binop,
    cst.UnaryOperation: _unary,
    cst.List: _sequence("list"),
    cst.Tuple: _sequence("tuple"),
    cst.Set: _sequence("set"),
    cst.Dict: _dict,
    cst.Subscript: _subscript,
    cst.Await: _await,
    cst.Ellipsis: _ellipsis,
    cst.BooleanOperation: _boolean,
    cst.Comparison: _comparison,
    cst.IfExp: _other,
    cst.Lambda: _other,
    cst.ListComp: _other,
    cst.SetComp: _other,
    cst.DictComp: _other,
    cst.GeneratorExp: _other,
    cst.NamedExpr: _other,
    cst.Yield: _other,
}

# Template strings (Python 3.14 t-strings) exist only in newer LibCST builds.
if hasattr(cst, "TemplatedString"):
    _BUILDERS[cst.TemplatedString] = _other


def _builder_step(build: Callable[[FactCollector, cst.CSTNode], Expr | None]) -> _Handler:
    def step(c: FactCollector, node: cst.CSTNode) -> None:
        built = build(c, node)
        if built is not None:
            c.exprs[id(node)] = built

    return step


def _leave_table() -> dict[type[cst.CSTNode], tuple[_Handler, ...]]:
    """What leaving a node of each type does, in order: build its Expr, run its ``leave_<Node>``,
    close the comprehension it opened, set the span of the loop it is; types with nothing to do are absent."""
    handlers = _dispatch("leave_")
    table: dict[type[cst.CSTNode], tuple[_Handler, ...]] = {}
    kinds: set[type[cst.CSTNode]] = set(_BUILDERS) | set(handlers) | _LOOP_NODES
    for kind in kinds:
        steps: list[_Handler] = []
        if kind in _BUILDERS:
            steps.append(_builder_step(_BUILDERS[kind]))
        if kind in handlers:
            steps.append(handlers[kind])
        if kind in _COMPREHENSIONS:
            steps.append(FactCollector._leave_comprehension)  # type: ignore[arg-type]
        if kind in _LOOP_NODES:
            steps.append(FactCollector._close_loop)
        table[kind] = tuple(steps)
    return table


#: ``visit_<Node>`` by node type (comprehensions open their loop); what leaving each type does.
_VISIT: dict[type[cst.CSTNode], _Handler] = {
    **_dispatch("visit_"),
    **dict.fromkeys(_COMPREHENSIONS, FactCollector._enter_comprehension),  # type: ignore[arg-type]
}
_LEAVE = _leave_table()
