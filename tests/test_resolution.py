"""Route-table resolution on the shapes real applications use, checked against FastAPI itself.

Each project under tests/fixtures/resolution/ is also a fixture project (its
``# expect:`` comments are compared by test_fixtures.py); here its inventory's
endpoints (method and full path) must equal the routes FastAPI serves once the
application has started, each endpoint once, every path resolved.
"""

from __future__ import annotations

import pytest
from fixture_harness import FIXTURES
from test_inventory import inventory, probe

RESOLUTION = FIXTURES / "resolution"

#: fixture -> (the application as FastAPI imports it, handlers whose path no call decides)
APPS = {
    "packages": ("tally.main:app", set()),
    # `app` is rebound to the CORS wrapper: FastAPI's application is its `.app`.
    "registration": ("ledger.main:app.app", {"ledger.plugins.attach.<locals>.list_plugins"}),
    "auth_subclass": ("pantry.main:app", set()),
    # Paths from parameters: defaults where a call leaves them out, the value a caller passes.
    "param_paths": ("relay.main:app", set()),
    # A router factory called once per provider: each call's arguments make its paths.
    "factory_calls": ("portal.main:app", set()),
}


@pytest.mark.parametrize("name", sorted(APPS))
def test_endpoints_equal_fastapis_routes(name, tmp_path):
    project = RESOLUTION / name
    spec, unresolved = APPS[name]
    report = inventory(project)
    truth = probe(project / "src", spec, tmp_path, lifespan=True)
    endpoints = report["endpoints_created"]
    got = sorted([e["method"], e["path"]] for e in endpoints if e["path"])
    served = [(method, path) for method, path, *_ in truth["endpoints"]]
    # A path FastAPI holds twice (two include chains to one router) is served once, by the first.
    assert got == sorted([method, path] for method, path in set(served))
    assert len(got) == len({tuple(e) for e in got}), "an endpoint is listed twice"
    assert {e["handler"] for e in endpoints if not e["path"]} == unresolved, report["notes"]
    if name == "packages":
        assert len(served) > len(set(served)), "the fixture includes one router through two chains"


def test_redefined_handlers_are_each_an_endpoint():
    report = inventory(RESOLUTION / "registration")
    handlers = {e["path"]: e["handler"] for e in report["endpoints_created"] if e["path"]}
    # Each definition of `get` is its own handler, keyed by its position; the name means the last.
    assert handlers["/api/v1/books"] == "ledger.main.get"
    assert handlers["/api/v1/books/{book_id}"] == "ledger.main.get@18"
    assert handlers["/books/latest"] == "ledger.main.get@23"


def test_an_uncalled_parameter_says_why_its_routes_have_no_path():
    report = inventory(RESOLUTION / "registration")
    [plugin] = [e for e in report["endpoints_created"] if not e["path"]]
    assert "parameter 'router' of ledger.plugins.attach" in plugin["path_unverifiable"]


def test_a_library_of_router_factories_says_so_once():
    report = inventory(RESOLUTION / "library")
    assert report["endpoints_created"] == []
    [note] = [n for n in report["notes"] if "library" in n]
    assert note.startswith("3 endpoints on routers built by functions no application here includes")
    assert "authkit.routers.get_login_router, authkit.routers.get_users_router" in note


#: fixture -> (the application, a protected route, an open route): auth the inventory must read as FastAPI does.
AUTH = {
    # A router subclass that declares its dependencies.
    "auth_subclass": ("pantry.main:app", "/api/v1/shelves", "/api/v1/labels"),
    # Annotated[..., Depends(checker)] and Security(...) from factories protect; Depends(page) does not.
    "auth_factories": ("vault.main:app", "/api/v1/secrets", "/api/v1/catalog"),
}


@pytest.mark.parametrize("name", sorted(AUTH))
def test_auth_is_fastapis(name, tmp_path):
    project = RESOLUTION / name
    spec, protected, public = AUTH[name]
    report = inventory(project)
    truth = probe(project / "src", spec, tmp_path)
    got = sorted([e["method"], e["path"], e["auth"]] for e in report["endpoints_created"])
    assert got == sorted([method, path, auth] for method, path, auth, *_ in truth["endpoints"])
    assert ["GET", protected, "bearer"] in got and ["GET", public, "none"] in got


def test_a_form_model_sends_its_fields_as_form_fields():
    report = inventory(RESOLUTION / "bodies")
    [login] = [c for c in report["test_commands"] if "/api/v1/login" in c]
    # FastAPI reads a form model's fields from the form, each by its own name.
    assert "--data-urlencode email=user@example.com" in login
    assert "--data-urlencode password=" in login and "form=" not in login


def test_a_parameter_callers_disagree_on_is_unverifiable(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    pkg = tmp_path / "shop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "factory.py").write_text(
        "from fastapi import FastAPI\n\n\n"
        "def create(path: str = '/api/v1/a') -> FastAPI:\n"
        "    app = FastAPI()\n\n"
        "    @app.get(path)\n"
        "    async def read() -> int:\n"
        "        return 1\n\n"
        "    return app\n"
    )
    (pkg / "main.py").write_text("from shop.factory import create\n\napp = create()\nother = create('/api/v1/b')\n")
    report = inventory(tmp_path)
    [endpoint] = report["endpoints_created"]
    # Two calls give the parameter two values: no single path is guessed.
    assert endpoint["path"] is None
    assert "parameter 'path' of shop.factory.create gets different values" in endpoint["path_unverifiable"]
