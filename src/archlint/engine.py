"""run(paths) -> Report: discover -> collect -> index -> rules -> filter.

Data flows one way: nothing here knows about the CLI or the output formats.
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import hashlib
import os
import pickle
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TypeGuard

import pathspec

from archlint import __version__
from archlint import baseline as baselines
from archlint.changes import ChangeSet, ChangeSetError, from_git, from_list, from_pre_commit
from archlint.checks import Rule, all_rules
from archlint.checks.s24_tested_endpoints import UntestedEndpoint
from archlint.collect import FileFacts, collect_bytes, content_digest
from archlint.collect.cache import FactsCache, ResultsCache, default_directory
from archlint.collect.guard import Limits
from archlint.collect.kinds import generated_marker, is_migration
from archlint.collect.pool import collect_isolated
from archlint.config import (
    Config,
    find_config,
    git_root,
    load_config,
    rule_settings,
    selector_matches,
    validate_standard_tables,
)
from archlint.discover import (
    PYTHON_SUFFIXES,
    SourceFile,
    discover,
    discover_documents,
    discover_tests,
    module_name,
    read_failure,
)
from archlint.fsio import read_bytes as read_project_bytes
from archlint.fsio import read_text as read_project_text
from archlint.fsio import resolve
from archlint.index import ProjectIndex
from archlint.model import Finding, Report, RuleInfo
from archlint.openapi.loader import Bounds as OpenAPIBounds
from archlint.openapi.sources import Request as OpenAPIRequest
from archlint.pack import ConfigError
from archlint.project import Project
from archlint.suppressions import Audit, Suppressions

#: From this many files, collection and the rules use worker processes (below it, starting one costs more than it saves).
_PARALLEL_THRESHOLD = 48
_FRAME_LIMIT = 16 * 1024 * 1024  # the most a fingerprint reads of a reported file


class UsageError(Exception):
    """Bad command-line input (a path that does not exist...): exit code 2."""


@dataclass(slots=True)
class Overrides:
    """Command-line settings that win over the configuration file."""

    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    pack: str | None = None
    config: Path | None = None
    jobs: int | None = None
    #: OpenAPI documents to check instead of the configured or discovered ones.
    openapi: list[Path] = field(default_factory=list)
    #: ``module:attr`` of an application whose generated document is checked (imported in a subprocess).
    app: str | None = None
    python: str | None = None
    app_timeout: float = 60.0
    #: Change sets (S19): at most one source. ``paths_are_change_set``: the paths are the
    #: files of a change (pre-commit's file list), not directories to analyse.
    changed_since: str | None = None
    changed_files: str | None = None
    paths_are_change_set: bool = False
    change_set: ChangeSet | None = None
    #: Baseline (issue 18): report only findings not in this file (wins over the config's ``baseline``).
    baseline: Path | None = None
    #: Record every finding instead (``--write-baseline``): no baseline filters the run.
    write_baseline: Path | None = None
    #: Texts that stand in for files on disk (absolute resolved paths): ``--diff`` checks fixed code unwritten.
    overlay: dict[Path, str] = field(default_factory=dict)
    #: ``--no-cache``: parse every file, read and write no cache entry.
    no_cache: bool = False
    #: ``--stdin-filename``: check ``stdin_text`` as the file ``stdin_filename`` (which need not exist).
    stdin_filename: Path | None = None
    stdin_text: bytes | None = None
    #: Take the findings from the results cache when every input is unchanged (``check`` without
    #: --fix, --diff or SARIF). Off by default: fixes are asked of rules that have run (some
    #: remember in ``check`` what their ``fix`` needs), which an answer from the cache skips.
    reuse_findings: bool = False
    #: Fill in every finding's fingerprint. Off when nothing the run writes shows them (``text``,
    #: ``concise``, ``github``, ``junit``: no baseline, SARIF, JSON or GitLab report): reading and
    #: tokenizing every reported file was a tenth of a warm run. A baseline always computes them.
    fingerprints: bool = True
    #: Told what the run is doing, for a progress line: (phase, done, total).
    progress: Callable[[str, int, int], None] | None = None


@dataclass(slots=True)
class RuleCrash:
    """A rule that raised: its findings are dropped, every other rule's are kept."""

    rule_id: str
    name: str
    error: str  # "ValueError: message"
    traceback: str


@dataclass(slots=True)
class RunResult:
    report: Report
    configs: list[Config]
    crashes: list[RuleCrash] = field(default_factory=list)
    #: The baseline the run was filtered with, and what it found against it.
    baseline: baselines.Baseline | None = None
    outcome: baselines.Outcome | None = None
    #: Whether a baseline entry is one this run could have reproduced (its rule ran, its path was checked).
    in_scope: object = None
    #: The rules that ran, by id, with their options (fixes are asked of them).
    rules: dict[str, Rule] = field(default_factory=dict)

    @property
    def fail_on(self):
        return min(c.fail_on for c in self.configs) if self.configs else None


