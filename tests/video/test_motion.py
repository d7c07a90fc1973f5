"""nst_tf.video.motion: the blend's mask holds on noisy footage and still refuses cuts and lighting changes."""

import numpy as np
import pytest

from nst_tf import images
from nst_tf.video import motion, temporal

pytest.importorskip("cv2")
SIGMA = 4 / 255


@pytest.fixture(scope="module")
def scene(content_path):
    """A 192 x 144 photo whose top third is a smooth sky (flat: where noise drives the flow)."""
    photo = images.resize_to(images.load_image(content_path), (144, 192)).copy()
    sky = np.linspace(0.55, 0.75, 192, dtype=np.float32)[None, :, None] * np.array([0.8, 0.9, 1.0], np.float32)
    photo[:48] = sky
    return photo


def _noisy(frame, seed):
    return np.clip(frame + np.random.default_rng(seed).normal(0, SIGMA, frame.shape), 0, 1).astype(np.float32)


def test_noise_level_follows_the_noise_not_the_texture(scene):
    clean = motion.noise_level(scene)
    assert clean < 1.5 / 255
    for sigma in (2 / 255, 4 / 255, 8 / 255):
        noisy = np.clip(scene + np.random.default_rng(0).normal(0, sigma, scene.shape), 0, 1)
        assert 0.7 * sigma < motion.noise_level(noisy) < 1.3 * sigma


def test_a_noisy_static_shot_is_blended_almost_everywhere(scene):
    frames = [_noisy(scene, i) for i in range(6)]
    aware, plain = temporal.TemporalBlender(0.5), temporal.TemporalBlender(0.5, noise_aware=False)
    masks = []
    for a, b in zip(frames[1:], frames):
        flow, mask = aware.mask(a, b)
        masks.append(mask)
        assert np.abs(flow).max() < 0.5  # nothing moves
        assert mask.mean() > 0.95 and mask[:48].mean() > 0.95, (mask.mean(), mask[:48].mean())
    fixed = np.mean([plain.mask(a, b)[1][:48].mean() for a, b in zip(frames[1:], frames)])
    assert np.mean([m[:48].mean() for m in masks]) > fixed  # the fixed tolerances trust less of the sky


def test_a_noisy_pan_follows_the_camera(scene):
    wide = images.resize_to(scene, (144, 220))
    frames = [_noisy(wide[:, 3 * t : 3 * t + 192], t) for t in range(4)]
    m = motion.Motion()
    for a, b in zip(frames[1:], frames):
        flow, mask = m(a, b)
        inner = mask[:, :-4] > 0.5
        assert inner.mean() > 0.9
        assert np.abs(flow[:, :-4][inner] - np.array([3, 0])).mean() < 0.3  # a(x) = b(x + 3)
    assert min(m.used_global) > 0.5  # the camera's motion, flat sky included


def test_the_camera_motion_holds_over_a_large_flat_sky(scene):
    """The camera's motion is fitted to the textured part and used in the flat part: a model with
    more freedom than the motion needs (a homography for a pan) extrapolated it 0.04-0.09 px off
    into a sky covering 45% of the frame; the similarity keeps it within a few hundredths."""
    photo = scene.copy()
    photo[:64] = photo[:1]  # the smooth sky, now 64 of 144 rows
    wide = images.resize_to(photo, (150, 204))
    frames = [_noisy(wide[t : t + 144, 2 * t : 2 * t + 192], 20 + t) for t in range(6)]
    m = motion.Motion()
    errors = [np.abs(m(a, b)[0][:64, :-4] - np.array([2, 1])).mean() for a, b in zip(frames[1:], frames)]
    assert np.mean(errors) < 0.035, errors


def test_cuts_and_sudden_lighting_changes_are_not_blended_but_a_slow_drift_is(scene, style_path):
    other = images.resize_to(images.load_image(style_path), scene.shape[:2])
    m = motion.Motion()
    m(_noisy(scene, 1), _noisy(scene, 0))  # the clip's noise level is known from here on
    assert m(_noisy(other, 2), _noisy(scene, 1))[1].mean() < 0.1  # a cut
    assert m(_noisy(np.clip(scene * 1.5, 0, 1), 3), _noisy(scene, 2))[1].mean() < 0.2  # the light switched on
    assert m(_noisy(scene * 0.98, 4), _noisy(scene, 3))[1].mean() > 0.9  # exposure drifting by 2% a frame


def test_a_moving_object_is_not_smeared(scene):
    """A square crossing the static noisy shot: where the mask blends, the warped previous photo
    matches the current one within the noise (the object is followed or not blended)."""
    frames = []
    for t in range(4):
        f = scene.copy()
        f[60:100, 20 + 12 * t : 60 + 12 * t] = [0.9, 0.2, 0.1]
        frames.append(_noisy(f, t))
    m = motion.Motion()
    for a, b in zip(frames[1:], frames):
        flow, mask = m(a, b)
        residual = np.abs(temporal.warp(b, flow) - a).mean(-1)
        assert float((mask * residual).sum() / mask.sum()) < 2.5 * SIGMA
        assert mask.mean() > 0.8


