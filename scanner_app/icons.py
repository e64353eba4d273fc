"""The app's icons (PNG, for the manifest and the home screen), drawn with Pillow.

Run ``python -m scanner_app.icons`` to draw them again into ``scanner_app/static/icons``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent / "static" / "icons"
GROUND, INK, TICK = (17, 24, 39), (249, 250, 251), (34, 197, 94)


def draw(size: int, *, maskable: bool) -> Image.Image:
    """A QR finder pattern with a green tick; a maskable icon keeps its mark in the middle
    80 % (the safe zone launchers may crop to)."""
    image = Image.new("RGB", (size, size), GROUND)
    pen = ImageDraw.Draw(image)
    inset = size * (0.2 if maskable else 0.12)
    box = size - 2 * inset
    unit = box / 7
    x0 = y0 = inset
    # The finder pattern's three squares, top-left, top-right and bottom-left.
    for fx, fy in [(0, 0), (4.2, 0), (0, 4.2)]:
        left, top = x0 + fx * unit, y0 + fy * unit
        pen.rectangle([left, top, left + 2.8 * unit, top + 2.8 * unit], fill=INK)
        pen.rectangle([left + .5 * unit, top + .5 * unit, left + 2.3 * unit, top + 2.3 * unit],
                      fill=GROUND)
        pen.rectangle([left + .95 * unit, top + .95 * unit, left + 1.85 * unit,
                       top + 1.85 * unit], fill=INK)
    # A tick in the fourth corner: the code checked.
    width = max(2, round(unit * 0.7))
    pen.line([(x0 + 4.4 * unit, y0 + 5.6 * unit), (x0 + 5.3 * unit, y0 + 6.6 * unit),
              (x0 + 7.0 * unit, y0 + 4.4 * unit)], fill=TICK, width=width, joint="curve")
    return image


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in [("icon-192", 192, False), ("icon-512", 512, False),
                                 ("maskable-512", 512, True)]:
        draw(size, maskable=maskable).save(ICONS / f"{name}.png", optimize=True)


if __name__ == "__main__":
    main()
