"""Path globs of the policy data (S17 layers, S19 boundaries)."""

from __future__ import annotations

import pytest

from archlint.globs import anchor_depth, fnmatch_any, match, match_any


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/api/**", "api/users.py", True),
        ("**/api/**", "backend/app/api/v1/routes/users.py", True),
        ("**/api/**", "backend/app/apis/users.py", False),
        ("**/api/**", "backend/app/api.py", False),
        ("frontend/**", "frontend/src/App.tsx", True),
        ("frontend/**", "backend/frontend.py", False),
        ("frontend/**", "apps/frontend/src/App.tsx", False),
        ("**/alembic/versions/**", "alembic/versions/0001_init.py", True),
        ("**/alembic/versions/**", "backend/alembic/versions/0002_items.py", True),
        ("**/alembic/versions/**", "backend/alembic/env.py", False),
        ("backend/app/{api,services,schemas}/**", "backend/app/services/x/y.py", True),
        ("backend/app/{api,services,schemas}/**", "backend/app/crud/y.py", False),
        ("**/routes.py", "app/users/routes.py", True),
        ("**/routes.py", "routes.py", True),
        ("*.py", "app/main.py", False),
        ("**/*.py", "main.py", True),
        ("src/archlint/report/", "src/archlint/report/text.py", True),
        ("backend/tests/**", "backend/tests/test_x.py", True),
        ("**/[!.]*/ci.yml", ".github/ci.yml", False),
        ("a{b", "a{b", True),
    ],
)
def test_match(pattern, path, expected):
    assert match(pattern, path) is expected


def test_match_any_names_the_first_matching_pattern():
    assert match_any(("frontend/**", "**/*.tsx"), "frontend/App.tsx") == "frontend/**"
    assert match_any(("frontend/**",), "backend/app.py") is None


def test_anchor_depth_is_where_the_pattern_claims_the_path():
    path = "backend/app/api/routes/models.py"
    assert anchor_depth("**/api/**", path) == 3
    assert anchor_depth("**/models.py", path) == 5
    assert anchor_depth("**/services/**", path) is None


@pytest.mark.parametrize(
    "name",
    ["requests.get", "httpx.get", "httpx.delete", "abc", "axz", "xaz", "foo.get", "urllib.request.urlopen", "*lit", "a\nc", ""],
)
def test_fnmatch_any_is_fnmatchcase_over_the_list(name):
    import fnmatch

    patterns = ("requests.*", "httpx.[gp]*", "a?c", "x[!y]z", "*.get", "urllib.request.urlopen", "[*]lit")
    assert fnmatch_any(name, patterns) == any(fnmatch.fnmatchcase(name, p) for p in patterns)
    assert fnmatch_any(name, ()) is False
    assert fnmatch_any(name, ["A?C"]) is False  # case-sensitive
