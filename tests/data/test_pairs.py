"""(source, target) pairs: every degradation on real MNIST digits, aligned pairs from files, unpaired domains."""

from __future__ import annotations

import colorsys
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gankit.config import DataConfig, PairConfig
from gankit.data import load_dataset, pairs
from gankit.data.pairs import degrade, load_aligned, load_unpaired, pair_shapes, to_channels
from gankit.errors import ConfigError, DataError

DEGRADATIONS = ("sr2", "sr4", "inpaint", "noise", "edges", "colorize")
N_DIGITS = 512  # MNIST test digits the degradation tests run on


@pytest.fixture(scope="module")
def digits(mnist_root: Path) -> torch.Tensor:
    """The first N_DIGITS MNIST test digits, uint8 [N, 1, 28, 28]."""
    return load_dataset("mnist", "test", root=str(mnist_root), download=False).images[:N_DIGITS]


@pytest.fixture(scope="module")
def x(digits: torch.Tensor) -> torch.Tensor:
    """The digits as a training batch sees them: float [N, 1, 28, 28] in [-1, 1]."""
    return digits.float() / 127.5 - 1


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def unit(t: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1]."""
    return (t + 1) / 2


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per image of two batches in [-1, 1] (peak-to-peak 2)."""
    mse = ((a - b) ** 2).mean(dim=(1, 2, 3))
    return 10 * torch.log10(4 / mse)


# ---------------------------------------------------------------------------
# super-resolution
# ---------------------------------------------------------------------------


def test_sr4_box_is_exactly_the_block_mean_and_bicubic_is_close(x: torch.Tensor) -> None:
    box, target = degrade(x, PairConfig(degradation="sr4", kernel="box"), gen())
    assert box.shape == (N_DIGITS, 1, 7, 7) and target is x
    blocks = x.view(N_DIGITS, 1, 7, 4, 7, 4)  # [N, C, 7 block rows, 4, 7 block columns, 4]
    assert torch.allclose(box, blocks.mean(dim=(3, 5)), atol=1e-6)
    assert box[3, 0, 2, 5] == pytest.approx(x[3, 0, 8:12, 20:24].mean().item(), abs=1e-6)

    bicubic, _ = degrade(x, PairConfig(degradation="sr4", kernel="bicubic"), gen())
    assert bicubic.shape == box.shape and not torch.equal(bicubic, box)
    assert bicubic.min() >= -1 and bicubic.max() <= 1
    assert (bicubic - box).abs().mean() < 0.05  # the same picture, a slightly different filter
    assert (bicubic - box).abs().max() < 0.6


@pytest.mark.parametrize("kernel", ["box", "bicubic"])
def test_downsampling_then_upsampling_loses_detail_in_proportion(x: torch.Tensor, kernel: str) -> None:
    quality = {}
    for name in ("sr2", "sr4"):
        source, target = degrade(x, PairConfig(degradation=name, kernel=kernel), gen())
        up = F.interpolate(source, size=(28, 28), mode="bicubic", align_corners=False).clamp(-1, 1)
        quality[name] = psnr(up, target).mean().item()
    assert 17 < quality["sr2"] < 25  # strokes 2-3 px wide: blurred, still legible
    assert 12 < quality["sr4"] < 18  # 7x7: the digit's outline only
    assert quality["sr2"] > quality["sr4"] + 3


def test_sizes_not_divisible_by_the_factor_are_refused(x: torch.Tensor) -> None:
    odd = F.pad(x[:2], (0, 2, 0, 2))  # [2, 1, 30, 30]
    with pytest.raises(ConfigError, match=r"pair.degradation=sr4.*30x30"):
        degrade(odd, PairConfig(degradation="sr4"), gen())
    with pytest.raises(ConfigError, match=r"pair.degradation=sr4.*30x30"):
        pair_shapes(PairConfig(degradation="sr4"), (1, 30, 30))
    source, _ = degrade(odd, PairConfig(degradation="sr2"), gen())  # 30 is even
    assert source.shape == (2, 1, 15, 15)


