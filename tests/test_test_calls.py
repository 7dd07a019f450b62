"""The requests the tests send (S24, the inventory's "tested" flags), read from the test files."""

from __future__ import annotations

import textwrap

from archlint.analysis.test_calls import read_test_calls
from archlint.collect import collect_source
from archlint.index import ProjectIndex

APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/items/{item_id}", name="items:read")
def read_item(item_id: int) -> dict:
    return {}
"""

TESTS = """
import pytest
from fastapi.testclient import TestClient

from app.main import app

URL = app.url_path_for("items:read", item_id=7)


@pytest.mark.parametrize("case", [1, 2])
def test_read(client: TestClient, case: int) -> None:
    verb = "GET"
    client.request(verb, URL)
"""


def _facts(module: str, source: str):
    path = module.replace(".", "/") + ".py"
    return collect_source(textwrap.dedent(source), path=path, rel=path, module=module)


def test_a_url_defined_in_the_module_does_not_move_later_cases_out_of_the_test():
    # The URL's definition is read where it is written (the module); the next
    # parametrized case still reads the method from the test function's own names.
    index = ProjectIndex([_facts("app.main", APP)])
    calls = read_test_calls(
        index, [_facts("tests.test_items", TESTS)], ["fastapi.testclient.TestClient"], ["pytest.fixture"]
    ).calls
    assert [(c.method, c.route_name) for c in calls] == [("GET", "items:read"), ("GET", "items:read")]


def test_calling_looks_up_the_same_calls_a_scan_of_every_call_finds():
    # The calls are indexed by segment count and literal segment; the answer is the scan's, in its order.
    from archlint.analysis.test_calls import TestCall, TestCalls, url_matches
    from archlint.model import Span

    urls = [
        "/api/v1/items/42",
        "/api/v1/items/{*}",
        "/api/v1/{*}/42",
        "{*}/items/42",
        "/api/v1/items/{*}/tags",
        "/api/v1/items",
        "/api/v1/items/",
        "/api/v1/items?x=1",
        "/api/v1/files/a/b/c.txt",
        "/api/v1/files/x",
        "/api/v1/items/42.json",
        "/api/v1/items/{*}.json",
        "/",
        None,
    ]
    calls = [
        TestCall("tests/t.py", Span.point(n + 1), f"tests.t:test_{n}", method, url)
        for n, url in enumerate(urls)
        for method in ("GET", "POST", None)
    ]
    calls.append(TestCall("tests/t.py", Span.point(99), "tests.t:test_named", "GET", None, route_name="items:read"))
    table = TestCalls(files=1, calls=calls)
    templates = [
        "/api/v1/items/{item_id}",
        "/api/v1/items",
        "/api/v1/items/{item_id}/tags",
        "/api/v1/files/{path:path}",
        "/api/v1/items/{item_id}.json",
        "/api/v1/{kind}/{id}",
        "/",
        "/api/v2/items/{item_id}",
    ]
    for template in templates:
        for method in ("GET", "POST", "DELETE"):
            expected = [
                c
                for c in calls
                if (c.method is None or c.method == method)
                and (
                    c.route_name == "items:read"
                    if c.route_name is not None
                    else c.url is not None and url_matches(c.url, template)
                )
            ]
            assert table.calling(method, template, {"items:read"}) == expected, (method, template)
    # items/42, items/{*}, {*}/42, items/42.json, items/{*}.json (GET and any method), and the named one
    assert len(table.calling("GET", "/api/v1/items/{item_id}", {"items:read"})) == 11
