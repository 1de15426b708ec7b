"""Remove the background of photos: transparent PNG cutouts of the people in them.

    python predict.py photo.jpg cutouts/
    python predict.py photo.jpg cutout.png
    python predict.py photos/ cutouts/ --recursive
    python predict.py photos/*.jpg more/ cutouts/
    python predict.py @picked.txt cutouts/                       (the photos listed, a path a line)
    python predict.py photos/ masks/ --mask-only
    python predict.py photos/ composites/ --background white      (or "#00ff00", "0,255,0", or a photo)
    python predict.py photos/ composites/ --background white --jpeg
    python predict.py photos/ portraits/ --background blur --jpeg
    python predict.py photos/ cutouts/ --webp                    (WebP: a fifth of the PNGs' size)
    python predict.py photos/ cutouts/ --crop                    (cut to the people)
    python predict.py photos/ square/ --canvas 1080x1080         (all one size, the people fitted)
    python predict.py incoming/ cutouts/ --watch                 (and each photo that comes in, until Ctrl-C)
    cat photo.jpg | python predict.py - - > cutout.png           (- : standard input or output)

Each output is a PNG at the photo's original size (--crop: cut to the people in
it; --canvas: of the size given), named after it (photos/a/b.jpg ->
cutouts/a/b.png), or for one photo the .png named; it may be a WebP instead
(--webp, or a .webp named), and composed onto a --background a JPEG (--jpeg, or
a .jpg named). A PNG output of a 16-bit photo (a PNG or TIFF) has 16 bits a
channel. It keeps the photo's colour profile (Display P3, Adobe RGB), so that
it shows the photo's colours, and with --keep-metadata its EXIF, XMP and IPTC
metadata (camera, date, GPS, rating, keywords, caption, copyright). Camera RAW
files are developed (rawpy), unless the camera's JPEG of the shot lies beside
one (RAW+JPEG): that is cut out instead. People who fill little of the photo
get a second, closer look, and wide photos a look in tiles of their height
(tall ones, 1:2 and taller, of their width), kept where surer or where they
find people the first look missed (--no-close-up skips both), and photos the
model is unsure of a look turned on their side and upside down, for people
lying down or upside down (--upright-only skips it); small specks of mask apart
from the people are left out (--keep-specks keeps them), and so are flat bars
above and below a photo (a screenshot of it on a phone) or at its sides, and a
frame round it (a print's white border), the model shown the photo inside them.
A photo with transparency keeps it: the model sees it over grey, and its output
is nowhere more opaque than the photo.
On a CPU the model runs through TensorFlow Lite, about twice as fast, converted
once per model file (--engine), and then without importing TensorFlow: one
photo takes under a second, not 7-8 s; a .tflite --model runs as it is, and the
shipped model's 8-bit one, models/person_mobilenetv2_unet.int8.tflite, cuts out
about 1.5x as fast again, and runs where TensorFlow is not installed (pip
install -r requirements-predict.txt: a seventh of the size). Existing outputs
are skipped unless --overwrite, so an interrupted run continues where it
stopped (one with nothing left to do loads no model); --watch then goes on
cutting out the photos that come into the input folders. One photo may be piped
in and its output piped out (-), for scripts. A file that cannot be read, or a
photo the model cannot take, is reported and skipped; the exit status is 1 if
any failed. An output folder also gets sureness.csv, how sure the model was of
each mask, least sure first: the cutouts to check first.

From Python:

    from predict import remove_background, remove_background_files
    rgba = remove_background(rgb_array)              # (H, W, 4) uint8
    summary = remove_background_files(["photos/"], "cutouts/")
"""

import argparse
import csv
import glob
import hashlib
import importlib.metadata
import io
import itertools
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections import Counter, deque
from contextlib import contextmanager, nullcontext, redirect_stdout
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

import command_line
import compose
import data
import image_files
import lite
import metadata
import model_files
import outputs
import quiet_tensorflow
import segment
import watching

REPO_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = REPO_DIR / "models" / "person_mobilenetv2_unet.keras"
LITE_DEFAULT_MODEL = DEFAULT_MODEL.with_suffix(".int8.tflite")  # its 8-bit conversion, which runs without TensorFlow
# Photos held in memory at once (decoded, waiting for the model or the PNG
# writer), in pixels: 100 megapixels is about 1 GB with the cutouts.
PIXEL_BUDGET = 100_000_000


def usable_cpus():
    """How many CPUs this process may run on: those it is pinned to, where it
    is (taskset, a container's cpuset), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_workers():
    """Reading threads, and as many writing threads: one per usable CPU, 2 to 8.
    PNG encoding is one thread's work per photo and half of a 12-megapixel
    photo's time (318 of 620 ms), so two writers would hold a many-core
    machine to about six such photos a second. On this project's 2-core CPU
    a third and fourth thread cost nothing: 12-megapixel photos ran at 1.51
    and 1.83 images/s with one thread each, 2.38 and 2.30 with two, 2.25 and
    2.38 with four (benchmarks/README.md)."""
    return max(2, min(8, usable_cpus()))


WORKERS = default_workers()
NAMED_COLORS = {
    "white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128), "grey": (128, 128, 128),
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
}

log = logging.getLogger("predict")


class PredictError(Exception):
    """A problem with the command as a whole (model, options, output folder)."""


# ----------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------

def load_model(path=None, engine="auto"):
    """The segmentation model at `path` (a .keras file, a train.py run
    folder, or a .tflite file, see given_lite_model), by default the shipped
    one, run by `engine` (see ENGINES): a Keras model, or a lite.LiteModel.
    Loaded once per file, and again once the file changes: a model retrained
    in the same notebook session is the new one, not the one loaded
    before. A model run by TensorFlow Lite, as converted already, is loaded
    without importing TensorFlow (seconds: see chosen_engine)."""
    path = model_path(path, engine)
    try:
        path = model_files.model_file(path)  # a run folder: its model.keras
    except ValueError as error:
        raise PredictError(str(error)) from error
    written = path.stat() if path.is_file() else None
    version = (written.st_mtime_ns, written.st_size) if written else None
    if path.suffix.lower() == ".tflite":  # converted elsewhere (quantized for a phone, say): it runs as it is
        if engine == "keras":
            raise PredictError(f"{path} is a TensorFlow Lite model: it runs with --engine tflite (or auto), not keras")
        return given_lite_model(path.resolve(), version)
    if written and chosen_engine(engine) == "tflite":  # a path that is no file (a pipe) is load_model_file's to name
        try:
            return lite_model_file(path.resolve(), version)
        except PredictError:  # no model file, or not one Keras can load
            raise
        except Exception as error:  # TensorFlow raises many kinds for a model it cannot convert
            if engine == "tflite":
                raise PredictError(f"cannot run {path} with TensorFlow Lite: {lite.failure(error)}") from error
            log.warning("cannot run %s with TensorFlow Lite (%s): running it with Keras", path, lite.failure(error))
    return load_model_file(path.resolve(), version)


def model_path(path=None, engine="auto"):
    """The model file or run folder `path` names (by default the shipped
    model), checked without TensorFlow: a PredictError where it is not
    there, or `engine` is not one of ENGINES."""
    if engine not in ENGINES:
        raise PredictError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    try:
        path = data.local_path(path) if path else DEFAULT_MODEL  # from Python, a web address too
    except data.DatasetError as error:
        raise PredictError(f"model {error}") from error
    if path == DEFAULT_MODEL and not path.exists():
        raise PredictError(f"no model at {path}: train one with `python train.py` and pass "
                           f"--model runs/person/model.keras")
    if not path.exists():
        raise PredictError(f"model file {path} does not exist{data.not_pulled(path)}")
    return path


@lru_cache(maxsize=4)
def load_model_file(path, version):
    """model.load_trained_model, its errors a PredictError. `version`, the
    file's modification time and size, is part of the cache's key, so that a
    file written anew is read anew."""
    try:
        quiet_tensorflow.import_tensorflow()  # before model.py's Keras imports it, with its start-up lines
    except ImportError as error:  # installed from requirements-predict.txt: TensorFlow Lite models alone
        backend = keras_backend()
        if backend != "tensorflow" and error.name == backend:  # no requirements file installs it
            raise PredictError(f"cannot load {path}: Keras is set to its {backend} backend (KERAS_BACKEND, or its "
                               f"keras.json), and {backend} is not installed: install it, or run the model on "
                               f"TensorFlow with KERAS_BACKEND=tensorflow") from error
        raise PredictError(f"cannot load {path}: {error.name or 'TensorFlow'} is not installed, which a .keras model "
                           f"needs (to run it, or to convert it once for TensorFlow Lite): pass a .tflite model "
                           f"(--model {LITE_DEFAULT_MODEL.relative_to(REPO_DIR)}, the shipped one at 8 bits), or "
                           f"install requirements.txt") from error
    from model import load_trained_model

    try:
        return load_trained_model(path)
    except (OSError, ValueError) as error:
        raise PredictError(str(error)) from error


# How the model runs. On a CPU, TensorFlow Lite's XNNPACK kernels run it about
# twice as fast as Keras does, with the same masks to within 2e-5: the
# shipped model on 2 cores, 600x800 photos, 46 against 18.5 images/s for the
# model alone and 23-24 against 12.6-13.6 end to end (benchmarks/predict_speed.py).
# TensorFlow Lite runs on the CPU only, so "auto" leaves a model to Keras where
# TensorFlow sees a GPU. The conversion takes about 20 s, once per model file:
# it is kept beside the file, in LITE_CACHE. Where no GPU can be there, a
# conversion made already runs without TensorFlow, which takes longer to
# import than one photo takes to cut out (5-6 s on 2 cores).
ENGINES = ("auto", "keras", "tflite")
LITE_CACHE = ".tflite-cache"


def chosen_engine(engine):
    """The engine, "keras" or "tflite", that an ENGINES name stands for
    here: for "auto", "tflite" where Keras runs on TensorFlow and TensorFlow
    sees no GPU, asked of TensorFlow only where a GPU may be there
    (tensorflow_may_use_a_gpu)."""
    if engine != "auto":
        return engine
    if keras_backend() != "tensorflow":
        return "keras"
    if not tensorflow_may_use_a_gpu():
        return "tflite"
    try:
        quiet_tensorflow.import_tensorflow()
    except ImportError:  # installed from requirements-predict.txt: no TensorFlow to run on the GPU
        return "tflite"
    import tensorflow as tf

    return "keras" if tf.config.list_physical_devices("GPU") else "tflite"


def keras_backend():
    """The backend Keras runs on, or will once imported, told without
    importing it, where Keras looks: KERAS_BACKEND, else the keras.json
    of its folder (KERAS_HOME, by default ~/.keras); TensorFlow by default."""
    if keras := sys.modules.get("keras"):
        return keras.backend.backend()
    if backend := os.environ.get("KERAS_BACKEND"):
        return backend
    try:
        folder = Path(os.environ["KERAS_HOME"]) if "KERAS_HOME" in os.environ else Path.home() / ".keras"
        return json.loads((folder / "keras.json").read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError, RuntimeError):  # none, unreadable, not Keras's; or no home folder
        return "tensorflow"


# Where a GPU that TensorFlow could run on shows itself, but for NVIDIA's device
# files and WSL2's (quiet_tensorflow.GPU_DEVICES): NVIDIA's driver, loaded,
# before it makes its device files; AMD's (ROCm builds of TensorFlow).
MORE_GPU_SIGNS = ("/proc/driver/nvidia/gpus/*", "/dev/kfd")


def tensorflow_may_use_a_gpu():
    """Whether TensorFlow may find a GPU to run on here, told without
    importing it: a GPU's device file, or on a Mac, Apple's Metal plugin
    installed (tensorflow-metal). Windows' TensorFlow runs on its CPU alone."""
    if sys.platform == "darwin":
        try:
            importlib.metadata.distribution("tensorflow-metal")
        except importlib.metadata.PackageNotFoundError:
            return False
        return True
    return quiet_tensorflow.gpu_plugged_in() or any(glob.glob(pattern) for pattern in MORE_GPU_SIGNS)


