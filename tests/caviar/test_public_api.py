"""`caviar`'s public names carry reference docs (Google style: Args, Returns, Raises as
they apply), the package knows its version, and it ships `py.typed` for type checkers."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
import tomllib
from collections.abc import Callable
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import pytest

import caviar

ROOT = Path(__file__).resolve().parents[2]
SECTION = re.compile(r"^(Args|Arguments|Attributes|Returns|Yields|Raises):\s*$")


def _sections(doc: str | None) -> dict[str, list[str]]:
    """A Google-style docstring's sections, each as the names it lists (`name:` or
    `name (type):` at the section's first indent)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    indent: int | None = None
    for line in inspect.cleandoc(doc or "").splitlines():
        match = SECTION.match(line)
        if match:
            current, indent = found.setdefault(match.group(1), []), None
            continue
        if current is None or not line.strip():
            continue
        if not line.startswith(" "):  # back at the docstring's own indent: the section ended
            current = None
            continue
        here = len(line) - len(line.lstrip())
        indent = here if indent is None else indent
        entry = re.match(r"\s*(\w+)\s*(\([^)]*\))?:", line)
        if here == indent and entry:
            current.append(entry.group(1))
    return found


def _params(func: Callable[..., Any]) -> list[str]:
    return [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _returns_something(func: Callable[..., Any]) -> bool:
    annotation = inspect.signature(func).return_annotation
    return annotation not in (None, "None", inspect.Signature.empty)


def _raises_itself(func: Callable[..., Any]) -> bool:
    """Whether the function's own body has a `raise` statement."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    return any(isinstance(node, ast.Raise) for node in ast.walk(tree))


def _problems_of_function(name: str, func: Callable[..., Any], must_raise: bool) -> list[str]:
    doc = inspect.getdoc(func)
    if not doc:
        return [f"{name}: no docstring"]
    sections, problems = _sections(doc), []
    missing = [p for p in _params(func) if p not in sections.get("Args", [])]
    if missing:
        problems.append(f"{name}: Args does not name {missing}")
    if _returns_something(func) and "Returns" not in sections and "Yields" not in sections:
        problems.append(f"{name}: no Returns")
    if (must_raise or _raises_itself(func)) and not sections.get("Raises"):
        problems.append(f"{name}: no Raises")
    return problems


def _problems_of_class(name: str, cls: type) -> list[str]:
    doc = inspect.getdoc(cls)
    if not doc or doc == inspect.getdoc(cls.__mro__[1]):
        return [f"{name}: no docstring of its own"]
    sections, problems = _sections(doc), []
    if dataclasses.is_dataclass(cls):
        fields = [f.name for f in dataclasses.fields(cls)]
        missing = [f for f in fields if f not in sections.get("Attributes", [])]
        if missing:
            problems.append(f"{name}: Attributes does not name {missing}")
    elif "__init__" in vars(cls):
        missing = [p for p in _params(cls.__init__) if p not in sections.get("Args", [])]
        if missing:
            problems.append(f"{name}: Args does not name {missing}")
    for attr, member in vars(cls).items():
        if attr.startswith("_"):
            continue
        if isinstance(member, property):
            if not inspect.getdoc(member):
                problems.append(f"{name}.{attr}: no docstring")
        elif inspect.isfunction(member):
            problems += _problems_of_function(f"{name}.{attr}", member, must_raise=False)
    return problems


def _problems(name: str) -> list[str]:
    value = getattr(caviar, name)
    if inspect.isclass(value):
        return _problems_of_class(name, value)
    if inspect.isfunction(value):  # an entry point: each can refuse its input
        return _problems_of_function(name, value, must_raise=True)
    # a constant or a type alias has no docstring of its own: the package's names it
    return [] if re.search(rf"`{name}`", caviar.__doc__ or "") else [f"{name}: not described"]


@pytest.mark.parametrize("name", [n for n in caviar.__all__ if n != "__version__"])
def test_each_public_name_has_reference_docs(name: str) -> None:
    assert _problems(name) == []


def test_the_doc_check_finds_what_is_missing() -> None:
    """The other side of the test above: a bare function and a half-documented one fail."""

    def bare(sweep: str) -> int:
        return 1

    def half(sweep: str, n: int) -> int:
        """Count.

        Args:
            sweep: The sweep.
        """
        if n < 0:
            raise ValueError(n)
        return n

    assert _problems_of_function("bare", bare, must_raise=False) == ["bare: no docstring"]
    assert _problems_of_function("half", half, must_raise=False) == [
        "half: Args does not name ['n']",
        "half: no Returns",
        "half: no Raises",
    ]


def test_the_entry_points_name_the_errors_they_raise() -> None:
    for func in (caviar.run, caviar.resume, caviar.validate, caviar.sample):
        raised = _sections(inspect.getdoc(func))["Raises"]
        assert "SweepErrors" in raised, func.__name__
        for error in raised:  # each one a name the caller can catch
            assert error in {"KeyboardInterrupt", "RuntimeError"} or hasattr(caviar, error)


def test_the_version_is_the_installed_distributions() -> None:
    assert caviar.__version__ == metadata.version("caviar-tune")
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert caviar.__version__ == tomllib.load(f)["project"]["version"]


def test_the_version_falls_back_when_caviar_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(caviar.metadata, "version", missing)
    assert caviar._version() == "0+unknown"  # a PEP 440 version that sorts below any release


def test_the_package_ships_py_typed() -> None:
    assert resources.files("caviar").joinpath("py.typed").is_file()
    with (ROOT / "pyproject.toml").open("rb") as f:
        package_data = tomllib.load(f)["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["caviar"]  # so that a wheel carries it too
