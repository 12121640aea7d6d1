"""Each loss against its formula, on values computed by hand."""

import math

import pytest
import torch

from gankit.losses import GANLoss
from gankit.registry import LOSSES

REAL = torch.tensor([0.0, 2.0])  # logits of D on real images
FAKE = torch.tensor([-1.0, 3.0])  # logits of D on fakes


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# By hand: sigmoid(0) = 0.5, sigmoid(2) = 0.8807971, sigmoid(-1) = 0.2689414, sigmoid(3) = 0.9525741
#   -log D(x):       -log 0.5 = 0.6931472,   -log 0.8807971 = 0.1269280  -> mean 0.4100376
#   -log(1-D(G(z))): -log 0.7310586 = 0.3132617, -log 0.0474259 = 3.0485874 -> mean 1.6809245
#   -log D(G(z)):    -log 0.2689414 = 1.3132617, -log 0.9525741 = 0.0485874 -> mean 0.6809245
D_LOSS = 0.4100376 + 1.6809245
MINIMAX_G = -1.6809245
NONSAT_G = 0.6809245


def test_hand_values_match_the_formulas():
    # guard the hand arithmetic itself against the textbook expressions
    d = -(math.log(sigmoid(0)) + math.log(sigmoid(2))) / 2 - (math.log(1 - sigmoid(-1)) + math.log(1 - sigmoid(3))) / 2
    assert d == pytest.approx(D_LOSS, abs=1e-6)


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_d_loss_is_negated_value_function(name):
    loss: GANLoss = LOSSES.get(name)
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(D_LOSS, abs=1e-5)


def test_minimax_g_loss_is_log_one_minus_d():
    assert LOSSES.get("minimax").g_loss(FAKE, REAL).item() == pytest.approx(MINIMAX_G, abs=1e-5)


def test_nonsaturating_g_loss_is_minus_log_d():
    assert LOSSES.get("nonsaturating").g_loss(FAKE, REAL).item() == pytest.approx(NONSAT_G, abs=1e-5)


def test_losses_stay_finite_where_log_sigmoid_overflows():
    # log(sigmoid(-200)) is -inf in float32; from logits the loss is exactly 200.
    far = torch.tensor([-200.0])
    assert torch.log(torch.sigmoid(far)).isinf().all()
    assert LOSSES.get("nonsaturating").g_loss(far, far).item() == pytest.approx(200.0)
    assert LOSSES.get("minimax").d_loss(-far, -far).item() == pytest.approx(200.0)


def test_nonsaturating_gradient_is_strong_where_minimax_vanishes():
    # D confidently rejects the fake (logit -8): the minimax G gradient nearly vanishes.
    grads = {}
    for name in ("minimax", "nonsaturating"):
        logit = torch.tensor([-8.0], requires_grad=True)
        LOSSES.get(name).g_loss(logit, logit).backward()
        grads[name] = abs(logit.grad.item())
    assert grads["minimax"] < 1e-3 < 0.9 < grads["nonsaturating"]


def test_registry_lists_the_losses_and_rejects_unknown_names():
    assert {"minimax", "nonsaturating"} <= set(LOSSES.names())
    with pytest.raises(Exception, match="unknown loss 'wgan'.*minimax"):
        LOSSES.get("wgan")
