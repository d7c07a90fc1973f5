"""Reading and writing clips and frame folders with PyAV, frames streamed (see :mod:`nst_tf.video`)."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from nst_tf import images
from nst_tf.errors import UserError
from nst_tf.files import current_umask, temp_name
from nst_tf.video.paths import (
    DEFAULT_SEQUENCE_FPS,
    VIDEO_EXTENSIONS,
    guess_pattern,
    is_sequence,
    numbered,
    sequence_frames,
)

log = logging.getLogger("nst_tf")

_VIDEO_CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9"}
_AUDIO_OK = {
    ".mp4": {"aac", "mp3"},
    ".mov": {"aac", "mp3"},
    ".mkv": {"aac", "mp3", "opus", "vorbis", "flac"},
    ".webm": {"opus", "vorbis"},
}


def _av():
    try:
        import av
    except ImportError:
        raise UserError("video needs PyAV and OpenCV; pip install 'nst_tf[video]'") from None
    return av


class VideoReader:
    """An opened video: ``fps``, ``frame_count`` (an estimate from the container, 0 if unknown),
    ``size`` (w, h, as stored: before the display rotation), and :meth:`frames` streaming uint8 RGB
    frames (upright)."""

    def __init__(self, path):
        av = _av()
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"video file not found: {path}; check the path")
        try:
            self.container = av.open(str(self.path))
            self.stream = self.container.streams.video[0]
        except (av.error.FFmpegError, IndexError, OSError) as exc:
            raise UserError(f"{path} could not be opened as a video ({exc}); the file may be damaged") from None
        self.stream.thread_type = "AUTO"
        rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(25)
        self.fps = Fraction(rate)
        self.frame_count = int(self.stream.frames or 0)
        self.size = (self.stream.codec_context.width, self.stream.codec_context.height)
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None

    def frames(self) -> Iterator[np.ndarray]:
        """The frames upright, as a player shows them: a phone records portrait video sideways with
        a display rotation (the DISPLAYMATRIX side data, counter-clockwise degrees), applied here."""
        av = _av()
        try:
            for frame in self.container.decode(self.stream):
                image = frame.to_ndarray(format="rgb24")
                turns = int(round((getattr(frame, "rotation", 0) or 0) / 90)) % 4
                yield np.ascontiguousarray(np.rot90(image, turns)) if turns else image
        except av.error.FFmpegError as exc:
            raise UserError(
                f"{self.path} could not be decoded past a point ({exc}); the file may be truncated"
            ) from None

    def audio_packets(self) -> Iterator:
        if self.audio is None:
            return
        with _av().open(str(self.path)) as again:  # a second demuxer: the video one is being decoded
            for packet in again.demux(again.streams.audio[0]):
                if packet.dts is not None:
                    yield packet

    def close(self) -> None:
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FrameSequence:
    """A folder of numbered frames read as a clip (the :class:`VideoReader` interface); every frame
    must have the first one's size."""

    audio = None

    def __init__(self, pattern, fps=None):
        self.path = Path(pattern).expanduser()
        if self.path.suffix.lower() not in images.READ_EXTENSIONS:
            raise UserError(
                f"frame pattern {pattern} must end with an image extension "
                f"({', '.join(images.READ_EXTENSIONS)}), e.g. frames/%04d.png"
            )
        self.files = sequence_frames(self.path)
        if not self.files:
            guess = guess_pattern(self.path.parent)
            hint = f"; the folder holds numbered images: try {guess}" if guess else ""
            raise UserError(f"no frames match {pattern} (files such as {numbered(self.path, 1)}){hint}")
        numbers = [n for n, _ in self.files]
        if numbers[-1] - numbers[0] + 1 != len(numbers):
            log.warning(
                "%s: %d frame numbers missing between %d and %d; the clip jumps there",
                pattern,
                numbers[-1] - numbers[0] + 1 - len(numbers),
                numbers[0],
                numbers[-1],
            )
        self.start = numbers[0]
        self.fps = Fraction(fps).limit_denominator(100000) if fps else DEFAULT_SEQUENCE_FPS
        self.frame_count = len(self.files)
        self._first = images.to_uint8(images.load_image(self.files[0][1]))  # a broken one is refused now
        self.size = (self._first.shape[1], self._first.shape[0])

    def frames(self) -> Iterator[np.ndarray]:
        for i, (_, f) in enumerate(self.files):
            frame = self._first if i == 0 else images.to_uint8(images.load_image(f))  # decoded once
            if (frame.shape[1], frame.shape[0]) != self.size:
                raise UserError(
                    f"frame {f} is {frame.shape[1]}x{frame.shape[0]}, the first frame "
                    f"{self.size[0]}x{self.size[1]}; every frame of a clip needs one size"
                )
            yield frame

    def audio_packets(self) -> Iterator:
        return iter(())

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_video(path, fps=None):
    """A :class:`VideoReader` for a video file, a :class:`FrameSequence` for a frame pattern
    (``fps`` is the sequence's rate; a video keeps its own)."""
    return FrameSequence(path, fps) if is_sequence(path) else VideoReader(path)


