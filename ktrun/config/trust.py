"""The trust boundary for configs: what a YAML file or an override may ask of ktrun, and no more.

`ktrun check` runs on pull requests from people nobody vetted, so a config is data and nothing
else. It may not make Hydra instantiate or call anything (`_target_`, Hydra's callbacks, logging
handlers, sweepers), read the environment or files through resolvers (`oc.env`, `oc.decode`,
`hydra:`), load files outside its config trees, or make the parser do unbounded work. Each rule is
a `Problem` with a code, a location and a hint; `ktrun.config.hydra_compat` applies them to every file
Hydra loads, before Hydra merges or instantiates anything, and `compose` to the overrides.

Pure functions over plain data: no Hydra, no TensorFlow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath, Location, format_path
from ktrun.problems import ConfigError, Problem

#: A config file larger than this is refused before it is parsed (ktrun's largest is ~3 KB).
MAX_FILE_BYTES = 1 << 20
#: Nesting depth of mappings and lists in one file.
MAX_DEPTH = 64
#: Nodes in a file once every YAML alias is expanded (what OmegaConf will copy): stops alias bombs.
MAX_NODES = 100_000

#: `hydra.*` keys a user config may set: where runs and sweeps write, and how many jobs at once.
HYDRA_KEYS: frozenset[KeyPath] = frozenset(
    {
        ("hydra", "run", "dir"),
        ("hydra", "sweep", "dir"),
        ("hydra", "sweep", "subdir"),
        ("hydra", "launcher", "n_jobs"),
    }
)
#: Config groups of Hydra's a user config may choose an option of: only launchers ktrun ships.
HYDRA_CHOICES: Mapping[str, frozenset[str]] = {"hydra/launcher": frozenset({"basic", "joblib"})}
#: Resolvers a user config may call: `now` only makes a timestamp (Hydra's run directories).
RESOLVERS = frozenset({"now"})
#: Keys by which Hydra's `instantiate` imports and calls what a config names.
TARGET_KEYS = frozenset({"_target_", "_call_", "_partial_", "_args_", "_recursive_", "_convert_"})

_HYDRA_HINT = (
    "a config may set only "
    + ", ".join(format_path(k) for k in sorted(HYDRA_KEYS))
    + " and `hydra/launcher: basic | joblib`; ktrun configures the rest of Hydra itself"
)
# `${name:` starts a resolver call; `\${` is a literal; `${a.b}` is a plain interpolation.
_RESOLVER = re.compile(r"(?<!\\)\$\{\s*([^\s:{}]+)\s*:")


# ---------------------------------------------------------------- YAML size, depth and aliases


def yaml_limits(text: str, file: str) -> Problem | None:
    """The first limit `text` crosses, or None. Reads YAML events only: linear in the text.

    An alias is cheap for the parser but OmegaConf copies what it names, so ten lines of
    `b: [*a, *a, ...]` become billions of nodes. Each anchored node's expanded size is counted
    as the events stream by, and the file is refused as soon as the total passes `MAX_NODES`.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        return pb.error(
            "yaml-too-large",
            (),
            f"the config file is {size:,} bytes (at most {MAX_FILE_BYTES:,})",
            "a ktrun config is a few kilobytes: split it, or move data into a data file",
        ).located(Location(file, 1, 1))
    anchors: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, expanded nodes so far, start line]
    total = 0
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for event in yaml.parse(text, Loader=loader):
            line = event.start_mark.line + 1 if event.start_mark else 1
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append([event.anchor, 1, line])
                if len(stack) > MAX_DEPTH:
                    return pb.error(
                        "yaml-too-deep",
                        (),
                        f"the config nests more than {MAX_DEPTH} levels deep",
                        "flatten the structure: no ktrun key is nested that deeply",
                    ).located(Location(file, line, 1))
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, n, _ = stack.pop()
            elif isinstance(event, yaml.ScalarEvent):
                anchor, n = event.anchor, 1
            elif isinstance(event, yaml.AliasEvent):
                anchor, n = None, anchors.get(event.anchor or "", 1)
            else:
                continue
            if anchor:
                anchors[anchor] = n
            if stack:
                stack[-1][1] += n
            total += n if not stack else 0
            if (stack and stack[-1][1] > MAX_NODES) or total > MAX_NODES:
                return pb.error(
                    "yaml-alias-bomb",
                    (),
                    f"expanding this file's YAML aliases (*name) would make more than {MAX_NODES:,} values",
                    "write the values out, or use fewer nested aliases; a config never needs that many",
                ).located(Location(file, line, 1))
    except yaml.YAMLError:
        return None  # a syntax error: Hydra's own load reports it with its line
    return None


