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
