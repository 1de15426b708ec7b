import csv
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import data
import image_files
import evaluate
import predict
import scores
import segment
import sheets
from conftest import (NOT_UTF8, REPO_DIR, FailsOnGreen, SureOfUprightRed, Terminal, lying_person, person_with_a_speck,
                      rename_pair, write_sample)
from model import build_model


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(1)
    return build_model("unet", (32, 32), base_filters=4, depth=2)


@pytest.fixture(scope="module")
def tiny_model_path(tiny_model, tmp_path_factory):
    # One file for the module: predict.py converts it for TensorFlow Lite once.
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_model.save(path)
    return path


@pytest.fixture
def dataset(tmp_path):
    # Two sources, told apart by stem prefix, at two photo sizes.
    folder = write_sample(tmp_path / "data", count=5, height=80, width=60, seed=2)
    for path in folder.rglob("sample_*"):
        path.rename(path.with_name("a_" + path.name))
    write_sample(tmp_path / "other", count=3, height=50, width=70, seed=3)
    for path in (tmp_path / "other").rglob("sample_*"):
        path.rename(folder / path.parent.name / ("b_" + path.name))
    return folder


def test_scores_are_the_numpy_metrics_at_original_resolution(tiny_model, dataset, tmp_path):
    pairs = data.find_pairs(dataset / "images", dataset / "masks")
    results = evaluate.evaluate(tiny_model, pairs, tmp_path / "out", batch_size=3)

    reference = []
    for image_path, mask_path in pairs:
        image, truth = data.read_image(image_path), image_files.read_mask(mask_path)
        soft = segment.predict_photo_masks(tiny_model, [image])[0]  # as predict.py makes it
        assert soft.shape == truth.shape  # original resolution
        reference.append({"iou": scores.iou(truth, soft), "dice": scores.dice(truth, soft),
                          "precision": scores.precision(truth, soft), "recall": scores.recall(truth, soft),
                          "boundary_iou": scores.boundary_iou(truth, soft),
                          "mae": scores.mean_absolute_error(truth, soft), "source": image_path.stem[0],
                          "sureness": segment.judge(soft).sureness,
                          "sweep": [scores.iou(truth, soft, threshold) for threshold in evaluate.THRESHOLD_SWEEP]})
    assert results["images"] == 8
    for name in evaluate.SCORES:
        assert results[name] == pytest.approx(np.mean([r[name] for r in reference]), abs=1e-6)
        assert results["by_source"]["b"][name] == pytest.approx(
            np.mean([r[name] for r in reference if r["source"] == "b"]), abs=1e-6)
    assert results["by_source"]["a"]["images"] == 5 and results["by_source"]["b"]["images"] == 3
    swept = np.mean([r["sweep"] for r in reference], axis=0)
    assert list(results["iou_by_threshold"].values()) == pytest.approx(swept, abs=1e-6)
    assert results["iou_by_threshold"]["0.50"] == pytest.approx(results["iou"])
    assert len(set(np.round(swept, 6))) > 1  # the thresholds do cut the soft masks differently
    assert list(results["by_source"]["a"]["iou_by_threshold"].values()) == pytest.approx(
        np.mean([r["sweep"] for r in reference if r["source"] == "a"], axis=0), abs=1e-6)
    low, high = results["iou_interval_95"]
    assert min(r["iou"] for r in reference) <= low <= results["iou"] <= high <= max(r["iou"] for r in reference)
    ious = np.array([r["iou"] for r in reference])
    assert results["iou_median"] == pytest.approx(np.median(ious), abs=1e-6)
    assert results["images_below"] == {f"{level:.2f}": int((ious < level).sum()) for level in evaluate.FAILURE_LEVELS}
    assert results["by_source"]["a"]["iou_median"] == pytest.approx(np.median(ious[:5]), abs=1e-6)

    written = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert written["iou"] == pytest.approx(results["iou"])
    with (tmp_path / "out" / "per_image.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [row["stem"] for row in rows] == [image.stem for image, _ in pairs]
    assert float(rows[0]["iou"]) == pytest.approx(reference[0]["iou"], abs=1e-6)
    assert [float(row["sureness"]) for row in rows] == pytest.approx([r["sureness"] for r in reference], abs=1e-6)
    assert written["sureness_check"]["least_sure_checked"] == 1  # a tenth of 8 photos, at least one
    sheet = cv2.imread(str(tmp_path / "out" / "worst.png"))
    legend = sheets.legend(evaluate.SHEET_LEGEND, sheet.shape[1])
    assert sheet.shape[0] == len(legend) + 8 * (200 + 2)  # one row per image (fewer than 16 here)
    np.testing.assert_array_equal(sheet[:len(legend)], legend)


def test_the_contact_sheet_colours_what_was_marked_wrongly_red_and_the_person_missed_blue_by_their_share():
    image = np.full((100, 80, 3), 128, np.uint8)
    mask = np.zeros((100, 80), np.uint8)
    mask[:, :40] = 1  # the person: the left half
    prediction = np.zeros((100, 80), np.float32)
    prediction[:, 20:60] = 0.9  # a quarter of the person missed, as much background marked
    sheet = evaluate.contact_sheet([(0.33, "a", image, mask, prediction)], height=100)
    top = len(sheets.legend(evaluate.SHEET_LEGEND, 4 * 80))  # the lines that say which colour is which
    assert sheet.shape == (top + 100 + 2, 4 * 80, 3)
    panel = sheet[top:top + 100, 3 * 80:]
    assert (panel[:, :20] == sheets.MISSED).all()
    assert (panel[:, 40:60] == sheets.WRONGLY_MARKED).all()
    assert (panel[:, 20:40] == 64).all() and (panel[:, 60:] == 64).all()  # right: the photo, grey and dimmed

    # Scored at another threshold, the errors are those at that threshold.
    strict = evaluate.contact_sheet([(0.0, "a", image, mask, prediction)], height=100, threshold=0.95)
    panel = strict[top:top + 100, 3 * 80:]
    assert (panel[:, :40] == sheets.MISSED).all() and (panel[:, 40:] == 64).all()

    # Shrunk to the sheet, each of its pixels is coloured by the share of the photo's pixels under it that are wrong:
    # one column in two missed is half the colour.
    prediction = np.zeros((100, 80), np.float32)
    prediction[:, 0:40:2] = 0.9
    half = evaluate.contact_sheet([(0.5, "a", image, mask, prediction)], height=50)
    panel = half[len(sheets.legend(evaluate.SHEET_LEGEND, 4 * 40)):][:50, 3 * 40:]
    np.testing.assert_allclose(panel[:, :20], np.broadcast_to(0.5 * 64 + 0.5 * np.array(sheets.MISSED), (50, 20, 3)),
                               atol=1)
    assert (panel[:, 20:] == 64).all()

    # The legend takes as many lines as the sheet's width needs, each within it.
    wide, narrow = sheets.legend(evaluate.SHEET_LEGEND, 1200), sheets.legend(evaluate.SHEET_LEGEND, 4 * 40)
    assert len(wide) == sheets.LEGEND_LINE_HEIGHT + sheets.GAP and wide.max() == 255
    assert len(narrow) > 3 * sheets.LEGEND_LINE_HEIGHT and narrow.max() == 255 and narrow[:, -3:].max() == 0


def test_the_mean_iou_interval_is_the_bootstrap_percentile_interval_over_photos():
    scores = np.random.default_rng(0).normal(0.96, 0.04, 400)
    low, high = evaluate.mean_interval(scores)
    # For a mean of independent photos, the normal approximation: mean +- 1.96 sd / sqrt(n).
    half_width = 1.96 * scores.std() / np.sqrt(len(scores))
    assert low == pytest.approx(scores.mean() - half_width, abs=0.1 * half_width)
    assert high == pytest.approx(scores.mean() + half_width, abs=0.1 * half_width)
    assert evaluate.mean_interval(scores) == [low, high]  # seeded: the same scores, the same interval
    narrower = evaluate.mean_interval(scores, confidence=0.5)
    assert low < narrower[0] < narrower[1] < high
    assert evaluate.mean_interval([0.9] * 10) == pytest.approx([0.9, 0.9])
    assert evaluate.mean_interval([0.7]) == pytest.approx([0.7, 0.7])


def test_the_median_and_the_photos_below_each_level_show_how_often_a_mask_fails():
    spread = evaluate.iou_spread([0.99, 0.97, 0.95, 0.85, 0.4])
    assert spread == {"iou_median": 0.95, "images_below": {"0.90": 2, "0.80": 1, "0.50": 1}}
    assert evaluate.iou_spread([0.9, 0.8])["images_below"] == {"0.90": 1, "0.80": 0, "0.50": 0}  # strictly below
    assert evaluate.iou_spread([0.2, 0.4])["iou_median"] == pytest.approx(0.3)


def test_the_sureness_check_counts_the_low_scores_among_the_least_sure_photos():
    # Ten photos: the two least sure scored 0.7 and 0.95; the other low one (0.85) was sure.
    sureness = [0.90, 0.92, 0.99, 0.97, 0.98, 0.96, 0.985, 0.975, 0.995, 0.965]
    ious = [0.70, 0.95, 0.85, 0.96, 0.97, 0.94, 0.975, 0.965, 0.98, 0.93]
    check = evaluate.sureness_check([{"sureness": s, "iou": i} for s, i in zip(sureness, ious)], share=0.2)
    assert (check["least_sure_checked"], check["below_level"], check["below_level_found"]) == (2, 2, 1)
    assert check["level"] == 0.9
    ranks = lambda values: np.argsort(np.argsort(values))  # noqa: E731 (no ties here)
    assert check["iou_rank_correlation"] == pytest.approx(np.corrcoef(ranks(sureness), ranks(ious))[0, 1])


def test_the_sureness_summary_reads_right_for_a_few_photos_and_for_none_below_the_level():
    check = {"iou_rank_correlation": 0.7157, "least_sure_checked": 37, "level": 0.9, "below_level": 20,
             "below_level_found": 15}
    assert evaluate.sureness_summary(check) == ("sureness (predict.py's sureness.csv) against IoU: rank correlation "
                                                "0.72; the 37 least sure images hold 15 of the 20 below IoU 0.90")
    # A folder of six photos, all good: one photo checked, nothing below the level to find.
    few = {**check, "least_sure_checked": 1, "below_level": 0, "below_level_found": 0}
    assert evaluate.sureness_summary(few).endswith("; no image is below IoU 0.90")
    assert evaluate.sureness_summary({**few, "below_level": 2, "below_level_found": 1}).endswith(
        "; the least sure image is one of the 2 below IoU 0.90")
    assert evaluate.sureness_summary({**few, "below_level": 2}).endswith(
        "; the least sure image is not one of the 2 below IoU 0.90")
    # One image below the level: "the one", not "one of the 1".
    assert evaluate.sureness_summary({**few, "below_level": 1, "below_level_found": 1}).endswith(
        "; the least sure image is the one below IoU 0.90")
    assert evaluate.sureness_summary({**few, "below_level": 1}).endswith(
        "; the least sure image is not the one below IoU 0.90")
    assert evaluate.sureness_summary({**check, "below_level": 1, "below_level_found": 1}).endswith(
        "; the 37 least sure images hold the one below IoU 0.90")
    assert evaluate.sureness_summary({**check, "below_level": 1, "below_level_found": 0}).endswith(
        "; the 37 least sure images do not hold the one below IoU 0.90")


def test_rank_correlation_gives_tied_values_their_mean_rank():
    assert list(evaluate.average_ranks([0.5, 0.0, 0.5, 0.2])) == [2.5, 0.0, 2.5, 1.0]
    assert evaluate.rank_correlation([1, 2, 3, 4], [10, 20, 30, 400]) == pytest.approx(1.0)
    assert evaluate.rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Ties: the Pearson correlation of the mean ranks [0.5, 0.5, 2, 3] and [0, 1, 2, 3].
    assert evaluate.rank_correlation([0, 0, 1, 2], [1, 2, 3, 4]) == pytest.approx(
        np.corrcoef([0.5, 0.5, 2, 3], [0, 1, 2, 3])[0, 1])
    assert evaluate.rank_correlation([0.9, 0.9], [0.5, 0.7]) is None  # nothing to rank


def test_missing_masks_and_corrupt_files_are_reported_not_fatal(tiny_model_path, dataset, tmp_path, capsys):
    (dataset / "masks" / "a_sample_000.png").unlink()  # image without a mask
    corrupt = dataset / "images" / "a_sample_001.jpg"
    corrupt.write_bytes(b"not a jpeg")
    # --data-dir and --out-dir, as train.py names its folders, are evaluate.py's --data and --out too.
    status = evaluate.main(["--model", str(tiny_model_path), "--data-dir", str(dataset),
                            "--out-dir", str(tmp_path / "out")])
    assert status == 0
    results = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert results["images"] == 6
    assert results["failed"][0]["path"] == str(corrupt)
    errors = capsys.readouterr().err
    assert f"{corrupt}: not an image but text, beginning 'not a jpeg'" in errors
    assert "photo/s]" not in errors  # standard error is not a terminal here: no progress bar in a log


def test_a_folder_of_which_no_photo_can_be_read_is_a_clear_error_naming_each_photo(tiny_model_path, dataset, tmp_path,
                                                                                     capsys):
    photos = sorted((dataset / "images").iterdir())
    for photo in photos:
        photo.write_bytes(b"not a photo")
    status = evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--out", str(tmp_path / "out")])
    assert status == 2 and not (tmp_path / "out").exists()  # nor an empty folder where results would go
    error = capsys.readouterr().err.strip().splitlines()[-7:]
    assert len(photos) == 8 and error == ["error: no image could be evaluated, all 8 failed:", *(
        f"  {photo}: not an image but text, beginning 'not a photo'" for photo in photos[:5]), "  and 3 more"]


def test_results_written_again_are_whole_or_as_they_were_never_cut_short(dataset, tmp_path, monkeypatch):
    pairs = data.find_pairs(dataset / "images", dataset / "masks")
    evaluate.evaluate(SureOfUprightRed(), pairs, tmp_path / "out")
    before = (tmp_path / "out" / "per_image.csv").read_bytes()

    def rows_then_a_full_disk(writer, rows):
        writer.writerow(rows[0])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(csv.DictWriter, "writerows", rows_then_a_full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        evaluate.evaluate(SureOfUprightRed(upright=0.8), pairs, tmp_path / "out")
    assert (tmp_path / "out" / "per_image.csv").read_bytes() == before  # not one row of the new
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["metrics.json", "per_image.csv", "worst.png"]


def test_where_no_progress_bar_is_drawn_a_line_now_and_then_says_how_many_photos_are_scored(dataset, tmp_path,
                                                                                            monkeypatch, caplog):
    pairs = data.find_pairs(dataset / "images", dataset / "masks")[:5]
    monkeypatch.setattr(predict, "PROGRESS_LINE_EVERY", 0)  # every batch: 60 s apart in a run
    caplog.set_level(logging.INFO)
    evaluate.score_pairs(SureOfUprightRed(), pairs, batch_size=2, progress=True)
    said = [message.split(",")[0] for message in caplog.messages if "photos scored" in message]
    assert said == ["2 of 5 photos scored", "4 of 5 photos scored", "5 of 5 photos scored"]
    caplog.clear()
    evaluate.score_pairs(SureOfUprightRed(), pairs, batch_size=2)  # progress off: a library call
    assert not [message for message in caplog.messages if "photos scored" in message]


def test_the_progress_bar_counts_every_photo_in_a_terminal(tiny_model_path, dataset, tmp_path, monkeypatch):
    (dataset / "images" / "a_sample_001.jpg").write_bytes(b"not a jpeg")  # counted too, alone in its batch
    pairs = len(data.find_pairs(dataset / "images", dataset / "masks"))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--out", str(tmp_path / "out"),
                          "--batch-size", "1"]) == 0
    said = terminal.getvalue()
    assert f"{pairs}/{pairs} [" in said and "photo/s]" in said


