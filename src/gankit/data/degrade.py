"""Degradations: the (source, target) pairs of ``pair.kind: degrade``, made from real images on the device.

The target is a real image and the source the same image degraded, batch by batch
(:func:`degrade`): downsampled 2x or 4x (``sr2``, ``sr4``; box or bicubic, the kernel
named in ``pair.kernel``), with a square hole (``inpaint``), with Gaussian noise
(``noise``), reduced to its edges (``edges``: Sobel or Canny), or reduced to grayscale
where the target is tinted one of a few hues (``colorize``). Any dataset gankit reads can
be degraded. Every random choice is drawn from the caller's ``torch.Generator``, so a
resumed run sees the same pairs; under torchrun each rank draws for the whole global batch
and keeps its own slice, so the pairs do not depend on the number of processes.

Channels: the source and the target have the data's channels unless
``pair.source_channels`` / ``pair.target_channels`` say otherwise; 1 -> 3 repeats the
channel and 3 -> 1 takes the luminance with the ITU-R BT.601 weights (:func:`to_channels`).
docs/translation-data.md gives every definition in full.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.config import PairConfig
from gankit.errors import ConfigError
from gankit.models.keep_known import HOLE_VALUE  # the hole's value, which model.keep_known finds again

# ---------------------------------------------------------------------------
# constants
# ---------------------------------------------------------------------------

SR_FACTORS = {"sr2": 2, "sr4": 4}  # degradation -> downsampling factor (image side / source side)
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luminance weights of R, G, B (sum 1)

SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))  # d/dcolumn, rows pointing down
CANNY_BLUR_SIGMA = 1.0  # standard deviation of Canny's Gaussian pre-blur, in pixels
CANNY_BLUR_RADIUS = 2  # the blur kernel spans 2 * radius + 1 pixels
CANNY_HIGH = 0.2  # strong edges: suppressed magnitude >= this fraction of the image's largest
CANNY_LOW = 0.1  # weak edges, kept when connected to a strong one: >= this fraction of the largest
CANNY_HYSTERESIS_STEPS = 4  # 3x3 dilations that grow strong edges into weak ones (reach: 4 px)


# ---------------------------------------------------------------------------
# channels
# ---------------------------------------------------------------------------


def to_channels(x: Tensor, channels: int) -> Tensor:
    """``x`` [B, C, H, W] (float, or uint8) with ``channels`` channels: 1 -> 3 repeats the channel,
    3 -> 1 takes the luminance 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601).

    The weights sum to 1, so the luminance of an image in [-1, 1] is the same whether it
    is taken there or in [0, 1]; uint8 luminance is rounded to the nearest integer.
    """
    have = x.shape[1]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return x.repeat(1, 3, 1, 1)  # [B, 1, H, W] -> [B, 3, H, W]
    if have == 3 and channels == 1:
        return luminance(x)
    raise ValueError(f"to_channels converts between 1 and 3 channels, not {have} -> {channels}")


def luminance(x: Tensor) -> Tensor:
    """The BT.601 luminance [B, 1, H, W] of an RGB batch [B, 3, H, W], float or uint8 (rounded)."""
    weights = torch.tensor(LUMA_WEIGHTS, device=x.device).view(1, 3, 1, 1)
    if x.dtype == torch.uint8:
        y = (x.float() * weights).sum(1, keepdim=True)
        return y.round_().clamp_(0, 255).to(torch.uint8)
    return (x * weights.to(x.dtype)).sum(1, keepdim=True)


def _gray(x: Tensor) -> Tensor:
    """A 1-channel view of ``x``: itself when grayscale, else its luminance."""
    return x if x.shape[1] == 1 else to_channels(x, 1)


def _convert(source: Tensor, target: Tensor, cfg: PairConfig) -> tuple[Tensor, Tensor]:
    """Apply pair.source_channels and pair.target_channels (None: keep)."""
    if cfg.source_channels is not None:
        source = to_channels(source, cfg.source_channels)
    if cfg.target_channels is not None:
        target = to_channels(target, cfg.target_channels)
    return source, target


# ---------------------------------------------------------------------------
# degradations
# ---------------------------------------------------------------------------


def pair_shapes(cfg: PairConfig, data_shape: tuple[int, int, int]) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The (source, target) shapes (C, H, W) that :func:`degrade` makes of images of ``data_shape``,
    without any data (for building models). Raises the ConfigError that degrade would."""
    c, h, w = data_shape
    name = cfg.degradation
    if name in SR_FACTORS:
        f = _check_sr(cfg, h, w)
        source, target = (c, h // f, w // f), (c, h, w)
    elif name == "inpaint":
        _check_hole(cfg, h, w)
        source, target = (c, h, w), (c, h, w)
    elif name == "noise":
        source, target = (c, h, w), (c, h, w)
    elif name == "edges":
        source, target = (1, h, w), (c, h, w)
    elif name == "colorize":
        source, target = (1, h, w), (3, h, w)
    else:
        raise ConfigError(f"config key pair.degradation={name!r}: unknown; use sr2, sr4, inpaint, noise, edges "
                          "or colorize")
    if cfg.source_channels is not None:
        source = (cfg.source_channels, *source[1:])
    if cfg.target_channels is not None:
        target = (cfg.target_channels, *target[1:])
    return source, target


def degrade(x: Tensor, cfg: PairConfig, generator: torch.Generator,
            part: tuple[int, int] = (0, 1)) -> tuple[Tensor, Tensor]:
    """The (source, target) pair of degradation ``cfg.degradation`` from real images ``x``.

    ``x`` is float [B, C, H, W] in [-1, 1] on any device; every random choice is drawn
    from ``generator`` (a generator on ``x``'s device), so the same generator state
    gives the same pair. Shapes are those of :func:`pair_shapes`. ``part`` = (r, n): x is
    slice r of a global batch of n slices (torchrun's ranks), and the draws are made for
    the whole global batch, x's slice kept: what one process with that batch would draw.
    """
    name = cfg.degradation
    pair_shapes(cfg, tuple(x.shape[1:]))  # the size checks, once for every degradation
    if name in SR_FACTORS:
        source, target = downsample(x, SR_FACTORS[name], cfg.kernel), x
    elif name == "inpaint":
        source, target = inpaint(x, cfg.hole, cfg.hole_position, generator, part), x
    elif name == "noise":
        noise = torch.randn((part[1] * len(x), *x.shape[1:]), generator=generator, device=x.device, dtype=x.dtype)
        source, target = x + cfg.sigma * _mine(noise, part), x
    elif name == "edges":
        detect = canny_edges if cfg.edge_detector == "canny" else sobel_edges
        source, target = detect(_gray(x)), x
    else:  # colorize
        source = _gray(x)
        target = tint(source, cfg.hues, generator, part)
    return _convert(source, target, cfg)


def _check_sr(cfg: PairConfig, h: int, w: int) -> int:
    f = SR_FACTORS[cfg.degradation]
    if h % f or w % f:
        raise ConfigError(f"config key pair.degradation={cfg.degradation}: the image size {h}x{w} is not divisible "
                          f"by {f}; pick a data.resolution that is, or sr2")
    return f


def _check_hole(cfg: PairConfig, h: int, w: int) -> None:
    if cfg.hole > min(h, w):
        raise ConfigError(f"config key pair.hole={cfg.hole}: the hole is larger than the {h}x{w} image; use at most "
                          f"{min(h, w)}")


def downsample(x: Tensor, factor: int, kernel: str) -> Tensor:
    """``x`` [B, C, H, W] -> [B, C, H/factor, W/factor].

    "box": the mean of each factor x factor block (exact); "bicubic": torch's antialiased
    bicubic resize (the filter widened by the factor), clamped to [-1, 1] since the
    bicubic's negative lobes overshoot at sharp strokes.
    """
    if kernel == "box":
        return F.avg_pool2d(x, factor)
    h, w = x.shape[-2] // factor, x.shape[-1] // factor
    small = F.interpolate(x, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
    return small.clamp_(-1.0, 1.0)


def inpaint(x: Tensor, hole: int, position: str, generator: torch.Generator,
            part: tuple[int, int] = (0, 1)) -> Tensor:
    """``x`` with a hole x hole square set to 0 (mid grey): centred ((H - hole) // 2 from the top,
    (W - hole) // 2 from the left), or at a top-left corner drawn uniformly per image (``part``:
    as :func:`degrade`'s)."""
    b, _, h, w = x.shape
    if position == "random":
        top = _draw_ints(h - hole + 1, b, generator, part)  # [B]
        left = _draw_ints(w - hole + 1, b, generator, part)  # [B]
    else:
        top = torch.full((b,), (h - hole) // 2, device=x.device)
        left = torch.full((b,), (w - hole) // 2, device=x.device)
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + hole)  # [B, H]
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + hole)  # [B, W]
    mask = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # [B, 1, H, W]
    return x.masked_fill(mask, HOLE_VALUE)


def _sobel(gray: Tensor) -> tuple[Tensor, Tensor]:
    """Sobel derivatives (d/dcolumn, d/drow) [B, 1, H, W] of ``gray`` [B, 1, H, W].

    The border is replicated, so a flat image has no gradient at its edges either.
    """
    kx = torch.tensor(SOBEL_X, device=gray.device, dtype=gray.dtype)
    kernels = torch.stack([kx, kx.t()]).unsqueeze(1)  # [2, 1, 3, 3]: d/dcolumn, d/drow
    padded = F.pad(gray, (1, 1, 1, 1), mode="replicate")
    g = F.conv2d(padded, kernels)  # [B, 2, H, W]
    return g[:, :1], g[:, 1:]


def _per_image_max(m: Tensor) -> Tensor:
    """The largest value of each image of ``m`` [B, 1, H, W], as [B, 1, 1, 1]."""
    return m.amax(dim=(1, 2, 3), keepdim=True)


def sobel_edges(gray: Tensor) -> Tensor:
    """The Sobel gradient magnitude of ``gray`` [B, 1, H, W], divided by each image's largest and
    mapped to [-1, 1]: the strongest edge is +1, a flat region -1 (a flat image is all -1)."""
    gx, gy = _sobel(gray)
    magnitude = torch.sqrt(gx * gx + gy * gy)
    peak = _per_image_max(magnitude)
    normalised = torch.where(peak > 0, magnitude / peak.clamp_min(torch.finfo(gray.dtype).tiny), 0.0)
    return normalised * 2 - 1


def _gaussian_blur(gray: Tensor, sigma: float, radius: int) -> Tensor:
    """``gray`` [B, 1, H, W] blurred by a separable Gaussian, border replicated."""
    t = torch.arange(-radius, radius + 1, device=gray.device, dtype=gray.dtype)
    k = torch.exp(-(t * t) / (2 * sigma * sigma))
    k = k / k.sum()
    padded = F.pad(gray, (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, k.view(1, 1, 1, -1))
    return F.conv2d(rows, k.view(1, 1, -1, 1))


# gradient direction sector (angle rounded to 45 degrees) -> (drow, dcolumn) of the neighbour along it
_NMS_STEPS = ((0, 1), (1, 1), (1, 0), (1, -1))


def _shift(m: Tensor, dr: int, dc: int) -> Tensor:
    """``m`` [B, 1, H, W] at (row + dr, column + dc), zero outside the image."""
    h, w = m.shape[-2:]
    padded = F.pad(m, (1, 1, 1, 1))
    return padded[..., 1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]


def _non_maximum_suppression(magnitude: Tensor, gx: Tensor, gy: Tensor) -> Tensor:
    """``magnitude`` where it is a maximum along its gradient direction, else 0.

    The direction is rounded to one of 4 sectors (0, 45, 90, 135 degrees). A pixel
    survives when it is >= the neighbour ahead and > the one behind, so a ridge two
    pixels wide of equal values keeps one of them.
    """
    angle = torch.atan2(gy, gx)  # rows point down, so 90 degrees is towards the next row
    sector = torch.round(angle / (math.pi / 4)).long().remainder(4)  # [B, 1, H, W] in 0..3
    keep = torch.zeros_like(magnitude, dtype=torch.bool)
    for s, (dr, dc) in enumerate(_NMS_STEPS):
        ahead, behind = _shift(magnitude, dr, dc), _shift(magnitude, -dr, -dc)
        keep |= (sector == s) & (magnitude >= ahead) & (magnitude > behind)
    return torch.where(keep & (magnitude > 0), magnitude, 0.0)


def canny_edges(gray: Tensor) -> Tensor:
    """Canny-like thin edges of ``gray`` [B, 1, H, W] as -1 / +1 (edge).

    Gaussian blur (sigma CANNY_BLUR_SIGMA px), Sobel gradient, non-maximum
    suppression, then a double threshold relative to each image's largest suppressed
    magnitude: strong >= CANNY_HIGH of it, weak >= CANNY_LOW of it, and weak pixels
    within CANNY_HYSTERESIS_STEPS 3x3 dilations of strong ones (through weak pixels)
    become edges too. Everything stays on the device, without a loop over pixels.
    """
    gx, gy = _sobel(_gaussian_blur(gray, CANNY_BLUR_SIGMA, CANNY_BLUR_RADIUS))
    thin = _non_maximum_suppression(torch.sqrt(gx * gx + gy * gy), gx, gy)
    peak = _per_image_max(thin)
    strong = (thin >= CANNY_HIGH * peak) & (thin > 0)
    weak = (thin >= CANNY_LOW * peak) & (thin > 0)
    for _ in range(CANNY_HYSTERESIS_STEPS):
        grown = F.max_pool2d(strong.to(gray.dtype), 3, stride=1, padding=1) > 0
        strong = weak & grown
    return strong.to(gray.dtype) * 2 - 1


def hue_colours(hues: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Tensor:
    """[hues, 3] RGB in [0, 1] of ``hues`` hues evenly spaced from red (0 degrees), at full saturation
    and value: HSV (360 k / hues, 1, 1) for k = 0 .. hues - 1."""
    h = torch.arange(hues, device=device, dtype=dtype) * (6.0 / hues)  # hue in sextants, [0, 6)
    n = torch.tensor((5.0, 3.0, 1.0), device=device, dtype=dtype)  # the HSV -> RGB offsets of R, G, B
    k = (n[None, :] + h[:, None]).remainder(6)  # [hues, 3]
    return 1 - torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def _mine(drawn: Tensor, part: tuple[int, int]) -> Tensor:
    """Slice ``part[0]`` of the ``part[1]`` equal slices of a draw made for the global batch."""
    rank, ranks = part
    b = len(drawn) // ranks
    return drawn[rank * b : (rank + 1) * b]


def _draw_ints(high: int, b: int, generator: torch.Generator, part: tuple[int, int]) -> Tensor:
    """b integers in [0, high) [B]: this part's slice of a draw for ``part[1]`` parts."""
    return _mine(torch.randint(0, high, (part[1] * b,), generator=generator, device=generator.device), part)


def tint(gray: Tensor, hues: int, generator: torch.Generator, part: tuple[int, int] = (0, 1)) -> Tensor:
    """``gray`` [B, 1, H, W] in [-1, 1] tinted one of ``hues`` hues drawn per image: [B, 3, H, W]
    (``part``: as :func:`degrade`'s).

    In [0, 1] units the target is colour * gray, so white becomes the colour, black
    stays black, and the largest channel of every target pixel is the gray value.
    """
    index = _draw_ints(hues, gray.shape[0], generator, part)  # [B]
    colour = hue_colours(hues, gray.device, gray.dtype)[index]  # [B, 3]
    unit = (gray + 1) / 2  # [B, 1, H, W] in [0, 1]
    return unit * colour[:, :, None, None] * 2 - 1