@lru_cache(maxsize=4)
def lite_model_file(path, version):
    """A lite.LiteModel of the .keras file at `path` (`version` as for
    load_model_file): converted, or read from where an earlier run kept its
    conversion (lite_caches), under the file's content hash. Where no such
    folder can be written, the conversion serves this run only."""
    content_hash = hashlib.sha256(model_bytes(path)).hexdigest()[:16]
    places = [(folder, f"{name}-{content_hash}.tflite", name) for folder, name in lite_caches(path)]
    for folder, file_name, _ in places:
        if (folder / file_name).is_file():
            try:
                return lite.LiteModel((folder / file_name).read_bytes(), usable_cpus())
            except (OSError, ValueError) as error:  # cut short or spoilt since: made again below
                log.warning("cannot use the converted model %s (%s): converting %s again", folder / file_name, error,
                            path.name)
    keras_model = load_model_file(path, version)  # first, so that a file that is no model is not said to be converted
    log.info("converting %s for TensorFlow Lite (once for this file; about 20 s for the shipped model)", path.name)
    content = lite.converted(keras_model)
    refused = []
    for folder, file_name, name in places:
        try:
            keep_conversion(folder, file_name, name, content)
        except OSError as error:
            refused.append(f"{folder}: {error.strerror or error}")
            continue
        if refused:  # beside the model file, a folder this user cannot write (a read-only install, a container's)
            log.info("the converted model is kept in %s, as %s cannot be written", folder, places[0][0].parent)
        break
    else:
        log.warning("cannot keep the converted model (%s): it will be converted again next time", "; ".join(refused))
    return lite.LiteModel(content, usable_cpus())


def lite_caches(path):
    """[(folder, name)]: where the conversion of the model file at `path` is
    kept, as <name>-<content hash>.tflite, in the order looked in and
    written to: LITE_CACHE beside the file, then, for a model in a folder
    this user cannot write, this user's cache folder, where the name tells
    apart files of one name in different folders (runs' model.keras)."""
    places = [(path.parent / LITE_CACHE, path.stem)]
    if cache := user_cache_folder():
        places.append((cache / "tflite", f"{path.stem}-{hashlib.sha256(str(path.parent).encode()).hexdigest()[:8]}"))
    return places


def user_cache_folder():
    """This project's folder among the user's caches, where the system keeps
    them (XDG_CACHE_HOME or ~/.cache; ~/Library/Caches on a Mac;
    LOCALAPPDATA on Windows); None where the user has no home folder."""
    try:
        if sys.platform == "win32":
            base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
        elif sys.platform == "darwin":
            base = Path.home() / "Library" / "Caches"
        else:
            base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except RuntimeError:  # no home folder to be found
        return None
    return Path(base) / "person-background-removal"


def keep_conversion(folder, file_name, name, content):
    """Writes a conversion to `folder`/`file_name`, whole or not at all, and
    removes the conversions of the model file's earlier versions (<name>-
    and another hash); an OSError where the folder cannot be written."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{glob.escape(name)}-{'?' * 16}.tflite"):  # the file's earlier versions
        if stale.name != file_name:
            stale.unlink(missing_ok=True)  # or another run converting the same file at once removed it first
    outputs.replace_atomically(folder / file_name, content)


def model_bytes(path):
    """The bytes of the model file at `path`; a PredictError naming it where it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise PredictError(f"cannot read model file {path}: {error.strerror or error}") from error


@lru_cache(maxsize=4)
def given_lite_model(path, version):
    """The lite.LiteModel of the .tflite file at `path` (`version` as for
    load_model_file): a model converted elsewhere, run as it is; a
    PredictError where the file cannot be read, holds no TensorFlow Lite
    model, or no segmenter as predict.py runs one."""
    content = model_bytes(path)
    try:
        model = lite.LiteModel(content, usable_cpus())
    except (ValueError, RuntimeError) as error:  # TensorFlow Lite's words for bytes it cannot run
        # One that begins as a TensorFlow Lite model does and will not load is cut short or damaged.
        held = None if content[4:8] == image_files.TFLITE_IDENTIFIER else image_files.what_it_holds(content)
        why = f"not a TensorFlow Lite model but {held}" if held else f"not a TensorFlow Lite model, or not whole ({error})"
        raise PredictError(f"cannot load model {path}: {why}") from error
    if trouble := (model_files.segmenter_shapes_trouble(model.input_shapes, model.output_shapes)
                   or lite.trouble(model)):
        raise PredictError(f"cannot use model {path}: {trouble}")
    return model


def engine_of(model):
    """The engine a loaded model runs by: "tflite" or "keras"."""
    return "tflite" if isinstance(model, lite.LiteModel) else "keras"


def resolve_model(model, engine="auto"):
    """A loaded model as it is; a path (or None, the shipped model) loaded, run by `engine`."""
    return load_model(model, engine) if names_a_model(model) else model


def names_a_model(model):
    """Whether `model` names a model to load (a path, or None: the shipped one) rather than being one loaded."""
    return model is None or isinstance(model, (str, Path))


# ----------------------------------------------------------------------------
# One photo, and the --background and --canvas its output is composed with
# (the composing itself: compose.py)
# ----------------------------------------------------------------------------

def whole_numbers(texts):
    """The whole numbers that `texts` write (" 255" too), or () where one
    of them writes none."""
    texts = [text.strip() for text in texts]
    return tuple(int(text) for text in texts) if all(text.isdecimal() for text in texts) else ()


def whole_numbers_within(values, count, low, high):
    """Whether `values` are `count` whole numbers (Python's or NumPy's
    ints, not bools), each from `low` to `high`: a colour's levels, a
    canvas's sides, given as text (see whole_numbers) or from Python."""
    return len(values) == count and all(isinstance(value, (int, np.integer)) and not isinstance(value, bool)
                                        and low <= value <= high for value in values)


def parse_background(value):
    """None (transparent), an RGB colour tuple, an RGB photo, or compose.BLUR, from the --background text."""
    if value is None:
        return None
    text = value.strip().lower()
    if text == compose.BLUR:
        return compose.BLUR
    if text in NAMED_COLORS:
        return NAMED_COLORS[text]
    hex_digits = text.lstrip("#")
    if text.startswith("#") and len(hex_digits) == 3:  # CSS's short form: #f80 is #ff8800
        hex_digits = "".join(digit * 2 for digit in hex_digits)
    if text.startswith("#") and len(hex_digits) == 6:
        try:
            return tuple(int(hex_digits[i:i + 2], 16) for i in (0, 2, 4))
        except ValueError:
            pass
    if whole_numbers_within(levels := whole_numbers(text.split(",")), 3, 0, 255):
        return levels
    try:
        data.local_path(value)
    except data.DatasetError as error:
        raise PredictError(f"--background {error}") from error
    if Path(value).is_file():
        try:
            return background_pixels(value)
        except data.DatasetError as error:
            raise PredictError(f"background image {error}") from error
    if Path(value).suffix.lower() in image_files.IMAGE_EXTENSIONS:  # a photo's name mistyped, or a folder's left out
        raise PredictError(f"--background image {value} does not exist")
    meant = command_line.did_you_mean(text, [*NAMED_COLORS, compose.BLUR])  # whte, blurr
    raise PredictError(f"--background {value!r} is neither a colour ({', '.join(NAMED_COLORS)}, #rrggbb, #rgb or "
                       f"r,g,b), {compose.BLUR!r}, nor an image file{meant}")


