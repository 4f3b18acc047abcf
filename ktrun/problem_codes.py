"""Every problem code ktrun can report, with what it means: one table, rendered as
`docs/problem-codes.md` (`python -m ktrun.problem_codes`).

Codes are a public contract: CI scripts and editors match on them. `tests/contracts/
test_problem_codes.py` fails when the source emits a code that is not here, when a code here is
emitted nowhere, and when the test suite never makes ktrun emit one.
"""

from __future__ import annotations

#: stage → code → one line: what is wrong.
GROUPS: dict[str, dict[str, str]] = {
    "Config files and overrides": {
        "yaml-syntax": "a YAML file does not parse (the line and column say where)",
        "yaml-unsafe-tag": "a YAML tag such as `!!python/object` asks for code: configs are data",
        "yaml-too-large": "a config file is larger than 1 MiB",
        "yaml-too-deep": "a config file nests mappings and lists more than 64 levels deep",
        "yaml-alias-bomb": "a file's YAML aliases would expand to more than 100,000 values",
        "config-file-unreadable": "a config file is not a regular file, cannot be read, or is not UTF-8",
        "config-not-found": "an experiment or group option (`tuner=...`) names no file in the config trees",
        "config-path-escape": "a defaults entry or config path leads outside the config trees",
        "config-hydra-refused": "a config sets a Hydra setting outside the short allowlist",
        "config-target-refused": "a config holds `_target_` (or another instantiation key): code to run",
        "config-resolver-refused": "a config calls a resolver that could read the environment or files",
        "override-syntax": "a command-line override does not parse (or has no key)",
        "compose-error": "Hydra cannot compose the config (e.g. a key that does not exist, without `+`)",
        "interpolation-error": "a `${...}` interpolation names no key",
        "model-group-merged": "an experiment declares layers but the default model group's are merged in too",
    },
    "Schema": {
        "unknown-key": "a key the schema does not have (with a did-you-mean)",
        "missing-key": "a required key is not set",
        "missing-type": "a layer or hyperparameter has no `type:`",
        "unknown-type": "a `type:` that is not a hyperparameter type",
        "unknown-layer": "a layer `type:` ktrun does not know",
        "layer-not-wrappable": (
            "a wrapper holds a layer type it cannot wrap (Bidirectional wraps LSTM, GRU, SimpleRNN)"
        ),
        "wrong-type": "a value of the wrong type (text for a number, a list for a section, ...)",
        "invalid-value": "a value outside a fixed set of names (`tuner.algorithm: annealing`)",
        "invalid-name": "a name with characters it cannot have (it is used in paths)",
        "value-out-of-range": "a number outside the range the schema allows",
        "bad-reference": "a `$reference` that is not of the form `$name`",
    },
    "Hyperparameters and their space": {
        "hp-invalid-name": "a hyperparameter name that is a keyword or not an identifier",
        "hp-min-gt-max": "a range whose min is larger than its max",
        "log-sampling-nonpositive": "log sampling over a range that includes 0 or less",
        "hp-step-invalid": "a step that cannot work with the sampling (zero, negative, a log step of 1)",
        "hp-step-too-large": "a step larger than the range: only min is ever sampled",
        "hp-step-misfit": "max is never sampled: the range is not a whole number of steps",
        "hp-default-invalid": "a default that is not one of the hyperparameter's values",
        "choice-mixed-types": "a choice mixes numbers, text and booleans",
        "choice-duplicates": "a choice lists the same value twice",
        "hp-type-mismatch": "a hyperparameter can take a value the argument it feeds cannot",
        "hp-unused": "a hyperparameter that nothing uses: the tuner would search it for nothing",
        "hp-name-collision": "a declared name equals a repetition's instance name (`filters_2`)",
        "hp-in-two-repeats": "one hyperparameter is used in two repeat blocks",
        "hp-mixed-repeat-use": "one hyperparameter is used both inside and outside a repeat block",
        "unknown-reference": "a `$name`, a `when:`, a bound or a pin names no declared hyperparameter",
        "condition-cycle": "conditions (`when:`) depend on each other in a cycle",
        "condition-parent-continuous": "a condition on a continuous hyperparameter, which almost never holds",
        "condition-value-impossible": "a condition on a value its parent can never take",
        "pin-value-invalid": "a pinned value the hyperparameter cannot take",
        "model-too-large": "repeat blocks can unroll to more layers than a model can sensibly have",
    },
    "Dependent bounds": {
        "bound-syntax": "a bound (`max: units_1 // 2`) does not parse, or uses what the allowlist refuses",
        "bound-cycle": "bounds read each other in a cycle, so none can be worked out first",
        "bound-type-error": "a bound is not a number for some point (text, true/false, a float for an int)",
        "bound-range-empty": "a dependent range holds no value whatever the hyperparameters it reads",
        "bound-index-outside-repeat": "a bound uses `i`, the repetition, outside a repeat block",
        "bound-inactive-reference": "a bound reads a hyperparameter that can be inactive where it is active",
    },
    "Constraints": {
        "constraint-syntax": "a constraint does not parse, or uses something the allowlist refuses",
        "constraint-type-error": "a constraint cannot be evaluated (it compares text with a number, ...)",
        "constraint-unsatisfiable": "no point of the space satisfies this constraint",
        "constraints-unsatisfiable": "no point satisfies all constraints together (proven)",
        "constraints-undecided": "no point satisfying all constraints was found, nor proven impossible",
        "constraint-redundant": "a constraint holds everywhere, so it excludes nothing",
    },
    "Layer arguments and shapes": {
        "arg-expression-invalid": "an argument's expression does not parse, fails for some values "
        "(division by zero), or as a count reads two names",
        "model-params-large": "the largest model of the search holds more than 100M weights (counted from "
        "the shapes, before anything is built)",
        "arg-out-of-range": "a layer, optimizer or fit argument outside what it accepts (`filters: 0`)",
        "learning-rate-out-of-range": "a learning rate that cannot train (zero, or 100 and more)",
        "unknown-activation": "an activation Keras does not have",
        "unknown-initializer": "an initializer Keras does not have",
        "unknown-constraint": "a weight constraint Keras does not have",
        "weight-arg-unused": "an initializer or constraint argument the one named does not take",
        "unknown-optimizer": "an optimizer Keras does not have",
        "invalid-padding": "a padding other than `valid` or `same` (or `causal` where allowed)",
        "kernel-too-large": "a kernel larger than the feature map it meets, for some points",
        "output-padding-too-large": "a transposed convolution's output_padding not below its strides",
        "pool-too-large": "a pooling window larger than the feature map it meets, for some points",
        "position-outside-repeat": "`first:` or `last:` on a layer that is not inside a repeat block",
        "crop-too-large": "a cropping that leaves nothing of the feature map it meets, for some points",
        "conv-strides-dilation": "strides and dilation above 1 together, which Keras refuses",
        "rank-mismatch": "a layer gets an input of a rank it cannot take (Conv2D after Flatten)",
        "reshape-mismatch": "a Reshape whose target size differs from its input's",
        "merge-shape-mismatch": "a merge (Add, Concatenate, a residual) gets shapes that cannot combine",
        "attention-shape-mismatch": "an attention layer's query, value and key do not fit together",
        "layer-input-missing": "at some points a layer reads a named layer not built there (its `when:`)",
        "layer-arity": "a layer reads more or fewer inputs than it takes (Subtract takes two)",
        "layer-input-unknown": "`inputs:` names no model input and no layer above it",
        "layer-name-duplicate": "two layers (or a layer and an input) share a name",
        "output-unknown": "`model.outputs` names no layer",
        "data-arrays-need-npz": "the model reads named arrays (several inputs or outputs), not from npz",
        "layer-unused": "a layer's output (or a model input) reaches no model output: Keras would drop it",
        "shapes-unchecked": "the input shape is unknown, so layer shapes were not checked",
        "optimizer-arg-unused": "an argument the chosen optimizer does not take",
        "per-optimizer-never-chosen": "`per_optimizer` arguments for an optimizer `name:` never chooses",
        "unknown-schedule": "a learning-rate schedule Keras does not have",
        "schedule-arg-unused": "a schedule argument none of the schedules `schedule:` can name takes",
        "schedule-arg-missing": "a schedule without an argument its Keras class has no default for",
        "schedule-piecewise-mismatch": "piecewise_constant_decay's values not one more than its "
        "boundaries, or boundaries out of order",
        "schedule-with-plateau": "a learning-rate schedule with `fit.reduce_lr_on_plateau`, which "
        "cannot set a scheduled rate",
        "custom-layer-undeclared": "a custom layer not declared under `custom_objects.layers`",
        "custom-module-not-found": "a `custom_objects` module that is neither installed nor on its paths",
        "custom-loader-undeclared": "data.loader names no entry of custom_objects.loaders",
        "unknown-application": "a Backbone `application` that is not in ktrun's keras.applications table",
        "input-too-small": "a Backbone gets images below its application's minimum size (32x32, 75x75, ...)",
        "text-vectorization-width": "a TextVectorization counting tokens without `pad_to_max_tokens` "
        "(its width is unknown)",
        "embedding-vocabulary": "an Embedding (CategoryEncoding) smaller than the ids it gets "
        "(TextVectorization, a categorical column)",
        "image-channels": "RandomGrayscale gets images that are neither RGB (3 channels) nor grey (1)",
        "normalization-stats": "a Normalization's mean without variance (or the reverse), or lists that "
        "do not fit its feature axis",
        "normalization-identity": "a Normalization neither adapted nor given mean and variance: an identity",
        "backbone-channels": "a Backbone with pretrained weights gets images that are not RGB (3 channels)",
        "backbone-alpha": "`alpha` on a Backbone whose application has no width multiplier",
        "backbone-weights-download": "Backbone weights given as a URL, which a run would download",
        "backbone-weights-file": "Backbone weights that are not an existing `.weights.h5` file",
        "weights-file-not-read": "`ktrun check` did not look at a weights file outside the project",
        "imagenet-weights-alpha": "`weights: imagenet` on a MobileNet width (alpha) with no ImageNet weights",
        "imagenet-weights-needed": "the ImageNet weights file a run loads from Keras' cache (not looked for)",
        "imagenet-weights-missing": "a run's ImageNet weights file is not in Keras' cache (before any trial)",
        "imagenet-weights-unreadable": "a run's cached ImageNet weights file is no readable weights file",
        "hypermodel-weights": "`weights` on a HyperModel whose network has no ImageNet weights",
        "hypermodel-input": "a HyperModel gets samples that are not images (rank 3) of its minimum size",
        "hypermodel-labels": "a HyperModel (softmax, categorical_crossentropy) without one-hot class labels",
        "hypermodel-hp-outside": "a HyperModel hyperparameter re-declared with values its build cannot use",
        "hypermodel-with-layers": "`model.hypermodel` given with `model.layers` or `model.compile`",
        "fine-tune-from-too-large": "`fine_tune_from` at or past a backbone's last layer (it freezes all)",
    },
    "Data against the model": {
        "input-shape-mismatch": "`model.input_shape` does not match the data's samples",
        "output-rank": "the model's output per sample has another rank than the labels or targets",
        "output-shape-mismatch": "the output's shape differs from the target's (time steps, a regression "
        "target, the input of an autoencoder)",
        "output-units-mismatch": "the output layer's width does not match the classes, labels or target",
        "output-activation-mismatch": "a final activation that cannot produce the labels (softmax for "
        "multi-hot labels)",
        "class-weight-regression": "`fit.class_weight` on a regression task, which has no classes",
        "class-weight-labels": "`fit.class_weight` with multi-hot or per-step labels (no one class each)",
        "cross-validation-folds": (
            "`fit.cross_validation.folds` exceeds the training rows (stratified: the rarest class's rows)"
        ),
        "cross-validation-streamed": (
            "`fit.cross_validation` with a streamed data source (shards), whose rows are never in memory"
        ),
        "cross-validation-split": (
            "`data.validation_split` set with `fit.cross_validation`, whose folds replace it"
        ),
        "data-option-conflict": "data options that disagree (multi_hot or per_step without classes; "
        "two test splits)",
        "final-no-test-split": "`final.retrain` without a test split to score on",
        "unknown-loss": "a loss Keras does not have",
        "unknown-metric": "a metric Keras does not have",
        "loss-arg-unused": "an argument the chosen loss does not take (`delta` on `mse`)",
        "loss-label-mismatch": "the loss does not fit the labels (sparse vs one-hot, regression vs classes)",
        "metric-label-mismatch": "a metric does not fit the labels",
        "metric-arg-unused": "an argument the chosen metric does not take (`k` on `auc`)",
        "metric-name-taken": "two metrics (or a metric and the loss) would be logged under one name",
        "logits-mismatch": "the last activation and the loss's `from_logits` contradict each other",
    },
    "Objective, tuner and failure policy": {
        "objective-not-logged": "the objective is a metric the model never logs (with a did-you-mean)",
        "objective-needs-validation": "a `val_` objective or monitor without validation data",
        "objective-direction-unknown": "an objective on a metric of your own without `objective.direction`",
        "objective-direction-contradiction": "a direction that contradicts the metric (`val_loss` with max)",
        "objective-on-training-data": "the objective is measured on the training data",
        "objective-duplicate": "an objective listed twice in `objective: [...]`",
        "objective-static-first": "`params` or `flops` first among the objectives (Keras Tuner ranks by it)",
        "objective-size-uncountable": "`params` or `flops` as an objective where a layer is not countable",
        "objective-best-unknown": "`objective_best` limits a name that is not one of the objectives",
        "monitor-not-logged": "early stopping or LR reduction watches a metric the model never logs",
        "monitor-mode-unknown": "early stopping on a metric of your own with `mode: auto`",
        "monitor-mode-contradiction": "a monitor's mode contradicts its metric",
        "monitor-differs": "early stopping watches another metric than the objective",
        "grid-infinite-space": "grid search over a continuous hyperparameter",
        "hyperband-epochs-tunable": "Hyperband with a tuned `fit.epochs` (Hyperband decides epochs itself)",
        "hyperband-single-bracket": "Hyperband settings that leave a single bracket",
        "bayesian-all-random": "Bayesian search whose initial random points fill the whole budget",
        "tpe-all-random": "TPE whose random start-up trials fill the whole budget",
        "nsga2-all-random": "NSGA-II whose first (random) generation fills the whole budget",
        "nsga2-single-objective": "NSGA-II, a multi-objective sampler, in a search with one objective",
        "warm-start-invalid": "a `tuner.warm_start` point that is not a trainable point of the space",
        "warm-start-history": "`tuner.warm_start.search` names no readable earlier search of this objective",
        "runtime-ignored": "a `runtime.*` setting the way trials run never reads (inprocess, or distributed)",
        "pruner-unsupported": "`tuner.pruner` with Hyperband (its own early stopping) or cross-validation",
        "algorithm-needs-optuna": "`tuner.algorithm: tpe`, `cmaes` or `nsga2` where Optuna is not installed",
        "max-trials-exceeds-space": "more trials than the space has feasible points",
        "retry-without-retries": "a failure class says retry, but `max_retries` is 0",
        "retry-deterministic": "retrying build errors, which repeat for the same point",
    },
    "Results and tracking": {
        "tracking-uri-invalid": "`report.mlflow.tracking_uri` is no store ktrun logs to (sqlite, http(s), "
        "databricks), or holds credentials",
        "tracking-needs-mlflow": "`report.mlflow` where MLflow (the `mlflow` extra) is not installed",
    },
    "Data files": {
        "data-source-unknown": "a `data.source` ktrun does not know",
        "image-folder-layout": "`data.path` is no folder of class folders with images (or of another count)",
        "image-file-unreadable": "an image file that is no image, no regular file, or cannot be decoded",
        "image-files-skipped": "files in an image folder that are not images in a class folder (skipped)",
        "data-loader-required": "`data.source: custom` without data.loader or data.input_shape",
        "data-loader-failed": "your data loader failed to import or raised, or its dataset failed while read",
        "data-loader-returned": (
            "your loader returned neither (x, y) arrays of the declared shape nor datasets ktrun can stream"
        ),
        "data-path-required": "a source that reads a file, without `data.path`",
        "data-needs-download": "a Keras data set without a local copy, where downloading is not possible",
        "data-download-failed": "a Keras data set could not be downloaded",
        "data-file-missing": "`data.path` names nothing (or a dangling link)",
        "data-file-not-read": "`ktrun check` did not read a data file outside the project",
        "data-file-unreadable": "`data.path` is not a readable file of its format",
        "data-file-too-large": "a file or array claims more bytes than ktrun reads",
        "data-file-keys": "an `.npz` lacks the arrays the config names",
        "data-shard-mismatch": "an `.npz` shard whose arrays differ from the first shard's in per-sample "
        "shape or dtype",
        "data-label-column": "a csv label column that is not in the header (or out of range)",
        "data-length-mismatch": "features and labels have different numbers of rows",
        "data-shape-mismatch": "samples have another shape than the model's input",
        "data-not-numeric": "features or targets that are not numbers",
        "data-not-finite": "NaN or infinite values",
        "data-label-type": "labels that are not integer class ids (or one-hot / multi-hot rows of 0/1)",
        "data-label-shape": "labels of a shape their kind cannot have (per sample, per step, multi-hot)",
        "data-label-range": "labels outside 0..classes-1",
        "data-too-small": "too few rows for the split (or none)",
        "data-class-missing": "a class never appears in the training rows",
        "data-column-unknown": "a csv column in `data.columns` or `model.inputs` that the file lacks, or "
        "an input with no column",
        "data-column-kind": "a categorical or text column where numbers go (a numeric input, a one-input "
        "model)",
        "data-column-constant": "a categorical column with one value in the training rows",
        "data-column-unused": "csv columns that no model input reads (dropped)",
    },
    "State and disks (a run)": {
        "backend-missing": "a run on an install without the training backend (`ktrun[cpu]` or `ktrun[gpu]`)",
        "state-locked": "the same search is running in another process",
        "dir-not-a-directory": "the run or state directory is a file",
        "dir-not-writable": "the run or state directory cannot be written",
        "dir-full": "the run or state directory's disk is (nearly) full",
    },
    "ktrun itself": {
        "internal-check-error": "a check crashed: a bug in ktrun, reported with the config that caused it",
    },
}

CODES: dict[str, str] = {code: meaning for group in GROUPS.values() for code, meaning in group.items()}


def markdown() -> str:
    """`docs/problem-codes.md`."""
    out = [
        "# Problem codes",
        "",
        "Every problem ktrun reports has a code, a severity, the key path, where it was set",
        "(file:line or the override), a message and a hint. Generated from `ktrun/problem_codes.py`;",
        "run `python -m ktrun.problem_codes > docs/problem-codes.md` after changing it.",
    ]
    for group, codes in GROUPS.items():
        out += ["", f"## {group}", "", "| code | meaning |", "|---|---|"]
        out += [f"| `{code}` | {meaning} |" for code, meaning in codes.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
