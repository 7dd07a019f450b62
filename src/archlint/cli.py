"""The command line: thin click commands over the engine and the reporters.

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage, configuration
or internal error (one line on stderr; --debug shows the traceback).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import traceback
from pathlib import Path

import click

from archlint import __version__, relax_garbage_collection
from archlint.model import Severity

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: Stopped by a signal: 128 + the signal's number, as shells report it.
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM


#: click >= 8.2 raises this for `archlint` without a command (older versions print the help themselves).
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class Terminated(BaseException):
    """SIGTERM, turned into an exception so that a write in progress removes its temporary file."""


class Interrupted(BaseException):
    """Ctrl-C inside a command, carried past click (which would print a blank line and ``Aborted!``)."""


def _say(message: str) -> None:
    """One line on stderr, whatever the message holds (a file name with a newline, a lone surrogate)."""
    from archlint.report.escape import line

    try:
        click.echo(line(message), err=True)
    except OSError:
        pass


def _stdout_closed() -> None:
    """Standard output went away (``archlint check | head -1``): point it at /dev/null so that the
    interpreter's final flush cannot fail again, and say so: the report was not written in full."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    _say("archlint: error: standard output was closed before the report was written in full")


FORMATS = ("text", "concise", "json", "sarif", "github", "gitlab", "junit")


def _split_codes(values: tuple[str, ...]) -> list[str]:
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def _pre_commit_files(paths: tuple[Path, ...]) -> bool:
    """pre-commit sets PRE_COMMIT=1 for its hooks and passes the commit's files: those are a change set.

    A directory among the paths means a user's (or a pass_filenames: false hook's) run over a tree instead.
    """
    return os.environ.get("PRE_COMMIT") == "1" and bool(paths) and not any(p.is_dir() for p in paths)


def _color(stream) -> bool:
    """Colour when nothing says otherwise: NO_COLOR, then FORCE_COLOR, then TERM=dumb, then a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


class _Group(click.Group):
    """Turns every failure into exit code 2 with one line, unless --debug."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        """Click's main, with its three-line usage errors and ``Aborted!`` replaced by one line each."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:  # `archlint` alone: the help, as click prints it
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.UsageError as exc:
            where = f"archlint {exc.ctx.command_path.split(' ', 1)[1]}" if exc.ctx and " " in exc.ctx.command_path else "archlint"
            _say(f"archlint: error: {exc.format_message()} (see `{where} --help`)")
            sys.exit(EXIT_ERROR)
        except click.ClickException as exc:
            _say(f"archlint: error: {exc.format_message()}")
            sys.exit(EXIT_ERROR)
        except (click.exceptions.Abort, KeyboardInterrupt, Interrupted):
            _say("archlint: interrupted")
            sys.exit(EXIT_INTERRUPTED)
        except Terminated:
            _say("archlint: terminated")
            sys.exit(EXIT_TERMINATED)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            _stdout_closed()
            sys.exit(EXIT_ERROR)
        sys.exit(code if isinstance(code, int) else EXIT_CLEAN)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            raise Interrupted() from None
        except BrokenPipeError:
            _stdout_closed()
            ctx.exit(EXIT_ERROR)
        except Exception as exc:
            from archlint.engine import UsageError
            from archlint.pack import ConfigError
            from archlint.report import OutputError

            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            if isinstance(exc, (ConfigError, UsageError, OutputError)):
                _say(f"archlint: error: {exc}")
            else:
                message = str(exc).splitlines()[0] if str(exc) else ""
                _say(f"archlint: internal error: {type(exc).__name__}: {message} (run with --debug for the traceback)")
            ctx.exit(EXIT_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="archlint")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """archlint: architecture linter and policy checker for FastAPI backends."""
    ctx.ensure_object(dict)["debug"] = debug


