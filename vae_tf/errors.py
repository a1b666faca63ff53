"""The one exception type a user can act on.

Every error caused by bad input (flags, files, arrays) is raised as `UserError`
with a single line that names the input, the problem and the fix. The launcher
prints that line and exits non-zero; it never shows a traceback for them.
"""


class UserError(ValueError):
    """Bad input: the message is one line naming the input, the problem and the fix."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""
