"""Any folder of images as a dataset: ``imagefolder``.

Every PNG, JPEG, BMP, GIF or WebP file under the folder (recursively; names
starting with "." are skipped, as they are system files such as macOS's
``._name.jpg``) is decoded with Pillow, converted to grayscale ("L") or RGB,
resized so its shorter side is ``resolution`` and centre-cropped to a square:
the usual preparation of face and scene datasets for GANs. Files are read in
sorted path order, so the same folder always gives the same tensor.

A folder gathered from the web nearly always has a few broken files; they are
skipped with one warning that counts them, rather than stopping a run. With
``labels_from_folders`` each first-level sub-folder is a class, for conditional
models; otherwise the data is unlabelled (``num_classes`` 0).

Pillow is only allowed to use the decoders of the formats above, so a file with
an image extension cannot reach a rarer, less-tested decoder. A file that declares
more pixels than Pillow's ``Image.MAX_IMAGE_PIXELS`` (a decompression bomb: a few
bytes that would decode to gigabytes) is refused from its header, before anything
is decoded, and skipped like a broken file.

Every pixel mode these formats produce is converted to 8 bits: palette images
through their palette, CMYK JPEGs to RGB, grayscale to RGB (or RGB to grayscale)
as ``data.channels`` asks, and anything with transparency (RGBA, LA, palettes or
grayscale with a transparent entry) is composited onto black. 16-bit grayscale
PNGs (Pillow's "I;16" modes, and 32-bit "I") are scaled, not clipped: a value v
of 0..65535 becomes round(v / 257), so 65535 stays white and mid-grey stays
mid-grey; Pillow's own conversion would clip everything above 255 to white.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm import tqdm

from gankit.config import DataConfig
from gankit.data.datasets import ImageDataset
from gankit.data.sources import PathLike
from gankit.errors import ConfigError, DataError
from gankit.registry import DATASETS

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
PIL_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
MODES = {1: "L", 3: "RGB"}  # channels -> Pillow mode
WIDE_GRAY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # grayscale of more than 8 bits, see to_8_bits
PROGRESS_MIN_FILES = 500  # fewer files load in a moment; no bar
_NAMES_SHOWN = 5  # how many skipped files a warning names


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder``, recursively, in sorted order of their relative paths."""
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in SUFFIXES and path.is_file():
            found.append(relative)
    return [folder / relative for relative in sorted(found, key=lambda r: r.parts)]


