"""The blend keeps the strokes' contrast where they were laid anew (a new zoom anchor, the grid's
count started again): a mix of two unrelated textures has a fraction of the contrast of either."""

import numpy as np

from nst_tf.video import temporal
from nst_tf.video.grid import GridAligner

H, W = 48, 64


def _texture(rng, mean=0.5):
    """Strokes finer than keep_contrast's scale on a smooth colour ramp."""
    ramp = np.linspace(0.2, 0.8, W, dtype=np.float32)[None, :, None] * np.ones((H, 1, 3), np.float32)
    return np.clip(ramp + rng.normal(0, 0.08, (H, W, 3)).astype(np.float32) + (mean - 0.5), 0, 1)


def _fine(x):
    import cv2

    return x - cv2.GaussianBlur(x, (0, 0), temporal.CONTRAST_SIGMA)


def _local_mean(x):
    import cv2

    return cv2.GaussianBlur(x, (0, 0), 4.0)


def test_keep_contrast_restores_an_even_mix_of_two_textures_and_leaves_one_texture_alone(rng):
    a, b = _texture(rng), _texture(rng)
    mix = 0.5 * (a + b)
    assert np.std(_fine(mix)) < 0.75 * np.std(_fine(b))  # the loss it is there for
    kept = temporal.keep_contrast(mix, b)
    assert abs(np.std(_fine(kept)) / np.std(_fine(b)) - 1) < 0.1
    assert np.abs(_local_mean(kept) - _local_mean(mix))[8:-8, 8:-8].max() < 0.01  # colours as they were
    same = temporal.keep_contrast(b, b)
    assert np.abs(same - b).max() < 1e-3
    weaker = 0.5 * b + 0.25  # never lowers a texture's contrast
    assert np.allclose(temporal.keep_contrast(b, weaker), b, atol=1e-3)


class _Told:
    def __init__(self, renewed):
        self.renewed = list(renewed)

    def pop_renewed(self):
        return self.renewed.pop(0)


def test_the_blend_keeps_contrast_for_a_few_frames_after_the_grid_renews_the_strokes(rng, monkeypatch):
    """A still shot; the strokes change at frame 3 (as at a new zoom anchor). Told, the blend keeps
    their contrast there and for CONTRAST_FRAMES frames in all; untold, or later, it does not."""
    photo = np.full((H, W, 3), 0.5, np.float32)
    old, new = _texture(rng), _texture(rng)
    paintings = [old] * 3 + [new] * 6
    n = temporal.CONTRAST_FRAMES
    renewed = [t == 3 for t in range(len(paintings))]
    contrast, kept_at = {}, []
    keep = temporal.keep_contrast
    monkeypatch.setattr(temporal, "keep_contrast", lambda out, s: kept_at.append(len(outs)) or keep(out, s))
    for told in (True, False):
        blender = temporal.TemporalBlender(0.5, noise_aware=False, geometry=_Told(renewed) if told else None)
        outs = []
        for p in paintings:
            outs.append(blender(photo, p))
        contrast[told] = [np.std(_fine(o)) / np.std(_fine(new)) for o in outs]
    assert contrast[False][3] < 0.8  # old and new strokes mixed evenly: the loss
    assert all(c > 0.9 for c in contrast[True][3 : 3 + n])
    assert contrast[True][:3] == contrast[False][:3]  # before the renewal nothing changes
    assert kept_at == list(range(3, 3 + n))  # those frames only, and only when told
    assert max(contrast[True]) < 1.1  # never more contrast than the fresh strokes have


def test_nst_apply_tells_its_blend_where_the_grid_laid_strokes_anew():
    from nst_tf.config import ApplyConfig
    from nst_tf.feedforward.apply import Applier

    class _Net:
        tiled = None

    paint, blender = Applier([_Net()], ApplyConfig()).clip()
    assert isinstance(blender.geometry, GridAligner)
    paint, blender = Applier([_Net()], ApplyConfig(align_grid=False)).clip()
    assert blender.geometry is None
