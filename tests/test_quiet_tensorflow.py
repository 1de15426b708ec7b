import os
import subprocess
import sys

import pytest

import quiet_tensorflow
from conftest import REPO_DIR

# What TensorFlow 2.21 printed as this machine (no GPU) imported it, as predict.py ran the shipped model, and as
# it converted a model to TensorFlow Lite (quantized to 8 bits, the last of those lines).
START_UP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796238794.089228   31644 port.cc:153] oneDNN custom operations are on. You may see slightly different \
numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the \
environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796238794.089697   31644 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be \
used.
I0000 00:00:1796238794.207969   31644 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available \
CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other operations, rebuild \
TensorFlow with the appropriate compiler flags.
E0000 00:00:1796238798.463213   31644 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call \
to cuInit: UNKNOWN ERROR (303)
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
W0000 00:00:1796239152.304243     804 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.
W0000 00:00:1796239152.304305     804 tf_tfl_flatbuffer_helpers.cc:367] Ignored drop_control_dependency.
fully_quantize: 0, inference_type: 6, input_inference_type: UINT8, output_inference_type: UINT8
2023-10-09 13:36:23.355516: E tensorflow/compiler/xla/stream_executor/cuda/cuda_dnn.cc:9342] Unable to register cuDNN \
factory: Attempting to register factory for plugin cuDNN when one has already been registered
"""
NO_DRIVER = [line for line in START_UP.splitlines(keepends=True) if "cuda drivers" in line or "cuInit" in line]
# Lines that say something: a warning and an error of TensorFlow's, a Python warning, and a traceback's.
SAYS_SOMETHING = """\
W0000 00:00:1796238798.463213   31644 op_kernel.cc:1857] OP_REQUIRES failed at conv_ops.cc:101 : RESOURCE_EXHAUSTED: \
OOM when allocating tensor with shape[16,288,288,32]
E0000 00:00:1796238798.463213   31644 cuda_dnn.cc:535] Could not create cudnn handle: CUDNN_STATUS_INTERNAL_ERROR
/usr/lib/python3.11/site-packages/keras/src/ops/nn.py:907: UserWarning: "`binary_crossentropy` received \
`from_logits=True`"
ModuleNotFoundError: No module named 'tensorflow'
"""


def test_tensorflows_start_up_noise_is_left_out_and_every_other_line_kept():
    lines = (START_UP + SAYS_SOMETHING).splitlines(keepends=True)
    assert quiet_tensorflow.worth_showing(lines) == SAYS_SOMETHING.splitlines(keepends=True)
    # Where an NVIDIA GPU is plugged in, "no CUDA driver found" is what says TensorFlow cannot use it.
    assert quiet_tensorflow.worth_showing(lines, gpu_plugged_in=True) == NO_DRIVER + SAYS_SOMETHING.splitlines(
        keepends=True)


def test_what_c_code_writes_to_standard_error_in_the_block_is_passed_on_after_it_but_the_noise(capfd):
    with pytest.raises(KeyError, match="raised in the block"):
        with quiet_tensorflow.noise_left_out():
            os.write(2, (START_UP + SAYS_SOMETHING).encode())
            print("printed by Python", file=sys.stderr)
            raise KeyError("raised in the block")
    said = capfd.readouterr().err
    assert "printed by Python" in said and SAYS_SOMETHING in said
    assert "absl::InitializeLog" not in said and "XNNPACK" not in said


def test_what_c_code_writes_is_dropped_where_the_block_raises_an_error_said_to_hold_it(capfd):
    with pytest.raises(KeyError, match="holds what was written"):
        with quiet_tensorflow.noise_left_out(said_by=KeyError):
            os.write(2, SAYS_SOMETHING.encode())
            raise KeyError("holds what was written")
    assert capfd.readouterr().err == ""
    with pytest.raises(ValueError, match="another kind"):
        with quiet_tensorflow.noise_left_out(said_by=KeyError):
            os.write(2, SAYS_SOMETHING.encode())
            raise ValueError("another kind")
    assert capfd.readouterr().err == SAYS_SOMETHING
    with quiet_tensorflow.noise_left_out(said_by=KeyError):
        os.write(2, SAYS_SOMETHING.encode())
    assert capfd.readouterr().err == SAYS_SOMETHING


def test_with_tf_cpp_min_log_level_0_every_line_is_passed_on_as_it_is_written(capfd, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    with quiet_tensorflow.noise_left_out():
        os.write(2, START_UP.encode())
    assert capfd.readouterr().err == START_UP


def import_tensorflow_in_a_fresh_process(**env):
    code = "import quiet_tensorflow; quiet_tensorflow.import_tensorflow(); import keras; print(keras.backend.backend())"
    environment = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR, env={**environment, **env}, capture_output=True,
                          text=True, timeout=180)


def test_tensorflow_imported_so_prints_none_of_its_start_up_lines():
    quiet, everything = import_tensorflow_in_a_fresh_process(), import_tensorflow_in_a_fresh_process(
        TF_CPP_MIN_LOG_LEVEL="0")
    assert quiet.returncode == everything.returncode == 0, quiet.stderr[-2000:] + everything.stderr[-2000:]
    assert quiet.stdout == everything.stdout == "tensorflow\n"
    assert "absl::InitializeLog" in everything.stderr  # what there was to leave out
    assert not [line for line in quiet.stderr.splitlines() if quiet_tensorflow.NOISE.search(line)]
    if not quiet_tensorflow.gpu_plugged_in():  # as on these machines: not a line
        assert quiet.stderr == ""


def test_with_no_temporary_file_to_write_to_the_block_runs_and_its_lines_are_shown_as_they_come(capfd, monkeypatch):
    def no_room():
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(quiet_tensorflow.tempfile, "TemporaryFile", no_room)
    with quiet_tensorflow.noise_left_out():
        os.write(2, START_UP.encode())
        ran = True
    assert ran and capfd.readouterr().err == START_UP


def test_a_gpu_is_plugged_in_where_linux_or_wsl2_shows_its_device(tmp_path, monkeypatch):
    monkeypatch.setattr(quiet_tensorflow, "GPU_DEVICES", (str(tmp_path / "nvidia[0-9]*"), str(tmp_path / "dxg")))
    assert not quiet_tensorflow.gpu_plugged_in()
    (tmp_path / "nvidiactl").touch()  # the driver's control file, on machines whose GPUs are all gone
    assert not quiet_tensorflow.gpu_plugged_in()
    (tmp_path / "dxg").touch()  # WSL2's
    assert quiet_tensorflow.gpu_plugged_in()
    (tmp_path / "dxg").unlink()
    (tmp_path / "nvidia0").touch()
    assert quiet_tensorflow.gpu_plugged_in()
