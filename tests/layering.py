"""Which package of Caviar may import which, written down once, and the checker that reads
every import in the source (function-level and type-only ones included) with `ast`.

A module belongs to a unit: a package of `orchestrator/` or `workers/` (`orchestrator.core`,
`workers.mlp`), or a top-level package (`caviar_common`, `caviar`, `benchmarks`; the modules
directly in `workers/` are the unit `workers`). `LAYERS` says which other units each unit
may import; `LIBRARIES` which units may import each heavy third-party library (imports under
`if TYPE_CHECKING:` are annotations only and do not count there).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("caviar_common", "workers", "orchestrator", "caviar", "benchmarks")

_WORKERS = {"caviar_common", "workers", "workers.mlp", "workers.data"}
_BELOW_CORE = {"orchestrator.search", "orchestrator.schedulers", "orchestrator.storage"}
_CORE = {"caviar_common", "workers", *_BELOW_CORE, "orchestrator.core"}
_READ = {*_CORE, "orchestrator.sweepfile", "orchestrator.results"}
_ORCHESTRATOR = {
    *_WORKERS,
    *_READ,
    "orchestrator.report",
    "orchestrator.display",
    "orchestrator.cluster",
    "orchestrator.execution",
    "orchestrator.panda",
}

# unit -> the units it may import (its own modules always)
LAYERS: dict[str, set[str]] = {
    "caviar_common": set(),
    "workers.data": {"caviar_common"},
    "workers.mlp": {"caviar_common", "workers.data"},
    "workers": {"caviar_common", "workers.data", "workers.mlp"},
    "orchestrator.search": {"caviar_common"},
    "orchestrator.schedulers": {"caviar_common"},
    "orchestrator.storage": {"caviar_common"},
    "orchestrator.core": _CORE - {"orchestrator.core"},
    "orchestrator.sweepfile": _WORKERS | _CORE,
    "orchestrator.results": _WORKERS
    | {
        "orchestrator.core",
        "orchestrator.search",
        "orchestrator.storage",
        "orchestrator.sweepfile",
    },
    "orchestrator.display": {"caviar_common", "orchestrator.core", "orchestrator.search"},
    "orchestrator.report": _READ | {"orchestrator.schedulers"},
    "orchestrator.panda": _WORKERS | {"orchestrator.report"},
    "orchestrator.cluster": {*_CORE, "orchestrator.sweepfile"},
    "orchestrator.execution": _ORCHESTRATOR - {"orchestrator.execution", "orchestrator.panda"},
    "orchestrator.cli": _ORCHESTRATOR,
    "orchestrator": {"orchestrator.results"},  # orchestrator/__init__.py: load_run
    "caviar": _ORCHESTRATOR - {"orchestrator.panda"},
    "benchmarks": _ORCHESTRATOR | {"caviar", "orchestrator.cli"},
}

# library -> the units that may import it
LIBRARIES: dict[str, set[str]] = {
    "ray": {"orchestrator.execution", "orchestrator.cluster", "workers", "benchmarks"},
    "yaml": {"orchestrator.sweepfile"},
    "matplotlib": {"orchestrator.report", "benchmarks"},
    "rich": {"orchestrator.display", "orchestrator.report"},
    "IPython": {"orchestrator.display"},
    "pandas": {
        "orchestrator.results",
        "orchestrator.report",
        "orchestrator.display",
        "workers.data",
        "caviar",
        "benchmarks",
    },
    "optuna": {"orchestrator.search", "benchmarks"},
    "sklearn": {"workers.data", "benchmarks"},
    "torch": {"benchmarks"},
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module (or package) imported
    line: int
    typing_only: bool  # under `if TYPE_CHECKING:`


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str, root: Path) -> str:
    """The unit a module belongs to: `orchestrator.core`, `workers.mlp`, `caviar`, ..."""
    parts = module.split(".")
    grouped = parts[0] in ("orchestrator", "workers") and len(parts) > 1
    if grouped and (root / parts[0] / parts[1]).is_dir():
        return f"{parts[0]}.{parts[1]}"
    return parts[0]


def _typing_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(root: Path, path: Path, known: set[str]) -> Iterator[Import]:
    """Every import in `path`, at any depth; `from p import m` of a module m names p.m."""
    module = module_name(root, path)
    tree = ast.parse(path.read_text(), filename=str(path))
    typing = _typing_lines(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{alias.name}" for alias in node.names]
            targets = [s for s in subs if s in known] or [node.module]
        else:
            continue
        for target in targets:
            yield Import(module, target, node.lineno, node.lineno in typing)


def source_files(root: Path) -> list[Path]:
    return sorted(p for package in PACKAGES for p in (root / package).rglob("*.py"))


def all_imports(root: Path) -> list[Import]:
    files = source_files(root)
    known = {module_name(root, p) for p in files}
    return [imp for p in files for imp in imports(root, p, known)]


def layer_violations(root: Path) -> list[str]:
    """Imports of a unit that the table does not allow, as 'module:line imports target'."""
    found = []
    for imp in all_imports(root):
        top = imp.target.split(".")[0]
        unit = unit_of(imp.module, root)
        if top in PACKAGES:
            target = unit_of(imp.target, root)
            if target != unit and target not in LAYERS[unit]:
                found.append(f"{imp.module}:{imp.line} imports {imp.target} ({unit} -> {target})")
        elif top == "tests":  # the suite is no library: nothing of the source may need it
            found.append(f"{imp.module}:{imp.line} imports {imp.target} (tests)")
        elif top in LIBRARIES and not imp.typing_only and unit not in LIBRARIES[top]:
            found.append(f"{imp.module}:{imp.line} imports {top} ({unit} may not)")
    return found


def cycles(root: Path) -> list[list[str]]:
    """Import cycles between modules (a package's `__init__` is the package's module)."""
    graph: dict[str, set[str]] = {}
    for imp in all_imports(root):
        if imp.target.split(".")[0] in PACKAGES and imp.target != imp.module:
            graph.setdefault(imp.module, set()).add(imp.target)
    return _strongly_connected(graph)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    print("\n".join(layer_violations(here)) or "no layer violations")
    print("\n".join(" <-> ".join(c) for c in cycles(here)) or "no cycles")
    sys.exit(0)
