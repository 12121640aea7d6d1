"""gankit export: the generator as ONNX and TorchScript files that give gankit's own samples.

Runs are real and tiny (4 training steps of a narrow dcgan-28 on 256 MNIST images);
every exported file is compared with the generator ``gankit.load`` samples from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
import yaml

import gankit
from gankit import config as C
from gankit.cli import main
from gankit.errors import ConfigError
from gankit.export import ExportError, export_generator, prepare, torchscript_module, write_onnx
from gankit.models import build_generator
from gankit.run import RunDir, checkpoint
from gankit.run.generator import SavedGenerator
from gankit.train.loop import train

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")


def trained(cfg: C.Config, path: Path) -> Path:
    train(cfg, RunDir.create(path, cfg.name), verbose=False)
    return path


@pytest.fixture(scope="module")
def made() -> dict[str, Path]:
    """Runs and exports made once for the whole module: tests only read them (an export never writes to its run)."""
    return {}


@pytest.fixture
def ema_run(made, tiny_config, tmp_path_factory) -> Path:
    """An unconditional run whose generator EMA (half-life 1000 images, no warm-up) still differs from G."""
    if "ema_run" not in made:
        cfg = tiny_config(train__steps=4, model__width=8, ema__half_life=1000, ema__rampup=None)
        made["ema_run"] = trained(cfg, tmp_path_factory.mktemp("export") / "ema-run")
    return made["ema_run"]


@pytest.fixture
def cgan_run(made, tiny_config, tmp_path_factory) -> Path:
    """A class-conditional run: G takes a label embedding beside z."""
    if "cgan_run" not in made:
        cfg = tiny_config(train__steps=4, model__width=8, model__conditioning="cgan")
        made["cgan_run"] = trained(cfg, tmp_path_factory.mktemp("export") / "cgan-run")
    return made["cgan_run"]


@pytest.fixture
def ema_onnx(made, ema_run: Path, tmp_path_factory) -> Path:
    """The EMA run exported to ONNX through gankit export, the command users run."""
    if "ema_onnx" not in made:
        out = tmp_path_factory.mktemp("export") / "new" / "folder" / "g.onnx"
        assert main(["export", str(ema_run), "--format", "onnx", "--out", str(out)]) == 0
        made["ema_onnx"] = out
    return made["ema_onnx"]


def inputs(batch: int, num_classes: int = 0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """z [batch, 100] and, for a conditional generator, labels int64 [batch]."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, 100, generator=g)
    return z, torch.randint(num_classes, (batch,), generator=g) if num_classes else None


def pytorch(run: Path, z: torch.Tensor, y: torch.Tensor | None = None) -> np.ndarray:
    """What gankit samples from: the run's generator as gankit.load rebuilds it, on z (and y)."""
    with torch.no_grad():
        return gankit.load(run, device="cpu").generator(z, y).numpy()


def onnxruntime_run(path: Path, z: torch.Tensor, y: torch.Tensor | None = None) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"z": z.numpy()} | ({"labels": y.numpy()} if y is not None else {})
    return session.run(None, feeds)[0]


def dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------
# ONNX
# ---------------------------------------------------------------------------


def test_onnx_gives_the_emas_images_at_any_batch_size(ema_run: Path, ema_onnx: Path):
    model = onnx.load(ema_onnx)
    onnx.checker.check_model(model, full_check=True)
    assert [v.name for v in model.graph.input] == ["z"] and [v.name for v in model.graph.output] == ["images"]
    assert dims(model.graph.input[0]) == ["batch", 100] and dims(model.graph.output[0]) == ["batch", 1, 28, 28]
    for batch in (1, 7):
        z, _ = inputs(batch, seed=batch)
        images, expected = onnxruntime_run(ema_onnx, z), pytorch(ema_run, z)
        assert images.shape == (batch, 1, 28, 28) and images.dtype == np.float32
        np.testing.assert_allclose(images, expected, rtol=0, atol=1e-4)
        assert images.min() >= -1 and images.max() <= 1
    # the EMA, not the trained G: the two differ by far more than the tolerance
    G = build_generator(RunDir(ema_run).read_config().model, (1, 28, 28), 10)
    G.load_state_dict(checkpoint.load(ema_run / "checkpoints" / "last.pt")["models"]["G"])
    with torch.no_grad():
        raw = G.eval()(z).numpy()
    assert np.abs(raw - images).max() > 1e-2


