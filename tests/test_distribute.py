"""Training on several devices (MirroredStrategy), and on other Keras backends."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO_DIR

# Logical devices must be configured before TensorFlow starts, so each check
# runs in a fresh interpreter with the CPU split in two.
TWO_CPU_DEVICES = textwrap.dedent(f"""
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, {str(REPO_DIR)!r})
""")


def run_python(code, *args, env=None):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


def test_mirrored_training_over_two_devices_matches_one_device_on_the_same_global_batch():
    code = TWO_CPU_DEVICES + textwrap.dedent("""
        import json
        import keras
        import numpy as np
        import metrics, train

        rng = np.random.default_rng(0)
        images = rng.uniform(0, 255, (32, 16, 16, 3)).astype("float32")
        masks = (images[..., :1] > 127).astype("float32")

        def trained_weights(strategy, loss):
            keras.utils.set_random_seed(0)
            with strategy.scope():
                model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
                                          keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
                                          keras.layers.Conv2D(1, 1, activation="sigmoid")])
                initial = [w.copy() for w in model.get_weights()]
                model.compile(keras.optimizers.Adam(1e-2, clipnorm=1.0), loss=metrics.get_loss(loss),
                              metrics=metrics.segmentation_metrics())
            batches = tf.data.Dataset.from_tensor_slices((images, masks)).batch(8)  # global batch 8
            model.fit(batches, epochs=3, shuffle=False, verbose=0)
            return initial, model.get_weights()

        mirrored = train.distribution_strategy("mirrored")
        report = {"replicas": mirrored.num_replicas_in_sync}
        for loss in ("bce", "bce_dice"):
            initial, single = trained_weights(train.distribution_strategy("default"), loss)
            _, distributed = trained_weights(mirrored, loss)
            report[loss] = {
                "moved": max(float(np.abs(a - b).max()) for a, b in zip(initial, single)),
                "difference": max(float(np.abs(a - b).max()) for a, b in zip(single, distributed)),
            }
        print("REPORT " + json.dumps(report))
    """)
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.split("REPORT ", 1)[1])
    assert report["replicas"] == 2
    for loss in ("bce", "bce_dice"):
        assert report[loss]["moved"] > 1e-2  # training really changed the weights
        assert report[loss]["difference"] < 1e-4  # and both runs changed them alike


def test_train_py_runs_mirrored_with_the_global_batch_split_over_replicas(sample_dir, tmp_path):
    code = TWO_CPU_DEVICES + "import train; sys.exit(train.main(sys.argv[1:]))"
    result = run_python(code, "--data-dir", str(sample_dir), "--model", "unet", "--image-size", "64",
                        "--decoder-width", "0.25", "--batch-size", "4", "--epochs", "1", "--strategy", "mirrored",
                        "--out-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "on 2 CPU devices (MirroredStrategy): global batch 8 = 4 per replica x 2" in result.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["replicas"], config["global_batch_size"]) == (2, 8)
    assert (tmp_path / "run" / "model.keras").is_file()


def test_a_multi_worker_cluster_is_refused_with_the_reason(tmp_path):
    cluster = {"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 0}}
    result = run_python("import sys; sys.path.insert(0, sys.argv[1]); import train; train.distribution_strategy('auto')",
                        str(REPO_DIR), env={"TF_CONFIG": json.dumps(cluster)})
    assert result.returncode != 0
    assert "does not support MultiWorkerMirroredStrategy yet" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
@pytest.mark.parametrize("name", ["unet", "mobilenetv2_unet", "resnet50_unet"])
def test_models_and_metrics_train_under_the_jax_backend(name):
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO_DIR)!r})
        import keras, numpy as np
        import metrics
        from model import build_model
        assert keras.backend.backend() == "jax"
        model = build_model({name!r}, (64, 64))
        model.compile(keras.optimizers.Adam(1e-3, clipnorm=1.0), loss=metrics.get_loss("bce_dice"),
                      metrics=metrics.segmentation_metrics())
        images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
        logs = model.train_on_batch(images, (images[..., :1] > 127).astype("float32"), return_dict=True)
        assert np.isfinite(logs["loss"]) and 0 <= logs["iou"] <= 1, logs
        print("OK", sorted(logs))
    """)
    result = run_python(code, env={"KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK ['dice', 'iou', 'loss', 'precision', 'recall']" in result.stdout
