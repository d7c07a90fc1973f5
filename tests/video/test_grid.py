"""nst_tf.video.grid: a panning shot kept on the network's stride grid flickers far less."""

import numpy as np
import pytest

from nst_tf.video.grid import GridAligner, stylize_aligned

pytest.importorskip("cv2")


def _pan(photo: np.ndarray, step: int, n: int, width: int, height: int) -> list:
    return [photo[:height, t * step : t * step + width].copy() for t in range(n)]


def _aligned_difference(outs: list, step: int) -> float:
    return float(np.mean([np.abs(outs[t][:, step:] - outs[t + 1][:, :-step]).mean() for t in range(len(outs) - 1)]))


def test_offsets_follow_the_pan_and_restart_at_a_cut(content_path):
    from nst_tf import images

    photo = images.load_image(content_path)
    aligner = GridAligner(4)
    frames = _pan(photo, 3, 5, 200, 150)
    assert [aligner.offsets(f) for f in frames] == [(0, 0), (0, 3), (0, 2), (0, 1), (0, 0)]
    cut = np.random.default_rng(0).uniform(size=frames[0].shape).astype(np.float32)
    assert aligner.offsets(cut) == (0, 0)  # no clear translation: counted again from here
    padded, where = aligner.pad(frames[1])
    assert padded.shape == (153, 203, 3) and np.array_equal(aligner.crop(padded, where, frames[1].shape), frames[1])


def test_a_pan_flickers_far_less_on_the_grid(content_path, style_path):
    """The any-style network on a clean 3 px/frame pan: consecutive outputs aligned by the motion
    differ far less when the frames are kept on the network's grid, and the style is the same."""
    from nst_tf import images
    from nst_tf.feedforward.anystyle_stylizer import ArbitraryStylizer

    net = ArbitraryStylizer("float32")
    vector = net.style_vector(style_path)
    photo = images.load_image(content_path)
    frames = _pan(photo, 3, 6, 160, 120)

    def run(batch):
        return list(net.transfer_batch(np.stack(batch), vector))

    plain = run(frames)
    aligned = stylize_aligned(frames, GridAligner(4), run)
    assert all(a.shape == f.shape for a, f in zip(aligned, frames))
    ratio = _aligned_difference(aligned, 3) / _aligned_difference(plain, 3)
    assert ratio < 0.4, ratio
    mid = len(frames) // 2
    assert np.abs(aligned[mid].mean((0, 1)) - plain[mid].mean((0, 1))).max() < 0.03  # the same painting
