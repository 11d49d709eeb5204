"""`<assertion url>.png`: the badge image with the assertion baked in an iTXt chunk `openbadges`, read
back here by a PNG chunk reader of our own (every chunk's CRC checked) and by the bakery's `unbake`."""

from __future__ import annotations

import io
import json
import struct
import uuid
import zlib

import pytest
from openbadges_bakery import unbake
from PIL import Image

from progress.openbadges.images import badge_png, baked_png, initials

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == PNG_SIGNATURE
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        position += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    return chunks


def itxt(body: bytes) -> tuple[str, str]:
    """(keyword, text) of an iTXt chunk: keyword NUL, compression flag and method, language NUL,
    translated keyword NUL, then the UTF-8 text (zlib-deflated if the flag says so)."""
    keyword, rest = body.split(b"\x00", 1)
    compressed, _method, rest = rest[0], rest[1], rest[2:]
    _language, rest = rest.split(b"\x00", 1)
    _translated, text = rest.split(b"\x00", 1)
    return keyword.decode("latin-1"), (zlib.decompress(text) if compressed else text).decode("utf-8")


def test_the_baked_png_holds_the_assertion_served_at_its_url(client, award):
    assertion = client.get(f"/ob/assertions/{award.assertion_id}").json()
    response = client.get(f"/ob/assertions/{award.assertion_id}.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    baked = [itxt(body) for kind, body in png_chunks(response.content) if kind == b"iTXt"]
    assert [keyword for keyword, _ in baked] == ["openbadges"]
    assert json.loads(baked[0][1]) == assertion
    assert json.loads(unbake(io.BytesIO(response.content))) == assertion
    # Still the badge's picture, pixel for pixel.
    badge_image = client.get(f"/ob/badges/{award.badge_id}.png").content
    assert Image.open(io.BytesIO(response.content)).tobytes() == Image.open(io.BytesIO(badge_image)).tobytes()


def test_baking_again_replaces_the_assertion_rather_than_adding_one():
    image = badge_png(badge_id=uuid.UUID(int=7), name="Twice")
    twice = baked_png(baked_png(image, '{"n": 1}'), '{"n": 2, "name": "caf\u00e9"}')
    texts = [itxt(body) for kind, body in png_chunks(twice) if kind == b"iTXt"]
    assert texts == [("openbadges", '{"n": 2, "name": "caf\u00e9"}')]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("First Steps", "FS"), ("streak", "S"), ("Level 10 Legend", "L1"), ("🏆", "?"), ("  ", "?")],
)
def test_the_medallion_shows_the_initials_of_the_badge_name(name, expected):
    assert initials(name) == expected


def test_the_medallion_is_a_256_pixel_png_with_a_transparent_corner():
    image = Image.open(io.BytesIO(badge_png(badge_id=uuid.UUID(int=7), name="First Steps")))
    assert (image.format, image.size, image.mode) == ("PNG", (256, 256), "RGBA")
    alpha = image.getchannel("A")
    assert (alpha.getpixel((0, 0)), alpha.getpixel((128, 20))) == (0, 255)
