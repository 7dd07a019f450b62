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

# Bytecode: under PYTHONDONTWRITEBYTECODE=1 every interpreter the suite starts (the workers, each CLI
# subprocess, the language server, the FastAPI probes) would compile archlint again, and each worker would
# rewrite every test module's asserts again. The session writes bytecode instead into a temporary folder of
# its own (PYTHONPYCACHEPREFIX, never next to the sources), shared by every process and removed at the end.
_SESSION_PYCACHE = None
if sys.dont_write_bytecode and "PYTHONPYCACHEPREFIX" not in os.environ:
    _SESSION_PYCACHE = tempfile.mkdtemp(prefix="archlint-test-pycache-")
    os.environ["PYTHONPYCACHEPREFIX"] = _SESSION_PYCACHE
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.pycache_prefix = _SESSION_PYCACHE
    sys.dont_write_bytecode = False

#: Tests that share a costly start run on one pytest-xdist worker, in order (path prefix -> group):
#: the self-check's first test parses archlint's own source into the session's facts cache and the
#: others read it; the reference backend's HTTP tests share one redis-server and one imported app;
#: test_inventory's module fixtures (an inventory and a FastAPI probe in a fresh interpreter each, for
#: the shop and the reference backend) are built once, not once on every worker; so is
#: test_rule_processes' large project and its one-process reference run.
TOGETHER = {
    "tests/test_self_check.py::": "archlint-source",
    "tests/test_inventory.py::": "inventory",
    "tests/test_rule_processes.py::": "rule-processes",
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
    if _SESSION_PYCACHE is not None and not hasattr(config, "workerinput"):
        shutil.rmtree(_SESSION_PYCACHE, ignore_errors=True)


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
