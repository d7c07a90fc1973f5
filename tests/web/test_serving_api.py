"""nst-web --serving_models: TF Serving's REST API for nst-export's SavedModels, answered as TF
Serving answers it (the model server itself cannot be installed here)."""

import base64

import numpy as np
import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient  # noqa: E402
from webtools import BlockingEngines  # noqa: E402

from nst_tf import images  # noqa: E402
from nst_tf.errors import UserError  # noqa: E402
from nst_tf.web.app import create_app  # noqa: E402
from nst_tf.web.jobs import JobQueue  # noqa: E402
from nst_tf.web.serving_api import ServingModels  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """nst-export's SavedModel of an untrained per-style network, under NAME/VERSION/."""
    import tensorflow as tf

    from nst_tf.config.export import ExportConfig
    from nst_tf.deploy import export as ex
    from nst_tf.feedforward import workdir as wd
    from nst_tf.feedforward.johnson import build_transformer

    workdir = tmp_path_factory.mktemp("run")
    wd.write_arch(workdir, "johnson_slim")
    ckpt = tf.train.Checkpoint(model=build_transformer("johnson_slim"))
    tf.train.CheckpointManager(ckpt, str(wd.checkpoints(workdir)), max_to_keep=1).save()
    out = tmp_path_factory.mktemp("exp") / "export"
    cfg = ExportConfig(model=str(workdir), output=str(out), name="slim", formats=("saved_model",), check_size=64)
    ex.export(cfg, report=lambda line: None)
    return out


@pytest.fixture(scope="module")
def client(exported):
    jobs = JobQueue(BlockingEngines(), max_queued=2, keep=2)
    with TestClient(create_app(jobs, serving_models=ServingModels(exported))) as c:
        yield c


def _photo():
    return (np.random.default_rng(0).uniform(size=(40, 30, 3)) * 255).astype(np.uint8)


def test_predict_answers_row_and_columnar_requests_like_tf_serving(client, exported):
    from nst_tf.deploy import serving

    photo = _photo()
    b64 = base64.b64encode(images.encode_image(photo, "PNG")).decode()
    loaded = serving.load(exported / "slim")
    expected = serving.run_signature(loaded.signatures["pixels"], {"images": photo[None]})["image"][0]
    row = client.post("/v1/models/slim:predict", json={"instances": [{"b64": b64}]})
    columnar = client.post("/v1/models/slim/versions/1:predict", json={"inputs": {"image_bytes": [{"b64": b64}]}})
    pixels = client.post("/v1/models/slim:predict", json={"signature_name": "pixels", "instances": [photo.tolist()]})
    assert row.status_code == columnar.status_code == pixels.status_code == 200, (row.text, columnar.text)
    for answer in (row.json()["predictions"][0], columnar.json()["outputs"]["image_bytes"][0]):
        got = images.to_uint8(images.load_image_bytes(base64.b64decode(answer["b64"])))
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.array(pixels.json()["predictions"][0], np.uint8), expected)


def test_model_status_and_errors_are_tf_serving_shaped(client):
    status = client.get("/v1/models/slim").json()
    assert status["model_version_status"][0] == {
        "version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}
    }  # fmt: skip
    cases = [
        (client.post("/v1/models/nope:predict", json={"instances": [1]}), 404, "Servable not found"),
        (client.post("/v1/models/slim/versions/7:predict", json={"instances": [1]}), 404, "Specific(slim, 7)"),
        (client.post("/v1/models/slim:predict", content=b"{not json"), 400, "not JSON"),
        (client.post("/v1/models/slim:predict", json={"instances": []}), 400, "non-empty list"),
        (client.post("/v1/models/slim:predict", json={"signature_name": "x", "instances": [1]}), 400, '"x" not found'),
        (client.post("/v1/models/slim:classify", json={}), 404, "answers GET"),
    ]
    for response, code, needle in cases:
        assert response.status_code == code, response.text
        assert needle in response.json()["error"]


def test_a_folder_without_saved_models_is_refused_in_one_line(tmp_path):
    with pytest.raises(UserError, match="holds no NAME/VERSION/saved_model.pb; export one with nst-export"):
        ServingModels(tmp_path)
    with pytest.raises(UserError, match="is not a folder"):
        ServingModels(tmp_path / "missing")
