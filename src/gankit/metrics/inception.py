"""Inception-v3 features, as the literature computes FID, KID and IS on RGB data.

Published FID/KID/IS numbers use the TensorFlow Inception-v3 graph of 2015-12-05;
its PyTorch port lives in torch-fidelity and is used here through torchmetrics'
``NoTrainInceptionV3`` (2048-d pool features; 1008 "unbiased" logits for IS).
Both libraries are an optional extra, ``pip install 'gankit[inception]'``,
because torch-fidelity needs torchvision, which must match the installed torch.

The weights (about 95 MB) are fetched on first use into the gankit cache,
checked against the sha256 prefix in their file name, and written atomically.
Offline, a clear error says what to download and where to put it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from gankit.data.sources import Checksum, cache_dir, download
from gankit.errors import ConfigError, DataError

WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_MIRRORS = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/",)
WEIGHTS_CHECKSUM = Checksum(file_sha256_prefix="6726825d")
NAME = "inception-v3-tf-2015-12-05"


def weights_path() -> Path:
    return cache_dir() / "weights" / WEIGHTS_NAME


def ensure_weights(allow_download: bool = True) -> Path:
    """The local weights file, downloading it into the cache if needed."""
    path = weights_path()
    if path.is_file():
        return path
    reason = "downloads are turned off"
    if allow_download:
        try:
            return download(WEIGHTS_NAME, WEIGHTS_MIRRORS, path.parent, WEIGHTS_CHECKSUM)
        except DataError as e:
            reason = str(e).splitlines()[-1].strip()
    raise DataError(
        f"the Inception-v3 weights are not in {path} and could not be fetched ({reason}); "
        f"download {WEIGHTS_MIRRORS[0]}{WEIGHTS_NAME} and save it as {path}"
    )


def _torchmetrics_inception(weights: Path) -> nn.Module:
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3

        return NoTrainInceptionV3(
            name="inception-v3-compat", features_list=["2048", "logits_unbiased"],
            feature_extractor_weights_path=str(weights),
        )
    except (ImportError, ModuleNotFoundError):
        raise ConfigError(
            "Inception metrics need the optional extra: pip install 'gankit[inception]' "
            "(torchmetrics and torch-fidelity, with a torchvision that matches your torch)"
        ) from None


class InceptionEvaluator:
    """Embeds uint8 images [N, C, H, W] (C = 1 or 3, any size) with Inception-v3.

    Grayscale images are shown to the network as RGB (the channel repeated), and
    every image is resized to 299x299 inside the network, as torch-fidelity does.
    ``network`` replaces the real Inception in tests: any module mapping uint8
    [N, 3, H, W] to (features [N, F], logits [N, K]).
    """

    name = NAME
    dataset = None

    def __init__(self, device: str | torch.device = "cpu", network: nn.Module | None = None,
                 allow_download: bool = True):
        if network is None:
            weights = ensure_weights(allow_download)
            self.sha256 = hashlib.sha256(weights.read_bytes()).hexdigest()
            network = _torchmetrics_inception(weights)
        else:
            self.name = f"{NAME}-standin-{type(network).__name__}"
            self.sha256 = _module_sha256(network)
        self.device = torch.device(device)
        self.net = network.to(self.device).eval()

    @torch.inference_mode()
    def embed(self, images: torch.Tensor, batch_size: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 [N, C, H, W] -> (features float32 [N, F], class probabilities float32 [N, K]) on the CPU."""
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected uint8 images [N, 1 or 3, H, W], got {images.dtype} {tuple(images.shape)}")
        feats, probs = [], []
        for chunk in images.split(batch_size):
            chunk = chunk.to(self.device)
            if chunk.shape[1] == 1:
                chunk = chunk.expand(-1, 3, -1, -1)  # [B, 1, H, W] -> [B, 3, H, W]
            f, logits = self.net(chunk)
            feats.append(f.float().cpu())
            probs.append(torch.softmax(logits.float(), dim=1).cpu())
        return torch.cat(feats), torch.cat(probs)


def _module_sha256(module: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
