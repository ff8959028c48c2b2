"""The training recipe every generated config starts from, in one place.

`nlp-tasks init config`, `make_config`, the project's `all` and `real` workflows and
`add-task` take these defaults; a run changes them with options or config overrides,
never by editing a second copy. The figures behind each value are in bench/RESULTS.md.
"""

#: The heads' peak learning rate. Heads mostly start from scratch and learn faster
#: than the pretrained backbone: sentiment alone gains at 1e-3 over 1e-4, and the joint
#: sentiment + NER run at 1e-3 beats the uniform 1e-4 by 0.85 CoNLL F1 ("A head
#: learning rate above the backbone's").
LEARN_RATE = 1e-3
#: The backbone's rate as a fraction of the heads': 1e-4 at the default rate, the
#: rate the joint runs above trained the backbone at.
BACKBONE_LEARN_RATE_SCALE = 0.1
#: The part of the run the rate warms up over, before it falls linearly to 0 at the
#: last step. A fraction, so the schedule follows `max_steps` when it is overridden.
WARMUP_FRACTION = 0.1
#: Multi-task sampling temperature: task weights n ** (1 / T), so a small task is not
#: drowned by a big one (on SST-2 + CoNLL, 1.0 gave sentiment 80% of each batch and
#: cost NER 1.5 F1).
TEMPERATURE = 5.0
#: Training steps when none are given.
MAX_STEPS = 2000
