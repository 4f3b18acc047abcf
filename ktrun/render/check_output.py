"""`ktrun check` output: text for people, json for scripts, github annotations, markdown for PRs."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ktrun.config.trust import clip, safe, safe_output
from ktrun.problems import Problem, Severity
from ktrun.render.fmt import percent, points

if TYPE_CHECKING:  # the CLI imports FORMATS before anything heavy
    from ktrun.checks import CheckReport
    from ktrun.render.space_summary import SpaceSummary

FORMATS = ("text", "json", "github", "markdown")


def _color(text: str, code: str) -> str:
    if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
        return text
    return f"\033[{code}m{text}\033[0m"


_SEV_COLOR = {Severity.ERROR: "31;1", Severity.WARNING: "33", Severity.INFO: "36"}


def _problem_text(p: Problem) -> str:
    head = f"{_color(p.severity.value, _SEV_COLOR[p.severity])} [{p.code}]"
    if p.path or p.location:  # else: about the installation or the machine, not the config
        where = clip(p.location, 200) if p.location else "<config>"
        head = f"{where}: {head} {clip(p.key, 200)}"
    lines = [head, f"    {p.message}"]
    if p.hint:
        lines.append(f"    hint: {p.hint}")
    return "\n".join(lines)


def problems_text(problems: Sequence[Problem]) -> str:
    """Problems as `check` prints them (location, code, key, message, hint), safe to print."""
    return safe_output("\n".join(_problem_text(p) for p in problems))


def _space_text(s: SpaceSummary) -> list[str]:
    out = [f"data: {s.data}"] if s.data else []
    out.append(f"search space: {len(s.hyperparameters)} hyperparameters, {len(s.constraints)} constraints")
    w = max([len(r.name) for r in s.hyperparameters] + [4])
    for r in s.hyperparameters:
        extra = f"  × {r.instances} repetitions" if r.instances else ""
        cond = f"  when {r.condition}" if r.condition else ""
        out.append(f"  {r.name:<{w}}  {r.type:<7} {r.domain:<28} {r.cardinality:>10}{extra}{cond}")
    for c in s.constraints:
        rej = "not evaluated" if c.rejected is None else f"rejects {percent(c.rejected)}"
        out.append(f"  constraint  {c.text}  ({rej})")
    for c in s.bounds:
        out.append(f"  bound       {c.text}  (rejects {percent(c.rejected or 0.0)})")
    for code, frac in s.shape_excluded.items():
        out.append(f"  shapes      {code} excludes {percent(frac)}")
    how = "exact" if s.exact else "estimated"
    out.append(f"  feasible    {percent(s.feasible_fraction)} of {points(s.total_points)} ({how})")
    if s.size:
        out.append(f"  model size  {s.size}")
    if s.flops:
        out.append(f"  flops       {s.flops}")
    return out


def text(reports: Sequence[CheckReport], strict: bool = False) -> str:
    from ktrun.render.space_summary import summarize

    out: list[str] = []
    for r in reports:
        status = _color("FAIL", "31;1") if r.failed(strict) else _color("ok", "32")
        out.append(f"── {r.label}  {status}")
        out.extend(_problem_text(p) for p in r.problems)
        summary = summarize(r)
        if summary is not None and not r.errors:
            out.extend(_space_text(summary))
        out.append("")
    errors = sum(len(r.errors) for r in reports)
    warnings = sum(len(r.warnings) for r in reports)
    secs = sum(r.seconds for r in reports)
    out.append(f"{len(reports)} config(s): {errors} error(s), {warnings} warning(s) in {secs:.2f} s")
    return "\n".join(out)


def problem_dict(p: Problem) -> dict[str, object]:
    loc = p.location
    return {
        "code": p.code,
        "severity": p.severity.value,
        "path": p.key,
        "file": loc.file if loc else None,
        "line": loc.line if loc else None,
        "column": loc.column if loc else None,
        "override": loc.override if loc else None,
        "message": p.message,
        "hint": p.hint,
    }


def as_json(reports: Sequence[CheckReport], strict: bool = False) -> str:
    from ktrun.render.space_summary import summarize

    data = {
        "ok": not any(r.failed(strict) for r in reports),
        "configs": [
            {
                "label": r.label,
                "ok": not r.failed(strict),
                "seconds": round(r.seconds, 4),
                "problems": [problem_dict(p) for p in r.problems],
                "space": (s.as_dict() if (s := summarize(r)) and not r.errors else None),
            }
            for r in reports
        ],
    }
    return json.dumps(
        data,
        indent=2,
        default=lambda x: None if isinstance(x, float) and not math.isfinite(x) else str(x),
    )


def _escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return s.replace(":", "%3A").replace(",", "%2C") if prop else s


def github(reports: Sequence[CheckReport], strict: bool = False) -> str:
    """GitHub Actions workflow commands: annotations on the file and line of each problem."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    out = []
    for r in reports:
        for p in r.problems:
            props = [f"title={_escape(f'ktrun {p.code} ({clip(p.key, 200)})', True)}"]
            loc = p.location
            if loc and loc.file:
                props.insert(0, f"file={_escape(safe(loc.file), True)}")
                if loc.line:
                    props.insert(1, f"line={loc.line}")
            msg = safe(p.message + (f" (hint: {p.hint})" if p.hint else ""))
            if loc and loc.override:
                msg = f"[{clip(r.label, 200)}; override `{clip(loc.override, 200)}`] {msg}"
            sev = Severity.ERROR if strict and p.severity == Severity.WARNING else p.severity
            out.append(f"::{level[sev]} {','.join(props)}::{_escape(msg)}")
    out.append(safe_output(text(reports, strict).splitlines()[-1]))
    return "\n".join(out)


def markdown(reports: Sequence[CheckReport], strict: bool = False) -> str:
    from ktrun.render.space_summary import summarize

    out = []
    for r in reports:
        mark = "❌" if r.failed(strict) else "✅"
        out.append(f"### {mark} `{r.label}`\n")
        if r.problems:
            out.append("| severity | code | key | where | message | hint |")
            out.append("|---|---|---|---|---|---|")
            for p in r.problems:
                cells = [
                    p.severity.value,
                    f"`{p.code}`",
                    f"`{p.key}`",
                    str(p.location or ""),
                    p.message,
                    p.hint,
                ]
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            out.append("")
        s = summarize(r)
        if s is not None and not r.errors:
            out.append("| hyperparameter | type | values | cardinality |")
            out.append("|---|---|---|---|")
            for h in s.hyperparameters:
                card = h.cardinality + (f" × {h.instances}" if h.instances else "")
                out.append(f"| `{h.name}` | {h.type} | {h.domain} | {card} |")
            for c in s.constraints:
                rej = "" if c.rejected is None else f" (rejects {percent(c.rejected)})"
                out.append(f"\nconstraint `{c.text}`{rej}")
            out.append(f"\nfeasible: {percent(s.feasible_fraction)} of {points(s.total_points)}\n")
    return "\n".join(out)


def render(fmt: str, reports: Sequence[CheckReport], strict: bool = False) -> str:
    """Any format, safe to print: configs are untrusted text, and CI logs run what looks like a
    command. `github` makes its own command lines and escapes everything inside them."""
    if fmt == "github":
        return github(reports, strict)
    out = {"text": text, "json": as_json, "markdown": markdown}[fmt](reports, strict)
    return safe_output(out)
