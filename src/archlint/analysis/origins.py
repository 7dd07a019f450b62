"""Where a value a user would change is written: definitions followed across files.

``index.evaluate`` answers *what* a value is. Rules that report "at the value a
user would change" also need *where* it is written: the settings field default,
the module constant, the literal in a call. ``Origins`` follows names,
attributes (settings fields, class constants, ``self.x``), imports and function
parameters (through every call site, or the default) to the assignment that
holds the value, and evaluates numbers and strings together with that site.

Several flows may reach one use (an ``if``/``else`` assigning a variable on both
branches, a helper called from several places): the answers are lists, one
entry per flow, and ``Unknown`` marks a flow that cannot be followed. Nothing
here guesses: a rule decides what an ``Unknown`` means.

Not a rule module: it defines no rules (the registry skips it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from archlint.collect.facts import (
    Attr,
    Await,
    BinOp,
    Call,
    ClassFact,
    DictExpr,
    Expr,
    FileFacts,
    FString,
    FunctionFact,
    ImportFact,
    Lit,
    Name,
    Other,
    Param,
    Scope,
    Seq,
    Starred,
    Subscript,
    UnaryOp,
)
from archlint.model import Span
from archlint.names import ANNOTATED, COLUMN_FUNCTIONS, ENV_GETTERS, FIELD_FUNCTIONS
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, Module, ParamValue, Symbol, TypeForm, Unknown, Value

if TYPE_CHECKING:
    from archlint.index import ProjectIndex

_MAX_DEPTH = 30
_MAX_FLOWS = 32
#: ``config("NAME", default=..., cast=int)``: python-decouple and starlette's Config.
CONFIG_READERS = {"decouple.config", "decouple.AutoConfig", "starlette.config.Config", "decouple.Config"}
_CONVERSIONS = {"builtins.int", "builtins.float", "builtins.round", "builtins.abs", "math.floor", "math.ceil"}
_SECRET_WRAPPERS = {"pydantic.SecretStr", "pydantic.SecretBytes", "pydantic.types.SecretStr", "pydantic.types.SecretBytes"}


@dataclass(frozen=True, slots=True)
class Site:
    """A place in a file; ``named`` when it is a named definition (constant, field, variable)."""

    path: str
    span: Span
    named: bool = False


@dataclass(frozen=True, slots=True)
class Binding:
    """One definition of a name: its value expression, where it is evaluated and written."""

    kind: str  # value, param, external, def, module, unknown
    name: str
    site: Site
    ctx: Ctx
    expr: Expr | None = None
    annotation: Expr | None = None
    function: FuncRef | None = None  # kind == "param": the function the parameter belongs to
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Flow:
    """An argument's expression at one call site (or the parameter default)."""

    expr: Expr | None
    ctx: Ctx
    #: The caller's function name ("" at module level, the function itself for a default).
    caller: str
    #: What the call's result is called where it is made: assignment targets, keywords, dict keys.
    labels: tuple[str, ...] = ()
    reason: str = ""
    #: The call site (module, span) the argument comes from; None for a default without callers.
    at: tuple[str, Span] | None = None


#: What a tracer finds: a number (``float``, ints included) or a literal text (``str | bytes``).
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Traced(Generic[V]):
    """A value with the site that defines it and the names crossed on the way.

    ``names`` and ``funcs`` run from the value outwards: the first entries are
    the closest to the literal (a settings field name before the variable it
    is copied into); ``funcs`` are the functions of call sites crossed.
    """

    value: V
    site: Site
    names: tuple[str, ...] = ()
    funcs: tuple[str, ...] = ()
    #: The name of the definition at ``site`` (when it is named).
    label: str = ""
    #: The value is the literal fallback of a configuration read (``os.getenv("K", "dev")``);
    #: only :meth:`Origins.string` under ``Origins.fallbacks`` follows those.
    fallback: bool = False

    def through(self, binding: Binding) -> Traced[V]:
        """The same value seen through a named definition: unnamed sites move to it."""
        if self.site.named:
            return replace(self, names=self.names + (binding.name,))
        return replace(self, site=binding.site, names=self.names + (binding.name,), label=binding.name)

    def across(self, flow: Flow, param: str) -> Traced[V]:
        """The value seen through a parameter: an inline argument stays where the call writes it."""
        site = self.site if self.site.named else replace(self.site, named=True)
        return replace(
            self,
            site=site,
            names=self.names + (param,) + flow.labels,
            funcs=self.funcs + ((flow.caller,) if flow.caller else ()),
        )


#: A tracer: the values an expression may have (``Origins.number``, ``Origins.string``).
Tracer = Callable[[Expr, Ctx], "list[Traced[V] | Unknown]"]


#: What an expression may be where a test reads it (``Origins.candidates``): ``("const", value)``,
#: ``("member", fqn)`` for an enum member, ``("object", truthy)`` for an object that is not None.
Candidate = tuple[str, object]


def known(results: Iterable[Traced[V] | Unknown]) -> list[Traced[V]]:
    return [r for r in results if isinstance(r, Traced)]


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake(name: str) -> str:
    """``createRefreshToken`` and ``CREATE-REFRESH-TOKEN`` both give ``create_refresh_token``."""
    return re.sub(r"[^a-z0-9]+", "_", _CAMEL.sub("_", name).lower()).strip("_")


