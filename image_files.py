"""Reading photos and masks, whatever format they come in.

Every file this project reads pixels from goes through `decode`: JPEG, PNG,
WebP, AVIF, TIFF, GIF and BMP by OpenCV, HEIC by pillow-heif, camera RAW by
rawpy, each failure a DatasetError that names the file and says why in a
user's words (cut short, a web page saved as a photo, a Git LFS pointer).
Photos are read as viewers show them (EXIF orientation applied), with their
transparency kept apart (read_image_and_alpha); masks as {0, 1} person
pixels, whatever values and channels they were drawn with (read_mask).
data.read_image lays a photo over grey as the model sees it.
"""

import io
import logging
import os
import re
import zlib
from pathlib import Path

import cv2
import numpy as np

# .jfif and .jpe: JPEGs as Windows names them (web downloads saved from Chrome and Edge).
JPEG_EXTENSIONS = (".jpg", ".jpeg", ".jfif", ".jpe")
# iPhones' default photo format (and some Android phones'), which OpenCV cannot decode: pillow-heif does.
HEIC_EXTENSIONS = (".heic", ".heif")
# A GIF: its first frame. AVIF: as OpenCV 5 reads it, a phone's or a web page's.
IMAGE_EXTENSIONS = (*JPEG_EXTENSIONS, ".png", ".bmp", ".webp", ".avif", ".tif", ".tiff", ".gif", *HEIC_EXTENSIONS)
# Camera RAW photos (a sensor's readings, before a camera or a raw converter
# develops them into a photo), which OpenCV cannot decode: rawpy (LibRaw) does
# (see decode_raw). predict.py reads them; training and evaluation take photos
# as developed, which their masks were drawn on.
# (Not .raw, which names pixel dumps of every kind, and only old Panasonic cameras' photos.)
RAW_EXTENSIONS = (".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2",
                  ".rwl", ".pef", ".srw", ".3fr", ".fff", ".iiq", ".erf", ".kdc", ".dcr", ".mrw", ".mos", ".x3f")
# Masks in any of these formats too: JPEG compression leaves a 0/255 mask's
# pixels on the same side of half (validation masks as JPEGs at quality 95,
# 75 and 50: not one pixel changed), so JPEG masks need no converting.
MASK_EXTENSIONS = IMAGE_EXTENSIONS

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A photo, mask or set of them that cannot be used (data.py raises it of
    pairs and splits): the message names the file(s) and the problem."""


def quiet_opencv():
    """Leaves OpenCV's own complaints about a file it cannot decode ("[ERROR
    ...] global grfmt_tiff.cpp:117 TIFF_Error ...", a cut-short WebP's
    "> Buffer is too small ...") out of standard error, where they stood
    beside the line naming the file and why (see decode), all but its fatal
    errors; where OPENCV_LOG_LEVEL is set, it decides. For the scripts'
    main(): the level is OpenCV's, for the whole process."""
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)


def decode(path, flags):
    # np.fromfile + imdecode instead of imread: works for any file name
    # (non-ASCII too) and lets a zero-byte file fail like any corrupt one.
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        if is_broken_link(path):
            target = os.readlink(path)
            # git-annex keeps a file as a link into .git/annex/objects, there once the file is fetched
            fetched = "annex/objects/" not in target
            unfetched = "" if fetched else " (a git-annex file not fetched: `git annex get` fetches it)"
            raise DatasetError(f"{path}: a link to {target}, which is not there{unfetched}") from error
        raise DatasetError(f"{path}: cannot read file ({error.strerror or error})") from error
    if not data.size:
        image = None
    elif path.suffix.lower() in RAW_EXTENSIONS:  # most are TIFFs to OpenCV, which would decode their small preview
        image = decode_raw(data, flags)
    else:
        try:
            image = None if png_damage(data) else cv2.imdecode(without_metadata_chunks(data), flags)
        except cv2.error as error:  # OpenCV refuses some photos by a failed assertion, not by returning None
            raise DatasetError(f"{path}: {why_refused(error)}") from None
        if image is None and is_heif(data):
            image = decode_heif(data, flags)
    if image is None:
        raise DatasetError(f"{path}: {why_undecodable(data)}")
    return image


