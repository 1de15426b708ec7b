"""Train a person-segmentation U-Net.

    python train.py                                   # the bundled sample
    python train.py --data-dir /path/to/People_Segmentation --epochs 30

Edit the constants at the top of train.py, or override any of them on the
command line (`--batch-size 8`, `--augment false`). Everything a run produces
lands in OUT_DIR; starting again with the same OUT_DIR resumes an
interrupted run from its last finished epoch, and never replaces a finished
one.
"""

# ---------------------------------------------------------------------------
# Hyperparameters (each one is also a command-line flag: BATCH_SIZE -> --batch-size),
# each with what it takes after its name (int: a whole number)
# ---------------------------------------------------------------------------
# data
DATA_DIR: str = "People_Segmentation"   # a folder with images/ and masks/ (same names, or <name>_mask and the like), or train/, val/, test/ folders of them
RECURSIVE: bool = False                 # also read the photos and masks in sub-folders of images/ and masks/, paired by name wherever each lies
IMAGE_SIZE: int = 224                   # side of the square model input, a multiple of 32; photos are resized to it (wide ones letterboxed)
VAL_FRACTION: float = 0.1               # share of the pairs held out for validation (model selection), unless DATA_DIR has a val/ folder
TEST_FRACTION: float = 0.1              # share held out for the final test, evaluated once at the end, unless DATA_DIR has a test/ folder
SPLITS_FROM: str = "none"               # an earlier run's splits/ folder (or its run folder): its photos keep their split, photos added since are split anew
AUGMENT: bool = True                    # flips, scale/shift/rotate, colour, blur/downscale/noise on the training split (augmentation.py)
AUGMENT_P: float = 1.0                  # share of training photos augmented; the rest are seen as they are (0.5: a last fine-tune)
PASTE_P: float = 0.3                    # share of augmented photos given a second person pasted from another photo (keeps everyone in group photos)
SIDEWAYS_P: float = 0.0                 # share of augmented photos turned on their side (people lying down; costs landscape photos, see models/README.md)
MOTION_BLUR_P: float = 0.0              # share of augmented photos blurred by motion, 1-3% of their side in any direction (action photos; streaks taken for person, see models/README.md)
CACHE: str = "auto"                     # keep the decoded, resized photos in memory after the first epoch: "auto" (if they fit in half of it), "on" or "off"
# model
MODEL: str = "mobilenetv2_unet"         # "mobilenetv2_unet" (fast on CPU), "resnet50_unet" or "unet"
ENCODER_WEIGHTS: str = "imagenet"       # "imagenet", a .weights.h5 path, or "none" (random); ignored by "unet"
DECODER_WIDTH: float = 1.0              # multiplier of the decoder's channels: 2 doubles them (more capacity, ~1.3x slower to train)
INIT_WEIGHTS: str = "none"              # fine-tune: a trained .keras model (or run folder) of the same MODEL to start from (any IMAGE_SIZE, same or narrower decoder)
FREEZE_BATCH_NORM: bool = False         # fine-tune: keep the batch-norm statistics and scales as trained (photos unlike the training photos)
# optimisation
LOSS: str = "bce"                       # "bce", "bce_dice", "dice", "lovasz" or "bce_lovasz" (Lovasz: a surrogate of per-image IoU)
BATCH_SIZE: int = 16                    # per replica (GPU); the global batch is this x the number of GPUs used
EPOCHS: int = 40                        # upper bound; early stopping usually ends the run sooner
LEARNING_RATE: float = 1e-3             # Adam, for the global batch; with k replicas, try k x this (with warm-up)
LR_SCHEDULE: str = "plateau"            # "plateau" (reduce on plateau) or "cosine" (linear warm-up + cosine decay)
LR_PATIENCE: int = 3                    # plateau: epochs without improvement before the rate is divided by 5
WARMUP_EPOCHS: int = 1                  # cosine: epochs of linear warm-up
CLIP_NORM: float = 1.0                  # gradient clipping by global norm; 0 turns it off
PATIENCE: int = 8                       # early stopping: epochs without a lower validation loss
MIXED_PRECISION: str = "auto"           # "auto" (float16 on a GPU, off on CPU), "on" or "off"
SEED: int = 42                          # one seed for the split, the shuffling and the weights
STRATEGY: str = "auto"                  # "auto" (all GPUs of this machine when it has several), "mirrored" or "default"
# output
OUT_DIR: str = "runs/person"            # the run directory; the same one again resumes the run
# ---------------------------------------------------------------------------

import argparse
import csv
import gc
import json
import logging
import math
import os
import re
import shlex
import sys
import time
import warnings
from pathlib import Path

try:
    import fcntl  # the run directory's lock (see RunLock); Windows has none
except ImportError:
    fcntl = None

import command_line

HYPERPARAMETERS = {name: value for name, value in dict(globals()).items() if name.isupper()}
# What each takes, as its annotation above says: an edit to another kind of
# value ("0.5", 16.5) is read as the command line would read it, or refused.
KINDS = {name: kind for name, kind in __annotations__.items() if name in HYPERPARAMETERS}
KIND_NAMES = {int: "a whole number (16, without quotes)", float: "a number (0.001, or 1e-3)", bool: "True or False"}
REPO_DIR = Path(__file__).resolve().parent
# Where "imagenet" encoder weights are looked for before Keras downloads them
# (these machines have no internet; users' machines usually do).
LOCAL_IMAGENET_WEIGHTS = {
    "mobilenetv2_unet": REPO_DIR.parent / "shared/weights/mobilenet_v2_1.0_imagenet_no_top.weights.h5",
}

# The largest SEED: NumPy's, which Keras seeds with it too.
MAX_SEED = 2**32 - 1

# Settings that take one of a few words (MODEL and LOSS: model.py and metrics.py say which).
CHOICES = {"lr_schedule": ("plateau", "cosine"), "mixed_precision": ("auto", "on", "off"),
           "strategy": ("auto", "default", "mirrored"), "cache": ("auto", "on", "off")}

log = logging.getLogger("train")


def parse_bool(text):
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def constant_comments():
    """NAME -> the comment beside it at the top of this file, for --help."""
    lines = Path(__file__).read_text().splitlines()
    matches = (re.match(r"^([A-Z_]+)(?:: \w+)? = .*?#\s*(.*)$", line) for line in lines)
    return {match[1]: match[2] for match in matches if match}


def read_as(kind):
    """How a setting of `kind` is read from text: bool("false") is True."""
    return parse_bool if kind is bool else kind


def as_its_kind(value, kind):
    """A hyperparameter's value at the top of this file as its `kind` (see
    KINDS): text as the command line's is read ("224", "false"), a whole
    float (40.0) as an int, an int as a float; a ValueError for another
    value (16.5 where a whole number goes, 1 for True or False)."""
    if isinstance(value, str):
        return read_as(kind)(value)
    if kind is str:
        return str(value)  # None too: "None", read as "none"
    if isinstance(value, bool) != (kind is bool):
        raise ValueError(f"{value!r} is not {KIND_NAMES[kind]}")
    if kind is bool:
        return value
    if kind is int and float(value).is_integer():
        return int(value)
    if kind is float:
        return float(value)
    raise ValueError(f"{value!r} is not {KIND_NAMES[kind]}")


