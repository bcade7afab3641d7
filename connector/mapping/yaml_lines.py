"""Read a YAML file into plain data plus the line of every key in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connector.errors import MappingError

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LineIndex:
    """1-based line numbers of the keys and list items of one YAML document.

    ``lines[("fields", "tax", "unit")]`` is the line of that ``unit:`` key.
    """

    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """Return the line of ``loc``, or of its nearest ancestor present."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return self.lines.get((), 1)


@dataclass(frozen=True)
class Problem:
    """One problem in the mapping file, at a 1-based line."""

    line: int
    message: str


def read_yaml(path: Path) -> tuple[Any, LineIndex, list[Problem]]:
    """Parse ``path`` and index its lines, listing duplicate keys as problems.

    Raises:
        MappingError: the file cannot be read or is not valid YAML.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(
            f"cannot read the mapping file: {exc.strerror}. Check the "
            "mapping: setting in the config file.",
            path=str(path),
        ) from exc

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise MappingError(
            f"invalid YAML: {exc.problem or exc.context}. Fix the syntax "
            "(indentation, quotes, a missing colon).",
            path=str(path),
            line=line,
        ) from None
    except yaml.YAMLError as exc:
        raise MappingError(f"invalid YAML: {exc}", path=str(path)) from None
    finally:
        loader.dispose()

    index = LineIndex()
    problems: list[Problem] = []
    if node is not None:
        index.lines[()] = node.start_mark.line + 1
        _index_node(node, (), index.lines, problems)
    return data, index, problems


def _index_node(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[Problem]
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                continue
            line = key_node.start_mark.line + 1
            child = (*loc, key)
            if child in lines:
                problems.append(
                    Problem(
                        line,
                        f"key {key!r} appears twice (first on line "
                        f"{lines[child]}). Remove one of them.",
                    )
                )
                continue
            lines[child] = line
            _index_node(value_node, child, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            lines[(*loc, position)] = item.start_mark.line + 1
            _index_node(item, (*loc, position), lines, problems)
