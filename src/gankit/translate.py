"""Using a trained translation or enhancement model on images of any size: the API behind
``gankit translate`` (alias ``gankit enhance``).

    >>> import gankit
    >>> t = gankit.load("runs/20261201-120000-srgan-sr4-mnist")
    >>> big = t.translate(small)      # uint8 [N, C, h, w] -> uint8 [N, C', 4h, 4w]
    >>> other = t.translate(small, seed=1)   # a stochastic model (model.noise_channels): other noise

Images of any size are reflect-padded to the model's size multiple and cropped back;
large images go through the model in overlapping tiles whose outputs are blended, so
memory stays bounded whatever the size. Grayscale and RGB inputs are converted to the
channels the model takes. The model runs in eval mode (BatchNorm's running statistics).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from gankit import atomic, viz
from gankit.config import Config
from gankit.data.degrade import to_channels
from gankit.errors import ConfigError, DataError
from gankit.models.noise_input import noise_channels, noise_for, translate

Tensor = torch.Tensor

TILE = 256  # input pixels a side of one tile, rounded to the size multiple
OVERLAP = 32  # input pixels shared by neighbouring tiles, blended linearly
BATCH = 256  # images through G at once where each is a single tile (BatchNorm in eval mode: each on its own)


class Translator:
    def __init__(self, generator: torch.nn.Module, config: Config, device: torch.device, step: int | None,
                 source_shape: tuple[int, ...], target_shape: tuple[int, ...]):
        self.generator = generator.eval().to(device)
        self.config = config
        self.device = device
        self.step = step
        self.source_shape, self.target_shape = tuple(source_shape), tuple(target_shape)
        self.in_channels, self.out_channels = self.source_shape[0], self.target_shape[0]
        self.size_multiple = int(getattr(generator, "size_multiple", 1))
        self.scale = int(getattr(generator, "scale", 1))
        self.min_size = 2 * self.size_multiple  # the innermost reflect padding of a ResNet generator needs 2 px

    @property
    def num_classes(self) -> int:
        return 0

    def check_size(self, size: tuple[int, int], path: Path | None = None) -> None:
        """A DataError (naming ``path``) when an image of ``size`` (h, w) is smaller than the model takes."""
        h, w = size
        if min(h, w) < self.min_size:
            where = f"{path}: " if path else ""
            raise DataError(f"{where}{h}x{w} pixels is below this model's minimum of {self.min_size}x{self.min_size}")

    @property
    def noise_channels(self) -> int:
        """Channels of the noise a stochastic model takes beside each image (0: deterministic)."""
        return noise_channels(self.generator)

    @torch.inference_mode()
    def translate(self, images: Tensor, tile: int = TILE, overlap: int = OVERLAP, seed: int = 0) -> Tensor:
        """uint8 images [N, C, h, w] (any C of 1 or 3, any h, w >= min_size) -> uint8
        [N, out_channels, h * scale, w * scale]. A stochastic model draws image i's noise as
        row i of z [N, k] from ``seed``: one seed, one output; other seeds, other outputs."""
        if images.dim() != 4 or images.dtype != torch.uint8:
            raise ConfigError(f"translate takes uint8 images [N, C, H, W], got {images.dtype} {list(images.shape)}")
        if images.shape[1] not in (1, 3):
            raise ConfigError(f"images must have 1 (grayscale) or 3 (RGB) channels, got {images.shape[1]}")
        self.check_size(images.shape[-2:])
        x = to_channels(images, self.in_channels).float().div(127.5).sub(1.0)  # [N, Cs, h, w] in [-1, 1]
        z = noise_for(self.generator, len(x), torch.Generator().manual_seed(seed))  # [N, k] or None
        if max(x.shape[-2:]) <= self._tile_size(tile):  # each image one tile: G on batches of them
            out = torch.cat([self._run(x[i : i + BATCH], None if z is None else z[i : i + BATCH])
                             for i in range(0, len(x), BATCH)])
        else:
            out = torch.cat([self._tiled(x[i : i + 1], tile, overlap, None if z is None else z[i : i + 1])
                             for i in range(len(x))])
        return viz.to_uint8(out)

    def _tile_size(self, tile: int) -> int:
        """Input pixels a side of one tile: ``tile`` rounded down to the size multiple."""
        return max(self.size_multiple, tile - tile % self.size_multiple)

    def _run(self, x: Tensor, z: Tensor | None = None) -> Tensor:
        """G on [B, Cs, h, w] (and z [B, k]), reflect-padded up to the size multiple and cropped back."""
        h, w = x.shape[-2:]
        m = self.size_multiple
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        y = translate(self.generator, x.to(self.device), None if z is None else z.to(self.device)).float().cpu()
        return y[..., : h * self.scale, : w * self.scale]

    def _tiled(self, x: Tensor, tile: int, overlap: int, z: Tensor | None = None) -> Tensor:
        """[1, Cs, h, w] (and its noise z [1, k]) -> [1, Ct, h*s, w*s]: whole when it fits in one tile,
        else tile by tile, each with the image's z, each output tile weighted by a ramp that falls
        towards its edges where a neighbour overlaps."""
        h, w = x.shape[-2:]
        tile = self._tile_size(tile)
        if h <= tile and w <= tile:
            return self._run(x, z)
        s = self.scale
        out = torch.zeros(1, self.out_channels, h * s, w * s)
        weight = torch.zeros(1, 1, h * s, w * s)
        for top in _starts(h, tile, overlap):
            for left in _starts(w, tile, overlap):
                patch = x[..., top : top + tile, left : left + tile]
                y = self._run(patch, z)  # [1, Ct, th*s, tw*s]
                ramp = _ramp(y.shape[-2], overlap * s)[:, None] * _ramp(y.shape[-1], overlap * s)[None, :]
                out[..., top * s : top * s + y.shape[-2], left * s : left * s + y.shape[-1]] += y * ramp
                weight[..., top * s : top * s + y.shape[-2], left * s : left * s + y.shape[-1]] += ramp
        return out / weight


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    """Tile positions along one side: stride tile - overlap, the last flush with the end."""
    if size <= tile:
        return [0]
    stride = max(1, tile - overlap)
    n = math.ceil((size - tile) / stride) + 1
    return sorted({min(i * stride, size - tile) for i in range(n)})


def _ramp(n: int, overlap: int) -> Tensor:
    """Weights [n] rising linearly over ``overlap`` pixels at each end (never 0), flat in between."""
    i = torch.arange(n, dtype=torch.float32)
    edge = torch.minimum(i + 1, n - i)
    return (edge / max(overlap, 1)).clamp(max=1.0)


# ---------------------------------------------------------------------------
# files: gankit translate RUN INPUT... --out DIR
# ---------------------------------------------------------------------------


def read_image(path: Path, channels: int) -> Tensor:
    """One image file as uint8 [1, channels, H, W] at its own size (EXIF rotation applied, transparency
    composited on black, converted to grayscale or RGB); a DataError naming the file when it cannot be."""
    from gankit.data.imagefolder import MODES, decode, drop_alpha, to_8_bits

    try:
        image = drop_alpha(to_8_bits(decode(path))).convert(MODES[channels])  # as imagefolder reads images
        array = np.asarray(image, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except Exception as e:  # Pillow raises many types for broken files
        raise DataError(f"{path}: not a readable PNG/JPEG/BMP/GIF/WebP image ({type(e).__name__}: {e})") from None
    if array.size == 0:
        raise DataError(f"{path}: the image is empty (0 pixels)")
    return torch.from_numpy(array.reshape(*array.shape[:2], channels).transpose(2, 0, 1).copy()).unsqueeze(0)


def collect(inputs: list[str | Path]) -> list[tuple[Path, Path, bool]]:
    """(file, output name relative to --out, given directly) for every input: a file as itself, a
    folder's images (recursively) under the folder's name. A missing input is a DataError."""
    from gankit.data.imagefolder import list_images

    found = []
    for item in map(Path, inputs):
        if item.is_dir():
            found += [(f, Path(item.name) / f.relative_to(item).with_suffix(".png"), False) for f in list_images(item)]
        elif item.is_file():
            found.append((item, Path(item.with_suffix(".png").name), True))
        else:
            raise DataError(f"{item}: no such file or folder")
    names = [name for _, name, _ in found]
    if len(set(names)) != len(names):
        twice = sorted({str(n) for n in names if names.count(n) > 1})
        raise DataError(f"two inputs would be written to the same output file: {', '.join(twice[:3])}; "
                        "rename one or translate them separately")
    return found


def translate_files(translator: Translator, inputs: list[str | Path], out: str | Path, tile: int = TILE,
                    seed: int = 0, samples: int = 1) -> tuple[list[Path], dict[Path, str]]:
    """Translate image files and folders into ``out`` as PNGs; returns (written, skipped with reasons).

    A stochastic model translates each image with noise from ``seed``; with ``samples`` > 1 it
    writes NAME-1.png ... NAME-N.png, sample j from seed + j - 1.

    Every input is read and checked before anything is written: a file named directly that
    cannot be used is an error (nothing is written); an unusable image inside a folder is
    skipped and counted. Each output is written atomically, so ``out`` never holds a
    half-written file.
    """
    out = Path(out)
    if samples > 1 and not translator.noise_channels:
        raise ConfigError(f"--samples {samples}: this model is deterministic (model.noise_channels=0), so every sample "
                          "of an image is the same; leave --samples out")
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out}: exists and is not a folder")
    todo, skipped = [], {}
    for path, name, direct in collect(inputs):
        try:
            image = read_image(path, translator.in_channels)
            translator.check_size(image.shape[-2:], path)
        except DataError as e:
            if direct:
                raise
            skipped[path] = str(e)
            continue
        todo.append((path, name))
    if not todo:
        raise DataError("no usable image among the inputs" + (f" ({len(skipped)} skipped)" if skipped else ""))
    written = []
    bar = tqdm(todo, desc="translate", unit="image", file=sys.stderr, leave=False, disable=None)
    for path, name in bar:
        image = read_image(path, translator.in_channels)
        for j in range(samples):
            result = translator.translate(image, tile=tile, seed=seed + j)[0]  # [C, H, W]
            target = out / name if samples == 1 else out / name.parent / f"{name.stem}-{j + 1}{name.suffix}"
            with atomic.atomic_path(target) as tmp:
                Image.fromarray(result[0].numpy() if result.shape[0] == 1 else result.permute(1, 2, 0).numpy()).save(
                    tmp, format="PNG")
            written.append(target)
    return written, skipped
