import csv
import errno
import io
import json
import logging
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
import zlib
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

import compose
import data
import image_files
import lite
import metadata
import outputs
import predict
import scores
import segment
import train
import watching
from conftest import (NOT_UTF8, REPO_DIR, FailsOnGreen, MarksRed, SureOfUprightRed, Terminal, boxed, camera_dng,
                      lying_person, person_with_a_speck, photo, with_bicubic_upsampling, write_sample)
from model import build_model

SIZE = (32, 32)


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    build_model("unet", SIZE, base_filters=4, depth=2).save(path)
    return path


@pytest.fixture(scope="module")
def tiny_model(tiny_model_path):
    return predict.load_model(tiny_model_path)


def save(path, rgb, **pil_options):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, **pil_options)
    return path


def read_output(path):
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels.ndim == 2:
        return pixels
    return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def pngs_in(folder):
    """The PNG files under `folder`, as sorted paths relative to it ("a.png", "sub/b.png")."""
    return sorted(path.relative_to(folder).as_posix() for path in Path(folder).rglob("*.png"))


def expected_alpha(model, rgb):
    return np.round(segment.predict_photo_masks(model, [rgb])[0] * 255).astype(np.uint8)


def make_every_kind_of_photo(folder, rng):
    """{file name: (height, width)} of the photos written into `folder`."""
    rgb = photo(rng)
    made = {
        "plain.jpg": save(folder / "plain.jpg", rgb),
        "grey.png": save(folder / "grey.png", rgb[..., 0]),
        "rgba.png": save(folder / "rgba.png", np.dstack([rgb, np.full(rgb.shape[:2], 90, np.uint8)])),
        "palette.png": save(folder / "palette.png", np.asarray(Image.fromarray(rgb).convert("P"))),
        "cmyk.jpg": folder / "cmyk.jpg",
        "webp.webp": save(folder / "webp.webp", rgb),
        "bmp.bmp": save(folder / "bmp.bmp", rgb),
        "tiff.tiff": save(folder / "tiff.tiff", rgb),
        "gif.gif": save(folder / "gif.gif", rgb),
        "download.jfif": save(folder / "download.jfif", rgb, format="JPEG"),  # a JPEG, as Windows names web downloads
        "avif.avif": folder / "avif.avif",
        "tiny.png": save(folder / "tiny.png", photo(rng, 16, 16)),
        "with space ünïcödé 写真.jpg": save(folder / "with space ünïcödé 写真.jpg", rgb),
    }
    Image.fromarray(rgb).convert("CMYK").save(made["cmyk.jpg"])
    cv2.imwrite(str(made["avif.avif"]), rgb[..., ::-1])
    cv2.imwrite(str(folder / "sixteen.png"), (rgb[..., ::-1].astype(np.uint16) * 257))
    made["sixteen.png"] = folder / "sixteen.png"
    sizes = {name: (16, 16) if name == "tiny.png" else rgb.shape[:2] for name in made}
    return sizes


def test_every_kind_of_photo_becomes_an_rgba_cutout_at_its_original_size(tmp_path, tiny_model, rng):
    sizes = make_every_kind_of_photo(tmp_path / "in", rng)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model)
    assert summary.processed == len(sizes) and not summary.failed
    for name, size in sizes.items():
        out = read_output(tmp_path / "out" / (name.rsplit(".", 1)[0] + ".png"))
        assert out.shape == (*size, 4), name
        assert out.dtype == (np.uint16 if name == "sixteen.png" else np.uint8), name  # a PNG keeps 16 bits


def deep_photo(rng, height=60, width=40):
    """A 16-bit RGB photo: a person whose 8-bit reading is draw_person's,
    and low bytes of their own, which an 8-bit output would lose."""
    rgb = photo(rng, height, width)
    return rgb.astype(np.uint16) * 256 + rng.integers(0, 256, rgb.shape, dtype=np.uint16)


def red_person_16_bit(rng):
    """A dark 16-bit 60x40 photo with a red person standing in it (rows
    10-50, columns 12-28), which SureOfUprightRed marks."""
    deep = rng.integers(0, 30000, (60, 40, 3), dtype=np.uint16)
    deep[10:50, 12:28, 0] = 60000
    return deep


def save_deep(path, pixels):
    """Writes 16-bit RGB or RGBA `pixels` (OpenCV's order is BGR(A))."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR))
    return path


def test_a_16_bit_photo_gets_16_bit_png_outputs_its_jpeg_and_webp_ones_8(tmp_path, tiny_model, rng):
    deep = deep_photo(rng)
    for name in ("scan.png", "scan.tif"):
        save_deep(tmp_path / "in" / name, deep)
    cutouts = predict.remove_background_files(tmp_path / "in", tmp_path / "cut", model=tiny_model)
    assert cutouts.processed == 2 and not cutouts.failed
    for name in ("scan.tif", "scan.png"):
        eight_bit = expected_alpha(tiny_model, data.read_image(tmp_path / "in" / name))  # what an 8-bit output holds
        out = read_output(tmp_path / "cut" / f"{name}.png")
        assert out.dtype == np.uint16 and out.shape == (60, 40, 4)
        alpha = out[..., 3]
        # The same mask, 65535 for 255: to within one 8-bit step, and finer.
        assert np.abs(alpha / 257 - eight_bit).max() <= 1 and np.any(alpha % 257)
        np.testing.assert_array_equal(out[..., :3][alpha > 0], deep[alpha > 0])  # the photo's 16 bits, every one

    predict.remove_background_files(tmp_path / "in" / "scan.png", tmp_path / "mask", model=tiny_model, mask_only=True)
    cutout = read_output(tmp_path / "cut" / "scan.png.png")
    np.testing.assert_array_equal(read_output(tmp_path / "mask" / "scan.png"), cutout[..., 3])

    # Over a background: a red person standing, hard-edged, over white.
    red = rng.integers(0, 256, (60, 40, 3), dtype=np.uint16)
    red[10:50, 12:28] += np.uint16(230 * 256) * np.array([1, 0, 0], np.uint16)
    save_deep(tmp_path / "red" / "red.png", red)
    predict.remove_background_files(tmp_path / "red", tmp_path / "white", model=SureOfUprightRed(), threshold=0.5,
                                    background="white")
    white = read_output(tmp_path / "white" / "red.png")
    assert white.dtype == np.uint16 and white.shape == (60, 40, 3)
    np.testing.assert_array_equal(white[10:50, 12:28], red[10:50, 12:28])
    assert (white[:10] == 65535).all() and (white[:, :12] == 65535).all()
    # The photo's own background blurred: as its 8-bit reading's is, 257 times, to within an 8-bit step or two.
    predict.remove_background_files(tmp_path / "in" / "scan.png", tmp_path / "blur", model=tiny_model,
                                    background="blur")
    blurred = read_output(tmp_path / "blur" / "scan.png")
    as_eight_bits = predict.remove_background(tmp_path / "in" / "scan.png", tiny_model, background="blur")
    assert blurred.dtype == np.uint16 and np.abs(blurred / 257 - as_eight_bits).max() <= 2

    for options in ({"jpeg": True, "background": "white"}, {"webp": True}):  # formats of 8 bits a channel
        summary = predict.remove_background_files(tmp_path / "in" / "scan.png", tmp_path / "small", model=tiny_model,
                                                  **options)
        assert summary.processed == 1 and not summary.failed
    assert read_output(tmp_path / "small" / "scan.jpg").dtype == np.uint8
    assert np.asarray(Image.open(tmp_path / "small" / "scan.webp")).dtype == np.uint8


def test_a_16_bit_background_photo_keeps_its_16_bits_behind_16_bit_photos_and_is_brought_to_8_behind_8_bit_ones(
        tmp_path, rng):
    red = red_person_16_bit(rng)
    save_deep(tmp_path / "in" / "deep.png", red)
    cv2.imwrite(str(tmp_path / "in" / "plain.png"), cv2.cvtColor(image_files.eight_bits(red), cv2.COLOR_RGB2BGR))
    backdrop = rng.integers(0, 65536, (60, 40, 3), dtype=np.uint16)  # low bytes of its own, as a studio backdrop's
    for name in ("backdrop.png", "backdrop.tif"):
        save_deep(tmp_path / "backdrops" / name, backdrop)
        out = tmp_path / name.replace(".", "_")
        predict.remove_background_files(tmp_path / "in", out, model=SureOfUprightRed(), threshold=0.5,
                                        background=str(tmp_path / "backdrops" / name))
        deep, plain = read_output(out / "deep.png"), read_output(out / "plain.png")
        assert deep.dtype == np.uint16 and plain.dtype == np.uint8
        np.testing.assert_array_equal(deep[:8], backdrop[:8])  # above the person: the backdrop, every bit of it
        np.testing.assert_array_equal(deep[12:48, 14:26], red[12:48, 14:26])
        np.testing.assert_array_equal(plain[:8], image_files.eight_bits(backdrop)[:8])
    # From Python too; and brought into another colour profile, it has 8 bits (Pillow's LittleCMS transforms 8-bit
    # RGB only), its colours those of its 8-bit reading.
    composite = predict.remove_background(red, model=SureOfUprightRed(), threshold=0.5, background=backdrop)
    np.testing.assert_array_equal(composite[:8], backdrop[:8])
    display_p3 = display_p3_like_profile()
    converted = compose.converted_colours(backdrop, None, display_p3)
    assert converted.dtype == np.uint8
    as_eight_bits = compose.converted_colours(image_files.eight_bits(backdrop), None, display_p3)
    np.testing.assert_array_equal(converted, as_eight_bits)


def save_deep_on_its_side(path, upright):
    """Writes 16-bit 60x40 `upright` pixels as a PNG stored on its side, its
    EXIF orientation turning it upright to be shown."""
    content = save_deep(path, np.rot90(upright)).read_bytes()
    at = content.index(b"IDAT") - 4
    path.write_bytes(content[:at] + metadata.png_chunk(b"eXIf", camera_exif(6, size=(60, 40))) + content[at:])
    return path


def test_a_16_bit_photo_s_output_is_turned_as_it_is_shown_cropped_and_fitted_on_a_canvas(tmp_path, tiny_model, rng):
    upright = deep_photo(rng)
    save_deep_on_its_side(tmp_path / "in" / "turned.png", upright)
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model)
    out = read_output(tmp_path / "out" / "turned.png")
    assert out.dtype == np.uint16 and out.shape == (60, 40, 4)
    np.testing.assert_array_equal(out[..., :3][out[..., 3] > 0], upright[out[..., 3] > 0])

    predict.remove_background_files(tmp_path / "in", tmp_path / "cropped", model=tiny_model, crop=True)
    cropped = read_output(tmp_path / "cropped" / "turned.png")
    np.testing.assert_array_equal(cropped, compose.crop_to_people(out, out[..., 3]))
    predict.remove_background_files(tmp_path / "in", tmp_path / "canvas", model=tiny_model, canvas=(50, 50))
    canvas = read_output(tmp_path / "canvas" / "turned.png")
    assert canvas.dtype == np.uint16 and canvas.shape == (50, 50, 4) and np.any(canvas[..., 3] % 257)
    as_eight_bits = predict.remove_background(tmp_path / "in" / "turned.png", tiny_model, canvas=(50, 50))
    assert np.abs(canvas / 257 - as_eight_bits).max() <= 2


def test_a_16_bit_photo_s_transparency_is_kept_at_16_bits(tmp_path, rng):
    deep = red_person_16_bit(rng)
    alpha = np.full((60, 40), 65535, np.uint16)
    alpha[:, :20] = 40000  # a semi-transparent half, not a multiple of 257
    save_deep(tmp_path / "in" / "sticker.png", np.dstack([deep, alpha]))
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed())
    assert summary.processed == 1 and not summary.failed
    out = read_output(tmp_path / "out" / "sticker.png")
    assert out.dtype == np.uint16 and out.shape == (60, 40, 4)
    assert (out[..., 3] <= alpha).all()  # nowhere more opaque than the photo, to the 16-bit level
    assert (out[12:48, 14:20, 3] == 40000).all() and (out[12:48, 21:26, 3] == round(0.99 * 65535)).all()
    np.testing.assert_array_equal(out[12:48, 14:26, :3], deep[12:48, 14:26])


def test_a_turned_16_bit_photo_s_transparency_is_turned_with_it_and_kept_at_16_bits(tmp_path, rng, caplog):
    alpha = np.full((60, 40), 65535, np.uint16)
    alpha[:30] = 40000  # its top half semi-transparent, which a turn the wrong way would put elsewhere
    upright = np.dstack([red_person_16_bit(rng), alpha])
    save_deep_on_its_side(tmp_path / "in" / "sticker.png", upright)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed())
    assert summary.processed == 1 and not summary.failed
    out = read_output(tmp_path / "out" / "sticker.png")
    assert out.dtype == np.uint16 and out.shape == (60, 40, 4)
    assert "written with 8 bits" not in caplog.text
    assert (out[12:30, 14:26, 3] == 40000).all() and (out[30:48, 14:26, 3] == round(0.99 * 65535)).all()
    np.testing.assert_array_equal(out[12:48, 14:26, :3], upright[12:48, 14:26, :3])


def test_16_bit_colours_unlike_the_photo_the_model_saw_are_not_written(tmp_path, rng, caplog, monkeypatch):
    path = save_deep(tmp_path / "scan.png", deep_photo(rng))
    as_read = data.read_image(path)
    assert image_files.deep_pixels(path, as_read).dtype == np.uint16
    other = np.ascontiguousarray(as_read[::-1])  # as if turned otherwise than the 8-bit reading
    assert image_files.deep_pixels(path, other) is other
    assert f"{path}: written with 8 bits a channel, not its 16" in caplog.text
    assert image_files.stores_16_bits(path)
    assert image_files.stores_16_bits(save_deep(tmp_path / "scan.tif", as_read.astype(np.uint16) * 257))
    # An 8-bit PNG or TIFF is not decoded again: its header, or its BitsPerSample tag, says it holds 8 bits.
    monkeypatch.setattr(image_files, "decode", None)
    for eight_bit in (save(tmp_path / "eight.png", as_read), save(tmp_path / "eight.tif", as_read)):
        assert not image_files.stores_16_bits(eight_bit)
        assert image_files.deep_pixels(eight_bit, as_read) is as_read
        # Deleted since it was read (a watched folder's photo): its 8-bit colours, which are at hand, not a failure.
        eight_bit.unlink()
        assert image_files.deep_pixels(eight_bit, as_read) is as_read


def test_alpha_is_the_models_mask_upsampled_and_colours_are_the_photo(tmp_path, tiny_model, rng):
    rgb = photo(rng, 75, 50)
    save(tmp_path / "in" / "a.png", rgb)
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model)
    out = read_output(tmp_path / "out" / "a.png")
    alpha = expected_alpha(tiny_model, rgb)
    np.testing.assert_array_equal(out[..., 3], alpha)
    np.testing.assert_array_equal(out[..., :3][alpha > 0], rgb[alpha > 0])
    assert len(np.unique(out[..., 3])) > 2  # soft edges by default


def test_the_python_api_returns_the_same_cutout(tiny_model, rng, tiny_model_path):
    rgb = photo(rng)
    rgba = predict.remove_background(rgb, model=tiny_model)
    assert rgba.shape == (*rgb.shape[:2], 4)
    np.testing.assert_array_equal(rgba[..., 3], expected_alpha(tiny_model, rgb))
    np.testing.assert_array_equal(predict.remove_background(rgb, model=str(tiny_model_path)), rgba)
    on_white = predict.remove_background(rgb, model=tiny_model, background="#ffffff")
    weight = rgba[..., 3:] / 255.0
    np.testing.assert_array_equal(on_white, np.round(rgb * weight + 255 * (1 - weight)).astype(np.uint8))


def test_the_python_api_takes_pil_images_and_names_what_is_wrong_with_an_array(tiny_model, rng):
    rgb = photo(rng)
    rgba = predict.remove_background(rgb, model=tiny_model)
    for pil_image in (Image.fromarray(rgb), Image.fromarray(rgb).convert("RGBA")):
        np.testing.assert_array_equal(predict.remove_background(pil_image, model=tiny_model), rgba)
    grey = Image.fromarray(rgb).convert("L")
    np.testing.assert_array_equal(predict.remove_background(grey, model=tiny_model),
                                  predict.remove_background(np.asarray(grey), model=tiny_model))
    np.testing.assert_array_equal(predict.remove_background(np.asarray(grey)[..., None], model=tiny_model),
                                  predict.remove_background(np.asarray(grey), model=tiny_model))
    with pytest.raises(ValueError, match=r"8-bit pixels \(uint8, 0-255\) or 16-bit ones \(uint16\), not float32: "
                                         r"for floats in \[0, 1\], pass"):
        predict.remove_background(rgb.astype(np.float32) / 255, model=tiny_model)
    with pytest.raises(ValueError, match=r"not float32: for floats in \[0, 1\], pass"):  # a PIL image of floats
        predict.remove_background(Image.fromarray(rgb[..., 0].astype(np.float32) / 255), model=tiny_model)
    with pytest.raises(ValueError, match=r"not shape \(1, 60, 40, 3\)"):
        predict.remove_background(rgb[None], model=tiny_model)
    for empty in (rgb[:0], rgb[:, :0, 0]):  # not "photo 0 must be RGB pixels", and not to take another kind
        with pytest.raises(ValueError, match=re.escape(f"the photo has no pixels: shape {empty.shape}")):
            predict.remove_background(empty, model=tiny_model)


def test_a_web_address_from_python_is_said_so_for_a_photo_and_a_model(tiny_model, rng):
    # As on the command line: not a missing file named after the path made of it (https:/example.com/a.jpg).
    with pytest.raises(data.DatasetError, match=r"^https://example.com/a.jpg is a web address, .*download it first"):
        predict.remove_background("https://example.com/a.jpg", model=tiny_model)
    with pytest.raises(predict.PredictError, match=r"^model s3://bucket/person.keras is a web address"):
        predict.remove_background(photo(rng), model="s3://bucket/person.keras")


def test_a_16_bit_pil_image_is_scaled_to_8_bits_not_clipped_white(tiny_model, rng, tmp_path):
    grey = deep_photo(rng)[..., 0]
    as_eight_bits = np.round(grey / 257).astype(np.uint8)
    expected = predict.remove_background(as_eight_bits, model=tiny_model)
    sixteen = Image.fromarray(grey)
    assert sixteen.mode == "I;16"  # which Pillow's convert("RGB") clips: all but the darkest pixels white
    np.testing.assert_array_equal(predict.remove_background(sixteen, model=tiny_model), expected)
    cv2.imwrite(str(tmp_path / "grey16.png"), grey)  # a 16-bit grey PNG, as Pillow opens it
    with Image.open(tmp_path / "grey16.png") as opened:
        assert opened.mode.startswith("I")
        np.testing.assert_array_equal(predict.remove_background(opened, model=tiny_model), expected)


def test_a_16_bit_array_gets_a_16_bit_cutout_the_model_seeing_it_at_8_bits(rng):
    deep = red_person_16_bit(rng)
    model = SureOfUprightRed()
    rgba = predict.remove_background(deep, model=model, threshold=0.5)
    assert rgba.dtype == np.uint16 and rgba.shape == (60, 40, 4)
    np.testing.assert_array_equal(model.batches[0][0], data.preprocess_image(np.round(deep / 257).astype(np.uint8),
                                                                             (64, 64)))
    assert (rgba[12:48, 14:26, 3] == 65535).all() and (rgba[:8, :, 3] == 0).all()
    np.testing.assert_array_equal(rgba[12:48, 14:26, :3], deep[12:48, 14:26])
    # Its own transparency kept, at 16 bits: nowhere more opaque than the photo.
    alpha = np.full((60, 40), 65535, np.uint16)
    alpha[:, :20] = 40000
    cutout = predict.remove_background(np.dstack([deep, alpha]), model=SureOfUprightRed())
    assert cutout.dtype == np.uint16 and (cutout[12:48, 14:20, 3] == 40000).all()
    assert (cutout[12:48, 21:26, 3] == round(0.99 * 65535)).all()


def test_a_transparent_photo_is_seen_over_grey_and_its_cutout_is_never_more_opaque_than_the_photo(tmp_path):
    # A cutout made before: a red person on the right, opaque, and on the left, transparent, a second
    # red figure that it had cut away, its colours kept (as some editors keep them).
    rgb = np.zeros((120, 90, 3), np.uint8)
    rgb[20:100, 10:30] = rgb[20:100, 55:75] = (255, 0, 0)
    alpha = np.full((120, 90), 255, np.uint8)
    alpha[:, :40], alpha[:, 40:45] = 0, 128
    save(tmp_path / "in" / "cutout.png", np.dstack([rgb, alpha]))
    model = SureOfUprightRed()
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=model)
    assert summary.processed == 1
    out = read_output(tmp_path / "out" / "cutout.png")
    assert (out[..., 3] <= alpha).all()
    assert out[:, :40, 3].max() == 0 and out[30:90, 60:70, 3].min() == round(0.99 * 255)  # within its soft edge
    # The model was shown the transparent third as the letterbox bars' grey, not the figure it hides.
    shown = model.batches[0][0]
    np.testing.assert_array_equal(shown[:, :25], data.LETTERBOX_GREY)
    # ... as training and evaluation show it (data.read_image).
    np.testing.assert_array_equal(shown, data.preprocess_image(data.read_image(tmp_path / "in" / "cutout.png"), (64, 64)))
    assert summary.judged[0].person_share == pytest.approx((80 * 20) / (120 * 90), abs=0.01)
    # The Python API takes the transparency of an RGBA array and of a PIL image alike.
    from_array = predict.remove_background(np.dstack([rgb, alpha]), model=SureOfUprightRed())
    np.testing.assert_array_equal(from_array, out)
    from_pil = predict.remove_background(Image.open(tmp_path / "in" / "cutout.png"), model=SureOfUprightRed())
    np.testing.assert_array_equal(from_pil, out)


def rgb_profile(padding=0):
    """An ICC profile of RGB colours: sRGB's, padded by `padding` bytes, to tell one from another."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() + bytes(padding)


def display_p3_like_profile():
    """An ICC v2 profile of Display P3's primaries (D50-adapted, as Apple's
    profile holds them) with a gamma of 2.2: a wider gamut than sRGB, made
    here since Pillow can create no such profile."""
    def s15(value):
        return struct.pack(">i", round(value * 65536))

    def xyz(values):
        return b"XYZ \0\0\0\0" + b"".join(map(s15, values))

    name = b"Display P3 stand-in"
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    tags = [(b"desc", b"desc\0\0\0\0" + struct.pack(">I", len(name) + 1) + name + bytes(1 + 4 + 4 + 2 + 1 + 67)),
            (b"cprt", b"text\0\0\0\0none\0"), (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
            (b"rXYZ", xyz((0.51512, 0.24120, -0.00105))), (b"gXYZ", xyz((0.29198, 0.69225, 0.04189))),
            (b"bXYZ", xyz((0.15710, 0.06657, 0.78407))), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, content in tags:
        content += bytes(-len(content) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(content))
        body += content
    header = (struct.pack(">I", offset + len(body)) + bytes(4) + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + bytes(12) + b"acsp" + bytes(28) + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(48))
    return header + table + body


def embedded_profile(path):
    with Image.open(path) as image:
        return image.info.get("icc_profile")


def test_outputs_keep_their_photos_colour_profile_and_pixels(tmp_path, rng):
    from PIL import ImageCms

    display_p3, adobe_rgb = rgb_profile(1), rgb_profile(2)  # stand-ins: profiles that differ
    large = rgb_profile(150_000)  # three APP2 segments in a JPEG
    rgb = photo(rng)
    save(tmp_path / "in" / "phone.jpg", rgb, icc_profile=display_p3, quality=95)
    save(tmp_path / "in" / "screenshot.png", rgb, icc_profile=adobe_rgb)
    save(tmp_path / "in" / "web.webp", rgb, icc_profile=display_p3, lossless=True)
    save(tmp_path / "in" / "scan.tif", rgb, icc_profile=adobe_rgb)
    save(tmp_path / "in" / "modern.avif", rgb, icc_profile=display_p3, quality=100)
    save(tmp_path / "in" / "large.jpg", rgb, icc_profile=large, quality=95)
    save(tmp_path / "in" / "plain.jpg", rgb, quality=95)
    # A profile of other colours than RGB (here Lab) does not fit an RGB output: left out.
    save(tmp_path / "in" / "lab.jpg", rgb, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),
         quality=95)
    expected = {"phone": display_p3, "screenshot": adobe_rgb, "web": display_p3, "scan": adobe_rgb, "modern": display_p3,
                "large": large, "plain": None, "lab": None}

    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "cutouts", model=SureOfUprightRed())
    assert summary.processed == 8 and not summary.failed
    for stem, profile in expected.items():
        output = tmp_path / "cutouts" / f"{stem}.png"
        assert embedded_profile(output) == profile, stem
        # The photo's own values, as the Python API (which writes no file) gives them.
        photo_file = next((tmp_path / "in").glob(f"{stem}.*"))
        np.testing.assert_array_equal(read_output(output), predict.remove_background(photo_file, model=SureOfUprightRed()))

    predict.remove_background_files(tmp_path / "in", tmp_path / "white", model=SureOfUprightRed(), background="white",
                                    jpeg=True)
    predict.remove_background_files(tmp_path / "in", tmp_path / "masks", model=SureOfUprightRed(), mask_only=True)
    for stem, profile in expected.items():
        assert embedded_profile(tmp_path / "white" / f"{stem}.jpg") == profile, stem
        assert embedded_profile(tmp_path / "masks" / f"{stem}.png") is None  # a mask is no colours


