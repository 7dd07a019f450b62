"""The project index: resolves what one file cannot know.

It maps module names to facts, follows imports (relative ones, re-exports and
star imports included) and evaluates expressions across files: a constant
imported from another module, ``settings.API_V1_STR``'s default on a
pydantic-settings class, an f-string of those, an ``Annotated`` alias. What it
cannot resolve comes back as ``Unknown`` with a reason, never as a guess.
"""

from __future__ import annotations

import builtins
import http
import operator
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import Any, TypeGuard

from archlint.collect.facts import (
    Attr,
    Await,
    BinOp,
    Call,
    CallSite,
    ClassFact,
    DictExpr,
    Expr,
    FileFacts,
    FString,
    FunctionFact,
    ImportFact,
    Lit,
    Name,
    Scope,
    Seq,
    Subscript,
    UnaryOp,
)
from archlint.names import ENV_GETTERS, FIELD_FUNCTIONS, SETTINGS_BASES
from archlint.values import (
    ClassRef,
    Const,
    Ctx,
    FuncRef,
    Instance,
    Module,
    ParamValue,
    SeqValue,
    Symbol,
    TypeForm,
    Unknown,
    Value,
    fqn_of,
)

_MAX_DEPTH = 40
#: What binds a name in a scope (``ProjectIndex._binders``).
_IMPORT, _DEF, _ASSIGN, _UNPACKED, _WITH, _LOOP = range(6)
_STATUS_NAME = re.compile(r"^(?:fastapi|starlette)\.status\.(?:HTTP|WS)_(\d{3,4})(?:_|$)")
_BINOPS = {
    "Add": operator.add,
    "Subtract": operator.sub,
    "Multiply": operator.mul,
    "Divide": operator.truediv,
    "FloorDivide": operator.floordiv,
    "Modulo": operator.mod,
    "Power": operator.pow,
}
_ENVIRONMENT_MAPPINGS = {"os.environ", "os.environb"}


def _top_level_candidate(facts: FileFacts, parts: list[str], packages: set[str]) -> bool:
    """Whether a bare ``import name`` may mean this module's last segment.

    Only a file one folder below the project root, outside any package
    (``backend/config.py`` run from ``backend/``): ``import jwt`` must not
    become ``app/core/jwt.py``, which no sys.path entry makes importable as
    ``jwt``.
    """
    if len(parts) != 2:
        return False
    folder = facts.rel.rpartition("/")[0]
    if facts.is_package:
        folder = folder.rpartition("/")[0]
    return folder not in packages


