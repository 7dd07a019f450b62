"""`archlint init` on fixture-shaped projects, and the shipped JSON Schemas of [tool.archlint] and of packs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from fixture_harness import FIXTURES

from archlint.cli import cli
from archlint.config import CONFIG_KEYS, find_config, load_config
from archlint.pack import PACK_KEYS
from archlint.schema import config_schema, pack_schema, render

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "src" / "archlint" / "schemas"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# ------------------------------------------------------------------ init
@pytest.fixture
def monorepo(tmp_path):
    """The S19 monorepo without its configuration: backend/app holds api, services, models, schemas, core."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "s19" / "monorepo", root)
    (root / "pyproject.toml").write_text('[project]\nname = "monorepo"\nversion = "0"\n', encoding="utf-8")
    return root


def test_init_writes_the_detected_source_roots_and_layer_paths(monorepo):
    result = invoke("init", str(monorepo))
    assert result.exit_code == 0, result.output
    assert "FastAPI applications: backend/app/main.py" in result.output
    assert "Source roots: backend" in result.output
    assert "Layer api: backend/app/api/**" in result.output
    text = (monorepo / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith('[project]\nname = "monorepo"\n')  # the user's file is kept as it was
    table = tomllib.loads(text)["tool"]["archlint"]
    assert table["src"] == ["backend"]
    paths = table["standards"]["S17"]["layer-paths"]
    assert paths["api"] == ["backend/app/api/**"]
    assert paths["services"] == ["backend/app/services/**"]
    assert paths["models"] == ["backend/app/models/**"] and paths["schemas"] == ["backend/app/schemas/**"]
    assert paths["core"] == ["backend/app/core/**"]
    assert "**/crud/**" in paths["repositories"]  # not in the project: the pack's globs stay
    jsonschema.validate(table, config_schema())
    # The project is now configured: discovery finds it and a check runs (findings, not an error).
    assert find_config(monorepo / "backend" / "app") == (monorepo / "pyproject.toml", monorepo)
    check = invoke("check", str(monorepo / "backend"), "--format", "json")
    assert check.exit_code in (0, 1), check.output
    assert "AL630" in {f["rule"] for f in json.loads(check.output)["findings"]}


def test_init_refuses_a_configured_project_and_prints_with_stdout(monorepo):
    first = invoke("init", str(monorepo), "--stdout")
    assert first.exit_code == 0
    assert first.stdout.startswith("[tool.archlint]\n") and "Layer api" not in first.stdout
    assert "Layer api: backend/app/api/**" in first.stderr
    assert "tool" not in tomllib.loads((monorepo / "pyproject.toml").read_text())  # nothing written
    assert invoke("init", str(monorepo)).exit_code == 0
    again = invoke("init", str(monorepo))
    assert again.exit_code == 2 and "already configures archlint" in again.output


def test_init_without_a_pyproject_creates_one_and_finds_a_flat_app(tmp_path):
    project = tmp_path / "svc"
    (project / "routers").mkdir(parents=True)
    (project / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n", encoding="utf-8")
    (project / "routers" / "users.py").write_text("from fastapi import APIRouter\nrouter = APIRouter()\n")
    (project / "crud.py").write_text("def get(db):\n    return db\n", encoding="utf-8")
    result = invoke("init", str(project))
    assert result.exit_code == 0, result.output
    table = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["archlint"]
    assert "src" not in table  # the app's package is the project root
    paths = table["standards"]["S17"]["layer-paths"]
    assert paths["api"] == ["routers/**"] and paths["repositories"] == ["crud.py"]
    load_config(project / "pyproject.toml", project)


# --------------------------------------------------------------- schemas
def test_shipped_schemas_are_generated_from_the_code():
    for name, schema in (("config.schema.json", config_schema()), ("pack.schema.json", pack_schema())):
        assert (SHIPPED / name).read_text(encoding="utf-8") == render(schema), (
            f"{name} is stale: run `python scripts/update_schemas.py`"
        )
        jsonschema.Draft7Validator.check_schema(schema)
    assert set(config_schema()["properties"]) == CONFIG_KEYS
    assert set(pack_schema()["properties"]) == PACK_KEYS


def test_the_bundled_packs_validate():
    schema = json.loads((SHIPPED / "pack.schema.json").read_text(encoding="utf-8"))
    packs = sorted((REPO / "rules").glob("*.toml"))
    assert packs
    for pack in packs:
        jsonschema.validate(tomllib.loads(pack.read_text(encoding="utf-8")), schema)


def config_tables() -> list[tuple[str, dict]]:
    """[tool.archlint] of every fixture project and of archlint itself; archlint.toml files whole."""
    out = []
    for path in sorted([*FIXTURES.rglob("pyproject.toml"), *FIXTURES.rglob("archlint.toml"), REPO / "pyproject.toml"]):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        table = data.get("tool", {}).get("archlint", data if path.name == "archlint.toml" else None)
        if table is not None:
            out.append((str(path.relative_to(REPO)), table))
    return out


def test_every_fixture_configuration_validates():
    schema = json.loads((SHIPPED / "config.schema.json").read_text(encoding="utf-8"))
    tables = config_tables()
    assert len(tables) > 20
    for where, table in tables:
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(table)]
        assert not errors, (where, errors)


@pytest.mark.parametrize(
    "table, needle",
    [
        ({"selct": ["S1"]}, "selct"),
        ({"fail-on": "fatal"}, "fatal"),
        ({"select": ["X1"]}, "X1"),
        ({"standards": {"S1": {"route-patern": "^/v1"}}}, "route-patern"),
        ({"standards": {"S5": {"access-token-max-minutes": "many"}}}, "many"),
        ({"rules": {"AL101": {"severity": "fatal"}}}, "fatal"),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(table, needle):
    errors = [e.message for e in jsonschema.Draft7Validator(config_schema()).iter_errors(table)]
    assert errors and any(needle in message for message in errors), errors
