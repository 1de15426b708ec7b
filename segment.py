"""A photo's person mask from a trained model: the model's first look at the
whole photo, then closer looks where that leaves doubt.

- Small people get a second look, at a crop around them (close_up_boxes),
  and wide photos one in tiles of their full height, tall ones in tiles of
  their full width (tile_boxes), kept where surer (judge).
- Photos the model is unsure of are looked at turned on their side and
  upside down, for people lying down (lying_down_looks).
- Specks apart from the people are left out (without_specks), or everyone
  but the main person (main_person_only).
- A photo between flat bars or in a frame is looked at without them, which
  are background in its mask (photo_parts).

predict_photo_masks(model, photos) does all of it. predict.py's folder runs
take it in three steps: photo_parts in the threads that read the photos,
photo_looks in the thread that feeds the model, and Looks.mask_at in the
threads that write the outputs. evaluate.py makes its
masks here too, so the figures it reports are those of predict.py's
cutouts. How small, how sure and how far apart (the constants below) was
chosen on the validation photos; models/README.md tells what each gave.
"""

import itertools
import logging
import math
from typing import NamedTuple

import cv2
import numpy as np

import data


def model_input_size(model):
    """(height, width) of the model's input."""
    return tuple(int(side) for side in model.input.shape[1:3])


def infer(model, model_inputs, flip_tta=False):
    """Soft masks (float32 [0, 1], model resolution) for preprocessed photos.
    `flip_tta` also runs the mirrored photos and averages the two masks: the
    model's left-right biases cancel, for twice the model time."""
    batch = np.stack(model_inputs).astype(np.float32)
    masks = np.asarray(model.predict_on_batch(batch))[..., 0]
    if flip_tta:
        mirrored = np.asarray(model.predict_on_batch(batch[:, :, ::-1]))[..., 0]
        masks = (masks + mirrored[:, :, ::-1]) / 2
    return masks


# The model's memory grows with each image of a call, by about 55 MB at 288
# pixels (6.4 GB for 112 images): the crops, tiles and turned photos of a
# batch of photos, which may be many (a panorama eight times as wide as it is
# tall has 11 tiles), go through it in calls of at most this many.
MAX_IMAGES_PER_CALL = 16


def predict_masks(model, images, flip_tta=False):
    """Soft masks at model resolution for a list of RGB photos, at most
    MAX_IMAGES_PER_CALL to a model call."""
    size = model_input_size(model)
    calls = [infer(model, [data.preprocess_image(image, size) for image in images[start:start + MAX_IMAGES_PER_CALL]],
                   flip_tta) for start in range(0, len(images), MAX_IMAGES_PER_CALL)]
    return np.concatenate(calls) if calls else np.zeros((0, *size), np.float32)


# A closer look at small people. Where the person fills little of the photo
# (a full-body figure in a landscape photo, people seen from afar) the model
# sees them at a few dozen pixels; a second pass on a 3:4 crop around them,
# the shape of the training photos, sees them at full size. On validation
# photos widened to 16:9 it lifts IoU from 0.858 to 0.931; on photos where
# the person fills the frame it never runs. People who stand apart get a crop
# each: on two people at either end of a 16:9 frame, 0.888 -> 0.921 against
# one crop around both (models/README.md, "Small people").
CLOSE_UP_MARGIN = 0.1    # room around the person's box, a share of its longer side on each side
CLOSE_UP_MIN_ZOOM = 1.5  # photo area / crop area below which the crop is not worth a second pass
# A patch of mask smaller than this share of the largest one is a stray blob
# or a detached hand, not a person standing apart who needs a crop of their own.
CLOSE_UP_MIN_PERSON_SHARE = 0.05


def close_up_boxes(soft_mask, photo_size):
    """(top, bottom, left, right) boxes in photo pixels of 3:4 crops around the
    person pixels of a model-resolution mask: one around everyone, or one
    around each group of people that stand so far apart that their crops
    would not overlap; only those CLOSE_UP_MIN_ZOOM times smaller than the
    photo, so none where the people fill it or there are none."""
    height, width = photo_size
    band_top, band_rows = data.letterbox_band(photo_size, soft_mask.shape[:2])
    band = (np.asarray(soft_mask)[band_top:band_top + band_rows] >= 0.5).view(np.uint8)
    band = band.reshape(band.shape[:2])

    def crop(box):
        return crop_around(box, photo_size, band.shape)

    groups = groups_apart(band, crop)
    if len(groups) < 2:  # everyone together: one crop around all person pixels, specks included
        everyone = data.person_box(band)
        groups = [everyone] if everyone[2] else []
    crops = [crop(group) for group in groups]
    # A speck in a thumbnail (64x48) makes a crop that rounds to no pixels at all: nothing to look at.
    return [box for box in crops if 0 < (box[1] - box[0]) * (box[3] - box[2]) * CLOSE_UP_MIN_ZOOM <= height * width]


