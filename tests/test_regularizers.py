"""Discriminator regularizers against their closed forms on hand-built discriminators."""

import math

import pytest
import torch
from torch import nn

from gankit.losses import GANLoss
from gankit.registry import LOSSES, REGULARIZERS
from gankit.regularizers import Regularizer, resolve

NAMES = ["gp", "r1", "dragan"]


class LinearD(nn.Module):
    """D(x, y) = w . x (+ b[y] when conditional): grad_x D = w everywhere."""

    def __init__(self, w: list[float], classes: int = 0, acgan: bool = False):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))
        self.b = nn.Parameter(torch.arange(float(classes))) if classes else None
        self.acgan = acgan
        self.seen_y: list = []

    def forward(self, x, y=None):
        self.seen_y.append(y)
        logits = (x.flatten(1) * self.w).sum(1)  # [B]
        if self.b is not None:
            logits = logits + self.b[y]
        if self.acgan:
            return logits, torch.zeros(x.shape[0], 3)  # (logits [B], class_logits [B, K])
        return logits


class QuadraticD(nn.Module):
    """D(x) = ||x||^2 / 2, so grad_x D = x; records its inputs."""

    def __init__(self):
        super().__init__()
        self.inputs: list[torch.Tensor] = []

    def forward(self, x, y=None):
        self.inputs.append(x.detach().clone())
        return 0.5 * x.flatten(1).pow(2).sum(1)


# w = [3, 4]: ||w|| = 5, so (||w|| - 1)^2 = 16 and ||w||^2 = 25
POINT_W = [3.0, 4.0]
# w = [1, 2, 2, 4] for 1x2x2 images: ||w|| = sqrt(1 + 4 + 4 + 16) = 5 as well
IMAGE_W = [1.0, 2.0, 2.0, 4.0]
CLOSED_FORM = {"gp": 16.0, "r1": 25.0, "dragan": 16.0}


def batch(kind: str, b: int = 4) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    torch.manual_seed(0)
    if kind == "points":
        return torch.randn(b, 2), torch.randn(b, 2), POINT_W  # [B, 2]
    return torch.rand(b, 1, 2, 2) * 2 - 1, torch.rand(b, 1, 2, 2) * 2 - 1, IMAGE_W  # [B, 1, 2, 2]


