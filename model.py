"""U-Net models for person segmentation, in backend-agnostic Keras 3.

Every model takes RGB pixels in [0, 255] (float) and returns a one-channel
sigmoid mask in float32. Normalisation for the encoder happens inside the
model, so a saved `.keras` file can never be fed with the wrong
normalisation, and only built-in layers are used, so
`keras.saving.load_model(path)` needs no custom objects.

There is deliberately no `import tensorflow` here: the models also run under
the JAX and PyTorch backends.
"""

import keras
import numpy as np
from keras import layers

from model_files import model_file, not_a_keras_model, segmenter_shapes_trouble

MODEL_NAMES = ("unet", "mobilenetv2_unet", "resnet50_unet")

# Every encoder halves the resolution five times (or `depth` times for the
# plain U-Net), so the input sides must be multiples of this.
ENCODER_STRIDE = 32

# Feature maps of the pretrained encoders used as skip connections, from
# 1/2 to 1/16 of the input resolution, and the 1/32 bottleneck.
MOBILENETV2_SKIPS = (
    "block_1_expand_relu",
    "block_3_expand_relu",
    "block_6_expand_relu",
    "block_13_expand_relu",
)
MOBILENETV2_BOTTLENECK = "out_relu"
RESNET50_SKIPS = ("conv1_relu", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out")
RESNET50_BOTTLENECK = "conv5_block3_out"
# Decoder widths, from the 1/16 level to full resolution.
MOBILENETV2_DECODER_FILTERS = (96, 64, 48, 32, 16)
RESNET50_DECODER_FILTERS = (256, 128, 64, 32, 16)
DECODER_FILTERS = {"mobilenetv2_unet": MOBILENETV2_DECODER_FILTERS, "resnet50_unet": RESNET50_DECODER_FILTERS}
# The plain U-Net's first level; each level down doubles it.
UNET_BASE_FILTERS = 32

# Batch-norm moving averages: 0.9 (PyTorch's default) follows the weights
# within ~10 steps. keras.applications uses 0.999, a ~1000-step average meant
# for ImageNet-length runs: when fine-tuning on a few thousand photos (or the
# three batches of the bundled sample), the statistics lag far behind the
# changing weights and validation, in inference mode, swings wildly.
BN_MOMENTUM = 0.9

# ImageNet channel means in RGB order, the "caffe" preprocessing of ResNet-50.
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)


def conv_block(x, filters, separable=False, name=None):
    """Two 3x3 convolutions, each followed by batch norm and ReLU."""
    conv = layers.SeparableConv2D if separable else layers.Conv2D
    for i in (1, 2):
        x = conv(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn{i}")(x)
        x = layers.ReLU(name=f"{name}_relu{i}")(x)
    return x


def upsample(x, filters, mode, name):
    """Doubles the resolution: bilinear resize (cheap, no checkerboard) or a
    learned transposed convolution (the classic U-Net choice)."""
    if mode == "bilinear":
        return layers.UpSampling2D(interpolation="bilinear", name=f"{name}_up")(x)
    if mode == "transpose":
        return layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"{name}_up")(x)
    raise ValueError(f"upsampling must be 'bilinear' or 'transpose', got {mode!r}")


def decoder(x, skips, filters, upsampling="bilinear", separable=False):
    """U-Net decoder: upsample, concatenate the skip of the same resolution,
    convolve; `skips` and `filters` go from the deepest level to the finest."""
    for level, (skip, width) in enumerate(zip(skips, filters)):
        name = f"decoder{level}"
        x = upsample(x, width, upsampling, name)
        x = layers.Concatenate(name=f"{name}_concat")([x, skip])
        x = conv_block(x, width, separable=separable, name=name)
    return x


def mask_head(x):
    # float32 output keeps the loss numerically safe under mixed precision.
    return layers.Conv2D(1, 1, activation="sigmoid", dtype="float32", name="mask")(x)


def check_input_shape(input_shape, multiple):
    height, width, channels = input_shape
    if channels != 3 or height % multiple or width % multiple:
        raise ValueError(
            f"input_shape must be (height, width, 3) with height and width multiples "
            f"of {multiple}; got {tuple(input_shape)}"
        )