def test_onnx_of_a_conditional_run_takes_labels(cgan_run: Path, tmp_path: Path):
    out = export_generator(cgan_run, "onnx", tmp_path / "g.onnx")
    model = onnx.load(out)
    assert [v.name for v in model.graph.input] == ["z", "labels"]
    assert model.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert dims(model.graph.input[1]) == ["batch"]
    for batch in (2, 9):
        z, y = inputs(batch, num_classes=10, seed=batch)
        np.testing.assert_allclose(onnxruntime_run(out, z, y), pytorch(cgan_run, z, y), rtol=0, atol=1e-4)
    other = (y + 1) % 10  # the same noise, other classes: other images
    assert np.abs(onnxruntime_run(out, z, other) - onnxruntime_run(out, z, y)).max() > 1e-3


def test_a_self_conditioned_generator_exports_drawing_its_clusters_from_z(tmp_path: Path):
    cfg = C.from_dict({"model": {"conditioning": "projection", "clusters": 3, "width": 8}})
    G = build_generator(cfg.model, (1, 28, 28))
    G.set_shares(torch.tensor([2, 3, 5]))
    torch.manual_seed(0)
    with torch.no_grad():  # conditional BN starts the same for every cluster: make them differ
        for p in G.parameters():
            p.add_(0.1 * torch.randn_like(p))
    net = prepare(SavedGenerator(cfg, G.state_dict(), (1, 28, 28), 0, 0, False))
    assert net.input_names == ("z",)  # noise alone, as for any unconditional generator
    write_onnx(net, tmp_path / "g.onnx")
    z, _ = inputs(64, seed=3)
    with torch.no_grad():
        expected = G.eval()(z).numpy()
    np.testing.assert_allclose(onnxruntime_run(tmp_path / "g.onnx", z), expected, rtol=0, atol=1e-4)
    assert len(set(G.cluster_of(z).tolist())) == 3  # the batch holds every cluster, so each was compared


NO_GANKIT = """
import json, sys
sys.path += sys.argv[3:]
try:
    import gankit
except ImportError:
    pass
else:
    raise SystemExit("gankit is importable from " + gankit.__file__)
import numpy as np
import onnxruntime
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
images = session.run(["images"], {"z": np.load(sys.argv[2])})[0]
print(json.dumps(images.tolist()))
"""


def test_the_onnx_file_runs_where_gankit_is_not_installed(ema_run: Path, ema_onnx: Path, tmp_path: Path):
    z, _ = inputs(3)
    np.save(tmp_path / "z.npy", z.numpy())
    # -S: no site-packages, so no .pth file puts gankit's source on the path; then only these two folders
    folders = dict.fromkeys(str(Path(m.__file__).parents[1]) for m in (onnxruntime, np))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-S", "-c", NO_GANKIT, str(ema_onnx), str(tmp_path / "z.npy"), *folders],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    images = np.array(json.loads(done.stdout), dtype=np.float32)
    assert images.shape == (3, 1, 28, 28)
    np.testing.assert_allclose(images, pytorch(ema_run, z), rtol=0, atol=1e-4)


def test_onnx_metadata_describes_the_run(ema_run: Path, ema_onnx: Path):
    assert [p.name for p in ema_onnx.parent.iterdir()] == ["g.onnx"]  # its folder made, no temporary file left
    meta = {p.key: p.value for p in onnx.load(ema_onnx).metadata_props}
    assert C.from_dict(yaml.safe_load(meta["config"])) == RunDir(ema_run).read_config()
    assert meta["gankit_version"] == gankit.__version__ and meta["arch"] == "dcgan-28"
    assert json.loads(meta["step"]) == 4 and json.loads(meta["data_shape"]) == [1, 28, 28]
    assert json.loads(meta["num_classes"]) == 0 and json.loads(meta["latent_dim"]) == 100
    assert json.loads(meta["ema"]) is True
    assert meta["inputs"].startswith("z: float32 [batch, 100]") and "labels" not in meta["inputs"]
    assert meta["outputs"].startswith("images: float32 [batch, 1, 28, 28]") and "[-1, 1]" in meta["outputs"]


