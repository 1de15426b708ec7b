"""A model's file, read without Keras: which file a model path names (a
train.py run folder's model.keras), what a file that is no Keras model is,
the configuration a .keras file was saved with, and whether a model of given
input and output shapes is a segmenter as predict.py runs one.

Importing Keras imports TensorFlow, which takes seconds; predict.py runs a
model's TensorFlow Lite conversion without it (see predict.chosen_engine),
so that one photo is cut out in under a second rather than seven or eight.
model.py loads the file itself.
"""

import json
import zipfile
from pathlib import Path


def model_file(path):
    """The .keras file at `path`; for a train.py run folder, its model.keras.
    A folder without one is a ValueError that names the models it holds
    (best.keras, the best epoch so far, while the run goes on), or says it
    is a SavedModel."""
    path = Path(path)
    if not path.is_dir():
        return path
    if (path / "model.keras").is_file():
        return path / "model.keras"
    if (path / "saved_model.pb").is_file():  # the README's export for serving, given back
        raise ValueError(f"model {path} is a TensorFlow SavedModel (an export for serving), which is not run here: "
                         f"pass the .keras model it was exported from")
    held = sorted(file.name for file in path.glob("*.keras"))
    raise ValueError(f"model {path} is a folder with no model.keras in it (a train.py run folder has one once "
                     f"its run has finished)" + (f"; it holds {', '.join(held)}: pass {path / held[0]}" if held else ""))


def not_a_keras_model(path):
    """Why the file at `path` is no Keras model, as its name tells (a
    TensorFlow Lite model, or a file of weights alone) or, for a .keras
    file, its content (not_a_keras_archive), or None: Keras may still fail
    to load it, and says why."""
    if path.suffix.lower() == ".tflite":  # Keras says "File format not supported", and offers TFSMLayer
        return ("a TensorFlow Lite model, which predict.py and evaluate.py run but Keras cannot load (nor train): "
                "pass the .keras model it was converted from")
    if path.name.lower().endswith(".weights.h5"):  # Keras says "No model config found in the file"
        return ("a file of weights alone, without the network they belong to: pass a .keras model (a train.py run's "
                "model.keras)")
    if path.suffix == ".keras":  # Keras's own words are "File not found", or a KeyError or TypeError
        return not_a_keras_archive(path)
    return None


def not_a_keras_archive(path):
    """Why the .keras file at `path` is none, as its content tells: no zip
    archive (a file cut short, or another kind under the name), or a zip
    without a model's configuration; None where it is one, or cannot be read."""
    if saved_config(path) is not None:  # a model (every one loaded): its file read once here, not twice
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(archive.namelist())
    except zipfile.BadZipFile:
        return not_a_zip_archive(path)
    except OSError:
        return None
    if "config.json" not in names:
        held = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "") or "nothing"
        return f"a zip archive of {held}, not a .keras model (one holds config.json and model.weights.h5)"
    return "a zip archive whose config.json is no Keras model's configuration, not a .keras model"


def not_a_zip_archive(path):
    """What the file at `path`, named .keras but no zip archive, is instead."""
    import image_files  # for this message alone: reading model files needs none of its image reading

    try:
        with open(path, "rb") as file:
            head = file.read(1024)
    except OSError:
        return None
    if not head:
        return "an empty file, not a .keras model"
    held = None if head.startswith(b"PK") else image_files.what_it_holds(head)  # a zip, not whole: cut short
    return (f"not a .keras model but {held}" if held else
            "not a .keras file (those are zip archives): corrupt, cut short, or another format")


def saved_config(path):
    """The configuration of the model saved in the .keras file at `path`
    (its "name" one of model.MODEL_NAMES for a model model.build_model made), read
    without loading the model; None where it cannot be read so (loading the
    file says what is wrong with it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))["config"]
    except (OSError, zipfile.BadZipFile, KeyError, TypeError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def segmenter_shapes_trouble(input_shapes, output_shapes):
    """model.segmenter_trouble of a model with inputs and outputs of these shapes
    (tuples, None for a side of any size): a Keras model's, or a TensorFlow
    Lite model's (lite.LiteModel)."""
    if len(input_shapes) != 1 or len(output_shapes) != 1:
        return (f"it has {len(input_shapes)} inputs and {len(output_shapes)} outputs, where a segmentation model has "
                f"one of each")
    (image,), (mask,) = input_shapes, output_shapes
    if len(image) != 4 or image[3] != 3:
        return f"its input is of shape {image}, not RGB images (batch, height, width, 3)"
    if None in image[1:3]:
        return (f"its input, of shape {image}, takes images of any size, where the model runs at the one it was "
                f"trained at: build it with that size, keras.Input((288, 288, 3)), and load the weights into it")
    if len(mask) != 4 or mask[3] != 1:
        return (f"its output is of shape {mask}, not masks of one channel, the person's probability "
                f"(batch, height, width, 1)")
    return None
