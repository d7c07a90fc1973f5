"""Property tests (Hypothesis): what users and browsers can send is refused in one line or accepted,
never a crash, and the arithmetic the commands rely on holds for any input, not only the examples."""

import io
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from nst_tf import images
from nst_tf.config import FastTrainConfig
from nst_tf.errors import UserError
from nst_tf.feedforward import footprint
from nst_tf.feedforward.anystyle_stylizer import mix_vectors
from nst_tf.web.params import FIELDS, Limits, parse_params

# derandomize: CI explores the same examples every run (a failure found while developing is kept as a
# test case instead of appearing at random in CI).
FAST = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _png(h=6, w=5) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)).save(buf, "PNG")
    return buf.getvalue()


@FAST
@given(st.one_of(st.binary(max_size=300), st.tuples(st.integers(0, 200), st.binary(min_size=1, max_size=8))))
def test_uploaded_bytes_decode_or_are_refused_in_one_line(data):
    if isinstance(data, tuple):  # a real PNG with a few bytes overwritten: the corrupt-upload case
        at, junk = data
        good = bytearray(_png())
        good[at : at + len(junk)] = junk
        data = bytes(good)
    try:
        img = images.load_image_bytes(data)
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    assert img.dtype == np.float32 and img.ndim == 3 and img.shape[2] == 3
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0


text = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["nan", "inf", "-1", "1e309", "0", "7", " 64 "]))


@FAST
@given(st.fixed_dictionaries({name: text for name in FIELDS if name not in ("content", "style")}),
       st.tuples(st.integers(1, 5000), st.integers(1, 5000)))  # fmt: skip
def test_web_form_fields_are_parsed_within_the_limits_or_refused(fields, shape):
    limits = Limits()
    try:
        p = parse_params(fields, shape, limits)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    top = limits.max_size_arbitrary if p.method == "arbitrary" else limits.max_size_optimize
    assert limits.min_size <= p.size <= top and 1 <= p.steps <= limits.max_steps
    assert 0.0 <= p.strength <= 1.0 and math.isfinite(p.style_weight)


@FAST
@given(st.tuples(st.integers(1, 20000), st.integers(1, 20000)), st.integers(1, 8192))
def test_fit_size_keeps_the_aspect_and_the_longer_side(shape, side):
    h, w = images.fit_size(shape, side)
    assert max(h, w) == side and min(h, w) >= 1
    if min(h, w) > 20:  # rounding moves a short side by at most half a pixel
        assert abs(h / w - shape[0] / shape[1]) <= (shape[0] / shape[1]) * 2 / min(h, w)


@FAST
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=5), st.floats(0.01, 100))
def test_mixing_style_vectors_is_a_convex_combination(weights, scale):
    rng = np.random.default_rng(len(weights))
    vectors = [rng.normal(size=100).astype(np.float32) for _ in weights]
    if np.asarray(weights, np.float32).sum() <= 0:  # weights below float32's range count as 0
        with pytest.raises(UserError):
            mix_vectors(vectors, weights)
        return
    mixed = mix_vectors(vectors, weights)
    stack = np.stack(vectors)
    assert np.all(mixed >= stack.min(0) - 1e-4) and np.all(mixed <= stack.max(0) + 1e-4)
    np.testing.assert_allclose(mix_vectors(vectors, [w * scale for w in weights]), mixed, atol=1e-4)


@FAST
@example("johnson", 100, 16850, 1.0)  # a long thin image: the short side rounded up past the budget
@given(st.sampled_from(sorted(footprint.MIB_PER_MEGAPIXEL)), st.integers(100, 40000), st.integers(100, 40000),
       st.floats(0.5, 64))  # fmt: skip
def test_a_refused_size_names_a_size_that_fits(arch, h, w, gib):
    avail = int(gib * 2**30)
    try:
        footprint.check(arch, h, w, available=avail)
    except UserError as exc:
        side = int(str(exc).split("--size=")[1].split()[0])
        fit_h, fit_w = images.fit_size((h, w), side) if side > 0 else (0, 0)
        assert side == 0 or footprint.fits(arch, fit_h, fit_w, available=avail)


numbers = st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.none())


@FAST
@given(st.fixed_dictionaries({"image_size": numbers, "batch_size": numbers, "steps": numbers,
                              "learning_rate": numbers, "max_scale": numbers, "refine_steps": numbers,
                              "teacher_weight": numbers}),
       st.sampled_from(["none", "arbitrary"]), st.sampled_from(["johnson", "compact", "arbitrary"]))  # fmt: skip
def test_training_options_are_accepted_or_refused_in_one_line(values, teacher, arch):
    values = {k: v for k, v in values.items() if v is not None}
    try:
        c = FastTrainConfig(teacher=teacher, arch=arch, **values)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert c.image_size % 4 == 0 and c.image_size >= 32 and c.batch_size > 0 and c.max_scale >= 1
    assert c.refine_steps == 0 or (c.teacher == "arbitrary" and c.style_weight + c.content_weight > 0)


