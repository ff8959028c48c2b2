"""Replacing one method of one object (a component, a pipeline) so that it still pickles."""

from typing import Any, TypeVar

W = TypeVar("W", bound="MethodWrapper")


class MethodWrapper:
    """The base of a per-instance replacement for one method of an object.

    A class rather than a closure, so the object still pickles (``nlp.pipe``
    with ``n_process`` > 1 under the spawn start method). It calls the class's
    method, not a bound method kept here: that would unpickle as the wrapper
    itself. A subclass defines ``__call__`` around ``call_original``.

    owner (Any): The object whose method is replaced.
    method (str): The method's name.
    """

    def __init__(self, owner: Any, method: str) -> None:
        self.owner = owner
        self.method = method

    def call_original(self, *args: Any, **kwargs: Any) -> Any:
        """Call the method as the owner's class defines it.

        *args: Passed on.
        **kwargs: Passed on.
        RETURNS (Any): What the method returns.
        """
        return getattr(type(self.owner), self.method)(self.owner, *args, **kwargs)


def wrap_method(owner: Any, method: str, wrapper: type[W]) -> W | None:
    """Replace ``owner.method`` by ``wrapper(owner, method)``, once.

    owner (Any): The object.
    method (str): The method's name; an object without it is left alone.
    wrapper (type[MethodWrapper]): The replacement's class.
    RETURNS (MethodWrapper | None): The wrapper in place (the one already there
        if the method was wrapped before); None if the object has no such method.
    """
    current = owner.__dict__.get(method)
    if isinstance(current, wrapper):
        return current
    if not hasattr(owner, method):
        return None
    replacement = wrapper(owner, method)
    setattr(owner, method, replacement)
    return replacement
