"""Safe image opening for classification and thumbnails.

Every image the app touches comes from the user's disk and may be anything: a
photo with an EXIF rotation, a 16-bit scan, a CMYK print file, a PNG renamed
``.jpg``, half a download, or a decompression bomb. This module is the one
place that turns such a file into a plain, fully loaded RGB image, or into an
``ImageReadError`` whose message says what is wrong with *that* file.

The content decides the format (``Image.open(..., formats=ALLOWED_FORMATS)``),
never the extension. ``decode_for_model`` is a top-level function returning
only picklable data so that it can run in a ``ProcessPoolExecutor``: a crash in
a native decoder then kills a worker, not the app.

Memory is bounded from the header, before any pixel is decoded: only regular
files are opened (``engine.core.regular_files``), images over Pillow's pixel limit
are refused as decompression bombs, and so are images more than
``MAX_ASPECT_RATIO`` times as long as wide, because scaling their shorter side
to the model's 256 pixels would make the longer side unbounded. With both
limits no decode or resize here needs more than a few hundred megabytes.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.core import regular_files
from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.data.pixels import to_rgb

log = logging.getLogger(__name__)

#: Pillow format names the app decodes; other plugins are never tried.
#: "DIB" (a BMP without its file header, as Pillow and the Windows clipboard write
#: ``.dib`` files) comes last because its signature is only a header size.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "DIB")

#: File name extensions (lower case, with the dot) that folder walks pick up.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif",
        ".png", ".apng",
        ".webp",
        ".gif",
        ".bmp", ".dib",
        ".tif", ".tiff",
    }
)  # fmt: skip

#: Longest side over shortest side beyond which an image is refused. The model
#: input is a centre square of the image scaled so its shorter side is 256; a
#: 60000x1 strip would scale to 15 million x 256 pixels (12 GB) to yield a
#: square of one smeared pixel row. Refusing is clearer than a crop of
#: 1/20th of the picture: panoramas (up to ~12:1) still open.
MAX_ASPECT_RATIO = 20
#: Below these an image still decodes, but too little of it reaches the model for a sure
#: answer: either side under ``MIN_RELIABLE_SIDE`` pixels, or the longer side more than
#: ``MAX_RELIABLE_ASPECT`` times the shorter (data health flags them; Classify says why).
MIN_RELIABLE_SIDE = 32
MAX_RELIABLE_ASPECT = 4.0

#: Largest thumbnail side; small enough to ship across processes as JPEG bytes.
THUMBNAIL_SIZE = 128

MSG_EMPTY = N_("The file {name} is empty.")
MSG_NOT_IMAGE = N_(
    "{name} is not an image Taxon can open. Supported formats are JPEG, PNG, WebP, "
    "GIF, BMP and TIFF."
)
MSG_CORRUPT = N_("{name} is damaged or incomplete and cannot be decoded.")
MSG_TOO_LARGE = N_("{name} is too large to open safely (it may be a decompression bomb).")
MSG_PERMISSION = N_("Taxon does not have permission to read {name}.")
MSG_NOT_FOUND = N_("The file {name} was not found.")
MSG_UNREADABLE = N_("The file {name} could not be read.")
MSG_TOO_THIN = N_(
    "{name} is too long and thin for Taxon ({width}×{height} pixels): images can be at "
    "most {ratio} times as long as they are wide."
)
MSG_NOT_REGULAR = regular_files.MSG_NOT_REGULAR


class ImageReadError(UserError):
    """A file that cannot become an image, with the reason in the user's language.

    ``msgid`` is one of the ``MSG_*`` constants, so callers (and tests) can tell
    the reasons apart without parsing text; ``path`` is the file as given.
    """

    def __init__(
        self, message: str, path: str | os.PathLike[str], details: str = "", **params: object
    ) -> None:
        file_path = Path(path)
        super().__init__(message, details, name=file_path.name or str(file_path), **params)
        self.path = file_path

    def __reduce__(self):
        # Exceptions pickle as ``cls(*args)``; keep every field when the error
        # comes back from a worker process.
        extra = {key: value for key, value in self.params.items() if key != "name"}
        return (_rebuild_error, (type(self), self.msgid, self.path, self.details, extra))


def _rebuild_error(cls, message, path, details, params) -> ImageReadError:
    return cls(message, path, details, **params)


class UnsupportedModeError(Exception):
    """A valid file in a pixel mode that has no RGB conversion (e.g. LAB TIFF)."""


@dataclass(frozen=True)
class DecodedImage:
    """What a worker process sends back: model input, a thumbnail, the real size."""

    pixels: np.ndarray  # (size, size, 3) uint8 RGB, centre-cropped
    thumbnail_jpeg: (
        bytes  # JPEG, longest side <= THUMBNAIL_SIZE (a few KB: thousands fit in memory)
    )
    width: int  # original width, after EXIF orientation
    height: int  # original height, after EXIF orientation


def load_rgb(
    path: str | os.PathLike[str],
    target_min_side: int | None = None,
    *,
    max_aspect_ratio: float | None = None,
) -> Image.Image:
    """Open ``path`` as a fully loaded RGB image, or raise ``ImageReadError``.

    With ``target_min_side``, JPEGs decode at the smallest 1/2, 1/4 or 1/8
    scale whose shorter side still reaches the target, which is several times
    faster for camera photos that are shrunk for a model anyway. Callers that
    scale the shorter side *up* to a fixed length (model input, training
    crops) pass ``max_aspect_ratio=MAX_ASPECT_RATIO`` so a 60000x1 strip is
    refused (``MSG_TOO_THIN``) instead of growing to gigabytes; thumbnails only
    shrink and need no such limit.
    """
    image, _size = load_rgb_with_size(path, target_min_side, max_aspect_ratio)
    return image


def make_thumbnail(image: Image.Image, size: int = THUMBNAIL_SIZE) -> Image.Image:
    """An RGB copy that fits in ``size`` x ``size``, aspect kept, never enlarged."""
    if size < 1:
        raise ValueError(f"thumbnail size must be positive, got {size}")
    thumb = to_rgb(image)
    thumb.thumbnail((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return thumb


def thumbnail_jpeg(image: Image.Image, size: int = THUMBNAIL_SIZE, quality: int = 85) -> bytes:
    """``make_thumbnail`` as JPEG bytes: the one form thumbnails travel in (across
    processes, into a report's HTML). An image that already fits is only encoded."""
    buffer = io.BytesIO()
    make_thumbnail(image, size).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def decode_for_model(
    path: str | os.PathLike[str], size: int = 224, resize_shorter: int = 256
) -> DecodedImage:
    """Decode one file into model pixels and a thumbnail (worker-process safe).

    The shorter side is resized to ``resize_shorter`` with bicubic filtering
    and the centre ``size`` x ``size`` square is cut out, the usual ImageNet
    evaluation transform. Only arrays and bytes are returned so the result
    pickles cheaply and no full-size image outlives the call.
    """
    if size < 1 or resize_shorter < 1:
        raise ValueError("size and resize_shorter must be positive")
    shorter = max(resize_shorter, size)
    image, (width, height) = load_rgb_with_size(path, shorter, MAX_ASPECT_RATIO)
    thumbnail = thumbnail_jpeg(image)
    resized = resize_shorter_side(image, shorter)
    cropped = center_crop(resized, size)
    return DecodedImage(
        pixels=np.array(cropped, dtype=np.uint8),
        thumbnail_jpeg=thumbnail,
        width=width,
        height=height,
    )


def load_rgb_with_size(
    path: str | os.PathLike[str],
    target_min_side: int | None,
    max_aspect_ratio: float | None = None,
) -> tuple[Image.Image, tuple[int, int]]:
    """``load_rgb`` plus the original (EXIF-oriented) size before any draft scaling."""
    file_path = Path(path)
    handle = _open_image_file(file_path)
    with handle, warnings.catch_warnings():
        # Between MAX_IMAGE_PIXELS and twice that Pillow only warns; refuse those too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return decode_stream(handle, target_min_side, file_path, max_aspect_ratio)
        except ImageReadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageReadError(MSG_TOO_LARGE, file_path, str(error)) from error
        except UnidentifiedImageError as error:
            raise ImageReadError(MSG_NOT_IMAGE, file_path, str(error)) from error
        except (PermissionError, FileNotFoundError) as error:
            raise _from_os_error(file_path, error) from error
        except MemoryError as error:
            raise ImageReadError(MSG_TOO_LARGE, file_path, "out of memory") from error
        except UnsupportedModeError as error:
            raise ImageReadError(MSG_NOT_IMAGE, file_path, str(error)) from error
        except Exception as error:
            # Decoders report damage as OSError, SyntaxError, ValueError,
            # EOFError, struct.error, zlib.error and more; all mean "corrupt".
            log.debug("Cannot decode %s", file_path, exc_info=True)
            raise ImageReadError(
                MSG_CORRUPT, file_path, f"{type(error).__name__}: {error}"
            ) from error


def _open_image_file(file_path: Path) -> BinaryIO:
    """The file opened for reading, only if it is a non-empty regular file.

    A folder is "not an image"; a FIFO or device is refused before it is read
    (reading ``/dev/zero`` never ends, opening a FIFO blocks forever).
    """
    try:
        info = regular_files.check_regular(file_path)
    except OSError as error:
        raise _from_os_error(file_path, error) from error
    if stat.S_ISDIR(info.st_mode):
        raise ImageReadError(MSG_NOT_IMAGE, file_path)
    if info.st_size == 0:
        raise ImageReadError(MSG_EMPTY, file_path)
    try:
        return regular_files.open_regular(file_path)
    except OSError as error:
        raise _from_os_error(file_path, error) from error


def verify_image(
    path: str | os.PathLike[str], max_aspect_ratio: float | None = MAX_ASPECT_RATIO
) -> tuple[int, int]:
    """Check a file's header without decoding its pixels; returns its stored size.

    Raises ``ImageReadError`` for everything ``decode_for_model`` would refuse
    up front (special files, unknown formats, too many pixels, too long and
    thin), so a long training run can drop such files before it starts.
    """
    file_path = Path(path)
    with _open_image_file(file_path) as handle, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(handle, formats=ALLOWED_FORMATS) as image:
                _check_size(image.size, file_path, max_aspect_ratio)
                size = image.size
                image.verify()
                return size
        except ImageReadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageReadError(MSG_TOO_LARGE, file_path, str(error)) from error
        except UnidentifiedImageError as error:
            raise ImageReadError(MSG_NOT_IMAGE, file_path, str(error)) from error
        except OSError as error:
            raise _from_os_error(file_path, error) from error
        except Exception as error:
            raise ImageReadError(
                MSG_CORRUPT, file_path, f"{type(error).__name__}: {error}"
            ) from error


def decode_stream(
    handle: BinaryIO,
    target_min_side: int | None,
    file_path: Path,
    max_aspect_ratio: float | None,
) -> tuple[Image.Image, tuple[int, int]]:
    """Open, draft, fully load, orient and convert; runs inside the guarded block."""
    with Image.open(handle, formats=ALLOWED_FORMATS) as image:
        _check_size(image.size, file_path, max_aspect_ratio)
        original = image.size
        if target_min_side and target_min_side > 0 and image.format in {"JPEG", "MPO"}:
            # draft() picks the largest 1/8..1/1 scale with both sides >= the request.
            image.draft("RGB", (target_min_side, target_min_side))
        # Animated files are positioned on their first frame after open; load()
        # decodes all of it here so truncation raises now, not later.
        image.load()
        loaded_size = image.size
        oriented = _exif_transpose(image)
        if oriented.size != loaded_size:
            original = (original[1], original[0])
        try:
            rgb = to_rgb(oriented)
        except ValueError as error:
            raise UnsupportedModeError(f"mode {oriented.mode}: {error}") from error
        return rgb, original


def _check_size(size: tuple[int, int], file_path: Path, max_aspect_ratio: float | None) -> None:
    """Refuse, from the header alone, what would take too much memory to decode or resize.

    The pixel limit bounds the decode; the aspect ratio limit bounds every
    resize that scales the shorter side up to a fixed length (model input,
    training crops) to ``max_aspect_ratio`` times that length squared.
    """
    _check_pixel_limit(size)
    width, height = size
    if max_aspect_ratio and max(width, height) > max_aspect_ratio * max(1, min(width, height)):
        raise ImageReadError(
            MSG_TOO_THIN,
            file_path,
            f"{width}x{height}",
            width=width,
            height=height,
            ratio=max_aspect_ratio,
        )


def _check_pixel_limit(size: tuple[int, int]) -> None:
    """Refuse images over Pillow's limit even if another thread reset the warning filter.

    ``warnings.catch_warnings`` changes process-wide state, so this explicit
    check is the guard that also holds when decoding on several threads.
    """
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and max(1, size[0]) * max(1, size[1]) > limit:
        raise Image.DecompressionBombError(
            f"Image size ({size[0]}x{size[1]} pixels) exceeds limit of {limit} pixels"
        )


def _exif_transpose(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a malformed EXIF block leaves the pixels as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError):
        raise
    except Exception:
        log.debug("Ignoring unreadable EXIF orientation", exc_info=True)
        return image.copy()


def resize_shorter_side(image: Image.Image, shorter: int) -> Image.Image:
    width, height = image.size
    if width <= height:
        new_size = (shorter, max(1, round(height * shorter / width)))
    else:
        new_size = (max(1, round(width * shorter / height)), shorter)
    if new_size == image.size:
        return image
    return image.resize(new_size, Image.Resampling.BICUBIC)


def center_crop(image: Image.Image, size: int) -> Image.Image:
    width, height = image.size
    left = int(round((width - size) / 2.0))
    top = int(round((height - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def _from_os_error(path: Path, error: OSError) -> ImageReadError:
    if isinstance(error, regular_files.NotRegularFileError):
        return ImageReadError(MSG_NOT_REGULAR, path, str(error))
    if isinstance(error, PermissionError):
        return ImageReadError(MSG_PERMISSION, path, str(error))
    if isinstance(error, (FileNotFoundError, NotADirectoryError)):
        return ImageReadError(MSG_NOT_FOUND, path, str(error))
    if isinstance(error, IsADirectoryError):
        return ImageReadError(MSG_NOT_IMAGE, path, str(error))
    return ImageReadError(MSG_UNREADABLE, path, str(error))
