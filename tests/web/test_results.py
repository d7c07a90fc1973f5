"""nst-web's results folder (--results_dir): results survive a restart, within the size cap."""

import json

import pytest

pytest.importorskip("starlette")
pytest.importorskip("multipart")

from starlette.testclient import TestClient  # noqa: E402
from test_app import UPLOAD_LIMIT, submit, wait  # noqa: E402
from webtools import BlockingEngines, jpeg  # noqa: E402

from nst_tf.errors import UserError  # noqa: E402
from nst_tf.web.app import create_app  # noqa: E402
from nst_tf.web.jobs import JobQueue  # noqa: E402


def _run_jobs(folder, n, **kwargs):
    engines = BlockingEngines()
    engines.release.set()
    jobs = JobQueue(engines, folder=folder, **kwargs)
    with TestClient(create_app(jobs, max_upload_bytes=UPLOAD_LIMIT)) as client:
        ids = [submit(client, jpeg(seed=i), style_name="great_wave").json()["id"] for i in range(n)]
        assert all(wait(client, i)["state"] == "done" for i in ids)
    return ids


def test_results_survive_a_restart(tmp_path):
    folder = tmp_path / "results"
    ids = _run_jobs(folder, 2)
    assert folder.is_dir() and sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{i}.png" for i in ids] + [f"{i}.json" for i in ids]
    )  # kept after the server stopped
    (folder / "junk.json").write_text("{not json")  # a damaged record is skipped, not fatal
    jobs = JobQueue(BlockingEngines(), folder=folder)
    with TestClient(create_app(jobs, max_upload_bytes=UPLOAD_LIMIT)) as client:
        for job_id in ids:
            status = client.get(f"/api/jobs/{job_id}").json()
            assert status["state"] == "done" and status["method"] == "arbitrary"
            assert (status["width"], status["height"]) == (60, 40)
            r = client.get(f"/api/jobs/{job_id}/result")
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"


def test_the_oldest_results_go_beyond_the_size_cap(tmp_path):
    folder = tmp_path / "results"
    ids = _run_jobs(folder, 3)
    one = (folder / f"{ids[0]}.png").stat().st_size
    jobs = JobQueue(BlockingEngines(), folder=folder, max_bytes=int(one * 2.5))
    assert [
        p.stem
        for p in sorted(folder.glob("*.png"), key=lambda p: json.loads(p.with_suffix(".json").read_text())["finished"])
    ] == ids[1:]
    assert jobs.get(ids[0]) is None and jobs.get(ids[2]) is not None
    jobs.close()
    assert folder.is_dir()  # a results folder is never removed


def test_an_unusable_results_folder_is_refused_in_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="results folder"):
        JobQueue(BlockingEngines(), folder=blocker / "sub")