def _adoption_options(command):
    """Options of ``check`` for adopting archlint on a living codebase (issue 18): baselines."""
    options = [
        click.option(
            "--baseline",
            "baseline_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Report only findings not recorded in this baseline file (default: the configuration's `baseline`).",
        ),
        click.option(
            "--write-baseline",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Record every current finding in this baseline file and exit 0.",
        ),
        click.option(
            "--prune-baseline",
            is_flag=True,
            help="Drop the baseline's fixed findings (those this run no longer finds) from its file.",
        ),
        click.option("--fix", "apply_fixes", is_flag=True, help="Apply the safe fixes, then report what is left."),
        click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff, apply the unsafe fixes too."),
        click.option(
            "--diff",
            "show_diff",
            is_flag=True,
            help="Print the fixes as a unified diff instead of writing them; exit 1 when there is one.",
        ),
        click.option("--show-fixes", is_flag=True, help="With --fix, list every fix applied."),
        click.option(
            "--add-noqa", is_flag=True, help="Add `# archlint: ignore[CODE] -- TODO: reason` on every current finding and exit 0."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_adoption_options
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format on stdout (or --output).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the --format output to this file (atomically) instead of stdout.",
)
@click.option("--sarif-output", type=click.Path(dir_okay=False, path_type=Path), help="Also write SARIF 2.1.0 to this file.")
@click.option("--json-output", type=click.Path(dir_okay=False, path_type=Path), help="Also write JSON to this file.")
@click.option(
    "--select", multiple=True, metavar="CODES", help="Only these rules (codes, prefixes like AL1, or standards like S1)."
)
@click.option("--extend-select", multiple=True, metavar="CODES", help="Enable these rules in addition.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Disable these rules.")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "note"]),
    default=None,
    help="Lowest severity that fails the run (default: warning; notes never fail by default).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Use this pyproject.toml/archlint.toml instead of the nearest one.",
)
@click.option("--pack", help="Policy pack: a built-in name or a TOML file.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Worker processes for parsing (default: CPU count); 1 also keeps the rules in one process.",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour in text output (default: on a terminal, off with NO_COLOR or TERM=dumb, on with "
    "FORCE_COLOR; the option beats them all).",
)
@click.option(
    "--changed-since",
    metavar="REF",
    help="Check the change since REF (git: committed since the merge base, staged, unstaged and untracked "
    "files, renames and deletions); S19 holds every changed path to the boundaries. PATHS, if "
    "given, narrow the change to the paths under them.",
)
@click.option(
    "--changed-files",
    metavar="FILE",
    help="Check the change listed in FILE (one path per line, relative to the repository root; - reads standard input).",
)
@click.option(
    "--openapi",
    "openapi_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check this OpenAPI document (JSON or YAML) instead of the configured or discovered ones.",
)
@click.option(
    "--app",
    "app_spec",
    metavar="MODULE:ATTR",
    help="Also check the document app.openapi() generates; imports the app in a subprocess (opt-in).",
)
@click.option("--python", "python_path", metavar="PATH", help="Interpreter that imports --app (default: this one).")
@click.option(
    "--app-timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds --app may take to import and generate its document.",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Print how many findings each rule reported instead of the findings (JSON with --format json).",
)
@click.option(
    "--stdin-filename",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Check the Python source read from standard input as the file PATH of its project.",
)
@click.option(
    "--no-cache", is_flag=True, help="Parse every file; read and write no cache entry (.archlint_cache/ or $ARCHLINT_CACHE_DIR)."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress line on a terminal's standard error.")
def check(
    paths,
    fmt,
    output,
    sarif_output,
    json_output,
    select,
    extend_select,
    ignore,
    fail_on,
    exit_zero,
    config_path,
    pack,
    jobs,
    color,
    changed_since,
    changed_files,
    openapi_files,
    app_spec,
    python_path,
    app_timeout,
    no_cache,
    statistics=False,
    stdin_filename=None,
    quiet=False,
    **adoption,
) -> None:
    """Check PATHS (default: the current directory) against the policy pack.

    Under pre-commit (PRE_COMMIT=1 in the environment) file PATHS are the files of the commit: a change set.
    """
    from archlint.engine import Overrides, UsageError

    for option, target in (("--output", output), ("--sarif-output", sarif_output), ("--json-output", json_output)):
        if target is not None and not target.absolute().parent.is_dir():
            raise UsageError(f"{option}: the directory of {target} does not exist")
    stdin_text = None
    if stdin_filename is not None:
        if any(str(p) != "-" for p in paths):
            raise UsageError("--stdin-filename checks standard input: give no PATHS (or -)")
        paths = (stdin_filename,)
        stdin_text = sys.stdin.buffer.read()

    overrides = Overrides(
        select=_split_codes(select) or None,
        extend_select=_split_codes(extend_select),
        ignore=_split_codes(ignore),
        pack=pack,
        config=config_path,
        jobs=jobs,
        changed_since=changed_since,
        changed_files=changed_files,
        paths_are_change_set=_pre_commit_files(paths) and changed_since is None and changed_files is None,
        openapi=list(openapi_files),
        app=app_spec,
        python=python_path,
        app_timeout=app_timeout,
        baseline=adoption["baseline_path"],
        write_baseline=adoption["write_baseline"],
        no_cache=no_cache,
    )
    if stdin_filename is not None:
        overrides.stdin_filename, overrides.stdin_text = stdin_filename, stdin_text
    overrides.reuse_findings = not (adoption["apply_fixes"] or adoption["show_diff"] or fmt == "sarif" or sarif_output)
    # Only these outputs carry fingerprints (a baseline in use computes them whatever the format).
    overrides.fingerprints = bool(
        fmt in ("json", "sarif", "gitlab")
        or sarif_output
        or json_output
        or adoption["write_baseline"] is not None
        or adoption["prune_baseline"]
    )
    progress = Progress(sys.stderr) if Progress.wanted(sys.stderr, fmt, quiet) else None
    overrides.progress = progress
    try:
        _check(paths, overrides, fmt, output, sarif_output, json_output, fail_on, exit_zero, color, statistics, adoption)
    finally:
        if progress is not None:
            progress.close()


def _check(paths, overrides, fmt, output, sarif_output, json_output, fail_on, exit_zero, color, statistics, adoption) -> None:
    from archlint.engine import run
    from archlint.report import render, write_atomic

    if adoption["prune_baseline"] and adoption["write_baseline"]:
        raise click.UsageError("give --write-baseline or --prune-baseline, not both")
    rewriting = [name for name in ("apply_fixes", "show_diff", "add_noqa") if adoption[name]]
    if len(rewriting) > 1:
        raise click.UsageError("give one of --fix, --diff and --add-noqa")
    if adoption["show_diff"] or adoption["apply_fixes"]:
        from archlint.autofix import fix_project, unified_diff

        outcome = fix_project(list(paths), overrides, unsafe=adoption["unsafe_fixes"], write=not adoption["show_diff"])
        if overrides.progress is not None:
            overrides.progress.close()  # before anything is printed
        for line in outcome.rejected:
            click.echo(f"archlint: warning: {line}", err=True)
        if adoption["show_diff"]:
            diff = unified_diff(outcome.changed, outcome.result.report.root)
            if diff:
                click.echo(diff, nl=False)
            click.echo(f"archlint: would fix {len(outcome.applied)} finding(s) in {len(outcome.changed)} file(s)", err=True)
            sys.exit(EXIT_FINDINGS if outcome.changed else EXIT_CLEAN)
        _echo_fixed(outcome.applied, adoption["show_fixes"])
        result = outcome.result
    else:
        result = run(list(paths), overrides)
    if overrides.progress is not None:
        overrides.progress.close()  # before anything is printed
    if adoption["add_noqa"]:
        from archlint.autofix import add_noqa

        count, skipped = add_noqa(result)
        for where in skipped:
            click.echo(f"archlint: warning: no place for a suppression comment at {where}", err=True)
        click.echo(f"archlint: added {count} suppression comment(s)", err=True)
        sys.exit(EXIT_CLEAN if not result.crashes else EXIT_ERROR)
    report = result.report
    if "sarif" in (fmt, "sarif" if sarif_output else ""):
        from archlint.autofix import attach_fixes

        attach_fixes(result)  # SARIF carries each fixable finding's fix as artifactChanges
    if adoption["write_baseline"] is not None or adoption["prune_baseline"]:
        _update_baseline(result, adoption["write_baseline"])
        sys.exit(EXIT_CLEAN if not result.crashes else EXIT_ERROR)
    # Render everything before writing anything: a failure leaves no partial file.
    # An explicit --color/--no-color beats NO_COLOR, FORCE_COLOR and TERM=dumb.
    use_color = color if color is not None else (output is None and _color(sys.stdout))
    if statistics:
        from archlint.report import counts as stats

        rendered = stats.render(report, as_json=fmt == "json")
    else:
        rendered = render(report, fmt, color=use_color, cwd=Path.cwd())
    extra = [(p, render(report, f)) for p, f in ((sarif_output, "sarif"), (json_output, "json")) if p is not None]
    if output is not None:
        write_atomic(output, rendered)
    elif rendered:
        click.echo(rendered, nl=not rendered.endswith("\n"), color=use_color)
    for path, text in extra:
        write_atomic(path, text)
    if fmt == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        _append_job_summary(Path(os.environ["GITHUB_STEP_SUMMARY"]), report)
    threshold = Severity.parse(fail_on) if fail_on else (result.fail_on or Severity.WARNING)
    failing = any(f.severity >= threshold for f in report.findings)
    if result.crashes:
        debug = bool((click.get_current_context().find_root().obj or {}).get("debug"))
        for crash in result.crashes:
            if debug:
                click.echo(crash.traceback, err=True, nl=False)
            click.echo(
                f"archlint: internal error: rule {crash.rule_id} ({crash.name}) crashed: {crash.error} "
                "(the other rules' findings are reported; run with --debug for the traceback)",
                err=True,
            )
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if failing and not exit_zero else EXIT_CLEAN)


class Progress:
    """One line on a terminal's standard error while a run takes longer than about a second:
    the phase and how far it is (``archlint: parsing 120/1033 files``), erased when the run ends.
    Never on a pipe or a file, under ``--quiet``, or with a machine format."""

    DELAY = 1.0
    INTERVAL = 0.1
    UNITS = {"parsing": "files", "checking": "rules"}

    def __init__(self, stream, clock=None) -> None:
        import time

        self.stream = stream
        self.clock = clock or time.monotonic
        self.start = self.clock()
        self.last = 0.0
        self.shown = False

    @staticmethod
    def wanted(stream, fmt: str, quiet: bool) -> bool:
        if quiet or fmt not in ("text", "concise") or os.environ.get("TERM") == "dumb":
            return False
        try:
            return bool(stream.isatty())
        except (AttributeError, ValueError, OSError):
            return False

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = self.clock()
        if now - self.start < self.DELAY or now - self.last < self.INTERVAL:
            return
        self.last = now
        unit = self.UNITS.get(phase, "")
        text = f"archlint: {phase} {done}/{total} {unit}".rstrip() if total else f"archlint: {phase}"
        try:
            self.stream.write(f"\r\x1b[K{text}")
            self.stream.flush()
        except (OSError, ValueError):
            return
        self.shown = True

    def close(self) -> None:
        if self.shown:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self.shown = False


def _append_job_summary(path: Path, report) -> None:
    """GitHub's job summary file collects every step's Markdown: append, never replace."""
    from archlint.report import summary

    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(summary.render(report))
    except OSError as exc:
        click.echo(f"archlint: warning: cannot write the job summary to {path}: {exc.strerror}", err=True)


def _echo_fixed(applied, show: bool) -> None:
    click.echo(f"archlint: fixed {len(applied)} finding(s)", err=True)
    if show:
        for fix in sorted(applied, key=lambda a: (a.path, a.line, a.rule_id)):
            click.echo(f"  {fix.path}:{fix.line}: {fix.rule_id} {fix.message}", err=True)


def _update_baseline(result, write_path: Path | None) -> None:
    """``--write-baseline FILE`` records the run's findings; ``--prune-baseline`` drops fixed ones."""
    from archlint import baseline
    from archlint.engine import UsageError
    from archlint.report import write_atomic

    if write_path is not None:
        previous = None
        if write_path.exists():
            try:
                previous = baseline.load(write_path)
            except baseline.BaselineError:
                previous = None  # not a baseline we can read: overwritten as a whole
        entries = baseline.written(previous, result.report.findings, result.in_scope)
        write_atomic(write_path, baseline.render(entries))
        click.echo(f"archlint: wrote {len(entries)} finding(s) to the baseline {write_path}", err=True)
        return
    if result.baseline is None or result.outcome is None:
        raise UsageError("--prune-baseline needs a baseline (--baseline FILE or `baseline` in the configuration)")
    entries = baseline.pruned(result.baseline, result.outcome.absent)
    write_atomic(result.baseline.path, baseline.render(entries))
    click.echo(
        f"archlint: pruned {len(result.outcome.absent)} fixed finding(s) from the baseline {result.baseline.path}", err=True
    )


@cli.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def rules_command(fmt: str) -> None:
    """List every rule: id, name, standard, default severity."""
    from archlint.checks import all_rules

    rules = all_rules()
    if fmt == "json":
        import json

        click.echo(
            json.dumps(
                [
                    {"id": r.id, "name": r.name, "standard": r.standard, "severity": r.severity.label, "summary": r.summary()}
                    for r in rules
                ],
                indent=2,
            )
        )
    elif fmt == "markdown":
        click.echo(rules_markdown())
    else:
        for r in rules:
            click.echo(f"{r.id}  {r.name:<32} {r.standard or '-':<4} {r.severity.label:<8} {r.summary()}")


def rules_markdown() -> str:
    """The README's rule table, generated from the rule classes."""
    from archlint.checks import all_rules

    lines = ["| Code | Name | Standard | Severity | What it does |", "| --- | --- | --- | --- | --- |"]
    for r in all_rules():
        lines.append(f"| {r.id} | {r.name} | {r.standard or '—'} | {r.severity.label} | {r.summary()} |")
    return "\n".join(lines)


@cli.command()
@click.argument("rule")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Show option values from this configuration (default: the nearest one).",
)
def explain(rule: str, config_path: Path | None) -> None:
    """Explain RULE (e.g. AL101): what it does, why, examples and options."""
    from archlint.checks import rule_by_id
    from archlint.config import find_config, load_config, rule_settings

    cls = rule_by_id(rule)
    if cls is None:
        raise click.UsageError(f"unknown rule '{rule}' (see `archlint rules`)")
    path, root = (config_path.resolve(), config_path.resolve().parent) if config_path else find_config(Path.cwd())
    config = load_config(path, root)
    enabled, severity, options = rule_settings(config, cls)
    info = cls.info(options, severity)
    standard = f" ({info.standard})" if info.standard else ""
    # What a plain `archlint check` does with the rule, read from the same pack and configuration.
    state = "on" if enabled else f"off (select it by its code to run it: `--extend-select {info.id}`)"
    click.echo(f"# {info.id} {info.name}{standard}\n\nDefault severity: {info.severity.label}\nEnabled: {state}\n")
    click.echo(info.help_markdown(), nl=False)


