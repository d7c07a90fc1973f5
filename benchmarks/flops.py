"""Achieved FLOP/s of a Gatys step, as a fraction of the CPU's peak and of what TF's matmul reaches.

    python benchmarks/flops.py                         # VGG19 (random weights) and VGG16-HED, 256 + 512 px
    python benchmarks/flops.py --backbones=vgg16 --sizes=512

FLOPs are counted analytically: a 3x3 convolution with C_in -> C_out channels on an H x W map
costs 2 * 9 * C_in * C_out * H * W; the backward pass needs only gradients with respect to the
inputs (the network is frozen), which costs the same again; a Gram matrix costs 2 * H * W * C^2
forward and the same again backward. Pooling, ReLU, the losses and the update are not counted
(under 1%). Peak: cores x clock x 32 FLOP/cycle (AVX2, two 256-bit FMA units), from
/proc/cpuinfo; a virtual CPU may be a hyper-thread, so the measured float32 matmul rate is given
as a second, practical, reference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from _common import CONTENT, ROOT, STYLE, environment, random_weights, write_json


def step_flops(backbone: str, content_layers, style_layers, height: int, width: int) -> int:
    from nst_tf import vgg

    seq = vgg.vgg_layers(backbone)
    wanted = set(content_layers) | set(style_layers)
    deepest = max(i for i, layer in enumerate(seq) if layer.name in wanted)
    flops = 0
    for layer in seq[: deepest + 1]:
        if layer.kind == "pool":
            continue
        h, w = height // layer.stride, width // layer.stride
        flops += 2 * (2 * 9 * layer.fan_in * layer.channels * h * w)  # forward + input gradient
        if layer.name in style_layers:
            flops += 2 * (2 * h * w * layer.channels**2)  # Gram forward + backward
    return flops


def cpu_peak_flops() -> tuple:
    """(peak FLOP/s, description) from /proc/cpuinfo, or (None, reason)."""
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return None, "no /proc/cpuinfo"
    mhz = [float(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu MHz")]
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    per_cycle = 64 if "avx512f" in flags else (32 if "avx2" in flags and "fma" in flags else 8)
    cores = os.cpu_count() or 1
    if not mhz:
        return None, "clock unknown"
    peak = cores * max(mhz) * 1e6 * per_cycle
    return peak, f"{cores} cores x {max(mhz):.0f} MHz x {per_cycle} FLOP/cycle"


def matmul_flops(n: int = 2048, repeats: int = 10) -> float:
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    f = tf.function(lambda: tf.reduce_sum(tf.linalg.matmul(a, b)))
    f().numpy()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f().numpy()
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / min(times)


def time_step(backbone, weights, size, steps=4):
    from nst_tf import StylizeConfig, build_extractor, images, stylize

    config = StylizeConfig(size=size, steps=steps + 2, backbone=backbone, weights=weights, precision="float32")
    ex = build_extractor(config)
    c = images.resize_to(images.load_image(CONTENT), (size, size))
    s = images.resize_to(images.load_image(STYLE), (size, size))
    stamps = []
    stylize(c, s, config, extractor=ex, verbose=False, callbacks=[lambda info: stamps.append(time.perf_counter())])
    return statistics.median(b - a for a, b in zip(stamps[1:], stamps[2:])), config


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbones", default="vgg19,vgg16")
    p.add_argument("--sizes", default="256,512")
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "flops.json"))
    args = p.parse_args()
    peak, how = cpu_peak_flops()
    mm = matmul_flops()
    print(f"peak {peak / 1e9:.1f} GFLOP/s ({how}); TF float32 matmul 2048^2: {mm / 1e9:.1f} GFLOP/s", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backbone in args.backbones.split(","):
            weights = "hed" if backbone == "vgg16" else random_weights(backbone, tmp)
            for size in map(int, args.sizes.split(",")):
                sec, config = time_step(backbone, weights, size)
                flops = step_flops(backbone, config.content_layers, config.style_layers, size, size)
                row = {
                    "backbone": backbone,
                    "size": size,
                    "s_per_step": round(sec, 3),
                    "gflop_per_step": round(flops / 1e9, 1),
                    "gflops_achieved": round(flops / sec / 1e9, 1),
                    "fraction_of_peak": round(flops / sec / peak, 3) if peak else None,
                    "fraction_of_matmul": round(flops / sec / mm, 3),
                }
                rows.append(row)
                print(row, flush=True)
    print(
        "\n| backbone | size | s/step | GFLOP/step | GFLOP/s | of peak | of TF matmul |\n|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['backbone']} | {r['size']} | {r['s_per_step']} | {r['gflop_per_step']} | {r['gflops_achieved']} | "
            f"{r['fraction_of_peak']:.0%} | {r['fraction_of_matmul']:.0%} |"
        )
    write_json(
        args.json,
        {
            "environment": environment(),
            "peak_gflops": peak and round(peak / 1e9, 1),
            "peak_from": how,
            "matmul_gflops": round(mm / 1e9, 1),
            "results": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
