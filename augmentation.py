"""The training photos' augmentation: random geometry and colours, low
quality, motion blur, a second person pasted in, a turn on the side, each
applied to a photo and its mask together (make_augmentation, which
data.make_dataset calls on the training split's batches). OpenCV and NumPy
rather than albumentations where that was faster (benchmarks/README.md).
"""

import cv2
import numpy as np

import data


def random_geometry(image, mask, rng, flip_p=0.5, affine_p=0.7, zoom=(0.5, 1.25), shift=0.15, degrees=20):
    """Horizontal flip, then zoom (0.5x out teaches the model small, distant
    people), rotation and shift, as one matrix and one warp per array, the
    mask nearest-neighbour so it stays binary, borders mirrored.

    The same transforms as albumentations' HorizontalFlip + Affine, but one
    warp instead of a flip and a warp and none of their per-call checks: the
    training pipeline delivers 1.2x the photos/s (side by side on the same
    cached photos; see benchmarks/README.md)."""
    height, width = image.shape[:2]
    flip, affine = rng.random() < flip_p, rng.random() < affine_p
    if not affine:
        return (cv2.flip(image, 1), cv2.flip(mask, 1).reshape(mask.shape)) if flip else (image, mask)
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), rng.uniform(-degrees, degrees), rng.uniform(*zoom))
    matrix[:, 2] += rng.uniform(-shift, shift, 2) * (width, height)
    if flip:  # x -> width - 1 - x before the rest
        matrix = matrix @ np.array([[-1, 0, width - 1], [0, 1, 0], [0, 0, 1]], np.float64)
    return warp_pair(image, mask, matrix)


def warp_pair(image, mask, matrix):
    """A photo and its mask moved by one 2x3 affine matrix, sizes kept: the
    photo bilinear, the mask nearest-neighbour so it stays binary, borders
    filled by mirroring."""
    height, width = image.shape[:2]
    warp = lambda array, interpolation: cv2.warpAffine(  # noqa: E731
        array, matrix, (width, height), flags=interpolation, borderMode=cv2.BORDER_REFLECT_101).reshape(array.shape)
    return warp(image, cv2.INTER_LINEAR), warp(mask, cv2.INTER_NEAREST)


# Colours in YIQ: Y is the brightness, (I, Q) the chroma plane, where a hue
# shift is a rotation and a saturation change a scaling; greys stay grey.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)


def random_colour(image, rng, brightness_contrast_p=0.5, brightness=0.25, contrast=0.25,
                  hue_saturation_p=0.3, hue_degrees=20, saturation=0.2):
    """Brightness, contrast, hue and saturation changes as one 3x4 colour
    matrix, applied in one pass (cv2.transform, saturating to uint8).

    The same kind of change as albumentations' RandomBrightnessContrast +
    HueSaturationValue (pixel * contrast + brightness * 255; hue +-20 degrees,
    which is their +-10 in OpenCV's hue units) without the round trip through
    HSV: the whole augmentation costs 0.74x the time per photo
    (benchmarks/README.md)."""
    hue_saturation, brightness_contrast = rng.random() < hue_saturation_p, rng.random() < brightness_contrast_p
    if not (hue_saturation or brightness_contrast):
        return image
    matrix, offset = np.eye(3), 0.0
    if hue_saturation:
        angle = np.deg2rad(rng.uniform(-hue_degrees, hue_degrees))
        scale = rng.uniform(1 - saturation, 1 + saturation)
        cos, sin = scale * np.cos(angle), scale * np.sin(angle)
        matrix = YIQ_TO_RGB @ np.array([[1, 0, 0], [0, cos, -sin], [0, sin, cos]]) @ RGB_TO_YIQ
    if brightness_contrast:
        matrix = matrix * rng.uniform(1 - contrast, 1 + contrast)
        offset = rng.uniform(-brightness, brightness) * 255
    return cv2.transform(image, np.hstack([matrix, np.full((3, 1), offset)])).reshape(image.shape)