def run(paths: Sequence[str | Path], overrides: Overrides | None = None) -> RunResult:
    """Check the projects that contain ``paths``; report findings in those paths."""
    overrides = overrides or Overrides()
    change = change_set(paths, overrides)
    if change is None or overrides.paths_are_change_set:
        # Under pre-commit the files passed are what to report on (all of them with --all-files);
        # the change, if any, is only what S19 holds to the boundaries (plus deletions, never passed).
        targets = [Path(p) for p in (paths or ["."])]
        for target in targets:
            if not target.exists() and not _is_stdin(target, overrides):
                raise UsageError(f"path does not exist: {target}")
        if change is not None:
            given = {t.resolve() for t in targets}
            targets += [a for a in (change.absolute(c) for c in change.paths) if a not in given]
    else:
        targets = _change_targets(change, paths)
    for document in overrides.openapi:
        if not document.exists():
            raise UsageError(f"path does not exist: {document}")
    groups: dict[Path, tuple[Path | None, list[Path]]] = {}
    for target in targets:
        config_path, root = _locate_config(overrides.config, target)
        groups.setdefault(root, (config_path, []))[1].append(resolve(target))
    findings: list[Finding] = []
    crashes: list[RuleCrash] = []
    infos: dict[str, RuleInfo] = {}
    configs: list[Config] = []
    files_checked = 0
    files_generated = 0
    report_root: Path | None = None
    scopes: list[tuple[set[str], list[str]]] = []  # (rule ids, wanted paths) of each project
    ran: dict[str, Rule] = {}
    unprinted: list[tuple[list[Finding], Path]] = []
    for root, (config_path, group_targets) in groups.items():
        config = load_config(config_path, root, pack_override=overrides.pack)
        configs.append(config)
        top = git_root(root) or root
        report_root = report_root or top
        rules = select_rules(config, overrides)
        for rule in rules:
            infos.setdefault(rule.id, rule.info(rule.options, rule.effective_severity))
            ran.setdefault(rule.id, rule)
        complete = overrides.select is None and not overrides.extend_select and not overrides.ignore
        wanted = [_relative(t, top) for t in group_targets]
        inputs = _Inputs.read(config, top, overrides, rules)
        results, query, key = _results_key(config, top, overrides, rules, group_targets, change, complete, inputs)
        cached = results.get(query, key) if key else None
        if _valid_answer(cached, top):
            answer = cached
        else:
            crashed = len(crashes)
            answer = _check_group(config, top, overrides, rules, group_targets, change, complete, crashes, inputs)
            if overrides.fingerprints:
                _fingerprint(answer[0], top, _stdin_texts(overrides, top))
            stored = _with_extra_digests(answer, inputs, top) if key and len(crashes) == crashed else None
            if stored is not None:
                results.put(query, key, stored)
        group_findings, checked, generated_count, other_files, _extra = answer
        if any(not f.fingerprint for f in group_findings):
            unprinted.append((group_findings, top))  # fingerprinted below if the run needs them
        findings.extend(group_findings)
        files_checked += checked
        files_generated += generated_count
        scopes.append(({r.id for r in rules}, wanted + list(other_files)))
    findings.sort(key=Finding.sort_key)

    def in_scope(entry: baselines.Entry) -> bool:
        return any(entry.rule in ids and _in_targets(entry.path, wanted) for ids, wanted in scopes)

    accepted, outcome = _baseline(overrides, configs), None
    if overrides.fingerprints or accepted is not None:
        for group_findings, top in unprinted:
            _fingerprint(group_findings, top, _stdin_texts(overrides, top))
    if accepted is not None:
        outcome = baselines.apply(findings, accepted, in_scope)
        findings = outcome.new
    report = Report(
        findings=findings,
        rules=[infos[k] for k in sorted(infos)],
        root=report_root or Path.cwd(),
        files_checked=files_checked,
        files_generated=files_generated,
        tool_version=__version__,
        extra={"errors": [f"Rule {c.rule_id} ({c.name}) crashed: {c.error}" for c in crashes]} if crashes else {},
    )
    if outcome is not None:
        report.unchanged = outcome.unchanged
        report.absent = [_absent(e) for e in outcome.absent]
    return RunResult(report, configs, crashes, accepted, outcome, in_scope, ran)


def _locate_config(explicit: Path | None, start: Path) -> tuple[Path | None, Path]:
    """The configuration file and the project root: ``--config``'s file and its directory, else the nearest upward."""
    if explicit is not None:
        resolved = explicit.resolve()
        return resolved, resolved.parent
    return find_config(start)


#: One project's answer, as the results cache keeps it: (findings, files checked, generated files
#: skipped, other files named, (path, digest) of the non-Python files the findings point at).
_Answer = tuple[list[Finding], int, int, list[str], list[tuple[str, str]]]


def _check_group(
    config: Config,
    top: Path,
    overrides: Overrides,
    rules: list[Rule],
    group_targets: list[Path],
    change: ChangeSet | None,
    complete: bool,
    crashes: list[RuleCrash],
    inputs: _Inputs,
) -> _Answer:
    """One project's findings in the targets, with what the report counts: (findings, files checked,
    generated files skipped, other files named, []): the answer the results cache keeps."""
    project, rules, files = build_project(config, top, overrides, rules=rules, inputs=inputs)
    if change is not None:
        project.change_set = [_relative(change.absolute(c), top) for c in change.paths]
        project.changes = {_relative(change.absolute(c), top): c for c in change.paths}
    analysed_files = {resolve(f.abs) for f in files if _is_target(f.abs, group_targets)}
    skipped = sum(1 for f in files if f.path in project.generated and _is_target(f.abs, group_targets))
    files_checked = len(analysed_files) - skipped
    if change is not None and any(rule.change_set_only for rule in rules):
        # Every changed path is held to the boundaries, not only the Python files analysed.
        files_checked += len(set(group_targets) - analysed_files)
    # Two processes for the rules only when no rule is asked for a fix afterwards (a rule run in the
    # child keeps nothing its fix reads) and more than one worker is allowed.
    fork = overrides.reuse_findings and overrides.jobs != 1
    found = check_project(
        project,
        rules,
        config,
        group_targets,
        crashes,
        complete=complete,
        progress=overrides.progress,
        fingerprints=False,
        fork=fork,
    )
    # Non-Python files the rules read (OpenAPI documents), when they are checked paths or named explicitly.
    wanted = [_relative(t, top) for t in group_targets]
    documents = project.openapi_if_loaded()
    if documents is not None:
        given = set(project.other_files) | documents.explicit
        files_checked += sum(1 for p in documents.checked if _in_targets(p, wanted) or p in given)
        if inputs.documents is None:
            inputs.cacheable = False  # documents read that the key did not cover
    return found, files_checked, skipped, list(project.other_files), []


