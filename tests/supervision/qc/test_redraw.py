"""The sample is reproducible: the documented script, run as its own process with nothing but
the standard library, redraws exactly what the application drew from the same manifest and
seed (and the same items for a lot without a manifest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from supervision.qc import redraw

SCRIPT = Path(redraw.__file__)


def run_script(*args: str) -> list[str]:
    # -I: isolated mode, no site-packages and no project on the path: stdlib only.
    finished = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, "-I", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return finished.stdout.splitlines()


def test_script_redraws_the_apps_sample_from_the_manifest(tmp_path: Path) -> None:
    ids = [f"ABC{number:06d}" for number in range(1, 501)]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("item_id,custodian\n" + "".join(f"{i},Smith\n" for i in ids))
    seed = 8412093371
    app = redraw.draw(redraw.parse_manifest(manifest.read_text()), seed=seed, size=50)
    assert len(app) == 50 and len(set(app)) == 50 and set(app) <= set(ids)
    assert run_script(str(manifest), "--seed", str(seed), "--size", "50") == app
    # Another seed draws another sample.
    assert run_script(str(manifest), "--seed", str(seed + 1), "--size", "50") != app


def test_script_redraws_a_numbered_lot() -> None:
    app = redraw.draw(redraw.numbered_items(4000), seed=77, size=200)
    assert run_script("--items", "4000", "--seed", "77", "--size", "200") == app


def test_a_sample_as_large_as_the_lot_is_the_whole_lot() -> None:
    assert redraw.draw(["a", "b", "c"], seed=1, size=5) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item_id\n", "lists no item ids"),
        ("A1\nA2\nA1\n", "appears twice"),
        ("x" * 201 + "\n", "at most 200"),
    ],
)
def test_bad_manifests_are_refused_with_the_row(text: str, message: str) -> None:
    with pytest.raises(redraw.ManifestError, match=message):
        redraw.parse_manifest(text)


def test_blank_rows_and_the_header_are_skipped() -> None:
    assert redraw.parse_manifest("ITEM_ID\n\n DOC-1 ,x\nDOC-2\n") == ["DOC-1", "DOC-2"]
