"""Video: PyAV in and out (frames, rate, audio), DIS flow and occlusion, the warping error (Lai et al.
2018), and stylised clips that flicker far less than independent frames."""

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")
pytest.importorskip("cv2")

from clitools import one_line_error, run_cli  # noqa: E402

from nst_tf import images, video  # noqa: E402
from nst_tf.errors import UserError  # noqa: E402
from nst_tf.video import temporal  # noqa: E402

APPLY = "nst_tf.cli.apply_fast"


def make_pan(path, photo, frames=20, size=(128, 96), step=3, fps=12, audio=True):
    """A clip of a window panning right over ``photo`` by ``step`` px per frame (known motion), with a tone."""
    w, h = size
    src = images.to_uint8(photo)
    c = av.open(str(path), "w")
    v = c.add_stream("libx264", rate=fps)
    v.width, v.height, v.pix_fmt = w, h, "yuv420p"
    for i in range(frames):
        frame = np.ascontiguousarray(src[20 : 20 + h, 10 + step * i : 10 + step * i + w])
        for p in v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            c.mux(p)
    streams = [v]
    if audio:
        a = c.add_stream("aac", rate=44100)
        t = np.arange(int(44100 * frames / fps)) / 44100.0
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        for s in range(0, tone.shape[1], 1024):
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, s : s + 1024]), format="fltp", layout="mono")
            af.sample_rate = 44100
            for p in a.encode(af):
                c.mux(p)
        streams.append(a)
    for st in streams:
        for p in st.encode():
            c.mux(p)
    c.close()
    return path


def read(path):
    with video.open_video(path) as clip:
        return list(clip.frames()), clip.fps, clip.audio is not None


@pytest.fixture(scope="module")
def pan(tmp_path_factory, content_path):
    return make_pan(tmp_path_factory.mktemp("clip") / "pan.mp4", images.load_image(content_path))


def test_flow_warp_and_occlusion_on_a_known_shift(content_path):
    photo = images.to_uint8(images.resize(images.load_image(content_path), 160))
    a, b = photo[:, 10:130], photo[:, 14:134]  # b is a moved 4 px left: a(x) = b(x - 4)
    f = temporal.Flow()(a, b)
    inner = (slice(10, -10), slice(10, -20))
    assert np.median(f[inner][..., 0]) == pytest.approx(-4, abs=0.3)
    assert np.abs(np.median(f[inner][..., 1])) < 0.3
    back = temporal.warp(b.astype(np.float32) / 255, f)
    assert np.abs(back[inner] - a[inner].astype(np.float32) / 255).mean() < 0.03
    mask = temporal.reliable(f, temporal.Flow()(b, a))
    assert mask[inner].mean() > 0.9
    assert mask[:, :3].mean() < 0.2  # x - 4 leaves the frame: occluded


def test_warping_error_follows_lai_et_al(pan):
    frames, _, _ = read(pan)
    noisy = [np.clip(f / 255 + np.random.default_rng(i).normal(0, 0.1, f.shape), 0, 1) for i, f in enumerate(frames)]
    clean = temporal.warping_error(frames, frames)
    assert clean < 5e-4  # the input moves exactly along its own flow
    assert temporal.warping_error(noisy, frames) > 0.02 > 40 * clean  # independent noise: about 3 x 0.1^2 x 2
    with pytest.raises(Exception, match="at least two frames"):
        temporal.warping_error(frames[:1], frames[:1])


def test_blender_does_not_drift_or_darken_on_a_static_shot(content_path):
    photo = images.resize(images.load_image(content_path), 96)
    rng = np.random.default_rng(0)
    blender = temporal.TemporalBlender(0.8)
    for _ in range(60):  # the same photo; each "stylised" frame is the same painting plus fresh noise
        styled = np.clip(1 - photo + rng.normal(0, 0.05, photo.shape), 0, 1).astype(np.float32)
        out = blender(photo, styled)
    assert abs(float(out.mean()) - float((1 - photo).mean())) < 0.01  # no drift in brightness
    assert float(np.abs(out - (1 - photo)).mean()) < 0.03  # the noise (flicker) is averaged away
    assert min(blender.trusted) > 0.95
    with pytest.raises(Exception, match="temporal_blend"):
        temporal.TemporalBlender(1.0)


