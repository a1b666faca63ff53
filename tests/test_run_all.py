"""experiments/run_all.py names every committed results table, and each variant's flags."""

import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))

import run_all  # noqa: E402


def test_every_committed_table_has_a_run_all_entry_and_every_entry_a_script():
    names = {name for name, *_ in run_all.SCRIPTS}
    tables = {os.path.basename(p)[:-3]
              for p in glob.glob(os.path.join(ROOT, "experiments", "results", "*.md"))}
    assert tables and tables <= names, sorted(tables - names)
    for name in names:
        script = run_all.VARIANTS.get(name, (name, []))[0]
        assert os.path.exists(os.path.join(ROOT, "experiments", f"{script}.py")), name


def test_a_variant_writes_the_table_it_is_named_after():
    for name, (script, flags) in run_all.VARIANTS.items():
        assert name in {n for n, *_ in run_all.SCRIPTS}, name
        assert f"--table={name}" in flags and script != name
