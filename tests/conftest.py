import io
import os
import struct
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_DIR = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_DIR.parent / "shared/data/people_segmentation"
sys.path.insert(0, str(REPO_DIR))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from People_Segmentation.make_sample import draw_person, write_sample  # noqa: E402

# A 2x4 example worked out by hand, for scores.py and metrics.py's Keras metrics alike.
# Person pixels (truth): (0,0) (0,1) (1,0). Predicted person (>= 0.5): (0,0) (0,2) (1,0) (1,2).
# TP = 2 [(0,0), (1,0)], FP = 2 [(0,2), (1,2)], FN = 1 [(0,1)], TN = 3.
HAND_TRUTH = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], np.float32)
HAND_SOFT = np.array([[0.9, 0.4, 0.6, 0.1], [0.7, 0.2, 0.55, 0.0]], np.float32)
HAND_SCORES = {"iou": 2 / 5, "dice": 4 / 7, "precision": 2 / 4, "recall": 2 / 3}


@pytest.fixture
def sample_dir(tmp_path):
    """A small generated dataset: images/sample_NNN.jpg + masks/sample_NNN.png."""
    return write_sample(tmp_path / "dataset", count=20, height=96, width=64, seed=1)


def write_png(path, array):
    """Writes `array` as an image file, its folder made where missing (the suffix picks the format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return path


def fake_pairs(count):
    """(image, mask) paths of `count` pairs named 000, 001, ..., for splitting (no files)."""
    return [(Path(f"images/{i:03d}.jpg"), Path(f"masks/{i:03d}.png")) for i in range(count)]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


class Terminal(io.StringIO):
    """A stream that says it is a terminal (progress bars are drawn on terminals only)."""

    def isatty(self):
        return True


def photo(rng, height=60, width=40):
    """A generated photo of a person (RGB uint8), as the sample's."""
    return draw_person(rng, height, width)[0]


def boxed(alpha):
    """(top, bottom, left, right) of an alpha's pixels at least half opaque, bottom and right inclusive."""
    rows, columns = np.nonzero(alpha >= 128)
    return rows.min(), rows.max(), columns.min(), columns.max()


class MarksRed:
    """A stand-in model at 64x64: person wherever the input's red channel is above half."""
    input = type("Input", (), {"shape": (None, 64, 64, 3)})()

    def __init__(self):
        self.batches = []

    def predict_on_batch(self, batch):
        self.batches.append(batch)
        return (batch[..., :1] > 128).astype(np.float32)


class FailsOnGreen(MarksRed):
    """MarksRed, but a batch holding an all-green photo is a ValueError: a
    photo the model (or a look at it) cannot take."""

    def predict_on_batch(self, batch):
        if any(image[..., 1].mean() > 200 and image[..., 0].mean() < 50 for image in batch):
            raise ValueError("cannot take this one")
        return super().predict_on_batch(batch)


class SureOfUprightRed:
    """A stand-in model at 64x64 that, like the real one, knows people upright
    only: person wherever the input's red channel is above half, with
    probability `upright` where the red patch stands taller than wide and
    `lying` where it lies across the frame."""
    input = type("Input", (), {"shape": (None, 64, 64, 3)})()

    def __init__(self, upright=0.99, lying=0.6):
        self.upright, self.lying = upright, lying
        self.batches = []

    def predict_on_batch(self, batch):
        self.batches.append(batch)
        red = batch[..., 0] > 128
        masks = np.zeros(red.shape, np.float32)
        for mask, person in zip(masks, red):
            rows, columns = np.nonzero(person)
            if rows.size:
                mask[person] = self.upright if np.ptp(rows) > np.ptp(columns) else self.lying
        return masks[..., None]


def lying_person():
    """A 300x400 landscape photo of a person lying across it (a red bar) and its mask."""
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[..., 2] = np.linspace(0, 100, 400)  # a background that varies: not a red photo between black bars
    photo[120:180, 20:380] = (255, 0, 0)
    return photo, (photo[..., 0] > 0).astype(np.uint8)


def person_with_a_speck():
    """A 320x240 photo: a red person 200 pixels tall, and far from them a red
    speck 1.2% of their size; (photo, the person's mask)."""
    photo = np.zeros((320, 240, 3), np.uint8)
    photo[60:260, 40:120] = (255, 0, 0)
    truth = (photo[..., 0] > 0).astype(np.uint8)
    photo[20:34, 190:204] = (255, 0, 0)
    return photo, truth


# A file named on an old system in Latin-1, as Linux hands its name to Python (a surrogate for the é).
NOT_UTF8 = os.fsdecode(b"caf\xe9")


def with_bicubic_upsampling(size=(32, 32)):
    """A segmenter (Keras) with an operation TensorFlow Lite has no kernel for: ResizeBicubic."""
    import keras

    images = keras.Input((*size, 3))
    features = keras.layers.Conv2D(4, 3, strides=2, padding="same")(images)
    upsampled = keras.layers.UpSampling2D(interpolation="bicubic")(features)
    return keras.Model(images, keras.layers.Conv2D(1, 1, activation="sigmoid")(upsampled))


def rename_pair(dataset, stem, new_stem):
    """Renames the generated pair images/<stem>.jpg, masks/<stem>.png of
    `dataset`; skips the test where the file system refuses the new name
    (one that takes only UTF-8 names, for NOT_UTF8)."""
    try:
        (dataset / "images" / f"{stem}.jpg").rename(dataset / "images" / f"{new_stem}.jpg")
    except (OSError, UnicodeError):
        pytest.skip(f"this file system does not take the name {new_stem!r}")
    (dataset / "masks" / f"{stem}.png").rename(dataset / "masks" / f"{new_stem}.png")



