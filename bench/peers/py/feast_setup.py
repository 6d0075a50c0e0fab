"""Makes the Feast feature repository of the features comparison and writes every customer's row to its Redis store.

Usage: python feast_setup.py <repo dir> <redis host:port> <values.json>
values.json: {"columns": [feature names], "rows": [[customer_id, value, ...], ...]}
The feature view `customer_transactions` holds the columns as Float64, keyed by the entity `customer`
(join key `customer_id`), fed by the push source `customer_push`.
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float64

PROJECT = "flywheel_peers"
VIEW = "customer_transactions"
PUSH = "customer_push"


def write_config(repo: Path, redis: str) -> None:
    (repo / "feature_store.yaml").write_text(
        "\n".join(
            [
                f"project: {PROJECT}",
                f"registry: {repo / 'registry.db'}",
                "provider: local",
                "online_store:",
                "  type: redis",
                f'  connection_string: "{redis}"',
                "offline_store:",
                "  type: file",
                "",
            ]
        )
    )


def main(repo_dir: str, redis: str, values_file: str) -> None:
    repo = Path(repo_dir)
    repo.mkdir(parents=True, exist_ok=True)
    values = json.loads(Path(values_file).read_text())
    columns: list[str] = values["columns"]
    now = datetime.now(timezone.utc)
    frame = pd.DataFrame(values["rows"], columns=["customer_id", *columns])
    frame["event_timestamp"] = now
    offline = repo / "customers.parquet"
    frame.to_parquet(offline)

    write_config(repo, redis)
    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.STRING)
    push = PushSource(
        name=PUSH,
        batch_source=FileSource(name="customers_file", path=str(offline), timestamp_field="event_timestamp"),
    )
    view = FeatureView(
        name=VIEW,
        entities=[customer],
        ttl=timedelta(0),
        schema=[Field(name=c, dtype=Float64) for c in columns],
        source=push,
        online=True,
    )
    store = FeatureStore(repo_path=str(repo))
    store.apply([customer, push, view])
    store.write_to_online_store(VIEW, frame)
    print(f"FEAST {json.dumps({'rows': len(frame), 'view': VIEW, 'push': PUSH})}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
