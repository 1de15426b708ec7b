import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

import data
import image_files
import metadata
from conftest import draw_person, write_png


@pytest.mark.parametrize("encoding", ["0/1", "0/255", "3-channel 0/255", "16-bit 0/65535", "opaque RGBA 0/255",
                                      "RGBA cutout", "16-bit RGBA cutout", "grey+alpha cutout",
                                      "GIF, palette 0/1", "GIF, background transparent", "red on black, soft edge"])
def test_mask_formats_all_become_the_same_binary_target(tmp_path, encoding):
    truth = np.zeros((20, 30), np.uint8)
    truth[5:15, 10:25] = 1
    # A cutout: the person's own colours (dark hair, a white shirt) opaque, the background
    # transparent whatever colour its pixels keep, and a soft edge half on either side of 50%.
    colours = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    alpha = truth * 255
    alpha[5:15, 10] = 140  # soft edge inside the person: >= half
    alpha[5:15, 9] = 110   # ... and outside: < half
    stored = {
        "0/1": truth,
        "0/255": truth * 255,
        "3-channel 0/255": np.dstack([truth * 255] * 3),
        "16-bit 0/65535": truth.astype(np.uint16) * 65535,
        "opaque RGBA 0/255": np.dstack([truth * 255] * 3 + [np.full_like(truth, 255)]),
        "RGBA cutout": np.dstack([colours, alpha]),
        "16-bit RGBA cutout": np.dstack([colours, alpha]).astype(np.uint16) * 257,
        "grey+alpha cutout": np.dstack([colours[..., 0], alpha]),
        # An annotation tool's colour for the person, its soft edge shades of it (the brightest channel, red, is read).
        "red on black, soft edge": np.dstack([np.zeros_like(alpha), np.zeros_like(alpha), alpha]),
    }.get(encoding)
    if encoding == "grey+alpha cutout":  # OpenCV cannot write a 2-channel PNG
        path = tmp_path / "m.png"
        Image.fromarray(stored, "LA").save(path)
        mask = image_files.read_mask(path)
    elif encoding.startswith("GIF"):  # as some datasets ship masks: palette index 1, shown white, is the person
        gif = Image.fromarray(truth, "P")
        gif.putpalette([0, 0, 0, 255, 255, 255])
        gif.save(tmp_path / "m.gif", **({"transparency": 0} if "transparent" in encoding else {}))
        mask = image_files.read_mask(tmp_path / "m.gif")
    else:
        mask = image_files.read_mask(write_png(tmp_path / "m.png", stored))
    assert mask.dtype == np.uint8 and mask.shape == (20, 30)
    np.testing.assert_array_equal(mask, truth)


def test_jpeg_masks_are_read_as_the_same_target_as_png_ones(tmp_path, rng):
    image, mask = draw_person(rng, 64, 48)
    write_png(tmp_path / "images" / "a.jpg", image)
    (tmp_path / "masks").mkdir()
    assert cv2.imwrite(str(tmp_path / "masks" / "a.jpg"), mask, [cv2.IMWRITE_JPEG_QUALITY, 50])
    [(_, mask_path)] = data.find_pairs(tmp_path / "images", tmp_path / "masks")
    assert mask_path.name == "a.jpg"
    assert not np.array_equal(cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE), mask)  # compressed, not exact
    np.testing.assert_array_equal(image_files.read_mask(mask_path), mask // 255)
    # A 0/1 mask, which JPEG spoils, is refused rather than read wrong.
    assert cv2.imwrite(str(mask_path), mask // 255, [cv2.IMWRITE_JPEG_QUALITY, 95])
    with pytest.raises(data.DatasetError, match=r"a\.jpg: a 0/1 mask saved as JPEG \(values 0 to [12]\)"):
        image_files.read_mask(mask_path)


@pytest.mark.parametrize("kind", ["grayscale", "opaque rgba", "16-bit"])
def test_photos_of_any_channel_layout_become_8_bit_rgb(tmp_path, kind):
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 0] = 200  # red in RGB
    bgr = rgb[..., ::-1]
    stored = {
        "grayscale": np.full((10, 12), 77, np.uint8),
        "opaque rgba": np.dstack([bgr, np.full((10, 12), 255, np.uint8)]),
        "16-bit": bgr.astype(np.uint16) * 257,
    }[kind]
    image = data.read_image(write_png(tmp_path / "p.png", stored))
    assert image.dtype == np.uint8 and image.shape == (10, 12, 3)
    expected = np.full((10, 12, 3), 77, np.uint8) if kind == "grayscale" else rgb
    np.testing.assert_array_equal(image, expected)


def transparent_photo():
    """A 10x12 red photo whose left third is transparent and next column half opaque; (RGB, alpha)."""
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 0] = 200
    alpha = np.full((10, 12), 255, np.uint8)
    alpha[:, :4], alpha[:, 4] = 0, 128
    return rgb, alpha


