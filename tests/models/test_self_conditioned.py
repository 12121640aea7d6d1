"""A conditional generator wrapped to draw its cluster from z: unconditional outside, exact inside."""

from __future__ import annotations

import pytest
import torch

from gankit import config as C
from gankit.errors import ConfigError
from gankit.models import build_generator, build_models
from gankit.models.self_conditioned import SelfConditioned


def model_cfg(**sets):
    return C.from_dict({"model": {"conditioning": "projection", "clusters": 3, **sets}}).model


def test_clusters_are_drawn_from_z_as_often_as_the_data_holds_them():
    G, _ = build_models(model_cfg(), (1, 28, 28))
    assert isinstance(G, SelfConditioned) and G.num_classes == 0 and G.inner.num_classes == 3
    G.set_shares(torch.tensor([500, 300, 200]))
    z = torch.randn(100_000, G.latent_dim, generator=torch.Generator().manual_seed(0))
    shares = torch.bincount(G.cluster_of(z), minlength=3) / len(z)
    assert torch.allclose(shares, torch.tensor([0.5, 0.3, 0.2]), atol=0.006)


def test_the_generator_is_its_inner_one_at_the_cluster_z_draws_unless_given_one():
    G = build_generator(model_cfg(), (1, 28, 28)).eval()
    torch.manual_seed(0)
    with torch.no_grad():  # conditional BN starts the same for every class: make the classes differ
        for p in G.parameters():
            p.add_(0.1 * torch.randn_like(p))
    z = torch.randn(6, G.latent_dim, generator=torch.Generator().manual_seed(1))
    y = G.cluster_of(z)
    assert torch.equal(G(z), G.inner(z, y))
    other = (y + 1) % 3
    assert torch.equal(G(z, other), G.inner(z, other)) and not torch.equal(G(z), G(z, other))


def test_a_saved_generator_loads_strictly_with_its_shares():
    G = build_generator(model_cfg(), (1, 28, 28))
    G.set_shares(torch.tensor([1, 1, 8]))
    H = build_generator(model_cfg(), (1, 28, 28))
    H.load_state_dict(G.state_dict(), strict=True)
    assert torch.allclose(H.edges, torch.tensor([0.1, 0.2]))


@pytest.mark.parametrize("sets, shown", [
    ({"conditioning": "none"}, "set model.conditioning"),
    ({"arch": "vae"}, "a GAN model.arch"),
])
def test_clusters_need_a_conditional_gan(sets, shown):
    with pytest.raises(ConfigError, match=shown):
        build_models(model_cfg(**sets), (1, 28, 28))
