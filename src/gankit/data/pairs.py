"""(source, target) pairs for image-to-image translation and enhancement.

A translation model learns G(source) ~ target. gankit makes its pairs in one of
three ways (``pair.kind``):

``degrade``
    The target is a real image, the source the same image degraded on the device,
    batch by batch (:func:`degrade`): downsampled 2x or 4x (``sr2``, ``sr4``), with a
    square hole (``inpaint``), with Gaussian noise (``noise``), reduced to its edges
    (``edges``), or reduced to grayscale where the target is tinted one of a few hues
    (``colorize``). Any dataset gankit reads can be degraded; every random choice is
    drawn from the caller's ``torch.Generator``, so a resumed run sees the same pairs.

``aligned``
    Pairs of files in ``data.root`` (:func:`load_aligned`), in one of two formats
    (``pair.aligned``):

    - ``side-by-side`` (pix2pix): each file holds A | B, the source A in the left half
      and the target B in the right half, so its width must be even. The files are
      those of ``data.root/train/`` (``train`` split) or ``data.root/test/``
      (``test`` split; ``data.root/val/`` when there is no ``test/``); a root with none
      of these sub-folders is read whole, for either split.
    - ``folders``: the source in ``A/`` and the target in ``B/``, paired by file name
      (the relative path without its extension, so ``A/x.jpg`` pairs with ``B/x.png``).
      The folders looked for, in order: ``data.root/<split>/A`` and ``.../B``;
      ``data.root/<split>A`` and ``data.root/<split>B`` (``trainA``, ``testA``; ``val``
      stands in for ``test`` as above); ``data.root/A`` and ``data.root/B``.

    Files are read as the ``imagefolder`` dataset reads them (sub-folders included,
    names starting with "." skipped, each half centre-cropped and resized to
    ``data.resolution``); unreadable files are skipped with one warning that counts them.

``unpaired``
    Two independent datasets, one per domain (:func:`load_unpaired`): domain A is
    ``data`` and domain B is ``pair.dataset_b`` (read from ``pair.root_b``), e.g. MNIST
    and Fashion-MNIST; or, with ``data.dataset: imagefolder`` and no ``pair.dataset_b``,
    the CycleGAN layout ``data.root/trainA`` and ``data.root/trainB`` (``testA`` and
    ``testB`` for the test split). The domains may differ in size and channels, not in
    resolution.

Channels: the source and the target have the data's channels unless
``pair.source_channels`` / ``pair.target_channels`` say otherwise; 1 -> 3 repeats the
channel and 3 -> 1 takes the luminance with the ITU-R BT.601 weights (:func:`to_channels`).
docs/translation-data.md gives every definition in full.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from gankit.config import DataConfig, PairConfig
from gankit.data import imagefolder
from gankit.data.datasets import ImageDataset, load_dataset
from gankit.errors import ConfigError, DataError
from gankit.models.keep_known import HOLE_VALUE  # the hole's value, which model.keep_known finds again
from gankit.registry import DATASETS

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

ALIGNED_SPLIT_FOLDERS = {"train": ("train",), "test": ("test", "val")}  # split -> sub-folder names, in order
_NAMES_SHOWN = 5  # how many mismatched file names an error lists
PROGRESS_MIN_FILES = imagefolder.PROGRESS_MIN_FILES


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


# ---------------------------------------------------------------------------
# aligned pairs from files
# ---------------------------------------------------------------------------


def _root(data: DataConfig, what: str) -> Path:
    if data.root is None:
        raise ConfigError(f"{what} pairs are read from a folder: pass --data-root DIR (data.root)")
    root = Path(data.root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (data.root must hold the {what} images)")
    return root


def _split_names(split: str) -> tuple[str, ...]:
    if split not in ALIGNED_SPLIT_FOLDERS:
        raise ConfigError(f"unknown split {split!r}; choose one of: {', '.join(ALIGNED_SPLIT_FOLDERS)}")
    return ALIGNED_SPLIT_FOLDERS[split]


def side_by_side_folder(root: Path, split: str) -> Path:
    """The folder of ``split``'s side-by-side files: root/train, root/test (else root/val), or
    root itself when it has none of these sub-folders."""
    names = _split_names(split)
    for name in names:
        if (root / name).is_dir():
            return root / name
    present = [n for n in ("train", "test", "val") if (root / n).is_dir()]
    if present:
        raise DataError(f"{root}: no {' or '.join(n + '/' for n in names)} folder for the {split} split (found "
                        f"{', '.join(n + '/' for n in present)}); add it, or choose --split "
                        f"{'train' if split == 'test' else 'test'}")
    return root


def ab_folders(root: Path, split: str) -> tuple[Path, Path]:
    """The (A, B) folders of ``split``: root/<split>/A and B, root/<split>A and <split>B, else root/A and B."""
    candidates = []
    for name in _split_names(split):
        candidates += [(root / name / "A", root / name / "B"), (root / f"{name}A", root / f"{name}B")]
    candidates.append((root / "A", root / "B"))
    for a, b in candidates:
        if a.is_dir() and b.is_dir():
            return a, b
    looked = ", ".join(f"{a.relative_to(root)}/ + {b.relative_to(root)}/" for a, b in candidates)
    raise DataError(f"{root}: no pair of folders for aligned pairs (pair.aligned=folders); looked for {looked}")


def load_aligned(data: DataConfig, pair: PairConfig, split: str, device: str | torch.device = "cpu") -> ImageDataset:
    """Aligned (source, target) pairs from the files in data.root, as ``pair.aligned`` lays them out.

    Returns an ImageDataset whose ``images`` are the targets uint8 [N, Ct, R, R] and
    ``sources`` the sources uint8 [N, Cs, R, R] (R = data.resolution; Cs, Ct =
    pair.source_channels, pair.target_channels, else data.channels), unlabelled.
    """
    root = _root(data, "aligned")
    src_channels = pair.source_channels or data.channels
    tgt_channels = pair.target_channels or data.channels
    if pair.aligned == "folders":
        folder, sources, targets = _load_ab(root, split, data.resolution, src_channels, tgt_channels)
    else:
        folder = side_by_side_folder(root, split)
        sources, targets = _load_side_by_side(folder, data.resolution, src_channels, tgt_channels)
    return ImageDataset(
        name="aligned",
        split=split,
        images=torch.from_numpy(targets).to(device),  # uint8 [N, Ct, R, R]
        labels=torch.zeros(len(targets), dtype=torch.int64, device=device),
        num_classes=0,
        class_names=(),
        source=str(folder),
        sources=torch.from_numpy(sources).to(device),  # uint8 [N, Cs, R, R]
    )


def load_halves(path: Path, resolution: int, src_channels: int, tgt_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The left (source) and right (target) halves of a side-by-side file, each uint8 [C, R, R].

    An odd width is a DataError; anything else that goes wrong raises what Pillow raises.
    """
    image = imagefolder.decode(path)  # as imagefolder reads files: bombs refused, truncated data fails here
    w, h = image.size
    if w % 2:
        raise DataError(f"{path}: width {w} is odd, so it cannot be split into A | B halves; side-by-side "
                        "files (pair.aligned=side-by-side) hold two images of equal width")
    half = w // 2
    source = imagefolder.to_array(image.crop((0, 0, half, h)), resolution, src_channels)
    target = imagefolder.to_array(image.crop((half, 0, w, h)), resolution, tgt_channels)
    return source, target


