"""The experiments: one script per results table, each with its config beside its protocol.

Run one as `python experiments/<name>.py [--quick] [--variant=...]` or
`python -m experiments.<name>` from the repository; `python experiments/run_all.py --list`
lists every stage (script and variant) with its tier and expected minutes. The shared
scaffold (flags, config, folders) is scaffold.py; the results-file writer, common.py.
"""
