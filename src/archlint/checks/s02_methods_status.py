"""S2 — proper methods and status codes: 201 for creates, 204 for deletes, nouns in paths."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archlint.analysis.endpoints import (
    PATH_PARAM,
    annotated_parts,
    chains,
    handler_ctx,
    is_none_annotation,
    is_response_class,
    list_dependencies,
    param_dependencies,
    returns_body,
    route_label,
    route_status,
    runtime_statuses,
    unresolved_include_sets,
)
from archlint.analysis.routes import Route, RouteTable, Segment
from archlint.analysis.static_types import iter_exprs
from archlint.checks._registrations import flagged_handlers
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, Call, Expr, FString, FunctionFact, Lit, Name, Subscript
from archlint.globs import fnmatch_any
from archlint.index import ProjectIndex
from archlint.model import Finding, Related, Severity, Span
from archlint.names import BASE_MODEL, PATH_PARAMS
from archlint.pack import option
from archlint.values import ClassRef, Ctx, FuncRef, Instance, Symbol, TypeForm, Unknown, fqn_of

if TYPE_CHECKING:
    import libcst as cst

    from archlint.fixes import FixSource, Rewrite

_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_VERSION = re.compile(r"^v\d+(\.\d+)*$")


@dataclass(frozen=True)
class S2Options:
    create_handler_names: tuple[str, ...] = option(
        "Handler names (fnmatch globs) of POST routes that create a resource and so answer 201."
    )
    action_handler_names: tuple[str, ...] = option(
        "Handler names (fnmatch globs) of action POSTs that never count as creates "
        "(login, token, refresh, recovery, reset, test, search ...); they win over create-handler-names."
    )
    non_resource_models: tuple[str, ...] = option(
        "Response model class names (fnmatch globs) that are not a created resource "
        "(a POST on a collection answering one of these is not taken for a create)."
    )
    store_call_names: tuple[str, ...] = option(
        "Names (fnmatch globs) of calls that store something (`session.add`, `insert(...)`, a repository's "
        "or service's `create`): a handler named like a create that makes none of them creates nothing."
    )
    non_storing_calls: tuple[str, ...] = option(
        "Dotted names (fnmatch globs) of functions and classes whose calls and methods store nothing "
        "(the framework's responses and uploads, builtins, serialisation, logging)."
    )
    store_follow_depth: int = option("How many calls deep a create handler's project functions are followed for a storing call.")
    create_status_codes: tuple[int, ...] = option(
        "Status codes a creating POST may declare (201 Created; 202 Accepted for asynchronous creation)."
    )
    delete_status_codes: tuple[int, ...] = option(
        "Status codes a DELETE may declare (204 No Content; 202 Accepted for asynchronous deletion)."
    )
    path_verbs: tuple[str, ...] = option(
        "Verbs that must not start a path segment (`/getUsers`, `/create-user`, `/users/delete/{id}`)."
    )
    action_segments: tuple[str, ...] = option(
        "Path segments (fnmatch globs, lower case) of action endpoints: neither verbs in paths nor collections."
    )
    plural_exempt: tuple[str, ...] = option(
        "Words that are fine as singular collection names: uncountable nouns and irregular plurals."
    )
    non_collection_words: tuple[str, ...] = option(
        "Adjectives and actions (`custom`, `claim`, `sync`): a segment named so is never a collection (AL114)."
    )


def _matches(name: str, globs: Iterable[str]) -> bool:
    return fnmatch_any(name, globs)


def _words(piece: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(piece)]


def _handler(project: Project, route: Route) -> FunctionFact | None:
    return project.index.function(route.handler) if route.handler else None


# --------------------------------------------------------------------------- #
# Path texts and where they are written
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    #: False for a piece cut by an f-string interpolation: its full text is unknown.
    whole: bool


def _pieces(expr: Expr | None) -> list[_Piece] | None:
    """The ``/``-separated pieces a literal or f-string path writes literally."""
    if isinstance(expr, Lit) and isinstance(expr.value, str):
        return [_Piece(p, True) for p in expr.value.split("/") if p]
    if isinstance(expr, FString):
        out: list[_Piece] = []
        parts = expr.parts
        for i, part in enumerate(parts):
            if not (isinstance(part, Lit) and isinstance(part.value, str)):
                continue
            text = part.value
            bits = text.split("/")
            for j, bit in enumerate(bits):
                if not bit:
                    continue
                cut_left = j == 0 and i > 0
                cut_right = j == len(bits) - 1 and i < len(parts) - 1
                out.append(_Piece(bit, not (cut_left or cut_right)))
        return out
    return None


@dataclass(frozen=True, slots=True)
class _Source:
    file: str
    expr: Expr


def _path_sources(project: Project, api_only: bool = False) -> Iterator[_Source]:
    """Every literal path text: decorator paths, router prefixes, include prefixes (once each).

    With ``api_only``, a text that serves only browser routes (pages, form
    actions, an application without an OpenAPI document) is left out.
    """
    table = project.routes
    seen: set[tuple[str, Span]] = set()
    if api_only:
        # Which texts serve an API route, and which serve any route at all.
        serving: dict[tuple[str, Span], bool] = {}
        for route in table.routes:
            api = not table.for_browser(route)
            for fp in route.full_paths:
                for segment in fp.segments:
                    expr = _segment_expr(segment)
                    if expr is not None:
                        key = (segment.path, expr.span)
                        serving[key] = serving.get(key, False) or api
            if route.path_expr is not None:
                key = (route.file, route.path_expr.span)
                serving[key] = serving.get(key, False) or api
        for key, api in serving.items():
            if not api:
                seen.add(key)

    def emit(file: str, expr: Expr | None) -> Iterator[_Source]:
        if expr is None or (file, expr.span) in seen:
            return
        seen.add((file, expr.span))
        yield _Source(file, expr)

    for route in table.routes:
        if "WEBSOCKET" not in route.methods:
            yield from emit(route.file, route.path_expr)
    for obj in table.objects.values():
        if obj.kind == "router":
            yield from emit(obj.file, obj.call.kw("prefix"))
    for inc in table.includes:
        yield from emit(inc.file, inc.call.kw("prefix"))


def _segment_expr(segment: Segment) -> Expr | None:
    if segment.call is None:
        return None
    if segment.kind == "route":
        return segment.call.arg(0, "path")
    if segment.kind in ("router", "include"):
        return segment.call.kw("prefix")
    if segment.kind == "mount":
        return segment.call.arg(0, "path")
    return None


# --------------------------------------------------------------------------- #
# AL110 / AL111: status codes
# --------------------------------------------------------------------------- #


class CreateWithout201(Rule[S2Options]):
    """Reports POST routes that create a resource but do not answer 201 Created.

    A POST creates when its handler is named like a create (`create_*`,
    `add_*`, `register*`, `signup`: the pack's `create-handler-names`), or when
    it posts to a plural collection path (`POST /items/`) and answers that
    collection's resource model (`ItemPublic`), and when it stores something:
    a call named in `store-call-names` (`session.add`, `insert(...)`, a
    repository's or service's `create`) in the handler or in the project
    functions it calls. A handler that stores nothing (`create_cookie` sets a
    cookie, `create_upload_file` answers a size) creates nothing; one whose
    calls cannot be resolved is a note ("unverifiable"). Action POSTs (login,
    token, refresh, password recovery and reset, test endpoints, searches:
    `action-handler-names`) are never creates.
    The status may be declared on the decorator (`status_code=201`,
    `status.HTTP_201_CREATED`, a constant) or set at run time
    (`response.status_code = 201`, `return JSONResponse(..., status_code=201)`);
    a status archlint cannot resolve is left alone.

    ## Why is this bad?
    `201 Created` tells clients and caches that a new resource exists (and
    where, with `Location`); a `200 OK` from a create is indistinguishable from
    an idempotent read or an update, and generated clients and API documents
    describe the endpoint wrongly.
    """

    id = "AL110"
    name = "CreateWithout201"
    standard = "S2"
    severity = Severity.ERROR
    tags = ("api",)
    Options = S2Options
    INVALID = [
        """
        from fastapi import APIRouter
        from pydantic import BaseModel
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.models import ItemRow

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        class Item(BaseModel):
            name: str

        @router.post("/")  # expect: AL110
        async def create_item(item: Item, session: AsyncSession) -> Item:
            \"\"\"Create an item.\"\"\"
            session.add(ItemRow(name=item.name))
            await session.commit()
            return item
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, Response, status
        from pydantic import BaseModel
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.models import ItemRow

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        class Item(BaseModel):
            name: str

        @router.post("/", status_code=status.HTTP_201_CREATED)
        async def create_item(item: Item, session: AsyncSession) -> Item:
            \"\"\"Create an item.\"\"\"
            session.add(ItemRow(name=item.name))
            await session.commit()
            return item

        @router.post("/search")
        async def search_items(item: Item) -> list[Item]:
            \"\"\"Search items: an action, not a create.\"\"\"
            return [item]

        @router.post("/cookies")
        async def create_cookie(response: Response) -> dict[str, str]:
            \"\"\"Named like a create, but it stores nothing: not a create.\"\"\"
            response.set_cookie(key="session", value="value")
            return {"message": "cookie set"}
        """
    ]

    #: Unsafe: clients that expect 200 see 201.
    fix_applicability = "unsafe"
    fix_message = "Declare `status_code=201` (`status.HTTP_201_CREATED` when `status` is imported)."
    FIXES = [
        (
            """
            from fastapi import APIRouter, status
            from pydantic import BaseModel

            from app.db import db

            router = APIRouter(prefix="/api/v1/items", tags=["items"])

            class Item(BaseModel):
                name: str

            @router.post("/")
            async def create_item(item: Item) -> Item:
                db.add(item)
                return item

            @router.post(
                "/bulk",
                summary="Create items.",
            )
            async def create_items(items: list[Item]) -> list[Item]:
                db.add_all(items)
                return items
            """,
            """
            from fastapi import APIRouter, status
            from pydantic import BaseModel

            from app.db import db

            router = APIRouter(prefix="/api/v1/items", tags=["items"])

            class Item(BaseModel):
                name: str

            @router.post("/", status_code=status.HTTP_201_CREATED)
            async def create_item(item: Item) -> Item:
                db.add(item)
                return item

            @router.post(
                "/bulk",
                summary="Create items.",
                status_code=status.HTTP_201_CREATED,
            )
            async def create_items(items: list[Item]) -> list[Item]:
                db.add_all(items)
                return items
            """,
        ),
        (
            """
            from fastapi import APIRouter

            from app.db import db

            router = APIRouter(prefix="/api/v1/items", tags=["items"])

            @router.post("/", status_code=200)
            async def create_item(name: str) -> dict:
                db.add(name)
                return {"name": name}
            """,
            """
            from fastapi import APIRouter

            from app.db import db

            router = APIRouter(prefix="/api/v1/items", tags=["items"])

            @router.post("/", status_code=201)
            async def create_item(name: str) -> dict:
                db.add(name)
                return {"name": name}
            """,
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        from archlint.fixes import fastapi as fastapi_fixes  # LibCST: only when fixing

        return fastapi_fixes.set_status_created(source, finding.span)

    def check(self, project: Project) -> Iterable[Finding]:
        for route, (why, answers, fn), label in flagged_handlers(project.routes.routes, lambda r: self._verdict(project, r)):
            if isinstance(why, _Unverifiable):
                yield self.finding(
                    route.file,
                    route.call.span,
                    f"The route {label} is named like a create (`{fn.name}`) and {answers}, but whether "
                    f"it stores anything is unverifiable ({why.reason}): if it creates a resource, declare "
                    "`status_code=status.HTTP_201_CREATED`.",
                    severity=Severity.NOTE,
                )
                continue
            yield self.finding(
                route.file,
                route.call.span,
                f"The route {label} creates a resource ({why}) but {answers}: declare `status_code=status.HTTP_201_CREATED`.",
            )

    def _verdict(self, project: Project, route: Route) -> tuple[str | _Unverifiable, str, FunctionFact] | None:
        index = project.index
        opts = self.options
        if "POST" not in route.methods or len(route.methods) != 1 or project.routes.for_browser(route):
            return None
        fn = _handler(project, route)
        ctx = handler_ctx(route)
        if fn is None or ctx is None:
            return None
        why = self._creates(project, route, fn, ctx)
        if why is None:
            return None
        status = route_status(index, route)
        if isinstance(status, Unknown) or status in opts.create_status_codes:
            return None
        runtime = runtime_statuses(index, fn, ctx)
        if any(isinstance(s, Unknown) or s in opts.create_status_codes for s in runtime):
            return None
        answers = f"answers {status}" if status is not None else "does not declare a status code, so it answers 200"
        return why, answers, fn

    def _creates(self, project: Project, route: Route, fn: FunctionFact, ctx: Ctx) -> str | _Unverifiable | None:
        index = project.index
        opts = self.options
        name = fn.name
        if _matches(name, opts.action_handler_names):
            return None
        if _matches(name, opts.create_handler_names):
            # A name is a claim; what the handler does decides (`create_cookie` sets a cookie).
            stored = _StoreSearch(project, opts).search(fn, ctx, opts.store_follow_depth)
            if stored is None:
                return None
            if isinstance(stored, _Unverifiable):
                return stored
            return f"its handler is `{name}` and it {stored}"
        tail = _static_tail(index, project.routes, route)
        if tail is None:
            return None
        words = _words(tail)
        if not words or _matches(tail.lower(), opts.action_segments) or not _is_plural(words[-1], opts):
            return None
        model = _response_model(index, route, fn, ctx)
        if model is None:
            return None
        model_name = model.qualname.rsplit(".", 1)[-1]
        if _matches(model_name, opts.non_resource_models):
            return None
        if _singular(words[-1]) not in model_name.lower():
            return None  # it answers something else than the collection's resource
        if _StoreSearch(project, opts).search(fn, ctx, opts.store_follow_depth) is None:
            return None  # it stores nothing: an echo or a computation, not a create
        return f"it posts to the collection `{tail}` and answers a `{model_name}`"


@dataclass(frozen=True, slots=True)
class _Unverifiable:
    reason: str


class _StoreSearch:
    """Does a handler store something? The storing call's name, None (nothing can), or _Unverifiable."""

    def __init__(self, project: Project, opts: S2Options) -> None:
        self.index = project.index
        self.types = project.types
        self.opts = opts
        self.seen: set[tuple[str, str]] = set()

    def search(self, fn: FunctionFact, ctx: Ctx, depth: int) -> str | _Unverifiable | None:
        if (ctx.module, ctx.scope) in self.seen:
            return None
        self.seen.add((ctx.module, ctx.scope))
        params = {p.name for p in fn.params}
        for assign in fn.assigns:
            for target in assign.targets:
                # ``db[key] = value`` into an injected store (a dependency, a parameter) writes it.
                if isinstance(target, Subscript) and isinstance(target.base, Name) and target.base.id in params:
                    return f"writes `{target.base.id}[...]`"
        unknown: _Unverifiable | None = None
        for site in fn.calls:
            func = site.call.func
            name = func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else None
            if name is not None and _matches(name, self.opts.store_call_names):
                return f"calls `{name}`"
            found = self._callee(func, ctx, depth)
            if isinstance(found, str):
                return found
            if isinstance(found, _Unverifiable) and unknown is None:
                unknown = found
        return unknown

    def _callee(self, func: Expr, ctx: Ctx, depth: int) -> str | _Unverifiable | None:
        index = self.index
        value = index.evaluate(func, ctx)
        if isinstance(value, Unknown) and isinstance(func, Attr):
            # A method: known by its receiver's class (`response.set_cookie`, `file.read`).
            klass = self.types.of(func.base, ctx)
            if isinstance(klass, ClassRef):
                member = index.class_member(klass, func.attr)
                if member is None and self._plain(klass):
                    return None
                value = member if member is not None else value
            elif isinstance(klass, Symbol):
                value = Symbol(f"{klass.fqn}.{func.attr}")
        if isinstance(value, FuncRef):
            inner = index.function(value)
            if inner is None:
                return _Unverifiable(f"`{value.qualname}` cannot be read")
            if depth <= 0:
                return _Unverifiable(f"`{value.qualname}` is beyond the followed depth")
            if _is_stub(inner):
                return _Unverifiable(f"`{value.qualname}` is abstract: an implementation decides what it stores")
            return self.search(inner, Ctx(value.module, value.qualname), depth - 1)
        if isinstance(value, ClassRef):
            return None  # building an object stores nothing by itself
        if isinstance(value, Symbol):
            if _matches(value.fqn, self.opts.non_storing_calls):
                return None
            return _Unverifiable(f"`{value.fqn}` is not known")
        text = func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else "a call"
        return _Unverifiable(f"`{text}` cannot be resolved")

    def _plain(self, klass: ClassRef) -> bool:
        """A project class whose external bases all store nothing (a pydantic model, a dataclass)."""
        externals = [k for k in self.index.mro(klass) if isinstance(k, Symbol)]
        return all(_matches(k.fqn, self.opts.non_storing_calls) for k in externals)


def _is_stub(fn: FunctionFact) -> bool:
    """An abstract method or protocol member: its body is `...`, `pass` or `raise NotImplementedError`."""
    if any(
        (isinstance(d, Name) and d.id == "abstractmethod") or (isinstance(d, Attr) and d.attr == "abstractmethod")
        for d in fn.decorators
    ):
        return True
    for raised in fn.raises:
        target = raised.func if isinstance(raised, Call) else raised
        if isinstance(target, Name) and target.id == "NotImplementedError":
            return True
    return not fn.calls and not fn.assigns and all(r is None for r in fn.returns) and not fn.raises


def _static_tail(index: ProjectIndex, table: RouteTable, route: Route) -> str | None:
    """The last piece of the route's path, when it is a literal (not a `{param}`)."""
    path: str | None = next((p for fp in route.full_paths if (p := fp.path) is not None), None)
    if path is None:
        texts = []
        owner = table.objects.get(route.owner)
        if owner is not None and owner.kind == "router":
            prefix = owner.call.kw("prefix")
            if prefix is not None:
                texts.append(index.const(prefix, owner.ctx))
        texts.append(index.const(route.path_expr, route.ctx) if route.path_expr is not None else "")
        strings = [t for t in texts if isinstance(t, str)]
        if len(strings) != len(texts):
            return None
        path = "".join(strings)
    pieces = [p for p in path.split("/") if p]
    if not pieces or "{" in pieces[-1]:
        return None
    return pieces[-1]


def _response_model(index: ProjectIndex, route: Route, fn: FunctionFact, ctx: Ctx) -> ClassRef | None:
    """The project model class the route answers (response_model or return annotation), if one."""
    expr = route.kw("response_model")
    value = index.evaluate(expr, route.ctx) if expr is not None else index.evaluate(fn.returns_annotation, ctx)
    if isinstance(value, ClassRef) and not is_response_class(index, value):
        return value
    return None


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _plural_hint(word: str) -> str:
    """The regular English plural of `word`, for the message only (`category` -> `categories`)."""
    lower = word.lower()
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _is_plural(word: str, opts: S2Options) -> bool:
    return word.endswith("s") or word in opts.plural_exempt


class DeleteWithBody(Rule[S2Options]):
    """Reports DELETE routes that do not answer 204 No Content without a body.

    A DELETE must declare `status_code=204` (`status.HTTP_204_NO_CONTENT`),
    or set it at run time, and must not declare a response body: a
    `response_model` or a return annotation other than `None` (FastAPI refuses
    to start with a body on a 204 route). A DELETE answering 200 with a
    message body (`-> Message`, `{"ok": True}`) is a finding.

    ## Why is this bad?
    The result of a delete is the absence of the resource; `204 No Content`
    says exactly that and keeps clients from parsing a throw-away message.
    Ad-hoc bodies (`{"message": "deleted"}`) differ between endpoints and end up
    in generated clients as meaningless types.
    """

    id = "AL111"
    name = "DeleteWithBody"
    standard = "S2"
    severity = Severity.ERROR
    tags = ("api",)
    Options = S2Options
    INVALID = [
        """
        from fastapi import APIRouter
        from pydantic import BaseModel

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        class Message(BaseModel):
            message: str

        @router.delete("/{item_id}")  # expect: AL111
        async def delete_item(item_id: int) -> Message:
            \"\"\"Delete an item.\"\"\"
            return Message(message="Item deleted")
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, status

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        @router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
        async def delete_item(item_id: int) -> None:
            \"\"\"Delete an item.\"\"\"
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        codes = self.options.delete_status_codes
        for route in project.routes.routes:
            if route.methods != ("DELETE",) or project.routes.for_browser(route):
                continue
            fn = _handler(project, route)
            ctx = handler_ctx(route)
            if fn is None or ctx is None:
                continue
            status = route_status(index, route)
            if isinstance(status, Unknown):
                continue
            body = self._declared_body(index, route, fn, ctx)
            label = route_label(route)
            if status in codes:
                if status == 204 and body:
                    yield self.finding(
                        route.file,
                        route.call.span,
                        f"The route {label} answers 204 but declares a response body ({body}): "
                        f"a 204 response has no body, so remove it.",
                    )
                continue
            runtime = runtime_statuses(index, fn, ctx)
            if any(isinstance(s, Unknown) or s in codes for s in runtime):
                continue
            if not body and returns_body(index, fn, ctx):
                body = "it returns a value"
            answers = f"answers {status}" if status is not None else "answers 200"
            with_body = f" with a body ({body})" if body else ""
            yield self.finding(
                route.file,
                route.call.span,
                f"The route {label} {answers}{with_body}: a DELETE answers "
                f"`status_code=status.HTTP_204_NO_CONTENT` with no body.",
            )

    def _declared_body(self, index: ProjectIndex, route: Route, fn: FunctionFact, ctx: Ctx) -> str:
        model = route.kw("response_model")
        if model is not None and not is_none_annotation(model):
            return "`response_model`"
        annotation = fn.returns_annotation
        if model is None and annotation is not None and not is_none_annotation(annotation):
            value = index.evaluate(annotation, ctx)
            if is_response_class(index, value):
                return ""
            if isinstance(value, Unknown):
                return ""
            if fqn_of(value) in ("typing.Any", "typing_extensions.Any"):
                return ""
            return "a return annotation"
        return ""


# --------------------------------------------------------------------------- #
# AL112-AL114: nouns in paths
# --------------------------------------------------------------------------- #


class VerbInPath(Rule[S2Options]):
    """Reports path segments that start with a verb (`/getUsers`, `/create-user`, `/users/delete/{id}`).

    Decorator paths, `APIRouter(prefix=...)` and `include_router(prefix=...)`
    literals are checked once each, segment by segment (words split at `-`,
    `_` and camelCase). The pack's action endpoints (`login`, `logout`,
    `refresh`, `access-token`, `register`, `signup`, `reset-password`,
    `test-token` ...) are not verbs in paths, and paths that serve only a
    browser (HTML pages, form actions such as `/items/create`, an application
    built with `openapi_url=None`) are left alone: an HTML form has only GET
    and POST.

    ## Why is this bad?
    In REST the method is the verb and the path names the resource:
    `DELETE /users/{id}`, not `POST /users/delete/{id}`. Verb paths multiply
    endpoints, hide which method does what, and defeat caching and generated
    clients.
    """

    id = "AL112"
    name = "VerbInPath"
    standard = "S2"
    severity = Severity.ERROR
    tags = ("api",)
    Options = S2Options
    INVALID = [
        """
        from fastapi import APIRouter

        router = APIRouter(prefix="/api/v1/users", tags=["users"])

        @router.post("/delete/{user_id}", status_code=204)  # expect: AL112
        async def remove_user(user_id: int) -> None:
            \"\"\"Delete a user.\"\"\"
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter

        router = APIRouter(prefix="/api/v1", tags=["users"])

        @router.delete("/users/{user_id}", status_code=204)
        async def remove_user(user_id: int) -> None:
            \"\"\"Delete a user.\"\"\"

        @router.post("/login/access-token")
        async def login() -> dict[str, str]:
            \"\"\"Log in: an action endpoint.\"\"\"
            return {}
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        opts = self.options
        for source in _path_sources(project, api_only=True):
            pieces = _pieces(source.expr)
            for piece in pieces or ():
                if not piece.whole or "{" in piece.text:
                    continue
                words = _words(piece.text)
                if not words or words[0] not in opts.path_verbs:
                    continue
                if _matches(piece.text.lower(), opts.action_segments):
                    continue
                yield self.finding(
                    source.file,
                    source.expr.span,
                    f"The path segment `{piece.text}` starts with the verb `{words[0]}`: "
                    f"name the resource and let the HTTP method be the verb.",
                )
                break


class UppercasePathSegment(Rule[S2Options]):
    """Reports path segments with upper-case letters (`/getUsers`, `/UserProfiles`).

    Path parameters (`{userId}`) are not segments of the URL text and are left
    alone; decorator paths and router/include prefixes written as literals are
    checked once each.

    ## Why is this bad?
    URL paths are case-sensitive: `/Users` and `/users` are different
    resources to every proxy, cache and client. Lower-case, hyphenated
    segments are the convention clients guess right.
    """

    id = "AL113"
    name = "UppercasePathSegment"
    standard = "S2"
    severity = Severity.ERROR
    tags = ("api",)
    Options = S2Options
    INVALID = [
        """
        from fastapi import APIRouter

        router = APIRouter(prefix="/api/v1/userProfiles", tags=["profiles"])  # expect: AL113

        @router.get("/{profileId}")
        async def read_profile(profileId: int) -> dict[str, int]:
            \"\"\"Read a profile.\"\"\"
            return {"id": profileId}
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter

        router = APIRouter(prefix="/api/v1/user-profiles", tags=["profiles"])

        @router.get("/{profileId}")
        async def read_profile(profileId: int) -> dict[str, int]:
            \"\"\"Read a profile.\"\"\"
            return {"id": profileId}
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        for source in _path_sources(project):
            for piece in _pieces(source.expr) or ():
                text = PATH_PARAM.sub("", piece.text)
                if piece.whole and text != text.lower():
                    yield self.finding(
                        source.file,
                        source.expr.span,
                        f"The path segment `{piece.text}` has upper-case letters: use lower case (`{_kebab(piece.text)}`).",
                    )
                    break


def _kebab(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", text).lower()


class SingularCollectionName(Rule[S2Options]):
    """Warns about a collection named by a singular noun (`/user` + `/user/{id}`).

    A path segment is a collection when a route is served at it and other
    routes address items under it with a path parameter (`GET /user` and
    `GET /user/{user_id}`); its last word should then be plural. Action
    segments and the pack's `plural-exempt` words (uncountable nouns,
    irregular plurals, adjectives and actions such as `custom`, `claim`,
    `sync`) are left alone, as is a name under a plural collection's literal
    name (`/integrations/slack/{id}`: one member of the integrations) and
    browser routes. Reported once per collection, where its name is first
    written (the other places are related locations).

    ## Why is this bad?
    `/users` and `/users/{id}` read as "the users" and "one of the users";
    mixing `/user` and `/users` across an API makes clients guess. It is a
    convention, so this is a warning.
    """

    id = "AL114"
    name = "SingularCollectionName"
    standard = "S2"
    severity = Severity.WARNING
    precision = "medium"
    tags = ("api",)
    Options = S2Options
    INVALID = [
        """
        from fastapi import APIRouter, FastAPI

        router = APIRouter(prefix="/api/v1/user", tags=["users"])  # expect: AL114

        @router.get("/")
        async def list_users() -> list[str]:
            \"\"\"List users.\"\"\"
            return []

        @router.get("/{user_id}")
        async def read_user(user_id: int) -> str:
            \"\"\"Read a user.\"\"\"
            return ""

        app = FastAPI()
        app.include_router(router)
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, FastAPI

        router = APIRouter(prefix="/api/v1/users", tags=["users"])

        @router.get("/")
        async def list_users() -> list[str]:
            \"\"\"List users.\"\"\"
            return []

        @router.get("/{user_id}")
        async def read_user(user_id: int) -> str:
            \"\"\"Read a user.\"\"\"
            return ""

        @router.post("/password-recovery/{email}")
        async def recover_password(email: str) -> str:
            \"\"\"Send a recovery e-mail.\"\"\"
            return email

        app = FastAPI()
        app.include_router(router)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        opts = self.options
        table = project.routes
        known: set[str] = set()
        for route in table.routes:
            for fp in route.full_paths:
                if fp.path is not None:
                    known.add(fp.path.rstrip("/") or "/")
        # One finding per collection (its full path), at the first place its name is written.
        found: dict[str, list[tuple[str, Span, str]]] = {}
        for route in table.routes:
            if table.for_browser(route):
                continue
            for fp in route.full_paths:
                if fp.path is None:
                    continue
                pieces: list[tuple[str, Segment]] = []
                for segment in fp.segments:
                    pieces.extend((p, segment) for p in (segment.text or "").split("/") if p)
                for i, (piece, segment) in enumerate(pieces[:-1]):
                    following = pieces[i + 1][0]
                    if "{" in piece or not PATH_PARAM.fullmatch(following):
                        continue
                    collection = "/" + "/".join(p for p, _ in pieces[: i + 1])
                    if collection not in known:
                        continue
                    words = _words(piece)
                    if not words or not words[-1].isalpha() or _VERSION.match(piece):
                        continue
                    if _is_plural(words[-1], opts) or _matches(piece.lower(), opts.action_segments):
                        continue
                    if words[-1] in opts.non_collection_words or words[0] in opts.non_collection_words:
                        continue
                    if i > 0 and _named_member(pieces[i - 1][0], opts):
                        continue  # `/integrations/slack/{id}`: a named member of a collection, not a collection
                    expr = _segment_expr(segment)
                    if expr is None or _pieces(expr) is None:
                        continue
                    if not any(p.whole and p.text == piece for p in _pieces(expr) or ()):
                        continue
                    places = found.setdefault(collection, [])
                    if all((segment.path, expr.span) != (path, span) for path, span, _ in places):
                        places.append((segment.path, expr.span, piece))
        for collection, places in found.items():
            places.sort(key=lambda p: (p[0], p[1].line, p[1].column))
            path, span, piece = places[0]
            elsewhere = places[1:]
            also = f" (written {len(elsewhere)} more time{'s' if len(elsewhere) > 1 else ''})" if elsewhere else ""
            yield self.finding(
                path,
                span,
                f"The collection `{piece}` is named in the singular{also}: use the plural noun "
                f"(`{_plural_hint(piece)}`) for the collection and its items.",
                related=[Related(p, sp, f"`{collection}` is also written here.") for p, sp, _ in elsewhere[:10]],
            )


def _named_member(previous: str, opts: S2Options) -> bool:
    """The piece before is a plural collection's literal name: the piece names one member of it."""
    if "{" in previous or _VERSION.match(previous):
        return False
    words = _words(previous)
    return (
        bool(words)
        and words[-1].endswith("s")
        and words[-1] not in ("api", "apis")
        and not _matches(previous.lower(), opts.action_segments)
    )


# --------------------------------------------------------------------------- #
# AL115: path parameters the handler does not take
# --------------------------------------------------------------------------- #


class PathParameterNotInSignature(Rule[S2Options]):
    """Reports a `{param}` in a route's path that neither the handler nor its dependencies take (Ruff FAST003).

    A parameter counts when the handler has an argument of that name, a
    `Path(alias=...)` of that name, or when one of the route's dependencies
    (in the signature, `dependencies=`, on its router) takes it. A dependency
    archlint cannot resolve is assumed to take it (or to read it from
    `request.path_params`). Paths are read as FastAPI
    and Starlette read them: `*args`/`**kwargs` receive no path parameter
    (FastAPI makes each a required query parameter of its own name), a
    positional-only parameter makes every request fail, and a placeholder
    that is not `{name}` or `{name:convertor}` with an identifier name
    (`{item-id}`, `{ item_id }`, `{x: str}`) is no parameter at all: the
    route matches only that literal text.

    ## Why is this bad?
    FastAPI does not complain: the value is silently dropped, the endpoint
    ignores part of its own URL (`/items/{item_id}` serving every item the
    same), and the OpenAPI document declares a parameter that does nothing.
    """

    id = "AL115"
    name = "PathParameterNotInSignature"
    standard = "S2"
    severity = Severity.ERROR
    tags = ("api",)
    Options = S2Options
    INVALID = [
        """
        from fastapi import APIRouter

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        @router.get("/{item_id}")  # expect: AL115
        async def read_item(id: int) -> int:
            \"\"\"Read an item.\"\"\"
            return id
        """
    ]
    VALID = [
        """
        from typing import Annotated
        from fastapi import APIRouter, Depends, Path

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        async def valid_owner(owner_id: int) -> int:
            return owner_id

        @router.get("/{owner_id}/{item_id}")
        async def read_item(
            owner: Annotated[int, Depends(valid_owner)],
            item: Annotated[int, Path(alias="item_id")],
        ) -> int:
            \"\"\"Read an item.\"\"\"
            return item
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        table = project.routes
        for route in table.routes:
            fn = _handler(project, route)
            ctx = handler_ctx(route)
            if fn is None or ctx is None or route.path_expr is None:
                continue
            path = index.const(route.path_expr, route.ctx)
            if not isinstance(path, str):
                continue
            wanted: list[str] = []
            for placeholder in dict.fromkeys(_PLACEHOLDER.findall(path)):
                match = _STARLETTE_PARAM.fullmatch(placeholder)
                if match is None:
                    yield self.finding(
                        route.file,
                        route.path_expr.span,
                        f"`{{{placeholder}}}` in {route_label(route)} is not a path parameter: Starlette reads only "
                        f"`{{name}}` or `{{name:convertor}}` with an identifier name and no spaces, so the route "
                        f"matches only the literal text `{{{placeholder}}}`.",
                    )
                elif match.group(1) not in wanted:
                    wanted.append(match.group(1))
            if not wanted:
                continue
            positional = {p.name for p in fn.params if p.kind == "posonly"}
            for name in wanted:
                if name in positional:
                    yield self.finding(
                        route.file,
                        route.path_expr.span,
                        f"The path parameter `{name}` of {route_label(route)} is positional-only in `{fn.name}`: "
                        "FastAPI passes every parameter by keyword, so every request fails.",
                    )
            taken = _taken(index, fn, ctx, 0)
            if taken is None:
                continue
            missing = [p for p in wanted if p not in taken and p not in positional]
            if not missing:
                continue
            extra = self._route_level(project, route)
            if extra is None:
                continue
            star = next((p for p in fn.params if p.kind in ("vararg", "kwarg")), None)
            for name in missing:
                if name in extra:
                    continue
                if star is not None:
                    spelled = ("**" if star.kind == "kwarg" else "*") + star.name
                    why = (
                        f"`{spelled}` does not receive it (FastAPI reads `{star.name}` as a required query "
                        "parameter), so FastAPI drops its value."
                    )
                else:
                    why = "FastAPI drops its value."
                yield self.finding(
                    route.file,
                    route.path_expr.span,
                    f"The path parameter `{name}` of {route_label(route)} is not a parameter of "
                    f"`{fn.name}` or of its dependencies: {why}",
                )

    def _route_level(self, project: Project, route: Route) -> set[str] | None:
        """Parameters taken by the route's, routers' and includes' ``dependencies=``."""
        index = project.index
        out: set[str] = set()
        exprs: list[tuple[Expr | None, Ctx]] = [(route.kw("dependencies"), route.ctx)]
        for chain in chains(project.routes, route.owner):
            if not chain.reaches_app and unresolved_include_sets(project.routes, "dependencies"):
                return None
            exprs.extend(place for o in chain.objects for place in o.dependency_sources)
            exprs.extend((i.call.kw("dependencies"), i.ctx) for i in chain.includes)
        for expr, ctx in exprs:
            deps = list_dependencies(index, expr, ctx)
            if deps is None:
                return None
            for dep in deps:
                names = _callable_params(index, dep.target, dep.ctx, 1)
                if names is None:
                    return None
                out |= names
        return out


_MAX_DEPTH = 4
#: Every ``{...}`` in a path, and the placeholders Starlette's router reads as parameters.
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_STARLETTE_PARAM = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-zA-Z_][a-zA-Z0-9_]*)?")


