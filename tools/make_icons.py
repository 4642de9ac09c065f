"""Draw the app icons as PNG files (run once; the PNGs are committed).

`python tools/make_icons.py` writes static/icons/icon-{192,512}.png (rounded square, for
"any" purpose) and icon-maskable-{192,512}.png (full bleed: the launcher applies its own mask,
so the cross stays inside the central safe circle of radius 40 %). Standard library only:
zlib for the deflate stream, struct for the chunk framing.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
BLUE = (0x0B, 0x5F, 0xA5)
WHITE = (0xFF, 0xFF, 0xFF)
SUPERSAMPLE = 4  # 4×4 samples per pixel smooth the rounded corners


def _inside_rounded_square(x: float, y: float, radius: float) -> bool:
    # Unit square [0, 1]² with corner radius `radius`.
    cx = min(max(x, radius), 1 - radius)
    cy = min(max(y, radius), 1 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2


def _inside_cross(x: float, y: float) -> bool:
    # The cross of icon.svg: arms 80/512 wide, reaching from 112/512 to 400/512.
    lo, hi = 112 / 512, 400 / 512
    arm_lo, arm_hi = 216 / 512, 296 / 512
    return (arm_lo <= x <= arm_hi and lo <= y <= hi) or (arm_lo <= y <= arm_hi and lo <= x <= hi)


def draw(size: int, maskable: bool) -> bytes:
    rows = []
    n = SUPERSAMPLE
    for py in range(size):
        row = bytearray([0])  # filter type 0 for each scanline
        for px in range(size):
            bg = cross = 0
            for sy in range(n):
                for sx in range(n):
                    x = (px + (sx + 0.5) / n) / size
                    y = (py + (sy + 0.5) / n) / size
                    if maskable or _inside_rounded_square(x, y, 96 / 512):
                        if _inside_cross(x, y):
                            cross += 1
                        else:
                            bg += 1
            covered = bg + cross
            alpha = round(255 * covered / (n * n))
            if covered:
                pairs = zip(BLUE, WHITE, strict=True)
                rgb = tuple(round((b * bg + w * cross) / covered) for b, w in pairs)
            else:
                rgb = (0, 0, 0)
            row += bytes((*rgb, alpha))
        rows.append(bytes(row))
    return _png(size, size, b"".join(rows))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, raw: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def main() -> None:
    for size in (192, 512):
        (ICONS / f"icon-{size}.png").write_bytes(draw(size, maskable=False))
        (ICONS / f"icon-maskable-{size}.png").write_bytes(draw(size, maskable=True))
        print(f"wrote icon-{size}.png and icon-maskable-{size}.png")


if __name__ == "__main__":
    main()
