"""The protocol end to end, on real MNIST test images: the real-vs-real floor, and
metrics that worsen monotonically as the "generated" set is corrupted."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from gankit.cli import main
from gankit.data import load_dataset
from gankit.errors import ConfigError
from gankit.metrics import protocol as E
from gankit.metrics.protocol import Reference, evaluate, get_evaluator, parse_metrics
from gankit.run import RunDir
from gankit.train.loop import train

N = 1000  # per side: small enough for seconds, large enough for stable trends


@pytest.fixture(scope="module")
def mnist(mnist_root):
    return load_dataset("mnist", "test", root=mnist_root)


@pytest.fixture(scope="module")
def reference(mnist, mnist_root, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # module scope: set up before the per-test cache exists
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield Reference.from_dataset(get_evaluator("auto", "mnist"), "mnist", "test", N, root=mnist_root)


def score(reference, images, metrics=("fid", "kid", "pr", "dc", "modes")):
    return evaluate(lambda n, seed: images[:n], reference, n=len(images), metrics=metrics)["metrics"]


def noisy(images, sigma, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = images.float() + sigma * 255 * torch.randn(images.shape, generator=g)
    return x.clamp(0, 255).round().to(torch.uint8)


def blurred(images, k):
    if k == 1:
        return images
    kernel = torch.ones(1, 1, k, k) / (k * k)
    return F.conv2d(images.float(), kernel, padding=k // 2).round().to(torch.uint8)


def worsens(values, sign):
    """Each step is no better than the last, and the whole run is strictly worse.

    ``sign`` +1: higher is worse (FID); -1: lower is worse (precision). Non-strict
    steps allow a metric that has already hit its bound (recall 0) to stay there.
    """
    steps = [sign * (b - a) for a, b in zip(values, values[1:])]
    return all(d >= 0 for d in steps) and sign * (values[-1] - values[0]) > 0


def test_real_vs_real_is_the_floor(reference, mnist):
    same = score(reference, mnist.images[:N])  # the reference set itself
    assert same["fid"] == pytest.approx(0.0, abs=1e-6)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    # Other real digits from the same half of the test split (its two halves were
    # written by different people): the floor at this sample size, set by N alone.
    other = score(reference, mnist.images[N : 2 * N])
    assert 0 < other["fid"] < 30 and other["precision"] > 0.8 and other["recall"] > 0.8
    assert other["coverage"] > 0.9 and 0.9 < other["density"] < 1.1
    assert other["classes_covered"] == 10 and other["kl_to_uniform"] < 0.02 and other["mean_confidence"] > 0.95
    noisy_kid = score(reference, noisy(mnist.images[N : 2 * N], 0.3), ("kid",))["kid_mean"]
    assert abs(other["kid_mean"]) < noisy_kid / 10  # unbiased: near 0 against a real gap


def test_metrics_worsen_monotonically_with_noise(reference, mnist):
    real = mnist.images[N : 2 * N]
    runs = [score(reference, noisy(real, s)) for s in (0.0, 0.1, 0.3, 0.6)]
    for key, sign in (("fid", 1), ("kid_mean", 1), ("precision", -1), ("density", -1), ("coverage", -1)):
        values = [r[key] for r in runs]
        assert worsens(values, sign), (key, values)


def test_metrics_worsen_monotonically_with_blur(reference, mnist):
    real = mnist.images[N : 2 * N]
    runs = [score(reference, blurred(real, k), ("fid", "kid", "pr")) for k in (1, 5, 7, 9)]
    for key, sign in (("fid", 1), ("kid_mean", 1), ("precision", -1), ("recall", -1)):
        values = [r[key] for r in runs]
        assert worsens(values, sign), (key, values)


def test_collapse_to_few_classes_is_caught(reference, mnist):
    pool, labels = mnist.images[N:5000], mnist.labels[N:5000]
    runs = []
    for keep in (10, 5, 2, 1):
        idx = torch.nonzero(labels < keep).flatten()[:N]
        runs.append(score(reference, pool[idx]))
    assert [r["classes_covered"] for r in runs] == [10, 5, 2, 1]
    for key, sign in (("kl_to_uniform", 1), ("fid", 1), ("recall", -1), ("coverage", -1)):
        values = [r[key] for r in runs]
        assert worsens(values, sign), (key, values)


def test_protocol_is_recorded(reference, mnist):
    result = evaluate(lambda n, seed: mnist.images[:n], reference, n=50, metrics=["fid"], seed=3)
    p = result["protocol"]
    assert p["generated"] == 50 and p["seed"] == 3 and p["metrics"] == ["fid"]
    assert p["reference"]["dataset"] == "mnist" and p["reference"]["split"] == "test" and p["reference"]["count"] == N
    assert p["evaluator"]["name"].startswith("mnist-cnn") and len(p["evaluator"]["sha256"]) == 64
    assert p["gankit_version"]


def test_real_features_are_cached_on_disk(mnist_root, monkeypatch):
    ev = get_evaluator("mnist-cnn", "mnist")
    first = Reference.from_dataset(ev, "mnist", "test", 200, root=mnist_root)
    files = list((E.cache_dir() / "features").glob("*.safetensors"))
    assert len(files) == 1 and ev.sha256[:16] in files[0].name
    embed = ev.embed
    monkeypatch.setattr(ev, "embed", lambda images: pytest.fail("the cached embedding was recomputed"))
    again = Reference.from_dataset(ev, "mnist", "test", 200, root=mnist_root)
    assert torch.equal(again.embedding.features, first.embedding.features)
    # a damaged cache entry is recomputed, not trusted
    files[0].write_bytes(b"garbage")
    monkeypatch.setattr(ev, "embed", embed)
    third = Reference.from_dataset(ev, "mnist", "test", 200, root=mnist_root)
    assert torch.equal(third.embedding.features, first.embedding.features)


def test_bad_metric_and_evaluator_names():
    with pytest.raises(ConfigError, match="unknown metric 'fd'.*fid"):
        parse_metrics("fid,fd")
    assert parse_metrics("fid, kid,fid") == ["fid", "kid"]
    with pytest.raises(ConfigError, match="unknown evaluator 'vgg'"):
        get_evaluator("vgg", "mnist")


def test_evaluate_command_and_evaluation_during_training(tiny_config, tmp_path, capsys):
    cfg = tiny_config(train__steps=8, eval__every=4, eval__n=300, eval__real_n=300, log__tensorboard=True)
    run = RunDir.create(tmp_path / "run", "r")
    train(cfg, run, verbose=False)
    evals = [r for r in run.read_metrics() if "fid" in r]
    assert [r["step"] for r in evals] == [4, 8]
    assert all({"fid", "kid_mean", "precision", "recall", "density", "coverage", "classes_covered"} <= set(r)
               for r in evals)
    assert run.best_checkpoint.is_file()

    out = tmp_path / "eval.json"
    code = main(["evaluate", str(run.path), "--n", "300", "--real-n", "300", "--metrics", "fid,modes",
                 "--checkpoint", "best", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "fid" in printed and "classes_covered" in printed and "protocol: 300 generated" in printed
    result = json.loads(out.read_text())
    assert result["protocol"]["run"]["checkpoint"] == "best"
    best_step = min(evals, key=lambda r: r["fid"])["step"]
    assert result["protocol"]["run"]["step"] == best_step
    # the same protocol on the same weights gives the same number as during training
    assert result["metrics"]["fid"] == pytest.approx(min(r["fid"] for r in evals), rel=1e-6)
    assert json.loads(run.evaluation.read_text()) == result  # kept in the run folder for the report


def test_evaluate_scores_a_truncation_sweep(tiny_config, tmp_path, capsys):
    run = RunDir.create(tmp_path / "run", "r")
    train(tiny_config(train__steps=8), run, verbose=False)
    code = main(["evaluate", str(run.path), "--n", "300", "--real-n", "300", "--metrics", "fid,pr",
                 "--truncation", "0.25,1"])
    assert code == 0 and "truncation 0.25: fid" in capsys.readouterr().out
    sweep = json.loads(run.evaluation.read_text())["truncation"]
    assert [s["psi"] for s in sweep] == [0.25, 1.0] and {"fid", "precision", "recall"} <= set(sweep[0]["metrics"])
    assert sweep[0]["metrics"] != sweep[1]["metrics"]
    with pytest.raises(SystemExit) as e:
        main(["evaluate", str(run.path), "--truncation", "0.5,-1"])
    assert e.value.code == 2 and "--truncation: must be a finite number > 0, got -1" in capsys.readouterr().err


def test_a_run_is_evaluated_with_its_own_settings_and_modes_count_against_the_datasets(tiny_config, tmp_path,
                                                                                        capsys):
    cfg = tiny_config(data__dataset="toy-grid", data__size=2000, data__subset=None, model__arch="mlp",
                      model__width=32, train__steps=20, eval__metrics="toy-modes,modes",
                      eval__n=500, eval__real_n=500)
    run = RunDir.create(tmp_path / "toy", "toy")
    train(cfg, run, verbose=False)
    assert main(["evaluate", str(run.path)]) == 0
    result = json.loads(run.evaluation.read_text())
    assert result["protocol"]["metrics"] == ["toy-modes", "modes"] and result["protocol"]["generated"] == 500
    assert {"modes_captured", "high_quality"} <= set(result["metrics"])
    assert result["metrics"]["classes"] == 25 and result["metrics"]["classes_covered"] <= 25
    assert "fid" not in result["metrics"]
