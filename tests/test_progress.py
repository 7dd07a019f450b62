"""The progress line: on a terminal's stderr only, after about a second, erased before the report."""

from __future__ import annotations

import io
import textwrap

from click.testing import CliRunner

from archlint.cli import Progress, cli


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_shown_on_a_terminal_after_a_second_and_erased():
    stream, clock = Terminal(), Clock()
    progress = Progress(stream, clock=clock)
    progress("parsing", 1, 50)
    assert stream.getvalue() == ""  # a quick run shows nothing
    clock.now += 1.5
    progress("parsing", 20, 50)
    assert stream.getvalue() == "\r\x1b[Karchlint: parsing 20/50 files"
    progress("parsing", 21, 50)  # within the refresh interval: not redrawn
    assert stream.getvalue().count("archlint:") == 1
    clock.now += 0.2
    progress("checking", 3, 60)
    assert stream.getvalue().endswith("\r\x1b[Karchlint: checking 3/60 rules")
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")
    progress.close()  # once
    assert stream.getvalue().count("\r\x1b[K") == 3


def test_wanted_only_on_a_terminal_in_a_human_format_without_quiet(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    assert Progress.wanted(Terminal(), "text", quiet=False)
    assert Progress.wanted(Terminal(), "concise", quiet=False)
    assert not Progress.wanted(Terminal(), "text", quiet=True)
    for fmt in ("json", "sarif", "github", "gitlab", "junit"):
        assert not Progress.wanted(Terminal(), fmt, quiet=False)
    assert not Progress.wanted(io.StringIO(), "text", quiet=False)
    monkeypatch.setenv("TERM", "dumb")
    assert not Progress.wanted(Terminal(), "text", quiet=False)


def test_nothing_on_a_pipe(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.archlint]\nselect = ["S1"]\n', encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(
        textwrap.dedent('''
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/users")
        async def users() -> list[str]:
            """Users."""
            return []
    '''),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check", str(tmp_path), "--no-cache", "--format", "concise"])
    assert result.exit_code == 1, result.output
    assert "\x1b[K" not in result.output and "AL101" in result.output
    quiet = CliRunner().invoke(cli, ["check", str(tmp_path), "--no-cache", "-q", "--format", "concise"])
    assert quiet.output == result.output
