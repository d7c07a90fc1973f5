"""Every flag of every command with wrong values: each run must succeed or exit 2 with one line,
never a traceback or exit 1. Too slow for the suite (hundreds of processes); run it by hand:

    python tests/flag_sweep.py                 # all commands, about 15 minutes on 2 cores
    python tests/flag_sweep.py --commands=nst_tf.cli.web --values=-1

Each command starts from a valid tiny run (the offline backbone, 32 px, 1 step) and changes one
flag. Prints a table and writes flag_sweep.json; exits 1 if anything ended in a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples")
PHOTO, PAINTING = os.path.join(EX, "content", "chelsea.jpg"), os.path.join(EX, "style", "starry_night.jpg")
TINY = ["--backbone=vgg16", "--weights=hed", "--precision=float32"]


def base_args(module: str, tmp: str) -> list:
    return {
        "nst_tf.cli.stylize": [
            f"--content={PHOTO}",
            f"--style={PAINTING}",
            f"--output={tmp}/out.jpg",
            "--size=32",
            "--steps=1",
            "--jit_compile=off",
            *TINY,
        ],
        "nst_tf.cli.apply_fast": [
            "--model=arbitrary",
            f"--style={PAINTING}",
            f"--input={PHOTO}",
            f"--output={tmp}/out.jpg",
            "--size=32",
            "--precision=float32",
        ],
        "nst_tf.cli.train_fast": [
            f"--style={PAINTING}",
            f"--data_dir={os.path.join(EX, 'content')}",
            f"--workdir={tmp}/run",
            "--steps=1",
            "--image_size=32",
            "--batch_size=2",
            "--noexport",
            *TINY,
        ],
        "nst_tf.cli.evaluate": [
            f"--content={PHOTO}",
            f"--style={PAINTING}",
            f"--outputs={PHOTO}",
            f"--report={tmp}/r.json",
        ],
        "nst_tf.cli.web": ["--port=0", "--backbone=vgg16", "--weights=hed"],
        "nst_tf.cli.apply_beam": [
            f"--input={os.path.join(EX, 'content')}",
            f"--output={tmp}/beam",
            f"--style={PAINTING}",
            "--size=32",
            "--precision=float32",
        ],
    }[module]


def flag_names(module: str) -> list:
    code = (
        "import sys, importlib; from absl import flags; m = importlib.import_module(sys.argv[1]); "
        "print('\\n'.join(sorted({f.name for mod, fl in flags.FLAGS.flags_by_module_dict().items() "
        "if not mod.startswith('absl') for f in fl})))"
    )
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, check=True, cwd=ROOT)
    return [n for n in out.stdout.split() if n not in ("verbose", "helpxml")]


def run_one(module: str, flag: str, value: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        args = [a for a in base_args(module, tmp) if not a.startswith(f"--{flag}=")] + [f"--{flag}={value}"]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=tmp,
            env=env,
            text=True,  # relative junk lands in tmp
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:  # a server that started, or a long run: accepted
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
            code = "running"
    lines = [l for l in err.strip().splitlines() if l.strip()]
    errors = [l for l in lines if ": error: " in l]
    bad = "Traceback" in err or code == 1 or (code == 2 and len(errors) != 1)
    return {
        "module": module,
        "flag": flag,
        "value": value,
        "code": code,
        "bad": bad,
        "message": (errors[0] if errors else (lines[-1] if lines else ""))[:300],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--commands",
        default="nst_tf.cli.stylize,nst_tf.cli.apply_fast,nst_tf.cli.train_fast,"
        "nst_tf.cli.evaluate,nst_tf.cli.web,nst_tf.cli.apply_beam",
    )
    p.add_argument("--values", default="nonsense,-1", help="comma-separated wrong values tried on every flag")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=float, default=90)
    p.add_argument("--json", default=os.path.join(ROOT, "tests", "flag_sweep.json"))
    args = p.parse_args()
    tasks = [(m, f, v) for m in args.commands.split(",") for f in flag_names(m) for v in args.values.split(",")]
    print(f"{len(tasks)} runs", flush=True)
    t0 = time.time()
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda t: run_one(*t, args.timeout), tasks))
    for r in rows:
        if r["bad"]:
            print(f"TRACEBACK/BUG: {r['module']} --{r['flag']}={r['value']} -> {r['code']}: {r['message']}")
    summary = {}
    for r in rows:
        s = summary.setdefault(r["module"], {"runs": 0, "ok": 0, "user_error": 0, "running": 0, "bad": 0})
        s["runs"] += 1
        key = "bad" if r["bad"] else {0: "ok", 2: "user_error", "running": "running"}.get(r["code"], "bad")
        s[key] += 1
    print("| command | runs | accepted (exit 0) | one-line user error (exit 2) | server ran | traceback / exit 1 |")
    print("|---|---|---|---|---|---|")
    for m, s in summary.items():
        print(f"| {m} | {s['runs']} | {s['ok']} | {s['user_error']} | {s['running']} | {s['bad']} |")
    print(f"{time.time() - t0:.0f} s")
    with open(args.json, "w") as fh:
        json.dump({"summary": summary, "rows": rows}, fh, indent=1)
    return 1 if any(r["bad"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