def groups_apart(band, crop):
    """Boxes (x, y, width, height) around the patches of a (H, W) uint8 {0, 1}
    mask that are not specks (CLOSE_UP_MIN_PERSON_SHARE), joined while their
    crops (`crop`: box -> (top, bottom, left, right)) overlap."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(band, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    groups = [tuple(int(v) for v in stats[1 + i, :4])
              for i in np.flatnonzero(areas >= CLOSE_UP_MIN_PERSON_SHARE * areas.max(initial=0))]
    while pair := next(((i, j) for i, j in itertools.combinations(range(len(groups)), 2)
                        if crops_overlap(crop(groups[i]), crop(groups[j]))), None):
        i, j = pair
        groups[i] = box_union(groups[i], groups.pop(j))
    return groups


def crops_overlap(box, other):
    """Whether two (top, bottom, left, right) boxes share pixels."""
    return box[0] < other[1] and other[0] < box[1] and box[2] < other[3] and other[2] < box[3]


def box_union(box, other):
    """The (x, y, width, height) box around two (x, y, width, height) boxes."""
    left, top = min(box[0], other[0]), min(box[1], other[1])
    right, bottom = max(box[0] + box[2], other[0] + other[2]), max(box[1] + box[3], other[1] + other[3])
    return left, top, right - left, bottom - top


def crop_around(box, photo_size, band_size):
    """(top, bottom, left, right) in photo pixels of the 3:4 crop around a box
    (x, y, width, height) of a mask's letterbox band of band_size=(rows, cols):
    the box with a margin, its short side grown to 3:4, slid inside the photo."""
    height, width = photo_size
    x, y, box_width, box_height = box
    scale_x, scale_y = width / band_size[1], height / band_size[0]
    left, right, top, bottom = x * scale_x, (x + box_width) * scale_x, y * scale_y, (y + box_height) * scale_y
    margin = CLOSE_UP_MARGIN * max(right - left, bottom - top)
    left, right, top, bottom = left - margin, right + margin, top - margin, bottom + margin
    # Grow the short side to 3:4, centred, then slide the crop back into the photo.
    grow_x = max(0.0, (bottom - top) * data.WIDEST_ASPECT - (right - left)) / 2
    grow_y = max(0.0, (right - left) / data.WIDEST_ASPECT - (bottom - top)) / 2
    left, right, top, bottom = left - grow_x, right + grow_x, top - grow_y, bottom + grow_y
    left, right = slide_inside(left, right, width)
    top, bottom = slide_inside(top, bottom, height)
    return max(0, round(top)), min(height, round(bottom)), max(0, round(left)), min(width, round(right))


def slide_inside(start, stop, length):
    """An interval moved to lie within [0, length] where it fits, else clipped to it."""
    shift = -start if start < 0 else length - stop if stop > length else 0.0
    return max(0.0, start + shift), min(float(length), stop + shift)


def close_ups(model, images, soft_masks, flip_tta=False):
    """Per photo, a list of (box, soft mask of the crop at model resolution):
    the second pass on crops around small people (see close_up_boxes); empty
    where there is none."""
    return crop_looks(model, images, [close_up_boxes(soft, image.shape[:2]) for soft, image in zip(soft_masks, images)],
                      flip_tta)


def crop_looks(model, images, boxes, flip_tta=False):
    """Per photo, [(box, soft mask of the crop at model resolution)] for its
    (top, bottom, left, right) `boxes`. The crops of all the photos go
    through the model together, MAX_IMAGES_PER_CALL to a call."""
    crops = [image[top:bottom, left:right] for image, photo_boxes in zip(images, boxes)
             for top, bottom, left, right in photo_boxes]
    crop_masks = iter(predict_masks(model, crops, flip_tta))
    return [[(box, next(crop_masks)) for box in photo_boxes] for photo_boxes in boxes]


# Tiles across wide photos. A wide photo is letterboxed, so the model sees
# its people at a fraction of its input's rows (a 16:9 photo: 122 of 288),
# and where several people stand across it (a group photo), the crop around
# them is the whole photo, too big for a close-up. So a photo wider than 3:4
# by CLOSE_UP_MIN_ZOOM also goes through the model in overlapping 3:4 tiles
# of its full height, each seen at the model's full size; their masks,
# averaged where tiles overlap, replace the first look (close-ups included)
# where they are surer of their person (judge).
# Chosen on validation: three people together in a 16:9 frame 0.942 ->
# 0.965, two apart 0.922 -> 0.951, people small in a 16:9 frame 0.932 ->
# 0.946, while 16:9 and 4:3 frames cut from portraits, a face too close for
# a tile to see whole, lose 0.002 and 0.001, and people lying across a 4:3
# photo 0.003 (see lying_down_looks; models/README.md, "Group photos").
# In a row of people across a panorama the first look, which sees each of
# them a few dozen rows tall, may find one of them or nobody; the tiles find
# them all, yet less sure (a tile's edge cuts a person) than the first look
# of its one. So tiles that mark far more person pixels than the first look
# win too, where they are sure of them: on validation, people in a row at
# 3:1 0.828 -> 0.947 (at 5:1, a one-off script, 0.510 -> 0.957); the frames
# above as before, to the fourth decimal; and of wide photos with nobody in
# them fewer marked than before (models/README.md, "People in a row").
# Tall photos (1:2 and taller: a photo-booth strip, a collage down a phone's
# screen) are squeezed into the model's input as wide ones are letterboxed,
# and get 3:4 tiles of their full width down them, chosen the same way:
# people one above another, validation photos stacked to 1:3 and taller,
# 0.830 -> 0.958 (models/README.md, "People one above another").
TILES_MORE_PEOPLE = 2     # tiles marking more than this many times the first look's person pixels ...
TILES_MORE_SURE = 0.95    # ... win where at least this sure of them (people: 0.96 and above, nobody: mostly below 0.94)


# A strip of a photo (2000x3 pixels: 1,000 tiles) or a 360-degree panorama
# would take a model pass for every 3:4 of its width; wider than 9:1 (or
# taller than 1:16), a photo gets its first look and close-ups only.
MAX_TILES = 12


def tile_boxes(photo_size):
    """(top, bottom, left, right) boxes of the fewest 3:4 tiles, evenly
    spread, that cover a photo of photo_size=(height, width): across it, each
    of its full height, where it is wider than 3:4 by CLOSE_UP_MIN_ZOOM; down
    it, each of its full width, where it is that much taller (1:2 and
    taller); none for photos in between, or where that takes more than
    MAX_TILES."""
    height, width = photo_size
    across = tile_spans(width, max(1, round(height * data.WIDEST_ASPECT)))
    if across:
        return [(0, height, left, right) for left, right in across]
    return [(top, bottom, 0, width) for top, bottom in tile_spans(height, max(1, round(width / data.WIDEST_ASPECT)))]


def tile_spans(length, tile):
    """(start, stop) of the fewest spans `tile` long, evenly spread, that
    cover `length`; none where it is shorter than CLOSE_UP_MIN_ZOOM tiles or
    takes more than MAX_TILES."""
    count = math.ceil(length / tile)
    if length < tile * CLOSE_UP_MIN_ZOOM or count > MAX_TILES:
        return []
    starts = np.linspace(0, length - tile, count).round().astype(int)
    return [(int(start), int(start) + tile) for start in starts]


def surer_crops(images, soft_masks, close_up_masks, tile_masks):
    """Per photo, its tiles' [(box, soft mask)] where the mask they make wins
    over the one of its first look and close-ups (tiles_win), else its
    close-ups'."""
    chosen = []
    for image, soft, close, tiles in zip(images, soft_masks, close_up_masks, tile_masks):
        size = image.shape[:2]
        won = tiles and tiles_win(judge(judging_mask(soft, size, close)), judge(judging_mask(soft, size, tiles)))
        chosen.append(tiles if won else close)
    return chosen


