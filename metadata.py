"""A photo's colour profile and metadata (EXIF, XMP, IPTC-IIM), read from
its file, and written into the encoded bytes of an output made from it:
what predict.py keeps of a photo besides its pixels.

Read from JPEG, PNG, WebP, TIFF and HEIC/AVIF files by their bytes (OpenCV
leaves it all out); written into PNG, JPEG and WebP outputs as each format
holds it. What no longer describes the output (its orientation, pixel size,
thumbnail, a raw developer's edits) is left out or set anew.
"""

import io
import logging
import re
import struct
import threading
import warnings
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import image_files

log = logging.getLogger("predict")  # its warnings are predict.py's, about the photos it was given


# Colour profiles. A photo may embed an ICC profile that says how its pixel
# values are to be shown: Display P3 (phones, macOS screenshots), Adobe RGB
# (cameras). Viewers that manage colour (web browsers, macOS, Windows' Photos)
# show the values through it, and values without one as sRGB: a P3 photo's
# values shown as sRGB look duller. OpenCV reads the values and leaves the
# profile out, so the outputs, which keep the photo's values, get its profile
# back, and a cutout shows the colours its photo showed.
PNG_HEADER_END = 33  # the signature and the IHDR chunk, which come first in every PNG
JPEG_SEGMENT = 65533  # the most bytes a JPEG segment holds after its length's two
JPEG_ICC_MARKER = b"ICC_PROFILE\0"
JPEG_ICC_CHUNK = JPEG_SEGMENT - len(JPEG_ICC_MARKER) - 2  # what an APP2 segment holds after its chunk's numbers
JPEG_EXIF_MARKER = b"Exif\0\0"
EXIF_ORIENTATION = 0x0112
EXIF_IFD_POINTER = 0x8769  # where the directory of the camera's settings is, which holds the pixel size
EXIF_PIXEL_SIZE_TAGS = {0xA002: 0, 0xA003: 1}  # PixelXDimension, PixelYDimension: index into (width, height)


def colour_profile(path):
    """The ICC profile (bytes) that a JPEG, PNG, WebP, TIFF, HEIC or AVIF
    photo embeds, where it is one of RGB colours (as the outputs are); else
    None: no profile, one of grey or CMYK, another format (BMP, GIF), or one
    that cannot be read."""
    return photo_metadata(path)[0]


def photo_metadata(path, profile=True, keep_metadata=False):
    """The colour profile of the photo at `path` (see colour_profile) if
    `profile`, and if `keep_metadata` its EXIF metadata (see exif_only) and
    XMP packet, with its IPTC-IIM metadata added (see xmp_with_iim), from
    one read of its file: (profile, exif, xmp), each None where not asked
    for, where the photo holds none, or it cannot be read."""
    # A RAW file's profile (a TIFF-like one's first image, its preview) is not that of its pixels developed: sRGB's.
    profile = profile and Path(path).suffix.lower() not in image_files.RAW_EXTENSIONS
    chosen = (PROFILE_READERS if profile else {},
              *((EXIF_READERS, XMP_READERS, IIM_READERS) if keep_metadata else ({}, {}, {})))
    found_profile, exif, xmp, iim = read_metadata(path, *chosen)
    # unreadable, or cut short: none (a profile: sRGB)
    return rgb_profile_only(found_profile), exif_only(exif), xmp_with_iim(xmp, iim)


def read_metadata(path, *readers):
    """What each of `readers` (file suffix -> function of the file's bytes)
    finds in the photo at `path` with its reader for the photo's format, the
    file read once: a tuple, None for a format without a reader, and where
    the file cannot be read or is cut short (which costs that reader's only)."""
    if not any(readers):
        return (None,) * len(readers)
    try:
        with open(path, "rb") as file:
            head = file.read(12)
            chosen = [found.get(image_files.format_suffix(head)) for found in readers]
            content = head + file.read() if any(chosen) else b""
    except OSError:
        return (None,) * len(readers)
    return tuple(found_in(content, read) if read else None for read in chosen)


def found_in(content, read):
    """read(content), or None where `content` is cut short or garbled."""
    try:
        return read(content)
    except (ValueError, IndexError, RuntimeError, zlib.error):
        return None


