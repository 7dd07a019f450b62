"""archlint's own fuzz suite (issue 21): mutated fixture projects and generated OpenAPI documents.

For every example: no traceback and no internal error, the exit code is 0, 1 or 2, and the SARIF
log validates against the OASIS schema. Bounded in time: a fixed number of examples (derandomised,
so CI runs the same ones each time), and an alarm per example so a hang fails instead of blocking.

``ARCHLINT_FUZZ_EXAMPLES=500 ARCHLINT_FUZZ_RANDOM=1 pytest tests/test_fuzz.py`` explores further.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fixture_harness import FIXTURES

# A test dependency (`pip install -e ".[test]"`); a worktree whose environment predates it skips the suite.
pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sarif_check import validate_sarif

from archlint.cli import cli
from archlint.report import escape

EXAMPLES = int(os.environ.get("ARCHLINT_FUZZ_EXAMPLES", "8"))
EXPLORE = bool(os.environ.get("ARCHLINT_FUZZ_RANDOM"))
#: Seconds one example may take before it counts as a hang (a generous bound, not a speed test).
HANG = 120

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the alarm below bounds an example; hypothesis' deadline would flake on a busy machine
    derandomize=not EXPLORE,
    database=None,
    # In CI a failure is reported as drawn (with the blob to reproduce it); shrinking can take minutes.
    phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if EXPLORE else []),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

#: Small fixture projects, each a real shape (routes, settings chains, models, documents).
PROJECTS = [
    FIXTURES / "s01" / "settings_chain",
    FIXTURES / "s02" if (FIXTURES / "s02").is_dir() else FIXTURES / "s01" / "factory_app",
    FIXTURES / "s04" / "yaml_policy",
    FIXTURES / "s04" / "json_fastapi",
]
PROJECTS = [p for p in PROJECTS if p.is_dir()]


@contextlib.contextmanager
def alarm(seconds: int):
    def hang(_signum, _frame):
        raise TimeoutError(f"one example ran past {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_all_formats(root: Path, *args: str) -> None:
    """Check ``root`` once: concise on stdout (line-based), SARIF to a file (validated); no internal failure."""
    sarif = root.parent / "out.sarif"
    with alarm(HANG):
        result = CliRunner().invoke(
            cli, ["check", str(root), "--format", "concise", "--sarif-output", str(sarif), "--jobs", "1", *args]
        )
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code in (0, 1):
        validate_sarif(sarif.read_text(encoding="utf-8"))
        for line in result.stdout.splitlines():
            assert escape.line(line) == line, f"a control character or surrogate reached the output: {line!r}"


# --------------------------------------------------------------------------- #
# Mutated Python fixtures
# --------------------------------------------------------------------------- #

SNIPPETS = [
    b"(",
    b")",
    b"[",
    b"]",
    b"{",
    b"}",
    b":",
    b"\n",
    b"\r",
    b"\t",
    b" " * 4,
    b"\\",
    b"#",
    b"'",
    b'"',
    b'"""',
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\x1b[31m",
    "\u2028".encode("utf-8"),
    b"async ",
    b"await ",
    b"def ",
    b"class ",
    b"lambda: ",
    b"@app.get(",
    b"Depends(",
    b"APIRouter(prefix=",
    b"include_router(",
    b"f'{",
    b"}'",
    b"t'",
    b"\\N{",
    b"# archlint: ignore",
    b"# noqa",
    b"# -*- coding: latin-1 -*-\n",
    b"import openai\n",
    b"from . import *\n",
    b"__all__ = ",
    b"if True:\n",
    b"else:\n",
    b"match x:\n    case ",
]


@st.composite
def mutation(draw, size: int):
    """One edit of a file of ``size`` bytes: (kind, offset, length, payload)."""
    kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "truncate", "flip"]))
    offset = draw(st.integers(0, max(size, 0)))
    length = draw(st.integers(0, 64))
    payload = draw(st.one_of(st.sampled_from(SNIPPETS), st.binary(max_size=16)))
    return kind, offset, length, payload


def apply(data: bytes, edit) -> bytes:
    kind, offset, length, payload = edit
    offset = min(offset, len(data))
    if kind == "insert":
        return data[:offset] + payload + data[offset:]
    if kind == "delete":
        return data[:offset] + data[offset + length :]
    if kind == "replace":
        return data[:offset] + payload + data[offset + len(payload) :]
    if kind == "duplicate":
        return data[:offset] + data[offset : offset + length] * 2 + data[offset + length :]
    if kind == "truncate":
        return data[:offset]
    if data:  # flip one byte
        i = offset % len(data)
        return data[:i] + bytes([data[i] ^ (1 << (length % 8))]) + data[i + 1 :]
    return data


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file())


