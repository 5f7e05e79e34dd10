"""Lay out the user's copy of KAIST Multispectral Pedestrian as the ``thermal2color`` task's folders."""

from __future__ import annotations

import shutil
from pathlib import Path

from i2i.api import DataError

FIRST_TEST_SET = 6  # the paper trained on set00–set05 and tested on set06–set11


def prepare_kaist(src: Path | str, dst: Path | str, *, copy: bool = False) -> dict[str, int]:
    """Link (or ``copy``) every KAIST frame that has both images into ``dst/<split>/A`` and ``B``.

    ``src`` holds ``setXX/VYYY/lwir/NAME`` and ``setXX/VYYY/visible/NAME`` at any depth (KAIST's own
    layout). A gets the thermal (lwir) frame, B the visible one, both named ``setXX_VYYY_NAME``; set00–
    set05 go to ``train``, set06–set11 to ``test``. Frames missing either image are skipped. Running it
    again replaces earlier links. Returns the number of pairs per split.
    """
    src, dst = Path(src), Path(dst)
    counts = {"train": 0, "test": 0}
    for thermal in sorted(src.glob("**/set[0-9][0-9]/V[0-9][0-9][0-9]/lwir/*")):
        video = thermal.parent.parent
        visible = video / "visible" / thermal.name
        if not (thermal.is_file() and visible.is_file()):
            continue
        split = "train" if int(video.parent.name[3:]) < FIRST_TEST_SET else "test"
        name = f"{video.parent.name}_{video.name}_{thermal.name}"
        for side, path in (("A", thermal), ("B", visible)):
            _place(path, dst / split / side / name, copy)
        counts[split] += 1
    if not any(counts.values()):
        raise DataError(f"no KAIST frames under {src}: expected setXX/VYYY/lwir/ and setXX/VYYY/visible/ "
                        "holding images with matching names")
    return counts


def _place(source: Path, target: Path, copy: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    if copy:
        shutil.copy2(source, target)
    else:
        target.symlink_to(source.resolve())
