"""Training-step throughput of the model variants, and the settings that change it.

    python benchmarks/train_step.py [--image-size 224] [--batch-size 16] [--steps 8] [--only NAME ...]

Each configuration runs in its own process (thread settings and precision
policies are process-wide), trains on one in-memory batch with
train_on_batch so no input pipeline is involved, and is timed after 3
warm-up steps (tracing, compilation); the first of them, timed on its own, is
the wait before training starts. Models are compiled as train.py compiles them.
FLOPs per image are the forward pass counted by TensorFlow's profiler; a
training step costs about 3x that (forward, and backward for activations and
weights). Prints JSON, one object per configuration.

Under another Keras backend (KERAS_BACKEND=jax, say on a GPU machine without
TensorFlow) the models train as Keras compiles them there by default (XLA under
JAX), and FLOPs are not counted: the model is the same, so TensorFlow's count
of it stands.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]

# name: (model, build options, settings)
CONFIGURATIONS = {
    "mobilenetv2_unet": ("mobilenetv2_unet", {}, {}),
    "mobilenetv2_unet+xla": ("mobilenetv2_unet", {}, {"jit_compile": True}),
    "mobilenetv2_unet+mixed_bfloat16": ("mobilenetv2_unet", {}, {"policy": "mixed_bfloat16"}),
    # train.py --mixed-precision on, on a CPU.
    "mobilenetv2_unet+mixed_float16": ("mobilenetv2_unet", {}, {"policy": "mixed_float16"}),
    "mobilenetv2_unet+intra_op_2_inter_op_1": ("mobilenetv2_unet", {}, {"threads": (2, 1)}),
    "mobilenetv2_unet+onednn_off": ("mobilenetv2_unet", {}, {"env": {"TF_ENABLE_ONEDNN_OPTS": "0"}}),
    "mobilenetv2_unet+transpose_decoder": ("mobilenetv2_unet", {"upsampling": "transpose", "separable": False}, {}),
    "mobilenetv2_unet+decoder_width_2": ("mobilenetv2_unet", {"decoder_width": 2.0}, {}),
    # train.py --freeze-batch-norm true: batch norm in inference mode, no statistics to compute.
    "mobilenetv2_unet+frozen_batch_norm": ("mobilenetv2_unet", {}, {"freeze_batch_norm": True}),
    # As train.py compiled before it made the optimizer's variables itself: the first step makes them, and is traced
    # twice.
    "mobilenetv2_unet+optimizer_built_by_first_step": ("mobilenetv2_unet", {}, {"optimizer_built_by_first_step": True}),
    "unet": ("unet", {}, {}),
    "unet+bilinear_separable_decoder": ("unet", {"upsampling": "bilinear", "separable": True}, {}),
    "resnet50_unet": ("resnet50_unet", {}, {}),
    # The memory layout, on one full-resolution decoder stage (model.py and the
    # keras.applications encoders are built channels-last).
    "decoder_stage_channels_last": ("decoder_stage", {"data_format": "channels_last"}, {}),
    "decoder_stage_channels_first": ("decoder_stage", {"data_format": "channels_first"}, {}),
}


def decoder_stage(image_size, data_format):
    """The last decoder level of mobilenetv2_unet as a model of its own (35
    channels in: 32 upsampled + the 3 of the photo; two separable 3x3
    convolutions to 16, batch norm, ReLU; full resolution), in either layout."""
    import keras
    from keras import layers

    channels_first = data_format == "channels_first"
    inputs = keras.Input((35, *image_size) if channels_first else (*image_size, 35))
    x = inputs
    for _ in range(2):
        x = layers.SeparableConv2D(16, 3, padding="same", use_bias=False, data_format=data_format)(x)
        x = layers.BatchNormalization(axis=1 if channels_first else -1)(x)
        x = layers.ReLU()(x)
    outputs = layers.Conv2D(1, 1, activation="sigmoid", data_format=data_format)(x)
    return keras.Model(inputs, outputs, name=f"decoder_stage_{data_format}")


def forward_flops(model):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec((1, *model.input.shape[1:]), tf.float32)
    graph = convert_variables_to_constants_v2(tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op",
                                         options=options).total_float_ops


def training_images_per_second(model, images, masks, steps, warmup_steps=3):
    """Seconds of a compiled model's first training step (tracing it), and
    images/s of its steps on one in-memory batch after `warmup_steps`.
    train_on_batch times the step itself: fit() on a repeated in-memory
    dataset added waits of its own."""
    started = time.perf_counter()
    model.train_on_batch(images, masks)
    first_step_seconds = time.perf_counter() - started
    for _ in range(warmup_steps - 1):
        model.train_on_batch(images, masks)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(images, masks)
    return first_step_seconds, steps * len(images) / (time.perf_counter() - started)


def measure(name, image_size, batch_size, steps):
    """Runs in the child process."""
    model_name, options, settings = CONFIGURATIONS[name]
    if "threads" in settings:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(settings["threads"][0])
        tf.config.threading.set_inter_op_parallelism_threads(settings["threads"][1])
    import keras
    import numpy as np

    sys.path.insert(0, str(REPO_DIR))
    import metrics
    import train
    from model import build_model

    keras.mixed_precision.set_global_policy(settings.get("policy", "float32"))
    if model_name == "decoder_stage":
        model = decoder_stage(image_size, **options)
    else:
        model = build_model(model_name, image_size, **options)
    if settings.get("freeze_batch_norm"):
        train.set_batch_norm_frozen(model)
    backend = keras.backend.backend()
    on_tensorflow = backend == "tensorflow"
    flops = forward_flops(model) if on_tensorflow else None
    if settings.get("optimizer_built_by_first_step"):
        model.compile(optimizer=keras.optimizers.Adam(train.LEARNING_RATE, clipnorm=train.CLIP_NORM),
                      loss=metrics.get_loss(train.LOSS), metrics=metrics.segmentation_metrics())
    else:
        # train.py's settings as shipped; parse_config would check them, importing TensorFlow, which a machine
        # training under JAX may not have.
        shipped_settings = {setting.lower(): value for setting, value in train.HYPERPARAMETERS.items()}
        train.compile_for_training(model, shipped_settings, steps_per_epoch=1,
                                   jit_compile=settings.get("jit_compile", False if on_tensorflow else "auto"))
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch_size, *model.input.shape[1:])).astype(np.float32)
    masks = (rng.uniform(size=(batch_size, *model.output.shape[1:])) > 0.5).astype(np.float32)
    first_step_seconds, rate = training_images_per_second(model, images, masks, steps)
    return {
        "configuration": name, "backend": backend, "parameters_m": round(model.count_params() / 1e6, 2),
        "forward_gflops_per_image": round(flops / 1e9, 3) if flops else None,
        "first_step_s": round(first_step_seconds, 1), "train_images_per_s": round(rate, 2),
        "achieved_train_gflops_per_s": round(3 * flops * rate / 1e9, 1) if flops else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed to each configuration")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGURATIONS), default=list(CONFIGURATIONS))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = (args.image_size, args.image_size)
    if args.child:
        print("RESULT " + json.dumps(measure(args.child, size, args.batch_size, args.steps)))
        return
    results = []
    for name in args.only:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **CONFIGURATIONS[name][2].get("env", {})}
        command = [sys.executable, __file__, "--child", name, "--image-size", str(args.image_size),
                   "--batch-size", str(args.batch_size), "--steps", str(args.steps)]
        try:
            child = subprocess.run(command, capture_output=True, text=True, env=env, timeout=args.timeout)
            lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
            result = json.loads(lines[-1][7:]) if lines else {"configuration": name, "error": child.stderr[-500:]}
        except subprocess.TimeoutExpired:
            result = {"configuration": name, "error": f"did not finish within {args.timeout} s"}
        print(json.dumps(result), flush=True)
        results.append(result)
    print(json.dumps({"benchmark": "train_step", "image_size": args.image_size, "batch_size": args.batch_size,
                      "cpu_count": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