def test_a_background_is_converted_into_the_colour_profile_of_the_photo_it_goes_behind(tmp_path, caplog):
    from PIL import ImageCms

    display_p3 = display_p3_like_profile()

    def srgb_to_p3(colour):  # LittleCMS's own conversion, relative colorimetric
        transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(display_p3)),
                                            "RGB", "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
        return tuple(np.asarray(ImageCms.applyTransform(Image.fromarray(np.array([[colour]], np.uint8)), transform))[0, 0])

    person = np.zeros((60, 40, 3), np.uint8)
    person[10:60, 12:28] = (255, 0, 0)  # a person to SureOfUprightRed; nobody at the top left corner
    save(tmp_path / "in" / "phone.jpg", person, icc_profile=display_p3, quality=95)
    save(tmp_path / "in" / "plain.png", person)
    green = np.zeros((30, 20, 3), np.uint8)
    green[:] = (0, 255, 0)
    save(tmp_path / "backgrounds" / "green_p3.png", green, icc_profile=display_p3)
    save(tmp_path / "backgrounds" / "green.png", green)
    # sRGB's green is a paler green in Display P3's values; white stays white.
    assert srgb_to_p3((0, 255, 0)) == pytest.approx((116, 251, 77), abs=3) and srgb_to_p3((255,) * 3) == (255,) * 3

    def corner(folder, name):  # a pixel of background, far from the person
        return tuple(read_output(tmp_path / folder / name)[2, 2])

    for background in ("#00ff00", "0,255,0", str(tmp_path / "backgrounds" / "green.png")):
        predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed(), background=background,
                                        overwrite=True)
        assert corner("out", "phone.png") == srgb_to_p3((0, 255, 0)), background
        assert corner("out", "plain.png") == (0, 255, 0), background  # no profile: sRGB, as the colour
    for background in ("white", "black"):
        predict.remove_background_files(tmp_path / "in", tmp_path / background, model=SureOfUprightRed(),
                                        background=background)
        assert corner(background, "phone.png") == predict.NAMED_COLORS[background]
    # A background photo in Display P3 behind a photo in Display P3: its values as they are; behind an sRGB
    # photo, brought into sRGB (P3's own green lies outside sRGB: the nearest sRGB green).
    predict.remove_background_files(tmp_path / "in", tmp_path / "p3", model=SureOfUprightRed(),
                                    background=str(tmp_path / "backgrounds" / "green_p3.png"))
    assert corner("p3", "phone.png") == (0, 255, 0)
    assert corner("p3", "plain.png") == pytest.approx((0, 255, 0), abs=3)
    # The Python API converts into the profile of the photo it is given by path or as a PIL image.
    for given in (tmp_path / "in" / "phone.jpg", Image.open(tmp_path / "in" / "phone.jpg")):
        composite = predict.remove_background(given, model=SureOfUprightRed(), background=(0, 255, 0))
        assert tuple(composite[2, 2]) == srgb_to_p3((0, 255, 0))
    assert tuple(predict.remove_background(person, model=SureOfUprightRed(), background=(0, 255, 0))[2, 2]) == (0, 255, 0)
    # A profile LittleCMS cannot read (its tags cut off) costs the conversion, with a warning, not the composite.
    save(tmp_path / "spoilt" / "phone.jpg", person, icc_profile=display_p3[:200], quality=95)
    summary = predict.remove_background_files(tmp_path / "spoilt", tmp_path / "spoilt_out", model=SureOfUprightRed(),
                                              background="#00ff00")
    assert summary.processed == 1 and corner("spoilt_out", "phone.png") == (0, 255, 0)
    assert "background colours left as they are: a colour profile cannot be read" in caplog.text


def test_an_iphones_heic_photo_is_cut_out_upright_with_its_colour_profile(tmp_path, rng):
    import pillow_heif

    display_p3 = rgb_profile(1)  # a stand-in
    stored = photo(rng, 40, 60)  # a portrait photo, stored on its side as a phone stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    heif = pillow_heif.from_pillow(Image.fromarray(stored))
    heif.info["icc_profile"] = display_p3
    (tmp_path / "in").mkdir()
    heif.save(tmp_path / "in" / "IMG_0001.HEIC", quality=-1, chroma=444, exif=exif.tobytes())
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed())
    assert summary.processed == 1 and not summary.failed
    cutout = read_output(tmp_path / "out" / "IMG_0001.png")
    assert cutout.shape == (60, 40, 4)  # upright: as tall as the photo is shown
    person = cutout[..., 3] > 0
    assert person.any() and np.abs(cutout[..., :3][person].astype(int) - np.rot90(stored, -1)[person]).max() <= 2
    np.testing.assert_array_equal(cutout, predict.remove_background(tmp_path / "in" / "IMG_0001.HEIC",
                                                                    model=SureOfUprightRed()))
    assert embedded_profile(tmp_path / "out" / "IMG_0001.png") == display_p3


def test_a_colour_profile_that_cannot_be_read_costs_the_profile_not_the_photo(tmp_path, rng):
    rgb = photo(rng)
    profile = rgb_profile()
    # A JPEG whose profile says it comes in two chunks, and holds one.
    content = bytearray(save(tmp_path / "in" / "cut_short.jpg", rgb, icc_profile=profile).read_bytes())
    content[content.index(metadata.JPEG_ICC_MARKER) + 13] = 2
    (tmp_path / "in" / "cut_short.jpg").write_bytes(bytes(content))
    # A PNG whose profile chunk holds something else than a profile.
    save(tmp_path / "in" / "not_a_profile.png", rgb, icc_profile=b"not a profile" * 20)
    for name in ("cut_short.jpg", "not_a_profile.png"):
        assert metadata.colour_profile(tmp_path / "in" / name) is None, name

    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed())
    assert summary.processed == 2 and not summary.failed
    assert embedded_profile(tmp_path / "out" / "cut_short.png") is None


def camera_exif(orientation, order=">", size=(60, 40)):
    """EXIF metadata as a camera writes it, made by hand since Pillow writes
    no thumbnail: the camera's make, an orientation, the directory of its
    settings with the photo's pixel size (width, height) as stored (shorts
    big-endian, longs little-endian, as cameras write either), and a second
    directory, the thumbnail's."""
    endian = b"MM\0*" if order == ">" else b"II*\0"
    first = struct.pack(order + "H", 3) + struct.pack(order + "HHII", 0x010F, 2, 6, 50) \
        + struct.pack(order + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(order + "HHII", 0x8769, 4, 1, 58) \
        + struct.pack(order + "I", 88)
    side = "HHIHH" if order == ">" else "HHII"
    settings = struct.pack(order + "H", 2) + b"".join(
        struct.pack(order + side, tag, 3 if order == ">" else 4, 1, length, *[0] * (order == ">"))
        for tag, length in zip((0xA002, 0xA003), size)) + struct.pack(order + "I", 0)
    thumbnail = struct.pack(order + "H", 1) + struct.pack(order + "HHIHH", 0x0103, 3, 1, 6, 0) + struct.pack(order + "I", 0)
    return endian + struct.pack(order + "I", 8) + first + b"Canon\0\0\0" + settings + thumbnail


def exif_of(content):
    """The EXIF tags of an encoded image: its first directory's (but the
    pointer to the next), its settings' directory's, its thumbnail's."""
    from PIL import ExifTags

    with Image.open(io.BytesIO(content)) as image:
        exif = image.getexif()
        return ({tag: value for tag, value in exif.items() if tag != ExifTags.IFD.Exif},
                dict(exif.get_ifd(ExifTags.IFD.Exif)), dict(exif.get_ifd(ExifTags.IFD.IFD1)))


def raw_profile_chunk(kind, profile):
    """PNG text (a zTXt chunk, for Pillow to write) holding a profile as
    ImageMagick writes one into a PNG: "Raw profile type exif", its kind,
    its length, then its bytes in hex, 36 a line."""
    from PIL import PngImagePlugin

    hex_digits = profile.hex()
    lines = "\n".join(hex_digits[at:at + 72] for at in range(0, len(hex_digits), 72))
    png_info = PngImagePlugin.PngInfo()
    png_info.add_text(f"Raw profile type {kind}", f"\n{kind}\n{len(profile):8d}\n{lines}\n", zip=True)
    return png_info


def test_keep_metadata_keeps_the_photos_exif_but_its_orientation_and_thumbnail(tmp_path, rng, tiny_model_path):
    import pillow_heif

    upright = np.zeros((60, 40, 3), np.uint8)
    upright[10:50, 15:25] = (255, 0, 0)  # a person to the stand-in model, 10 pixels wide and 40 tall
    stored = np.ascontiguousarray(np.rot90(upright))  # on its side, as a phone stores a portrait
    assert exif_of(save(tmp_path / "in" / "a.jpg", stored, exif=b"Exif\0\0" + camera_exif(6)).read_bytes()) == \
        ({0x010F: "Canon", 0x0112: 6}, {0xA002: 60, 0xA003: 40}, {0x0103: 6})
    model = SureOfUprightRed()
    plain = predict.remove_background_files(tmp_path / "in", tmp_path / "plain", model=model)
    assert plain.processed == 1 and exif_of((tmp_path / "plain" / "a.png").read_bytes()) == ({}, {}, {})
    for folder, options, size in (("png", {}, (40, 60)), ("webp", {"webp": True}, (40, 60)),
                                  ("jpeg", {"background": "white", "jpeg": True}, (40, 60)),
                                  ("masks", {"mask_only": True}, (40, 60)), ("canvas", {"canvas": (50, 30)}, (50, 30)),
                                  ("cropped", {"crop": True, "crop_margin": 0}, (10, 40))):
        predict.remove_background_files(tmp_path / "in", tmp_path / folder, model=model, keep_metadata=True, **options)
        written = next((tmp_path / folder).glob("a.*"))
        # Upright already, as its Orientation now says: a viewer (here OpenCV) turns it no more. The size it
        # records is the output's, upright, on its canvas or cropped, not the photo's as stored.
        height, width = cv2.imread(str(written), cv2.IMREAD_COLOR).shape[:2]
        assert exif_of(written.read_bytes()) == ({0x010F: "Canon", 0x0112: 1}, {0xA002: width, 0xA003: height}, {}), \
            folder
        assert (width, height) == size, folder
    np.testing.assert_array_equal(read_output(tmp_path / "png" / "a.png"), read_output(tmp_path / "plain" / "a.png"))

    # From PNG and HEIC photos too, in either byte order; none from a TIFF without any (the tags that say how
    # its file holds the pixels are not the photo's: see the next test), nor where it cannot be read.
    upright = photo(rng, 60, 40)
    save(tmp_path / "more" / "b.png", upright, exif=camera_exif(1, "<"))
    pillow_heif.from_pillow(Image.fromarray(upright)).save(tmp_path / "more" / "c.heic", quality=-1,
                                                           exif=camera_exif(1))
    save(tmp_path / "more" / "d.tif", upright)
    save(tmp_path / "more" / "e.jpg", upright, exif=b"Exif\0\0" + camera_exif(1)[:30])  # cut short
    save(tmp_path / "more" / "f.avif", upright, exif=b"Exif\0\0" + camera_exif(1))
    save(tmp_path / "more" / "g.webp", upright, exif=camera_exif(6, "<"), lossless=True)
    save(tmp_path / "more" / "h.png", upright, pnginfo=raw_profile_chunk("exif", b"Exif\0\0" + camera_exif(1)))
    with Image.open(tmp_path / "more" / "h.png") as written:  # ImageMagick's way, which Pillow reads too
        assert written.getexif()[0x010F] == "Canon"
    summary = predict.remove_background_files(tmp_path / "more", tmp_path / "more_out", model=model,
                                              keep_metadata=True)
    assert summary.processed == 7 and not summary.failed
    assert [exif_of((tmp_path / "more_out" / f"{name}.png").read_bytes())[0] for name in "bcdegh"] == \
        [{0x010F: "Canon", 0x0112: 1}] * 2 + [{}] * 2 + [{0x010F: "Canon", 0x0112: 1}] * 2
    assert exif_of((tmp_path / "more_out" / "f.png").read_bytes())[0][0x010F] == "Canon"  # (its turn is the file's own)
    assert predict.main([str(tmp_path / "more" / "b.png"), str(tmp_path / "cli.png"), "--keep-metadata",
                         "--model", str(tiny_model_path), "--quiet"]) == 0
    assert exif_of((tmp_path / "cli.png").read_bytes())[:2] == ({0x010F: "Canon", 0x0112: 1}, {0xA002: 40, 0xA003: 60})


# Pillow's warning of the garbled TIFF below, which predict.py silences, but pytest's own filters come first.
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_keep_metadata_keeps_a_tiffs_exif_tags_of_the_photo_not_those_of_its_file(tmp_path):
    from PIL import ExifTags

    upright = np.zeros((60, 40, 3), np.uint8)
    upright[10:50, 15:25] = (255, 0, 0)
    exif = Image.Exif()  # as a camera or Lightroom's TIFF export writes it, the photo stored on its side
    exif.update({ExifTags.Base.Make: "Canon", ExifTags.Base.Artist: "Ann", ExifTags.Base.Orientation: 6})
    exif.get_ifd(ExifTags.IFD.Exif).update({ExifTags.Base.DateTimeOriginal: "2026:06:01 10:00:00",
                                            ExifTags.Base.ExifImageWidth: 60, ExifTags.Base.ExifImageHeight: 40})
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "N",
                                               ExifTags.GPS.GPSLatitude: (51.0, 30.0, 0.0)})
    exif[ExifTags.IFD.Exif] = exif[ExifTags.IFD.GPSInfo] = 0  # (Pillow writes the directories above there)
    save(tmp_path / "in" / "a.tif", np.ascontiguousarray(np.rot90(upright)), exif=exif)
    garbled = bytearray(save(tmp_path / "garbled" / "b.tif", upright, exif=exif).read_bytes())
    number, entries, _ = metadata.tiff_directory(bytes(garbled))
    pointer = next(entry for entry in entries if number(entry, 2) == ExifTags.IFD.Exif)
    garbled[pointer + 8:pointer + 12] = struct.pack("<I", len(garbled) + 1000)  # the settings' beyond the file
    (tmp_path / "garbled" / "b.tif").write_bytes(garbled)
    for folder in ("in", "garbled"):
        predict.remove_background_files(tmp_path / folder, tmp_path / "out", model=SureOfUprightRed(),
                                        keep_metadata=True)

    with Image.open(tmp_path / "out" / "a.png") as cutout:
        assert cutout.size == (40, 60)
        kept = cutout.getexif()
        assert {tag: kept[tag] for tag in kept if tag not in set(ExifTags.IFD)} == {  # not its size, strips, compression
            ExifTags.Base.Make: "Canon", ExifTags.Base.Artist: "Ann", ExifTags.Base.Orientation: 1}
        assert dict(kept.get_ifd(ExifTags.IFD.Exif)) == {ExifTags.Base.DateTimeOriginal: "2026:06:01 10:00:00",
                                                          ExifTags.Base.ExifImageWidth: 40,
                                                          ExifTags.Base.ExifImageHeight: 60}
        assert dict(kept.get_ifd(ExifTags.IFD.GPSInfo)) == {ExifTags.GPS.GPSLatitudeRef: "N",
                                                            ExifTags.GPS.GPSLatitude: (51.0, 30.0, 0.0)}
    with Image.open(tmp_path / "out" / "b.png") as cutout:  # what can be read of it
        kept = cutout.getexif()
        assert kept[ExifTags.Base.Make] == "Canon" and kept.get_ifd(ExifTags.IFD.GPSInfo)
        assert not kept.get_ifd(ExifTags.IFD.Exif)


def upright_red_person():
    """A 60x40 photo of a red figure standing on green, and where the figure is."""
    upright = np.zeros((60, 40, 3), np.uint8)
    upright[:] = (40, 160, 60)
    upright[10:50, 12:28] = (220, 30, 30)
    return upright, (slice(10, 50), slice(12, 28))


@pytest.mark.parametrize("bayer", [True, False], ids=["bayer_mosaic", "linear_rgb"])
def test_a_camera_raw_photo_is_developed_whole_turned_as_the_camera_recorded_with_its_metadata_kept(tmp_path,
                                                                                                      bayer):
    from PIL import ExifTags

    upright, figure = upright_red_person()
    # Stored on its side, as a camera held upright stores it, with Orientation 6 to turn it when shown.
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "IMG_0001.DNG").write_bytes(camera_dng(np.rot90(upright), orientation=6, bayer=bayer,
                                                              xmp=edited_xmp(), profile=display_p3_like_profile()))
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed(),
                                              keep_metadata=True)
    assert (summary.processed, summary.failed) == (1, [])
    cutout = read_output(tmp_path / "out" / "IMG_0001.png")
    assert cutout.shape == (60, 40, 4)  # the sensor's image turned, not the 16-pixel preview OpenCV would read
    inside = cutout[figure][2:-2, 2:-2]  # its edge blurred by the mosaic, and by the mask's upsampling
    assert inside[..., 3].min() == round(0.99 * 255) and cutout[:5, :, 3].max() == cutout[-5:, :, 3].max() == 0
    assert inside[..., 0].min() > 200 and inside[..., 1:3].max() < 60  # red, as shot (brightened: LibRaw's default)
    with Image.open(tmp_path / "out" / "IMG_0001.png") as kept:
        exif = kept.getexif()
        assert exif[ExifTags.Base.Make] == "Test Cameras" and exif[ExifTags.Base.Orientation] == 1
        assert "icc_profile" not in kept.info  # sRGB, as developed, whatever the profile of its preview
    attributes, _ = xmp_properties(tmp_path / "out" / "IMG_0001.png")
    assert attributes["{http://ns.adobe.com/xap/1.0/}Rating"] == "4"
    assert "{http://ns.adobe.com/tiff/1.0/}Orientation" not in attributes


def test_a_camera_raw_file_beside_its_cameras_jpeg_is_passed_over_unless_named(tmp_path, rng, caplog):
    upright, _ = upright_red_person()
    folder = tmp_path / "in"
    save(folder / "IMG_0001.JPG", photo(rng, 80, 60))  # RAW+JPEG: the camera's own JPEG of the shot
    (folder / "IMG_0001.CR2").write_bytes(camera_dng(upright))
    (folder / "IMG_0002.NEF").write_bytes(camera_dng(upright))  # RAW only
    (folder / "IMG_0003.ARW").write_bytes(camera_dng(upright)[:300])  # cut short
    with caplog.at_level(logging.INFO, logger="predict"):
        summary = predict.remove_background_files(folder, tmp_path / "out", model=SureOfUprightRed())
    assert pngs_in(tmp_path / "out") == ["IMG_0001.png", "IMG_0002.png"]
    assert read_output(tmp_path / "out" / "IMG_0001.png").shape == (80, 60, 4)  # from the JPEG
    assert summary.failed == [(folder / "IMG_0003.ARW", f"{folder / 'IMG_0003.ARW'}: not a readable image (corrupt, "
                                                        f"truncated or unsupported format)")]
    assert (f"camera RAW files passed over, the photo of the same shot beside each (the camera's JPEG) cut out "
            f"instead; name them to cut them out: 1 ({folder / 'IMG_0001.CR2'})") in caplog.text
    predict.remove_background_files(folder / "IMG_0001.CR2", tmp_path / "raw", model=SureOfUprightRed())
    assert read_output(tmp_path / "raw" / "IMG_0001.png").shape == (60, 40, 4)


def test_a_camera_raw_photo_piped_in_is_developed_not_read_as_the_tiff_it_looks_like(tmp_path, monkeypatch):
    upright, _ = upright_red_person()
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(camera_dng(upright))))
    piped = predict.photo_piped_in(tmp_path)
    assert piped.suffix in image_files.RAW_EXTENSIONS
    assert data.read_image(piped).shape == (60, 40, 3)
    assert image_files.format_suffix(piped.read_bytes()) == ".tif"  # what its first bytes alone say


