"""The benchmark's synthetic project (`bench.synthetic`) is a valid project: a benchmark of
sources that fail validation would measure the wrong thing. No timing is asserted anywhere."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from conftest import SCHEMAS, SOURCES

from pipeline.check.validate import validate_project
from pipeline.core.issues import render_text

REPO = Path(__file__).resolve().parent.parent


def load_synthetic() -> Any:
    """bench/ is not installed (it is run from the checkout, as `python -m bench`): load it by
    path, so that the test runs whatever folder pytest is started from."""
    name = "bench_synthetic_under_test"
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "synthetic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return module


synthetic = load_synthetic()
make_scaled_project = synthetic.make_scaled_project
scale_claims = synthetic.scale_claims


def test_a_scaled_project_is_valid_with_factor_times_the_rows(tmp_path: Path) -> None:
    shipped = validate_project(SOURCES, SCHEMAS).dataset
    project = make_scaled_project(tmp_path, SOURCES, SCHEMAS, 3)
    validation = validate_project(project.sources, project.schemas)
    assert validation.report.ok, render_text(validation.report.issues)
    for name in ("pcns", "practices", "pcn_memberships"):
        assert len(validation.dataset.rows(name)) == 3 * len(shipped.rows(name))
        assert project.rows[name] == 3 * len(shipped.rows(name))
    assert len(validation.dataset.rows("icbs")) == len(shipped.rows("icbs"))


def test_only_the_pcn_count_claim_is_scaled() -> None:
    text = (
        "- id: a\n  figure: 41\n  check: pcns-open\n\n- id: b\n  figure: 42\n  check: icbs-open\n"
    )
    assert scale_claims(text, 100) == text.replace("figure: 41", "figure: 4100")
