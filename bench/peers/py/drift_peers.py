"""Evidently, Alibi Detect and River on the streams bench/peers/drift.ts wrote: false alarms, delays, CPU.

Usage: drift_peers.py MANIFEST OUT. MANIFEST names the reference rows, the stationary stream and the changed
streams (little-endian float64 matrices, one row per transaction, the manifest's columns). Every detector sees the
same rows. CPU is process time (time.process_time, every thread) around the detection work alone: the detectors are
built and the files read before the clock starts.
"""

import copy
import json
import os
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
os.environ.setdefault("DO_NOT_TRACK", "1")


def load_matrix(base, entry, width):
    data = np.fromfile(os.path.join(base, entry["file"]), dtype="<f8")
    return data.reshape(-1, width)


class Evidently:
    """Report([DriftedColumnsCount()]): the metric DataDriftPreset's dataset verdict comes from, default tests."""

    def __init__(self, reference, columns, kinds):
        import pandas as pd
        from evidently import DataDefinition, Dataset, Report
        from evidently.metrics import DriftedColumnsCount

        self.pd, self.Dataset = pd, Dataset
        self.columns, self.kinds = columns, kinds
        self.definition = DataDefinition(
            numerical_columns=[c for c, k in zip(columns, kinds) if k == "numeric"],
            categorical_columns=[c for c, k in zip(columns, kinds) if k == "categorical"],
        )
        self.reference = self.dataset(reference)
        self.report = Report([DriftedColumnsCount()])
        self.share = 0.5
        self.detectors = [
            {
                "id": "evidently-dataset",
                "name": "Evidently, dataset drift",
                "method": "DriftedColumnsCount over all columns, default tests; window drifted when ≥ 50 % of columns drift",
            },
            {
                "id": "evidently-any",
                "name": "Evidently, any column",
                "method": "the same report; window drifted when any column drifts",
            },
        ]

    def dataset(self, rows):
        frame = self.pd.DataFrame(rows, columns=self.columns)
        for c, k in zip(self.columns, self.kinds):
            if k == "categorical":
                frame[c] = frame[c].astype(np.int64)
        return self.Dataset.from_pandas(frame, data_definition=self.definition)

    def verdicts(self, window):
        snapshot = self.report.run(self.dataset(window), self.reference)
        value = snapshot.dict()["metrics"][0]["value"]
        return {"evidently-dataset": value["share"] >= self.share, "evidently-any": value["count"] >= 1}

    def tests_used(self, window):
        """The test and threshold Evidently picked for each column (they depend on the reference's size)."""
        from evidently.legacy.calculations.stattests.registry import get_stattest

        ref = self.reference.as_dataframe()
        cur = self.dataset(window).as_dataframe()
        out = {}
        for c, k in zip(self.columns, self.kinds):
            test = get_stattest(ref[c], cur[c], "num" if k == "numeric" else "cat", None)
            out[c] = f"{test.display_name} {test.default_threshold}"
        return out


class AlibiTabular:
    def __init__(self, reference, kinds):
        from alibi_detect.cd import TabularDrift

        cats = {i: None for i, k in enumerate(kinds) if k == "categorical"}
        self.cd = TabularDrift(reference, p_val=0.05, categories_per_feature=cats)
        self.detectors = [
            {
                "id": "alibi-tabular",
                "name": "Alibi Detect TabularDrift",
                "method": "KS per numeric column, χ² per categorical, p_val 0.05 with Bonferroni (0.05 / 10 per column)",
            }
        ]

    def verdicts(self, window):
        return {"alibi-tabular": bool(self.cd.predict(window)["data"]["is_drift"])}


class AlibiColumn:
    """One column only (KSDrift for a numeric column, ChiSquareDrift for a categorical one), p_val 0.05."""

    def __init__(self, reference, column, index, kind):
        from alibi_detect.cd import ChiSquareDrift, KSDrift

        self.index = [index]
        cls = KSDrift if kind == "numeric" else ChiSquareDrift
        self.cd = cls(reference[:, self.index], p_val=0.05)
        self.id = f"alibi-{cls.__name__}-{column}"
        self.detectors = [
            {
                "id": self.id,
                "name": f"Alibi Detect {cls.__name__} ({column} only)",
                "method": f"{'KS' if kind == 'numeric' else 'χ²'} on {column} alone, p_val 0.05",
                "watches": column,
            }
        ]

    def verdicts(self, window):
        return {self.id: bool(self.cd.predict(window[:, self.index])["data"]["is_drift"])}


def river_streams(rows, reference, kinds):
    """Numeric columns as z-scores against the reference; each category of a categorical column as a 0/1
    indicator (one indicator for a two-valued flag). River's detectors are univariate: one per stream."""
    parts = []
    for j, kind in enumerate(kinds):
        col = rows[:, j]
        if kind == "numeric":
            ref = reference[:, j]
            parts.append(((col - ref.mean()) / (ref.std() or 1.0))[:, None])
            continue
        values = np.unique(reference[:, j])
        values = values[:1] if len(values) == 2 else values
        parts.append(np.stack([(col == v).astype(np.float64) for v in values], axis=1))
    return np.concatenate(parts, axis=1)