def rgb_profile_only(profile):
    """`profile` where it is an ICC profile of RGB colours, else None."""
    # Every ICC profile says "acsp" at byte 36, and the colours it is of at byte 16.
    is_rgb_profile = profile and len(profile) >= 128 and profile[36:40] == b"acsp" and profile[16:20] == b"RGB "
    return profile if is_rgb_profile else None


def photo_profile(image):
    """The ICC profile of a photo given to remove_background: a file's (see
    colour_profile) or a PIL image's, where it is of RGB colours; else None
    (an array: sRGB)."""
    if isinstance(image, (str, Path)):
        return colour_profile(image)
    return rgb_profile_only(getattr(image, "info", {}).get("icc_profile"))


def jpeg_segments(content):
    """(marker, body) of each segment of a JPEG's bytes, up to its pixels."""
    at = 2
    while at + 4 <= len(content) and content[at] == 0xFF:
        marker = content[at + 1]
        if marker in (0xDA, 0xD9):  # the pixels (start of scan), or the end of the file
            return
        if marker == 0xFF:  # a fill byte before a marker
            at += 1
            continue
        length = int.from_bytes(content[at + 2:at + 4], "big")
        yield marker, content[at + 4:at + 2 + length]
        at += 2 + length


def png_chunks(content):
    """(name, body) of each chunk of a PNG's bytes, up to its pixels."""
    for name, start, end in image_files.png_chunk_spans(content):
        if name in (b"IDAT", b"IEND"):
            return
        yield name, content[start + 8:end - 4]


def png_text(content, keyword):
    """The text (bytes) of a PNG's tEXt, zTXt or iTXt chunk named `keyword`,
    before its pixels, decompressed; None where it has none."""
    for name, body in png_chunks(content):
        if name in (b"tEXt", b"zTXt", b"iTXt") and body.startswith(keyword + b"\0"):
            text = body[len(keyword) + 1:]
            if name == b"zTXt":  # how it is compressed (0: zlib), then the text
                return zlib.decompress(text[1:])
            if name == b"iTXt":  # whether it is compressed and how, a language and a translated keyword, then the text
                after_translation = text.index(b"\0", text.index(b"\0", 2) + 1) + 1
                return zlib.decompress(text[after_translation:]) if text[0] else text[after_translation:]
            return text
    return None


def png_raw_profile(content, kind):
    """The profile of `kind` (b"exif", b"iptc", b"8bim") that ImageMagick and
    ExifTool write into a PNG as text, a "Raw profile type exif" chunk (its
    kind, its length, then its bytes in hex), as bytes; None where the PNG
    has none."""
    text = png_text(content, b"Raw profile type " + kind)
    if text is None:
        return None
    _, length, *hex_lines = text.split()
    return bytes.fromhex(b"".join(hex_lines).decode("ascii"))[:int(length)]


def webp_chunks(content):
    """(name, body) of each chunk of a WebP's bytes."""
    at = 12
    while at + 8 <= len(content):
        length = int.from_bytes(content[at + 4:at + 8], "little")
        yield content[at:at + 4], content[at + 8:at + 8 + length]
        at += 8 + length + length % 2  # chunks are padded to an even length


def jpeg_profile(content):
    """The profile in a JPEG's APP2 segments (in numbered chunks), read up to its pixels."""
    chunks, count = {}, 0
    for marker, segment in jpeg_segments(content):
        if marker == 0xE2 and segment.startswith(JPEG_ICC_MARKER) and len(segment) > 14:
            chunks[segment[12]], count = segment[14:], segment[13]
    numbers = range(1, count + 1)
    return b"".join(chunks[number] for number in numbers) if sorted(chunks) == [*numbers] else None  # else cut short


def png_profile(content):
    """The profile in a PNG's iCCP chunk (a name, then the profile compressed), which comes before its pixels."""
    body = next((body for name, body in png_chunks(content) if name == b"iCCP"), None)
    return None if body is None else zlib.decompress(body[body.index(b"\0") + 2:])


def webp_profile(content):
    """The profile in a WebP's ICCP chunk, which comes before its pixels."""
    return next((body for name, body in webp_chunks(content) if name == b"ICCP"), None)