def background_pixels(path):
    """A --background photo's RGB pixels: uint16 where its file stores 16
    bits a channel, so that the composites of 16-bit photos keep them all
    (see image_files.deep_pixels), else uint8; one with transparency laid
    over grey, as the model is shown photos."""
    image, alpha = image_files.read_image_and_alpha(path)
    return data.over_grey(image, alpha) if alpha is not None else image_files.deep_pixels(path, image)


def background_of(value):
    """A remove_background(_files) `background` (None, the --background
    text, a colour tuple or an RGB array, taken as sRGB) as a
    compose.Backdrop, or None or compose.BLUR; a background photo's own
    profile is read from its file."""
    given_as_text = isinstance(value, (str, Path))
    parsed = parse_background(str(value)) if given_as_text else value
    if parsed is None or isinstance(parsed, str):  # none, or compose.BLUR: the photo's own
        return parsed
    if not given_as_text and (trouble := background_trouble(parsed)):
        raise PredictError(f"background {trouble}")
    profile = metadata.colour_profile(value) if given_as_text and isinstance(parsed, np.ndarray) else None
    return compose.Backdrop(parsed, profile)


def background_trouble(value):
    """What is wrong with a background given from Python as a colour (three
    whole numbers from 0 to 255) or a photo (an RGB uint8 or uint16 array);
    None where nothing is. (A colour of 300 wrapped to 44, and one of floats
    in [0, 1] was black.)"""
    if isinstance(value, np.ndarray):
        trouble = segment.photo_trouble(value, depths=(np.uint8, np.uint16))
        return f"photo {trouble}" if trouble else None
    if whole_numbers_within(tuple(value) if isinstance(value, (tuple, list)) else (), 3, 0, 255):
        return None
    return f"colour {value!r} is not (r, g, b), each a whole number from 0 to 255"


MAX_CANVAS_SIDE = 16384  # more than any screen or print needs


def parse_canvas(text):
    """(width, height) from "WIDTHxHEIGHT" (1080x1080); a PredictError for anything else."""
    if whole_numbers_within(sides := whole_numbers(text.lower().replace("×", "x").split("x")), 2, 1, MAX_CANVAS_SIDE):
        return sides
    raise PredictError(f"--canvas {text!r} is not WIDTHxHEIGHT in pixels (1080x1080), each from 1 to {MAX_CANVAS_SIDE}")


def canvas_of(canvas, background=None):
    """A remove_background(_files) `canvas` (None, (width, height), or the
    --canvas text) as (width, height) or None; a PredictError for sides
    that are not whole numbers of pixels from 1 to MAX_CANVAS_SIDE, as
    parse_canvas's, and with the compose.BLUR `background` (as
    background_of gives it), the photo's own, which a canvas leaves no room
    for."""
    if canvas is None:
        return None
    if background == compose.BLUR:
        raise PredictError("--canvas and --background blur exclude each other: the blur is of the photo's own "
                           "background, and the canvas holds the people only")
    if isinstance(canvas, str):
        return parse_canvas(canvas)
    if whole_numbers_within(sides := tuple(canvas), 2, 1, MAX_CANVAS_SIDE):
        return tuple(int(side) for side in sides)
    raise PredictError(f"canvas {canvas!r} is not (width, height) in pixels, each a whole number from 1 to "
                       f"{MAX_CANVAS_SIDE}")


def photo_pixels(image):
    """The photo given to remove_background as RGB (H, W, 3), or RGBA
    (H, W, 4) where it has transparency (see as_seen), uint8, or uint16 for
    a uint16 array: a file path is read as predict.py reads photos; a PIL
    image is turned upright by its EXIF orientation, as a path is, and
    converted to 8-bit RGB(A) (a 16-bit grey one scaled, not clipped, as
    Pillow's own conversion does); an array must hold 8-bit or 16-bit grey
    (H, W or H, W, 1) or RGB(A) (H, W, 3 or 4) pixels, else a ValueError
    says what it holds (a float array in [0, 1] would otherwise pass for a
    black photo)."""
    if isinstance(image, (str, Path)):  # a str may be a web address, which Path would make a path of
        return with_alpha(*image_files.read_image_and_alpha(data.local_path(image)))
    if hasattr(image, "convert") and hasattr(image, "mode"):  # a PIL image, in any mode (palette, 16-bit, CMYK)
        from PIL import ImageOps

        # Image.open keeps a phone photo as stored, often on its side, where the model
        # would see a person lying down. (An image already turned has no orientation left.)
        upright = ImageOps.exif_transpose(image)
        if image.mode.startswith("I"):  # 16-bit grey ("I;16", or "I" as older Pillows open 16-bit PNGs)
            image = image_files.eight_bits(np.clip(np.asarray(upright), 0, 65535).astype(np.uint16))
        elif image.mode != "F":  # floats: refused below, as a float array is
            transparent = "A" in image.getbands() or "transparency" in image.info
            image = upright.convert("RGBA" if transparent else "RGB")
    pixels = np.asarray(image)
    if pixels.dtype not in (np.uint8, np.uint16):
        hint = ": for floats in [0, 1], pass (image * 255).round().astype(np.uint8)" if pixels.dtype.kind == "f" else ""
        raise ValueError(f"the photo must have 8-bit pixels (uint8, 0-255) or 16-bit ones (uint16), not "
                         f"{pixels.dtype}{hint}")
    if pixels.ndim in (2, 3) and not (pixels.shape[0] and pixels.shape[1]):
        raise ValueError(f"the photo has no pixels: shape {pixels.shape}")
    if pixels.ndim == 2 or pixels.ndim == 3 and pixels.shape[2] == 1:
        return cv2.cvtColor(pixels.reshape(pixels.shape[:2]), cv2.COLOR_GRAY2RGB)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return with_alpha(pixels[..., :3], pixels[..., 3])
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return pixels
    raise ValueError(f"the photo must be grey (height, width) or RGB(A) (height, width, 3 or 4) pixels, not shape {pixels.shape}")


def remove_background(image, model=None, threshold=None, background=None, mask_only=False, flip_tta=False,
                      close_up=True, upright_only=False, keep_specks=False, crop=False,
                      crop_margin=compose.CROP_MARGIN, engine="auto", main_person=False, canvas=None):
    """One photo (see photo_pixels: an RGB uint8 array, a PIL image or a
    file path) -> RGBA uint8 cutout at its own size (or RGB over
    `background`: a colour tuple or an RGB image, sRGB, or the --background
    text, converted into the photo's colour profile where it has one; or the
    uint8 mask with `mask_only`); uint16 for a uint16 array, which the model
    sees at 8 bits. `model`: a loaded model or a path (run by `engine`, see
    ENGINES); `flip_tta`: average with the mirrored photo's mask;
    `close_up`: a second pass on a crop around small people, and tiles
    across a wide photo or down a tall one where they win (see
    segment.tiles_win);
    `upright_only`: no look at an unsure photo turned on its side or upside
    down; `keep_specks`: keep small patches of mask apart from the people;
    `main_person`: keep only the main person (see
    segment.main_person_only); `crop`: cut to the people, with
    `crop_margin` (see compose.crop_to_people); `canvas`:
    (width, height), the people fitted onto an image of that size, with
    `crop_margin` (see compose.on_canvas)."""
    background, canvas = checked_settings(threshold, crop_margin, background, canvas)
    photo = photo_pixels(image)
    background = compose.in_profile(background, metadata.photo_profile(image))
    model = resolve_model(model, engine)
    seen = as_seen(image_files.eight_bits(photo))  # a uint16 array's photo too: the model knows 8-bit photos
    mask = segment.predict_photo_masks(model, [seen], flip_tta, close_up, upright_only, keep_specks, main_person)[0]
    return compose.output_pixels(photo[..., :3], within_photo(mask, photo), threshold, background, mask_only,
                                 crop_margin if crop or canvas else None, canvas)


# Photos with transparency (a PNG sticker, a cutout made before, by this tool
# or another) travel as RGBA: the model sees them laid over grey, as training
# and evaluation do (data.read_image), and their outputs are nowhere more
# opaque than the photo, so that a cutout run through again never shows again
# what it had cut away.

def with_alpha(image, alpha):
    """The RGB photo, or RGBA where `alpha` ((H, W), of the photo's dtype)
    is not None and not opaque throughout."""
    return image if alpha is None or alpha.min() == np.iinfo(alpha.dtype).max else np.dstack([image, alpha])


def as_seen(photo):
    """The RGB pixels the model is shown of a photo: an RGBA one laid over
    grey, as training sees such photos (data.over_grey)."""
    return photo if photo.shape[2] == 3 else data.over_grey(photo[..., :3], photo[..., 3])


