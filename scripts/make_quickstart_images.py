#!/usr/bin/env python3
"""Writes examples/quickstart_data/: 8 deterministic 64x64 PNG images and metadata.csv.

Needs only numpy and zlib (no PIL): the PNG encoder below writes one IHDR, one IDAT
(filter type 0 on every row) and IEND chunk. Re-running produces identical bytes.
"""
import os
import struct
import zlib

import numpy as np

SIZE = 64
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "quickstart_data")


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encodes an (H, W, 3) uint8 array as an 8-bit RGB PNG."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


yy, xx = np.mgrid[0:SIZE, 0:SIZE]
cx = cy = (SIZE - 1) / 2
dist = np.hypot(xx - cx, yy - cy)


def canvas(color):
    img = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
    img[:] = color
    return img


def red_circle():
    img = canvas((255, 255, 255)); img[dist < 20] = (220, 30, 30); return img


def blue_square():
    img = canvas((255, 255, 255)); img[16:48, 16:48] = (30, 60, 220); return img


def green_triangle():
    img = canvas((255, 255, 255)); img[(yy > 12) & (yy < 52) & (np.abs(xx - cx) < (yy - 12) / 2)] = (30, 170, 60); return img


def yellow_stripes():
    img = canvas((40, 40, 40)); img[(xx // 8) % 2 == 0] = (240, 210, 40); return img


def purple_checkerboard():
    img = canvas((255, 255, 255)); img[((xx // 8) + (yy // 8)) % 2 == 0] = (130, 40, 170); return img


def orange_gradient():
    img = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
    t = xx / (SIZE - 1)
    img[..., 0] = (255 * (0.6 + 0.4 * t)).astype(np.uint8)
    img[..., 1] = (140 * t).astype(np.uint8)
    return img


def cyan_ring():
    img = canvas((20, 20, 40)); img[(dist > 14) & (dist < 22)] = (40, 220, 230); return img


def white_cross():
    img = canvas((0, 0, 0)); img[28:36, 8:56] = (255, 255, 255); img[8:56, 28:36] = (255, 255, 255); return img


IMAGES = [
    ("red_circle.png", red_circle, "a red circle on a white background, flat shapes style"),
    ("blue_square.png", blue_square, "a blue square on a white background, flat shapes style"),
    ("green_triangle.png", green_triangle, "a green triangle on a white background, flat shapes style"),
    ("yellow_stripes.png", yellow_stripes, "yellow vertical stripes on dark grey, flat shapes style"),
    ("purple_checkerboard.png", purple_checkerboard, "a purple and white checkerboard, flat shapes style"),
    ("orange_gradient.png", orange_gradient, "an orange gradient from dark red to orange, flat shapes style"),
    ("cyan_ring.png", cyan_ring, "a cyan ring on a dark blue background, flat shapes style"),
    ("white_cross.png", white_cross, "a white cross on a black background, flat shapes style"),
]

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "metadata.csv"), "w", encoding="utf-8", newline="") as csv:
    csv.write("file_name,text\n")
    for name, draw, caption in IMAGES:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(png_bytes(draw()))
        csv.write(f'{name},"{caption}"\n')
print(f"wrote {len(IMAGES)} images and metadata.csv to {os.path.normpath(OUT)}")
