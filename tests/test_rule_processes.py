"""A large project's rules run in two processes (a forked child runs some standards): same report as one.

Forking is only safe in a process with no other thread (a pytest-xdist worker has some), so every run
here is a subprocess of its own: the command line, or a script that wraps ``archlint.engine`` to count
the forks and to make the child fail before it passes its results back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="rules fork on Linux only")


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example with enough modules to cross the parallel threshold (48 files)."""
    root = tmp_path_factory.mktemp("large") / "shop"
    shutil.copytree(EXAMPLE, root)
    services = root / "backend" / "app" / "services"
    services.mkdir(parents=True, exist_ok=True)
    (services / "__init__.py").write_text("", encoding="utf-8")
    for number in range(50):
        (services / f"pricing_{number}.py").write_text(
            f'"""Prices of catalogue {number}."""\n\n\ndef price_{number}(cents: int) -> float:\n    return cents / 100\n',
            encoding="utf-8",
        )
    return root


SCRIPT = textwrap.dedent(
    """
    import sys
    from archlint import engine
    from archlint.checks.s24_tested_endpoints import UntestedEndpoint
    from archlint.collect.cache import ResultsCache

    # Every run runs its rules (the subject): no findings from the results cache. The facts come from the
    # session's cache (conftest.py) after the first run: collection is not what these tests are about.
    ResultsCache.get = lambda self, query, key: None

    forks = []
    real = engine._run_forked

    def counted(*args, **kwargs):
        forks.append(1)
        if "--child-no-fork" not in sys.argv:
            return real(*args, **kwargs)
        import os
        fork = os.fork

        def refused():
            raise OSError(11, "Resource temporarily unavailable")

        os.fork = refused  # only here: collection's workers were started before
        try:
            return real(*args, **kwargs)
        finally:
            os.fork = fork

    engine._run_forked = counted
    if "--child-fails" in sys.argv:
        class Broken:
            HIGHEST_PROTOCOL = 5
            loads = staticmethod(__import__("pickle").loads)

            @staticmethod
            def dumps(*args, **kwargs):
                raise RuntimeError("the child cannot send its results")

        engine.pickle = Broken
    if "--child-thread" in sys.argv:
        import threading
        threading.Thread(target=__import__("time").sleep, args=(60,), daemon=True).start()
    if "--child-rule-crashes" in sys.argv:
        def crash(self, project):
            raise ValueError("boom")
        UntestedEndpoint.check = crash
    from archlint.cli import main
    sys.argv = ["archlint"] + [a for a in sys.argv[1:] if not a.startswith("--child-")]
    try:
        main()
    except SystemExit as exc:
        print(f"forks={len(forks)}", file=sys.stderr)
        raise
    """
)


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PRE_COMMIT"}
    command = [sys.executable, "-c", SCRIPT, "check", "--format", "concise", *args, str(project)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def one_process(large: Path) -> subprocess.CompletedProcess[str]:
    """The large project checked in one process (``--jobs 1``): the report two processes must equal."""
    return _run(large, "--jobs", "1")


def _forks(result: subprocess.CompletedProcess[str]) -> int:
    line = next(line for line in result.stderr.splitlines() if line.startswith("forks="))
    return int(line.split("=")[1])


def test_two_processes_report_exactly_what_one_does(large: Path, one_process: subprocess.CompletedProcess[str]) -> None:
    one = one_process
    two = _run(large)
    assert (_forks(one), _forks(two)) == (0, 1)
    assert two.returncode == one.returncode == 1
    assert two.stdout == one.stdout
    found = {line.split(": ")[1].split(" ")[0] for line in two.stdout.splitlines() if ": AL" in line}
    assert "AL650" in found  # S24: found in the child
    assert {"AL101", "AL410"} <= found  # S1, S7: found in the parent


def test_a_small_project_is_checked_in_one_process() -> None:
    result = _run(EXAMPLE)
    assert _forks(result) == 0 and result.returncode == 1


def test_a_process_with_another_thread_does_not_fork(large: Path, one_process: subprocess.CompletedProcess[str]) -> None:
    """An API caller's threads (or pytest-xdist's): a lock one of them holds would stay held in the child."""
    one = one_process
    threaded = _run(large, "--child-thread")
    assert _forks(threaded) == 0  # the same project forks without the thread (the first test)
    assert threaded.stdout == one.stdout


def test_a_child_that_cannot_answer_leaves_its_rules_to_the_parent(
    large: Path, one_process: subprocess.CompletedProcess[str]
) -> None:
    one = one_process
    failed = _run(large, "--child-fails")
    assert _forks(failed) == 1
    assert failed.stdout == one.stdout and failed.returncode == one.returncode


def test_a_fork_refused_by_the_system_leaves_every_rule_to_one_process(
    large: Path, one_process: subprocess.CompletedProcess[str]
) -> None:
    refused = _run(large, "--child-no-fork")
    assert _forks(refused) == 1
    assert refused.stdout == one_process.stdout and refused.returncode == one_process.returncode


def test_a_rule_crashing_in_the_child_is_reported_as_in_one_process(large: Path) -> None:
    one = _run(large, "--jobs", "1", "--child-rule-crashes")
    two = _run(large, "--child-rule-crashes")
    assert _forks(two) == 1
    assert two.returncode == one.returncode == 2
    assert two.stdout == one.stdout and "AL410" in two.stdout and "AL650" not in two.stdout
    crash = "rule AL650 (UntestedEndpoint) crashed: ValueError: boom (the other rules' findings are reported"
    assert crash in two.stderr and crash in one.stderr