def add_grey_noise(image, rng, std=(0.02, 0.08)):
    """Gaussian sensor noise, one grey field for all three channels, its
    standard deviation a random fraction of 255; saturates to uint8.

    Drawn with OpenCV's generator (seeded from `rng`; OpenCV keeps one per
    thread), a third of the time of NumPy's: the function takes a third of the
    time of albumentations' GaussNoise(per_channel=False), the same noise
    (0.26 against 0.83 ms of CPU for a 224x224 photo)."""
    cv2.setRNGSeed(int(rng.integers(2**31)))
    noise = cv2.randn(np.empty(image.shape[:2], np.float32), 0.0, rng.uniform(*std) * 255)
    return cv2.add(image, cv2.cvtColor(noise, cv2.COLOR_GRAY2RGB), dtype=cv2.CV_8U)


def motion_blur(image, length, angle):
    """The photo as a camera sees a person moving during the exposure: each
    pixel the mean of a line of `length` pixels through it at `angle`
    degrees (0: across), borders mirrored."""
    side = max(3, round(length) | 1)  # odd, so that the line is centred on the pixel
    kernel = np.zeros((side, side), np.float32)
    kernel[side // 2] = 1
    kernel = cv2.warpAffine(kernel, cv2.getRotationMatrix2D(((side - 1) / 2, (side - 1) / 2), angle, 1.0), (side, side))
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT_101)


def paste_person(image, mask, person_image, person_mask, height, centre_x, bottom, flip=False):
    """`image` with the person of (person_image, person_mask) pasted in front
    of it: cut out along the mask, mirrored if `flip`, scaled to `height`
    pixels tall with its feet (the bottom of its box) centred at
    (centre_x, bottom); what falls outside the frame is cut off. The mask
    gains the pasted person. Returns new arrays; a person-less source
    changes nothing.

    Several people in one photo: most training photos show one person (the
    street photos' bystanders are even labelled background), so without this
    a model learns to keep one person and drop the others."""
    person = person_mask.reshape(person_mask.shape[:2]) > 0
    x, y, box_width, box_height = data.person_box(person)
    if box_width == 0:
        return image, mask
    box = np.s_[y:y + box_height, x:x + box_width]
    size = (max(1, round(height)), max(1, round(box_width * height / box_height)))
    # Bilinear aliases only past a 2x reduction, and costs a tenth of area
    # averaging. The resampled alpha gives the pasted edge a pixel of
    # softness, like a photo's, not the hard staircase of a binary mask.
    interpolation = cv2.INTER_AREA if height < box_height / 2 else cv2.INTER_LINEAR
    cutout = data.resize(person_image[box], size, interpolation)
    alpha = data.resize(person[box].astype(np.float32), size, interpolation)
    if flip:
        cutout, alpha = cv2.flip(cutout, 1), cv2.flip(alpha, 1)
    top, left = round(bottom) - size[0], round(centre_x - size[1] / 2)
    frame_height, frame_width = image.shape[:2]
    inside = np.s_[max(top, 0):min(top + size[0], frame_height), max(left, 0):min(left + size[1], frame_width)]
    if inside[0].start >= inside[0].stop or inside[1].start >= inside[1].stop:
        return image, mask
    from_cutout = np.s_[inside[0].start - top:inside[0].stop - top, inside[1].start - left:inside[1].stop - left]
    weight = np.ascontiguousarray(alpha[from_cutout])
    image, mask = image.copy(), mask.copy()
    image[inside] = cv2.blendLinear(np.ascontiguousarray(cutout[from_cutout]), np.ascontiguousarray(image[inside]),
                                    weight, 1 - weight).reshape(weight.shape + image.shape[2:])
    mask.reshape(mask.shape[:2])[inside][weight >= 0.5] = 1
    return image, mask


