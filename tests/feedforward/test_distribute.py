"""Multi-worker training: two local workers (MultiWorkerMirroredStrategy over TF_CONFIG on 127.0.0.1)
train the same weights as one worker with the same global batch, and resume exactly."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from clitools import ROOT, cli_env, one_line_error, run_cli

TRAIN = "nst_tf.cli.train_fast"
TINY = [
    "--arch=johnson_slim",
    "--image_size=32",
    "--batch_size=2",
    "--backbone=vgg16",
    "--weights=hed",
    "--precision=float32",
    "--export=false",
    "--checkpoint_every=1",
    "--learning_rate=0.001",
]


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _two_workers(args, timeout=420):
    """Run the same nst-train-fast command as worker 0 and worker 1 of a local cluster."""
    hosts = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for index in range(2):
        env = dict(
            cli_env(), TF_CONFIG=json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}})
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", TRAIN, *args],
                cwd=ROOT,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        results.append((p.returncode, out, err))
    return results


def _outputs(checkpoint, photos):
    """The network of a checkpoint applied to ``photos`` (float [0, 1])."""
    from nst_tf.feedforward.johnson import build_transformer, stylize_images

    model = build_transformer("johnson_slim")
    tf.train.Checkpoint(model=model).restore(str(checkpoint)).expect_partial()
    return stylize_images(model, tf.constant(photos)).numpy()


@pytest.mark.slow  # end to end across processes; CI runs it with pytest -m slow
def test_two_workers_train_what_one_worker_trains_and_resume_exactly(tmp_path, photo_dir, style_path, content_path):
    common = [f"--style={style_path}", f"--data_dir={photo_dir}", *TINY]
    losses = {}
    multi = tmp_path / "multi"
    for steps in (2, 4):  # 2 steps, then resumed to 4
        results = _two_workers([*common, f"--workdir={multi}", f"--steps={steps}", "--strategy=multi_worker"])
        for code, _out, err in results:
            assert code == 0, err[-3000:]
        assert "2 replica(s)" in results[0][1]
    one = run_cli(*common, f"--workdir={tmp_path / 'one'}", "--steps=4", "--strategy=one_device", module=TRAIN)
    assert one.returncode == 0, one.stderr[-3000:]

    # Same function learned: the outputs on held-out crops agree far more closely than training moved them.
    # (Weights are not compared one by one: Adam turns reduction-order noise in the near-zero gradients
    # of biases that instance normalisation cancels into full-size steps that change nothing.)
    from nst_tf import images

    src = images.load_image(content_path)
    photos = np.stack([images.resize_to(src[y : y + 200, x : x + 200], (48, 48)) for y, x in [(0, 0), (90, 240)]])
    got = _outputs(multi / "checkpoints" / "ckpt-4", photos)
    want = _outputs(tmp_path / "one" / "checkpoints" / "ckpt-4", photos)
    before = _outputs(multi / "checkpoints" / "ckpt-2", photos)
    moved, worst = float(np.abs(want - before).mean()), float(np.abs(got - want).max())
    assert moved > 0.01, moved  # two more steps changed the images
    mean = float(np.abs(got - want).mean())
    assert worst < 0.03 and mean < 0.05 * moved, (worst, mean, moved)
    for name in ("one", "multi"):
        final = next(l for l in (one.stdout if name == "one" else results[0][1]).splitlines() if "step 4/4" in l)
        losses[name] = float(final.split("total ")[1].split()[0])
    assert losses["one"] == pytest.approx(losses["multi"], rel=1e-3)
    # only the chief wrote to the workdir: its checkpoints and arch.txt, no worker's files
    assert sorted(
        p.name for p in (multi / "checkpoints").iterdir() if p.name.startswith("ckpt-") and p.suffix == ".index"
    ) == ["ckpt-2.index", "ckpt-3.index", "ckpt-4.index"]


@pytest.mark.slow  # three training processes (10 s): in the slow suite, keeping the default run within 8 minutes
def test_strategy_mistakes_are_one_line(tmp_path, photo_dir, style_path):
    base = [
        f"--style={style_path}",
        f"--data_dir={photo_dir / 'sub'}",
        f"--workdir={tmp_path / 'w'}",
        *TINY,
        "--steps=1",
    ]
    r = run_cli(*base, "--strategy=multi_worker", module=TRAIN)
    assert "--strategy=multi_worker needs TF_CONFIG" in one_line_error(r, prog="nst-train-fast")
    r = run_cli(*base, "--strategy=everywhere", module=TRAIN)
    assert "unknown strategy 'everywhere'" in one_line_error(r, prog="nst-train-fast")
    env = dict(os.environ, TF_CONFIG="{not json")
    r = subprocess.run(
        [sys.executable, "-m", TRAIN, *base], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert "TF_CONFIG is not valid JSON" in one_line_error(r, prog="nst-train-fast")
