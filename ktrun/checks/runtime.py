"""Check: `runtime.*` settings that the chosen way of running trials never reads.

`distributed.workers` launches Keras Tuner's chief and workers, which run trials themselves, so
`runtime.isolation: process` is not used; with `runtime.isolation: inprocess` (the default) the
worker settings are not. A setting silently ignored looks like one that took effect.
"""

from __future__ import annotations

from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.problems import Problem
from ktrun.spec.experiment import RuntimeSpec

CODE = "runtime-ignored"
#: What only worker processes (`runtime.isolation: process`) read.
WORKER_SETTINGS = ("workers", "recycle_after", "max_worker_memory", "threads", "gpus")


def check_runtime(ctx: Ctx) -> Iterator[Problem]:
    runtime, distributed = ctx.spec.runtime, ctx.spec.distributed
    if distributed.workers > 0 and runtime.isolation == "process":
        yield pb.warning(
            CODE,
            ("runtime", "isolation"),
            f"distributed.workers={distributed.workers} runs trials in Keras Tuner's chief and worker "
            "processes: runtime.isolation process and its settings are not used",
            "remove runtime.isolation, or set distributed.workers=0 to run trials in ktrun's workers",
        )
        return
    if runtime.isolation == "process":
        return
    for key in WORKER_SETTINGS:
        value = getattr(runtime, key)
        if value != RuntimeSpec.model_fields[key].default:
            yield pb.warning(
                CODE,
                ("runtime", key),
                f"runtime.{key} is read by worker processes, and this search runs its trials in "
                "this process (runtime.isolation: inprocess)",
                f"set runtime.isolation=process for it to take effect, or remove runtime.{key}",
            )