def test_ctrl_c_is_a_line_saying_nothing_was_written_not_a_traceback(tiny_model_path, dataset, tmp_path, capsys,
                                                                     monkeypatch):
    def interrupted(*args, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "score_pairs", interrupted)
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--out", str(tmp_path / "out")]) == 130
    assert (f"interrupted: nothing written to {tmp_path / 'out'}/ (the results are written once every photo is scored)"
            in capsys.readouterr().err)
    assert not (tmp_path / "out").exists()  # made once the results are, not left behind empty


def test_threshold_sets_which_pixels_count_as_person(tiny_model, tiny_model_path, dataset, tmp_path, capsys):
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--out", str(tmp_path / "out"),
                          "--threshold", "0.4"]) == 0
    results = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert results["threshold"] == 0.4
    truths, softs = [], []
    for image_path, mask_path in data.find_pairs(dataset / "images", dataset / "masks"):
        truths.append(image_files.read_mask(mask_path))
        softs.append(segment.predict_photo_masks(tiny_model, [data.read_image(image_path)])[0])
    for name, score in (("iou", scores.iou), ("precision", scores.precision), ("recall", scores.recall)):
        assert results[name] == pytest.approx(np.mean([score(t, s, 0.4) for t, s in zip(truths, softs)]), abs=1e-6)
    assert results["iou"] == pytest.approx(results["iou_by_threshold"]["0.40"])
    assert results["iou"] != pytest.approx(results["iou_by_threshold"]["0.50"])
    assert "best " in capsys.readouterr().out
    for outside in ("1.5", "1", "nan"):  # the range predict.py --threshold accepts: 0 and 1 left out
        with pytest.raises(SystemExit):
            evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--threshold", outside])
        said = capsys.readouterr().err
        assert f"--threshold must be above 0 and below 1; got {float(outside)}" in said  # as predict.py says it
    pairs = data.find_pairs(dataset / "images", dataset / "masks")
    with pytest.raises(ValueError, match=r"^threshold must be above 0 and below 1; got 0$"):  # from Python too
        evaluate.evaluate(tiny_model, pairs, tmp_path / "out", threshold=0)
    # None, as remove_background takes it (soft edges): scored at the usual threshold, not a TypeError at the end.
    assert evaluate.evaluate(tiny_model, pairs[:2], tmp_path / "none", threshold=None)["threshold"] == scores.THRESHOLD


def test_an_out_that_is_a_file_or_cannot_be_written_is_a_usage_error_and_the_file_is_kept(dataset, tmp_path, capsys,
                                                                                         monkeypatch):
    (tmp_path / "results.json").write_text("mine")
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--data", str(dataset), "--out", str(tmp_path / "results.json")])
    assert exit_info.value.code == 2
    assert f"--out {tmp_path / 'results.json'} is a file, not a folder for the results" in capsys.readouterr().err
    assert (tmp_path / "results.json").read_text() == "mine"
    # One that cannot be written is said before a photo is scored, not after; as is a file in its path.
    (tmp_path / "locked").mkdir()
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path / "locked" and access(path, mode))
    for out, blocked_by in ((tmp_path / "locked", f"{tmp_path / 'locked'} cannot be written"),
                            (tmp_path / "results.json" / "run", f"{tmp_path / 'results.json'} is a file")):
        with pytest.raises(SystemExit):
            evaluate.main(["--data", str(dataset), "--out", str(out)])
        assert f"--out {out} cannot be made: {blocked_by}" in " ".join(capsys.readouterr().err.split())
        # From Python too, before the model's seconds of loading (the shipped one, here).
        pairs = data.find_pairs(dataset / "images", dataset / "masks")
        monkeypatch.setattr(predict, "resolve_model", lambda *args: pytest.fail("the model was loaded"))
        with pytest.raises(OSError, match=f"^{re.escape(f'{out} cannot be made: {blocked_by}')}"):
            evaluate.evaluate(None, pairs, out)


