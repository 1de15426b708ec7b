import re
from types import SimpleNamespace

import numpy as np
import pytest

import data
import lite
import predict
from conftest import REPO_DIR, with_bicubic_upsampling, write_sample
from model import build_model

SIZE = (32, 32)


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    return build_model("unet", SIZE, base_filters=4, depth=2)


@pytest.fixture(scope="module")
def model_inputs():
    return np.random.default_rng(0).uniform(0, 255, (8, *SIZE, 3)).astype(np.float32)


@pytest.mark.parametrize("conversion, pixels, within", [
    ("float32", np.float32, 1e-5),
    ("dynamic_range", np.float32, 1e-3),
    ("float16", np.float32, 1e-3),
    ("int8", np.uint8, 0.02),  # a few of its 256 levels
])
def test_each_conversion_makes_the_keras_models_masks_within_its_precision(tiny_model, model_inputs, conversion,
                                                                          pixels, within):
    content = lite.converted(tiny_model, conversion, calibration=model_inputs if conversion == "int8" else ())
    converted = lite.LiteModel(content, threads=1)
    assert converted.image["dtype"] == converted.mask["dtype"] == pixels
    assert converted.input_shapes == [(None, *SIZE, 3)] and converted.output_shapes == [(None, *SIZE, 1)]
    masks = converted.predict_on_batch(model_inputs)
    assert masks.dtype == np.float32 and masks.shape == (8, *SIZE, 1)
    difference = np.abs(masks - tiny_model.predict_on_batch(model_inputs)).max()
    assert difference < within
    if conversion != "float32":  # its weights stored at 8 or 16 bits, not 32 (the file: 52-67% of float32's)
        assert len(content) < 0.75 * len(lite.converted(tiny_model))


def test_an_unknown_conversion_an_int8_one_without_fitting_model_inputs_or_another_with_some_is_refused(tiny_model):
    with pytest.raises(ValueError, match="conversion must be one of float32, dynamic_range, float16, int8; got 'int4'"):
        lite.converted(tiny_model, "int4")
    with pytest.raises(ValueError, match="an int8 conversion is calibrated on model inputs: none were given"):
        lite.converted(tiny_model, "int8")
    with pytest.raises(ValueError, match=re.escape("the model takes inputs of shape (32, 32, 3), as "
                                                   "data.preprocess_image makes them for it; a calibration input is "
                                                   "of shape (64, 64, 3)")):
        lite.converted(tiny_model, "int8", np.zeros((2, 64, 64, 3), np.uint8))  # photos of another run's size
    with pytest.raises(ValueError, match="only the int8 conversion is calibrated: a float16 one takes no calibration "
                                         "inputs"):  # rather than given, and unused
        lite.converted(tiny_model, "float16", np.zeros((2, 32, 32, 3), np.uint8))
    assert lite.fits((64, 48, 3), (None, None, 3)) and not lite.fits((64, 48), (None, None, 3))


def test_a_model_that_cannot_be_converted_fails_in_a_line_that_names_what_tflite_lacks(capfd):
    with pytest.raises(Exception, match="is neither a custom op nor a flex op") as raised:
        lite.converted(with_bicubic_upsampling())
    assert len(str(raised.value).splitlines()) > 10  # the converter's every error, and the graph's details
    assert lite.failure(raised.value) == "TensorFlow Lite has no kernels for some of its operations (ResizeBicubic)"
    assert "is neither a custom op nor a flex op" not in capfd.readouterr().err  # said by the error, not twice


def test_a_failure_that_names_no_operations_is_its_first_line_cut_short():
    assert lite.failure(ValueError("the first line\nthe second")) == "the first line"
    assert lite.failure(ValueError("x" * 400)) == "x" * lite.FAILURE_LENGTH + "..."
    assert lite.failure(RuntimeError()) == "RuntimeError"


def test_an_empty_batch_gives_no_masks_of_the_models_shape(tiny_model):
    converted = lite.LiteModel(lite.converted(tiny_model), threads=1)
    assert converted.input.shape == (None, *SIZE, 3)
    masks = converted.predict_on_batch(np.zeros((0, *SIZE, 3), np.float32))
    assert masks.shape == (0, *SIZE, 1) and masks.dtype == np.float32


def test_quantized_pixels_round_to_the_tensors_integers_within_their_range_and_dequantize_back():
    tensor = {"dtype": np.uint8, "quantization": (0.5, 10)}
    pixels = np.array([0.0, 1.0, 1.2, 200.0, -9.0], np.float32)
    assert lite.quantized(pixels, tensor).tolist() == [10, 12, 12, 255, 0]
    assert lite.dequantized(np.array([10, 12, 255, 0], np.uint8), tensor).tolist() == [0.0, 1.0, 122.5, -5.0]
    floats = {"dtype": np.float32, "quantization": (0.0, 0)}
    assert lite.quantized(pixels, floats).tolist() == pixels.tolist()


@pytest.mark.parametrize("batch, dtype, scale, says", [
    (4, np.float32, 0.0, "its input takes batches of exactly 4 photos, where they go through it one at a time"),
    (None, np.int8, 0.0, "its input is of int8 without a quantization scale"),
])
def test_a_tflite_model_that_cannot_be_run_one_photo_at_a_time_or_by_its_scales_is_refused(batch, dtype, scale, says):
    floats = {"dtype": np.float32, "quantization": (0.0, 0)}
    model = SimpleNamespace(input_shapes=[(batch, 32, 32, 3)], image={"dtype": dtype, "quantization": (scale, 0)},
                            mask=floats)
    assert lite.trouble(model).startswith(says)
    assert lite.trouble(SimpleNamespace(input_shapes=[(1, 32, 32, 3)], image=floats, mask=floats)) is None


def test_the_readmes_recipe_converts_a_train_py_run_to_int8_calibrated_on_its_training_photos(tiny_model, tmp_path,
                                                                                             monkeypatch):
    readme = (REPO_DIR / "README.md").read_text()
    (recipe,) = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "lite.converted" in block]
    write_sample(tmp_path / "my_data", count=6, height=48, width=32, seed=1)
    run = tmp_path / "runs" / "person"
    (run / "splits").mkdir(parents=True)
    tiny_model.save(run / "model.keras")
    (run / "splits" / "train.txt").write_text("".join(f"sample_{i:03d}\n" for i in range(6)))
    monkeypatch.chdir(tmp_path)
    exec(recipe, {})
    converted = predict.load_model(run / "model.int8.tflite")
    assert predict.engine_of(converted) == "tflite" and converted.image["dtype"] == np.uint8
    photos = sorted((tmp_path / "my_data" / "images").iterdir())
    inputs = np.stack([data.preprocess_image(data.read_image(path), SIZE) for path in photos]).astype(np.float32)
    assert np.abs(converted.predict_on_batch(inputs) - tiny_model.predict_on_batch(inputs)).max() < 0.02