# ---------------------------------------------------------------------------
# inpainting
# ---------------------------------------------------------------------------


def hole_boxes(source: torch.Tensor, target: torch.Tensor, hole: int) -> list[tuple[int, int]]:
    """The (top, left) of each image's hole, checking that it is exactly a hole x hole square of 0
    and that nothing else changed. A uint8-scaled pixel k / 127.5 - 1 is never exactly 0, so the
    hole is exactly where the source is 0."""
    boxes = []
    for s, t in zip(source, target):
        zero = s[0] == 0  # [H, W]
        rows, cols = zero.any(1).nonzero().flatten(), zero.any(0).nonzero().flatten()
        top, left = rows.min().item(), cols.min().item()
        assert zero.sum() == hole * hole
        assert zero[top : top + hole, left : left + hole].all()
        assert torch.equal(s[:, ~zero], t[:, ~zero])  # outside the hole, the image itself
        boxes.append((top, left))
    return boxes


def test_the_centred_hole_is_exactly_where_and_as_big_as_it_should_be(x: torch.Tensor) -> None:
    assert not (x == 0).any()
    source, target = degrade(x, PairConfig(degradation="inpaint", hole=12), gen())
    assert target is x
    assert set(hole_boxes(source, target, 12)) == {(8, 8)}  # (28 - 12) // 2
    source, _ = degrade(x[:4], PairConfig(degradation="inpaint", hole=5), gen())
    assert set(hole_boxes(source, x[:4], 5)) == {(11, 11)}  # (28 - 5) // 2, the odd margin below


def test_random_holes_cover_every_position_inside_the_image(x: torch.Tensor) -> None:
    cfg = PairConfig(degradation="inpaint", hole=20, hole_position="random")
    source, target = degrade(x, cfg, gen())
    tops, lefts = zip(*hole_boxes(source, target, 20))
    assert set(tops) == set(range(9)) and set(lefts) == set(range(9))  # 0 .. 28 - 20, each drawn
    full = degrade(x[:3], PairConfig(degradation="inpaint", hole=28, hole_position="random"), gen())[0]
    assert (full == 0).all()  # a hole the size of the image is allowed


def test_a_hole_larger_than_the_image_is_refused(x: torch.Tensor) -> None:
    with pytest.raises(ConfigError, match=r"pair.hole=29.*28x28"):
        degrade(x[:2], PairConfig(degradation="inpaint", hole=29), gen())


# ---------------------------------------------------------------------------
# noise
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.1, 0.5])
def test_noise_is_additive_gaussian_of_the_given_std_and_not_clamped(x: torch.Tensor, sigma: float) -> None:
    source, target = degrade(x, PairConfig(degradation="noise", sigma=sigma), gen())
    noise = source - target
    # 400k samples: the std's standard error is sigma / sqrt(2 * 400k) ~ 0.1 %
    assert noise.std().item() == pytest.approx(sigma, rel=0.01)
    assert abs(noise.mean().item()) < 0.01 * sigma
    assert abs(((noise / sigma) ** 4).mean().item() - 3) < 0.1  # Gaussian kurtosis
    assert source.min() < -1 and source.max() > 1


# ---------------------------------------------------------------------------
# edges
# ---------------------------------------------------------------------------


def local_range(digits: torch.Tensor) -> torch.Tensor:
    """max - min of each pixel's 3x3 neighbourhood (border replicated), uint8 units [N, 1, H, W]."""
    padded = F.pad(digits.float(), (1, 1, 1, 1), mode="replicate")
    return F.max_pool2d(padded, 3, stride=1) + F.max_pool2d(-padded, 3, stride=1)


def test_sobel_is_high_on_the_strokes_borders_and_zero_on_flat_regions(x: torch.Tensor, digits: torch.Tensor) -> None:
    source, target = degrade(x, PairConfig(degradation="edges", edge_detector="sobel"), gen())
    assert source.shape == (N_DIGITS, 1, 28, 28) and target is x
    assert source.min() >= -1 and (source.amax(dim=(1, 2, 3)) == 1).all()  # each image's strongest edge is +1
    contrast = local_range(digits)
    assert (source[contrast == 0] == -1).all()  # background and stroke interiors: no edge
    borders = source[contrast >= 250]  # black and white side by side
    assert borders.mean() > 0.5 and (borders > -0.5).float().mean() > 0.98


