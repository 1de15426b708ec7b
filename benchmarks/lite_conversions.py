"""What converting a model to TensorFlow Lite for a phone costs and gains:
the shipped model (or --model) converted four ways, each file's size, the
model alone's speed through TensorFlow Lite on this CPU, predict.py's speed
end to end with it (`predict.py --model X.tflite`), and, where the shared
photos are there, its scores on the test split through evaluate.py (as
`evaluate.py --model X.tflite` gives them).

    python benchmarks/lite_conversions.py [--model PATH] [--photos 64] [--rounds 3] [--calibration 200]
                                          [--keep DIR] [--no-scores]

The conversions: float32 (what predict.py makes and runs on a CPU), dynamic
range (weights at 8 bits), float16 weights, and int8 through and through
(pixels in and masks out as 8-bit integers too, calibrated on --calibration
photos of the training split, or of the benchmark photos where there is no
split list). The model alone is timed a photo at a time, as TensorFlow Lite
runs it, on --photos photos (see photos.py), and predict.py end to end on
those photos (PNG cutouts, every look as by default), the four alternating
over --rounds each. --keep DIR keeps the .tflite files. Prints JSON.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from photos import REPO_DIR, SHARED_DATA, benchmark_pairs

import quiet_tensorflow  # noqa: E402  (photos puts the repository on sys.path)

quiet_tensorflow.import_tensorflow()  # before model.py's Keras imports it, with its start-up lines

import data  # noqa: E402
import evaluate  # noqa: E402
import lite  # noqa: E402
import predict  # noqa: E402
from model import load_trained_model  # noqa: E402

SPLITS = REPO_DIR / "models" / "splits"


def model_inputs(paths, size):
    return [data.preprocess_image(data.read_image(path), size).astype(np.float32) for path in paths]


def calibration_photos(count, scratch):
    """Photos to calibrate the int8 conversion on: the training split's where there is one, never the test split's."""
    if SHARED_DATA.is_dir() and (SPLITS / "train.txt").is_file():
        stems = data.read_stems(SPLITS / "train.txt")
        by_stem = {path.stem: path for path in (SHARED_DATA / "images").iterdir()}
        chosen = [by_stem[stem] for stem in stems if stem in by_stem]
        return chosen[:: max(1, len(chosen) // count)][:count], "training split"
    pairs, source = benchmark_pairs(count, scratch)
    return [image for image, _ in pairs], source


def seconds_a_photo(converted, inputs):
    converted.predict_on_batch(np.stack(inputs[:1]))  # warm-up
    started = time.perf_counter()
    for image in inputs:
        converted.predict_on_batch(image[None])
    return (time.perf_counter() - started) / len(inputs)


def end_to_end_rate(converted, photo_dir, out_dir):
    """predict.py's images/s on the photos of `photo_dir`, cut out with `converted` into `out_dir`."""
    return predict.remove_background_files([photo_dir], out_dir, model=converted, overwrite=True).images_per_second


def test_scores(path):
    """Mean IoU and the rest on the test split, as evaluate.py scores them, or None without the shared photos."""
    if not (SHARED_DATA.is_dir() and (SPLITS / "test.txt").is_file()):
        return None
    pairs = data.read_split_list(SPLITS / "test.txt", SHARED_DATA / "images", SHARED_DATA / "masks")
    with tempfile.TemporaryDirectory() as out_dir:
        metrics = evaluate.evaluate(path, pairs, out_dir)
    return {name: round(metrics[name], 4) for name in ("iou", "dice", "boundary_iou", "mae")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=predict.DEFAULT_MODEL)
    parser.add_argument("--photos", type=int, default=64, help="photos the model alone is timed on")
    parser.add_argument("--rounds", type=int, default=3, help="timings of each conversion, the four alternating")
    parser.add_argument("--calibration", type=int, default=200, help="photos the int8 conversion is calibrated on")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="keep the .tflite files in DIR")
    parser.add_argument("--no-scores", action="store_true", help="skip the test split's scores")
    args = parser.parse_args()
    model = load_trained_model(args.model)
    size = tuple(model.input.shape[1:3])
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        calibration, calibration_source = calibration_photos(args.calibration, scratch)
        calibration_inputs = model_inputs(calibration, size)
        files = {}
        for conversion in lite.CONVERSIONS:
            started = time.perf_counter()
            content = lite.converted(model, conversion, calibration_inputs if conversion == "int8" else ())
            files[conversion] = folder / f"{args.model.stem}.{conversion}.tflite"
            files[conversion].write_bytes(content)
            print(f"{conversion}: {len(content) / 1e6:.1f} MB, converted in {time.perf_counter() - started:.0f} s",
                  flush=True)
        pairs, source = benchmark_pairs(args.photos, scratch)
        inputs = model_inputs([image for image, _ in pairs], size)
        photo_dir = Path(scratch) / "photos"
        photo_dir.mkdir()
        for image, _ in pairs:
            (photo_dir / image.name).symlink_to(image.resolve())
        lites = {conversion: predict.load_model(path) for conversion, path in files.items()}
        seconds = {conversion: [] for conversion in lite.CONVERSIONS}
        end_to_end = {conversion: [] for conversion in lite.CONVERSIONS}
        for _ in range(args.rounds):
            for conversion, converted in lites.items():
                seconds[conversion].append(seconds_a_photo(converted, inputs))
                end_to_end[conversion].append(
                    round(end_to_end_rate(converted, photo_dir, Path(scratch) / f"cutouts-{conversion}"), 1))
        result = {
            "benchmark": "lite_conversions", "model": str(args.model), "photos": len(inputs), "source": source,
            "calibration": f"{len(calibration)} photos, {calibration_source}", "threads": predict.usable_cpus(),
            "conversions": {},
        }
        for conversion, path in files.items():
            rates = [round(1 / taken, 1) for taken in seconds[conversion]]
            result["conversions"][conversion] = {
                "megabytes": round(path.stat().st_size / 1e6, 2),
                "model_alone_images_per_s": rates,
                "speed_over_float32": round(float(np.median(seconds["float32"]) / np.median(seconds[conversion])), 2),
                "end_to_end_images_per_s": end_to_end[conversion],
                "test_scores": None if args.no_scores else test_scores(path),
            }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
