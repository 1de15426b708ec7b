"""predict.py throughput: end to end on a folder of photos, the model alone,
and where the time of one photo goes.

    python benchmarks/predict_speed.py [--images 120] [--model PATH] [--engine auto] [--batch-size 8]
                                       [--engine-rounds 2] [--turned-look-rounds 2] [--tile-look-rounds 2]
                                       [--format-rounds 2] [--photo-side 4032]

Photos: the larger shared photos (eg16_ 600x800, ccp_ 550x830) when ../shared
is present, else generated ones of mixed sizes around 600x800. Model: --model,
else the shipped one, else an untrained mobilenetv2_unet at 224 (same
compute), run by --engine (predict.py's). End to end is timed with several PNG
settings on the same photos, with the model run by Keras and by TensorFlow
Lite (the model alone too), with the cutouts written as PNGs and as WebPs
(--webp; their size too), and on the photos as they are, on 4:3 frames cut
from them and on them turned on their side and upside down, with predict.py's
turned look at unsure photos and with --upright-only, alternating, and on 4:3,
16:9 and group frames with the tiles across wide photos and without; prints
JSON. With --photo-side, the photos of the output formats' part and of the
last two are enlarged to that longer side first (4032: 12-megapixel phone
photos at 4:3 and 3:4), where reading, upsampling and writing weigh more
against the model's passes, and the stages of one photo are timed at that size
as well.
"""

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

import cv2

from photos import benchmark_pairs

import quiet_tensorflow  # noqa: E402  (photos puts the repository on sys.path)

quiet_tensorflow.import_tensorflow()  # before model.py's Keras imports it, with its start-up lines
import compose  # noqa: E402
import data  # noqa: E402
import image_files  # noqa: E402
import evaluate  # noqa: E402
import outputs  # noqa: E402
import predict  # noqa: E402
import segment  # noqa: E402
from model import build_model  # noqa: E402

DEFAULT_PNG_PARAMS = outputs.PNG_PARAMS
LEVEL, FILTER = cv2.IMWRITE_PNG_COMPRESSION, cv2.IMWRITE_PNG_FILTER
PNG_VARIANTS = {
    "png_level_1_filter_up (default)": DEFAULT_PNG_PARAMS,
    "png_level_1_filter_sub": (LEVEL, 1, FILTER, cv2.IMWRITE_PNG_FILTER_SUB),
    "png_level_1_adaptive_filters": (LEVEL, 1),
    "png_level_3_adaptive_filters": (LEVEL, 3),
    "png_level_6_adaptive_filters": (LEVEL, 6),
}


def per_photo_milliseconds(model, photos):
    """Single-threaded cost of each stage, averaged over the photos."""
    size = segment.model_input_size(model)
    stages = {"decode": 0.0, "resize_to_model": 0.0, "model_batch_of_1": 0.0, "upsample": 0.0, "drop_specks": 0.0,
              "compose": 0.0, "png_encode_default_settings": 0.0, "webp_encode": 0.0}
    segment.infer(model, [data.preprocess_image(data.read_image(photos[0]), size)])  # traces a batch of 1 untimed
    for path in photos:
        t0 = time.perf_counter()
        image = data.read_image(path)
        t1 = time.perf_counter()
        model_input = data.preprocess_image(image, size)
        t2 = time.perf_counter()
        soft = segment.infer(model, [model_input])[0]
        t3 = time.perf_counter()
        mask = segment.photo_mask(soft, image.shape[:2])
        t4 = time.perf_counter()
        mask = segment.without_specks(mask)
        t5 = time.perf_counter()
        pixels = compose.compose(image, compose.alpha_from_mask(mask))
        t6 = time.perf_counter()
        cv2.imencode(".png", pixels, list(DEFAULT_PNG_PARAMS))
        t7 = time.perf_counter()
        outputs.webp_encoded(pixels)
        t8 = time.perf_counter()
        for stage, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6, t8 - t7)):
            stages[stage] += seconds
    return {stage: round(1000 * seconds / len(photos), 2) for stage, seconds in stages.items()}


