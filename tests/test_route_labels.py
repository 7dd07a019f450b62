"""Messages say what archlint knows about a route's path, never an empty or `?` path."""

from __future__ import annotations

import textwrap

from archlint.engine import Overrides, run


def test_router_relative_and_unresolved_paths_are_said_as_such(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "labels"\nversion = "0"\n[tool.archlint]\nselect = ["AL120"]\n')
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "routes.py").write_text(
        textwrap.dedent(
            """
            import os

            from fastapi import APIRouter

            router = APIRouter(prefix=os.environ["PREFIX"])


            @router.post("")
            async def create_item() -> int:
                return 1


            @router.get("//authorize")
            async def authorize() -> int:
                return 1


            @router.get(os.environ["PATH"])
            async def dynamic() -> int:
                return 1
            """
        )
    )
    messages = sorted(f.message for f in run([tmp_path], Overrides()).report.findings)
    assert len(messages) == 3
    assert all("  " not in m and " ? " not in m and "//" not in m for m in messages), messages
    assert any("`create_item` (at the root of its router" in m for m in messages), messages
    assert any("/authorize (relative to a prefix that is not resolved)" in m for m in messages), messages
    assert any("`dynamic` (its path is not resolved)" in m for m in messages), messages
