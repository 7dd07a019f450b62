"""S3 — OpenAPI documentation for every endpoint: description, response model, tags, errors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archlint.analysis.endpoints import (
    chains,
    handler_ctx,
    route_label,
    route_status,
    runtime_statuses,
    unresolved_include_sets,
)
from archlint.analysis.routes import ObjKey, Route, RouteTable
from archlint.checks._registrations import flagged_handlers
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, BinOp, Call, DictExpr, Expr, FunctionFact, Lit, Name
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity
from archlint.names import HTTP_EXCEPTIONS
from archlint.pack import option
from archlint.values import ClassRef, Const, Ctx, FuncRef, Module, SeqValue, Symbol, TypeForm, Unknown, Value, fqn_of

if TYPE_CHECKING:
    import libcst as cst

    from archlint.fixes import FixSource, Rewrite


@dataclass(frozen=True)
class S3Options:
    opaque_return_types: tuple[str, ...] = option(
        "Return annotations (dotted names) that document nothing: `typing.Any`, `object`."
    )
    implicit_error_codes: tuple[int, ...] = option(
        "Error status codes FastAPI documents by itself (422 validation errors): AL124 never asks for them."
    )


def _documented_route(project: Project, route: Route) -> bool:
    """Routes of the API's OpenAPI document: not hidden from it, not pages (the route table answers)."""
    table = project.routes
    return not table.not_in_openapi(route) and not table.serves_page(route)


def _nonempty(index: ProjectIndex, expr: Expr | None, ctx: Ctx) -> bool:
    if expr is None:
        return False
    value = index.evaluate(expr, ctx)
    if isinstance(value, Const):
        return bool(value.value)
    return True  # something archlint cannot read: assume it documents


def _prose(index: ProjectIndex, expr: Expr | None, ctx: Ctx) -> bool:
    """A route `name=` written as words: FastAPI's summary when none is given (an identifier is a `url_for` key)."""
    if expr is None:
        return False
    value = index.evaluate(expr, ctx)
    return isinstance(value, Const) and isinstance(value.value, str) and len(value.value.split()) > 1