def edited_xmp():
    """An XMP packet as Lightroom and a DJI drone write it: a rating, keywords
    and a gimbal angle, which outputs keep; the orientation and pixel size,
    the file's encoding (a 16-bit TIFF's, as an editor saves one), and
    Lightroom's edits (a crop among them), which no longer hold for them."""
    return """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" xmlns:xmpNote="http://ns.adobe.com/xmp/note/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmpMM:DocumentID="xmp.did:8f2c" xmpMM:InstanceID="xmp.iid:8f2c"
    xmpMM:OriginalDocumentID="8F2C" xmpNote:HasExtendedXMP="2FD4B2A3D9BF25F7E2B2C7A23E2EFF54" xmp:Rating="4" tiff:Orientation="6" exif:PixelXDimension="60" crs:HasCrop="True" crs:CropTop="0.1"
    drone-dji:GimbalYawDegree="-12.5">
   <dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>family</rdf:li></rdf:Bag></dc:subject>
   <crs:ToneCurvePV2012><rdf:Seq><rdf:li>0, 0</rdf:li></rdf:Seq></crs:ToneCurvePV2012>
   <tiff:ImageLength>40</tiff:ImageLength>
   <tiff:BitsPerSample><rdf:Seq><rdf:li>16</rdf:li><rdf:li>16</rdf:li><rdf:li>16</rdf:li></rdf:Seq></tiff:BitsPerSample>
   <tiff:SamplesPerPixel>3</tiff:SamplesPerPixel>
   <tiff:PhotometricInterpretation>2</tiff:PhotometricInterpretation>
   <tiff:Compression>8</tiff:Compression>
   <tiff:PlanarConfiguration>1</tiff:PlanarConfiguration>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def xmp_properties(path):
    """The properties of the XMP packet of the image at `path`, as Pillow
    finds it: the attributes of its description, and the items of the
    elements inside it; None where it has none."""
    import xml.etree.ElementTree as ET

    with Image.open(path) as image:
        xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if xmp is None:
        return None
    description = ET.fromstring(xmp).find(".//" + metadata.RDF_DESCRIPTION)
    rdf_item = metadata.RDF_DESCRIPTION.replace("Description", "li")
    return dict(description.attrib), {element.tag: [item.text for item in element.iter(rdf_item)] or [element.text]
                                      for element in description}


def test_keep_metadata_keeps_the_photos_xmp_but_its_edits_orientation_and_size(tmp_path, rng):
    import pillow_heif
    from PIL import PngImagePlugin

    upright = photo(rng, 60, 40)
    xmp = edited_xmp()
    save(tmp_path / "in" / "a.jpg", upright, xmp=xmp)
    png_info = PngImagePlugin.PngInfo()
    png_info.add_itxt("XML:com.adobe.xmp", xmp.decode(), zip=True)  # compressed, as some tools write it
    save(tmp_path / "in" / "b.png", upright, pnginfo=png_info)
    save(tmp_path / "in" / "c.webp", upright, xmp=xmp + bytes(8), lossless=True)  # padded, as some cameras do
    pillow_heif.from_pillow(Image.fromarray(upright)).save(tmp_path / "in" / "d.heic", quality=-1, xmp=xmp)
    save(tmp_path / "in" / "e.avif", upright, xmp=xmp)
    save(tmp_path / "in" / "f.jpg", upright, xmp=xmp.replace(b"</x:xmpmeta>", b""))  # not XML: left out
    png_info = PngImagePlugin.PngInfo()
    png_info.add_itxt("XML:com.adobe.xmp", xmp.decode())  # uncompressed, as most tools write it
    save(tmp_path / "in" / "g.png", upright, pnginfo=png_info)
    save(tmp_path / "in" / "h.tif", upright, tiffinfo={700: xmp})  # (a TIFF's EXIF is not kept, its XMP is)
    kept = ({"{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about": "", "{http://ns.adobe.com/xap/1.0/}Rating": "4",
             "{http://ns.adobe.com/xap/1.0/mm/}OriginalDocumentID": "8F2C",
             "{http://www.dji.com/drone-dji/1.0/}GimbalYawDegree": "-12.5"},
            {"{http://purl.org/dc/elements/1.1/}subject": ["beach", "family"]})
    model = SureOfUprightRed()
    for folder, options in (("png", {}), ("webp", {"webp": True}), ("jpeg", {"background": "white", "jpeg": True})):
        summary = predict.remove_background_files(tmp_path / "in", tmp_path / folder, model=model,
                                                  keep_metadata=True, **options)
        assert summary.processed == 8 and not summary.failed, folder
        outputs = sorted((tmp_path / folder).glob("[a-h].*"))
        assert [xmp_properties(output) for output in outputs] == [kept] * 5 + [None, kept, kept], folder
    # Written under the photo's own prefixes, in a packet that tools which look for its text find.
    written = (tmp_path / "png" / "a.png").read_bytes()
    assert b'xmp:Rating="4"' in written and b'drone-dji:GimbalYawDegree="-12.5"' in written
    assert b"<?xpacket begin=" in written and b'<?xpacket end="w"?>' in written
    predict.remove_background_files(tmp_path / "in", tmp_path / "plain", model=model)
    assert [xmp_properties(output) for output in sorted((tmp_path / "plain").glob("*.png"))] == [None] * 8


def iim_block(*datasets):
    """An IPTC-IIM block of (record, dataset, value) datasets, padded with
    zeros as Photoshop pads it."""
    return b"".join(bytes([0x1C, record, number]) + struct.pack(">H", len(value)) + value
                    for record, number, value in datasets) + bytes(3)


def photoshop_resources(iim):
    """Photoshop's image resources holding the IPTC-IIM block `iim`, after
    one of their own (a resolution), each with its name, size and padding."""
    resolution = b"8BIM" + struct.pack(">H", 0x03ED) + b"\0\0" + struct.pack(">I", 16) + bytes(16)
    return resolution + b"8BIM" + struct.pack(">H", 0x0404) + b"\x01a" + struct.pack(">I", len(iim)) + iim \
        + bytes(len(iim) % 2)


def jpeg_with_iim(path, rgb, iim, **pil_options):
    """A JPEG photo with the IPTC-IIM block `iim` as Photoshop writes it: a
    resource of its APP13 segment."""
    body = b"Photoshop 3.0\0" + photoshop_resources(iim)
    encoded = io.BytesIO()
    Image.fromarray(rgb).save(encoded, "JPEG", **pil_options)
    content = encoded.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content[:2] + b"\xff\xed" + struct.pack(">H", len(body) + 2) + body + content[2:])
    return path


def test_keep_metadata_writes_the_photos_iptc_iim_caption_keywords_and_copyright_into_its_xmp(tmp_path, rng):
    from PIL import IptcImagePlugin

    upright = photo(rng, 60, 40)
    news = iim_block((1, 90, b"\x1b%G"), (2, 0, b"\0\x04"), (2, 5, b"Beach day"),
                     (2, 120, "Zoë at the café".encode()), (2, 25, b"beach"), (2, 25, b"family"),
                     (2, 80, b"Ann Lee"), (2, 116, b"(c) 2024 Ann Lee"), (2, 55, b"20240501"),
                     (2, 60, b"143005+0200"), (2, 90, b"Nice"), (2, 100, b"FRA"))
    jpeg_with_iim(tmp_path / "in" / "a.jpg", upright, news)
    with Image.open(tmp_path / "in" / "a.jpg") as written:  # the block as Pillow reads it: a sound APP13
        assert IptcImagePlugin.getiptcinfo(written)[(2, 25)] == [b"beach", b"family"]
    # With XMP beside it, as Photoshop writes both: what the XMP holds is kept from it (its keywords).
    jpeg_with_iim(tmp_path / "in" / "b.jpg", upright, iim_block((2, 25, b"old"), (2, 120, b"From IIM")),
                  xmp=edited_xmp())
    # A TIFF's block (tag 33723), without a character set and not UTF-8: Windows' Western code page, as
    # older software wrote; and as LONGs, as Photoshop writes it, whose count is of 4-byte values.
    old = iim_block((2, 120, "Zoë".encode("cp1252")), (2, 55, b"20240500"))
    assert len(old) % 4 == 0
    tiff = save(tmp_path / "in" / "c.tif", upright, tiffinfo={33723: old}).read_bytes()  # as UNDEFINED bytes
    entry = tiff.index(struct.pack("<HHI", 33723, 7, len(old)))
    (tmp_path / "in" / "d.tif").write_bytes(tiff[:entry] + struct.pack("<HHI", 33723, 4, len(old) // 4)
                                            + tiff[entry + 8:])
    jpeg_with_iim(tmp_path / "in" / "e.jpg", upright, news[:40])  # cut short in its caption: what is whole is kept
    jpeg_with_iim(tmp_path / "in" / "f.jpg", upright, iim_block((2, 0, b"\0\x04"), (2, 10, b"5")))  # nothing to keep
    # A PNG's, as ImageMagick and ExifTool write it: a raw profile of the block, or of Photoshop's resources
    # (a control character, which XML cannot hold, left out).
    control_character = iim_block((2, 120, b"From a\x07 PNG "))
    save(tmp_path / "in" / "g.png", upright, pnginfo=raw_profile_chunk("iptc", control_character))
    resources = photoshop_resources(iim_block((2, 25, b"resource")))
    save(tmp_path / "in" / "h.png", upright, pnginfo=raw_profile_chunk("8bim", resources))

    dc, photoshop = "{http://purl.org/dc/elements/1.1/}", "{http://ns.adobe.com/photoshop/1.0/}"
    about = {"{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about": ""}
    expected = [
        (about, {dc + "title": ["Beach day"], dc + "description": ["Zoë at the café"],
                 dc + "subject": ["beach", "family"], dc + "creator": ["Ann Lee"],
                 dc + "rights": ["(c) 2024 Ann Lee"], photoshop + "City": ["Nice"],
                 "{http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/}CountryCode": ["FRA"],
                 photoshop + "DateCreated": ["2024-05-01T14:30:05+02:00"]}),
        ({**about, "{http://ns.adobe.com/xap/1.0/}Rating": "4", "{http://ns.adobe.com/xap/1.0/mm/}OriginalDocumentID":
          "8F2C", "{http://www.dji.com/drone-dji/1.0/}GimbalYawDegree": "-12.5"},
         {dc + "subject": ["beach", "family"], dc + "description": ["From IIM"]}),
        (about, {dc + "description": ["Zoë"], photoshop + "DateCreated": ["2024-05"]}),
        (about, {dc + "description": ["Zoë"], photoshop + "DateCreated": ["2024-05"]}),
        (about, {dc + "title": ["Beach day"]}),
        None,
        (about, {dc + "description": ["From a PNG"]}),
        (about, {dc + "subject": ["resource"]}),
    ]
    model = SureOfUprightRed()
    for folder, options in (("png", {}), ("webp", {"webp": True}), ("jpeg", {"background": "white", "jpeg": True})):
        summary = predict.remove_background_files(tmp_path / "in", tmp_path / folder, model=model,
                                                  keep_metadata=True, **options)
        assert summary.processed == 8 and not summary.failed, folder
        assert [xmp_properties(output) for output in sorted((tmp_path / folder).glob("[a-h].*"))] == expected, folder
    written = (tmp_path / "png" / "a.png").read_bytes()  # under the prefixes the standard gives them
    assert b"<dc:title>" in written and b"<photoshop:City>Nice</photoshop:City>" in written
    # Beside XMP that is not XML (left out of outputs), the block goes into a packet of its own.
    jpeg_with_iim(tmp_path / "broken" / "a.jpg", upright, iim_block((2, 5, b"Kept")),
                  xmp=edited_xmp().replace(b"</x:xmpmeta>", b""))
    predict.remove_background_files(tmp_path / "broken", tmp_path / "broken_out", model=model, keep_metadata=True)
    assert xmp_properties(tmp_path / "broken_out" / "a.png") == (about, {dc + "title": ["Kept"]})
    predict.remove_background_files(tmp_path / "in", tmp_path / "plain", model=model)
    assert [xmp_properties(output) for output in sorted((tmp_path / "plain").glob("*.png"))] == [None] * 8


def test_keep_metadata_reads_the_iptc_iim_of_a_photo_its_software_wrote(tmp_path):
    import sklearn.datasets

    # scikit-learn's sample photo, its IPTC-IIM written by photo software, not by these tests: UTF-8, a
    # copyright notice, the date and time it was created, and when it was digitised (2:62, 2:63; not mapped).
    flower = Path(sklearn.datasets.__file__).parent / "images" / "flower.jpg"
    if not flower.is_file():
        pytest.skip("scikit-learn's flower.jpg is not installed")
    summary = predict.remove_background_files([flower], tmp_path, model=SureOfUprightRed(), keep_metadata=True)
    assert summary.processed == 1 and not summary.failed
    assert xmp_properties(tmp_path / "flower.png") == (
        {"{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about": ""},
        {"{http://purl.org/dc/elements/1.1/}rights": ["http://www.vultilion.de"],
         "{http://ns.adobe.com/photoshop/1.0/}DateCreated": ["2011-08-15T18:24:59"]})


def test_a_photos_profile_and_exif_come_from_one_read_and_either_garbled_costs_only_itself(tmp_path, monkeypatch):
    import builtins

    opened = []
    monkeypatch.setattr(metadata, "open", lambda *args: opened.append(args) or builtins.open(*args), raising=False)
    path = save(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8), icc_profile=rgb_profile(1), exif=camera_exif(1))
    assert metadata.photo_metadata(path, keep_metadata=True) == (rgb_profile(1), camera_exif(1), None)
    assert len(opened) == 1
    assert metadata.photo_metadata(path) == (rgb_profile(1), None, None) and len(opened) == 2
    assert metadata.photo_metadata(path, profile=False) == (None, None, None) and len(opened) == 2  # (a mask's)

    # A profile chunk whose compressed profile is garbled: the EXIF is still read, and the other way round.
    encoded = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    compressed = zlib.compress(rgb_profile(1))
    garbled_profile = metadata.with_metadata(encoded, rgb_profile(1), camera_exif(1)).replace(compressed, b"?" * 99)
    garbled_exif = metadata.with_metadata(encoded, rgb_profile(1), camera_exif(1)[:4] + b"\xff" * 4 + camera_exif(1)[8:])
    path.write_bytes(garbled_profile)
    assert metadata.photo_metadata(path, keep_metadata=True) == (None, camera_exif(1), None)
    path.write_bytes(garbled_exif)
    profile, exif, _ = metadata.photo_metadata(path, keep_metadata=True)
    assert profile == rgb_profile(1) and metadata.exif_for_output(exif, (8, 8)) is None
    assert metadata.photo_metadata(tmp_path / "missing.png", keep_metadata=True) == (None, None, None)


def test_exif_or_xmp_too_large_for_a_jpeg_segment_is_left_out_of_a_jpeg_output_with_a_warning(caplog):
    encoded = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    fits = camera_exif(1) + bytes(metadata.JPEG_SEGMENT - len(metadata.JPEG_EXIF_MARKER) - len(camera_exif(1)))
    assert exif_of(metadata.with_metadata(encoded, exif=fits))[0] == {0x010F: "Canon", 0x0112: 1}
    assert metadata.with_metadata(encoded, exif=fits + b"\0", path="out/a.jpg") == encoded
    assert ("out/a.jpg: its photo's EXIF metadata left out: 65528 bytes, more than a JPEG segment holds (a PNG or "
            "WebP output keeps it)") in caplog.text
    large_xmp = edited_xmp().replace(b"<?xpacket end", b" " * metadata.JPEG_SEGMENT + b"<?xpacket end")
    assert metadata.with_metadata(encoded, xmp=large_xmp, path="out/a.jpg") == encoded
    assert "out/a.jpg: its photo's XMP metadata left out" in caplog.text


def test_exif_rotated_jpeg_comes_out_upright(tmp_path, tiny_model):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:6, :6] = (255, 0, 0)  # red in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    save(tmp_path / "in" / "rotated.jpg", stored, exif=exif.tobytes(), quality=95)
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model)
    out = read_output(tmp_path / "out" / "rotated.png")
    assert out.shape == (40, 20, 4)  # upright: as tall as the stored photo is wide
    assert out[:6, -6:, 0].mean() > 200 and out[:6, -6:, 2].mean() < 50  # red is now top-right
    # The Python API alike, given the path or the photo as PIL opens it (as stored), turned or not.
    by_path = predict.remove_background(tmp_path / "in" / "rotated.jpg", model=tiny_model)
    np.testing.assert_array_equal(by_path, out)
    with Image.open(tmp_path / "in" / "rotated.jpg") as opened:
        assert opened.size == (40, 20)  # width, height: as stored
        np.testing.assert_array_equal(predict.remove_background(opened, model=tiny_model), by_path)
        upright = ImageOps.exif_transpose(opened)
        np.testing.assert_array_equal(predict.remove_background(upright, model=tiny_model), by_path)


def test_large_photo_is_processed_at_model_resolution_and_written_full_size(tmp_path, tiny_model):
    ramp = np.linspace(0, 255, 8000, dtype=np.float32).astype(np.uint8)
    large = np.dstack([np.tile(ramp, (6000, 1))] * 3)
    save(tmp_path / "in" / "large.jpg", large)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model)
    assert summary.processed == 1
    assert read_output(tmp_path / "out" / "large.png").shape == (6000, 8000, 4)


def make_bad_files(folder, rng):
    folder.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".jpg", photo(rng))
    (folder / "truncated.jpg").write_bytes(encoded.tobytes()[: len(encoded) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is text")
    (folder / "folder.jpg").mkdir()


def test_bad_files_are_reported_skipped_and_make_the_exit_status_non_zero(tmp_path, tiny_model_path, rng, capsys):
    save(tmp_path / "in" / "good.jpg", photo(rng))
    make_bad_files(tmp_path / "in", rng)
    status = predict.main([str(tmp_path / "in"), str(tmp_path / "out"), "--model", str(tiny_model_path)])
    assert status == 1
    errors = capsys.readouterr().err
    assert f"{tmp_path / 'in' / 'empty.jpg'}: empty file" in errors
    assert "1 processed, 0 skipped (output exists), 3 failed" in errors
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png", predict.SURENESS_FILE]
    # Standard error not a terminal (a log file): a line a failure, and no progress bar's updates between them.
    size = (tmp_path / "in" / "truncated.jpg").stat().st_size
    cut_short = f"a JPEG cut short after {size:,} bytes (a download or copy that did not finish?)"
    assert errors.splitlines()[:3] == [f"failed: {tmp_path / 'in' / name}: {why}" for name, why in (
        ("empty.jpg", "empty file"), ("notes.jpg", "not an image but text, beginning 'this is text'"),
        ("truncated.jpg", cut_short))]
    assert "img/s]" not in errors and "\r" not in errors


def test_where_no_progress_bar_is_drawn_a_line_now_and_then_says_how_far_the_run_has_got(tmp_path, rng, monkeypatch,
                                                                                        caplog):
    for name in ("a.jpg", "b.jpg"):
        save(tmp_path / "in" / name, photo(rng))
    monkeypatch.setattr(predict, "PROGRESS_LINE_EVERY", 0)  # every photo: 60 s apart in a run
    caplog.set_level(logging.INFO)
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed(), progress=True)
    said = [message for message in caplog.messages if "photos done" in message]
    assert [message.split(",")[0] for message in said] == ["1 of 2 photos done", "2 of 2 photos done"]
    assert all(re.fullmatch(r"\d of 2 photos done, \d+\.\d images/s", message) for message in said)
    caplog.clear()
    predict.remove_background_files(tmp_path / "in", tmp_path / "again", model=SureOfUprightRed())  # progress off
    assert not [message for message in caplog.messages if "photos done" in message]


def test_the_progress_bar_is_drawn_in_a_terminal(tmp_path, tiny_model_path, rng, monkeypatch):
    save(tmp_path / "in" / "good.jpg", photo(rng))
    (tmp_path / "in" / "notes.jpg").write_text("not an image")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert predict.main([str(tmp_path / "in"), str(tmp_path / "out"), "--model", str(tiny_model_path)]) == 1
    said = terminal.getvalue()
    assert "2/2 [" in said and "img/s]" in said and f"failed: {tmp_path / 'in' / 'notes.jpg'}: " in said


def test_refuses_to_write_over_input_photos(tmp_path, tiny_model_path, rng, capsys):
    original = save(tmp_path / "photos" / "a.png", photo(rng)).read_bytes()
    status = predict.main([str(tmp_path / "photos" / "a.png"), str(tmp_path / "photos"), "--model", str(tiny_model_path)])
    assert status == 2
    assert (f"refusing to write over input photos ({tmp_path / 'photos' / 'a.png'}): choose another output "
            f"folder") in capsys.readouterr().err
    status = predict.main([str(tmp_path / "photos" / "a.png"), str(tmp_path / "photos" / "a.png"), "--model",
                           str(tiny_model_path)])
    assert status == 2
    assert (f"refusing to write over input photos ({tmp_path / 'photos' / 'a.png'}): choose another output file "
            f"name") in capsys.readouterr().err
    assert (tmp_path / "photos" / "a.png").read_bytes() == original


def test_an_input_folder_as_the_output_folder_is_refused_before_any_photo_is_read(
        tmp_path, tiny_model_path, rng, capsys, monkeypatch):
    # Written there, a.jpg's cutout a.png would be read as a photo on the next run
    # (and cut out again, as a.png.png, beside a.jpg.png).
    save(tmp_path / "photos" / "a.jpg", photo(rng))
    monkeypatch.setattr(predict.data, "read_image", lambda path: pytest.fail("a photo was read"))
    for output in (tmp_path / "photos", tmp_path / "photos" / "sub" / ".."):
        status = predict.main([str(tmp_path / "photos"), str(output), "--model", str(tiny_model_path), "--recursive"])
        assert status == 2
        assert (f"output folder {tmp_path / 'photos'} is also an input folder: its cutouts would be read as photos "
                f"when run again; give another folder (one inside it will do, {tmp_path / 'photos' / 'cutouts'})"
                in capsys.readouterr().err)
    assert sorted(path.name for path in (tmp_path / "photos").iterdir()) == ["a.jpg"]
    # One photo named, or several, may still be written beside themselves.
    status = predict.main([str(tmp_path / "photos" / "a.jpg"), str(tmp_path / "photos"), "--model", str(tiny_model_path),
                          "--quiet"])
    assert status == 0 and (tmp_path / "photos" / "a.png").is_file()


def test_one_photo_may_be_written_to_the_png_file_named_with_no_list_beside_it(tmp_path, tiny_model_path, rng):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    predict.remove_background_files(tmp_path / "in" / "a.jpg", tmp_path / "folder", model=tiny_model_path)
    status = predict.main([str(tmp_path / "in" / "a.jpg"), str(tmp_path / "named" / "cutout.png"),
                           "--model", str(tiny_model_path), "--quiet"])
    assert status == 0
    assert sorted(path.name for path in (tmp_path / "named").iterdir()) == ["cutout.png"]
    np.testing.assert_array_equal(read_output(tmp_path / "named" / "cutout.png"), read_output(tmp_path / "folder" / "a.png"))
    # Named or not, an existing output is kept unless --overwrite.
    (tmp_path / "named" / "cutout.png").write_bytes(b"from an earlier run")
    summary = predict.remove_background_files(tmp_path / "in" / "a.jpg", tmp_path / "named" / "cutout.png",
                                              model=tiny_model_path)
    assert (summary.processed, summary.skipped) == (0, 1)
    assert (tmp_path / "named" / "cutout.png").read_bytes() == b"from an earlier run"


@pytest.mark.parametrize("output, says", [
    ("cutout.jpg", "outputs are PNG or WebP files (they keep the transparency); name it {tmp}/cutout.png, or give a "
                   "folder"),
    ("notes.txt", "output {tmp}/notes.txt is a file, not a folder"),
    ("notes.txt/cutouts", "cannot make the output folder {tmp}/notes.txt/cutouts: Not a directory"),
    ("in/b.jpg", "output {tmp}/in/b.jpg: outputs are PNG or WebP files (they keep the transparency); name it "
                 "{tmp}/in/b.png, or give a folder (a JPEG holds the person composed onto a --background); if b.jpg "
                 "is a photo to cut out, the output folder is missing: the last path is where the outputs go "
                 "(predict.py photos/*.jpg cutouts/)"),  # predict.py a.jpg b.jpg
])
def test_an_output_that_can_be_neither_file_nor_folder_is_refused_before_any_photo_is_read(
        tmp_path, tiny_model_path, rng, capsys, monkeypatch, output, says):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    save(tmp_path / "in" / "b.jpg", photo(rng))
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setattr(predict.data, "read_image", lambda path: pytest.fail("a photo was read"))
    status = predict.main([str(tmp_path / "in" / "a.jpg"), str(tmp_path / output), "--model", str(tiny_model_path)])
    assert status == 2
    assert says.format(tmp=tmp_path) in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in", "notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def forbid_writing_to(folder, monkeypatch):
    """Makes `folder` unwritable to predict.py while the returned dict's
    "forbidden" is true, as permissions or a drive mounted read-only do
    (root, who runs these tests on CI, may write anywhere)."""
    access, forbid = os.access, {"forbidden": True}
    monkeypatch.setattr(predict.os, "access", lambda path, mode: not (forbid["forbidden"] and Path(path) == folder)
                        and access(path, mode))
    return forbid


def test_an_output_folder_that_cannot_be_written_is_refused_before_any_photo_is_read(tmp_path, rng, monkeypatch,
                                                                                      tiny_model_path, capsys):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    (tmp_path / "out").mkdir()
    forbid_writing_to(tmp_path / "out", monkeypatch)
    monkeypatch.setattr(predict.data, "read_image", lambda path: pytest.fail("a photo was read"))
    assert predict.main([str(tmp_path / "in"), str(tmp_path / "out"), "--model", str(tiny_model_path)]) == 2
    assert (f"error: cannot write to the output folder {tmp_path / 'out'}: its permissions, or a drive mounted "
            f"read-only, forbid it") in capsys.readouterr().err


def test_a_file_name_as_the_output_of_a_folder_is_refused_and_a_missing_photo_named(tmp_path, tiny_model_path, rng, capsys,
                                                                                  monkeypatch):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    status = predict.main([str(tmp_path / "in"), str(tmp_path / "cutout.png"), "--model", str(tiny_model_path)])
    assert status == 2
    assert "names a file, but a folder of photos or several photos are given: give a folder for the outputs" \
        in capsys.readouterr().err
    assert not (tmp_path / "cutout.png").exists()
    status = predict.main([str(tmp_path / "in" / "typo.jpg"), str(tmp_path / "cutout.png"), "--model", str(tiny_model_path)])
    assert status == 2
    assert f"input {tmp_path / 'in' / 'typo.jpg'} does not exist\n" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # a folder mistyped in the working folder: no parent named, no .dvc beside it
    assert predict.main(["shoot", str(tmp_path / "out"), "--model", str(tiny_model_path)]) == 2
    assert "input shoot does not exist\n" in capsys.readouterr().err
    # A folder of photos DVC tracks, in a clone not pulled: its .dvc file stands in its place.
    (tmp_path / "shoot.dvc").write_text("outs:\n- md5: 0c1a3e5b7d9f.dir\n  path: shoot\n")
    assert predict.main([str(tmp_path / "shoot"), str(tmp_path / "out"), "--model", str(tiny_model_path)]) == 2
    assert (f"input {tmp_path / 'shoot'} does not exist (DVC tracks {tmp_path / 'shoot'}, and it was not pulled: "
            f"{tmp_path / 'shoot.dvc'} stands in its place; `dvc pull` fetches it)") in capsys.readouterr().err


def test_a_run_again_with_every_output_there_loads_no_model(tmp_path, tiny_model_path, rng):
    # Nor imports TensorFlow: the command run again after a finished run answers at once, not after seconds.
    save(tmp_path / "in" / "a.jpg", photo(rng))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"from an earlier run")
    code = "import sys, predict; code = predict.main(sys.argv[1:]); print('tensorflow' in sys.modules); sys.exit(code)"
    run = partial(subprocess.run, cwd=REPO_DIR, capture_output=True, text=True, timeout=120)
    result = run([sys.executable, "-c", code, str(tmp_path / "in"), str(tmp_path / "out"), "--model",
                  str(tiny_model_path)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["False"]
    assert result.stderr.splitlines() == ["0 processed, 1 skipped (output exists), 0 failed",
                                          "every output was there already: --overwrite makes them again"]
    # A mistyped model is said all the same, though there is nothing to run it on.
    result = run([sys.executable, "-c", code, str(tmp_path / "in"), str(tmp_path / "out"), "--model",
                  str(tmp_path / "modle.keras")])
    assert result.returncode == 2
    assert result.stderr == f"error: model file {tmp_path / 'modle.keras'} does not exist\n"


def test_a_photo_the_model_cannot_take_costs_that_photo_not_its_batch_nor_the_run(tmp_path, rng):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    save(tmp_path / "in" / "b.png", np.full((60, 40, 3), (0, 255, 0), np.uint8))
    save(tmp_path / "in" / "c.jpg", photo(rng))
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=FailsOnGreen(), batch_size=3)
    assert (summary.processed, summary.failed) == (2, [(tmp_path / "in" / "b.png", f"{tmp_path / 'in' / 'b.png'}: "
                                                        f"cannot segment it (ValueError: cannot take this one)")])
    assert sorted(path.name for path in (tmp_path / "out").glob("*.png")) == ["a.png", "c.png"]


def test_existing_outputs_are_skipped_unless_overwrite(tmp_path, tiny_model, rng):
    for name in ("a.jpg", "b.jpg"):
        save(tmp_path / "in" / name, photo(rng))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"from an earlier run")
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model)
    assert (summary.processed, summary.skipped) == (1, 1)
    assert (tmp_path / "out" / "a.png").read_bytes() == b"from an earlier run"
    assert "--overwrite" not in str(summary)  # one was made: the run did something
    again = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model, background="white")
    assert (again.processed, again.skipped) == (0, 2)
    assert "every output was there already: --overwrite makes them again" in str(again)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model, overwrite=True)
    assert (summary.processed, summary.skipped) == (2, 0)
    assert read_output(tmp_path / "out" / "a.png").shape[2] == 4
    # A folder where an output should go is no output: the photo fails, named, whether or not --overwrite.
    (tmp_path / "out" / "b.png").unlink()
    (tmp_path / "out" / "b.png").mkdir()
    for overwrite in (False, True):
        summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model,
                                                  overwrite=overwrite)
        assert (summary.processed, summary.skipped) == (int(overwrite), int(not overwrite))
        assert [photo for photo, _ in summary.failed] == [tmp_path / "in" / "b.jpg"]
        assert "cannot write output" in summary.failed[0][1] and "Is a directory" in summary.failed[0][1]


def test_photos_composed_onto_a_background_can_be_written_as_jpeg(tmp_path, tiny_model, rng, capsys):
    for name in ("a.jpg", "b.png"):
        save(tmp_path / "in" / name, photo(rng))
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "jpeg", model=tiny_model,
                                              background="white", jpeg=True)
    assert summary.processed == 2 and sorted(p.name for p in (tmp_path / "jpeg").iterdir()) == \
        ["a.jpg", "b.jpg", predict.SURENESS_FILE]
    assert sorted(row.output for row in predict.read_sureness(tmp_path / "jpeg" / predict.SURENESS_FILE)) == \
        ["a.jpg", "b.jpg"]
    predict.remove_background_files(tmp_path / "in", tmp_path / "png", model=tiny_model, background="white")
    for name in ("a", "b"):
        written = tmp_path / "jpeg" / f"{name}.jpg"
        assert written.read_bytes()[:2] == b"\xff\xd8"  # a JPEG, whatever the name
        as_png = read_output(tmp_path / "png" / f"{name}.png").astype(int)
        as_jpeg = read_output(written).astype(int)
        # The same composite, give or take JPEG's loss (a photo of noise, its worst case: 3.7 of 255 on average).
        assert as_jpeg.shape == as_png.shape == (60, 40, 3) and 0 < np.abs(as_jpeg - as_png).mean() < 6
    # One photo: a .jpg named will do where the person is composed, and only there.
    single = predict.remove_background_files(tmp_path / "in" / "a.jpg", tmp_path / "named.jpg", model=tiny_model,
                                             background="white")
    assert single.processed == 1 and (tmp_path / "named.jpg").read_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(predict.PredictError, match=r"name it .*named\.png, or give a folder \(a JPEG holds the person "
                                                   r"composed onto a --background\)"):
        predict.remove_background_files(tmp_path / "in" / "a.jpg", tmp_path / "named.jpg", model=tiny_model)
    with pytest.raises(predict.PredictError, match="JPEG outputs hold the person composed onto a --background"):
        predict.remove_background_files(tmp_path / "in", tmp_path / "cutouts", model=tiny_model, jpeg=True)
    with pytest.raises(predict.PredictError, match="refusing to write over input photos"):  # in/a.jpg -> in/a.jpg
        predict.remove_background_files([tmp_path / "in" / "a.jpg", tmp_path / "in" / "b.png"], tmp_path / "in",
                                        model=tiny_model, background="white", jpeg=True)
    with pytest.raises(SystemExit):
        predict.parse_args([str(tmp_path / "in"), str(tmp_path / "out"), "--jpeg"])
    assert "--jpeg needs a --background" in capsys.readouterr().err


def test_cutouts_and_composites_can_be_written_as_webp_with_exact_transparency_and_the_photos_profile(
        tmp_path, rng, capsys, tiny_model_path):
    def red_figure(height, width):  # upright, textured, on a blue gradient: a person to this model
        pixels = np.zeros((height, width, 3), np.uint8)
        pixels[..., 2] = np.linspace(60, 220, width, dtype=np.uint8)
        figure = pixels[height // 6:, width // 3:2 * width // 3]
        figure[:] = rng.integers((170, 20, 20), (250, 90, 90), figure.shape)
        return cv2.GaussianBlur(pixels, (3, 3), 0)

    display_p3 = rgb_profile(1)  # a stand-in
    save(tmp_path / "in" / "a.jpg", red_figure(120, 90), icc_profile=display_p3, quality=95)
    save(tmp_path / "in" / "b.png", red_figure(90, 120))
    model = SureOfUprightRed()
    predict.remove_background_files(tmp_path / "in", tmp_path / "png", model=model)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "webp", model=model, webp=True)
    assert summary.processed == 2 and sorted(p.name for p in (tmp_path / "webp").iterdir()) == \
        ["a.webp", "b.webp", predict.SURENESS_FILE]
    assert sorted(row.output for row in predict.read_sureness(tmp_path / "webp" / predict.SURENESS_FILE)) == \
        ["a.webp", "b.webp"]
    for name in ("a", "b"):
        written = tmp_path / "webp" / f"{name}.webp"
        content = written.read_bytes()
        assert content[:4] == b"RIFF" and content[8:12] == b"WEBP"
        as_png, as_webp = read_output(tmp_path / "png" / f"{name}.png"), read_output(written)
        assert as_webp.shape == as_png.shape and as_png.shape[2] == 4
        # The transparency exact, soft edge and all: masks read back from the cutouts are the same.
        assert 0 < np.count_nonzero((as_png[..., 3] > 0) & (as_png[..., 3] < 255))
        np.testing.assert_array_equal(as_webp[..., 3], as_png[..., 3])
        np.testing.assert_array_equal(image_files.read_soft_mask(written),
                                      image_files.read_soft_mask(tmp_path / "png" / f"{name}.png"))
        # The colours give or take WebP's loss where the person is: on this figure of noise, WebP's worst
        # case, 2.5 and 4.2 of 255 on average (red and blue swapped: about 100).
        inside = as_png[..., 3] >= 250  # (this model is 0.99 sure of its person)
        assert inside.sum() > 1000 and 0 < np.abs(as_webp[inside, :3].astype(int) - as_png[inside, :3]).mean() < 8
    assert embedded_profile(tmp_path / "webp" / "a.webp") == display_p3
    assert embedded_profile(tmp_path / "webp" / "b.webp") is None

    # Composites too, with no transparency to keep; and one photo to the .webp named, without the flag.
    predict.remove_background_files(tmp_path / "in", tmp_path / "white_png", model=model, background="white")
    predict.remove_background_files(tmp_path / "in", tmp_path / "white", model=model, background="white", webp=True)
    named = predict.remove_background_files(tmp_path / "in" / "a.jpg", tmp_path / "named.webp", model=model)
    assert named.processed == 1
    for written in (tmp_path / "white" / "a.webp", tmp_path / "named.webp"):
        assert embedded_profile(written) == display_p3
    composite = read_output(tmp_path / "white" / "a.webp").astype(int)
    assert composite.shape == (120, 90, 3)
    assert np.abs(composite - read_output(tmp_path / "white_png" / "a.png")).mean() < 5  # 1.4
    np.testing.assert_array_equal(read_output(tmp_path / "named.webp"), read_output(tmp_path / "webp" / "a.webp"))

    # Masks stay PNGs, and JPEG and WebP are one choice or the other.
    with pytest.raises(predict.PredictError, match="masks are written as PNG files"):
        predict.remove_background_files(tmp_path / "in", tmp_path / "masks", model=model, mask_only=True, webp=True)
    with pytest.raises(predict.PredictError, match=r"masks are PNG files; name it .*mask\.png, or give a folder$"):
        predict.remove_background_files(tmp_path / "in" / "a.jpg", tmp_path / "mask.webp", model=model, mask_only=True)
    with pytest.raises(predict.PredictError, match="JPEG and WebP outputs exclude each other"):
        predict.remove_background_files(tmp_path / "in", tmp_path / "both", model=model, background="white",
                                        jpeg=True, webp=True)
    assert not any((tmp_path / folder).exists() for folder in ("masks", "mask.webp", "both"))
    for flags, says in ((["--webp", "--mask-only"], "--webp and --mask-only exclude each other"),
                        (["--webp", "--jpeg", "--background", "white"], "not allowed with argument")):
        with pytest.raises(SystemExit):
            predict.parse_args([str(tmp_path / "in"), str(tmp_path / "out"), *flags])
        assert says in capsys.readouterr().err
    assert predict.main([str(tmp_path / "in" / "b.png"), str(tmp_path / "cli"), "--webp", "--model",
                         str(tiny_model_path), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == ["b.webp", predict.SURENESS_FILE]


def test_recursive_mirrors_relative_paths_and_same_stems_do_not_collide(tmp_path, tiny_model, rng):
    save(tmp_path / "in" / "top.jpg", photo(rng))
    save(tmp_path / "in" / "sub" / "deeper" / "x.jpg", photo(rng))
    save(tmp_path / "in" / "twin.jpg", photo(rng))
    save(tmp_path / "in" / "twin.png", photo(rng))
    # Twins too where file names ignore case (macOS, Windows), as a camera's and a screenshot's may be.
    save(tmp_path / "in" / "IMG_1.JPG", photo(rng))
    save(tmp_path / "in" / "img_1.png", photo(rng))
    flat = predict.remove_background_files(tmp_path / "in", tmp_path / "flat", model=tiny_model)
    assert flat.processed == 5
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model, recursive=True)
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["IMG_1.JPG.png", "img_1.png.png", "sub/deeper/x.png", "top.png", "twin.jpg.png", "twin.png.png"]


def test_photos_listed_in_a_file_given_as_at_file_are_read_as_if_typed(tmp_path, rng, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("shoot/a.jpg", "shoot/b.jpg", "shoot/c.jpg", "@odd.jpg"):
        save(tmp_path / name, photo(rng))
    # As Windows' Notepad saves it: a byte-order mark, CRLF; a path relative to the current folder, an absolute
    # one, a pattern, a blank line.
    listed = ["shoot/a.jpg", str(tmp_path / "shoot" / "b.jpg"), "", "shoot/c*"]
    (tmp_path / "picked.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(listed).encode())
    summary = predict.remove_background_files(["@picked.txt", "@odd.jpg"], "out", model=SureOfUprightRed())
    assert summary.processed == 4
    assert sorted(path.name for path in (tmp_path / "out").glob("*.png")) == ["@odd.png", "a.png", "b.png", "c.png"]
    (tmp_path / "stale.txt").write_text("shoot/a.jpg\nshoot/gone.jpg\n")
    for argument, says in (("@stale.txt", "input shoot/gone.jpg does not exist"),
                           ("@missing.txt", "missing.txt: cannot read the list of photos (No such file or directory)")):
        assert predict.main([argument, "out2"]) == 2
        assert f"error: {says}" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()


def test_several_inputs_on_the_command_line_and_photos_of_one_name_from_two_folders_are_refused(
        tmp_path, tiny_model_path, rng, capsys):
    for path in ("in/a.jpg", "in/b.jpg", "in/notes.txt", "more/c.png", "other/a.jpg"):
        save(tmp_path / path, photo(rng)) if path.endswith(("jpg", "png")) else (tmp_path / path).write_text("x")
    status = predict.main([str(tmp_path / "in" / "a.jpg"), str(tmp_path / "in" / "b.jpg"), str(tmp_path / "more"),
                           str(tmp_path / "out"), "--model", str(tiny_model_path), "--quiet"])
    assert status == 0
    assert sorted(path.name for path in (tmp_path / "out").glob("*.png")) == ["a.png", "b.png", "c.png"]
    status = predict.main([str(tmp_path / "in"), str(tmp_path / "other"), str(tmp_path / "clash"),
                           "--model", str(tiny_model_path), "--quiet"])
    assert status == 2
    assert (f"photos {tmp_path / 'in' / 'a.jpg'}, {tmp_path / 'other' / 'a.jpg'} would be written to one file, "
            f"{tmp_path / 'clash' / 'a.jpg.png'}: give them separate output folders") in capsys.readouterr().err
    assert not (tmp_path / "clash").exists()


def test_a_wildcard_pattern_given_as_typed_is_expanded_and_one_that_matches_nothing_named(tmp_path):
    for path in ("in/a.jpg", "in/b.jpg", "in/c.png", "in/deeper/d.jpg", "in/e [1].jpg"):
        save(tmp_path / path, red_photo(200))
    # As Windows' shells pass photos/*.jpg on: predict.py expands it (** at any depth).
    jobs = predict.plan_outputs(predict.expand_patterns([str(tmp_path / "in" / "*.jpg")]), tmp_path / "out")[0]
    assert [job[0].name for job in jobs] == ["a.jpg", "b.jpg", "e [1].jpg"]
    assert [path.name for path in predict.expand_patterns([tmp_path / "in" / "**" / "*.jpg"])] == [
        "a.jpg", "b.jpg", "d.jpg", "e [1].jpg"]
    literal = tmp_path / "in" / "e [1].jpg"  # a name that exists is taken as it is, brackets and all
    assert predict.expand_patterns([literal]) == [literal]
    with pytest.raises(predict.PredictError, match=r"input .*\*\.jpeg matches no file"):
        predict.plan_outputs(predict.expand_patterns([str(tmp_path / "in" / "*.jpeg")]), tmp_path / "nothing")
    summary = predict.remove_background_files([str(tmp_path / "in" / "?.png")], tmp_path / "out", model=MarksRed())
    assert summary.processed == 1 and (tmp_path / "out" / "c.png").is_file()


class SureAsGreen:
    """A stand-in model: person wherever the input is red, with the green
    channel's value (/255) as its probability."""
    input = type("Input", (), {"shape": (None, 64, 64, 3)})()

    def predict_on_batch(self, batch):
        return np.where(batch[..., 0] > 128, batch[..., 1] / 255, 0.0)[..., None].astype(np.float32)


