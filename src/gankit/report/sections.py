"""The sections of the page: a run's own (samples, curves, evaluation, doctor, config) and,
for several runs, the comparison that comes first.

Each takes a run's :class:`~gankit.report.contents.RunContents` and returns HTML; a
part the run lacks becomes one line saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gankit.registry import MODELS
from gankit.report import figures
from gankit.report.contents import DEFAULTS, MAX_FRAMES, PER_ROW, RunContents, flatten, lower_is_better, thin
from gankit.report.page import esc, facts, figure, image, note, number, section, slider, table


def run_sections(c: RunContents, ident: str) -> str:
    """Everything about one run, in the order a reader asks: what it made, how it trained, how good it is."""
    return "".join((
        samples_section(c, ident),
        curves_section(c),
        evaluation_section(c),
        doctor_section(c),
        config_section(c),
    ))


def run_header(c: RunContents, ident: str, title: str) -> str:
    """The run's title, folder and description, over its key facts."""
    description = c.config.get("description")
    return (f'<header class="card hero" id="{esc(ident)}"><h1>{esc(title)}</h1>'
            f'<p class="subtitle"><code>{esc(c.run.path.resolve())}</code>'
            + (f" &middot; {esc(description)}" if description else "") + f"</p>{run_facts(c)}</header>")


def run_facts(c: RunContents) -> str:
    cfg = c.config.get
    data = f"{cfg('data.dataset', '?')} / {cfg('data.split', '?')}"
    if cfg("data.subset"):
        data += f", first {cfg('data.subset'):,}"
    model = str(cfg("model.arch", "?"))
    if cfg("model.conditioning", "none") != "none":
        model += f", {cfg('model.conditioning')}"
    loss = str(cfg("loss.name", "?")) + (f" + {cfg('reg.name')}" if cfg("reg.name") else "")
    if cfg("model.arch") in MODELS and MODELS.attrs(cfg("model.arch")).get("kind") == "likelihood":
        loss = "ELBO (no discriminator)"
    planned = f"of {cfg('train.steps'):,}" if cfg("train.steps") else f"of {cfg('train.epochs', '?')} epochs"
    epoch = next((r["epoch"] for r in reversed(c.training) if "epoch" in r), None)
    steps = f"{c.steps:,} {planned}" + (f" (epoch {epoch:.1f})" if epoch is not None else "")
    speeds = sorted(r["images_per_s"] for r in c.training if "images_per_s" in r)
    metrics, _ = c.final_metrics()
    quality = f"FID {number(metrics['fid'])}" if isinstance(metrics.get("fid"), int | float) else "not evaluated"
    pairs = [("dataset", data), ("model", model), ("loss", loss), ("steps", steps),
             ("speed", f"{speeds[len(speeds) // 2]:,.0f} images/s" if speeds else "not logged yet"),
             ("quality", quality), ("doctor", _count(len(c.findings), "finding"))]
    return facts(pairs)


def samples_section(c: RunContents, ident: str) -> str:
    """The final samples beside the epoch pictures and their slider."""
    if c.samples:
        step = f" after {c.samples.step:,} steps" if c.samples.step is not None else ""
        what = c.samples.what or ("2,500 points" if c.points else (
            f"one row of {PER_ROW} per class" if c.samples.picture.shape[0] > c.samples.picture.shape[1]
            else f"{PER_ROW} x {PER_ROW}"))
        final = figure(image(c.samples.uri, "final samples",
                             "plot-picture" if c.points else "grid"),
                       f"<b>Final samples</b>{esc(step)}: {esc(what)}, seed 0, from {esc(c.samples.source)}.")
    else:
        final = figure(note(c.samples_note), "<b>Final samples</b>")
    if c.grids:
        shown = thin(c.grids, MAX_FRAMES)
        frames = [(epoch, figures.file_uri(path)) for epoch, path in shown]
        which = "each epoch" if len(shown) == len(c.grids) else f"{len(shown)} of its {len(c.grids)} epochs"
        fixed = "inputs" if c.samples and c.samples.what else "noise"
        during = figure(slider(frames, f"{ident}-epochs", pixelated=not c.points),
                        f"<b>During training</b>: the same fixed {fixed} at the end of {which}; "
                        "drag the slider, or focus it and use the arrow keys.")
    else:
        during = figure(note("No epoch pictures yet: one is drawn at the end of each epoch."),
                        "<b>During training</b>")
    return section("Samples", f'<div class="pictures">{final}{during}</div>')