def within_photo(mask, photo):
    """A photo-size soft mask, nowhere more opaque than the photo itself."""
    if photo.shape[2] == 3:
        return mask
    return np.minimum(mask, photo[..., 3].astype(np.float32) / np.iinfo(photo.dtype).max)


# ----------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------

def output_suffix(jpeg=False, webp=False, composed=False, mask_only=False):
    """The outputs' file suffix: .png, or .jpg with `jpeg` where the person
    is `composed` onto a background (JPEG has no transparency), or .webp with
    `webp` unless the outputs are masks; a PredictError for any other choice."""
    if jpeg and webp:
        raise PredictError("JPEG and WebP outputs exclude each other: choose one")
    if jpeg and not composed:
        raise PredictError("JPEG outputs hold the person composed onto a --background (JPEG has no transparency)")
    if webp and mask_only:
        raise PredictError("masks are written as PNG files, which are smaller than WebPs for grey masks")
    return ".jpg" if jpeg else ".webp" if webp else ".png"


def output_file_for_one_photo(inputs, output, composed=False, mask_only=False):
    """`output` as the file to write where one photo is given and `output`
    names a .png that is not a folder (predict.py photo.jpg cutout.png), or
    a .webp unless the output is a mask, or a .jpg where the person is
    `composed` onto a background, which leaves no transparency to keep; else
    None: `output` is the output folder. Names that can be neither (another
    image format, a file name for a folder of photos, an existing file that
    is not a folder) are a PredictError, said before any photo is read, and
    one that is a photo there already (the output folder left out) says so."""
    output = Path(output)
    if output.is_dir():
        return None
    one_photo = one_photo_given(inputs)
    suffix = output.suffix.lower()
    if one_photo and (suffix == ".png" or suffix == ".webp" and not mask_only
                      or composed and suffix in image_files.JPEG_EXTENSIONS):
        return output.resolve()
    if suffix in PHOTO_EXTENSIONS:
        # predict.py a.jpg b.jpg: the output folder left out, or a file from an earlier run named again.
        forgotten = (f"; if {output.name} is a photo to cut out, the output folder is missing: the last path is where "
                     f"the outputs go (predict.py photos/*.jpg cutouts/)" if output.is_file() else "")
        if one_photo:
            kinds = "masks are PNG files" if mask_only else "outputs are PNG or WebP files (they keep the transparency)"
            raise PredictError(f"output {output}: {kinds}; name it {output.with_suffix('.png')}, or give a folder"
                               + (" (a JPEG holds the person composed onto a --background)"
                                  if suffix in image_files.JPEG_EXTENSIONS and not mask_only else "") + forgotten)
        raise PredictError(f"output {output} names a file, but a folder of photos or several photos are given: "
                           f"give a folder for the outputs{forgotten}")
    if output.exists():
        raise PredictError(f"output {output} is a file, not a folder")
    return None


def one_photo_given(inputs):
    """Whether the inputs (see expand_patterns) are one photo, not a folder or several."""
    return len(inputs) == 1 and Path(inputs[0]).is_file()


def expand_patterns(inputs, watch=False):
    """The inputs as paths, each one that does not exist but holds a
    wildcard (photos/*.jpg, which Windows' shells pass on as typed, as
    bash does one that matches nothing) replaced by the paths it matches,
    sorted (** matches folders at any depth), and each @FILE that is not a
    photo by the paths FILE lists, one a line, as if typed (see
    data.read_name_list); a pattern that matches nothing is a
    PredictError, unless to `watch` (photos may come in), and a list that
    cannot be read a data.DatasetError, as is, to `watch`, a pattern whose
    folder is not there (mistyped, or its drive gone: no photo can come in
    there)."""
    expanded = []
    for given in map(listed_path, inputs):
        if str(given).startswith("@") and not given.exists():
            expanded += expand_patterns(data.read_name_list(str(given)[1:], "photos"), watch)
            continue
        if given.exists() or not is_pattern(given):
            expanded.append(given)
            continue
        matches = sorted(glob.glob(str(given), recursive=True))
        if not matches and not watch:
            raise PredictError(f"input {given} matches no file")
        if not matches and not (folder := Path(*itertools.takewhile(lambda part: not is_pattern(part),
                                                                    given.parts))).is_dir():
            raise data.DatasetError(f"input {given}: the folder {folder} is not there, so no photo can come into it")
        expanded += map(Path, matches)
    return expanded


def is_pattern(path):
    """Whether `path` (or a part of one) holds a wildcard (*, ? or [)."""
    return any(character in str(path) for character in "*?[")


def listed_path(given):
    """An input as a Path: given on the command line, one already; listed in
    an @FILE, its text, which may be an address (a PredictError)."""
    try:
        return data.local_path(given)
    except data.DatasetError as error:
        raise PredictError(f"input {error}") from error


# The photos predict.py reads: camera RAW files too (see image_files.decode_raw).
PHOTO_EXTENSIONS = (*image_files.IMAGE_EXTENSIONS, *image_files.RAW_EXTENSIONS)


def find_photos(inputs, output_dir, recursive=False, suffix=".png", report=True, watch=False, unreadable=None):
    """[(photo path, output path)]: each input file, or the photos in each
    input folder, mirrored under output_dir as <relative path><suffix>, but
    for a camera RAW file beside a photo of the same name (see
    raws_developed_beside); files that are not photos are reported unless
    not `report` (a watched folder looked at again, where an input gone
    since the start, a photo deleted or a drive unplugged, is passed over),
    and so are folders without photos unless `watch`, which waits for photos
    to come into them. Sub-folders that cannot be read are warned of, or
    where `unreadable` is a list, added to it as (folder, why) instead."""
    output_dir = Path(output_dir).resolve()
    jobs, left_out, passed_over = [], [], []
    for given in map(Path, inputs):
        if given.is_file():
            jobs.append((given, output_dir / f"{given.stem}{suffix}"))
        elif given.is_dir():
            if given.resolve() == output_dir:
                # Outputs share their photos' names (a.jpg -> a.png): run again, the
                # folder's own cutouts would be read as photos and cut out again.
                raise PredictError(f"output folder {given} is also an input folder: its cutouts would be read as "
                                   f"photos when run again; give another folder (one inside it will do, "
                                   f"{given / 'cutouts'})")
            found = len(jobs)
            try:
                files, unreadable_here = files_in(given, output_dir, recursive)
            except OSError as error:
                if not report:  # at a look of --watch: said, and looked at again (see watching.look_at_inputs)
                    raise
                raise PredictError(f"cannot read the input folder {given}: {error.strerror or error}") from error
            if unreadable is not None:
                unreadable += unreadable_here
            elif report:
                for folder, why in unreadable_here:
                    log.warning("cannot read the folder %s (%s): its photos are left out", folder, why)
            developed_beside = raws_developed_beside(files)
            for parts in files:
                stem, extension = os.path.splitext(parts[-1])
                if parts in developed_beside:
                    passed_over.append(Path(given, *parts))
                elif extension.lower() in PHOTO_EXTENSIONS:
                    jobs.append((Path(given, *parts), Path(output_dir, *parts[:-1], stem + suffix)))
                elif parts[-1] != SURENESS_FILE:  # this tool's own, in a folder of cutouts read again
                    left_out.append(Path(given, *parts))
            if len(jobs) == found and report and not watch:
                in_folders = not recursive and any(path.is_dir() for path in given.iterdir())
                log.warning("no photos in %s%s", given, " (photos in its sub-folders are read with --recursive)"
                            if in_folders else "")
        elif report:
            raise PredictError(f"input {given} does not exist{data.not_pulled(given)}")
    if report:
        report_left_out(left_out)
        if passed_over:
            log.info("camera RAW files passed over, the photo of the same shot beside each (the camera's JPEG) cut "
                     "out instead; name them to cut them out: %s", data.describe(passed_over))
    return disambiguate(jobs, suffix)


def raws_developed_beside(files):
    """Of `files` (tuples of path parts, see files_in), the camera RAW files
    with a photo of the same name beside them (IMG_1.CR2 and IMG_1.JPG, as
    a camera shooting RAW+JPEG writes each shot): the camera's JPEG is cut
    out, one output a shot, rather than two of one shot, the RAW developed
    at many times the cost."""
    def shot_and_kind(parts):  # (its folder and name without the extension, as a shot's files share them; extension)
        stem, extension = os.path.splitext(parts[-1])
        return (*parts[:-1], stem.lower()), extension.lower()

    shots = [(parts, *shot_and_kind(parts)) for parts in files]
    developed = {shot for _, shot, extension in shots if extension in image_files.IMAGE_EXTENSIONS}
    return {parts for parts, shot, extension in shots if extension in image_files.RAW_EXTENSIONS and shot in developed}