# The bytes a value of each TIFF type takes, for the types of tags that hold
# a block of bytes: BYTE, ASCII, SHORT, LONG, UNDEFINED (Photoshop writes its
# IPTC-IIM block as LONGs).
TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1}


def tiff_tag(tag):
    """A reader of the bytes of a TIFF's `tag` of its first image, a tag
    that holds a block of bytes, as the ICC profile's (34675), the XMP
    packet's (700) and the IPTC-IIM block's (33723) do, which cameras,
    scanners and editors write."""
    def read(content):
        number, entries, _ = tiff_directory(content)
        for entry in entries:
            if number(entry, 2) == tag:
                length = number(entry + 4, 4) * TIFF_TYPE_SIZES.get(number(entry + 2, 2), 1)
                start = entry + 8 if length <= 4 else number(entry + 8, 4)  # four bytes or fewer: in the entry
                return content[start:start + length]
        return None

    return read


def tiff_directory(content, directory=None):
    """How to read the TIFF-structured `content` (a TIFF file, or EXIF
    metadata): number(at, size), the integer of `size` bytes at `at` in its
    byte order; the offsets of the 12-byte entries of the directory at
    offset `directory`, its first by default (tag, type, count, value or
    where it is); and the offset of the 4 bytes that say where the next
    directory is. An IndexError where the directory lies beyond `content`."""
    order = tiff_byte_order(content)

    def number(at, size):
        return int.from_bytes(content[at:at + size], order)

    directory = number(4, 4) if directory is None else directory
    next_directory = directory + 2 + 12 * number(directory, 2)
    if next_directory + 4 > len(content):
        raise IndexError("a TIFF directory beyond the end of its content")
    return number, range(directory + 2, next_directory, 12), next_directory


def tiff_byte_order(content):
    """The byte order of TIFF-structured `content`, as its first two bytes say: "II" (Intel) or "MM" (Motorola)."""
    return "little" if content[:2] == b"II" else "big"


def heif_info(key):
    """A reader of the `key` ("icc_profile", "exif", "xmp") of a HEIC or AVIF
    photo's image, as pillow-heif reads it from the file's boxes (an
    iPhone's profile: Display P3); it reads AVIF's without decoding them."""
    def read(content):
        import pillow_heif

        return pillow_heif.open_heif(content).info.get(key)

    return read


PROFILE_READERS = {".jpg": jpeg_profile, ".png": png_profile, ".webp": webp_profile, ".tif": tiff_tag(34675),
                   ".heic": heif_info("icc_profile"), ".avif": heif_info("icc_profile")}


def with_metadata(encoded, profile=None, exif=None, xmp=None, path=""):
    """An encoded PNG or JPEG (bytes, as OpenCV writes them) with the ICC
    `profile`, the `exif` metadata (TIFF-structured bytes) and the `xmp`
    packet embedded where given: a PNG's eXIf, iCCP and iTXt chunks right
    after its header, a JPEG's APP1 and APP2 segments right after its JFIF
    segment (metadata too large for one is left out of the JPEG at `path`,
    with a warning)."""
    if encoded.startswith(image_files.PNG_SIGNATURE):
        chunks = b""
        if exif:
            chunks += png_chunk(b"eXIf", exif)
        if profile:
            chunks += png_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(profile))  # a name, compression 0 (zlib)
        if xmp:  # uncompressed, so that tools that look for the packet's text find it
            chunks += png_chunk(b"iTXt", XMP_PNG_KEYWORD + b"\0\0\0\0\0" + xmp)  # no language nor translation
        return encoded[:PNG_HEADER_END] + chunks + encoded[PNG_HEADER_END:]
    segments = b""
    for what, marker, content in (("EXIF metadata", JPEG_EXIF_MARKER, exif), ("XMP metadata", XMP_JPEG_MARKER, xmp)):
        if content and len(marker + content) <= JPEG_SEGMENT:
            segments += jpeg_segment(0xE1, marker + content)
        elif content:
            log.warning("%s: its photo's %s left out: %d bytes, more than a JPEG segment holds (a PNG or WebP "
                        "output keeps it)", path, what, len(content))
    chunks = [profile[start:start + JPEG_ICC_CHUNK] for start in range(0, len(profile or b""), JPEG_ICC_CHUNK)]
    if len(chunks) <= 255:  # numbered in a byte: no profile of colours is near 16 MB
        segments += b"".join(jpeg_segment(0xE2, JPEG_ICC_MARKER + bytes([number, len(chunks)]) + chunk)
                             for number, chunk in enumerate(chunks, 1))
    after_jfif = 4 + int.from_bytes(encoded[4:6], "big") if encoded[2:4] == b"\xff\xe0" else 2
    return encoded[:after_jfif] + segments + encoded[after_jfif:]