def model_only_rate(model, photos, batch_size):
    size = segment.model_input_size(model)
    inputs = [data.preprocess_image(data.read_image(p), size) for p in photos]
    segment.infer(model, inputs[:batch_size])  # warm-up (tracing)
    started = time.perf_counter()
    for start in range(0, len(inputs) - batch_size + 1, batch_size):
        segment.infer(model, inputs[start:start + batch_size])
    return (len(inputs) // batch_size * batch_size) / (time.perf_counter() - started)


def photo_folders(pairs, scratch, shapes, side=None):
    """{shape: a folder of the photos as JPEGs at quality 90}, each shape an
    evaluate.py perturbation or "as_they_are", enlarged to `side` pixels on
    their longer side unless that is None; a folder already in `scratch`
    (the turned and the tile looks both time 4:3 frames) is not written again."""
    folders = {}
    for shape in shapes:
        folder = folders[shape] = Path(scratch) / shape
        if folder.exists():
            continue
        folder.mkdir()
        for image_path, mask_path in pairs:
            image = data.read_image(image_path)
            if shape != "as_they_are":
                image, _ = evaluate.PERTURBATIONS[shape](image, image_files.read_mask(mask_path))
            if side:
                scale = side / max(image.shape[:2])
                size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
                image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(folder / f"{image_path.stem}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 90])
    return folders


@contextlib.contextmanager
def without_tiles():
    """predict.py with no tiles across wide photos (its close-ups stay), to time what they cost."""
    tile_boxes = segment.tile_boxes
    segment.tile_boxes = lambda photo_size: []
    try:
        yield
    finally:
        segment.tile_boxes = tile_boxes


def alternating_rates(model, folders, scratch, batch_size, rounds, variants):
    """{shape: {variant: [end-to-end images/s of each round]}}, the variants'
    runs alternating so that a slow spell of the machine costs each alike,
    their outputs in scratch/<shape>-<variant>-<round>. `variants`: {name:
    (remove_background_files keyword arguments, context)}."""
    rates = {}
    for shape, folder in folders.items():
        for attempt in range(rounds):
            for name, (options, context) in variants.items():
                with context():
                    summary = predict.remove_background_files(folder, Path(scratch) / f"{shape}-{name}-{attempt}",
                                                              model=model, batch_size=batch_size, **options)
                rates.setdefault(shape, {}).setdefault(name, []).append(round(summary.images_per_second, 2))
    return rates


def engine_rates(model_path, photo_dir, scratch, batch_size, rounds):
    """End-to-end images/s on the photos with the model run by Keras and by
    TensorFlow Lite, alternating, and the model alone by each; none where
    `rounds` is 0."""
    if not rounds:
        return {}
    models = {engine: predict.load_model(model_path, engine) for engine in ("keras", "tflite")}
    photos = sorted(photo_dir.iterdir())
    rates = {engine: {"model_only_images_per_s": round(model_only_rate(model, photos, batch_size), 2),
                      "end_to_end_images_per_s": []} for engine, model in models.items()}
    for attempt in range(rounds):
        for engine, model in models.items():
            summary = predict.remove_background_files(photo_dir, Path(scratch) / f"engine-{engine}-{attempt}",
                                                      model=model, batch_size=batch_size)
            rates[engine]["end_to_end_images_per_s"].append(round(summary.images_per_second, 2))
    return rates


def output_megabytes(folder):
    return round(sum(path.stat().st_size for path in Path(folder).iterdir()) / 1e6, 1)


def output_format_rates(model, pairs, scratch, batch_size, rounds, side=None):
    """End-to-end images/s and the outputs' megabytes with the cutouts written
    as PNGs and as WebPs, alternating, on the photos (enlarged to `side`
    unless that is None); none where `rounds` is 0."""
    if not rounds:
        return {}
    folders = photo_folders(pairs, scratch, ("as_they_are",), side)
    formats = {"png (default)": ({}, contextlib.nullcontext), "webp": ({"webp": True}, contextlib.nullcontext)}
    rates = alternating_rates(model, folders, scratch, batch_size, rounds, formats)["as_they_are"]
    return {name: {"images_per_s": rates[name], "output_mb": output_megabytes(Path(scratch) / f"as_they_are-{name}-0")}
            for name in formats}


def turned_look_rates(model, pairs, scratch, batch_size, rounds, side=None):
    """End-to-end images/s with the turned look and without (upright_only) on
    the photos as they are and on 4:3 frames cut from them (upright people:
    the turned look runs only where the mask is unsure), and on the photos
    turned on their side and upside down; none where `rounds` is 0."""
    if not rounds:
        return {}
    folders = photo_folders(pairs, scratch, ("as_they_are", "landscape", "on_side", "upside_down"), side)
    return alternating_rates(model, folders, scratch, batch_size, rounds,
                             {"turned_look (default)": ({}, contextlib.nullcontext),
                              "upright_only": ({"upright_only": True}, contextlib.nullcontext)})


def tile_look_rates(model, pairs, scratch, batch_size, rounds, side=None):
    """End-to-end images/s with the tiles across wide photos and without, on
    4:3 and 16:9 frames cut from the photos and on group photos made from them
    (three people in a 16:9 frame); none where `rounds` is 0."""
    if not rounds:
        return {}
    folders = photo_folders(pairs, scratch, ("landscape", "widescreen", "group"), side)
    return alternating_rates(model, folders, scratch, batch_size, rounds,
                             {"tiles (default)": ({}, contextlib.nullcontext), "no_tiles": ({}, without_tiles)})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=120)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--engine", choices=predict.ENGINES, default="auto",
                        help="how the model runs in every part but the engines' (predict.py --engine)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--engine-rounds", type=int, default=2,
                        help="runs with the model run by Keras and by TensorFlow Lite, end to end (0: none)")
    parser.add_argument("--turned-look-rounds", type=int, default=2,
                        help="runs with and without the turned look on each kind of photo (0: none)")
    parser.add_argument("--tile-look-rounds", type=int, default=2,
                        help="runs with and without the tiles across wide photos on each kind of photo (0: none)")
    parser.add_argument("--format-rounds", type=int, default=2,
                        help="runs with the cutouts written as PNGs and as WebPs, end to end (0: none)")
    parser.add_argument("--photo-side", type=int, default=None,
                        help="enlarge the photos of the output-format, turned-look and tile-look parts to this "
                        "longer side (4032: 12-megapixel phone photos), and time each stage of a photo at that size too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.model or predict.DEFAULT_MODEL.exists():
            model_path = args.model or predict.DEFAULT_MODEL
            model_name = str(model_path)
        else:
            model_path, model_name = Path(scratch) / "untrained.keras", "untrained mobilenetv2_unet 224x224"
            build_model("mobilenetv2_unet", (224, 224)).save(model_path)
        model = predict.load_model(model_path, args.engine)
        pairs, source = benchmark_pairs(args.images, scratch, prefixes=("eg16_", "ccp_"))
        photo_dir = Path(scratch) / "photos"
        photo_dir.mkdir()
        for image, _ in pairs:
            (photo_dir / image.name).symlink_to(image.resolve())
        photos = sorted(photo_dir.iterdir())
        sizes = [data.read_image(p).shape[:2] for p in photos[:20]]
        predict.remove_background_files(photo_dir, Path(scratch) / "warm-up", model=model,
                                        batch_size=args.batch_size)  # tracing for full and last batches
        end_to_end = {}
        for name, png_params in PNG_VARIANTS.items():
            outputs.PNG_PARAMS = png_params
            out = Path(scratch) / name
            summary = predict.remove_background_files(photo_dir, out, model=model, batch_size=args.batch_size)
            end_to_end[name] = {"images_per_s": round(summary.images_per_second, 2),
                                "output_mb": output_megabytes(out), "failed": len(summary.failed)}
        outputs.PNG_PARAMS = DEFAULT_PNG_PARAMS
        result = {
            "benchmark": "predict", "model": model_name, "engine": predict.engine_of(model),
            "photos": len(photos), "source": source,
            "typical_sizes": sorted({f"{w}x{h}" for h, w in sizes}), "batch_size": args.batch_size,
            "end_to_end": end_to_end,
            "model_only_images_per_s": round(model_only_rate(model, photos, args.batch_size), 2),
            "single_thread_ms_per_photo": per_photo_milliseconds(model, photos[:30]),
            "engines": engine_rates(model_path, photo_dir, scratch, args.batch_size, args.engine_rounds),
        }
        if args.photo_side:
            enlarged = photo_folders(pairs, scratch, ("as_they_are",), args.photo_side)["as_they_are"]
            result["single_thread_ms_per_photo_at_photo_side"] = per_photo_milliseconds(
                model, sorted(enlarged.iterdir())[:30])
        result |= {
            "look_photo_side": args.photo_side or "as they are",
            "output_format_end_to_end": output_format_rates(model, pairs, scratch, args.batch_size,
                                                            args.format_rounds, args.photo_side),
            "turned_look_end_to_end_images_per_s": turned_look_rates(model, pairs, scratch, args.batch_size,
                                                                     args.turned_look_rounds, args.photo_side),
            "tile_look_end_to_end_images_per_s": tile_look_rates(model, pairs, scratch, args.batch_size,
                                                                 args.tile_look_rounds, args.photo_side),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
