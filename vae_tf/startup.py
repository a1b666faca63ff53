"""Starting TensorFlow quietly for the launcher and the experiment scripts.

TensorFlow's native libraries each print the same start-up lines (so they come twice),
and on a machine without a GPU its CUDA probe logs an error (`failed call to cuInit`).
`import_tensorflow()` captures the process's stderr while TensorFlow loads and probes its
devices, drops those known lines, and passes anything else on unchanged. TensorFlow's
Python side logs through absl as well (a line per checkpoint saved): from then on only
its warnings and errors reach the console.
"""

import logging
import os
import re
import sys
import tempfile

CHATTER = re.compile("|".join([
    r"All log messages before absl::InitializeLog\(\) is called",
    r"oneDNN custom operations are on",
    r"Could not find cuda drivers on your machine",
    r"failed call to cuInit",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .* rebuild TensorFlow",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
    r"TF-TRT Warning",
    r"cudart_stub\.cc",
]))


def import_tensorflow():
    """`import tensorflow` and probe the devices with the start-up chatter dropped."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf
            tf.config.list_physical_devices()  # the CUDA probe happens here
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        kept = [line for line in capture.read().decode(errors="replace").splitlines()
                if line.strip() and not CHATTER.search(line)]
    if kept:
        print("\n".join(kept), file=sys.stderr)
    tf.get_logger().setLevel("WARNING")
    logging.getLogger("absl").addFilter(_no_tensorflow_info)  # once: the same filter object
    return tf


def _no_tensorflow_info(record: logging.LogRecord) -> bool:
    """Drop TensorFlow's own INFO lines logged through absl; keep everything else."""
    return record.levelno >= logging.WARNING or "tensorflow" not in record.pathname
