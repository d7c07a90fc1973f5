"""nst-export --formats=tfjs: the converter in its own environment, the files run in Node.js and in
Chromium with the README's page snippet."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_tf.config.export import ExportConfig
from nst_tf.deploy import export as ex
from nst_tf.deploy import tfjs
from nst_tf.errors import UserError
from nst_tf.feedforward.johnson import stylize_images

# README's test setup puts the converter's environment and TensorFlow.js under .tools/
TOOLS = Path(__file__).resolve().parents[2] / ".tools"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def exported(perstyle_workdir, tmp_path_factory):
    """The per-style workdir exported as TF.js."""
    workdir, model = perstyle_workdir
    cfg = ExportConfig(
        model=str(workdir),
        output=str(tmp_path_factory.mktemp("exp") / "o"),
        name="slim",
        formats=("tfjs",),
        quantize=("none", "int8"),  # TF.js has no int8 arithmetic: a float32 model
        check_size=64,
        tfjs_converter=str(TOOLS / "tfjs" / "bin" / "tensorflowjs_converter"),
        node_modules=str(TOOLS / "node_modules"),
    )
    return cfg, ex.export(cfg, report=lambda line: None), model


def _keras_pixels(model, photo: np.ndarray) -> np.ndarray:
    return np.round(np.clip(stylize_images(model, photo / 255.0).numpy(), 0, 1) * 255)


def test_tfjs_graph_model_runs_in_node_and_matches(exported, tmp_path):
    cfg, results, model = exported
    assert [(r.file, r.quantize, r.kept) for r in results] == [("slim-tfjs/", "none", True)]
    assert results[0].max_diff <= 1 and results[0].seconds > 0
    assert tfjs.quantizations(("float16", "int8")) == ["float16"] and tfjs.quantizations(("dynamic",)) == ["none"]
    folder = Path(cfg.output) / "slim-tfjs"
    assert (folder / "model.json").is_file()
    # again on a photo of another size, against Keras
    photo = (np.random.default_rng(3).uniform(size=(1, 40, 56, 3)) * 255).astype(np.uint8)
    outputs, _ = tfjs.check(folder, [photo], ["images"], TOOLS / "node_modules")
    got = next(iter(outputs.values()))
    assert got.shape == photo.shape and got.dtype == np.uint8
    assert np.abs(got.astype(int) - _keras_pixels(model, photo)).max() <= 1
    with pytest.raises(UserError, match="does not exist; set it up with"):
        ex.export(cfg.replace(output=str(tmp_path / "p"), tfjs_converter=str(tmp_path / "none")))
    with pytest.raises(UserError, match="npm install"):
        ex.export(cfg.replace(output=str(tmp_path / "p"), node_modules=str(tmp_path)))
    assert not (tmp_path / "p").exists()


PAGE = """<!doctype html><html><body><img id="img" src="photo.png"><canvas id="canvas"></canvas>
<script src="tf.min.js"></script>
<script>
window.paint = async () => {
  const img = document.getElementById("img"), canvas = document.getElementById("canvas");
  const out = (await tf.loadGraphModel("slim-tfjs/model.json")).execute({images:
  tf.browser.fromPixels(img).expandDims(0)}); await tf.browser.toPixels(out.squeeze(), canvas);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  return [canvas.width, canvas.height, Array.from(data)];
};
</script></body></html>
"""


@pytest.mark.slow  # a browser start and TF.js's CPU backend in it
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")
def test_readme_page_snippet_paints_in_chromium(exported, tmp_path):
    from selenium import webdriver

    cfg, _, model = exported
    site = tmp_path / "site"
    shutil.copytree(Path(cfg.output) / "slim-tfjs", site / "slim-tfjs")
    shutil.copy(TOOLS / "node_modules" / "@tensorflow" / "tfjs" / "dist" / "tf.min.js", site)
    photo = (np.random.default_rng(5).uniform(size=(48, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(site / "photo.png")
    (site / "index.html").write_text(PAGE)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        driver.set_script_timeout(120)
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        width, height, data = driver.execute_async_script(
            "const done = arguments[0]; window.paint().then(done, (e) => done([0, 0, [String(e)]]));"
        )
    finally:
        driver.quit()
        server.shutdown()
    assert (width, height) == (64, 48), data[:1]
    got = np.asarray(data, np.int32).reshape(48, 64, 4)[..., :3]
    assert np.abs(got - _keras_pixels(model, photo[None])[0]).max() <= 1
