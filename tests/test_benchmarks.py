"""The benchmarks' measurements are run on demand, not here; what is
checked here is what one benchmark script takes from another."""

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
