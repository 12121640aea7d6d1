"""Pictures: grids, scatter plots and loss curves, drawn without touching the user's matplotlib state."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from gankit import viz


def test_grid_places_each_image_in_its_cell():
    images = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1).expand(6, 1, 2, 2).contiguous() * 40
    picture = viz.grid(images, nrow=3, pad=1)  # 2 rows x 3 cols of 2x2 cells, 1 px apart
    assert picture.shape == (2 * 3 + 1, 3 * 3 + 1, 1)
    assert picture[1, 1, 0] == 0 and picture[1, 4, 0] == 40 and picture[4, 7, 0] == 200
    assert viz.upscale(picture, 2).shape == (14, 20, 1)


def test_scatter_and_loss_plots_are_pictures(tmp_path):
    pts = torch.randn(100, 2)
    picture = viz.scatter_picture(pts, torch.zeros(1, 2), title="t")
    assert picture.dtype == np.uint8 and picture.shape[2] == 3 and picture.std() > 0
    viz.plot_losses([{"step": s, "loss_d": 1.0 / s, "loss_g": float(s)} for s in range(1, 5)], tmp_path / "l.png")
    assert Image.open(tmp_path / "l.png").size[0] > 100


def test_drawing_leaves_the_matplotlib_backend_alone():
    # a notebook's inline backend must survive gankit drawing a figure
    code = ("import matplotlib; matplotlib.use('svg'); import torch; from gankit import viz; "
            "viz.scatter_picture(torch.zeros(3, 2)); print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "svg"
