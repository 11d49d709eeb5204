"""Badge images as PNG: a medallion drawn for each badge, and the same image baked with an assertion.

Badge icons are emoji (or URLs, which are not fetched: that would make this server fetch any address
staff type). No emoji font can be counted on (Debian's `fonts-noto-color-emoji` is not installed on
our machines, and Pillow draws colour emoji only from such a font), so every badge gets the same kind
of picture: a disc in a colour taken from the badge's id, with the initials of its name in Pillow's
own bundled font. It depends on nothing installed on the host, and one badge always gets the same
bytes (for the same Pillow).
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import uuid

from openbadges_bakery import bake
from PIL import Image, ImageDraw, ImageFont

SIZE = 256
RING = 12


def initials(name: str) -> str:
    words = [word for word in name.split() if word[:1].isalnum()]
    letters = "".join(word[0] for word in words[:2]).upper()
    return letters or "?"


def colour(badge_id: uuid.UUID) -> tuple[int, int, int]:
    """A hue from the id; saturation and lightness fixed so white initials always read on it."""
    hue = int.from_bytes(hashlib.sha256(badge_id.bytes).digest()[:2], "big") / 0xFFFF
    red, green, blue = colorsys.hls_to_rgb(hue, 0.38, 0.6)
    return round(red * 255), round(green * 255), round(blue * 255)


def badge_png(*, badge_id: uuid.UUID, name: str) -> bytes:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    fill = colour(badge_id)
    rim = tuple(max(0, channel - 60) for channel in fill)
    draw.ellipse((0, 0, SIZE - 1, SIZE - 1), fill=rim)
    draw.ellipse((RING, RING, SIZE - 1 - RING, SIZE - 1 - RING), fill=fill)
    text = initials(name)
    font = ImageFont.load_default(size=110 if len(text) == 1 else 92)
    draw.text((SIZE / 2, SIZE / 2), text, fill=(255, 255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def baked_png(image: bytes, assertion_json: str) -> bytes:
    """`image` with the assertion in an `iTXt` chunk of keyword `openbadges` (Open Badges baking)."""
    out = io.BytesIO()
    bake(io.BytesIO(image), assertion_json, out)
    return out.getvalue()
