"""FastAPI facts shared by the API rules (S2, S3, S7, S18): not a standard, no rules.

How FastAPI spells its own API (``Depends``, ``Security``, response classes,
``HTTPException``) is fixed by FastAPI, not by policy, so it lives here; every
policy list stays in the pack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeGuard

from archlint.analysis.routes import Include, ObjKey, Route, RouterObject, RouteTable
from archlint.collect.facts import Attr, BinOp, Call, Expr, FunctionFact, Lit, Name
from archlint.index import ProjectIndex
from archlint.names import ANNOTATED, DEPENDS, RESPONSE_MODULES, RESPONSES
from archlint.values import ClassRef, Const, Ctx, Instance, Symbol, TypeForm, Unknown, Value, fqn_of

PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


# --------------------------------------------------------------------------- #
# Dependencies
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class Dependency:
    """One ``Depends(...)``/``Security(...)``: the callable it names and where it is written."""

    #: The dependency callable's expression; for ``Depends()`` the annotated type.
    target: Expr | None
    ctx: Ctx
    call: Call
    #: The parameter it feeds (None for ``dependencies=[...]``).
    param: str | None = None


def is_depends(index: ProjectIndex, value: Value) -> bool:
    return _depends_marker(value)


def _depends_marker(value: Value) -> TypeGuard[Instance]:
    """A ``Depends(...)`` (or ``Security(...)``) marker."""
    return isinstance(value, Instance) and fqn_of(value.type) in DEPENDS


def _from_instance(value: Instance, type_expr: Expr | None, type_ctx: Ctx, param: str | None) -> Dependency:
    target = value.call.arg(0, "dependency")
    if target is None or (isinstance(target, Lit) and target.value is None):
        return Dependency(type_expr, type_ctx, value.call, param)
    return Dependency(target, value.ctx, value.call, param)


def annotated_parts(index: ProjectIndex, annotation: Expr | None, ctx: Ctx) -> TypeForm | None:
    """The ``Annotated[...]`` type form an annotation is or aliases, across modules."""
    if annotation is None:
        return None
    annotation = _forward_ref(annotation) or annotation
    value = index.evaluate(annotation, ctx)
    if isinstance(value, TypeForm) and fqn_of(value.origin) in ANNOTATED and value.exprs:
        return value
    return None


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _forward_ref(annotation: Expr) -> Expr | None:
    """``"CurrentUser"`` / ``"deps.CurrentUser"``: a string annotation naming a type, as an expression."""
    if not (isinstance(annotation, Lit) and isinstance(annotation.value, str)):
        return None
    text = annotation.value.strip()
    if not _DOTTED.fullmatch(text):
        return None
    head, *rest = text.split(".")
    expr: Expr = Name(annotation.span, head)
    for part in rest:
        expr = Attr(annotation.span, expr, part)
    return expr


def param_dependencies(index: ProjectIndex, fn: FunctionFact, ctx: Ctx) -> tuple[list[Dependency], bool]:
    """Every dependency a function's parameters declare, and whether some could not be read.

    ``x: Annotated[T, Depends(f)]`` (also through an alias defined elsewhere) and
    ``x: T = Depends(f)``; an empty ``Depends()`` names the annotated type.
    """
    out: list[Dependency] = []
    unknown = False
    for param in fn.params:
        if param.kind in ("vararg", "kwarg"):
            continue
        form = annotated_parts(index, param.annotation, ctx)
        if form is not None:
            for item in form.args[1:]:
                if _depends_marker(item):
                    out.append(_from_instance(item, form.exprs[0], form.ctx, param.name))
        elif param.annotation is not None and param.default is None:
            written = _forward_ref(param.annotation) or param.annotation
            if isinstance(written, Lit) and isinstance(written.value, str):
                unknown = True  # a string annotation archlint does not parse may hide a dependency
            elif isinstance(index.evaluate(written, ctx), Unknown) and isinstance(written, (Name, Attr)):
                # An alias archlint cannot read may hide an Annotated dependency.
                unknown = unknown or _might_be_alias(written)
        if isinstance(param.default, (Call, Name, Attr)):
            # ``x: T = Depends(f)``, or ``x: T = current_user`` with ``current_user = Depends(f)``.
            value = index.evaluate(param.default, ctx)
            if _depends_marker(value):
                out.append(_from_instance(value, param.annotation, ctx, param.name))
    return out, unknown


def class_dependencies(index: ProjectIndex, fn: FunctionFact, ctx: Ctx) -> list[Dependency]:
    """Dependencies declared as attributes of a class-based view (``@cbv``) the handler is a method of.

    Base classes count (``class AdminView(UserView)`` where ``UserView`` declares
    ``user = Depends(get_current_user)``); a subclass attribute of the same name
    replaces the base's, as in Python.
    """
    if fn.class_qualname is None:
        return []
    out: list[Dependency] = []
    seen: set[str] = set()
    for klass_ref in index.mro(ClassRef(ctx.module, fn.class_qualname)):
        if not isinstance(klass_ref, ClassRef):
            continue
        klass = index.class_fact(klass_ref)
        if klass is None:
            continue
        where = Ctx(klass_ref.module, klass.qualname)
        names: set[str] = set()
        for assign in klass.assigns:
            name = next((t.id for t in assign.targets if isinstance(t, Name)), None)
            if name is None or name in seen:
                continue
            names.add(name)
            form = annotated_parts(index, assign.annotation, where)
            if form is not None:
                out.extend(_from_instance(item, form.exprs[0], form.ctx, name) for item in form.args[1:] if _depends_marker(item))
            if isinstance(assign.value, Call):
                value = index.evaluate(assign.value, where)
                if _depends_marker(value):
                    out.append(_from_instance(value, assign.annotation, where, name))
        seen |= names
    return out


def _might_be_alias(expr: Expr) -> bool:
    name = expr.attr if isinstance(expr, Attr) else expr.id if isinstance(expr, Name) else ""
    return bool(name) and name[:1].isupper()


def list_dependencies(index: ProjectIndex, expr: Expr | None, ctx: Ctx) -> list[Dependency] | None:
    """``dependencies=[Depends(a), Security(b)]``; None when the list cannot be read."""
    if expr is None:
        return []
    if isinstance(expr, BinOp) and expr.op == "Add":  # [Depends(a)] + COMMON_DEPENDENCIES
        left = list_dependencies(index, expr.left, ctx)
        right = list_dependencies(index, expr.right, ctx)
        return None if left is None or right is None else left + right
    value = index.evaluate(expr, ctx)
    items = getattr(value, "items", None)
    if not isinstance(items, tuple):
        return None
    out: list[Dependency] = []
    for item in items:
        if is_depends(index, item):
            out.append(_from_instance(item, None, ctx, None))
        else:
            return None
    return out


# --------------------------------------------------------------------------- #
# Status codes and responses
# --------------------------------------------------------------------------- #


def is_response_class(index: ProjectIndex, value: Value) -> bool:
    """A Starlette/FastAPI ``Response`` class or a project subclass of one."""
    if not isinstance(value, (ClassRef, Symbol)):
        return False
    for klass in index.mro(value):
        fqn = fqn_of(klass) or ""
        if fqn in RESPONSES or (fqn.startswith(RESPONSE_MODULES) and fqn.rsplit(".", 1)[1][:1].isupper()):
            return True
    return False


def route_status(index: ProjectIndex, route: Route) -> int | Unknown | None:
    """The decorator's ``status_code``: an int, None when absent, Unknown when unresolved."""
    expr = route.kw("status_code")
    if expr is None:
        return None
    value = index.const(expr, route.ctx)
    if isinstance(value, Unknown):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        return Unknown("the status code is not an integer")
    return value