def red_photo(green, red_columns=slice(None)):
    """An 80x60 portrait photo, red (with `green`) in `red_columns`, black elsewhere."""
    pixels = np.zeros((80, 60, 3), np.uint8)
    pixels[:, red_columns] = (255, green, 0)
    return pixels


def test_outputs_are_listed_least_sure_first_in_the_output_folder_and_a_resumed_run_keeps_the_list(tmp_path, caplog):
    folder, out = tmp_path / "in", tmp_path / "out"
    for name, pixels in {"sure": red_photo(250), "unsure": red_photo(230), "nobody": np.zeros((80, 60, 3), np.uint8),
                         "half": red_photo(200, slice(0, 30))}.items():
        save(folder / f"{name}.png", pixels)
    options = dict(model=SureAsGreen(), close_up=False, upright_only=True)
    summary = predict.remove_background_files(folder, out, **options)
    assert [judged.output for judged in summary.judged] == ["nobody.png", "half.png", "unsure.png", "sure.png"]
    sureness = {judged.output: judged.sureness for judged in summary.judged}
    assert sureness == pytest.approx({"nobody.png": 0.0, "half.png": 200 / 255, "unsure.png": 230 / 255,
                                      "sure.png": 250 / 255}, abs=0.005)
    share = {judged.output: judged.person_share for judged in summary.judged}
    assert share == pytest.approx({"nobody.png": 0.0, "half.png": 0.5, "unsure.png": 1.0, "sure.png": 1.0}, abs=0.02)
    assert summary.judged[1].photo == str(folder / "half.png")
    said = str(summary)
    assert "no person found in 1: nobody.png" in said
    assert "least sure, to check first (all in sureness.csv): half.png 0.784, unsure.png 0.902, sure.png 0.980" in said

    def recorded():
        with (out / predict.SURENESS_FILE).open(newline="") as file:
            return [(row["output"], float(row["sureness"])) for row in csv.DictReader(file)]

    assert recorded() == [(judged.output, pytest.approx(judged.sureness, abs=1e-4)) for judged in summary.judged]
    save(folder / "later.png", red_photo(240))  # added after the first run
    again = predict.remove_background_files(folder, out, **options)
    assert (again.processed, again.skipped, [judged.output for judged in again.judged]) == (1, 4, ["later.png"])
    assert [output for output, _ in recorded()] == ["nobody.png", "half.png", "unsure.png", "later.png", "sure.png"]

    (out / predict.SURENESS_FILE).unlink()
    (out / predict.SURENESS_FILE).mkdir()  # cannot be written: the cutouts are still made
    with caplog.at_level("ERROR", logger="predict"):
        last = predict.remove_background_files(folder, out, overwrite=True, **options)
    assert last.processed == 5 and not last.failed
    assert f"could not record the sureness of the outputs in {out.resolve() / predict.SURENESS_FILE}" in caplog.text
    assert not list(out.glob(".*partial"))  # no half-written list left behind
    assert "least sure, to check first: half.png 0.784," in str(last)  # not said to be in the list it is not in

    (out / predict.SURENESS_FILE).rmdir()
    (out / predict.SURENESS_FILE).write_text("name,score\nmine.png,3\n")  # someone else's file of that name
    caplog.clear()
    with caplog.at_level("ERROR", logger="predict"):
        predict.remove_background_files(folder, out, overwrite=True, **options)
    assert "not a list this tool wrote" in caplog.text
    assert (out / predict.SURENESS_FILE).read_text() == "name,score\nmine.png,3\n"  # left as it was
    edited = "output,photo,sureness,person_share\nhalf.png\n"  # a row cut short by hand: said, not a traceback
    (out / predict.SURENESS_FILE).write_text(edited)
    caplog.clear()
    with caplog.at_level("ERROR", logger="predict"):
        assert predict.remove_background_files(folder, out, overwrite=True, **options).processed == 5
    assert f"{predict.SURENESS_FILE}: line 2 is not a row this tool wrote: {{'output': 'half.png', 'photo': None," \
        in caplog.text
    assert (out / predict.SURENESS_FILE).read_text() == edited


def test_a_long_run_records_the_sureness_as_it_goes_and_an_interrupted_one_keeps_it(tmp_path, monkeypatch):
    folder, out = tmp_path / "in", tmp_path / "out"
    for index, green in enumerate((250, 230, 210, 190)):
        save(folder / f"{index}.png", red_photo(green))
    listed_at_each_call = []

    class InterruptedAtTheThirdBatch(SureAsGreen):
        def predict_on_batch(self, batch):
            path = out / predict.SURENESS_FILE
            listed_at_each_call.append([row.output for row in predict.read_sureness(path)] if path.exists() else [])
            if len(listed_at_each_call) == 3:
                raise KeyboardInterrupt
            return super().predict_on_batch(batch)

    def interrupted_run():
        listed_at_each_call.clear()
        # One photo a batch, each written before the next is read: outputs finish in order.
        with pytest.raises(KeyboardInterrupt):
            predict.remove_background_files(folder, out, model=InterruptedAtTheThirdBatch(), batch_size=1,
                                            pixel_budget=1, close_up=False, upright_only=True)
        assert sorted(path.name for path in out.glob("*.png")) == ["0.png", "1.png"]
        return [row.output for row in predict.read_sureness(out / predict.SURENESS_FILE)]

    monkeypatch.setattr(predict, "SURENESS_EVERY_SECONDS", 0)  # record after every output
    assert interrupted_run() == ["1.png", "0.png"]  # least sure first
    assert listed_at_each_call == [[], ["0.png"], ["1.png", "0.png"]]
    shutil.rmtree(out)
    monkeypatch.setattr(predict, "SURENESS_EVERY_SECONDS", 3600)  # recorded only as the run ends, interrupted
    assert interrupted_run() == ["1.png", "0.png"]
    assert listed_at_each_call == [[], [], []]


def test_masks_written_with_mask_only_pair_with_their_photos_as_training_masks(tmp_path):
    folder = tmp_path / "mine"
    save(folder / "images" / "all.png", red_photo(250))
    save(folder / "images" / "half.png", red_photo(200, slice(0, 30)))
    save(folder / "images" / "faint.png", red_photo(100))  # marked below half: not person
    predict.remove_background_files(folder / "images", folder / "masks", model=SureAsGreen(), mask_only=True,
                                    close_up=False, upright_only=True)
    pairs = data.find_pairs(folder / "images", folder / "masks")
    assert [image.stem for image, _ in pairs] == ["all", "faint", "half"]
    shares = {image.stem: data.read_pair((image, mask))[1].mean() for image, mask in pairs}
    assert shares == pytest.approx({"all": 1.0, "faint": 0.0, "half": 0.5}, abs=0.02)


def test_files_of_a_folder_that_are_not_photos_are_reported_and_hidden_ones_passed_over(tmp_path, tiny_model, rng,
                                                                                       caplog):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    (tmp_path / "in" / "a.psd").write_bytes(b"8BPS")  # an editor's layers
    (tmp_path / "in" / "frame.raw").write_bytes(bytes(64))  # pixels dumped by some program, not a camera's photo
    (tmp_path / "in" / "notes.txt").write_text("shot on a camera")
    (tmp_path / "in" / ".DS_Store").write_bytes(b"")
    (tmp_path / "in" / "Thumbs.db").write_bytes(b"")  # Windows' hidden thumbnails
    (tmp_path / "in" / ".git").mkdir()
    (tmp_path / "in" / ".git" / "HEAD").write_text("ref: refs/heads/main")
    # Hidden photos are nobody's either: macOS's metadata twin of a photo copied to a USB drive, thumbnails.
    (tmp_path / "in" / "._a.jpg").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    save(tmp_path / "in" / ".thumbnails" / "a.jpg", photo(rng))
    with caplog.at_level("WARNING", logger="predict"):
        summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model, recursive=True)
    assert summary.processed == 1 and not summary.failed
    assert sorted(str(path.relative_to(tmp_path / "out")) for path in (tmp_path / "out").rglob("*")) == \
        ["a.png", predict.SURENESS_FILE]
    assert "not a photo format this tool reads" in caplog.text
    left_out = ", ".join(str(tmp_path / "in" / name) for name in ("a.psd", "frame.raw", "notes.txt"))
    assert f"3 ({left_out})" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="predict"):  # a folder of photos only: nothing to say
        predict.remove_background_files(tmp_path / "out", tmp_path / "again", model=tiny_model)
    assert caplog.text == ""


def test_a_folder_without_photos_says_so_and_where_they_may_be(tmp_path, tiny_model, rng, caplog):
    save(tmp_path / "in" / "2024" / "a.jpg", photo(rng))
    (tmp_path / "empty").mkdir()
    with caplog.at_level("WARNING", logger="predict"):
        assert predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model).processed == 0
        predict.remove_background_files(tmp_path / "empty", tmp_path / "out", model=tiny_model)
    assert f"no photos in {tmp_path / 'in'} (photos in its sub-folders are read with --recursive)" in caplog.text
    assert caplog.text.rstrip().endswith(f"no photos in {tmp_path / 'empty'}")
    assert predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model,
                                           recursive=True).processed == 1


def test_output_folder_inside_the_input_folder_is_not_read_back(tmp_path, tiny_model, rng):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    for _ in range(2):
        summary = predict.remove_background_files(tmp_path / "in", tmp_path / "in" / "cutouts", model=tiny_model,
                                                  recursive=True, overwrite=True)
        assert summary.processed == 1


def test_links_lead_to_photos_but_not_into_folders_nor_back_to_the_outputs(tmp_path, rng):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    save(tmp_path / "elsewhere" / "b.jpg", photo(rng))
    try:
        (tmp_path / "in" / "b.jpg").symlink_to(tmp_path / "elsewhere" / "b.jpg")  # a photo by a link: read
        (tmp_path / "in" / "loop").symlink_to(tmp_path / "in", target_is_directory=True)  # not walked round
    except OSError:
        pytest.skip("this file system takes no links")
    out = tmp_path / "in" / "cutouts"
    first = predict.remove_background_files(tmp_path / "in", out, model=SureOfUprightRed(), recursive=True)
    (tmp_path / "in" / "c.png").symlink_to(out / "a.png")  # an output by a link: not read back
    again = predict.remove_background_files(tmp_path / "in", out, model=SureOfUprightRed(), recursive=True,
                                            overwrite=True)
    assert first.processed == again.processed == 2
    assert sorted(path.name for path in out.iterdir()) == ["a.png", "b.png", predict.SURENESS_FILE]