def turn_on_side(image, mask, clockwise):
    """A model input of a portrait photo as the model is given that photo
    turned a quarter (a person lying down): rotated, then squeezed into the
    letterbox band of the turned, landscape photo between grey bars, as
    data.preprocess_image places it. The photo is taken as 3:4, most training
    photos' shape, so the turned one as 4:3: photo_size (3, 4).

    Every training photo shows a person upright: a model trained on them
    scores 0.62 IoU on people lying down, 0.86-0.88 after a fine-tune with
    7-20% of the augmented photos turned, which cost landscape photos
    0.007-0.017 (models/README.md, "People lying down")."""
    size = image.shape[:2]
    turns = 3 if clockwise else 1
    return (data.preprocess_image(np.rot90(image, turns), size, photo_size=(3, 4)),
            data.preprocess_mask(np.rot90(mask.reshape(size), turns), size, photo_size=(3, 4)).reshape(mask.shape))


def make_augmentation(seed=None, low_quality_p=0.2, p=1.0, paste_p=0.0, sideways_p=0.0, motion_blur_p=0.0):
    """augment(image, mask, companion=None) -> new (image, mask): for a share
    `paste_p` of the photos, the person of `companion` (another (image, mask)
    pair) pasted in, then random geometry moving image and mask together,
    random colours, for a share `motion_blur_p` motion blur (1-3% of the
    longer side, any direction), then, for a fifth of the photos, one of three kinds of
    low quality: soft focus, an upscaled small photo, sensor noise; last, for
    a share `sideways_p`, the photo turned on its side (turn_on_side).

    `p` is the share of photos augmented at all; the others pass unchanged."""
    for share, what in ((p, "to augment"), (paste_p, "given a second person"), (sideways_p, "turned on their side"),
                        (motion_blur_p, "blurred by motion")):
        if not 0 <= share <= 1:
            raise ValueError(f"the share of photos {what} must be between 0 and 1, got {share}")
    import albumentations as A

    rng = np.random.default_rng(seed)
    blur, downscale = A.GaussianBlur(blur_limit=(3, 5), p=1), A.Downscale(scale_range=(0.4, 0.8), p=1)
    blur.set_random_seed(seed)
    downscale.set_random_seed(seed)

    def lower_quality(image):
        kind = rng.integers(3)
        return add_grey_noise(image, rng) if kind == 2 else (blur, downscale)[kind](image=image)["image"]

    def paste_companion(image, mask, companion):
        """The companion's person, 30-90% of the frame's height, anywhere
        across it, standing on a line in the lower half, or, when cut off by
        its own photo's bottom edge (a portrait), cut off by this one's too."""
        frame_height, frame_width = mask.shape[:2]
        _, top, _, person_height = data.person_box(companion[1])
        height = rng.uniform(0.3, 0.9) * frame_height
        cut_off = person_height > 0 and top + person_height == companion[1].shape[0]
        bottom = frame_height if cut_off else rng.uniform(max(height, frame_height / 2), frame_height)
        return paste_person(image, mask, *companion, height, rng.uniform(0, frame_width), bottom, rng.random() < 0.5)

    def augment(image, mask, companion=None):
        # No draw at p = 1 or paste_p = 0, so that the defaults leave the random
        # stream, and with it every augmented photo of a seeded run, as it was.
        if p < 1 and rng.random() >= p:
            return image, mask
        if paste_p > 0 and companion is not None and rng.random() < paste_p:
            image, mask = paste_companion(image, mask, companion)
        image, mask = random_geometry(image, mask, rng)
        image = random_colour(image, rng)
        if motion_blur_p > 0 and rng.random() < motion_blur_p:  # (no draw at 0: seeded runs as they were)
            image = motion_blur(image, rng.uniform(0.01, 0.03) * max(image.shape[:2]), rng.uniform(0, 180))
        # Drawn here rather than by albumentations' OneOf(p=0.2): its call costs
        # time even for the four photos in five it leaves alone.
        if rng.random() < low_quality_p:
            image = lower_quality(image)
        # Last, as a real photo is turned: its letterbox's bars come after.
        if sideways_p > 0 and rng.random() < sideways_p:
            image, mask = turn_on_side(image, mask, clockwise=rng.random() < 0.5)
        return image, mask

    return augment