def curves_section(c: RunContents) -> str:
    """Losses and D outputs from the log, then the metrics of evaluations during training."""
    uri = figures.training_curves(c.training)
    body = image(uri, "training curves") if uri else note("No training statistics logged yet (metrics.jsonl).")
    if c.evaluations:
        uri = figures.metric_curves(c.evaluations, lower_is_better())
        body += "<h3>Evaluation during training</h3>" + (image(uri, "evaluation metrics") if uri else "")
    else:
        body += note("No evaluations during training (eval.every is off, or none has run yet).")
    return section("Training curves", body)


def evaluation_section(c: RunContents) -> str:
    """evaluation.json: the metrics, the protocol they were measured with, and a truncation sweep."""
    ev = c.evaluation
    if ev is None:
        return section("Evaluation", note(c.evaluation_note))
    if (ev.get("protocol") or {}).get("kind") == "translation":
        return section("Evaluation", translation_table(ev))
    body = metrics_table(ev["metrics"]) + protocol_line(ev)
    rows = ev.get("truncation") or []
    if rows:
        keys = [k for k in ("precision", "recall", "density", "coverage", "fid") if any(
            k in r.get("metrics", {}) for r in rows)]
        base = [["untruncated"] + [_num(ev["metrics"].get(k)) for k in keys]]
        swept = [[esc(number(r.get("psi")))] + [_num(r.get("metrics", {}).get(k)) for k in keys] for r in rows]
        body += "<h3>Truncation: fidelity against variety</h3>"
        body += ('<p class="small">Latents drawn from the normal truncated at &plusmn;psi: a smaller psi moves samples '
                 "towards the mode, raising precision and lowering recall.</p>")
        body += '<div class="pictures">' + table(["psi", *keys], base + swept)
        uri = figures.truncation_plot(rows)
        body += (image(uri, "metrics against truncation psi") if uri else "") + "</div>"
    return section("Evaluation", body)


def metrics_table(metrics: dict[str, Any]) -> str:
    lower = lower_is_better()
    rows = []
    for key, value in metrics.items():
        if key.endswith("_std") and key[:-4] + "_mean" in metrics:
            continue  # shown with its mean
        std = metrics.get(key[:-5] + "_std") if key.endswith("_mean") else None
        shown = _num(value) if std is None else f"{_num(value)} &plusmn; {esc(number(std))}"
        rows.append([f"<code>{esc(key)}</code>", shown, '<span class="small">lower is better</span>'
                     if key in lower else ""])
    return table(["metric", "value", ""], rows)


COLUMNS = {"model": "this model", "input": "the input itself", "compare": "compared run", "real": "real targets"}


def translation_table(ev: dict[str, Any]) -> str:
    """A translation run's numbers: one row per metric; the model, the degraded input as an output,
    the compared run and the real targets side by side."""
    sets = ev["metrics"]
    columns = [c for c in COLUMNS if c in sets]
    keys = list(dict.fromkeys(k for c in columns for k, v in sets[c].items() if not isinstance(v, str)))
    lower = lower_is_better()
    rows = [[f"<code>{esc(k)}</code>", *[_num(sets[c].get(k)) for c in columns],
             '<span class="small">lower is better</span>' if k in lower else ""] for k in keys]
    p = ev.get("protocol") or {}
    line = (f"{number(p.get('held_out', '?'))} held-out {p.get('dataset', '?')}/{p.get('split', '?')} pairs "
            f"({p.get('pair', '?')}{', ' + str(p.get('degradation')) if p.get('pair') == 'degrade' else ''}), "
            f"in the features of {(p.get('evaluator') or {}).get('name', '?')}, seed {p.get('seed', '?')}")
    flat = [[f"<code>{esc(k)}</code>", esc(number(v))] for k, v in flatten(p).items()]
    return (table(["metric", *[COLUMNS[c] for c in columns], ""], rows)
            + f'<p class="small">Protocol: {esc(line)}.</p>'
            + f"<details><summary>Full protocol</summary>{table(['key', 'value'], flat)}</details>")


def protocol_line(ev: dict[str, Any]) -> str:
    """How the numbers were measured, in one sentence, and the whole protocol under it."""
    p, s = ev.get("protocol") or {}, ev.get("seconds") or {}
    ref, evaluator, run = p.get("reference") or {}, p.get("evaluator") or {}, p.get("run") or {}
    sha = str(evaluator.get("sha256", "?"))[:12]
    line = (f"{number(p.get('generated', '?'))} generated against {number(ref.get('count', '?'))} real "
            f"{ref.get('dataset', '?')}/{ref.get('split', '?')} images, in the features of "
            f"{evaluator.get('name', '?')} (sha256 {sha}), seed {p.get('seed', '?')}")
    if run:
        line += f"; checkpoint {run.get('checkpoint', '?')} at step {run.get('step', '?')}"
    if s:
        line += "; took " + ", ".join(f"{k} {v} s" for k, v in s.items())
    rows = [[f"<code>{esc(k)}</code>", esc(number(v))] for k, v in flatten(p).items()]
    return (f'<p class="small">Protocol: {esc(line)}.</p>'
            f"<details><summary>Full protocol</summary>{table(['key', 'value'], rows)}</details>")