def flag(name):
    """The command-line flag of a setting: image_size -> --image-size."""
    return "--" + name.lower().replace("_", "-")


def parse_config(argv=None):
    """The hyperparameters above, with command-line overrides, as a dict of
    lower-case names; a usage error for settings check_settings refuses."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    comments = constant_comments()
    edited_wrong = []
    for name, constant in HYPERPARAMETERS.items():
        try:
            default = as_its_kind(constant, KINDS[name])
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            edited_wrong.append(f"{name} = {constant!r} at the top of train.py is not {KIND_NAMES[KINDS[name]]}")
            default = constant
        explanation = f"{comments[name]} " if name in comments else ""
        parser.add_argument(flag(name), type=read_as(KINDS[name]), default=default,
                            metavar=name, help=f"{explanation}(default: {default})".replace("%", "%%"))
    if edited_wrong:
        parser.error("; ".join(edited_wrong))
    config = vars(command_line.parse_args(parser, argv))
    problems = check_settings(config)
    if problems:
        parser.error("; ".join(problems))
    return config


def check_settings(config):
    """What is wrong with the settings, as messages: found here, a typo costs
    the seconds TensorFlow takes to import (7-8 on 2 cores), not the minutes
    of reading every photo that come first."""
    import quiet_tensorflow

    quiet_tensorflow.import_tensorflow()  # the first of this run: metrics.py and model.py import Keras
    import data
    import metrics
    from model import ENCODER_STRIDE, MODEL_NAMES

    problems = [f"{flag(name)} must be one of {', '.join(allowed)}; got {config[name]!r}"
                f"{command_line.did_you_mean(config[name], allowed)}"
                for name, allowed in {**CHOICES, "model": MODEL_NAMES, "loss": metrics.LOSS_NAMES}.items()
                if config[name] not in allowed]
    if config["image_size"] < ENCODER_STRIDE or config["image_size"] % ENCODER_STRIDE:
        sizes = ", ".join(str(ENCODER_STRIDE * times) for times in (7, 8, 9))
        problems.append(f"--image-size must be a multiple of {ENCODER_STRIDE} above 0 ({sizes}, ...); "
                        f"got {config['image_size']}")
    problems += [f"{flag(name)} must be between 0 and 1; got {config[name]}"
                 for name in ("augment_p", "paste_p", "sideways_p", "motion_blur_p") if not 0 <= config[name] <= 1]
    # Written as "not (what works)", so that nan, which fails every comparison, is refused too.
    problems += [f"{flag(name)} must be at least 1; got {config[name]}" for name in ("batch_size", "epochs")
                 if not config[name] >= 1]
    problems += [f"{flag(name)} must be above 0; got {config[name]}" for name in ("learning_rate", "decoder_width")
                 if not config[name] > 0]
    problems += [f"{flag(name)} must be 0 or more; got {config[name]}"
                 for name in ("warmup_epochs", "lr_patience", "patience", "clip_norm") if not config[name] >= 0]
    if config["lr_schedule"] == "cosine" and config["warmup_epochs"] >= config["epochs"] >= 1:
        problems.append(f"--warmup-epochs must be fewer than --epochs with --lr-schedule cosine, or the rate rises "
                        f"for the whole run and never decays; got {config['warmup_epochs']} of {config['epochs']} "
                        f"(--warmup-epochs 0: none)")
    if not 0 <= config["seed"] <= MAX_SEED:
        problems.append(f"--seed must be between 0 and {MAX_SEED:,} (NumPy's seeds); got {config['seed']}")
    held_out = config["val_fraction"] + config["test_fraction"]
    if not (config["val_fraction"] >= 0 and config["test_fraction"] >= 0 and held_out < 1):
        problems.append(f"--val-fraction and --test-fraction must be 0 or more and leave photos to train on "
                        f"(together below 1); got {config['val_fraction']} and {config['test_fraction']}")
    addresses = [f"{flag(name)}: {why}" for name in ("data_dir", "out_dir", "splits_from", "init_weights",
                                                     "encoder_weights")
                 if (why := why_not_a_path(config[name], written=name == "out_dir"))]
    if addresses:  # the files' own checks below would only name the path made of them
        return problems + addresses
    try:
        init_weights = initial_weights_file(config)
    except ValueError as error:  # a folder without a finished run's model in it
        problems.append(f"--init-weights: {error}")
    else:
        if init_weights and not init_weights.is_file():
            problems.append(f"--init-weights: there is no file {init_weights} (a trained .keras model to start from)")
        elif init_weights and (trouble := init_weights_trouble(init_weights, config["model"], config["decoder_width"])):
            problems.append(f"--init-weights: {trouble}")
        if not init_weights and (trouble := encoder_weights_trouble(config["model"], config["encoder_weights"])):
            problems.append(f"--encoder-weights: {trouble}")
        if config["freeze_batch_norm"] and not init_weights:
            # New layers frozen at their initial values normalise nothing: on the bundled sample (10 epochs at
            # 128, two seeds) training loss 0.56 and 0.66 against 0.33 and 0.43 live, training IoU 0 against 0.58
            # and 0.55.
            problems.append("--freeze-batch-norm keeps a trained model's batch norm as it is, and there is none: "
                            "pass the model to fine-tune as --init-weights (frozen from the start, the new decoder's "
                            "batch norm would keep its initial values, which normalise nothing: it learns little)")
    if trouble := beside_train_py_instead(config["data_dir"]):
        problems.append(trouble)
    if Path(config["out_dir"]).is_file():
        problems.append(f"--out-dir: {config['out_dir']} is a file, not a folder for the run")
    else:
        blocked_by = data.why_folder_cannot_be_written(config["out_dir"])  # (a run stopped by bad data makes none)
        if blocked_by:
            problems.append(f"--out-dir: {config['out_dir']} cannot be made: {blocked_by}")
    return problems


def beside_train_py_instead(data_dir):
    """For a relative DATA_DIR missing from the working folder yet beside
    train.py (the bundled sample, with train.py run from another folder),
    the sentence that says where it is; else None."""
    path = Path(data_dir)
    if path.is_absolute() or path.exists() or not (REPO_DIR / path).is_dir():
        return None
    return (f"--data-dir: {data_dir} is not in the working folder ({Path.cwd()}) but beside train.py: run "
            f"train.py from {shlex.quote(str(REPO_DIR))}, or pass --data-dir {shlex.quote(str(REPO_DIR / path))}")


def why_not_a_path(text, written=False):
    """Why a setting's file or folder (to write, where `written`) is no path
    (a web address), or None."""
    import data

    try:
        data.local_path(text, written)
    except data.DatasetError as error:
        return str(error)
    return None


# Settings a resumed run may take other values of: how it is carried out,
# not what it computes, or what it no longer reads (its weights come from its
# backup, its split from its splits/).
RESUMABLE_WITH_OTHERS = ("cache", "strategy", "mixed_precision", "encoder_weights", "init_weights", "splits_from")
PATH_SETTINGS = ("data_dir", "out_dir")
# Settings added since runs began to write their config.json, each with what
# a run did before it was there: a run begun then resumes with it so.
AS_BEFORE_ADDED = {"recursive": False}


def settings_changed_since(run_dir, config):
    """The settings that differ from those the run in run_dir started with
    (its config.json), as "--image-size 224 -> 288"; none where it has no
    config.json yet."""
    try:
        started = {**AS_BEFORE_ADDED, **json.loads((run_dir / "config.json").read_text())}
    except (OSError, ValueError):
        return []

    def same(name):
        before, now = started.get(name), config[name]
        if name in PATH_SETTINGS and none_or_path(str(before)) and none_or_path(str(now)):
            return Path(before).resolve() == Path(now).resolve()
        return before == now

    return [f"{flag(name)} {started.get(name)} -> {config[name]}" for name in config
            if name not in RESUMABLE_WITH_OTHERS and not same(name)]


def unreadable_backup(backup_dir):
    """Why the backup of an interrupted run (BackupAndRestore's, in
    backup_dir) cannot be restored, or None: its latest weights, or where
    those cannot be read, the ones before them, which BackupAndRestore then
    restores (kept with double_checkpoint); none at all, it starts afresh."""
    import h5py

    troubles = []
    for weights in (backup_dir / "latest.weights.h5", backup_dir / "latest.weights.h5.bkp"):
        if weights.exists():
            try:
                with h5py.File(weights, "r"):
                    return None
            except OSError as error:  # h5py's word for a file cut short or damaged
                troubles.append(f"{weights}: {error}")
    return troubles[0] if troubles else None


def encoder_weights_trouble(model_name, weights):
    """What is wrong with an ENCODER_WEIGHTS file for MODEL: not there, or
    no weights file (Keras writes them as HDF5), saying what it holds where
    that can be told (a web page, a Git LFS pointer); None where nothing is,
    or no file is named ("imagenet", "none", or a model without an encoder)."""
    import h5py

    import image_files

    path = none_or_path(weights)
    if model_name == "unet" or path is None or weights == "imagenet":
        return None
    if not path.is_file():
        return f"there is no file {path} (the encoder's .weights.h5; or imagenet, or none)"
    if h5py.is_hdf5(path):
        try:
            with h5py.File(path, "r"):
                return None
        except OSError as error:  # cut short ("truncated file: eof = ..."), or damaged
            return f"{path} cannot be read as a .weights.h5 file: {error}"
    with open(path, "rb") as file:
        held = image_files.what_it_holds(file.read(1024))
    return f"{path} is not a .weights.h5 file (HDF5)" + (f" but {held}" if held else ": corrupt, or another format")


def resolve_encoder_weights(model_name, weights):
    """None, or what keras.applications accepts: a file path or "imagenet"."""
    if model_name == "unet" or none_or_path(weights) is None:
        return None
    if weights == "imagenet" and model_name in LOCAL_IMAGENET_WEIGHTS and LOCAL_IMAGENET_WEIGHTS[model_name].exists():
        return str(LOCAL_IMAGENET_WEIGHTS[model_name])
    if weights != "imagenet" and not Path(weights).is_file():
        raise FileNotFoundError(f"encoder weights file {weights} does not exist")
    return weights


# CACHE = "auto" keeps the photos in memory where they take at most this
# share of it: the rest is for the model, the batches and the system. The
# cache fills during the first epoch, so a set of photos too large for it
# would end the run with an out-of-memory error an epoch in.
CACHE_MEMORY_SHARE = 0.5


def memory_bytes():
    """The memory this process may use: the machine's, or its container's
    limit (cgroup v2) where that is lower; None where neither can be read."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # no sysconf on Windows
        return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return memory
    return min(memory, int(limit)) if limit.isdigit() else memory


