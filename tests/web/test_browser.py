"""nst-web end to end: the real server process and a real headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium; nothing downloads a browser). The page uploads a photo, runs an
instant and a short paint job, shows and lists the results, refuses a file that is not an image;
at a desktop and a phone viewport nothing overflows sideways before or after a result; the keyboard
alone gets from landing to download; a reload during Paint picks the job up again; results survive
a server restart; axe-core (npm, `.tools/`) finds no serious accessibility violation.

Set NST_TF_SCREENSHOT_DIR to keep the screenshots (README's examples/web_*.png come from here).
"""

import contextlib
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

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"  # README: npm install --prefix .tools axe-core@4
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
            [sys.executable, "-m", "nst_tf.cli.web", *args],
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
def results_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("web-results")


def _start_server(results_dir, port=0):
    s = Server(
        "--backbone=vgg16", "--weights=hed", "--precision=float32", f"--results_dir={results_dir}", f"--port={port}"
    )
    s.url = s.wait_for(r"serving on (http://\S+)").group(1)
    return s


@pytest.fixture(scope="module")
def server(results_dir):
    s = _start_server(results_dir)
    yield s
    if s.proc.poll() is None:
        s.proc.kill()


def _chrome(width, height, mobile=False):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    if mobile:  # a phone: its width, its pixel ratio, touch input
        options.add_experimental_option(
            "mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 3.0, "touch": True}}
        )
    else:
        options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))


@pytest.fixture(scope="module")
def browser():
    driver = _chrome(1280, 1100)
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


def _no_overflow(driver, where):
    scroll, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{where}: the page is {scroll} px wide on a {inner} px screen"


def _axe(driver, where):
    """axe-core's audit of the page as it is: no serious or critical violation."""
    assert AXE.is_file(), f"axe-core is missing; install it with: npm install --prefix {ROOT / '.tools'} axe-core@4"
    driver.set_script_timeout(60)
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then("
        "  (r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))),"
        "  (e) => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: 0}]));"
    )
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, (where, serious)
    return found


@contextlib.contextmanager
def _chrome_at(url, width, height, mobile=False):
    """A fresh browser on the page, once its gallery has loaded: (driver, a 240 s wait)."""
    driver = _chrome(width, height, mobile)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 240, poll_frequency=0.2)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery button")) == 5)
        yield driver, wait
    finally:
        driver.quit()


def _choose_photo(driver, path, wait):
    driver.find_element(By.ID, "content-file").send_keys(str(path))
    wait.until(lambda d: "chosen" in d.find_element(By.ID, "content-drop").get_attribute("class"))


def test_page_instant_then_paint(server, browser, content_path, tmp_path):
    d = browser
    d.get(server.url)
    wait = WebDriverWait(d, 240, poll_frequency=0.2)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery button")) == 5)
    assert d.find_element(By.ID, "go").get_attribute("disabled")  # nothing chosen yet
    assert not d.find_element(By.ID, "download").is_displayed() and not d.find_element(By.ID, "compare").is_displayed()
    assert "The Starry Night" in d.find_element(By.ID, "gallery").text  # painting names are visible, not only tooltips

    # a text file named .jpg is refused as soon as it is chosen; a real photo then clears the error
    junk = tmp_path / "notes.jpg"
    junk.write_text("not an image")
    d.find_element(By.ID, "content-file").send_keys(str(junk))
    wait.until(lambda d: "not an image" in d.find_element(By.ID, "message").text)
    assert "bad" in d.find_element(By.ID, "message").get_attribute("class")
    assert d.find_element(By.ID, "go").get_attribute("disabled")
    _choose_photo(d, content_path, wait)
    assert d.find_element(By.ID, "message").text == ""

    # instant: photo + a gallery painting
    d.find_element(By.CSS_SELECTOR, "#gallery button[data-name=great_wave]").click()
    _set(d, "size", 384)
    d.find_element(By.ID, "go").click()
    wait.until(_result_shown)
    assert "384 × 255 px" in d.find_element(By.ID, "result-info").text
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history li img")) == 1)
    first_src = d.find_element(By.ID, "after").get_attribute("src")
    shot = _screenshot(d, tmp_path, "web_app.png")
    assert shot.stat().st_size > 20_000

    # paint: a short optimisation; the size typed for Instant stays when switching
    d.find_element(By.CSS_SELECTOR, "input[name=method][value=optimize]").click()
    assert d.find_element(By.ID, "steps").is_displayed()
    assert d.find_element(By.ID, "size").get_attribute("value") == "384"
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
    labels = [a.get_attribute("aria-label") for a in d.find_elements(By.CSS_SELECTOR, "#history li a")]
    assert labels[0].startswith("Download Paint") and labels[1].startswith("Download Instant")  # named links

    # the download link serves the full-size PNG
    href = d.find_element(By.ID, "download").get_attribute("href")
    import urllib.request

    with urllib.request.urlopen(href) as r:
        assert r.headers["content-type"] == "image/png" and len(r.read()) > 1000


