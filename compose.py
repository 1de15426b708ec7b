"""What is written for a photo, given its person mask: the RGBA cutout, the
grey mask, or the person over a background (a colour, another photo, or the
photo's own background blurred), cut to the people (--crop) or fitted onto
a canvas of one size (--canvas). Pixels in, pixels out: predict.py reads
the photos, parses the settings and writes the files.
"""

import io
import logging
from functools import lru_cache

import cv2
import numpy as np

import data
import image_files

log = logging.getLogger("predict")  # its warning is predict.py's, about the --background it was given


# --background blur: the photo's own background, blurred, as a phone's
# portrait mode does; the blur's sigma is this share of the photo's longer side.
BLUR = "blur"
BLUR_SIGMA = 0.015


def blurred_background(image, alpha):
    """The photo blurred with the person left out of the average (a
    normalised convolution), so that the person's colours do not bleed
    into the background around them as a halo. Computed at a size where
    the blur's sigma is a few pixels, then enlarged: a 12-megapixel photo
    costs about what a small one does."""
    sigma = BLUR_SIGMA * max(image.shape[:2])
    scale = min(1.0, 4.0 / sigma)
    size = tuple(max(1, round(side * scale)) for side in image.shape[:2])
    background = 1.0 - data.resize(alpha, size).astype(np.float32) / np.iinfo(alpha.dtype).max
    blurred = cv2.GaussianBlur(data.resize(image, size).astype(np.float32) * background[..., None], (0, 0), sigma * scale)
    weight = cv2.GaussianBlur(background, (0, 0), sigma * scale)
    return data.resize(blurred / np.maximum(weight, 1e-3)[..., None], image.shape[:2])


def cover(image, size):
    """Scales and centre-crops `image` to fill size=(height, width)."""
    height, width = size
    scale = max(height / image.shape[0], width / image.shape[1])
    resized = data.resize(image, (max(height, round(image.shape[0] * scale)), max(width, round(image.shape[1] * scale))))
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return resized[top:top + height, left:left + width]


# A --background colour or photo has colours of its own: a colour given by
# name, #rrggbb, #rgb or r,g,b is sRGB, as on the web, and a photo's values are in
# its colour profile, sRGB without one. The composite keeps its photo's
# profile (see metadata.colour_profile), so the background is converted into that:
# the values of an sRGB background shown through an iPhone portrait's Display
# P3 profile would look oversaturated. White and black stay as they are. A
# background photo is converted once per profile met (1.1 s at 12 megapixels).

class Backdrop:
    """A --background colour (an RGB tuple) or photo (an RGB array) and the
    ICC profile its values are in (None: sRGB), converted into each photo's
    profile once (in_profile)."""

    def __init__(self, pixels, profile=None):
        self.pixels, self.profile, self.converted = pixels, profile, {}

    def in_profile(self, profile):
        """The pixels in the colours of ICC `profile` (None: sRGB)."""
        if profile == self.profile:
            return self.pixels
        if profile not in self.converted:  # (two writer threads may both convert it: the same result)
            self.converted[profile] = converted_colours(self.pixels, self.profile, profile)
        return self.converted[profile]


def converted_colours(pixels, source, target):
    """RGB `pixels` (a uint8 or uint16 array, or a colour tuple) from ICC
    profile `source` into `target` (None: sRGB), relative colorimetric, by
    LittleCMS, as uint8 (Pillow gives it 8-bit RGB only: a 16-bit background
    keeps its 16 bits behind photos in its own profile alone); as they are,
    with a warning, where it cannot read either profile."""
    from PIL import Image, ImageCms

    try:
        transform = colour_transform(source, target)
    except (ImageCms.PyCMSError, OSError) as error:
        log.warning("background colours left as they are: a colour profile cannot be read (%s)", error)
        return pixels
    array = image_files.eight_bits(pixels) if isinstance(pixels, np.ndarray) else np.asarray(pixels, np.uint8)
    converted = np.asarray(ImageCms.applyTransform(Image.fromarray(array.reshape(-1, 1, 3)), transform))
    return converted.reshape(array.shape) if array.ndim == 3 else tuple(int(value) for value in converted.ravel())


@lru_cache(maxsize=8)
def colour_transform(source, target):
    """A LittleCMS transform between two ICC profiles (bytes; None: sRGB),
    without its one-pixel cache, so that threads may share it."""
    from PIL import ImageCms

    def profile(icc):
        return ImageCms.ImageCmsProfile(io.BytesIO(icc)) if icc else ImageCms.createProfile("sRGB")

    return ImageCms.buildTransform(profile(source), profile(target), "RGB", "RGB",
                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, flags=ImageCms.Flags.NOCACHE)


def in_profile(background, profile):
    """What compose takes for `background` (see predict.background_of) on
    a photo whose values are in ICC `profile` (None: sRGB)."""
    return background.in_profile(profile) if isinstance(background, Backdrop) else background


def alpha_from_mask(mask, threshold=None, dtype=np.uint8):
    """Photo-size soft mask (see segment.photo_mask) -> alpha of `dtype`
    (uint8, or uint16 for a 16-bit output); soft edges, or a hard mask (0
    and the dtype's full value) with `threshold`."""
    full = np.iinfo(dtype).max
    if threshold is not None:
        return np.where(mask >= threshold, full, 0).astype(dtype)
    if dtype != np.uint8:
        return np.round(mask * np.float32(full)).astype(dtype)
    # np.round(mask * 255).astype(np.uint8) to the bit (every float32 in [0, 1]
    # checked), in one pass: 6 against 42 ms for a 12-megapixel mask.
    return cv2.convertScaleAbs(mask, alpha=255)


