"""`i2i study make|serve|analyze`: the paper's "real vs fake" perceptual study, from models to a results table."""

from __future__ import annotations

from pathlib import Path

import click

from i2i.cli.options import ComponentName, device_option, hardware_options, mode_option, quiet_option, seed_option


@click.group("study")
def study_group() -> None:
    """The paper's "real vs fake" perceptual study: make a static study page, collect answers, analyze them.

    Each trial shows a real and a generated image for 1 s; the participant then picks the fake. 10 practice
    trials with feedback, 40 test trials without, catch trials (a blurred copy vs the real image) mixed in.
    """


@study_group.command("make")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@click.option("--task", type=ComponentName("tasks"), help="Task whose data to show [the model's task].")
@click.option("--data", type=click.Path(file_okay=False), help="Folder with the task's splits [the cache].")
@click.option("--split", default="test", show_default=True, help="Split whose targets and translations to show.")
@click.option("-o", "--out", type=click.Path(file_okay=False), required=True, help="New folder for the study.")
@click.option("--practice", type=int, default=10, show_default=True, help="Practice trials (with feedback).")
@click.option("--trials", type=int, default=40, show_default=True, help="Test trials (no feedback).")
@click.option("--catch", type=int, default=5, show_default=True, help="Catch trials mixed into the test trials.")
@click.option("--seconds", type=click.FloatRange(min=0.001), default=1.0, show_default=True,
              help="How long each pair is shown.")
@click.option("--question", type=click.Choice(["fake", "real"]), default="fake", show_default=True,
              help="Ask for the fake image (the paper) or the real one.")
@click.option("--max-pairs", type=click.IntRange(min=1), help="Use only the split's first N pairs.")
@mode_option("Inference mode [each model's].")
@seed_option("Seed for paper mode's dropout.")
@device_option
@hardware_options
@quiet_option()
def make_command(models, task, data, split, out, practice, trials, catch, seconds, question, max_pairs, mode, seed,
                 device, precision, cpu_gemm, quiet) -> None:
    """Translate a split with each MODEL and write a self-contained study page into OUT.

    MODEL is anything `i2i translate` takes; several models are compared in one study (each participant's
    trials are spread evenly over them). Each participant sees each image once, so the split needs at least
    practice + trials + catch pairs. OUT works from any static host or file://; `i2i study serve OUT`
    also stores the answers.
    """
    from tqdm import tqdm

    from i2i.web.study import Protocol, make_study

    protocol = Protocol(practice=practice, trials=trials, catch=catch, display_ms=round(seconds * 1000),
                        question=question)
    with tqdm(unit="img", disable=True if quiet else None, dynamic_ncols=True) as bar:
        study = make_study(list(models), task, Path(out), split=split, data=data, protocol=protocol,
                           max_pairs=max_pairs, mode=mode, device=device, precision=precision, cpu_gemm=cpu_gemm, seed=seed,
                           progress=bar.update, total=lambda n: setattr(bar, "total", n))
    click.echo(f"study of {len(study['images'])} image(s) x {len(study['models'])} model(s) in {out}: open "
               f"{Path(out) / 'index.html'}, or run `i2i study serve {out}` to collect answers")


@study_group.command("serve")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback (e.g. 0.0.0.0) prints a warning.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free one).")
@click.option("-v", "--verbose", is_flag=True, help="Log every request.")
def serve_command(folder, host, port, verbose) -> None:
    """Serve a study FOLDER and store each participant's answers in FOLDER/responses/<session>.json."""
    from i2i.web.server import server_url, wait_for_interrupt
    from i2i.web.study import serve_study

    server = serve_study(Path(folder), host, port, verbose)
    try:
        wait_for_interrupt(server_url(server), host, f"the study in {folder}")
    finally:
        server.shutdown()
        server.server_close()


@study_group.command("analyze")
@click.argument("responses", nargs=-1, required=True, metavar="RESPONSES...")
@click.option("-o", "--out", type=click.Path(file_okay=False), required=True,
              help="Folder for study.md and study.json.")
@click.option("--min-catch", type=click.FloatRange(0, 1), default=0.8, show_default=True,
              help="Exclude participants answering fewer of their catch trials correctly.")
@click.option("--resamples", type=click.IntRange(min=100), default=10000, show_default=True,
              help="Bootstrap resamples (of participants).")
@seed_option("Bootstrap seed.")
def analyze_command(responses, out, min_catch, resamples, seed) -> None:
    """'% labelled real' per model and task with bootstrap 95% CIs, like the paper's Tables 4 and 5.

    RESPONSES are CSV/JSON files the study page saved, or folders of them (such as a served study's
    responses/).
    """
    from i2i.web.study_analysis import analyze, load_responses, results_table, write_report

    report = analyze(load_responses(list(responses)), min_catch=min_catch, resamples=resamples, seed=seed)
    markdown, _ = write_report(report, Path(out))
    click.echo(results_table(report))
    click.echo(f"report: {markdown} (and study.json)", err=True)