def _stdin_texts(overrides: Overrides, top: Path) -> dict[str, str]:
    """Fingerprints (baselines) read the text checked, not the file on disk."""
    if overrides.stdin_filename is None or overrides.stdin_text is None:
        return {}
    return {_relative(overrides.stdin_filename.resolve(), top): overrides.stdin_text.decode("utf-8-sig", "replace")}


# --------------------------------------------------------------------------- #
# The results cache: a run asked again with every input unchanged gets its findings back
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class _Inputs:
    """What a project's check reads: its files (bytes, digests) and OpenAPI documents, read once."""

    files: list[SourceFile]
    test_files: list[SourceFile]
    #: Per file of ``files + test_files`` (tests not also analysed): its bytes, or the facts of an unreadable file.
    blobs: list[bytes | FileFacts]
    #: (path, digest) of each OpenAPI document the rules may read; None: not read for the key.
    documents: list[tuple[str, str]] | None = None
    #: The OpenAPI documents found in the tree for the key, reused by the check: the tree is walked once.
    discovered: list[Path] | None = None
    cacheable: bool = True

    @classmethod
    def read(cls, config: Config, top: Path, overrides: Overrides, rules: list[Rule]) -> _Inputs:
        files = discover(config, top)
        tests = next((rule for rule in rules if rule.standard == "S24"), None)
        test_files = discover_tests(config, top, tests.options.test_files) if tests is not None else []
        seen = {f.path for f in files}
        test_files = [f for f in test_files if f.path not in seen]
        overlay = overrides.overlay
        blobs: list[bytes | FileFacts] = []
        for file in files + test_files:
            text = overlay.get(file.abs.resolve()) if overlay else None
            blobs.append(text.encode("utf-8") if text is not None else _read(file))
        return cls(files, test_files, blobs)


def _results_key(
    config: Config,
    top: Path,
    overrides: Overrides,
    rules: list[Rule],
    group_targets: list[Path],
    change: ChangeSet | None,
    complete: bool,
    inputs: _Inputs,
) -> tuple[ResultsCache, str, str]:
    """The results cache, the question (entry name) and the key (every input); key "" when not cacheable."""
    disabled = ResultsCache(None), "", ""
    if overrides.no_cache or overrides.overlay or overrides.stdin_filename is not None or overrides.app:
        return disabled
    if not overrides.reuse_findings:
        return disabled
    if any(isinstance(b, FileFacts) for b in inputs.blobs):
        return disabled  # an unreadable file: its error is checked again next time
    try:
        setup = _stable((config, [(r.id, r.effective_severity, r.options, r.after_filter) for r in rules]))
    except _Unstable:
        return disabled
    changes = repr(None if change is None else (str(change.root), change.source, change.paths))
    query = repr(
        (
            str(top),
            str(config.root),
            [str(t) for t in group_targets],
            changes,
            complete,
            overrides.select,
            overrides.extend_select,
            overrides.ignore,
            overrides.pack,
            [str(p) for p in overrides.openapi],
        )
    )
    request = openapi_request(config, overrides)
    # The rules that read OpenAPI documents (S4's, and the policy rules held on documents); should
    # another rule load them, the run is not stored (see _check_group), never answered stale.
    if any(type(rule).__module__.startswith("archlint.checks.s04_") for rule in rules) or overrides.openapi:
        if request.files or request.discover is None:
            documents = list(request.files)
        else:
            documents = inputs.discovered = request.discover()
        inputs.documents = [(str(d), _digest_of(d)) for d in documents]
    digest = hashlib.blake2b(digest_size=32)
    for part in (query, setup, repr(inputs.documents)):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    for file, blob in zip(inputs.files + inputs.test_files, inputs.blobs):
        assert isinstance(blob, bytes)
        line = f"{file.path}\t{file.rel}\t{file.module}\t{file.is_package}\t{content_digest(blob)}\n"
        digest.update(line.encode("utf-8", "surrogatepass"))
    digest.update(f"tests {len(inputs.test_files)}".encode())
    return ResultsCache(default_directory(config.root)), query, digest.hexdigest()


def _digest_of(path: Path) -> str:
    """The content digest of a document or code-frame file for the answer cache.

    Read through the safe reader: a FIFO or device never blocks the run (it is refused and keyed by why).
    """
    try:
        return content_digest(read_project_bytes(path, root=None, limit=None))
    except OSError as exc:
        return f"unreadable {exc}"


def _with_extra_digests(answer: _Answer, inputs: _Inputs, top: Path) -> _Answer | None:
    """The answer with the digests of the non-Python files its findings point at (their code frames
    and fingerprints read them): checked again before the answer is reused."""
    if not inputs.cacheable:
        return None
    findings, checked, generated, other, _extra = answer
    python = {f.path for f in inputs.files + inputs.test_files}
    extra = sorted({f.path for f in findings if f.path not in python})
    return findings, checked, generated, other, [(p, _digest_of(top / p)) for p in extra]


def _valid_answer(answer: object, top: Path) -> TypeGuard[_Answer]:
    """A stored answer of the right shape whose non-Python files are unchanged."""
    if not (isinstance(answer, tuple) and len(answer) == 5 and isinstance(answer[0], list)):
        return False
    if not (isinstance(answer[1], int) and isinstance(answer[2], int) and isinstance(answer[3], list)):
        return False
    if not isinstance(answer[4], list):
        return False
    if not all(isinstance(f, Finding) for f in answer[0]):
        return False
    return all(_digest_of(top / path) == digest for path, digest in answer[4])


class _Unstable(Exception):
    """A setting with no stable text (an object without a value representation): not cached."""


