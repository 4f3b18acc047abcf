"""The final stage: the best configuration retrained on all the rows the search had, scored once
on the test split it never saw (`final.retrain`; AutoKeras' `final_fit`).

The search's results are written before this runs, so a failure here loses none of them: it is
recorded beside them and reported as the stage that failed.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ktrun.compiler.plan import Plan
from ktrun.data.load import Data
from ktrun.data.stream import StreamedDataset
from ktrun.runtime.outcome import FinalResult, TrialRecord
from ktrun.runtime.state import written_via_temp

FINAL_MODEL = "final_model.keras"


def retrain_and_test(plan: Plan, data: Data, best: TrialRecord, run_dir: Path) -> FinalResult:
    """Rebuild `best`'s point, fit it on training + validation rows for its best epoch count
    (no validation data, no early stopping: those epochs were chosen by the search), evaluate
    it once on the test split and save it."""
    import keras

    from ktrun.compiler import keras_model as kb
    from ktrun.data.prepare import balanced_class_weights
    from ktrun.runtime import streams
    from ktrun.runtime.tuner import KtrunHyperModel

    train_rows, val_rows, test_rows = data.counts()
    assert best.best_epoch is not None and data.test_inputs() is not None
    keras.utils.set_random_seed(plan.kt_seed)
    hypermodel = KtrunHyperModel(plan)
    hp = kb.declare_hyperparameters(plan)
    hp.values.update(best.hyperparameters)
    model = hypermodel.build(hp)
    point = best.hyperparameters
    batch = best.batch_size or int(kb.fit_setting(plan, "batch_size", point))  # an oom retry's halving
    kwargs: dict[str, Any] = {
        "epochs": best.best_epoch,
        "batch_size": batch,
        "shuffle": bool(kb.fit_setting(plan, "shuffle", point)),
        "verbose": plan.spec.fit.verbose,
    }
    balanced = kb.fit_setting(plan, "class_weight", point) == "balanced"
    if isinstance(data, StreamedDataset):  # both splits read one after the other, then the test split
        both = tuple(p for p in (data.train, data.validation) if p is not None)
        x: Any = streams.pipeline(both, data, batch, shuffle=kwargs["shuffle"], seed=plan.kt_seed)
        kwargs["shuffle"] = False  # the pipeline shuffles
        y: Any = None
        fitted = x.map(lambda x, y: x)
        test: tuple[Any, Any] = (streams.pipeline(data.test, data, batch) if data.test else None, None)
        if balanced:
            kwargs["class_weight"] = data.balanced_weights(with_validation=True)
    else:
        x = _joined(data.inputs(), data.inputs(validation=True))
        y = _joined(data.targets(), data.targets(validation=True))
        fitted = x
        test = (data.test_inputs(), data.test_targets())
        if balanced:
            kwargs["class_weight"] = balanced_class_weights(y)
    if plan.spec.model.hypermodel is None:
        kb.adapt_layers(model, fitted)  # the rows it trains on, never the test split
    model.fit(x, y, **kwargs)
    scores = model.evaluate(*test, verbose=0, return_dict=True)
    path = run_dir / FINAL_MODEL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        need = 3 * sum(int(w.nbytes) for w in model.get_weights()) + (1 << 20)
        with written_via_temp(path, need) as tmp:
            model.save(tmp)
    test_scores = {str(k): float(v) for k, v in scores.items()}
    return FinalResult(
        best.trial_id,
        best.best_epoch,
        test_scores,
        str(path),
        rows=test_rows,
        train_rows=train_rows + val_rows,
    )


def _joined(train: Any, val: Any) -> Any:
    """Training and validation rows as one set (arrays, or arrays by name)."""
    if val is None:
        return train
    if isinstance(train, dict):
        return {k: v if val.get(k) is None else np.concatenate([v, val[k]]) for k, v in train.items()}
    return np.concatenate([train, val])
