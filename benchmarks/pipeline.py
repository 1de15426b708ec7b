"""Training input pipeline throughput: data.py against the usual naive way.

    python benchmarks/pipeline.py [--images 512] [--image-size 224] [--batch-size 16] [--paste-p 0.3]

The naive pipeline is what most Keras segmentation repositories do:
from_tensor_slices(paths).map(tf.numpy_function(cv2.imread + cv2.resize)),
sequential, no cache, no prefetch, no augmentation. Ours (data.make_dataset)
decodes in parallel, caches the resized pairs, augments (with train.py's
default share of pasted second people) and prefetches. Both
read the same files in one run, epochs alternating, each with its own OpenCV
threading (the naive one with OpenCV's default; make_dataset turns OpenCV's
threads off); epoch 1 (cold) and later epochs are timed separately. For
scale, the default model's training throughput is measured in the same run.
Prints JSON.
"""

import argparse
import json
import tempfile
import time

import cv2
import numpy as np

from photos import benchmark_pairs
from train_step import training_images_per_second

import quiet_tensorflow  # noqa: E402  (photos puts the repository on sys.path)

quiet_tensorflow.import_tensorflow()  # before Keras imports it, with its start-up lines
import tensorflow as tf  # noqa: E402

import data  # noqa: E402
import metrics  # noqa: E402
from model import build_model  # noqa: E402
from train import PASTE_P  # noqa: E402


def naive_dataset(pairs, image_size, batch_size):
    def load(image_path, mask_path):
        image = cv2.cvtColor(cv2.imread(image_path.decode()), cv2.COLOR_BGR2RGB)
        image = cv2.resize(image, image_size[::-1]).astype(np.float32)
        mask = cv2.resize(cv2.imread(mask_path.decode(), cv2.IMREAD_GRAYSCALE), image_size[::-1])
        return image, (mask[..., None] > 127).astype(np.float32)

    def load_pair(image_path, mask_path):
        image, mask = tf.numpy_function(load, [image_path, mask_path], [tf.float32, tf.float32])
        image.set_shape((*image_size, 3))
        mask.set_shape((*image_size, 1))
        return image, mask

    paths = ([str(i) for i, _ in pairs], [str(m) for _, m in pairs])
    return tf.data.Dataset.from_tensor_slices(paths).shuffle(len(pairs)).map(load_pair).batch(batch_size)


def images_per_second(dataset):
    """(images/s, milliseconds of this process's CPU time per image) of one epoch.

    The CPU time is the steadier figure on a shared machine: time the
    hypervisor gives to other machines slows the images/s, not the CPU time."""
    # Counted inside TensorFlow, as Keras' fit consumes batches: a Python
    # `for batch in dataset` loop would compete for the GIL with the
    # pipeline's own Python steps (both pipelines have some) and measure that.
    started, cpu_started = time.perf_counter(), time.process_time()
    count = int(dataset.reduce(tf.constant(0, tf.int64), lambda total, batch: total + tf.shape(batch[0], tf.int64)[0]))
    return count / (time.perf_counter() - started), (time.process_time() - cpu_started) / count * 1e3


def model_training_throughput(image_size, batch_size, steps=12):
    weights = None  # compute is the same with or without pretrained weights
    model = build_model("mobilenetv2_unet", image_size, encoder_weights=weights)
    model.compile(optimizer="adam", loss=metrics.get_loss("bce"), metrics=metrics.segmentation_metrics())
    images = np.random.default_rng(0).uniform(0, 255, (batch_size, *image_size, 3)).astype(np.float32)
    masks = (images[..., :1] > 127).astype(np.float32)
    _, images_per_second = training_images_per_second(model, images, masks, steps)  # (its first step aside)
    return images_per_second


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3, help="at least 2: the first, cold, is timed apart")
    parser.add_argument("--paste-p", type=float, default=PASTE_P, help="share of augmented photos given a second person")
    args = parser.parse_args()
    if args.epochs < 2:  # else the later epochs' figures, the ones compared, are NaN
        parser.error(f"--epochs must be at least 2: the first epoch is timed apart from the later ones; "
                     f"got {args.epochs}")
    size = (args.image_size, args.image_size)
    opencv_default_threads = cv2.getNumThreads()
    with tempfile.TemporaryDirectory() as scratch:
        pairs, source = benchmark_pairs(args.images, scratch)
        naive = naive_dataset(pairs, size, args.batch_size)
        ours = data.make_dataset(pairs, size, args.batch_size, training=True, augment=True, seed=0, paste_p=args.paste_p)
        ours_opencv_threads = cv2.getNumThreads()  # make_dataset turns OpenCV's own threads off
        # Epochs alternate between the two pipelines, so that a slow spell of
        # this shared machine costs both alike instead of skewing the ratio.
        # Each runs with its own OpenCV threading: the naive one with OpenCV's default.
        naive_epochs, our_epochs = [], []
        for _ in range(args.epochs):
            cv2.setNumThreads(opencv_default_threads)
            naive_epochs.append(images_per_second(naive))
            cv2.setNumThreads(ours_opencv_threads)
            our_epochs.append(images_per_second(ours))
    (naive_rate, naive_cpu), (our_rate, our_cpu) = np.array(naive_epochs).T, np.array(our_epochs).T
    later_naive, later_ours = naive_rate[1:].mean(), our_rate[1:].mean()
    model_rate = model_training_throughput(size, args.batch_size)
    print(json.dumps({
        "benchmark": "pipeline", "images": len(pairs), "source": source, "image_size": args.image_size,
        "batch_size": args.batch_size, "paste_p": args.paste_p, "cpu_threads": tf.config.threading.get_intra_op_parallelism_threads() or "default",
        "naive_images_per_s": {"epoch_1": round(naive_rate[0], 1), "later_epochs": round(later_naive, 1)},
        "ours_images_per_s": {"epoch_1": round(our_rate[0], 1), "later_epochs": round(later_ours, 1)},
        "speedup_later_epochs": round(later_ours / later_naive, 2),
        "cpu_ms_per_image_later_epochs": {"naive": round(naive_cpu[1:].mean(), 3), "ours": round(our_cpu[1:].mean(), 3)},
        "default_model_training_images_per_s": round(model_rate, 1),
        "pipeline_over_model_training": round(later_ours / model_rate, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
