"""The declared lower bounds of archlint's dependencies are versions it works with.

The slow half installs archlint with every core dependency, and every dependency
of the extras in BOUNDED_EXTRAS (pygls for `archlint lsp`), pinned to its lower
bound (a pip constraints file; the test extras resolve as usual) in a fresh
virtualenv and runs the fixture, CLI, rule-example and OpenAPI tests there. It
runs under CI=true or ARCHLINT_SLOW_TESTS=1 (.ci/run sets it); openapi-spec-validator 0.7.0, once the
declared bound, fails the s04/invalid_31 fixture there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from source_copy import source_copy

REPO = Path(__file__).resolve().parents[1]
SUITES = [
    "tests/test_fixtures.py",
    "tests/test_openapi.py",
    "tests/test_cli.py",
    "tests/test_rule_examples.py",
    "tests/test_config_discovery.py",
    "tests/test_lsp.py",
]
#: Optional extras whose dependencies are archlint's own features (not the test tools): bounded and tested too.
BOUNDED_EXTRAS = ["lsp"]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def lower_bounds() -> dict[str, str]:
    """name -> lowest allowed version, for the core dependencies (and BOUNDED_EXTRAS') that apply to this interpreter."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = list(project["dependencies"])
    for extra in BOUNDED_EXTRAS:
        deps += project["optional-dependencies"][extra]
    out = {}
    for text in deps:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        lows = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lows) == 1, f"{text}: every core dependency declares one lower bound (>=)"
        out[req.name.lower()] = lows[0]
    return out


def test_every_core_dependency_has_a_lower_bound():
    bounds = lower_bounds()
    assert {"libcst", "click", "pathspec", "limits", "wcmatch", "openapi-spec-validator", "pyyaml", "pygls"} <= set(bounds)


@pytest.mark.skipif(
    os.environ.get("CI") != "true" and not os.environ.get("ARCHLINT_SLOW_TESTS"),
    reason="installs the lowest declared versions in a fresh venv (minutes): runs under CI=true "
    "or ARCHLINT_SLOW_TESTS=1 (.ci/run sets it)",
)
def test_the_suites_pass_with_every_dependency_at_its_lower_bound(tmp_path):
    bounds = lower_bounds()
    constraints = tmp_path / "lower-bounds.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in bounds.items()), encoding="utf-8")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    install = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "-c",
            str(constraints),
            f"{source_copy(tmp_path / 'src')}[test,{','.join(BOUNDED_EXTRAS)}]",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    versions = subprocess.run(
        [
            python,
            "-c",
            "import importlib.metadata as m, sys; print('\\n'.join(f'{n}=={m.version(n)}' for n in sys.argv[1:]))",
            *bounds,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    installed = dict(line.split("==") for line in versions.stdout.split())
    assert {k: Version(installed[k]) for k in bounds} == {k: Version(v) for k, v in bounds.items()}
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert tests.returncode == 0, tests.stdout[-6000:] + tests.stderr[-2000:]
