"""How each application is configured: middleware, exception handlers, ``app.state``.

FastAPI apps are configured through calls on the app object, wherever it
travels: ``app.add_middleware(...)``, ``app.add_exception_handler(...)``,
``@app.exception_handler(X)`` / ``@app.middleware("http")`` decorators,
``app.state.limiter = limiter`` assignments, and the ``middleware=`` /
``exception_handlers=`` arguments of ``FastAPI(...)`` itself — in a factory
function or in a helper that receives the app as a parameter (the route
table's ``objects_of`` follows those). A registration whose receiver cannot be
traced to an app is kept as an *orphan*: app-level rules treat it as possibly
belonging to every app, so an untraceable ``configure(app)`` never turns into
a "missing middleware" false alarm.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archlint.collect.facts import Attr, Call, DictExpr, Expr, FileFacts, Name
from archlint.model import Span
from archlint.names import MIDDLEWARE_WRAPPERS
from archlint.values import Ctx, FuncRef, Instance, SeqValue, Value, fqn_of

if TYPE_CHECKING:
    from archlint.analysis.routes import ObjKey, RouterObject, RouteTable
    from archlint.index import ProjectIndex


@dataclass(slots=True)
class Registration:
    """One piece of app configuration.

    ``kind`` is ``middleware`` (a class added with ``add_middleware`` or
    ``Middleware(...)``; ``target`` is the class expression, ``kwargs`` its
    options), ``http_middleware`` (a function registered with
    ``@app.middleware("http")``; ``function``), ``handler`` (an exception
    handler; ``target`` is the exception class or status code expression,
    ``handler`` the handler expression, ``function`` the decorated function)
    or ``state`` (``app.state.<name> = target``).
    """

    kind: str
    app: ObjKey | None  # None: the receiver could not be traced to an app (an orphan)
    file: str
    span: Span
    ctx: Ctx
    call: Call | None = None
    target: Expr | None = None
    handler: Expr | None = None
    function: FuncRef | None = None
    kwargs: tuple[tuple[str | None, Expr], ...] = ()
    name: str = ""

    def kw(self, name: str) -> Expr | None:
        for key, value in self.kwargs:
            if key == name:
                return value
        return None


@dataclass(slots=True)
class AppConfig:
    index: ProjectIndex
    table: RouteTable
    registrations: list[Registration] = field(default_factory=list)
    _apps: list[RouterObject] | None = field(default=None, repr=False)
    _handler_apps: list[RouterObject] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, index: ProjectIndex, table: RouteTable) -> AppConfig:
        config = cls(index, table)
        config._collect()
        return config

    # ------------------------------------------------------------ queries
    @property
    def apps(self) -> list[RouterObject]:
        """The applications app-level standards are checked on.

        An application mounted into nothing, unless it serves no route of its
        own and only mounts applications that do: then those are checked, and
        their own configuration counts for them. An application mounted in a
        checked one is covered by its middleware and ``app.state`` (a request
        passes through the parent first): what it lacks, the parent lacks, and
        is reported once, there.
        """
        if self._apps is None:
            self._apps, self._handler_apps = self._checked_apps()
        return self._apps

    @property
    def handler_apps(self) -> list[RouterObject]:
        """``apps``, and every mounted application serving routes: exception handlers do not cross a mount."""
        if self._handler_apps is None:
            self._apps, self._handler_apps = self._checked_apps()
        return self._handler_apps

    def of(self, app: ObjKey, kind: str | None = None) -> list[Registration]:
        """The app's registrations, orphans included.

        Middleware and ``app.state`` of the applications it is mounted in count
        too (a request passes through them). Exception handlers do not cross a
        mount: a mounted FastAPI application answers its own ``HTTPException``
        and validation errors with its own (default) handlers.
        """
        above = set(self.ancestors(app))
        return [
            r
            for r in self.registrations
            if (r.app == app or r.app is None or (r.app in above and r.kind != "handler")) and (kind is None or r.kind == kind)
        ]

    def ancestors(self, app: ObjKey) -> list[ObjKey]:
        """The applications ``app`` is mounted in, nearest first (through routers that mount it too)."""
        parents: dict[ObjKey, set[ObjKey]] = {}
        for mount in self.table.mounts:
            if mount.child is not None:
                parents.setdefault(mount.child, set()).add(mount.parent)
        for inc in self.table.includes:
            if inc.child is not None:
                parents.setdefault(inc.child, set()).add(inc.parent)
        out: list[ObjKey] = []
        stack = sorted(parents.get(app, ()), key=str)
        while stack:
            key = stack.pop(0)
            if key in out or key == app:
                continue
            if self.table.objects[key].kind == "app":
                out.append(key)
            stack.extend(sorted(parents.get(key, ()), key=str))
        return out

    def _serves_routes(self, app: ObjKey) -> bool:
        """Routes on the app or on routers it includes (not on applications it mounts)."""
        seen: set[ObjKey] = set()
        stack = [app]
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            obj = self.table.objects[key]
            if obj.routes:
                return True
            stack.extend(i.child for i in obj.includes if i.child is not None)
            stack.extend(m.child for m in obj.mounts if m.child is not None and self.table.objects[m.child].kind != "app")
        return False

    def _mounted_apps(self, app: ObjKey) -> list[ObjKey]:
        """Applications mounted in ``app`` (directly or through its routers), each once."""
        out: list[ObjKey] = []
        seen: set[ObjKey] = set()
        stack = [app]
        while stack:
            key = stack.pop(0)
            if key in seen:
                continue
            seen.add(key)
            obj = self.table.objects[key]
            for m in obj.mounts:
                if m.child is not None and m.child not in seen:
                    if self.table.objects[m.child].kind == "app":
                        out.append(m.child)
                    stack.append(m.child)
            stack.extend(i.child for i in obj.includes if i.child is not None)
        return out

    def _checked_apps(self) -> tuple[list[RouterObject], list[RouterObject]]:
        table = self.table
        checked: list[ObjKey] = []
        handlers: list[ObjKey] = []
        for root in table.roots:
            if table.objects[root].kind != "app":
                continue
            mounted = [k for k in self._mounted_apps(root) if self._serves_routes(k)]
            root_checked = self._serves_routes(root) or not mounted
            if root_checked:
                checked.append(root)
                handlers.append(root)
            for key in mounted:
                if key not in handlers:
                    handlers.append(key)
                if key not in checked and not (root_checked or any(a in checked for a in self.ancestors(key))):
                    checked.append(key)
        return [table.objects[k] for k in checked], [table.objects[k] for k in handlers]

    def calls_with_app(self, app: ObjKey, fqns: Iterable[str]) -> list[tuple[FileFacts, Call, Ctx]]:
        """Calls to one of the dotted names that receive this app (or an untraceable object) as an argument."""
        out = []
        table = self.table
        for facts, site, ctx in self.index.calls_to(*fqns):
            call = site.call
            values = [a for a in call.args] + [v for _, v in call.kwargs]
            owners: list[ObjKey] = []
            for value in values:
                owners.extend(table.objects_of(value, ctx))
            if app in owners or not any(table.objects[o].kind == "app" for o in owners):
                out.append((facts, call, ctx))
        return out

    # ------------------------------------------------------------ collect
    def _owners(self, receiver: Expr, ctx: Ctx) -> list[ObjKey | None]:
        table = self.table
        keys = table.objects_of(receiver, ctx)
        apps = [k for k in keys if table.objects[k].kind == "app"]
        if apps:
            return list(apps)
        if keys:  # a router: not configuration of an app
            return []
        return [None]

    def _collect(self) -> None:
        index = self.index
        table = self.table
        for obj in table.objects.values():
            if obj.kind == "app":
                self._constructor(obj)
        for facts in index.modules.values():
            for fn in facts.functions.values():
                ctx = Ctx(facts.module, fn.parent or "")
                ref = FuncRef(facts.module, fn.qualname)
                for deco in fn.decorators:
                    if isinstance(deco, Call) and isinstance(deco.func, Attr):
                        self._decorator(deco, ref, ctx, facts)
        for facts, scope, ctx in index.iter_scopes():
            for assign in scope.assigns:
                for target in assign.targets:
                    if (
                        isinstance(target, Attr)
                        and isinstance(target.base, Attr)
                        and target.base.attr == "state"
                        and assign.value is not None
                    ):
                        for owner in self._owners(target.base.base, ctx):
                            self.registrations.append(
                                Registration("state", owner, facts.path, assign.span, ctx, target=assign.value, name=target.attr)
                            )
            for site in scope.calls:
                if site.context == "decorator":
                    continue
                self._call(site.call, ctx, facts)

    def _decorator(self, deco: Call, ref: FuncRef, ctx: Ctx, facts: FileFacts) -> None:
        assert isinstance(deco.func, Attr)
        attr = deco.func.attr
        if attr == "middleware":
            for owner in self._owners(deco.func.base, ctx):
                self.registrations.append(
                    Registration("http_middleware", owner, facts.path, deco.span, ctx, call=deco, function=ref)
                )
        elif attr == "exception_handler":
            for owner in self._owners(deco.func.base, ctx):
                self.registrations.append(
                    Registration(
                        "handler",
                        owner,
                        facts.path,
                        deco.span,
                        ctx,
                        call=deco,
                        target=deco.arg(0, "exc_class_or_status_code"),
                        function=ref,
                    )
                )

    def _call(self, call: Call, ctx: Ctx, facts: FileFacts) -> None:
        func = call.func
        # app.middleware("http")(fn) / app.exception_handler(Exc)(fn)
        if isinstance(func, Call) and isinstance(func.func, Attr) and func.func.attr in ("middleware", "exception_handler"):
            value = self.index.evaluate(call.arg(0), ctx) if call.args else None
            ref = value if isinstance(value, FuncRef) else None
            kind = "http_middleware" if func.func.attr == "middleware" else "handler"
            for owner in self._owners(func.func.base, ctx):
                self.registrations.append(
                    Registration(
                        kind,
                        owner,
                        facts.path,
                        call.span,
                        ctx,
                        call=call,
                        target=func.arg(0) if kind == "handler" else None,
                        handler=call.arg(0),
                        function=ref,
                    )
                )
            return
        if not isinstance(func, Attr):
            return
        if func.attr == "add_middleware":
            for owner in self._owners(func.base, ctx):
                self.registrations.append(
                    Registration(
                        "middleware",
                        owner,
                        facts.path,
                        call.span,
                        ctx,
                        call=call,
                        target=call.arg(0, "middleware_class"),
                        kwargs=tuple((k, v) for k, v in call.kwargs if k != "middleware_class"),
                    )
                )
        elif func.attr == "add_exception_handler":
            handler = call.arg(1, "handler")
            value = self.index.evaluate(handler, ctx) if handler is not None else None
            for owner in self._owners(func.base, ctx):
                self.registrations.append(
                    Registration(
                        "handler",
                        owner,
                        facts.path,
                        call.span,
                        ctx,
                        call=call,
                        target=call.arg(0, "exc_class_or_status_code"),
                        handler=handler,
                        function=value if isinstance(value, FuncRef) else None,
                    )
                )

    def _constructor(self, obj: RouterObject) -> None:
        """``FastAPI(middleware=[Middleware(...)], exception_handlers={...})``."""
        call, ctx = obj.call, obj.ctx
        middleware = call.kw("middleware")
        if middleware is not None:
            for inst in _instances(self.index.evaluate(middleware, ctx)):
                if fqn_of(inst.type) in MIDDLEWARE_WRAPPERS:
                    self.registrations.append(
                        Registration(
                            "middleware",
                            obj.key,
                            self._file(inst.ctx, obj.file),
                            inst.call.span,
                            inst.ctx,
                            call=inst.call,
                            target=inst.call.arg(0, "cls"),
                            kwargs=tuple((k, v) for k, v in inst.call.kwargs if k != "cls"),
                        )
                    )
        handlers = call.kw("exception_handlers")
        if handlers is not None:
            found = self._dict_expr(handlers, ctx)
            if found is not None:
                mapping, where = found
                for key, value in mapping.items:
                    if key is None:
                        continue
                    ref = self.index.evaluate(value, where)
                    self.registrations.append(
                        Registration(
                            "handler",
                            obj.key,
                            self._file(where, obj.file),
                            key.span,
                            where,
                            call=call,
                            target=key,
                            handler=value,
                            function=ref if isinstance(ref, FuncRef) else None,
                        )
                    )

    def _file(self, ctx: Ctx, default: str) -> str:
        facts = self.index.file_of(ctx)
        return facts.path if facts is not None else default

    def _dict_expr(self, expr: Expr, ctx: Ctx, depth: int = 0) -> tuple[DictExpr, Ctx] | None:
        """A dict literal, directly or through a module-level name bound once."""
        if isinstance(expr, DictExpr):
            return expr, ctx
        if isinstance(expr, Name) and depth < 3:
            facts = self.index.file_of(ctx)
            scope = facts.module_scope if facts is not None else None
            if scope is None:
                return None
            bound = [a for a in scope.assigns if any(isinstance(t, Name) and t.id == expr.id for t in a.targets)]
            if len(bound) == 1 and bound[0].value is not None:
                return self._dict_expr(bound[0].value, Ctx(ctx.module, ""), depth + 1)
        return None


def _instances(value: Value) -> list[Instance]:
    if isinstance(value, Instance):
        return [value]
    if isinstance(value, SeqValue):
        return [i for item in value.items for i in _instances(item)]
    return []
