# ruff: noqa: N816 - the post's own variable names (x_Train4D_normalize, y_TrainOneHot), kept so it reads line for line
"""The seed post's script, ported line for line to Keras 3: the baseline that `fast` is timed against.

The post ("Using Keras + CNN to recognise MNIST handwritten digits", 2019-11-12; /work/shared/seed/ and
docs/seed-post.md) in order: load MNIST, show the first 10 images, reshape and scale, one-hot encode, build the
Sequential CNN (Conv 16 3x3 same relu -> pool 2 -> Conv 36 3x3 same relu -> pool 2 -> Dropout 0.25 -> Flatten ->
Dense 128 relu -> Dropout 0.25 -> Dense 10 softmax; 232,590 parameters), compile (categorical_crossentropy, adam),
fit (validation_split 0.2, 20 epochs, batch 256, verbose 2), plot the loss and accuracy curves, evaluate on the test
set, predict the first test image.

What Keras 3 changed, and nothing else:
  - `keras.utils.np_utils.to_categorical` is `keras.utils.to_categorical`;
  - `input_shape=` on the first layer is a `keras.Input` at the head of the Sequential model;
  - the post never defines `y_TestOneHot` (its notebook must have had a cell the post left out): one line makes it;
  - the trained model is saved as `post_model.keras` (Keras 3's format), as any run of the project's is saved.
MNIST comes from `keras.datasets.mnist.load_data()`; where that download is unavailable (no internet), from MNIST
Lab's data loader (the same arrays, checked against MNIST's fingerprint). Plots need matplotlib and are skipped
without it, or with --no-plots (plt.show() waits for a window to close). Prints the whole run's wall time, from the
start of the process, last.

    .venv/bin/python -m bench.post_script --no-plots
"""

import sys
import time

import keras
import numpy as np
from keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from keras.models import Sequential

PLOTS = "--no-plots" not in sys.argv

try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    PLOTS = False


def process_start_time() -> float:
    """When this process started (Linux /proc), in time.time() seconds."""
    import os
    from pathlib import Path

    ticks = int(Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19])
    boot = next(
        float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
    )
    return boot + ticks / os.sysconf("SC_CLK_TCK")


PROCESS_START = process_start_time()


def load_data():
    """keras.datasets.mnist.load_data(), else MNIST Lab's copy of the same arrays."""
    try:
        return keras.datasets.mnist.load_data()
    except Exception as error:  # noqa: BLE001 - no network here: any failure means "use the project's copy"
        print(f"keras download unavailable ({type(error).__name__}); using MNIST Lab's data loader")
        from mnist_core.data import load_mnist

        data = load_mnist()
        return (data.x_train, data.y_train), (data.x_test, data.y_test)


# 下载手写数据集 (load the data set)
(x_Train, y_Train), (x_Test, y_Test) = load_data()
print(x_Train.shape)
print(y_Train.shape)
print(x_Test.shape)
print(y_Test.shape)


# 查看前10个数据集 (the first 10 images)
def polt_images_label_prediction(images, labels, idx, num=10):
    fig = plt.gcf()
    fig.set_size_inches(12, 14)
    for i in range(num):
        ax = plt.subplot(5, 2, 1 + i)
        ax.imshow(images[idx], cmap="binary")
        title = "label=" + str(labels[idx])
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    plt.show()


if PLOTS:
    polt_images_label_prediction(x_Train, y_Train, 0)

# 数据预处理 (preprocessing): 4-D float32, scaled to 0..1
x_Train4D = x_Train.reshape(x_Train.shape[0], 28, 28, 1).astype("float32")
x_Test4D = x_Test.reshape(x_Test.shape[0], 28, 28, 1).astype("float32")
x_Train4D_normalize = x_Train4D / 255
x_Test4D_normalize = x_Test4D / 255

# one-hot 编码 (one-hot labels)
print(y_Train[:1])
y_TrainOneHot = keras.utils.to_categorical(y_Train)
print(y_TrainOneHot[:1])
y_TestOneHot = keras.utils.to_categorical(y_Test)  # used by the post's evaluation, never defined in the post

# 建立模型 (the model)
model = Sequential()
model.add(keras.Input(shape=(28, 28, 1)))
model.add(Conv2D(filters=16, kernel_size=(3, 3), padding="same", activation="relu"))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Conv2D(filters=36, kernel_size=(3, 3), padding="same", activation="relu"))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation="relu"))
model.add(Dropout(0.25))
model.add(Dense(10, activation="softmax"))

print(model.summary())

# 训练模型 (training)
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
fit_start = time.perf_counter()
train_history = model.fit(
    x=x_Train4D_normalize, y=y_TrainOneHot, validation_split=0.2, epochs=20, batch_size=256, verbose=2
)
fit_seconds = time.perf_counter() - fit_start


def show_train_history(train_history, train, validation):
    plt.plot(train_history.history[train])
    plt.plot(train_history.history[validation])
    plt.title("Train History")
    plt.ylabel(train)
    plt.xlabel("Epoch")
    plt.legend(["train", "validation"], loc="upper left")
    plt.show()


if PLOTS:
    show_train_history(train_history, "loss", "val_loss")
    show_train_history(train_history, "accuracy", "val_accuracy")

# 评估模型 (evaluation)
scores = model.evaluate(x_Test4D_normalize, y_TestOneHot)
print(scores[1])

# 预测模型 (prediction of the first test image)
prediction = np.argmax(model.predict(x_Test4D_normalize[:1]))
print("预测值:", prediction)
print("真实值:", np.argmax(y_TestOneHot[:1]))

model.save("post_model.keras")
# Since the process started (the interpreter's start-up and the imports included), as the benchmark times it.
print(f"fit {fit_seconds:.1f} s, whole process {time.time() - PROCESS_START:.1f} s")
