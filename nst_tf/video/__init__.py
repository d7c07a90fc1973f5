"""Video in and out with PyAV (FFmpeg with its own codecs, installed by pip): frames streamed.

    with open_video("clip.mp4") as clip:
        with VideoWriter("out.mp4", clip.fps, audio_from=clip) as out:
            for frame in clip.frames():        # uint8 H x W x 3, one at a time
                out.write(frame)

A folder of frames is named by a printf-style pattern, as FFmpeg names image sequences:
``frames/%04d.png`` reads ``frames/0001.png``, ``frames/0002.png``, ... in number order (any
number of digits; the frame rate is ``fps``, 25 unless given) and, as an output, writes one image
per frame under the same numbers as the input's (from 1 for a video). Each frame file is written
atomically, so an interrupted run keeps the frames made so far.

``.mp4``/``.mov``/``.mkv`` are written as H.264 (yuv420p, so even sizes: an odd row or column is
dropped), ``.webm`` as VP9. The audio of the input is copied when the output container accepts
its codec (AAC in MP4/MOV/MKV, Opus/Vorbis in WebM and MKV); otherwise it is left out with a
warning. The output is written to a temporary file and renamed into place when complete.

Modules: ``paths`` (what is a video, names, frame numbering; no PyAV), ``clips`` (readers and
writers), ``temporal`` (optical flow, reliability masks, the temporal blend, warping error),
``gatys`` (optimisation frame by frame with the temporal loss).
"""

from nst_tf.video.clips import FrameSequence, FrameWriter, VideoReader, VideoWriter, open_video, open_writer
from nst_tf.video.paths import (
    DEFAULT_SEQUENCE_FPS,
    KINDS,
    VIDEO_EXTENSIONS,
    check_fps,
    guess_pattern,
    is_sequence,
    is_video,
    numbered,
    output_exists,
    sequence_frames,
    styled_name,
)

__all__ = [
    "DEFAULT_SEQUENCE_FPS", "KINDS", "VIDEO_EXTENSIONS", "FrameSequence", "FrameWriter", "VideoReader", "VideoWriter",
    "check_fps", "guess_pattern", "is_sequence", "is_video", "numbered", "open_video", "open_writer",
    "output_exists", "sequence_frames", "styled_name",
]  # fmt: skip