def compose(image, alpha, background=None, mask_only=False):
    """The output pixels: grey mask, RGBA cutout, or the person over a background
    (a colour, a photo, or BLUR: the photo's own, blurred). `image` and
    `alpha` are both uint8, or both uint16 (a 16-bit photo's output), which
    a background colour or photo of another depth is brought to."""
    if mask_only:
        return alpha
    if background is None:
        # Fully transparent pixels carry no colour (as in most cutout tools):
        # nothing visible changes, and the PNG encodes faster and smaller.
        # (OpenCV here: np.dstack took 7x as long.)
        opaque_at_all = alpha if alpha.dtype == np.uint8 else (alpha > 0).view(np.uint8)
        rgba = cv2.cvtColor(cv2.bitwise_and(image, image, mask=opaque_at_all), cv2.COLOR_RGB2RGBA)
        rgba[..., 3] = alpha
        return rgba
    full = np.iinfo(image.dtype).max
    if isinstance(background, str) and background == BLUR:
        backdrop = blurred_background(image, alpha)
    elif isinstance(background, np.ndarray):  # uint8 or uint16
        backdrop = cover(background, image.shape[:2]).astype(np.float32) * (full / np.iinfo(background.dtype).max)
    else:
        backdrop = np.array(background, np.float32) * (full / 255)
    weight = alpha[..., None].astype(np.float32) / full
    return np.round(image * weight + backdrop * (1.0 - weight)).astype(image.dtype)


# --crop: outputs cut to the people, with room around them of this share of
# their box's longer side, for the soft edge beyond the half-opaque pixels
# (60 validation cutouts: with 2%, a median of 5 pixels at least 10% opaque
# fall outside, 140 with none; chosen by a one-off script).
CROP_MARGIN = 0.02


def crop_to_people(pixels, alpha, margin=CROP_MARGIN):
    """An output's `pixels` cut to the people's box (see people_box); as they
    are where nobody is."""
    top, bottom, left, right = people_box(alpha, margin)
    return pixels[top:bottom, left:right]


def people_box(alpha, margin=CROP_MARGIN):
    """(top, bottom, left, right) of the box around the people that `alpha`
    shows (at least half opaque) with `margin` of the box's longer side all
    round, within the photo; the whole photo where nobody is."""
    x, y, width, height = data.person_box(alpha > np.iinfo(alpha.dtype).max // 2)  # 128 of 255, 32768 of 65535
    if not width:
        return 0, alpha.shape[0], 0, alpha.shape[1]
    room = round(margin * max(width, height))
    return (max(0, y - room), min(alpha.shape[0], y + height + room),
            max(0, x - room), min(alpha.shape[1], x + width + room))


# --canvas: outputs of one size (a shop's product frames, a team's headshots,
# a photo booth's prints), the people's box (as --crop cuts it) scaled to fit
# and centred; a side of the box that is the photo's edge (a portrait cut at
# the chest, feet cut off) stays at the canvas's edge, rather than float.

def on_canvas(image, alpha, canvas, margin=CROP_MARGIN):
    """The photo's RGB `image` and `alpha` (uint8) as a `canvas`=(width,
    height) image and its alpha: the people's box (see people_box), scaled
    to fit the canvas, centred but for a side of the box that is the
    photo's edge, which lies on the canvas's edge; the rest of the canvas
    black and transparent."""
    width, height = canvas
    top, bottom, left, right = people_box(alpha, margin)
    scale = min(width / (right - left), height / (bottom - top))
    size = (min(height, max(1, round((bottom - top) * scale))), min(width, max(1, round((right - left) * scale))))

    def place(start, stop, length, room):  # where the scaled box begins along one side of the canvas
        if start == 0 and stop < length:
            return 0
        if stop == length and start > 0:
            return room
        return room // 2

    at_row = place(top, bottom, alpha.shape[0], height - size[0])
    at_column = place(left, right, alpha.shape[1], width - size[1])
    placed = np.s_[at_row:at_row + size[0], at_column:at_column + size[1]]
    placed_image, placed_alpha = np.zeros((height, width, 3), image.dtype), np.zeros((height, width), alpha.dtype)
    placed_image[placed] = data.resize(image[top:bottom, left:right], size)
    placed_alpha[placed] = data.resize(alpha[top:bottom, left:right], size)
    return placed_image, placed_alpha


def output_pixels(image, mask, threshold=None, background=None, mask_only=False, crop_margin=None, canvas=None):
    """What is written for a photo given its photo-size soft mask: compose's
    output, cut to the people with `crop_margin` unless that is None, or
    with `canvas`=(width, height) the people, with `crop_margin` around
    them, on a canvas of that size (see on_canvas), composed there. A
    uint16 `image` (a 16-bit photo's) gets a 16-bit output."""
    alpha = alpha_from_mask(mask, threshold, image.dtype)
    if canvas:
        return compose(*on_canvas(image, alpha, canvas, crop_margin), background, mask_only)
    pixels = compose(image, alpha, background, mask_only)
    return pixels if crop_margin is None else crop_to_people(pixels, alpha, crop_margin)