def unet(input_shape=(256, 256, 3), base_filters=UNET_BASE_FILTERS, depth=4, upsampling="transpose", separable=False):
    """The classic U-Net (Ronneberger et al. 2015) with batch norm, trained from scratch.

    `base_filters` is the width of the first level, doubled at every level down;
    `depth` is the number of 2x downsamplings.
    """
    check_input_shape(input_shape, 2**depth)
    inputs = keras.Input(input_shape, name="image")
    x = layers.Rescaling(1 / 255.0, name="normalize")(inputs)
    skips = []
    for level in range(depth):
        x = conv_block(x, base_filters * 2**level, separable=separable, name=f"encoder{level}")
        skips.append(x)
        x = layers.MaxPooling2D(name=f"encoder{level}_pool")(x)
    x = conv_block(x, base_filters * 2**depth, separable=separable, name="bottleneck")
    widths = [base_filters * 2**level for level in reversed(range(depth))]
    x = decoder(x, skips[::-1], widths, upsampling, separable)
    return keras.Model(inputs, mask_head(x), name="unet")


def pretrained_unet(encoder, normalized, inputs, skip_names, bottleneck_name, decoder_filters, upsampling, separable, name):
    """Puts a U-Net decoder on a keras.applications encoder.

    The encoder is wrapped as one feature-extractor layer returning its skip
    feature maps; the finest skip is the input image itself (full resolution).
    """
    for layer in encoder.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    outputs = [encoder.get_layer(n).output for n in (*skip_names, bottleneck_name)]
    features = keras.Model(encoder.input, outputs, name=f"{encoder.name}_features")(normalized)
    *skips, bottleneck = features
    skips = [normalized, *skips]
    x = decoder(bottleneck, skips[::-1], decoder_filters, upsampling, separable)
    return keras.Model(inputs, mask_head(x), name=name)


def mobilenetv2_unet(input_shape=(256, 256, 3), encoder_weights=None, alpha=1.0,
                     decoder_filters=MOBILENETV2_DECODER_FILTERS, upsampling="bilinear", separable=True):
    """U-Net decoder on a MobileNetV2 encoder: the fast variant for CPUs.

    `encoder_weights`: None (random), a path to a `.weights.h5` file for
    `keras.applications.MobileNetV2(include_top=False)`, or "imagenet"
    (downloads; needs internet).
    """
    check_input_shape(input_shape, ENCODER_STRIDE)
    inputs = keras.Input(input_shape, name="image")
    # MobileNetV2 expects pixels in [-1, 1].
    normalized = layers.Rescaling(1 / 127.5, offset=-1.0, name="normalize")(inputs)
    encoder = keras.applications.MobileNetV2(
        input_shape=input_shape, alpha=alpha, include_top=False, weights=encoder_weights
    )
    return pretrained_unet(encoder, normalized, inputs, MOBILENETV2_SKIPS, MOBILENETV2_BOTTLENECK,
                           decoder_filters, upsampling, separable, name="mobilenetv2_unet")


def resnet50_unet(input_shape=(256, 256, 3), encoder_weights=None,
                  decoder_filters=RESNET50_DECODER_FILTERS, upsampling="bilinear", separable=False):
    """U-Net decoder on a ResNet-50 encoder.

    `encoder_weights`: None (random), a `.weights.h5` path, or "imagenet".
    """
    check_input_shape(input_shape, ENCODER_STRIDE)
    inputs = keras.Input(input_shape, name="image")
    # ResNet-50's ImageNet weights expect BGR pixels minus the ImageNet mean.
    # We subtract the mean in RGB order here and flip the input channels of
    # the first convolution instead of the image, so only built-in layers
    # are needed and the result is the same.
    normalized = layers.Normalization(mean=IMAGENET_MEAN_RGB, variance=(1.0, 1.0, 1.0), name="normalize")(inputs)
    encoder = keras.applications.ResNet50(input_shape=input_shape, include_top=False, weights=encoder_weights)
    if encoder_weights is not None:
        first_conv = encoder.get_layer("conv1_conv")
        kernel, bias = first_conv.get_weights()
        first_conv.set_weights([kernel[:, :, ::-1, :], bias])
    return pretrained_unet(encoder, normalized, inputs, RESNET50_SKIPS, RESNET50_BOTTLENECK,
                           decoder_filters, upsampling, separable, name="resnet50_unet")


