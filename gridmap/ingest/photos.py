"""Photos sent with an issue: checked (real image of an accepted type and size) and re-encoded
without metadata, so a citizen's GPS position, camera serial or name never reaches storage."""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from gridmap.errors import InputError

LOGGER = logging.getLogger(__name__)

# Pillow format name -> stored content type
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded


@dataclass(frozen=True)
class Photo:
    content_type: str
    width: int
    height: int
    sha256: str
    data: bytes


def clean_photo(data: bytes, *, index: int, declared_type: str | None = None) -> Photo:
    """Decode, check and re-encode one photo (``index`` counts from 1 for messages).

    Re-encoding is what strips metadata reliably: EXIF, XMP, IPTC and PNG text chunks are all
    dropped, because only the pixels are written back. The EXIF orientation is applied first
    so the photo does not turn sideways once its tag is gone."""
    if not data:
        raise InputError("photo_empty", index=index)
    if len(data) > MAX_PHOTO_BYTES:
        raise InputError("photo_too_large", index=index, size=len(data), limit=MAX_PHOTO_BYTES)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            image_format = probe.format or ""
            if image_format not in ACCEPTED_FORMATS:
                raise InputError(
                    "photo_type",
                    index=index,
                    found=image_format or "unknown",
                    accepted=", ".join(ACCEPTED_FORMATS.values()),
                )
            if probe.width * probe.height > MAX_PIXELS:
                raise InputError("photo_pixels", index=index, pixels=probe.width * probe.height)
            probe.verify()  # structure check; the image must be reopened afterwards
            opened = Image.open(io.BytesIO(data))
            opened.load()
    except InputError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise InputError(
            "photo_broken", index=index, reason=str(exc) or type(exc).__name__
        ) from exc
    content_type = ACCEPTED_FORMATS[image_format]
    if declared_type and declared_type.split(";")[0].strip().lower() not in (
        content_type,
        "application/octet-stream",
        "image/jpg" if content_type == "image/jpeg" else content_type,
    ):
        raise InputError(
            "photo_type_mismatch", index=index, declared=declared_type, found=content_type
        )
    image: Image.Image = ImageOps.exif_transpose(opened)
    out = io.BytesIO()
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=90, optimize=True)
    elif image_format == "PNG":
        image.save(out, format="PNG", optimize=True)
    else:
        image.save(out, format="WEBP", quality=90)
    cleaned = out.getvalue()
    return Photo(
        content_type=content_type,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(cleaned).hexdigest(),
        data=cleaned,
    )


def clean_photos(items: list[tuple[bytes, str | None]]) -> list[Photo]:
    """Check up to MAX_PHOTOS (data, declared content type) pairs."""
    if len(items) > MAX_PHOTOS:
        raise InputError("photos_too_many", count=len(items), limit=MAX_PHOTOS)
    return [clean_photo(data, index=i, declared_type=t) for i, (data, t) in enumerate(items, 1)]
