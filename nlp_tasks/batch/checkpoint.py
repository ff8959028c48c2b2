"""What a file run's checkpoint records, and the checks a rerun passes to resume it.

The checkpoint holds the job (what the output's records depend on: the input,
the fields, the pipeline and a digest of it), the settings that change the
output's bytes, and how far the run got. A rerun that changes the job or those
settings is refused rather than mixing two kinds of output.
"""

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Errors, OutputError
from .fingerprint import PipelineFingerprint
from .inputs import RecordFields
from .options import ProcessOptions

if TYPE_CHECKING:
    from spacy.language import Language

#: 2: the pipeline's digest and the settings that change bytes are recorded.
CHECKPOINT_VERSION = 2


def job_identity(
    pipeline: "Language | str | Path",
    input_path: Path,
    fmt: str,
    fields: RecordFields,
    include_text: bool,
    out_fmt: str,
    fingerprint: PipelineFingerprint,
) -> dict[str, Any]:
    """What the output's records depend on: a rerun that changes any of it is another job.

    The settings that only change the last digits are ``output_settings``.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or package name.
    input_path (Path): The input file.
    fmt (str): The input's format.
    fields (RecordFields): The fields read, and the longest text.
    include_text (bool): Whether texts are copied to the output.
    out_fmt (str): The output's format.
    fingerprint (PipelineFingerprint): The pipeline's digest.
    RETURNS (dict[str, Any]): The job, as the checkpoint records it.
    """
    from spacy.language import Language

    if isinstance(pipeline, Language):
        name = f"{pipeline.meta.get('lang')}_{pipeline.meta.get('name')}"
        pipeline_id = f"{name}-{pipeline.meta.get('version')}"
    elif Path(pipeline).exists():
        pipeline_id = str(Path(pipeline).resolve())
    else:
        pipeline_id = str(pipeline)
    stat = input_path.stat()
    return {
        "pipeline": pipeline_id,
        "pipeline digest": fingerprint.digest,
        "input": str(input_path.resolve()),
        "input size": stat.st_size,
        "input modified": stat.st_mtime_ns,
        "input format": fmt,
        **fields.describe(),
        "include text": include_text,
        "output format": out_fmt,
    }


def output_settings(options: ProcessOptions) -> dict[str, Any]:
    """The settings that change the output's bytes, as the checkpoint records them.

    options (ProcessOptions): How the run processes records.
    RETURNS (dict[str, Any]): Batch size, batch words and device.
    """
    # Batches are padded to their longest document, so another batching changes
    # the floats' last digits, and a GPU rounds otherwise than a CPU. Processes,
    # threads and the engine gave the same bytes (measured, CPU), so they may
    # change between runs, to resume with less memory, say.
    return {
        "batch size": options.batch_size,
        "batch words": options.batch_words,
        "device": "gpu" if options.gpu_id >= 0 else "cpu",
    }


#: How each setting of output_settings is given on the command line, for the message.
_SETTING_OPTIONS = {
    "batch size": "--batch-size",
    "batch words": "--batch-words",
    "device": "--gpu-id",
}


def new_state(
    job: dict[str, Any], fingerprint: PipelineFingerprint, settings: dict[str, Any]
) -> dict[str, Any]:
    """The checkpoint of a job that has not started.

    job (dict[str, Any]): From ``job_identity``.
    fingerprint (PipelineFingerprint): The pipeline's digest and its parts' digests.
    settings (dict[str, Any]): From ``output_settings``.
    RETURNS (dict[str, Any]): The state, nothing done.
    """
    return {
        "version": CHECKPOINT_VERSION,
        "job": job,
        "settings": settings,
        "pipeline parts": fingerprint.parts,
        "done": 0,
        "output": {},
        "errors_bytes": 0,
        "processed": 0,
        "failed": 0,
        "skipped": 0,
        "warned": 0,
        "complete": False,
    }