@pytest.mark.parametrize("kind", ["points", "images"])
@pytest.mark.parametrize("name", NAMES)
def test_penalty_on_a_linear_d_is_its_closed_form(name, kind):
    real, fake, w = batch(kind)
    value = REGULARIZERS.get(name).fn(LinearD(w), real, fake, None)
    assert value.shape == () and value.item() == pytest.approx(CLOSED_FORM[name], rel=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_penalty_gradient_reaches_d_parameters(name):
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * [0.6, 0.8] = [4.8, 6.4]
    # d/dw ||w||^2       = 2 w                                          = [6, 8]
    real, fake, _ = batch("points")
    d = LinearD(POINT_W)
    REGULARIZERS.get(name).fn(d, real, fake, None).backward()
    expected = [6.0, 8.0] if name == "r1" else [4.8, 6.4]
    assert d.w.grad.tolist() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_penalty_trains_a_nonlinear_conv_d(name):
    torch.manual_seed(1)
    d = nn.Sequential(  # [B, 3, 8, 8] -> [B]
        nn.Conv2d(3, 4, 3, padding=1), nn.Softplus(), nn.Flatten(), nn.Linear(4 * 8 * 8, 1), nn.Flatten(0)
    )
    real, fake = torch.rand(2, 3, 8, 8) * 2 - 1, torch.rand(2, 3, 8, 8) * 2 - 1
    REGULARIZERS.get(name).fn(lambda x, y: d(x), real, fake, None).backward()
    grad = d[0].weight.grad
    assert grad is not None and grad.isfinite().all() and grad.abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_acgan_and_conditional_discriminators(name):
    real, fake, w = batch("images")
    y = torch.tensor([0, 1, 2, 1])
    d = LinearD(w, classes=3, acgan=True)  # the label bias does not change grad_x
    value = REGULARIZERS.get(name).fn(d, real, fake, y)
    assert value.item() == pytest.approx(CLOSED_FORM[name], rel=1e-5)
    assert all(seen is y for seen in d.seen_y)


def test_gp_draws_one_interpolation_weight_per_sample():
    # real = 1, fake = 0: x_hat_i = eps_i * 1, so grad = x_hat_i and ||grad_i|| = eps_i * sqrt(n)
    b, n = 6, 5
    real, fake = torch.ones(b, n), torch.zeros(b, n)
    d = QuadraticD()
    torch.manual_seed(3)
    value = REGULARIZERS.get("gp").fn(d, real, fake, None)
    (x_hat,) = d.inputs
    eps = x_hat[:, 0]
    assert (x_hat == eps[:, None]).all()  # one weight per sample, shared by its coordinates
    assert len(set(eps.tolist())) == b  # and a different one for each sample
    assert value.item() == pytest.approx(((eps * math.sqrt(n) - 1) ** 2).mean().item(), rel=1e-5)
    # eps comes from the global generator: reseeding reproduces it
    torch.manual_seed(3)
    assert (torch.rand(b, 1)[:, 0] == eps).all()


def test_gp_eps_broadcasts_over_image_pixels():
    real, fake = torch.ones(3, 2, 4, 4), -torch.ones(3, 2, 4, 4)
    d = QuadraticD()
    REGULARIZERS.get("gp").fn(d, real, fake, None)
    (x_hat,) = d.inputs  # 2 eps - 1 per image
    assert (x_hat == x_hat[:, :1, :1, :1]).all()
    assert len(set(x_hat[:, 0, 0, 0].tolist())) == 3


def test_dragan_samples_near_the_real_data():
    torch.manual_seed(0)
    real = torch.randn(8, 1, 4, 4)
    d = QuadraticD()
    torch.manual_seed(5)
    REGULARIZERS.get("dragan").fn(d, real, None, None)
    (x_hat,) = d.inputs
    # x_p = real + 0.5 std u (u per element), x_hat = alpha real + (1 - alpha) x_p (alpha per sample)
    torch.manual_seed(5)
    u = torch.rand_like(real)
    alpha = torch.rand(8, 1, 1, 1)
    expected = alpha * real + (1 - alpha) * (real + 0.5 * real.std() * u)
    assert torch.allclose(x_hat, expected, atol=1e-6)
    offset = x_hat - real
    assert (offset >= 0).all() and (offset <= 0.5 * real.std()).all()


def test_regularizers_are_reproducible_from_the_seed():
    real, fake, _ = batch("images")
    d = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))
    for name in ("gp", "dragan"):
        values = []
        for _ in range(2):
            torch.manual_seed(11)
            values.append(REGULARIZERS.get(name).fn(lambda x, y: d(x), real, fake, None).item())
        assert values[0] == values[1]


def test_gp_needs_fakes():
    real, _, w = batch("points")
    with pytest.raises(ValueError, match="fake"):
        REGULARIZERS.get("gp").fn(LinearD(w), real, None, None)


def test_registered_weights_and_scales():
    regs: dict[str, Regularizer] = {n: REGULARIZERS.get(n) for n in NAMES}
    assert {n: (r.default_weight, r.scale) for n, r in regs.items()} == {
        "gp": (10.0, 1.0),
        "r1": (10.0, 0.5),  # the trainer adds gamma * 0.5 * R1 = gamma/2 * R1
        "dragan": (10.0, 1.0),
    }
    for entry in REGULARIZERS.entries():
        assert "20" in entry.help


def test_resolve_picks_the_regularizer_and_weight():
    wgan_gp: GANLoss = LOSSES.get("wgan-gp")
    hinge: GANLoss = LOSSES.get("hinge")
    assert wgan_gp.penalty in REGULARIZERS
    assert resolve(None, None, wgan_gp) == (REGULARIZERS.get("gp"), 10.0)  # the loss's own
    assert resolve(None, 2.5, wgan_gp) == (REGULARIZERS.get("gp"), 2.5)  # config weight wins
    assert resolve("r1", None, wgan_gp) == (REGULARIZERS.get("r1"), 10.0)  # named one: its own default
    assert resolve(None, None, hinge) == (None, 0.0)  # none
    assert resolve("dragan", 1.0, hinge) == (REGULARIZERS.get("dragan"), 1.0)
    with pytest.raises(Exception, match="unknown regularizer"):
        resolve("nope", None, hinge)
