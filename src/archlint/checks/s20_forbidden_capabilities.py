"""S20 — forbidden capabilities: no LLM SDKs, embedding generation or workflow engines in the backend."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from archlint.checks.base import Project, Rule
from archlint.collect.facts import ImportFact
from archlint.model import Finding, Severity, Span
from archlint.pack import ConfigError, option

_DYNAMIC_IMPORTS = ("importlib.import_module", "builtins.__import__")


@dataclass(frozen=True)
class S20Options:
    banned_modules: dict[str, tuple[str, ...]] = option(
        "Capability -> the modules that provide it, as dotted names whose components may be fnmatch patterns "
        "(`langchain_*` covers `langchain_openai`; `google.generativeai` covers its submodules)."
    )
    capability_names: dict[str, str] = option("Capability -> how a message names it (`direct LLM calls`).")
    capability_owners: dict[str, str] = option("Capability -> the profile that owns it (`llm-integrator`).")

    def __post_init__(self) -> None:
        for capability in self.banned_modules:
            for table in ("capability-names", "capability-owners"):
                values = self.capability_names if table == "capability-names" else self.capability_owners
                if capability not in values:
                    raise ConfigError(f"[standards.S20]: capability '{capability}' has no entry in {table}")


def banned_match(dotted: str, pattern: str) -> bool:
    """Whether a dotted module name is the pattern's module or inside it."""
    parts, wanted = dotted.split("."), pattern.split(".")
    return len(parts) >= len(wanted) and all(fnmatch.fnmatchcase(p, w) for p, w in zip(parts, wanted))


class ForbiddenCapabilityImport(Rule[S20Options]):
    """Reports imports of LLM SDKs, embedding libraries and agent-workflow engines anywhere in the backend.

    The modules are pack lists by capability (`banned-modules`), each with
    the profile that owns it. Every form counts: `import openai`,
    `import langchain_community.llms`, `from google import generativeai`,
    `from anthropic import Anthropic`, and `importlib.import_module("openai")`
    or `__import__("openai")` with a name archlint can resolve to a
    constant. Plugins and integrations are part of the backend package too.
    One import statement is one finding, however many names it imports
    (`from openai import (AsyncOpenAI, OpenAI)`), at its first banned name. The
    pack's list is of import names, kept current: provider SDKs (OpenAI, Anthropic, google-genai,
    Mistral, Cohere, Groq, Ollama, LiteLLM...), frameworks (LangChain,
    LlamaIndex, Haystack, DSPy, pydantic-ai...), embeddings
    (sentence-transformers, fastembed, Voyage...) and agent engines
    (LangGraph, CrewAI, AutoGen, the OpenAI Agents SDK `agents`, the Claude
    Agent SDK, Google ADK, smolagents...).
    A project module that happens to share a name (`app/services/openai.py`)
    is not the SDK.

    ## Why is this bad?
    The backend architect's profile forbids direct LLM calls, embedding
    generation and workflow definitions: they belong to the llm-integrator,
    the data-pipeline engineer and the workflow architect, behind their own
    boundaries, with their own cost, latency and failure handling.
    """

    id = "AL630"
    name = "ForbiddenCapabilityImport"
    standard = "S20"
    severity = Severity.ERROR
    precision = "very-high"
    tags = ("boundaries",)
    Options = S20Options
    INVALID = [
        {
            "app/services/summary.py": """
                import importlib

                from openai import AsyncOpenAI  # expect: AL630

                import langchain_community.llms  # expect: AL630

                embeddings = importlib.import_module("sentence_transformers")  # expect: AL630
            """
        }
    ]
    VALID = [
        {
            "app/services/summary.py": """
                import importlib

                from app.integrations import openai

                plugin = importlib.import_module("app.plugins.markdown")
            """,
            "app/integrations/openai.py": "BASE_URL = 'https://llm.internal'\n",
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        own = {module.split(".", 1)[0] for module in index.modules}
        memo: dict[str, str | None] = {}  # the same modules are imported all over the project
        for facts in index.files.values():
            reported: set[Span] = set()
            for imp in facts.imports:
                if imp.level > 0 or imp.stmt_span in reported:
                    continue  # relative: the project's own; one statement is one finding
                for dotted in _candidates(imp):
                    hit = self._banned(own, dotted, memo)
                    if hit is not None:
                        reported.add(imp.stmt_span)
                        yield self.finding(facts.path, imp.span, self._message(dotted, hit))
                        break
        for facts, site, ctx in index.calls_to(*_DYNAMIC_IMPORTS):
            name = index.const(site.call.arg(0, "name"), ctx)
            if not isinstance(name, str) or not name or name.startswith("."):
                continue
            hit = self._banned(own, name, memo)
            if hit is not None:
                yield self.finding(facts.path, site.call.span, self._message(name, hit))

    def _banned(self, own: set[str], dotted: str, memo: dict[str, str | None]) -> str | None:
        if dotted in memo:
            return memo[dotted]
        hit = None
        if dotted.split(".", 1)[0] not in own:  # else the project's own module
            for capability, patterns in self.options.banned_modules.items():
                if any(banned_match(dotted, p) for p in patterns):
                    hit = capability
                    break
        memo[dotted] = hit
        return hit

    def _message(self, dotted: str, capability: str) -> str:
        what = self.options.capability_names[capability]
        owner = self.options.capability_owners[capability]
        return (
            f"`{dotted}` brings {what} into the backend, which the profile forbids: that work belongs to "
            f"{owner}; call their service instead."
        )


def _candidates(imp: ImportFact) -> list[str]:
    """``import a.b`` -> [a.b]; ``from a import b`` -> [a, a.b] (b may be a submodule)."""
    if imp.name is None or imp.name == "*":
        return [imp.module]
    return [imp.module, f"{imp.module}.{imp.name}"]