# A PNG's chunks of text and its colour profile, which decoding its pixels does not use (the profile is read
# on its own, see metadata.py) but libpng checks: where one is malformed, libpng prints a line of its own
# ("libpng warning: iCCP: known incorrect sRGB profile", "tEXt: CRC error"), naming no file, through a run's
# progress bar, for a photo that reads as well as any.
PNG_METADATA_CHUNKS = (b"iCCP", b"tEXt", b"zTXt", b"iTXt")


def png_chunk_spans(content):
    """(name, start, end) of each chunk of a PNG's bytes (bytes, or a uint8
    array), up to its IEND: from its length field to past its CRC."""
    at = 8  # past the signature
    while at + 8 <= len(content):
        length, name = int.from_bytes(bytes(content[at:at + 4]), "big"), bytes(content[at + 4:at + 8])
        yield name, at, at + 12 + length
        if name == b"IEND":
            return
        at += 12 + length


def without_metadata_chunks(content):
    """A PNG file's bytes (a uint8 array) without its PNG_METADATA_CHUNKS;
    `content` itself where it holds none, or is not a PNG's."""
    if bytes(content[:8]) != PNG_SIGNATURE:
        return content
    kept, kept_from = [], 0
    for name, start, end in png_chunk_spans(content):
        if name in PNG_METADATA_CHUNKS:
            kept.append(content[kept_from:start])
            kept_from = end
    return np.concatenate([*kept, content[kept_from:]]) if kept else content


# The chunks libpng cannot do without: where one fails its checksum, libpng stops, with a line of its own on
# standard error ("libpng error: IDAT: CRC error") naming no file; a damaged ancillary chunk costs a warning.
PNG_CRITICAL_CHUNKS = {b"IHDR": "header", b"PLTE": "palette", b"IDAT": "image data"}


def png_damage(content):
    """Why a PNG's bytes (a uint8 array) cannot be decoded where it can be
    told before libpng tries (and prints a line naming no file): they are
    cut short, or a critical chunk fails its checksum. None for a whole
    PNG, or bytes that are not a PNG's."""
    if bytes(content[:8]) != PNG_SIGNATURE:
        return None
    for name, start, end in png_chunk_spans(content):
        if end > len(content):
            break
        stored_crc = int.from_bytes(bytes(content[end - 4:end]), "big")
        if name in PNG_CRITICAL_CHUNKS and zlib.crc32(content[start + 4:end - 4]) != stored_crc:
            return f"a damaged PNG: the checksum of its {PNG_CRITICAL_CHUNKS[name]} fails at byte {start:,}"
        if name == b"IEND":
            return None
    return cut_short("PNG", len(content))


def cut_short(kind, length, whole=None):
    """The failure of a `kind` file ("PNG") whose bytes stop after `length`
    (of the `whole` its header gives, where it gives it)."""
    of_whole = f" of its {whole:,}" if whole else ""
    return f"a {kind} cut short after {length:,}{of_whole} bytes (a download or copy that did not finish?)"


def why_refused(error):
    """What a cv2.error that decoding a photo raised says of it, in a
    user's words: the one OpenCV raises for a photo of more pixels than it
    decodes, its assertion's text for any other."""
    said = str(getattr(error, "err", None) or error)
    if "CV_IO_MAX_IMAGE_PIXELS" in said:
        return ("more pixels than OpenCV decodes (2**30, about 1.07 gigapixels, unless the environment variable "
                "OPENCV_IO_MAX_IMAGE_PIXELS allows more)")
    return f"not a readable image (OpenCV: {said})"


def why_undecodable(content):
    """Why a file's bytes (a uint8 array) did not decode, as nearly as can be
    told without decoding them otherwise than as stored."""
    if not content.size:
        return "empty file"
    if damage := png_damage(content):
        return damage
    suffix = format_suffix(content)
    if suffix == ".jpg" and bytes(content[-2:]) != JPEG_END:
        return cut_short("JPEG", len(content))
    if suffix == ".webp" and len(content) < (size := int.from_bytes(bytes(content[4:8]), "little") + 8):
        # its RIFF header gives the size of what follows its first 8 bytes
        return cut_short("WebP", len(content), size)
    if suffix == ".tif":
        # A TIFF of floating-point samples (an HDR merge, a scientific export) decodes only as stored: its values
        # are light, not 8- or 16-bit levels, with no one way to bring them to what the model saw in training.
        stored = cv2.imdecode(content, cv2.IMREAD_UNCHANGED)
        if stored is not None and stored.dtype.kind == "f":
            return (f"a TIFF of {stored.dtype.itemsize * 8}-bit floating-point samples (HDR), which is not read: "
                    f"save it with 8 or 16 bits a channel")
    if not suffix and (held := what_it_holds(content)):
        return f"not an image but {held}"
    return "not a readable image (corrupt, truncated or unsupported format)"


