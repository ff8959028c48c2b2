"""The converters the core provides, registered through the hook any plugin uses.

Neither names a task: each writes the fields a column mapping asks for.
"""

from ..registry.hookspecs import hookimpl


@hookimpl
def register_converters(register):
    from .columns import COLUMNS
    from .hf import HF

    register(COLUMNS)
    register(HF)