@pytest.mark.parametrize("kind", ["RGBA PNG", "grey+alpha PNG", "16-bit RGBA PNG", "RGBA WebP", "RGBA TIFF",
                                  "palette PNG with a transparent colour", "GIF with a transparent colour"])
def test_a_photos_transparency_is_read_beside_its_colours(tmp_path, kind):
    rgb, alpha = transparent_photo()
    path = tmp_path / ("p.gif" if "GIF" in kind else "p.webp" if "WebP" in kind else "p.tiff" if "TIFF" in kind
                       else "p.png")
    if kind == "16-bit RGBA PNG":
        write_png(path, np.dstack([rgb[..., ::-1], alpha]).astype(np.uint16) * 257)
    elif kind == "grey+alpha PNG":
        Image.fromarray(np.dstack([rgb[..., 0], alpha]), "LA").save(path)
    elif "transparent colour" in kind:  # palette index 0 (here the left third, black) is the transparent one
        alpha = np.where(alpha == 0, 0, 255).astype(np.uint8)
        rgb = np.where(alpha[..., None] == 0, 0, rgb).astype(np.uint8)
        palette = Image.fromarray((alpha > 0).astype(np.uint8), "P")
        palette.putpalette([0, 0, 0, 200, 0, 0])
        palette.save(path, transparency=0)
    else:
        Image.fromarray(np.dstack([rgb, alpha])).save(path, **({"lossless": True} if "WebP" in kind else {}))
    image, read_alpha = image_files.read_image_and_alpha(path)
    np.testing.assert_array_equal(read_alpha, alpha)
    assert (image[alpha == 255, 0] == 200).all()  # the opaque red (or grey) as it is
    # What the model is shown, in training, evaluation and prediction: the photo over the letterbox grey.
    seen = data.read_image(path)
    np.testing.assert_array_equal(seen, data.over_grey(image, read_alpha))
    assert (seen[alpha == 0] == data.LETTERBOX_GREY).all() and (seen[alpha == 255, 0] == 200).all()


def test_an_avif_photos_transparency_is_read_as_well_as_its_lossy_coding_keeps_it(tmp_path):
    rgb, alpha = transparent_photo()
    cv2.imwrite(str(tmp_path / "p.avif"), np.dstack([rgb[..., ::-1], alpha]))
    image, read_alpha = image_files.read_image_and_alpha(tmp_path / "p.avif")
    assert image.shape == (10, 12, 3) and read_alpha is not None
    assert np.abs(read_alpha.astype(int) - alpha).max() <= 8
    assert np.abs(image[alpha == 255].astype(int) - [200, 0, 0]).max() <= 8


def test_photos_without_transparency_have_no_alpha_and_plain_pngs_are_decoded_once(tmp_path, monkeypatch):
    rgb, _ = transparent_photo()
    decoded = []
    original_decode = image_files.decode
    monkeypatch.setattr(image_files, "decode", lambda path, flags: decoded.append(path) or original_decode(path, flags))
    for name, pixels in (("plain.png", rgb), ("opaque.png", np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])),
                         ("photo.jpg", rgb)):
        decoded.clear()
        Image.fromarray(pixels).save(tmp_path / name)
        image, alpha = image_files.read_image_and_alpha(tmp_path / name)
        assert alpha is None and image.shape == (10, 12, 3), name
        # A PNG whose header has no alpha channel nor tRNS chunk, like a JPEG, is read once;
        # one with an alpha channel (opaque here) is looked at twice.
        assert len(decoded) == (2 if name == "opaque.png" else 1), name


def encoded(suffix, pixels, *params):
    """The bytes of `pixels` (OpenCV's order) encoded in the format of `suffix`."""
    ok, content = cv2.imencode(suffix, pixels, list(params))
    assert ok
    return content.tobytes()


