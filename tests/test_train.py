import csv
import errno
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import data
import evaluate
import model_files
import predict
import train
from conftest import REPO_DIR, fake_pairs, write_sample

# A tiny, fast configuration: the plain U-Net at 64x64, a quarter as wide (0.49 M parameters instead of
# 7.77 M: 23-26 s a one-epoch run instead of 28-30, most of it tracing the first epoch), on 20 generated pairs.
FAST = ["--model", "unet", "--image-size", "64", "--decoder-width", "0.25", "--batch-size", "8",
        "--val-fraction", "0.2", "--test-fraction", "0.2"]


def run_train(args, script=None, cwd=REPO_DIR):
    command = [sys.executable, str(script or REPO_DIR / "train.py"), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def train_here(args, caplog):
    """train.main's exit status and log, run in this process: no second
    TensorFlow to start (about 5 s a run less than run_train)."""
    with caplog.at_level(logging.INFO, logger="train"):
        status = train.main(args)
    return status, caplog.text


def logged(run_dir, column):
    with (run_dir / "log.csv").open() as file:
        return [float(row[column]) for row in csv.DictReader(file)]


def logged_epochs(run_dir):
    return [int(epoch) for epoch in logged(run_dir, "epoch")]


def test_every_hyperparameter_can_be_overridden_from_the_command_line():
    config = train.parse_config(["--epochs", "5", "--augment", "false", "--learning-rate", "3e-4",
                                 "--model", "resnet50_unet", "--out-dir", "runs/x"])
    assert config["epochs"] == 5 and config["augment"] is False and config["learning_rate"] == 3e-4
    assert config["model"] == "resnet50_unet" and config["out_dir"] == "runs/x"
    assert config["batch_size"] == train.BATCH_SIZE
    assert set(config) == {name.lower() for name in train.HYPERPARAMETERS}
    with pytest.raises(SystemExit):
        train.parse_config(["--augment", "maybe"])


def test_a_constant_edited_to_another_kind_of_value_is_read_as_the_command_line_reads_it_or_refused(monkeypatch,
                                                                                                   capsys):
    assert set(train.KINDS) == set(train.HYPERPARAMETERS)  # each one annotated with what it takes
    # Quoted, or a whole number written as a float: read as the command line would read them.
    for name, edited in (("IMAGE_SIZE", "256"), ("EPOCHS", 40.0), ("LEARNING_RATE", "1e-3"), ("AUGMENT", "false"),
                         ("CLIP_NORM", 2), ("INIT_WEIGHTS", None)):
        monkeypatch.setitem(train.HYPERPARAMETERS, name, edited)
    config = train.parse_config([])
    assert (config["image_size"], config["epochs"], config["learning_rate"]) == (256, 40, 0.001)
    assert config["augment"] is False  # "false" is no longer true for being text
    assert isinstance(config["clip_norm"], float) and config["init_weights"] == "None"
    assert train.initial_weights_file(config) is None
    # What is none of its kind is refused, naming the constant, before any photo is read.
    for name, edited in (("BATCH_SIZE", 16.5), ("FREEZE_BATCH_NORM", 1), ("PATIENCE", "eight")):
        monkeypatch.setitem(train.HYPERPARAMETERS, name, edited)
    with pytest.raises(SystemExit) as exit_info:
        train.parse_config([])
    assert exit_info.value.code == 2
    message = " ".join(capsys.readouterr().err.split())
    assert ("FREEZE_BATCH_NORM = 1 at the top of train.py is not True or False; "
            "BATCH_SIZE = 16.5 at the top of train.py is not a whole number (16, without quotes); "
            "PATIENCE = 'eight' at the top of train.py is not a whole number (16, without quotes)") in message


def readme_hyperparameter_table():
    """NAME -> default, as the README's table of train.py's constants gives them."""
    section = (REPO_DIR / "README.md").read_text().split("### Hyperparameters", 1)[1].split("\n#", 1)[0]
    table = section.split("| constant | default | meaning |", 1)[1].split("\n\n", 1)[0]
    defaults = {}
    for row in table.strip().splitlines()[1:]:
        names, values = row.strip("|").split("|")[:2]
        defaults.update(zip(re.findall(r"`([A-Z_]+)`", names), (v.strip(" `") for v in values.split(","))))
    return defaults


def test_the_readme_lists_every_hyperparameter_with_its_default():
    readme = readme_hyperparameter_table()
    assert set(readme) == set(train.HYPERPARAMETERS)
    for name, default in train.HYPERPARAMETERS.items():
        if isinstance(default, bool):
            assert readme[name] == str(default).lower(), name
        elif isinstance(default, (int, float)):
            assert float(readme[name]) == default, name
        else:
            assert readme[name] == default, name


def test_the_bundled_sample_missed_from_another_working_folder_is_said_to_be_beside_train_py(tmp_path,
                                                                                            monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # python path/to/train.py, run from another folder
    with pytest.raises(SystemExit) as exit_info:
        train.parse_config([])
    assert exit_info.value.code == 2
    assert (f"--data-dir: {train.DATA_DIR} is not in the working folder ({tmp_path}) but beside train.py: run "
            f"train.py from {REPO_DIR}, or pass --data-dir {REPO_DIR / train.DATA_DIR}") in capsys.readouterr().err
    (tmp_path / train.DATA_DIR).mkdir()  # one of that name here: the user's own, for find_pairs to judge
    assert train.parse_config([])["data_dir"] == train.DATA_DIR


def test_keras_set_to_another_backend_is_set_to_tensorflow_before_keras_is_imported(tmp_path):
    # Under JAX a run trained, far slower on a CPU, and failed at its very end; where JAX is not installed, Keras
    # could not even be imported.
    (tmp_path / "keras.json").write_text('{"floatx": "float32", "backend": "jax"}')
    code = (f"import sys; sys.path.insert(0, {str(REPO_DIR)!r}); import train; "
            "set_aside = train.train_on_tensorflow(); import keras; print(set_aside, keras.backend.backend())")
    base_env = {name: value for name, value in os.environ.items() if name not in ("KERAS_BACKEND", "KERAS_HOME")}
    for chosen_by in ({"KERAS_BACKEND": "jax"}, {"KERAS_HOME": str(tmp_path)}):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                                env={**base_env, **chosen_by})
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.split()[-2:] == ["jax", "tensorflow"], chosen_by


def test_train_py_says_it_trains_on_tensorflow_where_keras_is_set_to_another_backend(tmp_path):
    result = subprocess.run([sys.executable, str(REPO_DIR / "train.py"), "--loss", "not_a_loss"], capture_output=True,
                            text=True, timeout=300, cwd=tmp_path, env={**os.environ, "KERAS_BACKEND": "jax"})
    assert result.returncode == 2, result.stderr[-3000:]
    assert ("Keras is set to its jax backend (KERAS_BACKEND, or its keras.json): train.py trains on TensorFlow"
            in result.stderr)
    assert "--loss must be one of" in result.stderr


def test_keras_imported_with_another_backend_before_train_main_is_refused_naming_it(monkeypatch):
    import keras

    assert keras.backend.backend() == "tensorflow" and train.train_on_tensorflow() is None
    monkeypatch.setattr(predict, "keras_backend", lambda: "jax")  # as if this program had imported it so
    with pytest.raises(SystemExit, match="Keras runs on its jax backend in this program, and train.py trains on "
                                         "TensorFlow: set KERAS_BACKEND=tensorflow before Keras is imported"):
        train.train_on_tensorflow()


def test_settings_that_cannot_work_are_a_usage_error_before_any_photo_is_read(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_config(["--image-size", "250", "--loss", "bce-dice", "--lr-schedule", "step",
                            "--mixed-precision", "true", "--model", "mobilenet", "--paste-p", "1.5"])
    assert exit_info.value.code == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "--image-size must be a multiple of 32 above 0 (224, 256, 288, ...); got 250" in message
    # A name near one allowed is a typo, and the message says which name was meant.
    assert ("--loss must be one of bce, dice, bce_dice, lovasz, bce_lovasz; got 'bce-dice' (did you mean bce_dice?)"
            in message)
    assert ("--model must be one of unet, mobilenetv2_unet, resnet50_unet; got 'mobilenet' (did you mean "
            "mobilenetv2_unet?)") in message
    assert "--lr-schedule must be one of plateau, cosine; got 'step';" in message  # near none: no guess
    assert "--mixed-precision must be one of auto, on, off; got 'true';" in message
    assert "--paste-p must be between 0 and 1; got 1.5" in message
    # A run that is all warm-up would end at its highest rate.
    with pytest.raises(SystemExit):
        train.parse_config(["--lr-schedule", "cosine", "--epochs", "2", "--warmup-epochs", "2"])
    assert ("--warmup-epochs must be fewer than --epochs with --lr-schedule cosine, or the rate rises for the whole "
            "run and never decays; got 2 of 2" in " ".join(capsys.readouterr().err.split()))
    assert train.check_settings(train.parse_config(["--epochs", "1"])) == []  # the plateau schedule has no warm-up
    assert train.check_settings(train.parse_config(["--lr-schedule", "cosine", "--epochs", "1",
                                                    "--warmup-epochs", "0"])) == []
    with pytest.raises(SystemExit):
        train.parse_config(["--image-size", "0"])  # a multiple of 32, yet no size
    assert "--image-size must be a multiple of 32 above 0 (224, 256, 288, ...); got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.parse_config(["--init-weights", "runs/no_such_run/model.keras"])
    assert "--init-weights: there is no file runs/no_such_run/model.keras" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.parse_config(["--init-weights", str(REPO_DIR / "models")])  # a folder of models
    assert (f"--init-weights: model {REPO_DIR / 'models'} is a folder with no model.keras in it"
            in " ".join(capsys.readouterr().err.split()))
    # Said with the settings, not after minutes of checking the photos: a model of another architecture, or one
    # converted for TensorFlow Lite.
    shipped = REPO_DIR / "models" / "person_mobilenetv2_unet.keras"
    with pytest.raises(SystemExit):
        train.parse_config(["--init-weights", str(shipped), "--model", "unet"])
    assert (f"--init-weights: {shipped} is a mobilenetv2_unet, and --model is unet: pass --model mobilenetv2_unet to "
            f"fine-tune it" in " ".join(capsys.readouterr().err.split()))
    with pytest.raises(SystemExit):
        train.parse_config(["--init-weights", str(shipped.with_suffix(".int8.tflite"))])
    assert (f"--init-weights: {shipped.with_suffix('.int8.tflite')} is a TensorFlow Lite model, which predict.py and "
            f"evaluate.py run but Keras cannot load (nor train)" in " ".join(capsys.readouterr().err.split()))
    assert train.check_settings(train.parse_config(["--init-weights", str(shipped)])) == []
    # Batch norm frozen with no trained model to keep it from: the new layers' would never normalise.
    with pytest.raises(SystemExit):
        train.parse_config(["--freeze-batch-norm", "true"])
    assert ("--freeze-batch-norm keeps a trained model's batch norm as it is, and there is none: pass the model to "
            "fine-tune as --init-weights" in " ".join(capsys.readouterr().err.split()))
    fine_tune = ["--init-weights", str(shipped), "--freeze-batch-norm", "true"]
    assert train.check_settings(train.parse_config(fine_tune)) == []
    with pytest.raises(SystemExit):
        train.parse_config(["--out-dir", __file__])
    assert f"--out-dir: {__file__} is a file, not a folder for the run" in capsys.readouterr().err
    assert train.check_settings(train.parse_config([])) == []  # the defaults at the top of train.py


def test_init_weights_with_a_wider_decoder_than_decoder_width_are_a_usage_error_naming_the_width(tmp_path, capsys):
    # A decoder can be widened to fine-tune it (model.grow_weights), not narrowed.
    from model import build_model

    build_model("mobilenetv2_unet", (32, 32), decoder_width=1.5).save(tmp_path / "wide.keras")
    with pytest.raises(SystemExit):
        train.parse_config(["--init-weights", str(tmp_path / "wide.keras")])
    assert (f"--init-weights: {tmp_path / 'wide.keras'} has a decoder 1.5 times as wide as the default, and "
            f"--decoder-width is 1: pass --decoder-width 1.5 (or more) to fine-tune it"
            in " ".join(capsys.readouterr().err.split()))
    for width in ("1.5", "2"):
        assert train.check_settings(train.parse_config(["--init-weights", str(tmp_path / "wide.keras"),
                                                        "--decoder-width", width])) == []
    # The plain U-Net, widened whole by --decoder-width, likewise.
    build_model("unet", (32, 32), decoder_width=0.5).save(tmp_path / "unet.keras")
    with pytest.raises(SystemExit):
        train.parse_config(["--init-weights", str(tmp_path / "unet.keras"), "--model", "unet",
                            "--decoder-width", "0.25"])
    assert (f"--init-weights: {tmp_path / 'unet.keras'} has a decoder 0.5 times as wide as the default, and "
            f"--decoder-width is 0.25: pass --decoder-width 0.5 (or more) to fine-tune it"
            in " ".join(capsys.readouterr().err.split()))
    for width in ("0.5", "1"):
        assert train.check_settings(train.parse_config(["--init-weights", str(tmp_path / "unet.keras"),
                                                        "--model", "unet", "--decoder-width", width])) == []


def test_an_encoder_weights_file_that_is_not_there_or_not_weights_is_a_usage_error_saying_what_it_is(tmp_path):
    import h5py

    page = tmp_path / "page.weights.h5"  # saved from a repository's page for the file, not its raw address
    page.write_text("<!DOCTYPE html><html><head><title>mobilenet.weights.h5 at main</title></head></html>")
    whole = tmp_path / "whole.weights.h5"
    with h5py.File(whole, "w") as file:
        file.create_dataset("kernel", data=[[0.0] * 64] * 64)
    cut = tmp_path / "cut.weights.h5"
    cut.write_bytes(whole.read_bytes()[:4000])
    assert train.encoder_weights_trouble("mobilenetv2_unet", str(tmp_path / "none.weights.h5")) == (
        f"there is no file {tmp_path / 'none.weights.h5'} (the encoder's .weights.h5; or imagenet, or none)")
    assert train.encoder_weights_trouble("mobilenetv2_unet", str(page)) == (
        f"{page} is not a .weights.h5 file (HDF5) but a web page (HTML, titled 'mobilenet.weights.h5 at main': a "
        f"download that failed, or a page saved under its name?)")
    assert train.encoder_weights_trouble("resnet50_unet", str(cut)).startswith(
        f"{cut} cannot be read as a .weights.h5 file: Unable to synchronously open file (truncated file: eof = 4000")
    assert train.encoder_weights_trouble("mobilenetv2_unet", str(whole)) is None  # what fits is for Keras to say
    # Not read at all: the plain U-Net has no encoder to load; imagenet and none name no file.
    assert [train.encoder_weights_trouble(*setting) for setting in (
        ("unet", str(page)), ("mobilenetv2_unet", "imagenet"), ("mobilenetv2_unet", "none"))] == [None] * 3
    with pytest.raises(SystemExit) as exit_info:
        train.parse_config(["--encoder-weights", str(page)])
    assert exit_info.value.code == 2
    assert train.check_settings(train.parse_config(["--encoder-weights", str(page), "--init-weights",
                                                    str(REPO_DIR / "models" / "person_mobilenetv2_unet.keras")])) == []


def test_encoder_weights_of_another_network_are_an_error_line_not_a_traceback(sample_dir, tmp_path, capsys, recwarn):
    import keras

    other = tmp_path / "other.weights.h5"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save_weights(other)
    args = ["--data-dir", str(sample_dir), "--out-dir", str(tmp_path / "run"), *FAST, "--model", "mobilenetv2_unet",
            "--encoder-weights", str(other)]
    assert train.main(args) == 2
    said = capsys.readouterr().err
    assert said.startswith(f"error: cannot load the encoder weights {other} into mobilenetv2_unet (another "
                           f"network's?): A total of ") and said.count("\n") == 1
    assert not (tmp_path / "run" / "backup").exists()
    assert [str(warning.message) for warning in recwarn if "Skipping" in str(warning.message)] == []  # one a layer


def test_a_run_folder_that_cannot_be_made_is_a_usage_error_and_nothing_is_made(tmp_path, capsys, monkeypatch):
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(SystemExit):
        train.parse_config(["--out-dir", str(tmp_path / "notes.txt" / "run")])
    assert f"--out-dir: {tmp_path / 'notes.txt' / 'run'} cannot be made: {tmp_path / 'notes.txt'} is a file" in \
        " ".join(capsys.readouterr().err.split())
    # A folder that cannot be written, as permissions make it for anyone but root (who runs these tests on CI).
    (tmp_path / "shared").mkdir()
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path / "shared" and access(path, mode))
    with pytest.raises(SystemExit):
        train.parse_config(["--out-dir", str(tmp_path / "shared" / "runs" / "person")])
    assert (f"--out-dir: {tmp_path / 'shared' / 'runs' / 'person'} cannot be made: {tmp_path / 'shared'} cannot be "
            f"written (its permissions, or a read-only drive)") in " ".join(capsys.readouterr().err.split())
    assert list((tmp_path / "shared").iterdir()) == []
    assert train.check_settings(train.parse_config(["--out-dir", str(tmp_path / "runs" / "person")])) == []


def test_a_run_folder_that_fails_to_be_written_after_all_is_an_error_line_not_a_traceback(sample_dir, tmp_path,
                                                                                         capsys, monkeypatch):
    def refused(splits, folder):  # as a drive whose permissions the check could not see through refuses it
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(data, "write_split_lists", refused)
    run_dir = tmp_path / "run"
    assert train.main(["--data-dir", str(sample_dir), "--out-dir", str(run_dir), *FAST]) == 2
    assert f"error: [Errno 13] Permission denied: '{run_dir / 'splits'}'" in capsys.readouterr().err


def test_web_addresses_for_files_and_folders_are_a_usage_error_naming_each(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_config(["--data-dir", "gs://bucket/people", "--out-dir", "s3://bucket/run",
                            "--init-weights", "https://example.com/person.keras", "--batch-size", "0"])
    assert exit_info.value.code == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "--batch-size must be at least 1; got 0" in message  # the other settings' problems too
    assert ("--data-dir: gs://bucket/people is a web address, and only files on this machine are read and written: "
            "download it first") in message
    assert "--out-dir: s3://bucket/run is a web address" in message and "then copy it there" in message
    assert "--init-weights: https://example.com/person.keras is a web address" in message
    assert "there is no file" not in message  # not the path made of the address (https:/example.com/...)
    with pytest.raises(SystemExit):  # nor is an empty path the working folder ("$DATA" with the variable unset)
        train.parse_config(["--data-dir", ""])
    assert "--data-dir: '' is an empty path, which names no file or folder" in capsys.readouterr().err


def test_numbers_out_of_their_range_are_a_usage_error_naming_each(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_config(["--batch-size", "0", "--epochs", "-1", "--learning-rate", "nan", "--decoder-width", "0",
                            "--clip-norm", "-1", "--patience", "-3", "--val-fraction", "0.5", "--test-fraction", "0.6",
                            "--seed", "-1"])
    assert exit_info.value.code == 2
    message = " ".join(capsys.readouterr().err.split())
    for problem in ("--batch-size must be at least 1; got 0", "--epochs must be at least 1; got -1",
                    "--learning-rate must be above 0; got nan", "--decoder-width must be above 0; got 0.0",
                    "--clip-norm must be 0 or more; got -1.0", "--patience must be 0 or more; got -3",
                    "--val-fraction and --test-fraction must be 0 or more and leave photos to train on "
                    "(together below 1); got 0.5 and 0.6",
                    "--seed must be between 0 and 4,294,967,295 (NumPy's seeds); got -1"):
        assert problem in message
    # The edges that work: no clipping, no warm-up, no validation or test photos, one epoch.
    assert train.check_settings(train.parse_config(["--clip-norm", "0", "--warmup-epochs", "0", "--val-fraction", "0",
                                                    "--test-fraction", "0", "--epochs", "1", "--patience", "0",
                                                    "--seed", str(2**32 - 1)])) == []


def test_photos_are_kept_in_memory_where_they_fit_in_half_of_it_and_the_log_says_which(caplog):
    gib = 2**30
    photos_at_512 = 30_000  # 30,000 photos and masks at 512 pixels: 29.3 GiB
    with caplog.at_level(logging.INFO, logger="train"):
        assert train.cache_in_memory("auto", photos_at_512, 512, memory=64 * gib)
        assert "photos kept in memory after the first epoch: 29.30 GiB of 64.0 GiB of memory" in caplog.text
        assert not train.cache_in_memory("auto", photos_at_512, 512, memory=32 * gib)
        assert "photos decoded anew every epoch, not kept in memory (29.30 GiB of 32.0 GiB of memory; " \
               "--cache on keeps them)" in caplog.text
    assert train.cache_in_memory("auto", photos_at_512, 512, memory=None)  # unknown: as before there was a choice
    assert train.cache_in_memory("on", photos_at_512, 512, memory=32 * gib)
    assert not train.cache_in_memory("off", 10, 64, memory=64 * gib)
    assert 0 < train.memory_bytes() < 2**50


def test_encoder_weights_none_means_random_and_a_missing_file_is_an_error(tmp_path):
    assert train.resolve_encoder_weights("mobilenetv2_unet", "none") is None
    assert train.resolve_encoder_weights("unet", "imagenet") is None
    with pytest.raises(FileNotFoundError, match="missing.weights.h5 does not exist"):
        train.resolve_encoder_weights("resnet50_unet", str(tmp_path / "missing.weights.h5"))


def test_one_epoch_run_writes_every_artefact(sample_dir, tmp_path):
    run_dir = tmp_path / "run"
    result = run_train(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir), *FAST])
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"starting a new run in {run_dir}, on the CPU (TensorFlow sees no GPU), batch 8" in result.stderr
    for name in ("config.json", "log.csv", "best.keras", "model.keras", "metrics.json", "training_photos.png",
                 "splits/train.txt", "splits/val.txt", "splits/test.txt"):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    assert not (run_dir / "backup").exists()  # removed once training finishes
    assert logged_epochs(run_dir) == [0]
    assert logged(run_dir, "learning_rate") == [pytest.approx(train.LEARNING_RATE)]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "unet" and config["image_size"] == 64 and config["epochs"] == 1
    split_sizes = [len((run_dir / f"splits/{s}.txt").read_text().split()) for s in ("train", "val", "test")]
    assert split_sizes == [12, 4, 4]
    results = json.loads((run_dir / "metrics.json").read_text())
    assert results["test"]["images"] == 4 and 0 <= results["test"]["mean_image_iou"] <= 1
    assert results["epochs_run"] == 1 and "stopped early" not in result.stderr  # it ran every epoch asked for
    assert "test (4 images, at model resolution): mean IoU" in result.stdout
    # The command that scores the run as predict.py makes its masks.
    assert (f"python evaluate.py --model {run_dir / 'model.keras'} --data {sample_dir} "
            f"--split-list {run_dir / 'splits' / 'test.txt'}") in result.stdout
    command = result.stdout.split("python evaluate.py ")[1].splitlines()[0].split()
    assert evaluate.main([*command, "--out", str(tmp_path / "evaluation")]) == 0
    # And the one that cuts out photos with it, the photos' and outputs' folders to be filled in.
    assert f"cut out photos with it: python predict.py photos/ cutouts/ --model {run_dir}\n" in result.stdout
    command = result.stdout.split("python predict.py photos/ cutouts/ ")[1].splitlines()[0].split()
    photos = next((sample_dir / "images").iterdir())
    assert predict.main([str(photos), str(tmp_path / "cutouts"), *command, "--quiet"]) == 0
    assert (tmp_path / "cutouts" / f"{photos.stem}.png").is_file()

    # The saved model loads with plain Keras, without this repository's code.
    load = subprocess.run([sys.executable, "-c", "import keras, sys; m = keras.saving.load_model(sys.argv[1]); "
                           "print(tuple(m.input.shape), tuple(m.output.shape))", str(run_dir / "model.keras")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert load.returncode == 0, load.stderr[-2000:]
    assert "(None, 64, 64, 3) (None, 64, 64, 1)" in load.stdout

    # The same command again does not replace the finished run.
    model_bytes = (run_dir / "model.keras").read_bytes()
    with pytest.raises(SystemExit, match=re.escape(f"{run_dir} holds a finished run ({run_dir / 'model.keras'}): "
                                                   f"pass another --out-dir")):  # a message: exit status 1
        train.main(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir), *FAST])
    assert (run_dir / "model.keras").read_bytes() == model_bytes and logged_epochs(run_dir) == [0]
    # Killed while its model was scored: the same command says how to score it, rather than delete it and train again.
    (run_dir / "metrics.json").unlink()
    with pytest.raises(SystemExit, match=re.escape(f"{run_dir} to train there again; it was stopped before it was "
                                                   f"scored: score it with python evaluate.py --model "
                                                   f"{run_dir / 'model.keras'} --data {sample_dir} --split-list "
                                                   f"{run_dir / 'splits' / 'test.txt'}")):
        train.main(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir), *FAST])


