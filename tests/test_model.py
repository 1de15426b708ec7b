import keras
import numpy as np
import pytest

from model import MODEL_NAMES, build_model

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
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), masks, atol=1e-5)


def test_output_stays_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model("unet", (32, 32), base_filters=4, depth=2)
        assert model.get_layer("encoder0_conv1").compute_dtype == "float16"
        assert model.output.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


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