@pytest.mark.skipif(not PROJECTS, reason="fixture projects missing")
@FUZZ
@given(data=st.data())
def test_mutated_fixture_projects(data):
    source = data.draw(st.sampled_from(PROJECTS), label="project")
    with tempfile.TemporaryDirectory(prefix="archlint-fuzz-") as tmp:
        root = Path(tmp) / "project"
        shutil.copytree(source, root, symlinks=True)
        files = python_files(root)
        assume_files = files or [root / "main.py"]
        for _ in range(data.draw(st.integers(1, 4), label="files mutated")):
            target = data.draw(st.sampled_from(assume_files), label="file")
            original = target.read_bytes() if target.exists() else b""
            edits = data.draw(st.lists(mutation(len(original)), min_size=1, max_size=4), label="edits")
            mutated = original
            for edit in edits:
                mutated = apply(mutated, edit)
            target.write_bytes(mutated)
        run_all_formats(root)


# --------------------------------------------------------------------------- #
# OpenAPI documents
# --------------------------------------------------------------------------- #

KEYS = st.one_of(
    st.sampled_from(
        [
            "openapi",
            "info",
            "paths",
            "components",
            "schemas",
            "$ref",
            "responses",
            "get",
            "post",
            "parameters",
            "requestBody",
            "content",
            "application/json",
            "schema",
            "type",
            "properties",
            "security",
            "securitySchemes",
            "tags",
            "operationId",
            "servers",
            "url",
            "allOf",
            "x-y",
            "200",
            "201",
            "404",
            "default",
            "maxLength",
            "items",
            "enum",
            "example",
        ]
    ),
    st.text(max_size=8),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "3.1.0",
            "3.0.3",
            "2.0",
            "#/components/schemas/A",
            "#/paths",
            "#",
            "../x.json",
            "http://127.0.0.1:9/x.json",
            "file:///etc/passwd",
            "/api/v1/items/{id}",
            "\ud800",
        ]
    ),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=40,
)


@st.composite
def openapi_documents(draw):
    doc = {"openapi": draw(st.sampled_from(["3.1.0", "3.0.3", "3.1.1"])), "info": {"title": "t", "version": "1"}}
    paths = draw(
        st.dictionaries(
            st.sampled_from(["/items", "/api/v1/items/{id}", "/x", "", "/{a}/{a}"]),
            st.dictionaries(st.sampled_from(["get", "post", "delete", "parameters", "$ref"]), JSONISH, max_size=3),
            max_size=3,
        )
    )
    doc["paths"] = paths
    if draw(st.booleans()):
        doc["components"] = {"schemas": draw(st.dictionaries(st.sampled_from(["A", "B"]), JSONISH, max_size=2))}
    doc.update(draw(st.dictionaries(KEYS, JSONISH, max_size=2)))
    return doc


YAML_TAILS = [
    "x-loop: &x [*x]\n",
    "x-a: &a [1, 2]\nx-b: [*a, *a, *a]\n",
    "x-m: &m {k: v}\nx-n: {<<: *m, j: w}\n",
    "x-big: 1" + "0" * 5000 + "\n",
    "x-deep: " + "[" * 80 + "]" * 80 + "\n",
    "? [a, b]\n: complex key\n",
    "x-tag: !!python/object:os.system echo\n",
    'x-str: "\\ud800"\n',
]


@FUZZ
@given(
    doc=openapi_documents(),
    as_yaml=st.booleans(),
    tail=st.sampled_from([""] + YAML_TAILS),
    cut=st.one_of(st.none(), st.integers(0, 400)),
)
def test_generated_openapi_documents(doc, as_yaml, tail, cut):
    with tempfile.TemporaryDirectory(prefix="archlint-fuzz-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        (root / "pyproject.toml").write_text('[tool.archlint]\nselect = ["AL7"]\n', encoding="utf-8")
        if as_yaml:
            # The tail adds YAML's own shapes: aliases (recursive, merged, repeated), tags, complex keys.
            text = yaml.safe_dump(doc, allow_unicode=False, sort_keys=False) + tail
            name = "openapi.yaml"
        else:
            text = json.dumps(doc, ensure_ascii=True)
            name = "openapi.json"
        if cut is not None:
            text = text[:cut]
        (root / name).write_text(text, encoding="utf-8")
        run_all_formats(root)
