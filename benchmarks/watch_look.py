"""What one look of `predict.py --watch` costs on a folder of many photos:
listing the photos and their outputs (predict.find_photos, as at each look),
then checking which of them are ready (watching.ready_photos), against the
pathlib listing predict.py used before (Path.iterdir or rglob, each file's
real place looked up, Paths sorted), the two alternating.

    python benchmarks/watch_look.py [--photos 20000] [--folders 1] [--rounds 5]

The photos are empty files named IMG_00001.jpg ... spread over --folders
sub-folders (read with --recursive where there are several): a look reads
names and file states, never pixels. Prints JSON.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import data  # noqa: E402
import image_files  # noqa: E402
import predict  # noqa: E402
import watching  # noqa: E402


def pathlib_listing(folder, output_dir, recursive, suffix=".png"):
    """The (photo, output) jobs as predict.find_photos listed a folder before os.scandir."""
    walk = folder.rglob("*") if recursive else folder.iterdir()
    jobs = []
    for path in sorted(walk):
        relative = path.relative_to(folder)
        if not path.is_file() or data.is_hidden(relative) or output_dir in path.resolve().parents:
            continue
        if path.suffix.lower() in image_files.IMAGE_EXTENSIONS:
            jobs.append((path, output_dir / relative.with_suffix(suffix)))
    return predict.disambiguate(jobs, suffix)


def timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=20000)
    parser.add_argument("--folders", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder, output_dir = Path(scratch) / "incoming", (Path(scratch) / "cutouts").resolve()
        for index in range(args.photos):
            sub = folder / f"card_{index % args.folders:03d}" if args.folders > 1 else folder
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"IMG_{index:05d}.jpg").write_bytes(b"")
        recursive = args.folders > 1
        seconds = {"find_photos": [], "pathlib_listing": [], "ready_photos": []}
        for _ in range(args.rounds):
            took, jobs = timed(lambda: predict.find_photos([folder], output_dir, recursive, report=False))
            seconds["find_photos"].append(took)
            took, before = timed(lambda: pathlib_listing(folder, output_dir, recursive))
            seconds["pathlib_listing"].append(took)
            assert before == jobs, "the two listings differ"
            seen = {photo: watching.file_state(photo) for photo, _ in jobs}
            took, _ = timed(lambda: watching.ready_photos(jobs, seen, dict(seen)))
            seconds["ready_photos"].append(took)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print(json.dumps({
        "photos": args.photos, "folders": args.folders, "rounds": args.rounds,
        "seconds_per_look": {name: [round(value, 3) for value in values] for name, values in seconds.items()},
        "median_seconds": {name: round(value, 3) for name, value in medians.items()},
        "pathlib_over_find_photos": round(medians["pathlib_listing"] / medians["find_photos"], 2),
        "look_seconds": round(medians["find_photos"] + medians["ready_photos"], 3),
        "watch_every_seconds": watching.WATCH_EVERY,
    }, indent=2))


if __name__ == "__main__":
    main()