def test_the_training_photos_sheet_shows_photos_as_the_pipeline_gives_them_to_the_model_their_masks_outlined(
        sample_dir, tmp_path, caplog, monkeypatch):
    import sheets

    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")
    as_they_are = [sheets.outlined(*data.load_pair(image, mask, (64, 64))) for image, mask in pairs]
    config = train.parse_config(["--augment", "false"])
    train.draw_training_photos(pairs, config, (64, 64), tmp_path / "plain.png")
    sheet = data.read_image(tmp_path / "plain.png")
    top = sheet.shape[0] - 4 * (64 + sheets.GAP)  # 16 of the 20 photos, four to a row, under a legend
    assert sheet.shape[1] == 4 * 64 and top >= sheets.LEGEND_LINE_HEIGHT
    tiles = [sheet[top + row * (64 + sheets.GAP):][:64, column * 64:][:, :64] for row in range(4)
             for column in range(4)]
    # Each is one of the photos, resized and letterboxed as the model is given it, its mask outlined in green.
    matches = [next((index for index, shown in enumerate(as_they_are) if np.array_equal(tile, shown)), None)
               for tile in tiles]
    assert None not in matches and len(set(matches)) == 16
    assert all((tile == sheets.OUTLINE).all(axis=2).sum() > 20 for tile in tiles)

    # Augmented as the settings say: every photo changed (flipped, zoomed, recoloured, ...).
    config = train.parse_config(["--augment-p", "1", "--paste-p", "0"])
    train.draw_training_photos(pairs, config, (64, 64), tmp_path / "augmented.png")
    augmented = data.read_image(tmp_path / "augmented.png")
    top = augmented.shape[0] - 4 * (64 + sheets.GAP)  # its legend says otherwise, in as many lines or not
    tiles = [augmented[top + row * (64 + sheets.GAP):][:64, column * 64:][:, :64] for row in range(4)
             for column in range(4)]
    assert all((tile == sheets.OUTLINE).all(axis=2).sum() > 20 for tile in tiles)  # the tiles, not across them
    assert not any(np.array_equal(tile, shown) for tile in tiles for shown in as_they_are)

    # Fewer photos than a sheet holds: all of them, the last row short.
    train.draw_training_photos(pairs[:6], train.parse_config(["--augment", "false"]), (64, 64), tmp_path / "six.png")
    six = data.read_image(tmp_path / "six.png")
    legend_lines, rest = divmod(six.shape[0] - 2 * (64 + sheets.GAP) - sheets.GAP, sheets.LEGEND_LINE_HEIGHT)
    assert legend_lines > 0 and rest == 0 and six.shape[1] == 4 * 64
    last_row = six[-(64 + sheets.GAP):-sheets.GAP]
    assert last_row[:, :2 * 64].any(axis=2).mean() > 0.9 and not last_row[:, 2 * 64:].any()  # two photos, then none

    # Photos larger than a sheet shows them are shrunk to it, outlines and all.
    monkeypatch.setattr(train, "TRAINING_SHEET_SIDE", 32)
    train.draw_training_photos(pairs, config, (64, 64), tmp_path / "small.png")
    small = data.read_image(tmp_path / "small.png")
    assert small.shape[1] == 4 * 32 and (small[-(32 + sheets.GAP):-sheets.GAP] == sheets.OUTLINE).all(axis=2).any()

    # A photo gone since the photos were checked costs the sheet, said, not the run (training says so, if it reads it).
    gone = sample_dir / "images" / "gone.jpg"
    with caplog.at_level(logging.WARNING, logger="train"):
        train.draw_training_photos([(gone, pairs[0][1])], config, (64, 64), tmp_path / "none.png")
    assert f"none.png not drawn: {gone}: cannot read file" in caplog.text and not (tmp_path / "none.png").exists()