def test_a_link_to_a_photo_that_is_not_there_fails_saying_where_it_leads(tmp_path, rng):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    gone, target = tmp_path / "in" / "gone.jpg", tmp_path / "drive_not_mounted" / "gone.jpg"
    try:
        gone.symlink_to(target)
    except OSError:
        pytest.skip("this file system takes no links")
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed())
    assert summary.processed == 1
    assert summary.failed == [(gone, f"{gone}: a link to {target}, which is not there")]


def lock_folders_named(name, monkeypatch):
    """Makes folders of that name unreadable to predict.py while the returned
    dict's "locked" is true, as permissions do for anyone but root (who runs
    these tests on CI)."""
    scandir, lock = os.scandir, {"locked": True}

    def scandir_but_locked(path):
        if lock["locked"] and Path(path).name == name:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(predict.os, "scandir", scandir_but_locked)
    return lock


def test_a_folder_that_cannot_be_read_costs_its_photos_only_and_is_named(tmp_path, rng, monkeypatch, caplog, capsys):
    for name in ("a.jpg", "locked/b.jpg", "open/c.jpg"):
        save(tmp_path / "in" / name, photo(rng))
    lock_folders_named("locked", monkeypatch)
    with caplog.at_level("WARNING", logger="predict"):
        summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed(),
                                                  recursive=True)
    assert summary.processed == 2 and not summary.failed
    assert pngs_in(tmp_path / "out") == ["a.png", "open/c.png"]
    assert (f"cannot read the folder {tmp_path / 'in' / 'locked'} (Permission denied): its photos are left out"
            in caplog.text)
    assert predict.main([str(tmp_path / "in" / "locked"), str(tmp_path / "more")]) == 2
    assert (f"error: cannot read the input folder {tmp_path / 'in' / 'locked'}: Permission denied"
            in capsys.readouterr().err)


def test_a_photo_whose_name_is_not_utf8_is_cut_out_and_listed_in_sureness_csv_byte_for_byte(tmp_path, tiny_model, rng):
    save(tmp_path / "in" / "good.jpg", photo(rng))
    try:
        save(tmp_path / "in" / f"{NOT_UTF8}.jpg", photo(rng))
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 names")
    for _ in range(2):  # and a run again keeps its line, once
        summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model)
    assert summary.skipped == 2
    listed = predict.read_sureness(tmp_path / "out" / predict.SURENESS_FILE)
    assert sorted(row.output for row in listed) == sorted([f"{NOT_UTF8}.png", "good.png"])
    assert b"caf\xe9.png," in (tmp_path / "out" / predict.SURENESS_FILE).read_bytes()


def test_a_run_again_drops_the_lines_of_outputs_corrected_since_and_keeps_the_others(tmp_path, tiny_model, rng):
    for name in ("a", "b", "c"):
        save(tmp_path / "in" / f"{name}.jpg", photo(rng))
    predict.remove_background_files(tmp_path / "in", tmp_path / "masks", model=tiny_model, mask_only=True)
    listing = tmp_path / "masks" / predict.SURENESS_FILE
    listed_at = listing.stat().st_mtime
    for name in ("a", "b", "c"):  # drawn before the list was written, as a run writes them
        os.utime(tmp_path / "masks" / f"{name}.png", (listed_at - 60, listed_at - 60))
    corrected = tmp_path / "masks" / "b.png"
    cv2.imwrite(str(corrected), np.zeros((60, 40), np.uint8))  # redrawn by hand after the run
    os.utime(corrected, (listed_at + 60, listed_at + 60))
    save(tmp_path / "in" / "d.jpg", photo(rng))  # a photo added, its mask drawn by a run into the same folder
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "masks", model=tiny_model, mask_only=True)
    assert summary.processed == 1 and summary.skipped == 3
    assert sorted(row.output for row in predict.read_sureness(listing)) == ["a.png", "c.png", "d.png"]
    # So the list still tells the masks as drawn from the corrected one, after it was written anew.
    masks = [tmp_path / "masks" / f"{name}.png" for name in ("a", "b", "c", "d")]
    assert train.as_a_model_drew_them(masks) == [masks[0], masks[2], masks[3]]


def test_masks_drawn_into_mirrored_sub_folders_are_told_as_drawn_by_the_one_list_above_them(tmp_path, tiny_model,
                                                                                               rng):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    save(tmp_path / "in" / "shoot1" / "b.jpg", photo(rng))
    predict.remove_background_files(tmp_path / "in", tmp_path / "masks", model=tiny_model, mask_only=True,
                                    recursive=True)
    masks = [tmp_path / "masks" / "a.png", tmp_path / "masks" / "shoot1" / "b.png"]
    assert not (tmp_path / "masks" / "shoot1" / predict.SURENESS_FILE).exists()  # one list, in masks/
    listed_at = (tmp_path / "masks" / predict.SURENESS_FILE).stat().st_mtime
    for mask in masks:  # drawn before the list was written, as a run writes them
        os.utime(mask, (listed_at - 60, listed_at - 60))
    assert train.as_a_model_drew_them(masks) == masks  # as train.py --recursive true reads them
    cv2.imwrite(str(masks[1]), np.zeros((60, 40), np.uint8))  # redrawn by hand after the run
    os.utime(masks[1], (listed_at + 60, listed_at + 60))
    assert train.as_a_model_drew_them(masks) == masks[:1]


def test_mask_only_threshold_and_backgrounds(tmp_path, tiny_model, rng):
    rgb = photo(rng)
    save(tmp_path / "in" / "a.png", rgb)
    soft_alpha = expected_alpha(tiny_model, rgb)

    predict.remove_background_files(tmp_path / "in", tmp_path / "mask", model=tiny_model, mask_only=True)
    np.testing.assert_array_equal(read_output(tmp_path / "mask" / "a.png"), soft_alpha)

    predict.remove_background_files(tmp_path / "in", tmp_path / "hard", model=tiny_model, mask_only=True, threshold=0.5)
    hard = read_output(tmp_path / "hard" / "a.png")
    soft = data.upsample_mask(segment.predict_masks(tiny_model, [rgb])[0], rgb.shape[:2])
    np.testing.assert_array_equal(hard, np.where(soft >= 0.5, 255, 0))

    predict.remove_background_files(tmp_path / "in", tmp_path / "white", model=tiny_model, background="white")
    weight = soft_alpha[..., None] / 255.0
    np.testing.assert_array_equal(read_output(tmp_path / "white" / "a.png"),
                                  np.round(rgb * weight + 255 * (1 - weight)).astype(np.uint8))

    backdrop = save(tmp_path / "backdrop.jpg", photo(rng, 120, 200))
    predict.remove_background_files(tmp_path / "in", tmp_path / "scene", model=tiny_model, background=str(backdrop))
    assert read_output(tmp_path / "scene" / "a.png").shape == (*rgb.shape[:2], 3)
    with pytest.raises(predict.PredictError, match="neither a colour"):  # said before anything is made
        predict.remove_background_files(tmp_path / "in", tmp_path / "typo", model=tiny_model, background="whte")
    assert not (tmp_path / "typo").exists()


def test_a_web_address_or_an_empty_path_for_a_photo_a_folder_or_a_model_is_a_usage_error_saying_so(tmp_path, capsys):
    photo_address = "https://example.com/beach.jpg?w=1200"
    for argv, named in (([photo_address, str(tmp_path / "out")], "argument input"),
                        ([str(tmp_path), "s3://bucket/cutouts"], "argument output"),
                        ([str(tmp_path), str(tmp_path / "out"), "--model", "https://example.com/person.keras"],
                         "argument --model")):
        with pytest.raises(SystemExit) as exit_status:
            predict.parse_args(argv)
        assert exit_status.value.code == 2
        assert f"{named}: " in capsys.readouterr().err
    (tmp_path / "picked.txt").write_text(f"{tmp_path / 'a.jpg'}\n{photo_address}\n")
    with pytest.raises(predict.PredictError, match=re.escape(f"input {photo_address} is a web address")):
        predict.expand_patterns([f"@{tmp_path / 'picked.txt'}"])
    with pytest.raises(predict.PredictError, match=re.escape(f"--background {photo_address} is a web address")):
        predict.parse_background(photo_address)
    # An empty argument ("$PHOTOS" with the variable unset) is not the working folder: said for each, as an address is.
    for argv, named in ((["", str(tmp_path / "out")], "argument input"), ([str(tmp_path), ""], "argument output"),
                        ([str(tmp_path), str(tmp_path / "out"), "--model", ""], "argument --model")):
        with pytest.raises(SystemExit):
            predict.parse_args(argv)
        assert f"{named}: '' is an empty path, which names no file or folder" in capsys.readouterr().err
    (tmp_path / "picked.txt").write_text(f"{tmp_path / 'a.jpg'}\n\n")  # a blank line in a list is passed over
    assert predict.expand_patterns([f"@{tmp_path / 'picked.txt'}"]) == [tmp_path / "a.jpg"]


def test_a_photo_given_without_an_output_is_a_usage_error_saying_where_the_output_goes(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_status:
        predict.parse_args([str(tmp_path / "photo.jpg"), "--flip-tta"])
    assert exit_status.value.code == 2
    said = capsys.readouterr().err
    assert "error: no output named: after the photos, name the folder for the cutouts" in said
    assert "required" not in said
    with pytest.raises(SystemExit):  # with nothing given, argparse's own words name both
        predict.parse_args([])
    assert "the following arguments are required: input, output" in capsys.readouterr().err


def test_a_background_from_python_that_is_no_colour_or_rgb_photo_is_an_error_naming_it(rng):
    rgb = photo(rng)
    # A level of 300 wrapped to 44, -1 to 255, and floats in [0, 1] made black.
    for colour in ((300, 0, 0), (-1, 0, 0), (0.5, 0.5, 0.5), (255, 0), "#12"):
        said = (f"background colour {colour!r} is not (r, g, b), each a whole number from 0 to 255"
                if not isinstance(colour, str) else "is neither a colour")
        with pytest.raises(predict.PredictError, match=re.escape(said)):
            predict.remove_background(rgb, model=MarksRed(), background=colour)
    for backdrop in (np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32)):
        with pytest.raises(predict.PredictError, match=re.escape(
                f"background photo must be RGB pixels, uint8 or uint16 (height, width, 3), not {backdrop.dtype} of "
                f"shape {backdrop.shape}")):
            predict.remove_background(rgb, model=MarksRed(), background=backdrop)
    composite = predict.remove_background(rgb, model=MarksRed(), background=[0, 128, np.uint8(255)])
    assert composite.shape == (*rgb.shape[:2], 3)


def test_background_colour_forms(tmp_path):
    assert predict.parse_background("#FF8000") == (255, 128, 0)
    assert predict.parse_background("#f80") == (255, 136, 0)  # CSS's short form
    assert predict.parse_background("0, 128,255") == (0, 128, 255)
    assert predict.parse_background("white") == (255, 255, 255)
    assert predict.parse_background("blur") == compose.BLUR
    with pytest.raises(predict.PredictError, match=re.escape(
            "neither a colour (white, black, gray, grey, red, green, blue, yellow, #rrggbb, #rgb or r,g,b), 'blur', "
            "nor an image file") + "$"):  # the names it knows, said
        predict.parse_background("not-a-colour")
    for typed, meant in (("whte", "white"), ("Grren", "green"), ("blurr", "blur")):  # a name mistyped
        with pytest.raises(predict.PredictError, match=re.escape(f"nor an image file (did you mean {meant}?)")):
            predict.parse_background(typed)
    with pytest.raises(predict.PredictError, match=r"^--background image backdrops/beach\.JPG does not exist$"):
        predict.parse_background("backdrops/beach.JPG")
    with pytest.raises(predict.PredictError, match="neither a colour"):  # not hexadecimal
        predict.parse_background("#12345g")
    saved_page = tmp_path / "beach.jpg"
    saved_page.write_bytes(b"<html>a page saved instead of its photo</html>")
    with pytest.raises(predict.PredictError, match=rf"^background image {re.escape(str(saved_page))}: not an image "
                                                   r"but a web page \(HTML: a download that failed, or a page saved "
                                                   r"under its name\?\)$"):
        predict.parse_background(str(saved_page))


@pytest.mark.parametrize("flags, says", [
    (["--threshold", "1.5"], "--threshold must be above 0 and below 1; got 1.5"),
    (["--threshold", "0"], "--threshold must be above 0 and below 1; got 0.0"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--mask-only", "--background", "white"], "--mask-only and --background exclude each other"),
])
def test_settings_that_cannot_work_are_a_usage_error_naming_the_setting(flags, says, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_status:
        predict.parse_args([str(tmp_path / "in"), str(tmp_path / "out"), *flags])
    assert exit_status.value.code == 2 and says in capsys.readouterr().err


def test_settings_out_of_range_from_python_are_an_error_naming_each_before_any_photo_is_read(tmp_path, rng):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    model = MarksRed()
    # A threshold of 1 left every cutout empty; a batch of 0 photos waited for ever (last: should it again,
    # the cases before it fail first).
    for settings, says in ((dict(threshold=1.0), "threshold must be above 0 and below 1; got 1.0"),
                           (dict(workers=0, crop=True, crop_margin=float("nan")),
                            "crop_margin must be a number, 0 or more (a share of the people's box); got nan; "
                            "workers must be at least 1; got 0"),
                           (dict(batch_size=0), "batch_size must be at least 1; got 0")):
        with pytest.raises(predict.PredictError, match=re.escape(says)):
            predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=model, **settings)
    with pytest.raises(predict.PredictError, match=re.escape("threshold must be above 0 and below 1; got 0")):
        predict.remove_background(photo(rng), model=model, threshold=0)
    # Text for a number: said as text, where Python's own error was "'<' not supported between ...".
    with pytest.raises(predict.PredictError, match=re.escape("threshold must be above 0 and below 1; got '0.5'; "
                                                             "batch_size must be at least 1; got None")):
        predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=model, threshold="0.5",
                                        batch_size=None)
    assert not (tmp_path / "out").exists() and model.batches == []


def test_background_blur_blurs_the_photos_own_background_without_a_halo_of_the_person(tiny_model, rng):
    image = np.zeros((600, 400, 3), np.uint8)
    image[:, :200] = (0, 255, 0)          # a green wall on the left, a blue one on the right
    image[:, 200:] = (0, 0, 255)
    image[200:500, 160:240] = (255, 0, 0)  # the person, red
    alpha = np.zeros((600, 400), np.uint8)
    alpha[200:500, 160:240] = 255
    out = compose.compose(image, alpha, predict.parse_background(" Blur "))
    assert out.shape == image.shape and (out[alpha == 255] == (255, 0, 0)).all()  # the person as they are
    edge = out[60, 195:205].astype(int)  # across the walls' edge, far above the person: softened
    assert (edge[:, 1] > 40).all() and (edge[:, 2] > 40).all() and (out[60, 20] == (0, 255, 0)).all()
    beside = (350, 155)  # the green wall 5 pixels left of the person: hardly any red bled into it
    assert out[beside][0] <= 8
    naive = cv2.GaussianBlur(image.astype(np.float32), (0, 0), compose.BLUR_SIGMA * 600)
    assert naive[beside][0] > 60  # as the whole photo blurred would have it
    composite = predict.remove_background(photo(rng), model=tiny_model, background="blur")
    assert composite.shape == (60, 40, 3) and composite.dtype == np.uint8


def test_missing_default_model_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setattr(predict, "DEFAULT_MODEL", tmp_path / "models" / "none.keras")
    with pytest.raises(predict.PredictError, match="train one with `python train.py`"):
        predict.load_model()


def test_a_model_that_cannot_be_loaded_is_named_with_the_reason(tmp_path, tiny_model_path, caplog):
    cut_short = tmp_path / "cut_short.keras"
    cut_short.write_bytes(tiny_model_path.read_bytes()[:2000])
    (tmp_path / "text.keras").write_text("not a model")
    (tmp_path / "empty.keras").write_bytes(b"")
    # Downloaded from a repository's page for the file rather than its raw address: the page.
    (tmp_path / "page.keras").write_text("<!DOCTYPE html>\n<html><head><title>people/models/person.keras at main · "
                                         "someone/people · GitHub</title></head></html>")
    (tmp_path / "saved_model").mkdir()
    (tmp_path / "exported").mkdir()
    (tmp_path / "exported" / "saved_model.pb").write_bytes(b"\x08\x01")  # as model.export writes one
    (tmp_path / "encoder.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n")  # as ../shared/weights holds, or save_weights
    (tmp_path / "converted.keras").write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(100))  # a conversion misnamed
    with zipfile.ZipFile(tmp_path / "photos.keras", "w") as archive:  # a zip of something else, named .keras
        for number in range(7):
            archive.writestr(f"{number}.jpg", b"")
    with zipfile.ZipFile(tmp_path / "listed.keras", "w") as archive:
        archive.writestr("config.json", "[1, 2]")  # Keras: "list indices must be integers or slices, not str"
    expected = {
        tmp_path / "encoder.weights.h5": "a file of weights alone, without the network they belong to: pass a .keras "
                                         "model (a train.py run's model.keras)",
        cut_short: "not a .keras file (those are zip archives): corrupt, cut short, or another format",
        tmp_path / "text.keras": "not a .keras model but text, beginning 'not a model'",
        tmp_path / "empty.keras": "an empty file, not a .keras model",
        tmp_path / "converted.keras": "not a .keras model but a TensorFlow Lite model (.tflite)",
        tmp_path / "photos.keras": "a zip archive of 0.jpg, 1.jpg, 2.jpg, 3.jpg, 4.jpg and 2 more, not a .keras model "
                                   "(one holds config.json and model.weights.h5)",
        tmp_path / "listed.keras": "a zip archive whose config.json is no Keras model's configuration",
        tmp_path / "page.keras": "not a .keras model but a web page (HTML, titled 'people/models/person.keras at main "
                                 "· someone/people · GitHub': a download that failed, or a page saved under its name?)",
        tmp_path / "saved_model": "is a folder with no model.keras in it",
        tmp_path / "exported": "is a TensorFlow SavedModel (an export for serving), which is not run here: pass the "
                               ".keras model it was exported from",
        tmp_path / "none.keras": "does not exist",
    }
    for path, reason in expected.items():
        with caplog.at_level(logging.INFO, logger="predict"):
            with pytest.raises(predict.PredictError, match=re.escape(str(path))) as raised:
                predict.load_model(path)
        assert reason in str(raised.value)
    assert "converting" not in caplog.text  # nothing that is no model is said to be converted


def test_a_run_folder_given_as_the_model_is_its_model_keras_or_names_the_models_it_holds(tmp_path, tiny_model_path):
    run = tmp_path / "runs" / "person"
    run.mkdir(parents=True)
    shutil.copy(tiny_model_path, run / "best.keras")  # a run still going: its best epoch so far
    with pytest.raises(predict.PredictError, match=re.escape(f"it holds best.keras: pass {run / 'best.keras'}")):
        predict.load_model(run)
    shutil.copy(tiny_model_path, run / "model.keras")  # the run finished
    assert predict.load_model(run) is predict.load_model(run / "model.keras")


