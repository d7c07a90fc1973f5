"""nst-web's JSON API through Starlette's test client: every endpoint and error code, real jobs on
the offline backbone at tiny sizes, and the queue's limits, cancellation, eviction and shutdown."""

import io
import threading
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("multipart")
with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its test client; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from PIL import Image  # noqa: E402
from webtools import BlockingEngines, jpeg  # noqa: E402

from nst_tf import images  # noqa: E402
from nst_tf.errors import UserError  # noqa: E402
from nst_tf.web import gallery  # noqa: E402
from nst_tf.web.app import create_app  # noqa: E402
from nst_tf.web.engines import JobCancelled, PaintProgress  # noqa: E402
from nst_tf.web.jobs import Job, JobQueue  # noqa: E402
from nst_tf.web.params import Limits, parse_params  # noqa: E402

UPLOAD_LIMIT = 1 << 20


def wait(client, job_id, states=("done", "failed", "cancelled"), timeout=180):
    t0 = time.time()
    while time.time() - t0 < timeout:
        s = client.get(f"/api/jobs/{job_id}").json()
        if s["state"] in states:
            return s
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {s['state']} after {timeout} s")


@pytest.fixture(scope="session")
def web(small_config):
    """The real app: any-style network and the HED feature network, built once for the session."""
    from nst_tf.web.engines import Engines

    engines = Engines(small_config, arbitrary_precision="float32")
    jobs = JobQueue(engines, max_queued=8, keep=20)
    app = create_app(jobs, max_upload_bytes=UPLOAD_LIMIT)
    with TestClient(app) as client:
        yield client, jobs
    assert not jobs.folder.exists(), "the results folder must be removed when the app stops"


@pytest.fixture(scope="session")
def photo(content_path):
    return content_path.read_bytes()


def submit(client, photo, **fields):
    files = {"content": ("photo.jpg", photo, "image/jpeg")}
    if "style_file" in fields:
        files["style"] = ("painting.jpg", fields.pop("style_file"), "image/jpeg")
    return client.post("/api/jobs", files=files, data={k: str(v) for k, v in fields.items()})


# ---------------------------------------------------------------------- page, styles, info


def test_page_and_static_files_are_served_without_external_assets(web):
    client, _ = web
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/style.css"):
        r = client.get(asset)
        assert r.status_code == 200, asset
        assert "http://" not in r.text and "https://" not in r.text, f"{asset} must not load anything remote"
    assert "http://" not in page.text and "https://" not in page.text
    assert client.get("/static/../jobs.py").status_code == 404


def test_styles_list_and_images(web):
    client, _ = web
    styles = client.get("/api/styles").json()
    assert [s["name"] for s in styles] == list(gallery.STYLES)
    for s in styles:
        r = client.get(s["image"])
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(r.content)).size[0] >= 256
    r = client.get("/api/styles/mona_lisa/image")
    assert r.status_code == 404 and "no style named 'mona_lisa'" in r.json()["error"]
    r = client.get("/api/styles/..%2F..%2Fetc%2Fpasswd/image")
    assert r.status_code == 404 and r.json()["error"]


def test_info_lists_limits_and_counts(web):
    client, _ = web
    info = client.get("/api/info").json()
    assert info["limits"]["size"]["max"] == {"arbitrary": 2048, "optimize": 1024, "print": None, "video": 720}
    assert info["max_upload_mb"] == 1.0
    assert set(info["jobs"]) == {"queued", "running", "done", "failed", "cancelled"}


# ---------------------------------------------------------------------- real jobs


