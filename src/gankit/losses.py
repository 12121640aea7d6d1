"""Adversarial losses, computed from discriminator logits and registered by name.

Each loss gives the two quantities the trainer minimises:

    d_loss(real_logits, fake_logits)   for the D step
    g_loss(fake_logits, real_logits)   for the G step

with D(x) = sigmoid(logit). Probabilities are never formed and then logged:
log D(x) = -softplus(-l) and log(1 - D(x)) = -softplus(l) are exact and stay
finite where log(sigmoid(l)) underflows to -inf (|l| > ~88 in float32).

Besides the two losses, a ``GANLoss`` tells the trainer what else the loss
needs: whether ``g_loss`` uses D's logits on real images from the current D
(``g_uses_real``), whether D's weights are clipped after each D step
(``weight_clipping``), and which regularizer comes with it by default
(``penalty``, ``penalty_weight``).

For the trainer: ``adversarial`` takes the logits out of a
discriminator's output (plain or ACGAN), ``clip_weights_`` clips D in place
(WGAN), and ``acgan_loss`` is the auxiliary classifier's cross-entropy.
``elbo_loss`` is the likelihood models' loss (the VAE baseline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gankit.registry import LOSSES

Tensor = torch.Tensor


@dataclass(frozen=True)
class GANLoss:
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor, Tensor], Tensor]
    # True when D's logits mean probabilities through a sigmoid, so that the
    # mean D(x) and D(G(z)) logged during training are meaningful.
    probabilistic: bool = True
    # True when g_loss needs D's logits on real images from the current D
    # (relativistic losses): the trainer recomputes them in the G step.
    g_uses_real: bool = False
    # True when D's weights are clipped to [-loss.clip, loss.clip] after each
    # D step (the original WGAN's crude Lipschitz constraint).
    weight_clipping: bool = False
    # The regularizer that comes with the loss (a REGULARIZERS name) and its
    # weight, used when the config names no regularizer (reg.name: null).
    penalty: str | None = None
    penalty_weight: float | None = None


def _d_loss_bce(real: Tensor, fake: Tensor) -> Tensor:
    # D maximises E[log D(x)] + E[log(1 - D(G(z)))]; we minimise the negation.
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _g_loss_minimax(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # G minimises E[log(1 - D(G(z)))] = -E[softplus(l)]. Its gradient vanishes when
    # D confidently rejects the fakes (D(G(z)) -> 0), which is early in training.
    return -F.softplus(fake).mean()


def _g_loss_nonsaturating(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # G maximises E[log D(G(z))], i.e. minimises E[softplus(-l)]: the same fixed
    # point as minimax, but strong gradients exactly when D rejects the fakes.
    return F.softplus(-fake).mean()


LOSSES.register(
    "minimax",
    GANLoss(_d_loss_bce, _g_loss_minimax),
    help="the original value function: G minimises log(1 - D(G(z))) (Goodfellow et al. 2014)",
)
LOSSES.register(
    "nonsaturating",
    GANLoss(_d_loss_bce, _g_loss_nonsaturating),
    help="G maximises log D(G(z)): same fixed point, strong early gradients (Goodfellow et al. 2014)",
)


# ---------------------------------------------------------------------------
# discriminator outputs, weight clipping, the ACGAN classifier loss
# ---------------------------------------------------------------------------


def adversarial(out: Tensor | tuple[Tensor, Tensor]) -> Tensor:
    """The real/fake logits [B] of a discriminator's output.

    A plain D returns logits [B]; an ACGAN D returns ``(logits [B],
    class_logits [B, K])``. Both give the logits [B].
    """
    if isinstance(out, (tuple, list)):
        return out[0]
    return out


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to [-c, c], in place (Arjovsky et al. 2017)."""
    if c <= 0:
        raise ValueError(f"the clipping bound must be > 0, got {c}")
    for p in module.parameters():
        p.clamp_(-c, c)


def acgan_loss(class_logits: Tensor, labels: Tensor) -> Tensor:
    """The ACGAN auxiliary classifier loss (Odena et al. 2017).

    Mean cross-entropy -log softmax(class_logits)[y] over the batch;
    class_logits [B, K], labels int64 [B]. D minimises it on real and fake
    images, G on its fakes (with the labels it was conditioned on).
    """
    return F.cross_entropy(class_logits, labels)


# ---------------------------------------------------------------------------
# Wasserstein losses (Arjovsky et al. 2017; Gulrajani et al. 2017)
# ---------------------------------------------------------------------------


def _d_loss_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    # The critic estimates W(P_r, P_g) ~ E[D(x)] - E[D(G(z))] and maximises it:
    # d = E[D(G(z))] - E[D(x)].
    return fake.mean() - real.mean()


