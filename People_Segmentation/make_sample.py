"""Generates the synthetic sample dataset in this folder (images/ and masks/).

    python People_Segmentation/make_sample.py [--count 60] [--seed 0]

Each image is a person-like silhouette (head, torso, arms, legs) in random
colours over a random background of gradients and clutter; its mask marks the
silhouette (255) against the background (0). It exists so that `python train.py`
runs out of the box; it is not real data. The tests use the same generator.
"""

import argparse
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent


def random_color(rng):
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def draw_background(rng, height, width):
    """Vertical colour gradient, random rectangles and circles, a little noise."""
    top, bottom = rng.integers(0, 256, (2, 3))
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    image = (top * (1 - ramp) + bottom * ramp).repeat(width, axis=1).astype(np.uint8)
    for _ in range(rng.integers(3, 9)):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(min(height, width) // 10, min(height, width) // 3))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x, y), (x + size, y + size), random_color(rng), -1)
        else:
            cv2.circle(image, (x, y), size // 2, random_color(rng), -1)
    noise = rng.normal(0, 6, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def draw_silhouette(rng, height, width):
    """A filled person shape (uint8 0/255) of random size and position."""
    mask = np.zeros((height, width), np.uint8)
    scale = rng.uniform(0.45, 0.95) * height
    cx = int(rng.uniform(0.3, 0.7) * width)
    top = int(rng.uniform(0.02, 0.25) * height)
    head = max(2, int(0.09 * scale))
    cv2.circle(mask, (cx, top + head), head, 255, -1)
    shoulders, hips = top + 2 * head, top + int(0.55 * scale)
    torso = max(2, int(0.17 * scale))
    cv2.ellipse(mask, (cx, (shoulders + hips) // 2), (torso, (hips - shoulders) // 2 + 1), 0, 0, 360, 255, -1)
    limb = max(1, int(0.05 * scale))
    for side in (-1, 1):
        hand = (cx + side * int(rng.uniform(0.2, 0.4) * scale), shoulders + int(rng.uniform(0.1, 0.45) * scale))
        cv2.line(mask, (cx + side * torso, shoulders + limb), hand, 255, limb)
        foot = (cx + side * int(rng.uniform(0.03, 0.15) * scale), min(height - 1, top + int(scale)))
        cv2.line(mask, (cx + side * torso // 2, hips), foot, 255, int(limb * 1.5))
    return mask


def draw_person(rng, height=256, width=192):
    """(RGB uint8 image, uint8 0/255 mask) of one synthetic person photo."""
    image = draw_background(rng, height, width)
    mask = draw_silhouette(rng, height, width)
    clothes = draw_background(rng, height, width)  # textured, so colour alone does not give the mask away
    person = mask.astype(bool)
    image[person] = (0.5 * clothes[person] + 0.5 * np.array(random_color(rng))).astype(np.uint8)
    return image, mask


def write_sample(folder, count=60, height=256, width=192, seed=0, quality=90):
    """Writes images/sample_NNN.jpg and masks/sample_NNN.png under `folder`."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        image, mask = draw_person(rng, height, width)
        stem = f"sample_{index:03d}"
        cv2.imwrite(str(folder / "images" / f"{stem}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, quality])
        cv2.imwrite(str(folder / "masks" / f"{stem}.png"), mask)
    return folder


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    write_sample(args.out, args.count, seed=args.seed)
    print(f"wrote {args.count} synthetic pairs to {args.out}/images and {args.out}/masks")