def test_a_file_named_as_another_format_is_read_as_its_bytes_say(tmp_path, monkeypatch):
    # Downloads are often named as another format than they hold: what is looked for in a file is what its own holds.
    rgb, alpha = transparent_photo()
    (tmp_path / "sticker.jpg").write_bytes(encoded(".png", np.dstack([rgb[..., ::-1], alpha])))
    image, read_alpha = image_files.read_image_and_alpha(tmp_path / "sticker.jpg")
    np.testing.assert_array_equal(read_alpha, alpha)  # its transparency, which a JPEG could not hold, kept
    assert (image[alpha == 255] == [200, 0, 0]).all()
    (tmp_path / "photo.png").write_bytes(encoded(".jpg", rgb[..., ::-1]))
    assert not image_files.may_hold_alpha(tmp_path / "photo.png")  # a JPEG: decoded once
    # 16 bits a channel in a TIFF named .png (and a PNG named .tif), 8 in a PNG named .tif.
    deep = np.random.default_rng(0).integers(0, 65536, (10, 12, 3)).astype(np.uint16)
    (tmp_path / "scan.png").write_bytes(encoded(".tif", deep))
    (tmp_path / "scan.tif").write_bytes(encoded(".png", deep))
    (tmp_path / "eight.tif").write_bytes(encoded(".png", rgb))
    assert image_files.stores_16_bits(tmp_path / "scan.png") and image_files.stores_16_bits(tmp_path / "scan.tif")
    assert not image_files.stores_16_bits(tmp_path / "eight.tif")
    # A 0/1 mask stored as JPEG is refused however it is named; a label map's colours are seen in a PNG named .jpg.
    truth = np.zeros((64, 48), np.uint8)
    truth[8:56, 12:36] = 1
    (tmp_path / "spoilt.png").write_bytes(encoded(".jpg", truth, cv2.IMWRITE_JPEG_QUALITY, 95))
    with pytest.raises(data.DatasetError, match=r"spoilt\.png: a 0/1 mask saved as JPEG, though named \.png "
                                                r"\(values 0 to [1-9]\)"):
        image_files.read_mask(tmp_path / "spoilt.png")
    label_map = np.zeros((64, 48, 3), np.uint8)
    label_map[8:56, 12:36], label_map[56:, :] = (128, 128, 192), (192, 224, 224)  # VOC's person, its unsure border
    (tmp_path / "labels.jpg").write_bytes(encoded(".png", label_map))
    assert image_files.mask_colours(tmp_path / "labels.jpg") == ((224, 224, 192), (192, 128, 128))
    (tmp_path / "labels.png").write_bytes(encoded(".jpg", label_map))
    assert image_files.mask_colours(tmp_path / "labels.png") is None  # JPEG's compression strays from any colours


@pytest.mark.parametrize("bits", [8, 16])
def test_a_transparent_photos_alpha_is_turned_with_its_exif_orientation(tmp_path, bits):
    rgb, alpha = transparent_photo()
    rgb[:3, :, 1] = 255  # a yellow top edge, so that the turn shows in the colours
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    if bits == 8:
        Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "turned.png", exif=exif.tobytes())
    else:  # PNG's eXIf chunk holds the EXIF block without its "Exif\0\0" header
        deep = np.dstack([rgb[..., ::-1], alpha]).astype(np.uint16) * 257
        assert cv2.imwriteWithMetadata(str(tmp_path / "turned.png"), deep, [cv2.IMAGE_METADATA_EXIF],
                                       [np.frombuffer(exif.tobytes()[6:], np.uint8)])
    image, read_alpha = image_files.read_image_and_alpha(tmp_path / "turned.png")
    assert image.shape == (12, 10, 3)
    np.testing.assert_array_equal(image, np.rot90(rgb, -1))
    np.testing.assert_array_equal(read_alpha, np.rot90(alpha, -1))  # the transparent third is now the top one


@pytest.fixture
def opencv_log_level():
    """OpenCV's log level, set back after the test (it is the process's)."""
    level = cv2.utils.logging.getLogLevel()
    yield
    cv2.utils.logging.setLogLevel(level)


def test_opencvs_own_complaints_about_a_file_are_left_to_the_line_naming_it(tmp_path, capfd, monkeypatch,
                                                                            opencv_log_level):
    cut_short = tmp_path / "cut.tif"
    cut_short.write_bytes(cv2.imencode(".tif", np.zeros((50, 50, 3), np.uint8))[1].tobytes()[:100])
    monkeypatch.delenv("OPENCV_LOG_LEVEL", raising=False)
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_WARNING)  # OpenCV's default
    with pytest.raises(data.DatasetError, match=r"cut\.tif: not a readable image"):
        data.read_image(cut_short)
    assert "TIFF_Error" in capfd.readouterr().err  # what there is to leave out
    image_files.quiet_opencv()
    with pytest.raises(data.DatasetError, match=r"cut\.tif: not a readable image"):
        data.read_image(cut_short)
    assert capfd.readouterr().err == ""
    # Where OPENCV_LOG_LEVEL is set, it decides.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_WARNING)
    monkeypatch.setenv("OPENCV_LOG_LEVEL", "WARNING")
    image_files.quiet_opencv()
    assert cv2.utils.logging.getLogLevel() == cv2.utils.logging.LOG_LEVEL_WARNING