JPEG_END = b"\xff\xd9"  # the marker a JPEG ends with; OpenCV decodes none without it
# Files of other kinds that end up named as photos, by how they begin.
OTHER_SIGNATURES = ((b"%PDF-", "a PDF document"), (b"8BPS", "a Photoshop document (PSD)"),
                    (b"PK\x03\x04", "a zip archive"))
TFLITE_IDENTIFIER = b"TFL3"  # a TensorFlow Lite model's FlatBuffer identifier, after the offset of its root
VIDEO_BRANDS = (b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"avc1", b"3gp4", b"3gp5")
TEXT_SHOWN = 80  # characters of a text file's beginning quoted in its failure


def what_it_holds(content):
    """What the bytes of a file (a uint8 array, or bytes) that is neither an
    image nor a model hold, where their beginning tells, with how it comes
    about where that is known: a Git LFS pointer, where the file was not
    fetched; a web page, where a download failed; a PDF, a video, a
    TensorFlow Lite model; or text, its beginning quoted. None for bytes it
    does not know."""
    head = bytes(content[:1024])
    if not any(head):  # a file made its full size before its bytes came (a copy tool, a download), never filled
        return "zeros where its content should begin (never written: a copy or download that did not finish?)"
    if head.startswith(b"version https://git-lfs.github.com/spec/"):
        return "a Git LFS pointer (the files were cloned without Git LFS: `git lfs pull` fetches them)"
    if kind := next((kind for signature, kind in OTHER_SIGNATURES if head.startswith(signature)), None):
        return kind
    if head[4:8] == b"ftyp" and head[8:12] in VIDEO_BRANDS:
        return "a video (MP4 or MOV)"
    if head[4:8] == TFLITE_IDENTIFIER:
        return "a TensorFlow Lite model (.tflite)"
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    if len(head) == 1024:
        text = text[:-3]  # a character the first 1024 bytes cut in two is no sign of binary
    if "\ufffd" in text or not all(character.isprintable() or character in "\t\r\n" for character in text):
        return None
    lowered = text.lower()
    if "<svg" in lowered:
        return "an SVG drawing (export it as a PNG)"
    if "<html" in lowered or lowered.lstrip().startswith("<!doctype html"):
        title = re.search(r"<title[^>]*>([^<]*)", text, re.IGNORECASE)
        titled = f", titled {' '.join(title[1].split())!r}" if title and title[1].strip() else ""
        return f"a web page (HTML{titled}: a download that failed, or a page saved under its name?)"
    beginning = " ".join(text.split())
    if not beginning:
        return "blank text (spaces and line breaks)"
    return f"text, beginning {beginning if len(beginning) <= TEXT_SHOWN else beginning[:TEXT_SHOWN] + '...'!r}"


# The brands of HEIF files of HEVC images (HEIC), in their first box ("ftyp"); AVIF is
# HEIF too, of AV1 images, and OpenCV reads it.
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def is_heif(content):
    """Whether a file's bytes (bytes, or a uint8 array) begin as a HEIC/HEIF file's."""
    return bytes(content[4:8]) == b"ftyp" and bytes(content[8:12]) in HEIF_BRANDS


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# How the files of the formats in IMAGE_EXTENSIONS begin, but for WebP, AVIF and HEIC's (see format_suffix).
IMAGE_SIGNATURES = ((b"\xff\xd8", ".jpg"), (PNG_SIGNATURE, ".png"), (b"II*\0", ".tif"), (b"MM\0*", ".tif"),
                    (b"GIF8", ".gif"), (b"BM", ".bmp"))


def format_suffix(head):
    """The file suffix of the image format whose file begins with the bytes
    `head` (its first 12 at least): .jpg, .png, .webp, .tif, .gif, .bmp,
    .avif or .heic; "" for any other. For bytes that come without a file
    name (a photo piped in), so that they are read as a file of their format is."""
    head = bytes(head[:12])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return ".avif"
    if is_heif(head):
        return ".heic"
    return next((suffix for signature, suffix in IMAGE_SIGNATURES if head.startswith(signature)), "")


