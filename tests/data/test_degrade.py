"""Degradations on real MNIST digits: super-resolution, holes, noise, edges, colour, channel conversion."""

from __future__ import annotations

import colorsys

import pytest
import torch
import torch.nn.functional as F

from gankit.config import PairConfig
from gankit.data import degrade as D
from gankit.data.degrade import degrade, pair_shapes, to_channels
from gankit.errors import ConfigError

DEGRADATIONS = ("sr2", "sr4", "inpaint", "noise", "edges", "colorize")


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
    assert box.shape == (len(x), 1, 7, 7) and target is x
    blocks = x.view(len(x), 1, 7, 4, 7, 4)  # [N, C, 7 block rows, 4, 7 block columns, 4]
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
    assert source.shape == (len(x), 1, 28, 28) and target is x
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
    thresholded = sobel > -1 + 2 * D.CANNY_LOW  # Sobel above Canny's low threshold
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
    assert source.shape == (len(x), 1, 28, 28) and target.shape == (len(x), 3, 28, 28)
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