def files_in(folder, output_dir, recursive=False):
    """(files, unreadable): the files in `folder`, and with `recursive` in its
    sub-folders (not those reached by a link), each as the tuple of its
    path's parts below `folder`, sorted as their paths sort; but hidden ones
    (see data.is_hidden), as train.py reads folders, and those inside
    `output_dir` (an output folder nested in the input folder is not read
    back as input). The sub-folders that cannot be read (their permissions)
    are left out, listed in `unreadable` as (folder, why); `folder` itself
    that cannot be read is an OSError. A link to nothing is a file here
    (see image_files.is_broken_link). Each file's real place is not looked
    up, but for a link's (its folder's is), so that a look of --watch at a
    folder of 20,000 photos takes a fraction of the time (see
    benchmarks/README.md)."""
    files, unreadable, folders = [], [], [(str(folder), ())]
    while folders:
        directory, parts = folders.pop()
        if Path(os.path.realpath(directory)).is_relative_to(output_dir):
            continue
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as error:
            if not parts:
                raise
            unreadable.append((directory, error.strerror or str(error)))
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if recursive and not data.is_hidden_name(entry.name):
                    folders.append((entry.path, (*parts, entry.name)))
            elif ((entry.is_file() or image_files.is_broken_link(entry.path)) and not data.is_hidden_name(entry.name)
                  and not (entry.is_symlink() and Path(os.path.realpath(entry.path)).is_relative_to(output_dir))):
                files.append((*parts, entry.name))
    return sorted(files), sorted(unreadable)


def report_left_out(paths):
    """Says which files of the input folders are not read as photos, so that
    a folder of camera RAW files does not end as "0 processed" and nothing else."""
    if not paths:
        return
    log.warning("not read, not a photo format this tool reads (%s): %s", " ".join(PHOTO_EXTENSIONS),
                data.describe(paths))


def disambiguate(jobs, suffix=".png"):
    """photo.jpg and photo.png in one folder would both become photo.png:
    those keep their full name (photo.jpg.png, photo.png.png). So do
    IMG_1.JPG and img_1.png, whose outputs would be one file where file
    names ignore case (macOS, Windows). Photos of the same name from
    different folders given as inputs still clash: a PredictError names them."""
    def same_file(output):
        return str(output).casefold()

    counts = Counter(same_file(output) for _, output in jobs)
    if len(counts) == len(jobs):  # every output a file of its own: nothing to rename, no clash (most runs)
        return jobs
    jobs = [(photo, output.with_name(photo.name + suffix) if counts[same_file(output)] > 1 else output)
            for photo, output in jobs]
    photos_by_output = {}
    for photo, output in jobs:
        photos_by_output.setdefault(same_file(output), (output, []))[1].append(photo)
    clashes = [(output, photos) for output, photos in photos_by_output.values() if len(photos) > 1]
    if clashes:
        output, photos = clashes[0]
        raise PredictError(f"photos {', '.join(map(str, photos))} would be written to one file, {output}"
                           f"{f' (and {len(clashes) - 1} more such clashes)' if len(clashes) > 1 else ''}: "
                           f"give them separate output folders")
    return jobs


def refuse_to_overwrite_inputs(jobs, output_file=None):
    inputs = {photo.resolve() for photo, _ in jobs}
    clashes = [str(output) for _, output in jobs if output.resolve() in inputs]
    if clashes:
        raise PredictError(f"refusing to write over input photos ({', '.join(clashes[:3])}"
                           f"{', ...' if len(clashes) > 3 else ''}): choose another output "
                           f"{'file name' if output_file else 'folder'}")


# What to check first in a folder of cutouts. The model's sureness of a mask
# (segment.Judgement: the mean probability over the pixels it marks) ranks
# its masks nearly as their IoU does: of the validation photos, the tenth it
# was least sure of hold 16 of the 18 masks below 0.9 IoU (test: 15 of 20),
# and 5 of the 6 below 0.8 (test: 4 of 5) (models/README.md, "Which cutouts
# to check"). Named in data.py, which passes it over among masks.
SURENESS_FILE = data.SURENESS_FILE
# A long run records the sureness of its outputs so far this often (seconds),
# as well as at its end, so that a run killed part-way keeps nearly all of it.
# Rewriting the list took 0.04 s for 10,000 outputs, 0.6 s for 100,000.
SURENESS_EVERY_SECONDS = 30
# Where no progress bar is drawn (standard error a log file), a line this often.
PROGRESS_LINE_EVERY = 60
LEAST_SURE_SHOWN = 5  # how many of the least sure outputs the summary names


class Judged(NamedTuple):
    """One output's line in SURENESS_FILE."""
    output: str          # relative to the output folder
    photo: str
    sureness: float      # see segment.Judgement; 0 where the model found nobody
    person_share: float  # share of the photo's pixels marked as person


def least_sure_first(judged):
    """Sort key of Judged rows: by sureness, ties by output name."""
    return judged.sureness, judged.output


@dataclass
class Summary:
    processed: int = 0
    skipped: int = 0
    failed: list = field(default_factory=list)  # [(path, reason)]
    seconds: float = 0.0
    judged: list = field(default_factory=list)  # [Judged] of this run's outputs, least sure first
    listed: bool = False  # whether SURENESS_FILE lists them (not where it could not be written)

    @property
    def images_per_second(self):
        return self.processed / self.seconds if self.seconds else 0.0

    def __str__(self):
        lines = [f"{self.processed} processed, {self.skipped} skipped (output exists), {len(self.failed)} failed"
                 + (f" in {self.seconds:.1f} s ({self.images_per_second:.1f} images/s)" if self.processed else "")]
        if self.skipped and not self.processed and not self.failed:
            # A run again with other options (a --background, --flip-tta) changes nothing without it.
            lines.append("every output was there already: --overwrite makes them again")
        nobody = [judged.output for judged in self.judged if judged.sureness == 0]
        if nobody:
            lines.append(f"no person found in {len(nobody)}: {', '.join(nobody[:LEAST_SURE_SHOWN])}"
                         + (", ..." if len(nobody) > LEAST_SURE_SHOWN else ""))
        least_sure = [judged for judged in self.judged if judged.sureness > 0][:LEAST_SURE_SHOWN]
        if len(self.judged) > 1 and least_sure:
            lines.append(f"least sure, to check first{f' (all in {SURENESS_FILE})' if self.listed else ''}: "
                         + ", ".join(f"{judged.output} {judged.sureness:.3f}" for judged in least_sure))
        return "\n".join(lines)


def remove_background_files(inputs, output_dir, model=None, recursive=False, threshold=None, background=None,
                            mask_only=False, batch_size=8, overwrite=False, progress=False, workers=WORKERS,
                            pixel_budget=PIXEL_BUDGET, flip_tta=False, close_up=True, upright_only=False,
                            keep_specks=False, jpeg=False, crop=False, crop_margin=compose.CROP_MARGIN,
                            engine="auto", webp=False, main_person=False, watch=False, keep_metadata=False,
                            canvas=None):
    """Writes a PNG per photo under `output_dir`, or with `webp` a WebP, or
    with `jpeg` a JPEG of the person composed onto `background` (for one
    photo, `output_dir` may instead name the file to write; see
    output_file_for_one_photo), skipping existing outputs unless
    `overwrite`, and records how sure the model was of each in the folder's
    SURENESS_FILE; returns a Summary. The photos are read, segmented and
    written overlapped (see cutouts); with `crop`, each output is cut to its
    people (see compose.crop_to_people), and with `canvas`=(width, height)
    they are fitted onto an image of that size (see compose.on_canvas); with
    `keep_metadata`, it keeps its photo's EXIF and XMP metadata (see
    metadata.exif_for_output, metadata.xmp_for_output). A photo that cannot
    be read or written is a failure in the Summary; a full disk ends the
    run, a DiskFull. With `watch`, the input folders are then looked at
    every watching.WATCH_EVERY seconds for photos that come in, until
    Ctrl-C, and a full disk leaves the photos waiting for room (see
    watching.watch_folders)."""
    from tqdm import tqdm

    background, canvas = checked_settings(threshold, crop_margin, background, canvas, batch_size, workers)
    composed = background is not None and not mask_only
    suffix = output_suffix(jpeg, webp, composed, mask_only)
    given = [inputs] if isinstance(inputs, (str, Path)) else inputs
    inputs = expand_patterns(given, watch)
    jobs, output_root, output_file = plan_outputs(inputs, output_dir, recursive, suffix, composed, mask_only, watch)
    if watch and output_file:
        raise PredictError(f"--watch watches folders of photos for the photos that come in: give a folder for the "
                           f"outputs, not the file {output_file}")
    # A folder where an output should go is not an output: writing there fails, and says so.
    todo = [(photo, output) for photo, output in jobs if overwrite or not outputs.output_there(output)]
    summary = Summary(skipped=len(jobs) - len(todo))
    if not (todo or watch):  # a run again with nothing left to do: no seconds spent loading a model
        if names_a_model(model):
            model_path(model, engine)  # yet a mistyped one is still said
        return summary
    model = resolve_model(model, engine)
    sureness_file = None if output_file else output_root / SURENESS_FILE  # one cutout named by the user: no list beside it
    write_output = partial(write_cutout, output_root=output_root, threshold=threshold, background=background,
                           mask_only=mask_only, keep_specks=keep_specks, main_person=main_person,
                           crop_margin=crop_margin if crop or canvas else None, canvas=canvas,
                           keep_metadata=keep_metadata)

    def write(job, image, look):  # listed as soon as written: a run interrupted lists every output it wrote
        judged = write_output(job, image, look)
        summary.judged.append(judged)
        return judged

    look = partial(look_at_batch, model, flip_tta=flip_tta, close_up=close_up, upright_only=upright_only)
    read = partial(read_photo, size=segment.model_input_size(model))
    last_recorded = time.time()

    def cut_out(todo):
        """Runs the (photo, output) jobs; returns {photo: why} of those that
        failed, and the DiskFull that stopped it, its photos not cut out
        `waiting`, or None. The Summary's seconds are those spent here: not a
        watch's waits."""
        nonlocal last_recorded
        failed, finished = {}, set()
        if not todo:
            return failed, None
        started, seconds_before = time.time(), summary.seconds
        # A bar in a terminal only: in a log file (nohup, a scheduled job) it would be one line of every update;
        # there, a line every PROGRESS_LINE_EVERY seconds says how far the run has got.
        with tqdm(total=len(todo), unit="img", disable=None if progress else True, file=sys.stderr) as bar:
            said_at = time.time()
            try:
                for photo, _, failure in cutouts(todo, read, look, write, batch_size, workers, pixel_budget):
                    finished.add(photo)
                    if failure:
                        summary.failed.append((photo, failure))
                        failed[photo] = failure
                        if progress:
                            bar.write(f"failed: {failure}", file=sys.stderr)
                        else:
                            log.error("failed: %s", failure)
                    else:
                        summary.processed += 1
                    bar.update()
                    if progress and bar.disable and time.time() - said_at >= PROGRESS_LINE_EVERY:
                        said_at = time.time()
                        log.info("%d of %d photos done, %.1f images/s", len(finished), len(todo),
                                 len(finished) / (said_at - started))
                    if sureness_file and time.time() - last_recorded > SURENESS_EVERY_SECONDS:
                        record_sureness(sureness_file, summary.judged)
                        last_recorded = time.time()
                    summary.seconds = seconds_before + time.time() - started
            except DiskFull as full:
                full.waiting = {photo for photo, _ in todo} - finished
                return failed, full
        return failed, None

    def look_again():  # (photo, output) jobs at a look of --watch: patterns and lists anew, for the photos come in
        unreadable = []  # sub-folders, said by watching.look_at_inputs
        jobs = find_photos(expand_patterns(given, watch=True), output_root, recursive, suffix, report=False,
                           unreadable=unreadable)
        return jobs, unreadable

    # Taken before the photos are read: one copied in meanwhile, and read half-written, is tried again.
    states = {photo: watching.file_state(photo) for photo, _ in jobs} if watch else {}
    try:
        _, full = cut_out(todo)
        if full and not watch:
            raise full
        if watch:
            watching.watch_folders(look_again, states, cut_out, summary, overwrite,
                                   partial(record_sureness, sureness_file, summary.judged), ", ".join(map(str, given)),
                                   folders=[path for path in inputs if path.is_dir()], output_root=output_root,
                                   full=full)
    finally:  # also when interrupted (Ctrl-C): the outputs written so far keep their lines
        if sureness_file and summary.judged:
            summary.listed = record_sureness(sureness_file, summary.judged)
    summary.judged.sort(key=least_sure_first)
    return summary


