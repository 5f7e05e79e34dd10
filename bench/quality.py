"""Quality on real photographs: i2i against trivial baselines on colorization, inpainting and edges → photo.

Not a test: it builds data from real photos, trains, and writes the table of bench/QUALITY.md.

    python bench/quality.py data  --out DATA [--debs DIR] [--photos 26|39|45]  # photos → 72-px crops split by source picture
    python bench/quality.py baselines --data DATA --out OUT  # trivial baselines on each task's test split
    python bench/quality.py table --out OUT                  # the markdown table from OUT/*.json

Photos (``--photos``; bench/QUALITY.md tells which session used which):
- ``26``: five of scikit-image's sample photographs (skimage.data) and the 21 photographs (not the
  illustrations) in Debian's ``plasma-workspace-wallpapers``, ``lomiri-wallpapers-16.04`` and
  ``lomiri-wallpapers-20.04``; one scale.
- ``39``: those, matplotlib's ``grace_hopper.jpg`` and the 12 nature photographs of ``mate-backgrounds``.
- ``45`` (the default): ``39`` without the MATE photos (saturated close-ups of flowers and leaves that pull
  the colour prior away from everyday scenes) and with the 18 photographs among the example images of
  Debian's ``opencv-doc`` (fruit, animals, streets, buildings, aerial views).
Debian packages are fetched with ``apt-get download`` and unpacked with ``dpkg -x`` (nothing is installed).
Each photo is resized so that its short side is 288 px and cut into non-overlapping 72×72 crops; except
for ``26``, training photos are cut a second time at a 576-px short side (finer detail, four times the
crops). All crops of one photo go to the same split (train, val or test); the val and test photos are the
same in every set.
Training and evaluation commands are in bench/QUALITY.md; ``i2i eval`` scores the models.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image


CROP, SHORT_SIDE = 72, 288
TRAIN_SHORT_SIDES = (288, 576)  # val and test: SHORT_SIDE only, so their crops match the first session's
WALLPAPER_DEBS = ("plasma-workspace-wallpapers", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04")
SKIMAGE = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")
PLASMA = ("BytheWater", "EveningGlow", "FallenLeaf", "Kite", "OneStandsOut", "Path", "summer_1am")
LOMIRI = ("Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Kleiber_by_Lukas_Baubkus", "Picture_0B_by_freespace",
          "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "free_by_Peter_Nerlich",
          "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich", "life_by_Aitzol_Berasategi",
          "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi")
MATE = ("Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")  # usr/share/backgrounds/mate/nature: all photographs
MATPLOTLIB = ("grace_hopper",)
OPENCV_EXAMPLES = "usr/share/doc/opencv-doc/examples"
OPENCV = ("alphamat/input_images/plant.jpg", "data/fruits.jpg", "data/baboon.jpg", "data/leuvenA.jpg",
          "data/squirrel_cls.jpg", "data/home.jpg", "data/aloeL.jpg", "data/orange.jpg", "data/licenseplate_motion.jpg",
          "data/messi5.jpg", "data/aero1.jpg", "data/apple.jpg", "data/butterfly.jpg", "data/building.jpg",
          "data/aero3.jpg", "hfs/data/000.jpg", "data/chicky_512.png", "data/rubberwhale1.png")  # all photographs
PHOTO_SETS = ("26", "39", "45")
# Split by source picture: varied subjects in each held-out split.
TEST = ("chelsea", "EveningGlow", "Dragonfly_by_Bolly", "life_by_Aitzol_Berasategi", "Picture_0B_by_freespace",
        "picosdeeuropa_by_Aitzol_Berasategi")
VAL = ("rocket", "Kite", "free_by_Peter_Nerlich")
TASKS = {"colorization": "colorization", "inpainting": "inpainting", "edges2photo": "edges2photo"}


def debs_for(photo_set: str) -> tuple[str, ...]:
    """The Debian packages whose photos ``photo_set`` uses."""
    return WALLPAPER_DEBS + {"26": (), "39": ("mate-backgrounds",), "45": ("opencv-doc",)}[photo_set]


def fetch_debs(folder: Path, packages: tuple[str, ...]) -> Path:
    """``apt-get download`` ``packages`` into ``folder`` and unpack them with ``dpkg -x``."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *packages], cwd=folder, check=True)
    root = folder / "root"
    for deb in sorted(folder.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def photos(debs: Path, photo_set: str = "45") -> dict[str, Image.Image]:
    """Every source photo of ``photo_set`` (see the module's docstring) by name, as RGB PIL images."""
    import skimage.data

    def sample(name: str) -> np.ndarray:
        image = getattr(skimage.data, name)()
        return image[0] if name == "stereo_motorcycle" else image  # (left, right, disparity): the left view

    found = {name: Image.fromarray(sample(name)).convert("RGB") for name in SKIMAGE}
    for name in PLASMA:
        images = debs / "usr/share/wallpapers" / name / "contents/images"
        largest = max(images.glob("*.jpg"), key=lambda p: int(p.stem.split("x")[0]))
        found[name] = Image.open(largest).convert("RGB")
    for name in LOMIRI:
        found[name] = Image.open(debs / "usr/share/backgrounds" / f"{name}.jpg").convert("RGB")
    if photo_set == "26":
        return found
    if photo_set == "39":
        for name in MATE:
            found[name] = Image.open(debs / "usr/share/backgrounds/mate/nature" / f"{name}.jpg").convert("RGB")
    else:
        for path in OPENCV:
            found[f"opencv_{Path(path).stem}"] = Image.open(debs / OPENCV_EXAMPLES / path).convert("RGB")
    import matplotlib.cbook

    for name in MATPLOTLIB:
        found[name] = Image.open(matplotlib.cbook.get_sample_data(f"{name}.jpg")).convert("RGB")
    return found


def split_of(name: str) -> str:
    return "test" if name in TEST else "val" if name in VAL else "train"


def write_crops(name: str, photo: Image.Image, folder: Path, short_side: int = SHORT_SIDE) -> int:
    scale = short_side / min(photo.size)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
    array = np.asarray(photo)
    prefix = name if short_side == SHORT_SIDE else f"{name}_s{short_side}"
    count = 0
    for top in range(0, photo.height - CROP + 1, CROP):
        for left in range(0, photo.width - CROP + 1, CROP):
            Image.fromarray(array[top:top + CROP, left:left + CROP]).save(folder / f"{prefix}_{top:03d}_{left:03d}.png")
            count += 1
    return count


def build_data(out: Path, debs: Path | None, photo_set: str = "45") -> dict[str, int]:
    """Crops of every photo of ``photo_set`` into OUT/{train,val,test} (``26``: 400 / 68 / 132 crops, one scale)."""
    debs = debs or fetch_debs(Path(tempfile.mkdtemp(prefix="i2i-quality-debs-")), debs_for(photo_set))
    counts: dict[str, int] = {}
    for split in ("train", "val", "test"):
        (out / split).mkdir(parents=True, exist_ok=True)
    found = photos(debs, photo_set)
    for name, photo in found.items():
        split = split_of(name)
        for short_side in TRAIN_SHORT_SIDES if split == "train" and photo_set != "26" else (SHORT_SIDE,):
            counts[split] = counts.get(split, 0) + write_crops(name, photo, out / split, short_side)
    names = [n for n in (*SKIMAGE, *MATPLOTLIB, *PLASMA, *LOMIRI, *MATE) if n in found]
    names += [n for n in found if n not in names]
    (out / "sources.json").write_text(json.dumps(
        {split: [n for n in names if split_of(n) == split] for split in counts}, indent=1))
    return counts


# --- baselines ------------------------------------------------------------------------------------

def _blur_fill(image: torch.Tensor, hole: torch.Tensor, passes: int = 200) -> torch.Tensor:
    """Fill ``hole`` by diffusion: repeated 3×3 averaging of the hole, the known pixels held fixed."""
    filled = torch.where(hole, image[:, ~hole].mean(1, keepdim=True)[..., None], image)
    kernel = torch.full((3, 1, 3, 3), 1 / 9)
    for _ in range(passes):
        smooth = torch.nn.functional.conv2d(torch.nn.functional.pad(filled[None], (1,) * 4, mode="replicate"),
                                            kernel, groups=3)[0]
        filled = torch.where(hole, smooth, image)
    return filled


def _edge_features(edges: torch.Tensor) -> torch.Tensor:
    """(N, 12, H, W) per-pixel features of (N, C, H, W) edge maps (black lines on white): 1, the edge itself, the
    local edge density over 5 to 33 px, the crop's edge density, and the squares of the densities."""
    line = (edges[:, :1] < 0).float()
    density = [torch.nn.functional.avg_pool2d(line, k, 1, k // 2, count_include_pad=False) for k in (5, 9, 17, 33)]
    density = torch.cat([*density, line.mean((2, 3), keepdim=True).expand_as(line)], 1)
    return torch.cat([torch.ones_like(line), line, density, density ** 2], 1)


def edge_density_regression(items: list[dict]) -> torch.Tensor:
    """(12, 3) least-squares weights from :func:`_edge_features` to the photo's RGB, fitted on ``items`` (training
    pairs): the best colour a linear model can read from how many edges are near a pixel."""
    features = _edge_features(torch.stack([item["a"] for item in items])).permute(0, 2, 3, 1).flatten(0, 2)
    colours = torch.stack([item["b"] for item in items]).permute(0, 2, 3, 1).flatten(0, 2)
    return torch.linalg.lstsq(features.double(), colours.double()).solution.float()


def baseline_outputs(task_name: str, data: Path) -> dict[str, list]:
    """Each trivial baseline's outputs for the test split, as :class:`i2i.eval.evaluate.EvalItem` lists (float
    images, scored like a model's outputs: not rounded through 8-bit files)."""
    from i2i.core.plugin_manager import get_registry
    from i2i.eval.evaluate import EvalItem, split_dataset
    from i2i.models.compose import composed, task_compose

    task = get_registry().resolve("tasks", task_name)
    compose = task_compose(task)
    shape = dict(direction=task.direction, in_channels=task.in_channels, out_channels=task.out_channels, size=64)
    train, test = (split_dataset(task, data, split, **shape) for split in ("train", "test"))
    train_items = [train[i] for i in range(len(train))]
    mean_b = torch.stack([item["b"] for item in train_items]).mean((0, 2, 3))  # the target's channels
    weights = edge_density_regression(train_items[::3]) if task_name == "edges2photo" else None
    made: dict[str, list] = {}
    for index in range(len(test)):
        item = test[index]
        a, size = item["a"], item["a"].shape[-2:]
        if task_name == "colorization":
            outputs = {"grey input (a = b = 0)": compose(a[None], torch.zeros(1, 2, *size))[0],
                       "mean colour (training mean a, b)": compose(a[None], mean_b.view(1, 2, 1, 1).expand(1, 2, *size))[0]}
        elif task_name == "inpainting":
            hole = a[3] < 0
            outputs = {"grey fill (the input as it is)": a[:3],
                       "mean colour fill (the known pixels' mean)": torch.where(hole, a[:3, ~hole].mean(1)[:, None, None], a[:3]),
                       "blurred fill (diffusion from the border)": _blur_fill(a[:3], hole)}
        else:
            regressed = (_edge_features(a[None]).permute(0, 2, 3, 1) @ weights).permute(0, 3, 1, 2)[0].clamp(-1, 1)
            outputs = {"input copy (the edge map)": a,
                       "mean colour (training mean)": mean_b.view(3, 1, 1).expand(3, *size),
                       "edge-density regression (linear, fitted on the training crops)": regressed}
        target = composed(compose, a, item["b"])
        for label, output in outputs.items():
            made.setdefault(label, []).append(EvalItem(f"{index:05d}_{Path(item['path']).stem}", a, output, target))
    return made


def score_baselines(data: Path, out: Path) -> None:
    """Score every baseline with the task's metric preset into OUT/<task>-baselines.json (and a report folder each)."""
    from i2i.core.plugin_manager import get_registry
    from i2i.eval.evaluate import evaluate_items
    from i2i.eval.metric_set import MetricSet

    registry = get_registry()
    for task in TASKS:
        results = {}
        for label, items in baseline_outputs(task, data).items():
            metrics = MetricSet.build(registry, list(registry.resolve("tasks", task).metrics))
            folder = out / "baselines" / task / label.split(" (")[0].replace(" ", "-")
            results[label] = evaluate_items(items, metrics, folder, f"{task} test: {label}")["metrics"]
            print(task, label, json.dumps(results[label]), flush=True)
        (out / f"{task}-baselines.json").write_text(json.dumps(results, indent=1))


def table(out: Path) -> str:
    """Markdown: per task, the baselines and every model report ``OUT/<task>-<label>/metrics.json``."""
    lines = []
    for task in TASKS:
        rows = {f"baseline: {k}": v for k, v in json.loads((out / f"{task}-baselines.json").read_text()).items()}
        for report in sorted(out.glob(f"{task}-model-*/metrics.json")):
            rows["i2i: " + report.parent.name.removeprefix(f"{task}-model-")] = json.loads(report.read_text())["metrics"]
        columns = list(dict.fromkeys(k for v in rows.values() for k in v))
        lines += [f"### {task}", "", "| outputs | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
        lines += [f"| {label} | " + " | ".join(f"{v[c]:.4g}" if c in v else "-" for c in columns) + " |"
                  for label, v in rows.items()]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data")
    data.add_argument("--out", type=Path, required=True)
    data.add_argument("--debs", type=Path, help="Folder where the set's Debian packages are already unpacked.")
    data.add_argument("--photos", choices=PHOTO_SETS, default="45", help="Which photos (see above) [45].")
    base = sub.add_parser("baselines")
    base.add_argument("--data", type=Path, required=True)
    base.add_argument("--out", type=Path, required=True)
    tab = sub.add_parser("table")
    tab.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "data":
        print(json.dumps(build_data(args.out, args.debs, args.photos)))
    elif args.command == "baselines":
        score_baselines(args.data, args.out)
    else:
        print(table(args.out))


if __name__ == "__main__":
    main()