def png_chunk(name, body):
    """A PNG chunk: its length, name, body and checksum."""
    return len(body).to_bytes(4, "big") + name + body + zlib.crc32(name + body).to_bytes(4, "big")


def jpeg_segment(marker, body):
    """A JPEG segment: its marker, its length (counting its own two bytes) and body."""
    return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body


# EXIF metadata (with --keep-metadata): the camera, lens, exposure, the time
# the photo was taken and where (GPS), which photogrammetry software reads to
# align the cameras, and photo libraries to sort by. Copied as it is, but
# for the three things that no longer hold for an output: its orientation (the
# output is upright already), its pixel size (the output may be turned,
# cropped or on a canvas) and its thumbnail (the photo, background and all).

def exif_only(exif):
    """`exif`, as a JPEG, PNG, WebP, TIFF, HEIC or AVIF photo holds it, as
    TIFF-structured bytes; None where the photo holds none, is of another
    format, or it cannot be read."""
    exif = (exif or b"").removeprefix(JPEG_EXIF_MARKER)  # (some WebPs have it too)
    return exif if image_files.format_suffix(exif) == ".tif" else None


def jpeg_exif(content):
    """The metadata in a JPEG's APP1 Exif segment, read up to its pixels."""
    return next((segment for marker, segment in jpeg_segments(content)
                 if marker == 0xE1 and segment.startswith(JPEG_EXIF_MARKER)), None)


def png_exif(content):
    """The metadata in a PNG's eXIf chunk, or in a "Raw profile type exif"
    text chunk where it has none (ImageMagick's), before its pixels."""
    exif = next((body for name, body in png_chunks(content) if name == b"eXIf"), None)
    return exif if exif is not None else png_raw_profile(content, b"exif")


def webp_exif(content):
    """The metadata in a WebP's EXIF chunk."""
    return next((body for name, body in webp_chunks(content) if name == b"EXIF"), None)


# The tags of a TIFF's first directory that describe the photo, as a JPEG's EXIF holds them, rather
# than how the file holds its pixels (its size, strips, compression), which an output's EXIF must not say.
TIFF_PHOTO_TAGS = {0x010E, 0x010F, 0x0110, EXIF_ORIENTATION, 0x011A, 0x011B, 0x0128, 0x0131, 0x0132, 0x013B, 0x013C,
                   0x8298, EXIF_IFD_POINTER, 0x8825}  # ImageDescription, Make, Model, Orientation, X/YResolution,
# ResolutionUnit, Software, DateTime, Artist, HostComputer, Copyright, the camera's settings, the GPS location
# A directory of them that cannot be read is left out without a word, as other metadata that cannot be read is.
warnings.filterwarnings("ignore", "Corrupt EXIF data", UserWarning, "PIL.TiffImagePlugin")


