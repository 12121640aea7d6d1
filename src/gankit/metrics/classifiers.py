"""Evaluator networks: small per-dataset classifiers whose features score GANs.

Inception-v3 features mean little on 28x28 grayscale digits or clothes, so, as
TF-GAN does for MNIST, sample quality is measured in the feature space of a
classifier trained on the dataset itself:

* the 128-d penultimate activations are the features for FID, KID and
  precision/recall;
* the class probabilities say which classes samples look like, for mode
  metrics (how many classes a generator covers, and how evenly).

One network per dataset ships inside the package as
``metrics/weights/<dataset>-cnn.safetensors``; its safetensors header carries
the name, held-out accuracy, split and training command, and a JSON file beside
it carries the full training report. ``tools/train_evaluator.py`` rebuilds
both, deterministically given its seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from torch import nn

from gankit.device import resolve_device
from gankit.errors import CheckpointError, ConfigError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FORMAT = "gankit-evaluator-1"  # bump when the architecture or the header changes

# Every shipped evaluator, by name, and the dataset it classifies. Old versions stay loadable
# (--evaluator mnist-cnn-v1), so that numbers measured with them can be reproduced.
EVALUATORS: dict[str, str] = {
    "mnist-cnn-v1": "mnist",  # trained on 8,000 of MNIST's 10,000 test images
    "mnist-cnn-v2": "mnist",  # trained on the 60,000 train images, scored on the test split
    "fashion-mnist-cnn-v1": "fashion-mnist",  # trained on the 60,000 train images
}
# The datasets that have an evaluator, and the one used by default ("mnist-cnn" means this one).
ARCHITECTURES: dict[str, str] = {"fashion-mnist": "fashion-mnist-cnn-v1", "mnist": "mnist-cnn-v2"}

FEATURE_DIM = 128
NUM_CLASSES = 10
IMAGE_SHAPE = (1, 28, 28)

# mnist-cnn-v1 was trained when MNIST's test split alone was at hand: on part of
# the test split and is scored on the rest: these many images, chosen per class.
MNIST_HOLDOUT_SIZE = 2000
MNIST_SPLIT_SEED = 0

REQUIRED_METADATA = ("format", "name", "dataset", "accuracy", "heldout", "command", "seed")


def _conv_bn_relu(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> list[nn.Module]:
    """Conv without bias (BatchNorm's shift replaces it), BatchNorm, ReLU."""
    return [
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class EvaluatorNet(nn.Module):
    """A small CNN for 1x28x28 images in [-1, 1]: features (128) and logits (10).

    The first layer is a stride-2 4x4 conv rather than a 3x3 conv and a pool at
    full resolution: on a CPU the 28x28 layers dominated the cost (1-channel
    convs and pooling are memory bound) and this halves evaluation time with no
    loss of accuracy on these datasets.
    """

    def __init__(self, num_classes: int = NUM_CLASSES, feature_dim: int = FEATURE_DIM, dropout: float = 0.3):
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn_relu(1, 32, kernel=4, stride=2, padding=1),  # [N, 1, 28, 28] -> [N, 32, 14, 14]
            *_conv_bn_relu(32, 32),  # -> [N, 32, 14, 14]
            *_conv_bn_relu(32, 64),  # -> [N, 64, 14, 14]
            nn.MaxPool2d(2),  # -> [N, 64, 7, 7]
            *_conv_bn_relu(64, 64),  # -> [N, 64, 7, 7]
            nn.Flatten(),  # -> [N, 3136]
            nn.Linear(64 * 7 * 7, feature_dim),  # -> [N, 128]
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)  # active in training only
        self.head = nn.Linear(feature_dim, num_classes)  # -> [N, 10]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images [N, 1, 28, 28] in [-1, 1] -> (features [N, 128], logits [N, 10])."""
        features = self.body(x)
        return features, self.head(self.dropout(features))


def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the range GAN generators produce."""
    return images.float().div_(127.5).sub_(1.0)


def evaluator_name(dataset_or_name: str) -> str:
    """An evaluator's full name: itself, or a dataset's default evaluator (also for "<dataset>-cnn")."""
    if dataset_or_name in EVALUATORS:
        return dataset_or_name
    dataset = dataset_or_name.removesuffix("-cnn")
    if dataset not in ARCHITECTURES:
        raise ConfigError(f"no evaluator {dataset_or_name!r}; choose one of: "
                          f"{', '.join([*(f'{d}-cnn' for d in available()), *sorted(EVALUATORS)])}")
    return ARCHITECTURES[dataset]


def weights_path(dataset_or_name: str) -> Path:
    """Where the shipped weights of an evaluator (or of a dataset's default one) live."""
    return WEIGHTS_DIR / f"{evaluator_name(dataset_or_name)}.safetensors"


def rebuild_command(dataset_or_name: str) -> str:
    """The command that retrains an evaluator and rewrites its weights."""
    return f"python tools/train_evaluator.py --name {evaluator_name(dataset_or_name)}"


def available() -> list[str]:
    """The datasets that have an evaluator."""
    return sorted(ARCHITECTURES)


def mnist_split(
    labels: torch.Tensor | np.ndarray, holdout: int = MNIST_HOLDOUT_SIZE, seed: int = MNIST_SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Split MNIST test-set indices into (train, held-out), stratified by class.

    Why a function and not a file of indices: training and tests must agree on
    the split, and both can rebuild it from the labels. The rule: class ``c``
    with ``n_c`` of the ``N`` images holds out ``holdout * n_c / N`` of them,
    rounded by largest remainder so the total is exactly ``holdout``; which ones
    is the first ``k_c`` of ``numpy.random.default_rng(seed).permutation`` of
    that class's indices, drawn for classes 0, 1, ... in turn from one generator.
    Returns two sorted int64 arrays.
    """
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    classes, counts = np.unique(labels, return_counts=True)
    quotas = _largest_remainder(counts, holdout)
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for c, k in zip(classes, quotas, strict=True):
        members = np.flatnonzero(labels == c)
        held.append(members[rng.permutation(len(members))[:k]])
    heldout = np.sort(np.concatenate(held)).astype(np.int64)
    train = np.setdiff1d(np.arange(len(labels)), heldout).astype(np.int64)
    return train, heldout


def _largest_remainder(counts: np.ndarray, total: int) -> np.ndarray:
    """Integer shares of ``total`` proportional to ``counts``, summing to ``total`` exactly."""
    exact = counts * total / counts.sum()
    shares = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - shares), kind="stable")  # largest remainders first, ties by class
    shares[order[: total - shares.sum()]] += 1
    return shares


@dataclass
class Evaluator:
    """A trained evaluator network, ready to embed images."""

    name: str
    dataset: str
    sha256: str  # of the weights file
    accuracy: float  # held-out accuracy, as measured when trained
    metadata: dict[str, str] = field(repr=False)
    network: EvaluatorNet = field(repr=False)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    feature_dim: int = FEATURE_DIM
    num_classes: int = NUM_CLASSES

    def embed(self, images: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images [N, 1, 28, 28] -> (features float32 [N, 128], probabilities float32 [N, 10]).

        Both come back on the CPU whatever the evaluator's device, since metrics
        gather them from many batches and compute on the CPU with numpy.
        """
        _check_images(images, self.dataset)
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        features, probs = [], []
        self.network.eval()
        with torch.inference_mode():
            for batch in images.split(batch_size):
                f, logits = self.network(to_input(batch.to(self.device)))
                features.append(f.float().cpu())
                probs.append(logits.float().softmax(dim=1).cpu())
        if not features:  # N == 0
            return torch.zeros(0, self.feature_dim), torch.zeros(0, self.num_classes)
        return torch.cat(features), torch.cat(probs)


def _check_images(images: torch.Tensor, dataset: str) -> None:
    """Reject what the network would misread silently: floats, RGB, other sizes."""
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        kind = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
        raise ConfigError(
            f"the {dataset} evaluator takes uint8 images in [0, 255], got {kind}; "
            "quantize generator output first, e.g. ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)"
        )
    if images.dim() != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE:
        shape = "x".join(str(s) for s in images.shape)
        raise ConfigError(
            f"the {dataset} evaluator takes images of shape [N, 1, 28, 28] (1 channel, 28x28 grayscale), got {shape}"
        )


def load_evaluator(dataset: str, device: str | torch.device = "cpu", *, path: str | Path | None = None) -> Evaluator:
    """Load a shipped evaluator onto ``device`` ('cpu', 'cuda', 'auto', ...): ``dataset`` names a
    dataset (its default evaluator) or an evaluator (e.g. "mnist-cnn-v1").

    ``path`` overrides the weights file, e.g. for one just retrained elsewhere.
    """
    if dataset not in ARCHITECTURES and dataset not in EVALUATORS:
        raise ConfigError(f"no evaluator for dataset {dataset!r}; evaluators exist for: {', '.join(available())}")
    name = evaluator_name(dataset)
    dataset = EVALUATORS[name]
    path = Path(path) if path is not None else weights_path(name)
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    if not path.is_file():
        raise CheckpointError(
            f"the {dataset} evaluator's weights file {path} is missing; rebuild it with: {rebuild_command(dataset)}"
        )
    metadata, state = _read_weights(path, dataset)
    # Its initial weights are overwritten at once: building it must not draw from the caller's
    # random stream (a run that loads it at an epoch's end would draw differently once resumed).
    with torch.random.fork_rng(devices=[]):
        network = EvaluatorNet()
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise _corrupt(path, dataset, f"its tensors do not fit the {name} network ({e})") from None
    if metadata["dataset"] != dataset:
        raise _corrupt(path, dataset, f"it holds the evaluator of {metadata['dataset']!r}")
    network.to(device).eval()
    return Evaluator(
        name=metadata["name"],
        dataset=dataset,
        sha256=_sha256(path),
        accuracy=float(metadata["accuracy"]),
        metadata=metadata,
        network=network,
        device=device,
    )


def _read_weights(path: Path, dataset: str) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """The header metadata and float32 tensors of a weights file, checked for damage."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            state = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as e:  # safetensors raises its own error type, OSError or ValueError
        raise _corrupt(path, dataset, f"it cannot be read ({type(e).__name__}: {e})") from None
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise _corrupt(path, dataset, f"its header lacks {', '.join(missing)}")
    if metadata["format"] != FORMAT:
        raise _corrupt(path, dataset, f"its format is {metadata['format']!r}, this gankit reads {FORMAT!r}")
    for key, tensor in state.items():
        if tensor.is_floating_point():
            state[key] = tensor = tensor.float()  # float16 storage is allowed; compute in float32
            if not torch.isfinite(tensor).all():
                raise _corrupt(path, dataset, f"tensor {key} holds NaN or infinity")
    return metadata, state


def _corrupt(path: Path, dataset: str, why: str) -> CheckpointError:
    return CheckpointError(
        f"the {dataset} evaluator's weights file {path} is corrupt: {why}; rebuild it with: {rebuild_command(dataset)}"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def report_path(dataset_or_name: str) -> Path:
    """The JSON training report written beside the weights."""
    return WEIGHTS_DIR / f"{evaluator_name(dataset_or_name)}.json"


def read_report(dataset_or_name: str) -> dict:
    """The training report of an evaluator (accuracies, split, command, ...)."""
    return json.loads(report_path(dataset_or_name).read_text())