def test_a_run_under_mixed_precision_saves_and_scores_a_model_computing_in_float32_that_converts_to_tflite(
        sample_dir, tmp_path, caplog):
    import keras
    import tensorflow as tf

    import lite
    from model import layers_within

    run_dir = tmp_path / "run"
    try:  # "on" here, as "auto" is on a GPU
        status, log = train_here(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir),
                                  "--mixed-precision", "on", *FAST], caplog)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert status == 0
    on_cpu = not tf.config.list_physical_devices("GPU")  # where float16 is slower than float32, and said to be
    assert ("mixed precision on a CPU: float16 trained 2.5-2.7x slower than float32" in log) == on_cpu
    assert json.loads((run_dir / "config.json").read_text())["mixed_precision_policy"] == "mixed_float16"
    best = keras.saving.load_model(run_dir / "best.keras", compile=False)  # the checkpoint, as it trained
    assert best.get_layer("bottleneck_conv1").compute_dtype == "float16"
    model = keras.saving.load_model(run_dir / "model.keras", compile=False)  # as any tool loads it
    assert {layer.compute_dtype for layer in layers_within(model)} == {"float32"}
    assert lite.LiteModel(lite.converted(model), threads=1).input.shape == (None, 64, 64, 3)
    # Its scores are those of the file saved, not of the float16 model it was copied from.
    config = json.loads((run_dir / "config.json").read_text())
    test_pairs = data.read_split_list(run_dir / "splits" / "test.txt", sample_dir / "images", sample_dir / "masks")
    scored = json.loads((run_dir / "metrics.json").read_text())["test"]
    train.compile_for_scoring(model, config)
    assert scored == pytest.approx(train.evaluate_on(model, test_pairs, config), rel=1e-6, abs=1e-6)


