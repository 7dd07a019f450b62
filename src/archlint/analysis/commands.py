"""Functions that run only under a command-line command, never while the application serves.

A backend often ships its own command-line program next to the API (click or
Typer: ``@cli.command()`` over ``async def`` helpers run with
``asyncio.run``). Code that only such a command runs blocks no server's event
loop and serves no request, so the rules about request handling (a client
built per request, blocking I/O in ``async def``) do not apply to it.

A command is a function decorated by click or Typer: ``@click.command()``,
``@click.group()``, or ``.command()``/``.group()``/``.callback()`` of an
object that is itself a click group or a Typer application. A function runs
only under commands when it has traced callers and every one of them is a
command or runs only under commands; a function archlint sees no caller of is
not one of them (it may be a route handler, a task or called in ways the
index cannot trace).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archlint.collect.facts import Attr, Call, Expr, FunctionFact
from archlint.values import ClassRef, Ctx, FuncRef, Instance, Symbol, Value

if TYPE_CHECKING:
    from archlint.index import ProjectIndex

#: The libraries whose decorators make a function a command.
_CLI_LIBRARIES = ("click.", "typer.")
#: Methods of a click group or Typer application that register a command.
_REGISTERING = frozenset({"command", "group", "callback"})
_MAX_DEPTH = 4

FunctionKey = tuple[str, str]  # (module, qualname)


class CommandLine:
    """Which project functions run only under a command-line command. Built once per project."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._objects: dict[FunctionKey, bool] = {}
        self.commands: frozenset[FunctionKey] = frozenset(
            (facts.module, fn.qualname)
            for facts in index.modules.values()
            for fn in facts.functions.values()
            if self._is_command(fn, Ctx(facts.module, fn.parent or ""))
        )
        self.only: frozenset[FunctionKey] = self._closure()

    def runs_only_under_commands(self, module: str, qualname: str) -> bool:
        return (module, qualname) in self.only

    # ------------------------------------------------------------ commands
    def _is_command(self, fn: FunctionFact, ctx: Ctx, depth: int = 0) -> bool:
        return any(self._registers(decorator, ctx, depth) for decorator in fn.decorators)

    def _registers(self, decorator: Expr, ctx: Ctx, depth: int) -> bool:
        target = decorator.func if isinstance(decorator, Call) else decorator
        name = self.index.fqn(target, ctx) or ""
        if name.startswith(_CLI_LIBRARIES):
            return True
        if isinstance(target, Attr) and target.attr in _REGISTERING:
            return self._is_cli_object(self.index.evaluate(target.base, ctx), depth + 1)
        return False

    def _is_cli_object(self, value: Value, depth: int) -> bool:
        """A click group (a function decorated as one) or a Typer application (an instance of ``typer.Typer``)."""
        if depth > _MAX_DEPTH:
            return False
        if isinstance(value, Instance):
            return isinstance(value.type, Symbol) and value.type.fqn.startswith(_CLI_LIBRARIES)
        if isinstance(value, FuncRef):
            key = (value.module, value.qualname)
            if key not in self._objects:
                self._objects[key] = False  # a group decorated by itself is not one
                fn = self.index.function(value)
                parent = Ctx(value.module, fn.parent or "") if fn is not None else None
                self._objects[key] = fn is not None and parent is not None and self._is_command(fn, parent, depth)
            return self._objects[key]
        if isinstance(value, ClassRef):
            return any(isinstance(base, Symbol) and base.fqn.startswith(_CLI_LIBRARIES) for base in self.index.mro(value))
        return False

    # ------------------------------------------------------------ closure
    def _closure(self) -> frozenset[FunctionKey]:
        """Commands, and functions every traced caller of which runs only under commands."""
        only = set(self.commands)
        if not only:
            return frozenset()
        callers: dict[FunctionKey, set[FunctionKey | None]] = {}
        for facts in self.index.modules.values():
            for fn in facts.functions.values():
                key = (facts.module, fn.qualname)
                if key in only:
                    continue
                sites = self.index.calls_to(f"{facts.module}.{fn.qualname}")
                if sites:
                    callers[key] = {self._caller(ctx) for _facts, site, ctx in sites if site.context != "decorator"}
        changed = True
        while changed:
            changed = False
            for key, who in callers.items():
                if key not in only and who and all(c is not None and c in only for c in who):
                    only.add(key)
                    changed = True
        return frozenset(only)

    def _caller(self, ctx: Ctx) -> FunctionKey | None:
        """The function a call is written in; None at module or class level."""
        facts = self.index.modules.get(ctx.module)
        if facts is None or ctx.scope not in facts.functions:
            return None
        return (ctx.module, ctx.scope)