def cache_in_memory(setting, photo_count, image_size, memory=None):
    """Whether data.make_dataset keeps the decoded photos in memory, said in
    the log: `setting` "on" or "off", or "auto", where they (an RGB photo and
    its mask, a byte a pixel each channel) take at most CACHE_MEMORY_SHARE of
    `memory` (bytes; None, unknown: kept)."""
    needed = photo_count * image_size * image_size * 4
    cache = setting == "on" if setting != "auto" else memory is None or needed <= CACHE_MEMORY_SHARE * memory
    of_memory = f"of {memory / 2**30:.1f} GiB of memory" if memory else "(memory unknown)"
    if cache:
        log.info("photos kept in memory after the first epoch: %.2f GiB %s", needed / 2**30, of_memory)
    else:
        log.info("photos decoded anew every epoch, not kept in memory (%.2f GiB %s; --cache on keeps them)",
                 needed / 2**30, of_memory)
    return cache


def use_gpu_speedups(config):
    """Mixed precision and XLA pay off on GPUs; on CPUs they slow training down."""
    import keras
    import tensorflow as tf

    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    mixed = config["mixed_precision"] == "on" or (config["mixed_precision"] == "auto" and has_gpu)
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    if mixed and not has_gpu:
        log.warning("mixed precision on a CPU: float16 trained 2.5-2.7x slower than float32 on the CPU measured "
                    "(benchmarks/train_step.py), one without float16 arithmetic; --mixed-precision auto keeps it "
                    "for GPUs")
    return has_gpu


def distribution_strategy(name):
    """tf.distribute strategy by name: "mirrored" (every GPU of this machine,
    or every logical CPU device on a machine without one), "default" (one
    device), or "auto" (mirrored when several GPUs are visible)."""
    import tensorflow as tf

    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if len(cluster.get("chief", [])) + len(cluster.get("worker", [])) > 1:
        # Keras 3's fit() fails under MultiWorkerMirroredStrategy (it reduces
        # scalar metrics along axis 0 and builds the model from distributed
        # batches eagerly): keras-team/keras#20585. Say so instead of crashing.
        raise RuntimeError("TF_CONFIG describes a cluster of several workers, but Keras 3's fit() does not "
                           "support MultiWorkerMirroredStrategy yet (keras-team/keras#20585); train on one "
                           "machine (all its GPUs are used) or unset TF_CONFIG")
    if name == "auto":
        name = "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "default"
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "default":
        return tf.distribute.get_strategy()
    raise ValueError(f"strategy must be auto, default or mirrored; got {name!r}")


def where_it_trains(has_gpu, replicas, batch_size):
    """The devices a run trains on, and its batch split over them, in words."""
    if replicas == 1:
        return f"on the {'GPU' if has_gpu else 'CPU (TensorFlow sees no GPU)'}, batch {batch_size}"
    return (f"on {replicas} {'GPUs' if has_gpu else 'CPU devices'} (MirroredStrategy): global batch "
            f"{batch_size * replicas} = {batch_size} per replica x {replicas}")


def none_or_path(text):
    """None for a setting of "none" (or empty), else the path it names."""
    return None if str(text).lower() in ("none", "") else Path(text)


def splits_folder(splits_from):
    """The folder SPLITS_FROM names: a run's splits/, or the run folder (a
    train.py run's, or models/ for the shipped model's) that holds one."""
    path = none_or_path(splits_from)
    if path and not (path / "train.txt").is_file() and (path / "splits").is_dir():
        return path / "splits"
    return path


def initial_weights_file(config):
    """The .keras file INIT_WEIGHTS names (a train.py run folder names its
    model.keras, as for predict.py), or None to start afresh."""
    from model_files import model_file

    init_weights = none_or_path(config["init_weights"])
    return model_file(init_weights) if init_weights else None


