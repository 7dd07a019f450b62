"""--fix on a broken copy of the reference backend: clean again for the fixed rules, and its HTTP tests pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fixture_harness import FIXTURES

from archlint.cli import cli
from archlint.engine import Overrides, run
from archlint.model import Finding

REFERENCE = FIXTURES / "reference_backend"
FIXED_RULES = ["AL110", "AL122", "AL220", "AL223", "AL321", "AL330", "AL405", "AL420", "AL430"]

#: (file, text in the reference backend, the v1 / pre-standard spelling planted instead)
BREAKAGES = [
    ("backend/app/api/v1/routes/items.py", '@router.post("", status_code=status.HTTP_201_CREATED)', '@router.post("")'),
    ("backend/app/api/v1/routes/items.py", '@router.get("/{item_id}")\n', '@router.get("/{item_id}", response_model=ItemRead)\n'),
    (
        "backend/app/api/deps.py",
        "async def get_user_service(db: SessionDep) -> UserService:",
        "async def get_user_service(db: AsyncSession = Depends(get_db)) -> UserService:",
    ),
    ("backend/app/services/item_service.py", "data.model_dump(exclude_unset=True)", "data.dict(exclude_unset=True)"),
    (
        "backend/app/services/item_service.py",
        "Item(**data.model_dump(), owner_id=owner_id)",
        "Item(**data.dict(), owner_id=owner_id)",
    ),
    (
        "backend/app/schemas/user.py",
        "from pydantic import BaseModel, ConfigDict, EmailStr",
        "from pydantic import BaseModel, EmailStr",
    ),
    (
        "backend/app/schemas/user.py",
        "    model_config = ConfigDict(from_attributes=True)\n",
        "    class Config:\n        orm_mode = True\n",
    ),
    ("backend/app/core/security.py", "BCRYPT_ROUNDS = 12", "BCRYPT_ROUNDS = 10"),
    ("backend/app/core/security.py", "        algorithms=[settings.ALGORITHM],\n", ""),
    ("backend/app/models/item.py", 'mapped_column(ForeignKey("users.id"), index=True)', 'mapped_column(ForeignKey("users.id"))'),
    (
        "backend/app/models/item.py",
        "from sqlalchemy import DateTime, ForeignKey, String, func",
        "from sqlalchemy import Column, DateTime, ForeignKey, String, func",
    ),
    (
        "backend/app/models/item.py",
        "    title: Mapped[str] = mapped_column(String(200))\n",
        "    title = Column(String(200), nullable=False)\n",
    ),
]


@dataclass
class Fixed:
    """A broken copy of the reference backend, fixed once for this module's tests (one worker: conftest.py, TOGETHER)."""

    root: Path
    #: The fixed rules' findings on the broken copy.
    before: list[Finding]
    #: ``check --fix --unsafe-fixes --show-fixes`` of the fixed rules on it.
    fix: Result


@pytest.fixture(scope="module")
def fixed(tmp_path_factory) -> Fixed:
    root = tmp_path_factory.mktemp("fixed") / "reference_backend"
    shutil.copytree(REFERENCE, root, ignore=shutil.ignore_patterns("__pycache__", "*.db", ".pytest_cache"))
    (root / ".git").mkdir()
    for rel, good, bad in BREAKAGES:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert text.count(good) == 1, (rel, good)
        path.write_text(text.replace(good, bad), encoding="utf-8")
    before = run([root], Overrides(select=FIXED_RULES)).report.findings
    fix = CliRunner().invoke(
        cli, ["check", str(root), "--fix", "--unsafe-fixes", "--show-fixes", "--select", ",".join(FIXED_RULES)]
    )
    return Fixed(root, before, fix)


def test_fix_repairs_a_broken_reference_backend(fixed):
    broken = fixed.root
    assert sorted(f.rule_id for f in fixed.before) == [
        "AL110",
        "AL122",
        "AL220",
        "AL223",
        "AL223",
        "AL321",
        "AL330",
        "AL405",
        "AL420",
        "AL430",
    ]

    result = fixed.fix
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "fixed 10 finding(s)" in result.stderr
    # The rewrites are what the reference backend itself says (the alias aside, written out in full).
    for rel in ("backend/app/api/v1/routes/items.py", "backend/app/services/item_service.py", "backend/app/schemas/user.py"):
        assert (broken / rel).read_text() == (REFERENCE / rel).read_text(), rel
    deps = (broken / "backend/app/api/deps.py").read_text()
    assert "async def get_user_service(db: Annotated[AsyncSession, Depends(get_db)]) -> UserService:" in deps
    security = (broken / "backend/app/core/security.py").read_text()
    assert "BCRYPT_ROUNDS = 12\n" in security
    assert '        options={"require": ["exp", "sub", "type"]},\n        algorithms=[settings.ALGORITHM],\n' in security
    model = (broken / "backend/app/models/item.py").read_text()
    assert "from sqlalchemy import DateTime, ForeignKey, String, func\n" in model
    assert "    title: Mapped[str] = mapped_column(String(200), nullable=False)\n" in model
    assert '    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)\n' in model
    # Every file still compiles, and the whole pack is as clean as before.
    for path in broken.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")
    serious = [f for f in run([broken]).report.findings if f.severity.label != "note"]
    assert serious == [], [(f.path, f.span.line, f.rule_id) for f in serious]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="the reference backend's HTTP tests need redis-server")
def test_the_fixed_backend_passes_its_own_http_tests(fixed, tmp_path):
    assert fixed.fix.exit_code == 0, fixed.fix.stdout + fixed.fix.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    # The copy's own modules live in a new temporary folder every session: their bytecode is not kept in
    # the session's bytecode folder (conftest.py), which the libraries' is still read from.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Its temporary files under this test's own folder: a session in pytest's shared numbered folders
    # would also delete the oldest of them (a whole earlier suite's files, about 4 s).
    basetemp = tmp_path / "basetemp"
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(basetemp), "backend/tests"],
        cwd=fixed.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