def test_a_png_s_malformed_profile_and_text_cost_neither_its_pixels_nor_a_line_from_libpng(tmp_path, capfd, rng):
    pixels = rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)
    content = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))[1].tobytes()
    pixels_at, end_at = content.index(b"IDAT") - 4, content.index(b"IEND") - 4
    too_short = b"RGB profile\0\0" + zlib.compress(b"\0\0\0\x84mntrRGB XYZ ".rjust(40, b"\0"))  # says 132 bytes, has 40
    bad_crc = len(b"Title\0x").to_bytes(4, "big") + b"tEXt" + b"Title\0x" + bytes(4)
    path = tmp_path / "web.png"
    path.write_bytes(content[:pixels_at] + metadata.png_chunk(b"iCCP", too_short) + bad_crc + content[pixels_at:end_at]
                     + bad_crc + content[end_at:])
    capfd.readouterr()
    np.testing.assert_array_equal(data.read_image(path), pixels)
    assert capfd.readouterr().err == ""  # libpng said "iCCP: too short" and "tEXt: CRC error" (twice)
    np.testing.assert_array_equal(image_files.without_metadata_chunks(np.fromfile(path, np.uint8)),
                                  np.frombuffer(content, np.uint8))


def test_a_png_cut_short_or_damaged_says_so_without_a_line_from_libpng(tmp_path, capfd, rng):
    content = cv2.imencode(".png", rng.integers(0, 256, (40, 30, 3), dtype=np.uint8))[1].tobytes()
    pixels_at = content.index(b"IDAT") - 4
    cut_short, damaged, header_damaged = tmp_path / "cut.png", tmp_path / "damaged.png", tmp_path / "header.png"
    cut_short.write_bytes(content[:-20])  # within its last pixels' chunk
    damaged.write_bytes(content[:pixels_at + 20] + bytes([content[pixels_at + 20] ^ 1]) + content[pixels_at + 21:])
    header_damaged.write_bytes(content[:20] + bytes([content[20] ^ 1]) + content[21:])
    capfd.readouterr()
    with pytest.raises(data.DatasetError, match=rf"cut\.png: a PNG cut short after {len(content) - 20:,} bytes "
                                                r"\(a download or copy that did not finish\?\)"):
        data.read_image(cut_short)
    with pytest.raises(data.DatasetError, match=rf"damaged\.png: a damaged PNG: the checksum of its image data fails "
                                                rf"at byte {pixels_at:,}"):
        data.read_image(damaged)
    with pytest.raises(data.DatasetError, match=r"header\.png: a damaged PNG: the checksum of its header fails at byte 8"):
        data.read_image(header_damaged)
    assert capfd.readouterr().err == ""  # libpng said "PNG input buffer is incomplete", "IDAT: CRC error"...
    # What libpng reads, it still reads: bytes after its end, a damaged checksum of the end itself.
    trailing = tmp_path / "trailing.png"
    trailing.write_bytes(content[:-1] + bytes([content[-1] ^ 1]) + b"left by a copy tool")
    assert data.read_image(trailing).shape == (40, 30, 3)


def test_corrupt_files_are_named_in_the_error(tmp_path, rng):
    ok, encoded = cv2.imencode(".jpg", draw_person(rng, 64, 64)[0])
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(encoded.tobytes()[: len(encoded) // 2])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(data.DatasetError, match=rf"truncated\.jpg: a JPEG cut short after {len(encoded) // 2:,} bytes "
                                                r"\(a download or copy that did not finish\?\)"):
        data.read_image(truncated)
    with pytest.raises(data.DatasetError, match=r"empty\.jpg: empty file"):
        data.read_image(empty)
    with pytest.raises(data.DatasetError, match=r"notes\.jpg: not an image but text, beginning 'not an image'$"):
        data.read_image(text)
    (tmp_path / "album.jpg").mkdir()  # a folder named as a photo
    with pytest.raises(data.DatasetError, match=r"album\.jpg: cannot read file \(Is a directory\)"):
        data.read_image(tmp_path / "album.jpg")
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(100))  # a HEIC photo's first box, and no photo
    with pytest.raises(data.DatasetError, match=r"IMG_0001\.HEIC: not a readable image"):
        data.read_image(heic)
    # One that is whole, but holds what is not read, says what.
    hdr = tmp_path / "merged.tif"
    assert cv2.imwrite(str(hdr), rng.random((20, 16, 3)).astype(np.float32))
    with pytest.raises(data.DatasetError, match=r"merged\.tif: a TIFF of 32-bit floating-point samples \(HDR\), which "
                                                r"is not read: save it with 8 or 16 bits a channel"):
        data.read_image(hdr)


