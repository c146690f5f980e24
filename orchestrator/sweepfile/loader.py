"""The YAML reader of sweep files: PyYAML's SafeLoader, with a key given twice refused.

A mapping with a key twice is valid YAML to PyYAML, which keeps the last value silently;
in a sweep file that hides a mistake (two `budget:` blocks), so it is a problem naming the
key's path and both lines, raised before anything is built from the file.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from orchestrator.sweepfile.checks import SweepError, SweepErrors


class SweepLoader(yaml.SafeLoader):
    """SafeLoader that also reads 1e-4 as a number (YAML 1.1 insists on 1.0e-4), and refuses
    a key given twice in one mapping, which PyYAML would take silently, the last one winning.
    """

    def construct_document(self, node: yaml.Node) -> Any:
        twice = _duplicate_keys(self, node, "", set())
        if twice:
            raise SweepErrors(twice)
        return super().construct_document(node)


def _duplicate_keys(
    loader: yaml.SafeLoader, node: yaml.Node, path: str, walked: set[int]
) -> list[SweepError]:
    """A problem for every key given twice in a mapping under `node` (at `path`), naming
    the key's path and both lines, in the order of the file. A key merged in with `<<:`
    may be given again: that overrides it, as YAML means it to."""
    if id(node) in walked:  # an alias of a node already walked
        return []
    walked.add(id(node))
    found: list[SweepError] = []
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _duplicate_keys(loader, item, f"{path}[{i}]", walked)
    elif isinstance(node, yaml.MappingNode):
        lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                found += _duplicate_keys(loader, value_node, path, walked)
                continue
            scalar = isinstance(key_node, yaml.ScalarNode)
            key = loader.construct_object(key_node) if scalar else key_node.tag
            where = f"{path}.{key}" if path else str(key)
            line = key_node.start_mark.line + 1
            if scalar and _hashable(key):
                if key in lines:
                    on = (
                        f"on lines {lines[key]} and {line}"
                        if lines[key] != line
                        else f"both on line {line}"
                    )
                    found.append(
                        SweepError(
                            where,
                            f"is given twice in one mapping, {on}; YAML would keep only the "
                            "last, so remove one",
                        )
                    )
                lines.setdefault(key, line)
            found += _duplicate_keys(loader, value_node, where, walked)
    return found


def _hashable(key: Any) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True


SweepLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)