def runtime_statuses(index: ProjectIndex, fn: FunctionFact, ctx: Ctx) -> list[int | Unknown]:
    """Status codes a handler sets at run time.

    ``response.status_code = 201`` on an injected response, or a returned
    ``JSONResponse(..., status_code=201)`` / ``Response(status_code=204)``.
    """
    out: list[int | Unknown] = []
    params = {p.name for p in fn.params}
    for assign in fn.assigns:
        for target in assign.targets:
            if isinstance(target, Attr) and target.attr == "status_code" and isinstance(target.base, Name):
                if target.base.id in params and assign.value is not None:
                    out.append(_int(index.const(assign.value, ctx)))
    for ret in fn.returns:
        if isinstance(ret, Call) and is_response_class(index, index.evaluate(ret.func, ctx)):
            status = ret.arg(1, "status_code")
            if status is None:
                default = _class_default(index, ret, ctx)
                out.append(default if default is not None else Unknown("a response class's default status"))
            else:
                out.append(_int(index.const(status, ctx)))
    return out


def _class_default(index: ProjectIndex, call: Call, ctx: Ctx) -> int | None:
    """Starlette response classes answer 200 unless told otherwise (RedirectResponse: 307)."""
    fqn = index.fqn(call.func, ctx) or ""
    if fqn.endswith("RedirectResponse"):
        return 307
    if fqn.startswith(RESPONSE_MODULES) or fqn in RESPONSES:
        return 200
    return None