def tiff_exif(content):
    """A TIFF photo's EXIF metadata (as a camera, a scanner or Lightroom's
    export writes it): the tags of its first image that describe the photo
    (TIFF_PHOTO_TAGS), with the directories of the camera's settings and
    the GPS location they point to, written anew as TIFF-structured bytes,
    as a JPEG holds them."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            exif = image.getexif()
            for tag in set(exif) - TIFF_PHOTO_TAGS:
                del exif[tag]
            return exif.tobytes() if exif else None  # the directories pointed to read while the file is open
    except (OSError, SyntaxError, struct.error):  # as Pillow says a TIFF is garbled or cut short
        return None


EXIF_READERS = {".jpg": jpeg_exif, ".png": png_exif, ".webp": webp_exif, ".tif": tiff_exif, ".heic": heif_info("exif"),
                ".avif": heif_info("exif")}


def exif_for_output(exif, size):
    """EXIF metadata for an output of `size` (width, height): its
    Orientation tag set to 1, since the output is upright already and
    viewers would turn it again; its PixelXDimension and PixelYDimension
    tags set to the output's width and height, which a photo turned
    upright, cropped (--crop) or fitted onto a canvas (--canvas) no longer
    has; and the directory of its thumbnail unlinked. None where it cannot
    be read."""
    exif = bytearray(exif)
    order = tiff_byte_order(exif)
    try:
        number, entries, next_directory = tiff_directory(exif)
    except IndexError:
        return None
    for entry in entries:
        if number(entry, 2) == EXIF_ORIENTATION and number(entry + 2, 2) == 3:  # a short, held in the entry
            exif[entry + 8:entry + 10] = (1).to_bytes(2, order)
        elif number(entry, 2) == EXIF_IFD_POINTER:
            set_pixel_size(exif, number(entry + 8, 4), size)
    exif[next_directory:next_directory + 4] = bytes(4)  # no next directory: the thumbnail's is not read
    return bytes(exif)


def set_pixel_size(exif, directory, size):
    """Sets the PixelXDimension and PixelYDimension tags of the Exif
    directory at offset `directory` of `exif` (a bytearray) to `size`
    (width, height), each a long held in its entry, as the standard allows
    (a camera may have written a short); left as they are where that
    directory cannot be read."""
    try:
        number, entries, _ = tiff_directory(exif, directory)
    except IndexError:
        return
    order = tiff_byte_order(exif)
    for entry in entries:
        side = EXIF_PIXEL_SIZE_TAGS.get(number(entry, 2))
        if side is not None and number(entry + 4, 4) == 1:  # one value, as the standard has it
            exif[entry + 2:entry + 12] = (4).to_bytes(2, order) + (1).to_bytes(4, order) + size[side].to_bytes(4, order)


# XMP metadata (with --keep-metadata too): what photo libraries and editors
# add (rating, keywords, caption, creator, copyright) and what drones record
# (a DJI's gimbal and flight angles, which photogrammetry software reads).
# Kept but for what no longer holds for an output, or would be done to it
# again: Camera Raw's and Lightroom's edits (their crop among them), the
# orientation and pixel size (EXIF has them right), the photo file's encoding
# (its bits a sample, samples a pixel, compression), the thumbnail, the
# pointer to a JPEG's extended XMP (segments past 64 KB, not copied), and the
# photo's document and instance IDs (an output is a document of its own; the
# original's ID, xmpMM:OriginalDocumentID, stays).
XMP_JPEG_MARKER = b"http://ns.adobe.com/xap/1.0/\0"  # a JPEG's APP1 segment of XMP begins so
XMP_PNG_KEYWORD = b"XML:com.adobe.xmp"  # a PNG's iTXt chunk of XMP is named so
XMP_PACKET = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n', b'\n<?xpacket end="w"?>')
RDF_DESCRIPTION = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"
XMP_LEFT_OUT = {"{http://ns.adobe.com/tiff/1.0/}Orientation", "{http://ns.adobe.com/tiff/1.0/}ImageWidth",
                "{http://ns.adobe.com/tiff/1.0/}ImageLength", "{http://ns.adobe.com/exif/1.0/}PixelXDimension",
                "{http://ns.adobe.com/exif/1.0/}PixelYDimension", "{http://ns.adobe.com/xap/1.0/}Thumbnails",
                "{http://ns.adobe.com/xmp/note/}HasExtendedXMP",  # (a JPEG's XMP past 64 KB, not copied)
                "{http://ns.adobe.com/xap/1.0/mm/}DocumentID", "{http://ns.adobe.com/xap/1.0/mm/}InstanceID",
                # the photo file's encoding, not the output's (a 16-bit TIFF's 16 bits in a WebP's XMP)
                *(f"{{http://ns.adobe.com/tiff/1.0/}}{name}" for name in (
                    "BitsPerSample", "SamplesPerPixel", "PhotometricInterpretation", "Compression",
                    "PlanarConfiguration"))}
XMP_EDITS = "{http://ns.adobe.com/camera-raw-settings/1.0/}"  # crs: Camera Raw's and Lightroom's settings
XMP_PREFIXES_LOCK = threading.Lock()


def jpeg_xmp(content):
    """The XMP packet in a JPEG's APP1 segment of XMP, read up to its pixels."""
    return next((segment[len(XMP_JPEG_MARKER):] for marker, segment in jpeg_segments(content)
                 if marker == 0xE1 and segment.startswith(XMP_JPEG_MARKER)), None)


