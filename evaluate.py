"""Measure a person-segmentation model on photos with ground-truth masks.

    python evaluate.py --data DIR                                   # the shipped model
    python evaluate.py --model runs/person/model.keras --data DIR --split-list runs/person/splits/test.txt

DIR holds images/ and masks/ (paired by stem; with --recursive, in their
sub-folders too); --split-list restricts the evaluation to the stems it lists.
Every score is computed per image at the photo's ORIGINAL resolution, with the
mask made exactly as predict.py makes it (upsampled, with a second look at
small people and tiles across wide photos and down tall ones unless
--no-close-up, looks turned on its side and upside down at unsure photos unless
--upright-only, specks apart from the people left out unless --keep-specks,
everyone but the main person with --main-person, and for a photo with
transparency nowhere more opaque than the photo; the model run by --engine),
then averaged over images (and over each source, the stem prefix before the
first "_", when there are several). A pixel is person where the soft mask is at
least --threshold (0.5). Writes to --out:

    metrics.json     the means, per source too, with the mean IoU's 95% interval
                     (a bootstrap over the photos), the median IoU and how many
                     photos score below 0.9, 0.8 and 0.5, the mean IoU at
                     thresholds from 0.3 to 0.7, how well the masks' sureness
                     (as predict.py writes it to sureness.csv) points at the
                     low-scoring ones, and the files that failed
    per_image.csv    every image's scores and sureness
    worst.png        the 16 lowest-IoU images: photo | ground truth | prediction
                     | errors (red: marked but not person; blue: person missed)

--compare-to DIR compares the per-image IoU with an earlier run's (its results
folder), photo by photo: the mean difference with its 95% interval (a paired
bootstrap over the photos in both) and how many photos did better or worse.

--predictions DIR scores the masks or cutouts in DIR, made already by
predict.py or another tool (one per photo, named after it), instead of a
model's: a cutout by its alpha channel, any other file by its grey; one of
its photo's shape at another resolution (a tool's preview) resized to it.

--perturb NAME scores harder versions of the photos instead (people zoomed out
to half size, a second person, a square, 4:3 or 16:9 frame cut from the photo,
the photo widened to 16:9 around its person, by its edge columns or a flat
colour, two people apart, three together, people in a row across a panorama or
one above another down a photo-booth strip, the photo between black bars on a
phone's screen or in a print's white border, the photo tilted 30 degrees,
turned on its side or upside down, blurred by motion, a low-resolution, noisy,
dark, bright, black-and-white or heavily compressed photo).

Without --out, the results go to runs/evaluation/NAME, NAME what was scored
(a train.py run's folder name, a model file's name, a --predictions folder's
name, then the flags that change the masks, _flip_tta for --flip-tta, and
the --perturb name), so that scoring a second model, or the same one with
--flip-tta, keeps the first one's results to --compare-to. Other photos
scored with the same model do not take its folder: theirs is NAME_on_DATA
(the --data folder's name, and the --split-list file's: _on_my_photos_test).
"""

import argparse
import csv
import io
import json
import logging
import math
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

import augmentation
import command_line
import data
import image_files
import outputs
import predict
import scores
import segment
import sheets

# Where each evaluation's results go without --out, in a folder of its own (see default_out).
EVALUATIONS_DIR = Path("runs/evaluation")
SCORES = ("iou", "dice", "precision", "recall", "boundary_iou", "mae")
# The mean IoU is also reported at each of these thresholds, so that the
# photos at hand say which `predict.py --threshold` suits them.
THRESHOLD_SWEEP = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)

log = logging.getLogger("evaluate")


# ----------------------------------------------------------------------------
# Harder versions of the photos (--perturb)
# ----------------------------------------------------------------------------
# Each changes every photo in one fixed way (and its mask, where the geometry
# changes), to see how a model holds up where clean test photos say little.

def zoom_out(image, mask, scale=0.5):
    """Small, distant people: the photo at half size, the border filled by
    mirroring it (as the training augmentation does)."""
    height, width = mask.shape
    return augmentation.warp_pair(image, mask, cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), 0, scale))


def second_person(image, mask, scale=0.6):
    """Two people: the photo's own person copied in front of it, mirrored, at
    60% of its height, standing on the same line, centred on the side with
    more room (so it overlaps the first where there is none, as in a group)."""
    left, top, width, height = data.person_box(mask)
    if width == 0:
        return image, mask
    left_room, right_room = left, mask.shape[1] - (left + width)
    centre_x = left_room / 2 if left_room > right_room else mask.shape[1] - right_room / 2
    return augmentation.paste_person(image, mask, image, mask, scale * height, centre_x, top + height, flip=True)


def reframe(image, mask, aspect):
    """A wider frame (width / height = `aspect`) cut from the photo, its full
    width, centred on the upper third of the person (the head stays in)."""
    height, width = mask.shape
    rows = min(height, round(width / aspect))
    _, top, box_width, box_height = data.person_box(mask)
    centre = top + box_height / 3 if box_width else height / 2
    start = int(np.clip(round(centre - rows / 2), 0, height - rows))
    return image[start:start + rows], mask[start:start + rows]


def wide_shot(image, mask, aspect=16 / 9, flat=False):
    """A small person in a wide frame: the photo widened to `aspect` by
    repeating its left and right edge columns (streaks, no people), or with
    `flat` by its mean colour (no streaks, which a model trained on motion
    blur takes for a smear of person more often), the mask by background."""
    height, width = mask.shape
    extra = max(0, round(height * aspect) - width)
    left, right = extra // 2, extra - extra // 2
    if flat:
        mean_colour = image.reshape(-1, image.shape[-1]).mean(axis=0).tolist()
        widened = cv2.copyMakeBorder(image, 0, 0, left, right, cv2.BORDER_CONSTANT, value=mean_colour)
    else:
        widened = cv2.copyMakeBorder(image, 0, 0, left, right, cv2.BORDER_REPLICATE)
    return widened, cv2.copyMakeBorder(mask, 0, 0, left, right, cv2.BORDER_CONSTANT, value=0)