def _before(span: Span, use: Span) -> bool:
    return (span.end_line, span.end_column) <= (use.line, use.column)


def iter_exprs(expr: Expr | None) -> Iterator[Expr]:
    """The expression and every sub-expression, depth first."""
    if expr is None:
        return
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def children(node: Expr) -> list[Expr]:
    if isinstance(node, Attr):
        return [node.base]
    if isinstance(node, Call):
        return [node.func, *node.args, *(v for _, v in node.kwargs)]
    if isinstance(node, Subscript):
        return [node.base, *node.items]
    if isinstance(node, BinOp):
        return [node.left, node.right]
    if isinstance(node, UnaryOp):
        return [node.operand]
    if isinstance(node, FString):
        return list(node.parts)
    if isinstance(node, Seq):
        return list(node.items)
    if isinstance(node, DictExpr):
        return [x for k, v in node.items for x in (k, v) if x is not None]
    if isinstance(node, (Await, Starred)):
        return [node.value]
    if isinstance(node, Other):
        return list(node.children)
    return []


def identifiers(expr: Expr | None) -> list[str]:
    """Names and attribute names read in an expression (``user.password`` gives user, password)."""
    out = []
    for node in iter_exprs(expr):
        if isinstance(node, Name):
            out.append(node.id)
        elif isinstance(node, Attr):
            out.append(node.attr)
    return out


def labels_of(scope: Scope, target: Span) -> tuple[str, ...]:
    """What the value of the expression at ``target`` is called in ``scope``.

    The keywords and dict keys around it (innermost first), then the
    assignment targets: ``refresh = Token(refresh_token=make(...))`` gives
    ("refresh_token", "refresh") for the ``make(...)`` call.
    """

    def path(expr: Expr, acc: tuple[str, ...]) -> tuple[str, ...] | None:
        if expr.span == target:
            return acc
        if not expr.span.contains(target):
            return None
        if isinstance(expr, Call):
            for key, value in expr.kwargs:
                found = path(value, ((key,) if key else ()) + acc)
                if found is not None:
                    return found
        if isinstance(expr, DictExpr):
            for item_key, item_value in expr.items:
                label = (item_key.value,) if isinstance(item_key, Lit) and isinstance(item_key.value, str) else ()
                found = path(item_value, label + acc)
                if found is not None:
                    return found
        for child in children(expr):
            found = path(child, acc)
            if found is not None:
                return found
        return None

    for assign in scope.assigns:
        if assign.value is not None and assign.value.span.contains(target):
            names = tuple(n for t in assign.targets for n in _target_labels(t))
            found = path(assign.value, ())
            if found is not None:
                return found + names
    for ret in scope.returns:
        if ret is not None and ret.span.contains(target):
            found = path(ret, ())
            if found is not None:
                return found
    for site in scope.calls:
        if site.call.span != target and site.call.span.contains(target):
            found = path(site.call, ())
            if found:
                return found
    return ()


def _target_labels(target: Expr) -> list[str]:
    if isinstance(target, Name):
        return [target.id]
    if isinstance(target, Attr):
        return [target.attr]
    if isinstance(target, Subscript) and target.items and isinstance(target.items[0], Lit):
        return [str(target.items[0].value)]
    if isinstance(target, Seq):
        return [n for t in target.items for n in _target_labels(t)]
    return []


