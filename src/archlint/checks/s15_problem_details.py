"""S15 — RFC 9457 problem details: problem+json handlers for HTTPException and RequestValidationError, no ad-hoc error bodies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from archlint.analysis.apps import Registration
from archlint.analysis.routes import RouteTable
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, Await, Call, DictExpr, Expr, FunctionFact, Lit, Name, Seq
from archlint.index import ProjectIndex
from archlint.model import Finding, Related, Severity, Span
from archlint.pack import option
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, Symbol, Unknown, Value, fqn_of

_MAX_DEPTH = 4
#: Positions of ``media_type`` / ``status_code`` in Starlette's Response(content, status_code, headers, media_type).
_STATUS_POS, _MEDIA_POS = 1, 3


@dataclass(frozen=True)
class S15Options:
    problem_media_type: str = option("The media type problem details are answered with.")
    http_exception_types: tuple[str, ...] = option(
        "Dotted names of Starlette's HTTPException: the handler must be registered for it (routing 404/405 raise it)."
    )
    fastapi_http_exception_types: tuple[str, ...] = option(
        "Dotted names of FastAPI's HTTPException subclass (a handler on it alone misses routing errors)."
    )
    validation_exception_types: tuple[str, ...] = option("Dotted names of the request-validation exception (or its base).")
    problem_installers: tuple[str, ...] = option(
        "Library calls that, given the app, install problem+json handlers for both (fastapi-problem, ...)."
    )
    problem_response_classes: tuple[str, ...] = option("Library response classes that answer problem+json.")
    default_handlers: tuple[str, ...] = option("FastAPI's default handlers, which answer application/json.")
    response_types: tuple[str, ...] = option("Dotted names of response classes (a handler's answer is one of them).")
    json_response_types: tuple[str, ...] = option("Dotted names of JSON response classes (ad-hoc error bodies).")
    error_body_keys: tuple[str, ...] = option("Keys that make a returned dict an error body.")


# --------------------------------------------------------------------------- #
# What a handler answers
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class Answer:
    verdict: str  # problem, plain, unknown
    reason: str = ""
    file: str = ""
    span: Span | None = None
    call: Call | None = None
    ctx: Ctx | None = None


@dataclass(slots=True)
class Verdict:
    verdict: str
    answers: list[Answer] = field(default_factory=list)

    @property
    def plain(self) -> list[Answer]:
        return [a for a in self.answers if a.verdict == "plain"]


class Answers:
    """The responses an exception handler builds, followed through helpers and local names."""

    def __init__(self, index: ProjectIndex, opts: S15Options) -> None:
        self.index = index
        self.opts = opts
        self._memo: dict[tuple[str, str], list[Answer]] = {}

    def handler(self, reg: Registration) -> Verdict:
        if reg.function is not None:
            answers = self.function(reg.function)
        else:
            value = self.index.evaluate(reg.handler, reg.ctx) if reg.handler is not None else Unknown("no handler")
            answers = self.callee(value)
        return _verdict(answers)

    def callee(self, value: Value, depth: int = 0) -> list[Answer]:
        if isinstance(value, FuncRef):
            return self.function(value, depth)
        fqn = fqn_of(value)
        if fqn in self.opts.default_handlers:
            return [Answer("plain", f"FastAPI's default handler `{fqn}` answers application/json")]
        return [Answer("unknown")]

    def function(self, ref: FuncRef, depth: int = 0) -> list[Answer]:
        key = (ref.module, ref.qualname)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = [Answer("unknown")]
        fn = self.index.function(ref)
        out: list[Answer] = []
        if fn is not None and depth <= _MAX_DEPTH:
            ctx = Ctx(ref.module, fn.qualname)
            for ret in fn.returns:
                if ret is not None:
                    out.extend(self.expr(ret, ctx, depth))
        result = out or [Answer("unknown")]
        self._memo[key] = result
        return result

    def expr(self, expr: Expr, ctx: Ctx, depth: int) -> list[Answer]:
        if isinstance(expr, Await):
            return self.expr(expr.value, ctx, depth)
        if isinstance(expr, Call):
            callee = self.index.evaluate(expr.func, ctx)
            if isinstance(callee, (ClassRef, Symbol)) and self._is_response(callee):
                return [self.response(callee, expr, ctx)]
            return self.callee(callee, depth + 1)
        if isinstance(expr, Name):
            value = self.index.evaluate(expr, ctx)
            if isinstance(value, Instance) and self._is_response(value.type):
                return [self.response(value.type, value.call, value.ctx)]
        return [Answer("unknown")]

    def _is_response(self, klass: Value) -> bool:
        return fqn_of(klass) in self.opts.problem_response_classes or self.index.is_subclass(
            klass, frozenset(self.opts.response_types)
        )

    def response(self, klass: Value, call: Call, ctx: Ctx) -> Answer:
        facts = self.index.file_of(ctx)
        path = facts.path if facts else ""

        def answer(verdict: str, reason: str = "") -> Answer:
            return Answer(verdict, reason, path, call.span, call, ctx)

        if fqn_of(klass) in self.opts.problem_response_classes:
            return answer("problem")
        media = call.arg(_MEDIA_POS, "media_type")
        if media is not None:
            value = self.index.evaluate(media, ctx)
            if isinstance(value, Const) and isinstance(value.value, str):
                if self.is_problem(value.value):
                    return answer("problem")
                return answer("plain", f"it answers `{value.value}`")
            if not (isinstance(value, Const) and value.value is None):
                return answer("unknown")
        for base in self.index.mro(klass) if isinstance(klass, (ClassRef, Symbol)) else ():
            if isinstance(base, ClassRef):
                member = self.index.class_member(base, "media_type")
                if isinstance(member, Const) and isinstance(member.value, str):
                    if self.is_problem(member.value):
                        return answer("problem")
                    return answer("plain", f"`{base.qualname}` answers `{member.value}`")
                if member is not None and not isinstance(member, Const):
                    return answer("unknown")
            elif fqn_of(base) in self.opts.problem_response_classes:
                return answer("problem")
        name = fqn_of(klass) or "the response"
        return answer("plain", f"`{name.rsplit('.', 1)[-1]}` answers {_default_media(name)}")

    def is_problem(self, media_type: str) -> bool:
        return media_type.split(";", 1)[0].strip().lower() == self.opts.problem_media_type.lower()


def _default_media(fqn: str) -> str:
    last = fqn.rsplit(".", 1)[-1]
    return {
        "PlainTextResponse": "text/plain",
        "HTMLResponse": "text/html",
        "Response": "no media type",
    }.get(last, "application/json")


def _verdict(answers: list[Answer]) -> Verdict:
    if any(a.verdict == "plain" for a in answers):
        return Verdict("plain", answers)
    if answers and all(a.verdict == "problem" for a in answers):
        return Verdict("problem", answers)
    return Verdict("unknown", answers)


def _exception_fqn(index: ProjectIndex, reg: Registration) -> str | None | Unknown:
    value = index.evaluate(reg.target, reg.ctx)
    if isinstance(value, Unknown):
        return value
    return fqn_of(value)


# --------------------------------------------------------------------------- #
# Rules
# --------------------------------------------------------------------------- #


class ProblemDetailsHandlersMissing(Rule[S15Options]):
    """Reports an application without problem+json exception handlers for `HTTPException` and `RequestValidationError`, once, at the app object.

    The handler for HTTP errors must be registered for Starlette's
    `HTTPException` (FastAPI's subclass alone misses the 404/405 the router
    raises), and both handlers must answer `application/problem+json` —
    through `media_type=`, a response class whose `media_type` is
    problem+json, or a problem-details library from the pack. Handlers
    registered in factories or helpers count; a handler whose answer cannot
    be resolved is given the benefit of the doubt.

    ## Why is this bad?
    Clients then get FastAPI's `{"detail": ...}` for some errors and the
    project's shape for others. RFC 9457 gives every error one documented,
    machine-readable shape (type, title, status, detail, instance).
    """

    id = "AL530"
    name = "ProblemDetailsHandlersMissing"
    standard = "S15"
    severity = Severity.ERROR
    tags = ("errors",)
    Options = S15Options
    INVALID = [
        """
        from fastapi import FastAPI, HTTPException, Request
        from fastapi.responses import JSONResponse

        app = FastAPI()  # expect: AL530


        @app.exception_handler(HTTPException)
        async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
            return JSONResponse({"title": exc.detail, "status": exc.status_code}, status_code=exc.status_code, media_type="application/problem+json")
        """
    ]
    VALID = [
        """
        from fastapi import FastAPI, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse
        from starlette.exceptions import HTTPException

        PROBLEM = "application/problem+json"


        class ProblemResponse(JSONResponse):
            media_type = PROBLEM


        async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
            return ProblemResponse({"title": str(exc.detail), "status": exc.status_code}, status_code=exc.status_code)


        async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
            return JSONResponse({"title": "Invalid request", "status": 422}, status_code=422, media_type=PROBLEM)


        app = FastAPI(exception_handlers={HTTPException: http_error, RequestValidationError: invalid})
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        opts = self.options
        config = project.apps
        answers = Answers(index, opts)
        # A mounted application answers its own errors: each is checked, parents' handlers do not count.
        for app in config.handler_apps:
            if config.calls_with_app(app.key, opts.problem_installers):
                continue
            handlers = config.of(app.key, "handler")
            kinds: dict[str, list[Registration]] = {"http": [], "fastapi": [], "validation": []}
            unknown = False
            for reg in handlers:
                fqn = _exception_fqn(index, reg)
                if isinstance(fqn, Unknown):
                    unknown = True
                elif fqn in opts.http_exception_types:
                    kinds["http"].append(reg)
                elif fqn in opts.fastapi_http_exception_types:
                    kinds["fastapi"].append(reg)
                elif fqn in opts.validation_exception_types:
                    kinds["validation"].append(reg)
            if unknown:
                continue
            problems: list[str] = []
            related: list[Related] = []
            for kind, label in (("http", "Starlette's `HTTPException`"), ("validation", "`RequestValidationError`")):
                regs = kinds[kind]
                if not regs:
                    if kind == "http" and kinds["fastapi"]:
                        problems.append(
                            "its HTTP error handler is registered for FastAPI's `HTTPException`, which misses the "
                            "404/405 the router raises as Starlette's: register it for `starlette.exceptions.HTTPException`"
                        )
                        related.extend(
                            Related(r.file, r.span, "Registered for FastAPI's HTTPException.") for r in kinds["fastapi"]
                        )
                    else:
                        problems.append(f"no exception handler for {label}")
                    continue
                verdicts = [answers.handler(r) for r in regs]
                if all(v.verdict == "plain" for v in verdicts):
                    reasons = sorted({a.reason for v in verdicts for a in v.plain if a.reason})
                    problems.append(f"the handler for {label} does not answer `{opts.problem_media_type}` ({'; '.join(reasons)})")
                    for reg, verdict in zip(regs, verdicts):
                        related.append(Related(reg.file, reg.span, f"The handler for {label}."))
                        related.extend(
                            Related(a.file, a.span, "This response is not problem+json.") for a in verdict.plain if a.span
                        )
            if problems:
                yield self.finding(
                    app.file,
                    app.call.span,
                    "This application does not answer errors as RFC 9457 problem details: " + "; ".join(problems) + ".",
                    related=related[:10],
                )