def decode_heif(content, flags):
    """A HEIC/HEIF photo's pixels (uint8 array of its bytes) as cv2.imdecode
    gives a photo's for `flags`: BGR, or with IMREAD_UNCHANGED BGRA where it
    has transparency; turned as it is shown (pillow-heif applies the turn the
    file records, whatever the flags). None where it cannot be decoded."""
    import pillow_heif

    try:
        heif = pillow_heif.open_heif(content.tobytes(), convert_hdr_to_8bit=True)
        pixels = np.asarray(heif)
    except (ValueError, RuntimeError):  # corrupt or truncated, as OpenCV's None says for other formats
        return None
    if pixels.ndim == 2:  # monochrome
        return pixels if flags == cv2.IMREAD_UNCHANGED else cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    if pixels.shape[2] == 4 and flags == cv2.IMREAD_UNCHANGED:
        return cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA)
    return cv2.cvtColor(pixels[..., :3], cv2.COLOR_RGB2BGR)


# LibRaw's gamma is (power, slope): sRGB's curve, as the developed colours are sRGB's.
SRGB_GAMMA = (2.4, 12.92)
GREY_FLAGS = (cv2.IMREAD_GRAYSCALE, cv2.IMREAD_REDUCED_GRAYSCALE_2, cv2.IMREAD_REDUCED_GRAYSCALE_4,
              cv2.IMREAD_REDUCED_GRAYSCALE_8)
REDUCED_FLAGS = GREY_FLAGS[1:] + (cv2.IMREAD_REDUCED_COLOR_2, cv2.IMREAD_REDUCED_COLOR_4, cv2.IMREAD_REDUCED_COLOR_8)


def decode_raw(content, flags):
    """A camera RAW photo's pixels (uint8 array of its file's bytes),
    developed: the camera's white balance, sRGB colours and tone curve,
    brightened as LibRaw does by default, so that the brightest 1% of pixels
    are white, turned as the camera recorded; as cv2.imdecode gives a photo's
    for `flags`: BGR, or grey (at half the size for IMREAD_REDUCED flags,
    which only check it can be read). None where it cannot be decoded."""
    import rawpy

    try:
        with rawpy.imread(io.BytesIO(content.tobytes())) as raw:
            rgb = raw.postprocess(use_camera_wb=True, output_bps=8, gamma=SRGB_GAMMA, half_size=flags in REDUCED_FLAGS)
    except (rawpy.LibRawError, MemoryError):  # not a RAW LibRaw knows, corrupt or cut short
        return None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY if flags in GREY_FLAGS else cv2.COLOR_RGB2BGR)


def is_camera_raw(content):
    """Whether a file's bytes are a camera RAW photo's that LibRaw knows (it
    refuses a plain TIFF, or a JPEG): for bytes that come without a file name."""
    import rawpy

    try:
        with rawpy.imread(io.BytesIO(bytes(content))):
            return True
    except rawpy.LibRawError:
        return False


