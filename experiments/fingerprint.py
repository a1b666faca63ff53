"""Fingerprints of results files: what produced each table, and whether that still holds.

`record(name, config, out_dir)`, called right after `<out_dir>/<name>.md` is written,
writes `<out_dir>/<name>.fingerprint.json` beside it, holding
- script: the running script (relative to the repository) and the hash of its code;
- config: the script's config as canonical JSON, and that JSON's sha256;
- modules: every repository module (under vae_tf/, experiments/, benchmarks/) the process
  imported, each with the hash of its code (`code_hash`: a docstring or comment edit
  changes nothing);
- data: every file vae_tf's dataset loaders read (vae_tf.datasets.files.READ_PATHS), with
  size and sha256, keyed by its path relative to the data root (absolute outside it);
- inputs: further repository files given to `record` (thesis_numbers.json), by sha256.

`status` compares each results file with what its fingerprint names, now; `status_lines`
gives the printed lines; `config_change` says whether a fingerprint records a given
config (run_all trusts a results file's wall time only then); `plan` (fingerprint_plan.py)
picks the stale stages that fit a budget in minutes.
"""

import json
import os
import sys
from typing import Callable, Iterator, List, Mapping, Optional, Sequence, Tuple

try:  # inside the experiments package, or beside a script run from experiments/
    from .fingerprint_hashes import Hashes, canonical, first_difference, python_version
    from .fingerprint_plan import Plan, plan  # noqa: F401 (part of this module's interface)
except ImportError:
    from fingerprint_hashes import Hashes, canonical, first_difference, python_version
    from fingerprint_plan import Plan, plan  # noqa: F401

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIRS = ("vae_tf", "experiments", "benchmarks")  # the repository's own code
DATA_DIR_VAR = "VAE_TF_DATA_DIR"
CURRENT, STALE = "current", "stale"
NOT_RECORDED = "no fingerprint: written before fingerprints"
_HERE = os.path.dirname(os.path.realpath(__file__))
_OWN = {os.path.join(_HERE, f"fingerprint{part}.py") for part in ("", "_hashes", "_plan")}
ConfigOf = Callable[[str], Optional[object]]  # a result's name -> the config used now, or None


def fingerprint_path(out_dir: str, name: str) -> str:
    return os.path.join(out_dir, f"{name}.fingerprint.json")