class AdHocErrorResponse(Rule[S15Options]):
    """Warns about an error response built ad hoc instead of as `application/problem+json`.

    Reported: a JSON response (`JSONResponse`, `ORJSONResponse`, a project
    subclass) with a 4xx/5xx `status_code` that is not problem+json; any
    non-problem response an exception handler answers (its status is an
    error whatever the expression); a route handler that sets
    `response.status_code` to an error, or returns `(body, 4xx)`, and
    returns a dict with an error key (`{"error": ...}`). One finding per
    response site.

    ## Why is this bad?
    Each ad-hoc body is a new error format clients must special-case; RFC
    9457 problem details are the one shape every error has.
    """

    id = "AL531"
    name = "AdHocErrorResponse"
    standard = "S15"
    severity = Severity.WARNING
    tags = ("errors",)
    Options = S15Options
    INVALID = [
        """
        from fastapi import APIRouter
        from fastapi.responses import JSONResponse

        router = APIRouter()


        @router.get("/items/{item_id}")
        async def read_item(item_id: int):
            if item_id < 0:
                return JSONResponse(status_code=404, content={"error": "not found"})  # expect: AL531
            return {"id": item_id}
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter
        from fastapi.responses import JSONResponse

        router = APIRouter()


        @router.get("/items/{item_id}")
        async def read_item(item_id: int):
            if item_id < 0:
                return JSONResponse(
                    status_code=404,
                    content={"type": "about:blank", "title": "Not Found", "status": 404},
                    media_type="application/problem+json",
                )
            return JSONResponse(status_code=200, content={"id": item_id})
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        opts = self.options
        answers = Answers(index, opts)
        reported: set[tuple[str, Span]] = set()
        handler_sites: dict[tuple[str, Span], Answer] = {}
        for reg in project.apps.registrations:
            if reg.kind != "handler":
                continue
            for answer in answers.handler(reg).answers:
                if answer.verdict == "plain" and answer.span is not None and answer.file:
                    handler_sites.setdefault((answer.file, answer.span), answer)
        for (path, span), answer in handler_sites.items():
            reported.add((path, span))
            yield self.finding(
                path,
                span,
                f"This exception handler answers an ad-hoc error body ({answer.reason}): answer "
                f"`{opts.problem_media_type}` with type, title, status, detail and instance.",
            )
        for facts, site, ctx in index.calls_to(*self._json_types(index)):
            call = site.call
            if (facts.path, call.span) in reported:
                continue
            status = index.evaluate(call.arg(_STATUS_POS, "status_code"), ctx)
            if not (isinstance(status, Const) and isinstance(status.value, int) and status.value >= 400):
                continue
            klass = index.evaluate(call.func, ctx)
            answer = answers.response(klass, call, ctx)
            if answer.verdict != "plain":
                continue
            reported.add((facts.path, call.span))
            yield self.finding(
                facts.path,
                call.span,
                f"This {status.value} response is an ad-hoc error body ({answer.reason}): answer "
                f"`{opts.problem_media_type}` problem details instead.",
            )
        yield from self._dict_returns(index, project.routes, reported)

    def _json_types(self, index: ProjectIndex) -> list[str]:
        types = frozenset(self.options.json_response_types)
        out = list(types)
        for facts in index.modules.values():
            for qualname in facts.classes:
                ref = ClassRef(facts.module, qualname)
                if index.is_subclass(ref, types):
                    out.append(ref.fqn)
        return out

    def _dict_returns(self, index: ProjectIndex, table: RouteTable, reported: set[tuple[str, Span]]) -> Iterable[Finding]:
        seen: set[FuncRef] = set()
        for route in table.routes:
            fn = table.handler(index, route)
            handler = route.handler
            if fn is None or handler is None or handler in seen:
                continue
            seen.add(handler)
            facts = index.file_of(handler.module)
            if facts is None:
                continue
            ctx = Ctx(facts.module, fn.qualname)
            error_status = self._assigned_error_status(index, fn, ctx)
            for ret in fn.returns:
                body, status = ret, error_status
                if isinstance(ret, Seq) and ret.kind == "tuple" and len(ret.items) == 2:
                    value = index.evaluate(ret.items[1], ctx)
                    if isinstance(value, Const) and isinstance(value.value, int) and value.value >= 400:
                        body, status = ret.items[0], value.value
                if status is None or not isinstance(body, DictExpr) or not self._error_keys(body):
                    continue
                if (facts.path, body.span) in reported:
                    continue
                reported.add((facts.path, body.span))
                yield self.finding(
                    facts.path,
                    body.span,
                    f"`{fn.name}` answers status {status} with an ad-hoc error dict: raise an HTTPException "
                    "(answered as problem details) or return problem+json.",
                )

    def _assigned_error_status(self, index: ProjectIndex, fn: FunctionFact, ctx: Ctx) -> int | None:
        for assign in fn.assigns:
            for target in assign.targets:
                if isinstance(target, Attr) and target.attr == "status_code" and isinstance(target.base, Name):
                    value = index.evaluate(assign.value, ctx)
                    if isinstance(value, Const) and isinstance(value.value, int) and value.value >= 400:
                        return value.value
        return None

    def _error_keys(self, body: DictExpr) -> bool:
        return any(isinstance(k, Lit) and k.value in self.options.error_body_keys for k, _ in body.items)