def two_apart(image, mask, aspect=16 / 9):
    """Two people standing apart: the photo and its mirror image at either
    end of a 16:9 frame (wider where the two do not fit in one), the gap
    between them filled by repeating their inner edge columns, the mask by
    background."""
    height, width = mask.shape
    gap = max(2, round(height * aspect) - 2 * width)
    left = cv2.copyMakeBorder(image, 0, 0, 0, gap // 2, cv2.BORDER_REPLICATE)
    right = cv2.copyMakeBorder(image[:, ::-1], 0, 0, gap - gap // 2, 0, cv2.BORDER_REPLICATE)
    return np.hstack([left, right]), np.hstack([mask, np.zeros((height, gap), mask.dtype), mask[:, ::-1]])


def group(image, mask, scale=0.9, overlap=0.2):
    """Three people together in a wide frame: the photo widened to 16:9 as
    wide_shot widens it, its person pasted again on either side, mirrored,
    90% as tall, standing on the same line, each overlapping the middle one
    by a fifth of its width (the two in front of it, as in a group photo)."""
    image, mask = wide_shot(image, mask)
    left, top, width, height = data.person_box(mask)
    if width == 0:
        return image, mask
    person_image, person_mask = image, mask
    step = (1 - overlap) * width * (1 + scale) / 2  # between the centres of the middle one and a pasted one
    for side in (-1, 1):
        image, mask = augmentation.paste_person(image, mask, person_image, person_mask, scale * height,
                                                left + width / 2 + side * step, top + height, flip=True)
    return image, mask


def mirrored_in_turn(array, count):
    """`count` copies of a photo or mask, every second one mirrored left to right."""
    return [array[:, ::-1] if index % 2 else array for index in range(count)]


def row(image, mask, aspect=3.0):
    """People in a row across a panorama: the photo and its mirror image
    side by side, in turn, until the frame is at least `aspect` (3:1) wide."""
    count = max(1, math.ceil(aspect * mask.shape[0] / mask.shape[1]))
    return np.hstack(mirrored_in_turn(image, count)), np.hstack(mirrored_in_turn(mask, count))


def strip(image, mask, tall=3.0):
    """People one above another, as in a photo-booth strip or a collage down
    a phone's screen: the photo and its mirror image (people stay upright)
    stacked, in turn, until the frame is at least `tall` (3) times as tall as
    wide."""
    count = max(1, math.ceil(tall * mask.shape[1] / mask.shape[0]))
    return np.vstack(mirrored_in_turn(image, count)), np.vstack(mirrored_in_turn(mask, count))


def screen(image, mask, aspect=9 / 16):
    """A photo on a phone's screen (a screenshot): black bars above and
    below it, to 9:16 (a photo taller than that as it is)."""
    height, width = mask.shape
    extra = max(0, round(width / aspect) - height)
    top, bottom = extra // 2, extra - extra // 2
    return (cv2.copyMakeBorder(image, top, bottom, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0)),
            cv2.copyMakeBorder(mask, top, bottom, 0, 0, cv2.BORDER_CONSTANT, value=0))


def as_print(image, mask, border=0.06, colour=(245, 245, 240)):
    """The photo as a print in its white border (a Polaroid-style frame,
    as apps add): 6% of its longer side above it and at its sides, three
    times that below."""
    side = round(border * max(mask.shape))
    return (cv2.copyMakeBorder(image, side, 3 * side, side, side, cv2.BORDER_CONSTANT, value=colour),
            cv2.copyMakeBorder(mask, side, 3 * side, side, side, cv2.BORDER_CONSTANT, value=0))


def tilted(image, mask, degrees=30):
    """A camera tilted 30 degrees: the photo turned about its centre,
    enlarged just enough to fill the frame (for a 3:4 photo 1.53x, so a
    full-body person may lose head or feet, as in a real tilted shot)."""
    height, width = mask.shape
    angle = np.radians(degrees)
    zoom = np.cos(angle) + max(width / height, height / width) * np.sin(angle)
    turn = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, zoom)
    return augmentation.warp_pair(image, mask, turn)


def on_side(image, mask):
    """A person lying down: the photo turned a quarter anticlockwise (a
    portrait becomes a landscape photo, head on the left)."""
    return np.ascontiguousarray(np.rot90(image)), np.ascontiguousarray(np.rot90(mask))


def upside_down(image, mask):
    """A person upside down (a handstand, a photo whose orientation was lost):
    the photo turned half a turn."""
    return np.ascontiguousarray(image[::-1, ::-1]), np.ascontiguousarray(mask[::-1, ::-1])


def motion_blur(image, mask, length=0.02):
    """A person moving across the frame during the exposure (an action
    photo): blurred along a horizontal line of 2% of the photo's longer side."""
    return augmentation.motion_blur(image, length * max(image.shape[:2]), angle=0), mask


def low_resolution(image, mask, scale=0.35):
    """A small photo enlarged: downscaled to 35% and back."""
    small = data.resize(image, (max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))))
    return data.resize(small, image.shape[:2]), mask


def noisy(image, mask, std=0.06):
    """Grey sensor noise, standard deviation 6% of 255 (the training
    augmentation's noise at one strength), the same field for every call."""
    return augmentation.add_grey_noise(image, np.random.default_rng(0), std=(std, std)), mask


def dark(image, mask):
    """An underexposed photo: x 0.6 - 20."""
    return np.clip(image * 0.6 - 20, 0, 255).astype(np.uint8), mask


def bright(image, mask):
    """An overexposed photo: x 1.4 + 40."""
    return np.clip(image * 1.4 + 40, 0, 255).astype(np.uint8), mask


