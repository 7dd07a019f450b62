"""``archlint lsp`` (issue 19): a real client session over stdio with a multi-file fixture project.

The fixture (tests/fixtures/lsp/shop) is copied to a temporary directory; its
files carry ``# expect: ALnnn`` comments, as do the unsaved texts the client
sends (tests/fixtures/lsp/edits). Every wait is for a message (with a generous
bound against a hung server), never for time to pass.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixture_harness import FIXTURES
from lsp_client import LspClient

from archlint.cli import cli

pytest.importorskip("pygls")

SHOP = FIXTURES / "lsp" / "shop"
EDITS = FIXTURES / "lsp" / "edits"
EXPECT = re.compile(r"# expect: (AL\d+(?:\s*,\s*AL\d+)*)")


def expected(text: str) -> list[tuple[str, int]]:
    return sorted(
        (code.strip(), n)
        for n, line in enumerate(text.splitlines(), 1)
        for match in EXPECT.finditer(line)
        for code in match.group(1).split(",")
    )


def got(diagnostics: list[dict]) -> list[tuple[str, int]]:
    return sorted((d["code"], d["range"]["start"]["line"] + 1) for d in diagnostics)


def uri(path: Path) -> str:
    return path.resolve().as_uri()


def apply(text: str, edits: list[dict]) -> str:
    """Apply LSP text edits (UTF-16 positions; the fixture is ASCII) to ``text``."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: dict) -> int:
        return starts[position["line"]] + position["character"]

    for edit in sorted(edits, key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]), reverse=True):
        text = text[: offset(edit["range"]["start"])] + edit["newText"] + text[offset(edit["range"]["end"]) :]
    return text


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "shop"
    shutil.copytree(SHOP, root)
    return root


def start(project: Path, tmp_path: Path, *args: str, watch: bool = False) -> LspClient:
    env = {**os.environ, "ARCHLINT_CACHE_DIR": str(tmp_path / "cache")}
    client = LspClient([sys.executable, "-m", "archlint", "lsp", *args], cwd=str(project), env=env)
    capabilities: dict = {
        "textDocument": {"publishDiagnostics": {"versionSupport": True}, "hover": {"contentFormat": ["markdown", "plaintext"]}}
    }
    if watch:
        capabilities["workspace"] = {"didChangeWatchedFiles": {"dynamicRegistration": True}}
    result = client.request("initialize", {"processId": os.getpid(), "rootUri": uri(project), "capabilities": capabilities})
    capabilities = result["capabilities"]
    assert capabilities["hoverProvider"] and capabilities["codeActionProvider"]
    assert result["serverInfo"]["name"] == "archlint"
    client.notify("initialized", {})
    return client


def open_document(client: LspClient, path: Path, text: str | None = None) -> None:
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": uri(path),
                "languageId": "python",
                "version": 1,
                "text": path.read_text(encoding="utf-8") if text is None else text,
            }
        },
    )


def change(client: LspClient, path: Path, version: int, text: str) -> None:
    client.notify(
        "textDocument/didChange", {"textDocument": {"uri": uri(path), "version": version}, "contentChanges": [{"text": text}]}
    )


def test_a_session_over_stdio(project, tmp_path, monkeypatch):
    items, main, settings = project / "app/api/items.py", project / "app/main.py", project / "app/core/settings.py"
    on_disk = {p: p.read_bytes() for p in project.rglob("*.py")}
    client = start(project, tmp_path)

    # didOpen: the findings of the file checked with its project (the router is versioned by main.py's
    # include, with a prefix settings.py holds; `Item` is a model schemas.py defines).
    open_document(client, items)
    diagnostics = client.diagnostics(uri(items), 1)
    assert got(diagnostics) == expected(items.read_text()) == [("AL223", 12)]
    first = diagnostics[0]
    assert first["source"] == "archlint" and first["severity"] == 2  # warning
    assert first["message"] == "`.dict()` on an instance of `Item` is pydantic v1: use `.model_dump()`."
    assert first["range"] == {"start": {"line": 11, "character": 11}, "end": first["range"]["end"]}

    # didChange: the unsaved text is checked, and nothing is written.
    edited = (EDITS / "items.py").read_text()
    change(client, items, 2, edited)
    diagnostics = client.diagnostics(uri(items), 2)
    assert got(diagnostics) == expected(edited) == [("AL002", 15), ("AL223", 18)]

    # codeAction: the rule's fix and a suppression comment, for the document's version.
    json_call = next(d for d in diagnostics if d["code"] == "AL223")
    actions = client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri(items)},
            "range": json_call["range"],
            "context": {"diagnostics": [json_call]},
        },
    )
    titles = [a["title"] for a in actions]
    assert titles == ["Call the v2 method (AL223)", "Suppress AL223 on this line"]
    for action in actions:
        assert action["kind"] == "quickfix" and action["diagnostics"][0]["code"] == "AL223"
        (document_change,) = action["edit"]["documentChanges"]
        assert document_change["textDocument"] == {"uri": uri(items), "version": 2}
    fixed = apply(edited, actions[0]["edit"]["documentChanges"][0]["edits"])
    assert "return item.model_dump_json()  # expect: AL223" in fixed
    suppressed = apply(edited, actions[1]["edit"]["documentChanges"][0]["edits"])
    assert "return item.json()  # expect: AL223  # archlint: ignore[AL223] -- TODO: reason\n" in suppressed

    # The fix applied (as an editor applies it): a new check, the finding gone.
    change(client, items, 3, fixed)
    assert got(client.diagnostics(uri(items), 3)) == [("AL002", 15)]
    change(client, items, 4, suppressed)
    assert got(client.diagnostics(uri(items), 4)) == [("AL002", 15)]

    # Hover on a finding: the rule's explain text, with the project's options.
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri(items)}, "position": {"line": 14, "character": 30}})
    monkeypatch.chdir(project)  # `explain` shows the options of the project it runs in
    explained = CliRunner().invoke(cli, ["explain", "AL002"])
    assert explained.exit_code == 0, explained.output
    explain = explained.stdout
    assert hover["contents"]["kind"] == "markdown"
    value = hover["contents"]["value"]
    assert value.startswith("**AL002**: Unused suppression: `AL101` silences no finding on this line; remove it.")
    assert explain.split("\n\n", 2)[2] in value  # the explain text after its header lines
    # ... and on a rule code in a comment.
    line = suppressed.splitlines()[17]
    hover = client.request(
        "textDocument/hover",
        {
            "textDocument": {"uri": uri(items)},
            "position": {"line": 17, "character": line.index("ignore[AL223]") + len("ignore[AL2")},
        },
    )
    assert "### AL223 PydanticV1ModelMethod (S9)" in hover["contents"]["value"]

    # An unsaved edit of another file is part of the project: main.py's include is no longer versioned.
    open_document(client, main)
    assert got(client.diagnostics(uri(main), 1)) == expected(main.read_text()) == [("AL101", 11)]
    open_document(client, settings)
    client.diagnostics(uri(settings), 1)
    change(client, settings, 2, (EDITS / "settings.py").read_text())
    change(client, main, 2, main.read_text())  # the same text again: its next diagnostics follow the edit above
    diagnostics = client.diagnostics(uri(main), 2)
    include = next(n for n, line in enumerate(main.read_text().splitlines(), 1) if "include_router" in line)
    assert got(diagnostics) == [("AL101", include), ("AL101", 11)]

    # Closing a document clears its diagnostics.
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri(items)}})
    client.wait_for(
        lambda n: (
            n["method"] == "textDocument/publishDiagnostics"
            and n["params"]["uri"] == uri(items)
            and n["params"].get("version") is None
            and n["params"]["diagnostics"] == []
        )
    )

    assert client.close() == 0
    assert {p: p.read_bytes() for p in project.rglob("*.py")} == on_disk


