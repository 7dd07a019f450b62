"""S8/S9 behaviour that the fixture projects do not spell out one case at a time."""

from __future__ import annotations

import inspect

import pytest

from archlint.engine import Overrides, run

SCHEMA = """
from pydantic import BaseModel, EmailStr, Field

class UserCreate(BaseModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=100)
"""
ROUTES = """
from fastapi import FastAPI
from app.schemas import UserCreate

app = FastAPI()

@app.post("/api/v1/users", status_code=201)
async def create_user(user: UserCreate) -> None:
    ...
"""


def check(tmp_path, files: dict[str, str], select: str) -> list[tuple[str, int, str]]:
    (tmp_path / "pyproject.toml").write_text(f'[tool.archlint]\nselect = ["{select}"]\n', encoding="utf-8")
    for rel, code in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(inspect.cleandoc(code) + "\n", encoding="utf-8")
    result = run([tmp_path], Overrides())
    return [(f.path, f.span.line, f.rule_id) for f in result.report.findings]


@pytest.mark.parametrize(
    ("hashing", "bcrypt"),
    [
        ("import bcrypt\n\ndef h(p: str) -> bytes:\n    return bcrypt.hashpw(p.encode(), bcrypt.gensalt())", True),
        ("from bcrypt import hashpw as hp, gensalt\n\ndef h(p: str) -> bytes:\n    return hp(p.encode(), gensalt())", True),
        ("from passlib.context import CryptContext\n\nctx = CryptContext(schemes=['bcrypt'], deprecated='auto')", True),
        ("from passlib.context import CryptContext\n\nctx = CryptContext(schemes=['argon2', 'bcrypt'])", False),
        ("from passlib.context import CryptContext\n\nctx = CryptContext(schemes=['argon2', 'bcrypt'], default='bcrypt')", True),
        ("from passlib.context import CryptContext\n\nctx = CryptContext(schemes=['bcrypt_sha256'])", False),
        ("from passlib.hash import bcrypt as scheme\n\ndef h(p: str) -> str:\n    return scheme.hash(p)", True),
        (
            "from pwdlib import PasswordHash\nfrom pwdlib.hashers.bcrypt import BcryptHasher\n\nph = PasswordHash((BcryptHasher(),))",
            True,
        ),
        ("from pwdlib import PasswordHash\n\nph = PasswordHash.recommended()", False),
        ("import hashlib\n\ndef bcrypt(p: str) -> str:\n    return hashlib.sha256(p.encode()).hexdigest()", False),
    ],
)
def test_password_maximum_follows_the_projects_hasher(tmp_path, hashing, bcrypt):
    found = check(tmp_path, {"app/schemas.py": SCHEMA, "app/main.py": ROUTES, "app/security.py": hashing}, "AL202")
    assert found == ([("app/schemas.py", 5, "AL202")] if bcrypt else [])


def test_a_bound_archlint_cannot_compute_still_counts(tmp_path):
    files = {
        "app/config.py": """
        import os

        MAX_TITLE = int(os.environ["MAX_TITLE"])
        """,
        "app/schemas.py": """
        from pydantic import BaseModel, Field
        from app.config import MAX_TITLE

        class ItemCreate(BaseModel):
            title: str = Field(max_length=MAX_TITLE)
            body: str = Field(**{"max_length": 10})
        """,
        "app/main.py": ROUTES.replace("UserCreate", "ItemCreate"),
    }
    assert check(tmp_path, files, "S8") == []


def test_only_route_bodies_are_held_to_s8(tmp_path):
    files = {
        "app/schemas.py": """
        from pydantic import BaseModel

        class ItemCreate(BaseModel):
            title: str

        class ItemRead(BaseModel):
            title: str
        """,
        "app/service.py": """
        from app.schemas import ItemCreate

        def create(item: ItemCreate) -> None:
            ...
        """,
        "app/main.py": """
        from fastapi import FastAPI
        from app.schemas import ItemRead

        app = FastAPI()

        @app.get("/api/v1/items", response_model=list[ItemRead])
        async def list_items() -> list[ItemRead]:
            return []
        """,
    }
    assert check(tmp_path, files, "S8") == []


def test_json_is_reported_only_on_models(tmp_path):
    files = {
        "app/schemas.py": """
        from pydantic import BaseModel

        class Item(BaseModel):
            id: int
        """,
        "app/client.py": """
        import httpx
        import requests as http
        from app.schemas import Item

        async def fetch(client: httpx.AsyncClient, item: Item) -> list:
            response = await client.get("/x")
            sync = http.post("/y", json=item.model_dump(), timeout=5)
            return [response.json(), sync.json(), item.json()]
        """,
    }
    assert check(tmp_path, files, "AL223") == [("app/client.py", 8, "AL223")]