def init_weights_trouble(path, model_name, decoder_width):
    """What keeps the model file at `path` from starting a run of
    `model_name` with `decoder_width`, as far as the file tells without
    loading it (a TensorFlow Lite model, a file that is no .keras model, a
    model of another architecture or with a wider decoder:
    load_initial_weights can only widen one), or None: said with the
    settings, not after minutes of checking photos."""
    from model import MODEL_NAMES, decoder_width_of
    from model_files import not_a_keras_model, saved_config

    if trouble := not_a_keras_model(path):
        return f"{path} is {trouble}"
    saved = saved_config(path) or {}
    saved_as = saved.get("name")
    if saved_as in MODEL_NAMES and saved_as != model_name:
        return f"{path} is a {saved_as}, and --model is {model_name}: pass --model {saved_as} to fine-tune it"
    trained_width = decoder_width_of(saved)
    if trained_width and round(trained_width, 2) > decoder_width:
        return (f"{path} has a decoder {trained_width:.3g} times as wide as the default, and --decoder-width is "
                f"{decoder_width:g}: pass --decoder-width {trained_width:.3g} (or more) to fine-tune it")
    return None


def split_data(config, run_dir, resuming, init_weights=None):
    """The pairs of DATA_DIR by split ({"train", "val", "test"} -> pairs),
    written to the run's splits/, with every pair decoded once and the
    unreadable left out; and {photo: why it was left out}. A resumed run
    keeps the split it started with, whatever was added to the folder since;
    SPLITS_FROM keeps an earlier run's; a DATA_DIR that comes split keeps
    its own (see split_as_given); a fine-tune from `init_weights` warns
    where it would test on that model's training photos, and any run where
    it would be scored on masks a model drew."""
    import data

    data_dir = Path(config["data_dir"])
    resumed_split = run_dir / "splits" if resuming and (run_dir / "splits").is_dir() else None
    splits_from = resumed_split or splits_folder(config["splits_from"])
    folders = data.split_folders(data_dir)
    if folders:
        splits = split_as_given(folders, config, splits_from)
    else:
        pairs = data.find_pairs(data_dir / "images", data_dir / "masks", config["recursive"])
        earlier = data.read_split_lists(splits_from) if splits_from else None
        splits = data.split_pairs(pairs, config["val_fraction"], config["test_fraction"], config["seed"], earlier)
        if earlier:
            log.info("the split of %s kept; photos not listed there split anew", splits_from)
    if init_weights and not splits_from:
        warn_if_held_out_photos_were_trained_on(splits, init_weights)
    warn_if_held_out_masks_were_drawn_by_a_model(splits)
    # Checked after the split, so that an unreadable photo moves no other between splits.
    _, bad = data.check_pairs([pair for name in data.SPLIT_NAMES for pair in splits[name]])
    skipped = {str(image): reason for (image, _), reason in bad}
    usable = {name: [pair for pair in splits[name] if str(pair[0]) not in skipped] for name in data.SPLIT_NAMES}
    if not usable["train"]:
        training = sorted(skipped[str(image)] for image, _ in splits["train"])  # by path, not in shuffled order
        raise data.DatasetError(f"none of the {len(training)} training photos is usable:"
                                f"{data.first_reasons(training)}")
    if not usable["val"]:
        log.warning("no validation photos: the best epoch is chosen, and training stopped, on the training photos "
                    "as augmented, which say less of photos the model has not seen (--val-fraction holds some out)")
    # Listed with the unreadable, so that one mended keeps its split; and only now, so that
    # a run stopped by its photos leaves no run folder behind.
    data.write_split_lists(splits, run_dir / "splits")
    return usable, skipped


def split_as_given(folders, config, splits_from=None):
    """The pairs by split of a DATA_DIR that comes split (`folders`, see
    data.split_folders): each split's folder's pairs, and for a split
    without a folder (val/, test/) a share of train/'s, VAL_FRACTION or
    TEST_FRACTION, carved as from a folder that does not come split,
    keeping the carving of `splits_from` (a resumed run's, or SPLITS_FROM)."""
    import data

    pairs = {name: data.find_pairs(folder / "images", folder / "masks", config["recursive"])
             for name, folder in folders.items()}
    fractions = {name: 0 if name in folders else config[f"{name}_fraction"] for name in ("val", "test")}
    # The lists of the pairs from train/ only: another folder's photos may have the same names.
    earlier = {name: data.read_stems(splits_from / f"{name}.txt") if name == "train" or name not in folders else []
               for name in data.SPLIT_NAMES} if splits_from else None
    splits = data.split_pairs(pairs["train"], fractions["val"], fractions["test"], config["seed"], earlier)
    splits.update((name, folder_pairs) for name, folder_pairs in pairs.items() if name != "train")
    log.info("%s comes split: %s", config["data_dir"], ", ".join(
        f"{name} {len(splits[name])} pairs " + (f"({folders[name].name}/)" if name in folders else
                                                f"(carved from {folders['train'].name}/ by --{name}-fraction)")
        for name in data.SPLIT_NAMES))
    return splits


def warn_if_held_out_photos_were_trained_on(splits, init_weights):
    """Warns where the validation or test split holds photos that the run of
    the model fine-tuned from trained on (see data.photos_trained_on: the
    splits/ folder beside it, a run's or models/splits for the shipped
    model, and the data folder of its config): their scores would flatter
    the fine-tuned model."""
    import data

    seen, trained_on = data.photos_trained_on([image for name in ("val", "test") for image, _ in splits[name]],
                                              init_weights)
    if seen:
        stems = sorted(image.stem for image in seen)
        log.warning("%s of the validation and test photos were training photos of %s (%s): their scores would "
                    "flatter it; pass --splits-from %s to keep that split", data.describe(stems), init_weights,
                    trained_on, shlex.quote(str(trained_on.parent)))


def warn_if_held_out_masks_were_drawn_by_a_model(splits):
    """Warns where half or more of the validation (or test) masks are as
    `predict.py --mask-only` drew them, as the README's fine-tuning section
    suggests for training masks: scored on those, a run measures how like
    that model its own is, not how good, and picks its best epoch by it.
    evaluate.py warns of the same when it scores them."""
    import data
    import predict

    for name, split in (("val", "validation"), ("test", "test")):
        masks = [mask for _, mask in splits[name]]
        drawn = as_a_model_drew_them(masks)
        if masks and len(drawn) >= len(masks) / 2:
            log.warning("%s of the %d %s masks are as predict.py --mask-only drew them (listed in the %s it wrote "
                        "beside them, and not changed since): scored on them, this run measures how like that model "
                        "its own is, not how good; draw or correct the validation and test masks by hand",
                        data.describe(drawn, limit=3), len(masks), split, predict.SURENESS_FILE)


def as_a_model_drew_them(masks):
    """Of the mask paths, those listed in the predict.SURENESS_FILE of their
    folder, or of a folder above it (predict.py --recursive writes one list
    for the sub-folders it mirrors), and not changed since it was written:
    masks predict.py drew, not corrected by hand since (see
    predict.rows_still_as_listed; a run of predict.py into the folder again
    leaves the corrected ones out of the list, see predict.record_sureness)."""
    as_drawn = {}  # folder -> the masks its list names, as paths from it, still as predict.py drew them
    return [mask for mask in masks
            if any(mask.relative_to(folder) in listed_as_drawn(folder, as_drawn) for folder in mask.parents)]


