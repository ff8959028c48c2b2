"""Warnings about one document's output, kept on the Doc and written into its record.

A head that could not do everything for one document (it read only the start of a
long source, say) records that on the doc with ``warn_doc``. ``predict``,
``process`` and ``serve`` write a doc's warnings into its output record under
``"warnings"``, so whoever reads the record learns that this output is partial;
a Python warning, shown once per run, cannot say which records it meant.

The warnings live in ``doc.user_data``, so they survive ``Doc.to_bytes`` and a
``DocBin(store_user_data=True)``, and pass to the parent process with the doc's
output.
"""

from typing import TYPE_CHECKING, Any

from .errors import ArgumentError, Errors

if TYPE_CHECKING:
    from spacy.tokens import Doc

#: The ``doc.user_data`` key of a doc's warnings.
USER_DATA_KEY = "nlp_tasks.warnings"
#: The output record's field that holds them.
WARNINGS_FIELD = "warnings"


def _check_arguments(function: str, doc: Any, **texts: Any) -> None:
    # A warning goes into a JSON output record: anything but text fails a whole run later.
    from spacy.tokens import Doc

    checks = [("doc", doc, isinstance(doc, Doc), "a Doc")]
    checks += [
        (name, value, isinstance(value, str) and bool(value), "a non-empty str")
        for name, value in texts.items()
    ]
    for argument, value, ok, rule in checks:
        if not ok:
            kind = f"{type(value).__name__} {value!r}"[:80]
            raise ArgumentError(
                Errors.E152.format(function=function, argument=argument, rule=rule, kind=kind)
            )


def warn_doc(doc: "Doc", *, component: str, code: str, message: str) -> None:
    """Record a warning about one doc's output, once per component and code.

    A head that runs again on the same doc (a second call with other decoding
    settings) replaces its earlier warning of that code rather than adding one.

    doc (Doc): The doc whose output the warning is about.
    component (str): The component (head) that warns.
    code (str): The warning's code, e.g. ``"W013"``; a plugin uses codes of its own.
    message (str): What is wrong with this doc's output and what to change.
        Raises ``ArgumentError`` (E152) for an argument of another type, or empty.
    """
    _check_arguments("warn_doc", doc, component=component, code=code, message=message)
    kept = [
        warning
        for warning in doc.user_data.get(USER_DATA_KEY, [])
        if (warning["component"], warning["code"]) != (component, code)
    ]
    kept.append({"component": component, "code": code, "message": message})
    doc.user_data[USER_DATA_KEY] = kept


def clear_doc_warnings(doc: "Doc", *, component: str, code: str | None = None) -> None:
    """Remove a component's warnings from a doc (of one code, or all of them).

    A head that runs again on a doc, and this time has nothing to warn about
    (a larger limit per call, say), clears what its earlier run recorded.

    doc (Doc): The doc.
    component (str): The component whose warnings go.
    code (str | None): Only this code; None for all of the component's.
    """
    codes = {} if code is None else {"code": code}
    _check_arguments("clear_doc_warnings", doc, component=component, **codes)
    if USER_DATA_KEY not in doc.user_data:
        return
    kept = [
        warning
        for warning in doc.user_data[USER_DATA_KEY]
        if warning["component"] != component or (code is not None and warning["code"] != code)
    ]
    if kept:
        doc.user_data[USER_DATA_KEY] = kept
    else:
        del doc.user_data[USER_DATA_KEY]


def doc_warnings(doc: "Doc") -> list[dict[str, str]]:
    """The warnings recorded on a doc, in the order they were made.

    doc (Doc): A processed doc.
    RETURNS (list[dict[str, str]]): ``{"component", "code", "message"}`` each; empty
        when no head warned.
    """
    _check_arguments("doc_warnings", doc)
    return [dict(warning) for warning in doc.user_data.get(USER_DATA_KEY, [])]