@pytest.mark.parametrize("viewport", [(1280, 900, False), (390, 844, True)], ids=["desktop", "phone"])
def test_layout_fits_the_screen_before_and_after_a_result(server, content_path, tmp_path, viewport):
    width, height, mobile = viewport
    with _chrome_at(server.url, width, height, mobile) as (d, wait):
        kind = "phone" if mobile else "desktop"
        _no_overflow(d, f"{kind}, landing")
        _axe(d, f"{kind}, landing")
        _screenshot(d, tmp_path, f"web_{kind}_before.png")
        _choose_photo(d, content_path, wait)
        d.find_element(By.ID, "go").click()  # size left empty: the photo's own size, never enlarged
        wait.until(_result_shown)
        assert "451 × 300 px" in d.find_element(By.ID, "result-info").text
        _no_overflow(d, f"{kind}, after a result")
        _axe(d, f"{kind}, after a result")
        _screenshot(d, tmp_path, f"web_{kind}_after.png")
        if mobile:  # touch targets a finger can hit
            sizes = d.execute_script(
                "return [...document.querySelectorAll('input[type=radio], .controls input, button#go')]"
                ".filter((e) => e.offsetParent !== null)"  # shown ones (Paint's fields are hidden for Instant)
                ".map((e) => [e.id || e.value, e.getBoundingClientRect().height])"
            )
            assert all(h >= 24 for _, h in sizes), sizes
        else:  # a desktop window narrowed after a result
            d.set_window_size(560, 900)
            time.sleep(0.3)
            _no_overflow(d, "desktop narrowed after a result")


def test_keyboard_alone_from_landing_to_download(server, content_path):
    with _chrome_at(server.url, 1280, 900) as (d, wait):
        _choose_photo(d, content_path, wait)  # (a file chooser is the system's dialog; the path is typed in)
        body = d.find_element(By.TAG_NAME, "body")
        body.click()

        def press(key):  # to whatever has the focus, as a keyboard would
            ActionChains(d).send_keys(key).perform()

        def tab_to(predicate, limit=40):
            for _ in range(limit):
                press(Keys.TAB)
                if predicate(d.switch_to.active_element):
                    return d.switch_to.active_element
            raise AssertionError("never reached by Tab")

        first = tab_to(lambda e: e.get_attribute("role") == "radio")
        assert first.get_attribute("aria-checked") == "true"  # the gallery is one tab stop: the chosen painting
        press(Keys.ARROW_RIGHT)
        chosen = d.switch_to.active_element
        assert chosen.get_attribute("data-name") != first.get_attribute("data-name")
        assert chosen.get_attribute("aria-checked") == "true"
        after_gallery = tab_to(lambda e: True, limit=1)
        assert after_gallery.get_attribute("role") != "radio"  # one tab stop, not five
        tab_to(lambda e: e.get_attribute("id") == "go")
        press(Keys.ENTER)
        wait.until(_result_shown)
        link = tab_to(lambda e: e.get_attribute("id") == "download")
        assert link.get_attribute("href").endswith("/result")
        outline = d.execute_script("return getComputedStyle(arguments[0]).outlineStyle", link)
        assert outline != "none"  # the focus is visible


def test_a_reload_during_paint_picks_the_job_up(server, content_path):
    with _chrome_at(server.url, 1280, 900) as (d, wait):
        _choose_photo(d, content_path, wait)
        d.find_element(By.CSS_SELECTOR, "input[name=method][value=optimize]").click()
        _set(d, "size", 96)
        _set(d, "steps", 60)
        d.find_element(By.ID, "go").click()
        wait.until(lambda d: "step" in d.find_element(By.ID, "progress-text").text)
        d.refresh()
        wait.until(lambda d: "Picking up" in d.find_element(By.ID, "message").text or _result_shown(d))
        wait.until(_result_shown)
        assert "96 × 64 px" in d.find_element(By.ID, "result-info").text
        wait.until(lambda d: any("Paint" in li.text for li in d.find_elements(By.CSS_SELECTOR, "#history li")))