def tiles_win(first, tiled):
    """Whether the tiles' mask replaces the first look's (close-ups
    included), given the Judgement of each: surer of the people the first
    look found, or marking more than TILES_MORE_PEOPLE times its person
    pixels (any, where it found nobody) and at least TILES_MORE_SURE sure."""
    if first.person_pixels and tiled.sureness > first.sureness:
        return True
    return marks_more_people(tiled, first) and tiled.sureness >= TILES_MORE_SURE


def marks_more_people(tiled, first):
    """Whether the tiles' mask marks more than TILES_MORE_PEOPLE times the
    person pixels of the first look's (Judgements): people it missed."""
    return tiled.person_pixels > TILES_MORE_PEOPLE * first.person_pixels


def photo_mask(soft_mask, size, close_ups=()):
    """The soft mask at the photo's size=(height, width): the model's mask
    upsampled, and inside the close-ups' boxes (or tiles') theirs, averaged
    where boxes overlap."""
    if not close_ups:
        return data.upsample_mask(soft_mask, size)
    total, count = np.zeros(size, np.float32), np.zeros(size, np.float32)
    for (top, bottom, left, right), crop_mask in close_ups:
        total[top:bottom, left:right] += data.upsample_mask(crop_mask, (bottom - top, right - left))
        count[top:bottom, left:right] += 1
    covered = count > 0
    # Tiles cover the whole photo, leaving nothing of the first look to upsample;
    # and a division in place, not gathered through `covered`: for a 12-megapixel
    # photo's two tiles 80 against 160 ms (the same mask to the bit).
    mask = total if covered.all() else data.upsample_mask(soft_mask, size)
    np.divide(total, count, out=mask, where=covered)
    return mask


# Specks apart from the people. The masks hold stray patches now and then: a
# blob of background the model half took for a person (a ceiling light, a
# bit of street), floating apart from everyone, or more often a faint ghost of
# one (every pixel below 0.5), a translucent smudge in a soft cutout. A patch
# that stands apart even where the faintest pixels count, is under
# SPECK_SHARE of the largest and touches no edge of the photo is left out: of
# the validation and test photos as they are, 5 of 746 masks lost person
# pixels so (none of them person in the ground truth) and 173 a faint ghost.
# Patches at the edge stay: there they are mostly people cut by the frame (a
# bystander, a second person's shoulder) (models/README.md, "Specks").
SPECK_SHARE = 0.02  # ... as a share of the largest patch's person pixels (a person a seventh as tall)
SPECK_JOIN = 0.1    # patches joined through pixels at least this probable are one
# Bilinear upsampling leaves a faint rim (below SPECK_JOIN) around a patch, one
# model pixel wide: up to 0.4% of the photo's longer side at 288 pixels.
SPECK_RIM = 0.01    # ... cleared with the speck, this share of the longer side around it


