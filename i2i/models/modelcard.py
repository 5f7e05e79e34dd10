"""The model card (``README.md``) of a model dir: Hub metadata, a usage snippet, a sample grid, provenance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from i2i.core.atomic import atomic_path, atomic_write_text
from i2i.core.errors import I2IError

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

CARD = "README.md"
SAMPLE = "samples.png"
PLACEHOLDER_ID = "MODEL"
CITATION = """@inproceedings{isola2017image,
  title={Image-to-Image Translation with Conditional Adversarial Networks},
  author={Isola, Phillip and Zhu, Jun-Yan and Zhou, Tinghui and Efros, Alexei A},
  booktitle={Computer Vision and Pattern Recognition (CVPR)},
  year={2017}
}"""


def _task_facts(name: str | None) -> tuple[list[str], list[str]]:
    """(Hub dataset ids, metric names) of a registered task; nothing for an unknown one."""
    from i2i.core.plugin_manager import get_registry

    if name is None:
        return [], []
    try:
        task = get_registry().resolve("tasks", name)
    except I2IError:
        return [], []
    return [source.location for source in task.sources if source.kind == "hub"], list(task.metrics)


def model_card(config: dict[str, Any], *, model_id: str = PLACEHOLDER_ID, sample: str | None = None,
               source_url: str | None = None) -> ModelCard:
    """The card for a model ``config``; ``sample`` is an image beside it, ``source_url`` where its weights came from."""
    from huggingface_hub import ModelCard, ModelCardData

    task, generator = config["task"], config["generator"]
    datasets, metrics = _task_facts(task)
    data = ModelCardData(library_name="i2i", pipeline_tag="image-to-image",
                         tags=["pix2pix", "gan", "image-to-image", *([task] if task else [])],
                         datasets=datasets or None, metrics=metrics or None)
    epochs = config["provenance"]["epochs"]
    trained = f", trained for {epochs} epochs" if epochs else ""
    origin = f"\nConverted from the PyTorch checkpoint <{source_url}>.\n" if source_url else ""
    why = f" ({config['inference_mode_reason']})" if config.get("inference_mode_reason") else ""
    picture = f"\n![Sample grid from the last training epoch]({sample})\n" if sample else ""
    where = "its Hub id or a local copy" if model_id == PLACEHOLDER_ID else "this repo's id or a local copy"
    body = f"""
# {model_id if model_id != PLACEHOLDER_ID else "pix2pix"}: {task or "image-to-image translation"}

A pix2pix generator (Isola et al., 2017) for the i2i task `{task}`{trained}, used with
[i2i](https://pypi.org/project/i2i-pix2pix/).
{origin}{picture}
## Use

```bash
pip install i2i-pix2pix
i2i translate {model_id} input.png -o out/
```

```python
import i2i

translator = i2i.load("{model_id}")
translator.translate("input.png").save("output.png")
```

`{model_id}` is {where}. The default inference mode is `{config["inference_mode"]}`{why}: `paper` keeps
dropout on and normalises over the test batch, as the paper tests; `eval` uses the running statistics
and no dropout, and gives deterministic outputs.
Any image size works; inputs are padded to the generator's size multiple and cropped back.

## Model

| | |
|---|---|
| generator | `{generator["name"]}` `{json.dumps(generator["args"])}` |
| channels | {config["in_channels"]} -> {config["out_channels"]}, scaled to {config["normalization"]} |
| direction | {config["direction"]} (of the task's A/B pairs) |
| training size | load {config["train_size"]["load_size"]}, crop {config["train_size"]["crop_size"]} \
({config["train_size"].get("preprocess", "resize_and_crop")}) |
| dataset | {config["provenance"]["dataset"] or "-"} |
| i2i version | {config["provenance"]["i2i_version"]} |

## Citation

```bibtex
{CITATION}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def latest_sample(folder: Path) -> Path | None:
    """The newest ``epoch_NNNN.png`` sample grid in a run's ``samples/`` folder, if any."""
    return max(folder.glob("epoch_*.png"), default=None) if folder.is_dir() else None


def write_model_card(model_dir: Path | str, *, samples: Path | None = None, source_url: str | None = None,
                     model_id: str = PLACEHOLDER_ID) -> Path:
    """Write ``README.md`` (and ``samples.png``, the newest grid in ``samples``) into a model dir; return it."""
    from i2i.models.modeldir import load_config

    model_dir = Path(model_dir)
    config = load_config(model_dir)
    grid = latest_sample(samples) if samples is not None else None
    if grid is not None:
        with atomic_path(model_dir / SAMPLE) as tmp:
            shutil.copyfile(grid, tmp)
    sample = SAMPLE if (model_dir / SAMPLE).is_file() else None
    card = model_card(config, model_id=model_id, sample=sample, source_url=source_url)
    atomic_write_text(model_dir / CARD, str(card))
    return model_dir