def _g_loss_wasserstein(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # G lowers the estimate by raising the critic's score of its samples.
    return -fake.mean()


# ---------------------------------------------------------------------------
# hinge loss (Lim & Ye 2017; Miyato et al. 2018)
# ---------------------------------------------------------------------------


def _d_loss_hinge(real: Tensor, fake: Tensor) -> Tensor:
    # d = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]: only samples inside the
    # margin (real below +1, fake above -1) give gradients.
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


# the hinge generator loss is the Wasserstein one: g = -E[D(G(z))]


# ---------------------------------------------------------------------------
# least squares (Mao et al. 2017), with targets a = 0 (fake), b = 1 (real), c = 1
# ---------------------------------------------------------------------------


def _d_loss_lsgan(real: Tensor, fake: Tensor) -> Tensor:
    # d = 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]
    return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean()


def _g_loss_lsgan(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # g = 1/2 E[(D(G(z)) - c)^2]
    return 0.5 * (fake - 1).pow(2).mean()


# ---------------------------------------------------------------------------
# relativistic average standard GAN, RaSGAN (Jolicoeur-Martineau 2018)
# ---------------------------------------------------------------------------


def _relativistic_logits(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    # r~ = C(x_r) - E[C(x_f)] and f~ = C(x_f) - E[C(x_r)], both [B]: how much
    # more real each sample looks than the average of the other kind.
    return real - fake.mean(), fake - real.mean()


def _d_loss_relativistic(real: Tensor, fake: Tensor) -> Tensor:
    # d = BCE(r~, 1) + BCE(f~, 0) = E[softplus(-r~)] + E[softplus(f~)]
    r, f = _relativistic_logits(real, fake)
    return F.softplus(-r).mean() + F.softplus(f).mean()


def _g_loss_relativistic(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # g = BCE(f~, 1) + BCE(r~, 0) = E[softplus(-f~)] + E[softplus(r~)]: the roles
    # swap, and G also gains from making real images look less real than fakes.
    if real is None:
        raise ValueError("the relativistic generator loss needs D's logits on real images")
    r, f = _relativistic_logits(real, fake)
    return F.softplus(-f).mean() + F.softplus(r).mean()


LOSSES.register(
    "wasserstein",
    GANLoss(_d_loss_wasserstein, _g_loss_wasserstein, probabilistic=False, weight_clipping=True),
    help="Wasserstein critic with weight clipping to [-loss.clip, loss.clip] (Arjovsky et al. 2017)",
)
LOSSES.register(
    "wgan-gp",
    GANLoss(_d_loss_wasserstein, _g_loss_wasserstein, probabilistic=False, penalty="gp", penalty_weight=10.0),
    help="Wasserstein critic with a gradient penalty, lambda 10 (Gulrajani et al. 2017)",
)
LOSSES.register(
    "hinge",
    GANLoss(_d_loss_hinge, _g_loss_wasserstein, probabilistic=False),
    help="hinge loss on D, -D(G(z)) on G (Lim & Ye 2017; Miyato et al. 2018)",
)
LOSSES.register(
    "lsgan",
    GANLoss(_d_loss_lsgan, _g_loss_lsgan, probabilistic=False),
    help="least squares with targets a=0, b=1, c=1 (Mao et al. 2017)",
)
LOSSES.register(
    "relativistic",
    GANLoss(_d_loss_relativistic, _g_loss_relativistic, probabilistic=False, g_uses_real=True),
    help="relativistic average standard GAN, RaSGAN (Jolicoeur-Martineau 2018)",
)


# ---------------------------------------------------------------------------
# the negative ELBO of the VAE baseline (Kingma & Welling 2014)
# ---------------------------------------------------------------------------

# Standard deviation of the Gaussian likelihood p(x | z) = N(decoder(z), SIGMA^2 I)
# on pixels in [-1, 1]. See elbo_loss.
SIGMA = 0.5


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row: [B, latent] -> [B]."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def elbo_loss(decoder: nn.Module, encoder: nn.Module, x: torch.Tensor,
              sigma: float = SIGMA) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The negative ELBO of a batch x [B, C, H, W] in [-1, 1], averaged over the batch.

    z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) from the global RNG (the
    reparameterisation trick). Per image, loss = recon + KL with

        recon = ||decoder(z) - x||^2 / (2 sigma^2)   (-log N(x; decoder(z), sigma^2 I) + const)
        KL    = -1/2 sum(1 + logvar - mu^2 - exp(logvar))

    The likelihood is Gaussian on the [-1, 1] pixels every gankit model works in,
    rather than Bernoulli (BCE) on [0, 1] pixels: grey and colour images are not
    binary, and the decoder's tanh output is then the mean of the pixel density.
    sigma (default 0.5, a quarter of the pixel range) sets the balance of the two
    terms. A small sigma weights reconstruction heavily: reconstructions stay
    detailed, but the posteriors drift far from the prior N(0, I), and samples drawn
    from the prior come out as broken strokes (the sigmas compared: docs/results.md).

    Returns ``(loss, {"recon": mean recon, "kl": mean KL})``, the stats detached.
    """
    mu, logvar = encoder(x)  # [B, latent] each
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    x_hat = decoder(z)  # [B, C, H, W]
    recon = (x_hat - x).pow(2).flatten(1).sum(dim=1) / (2 * sigma**2)  # [B]
    kl = kl_divergence(mu, logvar)  # [B]
    loss = (recon + kl).mean()
    return loss, {"recon": recon.mean().detach(), "kl": kl.mean().detach()}


# ---------------------------------------------------------------------------
# translation and enhancement: pixel, feature matching, perceptual
# ---------------------------------------------------------------------------


def pixel_loss(output: Tensor, target: Tensor, kind: str = "l1", per_image: bool = False) -> Tensor:
    """Mean absolute (l1) or squared (l2) error between output and target images [B, C, H, W];
    with ``per_image``, each image's own mean [B].

    L1 is pix2pix's choice: it blurs less than L2, which averages the plausible
    outputs of an uncertain input into a grey one. Used for the cycle and identity
    losses of CycleGAN too (always L1 there).
    """
    if kind not in ("l1", "l2"):
        raise ValueError(f"pixel loss must be l1 or l2, got {kind!r}")
    error = (output - target).abs() if kind == "l1" else (output - target).pow(2)
    return error.flatten(1).mean(1) if per_image else error.mean()


def feature_distance(a: list[Tensor], b: list[Tensor], per_sample: bool = False) -> Tensor:
    """Mean over a network's tapped layers of the mean L1 distance between two images' feature maps
    (each [N, c, h, w]); with ``per_sample``, each of the N samples' own [N]. The gradient flows into both."""
    if per_sample:
        return sum((x - y).abs().flatten(1).mean(1) for x, y in zip(a, b, strict=True)) / len(a)
    return sum((x - y).abs().mean() for x, y in zip(a, b, strict=True)) / len(a)


def feature_matching_loss(fake_features: list[Tensor], real_features: list[Tensor]) -> Tensor:
    """Mean over D's hidden layers of the L1 distance between its feature maps of the output and of
    the target (pix2pixHD; Salimans et al. 2016): G matches what D looks at, not only its verdict.
    The real features are constants (detached)."""
    return feature_distance(fake_features, [r.detach() for r in real_features])


class PerceptualLoss(nn.Module):
    """L1 between the hidden features of output and target in a frozen classifier (Johnson et al. 2016).

    Which network: VGG's ImageNet weights are not available offline, so gankit uses the
    conv body of one of its shipped 28x28 classifiers, and never the one that scores
    the run (a loss measured in the scorer's own features would flatter the score):
    the Fashion-MNIST classifier for a run scored by the MNIST one, and the MNIST
    classifier otherwise. Images of other sizes are resized to 28x28; each channel of
    an RGB image goes through the network as a grayscale image and the losses are
    averaged.
    """

    TAPS = (2, 5, 8, 12)  # outputs of the body's ReLUs: [32, 14, 14], [32, 14, 14], [64, 14, 14], [64, 7, 7]

    def __init__(self, scored_by: str | None = None):
        super().__init__()
        from gankit.metrics.classifiers import load_evaluator

        dataset = "fashion-mnist" if scored_by == "mnist" else "mnist"
        self.source = f"{dataset}-cnn"
        body = load_evaluator(dataset).network.body
        self.body = nn.Sequential(*list(body)[: max(self.TAPS) + 1]).eval().requires_grad_(False)

    def train(self, mode: bool = True) -> PerceptualLoss:
        return super().train(False)  # the frozen network keeps BatchNorm's running statistics

    def features(self, x: Tensor) -> list[Tensor]:
        """[B, C, H, W] in [-1, 1] -> the tapped feature maps of each channel, batched as [B*C, 1, 28, 28]."""
        x = x.flatten(0, 1).unsqueeze(1)  # [B*C, 1, H, W]
        if x.shape[-2:] != (28, 28):
            x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False, antialias=True)
        out = []
        for i, layer in enumerate(self.body):
            x = layer(x)
            if i in self.TAPS:
                out.append(x.clone())  # the next layers write in place
        return out

    def forward(self, output: Tensor, target: Tensor, per_image: bool = False) -> Tensor:
        """The loss of output [B, C, H, W] against target; with ``per_image``, each image's own [B]."""
        with torch.no_grad():
            real = self.features(target)
        if not per_image:
            return feature_matching_loss(self.features(output), real)
        distance = feature_distance(self.features(output), real, per_sample=True)  # [B*C]
        return distance.view(len(output), -1).mean(1)  # [B]: the mean over each image's channels