def mask_patches(mask):
    """(labels, person pixels of each label) of a soft mask's patches: its
    pixels of at least SPECK_JOIN, joined (label 0: the pixels below), each
    counted by its pixels of at least 0.5; (None, None) where the mask holds
    one patch at most, which nothing is left out of."""
    count, patches = cv2.connectedComponents((mask >= SPECK_JOIN).view(np.uint8), connectivity=8)
    if count <= 2:  # the pixels below SPECK_JOIN, and at most one patch
        return None, None
    return patches, np.bincount(patches[mask >= 0.5], minlength=count)


def without_specks(mask):
    """A photo-size soft mask less its specks: the patches (pixels of at least
    SPECK_JOIN, joined) that touch no edge of the photo and whose person
    pixels (at least 0.5) number less than SPECK_SHARE of the largest
    patch's, set to 0 with their faint rim."""
    patches, person_pixels = mask_patches(mask)
    if patches is None:
        return mask
    specks = person_pixels < SPECK_SHARE * person_pixels[1:].max()
    specks[0] = False  # label 0: the pixels below SPECK_JOIN
    specks[np.concatenate([patches[[0, -1]].ravel(), patches[:, [0, -1]].ravel()])] = False
    return without_patches(mask, patches, specks)


# --main-person keeps one person: the patch of mask (joined as specks are)
# with the most person pixels. Bystanders and anyone standing apart are left
# out with their faint rim, at the edge of the photo too, and so are specks;
# people who touch, or whom the model joins by faint pixels, are one patch
# and stay together. On the validation photos it scores 0.9610 against 0.9601
# (the street photos, whose bystanders are labelled background, +0.0029),
# and a second person apart is lost (models/README.md, "The main person").

def main_person_only(mask):
    """A photo-size soft mask with only its main person: every patch (see
    without_specks) but the one with the most person pixels set to 0 with
    its faint rim; the mask as it is where it marks nobody."""
    patches, person_pixels = mask_patches(mask)
    if patches is None or not person_pixels[1:].any():
        return mask
    others = np.arange(len(person_pixels)) != np.argmax(person_pixels[1:]) + 1
    others[0] = False  # the pixels below SPECK_JOIN
    return without_patches(mask, patches, others)


def people_kept(mask, keep_specks=False, main_person=False):
    """A photo-size soft mask less what the outputs leave out: everyone but
    the main person with `main_person`, else its specks unless `keep_specks`."""
    if main_person:
        return main_person_only(mask)
    return mask if keep_specks else without_specks(mask)


def without_patches(mask, patches, dropped):
    """`mask` with the patches flagged in `dropped` (by their label in
    `patches`) set to 0, with the faint pixels around each within SPECK_RIM;
    `mask` itself where none is flagged."""
    if not dropped.any():
        return mask
    mask = mask.copy()
    rim = max(1, round(SPECK_RIM * max(mask.shape)))
    grow = np.ones((2 * rim + 1,) * 2, np.uint8)
    for patch in np.flatnonzero(dropped):  # each within its box and rim: specks are small, photos large
        # (Boxes for the few patches, not stats for every patch: the faint patches
        # at the edges make most masks several patches, and the stats doubled the time.)
        x, y, width, height = cv2.boundingRect((patches == patch).view(np.uint8))
        around = np.s_[max(0, y - rim):y + height + rim, max(0, x - rim):x + width + rim]
        labels = patches[around]
        near = cv2.dilate((labels == patch).view(np.uint8), grow).view(bool)
        mask[around][near & ((labels == patch) | (labels == 0))] = 0
    return mask


def predict_photo_masks(model, images, flip_tta=False, close_up=True, upright_only=False, keep_specks=False,
                        main_person=False):
    """Soft masks (float32 [0, 1]) at each RGB photo's own size, with a
    closer look at small people unless `close_up` is False, a look at
    unsure photos turned on their side and upside down unless
    `upright_only`, and specks apart from the people left out unless
    `keep_specks`, or everyone but the main person with `main_person`; a
    ValueError for an image that is not an RGB photo (see photo_trouble)."""
    for index, image in enumerate(images):
        if trouble := photo_trouble(image):
            raise ValueError(f"photo {index} {trouble} (predict.remove_background takes grey, RGBA and 16-bit "
                             f"arrays, and PIL images)")
    parts = [photo_parts(image) for image in images]
    shown = [within(image, looked_at) for image, (looked_at, _) in zip(images, parts)]
    looks = photo_looks(model, shown, predict_masks(model, shown, flip_tta), parts, flip_tta, close_up, upright_only)
    return [people_kept(look.mask_at(image.shape[:2]), keep_specks, main_person) for look, image in zip(looks, images)]


