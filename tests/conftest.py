"""Collection: fixture projects are data, not tests — except the reference backend's own HTTP tests."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# The facts cache of every run in the test session (and of the CLI subprocesses
# it starts) lives in one temporary folder, never inside tests/fixtures/. Facts
# are keyed by content, so every test shares it safely; pytest-xdist's workers
# inherit it from the controller, which sets it first and removes it at the end.
_SESSION_CACHE = None if "ARCHLINT_CACHE_DIR" in os.environ else tempfile.mkdtemp(prefix="archlint-test-cache-")
if _SESSION_CACHE is not None:
    os.environ["ARCHLINT_CACHE_DIR"] = _SESSION_CACHE


# Bytecode: under PYTHONDONTWRITEBYTECODE=1 every interpreter the suite starts (the two workers, each CLI
# subprocess, the language server, the FastAPI probes) would compile archlint again, and each worker would
# rewrite every test module's asserts again (about 9 s of each worker's collection). The session's
# processes write bytecode instead into a folder of the user's cache (PYTHONPYCACHEPREFIX), never next to
# the sources: as Python keeps __pycache__ between runs, so the folder is kept between sessions (a
# prefix also replaces the libraries' own __pycache__, which a fresh folder would compile again, about
# 9 s of each worker). Files are keyed by their source's path and validated by its size and time, as in
# __pycache__; `rm -rf ~/.cache/archlint/test-pycache` removes it.
def _bytecode_folder() -> str | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "archlint", "test-pycache")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


_PYCACHE = None
if sys.dont_write_bytecode and "PYTHONPYCACHEPREFIX" not in os.environ and (_PYCACHE := _bytecode_folder()):
    os.environ["PYTHONPYCACHEPREFIX"] = _PYCACHE
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.pycache_prefix = _PYCACHE
    sys.dont_write_bytecode = False

#: Tests that share a costly start run on one pytest-xdist worker, in order (path prefix -> group):
#: the self-check's first test parses archlint's own source into the session's facts cache and the
#: others read it; the reference backend's HTTP tests share one redis-server and one imported app;
#: test_inventory's module fixtures (an inventory and a FastAPI probe in a fresh interpreter each, for
#: the shop and the reference backend) are built once, not once on every worker; so is
#: test_rule_processes' large project and its one-process reference run; so is test_fixes_reference's
#: broken copy of the reference backend, fixed once for both its tests; so is each fixture project's
#: inventory and findings in test_inventory_agrees (memoised: the "both sides" tests read them all).
TOGETHER = {
    "tests/test_self_check.py::": "archlint-source",
    "tests/test_inventory.py::": "inventory",
    "tests/test_rule_processes.py::": "rule-processes",
    "tests/test_fixes_reference.py::": "fixed-reference",
    "tests/test_inventory_agrees.py::": "inventory-agrees",
    "tests/fixtures/reference_backend/backend/tests/": "reference-backend",
}

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def own_facts_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A facts cache of the test's own, for tests that check many small projects no other test shares.

    A run whose project is new to a cache prunes it, reading every manifest and entry there: late in a
    session the shared folder holds hundreds of projects, and each such run paid tens of milliseconds.
    """
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("ARCHLINT_CACHE_DIR", str(folder))
    return folder


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="Rewrite tests/snapshots/ from the current output instead of comparing with it.",
    )


def pytest_configure(config) -> None:
    if config.getoption("--update-snapshots", default=False):
        os.environ["ARCHLINT_UPDATE_SNAPSHOTS"] = "1"


def pytest_unconfigure(config) -> None:
    if _SESSION_CACHE is not None and not hasattr(config, "workerinput"):  # the controller (or the only process)
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)
    if _PYCACHE is not None and not hasattr(config, "workerinput"):
        # What was compiled from temporary folders (copies of fixtures, the fresh virtualenvs of the CI-only
        # tests: tens of megabytes) has no use in the next session: the folder keeps stable sources only.
        for temp in {tempfile.gettempdir(), os.path.realpath(tempfile.gettempdir())}:
            shutil.rmtree(os.path.join(_PYCACHE, temp.lstrip(os.sep)), ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's load distribution, with the TOGETHER groups kept on one worker each.

    (``--dist loadgroup`` and ``xdist_group`` marks would say the same, but pytest 9.2 drops the
    group from the node ids that loadgroup reads: pytest-dev/pytest-xdist#1386.)
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Together(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            for prefix, group in TOGETHER.items():
                if nodeid.startswith(prefix):
                    return group
            return nodeid

    return Together(config, log)


REFERENCE_TESTS = FIXTURES / "reference_backend" / "backend" / "tests"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    path = Path(collection_path)
    if path == FIXTURES or FIXTURES not in path.parents:
        return None
    if path == REFERENCE_TESTS or REFERENCE_TESTS in path.parents or path in REFERENCE_TESTS.parents:
        return None
    return True
