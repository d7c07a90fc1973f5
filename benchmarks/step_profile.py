"""Where a Gatys step's time goes: the network forward, forward + backward, and the style losses.

    python benchmarks/step_profile.py                    # 256 px, default precision, offline VGG16
    python benchmarks/step_profile.py --size=512 --precision=float32

Times (median of --repeats calls, after one untimed call) four compiled functions on the
same image and network: the feature forward pass; forward + all losses; forward + backward
with the real losses; forward + backward with the style and content losses replaced by a plain
sum of the features (so the difference is what the Gram matrices and losses cost). Prints a
table and writes JSON (default benchmarks/step_profile.json).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _common import CONTENT, ROOT, STYLE, environment, write_json


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--precision", default="auto")
    p.add_argument("--backbone", default="vgg16")
    p.add_argument("--weights", default="hed")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "step_profile.json"))
    args = p.parse_args()

    import tensorflow as tf

    from nst_tf import StylizeConfig, build_extractor, images
    from nst_tf.objective import Objective

    cfg = StylizeConfig(
        size=args.size, backbone=args.backbone, weights=args.weights, precision=args.precision, jit_compile="off"
    )
    ex = build_extractor(cfg)
    c = images.resize(images.load_image(CONTENT), args.size)
    s = images.resize(images.load_image(STYLE), args.size)
    objective = Objective(ex, cfg, c, [s])
    x = tf.Variable(c[None])

    @tf.function
    def forward():
        return ex(x)

    @tf.function
    def forward_losses():
        return objective(x)["total"]

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            loss = objective(x)["total"]
        return tape.gradient(loss, x)

    @tf.function
    def forward_backward_no_losses():
        with tf.GradientTape() as tape:
            loss = tf.add_n([tf.reduce_sum(tf.cast(v, tf.float32)) for v in ex(x).values()])
        return tape.gradient(loss, x)

    rows = []
    for name, fn in [
        ("forward", forward),
        ("forward + losses", forward_losses),
        ("forward + backward", forward_backward),
        ("forward + backward, no Gram/losses", forward_backward_no_losses),
    ]:
        tf.nest.map_structure(lambda t: t.numpy(), fn())
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            tf.nest.map_structure(lambda t: t.numpy(), fn())
            times.append(time.perf_counter() - t0)
        rows.append({"part": name, "s_median": round(statistics.median(times), 4), "s_min": round(min(times), 4)})
    h, w = c.shape[:2]
    print(f"\n{w}x{h} px, {ex.describe()}, XLA off, median of {args.repeats}\n")
    print("| part | s (median) | s (min) |\n|---|---|---|")
    for r in rows:
        print(f"| {r['part']} | {r['s_median']} | {r['s_min']} |")
    write_json(
        args.json,
        {
            "environment": environment(),
            "command": " ".join(sys.argv),
            "size": [h, w],
            "network": ex.describe(),
            "results": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
