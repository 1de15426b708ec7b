"""From a folder of photos and a folder of masks to a tf.data pipeline.

    images/<stem>.jpg   +   masks/<stem>.png   ->   (image, mask) batches

Pairs are matched by file stem, checked (every file decoded once, before
training starts), split into train/validation/test with a fixed seed, then
streamed: parallel decoding + resize, an in-memory cache of the resized pairs
(later epochs do no JPEG work; train.py's CACHE leaves it out where the
photos would not fit), shuffle, batch, augmentation (training split only,
a batch per Python call; see augmentation.py), prefetch. Batches stay uint8
until the model, which casts and normalises them in its first layers. The
files themselves, of every format, are read by image_files.py.

`read_image` and `preprocess_image` are the one way this project turns a file
into model input; training, evaluation and prediction all call them
(prediction by way of `image_files.read_image_and_alpha` and `over_grey`,
the two halves of `read_image`, since it keeps a photo's transparency for
its output).
"""

import argparse
import json
import logging
import math
import os
import re
import shlex
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlparse

import cv2
import numpy as np

import image_files
from image_files import DatasetError  # bad photos and bad datasets alike: the message tells them apart

REPO_DIR = Path(__file__).resolve().parent

SPLIT_NAMES = ("train", "val", "test")

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------
# A photo as the model sees it, shared with evaluate.py and predict.py
# ----------------------------------------------------------------------------

def read_image(path):
    """A photo as uint8 RGB (H, W, 3), as the model sees it: grayscale,
    16-bit and palette files become 8-bit RGB, EXIF orientation is applied
    (as viewers do), and a photo with transparency is laid over the
    letterbox grey (see image_files.read_image_and_alpha and over_grey)."""
    return over_grey(*image_files.read_image_and_alpha(path))


def over_grey(image, alpha):
    """An RGB photo laid over LETTERBOX_GREY by its uint8 `alpha`: what the
    model is shown of a photo with transparency, in training and prediction
    alike, whatever colour its transparent pixels hide (black, often, or the
    background a cutout removed); the photo as it is where `alpha` is None
    (no transparency)."""
    if alpha is None:
        return image
    opacity = alpha[..., None].astype(np.float32) / 255.0
    return np.round(image * opacity + LETTERBOX_GREY * (1.0 - opacity)).astype(np.uint8)


def person_box(mask):
    """(x, y, width, height) of the box around a mask's person pixels
    ((H, W) or (H, W, 1), any non-zero value); width 0 when there are none."""
    return cv2.boundingRect((mask.reshape(mask.shape[:2]) > 0).view(np.uint8))