def record(name: str, config, out_dir: str, *, data_root: Optional[str] = None,
           inputs: Sequence[str] = (), script: Optional[str] = None, repo: str = REPO) -> str:
    """Write the fingerprint of `<out_dir>/<name>.md`, just written; returns its path.

    data_root: the folder data paths are kept relative to (default $VAE_TF_DATA_DIR);
    inputs: other repository files the table depends on; script: default sys.argv[0].
    """
    repo = os.path.realpath(repo)
    script = os.path.realpath(script or sys.argv[0])
    hashes = Hashes()
    modules = {_rel(p, repo): hashes.code(p) for p in _imported_sources(repo) if p != script}
    root = data_root or os.environ.get(DATA_DIR_VAR)
    data = {}
    for path in sorted(_read_paths()):
        size, digest = hashes.file(path) or (None, None)  # None: removed since it was read
        data[_data_key(path, root)] = {"size": size, "sha256": digest}
    fingerprint = {
        "python": python_version(),
        "script": {"path": _rel(script, repo), "code": hashes.code(script)},
        "config": json.loads(canonical(config)),
        "config_sha256": hashes.text(canonical(config)),
        "modules": dict(sorted(modules.items())),
        "data": data,
        "inputs": {_rel(os.path.realpath(p), repo): (hashes.file(p) or (None, None))[1]
                   for p in inputs},
    }
    path = fingerprint_path(out_dir, name)
    with open(path + ".tmp", "w") as f:
        json.dump(fingerprint, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return path


def _imported_sources(repo: str) -> Iterator[str]:
    """Real paths of the repository's .py files among the imported modules (not this one)."""
    seen = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path or not path.endswith(".py"):
            continue
        path = os.path.realpath(path)
        rel = os.path.relpath(path, repo)
        if rel.split(os.sep)[0] in SOURCE_DIRS and path not in _OWN and path not in seen:
            seen.add(path)
            yield path


def _read_paths() -> List[str]:
    """The data files vae_tf's loaders read in this process (none if they were not imported)."""
    files = sys.modules.get("vae_tf.datasets.files")
    return [os.path.realpath(p) for p in getattr(files, "READ_PATHS", ())]


def _rel(path: str, repo: str) -> str:
    rel = os.path.relpath(path, repo)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _data_key(path: str, root: Optional[str]) -> str:
    """`path` relative to the data root, or absolute when outside it (or there is none)."""
    if root:
        rel = os.path.relpath(path, os.path.realpath(root))
        if not rel.startswith(".."):
            return rel.replace(os.sep, "/")
    return path


def status(out_dir: str, current_config: Optional[ConfigOf] = None, *,
           names: Optional[Sequence[str]] = None, data_root: Optional[str] = None,
           repo: str = REPO) -> List[Tuple[str, str, str]]:
    """(name, "current" or "stale", reason) of every `<name>.md` in out_dir, or of `names`.

    current_config(name) returns the config the script would use now, or None when
    unknown (then the config is not compared). Each file is hashed once per call.
    """
    if names is None:
        found = os.listdir(out_dir) if os.path.isdir(out_dir) else []
        names = sorted(f[:-3] for f in found if f.endswith(".md"))
    hashes, root = Hashes(), data_root or os.environ.get(DATA_DIR_VAR)
    return [(name, *_check(name, out_dir, current_config, root, os.path.realpath(repo),
                           hashes)) for name in names]


def _check(name, out_dir, current_config, root, repo, hashes) -> Tuple[str, str]:
    """(state, reason) of one results file."""
    if not os.path.isfile(os.path.join(out_dir, f"{name}.md")):
        return STALE, "no results file yet"
    try:
        with open(fingerprint_path(out_dir, name)) as f:
            old = json.load(f)
        recorded = [(old["script"]["path"], old["script"]["code"]), *old["modules"].items()]
    except FileNotFoundError:
        return STALE, NOT_RECORDED
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return STALE, f"fingerprint unreadable ({type(e).__name__}: {e}); rerun to rewrite it"
    stale, notes = [], []
    if old.get("python") != python_version():
        stale.append(f"code hashed under Python {old.get('python')}, this is "
                     f"{python_version()}")
    else:
        stale += _changed(recorded, lambda rel: hashes.code(_in_repo(rel, repo)))
    stale += _changed(old.get("inputs", {}).items(),
                      lambda rel: (hashes.file(_in_repo(rel, repo)) or (None, None))[1])
    new = current_config(name) if current_config is not None else None
    if new is None:
        notes.append("config not checked")
    else:
        stale += _config_changed(old, new, hashes)
    data_stale, data_notes = _data(old.get("data", {}), root, hashes)
    state = STALE if stale or data_stale else CURRENT
    return state, "; ".join(stale + data_stale + notes + data_notes)


def config_change(out_dir: str, name: str, config) -> Optional[str]:
    """None when `<name>`'s fingerprint records `config` (as `status` compares it), else why
    not: no fingerprint, an unreadable one, or the first difference."""
    try:
        with open(fingerprint_path(out_dir, name)) as f:
            old = json.load(f)
        return next(iter(_config_changed(old, config, Hashes())), None)
    except FileNotFoundError:
        return NOT_RECORDED
    except (OSError, ValueError, TypeError, AttributeError) as e:
        return f"fingerprint unreadable ({type(e).__name__}: {e})"


def _config_changed(old: Mapping, new, hashes: Hashes) -> List[str]:
    """[] when the fingerprint `old` records the config `new`, else the first difference."""
    if hashes.text(canonical(new)) == old.get("config_sha256"):
        return []
    return [first_difference(old.get("config"), json.loads(canonical(new))) or "config changed"]


def _in_repo(rel: str, repo: str) -> str:
    return rel if os.path.isabs(rel) else os.path.join(repo, rel)


def _changed(recorded, now_of: Callable[[str], Optional[object]]) -> List[str]:
    """One reason naming the files whose hash differs now (None now: removed)."""
    return _named([(rel, "removed" if now is None else "changed")
                   for rel, then in recorded for now in [now_of(rel)] if now != then])


def _named(changes: Sequence[Tuple[str, str]]) -> List[str]:
    """[] or one reason: "a.py changed, b.py removed", at most three files named."""
    words = [f"{rel} {how}" for rel, how in changes[:3]]
    if len(changes) > 3:
        words.append(f"{len(changes) - 3} more files changed or removed")
    return [", ".join(words)] if words else []


def _data(data: Mapping[str, dict], root: Optional[str], hashes: Hashes):
    """(stale reasons, notes) for the recorded data files."""
    changed, unchecked = [], 0
    why = (f"no data root (set {DATA_DIR_VAR})" if not root else
           f"no folder {root}" if not os.path.isdir(root) else "files outside the data root gone")
    root = root if root and os.path.isdir(root) else None
    for key, entry in sorted(data.items()):
        path = key if os.path.isabs(key) else (os.path.join(root, key) if root else None)
        now = hashes.file(path, entry.get("size")) if path and os.path.exists(path) else None
        if now is None and (path is None or os.path.isabs(key)):
            unchecked += 1  # no data root here, or an outside file of another machine
        elif now != (entry.get("size"), entry.get("sha256")):
            changed.append((key, "removed" if now is None else "changed"))
    if not unchecked:
        return _named(changed), []
    return _named(changed), [f"data not checked: {unchecked} of {len(data)} files, {why}"]


def status_lines(results: Sequence[Tuple[str, str, str]]) -> Tuple[List[str], int]:
    """One line per result (name, state, reason) and a summary; exit code 1 if any is stale."""
    width = max((len(name) for name, _, _ in results), default=0)
    lines = [f"{name:<{width}}  {state:<7}  {reason}".rstrip() for name, state, reason in results]
    n_stale = sum(state == STALE for _, state, _ in results)
    lines.append(f"{n_stale} of {len(results)} results stale" if n_stale
                 else f"all {len(results)} results current")
    return lines, int(n_stale > 0)