def each_photo_alone_where_it_fails(run_batch, photos):
    """[(result, None)] for `photos`, one for each of what `run_batch(photos)`
    returns; where the batch raises (an Exception), each photo is run alone,
    so that the one the error belongs to gets it, (None, error), and the
    others their results: a photo that the model or a look cannot take
    costs that photo, not its batch, nor the run."""
    try:
        return [(result, None) for result in run_batch(photos)]
    except Exception as error:
        if len(photos) == 1:
            return [(None, error)]
    return [each_photo_alone_where_it_fails(run_batch, [photo])[0] for photo in photos]


def segmenting_failure(photo, error):
    """What the failure of `photo` that each_photo_alone_where_it_fails
    gave says, for predict.py's and evaluate.py's lists of failures; its
    traceback is logged at debug level, for whoever mends the cause."""
    logging.getLogger("segment").debug("cannot segment %s", photo, exc_info=error)
    return f"{photo}: cannot segment it ({type(error).__name__}: {error})"


def photo_trouble(image, depths=(np.uint8,)):
    """What keeps the array `image` from being a photo the model can look
    at, RGB (height, width, 3) of some pixels of one of `depths` (a
    background may be uint16 too: see predict.background_trouble); None
    where nothing does. (A grey or RGBA array was TensorFlow Lite's shape
    error, and a float array in [0, 1] a black photo.)"""
    image = np.asarray(image)
    if image.dtype in depths and image.ndim == 3 and image.shape[2] == 3 and image.size:
        return None
    names = " or ".join(np.dtype(depth).name for depth in depths)
    return f"must be RGB pixels, {names} (height, width, 3), not {image.dtype} of shape {image.shape}"


class Looks(NamedTuple):
    """What the model made of one photo, before its mask is brought to the photo's size."""
    soft_mask: np.ndarray         # the first pass, at model resolution
    close_ups: list               # [(box, soft mask of the crop)]: see close_ups
    made: np.ndarray | None       # the mask of the part looked at where the look for people lying down made it
    looked_at: tuple              # (top, bottom, left, right): the part of the photo the model looked at (photo_parts)
    inside_border: tuple          # ... and the photo inside flat bars or a frame (photo_parts)

    def mask_at(self, photo_size):
        """The soft mask at the photo's size=(height, width), specks and
        all, background in the bars or frame around the photo, if any."""
        looked_top, looked_bottom, looked_left, looked_right = self.looked_at
        mask = self.made if self.made is not None else photo_mask(
            self.soft_mask, (looked_bottom - looked_top, looked_right - looked_left), self.close_ups)
        top, bottom, left, right = self.inside_border
        if (top, bottom, left, right) == (0, photo_size[0], 0, photo_size[1]):
            return mask
        framed = np.zeros(photo_size, mask.dtype)
        framed[top:bottom, left:right] = within(mask, (top - looked_top, bottom - looked_top,
                                                       left - looked_left, right - looked_left))
        return framed


def photo_looks(model, images, soft_masks, parts, flip_tta=False, close_up=True, upright_only=False):
    """The Looks of each photo after the model's first pass (`soft_masks`),
    for single photos and folders alike: its close-ups or, where surer, its
    tiles (unless not `close_up`), and its mask where the look for people
    lying down made it (unless `upright_only`; see lying_down_looks).
    `images` are the parts of the photos that the model looks at, and
    `parts` where those and the photos inside their bars or frames lie in
    them (photo_parts)."""
    around_people = extra = [()] * len(images)
    if close_up:
        around_people = close_ups(model, images, soft_masks, flip_tta)
        # Where the first look found nobody, too: people small across a panorama may be seen by tiles only.
        tiles = crop_looks(model, images, [tile_boxes(image.shape[:2]) for image in images], flip_tta)
        extra = surer_crops(images, soft_masks, around_people, tiles)
    made = [None] * len(images) if upright_only else lying_down_looks(model, images, soft_masks, around_people, extra,
                                                                      flip_tta, close_up)
    return [Looks(*look, *part) for *look, part in zip(soft_masks, extra, made, parts)]


# Bars. A photo shown between flat bars above and below it (a 3:4 photo on a
# phone's 9:16 screen, a border added for a square feed, a film's frame) has
# its people cut by its own bottom edge, and the model carries them on into
# the bar below. So where the photo's top and bottom rows are one colour, as
# tall above as below (the photo centred between them), those rows are
# background: validation photos between black bars at 9:16 (evaluate.py
# --perturb screen) 0.842 -> 0.958, between white ones 0.920 -> 0.960 (a
# one-off script). Of the 3,724 shared photos, six have such bars: four score
# the same, one 0.028 better, one 0.005 worse. Bars at the sides count only
# where they end in straight edges (beside_bars): the black background of a
# studio portrait is flat at both sides, wherever black clothes reach them
# (two of the shared photos, which would score 0.06 and 0.03 worse), but
# ends along the person's outline. See models/README.md, "Photos between
# bars" and "The photo inside".
BAR_TOLERANCE = 3      # a bar's rows are its colour within this many levels (of 255), as JPEG leaves a flat colour
BAR_MIN_SHARE = 0.02   # ... each bar at least this share of the photo's height
BAR_MISMATCH = 0.01    # ... and the two as tall within this share of it, the photo centred ...
BAR_MISMATCH_ROWS = 16  # ... or within this many rows: a JPEG's ringing beside a bar reaches into a block of 16

