"""Contact sheets: a grid of images with captions (examples, benchmarks, batch runs)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from nst_tf.images import load_image, resize, to_uint8


def contact_sheet(rows, cell: int = 256, pad: int = 4, background: float = 1.0, captions=None) -> np.ndarray:
    """Grid of images (a list of rows, each a list of images/paths, or None for an empty cell).

    Each image is fitted inside a ``cell x cell`` square, keeping its aspect ratio, centred.
    ``captions``, if given, has the same shape as ``rows``; each text (lines split on newlines)
    is drawn under its cell.
    """
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    lines = max((len(str(t).splitlines()) for r in (captions or []) for t in r if t), default=0)
    text_h = 13 * lines + (4 if lines else 0)
    row_h = cell + text_h
    h = n_rows * row_h + (n_rows + 1) * pad
    w = n_cols * cell + (n_cols + 1) * pad
    sheet = np.full((h, w, 3), background, np.float32)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            if img is None:
                continue
            small = resize(load_image(img), cell)
            y = pad + i * (row_h + pad) + (cell - small.shape[0]) // 2
            x = pad + j * (cell + pad) + (cell - small.shape[1]) // 2
            sheet[y : y + small.shape[0], x : x + small.shape[1]] = small
    if not lines:
        return sheet
    from PIL import ImageDraw, ImageFont

    canvas = Image.fromarray(to_uint8(sheet))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for i, row in enumerate(captions):
        for j, text in enumerate(row):
            if text:
                y = pad + i * (row_h + pad) + cell + 3
                draw.multiline_text((pad + j * (cell + pad) + 2, y), str(text), fill=(0, 0, 0), font=font, spacing=2)
    return np.asarray(canvas, dtype=np.float32) / 255.0