def build_model(name, image_size=(256, 256), encoder_weights=None, decoder_width=1.0, **options):
    """The one entry point: `name` is one of MODEL_NAMES, `image_size` is
    (height, width); `decoder_width` multiplies the decoder's channels (for
    the plain "unet", whose decoder mirrors its encoder, the whole network's);
    `options` go to the builder (e.g. base_filters, depth, upsampling,
    separable, decoder_filters)."""
    input_shape = (*image_size, 3)

    def widened(filters):
        return max(1, round(filters * decoder_width))

    if name == "unet":
        if encoder_weights is not None:
            raise ValueError("the plain 'unet' has no pretrained encoder; use encoder_weights=None")
        options["base_filters"] = widened(options.get("base_filters", UNET_BASE_FILTERS))
        return unet(input_shape, **options)
    pretrained = {"mobilenetv2_unet": mobilenetv2_unet, "resnet50_unet": resnet50_unet}
    if name in pretrained:
        options["decoder_filters"] = tuple(map(widened, options.get("decoder_filters", DECODER_FILTERS[name])))
        return pretrained[name](input_shape, encoder_weights=encoder_weights, **options)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


def decoder_width_of(config):
    """How many times as wide as build_model's default the decoder of the
    model of this saved configuration (see model_files.saved_config) is: its
    decoder_width, to the rounding. Of a mobilenetv2_unet or resnet50_unet,
    its deepest decoder convolution's channels over the default's; of the
    plain unet, widened whole, its first convolution's over
    UNET_BASE_FILTERS. None for another model or where the configuration
    does not say."""
    name = config.get("name")
    layer_name, default = (("encoder0_conv1", UNET_BASE_FILTERS) if name == "unet" else
                           ("decoder0_conv1", DECODER_FILTERS.get(name, (None,))[0]))
    try:
        (filters,) = [layer["config"]["filters"] for layer in config.get("layers", [])
                      if layer["config"]["name"] == layer_name]
    except (KeyError, TypeError, ValueError):  # none, or not as build_model makes it
        return None
    return filters / default if default and isinstance(filters, int) else None


