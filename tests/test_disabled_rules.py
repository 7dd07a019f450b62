"""A rule the pack turns off (AL124) runs only when selected by its own code."""

from __future__ import annotations

import textwrap

import pytest

from archlint.engine import Overrides, run

ROUTES = '''
from fastapi import APIRouter, FastAPI, HTTPException

router = APIRouter(prefix="/api/v1/items", tags=["items"])


@router.get("/{item_id}")
async def read_item(item_id: int) -> int:
    """Read an item."""
    raise HTTPException(status_code=404)


app = FastAPI()
app.include_router(router)
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(textwrap.dedent(ROUTES), encoding="utf-8")
    return tmp_path


def rule_ids(project, config: str, **overrides) -> set[str]:
    (project / "pyproject.toml").write_text(config, encoding="utf-8")
    return {f.rule_id for f in run([project], Overrides(**overrides)).report.findings}


@pytest.mark.parametrize("selector", ["S3", "AL12", "AL", "ALL"])
def test_selecting_the_standard_or_a_prefix_keeps_it_off(project, selector):
    assert "AL124" not in rule_ids(project, f'[tool.archlint]\nselect = ["{selector}"]\n')


def test_default_configuration_keeps_it_off(project):
    assert "AL124" not in rule_ids(project, "[tool.archlint]\n")


@pytest.mark.parametrize(
    "config",
    [
        '[tool.archlint]\nselect = ["AL124"]\n',
        '[tool.archlint]\nextend-select = ["AL124"]\n',
        "[tool.archlint.rules.AL124]\nenabled = true\n",
    ],
)
def test_its_own_code_or_enabling_it_turns_it_on(project, config):
    assert "AL124" in rule_ids(project, config)


def test_cli_select_by_code(project):
    assert "AL124" in rule_ids(project, '[tool.archlint]\nselect = ["S3"]\n', select=["AL124"])