class Origins:
    """Definition sites and traced values over one project index."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._active: set[tuple[object, ...]] = set()
        self._flows: dict[tuple[object, ...], list[Flow]] = {}
        #: Function fqn -> the one call site (module, span) its parameters are read from.
        #: Pinning keeps arguments of one call together (a payload and a lifetime passed to
        #: the same helper) instead of mixing every caller's.
        self.pinned: dict[str, tuple[str, Span]] = {}
        #: Functions whose parameters a trace followed to their callers (see ``flows``).
        self.consulted: set[str] = set()
        #: When set, :meth:`string` follows the literal fallback of a configuration read
        #: (``os.getenv("K", "dev")``, ``config.get("k", "dev")``, ``os.getenv("K") or "dev"``)
        #: instead of calling the value unknown: what a secret is when the environment is not set.
        self.fallbacks = False

    # ----------------------------------------------------------- helpers
    def path(self, ctx: Ctx) -> str:
        facts = self.index.modules.get(ctx.module)
        return facts.path if facts is not None else ctx.module

    def site(self, expr: Expr, ctx: Ctx, named: bool = False) -> Site:
        return Site(self.path(ctx), expr.span, named)

    def fqn(self, expr: Expr | None, ctx: Ctx) -> str | None:
        try:
            return self.index.fqn(expr, ctx)
        except RecursionError:  # pragma: no cover - defensive
            return None

    def guard(self, key: tuple[object, ...]) -> bool:
        """Enter a traced step; False on a cycle or when the trace is too deep."""
        if key in self._active or len(self._active) > _MAX_DEPTH:
            return False
        self._active.add(key)
        return True

    def release(self, key: tuple[object, ...]) -> None:
        self._active.discard(key)

    # ------------------------------------------------------- definitions
    def definitions(self, expr: Expr, ctx: Ctx) -> list[Binding] | None:
        """The definitions a name or attribute may have at this use; None when not followable."""
        if isinstance(expr, Name):
            return self.name_bindings(expr.id, ctx, expr.span)
        if isinstance(expr, Attr):
            return self.attr_bindings(expr, ctx)
        return None

    def name_bindings(self, name: str, ctx: Ctx, use: Span | None = None) -> list[Binding] | None:
        facts = self.index.modules.get(ctx.module)
        if facts is None:
            return None
        for depth, scope in enumerate(facts.visible_scopes(ctx.scope)):
            found = self.scope_bindings(facts, scope, name, None if depth else use)
            if found:
                return found
        return None

    def scope_bindings(self, facts: FileFacts, scope: Scope, name: str, use: Span | None = None) -> list[Binding]:
        """Every binding of ``name`` directly in one scope that may reach ``use``.

        In a function, bindings written after the use are left out, and an
        assignment that always runs (outside every ``if``, ``try``, ``match``
        and loop of the function) hides the ones before it: each branch's
        assignment is kept, and a branch whose test is known to fail where
        the value is read (``if expires_delta:`` when the call being followed
        passes one; ``if token_type == "refresh":`` when it passes
        ``"access"``) is left out (:meth:`condition`).
        """
        ctx = Ctx(facts.module, scope.qualname)
        found: list[tuple[Span, Binding]] = []
        guarded: set[Span] = set()
        for assign in scope.assigns:
            if assign.guarded:
                guarded.add(assign.span)
            for target in assign.targets:
                if isinstance(target, Name) and target.id == name:
                    site = Site(facts.path, assign.span, True)
                    if assign.op is not None:
                        found.append((assign.span, Binding("unknown", name, site, ctx, reason=f"'{name}' is updated in place")))
                    else:
                        found.append((assign.span, Binding("value", name, site, ctx, assign.value, assign.annotation)))
                elif isinstance(target, Seq) and any(isinstance(t, Name) and t.id == name for t in target.items):
                    found.append(
                        (
                            assign.span,
                            Binding("unknown", name, Site(facts.path, assign.span, True), ctx, reason=f"'{name}' is unpacked"),
                        )
                    )
        for imp in scope.imports:
            if imp.bound == name and imp.name != "*":
                found.append((imp.span, self._import_binding(facts, imp, name)))
        if name in scope.defs:
            qual = scope.defs[name]
            fact = facts.classes.get(qual) or facts.functions.get(qual)
            span = fact.span if fact is not None else scope.span
            found.append((span, Binding("def", name, Site(facts.path, span, True), ctx)))
        for item in scope.withs:
            if isinstance(item.target, Name) and item.target.id == name:
                found.append(
                    (item.span, Binding("unknown", name, Site(facts.path, item.span), ctx, reason="bound by a with statement"))
                )
        for loop in scope.loops:
            if loop.target is not None and name in identifiers(loop.target):
                found.append((loop.span, Binding("unknown", name, Site(facts.path, loop.span), ctx, reason="a loop variable")))
        function = scope if isinstance(scope, FunctionFact) else None
        param = function.param(name) if function is not None else None
        if scope.kind != "function" or use is None:
            out = [b for _, b in found]
            if function is not None and param is not None:
                out.append(self._param_binding(facts, function, param))
            return out
        body = min((a.span.column for a in scope.assigns if not a.guarded), default=0)
        earlier = sorted((item for item in found if _before(item[0], use)), key=lambda i: (i[0].line, i[0].column), reverse=True)
        out = []
        for span, binding in earlier:
            if span in guarded and not self._taken(facts, scope, span):
                continue
            out.append(binding)
            if span not in guarded and span.column <= body:
                return out
        if function is not None and param is not None:
            out.append(self._param_binding(facts, function, param))
        if not out and earlier:
            span = earlier[0][0]
            reason = f"no branch binding '{name}' is taken"
            return [Binding("unknown", name, Site(facts.path, span, True), ctx, reason=reason)]
        return out

    def _taken(self, facts: FileFacts, scope: Scope, span: Span) -> bool:
        """False when a branch of ``scope`` holding ``span`` has a test known to send the run elsewhere."""
        ctx = Ctx(facts.module, scope.qualname)
        for branch in facts.branches:
            if branch.body.contains(scope.span) or (branch.orelse is not None and branch.orelse.contains(scope.span)):
                continue  # the branch holds the whole function (its span is the name's)
            if branch.body.contains(span):
                wanted = True
            elif branch.orelse is not None and branch.orelse.contains(span):
                wanted = False
            else:
                continue
            verdict = self.condition(branch.test, ctx)
            if verdict is not None and verdict is not wanted:
                return False
        return True

    # -------------------------------------------------------- conditions
    def condition(self, test: Expr, ctx: Ctx) -> bool | None:
        """Whether a test holds on every flow followed (the pinned call, else every caller); None when unknown.

        Read: literals, parameters (the argument each call passes, or the
        default), local names bound to those, enum members, ``not``,
        ``and``/``or``, and one comparison (``==``, ``!=``, ``is``, ``is not``).
        Settings and other attributes are not read: their defaults can be
        overridden at run time.
        """
        key = ("condition", test.span, ctx)
        if not self.guard(key):
            return None
        try:
            return self._condition(test, ctx)
        finally:
            self.release(key)

    def _condition(self, test: Expr, ctx: Ctx) -> bool | None:
        if isinstance(test, UnaryOp) and test.op == "Not":
            inner = self.condition(test.operand, ctx)
            return None if inner is None else not inner
        if isinstance(test, Other) and test.kind == "BooleanOperation" and len(test.ops) == 1 and len(test.children) == 2:
            left, right = (self.condition(child, ctx) for child in test.children)
            if test.ops[0] == "And":
                return False if False in (left, right) else True if left and right else None
            return True if True in (left, right) else False if left is False and right is False else None
        if isinstance(test, Other) and test.kind == "Comparison" and len(test.ops) == 1 and len(test.children) == 2:
            lefts, rights = self.candidates(test.children[0], ctx), self.candidates(test.children[1], ctx)
            if lefts is None or rights is None:
                return None
            verdicts = {_compare(test.ops[0], a, b) for a in lefts for b in rights}
            return verdicts.pop() if len(verdicts) == 1 else None
        values = self.candidates(test, ctx)
        if values is None:
            return None
        truths = {_truth(v) for v in values}
        return truths.pop() if len(truths) == 1 else None

    def candidates(self, expr: Expr, ctx: Ctx, depth: int = 0) -> list[Candidate] | None:
        """What an expression may be where a test reads it, one entry per flow; None when any flow is unknown.

        Entries: ``("const", value)``, ``("member", fqn)`` for an enum member,
        ``("object", truthy)`` for an object that is not None (``truthy`` None
        when its truth is unknown).
        """
        if depth > 8:
            return None
        if isinstance(expr, Lit):
            return [("const", expr.value)]
        if isinstance(expr, (Seq, DictExpr)):
            items = expr.items
            return [("object", bool(items))]
        if isinstance(expr, Attr):
            base = self.index.evaluate(expr.base, ctx)
            if isinstance(base, ClassRef) and self.index.is_subclass(base, _ENUMS):
                return [("member", f"{base.fqn}.{expr.attr}")]
            return None
        if isinstance(expr, Call):
            fqn = self.fqn(expr.func, ctx)
            if fqn in _TIMEDELTAS:
                amounts = [r.value for arg in (*expr.args, *(v for _, v in expr.kwargs)) for r in known(self.number(arg, ctx))]
                return [("object", True if any(amounts) else None)]
            value = self.index.evaluate(expr, ctx)
            return [("object", None)] if isinstance(value, Instance) and isinstance(value.type, ClassRef) else None
        if isinstance(expr, Name):
            bindings = self.name_bindings(expr.id, ctx, expr.span)
            if not bindings:
                return None
            out: list[Candidate] = []
            for binding in bindings:
                if binding.kind == "value" and binding.expr is not None and (binding.ctx.scope or isinstance(binding.expr, Lit)):
                    found = self.candidates(binding.expr, binding.ctx, depth + 1)
                elif binding.kind == "param":
                    flows = self.flows(binding)
                    collected: list[Candidate] = []
                    for flow in flows:
                        more = self.candidates(flow.expr, flow.ctx, depth + 1) if flow.expr is not None else None
                        if more is None:
                            found = None
                            break
                        collected += more
                    else:
                        found = collected if flows else None
                else:
                    found = None
                if not found:
                    return None
                out.extend(found)
            return out if len(out) <= _MAX_FLOWS else None
        return None

    def _param_binding(self, facts: FileFacts, scope: FunctionFact, param: Param) -> Binding:
        return Binding(
            "param",
            param.name,
            Site(facts.path, param.span, True),
            Ctx(facts.module, scope.qualname),
            param.default,
            param.annotation,
            FuncRef(facts.module, scope.qualname),
        )

    def _import_binding(self, facts: FileFacts, imp: ImportFact, name: str) -> Binding:
        site = Site(facts.path, imp.span)
        ctx = Ctx(facts.module, imp.scope)
        if imp.name is None:
            return Binding("module", name, site, ctx)
        module = self.index.absolute_module(imp, facts)
        target = self.index.module(module)
        if target is not None:
            key = ("import", target.module, imp.name)
            if self.guard(key):
                try:
                    found = self.scope_bindings(target, target.module_scope, imp.name) if target.module_scope else []
                finally:
                    self.release(key)
                if len(found) == 1:
                    return found[0]
                if found:
                    return Binding("unknown", name, site, ctx, reason=f"{target.module}.{imp.name} is bound more than once")
            if self.index.module(f"{module}.{imp.name}") is not None:
                return Binding("module", name, site, ctx)
            return Binding("unknown", name, site, ctx, reason=f"{module}.{imp.name} cannot be followed")
        if self.index.is_project_module(module):
            return Binding("unknown", name, site, ctx, reason=f"{module}.{imp.name} cannot be found")
        return Binding("external", f"{module}.{imp.name}", site, ctx)

    def attr_bindings(self, expr: Attr, ctx: Ctx) -> list[Binding] | None:
        base = self.index.evaluate(expr.base, ctx)
        if isinstance(base, Module) and base.internal:
            facts = self.index.module(base.name)
            if facts is None or facts.module_scope is None:
                return None
            return self.scope_bindings(facts, facts.module_scope, expr.attr) or None
        value = base.call.kw(expr.attr) if isinstance(base, Instance) else None
        if isinstance(base, Instance) and value is not None:
            return [Binding("value", expr.attr, Site(self.path(base.ctx), value.span, True), base.ctx, value)]
        klass = self.class_of(base, expr.base, ctx)
        if klass is None:
            return None
        return self.member_bindings(klass, expr.attr)

    def class_of(self, base: Value, base_expr: Expr | None = None, ctx: Ctx | None = None) -> ClassRef | None:
        """The project class an attribute is read from: a class, an instance, ``self``, an annotated parameter."""
        if isinstance(base, ClassRef):
            return base
        if isinstance(base, Instance) and isinstance(base.type, ClassRef):
            return base.type
        if isinstance(base, ParamValue):
            fn = self.index.function(FuncRef(base.module, base.function))
            if fn is not None and fn.class_qualname and fn.params and fn.params[0].name == base.name:
                return ClassRef(base.module, fn.class_qualname)
            if base.annotation is not None:
                return self._annotated_class(base.annotation, Ctx(base.module, fn.parent or "") if fn else Ctx(base.module))
        if isinstance(base, Unknown) and isinstance(base_expr, Attr) and ctx is not None:
            # A nested settings model without a static default: ``jwt: JWTSettings = Field(default_factory=JWTSettings)``.
            bindings = self.attr_bindings(base_expr, ctx)
            if bindings and len(bindings) == 1 and bindings[0].annotation is not None:
                return self._annotated_class(bindings[0].annotation, bindings[0].ctx)
        return None

    def _annotated_class(self, annotation: Expr, ctx: Ctx) -> ClassRef | None:
        value = self.index.evaluate(annotation, ctx)
        if isinstance(value, TypeForm) and getattr(value.origin, "fqn", "") in ANNOTATED:
            value = value.args[0] if value.args else value
        return value if isinstance(value, ClassRef) else None

    def member_bindings(self, klass: ClassRef, attr: str) -> list[Binding] | None:
        for cls in self.index.mro(klass):
            if not isinstance(cls, ClassRef):
                continue
            fact = self.index.class_fact(cls)
            if fact is None:
                continue
            facts = self.index.modules[cls.module]
            found = self.scope_bindings(facts, fact, attr)
            if found:
                return [self._field_default(b) for b in found]
            assigned = self._self_assignments(facts, fact, attr)
            if assigned:
                return assigned
        return None

    def _field_default(self, binding: Binding) -> Binding:
        """``X: int = Field(15)`` / ``Field(default=15)``: the default is the value.

        An ORM column's ``default=`` (``mapped_column(default=expiry)``,
        ``Column(default=lambda: now + delta)``) and a field's
        ``default_factory=`` are called when the row or model is made: the
        value is that call's result (a lambda's body).
        """
        value = binding.expr
        if binding.kind != "value" or not isinstance(value, Call):
            return binding
        fqn = self.fqn(value.func, binding.ctx)
        if fqn in COLUMN_FUNCTIONS or (fqn in FIELD_FUNCTIONS and value.kw("default_factory") is not None):
            made = value.kw("default_factory") or value.kw("default") or value.kw("insert_default")
            if made is None:
                return replace(binding, kind="unknown", expr=None, reason=f"the column {binding.name} has no default")
            return replace(binding, expr=self._made_by(made, binding.ctx))
        if fqn not in FIELD_FUNCTIONS:
            return binding
        default = value.arg(0, "default")
        if default is None or (isinstance(default, Lit) and default.value is Ellipsis):
            return replace(binding, kind="unknown", expr=None, reason=f"the field {binding.name} has no static default")
        return replace(binding, expr=default)

    def _made_by(self, default: Expr, ctx: Ctx) -> Expr:
        """What a callable default gives: a lambda's body, a call of a function; else the value itself."""
        if isinstance(default, Other) and default.kind == "Lambda":
            return default.children[-1] if default.children else default
        if isinstance(default, (Name, Attr)):
            target = self.index.evaluate(default, ctx)
            if isinstance(target, (FuncRef, ClassRef, Symbol)):
                return Call(default.span, default)
        return default

    def _self_assignments(self, facts: FileFacts, fact: ClassFact, attr: str) -> list[Binding]:
        out: list[Binding] = []
        for qualname in fact.defs.values():
            fn = facts.functions.get(qualname)
            if fn is None or not fn.params:
                continue
            me = fn.params[0].name
            for assign in fn.assigns:
                for target in assign.targets:
                    if (
                        isinstance(target, Attr)
                        and target.attr == attr
                        and isinstance(target.base, Name)
                        and target.base.id == me
                    ):
                        ctx = Ctx(facts.module, fn.qualname)
                        out.append(
                            Binding("value", attr, Site(facts.path, assign.span, True), ctx, assign.value, assign.annotation)
                        )
        return out

    # ------------------------------------------------------------ params
    def flows(self, binding: Binding) -> list[Flow]:
        """What a parameter receives: the argument at every call site (or the pinned one), else its default."""
        ref = binding.function
        assert ref is not None
        self.consulted.add(ref.fqn)
        flows = self._all_flows(ref, binding.name)
        pinned = self.pinned.get(ref.fqn)
        if pinned is None:
            return flows
        return [f for f in flows if f.at == pinned or f.at is None]

    def callers(self, ref: FuncRef) -> list[tuple[str, Span]]:
        """The call sites (module, span) of a project function."""
        return [(ctx.module, site.call.span) for _facts, site, ctx in self.index.calls_to(ref.fqn)]

    def _all_flows(self, ref: FuncRef, name: str) -> list[Flow]:
        key = (ref.fqn, name)
        cached = self._flows.get(key)
        if cached is not None:
            return cached
        fn = self.index.function(ref)
        out: list[Flow] = []
        if fn is None:
            return out
        param = fn.param(name)
        position = fn.params.index(param) if param is not None else -1
        bound_method = bool(fn.class_qualname) and not any(isinstance(d, Name) and d.id == "staticmethod" for d in fn.decorators)
        default_ctx = Ctx(ref.module, fn.parent or "")
        own = fn.name
        for facts, call_site, ctx in self.index.calls_to(ref.fqn):
            call = call_site.call
            offset = 1 if bound_method and isinstance(call.func, Attr) else 0
            arg = None
            if param is not None:
                if param.kind in ("normal", "posonly"):
                    arg = call.arg(position - offset, None if param.kind == "posonly" else param.name)
                elif param.kind == "kwonly":
                    arg = call.kw(param.name)
                else:
                    out.append(Flow(None, ctx, "", reason="a variadic parameter", at=(ctx.module, call.span)))
                    continue
            scope = facts.scope(ctx.scope)
            caller = scope.name if isinstance(scope, FunctionFact) else ""
            labels = labels_of(scope, call.span) if scope is not None else ()
            at = (ctx.module, call.span)
            if arg is not None:
                out.append(Flow(arg, ctx, caller, labels, at=at))
            elif any(isinstance(a, Starred) for a in call.args) or any(k is None for k, _ in call.kwargs):
                out.append(Flow(None, ctx, caller, labels, reason="arguments passed with * or **", at=at))
            elif param is not None and param.default is not None:
                out.append(Flow(param.default, default_ctx, caller, labels, at=at))
            if len(out) > _MAX_FLOWS:
                break
        if not out and param is not None and param.default is not None:
            out.append(Flow(param.default, default_ctx, own))
        self._flows[key] = out
        return out

    # ----------------------------------------------------------- numbers
    def number(self, expr: Expr | None, ctx: Ctx) -> list[Traced[float] | Unknown]:
        """The numbers an expression may have, each with the site that defines it."""
        if expr is None:
            return [Unknown("no value")]
        key = ("number", expr.span, ctx)
        if not self.guard(key):
            return [Unknown("the value refers to itself", ctx.module, expr.span)]
        try:
            return self._number(expr, ctx)[:_MAX_FLOWS]
        finally:
            self.release(key)

    def _number(self, expr: Expr, ctx: Ctx) -> list[Traced[float] | Unknown]:
        if isinstance(expr, Lit):
            return [_numeric(expr.value, self.site(expr, ctx), expr, ctx)]
        if isinstance(expr, (Name, Attr)):
            bindings = self.definitions(expr, ctx)
            if bindings:
                return self.through(bindings, self.number)
            return [self._evaluated(expr, ctx)]
        if isinstance(expr, UnaryOp) and expr.op in ("Minus", "Plus"):
            sign = -1 if expr.op == "Minus" else 1
            return [replace(t, value=sign * t.value) if isinstance(t, Traced) else t for t in self.number(expr.operand, ctx)]
        if isinstance(expr, BinOp):
            return combine(expr.op, self.number(expr.left, ctx), self.number(expr.right, ctx), self.site(expr, ctx))
        if isinstance(expr, Call):
            fqn = self.fqn(expr.func, ctx)
            if fqn in _CONVERSIONS and expr.args:
                return self.number(expr.args[0], ctx)
            default = self.fallback_of(expr, ctx, fqn)
            if default is not None:
                return (
                    self.number(default, ctx)
                    if default is not False
                    else [Unknown("a value read from the environment without a default", ctx.module, expr.span)]
                )
            if fqn in FIELD_FUNCTIONS:
                value = expr.arg(0, "default")
                return self.number(value, ctx) if value is not None else [Unknown("a field without a default")]
            func = self.index.evaluate(expr.func, ctx)
            if isinstance(func, FuncRef):
                return self.returned(func, self.number)
        if isinstance(expr, Other) and expr.kind in ("BooleanOperation", "IfExp"):
            return self.branches(expr, ctx, self.number)
        return [self._evaluated(expr, ctx)]

    def _evaluated(self, expr: Expr, ctx: Ctx) -> Traced[float] | Unknown:
        value = self.index.evaluate(expr, ctx)
        if isinstance(value, Const):
            return _numeric(value.value, self.site(expr, ctx), expr, ctx)
        if isinstance(value, Unknown):
            return value
        return Unknown("not a number", ctx.module, expr.span)

    def fallback_of(self, call: Call, ctx: Ctx, fqn: str | None) -> Expr | Literal[False] | None:
        """The fallback of an environment read (``os.getenv("X", "30")``, ``config("X", default=30)``).

        None when the call is not an environment read; False when it has no fallback.
        """
        if fqn in ENV_GETTERS:
            return call.arg(1, "default") or False
        if fqn in CONFIG_READERS or self._is_config_instance(call, ctx):
            return call.kw("default") or (call.args[1] if len(call.args) > 1 else None) or False
        return None

    def reads_environment(self, expr: Expr, ctx: Ctx) -> bool:
        """``os.getenv(...)``, ``os.environ.get(...)``, ``config(...)``, ``os.environ[...]``."""
        if isinstance(expr, Call):
            return self.fallback_of(expr, ctx, self.fqn(expr.func, ctx)) is not None
        if isinstance(expr, Subscript):
            return self.fqn(expr.base, ctx) == "os.environ"
        return False

    def _is_config_instance(self, call: Call, ctx: Ctx) -> bool:
        func = self.index.evaluate(call.func, ctx)
        return isinstance(func, Instance) and func.type_fqn in CONFIG_READERS

    def through(self, bindings: list[Binding], fn: Tracer[V]) -> list[Traced[V] | Unknown]:
        """Apply a tracer to each definition, moving unnamed sites to the definition."""
        out: list[Traced[V] | Unknown] = []
        for binding in bindings:
            if binding.kind == "value" and binding.expr is not None:
                out.extend(r.through(binding) if isinstance(r, Traced) else r for r in fn(binding.expr, binding.ctx))
            elif binding.kind == "param":
                for flow in self.flows(binding):
                    if flow.expr is None:
                        out.append(Unknown(flow.reason or "no argument"))
                        continue
                    out.extend(r.across(flow, binding.name) if isinstance(r, Traced) else r for r in fn(flow.expr, flow.ctx))
            else:
                out.append(
                    Unknown(binding.reason or f"'{binding.name}' is not a static value", binding.ctx.module, binding.site.span)
                )
        return out

    def returned(self, ref: FuncRef, fn: Tracer[V]) -> list[Traced[V] | Unknown]:
        facts = self.index.function(ref)
        if facts is None or facts.is_generator:
            return [Unknown(f"{ref.fqn} cannot be followed")]
        values = [r for r in facts.returns if r is not None]
        if not values:
            return [Unknown(f"{ref.fqn} returns nothing static")]
        ctx = Ctx(ref.module, facts.qualname)
        return [r for value in values for r in fn(value, ctx)]

    def branches(self, expr: Other, ctx: Ctx, fn: Tracer[V]) -> list[Traced[V] | Unknown]:
        """``a or b`` / ``a if c else b``: every branch that gives a value."""
        results = [r for child in expr.children for r in fn(child, ctx)]
        good: list[Traced[V] | Unknown] = [r for r in results if isinstance(r, Traced)]
        return good if good else results

    # ----------------------------------------------------------- strings
    def string(self, expr: Expr | None, ctx: Ctx) -> list[Traced[str | bytes] | Unknown]:
        """The literal strings (or bytes) an expression may be, each with its defining site."""
        if expr is None:
            return [Unknown("no value")]
        key = ("string", expr.span, ctx)
        if not self.guard(key):
            return [Unknown("the value refers to itself", ctx.module, expr.span)]
        try:
            return self._string(expr, ctx)[:_MAX_FLOWS]
        finally:
            self.release(key)

    def _string(self, expr: Expr, ctx: Ctx) -> list[Traced[str | bytes] | Unknown]:
        if isinstance(expr, Lit):
            if isinstance(expr.value, (str, bytes)):
                return [Traced(expr.value, self.site(expr, ctx))]
            return [Unknown("not a string", ctx.module, expr.span)]
        if isinstance(expr, (Name, Attr)):
            bindings = self.definitions(expr, ctx)
            if bindings:
                return self.through(bindings, self.string)
        if isinstance(expr, Call):
            fqn = self.fqn(expr.func, ctx)
            if isinstance(expr.func, Attr) and expr.func.attr in ("get_secret_value", "encode", "strip") and not expr.args:
                return self.string(expr.func.base, ctx)
            if fqn in ("builtins.str", "builtins.bytes", *_SECRET_WRAPPERS) and expr.args:
                return self.string(expr.args[0], ctx)
            fallback = self.fallback_of(expr, ctx, fqn)
            if fallback is None and self.fallbacks and isinstance(expr.func, Attr) and expr.func.attr == "get":
                fallback = expr.arg(1, "default") or False  # ``config.get("signing_key", "dev-only")``
            if fallback is not None:
                if self.fallbacks and fallback is not False:
                    return [replace(r, fallback=True) if isinstance(r, Traced) else r for r in self.string(fallback, ctx)]
                return [Unknown("a value read from the environment", ctx.module, expr.span)]
            if fqn in FIELD_FUNCTIONS:
                value = expr.arg(0, "default")
                return self.string(value, ctx) if value is not None else [Unknown("a field without a static default")]
        if isinstance(expr, Other) and expr.kind in ("BooleanOperation", "IfExp"):
            if any(self.reads_environment(child, ctx) for child in expr.children):
                # ``os.getenv("KEY") or "dev-key"`` is an environment read with a fallback.
                if self.fallbacks:
                    results = self.branches(expr, ctx, self.string)
                    return [replace(r, fallback=True) if isinstance(r, Traced) else r for r in results]
                return [Unknown("a value read from the environment", ctx.module, expr.span)]
            return self.branches(expr, ctx, self.string)
        evaluated = self.index.evaluate(expr, ctx)
        if isinstance(evaluated, Const) and isinstance(evaluated.value, (str, bytes)):
            return [Traced(evaluated.value, self.site(expr, ctx))]
        if isinstance(evaluated, Unknown):
            return [evaluated]
        return [Unknown("not a literal string", ctx.module, expr.span)]