def doctor_section(c: RunContents) -> str:
    if not c.findings:
        return section("Training doctor", note("No findings: the doctor saw none of the failures it looks for."))
    rows = [[esc(f.get("step", "?")), esc(number(f.get("epoch", "?"))), f"<b>{esc(f.get('finding', '?'))}</b>",
             esc(f.get("message", "")), esc(f.get("remedy", ""))] for f in c.findings]
    return section("Training doctor", table(["step", "epoch", "finding", "what was seen", "what to try"], rows))


def config_section(c: RunContents) -> str:
    """config.yaml as a table of dotted keys, the ones set away from their defaults marked and counted."""
    if not c.config:
        return section("Config", note(c.config_note))
    changed = [k for k, v in c.config.items() if k not in DEFAULTS or DEFAULTS[k] != v]
    rows = [(f'<tr class="changed"><td><code>{esc(k)}</code></td><td>{esc(number(v))}</td>'
             f"<td>{esc(number(DEFAULTS.get(k, '')))}</td></tr>") if k in changed else
            f"<tr><td><code>{esc(k)}</code></td><td>{esc(number(v))}</td><td></td></tr>" for k, v in c.config.items()]
    description = f'<p class="small">{esc(c.config["description"])}</p>' if c.config.get("description") else ""
    body = (f"{description}<details><summary>{len(c.config)} keys, {len(changed)} set away from their defaults "
            f"(marked): show the resolved config.yaml</summary><table><thead><tr><th>key</th><th>value</th>"
            f"<th>default</th></tr></thead><tbody>{''.join(rows)}</tbody></table></details>")
    return section("Config", body)


def comparison_section(runs: Sequence[RunContents]) -> str:
    """Several runs side by side: the config keys that differ, the final metrics, the final samples."""
    head = ["", *[c.label for c in runs]]
    links = [f'<a href="#run-{i + 1}">{esc(c.label)}</a>' for i, c in enumerate(runs)]
    body = table(["run", "path", "steps"], [[a, f"<code>{esc(c.run.path)}</code>", esc(f"{c.steps:,}")]
                                             for a, c in zip(links, runs)])
    keys = differing_keys([c.config for c in runs if c.config])
    body += "<h3>Config keys that differ</h3>"
    body += table(head, [[f"<code>{esc(k)}</code>", *[esc(number(c.config.get(k, "-"))) if c.config else "?"
                                                      for c in runs]] for k in keys]) if keys else note(
        "The runs share every config key.")
    finals = [c.final_metrics() for c in runs]
    mkeys = list(dict.fromkeys(k for m, _ in finals for k in m))
    body += "<h3>Final metrics</h3>"
    if mkeys:
        rows = [["<i>from</i>", *[f'<span class="small">{esc(src)}</span>' for _, src in finals]]]
        rows += [[f"<code>{esc(k)}</code>", *[_num(m.get(k)) for m, _ in finals]] for k in mkeys]
        body += table(head, rows)
    else:
        body += note("None of the runs has been evaluated.")
    pictures = [figure(image(c.samples.uri, f"final samples of {c.label}",
                             "plot-picture" if c.points else "grid") if c.samples else note(c.samples_note),
                       f"<b>{esc(c.label)}</b>") for c in runs]
    body += f'<h3>Final samples</h3><div class="pictures compare">{"".join(pictures)}</div>'
    return section("Comparison", body, ident="comparison")


def differing_keys(configs: Sequence[dict[str, Any]]) -> list[str]:
    """Dotted config keys whose value is not the same in every config (a key some lack counts), in config order."""
    keys = list(dict.fromkeys(k for cfg in configs for k in cfg))
    missing = object()
    return [k for k in keys if len({repr(cfg.get(k, missing)) for cfg in configs}) > 1]


def _num(value: Any) -> str:
    return '<span class="note">-</span>' if value is None else esc(number(value))



def _count(n: int, thing: str) -> str:
    return f"no {thing}s" if n == 0 else f"{n} {thing}" + ("s" if n > 1 else "")
