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

from archlint.collect.facts import (
    Attr,
    Await,
    BinOp,
    Call,
    DictExpr,
    Expr,
    FileFacts,
    FString,
    FunctionFact,
    Lit,
    Name,
    Param,
    Seq,
    Starred,
    Subscript,
)
from archlint.model import Span
from archlint.names import APP_TYPES, FORM_PARAMS, HTML_RESPONSES, REDIRECT_RESPONSES, ROUTER_TYPES, STARLETTE_APPS
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, ParamValue, SeqValue, Symbol, Unknown, Value

if TYPE_CHECKING:
    from archlint.index import ProjectIndex

NO_DOCUMENT = "its application sets `openapi_url=None`"
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
ROUTE_DECORATORS = frozenset(HTTP_METHODS) | {"api_route", "websocket"}

ObjKey = tuple[str, Span]
#: A factory call's arguments: (module, function, parameter) -> the value the call gives it.
Params = dict[tuple[str, str, str], Value]
#: How many parameters and loop variables ``objects_of`` follows back to a router.
_MAX_FOLLOW = 6


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
    #: The text comes from the arguments of the call that made the router
    #: (``get_login_router("github")``): ``path`` and ``span`` are that call's.
    from_arguments: bool = False


@dataclass(slots=True)
class FullPath:
    app: ObjKey
    segments: tuple[Segment, ...]
    #: The app has a root_path or a middleware may rewrite paths.
    rewritten: str = ""
    #: The include/mount edges from the app down to the route's owner, outermost first.
    via: tuple[Include | Mount, ...] = ()
    #: The route's methods on this path when a factory call's arguments decide them
    #: (``methods=[callback_method]``); None: the route's own.
    methods: tuple[str, ...] | None = None

    @property
    def path(self) -> str | None:
        texts = [s.text for s in self.segments if s.text is not None]
        if len(texts) != len(self.segments):
            return None
        return "".join(texts)

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
    #: The loop variables of this iteration, for an include inside a loop
    #: (``for prefix, router in ROUTERS.items(): app.include_router(router, prefix=prefix)``).
    env: dict[str, Value] | None = None
    #: When the included router is made by a function called right here
    #: (``app.include_router(get_login_router("github"))``): that call's
    #: arguments, which decide the router's prefix and its routes' paths.
    params: Params | None = None


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
    #: For an object known only as a function's parameter that no traced call
    #: passes anything to: the parameter (its routes have no known prefix).
    parameter: ParamValue | None = None
    #: Where ``dependencies=`` for every route of the object are written: the
    #: constructor call, and the ``super().__init__(dependencies=...)`` of an
    #: ``APIRouter`` subclass (``class UserRouter(APIRouter)``).
    dependency_sources: list[tuple[Expr | None, Ctx]] = field(default_factory=list)

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
    #: Routers their enclosing function returns (router factories): whoever
    #: includes them may be outside the project (a library's caller).
    returned: frozenset[ObjKey] = frozenset()
    #: The builder, kept to answer ``objects_of`` after the build.
    resolver: _Builder | None = field(default=None, repr=False, compare=False)
    #: Answers computed on demand, by route: why it is not in its document, whether it serves a page.
    _openapi_answers: dict[int, str] = field(default_factory=dict, repr=False, compare=False)
    _page_answers: dict[int, bool] = field(default_factory=dict, repr=False, compare=False)

    def child(self, edge: Include | Mount) -> RouterObject:
        """The router or application an edge of a ``FullPath.via`` brings in (a full path only crosses known ones)."""
        if edge.child is None:
            raise KeyError(f"the {type(edge).__name__.lower()} at {edge.file} brings in no known object")
        return self.objects[edge.child]

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

    def open_factories(self) -> set[ObjKey]:
        """Routers returned by a function that no traced chain includes: their includer is not in the project."""
        return set(self.returned) - self.reachable()

    def objects_of(self, expr: Expr | None, ctx: Ctx) -> list[ObjKey]:
        """The app/router objects an expression may denote (``app``, a factory's local, a helper's parameter)."""
        return self.resolver.objects_of(expr, ctx) if self.resolver is not None else []

    def handler(self, index: ProjectIndex, route: Route) -> FunctionFact | None:
        return index.function(route.handler) if route.handler else None

    # ------------------------------------------------------------ documents and pages
    def not_in_openapi(self, route: Route) -> str:
        """Why no OpenAPI document lists the route ("" when one does, or may).

        FastAPI leaves a route out of its application's document when the
        route, its router, or an ``include_router`` call on the way says
        ``include_in_schema=False``, and an application built with
        ``openapi_url=None`` has no document at all. A mounted application has
        its own document, so the application nearest the route decides.
        Websockets are never in a document.
        """
        cache = self._openapi_answers
        key = id(route)
        if key not in cache:
            cache[key] = self._not_in_openapi(route)
        return cache[key]

    def _false(self, call: Call, ctx: Ctx, keyword: str) -> bool:
        expr = call.kw(keyword)
        if expr is None or self.resolver is None:
            return False
        value = self.resolver.index.evaluate(expr, ctx)
        return isinstance(value, Const) and value.value in (False, None)

    def _not_in_openapi(self, route: Route) -> str:
        if not route.full_paths:  # not reached from an application: its own flags, or its app's
            return self.path_not_in_openapi(route, FullPath(route.owner, ()))
        reasons = [self.path_not_in_openapi(route, fp) for fp in route.full_paths]
        return "" if not all(reasons) else reasons[0]

    def path_not_in_openapi(self, route: Route, fp: FullPath) -> str:
        """Why the document of the application at the top of ``fp`` does not list the route ("" when it does)."""
        if "WEBSOCKET" in route.methods:
            return "a websocket is not an OpenAPI operation"
        if self._false(route.call, route.ctx, "include_in_schema"):
            return "the route sets `include_in_schema=False`"
        owner = self.objects[route.owner]
        if self._false(owner.call, owner.ctx, "include_in_schema"):
            return "its router sets `include_in_schema=False`"
        document = self.objects.get(fp.app)
        for edge in fp.via:
            if isinstance(edge, Include) and self._false(edge.call, edge.ctx, "include_in_schema"):
                return "it is included with `include_in_schema=False`"
            child = self.objects.get(edge.child) if edge.child else None
            if child is not None and child.kind == "router" and self._false(child.call, child.ctx, "include_in_schema"):
                return "a router it is included through sets `include_in_schema=False`"
            if child is not None and child.kind == "app":
                document = child
        if document is not None and self._false(document.call, document.ctx, "openapi_url"):
            return NO_DOCUMENT
        return ""

    def for_browser(self, route: Route) -> bool:
        """A page, a form action, or a route of an application without an OpenAPI document (a back office)."""
        return self.serves_page(route) or self.not_in_openapi(route) == NO_DOCUMENT

    def serves_page(self, route: Route) -> bool:
        """Whether the route answers a browser rather than an API client.

        An HTML page (``response_class=HTMLResponse``, a returned
        ``HTMLResponse`` or ``templates.TemplateResponse(...)``, also through a
        project helper that returns one) or an HTML form's action (``Form(...)``
        parameters and a redirect or page answer).
        """
        cache = self._page_answers
        key = id(route)
        if key not in cache:
            cache[key] = self._serves_page(route)
        return cache[key]

    def _serves_page(self, route: Route) -> bool:
        if self.resolver is None:
            return False
        index = self.resolver.index
        for call, ctx, keyword in (
            (route.call, route.ctx, "response_class"),
            (self.objects[route.owner].call, self.objects[route.owner].ctx, "default_response_class"),
        ):
            expr = call.kw(keyword)
            if expr is not None and index.is_subclass(index.evaluate(expr, ctx), HTML_RESPONSES):
                return True
        fn = index.function(route.handler) if route.handler else None
        if fn is None or route.handler is None:
            return False
        ctx = Ctx(route.handler.module, route.handler.qualname)
        answers = self._answers_of(fn, ctx, 0)
        if "page" in answers:
            return True
        if "redirect" in answers:
            for param in fn.params:
                default = param.default
                if isinstance(default, Call) and index.fqn(default.func, ctx) in FORM_PARAMS:
                    return True
                annotation = param.annotation
                if isinstance(annotation, Subscript) and any(
                    isinstance(item, Call) and index.fqn(item.func, ctx) in FORM_PARAMS for item in annotation.items
                ):
                    return True
        return False

    def _answers_of(self, fn: FunctionFact, ctx: Ctx, depth: int) -> set[str]:
        """What kinds of response a function returns: "page", "redirect" (others are not told)."""
        assert self.resolver is not None
        index = self.resolver.index
        out: set[str] = set()
        for ret in fn.returns:
            if isinstance(ret, Await):
                ret = ret.value
            if not isinstance(ret, Call):
                continue
            if isinstance(ret.func, Attr) and ret.func.attr in ("TemplateResponse", "get_template"):
                out.add("page")
                continue
            value = index.evaluate(ret.func, ctx)
            if index.is_subclass(value, HTML_RESPONSES):
                out.add("page")
            elif index.is_subclass(value, REDIRECT_RESPONSES):
                out.add("redirect")
            elif isinstance(value, FuncRef) and depth < 2:
                helper = index.function(value)
                if helper is not None:
                    out |= self._answers_of(helper, Ctx(value.module, value.qualname), depth + 1)
        return out

    # ------------------------------------------------------------ building
    @classmethod
    def build(cls, index: ProjectIndex) -> RouteTable:
        return _Builder(index).build()


