"""Helpers for tests that run the command-line tools in subprocesses."""

import os
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The offline backbone at 32 px, no XLA: each run costs seconds.
TINY = ["--size=32", "--backbone=vgg16", "--weights=hed", "--precision=float32", "--jit_compile=off"]


def cli_env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def run_cli(*args, timeout=300, module="nst_tf.cli.stylize"):
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=timeout
    )


def _default_sigint():
    # A shell without job control starts background commands with SIGINT ignored, and Python
    # then installs no KeyboardInterrupt handler; give the child what a terminal user has.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args, module="nst_tf.cli.stylize"):
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def one_line_error(r, prog="nst-stylize") -> str:
    """Assert exit code 2 with exactly one stderr line, no traceback; return the line."""
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def interrupt_cli(*args, sig, module="nst_tf.cli.stylize", startup_timeout=240):
    """Start a long run, wait until its loop prints a step, send ``sig``; return (code, stdout, stderr)."""
    import time

    proc = start_cli(*args, module=module)
    deadline = time.time() + startup_timeout
    line = ""
    while time.time() < deadline and not line.startswith(("step ", "scale ")):  # the loop is running
        line = proc.stdout.readline()
    time.sleep(1.0)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    return proc.returncode, stdout, stderr
