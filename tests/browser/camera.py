"""A fake camera for Chromium: the project's own QR labels as a YUV4MPEG2 video, which
Chromium plays (in a loop) as the camera with ``--use-file-for-fake-video-capture``."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tracker.domain.labels import qr_png

WIDTH, HEIGHT, FPS = 640, 480, 10
# Chromium's fake capture device asks for a launch flag per file, so each video is one
# browser; these flags make the file the camera and say yes to the permission prompt.
FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def camera_flags(video: Path) -> list[str]:
    return [*FLAGS, f"--use-file-for-fake-video-capture={video}"]


def label(uri: str, serial: str) -> Image.Image:
    """One label as printed: the QR code of the serial's Digital Link URI (the API's
    ``/serials/{serial}/qr.png``) with the serial in readable text beneath, on a shelf-grey
    background filling the frame."""
    qr = Image.open(io.BytesIO(qr_png(uri, box_size=6))).convert("L")
    side = min(HEIGHT - 90, qr.width)
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("L", (WIDTH, HEIGHT), 150)
    card = Image.new("L", (side + 20, side + 60), 255)
    card.paste(qr, (10, 10))
    pen = ImageDraw.Draw(card)
    font = ImageFont.load_default(size=22)
    text_width = pen.textlength(serial, font=font)
    pen.text(((card.width - text_width) / 2, side + 18), serial, fill=0, font=font)
    frame.paste(card, ((WIDTH - card.width) // 2, (HEIGHT - card.height) // 2))
    return frame.convert("RGB")


def empty_shelf() -> Image.Image:
    """A frame with no code in view."""
    return Image.new("RGB", (WIDTH, HEIGHT), (150, 150, 150))


def _yuv420(image: Image.Image) -> bytes:
    """One frame as YUV4MPEG2's 4:2:0 planes: full-size Y, then Cb and Cr at half size."""
    y, cb, cr = image.convert("YCbCr").split()
    half = (image.width // 2, image.height // 2)
    return (y.tobytes() + cb.resize(half, Image.Resampling.BOX).tobytes()
            + cr.resize(half, Image.Resampling.BOX).tobytes())


def write_y4m(path: Path, frames: Iterable[Image.Image], fps: int = FPS) -> Path:
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + _yuv420(frame))
    return path


def qr_video(path: Path, scenes: list[tuple[Image.Image, float]], fps: int = FPS) -> Path:
    """A video of scenes (frame, seconds), played one after another and then again."""
    frames = []
    for image, seconds in scenes:
        frames += [image] * max(1, round(seconds * fps))
    return write_y4m(path, frames, fps)
