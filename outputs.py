"""Writing the output files: each encoded as a PNG, JPEG or WebP with the
photo's colour profile and metadata, then renamed into place, so that no
run, however it ends, leaves a half-written one; and what keeps outputs
from being written (their folder, a full drive), which predict.py reports
and its --watch waits out.
"""

import errno
import io
import os

import cv2

import image_files
import metadata

# PNG encoding is the slowest step for a typical photo after the model (14 ms
# of 600x800): zlib level 1 with the "up" row filter was the fastest sound
# setting measured (benchmarks/predict_speed.py; benchmarks/README.md).
PNG_PARAMS = (cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP)
# Photos composed onto a --background have no transparency to keep: they may
# be JPEGs instead (--jpeg, or a .jpg named for one photo), at this quality.
JPEG_QUALITY = 95
# Cutouts and composites may be WebPs (--webp, or a .webp named for one photo):
# the colours lossy at this quality, the transparency lossless. With libwebp's
# fastest method (0), cutouts of about 600x800 take a fifth of the PNGs' bytes
# and 36 ms to encode against 16; at 12 megapixels an eighth, 0.85 s against
# 0.35. Its default method (4) makes them a quarter smaller for 3 to 5 times
# the encoding (benchmarks/README.md). Masks stay PNGs: grey, they are
# smaller so.
WEBP_QUALITY = 90
WEBP_METHOD = 0
WEBP_MAX_SIDE = 16383  # the format's limit: wider panoramas can only be PNGs


def write_atomically(path, pixels, png_params=None, profile=None, exif=None, xmp=None):
    """Encodes as PNG (as JPEG for a .jpg path, WebP for a .webp one), with
    the ICC `profile`, the `exif` metadata and the `xmp` packet where given
    (see metadata.colour_profile, metadata.exif_for_output and
    metadata.xmp_for_output), then renames into place: a killed run never
    leaves a half-written file."""
    if path.suffix.lower() == ".webp":
        encoded = webp_encoded(pixels, profile, exif, xmp)
    else:
        encoded = metadata.with_metadata(opencv_encoded(path, pixels, png_params), profile, exif, xmp, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, encoded)


def opencv_encoded(path, pixels, png_params=None):
    """RGB(A) or grey `pixels` as a PNG's bytes, or a JPEG's for a .jpg `path`."""
    if pixels.ndim == 3:  # OpenCV writes BGR(A)
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    if path.suffix.lower() in image_files.JPEG_EXTENSIONS:
        ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    else:
        ok, encoded = cv2.imencode(".png", pixels, list(PNG_PARAMS if png_params is None else png_params))
    if not ok:
        raise OSError(f"could not encode {path}")
    return encoded.tobytes()


def webp_encoded(pixels, profile=None, exif=None, xmp=None):
    """RGB(A) `pixels` as a WebP's bytes: lossy colours, lossless transparency.
    Pillow (which pillow-heif needs anyway) rather than OpenCV, since it
    writes the profile into WebP's extended format."""
    from PIL import Image

    if max(pixels.shape[:2]) > WEBP_MAX_SIDE:
        raise ValueError(f"WebP holds at most {WEBP_MAX_SIDE} pixels a side, and this output is "
                         f"{pixels.shape[1]}x{pixels.shape[0]}: write it as a PNG (without --webp)")
    encoded = io.BytesIO()
    Image.fromarray(pixels).save(encoded, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD,
                                 icc_profile=profile, exif=exif or b"", xmp=xmp or b"")
    return encoded.getvalue()


def replace_atomically(path, content):
    """Writes `content` (bytes) to a temporary file beside `path`, then renames
    it into place: `path` is either as it was or whole, never half-written."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def output_folder_trouble(output_root):
    """What stops outputs being written under `output_root` now, or None;
    the folder is made where it is missing (rather than each photo failing
    once the model has run on it)."""
    try:
        output_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"cannot make the output folder {output_root}: {error.strerror or error}"
    if not os.access(output_root, os.W_OK | os.X_OK):
        return f"cannot write to the output folder {output_root}: its permissions, or a drive mounted read-only, forbid it"
    return None


def output_there(output):
    """Whether the output file is there already; False where its folder
    cannot be searched (writing there fails too, and says so)."""
    try:
        return output.is_file()
    except OSError:
        return False


# Errors of a write that every write after it would meet too: the run stops
# rather than put thousands of photos through the model for nothing.
DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))  # out of space, or of the user's quota


class WriteFailure(str):
    """Why a photo's output could not be written, the file system refusing
    it, rather than its photo read, put through the model or encoded: what
    is wrong lies on the output's side (a folder's permissions, a network
    drive's blip), which may be mended without the photo changing, so a
    watch tries it again (see watching.watch_folders)."""