@pytest.mark.slow  # 15-25 s: keeps the default suite within 8 minutes; CI runs it with -m slow
def test_nst_apply_video_flickers_far_less_and_keeps_rate_and_audio(pan, style_path, tmp_path):
    base = ["--model=arbitrary", f"--style={style_path}", f"--input={pan}", "--precision=float32"]
    r = run_cli(*base, f"--output={tmp_path / 'temporal.mp4'}", module=APPLY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "wrote" in r.stdout and "20 frames" in r.stdout
    # the old spelling of --temporal_blend still works for one release, with a one-line warning
    r = run_cli(*base, f"--output={tmp_path / 'independent.mp4'}", "--temporal_weight=0", module=APPLY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "nst-apply: warning: --temporal_weight is deprecated and will be removed; use --temporal_blend" in r.stderr
    inputs, fps, _ = read(pan)
    blended, fps_out, has_audio = read(tmp_path / "temporal.mp4")
    independent, _, _ = read(tmp_path / "independent.mp4")
    assert len(blended) == len(independent) == len(inputs) == 20 and fps_out == fps == Fraction(12)
    assert has_audio and blended[0].shape == inputs[0].shape
    assert float(np.abs(blended[5] / 255 - inputs[5] / 255).mean()) > 0.05  # stylised, not copied
    e_blend, e_ind = temporal.warping_error(blended, inputs), temporal.warping_error(independent, inputs)
    assert e_blend < 0.5 * e_ind, (e_blend, e_ind)

    # nst-evaluate on videos: the same warping errors, the input's own, per-frame distances
    report = tmp_path / "report.json"
    r = run_cli(
        f"--content={pan}",
        f"--style={style_path}",
        f"--outputs={tmp_path / 'temporal.mp4'},{tmp_path / 'independent.mp4'}",
        f"--report={report}",
        module="nst_tf.cli.evaluate",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rows = {Path(row["output"]).stem: row for row in json.loads(report.read_text())["results"]}
    assert rows["temporal"]["warping_error"] == pytest.approx(e_blend, rel=1e-4)
    assert rows["independent"]["warping_error"] == pytest.approx(e_ind, rel=1e-4)
    assert rows["temporal"]["frames"] == 20 and rows["temporal"]["input_warping_error"] < 0.1 * e_blend
    for row in rows.values():
        assert 0 < row["style_distance"] < 2 and row["content_distance"] > 0
    assert "warping_error" in r.stdout


def test_webm_and_odd_sizes(tmp_path, content_path, style_path):
    clip = make_pan(tmp_path / "odd.mp4", images.load_image(content_path), frames=6, size=(66, 50), audio=False)
    r = run_cli(
        "--model=arbitrary",
        f"--style={style_path}",
        f"--input={clip}",
        f"--output={tmp_path / 'o.webm'}",
        "--size=45",
        "--precision=float32",
        module=APPLY,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    frames, _, has_audio = read(tmp_path / "o.webm")
    assert len(frames) == 6 and frames[0].shape == (34, 44, 3) and not has_audio  # 45x34 -> even 44x34


@pytest.mark.parametrize(
    "output, extra, needle",
    [
        ("o.jpg", [], "a video becomes a video"),
        ("o.mp4", ["--temporal_blend=1"], "temporal_blend must be at least 0 and below 1"),
        ("o.mp4", ["--temporal_denoise=1"], "temporal_denoise must be at least 0 and below 1"),
        (
            "o.mp4",
            ["--temporal_blend=0.5", "--temporal_weight=0.5"],
            "--temporal_weight is the old spelling of --temporal_blend",
        ),
    ],
)
def test_video_mistakes(pan, style_path, tmp_path, output, extra, needle):
    r = run_cli(
        "--model=arbitrary",
        f"--style={style_path}",
        f"--input={pan}",
        f"--output={tmp_path / output}",
        *extra,
        module=APPLY,
    )
    assert needle in one_line_error(r, prog="nst-apply")
    assert not list(tmp_path.iterdir())


def test_damaged_video_is_refused(tmp_path, style_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    r = run_cli(
        "--model=arbitrary", f"--style={style_path}", f"--input={bad}", f"--output={tmp_path / 'o.mp4'}", module=APPLY
    )
    assert "could not be opened as a video" in one_line_error(r, prog="nst-apply")
    assert not (tmp_path / "o.mp4").exists() and len(list(tmp_path.iterdir())) == 1


@pytest.mark.slow  # end to end across processes; CI runs it with pytest -m slow
def test_nst_stylize_video_follows_the_motion(tmp_path, content_path, style_path):
    """Optimisation per frame (Ruder et al.): warm start from the warped previous result plus the
    temporal loss: far steadier than frames optimised independently, same frames and rate."""
    from nst_tf import StylizeConfig
    from nst_tf.gatys import build_extractor, stylize

    clip = make_pan(tmp_path / "small.mp4", images.load_image(content_path), frames=6, size=(64, 48), audio=False)
    args = [
        f"--content={clip}",
        f"--style={style_path}",
        "--size=64",
        "--steps=20",
        "--backbone=vgg16",
        "--weights=hed",
        "--precision=float32",
        "--jit_compile=off",
    ]
    r = run_cli(*args, f"--output={tmp_path / 'out.mp4'}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "6 frames" in r.stdout
    inputs, fps, _ = read(clip)
    outs, fps_out, _ = read(tmp_path / "out.mp4")
    assert len(outs) == 6 and fps_out == fps and outs[0].shape == inputs[0].shape
    cfg = StylizeConfig(size=64, steps=20, backbone="vgg16", weights="hed", precision="float32", jit_compile="off")
    extractor = build_extractor(cfg)
    independent = [
        images.to_uint8(stylize(f.astype(np.float32) / 255, style_path, cfg, extractor=extractor, verbose=False).image)
        for f in inputs
    ]
    e_video, e_ind = temporal.warping_error(outs, inputs), temporal.warping_error(independent, inputs)
    assert e_video < 0.5 * e_ind, (e_video, e_ind)
    r = run_cli(*args, f"--output={tmp_path / 'out.jpg'}")
    assert "needs a video --output" in one_line_error(r)


def test_nst_stylize_video_sigterm_keeps_the_frames_made(tmp_path, content_path, style_path):
    import signal
    import time

    from clitools import start_cli

    clip = make_pan(tmp_path / "clip.mp4", images.load_image(content_path), frames=30, size=(64, 48), audio=False)
    out = tmp_path / "out.mp4"
    proc = start_cli(
        f"--content={clip}",
        f"--style={style_path}",
        f"--output={out}",
        "--size=48",
        "--steps=5",
        "--backbone=vgg16",
        "--weights=hed",
        "--precision=float32",
        "--jit_compile=off",
    )
    deadline, line = time.time() + 240, ""
    while time.time() < deadline and not line.startswith("frame 3/"):
        line = proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-2000:]
    assert "interrupted at frame" in stderr and "Traceback" not in stderr
    frames, _, _ = read(out)
    assert 3 <= len(frames) < 30  # a playable file with the frames made so far
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def write_frames(folder, frames, start=1, name="%04d.png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        images.save_image(f, folder / (name % (start + i)))
    return folder / name


def test_frame_folder_reads_in_number_order_and_refuses_mixed_sizes(tmp_path, caplog):
    frames = [np.full((8, 12, 3), v, np.uint8) for v in (10, 20, 30, 40)]
    for n, f in zip((8, 9, 10, 12), frames):  # unpadded numbers: 10 must come after 9; 11 missing
        images.save_image(f, tmp_path / f"f{n}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    with caplog.at_level("WARNING", logger="nst_tf"), video.open_video(tmp_path / "f%d.png", fps=8) as clip:
        got = [int(f[0, 0, 0]) for f in clip.frames()]
        assert (clip.size, clip.frame_count, clip.fps, clip.start) == ((12, 8), 4, Fraction(8), 8)
    assert got == [10, 20, 30, 40] and "1 frame numbers missing between 8 and 12" in caplog.text
    assert video.open_video(tmp_path / "f%d.png").fps == video.DEFAULT_SEQUENCE_FPS
    images.save_image(np.zeros((9, 12, 3), np.uint8), tmp_path / "f13.png")
    with pytest.raises(UserError, match="f13.png is 12x9, the first frame 12x8"):
        list(video.open_video(tmp_path / "f%d.png").frames())
    with pytest.raises(
        UserError,
        match=r"no frames match .*frame_%03d.png \(files such as .*frame_001.png\); "
        r"the folder holds numbered images: try .*f%d.png",
    ):
        video.open_video(tmp_path / "frame_%03d.png")
    with pytest.raises(UserError, match="must end with an image extension"):
        video.open_video(tmp_path / "f%d.txt")
    for fps, sources, needle in [
        (0, ["a/%04d.png"], "above 0"),
        (float("inf"), ["a/%04d.png"], "above 0"),
        (24, ["clip.mp4", "a.jpg"], "frame rate of a folder of frames"),
    ]:
        with pytest.raises(UserError, match=needle):
            video.check_fps(fps, sources)
    video.check_fps(None, ["clip.mp4"])
    assert video.styled_name(tmp_path / "shot" / "%04d.png", "out") == Path("out/shot_styled/%04d.png")
    assert video.styled_name("clip.MP4", "out") == Path("out/clip_styled.mp4")


def test_apply_on_a_folder_of_frames_matches_the_video(pan, style_path, tmp_path):
    """Frames in, frames or a video out: the same stylised frames as from the video itself, the
    input's numbers kept, --fps the rate; existing frames are refused, and a batch skips them.
    In-process through apply_files (nst-apply's command on videos: the tests above)."""
    from nst_tf.config import ApplyConfig
    from nst_tf.errors import UserError
    from nst_tf.feedforward.apply import apply_files

    def run(inputs, output, config=ApplyConfig(precision="float32"), **kw):
        lines = []
        apply_files(config, ["arbitrary"], inputs, output, styles=[style_path], report=lines.append, **kw)
        return "\n".join(lines)

    inputs, _, _ = read(pan)
    pattern = write_frames(tmp_path / "shot", inputs, start=7)
    run([pan], tmp_path / "from_video" / "%04d.png")
    assert sorted(p.name for p in (tmp_path / "from_video").iterdir())[:2] == ["0001.png", "0002.png"]
    assert "20 frames" in run([pattern], tmp_path / "from_frames" / "f%03d.png")
    made = video.sequence_frames(tmp_path / "from_frames" / "f%03d.png")
    assert [n for n, _ in made] == list(range(7, 27))
    from_video = [f for f in read(tmp_path / "from_video" / "%04d.png")[0]]
    from_frames = [f for f in read(tmp_path / "from_frames" / "f%03d.png")[0]]
    diff = max(float(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(from_video, from_frames))
    assert diff <= 1, diff  # PNG frames are lossless: the same pixels in, the same blended frames out
    assert float(np.abs(from_frames[5] / 255 - inputs[5] / 255).mean()) > 0.05  # stylised, not copied

    run([pattern], tmp_path / "clip.webm", fps=8)
    frames, fps, has_audio = read(tmp_path / "clip.webm")
    assert len(frames) == 20 and fps == Fraction(8) and not has_audio

    with pytest.raises(UserError, match="already exists; pass --overwrite"):
        run([pattern], tmp_path / "from_frames" / "f%03d.png")
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "from_frames").iterdir()}
    batch_out = tmp_path / "batch"
    small = ApplyConfig(precision="float32", size=64)
    run([pattern, pan], batch_out, small)
    manifest = json.loads((batch_out / "manifest.json").read_text())
    assert sorted(manifest["outputs"]) == ["pan_styled.mp4", "shot_styled/%04d.png"]
    assert len(video.sequence_frames(batch_out / "shot_styled" / "%04d.png")) == 20
    again = run([pattern, pan], batch_out, small)
    assert again.count("skipping") == 2, again
    assert "nothing to do" in again and "network" not in again  # nothing built for a finished batch
    assert before == {p: p.stat().st_mtime_ns for p in (tmp_path / "from_frames").iterdir()}

    with pytest.raises(UserError, match="name them by a pattern: --input=.*%04d.png"):
        run([tmp_path / "shot"], tmp_path / "x.mp4")
    with pytest.raises(UserError, match="--fps is the frame rate of a folder of frames"):
        run([pan], tmp_path / "y.mp4", fps=10)


def test_nst_stylize_on_a_folder_of_frames(tmp_path, content_path, style_path):
    clip = make_pan(tmp_path / "small.mp4", images.load_image(content_path), frames=4, size=(48, 32), audio=False)
    pattern = write_frames(tmp_path / "shot", read(clip)[0], start=0, name="frame_%05d.jpg")
    r = run_cli(
        f"--content={pattern}",
        f"--style={style_path}",
        "--size=48",
        "--steps=4",
        "--backbone=vgg16",
        "--weights=hed",
        "--precision=float32",
        "--jit_compile=off",
        "--fps=6",
        f"--output={tmp_path / 'out.mp4'}",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    frames, fps, _ = read(tmp_path / "out.mp4")
    assert len(frames) == 4 and fps == Fraction(6) and frames[0].shape == (32, 48, 3)


def test_evaluating_clips_of_different_lengths_is_refused(tmp_path, content_path, style_path):
    from nst_tf import evaluation

    photo = images.load_image(content_path)
    short = make_pan(tmp_path / "short.mp4", photo, frames=4, size=(48, 32), audio=False)
    longer = make_pan(tmp_path / "long.mp4", photo, frames=6, size=(48, 32), audio=False)
    with pytest.raises(UserError, match=r"short.mp4 has 4 frames but .*long.mp4 has 6; evaluate a clip against"):
        evaluation.evaluate(longer, style_path, [short])
    with pytest.raises(UserError, match=r"long.mp4 has 6 frames but .*short.mp4 has 4"):
        evaluation.evaluate(short, style_path, [longer])


def test_nst_stylize_refuses_an_unwritable_video_folder_before_building_the_network(
    pan, style_path, tmp_path, monkeypatch, small_config
):
    import nst_tf.gatys
    from nst_tf.video import gatys as video_gatys

    def never(*args, **kwargs):
        raise AssertionError("the network was built before the output folder was checked")

    monkeypatch.setattr(nst_tf.gatys, "build_extractor", never)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="is a file; choose another --output"):
        video_gatys.stylize_video(pan, style_path, small_config, blocker / "out.mp4")


def test_a_phone_clip_with_a_display_rotation_is_painted_upright(tmp_path, style_path):
    """Phones store portrait video sideways with a rotation tag: the frames are read as a player
    shows them, and the painted clip is written upright (no tag), so it plays the same way."""
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:8, :16] = 255  # a white block at the top left of the stored frame
    src = tmp_path / "portrait.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.set_display_rotation(-90)  # what a phone held upright writes: shown turned 90 degrees clockwise
        for _ in range(4):
            for p in s.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    frames, _, _ = read(src)
    assert frames[0].shape == (64, 48, 3)  # portrait
    assert frames[0][:16, -8:].mean() > 200 and frames[0][-16:, :8].mean() < 50  # the block at the top right
    out = tmp_path / "painted.mp4"
    r = run_cli("--model=arbitrary", f"--style={style_path}", f"--input={src}", f"--output={out}", module=APPLY)
    assert r.returncode == 0, r.stderr[-2000:]
    with av.open(str(out)) as c:
        first = next(c.decode(video=0))
        assert (first.width, first.height) == (48, 64) and not first.rotation
