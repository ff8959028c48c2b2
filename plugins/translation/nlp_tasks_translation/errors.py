"""Coded messages of the translation plugin.

The codes carry the plugin's own prefix (``TR``), so they never clash with the
core's ``E``/``W`` codes or another plugin's. Access a message through the class
(``Errors.TR001``) to get it with its ``[TR001]`` prefix, then ``.format()`` it.
"""

from nlp_tasks import CodedMessages


class Errors(metaclass=CodedMessages):
    # Converters (nlp-tasks convert parallel)
    TR001 = (
        "The parallel files are not aligned: {source} has {source_lines} lines but {target} "
        "has {target_lines} (blank lines at the end not counted). Line N of one must be the "
        "translation of line N of the other; find the line missing (or extra) in one of them."
    )
    TR002 = (
        "{where}: the line is empty, so its pair ({other}) has nothing to translate from or "
        "to. Fill it in, remove line {line} from both files, or pass --skip-empty to leave "
        "such pairs out."
    )