class ProjectIndex:
    """Cross-file resolution over every parsed file of one project."""

    def __init__(self, files: list[FileFacts]) -> None:
        self.files: dict[str, FileFacts] = {f.path: f for f in files}
        self.modules: dict[str, FileFacts] = {}
        self._suffixes: dict[str, list[str]] = defaultdict(list)
        packages = {f.rel.rpartition("/")[0] for f in files if f.is_package}
        for facts in files:
            if facts.module and facts.module not in self.modules:
                self.modules[facts.module] = facts
                parts = facts.module.split(".")
                for i in range(1, len(parts)):
                    if i == len(parts) - 1 and not _top_level_candidate(facts, parts, packages):
                        continue
                    self._suffixes[".".join(parts[i:])].append(facts.module)
        self._cache: dict[tuple[object, ...], Value] = {}
        self._active: set[tuple[object, ...]] = set()
        #: How often a guard (a value referring to itself, an import cycle, the depth) answered: a
        #: lookup that met none is a function of its name and scope alone, and is remembered.
        self._guard_hits = 0
        self._lookups: dict[tuple[str, Ctx], Value] = {}
        #: id(scope) -> (scope, name -> what binds it): see ``_binders``.
        self._scope_binders: dict[int, tuple[Scope, dict[str, list[tuple[int, int, Any]]]]] = {}

    # ------------------------------------------------------------ modules
    def module(self, name: str) -> FileFacts | None:
        """The facts of a project module, by exact name or by a unique dotted suffix.

        The suffix match makes ``app.core.config`` find ``backend/app/core/config.py``
        whichever folder is the source root.
        """
        facts = self.modules.get(name)
        if facts is not None:
            return facts
        candidates = self._suffixes.get(name)
        if candidates and len(candidates) == 1:
            return self.modules[candidates[0]]
        return None

    def is_project_module(self, name: str) -> bool:
        return self.module(name) is not None or name in self._packages or bool(self._suffixes.get(name))

    @cached_property
    def _packages(self) -> frozenset[str]:
        """Every dotted prefix of a project module (``app``, ``app.core`` for ``app.core.config``)."""
        out: set[str] = set()
        for module in self.modules:
            parts = module.split(".")
            out.update(".".join(parts[:i]) for i in range(1, len(parts)))
        return frozenset(out)

    def absolute_module(self, imp: ImportFact, importer: FileFacts) -> str:
        """The absolute dotted module an import statement refers to."""
        if imp.level == 0:
            return imp.module
        package = importer.module if importer.is_package else importer.module.rpartition(".")[0]
        for _ in range(imp.level - 1):
            package = package.rpartition(".")[0]
        if imp.module:
            return f"{package}.{imp.module}" if package else imp.module
        return package

    def canonical_module(self, name: str) -> str:
        facts = self.module(name)
        return facts.module if facts is not None else name

    # ------------------------------------------------------------- scopes
    def scope(self, ctx: Ctx) -> Scope | None:
        facts = self.modules.get(ctx.module)
        return facts.scope(ctx.scope) if facts is not None else None

    def function(self, ref: FuncRef) -> FunctionFact | None:
        facts = self.modules.get(ref.module)
        return facts.functions.get(ref.qualname) if facts else None

    def class_fact(self, ref: ClassRef) -> ClassFact | None:
        facts = self.modules.get(ref.module)
        return facts.classes.get(ref.qualname) if facts else None

    def iter_scopes(self) -> Iterator[tuple[FileFacts, Scope, Ctx]]:
        for facts in self.modules.values():
            for scope in facts.scopes():
                yield facts, scope, Ctx(facts.module, scope.qualname)

    def iter_calls(self) -> Iterator[tuple[FileFacts, CallSite, Ctx]]:
        for facts, scope, ctx in self.iter_scopes():
            for site in scope.calls:
                yield facts, site, ctx

    def file_of(self, ctx: Ctx | str) -> FileFacts | None:
        return self.modules.get(ctx.module if isinstance(ctx, Ctx) else ctx)

    # ------------------------------------------------------------- lookup
    def lookup(self, name: str, ctx: Ctx, *, line: int | None = None) -> Value:
        """What ``name`` means in a scope: local, enclosing functions, module, builtins."""
        key = (name, ctx)
        known = self._lookups.get(key)
        if known is not None:
            return known
        guard_hits = self._guard_hits
        value, by_line = self._lookup(name, ctx, line)
        if not by_line and self._guard_hits == guard_hits:
            self._lookups[key] = value
        return value

    def _lookup(self, name: str, ctx: Ctx, line: int | None) -> tuple[Value, bool]:
        """The value, and whether a line could choose it (the innermost scope binds the name several
        times: the answer for one line, or for none, is not the answer for another)."""
        facts = self.modules.get(ctx.module)
        if facts is None:
            return Unknown(f"module {ctx.module} is not part of the project"), False
        for depth, scope in enumerate(facts.visible_scopes(ctx.scope)):
            value, several = self._bound(facts, scope, name, None if depth else line)
            if value is not None:
                return value, several and depth == 0
        star = self._star_lookup(facts, name)
        if star is not None:
            return star, False
        if hasattr(builtins, name):
            return Symbol(f"builtins.{name}"), False
        return Unknown(f"'{name}' is not defined in {ctx.module}"), False

    def _star_lookup(self, facts: FileFacts, name: str) -> Value | None:
        scope = facts.module_scope
        if scope is None:
            return None
        for imp in scope.imports:
            if imp.name == "*":
                target = self.module(self.absolute_module(imp, facts))
                if target is not None and target is not facts:
                    value = self._module_member(target, name)
                    if not isinstance(value, Unknown):
                        return value
        return None

    def _binding(self, facts: FileFacts, scope: Scope, name: str, line: int | None) -> Value | None:
        return self._bound(facts, scope, name, line)[0]

    def _bound(self, facts: FileFacts, scope: Scope, name: str, line: int | None) -> tuple[Value | None, bool]:
        """The value ``name`` is bound to in a scope (None: not bound there), and whether the scope
        binds it several times (so that ``line`` may choose)."""
        candidates: list[tuple[int, Value]] = []
        ctx = Ctx(facts.module, scope.qualname)
        if isinstance(scope, FunctionFact):
            param = scope.param(name)
            if param is not None:
                candidates.append((0, ParamValue(facts.module, scope.qualname, name, param.annotation)))
        for kind, at, item in self._binders(facts, scope).get(name, ()):
            if kind == _IMPORT:
                candidates.append((at, self._import_value(item, facts)))
            elif kind == _DEF:
                ref = ClassRef(facts.module, item) if item in facts.classes else FuncRef(facts.module, item)
                candidates.append((at, ref))
            elif kind == _ASSIGN:
                if item.value is None:
                    candidates.append((at, Unknown(f"'{name}' has no value", facts.module, item.span)))
                elif item.op is not None or item.loop_depth:
                    candidates.append((at, Unknown(f"'{name}' is reassigned", facts.module, item.span)))
                else:
                    candidates.append((at, _Lazy(item.value, ctx)))
            elif kind == _UNPACKED:
                candidates.append((at, Unknown(f"'{name}' is unpacked", facts.module, item.span)))
            elif kind == _WITH:
                candidates.append((at, Unknown(f"'{name}' is bound by a with statement", facts.module, item.span)))
            else:
                candidates.append((at, Unknown(f"'{name}' is a loop variable", facts.module, item.span)))
        if not candidates:
            return None, False
        several = len(candidates) > 1
        if line is not None and scope.kind == "function":
            before = [c for c in candidates if c[0] <= line]
            if before:
                candidates = [max(before, key=lambda c: c[0])]
        elif line is not None and scope.kind == "module":
            # Module code runs top to bottom: ``@app.get`` above ``app = CORSMiddleware(app)``
            # means the application bound before it (when only one binding comes before).
            before = [c for c in candidates if c[0] < line]
            if before and len(before) < len(candidates):
                candidates = before
        values = [self._force(v) for _, v in candidates]
        first = values[0]
        if all(v == first for v in values[1:]):
            return first, several
        return Unknown(f"'{name}' is bound more than once in {facts.module}"), several

    def _binders(self, facts: FileFacts, scope: Scope) -> dict[str, list[tuple[int, int, Any]]]:
        """What binds each name in a scope, in the order ``_binding`` weighs them: (kind, line, fact).

        Built once per scope: looking a name up scanned every import, assignment, ``with`` and loop
        of its scope, for every name of every scope on the way out.
        """
        entry = self._scope_binders.get(id(scope))
        if entry is not None and entry[0] is scope:
            return entry[1]
        table: dict[str, list[tuple[int, int, Any]]] = {}
        for imp in scope.imports:
            if imp.bound is not None and imp.name != "*":
                table.setdefault(imp.bound, []).append((_IMPORT, imp.span.line, imp))
        for name, qualname in scope.defs.items():
            fact = facts.classes.get(qualname) or facts.functions.get(qualname)
            table.setdefault(name, []).append((_DEF, fact.header[0] if fact else 0, qualname))
        for assign in scope.assigns:
            for target in assign.targets:
                if isinstance(target, Name):
                    table.setdefault(target.id, []).append((_ASSIGN, assign.span.line, assign))
                elif isinstance(target, Seq):
                    for name in dict.fromkeys(t.id for t in target.items if isinstance(t, Name)):
                        table.setdefault(name, []).append((_UNPACKED, assign.span.line, assign))
        for item in scope.withs:
            if isinstance(item.target, Name):
                table.setdefault(item.target.id, []).append((_WITH, item.span.line, item))
        for loop in scope.loops:
            if loop.target is not None:
                for name in dict.fromkeys(_bound_names(loop.target)):
                    table.setdefault(name, []).append((_LOOP, loop.span.line, loop))
        self._scope_binders[id(scope)] = (scope, table)
        return table

    def _force(self, value: Value) -> Value:
        if isinstance(value, _Lazy):
            return self.evaluate(value.expr, value.ctx)
        return value

    def _import_value(self, imp: ImportFact, facts: FileFacts) -> Value:
        module = self.absolute_module(imp, facts)
        if imp.name is None:
            if imp.asname:
                return self._module_value(module)
            return self._module_value(module.split(".", 1)[0])
        target = self.module(module)
        submodule = f"{module}.{imp.name}"
        if target is facts and self.module(submodule) is not None:
            # ``from . import views`` in a package's ``__init__``: Python imports
            # the submodule and binds it, whatever else the package defines later.
            return self._module_value(submodule)
        if target is not None:
            return self._module_member(target, imp.name)
        if self.module(submodule) is not None:
            return self._module_value(submodule)
        if self.is_project_module(module):
            return Unknown(f"{module}.{imp.name} cannot be found in the project", facts.module, imp.span)
        return _external_constant(submodule)  # ``from starlette.status import HTTP_401_UNAUTHORIZED``

    def _module_value(self, name: str) -> Value:
        return Module(self.canonical_module(name), self.is_project_module(name))

    def _module_member(self, facts: FileFacts, name: str) -> Value:
        key = ("member", facts.module, name)
        if key in self._active:
            # An import cycle: Python resolves it lazily, binding the submodule
            # ``package.name`` on the package as soon as it is imported.
            self._guard_hits += 1
            if self.module(f"{facts.module}.{name}") is not None:
                return self._module_value(f"{facts.module}.{name}")
            return Unknown(f"import cycle through {facts.module}.{name}")
        self._active.add(key)
        try:
            scope = facts.module_scope
            value = self._binding(facts, scope, name, None) if scope is not None else None
            if value is None:
                value = self._star_lookup(facts, name)
        finally:
            self._active.discard(key)
        if value is not None:
            return value
        submodule = f"{facts.module}.{name}"
        if self.module(submodule) is not None:
            return self._module_value(submodule)
        return Unknown(f"{facts.module} has no name '{name}'", facts.module)

    # ----------------------------------------------------------- evaluate
    def evaluate(self, expr: Expr | None, ctx: Ctx) -> Value:
        """The value of an expression in a context, following names across files."""
        if expr is None:
            return Unknown("no expression")
        key = (expr, ctx)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if key in self._active or len(self._active) > _MAX_DEPTH:
            self._guard_hits += 1
            return Unknown("the value refers to itself", ctx.module, expr.span)
        self._active.add(key)
        try:
            value = self._evaluate(expr, ctx)
        finally:
            self._active.discard(key)
        self._cache[key] = value
        return value

    def _evaluate(self, expr: Expr, ctx: Ctx) -> Value:
        if isinstance(expr, Lit):
            return Const(expr.value)
        if isinstance(expr, Name):
            return self.lookup(expr.id, ctx, line=expr.span.line)
        if isinstance(expr, Attr):
            return self.attribute(self.evaluate(expr.base, ctx), expr.attr, expr, ctx)
        if isinstance(expr, Call):
            return self._call(self.evaluate(expr.func, ctx), expr, ctx)
        if isinstance(expr, BinOp):
            return self._binop(expr, ctx)
        if isinstance(expr, UnaryOp):
            operand = self.evaluate(expr.operand, ctx)
            if isinstance(operand, Const) and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
                if expr.op == "Minus":
                    return Const(-operand.value)
                if expr.op == "Plus":
                    return operand
            return Unknown("unsupported unary operation", ctx.module, expr.span)
        if isinstance(expr, FString):
            return self._fstring(expr, ctx)
        if isinstance(expr, Seq):
            return SeqValue(expr.kind, tuple(self.evaluate(i, ctx) for i in expr.items))
        if isinstance(expr, Subscript):
            return self._subscript(expr, ctx)
        if isinstance(expr, Await):
            return Unknown("the value is awaited at run time", ctx.module, expr.span)
        if isinstance(expr, DictExpr):
            return Unknown("a dict literal", ctx.module, expr.span)
        return Unknown(f"a {getattr(expr, 'kind', type(expr).__name__)} expression", ctx.module, expr.span)

    def _binop(self, expr: BinOp, ctx: Ctx) -> Value:
        left, right = self.evaluate(expr.left, ctx), self.evaluate(expr.right, ctx)
        if expr.op == "BitOr" and _is_type(left) and _is_type(right):
            # ``str | None``: a PEP 604 union, kept as a type form like ``Union[str, None]``.
            return TypeForm(Symbol("types.UnionType"), (left, right), (expr.left, expr.right), ctx)
        if isinstance(left, Unknown):
            return left
        if isinstance(right, Unknown):
            return right
        fn = _BINOPS.get(expr.op)
        if fn is None or not isinstance(left, Const) or not isinstance(right, Const):
            return Unknown(f"unsupported operation {expr.op}", ctx.module, expr.span)
        if expr.op == "Modulo" and isinstance(left.value, str):
            return _percent_format(left.value, right, ctx, expr)
        if expr.op == "Power" and isinstance(right.value, (int, float)) and abs(right.value) > 64:
            return Unknown("a very large power", ctx.module, expr.span)
        if expr.op == "Multiply" and any(isinstance(v, (str, bytes)) for v in (left.value, right.value)):
            count = right.value if isinstance(left.value, (str, bytes)) else left.value
            if not isinstance(count, int) or count > 10_000:
                return Unknown("a very long string", ctx.module, expr.span)
        try:
            return Const(fn(left.value, right.value))
        except Exception:
            return Unknown(f"{expr.op} of incompatible values", ctx.module, expr.span)

    def _fstring(self, expr: FString, ctx: Ctx) -> Value:
        if expr.formatted:
            return Unknown("an f-string with a conversion or format spec", ctx.module, expr.span)
        out: list[str] = []
        for part in expr.parts:
            value = self.evaluate(part, ctx)
            if isinstance(value, Unknown):
                return value
            if not isinstance(value, Const):
                return Unknown("an f-string part that is not a constant", ctx.module, part.span)
            out.append(str(value.value))
        return Const("".join(out))

    def _subscript(self, expr: Subscript, ctx: Ctx) -> Value:
        base = self.evaluate(expr.base, ctx)
        if isinstance(base, Symbol) and base.fqn in _ENVIRONMENT_MAPPINGS:
            return Unknown("a value read from the environment", ctx.module, expr.span)
        if isinstance(base, (Symbol, ClassRef, TypeForm)):
            return TypeForm(base, tuple(self.evaluate(i, ctx) for i in expr.items), expr.items, ctx)
        if len(expr.items) == 1:
            index = self.evaluate(expr.items[0], ctx)
            if isinstance(base, SeqValue) and isinstance(index, Const) and isinstance(index.value, int):
                try:
                    return base.items[index.value]
                except IndexError:
                    pass
        return Unknown("a subscript that is not a type", ctx.module, expr.span)

    def attribute(self, base: Value, attr: str, expr: Expr | None = None, ctx: Ctx | None = None) -> Value:
        """``base.attr`` for a resolved base."""
        where = (ctx.module if ctx else "", expr.span if expr else None)
        if isinstance(base, Module):
            if base.internal:
                facts = self.module(base.name)
                if facts is not None:
                    return self._module_member(facts, attr)
                if self.module(f"{base.name}.{attr}") is not None:
                    return self._module_value(f"{base.name}.{attr}")
                return Unknown(f"{base.name}.{attr} cannot be found", *where)
            return _external_constant(f"{base.name}.{attr}")
        if isinstance(base, Symbol):
            return _external_constant(f"{base.fqn}.{attr}")
        if isinstance(base, ClassRef):
            return self.class_member(base, attr) or Unknown(f"{base.fqn} has no attribute '{attr}'", *where)
        if isinstance(base, Instance) and isinstance(base.type, ClassRef):
            return self.class_member(base.type, attr, instance=True) or Unknown(
                f"{base.type.fqn} has no attribute '{attr}' with a static value", *where
            )
        if isinstance(base, ParamValue):
            owner = self._self_class(base)
            if owner is not None:
                return self.class_member(owner, attr, instance=True) or Unknown(f"self.{attr} has no static value", *where)
        if isinstance(base, Unknown):
            return base
        return Unknown(f"attribute '{attr}' of a value known only at run time", *where)

    def _self_class(self, param: ParamValue) -> ClassRef | None:
        facts = self.modules.get(param.module)
        fn = facts.functions.get(param.function) if facts else None
        if fn is None or fn.class_qualname is None or not fn.params or fn.params[0].name != param.name:
            return None
        if any(isinstance(d, Name) and d.id == "staticmethod" for d in fn.decorators):
            return None
        return ClassRef(param.module, fn.class_qualname)

    def class_member(self, ref: ClassRef, attr: str, *, instance: bool = False) -> Value | None:
        """A class attribute (or pydantic field default) found through the class's bases."""
        for klass in self.mro(ref):
            if not isinstance(klass, ClassRef):
                continue
            fact = self.class_fact(klass)
            if fact is None:
                continue
            facts = self.modules[klass.module]
            value = self._binding(facts, fact, attr, None)
            if value is not None:
                return _field_default(self, value, fact, attr, klass)
            if instance:
                assigned = self._instance_attribute(facts, fact, attr)
                if assigned is not None:
                    return assigned
        return None

    def _instance_attribute(self, facts: FileFacts, fact: ClassFact, attr: str) -> Value | None:
        values: list[Value] = []
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
                        and assign.value is not None
                    ):
                        values.append(self.evaluate(assign.value, Ctx(facts.module, fn.qualname)))
        if not values:
            return None
        if all(v == values[0] for v in values[1:]):
            return values[0]
        return Unknown(f"self.{attr} is assigned more than once")

    def mro(self, ref: ClassRef | Symbol) -> list[ClassRef | Symbol]:
        """The class and its bases, depth-first, project classes resolved across files."""
        seen: list[ClassRef | Symbol] = []
        stack: list[ClassRef | Symbol] = [ref]
        while stack:
            klass = stack.pop(0)
            if klass in seen or len(seen) > 64:
                continue
            seen.append(klass)
            if isinstance(klass, ClassRef):
                fact = self.class_fact(klass)
                if fact is not None:
                    ctx = Ctx(klass.module, fact.parent or "")
                    for base in fact.bases:
                        value = self.evaluate(base, ctx)
                        if isinstance(value, TypeForm):  # Generic[T], BaseModel[...]
                            value = value.origin
                        if isinstance(value, (ClassRef, Symbol)):
                            stack.append(value)
        return seen

    def is_subclass(self, value: Value | None, fqns: set[str] | frozenset[str]) -> bool:
        """Whether a class value is, or derives from, one of the dotted names."""
        if not isinstance(value, (ClassRef, Symbol)):
            return False
        return any(fqn_of(k) in fqns for k in self.mro(value))

    def instance_of(self, value: Value, fqns: set[str] | frozenset[str]) -> TypeGuard[Instance]:
        return isinstance(value, Instance) and self.is_subclass(value.type, fqns)

    def _call(self, func: Value, call: Call, ctx: Ctx) -> Value:
        if isinstance(func, (ClassRef, Symbol)):
            fqn = fqn_of(func)
            if fqn in ENV_GETTERS:
                return Unknown("a value read from the environment", ctx.module, call.span)
            if fqn in ("builtins.str", "builtins.int", "builtins.float") and len(call.args) == 1 and not call.kwargs:
                arg = self.evaluate(call.args[0], ctx)
                if isinstance(arg, Const):
                    try:
                        return Const(builtins.__dict__[fqn.split(".")[1]](arg.value))
                    except Exception:
                        return Unknown("a conversion that fails", ctx.module, call.span)
                return arg if isinstance(arg, Unknown) else Unknown("a conversion", ctx.module, call.span)
            return Instance(func, call, ctx)
        if isinstance(func, FuncRef):
            return self.returned(func)
        if (
            isinstance(func, TypeForm)
            and isinstance(func.origin, (ClassRef, Symbol))
            and not (fqn_of(func.origin) or "").startswith(("typing.", "typing_extensions."))
        ):
            # ``Users[User, UUID](...)``: an instance of the generic class.
            return Instance(func.origin, call, ctx)
        if isinstance(func, Unknown):
            return func
        return Unknown("a call whose result is known only at run time", ctx.module, call.span)

    def returned(self, ref: FuncRef) -> Value:
        """What a project function returns, when every return agrees."""
        fn = self.function(ref)
        if fn is None:
            return Unknown(f"{ref.fqn} cannot be found")
        if fn.is_generator:
            return Unknown(f"{ref.fqn} is a generator")
        values = [self.evaluate(r, Ctx(ref.module, fn.qualname)) for r in fn.returns if r is not None]
        if values and all(v == values[0] for v in values[1:]) and not isinstance(values[0], Unknown):
            return values[0]
        declared = self._declared_settings(fn, ref.module)
        if declared is not None:
            return declared
        if not values:
            return Unknown(f"{ref.fqn} returns nothing static")
        if all(v == values[0] for v in values[1:]):
            return values[0]
        return Unknown(f"{ref.fqn} returns different values")

    def _declared_settings(self, fn: FunctionFact, module: str) -> Value | None:
        """A settings instance from a factory's return annotation (``def get_settings() -> Settings``).

        Factories often pick the class at run time (``environments[env]()``); the
        declared settings class still gives the literal defaults S1 reads.
        """
        if fn.returns_annotation is None:
            return None
        return self._settings_instance(fn.returns_annotation, Ctx(module, fn.parent or ""))

    def _settings_instance(self, annotation: Expr, ctx: Ctx) -> Value | None:
        klass = self.evaluate(annotation, ctx)
        if isinstance(klass, ClassRef) and self.is_subclass(klass, SETTINGS_BASES):
            return Instance(klass, Call(annotation.span, annotation), ctx)
        return None

    def definition(self, expr: Expr | None, ctx: Ctx, _depth: int = 0) -> tuple[Expr, Ctx] | None:
        """The expression a name (or ``module.name``) is bound to, and where it is written.

        Follows imports across files, like ``lookup``, but returns the assigned
        expression instead of its value: for bindings ``evaluate`` cannot
        express (a dict literal, the result of calling a session factory).
        None for parameters, definitions, rebound or external names.
        """
        if expr is None or _depth > 8:
            return None
        if isinstance(expr, Attr):
            base = self.evaluate(expr.base, ctx)
            if isinstance(base, Module) and base.internal:
                facts = self.module(base.name)
                if facts is not None and facts.module_scope is not None:
                    return self._definition_in(facts, facts.module_scope, expr.attr, _depth)
            return None
        if not isinstance(expr, Name):
            return None
        facts = self.modules.get(ctx.module)
        if facts is None:
            return None
        for scope in facts.visible_scopes(ctx.scope):
            if _binds_name(scope, expr.id):
                return self._definition_in(facts, scope, expr.id, _depth)
        return None

    def _definition_in(self, facts: FileFacts, scope: Scope, name: str, depth: int) -> tuple[Expr, Ctx] | None:
        if isinstance(scope, FunctionFact) and scope.param(name) is not None:
            return None
        found: list[tuple[Expr, Ctx]] = []
        for assign in scope.assigns:
            for target in assign.targets:
                if isinstance(target, Name) and target.id == name:
                    if assign.value is None or assign.op is not None or assign.loop_depth:
                        return None
                    found.append((assign.value, Ctx(facts.module, scope.qualname)))
        for imp in scope.imports:
            if imp.bound == name and imp.name not in (None, "*"):
                source = self.module(self.absolute_module(imp, facts))
                if source is None or source.module_scope is None or source is facts:
                    return None
                if not _binds_name(source.module_scope, imp.name):
                    return None
                resolved = self._definition_in(source, source.module_scope, imp.name, depth + 1)
                if resolved is None:
                    return None
                found.append(resolved)
        if len(found) != 1:
            return None
        return found[0]

    # ----------------------------------------------------------- spellings
    @cached_property
    def _renames(self) -> tuple[dict[str, set[str]], frozenset[str]]:
        """(imported name -> the local names ``from m import name as local`` binds it to, project-wide;
        every name or attribute assigned anything: ``DB = Session``, ``self.handler = get_items``, and
        also ``f = getattr(module, "name")`` or ``f = handlers["a"]``, which evaluate may follow too)."""
        imported: dict[str, set[str]] = defaultdict(set)
        aliases: set[str] = set()
        for facts in self.modules.values():
            for scope in facts.scopes():
                for imp in scope.imports:
                    if imp.name is not None and imp.asname:
                        imported[imp.name].add(imp.asname)
                for assign in scope.assigns:
                    for target in assign.targets:
                        if isinstance(target, Name):
                            aliases.add(target.id)
                        elif isinstance(target, Attr):
                            aliases.add(target.attr)
        return dict(imported), frozenset(aliases)

    def spellings(self, names: Iterable[str]) -> frozenset[str]:
        """Every ``last_name`` (``x`` of ``x`` or ``a.x``) an expression can end in when it evaluates to
        something defined or imported as one of ``names``: the names themselves, what imports rename
        them to, and every name assigned a value (an alias, which evaluate follows).

        A rule that needs the few expressions meaning one thing evaluates only those ending in one
        of these instead of every expression of the project."""
        imported, aliases = self._renames
        out = set(names) | aliases
        pending = list(out)
        while pending:
            for local in imported.get(pending.pop(), ()):
                if local not in out:
                    out.add(local)
                    pending.append(local)
        return frozenset(out)

    # -------------------------------------------------------------- helpers
    def fqn(self, expr: Expr | None, ctx: Ctx) -> str | None:
        """The dotted name an expression refers to (``fastapi.APIRouter``, ``app.deps.get_db``)."""
        if expr is None:
            return None
        return fqn_of(self.evaluate(expr, ctx))

    def const(self, expr: Expr | None, ctx: Ctx) -> object | Unknown:
        """A constant's Python value, or the ``Unknown`` explaining why there is none."""
        value = self.evaluate(expr, ctx)
        if isinstance(value, Const):
            return value.value
        if isinstance(value, SeqValue):
            items = value.consts()
            if items is not None:
                return items
        if isinstance(value, Unknown):
            return value
        return Unknown("not a constant", ctx.module, expr.span if expr else None)

    @cached_property
    def _calls_by_callee(self) -> dict[str, list[tuple[FileFacts, CallSite, Ctx]]]:
        out: dict[str, list[tuple[FileFacts, CallSite, Ctx]]] = defaultdict(list)
        for facts, site, ctx in self.iter_calls():
            func = site.call.func
            if isinstance(func, (Name, Attr)):
                fqn = self.fqn(func, ctx)
                if fqn:
                    out[fqn].append((facts, site, ctx))
        return out

    def calls_to(self, *fqns: str) -> list[tuple[FileFacts, CallSite, Ctx]]:
        """Every call site, project-wide, whose callee resolves to one of the names."""
        out: list[tuple[FileFacts, CallSite, Ctx]] = []
        for fqn in fqns:
            out.extend(self._calls_by_callee.get(fqn, ()))
        return out