@cli.command()
@click.argument("path", required=False, default=".", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["json", "markdown"]),
    default="json",
    show_default=True,
    help="JSON (follows the schema archlint ships) or Markdown tables for a pull-request description.",
)
@click.option("--base-url", default="http://localhost:8000", show_default=True, help="Server the test_commands' curl lines call.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file (atomically) instead of stdout.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Use this pyproject.toml/archlint.toml instead of the nearest one.",
)
@click.option("--pack", help="Policy pack: a built-in name or a TOML file.")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes for parsing (default: CPU count).")
@click.option("--no-cache", is_flag=True, help="Parse every file; read and write no cache entry.")
def inventory(path, fmt, base_url, output, config_path, pack, jobs, no_cache) -> None:
    """Print the implementation report (S21) of the project containing PATH.

    Endpoints (method, full path, auth, rate limit), models, middleware,
    security measures, a curl command per endpoint and the API documentation,
    read statically from the same project index the rules use: nothing of the
    project is imported or run.
    """
    from archlint.engine import load_project
    from archlint.inventory import build_inventory, render_json, render_markdown
    from archlint.report import write_atomic

    project, config = load_project(path, config_path=config_path, pack=pack, jobs=jobs, no_cache=no_cache)
    report = build_inventory(project, base_url=base_url, config=config)
    text = render_json(report) if fmt == "json" else render_markdown(report)
    if output is not None:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("path", required=False, default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--stdout",
    "to_stdout",
    is_flag=True,
    help="Print the configuration on stdout (what was found on stderr) instead of writing it.",
)
def init(path: Path, to_stdout: bool) -> None:
    """Write [tool.archlint] for the project at PATH: its source roots and the paths of its layers (S17).

    Appends to PATH/pyproject.toml (created if missing); a project that is
    already configured is left alone (exit 2). Prints what it found.
    """
    import tempfile

    from archlint.config import load_config
    from archlint.engine import Overrides, UsageError, select_rules
    from archlint.report import write_atomic
    from archlint.scaffold import detect, report, toml

    root = path.resolve()
    target = root / "pyproject.toml"
    for existing in (root / "archlint.toml", target):
        if existing.is_file() and (existing.name == "archlint.toml" or _has_table(existing)):
            raise UsageError(f"{existing} already configures archlint; edit it, or see `archlint init --stdout`")
    found = detect(root)
    text = toml(found)
    # The written configuration must load and satisfy every rule's options, or nothing is written.
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "pyproject.toml"
        probe.write_text(text, encoding="utf-8")
        select_rules(load_config(probe, root), Overrides())
    click.echo(report(found), nl=False, err=to_stdout)
    if to_stdout:
        click.echo(text, nl=False)
        return
    before = target.read_text(encoding="utf-8") if target.is_file() else ""
    write_atomic(target, before + ("\n" if before and not before.endswith("\n") else "") + ("\n" if before else "") + text)
    click.echo(f"Wrote [tool.archlint] to {target}. Next: archlint check {path}")