def _load_side_by_side(folder: Path, resolution: int, src_channels: int,
                       tgt_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Sources uint8 [N, Cs, R, R] and targets uint8 [N, Ct, R, R] of every readable file in ``folder``."""
    files = imagefolder.list_images(folder)
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(imagefolder.SUFFIXES)}) for side-by-side pairs")
    sources = np.empty((len(files), src_channels, resolution, resolution), dtype=np.uint8)
    targets = np.empty((len(files), tgt_channels, resolution, resolution), dtype=np.uint8)
    failed: dict[Path, str] = {}
    count = 0
    bar = tqdm(files, desc="pairs", unit="file", file=sys.stderr, leave=False,
               disable=None if len(files) >= PROGRESS_MIN_FILES else True)
    for path in bar:
        try:
            sources[count], targets[count] = load_halves(path, resolution, src_channels, tgt_channels)
        except DataError:
            raise
        except Exception as e:  # a broken file: skipped and counted, as imagefolder does
            failed[path] = f"{type(e).__name__}: {e}"
        else:
            count += 1
    _check_loaded(folder, len(files), count, failed)
    return sources[:count], targets[:count]


def _check_loaded(folder: Path, total: int, count: int, failed: dict[Path, str]) -> None:
    """No usable pair is an error; some broken files one warning."""
    if not count:
        first = next(iter(failed.values()))
        raise DataError(f"{folder}: none of the {total} image files gives a readable pair (first reason: {first})")
    if failed:
        imagefolder.warn_skipped(folder, total, failed)


def _pair_key(folder: Path, path: Path) -> tuple[str, ...]:
    """What pairs a file of A/ with one of B/: its relative path without the extension."""
    return path.relative_to(folder).with_suffix("").parts


def _keyed(folder: Path) -> dict[tuple[str, ...], Path]:
    files = imagefolder.list_images(folder)
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(imagefolder.SUFFIXES)}) for aligned pairs")
    keyed: dict[tuple[str, ...], Path] = {}
    for path in files:
        key = _pair_key(folder, path)
        if key in keyed:
            raise DataError(f"{folder}: {keyed[key].name} and {path.name} have the same name; keep one, so each "
                            "file of A/ has one partner in B/")
        keyed[key] = path
    return keyed


def _check_names(a: Path, b: Path, in_a: dict[tuple[str, ...], Path], in_b: dict[tuple[str, ...], Path]) -> None:
    """Every file of A/ must have a partner in B/ and the other way round; else name a few that do not."""
    only_a = sorted(set(in_a) - set(in_b))
    only_b = sorted(set(in_b) - set(in_a))
    parts = []
    for folder, other, keys, files in ((a, b, only_a, in_a), (b, a, only_b, in_b)):
        if keys:
            shown = ", ".join(str(files[k].relative_to(folder)) for k in keys[:_NAMES_SHOWN])
            more = f" and {len(keys) - _NAMES_SHOWN} more" if len(keys) > _NAMES_SHOWN else ""
            parts.append(f"{len(keys)} file(s) of {folder} have no partner in {other.name}/ ({shown}{more})")
    if parts:
        raise DataError("; ".join(parts) + "; aligned folders need files of matching names (extensions may differ)")


def _load_ab(root: Path, split: str, resolution: int, src_channels: int,
             tgt_channels: int) -> tuple[Path, np.ndarray, np.ndarray]:
    """The pairs of the A/ and B/ folders of ``split``: (their parent, sources, targets)."""
    a, b = ab_folders(root, split)
    in_a, in_b = _keyed(a), _keyed(b)
    _check_names(a, b, in_a, in_b)
    keys = sorted(in_a)
    sources, kept_a, failed_a = imagefolder.load_all([in_a[k] for k in keys], resolution, src_channels)
    targets, kept_b, failed_b = imagefolder.load_all([in_b[k] for k in keys], resolution, tgt_channels)
    # load_all compacts what it could read; map each pair to its rows, keep those whose two files read
    kept_a, kept_b = np.array(kept_a), np.array(kept_b)
    row_a, row_b = np.cumsum(kept_a) - 1, np.cumsum(kept_b) - 1
    both = kept_a & kept_b
    parent = a.parent
    _check_loaded(parent, 2 * len(keys), int(both.sum()), {**failed_a, **failed_b})
    return parent, sources[row_a[both]], targets[row_b[both]]


# ---------------------------------------------------------------------------
# unpaired domains
# ---------------------------------------------------------------------------

CYCLEGAN_FOLDERS = {"train": ("trainA", "trainB"), "test": ("testA", "testB")}  # split -> (domain A, domain B)


def load_unpaired(data: DataConfig, pair: PairConfig, split: str,
                  device: str | torch.device = "cpu") -> tuple[ImageDataset, ImageDataset]:
    """The two domains of unpaired translation, each an ImageDataset on ``device``.

    Domain A is ``data`` and domain B ``pair.dataset_b`` (from ``pair.root_b``); or,
    with data.dataset imagefolder and no pair.dataset_b, the folders
    data.root/trainA and data.root/trainB (testA, testB for the test split).
    Sizes and channels may differ; resolutions may not.
    """
    if pair.dataset_b is None:
        a, b = _load_cyclegan_folders(data, split, pair, device)
        name_a, name_b = a.source, b.source
    else:
        if pair.dataset_b not in DATASETS:
            raise ConfigError(f"config key pair.dataset_b={pair.dataset_b!r}: must be one of: "
                              f"{', '.join(DATASETS.names())} (gankit list datasets)")
        a = load_dataset(data, split, device, **_channel_option(data.dataset, pair.source_channels))
        b = load_dataset(data, split, device, dataset=pair.dataset_b, root=pair.root_b,
                         **_channel_option(pair.dataset_b, pair.target_channels))
        name_a, name_b = f"data.dataset={data.dataset}", f"pair.dataset_b={pair.dataset_b}"
    for ds, name in ((a, name_a), (b, name_b)):
        if ds.kind != "image":
            raise ConfigError(f"{name} holds {ds.kind}, not images; unpaired translation needs two image datasets")
    if a.shape[1:] != b.shape[1:]:
        raise ConfigError(f"unpaired domains differ in resolution: {name_a} is {a.shape[1]}x{a.shape[2]}, {name_b} is "
                          f"{b.shape[1]}x{b.shape[2]}; use datasets of one size (data.resolution sets a folder's)")
    return _with_channels(a, pair.source_channels), _with_channels(b, pair.target_channels)


def _channel_option(dataset: str, channels: int | None) -> dict[str, int]:
    """A folder of images is decoded straight to the wanted channels (others are converted after)."""
    return {"channels": channels} if dataset == "imagefolder" and channels is not None else {}


def _with_channels(ds: ImageDataset, channels: int | None) -> ImageDataset:
    if channels is None or ds.images.shape[1] == channels:
        return ds
    return dataclasses.replace(ds, images=to_channels(ds.images, channels))


def _load_cyclegan_folders(data: DataConfig, split: str, pair: PairConfig,
                           device: str | torch.device) -> tuple[ImageDataset, ImageDataset]:
    """Domains A and B from data.root/<split>A and data.root/<split>B (the CycleGAN layout)."""
    if data.dataset != "imagefolder":
        raise ConfigError(f"config key pair.dataset_b is null: name domain B's dataset (e.g. --set "
                          f"pair.dataset_b=fashion-mnist), or use data.dataset=imagefolder (not {data.dataset}) with "
                          "data.root holding trainA/ and trainB/")
    root = _root(data, "unpaired")
    if split not in CYCLEGAN_FOLDERS:
        raise ConfigError(f"unknown split {split!r}; choose one of: {', '.join(CYCLEGAN_FOLDERS)}")
    domains = []
    for name, channels in zip(CYCLEGAN_FOLDERS[split], (pair.source_channels, pair.target_channels)):
        folder = root / name
        if not folder.is_dir():
            raise DataError(f"{folder}: no such folder; unpaired folders (pair.kind=unpaired, no pair.dataset_b) "
                            f"are {root}/{CYCLEGAN_FOLDERS[split][0]} and {CYCLEGAN_FOLDERS[split][1]} for the "
                            f"{split} split")
        domains.append(load_dataset(data, split, device, root=str(folder), **_channel_option("imagefolder", channels)))
    return domains[0], domains[1]