def save_tiny_model(path, seed):
    """A tiny U-Net saved at `path`, its file dated `seed` minutes later than
    it was written (as a retrain would be); returns the model."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model("unet", SIZE, base_filters=4, depth=2)
    model.save(path)
    written = path.stat()
    os.utime(path, ns=(written.st_atime_ns, written.st_mtime_ns + seed * 60 * 10**9))
    return model


def test_a_model_file_written_anew_is_loaded_anew_and_an_unchanged_one_once(tmp_path, rng):
    path = tmp_path / "model.keras"
    save_tiny_model(path, seed=1)
    first = predict.load_model(path)
    assert predict.load_model(str(path)) is first
    retrained = save_tiny_model(path, seed=2)
    reloaded = predict.load_model(path)
    batch = np.stack([data.preprocess_image(photo(rng), SIZE)]).astype(np.float32)
    np.testing.assert_allclose(reloaded.predict_on_batch(batch), retrained.predict_on_batch(batch), atol=1e-6)
    assert not np.allclose(first.predict_on_batch(batch), reloaded.predict_on_batch(batch), atol=1e-3)


def test_the_tflite_engine_makes_the_masks_and_cutouts_keras_makes(tiny_model_path, rng):
    lite_model = predict.load_model(tiny_model_path, "tflite")
    keras_model = predict.load_model(tiny_model_path, "keras")
    assert isinstance(lite_model, lite.LiteModel) and not isinstance(keras_model, lite.LiteModel)
    assert segment.model_input_size(lite_model) == segment.model_input_size(keras_model) == SIZE
    batch = np.stack([data.preprocess_image(photo(rng), SIZE) for _ in range(3)]).astype(np.float32)
    masks = lite_model.predict_on_batch(batch)
    assert masks.shape == (3, *SIZE, 1) and masks.dtype == np.float32
    np.testing.assert_allclose(masks, keras_model.predict_on_batch(batch), atol=1e-5)
    assert lite_model.predict_on_batch(batch[:0]).shape == (0, *SIZE, 1)
    image = photo(rng, 90, 160)  # wide: tiles too
    alphas = [predict.remove_background(image, model=tiny_model_path, engine=engine)[..., 3].astype(int)
              for engine in ("tflite", "keras")]
    assert np.abs(alphas[0] - alphas[1]).max() <= 1


def test_auto_runs_the_model_with_tflite_unless_tensorflow_sees_a_gpu(monkeypatch, tmp_path):
    import importlib.metadata

    import quiet_tensorflow
    import tensorflow as tf

    assert predict.chosen_engine("keras") == "keras" and predict.chosen_engine("tflite") == "tflite"
    # Where no GPU shows itself, TensorFlow is not asked, which would take importing it.
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(quiet_tensorflow, "GPU_DEVICES", (str(tmp_path / "nvidia[0-9]*"), str(tmp_path / "dxg")))
    monkeypatch.setattr(predict, "MORE_GPU_SIGNS", (str(tmp_path / "gpus" / "*"), str(tmp_path / "kfd")))
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    assert not predict.tensorflow_may_use_a_gpu() and predict.chosen_engine("auto") == "tflite"
    # Where one may be there (NVIDIA's driver loaded, before its device files are made; AMD's), TensorFlow says.
    for sign in ("gpus/0000:01:00.0", "kfd"):
        (tmp_path / sign).parent.mkdir(exist_ok=True)
        (tmp_path / sign).touch()
        assert predict.tensorflow_may_use_a_gpu() and predict.chosen_engine("auto") == "keras"
        (tmp_path / sign).unlink()
    (tmp_path / "nvidia0").touch()
    assert predict.chosen_engine("auto") == "keras"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])  # a GPU TensorFlow cannot use
    assert predict.chosen_engine("auto") == "tflite"
    # Keras set to another backend, before it is imported (KERAS_BACKEND, or its keras.json): Keras.
    monkeypatch.delitem(sys.modules, "keras")
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert predict.keras_backend() == "tensorflow"  # no keras.json: Keras's default
    (tmp_path / "keras.json").write_text('{"floatx": "float32", "backend": "jax"}')
    assert predict.keras_backend() == "jax" and predict.chosen_engine("auto") == "keras"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")  # over its keras.json, as Keras takes it
    assert predict.chosen_engine("auto") == "tflite"
    # On a Mac, Apple's Metal plugin for TensorFlow.
    monkeypatch.setattr(sys, "platform", "darwin")
    installed = set()

    def distribution(name):
        if name not in installed:
            raise importlib.metadata.PackageNotFoundError(name)
        return SimpleNamespace(name=name)

    monkeypatch.setattr(importlib.metadata, "distribution", distribution)
    assert not predict.tensorflow_may_use_a_gpu()  # whatever the device files
    installed.add("tensorflow-metal")
    assert predict.tensorflow_may_use_a_gpu()
    with pytest.raises(predict.PredictError, match="engine must be one of auto, keras, tflite; got 'gpu'"):
        predict.load_model(None, "gpu")
    with pytest.raises(SystemExit):
        predict.parse_args(["a.jpg", "out", "--engine", "gpu"])


def test_a_converted_model_cuts_out_photos_without_importing_tensorflow(tiny_model_path, tmp_path, rng):
    predict.load_model(tiny_model_path, "tflite")  # converted once, and kept beside the file
    save(tmp_path / "photos" / "a.png", photo(rng, 40, 30))
    # As the command line runs, on a machine without a GPU: TensorFlow (seconds to import) is not needed.
    code = ("import sys, predict, quiet_tensorflow; quiet_tensorflow.GPU_DEVICES = predict.MORE_GPU_SIGNS = (); "
            "status = predict.main(sys.argv[1:]); print(status, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "photos"), str(tmp_path / "out"), "--model",
                             str(tiny_model_path)], cwd=REPO_DIR, capture_output=True, text=True, timeout=120)
    assert result.stdout.split()[-3:] == ["0", "False", "False"], result.stderr[-2000:]
    np.testing.assert_array_equal(read_output(tmp_path / "out" / "a.png"),
                                  predict.remove_background(read_output(tmp_path / "photos" / "a.png"),
                                                            model=tiny_model_path, engine="tflite"))


def not_installed(*packages):
    """The start of a program for `python -c` in which `packages` are not found, as where they are not installed
    (and `sys` is imported)."""
    return textwrap.dedent(f"""
        import importlib.abc, sys

        class NotInstalled(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.partition(".")[0] in {packages!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, NotInstalled())
        """)


def test_without_tensorflow_a_tflite_model_cuts_out_photos_and_a_keras_one_is_an_error_saying_what_to_pass(
        tiny_model_path, tmp_path, rng):
    # Installed from requirements-predict.txt, whose every line is requirements.txt's: no TensorFlow, nor Keras.
    everything = (REPO_DIR / "requirements.txt").read_text().splitlines()
    predict_only = [line for line in (REPO_DIR / "requirements-predict.txt").read_text().splitlines()
                    if line and not line.startswith("#")]
    assert set(predict_only) <= set(everything) and not any(line.startswith(("tensorflow", "keras"))
                                                            for line in predict_only)
    lite_file = lite_file_of(predict.load_model(tiny_model_path, "keras"), tmp_path / "person.tflite")
    predict.load_model(tiny_model_path, "tflite")  # converted, its conversion kept beside it
    unconverted = tmp_path / "new" / "model.keras"
    unconverted.parent.mkdir()
    save_tiny_model(unconverted, seed=4)
    save(tmp_path / "photos" / "a.png", photo(rng, 40, 30))
    code = not_installed("tensorflow", "keras") + textwrap.dedent("""
        import evaluate, predict
        sys.exit((evaluate if sys.argv[1] == "evaluate" else predict).main(sys.argv[2:]))
        """)

    def run(script, *args):
        return subprocess.run([sys.executable, "-c", code, script, *map(str, args)], cwd=REPO_DIR, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})

    def cut_out(model, output):
        return run("predict", tmp_path / "photos", tmp_path / output, "--model", model)

    # A .tflite file, or a .keras file converted already (its conversion kept beside it), runs as with TensorFlow.
    expected = predict.remove_background(read_output(tmp_path / "photos" / "a.png"), model=lite_file)
    for model, output in ((lite_file, "out"), (tiny_model_path, "out_converted")):
        result = cut_out(model, output)
        assert result.returncode == 0, result.stderr[-2000:]
        np.testing.assert_array_equal(read_output(tmp_path / output / "a.png"), expected)
    result = cut_out(unconverted, "out_unconverted")
    assert result.returncode == 2 and not (tmp_path / "out_unconverted" / "a.png").exists()
    assert (f"error: cannot load {unconverted}: keras is not installed, which a .keras model needs (to run it, or to "
            f"convert it once for TensorFlow Lite): pass a .tflite model (--model "
            f"models/person_mobilenetv2_unet.int8.tflite, the shipped one at 8 bits), or install requirements.txt"
            in result.stderr), result.stderr[-2000:]
    # evaluate.py scores a .tflite model there too.
    scored = run("evaluate", "--model", lite_file, "--data", write_sample(tmp_path / "labelled", count=3), "--out",
                 tmp_path / "scores")
    assert scored.returncode == 0, scored.stderr[-2000:]
    scores = json.loads((tmp_path / "scores" / "metrics.json").read_text())
    assert (scores["images"], scores["engine"]) == (3, "tflite") and 0 <= scores["iou"] <= 1


def test_keras_set_to_a_backend_not_installed_is_an_error_naming_it_and_the_way_to_tensorflow(tmp_path, rng):
    # It said to install requirements.txt, which installs no such backend.
    code = not_installed("jax") + "import predict\nsys.exit(predict.main(sys.argv[1:]))\n"
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "a.png"), photo(rng))
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "photos"), str(tmp_path / "out")],
                            cwd=REPO_DIR, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "KERAS_BACKEND": "jax"})
    assert result.returncode == 2 and not (tmp_path / "out" / "a.png").exists()
    assert (f"error: cannot load {predict.DEFAULT_MODEL.resolve()}: Keras is set to its jax backend (KERAS_BACKEND, "
            f"or its keras.json), and jax is not installed: install it, or run the model on TensorFlow with "
            f"KERAS_BACKEND=tensorflow" in result.stderr), result.stderr[-2000:]


def test_the_scripts_show_their_own_lines_and_jaxs_warnings_but_not_jaxs_info_lines():
    # Under Keras' JAX backend, predict.py and evaluate.py began with JAX's "Unable to initialize backend 'tpu': ...".
    code = textwrap.dedent("""
        import logging, sys, predict
        predict.log_to_terminal(quiet=sys.argv[1] == "quiet")
        logging.getLogger("jax._src.xla_bridge").info("Unable to initialize backend 'tpu'")
        logging.getLogger("jax._src.xla_bridge").warning("a warning of JAX's")
        logging.getLogger("predict").info("1 processed")
        logging.getLogger("evaluate").info("scores written")
        logging.getLogger("predict").warning("no person found in 1")
        """)
    shown = {level: subprocess.run([sys.executable, "-c", code, level], cwd=REPO_DIR, capture_output=True, text=True,
                                   timeout=120)
             for level in ("all", "quiet")}
    assert [result.returncode for result in shown.values()] == [0, 0], shown
    assert shown["all"].stderr.splitlines() == ["a warning of JAX's", "1 processed", "scores written",
                                                "no person found in 1"]
    assert shown["quiet"].stderr.splitlines() == ["a warning of JAX's", "no person found in 1"]


def test_a_converted_model_is_kept_beside_its_file_and_converted_anew_only_once_the_file_changes(tmp_path, monkeypatch,
                                                                                                caplog):
    path = tmp_path / "model.keras"
    save_tiny_model(path, seed=1)
    predict.load_model(path, "tflite")
    kept = sorted((tmp_path / predict.LITE_CACHE).iterdir())
    assert [file.name[:6] for file in kept] == ["model-"] and kept[0].suffix == ".tflite"
    predict.lite_model_file.cache_clear()  # as a new run would start
    with monkeypatch.context() as patched:
        patched.setattr(lite, "converted", lambda model: pytest.fail("converted again"))
        assert isinstance(predict.load_model(path, "tflite"), lite.LiteModel)
    save_tiny_model(path, seed=2)
    # Another run converting the new file at the same time removes the stale conversion first.
    unlink = Path.unlink

    def removed_by_another_run_first(file, **options):
        if file.suffix == ".tflite":
            unlink(file)
        unlink(file, **options)

    monkeypatch.setattr(Path, "unlink", removed_by_another_run_first)
    with caplog.at_level("WARNING", logger="predict"):
        predict.load_model(path, "tflite")
    monkeypatch.setattr(Path, "unlink", unlink)
    now = sorted((tmp_path / predict.LITE_CACHE).iterdir())
    assert len(now) == 1 and now != kept  # the earlier version's conversion replaced
    assert "cannot keep the converted model" not in caplog.text


def test_a_spoilt_conversion_in_the_cache_is_made_again(tmp_path, caplog, rng):
    path = tmp_path / "model.keras"
    save_tiny_model(path, seed=5)
    predict.load_model(path, "tflite")
    (kept,) = (tmp_path / predict.LITE_CACHE).iterdir()
    kept.write_bytes(kept.read_bytes()[:100])  # cut short
    predict.lite_model_file.cache_clear()  # as a new run would start
    lite_model = predict.load_model(path, "tflite")
    assert isinstance(lite_model, lite.LiteModel) and "cannot use the converted model" in caplog.text
    batch = np.stack([data.preprocess_image(photo(rng), SIZE)]).astype(np.float32)
    keras_model = predict.load_model(path, "keras")
    np.testing.assert_allclose(lite_model.predict_on_batch(batch), keras_model.predict_on_batch(batch), atol=1e-5)
    assert kept.stat().st_size > 100  # written whole again


def test_a_model_in_a_folder_that_cannot_be_written_keeps_its_conversion_in_the_users_cache(tmp_path, monkeypatch,
                                                                                           caplog):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "platform", "linux")
    users_cache = tmp_path / "cache" / "person-background-removal" / "tflite"
    paths = [tmp_path / "installed" / "model.keras", tmp_path / "other" / "model.keras"]  # as two runs' models
    for seed, path in enumerate(paths):
        path.parent.mkdir()
        save_tiny_model(path, seed=seed)
        (path.parent / predict.LITE_CACHE).write_text("a file where the folder would go")  # cannot be made
    with caplog.at_level(logging.INFO, logger="predict"):
        for path in paths:
            assert isinstance(predict.load_model(path, "tflite"), lite.LiteModel)
    assert f"the converted model is kept in {users_cache}, as {paths[0].parent} cannot be written" in caplog.text
    assert "cannot keep" not in caplog.text
    kept = sorted(users_cache.iterdir())
    assert len(kept) == 2 and all(file.name.startswith("model-") for file in kept)  # one for each folder's model
    # The next run loads it from there, unconverted; the model retrained, its conversion replaces the earlier one.
    predict.lite_model_file.cache_clear()
    with monkeypatch.context() as patched:
        patched.setattr(lite, "converted", lambda model: pytest.fail("converted again"))
        assert isinstance(predict.load_model(paths[0], "tflite"), lite.LiteModel)
    save_tiny_model(paths[0], seed=7)
    predict.load_model(paths[0], "tflite")
    (other,) = [file for file in kept if file.name.startswith(predict.lite_caches(paths[1])[1][1])]
    now = sorted(users_cache.iterdir())
    assert len(now) == 2 and other in now and len(set(now) - set(kept)) == 1  # the other folder's model's stays


def test_a_cache_folder_that_cannot_be_written_costs_a_warning_not_the_run(tmp_path, monkeypatch, caplog):
    path = tmp_path / "model.keras"
    save_tiny_model(path, seed=3)
    (tmp_path / predict.LITE_CACHE).write_text("a file where the folder would go")
    (tmp_path / "cache").write_text("nor the user's cache folder")
    monkeypatch.setattr(predict, "user_cache_folder", lambda: tmp_path / "cache")
    assert isinstance(predict.load_model(path, "tflite"), lite.LiteModel)
    assert "cannot keep the converted model" in caplog.text and "converted again next time" in caplog.text
    monkeypatch.setattr(predict, "user_cache_folder", lambda: None)  # no home folder: beside the model alone
    assert predict.lite_caches(path) == [(tmp_path / predict.LITE_CACHE, "model")]


def test_a_model_tflite_cannot_convert_runs_with_keras_under_auto_and_is_an_error_under_tflite(tmp_path, monkeypatch,
                                                                                             caplog, capfd):
    path = tmp_path / "model.keras"
    with_bicubic_upsampling().save(path)  # an operation TensorFlow Lite has no kernel for
    monkeypatch.setattr(predict, "chosen_engine", lambda engine: "keras" if engine == "keras" else "tflite")
    assert not isinstance(predict.load_model(path, "auto"), lite.LiteModel)
    assert caplog.messages[-1] == (f"cannot run {path} with TensorFlow Lite (TensorFlow Lite has no kernels for some "
                                   f"of its operations (ResizeBicubic)): running it with Keras")
    assert "is neither a custom op nor a flex op" not in capfd.readouterr().err  # the converter's hundreds of lines
    with pytest.raises(predict.PredictError, match=re.escape(
            f"cannot run {path} with TensorFlow Lite: TensorFlow Lite has no kernels for some of its operations "
            f"(ResizeBicubic)")):
        predict.load_model(path, "tflite")


def lite_file_of(model, path, int8_from=None):
    """`model` converted to a TensorFlow Lite file at `path`, as a user
    would for a phone; with `int8_from` (model inputs to calibrate on)
    quantized to 8 bits through and through, pixels in and masks out."""
    path.write_bytes(lite.converted(model, "int8", int8_from) if int8_from is not None else lite.converted(model))
    return path


def test_a_tflite_file_runs_as_it_is_with_the_masks_of_the_model_it_was_converted_from(tiny_model_path, tmp_path,
                                                                                      rng, capsys):
    keras_model = predict.load_model(tiny_model_path, "keras")
    path = lite_file_of(keras_model, tmp_path / "person.tflite")
    lite_model = predict.load_model(path)
    assert predict.engine_of(lite_model) == "tflite" and predict.load_model(str(path), "tflite") is lite_model
    batch = np.stack([data.preprocess_image(photo(rng), SIZE) for _ in range(2)]).astype(np.float32)
    np.testing.assert_allclose(lite_model.predict_on_batch(batch), keras_model.predict_on_batch(batch), atol=1e-5)
    assert not (path.parent / predict.LITE_CACHE).exists()  # run as it is, not converted again
    image = photo(rng)
    assert np.abs(predict.remove_background(image, model=path).astype(int)
                  - predict.remove_background(image, model=tiny_model_path, engine="keras").astype(int)).max() <= 1
    save(tmp_path / "photos" / "a.jpg", image)
    assert predict.main([str(tmp_path / "photos"), str(tmp_path / "out"), "--model", str(path), "--quiet"]) == 0
    assert read_output(tmp_path / "out" / "a.png").shape == (*image.shape[:2], 4)
    assert predict.main([str(tmp_path / "photos"), str(tmp_path / "out2"), "--model", str(path), "--engine",
                         "keras"]) == 2
    assert f"error: {path} is a TensorFlow Lite model: it runs with --engine tflite (or auto), not keras" \
        in capsys.readouterr().err


def test_a_tflite_file_quantized_to_8_bits_is_given_its_pixels_and_read_back_by_its_own_scales(tiny_model_path,
                                                                                                tmp_path, rng):
    keras_model = predict.load_model(tiny_model_path, "keras")
    batch = np.stack([data.preprocess_image(photo(rng), SIZE) for _ in range(8)]).astype(np.float32)
    lite_model = predict.load_model(lite_file_of(keras_model, tmp_path / "int8.tflite", int8_from=batch))
    assert lite_model.image["dtype"] == lite_model.mask["dtype"] == np.uint8
    masks = lite_model.predict_on_batch(batch)
    assert masks.dtype == np.float32 and masks.shape == (8, *SIZE, 1)
    assert np.abs(masks - keras_model.predict_on_batch(batch)).max() < 0.05  # within a few of its 256 levels


def test_a_tflite_file_that_is_no_person_segmenter_or_no_model_is_refused_saying_why(tmp_path):
    import keras

    inputs = keras.Input((32, 32, 3))
    two_classes = keras.Model(inputs, keras.layers.Conv2D(2, 1, activation="softmax")(inputs))
    path = lite_file_of(two_classes, tmp_path / "two_classes.tflite")
    with pytest.raises(predict.PredictError, match=re.escape(
            f"cannot use model {path}: its output is of shape (None, 32, 32, 2), not masks of one channel")):
        predict.load_model(path)
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(path.read_bytes()[:200])
    with pytest.raises(predict.PredictError, match=re.escape(
            f"cannot load model {cut}: not a TensorFlow Lite model, or not whole (")):
        predict.load_model(cut)
    page = tmp_path / "page.tflite"
    page.write_text("<!DOCTYPE html><html><head><title>person.tflite at main</title></head></html>")
    with pytest.raises(predict.PredictError, match=re.escape(
            f"cannot load model {page}: not a TensorFlow Lite model but a web page (HTML, titled 'person.tflite at "
            f"main'")):
        predict.load_model(page)


def test_command_line_end_to_end(tmp_path, tiny_model_path, rng):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    command = [sys.executable, str(REPO_DIR / "predict.py"), str(tmp_path / "in" / "a.jpg"), str(tmp_path / "out"),
               "--model", str(tiny_model_path), "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert read_output(tmp_path / "out" / "a.png").shape == (60, 40, 4)


def test_a_photo_piped_in_is_cut_out_and_piped_out_by_the_command_line(tmp_path, tiny_model_path, rng):
    save(tmp_path / "a.jpg", photo(rng))
    model = shutil.copy(tiny_model_path, tmp_path / "fresh.keras")  # converted for TensorFlow Lite within the run
    command = [sys.executable, str(REPO_DIR / "predict.py"), "-", "-", "--model", str(model)]
    result = subprocess.run(command, input=(tmp_path / "a.jpg").read_bytes(), capture_output=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:].decode()
    assert b"1 processed" in result.stderr
    # Not a line of TensorFlow's start-up, nor of TensorFlow Lite's, nor of the model's conversion.
    said = result.stderr.decode()
    assert "converting fresh.keras for TensorFlow Lite" in said
    assert "absl::InitializeLog" not in said and "XNNPACK" not in said and "Ignored output_format" not in said
    assert predict.main([str(tmp_path / "a.jpg"), str(tmp_path / "a.png"), "--model", str(model), "--quiet"]) == 0
    assert result.stdout == (tmp_path / "a.png").read_bytes()


def stdin_holding(content):
    return io.TextIOWrapper(io.BytesIO(content))


def test_a_piped_photo_is_read_as_its_file_and_only_the_output_reaches_standard_output(
        tmp_path, monkeypatch, capfdbinary):
    # A PNG with transparency (looked for by the file's suffix) and a colour profile (found in its bytes).
    rgb = np.zeros((120, 90, 3), np.uint8)
    rgb[20:100, 10:30] = rgb[20:100, 55:75] = (255, 0, 0)
    alpha = np.full((120, 90), 255, np.uint8)
    alpha[:, :40] = 0
    display_p3 = rgb_profile(1)  # a stand-in
    content = save(tmp_path / "cutout.png", np.dstack([rgb, alpha]), icc_profile=display_p3).read_bytes()
    predict.remove_background_files(tmp_path / "cutout.png", tmp_path / "file.png", model=SureOfUprightRed())
    predict.remove_background_files(tmp_path / "cutout.png", tmp_path / "file.jpg", model=SureOfUprightRed(),
                                    background="white", jpeg=True)

    def chatty_model(model, engine="auto"):  # as a library may print, from Python or from C code
        print("printed by Python")
        os.write(1, b"written to the file descriptor\n")
        return SureOfUprightRed()

    monkeypatch.setattr(predict, "resolve_model", chatty_model)
    monkeypatch.setattr(sys, "stdin", stdin_holding(content))
    assert predict.main(["-", "-"]) == 0
    piped = capfdbinary.readouterr()
    assert piped.out == (tmp_path / "file.png").read_bytes()
    assert b"printed by Python" in piped.err and b"written to the file descriptor" in piped.err
    assert b"1 processed" in piped.err
    cutout = cv2.imdecode(np.frombuffer(piped.out, np.uint8), cv2.IMREAD_UNCHANGED)
    assert cutout.shape == (120, 90, 4) and cutout[:, :40, 3].max() == 0 and cutout[30:90, 60:70, 3].min() > 250
    assert Image.open(io.BytesIO(piped.out)).info.get("icc_profile") == display_p3

    # Piped in to the file named; from a file piped out, in the format chosen.
    monkeypatch.setattr(sys, "stdin", stdin_holding(content))
    assert predict.main(["-", str(tmp_path / "named.png"), "--quiet"]) == 0
    assert (tmp_path / "named.png").read_bytes() == (tmp_path / "file.png").read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cutout.png", "file.jpg", "file.png", "named.png"]
    capfdbinary.readouterr()  # (the model's chatter: standard output is free when nothing is piped out)
    assert predict.main([str(tmp_path / "cutout.png"), "-", "--background", "white", "--jpeg", "--quiet"]) == 0
    assert capfdbinary.readouterr().out == (tmp_path / "file.jpg").read_bytes()
    assert predict.main([str(tmp_path / "cutout.png"), "-", "--webp", "--quiet"]) == 0
    as_webp = capfdbinary.readouterr().out
    assert as_webp[:4] == b"RIFF" and as_webp[8:12] == b"WEBP"
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(as_webp, np.uint8), cv2.IMREAD_UNCHANGED)[..., 3],
                                  cutout[..., 3])


@pytest.mark.parametrize("inputs, output, stdin, stdout, says", [
    (["-"], "-", b"", None, "input -: nothing was piped in (standard input is empty)"),
    (["-"], "-", b"not a photo", None, "input - (the photo piped in): not an image but text, beginning 'not a photo'"),
    (["-"], "-", b"\xff\xd8\xff\xe0" + bytes(60), None, "input - (the photo piped in): a JPEG cut short after 64 bytes "
                                                         "(a download or copy that did not finish?)"),
    (["-", "{tmp}/a.jpg"], "{tmp}/out", b"", None, "input - (a photo piped in) comes alone"),
    (["-"], "{tmp}", b"", None, "a photo piped in (input -) has no name to give its output in the folder {tmp}: "
                                "name the output file (cutout.png), or - to pipe it out"),
    (["{tmp}"], "-", None, None, "output - (standard output) holds one output: give one photo, or a folder"),
    (["{tmp}/*.jpg"], "-", None, None, "output - (standard output) holds one output"),
    (["-"], "{tmp}/cutout.png", "terminal", None, "standard input is the terminal: pipe one in"),
    (["{tmp}/a.jpg"], "-", None, "terminal", "standard output, which is the terminal: redirect it (> cutout.png)"),
])
def test_what_cannot_be_piped_is_refused_before_the_model_is_loaded(tmp_path, rng, monkeypatch, capfdbinary,
                                                                     inputs, output, stdin, stdout, says):
    save(tmp_path / "a.jpg", photo(rng))
    save(tmp_path / "b.jpg", photo(rng))
    monkeypatch.setattr(predict, "resolve_model", lambda *args: pytest.fail("the model was loaded"))
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", Terminal() if stdin == "terminal" else stdin_holding(stdin))
    if stdout is not None:
        monkeypatch.setattr(sys, "stdout", Terminal())
    status = predict.main([given.format(tmp=tmp_path) for given in inputs] + [output.format(tmp=tmp_path)])
    assert status == 2
    captured = capfdbinary.readouterr()
    assert says.format(tmp=tmp_path) in captured.err.decode()
    assert captured.out == b""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.jpg", "b.jpg"]


def test_a_list_of_photos_piped_to_an_output_piped_out_is_read_once(tmp_path, rng, monkeypatch, capfdbinary):
    # As `predict.py @<(find ...) -` passes a pipe, which reads empty the second time.
    save(tmp_path / "a.png", photo(rng))
    predict.remove_background_files(tmp_path / "a.png", tmp_path / "file.png", model=SureOfUprightRed())
    read_name_list, reads = data.read_name_list, []

    def read_like_a_pipe(path, what="names"):
        reads.append(path)
        return read_name_list(path, what) if len(reads) == 1 else []

    monkeypatch.setattr(data, "read_name_list", read_like_a_pipe)
    monkeypatch.setattr(predict, "resolve_model", lambda *args: SureOfUprightRed())
    (tmp_path / "picked.txt").write_text(f"{tmp_path / 'a.png'}\n")
    assert predict.main([f"@{tmp_path / 'picked.txt'}", "-", "--quiet"]) == 0
    assert capfdbinary.readouterr().out == (tmp_path / "file.png").read_bytes()
    assert reads == [str(tmp_path / "picked.txt")]


def test_a_pipe_closed_before_the_output_is_written_whole_is_an_error_not_a_traceback(monkeypatch):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader gone, as "| head -c 100" goes
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.FileIO(write_end, "w")))
    with pytest.raises(predict.PredictError, match="output -: the pipe was closed before the whole output was written"):
        predict.pipe_out(b"\x89PNG" * 100_000)
    sys.stdout.write("what Python flushes at exit")
    sys.stdout.flush()  # now into the null device, not an error again


def test_a_tiny_memory_budget_still_processes_every_photo_identically(tmp_path, tiny_model, rng):
    for index in range(5):
        save(tmp_path / "in" / f"{index}.png", photo(rng))
    save(tmp_path / "in" / "bad.jpg", np.zeros((1, 1, 3), np.uint8)).write_bytes(b"broken")
    normal = predict.remove_background_files(tmp_path / "in", tmp_path / "normal", model=tiny_model, batch_size=4)
    # A budget of one pixel: every photo is sent to the model and written before the next is read.
    tight = predict.remove_background_files(tmp_path / "in", tmp_path / "tight", model=tiny_model, batch_size=4,
                                            pixel_budget=1)
    assert (normal.processed, len(normal.failed)) == (tight.processed, len(tight.failed)) == (5, 1)
    for index in range(5):
        normal_pixels = read_output(tmp_path / "normal" / f"{index}.png").astype(int)
        tight_pixels = read_output(tmp_path / "tight" / f"{index}.png").astype(int)
        assert np.abs(normal_pixels - tight_pixels).max() <= 1  # batch size may move the last bit of the alpha


def test_more_reading_and_writing_threads_write_the_same_outputs(tmp_path, tiny_model, rng):
    for index in range(6):
        save(tmp_path / "in" / f"{index}.png", photo(rng))
    one = predict.remove_background_files(tmp_path / "in", tmp_path / "one", model=tiny_model, batch_size=4, workers=1)
    five = predict.remove_background_files(tmp_path / "in", tmp_path / "five", model=tiny_model, batch_size=4, workers=5)
    assert one.processed == five.processed == 6
    for index in range(6):
        np.testing.assert_array_equal(read_output(tmp_path / "one" / f"{index}.png"),
                                      read_output(tmp_path / "five" / f"{index}.png"))


def test_the_default_thread_count_follows_the_cpus_from_two_to_eight(tmp_path, monkeypatch):
    for cpus, workers in [(1, 2), (2, 2), (4, 4), (8, 8), (64, 8)]:
        monkeypatch.setattr(predict, "usable_cpus", lambda: cpus)
        assert predict.default_workers() == workers
    monkeypatch.undo()
    # The CPUs this process is pinned to, or where that cannot be asked, the machine's.
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert predict.usable_cpus() == 3
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 12)
    assert predict.usable_cpus() == 12
    monkeypatch.undo()
    assert predict.parse_args([str(tmp_path), str(tmp_path / "out")]).workers == predict.WORKERS
    assert predict.parse_args([str(tmp_path), str(tmp_path / "out"), "--workers", "3"]).workers == 3
    with pytest.raises(SystemExit):
        predict.parse_args([str(tmp_path), str(tmp_path / "out"), "--workers", "0"])


class PixelsHeld:
    """Stand-ins for cutouts' read and write that count the pixels of the
    photos decoded and not yet written, and the most held at once."""

    def __init__(self, sizes, unreadable=(), unwritable=()):
        self.sizes, self.unreadable, self.unwritable = sizes, unreadable, unwritable
        self.lock, self.now, self.most = threading.Lock(), 0, 0

    def read(self, job):
        if job[0] in self.unreadable:
            raise data.DatasetError(f"{job[0]}: not a readable image")
        image = np.zeros((*self.sizes[job[0]], 3), np.uint8)
        with self.lock:
            self.now += image.shape[0] * image.shape[1]
            self.most = max(self.most, self.now)
        return image, None

    def write(self, job, image, look):
        with self.lock:
            self.now -= image.shape[0] * image.shape[1]
        if job[0] in self.unwritable:
            raise OSError("disk full")
        return f"{job[1]} {look}"


def test_cutouts_decode_photos_only_within_the_pixel_budget_from_the_first_batch_on():
    sizes = {f"{index}.jpg": (1000, 1000) for index in range(60)}  # a megapixel each
    for budget, most_photos in ((1, 1), (3_500_000, 4), (10**9, 40)):
        held = PixelsHeld(sizes)
        jobs = [(name, name.replace(".jpg", ".png")) for name in sizes]
        outcomes = list(predict.cutouts(jobs, held.read, lambda images, inputs: ["look"] * len(images), held.write,
                                        batch_size=8, pixel_budget=budget))
        assert outcomes == [(name, f"{output} look", None) for name, output in jobs]
        # Beyond the budget, one photo more at most; and never more than five batches: two
        # read ahead, one at the model, two being written.
        assert held.most <= most_photos * 1_000_000, budget


def test_cutouts_report_each_failure_by_photo_and_go_on():
    sizes = {f"{index}.jpg": (100 + index, 50) for index in range(7)}
    held = PixelsHeld(sizes, unreadable={"2.jpg"}, unwritable={"5.jpg"})
    jobs = [(name, name.replace(".jpg", ".png")) for name in sizes]
    outcomes = list(predict.cutouts(jobs, held.read, lambda images, inputs: [image.shape[0] for image in images],
                                    held.write, batch_size=3))
    assert sorted(outcomes) == sorted([("2.jpg", None, "2.jpg: not a readable image"),
                                       ("5.jpg", None, "5.jpg: cannot write output (disk full)")]
                                      + [(name, f"{output} {100 + index}", None) for index, (name, output) in enumerate(jobs)
                                         if name not in ("2.jpg", "5.jpg")])
    assert held.now == 0


def test_cutouts_interrupted_read_no_photo_more_and_finish_the_writes_under_way():
    sizes = {f"{index}.jpg": (10, 10) for index in range(20)}
    held, reads, writes = PixelsHeld(sizes), [], []

    def slow_read(job):
        reads.append(job[0])
        time.sleep(0.05)
        return held.read(job)

    def look(images, inputs):
        if writes:  # the second batch: Ctrl-C while the first one's writes are under way
            raise KeyboardInterrupt
        writes.append("started")
        return ["look"] * len(images)

    def slow_write(job, image, look):
        time.sleep(0.2)
        return held.write(job, image, look)

    jobs = [(name, name.replace(".jpg", ".png")) for name in sizes]
    with pytest.raises(KeyboardInterrupt):
        list(predict.cutouts(jobs, slow_read, look, slow_write, batch_size=4, workers=1))
    # Eight photos were read for two batches, and eight more queued behind them (15 were read before):
    # the one being read is finished, those not yet begun are dropped (a slow machine may begin another).
    assert 8 <= len(reads) <= 11
    assert held.now == len(reads) * 100 - 4 * 100  # the first batch's four photos written, none left half-done


def test_a_run_interrupted_says_how_to_go_on_and_lists_every_output_it_wrote(tmp_path, tiny_model_path, rng, capsys,
                                                                             monkeypatch):
    for index in range(6):
        save(tmp_path / "in" / f"{index}.jpg", photo(rng))
    look_at_batch, batches = predict.look_at_batch, []

    def interrupted_at_the_second_batch(*args, **options):
        batches.append(len(args[1]))
        if len(batches) == 2:
            raise KeyboardInterrupt
        return look_at_batch(*args, **options)

    monkeypatch.setattr(predict, "look_at_batch", interrupted_at_the_second_batch)
    arguments = [str(tmp_path / "in"), str(tmp_path / "out"), "--model", str(tiny_model_path), "--batch-size", "2"]
    assert predict.main(arguments) == 130
    assert "interrupted: the outputs written so far are kept" in capsys.readouterr().err
    written = sorted(path.name for path in (tmp_path / "out").glob("*.png"))
    assert written == ["0.png", "1.png"]
    assert sorted(row.output for row in predict.read_sureness(tmp_path / "out" / predict.SURENESS_FILE)) == written
    monkeypatch.setattr(predict, "look_at_batch", look_at_batch)
    assert predict.main(arguments) == 0
    assert "4 processed, 2 skipped (output exists), 0 failed" in capsys.readouterr().err
    assert len(predict.read_sureness(tmp_path / "out" / predict.SURENESS_FILE)) == 6


def script_the_waits(monkeypatch, steps, look):
    """Stands in for --watch's waits: at each, what `look()` sees is noted,
    then the next of `steps` happens (what happens in the folders meanwhile),
    and after the last, Ctrl-C, which is how watching ends. Returns the list
    of what was seen, one item a wait."""
    looks = []

    def wait(seconds):
        assert seconds == watching.WATCH_EVERY
        looks.append(look())
        if len(looks) > len(steps):
            raise KeyboardInterrupt
        steps[len(looks) - 1]()

    monkeypatch.setattr(watching, "wait_for_photos", wait)
    return looks


def fill_the_disk(monkeypatch, room, free=100):
    """Stands in for a drive that holds `room` more outputs (PNGs), after
    which writing one fails as a full disk does, and that says `free` bytes
    are free; returns the dict of both, for a test to change."""
    disk, replace_atomically = {"room": room, "free": free}, outputs.replace_atomically

    def write_while_there_is_room(path, content):
        if path.suffix == ".png":
            if disk["room"] == 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            disk["room"] -= 1
        replace_atomically(path, content)

    monkeypatch.setattr(outputs, "replace_atomically", write_while_there_is_room)
    monkeypatch.setattr(watching, "free_space", lambda folder: disk["free"])
    return disk


def count_reads(monkeypatch):
    """The names of the photos read from now on, a list that grows."""
    read_photo, reads = predict.read_photo, []
    monkeypatch.setattr(predict, "read_photo", lambda job, size: reads.append(job[0].name) or read_photo(job, size))
    return reads


def test_watch_cuts_out_each_photo_that_comes_in_once_whole_and_tries_a_failed_one_again_once_changed(
        tmp_path, monkeypatch, rng, caplog):
    folder, out = tmp_path / "in", tmp_path / "out"
    save(folder / "first.jpg", photo(rng))
    whole = save(tmp_path / "whole.jpg", photo(rng)).read_bytes()
    reads = count_reads(monkeypatch)

    def outputs():
        return sorted(path.name for path in out.glob("*.png"))

    steps = [  # what happens in the folder during each wait
        lambda: (folder / "a.jpg").write_bytes(whole[:len(whole) // 2]),  # a photo being copied in ...
        lambda: (folder / "a.jpg").write_bytes(whole),                    # ... whole now, but changed since the look
        lambda: (folder / "bad.jpg").write_bytes(b"not a photo"),         # a stable a.jpg is cut out at this look
        lambda: None,                                                     # bad.jpg, stable, fails
        lambda: None,                                                     # ... and is not tried again unchanged
        lambda: (folder / "bad.jpg").write_bytes(whole),                  # replaced: tried again once stable
        lambda: None,
    ]
    # The outputs there, and the photos read so far, as each wait before a look begins.
    looks = script_the_waits(monkeypatch, steps, lambda: (outputs(), sorted(reads)))
    caplog.set_level(logging.INFO)
    summary = predict.remove_background_files(folder, out, model=SureOfUprightRed(), watch=True)
    assert looks == [
        (["first.png"], ["first.jpg"]),                                # before the first look
        (["first.png"], ["first.jpg"]),                                # a.jpg seen half-copied: it waits
        (["first.png"], ["first.jpg"]),                                # a.jpg changed since
        (["a.png", "first.png"], ["a.jpg", "first.jpg"]),              # a.jpg unchanged: cut out
        (["a.png", "first.png"], ["a.jpg", "bad.jpg", "first.jpg"]),   # bad.jpg failed
        (["a.png", "first.png"], ["a.jpg", "bad.jpg", "first.jpg"]),   # ... and was not read again, unchanged
        (["a.png", "first.png"], ["a.jpg", "bad.jpg", "first.jpg"]),   # bad.jpg replaced: changed since the look
        (["a.png", "bad.png", "first.png"], ["a.jpg", "bad.jpg", "bad.jpg", "first.jpg"]),  # ... cut out
    ]
    assert sorted(reads) == ["a.jpg", "bad.jpg", "bad.jpg", "first.jpg"]
    np.testing.assert_array_equal(read_output(out / "a.png"),
                                  predict.remove_background(tmp_path / "whole.jpg", model=SureOfUprightRed()))
    assert f"failed: {folder / 'bad.jpg'}: not an image but text, beginning 'not a photo'" in caplog.text
    assert (summary.processed, summary.skipped, summary.failed) == (3, 0, [])  # the failure mended
    assert sorted(row.output for row in predict.read_sureness(out / predict.SURENESS_FILE)) == outputs()
    assert "stopped watching" in caplog.text


@pytest.mark.parametrize("overwrite", [False, True])
def test_watch_cuts_out_a_photo_changed_since_its_output_was_made_again_only_with_overwrite(
        tmp_path, monkeypatch, rng, overwrite):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed())
    made = (tmp_path / "out" / "a.png").stat().st_mtime_ns
    changed = photo(rng, 80, 60)
    steps = [lambda: save(tmp_path / "in" / "a.jpg", changed), lambda: None]
    looks = script_the_waits(monkeypatch, steps, lambda: read_output(tmp_path / "out" / "a.png").shape)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed(),
                                              overwrite=overwrite, watch=True)
    if overwrite:  # made again at the start, and again for the photo changed
        assert looks == [(60, 40, 4), (60, 40, 4), (80, 60, 4)] and summary.processed == 2
    else:
        assert looks == [(60, 40, 4)] * 3 and (summary.processed, summary.skipped) == (0, 1)
        assert (tmp_path / "out" / "a.png").stat().st_mtime_ns == made


def test_watch_on_a_folder_without_photos_yet_waits_for_them_without_calling_it_empty(
        tmp_path, monkeypatch, rng, caplog):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.txt").write_text("shot list")
    steps = [lambda: save(folder / "a.jpg", photo(rng)), lambda: None]
    looks = script_the_waits(monkeypatch, steps, lambda: pngs_in(tmp_path / "out"))
    caplog.set_level(logging.INFO)
    summary = predict.remove_background_files(folder, tmp_path / "out", model=SureOfUprightRed(), watch=True)
    assert looks == [[], [], ["a.png"]] and summary.processed == 1
    assert "no photos in" not in caplog.text  # what a folder to watch is for
    assert f"watching {folder} for photos that come in (every 2 s); Ctrl-C stops" in caplog.text
    assert "not a photo format this tool reads (.jpg" in caplog.text and "notes.txt" in caplog.text  # still said
    caplog.clear()
    (folder / "a.jpg").unlink()
    assert predict.remove_background_files(folder, tmp_path / "more", model=SureOfUprightRed()).processed == 0
    assert f"no photos in {folder}" in caplog.text  # not watched: worth a warning


def test_watch_matches_its_patterns_again_at_each_look_and_passes_over_an_input_deleted_since(
        tmp_path, monkeypatch, rng):
    (tmp_path / "incoming").mkdir()
    kept = save(tmp_path / "kept.jpg", photo(rng))
    steps = [lambda: [save(tmp_path / "incoming" / name, photo(rng)) for name in ("a.jpg", "b.png")],
             lambda: None,           # a.jpg, stable, is cut out; b.png matches no pattern
             lambda: kept.unlink(),  # a photo given by name, cut out at the start, deleted
             lambda: None]
    looks = script_the_waits(monkeypatch, steps, lambda: pngs_in(tmp_path / "out"))
    pattern = str(tmp_path / "incoming" / "*.jpg")  # as quoted on the command line: it matches nothing yet
    with pytest.raises(predict.PredictError, match="matches no file"):
        predict.remove_background_files([pattern, kept], tmp_path / "out", model=SureOfUprightRed())
    summary = predict.remove_background_files([pattern, kept], tmp_path / "out", model=SureOfUprightRed(), watch=True)
    assert looks == [["kept.png"], ["kept.png"], ["a.png", "kept.png"], ["a.png", "kept.png"], ["a.png", "kept.png"]]
    assert summary.processed == 2 and not summary.failed
    # A pattern whose folder is not there (mistyped) would be watched for ever, for photos that cannot come in.
    with pytest.raises(data.DatasetError, match=re.escape(f"input {tmp_path / 'incomming' / '*.jpg'}: the folder "
                                                          f"{tmp_path / 'incomming'} is not there, so no photo can "
                                                          f"come into it")):
        predict.remove_background_files([str(tmp_path / "incomming" / "*.jpg")], tmp_path / "out",
                                        model=SureOfUprightRed(), watch=True)


def test_watch_says_once_when_a_watched_folder_goes_and_its_list_cannot_be_read_and_goes_on_when_they_are_back(
        tmp_path, monkeypatch, rng, caplog):
    folder, listed, away = tmp_path / "in", tmp_path / "picked.txt", tmp_path / "away"
    save(folder / "a.jpg", photo(rng))
    save(tmp_path / "b.jpg", photo(rng))
    listed.write_text(f"{tmp_path / 'b.jpg'}\n")
    steps = [lambda: folder.rename(away),                  # a drive unplugged, a share gone
             lambda: listed.unlink(),                      # a list deleted, being replaced
             lambda: None,                                 # both still so: not said again
             lambda: (away.rename(folder), save(folder / "c.jpg", photo(rng)), listed.write_text("")),
             lambda: None]                                 # c.jpg, stable, is cut out
    looks = script_the_waits(monkeypatch, steps, lambda: pngs_in(tmp_path / "out"))
    caplog.set_level(logging.INFO)
    summary = predict.remove_background_files([folder, f"@{listed}"], tmp_path / "out", model=SureOfUprightRed(),
                                              watch=True)
    assert looks == [["a.png", "b.png"]] * 5 + [["a.png", "b.png", "c.png"]]
    assert (summary.processed, summary.failed) == (3, [])
    said = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert said[1:-1] == [
        ("WARNING", f"{folder} is gone (moved, deleted, or its drive unplugged): watching for it to come back"),
        ("WARNING", f"cannot look at the inputs: {listed}: cannot read the list of photos (No such file or "
                    f"directory); looking again every 2 s"),
        ("INFO", f"{folder} is back: watching it again"),
        ("INFO", "the inputs can be looked at again"),
        ("INFO", f"cut out 1 photo that came in: {folder / 'c.jpg'}"),  # a look's line in a service's log
    ]
    assert said[-1] == ("INFO", "stopped watching")


def test_watch_says_once_when_a_sub_folder_cannot_be_read_and_cuts_out_its_photos_once_it_can(
        tmp_path, monkeypatch, rng, caplog):
    for name in ("a.jpg", "locked/b.jpg"):
        save(tmp_path / "in" / name, photo(rng))
    lock = lock_folders_named("locked", monkeypatch)
    steps = [lambda: None, lambda: lock.update(locked=False), lambda: None]  # b.jpg: seen, then unchanged: cut out
    looks = script_the_waits(monkeypatch, steps, lambda: pngs_in(tmp_path / "out"))
    caplog.set_level(logging.INFO)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed(),
                                              recursive=True, watch=True)
    assert looks == [["a.png"]] * 3 + [["a.png", "locked/b.png"]] and summary.processed == 2
    locked = tmp_path / "in" / "locked"
    said = [(record.levelname, record.getMessage()) for record in caplog.records if "locked" in record.getMessage()]
    assert said == [
        ("WARNING", f"cannot read the folder {locked} (Permission denied): its photos are left out"),  # the start
        ("WARNING", f"cannot read the folder {locked} (Permission denied): its photos wait until it can be read"),
        ("INFO", f"the folder {locked} can be read again"),
        ("INFO", f"cut out 1 photo that came in: {locked / 'b.jpg'}"),
    ]


def test_watch_says_once_when_the_output_folder_cannot_be_written_and_its_photos_wait_until_it_can(
        tmp_path, monkeypatch, rng, caplog):
    folder, out = tmp_path / "in", tmp_path / "out"
    save(folder / "a.jpg", photo(rng))
    forbid = forbid_writing_to(out, monkeypatch)
    forbid.update(forbidden=False)
    steps = [lambda: (shutil.rmtree(out), out.write_text("not a folder"), save(folder / "b.jpg", photo(rng))),
             lambda: None,                                       # still so: not said again
             lambda: out.unlink(),                               # the folder is made again; b.jpg seen
             lambda: None,                                       # b.jpg, unchanged, is cut out
             lambda: (forbid.update(forbidden=True), save(folder / "c.jpg", photo(rng))),
             lambda: None,
             lambda: forbid.update(forbidden=False),
             lambda: None]                                       # c.jpg, unchanged, is cut out
    looks = script_the_waits(monkeypatch, steps, lambda: pngs_in(out) if out.is_dir() else None)
    caplog.set_level(logging.INFO)
    summary = predict.remove_background_files(folder, out, model=SureOfUprightRed(), watch=True)
    assert looks == [["a.png"], None, None, [], ["b.png"], ["b.png"], ["b.png"], ["b.png"], ["b.png", "c.png"]]
    assert (summary.processed, summary.failed) == (3, [])  # b.jpg and c.jpg waited, rather than failed
    said = [(record.levelname, record.getMessage()) for record in caplog.records]
    waits = "; the photos that come in wait until it can be written"
    assert said[1:-1] == [
        ("WARNING", f"cannot make the output folder {out}: File exists{waits}"),
        ("INFO", f"the output folder {out} can be written again"),
        ("INFO", f"cut out 1 photo that came in: {folder / 'b.jpg'}"),
        ("WARNING", f"cannot write to the output folder {out}: its permissions, or a drive mounted read-only, "
                    f"forbid it{waits}"),
        ("INFO", f"the output folder {out} can be written again"),
        ("INFO", f"cut out 1 photo that came in: {folder / 'c.jpg'}"),
    ]


def test_an_output_whose_folder_cannot_be_searched_does_not_end_the_run(tmp_path, monkeypatch, rng):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    is_file = Path.is_file

    def is_file_but_locked(path):  # its folder cannot be searched, as permissions make it for anyone but root
        if path.parent == tmp_path / "out":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return is_file(path)

    monkeypatch.setattr(Path, "is_file", is_file_but_locked)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed())
    assert (summary.processed, summary.failed) == (1, [])
    monkeypatch.setattr(Path, "is_file", is_file)
    assert pngs_in(tmp_path / "out") == ["a.png"]


@pytest.mark.parametrize("mended", [True, False])
def test_watch_tries_a_photo_whose_output_could_not_be_written_again_until_it_is(tmp_path, monkeypatch, rng, mended):
    folder, out = tmp_path / "in", tmp_path / "out"
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        save(folder / name, photo(rng))
    lock, replace_atomically = {"b.png": True}, outputs.replace_atomically

    def write_unless_locked(path, content):  # b.png's folder out of reach, as a network drive's blip leaves it
        if lock.get(path.name):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        if path.name == "c.png":  # the photo's own trouble, as a panorama too wide for WebP: not tried again
            raise ValueError("too wide")
        replace_atomically(path, content)

    monkeypatch.setattr(outputs, "replace_atomically", write_unless_locked)
    monkeypatch.setattr(watching, "WRITE_RETRY_FIRST_SECONDS", 0.0)  # a try at each look, rather than a minute on
    reads = count_reads(monkeypatch)
    steps = [lambda: None, lambda: lock.update({"b.png": not mended}), lambda: None]
    looks = script_the_waits(monkeypatch, steps, lambda: (pngs_in(out), reads.count("b.jpg")))
    summary = predict.remove_background_files(folder, out, model=SureOfUprightRed(), watch=True)
    too_wide = (folder / "c.jpg", f"{folder / 'c.jpg'}: cannot write output (too wide)")
    assert reads.count("c.jpg") == 1
    if mended:
        assert looks == [(["a.png"], 1), (["a.png"], 2), (["a.png", "b.png"], 3), (["a.png", "b.png"], 3)]
        assert (summary.processed, summary.failed) == (2, [too_wide])
    else:
        assert looks == [(["a.png"], 1), (["a.png"], 2), (["a.png"], 3), (["a.png"], 4)]
        assert summary.processed == 1  # and its failure listed once, not once a try
        assert sorted(summary.failed) == [(folder / "b.jpg", f"{folder / 'b.jpg'}: cannot write output ([Errno 13] "
                                                             f"Permission denied: '{out / 'b.png'}')"), too_wide]


@pytest.mark.parametrize("slow_to_record", [False, True])
def test_watch_lists_its_outputs_after_each_look_unless_that_takes_long_and_all_of_them_at_its_end(
        tmp_path, monkeypatch, rng, slow_to_record):
    folder, out = tmp_path / "in", tmp_path / "out"
    save(folder / "a.jpg", photo(rng))
    # As if each record took a long time against the time between them (a list of many outputs), or none: either
    # way not left to a record's real time, which this machine's load decides (it failed a run on a busy machine).
    monkeypatch.setattr(watching, "RECORD_TIME_SHARE", 1e-9 if slow_to_record else float("inf"))
    steps = [lambda: save(folder / "b.jpg", photo(rng)), lambda: None, lambda: save(folder / "c.jpg", photo(rng)),
             lambda: None]
    sureness = out / predict.SURENESS_FILE
    looks = script_the_waits(monkeypatch, steps, lambda: sorted(row.output for row in predict.read_sureness(sureness))
                             if sureness.exists() else None)
    summary = predict.remove_background_files(folder, out, model=SureOfUprightRed(), watch=True)
    assert summary.processed == 3
    if slow_to_record:  # the first record, then none until the watch ends
        assert looks == [None, ["a.png"], ["a.png"], ["a.png"], ["a.png"]]
    else:  # a.png listed at the first look, b.png once cut out at the second, c.png at the fourth
        assert looks == [None, ["a.png"], ["a.png", "b.png"], ["a.png", "b.png"], ["a.png", "b.png", "c.png"]]
    assert sorted(row.output for row in predict.read_sureness(sureness)) == ["a.png", "b.png", "c.png"]


def test_watch_still_ends_on_two_photos_come_in_for_one_output(tmp_path, monkeypatch, rng):
    first, second = tmp_path / "first", tmp_path / "second"
    save(first / "a.jpg", photo(rng))
    second.mkdir()
    script_the_waits(monkeypatch, [lambda: save(second / "a.jpg", photo(rng))], lambda: None)
    with pytest.raises(predict.PredictError, match="would be written to one file"):
        predict.remove_background_files([first, second], tmp_path / "out", model=SureOfUprightRed(), watch=True)
    assert (tmp_path / "out" / "a.png").is_file()


def test_watch_takes_folders_not_pipes_nor_an_output_file_named(tmp_path, rng, capsys):
    save(tmp_path / "a.jpg", photo(rng))
    with pytest.raises(SystemExit):
        predict.parse_args(["-", str(tmp_path / "out"), "--watch"])
    assert "--watch watches folders for the photos that come in: it takes no pipe (-)" in capsys.readouterr().err
    with pytest.raises(predict.PredictError, match=r"--watch .*: give a folder for the outputs, not the file .*cutout\.png"):
        predict.remove_background_files(tmp_path / "a.jpg", tmp_path / "cutout.png", model=SureOfUprightRed(), watch=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.jpg"]


def wait_until(condition, seconds):
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            pytest.fail(f"not so after {seconds} s")
        time.sleep(0.2)


def test_watch_on_the_command_line_cuts_out_a_photo_that_comes_in_and_stops_on_sigterm_as_on_ctrl_c(
        tmp_path, tiny_model_path, rng):
    save(tmp_path / "in" / "first.jpg", photo(rng))
    out = tmp_path / "out"
    command = [sys.executable, str(REPO_DIR / "predict.py"), str(tmp_path / "in"), str(out), "--watch",
               "--model", str(tiny_model_path)]
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(command, stderr=stderr)
        try:
            wait_until((out / "first.png").exists, 180)
            save(tmp_path / "in" / "second.jpg", photo(rng))
            wait_until((out / "second.png").exists, 60)
            process.send_signal(signal.SIGTERM)  # as systemctl stop or docker stop stop a service
            assert process.wait(timeout=60) == 0
        finally:
            process.kill()
    said = (tmp_path / "stderr.txt").read_text()
    assert "stopped watching" in said and "2 processed, 0 skipped (output exists), 0 failed" in said
    assert sorted(row.output for row in predict.read_sureness(out / predict.SURENESS_FILE)) == ["first.png", "second.png"]


def test_a_full_disk_stops_the_run_saying_so_and_keeps_what_was_written(tmp_path, tiny_model, rng, monkeypatch):
    for index in range(30):
        save(tmp_path / "in" / f"{index:02d}.jpg", photo(rng))
    fill_the_disk(monkeypatch, room=2)
    read = count_reads(monkeypatch)
    with pytest.raises(predict.PredictError, match=re.escape(
            f"cannot write {tmp_path / 'out' / '02.png'}: No space left on device; the outputs written so far are kept: "
            f"make room and run the same command again")):
        predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=tiny_model, batch_size=2, workers=1)
    assert len(read) < 15  # not every photo read and put through the model for nothing
    assert sorted(path.name for path in (tmp_path / "out").glob("*.png")) == ["00.png", "01.png"]
    assert sorted(row.output for row in predict.read_sureness(tmp_path / "out" / predict.SURENESS_FILE)) == \
        ["00.png", "01.png"]


def test_watch_on_a_full_disk_says_so_once_and_cuts_out_the_photos_that_waited_once_there_is_room(
        tmp_path, monkeypatch, rng, caplog):
    folder, out = tmp_path / "in", tmp_path / "out"
    for name in ("a.jpg", "b.jpg"):
        save(folder / name, photo(rng))
    disk = fill_the_disk(monkeypatch, room=1)
    reads = count_reads(monkeypatch)
    steps = [lambda: save(folder / "c.jpg", photo(rng)),  # the space free unchanged: no photo tried
             lambda: None,                                # b.jpg and c.jpg ready, and still no photo tried
             lambda: disk.update(free=150),               # some space freed: b.jpg tried, and not written
             lambda: disk.update(room=10, free=10_000),   # room made: b.jpg tried and written, then c.jpg
             lambda: None]
    looks = script_the_waits(monkeypatch, steps, lambda: (pngs_in(out), sorted(reads)))
    caplog.set_level(logging.INFO)
    summary = predict.remove_background_files(folder, out, model=SureOfUprightRed(), watch=True, workers=1)
    assert looks == [
        (["a.png"], ["a.jpg", "b.jpg"]),                  # the start: b.jpg found the disk full
        (["a.png"], ["a.jpg", "b.jpg"]),
        (["a.png"], ["a.jpg", "b.jpg"]),
        (["a.png"], ["a.jpg", "b.jpg", "b.jpg"]),         # one photo through the model, not every one waiting
        (["a.png", "b.png", "c.png"], ["a.jpg", "b.jpg", "b.jpg", "b.jpg", "c.jpg"]),
        (["a.png", "b.png", "c.png"], ["a.jpg", "b.jpg", "b.jpg", "b.jpg", "c.jpg"]),
    ]
    assert (summary.processed, summary.failed) == (3, [])  # b.jpg and c.jpg waited, rather than failed
    said = [(record.levelname, record.getMessage()) for record in caplog.records if record.levelno >= logging.INFO]
    assert said[1:-1] == [
        ("WARNING", f"cannot write {out / 'b.png'}: No space left on device; the photos that come in wait until "
                    f"there is room (the outputs written so far are kept)"),
        ("INFO", f"cut out 1 photo that came in: {folder / 'b.jpg'}"),  # the one tried: there is room
        ("INFO", f"there is room to write in {out} again: the photos that waited are cut out"),
        ("INFO", f"cut out 1 photo that came in: {folder / 'c.jpg'}"),
    ]
    assert sorted(row.output for row in predict.read_sureness(out / predict.SURENESS_FILE)) == pngs_in(out)


def test_watch_on_a_full_disk_tries_again_now_and_then_and_stopped_so_ends_as_a_run_on_a_full_disk_does(
        tmp_path, monkeypatch, rng, capsys):
    save(tmp_path / "in" / "a.jpg", photo(rng))
    fill_the_disk(monkeypatch, room=0)
    reads = count_reads(monkeypatch)
    monkeypatch.setattr(watching, "ROOM_RETRY_SECONDS", 0.0)  # a quota raised shows in no space free: tried anyway
    looks = script_the_waits(monkeypatch, [lambda: None] * 2, lambda: len(reads))
    monkeypatch.setattr(predict, "resolve_model", lambda model, engine: SureOfUprightRed())
    assert predict.main([str(tmp_path / "in"), str(tmp_path / "out"), "--watch", "--quiet"]) == 2
    assert looks == [1, 2, 3]
    assert capsys.readouterr().err == (f"error: cannot write {tmp_path / 'out' / 'a.png'}: No space left on device; "
                                       f"the outputs written so far are kept: make room and run the same command "
                                       f"again\n")


def test_flip_tta_averages_the_masks_of_the_photo_and_its_mirror(tiny_model, rng):
    inputs = [data.preprocess_image(photo(rng), SIZE) for _ in range(3)]
    batch = np.stack(inputs).astype(np.float32)
    plain = np.asarray(tiny_model.predict_on_batch(batch))[..., 0]
    of_mirror = np.asarray(tiny_model.predict_on_batch(batch[:, :, ::-1]))[..., 0]
    assert not np.allclose(plain, of_mirror[:, :, ::-1], atol=1e-4)  # a random model is not mirror-symmetric
    np.testing.assert_allclose(segment.infer(tiny_model, inputs, flip_tta=True),
                               (plain + of_mirror[:, :, ::-1]) / 2, atol=1e-6)
    np.testing.assert_allclose(segment.infer(tiny_model, inputs), plain, atol=1e-6)


def test_flip_tta_option_reaches_the_written_cutouts(tmp_path, tiny_model_path, tiny_model, rng):
    rgb = photo(rng)
    save(tmp_path / "in" / "p.png", rgb)
    for flag, folder in (([], "plain"), (["--flip-tta"], "tta")):
        assert predict.main([str(tmp_path / "in"), str(tmp_path / folder), "--model", str(tiny_model_path),
                             "--quiet", *flag]) == 0
    expected = predict.remove_background(rgb, tiny_model, flip_tta=True)
    written = cv2.imread(str(tmp_path / "tta" / "p.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(written[..., 3], expected[..., 3])
    plain = cv2.imread(str(tmp_path / "plain" / "p.png"), cv2.IMREAD_UNCHANGED)
    assert not np.array_equal(plain[..., 3], written[..., 3])


def test_a_landscape_photo_reaches_the_model_letterboxed_and_its_cutout_loses_the_bars():
    class MarksWhatIsNotBar:
        """A stand-in model: person wherever its input is not the letterbox's grey."""
        input = type("Input", (), {"shape": (None, 64, 64, 3)})()
        seen = []

        def predict_on_batch(self, batch):
            self.seen.append(batch)
            return (batch[..., :1] != data.LETTERBOX_GREY).astype(np.float32)

    model = MarksWhatIsNotBar()
    landscape = np.full((90, 160, 3), 200, np.uint8)  # 16:9
    cutout = predict.remove_background(landscape, model=model)
    seen = model.seen[0][0]  # the first look (its tiles come after)
    top, rows = data.letterbox_band((90, 160), (64, 64))
    assert (top, rows) == (18, 27)  # 64 x (9/16) x (3/4) = 27 rows
    assert (seen[:top] == data.LETTERBOX_GREY).all() and (seen[top + rows:] == data.LETTERBOX_GREY).all()
    assert (seen[top:top + rows] == 200).all()
    # Upsampled from the band alone: the whole photo is person, to its top and bottom edges.
    assert cutout.shape == (90, 160, 4) and (cutout[..., 3] == 255).all()


def test_two_small_people_apart_both_get_a_second_look():
    photo = np.zeros((600, 1600, 3), np.uint8)
    photo[200:330, 190:221] = (255, 255, 255)    # two people 130 pixels tall, 1,200 pixels apart
    photo[200:330, 1390:1421] = (255, 255, 255)
    truth = (photo[..., 0] > 0).astype(np.uint8)
    model = MarksRed()
    with_close_ups = predict.remove_background(photo, model=model, mask_only=True)
    # Both crops in one call; then the photo's four tiles (see the tiles' tests), less sure of people this small.
    assert [batch.shape[0] for batch in model.batches] == [1, 2, 4]
    without = predict.remove_background(photo, model=MarksRed(), mask_only=True, close_up=False)
    assert scores.iou(truth, without >= 128) < 0.75 and scores.iou(truth, with_close_ups >= 128) > 0.9  # measured: 0.57 and 0.96
    for left, right in ((190, 221), (1390, 1421)):  # each person as sharp as the other
        person = slice(left - 20, right + 20)
        assert scores.iou(truth[:, person], with_close_ups[:, person] >= 128) > 0.9


def test_a_small_person_gets_a_second_sharper_look_unless_close_up_is_off():
    photo = np.zeros((600, 800, 3), np.uint8)
    photo[200:330, 390:421] = (255, 255, 255)  # a person 130 pixels tall in an 800-pixel-wide photo
    truth = (photo[..., 0] > 0).astype(np.uint8)
    model = MarksRed()
    with_close_up = predict.remove_background(photo, model=model, mask_only=True)
    assert [batch.shape[0] for batch in model.batches] == [1, 1, 2]  # the crop, a second call; then two tiles
    model = MarksRed()
    # (Its blurred mask of the small person would also get a turned look, which this test leaves out.)
    without = predict.remove_background(photo, model=model, mask_only=True, close_up=False, upright_only=True)
    assert len(model.batches) == 1
    assert scores.iou(truth, without >= 128) < 0.85 and scores.iou(truth, with_close_up >= 128) > 0.9  # measured: 0.81 and 0.93
    # Outside the crop the first pass's mask stands; the photo-size mask is what the files get too.
    assert (with_close_up[:, :300] == without[:, :300]).all()


def test_folders_get_the_same_close_up_as_single_photos(tmp_path):
    photo = np.zeros((600, 800, 3), np.uint8)
    photo[200:330, 390:421] = (255, 255, 255)
    save(tmp_path / "in" / "small.png", photo)
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=MarksRed(), mask_only=True)
    expected = predict.remove_background(photo, model=MarksRed(), mask_only=True)
    np.testing.assert_array_equal(read_output(tmp_path / "out" / "small.png"), expected)


