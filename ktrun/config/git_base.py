"""`ktrun plan --base REF`: the config tree as it was at a git commit, and what became of one
experiment since (unchanged path, new, deleted, or renamed).

A pull request's review needs all four: a new experiment has no base to diff against, a deleted
one has nothing to plan, and a renamed one is planned against its old path (git's own rename
detection, as `git diff --find-renames` shows it). A ref git does not know, or a config tree that
is not in a git repository, is the user's to fix: `BaseError` says what, where and how.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

EXTENSIONS = (".yaml", ".yml")


class BaseError(Exception):
    """`--base` cannot be read: the message says what and where, `hint` how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class BaseTree:
    """The config tree at `ref`, extracted under a temporary directory."""

    ref: str
    root: Path  # the tree's copy (may not exist: the tree is new since `ref`)
    repo: Path  # the repository's top level
    rel: Path  # the tree, relative to `repo`

    def experiment_file(self, name: str) -> Path | None:
        return find_experiment(self.root / "experiment", name)


@dataclass(frozen=True)
class Fate:
    """What the change did to one experiment, seen from `ref`."""

    kind: Literal["same", "new", "deleted", "renamed"]
    #: The experiment's name in the base (`+experiment=` takes it): its own, or the old one.
    base_name: str | None
    #: The file in the repository, relative to its top level (the old one when renamed).
    base_path: str | None = None


def find_experiment(directory: Path, name: str) -> Path | None:
    for ext in EXTENSIONS:
        path = directory / f"{name}{ext}"
        if path.is_file():
            return path
    return None


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise BaseError(
            "--base: git is not installed (or not on PATH), so a git ref cannot be read",
            "install git, or compare with an experiment file: `--base path/to/old.yaml`",
        ) from None


def _said(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = proc.stderr.decode(errors="replace").strip().splitlines()
    return f" (git: {text[0]})" if text else ""


def extract(ref: str, tree: Path, dest: Path) -> BaseTree:
    """The config tree `tree` as it was at commit `ref`, written under `dest`."""
    if not tree.is_dir():
        raise BaseError(
            f"--base {ref}: the config tree {tree} is not a directory",
            "give the directory that holds your experiment/ folder as --config-dir",
        )
    top = _git(["rev-parse", "--show-toplevel"], tree)
    if top.returncode != 0:
        raise BaseError(
            f"--base {ref}: the config tree {tree} is not inside a git repository{_said(top)}",
            "run `ktrun plan` in a clone of the repository that holds it, or compare with an "
            "experiment file instead: `--base path/to/old.yaml`",
        )
    repo = Path(top.stdout.decode().strip()).resolve()
    verify = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], repo)
    if ref.startswith("-") or verify.returncode != 0:
        raise BaseError(
            f"--base {ref}: no commit `{ref}` in the git repository at {repo}",
            "give a branch, tag or commit that exists there (`git log --oneline -1 REF` shows one); "
            "in CI, fetch the base branch first (actions/checkout with `fetch-depth: 0`)",
        )
    rel = tree.resolve().relative_to(repo)
    root = dest / rel
    spec = f"{ref}:{rel.as_posix()}" if rel.parts else f"{ref}:"
    if _git(["cat-file", "-e", spec], repo).returncode != 0:
        return BaseTree(ref, root, repo, rel)  # the whole tree is new since `ref`
    archive = _git(["archive", "--format=tar", ref, "--", rel.as_posix() if rel.parts else "."], repo)
    if archive.returncode != 0:
        raise BaseError(
            f"--base {ref}: git could not read {rel} at `{ref}` in {repo}{_said(archive)}",
            "check that the ref is a commit of this repository (`git log --oneline -1 REF`)",
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return BaseTree(ref, root, repo, rel)


def fate(base: BaseTree, name: str, present: bool) -> Fate:
    """What became of experiment `name` (`present`: it is in the working tree) since the base."""
    old = base.experiment_file(name)
    if old is not None:
        return Fate("same" if present else "deleted", name, _repo_path(base, old))
    if not present:
        return Fate("deleted", None)  # in neither: the plan's own error says so
    renamed = _renamed_from(base, name)
    if renamed is not None:
        return Fate("renamed", renamed[0], renamed[1])
    return Fate("new", None)


def _repo_path(base: BaseTree, extracted: Path) -> str:
    return (base.rel / extracted.relative_to(base.root)).as_posix()


def _renamed_from(base: BaseTree, name: str) -> tuple[str, str] | None:
    """The old experiment name and path, when git sees this experiment's file as a rename."""
    experiments = (base.rel / "experiment").as_posix()
    proc = _git(["diff", "--find-renames", "--name-status", "-z", base.ref, "--", experiments], base.repo)
    if proc.returncode != 0:
        return None
    fields = proc.stdout.decode(errors="replace").split("\0")
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        if status.startswith(("R", "C")):
            old, new = fields[i + 1], fields[i + 2]
            i += 3
            if status.startswith("R") and _name_of(new, experiments) == name:
                old_name = _name_of(old, experiments)
                if old_name is not None:
                    return old_name, old
        else:
            i += 2
    return None


def _name_of(path: str, experiments: str) -> str | None:
    p = Path(path)
    if p.suffix not in EXTENSIONS:
        return None
    try:
        return p.relative_to(experiments).with_suffix("").as_posix()
    except ValueError:
        return None
