"""S24 — every endpoint exercised by a test: the tests' requests matched to the route table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from archlint.analysis.routes import Route, methods_on
from archlint.analysis.test_calls import TestCall, TestCalls, read_test_calls
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Lit
from archlint.model import Finding, Severity
from archlint.pack import option


@dataclass(frozen=True)
class S24Options:
    test_files: tuple[str, ...] = option(
        "Which files are tests (gitignore syntax, relative to the project root): pytest's defaults "
        "(`test_*.py`, `*_test.py`, `conftest.py`) and test folders. Read for S24 only."
    )
    client_classes: tuple[str, ...] = option(
        "Dotted names of the clients tests call the application with (`fastapi.testclient.TestClient`, `httpx.AsyncClient`)."
    )
    fixture_decorators: tuple[str, ...] = option("Dotted names of the decorators that make a pytest fixture.")


class _S24Rule(Rule[S24Options]):
    standard = "S24"
    Options = S24Options
    tags = ("tests",)


def endpoint_test_calls(project: Project, options: S24Options) -> TestCalls:
    """The tests' requests, read once per project for the S24 rules."""
    return project.shared(
        ("S24.calls", options.client_classes, options.fixture_decorators),
        lambda: read_test_calls(project.index, project.test_files, options.client_classes, options.fixture_decorators),
    )


def route_names(route: Route) -> set[str]:
    """What ``app.url_path_for(...)`` calls a route: its ``name=`` or its handler's name."""
    names = set()
    if route.handler is not None:
        names.add(route.handler.qualname.rpartition(".")[2])
    name = route.call.kw("name")
    if isinstance(name, Lit) and isinstance(name.value, str):  # a literal name=
        names.add(name.value)
    return names


def endpoint_tests(calls: TestCalls, route: Route, method: str, path: str) -> list[TestCall]:
    """The tests that exercise one endpoint of ``route``: by URL, by route name or by calling its handler."""
    handler = route.handler.fqn if route.handler is not None else None
    return calls.calling(method, path, route_names(route), handler)