class _Lazy(Value):
    """An assignment evaluated only when the binding is used."""

    __slots__ = ("expr", "ctx")

    def __init__(self, expr: Expr, ctx: Ctx) -> None:
        self.expr = expr
        self.ctx = ctx


def _binds_name(scope: Scope, name: str) -> bool:
    """Whether a scope binds a name (parameter, assignment, import or definition)."""
    if isinstance(scope, FunctionFact) and scope.param(name) is not None:
        return True
    if name in scope.defs:
        return True
    if any(imp.bound == name and imp.name != "*" for imp in scope.imports):
        return True
    if any(w.target is not None and _binds(w.target, name) for w in scope.withs):
        return True
    if any(loop.target is not None and _binds(loop.target, name) for loop in scope.loops):
        return True
    return any(_binds(t, name) for a in scope.assigns for t in a.targets)


def _is_type(value: Value) -> bool:
    """A value that can stand in a type union: a class, an external symbol, a type form or None."""
    return isinstance(value, (Symbol, ClassRef, TypeForm)) or value == Const(None)


def _percent_format(template: str, right: Value, ctx: Ctx, expr: Expr) -> Value:
    """``"%s/v2" % API_ROOT`` with constant operands."""
    if isinstance(right, SeqValue):
        items = right.consts()
        if items is None:
            return Unknown("%-formatting of values known only at run time", ctx.module, expr.span)
        operand: object = tuple(items)
    elif isinstance(right, Const):
        operand = right.value
    else:
        return Unknown("%-formatting of values known only at run time", ctx.module, expr.span)
    try:
        return Const(template % operand)
    except (TypeError, ValueError, KeyError):
        return Unknown("%-formatting that fails", ctx.module, expr.span)


