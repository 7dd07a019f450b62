"""What a rule is: one small class with its metadata, docs, examples and ``check``.

In the spirit of Fixit 2: the class docstring is the documentation (its first
paragraph says what the rule does, ``## Why is this bad?`` why), ``INVALID``
and ``VALID`` are examples that double as tests and as the Example / Use
instead sections of ``archlint explain``. Numbers come from the pack through
the typed ``Options`` dataclass of the rule's standard.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from archlint.globs import fnmatch_any
from archlint.model import Finding, Related, RuleInfo, Severity, Span
from archlint.pack import format_value, option_fields
from archlint.project import Project

if TYPE_CHECKING:
    import libcst as cst

    from archlint.fixes import FixSource, Rewrite

__all__ = ["Project", "Rule"]

#: The dataclass of a standard's options (``S5Options``); ``None`` for a rule without options.
OptionsT = TypeVar("OptionsT")

#: A rule example: the source of ``app/main.py``, or the project's files by path.
Example = str | dict[str, str]

_EXPECT = re.compile(r"\s*# expect: [A-Z0-9, ]+$", re.M)
HELP_URI = "https://github.com/archlint/archlint/blob/main/README.md#rules"


def probe_match(probes: Iterable[str], path: str) -> bool:
    path = (path.rstrip("/") or "/").lower()
    return fnmatch_any(path, probes)


class Rule(Generic[OptionsT]):
    """Base class of every archlint rule: ``class MyRule(Rule[S5Options])`` types ``self.options``."""

    id: ClassVar[str] = ""
    name: ClassVar[str] = ""  # PascalCase
    standard: ClassVar[str | None] = None
    severity: ClassVar[Severity] = Severity.ERROR
    precision: ClassVar[str] = "high"
    security_severity: ClassVar[float | None] = None
    tags: ClassVar[tuple[str, ...]] = ()
    #: Dataclass of the standard's options (shared by the standard's rules).
    Options: ClassVar[type | None] = None
    #: The rule reads only ``Project.change_set`` (S19): its examples run as a change set.
    change_set_only: ClassVar[bool] = False
    #: The rule judges the filtering itself (AL002): it runs after suppressions are applied.
    after_filter: ClassVar[bool] = False
    VALID: ClassVar[list[Example]] = []
    INVALID: ClassVar[list[Example]] = []
    #: Fix examples, tests too: (before, after) sources of ``app/main.py`` (or dicts of files).
    #: A third item, "safe" or "unsafe", is the fix's own applicability when it differs from the rule's.
    FIXES: ClassVar[list[tuple[Example, Example] | tuple[Example, Example, str]]] = []
    #: "safe" fixes keep the program's meaning (``--fix``); "unsafe" ones need ``--unsafe-fixes``.
    fix_applicability: ClassVar[str] = "safe"
    #: What the fix does, for ``--show-fixes`` and SARIF (a sentence).
    fix_message: ClassVar[str] = ""

    def __init__(self, options: OptionsT, severity: Severity | None = None) -> None:
        self.options: OptionsT = options
        self.effective_severity = severity or self.severity

    # ------------------------------------------------------------- running
    def check(self, project: Project) -> Iterable[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    def finding(
        self,
        path: str,
        span: Span,
        message: str,
        *,
        severity: Severity | None = None,
        related: Iterable[Related] = (),
    ) -> Finding:
        return Finding(
            rule_id=self.id,
            message=message,
            path=path,
            span=span,
            severity=severity or self.effective_severity,
            standard=self.standard,
            related=tuple(related),
        )

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        """The file's new text (or tree) with this finding fixed; None when it cannot be fixed safely here.

        ``source`` is an ``archlint.fixes.FixSource``: the file parsed with LibCST.
        Only rules with ``FIXES`` are asked.
        """
        return None

    # ---------------------------------------------------------------- docs
    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        doc = inspect.cleandoc(cls.__doc__ or "")
        sections: dict[str, str] = {}
        current = "What it does"
        lines: list[str] = []
        for line in doc.splitlines():
            if line.startswith("## "):
                sections[current] = "\n".join(lines).strip()
                current, lines = line[3:].strip(), []
            else:
                lines.append(line)
        sections[current] = "\n".join(lines).strip()
        return sections

    @classmethod
    def summary(cls) -> str:
        what = cls.doc_sections().get("What it does", "")
        first = re.split(r"(?<=\.)\s", what.replace("\n", " "), maxsplit=1)[0].strip()
        return first if first.endswith(".") else first + "."

    @classmethod
    def example_text(cls, examples: list[Example]) -> str:
        if not examples:
            return ""
        example = examples[0]
        if isinstance(example, str):
            return _EXPECT.sub("", inspect.cleandoc(example))
        return "\n\n".join(f"# {path}\n{_EXPECT.sub('', inspect.cleandoc(code))}" for path, code in example.items())

    @classmethod
    def options_markdown(cls, options: Any) -> str:
        fields = option_fields(cls.Options)
        if not fields:
            return "None."
        lines = []
        for key, fld in fields.items():
            current = f" Current value: {format_value(getattr(options, fld.name))}." if options is not None else ""
            lines.append(f"- `{key}` ([standards.{cls.standard}]): {fld.metadata.get('doc', '')}{current}")
        return "\n".join(lines)

    @classmethod
    def info(cls, options: Any = None, severity: Severity | None = None) -> RuleInfo:
        sections = cls.doc_sections()
        tags = tuple(cls.tags) + ((cls.standard,) if cls.standard else ())
        return RuleInfo(
            id=cls.id,
            name=cls.name,
            standard=cls.standard,
            severity=severity or cls.severity,
            summary=cls.summary(),
            what=sections.get("What it does", ""),
            why=sections.get("Why is this bad?", ""),
            example=sections.get("Example") or cls.example_text(cls.INVALID),
            use_instead=sections.get("Use instead") or cls.example_text(cls.VALID),
            options=cls.options_markdown(options),
            precision=cls.precision,
            security_severity=cls.security_severity,
            tags=tags,
            help_uri=f"{HELP_URI}",
        )
