"""Which tf.distribute strategy trains a network, and which worker is the chief.

``--strategy``: ``auto`` (a TPU with ``--tpu``; several workers when ``TF_CONFIG`` names a
cluster; several GPUs; else the default), ``one_device``, ``mirrored`` (the GPUs of this
machine), ``multi_worker`` (``MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG``)
or ``tpu``. A multi-worker strategy must exist before TensorFlow runs any op, so commands make it
first thing.

On a cluster every worker runs the same command with the same ``--workdir`` (a shared
filesystem: ``gs://``, NFS); each reads the chief's checkpoints to resume, and only the chief
writes checkpoints, logs and exports (other workers save to a temporary folder, as every worker
must call ``save``).
"""

from __future__ import annotations

import json
import os
from typing import Optional

import tensorflow as tf

from nst_tf.errors import UserError

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


def tf_config() -> dict:
    """The parsed ``TF_CONFIG`` ({} when unset); a malformed one is a user error."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
        if not isinstance(config, dict) or not isinstance(config.get("cluster", {}), dict):
            raise ValueError("expected an object with cluster and task")
        return config
    except ValueError as exc:
        raise UserError(
            f"TF_CONFIG is not valid JSON for a cluster ({exc}); see the README's multi-worker training section"
        ) from None


def cluster_workers(config: Optional[dict] = None) -> int:
    """How many chief and worker tasks ``TF_CONFIG`` names (0 without a cluster)."""
    cluster = (config if config is not None else tf_config()).get("cluster", {})
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def make_strategy(name: str = "auto", tpu: Optional[str] = None) -> tf.distribute.Strategy:
    """The strategy ``name`` (one of :data:`STRATEGIES`)."""
    from nst_tf import precision
    from nst_tf.config import check_choice

    check_choice("strategy", name, STRATEGIES)
    if name == "tpu" or (name == "auto" and tpu):
        return precision.connect_tpu(tpu or "local")
    if tpu:
        raise UserError(f"--tpu needs --strategy=tpu or auto, not {name}")
    config = tf_config()
    if name == "multi_worker" or (name == "auto" and cluster_workers(config) > 1):
        if not cluster_workers(config) or "task" not in config:
            raise UserError(
                "--strategy=multi_worker needs TF_CONFIG naming the cluster and this task, e.g. "
                '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                '"index": 0}}'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if tf.config.list_logical_devices("TPU"):
        return tf.distribute.TPUStrategy(tf.distribute.cluster_resolver.TPUClusterResolver())
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True unless this process is a non-chief worker of a multi-worker cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief
