"""``ProjectIndex.definition``: the expression a name is bound to, followed across modules."""

from __future__ import annotations

import textwrap

from archlint.collect import collect_source
from archlint.collect.facts import Attr, Call, DictExpr, Name
from archlint.index import ProjectIndex
from archlint.values import Ctx


def index_of(files: dict[str, str]) -> ProjectIndex:
    facts = []
    for module, source in files.items():
        path = module.replace(".", "/") + ".py"
        facts.append(collect_source(textwrap.dedent(source), path=path, rel=path, module=module))
    return ProjectIndex(facts)


FILES = {
    "app.core.responses": """
        NOT_FOUND = {404: {"description": "Not found"}}
        counter = 0
        counter += 1
    """,
    "app.core.db": """
        from sqlalchemy.orm import sessionmaker
        SessionLocal = sessionmaker()
        db = SessionLocal()
    """,
    "app.api.routes": """
        from app.core import responses
        from app.core.db import db as session
        from app.core.responses import NOT_FOUND, counter

        def handler(db):
            local = {"x": 1}
            return db, local, session, NOT_FOUND, counter

        for item in []:
            pass
    """,
}


def name(text: str) -> Name:
    from archlint.model import Span

    return Name(Span(1, 1, 1, 2), text)


def test_follows_imports_to_the_assigned_expression():
    index = index_of(FILES)
    found = index.definition(name("NOT_FOUND"), Ctx("app.api.routes", "handler"))
    assert found is not None
    expr, ctx = found
    assert isinstance(expr, DictExpr) and ctx == Ctx("app.core.responses", "")


def test_follows_an_import_alias_and_keeps_the_call():
    index = index_of(FILES)
    expr, ctx = index.definition(name("session"), Ctx("app.api.routes", "handler"))
    assert isinstance(expr, Call) and isinstance(expr.func, Name) and expr.func.id == "SessionLocal"
    assert ctx == Ctx("app.core.db", "")


def test_module_attribute():
    index = index_of(FILES)
    from archlint.model import Span

    attr = Attr(Span(1, 1, 1, 2), name("responses"), "NOT_FOUND")
    expr, ctx = index.definition(attr, Ctx("app.api.routes", ""))
    assert isinstance(expr, DictExpr) and ctx.module == "app.core.responses"


def test_local_binding_shadows_and_parameters_have_no_definition():
    index = index_of(FILES)
    expr, ctx = index.definition(name("local"), Ctx("app.api.routes", "handler"))
    assert isinstance(expr, DictExpr) and ctx == Ctx("app.api.routes", "handler")
    assert index.definition(name("db"), Ctx("app.api.routes", "handler")) is None


def test_rebound_loop_and_unknown_names_have_no_definition():
    index = index_of(FILES)
    assert index.definition(name("counter"), Ctx("app.api.routes", "")) is None  # augmented later
    assert index.definition(name("item"), Ctx("app.api.routes", "")) is None  # a loop variable
    assert index.definition(name("missing"), Ctx("app.api.routes", "")) is None
