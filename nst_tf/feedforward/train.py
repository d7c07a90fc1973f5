"""Training a style network: perceptual losses through a frozen VGG, under a distribution strategy.

``train(config, style, data_dir, workdir)``:

* the strategy is chosen for the hardware or named (:mod:`nst_tf.feedforward.distribute`: TPU,
  several GPUs, several workers from ``TF_CONFIG``) and the transformer is built in its scope
  under the precision policy (``LossScaleOptimizer`` under float16); the batch is global, split
  across replicas, so the same seed and batch train the same weights on one worker or several;
* each step stylises a batch of photos and applies the content, style (against the style
  image's Gram matrices, computed once) and TV losses of ``nst_tf.losses``;
* ``tf.train.CheckpointManager`` saves model, optimizer and step every ``checkpoint_every``
  steps (and on Ctrl-C); rerunning with the same ``workdir`` resumes from the latest
  checkpoint with the same optimizer state and the same data order;
* TensorBoard scalars and sample images go to ``workdir/logs``; progress lines show ETA.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from nst_tf import images, precision, signals
from nst_tf.config import FastTrainConfig
from nst_tf.errors import UserError, first_line
from nst_tf.feedforward import data, distribute
from nst_tf.feedforward import workdir as wd
from nst_tf.feedforward.johnson import build_transformer
from nst_tf.feedforward.perceptual import PerceptualLoss
from nst_tf.monitor import ProgressPrinter, TensorBoardLogger
from nst_tf.steps import StepInfo

log = logging.getLogger("nst_tf")


def _load_style(style, config: FastTrainConfig) -> np.ndarray:
    img = images.load_image(style)
    return images.resize(img, max(32, round(config.image_size * config.style_scale)))


class Trainer:
    """Model, optimizer, checkpoints and the distributed step for one ``workdir``."""

    def __init__(self, config: FastTrainConfig, style, workdir, strategy: Optional[tf.distribute.Strategy] = None):
        self.config = config
        self.workdir = Path(workdir)
        wd.check(self.workdir)
        stored = wd.arch(self.workdir)
        if stored is not None and stored != config.arch:
            raise UserError(
                f"{self.workdir} holds a --arch={stored} network; pass --arch={stored} to resume it, "
                "or choose another --workdir"
            )
        self.strategy = strategy or distribute.make_strategy("auto")
        self.chief = distribute.is_chief(self.strategy)
        self.policy = precision.resolve(config.precision)
        self._prepare(style)
        keras.utils.set_random_seed(config.seed)  # same initial weights for the same seed (seeds numpy/TF too)
        with self.strategy.scope():
            with precision.policy_scope(self.policy):
                self.model = self._build_model()
            self.loss = self._build_loss()
            self.schedule = schedule = keras.optimizers.schedules.ExponentialDecay(
                config.learning_rate, decay_steps=config.decay_steps, decay_rate=config.decay_rate
            )
            self.optimizer = precision.wrap_optimizer(keras.optimizers.Adam(schedule), self.policy)
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.scaled = isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, step=self.step)
        # Every worker saves (a collective step); only the chief's checkpoints are kept, in the workdir.
        save_dir = wd.checkpoints(self.workdir) if self.chief else Path(tempfile.mkdtemp(prefix="nst_tf_worker_"))
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(save_dir), max_to_keep=3)
        self._restore_latest_good()
        if stored is None and self.chief:
            wd.write_arch(self.workdir, config.arch)
        self._train_step = None

    # ------------------------------------------------------------ what a kind of network changes

    def _prepare(self, style) -> None:
        """Read the style input before anything is built (per-style: one image, its Grams fixed)."""
        self.style_image = _load_style(style, self.config)

    def _build_model(self) -> keras.Model:
        return build_transformer(self.config.arch)

    def _build_loss(self) -> "PerceptualLoss":
        return PerceptualLoss(self.config, self.style_image, self.policy)

    def _describe_loss(self) -> str:
        return f"perceptual loss on {self.loss.extractor.describe()}"

    def _forward(self, batch, training: bool) -> tuple:
        """(stylised images, the photos whose content they keep, what else the loss compares with:
        here their style Grams or None for the fixed style's) for one batch."""
        return self.model(batch, training=training), batch, None

    def _dataset(self, data_dir, start_step: int, part=None, per_replica=None) -> tuple:
        """(dataset of batches resuming after ``start_step``, number of photos); ``part`` and
        ``per_replica`` as for :func:`nst_tf.feedforward.data.make_dataset`."""
        c = self.config
        paths = data.list_images(data_dir)
        return data.make_dataset(
            paths,
            c.image_size,
            c.batch_size,
            seed=c.seed,
            skip_batches=start_step,
            part=part,
            per_replica=per_replica,
            max_scale=c.max_scale,
        ), len(paths)

    def _distributed_batches(self, data_dir, start_step: int) -> tuple:
        """An iterator of distributed global batches, and the number of photos. Each worker reads
        only its replicas' share of every global batch, in the single-process order."""
        replicas, found = self.strategy.num_replicas_in_sync, {}
        if self.config.batch_size % replicas:
            raise UserError(
                f"--batch_size {self.config.batch_size} does not split evenly over {replicas} replicas; "
                f"pass a multiple of {replicas}"
            )

        def dataset_fn(ctx):
            per = ctx.get_per_replica_batch_size(self.config.batch_size)
            local = replicas // ctx.num_input_pipelines
            start = ctx.input_pipeline_id * per * local
            ds, found["photos"] = self._dataset(
                data_dir, start_step, part=(start, start + per * local), per_replica=per
            )
            return ds

        return iter(self.strategy.distribute_datasets_from_function(dataset_fn)), found["photos"]

    # ------------------------------------------------------------------------------------------

    def _restore_latest_good(self) -> None:
        """Resume from the newest checkpoint that reads back whole; a damaged one (truncated index or
        data file) is skipped with a warning, and if none reads, the run refuses to start."""
        state = tf.train.get_checkpoint_state(str(wd.checkpoints(self.workdir)))  # the chief's, on every worker
        tried = list(reversed(state.all_model_checkpoint_paths)) if state else []
        for path in tried:
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except (tf.errors.OpError, ValueError, AssertionError) as exc:
                first = first_line(exc)
                log.warning("checkpoint %s is damaged (%s); trying the one before", path, first[:160])
                continue
            log.warning("resuming from %s (step %d)", path, int(self.step.numpy()))
            return
        if tried:
            raise UserError(
                f"every checkpoint in {wd.checkpoints(self.workdir)} is damaged; move that folder "
                "away to start training afresh"
            )

    def _step_for(self, step: int):
        """The compiled training step for ``step`` (one for the whole run here)."""
        self._train_step = self._train_step or self._build_step()
        return self._train_step

    def _build_step(self, loss: Optional[Callable] = None):
        """A compiled distributed step that minimises ``loss`` (default ``self.loss``)."""
        strategy, replicas = self.strategy, self.strategy.num_replicas_in_sync
        loss_fn = loss or self.loss

        def replica_step(photos):
            with tf.GradientTape() as tape:
                stylised, content, grams = self._forward(photos, training=True)
                terms = loss_fn(stylised, content, grams)
                loss = terms["total"] / replicas
                if self.scaled:
                    loss = self.optimizer.scale_loss(loss)
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
            self.step.assign_add(1)
            return terms

        @tf.function
        def train_step(photos):
            terms = strategy.run(replica_step, args=(photos,))
            return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in terms.items()}

        return train_step

    def _sample(self, batch) -> np.ndarray:
        """The network's output for the first photo of a (distributed) batch, H x W x 3 float32."""
        first = tf.nest.map_structure(lambda t: t[:1], _first_replica(batch, self.strategy))
        out = self._forward(first, training=False)[0]
        return np.asarray(tf.cast(out[0], tf.float32))

    def save(self) -> str:
        return self.manager.save(checkpoint_number=int(self.step.numpy()))

    def fit(self, data_dir, callbacks: Sequence[Callable[[int, dict], None]] = (), verbose: bool = True) -> dict:
        """Train until ``config.steps``; returns the last step's losses. Ctrl-C saves and re-raises."""
        c = self.config
        start_step = int(self.step.numpy())
        if start_step >= c.steps:
            log.warning("already trained %d of %d steps in %s", start_step, c.steps, self.workdir)
            return {}
        batches, n_photos = self._distributed_batches(data_dir, start_step)
        watchers = ([ProgressPrinter()] if verbose else []) + (
            [TensorBoardLogger(self.workdir / wd.LOGS, image_every=c.checkpoint_every, step_from_info=True)]
            if _has_tensorboard() and self.chief
            else []
        )
        log.info(
            "training %d px x %d, steps %d..%d, %d photos, %s, %d replica(s)",
            c.image_size,
            c.batch_size,
            start_step + 1,
            c.steps,
            n_photos,
            self._describe_loss(),
            self.strategy.num_replicas_in_sync,
        )
        t0, terms = time.perf_counter(), {}
        try:
            for step in range(start_step + 1, c.steps + 1):
                photos = next(batches)
                terms = {k: float(v) for k, v in self._step_for(step)(photos).items()}
                if not math.isfinite(terms["total"]) and not self.scaled:
                    raise FloatingPointError(f"the loss became {terms['total']} at step {step}; lower --learning_rate")
                if step % c.checkpoint_every == 0 or step == c.steps:
                    self.save()
                info = StepInfo(
                    step,
                    c.steps,
                    terms,
                    time.perf_counter() - t0,
                    float(self.schedule(step - 1)),
                    lambda photos=photos: self._sample(photos),
                )
                for watcher in watchers:
                    watcher(info)
                for cb in callbacks:
                    cb(step, terms)
        except (KeyboardInterrupt, Exception) as exc:
            if not signals.caused_by_interrupt(exc):
                raise
            path = self.save()
            log.warning(
                "interrupted at step %d; saved %s (rerun with the same workdir to resume)", int(self.step.numpy()), path
            )
            raise KeyboardInterrupt() from None
        finally:
            for watcher in watchers:
                if isinstance(watcher, TensorBoardLogger):
                    watcher.close()
        return terms


def _first_replica(batch, strategy):
    """The first replica's part of a (possibly nested) distributed batch."""
    return tf.nest.map_structure(lambda v: strategy.experimental_local_results(v)[0], batch)


def _has_tensorboard() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None
