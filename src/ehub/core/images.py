"""Checking uploaded images: is this file really a picture eHub accepts?

An upload's name and declared content type are whatever the sender says; only the bytes count.
``read_image`` opens them with Pillow, checks the structure, and accepts JPEG, PNG, WebP and GIF
only. SVG is never accepted: it is a document that may carry scripts, and Pillow cannot read it
anyway. Every refusal is a ``ValidationFailed`` naming the caller's field, so a page shows it
beside the file input and the API puts it in the problem's ``errors``.

Callers store the bytes under a name they make from ``IMAGE_FORMATS[image.format]`` (the
format found in the file), never from the uploader's file name.
"""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from ehub.core.errors import ValidationFailed

# Pillow's format name -> the file extension eHub stores it under.
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}

_MB = 1024 * 1024


def size_label(max_bytes: int) -> str:
    """``5 * 1024 * 1024`` -> ``"5"``, as the size limit is written in messages (MB)."""
    return f"{max_bytes / _MB:g}"


def read_upload(upload, max_bytes: int) -> bytes:
    """The bytes of an uploaded file, but never more than ``max_bytes + 1``: enough for
    ``read_image`` to refuse a larger file as too large without holding all of it."""
    return upload.read(max_bytes + 1)


def too_large_message(max_bytes: int) -> str:
    return _("The image is larger than %(size)s MB.") % {"size": size_label(max_bytes)}


def read_image(content: bytes, field: str, max_bytes: int) -> Image.Image:
    """Open ``content`` only if it really is an image of an accepted format.

    Refusals (each a ``ValidationFailed`` on ``field``): ``too_large`` past ``max_bytes``,
    ``not_an_image`` when Pillow cannot read it (including truncated files and decompression
    bombs), ``format`` for a readable image of another format (BMP, TIFF, ...).
    """
    if len(content) > max_bytes:
        raise ValidationFailed.single(field, too_large_message(max_bytes), "too_large")
    try:
        probe = Image.open(io.BytesIO(content))
        probe.verify()  # checks the file's structure; the object is unusable afterwards
        image = Image.open(io.BytesIO(content))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed.single(
            field, _("This file is not an image eHub can read."), "not_an_image"
        ) from None
    if image.format not in IMAGE_FORMATS:
        raise ValidationFailed.single(field, _("Upload a JPEG, PNG, WebP or GIF image."), "format")
    return image