def listed_as_drawn(folder, known):
    """The outputs (paths from `folder`) that the predict.SURENESS_FILE in
    `folder` lists, still as predict.py drew them; none where there is no
    such list. Each folder's read once, into `known`."""
    import predict

    if folder not in known:
        try:
            known[folder] = {Path(row.output) for row in predict.rows_still_as_listed(folder / predict.SURENESS_FILE)}
        except (OSError, ValueError, TypeError):  # none (hand-drawn masks: nearly always), or not predict.py's
            known[folder] = set()
    return known[folder]


def build_with_encoder_weights(config, image_size, encoder_weights):
    """The run's model, its encoder's weights loaded from `encoder_weights`
    ("imagenet", a file, or None): SystemExit where the ImageNet ones cannot
    be downloaded, ValueError where the file holds another network's."""
    from model import build_model

    try:
        # Keras warns of each part of a weights file that fits nothing (hundreds of lines, for another
        # network's) before it fails: kept back, and passed on only where it does not fail.
        with warnings.catch_warnings(record=True) as kept_back:
            warnings.simplefilter("always")
            model = build_model(config["model"], image_size, encoder_weights=encoder_weights,
                                decoder_width=config["decoder_width"])
    except Exception as error:
        if encoder_weights == "imagenet" and "fetch failure" in str(error):
            raise SystemExit(f"could not download the ImageNet encoder weights ({error}); without internet, "
                             f"pass --encoder-weights PATH/TO/FILE.weights.h5 or --encoder-weights none") from error
        if encoder_weights is None or encoder_weights == "imagenet":
            raise
        # The weights of another network: Keras's message lists every layer that did not fit, after one example.
        example = str(error).split("List of objects")[0]
        said = " ".join(line.strip() for line in example.splitlines() if line.strip())
        raise ValueError(f"cannot load the encoder weights {encoder_weights} into {config['model']} (another "
                         f"network's?): {said}") from error
    once_each = {}  # as Python's default filter shows warnings: once for each place in the code
    for warning in kept_back:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno, registry=once_each)
    return model


def load_initial_weights(model, path):
    """Start from a trained model's weights. The networks are fully
    convolutional, so a model trained at one input size fine-tunes at another,
    and a trained decoder can grow wider (--decoder-width) without changing
    what the model computes at the start."""
    from model import grow_weights, load_trained_model

    trained = load_trained_model(path)
    try:
        grow_weights(trained, model)
    except ValueError as error:
        raise ValueError(f"{path}: its weights do not fit a {model.name} ({error}); "
                         f"pass the --model and a --decoder-width at least as large as it was trained with") from error
    log.info("starting from the weights of %s", path)


def learning_rate(config, steps_per_epoch):
    import keras

    if config["lr_schedule"] == "plateau":
        return config["learning_rate"]
    if config["lr_schedule"] == "cosine":
        warmup_steps = config["warmup_epochs"] * steps_per_epoch
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0, warmup_target=config["learning_rate"], warmup_steps=warmup_steps,
            decay_steps=max(1, config["epochs"] * steps_per_epoch - warmup_steps),
        )
    raise ValueError(f"lr_schedule must be 'plateau' or 'cosine', got {config['lr_schedule']!r}")


def compile_for_training(model, config, steps_per_epoch, jit_compile=False):
    """Compiles `model` with Adam, the loss and the metrics of `config`; returns the optimizer."""
    import keras

    import metrics

    optimizer = keras.optimizers.Adam(learning_rate(config, steps_per_epoch), clipnorm=config["clip_norm"] or None)
    model.compile(optimizer=optimizer, loss=metrics.get_loss(config["loss"]), metrics=metrics.segmentation_metrics(),
                  jit_compile=jit_compile)
    # Its variables made now, not in the first training step: a step that makes variables is traced twice, and
    # tracing the step is most of a first epoch's wait (Keras builds them early only under a strategy of its own).
    # model.optimizer: under mixed float16, Adam wrapped in a LossScaleOptimizer, whose variables count too.
    model.optimizer.build(model.trainable_variables)
    return optimizer


def logged_rows(csv_path):
    """The rows of a run's CSV log, an epoch a row, those before it was
    resumed included (fit's history holds only this process's); none
    without a log."""
    if not csv_path.exists():
        return []
    with csv_path.open() as file:
        return list(csv.DictReader(file))


# The CSV log's column of the seconds each epoch took (a comment beside it
# would make it a hyperparameter's, for --help: see constant_comments).
EPOCH_SECONDS = "epoch_seconds"


def seconds_trained(csv_path):
    """The seconds a run's logged epochs took, those before it was resumed
    included (an epoch cut short is not logged); None where its log does not
    hold them all: a run begun before train.py timed its epochs."""
    seconds = [row.get(EPOCH_SECONDS) for row in logged_rows(csv_path)]
    return round(sum(map(float, seconds)), 1) if seconds and all(seconds) else None


def logs_epoch_seconds(csv_path):
    """Whether the run's CSV log has room for each epoch's seconds: none yet,
    or its header names them. CSVLogger appends a resumed run's rows under
    the header it finds, and a log begun without the column would have rows
    longer than its header."""
    if not csv_path.exists():
        return True
    with csv_path.open() as file:
        columns = csv.DictReader(file).fieldnames
    return columns is None or EPOCH_SECONDS in columns


def best_logged_value(csv_path, monitor, mode):
    """Best value of `monitor` in a CSV log so far (None without one), so that
    a resumed run only replaces the best checkpoint with a better model."""
    values = [float(row[monitor]) for row in logged_rows(csv_path) if row.get(monitor)]
    values = [v for v in values if math.isfinite(v)]
    return (max if mode == "max" else min)(values) if values else None


def make_callbacks(config, run_dir, optimizer, has_validation, resuming):
    import keras

    # The best model is chosen by IoU; early stopping and the learning-rate
    # plateau watch the loss, which keeps improving while IoU at the 0.5
    # threshold may still be flat at zero in the first epochs of a small run.
    monitor = "val_iou" if has_validation else "iou"
    loss = "val_loss" if has_validation else "loss"
    csv_path = run_dir / "log.csv"
    # CSVLogger writes only what is in an epoch's logs, where nothing puts a
    # schedule's rate: the rate of the epoch's last step goes there first.
    record_learning_rate = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(
        learning_rate=float(keras.ops.convert_to_numpy(optimizer.learning_rate))))
    callbacks = [record_learning_rate]
    time_epochs = []
    if not resuming or logs_epoch_seconds(csv_path):
        # And each epoch's seconds, so that a run resumed after a crash still knows how long it trained in all;
        # read after the backup and the best model are written, which take their share of a small run's epoch.
        began = {}
        time_epochs.append(keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: began.update(at=time.perf_counter()),
            on_epoch_end=lambda epoch, logs: logs.update({EPOCH_SECONDS: time.perf_counter() - began["at"]})))
    if config["lr_schedule"] == "plateau":
        # Before the backup, which then holds the rate as lowered after this epoch: a run resumed from it
        # goes on at the rate that an uninterrupted one would have.
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=loss, factor=0.2, patience=config["lr_patience"], min_lr=1e-6))
    return callbacks + [
        # Before anything writes the epoch to disk (checkpoint, log), so that none is written that is not backed
        # up. With the backup before it kept (double_checkpoint): one cut short as it was written (Ctrl-C then, a
        # full drive) gives way to it.
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / "best.keras"), monitor=monitor, mode="max", save_best_only=True,
            initial_value_threshold=(best_logged_value(csv_path, monitor, "max")
                                     if resuming and (run_dir / "best.keras").exists() else None),
        ),
        keras.callbacks.EarlyStopping(monitor=loss, mode="min", patience=config["patience"], restore_best_weights=True),
        *time_epochs,
        keras.callbacks.CSVLogger(str(csv_path), append=resuming),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard")),
    ]


