"""nst-web's video jobs: a short clip in, the painted clip out (MP4, the same frames and rate),
with progress; bad or long uploads refused in one line."""

import io
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")
pytest.importorskip("starlette")

from starlette.testclient import TestClient  # noqa: E402

from nst_tf.web.app import create_app  # noqa: E402
from nst_tf.web.jobs import JobQueue  # noqa: E402
from nst_tf.web.params import Limits  # noqa: E402

PAN = Path(__file__).resolve().parents[2] / "examples" / "video" / "pan.mp4"


@pytest.fixture(scope="module")
def client(small_config):
    from nst_tf.web.engines import Engines

    jobs = JobQueue(Engines(small_config, arbitrary_precision="float32"), max_queued=4, keep=10)
    app = create_app(jobs, max_upload_bytes=2 * 2**20, limits=Limits(max_video_seconds=4.0))
    with TestClient(app) as c:
        yield c


def _submit(client, data: bytes, name="clip.mp4", **fields):
    files = {"content": (name, data, "video/mp4")}
    return client.post("/api/jobs", files=files, data={"method": "video", "style_name": "starry_night", **fields})


def _wait(client, job_id, timeout=180):
    seen, t0 = set(), time.time()
    while time.time() - t0 < timeout:
        s = client.get(f"/api/jobs/{job_id}").json()
        seen.add(s["stage"])
        if s["state"] in ("done", "failed", "cancelled"):
            return s, seen
        time.sleep(0.05)
    raise AssertionError(f"video job still {s['state']}")


def _frames(data: bytes):
    import av

    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in c.decode(s)], float(s.average_rate)


def test_a_clip_comes_back_painted_with_its_frames_and_rate(client):
    r = _submit(client, PAN.read_bytes(), size="96")
    assert r.status_code == 202, r.text
    status, _ = _wait(client, r.json()["id"])
    assert status["state"] == "done", status
    res = client.get(f"/api/jobs/{status['id']}/result")
    assert res.status_code == 200 and res.headers["content-type"] == "video/mp4"
    assert res.headers["content-disposition"].endswith('.mp4"')
    out, rate = _frames(res.content)
    src, src_rate = _frames(PAN.read_bytes())
    assert len(out) == len(src) and rate == pytest.approx(src_rate)
    assert max(out[0].shape[:2]) == 96
    assert status["steps"] == len(src) and status["progress"] == 1.0  # progress counted in frames
    preview = client.get(f"/api/jobs/{status['id']}/preview")  # the page shows frames as they are painted
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    # painted, not copied: far from the photo, and steady (consecutive frames close)
    from nst_tf import images

    small = [np.asarray(f, np.float32) / 255 for f in out]
    photo = images.resize_to(src[0].astype(np.float32) / 255, small[0].shape[:2])
    assert float(np.abs(small[0] - photo).mean()) > 0.08
    assert float(np.mean([np.abs(a - b).mean() for a, b in zip(small, small[1:])])) < 0.1


@pytest.mark.parametrize(
    "data, fields, message",
    [
        (b"not a video at all", {}, "could not be read as a video; send an MP4"),
        (PAN.read_bytes()[:600], {}, "could not be read as a video"),
        (PAN.read_bytes(), {"size": "2000"}, "size must be between 64 and 720"),
        (PAN.read_bytes(), {"style_name": "nope"}, "no style named 'nope'"),
    ],
)
def test_bad_video_uploads_are_one_line_400s(client, data, fields, message):
    r = _submit(client, data, **fields)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"] and "\n" not in r.json()["error"]


def test_a_clip_over_the_length_limit_is_refused(small_config, tmp_path):
    from nst_tf.web.engines import Engines

    jobs = JobQueue(Engines(small_config, arbitrary_precision="float32"), max_queued=2, keep=2)
    with TestClient(create_app(jobs, limits=Limits(max_video_seconds=1.0))) as c:
        r = _submit(c, PAN.read_bytes())
    assert r.status_code == 400
    assert r.json()["error"] == "the video is 3.0 s long; send one of at most 1 s (trim it first)"


def test_no_uploaded_clip_is_left_behind(client):
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("nst_web_clip_*"))
    _submit(client, b"garbage")
    r = _submit(client, PAN.read_bytes(), size="64")
    _wait(client, r.json()["id"])
    assert set(Path(tempfile.gettempdir()).glob("nst_web_clip_*")) <= before