def _taken(index: ProjectIndex, fn: FunctionFact, ctx: Ctx, depth: int) -> set[str] | None:
    """Names a function takes from the request path, its dependencies' included; None: unknown.

    FastAPI fills parameters by keyword: `*args`/`**kwargs` receive nothing
    (each becomes a query parameter of its own name) and a positional-only
    parameter cannot be passed at all.
    """
    names: set[str] = set()
    for param in fn.params:
        if param.kind in ("vararg", "kwarg", "posonly"):
            continue
        names.add(param.name)
        alias = _path_alias(index, param.annotation, param.default, ctx)
        if alias:
            names.add(alias)
    read = _path_params_read(fn)
    if read is None:
        return None
    names |= read
    deps, unknown = param_dependencies(index, fn, ctx)
    if unknown:
        return None
    for dep in deps:
        more = _callable_params(index, dep.target, dep.ctx, depth + 1)
        if more is None:
            return None
        names |= more
    return names


def _path_params_read(fn: FunctionFact) -> set[str] | None:
    """Keys a function reads from ``request.path_params`` (``["id"]``, ``.get("id")``); None: a key not literal."""
    exprs: list[Expr] = [site.call for site in fn.calls]
    exprs += [a.value for a in fn.assigns if a.value is not None]
    exprs += [r for r in fn.returns if r is not None]
    out: set[str] = set()
    for expr in exprs:
        for node in iter_exprs(expr):
            key: Expr | None = None
            if isinstance(node, Subscript) and isinstance(node.base, Attr) and node.base.attr == "path_params":
                key = node.items[0] if node.items else None
            elif isinstance(node, Call) and isinstance(node.func, Attr) and node.func.attr in ("get", "__getitem__"):
                base = node.func.base
                if isinstance(base, Attr) and base.attr == "path_params":
                    key = node.arg(0, "key")
            elif isinstance(node, Attr) and node.attr == "path_params":
                continue
            else:
                continue
            if isinstance(key, Lit) and isinstance(key.value, str):
                out.add(key.value)
            else:
                return None
    return out


