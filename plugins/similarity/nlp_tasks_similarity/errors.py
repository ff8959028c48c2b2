"""Coded messages of the similarity plugin.

The codes carry the plugin's own prefix (``SIM``), so they never clash with the
core's ``E``/``W`` codes or another plugin's. Access a message through the class
(``Errors.SIM001``) to get it with its ``[SIM001]`` prefix, then ``.format()`` it.
"""

from nlp_tasks import CodedMessages


class Errors(metaclass=CodedMessages):
    # Records (the core adds the file and line)
    SIM001 = (
        "the record has no 'score' field, or it is null; a training record needs its gold "
        "similarity, a number from {low} to {high}, e.g. "
        '{{"text_a": "A cat sits.", "text_b": "A cat is sitting.", "score": 4.6}}.'
    )
    SIM002 = "field 'score' must be a number from {low} to {high}, got {type}: {value}."
    SIM003 = "field 'score' must be a finite number from {low} to {high}, got {value}."
    SIM004 = (
        "field 'score' is {value}, outside the declared score range [{low}, {high}]. Fix "
        "the score, or declare the range your data uses: [components.{component}] "
        "score_range = [LOW, HIGH]."
    )
    # Settings
    SIM010 = (
        "Component '{component}': mode must be one of {modes}, got {value!r}. Use "
        '"trained" to fine-tune the backbone on scored pairs, or "zero-shot" to score '
        "with the backbone as it is."
    )
    SIM011 = (
        "Component '{component}': score_range must be two finite numbers [LOW, HIGH] with "
        "LOW < HIGH (the scale of the records' gold scores, e.g. [0, 5] for STS-B), got "
        "{value!r}."
    )
    SIM012 = (
        "The model of component '{component}' is not a similarity architecture (it has no "
        "attrs['similarity_segments']). Use nlp_tasks_similarity.CosineSimilarity.v2."
    )
    SIM013 = (
        "Component '{component}': loss_weight must be a finite number > 0, got {value!r}. "
        "It scales the head's loss against the other heads' in a multi-task run."
    )
    SIM014 = (
        "The similarity projection cannot be sized: its listener has no width (dim 'nO'). "
        "The listener gets it from the transformer component, which must come before the "
        "similarity component in the pipeline and be initialized first."
    )
    # The similarity() helper
    SIM020 = (
        "pair {index}: expected a (text_a, text_b) tuple or a mapping with 'text_a' and "
        "'text_b', got {kind}."
    )
    SIM021 = "pair {index}: {problem}"
    SIM022 = (
        "The pipeline has no enabled component made by factory 'nlp_tasks_similarity' "
        "(its components: {components}). Load a pipeline with a similarity head, or build "
        "one: nlp-tasks init config config.cfg --tasks similarity, then "
        "python -m spacy assemble config.cfg OUTPUT (zero-shot) or python -m spacy train."
    )
    SIM023 = (
        "pair {index} got no score from component '{component}'. Is the component "
        "disabled, or the pipeline not made by nlp-tasks (nlp_tasks.load, a generated "
        "config)?"
    )