def png_xmp(content):
    """The XMP packet in a PNG's iTXt chunk of XMP, before its pixels."""
    return png_text(content, XMP_PNG_KEYWORD)


def webp_xmp(content):
    """The XMP packet in a WebP's XMP chunk."""
    return next((body for name, body in webp_chunks(content) if name == b"XMP "), None)


XMP_READERS = {".jpg": jpeg_xmp, ".png": png_xmp, ".webp": webp_xmp, ".tif": tiff_tag(700), ".heic": heif_info("xmp"),
               ".avif": heif_info("xmp")}


def xmp_for_output(xmp):
    """The XMP packet `xmp` (bytes) for an output: the properties of
    XMP_LEFT_OUT and the edits (XMP_EDITS) taken out, the rest as it was,
    in a packet of its own; None where it is not XML."""
    parsed = parse_xmp(xmp)
    if parsed is None:
        return None
    root, prefixes = parsed
    for description in root.iter(RDF_DESCRIPTION):  # properties are its attributes, or elements inside it
        for name in [name for name in description.attrib if left_out_of_xmp(name)]:
            del description.attrib[name]
        for element in [element for element in description if left_out_of_xmp(element.tag)]:
            description.remove(element)
    return xmp_packet(root, prefixes)


def parse_xmp(xmp):
    """The root element of the XMP packet `xmp` (bytes) and the (prefix,
    namespace) pairs it was written with, from one parse; None where it is
    not XML."""
    xmp = xmp.rstrip(b"\0")  # padding some cameras leave after the packet
    prefixes, root = [], None
    try:
        for event, item in ET.iterparse(io.BytesIO(xmp), events=("start-ns", "start")):
            if event == "start-ns":
                prefixes.append(item)
            elif root is None:
                root = item
    except ET.ParseError:
        return None
    return root, prefixes


def xmp_packet(root, prefixes):
    """An XMP packet (bytes) of the tree at `root`, its namespaces written
    under `prefixes` ((prefix, namespace) pairs) rather than ns0, ns1, ..."""
    with XMP_PREFIXES_LOCK:  # ElementTree's prefixes are global, and the writer threads each register a photo's
        for prefix, uri in prefixes:
            if prefix and not re.fullmatch(r"ns\d+", prefix):
                ET.register_namespace(prefix, uri)
        return XMP_PACKET[0] + ET.tostring(root, encoding="unicode").encode() + XMP_PACKET[1]


def left_out_of_xmp(name):
    """Whether the XMP property `name` ({namespace}name) is left out of outputs."""
    return name in XMP_LEFT_OUT or name.startswith(XMP_EDITS)


