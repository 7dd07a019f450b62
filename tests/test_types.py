"""project.types (archlint.analysis.static_types.TypeResolver): the class of an expression, across files, and None when it is not known."""

from __future__ import annotations

import inspect

import pytest

from archlint.analysis.static_types import TypeResolver, canonical, canonical_of
from archlint.collect import collect_source
from archlint.collect.facts import Attr, Call
from archlint.index import ProjectIndex
from archlint.values import Ctx

FILES = {
    "app/db.py": """
        from collections.abc import AsyncIterator
        from typing import Annotated

        from fastapi import Depends
        from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
        from sqlalchemy.orm import Session, sessionmaker

        engine = create_async_engine("sqlite+aiosqlite://")
        SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
        LegacyAsync = sessionmaker(engine, class_=AsyncSession)
        SyncLocal = sessionmaker()


        async def get_db() -> AsyncIterator[AsyncSession]:
            async with SessionLocal() as session:
                yield session


        def get_sync():
            db = SyncLocal()
            try:
                yield db
            finally:
                db.close()


        SessionDep = Annotated[AsyncSession, Depends(get_db)]
    """,
    "app/service.py": """
        import aiohttp
        from fastapi import Depends, Request
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.db import LegacyAsync, SessionDep, SessionLocal, engine, get_db, get_sync


        class Service:
            def __init__(self, db: SessionDep) -> None:
                self.db = db

            @property
            def session(self) -> "AsyncSession":
                return self.db

            async def run(self, request: Request) -> None:
                self.db.execute(1)
                self.session.execute(2)
                request.session.get("x")


        async def route(a: SessionDep, b=Depends(get_db), c=Depends(get_sync), d: AsyncSession | None = None) -> None:
            a.execute(3)
            b.execute(4)
            c.execute(5)
            d.execute(6)
            async with SessionLocal.begin() as s1:
                s1.execute(7)
            async with LegacyAsync() as s2:
                s2.execute(8)
            async with engine.connect() as conn:
                conn.execute(9)
            async for s3 in get_db():
                s3.execute(10)
            async with aiohttp.ClientSession() as http:
                http.get("https://example.com")
            unknown.execute(11)
    """,
}

EXPECTED = {
    "self.db.execute": "sqlalchemy.ext.asyncio.AsyncSession",
    "self.session.execute": "sqlalchemy.ext.asyncio.AsyncSession",
    "request.session.get": None,
    "a.execute": "sqlalchemy.ext.asyncio.AsyncSession",
    "b.execute": "sqlalchemy.ext.asyncio.AsyncSession",
    "c.execute": "sqlalchemy.orm.Session",
    "d.execute": "sqlalchemy.ext.asyncio.AsyncSession",
    "s1.execute": "sqlalchemy.ext.asyncio.AsyncSession",
    "s2.execute": "sqlalchemy.ext.asyncio.AsyncSession",
    "conn.execute": "sqlalchemy.ext.asyncio.AsyncConnection",
    "s3.execute": "sqlalchemy.ext.asyncio.AsyncSession",
    "http.get": "aiohttp.ClientSession",
    "unknown.execute": None,
}


@pytest.fixture(scope="module")
def receivers() -> dict[str, str | None]:
    facts = []
    for path, source in FILES.items():
        module = path[:-3].replace("/", ".")
        facts.append(collect_source(inspect.cleandoc(source) + "\n", path=path, rel=path, module=module))
    index = ProjectIndex(facts)
    types = TypeResolver(index)
    out: dict[str, str | None] = {}
    for _facts, scope, ctx in index.iter_scopes():
        for site in scope.calls:
            func = site.call.func
            if isinstance(func, Attr) and not isinstance(func.base, Call) and func.dotted() in EXPECTED:
                out[func.dotted()] = canonical_of(types.of(func.base, Ctx(ctx.module, ctx.scope)))
    return out


@pytest.mark.parametrize("receiver", sorted(EXPECTED))
def test_receiver_type(receivers, receiver):
    assert receivers[receiver] == EXPECTED[receiver]


def test_canonical_names_are_public_spellings():
    assert canonical("sqlalchemy.orm.session.Session") == "sqlalchemy.orm.Session"
    assert canonical("sqlalchemy.ext.asyncio.session.AsyncSession") == "sqlalchemy.ext.asyncio.AsyncSession"
    assert canonical("sqlalchemy.sql.expression.text") == "sqlalchemy.text"
    assert canonical("sqlmodel.main.Field") == "sqlmodel.Field"
    assert canonical("app.models.Session") == "app.models.Session"