# ---------------------------------------------------------------------------
# TorchScript
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["ema_run", "cgan_run"])
def test_torchscript_gives_the_same_images_and_carries_the_config(which: str, request, tmp_path: Path, capsys):
    run: Path = request.getfixturevalue(which)
    out = tmp_path / "g.pt"
    code, stdout, _ = run_cli(capsys, "export", str(run), "--format", "torchscript", "--out", str(out))
    assert code == 0 and stdout.strip() == f"wrote {out}"
    extra = {"config.yaml": "", "gankit.json": ""}
    module = torch.jit.load(str(out), _extra_files=extra)
    k = 10 if which == "cgan_run" else 0
    for batch in (1, 6):
        z, y = inputs(batch, num_classes=k, seed=batch)
        with torch.no_grad():
            images = (module(z, y) if k else module(z)).numpy()
        assert images.shape == (batch, 1, 28, 28)
        np.testing.assert_allclose(images, pytorch(run, z, y), rtol=0, atol=1e-5)
    assert C.from_dict(yaml.safe_load(extra["config.yaml"].decode())) == RunDir(run).read_config()
    meta = json.loads(extra["gankit.json"])
    assert (meta["step"], meta["data_shape"], meta["num_classes"]) == (4, [1, 28, 28], k)
    assert meta["ema"] is (which == "ema_run") and meta["gankit_version"] == gankit.__version__
    assert ("labels: int64 [batch]" in meta["inputs"]) is bool(k)


ARCHITECTURES = [  # (arch, data shape, classes, conditioning): every generator family, each way to take labels
    ("dcgan-28", (1, 28, 28), 10, "projection"),
    ("dcgan-32", (3, 32, 32), 10, "acgan"),
    ("dcgan-64", (1, 64, 64), 0, "none"),
    ("mlp", (1, 28, 28), 10, "cgan"),
    ("mlp", (2,), 0, "none"),
    ("resnet-32", (3, 32, 32), 10, "projection"),
    ("vae", (1, 28, 28), 0, "none"),
]


