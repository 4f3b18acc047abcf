"""Writes the small stand-in data sets the published-search corpus runs on (numpy only, seeded).

Each file is a stand-in of the same kind as the data the published search used (28x28 grey
images for MNIST, 32x32 colour images for CIFAR-10, padded token ids for IMDB, windows of a
series for a stock forecaster, ...), a few hundred samples, well under 1 MB, with a signal the
models can learn. The repository ships the files in `datasets/`; run this script to rebuild them:

    python examples/published/make_data.py [OUT_DIR]     # default: examples/published/datasets

`tests/integration/test_published.py` rebuilds them into a temporary directory and compares.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent
SEED = 20261130

Arrays = dict[str, NDArray[np.generic]]


def _rng(name: str) -> np.random.Generator:
    """One generator per file, so adding a file never changes another."""
    return np.random.default_rng([SEED, *name.encode()])


# ---------------------------------------------------------------- images


def _blob_images(
    rng: np.random.Generator, n: int, size: int, channels: int, classes: int
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Images whose class is a pattern of a few soft blobs, shifted and noised per sample."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    templates = np.zeros((classes, size, size, channels), np.float32)
    for c in range(classes):
        for _ in range(3):
            cy, cx = rng.uniform(0.2 * size, 0.8 * size, 2)
            width = rng.uniform(0.08 * size, 0.18 * size)
            colour = rng.uniform(0.3, 1.0, channels)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2))
            templates[c] += blob[..., None] * colour
    templates /= templates.max(axis=(1, 2, 3), keepdims=True)
    y = rng.permutation(np.arange(n) % classes).astype(np.uint8)
    shifts = rng.integers(-2, 3, size=(n, 2))
    x = np.empty((n, size, size, channels), np.float32)
    for i in range(n):
        x[i] = np.roll(templates[y[i]], tuple(shifts[i]), axis=(0, 1))
    x += rng.normal(0.0, 0.04, x.shape).astype(np.float32)
    return (np.clip(x, 0.0, 1.0) * 255).round().astype(np.uint8), y


def keras_images(name: str, n: int, n_test: int, size: int, channels: int) -> Arrays:
    """A Keras-format file (x_train, y_train, x_test, y_test) like keras.datasets' own."""
    x, y = _blob_images(_rng(name), n + n_test, size, channels, 10)
    if channels == 1:
        x = x[..., 0]  # MNIST and Fashion-MNIST are stored without a channel axis
        labels = y
    else:
        labels = y[:, None]  # CIFAR-10 stores labels as a column
    return {"x_train": x[:n], "y_train": labels[:n], "x_test": x[n:], "y_test": labels[n:]}


def two_class_images(name: str, n: int, size: int) -> Arrays:
    """Colour images in two classes (a cats-versus-dogs stand-in), labels 0/1."""
    x, y = _blob_images(_rng(name), n, size, 3, 2)
    return {"x": x, "y": y}


# ---------------------------------------------------------------- text