def test_canny_gives_thin_binary_edges_on_the_borders(x: torch.Tensor, digits: torch.Tensor) -> None:
    canny, _ = degrade(x, PairConfig(degradation="edges", edge_detector="canny"), gen())
    sobel, _ = degrade(x, PairConfig(degradation="edges", edge_detector="sobel"), gen())
    assert set(canny.unique().tolist()) == {-1.0, 1.0}
    edge = canny > 0
    thresholded = sobel > -1 + 2 * pairs.CANNY_LOW  # Sobel above Canny's low threshold
    assert (edge.sum(dim=(1, 2, 3)) < thresholded.sum(dim=(1, 2, 3))).all()
    assert edge.sum() < 0.5 * thresholded.sum()
    assert (edge.sum(dim=(1, 2, 3)) > 20).all()  # every digit has an outline
    near_contrast = F.max_pool2d((local_range(digits) > 0).float(), 3, stride=1, padding=1) > 0
    assert not (edge & ~near_contrast).any()  # no edge far from a change of intensity

    def blocks(m: torch.Tensor) -> int:  # 2x2 squares entirely on
        return (m[..., 1:, 1:] & m[..., :-1, 1:] & m[..., 1:, :-1] & m[..., :-1, :-1]).sum().item()

    assert blocks(edge) < 0.01 * blocks(thresholded)  # one pixel wide, nearly everywhere


def test_edges_of_a_flat_image_are_empty() -> None:
    flat = torch.full((2, 3, 16, 16), 0.3)
    for detector in ("sobel", "canny"):
        source, _ = degrade(flat, PairConfig(degradation="edges", edge_detector=detector), gen())
        assert source.shape == (2, 1, 16, 16) and (source == -1).all()


# ---------------------------------------------------------------------------
# colorization
# ---------------------------------------------------------------------------