def test_ground_truth_that_marks_nobody_is_refused_where_all_does_and_warned_about_where_most_does(
        tiny_model_path, dataset, tmp_path, capsys, caplog):
    # Label maps (1 for the person) read as person masks mark nobody, and a model that finds nobody
    # would score 1.0 on each: a mean IoU that means nothing.
    masks = sorted((dataset / "masks").glob("*.png"))
    for mask in masks:
        cv2.imwrite(str(mask), (cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8) * 2)
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--out", str(tmp_path / "all")]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert f"error: {len(masks)} of the {len(masks)} masks mark no person" in error and "values 0 and 2" in error
    assert not (tmp_path / "all" / "metrics.json").exists()
    for mask in masks[:3]:  # three of eight person masks again: five photos of nobody are worth a warning
        cv2.imwrite(str(mask), cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) * 127)
    with caplog.at_level(logging.WARNING, logger="data"):
        assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--out", str(tmp_path / "most")]) == 0
    assert f"{len(masks) - 3} of the {len(masks)} masks mark no person" in caplog.text
    assert (tmp_path / "most" / "metrics.json").exists()


def test_ground_truth_that_marks_the_background_instead_of_the_person_is_warned_about(
        tiny_model_path, dataset, tmp_path, caplog):
    masks = sorted((dataset / "masks").glob("*.png"))
    for mask in masks:
        cv2.imwrite(str(mask), 255 - cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE))
    with caplog.at_level(logging.WARNING, logger="data"):
        assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--out", str(tmp_path / "out")]) == 0
    assert f"{len(masks)} of the {len(masks)} masks that mark a person mark both top corners" in caplog.text


def test_a_photo_the_model_cannot_take_is_among_the_failures_and_the_rest_are_scored(dataset, tmp_path):
    pairs = data.find_pairs(dataset / "images", dataset / "masks")
    green = pairs[1][0]
    cv2.imwrite(str(green), np.full((80, 60, 3), (0, 255, 0), np.uint8))  # BGR: all green
    results = evaluate.evaluate(FailsOnGreen(), pairs, tmp_path / "out", batch_size=4)
    assert results["images"] == len(pairs) - 1
    assert results["failed"] == [{"path": str(green),
                                  "reason": f"{green}: cannot segment it (ValueError: cannot take this one)"}]


def test_a_batch_size_below_1_or_no_pairs_is_an_error_before_anything_is_written(dataset, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--data", str(dataset), "--out", str(tmp_path / "out"), "--batch-size", "0"])
    assert exit_info.value.code == 2
    assert "--batch-size must be at least 1; got 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match=r"^batch_size must be at least 1; got 0$"):  # from Python too
        evaluate.evaluate(None, data.find_pairs(dataset / "images", dataset / "masks"), tmp_path / "out", batch_size=0)
    assert not (tmp_path / "out").exists()
    # Not "no image could be evaluated, all 0 failed":
    with pytest.raises(ValueError, match=r"^pairs is empty: no photo to score$"):
        evaluate.evaluate(None, [], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_web_address_as_data_or_out_is_a_usage_error_saying_so(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--data", "gs://bucket/people", "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "argument --data/--data-dir: gs://bucket/people is a web address" in " ".join(capsys.readouterr().err.split())
    with pytest.raises(SystemExit):
        evaluate.main(["--data", str(tmp_path), "--out", "s3://bucket/evaluation"])
    assert "then copy it there" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "out").exists()


def test_a_list_of_stems_given_as_data_is_a_usage_error_that_points_to_split_list(tmp_path, capsys):
    (tmp_path / "test.txt").write_text("a_sample_002\n")
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--data", str(tmp_path / "test.txt"), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"--data {tmp_path / 'test.txt'} is a file" in error
    assert "--split-list" in error
    assert not (tmp_path / "out").exists()


def test_a_dataset_that_comes_split_given_as_data_is_a_usage_error_that_names_its_test_folder(tmp_path, capsys):
    for folder in ("train", "validation", "test"):
        write_sample(tmp_path / "my dataset" / folder, count=1, height=32, width=32)
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--data", str(tmp_path / "my dataset"), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert (f"--data {tmp_path / 'my dataset'} comes split (train/, validation/, test/): pass the folder of the "
            f"split to score, --data '{tmp_path / 'my dataset' / 'test'}'") in capsys.readouterr().err  # to paste
    assert not (tmp_path / "out").exists()


def test_a_mistyped_data_or_compare_to_folder_is_said_before_the_model_is_loaded(dataset, tmp_path, capsys,
                                                                                  monkeypatch):
    loaded = []
    monkeypatch.setattr(predict, "load_model", lambda *args: loaded.append(args))  # seconds, for the shipped model
    assert evaluate.main(["--data", str(tmp_path / "mistyped"), "--out", str(tmp_path / "out")]) == 2
    assert f"error: image folder {tmp_path / 'mistyped' / 'images'} does not exist" in capsys.readouterr().err
    assert evaluate.main(["--data", str(dataset), "--compare-to", str(tmp_path / "befor"),
                          "--out", str(tmp_path / "out")]) == 2
    assert f"error: {tmp_path / 'befor' / 'per_image.csv'} does not exist" in capsys.readouterr().err
    assert loaded == [] and not (tmp_path / "out").exists()


def test_split_list_restricts_the_evaluation(tiny_model_path, dataset, tmp_path, capsys):
    (tmp_path / "test.txt").write_text("a_sample_002\nb_sample_001\n")
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--split-list",
                          str(tmp_path / "test.txt"), "--out", str(tmp_path / "out")]) == 0
    with (tmp_path / "out" / "per_image.csv").open() as file:
        assert [row["stem"] for row in csv.DictReader(file)] == ["a_sample_002", "b_sample_001"]
    assert "(bootstrap over the 2 images)" in capsys.readouterr().out
    (tmp_path / "one.txt").write_text("a_sample_002\n")
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--split-list",
                          str(tmp_path / "one.txt"), "--out", str(tmp_path / "one")]) == 0
    assert "(bootstrap over the 1 image)" in capsys.readouterr().out


def test_the_model_runs_as_predict_py_runs_it_and_metrics_json_says_how(tiny_model_path, dataset, tmp_path):
    for engine in ("keras", "tflite"):
        assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--engine", engine,
                              "--out", str(tmp_path / engine)]) == 0
    keras_run, lite_run = (json.loads((tmp_path / engine / "metrics.json").read_text())
                           for engine in ("keras", "tflite"))
    assert (keras_run["engine"], lite_run["engine"]) == ("keras", "tflite")
    assert keras_run["model"] == lite_run["model"] == str(tiny_model_path)  # which model made these figures
    assert abs(keras_run["iou"] - lite_run["iou"]) < 1e-3
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset),
                          "--out", str(tmp_path / "auto")]) == 0
    assert json.loads((tmp_path / "auto" / "metrics.json").read_text())["engine"] == predict.chosen_engine("auto")