@pytest.mark.parametrize("arch, shape, k, conditioning", ARCHITECTURES)
def test_every_architecture_traces_with_a_free_batch_size(arch, shape, k, conditioning):
    cfg = C.from_dict({"model": {"arch": arch, "conditioning": conditioning, "width": 8}})
    G = build_generator(cfg.model, shape, k)
    for bn in (m for m in G.modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))):
        bn.running_mean.normal_(generator=torch.Generator().manual_seed(0))  # eval mode must use these
        bn.running_var.uniform_(0.5, 2.0, generator=torch.Generator().manual_seed(1))
    net = prepare(SavedGenerator(cfg, G.state_dict(), shape, k, 0, False))
    assert net.output_name == ("points" if shape == (2,) else "images")
    assert net.input_names == (("z", "labels") if conditioning != "none" else ("z",))
    traced = torchscript_module(net)
    G.eval()
    for batch in (1, 4):
        args = net.example(batch, seed=batch)
        with torch.no_grad():
            out, expected = traced(*args), G(*args)
        assert out.shape == (batch, *shape)
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def error_line(capsys, *argv: str) -> str:
    """Run ``gankit export argv``, expecting status 2 and one line on stderr."""
    code, _, err = run_cli(capsys, "export", *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("gankit export: error: ")
    return err


def test_not_a_run_folder_is_one_line(tmp_path: Path, capsys):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "g.onnx"
    assert "is not a gankit run folder" in error_line(capsys, str(tmp_path / "empty"), "--format", "onnx",
                                                      "--out", str(out))
    assert "does not exist" in error_line(capsys, str(tmp_path / "nowhere"), "--format", "onnx", "--out", str(out))
    assert not out.exists()


def test_an_unwritable_out_is_one_line_before_any_export(ema_run: Path, tmp_path: Path, capsys):
    (tmp_path / "a-file").write_text("")
    err = error_line(capsys, str(ema_run), "--format", "onnx", "--out", str(tmp_path / "a-file" / "sub" / "g.onnx"))
    assert "cannot write" in err and "a-file is a file" in err
    assert not (tmp_path / "a-file" / "sub").exists()
    assert "is a folder" in error_line(capsys, str(ema_run), "--format", "torchscript", "--out", str(tmp_path))


def test_a_missing_checkpoint_is_one_line(ema_run: Path, tmp_path: Path, capsys):
    err = error_line(capsys, str(ema_run), "--format", "torchscript", "--out", str(tmp_path / "g.pt"),
                     "--checkpoint", "best")
    assert "no best checkpoint" in err and not (tmp_path / "g.pt").exists()


def test_without_onnx_packages_it_says_what_to_install(ema_run: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript now raises ImportError
    err = error_line(capsys, str(ema_run), "--format", "onnx", "--out", str(tmp_path / "g.onnx"))
    assert "pip install 'gankit[export]'" in err and "onnxscript" in err
    assert not (tmp_path / "g.onnx").exists()


def test_unknown_format_or_checkpoint_from_python(ema_run: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match="onnx, torchscript"):
        export_generator(ema_run, "tflite", tmp_path / "g.tflite")
    with pytest.raises(ConfigError, match="final, last, best"):
        export_generator(ema_run, "onnx", tmp_path / "g.onnx", checkpoint="first")


def test_a_failed_write_leaves_the_old_file_whole(ema_run: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "g.pt"
    out.write_bytes(b"the previous export")

    def disk_full(module, path, _extra_files=None):
        Path(path).write_bytes(b"PK\x03\x04 half")  # a partial write, then the error
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch.jit, "save", disk_full)
    with pytest.raises(ExportError, match="No space left on device"):
        export_generator(ema_run, "torchscript", out)
    assert out.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["g.pt"]


@pytest.mark.parametrize("arch, degradation, blocks, keep_known", [
    ("unet", "inpaint", None, False), ("unet", "inpaint", None, True), ("srresnet", "sr4", 1, False)])
def test_a_translator_exports_with_free_batch_height_and_width(tiny_config, tmp_path, arch, degradation, blocks,
                                                               keep_known):
    cfg = tiny_config(train__steps=2, model__arch=arch, model__width=8, model__blocks=blocks, pair__kind="degrade",
                      pair__degradation=degradation, model__keep_known=keep_known)
    run = trained(cfg, tmp_path / "run")
    out = tmp_path / "t.onnx"
    assert main(["export", str(run), "--format", "onnx", "--out", str(out)]) == 0
    session = onnxruntime.InferenceSession(str(out))
    assert [i.name for i in session.get_inputs()] == ["source"]
    translator = gankit.load(run, device="cpu")
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    m, scale = json.loads(meta["size_multiple"]), json.loads(meta["scale"])
    assert scale == translator.scale and m == translator.size_multiple
    for shape in [(1, *translator.source_shape), (3, 1, 4 * m, 6 * m)]:  # other batch, height and width
        x = torch.rand(*shape) * 2 - 1
        x[..., 1:4, 1:4] = 0  # a hole, which keep_known fills and keeps the rest
        got = session.run(None, {"source": x.numpy()})[0]
        with torch.no_grad():
            expected = translator.generator(x).numpy()
        assert got.shape == (shape[0], 1, shape[2] * scale, shape[3] * scale)
        np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_a_stochastic_translator_exports_taking_its_noise(tiny_config, tmp_path, fmt):
    cfg = tiny_config(train__steps=2, model__arch="unet", model__width=8, pair__kind="degrade",
                      pair__degradation="inpaint", model__keep_known=True, model__noise_channels=3,
                      translate__diversity_weight=1.0)
    run = trained(cfg, tmp_path / "run")
    out = tmp_path / ("t.onnx" if fmt == "onnx" else "t.pt")
    assert main(["export", str(run), "--format", fmt, "--out", str(out)]) == 0
    translator = gankit.load(run, device="cpu")
    x = torch.rand(2, 1, 32, 36) * 2 - 1
    x[..., 4:12, 4:12] = 0  # a hole, which the noise fills
    z, other = torch.randn(2, 3), torch.randn(2, 3)
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(out))
        assert [i.name for i in session.get_inputs()] == ["source", "z"]
        meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
        assert json.loads(meta["noise_channels"]) == 3 and "z: float32 [batch, 3]" in meta["inputs"]
        got, got_other = (session.run(None, {"source": x.numpy(), "z": n.numpy()})[0] for n in (z, other))
    else:
        module = torch.jit.load(str(out))
        got, got_other = (module(x, n).numpy() for n in (z, other))
    with torch.no_grad():
        expected = translator.generator(x, z).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert np.abs(got - got_other).max() > 1e-5  # other noise, other fill
