"""TensorFlow's own start-up lines (absl's "before InitializeLog", oneDNN and CPU-feature notices,
CUDA factory registrations) kept off a run's stderr unless asked for (`--verbose`, `fit.verbose`).

They come from C++ at import, straight to file descriptor 2, and TensorFlow 2.21 prints some of
them whatever `TF_CPP_MIN_LOG_LEVEL` says: so the import runs with descriptor 2 sent to a file,
and every line that is not such a notice (a Python warning, an error) is passed on afterwards.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

#: Set (to anything) by `ktrun --verbose`, for this process and every one it starts.
VERBOSE_ENV = "KTRUN_VERBOSE"

#: The lines TensorFlow's native code writes while it starts: absl/glog records
#: (`I0000 00:00:17.. 123 port.cc:153] ...`, or TF's older `2024-.. I tensorflow/...`), absl's
#: warning that it was not initialised, and the instruction list under the CPU-feature notice.
NOISE = re.compile(
    r"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|To enable the following instructions: .*, in other operations, rebuild TensorFlow"
    r")"
)


def verbose_requested(fit_verbose: int = 0) -> bool:
    return bool(os.environ.get(VERBOSE_ENV)) or fit_verbose > 0


def import_tensorflow(verbose: bool) -> None:
    """Import TensorFlow (and Keras) once, quietly unless `verbose`."""
    if "tensorflow" in sys.modules:
        return
    if verbose:
        import keras
        import tensorflow

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later C++ info and warnings, too
    with filtered_stderr():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401


@contextmanager
def filtered_stderr() -> Iterator[None]:
    """Descriptor 2 goes to a file for the block; its lines but the noise are written back."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(keepends=True) if not NOISE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