class _Builder:
    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.objects: dict[ObjKey, RouterObject] = {}

    def _callback_routers(self, routes: list[Route], includes: list[Include]) -> set[ObjKey]:
        """Routers whose routes are given as ``callbacks=`` (to a route, a router or an include)."""
        places = [(r.call.kw("callbacks"), r.ctx) for r in routes]
        places += [(o.call.kw("callbacks"), o.ctx) for o in self.objects.values()]
        places += [(i.call.kw("callbacks"), i.ctx) for i in includes]
        out: set[ObjKey] = set()
        for expr, ctx in places:
            if expr is None:
                continue
            items = expr.items if isinstance(expr, Seq) else (expr,)
            for item in items:
                if isinstance(item, Starred):
                    item = item.value
                base = item.base if isinstance(item, Attr) and item.attr == "routes" else item
                out.update(self.objects_of(base, ctx))
        return out

    def build(self) -> RouteTable:
        index = self.index
        # 1. Apps and routers: calls whose callee is (a subclass of) FastAPI or APIRouter.
        for facts, site, ctx in index.iter_calls():
            if site.context == "decorator":
                continue
            callee = index.evaluate(site.call.func, ctx)
            if not isinstance(callee, (ClassRef, Symbol)):  # only a class makes an app or a router
                continue
            if index.is_subclass(callee, APP_TYPES | STARLETTE_APPS):
                kind = "app"
            elif index.is_subclass(callee, ROUTER_TYPES):
                kind = "router"
            else:
                continue
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
                        for owner in self._owners(deco.func.base, ctx):
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
                    for owner in self._owners(func.func.base, ctx):
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
                owners = self._owners(func.base, ctx)
                for owner in owners:
                    if method == "include_router":
                        includes.extend(self._includes(call, ctx, facts, owner))
                    elif method == "mount":
                        app_expr = call.arg(1, "app")
                        app_value = index.evaluate(app_expr, ctx) if app_expr is not None else Unknown("no app")
                        mounted = self.objects_of(app_expr, ctx) if app_expr is not None else []
                        mounts.append(
                            Mount(owner, mounted[0] if mounted else None, call.arg(0, "path"), app_value, call, ctx, facts.path)
                        )
                    else:
                        methods = "websocket" if method == "add_api_websocket_route" else None
                        route = self._route(call, methods or "api_route", ctx, facts, owner, "add_api_route")
                        route.handler = self._funcref(call.arg(1, "endpoint"), ctx)
                        routes.append(route)
        # 4. OpenAPI callback routers (``callbacks=router.routes``) document another server's endpoint:
        #    their paths hold runtime expressions and nothing serves them.
        callback_routers = self._callback_routers(routes, includes)
        routes = [r for r in routes if r.owner not in callback_routers]
        for obj in self.objects.values():
            obj.dependency_sources = [(obj.call.kw("dependencies"), obj.ctx), *self._inherited_dependencies(obj)]
        for route in routes:
            self.objects[route.owner].routes.append(route)
        for inc in includes:
            self.objects[inc.parent].includes.append(inc)
        for mount in mounts:
            self.objects[mount.parent].mounts.append(mount)
        children = {i.child for i in includes if i.child} | {m.child for m in mounts if m.child}
        roots = [k for k, o in self.objects.items() if o.kind == "app" and k not in children]
        returned = frozenset(
            key
            for key, obj in self.objects.items()
            if obj.kind == "router"
            and obj.ctx.scope
            and index.function(FuncRef(obj.ctx.module, obj.ctx.scope)) is not None
            and index.returned(FuncRef(obj.ctx.module, obj.ctx.scope)) == obj.instance
        )
        table = RouteTable(self.objects, routes, includes, mounts, roots, sorted(set(rewriters)), returned, self)
        for root in roots:
            app = self.objects[root]
            rewritten = ""
            root_path = app.call.kw("root_path")
            if root_path is not None and index.evaluate(root_path, app.ctx) != Const(""):
                rewritten = "the application sets root_path"
            elif table.path_rewriters:
                rewritten = f"a middleware rewrites request paths ({table.path_rewriters[0]})"
            self._walk(app, (), root, rewritten, set())
        for route in routes:
            route.full_paths = _distinct(route.full_paths)
        return table

    def _walk(
        self,
        obj: RouterObject,
        segments: tuple[Segment, ...],
        app: ObjKey,
        rewritten: str,
        active: set[ObjKey],
        via: tuple[Include | Mount, ...] = (),
        params: Params | None = None,
        origin: tuple[str, Span] | None = None,
    ) -> None:
        if obj.key in active:
            return
        active = active | {obj.key}
        if obj.kind == "router":
            prefix = obj.call.kw("prefix")
            if prefix is not None:
                segments = segments + (self._segment("router", prefix, obj.ctx, obj.file, obj.call, None, params, origin),)
        for route in obj.routes:
            route_segment = self._segment("route", route.path_expr, route.ctx, route.file, route.call, None, params, origin)
            methods = self._methods_with(route, params) if params and "?" in route.methods else None
            route.full_paths.append(FullPath(app, segments + (route_segment,), rewritten, via, methods))
        for inc in obj.includes:
            if inc.child is None:
                continue
            seg = self._segment("include", inc.call.kw("prefix"), inc.ctx, inc.file, inc.call, inc.env, params, origin)
            inner, inner_origin = params, origin
            if inc.params:
                factory = inc.call.arg(0, "router")
                inner = {**(params or {}), **inc.params}
                inner_origin = (inc.file, factory.span if factory is not None else inc.call.span)
            self._walk(self.objects[inc.child], segments + (seg,), app, rewritten, active, via + (inc,), inner, inner_origin)
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

    def _segment(
        self,
        kind: str,
        expr: Expr | None,
        ctx: Ctx,
        file: str,
        call: Call,
        env: dict[str, Value] | None = None,
        params: Params | None = None,
        origin: tuple[str, Span] | None = None,
    ) -> Segment:
        span = call.span
        if expr is None:
            return Segment(kind, "", file, span, call=call, ctx=ctx)
        value = self._evaluate(expr, ctx, env, params)
        if isinstance(value, ParamValue):
            value = self._argument(value, 0)
        if isinstance(value, Const) and isinstance(value.value, str):
            text = value.value
            if kind == "mount":
                text = text.rstrip("/")  # Starlette's Mount("/") matches "" + the sub-app's path
            if params and origin is not None and self._evaluate(expr, ctx, env) != value:
                return Segment(kind, text, origin[0], origin[1], call=call, ctx=ctx, from_arguments=True)
            return Segment(kind, text, file, span, call=call, ctx=ctx)
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
        envs = self._loop_envs(child_expr, ctx) if child_expr is not None else None
        prefix = call.kw("prefix")
        if envs is None and prefix is not None:
            # ``for kind in ("/a", "/b"): app.include_router(router, prefix=kind)``: one include per iteration.
            envs = self._loop_envs(prefix, ctx)
        if child_expr is not None and envs:
            # One include per iteration of a loop over a literal collection.
            out: list[Include] = []
            for env in envs:
                value = self._evaluate(child_expr, ctx, env)
                children = self._objects_of_value(value, 0)
                if not children:
                    reason = value.reason if isinstance(value, Unknown) else "the included object is not a known router"
                    out.append(Include(owner, None, call, ctx, facts.path, reason, env))
                out.extend(Include(owner, child, call, ctx, facts.path, env=env) for child in children)
            return out
        children = self.objects_of(child_expr, ctx) if child_expr is not None else []
        if not children:
            value = self.index.evaluate(child_expr, ctx) if child_expr is not None else Unknown("no router")
            reason = value.reason if isinstance(value, Unknown) else "the included object is not a known router"
            return [Include(owner, None, call, ctx, facts.path, reason)]
        params = self._call_params(child_expr, ctx) if isinstance(child_expr, Call) else None
        return [Include(owner, child, call, ctx, facts.path, params=params) for child in children]

    def _call_params(self, call: Call, ctx: Ctx) -> Params | None:
        """What a call of a project function gives each of its parameters (the default where it gives none)."""
        ref = self.index.evaluate(call.func, ctx)
        fn = self.index.function(ref) if isinstance(ref, FuncRef) else None
        if fn is None or not isinstance(ref, FuncRef):
            return None
        out: Params = {}
        for position, declared in enumerate(fn.params):
            if declared.kind in ("vararg", "kwarg"):
                continue
            value = self._passed(ref, fn, declared, position, call, ctx)
            if value is not None:
                out[(ref.module, ref.qualname, declared.name)] = value
        return out or None

    def _passed(self, ref: FuncRef, fn: FunctionFact, declared: Param, position: int, call: Call, ctx: Ctx) -> Value | None:
        """The value one call gives a parameter: its argument, else the default; None when unknowable."""
        if any(isinstance(a, Starred) for a in call.args) or any(k is None for k, _ in call.kwargs):
            return None
        if fn.class_qualname is not None:
            position -= 1  # bound methods do not pass self
        positional = position if declared.kind in ("posonly", "normal") and position >= 0 else 10_000
        arg = call.arg(positional, declared.name)
        if arg is not None:
            return self.index.evaluate(arg, ctx)
        if declared.default is None:
            return None
        return self.index.evaluate(declared.default, Ctx(ref.module, fn.parent or ""))

    def _evaluate(self, expr: Expr, ctx: Ctx, env: dict[str, Value] | None, params: Params | None = None) -> Value:
        """``evaluate``, with a loop iteration's variables bound (``router``, ``module.router``)
        and a factory call's parameters (``f"/{identifier}"``, ``"/" + identifier``)."""
        if env:
            attrs: list[str] = []
            root = expr
            while isinstance(root, Attr):
                attrs.insert(0, root.attr)
                root = root.base
            if isinstance(root, Name) and root.id in env:
                value = env[root.id]
                for attr in attrs:
                    value = self.index.attribute(value, attr)
                return value
        if params:
            return self._substituted(expr, ctx, params)
        return self.index.evaluate(expr, ctx)

    def _methods_with(self, route: Route, params: Params) -> tuple[str, ...] | None:
        """``methods=[callback_method]`` with a factory call's arguments bound."""
        expr = route.kw("methods")
        if not isinstance(expr, Seq):
            return None
        values = [self._substituted(item, route.ctx, params) for item in expr.items]
        if not values or not all(isinstance(v, Const) and isinstance(v.value, str) for v in values):
            return None
        return tuple(str(v.value).upper() for v in values if isinstance(v, Const))

    def _substituted(self, expr: Expr, ctx: Ctx, params: Params) -> Value:
        if isinstance(expr, Name):
            value = self.index.evaluate(expr, ctx)
            if isinstance(value, ParamValue):
                return params.get((value.module, value.function, value.name), value)
            return value
        if isinstance(expr, FString) and not expr.formatted:
            parts = [self._substituted(part, ctx, params) for part in expr.parts]
            if all(isinstance(p, Const) for p in parts):
                return Const("".join(str(p.value) for p in parts if isinstance(p, Const)))
        if isinstance(expr, BinOp) and expr.op == "Add":
            left, right = self._substituted(expr.left, ctx, params), self._substituted(expr.right, ctx, params)
            if (
                isinstance(left, Const)
                and isinstance(right, Const)
                and isinstance(left.value, str)
                and isinstance(right.value, str)
            ):
                return Const(left.value + right.value)
        return self.index.evaluate(expr, ctx)

    def _funcref(self, expr: Expr | None, ctx: Ctx) -> FuncRef | None:
        value = self.index.evaluate(expr, ctx) if expr is not None else None
        return value if isinstance(value, FuncRef) else None

    def _inherited_dependencies(self, obj: RouterObject) -> list[tuple[Expr | None, Ctx]]:
        """``dependencies=`` a project subclass of APIRouter/FastAPI passes to ``super().__init__``."""
        out: list[tuple[Expr | None, Ctx]] = []
        for klass in self.index.mro(obj.instance.type):
            if not isinstance(klass, ClassRef):
                continue
            fact = self.index.class_fact(klass)
            if fact is None or "__init__" not in fact.defs:
                continue
            init = self.index.function(FuncRef(klass.module, fact.defs["__init__"]))
            if init is None:
                continue
            for site in init.calls:
                func = site.call.func
                if (
                    isinstance(func, Attr)
                    and func.attr == "__init__"
                    and isinstance(func.base, Call)
                    and isinstance(func.base.func, Name)
                    and func.base.func.id == "super"
                    and site.call.kw("dependencies") is not None
                ):
                    out.append((site.call.kw("dependencies"), Ctx(klass.module, init.qualname)))
        return out

    # ------------------------------------------------------------ objects
    def _owners(self, expr: Expr, ctx: Ctx) -> list[ObjKey]:
        """The objects a registration is written on; a parameter typed as an app or router
        that no traced call passes anything to stands for an object of its own."""
        keys = self.objects_of(expr, ctx)
        if keys:
            return keys
        value = self.index.evaluate(expr, ctx)
        if not isinstance(value, ParamValue) or value.annotation is None:
            return []
        fn = self.index.function(FuncRef(value.module, value.function))
        param = fn.param(value.name) if fn is not None else None
        if fn is None or param is None:
            return []
        kind_ctx = Ctx(value.module, fn.parent or "")
        annotation = self.index.evaluate(value.annotation, kind_ctx)
        if not isinstance(annotation, (ClassRef, Symbol)) or not self.index.is_subclass(
            annotation, APP_TYPES | STARLETTE_APPS | ROUTER_TYPES
        ):
            return []
        key = (value.module, param.span)
        if key not in self.objects:
            facts = self.index.file_of(value.module)
            instance = Instance(annotation, Call(param.span, value.annotation), kind_ctx)
            self.objects[key] = RouterObject(key, "router", instance, facts.path if facts else "", parameter=value)
        return [key]

    def objects_of(self, expr: Expr | None, ctx: Ctx, depth: int = 0) -> list[ObjKey]:
        """The router/app objects an expression may denote (loops and parameters followed)."""
        if expr is None or depth > _MAX_FOLLOW:
            return []
        loop_values = self._loop_values(expr, ctx)
        if loop_values is not None:
            keys = [key for value in loop_values for key in self._objects_of_value(value, depth + 1)]
        else:
            keys = self._objects_of_value(self.index.evaluate(expr, ctx), depth)
        return list(dict.fromkeys(keys))  # several call sites may pass the same object

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
        envs = self._loop_envs(expr, ctx)
        if envs is None:
            return None
        return [self._evaluate(expr, ctx, env) for env in envs]

    def _loop_envs(self, expr: Expr, ctx: Ctx) -> list[dict[str, Value]] | None:
        """The loop variables of each iteration, when ``expr`` reads a loop variable of a literal collection."""
        root = expr
        while isinstance(root, Attr):
            root = root.base
        if not isinstance(root, Name):
            return None
        scope = self.index.scope(ctx)
        if scope is None:
            return None
        for loop in scope.loops:
            if loop.target is None or loop.iter is None or not _binds(loop.target, root.id):
                continue
            items = self._iter_items(loop.iter, ctx)
            if items is None:
                return None
            envs = []
            for item in items:
                env = _bind(loop.target, item)
                if env is None:
                    return None
                envs.append(env)
            return envs
        return None

    def _iter_items(self, iter_expr: Expr, ctx: Ctx) -> list[Value] | None:
        """The items of a literal list, tuple or set, or of a literal dict (``.items()``, ``.values()``, keys)."""
        if isinstance(iter_expr, Seq):
            return [self.index.evaluate(item, ctx) for item in iter_expr.items]
        if isinstance(iter_expr, Call) and isinstance(iter_expr.func, Attr) and not iter_expr.args:
            view = iter_expr.func.attr
            if view in ("items", "values", "keys"):
                found = self._dict_of(iter_expr.func.base, ctx)
                if found is None:
                    return None
                mapping, dctx = found
                evaluate = self.index.evaluate
                if view == "items":
                    return [SeqValue("tuple", (evaluate(k, dctx), evaluate(v, dctx))) for k, v in mapping.items]
                if view == "values":
                    return [evaluate(v, dctx) for _k, v in mapping.items]
                return [evaluate(k, dctx) for k, _v in mapping.items]
        found = self._dict_of(iter_expr, ctx)
        if found is not None:
            return [self.index.evaluate(k, found[1]) for k, _v in found[0].items]
        value = self.index.evaluate(iter_expr, ctx)
        return list(value.items) if isinstance(value, SeqValue) else None

    def _dict_of(self, expr: Expr, ctx: Ctx) -> tuple[DictExpr, Ctx] | None:
        """A dict literal, written here or bound to a name (in this module or imported)."""
        found = (expr, ctx) if isinstance(expr, DictExpr) else self.index.definition(expr, ctx)
        if found is None:
            return None
        literal, where = found
        if not isinstance(literal, DictExpr) or any(k is None for k, _v in literal.items):
            return None  # not a dict literal, or ``{**other}``: not a literal collection
        return literal, where

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
        if position == 0:
            out.extend(self._lifespan_owners(FuncRef(param.module, param.function)))
        return out

    def _argument(self, param: ParamValue, depth: int) -> Value:
        """A path from a function's parameter: the value every traced call gives it.

        A call that leaves the parameter out gives its default. No traced call, a
        ``*args``/``**kwargs`` call or callers that disagree: unknown, with why.
        """
        ref = FuncRef(param.module, param.function)
        where = f"the parameter '{param.name}' of {ref.fqn}"
        fn = self.index.function(ref)
        if fn is None or depth > 3:
            return Unknown(f"{where} is set at run time")
        position = next((i for i, p in enumerate(fn.params) if p.name == param.name), None)
        declared = fn.param(param.name)
        if position is None or declared is None or declared.kind in ("vararg", "kwarg"):
            return Unknown(f"{where} is set at run time")
        calls = self.index.calls_to(ref.fqn)
        if not calls:
            return Unknown(f"{where} gets its value from a caller archlint cannot trace")
        values: list[Value] = []
        for _facts, site, ctx in calls:
            call = site.call
            if any(isinstance(a, Starred) for a in call.args) or any(k is None for k, _ in call.kwargs):
                return Unknown(f"{where} may be passed through *args or **kwargs")
            value = self._passed(ref, fn, declared, position, call, ctx)
            if value is None:
                return Unknown(f"{where} has no default and a call leaves it out")
            if isinstance(value, ParamValue):
                value = self._argument(value, depth + 1)
            values.append(value)
        first = values[0]
        if all(v == first for v in values[1:]):
            return first
        return Unknown(f"{where} gets different values from its callers")

    def _lifespan_owners(self, ref: FuncRef) -> list[ObjKey]:
        """The apps that call ``ref`` as their lifespan: FastAPI passes the app itself."""
        out = []
        for key, obj in self.objects.items():
            lifespan = obj.call.kw("lifespan") if obj.kind == "app" else None
            if lifespan is not None and self.index.evaluate(lifespan, obj.ctx) == ref:
                out.append(key)
        return out


