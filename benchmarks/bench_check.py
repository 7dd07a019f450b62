"""Measure archlint's speed on a generated FastAPI project (not a test: numbers vary by machine).

    python benchmarks/bench_check.py [--modules 400] [--repeat 3]

Reports the time of each stage (discover, collect serial and parallel, index +
rules) and of a whole `archlint check` run, plus the pickled size of the facts.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROUTES = '''
from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_db
from app.core.config import settings
from app.services.svc_{n} import Service{n}

router = APIRouter(prefix="/res{n}", tags=["res{n}"])


@router.get("/")
async def list_res{n}(db: Annotated[AsyncSession, Depends(get_db)], limit: int = 10) -> list[dict]:
    """List."""
    return await Service{n}(db).list(limit)


@router.post("/", status_code=status.HTTP_201_CREATED)
async def create_res{n}(db: Annotated[AsyncSession, Depends(get_db)]) -> dict:
    """Create."""
    return await Service{n}(db).create()
'''

SERVICE = """
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.m_{n} import Model{n}


class Service{n}:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def list(self, limit: int) -> list[Model{n}]:
        result = await self.db.execute(select(Model{n}).limit(limit))
        return list(result.scalars())

    async def create(self) -> Model{n}:
        item = Model{n}(name="x")
        self.db.add(item)
        await self.db.commit()
        return item
"""

MODEL = """
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Model{n}(Base):
    __tablename__ = "model_{n}"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
"""


def generate(root: Path, modules: int) -> None:
    app = root / "backend" / "app"
    for sub in ("api/v1/routes", "services", "models", "core"):
        (app / sub).mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[tool.archlint]\n")
    for pkg in ("", "api", "api/v1", "api/v1/routes", "services", "models", "core"):
        (app / pkg / "__init__.py").write_text("")
    (app / "core" / "config.py").write_text(
        "from pydantic_settings import BaseSettings\n\nclass Settings(BaseSettings):\n"
        '    API_V1_STR: str = "/api/v1"\n\nsettings = Settings()\n'
    )
    (app / "api" / "deps.py").write_text("async def get_db():\n    yield None\n")
    (app / "models" / "base.py").write_text(
        "from sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase):\n    pass\n"
    )
    includes = []
    for n in range(modules):
        (app / "api" / "v1" / "routes" / f"r_{n}.py").write_text(ROUTES.format(n=n))
        (app / "services" / f"svc_{n}.py").write_text(SERVICE.format(n=n))
        (app / "models" / f"m_{n}.py").write_text(MODEL.format(n=n))
        includes.append(f"from app.api.v1.routes import r_{n}\napi_router.include_router(r_{n}.router)\n")
    (app / "api" / "v1" / "api.py").write_text("from fastapi import APIRouter\n\napi_router = APIRouter()\n" + "".join(includes))
    (app / "main.py").write_text(
        "from fastapi import FastAPI\n\nfrom app.api.v1.api import api_router\nfrom app.core.config import settings\n\n"
        "app = FastAPI()\napp.include_router(api_router, prefix=settings.API_V1_STR)\n"
    )


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--modules", type=int, default=300, help="resources to generate (3 files each)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from archlint.checks import Project
    from archlint.config import find_config, load_config
    from archlint.discover import discover
    from archlint.engine import Overrides, collect_all, run, select_rules
    from archlint.index import ProjectIndex

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.modules)
        config = load_config(*find_config(root))
        t_discover, files = timed(lambda: discover(config, root), args.repeat)
        t_serial, facts = timed(lambda: collect_all(files, jobs=1), args.repeat)
        t_parallel, _ = timed(lambda: collect_all(files), args.repeat)
        rules = select_rules(config, Overrides())

        def check():
            project = Project(ProjectIndex(facts), root, root)
            return [f for rule in rules for f in rule.check(project)]

        t_check, findings = timed(check, args.repeat)
        t_run, result = timed(lambda: run([root]), args.repeat)
        lines = sum(f.abs.read_text().count("\n") for f in files)
        print(f"project: {len(files)} files, {lines} lines, {len(rules)} rules")
        print(f"discover:           {t_discover * 1000:8.1f} ms")
        print(f"collect (1 proc):   {t_serial * 1000:8.1f} ms  ({lines / t_serial:,.0f} lines/s)")
        print(f"collect (parallel): {t_parallel * 1000:8.1f} ms")
        print(f"index + rules:      {t_check * 1000:8.1f} ms  ({len(findings)} findings)")
        print(f"whole run:          {t_run * 1000:8.1f} ms  ({len(result.report.findings)} findings)")
        print(f"facts pickled:      {len(pickle.dumps(facts)) / 1024:8.1f} KiB")


if __name__ == "__main__":
    sys.exit(main())
