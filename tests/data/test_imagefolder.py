"""A folder of images as a dataset: decoding, resizing, cropping, labels, skipped files, errors."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import imagefolder, load_dataset
from gankit.errors import ConfigError, DataError

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def save(path: Path, image: Image.Image, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kw)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two classes of images of different sizes, modes and formats, plus files that are not images."""
    root = tmp_path / "images"
    rgba = Image.new("RGBA", (40, 30), (200, 100, 50, 255))
    save(root / "cats" / "a.png", rgba)
    save(root / "cats" / "deep" / "b.jpg", Image.new("RGB", (20, 50), GREEN), quality=95)
    save(root / "dogs" / "c.bmp", Image.new("L", (32, 32), 128))
    save(root / "dogs" / "d.gif", Image.new("P", (33, 17), 3))
    save(root / "dogs" / "e.webp", Image.new("RGB", (64, 64), BLUE), lossless=True)
    (root / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (root / "dogs" / "notes.txt").write_text("not an image")
    save(root / "dogs" / ".hidden.png", Image.new("RGB", (8, 8), RED))  # system files are skipped
    save(root / ".thumbs" / "x.png", Image.new("RGB", (8, 8), RED))
    (root / "empty-class").mkdir()
    return root


def load_quietly(root: Path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset("imagefolder", root=root, **kw)
    return ds, [str(w.message) for w in caught]


def test_every_readable_image_is_loaded_at_the_resolution(folder: Path) -> None:
    ds, messages = load_quietly(folder)

    assert (ds.name, ds.kind, ds.source) == ("imagefolder", "image", str(folder))
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (5, 3, 32, 32)  # defaults: RGB, 32
    assert ds.num_classes == 0 and ds.class_names == () and ds.labels.tolist() == [0] * 5
    # Sorted path order: cats/a.png, cats/deep/b.jpg, dogs/c.bmp, dogs/d.gif, dogs/e.webp.
    centre = ds.images[:, :, 16, 16].tolist()
    assert centre[0] == [200, 100, 50] and centre[2] == [128, 128, 128] and centre[4] == list(BLUE)
    assert abs(centre[1][1] - 255) <= 2 and max(centre[1][0], centre[1][2]) <= 2  # JPEG: nearly exact


def test_broken_files_are_skipped_with_one_warning(folder: Path) -> None:
    (folder / "cats" / "cut.jpg").write_bytes((folder / "cats" / "deep" / "b.jpg").read_bytes()[:100])
    with pytest.warns(UserWarning) as record:
        ds = load_dataset("imagefolder", root=folder)
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipped 2 of 7 image files" in message, message
    assert "cats/cut.jpg" in message and "dogs/broken.png" in message and "notes.txt" not in message
    assert len(ds) == 5


def test_the_warning_names_only_a_few_files(tmp_path: Path) -> None:
    save(tmp_path / "ok.png", Image.new("RGB", (4, 4)))
    for i in range(9):
        (tmp_path / f"bad{i}.png").write_bytes(b"junk")
    with pytest.warns(UserWarning, match=r"skipped 9 of 10 image files .*bad4\.png and 4 more \(first reason"):
        load_dataset("imagefolder", root=tmp_path)


def test_grayscale_and_other_resolutions(folder: Path) -> None:
    ds, _ = load_quietly(folder, channels=1, resolution=12)
    assert ds.images.shape == (5, 1, 12, 12)
    assert int(ds.images[2, 0, 6, 6]) == 128  # the L image stays as it is
    assert int(ds.images[4, 0, 6, 6]) == round(0.114 * 255)  # blue in ITU-R 601-2 luma


def test_transparent_pixels_become_black(tmp_path: Path) -> None:
    image = Image.new("RGBA", (4, 4), (255, 255, 255, 0))  # white, fully transparent
    image.putpixel((0, 0), (255, 0, 0, 255))
    save(tmp_path / "t.png", image)
    ds = load_dataset("imagefolder", root=tmp_path, resolution=4)
    assert ds.images[0, :, 0, 0].tolist() == list(RED)
    assert ds.images[0, :, 3, 3].tolist() == [0, 0, 0]


def test_labels_from_first_level_sub_folders(folder: Path) -> None:
    ds, _ = load_quietly(folder, labels_from_folders=True)
    assert ds.class_names == ("cats", "dogs") and ds.num_classes == 2  # the empty sub-folder is no class
    assert ds.labels.tolist() == [0, 0, 1, 1, 1]  # cats/deep/b.jpg belongs to cats
    assert ds.split == "train"


def test_images_directly_in_the_root_have_no_class(folder: Path) -> None:
    save(folder / "loose.png", Image.new("RGB", (8, 8)))
    with pytest.raises(DataError, match=r"1 image\(s\) directly in the folder \(loose\.png\) have no class"):
        load_dataset("imagefolder", root=folder, labels_from_folders=True)
    ds, _ = load_quietly(folder)  # without labels they are fine
    assert len(ds) == 6


def test_order_is_sorted_and_repeatable(folder: Path) -> None:
    files = imagefolder.list_images(folder)
    assert [f.relative_to(folder).as_posix() for f in files] == [
        "cats/a.png", "cats/deep/b.jpg", "dogs/broken.png", "dogs/c.bmp", "dogs/d.gif", "dogs/e.webp"]
    a, _ = load_quietly(folder)
    b, _ = load_quietly(folder)
    assert torch.equal(a.images, b.images)


def _stripes(size: tuple[int, int], colours: list[tuple[int, int, int]], vertical: bool) -> Image.Image:
    """Equal bands of ``colours`` along the longer side, left to right (or top to bottom)."""
    w, h = size
    array = np.zeros((h, w, 3), dtype=np.uint8)
    n = len(colours)
    for i, colour in enumerate(colours):
        if vertical:
            array[:, i * w // n : (i + 1) * w // n] = colour
        else:
            array[i * h // n : (i + 1) * h // n, :] = colour
    return Image.fromarray(array)


def test_centre_crop_keeps_exactly_the_middle_square(tmp_path: Path) -> None:
    save(tmp_path / "a-wide.png", _stripes((60, 20), [RED, GREEN, BLUE], vertical=True))
    save(tmp_path / "b-tall.png", _stripes((20, 60), [RED, GREEN, BLUE], vertical=False))
    ds = load_dataset("imagefolder", root=tmp_path, resolution=20)  # shorter side already 20: no scaling
    green = torch.tensor(GREEN, dtype=torch.uint8).view(3, 1, 1).expand(3, 20, 20)
    assert torch.equal(ds.images[0], green) and torch.equal(ds.images[1], green)


def test_centre_crop_after_downscaling(tmp_path: Path) -> None:
    # 80x40: the centre 40x40 square is green between red and blue bands of 20 pixels.
    array = np.zeros((40, 80, 3), dtype=np.uint8)
    array[:, :20], array[:, 20:60], array[:, 60:] = RED, GREEN, BLUE
    save(tmp_path / "wide.png", Image.fromarray(array))
    image = load_dataset("imagefolder", root=tmp_path, resolution=10).images[0]  # [3, 10, 10]
    inner = image[:, :, 2:8].int()  # away from the crop edges, where the filter reaches the bands
    assert (inner[1] >= 250).all() and (inner[0] <= 5).all() and (inner[2] <= 5).all()
    assert imagefolder.center_square(Image.fromarray(array), 10).size == (10, 10)


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"imagefolder dataset needs its folder: pass --data-root"):
        load_dataset("imagefolder")
    with pytest.raises(DataError, match=r"no such folder"):
        load_dataset("imagefolder", root=tmp_path / "missing")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DataError, match=r"file\.png: not a folder"):
        load_dataset("imagefolder", root=tmp_path / "file.png")
    text_only = tmp_path / "text"
    text_only.mkdir()
    (text_only / "readme.txt").write_text("hello")
    with pytest.raises(DataError, match=r"text: no image files \(\.png, \.jpg"):
        load_dataset("imagefolder", root=text_only)
    with pytest.raises(DataError, match=r"none of the 1 image files can be read \(first reason: "):
        load_dataset("imagefolder", root=tmp_path)  # only the broken file.png


@pytest.mark.parametrize("options, message", [
    ({"channels": 2}, r"config key data\.channels=2: must be 1 \(grayscale\) or 3 \(RGB\)"),
    ({"resolution": 0}, r"config key data\.resolution=0: must be > 0"),
])
def test_bad_options(folder: Path, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_dataset("imagefolder", root=folder, **options)


def test_many_files_load_with_a_progress_bar(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imagefolder, "PROGRESS_MIN_FILES", 2)  # the bar shows only on a terminal; it must not break
    ds, messages = load_quietly(folder)
    assert len(ds) == 5 and len(messages) == 1


# --- hostile and unusual files -------------------------------------------------

BOMB_SIDE = 100_000  # a header declaring 10^10 pixels, far above Pillow's limit


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` grey pixels but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + \
        chunk(b"IEND", b"")


def encoded(image: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def palette_image(side: int, transparent: bool) -> Image.Image:
    """Left half palette index 1 (green-ish, or transparent), right half index 2 (blue)."""
    indices = np.ones((side, side), dtype=np.uint8)
    indices[:, side // 2 :] = 2
    image = Image.fromarray(indices, mode="P")
    image.putpalette([0, 0, 0, 10, 200, 30, 0, 0, 255] + [0] * (256 * 3 - 9))
    if transparent:
        image.info["transparency"] = 1
    return image


def noise(side: int) -> Image.Image:
    """An RGB image of random pixels: it compresses badly, so half its file is half its pixels."""
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8))


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


# name -> bytes of the file; every one of these must be skipped, by name
UNREADABLE = {
    "cut.jpg": lambda: half(encoded(noise(48), "JPEG")),
    "cut.png": lambda: half(encoded(noise(48), "PNG")),
    "zero.png": lambda: b"",
    "zero.jpg": lambda: b"",
    "notes.png": lambda: b"shopping list: eggs, milk\n" * 10,
    "page.jpg": lambda: b"<html><body>403 Forbidden</body></html>",
    "scan.png": lambda: encoded(Image.new("RGB", (8, 8), RED), "TIFF"),  # a format not allowed, named .png
    "bomb.png": lambda: png_declaring(BOMB_SIDE, BOMB_SIDE),
    # above the limit but under twice it, where Pillow itself only warns
    "bomb-small.png": lambda: png_declaring(16_400, 16_400),
}


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """Readable images of every mode and size the formats produce, beside files that must be skipped."""
    root = tmp_path / "hostile"
    side = 16
    save(root / "a-rgb.png", Image.new("RGB", (side, side), RED))
    save(root / "b-gray.png", Image.new("L", (side, side), 100))  # grayscale among RGB
    save(root / "c-cmyk.jpg", Image.new("CMYK", (side, side), (0, 255, 255, 0)), quality=100)  # red in CMYK
    save(root / "d-gray16-mid.png", Image.fromarray(np.full((side, side), 128 * 257, np.uint16)))
    save(root / "e-gray16-white.png", Image.fromarray(np.full((side, side), 65535, np.uint16)))
    save(root / "f-palette.png", palette_image(side, transparent=False))
    save(root / "g-palette-transparent.png", palette_image(side, transparent=True), transparency=1)
    rgba = np.zeros((side, side, 4), np.uint8)
    rgba[:, : side // 2] = (255, 255, 255, 0)  # white, fully transparent
    rgba[:, side // 2 :] = (0, 255, 0, 128)  # green, half transparent
    save(root / "h-rgba.png", Image.fromarray(rgba, mode="RGBA"))
    save(root / "i-wide.jpg", Image.new("RGB", (90, 30), BLUE), quality=95)  # other sizes, resized and cropped
    save(root / "j-tall.webp", Image.new("RGB", (7, 40), GREEN), lossless=True)
    for name, make in UNREADABLE.items():
        (root / "bad" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "bad" / name).write_bytes(make())
    return root


def test_every_mode_is_converted_and_every_bad_file_is_named(hostile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imagefolder, "_NAMES_SHOWN", 100)  # name them all
    with pytest.warns(UserWarning) as record:
        ds = load_dataset("imagefolder", root=hostile, resolution=16)
    assert len(record) == 1
    message = str(record[0].message)
    assert "\n" not in message
    assert f"skipped {len(UNREADABLE)} of {len(UNREADABLE) + 10} image files" in message, message
    for name in UNREADABLE:
        assert f"bad/{name}" in message, message

    assert ds.images.shape == (10, 3, 16, 16)
    left, right = ds.images[:, :, 8, 3].tolist(), ds.images[:, :, 8, 12].tolist()
    assert left[0] == list(RED) and left[1] == [100] * 3
    assert all(abs(a - b) <= 3 for a, b in zip(left[2], RED)), left[2]  # CMYK through JPEG
    assert left[3] == [128] * 3 and left[4] == [255] * 3  # 16 bits scaled, not clipped
    assert left[5] == [10, 200, 30] and right[5] == list(BLUE)  # the palette's colours
    assert left[6] == [0, 0, 0] and right[6] == list(BLUE)  # the transparent palette entry is black
    assert left[7] == [0, 0, 0] and right[7] in ([0, 128, 0], [0, 127, 0])  # RGBA over black
    assert ds.images[8, 2].min() >= 250 and ds.images[9, 1].min() >= 250  # the odd sizes, cropped


def test_every_mode_in_grayscale(hostile: Path) -> None:
    with pytest.warns(UserWarning, match=f"skipped {len(UNREADABLE)} of"):
        ds = load_dataset("imagefolder", root=hostile, resolution=8, channels=1)
    assert ds.images.shape == (10, 1, 8, 8)
    centre = ds.images[:, 0, 4, 1].tolist()
    assert centre[0] == round(0.299 * 255) and centre[1] == 100 and centre[3] == 128 and centre[4] == 255
    assert centre[6] == 0 and centre[7] == 0  # transparent is black in grayscale too


def test_bombs_are_refused_from_their_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("bomb.png", "bomb-small.png"):
        (tmp_path / name).write_bytes(UNREADABLE[name]())
    files = imagefolder.list_images(tmp_path)
    _, kept, failed = imagefolder.load_all(files, 8, 3)
    assert kept == [False, False]
    # refused by the pixel count (a decode attempt would fail as truncated data instead)
    assert all(reason.startswith("DecompressionBomb") for reason in failed.values()), failed

    # a genuine image above a lowered limit is refused the same way, not decoded
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    save(tmp_path / "ok" / "real.png", Image.new("RGB", (40, 40), RED))  # 1600 pixels: between 1x and 2x
    _, kept, failed = imagefolder.load_all([tmp_path / "ok" / "real.png"], 8, 3)
    assert kept == [False] and next(iter(failed.values())).startswith("DecompressionBomb")


def test_a_folder_of_only_bad_files_is_one_data_error(tmp_path: Path) -> None:
    for name, make in UNREADABLE.items():
        (tmp_path / name).write_bytes(make())
    with pytest.raises(DataError) as info:
        load_dataset("imagefolder", root=tmp_path)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path) in message
    assert f"none of the {len(UNREADABLE)} image files can be read (first reason: " in message


def test_a_fault_after_decoding_is_not_taken_for_a_bad_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(imagefolder, "center_square", broken)
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback, it is not "skipped"
        load_quietly(folder)