#: What a checkpoint of this version holds, and the type of each value.
STATE_TYPES: dict[str, type] = {
    "job": dict,
    "settings": dict,
    "pipeline parts": dict,
    "done": int,
    "output": dict,
    "errors_bytes": int,
    "processed": int,
    "failed": int,
    "skipped": int,
    "complete": bool,
}
#: Kept since a later release: a checkpoint of the same version may lack them.
LATER_STATE_TYPES: dict[str, type] = {"warned": int}


def state_problem(state: Any) -> str | None:
    """What makes a checkpoint's content unusable, if anything.

    A checkpoint of another version is left to ``check_job``, which says so.

    state (Any): The parsed checkpoint file.
    RETURNS (str | None): The problem, for E071; None for a usable state.
    """
    if not isinstance(state, dict):
        return f"it holds {type(state).__name__}, not a JSON object"
    if state.get("version") != CHECKPOINT_VERSION:
        return None
    missing = [key for key in STATE_TYPES if key not in state]
    if missing:
        return f"it lacks {', '.join(map(repr, missing))}"
    present = {key: kind for key, kind in LATER_STATE_TYPES.items() if key in state}
    for key, kind in {**STATE_TYPES, **present}.items():
        value = state[key]
        # bool is an int in Python, and no count is a bool.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"its {key!r} is {value!r}"
    return None


def check_job(
    state: dict[str, Any],
    job: dict[str, Any],
    fingerprint: PipelineFingerprint,
    path: Path,
) -> None:
    """Refuse to resume a checkpoint of another job (E070) or another pipeline (E074).

    state (dict[str, Any]): The checkpoint.
    job (dict[str, Any]): This run's job, from ``job_identity``.
    fingerprint (PipelineFingerprint): This run's pipeline digest.
    path (Path): The checkpoint file, for the message.
    """
    if state.get("version") != CHECKPOINT_VERSION:
        raise OutputError(
            Errors.E070.format(
                checkpoint=path,
                what="checkpoint version (an older nlp-tasks wrote it; it cannot be resumed)",
                old=state.get("version"),
                new=CHECKPOINT_VERSION,
            )
        )
    # Both sides' keys: a setting recorded only when given (--precision) must not be
    # dropped silently on a rerun.
    for key in [*job, *(key for key in state["job"] if key not in job)]:
        value = job.get(key)
        if key != "pipeline digest" and state["job"].get(key) != value:
            old = state["job"].get(key)
            if key in _INPUT_STAMPS:
                raise OutputError(
                    Errors.E169.format(
                        input=job.get("input"),
                        checkpoint=path,
                        what=key,
                        old=_INPUT_STAMPS[key](old),
                        new=_INPUT_STAMPS[key](value),
                    )
                )
            raise OutputError(Errors.E070.format(checkpoint=path, what=key, old=old, new=value))
    if state["job"].get("pipeline digest") != fingerprint.digest:
        changes = fingerprint.changes(state.get("pipeline parts") or {})
        raise OutputError(
            Errors.E074.format(pipeline=job["pipeline"], checkpoint=path, changes=changes)
        )


def _modified(nanoseconds: Any) -> str:
    if not isinstance(nanoseconds, int):
        return repr(nanoseconds)
    moment = datetime.fromtimestamp(nanoseconds / 1e9, tz=timezone.utc)
    return moment.isoformat(sep=" ", timespec="microseconds")


def _size(size: Any) -> str:
    return f"{size:,} bytes" if isinstance(size, int) else repr(size)


#: The job's keys that stamp its input, and how a message shows each.
_INPUT_STAMPS = {"input size": _size, "input modified": _modified}


def check_settings(state: dict[str, Any], settings: dict[str, Any], path: Path) -> None:
    """Refuse to resume with a setting that changes the output's bytes (E070).

    state (dict[str, Any]): The checkpoint.
    settings (dict[str, Any]): This run's, from ``output_settings``.
    path (Path): The checkpoint file, for the message.
    """
    for key, value in settings.items():
        old = state["settings"].get(key)
        if old != value:
            what = f"{key} ({_SETTING_OPTIONS[key]}, which changes the output's last digits)"
            raise OutputError(Errors.E070.format(checkpoint=path, what=what, old=old, new=value))
