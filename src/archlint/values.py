"""What an expression is known to be, after cross-file resolution.

``Unknown`` is a first-class answer: rules turn it into an "unverifiable" note
instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from archlint.collect.facts import Call, Expr
from archlint.model import Span


class Ctx(NamedTuple):
    """Where an expression is evaluated: a module and a scope qualname ("" = module).

    A named tuple, not a frozen dataclass: every memo of the index and the analyses is keyed by one,
    and a tuple hashes and compares in C (the dataclass's Python ``__hash__`` was a few percent of a run).
    """

    module: str
    scope: str = ""


class Value:
    """Base class of resolved values."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Const(Value):
    value: object


@dataclass(frozen=True, slots=True)
class SeqValue(Value):
    kind: str
    items: tuple[Value, ...]

    def consts(self) -> list[object] | None:
        if all(isinstance(i, Const) for i in self.items):
            return [i.value for i in self.items if isinstance(i, Const)]
        return None


@dataclass(frozen=True, slots=True)
class Module(Value):
    name: str
    internal: bool


@dataclass(frozen=True, slots=True)
class Symbol(Value):
    """Something defined outside the project, by its dotted name: ``fastapi.APIRouter``."""

    fqn: str


@dataclass(frozen=True, slots=True)
class _Defined(Value):
    """Something defined in the project, by module and qualified name."""

    module: str
    qualname: str

    @property
    def fqn(self) -> str:
        return f"{self.module}.{self.qualname}"


@dataclass(frozen=True, slots=True)
class ClassRef(_Defined):
    """A class defined in the project."""


@dataclass(frozen=True, slots=True)
class FuncRef(_Defined):
    """A function or method defined in the project."""


@dataclass(frozen=True, slots=True)
class Instance(Value):
    """The result of calling a class or an external callable, identified by its call site."""

    type: ClassRef | Symbol
    call: Call
    ctx: Ctx

    @property
    def type_fqn(self) -> str:
        return self.type.fqn

    @property
    def key(self) -> tuple[str, Span]:
        return (self.ctx.module, self.call.span)


@dataclass(frozen=True, slots=True)
class ParamValue(Value):
    """A function parameter: its value is the caller's; its annotation is known."""

    module: str
    function: str
    name: str
    annotation: Expr | None


@dataclass(frozen=True, slots=True)
class TypeForm(Value):
    """A subscripted type such as ``Annotated[X, Depends(f)]`` or ``list[User]``."""

    origin: Value
    args: tuple[Value, ...]
    #: The unevaluated arguments with the context they were written in.
    exprs: tuple[Expr, ...]
    ctx: Ctx


@dataclass(frozen=True, slots=True)
class Unknown(Value):
    reason: str
    module: str = ""
    span: Span | None = None


def fqn_of(value: Value) -> str | None:
    """The dotted name of a symbol, class, function or module value."""
    if isinstance(value, (Symbol, ClassRef, FuncRef)):
        return value.fqn
    if isinstance(value, Module):
        return value.name
    return None