def plan_outputs(inputs, output, recursive=False, suffix=".png", composed=False, mask_only=False, watch=False):
    """For the photos and folders `inputs` (patterns and lists expanded, see
    expand_patterns): the (photo, output path) pairs (files ending in
    `suffix`, see output_suffix), the folder the outputs go under (made
    here, rather than failing each photo once the model has run on it), and
    the file to write where `output` names one (see
    output_file_for_one_photo; `composed`: onto a background), else None;
    folders to `watch` may hold no photos yet."""
    jobs = find_photos(inputs, output, recursive, suffix, watch=watch)  # a missing input is named here
    output_file = output_file_for_one_photo(inputs, output, composed, mask_only)
    if output_file:
        jobs = [(jobs[0][0], output_file)]
    refuse_to_overwrite_inputs(jobs, output_file)
    output_root = output_file.parent if output_file else Path(output).resolve()
    trouble = outputs.output_folder_trouble(output_root)
    if trouble:
        raise PredictError(trouble)
    return jobs, output_root, output_file


def read_photo(job, size):
    """A (photo, output) job's pixels, RGB or RGBA (see with_alpha), and
    what the model is shown of them: (the parts of the photo it looks at
    and inside bars or a frame round it, see segment.photo_parts; the
    model's input made from the first)."""
    photo = photo_pixels(job[0])
    seen = as_seen(photo)
    parts = segment.photo_parts(seen)
    return photo, (parts, data.preprocess_image(segment.within(seen, parts[0]), size))


def look_at_batch(model, images, shown, flip_tta=False, close_up=True, upright_only=False):
    """The segment.Looks of a batch of photos (RGB or RGBA), given what the model is shown of them (read_photo)."""
    parts = [photo_parts for photo_parts, _ in shown]
    soft_masks = segment.infer(model, [model_input for _, model_input in shown], flip_tta)
    looked_at = [segment.within(as_seen(image), looked) for image, (looked, _) in zip(images, parts)]
    return segment.photo_looks(model, looked_at, soft_masks, parts, flip_tta, close_up, upright_only)


def write_cutout(job, image, look, output_root, threshold=None, background=None, mask_only=False, keep_specks=False,
                 main_person=False, crop_margin=None, canvas=None, keep_metadata=False):
    """Writes a (photo, output) job's output from the photo's pixels and Looks,
    cut to its people with `crop_margin` unless that is None (or fitted onto
    a `canvas`, see compose.output_pixels), with the photo's EXIF and XMP
    metadata if `keep_metadata`; returns its Judged line, relative to
    `output_root`."""
    photo, output = job
    mask = look.mask_at(image.shape[:2])
    judgement = segment.judge(mask)  # specks and all: they are a sign of the model's doubt too
    mask = segment.people_kept(mask, keep_specks, main_person)
    profile, exif, xmp = metadata.photo_metadata(photo, profile=not mask_only, keep_metadata=keep_metadata)
    # A PNG holds 16 bits a channel; JPEG and WebP outputs have 8.
    pixels_at_depth = image_files.deep_pixels(photo, image) if output.suffix.lower() == ".png" else image
    pixels = compose.output_pixels(pixels_at_depth[..., :3], within_photo(mask, pixels_at_depth), threshold,
                                   compose.in_profile(background, profile), mask_only, crop_margin, canvas)
    outputs.write_atomically(output, pixels, profile=profile,
                     exif=metadata.exif_for_output(exif, (pixels.shape[1], pixels.shape[0])) if exif else None,
                     xmp=metadata.xmp_for_output(xmp) if xmp else None)
    return Judged(output.relative_to(output_root).as_posix(), str(photo), judgement.sureness,
                  judgement.person_pixels / mask.size)


class DiskFull(PredictError):
    """A write that found the outputs' drive full, or the user's quota used
    up (see outputs.DISK_FULL): it ends a run; a watch waits for room
    instead (see watching.watch_folders). `waiting`: the photos of the jobs
    under way not cut out; `free` and `when`: the bytes free on the drive
    (None where that cannot be told) and the time.monotonic() when it was
    found full (see watching.room_to_write_again)."""

    def __init__(self, output, why):
        super().__init__(f"cannot write {output}: {why}; the outputs written so far are kept: make room and run the "
                         f"same command again")
        self.output, self.why, self.waiting = output, why, set()
        self.free, self.when = None, time.monotonic()


def cutouts(jobs, read, look, write, batch_size=8, workers=WORKERS, pixel_budget=PIXEL_BUDGET):
    """Yields (photo, what `write` returned, None), or (photo, None, why it
    failed), for each (photo, output) job, as each is done.

    Reading, the model and writing overlap: `read` (job -> the photo's
    pixels and what the model is shown of them) runs in a pool of `workers`
    threads ahead of the model, `look` (the photos of a batch and what the
    model is shown of them -> per photo what `write` takes) runs the model
    on batches of `batch_size` in this thread (a batch it fails on again a
    photo at a time, so that the photo it cannot take fails alone: see
    segment.each_photo_alone_where_it_fails), and `write` (job, pixels,
    that) runs in another pool. Reading ahead stops at two batches and,
    beyond the next photo, at about `pixel_budget` pixels held (read and not
    yet written), so that a folder of 8000x6000 photos holds a few of them
    in memory, not dozens; until a first photo is read and their size
    known, it reads one at a time (else a folder of them would start with
    two batches in memory whatever the budget).
    Interrupted, it reads no photo more but finishes the writes under way:
    their photos have been through the model already. A full disk stops it
    so, as a PredictError."""
    queued, more_queued = iter(jobs), True
    reads = deque()    # (job, future of its read)
    batch = []         # (job, the photo's pixels, model input)
    writes = deque()   # (job, pixel count, future of its write)
    held = largest = 0  # pixels of the photos read and not yet written; of the largest photo

    def room_to_read_ahead():  # one photo at a time until one is read and the size of photos is known
        return len(reads) < 2 * batch_size and (not reads or largest > 0 and held + len(reads) * largest < pixel_budget)

    with ThreadPoolExecutor(workers) as readers, ThreadPoolExecutor(workers) as writers:
        try:
            while more_queued or reads or batch or writes:
                while more_queued and room_to_read_ahead():
                    job = next(queued, None)
                    more_queued = job is not None
                    if more_queued:
                        reads.append((job, readers.submit(read, job)))
                if reads:
                    job, future = reads.popleft()
                    try:
                        image, model_input = future.result()
                    except Exception as error:
                        yield job[0], None, (str(error) if isinstance(error, data.DatasetError)
                                             else f"{job[0]}: {error}")
                    else:
                        batch.append((job, image, model_input))
                        held += image.shape[0] * image.shape[1]
                        largest = max(largest, image.shape[0] * image.shape[1])
                all_read = not (more_queued or reads)
                if batch and (len(batch) == batch_size or held > pixel_budget or all_read):
                    looks = segment.each_photo_alone_where_it_fails(
                        lambda part: look([image for image, _ in part], [model_input for _, model_input in part]),
                        [(image, model_input) for _, image, model_input in batch])
                    for (job, image, _), (photo_look, error) in zip(batch, looks):
                        if error is None:
                            writes.append((job, image.shape[0] * image.shape[1],
                                           writers.submit(write, job, image, photo_look)))
                        else:
                            held -= image.shape[0] * image.shape[1]
                            yield job[0], None, segment.segmenting_failure(job[0], error)
                    batch = []
                while writes and (len(writes) > 2 * batch_size or held > pixel_budget or all_read and not batch):
                    job, pixels, future = writes.popleft()
                    held -= pixels
                    try:
                        written = future.result()
                    except Exception as error:
                        if getattr(error, "errno", None) in outputs.DISK_FULL:  # so would every output after it be
                            raise DiskFull(job[1], error.strerror) from error
                        failure = f"{job[0]}: cannot write output ({error})"
                        # The file system's refusal (OSError), not the photo's (a panorama too wide for WebP).
                        yield job[0], None, outputs.WriteFailure(failure) if isinstance(error, OSError) else failure
                    else:
                        yield job[0], written, None
        except BaseException:  # interrupted (Ctrl-C), or closed early: the photos not yet read stay unread
            readers.shutdown(cancel_futures=True)
            raise


