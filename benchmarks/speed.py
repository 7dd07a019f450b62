"""archlint's speed against LibCST parse-only and Fixit, A B A B, on a generated backend or any tree.

    python benchmarks/speed.py                       # a generated ~150k-line backend
    python benchmarks/speed.py --tree ~/src/backend  # any project (the folder with its pyproject.toml)
    python benchmarks/speed.py --rounds 2 --lines 150000 --no-fixit

Not a test: the numbers depend on the machine. Every measurement is a fresh
subprocess, timed by wall clock; peak memory is the largest single process
(``ru_maxrss`` of the command and its workers, from ``wait4``). The rounds
alternate the commands (A B A B ...) so a machine growing busier hurts every
command alike; the table shows the median of the rounds. Measured:

- ``parse-only``: every Python file of the tree parsed once with LibCST in one
  process (``libcst.parse_module``), reading included: the floor for a linter
  built on LibCST;
- ``archlint cold``: ``archlint check --no-cache`` (both cores);
- ``archlint warm``: a second run with the cache, nothing changed;
- ``archlint warm, 1 changed``: one file edited since the cached run;
- ``pre-commit 1 file``: ``PRE_COMMIT=1 archlint check <that file>``, warm;
- ``import libcst``: ``python -c "import libcst"``, the start-up floor;
- ``fixit``: ``fixit lint`` with its default rules (``pip install fixit``).

Fixit is a benchmark dependency only, never archlint's.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PARSE_ONLY = textwrap.dedent(
    """
    import os, sys, libcst
    skip = {".git", ".venv", "venv", "node_modules", "__pycache__", ".archlint_cache", "build", "dist"}
    count = 0
    for base, dirs, names in os.walk(sys.argv[1]):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(base, name), "rb") as handle:
                    data = handle.read()
                try:
                    libcst.parse_module(data)
                except Exception:
                    pass
                count += 1
    print(count)
    """
)


def _edit() -> bytes:
    """A new edit each time: a repeated one would be answered from the results cache of an earlier round."""
    return f"\n# edited {time.time_ns()}\n".encode()


# --------------------------------------------------------------------------- #
# A generated backend: routers, models, schemas, services, repositories, settings
# --------------------------------------------------------------------------- #

ROUTER = '''\
"""HTTP endpoints of {name}s."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_current_user, get_db
from app.models.user import User
from app.schemas.{name} import {cls}Create, {cls}Read, {cls}Update
from app.services.{name} import {cls}Service

router = APIRouter(prefix="/{name}s", tags=["{name}s"])


@router.get("/", response_model=list[{cls}Read])
async def list_{name}s(
    db: Annotated[AsyncSession, Depends(get_db)],
    user: Annotated[User, Depends(get_current_user)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[{cls}Read]:
    """List the {name}s the user can see."""
    service = {cls}Service(db)
    items = await service.list(owner_id=user.id, limit=limit, offset=offset)
    return [{cls}Read.model_validate(item) for item in items]


@router.get("/{{item_id}}", response_model={cls}Read, responses={{404: {{"description": "Not found"}}}})
async def get_{name}(
    item_id: UUID,
    db: Annotated[AsyncSession, Depends(get_db)],
    user: Annotated[User, Depends(get_current_user)],
) -> {cls}Read:
    """Read one {name}."""
    item = await {cls}Service(db).get(item_id)
    if item is None or item.owner_id != user.id:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="{cls} not found")
    return {cls}Read.model_validate(item)


@router.post("/", response_model={cls}Read, status_code=status.HTTP_201_CREATED)
async def create_{name}(
    payload: {cls}Create,
    db: Annotated[AsyncSession, Depends(get_db)],
    user: Annotated[User, Depends(get_current_user)],
) -> {cls}Read:
    """Create a {name}."""
    item = await {cls}Service(db).create(payload, owner_id=user.id)
    return {cls}Read.model_validate(item)


@router.patch("/{{item_id}}", response_model={cls}Read, responses={{404: {{"description": "Not found"}}}})
async def update_{name}(
    item_id: UUID,
    payload: {cls}Update,
    db: Annotated[AsyncSession, Depends(get_db)],
    user: Annotated[User, Depends(get_current_user)],
) -> {cls}Read:
    """Update a {name}."""
    service = {cls}Service(db)
    item = await service.get(item_id)
    if item is None or item.owner_id != user.id:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="{cls} not found")
    item = await service.update(item, payload)
    return {cls}Read.model_validate(item)