def _has_table(pyproject: Path) -> bool:
    from archlint.config import _has_archlint_table

    return _has_archlint_table(pyproject)


@cli.command()
@click.argument("path", required=False, default=".", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The project of this pyproject.toml/archlint.toml instead of the nearest one.",
)
def clean(path: Path, config_path: Path | None) -> None:
    """Remove the cache of the project containing PATH (.archlint_cache/, or archlint's folders in $ARCHLINT_CACHE_DIR)."""
    from archlint.collect.cache import ENV_VAR, default_directory
    from archlint.collect.cache import clean as clean_cache
    from archlint.config import find_config

    root = config_path.resolve().parent if config_path else find_config(path)[1]
    directory = default_directory(root)
    removed = clean_cache(directory, whole=not os.environ.get(ENV_VAR))
    click.echo(f"archlint: removed the cache in {directory}" if removed else f"archlint: no cache in {directory}")


@cli.command("lsp")
@click.option(
    "--stdio", is_flag=True, help="Talk over standard input and output (the default; accepted for clients that pass it)."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Use this pyproject.toml/archlint.toml for every document instead of the nearest one.",
)
@click.option("--pack", help="Policy pack: a built-in name or a TOML file.")
@click.option("--no-cache", is_flag=True, help="Parse every file; read and write no cache entry.")
def lsp(stdio: bool, config_path: Path | None, pack: str | None, no_cache: bool) -> None:
    """Run the language server on standard input and output (needs `pip install 'archlint[lsp]'`).

    Publishes the findings of every open document (its unsaved text, checked
    against the rest of its project) as diagnostics, offers the rules' fixes
    and suppression comments as code actions, and a rule's explanation on
    hover. See docs/editors.md for VS Code, Neovim and Helix.
    """
    from archlint.config import load_config
    from archlint.engine import Overrides, UsageError, select_rules

    try:
        from archlint.lsp import serve
    except ImportError as exc:
        missing = exc.name or "pygls"
        raise UsageError(f"archlint lsp needs {missing.split('.')[0]}: pip install 'archlint[lsp]'") from None
    overrides = Overrides(config=config_path, pack=pack, no_cache=no_cache)
    if config_path is not None or pack is not None:
        # What the command line names must load now: exit 2 with its message, not a server that cannot check.
        config_file = config_path.resolve() if config_path is not None else None
        root = config_file.parent if config_file is not None else Path.cwd()
        select_rules(load_config(config_file, root, pack_override=pack), overrides)
    serve(overrides)


def _terminate(_signum, _frame) -> None:
    raise Terminated()


def main() -> None:
    """Console entry point: never a traceback; exit 2 on any error, 130 on Ctrl-C, 143 on SIGTERM."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # SIGTERM unwinds like Ctrl-C: an output being written removes its temporary file.
        signal.signal(signal.SIGTERM, _terminate)
    relax_garbage_collection()
    try:
        cli(prog_name="archlint")
    except SystemExit:
        raise
    except (KeyboardInterrupt, Interrupted):
        _say("archlint: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Terminated:
        _say("archlint: terminated")
        sys.exit(EXIT_TERMINATED)
    except BaseException as exc:  # pragma: no cover - anything else that escapes click
        _say(f"archlint: internal error: {type(exc).__name__}: {exc}")
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