def why_training_stopped_early(stopper, config, has_validation, first_epoch):
    """The line that says why a run ended before --epochs, and when its
    watched loss was last lowered: otherwise a run that ends at epoch 39 of
    40 looks cut short. Epochs counted from 1, as Keras shows them. On a
    resumed run (`first_epoch`, this process's first, above 0), early
    stopping has watched only the epochs since, and says so."""
    since = stopper.stopped_epoch - stopper.best_epoch
    resumed = f"since the run resumed at epoch {first_epoch + 1}, " if first_epoch else ""
    return (f"stopped early at epoch {stopper.stopped_epoch + 1} of {config['epochs']}: {resumed}the "
            f"{'validation' if has_validation else 'training'} loss was lowest at epoch {stopper.best_epoch + 1}, "
            f"and no lower in the {since} epoch{'' if since == 1 else 's'} after it "
            f"({flag('patience')} {config['patience']})")


def compile_for_scoring(model, config):
    """Compiles `model` with the loss and metrics of `config`, for
    evaluate_on: once, as compiling anew drops the traced functions."""
    import metrics

    model.compile(loss=metrics.get_loss(config["loss"]), metrics=metrics.segmentation_metrics())


def evaluate_on(model, pairs, config):
    """Pooled Keras metrics (of a model compiled by compile_for_scoring)
    plus mean per-image scores, at model resolution."""
    import numpy as np

    import data
    import scores

    # Read twice (evaluate, then per image) rather than cached beside the training photos' cache.
    dataset = data.make_dataset(pairs, (config["image_size"],) * 2, config["batch_size"], cache=False)
    pooled = model.evaluate(dataset, verbose=0, return_dict=True)
    per_image = []
    for images, masks in dataset:
        predictions = model.predict_on_batch(images)
        per_image += [scores.image_scores(m, p) for m, p in zip(masks.numpy(), np.asarray(predictions))]
    means = {f"mean_image_{k}": float(np.mean([s[k] for s in per_image])) for k in per_image[0]}
    return {"images": len(pairs), **{f"pooled_{k}": float(v) for k, v in pooled.items()}, **means}