def _path_alias(index: ProjectIndex, annotation: Expr | None, default: Expr | None, ctx: Ctx) -> str | None:
    candidates: list[Instance] = []
    form = annotated_parts(index, annotation, ctx)
    if form is not None:
        candidates.extend(v for v in form.args[1:] if isinstance(v, Instance))
    if default is not None:
        value = index.evaluate(default, ctx)
        if isinstance(value, Instance):
            candidates.append(value)
    for value in candidates:
        if fqn_of(value.type) in PATH_PARAMS:
            alias = value.call.kw("alias")
            text = index.const(alias, value.ctx) if alias is not None else None
            if isinstance(text, str):
                return text
    return None


def _callable_params(index: ProjectIndex, expr: Expr | None, ctx: Ctx, depth: int) -> set[str] | None:
    if expr is None or depth > _MAX_DEPTH:
        return None
    value = index.evaluate(expr, ctx)
    if isinstance(value, TypeForm):
        value = value.origin
    if isinstance(value, FuncRef):
        fn = index.function(value)
        return _taken(index, fn, Ctx(value.module, fn.qualname), depth) if fn else None
    if isinstance(value, Instance) and isinstance(value.type, ClassRef):
        call = index.class_member(value.type, "__call__")
        if isinstance(call, FuncRef):
            fn = index.function(call)
            return _taken(index, fn, Ctx(call.module, fn.qualname), depth) if fn else None
        return None
    if isinstance(value, ClassRef):
        init = index.class_member(value, "__init__")
        if isinstance(init, FuncRef):
            fn = index.function(init)
            return _taken(index, fn, Ctx(init.module, fn.qualname), depth) if fn else None
        names: set[str] = set()
        for klass in index.mro(value):
            if isinstance(klass, ClassRef):
                fact = index.class_fact(klass)
                if fact is None:
                    return None
                for assign in fact.assigns:
                    for target in assign.targets:
                        name = getattr(target, "id", None)
                        if name:
                            names.add(name)
            elif isinstance(klass, Symbol) and klass.fqn not in BASE_MODEL | {"builtins.object"}:
                return None
        return names
    external = value.type if isinstance(value, Instance) else value
    if isinstance(external, Symbol) and external.fqn.startswith("fastapi."):
        return set()  # security schemes and forms read the request, not path parameters
    return None