def test_folders_and_single_photos_get_the_same_turned_look(tmp_path):
    photo, _ = lying_person()
    save(tmp_path / "in" / "lying.png", photo)
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=SureOfUprightRed(), mask_only=True)
    expected = predict.remove_background(photo, model=SureOfUprightRed(), mask_only=True)
    assert expected.max() == round(0.99 * 255)
    np.testing.assert_array_equal(read_output(tmp_path / "out" / "lying.png"), expected)
    predict.remove_background_files(tmp_path / "in", tmp_path / "upright", model=SureOfUprightRed(), mask_only=True,
                                    upright_only=True)
    assert read_output(tmp_path / "upright" / "lying.png").max() == round(0.6 * 255)


def test_upright_only_reaches_the_folder_run_from_the_command_line(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(predict, "remove_background_files", lambda *args, **options: seen.update(options) or predict.Summary())
    assert predict.main([str(tmp_path), str(tmp_path / "out"), "--upright-only", "--quiet"]) == 0
    assert seen["upright_only"] is True and seen["close_up"] is True
    predict.main([str(tmp_path), str(tmp_path / "out"), "--quiet"])
    assert seen["upright_only"] is False


def test_photos_and_folders_lose_the_specks_unless_keep_specks(tmp_path):
    photo, truth = person_with_a_speck()
    mask = predict.remove_background(photo, model=MarksRed(), mask_only=True)
    assert (mask[15:45, 185:215] == 0).all() and scores.iou(truth, mask >= 128) > 0.95
    kept = predict.remove_background(photo, model=MarksRed(), mask_only=True, keep_specks=True)
    assert (kept[23:31, 193:201] > 128).all()
    np.testing.assert_array_equal(np.where(mask[15:45, 185:215] == 0, kept[15:45, 185:215], 0), kept[15:45, 185:215])
    save(tmp_path / "in" / "speck.png", photo)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=MarksRed(), mask_only=True)
    np.testing.assert_array_equal(read_output(tmp_path / "out" / "speck.png"), mask)
    # The sureness listed is that of the model's mask, specks and all.
    models_mask = segment.predict_photo_masks(MarksRed(), [photo], keep_specks=True)[0]
    without = segment.predict_photo_masks(MarksRed(), [photo])[0]
    assert segment.judge(models_mask).sureness < segment.judge(without).sureness
    assert summary.judged[0].sureness == pytest.approx(segment.judge(models_mask).sureness)
    predict.remove_background_files(tmp_path / "in", tmp_path / "kept", model=MarksRed(), mask_only=True,
                                    keep_specks=True)
    np.testing.assert_array_equal(read_output(tmp_path / "kept" / "speck.png"), kept)


