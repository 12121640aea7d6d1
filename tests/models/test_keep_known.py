"""model.keep_known: the output is the source outside its holes and G's output inside."""

import pytest
import torch

from gankit.config import ModelConfig
from gankit.data.degrade import inpaint
from gankit.errors import ConfigError
from gankit.models import build_translator
from gankit.models.keep_known import HOLE_TOLERANCE, KeepKnown, holes


def unet(keep_known=True, source=(1, 28, 28), target=(1, 28, 28)):
    torch.manual_seed(0)
    return build_translator(ModelConfig(arch="unet", width=8, keep_known=keep_known), source, target)


def test_known_pixels_pass_through_and_holes_are_filled_by_the_network():
    G = unet()
    levels = torch.randint(0, 254, (4, 1, 28, 28))
    x = torch.where(levels >= 127, levels + 2, levels) / 127.5 - 1  # 8-bit images without mid grey
    holed = inpaint(x, 10, "random", torch.Generator().manual_seed(0))
    hole = holes(holed)  # [4, 1, 28, 28]
    assert hole.sum(dim=(1, 2, 3)).tolist() == [100] * 4  # the 10x10 square, nothing else
    out = G(holed)
    assert torch.equal(out[~hole], holed[~hole])  # known pixels are the source's, exactly
    assert torch.equal(out[hole], G.net(holed)[hole])  # the hole is the network's output
    assert not torch.equal(out[hole], holed[hole])


def test_a_hole_painted_in_8_bit_counts_and_near_grey_pixels_do_not():
    levels = torch.tensor([126.0, 127.0, 128.0, 129.0]) / 127.5 - 1  # 8-bit values in [-1, 1]
    x = levels.view(1, 1, 1, 4).expand(1, 3, 1, 4).clone()  # RGB pixels grey in every channel
    assert holes(x).flatten().tolist() == [False, True, True, False]
    x[0, 1, 0, 1] = 0.5  # one channel off grey: a coloured pixel is known
    assert holes(x).flatten().tolist() == [False, False, True, False]
    assert HOLE_TOLERANCE == pytest.approx(1 / 127.5)


def test_the_wrapper_adds_no_weights_and_keeps_the_generators_attributes():
    G, plain = unet(), unet(keep_known=False)
    assert isinstance(G, KeepKnown)
    assert [k.removeprefix("net.") for k in G.state_dict()] == list(plain.state_dict())
    assert (G.in_shape, G.out_shape, G.size_multiple, G.scale) == (
        plain.in_shape, plain.out_shape, plain.size_multiple, plain.scale)


def test_images_of_other_shapes_are_a_config_error():
    with pytest.raises(ConfigError, match="keep_known.*same channels and size"):
        unet(source=(1, 28, 28), target=(3, 28, 28))
    with pytest.raises(ConfigError, match="keep_known"):
        build_translator(ModelConfig(arch="srresnet", keep_known=True, blocks=1), (1, 7, 7), (1, 28, 28))
