"""The Inception-v3 route, tested with a small stand-in network (the real weights
cannot be fetched on an offline machine) and against torchmetrics' FID."""

from __future__ import annotations

import hashlib
import importlib.util

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError, DataError
from gankit.metrics import fid as fid_math
from gankit.metrics import inception
from gankit.metrics.inception import InceptionEvaluator
from tests.mirror import MirrorServer


class StandIn(nn.Module):
    """Maps uint8 RGB [N, 3, H, W] to (features [N, 16], logits [N, 5]), like Inception's two heads."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 16, 5, stride=3)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        f = torch.relu(self.conv(x.float() / 128 - 1)).mean((2, 3))
        return f, self.head(f)


def test_embed_gray_and_rgb_images_with_a_standin_network():
    ev = InceptionEvaluator(network=StandIn())
    gray = torch.randint(0, 256, (7, 1, 28, 28), dtype=torch.uint8)
    features, probs = ev.embed(gray, batch_size=3)
    assert features.shape == (7, 16) and probs.shape == (7, 5)
    assert torch.allclose(probs.sum(1), torch.ones(7))
    # a grayscale image is seen as the RGB image with the channel repeated
    f_rgb, _ = ev.embed(gray.expand(-1, 3, -1, -1).contiguous())
    assert torch.allclose(features, f_rgb)
    assert len(ev.sha256) == 64 and "standin" in ev.name
    with pytest.raises(ValueError, match="uint8"):
        ev.embed(gray.float())


@pytest.mark.skipif(importlib.util.find_spec("torchmetrics") is None, reason="torchmetrics is not installed")
def test_fid_matches_torchmetrics_on_the_same_features():
    from torchmetrics.image.fid import FrechetInceptionDistance

    net = StandIn()

    class FeaturesOnly(nn.Module):
        num_features = 16

        def forward(self, x):
            return net(x)[0]

    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (300, 3, 32, 32), dtype=torch.uint8, generator=g)
    fake = (real.float() * 0.7 + 40).clamp(0, 255).to(torch.uint8)
    tm = FrechetInceptionDistance(feature=FeaturesOnly())
    tm.update(real, real=True)
    tm.update(fake, real=False)
    ev = InceptionEvaluator(network=net)
    ours = fid_math.fid(ev.embed(real)[0], ev.embed(fake)[0])
    assert ours == pytest.approx(tm.compute().item(), rel=1e-3, abs=1e-3)
    assert ours > 0.01


def test_missing_library_is_a_clear_error(tmp_path):
    if importlib.util.find_spec("torch_fidelity") is not None:
        pytest.skip("torch-fidelity is installed here")
    weights = tmp_path / inception.WEIGHTS_NAME
    weights.write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"pip install 'gankit\[inception\]'"):
        inception._torchmetrics_inception(weights)


def test_offline_weights_error_says_what_to_download_and_where(monkeypatch):
    monkeypatch.setattr(inception, "WEIGHTS_MIRRORS", ("http://127.0.0.1:9/",))
    with pytest.raises(DataError) as e:
        inception.ensure_weights()
    msg = str(e.value)
    assert inception.WEIGHTS_NAME in msg and str(inception.weights_path()) in msg and "download" in msg
    assert not inception.weights_path().exists()
    with pytest.raises(DataError, match="downloads are turned off"):
        inception.ensure_weights(allow_download=False)


def test_weights_download_is_checked_by_sha256_prefix(tmp_path, monkeypatch):
    served = tmp_path / "srv"
    served.mkdir()
    payload = b"pretend these are weights"
    (served / inception.WEIGHTS_NAME).write_bytes(payload)
    server = MirrorServer(served)
    try:
        monkeypatch.setattr(inception, "WEIGHTS_MIRRORS", (server.url("good"),))
        with pytest.raises(DataError, match="checksum mismatch"):  # the real prefix does not match these bytes
            inception.ensure_weights()
        prefix = hashlib.sha256(payload).hexdigest()[:8]
        monkeypatch.setattr(inception, "WEIGHTS_CHECKSUM", inception.Checksum(file_sha256_prefix=prefix))
        path = inception.ensure_weights()
        assert path == inception.weights_path() and path.read_bytes() == payload
    finally:
        server.stop()