def test_a_killed_run_resumes_from_its_last_finished_epoch_and_point_of_its_schedule(sample_dir, tmp_path, caplog):
    run_dir = tmp_path / "run"
    args = ["--data-dir", str(sample_dir), "--epochs", "3", "--out-dir", str(run_dir), "--lr-schedule", "cosine",
            "--learning-rate", "1e-3", "--warmup-epochs", "0", *FAST]
    killer = tmp_path / "train_then_die.py"
    killer.write_text(textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO_DIR)!r})
        import keras, train

        class KillAfterSecondEpoch(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 1:
                    os.kill(os.getpid(), signal.SIGKILL)  # as abrupt as kill -9

        sys.exit(train.main(sys.argv[1:], extra_callbacks=[KillAfterSecondEpoch()]))
    """))
    killed = run_train(args, script=killer)
    assert killed.returncode == -9
    assert logged_epochs(run_dir) == [0, 1]
    assert (run_dir / "backup").is_dir() and not (run_dir / "model.keras").exists()
    started_with = split_lists(run_dir / "splits")
    add_photos(sample_dir, 1)  # a photo added before resuming must not reshuffle the split

    # While another train.py still runs in it (its lock held, as by a run under nohup), the command stops at once.
    if train.fcntl is not None:  # (Windows has no flock, and train.py no lock there)
        with (run_dir / ".lock").open("a") as other_run:
            train.fcntl.flock(other_run, train.fcntl.LOCK_EX | train.fcntl.LOCK_NB)
            with pytest.raises(SystemExit, match=re.escape(f"{run_dir} is in use by another train.py run, still "
                                                           f"going")):
                train.main(args)
        assert logged_epochs(run_dir) == [0, 1] and (run_dir / "backup").is_dir()
    # The killed run's lock went with it (kill -9): resuming takes it.
    status, said = train_here(args, caplog)  # resumed in this process: no second TensorFlow to start
    assert status == 0 and "resuming the run" in said
    assert split_lists(run_dir / "splits") == {**started_with, "train": started_with["train"] | {"added_0"}}
    assert logged_epochs(run_dir) == [0, 1, 2]  # epoch 2 only: nothing trained twice
    results = json.loads((run_dir / "metrics.json").read_text())
    assert results["epochs_run"] == 3  # the killed run's two too
    epoch_seconds = logged(run_dir, "epoch_seconds")
    assert len(epoch_seconds) == 3 and min(epoch_seconds) > 0
    assert results["train_seconds"] == pytest.approx(sum(epoch_seconds), abs=0.05)  # the killed run's time too
    # Cosine decay over 3 epochs, read at each epoch's end: 1e-3 * (1 + cos(pi * epochs / 3)) / 2.
    assert logged(run_dir, "learning_rate") == pytest.approx([7.5e-4, 2.5e-4, 0.0], abs=1e-9)
    assert (run_dir / "model.keras").is_file()


def test_train_seconds_add_up_the_logged_epochs_and_a_log_begun_without_them_gets_none(tmp_path):
    log = tmp_path / "log.csv"
    assert train.logs_epoch_seconds(log) and train.seconds_trained(log) is None  # no log yet
    log.write_text("")  # made by CSVLogger as training began, killed before an epoch ended
    assert train.logs_epoch_seconds(log)
    log.write_text("epoch,epoch_seconds,loss\n0,12.2,0.5\n1,10.5,0.4\n")
    assert train.logs_epoch_seconds(log) and train.seconds_trained(log) == 22.7
    # A run begun before epochs were timed: resumed, it logs the columns it began with, and its time is unknown.
    log.write_text("epoch,loss\n0,0.5\n1,0.4\n")
    assert not train.logs_epoch_seconds(log) and train.seconds_trained(log) is None


@pytest.mark.filterwarnings("ignore:Can save best model only with iou available")  # a stand-in model: no IoU
def test_a_run_resumed_with_a_log_begun_without_epoch_seconds_keeps_its_columns(tmp_path):
    import keras

    def train_an_epoch(run_dir, resuming):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        callbacks = train.make_callbacks(train.parse_config([]), run_dir, model.optimizer, False, resuming)
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, callbacks=callbacks, verbose=0)
        with (run_dir / "log.csv").open() as file:
            return list(csv.reader(file))

    new = train_an_epoch(tmp_path / "new", resuming=False)
    assert "epoch_seconds" in new[0] and len(new[1]) == len(new[0])
    (tmp_path / "old").mkdir()
    # As CSVLogger writes a log without validation: the val_ columns, "NA" each.
    (tmp_path / "old" / "log.csv").write_text("epoch,learning_rate,loss,val_learning_rate,val_loss\n"
                                              "0,0.001,0.5,NA,NA\n")
    old = train_an_epoch(tmp_path / "old", resuming=True)
    assert "epoch_seconds" not in old[0] and [len(row) for row in old] == [5, 5, 5]


@pytest.mark.filterwarnings("ignore:Can save best model only with iou available")  # a stand-in model: no IoU
def test_an_epochs_logged_seconds_count_the_writing_of_its_backup(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    save_weights = model.save_weights

    def slow_save_weights(*args, **kwargs):  # as a large model's backup on a slow drive
        time.sleep(0.5)
        return save_weights(*args, **kwargs)

    model.save_weights = slow_save_weights
    callbacks = train.make_callbacks(train.parse_config([]), tmp_path, model.optimizer, False, False)
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, callbacks=callbacks, verbose=0)
    assert min(logged(tmp_path, "epoch_seconds")) >= 0.5


@pytest.mark.skipif(train.fcntl is None, reason="no flock here (Windows), and train.py no lock")
def test_a_run_folder_on_a_drive_that_takes_no_locks_is_trained_in_with_a_warning(tmp_path, monkeypatch, caplog):
    def no_locks(file, operation):  # as an NFS mount without a lock daemon answers
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(train.fcntl, "flock", no_locks)
    with caplog.at_level(logging.WARNING, logger="train"), train.RunLock(tmp_path) as lock:
        lock.claim()  # not "in use by another train.py run", which nothing says
        assert lock.file is None
    assert (f"{tmp_path} cannot be locked against a second run there (No locks available): run one train.py in it "
            f"at a time") in caplog.text


def ctrl_c_after_epoch(last):
    """A callback that stops training as Ctrl-C does, once epoch `last` (from 0) is over, backed up and logged."""
    import keras

    class CtrlCAfterEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == last:
                raise KeyboardInterrupt

    return CtrlCAfterEpoch()


def test_a_backup_cut_short_as_it_was_written_gives_way_to_the_one_before_or_is_said_where_there_is_none(
        sample_dir, tmp_path, caplog):
    def stopped_as_its_backup_was_written(run_dir, epochs_done):
        args = ["--data-dir", str(sample_dir), "--epochs", "2", "--out-dir", str(run_dir), *FAST]
        assert train.main(args, extra_callbacks=[ctrl_c_after_epoch(epochs_done - 1)]) == 130
        latest = run_dir / "backup" / "latest.weights.h5"
        latest.write_bytes(latest.read_bytes()[:3000])  # Ctrl-C (or a full drive) as the last epoch was backed up,
        log_rows = (run_dir / "log.csv").read_text().splitlines(keepends=True)  # before its row was logged
        (run_dir / "log.csv").write_text("".join(log_rows[:-1]))
        return args

    run_dir = tmp_path / "two_epochs"
    args = stopped_as_its_backup_was_written(run_dir, 2)
    status, log = train_here(args, caplog)  # on from the first epoch's backup, kept beside the second's
    assert status == 0 and "resuming the run" in log and logged_epochs(run_dir) == [0, 1]
    run_dir = tmp_path / "one_epoch"
    args = stopped_as_its_backup_was_written(run_dir, 1)
    with pytest.raises(SystemExit) as stopped:  # no backup before it: said, rather than an OSError each time
        train.main(args)
    assert str(stopped.value).startswith(f"{run_dir} holds an interrupted run whose backup cannot be read "
                                         f"({run_dir / 'backup' / 'latest.weights.h5'}: Unable to ")
    assert str(stopped.value).endswith(f"cut short as it was written: delete {run_dir / 'backup'} to start the run "
                                       f"afresh there, or go on from its best epoch so far: --init-weights "
                                       f"{run_dir / 'best.keras'} --out-dir OTHER")


def test_a_best_model_cut_short_as_it_was_saved_is_replaced_on_resuming_not_loaded_at_the_end(sample_dir, tmp_path,
                                                                                                caplog):
    run_dir = tmp_path / "run"
    args = ["--data-dir", str(sample_dir), "--epochs", "2", "--out-dir", str(run_dir), *FAST]
    assert train.main(args, extra_callbacks=[ctrl_c_after_epoch(0)]) == 130
    best = run_dir / "best.keras"
    best.write_bytes(best.read_bytes()[:3000])  # Ctrl-C (or a full drive) as it was saved
    with (run_dir / "log.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    rows[0]["val_iou"] = "1.0"  # logged better than any epoch to come: its model is lost all the same
    with (run_dir / "log.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    status, log = train_here(args, caplog)
    assert status == 0 and f"{best} was cut short as it was saved: removed, the best epoch from here on takes its " \
        f"place" in log
    assert model_files.saved_config(best) is not None and (run_dir / "model.keras").is_file()  # the second epoch's


def test_ctrl_c_ends_a_run_with_how_to_resume_it_and_its_backup_kept(sample_dir, tmp_path, capsys, monkeypatch):
    import keras

    class CtrlCAtFirstStep(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            raise KeyboardInterrupt

    for at_epoch_end, says in ((False, "start the run in {run} afresh (no epoch had finished)"),
                               (True, "resume the run in {run} from its last finished epoch")):
        run_dir = tmp_path / "run"
        args = ["--data-dir", str(sample_dir), "--epochs", "2", "--out-dir", str(run_dir), *FAST]
        ctrl_c = ctrl_c_after_epoch(0) if at_epoch_end else CtrlCAtFirstStep()
        assert train.main(args, extra_callbacks=[ctrl_c]) == 130
        assert f"interrupted: run the same command again to {says.format(run=run_dir)}" in capsys.readouterr().err
        assert (run_dir / "backup").is_dir() == at_epoch_end and not (run_dir / "model.keras").exists()

    # Once training is over and the model saved, while it is scored: the run is finished, and evaluate.py scores it.
    scored, splits_scored = train.evaluate_on, []

    def score_then_ctrl_c(model, pairs, config):
        splits_scored.append(pairs)
        if len(splits_scored) == 2:  # the test split, after the validation split
            raise KeyboardInterrupt
        return scored(model, pairs, config)

    monkeypatch.setattr(train, "evaluate_on", score_then_ctrl_c)
    run_dir = tmp_path / "scored"
    assert train.main(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir), *FAST]) == 130
    model_file = run_dir / "model.keras"
    assert (f"interrupted while scoring the model, which is saved ({model_file}); score it with: python evaluate.py "
            f"--model {model_file} --data {sample_dir} --split-list {run_dir / 'splits' / 'test.txt'}"
            ) in capsys.readouterr().err
    results = json.loads((run_dir / "metrics.json").read_text())  # what was scored before
    assert results["epochs_run"] == 1 and results["val"]["images"] == 4 and "test" not in results
    assert model_file.is_file() and not (run_dir / "backup").exists()
    # Run again, the run is not trained afresh, and the same command says how to score what is left.
    with pytest.raises(SystemExit, match=re.escape(f"{run_dir} to train there again; it was stopped before it was "
                                                   f"scored: score it with python evaluate.py --model {model_file} "
                                                   f"--data {sample_dir} --split-list {run_dir / 'splits' / 'test.txt'}")):
        train.main(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir), *FAST])


def test_a_full_drive_while_training_is_an_error_line_with_how_to_resume_not_a_traceback(sample_dir, tmp_path,
                                                                                        capsys):
    import keras

    class DriveFullAtSecondEpochEnd(keras.callbacks.Callback):  # as a checkpoint's or the log's write meets it
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "best.keras"))

    run_dir = tmp_path / "run"
    args = ["--data-dir", str(sample_dir), "--epochs", "3", "--out-dir", str(run_dir), *FAST]
    assert train.main(args, extra_callbacks=[DriveFullAtSecondEpochEnd()]) == 1
    assert (f"error: [Errno {errno.ENOSPC}] No space left on device: '{run_dir / 'best.keras'}'; once {run_dir} can "
            f"be written, run the same command again to resume the run in {run_dir} from its last finished epoch"
            ) in capsys.readouterr().err
    assert (run_dir / "backup").is_dir() and not (run_dir / "model.keras").exists()


def test_a_photo_spoilt_while_training_stops_the_run_with_a_line_and_the_same_command_goes_on_without_it(
        tmp_path, caplog):
    run_dir = tmp_path / "run"
    # As many photos as the bundled sample, split as by default: so, the pipeline's threads were left holding the
    # failure as the process exited, and aborted it (not so with FAST's 20 photos split 12/4/4).
    sample_dir = write_sample(tmp_path / "dataset", count=60, height=480, width=360, seed=1)
    # Not kept in memory, so that the second epoch reads the photos again.
    args = ["--data-dir", str(sample_dir), "--epochs", "2", "--cache", "off", "--out-dir", str(run_dir), *FAST,
            "--val-fraction", "0.1", "--test-fraction", "0.1"]
    spoiler = tmp_path / "train_while_a_photo_is_overwritten.py"
    spoiler.write_text(textwrap.dedent(f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(REPO_DIR)!r})
        import keras, train

        class PhotoOverwrittenAfterFirstEpoch(keras.callbacks.Callback):  # as an edit mid-run would
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 0:
                    stem = Path({str(run_dir / "splits" / "train.txt")!r}).read_text().split()[0]
                    Path({str(sample_dir / "images")!r}, stem + ".jpg").write_text("overwritten")

        sys.exit(train.main(sys.argv[1:], extra_callbacks=[PhotoOverwrittenAfterFirstEpoch()]))
    """))
    stopped = run_train(args, script=spoiler)
    # The process ends with its own status, not aborted (SIGABRT) as it exits by the pipeline's threads.
    assert stopped.returncode == 1
    said = re.search(rf"\nerror: ({re.escape(str(sample_dir / 'images'))}/\w+\.jpg): not an image but text, "
                     rf"beginning 'overwritten' \(changed or gone since the photos were checked\); run the same "
                     rf"command again to resume the run in {re.escape(str(run_dir))} from its last finished epoch: "
                     rf"the photos are checked again, and one that still cannot be read is left out\n$", stopped.stderr)
    assert said and logged_epochs(run_dir) == [0] and not (run_dir / "model.keras").exists()
    status, log = train_here(args, caplog)  # the same command: on from the first epoch, the photo left out
    assert status == 0 and "resuming the run" in log and logged_epochs(run_dir) == [0, 1]
    spoilt = said[1]
    assert json.loads((run_dir / "config.json").read_text())["skipped"] == {
        spoilt: f"{spoilt}: not an image but text, beginning 'overwritten'"}


