import re

import keras
import numpy as np
import pytest

from model import MODEL_NAMES, build_model, grow_weights, in_float32, layers_within, load_trained_model

SMALL = {"unet": {"base_filters": 4, "depth": 3}, "mobilenetv2_unet": {"alpha": 0.35}, "resnet50_unet": {}}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_builds_runs_and_round_trips_through_save_and_load(name, tmp_path):
    model = build_model(name, image_size=(64, 96), **SMALL[name])
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 96, 3)).astype(np.float32)
    masks = model.predict(images, verbose=0)
    assert masks.shape == (2, 64, 96, 1) and masks.dtype == np.float32
    assert 0.0 <= masks.min() and masks.max() <= 1.0
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = load_trained_model(path)  # as predict.py and evaluate.py load it, and check it is a segmenter
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), masks, atol=1e-5)


def classifier(inputs):
    return keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(inputs))


@pytest.mark.parametrize("input_shape, head, says", [
    ((64, 64, 3), classifier, "its output is of shape (None, 10), not masks of one channel, the person's "
                              "probability (batch, height, width, 1)"),
    # Background first: its channel 0 would have been read as the person.
    ((64, 64, 3), lambda inputs: keras.layers.Conv2D(2, 1, activation="softmax")(inputs),
     "its output is of shape (None, 64, 64, 2), not masks of one channel"),
    ((64, 64, 1), lambda inputs: keras.layers.Conv2D(1, 1)(inputs),
     "its input is of shape (None, 64, 64, 1), not RGB images (batch, height, width, 3)"),
    # Run as it was, it was given images of 1x1 pixels by TensorFlow Lite, and failed in Keras on None.
    ((None, None, 3), lambda inputs: keras.layers.Conv2D(1, 1)(inputs),
     "its input, of shape (None, None, None, 3), takes images of any size, where the model runs at the one it was "
     "trained at: build it with that size"),
])
def test_a_model_file_that_is_no_person_segmenter_is_refused_saying_what_it_takes_or_gives(input_shape, head, says,
                                                                                           tmp_path):
    inputs = keras.Input(input_shape)
    path = tmp_path / "other.keras"
    keras.Model(inputs, head(inputs)).save(path)
    with pytest.raises(ValueError) as error:
        load_trained_model(path)
    assert str(error.value).startswith(f"cannot use model {path}: {says}")


def test_a_tflite_file_is_said_to_run_in_predict_py_and_evaluate_py_not_to_load_in_keras(tmp_path):
    path = tmp_path / "person.tflite"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3")
    with pytest.raises(ValueError, match=re.escape(
            f"cannot load model {path}: a TensorFlow Lite model, which predict.py and evaluate.py run but Keras "
            f"cannot load (nor train): pass the .keras model it was converted from")):
        load_trained_model(path)


def test_output_stays_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model("unet", (32, 32), base_filters=4, depth=2)
        assert model.get_layer("encoder0_conv1").compute_dtype == "float16"
        assert model.output.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def segmenter_with_an_encoder_model():
    """A small segmenter with a model within it, as the pretrained encoders are."""
    images = keras.Input((32, 32, 3))
    encoder = keras.Model(images, keras.layers.Conv2D(8, 3, padding="same", activation="relu")(images), name="encoder")
    features = keras.layers.Conv2D(4, 3, padding="same")(encoder(images))
    return keras.Model(images, keras.layers.Conv2D(1, 1, activation="sigmoid", dtype="float32")(features),
                       name="segmenter")


