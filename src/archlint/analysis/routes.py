"""The route table: every route's full path, from the app object down to the decorator.

Routers and apps are objects identified by the call that creates them. Routes
attach to them through decorators (``@router.get``), call-form registration
(``router.get("/x")(handler)``), ``add_api_route`` and class-based
controllers; ``include_router`` and ``mount`` connect them. A full path is a
chain of segments, each with the source location that supplies it, so a rule
can report at the prefix that is wrong rather than at every route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archlint.collect.facts import Attr, Call, Expr, FileFacts, FunctionFact, Lit, Name, Seq, Subscript
from archlint.model import Span
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, ParamValue, SeqValue, Unknown, Value

if TYPE_CHECKING:
    from archlint.index import ProjectIndex

APP_TYPES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
ROUTER_TYPES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})
STARLETTE_APPS = frozenset({"starlette.applications.Starlette"})
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
ROUTE_DECORATORS = frozenset(HTTP_METHODS) | {"api_route", "websocket"}

ObjKey = tuple[str, Span]


@dataclass(slots=True)
class Segment:
    """One piece of a full path and where it comes from."""

    kind: str  # mount, include, router, route
    text: str | None  # None: not statically known
    path: str  # file, relative to the report root
    span: Span
    reason: str = ""
    call: Call | None = None
    ctx: Ctx | None = None


@dataclass(slots=True)
class FullPath:
    app: ObjKey
    segments: tuple[Segment, ...]
    #: The app has a root_path or a middleware may rewrite paths.
    rewritten: str = ""
    #: The include/mount edges from the app down to the route's owner, outermost first.
    via: tuple[Include | Mount, ...] = ()

    @property
    def path(self) -> str | None:
        if any(s.text is None for s in self.segments):
            return None
        return "".join(s.text for s in self.segments)  # type: ignore[misc]

    def known_head(self) -> str:
        out = []
        for s in self.segments:
            if s.text is None:
                break
            out.append(s.text)
        return "".join(out)

    def first_unknown(self) -> Segment | None:
        return next((s for s in self.segments if s.text is None), None)

    @property
    def edges(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.kind in ("include", "mount"))


@dataclass(slots=True)
class Route:
    methods: tuple[str, ...]
    path_expr: Expr | None
    call: Call  # the decorator call, add_api_route call or call-form registration
    ctx: Ctx  # where the registration is written
    file: str
    owner: ObjKey
    kind: str  # decorator, add_api_route, call
    handler: FuncRef | None = None
    #: Decorator lines of the handler, for suppressions and reporting.
    full_paths: list[FullPath] = field(default_factory=list)

    def kw(self, name: str) -> Expr | None:
        return self.call.kw(name)


@dataclass(slots=True)
class Include:
    parent: ObjKey
    child: ObjKey | None
    call: Call
    ctx: Ctx
    file: str
    reason: str = ""


@dataclass(slots=True)
class Mount:
    parent: ObjKey
    child: ObjKey | None
    path_expr: Expr | None
    app: Value
    call: Call
    ctx: Ctx
    file: str


@dataclass(slots=True)
class RouterObject:
    key: ObjKey
    kind: str  # app or router
    instance: Instance
    file: str
    routes: list[Route] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)

    @property
    def call(self) -> Call:
        return self.instance.call

    @property
    def ctx(self) -> Ctx:
        return self.instance.ctx


@dataclass(slots=True)
class RouteTable:
    objects: dict[ObjKey, RouterObject]
    routes: list[Route]
    includes: list[Include]
    mounts: list[Mount]
    #: Objects mounted into or included by nothing: the applications.
    roots: list[ObjKey]
    #: Files that assign ``scope["path"]``: a middleware may rewrite paths.
    path_rewriters: list[str]
    #: The builder, kept to answer ``objects_of`` after the build.
    resolver: _Builder | None = field(default=None, repr=False, compare=False)

    @property
    def apps(self) -> list[RouterObject]:
        return [o for o in self.objects.values() if o.kind == "app"]

    def reachable(self) -> set[ObjKey]:
        seen: set[ObjKey] = set()
        stack = list(self.roots)
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            obj = self.objects[key]
            stack.extend(i.child for i in obj.includes if i.child)
            stack.extend(m.child for m in obj.mounts if m.child)
        return seen

    def objects_of(self, expr: Expr | None, ctx: Ctx) -> list[ObjKey]:
        """The app/router objects an expression may denote (``app``, a factory's local, a helper's parameter)."""
        return self.resolver.objects_of(expr, ctx) if self.resolver is not None else []

    def handler(self, index: ProjectIndex, route: Route) -> FunctionFact | None:
        return index.function(route.handler) if route.handler else None

    # ------------------------------------------------------------ building
    @classmethod
    def build(cls, index: ProjectIndex) -> RouteTable:
        return _Builder(index).build()


class _Builder:
    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.objects: dict[ObjKey, RouterObject] = {}

    def build(self) -> RouteTable:
        index = self.index
        # 1. Apps and routers: calls whose callee is (a subclass of) FastAPI or APIRouter.
        for facts, site, ctx in index.iter_calls():
            if site.context == "decorator":
                continue
            callee = index.evaluate(site.call.func, ctx)
            if not isinstance(callee, (ClassRef,)) and getattr(callee, "fqn", None) is None:
                continue
            kind = None
            if index.is_subclass(callee, APP_TYPES | STARLETTE_APPS):
                kind = "app"
            elif index.is_subclass(callee, ROUTER_TYPES):
                kind = "router"
            if kind:
                instance = Instance(callee, site.call, ctx)
                self.objects[instance.key] = RouterObject(instance.key, kind, instance, facts.path)
        routes: list[Route] = []
        includes: list[Include] = []
        mounts: list[Mount] = []
        rewriters: list[str] = []
        # 2. Decorated handlers.
        for facts in index.modules.values():
            for fn in facts.functions.values():
                for deco in fn.decorators:
                    if isinstance(deco, Call) and isinstance(deco.func, Attr) and deco.func.attr in ROUTE_DECORATORS:
                        ctx = Ctx(facts.module, fn.parent or "")
                        for owner in self.objects_of(deco.func.base, ctx):
                            route = self._route(deco, deco.func.attr, ctx, facts, owner, "decorator")
                            route.handler = FuncRef(facts.module, fn.qualname)
                            routes.append(route)
        # 3. Registration calls, includes and mounts.
        for facts, scope, ctx in index.iter_scopes():
            for assign in scope.assigns:
                for target in assign.targets:
                    if _is_scope_path(target):
                        rewriters.append(facts.path)
            for site in scope.calls:
                call = site.call
                func = call.func
                if isinstance(func, Call) and isinstance(func.func, Attr) and func.func.attr in ROUTE_DECORATORS:
                    for owner in self.objects_of(func.func.base, ctx):
                        route = self._route(func, func.func.attr, ctx, facts, owner, "call")
                        route.handler = self._funcref(call.arg(0), ctx)
                        route.call = func
                        routes.append(route)
                    continue
                if site.context == "decorator" or not isinstance(func, Attr):
                    continue
                method = func.attr
                if method not in ("add_api_route", "add_api_websocket_route", "include_router", "mount"):
                    continue
                owners = self.objects_of(func.base, ctx)
                for owner in owners:
                    if method == "include_router":
                        includes.extend(self._includes(call, ctx, facts, owner))
                    elif method == "mount":
                        app_expr = call.arg(1, "app")
                        app_value = index.evaluate(app_expr, ctx) if app_expr is not None else Unknown("no app")
                        children = self.objects_of(app_expr, ctx) if app_expr is not None else []
                        mounts.append(
                            Mount(owner, children[0] if children else None, call.arg(0, "path"), app_value, call, ctx, facts.path)
                        )
                    else:
                        methods = "websocket" if method == "add_api_websocket_route" else None
                        route = self._route(call, methods or "api_route", ctx, facts, owner, "add_api_route")
                        route.handler = self._funcref(call.arg(1, "endpoint"), ctx)
                        routes.append(route)
        for route in routes:
            self.objects[route.owner].routes.append(route)
        for inc in includes:
            self.objects[inc.parent].includes.append(inc)
        for mount in mounts:
            self.objects[mount.parent].mounts.append(mount)
        children = {i.child for i in includes if i.child} | {m.child for m in mounts if m.child}
        roots = [k for k, o in self.objects.items() if o.kind == "app" and k not in children]
        table = RouteTable(self.objects, routes, includes, mounts, roots, sorted(set(rewriters)), self)
        for root in roots:
            app = self.objects[root]
            rewritten = ""
            root_path = app.call.kw("root_path")
            if root_path is not None and index.evaluate(root_path, app.ctx) != Const(""):
                rewritten = "the application sets root_path"
            elif table.path_rewriters:
                rewritten = f"a middleware rewrites request paths ({table.path_rewriters[0]})"
            self._walk(app, (), root, rewritten, set())
        return table

    def _walk(
        self, obj: RouterObject, segments: tuple, app: ObjKey, rewritten: str, active: set, via: tuple = ()
    ) -> None:
        if obj.key in active:
            return
        active = active | {obj.key}
        if obj.kind == "router":
            prefix = obj.call.kw("prefix")
            if prefix is not None:
                segments = segments + (self._segment("router", prefix, obj.ctx, obj.file, obj.call),)
        for route in obj.routes:
            route_segment = self._segment("route", route.path_expr, route.ctx, route.file, route.call)
            route.full_paths.append(FullPath(app, segments + (route_segment,), rewritten, via))
        for inc in obj.includes:
            if inc.child is None:
                continue
            seg = self._segment("include", inc.call.kw("prefix"), inc.ctx, inc.file, inc.call)
            self._walk(self.objects[inc.child], segments + (seg,), app, rewritten, active, via + (inc,))
        for mount in obj.mounts:
            if mount.child is None:
                continue
            seg = self._segment("mount", mount.path_expr, mount.ctx, mount.file, mount.call)
            child = self.objects[mount.child]
            child_rewritten = rewritten
            root_path = child.call.kw("root_path") if child.kind == "app" else None
            if root_path is not None and self.index.evaluate(root_path, child.ctx) != Const(""):
                child_rewritten = "the mounted application sets root_path"
            self._walk(child, segments + (seg,), app, child_rewritten, active, via + (mount,))

    def _segment(self, kind: str, expr: Expr | None, ctx: Ctx, file: str, call: Call) -> Segment:
        span = call.span
        if expr is None:
            return Segment(kind, "", file, span, call=call, ctx=ctx)
        value = self.index.evaluate(expr, ctx)
        if isinstance(value, Const) and isinstance(value.value, str):
            return Segment(kind, value.value, file, span, call=call, ctx=ctx)
        reason = value.reason if isinstance(value, Unknown) else "the value is not a string"
        return Segment(kind, None, file, expr.span, reason=reason, call=call, ctx=ctx)

    def _route(self, call: Call, method: str, ctx: Ctx, facts: FileFacts, owner: ObjKey, kind: str) -> Route:
        if method == "api_route":
            methods_value = self.index.const(call.kw("methods"), ctx) if call.kw("methods") is not None else ["GET"]
            methods = tuple(str(m).upper() for m in methods_value) if isinstance(methods_value, (list, tuple)) else ("?",)
        elif method == "websocket":
            methods = ("WEBSOCKET",)
        else:
            methods = (method.upper(),)
        return Route(methods, call.arg(0, "path"), call, ctx, facts.path, owner, kind)

    def _includes(self, call: Call, ctx: Ctx, facts: FileFacts, owner: ObjKey) -> list[Include]:
        child_expr = call.arg(0, "router")
        children = self.objects_of(child_expr, ctx) if child_expr is not None else []
        if not children:
            value = self.index.evaluate(child_expr, ctx) if child_expr is not None else Unknown("no router")
            reason = value.reason if isinstance(value, Unknown) else "the included object is not a known router"
            return [Include(owner, None, call, ctx, facts.path, reason)]
        return [Include(owner, child, call, ctx, facts.path) for child in children]

    def _funcref(self, expr: Expr | None, ctx: Ctx) -> FuncRef | None:
        value = self.index.evaluate(expr, ctx) if expr is not None else None
        return value if isinstance(value, FuncRef) else None

    # ------------------------------------------------------------ objects
    def objects_of(self, expr: Expr | None, ctx: Ctx, depth: int = 0) -> list[ObjKey]:
        """The router/app objects an expression may denote (loops and parameters followed)."""
        if expr is None or depth > 3:
            return []
        loop_values = self._loop_values(expr, ctx)
        if loop_values is not None:
            return [key for value in loop_values for key in self._objects_of_value(value, depth + 1)]
        return self._objects_of_value(self.index.evaluate(expr, ctx), depth)

    def _objects_of_value(self, value: Value, depth: int) -> list[ObjKey]:
        if isinstance(value, Instance):
            return [value.key] if value.key in self.objects else []
        if isinstance(value, SeqValue):
            return [k for item in value.items for k in self._objects_of_value(item, depth)]
        if isinstance(value, ParamValue):
            return self._param_objects(value, depth)
        return []

    def _loop_values(self, expr: Expr, ctx: Ctx) -> list[Value] | None:
        """``for m in (users, items): app.include_router(m.router)`` -> each item's ``.router``."""
        attrs: list[str] = []
        root = expr
        while isinstance(root, Attr):
            attrs.insert(0, root.attr)
            root = root.base
        if not isinstance(root, Name):
            return None
        scope = self.index.scope(ctx)
        if scope is None:
            return None
        for loop in scope.loops:
            if isinstance(loop.target, Name) and loop.target.id == root.id and loop.iter is not None:
                items = self._iter_items(loop.iter, ctx)
                if items is None:
                    return None
                out = []
                for value in items:
                    for attr in attrs:
                        value = self.index.attribute(value, attr)
                    out.append(value)
                return out
        return None

    def _iter_items(self, iter_expr: Expr, ctx: Ctx) -> list[Value] | None:
        if isinstance(iter_expr, Seq):
            return [self.index.evaluate(item, ctx) for item in iter_expr.items]
        value = self.index.evaluate(iter_expr, ctx)
        return list(value.items) if isinstance(value, SeqValue) else None

    def _param_objects(self, param: ParamValue, depth: int) -> list[ObjKey]:
        fn = self.index.function(FuncRef(param.module, param.function))
        if fn is None:
            return []
        position = next((i for i, p in enumerate(fn.params) if p.name == param.name), None)
        if position is None:
            return []
        if fn.class_qualname is not None:
            position -= 1  # bound methods do not pass self
        out: list[ObjKey] = []
        for _facts, site, ctx in self.index.calls_to(f"{param.module}.{param.function}"):
            arg = site.call.arg(position, param.name) if position >= 0 else site.call.kw(param.name)
            out.extend(self.objects_of(arg, ctx, depth + 1))
        return out


def _is_scope_path(target: Expr) -> bool:
    """``scope["path"] = ...`` or ``request.scope["path"] = ...``."""
    if not isinstance(target, Subscript) or len(target.items) != 1:
        return False
    key = target.items[0]
    if not (isinstance(key, Lit) and key.value in ("path", "raw_path")):
        return False
    base = target.base
    return (isinstance(base, Name) and base.id == "scope") or (isinstance(base, Attr) and base.attr == "scope")