def test_a_photo_spoilt_once_training_is_over_stops_the_scoring_with_a_line_and_the_model_saved(sample_dir,
                                                                                                 tmp_path, capsys):
    import keras

    run_dir = tmp_path / "run"

    class TestPhotoOverwrittenAtTheEnd(keras.callbacks.Callback):
        def on_train_end(self, logs=None):  # after the last epoch, before the model is scored
            stem = (run_dir / "splits" / "test.txt").read_text().split()[0]
            (sample_dir / "images" / f"{stem}.jpg").write_text("overwritten")

    args = ["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir), *FAST]
    assert train.main(args, extra_callbacks=[TestPhotoOverwrittenAtTheEnd()]) == 1
    model_file, stem = run_dir / "model.keras", (run_dir / "splits" / "test.txt").read_text().split()[0]
    assert (f"error: {sample_dir / 'images' / stem}.jpg: not an image but text, beginning 'overwritten' (changed or "
            f"gone since the photos were checked); the model is saved ({model_file}); once the photo is mended, "
            f"score it with: python evaluate.py --model {model_file} --data {sample_dir} --split-list "
            f"{run_dir / 'splits' / 'test.txt'}") in capsys.readouterr().err
    results = json.loads((run_dir / "metrics.json").read_text())  # what was scored before: the validation photos
    assert model_file.is_file() and results["val"]["images"] == 4 and "test" not in results


def test_ctrl_c_while_the_photos_are_checked_ends_the_run_with_a_line_not_a_traceback(sample_dir, tmp_path, capsys,
                                                                                       monkeypatch):
    def check_then_ctrl_c(pairs):
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "check_pairs", check_then_ctrl_c)
    assert train.main(["--data-dir", str(sample_dir), "--out-dir", str(tmp_path / "run"), *FAST]) == 130
    assert (f"interrupted while the photos were checked, before training started: run the same command again to "
            f"start the run in {tmp_path / 'run'}") in capsys.readouterr().err