# IPTC-IIM metadata (with --keep-metadata too): the caption, keywords, creator
# and copyright notice that newsrooms, agencies and older photo software
# (Photo Mechanic, Photoshop's File Info) write into a JPEG's APP13 segment, a
# TIFF's tag 33723 or a PNG's text (see png_iim), before XMP or beside it. PNG
# and WebP have no standard place for it, so each property is written into the
# output's XMP as the IPTC Photo Metadata Standard maps it, where the photo's
# XMP does not hold it already (Photoshop and Lightroom write both, and XMP is
# the newer).
DC = "{http://purl.org/dc/elements/1.1/}"
PHOTOSHOP = "{http://ns.adobe.com/photoshop/1.0/}"
IPTC_CORE = "{http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# (record, dataset) -> the XMP property, and how it holds its value: "Alt"
# (a text in languages), "Bag" and "Seq" (several), or "" (one text).
IIM_IN_XMP = {
    (2, 5): (DC + "title", "Alt"),                        # Object Name
    (2, 120): (DC + "description", "Alt"),                # Caption/Abstract
    (2, 25): (DC + "subject", "Bag"),                     # Keywords
    (2, 80): (DC + "creator", "Seq"),                     # By-line
    (2, 116): (DC + "rights", "Alt"),                     # Copyright Notice
    (2, 85): (PHOTOSHOP + "AuthorsPosition", ""),         # By-line Title
    (2, 105): (PHOTOSHOP + "Headline", ""),
    (2, 110): (PHOTOSHOP + "Credit", ""),
    (2, 115): (PHOTOSHOP + "Source", ""),
    (2, 40): (PHOTOSHOP + "Instructions", ""),            # Special Instructions
    (2, 122): (PHOTOSHOP + "CaptionWriter", ""),          # Writer/Editor
    (2, 103): (PHOTOSHOP + "TransmissionReference", ""),  # Original Transmission Reference
    (2, 90): (PHOTOSHOP + "City", ""),
    (2, 95): (PHOTOSHOP + "State", ""),                   # Province/State
    (2, 101): (PHOTOSHOP + "Country", ""),                # Country/Primary Location Name
    (2, 100): (IPTC_CORE + "CountryCode", ""),            # Country/Primary Location Code
    (2, 92): (IPTC_CORE + "Location", ""),                # Sub-location
}
IIM_DATE_CREATED, IIM_TIME_CREATED = (2, 55), (2, 60)     # -> photoshop:DateCreated, the two in one
IIM_CHARACTER_SET, IIM_UTF8 = (1, 90), b"\x1b%G"           # the escape sequence that says UTF-8
IIM_PREFIXES = [("x", "adobe:ns:meta/"), ("rdf", RDF[1:-1]), ("dc", DC[1:-1]), ("photoshop", PHOTOSHOP[1:-1]),
                ("Iptc4xmpCore", IPTC_CORE[1:-1])]
PHOTOSHOP_MARKER = b"Photoshop 3.0\0"  # a JPEG's APP13 segment of Photoshop's resources begins so
PHOTOSHOP_IIM_RESOURCE = 0x0404


def jpeg_iim(content):
    """The IPTC-IIM block among the Photoshop resources of a JPEG's APP13
    segments (which a long list of them runs on across), read up to its
    pixels."""
    resources = b"".join(segment[len(PHOTOSHOP_MARKER):] for marker, segment in jpeg_segments(content)
                         if marker == 0xED and segment.startswith(PHOTOSHOP_MARKER))
    return photoshop_resource(resources, PHOTOSHOP_IIM_RESOURCE) if resources else None


def photoshop_resource(resources, wanted):
    """The data of resource `wanted` in a list of Photoshop's image resources
    (each "8BIM", its number, a name padded to an even length, its size and
    its data padded so too); None where it holds none."""
    at = 0
    while resources[at:at + 4] == b"8BIM":
        number, name_length = int.from_bytes(resources[at + 4:at + 6], "big"), resources[at + 6]
        at += 6 + (name_length + 2) // 2 * 2  # the name's length byte and the name, padded to even
        size = int.from_bytes(resources[at:at + 4], "big")
        if number == wanted:
            return resources[at + 4:at + 4 + size]
        at += 4 + size + size % 2
    return None


def png_iim(content):
    """The IPTC-IIM block that ImageMagick and ExifTool write into a PNG, a
    raw profile of kind "iptc" (the block, or Photoshop's resources that
    hold it) or "8bim" (the resources), before its pixels."""
    for kind in (b"iptc", b"8bim"):
        profile = png_raw_profile(content, kind)
        if profile:
            return photoshop_resource(profile, PHOTOSHOP_IIM_RESOURCE) if profile.startswith(b"8BIM") else profile
    return None


IIM_READERS = {".jpg": jpeg_iim, ".tif": tiff_tag(33723), ".png": png_iim}


def iim_datasets(iim):
    """{(record, dataset): [values, as bytes]} of an IPTC-IIM block (each
    dataset a 0x1C byte, its record and number, its length and value), up
    to its end, the first byte that begins none (padding), or a value cut
    short."""
    datasets, at = {}, 0
    while at + 5 <= len(iim) and iim[at] == 0x1C:
        key, length, at = (iim[at + 1], iim[at + 2]), int.from_bytes(iim[at + 3:at + 5], "big"), at + 5
        if length & 0x8000:  # an extended dataset: the length says how many bytes its length takes
            length, at = int.from_bytes(iim[at:at + (length & 0x7FFF)], "big"), at + (length & 0x7FFF)
        if at + length > len(iim):
            break
        datasets.setdefault(key, []).append(iim[at:at + length])
        at += length
    return datasets