def test_instant_job_stylises_at_the_requested_size(web, photo, content_path):
    client, _ = web
    r = submit(client, photo, style_name="starry_night", method="arbitrary", size=128)
    assert r.status_code == 202 and r.headers["location"] == f"/api/jobs/{r.json()['id']}"
    s = wait(client, r.json()["id"])
    assert s["state"] == "done" and s["progress"] == 1.0 and s["error"] is None
    assert (s["width"], s["height"]) == (128, 85)
    res = client.get(f"/api/jobs/{s['id']}/result")
    assert res.headers["content-type"] == "image/png"
    assert "attachment" in res.headers["content-disposition"]
    out = images.load_image_bytes(res.content)
    photo_small = images.resize_to(images.load_image(content_path), out.shape[:2])
    assert np.abs(out - photo_small).mean() > 0.05, "the result should differ clearly from the photo"
    prev = client.get(f"/api/jobs/{s['id']}/preview")
    assert prev.status_code == 200 and prev.headers["content-type"] == "image/jpeg"


def test_print_job_returns_the_photos_own_size_with_the_instant_strokes(web, photo, monkeypatch):
    """A print job: the photo's own size (no size field), painted at the work size first: shrunk
    back to it, the print is the instant result at that size."""
    client, jobs = web
    monkeypatch.setattr(jobs.engines, "print_work_size", 128)
    s = wait(client, submit(client, photo, style_name="starry_night", method="print size", size=999).json()["id"])
    assert s["state"] == "done" and s["method"] == "print", s
    full = images.load_image_bytes(client.get(f"/api/jobs/{s['id']}/result").content)
    assert full.shape[:2] == images.load_image_bytes(photo).shape[:2]
    s = wait(client, submit(client, photo, style_name="starry_night", method="arbitrary", size=128).json()["id"])
    instant = images.load_image_bytes(client.get(f"/api/jobs/{s['id']}/result").content)
    assert np.abs(images.resize_to(full, instant.shape[:2]) - instant).mean() < 0.03


def test_instant_strength_zero_stays_close_to_the_photo(web, photo):
    """strength 0 uses the photo's own style vector: much nearer the photo than strength 1."""
    client, _ = web
    outs = {}
    for strength in (0.0, 1.0):
        s = wait(client, submit(client, photo, style_name="the_scream", size=96, strength=strength).json()["id"])
        outs[strength] = images.load_image_bytes(client.get(f"/api/jobs/{s['id']}/result").content)
    src = images.load_image_bytes(photo)
    src = images.resize_to(src, outs[0.0].shape[:2])
    assert np.abs(outs[0.0] - src).mean() < np.abs(outs[1.0] - src).mean()


def test_paint_job_reports_steps_preview_and_result(web, photo):
    client, _ = web
    style = gallery.STYLES["great_wave"].path.read_bytes()
    r = submit(
        client,
        photo,
        style_file=style,
        method="optimize",
        size=64,
        steps=8,
        style_weight=20,
        preserve_colors="luminance",
    )
    assert r.status_code == 202
    s = wait(client, r.json()["id"])
    assert s["state"] == "done", s
    assert (s["step"], s["steps"], s["method"]) == (8, 8, "optimize")
    assert s["has_preview"] and s["preview_step"] == 8 and s["eta_s"] == 0.0
    out = images.load_image_bytes(client.get(f"/api/jobs/{s['id']}/result").content)
    assert max(out.shape[:2]) == 64
    rate = client.get("/api/info").json()["models"]["paint_seconds_per_step_per_megapixel"]
    assert rate is not None and 0 < rate < 1000  # the page's estimate of a Paint job comes from it


def test_running_paint_job_can_be_cancelled(web, photo):
    client, jobs = web
    job_id = submit(client, photo, style_name="water_lilies", method="paint", size=64, steps=1000).json()["id"]
    s = wait(client, job_id, states=("running",))
    t0 = time.time()
    while client.get(f"/api/jobs/{job_id}").json()["step"] < 2:
        assert time.time() - t0 < 120
        time.sleep(0.1)
    r = client.delete(f"/api/jobs/{job_id}")
    assert r.status_code == 200
    s = wait(client, job_id, timeout=30)
    assert s["state"] == "cancelled" and s["step"] < 1000
    assert client.get(f"/api/jobs/{job_id}/result").status_code == 409
    assert client.delete(f"/api/jobs/{job_id}").status_code == 409  # nothing left to cancel


