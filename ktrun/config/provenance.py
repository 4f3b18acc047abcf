"""Where each config value came from: file and line, or the command-line override that set it.

Hydra composes many YAML files and overrides into one config and forgets where each value came
from. Every ktrun error must say where to fix the problem, so this module re-reads the same files
with a line-tracking YAML parser and replays Hydra's merge order over the key paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

Key = str | int
KeyPath = tuple[Key, ...]


def format_path(path: KeyPath) -> str:
    """Dotted form, the same one Hydra overrides use (`model.layers.2.kernel_size`)."""
    return ".".join(str(p) for p in path) if path else "<root>"


@dataclass(frozen=True)
class Location:
    """A place a value was set: `file:line`, or a command-line override."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    override: str | None = None

    def __str__(self) -> str:
        if self.override is not None:
            return f"override `{self.override}`"
        if self.file is None:
            return "<unknown>"
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}"


def display_path(path: Path) -> str:
    """Relative to the working directory when possible: what editors and CI annotations expect."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class FileLines:
    """Key paths of one YAML file with their lines, and which of them hold lists."""

    lines: dict[KeyPath, Location]
    lists: set[KeyPath]


def _walk(node: yaml.Node, path: KeyPath, file: str, out: FileLines) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key: Key = key_node.value
            child = (*path, key)
            out.lines[child] = Location(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, child, file, out)
    elif isinstance(node, yaml.SequenceNode):
        out.lists.add(path)
        for i, item in enumerate(node.value):
            child = (*path, i)
            out.lines[child] = Location(file, item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, child, file, out)


def _file_lines(text: str, file: str, package: KeyPath = ()) -> FileLines:
    out = FileLines({}, set())
    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if node is not None:
        _walk(node, package, file, out)
    if package:
        out.lines.setdefault(package, Location(file, 1, 1))
    return out


def read_file_lines(path: Path, package: KeyPath = ()) -> FileLines:
    """Line of every key in `path`, prefixed by the package the file is merged into."""
    return _file_lines(path.read_text(encoding="utf-8"), display_path(path), package)


def lines_of(text: str, file: str) -> dict[KeyPath, Location]:
    """Line of every key in one YAML text (a syntax error leaves none: Hydra reports it)."""
    try:
        return _file_lines(text, file).lines
    except yaml.YAMLError:
        return {}


@dataclass
class SourceMap:
    """Key path → where its value was last set, following Hydra's merge order."""

    entries: dict[KeyPath, Location]

    @classmethod
    def empty(cls) -> SourceMap:
        return cls({})

    def merge_file(self, lines: FileLines) -> None:
        """A later file wins; a list it sets replaces the whole earlier list, as in OmegaConf."""
        for list_path in lines.lists:
            n = len(list_path)
            for old in [p for p in self.entries if len(p) > n and p[:n] == list_path]:
                del self.entries[old]
        self.entries.update(lines.lines)

    def set_override(self, path: KeyPath, override: str) -> None:
        n = len(path)
        for old in [p for p in self.entries if len(p) > n and p[:n] == path]:
            self.entries[old] = Location(override=override)
        self.entries[path] = Location(override=override)

    def lookup(self, path: KeyPath) -> Location | None:
        """The exact key's location, or its nearest ancestor's (a missing key is set by its parent)."""
        for n in range(len(path), -1, -1):
            loc = self.entries.get(path[:n])
            if loc is not None:
                return loc
        return None