def _stable(value: object) -> str:
    """A text that is equal exactly when the settings are equal, the same in every process
    (sets sorted, patterns by their source, dataclasses field by field)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if isinstance(value, PurePath):
        return f"path({str(value)!r})"
    if isinstance(value, re.Pattern):
        return f"re({value.pattern!r}, {value.flags})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ", ".join(f"{f.name}={_stable(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__qualname__}({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_stable(k)}: {_stable(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_stable(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_stable(v) for v in value)) + "}"
    raise _Unstable(type(value).__name__)


def _baseline(overrides: Overrides, configs: list[Config]) -> baselines.Baseline | None:
    """The baseline that filters this run: ``--baseline``, else the configuration's; none while writing one."""
    if overrides.write_baseline is not None:
        return None
    path = overrides.baseline
    if path is None:
        path = next((c.root / c.baseline for c in configs if c.baseline), None)
        if path is None:
            return None
    try:
        return baselines.load(path)
    except baselines.BaselineError as exc:
        raise UsageError(str(exc)) from None


def _absent(entry: baselines.Entry) -> Finding:
    finding = entry.as_finding()
    finding.baseline_state = "absent"
    return finding


def change_set(paths: Sequence[str | Path], overrides: Overrides) -> ChangeSet | None:
    """The run's change set, from at most one source; None on a plain directory run."""
    sources = [s for s in (overrides.change_set, overrides.changed_since, overrides.changed_files) if s is not None] + (
        [paths] if overrides.paths_are_change_set else []
    )
    if len(sources) > 1:
        raise UsageError("give one change set: --changed-since, --changed-files or the files of a commit")
    try:
        if overrides.change_set is not None:
            return overrides.change_set
        start = Path(paths[0]) if paths else Path.cwd()
        if overrides.changed_since is not None:
            return from_git(overrides.changed_since, start.resolve())
        if overrides.changed_files is not None:
            return from_list(overrides.changed_files, start.resolve())
        if overrides.paths_are_change_set:
            return from_pre_commit(paths, Path.cwd(), os.environ)
    except ChangeSetError as exc:
        raise UsageError(str(exc)) from None
    return None


def _change_targets(change: ChangeSet, paths: Sequence[str | Path]) -> list[Path]:
    """The changed paths (deleted ones included) under the given paths (all of them when none are given)."""
    within = [Path(p).resolve() for p in paths]
    for path in within:
        if not path.exists():
            raise UsageError(f"path does not exist: {path}")
    absolute = [change.absolute(c) for c in change.paths]
    return [a for a in absolute if not within or _is_target(a, within)]


def select_rules(config: Config, overrides: Overrides) -> list[Rule]:
    rules = all_rules()
    validate_standard_tables(config, rules)
    select = overrides.select if overrides.select is not None else config.select
    extend = config.extend_select + overrides.extend_select
    ignore = config.ignore + overrides.ignore
    named = [
        (f"{config.source}: [tool.archlint] key '{key}'", values)
        for key, values in (("select", config.select or []), ("extend-select", config.extend_select), ("ignore", config.ignore))
    ]
    named += [
        (f"--{key}", values)
        for key, values in (
            ("select", overrides.select or []),
            ("extend-select", overrides.extend_select),
            ("ignore", overrides.ignore),
        )
    ]
    for where, values in named:
        for selector in values:
            if not any(selector_matches(selector, r.id, r.standard) for r in rules):
                raise ConfigError(f"{where}: '{selector}' matches no rule (see `archlint rules`)")
    chosen: list[Rule] = []
    for cls in rules:
        enabled, severity, options = rule_settings(config, cls)
        # A rule the pack (or the user) turns off runs only when selected by its own code:
        # selecting its standard, a prefix or ALL selects the standard as the pack defines it.
        matches = selector_matches if enabled else (lambda s, rule_id, _std: s.strip().upper() == rule_id)
        on = enabled if select is None else any(matches(s, cls.id, cls.standard) for s in select)
        if any(matches(s, cls.id, cls.standard) for s in extend):
            on = True
        if any(selector_matches(s, cls.id, cls.standard) for s in ignore):
            on = False
        if on:
            chosen.append(cls(options, severity))
    return chosen


def build_project(
    config: Config,
    report_root: Path,
    overrides: Overrides,
    *,
    rules: list[Rule] | None = None,
    inputs: _Inputs | None = None,
) -> tuple[Project, list[Rule], list[SourceFile]]:
    rules = select_rules(config, overrides) if rules is None else rules
    inputs = inputs or _Inputs.read(config, report_root, overrides, rules)
    files = inputs.files
    collected, test_facts = _collect_with_tests(
        files,
        inputs.test_files,
        config,
        overrides.jobs,
        overrides.no_cache,
        overrides.overlay,
        inputs.blobs,
        overrides.progress,
    )
    facts, generated = analysed(collected, config)
    kept = {f.path for f in facts}
    files = [f for f in files if f.path in kept]
    if overrides.stdin_filename is not None:
        files, facts = _with_stdin(config, report_root, overrides, files, facts)
    request = openapi_request(config, overrides)
    discovered = inputs.discovered
    if discovered is not None and request.discover is not None:
        request.discover = lambda: discovered  # found already, for the results cache's key
    project = Project(
        index=ProjectIndex(facts),
        root=config.root,
        report_root=report_root,
        other_files=[_relative(p.resolve(), report_root) for p in overrides.openapi],
        openapi_request=request,
        generated=generated,
        health_probes=config.pack.health_probes,
        test_files=test_facts,
    )
    return project, rules, files


def _collect_with_tests(
    files: list[SourceFile],
    test_files: list[SourceFile],
    config: Config,
    jobs: int | None,
    no_cache: bool,
    overlay: dict[Path, str] | None = None,
    blobs: list[bytes | FileFacts] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    cache: FactsCache | None = None,
) -> tuple[list[FileFacts], list[FileFacts]]:
    """The facts of the analysed files and of the tests (read for S24 only), in one collection and one cache pass."""
    seen = {f.path for f in files}
    extra = [f for f in test_files if f.path not in seen]
    everything = collect_all(
        files + extra,
        jobs=jobs,
        cache=cache or facts_cache(config, no_cache=no_cache),
        limits=limits(config),
        overlay=overlay,
        blobs=blobs,
        progress=progress,
    )
    tests = {f.path for f in extra}
    return [f for f in everything if f.path not in tests], [f for f in everything if f.path in tests]


