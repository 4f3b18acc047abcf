"""Check: `report.mlflow`, statically: the tracking URI's form and the packages that log to it.

`check` reads configs it cannot trust: it never contacts the URI, opens or creates its file, or
imports MLflow. It accepts the stores ktrun logs to and a user cannot be surprised by:

- `sqlite:///PATH`: a local SQLite file (MLflow's own recommendation since MLflow 3 put its file
  store `./mlruns` in maintenance mode and refuses it by default, which is why a bare path or
  `file:` is refused here with that hint);
- `http(s)://HOST[:PORT][/PATH]`: an MLflow tracking server, without credentials in the URI (a
  config is copied into the results and the run's artifacts: secrets go in MLflow's environment
  variables);
- `databricks` or `databricks://PROFILE`: credentials from the Databricks configuration.

Anything else (another database's URI, a scheme MLflow plugins add) is refused with the list.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from importlib import util
from urllib.parse import urlsplit

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.problems import Problem
from ktrun.spec.experiment import TRACKING_URI_MAX

#: ktrun's `mlflow` extra (pyproject.toml): the client, and what its SQLite store needs.
MLFLOW_EXTRA = ("mlflow-skinny>=3,<4", "sqlalchemy>=2,<3", "alembic>=1.10,<2")
#: The module each requirement installs, and which URIs need it.
MODULES = {"mlflow-skinny": "mlflow", "sqlalchemy": "sqlalchemy", "alembic": "alembic"}
#: A URI longer than this is no address anyone typed.
MAX_URI = TRACKING_URI_MAX
ACCEPTED = "sqlite:///PATH (a local file), http(s)://HOST:PORT (an MLflow server) or databricks"


def uri_problem(uri: str) -> tuple[str, str] | None:
    """Why ktrun refuses this tracking URI, and what to write instead (None: accepted)."""
    if len(uri) > MAX_URI:
        return f"is {len(uri)} characters long", f"write the address of the store: {ACCEPTED}"
    if re.search(r"[\s\x00-\x1f\x7f]", uri):
        return "contains whitespace or control characters", f"write the address alone: {ACCEPTED}"
    scheme, sep, rest = uri.partition(":")
    scheme = scheme.lower() if sep else ""
    if scheme == "sqlite":
        path = uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else ""
        if not path or path == ":memory:":
            return (
                "names no SQLite file",
                "write sqlite:///mlflow.db (relative) or sqlite:////abs/path/mlflow.db",
            )
        return None
    if scheme in ("http", "https"):
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018  # raises on a port that is no number
        except ValueError as e:
            return f"is no valid address ({e})", "write http(s)://HOST:PORT of your MLflow server"
        if not parts.hostname:
            return "names no host", "write http(s)://HOST:PORT of your MLflow server"
        if "@" in parts.netloc:
            return (
                "holds credentials, which would be copied into the results and the logged config",
                "drop them from the URI and set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD "
                "(or MLFLOW_TRACKING_TOKEN) in the environment",
            )
        return None
    if uri == "databricks" or scheme == "databricks":
        if uri == "databricks" or re.fullmatch(r"//[^/]+", rest):
            return None
        return "is no Databricks address", "write databricks (the default profile) or databricks://PROFILE"
    if scheme == "file" or not scheme or len(scheme) == 1:  # a path (`C:` is a drive)
        return (
            "names a folder (MLflow's file store), which MLflow 3 refuses by default",
            "log to a SQLite file instead: sqlite:///mlflow.db",
        )
    return f"uses `{scheme}:`, a store ktrun does not log to", f"use {ACCEPTED}"


def shown(uri: str) -> str:
    """The URI as a message may show it: short, and without the credentials it may hold."""
    return re.sub(r"(?<=://)[^/@\s]*@", "***@", uri)[:200]


def needs(uri: str) -> tuple[str, ...]:
    """The requirements logging to this URI imports (a database store needs SQLAlchemy)."""
    return MLFLOW_EXTRA if uri.startswith("sqlite:") else MLFLOW_EXTRA[:1]


def check_tracking(ctx: Ctx) -> Iterator[Problem]:
    mlflow = ctx.spec.report.mlflow
    if mlflow is None:
        return
    refused = uri_problem(mlflow.tracking_uri)
    if refused is not None:
        why, hint = refused
        yield pb.error(
            "tracking-uri-invalid",
            ("report", "mlflow", "tracking_uri"),
            f"report.mlflow.tracking_uri {shown(mlflow.tracking_uri)!r} {why}",
            hint,
        )
        return
    required = needs(mlflow.tracking_uri)
    missing = [r for r in required if util.find_spec(MODULES[re.split(r"[<>=]", r)[0]]) is None]
    if missing:
        yield pb.error(
            "tracking-needs-mlflow",
            ("report", "mlflow"),
            f"report.mlflow logs with MLflow, and {', '.join(missing)} is not installed",
            f"install it: {sys.executable} -m pip install {' '.join(repr(r) for r in required)} "
            "(ktrun's `mlflow` extra), or remove report.mlflow",
        )
