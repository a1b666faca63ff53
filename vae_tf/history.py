"""history.jsonl, read back on resume with its damaged or missing records rebuilt.

The engine writes one record per epoch (`{"epoch": 3, "seconds": 1.2, "train/loss": ...}`)
and the same `<group>/<term>` values as TensorBoard scalars at step = epoch. On resume the
records up to the restored checkpoint's epoch are read back. A line that is not such a
record (bytes that are not UTF-8, a bare `5`, `{"epoch": "x"}`) is dropped, and every epoch
left without a record is rebuilt from the run's event files (without its `seconds`, which
TensorBoard does not hold). One warning says what was dropped, rebuilt or lost, and the
repaired file replaces the damaged one: a damaged history never stops a folder resuming.
"""

import json
import os
from typing import Dict, Iterable, List, Optional, Tuple

from absl import logging

NAME = "history.jsonl"
Record = Dict[str, float]


def read(folder: str, up_to_epoch: int) -> List[Record]:
    """The records of `folder`'s history.jsonl for epochs 1 .. `up_to_epoch`, in order."""
    if up_to_epoch <= 0:
        return []
    path = os.path.join(folder, NAME)
    records, damaged = parse(path) if os.path.exists(path) else ({}, [])
    missing = [e for e in range(1, up_to_epoch + 1) if e not in records]
    rebuilt = from_events(folder, missing) if missing else {}
    records.update(rebuilt)
    history = [records[e] for e in sorted(records) if e <= up_to_epoch]
    if damaged or missing:
        lost = [e for e in missing if e not in rebuilt]
        logging.warning("%s", _repair_line(path, damaged, missing, sorted(rebuilt), lost))
        write(folder, history)
    return history


def parse(path: str) -> Tuple[Dict[int, Record], List[int]]:
    """The records of `path` by epoch, and the numbers (from 1) of its damaged lines."""
    with open(path, "rb") as f:  # bytes: a line that is not UTF-8 is one damaged line
        lines = f.read().split(b"\n")
    records: Dict[int, Record] = {}
    damaged = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = _record(line)
        if record is None:
            damaged.append(number)
        else:
            records[record["epoch"]] = record
    return records, damaged


def _record(line: bytes) -> Optional[Record]:
    """The epoch's record a line holds: a JSON object of numbers with an epoch from 1; else None."""
    try:
        record = json.loads(line.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is one
        return None
    if not isinstance(record, dict) or not all(_number(v) for v in record.values()):
        return None
    epoch = record.get("epoch")
    return record if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 1 \
        else None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def from_events(folder: str, epochs: Iterable[int]) -> Dict[int, Record]:
    """The records of `epochs` that the TensorBoard scalars in `folder`'s event files hold.

    Of a tag written twice for one epoch (a killed run's epoch, trained again after the
    resume), the newest value counts. `steps/*` are per optimizer step, not per epoch.
    """
    import tensorflow as tf
    wanted, found = set(epochs), {}  # epoch -> tag -> (wall time, value)
    names = sorted(n for n in os.listdir(folder) if n.startswith("events.out.tfevents."))
    for name in names:
        try:
            for raw in tf.data.TFRecordDataset(os.path.join(folder, name)):
                event = tf.compat.v1.Event.FromString(raw.numpy())
                if event.step not in wanted:
                    continue
                for value in event.summary.value:
                    if "/" not in value.tag or value.tag.startswith("steps/") \
                            or not value.HasField("tensor"):
                        continue
                    array = tf.make_ndarray(value.tensor)
                    if array.shape != () or array.dtype.kind != "f":  # not a scalar
                        continue
                    tags = found.setdefault(int(event.step), {})
                    if value.tag not in tags or tags[value.tag][0] <= event.wall_time:
                        tags[value.tag] = (event.wall_time, float(array))
        except tf.errors.OpError:  # a file cut short by a kill: what was read counts
            continue
    return {e: {"epoch": e, **{tag: v for tag, (_, v) in sorted(tags.items())}}
            for e, tags in found.items()}


def write(folder: str, history: List[Record]) -> None:
    """Replace history.jsonl atomically: a reader never sees a half-written file."""
    path = os.path.join(folder, NAME)
    with open(path + ".tmp", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in history)
    os.replace(path + ".tmp", path)


def _repair_line(path: str, damaged: List[int], missing: List[int], rebuilt: List[int],
                 lost: List[int]) -> str:
    """One line: what was wrong with the history and what was done about it."""
    said = [f"{_plural('line', damaged)} {_spans(damaged)} "
            f"{'is' if len(damaged) == 1 else 'are'} not an epoch's record (dropped)"
            if damaged else f"no record of {_plural('epoch', missing)} {_spans(missing)}"]
    if rebuilt:
        said.append(f"rebuilt {_plural('epoch', rebuilt)} {_spans(rebuilt)} from the "
                    "TensorBoard events")
    if lost:
        said.append(f"{_plural('epoch', lost)} {_spans(lost)} lost (not in the TensorBoard "
                    "events either)")
    return f"{path}: {'; '.join(said)}"


def _plural(word: str, items: List[int]) -> str:
    return word if len(items) == 1 else word + "s"


def _spans(numbers: List[int]) -> str:
    """[1, 2, 3, 5] -> "1-3, 5"."""
    spans: List[List[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