_ENUMS = frozenset({"enum.Enum", "enum.StrEnum", "enum.IntEnum", "enum.Flag", "enum.IntFlag"})
_TIMEDELTAS = frozenset({"datetime.timedelta", "pendulum.duration"})


def _truth(value: Candidate) -> bool | None:
    kind, payload = value
    if kind == "const":
        return bool(payload)
    if kind == "member":
        return True
    return payload if isinstance(payload, bool) else None


def _compare(op: str, a: Candidate, b: Candidate) -> bool | None:
    """``a op b`` for two candidates; None when it cannot be told."""
    if op in ("Is", "IsNot"):
        if ("const", None) not in (a, b):
            return None
        same = a == b
        return same if op == "Is" else not same
    if op not in ("Equal", "NotEqual"):
        return None
    if a[0] == b[0] and a[0] in ("const", "member"):
        equal = a[1] == b[1]
        return equal if op == "Equal" else not equal
    if "object" in (a[0], b[0]) and ("const", None) in (a, b):
        return op == "NotEqual"
    return None


def _numeric(value: object, site: Site, expr: Expr, ctx: Ctx) -> Traced[float] | Unknown:
    if isinstance(value, bool):
        return Unknown("a boolean", ctx.module, expr.span)
    if isinstance(value, (int, float)):
        return Traced(value, site)
    if isinstance(value, str):
        try:
            return Traced(float(value) if "." in value else int(value), site)
        except ValueError:
            pass
    return Unknown("not a number", ctx.module, expr.span)


