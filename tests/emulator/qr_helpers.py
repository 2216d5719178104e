"""QR code test helpers (tests/emulator/): read the modules of a 1-bit greyscale PNG as showqrcode draws it."""

from __future__ import annotations

import struct
import zlib

SCALE, BORDER = 10, 4  # pixels per module and modules of quiet zone in the emulator's showqrcode image


def unfilter(rows: bytes, width_bytes: int, height: int) -> list[bytes]:
    """PNG scanlines without their filter bytes (one byte per pixel group for a 1-bit image)."""
    out: list[bytearray] = []
    prev = bytearray(width_bytes)
    for y in range(height):
        start = y * (width_bytes + 1)
        kind, line = rows[start], bytearray(rows[start + 1 : start + 1 + width_bytes])
        for x in range(width_bytes):
            left = line[x - 1] if x else 0
            up, corner = prev[x], prev[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pred) & 0xFF
        out.append(bytes(line))
        prev = line
    return out


def png_modules(png: bytes) -> list[list[bool]]:
    """The dark (True) and light modules of a QR code image (1-bit greyscale PNG, SCALE px a module, BORDER zone)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert (depth, color) == (1, 0), "expected a 1-bit greyscale PNG"
    lines = unfilter(zlib.decompress(idat), (width + 7) // 8, height)

    def dark(x: int, y: int) -> bool:
        return not (lines[y][x // 8] >> (7 - x % 8)) & 1

    size = width // SCALE - 2 * BORDER
    centre = SCALE // 2
    return [
        [dark((BORDER + c) * SCALE + centre, (BORDER + r) * SCALE + centre) for c in range(size)] for r in range(size)
    ]
