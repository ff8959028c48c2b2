"""The settings of a batch run, their defaults and their checks.

``ProcessOptions`` says how to run a pipeline over records (both engines read
it); ``JobOptions`` how a file run keeps its output and checkpoint. The
``DEFAULT_*`` constants are the one source of the defaults: the dataclasses,
``process_records``, ``process_file`` and the ``nlp-tasks process`` options all
use them. Light on purpose: the command line imports this module to build its
options, before anything loads spaCy.
"""

from dataclasses import dataclass, field
from typing import Any

from ..errors import Errors, OptionError
from .inputs import RecordFields

#: Most words (whitespace-separated) in one batch, unless told otherwise: bounds the
#: activations held at once whatever the documents' lengths.
DEFAULT_BATCH_WORDS = 16_384
DEFAULT_BATCH_SIZE = 64
DEFAULT_N_PROCESS = 1
#: -1: the CPU.
DEFAULT_GPU_ID = -1
#: 0: the CPU cores shared out among the processes.
DEFAULT_THREADS = 0
ENGINES = ("local", "ray")
DEFAULT_ENGINE = "local"
DEFAULT_CHECKPOINT_SECONDS = 10.0
DEFAULT_PARQUET_PART_ROWS = 10_000
#: The fields read, and the longest text accepted, unless told otherwise.
DEFAULT_FIELDS = RecordFields()


@dataclass
class ProcessOptions:
    """How to run a pipeline over records; see ``process_records`` for each setting."""

    batch_size: int = DEFAULT_BATCH_SIZE
    batch_words: int = DEFAULT_BATCH_WORDS
    n_process: int = DEFAULT_N_PROCESS
    gpu_id: int = DEFAULT_GPU_ID
    threads: int = DEFAULT_THREADS
    include_text: bool = False
    return_docs: bool = False
    keep_trf_data: bool = False
    engine: str = DEFAULT_ENGINE
    ray_address: str | None = None
    ray_init: dict[str, Any] = field(default_factory=dict)
    precision: str | None = None

    def check(self) -> None:
        """Raise an ``OptionError`` (a ValueError) for a setting out of range."""
        rules = [
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("batch_words", self.batch_words >= 0, "0 (no limit) or more"),
            ("n_process", self.n_process >= 1, "at least 1"),
            ("threads", self.threads >= 0, "0 (automatic) or more"),
            ("engine", self.engine in ENGINES, f"one of {', '.join(ENGINES)}"),
        ]
        for name, ok, rule in rules:
            if not ok:
                raise OptionError(
                    Errors.E065.format(name=name, rule=rule, value=getattr(self, name))
                )
        if self.precision is not None:
            from ..precision import check_precision

            check_precision(self.precision)
        if self.return_docs and (self.n_process > 1 or self.engine != "local"):
            raise OptionError(Errors.E066)

    def processor_options(self) -> dict[str, Any]:
        """The settings a ``RecordProcessor`` takes.

        RETURNS (dict[str, Any]): Keyword arguments.
        """
        return {
            "include_text": self.include_text,
            "return_docs": self.return_docs,
            "keep_trf_data": self.keep_trf_data,
            "precision": self.precision,
        }


@dataclass
class JobOptions:
    """How a file run keeps its output; see ``process_file`` for each setting.

    overwrite (bool): Start again, replacing an earlier output, errors file and checkpoint.
    checkpoint_seconds (float): Seconds between checkpoints (0: after every batch).
    parquet_part_rows (int): Rows per part of a Parquet output (at least).
    progress (bool | None): Show a progress bar; None: only on a terminal.
    """

    overwrite: bool = False
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS
    parquet_part_rows: int = DEFAULT_PARQUET_PART_ROWS
    progress: bool | None = None