# Frames. A photo in a border of one colour all round (a white border that
# an app or an editor adds to make it look like a print or a Polaroid, or to
# fit a feed) loses its people into the border below as it does into a bar,
# and the border is often widest there. So where flat bands of one colour run along all four
# sides and each ends in a straight edge, as a photo's own edge is, the bands
# are background, however wide each is: validation photos as prints, their
# border three times as wide below (evaluate.py --perturb print), 0.922 ->
# 0.955; in black frames 0.837 -> 0.952 (a one-off script). The straight edge
# tells a frame from a studio's flat background, which ends along the
# person's outline (a portrait on black whose dark clothes reach the sides
# and bottom has flat bands on all four, and its mask calls some of them
# person); none of the 3,724 shared photos has a frame by the rule. A scanned
# print's border is not flat enough to be found (grain of 2 levels: none of
# 63 validation prints). See models/README.md, "Photos between bars".
FRAME_MIN_SHARE = 0.005  # each band at least this share of the photo's longer side
FRAME_EDGE_DEPTH = 16    # ... whose edge turns another colour within this many rows (a JPEG block's ringing) ...
FRAME_EDGE_SHARE = 0.9   # ... along at least this share of the middle half of its length


# The photo inside. Cleared from the mask, bars or a frame still took their
# share of what the model was shown, the photo inside them smaller than it
# would be alone. So where their inner edges are straight, the model is
# shown the photo inside alone: on validation, photos between black bars at
# 9:16 0.958 -> 0.960 and prints 0.955 -> 0.960, as the photos score
# without them; and so between bars at the sides, found where they end
# straight (beside_bars): black ones at 16:9 0.954 -> 0.960, a 3:4 photo on
# a white square 0.949 -> 0.960 (models/README.md, "The photo inside").
def photo_parts(image):
    """(looked_at, inside), each (top, bottom, left, right) of an RGB uint8
    photo: `inside` the part inside a frame (inside_frame), bars above and
    below it (between_bars) or bars at its sides (beside_bars), and
    `looked_at` the part the model is shown. That is the part inside where
    the border's inner edges are straight, as a photo's own edges are (a
    frame's and side bars' always are): it is a photo of its own, which the
    model segments best alone. Else the whole photo: flat rows above and
    below someone on a flat background end along their outline, and the
    model, shown the part between them, would see them cut off at head and
    feet."""
    height, width = image.shape[:2]
    whole = (0, height, 0, width)
    above, below = flat_rows(image), flat_rows(image[::-1])
    if frame := inside_frame(image, above, below):
        return frame, frame
    top, bottom = between_bars(height, above, below)
    if (top, bottom) != (0, height):
        inside = (top, bottom, 0, width)
        return (inside if bars_end_straight(image, top, bottom, above[1]) else whole), inside
    if above[0] or below[0]:  # flat rows above or below as well: a frame not found as one, left as it is
        return whole, whole
    beside = (0, height, *beside_bars(image))
    return beside, beside


def beside_bars(image):
    """(left, right): the columns of a photo between bars of one colour at
    its sides, as wide as each other (between_bars, on its columns), each
    ending in a straight edge (ends_straight); (0, width) where there are
    none. Flat columns at the sides that end along someone's outline are no
    bars: a studio portrait's black background, where black clothes reach
    the photo's sides."""
    across = image.transpose(1, 0, 2)  # its columns, as rows
    left_band, right_band = flat_rows(across), flat_rows(across[::-1])
    left, right = between_bars(len(across), left_band, right_band)
    if (left, right) != (0, len(across)) and bars_end_straight(across, left, right, left_band[1]):
        return left, right
    return 0, len(across)


def bars_end_straight(side, start, stop, colour):
    """Whether bars of `colour` above row `start` of `side` and from row
    `stop` down (between_bars) both end in a straight edge (ends_straight)."""
    return ends_straight(side, start, colour) and ends_straight(side[::-1], len(side) - stop, colour)


def within(image, part):
    """The (top, bottom, left, right) `part` of `image`, a view."""
    top, bottom, left, right = part
    return image[top:bottom, left:right]


def between_bars(height, above, below):
    """(top, bottom): the rows of a photo `height` rows tall between bars of
    one colour above and below it, as tall as each other, from its flat
    rows (flat_rows) from the top, `above`, and from the bottom, `below`;
    (0, height) where there are none."""
    (top, top_colour), (bottom, bottom_colour) = above, below
    if (min(top, bottom) >= BAR_MIN_SHARE * height and top + bottom < height
            and abs(top - bottom) <= max(BAR_MISMATCH_ROWS, BAR_MISMATCH * height)
            and np.abs(top_colour - bottom_colour).max() <= BAR_TOLERANCE):
        return top, height - bottom
    return 0, height