#: Literal factors that convert units (``settings.X * 60``): the other operand is the tunable value.
UNIT_FACTORS = {60, 24, 3600, 86400, 1000, 60000, 3600000, 86400000}
_UNIT_NAME = re.compile(r"(^|_)(per|in|to)(_|$)|^(one_|a_)?(ms|millis(econd)?|second|minute|hour|day|week)s?$")


def is_unit(traced: Traced[float]) -> bool:
    """A conversion factor: a literal 60/24/3600... or a constant named like ``SECONDS_PER_DAY``."""
    if traced.site.named:
        return bool(_UNIT_NAME.search(traced.label.lower()))
    return traced.value in UNIT_FACTORS


def combine(
    op: str, left: list[Traced[float] | Unknown], right: list[Traced[float] | Unknown], site: Site
) -> list[Traced[float] | Unknown]:
    """Arithmetic over every pair of flows.

    The result sits where the tunable operand is written: a named operand that
    is not a unit factor (``settings.X`` in ``settings.X * 60``); an inline
    number beside a unit constant (``30 * SECONDS_PER_DAY``) leaves it at the
    expression, so the definition around it takes it.
    """
    out: list[Traced[float] | Unknown] = []
    for a in left:
        for b in right:
            if isinstance(a, Unknown):
                out.append(a)
                continue
            if isinstance(b, Unknown):
                out.append(b)
                continue
            value = _apply(op, a.value, b.value)
            if value is None:
                out.append(Unknown(f"unsupported operation {op}"))
                continue
            tunable = [t for t in (a, b) if not is_unit(t)]
            named = [t for t in (tunable or [a, b]) if t.site.named]
            if named and (len(named) == len(tunable) or not tunable):
                where, label = named[0].site, named[0].label
            else:
                where, label = site, ""
            out.append(Traced(value, where, a.names + b.names, a.funcs + b.funcs, label))
            if len(out) >= _MAX_FLOWS:
                return out
    return out


def _apply(op: str, a: float, b: float) -> float | None:
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
        return None
    try:
        if op == "Add":
            return a + b
        if op == "Subtract":
            return a - b
        if op == "Multiply":
            return a * b
        if op == "Divide":
            return a / b
        if op == "FloorDivide":
            return a // b
        if op == "Power" and abs(b) <= 64:
            power: float = a**b
            return power
    except (ArithmeticError, ValueError):
        return None
    return None
