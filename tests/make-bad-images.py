#!/usr/bin/python3
"""Writes the image corpus of tests/images/test-image.c and tests/images/test-inspector.c.

Run with Debian's Python and python3-pil:  /usr/bin/python3 tests/make-bad-images.py tests/images
The output is committed, so building and testing need neither.

Every file is deterministic (fixed seeds, no timestamps): running the script
again gives the same bytes, which `git diff` confirms.
"""
import io
import os
import random
import struct
import sys
import zlib

from PIL import Image, ImageDraw, ImageFilter


def photo(width, height, seed):
    """A photo-like picture: a gradient, a few shapes and mild noise."""
    rng = random.Random(seed)
    im = Image.new("RGB", (width, height))
    px = im.load()
    for y in range(height):
        for x in range(width):
            px[x, y] = (int(255 * x / width), int(255 * y / height), 128)
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(8, width // 2), y0 + rng.randrange(8, height // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
    for y in range(height):
        for x in range(width):
            r, g, b = px[x, y]
            n = rng.randrange(-6, 7)
            px[x, y] = (max(0, min(255, r + n)), max(0, min(255, g + n)), max(0, min(255, b + n)))
    return im


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width, height, bit_depth, colour_type, rows):
    """A PNG from raw filtered rows (each starting with filter byte 0)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for row in rows) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def save(im, path, **options):
    buf = io.BytesIO()
    im.save(buf, **options)
    write(path, buf.getvalue())


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main(out):
    os.makedirs(out, exist_ok=True)
    j = lambda name: os.path.join(out, name)

    base = photo(96, 64, 1)
    save(base, j("good.jpg"), format="JPEG", quality=90)
    save(photo(80, 60, 2), j("good.png"), format="PNG")
    save(photo(50, 40, 12), j("good.bmp"), format="BMP")
    save(photo(50, 40, 13), j("good.tiff"), format="TIFF", compression="tiff_deflate")

    # Truncated: the first 60% of a complete file.
    big = photo(160, 120, 3)
    buf = io.BytesIO()
    big.save(buf, format="JPEG", quality=90)
    write(j("truncated.jpg"), buf.getvalue()[: len(buf.getvalue()) * 6 // 10])
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    write(j("truncated.png"), buf.getvalue()[: len(buf.getvalue()) * 6 // 10])

    write(j("zero.jpg"), b"")
    write(j("html.jpg"), b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
                         b"<body><h1>Not Found</h1></body></html>\n")

    # CMYK JPEG (Pillow writes Adobe-inverted CMYK, as Photoshop does).
    cmyk_source = photo(64, 48, 4)
    save(cmyk_source.convert("CMYK"), j("cmyk.jpg"), format="JPEG", quality=90)
    save(cmyk_source, j("cmyk-reference.png"), format="PNG")

    # 16-bit RGB PNG written by hand: red ramps left to right, green top
    # to bottom, blue constant 0x8000.
    w, h = 40, 30
    rows = []
    for y in range(h):
        row = bytearray(b"\x00")
        for x in range(w):
            row += struct.pack(">HHH", x * 65535 // (w - 1), y * 65535 // (h - 1), 0x8000)
        rows.append(bytes(row))
    write(j("16bit.png"), png_bytes(w, h, 16, 2, rows))

    # Paletted PNG with a transparent entry: left half opaque red, right
    # half fully transparent.
    pal = Image.new("P", (40, 30), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    ImageDraw.Draw(pal).rectangle((20, 0, 39, 29), fill=1)
    save(pal, j("palette-alpha.png"), format="PNG", transparency=1)

    # Animated GIF: three frames of different colours.
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    write(j("animated.gif"), buf.getvalue())
    save(photo(48, 40, 5).convert("P", palette=Image.ADAPTIVE), j("still.gif"), format="GIF")

    # A complete, valid 30000 × 30000 1-bit gray PNG: only a size limit
    # stops a decoder from allocating 2.7 GB for it.
    w = h = 30000
    row = b"\x00" + b"\x00" * ((w + 7) // 8)
    write(j("huge.png"), png_bytes(w, h, 1, 0, [row] * h))

    save(Image.new("RGB", (1, 1), (200, 30, 30)), j("tiny.png"), format="PNG")

    # Stored 60 × 40 with a red block at the stored top-left; EXIF
    # orientation 6 says "rotate 90° clockwise to display", so the decoded
    # image is 40 × 60 with the red block at the top-right.
    rot = Image.new("RGB", (60, 40), (0, 0, 255))
    ImageDraw.Draw(rot).rectangle((0, 0, 14, 9), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    save(rot, j("rotated.jpg"), format="JPEG", quality=95, exif=exif)

    # Exact duplicates: the same pixels in two differently compressed PNGs
    # (different bytes, same decoded image).
    dup = photo(64, 64, 6)
    save(dup, j("dup-a.png"), format="PNG", compress_level=9)
    save(dup, j("dup-b.png"), format="PNG", compress_level=1)

    # Near duplicates: one picture, resized and recompressed; and a
    # different picture that must not join the group.
    near = photo(128, 96, 7)
    save(near, j("near-a.jpg"), format="JPEG", quality=92)
    save(near.resize((112, 84), Image.BILINEAR), j("near-b.jpg"), format="JPEG", quality=70)
    save(photo(128, 96, 8), j("other.jpg"), format="JPEG", quality=92)

    save(Image.new("RGB", (64, 64), (30, 140, 60)), j("solid.png"), format="PNG")
    dark = photo(64, 48, 9).point(lambda v: v // 16)
    save(dark, j("dark.jpg"), format="JPEG", quality=90)
    light = photo(64, 48, 10).point(lambda v: 240 + v // 16)
    save(light, j("light.jpg"), format="JPEG", quality=90)
    save(photo(400, 20, 11), j("wide.png"), format="PNG")

    # WebP, which GdkPixbuf cannot read without an extra loader: lossy,
    # lossless with alpha (left half opaque red, right half transparent),
    # animated (red, green, blue frames), cut short, and a lossy photo with
    # EXIF orientation 6 (the stored top-left red block shows top-right).
    save(base, j("good.webp"), format="WEBP", quality=80)
    webp_alpha = Image.new("RGBA", (40, 30), (255, 0, 0, 255))
    ImageDraw.Draw(webp_alpha).rectangle((20, 0, 39, 29), fill=(0, 0, 255, 0))
    save(webp_alpha, j("alpha.webp"), format="WEBP", lossless=True)
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:], duration=100,
                   loop=0, lossless=True)
    write(j("animated.webp"), buf.getvalue())
    buf = io.BytesIO()
    big.save(buf, format="WEBP", quality=80)
    write(j("truncated.webp"), buf.getvalue()[: len(buf.getvalue()) * 6 // 10])
    save(rot, j("rotated.webp"), format="WEBP", quality=95, exif=exif)

    # The start of an AVIF file (an ISO-BMFF "ftyp" box naming the avif
    # brand, then an empty "meta" box): a real image format that Kiln has
    # no decoder for, which must not be taken for random bytes.
    ftyp = b"avif" + struct.pack(">I", 0) + b"avifmif1miaf"
    write(j("unsupported.avif"), struct.pack(">I", 8 + len(ftyp)) + b"ftyp" + ftyp
          + struct.pack(">I", 12) + b"meta" + b"\x00" * 4)

    # A 4000 × 20 banner of four horizontal coloured stripes: plenty of
    # information, all of it across the short side.
    banner = Image.new("RGB", (4000, 20))
    for k, colour in enumerate(((200, 40, 40), (40, 160, 60), (30, 60, 200), (230, 210, 50))):
        ImageDraw.Draw(banner).rectangle((0, 5 * k, 3999, 5 * k + 4), fill=colour)
    save(banner, j("banner.png"), format="PNG")

    # What a person calls dark or light, and what not: a dim photo (its
    # mean, 38, is over the old rule's 20), uniform black and white frames
    # (one reason each, not also "low information"), and a lit subject on
    # black (low-key: dark mean, not a dark picture).
    save(photo(96, 64, 15).point(lambda v: v * 3 // 10), j("dim.jpg"), format="JPEG", quality=90)
    save(Image.new("RGB", (64, 48), (8, 8, 8)), j("black.png"), format="PNG")
    save(Image.new("RGB", (64, 48), (250, 250, 250)), j("white.png"), format="PNG")
    # Two flat grays whose perceptual hashes happen to be equal: blank, not
    # copies of each other.
    save(Image.new("RGB", (64, 48), (100, 100, 100)), j("gray.png"), format="PNG")
    save(Image.new("RGB", (64, 48), (200, 200, 200)), j("silver.png"), format="PNG")
    lowkey = Image.new("RGB", (96, 64), (5, 5, 5))
    lowkey.paste(photo(40, 30, 16), (30, 17))
    save(lowkey, j("lowkey.jpg"), format="JPEG", quality=90)

    # Blurred: a photo under a Gaussian blur of 2% of its shorter side.
    blurred = photo(160, 120, 17).filter(ImageFilter.GaussianBlur(2.4))
    save(blurred, j("blurry.jpg"), format="JPEG", quality=90)

    # JPEG variants the direct libjpeg decoder must read as GdkPixbuf does:
    # progressive with odd sides (half of 75 rounds up to 38), and gray.
    save(photo(99, 75, 18), j("progressive.jpg"), format="JPEG", quality=90, progressive=True)
    save(photo(64, 48, 19).convert("L"), j("gray.jpg"), format="JPEG", quality=90)

    # A "photo unavailable" placeholder and a rescaled copy of it.
    ph = Image.new("RGB", (100, 75), (230, 230, 230))
    d = ImageDraw.Draw(ph)
    d.rectangle((30, 20, 70, 50), outline=(120, 120, 120), width=3)
    d.line((30, 50, 45, 35, 55, 45, 62, 38, 70, 50), fill=(120, 120, 120), width=3)
    d.ellipse((58, 24, 66, 32), fill=(120, 120, 120))
    d.rectangle((10, 60, 90, 66), fill=(160, 160, 160))
    save(ph, j("placeholder.png"), format="PNG")
    save(ph.resize((500, 374), Image.BILINEAR), j("placeholder-big.jpg"), format="JPEG", quality=85)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "images"))