def test_keep_specks_reaches_the_folder_run_from_the_command_line(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(predict, "remove_background_files", lambda *args, **options: seen.update(options) or predict.Summary())
    assert predict.main([str(tmp_path), str(tmp_path / "out"), "--keep-specks", "--quiet"]) == 0
    assert seen["keep_specks"] is True
    predict.main([str(tmp_path), str(tmp_path / "out"), "--quiet"])
    assert seen["keep_specks"] is False


def test_main_person_reaches_photos_folders_and_the_command_line(tmp_path, monkeypatch):
    photo = np.zeros((240, 320, 3), np.uint8)
    photo[30:220, 40:120] = (255, 0, 0)    # the main person
    photo[120:200, 220:260] = (255, 0, 0)  # someone smaller, apart
    both = predict.remove_background(photo, model=MarksRed(), mask_only=True)
    main = predict.remove_background(photo, model=MarksRed(), mask_only=True, main_person=True)
    assert (both[130:190, 225:255] > 128).all() and (main[110:210, 210:270] == 0).all()
    np.testing.assert_array_equal(main[:, :200], both[:, :200])
    save(tmp_path / "in" / "two.png", photo)
    summary = predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=MarksRed(), main_person=True,
                                              crop=True)
    cutout = read_output(tmp_path / "out" / "two.png")
    assert cutout.shape[1] < 100  # cut to the main person alone
    # Judged as always, on the model's mask with everyone in it.
    models_mask = segment.predict_photo_masks(MarksRed(), [photo], keep_specks=True)[0]
    assert summary.judged[0].person_share == pytest.approx((models_mask >= 0.5).mean(), abs=1e-3)
    seen = {}
    monkeypatch.setattr(predict, "remove_background_files", lambda *args, **options: seen.update(options) or predict.Summary())
    assert predict.main([str(tmp_path / "in"), str(tmp_path / "cli"), "--main-person", "--quiet"]) == 0
    assert seen["main_person"] is True
    predict.main([str(tmp_path / "in"), str(tmp_path / "cli"), "--quiet"])
    assert seen["main_person"] is False


def test_crop_reaches_cutouts_composites_and_folder_runs(tmp_path, monkeypatch, capsys):
    photo = np.zeros((600, 400, 3), np.uint8)
    photo[200:500, 100:200] = (255, 255, 255)  # the person, 300 rows tall
    whole = predict.remove_background(photo, model=MarksRed())
    cutout = predict.remove_background(photo, model=MarksRed(), crop=True)
    np.testing.assert_array_equal(cutout, compose.crop_to_people(whole, whole[..., 3]))
    # The mask, upsampled from the model's 64 pixels, is about the person's 300x100; 2% of 300: 6 pixels of room.
    assert 306 <= cutout.shape[0] <= 316 and 106 <= cutout.shape[1] <= 118
    assert cutout[..., 3].sum(dtype=int) > 0.999 * whole[..., 3].sum(dtype=int)  # all of the person, soft edge and all
    assert (cutout[[0, -1], :, 3] < 128).all() and (cutout[:, [0, -1], 3] < 128).all()  # room all round
    wider = predict.remove_background(photo, model=MarksRed(), crop=True, crop_margin=0.1)
    assert wider.shape[0] - cutout.shape[0] == wider.shape[1] - cutout.shape[1] == 2 * (30 - 6)
    composite = predict.remove_background(photo, model=MarksRed(), background="black", crop=True)
    np.testing.assert_array_equal(composite, compose.crop_to_people(predict.remove_background(
        photo, model=MarksRed(), background="black"), whole[..., 3]))
    save(tmp_path / "in" / "tall.png", photo)
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=MarksRed(), crop=True)
    np.testing.assert_array_equal(read_output(tmp_path / "out" / "tall.png"), cutout)
    seen = {}
    monkeypatch.setattr(predict, "remove_background_files", lambda *args, **options: seen.update(options) or predict.Summary())
    assert predict.main([str(tmp_path), str(tmp_path / "cli"), "--crop", "--crop-margin", "0.1", "--quiet"]) == 0
    assert (seen["crop"], seen["crop_margin"]) == (True, 0.1)
    predict.main([str(tmp_path), str(tmp_path / "cli"), "--crop", "--quiet"])
    assert (seen["crop"], seen["crop_margin"]) == (True, compose.CROP_MARGIN)
    predict.main([str(tmp_path), str(tmp_path / "cli"), "--quiet"])
    assert seen["crop"] is False
    for margin in ("-0.1", "nan", "inf"):  # (nan and inf failed each photo, at its margin in pixels)
        with pytest.raises(SystemExit):
            predict.parse_args([str(tmp_path), str(tmp_path / "cli"), "--crop", "--crop-margin", margin])
        assert (f"--crop-margin must be a number, 0 or more (a share of the people's box); got {float(margin)}"
                in capsys.readouterr().err)
    with pytest.raises(SystemExit):  # a margin alone would change nothing, silently
        predict.parse_args([str(tmp_path), str(tmp_path / "cli"), "--crop-margin", "0.1"])
    with pytest.raises(SystemExit):  # the default margin named alone is as silent
        predict.parse_args([str(tmp_path), str(tmp_path / "cli"), "--crop-margin", str(compose.CROP_MARGIN)])


def test_canvas_reaches_cutouts_composites_masks_folders_and_the_command_line(tmp_path, monkeypatch, capsys):
    photo = np.zeros((600, 400, 3), np.uint8)
    photo[200:500, 100:200] = (255, 255, 255)  # the person, 300 rows tall, 100 wide
    cutout = predict.remove_background(photo, model=MarksRed(), canvas=(200, 200), crop_margin=0)
    assert cutout.shape == (200, 200, 4)
    top, bottom, left, right = boxed(cutout[..., 3])
    assert (top, bottom) == (0, 199) and abs((left + right) / 2 - 99.5) <= 1 and 62 <= right - left <= 72
    composite = predict.remove_background(photo, model=MarksRed(), canvas=(200, 200), background="#3366cc")
    assert composite.shape == (200, 200, 3) and composite[:, :20].reshape(-1, 3).tolist() == [[51, 102, 204]] * 4000
    backdrop = np.full((50, 80, 3), (0, 200, 0), np.uint8)
    behind = predict.remove_background(photo, model=MarksRed(), canvas=(200, 200), background=backdrop)
    assert (behind[:, :20] == (0, 200, 0)).all()  # the background photo covers the canvas
    mask = predict.remove_background(photo, model=MarksRed(), canvas=(200, 200), mask_only=True)
    np.testing.assert_array_equal(mask, predict.remove_background(photo, model=MarksRed(), canvas=(200, 200))[..., 3])
    with pytest.raises(predict.PredictError, match="--canvas and --background blur exclude each other"):
        predict.remove_background(photo, model=MarksRed(), canvas=(200, 200), background="blur")
    save(tmp_path / "in" / "tall.png", photo)
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=MarksRed(), canvas=(200, 200),
                                    crop_margin=0)
    np.testing.assert_array_equal(read_output(tmp_path / "out" / "tall.png"), cutout)

    seen = {}
    monkeypatch.setattr(predict, "remove_background_files", lambda *args, **options: seen.update(options) or predict.Summary())
    assert predict.main([str(tmp_path), str(tmp_path / "cli"), "--canvas", "1080x1350", "--crop-margin", "0.1"]) == 0
    assert (seen["canvas"], seen["crop_margin"]) == ("1080x1350", 0.1)
    assert predict.parse_canvas("1080x1350") == predict.parse_canvas("1080×1350") == (1080, 1350)
    for text in ("1080", "1080x", "0x100", "100x20000", "axb"):
        with pytest.raises(predict.PredictError, match=f"--canvas '{text}' is not WIDTHxHEIGHT in pixels"):
            predict.parse_canvas(text)
    for sides in ((0, 100), (100,), (1080.5, 1080), (100, 20000), (True, 100)):  # from Python: as the text is
        with pytest.raises(predict.PredictError, match=re.escape(f"canvas {sides!r} is not (width, height) in "
                                                                 f"pixels, each a whole number from 1 to 16384")):
            predict.remove_background(photo, model=MarksRed(), canvas=sides)
    assert predict.canvas_of(np.array([1080, 1350])) == (1080, 1350)
    with pytest.raises(SystemExit):
        predict.parse_args([str(tmp_path), str(tmp_path / "cli"), "--canvas", "100x100", "--crop"])
    assert "argument --crop: not allowed with argument --canvas" in capsys.readouterr().err


def test_the_bars_above_and_below_a_screenshot_are_transparent_in_its_cutout(tmp_path):
    screenshot = np.random.default_rng(0).integers(20, 120, (300, 200, 3), dtype=np.uint8)
    screenshot[:40], screenshot[260:] = (255, 0, 0), (255, 0, 0)  # red bars, which MarksRed takes for a person,
    screenshot[100:260, 90:110] = (200, 0, 0)                     # and a person on the photo's bottom edge
    save(tmp_path / "in" / "screenshot.png", screenshot)
    model = MarksRed()
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=model)
    # The model was shown the photo between the bars, as a photo of its own.
    np.testing.assert_array_equal(model.batches[0][0], data.preprocess_image(screenshot[40:260], (64, 64)))
    alphas = [read_output(tmp_path / "out" / "screenshot.png")[..., 3],
              predict.remove_background(screenshot, model=MarksRed())[..., 3]]
    for alpha in alphas:  # a folder's run and a single photo's
        assert (alpha[:40] == 0).all() and (alpha[260:] == 0).all()
        assert (alpha[110:255, 92:108] == 255).all()


def test_the_frame_round_a_print_is_transparent_in_its_cutout(tmp_path):
    inside = np.random.default_rng(0).integers(20, 120, (300, 200, 3), dtype=np.uint8)
    inside[100:300, 90:110] = (200, 0, 0)  # a person on the photo's bottom edge, whom MarksRed takes for one,
    scanned = cv2.copyMakeBorder(inside, 12, 36, 12, 12, cv2.BORDER_CONSTANT, value=(255, 0, 0))  # as the frame
    save(tmp_path / "in" / "print.png", scanned)
    predict.remove_background_files(tmp_path / "in", tmp_path / "out", model=MarksRed())
    alphas = [read_output(tmp_path / "out" / "print.png")[..., 3],
              predict.remove_background(scanned, model=MarksRed())[..., 3]]
    for alpha in alphas:  # a folder's run and a single photo's
        assert (alpha[:12] == 0).all() and (alpha[312:] == 0).all() and (alpha[:, :12] == 0).all()
        assert (alpha[:, 212:] == 0).all() and (alpha[120:308, 104:118] == 255).all()