def test_compare_to_an_earlier_run_gives_the_paired_iou_difference_on_the_photos_in_both(
        tiny_model_path, dataset, tmp_path, capsys, monkeypatch, caplog):
    evaluate_score_pairs = evaluate.score_pairs
    (tmp_path / "some.txt").write_text("a_sample_000\na_sample_001\na_sample_002\nb_sample_000\nb_sample_001\n")
    run = ["--model", str(tiny_model_path), "--data", str(dataset)]
    assert evaluate.main([*run, "--split-list", str(tmp_path / "some.txt"), "--out", str(tmp_path / "before")]) == 0
    assert evaluate.main([*run, "--threshold", "0.3", "--out", str(tmp_path / "after"),
                          "--compare-to", str(tmp_path / "before")]) == 0
    before, after = (evaluate.read_per_image_iou(tmp_path / name) for name in ("before", "after"))
    differences = [after[stem] - before[stem] for stem in before]  # the five photos in both
    comparison = json.loads((tmp_path / "after" / "metrics.json").read_text())["compared_to"]
    assert comparison["images"] == 5 and comparison["folder"] == str(tmp_path / "before")
    assert comparison["iou_difference"] == pytest.approx(np.mean(differences))
    assert comparison["iou_difference_interval_95"] == pytest.approx(evaluate.mean_interval(differences))
    assert (comparison["better"], comparison["worse"]) == (sum(d > 0 for d in differences), sum(d < 0 for d in differences))
    assert comparison["better"] + comparison["worse"] > 0  # the threshold changed some masks
    sources = {"a": ["a_sample_000", "a_sample_001", "a_sample_002"], "b": ["b_sample_000", "b_sample_001"]}
    for source, stems in sources.items():  # per source too
        source_differences = [after[stem] - before[stem] for stem in stems]
        assert comparison["by_source"][source]["images"] == len(stems)
        assert comparison["by_source"][source]["iou_difference"] == pytest.approx(np.mean(source_differences))
    printed = capsys.readouterr().out
    assert f"against {tmp_path / 'before'} (5 photos in both): mean IoU {np.mean(differences):+.4f}" in printed
    assert comparison["settings_that_differ"] == {"threshold": [0.5, 0.3]}  # said, so it is not mistaken for the model
    assert "note: the runs differ in threshold: 0.5 there, 0.3 here" in printed

    # A folder without an evaluation, or with none of the photos, is an error named before any scoring.
    assert evaluate.main([*run, "--compare-to", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert (f"{tmp_path / 'per_image.csv'} does not exist: --compare-to takes the results folder of an earlier "
            f"evaluate.py run; {tmp_path} holds the results of after, before: pass one, {tmp_path / 'after'}"
            ) in capsys.readouterr().err  # the folder above them (runs/evaluation for runs/evaluation/NAME)
    assert not (tmp_path / "x").exists()
    (tmp_path / "another_tool").mkdir()
    (tmp_path / "another_tool" / "per_image.csv").write_text("photo,score\na_sample_000,0.9\n")  # another tool's
    assert evaluate.main([*run, "--compare-to", str(tmp_path / "another_tool"), "--out", str(tmp_path / "x")]) == 2
    assert (f"{tmp_path / 'another_tool' / 'per_image.csv'} is not a per_image.csv written by evaluate.py: it has "
            f"no stem and iou columns") in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    cut_short = (tmp_path / "before" / "per_image.csv").read_text().splitlines()
    (tmp_path / "another_tool" / "per_image.csv").write_text("\n".join([*cut_short[:3], cut_short[3].split(",")[0]]))
    assert evaluate.main([*run, "--compare-to", str(tmp_path / "another_tool"), "--out", str(tmp_path / "x")]) == 2
    assert (f"{tmp_path / 'another_tool' / 'per_image.csv'}, line 4: the row ends before its IoU (a file cut short, "
            f"or not evaluate.py's)") in capsys.readouterr().err  # not a TypeError's traceback
    assert not (tmp_path / "x").exists()
    # A metrics.json that cannot be read costs the comparison of the settings only, said before scoring.
    shutil.copytree(tmp_path / "before", tmp_path / "garbled")
    (tmp_path / "garbled" / "metrics.json").write_text('{"threshold": 0.5, "flip')
    said_at_scoring = []
    monkeypatch.setattr(evaluate, "score_pairs", lambda *args, **kwargs: said_at_scoring.append(caplog.messages) or
                        evaluate_score_pairs(*args, **kwargs))
    with caplog.at_level("WARNING", logger="evaluate"):
        assert evaluate.main([*run, "--split-list", str(tmp_path / "some.txt"), "--compare-to",
                              str(tmp_path / "garbled"), "--out", str(tmp_path / "x")]) == 0
    garbled = tmp_path / "garbled" / "metrics.json"
    assert said_at_scoring == [[f"cannot read {garbled}: Unterminated string starting at: line 1 column 20 (char 19): "
                                f"the settings it was scored with are not compared with this run's"]]
    comparison = json.loads((tmp_path / "x" / "metrics.json").read_text())["compared_to"]
    assert comparison["images"] == 5 and comparison["settings_that_differ"] == {}
    (tmp_path / "runs/evaluation/earlier").mkdir(parents=True)  # where evaluate.py without --out writes
    shutil.copy(tmp_path / "after" / "per_image.csv", tmp_path / "runs/evaluation/earlier")
    monkeypatch.chdir(tmp_path)
    assert evaluate.main([*run, "--compare-to", "earlier", "--out", str(tmp_path / "x")]) == 2
    assert "earlier/per_image.csv does not exist: --compare-to takes the results folder of an earlier evaluate.py " \
           "run; did you mean runs/evaluation/earlier?" in capsys.readouterr().err
    (tmp_path / "none.txt").write_text("a_sample_003\n")
    assert evaluate.main([*run, "--split-list", str(tmp_path / "none.txt"), "--compare-to", str(tmp_path / "before"),
                          "--out", str(tmp_path / "y")]) == 2
    assert "none of the photos to score is in" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_without_out_each_model_scored_keeps_its_results_in_a_folder_named_after_it(
        tiny_model_path, dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "runs" / "mine"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text("{}")  # as train.py leaves it
    (run_dir / "model.keras").write_bytes(tiny_model_path.read_bytes())
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--threshold", "0.3"]) == 0
    assert evaluate.main(["--model", str(run_dir), "--data", str(dataset),
                          "--compare-to", "runs/evaluation/tiny"]) == 0  # the first one's results still there
    printed = capsys.readouterr().out
    assert "written to runs/evaluation/mine/" in printed
    assert "the same photos were scored" not in printed  # compared already, and the first run had none to offer
    for name, threshold in (("tiny", 0.3), ("mine", 0.5)):
        assert json.loads((tmp_path / "runs/evaluation" / name / "metrics.json").read_text())["threshold"] == threshold
    assert json.loads((tmp_path / "runs/evaluation/mine/metrics.json").read_text())["compared_to"]["images"] == 8
    (tmp_path / "some.txt").write_text("a_sample_000\nb_sample_000\n")
    assert evaluate.main(["--model", str(run_dir), "--data", str(dataset), "--split-list", str(tmp_path / "some.txt"),
                          "--out", "runs/evaluation/some"]) == 0  # other photos: not offered below
    assert evaluate.main(["--model", str(run_dir), "--data", str(dataset), "--perturb", "dark"]) == 0  # nor these
    for age, name in enumerate(("mine_dark", "mine", "tiny", "some")):  # newest first, whatever the clock's resolution
        os.utime(tmp_path / "runs/evaluation" / name / "per_image.csv", (1e9 - age, 1e9 - age))
    rows = (tmp_path / "runs/evaluation/tiny/per_image.csv").read_text().splitlines()
    (tmp_path / "runs/evaluation/cut_short").mkdir()  # a run killed as it wrote its list: passed over, not a traceback
    (tmp_path / "runs/evaluation/cut_short/per_image.csv").write_text("\n".join([*rows[:-1], rows[-1].split(",")[0]]))
    capsys.readouterr()
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset),
                          "--out", "runs/evaluation/again"]) == 0
    means = {name: np.mean(list(evaluate.read_per_image_iou(tmp_path / "runs/evaluation" / name).values()))
             for name in ("mine", "tiny")}
    assert capsys.readouterr().out.endswith(
        f"the same photos were scored in runs/evaluation/mine (mean IoU {means['mine']:.4f}), runs/evaluation/tiny "
        f"(mean IoU {means['tiny']:.4f}): --compare-to runs/evaluation/mine gives the difference, photo by photo, "
        f"with its 95% interval\n")
    # A flag that changes the masks is named too: the plain run's results stay, to compare with.
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--flip-tta"]) == 0
    assert "written to runs/evaluation/tiny_flip_tta/" in capsys.readouterr().out
    for name, flip_tta in (("tiny", False), ("tiny_flip_tta", True)):
        assert json.loads((tmp_path / "runs/evaluation" / name / "metrics.json").read_text())["flip_tta"] is flip_tta
    assert evaluate.default_out(run_dir, None, "dark", ["--no-close-up", "--main-person"]) == \
        Path("runs/evaluation/mine_no_close_up_main_person_dark")

    # Other photos are not given the folder of the first ones' results: theirs is named after them too.
    capsys.readouterr()
    for _ in range(2):  # and run again, the same folder
        assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset),
                              "--split-list", str(tmp_path / "some.txt")]) == 0
        assert "written to runs/evaluation/tiny_on_data_some/" in capsys.readouterr().out
    assert len(evaluate.read_per_image_iou(tmp_path / "runs/evaluation/tiny")) == 8
    assert len(evaluate.read_per_image_iou(tmp_path / "runs/evaluation/tiny_on_data_some")) == 2
    (tmp_path / "runs/evaluation/person").mkdir()
    (tmp_path / "runs/evaluation/person/per_image.csv").write_text("name,score\n")  # someone else's: not replaced
    assert evaluate.not_of_other_photos(Path("runs/evaluation/person"), [(dataset / "images/a.png", None)],
                                        dataset) == Path("runs/evaluation/person_on_data")
    assert evaluate.not_of_other_photos(Path("runs/evaluation/free"), [], dataset) == Path("runs/evaluation/free")
    # A photo that failed was tried all the same: scored again, its results go to the same folder.
    failed = json.loads((tmp_path / "runs/evaluation/tiny_on_data_some/metrics.json").read_text())
    failed["failed"] = [{"path": str(dataset / "images" / "a_sample_001.png"), "reason": "a damaged PNG"}]
    (tmp_path / "runs/evaluation/tiny_on_data_some/metrics.json").write_text(json.dumps(failed))
    three = [(dataset / "images" / f"{stem}.png", None) for stem in ("a_sample_000", "a_sample_001", "b_sample_000")]
    assert evaluate.not_of_other_photos(Path("runs/evaluation/tiny_on_data_some"), three, dataset) == \
        Path("runs/evaluation/tiny_on_data_some")

    named = {(run_dir / "model.keras", None, None): "mine", (run_dir, None, "dark"): "mine_dark",
             (run_dir / "best.keras", None, None): "mine_best",
             (run_dir / "model.int8.tflite", None, None): "mine_int8",
             (tiny_model_path, None, None): "tiny", (None, None, None): predict.DEFAULT_MODEL.stem,
             (None, tmp_path / "cutouts", "jpeg"): "cutouts_jpeg"}
    for (model, predictions, perturb), name in named.items():
        assert evaluate.default_out(model, predictions, perturb) == Path("runs/evaluation") / name