def open_writer(path, like):
    """A writer for ``path`` (a video file or a frame pattern) with the rate, audio and frame
    numbers of the opened clip ``like``."""
    if is_sequence(path):
        return FrameWriter(path, start=getattr(like, "start", 1))
    return VideoWriter(path, like.fps, audio_from=like)


class FrameWriter:
    """Write frames as numbered image files (``out/%04d.png``), each one atomically."""

    def __init__(self, pattern, start: int = 1):
        self.path = Path(pattern).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        images.check_output_path(numbered(self.path, 1), overwrite=True)
        self.start, self.frames_written = start, 0

    def write(self, frame: np.ndarray) -> None:
        images.save_image(frame, numbered(self.path, self.start + self.frames_written), overwrite=True)
        self.frames_written += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass  # every frame is already in place


class VideoWriter:
    """Write uint8 RGB frames to ``path`` at ``fps``; atomic (temp file, then rename) on a clean exit."""

    def __init__(self, path, fps, audio_from: Optional[VideoReader] = None, crf: int = 20):
        av = _av()
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in _VIDEO_CODECS:
            raise UserError(
                f"cannot write video as {self.path.name}; end the name with one of "
                f"{', '.join(VIDEO_EXTENSIONS)} (or .gif/.webp for an animation)"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = str(temp_name(self.path, ext))  # named before it exists: removed whenever a stop lands
        try:
            self._open(av, ext, fps, audio_from, crf)
        except BaseException:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
            raise
        self.frames_written = 0

    def _open(self, av, ext, fps, audio_from, crf) -> None:
        self.container = av.open(self.tmp, mode="w")
        self.stream = self.container.add_stream(_VIDEO_CODECS[ext], rate=Fraction(fps).limit_denominator(100000))
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": str(crf)} if _VIDEO_CODECS[ext] == "libx264" else {"crf": str(crf + 12), "b": "0"}
        self.audio_from, self.audio_out = None, None
        if audio_from is not None and audio_from.audio is not None:
            name = audio_from.audio.codec_context.name
            if name in _AUDIO_OK[ext]:
                self.audio_out = self.container.add_stream_from_template(audio_from.audio)
                self.audio_from = audio_from
            else:
                log.warning("the input's %s audio cannot go into a %s file; the output has no sound", name, ext)

    def write(self, frame: np.ndarray) -> None:
        av = _av()
        h, w = frame.shape[:2]
        frame = np.ascontiguousarray(frame[: h - h % 2, : w - w % 2])  # yuv420p needs even sides
        if self.frames_written == 0:
            self.stream.width, self.stream.height = frame.shape[1], frame.shape[0]
        for packet in self.stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            self.container.mux(packet)
        self.frames_written += 1

    def _finish(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        if self.audio_out is not None:
            for packet in self.audio_from.audio_packets():
                packet.stream = self.audio_out
                self.container.mux(packet)
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._finish()
                os.chmod(self.tmp, 0o666 & ~current_umask())  # the usual permissions, whatever created it
                os.replace(self.tmp, self.path)
                return
            self.container.close()
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