def record_sureness(path, judged):
    """Writes the Judged rows to the CSV at `path`, least sure first, keeping
    the rows of outputs an earlier run wrote there and this one did not
    (a resumed run, a second input folder), but for outputs changed since
    that list was written: corrected by hand, checked already, and no
    longer the model's (so every row describes its output as the model made
    it, up to the list's time: see rows_still_as_listed). A file that
    cannot be read or written costs the list, not the cutouts: it is
    reported, left as it was, and the run goes on. Returns whether the
    list was written."""
    rows = {row.output: row for row in judged}
    try:
        for row in rows_still_as_listed(path) if path.exists() else ():
            rows.setdefault(row.output, row)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(Judged._fields)
        writer.writerows((row.output, row.photo, f"{row.sureness:.4f}", f"{row.person_share:.4f}")
                         for row in sorted(rows.values(), key=least_sure_first))
        outputs.replace_atomically(path, text.getvalue().encode(**data.NAME_LIST_ENCODING))
    except (OSError, ValueError) as error:
        log.error("could not record the sureness of the outputs in %s: %s", path, error)
        return False
    return True


def rows_still_as_listed(path):
    """The Judged rows of the SURENESS_FILE at `path` whose outputs have not
    changed since it was written: as the model made them (one changed since
    was corrected by hand). OSError or ValueError where it cannot be read."""
    listed_at = path.stat().st_mtime
    return [row for row in read_sureness(path) if not changed_since(path.parent / row.output, listed_at)]


def changed_since(path, moment):
    """Whether the file at `path` was modified after `moment` (a time as
    os.stat gives it); False for a file that is not there."""
    try:
        return path.stat().st_mtime > moment
    except OSError:
        return False


def read_sureness(path):
    """The Judged rows of a SURENESS_FILE."""
    with path.open(newline="", **data.NAME_LIST_ENCODING) as file:
        reader = csv.DictReader(file)
        if reader.fieldnames != list(Judged._fields):
            raise ValueError(f"not a list this tool wrote (columns {reader.fieldnames}, not {list(Judged._fields)})")
        rows = []
        for row in reader:
            try:
                rows.append(Judged(row["output"], row["photo"], float(row["sureness"]), float(row["person_share"])))
            except (TypeError, ValueError):  # (TypeError: float(None), a row cut short, edited by hand)
                raise ValueError(f"line {reader.line_num} is not a row this tool wrote: {row}") from None
        return rows


# ----------------------------------------------------------------------------
# Pipes: `-` for standard input and output
# ----------------------------------------------------------------------------

PIPE = Path("-")  # as the input, a photo piped in; as the output, the output piped out
STDOUT_DESCRIPTOR, STDERR_DESCRIPTOR = 1, 2  # where C code writes, whatever sys.stdout and sys.stderr are


@contextmanager
def piped(inputs, output, suffix):
    """The inputs and output to run on, where `-` stands for standard input
    (one photo piped in: cat photo.jpg | predict.py - cutout.png) or for
    standard output (the one output piped out: predict.py photo.jpg - | ...):
    the photo saved to a temporary file, read as a file of its format is,
    and a temporary output file (ending in `suffix`, see output_suffix) whose
    bytes go to standard output once written whole, with nothing else
    printed there. What cannot be piped is a PredictError, said before any
    photo is read."""
    piping_in, piping_out = PIPE in map(Path, inputs), Path(output) == PIPE
    if not piping_in and not piping_out:
        yield inputs, output
        return
    if not piping_in:  # expanded once: an @FILE list that is a pipe, @<(find ...), reads empty the second time
        inputs = expand_patterns(inputs)
    refuse_what_cannot_be_piped(inputs, output, piping_in, piping_out)
    with tempfile.TemporaryDirectory(prefix="predict-") as folder:
        if piping_in:
            inputs = [photo_piped_in(Path(folder))]
        if not piping_out:
            yield inputs, output
            return
        written = Path(folder) / f"stdout{suffix}"
        with printing_to_stderr():
            yield inputs, written
        if written.is_file():
            pipe_out(written.read_bytes())


def refuse_what_cannot_be_piped(inputs, output, piping_in, piping_out):
    """A PredictError for pipes that cannot work: a photo piped in with other
    inputs or into a folder, several outputs piped out (`inputs`, unless
    `piping_in`, with patterns expanded: see expand_patterns), or a pipe
    that is a terminal (typing a photo in, or a PNG shown as text)."""
    if piping_in and len(inputs) > 1:
        raise PredictError("input - (a photo piped in) comes alone: give the other photos in a run of their own")
    if piping_in and not piping_out and (Path(output).is_dir() or not Path(output).suffix):
        raise PredictError(f"a photo piped in (input -) has no name to give its output in the folder {output}: "
                           f"name the output file (cutout.png), or - to pipe it out")
    if piping_out and not piping_in and not one_photo_given(inputs):
        raise PredictError("output - (standard output) holds one output: give one photo, or a folder for the outputs "
                           "of several")
    if piping_in and (sys.stdin is None or sys.stdin.isatty()):
        raise PredictError("input - reads a photo piped in, and standard input is the terminal: pipe one in "
                           "(cat photo.jpg | python predict.py - cutout.png, or < photo.jpg)")
    if piping_out and sys.stdout.isatty():
        raise PredictError("output - writes the output to standard output, which is the terminal: redirect it "
                           "(> cutout.png) or pipe it on")


def photo_piped_in(folder):
    """The photo on standard input, saved in `folder` under the suffix of its
    format (see image_files.format_suffix; a camera RAW file's, which is
    developed by its suffix, as .dng); a PredictError where none is there,
    or one that cannot be read."""
    content = sys.stdin.buffer.read()
    if not content:
        raise PredictError("input -: nothing was piped in (standard input is empty)")
    suffix = image_files.format_suffix(content)
    if suffix in ("", ".tif") and image_files.is_camera_raw(content):  # a TIFF to OpenCV, which would read its preview
        suffix = ".dng"  # (any of image_files.RAW_EXTENSIONS: decoded as a camera RAW file, whichever it is)
    path = folder / f"stdin{suffix}"
    path.write_bytes(content)
    try:  # said now, before the model is loaded, rather than as a failed temporary file
        image_files.decode(path, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    except data.DatasetError as error:
        raise PredictError(f"input - (the photo piped in): {str(error).removeprefix(f'{path}: ')}") from None
    return path


@contextmanager
def printing_to_stderr():
    """Meanwhile, what is printed to standard output, by Python (sys.stdout)
    or by a library's C code (file descriptor 1), goes to standard error, so
    that standard output holds the output's bytes alone."""
    sys.stdout.flush()
    kept = os.dup(STDOUT_DESCRIPTOR)
    os.dup2(STDERR_DESCRIPTOR, STDOUT_DESCRIPTOR)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        os.dup2(kept, STDOUT_DESCRIPTOR)
        os.close(kept)


def pipe_out(content):
    """Writes `content` to standard output; a PredictError where the pipe's
    reader has gone (... | head -c 100) before taking it whole."""
    try:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # What is left unwritten would fail again, at exit, as Python flushes standard output.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise PredictError("output -: the pipe was closed before the whole output was written to it") from None


def checked_settings(threshold, crop_margin, background, canvas, batch_size=8, workers=WORKERS):
    """remove_background(_files)' `background` and `canvas` as compose
    takes them (see background_of, canvas_of), once every setting is
    checked: a PredictError naming each out of range (see out_of_range),
    before any photo is read."""
    if troubles := out_of_range(threshold, crop_margin, batch_size, workers):
        raise PredictError("; ".join(troubles))
    background = background_of(background)
    return background, canvas_of(canvas, background)


def out_of_range(threshold=None, crop_margin=compose.CROP_MARGIN, batch_size=8, workers=WORKERS, flags=False):
    """What is wrong with these settings of remove_background(_files), each
    a sentence that begins with the setting's name (with `flags`, its flag:
    --batch-size); [] where nothing is.
    (Out of range they would not fail: a batch of 0 photos waits for ever,
    a threshold of 1 leaves every cutout empty; a margin of nan fails each
    photo as it is written.) A value that is no number, "0.5" from Python,
    is out of range too, and said as the text it is."""
    ranges = (("threshold", threshold, lambda value: value is None or 0 < value < 1, "above 0 and below 1"),
              # nan and inf too: a margin in pixels is a whole number
              ("crop_margin", crop_margin, lambda value: 0 <= value < math.inf,
               "a number, 0 or more (a share of the people's box)"),
              ("batch_size", batch_size, lambda value: value >= 1, "at least 1"),
              ("workers", workers, lambda value: value >= 1, "at least 1"))
    named = (lambda name: "--" + name.replace("_", "-")) if flags else str
    return [f"{named(name)} must be {must}; got {repr(value) if isinstance(value, str) else value}"
            for name, value, within, must in ranges if not compares_within(value, within)]


def compares_within(value, within):
    """within(value), False where `value` cannot be compared with numbers."""
    try:
        return bool(within(value))
    except TypeError:
        return False


def add_mask_flags(parser):
    """The flags that choose how masks are made, for predict.py and for
    evaluate.py, which scores masks as predict.py makes them."""
    parser.add_argument("--flip-tta", action="store_true",
                        help="also segment the mirrored photo and average the masks: slightly better edges, half the speed")
    parser.add_argument("--no-close-up", dest="close_up", action="store_false",
                        help="skip the closer looks: the second pass on a crop around people who fill little "
                        "of the photo, and the tiles across a wide photo or down a tall one")
    parser.add_argument("--upright-only", action="store_true",
                        help="skip the look at unsure photos turned a quarter either way and half a turn "
                        "(people lying down or upside down)")
    parser.add_argument("--keep-specks", action="store_true",
                        help="keep the small patches of mask that float apart from the people (specks)")
    parser.add_argument("--main-person", action="store_true",
                        help="keep only the main person, the one the mask holds most of: people apart from them "
                        "(bystanders) are left out, and specks too")


def add_engine_flag(parser):
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="how the model runs: tflite (TensorFlow Lite, about twice as fast on a CPU; converted "
                        "once per model file, kept beside it in .tflite-cache/), keras, or auto: tflite where "
                        "TensorFlow sees no GPU (default: %(default)s)")