def test_photos_the_model_was_trained_on_are_warned_about_where_its_run_says_so(tiny_model_path, dataset, tmp_path,
                                                                                caplog):
    run_dir = tmp_path / "run"
    (run_dir / "splits").mkdir(parents=True)
    (run_dir / "model.keras").write_bytes(tiny_model_path.read_bytes())
    (run_dir / "config.json").write_text(json.dumps({"data_dir": str(dataset)}))  # as train.py writes it
    (run_dir / "splits" / "train.txt").write_text("a_sample_000\na_sample_001\nb_sample_002\n")
    (run_dir / "splits" / "test.txt").write_text("a_sample_003\na_sample_004\n")
    copied, split = tmp_path / "copy", tmp_path / "comes_split"
    for copy in (copied, split / "train", split / "test"):  # the same names in other data folders: other photos
        for folder in ("images", "masks"):
            (copy / folder).mkdir(parents=True)
            for path in (dataset / folder).iterdir():
                (copy / folder / path.name).write_bytes(path.read_bytes())

    def warned(*arguments):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="evaluate"):
            assert evaluate.main(["--out", str(tmp_path / "out"), *arguments]) == 0
        return [record.getMessage() for record in caplog.records if "trained on" in record.message]

    (warning,) = warned("--model", str(run_dir), "--data", str(dataset))
    assert warning == (f"3 ({dataset / 'images' / 'a_sample_000.jpg'}, {dataset / 'images' / 'a_sample_001.jpg'}, "
                       f"{dataset / 'images' / 'b_sample_002.jpg'}) of the 8 photos scored are among those the model "
                       f"was trained on ({run_dir / 'splits' / 'train.txt'}): a model scores higher on those than on "
                       f"photos it has not seen; its run's test photos are --split-list "
                       f"{run_dir / 'splits' / 'test.txt'}")
    assert warned("--model", str(run_dir / "model.keras"), "--data", str(dataset),
                  "--split-list", str(run_dir / "splits" / "test.txt")) == []
    assert warned("--model", str(run_dir), "--data", str(copied)) == []
    assert warned("--model", str(tiny_model_path), "--data", str(dataset)) == []  # no run: nothing known
    (run_dir / "config.json").write_text(json.dumps({"data_dir": str(split)}))  # trained on its train/ folder
    assert warned("--model", str(run_dir), "--data", str(split / "test")) == []
    assert warned("--model", str(run_dir), "--data", str(split / "train"))[0].startswith(
        f"3 ({split / 'train' / 'images' / 'a_sample_000.jpg'}, ")



def test_a_photo_whose_name_is_not_utf8_is_scored_and_compared_like_the_others(tiny_model_path, dataset, tmp_path):
    stem = f"a_{NOT_UTF8}"
    rename_pair(dataset, "a_sample_000", stem)
    run = ["--model", str(tiny_model_path), "--data", str(dataset)]
    before_dir = tmp_path / f"before_{NOT_UTF8}"  # the results' folder named so too
    assert evaluate.main([*run, "--out", str(before_dir)]) == 0
    before = evaluate.read_per_image_iou(before_dir)
    assert stem in before and len(before) == 8
    assert data.read_image(before_dir / "worst.png").shape[1] > 0  # the contact sheet, written there
    assert evaluate.main([*run, "--out", str(tmp_path / "after"), "--compare-to", str(before_dir)]) == 0
    assert json.loads((tmp_path / "after" / "metrics.json").read_text())["compared_to"]["images"] == 8


def test_flip_tta_scores_the_averaged_masks(tiny_model, tiny_model_path, dataset, tmp_path):
    assert evaluate.main(["--model", str(tiny_model_path), "--data", str(dataset), "--out", str(tmp_path / "out"),
                          "--flip-tta"]) == 0
    results = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert results["flip_tta"] is True
    ious = []
    for image_path, mask_path in data.find_pairs(dataset / "images", dataset / "masks"):
        image, truth = data.read_image(image_path), image_files.read_mask(mask_path)
        ious.append(scores.iou(truth, segment.predict_photo_masks(tiny_model, [image], flip_tta=True)[0]))
    assert results["iou"] == pytest.approx(np.mean(ious), abs=1e-6)


def test_perturbations_keep_sizes_and_move_the_mask_only_with_the_geometry():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (90, 70, 3), dtype=np.uint8)
    mask = np.zeros((90, 70), np.uint8)
    mask[20:70, 25:45] = 1  # a 50x20 person in the middle
    for name, perturb in evaluate.PERTURBATIONS.items():
        changed_image, changed_mask = perturb(image, mask)
        if name in ("square", "landscape", "widescreen", "wide_shot", "wide_flat", "two_apart", "group", "row",
                    "strip", "screen", "print", "on_side"):  # new frames: tested below
            continue
        assert changed_image.shape == image.shape and changed_image.dtype == np.uint8, name
        assert not np.array_equal(changed_image, image), name
        assert np.array_equal(perturb(image, mask)[0], changed_image), name  # the same change every time
        if name not in ("zoom_out", "second_person", "tilted", "upside_down"):
            assert changed_mask is mask, name
    small_image, small_mask = evaluate.zoom_out(image, mask)
    # The photo at half size fills the central 45x35 pixels, where the person keeps a quarter of its
    # area; around it the mirrored border holds mirrored copies of the photo, and the mask follows them.
    centre = small_mask[22:68, 17:53]
    assert centre[35 - 22:55 - 22, 31 - 17:39 - 17].all() and centre.sum() == pytest.approx(mask.sum() / 4, rel=0.1)
    assert cv2.connectedComponents(small_mask)[0] - 1 > 1
    assert np.abs(evaluate.dark(image, mask)[0].astype(int) - np.clip(image * 0.6 - 20, 0, 255).astype(int)).max() <= 1
    assert np.abs(evaluate.bright(image, mask)[0].astype(int) - np.clip(image * 1.4 + 40, 0, 255).astype(int)).max() <= 1
    grey = evaluate.greyscale(image, mask)[0]
    assert (grey == grey[..., :1]).all()
    assert np.abs(grey[..., 0].astype(int) - image @ np.array([0.299, 0.587, 0.114])).max() <= 1


def test_wider_frames_are_cut_around_the_upper_third_of_the_person():
    image = np.arange(300 * 150 * 3, dtype=np.uint32).reshape(300, 150, 3).astype(np.uint8)
    mask = np.zeros((300, 150), np.uint8)
    mask[120:270, 50:100] = 1  # 150 tall: its upper third ends at row 170
    for name, aspect in (("square", 1.0), ("landscape", 4 / 3), ("widescreen", 16 / 9)):
        frame, frame_mask = evaluate.PERTURBATIONS[name](image, mask)
        rows = round(150 / aspect)
        start = round(170 - rows / 2)
        assert frame.shape == (rows, 150, 3) and frame_mask.shape == (rows, 150), name
        assert np.array_equal(frame, image[start:start + rows]) and np.array_equal(frame_mask, mask[start:start + rows]), name
    # Near the photo's edge the frame stops there instead of leaving it.
    top_mask = np.zeros((300, 150), np.uint8)
    top_mask[0:60, 50:100] = 1
    assert np.array_equal(evaluate.PERTURBATIONS["widescreen"](image, top_mask)[0], image[:84])


def test_wide_shot_widens_the_photo_to_16_by_9_with_its_edge_columns_or_its_mean_colour_and_background():
    image = np.zeros((90, 60, 3), np.uint8)
    image[:, 0], image[:, -1], image[:, 1:-1] = 10, 20, 200
    mask = np.zeros((90, 60), np.uint8)
    mask[30:90, 20:40] = 1
    wide, wide_mask = evaluate.wide_shot(image, mask)
    assert wide.shape == (90, 160, 3) and wide_mask.shape == (90, 160)  # 90 x 16/9 = 160 columns
    assert np.array_equal(wide[:, 50:110], image) and np.array_equal(wide_mask[:, 50:110], mask)
    assert (wide[:, :50] == 10).all() and (wide[:, 110:] == 20).all()
    assert wide_mask.sum() == mask.sum()
    # wide_flat: the same frame, filled with the photo's mean colour (a column of 10, one of 20, 58 of 200: 193.8)
    flat, flat_mask = evaluate.PERTURBATIONS["wide_flat"](image, mask)
    assert flat.shape == (90, 160, 3) and np.array_equal(flat[:, 50:110], image) and np.array_equal(flat_mask, wide_mask)
    assert (flat[:, :50] == 194).all() and (flat[:, 110:] == 194).all()


def test_two_apart_puts_the_photo_and_its_mirror_image_at_either_end_of_a_16_by_9_frame():
    image = np.zeros((90, 60, 3), np.uint8)
    image[:, 0], image[:, -1], image[:, 1:-1] = 10, 20, 200
    mask = np.zeros((90, 60), np.uint8)
    mask[30:90, 10:25] = 1  # left of centre
    pair, pair_mask = evaluate.two_apart(image, mask)
    assert pair.shape == (90, 160, 3) and pair_mask.shape == (90, 160)  # two 60-column photos and a 40-column gap
    assert np.array_equal(pair[:, :60], image) and np.array_equal(pair[:, 100:], image[:, ::-1])
    assert np.array_equal(pair_mask[:, :60], mask) and np.array_equal(pair_mask[:, 100:], mask[:, ::-1])
    assert (pair[:, 60:100] == 20).all() and not pair_mask[:, 60:100].any()  # the inner edge columns, repeated
    # Photos too wide for two in a 16:9 frame keep a gap of two columns.
    wide, wide_mask = evaluate.two_apart(np.zeros((30, 40, 3), np.uint8), np.ones((30, 40), np.uint8))
    assert wide.shape == (30, 82, 3) and wide_mask.sum() == 2 * 30 * 40


