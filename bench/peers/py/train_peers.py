"""scikit-learn's LogisticRegression and HistGradientBoostingClassifier on the rows bench/peers/training.ts wrote.

Usage: train_peers.py MANIFEST OUT. MANIFEST names the training and holdout rows and labels and Flywheel's holdout
probabilities (little-endian float64). Each model is fitted `rounds` times (wall and process CPU per fit); ROC AUC
and Brier are computed on the holdout, and the same two metrics on Flywheel's probabilities, so the metric itself
can be compared with Flywheel's own.
"""

import json
import os
import sys
import time
import warnings

import numpy as np


def load(base, entry, width=None):
    data = np.fromfile(os.path.join(base, entry), dtype="<f8")
    return data if width is None else data.reshape(-1, width)


def main():
    manifest_path, out_path = sys.argv[1], sys.argv[2]
    with open(manifest_path) as f:
        manifest = json.load(f)
    base = os.path.dirname(manifest_path)
    width = len(manifest["columns"])
    x_train = load(base, manifest["trainX"], width)
    y_train = load(base, manifest["trainY"]).astype(np.int64)
    x_holdout = load(base, manifest["holdoutX"], width)
    y_holdout = load(base, manifest["holdoutY"]).astype(np.int64)
    flywheel = load(base, manifest["flywheelP"])

    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    models = {
        "logistic": (
            "LogisticRegression",
            "make_pipeline(StandardScaler(), LogisticRegression()): defaults (lbfgs, C = 1, max_iter 100)",
            lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        ),
        "hgb": (
            "HistGradientBoostingClassifier",
            "HistGradientBoostingClassifier(random_state=0): defaults (early stopping on 10 % when rows > 10 000)",
            lambda: HistGradientBoostingClassifier(random_state=0),
        ),
    }
    results = []
    for key, (name, method, make) in models.items():
        walls, cpus, warned = [], [], False
        for _ in range(manifest["rounds"]):
            model = make()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                wall, cpu = time.perf_counter(), time.process_time()
                model.fit(x_train, y_train)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            warned = warned or any(issubclass(w.category, ConvergenceWarning) for w in caught)
        p = model.predict_proba(x_holdout)[:, 1]
        results.append(
            {
                "id": key,
                "name": name,
                "method": method,
                "rocAuc": float(roc_auc_score(y_holdout, p)),
                "brier": float(brier_score_loss(y_holdout, p)),
                "fitSeconds": walls,
                "fitCpuSeconds": cpus,
                "convergenceWarning": warned,
            }
        )
    check = {
        "rocAuc": float(roc_auc_score(y_holdout, flywheel)),
        "brier": float(brier_score_loss(y_holdout, flywheel)),
    }
    with open(out_path, "w") as f:
        json.dump({"models": results, "flywheelBySklearn": check}, f)


if __name__ == "__main__":
    main()
