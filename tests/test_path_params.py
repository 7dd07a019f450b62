"""AL115 against FastAPI itself: a finding exactly where FastAPI does not hand the path value to the handler.

The fixture application (tests/fixtures/s02/path_params_as_fastapi) is built by
FastAPI in this process; every route is requested with each `{...}` of its path
replaced by a value, and the handler must answer that value for the route to be
right. `**kwargs`, positional-only parameters and placeholders Starlette does
not read (`{x: str}`, `{ item_id }`, `{item-id}`) all lose it.
"""

from __future__ import annotations

import re
import runpy

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from fixture_harness import FIXTURES

from archlint.engine import Overrides, run

PROJECT = FIXTURES / "s02" / "path_params_as_fastapi"


def test_findings_are_where_fastapi_loses_the_path_value():
    app = runpy.run_path(str(PROJECT / "app" / "main.py"))["app"]
    client = TestClient(app, raise_server_exceptions=False)
    lost: set[int] = set()
    kept: set[int] = set()
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        url = re.sub(r"\{[^{}]*\}", "7", route.path)
        response = client.get(url)
        delivered = response.status_code == 200 and "7" in re.findall(r"\d+", response.text)
        (kept if delivered else lost).add(route.endpoint.__code__.co_firstlineno)
    assert lost and kept
    findings = {f.span.line for f in run([PROJECT], Overrides()).report.findings if f.rule_id == "AL115"}
    assert findings == lost