class ParserNamingTheOutput(argparse.ArgumentParser):
    """argparse's parser, with `predict.py photo.jpg` answered by what the
    output is for, not argparse's "the following arguments are required:
    output": the one photo was taken for the input."""

    def error(self, message):
        if message.endswith("arguments are required: output"):
            message = ("no output named: after the photos, name the folder for the cutouts (python predict.py "
                       "photo.jpg cutouts/) or, for one photo, the file (python predict.py photo.jpg cutout.png)")
        super().error(message)


def parse_args(argv=None):
    parser = ParserNamingTheOutput(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", type=data.path_argument, nargs="+", metavar="input",
                        help="photos or folders of photos (photos/*.jpg will do, quoted or not), @FILE for the "
                        "photos listed in FILE (a path a line), or - for one photo piped in")
    parser.add_argument("output", type=data.output_path_argument,
                        help="folder for the PNG outputs (created if needed); for one photo, a .png or .webp file name "
                        "will do (a .jpg with --background), or - to pipe its output out")
    parser.add_argument("--model", type=data.path_argument, default=None,
                        help=f"a .keras model, a train.py run folder (its model.keras), or a .tflite file (a "
                        f"TensorFlow Lite conversion, quantized or not, run as it is) "
                        f"(default: {DEFAULT_MODEL.relative_to(REPO_DIR)})")
    parser.add_argument("--recursive", action="store_true", help="also process photos in sub-folders")
    parser.add_argument("--threshold", type=float, default=None, metavar="T",
                        help="hard mask: person where the model's probability >= T (default: soft edges)")
    parser.add_argument("--mask-only", action="store_true", help="write the grey mask instead of the cutout")
    parser.add_argument("--background", default=None, metavar="COLOR|IMAGE",
                        help="compose onto a colour (white, #00ff00, 0,255,0), a photo, or 'blur' (the photo's own "
                        "background blurred, a portrait mode) instead of transparency; a colour is sRGB, and a colour "
                        "or photo is converted into the colour profile of each photo it goes behind")
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument("--jpeg", action="store_true",
                         help=f"with --background: write JPEG files (quality {outputs.JPEG_QUALITY}), a fraction of "
                         "the PNGs' size (for one photo, naming a .jpg output does the same)")
    formats.add_argument("--webp", action="store_true",
                         help=f"write WebP files: the colours at quality {outputs.WEBP_QUALITY}, the transparency exact; "
                         "a fifth of the PNGs' size or less, for web pages (for one photo, naming a .webp output does the "
                         "same)")
    parser.add_argument("--keep-metadata", action="store_true",
                        help="keep each photo's EXIF and XMP metadata in its output (camera, lens, exposure, date "
                        "taken, and GPS location if the photo has it; rating, keywords, caption, copyright; for "
                        "photogrammetry and photo libraries), and its IPTC-IIM caption, keywords, creator and "
                        "copyright, written as XMP; but for its orientation and pixel size, set to the output's, "
                        "and its thumbnail and editors' edits, left out (default: none kept)")
    framing = parser.add_mutually_exclusive_group()
    framing.add_argument("--crop", action="store_true",
                         help="cut each output to the people in it, with a margin (default: the photo's whole frame)")
    framing.add_argument("--canvas", default=None, metavar="WIDTHxHEIGHT",
                         help="outputs all of this size (1080x1080): the people, as --crop cuts them, scaled to fit "
                         "and centred, or kept at the canvas's edge where the photo's edge cuts them")
    parser.add_argument("--crop-margin", type=float, default=None, metavar="SHARE",
                        help=f"with --crop or --canvas: room around the people, a share of their box's longer side "
                        f"(default: {compose.CROP_MARGIN}, the soft edge)")
    add_mask_flags(parser)
    add_engine_flag(parser)
    parser.add_argument("--batch-size", type=int, default=8, metavar="N",
                        help="photos the model runs on at once (default: 8; more can be faster on a GPU, and take "
                        "more memory)")
    parser.add_argument("--workers", type=int, default=WORKERS, metavar="N",
                        help=f"threads reading photos, and as many writing outputs "
                        f"(default: one per CPU, 2 to 8: {WORKERS})")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: skip them)")
    parser.add_argument("--watch", action="store_true",
                        help=f"then go on watching the input folders, and cut out each photo that comes in once it "
                        f"is copied in whole (a look every {watching.WATCH_EVERY:g} s), until Ctrl-C")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    args = command_line.parse_args(parser, argv)
    if args.mask_only and args.background:
        parser.error("--mask-only and --background exclude each other")
    if args.crop_margin is not None and not (args.crop or args.canvas):
        parser.error("--crop-margin needs --crop or --canvas: without them the outputs keep the photo's whole frame")
    if args.crop_margin is None:
        args.crop_margin = compose.CROP_MARGIN
    if troubles := out_of_range(args.threshold, args.crop_margin, args.batch_size, args.workers, flags=True):
        parser.error("; ".join(troubles))
    if args.jpeg and not args.background:
        parser.error("--jpeg needs a --background: JPEG has no transparency to hold a cutout")
    if args.watch and (PIPE in args.inputs or args.output == PIPE):
        parser.error("--watch watches folders for the photos that come in: it takes no pipe (-)")
    if args.webp and args.mask_only:
        parser.error("--webp and --mask-only exclude each other: masks are written as PNG files, which are smaller "
                     "than WebPs for grey masks")
    return args


def log_to_terminal(quiet=False):
    """Our lines on standard error as plain messages, INFO and up (WARNING
    and up where `quiet`), without JAX's INFO lines or OpenCV's complaints
    (image_files.quiet_opencv). For the scripts' main()."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    # Under Keras' JAX backend, JAX says at INFO which of its backends it could not start ("Unable to initialize
    # backend 'tpu': ... libtpu.so ..." on every machine without a TPU). JAX_LOGGING_LEVEL=INFO brings it back.
    logging.getLogger("jax").setLevel(logging.WARNING)
    image_files.quiet_opencv()


def main(argv=None):
    args = parse_args(argv)
    log_to_terminal(quiet=args.quiet)
    try:
        suffix = output_suffix(args.jpeg, args.webp, composed=args.background is not None, mask_only=args.mask_only)
        with piped(args.inputs, args.output, suffix) as (inputs, output), \
                (watching.sigterm_as_ctrl_c() if args.watch else nullcontext()):
            summary = remove_background_files(
                inputs, output, model=args.model, recursive=args.recursive, threshold=args.threshold,
                background=args.background, mask_only=args.mask_only, batch_size=args.batch_size,
                workers=args.workers, overwrite=args.overwrite, progress=not args.quiet, flip_tta=args.flip_tta,
                close_up=args.close_up, upright_only=args.upright_only, keep_specks=args.keep_specks, jpeg=args.jpeg,
                crop=args.crop, crop_margin=args.crop_margin, engine=args.engine, webp=args.webp,
                main_person=args.main_person, watch=args.watch, keep_metadata=args.keep_metadata, canvas=args.canvas,
            )
    except (PredictError, data.DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: the outputs written so far are kept (and listed in the folder's sureness.csv); "
              "run the same command again to go on where this run stopped", file=sys.stderr)
        return 130
    if not args.quiet:
        print(summary, file=sys.stderr)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
