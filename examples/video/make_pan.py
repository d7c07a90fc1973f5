"""Writes pan.mp4 and pan.webp (an animated WebP for the README): a camera move over
benchmarks/holdout/rocket.jpg (public domain).

python examples/video/make_pan.py
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "benchmarks"))

from PIL import Image  # noqa: E402
from video_temporal import make_clip  # noqa: E402

from nst_tf import video  # noqa: E402

frames = make_clip("rocket_pan", 36)
with video.VideoWriter(os.path.join(HERE, "pan.mp4"), 12) as out:
    for f in frames:
        out.write(f)
pil = [Image.fromarray(f) for f in frames]
pil[0].save(os.path.join(HERE, "pan.webp"), save_all=True, append_images=pil[1:], duration=83, loop=0, quality=80)
print("wrote pan.mp4 and pan.webp")