def token_ids(name: str, n: int, length: int, vocab: int) -> Arrays:
    """Padded token-id sequences (0 = padding, at the front like pad_sequences) for sentiment:
    each class draws more often from its own small set of words."""
    rng = _rng(name)
    y = rng.permutation(np.arange(n) % 2).astype(np.uint8)
    x = np.zeros((n, length), np.int16)
    cue = [np.arange(10, 60), np.arange(60, 110)]
    for i in range(n):
        k = int(rng.integers(length // 3, length + 1))
        words = rng.zipf(1.3, k) % (vocab - 110) + 110
        marked = rng.random(k) < 0.15
        words[marked] = rng.choice(cue[y[i]], int(marked.sum()))
        x[i, length - k :] = words
    return {"x": x, "y": y}


def tagged_tokens(name: str, n: int, length: int, vocab: int, tags: int) -> Arrays:
    """Sentences of token ids (0 = padding, at the end) with one tag id per token (named-entity
    recognition): tag 0 ("O") for most words and the padding, entity tags for words drawn from
    each tag's own part of the vocabulary."""
    rng = _rng(name)
    x = np.zeros((n, length), np.int16)
    y = np.zeros((n, length), np.uint8)
    per_tag = (vocab - 1) // (2 * tags)
    for i in range(n):
        k = int(rng.integers(length // 2, length + 1))
        tag = np.where(rng.random(k) < 0.25, rng.integers(1, tags, k), 0)
        word = rng.integers(0, per_tag, k)
        x[i, :k] = np.where(tag > 0, 1 + tag * per_tag + word, 1 + rng.integers(tags * per_tag, vocab - 1, k))
        y[i, :k] = tag
    return {"x": x, "y": y}


def multi_label_tokens(name: str, n: int, length: int, vocab: int, labels: int) -> Arrays:
    """Abstracts as token ids with several topics each (multi-hot rows): a topic present puts
    its own words into the text."""
    rng = _rng(name)
    y = (rng.random((n, labels)) < 0.3).astype(np.uint8)
    y[y.sum(axis=1) == 0, 0] = 1
    x = np.zeros((n, length), np.int16)
    for i in range(n):
        words = rng.integers(labels * 20 + 1, vocab, length)
        for topic in np.flatnonzero(y[i]):
            spots = rng.random(length) < 0.1
            words[spots] = 1 + topic * 20 + rng.integers(0, 20, int(spots.sum()))
        x[i] = words
    return {"x": x, "y": y}


def lane_masks(name: str, n: int, size: int) -> Arrays:
    """Road-like colour images with one or two bright slanted lane lines, and their 0/1 masks."""
    rng = _rng(name)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    x = np.empty((n, size, size, 3), np.uint8)
    y = np.zeros((n, size, size, 1), np.uint8)
    for i in range(n):
        road = 0.3 + 0.1 * rng.random() + rng.normal(0, 0.03, (size, size, 3))
        mask = np.zeros((size, size), bool)
        for _ in range(int(rng.integers(1, 3))):
            x0, slope = rng.uniform(0.2 * size, 0.8 * size), rng.uniform(-0.6, 0.6)
            mask |= np.abs(xx - (x0 + slope * (yy - size / 2))) < 1.2
        road[mask] = [0.95, 0.95, 0.8]
        x[i] = (np.clip(road, 0, 1) * 255).round().astype(np.uint8)
        y[i, ..., 0] = mask
    return {"x": x, "y": y}


# ---------------------------------------------------------------- tabular and series


def penguins(name: str, n: int) -> Arrays:
    """Palmer-penguins-like measurements of three species, one array per feature (as TFX's
    transformed `<feature>_xf` inputs) and the species id."""
    rng = _rng(name)
    species = rng.permutation(np.arange(n) % 3).astype(np.uint8)
    means = np.array([[38.8, 18.3, 190.0, 3700.0], [48.8, 18.4, 196.0, 3730.0], [47.5, 15.0, 217.0, 5080.0]])
    spread = np.array([2.7, 1.2, 6.5, 460.0])
    values = means[species] + rng.normal(size=(n, 4)) * spread
    names = ["culmen_length_mm_xf", "culmen_depth_mm_xf", "flipper_length_mm_xf", "body_mass_g_xf"]
    arrays: Arrays = {f: values[:, j : j + 1].astype(np.float32) for j, f in enumerate(names)}
    arrays["species"] = species
    return arrays


def two_targets(name: str, n: int, features: int) -> Arrays:
    """Rows of features and a 2-D projection of them to predict (two regression targets)."""
    rng = _rng(name)
    x = rng.normal(size=(n, features)).astype(np.float32)
    w = rng.normal(size=(features, 2)) / np.sqrt(features)
    y = np.tanh(x @ w) + 0.2 * np.sin(x[:, :2] * 2)
    return {"x": x, "y": y.astype(np.float32)}


def regression(name: str, n: int, features: int, unit_target: bool) -> Arrays:
    """y from a smooth non-linear function of x, plus noise; in [0, 1] when `unit_target`."""
    rng = _rng(name)
    x = rng.normal(size=(n, features)).astype(np.float32)
    w = rng.normal(size=features)
    z = np.tanh(x @ w / np.sqrt(features)) + 0.3 * np.sin(x[:, 0] * 2) + rng.normal(0, 0.05, n)
    y = 1 / (1 + np.exp(-2 * z)) if unit_target else z
    return {"x": x, "y": y.astype(np.float32)}


def windows(name: str, n: int, steps: int, features: int) -> Arrays:
    """Windows of a noisy multi-feature series, the target the next value of the first feature."""
    rng = _rng(name)
    t = np.arange(n + steps + 1, dtype=np.float64)
    series = np.stack(
        [np.sin(t / (7 + 5 * f)) + 0.002 * t + rng.normal(0, 0.05, t.size) for f in range(features)],
        axis=1,
    )
    x = np.stack([series[i : i + steps] for i in range(n)]).astype(np.float32)
    y = series[steps : steps + n, 0].astype(np.float32)
    return {"x": x, "y": y}


def _csv(header: list[str], rows: NDArray[np.float64], digits: int = 4) -> str:
    def cell(v: float) -> str:
        return str(int(v)) if v == int(v) else f"{v:.{digits}f}".rstrip("0").rstrip(".")

    lines = [",".join(header)] + [",".join(cell(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def churn_csv(name: str, n: int) -> str:
    """A telco-churn-like table: numeric columns and one-hot (get_dummies) columns, label `Churn`."""
    rng = _rng(name)
    tenure = rng.integers(0, 72, n)
    monthly = rng.uniform(18, 120, n).round(2)
    total = (tenure * monthly * rng.uniform(0.9, 1.1, n)).round(2)
    senior = (rng.random(n) < 0.16).astype(float)
    contract = rng.choice(3, n, p=[0.55, 0.25, 0.2])
    internet = rng.choice(3, n, p=[0.35, 0.45, 0.2])
    paperless = (rng.random(n) < 0.6).astype(float)
    logit = -1.2 - 0.04 * tenure + 0.02 * monthly + 0.4 * senior
    logit = logit + 1.2 * (contract == 0) + 0.6 * (internet == 1)
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    cols = [tenure, monthly, total, senior, paperless]
    cols += [(contract == k).astype(float) for k in range(3)]
    cols += [(internet == k).astype(float) for k in range(3)]
    header = ["tenure", "MonthlyCharges", "TotalCharges", "SeniorCitizen", "PaperlessBilling"]
    header += ["Contract_Month-to-month", "Contract_One year", "Contract_Two year"]
    header += ["InternetService_DSL", "InternetService_Fiber optic", "InternetService_No", "Churn"]
    return _csv(header, np.column_stack([*cols, churn]))


def mixed_csv(name: str, n: int) -> str:
    """A table of string and numeric columns with a 0/1 label, as in the wide-and-deep tutorial
    (its Kaggle csv is not public): three categorical columns, four numeric ones, `target`."""
    rng = _rng(name)
    kinds = {
        "breed": ["beagle", "collie", "husky", "poodle", "terrier"],
        "region": ["north", "south", "east", "west"],
        "plan": ["basic", "plus", "premium"],
    }
    picks = {c: rng.integers(0, len(v), n) for c, v in kinds.items()}
    age, weight = rng.uniform(0.5, 15, n).round(1), rng.uniform(3, 45, n).round(1)
    visits, spend = rng.integers(0, 20, n), rng.uniform(5, 400, n).round(2)
    logit = -1.0 + 0.15 * visits - 0.004 * spend + 0.8 * (picks["plan"] == 2) - 0.6 * (picks["breed"] == 1)
    target = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    header = [*kinds, "age", "weight", "visits", "spend", "target"]
    lines = [",".join(header)]
    for i in range(n):
        strings = [kinds[c][picks[c][i]] for c in kinds]
        numbers = [f"{age[i]:g}", f"{weight[i]:g}", str(visits[i]), f"{spend[i]:g}", str(target[i])]
        lines.append(",".join([*strings, *numbers]))
    return "\n".join(lines) + "\n"


def regression_csv(name: str, n: int, header: list[str], scale: float, offset: float) -> str:
    """A numeric table whose last column is a noisy non-linear function of the others."""
    arrays = regression(name, n, len(header) - 1, unit_target=False)
    x, y = arrays["x"].astype(np.float64), arrays["y"].astype(np.float64)
    return _csv(header, np.column_stack([x, offset + scale * y]), digits=3)


# ---------------------------------------------------------------- the files


FILES: dict[str, Callable[[], Arrays | str]] = {
    "mnist_small.npz": lambda: keras_images("mnist_small", 240, 16, 28, 1),
    "fashion_mnist_small.npz": lambda: keras_images("fashion_mnist_small", 240, 16, 28, 1),
    "cifar10_small.npz": lambda: keras_images("cifar10_small", 120, 10, 32, 3),
    "cats_dogs_small.npz": lambda: two_class_images("cats_dogs_small", 80, 32),
    "imdb_small.npz": lambda: token_ids("imdb_small", 240, 100, 5000),
    "regression_10.npz": lambda: regression("regression_10", 240, 10, unit_target=False),
    "regression_20.npz": lambda: regression("regression_20", 240, 20, unit_target=True),
    "descriptors.npz": lambda: regression("descriptors", 240, 32, unit_target=False),
    "stock_windows.npz": lambda: windows("stock_windows", 200, 50, 3),
    "series_windows.npz": lambda: windows("series_windows", 200, 30, 1),
    "crypto_windows.npz": lambda: windows("crypto_windows", 200, 30, 11),
    "ner_small.npz": lambda: tagged_tokens("ner_small", 200, 40, 1000, 9),
    "abstracts_multilabel.npz": lambda: multi_label_tokens("abstracts_multilabel", 200, 60, 3000, 8),
    "lanes_small.npz": lambda: lane_masks("lanes_small", 60, 32),
    "penguins.npz": lambda: penguins("penguins", 240),
    "projection_2d.npz": lambda: two_targets("projection_2d", 240, 8),
    "telco_churn.csv": lambda: churn_csv("telco_churn", 300),
    "dogfood_mixed.csv": lambda: mixed_csv("dogfood_mixed", 300),
    "house_prices.csv": lambda: regression_csv(
        "house_prices",
        300,
        ["rooms", "area", "age", "distance", "tax", "income", "crime", "price"],
        100_000,
        250_000,
    ),
    "air_quality.csv": lambda: regression_csv(
        "air_quality", 300, ["T", "TM", "Tm", "SLP", "H", "VV", "V", "VM", "PM25"], 60, 110
    ),
    "taxi_fares.csv": lambda: regression_csv(
        "taxi_fares",
        300,
        ["distance_km", "hour", "weekday", "passengers", "pickup_lat", "pickup_lon", "log_fare"],
        0.6,
        2.3,
    ),
}


def build(name: str) -> Arrays | str:
    return FILES[name]()


def save_npz(path: Path, arrays: Arrays) -> None:
    """Like numpy.savez_compressed, but byte for byte the same on every run (a fixed timestamp),
    so rebuilding the files leaves git with nothing to commit."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def write(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        path = out / name
        content = build(name)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            save_npz(path, content)
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "datasets"
    for p in write(target):
        print(f"{p}  {p.stat().st_size / 1024:.0f} KiB")