def decode_colours(path):
    """A photo's colours as uint8 RGB (H, W, 3), EXIF orientation applied,
    any transparency left out."""
    return cv2.cvtColor(decode(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


# Formats whose files may hold transparency, which decode_colours leaves out (a
# 32-bit BMP's fourth byte is too often left at 0 by its writer to be trusted;
# HEIC photos, phones', have none).
ALPHA_EXTENSIONS = (".png", ".webp", ".avif", ".tif", ".tiff", ".gif")
# PNG colour types with an alpha channel (grey + alpha, RGBA); the others
# hold transparency only through a tRNS chunk, which comes before the pixels.
PNG_ALPHA_COLOUR_TYPES = (4, 6)


def file_head(path, size):
    """The first `size` bytes of the file at `path` (fewer where it is
    shorter); b"" where it cannot be read (changed or gone since it was
    listed: decoding it says so, where that is still to come)."""
    try:
        with open(path, "rb") as file:
            return file.read(size)
    except OSError:
        return b""


def stored_format(path, head):
    """The suffix of the format the file at `path` is stored in, told by its
    first bytes `head` as decoding tells it (format_suffix: .jpg, .png, .tif,
    ...), else by its name: a photo downloaded as photo.jpg is often a PNG
    or a WebP, and what is looked for in a file (transparency, 16 bits, a
    JPEG's compression) is what its format holds, whatever it is called.
    Camera RAW files go by their name, as decode takes them (most begin as
    TIFFs do)."""
    suffix = Path(path).suffix.lower()
    return suffix if suffix in RAW_EXTENSIONS else format_suffix(head) or suffix


# A PNG's header chunk, IHDR, comes first, after the signature, its length and
# its name: width and height (4 bytes each), then bit depth and colour type.
PNG_HEADER_AT = len(PNG_SIGNATURE) + 8
PNG_HEADER_SIZE = PNG_HEADER_AT + 10


def png_header(head):
    """(bit depth, colour type) from a PNG file's first bytes `head` (at
    least PNG_HEADER_SIZE); None where they do not begin with a PNG's header."""
    if (len(head) < PNG_HEADER_SIZE or not head.startswith(PNG_SIGNATURE)
            or head[PNG_HEADER_AT - 4:PNG_HEADER_AT] != b"IHDR"):  # the chunk's name, before its data
        return None
    return head[PNG_HEADER_AT + 8], head[PNG_HEADER_AT + 9]


def read_image_and_alpha(path):
    """A photo's colours (decode_colours), and its alpha channel as uint8
    (H, W), turned as the photo is, where the file holds transparency (a
    PNG, WebP, AVIF, TIFF or GIF with an alpha channel not opaque throughout);
    else None. A photo without an alpha channel is decoded once."""
    image = decode_colours(path)
    if not may_hold_alpha(path):
        return image, None
    stored = decode(path, cv2.IMREAD_UNCHANGED)  # with its alpha, as stored: EXIF orientation not applied
    if not has_transparency(stored):
        return image, None
    alpha = eight_bits(stored[..., 3])
    # Turned as the photo is, found by matching the stored colours to the photo's. 8-bit ones are the same to the
    # bit as decode_colours makes them; deeper ones each format brings to 8 bits its own way, so oriented_as_shown
    # decodes them again.
    alpha = (turned_as_shown(alpha, cv2.cvtColor(stored[..., :3], cv2.COLOR_BGR2RGB), image) if stored.dtype == np.uint8
             else oriented_as_shown(alpha, path, image))
    if alpha.shape != image.shape[:2]:  # its turn not found: read without the transparency rather than askew
        log.warning("%s: its transparency left out (it could not be turned as the photo is shown)", path)
        return image, None
    return image, alpha


def eight_bits(pixels):
    """uint8 `pixels` as they are; uint16 ones brought to 8 bits (rounded, 257 to 1)."""
    return pixels if pixels.dtype == np.uint8 else cv2.convertScaleAbs(pixels, alpha=1 / 257)


def may_hold_alpha(path):
    """Whether the photo at `path` may hold transparency, so that it is
    decoded a second time, with its alpha, to see: stored in a format of
    ALPHA_EXTENSIONS (by its bytes: see stored_format), but for a PNG whose
    header rules it out (no alpha channel, no tRNS chunk before its pixels),
    so that ordinary PNG photos are decoded once."""
    head = file_head(path, 65536)
    stored = stored_format(path, head)
    if stored not in ALPHA_EXTENSIONS:
        return False
    header = png_header(head) if stored == ".png" else None
    if header is None:
        return True
    pixels_at = head.find(b"IDAT")  # not in the head (large metadata first): decoded to see
    return header[1] in PNG_ALPHA_COLOUR_TYPES or pixels_at < 0 or b"tRNS" in head[:pixels_at]


# A photo stored at 16 bits a channel (a PNG or TIFF from a raw developer or a
# scanner) is put through the model at 8 bits, as every photo is, and its PNG
# output (predict.py's) keeps its 16: a cutout edited further (its tones
# pulled, its colours graded) shows no more banding than its photo would.
DEEP_EXTENSIONS = (".png", ".tif", ".tiff")
TIFF_BITS_PER_SAMPLE = 258


def deep_pixels(path, photo):
    """A photo's pixels as uint16 RGB, or RGBA where `photo` (its uint8
    pixels, as the model saw them: see predict.photo_pixels) has
    transparency, where its file stores 16 bits a channel (a PNG or a TIFF);
    else `photo`. Where the 16-bit pixels are not the 8-bit ones to within
    an 8-bit step (turned otherwise, or another frame), `photo`, with a
    warning: never an output unlike the photo the model saw."""
    if not stores_16_bits(path):
        return photo
    transparent = photo.shape[2] == 4
    try:
        deep = decode(path, cv2.IMREAD_UNCHANGED if transparent else cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    except DatasetError:  # changed since it was read
        return photo
    if deep.dtype != np.uint16 or deep.ndim != 3 or deep.shape[2] != photo.shape[2]:
        return photo
    deep = cv2.cvtColor(deep, cv2.COLOR_BGRA2RGBA if transparent else cv2.COLOR_BGR2RGB)
    if transparent:  # read with its alpha, as stored: turned as the photo is shown, as its 8-bit reading was
        deep = turned_as_shown(deep, deep, photo, alike=within_an_eight_bit_step)
    if not within_an_eight_bit_step(deep, photo):
        log.warning("%s: written with 8 bits a channel, not its 16 (its 16-bit pixels are not those of its 8-bit "
                    "reading)", path)
        return photo
    return deep


def within_an_eight_bit_step(deep, photo):
    """Whether uint16 `deep` pixels are uint8 `photo`'s to within one 8-bit
    level: each format brings 16 bits to 8 its own way (PNG keeps the high
    byte, TIFF rounds)."""
    return deep.shape == photo.shape and cv2.absdiff((deep >> 8).astype(np.uint8), photo).max() <= 1


def stores_16_bits(path):
    """Whether the photo at `path` may store 16 bits a channel: a PNG whose
    header says so, or a TIFF whose first image's BitsPerSample does (or
    cannot be read here: decoded to see), by its bytes, whatever its name
    (see stored_format); so that 8-bit photos, nearly all, are not decoded
    a second time."""
    import metadata  # for its TIFF reader (it imports this module)

    head = file_head(path, PNG_HEADER_SIZE)
    stored = stored_format(path, head)
    if stored not in DEEP_EXTENSIONS:
        return False
    if stored == ".png":
        header = png_header(head)
        return header is not None and header[0] == 16
    try:
        content = Path(path).read_bytes()
        bits = metadata.tiff_tag(TIFF_BITS_PER_SAMPLE)(content)
    except OSError:  # gone since it was read (a watched folder's photo deleted): its 8-bit output is written
        return False
    except IndexError:  # a TIFF this reader does not know (BigTIFF): decoded to see
        return True
    return bits is None or int.from_bytes(bits[:2], metadata.tiff_byte_order(content)) > 8


def read_mask(path):
    """A mask as uint8 {0, 1} (H, W): 0/1, 0/255 (or 16-bit), grayscale or
    colour masks all work; a pixel is person where it is at least half of the
    format's full value (1 for 0/1 masks). A PNG with transparency is a
    cutout (predict.py's, or another tool's, corrected in an editor): its
    alpha channel is the mask."""
    mask = mask_channel(path)
    if stored_format(path, file_head(path, 12)) in JPEG_EXTENSIONS and 0 < mask.max() < 128:
        # A 0/1 mask does not survive JPEG: its edges come back as 0, 1 and 2 (thousands of pixels
        # wrong at quality 95, all of them 0 at 50), where a 0/255 mask comes back exact.
        suffix = Path(path).suffix.lower()
        named = "" if suffix in JPEG_EXTENSIONS else f", though named {suffix}"
        raise DatasetError(f"{path}: a 0/1 mask saved as JPEG{named} (values 0 to {mask.max()}), which compression "
                           f"spoils: save 0/1 masks as PNG, or JPEG masks as 0/255")
    return (mask >= full_value(mask) / 2).astype(np.uint8)


def read_soft_mask(path):
    """A mask made by a tool, as float32 [0, 1] (H, W): its values as shares
    of the format's full value, read as read_mask reads masks (a cutout's
    alpha channel; the brightest colour channel)."""
    mask = mask_channel(path)
    return mask.astype(np.float32) / full_value(mask)


def mask_channel(path):
    """The (H, W) channel of a mask file that marks the person, as stored:
    a cutout's alpha (a PNG with transparency), else the file's grey, or
    its brightest colour channel (an opaque alpha says nothing)."""
    mask = decode(path, cv2.IMREAD_UNCHANGED)
    if has_transparency(mask):
        return mask[..., 3]
    return mask[..., :3].max(axis=2) if mask.ndim == 3 else mask


def has_transparency(stored):
    """Whether a file's pixels, as stored, have an alpha channel that is not
    opaque throughout: a photo's transparency, to keep; a mask's, a
    cutout's, whose alpha is the mask."""
    return stored.ndim == 3 and stored.shape[2] == 4 and stored[..., 3].min() < np.iinfo(stored.dtype).max


# PNG colour types (IHDR's) of colour pixels: RGB, palette, RGBA.
PNG_COLOUR_TYPES = (2, 3, 6)


def mask_colours(path):
    """Two colours of the mask file at `path` where they are not shades of
    one (see other_colours); else None. Only a mask that may be in colour
    is decoded (again: see data.mask_check); JPEG masks (by their bytes,
    whatever their name: see stored_format) are not asked, as their
    compression strays from the colours drawn."""
    head = file_head(path, PNG_HEADER_SIZE)
    stored_as = stored_format(path, head)
    if stored_as in JPEG_EXTENSIONS:
        return None
    header = png_header(head) if stored_as == ".png" else None
    if header is not None and header[1] not in PNG_COLOUR_TYPES:
        return None
    try:
        stored = decode(path, cv2.IMREAD_UNCHANGED)
    except (OSError, DatasetError):  # changed or gone since it was read: the mask read stands, unchecked
        return None
    return None if stored.ndim == 2 or has_transparency(stored) else other_colours(stored[..., :3])


# How far (in levels of 255) a colour mask's pixel may stray from a shade of
# its brightest colour: lossless masks of one colour are its exact shades to
# within rounding; a label map's classes (PASCAL VOC's person, 192,128,128, and
# its border of unsure pixels, 224,224,192) stray by 64 levels and more.
SHADE_TOLERANCE = 24


def other_colours(pixels):
    """Two colours (RGB tuples) of a colour mask's BGR `pixels` that are not
    shades of one colour: its brightest pixel's, and the one furthest from
    that colour's shades; None where every pixel is such a shade (a person
    in red on black, with the soft edge between), or grey. Masks of several
    colours are label maps (a colour per class: a person, a dog, a border
    of 'unsure' pixels), whose classes the brightest channel takes for
    person or background by their brightness alone, or instance maps
    (people in a colour each), which it suits (see data.check_one_colour)."""
    channels = cv2.split(pixels)  # per channel, in OpenCV: 0.2 s for a 12-megapixel mask
    if all(np.array_equal(channels[0], other) for other in channels[1:]):
        return None
    brightness = cv2.max(cv2.max(channels[0], channels[1]), channels[2])
    brightest = np.unravel_index(brightness.argmax(), brightness.shape)
    reference = pixels[brightest].astype(np.float32)
    shade = brightness.astype(np.float32) / reference.max()  # of the brightest colour, per pixel
    strays = np.zeros(brightness.shape, np.float32)
    for channel, level in zip(channels, reference):
        strays = cv2.max(strays, cv2.absdiff(channel.astype(np.float32), shade * float(level)))
    furthest = np.unravel_index(strays.argmax(), strays.shape)
    if strays[furthest] <= SHADE_TOLERANCE * np.iinfo(pixels.dtype).max / 255:
        return None
    return tuple(int(level) for level in pixels[brightest][::-1]), tuple(int(level) for level in pixels[furthest][::-1])


def full_value(mask):
    """What a mask's values are shares of: 1 for 0/1 masks, else its type's maximum."""
    return 1 if mask.max() <= 1 else np.iinfo(mask.dtype).max if mask.dtype.kind == "u" else 255


def is_broken_link(path):
    """Whether `path` is a link to nothing: listed as a photo (or mask),
    whose failure says where it leads (see decode), rather than passed over
    (a folder of links into a library on a drive not mounted would be "no
    photos")."""
    return os.path.islink(path) and not os.path.exists(path)


def oriented_as_shown(mask, image_path, shown):
    """`mask` turned (and mirrored) as the photo's EXIF orientation turns the
    stored photo into the one shown, where the mask has the stored photo's
    size; else `mask` as it is. The turn is found by matching the pixels."""
    stored = cv2.cvtColor(decode(image_path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION), cv2.COLOR_BGR2RGB)
    if stored.shape[:2] != mask.shape[:2]:
        return mask
    return turned_as_shown(mask, stored, shown)


def turned_as_shown(array, stored, shown, alike=np.array_equal):
    """`array`, of the `stored` photo's size, turned (and mirrored) as the
    photo's EXIF orientation turns `stored` into `shown`, found by matching
    their pixels (the identity first) with `alike`; as it is where none
    matches."""
    for mirrored in (False, True):
        for quarter_turns in range(4):
            def orient(pixels):
                return np.rot90(pixels[:, ::-1] if mirrored else pixels, quarter_turns)

            if alike(orient(stored), shown):
                return np.ascontiguousarray(orient(array))
    return array