def _is_stdin(target: Path, overrides: Overrides) -> bool:
    if overrides.stdin_filename is None or target.resolve() != overrides.stdin_filename.resolve():
        return False
    if not target.name.endswith(PYTHON_SUFFIXES):
        raise UsageError(f"--stdin-filename {target}: only Python source (.py, .pyi) is read from standard input")
    if not target.resolve().parent.is_dir():
        raise UsageError(f"--stdin-filename {target}: its directory does not exist")
    return True


def _source_file(config: Config, report_root: Path, target: Path) -> SourceFile:
    """The file ``target`` (resolved, inside the project root) as discovery would list it."""
    return SourceFile(
        abs=target,
        path=_relative(target, report_root),
        rel=target.relative_to(config.root.resolve()).as_posix(),
        module=module_name(target, config.root, [(config.root / s).resolve() for s in config.src]),
        is_package=target.name in ("__init__.py", "__init__.pyi"),
    )


def _with_stdin(
    config: Config, report_root: Path, overrides: Overrides, files: list[SourceFile], facts: list[FileFacts]
) -> tuple[list[SourceFile], list[FileFacts]]:
    """The project with the file ``--stdin-filename`` names read from standard input (added if it is new)."""
    if overrides.stdin_filename is None:
        return files, facts
    target = overrides.stdin_filename.resolve()
    if not target.is_relative_to(config.root.resolve()):
        return files, facts
    source = next((f for f in files if f.abs.resolve() == target), None)
    if source is None:  # a new file, or one the excludes leave out: checked all the same, as Ruff does
        source = _source_file(config, report_root, target)
        files = [*files, source]
    fresh = collect_bytes(
        overrides.stdin_text or b"",
        limits=limits(config),
        path=source.path,
        rel=source.rel,
        module=source.module,
        is_package=source.is_package,
    )
    return files, [f for f in facts if f.path != source.path] + [fresh]


def openapi_request(config: Config, overrides: Overrides) -> OpenAPIRequest:
    """Which OpenAPI documents the rules check: the command line's, else the configured ones, else those found."""
    request = OpenAPIRequest(
        app=overrides.app,
        python=overrides.python,
        timeout=overrides.app_timeout,
        src=[(config.root / s).resolve() for s in config.src],
        config_name=config.source if config.source.endswith(".toml") and "/" not in config.source else "pyproject.toml",
        size=config.limits.openapi_size,
        bounds=OpenAPIBounds(nodes=config.limits.openapi_nodes, depth=config.limits.openapi_depth),
    )
    if overrides.openapi:
        request.files = list(overrides.openapi)
        request.confine = False  # the operator's choice: anywhere
    elif config.openapi:
        request.files = [Path(os.path.normpath(config.root / p)) for p in config.openapi]
    else:
        request.explicit = False
        request.discover = lambda: discover_documents(config)
    return request


def load_project(
    path: Path, *, config_path: Path | None = None, pack: str | None = None, jobs: int | None = None, no_cache: bool = False
) -> tuple[Project, Config]:
    """The project that contains ``path``, indexed as ``check`` indexes it, without running rules.

    For reports built from the index (``archlint inventory``): the nearest
    configuration decides the project root, the pack's analysis excludes and
    the source roots, exactly as for a check.
    """
    if not path.exists():
        raise UsageError(f"path does not exist: {path}")
    config_file, root = _locate_config(config_path, path)
    config = load_config(config_file, root, pack_override=pack)
    report_root = git_root(root) or root
    files = discover(config, report_root)
    # The inventory marks each endpoint tested or not, reading the tests as S24 does.
    _enabled, _severity, options = rule_settings(config, UntestedEndpoint)
    tests = discover_tests(config, report_root, options.test_files)
    collected, test_facts = _collect_with_tests(files, tests, config, jobs, no_cache)
    facts, generated = analysed(collected, config)
    project = Project(
        index=ProjectIndex(facts),
        root=config.root,
        report_root=report_root,
        generated=generated,
        health_probes=config.pack.health_probes,
        test_files=test_facts,
    )
    return project, config


def analysed(facts: list[FileFacts], config: Config) -> tuple[list[FileFacts], dict[str, str]]:
    """The files the analysis indexes, and those of them that declare themselves generated.

    Alembic revisions are left out wherever they are kept (a revision is known
    by its ``revision``/``down_revision`` and its Alembic import, not by a
    folder name). Generated files stay in the index, so imports through them
    resolve, and ``check`` reports nothing in them unless the pack says
    ``include-generated = true``; the map gives each one's marker line.
    """
    kept = [f for f in facts if not is_migration(f)]
    markers = config.pack.generated_markers
    generated: dict[str, str] = {}
    if markers and not config.pack.include_generated:
        for f in kept:
            marker = generated_marker(f, markers)
            if marker is not None:
                generated[f.path] = marker
    return kept, generated


