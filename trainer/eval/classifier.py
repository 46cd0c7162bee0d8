"""The paper's downstream protocol: standardise on the training split, MLP(256), repeated with seeds."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm


@dataclass
class Accuracy:
    mean: float
    std: float
    runs: list[float]  # one accuracy per repeat, each averaged over the task's splits
    test_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # rows predicted in a test split
    predictions: np.ndarray = field(default_factory=lambda: np.zeros(0))  # first repeat's, for those rows

    def __str__(self) -> str:
        return f"{100 * self.mean:.1f} ± {100 * self.std:.1f}"


def split_accuracy(
    x: np.ndarray, y: np.ndarray, train: list[int], test: list[int], seed: int
) -> tuple[float, np.ndarray]:
    """Accuracy on `test` of an MLP trained on `train`, and its predictions."""
    scaler = StandardScaler().fit(x[train])
    clf = MLPClassifier(hidden_layer_sizes=(256,), max_iter=200, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(scaler.transform(x[train]), y[train])
    pred = clf.predict(scaler.transform(x[test]))
    return float((pred == y[test]).mean()), pred


def repeated_accuracy(
    x: np.ndarray,
    y: np.ndarray,
    splits: list[tuple[str, list[int], list[int]]],
    repeats: int = 10,
    label: str | None = None,
) -> Accuracy:
    """Mean ± std over `repeats` seeds of the accuracy averaged over every split (fold).

    With a `label`, a progress bar counts the seeds."""
    runs, rows, preds = [], [], []
    for seed in tqdm(range(repeats), desc=label, disable=label is None, leave=False):
        accs = []
        for _, tr, te in splits:
            acc, pred = split_accuracy(x, y, tr, te, seed)
            accs.append(acc)
            if seed == 0:
                rows.append(np.asarray(te))
                preds.append(pred)
        runs.append(float(np.mean(accs)))
    return Accuracy(
        float(np.mean(runs)), float(np.std(runs)), runs, np.concatenate(rows), np.concatenate(preds)
    )