def read_config_text(path: str, shown: str) -> str:
    """A config file's text, or the problem that stops it being read: not a regular file (a
    FIFO would block the reader forever), unreadable, not UTF-8, or over the YAML limits."""
    import os
    import stat

    def refuse(code: str, why: str, hint: str, line: int = 1) -> ConfigError:
        return ConfigError([pb.error(code, (), f"{shown} {why}", hint).located(Location(shown, line, 1))])

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise refuse("config-file-unreadable", "is not a regular file", "a config must be a .yaml file")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise refuse(
            "config-file-unreadable", f"cannot be read: {e.strerror}", "check the file's permissions"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise refuse(
            "config-file-unreadable", f"is not UTF-8 text (byte {e.start})", "save the file as UTF-8", line
        ) from None
    limit = yaml_limits(text, shown)
    if limit is not None:
        raise ConfigError([limit])
    return text


# ---------------------------------------------------------------- what a config may ask for


@dataclass(frozen=True)
class ConfigFileView:
    """One file as Hydra loaded it: where it is, what it is, and its content as plain data."""

    file: str  # as shown to the user
    config_path: str  # e.g. "experiment/mnist_cnn" (its group is the part before the last /)
    package: str | None  # the `# @package` header, if any
    content: Any  # the parsed YAML, unresolved
    lines: Mapping[KeyPath, Location]

    @property
    def prefix(self) -> KeyPath:
        """Where the file's keys land in the composed config. Since Hydra 1.1 a `# @package`
        header is absolute; without one a file lands in its group (the primary at the root)."""
        group = self.config_path.rpartition("/")[0]
        package = self.package if self.package is not None else group.replace("/", ".")
        package = package.removeprefix("_global_").lstrip(".")
        return tuple(package.split(".")) if package else ()


def file_problems(view: ConfigFileView) -> list[Problem]:
    """Everything in one user config file that would make ktrun or Hydra run code or read data."""
    found: list[Problem] = []
    group = view.config_path.rpartition("/")[0]
    if group == "hydra" or group.startswith("hydra/"):
        found.append(
            pb.error(
                "config-hydra-refused",
                (),
                f"`{view.config_path}` is a config of Hydra's own group `{group}`; user config trees "
                "cannot provide Hydra's configs",
                _HYDRA_HINT,
            ).located(Location(view.file, 1, 1))
        )
        return found
    content = view.content if isinstance(view.content, dict) else {}
    for entry, index in _defaults_entries(content.get("defaults")):
        found += _defaults_problem(entry, index, view)
    body = {k: v for k, v in content.items() if k != "defaults"}
    top = Location(view.file, 1, 1)
    found += _content_problems(body, view.prefix, (), lambda path: view.lines.get(path) or top)
    return found


def _content_problems(
    node: Any, prefix: KeyPath, path: KeyPath, locate: Callable[[KeyPath], Location]
) -> list[Problem]:
    """`_target_` anywhere, `hydra.*` beyond the allowlist (once per subtree), resolvers in values.
    `path` is relative to where `node` was written (a file, or the override's key) and `locate`
    says where that is."""
    full = (*prefix, *path)
    where = locate(path)
    if path and path[-1] in TARGET_KEYS:
        return [_target_problem(full, where)]
    above = isinstance(node, dict) and any(k[: len(full)] == full for k in HYDRA_KEYS)
    if full[:1] == ("hydra",) and full not in HYDRA_KEYS and not above:
        return [_hydra_key_problem(full, where)]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _content_problems(v, prefix, (*path, str(k)), locate)]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _content_problems(v, prefix, (*path, i), locate)]
    return resolver_problems(node, full, where) if isinstance(node, str) else []


def _target_problem(path: KeyPath, where: Location) -> Problem:
    return pb.error(
        "config-target-refused",
        path,
        f"`{path[-1]}` asks Hydra to import and call Python code; ktrun configs are data",
        "remove it; to use a class of your own, declare it under `custom_objects` "
        "(see the README's custom objects section)",
    ).located(where)


def override_problems(key: str, value: Any, override: str) -> list[Problem]:
    """The same rules for one command-line override (`hydra.run.dir=...`, `a.b=${oc.env:X}`)."""
    where = Location(override=override)
    path: KeyPath = tuple(key.lstrip("+~").split("."))
    found: list[Problem] = []
    if "/" in key and key.lstrip("+~/").startswith("hydra/"):
        group = key.lstrip("+~/").partition("@")[0]
        if str(value) not in HYDRA_CHOICES.get(group, frozenset()):
            found.append(_hydra_choice_problem(group, str(value), where))
        return found
    if path == ("hydra", "searchpath"):  # ktrun's own workers pass their config trees this way
        return _searchpath_problems(value, where)
    if any(part in TARGET_KEYS for part in path[:-1]):
        return [_target_problem(path, where)]
    return _content_problems(value, (), path, lambda _: where)  # the same walk as a file's


def resolver_problems(text: str, path: KeyPath, where: Location) -> list[Problem]:
    """`${oc.env:HOME}`, `${oc.decode:...}`, `${hydra:...}`: refused; `${a.b}` stays."""
    names = sorted({m.group(1) for m in _RESOLVER.finditer(text)} - RESOLVERS)
    if not names:
        return []
    return [
        pb.error(
            "config-resolver-refused",
            path,
            f"the resolver `{names[0]}` in {format_path(path)} is refused: resolvers in a config could "
            "read the environment or files",
            "write the value itself, or refer to another key with `${section.key}`; pass secrets "
            "and machine-specific paths as command-line overrides",
        ).located(where)
    ]


