"""The two kinds of failure a command reports without a traceback.

`UserError`: the user must change something (a flag, a path, an input) before any work is done;
the CLI prints `hqclip CMD: message` and exits 2. The message is one line that names the file,
sample or flag and says what to do.

`Interrupted`: something outside the user's command went away mid-run (an endpoint, a cluster);
finished units are kept and the same command resumes; the CLI prints the message with that hint
and exits 1.

Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A user mistake found before any work: one line, exit 2."""


class ConfigMismatch(UserError):
    """An output folder was made under another configuration; resuming would mix the two."""


class Interrupted(Exception):
    """A resumable failure: finished units are kept, rerunning the same command continues."""


def first_line(e: BaseException) -> str:
    """An exception's message cut to its first line (its type where it has none), for a one-line
    `UserError` that says what a library refused."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
