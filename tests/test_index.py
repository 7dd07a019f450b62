"""The project index resolves across files, and says Unknown rather than guess."""

from __future__ import annotations

import textwrap

from archlint.collect import collect_source
from archlint.collect.facts import Name
from archlint.index import ProjectIndex
from archlint.model import Span
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, Symbol, TypeForm, Unknown


def index_of(files: dict[str, str]) -> ProjectIndex:
    facts = []
    for module, source in files.items():
        is_package = module.endswith(".__init__")
        name = module.removesuffix(".__init__")
        path = module.replace(".", "/") + ".py"
        facts.append(collect_source(textwrap.dedent(source), path=path, rel=path, module=name, is_package=is_package))
    return ProjectIndex(facts)


def value(index: ProjectIndex, module: str, name: str):
    return index.lookup(name, Ctx(module))


PROJECT = {
    "app.__init__": "",
    "app.core.__init__": "",
    "app.core.config": """
        import os
        from pydantic import Field
        from pydantic_settings import BaseSettings

        ROOT = "/api"

        class Base(BaseSettings):
            API_V1_STR: str = f"{ROOT}/v1"

        class Settings(Base):
            MINUTES: int = 60 * 24 * 8
            LEGACY: str = Field(default="/legacy")
            REQUIRED: str = Field(...)
            FROM_ENV: str = os.environ["FROM_ENV"]
            NO_DEFAULT: str

        settings = Settings()
        """,
    "app.core.consts": """
        from .config import ROOT as R
        V2 = "%s/v2" % R
        BOTH = R + "/x"
        """,
    "app.api.__init__": "",
    "app.api.deps": """
        from typing import Annotated
        from fastapi import Depends
        def get_user(): ...
        CurrentUser = Annotated[str, Depends(get_user)]
        """,
    "app.api.star": "from app.core.consts import *\n",
    "app.loop": "A = B\nB = A\n",
}


def test_settings_defaults_resolve_through_inheritance_and_modules():
    index = index_of(PROJECT)
    settings = value(index, "app.core.config", "settings")
    assert isinstance(settings, Instance) and settings.type == ClassRef("app.core.config", "Settings")
    assert index.attribute(settings, "API_V1_STR") == Const("/api/v1")
    assert index.attribute(settings, "MINUTES") == Const(11520)
    assert index.attribute(settings, "LEGACY") == Const("/legacy")


def test_unresolvable_is_unknown_with_a_reason():
    index = index_of(PROJECT)
    settings = value(index, "app.core.config", "settings")
    for field, reason in (("REQUIRED", "required"), ("FROM_ENV", "environment"), ("NO_DEFAULT", "no value")):
        result = index.attribute(settings, field)
        assert isinstance(result, Unknown) and reason in result.reason, (field, result)


def test_relative_imports_concatenation_and_percent_format():
    index = index_of(PROJECT)
    assert value(index, "app.core.consts", "V2") == Const("/api/v2")
    assert value(index, "app.core.consts", "BOTH") == Const("/api/x")
    assert value(index, "app.api.star", "V2") == Const("/api/v2")


def test_annotated_alias_in_another_module_keeps_its_metadata():
    index = index_of(PROJECT)
    alias = value(index, "app.api.deps", "CurrentUser")
    assert isinstance(alias, TypeForm) and alias.origin == Symbol("typing.Annotated")
    depends = alias.args[1]
    assert isinstance(depends, Instance) and depends.type_fqn == "fastapi.Depends"
    assert index.evaluate(depends.call.args[0], depends.ctx) == FuncRef("app.api.deps", "get_user")


def test_module_found_by_dotted_suffix():
    index = index_of({"backend.app.core.config": "X = 1\n", "backend.main": "from app.core.config import X\n"})
    assert value(index, "backend.main", "X") == Const(1)


def test_cycles_do_not_recurse_forever():
    index = index_of(PROJECT)
    assert isinstance(value(index, "app.loop", "A"), Unknown)
    assert isinstance(index.evaluate(Name(span=Span.point(3), id="A"), Ctx("app.loop")), Unknown)


def test_external_names_keep_their_dotted_name():
    index = index_of(
        {
            "m": "import fastapi.status as st\nfrom fastapi import status\nA = st.HTTP_201_CREATED\nB = status.HTTP_204_NO_CONTENT\n"
        }
    )
    assert value(index, "m", "A") == Const(201)
    assert value(index, "m", "B") == Const(204)


def test_a_bare_import_of_a_library_is_not_a_project_module_of_the_same_name():
    # app/core/jwt.py exists, yet `import jwt` inside the package means PyJWT: no sys.path entry
    # makes a file inside a package importable by its last segment alone.
    index = index_of(
        {
            "app.__init__": "",
            "app.core.__init__": "",
            "app.core.jwt": "def encode(): ...\n",
            "app.core.security": "import jwt\nfrom jwt import decode\nENCODE = jwt.encode\n",
        }
    )
    assert value(index, "app.core.security", "ENCODE") == Symbol("jwt.encode")
    assert value(index, "app.core.security", "decode") == Symbol("jwt.decode")
    assert index.is_project_module("app.core")
    assert not index.is_project_module("jwt")


def test_a_flat_script_folder_still_imports_its_siblings_by_bare_name():
    # backend/main.py run from backend/ imports backend/config.py as `config` (no __init__.py).
    facts = [
        collect_source("X = 1\n", path="backend/config.py", rel="backend/config.py", module="backend.config"),
        collect_source("import config\nY = config.X\n", path="backend/main.py", rel="backend/main.py", module="backend.main"),
    ]
    index = ProjectIndex(facts)
    assert value(index, "backend.main", "Y") == Const(1)


def test_a_lookup_without_a_line_does_not_answer_for_a_line():
    """The index remembers a lookup only when no line could choose: here the module binds ``URL`` twice,
    and the name read at line 3 is the first binding whichever lookup came before."""
    index = index_of({"app.__init__": "", "app.urls": 'URL = "/first"\nfirst = URL\nURL = "/second"\n'})
    facts = index.modules["app.urls"]
    read = next(a.value for a in facts.module_scope.assigns if a.targets[0] == Name(a.targets[0].span, "first"))
    unlined = index.lookup("URL", Ctx("app.urls"))
    assert index.evaluate(read, Ctx("app.urls")) == Const("/first")
    assert index.lookup("URL", Ctx("app.urls")) == unlined  # and the unlined answer stays what it was
