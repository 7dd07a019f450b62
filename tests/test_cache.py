"""The facts cache: content-keyed, shared safely, never trusted, pruned; results identical with and without it.

Every fixture project is also run the three ways (an empty cache, the facts from the cache, the findings
from the cache) by test_fixtures.py, whose first run is the one it compares with the expectations.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixture_harness import findings

from archlint.cli import cli
from archlint.collect.cache import _MAGIC, FactsCache, ResultsCache
from archlint.config import find_config, load_config
from archlint.discover import discover
from archlint.engine import Overrides, collect_all, run

UNVERSIONED = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/users")
async def list_users() -> list[str]:
    """List users."""
    return []
'''
CONFIG = '[tool.archlint]\nselect = ["S1", "AL001"]\n'


def make_project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    for rel, code in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code).lstrip("\n"), encoding="utf-8")
    return root


def entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / "facts").rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))


def collect(root: Path, cache_dir: Path | None):
    config_path, project_root = find_config(root)
    config = load_config(config_path, project_root)
    files = discover(config, project_root)
    cache = FactsCache(cache_dir, project_root)
    return collect_all(files, jobs=1, cache=cache), cache


def test_same_bytes_at_two_paths_share_one_entry_and_keep_their_own_paths(tmp_path):
    root = make_project(tmp_path / "p", {"app/__init__.py": "", "app/a.py": UNVERSIONED, "other/b.py": UNVERSIONED})
    cache_dir = tmp_path / "cache"
    facts, cache = collect(root, cache_dir)
    assert cache.hits == 0
    # Two distinct contents (the empty __init__.py and the route module): two entries, not three.
    assert len(entries(cache_dir)) == 2
    again, cache = collect(root, cache_dir)
    assert cache.hits == 3 and cache.misses == 0
    by_path = {f.path: f for f in again}
    assert (by_path["app/a.py"].module, by_path["other/b.py"].module) == ("app.a", "other.b")
    assert by_path["app/a.py"].digest == by_path["other/b.py"].digest
    # Both files are reported at their own path, from the cached facts.
    result = run([root], Overrides())
    assert sorted((f.path, f.rule_id) for f in result.report.findings) == [("app/a.py", "AL101"), ("other/b.py", "AL101")]


def test_entries_hold_no_location(tmp_path):
    root = make_project(tmp_path / "p", {"secret_name.py": UNVERSIONED})
    cache_dir = tmp_path / "cache"
    collect(root, cache_dir)
    (entry,) = entries(cache_dir)
    assert b"secret_name" not in entry.read_bytes()


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "foreign", "other_key", "malicious"])
def test_a_damaged_or_foreign_entry_is_ignored_and_rebuilt(tmp_path, damage):
    root = make_project(tmp_path / "p", {"app/main.py": UNVERSIONED})
    cache_dir = tmp_path / "cache"
    expected = findings(run([root], Overrides(no_cache=True)))
    collect(root, cache_dir)
    (entry,) = entries(cache_dir)
    data = entry.read_bytes()
    marker = tmp_path / "pwned"
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        entry.write_bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "foreign":
        entry.write_bytes(b"PK\x03\x04 not ours at all")
    elif damage == "other_key":
        # A valid entry of other content, renamed to this key: its hash covers the key.
        other = make_project(tmp_path / "q", {"x.py": "X = 1\n"})
        collect(other, tmp_path / "cache2")
        entry.write_bytes(entries(tmp_path / "cache2")[0].read_bytes())
    else:
        # A well-formed entry (header and hash right) whose payload would run a command.
        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))

        payload = pickle.dumps(Evil())
        key = entry.name
        header = _MAGIC + hashlib.blake2b(key.encode() + payload, digest_size=32).digest()
        entry.write_bytes(header + payload)
    facts, cache = collect(root, cache_dir)
    assert cache.hits == 0 and cache.misses == 1
    assert not marker.exists()
    assert facts[0].functions  # parsed again
    assert entry.read_bytes() == data  # and rewritten
    result = run(
        [root],
        Overrides(),
    )
    assert findings(result) == expected


def test_entries_of_deleted_files_are_pruned(tmp_path):
    root = make_project(tmp_path / "p", {"app/a.py": UNVERSIONED, "app/b.py": "B = 2\n"})
    cache_dir = tmp_path / "cache"
    collect(root, cache_dir)
    assert len(entries(cache_dir)) == 2
    past = time.time() - 120
    for entry in entries(cache_dir):
        os.utime(entry, (past, past))
    (root / "app" / "b.py").unlink()
    (root / "app" / "a.py").write_text(UNVERSIONED + "\nX = 1\n", encoding="utf-8")
    collect(root, cache_dir)
    # The old a.py and b.py entries are gone; the new a.py entry is the only one.
    remaining = entries(cache_dir)
    assert len(remaining) == 1 and remaining[0].stat().st_mtime > past + 60


def test_another_projects_entries_are_kept(tmp_path):
    cache_dir = tmp_path / "cache"
    one = make_project(tmp_path / "one", {"a.py": "A = 1\n"})
    two = make_project(tmp_path / "two", {"b.py": "B = 1\n"})
    collect(one, cache_dir)
    collect(two, cache_dir)
    past = time.time() - 120
    for entry in entries(cache_dir):
        os.utime(entry, (past, past))
    (two / "b.py").write_text("B = 2\n", encoding="utf-8")
    collect(two, cache_dir)
    # one's entry survives two's pruning (one's manifest refers to it); two's old entry does not.
    assert len(entries(cache_dir)) == 2
    _, cache = collect(one, cache_dir)
    assert cache.hits == 1


def test_cli_no_cache_clean_and_gitignore(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHLINT_CACHE_DIR", raising=False)
    root = make_project(tmp_path / "p", {"app/main.py": UNVERSIONED})
    runner = CliRunner()
    no_cache = runner.invoke(cli, ["check", str(root), "--no-cache", "--format", "concise"])
    assert no_cache.exit_code == 1
    assert not (root / ".archlint_cache").exists()
    cold = runner.invoke(cli, ["check", str(root), "--format", "concise"])
    warm = runner.invoke(cli, ["check", str(root), "--format", "concise"])
    assert cold.output == warm.output == no_cache.output
    assert (root / ".archlint_cache" / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert entries(root / ".archlint_cache")
    cleaned = runner.invoke(cli, ["clean", str(root)])
    assert cleaned.exit_code == 0, cleaned.output
    assert not (root / ".archlint_cache").exists()


def test_cache_dir_from_the_environment_keeps_other_files(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "mine.txt").write_text("keep me", encoding="utf-8")
    monkeypatch.setenv("ARCHLINT_CACHE_DIR", str(shared))
    root = make_project(tmp_path / "p", {"app/main.py": UNVERSIONED})
    runner = CliRunner()
    assert runner.invoke(cli, ["check", str(root)]).exit_code == 1
    assert entries(shared) and not (root / ".archlint_cache").exists()
    assert runner.invoke(cli, ["clean", str(root)]).exit_code == 0
    assert not entries(shared) and (shared / "mine.txt").read_text(encoding="utf-8") == "keep me"


def test_concurrent_runs_share_the_cache(tmp_path):
    files = {f"app/m{i}.py": UNVERSIONED.replace("/users", f"/users{i}") for i in range(30)}
    root = make_project(tmp_path / "p", files)
    env = {**os.environ, "ARCHLINT_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "archlint", "check", str(root), "--format", "concise", "--jobs", "1"]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    outputs = [p.communicate(timeout=300) for p in procs]
    reference = CliRunner().invoke(cli, [*command[3:], "--no-cache"])  # in this process: no cache, nothing shared
    assert reference.exit_code == 1 and reference.stdout.count("AL101") == 30
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 1, err
        assert out.decode() == reference.stdout
    assert len(entries(tmp_path / "cache")) == 30
    assert not [p for p in (tmp_path / "cache").rglob(".tmp-*")]


RESULTS_PROJECT = {
    "app/main.py": UNVERSIONED,
    "app/other.py": UNVERSIONED.replace("/users", "/items").replace("list_users", "list_items"),
}


def _answers(monkeypatch) -> list[bool]:
    seen: list[bool] = []
    real = ResultsCache.get

    def get(self, query, key):
        found = real(self, query, key)
        seen.append(found is not None)
        return found

    monkeypatch.setattr(ResultsCache, "get", get)
    return seen


def test_cached_findings_follow_every_change(tmp_path, monkeypatch):
    """An edited file, a new file, a changed configuration, other paths: each is a miss, checked afresh."""
    root = make_project(tmp_path / "p", RESULTS_PROJECT)
    monkeypatch.setenv("ARCHLINT_CACHE_DIR", str(tmp_path / "cache"))
    seen = _answers(monkeypatch)

    def both(*paths, **overrides):
        cached = findings(run(list(paths) or [root], Overrides(reuse_findings=True, **overrides)))
        assert cached == findings(run(list(paths) or [root], Overrides(no_cache=True, **overrides)))
        return cached

    first = both()
    assert [f[0] for f in first] == ["AL101", "AL101"] and seen == [False]
    assert both() == first and seen[-1] is True
    # One file fixed: a miss, one finding left.
    (root / "app" / "other.py").write_text(
        textwrap.dedent(RESULTS_PROJECT["app/other.py"]).replace('"/items"', '"/api/v1/items"'), encoding="utf-8"
    )
    second = both()
    assert seen[-1] is False and [f[1] for f in second] == ["app/main.py"]
    # A new file: a miss.
    (root / "app" / "third.py").write_text(textwrap.dedent(UNVERSIONED).replace("/users", "/more"), encoding="utf-8")
    assert len(both()) == 2 and seen[-1] is False
    # Another selection in the configuration: a miss.
    (root / "pyproject.toml").write_text('[tool.archlint]\nselect = ["AL001"]\n', encoding="utf-8")
    assert both() == [] and seen[-1] is False
    (root / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    assert len(both()) == 2 and seen[-1] is False  # the entry of this question holds the other configuration's
    # Other paths asked: their own entry; the first question still answered from its own.
    assert [f[1] for f in both(root / "app" / "main.py")] == ["app/main.py"] and seen[-1] is False
    assert len(both()) == 2 and seen[-1] is True
    assert [f[1] for f in both(root / "app" / "main.py")] == ["app/main.py"] and seen[-1] is True


def test_a_damaged_findings_entry_is_ignored(tmp_path, monkeypatch):
    root = make_project(tmp_path / "p", RESULTS_PROJECT)
    monkeypatch.setenv("ARCHLINT_CACHE_DIR", str(tmp_path / "cache"))
    expected = findings(run([root], Overrides(no_cache=True)))
    assert findings(run([root], Overrides(reuse_findings=True))) == expected
    [entry] = list((tmp_path / "cache" / "results").iterdir())
    data = entry.read_bytes()
    entry.write_bytes(data[:-3] + bytes(b ^ 0xFF for b in data[-3:]))
    seen = _answers(monkeypatch)
    assert findings(run([root], Overrides(reuse_findings=True))) == expected and seen == [False]
    assert findings(run([root], Overrides(reuse_findings=True))) == expected and seen == [False, True]  # rewritten


def test_no_cache_writes_no_findings_entry_and_clean_removes_them(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHLINT_CACHE_DIR", raising=False)
    root = make_project(tmp_path / "p", RESULTS_PROJECT)
    runner = CliRunner()
    assert runner.invoke(cli, ["check", str(root), "--no-cache"]).exit_code == 1
    assert not (root / ".archlint_cache").exists()
    assert runner.invoke(cli, ["check", str(root)]).exit_code == 1
    assert list((root / ".archlint_cache" / "results").iterdir())
    assert runner.invoke(cli, ["clean", str(root)]).exit_code == 0
    assert not (root / ".archlint_cache").exists()


@pytest.mark.parametrize("command", [["--version"], ["rules"], ["explain", "AL101"], ["check", "{root}"]])
def test_start_up_without_libcst(tmp_path, monkeypatch, command):
    """--version, rules, explain, and a check answered from the cache never import LibCST, nor the
    language server's pygls and lsprotocol (only `archlint lsp` needs them)."""
    monkeypatch.setenv("ARCHLINT_CACHE_DIR", str(tmp_path / "cache"))
    root = make_project(tmp_path / "p", RESULTS_PROJECT)
    args = [a.format(root=root) for a in command]
    if command[0] == "check":  # a first run (in this process) fills the cache the probe's check is answered from
        assert CliRunner().invoke(cli, args).exit_code == 1
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['archlint', *{args!r}]\n"
        "try:\n    runpy.run_module('archlint', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('libcst', 'pygls', 'lsprotocol')\n"
        "print('HEAVY' if any(m.split('.')[0] in heavy for m in sys.modules) else 'CLEAN', file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.stderr.strip().splitlines()[-1] == "CLEAN", done.stderr