class River:
    def __init__(self, reference, kinds, which):
        from river import drift

        self.kinds, self.reference = kinds, reference
        warm = river_streams(reference, reference, kinds)
        make = drift.ADWIN if which == "ADWIN" else drift.PageHinkley
        self.warmed = [make() for _ in range(warm.shape[1])]
        for row in warm.tolist():
            for d, x in zip(self.warmed, row):
                d.update(x)
        self.id = f"river-{which.lower()}"
        method = (
            "ADWIN(delta=0.002) per stream"
            if which == "ADWIN"
            else "PageHinkley(min_instances=30, delta=0.005, threshold=50, alpha=0.9999) per stream"
        )
        self.detectors = [
            {
                "id": self.id,
                "name": f"River {which}",
                "method": f"{method}; {warm.shape[1]} streams, alarm when any fires; fed the reference first",
                "streams": warm.shape[1],
            }
        ]

    def streams(self, rows):
        return river_streams(rows, self.reference, self.kinds).tolist()

    def fresh(self):
        """Detectors as they stand after the reference: every stream starts from the same state."""
        return copy.deepcopy(self.warmed)

    def alarms(self, detectors, streams, stop_after=None):
        """Transactions (0-based) at which any detector fired; stops at the first one at or after stop_after."""
        out = []
        for i, row in enumerate(streams):
            fired = False
            for d, x in zip(detectors, row):
                d.update(x)
                fired = fired or d.drift_detected
            if fired:
                out.append(i)
                if stop_after is not None and i >= stop_after:
                    break
        return out


def windowed(engine, manifest, stationary, runs):
    size = manifest["windowSize"]
    ids = [d["id"] for d in engine.detectors]
    alarms = dict.fromkeys(ids, 0)
    engine.verdicts(stationary[:size])  # the first call loads what the library loads lazily; not timed
    cpu = 0.0
    for w in range(stationary.shape[0] // size):
        window = stationary[w * size : (w + 1) * size]
        start = time.process_time()
        verdict = engine.verdicts(window)
        cpu += time.process_time() - start
        for i in ids:
            alarms[i] += int(verdict[i])
    windows = stationary.shape[0] // size
    delays = {i: [] for i in ids}
    for run, rows in runs:
        change = run["changeAt"]
        pending = set(ids)
        for w in range(change // size, rows.shape[0] // size):
            verdict = engine.verdicts(rows[w * size : (w + 1) * size])
            for i in list(pending):
                if verdict[i]:
                    delays[i].append((w + 1) * size - change)
                    pending.discard(i)
            if not pending:
                break
        for i in pending:
            delays[i].append(None)
    out = []
    for d in engine.detectors:
        i = d["id"]
        out.append(
            {
                **d,
                "family": "window",
                "stationary": {"alarms": alarms[i], "windows": windows, "transactions": stationary.shape[0]},
                "cpuSeconds": cpu,
                "delays": [{"scenario": r["scenario"], "seed": r["seed"], "delay": x} for (r, _), x in zip(runs, delays[i])],
            }
        )
    return out


def streaming(engine, manifest, stationary, runs):
    streams = engine.streams(stationary)
    detectors = engine.fresh()
    start = time.process_time()
    fired = engine.alarms(detectors, streams)
    cpu = time.process_time() - start
    delays = []
    for run, rows in runs:
        change = run["changeAt"]
        after = [i for i in engine.alarms(engine.fresh(), engine.streams(rows), stop_after=change) if i >= change]
        delays.append({"scenario": run["scenario"], "seed": run["seed"], "delay": after[0] - change + 1 if after else None})
    d = engine.detectors[0]
    return [
        {
            **d,
            "family": "stream",
            "stationary": {
                "alarms": len(fired),
                "windows": stationary.shape[0] // manifest["windowSize"],
                "transactions": stationary.shape[0],
            },
            "cpuSeconds": cpu,
            "delays": delays,
        }
    ]


def main():
    manifest_path, out_path = sys.argv[1], sys.argv[2]
    with open(manifest_path) as f:
        manifest = json.load(f)
    base = os.path.dirname(manifest_path)
    columns, kinds = manifest["columns"], manifest["kinds"]
    width = len(columns)
    reference = load_matrix(base, manifest["reference"], width)
    stationary = load_matrix(base, manifest["stationary"], width)
    runs = [(r, load_matrix(base, r, width)) for r in manifest["runs"]]
    results = []
    log = lambda text: print(f"drift peers: {text}", file=sys.stderr, flush=True)

    evidently = Evidently(reference, columns, kinds)
    tests = evidently.tests_used(stationary[: manifest["windowSize"]])
    log("Evidently")
    results += windowed(evidently, manifest, stationary, runs)
    for r in results:
        r["tests"] = tests
    preset_cpu = preset_cost(reference, stationary, columns, kinds, manifest["windowSize"])

    log("Alibi Detect")
    results += windowed(AlibiTabular(reference, kinds), manifest, stationary, runs)
    for column in manifest["singleColumns"]:
        j = columns.index(column)
        results += windowed(AlibiColumn(reference, column, j, kinds[j]), manifest, stationary, runs)

    for which in ("ADWIN", "PageHinkley"):
        log(f"River {which}")
        results += streaming(River(reference, kinds, which), manifest, stationary, runs)

    with open(out_path, "w") as f:
        json.dump({"detectors": results, "preset": preset_cpu}, f)


def preset_cost(reference, stationary, columns, kinds, size, windows=5):
    """CPU per window of the full DataDriftPreset (same verdict, plus the widgets it renders), on a few windows."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    engine = Evidently(reference, columns, kinds)
    report = Report([DataDriftPreset()])
    cpu = 0.0
    for w in range(windows):
        current = engine.dataset(stationary[w * size : (w + 1) * size])
        start = time.process_time()
        report.run(current, engine.reference).dict()
        cpu += time.process_time() - start
    return {"cpuSecondsPerWindow": cpu / windows, "windows": windows}


if __name__ == "__main__":
    main()
