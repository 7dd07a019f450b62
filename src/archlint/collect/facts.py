"""Per-file facts: plain, picklable data produced by one LibCST pass.

After collection no check sees a CST node. Expressions are kept as a small
tree of ``Expr`` values (names, attributes, calls, literals, ...) with spans,
so the project index can resolve them across files and rules can report at
any sub-expression. Scopes (module, class, function) record what happens in
them: assignments, calls, imports, loops, returns, raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from archlint.model import Span, fast_pickling

# --------------------------------------------------------------------------- #
# Expressions
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class Expr:
    span: Span

    def dotted(self) -> str | None:
        """``a.b.c`` for a chain of names and attributes, else None."""
        return None


@dataclass(frozen=True, slots=True)
class Name(Expr):
    id: str

    def dotted(self) -> str | None:
        return self.id


@dataclass(frozen=True, slots=True)
class Attr(Expr):
    base: Expr
    attr: str

    def dotted(self) -> str | None:
        head = self.base.dotted()
        return f"{head}.{self.attr}" if head else None


def last_name(expr: Expr) -> str | None:
    """``x`` of ``x`` and of ``a.b.x``: the name a reference ends in (None for any other expression)."""
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Attr):
        return expr.attr
    return None


@dataclass(frozen=True, slots=True)
class Lit(Expr):
    """A literal: str, bytes, int, float, complex, bool, None or Ellipsis."""

    value: object


@dataclass(frozen=True, slots=True)
class Call(Expr):
    func: Expr
    args: tuple[Expr, ...] = ()
    #: (keyword, value); keyword is None for ``**mapping``.
    kwargs: tuple[tuple[str | None, Expr], ...] = ()

    def kw(self, name: str) -> Expr | None:
        for key, value in self.kwargs:
            if key == name:
                return value
        return None

    def arg(self, index: int, name: str | None = None) -> Expr | None:
        """The argument at a position, or passed by keyword ``name``."""
        if name is not None:
            value = self.kw(name)
            if value is not None:
                return value
        if index < len(self.args) and not isinstance(self.args[index], Starred):
            return self.args[index]
        return None


@dataclass(frozen=True, slots=True)
class Subscript(Expr):
    base: Expr
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    op: str  # LibCST operator class name: Add, Subtract, Multiply, Modulo, ...
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class UnaryOp(Expr):
    op: str  # Minus, Plus, Not, BitInvert
    operand: Expr


@dataclass(frozen=True, slots=True)
class FString(Expr):
    """An f-string: literal text parts are ``Lit`` strings, the rest expressions.

    ``formatted`` is True when a conversion or format spec makes the rendered
    text differ from ``str(value)``.
    """

    parts: tuple[Expr, ...]
    formatted: bool = False


@dataclass(frozen=True, slots=True)
class Seq(Expr):
    kind: str  # list, tuple, set
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class DictExpr(Expr):
    #: (key, value); key is None for ``**mapping``.
    items: tuple[tuple[Expr | None, Expr], ...]

    def get(self, key: str) -> Expr | None:
        for k, v in self.items:
            if isinstance(k, Lit) and k.value == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class Await(Expr):
    value: Expr


@dataclass(frozen=True, slots=True)
class Starred(Expr):
    value: Expr


@dataclass(frozen=True, slots=True)
class Other(Expr):
    """Any expression archlint does not model (comparisons, lambdas, ...)."""

    kind: str  # the LibCST node class name
    children: tuple[Expr, ...] = ()
    #: Operators: a comparison's (``Equal``, ``IsNot``, ``In``...; children are the left side then each
    #: comparator) or a boolean operation's (``And``/``Or``).
    ops: tuple[str, ...] = ()


# --------------------------------------------------------------------------- #
# Statements and scopes
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class ImportFact:
    """``import module [as asname]`` (name None) or ``from module import name [as asname]``.

    ``module`` is as written (relative imports keep ``level`` > 0); ``bound`` is
    the local name the statement binds.
    """

    module: str
    name: str | None
    asname: str | None
    level: int
    span: Span
    scope: str  # qualname of the enclosing scope, "" for the module
    type_checking: bool = False
    #: The whole ``import``/``from ... import`` statement (one statement is one mistake).
    statement: Span | None = None

    @property
    def stmt_span(self) -> Span:
        return self.statement or self.span

    @property
    def bound(self) -> str:
        if self.asname:
            return self.asname
        if self.name is not None:
            return self.name
        return self.module.split(".", 1)[0]


@dataclass(slots=True)
class CallSite:
    call: Call
    awaited: bool = False
    #: How the call's value is used: stmt, assign, return, arg, decorator,
    #: default, annotation, with, receiver, yield, expr.
    context: str = "expr"
    loop_depth: int = 0
    #: Innermost loop id (see Loop.id), or -1.
    loop: int = -1


@dataclass(slots=True)
class Assign:
    targets: tuple[Expr, ...]
    value: Expr | None
    span: Span
    annotation: Expr | None = None
    op: str | None = None  # AugAssign operator, e.g. "AddAssign"
    loop_depth: int = 0
    #: Inside an ``if``/``try``/``match``/loop of its scope: it may not run, so it hides no earlier binding.
    guarded: bool = False


@dataclass(slots=True)
class WithItem:
    context: Expr
    target: Expr | None
    is_async: bool
    span: Span


@dataclass(slots=True)
class Loop:
    id: int
    kind: str  # for, while, comprehension
    target: Expr | None
    iter: Expr | None
    is_async: bool
    span: Span
    parent: int = -1


@dataclass(slots=True)
class AttrRead:
    """``name.attr`` read inside a loop whose target binds ``name``."""

    loop: int
    name: str
    attr: str
    span: Span


@dataclass(slots=True)
class Param:
    name: str
    kind: str  # posonly, normal, vararg, kwonly, kwarg
    annotation: Expr | None
    default: Expr | None
    span: Span


@dataclass(slots=True)
class Scope:
    """What happens directly in one module, class or function body."""

    qualname: str  # "" for the module; "C", "f", "C.m", "f.<locals>.g"
    kind: str  # module, class, function
    span: Span
    parent: str | None = None  # enclosing scope qualname ("" is the module)
    calls: list[CallSite] = field(default_factory=list)
    assigns: list[Assign] = field(default_factory=list)
    imports: list[ImportFact] = field(default_factory=list)
    withs: list[WithItem] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    attr_reads: list[AttrRead] = field(default_factory=list)
    returns: list[Expr | None] = field(default_factory=list)
    #: Values of ``yield`` expressions (None for a bare ``yield``; ``yield from`` is not recorded).
    yields: list[Expr | None] = field(default_factory=list)
    raises: list[Expr | None] = field(default_factory=list)
    #: Expression statements that are not a call or a literal (``await pending``, ``yield x``).
    expr_stmts: list[Expr] = field(default_factory=list)
    #: Names of functions and classes defined directly in this scope -> qualname.
    defs: dict[str, str] = field(default_factory=dict)
    globals: list[str] = field(default_factory=list)
    docstring: str | None = None


@dataclass(slots=True)
class FunctionFact(Scope):
    name: str = ""
    is_async: bool = False
    params: list[Param] = field(default_factory=list)
    returns_annotation: Expr | None = None
    decorators: list[Expr] = field(default_factory=list)
    #: The enclosing class's qualname when this is a method.
    class_qualname: str | None = None
    #: Lines from the first decorator to the ``def`` line (suppression anchors).
    header: tuple[int, int] = (0, 0)
    is_generator: bool = False

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


@dataclass(slots=True)
class ClassFact(Scope):
    name: str = ""
    bases: list[Expr] = field(default_factory=list)
    keywords: list[tuple[str, Expr]] = field(default_factory=list)
    decorators: list[Expr] = field(default_factory=list)
    header: tuple[int, int] = (0, 0)

    def keyword(self, name: str) -> Expr | None:
        for key, value in self.keywords:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Suppression:
    """One suppression directive in a comment: ``# archlint: ignore[AL101] -- reason`` or ``# noqa: AL101``.

    ``codes`` is None for a directive without codes (every rule; a bare ``# noqa``).
    ``start``/``end`` are character offsets of the directive inside ``comment``.
    """

    line: int
    column: int  # 1-based UTF-16 column of the comment's ``#``
    end_column: int  # exclusive
    comment: str  # the whole comment, from ``#`` to the end of the line
    kind: str  # "archlint" or "noqa"
    codes: tuple[str, ...] | None
    reason: str
    start: int
    end: int
    #: Whitespace characters between the code and the ``#`` (to remove the comment cleanly).
    leading: int = 0
    #: The comment is alone on its line.
    own_line: bool = False


@dataclass(slots=True)
class ParseError:
    message: str
    span: Span
    #: LibCST rejects what the running Python accepts (new syntax LibCST lacks): a note, not an error.
    python_accepts: bool = False


@dataclass(slots=True)
class Branch:
    """``if test: ... else: ...``: the test and the lines each side covers (``elif`` is the else side)."""

    test: Expr
    body: Span
    orelse: Span | None = None


@dataclass(slots=True)
class FileFacts:
    """Everything archlint knows about one Python file.

    Everything but the location (``path``, ``rel``, ``module``, ``is_package``)
    depends on the file's bytes only: collection leaves the location empty and
    the engine stamps it with :meth:`locate` after collecting or loading the
    facts from the cache, so two files with the same bytes share one cache entry.
    """

    path: str = ""  # POSIX, relative to the report root (what findings show)
    rel: str = ""  # POSIX, relative to the project root (what excludes and layers see)
    module: str = ""  # dotted module name, e.g. "app.api.v1.routes.users"
    is_package: bool = False
    digest: str = ""
    parse_error: ParseError | None = None
    #: Lines with suppression comments -> rule codes (None: every rule).
    suppressions: dict[int, frozenset[str] | None] = field(default_factory=dict)
    #: Every suppression directive, in order (what the filter honours and AL002 audits).
    suppression_comments: list[Suppression] = field(default_factory=list)
    module_scope: Scope | None = None
    functions: dict[str, FunctionFact] = field(default_factory=dict)
    classes: dict[str, ClassFact] = field(default_factory=dict)
    line_count: int = 0
    #: Every ``if`` statement of the file (version guards, feature switches).
    branches: list[Branch] = field(default_factory=list)
    #: The file's leading comments and module docstring (where "generated" markers live).
    header: str = ""
    #: Not worth caching: the verdict may differ next time (a parser crash, an unreadable file).
    transient: bool = False

    def locate(self, path: str, rel: str, module: str, is_package: bool = False) -> FileFacts:
        """Stamp the file's location on content-only facts (in place); returns self."""
        self.path, self.rel, self.module, self.is_package = path, rel, module, is_package
        return self

    def scope(self, qualname: str) -> Scope | None:
        if qualname == "":
            return self.module_scope
        return self.functions.get(qualname) or self.classes.get(qualname)

    def visible_scopes(self, qualname: str) -> Iterator[Scope]:
        """Where a name read in ``qualname`` is looked up, innermost first: the scope itself,
        the enclosing functions, the module (a class body is not visible from its methods)."""
        current: str | None = qualname
        while current is not None:
            scope = self.scope(current)
            if scope is None:
                return
            if current == qualname or scope.kind != "class":
                yield scope
            current = scope.parent

    def scopes(self) -> Iterator[Scope]:
        if self.module_scope is not None:
            yield self.module_scope
        yield from self.classes.values()
        yield from self.functions.values()

    @property
    def imports(self) -> list[ImportFact]:
        return [imp for scope in self.scopes() for imp in scope.imports]


fast_pickling(globals())
