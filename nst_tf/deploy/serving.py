"""The SavedModel for TF Serving, and the REST ``:predict`` request and response shapes.

The folder is ``NAME/VERSION/`` (what ``tensorflow_model_server --model_base_path=.../NAME``
loads). Signatures:

* ``serving_default``: ``image_bytes`` (a JPEG/PNG/... file's bytes, one per instance; for the
  two-input any-style model also ``style_bytes``; any-style models also ``strength``, float, 1 =
  the painting's style) -> ``image_bytes``, the result as PNG. Names ending in ``_bytes`` are what
  TF Serving's REST API carries as ``{"b64": ...}``, so a JSON request with a base64 photo works.
* ``pixels``: uint8 [B, H, W, 3] (and ``strength`` [], and ``style`` [1, h, w, 3]) -> ``image``.
* ``style_vector`` (two-input any-style models): uint8 style images -> ``vector`` [B, 100].
* ``pixels_WxH`` for each ``--shapes`` bucket: batch 1 at a fixed size, for TPUs and XLA (the
  network at full strength; the two-input model takes ``content`` and a style ``vector``).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from nst_tf.deploy.servable import Servable, image_spec
from nst_tf.errors import UserError

DEFAULT_SIGNATURE = "serving_default"
PIXELS = "pixels"
STYLE_VECTOR = "style_vector"


def shape_signature(shape: tuple) -> str:
    return f"{PIXELS}_{shape[0]}x{shape[1]}"


def _bytes_specs(servable: Servable) -> list:
    specs = [tf.TensorSpec([None], tf.string, name="image_bytes")]
    for name in servable.bytes_inputs:
        if name == "style":
            specs.append(tf.TensorSpec([None], tf.string, name="style_bytes"))
        else:
            specs.append(tf.TensorSpec([None], tf.float32, name=name))
    return specs


def _decode(data: tf.Tensor) -> tf.Tensor:
    return tf.io.decode_image(data, channels=3, expand_animations=False)[None]


def bytes_function(servable: Servable):
    """``serving_default``: encoded images in, PNG bytes out, one per instance."""

    def one(args):
        image, rest = _decode(args[0]), list(args[1:])
        extras = [_decode(x) if x.dtype == tf.string else x for x in rest]
        return tf.io.encode_png(servable.pixel_fn(image, *extras)["image"][0])

    def encoded(*inputs):
        return {"image_bytes": tf.map_fn(one, tuple(inputs), fn_output_signature=tf.string)}

    return tf.function(encoded, input_signature=_bytes_specs(servable))


def write_saved_model(servable: Servable, folder: Path, shapes: Sequence[tuple] = ()) -> Path:
    """The SavedModel with every signature at ``folder`` (which must not exist yet)."""
    import keras

    archive = keras.export.ExportArchive()
    for model in servable.keep:
        archive.track(model)
    archive.add_endpoint(DEFAULT_SIGNATURE, bytes_function(servable))
    archive.add_endpoint(PIXELS, tf.function(servable.pixel_fn, input_signature=servable.pixel_specs(None)))
    if servable.style_vector is not None:
        archive.add_endpoint(STYLE_VECTOR, tf.function(servable.style_vector, input_signature=[image_spec("style")]))
    part = servable.shape_part
    for shape in shapes:
        archive.add_endpoint(shape_signature(shape), tf.function(part.pixels, input_signature=part.specs(shape)))
    archive.write_out(str(folder), verbose=False)
    return folder


def signature_inputs(fn) -> dict:
    """name -> TensorSpec of a loaded signature's inputs."""
    return dict(fn.structured_input_signature[1])


def run_signature(fn, inputs: dict) -> dict:
    """Call a loaded signature with numpy inputs; numpy outputs."""
    specs = signature_inputs(fn)
    out = fn(**{k: tf.constant(v, specs[k].dtype) for k, v in inputs.items()})
    return {k: v.numpy() for k, v in out.items()}


# --------------------------------------------------------------------------- REST :predict


class RestError(ValueError):
    """A request TF Serving would answer with HTTP 400."""