def brightest_colours(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """[N, 3] in [0, 1]: each target at its source's brightest pixel, divided by that brightness."""
    flat_s, flat_t = unit(source).flatten(2), unit(target).flatten(2)  # [N, 1, HW], [N, 3, HW]
    at = flat_s.argmax(dim=2, keepdim=True)  # [N, 1, 1]
    return (flat_t.gather(2, at.expand(-1, 3, -1)) / flat_s.gather(2, at)).squeeze(2)


@pytest.mark.parametrize("hues", [5, 6])
def test_colorize_tints_each_digit_one_of_evenly_spaced_hues(x: torch.Tensor, hues: int) -> None:
    source, target = degrade(x, PairConfig(degradation="colorize", hues=hues), gen())
    assert source.shape == (N_DIGITS, 1, 28, 28) and target.shape == (N_DIGITS, 3, 28, 28)
    assert torch.equal(source, x)  # a grayscale image is its own source
    colours = {tuple(round(v, 4) for v in c) for c in brightest_colours(source, target).tolist()}
    assert len(colours) == hues
    hsv = [colorsys.rgb_to_hsv(*c) for c in colours]
    assert all(s == pytest.approx(1) and v == pytest.approx(1) for _, s, v in hsv)  # full saturation and value
    assert sorted(round(h * hues, 3) for h, _, _ in hsv) == list(range(hues))  # 360 k / hues degrees
    # the white digit becomes the colour on black: in [0, 1], every pixel's largest channel is the gray
    assert torch.allclose(unit(target).amax(dim=1, keepdim=True), unit(source), atol=1e-6)
    assert (target[(source == -1).expand_as(target)] == -1).all()


def test_colorize_takes_the_luminance_of_rgb_images(digits: torch.Tensor) -> None:
    rgb = torch.randint(0, 256, (8, 3, 16, 16), generator=gen(1), dtype=torch.uint8).float() / 127.5 - 1
    source, target = degrade(rgb, PairConfig(degradation="colorize"), gen())
    expected = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    assert source.shape == (8, 1, 16, 16) and torch.allclose(source[:, 0], expected, atol=1e-6)
    assert torch.allclose(unit(target).amax(dim=1, keepdim=True), unit(source), atol=1e-6)


# ---------------------------------------------------------------------------
# every degradation: determinism, batch sizes, shapes, channels
# ---------------------------------------------------------------------------

RANDOM = {
    "inpaint": PairConfig(degradation="inpaint", hole_position="random"),
    "noise": PairConfig(degradation="noise"),
    "colorize": PairConfig(degradation="colorize"),
}


@pytest.mark.parametrize("name", list(RANDOM))
def test_the_same_generator_state_gives_the_same_pair(x: torch.Tensor, name: str) -> None:
    cfg = RANDOM[name]
    drawn = 1 if name == "colorize" else 0  # the half of the pair that holds the random draws
    batch = x[:64]
    g = gen(7)
    first = degrade(batch, cfg, g)
    again = degrade(batch, cfg, gen(7))
    assert all(torch.equal(p, q) for p, q in zip(first, again))
    assert not torch.equal(degrade(batch, cfg, g)[drawn], first[drawn])  # the generator has moved on
    assert not torch.equal(degrade(batch, cfg, gen(8))[drawn], first[drawn])


@pytest.mark.parametrize("name", ["sr2", "sr4", "edges", "inpaint"])
def test_deterministic_degradations_leave_the_generator_alone(x: torch.Tensor, name: str) -> None:
    cfg = PairConfig(degradation=name, edge_detector="canny", hole_position="center")
    g = gen(3)
    state = g.get_state()
    first = degrade(x[:8], cfg, g)
    assert torch.equal(g.get_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(first, degrade(x[:8], cfg, gen(9))))


@pytest.mark.parametrize("name", DEGRADATIONS)
@pytest.mark.parametrize("batch", [0, 1, 3, 17])
def test_every_degradation_takes_any_batch_of_uint8_scaled_images(digits: torch.Tensor, name: str,
                                                                  batch: int) -> None:
    images = digits[:batch].float() / 127.5 - 1
    for detector in ("sobel", "canny"):
        cfg = PairConfig(degradation=name, edge_detector=detector, hole_position="random")
        source, target = degrade(images, cfg, gen())
        src_shape, tgt_shape = pair_shapes(cfg, (1, 28, 28))
        assert source.shape == (batch, *src_shape) and target.shape == (batch, *tgt_shape)
        assert source.dtype == target.dtype == torch.float32
        assert torch.isfinite(source).all() and torch.isfinite(target).all()


@pytest.mark.parametrize("name", DEGRADATIONS)
@pytest.mark.parametrize("data_channels", [1, 3])
def test_pair_shapes_agree_with_degrade_for_every_channel_setting(x: torch.Tensor, name: str,
                                                                  data_channels: int) -> None:
    images = to_channels(x[:2], data_channels)
    for source_channels in (None, 1, 3):
        for target_channels in (None, 1, 3):
            cfg = PairConfig(degradation=name, source_channels=source_channels, target_channels=target_channels)
            source, target = degrade(images, cfg, gen())
            assert pair_shapes(cfg, tuple(images.shape[1:])) == (tuple(source.shape[1:]), tuple(target.shape[1:]))
            if source_channels is not None:
                assert source.shape[1] == source_channels
            if target_channels is not None:
                assert target.shape[1] == target_channels


def test_channel_conversion_repeats_and_takes_the_bt601_luminance(digits: torch.Tensor) -> None:
    three = to_channels(digits[:4], 3)
    assert three.dtype == torch.uint8 and three.shape == (4, 3, 28, 28)
    assert all(torch.equal(three[:, c : c + 1], digits[:4]) for c in range(3))
    assert torch.equal(to_channels(three, 1), digits[:4])  # gray -> RGB -> gray is exact
    gray = digits[:4]
    assert to_channels(gray, 1) is gray  # nothing to convert
    rgb = torch.tensor([255, 0, 0, 0, 255, 0, 0, 0, 255], dtype=torch.uint8).view(3, 3, 1, 1)  # red, green, blue
    assert to_channels(rgb, 1).flatten().tolist() == [76, 150, 29]  # 0.299, 0.587, 0.114 of 255, rounded
    as_float = to_channels(rgb.float() / 127.5 - 1, 1).flatten()
    assert torch.allclose(as_float, torch.tensor([0.299, 0.587, 0.114]) * 2 - 1)
    source, target = degrade(to_channels(rgb.float() / 127.5 - 1, 3), PairConfig(degradation="noise",
                             source_channels=1, target_channels=1), gen())
    assert source.shape == target.shape == (3, 1, 1, 1)


# ---------------------------------------------------------------------------
# aligned pairs from files
# ---------------------------------------------------------------------------


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def side_by_side(folder: Path, digits: torch.Tensor, start: int, n: int) -> None:
    """n files digit | inverted digit (28 x 56), named by index, so source = digit, target = 255 - digit."""
    for i in range(start, start + n):
        d = digits[i, 0].numpy()
        write_png(folder / f"{i:03d}.png", np.concatenate([d, 255 - d], axis=1))


def aligned_config(root: Path, **kw) -> DataConfig:
    """A folder of 28x28 grayscale images, unless ``kw`` says otherwise."""
    return DataConfig(**{"dataset": "imagefolder", "root": str(root), "resolution": 28, "channels": 1, **kw})


def aligned(root: Path, layout: str = "side-by-side", split: str = "train", data: dict | None = None,
            **pair_kw) -> object:
    return load_aligned(aligned_config(root, **(data or {})), PairConfig(kind="aligned", aligned=layout, **pair_kw),
                        split, "cpu")


def test_side_by_side_files_are_split_into_source_and_target(tmp_path: Path, digits: torch.Tensor) -> None:
    side_by_side(tmp_path, digits, 0, 6)
    ds = aligned(tmp_path)
    assert (ds.name, ds.split, ds.num_classes, ds.class_names, ds.source) == ("aligned", "train", 0, (), str(tmp_path))
    assert ds.images.dtype == ds.sources.dtype == torch.uint8
    assert ds.sources.shape == ds.images.shape == (6, 1, 28, 28) and len(ds) == 6
    assert torch.equal(ds.sources, digits[:6])  # the left half
    assert torch.equal(ds.images, 255 - digits[:6])  # the right half
    assert ds.labels.tolist() == [0] * 6

    rgb = aligned(tmp_path, data={"channels": 3, "resolution": 14}, source_channels=1)
    assert rgb.sources.shape == (6, 1, 14, 14) and rgb.images.shape == (6, 3, 14, 14)
    assert torch.equal(rgb.images[:, 0], rgb.images[:, 2])  # a gray file read as RGB


def test_side_by_side_takes_the_split_folder(tmp_path: Path, digits: torch.Tensor) -> None:
    side_by_side(tmp_path / "train", digits, 0, 4)
    side_by_side(tmp_path / "val", digits, 10, 3)
    assert torch.equal(aligned(tmp_path, split="train").sources, digits[:4])
    assert torch.equal(aligned(tmp_path, split="test").sources, digits[10:13])  # val/ stands in for test/
    side_by_side(tmp_path / "test", digits, 20, 2)
    test = aligned(tmp_path, split="test")
    assert torch.equal(test.sources, digits[20:22]) and test.source == str(tmp_path / "test")

    only_train = tmp_path / "only-train"
    side_by_side(only_train / "train", digits, 0, 2)
    with pytest.raises(DataError, match=r"only-train: no test/ or val/ folder for the test split"):
        aligned(only_train, split="test")


def test_a_side_by_side_file_of_odd_width_is_refused(tmp_path: Path, digits: torch.Tensor) -> None:
    side_by_side(tmp_path, digits, 0, 3)
    write_png(tmp_path / "odd.png", np.zeros((28, 57), np.uint8))
    with pytest.raises(DataError, match=r"odd\.png: width 57 is odd"):
        aligned(tmp_path)


def test_unreadable_files_are_skipped_with_one_warning(tmp_path: Path, digits: torch.Tensor) -> None:
    side_by_side(tmp_path, digits, 0, 4)
    (tmp_path / "001.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "000.png").read_bytes()[:60])
    with pytest.warns(UserWarning) as record:
        ds = aligned(tmp_path)
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipped 2 of 5 image files" in message and "001.png" in message and "cut.png" in message
    assert torch.equal(ds.sources, digits[[0, 2, 3]])

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"broken: none of the 1 image files gives a readable pair"):
        aligned(broken)


def test_missing_or_empty_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.root"):
        load_aligned(DataConfig(dataset="imagefolder"), PairConfig(kind="aligned"), "train", "cpu")
    with pytest.raises(DataError, match=r"nowhere: no such folder"):
        aligned(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"empty: no image files"):
        aligned(tmp_path / "empty")
    with pytest.raises(DataError, match=r"no pair of folders .* A/ \+ B/"):
        aligned(tmp_path / "empty", layout="folders")


def ab(root: Path, digits: torch.Tensor, names: list[str], a_ext: str = ".png", b_ext: str = ".png") -> None:
    """A/<name> holds digit i, B/<name> its inverse."""
    for i, name in enumerate(names):
        d = digits[i, 0].numpy()
        write_png(root / "A" / f"{name}{a_ext}", d)
        write_png(root / "B" / f"{name}{b_ext}", 255 - d)


def test_folders_pair_files_of_matching_names(tmp_path: Path, digits: torch.Tensor) -> None:
    ab(tmp_path, digits, ["c", "a", "b"], b_ext=".bmp")  # extensions may differ
    write_png(tmp_path / "A" / "sub" / "d.png", digits[3, 0].numpy())
    write_png(tmp_path / "B" / "sub" / "d.gif", 255 - digits[3, 0].numpy())
    ds = aligned(tmp_path, layout="folders", target_channels=3)
    order = [1, 2, 0, 3]  # a, b, c, sub/d
    assert ds.source == str(tmp_path) and ds.sources.shape == (4, 1, 28, 28) and ds.images.shape == (4, 3, 28, 28)
    assert torch.equal(ds.sources, digits[order])
    assert torch.equal(ds.images, (255 - digits[order]).expand(-1, 3, -1, -1))


@pytest.mark.parametrize("layout", ["{split}/A", "{split}A"])
def test_folders_of_each_split(tmp_path: Path, digits: torch.Tensor, layout: str) -> None:
    for split, offset in (("train", 0), ("test", 5)):
        for i in range(3):
            d = digits[offset + i, 0].numpy()
            write_png(tmp_path / layout.format(split=split) / f"{i}.png", d)
            write_png(tmp_path / layout.format(split=split).replace("A", "B") / f"{i}.png", 255 - d)
    assert torch.equal(aligned(tmp_path, layout="folders", split="train").sources, digits[:3])
    test = aligned(tmp_path, layout="folders", split="test")
    assert torch.equal(test.sources, digits[5:8]) and torch.equal(test.images, 255 - digits[5:8])


def test_mismatched_names_are_listed(tmp_path: Path, digits: torch.Tensor) -> None:
    ab(tmp_path, digits, ["a", "b"])
    for i in range(7):
        write_png(tmp_path / "A" / f"extra{i}.png", digits[0, 0].numpy())
    write_png(tmp_path / "B" / "lonely.png", digits[0, 0].numpy())
    with pytest.raises(DataError) as caught:
        aligned(tmp_path, layout="folders")
    message = str(caught.value)
    assert "\n" not in message
    assert "7 file(s) of" in message and "extra0.png" in message and "extra4.png" in message
    assert "and 2 more" in message and "extra6.png" not in message
    assert "1 file(s) of" in message and "lonely.png" in message


def test_a_pair_with_an_unreadable_file_is_skipped(tmp_path: Path, digits: torch.Tensor) -> None:
    ab(tmp_path, digits, ["a", "b", "c"])
    (tmp_path / "B" / "b.png").write_bytes(b"junk")
    with pytest.warns(UserWarning, match=r"skipped 1 of 6 image files .*B/b\.png"):
        ds = aligned(tmp_path, layout="folders")
    assert torch.equal(ds.sources, digits[[0, 2]]) and torch.equal(ds.images, 255 - digits[[0, 2]])
    (tmp_path / "A" / "a.png").write_bytes(b"junk")
    (tmp_path / "A" / "c.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="none of the 6 image files gives a readable pair"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aligned(tmp_path, layout="folders")


# ---------------------------------------------------------------------------
# unpaired domains
# ---------------------------------------------------------------------------


def test_two_datasets_make_the_two_domains(mnist_root: Path, fashion_root: Path, digits: torch.Tensor) -> None:
    data = DataConfig(dataset="mnist", root=str(mnist_root), download=False)
    pair = PairConfig(kind="unpaired", dataset_b="fashion-mnist", root_b=str(fashion_root), target_channels=3)
    a, b = load_unpaired(data, pair, "test", "cpu")
    assert (a.name, b.name) == ("mnist", "fashion-mnist")
    assert torch.equal(a.images[:N_DIGITS], digits)
    fashion = load_dataset("fashion-mnist", "test", root=str(fashion_root), download=False).images
    assert b.images.shape == (10_000, 3, 28, 28) and torch.equal(b.images, fashion.expand(-1, 3, -1, -1))


def cyclegan_folder(root: Path, name: str, digits: torch.Tensor, indices: range, rgb: bool = False) -> None:
    for i in indices:
        d = digits[i, 0].numpy()
        write_png(root / name / f"{i}.png", np.stack([d, d, 255 - d], axis=-1) if rgb else d)


def test_the_cyclegan_folders_make_the_two_domains(tmp_path: Path, digits: torch.Tensor) -> None:
    cyclegan_folder(tmp_path, "trainA", digits, range(5))
    cyclegan_folder(tmp_path, "trainB", digits, range(5, 8), rgb=True)
    cyclegan_folder(tmp_path, "testA", digits, range(10, 12))
    cyclegan_folder(tmp_path, "testB", digits, range(12, 16), rgb=True)
    data = aligned_config(tmp_path, channels=3)
    pair = PairConfig(kind="unpaired", source_channels=1)
    a, b = load_unpaired(data, pair, "train", "cpu")
    assert a.images.shape == (5, 1, 28, 28) and b.images.shape == (3, 3, 28, 28)  # sizes and channels may differ
    assert torch.equal(a.images, digits[:5]) and torch.equal(b.images[:, 2:], 255 - digits[5:8])
    assert a.source == str(tmp_path / "trainA") and b.source == str(tmp_path / "trainB")
    a, b = load_unpaired(data, pair, "test", "cpu")
    assert torch.equal(a.images, digits[10:12]) and len(b) == 4

    shutil.rmtree(tmp_path / "testB")
    with pytest.raises(DataError, match=r"testB: no such folder"):
        load_unpaired(data, pair, "test", "cpu")


def test_unpaired_errors_name_the_keys(tmp_path: Path, mnist_root: Path, digits: torch.Tensor) -> None:
    mnist = DataConfig(dataset="mnist", root=str(mnist_root), download=False, resolution=32)
    with pytest.raises(ConfigError, match="pair.dataset_b"):
        load_unpaired(mnist, PairConfig(kind="unpaired"), "test", "cpu")
    with pytest.raises(ConfigError, match=r"pair.dataset_b='mnits'"):
        load_unpaired(mnist, PairConfig(kind="unpaired", dataset_b="mnits"), "test", "cpu")
    cyclegan_folder(tmp_path, "faces", digits, range(3))
    folder_b = PairConfig(kind="unpaired", dataset_b="imagefolder", root_b=str(tmp_path / "faces"))
    with pytest.raises(ConfigError, match=r"differ in resolution: .*28x28.*32x32"):
        load_unpaired(mnist, folder_b, "test", "cpu")