def set_batch_norm_frozen(model, frozen=True):
    """Freezing keeps every batch-norm layer, nested ones included, as
    trained: its statistics and scale stay, and it normalises in inference
    mode while training (Keras: a layer with trainable=False). Fine-tuning on
    a few hundred photos of another kind (black and white, say) would
    otherwise re-estimate the statistics on them, under layers trained for
    the old ones: that alone cost the shipped model 0.006 IoU on black-and-
    white photos (README). Returns the number of batch-norm layers."""
    import keras

    from model import layers_within

    # layers_within: the encoder is a model nested in the model.
    batch_norms = [layer for layer in layers_within(model) if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in batch_norms:
        layer.trainable = not frozen
    return len(batch_norms)


def inference_model(model):
    """The same layers and weights without the training set-up (loss, metrics,
    optimizer), so the saved file loads anywhere with plain load_model, and
    computing in float32 where it trained under mixed precision, so that it
    converts to TensorFlow Lite and runs at full speed on a CPU."""
    import keras

    from model import in_float32

    return in_float32(keras.Model(model.input, model.output, name=model.name))


class RunLock:
    """The hold a run has on its run directory (a lock on its .lock file),
    so that a second train.py on the same --out-dir (the command run again
    while the first still trains, under nohup) stops at once, rather than
    both writing one backup and one log. An flock, which ends with its
    process however that ends (kill -9 too); none on Windows, which has
    no flock."""

    def __init__(self, run_dir):
        self.run_dir, self.file = run_dir, None

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        if self.file is not None:
            self.file.close()

    def claim(self):
        """Takes the lock where the run directory exists (a new run's is
        made once its photos are checked, and claimed then); SystemExit
        where another process holds it."""
        if fcntl is None or self.file is not None or not self.run_dir.is_dir():
            return
        file = open(self.run_dir / ".lock", "a")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise SystemExit(f"{self.run_dir} is in use by another train.py run, still going (under nohup, or in "
                             f"another terminal): let it finish, or stop it, or pass another --out-dir") from None
        except OSError as error:  # a network drive that takes no locks: the run goes on without one
            file.close()
            log.warning("%s cannot be locked against a second run there (%s): run one train.py in it at a time",
                        self.run_dir, error.strerror or error)
            return
        self.file = file


def train_on_tensorflow():
    """train.py's input pipeline (tf.data), its look for GPUs and its
    training on several (tf.distribute) are TensorFlow's: Keras set to another
    backend (KERAS_BACKEND, or its keras.json) is set to TensorFlow for this
    run, before Keras is imported. Under JAX a run trained, far slower on a
    CPU, and failed at its end, scoring the model on tf.data's batches.
    Returns the backend set aside, or None."""
    import predict

    backend = predict.keras_backend()
    if backend == "tensorflow":
        return None
    if "keras" in sys.modules:  # a program calling main() imported it already: too late to choose
        raise SystemExit(f"Keras runs on its {backend} backend in this program, and train.py trains on TensorFlow: "
                         f"set KERAS_BACKEND=tensorflow before Keras is imported")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    return backend


def main(argv=None, extra_callbacks=()):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if set_aside := train_on_tensorflow():
        log.warning("Keras is set to its %s backend (KERAS_BACKEND, or its keras.json): train.py trains on TensorFlow, "
                    "whose input pipeline and GPU training it uses; the model it saves runs under JAX too", set_aside)
    config = parse_config(argv)
    with RunLock(Path(config["out_dir"])) as lock:
        return train_run(config, lock, extra_callbacks)


def train_run(config, lock, extra_callbacks=()):
    """The run: data, model, training, scores and artefacts, in the run
    directory `lock` holds."""
    import keras

    import data
    import image_files
    from model_files import saved_config

    image_files.quiet_opencv()
    strategy = distribution_strategy(config["strategy"])
    keras.utils.set_random_seed(config["seed"])
    has_gpu = use_gpu_speedups(config)
    run_dir = Path(config["out_dir"])
    resuming = (run_dir / "backup").is_dir()
    if not resuming and (run_dir / "model.keras").exists():
        # Hours of training are not replaced by a rerun with another setting.
        raise SystemExit(f"{run_dir} holds a finished run ({run_dir / 'model.keras'}): pass another --out-dir, "
                         f"or delete {run_dir} to train there again{how_to_score_if_unscored(config, run_dir)}")
    changed = settings_changed_since(run_dir, config) if resuming else []
    if changed:
        # Nor is an interrupted run resumed with settings edited since, half with each.
        raise SystemExit(f"{run_dir} holds an interrupted run started with other settings ({'; '.join(changed)}): "
                         f"pass the settings it started with to resume it, or another --out-dir for a new run")
    best_so_far = run_dir / "best.keras"
    if resuming and (unreadable := unreadable_backup(run_dir / "backup")):
        go_on = (f", or go on from its best epoch so far: --init-weights {best_so_far} --out-dir OTHER"
                 if saved_config(best_so_far) else "")
        raise SystemExit(f"{run_dir} holds an interrupted run whose backup cannot be read ({unreadable}), cut short "
                         f"as it was written: delete {run_dir / 'backup'} to start the run afresh there{go_on}")
    lock.claim()  # before anything is written there (a resumed run's split lists are, where photos were added)
    replicas = strategy.num_replicas_in_sync
    global_batch = config["batch_size"] * replicas
    log.info("%s run in %s, %s", "resuming the" if resuming else "starting a new", run_dir,
             where_it_trains(has_gpu, replicas, config["batch_size"]))
    if resuming and best_so_far.exists() and saved_config(best_so_far) is None:
        # Cut short as it was saved (Ctrl-C or a full drive then): at the end it would be loaded as the model.
        log.warning("%s was cut short as it was saved: removed, the best epoch from here on takes its place",
                    best_so_far)
        best_so_far.unlink()

    # 1. The data: pairs by stem, split, checked, streamed.
    init_weights = initial_weights_file(config)
    try:
        splits, skipped = split_data(config, run_dir, resuming, init_weights)
    except (data.DatasetError, OSError) as error:  # OSError: a folder not listed, or the run folder not made after all
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # checking a large dataset's photos takes a while: a line, not a traceback
        print(f"\ninterrupted while the photos were checked, before training started: run the same command again "
              f"to {'resume the run' if resuming else 'start the run'} in {run_dir}", file=sys.stderr)
        return 130
    run_dir.mkdir(parents=True, exist_ok=True)
    lock.claim()  # a new run's folder, made now that its photos are checked
    log.info("pairs: %d train, %d validation, %d test, %d skipped as unreadable",
             *(len(splits[name]) for name in data.SPLIT_NAMES), len(skipped))
    image_size = (config["image_size"],) * 2
    cache = cache_in_memory(config["cache"], len(splits["train"]) + len(splits["val"]), config["image_size"],
                            memory_bytes())
    # Batched by the global batch: MirroredStrategy splits each batch over the replicas.
    train_data = training_pipeline(splits["train"], config, image_size, global_batch, cache)
    val_data = data.make_dataset(splits["val"], image_size, global_batch, cache=cache) if splits["val"] else None
    steps_per_epoch = math.ceil(len(splits["train"]) / global_batch)
    if not (run_dir / TRAINING_SHEET).exists():  # drawn once: a resumed run has its own already
        draw_training_photos(splits["train"], config, image_size, run_dir / TRAINING_SHEET)

    # 2. The model, its variables mirrored on every replica.
    # Fine-tuning overwrites every weight: the ImageNet encoder is neither loaded nor downloaded.
    encoder_weights = None if init_weights else resolve_encoder_weights(config["model"], config["encoder_weights"])
    with strategy.scope():
        try:
            model = build_with_encoder_weights(config, image_size, encoder_weights)
            if init_weights:
                load_initial_weights(model, init_weights)
        except ValueError as error:  # weights of another network, or not a model file
            print(f"error: {error}", file=sys.stderr)
            return 2
        if config["freeze_batch_norm"]:
            log.info("batch norm frozen in %d layers", set_batch_norm_frozen(model))
        optimizer = compile_for_training(model, config, steps_per_epoch, jit_compile=has_gpu)
    starting_weights = (f"weights: those of {init_weights}" if init_weights
                        else f"encoder weights: {encoder_weights or 'none (random)'}")
    log.info("%s: %.2fM parameters, input %dx%d, %s", model.name, model.count_params() / 1e6, *image_size,
             starting_weights)
    resolved = {**config, "encoder_weights": encoder_weights, "cache": "on" if cache else "off", "skipped": skipped,
                "replicas": replicas, "global_batch_size": global_batch, "strategy_class": type(strategy).__name__,
                "mixed_precision_policy": keras.mixed_precision.global_policy().name, "backend": keras.backend.backend()}
    (run_dir / "config.json").write_text(json.dumps(resolved, indent=2))

    # 3. Training.
    callbacks = make_callbacks(config, run_dir, optimizer, val_data is not None, resuming) + list(extra_callbacks)
    unreadable = None
    try:
        # shuffle=False: the tf.data pipeline already shuffles the training split.
        history = model.fit(train_data, validation_data=val_data, epochs=config["epochs"], callbacks=callbacks,
                            shuffle=False, verbose=1 if sys.stdout.isatty() else 2)
    except KeyboardInterrupt:  # Ctrl-C: how to go on, rather than a traceback
        print(f"\ninterrupted: run the same command again to {how_to_go_on(run_dir)}", file=sys.stderr)
        return 130
    except OSError as error:  # the run folder's drive full, or gone, as a checkpoint or log was written
        print(f"\nerror: {error}; once {run_dir} can be written, run the same command again to "
              f"{how_to_go_on(run_dir)}", file=sys.stderr)
        return 1
    except Exception as error:
        if not (unreadable := unreadable_in_pipeline(error)):
            raise
    if unreadable:
        return say_unreadable(unreadable, f"run the same command again to {how_to_go_on(run_dir)}: the photos are "
                                          f"checked again, and one that still cannot be read is left out")
    if model.stop_training and not history.history.get("loss"):
        log.warning("training stopped before finishing an epoch")
    if any(not math.isfinite(v) for v in history.history.get("loss", [])):
        log.error("the loss became NaN/inf: training was stopped; no model is saved. "
                  "Try a lower --learning-rate or --clip-norm.")
        return 1
    stopper = next(callback for callback in callbacks if isinstance(callback, keras.callbacks.EarlyStopping))
    if stopper.stopped_epoch:
        log.info(why_training_stopped_early(stopper, config, val_data is not None, history.epoch[0]))

    # 4. The best model, evaluated once on the test split (loaded outside the
    # strategy's scope: on one device), and the artefacts. What is scored is
    # the model.keras saved, in float32 where it trained in mixed precision.
    best_path = run_dir / "best.keras"
    if best_path.exists():
        model = keras.saving.load_model(best_path, compile=False)  # its layers; its optimizer stays in the file
    final = inference_model(model)
    set_batch_norm_frozen(final, False)  # an ordinary model file: whoever trains it next decides
    final.save(run_dir / "model.keras")
    compile_for_scoring(final, config)
    csv_path = run_dir / "log.csv"
    results = {"train_seconds": seconds_trained(csv_path), "epochs_run": len(logged_rows(csv_path))}
    try:
        for name in ("val", "test"):
            if splits[name]:
                results[name] = evaluate_on(final, splits[name], config)
    except KeyboardInterrupt:  # the run is finished and saved: what is left to do, evaluate.py does as well
        print(f"\ninterrupted while scoring the model, which is saved ({run_dir / 'model.keras'}); score it with: "
              f"{evaluate_command(config, run_dir, 'test' if splits['test'] else 'val')}", file=sys.stderr)
        return 130
    except Exception as error:
        if not (unreadable := unreadable_in_pipeline(error)):
            raise
    finally:  # what was scored, and how long training took, even so
        (run_dir / "metrics.json").write_text(json.dumps(results, indent=2))
    if unreadable:
        command = evaluate_command(config, run_dir, "test" if splits["test"] else "val")
        return say_unreadable(unreadable, f"the model is saved ({run_dir / 'model.keras'}); once the photo is "
                                          f"mended, score it with: {command}")

    summary = results.get("test") or results.get("val")
    print(f"\nrun directory: {run_dir}")
    print(f"model: {run_dir / 'model.keras'}  ({final.count_params() / 1e6:.2f}M parameters)")
    if summary:
        split = "test" if "test" in results else "validation"
        count = f"{summary['images']} image{'' if summary['images'] == 1 else 's'}"
        print(f"{split} ({count}, at model resolution): mean IoU {summary['mean_image_iou']:.4f}, "
              f"Dice {summary['mean_image_dice']:.4f}, precision {summary['mean_image_precision']:.4f}, "
              f"recall {summary['mean_image_recall']:.4f}")
        print("\n".join(scoring_commands(config, run_dir, "test" if split == "test" else "val")))
    cut_out = shlex.join(["python", "predict.py", "photos/", "cutouts/", "--model", str(run_dir)])
    print(f"cut out photos with it: {cut_out}")
    return 0


def training_pipeline(pairs, config, image_size, batch_size, cache):
    """data.make_dataset of the training `pairs`, shuffled and augmented as
    the settings say: the one the model trains on, and the one
    draw_training_photos shows."""
    import data

    return data.make_dataset(pairs, image_size, batch_size, training=True, augment=config["augment"],
                             augment_p=config["augment_p"], paste_p=config["paste_p"],
                             sideways_p=config["sideways_p"], motion_blur_p=config["motion_blur_p"],
                             seed=config["seed"], cache=cache)


# A look at the photos as training shows them to the model, before hours of training.
TRAINING_SHEET = "training_photos.png"
TRAINING_SHEET_PHOTOS = 16
# The most pixels a side a photo is shown at (at --image-size 1024, the sheet takes 5.8 MB).
TRAINING_SHEET_SIDE = 512


def draw_training_photos(pairs, config, image_size, path):
    """Writes the contact sheet `path`: TRAINING_SHEET_PHOTOS of the training
    `pairs` (drawn by SEED) as the training pipeline gives them to the model,
    resized, letterboxed and augmented as the settings say (a pipeline of
    their own, which leaves the training's draws as they are), their masks
    outlined in green, the rest dimmed, four to a row (shrunk to
    TRAINING_SHEET_SIDE where larger): to see before the first epoch that
    the masks fit their photos and the augmentation is what was meant. A
    photo that can no longer be read costs the sheet, with a warning."""
    import numpy as np

    import data
    import sheets

    rng = np.random.default_rng(config["seed"])
    chosen = [pairs[index] for index in sorted(rng.choice(len(pairs), min(TRAINING_SHEET_PHOTOS, len(pairs)),
                                                          replace=False))]
    pipeline = training_pipeline(chosen, config, image_size, len(chosen), cache=False)
    try:
        images, masks = (batch.numpy() for batch in next(iter(pipeline)))
    except Exception as error:
        if not (unreadable := unreadable_in_pipeline(error)):
            raise
        log.warning("%s not drawn: %s", path.name, unreadable)  # and training says so, if it still cannot be read
        return
    side = (min(image_size[0], TRAINING_SHEET_SIDE),) * 2
    tiles = [sheets.outlined(data.resize(image, side), data.resize(mask.astype(np.float32), side) >= 0.5)
             for image, mask in zip(images, masks)]
    shown = "augmented as the settings say" if config["augment"] else "as they are: --augment false"
    text = f"{len(tiles)} training photos as training shows them to the model ({shown}), their masks outlined in green"
    path.write_bytes(sheets.png_bytes(sheets.sheet([tiles[start:start + 4] for start in range(0, len(tiles), 4)],
                                                   text)))
    log.info("%d training photos as the model is shown them: %s", len(tiles), path)


def unreadable_in_pipeline(error):
    """The "path: why" of a photo or mask that the data pipeline could not
    read, where `error`, raised by fit, is that (a file changed or gone
    since the photos were checked: an edit mid-run, a network drive's blip);
    else None. TensorFlow passes the pipeline's DatasetError on as text, in
    an OpError of its own."""
    import tensorflow as tf

    found = re.search(r"DatasetError: ([^\n]+)", error.message) if isinstance(error, tf.errors.OpError) else None
    return found[1] if found else None


def say_unreadable(unreadable, what_next):
    """Says that the photo or mask `unreadable` names ("path: why", see
    unreadable_in_pipeline) stopped the run, and `what_next`; exit status 1."""
    # The failure's frames hold the pipeline's threads: collected now, not as the process exits, where they
    # abort it ("terminate called without an active exception", exit status 134).
    gc.collect()
    print(f"\nerror: {unreadable} (changed or gone since the photos were checked); {what_next}", file=sys.stderr)
    return 1


def how_to_go_on(run_dir):
    """What the same command does again for a run stopped while training."""
    if (run_dir / "backup").is_dir():
        return f"resume the run in {run_dir} from its last finished epoch"
    return f"start the run in {run_dir} afresh (no epoch had finished)"


def how_to_score_if_unscored(config, run_dir):
    """For a finished run stopped before its model's last split was scored
    (killed: no metrics.json; Ctrl-C: a metrics.json without it), the
    sentence that says how to score it, lest the run be deleted to train
    again for its scores; else ""."""
    import data

    try:
        split = "test" if data.read_stems(run_dir / "splits" / "test.txt") else "val"
    except data.DatasetError:  # no list: the command still names the split's folder or list
        split = "test"
    try:
        scored = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):  # not there, or cut short as it was written
        scored = {}
    if split in scored:
        return ""
    return f"; it was stopped before it was scored: score it with {evaluate_command(config, run_dir, split)}"


