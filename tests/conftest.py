"""Collection: fixture projects are data, not tests — except the reference backend's own HTTP tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# The facts cache of every run in the test session (and of the CLI subprocesses
# it starts) lives in one temporary folder, never inside tests/fixtures/.
os.environ.setdefault("ARCHLINT_CACHE_DIR", tempfile.mkdtemp(prefix="archlint-test-cache-"))

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="Rewrite tests/snapshots/ from the current output instead of comparing with it.",
    )


def pytest_configure(config) -> None:
    if config.getoption("--update-snapshots", default=False):
        os.environ["ARCHLINT_UPDATE_SNAPSHOTS"] = "1"


REFERENCE_TESTS = FIXTURES / "reference_backend" / "backend" / "tests"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    path = Path(collection_path)
    if path == FIXTURES or FIXTURES not in path.parents:
        return None
    if path == REFERENCE_TESTS or REFERENCE_TESTS in path.parents or path in REFERENCE_TESTS.parents:
        return None
    return True