MODES = ("RGB", "RGBA", "L", "LA", "P", "PA", "CMYK", "I;16", "I", "F", "1", "YCbCr")


@FAST
@given(
    st.sampled_from(MODES),
    st.sampled_from(("PNG", "JPEG", "TIFF", "WEBP", "GIF", "BMP")),
    st.integers(0, 8),  # EXIF orientation (0: none)
    st.integers(1, 40),
    st.integers(1, 40),
)
def test_any_image_mode_format_and_orientation_loads_as_rgb_or_is_refused(tmp_path_factory, mode, fmt, orient, h, w):
    """Odd modes (CMYK, 16-bit, palette with transparency, ...), formats and EXIF orientations: a
    float RGB image of the right (rotated) size, or a one-line refusal; never a crash."""
    rgb = Image.fromarray(np.random.default_rng(h * 41 + w).integers(0, 256, (h, w, 3), dtype=np.uint8))
    try:
        img = rgb.convert(mode) if mode not in ("PA",) else rgb.convert("P").convert("PA")
    except ValueError:
        return
    path = tmp_path_factory.mktemp("m") / f"x.{fmt.lower()}"
    exif = Image.Exif()
    if orient:
        exif[0x0112] = orient
    try:
        img.save(path, fmt, **({"exif": exif.tobytes()} if orient and fmt in ("JPEG", "PNG", "WEBP", "TIFF") else {}))
    except (OSError, ValueError, KeyError):
        return  # Pillow cannot write this mode in this format: nothing for a user to load
    try:
        out = images.load_image(path)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert sorted(out.shape[:2]) == sorted((h, w))


@FAST
@given(
    st.text(alphabet="%0123456789dxs._-/ab", min_size=1, max_size=16),
    st.lists(st.integers(0, 10000), max_size=5, unique=True),
)
@example(name="shot%04d.png", numbers=[3, 12, 10000])
@example(name="%d.jpg", numbers=[0, 7])
def test_frame_patterns_number_and_list_frames_or_refuse(tmp_path_factory, name, numbers):
    """A frame pattern a user types: recognised and listed in number order, or not a sequence."""
    from nst_tf.video import paths

    folder = tmp_path_factory.mktemp("frames")
    pattern = folder / name.replace("/", "_")
    if not paths.is_sequence(pattern):
        return
    try:
        made = {n: paths.numbered(pattern, n) for n in numbers}
    except (TypeError, ValueError):
        pytest.fail(f"is_sequence accepted {pattern.name!r} but numbering fails")
    for path in made.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    try:
        listed = paths.sequence_frames(pattern)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    found = [n for n, _ in listed]
    assert found == sorted(found)
    assert {p for _, p in listed} == set(made.values())


@FAST
@given(st.lists(st.sampled_from(("black", "white", "grey", "noise", "empty", "text")), min_size=1, max_size=4))
def test_mask_sets_load_or_are_refused_in_one_line(tmp_path_factory, kinds):
    from nst_tf import masks

    folder = tmp_path_factory.mktemp("masks")
    sources = []
    for i, kind in enumerate(kinds):
        path = folder / f"m{i}.png"
        if kind == "text":
            path.write_text("not an image")
        elif kind == "empty":
            path.write_bytes(b"")
        else:
            value = {"black": 0, "white": 255, "grey": 128}.get(kind)
            arr = (
                np.full((9, 7), value, np.uint8)
                if value is not None
                else np.random.default_rng(i).integers(0, 256, (9, 7), dtype=np.uint8)
            )
            Image.fromarray(arr).save(path)
        sources.append(path)
    try:
        loaded = masks.load_style_masks(sources)
    except UserError as exc:
        assert "\n" not in str(exc)
        assert any(k in ("text", "empty") for k in kinds) or all(k == "black" for k in kinds)
        return
    assert all(m.shape == (9, 7) and m.min() >= 0 and m.max() <= 1 for m in loaded)
    assert any(float(m.max()) > 0 for m in loaded)


@FAST
@given(
    st.one_of(
        st.builds(
            lambda n, v: np.full(n, v, np.float32), st.integers(0, 300), st.floats(allow_nan=True, allow_infinity=True)
        ),
        st.binary(max_size=200),
    )
)
def test_style_vector_files_load_or_are_refused_in_one_line(tmp_path_factory, content):
    from nst_tf.feedforward.anystyle_stylizer import load_vector

    path = tmp_path_factory.mktemp("v") / "style.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content)
    try:
        v = load_vector(path)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert v.shape == (100,) and np.isfinite(v).all()