def _bound_names(target: Expr) -> Iterator[str]:
    """The names a loop target binds (``for a, (b, c) in ...``), as ``_binds`` sees them."""
    if isinstance(target, Name):
        yield target.id
    elif isinstance(target, Seq):
        for item in target.items:
            yield from _bound_names(item)


def _binds(target: Expr, name: str) -> bool:
    if isinstance(target, Name):
        return target.id == name
    if isinstance(target, Seq):
        return any(_binds(t, name) for t in target.items)
    return False


def _external_constant(fqn: str) -> Value:
    match = _STATUS_NAME.match(fqn)
    if match:
        return Const(int(match.group(1)))
    if fqn.startswith("http.HTTPStatus."):
        member = fqn.rsplit(".", 1)[1]
        if member in http.HTTPStatus.__members__:
            return Const(int(http.HTTPStatus[member]))
    return Symbol(fqn)


def _field_default(index: ProjectIndex, value: Value, fact: ClassFact, attr: str, klass: ClassRef) -> Value:
    """``x: int = Field(15)`` / ``Field(default=15)`` is 15 on the instance."""
    if isinstance(value, Instance) and fqn_of(value.type) in FIELD_FUNCTIONS:
        default = value.call.arg(0, "default")
        if default is None:
            return Unknown(f"{klass.fqn}.{attr} has no static default", klass.module, value.call.span)
        if isinstance(default, Lit) and default.value is Ellipsis:
            return Unknown(f"{klass.fqn}.{attr} is required", klass.module, value.call.span)
        return index.evaluate(default, value.ctx)
    return value