def check_project(
    project: Project,
    rules: Iterable[Rule],
    config: Config,
    targets: list[Path],
    crashes: list[RuleCrash] | None = None,
    *,
    complete: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    texts: dict[str, str] | None = None,
    fingerprints: bool = True,
    fork: bool = False,
) -> list[Finding]:
    """The rules' findings in ``targets``, filtered (suppressions, per-file ignores, generated files).

    ``texts`` (report path -> text) stand in for files on disk when fingerprinting: an editor's unsaved text.
    Without ``fingerprints`` the findings' are left empty (the caller computes them when it needs them).
    With ``fork`` the rules of a large project may run in two processes (see ``_run_rules``).
    """
    rules = list(rules)
    findings = _run_rules(project, [r for r in rules if not r.after_filter], crashes, progress, fork=fork)
    report_root = project.report_root
    wanted = [_relative(t, report_root) for t in targets]
    filters = _Filters(project.index, config, report_root)
    # Documents named on the command line or generated: always reported.
    documents = project.openapi_if_loaded()
    given = set(project.other_files) | (documents.explicit if documents is not None else set())
    kept = [
        f
        for f in findings
        if (_in_targets(f.path, wanted) or f.path in given) and f.path not in project.generated and not filters.drop(f)
    ]
    late = [r for r in rules if r.after_filter]
    if late:
        # Rules about the filtering itself (AL002: suppressions that silenced nothing) run after it.
        project.suppression_audit = Audit(
            filters.suppressions, frozenset(r.id for r in rules), frozenset(r.id for r in all_rules()), complete
        )
        audit = _run_rules(project, late, crashes)
        # A directive that silences nothing must not silence its own report: only `ignore[AL002]` does.
        kept.extend(f for f in audit if _in_targets(f.path, wanted) and not filters.drop(f, explicit=True))
    if fingerprints:
        _fingerprint(kept, report_root, texts or {})
    return kept


def _run_rules(
    project: Project,
    rules: list[Rule],
    crashes: list[RuleCrash] | None,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    fork: bool = False,
) -> list[Finding]:
    """Every rule's findings, in rule order. With ``fork`` (a command-line check that asks no rule for
    a fix) and a project large enough, the rules of some standards run in a second process."""
    there = [r for r in rules if type(r).__module__.rsplit(".", 1)[-1].startswith(_SECOND_PROCESS)] if fork else []
    if there and len(there) < len(rules) and len(project.index.files) >= _PARALLEL_THRESHOLD and _can_fork():
        return _run_forked(project, rules, there, crashes, progress)
    return _run_here(project, rules, crashes, progress)


def _run_here(
    project: Project, rules: list[Rule], crashes: list[RuleCrash] | None, progress: Callable[[str, int, int], None] | None
) -> list[Finding]:
    results = {rule.id: _run_rule(project, rule, progress, number, len(rules)) for number, rule in enumerate(rules)}
    return _gather(rules, results, crashes)


#: The standards whose rules run in the second process of a forked check: about half the rules'
#: time on the development corpus (S10's data flow, S23's outbound calls and S24's test index are
#: their own analyses), sharing little with the others, whose shared route table is built first.
_SECOND_PROCESS = ("s10_", "s17_", "s20_", "s23_", "s24_")

_Result = tuple[list[Finding], RuleCrash | None]


def _can_fork() -> bool:
    """Linux with two cores or more (macOS forbids a fork after some system libraries have loaded),
    in a process with no other thread (a lock another thread holds would stay held in the child)."""
    return sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1 and threading.active_count() == 1


def _run_rule(project: Project, rule: Rule, progress: Callable[[str, int, int], None] | None, number: int, total: int) -> _Result:
    if progress is not None:
        progress("checking", number, total)
    try:
        return list(rule.check(project)), None
    except Exception as exc:
        # A crash is a bug to report (the run exits 2), but not a reason to
        # throw away what every other rule found.
        crash = RuleCrash(rule.id, rule.name, f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))
        return [], crash


def _gather(rules: list[Rule], results: dict[str, _Result], crashes: list[RuleCrash] | None) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        found, crash = results[rule.id]
        if crash is not None:
            if crashes is None:
                raise RuntimeError(f"rule {rule.id} ({rule.name}) crashed: {crash.error}")
            crashes.append(crash)
        findings.extend(found)
    return findings


def _run_forked(
    project: Project,
    rules: list[Rule],
    there: list[Rule],
    crashes: list[RuleCrash] | None,
    progress: Callable[[str, int, int], None] | None,
) -> list[Finding]:
    """The rules of ``there`` in a forked child, the others here, at once on two cores; the child
    sends its results back pickled. Should it fail (killed, unpicklable), its rules run here."""
    try:
        project.routes  # noqa: B018  (built once, before the fork, for both processes)
    except Exception:
        pass  # the rules that read it report the crash
    reader, writer = os.pipe()
    gc.freeze()  # the objects both processes share stay shared: no collection touches their pages
    try:
        pid = os.fork()
    except OSError:  # no memory or process left for a child: one process, as with --jobs 1
        gc.unfreeze()
        os.close(reader)
        os.close(writer)
        return _run_here(project, rules, crashes, progress)
    if pid == 0:  # the child: never returns into the caller
        status = 1
        try:
            os.close(reader)
            done = [(rule.id, _run_rule(project, rule, None, 0, 0)) for rule in there]
            with os.fdopen(writer, "wb") as out:
                out.write(pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL))
            status = 0
        finally:
            os._exit(status)
    gc.unfreeze()
    os.close(writer)
    ids = {rule.id for rule in there}
    here = [rule for rule in rules if rule.id not in ids]
    results = {rule.id: _run_rule(project, rule, progress, n, len(here)) for n, rule in enumerate(here)}
    with os.fdopen(reader, "rb") as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    try:
        received = dict(pickle.loads(data)) if status == 0 else {}
    except Exception:
        received = {}
    for rule in there:
        results[rule.id] = received.get(rule.id) or _run_rule(project, rule, progress, len(here), len(rules))
    return _gather(rules, results, crashes)


# --------------------------------------------------------------------------- #
# Sessions: one project held in memory for an editor (``archlint lsp``)
# --------------------------------------------------------------------------- #


