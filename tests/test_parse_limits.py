"""One hostile file never ends a run: parse limits, parser crashes isolated, Python's verdict where LibCST differs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archlint.cli import cli
from archlint.collect import collect_bytes
from archlint.collect.guard import measure
from archlint.engine import Overrides, run
from archlint.model import Severity

ROUTE = '''from fastapi import FastAPI

app = FastAPI()


@app.get("/users")
async def list_users() -> list[str]:
    """List users."""
    return []
'''

DEEP_LIST = "x = " + "[" * 150 + "]" * 150 + "\n"
LONG_SUM = "a = 1\nx = " + " + ".join(["a"] * 500) + "\n"
PARENS = "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n"
LONG_AND = "a = 1\nx = " + " and ".join(["a"] * 10_000) + "\n"


def make_project(root: Path, files: dict[str, str | bytes], analysis: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    config = '[tool.archlint]\nselect = ["AL001", "S1"]\n'
    if analysis:
        config += f"[tool.archlint.limits]\n{analysis}\n"
    (root / "pyproject.toml").write_text(config, encoding="utf-8")
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def by_path(result) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in result.report.findings:
        out.setdefault(f.path, []).append(f)
    return out


HOSTILE = {
    "app/deep_list.py": DEEP_LIST,
    "app/long_sum.py": LONG_SUM,
    "app/parens.py": PARENS,
    "app/long_and.py": LONG_AND,
    "app/main.py": ROUTE,
}


def test_valid_deep_and_long_files_are_analysed_and_hostile_ones_skipped_by_limit(tmp_path):
    root = make_project(tmp_path / "p", HOSTILE)
    result = run([root], Overrides(no_cache=True, jobs=1))
    found = by_path(result)
    # The 150-deep list and the 500-term sum are valid and within the limits: analysed, no finding.
    assert "app/deep_list.py" not in found and "app/long_sum.py" not in found
    (parens,) = found["app/parens.py"]
    assert parens.rule_id == "AL001" and "3000 deep" in parens.message and "nesting-depth" in parens.message
    (chain,) = found["app/long_and.py"]
    assert chain.rule_id == "AL001" and "10000 terms" in chain.message and "expression-terms" in chain.message
    assert [f.rule_id for f in found["app/main.py"]] == ["AL101"]
    assert result.report.files_checked == 5


@pytest.mark.parametrize("jobs, copies", [(1, 1), (2, 30)], ids=["in-process", "worker-pool"])
def test_a_parser_crash_costs_one_file(tmp_path, jobs, copies):
    """With the limits raised past what LibCST survives, its segfaults are contained in worker processes."""
    files = {"app/parens.py": PARENS, "app/long_and.py": LONG_AND}
    for i in range(copies):  # enough files for the worker pool, crashes in the middle of batches
        files[f"app/m{i}.py"] = ROUTE.replace("/users", f"/users{i}")
    root = make_project(tmp_path / "p", files, "nesting-depth = 5000\nexpression-terms = 20000")
    result = run([root], Overrides(no_cache=True, jobs=jobs))
    found = by_path(result)
    for name in ("app/parens.py", "app/long_and.py"):
        (finding,) = found[name]
        assert finding.rule_id == "AL001" and "crashed" in finding.message and "SIGSEGV" in finding.message
    assert sum(1 for p in found if p.startswith("app/m")) == copies
    assert all([f.rule_id for f in found[f"app/m{i}.py"]] == ["AL101"] for i in range(copies))


def test_a_crash_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHLINT_CACHE_DIR", str(tmp_path / "cache"))
    root = make_project(tmp_path / "p", {"app/parens.py": PARENS, "app/main.py": ROUTE}, "nesting-depth = 5000")
    first = run([root], Overrides(jobs=1))
    second = run([root], Overrides(jobs=1))
    assert [(f.path, f.message) for f in first.report.findings] == [(f.path, f.message) for f in second.report.findings]
    assert len([p for p in (tmp_path / "cache" / "facts").rglob("*") if p.is_file()]) == 1  # main.py only


def test_a_file_over_the_size_limit_is_skipped_unparsed(tmp_path):
    big = "X = 1\n" * 400
    root = make_project(tmp_path / "p", {"app/big.py": big, "app/main.py": ROUTE}, "file-size = 1000")
    found = by_path(run([root], Overrides(no_cache=True)))
    (finding,) = found["app/big.py"]
    assert finding.rule_id == "AL001" and "file-size" in finding.message
    assert [f.rule_id for f in found["app/main.py"]] == ["AL101"]


@pytest.mark.parametrize("value", ["0", "-3", '"big"', "true", "1.5"])
def test_a_bad_limit_is_a_one_line_config_error(tmp_path, value):
    root = make_project(tmp_path / "p", {"app/main.py": ROUTE}, f"nesting-depth = {value}")
    result = CliRunner().invoke(cli, ["check", str(root)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("archlint: error: ")
    assert "nesting-depth" in result.stderr and "pyproject.toml" in result.stderr


def test_an_unknown_analysis_key_is_a_config_error(tmp_path):
    """In a real process: the console entry says it in one line and exits 2 (the bad values above run in-process)."""
    root = make_project(tmp_path / "p", {"app/main.py": ROUTE}, "max-depth = 3")  # not a [limits] key
    proc = subprocess.run([sys.executable, "-m", "archlint", "check", str(root)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "unknown key 'max-depth'" in proc.stderr


def test_the_shape_ignores_brackets_and_operators_in_strings_and_comments():
    text = "s = '((((' + \"[[[\" # ((((\nx = (a + b, c - d)\nband = order and nothing or nota\n"
    shape = measure(text)
    assert (shape.nesting, shape.terms) == (1, 3)
    assert measure('"""\n' + "(" * 500 + '\n"""\n').nesting == 0


@pytest.mark.parametrize(
    "data, needle",
    [
        (b"\xef\xbb\xbf\xef\xbb\xbfx = 1\n", "U+FEFF"),
        (b"# -*- coding: klingon -*-\nx = 1\n", "unknown encoding: klingon"),
        (b"x = 1\x00\ny = 2\n", ""),
    ],
    ids=["second-bom", "bad-cookie", "nul-byte"],
)
def test_files_python_rejects_are_errors_even_where_libcst_accepts_them(data, needle):
    facts = collect_bytes(data)
    assert facts.parse_error is not None and not facts.parse_error.python_accepts
    assert needle in facts.parse_error.message
    assert not facts.functions and facts.module_scope is None


def test_a_good_coding_cookie_is_fine():
    facts = collect_bytes(b"# -*- coding: latin-1 -*-\nX = 1\n")
    assert facts.parse_error is None and facts.module_scope is not None


def test_libcst_rejecting_what_python_accepts_is_a_note(tmp_path, monkeypatch):
    """LibCST lacks syntax the running Python has: say so, as a note, instead of a false syntax error."""
    import libcst

    real = libcst.parse_module

    def newer_syntax(source, *args, **kwargs):
        if "NEWER_SYNTAX" in source:
            return real("x = (\n", *args, **kwargs)  # LibCST's own error, for a file Python accepts
        return real(source, *args, **kwargs)

    monkeypatch.setattr(libcst, "parse_module", newer_syntax)
    root = make_project(tmp_path / "p", {"app/new.py": "NEWER_SYNTAX = 1\n", "app/bad.py": "def f(:\n    pass\n"})
    found = by_path(run([root], Overrides(no_cache=True, jobs=1)))
    (note,) = found["app/new.py"]
    assert note.severity is Severity.NOTE and "which Python" in note.message and "accepts" in note.message
    (error,) = found["app/bad.py"]
    assert error.severity is Severity.ERROR and "cannot be parsed" in error.message


@pytest.mark.skipif(sys.version_info < (3, 14), reason="t-strings are Python 3.14 syntax")
def test_t_strings_never_give_a_false_error(tmp_path):
    root = make_project(tmp_path / "p", {"app/t.py": 'name = "x"\ngreeting = tr"hello {name}"\n'})
    found = by_path(run([root], Overrides(no_cache=True, jobs=1)))
    assert all(f.severity is Severity.NOTE for f in found.get("app/t.py", []))