# ColorMatrix1 of a DNG whose sensor sees linear sRGB (XYZ to linear sRGB, D65), so that its colours develop as sRGB's.
XYZ_TO_LINEAR_SRGB = (3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570)
# The struct format of each TIFF type: BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL.
TIFF_FORMATS = {1: "B", 2: "B", 3: "H", 4: "I", 5: "I", 7: "B", 10: "i"}


def camera_dng(rgb, orientation=1, bayer=True, make="Test Cameras", xmp=None, profile=None, preview_side=16):
    """The bytes of a DNG, laid out as a camera shooting DNG writes one: its
    first image a small 8-bit preview with the camera's tags (which OpenCV
    would read as the photo), the sensor's readings in a sub-image: a Bayer
    mosaic (RGGB, 16 bits) of the uint8 sRGB photo `rgb`, or with `bayer`
    False its linear RGB, its colours `rgb`'s (which LibRaw brightens by
    default). `xmp`: an XMP packet (bytes) for its first image, as a raw
    converter adds one; `profile`: an ICC profile (bytes) of its preview."""
    srgb = rgb.astype(np.float64) / 255
    linear = np.round(65535 * np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)).astype("<u2")
    height, width = rgb.shape[:2]
    if bayer:  # RGGB: red at even rows and columns, blue at odd ones, green between
        mosaic = np.where((np.arange(height)[:, None] % 2) + (np.arange(width) % 2) == 1, linear[..., 1],
                          np.where(np.arange(height)[:, None] % 2 == 0, linear[..., 0], linear[..., 2]))
        sensor = mosaic.astype("<u2").tobytes()
        sensor_tags = [(262, 3, [32803]), (277, 3, [1]), (258, 3, [16]), (33421, 3, [2, 2]), (33422, 1, [0, 1, 1, 2])]
    else:
        sensor = linear.tobytes()
        sensor_tags = [(262, 3, [34892]), (277, 3, [3]), (258, 3, [16, 16, 16])]
    step = max(1, max(height, width) // preview_side)
    preview = np.ascontiguousarray(rgb[::step, ::step])
    strips = [preview.tobytes(), sensor]
    directories = [  # each directory's entries in the order of their tags, as TIFF asks
        sorted([(254, 4, [1]), (256, 4, [preview.shape[1]]), (257, 4, [preview.shape[0]]), (258, 3, [8, 8, 8]),
                (259, 3, [1]), (262, 3, [2]), (271, 2, list(make.encode()) + [0]), (273, 4, ["strip 0"]),
                (274, 3, [orientation]), (277, 3, [3]), (278, 4, [preview.shape[0]]), (279, 4, [len(strips[0])]),
                (284, 3, [1]), *([(700, 1, list(xmp))] if xmp else []), (330, 4, ["directory 1"]),
                *([(34675, 7, list(profile))] if profile else []), (50706, 1, [1, 4, 0, 0]),
                (50708, 2, list(b"Test DNG\0")), (50721, 10, [(round(v * 10000), 10000) for v in XYZ_TO_LINEAR_SRGB]),
                (50728, 5, [(1, 1)] * 3), (50778, 3, [21])]),
        sorted([(254, 4, [0]), (256, 4, [width]), (257, 4, [height]), (259, 3, [1]), (273, 4, ["strip 1"]),
                (278, 4, [height]), (279, 4, [len(sensor)]), (284, 3, [1]), *sensor_tags]),
    ]

    def packed(kind, values):
        flat = [part for value in values for part in (value if isinstance(value, tuple) else (value,))]
        return struct.pack(f"<{len(flat)}{TIFF_FORMATS[kind]}", *flat)

    # Where each directory, its values too long for an entry, and each strip go: after the 8-byte header, in turn.
    at, places = 8, {}
    for index, fields in enumerate(directories):
        places[f"directory {index}"] = at
        at += 2 + 12 * len(fields) + 4
        for tag, kind, values in fields:
            size = len(packed(kind, [0 if isinstance(v, str) else v for v in values]))
            if size > 4:
                places[(index, tag)] = at
                at += size + size % 2
    for index, strip in enumerate(strips):
        places[f"strip {index}"] = at
        at += len(strip)
    content = bytearray(b"II*\0" + struct.pack("<I", 8))
    for index, fields in enumerate(directories):
        table, values_after = struct.pack("<H", len(fields)), b""
        for tag, kind, values in fields:
            body = packed(kind, [places[v] if isinstance(v, str) else v for v in values])
            inline = places[(index, tag)].to_bytes(4, "little") if len(body) > 4 else body.ljust(4, b"\0")
            table += struct.pack("<HHI", tag, kind, len(values)) + inline
            if len(body) > 4:
                values_after += body + b"\0" * (len(body) % 2)
        content += table + bytes(4) + values_after
    for strip in strips:
        content += strip
    assert len(content) == at
    return bytes(content)


__all__ = ["camera_dng", "NOT_UTF8", "REPO_DIR", "rename_pair", "SHARED_DATA", "SureOfUprightRed", "draw_person",
           "lying_person", "person_with_a_speck", "with_bicubic_upsampling", "write_sample"]