def test_group_pastes_the_person_again_on_either_side_overlapping_it_in_a_16_by_9_frame():
    image = np.full((90, 60, 3), 40, np.uint8)
    mask = np.zeros((90, 60), np.uint8)
    mask[30:90, 20:40] = 1  # a 60x20 person standing on the bottom edge, in the middle
    image[mask == 1] = 220
    crowd, crowd_mask = evaluate.group(image, mask)
    assert crowd.shape == (90, 160, 3) and crowd_mask.shape == (90, 160)  # widened as wide_shot widens it
    columns = np.nonzero(crowd_mask.any(axis=0))[0]
    # Two people 54 tall (90%), 18 wide, centred 15.2 columns either side of the middle one (columns 70-89):
    # columns 56-73 and 86-103, all three joined, each pasted one overlapping the middle one by 4 columns.
    assert (columns[0], columns[-1]) == (56, 103) and len(columns) == 48
    for side in (slice(56, 70), slice(90, 104)):  # the pasted people's own columns, beside the middle one
        rows = np.nonzero(crowd_mask[:, side].any(axis=1))[0]
        assert (rows[0], rows[-1]) == (36, 89)  # 54 tall, on the same line
        assert (crowd[:, side][crowd_mask[:, side] == 0] == 40).all()  # the photo's background around them
    assert (crowd[crowd_mask == 1] > 130).all()  # person pixels (220) where the mask says person, edges blended
    assert np.array_equal(crowd_mask[:, 75:85], evaluate.wide_shot(image, mask)[1][:, 75:85])  # the middle one as it was
    assert np.array_equal(evaluate.group(np.zeros_like(image), np.zeros_like(mask))[1], np.zeros((90, 160), np.uint8))


def test_row_puts_the_photo_and_its_mirror_image_side_by_side_in_turn_until_the_frame_is_3_to_1():
    image = np.zeros((90, 60, 3), np.uint8)
    image[:, :10] = 255  # a white band at the photo's left edge
    mask = np.zeros((90, 60), np.uint8)
    mask[30:90, 5:25] = 1
    people, people_mask = evaluate.row(image, mask)
    assert people.shape == (90, 300, 3) and people_mask.shape == (90, 300)  # five 2:3 photos: 270 would be short
    for index in range(5):
        piece = slice(60 * index, 60 * (index + 1))
        in_turn = (lambda array: array) if index % 2 == 0 else (lambda array: array[:, ::-1])
        assert np.array_equal(people[:, piece], in_turn(image)) and np.array_equal(people_mask[:, piece], in_turn(mask))
    # Four 3:4 photos make 3:1 exactly; a photo already that wide stays as it is.
    assert evaluate.row(np.zeros((40, 30, 3), np.uint8), np.zeros((40, 30), np.uint8))[0].shape == (40, 120, 3)
    wide, wide_mask = evaluate.row(np.zeros((10, 40, 3), np.uint8), np.ones((10, 40), np.uint8))
    assert wide.shape == (10, 40, 3) and wide_mask.sum() == 400


def test_strip_stacks_the_photo_and_its_mirror_image_in_turn_until_the_frame_is_1_to_3():
    image = np.zeros((60, 90, 3), np.uint8)
    image[:, :10] = 255  # a white band at the photo's left edge
    mask = np.zeros((60, 90), np.uint8)
    mask[10:60, 5:25] = 1
    people, people_mask = evaluate.strip(image, mask)
    assert people.shape == (300, 90, 3) and people_mask.shape == (300, 90)  # five 3:2 photos: 240 would be short
    for index in range(5):
        piece = slice(60 * index, 60 * (index + 1))
        in_turn = (lambda array: array) if index % 2 == 0 else (lambda array: array[:, ::-1])  # upright, mirrored
        assert np.array_equal(people[piece], in_turn(image)) and np.array_equal(people_mask[piece], in_turn(mask))
    # Two 2:3 portraits make 1:3 exactly, three 3:4 ones 1:4; a photo already that tall stays as it is.
    assert evaluate.strip(np.zeros((45, 30, 3), np.uint8), np.zeros((45, 30), np.uint8))[0].shape == (90, 30, 3)
    assert evaluate.strip(np.zeros((40, 30, 3), np.uint8), np.zeros((40, 30), np.uint8))[0].shape == (120, 30, 3)
    tall, tall_mask = evaluate.strip(np.zeros((40, 10, 3), np.uint8), np.ones((40, 10), np.uint8))
    assert tall.shape == (40, 10, 3) and tall_mask.sum() == 400


def test_screen_puts_the_photo_between_black_bars_above_and_below_to_9_by_16():
    image = np.full((80, 60, 3), 200, np.uint8)
    mask = np.zeros((80, 60), np.uint8)
    mask[20:80, 20:40] = 1  # a person standing on the photo's bottom edge
    shown, shown_mask = evaluate.screen(image, mask)
    assert shown.shape == (107, 60, 3) and shown_mask.shape == (107, 60)  # 60 x 16/9 = 106.7 rows
    assert np.array_equal(shown[13:93], image) and np.array_equal(shown_mask[13:93], mask)  # 13 rows above, 14 below
    assert (shown[:13] == 0).all() and (shown[93:] == 0).all() and shown_mask.sum() == mask.sum()
    # A photo as tall as 9:16 or taller stays as it is.
    tall, tall_mask = evaluate.screen(np.zeros((120, 60, 3), np.uint8), np.ones((120, 60), np.uint8))
    assert tall.shape == (120, 60, 3) and tall_mask.sum() == 7200


def test_print_puts_the_photo_in_a_white_border_three_times_as_wide_below():
    image = np.full((100, 60, 3), 90, np.uint8)
    mask = np.zeros((100, 60), np.uint8)
    mask[30:100, 20:40] = 1  # a person standing on the photo's bottom edge
    printed, printed_mask = evaluate.as_print(image, mask)
    assert printed.shape == (124, 72, 3) and printed_mask.shape == (124, 72)  # 6 (6% of 100) around, 18 below
    assert np.array_equal(printed[6:106, 6:66], image) and np.array_equal(printed_mask[6:106, 6:66], mask)
    border = np.ones((124, 72), bool)
    border[6:106, 6:66] = False
    assert (printed[border] == (245, 245, 240)).all() and printed_mask.sum() == mask.sum()


def test_tilted_turns_the_person_30_degrees_anticlockwise_about_the_centre_and_fills_the_frame():
    image = np.full((80, 60, 3), 90, np.uint8)
    mask = np.zeros((80, 60), np.uint8)
    mask[20:60, 27:33] = 1  # a 40x6 upright person, centred
    image[mask == 1] = 200
    tilted_image, tilted_mask = evaluate.tilted(image, mask)
    assert tilted_image.shape == image.shape and tilted_mask.shape == mask.shape
    moments = cv2.moments(tilted_mask, binaryImage=True)
    # The long axis, 30 degrees from vertical, its top to the left; the centre stays put.
    axis = np.degrees(0.5 * np.arctan2(2 * moments["mu11"], moments["mu20"] - moments["mu02"]))
    assert axis == pytest.approx(60, abs=2)  # from the x axis, y pointing down
    rows = np.nonzero(tilted_mask.any(axis=1))[0]
    assert np.nonzero(tilted_mask[rows[0]])[0].mean() < np.nonzero(tilted_mask[rows[-1]])[0].mean()
    assert moments["m10"] / moments["m00"] == pytest.approx(29.5, abs=0.5)
    assert moments["m01"] / moments["m00"] == pytest.approx(39.5, abs=0.5)
    zoom = np.cos(np.radians(30)) + 4 / 3 * np.sin(np.radians(30))  # 1.53: a 3:4 photo turned fills its frame
    assert tilted_mask.sum() == pytest.approx(40 * 6 * zoom ** 2, rel=0.1)
    # Every pixel is the photo's (background 90 or person 200, blended at edges), no invented border.
    assert set(np.unique(tilted_image[tilted_mask == 0])) <= set(range(90, 201)) and (tilted_image[:3, :3] == 90).all()


def test_on_side_turns_the_photo_a_quarter_anticlockwise():
    image = np.arange(80 * 60 * 3, dtype=np.uint32).reshape(80, 60, 3).astype(np.uint8)
    mask = np.zeros((80, 60), np.uint8)
    mask[10:30, 20:40] = 1  # the head end, at the top
    turned, turned_mask = evaluate.on_side(image, mask)
    assert turned.shape == (60, 80, 3) and turned_mask.shape == (60, 80)
    assert np.array_equal(turned, np.rot90(image)) and np.array_equal(turned_mask, np.rot90(mask))
    assert turned_mask[:, :40].sum() == mask.sum()  # the head end now on the left
    assert turned.flags["C_CONTIGUOUS"]


def test_upside_down_turns_the_photo_and_its_mask_half_a_turn():
    image = np.arange(80 * 60 * 3, dtype=np.uint32).reshape(80, 60, 3).astype(np.uint8)
    mask = np.zeros((80, 60), np.uint8)
    mask[10:30, 5:25] = 1  # the head end, top left
    turned, turned_mask = evaluate.upside_down(image, mask)
    assert np.array_equal(turned, np.rot90(image, 2)) and np.array_equal(turned_mask, np.rot90(mask, 2))
    assert turned_mask[50:70, 35:55].all() and turned_mask.sum() == mask.sum()  # now bottom right
    assert turned.flags["C_CONTIGUOUS"] and turned_mask.flags["C_CONTIGUOUS"]