def test_a_model_trained_under_mixed_precision_loads_computing_in_float32_and_converts_to_tflite(tmp_path):
    import lite

    keras.mixed_precision.set_global_policy("mixed_float16")  # as train.py trains on a GPU
    try:
        mixed = segmenter_with_an_encoder_model()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    mixed.save(tmp_path / "mixed.keras")
    as_saved = keras.saving.load_model(tmp_path / "mixed.keras", compile=False)
    assert {layer.compute_dtype for layer in layers_within(as_saved)} == {"float16", "float32"}
    model = load_trained_model(tmp_path / "mixed.keras")
    assert {layer.compute_dtype for layer in layers_within(model)} == {"float32"} and model.name == "segmenter"
    in_float32_from_the_start = segmenter_with_an_encoder_model()
    in_float32_from_the_start.set_weights(mixed.get_weights())
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    masks = model.predict_on_batch(pixels)
    np.testing.assert_allclose(masks, in_float32_from_the_start.predict_on_batch(pixels), atol=1e-6)
    # Its float16 layers kept, TensorFlow Lite's converter refused it ("Some ops are not supported by the native
    # TFLite runtime"), and predict.py ran it with Keras instead, half as fast.
    converted = lite.LiteModel(lite.converted(model), threads=1)
    np.testing.assert_allclose(converted.predict_on_batch(pixels), masks, atol=1e-5)
    assert in_float32(model) is model  # one that computes in float32 already is not copied


@pytest.mark.parametrize("upsampling", ["bilinear", "transpose"])
def test_unet_width_depth_and_upsampling_are_configurable(upsampling):
    model = build_model("unet", (64, 64), base_filters=8, depth=2, upsampling=upsampling, separable=True)
    assert model.get_layer("bottleneck_conv1").filters == 32
    assert model.get_layer("decoder0_up").__class__.__name__ == (
        "UpSampling2D" if upsampling == "bilinear" else "Conv2DTranspose")


def test_mobilenet_encoder_loads_weights_from_a_file(tmp_path):
    encoder = keras.applications.MobileNetV2(input_shape=(64, 64, 3), alpha=0.35, include_top=False, weights=None)
    path = tmp_path / "encoder.weights.h5"
    encoder.save_weights(path)
    model = build_model("mobilenetv2_unet", (64, 64), encoder_weights=str(path), alpha=0.35)
    features = model.get_layer(f"{encoder.name}_features")
    np.testing.assert_array_equal(features.get_layer("Conv1").get_weights()[0], encoder.get_layer("Conv1").get_weights()[0])


def test_resnet_first_convolution_takes_rgb_when_weights_are_bgr(tmp_path):
    encoder = keras.applications.ResNet50(input_shape=(64, 64, 3), include_top=False, weights=None)
    path = tmp_path / "resnet.weights.h5"
    encoder.save_weights(path)
    model = build_model("resnet50_unet", (64, 64), encoder_weights=str(path))
    kernel = model.get_layer(f"{encoder.name}_features").get_layer("conv1_conv").get_weights()[0]
    np.testing.assert_array_equal(kernel, encoder.get_layer("conv1_conv").get_weights()[0][:, :, ::-1, :])


def test_input_sides_must_fit_the_encoder_stride():
    with pytest.raises(ValueError, match="multiples of 32"):
        build_model("mobilenetv2_unet", (100, 96))


def test_unknown_model_name_is_an_error():
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        build_model("vgg")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_batch_norm_uses_a_momentum_suited_to_short_runs(name):
    model = build_model(name, (64, 64), **SMALL[name])

    def batch_norms(layer):
        if isinstance(layer, keras.layers.BatchNormalization):
            yield layer
        for inner in getattr(layer, "layers", []):
            yield from batch_norms(inner)

    momenta = {layer.momentum for layer in batch_norms(model)}
    assert momenta == {0.9}


def test_decoder_width_multiplies_the_decoder_channels():
    model = build_model("mobilenetv2_unet", (64, 64), alpha=0.35, decoder_width=2)
    assert [model.get_layer(f"decoder{level}_conv1").filters for level in range(5)] == [192, 128, 96, 64, 32]
    # The plain U-Net's decoder mirrors its encoder: the whole network widens.
    assert build_model("unet", (64, 64), base_filters=4, depth=2, decoder_width=1.5).get_layer("encoder0_conv1").filters == 6


