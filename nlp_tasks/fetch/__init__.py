"""Getting public corpora: downloading their files, and holding out a dev split.

``fetch`` downloads one file, resumably and verified against the checksums its
source publishes; ``hold_out`` carves a dev split out of a converted file when the
source publishes no dev file. The converters (``nlp_tasks.convert``) sit between
the two. Importing this package imports neither spaCy nor torch. docs/data.md
describes how the project's ``real`` workflow uses them.
"""

from .download import FetchResult, expected_digests, fetch, file_digests, partial_path, record_path
from .holdout import HoldoutResult, hold_out

__all__ = [
    "FetchResult",
    "HoldoutResult",
    "expected_digests",
    "fetch",
    "file_digests",
    "hold_out",
    "partial_path",
    "record_path",
]
