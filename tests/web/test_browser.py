"""nst-web end to end: the real server process and a real headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium; nothing downloads a browser). The page uploads a photo, runs an
instant and a short paint job, shows and lists the results, reports a bad upload; the server then
stops cleanly on SIGTERM and removes its results folder.

Set NST_TF_SCREENSHOT_DIR to keep the screenshots (README's examples/web_app.jpg is web_app.png from here).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
webdriver = pytest.importorskip("selenium.webdriver")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver); "
    ".ci/run installs them",
)


class Server:
    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nst_tf.cli.web", "--port=0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=120) -> re.Match:
        t0 = time.time()
        while time.time() - t0 < timeout:
            m = re.search(pattern, self.output())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"server never printed {pattern!r}:\n{self.output()}")


@pytest.fixture(scope="module")
def server():
    s = Server("--backbone=vgg16", "--weights=hed", "--precision=float32")
    s.url = s.wait_for(r"serving on (http://\S+)").group(1)
    yield s
    if s.proc.poll() is None:
        s.proc.kill()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1100",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def _result_shown(driver, previous_src=None):
    after = driver.find_element(By.ID, "after")
    src = after.get_attribute("src") or ""
    return (
        driver.find_element(By.ID, "download").is_displayed()
        and "/result" in src
        and src != previous_src
        and driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", after) > 0
    )


def _set(driver, element_id, value):
    el = driver.find_element(By.ID, element_id)
    el.clear()
    el.send_keys(str(value))


def _screenshot(driver, tmp_path, name):
    path = tmp_path / name
    driver.save_screenshot(str(path))
    keep = os.environ.get("NST_TF_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


def test_page_instant_then_paint_then_clean_stop(server, browser, content_path, tmp_path):
    d = browser
    d.get(server.url)
    wait = WebDriverWait(d, 240, poll_frequency=0.2)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery button")) == 5)
    assert d.find_element(By.ID, "go").get_attribute("disabled")  # nothing chosen yet
    assert not d.find_element(By.ID, "download").is_displayed() and not d.find_element(By.ID, "compare").is_displayed()

    # a bad upload: the page shows the server's one-line error
    junk = tmp_path / "notes.jpg"
    junk.write_text("not an image")
    d.find_element(By.ID, "content-file").send_keys(str(junk))
    d.find_element(By.ID, "go").click()
    wait.until(lambda d: "not an image" in d.find_element(By.ID, "message").text)
    assert "bad" in d.find_element(By.ID, "message").get_attribute("class")

    # instant: photo + a gallery painting
    d.find_element(By.ID, "content-file").send_keys(str(content_path))
    d.find_element(By.CSS_SELECTOR, "#gallery button[data-name=great_wave]").click()
    _set(d, "size", 384)
    d.find_element(By.ID, "go").click()
    wait.until(_result_shown)
    assert "384 × 255 px" in d.find_element(By.ID, "result-info").text
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history li img")) == 1)
    first_src = d.find_element(By.ID, "after").get_attribute("src")
    shot = _screenshot(d, tmp_path, "web_app.png")
    assert shot.stat().st_size > 20_000

    # paint: a short optimisation; the progress bar shows steps
    d.find_element(By.CSS_SELECTOR, "input[name=method][value=optimize]").click()
    assert d.find_element(By.ID, "steps").is_displayed()
    _set(d, "size", 96)
    _set(d, "steps", 12)
    d.find_element(By.ID, "go").click()
    # the previous result's link goes while painting (unless the job is already done by the next poll)
    wait.until(lambda d: not d.find_element(By.ID, "download").is_displayed() or _result_shown(d, first_src))
    wait.until(lambda d: "step" in d.find_element(By.ID, "progress-text").text or _result_shown(d, first_src))
    wait.until(lambda d: _result_shown(d, first_src))
    assert "96 × 64 px" in d.find_element(By.ID, "result-info").text
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history li img")) == 2)
    _screenshot(d, tmp_path, "web_app_paint.png")
    assert d.find_element(By.ID, "message").text == "Done."

    # the download link serves the full-size PNG
    href = d.find_element(By.ID, "download").get_attribute("href")
    import urllib.request

    with urllib.request.urlopen(href) as r:
        assert r.headers["content-type"] == "image/png" and len(r.read()) > 1000

    # SIGTERM: clean stop, results folder removed
    folder = server.wait_for(r"results go to (\S+) ").group(1)
    assert Path(folder).is_dir()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=60) == 0, server.output()
    assert "stopped" in server.output() and not Path(folder).exists()