@router.delete("/{{item_id}}", status_code=status.HTTP_204_NO_CONTENT, responses={{404: {{"description": "Not found"}}}})
async def delete_{name}(
    item_id: UUID,
    db: Annotated[AsyncSession, Depends(get_db)],
    user: Annotated[User, Depends(get_current_user)],
) -> None:
    """Delete a {name}."""
    service = {cls}Service(db)
    item = await service.get(item_id)
    if item is None or item.owner_id != user.id:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="{cls} not found")
    await service.delete(item)
'''

MODEL = '''\
"""The {name} table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base


class {cls}(Base):
    __tablename__ = "{name}s"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    owner = relationship("User", lazy="raise")

    def __repr__(self) -> str:
        return f"<{cls} {{self.id}} {{self.name!r}}>"
'''

SCHEMA = '''\
"""Request and response bodies of {name}s."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class {cls}Base(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    position: int = Field(default=0, ge=0, le=10_000)

    @field_validator("name")
    @classmethod
    def strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value


class {cls}Create({cls}Base):
    pass


class {cls}Update(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    position: int | None = Field(default=None, ge=0, le=10_000)


class {cls}Read({cls}Base):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
'''

SERVICE = '''\
"""Business rules of {name}s."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.{name} import {cls}
from app.repositories.{name} import {cls}Repository
from app.schemas.{name} import {cls}Create, {cls}Update

logger = logging.getLogger(__name__)


class {cls}Service:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.repository = {cls}Repository(db)

    async def list(self, *, owner_id: uuid.UUID, limit: int, offset: int) -> Sequence[{cls}]:
        return await self.repository.list(owner_id=owner_id, limit=limit, offset=offset)

    async def get(self, item_id: uuid.UUID) -> {cls} | None:
        return await self.repository.get(item_id)

    async def create(self, payload: {cls}Create, *, owner_id: uuid.UUID) -> {cls}:
        item = {cls}(**payload.model_dump(), owner_id=owner_id)
        self.db.add(item)
        await self.db.commit()
        await self.db.refresh(item)
        logger.info("created {name} %s", item.id)
        return item

    async def update(self, item: {cls}, payload: {cls}Update) -> {cls}:
        for key, value in payload.model_dump(exclude_unset=True).items():
            setattr(item, key, value)
        await self.db.commit()
        await self.db.refresh(item)
        return item

    async def delete(self, item: {cls}) -> None:
        await self.db.delete(item)
        await self.db.commit()
        logger.info("deleted {name} %s", item.id)

    async def reorder(self, owner_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
        items = await self.repository.list(owner_id=owner_id, limit=len(ids), offset=0)
        by_id = {{item.id: item for item in items}}
        for position, item_id in enumerate(ids):
            item = by_id.get(item_id)
            if item is not None:
                item.position = position
        await self.db.commit()
'''

REPOSITORY = '''\
"""Queries of {name}s."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.{name} import {cls}


class {cls}Repository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def get(self, item_id: uuid.UUID) -> {cls} | None:
        return await self.db.get({cls}, item_id)

    async def list(self, *, owner_id: uuid.UUID, limit: int, offset: int) -> Sequence[{cls}]:
        statement = (
            select({cls})
            .where({cls}.owner_id == owner_id)
            .order_by({cls}.position, {cls}.created_at)
            .limit(limit)
            .offset(offset)
        )
        result = await self.db.execute(statement)
        return result.scalars().all()

    async def count(self, *, owner_id: uuid.UUID) -> int:
        statement = select(func.count()).select_from({cls}).where({cls}.owner_id == owner_id)
        result = await self.db.execute(statement)
        return int(result.scalar_one())

    async def by_name(self, owner_id: uuid.UUID, name: str) -> {cls} | None:
        statement = select({cls}).where({cls}.owner_id == owner_id, {cls}.name == name)
        result = await self.db.execute(statement)
        return result.scalars().first()
'''

FIXED = {
    "pyproject.toml": '[project]\nname = "generated-backend"\nversion = "0"\n\n[tool.archlint]\n',
    "app/__init__.py": "",
    "app/api/__init__.py": "",
    "app/api/v1/__init__.py": "",
    "app/models/__init__.py": "",
    "app/schemas/__init__.py": "",
    "app/services/__init__.py": "",
    "app/repositories/__init__.py": "",
    "app/core/__init__.py": "",
    "app/core/config.py": (
        "from pydantic_settings import BaseSettings, SettingsConfigDict\n\n\n"
        "class Settings(BaseSettings):\n"
        '    model_config = SettingsConfigDict(env_file=".env")\n\n'
        '    API_V1_STR: str = "/api/v1"\n'
        '    DATABASE_URL: str = "postgresql+asyncpg://app:app@localhost/app"\n'
        "    ACCESS_TOKEN_EXPIRE_MINUTES: int = 15\n\n\n"
        "settings = Settings()\n"
    ),
    "app/db.py": (
        "from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine\n\n"
        "from app.core.config import settings\n\n"
        "engine = create_async_engine(settings.DATABASE_URL)\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
    ),
    "app/api/deps.py": (
        "from collections.abc import AsyncIterator\n\n"
        "from fastapi import Depends\nfrom fastapi.security import OAuth2PasswordBearer\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n\n"
        "from app.db import SessionLocal\nfrom app.models.user import User\n\n"
        'oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")\n\n\n'
        "async def get_db() -> AsyncIterator[AsyncSession]:\n    async with SessionLocal() as session:\n"
        "        yield session\n\n\n"
        "async def get_current_user(token: str = Depends(oauth2)) -> User:\n    raise NotImplementedError\n"
    ),
    "app/models/base.py": "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n",
    "app/models/user.py": (
        "import uuid\n\nfrom sqlalchemy import String\nfrom sqlalchemy.orm import Mapped, mapped_column\n\n"
        'from app.models.base import Base\n\n\nclass User(Base):\n    __tablename__ = "users"\n\n'
        "    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)\n"
        "    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)\n"
    ),
}


def generate(root: Path, lines: int) -> int:
    """A backend of at least ``lines`` lines; returns the number of files."""
    for rel, text in FIXED.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    per_resource = sum(t.count("\n") for t in (ROUTER, MODEL, SCHEMA, SERVICE, REPOSITORY)) + 2
    count = max(1, -(-lines // per_resource))
    includes = []
    for n in range(count):
        name, cls = f"item{n}", f"Item{n}"
        for folder, template in (
            ("api/v1", ROUTER),
            ("models", MODEL),
            ("schemas", SCHEMA),
            ("services", SERVICE),
            ("repositories", REPOSITORY),
        ):
            (root / "app" / folder / f"{name}.py").write_text(template.format(name=name, cls=cls), encoding="utf-8")
        includes.append(f"from app.api.v1 import {name}\napi_router.include_router({name}.router)\n")
    (root / "app" / "api" / "v1" / "router.py").write_text(
        "from fastapi import APIRouter\n\napi_router = APIRouter()\n" + "".join(includes), encoding="utf-8"
    )
    (root / "app" / "main.py").write_text(
        "from fastapi import FastAPI\n\nfrom app.api.v1.router import api_router\nfrom app.core.config import settings\n\n"
        'app = FastAPI(title="Generated")\napp.include_router(api_router, prefix=settings.API_V1_STR)\n',
        encoding="utf-8",
    )
    return len(FIXED) + count * 5 + 2


# --------------------------------------------------------------------------- #
# Measuring
# --------------------------------------------------------------------------- #


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of the largest single process of ``command``."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{' '.join(command)} exited {proc.returncode}: {err.strip()[:500]}")
    if proc.stderr:
        proc.stderr.close()
    return elapsed, usage.ru_maxrss / 1024


def python_files(root: Path) -> list[Path]:
    skip = {".git", ".venv", "venv", "node_modules", "__pycache__", ".archlint_cache", "build", "dist"}
    out = []
    for base, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip]
        out.extend(Path(base) / n for n in names if n.endswith(".py"))
    return sorted(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, help="project to measure (default: a generated backend)")
    parser.add_argument("--lines", type=int, default=150_000, help="size of the generated backend")
    parser.add_argument("--rounds", type=int, default=2, help="A B A B rounds (median reported)")
    parser.add_argument("--no-fixit", action="store_true", help="skip Fixit (or it is skipped when not installed)")
    parser.add_argument("--changed", type=Path, help="file to edit for the one-changed runs (default: a router)")
    parser.add_argument(
        "--fixit",
        help="the fixit executable (default: beside this Python, else on PATH); "
        "a venv of its own keeps its pins out of archlint's",
    )
    args = parser.parse_args()

    # Installed packages carry their bytecode; a source checkout under PYTHONDONTWRITEBYTECODE would
    # compile archlint's modules again in every run, which no user's install does.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    python = sys.executable
    archlint = [python, "-m", "archlint", "check", "--format", "concise", "--exit-zero"]
    fixit = args.fixit or shutil.which("fixit", path=str(Path(python).parent)) or shutil.which("fixit")
    use_fixit = fixit is not None and not args.no_fixit

    with tempfile.TemporaryDirectory(prefix="archlint-bench-") as tmp:
        if args.tree is None:
            root = Path(tmp) / "backend"
            generate(root, args.lines)
            label = f"generated backend ({args.lines:,}+ lines)"
        else:
            # A copy: the runs edit a file, and pre-commit needs a repository to ask what is staged.
            root = Path(tmp) / args.tree.resolve().name
            shutil.copytree(
                args.tree.resolve(), root, symlinks=True, ignore=shutil.ignore_patterns(".git", ".archlint_cache", "__pycache__")
            )
            label = str(args.tree)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]
        subprocess.run(git + ["init", "-q"], cwd=root, check=True)
        subprocess.run(git + ["add", "-A"], cwd=root, check=True)
        subprocess.run(git + ["commit", "-q", "-m", "tree"], cwd=root, check=True)
        files = python_files(root)
        lines = sum(p.read_bytes().count(b"\n") for p in files)
        changed = args.changed or next((p for p in files if "/api/" in str(p) and p.stat().st_size > 500), files[-1])
        changed = changed.resolve()
        original = changed.read_bytes()
        cache_dir = Path(tmp) / "cache"
        env = {**os.environ, "ARCHLINT_CACHE_DIR": str(cache_dir)}
        env.pop("PRE_COMMIT", None)

        def warm_one_changed() -> tuple[float, float]:
            measure(archlint + [str(root)], root, env)  # the cache as the last commit left it
            changed.write_bytes(original + _edit())
            try:
                return measure(archlint + [str(root)], root, env)
            finally:
                changed.write_bytes(original)

        def pre_commit() -> tuple[float, float]:
            measure(archlint + [str(root)], root, env)
            changed.write_bytes(original + _edit())
            subprocess.run(["git", "add", str(changed)], cwd=root, check=True)  # what pre-commit sees staged
            try:
                return measure(archlint + [str(changed)], root, {**env, "PRE_COMMIT": "1"})
            finally:
                changed.write_bytes(original)
                subprocess.run(["git", "add", str(changed)], cwd=root, check=True)

        commands: dict[str, object] = {
            "parse-only (LibCST, 1 process)": lambda: measure([python, "-c", PARSE_ONLY, str(root)], root),
            "archlint cold (--no-cache)": lambda: measure(archlint + ["--no-cache", str(root)], root, env),
            "archlint warm, nothing changed": lambda: measure(archlint + [str(root)], root, env),
            "archlint warm, 1 file changed": warm_one_changed,
            "pre-commit, 1 file (warm)": pre_commit,
            'python -c "import libcst"': lambda: measure([python, "-c", "import libcst"], root),
        }
        if use_fixit:
            commands["fixit lint (default rules)"] = lambda: measure([fixit, "lint", str(root)], root)
        measure(archlint + [str(root)], root, env)  # fill the cache for the warm runs
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for round_ in range(args.rounds):
            for name, run in commands.items():
                results[name].append(run())  # type: ignore[operator]
                print(f"  round {round_ + 1}: {name}: {results[name][-1][0]:.2f} s", file=sys.stderr)
        changed.write_bytes(original)

    wall = {name: statistics.median(t for t, _ in runs) for name, runs in results.items()}
    memory = {name: max(m for _, m in runs) for name, runs in results.items()}
    parse = wall["parse-only (LibCST, 1 process)"]
    cold = wall["archlint cold (--no-cache)"]
    start = wall['python -c "import libcst"']
    print(f"\n{label}: {len(files):,} Python files, {lines:,} lines")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; {args.rounds} rounds A B A B, median\n"
    )
    print("| Run | Wall (s) | Ratio | Peak RSS (MiB) |")
    print("| --- | ---: | --- | ---: |")
    for name in commands:
        if name.startswith("archlint cold"):
            ratio = f"{wall[name] / parse:.2f}x parse-only"
        elif name.startswith("archlint warm"):
            ratio = f"{100 * wall[name] / cold:.1f}% of cold"
        elif name.startswith("pre-commit"):
            ratio = f"{wall[name] / start:.2f}x import libcst"
        elif name.startswith("fixit"):
            ratio = f"archlint cold is {wall[name] / cold:.1f}x faster"
        else:
            ratio = ""
        print(f"| {name} | {wall[name]:.2f} | {ratio} | {memory[name]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