def load_trained_model(path):
    """The model in a .keras file (as train.py writes), without its training
    set-up; FileNotFoundError or ValueError naming the file and the problem
    where there is none, it cannot be loaded, or it is not a segmentation
    model as this repository runs one (see segmenter_trouble)."""
    path = model_file(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    if trouble := not_a_keras_model(path):
        raise ValueError(f"cannot load model {path}: {trouble}")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a bad file
        raise ValueError(f"cannot load model {path}: {error}") from error
    if trouble := segmenter_trouble(model):
        raise ValueError(f"cannot use model {path}: {trouble}")
    return in_float32(model)


def in_float32(model):
    """`model` computing in float32, with the same weights: itself where it
    does already, else a copy. A model trained under mixed precision (as
    train.py trains on a GPU) keeps its float16 layers in its file, which
    TensorFlow Lite cannot convert and a CPU runs slowly."""
    if all(layer.dtype_policy.compute_dtype == "float32" for layer in layers_within(model)):
        return model

    def as_float32(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    copy = keras.models.clone_model(model, clone_function=as_float32, recursive=True)
    copy.set_weights(model.get_weights())
    return copy


def layers_within(model):
    """Every layer of `model`, and of the models within it (an encoder)."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from layers_within(layer)


def segmenter_trouble(model):
    """What keeps a Keras model from being one that predict.py and
    evaluate.py can run: one input of RGB images of a fixed size (batch,
    height, width, 3) and one output of masks of one channel, the person's
    probability (batch, height, width, 1); None where nothing does. (A
    classifier's output, or a two-class one of background first, would be
    read as a mask; an input of any size would be given 1x1 images.)"""
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs:
        return "its input and output shapes are not known (a subclassed model?): save a functional model"
    return segmenter_shapes_trouble([tuple(tensor.shape) for tensor in inputs],
                                    [tuple(tensor.shape) for tensor in outputs])


def grow_weights(source, target):
    """Copies a trained model's weights into `target`, a model of the same
    architecture whose layers may have more channels (a wider decoder, any
    input size), so that `target` computes exactly what `source` does.

    Each old channel keeps its place (after a concatenation, its place in its
    own piece); a new channel keeps target's random initial weights, except
    that what it feeds into the old channels is zero. Training then starts from
    the trained model's accuracy, and the new channels, which receive gradients
    through their zero outgoing weights, learn what the old ones missed
    (Net2Net, Chen et al. 2016, with zero instead of copied channels).
    Raises ValueError when the two architectures differ in anything else.
    """
    source_layers, target_layers = source.layers, target.layers
    if [type(layer) for layer in source_layers] != [type(layer) for layer in target_layers]:
        raise ValueError(f"{source.name} and {target.name} are different architectures")
    for old, new in zip(source_layers, target_layers):
        old_values, new_values = old.get_weights(), new.get_weights()
        old_shapes, new_shapes = [v.shape for v in old_values], [v.shape for v in new_values]
        if old_shapes == new_shapes:
            new.set_weights(old_values)
            continue
        if any(len(o) != len(n) or np.any(np.less(n, o)) for o, n in zip(old_shapes, new_shapes)):
            raise ValueError(f"layer {new.name} is narrower than {old.name}: {old_shapes} -> {new_shapes}")
        if not isinstance(new, (layers.Conv2D, layers.SeparableConv2D, layers.Conv2DTranspose, layers.BatchNormalization)):
            raise ValueError(f"layer {new.name} cannot take the weights of {old.name}: {old_shapes} -> {new_shapes}")
        input_places = channel_places(source, target, old, new)
        transposed = isinstance(new, layers.Conv2DTranspose)
        new.set_weights([grown(o, n, variable.name, transposed, input_places)
                         for o, n, variable in zip(old_values, new_values, new.weights)])


def channel_places(source, target, old, new):
    """Where each input channel of `old` sits among the input channels of
    `new`: in order, or piece by piece after a concatenation."""
    if isinstance(new, layers.BatchNormalization):
        return None
    # decoder() names a level's concatenation and its first convolution alike.
    concat_name = new.name.rsplit("_", 1)[0] + "_concat"
    if new.name.endswith("_conv1") and concat_name in {layer.name for layer in target.layers}:
        old_pieces = [t.shape[-1] for t in source.get_layer(concat_name).input]
        new_pieces = [t.shape[-1] for t in target.get_layer(concat_name).input]
        places, offset = [], 0
        for old_size, new_size in zip(old_pieces, new_pieces):
            places += range(offset, offset + old_size)
            offset += new_size
        return places
    return list(range(old.input.shape[-1]))


def grown(old_value, new_value, kind, transposed, input_places):
    """One weight array (`kind`: the variable's name), widened: old values at
    their places; the weights from a new input channel into an old output
    channel set to zero."""
    value = new_value.copy()
    if value.ndim == 1:  # bias, batch norm: one value per output channel
        value[: len(old_value)] = old_value
        return value
    if kind == "depthwise_kernel":  # (height, width, in, 1): one filter per input channel
        value[:, :, input_places] = old_value
        return value
    # (height, width, in, out); Conv2DTranspose stores (height, width, out, in).
    new_kernel, old_kernel = (value.swapaxes(2, 3), old_value.swapaxes(2, 3)) if transposed else (value, old_value)
    old_outputs = old_kernel.shape[3]
    new_inputs = np.setdiff1d(np.arange(new_kernel.shape[2]), input_places)
    new_kernel[:, :, new_inputs, :old_outputs] = 0
    new_kernel[:, :, input_places, :old_outputs] = old_kernel
    return value