class Session:
    """The project that contains ``target``, indexed once and re-checked text by text.

    ``check(texts)`` checks the given texts (an editor's open documents, saved
    or not) as files of the project: only those texts are collected (parsed,
    or taken from the facts cache when their content was seen before), every
    other file's facts are the ones collected when the session started (or by
    :meth:`refresh` since), and the rules run against the index built from
    them, exactly as ``check --stdin-filename`` checks one text. Findings are
    filtered (suppressions, per-file ignores, generated files, the baseline) as
    a run filters them.
    """

    def __init__(self, target: Path, overrides: Overrides | None = None) -> None:
        self.overrides = overrides = overrides or Overrides()
        config_path, root = _locate_config(overrides.config, target)
        self.config = config = load_config(config_path, root, pack_override=overrides.pack)
        self.report_root = git_root(root) or root
        self.rules = select_rules(config, overrides)
        self.limits = limits(config)
        self.cache = facts_cache(config, no_cache=overrides.no_cache)
        inputs = _Inputs.read(config, self.report_root, overrides, self.rules)
        collected, test_facts = _collect_with_tests(
            inputs.files, inputs.test_files, config, overrides.jobs, overrides.no_cache, blobs=inputs.blobs, cache=self.cache
        )
        self._files = {f.path: f for f in inputs.files}
        self._tests = {f.path: f for f in inputs.test_files}
        self._facts = {f.path: f for f in collected}
        self._test_facts = {f.path: f for f in test_facts}
        #: The facts of each text checked, by report path, with the digest of the text they were collected from.
        self._texts: dict[str, tuple[str, FileFacts]] = {}
        documents: list[Path] | None = None

        def discovered() -> list[Path]:  # the tree is walked for OpenAPI documents once, not at every check
            nonlocal documents
            if documents is None:
                documents = discover_documents(config)
            return documents

        self._request = openapi_request(config, overrides)
        if self._request.discover is not None:
            self._request.discover = discovered
        self.baseline = _baseline(overrides, [config])

    def owns(self, path: Path) -> bool:
        """Whether ``path`` is a file of this project (below its root)."""
        return path.resolve().is_relative_to(self.config.root.resolve())

    def depends_on(self, path: Path) -> bool:
        """Whether ``path`` is the session's configuration or baseline file (a change means building it again)."""
        target = path.resolve()
        baseline = self.overrides.baseline or (self.config.root / self.config.baseline if self.config.baseline else None)
        config_file = self.overrides.config or (self.config.root / self.config.source)
        return any(p is not None and p.resolve() == target for p in (baseline, config_file))

    def path_of(self, path: Path) -> str:
        """The report path (finding paths) of a file."""
        return _relative(path.resolve(), self.report_root)

    def refresh(self, path: Path) -> None:
        """Read one file from disk again: it was saved, created or deleted outside the session."""
        target = path.resolve()
        rel = _relative(target, self.report_root)
        self._texts.pop(rel, None)
        known = self._files.get(rel) or self._tests.get(rel)
        if not target.is_file():
            self._files.pop(rel, None)
            self._facts.pop(rel, None)
            self._tests.pop(rel, None)
            self._test_facts.pop(rel, None)
            return
        if not self.owns(target) or not target.name.endswith(PYTHON_SUFFIXES):
            return
        source = known or _source_file(self.config, self.report_root, target)
        if known is None:
            self._files[rel] = source
        facts = collect_all([source], jobs=1, cache=self.cache, limits=self.limits)[0]
        (self._test_facts if rel in self._tests else self._facts)[rel] = facts

    def _collect_text(self, source: SourceFile, text: str) -> FileFacts:
        data = text.encode("utf-8")
        digest = content_digest(data)
        seen = self._texts.get(source.path)
        if seen is not None and seen[0] == digest:
            return seen[1]
        facts = self.cache.get(digest)
        if facts is None:
            facts = collect_bytes(data, limits=self.limits, in_process=True)
            if facts is None:  # past what is safe to parse here: in a worker process, as a run does
                facts = collect_isolated([data], 1, self.limits)[0]
            # Not written to the cache: an unsaved text is one keystroke's; a saved file is collected by refresh().
        facts.locate(source.path, source.rel, source.module, source.is_package)
        self._texts[source.path] = (digest, facts)
        return facts

    def check(self, texts: dict[Path, str]) -> RunResult:
        """Check ``texts`` (file -> its current text) as files of the project; findings in those files only."""
        config, report_root = self.config, self.report_root
        files, tests = dict(self._files), dict(self._tests)
        facts, test_facts = dict(self._facts), dict(self._test_facts)
        targets: list[Path] = []
        by_path: dict[str, str] = {}
        for path, text in texts.items():
            target = path.resolve()
            if not self.owns(target) or not target.name.endswith(PYTHON_SUFFIXES):
                continue
            rel = _relative(target, report_root)
            if rel in tests:
                test_facts[rel] = self._collect_text(tests[rel], text)
            else:
                # A new file, or one the excludes leave out: checked all the same, as --stdin-filename does.
                source = files.get(rel) or _source_file(config, report_root, target)
                files[rel] = source
                facts[rel] = self._collect_text(source, text)
            targets.append(target)
            by_path[rel] = text
        for rel in set(self._texts) - set(by_path):
            del self._texts[rel]  # closed documents: their files' facts are the ones on disk again
        kept, generated = analysed(list(facts.values()), config)
        project = Project(
            index=ProjectIndex(kept),
            root=config.root,
            report_root=report_root,
            other_files=[_relative(p.resolve(), report_root) for p in self.overrides.openapi],
            openapi_request=self._request,
            generated=generated,
            health_probes=config.pack.health_probes,
            test_files=list(test_facts.values()),
        )
        crashes: list[RuleCrash] = []
        findings = check_project(project, self.rules, config, targets, crashes, texts=by_path) if targets else []
        findings = [f for f in findings if f.path in by_path]
        findings.sort(key=Finding.sort_key)
        outcome = None
        ran = {rule.id: rule for rule in self.rules}

        def in_scope(entry: baselines.Entry) -> bool:
            return entry.rule in ran and entry.path in by_path

        if self.baseline is not None:
            outcome = baselines.apply(findings, self.baseline, in_scope)
            findings = outcome.new
        report = Report(
            findings=findings,
            rules=[rule.info(rule.options, rule.effective_severity) for rule in self.rules],
            root=report_root,
            files_checked=len(targets),
            tool_version=__version__,
        )
        return RunResult(report, [config], crashes, self.baseline, outcome, in_scope, ran)