def test_a_photo_of_more_pixels_than_opencv_decodes_says_so_not_its_assertion(tmp_path):
    def chunk(name, content):
        return struct.pack(">I", len(content)) + name + content + struct.pack(">I", zlib.crc32(name + content))

    # A PNG whose header says 60000x60000 (3.6 gigapixels; OpenCV checks the size before the pixels).
    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    huge = tmp_path / "panorama.png"
    huge.write_bytes(image_files.PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(60001)))
                     + chunk(b"IEND", b""))
    with pytest.raises(data.DatasetError, match=r"^.*panorama\.png: more pixels than OpenCV decodes \(2\*\*30, about "
                                                r"1\.07 gigapixels, unless the environment variable "
                                                r"OPENCV_IO_MAX_IMAGE_PIXELS allows more\)$"):
        data.read_image(huge)


def test_a_file_named_as_a_photo_that_holds_something_else_says_what(tmp_path, rng):
    lfs_pointer = ("version https://git-lfs.github.com/spec/v1\n"
                   "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 84977\n")
    storage_error = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                     "<Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>")
    contents = {
        "lfs.jpg": lfs_pointer.encode(),
        "page.jpg": b"\xef\xbb\xbf\n<!DOCTYPE html>\n<html><head><title>\n  403 Forbidden\n</title></head></html>",
        "untitled.png": b"<HTML><body>Sign in to download</body></HTML>",
        "logo.png": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        "error.jpg": storage_error.encode(),
        "scan.jpg": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)),
        "layers.png": b"8BPS\x00\x01" + bytes(200),
        "album.jpg": b"PK\x03\x04\x14\x00" + bytes(200),
        "clip.jpg": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(200),
        "unfilled.jpg": bytes(5000),  # its size taken, its bytes never written
        "blank.png": b" \r\n\t\n",
        "noise.jpg": rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(),  # nothing it knows: said as before
    }
    for name, content in contents.items():
        (tmp_path / name).write_bytes(content)

    def why(name):
        with pytest.raises(data.DatasetError) as raised:
            data.read_image(tmp_path / name)
        return str(raised.value).removeprefix(f"{tmp_path / name}: ")

    assert {name: why(name) for name in contents} == {
        "lfs.jpg": "not an image but a Git LFS pointer (the files were cloned without Git LFS: `git lfs pull` "
                   "fetches them)",
        "page.jpg": "not an image but a web page (HTML, titled '403 Forbidden': a download that failed, or a page "
                    "saved under its name?)",
        "untitled.png": "not an image but a web page (HTML: a download that failed, or a page saved under its name?)",
        "logo.png": "not an image but an SVG drawing (export it as a PNG)",
        "error.jpg": "not an image but text, beginning '<?xml version=\"1.0\" encoding=\"UTF-8\"?> "
                     "<Error><Code>AccessDenied</Code><Message>...'",  # its first 80 characters
        "scan.jpg": "not an image but a PDF document",
        "layers.png": "not an image but a Photoshop document (PSD)",
        "album.jpg": "not an image but a zip archive",
        "clip.jpg": "not an image but a video (MP4 or MOV)",
        "unfilled.jpg": "not an image but zeros where its content should begin (never written: a copy or download "
                        "that did not finish?)",
        "blank.png": "not an image but blank text (spaces and line breaks)",
        "noise.jpg": "not a readable image (corrupt, truncated or unsupported format)",
    }
    # A long text file cut in the middle of a character at the bytes looked at is still text.
    (tmp_path / "long.jpg").write_bytes(("a" + "é" * 600).encode())  # its 1024th byte the first of an é's two
    assert why("long.jpg") == f"not an image but text, beginning 'a{'é' * (image_files.TEXT_SHOWN - 1)}...'"