def _from_json(value, spec: tf.TensorSpec):
    if spec.dtype == tf.string:
        if isinstance(value, dict) and "b64" in value:
            try:
                return base64.b64decode(value["b64"], validate=True)
            except (ValueError, TypeError):
                raise RestError(f"{spec.name}: the b64 value is not valid base64") from None
        if isinstance(value, str):
            return value.encode()
        raise RestError(f'{spec.name}: expected {{"b64": "..."}} or a string')
    try:
        return np.asarray(value, spec.dtype.as_numpy_dtype)
    except (ValueError, TypeError):
        raise RestError(f"{spec.name}: expected numbers of type {spec.dtype.name}") from None


def _to_json(name: str, value):
    if name.endswith("_bytes"):
        return [{"b64": base64.b64encode(v).decode("ascii")} for v in value]
    return np.asarray(value).tolist()


def predict(fn, body: dict) -> dict:
    """Answer a TF Serving REST ``:predict`` body (``instances``, row format, or ``inputs``,
    columnar) with ``fn`` (a loaded signature), as TF Serving does: ``{"predictions": ...}`` /
    ``{"outputs": ...}``; binary values as ``{"b64": ...}``. Raises :class:`RestError`."""
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        raise RestError('the request needs exactly one of "instances" (row format) or "inputs" (columnar format)')
    specs = signature_inputs(fn)
    columnar = "inputs" in body
    if columnar:
        given = body["inputs"]
        if not isinstance(given, dict):
            if len(specs) != 1:
                raise RestError(f'"inputs" must name the inputs: {", ".join(sorted(specs))}')
            given = {next(iter(specs)): given}
        columns = given
    else:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise RestError('"instances" must be a non-empty list')
        if len(specs) == 1 and not all(isinstance(r, dict) and set(r) <= set(specs) and r for r in rows):
            rows = [{next(iter(specs)): r} for r in rows]
        if not all(isinstance(r, dict) for r in rows):
            raise RestError(f"each instance must be an object with {', '.join(sorted(specs))}")
        columns = {name: [r.get(name) for r in rows] for name in specs}
    missing = [n for n in specs if n not in columns or any(v is None for v in np.atleast_1d(columns[n]))]
    if missing:
        raise RestError(f"missing input {', '.join(missing)}; this model takes {', '.join(sorted(specs))}")
    unknown = sorted(set(columns) - set(specs))
    if unknown:
        raise RestError(f"unknown input {', '.join(unknown)}; this model takes {', '.join(sorted(specs))}")
    inputs = {}
    for name, spec in specs.items():
        values = columns[name]
        if spec.dtype == tf.string:
            inputs[name] = np.array([_from_json(v, spec) for v in values], dtype=object)
        else:
            inputs[name] = _from_json(values, spec)
    try:
        outputs = run_signature(fn, inputs)
    except (tf.errors.InvalidArgumentError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RestError(f"the model could not run on this request: {first[:300]}") from None
    if columnar:
        return {"outputs": {k: _to_json(k, v) for k, v in outputs.items()}}
    if len(outputs) == 1:
        ((name, value),) = outputs.items()
        return {"predictions": _to_json(name, value)}
    n = len(next(iter(outputs.values())))
    per_name = {k: _to_json(k, v) for k, v in outputs.items()}
    return {"predictions": [{k: per_name[k][i] for k in outputs} for i in range(n)]}


def latest_version(base: Path) -> Optional[Path]:
    """The highest numbered version folder under a TF Serving model base path, or None."""
    found = [p for p in base.iterdir() if p.name.isdigit()] if base.is_dir() else []
    return max(found, key=lambda p: int(p.name)) if found else None


def load(folder) -> object:
    """A SavedModel written here (its own folder, or ``NAME/`` with version folders: the highest)."""
    folder = Path(folder)
    if not (folder / "saved_model.pb").is_file():
        folder = latest_version(folder)
        if folder is None or not (folder / "saved_model.pb").is_file():
            raise UserError(
                f"{folder} holds no SavedModel (saved_model.pb, or NAME/VERSION/); export one with nst-export"
            )
    return tf.saved_model.load(str(folder))
