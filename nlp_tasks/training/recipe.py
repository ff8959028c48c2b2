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
#: The batcher of a generated config: spaCy's batch_by_padded, which sorts a buffer
#: of records by length so that little of each batch is padding. In a mix of tasks
#: this gives each task steps of its own, which most heads train best on: in the
#: six-task run, against MIXING_BATCHER at step 1,500, QA F1 +17.0, ROUGE-1 +3.5,
#: SST-2 +2.5, STS-B +0.35 and CoNLL -2.3 ("The batcher of a multi-task config").
BATCHER = {
    "@batchers": "spacy.batch_by_padded.v1",
    "size": 2000,
    "buffer": 256,
    "discard_oversize": False,
    "get_length": None,
}
#: Not a default: the batcher to train a head that writes text (a GenerativeHead) in
#: one run with other heads, set in [training.batcher]. spaCy's batch_by_words keeps
#: the sampler's draw order, so each step holds most tasks. Under BATCHER such a
#: decoder, beside heads of long documents, had its short records in a fifth of the
#: steps and never learned to speak (BLEU 0.02 at step 1,500 of the six-task run;
#: 14.45 under this one), but the other heads paid (above), and it trains 13% fewer
#: tokens a second. Training the decoder after, with `add-task`, beat both (BLEU
#: 26.40). Nothing is discarded: an oversized record makes a batch of its own.
MIXING_BATCHER = {
    "@batchers": "spacy.batch_by_words.v1",
    "size": 1500,
    "tolerance": 0.2,
    "discard_oversize": False,
    "get_length": None,
}