def iim_text(value, utf8):
    """An IPTC-IIM value as text: UTF-8 where the block says so, or the
    value is valid UTF-8 (the Metadata Working Group's advice), else
    Windows' Western code page, which older software wrote; without the
    control characters that XML cannot hold (but tabs and line breaks)."""
    try:
        text = value.decode("utf-8", "replace" if utf8 else "strict")
    except UnicodeDecodeError:
        text = value.decode("cp1252", "replace")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text).strip()


def iim_properties(iim):
    """{XMP property: (how it holds its value, [texts])} of an IPTC-IIM
    block, as IIM_IN_XMP maps its datasets, with the date and time it was
    created as one photoshop:DateCreated; empty values left out."""
    datasets = iim_datasets(iim)
    utf8 = datasets.get(IIM_CHARACTER_SET, [b""])[0] == IIM_UTF8
    properties = {}
    for key, (name, kind) in IIM_IN_XMP.items():
        texts = [text for text in (iim_text(value, utf8) for value in datasets.get(key, [])) if text]
        if texts:
            properties[name] = (kind, texts if kind in ("Bag", "Seq") else texts[:1])
    date, clock = (datasets.get(key, [b""])[0].decode("ascii", "replace") for key in (IIM_DATE_CREATED,
                                                                                       IIM_TIME_CREATED))
    date = iim_date(date, clock)
    if date:
        properties[PHOTOSHOP + "DateCreated"] = ("", [date])
    return properties


def iim_date(date, clock=""):
    """An IPTC-IIM date (CCYYMMDD, 00 for an unknown month or day) and time
    (HHMMSS, and its offset from UTC, +HHMM) as an XMP date (2024-05-01,
    2024-05-01T14:30:05+02:00, or 2024 where the month is not known); ""
    where the date is not one."""
    if not re.fullmatch(r"\d{8}", date):
        return ""
    year, month, day = date[:4], date[4:6], date[6:]
    if month == "00":
        return year
    if day == "00":
        return f"{year}-{month}"
    clock = re.fullmatch(r"(\d\d)(\d\d)(\d\d)(?:([+-]\d\d)(\d\d))?", clock)
    if not clock:
        return f"{year}-{month}-{day}"
    hours, minutes, seconds, offset_hours, offset_minutes = clock.groups()
    offset = f"{offset_hours}:{offset_minutes}" if offset_hours else ""
    return f"{year}-{month}-{day}T{hours}:{minutes}:{seconds}{offset}"


def xmp_with_iim(xmp, iim):
    """The XMP packet `xmp` (bytes, or None) with the properties of the
    IPTC-IIM block `iim` that it does not hold (see iim_properties) added
    to its first description (a packet of its own where `xmp` is None, or
    not XML); `xmp` as it is where `iim` adds nothing."""
    properties = iim_properties(iim) if iim else {}
    if not properties:
        return xmp
    root, prefixes = (parse_xmp(xmp) if xmp else None) or (ET.Element("{adobe:ns:meta/}xmpmeta"), [])
    descriptions = list(root.iter(RDF_DESCRIPTION))
    if not descriptions:
        rdf = root if root.tag == RDF + "RDF" else next(root.iter(RDF + "RDF"), None)
        rdf = ET.SubElement(root, RDF + "RDF") if rdf is None else rdf
        descriptions = [ET.SubElement(rdf, RDF_DESCRIPTION, {RDF + "about": ""})]
    held = {name for description in descriptions for name in (*description.attrib, *(e.tag for e in description))}
    for name, (kind, texts) in properties.items():
        if name not in held:
            add_xmp_property(descriptions[0], name, kind, texts)
    return xmp_packet(root, IIM_PREFIXES + prefixes)


def add_xmp_property(description, name, kind, texts):
    """Adds the XMP property `name` to `description`: one text (`kind` "");
    or a list of them, "Bag" (unordered) or "Seq" (ordered); or "Alt", a
    text for the default language."""
    element = ET.SubElement(description, name)
    if not kind:
        element.text = texts[0]
        return
    items = ET.SubElement(element, RDF + kind)
    for text in texts:
        ET.SubElement(items, RDF + "li", {XML_LANG: "x-default"} if kind == "Alt" else {}).text = text