def test_a_configuration_error_is_one_message_and_the_server_keeps_serving(project, tmp_path):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('select = ["S1", "S9", "AL0"]', 'select = ["S99"]'))
    client = start(project, tmp_path)
    open_document(client, project / "app/main.py")
    note = client.wait_for(lambda n: n["method"] == "window/showMessage")
    assert note["params"]["type"] == 1  # error
    assert note["params"]["message"].startswith("archlint: error: ") and "'S99' matches no rule" in note["params"]["message"]
    assert "\n" not in note["params"]["message"]
    # Fixed and saved: the project is built again.
    pyproject.write_text(pyproject.read_text().replace('select = ["S99"]', 'select = ["S1"]'))
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri(pyproject)}})
    change(client, project / "app/main.py", 2, (project / "app/main.py").read_text())
    assert got(client.diagnostics(uri(project / "app/main.py"), 2)) == [("AL101", 11)]
    assert client.close() == 0


def test_files_changed_outside_the_editor_are_read_again(project, tmp_path):
    items, schemas = project / "app/api/items.py", project / "app/schemas.py"
    client = start(project, tmp_path, watch=True)
    registration = client.wait_for_request("client/registerCapability")["params"]["registrations"][0]
    assert registration["method"] == "workspace/didChangeWatchedFiles"
    assert {"globPattern": "**/*.py"} in registration["registerOptions"]["watchers"]
    open_document(client, items)
    assert got(client.diagnostics(uri(items), 1)) == [("AL223", 12)]
    # Item stops being a pydantic model on disk (a checkout): `.dict()` is no longer pydantic's.
    schemas.write_text("class Item:\n    name: str\n\n    def dict(self) -> dict:\n        return {}\n")
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri(schemas), "type": 2}]})
    change(client, items, 2, items.read_text())
    assert got(client.diagnostics(uri(items), 2)) == []
    assert client.close() == 0


def run_cli(*args: str, cwd: Path, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"import sys\n{prelude}\nfrom archlint.cli import main\nsys.argv = ['archlint', *sys.argv[1:]]\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300
    )


def test_without_pygls_the_command_says_what_to_install(project):
    result = run_cli("lsp", cwd=project, prelude="sys.modules['pygls'] = None")
    assert result.returncode == 2
    assert result.stderr == "archlint: error: archlint lsp needs pygls: pip install 'archlint[lsp]'\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pack", "nosuch"], "archlint: error: "),
        (["--bogus"], "archlint: error: No such option"),
    ],
)
def test_bad_input_at_startup_is_one_line_and_exit_2(project, args, message):
    result = run_cli("lsp", *args, cwd=project)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_other_commands_do_not_import_pygls(project):
    result = run_cli(
        "check",
        ".",
        "--format",
        "concise",
        cwd=project,
        prelude="import atexit\natexit.register(lambda: print('pygls' in sys.modules, file=sys.stderr))",
    )
    assert result.returncode == 1 and result.stderr.endswith("False\n")


def test_the_server_loads_the_fixes_only_for_a_code_action():
    """LibCST's codemods (what the fixes are written with) take half a second to import: a server that
    only publishes diagnostics never loads them; a code action does."""
    probe = (
        "import sys\n"
        "import archlint.lsp\n"
        "print(sorted(m for m in ('libcst.codemod', 'libcst.matchers', 'archlint.autofix') if m in sys.modules))\n"
        "from archlint.autofix import attach_fixes\n"
        "print('libcst.codemod' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out == "[]\nTrue\n"