def test_an_interrupted_run_is_not_resumed_with_settings_edited_since(sample_dir, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    started = train.parse_config(["--data-dir", str(sample_dir), "--out-dir", str(run_dir), *FAST])
    (run_dir / "backup").mkdir(parents=True)  # interrupted: its backup is there, and the settings it started with
    (run_dir / "config.json").write_text(json.dumps({**started, "cache": "on", "encoder_weights": None}))
    monkeypatch.chdir(sample_dir.parent)  # the same folder named another way is the same setting
    same = ["--data-dir", sample_dir.name, "--out-dir", str(run_dir), *FAST]
    assert train.settings_changed_since(run_dir, train.parse_config(same)) == []
    assert train.settings_changed_since(run_dir, train.parse_config([*same, "--cache", "off"])) == []  # how, not what
    edited = train.parse_config([*same, "--image-size", "96", "--learning-rate", "3e-4"])
    assert train.settings_changed_since(run_dir, edited) == ["--image-size 64 -> 96", "--learning-rate 0.001 -> 0.0003"]
    with pytest.raises(SystemExit, match=re.escape(
            f"{run_dir} holds an interrupted run started with other settings (--image-size 64 -> 96; --learning-rate "
            f"0.001 -> 0.0003): pass the settings it started with to resume it, or another --out-dir for a new run")):
        train.main([*same, "--image-size", "96", "--learning-rate", "3e-4"])
    assert sorted(path.name for path in run_dir.iterdir()) == ["backup", "config.json"]  # nothing touched
    # A run begun before a setting was added (its config.json without it) did as the setting's default does now.
    (run_dir / "config.json").write_text(json.dumps({name: value for name, value in started.items()
                                                     if name != "recursive"}))
    assert train.settings_changed_since(run_dir, train.parse_config(same)) == []
    assert train.settings_changed_since(run_dir, train.parse_config([*same, "--recursive", "true"])) == \
        ["--recursive False -> True"]


def split_lists(folder):
    return {name: set(stems) for name, stems in data.read_split_lists(folder).items()}


def add_photos(dataset_dir, count):
    """Copies of the first pair under new stems, added_0, added_1, ..."""
    for index in range(count):
        for folder, suffix in (("images", ".jpg"), ("masks", ".png")):
            source = sorted((dataset_dir / folder).glob(f"*{suffix}"))[0]
            shutil.copy(source, dataset_dir / folder / f"added_{index}{suffix}")


def test_splits_from_an_earlier_run_keep_its_photos_in_their_split_and_split_the_added_ones(sample_dir, tmp_path,
                                                                                           caplog):
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")
    data.write_split_lists(data.split_pairs(pairs, 0.2, 0.2), tmp_path / "earlier" / "splits")
    add_photos(sample_dir, 5)
    run_dir = tmp_path / "run"
    status, log = train_here(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir),
                              "--splits-from", str(tmp_path / "earlier"), *FAST], caplog)  # the run folder will do
    assert status == 0
    assert f"the split of {tmp_path / 'earlier' / 'splits'} kept" in log
    earlier, now = split_lists(tmp_path / "earlier" / "splits"), split_lists(run_dir / "splits")
    added = {f"added_{index}" for index in range(5)}
    assert all(earlier[name] == now[name] - added for name in data.SPLIT_NAMES)
    assert [len(now[name] & added) for name in data.SPLIT_NAMES] == [3, 1, 1]  # 0.2 and 0.2 of 5


def test_with_recursive_a_run_reads_the_photos_in_sub_folders_and_its_scoring_command_says_so(tmp_path, caplog):
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    write_sample(data_dir, count=10, height=32, width=32)
    for kind, suffix in (("images", ".jpg"), ("masks", ".png")):  # half of them in a sub-folder, each
        (data_dir / kind / "shoot2").mkdir()
        for path in sorted((data_dir / kind).glob(f"*{suffix}"))[5:]:
            path.rename(data_dir / kind / "shoot2" / path.name)
    config = train.parse_config(["--data-dir", str(data_dir), "--out-dir", str(run_dir), "--recursive", "true"])
    splits, _ = train.split_data(config, run_dir, resuming=False)
    assert sorted(image for name in data.SPLIT_NAMES for image, _ in splits[name]) == \
        sorted((data_dir / "images").rglob("*.jpg"))
    assert train.evaluate_command(config, run_dir, "test").endswith(f"--split-list {run_dir / 'splits' / 'test.txt'} "
                                                                   f"--recursive")
    config = train.parse_config(["--data-dir", str(data_dir), "--out-dir", str(tmp_path / "top")])
    with caplog.at_level(logging.WARNING, logger="data"):
        splits, _ = train.split_data(config, tmp_path / "top", resuming=False)
    assert sum(len(splits[name]) for name in data.SPLIT_NAMES) == 5 and "its sub-folders are not read" in caplog.text
    assert "--recursive" not in train.evaluate_command(config, tmp_path / "top", "test")


def test_the_evaluate_command_printed_for_a_run_quotes_paths_a_shell_would_split(tmp_path):
    data_dir, run_dir = tmp_path / "my data", tmp_path / "run's"
    write_sample(data_dir, count=2, height=32, width=32)
    config = train.parse_config(["--data-dir", str(data_dir), "--out-dir", str(run_dir)])
    command = train.evaluate_command(config, run_dir, "test")
    assert shlex.split(command) == ["python", "evaluate.py", "--model", str(run_dir / "model.keras"), "--data",
                                    str(data_dir), "--split-list", str(run_dir / "splits" / "test.txt")]
    assert f"--data '{data_dir}'" in command  # pasted into a shell as printed


def test_a_fine_tune_ends_with_the_command_that_scores_the_model_it_started_from_on_the_same_photos(tmp_path):
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    shipped = REPO_DIR / "models" / "person_mobilenetv2_unet.keras"
    write_sample(data_dir, count=2, height=32, width=32)
    photos = f"--data {data_dir} --split-list {run_dir / 'splits' / 'test.txt'}"
    config = train.parse_config(["--data-dir", str(data_dir), "--out-dir", str(run_dir)])
    assert train.scoring_commands(config, run_dir, "test") == [
        f"at the photos' own resolution, masks made as predict.py makes them: python evaluate.py --model "
        f"{run_dir / 'model.keras'} {photos}"]
    config = train.parse_config(["--data-dir", str(data_dir), "--out-dir", str(run_dir),
                                 "--init-weights", str(shipped)])
    assert train.scoring_commands(config, run_dir, "test") == [  # the starting model first: the second run names it
        f"to compare, first the model it was fine-tuned from, on the same photos: python evaluate.py --model {shipped} "
        f"{photos}",
        f"then this run's model at the photos' own resolution, masks made as predict.py makes them: python evaluate.py "
        f"--model {run_dir / 'model.keras'} {photos}"]


def test_a_dataset_that_comes_split_keeps_its_split_and_carves_only_the_splits_it_has_no_folder_for(tmp_path,
                                                                                                     caplog):
    root, run_dir = tmp_path / "dataset", tmp_path / "run"
    for seed, (folder, count) in enumerate((("train", 12), ("val", 4), ("test", 3)), 1):
        write_sample(root / folder, count=count, height=96, width=64, seed=seed)  # sample_000 ... in each
    config = train.parse_config(["--data-dir", str(root), "--out-dir", str(run_dir)])
    with caplog.at_level(logging.INFO, logger="train"):
        splits, skipped = train.split_data(config, run_dir, resuming=False)
    assert not skipped
    assert {name: sorted(image for image, _ in splits[name]) for name in data.SPLIT_NAMES} == \
        {name: sorted((root / name / "images").glob("*.jpg")) for name in data.SPLIT_NAMES}
    assert f"{root} comes split: train 12 pairs (train/), val 4 pairs (val/), test 3 pairs (test/)" in caplog.text
    assert train.evaluate_command(config, run_dir, "test") == \
        f"python evaluate.py --model {run_dir / 'model.keras'} --data {root / 'test'}"

    # Without a test/ folder, the test split is carved from train/, as from a folder that does not come split;
    # a resumed run keeps that carving when photos are added (split among themselves), though val/ lists the
    # same names.
    shutil.rmtree(root / "test")
    splits, _ = train.split_data(config, run_dir, resuming=False)
    carved = sorted(image for image, _ in splits["test"])
    assert len(carved) == 2 and all(image.parent == root / "train" / "images" for image in carved)  # 0.1 of 12
    assert len(splits["train"]) == 10 and sorted(image for image, _ in splits["val"]) == \
        sorted((root / "val" / "images").glob("*.jpg"))
    assert train.evaluate_command(config, run_dir, "test") == (f"python evaluate.py --model {run_dir / 'model.keras'} "
                                                               f"--data {root / 'train'} --split-list "
                                                               f"{run_dir / 'splits' / 'test.txt'}")
    add_photos(root / "train", 3)
    resumed, _ = train.split_data(config, run_dir, resuming=True)
    added = {name: sorted(image.stem for image, _ in resumed[name] if image.stem.startswith("added_"))
             for name in data.SPLIT_NAMES}
    assert [len(added[name]) for name in data.SPLIT_NAMES] == [2, 0, 1]  # 0.1 of 3, rounded up, to test
    assert sorted(image for image, _ in resumed["test"] if image.stem not in added["test"]) == carved
    assert sorted(image.stem for image, _ in resumed["train"]) == \
        sorted([image.stem for image, _ in splits["train"]] + added["train"])
    assert sorted(image for image, _ in resumed["val"]) == sorted((root / "val" / "images").glob("*.jpg"))


def test_a_run_without_validation_photos_warns_that_it_chooses_its_model_on_the_training_photos(tmp_path, caplog):
    write_sample(tmp_path / "dataset", count=10, height=64, width=64)
    for val_fraction, warned in (("0", True), ("0.2", False)):
        config = train.parse_config(["--data-dir", str(tmp_path / "dataset"), "--val-fraction", val_fraction,
                                     "--out-dir", str(tmp_path / f"run_{val_fraction}")])
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="train"):
            splits, _ = train.split_data(config, Path(config["out_dir"]), resuming=False)
        assert len(splits["val"]) == (0 if warned else 2)
        assert ("no validation photos: the best epoch is chosen, and training stopped, on the training photos"
                in caplog.text) == warned


