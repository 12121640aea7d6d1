"""The tutorial's own pipeline, corrected: the DCGAN in TensorFlow/Keras with its train
step in ``tf.function``, as the TensorFlow DCGAN tutorial writes it (one forward
pass of D on the fakes serves both losses). Used by benchmarks/throughput.py when
TensorFlow is installed; gankit itself never imports TensorFlow.

    python benchmarks/tf_dcgan.py --images mnist-test.npy   # uint8 [N, 28, 28]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def train(images_uint8: np.ndarray, steps: int, batch_size: int = 128, on_step=None) -> None:
    """``images_uint8``: [N, 28, 28]; runs ``steps`` steps, calling ``on_step(i)`` after each."""
    import tensorflow as tf

    layers = tf.keras.layers
    G = tf.keras.Sequential([
        layers.Input((100,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(0.2),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(0.2),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(0.2),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
    ])
    D = tf.keras.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"), layers.LeakyReLU(0.2), layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"), layers.LeakyReLU(0.2), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1),
    ])
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    opt_g, opt_d = tf.keras.optimizers.Adam(2e-4, 0.5), tf.keras.optimizers.Adam(2e-4, 0.5)

    @tf.function
    def step(real):
        z = tf.random.normal([batch_size, 100])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = G(z, training=True)
            real_out, fake_out = D(real, training=True), D(fake, training=True)
            loss_g = bce(tf.ones_like(fake_out), fake_out)
            loss_d = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
        opt_g.apply_gradients(zip(g_tape.gradient(loss_g, G.trainable_variables), G.trainable_variables))
        opt_d.apply_gradients(zip(d_tape.gradient(loss_d, D.trainable_variables), D.trainable_variables))
        return loss_g, loss_d

    x = (images_uint8.astype("float32") / 127.5 - 1.0)[..., None]
    data = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x)).batch(batch_size, drop_remainder=True).repeat()
    for i, real in enumerate(data.take(steps), 1):
        step(real)
        if on_step:
            on_step(i)


def main() -> None:
    """Time the pipeline: warm-up steps (tracing), then timed windows; print images/s per window as JSON."""
    import json

    p = argparse.ArgumentParser()
    p.add_argument("--images", required=True, help=".npy of uint8 images [N, 28, 28]")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--window", type=int, default=20)
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args()
    marks: list[float] = []
    total = args.warmup + args.window * args.windows

    def on_step(i: int) -> None:
        if i >= args.warmup and (i - args.warmup) % args.window == 0:
            marks.append(time.perf_counter())

    train(np.load(args.images), total, args.batch_size, on_step)
    rates = [args.window * args.batch_size / (b - a) for a, b in zip(marks, marks[1:])]
    print(json.dumps({"images_per_s": rates}))


if __name__ == "__main__":
    main()
