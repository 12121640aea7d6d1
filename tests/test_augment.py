"""DiffAugment: each operation does what the paper says, differentiably and reproducibly."""

import pytest
import torch

from gankit.augment import brightness, contrast, cutout, diff_augment, saturation, translation

POLICIES = ["color", "translation", "cutout", "color,translation,cutout"]


def images(b: int = 8, c: int = 3, size: int = 16, dtype=torch.float32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, size, size, generator=g, dtype=dtype) * 2 - 1  # [B, C, H, W] in [-1, 1]


def shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """img [C, H, W] moved down dy and right dx, zero-filled."""
    out = torch.zeros_like(img)
    h, w = img.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[:, max(-dy, 0):h - max(dy, 0),
                                                                       max(-dx, 0):w - max(dx, 0)]
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("policy", POLICIES)
def test_shape_and_dtype_are_kept(policy, channels, dtype):
    x = images(c=channels, dtype=dtype)
    out = diff_augment(x, policy)
    assert out.shape == x.shape and out.dtype == dtype


@pytest.mark.parametrize("policy", POLICIES)
def test_gradients_flow_to_the_images(policy):
    x = images().requires_grad_(True)
    diff_augment(x, policy).pow(2).sum().backward()
    assert x.grad is not None and x.grad.isfinite().all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("policy", POLICIES)
def test_seeded_runs_repeat_and_other_seeds_differ(policy):
    x = images()
    runs = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        runs.append(diff_augment(x, policy))
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("policy", ["color", "translation", "cutout"])
def test_each_operation_changes_every_image(policy, channels):
    # translation may draw a zero shift for an image: over 8 images, at least one moves
    torch.manual_seed(0)
    x = images(c=channels)
    changed = (diff_augment(x, policy) != x).flatten(1).any(dim=1)  # [B]
    assert changed.any() if policy == "translation" else changed.all()


def test_empty_policy_returns_the_input():
    x = images()
    assert diff_augment(x, "") is x and diff_augment(x, " , ") is x
    points = torch.randn(4, 2)
    assert diff_augment(points, "") is points


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="unknown augmentation flip"):
        diff_augment(images(), "color,flip")
    with pytest.raises(ValueError, match="images"):
        diff_augment(torch.randn(4, 2), "translation")


def test_brightness_adds_one_offset_per_image():
    torch.manual_seed(0)
    x = images(b=64)
    offset = (brightness(x) - x).flatten(1)  # [B, C*H*W]
    assert torch.allclose(offset, offset[:, :1].expand_as(offset), atol=1e-6)
    assert offset.min() >= -0.5 and offset.max() <= 0.5 and offset[:, 0].std() > 0.1


def test_saturation_keeps_pixel_means_and_skips_grayscale():
    torch.manual_seed(0)
    x = images(c=3)
    out = saturation(x)
    assert torch.allclose(out.mean(dim=1), x.mean(dim=1), atol=1e-6)
    # the deviation from the pixel mean is scaled by one factor s in [0, 2] per image
    ratio = (out - x.mean(1, keepdim=True)) / (x - x.mean(1, keepdim=True))
    s = ratio.flatten(1).median(dim=1).values
    assert ((s >= 0) & (s <= 2)).all()
    gray = images(c=1)
    assert torch.equal(saturation(gray), gray)


def test_contrast_keeps_image_means_and_scales_deviations():
    torch.manual_seed(0)
    x = images(b=32)
    out = contrast(x)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(out.mean(dim=(1, 2, 3)), mean.flatten(), atol=1e-6)
    k = ((out - mean) / (x - mean)).flatten(1).median(dim=1).values  # [B]
    assert ((k >= 0.5) & (k <= 1.5)).all()


@pytest.mark.parametrize("size", [16, 28, 32])
def test_translation_is_a_zero_padded_shift_of_at_most_an_eighth(size):
    torch.manual_seed(0)
    x = images(b=16, size=size)
    out = translation(x)
    limit = int(size / 8 + 0.5)  # 16 -> 2, 28 -> 4 (3.5 rounded), 32 -> 4
    shifts = []
    for img, res in zip(x, out):
        match = [(dy, dx) for dy in range(-limit, limit + 1) for dx in range(-limit, limit + 1)
                 if torch.equal(res, shifted(img, dy, dx))]
        assert len(match) == 1  # random pixels: exactly one shift reproduces the output
        shifts.append(match[0])
    assert len(set(shifts)) > 1  # drawn per sample


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [16, 28])
def test_cutout_zeroes_one_square_of_a_quarter_of_each_image(size, channels):
    torch.manual_seed(0)
    x = images(b=16, c=channels, size=size).abs() + 0.1  # no pixel is zero before the cutout
    zero = cutout(x) == 0  # [B, C, H, W]
    half = size // 2
    assert (zero.flatten(1).float().mean(dim=1) == 0.25).all()  # (H/2)(W/2) / (HW), every image
    assert (zero == zero[:, :1]).all()  # the same square in every channel
    corners = set()
    for mask in zero[:, 0]:
        rows, cols = mask.any(dim=1).nonzero(), mask.any(dim=0).nonzero()
        assert len(rows) == len(cols) == half  # a contiguous half-size square
        assert rows.max() - rows.min() == cols.max() - cols.min() == half - 1
        corners.add((rows.min().item(), cols.min().item()))
    assert len(corners) > 1  # placed per sample

