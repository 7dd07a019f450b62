"""AL002-AL003: the suppression comments themselves (Ruff's RUF100, and a reason when the pack wants one)."""

from __future__ import annotations

from collections.abc import Iterable

from archlint.checks.base import Project, Rule
from archlint.collect.facts import Suppression
from archlint.model import Edit, Finding, Fix, Severity, Span


class UnusedSuppression(Rule[None]):
    """Reports a suppression comment that silences nothing, or names a rule that does not exist.

    `# archlint: ignore[AL101]` and `# noqa: AL101` on a line without an AL101
    finding, a code that is no archlint rule (`# archlint: ignore[AL999]`), and
    an `# archlint: ignore` without codes that silences nothing are reported,
    as Ruff's RUF100 reports unused `# noqa`. Codes of other tools in a
    `# noqa` list (`E501`) and a bare `# noqa` are left alone. A code whose
    rule did not run (not selected) is not judged. `--fix` removes the unused
    codes, or the whole directive when none is left.

    ## Why is this bad?
    A suppression that outlives its finding hides the next real violation on
    that line, and an unknown code silences nothing while looking as if it did.
    """

    id = "AL002"
    name = "UnusedSuppression"
    standard = None
    severity = Severity.WARNING
    precision = "very-high"
    tags = ("engine",)
    after_filter = True
    fix_message = "Remove the unused suppression."
    #: The examples' codes must be judged: AL101 runs beside AL002.
    EXAMPLE_OVERRIDES = {"extend_select": ["AL101"]}
    INVALID = [
        "from fastapi import FastAPI\n\napp = FastAPI()  # archlint: ignore[AL101] -- no route here  # expect: AL002\n",
        'VERSION = "1"  # noqa: E501, AL999  # expect: AL002\n',
    ]
    VALID = [
        'VERSION = "1"  # noqa: E501\n',
        "import os  # noqa\n",
    ]
    FIXES = [
        ('VERSION = "1"  # archlint: ignore[AL101] -- old\n', 'VERSION = "1"\n'),
        ('VERSION = "1"  # noqa: E501, AL101\n', 'VERSION = "1"  # noqa: E501\n'),
        ('# archlint: ignore[AL101]\nVERSION = "1"\n', 'VERSION = "1"\n'),
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        audit = project.suppression_audit
        if audit is None:
            return
        for facts in project.index.files.values():
            for index, directive in enumerate(facts.suppression_comments):
                problems = audit.problems(facts, index)
                if problems is None:
                    continue
                unused, unknown = problems
                finding = self.finding(facts.path, _directive_span(directive), _message(directive, unused, unknown))
                finding.fix = _removal(directive, set(unused) | set(unknown))
                yield finding


class SuppressionWithoutReason(Rule[None]):
    """Reports an `# archlint: ignore[...]` without a reason after `--` (off unless the pack turns it on).

    Turn it on in a pack or the configuration (`[rules.AL003] enabled = true`)
    to require that every suppression says why: `# archlint: ignore[AL101] --
    the health probe is unversioned on purpose`. A `# noqa: AL101` cannot carry
    a reason and is reported too; write the archlint form instead.

    ## Why is this bad?
    A suppression without a reason cannot be reviewed: nobody can tell later
    whether the finding was a false alarm or debt someone meant to pay.
    """

    id = "AL003"
    name = "SuppressionWithoutReason"
    standard = None
    severity = Severity.WARNING
    precision = "very-high"
    tags = ("engine",)
    INVALID = ['VERSION = "1"  # archlint: ignore[AL101]  # expect: AL003\n']
    VALID = ['VERSION = "1"  # archlint: ignore[AL101] -- kept for the old clients\n']

    def check(self, project: Project) -> Iterable[Finding]:
        for facts in project.index.files.values():
            for directive in facts.suppression_comments:
                if directive.kind == "noqa" and directive.codes is None:
                    continue  # a bare noqa belongs to other tools
                if directive.kind == "noqa" and not any(c.startswith("AL") for c in directive.codes or ()):
                    continue
                if directive.reason:
                    continue
                yield self.finding(
                    facts.path,
                    _directive_span(directive),
                    "This suppression gives no reason: write `# archlint: ignore[CODE] -- why`.",
                )


def _directive_span(d: Suppression) -> Span:
    return Span(d.line, d.column + d.start, d.line, d.column + d.end)


def _message(d: Suppression, unused: list[str], unknown: list[str]) -> str:
    if d.codes is None:
        return "This `# archlint: ignore` silences no finding: remove it."
    parts = []
    if unused:
        parts.append(f"{_codes(unused)} silence{'s' if len(unused) == 1 else ''} no finding on this line")
    if unknown:
        parts.append(f"{_codes(unknown)} {'is not an archlint rule' if len(unknown) == 1 else 'are not archlint rules'}")
    return f"Unused suppression: {' and '.join(parts)}; remove {'it' if len(unused) + len(unknown) == 1 else 'them'}."


def _codes(codes: list[str]) -> str:
    return ", ".join(f"`{c}`" for c in codes)


def _removal(d: Suppression, drop: set[str]) -> Fix:
    """Drop the codes from the directive; the directive when none is left; the comment when nothing is left."""
    keep = [c for c in d.codes or () if c not in drop]
    if keep:
        rebuilt = f"# archlint: ignore[{', '.join(keep)}]" if d.kind == "archlint" else f"# noqa: {', '.join(keep)}"
        if d.kind == "archlint" and d.reason:
            rebuilt += f" -- {d.reason}"
            if d.end < len(d.comment):
                rebuilt += " "  # the reason ran up to the next directive
        comment = d.comment[: d.start] + rebuilt + d.comment[d.end :]
    else:
        comment = (d.comment[: d.start] + d.comment[d.end :]).strip()
    rest = comment.strip()
    if rest and rest.lstrip("#").strip():
        edit = Edit(Span(d.line, d.column, d.line, d.end_column), rest if rest.startswith("#") else f"# {rest}")
        return Fix("Remove the unused codes from the suppression.", (edit,))
    if d.own_line:
        return Fix("Remove the unused suppression comment.", (Edit(Span(d.line, 1, d.line + 1, 1), ""),))
    edit = Edit(Span(d.line, d.column - d.leading, d.line, d.end_column), "")
    return Fix("Remove the unused suppression comment.", (edit,))