def trained_looking(model):
    """Batch-norm statistics away from their initial values, so that copying
    them wrongly would show in inference-mode predictions."""
    rng = np.random.default_rng(2)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([gamma * rng.uniform(0.5, 1.5, gamma.shape), beta + rng.normal(0, 0.1, beta.shape),
                               mean + rng.normal(0, 0.3, mean.shape), variance * rng.uniform(0.5, 2, variance.shape)])
    return model


@pytest.mark.parametrize("name, options", [
    ("mobilenetv2_unet", {"alpha": 0.35}),
    ("unet", {"base_filters": 4, "depth": 3, "upsampling": "transpose"}),
    ("unet", {"base_filters": 4, "depth": 3, "upsampling": "bilinear", "separable": True}),
])
def test_a_model_grown_wider_computes_what_the_trained_one_did(name, options):
    keras.utils.set_random_seed(0)
    trained = trained_looking(build_model(name, (64, 64), **options))
    wider = build_model(name, (96, 96), decoder_width=2, **options)
    grow_weights(trained, wider)
    assert wider.count_params() > 1.3 * trained.count_params()
    same_size = build_model(name, (96, 96), **options)
    same_size.set_weights(trained.get_weights())
    images = np.random.default_rng(1).uniform(0, 255, (2, 96, 96, 3)).astype(np.float32)
    np.testing.assert_allclose(wider(images, training=False), same_size(images, training=False), atol=1e-6)
    # In training mode batch norm uses the batch's statistics: new channels must not shift the old ones'.
    np.testing.assert_allclose(wider(images, training=True), same_size(images, training=True), atol=1e-4)


def test_the_new_channels_of_a_grown_model_learn():
    keras.utils.set_random_seed(0)
    trained = build_model("unet", (32, 32), base_filters=4, depth=2)
    wider = build_model("unet", (32, 32), base_filters=4, depth=2, decoder_width=2)
    grow_weights(trained, wider)
    head = wider.get_layer("mask")
    assert not head.get_weights()[0][..., 4:, :].any()  # what the new channels feed into the mask: zero
    wider.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    wider.train_on_batch(images, (images[..., :1] > 127).astype(np.float32))
    assert np.abs(head.get_weights()[0][..., 4:, :]).min() > 0


def test_growing_into_a_narrower_or_different_model_is_an_error():
    trained = build_model("unet", (32, 32), base_filters=8, depth=2)
    with pytest.raises(ValueError, match="narrower"):
        grow_weights(trained, build_model("unet", (32, 32), base_filters=4, depth=2))
    with pytest.raises(ValueError, match="different architectures"):
        grow_weights(trained, build_model("unet", (32, 32), base_filters=8, depth=3))


def test_a_model_exported_as_a_saved_model_and_converted_to_tflite_gives_the_same_masks(tmp_path):
    # The recipe of the README's "Using a model outside this repository", run by LiteRT as on a phone.
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    model = build_model("mobilenetv2_unet", image_size=(64, 64), alpha=0.35)
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    masks = model.predict_on_batch(images)
    model.export(tmp_path / "saved_model", format="tf_saved_model", verbose=False)
    saved_model = tf.saved_model.load(str(tmp_path / "saved_model"))  # held: .serve needs its variables alive
    np.testing.assert_allclose(saved_model.serve(images).numpy(), masks, atol=1e-6)
    converted = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved_model")).convert()
    interpreter = Interpreter(model_content=converted)
    interpreter.allocate_tensors()
    (image_input,), (mask_output,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert tuple(image_input["shape"]) == (1, 64, 64, 3) and tuple(mask_output["shape"]) == (1, 64, 64, 1)
    interpreter.set_tensor(image_input["index"], images[:1])  # one photo a call
    interpreter.invoke()
    np.testing.assert_allclose(interpreter.get_tensor(mask_output["index"]), masks[:1], atol=1e-5)
