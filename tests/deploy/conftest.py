"""Fixtures of the export tests."""

from __future__ import annotations

import pytest
import tensorflow as tf

from nst_tf.feedforward import workdir as wd
from nst_tf.feedforward.johnson import build_transformer


@pytest.fixture(scope="session")
def perstyle_workdir(tmp_path_factory):
    """A per-style workdir with a checkpoint (untrained johnson_slim: the export does not care)."""
    workdir = tmp_path_factory.mktemp("run")
    wd.write_arch(workdir, "johnson_slim")
    keras_model = build_transformer("johnson_slim")
    ckpt = tf.train.Checkpoint(model=keras_model)
    tf.train.CheckpointManager(ckpt, str(wd.checkpoints(workdir)), max_to_keep=1).save()
    return workdir, keras_model