def test_photos_without_a_person_train_with_all_black_masks(sample_dir, tmp_path, caplog):
    import cv2
    import numpy as np

    for index, image in enumerate(sorted((sample_dir / "images").glob("*.jpg"))[:6]):
        backdrop = cv2.imread(str(image))
        backdrop[:] = backdrop[:8, :8].mean(axis=(0, 1))  # nobody: the photo's corner colour all over
        cv2.imwrite(str(sample_dir / "images" / f"nobody_{index}.jpg"), backdrop)
        cv2.imwrite(str(sample_dir / "masks" / f"nobody_{index}.png"), np.zeros(backdrop.shape[:2], np.uint8))
    run_dir = tmp_path / "run"
    status, log = train_here(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir), "--loss",
                              "bce_dice", "--paste-p", "1", *FAST], caplog)
    assert status == 0
    assert "0 skipped as unreadable" in log
    assert all(np.isfinite(logged(run_dir, column)).all() for column in ("loss", "val_loss", "val_iou"))


def test_a_run_folder_as_init_weights_starts_from_its_model_and_reads_its_splits(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "splits").mkdir(parents=True)
    from model import build_model

    build_model("unet", (32, 32), base_filters=4, depth=2).save(run_dir / "model.keras")
    config = train.parse_config(["--init-weights", str(run_dir), "--model", "unet"])
    assert train.initial_weights_file(config) == run_dir / "model.keras"  # whose splits/ lie beside it
    assert train.initial_weights_file(train.parse_config([])) is None


def test_fine_tuning_warns_when_photos_the_model_was_trained_on_are_held_out(tmp_path, caplog, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the data folder of fake_pairs' paths, images/000.jpg, ...
    data.write_split_lists(data.split_pairs(fake_pairs(100), seed=1), tmp_path / "my run" / "splits")
    (tmp_path / "my run" / "config.json").write_text(json.dumps({"data_dir": str(tmp_path)}))
    init_weights = tmp_path / "my run" / "model.keras"  # only the splits/ and config beside it are read
    more = fake_pairs(101)
    with caplog.at_level(logging.WARNING, logger="train"):
        train.warn_if_held_out_photos_were_trained_on(data.split_pairs(more, seed=1), init_weights)
    assert "of the validation and test photos were training photos of" in caplog.text
    assert f"pass --splits-from '{tmp_path / 'my run' / 'splits'}' to keep that split" in caplog.text  # to paste
    caplog.clear()
    earlier = data.read_split_lists(tmp_path / "my run" / "splits")
    with caplog.at_level(logging.WARNING, logger="train"):
        train.warn_if_held_out_photos_were_trained_on(data.split_pairs(more, seed=1, earlier=earlier), init_weights)
        train.warn_if_held_out_photos_were_trained_on(data.split_pairs(more, seed=1), tmp_path / "elsewhere.keras")
        (tmp_path / "my run" / "config.json").write_text(json.dumps({"data_dir": str(tmp_path / "other photos")}))
        train.warn_if_held_out_photos_were_trained_on(data.split_pairs(more, seed=1), init_weights)  # same names
    assert caplog.text == ""


def test_a_run_warns_when_half_its_held_out_masks_are_as_predict_py_drew_them(sample_dir, tmp_path, caplog):
    import predict

    masks = sorted((sample_dir / "masks").glob("*.png"))
    listing = sample_dir / "masks" / predict.SURENESS_FILE  # as predict.py --mask-only writes it beside its masks
    predict.record_sureness(listing, [predict.Judged(mask.name, f"{mask.stem}.jpg", 0.95, 0.3) for mask in masks])
    written_at = listing.stat().st_mtime
    for mask in masks:
        os.utime(mask, (written_at - 60, written_at - 60))
    config = train.parse_config(["--data-dir", str(sample_dir), "--val-fraction", "0.3", "--test-fraction", "0.3"])
    with caplog.at_level(logging.WARNING, logger="train"):
        splits, _ = train.split_data(config, tmp_path / "run", resuming=False)
    val_masks, test_masks = ([mask for _, mask in splits[name]] for name in ("val", "test"))
    assert len(val_masks) == len(test_masks) == 6
    assert f"6 ({val_masks[0]}, {val_masks[1]}, {val_masks[2]}, ...) of the 6 validation masks are as predict.py " \
           f"--mask-only drew them (listed in the sureness.csv" in caplog.text
    assert "of the 6 test masks are as predict.py --mask-only drew them" in caplog.text

    # Corrected by hand since (written after the list): half the test masks still as drawn warns, fewer do not.
    for mask in test_masks[:3]:
        os.utime(mask, (written_at + 60, written_at + 60))
    assert train.as_a_model_drew_them(test_masks) == test_masks[3:]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="train"):
        train.warn_if_held_out_masks_were_drawn_by_a_model(splits)
    assert "of the 6 test masks are as" in caplog.text
    os.utime(test_masks[3], (written_at + 60, written_at + 60))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="train"):
        train.warn_if_held_out_masks_were_drawn_by_a_model(splits)
    assert "of the 6 validation masks are as" in caplog.text and "of the 6 test masks" not in caplog.text
    # Hand-drawn masks with no list beside them, or a list of that name that is not predict.py's: no warning.
    listing.write_text("name,score\nsample_000.png,1\n")
    assert train.as_a_model_drew_them(val_masks) == []
    listing.unlink()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="train"):
        train.warn_if_held_out_masks_were_drawn_by_a_model(splits)
    assert caplog.text == ""


@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])  # mixed: Adam wrapped in a LossScaleOptimizer
def test_the_training_step_is_traced_once_its_optimizer_variables_made_when_compiling(policy):
    import keras
    import numpy as np

    keras.mixed_precision.set_global_policy(policy)
    try:
        inputs = keras.Input((16, 16, 3))
        model = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", dtype="float32")(
            keras.layers.Conv2D(4, 3, padding="same")(inputs)))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    optimizer = train.compile_for_training(model, train.parse_config(["--lr-schedule", "cosine"]), steps_per_epoch=2)
    assert model.optimizer.built and optimizer.built and (policy == "float32") == (model.optimizer is optimizer)
    assert len(optimizer.variables) > len(model.trainable_variables)  # Adam's moments, made
    traced = []
    step = model.train_step
    model.train_step = lambda batch: traced.append(batch) or step(batch)  # runs only while a step is traced
    model.fit(np.zeros((8, 16, 16, 3)), np.ones((8, 16, 16, 1)), batch_size=4, epochs=2, verbose=0)
    assert len(traced) == 1  # twice where the first step makes the optimizer's variables
    assert int(optimizer.iterations) == 4


def test_a_nan_loss_stops_training_without_saving_a_model(sample_dir, tmp_path, caplog):
    run_dir = tmp_path / "run"
    status, log = train_here(["--data-dir", str(sample_dir), "--epochs", "5", "--out-dir", str(run_dir),
                              "--learning-rate", "1e30", "--clip-norm", "0", *FAST], caplog)
    assert status == 1
    assert "the loss became NaN" in log
    assert not (run_dir / "model.keras").exists()
    assert len(logged_epochs(run_dir)) < 5


def see_a_flat_validation_loss(monkeypatch):
    """Makes train.py's early stopping and learning-rate plateau see the
    same validation loss every epoch: lowest at the first each watches,
    never lower."""
    import keras

    def seeing_a_flat_loss(callback_class):
        class SeeingAFlatLoss(callback_class):
            def on_epoch_end(self, epoch, logs=None):
                super().on_epoch_end(epoch, {**(logs or {}), self.monitor: 0.5})

        return SeeingAFlatLoss

    for name in ("EarlyStopping", "ReduceLROnPlateau"):
        monkeypatch.setattr(keras.callbacks, name, seeing_a_flat_loss(getattr(keras.callbacks, name)))


def test_a_run_ended_by_early_stopping_says_at_which_epoch_and_since_when_its_loss_fell_no_more(
        sample_dir, tmp_path, caplog, monkeypatch):
    see_a_flat_validation_loss(monkeypatch)
    run_dir = tmp_path / "run"
    status, log = train_here(["--data-dir", str(sample_dir), "--epochs", "5", "--patience", "2",
                              "--out-dir", str(run_dir), *FAST], caplog)
    assert status == 0 and logged_epochs(run_dir) == [0, 1, 2]
    assert ("stopped early at epoch 3 of 5: the validation loss was lowest at epoch 1, and no lower in the 2 epochs "
            "after it (--patience 2)") in log
    assert (run_dir / "model.keras").is_file()


def test_a_resumed_run_ended_by_early_stopping_says_its_loss_was_lowest_since_it_resumed(
        sample_dir, tmp_path, caplog, monkeypatch):
    # Keras' early stopping starts afresh with each fit: an epoch before the resume may have been lower.
    see_a_flat_validation_loss(monkeypatch)
    run_dir = tmp_path / "run"
    args = ["--data-dir", str(sample_dir), "--epochs", "6", "--patience", "2", "--out-dir", str(run_dir), *FAST]
    assert train.main(args, extra_callbacks=[ctrl_c_after_epoch(1)]) == 130  # Ctrl-C after 2 epochs
    status, log = train_here(args, caplog)
    assert status == 0 and logged_epochs(run_dir) == [0, 1, 2, 3, 4]
    assert ("stopped early at epoch 5 of 6: since the run resumed at epoch 3, the validation loss was lowest at "
            "epoch 3, and no lower in the 2 epochs after it (--patience 2)") in log


