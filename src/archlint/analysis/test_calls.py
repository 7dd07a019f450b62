"""What the project's tests call (S24): HTTP requests through test clients, matched to the route table.

The tests are read for S24 and the inventory only: every other rule leaves
them out. They are indexed together with the application, so a test's
``f"{settings.API_V1_STR}/items/{item['id']}"`` resolves through the same
settings the routes use; the parts known only at run time become wildcards
of the URL template (``/api/v1/items/{*}``), which matches the route
template ``/api/v1/items/{item_id}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from archlint.analysis.static_types import TypeResolver, canonical_of
from archlint.collect.facts import Attr, BinOp, Call, Expr, FileFacts, FString, FunctionFact, Lit, Name, Seq, last_name
from archlint.index import ProjectIndex
from archlint.model import Span
from archlint.names import ITERATORS, canonical
from archlint.values import Ctx, FuncRef, TypeForm

WILDCARD = "{*}"
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


@dataclass(frozen=True, slots=True)
class TestCall:
    """One request a test sends (or cannot be read statically)."""

    path: str  # the test file, relative to the report root
    span: Span
    test: str  # module:qualname of the function that sends it
    method: str | None  # upper case; None when it is known only at run time
    url: str | None  # a template with {*} for run-time parts; None when unresolvable
    route_name: str | None = None  # app.url_path_for("name")
    reason: str = ""  # why the URL is unresolvable


@dataclass(slots=True)
class TestCalls:
    """Every request the tests send, and which endpoints they reach."""

    files: int
    calls: list[TestCall] = field(default_factory=list)
    #: Handlers the tests call as functions (``await read_item(42, db)``), by fully qualified name.
    direct: dict[str, list[TestCall]] = field(default_factory=dict)
    _shapes: _Shapes | None = field(default=None, repr=False, compare=False)

    def calling(self, method: str, template: str, names: Iterable[str] = (), handler: str | None = None) -> list[TestCall]:
        """The test calls that reach ``method template`` (a route's full path), name its route or call its handler."""
        out = list(self.direct.get(handler, ())) if handler is not None else []
        shapes = self._shapes
        if shapes is None or shapes.size != len(self.calls):
            shapes = self._shapes = _Shapes(self.calls)
        found = shapes.named(set(names)) + shapes.matching(template)
        found.sort()
        for number in found:
            call = self.calls[number]
            if call.method is None or call.method == method:
                out.append(call)
        return out


class _Shapes:
    """The test calls indexed by what a route can be matched on, so one endpoint looks up its candidates.

    A test URL can reach a route template only with as many path segments (unless the template ends
    with a ``{name:path}`` parameter), and a literal segment of the template only a test URL with the
    same text there or a run-time part ({*}): the calls are grouped by segment count, and within it by
    the text at the template's last literal segment.
    """

    def __init__(self, calls: list[TestCall]) -> None:
        self.size = len(calls)
        self.calls = calls
        self.by_name: dict[str, list[int]] = {}
        self.by_length: dict[int, list[tuple[int, list[str]]]] = {}
        for number, call in enumerate(calls):
            if call.route_name is not None:
                self.by_name.setdefault(call.route_name, []).append(number)
            elif call.url is not None:
                have = _split(call.url)
                self.by_length.setdefault(len(have), []).append((number, have))
        self._at: dict[tuple[int, int], tuple[dict[str, list[int]], list[int]]] = {}
        self._matches: dict[tuple[str, str], bool] = {}

    def named(self, names: set[str]) -> list[int]:
        return [number for name in names for number in self.by_name.get(name, ())]

    def matching(self, template: str) -> list[int]:
        """The calls with a URL that matches the route template."""
        want = _split(template)
        if _TAIL_PATH.search(template):
            candidates = [n for length, calls in self.by_length.items() if length >= len(want) for n, _ in calls]
        else:
            literal = next((i for i in range(len(want) - 1, -1, -1) if not _PARAM.search(want[i])), None)
            if literal is None:
                candidates = [n for n, _ in self.by_length.get(len(want), ())]
            else:
                exact, wild = self._segment(len(want), literal)
                candidates = [*exact.get(want[literal], ()), *wild]
        return [n for n in candidates if self._match(self.calls[n].url or "", template)]

    def _segment(self, length: int, position: int) -> tuple[dict[str, list[int]], list[int]]:
        """The calls of ``length`` segments by their text at ``position``; those with a run-time part there apart."""
        key = (length, position)
        found = self._at.get(key)
        if found is None:
            exact: dict[str, list[int]] = {}
            wild: list[int] = []
            for number, have in self.by_length.get(length, ()):
                if WILDCARD in have[position]:
                    wild.append(number)
                else:
                    exact.setdefault(have[position], []).append(number)
            found = self._at[key] = (exact, wild)
        return found

    def _match(self, url: str, template: str) -> bool:
        key = (url, template)
        hit = self._matches.get(key)
        if hit is None:
            hit = self._matches[key] = url_matches(url, template)
        return hit


# --------------------------------------------------------------------------- #
# Matching a test URL to a route template
# --------------------------------------------------------------------------- #

_PARAM = re.compile(r"\{[^{}]*\}")
_TAIL_PATH = re.compile(r"\{[^{}]*:path\}$")


@lru_cache(maxsize=4096)
def _segment_regex(segment: str, wildcard: str) -> re.Pattern[str]:
    parts = re.split(f"({re.escape(wildcard)})" if wildcard != "param" else r"(\{[^{}]*\})", segment)
    pattern = "".join(".+" if (p == wildcard or (wildcard == "param" and _PARAM.fullmatch(p))) else re.escape(p) for p in parts)
    return re.compile(pattern)


def _split(path: str) -> list[str]:
    path = path.split("?", 1)[0].split("#", 1)[0]
    if len(path) > 1:
        path = path.rstrip("/")
    return path.split("/")


def url_matches(url: str, template: str) -> bool:
    """Whether a test URL template (``/items/{*}``) can be a request for a route template (``/items/{id}``)."""
    tail_path = bool(_TAIL_PATH.search(template))
    have, want = _split(url), _split(template)
    if tail_path:
        if len(have) < len(want):
            return False
        have = have[: len(want) - 1] + ["/".join(have[len(want) - 1 :])]
    if len(have) != len(want):
        return False
    for got, route in zip(have, want):
        if _PARAM.fullmatch(route):
            if not got:
                return False
            continue
        if WILDCARD in got and _PARAM.search(route):
            continue
        if WILDCARD in got:
            if not _segment_regex(got, WILDCARD).fullmatch(route):
                return False
        elif not _segment_regex(route, "param").fullmatch(got):
            return False
    return True


# --------------------------------------------------------------------------- #
# Reading the tests
# --------------------------------------------------------------------------- #


class _Reader:
    def __init__(
        self,
        index: ProjectIndex,
        tests: list[FileFacts],
        client_classes: frozenset[str],
        fixture_decorators: frozenset[str],
    ) -> None:
        self.index = index
        self.types = TypeResolver(index)
        self.tests = tests
        self.client_classes = client_classes
        self.fixture_decorators = fixture_decorators
        self.client_fixtures = self._client_fixtures()

    # ----------------------------------------------------------- clients
    def _is_fixture(self, facts: FileFacts, fn: FunctionFact) -> bool:
        ctx = Ctx(facts.module, fn.parent or "")
        for decorator in fn.decorators:
            target = decorator.func if isinstance(decorator, Call) else decorator
            if canonical(self.index.fqn(target, ctx)) in self.fixture_decorators:
                return True
        return False

    def _client_expr(self, expr: Expr | None, ctx: Ctx) -> bool:
        if expr is None:
            return False
        return canonical_of(self.types.of(expr, ctx)) in self.client_classes

    def _client_annotation(self, expr: Expr | None, ctx: Ctx) -> bool:
        """``client: TestClient``, or a fixture's ``-> AsyncIterator[httpx.AsyncClient]`` (what a generator yields)."""
        value = self.types.annotation(expr, ctx)
        if isinstance(value, TypeForm) and canonical_of(value.origin) in ITERATORS and value.args:
            value = value.args[0]
        if isinstance(value, TypeForm):
            value = value.origin
        return self.types.is_subclass(value, self.client_classes)

    def _client_fixtures(self) -> set[str]:
        """Names of fixtures that return or yield a test client (fixtures built on such fixtures too)."""
        found: set[str] = set()
        fixtures = [(f, fn) for f in self.tests for fn in f.functions.values() if self._is_fixture(f, fn)]
        changed = True
        while changed:
            changed = False
            for facts, fn in fixtures:
                if fn.name in found:
                    continue
                ctx = Ctx(facts.module, fn.qualname)
                handed = [*fn.returns, *fn.yields]
                if (
                    self._client_annotation(fn.returns_annotation, Ctx(facts.module, fn.parent or ""))
                    or any(
                        self._client_expr(v, ctx) or (isinstance(v, Name) and v.id in found and fn.param(v.id) is not None)
                        for v in handed
                    )
                    or any(
                        self._client_expr(item.context, ctx)
                        and isinstance(item.target, Name)
                        and any(isinstance(v, Name) and v.id == item.target.id for v in handed)
                        for item in fn.withs
                    )
                ):
                    found.add(fn.name)
                    changed = True
        return found

    def is_client(self, receiver: Expr, fn: FunctionFact | None, ctx: Ctx) -> bool:
        if self._client_expr(receiver, ctx):
            return True
        if isinstance(receiver, Name) and fn is not None:
            param = fn.param(receiver.id)
            if param is not None:
                if param.annotation is not None:
                    return self._client_annotation(param.annotation, Ctx(ctx.module, fn.parent or ""))
                return receiver.id in self.client_fixtures
        return False

    # -------------------------------------------------------------- URLs
    def template(self, expr: Expr | None, ctx: Ctx, depth: int = 0) -> str | None:
        """The URL as a template: known text, with {*} for what only run time knows; None if unknowable."""
        if expr is None or depth > 8:
            return None
        if isinstance(expr, Lit):
            return str(expr.value) if isinstance(expr.value, (str, int)) else None
        if isinstance(expr, FString):
            out = []
            for part in expr.parts:
                text = self.template(part, ctx, depth + 1) if isinstance(part, Lit) else self._known(part, ctx)
                out.append(WILDCARD if text is None else text)
            return "".join(out)
        if isinstance(expr, BinOp) and expr.op == "Add":
            left, right = self.template(expr.left, ctx, depth + 1), self.template(expr.right, ctx, depth + 1)
            if left is None and right is None:
                return None
            return (left or WILDCARD) + (right or WILDCARD)
        if isinstance(expr, (Name, Attr)):
            return self._known(expr, ctx)
        if isinstance(expr, Call) and isinstance(expr.func, Attr) and expr.func.attr == "format":
            base = self.template(expr.func.base, ctx, depth + 1)
            return re.sub(r"\{[^{}]*\}", WILDCARD, base) if base is not None else None
        if isinstance(expr, Call):
            return self._helper_url(expr, ctx, depth)
        return None

    def _helper_url(self, call: Call, ctx: Ctx, depth: int) -> str | None:
        """The URL a project helper returns (``api_routes.item(item_id)`` -> ``/api/items/{*}``).

        Its parameters are known only at run time; the returns must agree on one template.
        """
        ref = self.index.evaluate(call.func, ctx)
        if not isinstance(ref, FuncRef):
            return None
        fn = self.index.function(ref)
        if fn is None or fn.is_generator:
            return None
        inner = Ctx(ref.module, fn.qualname)
        templates = {self.template(r, inner, depth + 1) for r in fn.returns if r is not None}
        if len(templates) != 1:
            return None
        return templates.pop()

    def _known(self, expr: Expr, ctx: Ctx) -> str | None:
        value = self.index.const(expr, ctx)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
        return None

    def _rows(self, fn: FunctionFact, facts: FileFacts) -> list[dict[str, Expr]]:
        """The parameter values of each case ``@pytest.mark.parametrize`` writes out ([{}] without it)."""
        ctx = Ctx(facts.module, fn.parent or "")
        rows: list[dict[str, Expr]] = [{}]
        for decorator in fn.decorators:
            if not isinstance(decorator, Call) or not isinstance(decorator.func, Attr):
                continue
            if decorator.func.attr != "parametrize":
                continue
            names = self.index.const(decorator.arg(0, "argnames"), ctx)
            values = decorator.arg(1, "argvalues")
            if not isinstance(names, str) or not isinstance(values, Seq):
                continue
            keys = [n.strip() for n in names.split(",")]
            cases: list[dict[str, Expr]] = []
            for item in values.items:
                if isinstance(item, Call) and isinstance(item.func, Attr) and item.func.attr == "param" and item.args:
                    item = item.args[0] if len(keys) == 1 else Seq(item.span, "tuple", item.args)
                if len(keys) == 1:
                    cases.append({keys[0]: item})
                elif isinstance(item, Seq) and len(item.items) == len(keys):
                    cases.append(dict(zip(keys, item.items)))
            if cases:
                rows = [{**row, **case} for row in rows for case in cases][:64]
        return rows

    # ------------------------------------------------------------ calls
    def read(self) -> TestCalls:
        out = TestCalls(files=len(self.tests))
        tests = {facts.module for facts in self.tests}
        callable_names = self._callable_names(tests)
        for facts in self.tests:
            for fn in facts.functions.values():
                ctx = Ctx(facts.module, fn.qualname)
                for site in fn.calls:
                    requests = self._call(facts, fn, ctx, site.call)
                    out.calls.extend(requests)
                    if requests or last_name(site.call.func) not in callable_names:
                        continue  # not a name, or cannot name a function of the application
                    # A unit test may call the handler itself, as coverage would count it.
                    ref = self.index.evaluate(site.call.func, ctx)
                    if isinstance(ref, FuncRef) and ref.module not in tests:
                        called = TestCall(facts.path, site.call.span, f"{facts.module}:{fn.qualname}", None, None)
                        out.direct.setdefault(ref.fqn, []).append(called)
        return out

    def _callable_names(self, tests: set[str]) -> frozenset[str]:
        """The last names a call can spell a function of the application with. Evaluating only such
        callees skips the tests' other calls (``len``, ``assert_*``, ``mocker.patch``), which cost
        most of reading the tests."""
        return self.index.spellings(
            fn.name for facts in self.index.modules.values() if facts.module not in tests for fn in facts.functions.values()
        )

    def _route_name(self, expr: Expr | None, ctx: Ctx) -> str | None:
        if isinstance(expr, Call) and isinstance(expr.func, Attr) and expr.func.attr == "url_path_for":
            name = self.index.const(expr.arg(0, "name"), ctx)
            return name if isinstance(name, str) else ""
        return None

    def _call(self, facts: FileFacts, fn: FunctionFact, ctx: Ctx, call: Call) -> list[TestCall]:
        func = call.func
        if not isinstance(func, Attr):
            return []
        if func.attr not in (*HTTP_METHODS, "request") or not self.is_client(func.base, fn, ctx):
            return []
        test = f"{facts.module}:{fn.qualname}"
        if func.attr == "request":
            method_expr, url_expr = call.arg(0, "method"), call.arg(1, "url")
        else:
            method_expr, url_expr = None, call.arg(0, "url")
        out = []
        for row in self._rows(fn, facts):

            def bound(expr: Expr | None, row: dict[str, Expr] = row) -> Expr | None:
                if isinstance(expr, Name) and expr.id in row and fn.param(expr.id) is not None:
                    return row[expr.id]
                if isinstance(expr, Call) and expr.args and isinstance(expr.args[0], Name) and expr.args[0].id in row:
                    return Call(expr.span, expr.func, (row[expr.args[0].id], *expr.args[1:]), expr.kwargs)
                return expr

            if method_expr is None:
                method: str | None = func.attr.upper()
            else:
                value = self.index.const(bound(method_expr), ctx)
                method = value.upper() if isinstance(value, str) else None
            url_here, url_ctx = bound(url_expr), ctx
            if isinstance(url_here, Name):
                found = self.index.definition(url_here, ctx)
                if found is not None and self._route_name(found[0], found[1]) is not None:
                    url_here, url_ctx = found
            name = self._route_name(url_here, url_ctx)
            if name:
                out.append(TestCall(facts.path, call.span, test, method, None, route_name=name))
                continue
            url = self.template(url_here, url_ctx) if name is None else None
            if url is None or url.startswith(WILDCARD) and "/" not in url.replace(WILDCARD, ""):
                why = "its URL is known only at run time" if url_expr is not None else "it names no URL"
                out.append(TestCall(facts.path, call.span, test, method, None, reason=why))
                continue
            out.append(TestCall(facts.path, call.span, test, method, _path_of(url)))
        return out


def _path_of(url: str) -> str:
    """The path of an absolute or relative URL (``http://testserver/api/v1/x?q=1`` -> ``/api/v1/x``)."""
    if "://" in url and not url.startswith(WILDCARD):
        url = urlsplit(url.replace(WILDCARD, "__wildcard__")).path.replace("__wildcard__", WILDCARD)
    url = url.split("?", 1)[0].split("#", 1)[0]
    return url if url.startswith("/") else "/" + url


def read_test_calls(
    index: ProjectIndex,
    tests: list[FileFacts],
    client_classes: Iterable[str],
    fixture_decorators: Iterable[str],
) -> TestCalls:
    """The requests the tests send; the tests are indexed with the application so their names resolve."""
    if not tests:
        return TestCalls(files=0)
    combined = ProjectIndex([*index.files.values(), *tests])
    return _Reader(combined, tests, frozenset(client_classes), frozenset(fixture_decorators)).read()