def test_a_jpeg_or_webp_cut_short_says_so_and_one_damaged_otherwise_is_not_called_cut_short(tmp_path, rng):
    content = cv2.imencode(".jpg", draw_person(rng, 64, 48)[0])[1].tobytes()
    for cut in (2, len(content) // 2, len(content) - 100):  # its end marker alone lost, half of it, all but its header
        (tmp_path / "cut.jpg").write_bytes(content[:-cut])
        with pytest.raises(data.DatasetError, match=rf"cut\.jpg: a JPEG cut short after {len(content) - cut:,} "
                                                    r"bytes \(a download or copy that did not finish\?\)$"):
            data.read_image(tmp_path / "cut.jpg")
    # Whole to its end, but with its pixels' start gone: not readable, and not cut short either.
    pixels_at = content.index(b"\xff\xda")
    (tmp_path / "damaged.jpg").write_bytes(content[:pixels_at] + content[-2:])
    with pytest.raises(data.DatasetError, match=r"damaged\.jpg: not a readable image \(corrupt, truncated or "
                                                r"unsupported format\)$"):
        data.read_image(tmp_path / "damaged.jpg")
    # A WebP's header gives its size: said with what is there.
    webp = cv2.imencode(".webp", draw_person(rng, 64, 48)[0])[1].tobytes()
    (tmp_path / "cut.webp").write_bytes(webp[:len(webp) // 2])
    with pytest.raises(data.DatasetError, match=rf"cut\.webp: a WebP cut short after {len(webp) // 2:,} of its "
                                                rf"{len(webp):,} bytes \(a download or copy that did not finish\?\)$"):
        data.read_image(tmp_path / "cut.webp")


def test_a_photos_format_is_told_by_its_first_bytes_for_photos_that_come_without_a_name(tmp_path, rng):
    import pillow_heif

    pixels = draw_person(rng, 16, 16)[0]
    for pil_format, suffix in (("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif"),
                               ("GIF", ".gif"), ("BMP", ".bmp")):
        encoded = io.BytesIO()
        Image.fromarray(pixels).save(encoded, pil_format)
        assert image_files.format_suffix(encoded.getvalue()) == suffix, pil_format
    big_endian_tiff = cv2.imencode(".tif", pixels)[1].tobytes()[:2].replace(b"II", b"MM") + b"\0*" + bytes(8)
    assert image_files.format_suffix(big_endian_tiff) == ".tif"
    pillow_heif.from_pillow(Image.fromarray(pixels)).save(tmp_path / "a.heic", quality=-1)
    assert image_files.format_suffix((tmp_path / "a.heic").read_bytes()) == ".heic"
    assert image_files.format_suffix(b"\0\0\0\x1cftypavif\0\0\0\0") == ".avif"
    for other in (b"", b"P6\n16 16\n255\n", b"not a photo at all"):
        assert image_files.format_suffix(other) == ""


def test_a_heic_photo_is_read_as_the_colours_it_holds_turned_as_it_is_shown(tmp_path, rng):
    import pillow_heif

    stored, _ = draw_person(rng, 48, 64)
    stored[:8, :8] = (255, 0, 0)  # red in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display", as a phone held upright records it
    pillow_heif.from_pillow(Image.fromarray(stored)).save(tmp_path / "IMG_0001.HEIC", quality=-1, chroma=444,
                                                          exif=exif.tobytes())
    shown = np.rot90(stored, -1)
    image = data.read_image(tmp_path / "IMG_0001.HEIC")
    assert image.shape == shown.shape and image.dtype == np.uint8
    assert np.abs(image.astype(int) - shown).max() <= 2  # lossless, but for the rounding of HEVC's colour conversion
    assert image[:8, -8:, 0].min() >= 253 and image[:8, -8:, 1:].max() <= 2  # the red corner, now top-right

    # A 10-bit HEIC (an iPhone's HDR photo) is brought to 8 bits, as 16-bit PNGs are.
    deep = np.zeros((32, 48, 3), np.uint16)
    deep[:, :24], deep[:, 24:] = (65535, 0, 0), (0, 32768, 65535)
    pillow_heif.from_bytes(mode="RGB;16", size=(48, 32), data=deep.tobytes()).save(tmp_path / "hdr.heic", quality=-1,
                                                                                   chroma=444)
    image = data.read_image(tmp_path / "hdr.heic")
    assert image.dtype == np.uint8 and image[5, 5].tolist() == [255, 0, 0] and image[5, 40].tolist() == [0, 128, 255]
