"""Converters from the formats people have into each task's JSONL records.

The core owns what names no task: the ``Converter`` description, the registry the
``register_converters`` hook fills, the atomic writer, and the generic ``columns``
and ``hf`` converters. Task plugins contribute the converters of their own formats
(CoNLL, SQuAD, parallel text, DocBin). Importing this package imports neither
spaCy nor torch. docs/convert.md describes the converters and how to write one.
"""

from ..errors import ConvertError, DataError
from .converter import Converter, Option, Report
from .lines import open_binary, parse_encoding, read_lines, where
from .problems import empty_input, undecodable, unparsable
from .run import ConvertResult, convert, get_converter, iter_records
from .writer import write_jsonl

__all__ = [
    "ConvertError",
    "ConvertResult",
    "Converter",
    "DataError",
    "Option",
    "Report",
    "convert",
    "empty_input",
    "get_converter",
    "iter_records",
    "open_binary",
    "parse_encoding",
    "read_lines",
    "undecodable",
    "unparsable",
    "where",
    "write_jsonl",
]