# --------------------------------------------------------------------------- #
# Collection
# --------------------------------------------------------------------------- #


def limits(config: Config) -> Limits:
    """The parse limits of the pack's ``[limits]`` and ``[tool.archlint.limits]``."""
    return Limits(
        max_file_bytes=config.limits.file_size,
        max_nesting_depth=config.limits.nesting_depth,
        max_expression_terms=config.limits.expression_terms,
    )


def facts_cache(config: Config, *, no_cache: bool = False) -> FactsCache:
    """The project's facts cache (``.archlint_cache/`` or ``$ARCHLINT_CACHE_DIR``); disabled by ``--no-cache``."""
    return FactsCache(None if no_cache else default_directory(config.root), config.root, limits(config))


def _read(file: SourceFile) -> bytes | FileFacts:
    """The file's bytes, or the facts of a file that cannot be read."""
    try:
        return file.read_bytes()
    except OSError as exc:
        from archlint.collect.facts import ParseError
        from archlint.model import Span

        facts = FileFacts(transient=True)
        facts.parse_error = ParseError(read_failure(exc), Span.point(1))
        return facts


def collect_all(
    files: list[SourceFile],
    jobs: int | None = None,
    cache: FactsCache | None = None,
    limits: Limits | None = None,
    overlay: dict[Path, str] | None = None,
    blobs: list[bytes | FileFacts] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[FileFacts]:
    """Facts for every file: from the cache when the content was seen before, else parsed.

    Parsing runs in worker processes when there are many files, where a parser
    crash costs one file; on a small project in this process, except files past
    what is safe to parse here (see ``archlint.collect.guard``). Facts depend on
    the content only; each file's location is stamped on afterwards.
    """
    limits = limits or Limits()
    cache = cache or FactsCache(None)
    out: list[FileFacts | None] = [None] * len(files)
    pending: list[tuple[int, bytes, str]] = []
    for i, file in enumerate(files):
        # ``overlay``: texts that stand in for files on disk (``--diff`` checks fixed code it does not write).
        if blobs is not None:
            data = blobs[i]  # read already (``_Inputs``)
        else:
            text = overlay.get(file.abs.resolve()) if overlay else None
            data = text.encode("utf-8") if text is not None else _read(file)
        if isinstance(data, FileFacts):
            out[i] = data
            continue
        digest = content_digest(data)
        cached = cache.get(digest)
        if cached is not None:
            out[i] = cached
        else:
            pending.append((i, data, digest))
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    isolate: list[tuple[int, bytes, str]] = []
    done = [0]

    def parsed() -> None:
        done[0] += 1
        if progress is not None:
            progress("parsing", done[0], len(pending))

    if workers > 1 and len(pending) >= _PARALLEL_THRESHOLD:
        isolate = pending
    else:
        for i, data, digest in pending:
            facts = collect_bytes(data, limits=limits, in_process=True)
            if facts is None:
                isolate.append((i, data, digest))
            else:
                out[i] = facts
                parsed()
    if isolate:
        results = collect_isolated([data for _, data, _ in isolate], max(1, min(workers, len(isolate))), limits, on_result=parsed)
        for (i, _data, _digest), facts in zip(isolate, results):
            out[i] = facts
    for i, _data, digest in pending:
        facts = out[i]
        assert facts is not None
        if not facts.transient:
            cache.put(digest, facts)
    cache.finish()
    located: list[FileFacts] = []
    for file, facts in zip(files, out):
        assert facts is not None
        located.append(facts.locate(file.path, file.rel, file.module, file.is_package))
    return located


# --------------------------------------------------------------------------- #
# Filters: targets, suppressions, per-file ignores
# --------------------------------------------------------------------------- #


def _relative(path: Path, root: Path) -> str:
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    return "" if rel == "." else rel


def _is_target(path: Path, targets: list[Path]) -> bool:
    return any(path == t or t in path.parents for t in targets)


def _in_targets(path: str, wanted: list[str]) -> bool:
    return any(w == "" or path == w or path.startswith(w + "/") for w in wanted)


class _Filters:
    def __init__(self, index: ProjectIndex, config: Config, report_root: Path) -> None:
        self.index = index
        self.prefix = _relative(config.root, report_root)
        self.per_file = [(pathspec.GitIgnoreSpec.from_lines([glob]), codes) for glob, codes in config.per_file_ignores.items()]
        self.suppressions = Suppressions(respect_bare_noqa=config.respect_bare_noqa)

    def drop(self, finding: Finding, *, explicit: bool = False) -> bool:
        """Suppressed or per-file ignored (``explicit``: only by a directive that names the rule)."""
        facts = self.index.files.get(finding.path)
        if facts is not None and self.suppressions.suppresses(finding, facts, explicit=explicit):
            return True
        rel = finding.path[len(self.prefix) + 1 :] if self.prefix and finding.path.startswith(self.prefix + "/") else finding.path
        for spec, codes in self.per_file:
            if spec.match_file(rel) and any(selector_matches(c, finding.rule_id, finding.standard) for c in codes):
                return True
        return False


def _fingerprint(findings: list[Finding], report_root: Path, texts: dict[str, str]) -> None:
    """Rule, file, enclosing definition and the reported code's normalised text (see ``archlint.baseline``).

    Files are read as the reporters read them: within the report root, at most ``_FRAME_LIMIT`` bytes;
    ``texts`` (report path -> text) stand in for files on disk.
    """

    def read(path: Path) -> str:
        text = texts.get(_relative(path, report_root))
        if text is not None:
            return text
        return read_project_text(path, root=report_root, limit=_FRAME_LIMIT, errors="replace")

    baselines.fingerprint(findings, report_root, read=read)