class UndocumentedEndpoint(Rule[S3Options]):
    """Reports routes with neither a handler docstring nor `summary=` / `description=`.

    FastAPI turns the handler's docstring into the operation's description;
    `summary=` and `description=` on the decorator do the same explicitly.
    Without a `summary=`, FastAPI titles the route's `name=` into the
    operation's summary: a name written as words (`name="List the items"`)
    documents the route; an identifier (`name="items:list"`, kept for
    `url_for`) documents nothing more than the function name would.
    Routes no OpenAPI document lists are left alone: websockets,
    `include_in_schema=False` on the route, its router or an `include_router`
    call, and every route of an application built with `openapi_url=None`;
    so are HTML pages and form actions (the route table answers both).

    ## Why is this bad?
    The OpenAPI document is the API's contract and its generated clients'
    documentation. An operation without a description leaves every consumer
    to guess what it does from its path.
    """

    id = "AL120"
    name = "UndocumentedEndpoint"
    standard = "S3"
    severity = Severity.ERROR
    tags = ("api", "openapi")
    Options = S3Options
    INVALID = [
        """
        from fastapi import APIRouter

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        @router.get("/")  # expect: AL120
        async def list_items() -> list[str]:
            return []
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        @router.get("/")
        async def list_items() -> list[str]:
            \"\"\"List the items.\"\"\"
            return []

        @router.get("/count", summary="Count the items")
        async def count_items() -> int:
            return 0

        @router.get("/latest", name="The latest items")
        async def latest_items() -> list[str]:
            return []
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        for route, fn, label in flagged_handlers(project.routes.routes, lambda r: self._undocumented(project, r)):
            yield self.finding(
                route.file,
                route.call.span,
                f"The route {label} is not documented: give `{fn.name}` a docstring or pass `summary=` / `description=`.",
            )

    def _undocumented(self, project: Project, route: Route) -> FunctionFact | None:
        index = project.index
        if not _documented_route(project, route):
            return None
        if _nonempty(index, route.kw("summary"), route.ctx) or _nonempty(index, route.kw("description"), route.ctx):
            return None
        if _prose(index, route.kw("name"), route.ctx):
            return None
        fn = index.function(route.handler) if route.handler else None
        if fn is None or (fn.docstring and fn.docstring.strip()):
            return None
        return fn


class MissingResponseModel(Rule[S3Options]):
    """Reports routes whose response schema is undocumented: no `response_model`, return annotation or `response_class`.

    A return annotation documents the response unless it is an opaque type
    (`typing.Any`: the pack's `opaque-return-types`); `response_model=None`
    switches the schema off. Routes answering 204 have no body and are left
    alone, as are websockets, routes no OpenAPI document lists
    (`include_in_schema=False`, `openapi_url=None`) and HTML pages (a
    returned `HTMLResponse` or `templates.TemplateResponse(...)`).

    ## Why is this bad?
    Without a response schema the OpenAPI document says nothing about what an
    endpoint returns, generated clients type it as `unknown`, and FastAPI does
    not filter the response through a model, so internal fields (password
    hashes) can leak.
    """

    id = "AL121"
    name = "MissingResponseModel"
    standard = "S3"
    severity = Severity.ERROR
    tags = ("api", "openapi")
    Options = S3Options
    INVALID = [
        """
        from typing import Any
        from fastapi import APIRouter

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        @router.get("/{item_id}")  # expect: AL121
        async def read_item(item_id: int) -> Any:
            \"\"\"Read an item.\"\"\"
            return {"id": item_id}
        """
    ]
    VALID = [
        """
        from typing import Any
        from fastapi import APIRouter
        from fastapi.responses import HTMLResponse
        from pydantic import BaseModel

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        class Item(BaseModel):
            id: int

        @router.get("/{item_id}", response_model=Item)
        async def read_item(item_id: int) -> Any:
            \"\"\"Read an item.\"\"\"
            return {"id": item_id}

        @router.get("/{item_id}/page", response_class=HTMLResponse)
        async def item_page(item_id: int):
            \"\"\"The item as a page.\"\"\"
            return "<p>item</p>"

        @router.delete("/{item_id}", status_code=204)
        async def delete_item(item_id: int):
            \"\"\"Delete an item.\"\"\"
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        for route, what, label in flagged_handlers(project.routes.routes, lambda r: self._undocumented(project, r)):
            yield self.finding(
                route.file,
                route.call.span,
                f"The route {label} documents no response schema ({what}): annotate the return type or pass `response_model=`.",
            )

    def _undocumented(self, project: Project, route: Route) -> str | None:
        index = project.index
        opaque = set(self.options.opaque_return_types)
        if not _documented_route(project, route):
            return None
        if route.kw("response_class") is not None:
            return None
        model = route.kw("response_model")
        if model is not None and not (isinstance(model, Lit) and model.value is None):
            return None
        status = route_status(index, route)
        if status == 204 or isinstance(status, Unknown):
            return None
        fn = index.function(route.handler) if route.handler else None
        ctx = handler_ctx(route)
        if fn is None or ctx is None:
            return None
        if any(s == 204 or isinstance(s, Unknown) for s in runtime_statuses(index, fn, ctx)):
            return None
        if model is None and fn.returns_annotation is not None:
            returned = fqn_of(index.evaluate(fn.returns_annotation, ctx))
            if returned is None or returned not in opaque:
                return None
            return f"its return annotation is `{returned.rsplit('.', 1)[-1]}`"
        if model is not None:
            return "it sets `response_model=None`"
        return f"`{fn.name}` has no return annotation"


def _type_key(value: Value) -> object:
    """A comparable form of a resolved type: the same type written twice compares equal."""
    if isinstance(value, (ClassRef, Symbol, FuncRef, Module)):
        return fqn_of(value)
    if isinstance(value, TypeForm):
        return (_type_key(value.origin), tuple(_type_key(a) for a in value.args))
    if isinstance(value, Const):
        return ("const", value.value)
    if isinstance(value, SeqValue):
        return (value.kind, tuple(_type_key(i) for i in value.items))
    return object()  # never equal


class RedundantResponseModel(Rule[S3Options]):
    """Notes a `response_model` that only repeats the handler's return annotation (Ruff FAST001).

    FastAPI uses the return annotation as the response model, so
    `@router.get("/", response_model=Item)` on `def f() -> Item` says the same
    thing twice. The two are compared after resolving names across files.

    ## Why is this bad?
    It is not wrong, only redundant: two places to keep in sync, and the day
    they drift the decorator silently wins. Drop `response_model=` and keep the
    annotation, which type checkers also see. A note: the redundancy is not a
    gap in the documentation S3 asks for, so it never fails a run.
    """

    id = "AL122"
    name = "RedundantResponseModel"
    standard = "S3"
    severity = Severity.NOTE
    tags = ("api", "openapi")
    Options = S3Options
    INVALID = [
        """
        from fastapi import APIRouter
        from pydantic import BaseModel

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        class Item(BaseModel):
            id: int

        @router.get("/{item_id}", response_model=Item)  # expect: AL122
        async def read_item(item_id: int) -> Item:
            \"\"\"Read an item.\"\"\"
            return Item(id=item_id)
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter
        from pydantic import BaseModel

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        class Item(BaseModel):
            id: int

        class ItemPublic(BaseModel):
            id: int

        @router.get("/{item_id}", response_model=ItemPublic)
        async def read_item(item_id: int) -> Item:
            \"\"\"Read an item; the response model filters it.\"\"\"
            return Item(id=item_id)
        """
    ]

    #: Ruff FAST001's fix: FastAPI already uses the return annotation, so the response is the same.
    fix_message = "Remove the redundant `response_model` argument."
    FIXES = [
        (
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/api/v1/items", tags=["items"])

            class Item(BaseModel):
                id: int

            @router.get("/{item_id}", response_model=Item)
            async def read_item(item_id: int) -> Item:
                return Item(id=item_id)

            @router.get(
                "/",
                response_model=list[Item],
                summary="List items.",
            )
            async def list_items() -> list[Item]:
                return []
            """,
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/api/v1/items", tags=["items"])

            class Item(BaseModel):
                id: int

            @router.get("/{item_id}")
            async def read_item(item_id: int) -> Item:
                return Item(id=item_id)

            @router.get(
                "/",
                summary="List items.",
            )
            async def list_items() -> list[Item]:
                return []
            """,
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        from archlint.fixes import fastapi as fastapi_fixes  # LibCST: only when fixing

        return fastapi_fixes.remove_argument(source, finding.span, "response_model")

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        for route in project.routes.routes:
            model = route.kw("response_model")
            fn = index.function(route.handler) if route.handler else None
            ctx = handler_ctx(route)
            if model is None or fn is None or ctx is None or fn.returns_annotation is None:
                continue
            declared = index.evaluate(model, route.ctx)
            annotated = index.evaluate(fn.returns_annotation, ctx)
            if isinstance(declared, Unknown) or isinstance(annotated, Unknown):
                continue
            if fqn_of(annotated) in self.options.opaque_return_types:
                continue
            if _type_key(declared) == _type_key(annotated):
                yield self.finding(
                    route.file,
                    model.span,
                    f"`response_model` repeats the return annotation of `{fn.name}`: FastAPI already "
                    f"uses the annotation, so drop the argument.",
                )


class MissingTags(Rule[S3Options]):
    """Reports routes without OpenAPI tags: none on the route, its routers or the `include_router` calls.

    Tags set on `APIRouter(tags=...)`, on any router the router is included
    into, or on `include_router(..., tags=...)` apply to the route. Routes no
    OpenAPI document lists and HTML pages need no tags. Each
    untagged route is reported at its decorator (the message says when its
    whole router has none, so one `tags=` there fixes them all).

    ## Why is this bad?
    Tags group operations in Swagger UI and ReDoc and name the modules of
    generated clients; untagged operations land in a "default" bucket that
    grows with every endpoint.
    """

    id = "AL123"
    name = "MissingTags"
    standard = "S3"
    severity = Severity.ERROR
    tags = ("api", "openapi")
    Options = S3Options
    INVALID = [
        """
        from fastapi import APIRouter, FastAPI

        router = APIRouter(prefix="/api/v1/items")

        @router.get("/")  # expect: AL123
        async def list_items() -> list[str]:
            \"\"\"List the items.\"\"\"
            return []

        app = FastAPI()
        app.include_router(router)
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, FastAPI

        router = APIRouter(prefix="/items")

        @router.get("/")
        async def list_items() -> list[str]:
            \"\"\"List the items.\"\"\"
            return []

        app = FastAPI()
        app.include_router(router, prefix="/api/v1", tags=["items"])
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        table = project.routes
        untagged: dict[ObjKey, list[Route]] = defaultdict(list)
        documented: dict[ObjKey, int] = defaultdict(int)
        unknown_tags = unresolved_include_sets(table, "tags")
        for route in table.routes:
            if not _documented_route(project, route):
                continue
            documented[route.owner] += 1
            if _has(index, route.kw("tags"), route.ctx):
                continue
            tagged = False
            for chain in chains(table, route.owner):
                if any(_has(index, o.call.kw("tags"), o.ctx) for o in chain.objects if o.kind == "router") or any(
                    _has(index, i.call.kw("tags"), i.ctx) for i in chain.includes
                ):
                    tagged = True
                    break
                if not chain.reaches_app and unknown_tags:
                    tagged = True  # possibly included, with tags, by a call archlint cannot resolve
                    break
            if not tagged:
                untagged[route.owner].append(route)
        for owner, routes in untagged.items():
            obj = table.objects[owner]
            none_tagged = obj.kind == "router" and len(routes) == documented[owner]
            where = (
                ", nor has any route of its router: pass `tags=[...]` to the `APIRouter` or the `include_router` call"
                if none_tagged
                else ": pass `tags=[...]` on the route, its router or the `include_router` call"
            )
            for route in routes:
                yield self.finding(
                    route.file,
                    route.call.span,
                    f"The route {route_label(route)} has no OpenAPI tags{where}.",
                )


def _has(index: ProjectIndex, expr: Expr | None, ctx: Ctx) -> bool:
    """A ``tags=`` argument that is present and not statically empty."""
    if expr is None:
        return False
    value = index.evaluate(expr, ctx)
    if isinstance(value, SeqValue):
        return bool(value.items)
    if isinstance(value, Const):
        return bool(value.value)
    return True


class UndocumentedErrorResponse(Rule[S3Options]):
    """Reports an `HTTPException` a handler raises whose status is not documented in `responses=` (like Ruff's proposed FAST004).

    The status (`status_code=404`, `status.HTTP_404_NOT_FOUND`, constants) must
    appear as a key of `responses=` on the route, on a router or application
    it is included into, or on an `include_router` call (`"4XX"` ranges and
    `"default"` count). Only raises written in the handler itself are
    checked; a status or `responses=` mapping archlint cannot resolve is left
    alone. Off in the default pack: turn it on with
    `[tool.archlint.rules.AL124] enabled = true` or by selecting it.

    ## Why is this bad?
    Clients generated from the OpenAPI document only know the errors it
    lists; an undocumented 404 or 409 surprises them at run time instead of
    being a typed, handled case.
    """

    id = "AL124"
    name = "UndocumentedErrorResponse"
    standard = "S3"
    severity = Severity.WARNING
    precision = "medium"
    tags = ("api", "openapi")
    Options = S3Options
    INVALID = [
        """
        from fastapi import APIRouter, HTTPException, status

        router = APIRouter(prefix="/api/v1/items", tags=["items"], responses={403: {"description": "Forbidden"}})

        @router.get("/{item_id}")
        async def read_item(item_id: int) -> int:
            \"\"\"Read an item.\"\"\"
            if item_id < 0:
                raise HTTPException(status_code=403)
            raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Item not found")  # expect: AL124
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, HTTPException, status

        NOT_FOUND = {404: {"description": "Not found"}}

        router = APIRouter(prefix="/api/v1/items", tags=["items"])

        @router.get("/{item_id}", responses={**NOT_FOUND})
        async def read_item(item_id: int) -> int:
            \"\"\"Read an item.\"\"\"
            raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Item not found")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        table = project.routes
        implicit = set(self.options.implicit_error_codes)
        for route in table.routes:
            if not _documented_route(project, route):
                continue
            fn = index.function(route.handler) if route.handler else None
            ctx = handler_ctx(route)
            if fn is None or ctx is None:
                continue
            raised: list[tuple[Call, int]] = []
            for exc in fn.raises:
                if not isinstance(exc, Call):
                    continue
                if not index.is_subclass(index.evaluate(exc.func, ctx), HTTP_EXCEPTIONS):
                    continue
                code = index.const(exc.arg(0, "status_code"), ctx)
                if isinstance(code, int) and not isinstance(code, bool) and code not in implicit:
                    raised.append((exc, code))
            if not raised:
                continue
            documented = self._documented(index, table, route)
            if documented is None:
                continue
            for exc, code in raised:
                if _covers(documented, code):
                    continue
                yield self.finding(
                    route.file,
                    exc.span,
                    f"`{fn.name}` raises {code} but no `responses=` of {route_label(route)} "
                    f"(route, router or include) documents it.",
                )

    def _documented(self, index: ProjectIndex, table: RouteTable, route: Route) -> set[str] | None:
        keys: set[str] = set()
        places: list[tuple[Expr | None, Ctx]] = [(route.kw("responses"), route.ctx)]
        for chain in chains(table, route.owner):
            if not chain.reaches_app and unresolved_include_sets(table, "responses"):
                return None
            places.extend((o.call.kw("responses"), o.ctx) for o in chain.objects)
            places.extend((i.call.kw("responses"), i.ctx) for i in chain.includes)
        for expr, ctx in places:
            if expr is None:
                continue
            found = _dict_keys(index, expr, ctx, 0)
            if found is None:
                return None
            keys |= found
        return keys


def _covers(keys: set[str], code: int) -> bool:
    text = str(code)
    return text in keys or f"{text[0]}XX" in keys or "DEFAULT" in keys


def _dict_keys(index: ProjectIndex, expr: Expr, ctx: Ctx, depth: int) -> set[str] | None:
    """The keys of a ``responses=`` mapping, upper-cased text; None when unknown."""
    if depth > 6:
        return None
    if isinstance(expr, DictExpr):
        out: set[str] = set()
        for key, value in expr.items:
            if key is None:
                more = _dict_keys(index, value, ctx, depth + 1)
                if more is None:
                    return None
                out |= more
                continue
            const = index.const(key, ctx)
            if isinstance(const, Unknown) or isinstance(const, list):
                return None
            out.add(str(const).upper())
        return out
    if isinstance(expr, BinOp) and expr.op == "BitOr":
        left = _dict_keys(index, expr.left, ctx, depth + 1)
        right = _dict_keys(index, expr.right, ctx, depth + 1)
        return None if left is None or right is None else left | right
    if isinstance(expr, (Name, Attr)):
        found = index.definition(expr, ctx)
        if found is None:
            return None
        return _dict_keys(index, found[0], found[1], depth + 1)
    return None
