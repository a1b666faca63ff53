"""Print the bad-input catalogue (BAD_INPUT.md): every launcher case of test_bad_input.py,
test_edges_files.py and test_edges_launcher.py, launched (the run-folder cases, which need
a trained run, are test_edges_runs.py's; TF_CONFIG's are test_edges_launcher.py's own loop).

    python tests/print_catalogue.py > BAD_INPUT.md

Each row: the case, its flags (DIR = the folder of damaged files), the exit code and the
whole of stderr as printed (one line when the test passes).
"""

import os
import pathlib
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("VAE_TF_ALLOW_SMALL_DATA", "1")  # as in the test session

import test_edges_files  # noqa: E402
import test_edges_launcher  # noqa: E402
from test_bad_input import CASES, make_broken, run_case  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        (root / "broken").mkdir()
        broken = make_broken(root / "broken")
        print("# Bad input: one line each\n")
        print("Written by `python tests/print_catalogue.py > BAD_INPUT.md`: every case of "
              "tests/test_bad_input.py, test_edges_files.py and test_edges_launcher.py, "
              "launched (DIR = a folder of damaged files; the run-folder and TF_CONFIG "
              "cases are in tests/test_edges_runs.py and test_edges_launcher.py).\n")
        print("| bad input | command (flags) | exit | the one line |")
        print("|---|---|---|---|")
        (root / "edges").mkdir()
        (root / "flagfiles").mkdir()
        edges = test_edges_files.make_edges(root / "edges")
        flags = dict(broken, flags=test_edges_launcher.make_flagfiles(root / "flagfiles"))
        cases = ([(c, broken) for c in CASES] + [(c, edges) for c in test_edges_files.CASES]
                 + [(c, flags) for c in test_edges_launcher.CASES])
        for i, ((name, args, _), folders) in enumerate(cases):
            work = root / f"case{i}"
            work.mkdir()
            result = run_case(folders, work, args)
            line = " / ".join(result.stderr.strip().splitlines())
            for sub in ("broken", "edges", "flagfiles"):
                line = line.replace(str(root / sub), "DIR")
            line = line.replace(str(work), ".")
            shown = " ".join(a.replace("{", "{{").replace("}", "}}") for a in args)
            shown = shown.replace("{{", "DIR/").replace("}}", "")
            line = line.replace("|", "\\|")
            print(f"| {name} | `{shown}` | {result.returncode} | `{line}` |", flush=True)
        broken["holder"].kill()


if __name__ == "__main__":
    main()
