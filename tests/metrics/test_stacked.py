import torch

from gankit.data import load_dataset
from gankit.metrics import Embedding, compute
from gankit.metrics.protocol import get_evaluator
from gankit.metrics.stacked import channel_probs


def test_stacked_digits_are_read_channel_by_channel(mnist_root):
    mnist = load_dataset("mnist", "test", root=mnist_root)
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, len(mnist), (300, 3), generator=g)
    images = torch.cat([mnist.images[idx[:, c]] for c in range(3)], dim=1)  # [300, 3, 28, 28]
    truth = 100 * mnist.labels[idx[:, 0]] + 10 * mnist.labels[idx[:, 1]] + mnist.labels[idx[:, 2]]

    ev = get_evaluator("auto", "stacked-mnist")
    features, probs = ev.embed(images)
    assert features.shape == (300, 384) and probs.shape == (300, 1000)
    assert torch.allclose(probs.sum(1), torch.ones(300), atol=1e-4)
    assert (probs.argmax(1) == truth).float().mean() > 0.97  # three digits right at once
    for c, p in enumerate(channel_probs(probs)):  # the outer product keeps each channel's probabilities
        assert torch.allclose(p, ev.mnist.embed(images[:, c : c + 1].contiguous())[1], atol=1e-5)

    result = compute(["stacked-modes"], Embedding(features, probs), Embedding(features, probs))
    assert result["modes_covered"] == len(set(truth.tolist())) and result["kl_to_uniform"] > 0
    # a collapse onto one triple covers one mode
    one = images[:1].expand(50, -1, -1, -1)
    f1, p1 = ev.embed(one)
    assert compute(["stacked-modes"], Embedding(f1, p1), Embedding(f1, p1))["modes_covered"] == 1