def test_second_person_is_the_person_mirrored_at_60_percent_on_the_side_with_more_room():
    image = np.zeros((100, 100, 3), np.uint8)
    image[20:100, 10:40] = 200
    image[20:100, 10:20] = 100  # the person's left third darker, to see the mirroring
    mask = np.zeros((100, 100), np.uint8)
    mask[20:100, 10:40] = 1  # 80 tall, 30 wide, feet on the bottom edge, more room on the right
    changed_image, changed_mask = evaluate.second_person(image, mask)
    # 48 tall and 18 wide, feet on the same line, centred in the right-hand room (columns 40-99).
    assert changed_mask[52:100, 61:79].all() and changed_mask.sum() == 80 * 30 + 48 * 18
    assert (changed_image[55:100, 74:78] == 100).all() and (changed_image[55:100, 62:72] == 200).all()
    assert np.array_equal(changed_mask[:, :45], mask[:, :45]) and np.array_equal(changed_image[:, :45], image[:, :45])
    nobody = np.zeros_like(mask)
    assert evaluate.second_person(image, nobody)[1] is nobody


def test_perturb_scores_the_changed_photos_against_the_changed_masks(tiny_model, dataset, tmp_path):
    pairs = data.find_pairs(dataset / "images", dataset / "masks")
    results = evaluate.evaluate(tiny_model, pairs, tmp_path / "out", perturb="zoom_out")
    assert results["perturbation"] == "zoom_out"
    ious = []
    for image_path, mask_path in pairs:
        image, truth = evaluate.zoom_out(data.read_image(image_path), image_files.read_mask(mask_path))
        ious.append(scores.iou(truth, segment.predict_photo_masks(tiny_model, [image])[0]))
    assert results["iou"] == pytest.approx(np.mean(ious), abs=1e-6)
    with pytest.raises(ValueError, match="perturb must be one of zoom_out, second_person, .*, jpeg; got .fog."):
        evaluate.evaluate(tiny_model, pairs, tmp_path / "out", perturb="fog")


def one_pair(folder, name, photo, truth):
    """The pairs of a dataset in `folder` that holds one photo and its mask."""
    colours_to_bgr = cv2.COLOR_RGB2BGR if photo.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
    for kind, pixels in (("images", cv2.cvtColor(photo, colours_to_bgr)), ("masks", truth * 255)):
        (folder / kind).mkdir(parents=True)
        cv2.imwrite(str(folder / kind / f"{name}.png"), pixels)
    return data.find_pairs(folder / "images", folder / "masks")


def scored_with_and_without(tmp_path, photo, truth, setting):
    """The results of evaluate.evaluate for one photo, masked by SureOfUprightRed,
    with the boolean `setting` off (written to tmp_path/off) and on (tmp_path/on)."""
    pairs = one_pair(tmp_path / "data", "photo", photo, truth)
    off = evaluate.evaluate(SureOfUprightRed(), pairs, tmp_path / "off")
    on = evaluate.evaluate(SureOfUprightRed(), pairs, tmp_path / "on", **{setting: True})
    assert (off[setting], on[setting]) == (False, True)
    return off, on


def test_the_turned_look_is_scored_unless_upright_only(tmp_path):
    photo, truth = lying_person()
    turned, upright = scored_with_and_without(tmp_path, photo, truth, "upright_only")
    # The stand-in marks the same pixels either way, only surer of them turned: the soft mask's error tells.
    assert turned["mae"] < upright["mae"]
    expected = segment.predict_photo_masks(SureOfUprightRed(), [photo], upright_only=True)[0]
    assert upright["mae"] == pytest.approx(np.abs(expected - truth).mean(), abs=1e-6)


def test_specks_are_scored_left_out_unless_keep_specks_and_sureness_judges_the_models_mask(tmp_path):
    photo, truth = person_with_a_speck()
    dropped, kept = scored_with_and_without(tmp_path, photo, truth, "keep_specks")
    models_mask = segment.predict_photo_masks(SureOfUprightRed(), [photo], keep_specks=True)[0]
    assert kept["iou"] == pytest.approx(scores.iou(truth, models_mask))
    assert dropped["iou"] == pytest.approx(scores.iou(truth, segment.without_specks(models_mask)))
    assert dropped["iou"] > kept["iou"]
    for run in ("off", "on"):
        with (tmp_path / run / "per_image.csv").open() as file:
            assert float(next(csv.DictReader(file))["sureness"]) == pytest.approx(segment.judge(models_mask).sureness)


def test_main_person_is_scored_with_everyone_else_left_out(tmp_path):
    photo = np.zeros((240, 320, 3), np.uint8)
    photo[30:220, 40:120] = (255, 0, 0)    # the person labelled
    photo[120:200, 220:260] = (255, 0, 0)  # a bystander, labelled background as in the street photos
    truth = np.zeros(photo.shape[:2], np.uint8)
    truth[30:220, 40:120] = 1
    everyone, main = scored_with_and_without(tmp_path, photo, truth, "main_person")
    models_mask = segment.predict_photo_masks(SureOfUprightRed(), [photo], keep_specks=True)[0]
    assert main["iou"] == pytest.approx(scores.iou(truth, segment.main_person_only(models_mask)))
    assert main["iou"] > 0.95 > 0.85 > everyone["iou"]


def test_predictions_made_by_predict_py_score_as_the_model_itself_and_name_what_is_missing(tiny_model, dataset,
                                                                                           tmp_path, capsys):
    pairs = data.find_pairs(dataset / "images", dataset / "masks")
    by_model = evaluate.evaluate(tiny_model, pairs, tmp_path / "model")
    predict.remove_background_files(dataset / "images", tmp_path / "cutouts", model=tiny_model)
    assert (tmp_path / "cutouts" / predict.SURENESS_FILE).is_file()  # not reported as a file left out (below)
    by_cutouts = evaluate.evaluate(None, pairs, tmp_path / "cutouts_scored", predictions=tmp_path / "cutouts",
                                   compare_to=tmp_path / "model")
    assert by_cutouts["predictions"] == str(tmp_path / "cutouts") and by_cutouts["flip_tta"] is None
    assert by_cutouts["compared_to"]["settings_that_differ"] == {"predictions": [None, str(tmp_path / "cutouts")]}
    # The same masks, through 8-bit alpha: the same person pixels at 0.5, the soft error within rounding.
    for name in ("iou", "dice", "precision", "recall", "boundary_iou"):
        assert by_cutouts[name] == pytest.approx(by_model[name], abs=1e-9), name
    assert by_cutouts["mae"] == pytest.approx(by_model["mae"], abs=1 / 255)

    (tmp_path / "cutouts" / "a_sample_001.png").unlink()  # a photo the tool left out
    small = cv2.imread(str(tmp_path / "cutouts" / "b_sample_000.png"), cv2.IMREAD_UNCHANGED)[:20]
    cv2.imwrite(str(tmp_path / "cutouts" / "b_sample_000.png"), small)  # a cutout of another size
    assert evaluate.main(["--data", str(dataset), "--predictions", str(tmp_path / "cutouts"),
                          "--out", str(tmp_path / "left_out")]) == 0
    results = json.loads((tmp_path / "left_out" / "metrics.json").read_text())
    assert results["images"] == 6
    reasons = {Path(failure["path"]).stem: failure["reason"] for failure in results["failed"]}
    assert reasons["a_sample_001"].endswith("a_sample_001.jpg: no prediction of that name (a_sample_001.png, .jpg, "
                                            "...) among the predictions")
    assert reasons["b_sample_000"].endswith(f"is 70x50 but its prediction {tmp_path / 'cutouts' / 'b_sample_000.png'} "
                                            f"is 70x20: a prediction has its photo's shape, as predict.py's "
                                            f"have without --crop or --canvas")
    assert "not read" not in capsys.readouterr().err


def test_with_recursive_photos_masks_and_predictions_in_sub_folders_are_scored(tiny_model, dataset, tmp_path):
    for kind in ("images", "masks"):  # the three b_ photos and their masks into a sub-folder
        (dataset / kind / "shoot2").mkdir()
        for path in (dataset / kind).glob("b_*"):
            path.rename(dataset / kind / "shoot2" / path.name)
    predict.remove_background_files(dataset / "images", tmp_path / "cutouts", model=tiny_model, recursive=True)
    assert (tmp_path / "cutouts" / "shoot2" / "b_sample_000.png").is_file()  # as predict.py mirrors the photos
    pairs = data.find_pairs(dataset / "images", dataset / "masks", recursive=True)
    by_model = evaluate.evaluate(tiny_model, pairs, tmp_path / "by_model")
    assert evaluate.main(["--data", str(dataset), "--predictions", str(tmp_path / "cutouts"), "--recursive",
                          "--out", str(tmp_path / "by_cutouts")]) == 0
    by_cutouts = json.loads((tmp_path / "by_cutouts" / "metrics.json").read_text())
    assert by_model["images"] == by_cutouts["images"] == 8 and by_model["by_source"]["b"]["images"] == 3
    assert by_cutouts["iou"] == pytest.approx(by_model["iou"], abs=1e-9) and not by_cutouts["failed"]
    # Without it, the photos in images/ itself alone.
    assert evaluate.main(["--data", str(dataset), "--predictions", str(tmp_path / "cutouts"),
                          "--out", str(tmp_path / "top")]) == 0
    assert json.loads((tmp_path / "top" / "metrics.json").read_text())["images"] == 5