class UntestedEndpoint(_S24Rule):
    """Warns about an endpoint that no test calls, at its route.

    The project's tests (pytest's patterns: `test_*.py`, `*_test.py`,
    `conftest.py`, test folders) are read for this standard only: requests
    through FastAPI's `TestClient`, `httpx.AsyncClient` (over
    `ASGITransport`) and fixtures that return or yield them, with the URL as a
    literal, an f-string or a prefix from settings (`settings.API_V1_STR`),
    resolved with the same index as the routes; `client.request(method, url)`,
    parametrised URLs, URLs returned by a helper of the tests
    (`routes.item(42)`) and `app.url_path_for("name")` count; so does a
    unit test that calls the handler as a function, as a coverage run
    would count it. A test URL
    `/api/v1/items/42` (or `f"/api/v1/items/{item_id}"`) calls the route
    `/api/v1/items/{item_id}`; a query string is ignored. A project with no
    tests at all gets one finding per application instead of one per route.

    ## Why is this bad?
    The profile marks an endpoint complete only once it has been called
    ("test endpoints with curl/httpie before marking complete"): an endpoint
    no test calls can break (a renamed field, a missing dependency, a 500 on
    every request) without anyone noticing before a client does.
    """

    id = "AL650"
    name = "UntestedEndpoint"
    severity = Severity.WARNING
    precision = "high"
    INVALID = [
        {
            "app/main.py": """
                from fastapi import FastAPI

                app = FastAPI()


                @app.get("/api/v1/items/{item_id}", tags=["items"])
                async def read_item(item_id: int) -> dict:
                    \"\"\"One item.\"\"\"
                    return {"id": item_id}


                @app.delete("/api/v1/items/{item_id}", status_code=204, tags=["items"])  # expect: AL650
                async def delete_item(item_id: int) -> None:
                    \"\"\"Delete an item.\"\"\"
            """,
            "tests/test_items.py": """
                from fastapi.testclient import TestClient

                from app.main import app

                client = TestClient(app)


                def test_read_item() -> None:
                    assert client.get("/api/v1/items/42?expand=1").json() == {"id": 42}
            """,
        }
    ]
    VALID = [
        {
            "app/main.py": """
                from fastapi import FastAPI

                app = FastAPI()


                @app.get("/api/v1/items/{item_id}", tags=["items"])
                async def read_item(item_id: int) -> dict:
                    \"\"\"One item.\"\"\"
                    return {"id": item_id}
            """,
            "tests/conftest.py": """
                import httpx
                import pytest

                from app.main import app


                @pytest.fixture
                async def client():
                    transport = httpx.ASGITransport(app=app)
                    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                        yield http
            """,
            "tests/test_items.py": """
                async def test_read_item(client) -> None:
                    item_id = 42
                    response = await client.get(f"/api/v1/items/{item_id}")
                    assert response.status_code == 200
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        calls = endpoint_test_calls(project, self.options)
        table = project.routes
        if calls.files == 0:
            for app in table.apps:
                if any(f.app == app.key for r in table.routes for f in r.full_paths):
                    yield self.finding(
                        app.file,
                        app.call.span,
                        "This application has no tests archlint can find (`test_*.py`, `*_test.py`, `tests/`): "
                        "none of its endpoints is exercised; call each one from a test.",
                    )
            return
        seen: set[tuple[str, str]] = set()
        for route in table.routes:
            if "WEBSOCKET" in route.methods:
                continue
            for full in route.full_paths:
                path = full.path
                if path is None:
                    continue  # S1 notes an unresolvable path
                for method in methods_on(route, full):
                    if method == "?" or (method, path) in seen:
                        continue
                    seen.add((method, path))
                    if endpoint_tests(calls, route, method, path):
                        continue
                    yield self.finding(
                        route.file,
                        route.call.span,
                        f"No test calls `{method} {path}`: exercise it from a test (TestClient or "
                        "httpx.AsyncClient) so a broken endpoint fails the suite before a client finds it.",
                    )


class UnverifiableTestCall(_S24Rule):
    """Notes a request in the tests whose URL archlint cannot resolve, so it cannot tell which endpoint it tests.

    The note names why (a URL built at run time, a helper's parameter);
    such a call counts for no endpoint, so S24 may report an endpoint it
    exercises.

    ## Why is this bad?
    It is not a mistake in the tests: it says where S24 is unverifiable, so
    an untested-endpoint warning next to it can be read with that in mind.
    """

    id = "AL651"
    name = "UnverifiableTestCall"
    severity = Severity.NOTE
    precision = "medium"
    INVALID = [
        {
            "app/main.py": """
                from fastapi import FastAPI

                app = FastAPI()


                @app.get("/api/v1/health", tags=["health"])
                async def health() -> dict:
                    \"\"\"Liveness.\"\"\"
                    return {"ok": True}
            """,
            "tests/test_health.py": """
                import os

                from fastapi.testclient import TestClient

                from app.main import app


                def test_health() -> None:
                    client = TestClient(app)
                    assert client.get(os.environ["HEALTH_URL"]).status_code == 200  # expect: AL651
            """,
        }
    ]
    VALID = [
        {
            "app/main.py": """
                from fastapi import FastAPI

                app = FastAPI()


                @app.get("/api/v1/health", tags=["health"])
                async def health() -> dict:
                    \"\"\"Liveness.\"\"\"
                    return {"ok": True}
            """,
            "tests/test_health.py": """
                from fastapi.testclient import TestClient

                from app.main import app


                def test_health() -> None:
                    client = TestClient(app)
                    assert client.get("/api/v1/health").status_code == 200
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        for call in endpoint_test_calls(project, self.options).calls:
            if call.url is None and call.route_name is None:
                yield self.finding(
                    call.path,
                    call.span,
                    f"archlint cannot tell which endpoint this request tests: {call.reason}, so S24 is unverifiable for it.",
                )