def test_five_concurrent_jobs_all_complete(web, photo):
    client, _ = web
    requests = [dict(style_name=name, method="arbitrary", size=96) for name in list(gallery.STYLES)[:3]]
    requests += [dict(style_name="shipwreck", method="optimize", size=64, steps=4 + i) for i in range(2)]
    ids, errors = [None] * 5, []

    def post(i):
        try:
            r = submit(TestClient(client.app), photo, **requests[i])
            assert r.status_code == 202, r.text
            ids[i] = r.json()["id"]
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    states = [wait(client, i) for i in ids]
    assert [s["state"] for s in states] == ["done"] * 5, states
    assert len(set(ids)) == 5


# ---------------------------------------------------------------------- bad requests


def _bomb_png() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buf, "PNG")  # 81 megapixels in a few kB
    return buf.getvalue()


@pytest.mark.parametrize(
    "files,data,message",
    [
        ({"content": ("x.jpg", b"not an image", "image/jpeg")}, {"style_name": "starry_night"}, "not an image"),
        ({"content": ("x.jpg", b"", "image/jpeg")}, {"style_name": "starry_night"}, "empty"),
        (
            {"content": ("x.jpg", jpeg((200, 200))[:400], "image/jpeg")},
            {"style_name": "starry_night"},
            "could not be decoded",
        ),
        ({"content": ("x.png", _bomb_png(), "image/png")}, {"style_name": "starry_night"}, "megapixel"),
        ({"content": ("x.jpg", jpeg((16, 16)), "image/jpeg")}, {"style_name": "starry_night"}, "at least 32 px"),
        ({"style": ("s.jpg", jpeg(), "image/jpeg")}, {}, "no photo"),
        ({"content": ("x.jpg", jpeg(), "image/jpeg")}, {}, "no style"),
        ({"content": ("x.jpg", jpeg(), "image/jpeg")}, {"style_name": "mona_lisa"}, "no style named 'mona_lisa'"),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg"), "style": ("s.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night"},
            "not both",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night", "style": "text"},
            "must be an image",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg"), "style": ("s.jpg", b"junk", "image/jpeg")},
            {},
            "the painting is not an image",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night", "method": "magic"},
            "unknown method",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night", "size": "4000"},
            "size must be between 64 and 2048",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night", "method": "optimize", "size": "2048"},
            "size must be between 64 and 1024",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night", "steps": "ten"},
            "steps must be a whole number",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night", "strength": "1.5"},
            "strength must be between 0 and 1",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night", "style_weight": "nan"},
            "style_weight must be between",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night", "preserve_colors": "sepia"},
            "unknown preserve_colors",
        ),
        (
            {"content": ("x.jpg", jpeg(), "image/jpeg")},
            {"style_name": "starry_night", "sise": "64"},
            "unknown field(s) sise",
        ),
    ],
)
def test_bad_uploads_get_400_with_a_clear_error(web, files, data, message):
    client, _ = web
    r = client.post("/api/jobs", files=files, data=data)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]


def test_not_multipart_is_400(web):
    client, _ = web
    r = client.post("/api/jobs", json={"content": "photo.jpg"})
    assert r.status_code == 400 and "multipart/form-data" in r.json()["error"]