def methods_on(route: Route, full: FullPath | None) -> tuple[str, ...]:
    """The methods a route answers on one of its full paths."""
    return full.methods if full is not None and full.methods else route.methods


def _distinct(full_paths: list[FullPath]) -> list[FullPath]:
    """Each endpoint once: several include chains that give one app the same path are one path."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for full in full_paths:
        path = full.path
        key = (
            (full.app, path, full.methods)
            if path is not None
            else (full.app, tuple((s.path, s.span, s.text) for s in full.segments))
        )
        if key not in seen:
            seen.add(key)
            out.append(full)
    return out


def _binds(target: Expr, name: str) -> bool:
    if isinstance(target, Name):
        return target.id == name
    if isinstance(target, Seq):
        return any(_binds(t, name) for t in target.items)
    return False


def _bind(target: Expr, value: Value) -> dict[str, Value] | None:
    """A loop target's names bound to one item (``for prefix, router in ...``)."""
    if isinstance(target, Name):
        return {target.id: value}
    if isinstance(target, Seq) and isinstance(value, SeqValue) and len(value.items) == len(target.items):
        env: dict[str, Value] = {}
        for sub, item in zip(target.items, value.items):
            bound = _bind(sub, item)
            if bound is None:
                return None
            env.update(bound)
        return env
    return None


def _is_scope_path(target: Expr) -> bool:
    """``scope["path"] = ...`` or ``request.scope["path"] = ...``."""
    if not isinstance(target, Subscript) or len(target.items) != 1:
        return False
    key = target.items[0]
    if not (isinstance(key, Lit) and key.value in ("path", "raw_path")):
        return False
    base = target.base
    return (isinstance(base, Name) and base.id == "scope") or (isinstance(base, Attr) and base.attr == "scope")
