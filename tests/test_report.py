"""The HTML report: its sections for real tiny runs, the comparison of several, and incomplete runs."""

from __future__ import annotations

import base64
import io
import json
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from gankit.cli import main
from gankit.errors import CheckpointError
from gankit.report import figures, write_report
from gankit.report.contents import thin
from gankit.run import RunDir
from gankit.train.doctor import Finding
from gankit.train.loop import train

VOID = {"meta", "link", "img", "input", "br", "hr", "source", "wbr"}


class Page(HTMLParser):
    """A written report, parsed: its tags and their attributes, section titles, tables, text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.open: list[str] = []
        self.h2: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("")

    def handle_endtag(self, tag):
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing open"

    def handle_data(self, data):
        inside = self.open[-1] if self.open else ""
        if inside == "script":
            self.scripts.append(data)
            return
        self.text.append(data)
        if inside == "h2":
            self.h2.append(data)
        if "td" in self.open or "th" in self.open:
            self.tables[-1][-1][-1] += data

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def table_with(self, header: str) -> list[list[str]]:
        """The first table whose first row holds the cell ``header``."""
        return next(t for t in self.tables if t and header in t[0])


def read_page(path: Path) -> tuple[str, Page]:
    text = path.read_text()
    page = Page(text)
    assert not page.open, f"unclosed tags {page.open}"
    return text, page


def decode(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


# Real runs, trained once per session and copied for each test ------------------------------------------

_TRAINED: dict[str, Path] = {}


def small(tiny_config, **overrides):
    """A tiny run made tinier: 64 images of batch 32 (2 steps an epoch), 6 steps, so 3 epoch grids."""
    settings = dict(data__subset=64, model__width=8, train__steps=6, log__every=2, checkpoint__every=1000)
    return tiny_config(**{**settings, **overrides})


def trained(name: str, cfg, tmp_path_factory, tmp_path: Path, evaluate: bool = False) -> RunDir:
    """A copy in ``tmp_path`` of a real run of ``cfg`` (trained on the first call, with ``gankit evaluate``
    and a truncation sweep when ``evaluate``)."""
    if name not in _TRAINED:
        run = RunDir.create(tmp_path_factory.mktemp(name) / "run", cfg.name)
        train(cfg, run, verbose=False)
        if evaluate:
            assert main(["evaluate", str(run.path), "--n", "200", "--real-n", "200", "--metrics", "fid,pr",
                         "--truncation", "0.5,1.0", "--device", "cpu"]) == 0
        _TRAINED[name] = run.path
    shutil.copytree(_TRAINED[name], tmp_path / name)
    return RunDir(tmp_path / name)


@pytest.fixture
def evaluated_run(tiny_config, tmp_path_factory, tmp_path, capsys) -> RunDir:
    """Evaluated during training (steps 3 and 6) and by gankit evaluate; text that HTML must escape."""
    cfg = small(tiny_config, description='digits <b>&</b> "noise"', eval__every=3, eval__n=200, eval__real_n=200,
                eval__metrics="fid,pr")
    run = trained("evaluated", cfg, tmp_path_factory, tmp_path, evaluate=True)
    capsys.readouterr()
    return run


@pytest.fixture
def conditional_run(tiny_config, tmp_path_factory, tmp_path) -> RunDir:
    """Class-conditional (cgan) with the hinge loss, and not evaluated."""
    return trained("conditional", small(tiny_config, model__conditioning="cgan", loss__name="hinge"),
                   tmp_path_factory, tmp_path)


# One run ----------------------------------------------------------------------------------------------------


def test_training_writes_the_report_with_every_section(evaluated_run):
    run = evaluated_run
    assert run.report.is_file()  # written at the end of training, before evaluation.json existed
    out = write_report([run.path])
    assert out == run.report
    text, page = read_page(out)
    assert page.h2 == ["Samples", "Training curves", "Evaluation", "Training doctor", "Config"]
    assert page.find("title")

    # self-contained: no address anywhere, every picture embedded, no outside script or style
    assert "http://" not in text and "https://" not in text
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.find("img"))
    assert all("src" not in a for t, a in page.tags if t == "script")
    assert [a["href"] for t, a in page.tags if "href" in a and not a["href"].startswith("#")] == ["data:,"]

    # the slider's frames are the epoch grids, byte for byte, and the last one is shown first
    frames = json.loads(next(s for s in page.scripts if '"epoch"' in s))
    assert [f["epoch"] for f in frames] == [1, 2, 3]
    for frame, grid in zip(frames, run.epoch_grids()):
        assert base64.b64decode(frame["src"].split(",", 1)[1]) == grid.read_bytes()
    (slider,) = page.find("input", type="range")
    assert (slider["min"], slider["max"], slider["value"]) == ("0", "2", "2")
    assert page.find("img", id="run-1-epochs-img")[0]["src"] == frames[-1]["src"]
    assert "epoch 3 of 3" in page.all_text

    # the final samples: 8 x 8 digits of 28 pixels, 2 apart, upscaled twice
    final = decode(page.find("img", alt="final samples")[0]["src"])
    assert final.size == ((8 * 30 + 2) * 2, (8 * 30 + 2) * 2)
    assert "after 6 steps" in page.all_text and "from generator.safetensors" in page.all_text

    # the curves: training statistics, and the evaluations during training
    assert decode(page.find("img", alt="training curves")[0]["src"]).size[0] > 500
    assert decode(page.find("img", alt="evaluation metrics")[0]["src"]).size[0] > 300

    # evaluation.json: its metrics, protocol and truncation sweep
    result = json.loads(run.evaluation.read_text())
    metrics = {row[0]: row[1] for row in page.table_with("metric")[1:]}
    assert set(metrics) == {"fid", "precision", "recall"}
    assert metrics["precision"] == f"{result['metrics']['precision']:.4g}"
    assert "200 generated against 200 real mnist/test images" in page.all_text
    sweep = page.table_with("psi")
    assert sweep[0] == ["psi", "precision", "recall", "fid"]
    assert [row[0] for row in sweep[1:]] == ["untruncated", "0.5", "1"]
    assert page.find("img", alt="metrics against truncation psi")

    # facts, findings, config; text from the run is escaped, never markup
    assert "No findings" in page.all_text and "no findings" in page.all_text
    config = {row[0]: row[1:] for row in page.table_with("default")[1:]}
    assert config["train.steps"] == ["6", "null"] and config["loss.name"] == ["nonsaturating", ""]
    assert 'digits <b>&</b> "noise"' in page.all_text
    assert "<b>&</b>" not in text and "digits &lt;b&gt;&amp;&lt;/b&gt; &quot;noise&quot;" in text


def test_doctor_findings_are_listed(evaluated_run):
    run = evaluated_run
    seen = Finding("d-overpowers-g", 4, "mean D(G(z)) stayed below 0.05 for 3 log lines <script>", "loss.name=hinge")
    run.append_metrics({**seen.record(), "epoch": 2.0})
    _, page = read_page(write_report([run.path]))
    rows = page.table_with("finding")
    assert rows[1:] == [["4", "2", "d-overpowers-g", "mean D(G(z)) stayed below 0.05 for 3 log lines <script>",
                         "loss.name=hinge"]]
    assert "1 finding" in page.all_text and "No findings" not in page.all_text
    # a finding is no training statistic: the curves still come from the log lines alone
    assert page.find("img", alt="training curves")


def test_a_conditional_run_shows_one_row_per_class(conditional_run):
    _, page = read_page(write_report([conditional_run.path]))
    final = decode(page.find("img", alt="final samples")[0]["src"])
    assert final.size == ((8 * 30 + 2) * 2, (10 * 30 + 2) * 2)  # 10 MNIST classes, 8 samples each
    assert "one row of 8 per class" in page.all_text
    assert "Not evaluated yet" in page.all_text and "No evaluations during training" in page.all_text


def test_a_2d_run_shows_scatter_plots(tiny_config, tmp_path_factory, tmp_path):
    cfg = small(tiny_config, data__dataset="toy-ring", data__size=64, model__arch="mlp", log__grid=16)
    run = trained("ring", cfg, tmp_path_factory, tmp_path)
    _, page = read_page(write_report([run.path]))
    final = decode(page.find("img", alt="final samples")[0]["src"])
    assert final.mode == "RGB" and final.size == (500, 500)
    assert len(json.loads(next(s for s in page.scripts if '"epoch"' in s))) == 3
    assert page.find("img", alt="final samples")[0]["class"] == "plot-picture"


# Several runs -----------------------------------------------------------------------------------------------


def test_several_runs_are_compared_on_exactly_the_keys_that_differ(evaluated_run, conditional_run, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = write_report([evaluated_run.path, conditional_run.path])
    assert out == Path("report.html")
    _, page = read_page(out)
    assert page.h2[0] == "Comparison" and page.h2.count("Samples") == 2
    assert page.find("header", id="run-1") and page.find("header", id="run-2")

    differ = page.tables[1]
    assert differ[0] == ["", "evaluated", "conditional"]
    assert differ[1:] == [
        ["description", 'digits <b>&</b> "noise"', '""'],
        ["model.conditioning", "none", "cgan"],
        ["loss.name", "nonsaturating", "hinge"],
        ["eval.every", "3", "null"],
        ["eval.metrics", "fid,pr", "fid,kid,pr,dc,modes"],
        ["eval.n", "200", "10000"],
        ["eval.real_n", "200", "10000"],
    ]
    finals = page.tables[2]
    assert finals[1][1].startswith("gankit evaluate") and finals[1][2] == "not evaluated"
    result = json.loads(evaluated_run.evaluation.read_text())["metrics"]
    assert {row[0]: row[1:] for row in finals[2:]}["fid"] == [f"{result['fid']:,.0f}", "-"]
    assert [img["alt"] for img in page.find("img") if img["alt"].startswith("final samples of")] == [
        "final samples of evaluated", "final samples of conditional"]
    # each run keeps its own slider
    assert len(page.find("input", type="range")) == 2


# Incomplete runs and wrong paths -------------------------------------------------------------------------


def test_an_interrupted_run_samples_its_last_checkpoint(conditional_run):
    conditional_run.generator.unlink()
    _, page = read_page(write_report([conditional_run.path]))
    assert "from checkpoints/last.pt: the run has no generator.safetensors yet" in page.all_text
    assert page.find("img", alt="final samples")


def test_a_run_that_has_not_started_says_so_in_each_section(tiny_config, tmp_path):
    run = RunDir.create(tmp_path / "fresh", "fresh")
    run.prepare()
    run.write_config(tiny_config())
    run.metrics.write_text("")
    run.evaluation.write_text('{"metrics": ')  # cut short
    _, page = read_page(write_report([run.path]))
    assert page.h2 == ["Samples", "Training curves", "Evaluation", "Training doctor", "Config"]
    assert not page.find("img") and not page.find("input")
    for says in ("No samples: ", "holds no checkpoint", "No epoch pictures yet", "No training statistics logged yet",
                 "No evaluations during training", "evaluation.json cannot be read", "No findings"):
        assert says in page.all_text, says


def test_a_path_that_is_no_run_folder_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(CheckpointError, match="does not exist"):
        write_report([tmp_path / "missing"])
    (tmp_path / "plain").mkdir()
    with pytest.raises(CheckpointError, match="not a gankit run folder"):
        write_report([tmp_path / "plain"])
    assert main(["report", str(tmp_path / "plain")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "plain" in err
    assert not (tmp_path / "plain" / "report.html").exists()


def test_a_report_of_50_epoch_grids_is_quick(evaluated_run):
    grids = evaluated_run.epoch_grids()
    for epoch in range(1, 51):
        shutil.copyfile(grids[epoch % 3], evaluated_run.epoch_grid(epoch))
    t0 = time.process_time()
    out = write_report([evaluated_run.path])
    assert time.process_time() - t0 < 2.0
    _, page = read_page(out)
    assert [f["epoch"] for f in json.loads(next(s for s in page.scripts if '"epoch"' in s))] == list(range(1, 51))


def test_a_long_run_shows_at_most_100_epoch_pictures_evenly_spaced():
    kept = thin(list(range(1, 251)), 100)
    assert len(kept) == 100 and kept[0] == 1 and kept[-1] == 250
    assert all(0 < b - a <= 3 for a, b in zip(kept, kept[1:]))
    assert thin([1, 2, 3], 100) == [1, 2, 3]


def test_numbers_a_step_logs_beyond_the_known_ones_get_panels_of_their_own(evaluated_run):
    records = [r for r in evaluated_run.read_metrics() if "loss_d" in r]  # 3 panels: loss, D output, gradient norm
    known = decode(figures.training_curves(records))
    extra = decode(figures.training_curves([{**r, "cycle": r["loss_g"] / 2} for r in records]))
    assert extra.size[0] == known.size[0] and extra.size[1] > known.size[1]  # 4 panels: two rows of two
    assert figures.training_curves([]) is None
