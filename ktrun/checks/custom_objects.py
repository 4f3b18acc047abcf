"""The `custom_objects` opt-in: declared, and findable without importing anything."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.layers import iter_layers
from ktrun.layers.custom import Custom
from ktrun.problems import Problem


def check_custom(ctx: Ctx) -> Iterator[Problem]:
    """Declared, findable, never imported: the check runs no user code (and no TensorFlow)."""
    opt_in = ctx.spec.custom_objects
    for path, layer in iter_layers(ctx.spec.model.layers):
        if isinstance(layer, Custom) and layer.layer not in opt_in.layers:
            close = difflib.get_close_matches(layer.layer, list(opt_in.layers), n=1)
            yield pb.error(
                "custom-layer-undeclared",
                (*path, "layer"),
                f"custom layer `{layer.layer}` is not declared under custom_objects.layers",
                (f"did you mean `{close[0]}`? " if close else "")
                + "declare the class it stands for, e.g. "
                + f"`custom_objects: {{layers: {{{layer.layer}: my_package.layers:{layer.layer}}}}}`",
            )
    loader = ctx.spec.data.loader
    if ctx.spec.data.source == "custom" and loader and loader not in opt_in.loaders:
        close = difflib.get_close_matches(loader, list(opt_in.loaders), n=1)
        yield pb.error(
            "custom-loader-undeclared",
            ("data", "loader"),
            f"data.loader `{loader}` is not declared under custom_objects.loaders",
            (f"did you mean `{close[0]}`? " if close else "")
            + "declare your function, e.g. "
            + f"`custom_objects: {{loaders: {{{loader}: my_package.data:load}}}}`",
        )
    for section, name, target in opt_in.declared():
        top = target.split(":")[0].split(".")[0]
        if not _findable(top, opt_in.search_dirs()):
            yield pb.error(
                "custom-module-not-found",
                ("custom_objects", section, name),
                f"`{target}`: no module `{top}` among the installed packages or in "
                f"custom_objects.paths {opt_in.paths} (from {Path.cwd()})",
                "install the package, or list its directory under custom_objects.paths "
                "(relative to the directory you run ktrun in)",
            )


def _findable(top: str, dirs: list[str]) -> bool:
    """Located without being imported: finding a top-level module runs none of its code."""
    import importlib.machinery
    import importlib.util

    return (
        importlib.machinery.PathFinder.find_spec(top, dirs) is not None
        or importlib.util.find_spec(top) is not None
    )
