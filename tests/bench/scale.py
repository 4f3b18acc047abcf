"""A space of 10^12 points with 20 constraints, for the scale benchmark and its test.

Twelve hyperparameters of ten values each: two conv widths and kernels, four dense widths, two
dropout rates, batch size and epochs; the constraints are what people tuning such a model mean
(widths shrink layer to layer, kernels fit, budgets of parameters and of regularisation). Exact
enumeration is out of the question at this size, so `ktrun check` has to prove the constraints
jointly satisfiable and estimate what they reject without visiting the space.
"""

from __future__ import annotations

from pathlib import Path

NAME = "scale_1e12"
POINTS = 10**12

CONSTRAINTS = [
    "filters_2 >= filters_1",
    "kernel_2 <= kernel_1",
    "kernel_1 + kernel_2 <= 8",
    "filters_1 * kernel_1 <= 160",
    "units_1 <= filters_2 * 8",
    "units_1 >= 2 * filters_1",
    "units_2 <= units_1",
    "units_3 <= units_2",
    "units_4 <= units_3",
    "units_1 + units_2 <= 288",
    "units_1 >= 2 * units_4",
    "units_2 - units_4 >= 16",
    "units_3 % 32 == 0",
    "dropout_2 <= dropout_1",
    "dropout_1 + dropout_2 <= 0.6",
    "dropout_1 > 0 or units_1 <= 64",
    "units_4 >= 32 or dropout_1 < 0.3",
    "not (dropout_2 > 0.2 and units_4 < 32)",
    "batch_size >= 32 or epochs <= 6",
    "epochs * batch_size <= 1024",
]

EXPERIMENT = f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {{name: {NAME}}}
hyperparameters:
  filters_1: {{type: int, min: 8, max: 80, step: 8}}
  filters_2: {{type: int, min: 8, max: 80, step: 8}}
  kernel_1: {{type: choice, values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}
  kernel_2: {{type: choice, values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}
  units_1: {{type: int, min: 16, max: 160, step: 16}}
  units_2: {{type: int, min: 16, max: 160, step: 16}}
  units_3: {{type: int, min: 16, max: 160, step: 16}}
  units_4: {{type: int, min: 16, max: 160, step: 16}}
  dropout_1: {{type: float, min: 0.0, max: 0.45, step: 0.05}}
  dropout_2: {{type: float, min: 0.0, max: 0.45, step: 0.05}}
  batch_size: {{type: choice, values: [8, 16, 24, 32, 48, 64, 96, 128, 192, 256]}}
  epochs: {{type: int, min: 1, max: 10}}
constraints:
{chr(10).join(f"  - {c}" for c in CONSTRAINTS)}
model:
  layers:
    - {{type: Conv2D, filters: $filters_1, kernel_size: $kernel_1, padding: same, activation: relu}}
    - {{type: Conv2D, filters: $filters_2, kernel_size: $kernel_2, padding: same, activation: relu}}
    - {{type: MaxPooling2D, pool_size: 2}}
    - {{type: Flatten}}
    - {{type: Dense, units: $units_1, activation: relu}}
    - {{type: Dropout, rate: $dropout_1}}
    - {{type: Dense, units: $units_2, activation: relu}}
    - {{type: Dense, units: $units_3, activation: relu}}
    - {{type: Dense, units: $units_4, activation: relu}}
    - {{type: Dropout, rate: $dropout_2}}
    - {{type: Dense, units: 10, activation: softmax}}
fit: {{epochs: $epochs, batch_size: $batch_size}}
"""


def write(conf: Path) -> Path:
    """The experiment as `<conf>/experiment/scale_1e12.yaml`, for `--config-dir`-less extra dirs."""
    path = conf / "experiment" / f"{NAME}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EXPERIMENT)
    return path