def scoring_commands(config, run_dir, split):
    """The lines that say how to score the run's model on its `split` at
    the photos' own resolution; for a fine-tune, after the model it started
    from on the same photos, to see whether the fine-tune paid: evaluate.py,
    run the second time, names the first one's results to --compare-to, and
    so the difference comes out as the fine-tune's gain."""
    own = ("at the photos' own resolution, masks made as predict.py makes them: "
           + evaluate_command(config, run_dir, split))
    if started_from := initial_weights_file(config):
        return [f"to compare, first the model it was fine-tuned from, on the same photos: "
                f"{evaluate_command(config, run_dir, split, model=started_from)}", f"then this run's model {own}"]
    return [own]


def evaluate_command(config, run_dir, split, model=None):
    """The evaluate.py command that scores the run's model on its `split`
    ("val" or "test"): the split's own folder where DATA_DIR comes split,
    else the pairs its splits/ list. Quoted for a shell where a path needs
    it (my data/), so that it can be pasted as printed. `model`: another
    model to score on them."""
    import data

    folders = data.split_folders(config["data_dir"])
    if folders and split in folders:
        photos = ["--data", folders[split]]
    else:
        photos = ["--data", folders["train"] if folders else config["data_dir"],
                  "--split-list", run_dir / "splits" / f"{split}.txt"]
    photos += ["--recursive"] if config["recursive"] else []
    return shlex.join(["python", "evaluate.py", "--model", str(model or run_dir / "model.keras"), *map(str, photos)])


if __name__ == "__main__":
    sys.exit(main())
