"""The RunInference model handler: opens any ``--model`` with :func:`nst_tf.feedforward.open_stylizer`."""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np

from nst_tf.beam.apache import ModelHandler
from nst_tf.beam.paths import read_image


class StylizerHandler(ModelHandler):
    """RunInference handler: uint8 H x W x 3 images in, stylised uint8 images out.

    ``model``: ``arbitrary`` (the any-style network with the published weights), a training
    workdir, a SavedModel folder or a ``.tflite`` file, as for ``nst-apply``. ``styles`` (with an
    any-style model): paintings or ``.npy`` style vectors, mixed by ``style_weights``. Only these
    strings are pickled to the workers; the networks are built in :meth:`load_model`.
    """

    def __init__(
        self,
        model: str,
        styles: Sequence[str] = (),
        style_weights: Optional[Sequence[float]] = None,
        strength: float = 1.0,
        precision: str = "auto",
        jit_compile: str = "off",
        max_batch_size: int = 8,
        n_images: int = 1,
        work_size: int = 0,
    ):
        super().__init__()
        self.model, self.styles, self.style_weights = str(model), [str(s) for s in styles], style_weights
        self.strength, self.precision, self.jit_compile = strength, precision, jit_compile
        self.max_batch_size, self.n_images = max_batch_size, n_images  # n_images: what auto XLA weighs
        self.work_size = work_size  # larger images: painted at this size, enlarged with their detail

    def any_style(self) -> bool:
        from nst_tf.feedforward import workdir

        return workdir.is_any_style(self.model)

    def load_model(self):
        from nst_tf.feedforward import open_stylizer

        if not self.any_style():
            return open_stylizer(self.model)
        return open_stylizer(
            self.model,
            self.styles,
            style_weights=self.style_weights,
            strength=self.strength,
            precision=self.precision,
            jit_compile=self.jit_compile,
            n_images=self.n_images,
            read=read_image,
        )

    def run_inference(self, batch: Sequence[np.ndarray], model, inference_args=None) -> Iterable[np.ndarray]:
        from nst_tf.feedforward.print_size import paint_print

        batch = list(batch)
        large = {i for i, image in enumerate(batch) if self.work_size and max(image.shape[:2]) > self.work_size}
        plain = [i for i in range(len(batch)) if i not in large]
        out: list = [None] * len(batch)
        for i, result in zip(plain, model.run_batches([batch[i] for i in plain], self.max_batch_size)):
            out[i] = result
        for i in large:
            out[i] = paint_print(batch[i], lambda image: model.stylize([image])[0], self.work_size)
        return out

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": self.max_batch_size}

    def get_num_bytes(self, batch) -> int:
        return sum(int(np.asarray(b).nbytes) for b in batch)
