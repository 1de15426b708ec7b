"""Contact sheets: photos with their masks drawn over them, side by side, for
a person to look at: evaluate.py's worst.png (where a model fails) and
train.py's training_photos.png (what training shows the model). Images to
look at, in RGB; nothing reads them back.
"""

import cv2
import numpy as np

import data

# The errors panel's colours (RGB) for the pixels a prediction got wrong:
# background marked as person, and person missed.
WRONGLY_MARKED = (255, 40, 40)
MISSED = (40, 120, 255)
OUTLINE = (0, 255, 0)  # of the masks of training photos (see outlined)
# OpenCV's plain font, at a size that reads at 100% zoom.
FONT, FONT_SCALE = cv2.FONT_HERSHEY_SIMPLEX, 0.45
LEGEND_LINE_HEIGHT = 18
GAP = 2  # black pixels between a sheet's rows


def overlay(photo, soft):
    """`photo` (RGB) with a mask (soft or {0, 1}, of any size: resized to the
    photo's) drawn over it: the person tinted green, the rest dimmed."""
    tint = data.resize(np.asarray(soft, np.float32).reshape(soft.shape[:2]), photo.shape[:2])[..., None]
    return (photo[..., :3] * (0.35 + 0.65 * tint) * [0.6, 1.0, 0.6] + [0, 90, 0] * tint).clip(0, 255).astype(np.uint8)


def outlined(photo, mask):
    """`photo` (RGB) in its own colours where its {0, 1} `mask` (of its
    size) marks the person and dimmed elsewhere, the mask's outline drawn
    in OUTLINE: the photo's colours stay to be seen, and how the mask fits
    it too."""
    person = np.asarray(mask).reshape(photo.shape[:2]) > 0
    shown = np.where(person[..., None], photo[..., :3], photo[..., :3] // 2)
    outlines, _ = cv2.findContours(person.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return cv2.drawContours(np.ascontiguousarray(shown), outlines, -1, OUTLINE, 1)


def errors(photo, mask, prediction, threshold):
    """An errors panel: `photo` (RGB, at the sheet's size) in dimmed grey,
    with the share of wrongly marked and of missed pixels of the full-size
    {0, 1} `mask` and soft `prediction` (a pixel is marked where it is at
    least `threshold`) under each of its pixels in WRONGLY_MARKED and
    MISSED: a missed arm stands out, an outline a pixel off stays faint."""
    size = photo.shape[:2]
    marked = prediction >= threshold
    wrongly_marked = data.resize((marked & (mask == 0)).astype(np.float32), size)[..., None]
    missed = data.resize((~marked & (mask > 0)).astype(np.float32), size)[..., None]
    grey = 0.5 * cv2.cvtColor(np.ascontiguousarray(photo[..., :3]), cv2.COLOR_RGB2GRAY)[..., None].astype(np.float32)
    panel = (grey * (1 - wrongly_marked - missed) + np.float32(WRONGLY_MARKED) * wrongly_marked
             + np.float32(MISSED) * missed)
    return panel.clip(0, 255).round().astype(np.uint8)


def labelled(tile, text):
    """`tile` with `text` written in its top left corner (a copy)."""
    tile = tile.copy()
    # OpenCV's fonts draw ASCII only, and a name that is not UTF-8 (a surrogate in Python) crashes it.
    cv2.putText(tile, text.encode("ascii", "replace").decode(), (4, 16), FONT, FONT_SCALE, (255, 255, 0), 1)
    return tile


def legend(text, width):
    """A sheet's top, `width` pixels wide: `text`, in as many lines as it takes to fit."""
    lines = [""]
    for word in text.split():
        if lines[-1] and cv2.getTextSize(f"{lines[-1]} {word}", FONT, FONT_SCALE, 1)[0][0] > width - 8:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".strip()
    top = np.zeros((LEGEND_LINE_HEIGHT * len(lines) + GAP, width, 3), np.uint8)
    for number, line in enumerate(lines):
        cv2.putText(top, line, (4, 14 + LEGEND_LINE_HEIGHT * number), FONT, FONT_SCALE, (255, 255, 255), 1)
    return top


def sheet(rows, text):
    """Rows of tiles (each row one image, its tiles of one height) stacked
    under the legend `text`, each row padded to the widest and followed by
    a GAP; None where there are none."""
    rows = [np.hstack(row) for row in rows]
    if not rows:
        return None
    width = max(row.shape[1] for row in rows)
    padded = [cv2.copyMakeBorder(row, 0, GAP, 0, width - row.shape[1], cv2.BORDER_CONSTANT, value=(0, 0, 0))
              for row in rows]
    return np.vstack([legend(text, width), *padded])


def png_bytes(image):
    """An RGB sheet encoded as a PNG file's bytes (written by the caller, as
    Python writes them: OpenCV's imwrite crashes on a folder name that is
    not UTF-8)."""
    return cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
