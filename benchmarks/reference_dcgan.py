"""The baseline: the tutorial's DCGAN in a plain eager PyTorch loop, written the way a
person writes it first (nn.Sequential, BCEWithLogitsLoss, a DataLoader, Adam,
the loss read back every step). benchmarks/throughput.py times it beside gankit.

    python benchmarks/reference_dcgan.py --steps 50
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def generator() -> nn.Module:
    return nn.Sequential(
        nn.Linear(100, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256), nn.LeakyReLU(0.2),
        nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1, bias=False), nn.Tanh(),
    )


def discriminator() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1),
    )


def loader(images_uint8: torch.Tensor, batch_size: int) -> DataLoader:
    x = images_uint8.float() / 127.5 - 1.0
    return DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True, drop_last=True)


def train(images_uint8: torch.Tensor, steps: int, batch_size: int = 128, on_step=None,
          device: torch.device | str = "cpu") -> list[float]:
    """Run ``steps`` D+G steps; ``on_step(i)`` is called after each (for timing)."""
    G, D = generator().to(device), discriminator().to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch_size, 1, device=device), torch.zeros(batch_size, 1, device=device)
    losses, step = [], 0
    while step < steps:
        for (real,) in loader(images_uint8, batch_size):
            real = real.to(device)
            z = torch.randn(batch_size, 100, device=device)
            fake = G(z)
            opt_d.zero_grad()
            loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad()
            loss_g = bce(D(fake), ones)
            loss_g.backward()
            opt_g.step()
            losses.append(loss_d.item() + loss_g.item())
            step += 1
            if on_step:
                on_step(step)
            if step == steps:
                break
    return losses


if __name__ == "__main__":
    from gankit.data import load_dataset

    p = argparse.ArgumentParser()
    p.add_argument("--data-root")
    p.add_argument("--steps", type=int, default=50)
    args = p.parse_args()
    images = load_dataset("mnist", "test", root=args.data_root).images
    t0 = time.perf_counter()
    train(images, args.steps)
    print(f"{args.steps * 128 / (time.perf_counter() - t0):.0f} images/s")