def test_predictions_that_are_photos_composed_on_a_background_not_masks_are_warned_about_where_half_are(
        tiny_model, dataset, tmp_path, caplog):
    predict.remove_background_files(dataset / "images", tmp_path / "white", model=tiny_model, background="white",
                                    jpeg=True)
    composed = sorted((tmp_path / "white").glob("*.jpg"))
    assert [evaluate.in_between_share(image_files.read_soft_mask(path)) >= 0.2 for path in composed] == [True] * 8
    assert evaluate.in_between_share(np.array([0, 0.05, 0.1, 0.11, 0.5, 0.89, 0.9, 1.0])) == 3 / 8

    def warned_with(composed_count):
        mixed = tmp_path / f"mixed_{composed_count}"
        mixed.mkdir()
        for index, photo in enumerate(composed):  # the first composed_count composites, masks for the rest
            if index < composed_count:
                (mixed / photo.name).write_bytes(photo.read_bytes())
            else:
                (mixed / f"{photo.stem}.png").write_bytes((dataset / "masks" / f"{photo.stem}.png").read_bytes())
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="evaluate"):
            evaluate.evaluate(None, data.find_pairs(dataset / "images", dataset / "masks"), tmp_path / "out",
                              predictions=mixed)
        return [record.getMessage() for record in caplog.records if "more like photos than masks" in record.message]

    assert warned_with(0) == [] and warned_with(3) == []
    (warning,) = warned_with(4)
    assert warning.startswith(f"4 ({tmp_path / 'mixed_4' / composed[0].name}, ")
    assert ("of the 8 predictions scored are more like photos than masks (20% or more of their pixels between 10% "
            "and 90% of full scale") in warning


def test_a_prediction_of_its_photos_shape_at_another_resolution_is_scaled_to_it_and_another_shape_refused(tmp_path):
    truth = np.zeros((80, 60), np.uint8)
    truth[10:70, 20:40] = 255
    for kind in ("images", "masks", "predictions"):
        (tmp_path / "data" / kind).mkdir(parents=True)
    for name in ("a", "b"):
        cv2.imwrite(str(tmp_path / "data" / "images" / f"{name}.png"), np.dstack([truth] * 3))
        cv2.imwrite(str(tmp_path / "data" / "masks" / f"{name}.png"), truth)
    # a: a tool's preview, at half the photo's resolution; b: a square crop of it.
    half = cv2.resize(truth, (30, 40), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(tmp_path / "data" / "predictions" / "a.png"), half)
    cv2.imwrite(str(tmp_path / "data" / "predictions" / "b.png"), truth[:60])
    pairs = data.find_pairs(tmp_path / "data" / "images", tmp_path / "data" / "masks")
    results = evaluate.evaluate(None, pairs, tmp_path / "scored", predictions=tmp_path / "data" / "predictions")
    assert results["images"] == 1
    scaled = cv2.resize(half.astype(np.float32) / 255, (60, 80), interpolation=cv2.INTER_LINEAR)
    assert results["iou"] == pytest.approx(scores.iou(truth / 255, scaled)) and results["iou"] > 0.95
    assert results["mae"] == pytest.approx(scores.mean_absolute_error(truth / 255, scaled), abs=1e-6)
    assert [Path(failure["path"]).stem for failure in results["failed"]] == ["b"]
    assert results["failed"][0]["reason"].endswith("is 60x80 but its prediction "
                                                   f"{tmp_path / 'data' / 'predictions' / 'b.png'} is 60x60: a "
                                                   "prediction has its photo's shape, as predict.py's have "
                                                   "without --crop or --canvas")


def test_a_transparent_photo_is_scored_as_predict_py_cuts_it_out_no_more_opaque_than_the_photo(tmp_path):
    # A red person whose right quarter the photo fades to a third opaque: shown over grey, it is still red
    # enough for the stand-in model, but predict.py's cutout is nowhere more opaque than the photo, so that
    # quarter is not person in it (below half opaque), and evaluate.py scores that cutout's mask.
    photo = np.zeros((120, 90, 4), np.uint8)
    photo[20:100, 30:60, :3] = (255, 0, 0)
    photo[..., 3] = 255
    photo[:, 53:, 3] = 85
    truth = (photo[..., 0] > 0).astype(np.uint8)
    pairs = one_pair(tmp_path / "data", "cutout", photo, truth)
    by_model = evaluate.evaluate(SureOfUprightRed(), pairs, tmp_path / "model")
    predict.remove_background_files(tmp_path / "data" / "images", tmp_path / "cutouts", model=SureOfUprightRed())
    by_cutout = evaluate.evaluate(None, pairs, tmp_path / "cutout_scored", predictions=tmp_path / "cutouts")
    assert by_model["iou"] == pytest.approx(by_cutout["iou"], abs=1e-9)
    assert by_model["mae"] == pytest.approx(by_cutout["mae"], abs=1 / 255)
    assert by_model["iou"] == pytest.approx(23 / 30, abs=0.02)  # the 7 faded columns of 30 lost


def test_predictions_of_another_tool_are_read_by_their_alpha_or_grey(dataset, tmp_path):
    pairs = data.find_pairs(dataset / "images", dataset / "masks")[:2]
    for form, (image_path, mask_path) in zip(("cutout", "grey"), pairs):
        truth = image_files.read_mask(mask_path)
        soft = np.where(truth == 1, 230, 20).astype(np.uint8)  # sure of the person, a faint ghost elsewhere
        colours = np.full((*truth.shape, 3), 255, np.uint8)  # white where transparent, as some tools store it
        pixels = np.dstack([colours, soft]) if form == "cutout" else soft
        (tmp_path / "tool").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "tool" / f"{image_path.stem}.png"), pixels)
    results = evaluate.evaluate(None, pairs, tmp_path / "out", predictions=tmp_path / "tool")
    assert results["images"] == 2 and results["iou"] == 1.0
    shares = [image_files.read_mask(mask).mean() for _, mask in pairs]
    expected = np.mean([(255 - 230) / 255 * share + 20 / 255 * (1 - share) for share in shares])
    assert results["mae"] == pytest.approx(expected, abs=1e-6)


def test_masks_all_but_those_scored_are_warned_about_where_half_or_more_are(tiny_model, tmp_path, caplog):
    # Masks a model drew itself (predict.py --mask-only) score it against itself: IoU 1, or a hair less.
    dataset = write_sample(tmp_path / "data", count=8, height=320, width=240, seed=4)
    pairs = data.find_pairs(dataset / "images", dataset / "masks")

    def warning_with_alike(count):
        folder = tmp_path / f"alike_{count}"
        folder.mkdir()
        for index, (image_path, mask_path) in enumerate(pairs):
            truth = image_files.read_mask(mask_path) * 255
            if index < count and index % 2:  # a pixel off, of thousands marked
                truth[0, 0] = 255 - truth[0, 0]
            cv2.imwrite(str(folder / f"{image_path.stem}.png"), truth if index < count else cv2.dilate(truth, None,
                                                                                                     iterations=3))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="evaluate"):
            evaluate.evaluate(None, pairs, tmp_path / f"out_{count}", predictions=folder)
        return [message for message in caplog.messages if "all but the masks scored" in message]

    (said,) = warning_with_alike(4)
    assert said.startswith(f"4 ({pairs[0][1]}, {pairs[1][1]}, {pairs[2][1]}, ...) of the 8 masks that mark a person "
                           f"are all but the masks scored (IoU 0.999 or more), as masks the model drew itself "
                           f"(predict.py --mask-only) are")
    assert warning_with_alike(3) == []
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="evaluate"):  # a model's masks, scored on masks drawn otherwise
        evaluate.evaluate(tiny_model, pairs, tmp_path / "out_model")
    assert not [message for message in caplog.messages if "all but the masks scored" in message]


def test_scoring_predictions_made_already_never_imports_tensorflow(dataset, tmp_path):
    # Nor does --help or a usage error: evaluate.py answers them without TensorFlow's seconds of start-up.
    (tmp_path / "tool").mkdir()
    for image_path, mask_path in data.find_pairs(dataset / "images", dataset / "masks"):
        cv2.imwrite(str(tmp_path / "tool" / f"{image_path.stem}.png"), image_files.read_mask(mask_path) * 255)
    code = "import sys, evaluate; code = evaluate.main(sys.argv[1:]); print('tensorflow' in sys.modules); sys.exit(code)"
    result = subprocess.run([sys.executable, "-c", code, "--data", str(dataset), "--predictions", str(tmp_path / "tool"),
                             "--out", str(tmp_path / "out")], cwd=REPO_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["iou"] == 1.0


def test_predictions_named_with_a_tools_suffix_or_another_case_are_paired_with_their_photos(dataset, tmp_path,
                                                                                           caplog):
    pairs = data.find_pairs(dataset / "images", dataset / "masks")[:3]
    (tmp_path / "tool").mkdir()
    for index, (image_path, mask_path) in enumerate(pairs):  # as remove.bg names its outputs
        truth = image_files.read_mask(mask_path) * 255
        cv2.imwrite(str(tmp_path / "tool" / f"{image_path.stem}-removebg-preview.png"), truth if index else 255 - truth)
    with caplog.at_level(logging.INFO):
        results = evaluate.evaluate(None, pairs, tmp_path / "out", predictions=tmp_path / "tool")
    assert results["images"] == 3 and results["iou"] == pytest.approx(2 / 3)  # the first one inverted: IoU 0
    assert "paired by the name before the masks' suffix '-removebg-preview'" in caplog.text
    # Names that differ in case only (IMG_0001.JPG cut out as img_0001.png), one to one.
    for image_path, _ in pairs:
        (tmp_path / "tool" / f"{image_path.stem}-removebg-preview.png").rename(
            tmp_path / "tool" / f"{image_path.stem.upper()}.png")
    results = evaluate.evaluate(None, pairs, tmp_path / "out_cased", predictions=tmp_path / "tool")
    assert results["images"] == 3 and results["iou"] == pytest.approx(2 / 3)


def test_predictions_with_settings_that_make_masks_are_a_usage_error(dataset, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--data", str(dataset), "--predictions", str(tmp_path), "--flip-tta", "--perturb", "tilted",
                       "--main-person"])
    assert exit_info.value.code == 2
    assert ("--predictions scores masks made already: --perturb, --flip-tta, --main-person would make them anew"
            in capsys.readouterr().err)
