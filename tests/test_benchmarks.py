"""The benchmarks' measurements are run on demand, not here; what is
checked here is what one benchmark script takes from another, and where
they run."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_DIR
from model import build_model


def test_the_pipeline_benchmark_gets_images_per_second_from_the_training_step_benchmark(monkeypatch):
    # train_step.training_images_per_second returns (first step's seconds, images/s): pipeline.py once took the pair
    # for the rate, and failed at its very end, after minutes of measuring.
    monkeypatch.syspath_prepend(str(REPO_DIR / "benchmarks"))
    import pipeline

    # A tiny U-Net for the default model: the step's tracing, not its speed, is what takes time here.
    monkeypatch.setattr(pipeline, "build_model", lambda *args, **kwargs: build_model("unet", (32, 32), base_filters=4,
                                                                                      depth=2))
    rate = pipeline.model_training_throughput((32, 32), batch_size=2, steps=1)
    assert isinstance(rate, float) and rate > 0


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_the_training_step_benchmark_runs_under_jax_without_tensorflow(tmp_path):
    # A GPU machine may have JAX and no TensorFlow: the benchmark then measures the models as Keras trains them
    # there, and counts no FLOPs (TensorFlow's profiler counts them).
    hidden = tmp_path / "tensorflow"
    hidden.mkdir()
    (hidden / "__init__.py").write_text("raise ImportError('No module named tensorflow (hidden by the test)')")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    command = [sys.executable, str(REPO_DIR / "benchmarks/train_step.py"), "--child", "mobilenetv2_unet",
               "--image-size", "64", "--batch-size", "2", "--steps", "1"]
    child = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.split("RESULT ")[-1])
    assert result["backend"] == "jax" and result["train_images_per_s"] > 0
    assert result["forward_gflops_per_image"] is None and result["achieved_train_gflops_per_s"] is None