def inside_frame(image, above, below):
    """(top, bottom, left, right): the part of an RGB uint8 photo inside a
    frame, a band of one colour along each of its sides (see frame_band);
    None where it has none. `above` and `below`: its flat rows (flat_rows)
    from the top and from the bottom."""
    height, width = image.shape[:2]
    least = max(1, FRAME_MIN_SHARE * max(height, width))
    colour = above[1]
    top, bottom = frame_band(image, above, colour, least), frame_band(image[::-1], below, colour, least)
    if not (top and bottom):
        return None
    across = image[top:height - bottom].transpose(1, 0, 2)  # the columns between the bands above and below
    left = frame_band(across, flat_rows(across), colour, least)
    right = left and frame_band(across[::-1], flat_rows(across[::-1]), colour, least)
    return (top, height - bottom, left, width - right) if right else None


def frame_band(side, band, colour, least):
    """How many rows deep a frame's band runs along the top of `side`, or 0
    where its flat rows (`band`, from flat_rows) are not one: under `least`
    rows, of another colour than `colour`, the whole of `side`, or not
    ending in a straight edge (see ends_straight)."""
    depth, own = band
    if not least <= depth < len(side) or np.abs(own - colour).max() > BAR_TOLERANCE:
        return 0
    return depth if ends_straight(side, depth, colour) else 0


def ends_straight(side, depth, colour):
    """Whether a band of `colour`, `depth` rows deep along the top of `side`,
    ends in a straight edge: within FRAME_EDGE_DEPTH rows below it nearly
    all of the middle half of its columns (away from the bands at the
    sides) turn another colour."""
    quarter = side.shape[1] // 4
    rows = side[depth:depth + FRAME_EDGE_DEPTH, quarter:side.shape[1] - quarter].astype(np.float32)
    return (np.abs(rows - colour) > BAR_TOLERANCE).any(axis=(0, 2)).mean() >= FRAME_EDGE_SHARE


def flat_rows(image):
    """(rows, colour): how many of an image's rows, from the top, are all
    the colour of the first (its median) within BAR_TOLERANCE, and that
    colour. Looked at in ever larger blocks, so that a photo whose first
    rows are not flat costs a few rows' work, not the photo's."""
    colour = np.median(image[0].reshape(-1, image.shape[-1]), axis=0)
    # Within BAR_TOLERANCE of the colour: each channel within these whole-number bounds, which OpenCV checks
    # 20 times as fast as NumPy's arithmetic (4 against 78 ms on 800 flat rows of a 12-megapixel photo).
    low, high = np.ceil(colour - BAR_TOLERANCE), np.floor(colour + BAR_TOLERANCE)
    start, block = 0, 8
    while start < image.shape[0]:
        rows = np.ascontiguousarray(image[start:start + block])  # a view down the columns too
        off = (cv2.inRange(rows, low, high) == 0).any(axis=1)
        if off.any():
            return start + int(np.argmax(off)), colour
        start, block = start + block, block * 2
    return image.shape[0], colour


# People lying down. Every training photo shows its person upright, and the
# model leaves out most people lying down (validation photos turned a
# quarter: 0.63 IoU) and many upside down (turned half a turn: 0.78). So a
# photo whose mask the model is unsure of also goes through the model turned
# a quarter each way and half a turn, and a turned look that is sure of its
# person replaces the upright one. Chosen on validation (models/README.md,
# "People lying down"): photos turned on their side 0.63 -> 0.88, upside down
# 0.78 -> 0.86, while in nine sets of photos of upright people (as they are,
# frames, small people, several people, tilted, ...) one upright mask of
# 3,357 was replaced by a quarter turn and three, each for the better, by the
# half turn; the extra passes cost time on the 2-20% of those photos whose
# masks are unsure.
LYING_DOWN_SURE = 0.96       # upright masks less sure than this get a turned look, which must be at least this sure
LYING_DOWN_MIN_GAIN = 0.04   # ... and this much surer than the upright mask
LYING_DOWN_MIN_AREA = 0.5    # ... marking at least this share of the upright mask's person pixels


class Judgement(NamedTuple):
    """How sure a soft mask is of its person, and how much it marks."""
    sureness: float     # mean probability over the pixels it marks (at least 0.5 each); 0 where none
    person_pixels: int  # how many pixels it marks


def judge(mask):
    """The Judgement of a soft mask. Neither figure changes when the mask is
    turned, so a turned look is judged as it comes out of the model."""
    person = mask >= 0.5
    pixels = int(np.count_nonzero(person))
    # A dot product sums the marked probabilities without gathering them into
    # a new array: 0.4 against 2.4 ms for a 600x800 mask, in the thread that feeds the model.
    return Judgement(float(np.dot(mask.ravel(), person.ravel())) / pixels if pixels else 0.0, pixels)