def test_drop_anywhere_cancel_label_progressbar_and_compare_drag(server):
    with _chrome_at(server.url, 1280, 900) as (d, wait):
        # a photo dropped outside the drop zones is taken as the photo (the browser does not leave the page)
        d.execute_script(
            "const c = document.createElement('canvas'); c.width = 120; c.height = 80;"
            "const g = c.getContext('2d'); g.fillStyle = '#c84'; g.fillRect(0, 0, 120, 80);"
            "g.fillStyle = '#248'; g.fillRect(30, 20, 50, 40);"
            "c.toBlob((blob) => { const dt = new DataTransfer();"
            "  dt.items.add(new File([blob], 'dropped.png', {type: 'image/png'}));"
            "  document.querySelector('footer').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true,"
            "  cancelable: true})); }, 'image/png');"
        )
        wait.until(lambda d: "dropped.png" in d.find_element(By.ID, "content-drop").text)
        assert d.current_url == server.url

        # Paint, then Cancel: the half-painted picture stays, labelled; the bar is a progressbar
        d.find_element(By.CSS_SELECTOR, "input[name=method][value=optimize]").click()
        _set(d, "size", 96)
        _set(d, "steps", 400)
        d.find_element(By.ID, "go").click()
        wait.until(lambda d: int(d.find_element(By.ID, "bar").get_attribute("aria-valuenow") or 0) > 0)
        assert d.find_element(By.ID, "bar").get_attribute("role") == "progressbar"
        wait.until(lambda d: d.find_element(By.ID, "compare").is_displayed())  # a preview
        d.find_element(By.ID, "cancel").click()
        wait.until(lambda d: "Cancelled at step" in d.find_element(By.ID, "message").text)
        assert "unfinished" in d.find_element(By.ID, "tag-after").text
        assert d.find_element(By.ID, "compare").is_displayed()
        wait.until(lambda d: "offline HED VGG16" in d.find_element(By.ID, "backbone-note").text)

        # Instant, then drag on the picture (not on the thin slider) to move the comparison
        d.find_element(By.CSS_SELECTOR, "input[name=method][value=arbitrary]").click()
        d.find_element(By.ID, "go").click()
        wait.until(_result_shown)
        box = d.find_element(By.ID, "compare")
        width = box.rect["width"]
        ActionChains(d).move_to_element_with_offset(box, int(-width * 0.3), -20).click_and_hold().move_by_offset(
            5, 0
        ).release().perform()
        assert 10 <= int(d.find_element(By.ID, "split").get_attribute("value")) <= 35

        # Instant's strength: moving the slider paints again (a new result, no click)
        before = d.find_element(By.ID, "after").get_attribute("src")
        d.execute_script(
            "const s = document.getElementById('strength'); s.value = 0.4; s.dispatchEvent(new Event('input'));"
        )
        wait.until(lambda d: _result_shown(d, before))
        assert d.find_element(By.ID, "strength-value").text == "0.40"


def test_a_video_goes_in_and_plays_back_painted(server, tmp_path):
    """On a phone: a short clip chosen as the photo selects Video; the painted clip comes back in a
    <video> the browser plays (decoded frames, the clip's length), with a download link; axe clean."""
    pan = ROOT / "examples" / "video" / "pan.mp4"
    with _chrome_at(server.url, 390, 844, mobile=True) as (driver, wait):
        _choose_photo(driver, pan, wait)
        assert driver.find_element(By.CSS_SELECTOR, "input[name=method][value=video]").is_selected()
        _set(driver, "size", 128)
        driver.find_element(By.ID, "go").click()
        wait.until(lambda d: d.find_element(By.ID, "after-video").is_displayed())
        video = driver.find_element(By.ID, "after-video")
        wait.until(lambda d: d.execute_script("return arguments[0].readyState", video) >= 2)
        width, duration = driver.execute_script("return [arguments[0].videoWidth, arguments[0].duration]", video)
        assert width == 128 and duration == pytest.approx(3.0, abs=0.2)
        link = driver.find_element(By.ID, "download")
        assert link.is_displayed() and "MP4" in link.text and link.get_attribute("href").endswith("/result")
        assert driver.find_element(By.ID, "compare").is_displayed() is False
        _no_overflow(driver, "phone, after a video")
        _axe(driver, "phone, after a video")
        driver.execute_script("arguments[0].scrollIntoView({block: 'end'})", link)
        wait.until(lambda d: d.execute_script("return arguments[0].readyState", video) == 4)
        time.sleep(1.0)  # the player's loading ring fades out
        _screenshot(driver, tmp_path, "web_phone_video.png")


def test_results_survive_a_restart_and_sigterm_stops_cleanly(server, results_dir, browser, content_path):
    """Stops the module's server, so it runs last (and makes its own result: under pytest-xdist the
    other tests may run in another worker, with another server)."""
    d = browser
    d.get(server.url)
    wait = WebDriverWait(d, 240, poll_frequency=0.2)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery button")) == 5)
    _choose_photo(d, content_path, wait)
    d.find_element(By.CSS_SELECTOR, "input[name=method][value=arbitrary]").click()
    _set(d, "size", 128)
    d.find_element(By.ID, "go").click()
    wait.until(_result_shown)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history li img")) >= 1)
    kept = sorted(results_dir.glob("*.png"))
    assert kept, "no result in --results_dir"
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=60) == 0, server.output()
    assert "stopped" in server.output()
    assert sorted(results_dir.glob("*.png")) == kept  # kept across the stop
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    again = _start_server(results_dir, port)  # the same address: the page's list (localStorage) is per address
    try:
        import urllib.request

        for png in kept:
            with urllib.request.urlopen(f"{again.url}api/jobs/{png.stem}/result") as r:
                assert r.status == 200 and r.headers["content-type"] == "image/png"
        d.get(again.url)  # the page's own list: nothing "gone from the server"
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history li img")) >= 1)
        time.sleep(1.0)
        assert not d.find_elements(By.CSS_SELECTOR, "#history li.expired")
    finally:
        again.proc.send_signal(signal.SIGTERM)
        assert again.proc.wait(timeout=60) == 0