def resize(image, size, interpolation=None):
    """Resize to size=(height, width); area averaging when shrinking (no
    aliasing), bilinear when enlarging."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    if interpolation is None:
        shrinking = height * width < image.shape[0] * image.shape[1]
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


# Photos wider than this (width / height) are letterboxed: scaled into a band
# across the model input, mid-grey bars above and below. Every training photo
# here is a portrait (3:4 or 2:3) squeezed into the square model input, so a
# landscape photo squeezed the same way would show people narrower than any the
# model learned from: validation photos cut to 16:9 score 0.919 IoU squeezed,
# 0.946 letterboxed (models/README.md, "Landscape photos"). Training letterboxes
# too, so a model trained on landscape photos sees the same bars it will be given.
WIDEST_ASPECT = 3 / 4
LETTERBOX_GREY = 114


def letterbox_band(photo_size, image_size):
    """(top, rows): the rows of a model input of image_size=(height, width)
    that a photo of photo_size=(height, width) fills; all of them unless the
    photo is wider than WIDEST_ASPECT."""
    photo_height, photo_width = photo_size
    height = image_size[0]
    if photo_width <= photo_height * WIDEST_ASPECT:
        return 0, height
    rows = min(height, max(1, round(height * photo_height * WIDEST_ASPECT / photo_width)))
    return (height - rows) // 2, rows


def letterbox(array, top, height, fill):
    """`array` (rows, W[, C]) placed at row `top` of a `height`-row frame of `fill`."""
    bottom = height - top - array.shape[0]
    if top == 0 and bottom == 0:
        return array
    return cv2.copyMakeBorder(array, top, bottom, 0, 0, cv2.BORDER_CONSTANT,
                              value=(fill,) * 4).reshape((height,) + array.shape[1:])


def preprocess_image(image, image_size, photo_size=None):
    """RGB uint8 photo -> model input (height, width, 3) uint8: resized, and
    letterboxed if wider than WIDEST_ASPECT. `photo_size`: the (height, width)
    of the photo the array stands for, where that is not the array's own (an
    input already squeezed, see turn_on_side).

    Normalisation for the encoder is the model's first layer (see model.py),
    so this is all that stands between a photo and the model, in training,
    evaluation and prediction alike.
    """
    top, rows = letterbox_band(photo_size or image.shape[:2], image_size)
    return letterbox(resize(image, (rows, image_size[1])), top, image_size[0], LETTERBOX_GREY)


def upsample_mask(mask, size):
    """Model output (h, w[, 1]) float in [0, 1] -> (height, width) float32 soft
    mask at a photo's own size=(height, width) (the letterbox's bars cut
    off), bilinear so edges stay smooth. Evaluation and prediction both use it."""
    mask = np.asarray(mask, np.float32).reshape(mask.shape[0], mask.shape[1])
    top, rows = letterbox_band(size, mask.shape)
    return np.clip(resize(mask[top:top + rows], size, cv2.INTER_LINEAR), 0.0, 1.0)


def preprocess_mask(mask, image_size, photo_size=None):
    """{0, 1} mask -> (height, width, 1) uint8 {0, 1} target at model resolution
    (area-averaged then re-thresholded: smoother than nearest-neighbour),
    letterboxed like its photo, the bars background; `photo_size` as in
    preprocess_image."""
    top, rows = letterbox_band(photo_size or mask.shape[:2], image_size)
    soft = resize(mask.astype(np.float32), (rows, image_size[1]))
    return letterbox((soft >= 0.5).astype(np.uint8), top, image_size[0], 0)[..., None]


# ----------------------------------------------------------------------------
# Finding, checking and splitting pairs
# ----------------------------------------------------------------------------

# Files Windows keeps hidden in folders of pictures (thumbnails, folder settings).
WINDOWS_HIDDEN_FILES = ("thumbs.db", "ehthumbs.db", "desktop.ini")


def is_hidden(relative_path):
    """Whether a path, relative to the folder being read, is a hidden file or
    lies in a hidden folder (.DS_Store, .git/..., macOS's ._IMG_0001.jpg,
    Windows' Thumbs.db): nobody's photos or masks."""
    path = Path(relative_path)
    return any(part.startswith(".") for part in path.parts) or is_hidden_name(path.name)


def is_hidden_name(name):
    """is_hidden for a file or folder's name alone, without a Path made of it (a folder walked file by file)."""
    return name.startswith(".") or name.lower() in WINDOWS_HIDDEN_FILES


# The list of how sure the model was of each output that predict.py writes
# beside its outputs: in a masks/ folder after predict.py --mask-only drew
# the masks (README, "No masks yet?"), and in a folder of predictions to
# score. This project's own file, not a photo or mask left unread.
SURENESS_FILE = "sureness.csv"


# How a dataset's photos and masks in sub-folders are read, for the messages
# that say they are not.
RECURSIVE_FLAGS = "train.py --recursive true, evaluate.py --recursive"


def files_by_stem(folder, extensions, what, recursive=False):
    """{stem: path} of the files in `folder` with these extensions, and with
    `recursive` those in its sub-folders too, but hidden ones (paired by
    their stem alone, which may then not repeat across them); the others
    are reported (`what` names the files), save hidden ones and predict.py's
    SURENESS_FILE."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{what} folder {folder} does not exist{not_pulled(folder) or folders_beside(folder)}")
    folders = [path for path in sorted(folder.iterdir()) if path.is_dir() and not is_hidden(path.name)]
    if recursive and (as_split := linked_as_split(folder, folders)):  # not merged into one, their split lost
        raise DatasetError(f"{what} folder {folder}: its sub-folders are not read as one{as_split}")
    files, others = {}, []
    for path in files_within(folder, recursive):
        listed = path.is_file() or image_files.is_broken_link(path)  # a broken link fails as its photo, named
        if not listed or is_hidden(path.name) or path.name == SURENESS_FILE:
            continue
        if path.suffix.lower() not in extensions:
            others.append(path)
            continue
        if path.stem in files:
            across = (" (read with --recursive, a photo and its mask are paired by their names alone, which may not "
                      "repeat across sub-folders)" if recursive else "")
            raise DatasetError(f"two {what} files share the stem {path.stem!r}: {files[path.stem].relative_to(folder)} "
                               f"and {path.relative_to(folder)}{across}")
        files[path.stem] = path
    if others:
        log.warning("%s files not read, not %s: %s", what, "/".join(extensions), describe(others))
    not_read = f"its sub-folders are not read: {describe(folders)}" if folders and not recursive else ""
    if not files:
        raise DatasetError(f"{what} folder {folder} has no {what}s (files {' '.join(extensions)})"
                           + (f"; {not_read} (the {what}s must lie in {folder} itself, or in sub-folders read with "
                              f"{RECURSIVE_FLAGS})" if not_read else "")
                           + linked_as_split(folder, folders))
    if not_read:
        log.warning("%s folder %s: %s (%s read them)", what, folder, not_read, RECURSIVE_FLAGS)
    return files


def files_within(folder, recursive=False, seen=None):
    """The paths in `folder`, sorted, and with `recursive` the files in its
    sub-folders, but hidden ones, in place of the sub-folders: each read
    once, however many links lead to it."""
    seen = seen if seen is not None else {folder.resolve()}
    for path in sorted(folder.iterdir()):
        if not (recursive and path.is_dir() and not is_hidden(path.name)):
            yield path
        elif path.resolve() not in seen:
            seen.add(path.resolve())
            yield from files_within(path, recursive, seen)


def linked_as_split(folder, folders):
    """For an images/ folder whose photos lie in sub-folders named as splits
    (`folders`), beside a masks/ folder split alike (images/train/ and
    masks/train/, as some datasets come), the commands that link them into
    the layout of a dataset that comes split (train/images/ and
    train/masks/, see split_folders), in a folder beside it, without moving
    a file; "" for other folders."""
    split_names = {name for names in SPLIT_FOLDER_NAMES.values() for name in names}
    masks = folder.parent / "masks"
    names = [path.name for path in folders]
    if (folder.name != "images" or not any(name.lower() in SPLIT_FOLDER_NAMES["train"] for name in names)
            or not all(name.lower() in split_names and (masks / name).is_dir() for name in names)):
        return ""
    dataset = folder.parent.resolve()
    linked = dataset.with_name(f"{dataset.name}_split")
    commands = [shlex.join(["mkdir", "-p", *(str(linked / name) for name in names)])]
    commands += [shlex.join(["ln", "-s", str(dataset / kind / name), str(linked / name / kind)])
                 for name in names for kind in ("images", "masks")]
    return (f". Its sub-folders are splits, as are those of {masks}: a dataset that comes split is read as "
            f"train/images/ and train/masks/ (val/ and test/ alike); link yours so, without moving a file, and pass "
            f"{linked}: {' && '.join(commands)}")


def why_folder_cannot_be_written(folder):
    """Why `folder` could not be made, or written, found without making it:
    a file stands in its path, or its nearest existing folder (itself, where
    it exists) cannot be written; None where neither. For the scripts'
    output folders, said before the minutes of work whose results they hold."""
    path = Path(folder).absolute()
    nearest = next(place for place in (path, *path.parents) if place.exists())
    if not nearest.is_dir():
        return f"{nearest} is a file"
    if not os.access(nearest, os.W_OK | os.X_OK):
        return f"{nearest} cannot be written (its permissions, or a read-only drive)"
    return None


# An address (https://, s3://, gs://, file://) where a path is looked for:
# the scripts read files on this machine's disk, and fetch nothing; as a path
# it would be one nobody meant (https:/host/photo.jpg).
ADDRESS = re.compile(r"[a-z][a-z0-9+.-]+://", re.IGNORECASE)


def local_path(text, written=False):
    """The Path that `text`, given as a file or folder to read (or, where
    `written`, to write), names; a DatasetError where it is an address, not
    a path (see ADDRESS), or empty, which Path would take as the working
    folder ("$PHOTOS" with the variable unset would cut out whatever is
    here)."""
    text = str(text)
    if not text:
        raise DatasetError("'' is an empty path, which names no file or folder (a shell variable left unset?)")
    if text.lower().startswith("file://"):
        path = unquote(urlparse(text).path)
        raise DatasetError(f"{text} is an address, not a path: give its path, {path}")
    if ADDRESS.match(text):
        instead = ("write to a folder here, then copy it there (gsutil cp -r, aws s3 sync)" if written
                   else "download it first (curl -LO, gsutil cp, aws s3 cp)")
        raise DatasetError(f"{text} is a web address, and only files on this machine are read and written: {instead}")
    return Path(text)


def path_argument(text):
    """argparse's type for a file or folder to read: local_path, its error a usage error."""
    return usage_error_for_address(text, written=False)


def output_path_argument(text):
    """argparse's type for a file or folder to write: local_path, its error a usage error."""
    return usage_error_for_address(text, written=True)


def usage_error_for_address(text, written):
    try:
        return local_path(text, written)
    except DatasetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def not_pulled(path):
    """Where the missing `path` (a folder, or a photo), or the folder it
    should be in, is tracked by DVC but was not pulled (its .dvc file stands
    in its place, as a clone leaves it), that, for its error; else ""."""
    path = Path(path)
    for place in (path, path.parent):
        if place.name in ("", ".."):  # the root, the working folder or its parent: no name for a .dvc beside it
            continue
        pointer = place.with_name(place.name + ".dvc")
        if pointer.is_file():
            return f" (DVC tracks {place}, and it was not pulled: {pointer} stands in its place; `dvc pull` fetches it)"
    return ""


DATASET_LAYOUT = "a dataset folder holds images/, the photos, and masks/, a mask named as each photo"


def folders_beside(folder, limit=8):
    """What the missing `folder`'s parent holds instead, for its error (an
    Images/ or a labels/ folder where images/ and masks/ are looked for;
    photos and masks side by side in it, or the images/ folder itself
    given as the dataset), or that the parent is missing too (a mistyped
    --data-dir)."""
    parent = Path(folder).parent
    if not parent.is_dir():
        return f" (nor does {parent})"
    entries = sorted((path for path in parent.iterdir() if not is_hidden(path.name)), key=lambda path: path.name)
    names = [f"{path.name}/" for path in entries if path.is_dir()]
    held = f"holds {', '.join(names[:limit])}{', ...' if len(names) > limit else ''}" if names else "holds no folders"
    images = [path.name for path in entries if path.suffix.lower() in image_files.IMAGE_EXTENSIONS and path.is_file()]
    if images:
        shown = ", ".join(images[:3]) + (", ..." if len(images) > 3 else "")
        held += f", but {len(images)} image{'s' if len(images) > 1 else ''} of its own ({shown}): {DATASET_LAYOUT}"
    else:
        held += renaming(Path(folder), [name.rstrip("/") for name in names])
    return f" ({parent} {held})"


def renaming(folder, beside):
    """For a missing images/ or masks/ `folder`, with the folders `beside`
    it (names), how to give the dataset's own folder the name looked for:
    its name in another case (Images/), the one other folder there
    (labels/ beside images/), or the names to give where several are;
    "" where there are no others."""
    if folder.name not in ("images", "masks"):
        return ""
    if cased := next((name for name in beside if name.lower() == folder.name), None):
        return f": rename {cased}/ to {folder.name}/, as the names are read case and all"
    known = {"images", "masks", *(name for names in SPLIT_FOLDER_NAMES.values() for name in names)}
    others = [name for name in beside if name.lower() not in known]
    held = "the photos" if folder.name == "images" else "the masks"
    if len(others) == 1:
        link = shlex.join(["ln", "-s", others[0], str(folder)])  # quoted where a shell would split a path
        return f": if {others[0]}/ holds {held}, rename it {folder.name}/, or link it: {link}"
    if others:
        return f": {DATASET_LAYOUT}: rename yours to those names"
    return ""


def first_reasons(reasons, shown=5):
    """The first `shown` of `reasons` (why each file failed), then how many
    more there are, each on a line of its own below the error's first: for
    an error where none of the files could be used. Each reason names its
    file and often shares a long explanation with the others, which one
    line joined by semicolons ran together (five predictions of another
    size than their photos: a line of 931 characters)."""
    reasons = list(reasons)
    more = len(reasons) - shown
    return "".join(f"\n  {line}" for line in reasons[:shown] + ([f"and {more} more"] if more > 0 else []))


def describe(paths, limit=5):
    names = [str(p) for p in paths]
    shown = ", ".join(names[:limit])
    return f"{len(names)} ({shown}{', ...' if len(names) > limit else ''})"


def find_pairs(images_dir, masks_dir, recursive=False):
    """[(image_path, mask_path)] matched by stem (allowing for a suffix and
    for case: by_shared_name, paired_regardless_of_case), sorted by stem.

    Files without a partner are reported (how many, the first few) and left
    out; they are never paired by sort order. With `recursive`, the files in
    the folders' sub-folders too, wherever each lies (see files_by_stem)."""
    images = files_by_stem(images_dir, image_files.IMAGE_EXTENSIONS, "image", recursive)
    among = masks_among(images) if not Path(masks_dir).exists() else []
    if among:
        raise DatasetError(f"mask folder {masks_dir} does not exist, and {describe(among, limit=3)} of the images in "
                           f"{images_dir} are named as another image there plus a suffix: if those are the masks, "
                           f"they go in {masks_dir}")
    masks = files_by_stem(masks_dir, image_files.MASK_EXTENSIONS, "mask", recursive)
    images, masks = by_shared_name(images, masks)
    masks = paired_regardless_of_case(images, masks)
    stems = sorted(images.keys() & masks.keys())
    images_alone = [images[s] for s in sorted(images.keys() - masks.keys())]
    masks_alone = [masks[s] for s in sorted(masks.keys() - images.keys())]
    if images_alone:
        log.warning("images without a mask, left out: %s", describe(images_alone))
    if masks_alone:
        log.warning("masks without an image, left out: %s", describe(masks_alone))
    if not stems:
        raise DatasetError(
            f"no image in {images_dir} has a mask of the same name in {masks_dir} "
            f"(images: {describe(images.values())}; masks: {describe(masks.values())})"
        )
    return [(images[s], masks[s]) for s in stems]


# Where every mask's name (or photo's) adds a suffix to its partner's, it
# starts with one of these: a_mask.png for a.jpg, a-matte.png, a.label.png.
NAME_SEPARATORS = "_-. "


def masks_among(images):
    """The files of `images` ({stem: path}) named as another of them plus a
    suffix (a_mask.png beside a.jpg): masks put among the photos, where
    there is no mask folder."""
    return sorted(path for stem, path in images.items()
                  if any(stem[at] in NAME_SEPARATORS and stem[:at] in images for at in range(1, len(stem))))


def by_shared_name(images, masks):
    """The {stem: path} of the photos and of the masks, keyed so that a pair
    shares a key: as they are, or, where no mask is named as a photo but
    every mask's name (or photo's, or both) ends in one suffix (a_mask.png
    for a.jpg, as many datasets name them), without it; said in the log."""
    if images.keys() & masks.keys():
        return images, masks
    named = {(image_suffix, mask_suffix): (without_suffix(images, image_suffix), without_suffix(masks, mask_suffix))
             for image_suffix in name_suffixes(images) for mask_suffix in name_suffixes(masks)}
    suffixes = max(named, key=lambda choice: len(named[choice][0].keys() & named[choice][1].keys()))
    if any(suffixes):
        log.info("no mask is named as its photo: paired by the name before the %s", " and the ".join(
            f"{whose} suffix {suffix!r}" for whose, suffix in zip(("photos'", "masks'"), suffixes) if suffix))
    return named[suffixes]


def paired_regardless_of_case(images, masks):
    """The masks ({name: path}) with those that match a photo left without
    a mask but for case (IMG_0001.JPG and img_0001.png: cameras and
    annotation tools spell names differently, and Windows and macOS do not
    tell them apart) keyed as that photo, where the match is one to one;
    said in the log."""
    def by_folded_name(names):
        counts = Counter(name.casefold() for name in names)
        return {name.casefold(): name for name in names if counts[name.casefold()] == 1}

    lone_images = by_folded_name(images.keys() - masks.keys())
    lone_masks = by_folded_name(masks.keys() - images.keys())
    matched = sorted(lone_images.keys() & lone_masks.keys())
    if not matched:
        return masks
    log.info("paired regardless of case: %s", describe(
        [f"{images[lone_images[name]].name} with {masks[lone_masks[name]].name}" for name in matched], limit=3))
    masks = dict(masks)
    for name in matched:
        masks[lone_images[name]] = masks.pop(lone_masks[name])
    return masks


def name_suffixes(files):
    """"" and the suffixes that every stem of `files` ({stem: path}) ends
    in, each starting with a NAME_SEPARATORS character and leaving a name."""
    common = os.path.commonprefix([stem[::-1] for stem in files])[::-1]
    if len(common) == min(map(len, files)):  # one stem is all suffix: a name must stay
        common = common[1:]
    return [""] + [common[start:] for start in range(len(common)) if common[start] in NAME_SEPARATORS]


def without_suffix(files, suffix):
    return {stem[:len(stem) - len(suffix)]: path for stem, path in files.items()}


def read_pair(pair):
    """(RGB image, {0, 1} mask) of one pair, the photo as viewers show it
    (EXIF orientation applied), or DatasetError if either file is unreadable
    or the mask fits neither the photo's size nor its shape. A mask drawn on
    the photo as stored, before its EXIF orientation (as some annotation
    tools do), is turned with it where the sizes tell: the mask fits the
    stored photo and not the one shown. A mask of the photo's shape at
    another resolution is scaled to it (see scaled_to_photo)."""
    colours, alpha, mask = read_pair_with_alpha(pair)
    return over_grey(colours, alpha), mask


def read_pair_with_alpha(pair):
    """read_pair's pair as (the photo's colours, its alpha channel, mask): the
    colours and alpha as image_files.read_image_and_alpha reads them (alpha
    None where the photo has no transparency), for evaluate.py, which caps
    the masks it scores by the photo's opacity as predict.py caps its
    outputs."""
    image_path, mask_path = pair
    (colours, alpha), mask = image_files.read_image_and_alpha(image_path), image_files.read_mask(mask_path)
    if colours.shape[:2] != mask.shape[:2]:
        mask = image_files.oriented_as_shown(mask, image_path, colours)
    if colours.shape[:2] != mask.shape[:2]:
        mask = scaled_to_photo(mask, colours.shape[:2])
    if colours.shape[:2] != mask.shape[:2]:
        raise DatasetError(f"{image_path} is {colours.shape[1]}x{colours.shape[0]} but its mask {mask_path} "
                           f"is {mask.shape[1]}x{mask.shape[0]}, not the photo's shape")
    return colours, alpha, mask


def scaled_to_photo(mask, photo_size):
    """A {0, 1} mask drawn at another resolution than its photo (as
    CelebAMask-HQ's 512-pixel masks of 1024-pixel photos, or photos shrunk
    after they were labelled) scaled to photo_size=(height, width), as
    preprocess_mask scales masks (area-averaged or bilinear, then
    re-thresholded), where it has the photo's shape to within one of its
    pixels; else the mask as it is."""
    if not has_shape_of(mask.shape, photo_size):
        return mask
    return (resize(mask.astype(np.float32), photo_size) >= 0.5).astype(np.uint8)


def has_shape_of(size, photo_size):
    """Whether an image of size=(height, width) has the shape of a photo of
    photo_size, to within one of its pixels: drawn at another resolution."""
    height, width = photo_size
    return abs(size[0] - height * size[1] / width) <= 1


class PairCheck(NamedTuple):
    """What check_pair found: why the pair cannot be used (None if it can),
    and of its mask, whether it marks a person, whether it marks both top
    corners of the photo as person, as an inverted mask does, and two of
    its colours where they are not shades of one (see
    image_files.mask_colours)."""
    reason: str | None
    marks_person: bool = False
    top_corners_marked: bool = False
    colours: tuple | None = None


def check_pair(pair):
    """The PairCheck of a pair: a reason where it does not decode or its
    mask fits neither the photo's size nor its shape (see read_pair)."""
    try:
        _, mask = read_pair(pair)
        return mask_check(mask, pair[1])
    except DatasetError as error:
        return PairCheck(str(error))


def mask_check(mask, mask_path):
    """The PairCheck of a usable pair's {0, 1} mask, read from mask_path."""
    return PairCheck(None, bool(mask.any()), bool(mask[0, 0] and mask[0, -1]), image_files.mask_colours(mask_path))


def check_pairs(pairs, workers=None):
    """Decodes every pair once, in parallel, before training starts.

    Returns (good pairs, [(pair, reason)]). Bad pairs are logged and left out;
    if none is good, raises DatasetError listing the problems, as it does
    where no mask marks a person (see check_people_marked)."""
    from tqdm import tqdm

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        # A progress bar in a terminal (none in a log file): the 3,724 shared
        # pairs of about 600x800 took 4.6 s on 2 cores, but a 12-megapixel
        # photo and its mask take 0.13 s each, so 30,000 take half an hour.
        checks = list(tqdm(pool.map(check_pair, pairs), total=len(pairs), desc="checking pairs", unit="pair",
                           disable=None, leave=False))
    usable = [(pair, check) for pair, check in zip(pairs, checks) if check.reason is None]
    good = [pair for pair, _ in usable]
    bad = [(pair, check.reason) for pair, check in zip(pairs, checks) if check.reason is not None]
    for _, reason in bad:
        log.warning("skipped: %s", reason)
    if not good:
        none = "the one pair is not usable" if len(pairs) == 1 else f"none of the {len(pairs)} pairs is usable"
        raise DatasetError(f"{none}:{first_reasons(sorted(reason for _, reason in bad))}")  # by path, not by split
    check_masks(usable)
    return good, bad


def check_masks(checked):
    """The checks of a set of masks as a whole, given [(pair, PairCheck)] of
    usable pairs: see check_people_marked, check_not_inverted and
    check_one_colour."""
    check_people_marked([pair for pair, _ in checked], [pair for pair, check in checked if not check.marks_person])
    check_not_inverted([pair for pair, check in checked if check.marks_person],
                       [pair for pair, check in checked if check.top_corners_marked])
    check_one_colour(len(checked), [(pair, check.colours) for pair, check in checked if check.colours])


def check_one_colour(count, in_colours):
    """Warns where masks ([(pair, their two colours)] of `count`) are in
    colours that are not shades of one, naming some of them: each pixel is
    read by its brightest channel, which suits people drawn in a colour
    each (an instance map) but takes a label map's classes for person or
    background by their brightness alone."""
    if not in_colours:
        return
    examples = "; ".join(f"{mask}: RGB {first} and {second}" for (_, mask), (first, second) in in_colours[:3])
    log.warning("%d of the %d masks are in colours that are not shades of one (e.g. %s): a pixel is read as person "
                "where its brightest channel is at least half of full scale. That suits people drawn in a colour each, "
                "at least that bright; but in a label map of classes (PASCAL VOC's: a person 192,128,128, a dog "
                "64,0,128, a border of unsure pixels 224,224,192) it reads every bright class as person and every "
                "dark one as background: make such masks 255 on the person and 0 elsewhere first",
                len(in_colours), count, examples)


def check_people_marked(good, without_person):
    """Raises DatasetError where none of the `good` pairs' masks marks a
    person, and warns where half or more do not, naming some of those masks
    and the values they hold; fewer are listed, as photos without people.
    A label map (a number per class: 1 for the person, 2 for clothes) reads
    as all background, and a model trained on it learns to find nobody,
    silently; photos without people (all-black masks) are welcome, but
    hardly as most of a person dataset."""
    if len(without_person) < len(good) / 2:
        if without_person:
            log.info("masks that mark no person, photos without people: %s",
                     describe([mask for _, mask in without_person], limit=3))
        return
    examples = "; ".join(f"{mask}: {stored_values(mask)}" for _, mask in without_person[:3])
    problem = (f"{len(without_person)} of the {len(good)} masks mark no person (no pixel at half of full scale "
               f"or more; e.g. {examples})")
    advice = ("a person mask is 255 (or 1, or 65535 in a 16-bit file) on the person and 0 elsewhere: "
              "turn label maps (a number per class) into such masks first")
    if len(without_person) == len(good):
        raise DatasetError(f"{problem}: {advice}")
    log.warning("%s. Photos without people are fine, but if these masks were meant to mark people, %s",
                problem, advice)


def check_not_inverted(with_person, top_corners_marked):
    """Warns where half or more of the masks that mark a person (the pairs
    `with_person`) mark both top corners of the photo as person, as masks
    that mark the background instead of the person do: in photos of
    people the top corners are background (of the 3,724 shared masks, 4
    mark both as person). A model trained on inverted masks learns to
    cut out the background, silently."""
    if not with_person or len(top_corners_marked) < len(with_person) / 2:
        return
    log.warning("%d of the %d masks that mark a person mark both top corners of the photo as person, as masks that "
                "mark the background do (e.g. %s): in photos of people the top corners are background. If your "
                "masks are white on the background and black on the person, invert them (255 - mask)",
                len(top_corners_marked), len(with_person), ", ".join(str(mask) for _, mask in top_corners_marked[:3]))


def stored_values(mask_path, listed=6):
    """The values a mask file stores in its person channel, as words: "values
    0, 1 and 2", or "values 0 to 97" where there are more than `listed`."""
    values = np.unique(image_files.mask_channel(mask_path))
    if len(values) > listed:
        return f"values {values[0]} to {values[-1]}"
    words = [str(value) for value in values]
    return "value " + words[0] if len(words) == 1 else "values " + ", ".join(words[:-1]) + " and " + words[-1]


# Many public datasets come split: train/, val/ and test/ folders side by side,
# each with images/ and masks/. Their split is kept, so that a model is tested
# on the photos others test on; a split without a folder is carved from train/.
SPLIT_FOLDER_NAMES = {"train": ("train", "training"), "val": ("val", "valid", "validation"),
                      "test": ("test", "testing")}


def split_folders(data_dir):
    """{split name: folder} of a `data_dir` that comes split: the folders
    named as SPLIT_FOLDER_NAMES has it (in any case) that hold an images/
    folder, only those there; None where `data_dir` has images/ of its own,
    or no folder of training photos. A DatasetError where two folders could
    each be one split's (val/ and validation/)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir() or (data_dir / "images").is_dir():
        return None
    with_images = {path.name.lower(): path for path in sorted(data_dir.iterdir()) if (path / "images").is_dir()}
    folders = {}
    for name, folder_names in SPLIT_FOLDER_NAMES.items():
        found = [with_images[folder_name] for folder_name in folder_names if folder_name in with_images]
        if len(found) > 1:
            raise DatasetError(f"{data_dir} has both {found[0].name}/ and {found[1].name}/: which holds the "
                               f"{name} split? Rename or move the other")
        if found:
            folders[name] = found[0]
    return folders if "train" in folders else None


def split_pairs(pairs, val_fraction=0.1, test_fraction=0.1, seed=42, earlier=None):
    """{"train", "val", "test"} -> pairs, split as pairs with scikit-learn
    (fixed seed: the same files always land in the same split).

    A split drawn afresh from a folder with one photo more shares little
    with the last one, so a model fine-tuned from an earlier run would be
    validated and tested on photos it was trained on. `earlier` ({split
    name: stems}, read_split_lists of that run's splits/) keeps each pair it
    lists in its split; only the others, photos added since, are split, by
    the fractions and among themselves."""
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(f"need 0 <= val_fraction, test_fraction and their sum < 1; got {val_fraction}, {test_fraction}")
    assigned = {stem: name for name, stems in (earlier or {}).items() for stem in stems}
    pairs = sorted(pairs, key=lambda pair: pair[0].stem)
    gone = sorted(assigned.keys() - {image.stem for image, _ in pairs})
    if gone:
        log.warning("listed in the earlier splits but no longer a pair here, left out: %s", describe(gone))
    new = [pair for pair in pairs if pair[0].stem not in assigned]
    rest, test = hold_out(new, test_fraction, seed)
    train, val = hold_out(rest, val_fraction / (1 - test_fraction), seed)
    splits = {name: [pair for pair in pairs if assigned.get(pair[0].stem) == name] + added
              for name, added in zip(SPLIT_NAMES, (train, val, test))}
    if not splits["train"]:
        counted = "1 pair leaves" if len(pairs) == 1 else f"{len(pairs)} pairs leave"
        raise DatasetError(f"{counted} nothing to train on after the validation and test splits")
    return splits


def hold_out(pairs, fraction, seed):
    """(rest, held out): a seeded random `fraction` of the pairs held out,
    rounded up as scikit-learn does; none where that would leave no rest."""
    from sklearn.model_selection import train_test_split

    if fraction == 0 or math.ceil(fraction * len(pairs)) >= len(pairs):
        return pairs, []
    return train_test_split(pairs, test_size=fraction, random_state=seed)


# The lists of file names this project writes and reads back (splits/*.txt,
# evaluate.py's per_image.csv, predict.py's sureness.csv): UTF-8 on every
# system (Windows' own default would write "café" in bytes that another
# machine, or Python in UTF-8 mode, reads as something else), and a name that
# is not UTF-8 at all (a Linux file named in Latin-1, from an old archive)
# kept byte for byte rather than costing the whole list.
NAME_LIST_ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


def write_split_lists(splits, folder):
    """Writes train.txt, val.txt, test.txt (one image stem per line)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in SPLIT_NAMES:
        stems = sorted(image.stem for image, _ in splits[name])
        (folder / f"{name}.txt").write_text("".join(f"{stem}\n" for stem in stems), **NAME_LIST_ENCODING)


def read_stems(path):
    """The stems listed in a split file (see read_name_list)."""
    return read_name_list(path, "stems")


def read_name_list(path, what="names"):
    """The names listed in a text file, one a line (a byte-order mark, as
    Windows' Notepad writes, and blank lines left out; a name that is not
    UTF-8 kept byte for byte); a DatasetError, naming the file and `what`
    it lists, where it cannot be read."""
    if Path(path).is_dir():  # a run's splits/ folder, say, for one of the lists in it
        lists = sorted(str(listed) for listed in Path(path).glob("*.txt"))
        raise DatasetError(f"{path} is a folder, not a list of {what} (a text file, one a line)"
                           + (f"; the lists in it: {', '.join(lists)}" if lists else ""))
    try:
        text = Path(path).read_text(encoding="utf-8-sig", errors=NAME_LIST_ENCODING["errors"])  # a BOM left out
    except OSError as error:
        raise DatasetError(f"{path}: cannot read the list of {what} ({error.strerror or error})") from error
    if "\0" in text:  # a photo given as the list, or a list saved as UTF-16
        raise DatasetError(f"{path}: cannot read the list of {what} (not a UTF-8 text file)")
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_split_lists(folder):
    """{split name: stems} from a folder written by write_split_lists (a
    run's splits/), for split_pairs(earlier=...)."""
    folder = Path(folder)
    expected = "expected the splits/ folder of a run (train.txt, val.txt and test.txt), or the run's folder"
    if not folder.is_dir():
        raise DatasetError(f"{folder} {'is a file' if folder.exists() else 'does not exist'}: {expected}")
    missing = [f"{name}.txt" for name in SPLIT_NAMES if not (folder / f"{name}.txt").is_file()]
    if missing:
        raise DatasetError(f"{folder} has no {', '.join(missing)}: {expected}")
    lists = {name: read_stems(folder / f"{name}.txt") for name in SPLIT_NAMES}
    first_seen = {}
    for name, stems in lists.items():
        for stem in stems:
            if first_seen.setdefault(stem, name) != name:
                raise DatasetError(f"{folder}: {stem!r} is listed in both {first_seen[stem]}.txt and {name}.txt")
    return lists


def photos_trained_on(images, model_file):
    """(the photos among `images` (paths) that the model at model_file was
    trained on, the run's splits/train.txt that lists them): the stems in
    the splits/ folder beside the model (a train.py run's, or models/splits
    for the shipped model) that lie in the data folder the run's config
    names (its config.json, or NAME.config.json beside models/NAME.keras);
    of a dataset that comes split, in its train/ folder, since the same
    names in its test/ are other photos. ([], None) where the run left no
    such record."""
    model_file = Path(model_file)
    folder = model_file if model_file.is_dir() else model_file.parent
    train_list = folder / "splits" / "train.txt"
    configs = (folder / "config.json", folder / f"{model_file.name.split('.')[0]}.config.json")
    try:
        config = next((json.loads(path.read_text()) for path in configs if path.is_file()), {})
        data_dir, trained_on = config["data_dir"], set(read_stems(train_list))
        # As given to train.py; a relative one (the shipped model's, the bundled sample's) from the
        # repository's folder, which train.py is run from.
        data_dir = (REPO_DIR / data_dir).resolve()
        training_folder = (split_folders(data_dir) or {"train": data_dir})["train"]
    except (OSError, ValueError, KeyError, TypeError, DatasetError):  # no record, or one that cannot be read
        return [], None
    seen = [image for image in images if image.stem in trained_on and image.resolve().is_relative_to(training_folder)]
    return seen, train_list


def read_split_list(path, images_dir, masks_dir, recursive=False):
    """Pairs for the stems listed in a split file (as written by
    write_split_lists), or for the photos' file names (a list made with
    `ls images`): a line that is no photo's stem but ends in a photo
    format's extension stands for the stem before it. `recursive`: as
    find_pairs has it."""
    listed = read_stems(path)
    if not listed:
        raise DatasetError(f"{path} lists no stems (one a line, as in a run's splits/test.txt)")
    all_pairs = find_pairs(images_dir, masks_dir, recursive)
    stems = {image.stem for image, _ in all_pairs}
    wanted = {line if line in stems or Path(line).suffix.lower() not in image_files.IMAGE_EXTENSIONS
              else Path(line).stem for line in listed}
    pairs = [pair for pair in all_pairs if pair[0].stem in wanted]
    missing = wanted - {image.stem for image, _ in pairs}
    if missing:
        raise DatasetError(f"{path} lists stems with no image/mask pair: {describe(sorted(missing))}")
    return pairs


# ----------------------------------------------------------------------------
# tf.data
# ----------------------------------------------------------------------------

def load_pair(image_path, mask_path, image_size):
    image, mask = read_pair((image_path, mask_path))
    return preprocess_image(image, image_size), preprocess_mask(mask, image_size)


def make_dataset(pairs, image_size, batch_size, training=False, augment=True, cache=True, seed=42, augment_p=1.0,
                 paste_p=0.0, sideways_p=0.0, motion_blur_p=0.0):
    """tf.data pipeline of (image uint8 [0, 255] (B, H, W, 3), mask uint8 {0, 1} (B, H, W, 1)).

    `training` shuffles (and augments when `augment`, that share
    `augment_p` of the photos, pasting the person of the next photo in the
    batch into a share `paste_p` of them, blurring a share `motion_blur_p`
    by motion and turning a share `sideways_p` on their side, see
    augmentation.make_augmentation); `cache` keeps the
    decoded, resized pairs in memory after the first epoch (True), or in
    files with that path prefix (a string); without it (False) they are
    decoded anew every epoch and memory holds only the batches in flight.

    The batches stay uint8: Keras casts them to the model's float32 input
    inside the training step (on the GPU, when there is one), so the pipeline
    moves and buffers a quarter of the bytes; the losses and metrics cast the
    masks. Casting here cost 0.12 ms of CPU a photo, a tenth of the pipeline.

    Turns OpenCV's own threading off for the process (see below)."""
    import tensorflow as tf

    # tf.data already runs the decoding and augmentation calls on every core;
    # OpenCV's own worker threads on top only contend with them (the
    # augmentation took 0.90 ms of CPU a photo with them, 0.63 ms without).
    # Albumentations' performance guide recommends the same for data loaders.
    cv2.setNumThreads(0)

    height, width = image_size
    # As the file system's bytes: a name that is not UTF-8 (a surrogate in Python) is no tf.string.
    image_paths = [os.fsencode(image) for image, _ in pairs]
    mask_paths = [os.fsencode(mask) for _, mask in pairs]

    def decode_resize(image_path, mask_path):
        image, mask = tf.numpy_function(
            lambda i, m: load_pair(os.fsdecode(i), os.fsdecode(m), image_size),
            [image_path, mask_path], [tf.uint8, tf.uint8], stateful=False,
        )
        return tf.ensure_shape(image, (height, width, 3)), tf.ensure_shape(mask, (height, width, 1))

    dataset = tf.data.Dataset.from_tensor_slices((image_paths, mask_paths))

    def shuffled(elements):
        return elements.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True) if training else elements

    if cache:
        dataset = dataset.map(decode_resize, num_parallel_calls=tf.data.AUTOTUNE)
        dataset = shuffled(dataset.cache("" if cache is True else str(cache)))
    else:
        # The paths are shuffled, not the photos: a shuffle buffer of decoded
        # photos would hold every one of them in memory, as a cache does.
        dataset = shuffled(dataset).map(decode_resize, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size, drop_remainder=False)
    if training and augment:
        from augmentation import make_augmentation

        augment_photo = make_augmentation(seed, p=augment_p, paste_p=paste_p, sideways_p=sideways_p,
                                          motion_blur_p=motion_blur_p)

        def augment_batch(images, masks):
            # Every element is overwritten: new arrays, not copies of the (read-only) inputs.
            out_images, out_masks = np.empty_like(images), np.empty_like(masks)
            for index in range(len(images)):
                # The batch is shuffled, so the next photo is a random companion.
                following = (index + 1) % len(images)
                companion = images[following], masks[following]
                out_images[index], out_masks[index] = augment_photo(images[index], masks[index], companion)
            return out_images, out_masks

        # One Python call per batch, not per photo: less per-call overhead and
        # fewer GIL hand-overs between the parallel calls (~20% more photos/s).
        def augment(images, masks):
            images, masks = tf.numpy_function(augment_batch, [images, masks], [tf.uint8, tf.uint8])
            return tf.ensure_shape(images, (None, height, width, 3)), tf.ensure_shape(masks, (None, height, width, 1))

        dataset = dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
