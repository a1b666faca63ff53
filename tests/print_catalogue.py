"""Print the bad-input catalogue (BAD_INPUT.md): every case of test_bad_input.py, launched.

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

from test_bad_input import CASES, make_broken, run_case  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        (root / "broken").mkdir()
        broken = make_broken(root / "broken")
        print("# Bad input: one line each\n")
        print("Written by `python tests/print_catalogue.py > BAD_INPUT.md`: every case of "
              "tests/test_bad_input.py, launched (DIR = a folder of damaged files).\n")
        print("| bad input | command (flags) | exit | the one line |")
        print("|---|---|---|---|")
        for i, (name, args, _) in enumerate(CASES):
            work = root / f"case{i}"
            work.mkdir()
            result = run_case(broken, work, args)
            line = " / ".join(result.stderr.strip().splitlines()).replace(str(root / "broken"), "DIR")
            shown = " ".join(a.replace("{", "{{").replace("}", "}}") for a in args)
            shown = shown.replace("{{", "DIR/").replace("}}", "")
            line = line.replace("|", "\\|")
            print(f"| {name} | `{shown}` | {result.returncode} | `{line}` |", flush=True)
        broken["holder"].kill()


if __name__ == "__main__":
    main()
