"""Reading a config's YAML with bounds, so a hostile or broken file is one error line, never a
traceback or a hang (found by tests/fuzz/test_fuzz_config.py).

PyYAML's safe loader already refuses tags that build objects. What it allows that would hurt
the config checks that walk the document: an alias that contains itself (``a: &x [*x]``: a
RecursionError in any walk), aliases that expand exponentially ("billion laughs": nine lines
that stand for a billion values, which a walk or ``repr`` of an error would expand), and
nesting deep enough to overflow PyYAML's own recursive composer.
"""

from __future__ import annotations

from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

MAX_VALUES = 100_000  # values in the document with every alias expanded; a real config has hundreds
MAX_DEPTH = 64  # nesting; a real config has under 10


class YamlRefused(Exception):
    """The document cannot be used; ``line`` is 1-based, or None."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def load(text: str) -> tuple[yaml.Node | None, Any]:
    """The composed node tree (for line numbers) and the loaded data; YamlRefused otherwise."""
    try:
        _check_depth(text)  # before composing: PyYAML's composer recurses once per level
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _check(node)
        return node, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlRefused(f"not valid YAML: {problem}", mark.line + 1 if mark is not None else None) from None
    except RecursionError:
        raise YamlRefused(f"not usable YAML: nested more than {MAX_DEPTH} levels deep") from None


def _check_depth(text: str) -> None:
    """Refuse nesting over MAX_DEPTH from the parser's events (the parser does not recurse)."""
    depth = 0
    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlRefused(f"not usable YAML: nested more than {MAX_DEPTH} levels deep", ev.start_mark.line + 1)
        elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _check(root: yaml.Node) -> None:
    """Refuse self-containing aliases, deep nesting and an expanded size over MAX_VALUES."""
    sizes: dict[int, int] = {}  # expanded size of each node already measured (aliases share nodes)

    def size(node: yaml.Node, depth: int, open_nodes: set[int]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise YamlRefused("not usable YAML: an alias refers to a value that contains it", node.start_mark.line + 1)
        if depth > MAX_DEPTH:
            raise YamlRefused(f"not usable YAML: nested more than {MAX_DEPTH} levels deep", node.start_mark.line + 1)
        total = 1
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            open_nodes.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
            for child in children:
                total += size(child, depth + 1, open_nodes)
                if total > MAX_VALUES:
                    raise YamlRefused(
                        f"not usable YAML: its aliases expand to over {MAX_VALUES} values", node.start_mark.line + 1
                    )
            open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root, 0, set())