def test_an_object_with_a_flat_inside_is_followed_not_held_still(scene):
    """A patch with a textured rim and a flat inside crossing the static shot at 5 px/frame: its
    flat inside matches the still background's motion within the noise too, but moves with the
    patch; blending it as still smeared the patch's painting."""
    yy, xx = np.mgrid[0:48, 0:48]
    patch = np.where(((yy // 4 + xx // 4) % 2 == 0)[..., None], [0.9, 0.8, 0.2], [0.2, 0.3, 0.7]).astype(np.float32)
    patch[8:40, 8:40] = [0.5, 0.6, 0.55]  # flat inside
    frames = []
    for t in range(4):
        f = scene.copy()
        f[70:118, 30 + 5 * t : 78 + 5 * t] = patch
        frames.append(_noisy(f, 10 + t))
    m = motion.Motion()
    for t, (a, b) in enumerate(zip(frames[1:], frames), start=1):
        flow, mask = m(a, b)
        inside = np.zeros(mask.shape, bool)
        inside[82:106, 42 + 5 * t : 66 + 5 * t] = True  # well inside the flat part in frame t
        followed = inside & (mask > 0.5)
        assert followed.sum() > 0.5 * inside.sum(), followed.sum()
        assert np.abs(flow[followed] - np.array([-5, 0])).mean() < 1.0  # a(x) = b(x - 5): with the patch


def test_an_object_with_more_texture_than_the_background_is_not_taken_for_the_camera():
    """A still shot of a dark flat sky over a weakly textured strip; a strongly textured square
    enters and soon holds more of the textured samples than the strip. Fitted afresh each frame,
    the camera followed the square from then on (its motion used across the whole flat sky, which
    matches any motion within the noise); the previous frame's camera keeps it still."""
    h, w = 144, 192
    rng = np.random.default_rng(5)
    scene = np.empty((h, w, 3), np.float32)
    scene[:] = np.linspace(0.10, 0.25, h, dtype=np.float32)[:, None, None] * np.array([0.4, 0.6, 1.0], np.float32)
    scene[112:] = 0.2 + 0.5 * rng.random((16, w // 2, 1)).repeat(2, 0).repeat(2, 1)  # the strip: 2 px texture
    yy, xx = np.mgrid[0:88, 0:88]
    square = np.where(((yy // 5 + xx // 5) % 2 == 0)[..., None], [0.9, 0.8, 0.2], [0.1, 0.2, 0.6]).astype(np.float32)
    frames = []
    for t in range(9):
        f = scene.copy()
        x0 = -78 + 12 * t
        f[20:108, max(0, x0) : x0 + 88] = square[:, max(0, -x0) :]
        frames.append(_noisy(f, 30 + t))
    m = motion.Motion()
    for t, (a, b) in enumerate(zip(frames[1:], frames), start=1):
        flow, _ = m(a, b)
        far = flow[:16, 150:]  # the sky far from the square's path
        assert np.abs(far).mean() < 0.5, (t, far.reshape(-1, 2).mean(0))


def test_prepare_averages_the_noise_away_before_painting_but_not_a_clean_clip_or_a_cut(scene, style_path):
    """``TemporalBlender.prepare``: on a noisy static shot the photo to paint is far less noisy than
    the frame; a clean clip is painted as it is; the frame after a cut is not mixed with the last."""
    blender = temporal.TemporalBlender(0.5, denoise=0.7)
    prepared = [blender.prepare(_noisy(scene, i)) for i in range(8)]
    left = float(np.std(prepared[-1][:48] - scene[:48]))  # the sky: only noise differs
    assert left < 0.6 * SIGMA, left / SIGMA
    assert len(blender._pending) == 8  # the motions wait for the blend of the painted frames
    for p in prepared:
        blender(p, p)
    assert not blender._pending and len(blender.trusted) == 7

    clean = temporal.TemporalBlender(0.5, denoise=0.7)
    for _ in range(3):
        out = clean.prepare(scene)
    assert np.abs(out - scene).max() < 0.02  # a clean still: nothing to average away, nothing changes

    other = images.resize_to(images.load_image(style_path), scene.shape[:2])
    cut = temporal.TemporalBlender(0.5, denoise=0.7)
    cut.prepare(_noisy(scene, 0)), cut.prepare(_noisy(scene, 1))
    after = _noisy(other, 2)
    assert np.abs(cut.prepare(after) - after).mean() < 0.002


def test_compressed_noise_is_measured_between_frames(scene):
    """JPEG flattens the noise inside each frame (Immerkaer's estimate sees almost none), but what
    changes from frame to frame along the motion is still there: the clip's noise level follows it."""
    import io

    from PIL import Image

    def jpeg(frame):
        buf = io.BytesIO()
        Image.fromarray(images.to_uint8(frame)).save(buf, "JPEG", quality=60)
        return np.asarray(Image.open(buf), np.float32) / 255

    frames = [jpeg(_noisy(scene, i)) for i in range(5)]
    m = motion.Motion()
    for a, b in zip(frames[1:], frames):
        m(a, b)
    inside = motion.noise_level(frames[-1])
    assert inside < 0.5 / 255
    assert m.temporal_sigma > 4 * inside and m.sigma > 2 * inside


def test_hold_keeps_a_noisy_still_sky_still_and_lets_light_changes_through(scene):
    """``hold`` (``--temporal_hold``): on a noisy static shot the flat sky of the photo to paint
    barely changes from frame to frame (far less than with the denoising alone); a slow brightening
    reaches the photo as it does without the hold (the hold keeps fine detail, not the local mean),
    and a sudden one at once."""

    def sky_change(hold):
        blender = temporal.TemporalBlender(0.5, denoise=0.7, hold=hold)
        prepared = [blender.prepare(_noisy(scene, i)) for i in range(10)]
        return float(np.mean([np.abs(a[:48] - b[:48]).mean() for a, b in zip(prepared[5:], prepared[4:])]))

    plain, held = sky_change(False), sky_change(True)
    assert held < 0.3 * plain, (held, plain)

    gains = [1.0 + 0.01 * t for t in range(8)] + [1.25] * 3  # 1% a frame, then a light turned on
    frames = [_noisy(np.clip(scene * g, 0, 1), t) for t, g in enumerate(gains)]
    with_hold, without = (
        temporal.TemporalBlender(0.5, denoise=0.7, hold=True),
        temporal.TemporalBlender(0.5, denoise=0.7),
    )
    for t, frame in enumerate(frames):
        a, b = with_hold.prepare(frame), without.prepare(frame)
        assert abs(float(a[:48].mean()) - float(b[:48].mean())) < 0.5 / 255, t
    assert abs(float(a[:48].mean()) - float(frames[-1][:48].mean())) < 1.5 / 255  # the light is on


def test_hold_keeps_the_output_where_the_network_repaints_a_still_photo(scene):
    """A stand-in network that paints the flat sky from the noise (a fresh random texture each
    frame, as the real one does in a dark sky) and the rest from the photo: with ``hold`` the
    blend keeps its previous output in the still sky (its change from frame to frame falls far
    below the plain blend's), while a lit-up sky, which the photo shows, is painted anew."""
    rng = np.random.default_rng(3)

    def paint(photo, lit):
        out = photo.copy()
        out[:48] = np.clip(photo[:48] + (0.3 if lit else 0.0) + rng.normal(0, 0.15, (48,) + photo.shape[1:]), 0, 1)
        return out

    def run(hold, lit_from=99):
        blender = temporal.TemporalBlender(0.5, hold=hold)
        outs = []
        for t in range(12):
            photo = _noisy(np.clip(scene + (0.3 if t >= lit_from else 0.0), 0, 1), 50 + t)
            outs.append(blender(photo, paint(photo, t >= lit_from)))
        return outs

    plain, held = run(False), run(True)
    change = lambda outs: float(np.mean([np.abs(a[:48] - b[:48]).mean() for a, b in zip(outs[6:], outs[5:])]))  # noqa: E731
    assert change(held) < 0.35 * change(plain), (change(held), change(plain))
    assert np.abs(held[-1][48:] - plain[-1][48:]).mean() < 0.01  # the part painted from the photo: as before
    lit = run(True, lit_from=8)
    assert float(lit[8][:48].mean()) > float(held[8][:48].mean()) + 0.2  # the light is painted at once


def test_a_zoom_is_told_from_a_pan_and_a_still_shot():
    """The blend does not keep repainted strokes while the camera zooms (they would be resampled to
    a new scale every frame; the zoom anchor lays them anew): ``zooming`` reads that from the flow."""
    h, w = 96, 128
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    still = np.zeros((h, w, 2), np.float32)
    pan = still + np.array([3.0, -1.5], np.float32)
    zoom = np.stack([(xs - w / 2) * 0.01, (ys - h / 2) * 0.01], -1)  # 1% a frame
    noisy = pan + np.random.default_rng(0).normal(0, 0.3, pan.shape).astype(np.float32)
    assert not temporal.zooming(still) and not temporal.zooming(pan) and not temporal.zooming(noisy)
    assert temporal.zooming(zoom) and temporal.zooming(zoom + pan)


def test_the_hold_flag_reaches_the_blend():
    from nst_tf.config.apply import ApplyConfig
    from nst_tf.feedforward.apply import Applier

    assert Applier([], ApplyConfig()).blender().hold  # on by default
    assert not Applier([], ApplyConfig(temporal_hold=False)).blender().hold