def test_uploads_over_the_limit_get_413_declared_or_streamed(web):
    client, _ = web
    big = b"\0" * (UPLOAD_LIMIT + 1)
    r = client.post("/api/jobs", files={"content": ("big.jpg", big, "image/jpeg")}, data={"style_name": "great_wave"})
    assert r.status_code == 413 and "1 MB limit" in r.json()["error"]

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(20):
            yield b"\0" * (UPLOAD_LIMIT // 10)

    r = client.post("/api/jobs", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413


def test_unknown_jobs_and_methods(web):
    client, _ = web
    for path in ("/api/jobs/nope", "/api/jobs/nope/preview", "/api/jobs/nope/result"):
        r = client.get(path)
        assert r.status_code == 404 and "no job 'nope'" in r.json()["error"], path
    assert client.delete("/api/jobs/nope").status_code == 404
    r = client.put("/api/jobs/nope")
    assert r.status_code == 405 and "error" in r.json()
    assert client.get("/api/jobs").status_code == 405


def test_server_keeps_serving_after_bad_uploads(web, photo):
    client, _ = web
    for junk in (b"", b"GIF89a", b"\x89PNG\r\n\x1a\n" + b"\0" * 30):
        assert (
            client.post(
                "/api/jobs", files={"content": ("j", junk, "image/png")}, data={"style_name": "great_wave"}
            ).status_code
            == 400
        )
    s = wait(client, submit(client, photo, style_name="great_wave", size=64).json()["id"])
    assert s["state"] == "done"


# ---------------------------------------------------------------------- the queue, with a stand-in engine


@pytest.fixture
def blocked():
    engines = BlockingEngines()
    jobs = JobQueue(engines, max_queued=1, keep=2)
    with TestClient(create_app(jobs, max_upload_bytes=UPLOAD_LIMIT)) as client:
        yield client, jobs, engines
        engines.release.set()


def test_queue_full_is_429_and_queued_jobs_can_be_cancelled(blocked):
    client, jobs, engines = blocked
    photo = jpeg()
    first = submit(client, photo, style_name="starry_night", method="optimize").json()["id"]
    assert engines.started.wait(10)
    second = submit(client, photo, style_name="starry_night", method="optimize").json()["id"]
    s = client.get(f"/api/jobs/{second}").json()
    assert s["state"] == "queued" and s["queue_position"] == 1 and not s["has_preview"]
    assert client.get(f"/api/jobs/{second}/preview").status_code == 404
    r = submit(client, photo, style_name="starry_night", method="optimize")
    assert r.status_code == 429 and "queue is full" in r.json()["error"]
    running = client.get(f"/api/jobs/{first}").json()
    assert running["state"] == "running" and running["eta_s"] == 5.0
    assert client.get(f"/api/jobs/{first}/preview").status_code == 200
    assert client.get(f"/api/jobs/{first}/result").status_code == 409
    assert client.delete(f"/api/jobs/{second}").json()["state"] == "cancelled"
    assert submit(client, photo, style_name="starry_night", method="optimize").status_code == 202  # room again
    client.delete(f"/api/jobs/{first}")
    assert wait(client, first)["state"] == "cancelled"


def test_oldest_finished_results_are_evicted(blocked):
    client, jobs, engines = blocked
    engines.release.set()
    ids = []
    for i in range(4):
        ids.append(submit(client, jpeg(seed=i), style_name="great_wave").json()["id"])
        assert wait(client, ids[-1])["state"] == "done"
    paths = [jobs.folder / f"{i}.png" for i in ids]
    assert client.get(f"/api/jobs/{ids[0]}").status_code == 404  # keep=2: the oldest went at later submits
    assert not paths[0].exists() and paths[-1].exists()
    assert client.get(f"/api/jobs/{ids[-1]}/result").status_code == 200


def test_close_cancels_the_running_job_and_removes_the_folder():
    engines = BlockingEngines()
    jobs = JobQueue(engines, max_queued=2)
    job = jobs.submit(
        Job(
            parse_params({"method": "optimize"}, (64, 64)),
            np.zeros((64, 64, 3), np.float32),
            np.zeros((64, 64, 3), np.float32),
            None,
        )
    )
    assert engines.started.wait(10)
    t0 = time.time()
    jobs.close()
    assert job.state == "cancelled" and time.time() - t0 < 5
    assert not jobs.folder.exists()
    with pytest.raises(Exception, match="shutting down"):
        jobs.submit(
            Job(parse_params({}, (64, 64)), np.zeros((64, 64, 3), np.float32), np.zeros((64, 64, 3), np.float32), None)
        )


# ---------------------------------------------------------------------- units


def test_parse_params_defaults_aliases_and_limits():
    p = parse_params({}, (300, 451))
    assert (p.method, p.size, p.strength, p.preserve_colors) == ("arbitrary", 451, 1.0, "none")
    assert parse_params({}, (3000, 4000)).size == 1024  # instant default: the photo's size, at most 1024
    p = parse_params({"method": "paint", "preserve_colors": "true"}, (300, 451))
    assert (p.method, p.size, p.steps, p.preserve_colors) == ("optimize", 384, 100, "luminance")
    assert parse_params({"method": "paint"}, (200, 300)).size == 300  # a small photo is never enlarged
    assert parse_params({"method": "instant"}, (10, 20)).size == 64
    assert parse_params({"method": "print", "size": "64"}, (3000, 4000)).size == 4000  # the photo's own
    with pytest.raises(UserError, match="steps must be between 1 and 5"):
        parse_params({"steps": "6"}, (64, 64), Limits(max_steps=5))


def test_paint_progress_eta_excludes_the_first_step_and_cancels():
    class FakeJob:
        def __init__(self):
            self.cancelled, self.previews, self.progress = False, [], None

        def cancel_requested(self):
            return self.cancelled

        def set_stage(self, text):
            pass

        def set_progress(self, step, steps, eta):
            self.progress = (step, steps, eta)

        def set_preview(self, image, step):
            self.previews.append(step)

    class Info:
        def __init__(self, step):
            self.step, self.steps = step, 10

        def get_image(self):
            return np.zeros((4, 4, 3), np.float32)

    times = iter([100.0, 102.0, 104.0])  # the first step (tracing) took long; then 2 s per step
    job = FakeJob()
    cb = PaintProgress(job, preview_every_s=3.0, clock=lambda: next(times))
    cb(Info(1))
    assert job.progress == (1, 10, None)
    cb(Info(2))
    assert job.progress == (2, 10, pytest.approx(16.0))  # 8 steps left at 2 s
    cb(Info(3))
    assert job.previews == [1, 3]  # every 3 s
    job.cancelled = True
    with pytest.raises(JobCancelled):
        cb(Info(4))


def test_load_image_bytes_checks_the_header_before_decoding():
    with pytest.raises(UserError, match="81 megapixel|9000x9000 px, over the 40 megapixel"):
        images.load_image_bytes(_bomb_png())
    img = images.load_image_bytes(jpeg((50, 40)))
    assert img.shape == (40, 50, 3) and img.dtype == np.float32
    with pytest.raises(UserError, match="over the 0.001 megapixel"):
        images.load_image_bytes(jpeg((50, 40)), max_pixels=1000)


# ---------------------------------------------------------------------- nst-web's own mistakes


@pytest.mark.parametrize(
    "args,pattern",
    [
        (["--port=70000"], "port must be 0..65535, got 70000"),
        (["--queue_size=0"], "queue_size must be positive, got 0"),
        (["--backbone=alexnet"], "unknown backbone 'alexnet'"),
        (["--backbone=vgg16", "--weights=missing.h5"], "weights file not found: missing.h5"),
        (["--instant_weights=nowhere"], "--instant_weights=nowhere: not a folder"),
        (["--backbone=vgg16", "--weights=hed", "--serving_models=nowhere"], "--serving_models nowhere is not a folder"),
        (["stray"], "unexpected arguments"),
    ],
)
def test_nst_web_flag_mistakes_are_one_line(args, pattern):
    """A few of each kind (tests/flag_sweep.py tries every flag; WebConfig is in the config sweep)."""
    from clitools import one_line_error, run_cli

    assert pattern in one_line_error(run_cli(*args, module="nst_tf.cli.web"), prog="nst-web")


def test_nst_web_port_in_use_is_one_line():
    import socket

    from clitools import one_line_error, run_cli

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        line = one_line_error(run_cli(f"--port={port}", module="nst_tf.cli.web"), prog="nst-web")
    assert f"cannot listen on 127.0.0.1:{port}" in line and "--port" in line