def turned_look_wins(upright, turned):
    """Whether a turned look replaces the upright one, given the Judgement of
    each mask: sure of its person, clearly surer than the upright mask, and
    marking at least LYING_DOWN_MIN_AREA as much."""
    return (turned.sureness >= LYING_DOWN_SURE
            and turned.sureness - upright.sureness > LYING_DOWN_MIN_GAIN
            and turned.person_pixels >= LYING_DOWN_MIN_AREA * upright.person_pixels)


def lying_down_looks(model, images, soft_masks, close_up_masks, crops, flip_tta=False, close_up=True):
    """Per photo, its photo-size soft mask where this made one, else None:
    for photos whose upright mask (first look and close-ups) marks someone
    but is less sure than LYING_DOWN_SURE, the surest look turned on its side
    or upside down that wins over it (turned_look_wins); otherwise, where the
    photo's chosen `crops` are its close-ups, the upright mask, where it was
    judged at the photo's own size (judging_mask), so that it is not made
    twice. The turned photos go through the model together (predict_masks),
    then their close-ups.

    Tiles (tile_boxes) play no part here, upright or turned: a person lying
    across a 4:3 photo looks, to each tile, like part of someone upright,
    and the tiles' mask, surer than the first look, would leave no turned
    look clearly surer (on their side, validation 0.884 -> 0.840 so); and
    the tiles of the photo turned half a turn, as sure, would win over the
    quarter turn that stands the person up. Where no turned look wins, a
    photo's tiles stay chosen. But chosen tiles that mark more than
    TILES_MORE_PEOPLE times the upright mask's person pixels, people it
    missed, are what a turned look must win over: a row of people turned on
    its side shows them lying down, of whom a turned look is surer than the
    first look of the one it found (people in a row at 3:1, validation
    0.947 -> 0.954). So are chosen tiles down a tall photo: the first look
    at a photo-booth strip runs each person into the next and is unsure,
    and a turned look, surer than that, replaced tiles surer still (people
    one above another, validation 0.953 -> 0.958; a row of people turned on
    its side, people lying down in a tall photo, 0.605 -> 0.591 in a one-off
    script)."""
    made = [None] * len(images)
    judged = {}  # photo index -> the Judgement of its unsure upright mask
    for index, (image, soft, more, chosen) in enumerate(zip(images, soft_masks, close_up_masks, crops)):
        mask = judging_mask(soft, image.shape[:2], more)
        if mask.shape == image.shape[:2] and chosen is more:
            made[index] = mask
        upright = judge(mask)
        if chosen is not more and 0 < upright.sureness < LYING_DOWN_SURE:
            tiled = judge(judging_mask(soft, image.shape[:2], chosen))
            tall = image.shape[0] > image.shape[1]  # its tiles run down it
            upright = tiled if tall or marks_more_people(tiled, upright) else upright
        if 0 < upright.sureness < LYING_DOWN_SURE:
            judged[index] = upright
    if not judged:
        return made
    turns = (-1, 1, 2)  # a quarter clockwise, anticlockwise, half a turn (np.rot90's quarter turns)
    turned = [np.ascontiguousarray(np.rot90(images[index], turn)) for index in judged for turn in turns]
    turned_soft = predict_masks(model, turned, flip_tta)
    turned_close_ups = close_ups(model, turned, turned_soft, flip_tta) if close_up else [()] * len(turned)
    turned_looks = iter(zip(turned, turned_soft, turned_close_ups))
    for index, upright in judged.items():
        winners = []
        for turn in turns:
            image, soft, more = next(turned_looks)
            mask = judging_mask(soft, image.shape[:2], more)
            judgement = judge(mask)
            if turned_look_wins(upright, judgement):
                winners.append((judgement.sureness, turn, image, soft, more, mask))
        if winners:
            _, turn, image, soft, more, mask = max(winners, key=lambda winner: winner[0])
            if mask.shape != image.shape[:2]:  # judged scaled down: made at the photo's size now
                mask = photo_mask(soft, image.shape[:2], more)
            made[index] = np.ascontiguousarray(np.rot90(mask, -turn))
    return made


# Sureness is judged on masks at most this many pixels on their longer side:
# the same judgement for the photos it was chosen on (at most 1,422 pixels
# wide), and for a 12-megapixel photo a sixth of the pixels to upsample.
JUDGING_SIDE = 1600


def judging_mask(soft_mask, photo_size, close_ups=()):
    """photo_mask at the photo's size, or scaled down to JUDGING_SIDE on its
    longer side (the close-ups' boxes with it)."""
    scale = min(1.0, JUDGING_SIDE / max(photo_size))
    if scale == 1.0:
        return photo_mask(soft_mask, photo_size, close_ups)
    size = tuple(max(1, round(side * scale)) for side in photo_size)

    def shrink(start, stop, length):  # at least one pixel, inside the mask
        start = min(round(start * scale), length - 1)
        return start, min(length, max(start + 1, round(stop * scale)))

    return photo_mask(soft_mask, size, [((*shrink(top, bottom, size[0]), *shrink(left, right, size[1])), crop_mask)
                                        for (top, bottom, left, right), crop_mask in close_ups])