def _int(value: object) -> int | Unknown:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        return Unknown("not an integer status code")
    return value


def returns_body(index: ProjectIndex, fn: FunctionFact, ctx: Ctx) -> bool:
    """Whether a handler returns something other than None or a Response object."""
    for ret in fn.returns:
        if ret is None or (isinstance(ret, Lit) and ret.value is None):
            continue
        if isinstance(ret, Call) and is_response_class(index, index.evaluate(ret.func, ctx)):
            continue
        return True
    return False


def is_none_annotation(expr: Expr | None) -> bool:
    return isinstance(expr, Lit) and expr.value is None


# --------------------------------------------------------------------------- #
# Router chains
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class Chain:
    """One way a route's router reaches the outside: the objects and the include calls on it."""

    objects: tuple[RouterObject, ...]  # the owner first, the outermost last
    includes: tuple[Include, ...]
    #: The outermost object is an application (not a router nobody includes).
    reaches_app: bool


#: The last route table and its chains by owner: every API rule asks for them, route by route.
_CHAINS: list[tuple[RouteTable, dict[ObjKey, list[Chain]]]] = []


def chains(table: RouteTable, owner: ObjKey, limit: int = 64) -> list[Chain]:
    """Every way from a router up to an application (or to a router nobody includes)."""
    if not _CHAINS or _CHAINS[0][0] is not table:
        _CHAINS[:] = [(table, {})]
    cache = _CHAINS[0][1]
    if owner not in cache:
        cache[owner] = _chains(table, owner, limit)
    return cache[owner]


def _chains(table: RouteTable, owner: ObjKey, limit: int) -> list[Chain]:
    parents: dict[ObjKey, list[Include]] = {}
    for inc in table.includes:
        if inc.child is not None:
            parents.setdefault(inc.child, []).append(inc)
    out: list[Chain] = []

    def walk(key: ObjKey, objects: tuple[RouterObject, ...], includes: tuple[Include, ...], seen: frozenset[ObjKey]) -> None:
        if len(out) >= limit:
            return
        obj = table.objects[key]
        objects = objects + (obj,)
        ups = [i for i in parents.get(key, []) if i.parent not in seen] if obj.kind != "app" else []
        if not ups:
            out.append(Chain(objects, includes, obj.kind == "app"))
            return
        for inc in ups:
            walk(inc.parent, objects, includes + (inc,), seen | {inc.parent})

    walk(owner, (), (), frozenset({owner}))
    return out


def unresolved_include_sets(table: RouteTable, keyword: str) -> bool:
    """Whether an ``include_router`` call whose router archlint cannot resolve passes ``keyword``.

    A router no traced chain reaches may be included by that call, so what the
    call adds (tags, dependencies, responses) is unknown for it. So is what the
    caller of a router factory no chain reaches adds (a library's routers).
    """
    if table.open_factories():
        return True  # a router factory's caller is outside the project and may pass anything
    return any(inc.child is None and inc.call.kw(keyword) is not None for inc in table.includes)


def handler_ctx(route: Route) -> Ctx | None:
    if route.handler is None:
        return None
    return Ctx(route.handler.module, route.handler.qualname)


def route_label(route: Route, table: RouteTable | None = None) -> str:
    """``GET /api/v1/items/{id}``: the full path when known, else what is known, said as such.

    Never prints an empty or ``?`` path: a router-relative path says so, and a
    path archlint cannot read names the handler instead.
    """
    methods = "/".join(route.methods)
    paths = sorted({re.sub(r"/{2,}", "/", p) or "/" for fp in route.full_paths if (p := fp.path) is not None})
    if paths:
        return f"{methods} {paths[0]}"
    handler = f"`{route.handler.qualname.rsplit('.', 1)[-1]}`" if route.handler is not None else "its handler"
    literal = route.path_expr.value if isinstance(route.path_expr, Lit) and isinstance(route.path_expr.value, str) else None
    if literal is None:
        return f"{methods} {handler} (its path is not resolved)"
    if not literal or literal == "/":
        return f"{methods} {handler} (at the root of its router, whose prefix is not resolved)"
    return f"{methods} {re.sub(r'/{2,}', '/', literal)} (relative to a prefix that is not resolved)"


def const_str(index: ProjectIndex, expr: Expr | None, ctx: Ctx) -> str | None:
    if expr is None:
        return None
    value = index.evaluate(expr, ctx)
    return value.value if isinstance(value, Const) and isinstance(value.value, str) else None