def folder_labels(folder: Path, files: list[Path]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels int64 [N] from each file's first-level sub-folder, and the sorted class names.

    A sub-folder without images is not a class. Images directly in ``folder``
    would have no class, so they are an error rather than silently dropped.
    """
    loose = [f for f in files if f.parent == folder]
    if loose:
        names = ", ".join(f.name for f in loose[:_NAMES_SHOWN])
        raise DataError(
            f"{folder}: {len(loose)} image(s) directly in the folder ({names}) have no class; with "
            "labels_from_folders every image must be inside a class sub-folder (move them, or turn "
            "data.labels_from_folders off)"
        )
    classes = [f.relative_to(folder).parts[0] for f in files]
    class_names = tuple(sorted(set(classes)))
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[c] for c in classes], dtype=np.int64), class_names


def center_square(image: Image.Image, resolution: int) -> Image.Image:
    """Resize so the shorter side is ``resolution`` and crop the centre square, in one resampling.

    Cropping the central min(w, h) square of the source and resampling it to
    resolution x resolution is the same as resizing then cropping, but keeps the
    crop at sub-pixel precision and filters once.
    """
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    box = (left, top, left + side, top + side)
    return image.resize((resolution, resolution), Image.Resampling.LANCZOS, box=box)


def to_8_bits(image: Image.Image) -> Image.Image:
    """A 16-bit (or 32-bit integer) grayscale image as 8-bit "L", scaled by 255 / 65535; others unchanged.

    Pillow's ``convert("L")`` clips these modes at 255, which turns nearly every
    16-bit picture white. A transparent grey value (a PNG's tRNS entry) becomes
    black, as transparency does everywhere else (:func:`drop_alpha`).
    """
    if image.mode not in WIDE_GRAY_MODES:
        return image
    wide = np.asarray(image).astype(np.int64)  # I;16 reads as uint16, I as int32
    narrow = ((np.clip(wide, 0, 65535) * 255 + 32767) // 65535).astype(np.uint8)  # round(v / 257)
    transparent = image.info.get("transparency")
    if isinstance(transparent, int):
        narrow[wide == transparent] = 0
    return Image.fromarray(narrow, mode="L")


def drop_alpha(image: Image.Image) -> Image.Image:
    """Composite a transparent image onto black.

    Plain conversion would keep whatever colour hides under transparent pixels,
    which differs between editors; over black, transparent is always black.
    """
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, rgba)
    return image


def decode(path: Path) -> Image.Image:
    """Open and fully decode one file, upright; raises whatever Pillow raises on a bad file.

    Pillow warns (DecompressionBombWarning) about images above MAX_IMAGE_PIXELS and
    refuses them only above twice that; here the warning is an error, so every image
    above the limit is refused when its header is read, before its pixels are decoded.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path, formats=PIL_FORMATS) as opened:
            image = ImageOps.exif_transpose(opened)  # phone photos store their rotation in EXIF
            image.load()  # decode now, inside the file's `with`: truncated data fails here
    return image


def to_array(image: Image.Image, resolution: int, channels: int) -> np.ndarray:
    """A decoded image as uint8 [channels, resolution, resolution]: 8 bits, no alpha, centre square."""
    image = drop_alpha(to_8_bits(image)).convert(MODES[channels])
    array = np.asarray(center_square(image, resolution), dtype=np.uint8)  # [R, R] or [R, R, 3]
    return array.reshape(resolution, resolution, channels).transpose(2, 0, 1)  # -> [C, R, R]


def load_image(path: Path, resolution: int, channels: int) -> np.ndarray:
    """Decode one file to uint8 [channels, resolution, resolution]; raises whatever Pillow raises."""
    return to_array(decode(path), resolution, channels)


def load_all(files: list[Path], resolution: int, channels: int) -> tuple[np.ndarray, list[bool], dict[Path, str]]:
    """Decode every file: uint8 [N_ok, C, R, R], which files were kept, and why the others were not."""
    images = np.empty((len(files), channels, resolution, resolution), dtype=np.uint8)
    kept: list[bool] = []
    failed: dict[Path, str] = {}
    bar = tqdm(files, desc="images", unit="file", file=sys.stderr, leave=False,
               disable=None if len(files) >= PROGRESS_MIN_FILES else True)  # None: only on a terminal
    count = 0
    for path in bar:
        try:
            image = decode(path)
        # Broken files make Pillow's decoders raise many types (OSError, SyntaxError,
        # ValueError, DecompressionBombError ...); each is a reason to skip the file, not
        # to stop. Only decoding is guarded: a fault in what follows is a bug and shows.
        except Exception as e:
            failed[path] = one_line(f"{type(e).__name__}: {e}")
            kept.append(False)
        else:
            images[count] = to_array(image, resolution, channels)
            count += 1
            kept.append(True)
    return images[:count], kept, failed


def one_line(text: str) -> str:
    """A reason fit for a one-line message: whitespace runs (newlines included) become one space."""
    return " ".join(text.split())


def warn_skipped(folder: Path, total: int, failed: dict[Path, str]) -> None:
    """One warning for all skipped files: the count, a few names and the first reason."""
    names = [str(p.relative_to(folder)) for p in list(failed)[:_NAMES_SHOWN]]
    more = f" and {len(failed) - len(names)} more" if len(failed) > len(names) else ""
    first = next(iter(failed.values()))
    warnings.warn(
        f"{folder}: skipped {len(failed)} of {total} image files that cannot be read: "
        f"{', '.join(names)}{more} (first reason: {first})",
        stacklevel=3,
    )


def _check_folder(root: PathLike | None) -> Path:
    if root is None:
        raise ConfigError("the imagefolder dataset needs its folder: pass --data-root DIR (data.root)")
    folder = Path(root).expanduser()
    if not folder.exists():
        raise DataError(f"{folder}: no such folder (the imagefolder dataset reads the images in data.root)")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; the imagefolder dataset needs a folder of images")
    return folder


@DATASETS.register(
    "imagefolder",
    settings=("resolution", "channels", "labels_from_folders"),
    where=lambda root: f"the folder {root}" if root else "the folder given with --data-root (data.root)",
    help="any folder of PNG/JPEG/BMP/GIF/WebP images (--data-root), resized and centre-cropped; "
    "split is ignored",
)
def load_imagefolder(cfg: DataConfig, split: str, device: str | torch.device = "cpu") -> ImageDataset:
    """The images under data.root as uint8 [N, channels, resolution, resolution] on ``device``.

    Reads data.root (the folder, required), data.resolution, data.channels and
    data.labels_from_folders. A folder has no splits, so ``split`` is only recorded.
    """
    folder = _check_folder(cfg.root)
    resolution, channels = cfg.resolution, cfg.channels
    files = list_images(folder)
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(SUFFIXES)}) in the folder or its sub-folders")
    if cfg.labels_from_folders:
        labels, class_names = folder_labels(folder, files)
    else:
        labels, class_names = np.zeros(len(files), np.int64), ()

    images, kept, failed = load_all(files, resolution, channels)
    if not len(images):
        first = next(iter(failed.values()))
        raise DataError(f"{folder}: none of the {len(files)} image files can be read (first reason: {first})")
    if failed:
        warn_skipped(folder, len(files), failed)
    return ImageDataset(
        name="imagefolder",
        split=split,
        images=torch.from_numpy(images).to(device),  # uint8 [N, C, R, R]
        labels=torch.from_numpy(labels[np.array(kept)]).to(device),  # int64 [N]
        num_classes=len(class_names),
        class_names=class_names,
        source=str(folder),
    )
