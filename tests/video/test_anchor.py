"""nst_tf.video.anchor: zooms and turns painted where the scene keeps one geometry."""

import numpy as np
import pytest

from nst_tf.video import anchor
from nst_tf.video.grid import GridAligner, stylize_aligned

cv2 = pytest.importorskip("cv2")


def _zoom(photo: np.ndarray, n: int, width: int, height: int, rate: float, pan: float = 0.0) -> tuple:
    """A zoom into the middle of ``photo`` by ``rate`` per frame, panning ``pan`` px per frame to
    the right: (frames, scale of each)."""
    h, w = photo.shape[:2]
    scales = [(1 + rate) ** t for t in range(n)]
    frames = []
    for t, s in enumerate(scales):
        middle = ((w - 1) / 2 + pan * t / s, (h - 1) / 2)
        m = anchor.similarity(np.log(s), 0.0, middle, ((width - 1) / 2, (height - 1) / 2))
        frame = cv2.warpAffine(photo, m[:2], (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
        frames.append(frame)
    return frames, scales


def test_similarity_and_its_zoom_and_turn():
    m = anchor.similarity(0.03, -0.02, (10.0, 20.0), (50.0, 60.0))
    assert anchor.zoom_turn(m) == pytest.approx((0.03, -0.02))
    assert m @ [10.0, 20.0, 1.0] == pytest.approx([50.0, 60.0, 1.0])


def test_a_zoom_is_painted_where_the_scene_stays_put(content_path):
    """After a few frames of a zoom the frames go onto the anchor's canvas; within one anchor a point
    of the scene lands on the same canvas pixel in every frame, the canvas enlarges each frame by
    LIFT to LIFT + 2 * RANGE, and the anchor is renewed as the zoom goes on."""
    from nst_tf import images

    frames, scales = _zoom(images.load_image(content_path), 16, 160, 120, 0.01)
    aligner = GridAligner(4)
    places = [aligner.pad(f)[1] for f in frames]
    assert isinstance(places[0], tuple) and isinstance(places[-1], np.ndarray)
    first = next(t for t, p in enumerate(places) if isinstance(p, np.ndarray))
    assert first <= 4  # 1.5 px at the corners of a 160 x 120 frame: 1.5% of zoom
    zooms = [anchor.zoom_turn(p)[0] for p in places[first:]]
    assert anchor.LIFT - 1e-6 <= min(zooms) and max(zooms) <= anchor.LIFT + 2 * anchor.RANGE + 1e-6
    renewed = [t for t in range(first + 1, len(places)) if zooms[t - first] > zooms[t - first - 1]]
    assert renewed, zooms  # the canvas's zoom falls within an anchor and jumps back at a new one
    centre = np.array([79.5, 59.5])
    for t in range(first + 1, len(places)):
        if t in renewed:
            continue
        for x in ([10.0, 10.0], [150.0, 110.0], [80.0, 60.0]):
            before = centre + (np.array(x) - centre) * scales[t - 1] / scales[t]  # same scene point, frame t-1
            now = (places[t] @ [*x, 1.0])[:2]
            assert np.abs(now - (places[t - 1] @ [*before, 1.0])[:2]).max() < 0.25


def test_a_pan_and_a_still_shot_stay_on_the_plain_grid(content_path, rng):
    from nst_tf import images

    photo = images.load_image(content_path)
    pan = [photo[:120, 3 * t : 3 * t + 160] for t in range(10)]
    noise = [rng.normal(0, 3 / 255, (120, 160, 3)) for _ in range(8)]
    still = [np.clip(photo[:120, :160] + n, 0, 1).astype(np.float32) for n in noise]
    for clip in (pan, still):
        aligner = GridAligner(4)
        assert all(isinstance(aligner.pad(f)[1], tuple) for f in clip)


def test_a_cut_after_a_zoom_starts_again_and_the_canvas_crops_back(content_path):
    from nst_tf import images

    frames, _ = _zoom(images.load_image(content_path), 8, 160, 120, 0.01)
    aligner = GridAligner(4)
    padded = [aligner.pad(f) for f in frames]
    canvas, where = padded[-1]
    assert isinstance(where, np.ndarray) and canvas.shape[:2] == anchor.ZoomAnchor(4).canvas_shape(frames[0].shape)
    back = aligner.crop(canvas, where, frames[-1].shape)
    assert back.shape == frames[-1].shape
    assert np.abs(back - frames[-1])[8:-8, 8:-8].mean() < 0.01  # two Lanczos resamplings
    noise = np.random.default_rng(0).uniform(size=frames[0].shape).astype(np.float32)
    assert isinstance(aligner.pad(noise)[1], tuple)


def test_frames_of_two_canvas_sizes_are_painted_in_runs(content_path):
    """A zoom while panning: the first frames on the plain grid, then on the canvas (kept centred by
    whole strides as the pan goes on); each frame comes back where it was."""
    from nst_tf import images

    frames, _ = _zoom(images.load_image(content_path), 12, 160, 120, 0.01, pan=2.0)
    calls = []

    def run(batch):
        calls.append({b.shape for b in batch})
        return [b[..., ::-1] for b in batch]  # any per-pixel painting

    outs = stylize_aligned(frames, GridAligner(4), run)
    assert len(calls) == 2 and all(len(c) == 1 for c in calls)
    assert [o.shape for o in outs] == [f.shape for f in frames]
    for out, frame in zip(outs, frames):  # every frame sampled back where it was (all padded first)
        assert np.abs(out - frame[..., ::-1])[8:-8, 8:-8].mean() < 0.01


def test_a_zoom_flickers_less_on_the_anchor(content_path, style_path):
    """The any-style network on a clean zoom (1% per frame): consecutive outputs, the earlier one
    zoomed onto the later by the known motion, differ less when painted on the anchor's canvas
    (no blend involved)."""
    from nst_tf import images
    from nst_tf.feedforward.anystyle_stylizer import ArbitraryStylizer

    net = ArbitraryStylizer("float32")
    vector = net.style_vector(style_path)
    frames, scales = _zoom(images.load_image(content_path), 10, 160, 120, 0.01)

    def run(batch):
        return list(net.transfer_batch(np.stack(batch), vector))

    def flicker(outs):
        diffs = []
        for t in range(4, len(outs)):  # after the anchor has started
            m = anchor.similarity(np.log(scales[t] / scales[t - 1]), 0.0, (79.5, 59.5), (79.5, 59.5))
            prev = cv2.warpAffine(outs[t - 1], m[:2], (160, 120), flags=cv2.INTER_LANCZOS4)
            diffs.append(np.abs(prev - outs[t])[10:-10, 10:-10].mean())
        return float(np.mean(diffs))

    plain = stylize_aligned(frames, GridAligner(4, follow_zoom=False), run)
    anchored = stylize_aligned(frames, GridAligner(4), run)
    ratio = flicker(anchored) / flicker(plain)
    assert ratio < 0.7, ratio