def greyscale(image, mask):
    """A black-and-white photo."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB), mask


def jpeg(image, mask, quality=15):
    """Heavy JPEG compression (quality 15)."""
    _, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), mask


PERTURBATIONS = {
    "zoom_out": zoom_out, "second_person": second_person, "square": partial(reframe, aspect=1.0),
    "landscape": partial(reframe, aspect=4 / 3), "widescreen": partial(reframe, aspect=16 / 9),
    "wide_shot": wide_shot, "wide_flat": partial(wide_shot, flat=True), "two_apart": two_apart, "group": group,
    "row": row, "strip": strip, "screen": screen, "print": as_print, "tilted": tilted, "on_side": on_side,
    "upside_down": upside_down, "motion_blur": motion_blur, "low_resolution": low_resolution, "noise": noisy,
    "dark": dark, "bright": bright, "greyscale": greyscale, "jpeg": jpeg,
}


def source_of(stem):
    return stem.split("_", 1)[0] if "_" in stem else "all"


def score_pairs(model, pairs, batch_size=8, keep_worst=16, flip_tta=False, perturb=None, close_up=True,
                upright_only=False, keep_specks=False, threshold=scores.THRESHOLD, predictions=None,
                main_person=False, progress=False):
    """(rows of per-image scores, failures [(path, reason)], worst images for the
    contact sheet); each row also holds the image's IoU at every threshold of
    THRESHOLD_SWEEP ("iou_by_threshold"). `perturb` names one of PERTURBATIONS
    to apply to every pair; `close_up`, `upright_only`, `keep_specks` and
    `main_person` as in predict.py (the defaults there and here); `threshold`
    makes the mask's person pixels.
    With `predictions` ({stem: path}, find_predictions) the masks scored are
    those files, as they are, and `model` is not used. With `progress`, a
    progress bar on standard error where it is a terminal, and a line every
    predict.PROGRESS_LINE_EVERY seconds where it is not (a log file), as
    predict.py says how far it has got."""
    rows, failures, worst = [], [], []
    started = said_at = time.time()
    if predictions is not None:  # masks made already are scored as they were made
        keep_specks, main_person = True, False
    with (ThreadPoolExecutor(2) as readers,
          tqdm(total=len(pairs), unit="photo", disable=None if progress else True, file=sys.stderr) as bar):
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            loaded = []
            for pair, future in zip(chunk, [readers.submit(data.read_pair_with_alpha, pair) for pair in chunk]):
                try:
                    colours, alpha, mask = future.result()
                    made = prediction_of(pair[0], colours, predictions) if predictions is not None else None
                except data.DatasetError as error:  # unreadable, sizes that differ, no prediction
                    failures.append((str(pair[0]), str(error)))
                    continue
                photo = predict.with_alpha(colours, alpha)  # as predict.py holds it: RGBA where it has transparency
                image = predict.as_seen(photo)  # what the model is shown
                mask_check = data.mask_check(mask, pair[1])  # of the ground truth as drawn, before any perturbation
                if perturb:  # a new photo, made from the one the model is shown
                    image, mask = PERTURBATIONS[perturb](image, mask)
                    photo = image
                loaded.append((pair, photo, image, mask, made, mask_check))
            if not loaded:
                bar.update(len(chunk))
                continue
            if predictions is None:
                models_masks = segment.each_photo_alone_where_it_fails(
                    lambda images: segment.predict_photo_masks(model, images, flip_tta, close_up, upright_only,
                                                               keep_specks=True),
                    [image for _, _, image, *_ in loaded])
            else:
                models_masks = [(made, None) for *_, made, _ in loaded]
            for (pair, photo, image, mask, made, mask_check), (models_mask, error) in zip(loaded, models_masks):
                if error is not None:  # said among the failures, as an unreadable photo is
                    failures.append((str(pair[0]), segment.segmenting_failure(pair[0], error)))
                    continue
                prediction = segment.people_kept(models_mask, keep_specks, main_person)
                if made is None:  # made by the model here: capped as predict.py caps its outputs (made ones are)
                    prediction = predict.within_photo(prediction, photo)
                photo_scores = scores.image_scores(mask, prediction, threshold, with_boundary=True)
                by_threshold = [scores.iou(mask, prediction, swept) for swept in THRESHOLD_SWEEP]
                # Judged as predict.py judges it for sureness.csv: the model's mask, specks and all.
                rows.append({"pair": pair, "stem": pair[0].stem, "source": source_of(pair[0].stem), **photo_scores,
                             "sureness": segment.judge(models_mask).sureness, "iou_by_threshold": by_threshold,
                             "mask_check": mask_check,  # and for masks made already, how mask-like they are
                             "in_between": in_between_share(prediction) if made is not None else None})
                worst = sorted(worst + [(photo_scores["iou"], pair[0].stem, image, mask, prediction)],
                               key=lambda item: item[0])[:keep_worst]
            bar.update(len(chunk))
            if progress and bar.disable and time.time() - said_at >= predict.PROGRESS_LINE_EVERY:
                said_at = time.time()
                scored = start + len(chunk)
                log.info("%d of %d photos scored, %.1f photos/s", scored, len(pairs), scored / (said_at - started))
    return rows, failures, worst


def find_predictions(folder, recursive=False):
    """{stem: path} of the masks or cutouts in `folder` (predict.py's, with
    --mask-only or not, or another tool's), named after the photos; with
    `recursive`, in its sub-folders too (predict.py --recursive's)."""
    return data.files_by_stem(folder, image_files.MASK_EXTENSIONS, "prediction", recursive)


def predictions_of_photos(pairs, predictions):
    """{photo stem: path} of `predictions` ({stem: path}, find_predictions)
    for the photos of `pairs`, paired as train.py pairs photos and masks: by
    name, allowing for a suffix that every prediction's name adds (a tool's
    beach-removebg-preview.png for beach.jpg) and for case."""
    photos = {image.stem: image for image, _ in pairs}
    photos_keyed, predictions = data.by_shared_name(photos, predictions)
    predictions = data.paired_regardless_of_case(photos_keyed, predictions)
    return {photos_keyed[key].stem: path for key, path in predictions.items() if key in photos_keyed}


def prediction_of(image_path, image, predictions):
    """The soft mask (float32 [0, 1]) in `predictions` ({stem: path}) of the
    photo at image_path, whose pixels are `image`; one of the photo's shape
    at another resolution (a tool's preview, or masks made of shrunk
    photos) resized to it, bilinearly where smaller, as predict.py upsamples
    its masks (see data.resize); a DatasetError where there is none, or it
    is of another shape."""
    path = predictions.get(image_path.stem)
    if path is None:
        raise data.DatasetError(f"{image_path}: no prediction of that name ({image_path.stem}.png, .jpg, ...) "
                                f"among the predictions")
    soft = image_files.read_soft_mask(path)
    if not data.has_shape_of(soft.shape, image.shape[:2]):
        raise data.DatasetError(f"{image_path} is {image.shape[1]}x{image.shape[0]} but its prediction {path} "
                                f"is {soft.shape[1]}x{soft.shape[0]}: a prediction has its photo's shape, as "
                                f"predict.py's have without --crop or --canvas")
    return data.resize(soft, image.shape[:2])


# Hand-drawn masks of real photos and the masks a model makes of them part
# along every outline: the shipped model's best test photo scores 0.9957. A
# mask the model drew itself (predict.py --mask-only) scores 1 or a hair less.
OWN_MASK_IOU = 0.999


def check_not_scored_on_own_masks(rows):
    """Warns where half or more of the masks that mark a person are all but
    the masks scored (IoU OWN_MASK_IOU or more): masks the model drew itself
    measure it against itself, flattering it, however good it is."""
    with_person = [row for row in rows if row["mask_check"].marks_person]
    alike = [row["pair"][1] for row in with_person if row["iou"] >= OWN_MASK_IOU]
    if with_person and len(alike) >= len(with_person) / 2:
        log.warning("%s of the %d masks that mark a person are all but the masks scored (IoU %s or more), as "
                    "masks the model drew itself (predict.py --mask-only) are: scored on those, a model is measured "
                    "against itself; the masks of the photos it is tested on need drawing by hand",
                    data.describe(alike, limit=3), len(with_person), OWN_MASK_IOU)


# A mask is person or background but for its edge: of the shipped model's
# masks of the 373 test photos, a median 3% of the pixels are between a tenth
# and nine tenths of full scale (99% of the masks under 15%, 2 a fifth or
# more). The same photos composed on white (predict.py --background) and read
# as masks by their grey have a median 45% there, 86% of them a fifth or more.
IN_BETWEEN = (0.1, 0.9)
PHOTO_LIKE_SHARE = 0.2


def in_between_share(soft_mask):
    """The share of a soft mask's pixels that are neither person nor background (IN_BETWEEN)."""
    low, high = IN_BETWEEN
    return float(np.count_nonzero((soft_mask > low) & (soft_mask < high)) / soft_mask.size)


def check_predictions_are_masks(rows, predictions):
    """Warns where half or more of the `predictions` ({stem: path}) scored have
    a fifth or more of their pixels in between person and background
    (PHOTO_LIKE_SHARE): photos composed on a background, scored by their
    grey, not masks or cutouts."""
    photo_like = [predictions[row["stem"]] for row in rows if row["in_between"] >= PHOTO_LIKE_SHARE]
    if len(photo_like) >= len(rows) / 2:
        log.warning("%s of the %d predictions scored are more like photos than masks (%d%% or more of "
                    "their pixels between %d%% and %d%% of full scale, where a mask's in-between pixels are its edge, "
                    "a few percent): photos composed on a background (predict.py --background) are scored by their "
                    "grey, which means nothing; --predictions takes cutouts (their transparency) or masks",
                    data.describe(photo_like, limit=3), len(rows), PHOTO_LIKE_SHARE * 100, IN_BETWEEN[0] * 100,
                    IN_BETWEEN[1] * 100)


def check_not_scored_on_training_photos(model_file, pairs):
    """Warns where photos of `pairs` are among those the model at model_file
    was trained on (see data.photos_trained_on). A model fits its training
    photos better than any other (the shipped one: 0.9713 mean IoU on them,
    0.9614 on its test photos), so scored on them it is flattered."""
    seen, train_list = data.photos_trained_on([image for image, _ in pairs], model_file) if model_file else ([], None)
    if seen:
        log.warning("%s of the %d photos scored are among those the model was trained on (%s): a model scores "
                    "higher on those than on photos it has not seen; its run's test photos are --split-list %s",
                    data.describe(seen, limit=3), len(pairs), train_list, train_list.with_name("test.txt"))


def summarize(rows):
    means = {name: float(np.mean([row[name] for row in rows])) for name in SCORES}
    by_threshold = np.mean([row["iou_by_threshold"] for row in rows], axis=0)
    ious = [row["iou"] for row in rows]
    return {"images": len(rows), **means, "iou_interval_95": mean_interval(ious), **iou_spread(ious),
            "iou_by_threshold": {f"{swept:.2f}": float(mean) for swept, mean in zip(THRESHOLD_SWEEP, by_threshold)}}


# The mean says how good the masks are on average, not how often one goes
# wrong: the shipped model's test mean (0.961) sits below its median photo
# (0.973), pulled down by a few bad ones. So the median too, and how many
# photos score below each of these levels.
FAILURE_LEVELS = (0.9, 0.8, 0.5)


def iou_spread(ious):
    """The median of per-photo IoUs and {level: how many are below it} for FAILURE_LEVELS."""
    ious = np.asarray(ious, np.float64)
    return {"iou_median": float(np.median(ious)),
            "images_below": {f"{level:.2f}": int(np.count_nonzero(ious < level)) for level in FAILURE_LEVELS}}


# predict.py writes each output's sureness so that the least sure cutouts are
# checked first; this says how well that would have found the bad masks here.
CHECKED_SHARE = 0.1  # the least sure tenth of the photos


def sureness_check(rows, share=CHECKED_SHARE, level=FAILURE_LEVELS[0]):
    """How well the sureness of the masks (segment.judge) points at the ones
    that scored low: its rank correlation with IoU over the photos, and how
    many of the photos below `level` IoU are among the least sure `share`."""
    sureness = np.array([row["sureness"] for row in rows], np.float64)
    ious = np.array([row["iou"] for row in rows], np.float64)
    checked = np.argsort(sureness, kind="stable")[:max(1, int(share * len(rows)))]
    return {"iou_rank_correlation": rank_correlation(sureness, ious), "least_sure_checked": len(checked),
            "level": level, "below_level": int(np.count_nonzero(ious < level)),
            "below_level_found": int(np.count_nonzero(ious[checked] < level))}


def sureness_summary(check):
    """A sureness_check with a rank correlation, in words for the printed summary."""
    level = f"IoU {check['level']:.2f}"
    if not check["below_level"]:
        found = f"no image is below {level}"
    elif check["least_sure_checked"] == 1:
        among = "the one" if check["below_level"] == 1 else f"one of the {check['below_level']}"
        found = f"the least sure image is {'' if check['below_level_found'] else 'not '}{among} below {level}"
    elif check["below_level"] == 1:
        hold = "hold" if check["below_level_found"] else "do not hold"
        found = f"the {check['least_sure_checked']} least sure images {hold} the one below {level}"
    else:
        found = (f"the {check['least_sure_checked']} least sure images hold {check['below_level_found']} of the "
                 f"{check['below_level']} below {level}")
    return f"sureness (predict.py's sureness.csv) against IoU: rank correlation {check['iou_rank_correlation']:.2f}; {found}"


def rank_correlation(values, others):
    """Spearman's rank correlation (ties share their mean rank); None where
    either set of values has no spread to rank."""
    ranks, other_ranks = average_ranks(values), average_ranks(others)
    if np.ptp(ranks) == 0 or np.ptp(other_ranks) == 0:
        return None
    return float(np.corrcoef(ranks, other_ranks)[0, 1])


def average_ranks(values):
    """0-based ranks of `values`, tied values given the mean of their ranks."""
    positions = np.empty(len(values))
    positions[np.argsort(values, kind="stable")] = np.arange(len(values))
    _, tie_group, group_sizes = np.unique(values, return_inverse=True, return_counts=True)
    return (np.bincount(tie_group, weights=positions) / group_sizes)[tie_group]


def mean_interval(scores, confidence=0.95, resamples=4000, seed=0):
    """Where the mean of `scores` would likely fall on another set of photos
    like these: the percentile bootstrap over the photos, seeded so that the
    same scores always give the same interval. On 373 test photos the mean
    IoU's interval is 0.008 wide: a yardstick for how far apart two models
    must score on one split before the difference says anything."""
    scores = np.asarray(scores, np.float64)
    rng = np.random.default_rng(seed)
    batch = 200  # resamples drawn at a time: a batch x photos index array, not resamples x photos
    means = np.concatenate([scores[rng.integers(0, len(scores), (min(batch, resamples - start), len(scores)))].mean(axis=1)
                            for start in range(0, resamples, batch)])
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return [float(low), float(high)]


def read_per_image_iou(folder):
    """{stem: IoU} from the per_image.csv of an earlier evaluation's results
    folder; where there is none, the error names the evaluations in the
    folder's sub-folders (--compare-to runs/evaluation for runs/evaluation/NAME),
    or the folder of EVALUATIONS_DIR of its name (--compare-to NAME)."""
    path = Path(folder) / "per_image.csv"
    if not path.is_file():
        held = sorted(csv_file.parent.name for csv_file in Path(folder).glob("*/per_image.csv"))
        named = EVALUATIONS_DIR / Path(folder).name
        inside = (f"; {folder} holds the results of {', '.join(held)}: pass {'one, ' if len(held) > 1 else ''}"
                  f"{Path(folder) / held[0]}" if held else
                  f"; did you mean {named}?" if (named / "per_image.csv").is_file() else "")
        raise data.DatasetError(f"{path} does not exist: --compare-to takes the results folder of an earlier "
                                f"evaluate.py run{inside}")
    not_ours = f"{path} is not a per_image.csv written by evaluate.py"
    ious = {}
    try:
        with path.open(newline="", **data.NAME_LIST_ENCODING) as file:
            reader = csv.DictReader(file)
            if not {"stem", "iou"} <= set(reader.fieldnames or ()):
                raise data.DatasetError(f"{not_ours}: it has no stem and iou columns")
            for row in reader:
                try:
                    ious[row["stem"]] = float(row["iou"])
                except (TypeError, ValueError):  # (TypeError: float(None), a row cut short)
                    why = "the row ends before its IoU" if row["iou"] is None else f"no IoU but {row['iou']!r}"
                    raise data.DatasetError(f"{path}, line {reader.line_num}: {why} (a file cut short, or not "
                                            f"evaluate.py's)") from None
    except (UnicodeDecodeError, csv.Error) as error:  # bytes that are no text, or no CSV
        raise data.DatasetError(f"{not_ours} ({error})") from error
    return ious


def same_photos_scored_beside(out_dir, results, shown=3):
    """[(folder, mean IoU)] of the results folders beside out_dir (the other
    runs/evaluation/NAME) whose per_image.csv lists the photos out_dir's
    does, and not changed by another --perturb than `results` were, newest
    first, `shown` of them at most: what --compare-to could have been given."""
    out_dir = Path(out_dir)
    stems = set(read_per_image_iou(out_dir))
    found = []
    for per_image in out_dir.parent.glob("*/per_image.csv"):
        if per_image.parent.resolve() == out_dir.resolve():
            continue
        try:
            written_at, ious = per_image.stat().st_mtime, read_per_image_iou(per_image.parent)
            other_photos = "perturbation" in settings_that_differ(metrics_of(per_image.parent), results)
        except (OSError, ValueError, data.DatasetError):  # gone since, or another tool's files
            continue
        if set(ious) == stems and not other_photos:
            found.append((written_at, per_image.parent, float(np.mean(list(ious.values())))))
    return [(folder, iou) for _, folder, iou in sorted(found, key=lambda item: item[0], reverse=True)[:shown]]


# What an evaluation was run with: comparing runs that differ in these
# compares different masks, or different photos, as well as the models.
SETTINGS = ("threshold", "predictions", "flip_tta", "close_up", "upright_only", "keep_specks", "main_person",
            "perturbation")
# predict.py's settings, None in a run of --predictions: there, the folder's difference says it all.
# Each with the flag that changes it from its default, as predict.py's do (close-ups are on unless refused).
MASK_SETTINGS = {"flip_tta": "--flip-tta", "close_up": "--no-close-up", "upright_only": "--upright-only",
                 "keep_specks": "--keep-specks", "main_person": "--main-person"}


def metrics_of(folder):
    """The metrics.json of an earlier evaluation's results `folder` (its
    settings and results), as a dict ({} where it has none: results of an
    older evaluate.py); a DatasetError naming it where it cannot be read."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        return {}
    try:
        settings = json.loads(path.read_text())
    except (OSError, ValueError) as error:  # cut short as it was written (before writes were whole), or not JSON
        raise data.DatasetError(f"cannot read {path}: {error}") from error
    if not isinstance(settings, dict):
        raise data.DatasetError(f"{path} is not a metrics.json written by evaluate.py")
    return settings


def settings_to_compare(folder):
    """metrics_of the --compare-to folder, said before any photo is scored
    where they cannot be read: {} then, and the per-image comparison is
    made all the same, the settings left uncompared."""
    try:
        return metrics_of(folder)
    except data.DatasetError as error:
        log.warning("%s: the settings it was scored with are not compared with this run's", error)
        return {}


def settings_that_differ(earlier, results):
    """{setting: [earlier, now]} for the SETTINGS in which this run differs
    from an earlier one (`earlier`, its metrics_of)."""
    return {name: [earlier[name], results[name]] for name in SETTINGS
            if name in earlier and earlier[name] != results[name]
            and not (name in MASK_SETTINGS and None in (earlier[name], results[name]))}


def compare(rows, earlier, earlier_folder):
    """This run's per-image IoU against an earlier run's ({stem: IoU}), on the
    photos both scored, overall and per source where there are several. Two
    models a few thousandths apart on one split may not differ at all (see
    mean_interval), but much of that spread is in the photos, which both runs
    share: photo by photo, the interval is narrower (the shipped model and a
    fine-tune of it on the 373 validation photos: 0.0033 wide, against 0.0088
    for the fine-tune's mean)."""
    shared = [row for row in rows if row["stem"] in earlier]
    if not shared:
        raise data.DatasetError(f"none of the photos scored is in {Path(earlier_folder) / 'per_image.csv'}")

    def paired(group):
        differences = [row["iou"] - earlier[row["stem"]] for row in group]
        return {"images": len(differences), "iou_difference": float(np.mean(differences)),
                "iou_difference_interval_95": mean_interval(differences),
                "better": int(np.sum(np.greater(differences, 0))), "worse": int(np.sum(np.less(differences, 0)))}

    sources = sorted({row["source"] for row in shared})
    by_source = {source: paired([row for row in shared if row["source"] == source]) for source in sources}
    return {"folder": str(earlier_folder), **paired(shared), "by_source": by_source if len(sources) > 1 else {}}


SHEET_LEGEND = "photo | ground truth | prediction | errors: red marked but not person, blue person missed"


def contact_sheet(worst, height=200, threshold=scores.THRESHOLD):
    """One row per image: photo | ground truth | prediction | errors (see
    sheets.errors, at `threshold`, as it was scored), masks drawn over the
    dimmed photo in green, with the IoU written on the prediction, under a
    legend."""
    rows = []
    for iou, stem, image, mask, prediction in worst:
        photo = data.resize(image, (height, max(1, round(image.shape[1] * height / image.shape[0]))))
        rows.append([photo, sheets.overlay(photo, mask), sheets.labelled(sheets.overlay(photo, prediction),
                                                                         f"{stem} IoU {iou:.3f}"),
                     sheets.errors(photo, mask, prediction, threshold)])
    return sheets.sheet(rows, SHEET_LEGEND)


def evaluate(model, pairs, out_dir, batch_size=8, flip_tta=False, perturb=None, close_up=True, upright_only=False,
             keep_specks=False, threshold=scores.THRESHOLD, compare_to=None, predictions=None, main_person=False,
             progress=False, engine="auto", recursive=False):
    """Scores `pairs` and writes metrics.json, per_image.csv and worst.png to
    out_dir; with `compare_to` (an earlier run's out_dir) the comparison too.
    `model`: a loaded model, or a path (None: the shipped model) loaded, run
    by `engine`, once the settings and the earlier run are checked, so that
    their mistakes are said without the model's seconds of loading (see
    predict.resolve_model). With `predictions`, a folder of masks or cutouts
    made already (by predict.py or another tool), those are scored instead
    of the model's, and no model is loaded (and with `recursive`, those in
    its sub-folders too). `progress`: a progress bar in a terminal (see
    score_pairs)."""
    threshold = scores.THRESHOLD if threshold is None else threshold  # None (remove_background's soft edges): the usual
    if troubles := predict.out_of_range(threshold, batch_size=batch_size):  # as predict.py takes them
        raise ValueError("; ".join(troubles))
    if perturb is not None and perturb not in PERTURBATIONS:
        raise ValueError(f"perturb must be one of {', '.join(PERTURBATIONS)}; got {perturb!r}")
    if predictions is not None and perturb is not None:
        raise ValueError("the predictions made already are of the photos as they are: no perturb with them")
    if not pairs:  # (data.find_pairs finds at least one, or says why not)
        raise ValueError("pairs is empty: no photo to score")
    out_dir = Path(out_dir)
    if blocked_by := data.why_folder_cannot_be_written(out_dir):  # said now, not once every photo is scored
        raise OSError(f"{out_dir} cannot be made: {blocked_by}")
    predicted = (predictions_of_photos(pairs, find_predictions(predictions, recursive)) if predictions is not None
                 else None)
    earlier = read_per_image_iou(compare_to) if compare_to is not None else None  # read before out_dir is written
    earlier_settings = settings_to_compare(compare_to) if compare_to is not None else None
    if earlier is not None and not any(image.stem in earlier for image, _ in pairs):
        raise data.DatasetError(f"none of the photos to score is in {Path(compare_to) / 'per_image.csv'}")
    # The model file (or run folder) scored, the shipped one where none was named; None for one passed in loaded.
    model_file = str(predict.model_path(model, engine)) if predictions is None and predict.names_a_model(model) else None
    if predictions is None:
        check_not_scored_on_training_photos(model_file, pairs)
        model = predict.resolve_model(model, engine)
    rows, failures, worst = score_pairs(model, pairs, batch_size, flip_tta=flip_tta, perturb=perturb, close_up=close_up,
                                        upright_only=upright_only, keep_specks=keep_specks, threshold=threshold,
                                        predictions=predicted, main_person=main_person, progress=progress)
    if not rows:
        raise data.DatasetError(f"no image could be evaluated, all {len(failures)} failed:"
                                f"{data.first_reasons(reason for _, reason in failures)}")
    # Ground truth that marks nobody scores a model that finds nobody 1.0: label maps read as person masks
    # would give a mean IoU that means nothing, so they are refused (all) or warned about (half or more),
    # as training does; so are masks that mark the background instead of the person.
    data.check_masks([(row["pair"], row["mask_check"]) for row in rows])
    check_not_scored_on_own_masks(rows)
    if predictions is not None:
        check_predictions_are_masks(rows, predicted)
    results = {
        "resolution": "original",
        "threshold": threshold,
        "boundary_band": "2% of the image diagonal",
        # How the masks were made: a folder of them made already, or predict.py with these settings.
        "predictions": str(predictions) if predictions is not None else None,
        **{name: None if predictions is not None else value for name, value in (
            ("flip_tta", flip_tta), ("close_up", close_up), ("upright_only", upright_only), ("keep_specks", keep_specks),
            ("main_person", main_person))},
        "perturbation": perturb,
        "model": model_file,
        # How the model ran (predict.ENGINES): the masks agree to within 2e-5 either way.
        "engine": None if model is None else predict.engine_of(model),
        **summarize(rows),
        "by_source": {source: summarize([r for r in rows if r["source"] == source])
                      for source in sorted({row["source"] for row in rows})},
        "sureness_check": sureness_check(rows),
        "failed": [{"path": path, "reason": reason} for path, reason in failures],
    }
    if earlier is not None:
        results["compared_to"] = {**compare(rows, earlier, compare_to),
                                  "settings_that_differ": settings_that_differ(earlier_settings, results)}
    out_dir.mkdir(parents=True, exist_ok=True)  # only now: where no photo is scored, no folder is left empty
    # Each file whole or not at all: a run killed as it writes leaves no list cut short for --compare-to.
    outputs.replace_atomically(out_dir / "metrics.json", json.dumps(results, indent=2).encode())
    per_image = io.StringIO(newline="")
    writer = csv.DictWriter(per_image, fieldnames=["stem", "source", *SCORES, "sureness"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    outputs.replace_atomically(out_dir / "per_image.csv", per_image.getvalue().encode(**data.NAME_LIST_ENCODING))
    sheet = contact_sheet(worst, threshold=threshold)
    if sheet is not None:
        outputs.replace_atomically(out_dir / "worst.png", sheets.png_bytes(sheet))
    return results


def print_results(results):
    header = f"{'source':<10} {'images':>6} " + " ".join(f"{name:>12}" for name in SCORES)
    print(header)
    groups = results["by_source"] if len(results["by_source"]) > 1 else {}
    for source, summary in [*groups.items(), ("all", results)]:
        print(f"{source:<10} {summary['images']:>6} " + " ".join(f"{summary[name]:>12.4f}" for name in SCORES))
    low, high = results["iou_interval_95"]
    images = f"{results['images']} image{'' if results['images'] == 1 else 's'}"
    print(f"mean IoU {results['iou']:.4f}, 95% interval {low:.4f}-{high:.4f} (bootstrap over the {images})")
    below = results["images_below"]
    print(f"median IoU {results['iou_median']:.4f}; images below IoU "
          + ", ".join(f"{level}: {count} ({count / results['images']:.1%})" for level, count in below.items()))
    check = results["sureness_check"]
    if check["iou_rank_correlation"] is not None:
        print(sureness_summary(check))
    by_threshold = results["iou_by_threshold"]
    best = max(by_threshold, key=by_threshold.get)
    print("mean IoU at each threshold (predict.py --threshold): "
          + ", ".join(f"{swept} {mean:.4f}" for swept, mean in by_threshold.items()) + f"; best {best}")
    if "compared_to" in results:
        comparison = results["compared_to"]
        low, high = comparison["iou_difference_interval_95"]
        print(f"against {comparison['folder']} ({comparison['images']} photos in both): mean IoU "
              f"{comparison['iou_difference']:+.4f}, 95% interval {low:+.4f} to {high:+.4f} (paired bootstrap); "
              f"better on {comparison['better']}, worse on {comparison['worse']}")
        for source, paired in comparison["by_source"].items():
            low, high = paired["iou_difference_interval_95"]
            print(f"  {source:<10} {paired['images']:>6} photos: {paired['iou_difference']:+.4f}, "
                  f"95% {low:+.4f} to {high:+.4f}; better on {paired['better']}, worse on {paired['worse']}")
        for name, (before, now) in comparison["settings_that_differ"].items():
            print(f"  note: the runs differ in {name}: {before} there, {now} here")
    for failure in results["failed"]:
        print(f"failed: {failure['reason']}", file=sys.stderr)


def default_out(model, predictions, perturb, mask_flags=()):
    """Where the results go without --out: a folder of EVALUATIONS_DIR named
    after what is scored, then the `mask_flags` given (mask_flags_given) and
    the --perturb name: the --predictions folder; a train.py run's folder,
    for its model.keras, and with the file's name for another of its models
    (person_best, person_int8 for model.int8.tflite); else the model file.
    So a run with --flip-tta keeps the plain run's results beside its own."""
    scored = Path(predictions if predictions is not None else model or predict.DEFAULT_MODEL).resolve()
    if predictions is not None:
        name = scored.name
    else:
        if scored.is_dir():
            scored = scored / "model.keras"  # a run folder (one without a model is refused once the model is loaded)
        run = scored.parent.name
        if scored.name == "model.keras":
            name = run
        elif (scored.parent / "config.json").is_file():  # written by train.py
            name = f"{run}_{scored.name.removeprefix('model.').rsplit('.', 1)[0]}"
        else:
            name = scored.stem
    name += "".join(f"_{flag.removeprefix('--').replace('-', '_')}" for flag in mask_flags)
    return EVALUATIONS_DIR / (f"{name}_{perturb}" if perturb else name)


def not_of_other_photos(out_dir, pairs, data_dir, split_list=None):
    """out_dir, or where it holds the results of other photos than `pairs`
    (the same model scored on another --data or --split-list), out_dir
    named after the photos too: out_dir_on_DATA, or out_dir_on_DATA_LIST
    (person_mobilenetv2_unet_on_people_segmentation_test): a default
    folder is not taken from the results of other photos."""
    if not (out_dir / "per_image.csv").exists():
        return out_dir
    try:
        if photos_scored_in(out_dir) == {image.stem for image, _ in pairs}:
            return out_dir
    except (OSError, ValueError, KeyError, TypeError, data.DatasetError):  # not evaluate.py's, or damaged: kept too
        pass
    photos = Path(data_dir).resolve().name + (f"_{Path(split_list).stem}" if split_list else "")
    return out_dir.with_name(f"{out_dir.name}_on_{photos}")


def photos_scored_in(folder):
    """The stems of the photos an earlier evaluation in `folder` scored, or
    tried to (its per_image.csv, and the failed in its metrics.json)."""
    scored = set(read_per_image_iou(folder))
    if (folder / "metrics.json").is_file():
        scored |= {Path(failure["path"]).stem for failure in metrics_of(folder)["failed"]}
    return scored


def mask_flags_given(args):
    """The flags given that change the masks the model makes, as predict.py's
    do: ["--flip-tta", "--no-close-up"]."""
    return [flag for name, flag in MASK_SETTINGS.items() if getattr(args, name) != flag.startswith("--no-")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=data.path_argument, default=None,
                        help="a .keras model, a train.py run folder, or a .tflite file (a TensorFlow Lite "
                        "conversion, quantized or not: how well it does before it ships) (default: the shipped one)")
    parser.add_argument("--predictions", type=data.path_argument, default=None, metavar="DIR",
                        help="score the masks or cutouts in DIR instead of a model's, one per photo and named after it, "
                        "or after it with a suffix all add (photo-removebg-preview.png) (predict.py's, or another "
                        "tool's: a cutout's alpha, else its grey, as shares of full scale; not photos composed on a "
                        "background, which are warned about)")
    parser.add_argument("--data", "--data-dir", type=data.path_argument, required=True, metavar="DIR",
                        help="folder with images/ and masks/ (--data-dir, as train.py calls it, will do)")
    parser.add_argument("--recursive", action="store_true",
                        help="also read the photos and masks (and --predictions) in sub-folders of images/ and masks/, "
                        "paired by name wherever each lies, as train.py --recursive true does")
    parser.add_argument("--split-list", type=data.path_argument, default=None, metavar="FILE",
                        help="only the photos listed in this file, one a line: stems (a run's splits/test.txt) or file names")
    parser.add_argument("--out", "--out-dir", type=data.output_path_argument, default=None, metavar="DIR",
                        help=f"folder for the results (default: {EVALUATIONS_DIR}/ and the name of what is scored: "
                        f"{EVALUATIONS_DIR}/person for runs/person/model.keras, {EVALUATIONS_DIR}/"
                        f"{predict.DEFAULT_MODEL.stem} for the shipped model, _flip_tta added with --flip-tta "
                        f"(and so for predict.py's other flags), _wide_shot with --perturb wide_shot; where that "
                        f"holds other photos' results, _on_ and the --data folder's name after it)")
    parser.add_argument("--compare-to", type=data.path_argument, default=None, metavar="DIR",
                        help="an earlier run's results folder (runs/evaluation/NAME, or its --out): the per-image IoU "
                        "difference, photo by photo, with its 95%% interval")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N",
                        help="photos the model runs on at once (default: %(default)s)")
    parser.add_argument("--threshold", type=float, default=scores.THRESHOLD, metavar="T",
                        help="soft-mask value from which a pixel counts as person (default: %(default)s); "
                        "the mean IoU at thresholds from 0.3 to 0.7 is reported either way")
    predict.add_mask_flags(parser)  # the masks scored are made as predict.py makes them, with its flags
    predict.add_engine_flag(parser)
    parser.add_argument("--perturb", choices=list(PERTURBATIONS), default=None,
                        help="score harder versions of the photos: zoom_out (people at half size), "
                        "second_person (the person copied beside itself, mirrored, at 60%% height), "
                        "square, landscape, widescreen (a 1:1, 4:3 or 16:9 frame of the photo, the head kept in), "
                        "wide_shot (the photo widened to 16:9 by repeating its edge columns: a small person in a wide frame), "
                        "wide_flat (the same, widened by the photo's mean colour instead: bars at the sides), "
                        "two_apart (the photo and its mirror image at either end of a 16:9 frame: two people apart), "
                        "group (the person pasted again on either side, 90%% tall, overlapping, in a 16:9 frame: three together), "
                        "row (the photo and its mirror image side by side, in turn, to 3:1: "
                        "people in a row across a panorama), "
                        "strip (the photo and its mirror image one above the other, in turn, to 1:3: "
                        "people in a photo-booth strip), "
                        "screen (the photo on a phone's 9:16 screen, black bars above and below: a screenshot), "
                        "tilted (turned 30 degrees, enlarged to fill the frame), on_side (turned a quarter: a person lying down), "
                        "upside_down (turned half a turn), motion_blur (2%% of the longer side, across: an action photo), "
                        "low_resolution (downscaled to 35%% and back), noise (grey, 6%% of 255), dark (x 0.6 - 20), "
                        "bright (x 1.4 + 40), greyscale (black and white), jpeg (quality 15)")
    args = command_line.parse_args(parser, argv)
    if troubles := predict.out_of_range(args.threshold, batch_size=args.batch_size, flags=True):
        parser.error("; ".join(troubles))  # as predict.py says them
    out_given = args.out is not None
    args.out = args.out or default_out(args.model, args.predictions, args.perturb, mask_flags_given(args))
    if args.out.is_file():
        parser.error(f"--out {args.out} is a file, not a folder for the results")
    blocked_by = data.why_folder_cannot_be_written(args.out)  # said now, not once every photo is scored
    if blocked_by:
        parser.error(f"--out {args.out} cannot be made: {blocked_by}")
    if args.data.is_file():  # a list of stems names no folder to find the photos in
        parser.error(f"--data {args.data} is a file; --data takes the folder with images/ and masks/ "
                     f"(a list of stems goes to --split-list)")
    try:
        split_folders = data.split_folders(args.data)
    except data.DatasetError as error:
        parser.error(str(error))
    if split_folders:  # a dataset that comes split (see train.py): which split to score is for the user to say
        folders = ", ".join(f"{folder.name}/" for folder in split_folders.values())
        example = split_folders.get("test") or split_folders.get("val") or split_folders["train"]
        parser.error(f"--data {args.data} comes split ({folders}): pass the folder of the split to score, "
                     f"--data {shlex.quote(str(example))}")
    if args.predictions is not None:
        made_by_model = [flag for flag, given in (("--model", args.model is not None),
                                                  ("--perturb", args.perturb is not None)) if given]
        made_by_model += mask_flags_given(args) + (["--engine"] if args.engine != "auto" else [])
        if made_by_model:
            parser.error(f"--predictions scores masks made already: {', '.join(made_by_model)} would make them anew")
    predict.log_to_terminal()
    try:
        images_dir, masks_dir = args.data / "images", args.data / "masks"
        # Before the model: a mistyped --data is said at once.
        pairs = (data.read_split_list(args.split_list, images_dir, masks_dir, args.recursive) if args.split_list
                 else data.find_pairs(images_dir, masks_dir, args.recursive))
        if not out_given and (free := not_of_other_photos(args.out, pairs, args.data, args.split_list)) != args.out:
            log.info("%s holds the results of other photos, kept: these go to %s", args.out, free)
            args.out = free
        results = evaluate(args.model, pairs, args.out, args.batch_size, flip_tta=args.flip_tta, perturb=args.perturb,
                           close_up=args.close_up, upright_only=args.upright_only, keep_specks=args.keep_specks,
                           threshold=args.threshold, compare_to=args.compare_to, predictions=args.predictions,
                           main_person=args.main_person, progress=True, engine=args.engine,
                           recursive=args.recursive)
    except (predict.PredictError, data.DatasetError, OSError) as error:  # OSError: --out not written after all
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C, as predict.py and train.py take it: a line, not a traceback
        print(f"\ninterrupted: nothing written to {args.out}/ (the results are written once every photo is scored)",
              file=sys.stderr)
        return 130
    print_results(results)
    print(f"written to {args.out}/ (metrics.json, per_image.csv, worst.png)")
    if args.compare_to is None and (earlier := same_photos_scored_beside(args.out, results)):
        print("the same photos were scored in " + ", ".join(f"{folder} (mean IoU {iou:.4f})" for folder, iou in earlier)
              + f": --compare-to {earlier[0][0]} gives the difference, photo by photo, with its 95% interval")
    return 0


if __name__ == "__main__":
    sys.exit(main())