def test_a_run_resumed_after_the_plateau_schedule_lowered_its_rate_goes_on_at_the_lowered_rate(
        sample_dir, tmp_path, caplog, monkeypatch):
    see_a_flat_validation_loss(monkeypatch)  # the rate divided by 5 at the end of every epoch but the first
    run_dir = tmp_path / "run"
    args = ["--data-dir", str(sample_dir), "--epochs", "4", "--lr-schedule", "plateau", "--lr-patience", "1",
            "--patience", "10", "--out-dir", str(run_dir), *FAST]
    assert train.main(args, extra_callbacks=[ctrl_c_after_epoch(2)]) == 130  # as the rate was lowered after epoch 2
    status, log = train_here(args, caplog)
    assert status == 0 and "resuming the run" in log
    # Each epoch's rate, as an uninterrupted run has them: epoch 3's as lowered after epoch 2, not epoch 2's.
    assert logged(run_dir, "learning_rate") == pytest.approx([1e-3, 1e-3, 2e-4, 4e-5])


def test_a_missing_dataset_folder_is_an_error_naming_it_and_leaves_no_run_folder(tmp_path, capsys):
    assert train.main(["--data-dir", str(tmp_path / "no_such_data"), "--out-dir", str(tmp_path / "run"), *FAST]) == 2
    assert (f"error: image folder {tmp_path / 'no_such_data' / 'images'} does not exist (nor does "
            f"{tmp_path / 'no_such_data'})") in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_an_unreadable_photo_costs_that_photo_and_moves_no_other_between_splits(sample_dir, tmp_path, caplog):
    intact = data.split_pairs(data.find_pairs(sample_dir / "images", sample_dir / "masks"), 0.2, 0.2)
    broken = intact["val"][0][0]
    broken.write_bytes(b"not a jpeg")
    run_dir = tmp_path / "run"
    status, log = train_here(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir), *FAST], caplog)
    assert status == 0
    assert "pairs: 12 train, 3 validation, 4 test, 1 skipped as unreadable" in log
    assert list(json.loads((run_dir / "config.json").read_text())["skipped"]) == [str(broken)]
    assert split_lists(run_dir / "splits") == {name: {image.stem for image, _ in pairs} for name, pairs in intact.items()}
    assert json.loads((run_dir / "metrics.json").read_text())["val"]["images"] == 3


def test_init_weights_that_are_not_a_model_file_are_a_usage_error_naming_it_before_the_photos_are_read(
        sample_dir, tmp_path, capsys):
    (tmp_path / "notes.keras").write_text("not a model")
    with zipfile.ZipFile(tmp_path / "photos.keras", "w") as archive:  # a zip of something else, named .keras
        archive.writestr("b.jpg", b"")
        archive.writestr("a.jpg", b"")
    expected = {"notes.keras": "is not a .keras model but text, beginning 'not a model'",
                "photos.keras": "is a zip archive of a.jpg, b.jpg, not a .keras model (one holds config.json and "
                                "model.weights.h5)"}
    for name, reason in expected.items():
        with pytest.raises(SystemExit) as stopped:
            train.main(["--data-dir", str(sample_dir), "--init-weights", str(tmp_path / name),
                        "--out-dir", str(tmp_path / "run"), *FAST])
        assert stopped.value.code == 2
        assert f"error: --init-weights: {tmp_path / name} {reason}" in capsys.readouterr().err
        assert not (tmp_path / "run").exists()  # said with the settings, before the photos are checked


def test_a_dataset_whose_training_photos_are_all_unreadable_is_an_error_naming_them(sample_dir, tmp_path, capsys):
    intact = data.split_pairs(data.find_pairs(sample_dir / "images", sample_dir / "masks"), 0.2, 0.2)
    for image, _ in intact["train"]:
        image.write_bytes(b"")
    assert train.main(["--data-dir", str(sample_dir), "--out-dir", str(tmp_path / "run"), *FAST]) == 2
    said = capsys.readouterr().err
    named = "".join(f"\n  {image}: empty file" for image in sorted(str(image) for image, _ in intact["train"])[:5])
    training = len(intact["train"])
    assert f"error: none of the {training} training photos is usable:{named}\n  and {training - 5} more\n" in said
    assert not (tmp_path / "run").exists()  # nor a run folder of split lists, which a run on mended photos would redo


def test_help_explains_each_flag_with_the_comment_beside_its_constant(capsys):
    with pytest.raises(SystemExit):
        train.parse_config(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--clip-norm CLIP_NORM gradient clipping by global norm; 0 turns it off (default: 1.0)" in text
    assert set(train.constant_comments()) == set(train.HYPERPARAMETERS)


def test_imagenet_weights_that_cannot_be_downloaded_give_a_clear_way_out(sample_dir, tmp_path, monkeypatch):
    import model

    def offline_build(*args, **kwargs):
        raise Exception("URL fetch failure on https://example.invalid/weights.h5: None -- Name or service not known")

    monkeypatch.setattr(model, "build_model", offline_build)
    with pytest.raises(SystemExit, match="could not download the ImageNet encoder weights .* pass --encoder-weights"):
        train.main(["--data-dir", str(sample_dir), "--model", "resnet50_unet", "--encoder-weights", "imagenet",
                    "--out-dir", str(tmp_path / "run")])


def test_init_weights_start_a_run_from_a_trained_model_at_another_size(tmp_path):
    import keras
    import numpy as np

    from model import build_model

    keras.utils.set_random_seed(1)
    trained = build_model("unet", (64, 64), base_filters=8, depth=3)
    trained.save(tmp_path / "trained.keras")
    larger = build_model("unet", (96, 96), base_filters=8, depth=3)
    assert not all(np.array_equal(a, b) for a, b in zip(larger.get_weights(), trained.get_weights()))
    train.load_initial_weights(larger, str(tmp_path / "trained.keras"))
    assert all(np.array_equal(a, b) for a, b in zip(larger.get_weights(), trained.get_weights()))
    # A wider network starts from the trained one's predictions.
    wider = build_model("unet", (96, 96), base_filters=8, depth=3, decoder_width=2)
    train.load_initial_weights(wider, str(tmp_path / "trained.keras"))
    images = np.random.default_rng(0).uniform(0, 255, (1, 96, 96, 3)).astype(np.float32)
    np.testing.assert_allclose(wider.predict(images, verbose=0), larger.predict(images, verbose=0), atol=1e-6)

    other = build_model("unet", (64, 64), base_filters=4, depth=2)
    with pytest.raises(ValueError, match="trained.keras: its weights do not fit"):
        train.load_initial_weights(other, str(tmp_path / "trained.keras"))
    (tmp_path / "cut_short.keras").write_bytes((tmp_path / "trained.keras").read_bytes()[:2000])
    with pytest.raises(ValueError, match="cut_short.keras: not a .keras file .*: corrupt, cut short, or another format"):
        train.load_initial_weights(other, str(tmp_path / "cut_short.keras"))


def test_freeze_batch_norm_keeps_every_batch_norm_layer_as_trained_while_the_rest_learns(sample_dir, tmp_path,
                                                                                          caplog):
    import keras
    import numpy as np

    from model import build_model

    keras.utils.set_random_seed(1)
    trained = build_model("unet", (64, 64), decoder_width=0.25)  # what FAST trains
    trained.save(tmp_path / "trained.keras")
    run_dir = tmp_path / "run"
    status, log = train_here(["--data-dir", str(sample_dir), "--epochs", "1", "--out-dir", str(run_dir),
                              "--init-weights", str(tmp_path / "trained.keras"), "--freeze-batch-norm", "true", *FAST],
                             caplog)
    assert status == 0
    assert "batch norm frozen in 18 layers" in log  # two per block: 4 down, the bottleneck, 4 up
    assert f"input 64x64, weights: those of {tmp_path / 'trained.keras'}\n" in log  # not "encoder weights: None"
    tuned = keras.saving.load_model(run_dir / "model.keras", compile=False)
    for before, after in zip(trained.layers, tuned.layers):
        unchanged = all(np.array_equal(a, b) for a, b in zip(before.get_weights(), after.get_weights()))
        if isinstance(before, keras.layers.BatchNormalization):
            assert unchanged, before.name  # statistics, scale and offset alike
            assert after.trainable  # saved as an ordinary model
        elif isinstance(before, keras.layers.Conv2D):
            assert not unchanged, before.name


def test_freeze_batch_norm_reaches_the_layers_of_a_nested_encoder():
    from model import build_model

    model = build_model("mobilenetv2_unet", (64, 64))
    trainable = len(model.trainable_weights)
    assert train.set_batch_norm_frozen(model) == 62  # 52 in the MobileNetV2 encoder, 10 in the decoder
    assert len(model.trainable_weights) == trainable - 2 * 62  # each one's scale and offset
    assert not any(variable.path.endswith(("gamma", "beta")) for variable in model.trainable_weights)
    train.set_batch_norm_frozen(model, False)
    assert len(model.trainable_weights) == trainable


def test_fine_tuning_neither_loads_nor_downloads_the_encoder_weights(sample_dir, tmp_path, monkeypatch):
    import model

    built_with = {}

    def recording_build(name, image_size, encoder_weights=None, **options):
        built_with["encoder_weights"] = encoder_weights
        raise RuntimeError("built")

    trained = tmp_path / "trained.keras"
    model.build_model("mobilenetv2_unet", (64, 64), encoder_weights=None).save(trained)  # its weights: never read
    monkeypatch.setattr(model, "build_model", recording_build)
    # A missing encoder file would fail in resolve_encoder_weights if it were looked at.
    with pytest.raises(RuntimeError, match="built"):
        train.main(["--data-dir", str(sample_dir), "--model", "mobilenetv2_unet", "--encoder-weights",
                    str(tmp_path / "missing.weights.h5"), "--init-weights", str(trained),
                    "--out-dir", str(tmp_path / "run")])
    assert built_with == {"encoder_weights": None}