def _hydra_key_problem(path: KeyPath, where: Location) -> Problem:
    return pb.error(
        "config-hydra-refused",
        path,
        f"`{format_path(path)}` is a Hydra setting ktrun does not let a config change",
        _HYDRA_HINT,
    ).located(where)


def _hydra_choice_problem(group: str, option: str, where: Location, path: KeyPath | None = None) -> Problem:
    allowed = sorted(HYDRA_CHOICES.get(group, frozenset()))
    return pb.error(
        "config-hydra-refused",
        tuple(group.split("/")) if path is None else path,
        f"`{group}: {clip(option)}` chooses a Hydra config ktrun does not allow",
        f"choose one of: {', '.join(allowed)}" if allowed else _HYDRA_HINT,
    ).located(where)


def _searchpath_problems(value: Any, where: Location) -> list[Problem]:
    """`hydra.searchpath` on the command line: local directories only (ktrun's own workers use it)."""
    entries = value if isinstance(value, list) else [value]
    bad = [str(e) for e in entries if not (isinstance(e, str) and e.startswith("file://"))]
    if not bad:
        return []
    return [
        pb.error(
            "config-hydra-refused",
            ("hydra", "searchpath"),
            f"hydra.searchpath entry {clip(bad[0])} is not a local directory (file://...)",
            "use --config-dir DIR for a directory of your own configs",
        ).located(where)
    ]


def _defaults_entries(defaults: Any) -> Iterator[tuple[tuple[str, str], int]]:
    """(`group` as written, option) for each defaults entry that chooses an option of a group."""
    if not isinstance(defaults, list):
        return
    for i, entry in enumerate(defaults):
        if isinstance(entry, dict):
            for key, value in entry.items():
                yield (str(key), str(value)), i
        elif isinstance(entry, str):
            yield (entry, ""), i


def _defaults_problem(entry: tuple[str, str], index: int, view: ConfigFileView) -> list[Problem]:
    key, option = entry
    group = key.removeprefix("override").removeprefix("optional").strip().lstrip("/").partition("@")[0]
    where = view.lines.get(("defaults", index)) or Location(view.file, 1, 1)
    found: list[Problem] = []
    is_hydra = group == "hydra" or group.startswith("hydra/")
    if is_hydra and option not in HYDRA_CHOICES.get(group, frozenset()):
        found.append(_hydra_choice_problem(group, option or key, where, ("defaults", index)))
    for text in (key, option):
        absolute = text is option and text.startswith("/")  # a group may start with `/`; an option not
        if ".." in Path(text).parts or absolute or text.startswith("~") or re.match(r"^[A-Za-z]:[\\/]", text):
            found.append(
                pb.error(
                    "config-path-escape",
                    ("defaults", index),
                    f"the defaults entry `{clip(key)}: {clip(option)}` reaches outside the config tree",
                    "name a config inside the tree, as group/option (no `..`, no absolute path)",
                ).located(where)
            )
            break
    return found


def resolved_inside(path: str, root: str | Path) -> str | None:
    """`path` with `~`, `..` and symbolic links resolved, if that lands inside `root` (also
    resolved); None if it leads out. Config trees and `ktrun check`'s data reads both obey it."""
    import os

    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.expanduser(path))
    return real if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep) else None


def escape_problem(file: str, config_path: str) -> Problem:
    """A config path that resolves (through `..` or a symbolic link) outside its tree."""
    return pb.error(
        "config-path-escape",
        (),
        f"`{clip(config_path)}` resolves outside the config tree (through `..` or a symbolic link)",
        "configs are read only from ktrun's conf/ and --config-dir trees; copy the file into the tree",
    ).located(Location(file, None))


# ---------------------------------------------------------------- text that is safe to print

# C0 and C1 controls, DEL, and the Unicode controls that reorder or hide text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
#: Longest value a message echoes in full.
CLIP = 80


def clip(value: object, limit: int = CLIP) -> str:
    """A user value as a message may echo it: at most `limit` characters, every character that
    does not print (controls, line breaks, bidi overrides) escaped as `\\x1b`, `\\u202e`.

    Only the head of a huge value is looked at: a 10 MB cell costs what a short one does.
    """
    text = str(value)[: limit * 2]
    escaped = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    if len(escaped) > limit or len(str(value)) > len(text):
        return escaped[: limit - 1] + "…"
    return escaped


def safe(text: str) -> str:
    """No control characters: escape sequences, carriage returns and bidi overrides are shown
    as `\\xNN` / `\\uNNNN`, so a config cannot move the cursor, recolour or hide output."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def safe_output(text: str) -> str:
    """Whole output for a terminal or a CI log: controls escaped and no line that a CI runner
    would read as a command (GitHub Actions runs lines starting with `::`, after indentation)."""
    lines = safe(text.replace("\r\n", "\n")).split("\n")
    return "\n".join(_defuse(line) for line in lines)


def _defuse(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith("::"):
        return line[: len(line) - len(stripped)] + ": :" + stripped[2:]
    return line
