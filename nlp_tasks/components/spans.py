"""The backbone's span getter: strided windows that never cross a segment boundary."""

from collections.abc import Callable, Iterable

from spacy.tokens import Doc, Span

from ..task_inputs import SEGMENTS_KEY


def configure_segmented_spans(
    window: int, stride: int
) -> Callable[[Iterable[Doc]], list[list[Span]]]:
    """Strided windows of ``window`` tokens every ``stride`` tokens, within each segment.

    A plain doc gets exactly the windows of spacy-transformers'
    ``strided_spans.v1``. A doc of several segments (a sentence pair) gets the
    windows of each segment on its own, so the backbone encodes each side
    alone, as a sentence encoder does, and the blank line between them is in
    no window.

    window (int): Span length, in spaCy tokens.
    stride (int): Step between spans; less than ``window`` makes them overlap.
    RETURNS (Callable): The span getter. Registered through the
        ``spacy_span_getters`` entry point, so a config names it without ``--code``.
    """
    return SegmentedSpans(window, stride)


class SegmentedSpans:
    """The span getter made by ``nlp_tasks.segmented_spans.v1``.

    A class rather than a closure so the backbone pickles.

    window (int): Span length, in spaCy tokens.
    stride (int): Step between spans.
    """

    def __init__(self, window: int, stride: int) -> None:
        self.window = window
        self.stride = stride

    def __call__(self, docs: Iterable[Doc]) -> list[list[Span]]:
        """The windows of each doc.

        docs (Iterable[Doc]): The docs.
        RETURNS (list[list[Span]]): Each doc's windows, in order.
        """
        result = []
        for doc in docs:
            if SEGMENTS_KEY in doc.spans and len(doc.spans[SEGMENTS_KEY]):
                ranges = [(span.start, span.end) for span in doc.spans[SEGMENTS_KEY]]
            else:
                ranges = [(0, len(doc))]
            result.append(
                [window for start, end in ranges for window in self._windows(doc, start, end)]
            )
        return result

    def _windows(self, doc: Doc, start: int, end: int) -> list[Span]:
        # spacy-transformers' strided windows, over the tokens start..end.
        windows = []
        length = end - start
        offset = 0
        for _ in range(length // self.stride):
            windows.append(doc[start + offset : min(start + offset + self.window, end)])
            if offset + self.window >= length:
                break
            offset += self.stride
        else:
            if offset < length:
                windows.append(doc[start + offset : end])
        return windows
