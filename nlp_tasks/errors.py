"""Every exception nlp-tasks raises on purpose, and every coded message.

Each exception class derives from ``NlpTasksError`` and from the builtin error a
caller would expect (``ValueError`` for bad values, ``OSError`` for files), so
``except NlpTasksError`` catches every problem nlp-tasks reports and
``except ValueError`` keeps working. Every message says what went wrong, shows
the values involved and names the next step. Codes are stable, so a user can
search for them and a test can match them; a new code takes the next free number and
sits in its subsystem's section. Access a message through
the class (``Errors.E001``) to get it with its ``[E001]`` prefix, then
``.format()`` the named fields.
"""

import os
import stat
from pathlib import Path
from typing import Any


class NlpTasksError(Exception):
    """The base of every error nlp-tasks raises on purpose; its message is coded."""


# -- plugins and tasks


class PluginError(NlpTasksError, RuntimeError):
    """A plugin problem: a conflict, an unsupported API version, a missing task."""


class RecordError(NlpTasksError, ValueError):
    """Raised by ``Task.make_example`` for a record it cannot use.

    The message says what is wrong with the record; the core adds the file and
    line it came from.
    """


class FieldError(RecordError):
    """A record field that does not fit its task's declared input.

    Carries the error's code and values, so the caller can name the file and
    line the record came from (``located``).

    code (str): The error code, e.g. "E050".
    **values: The message's fields other than ``path`` and ``line``.
    """

    def __init__(self, code: str, **values: Any) -> None:
        self.code = code
        self.values = values
        super().__init__(self.located("<record>", "?"))

    def located(self, path: str, line: Any) -> str:
        """The coded message, naming where the record came from.

        path (str): The file (or what stands for it, e.g. "<texts>").
        line (Any): The record's line, row or index.
        RETURNS (str): The message.
        """
        return getattr(Errors, self.code).format(path=path, line=line, **self.values)

    @property
    def problem(self) -> str:
        """What is wrong, without the code and the place: for callers that say where
        themselves (``predict`` names the item).

        RETURNS (str): The message after its ``{path}, line {line}:`` opening.
        """
        mark = "\x00"
        return self.located(mark, mark).split(f"{mark}, line {mark}: ", 1)[-1]


class ConfigError(NlpTasksError, ValueError):
    """A component or architecture setting that cannot be used (a config value)."""


class ScaffoldError(NlpTasksError, ValueError):
    """A plugin name or output directory that cannot be used."""


# -- pipelines: backbones, heads, text generation


class BackboneError(NlpTasksError, OSError):
    """A backbone name that resolves to nothing loadable."""


class GenerationSettingsError(NlpTasksError, ValueError):
    """A ``generation`` setting that Hugging Face's ``GenerationConfig`` does not have."""


class TargetTokenizerError(NlpTasksError, ValueError):
    """A target tokenizer setting that cannot be used."""


class PipelineNotFoundError(NlpTasksError, OSError):
    """No pipeline directory or installed package of the given name."""


class PipelineLoadError(NlpTasksError, ValueError):
    """A pipeline directory whose config, meta or weights cannot be read."""


class PredictInputError(NlpTasksError, ValueError):
    """An item given to ``predict`` that is no usable text."""


class ArgumentError(NlpTasksError, TypeError):
    """An argument of the Python API of the wrong type (a pipeline, a list of texts)."""


class PrecisionError(NlpTasksError, ValueError):
    """A numeric precision that a pipeline, one of its heads or this machine cannot use."""


# -- training


class DataError(NlpTasksError, ValueError):
    """A data file or record that cannot be used; the message names file and line."""


class PipelineChangedError(NlpTasksError, RuntimeError):
    """Training a new head changed what the pipeline's existing heads output."""


# -- batch processing


class InputError(NlpTasksError, ValueError):
    """An input that cannot be read at all (as opposed to one bad record in it)."""


class OptionError(NlpTasksError, ValueError):
    """A processing setting out of range."""


class ProcessError(NlpTasksError, RuntimeError):
    """A batch run that cannot go on; the message says why and what to do."""


class OutputError(NlpTasksError, OSError):
    """An output that does not fit the run: another job's checkpoint, or a changed file."""


class WriteError(OutputError):
    """A file of the run could not be written (a full disk, say); the run stops there.

    path (Path): The file being written.
    error (OSError): What the system said.
    """

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(Errors.E076.format(path=path, error=error))
        self.path = path
        self.error = error


class LockedError(OutputError):
    """Another run holds the lock of a file this run would write."""


# -- serving


class RequestError(NlpTasksError, ValueError):
    """A request the service refuses: its message is coded, its status an HTTP one.

    message (str): The coded message.
    status (int): The HTTP status to answer with (400, 413, 422, ...).
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# -- converting other formats into task records


class ConvertError(NlpTasksError, ValueError):
    """A converter, one of its options, or an input it cannot use as a whole.

    Bad content inside an input (a line, a record) is a ``DataError`` that names
    the file and line.
    """


# -- fetching files


class FetchError(NlpTasksError, OSError):
    """A download that failed: a bad URL, an unreachable or refusing server, a wrong checksum.

    An interrupted download keeps its ``.partial`` file for the next run to resume;
    a download that fails its checksum keeps nothing.
    """


# -- warnings


class PluginWarning(UserWarning):
    """A plugin was skipped; the others still work."""


# -- coded messages


class _UniqueCodes(dict):
    """A class body in which a code cannot be given twice (the second would hide the first)."""

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self and not key.startswith("_"):
            raise TypeError(f"message code {key} is defined twice")
        super().__setitem__(key, value)


class CodedMessages(type):
    """Metaclass of a class of coded messages: ``Errors.E001`` reads ``"[E001] ..."``.

    Plugins use it for their own codes (with their own prefix, e.g. ``QA001``),
    so every message of a pipeline carries its searchable code the same way.
    """

    @classmethod
    def __prepare__(mcs, name: str, bases: tuple, **kwargs: Any) -> dict:
        return _UniqueCodes()

    def __getattribute__(cls, code: str) -> str:
        message = super().__getattribute__(code)
        if code.startswith("_"):
            return message
        return f"[{code}] {message}"


class Warnings(metaclass=CodedMessages):
    W001 = (
        "Plugin '{plugin}' ({entry_point}) failed to load and was skipped: {error}. "
        "Its tasks are unavailable; the other plugins work. Run `nlp-tasks plugins` "
        "to see every plugin's status, or set NLP_TASKS_STRICT_PLUGINS=1 to raise instead."
    )
    W002 = (
        "NLP_TASKS_LOAD_PLUGINS names '{name}', but no installed distribution with that "
        "name provides an 'nlp_tasks' entry point. Installed plugins: {available}."
    )
    W003 = (
        "Plugin '{plugin}' failed in hook '{hook}' and was skipped: {error}. "
        "Nothing it provides (tasks, converters, backbones, commands) is available; the "
        "other plugins work."
    )
    W004 = (
        "{count} of {total} training targets of '{component}' are longer than "
        "max_target_tokens={limit} target tokens (the longest takes {longest}) and are cut "
        "to fit. Raise [components.{component}] max_target_tokens (at most the decoder's "
        "max_positions) to train on them whole."
    )
    W005 = (
        "{count} document(s) in a batch have more than max_source_tokens={limit} tokens; "
        "'{component}' attends to the first {limit} of each (the other heads read the whole "
        "document). Raise [components.{component}] max_source_tokens to see more. This "
        "warning is shown once; each such document that the pipeline processes (nlp, "
        "predict, process, serve) also carries W013 in its output record."
    )
    W006 = (
        "{setting}: {problem}. Installed plugins: {available}. The setting takes a "
        "comma-separated list of these distribution names, or '*' for all of them."
    )
    W007 = (
        "Plugin '{plugin}' is not loaded ({setting}), but its distribution declares spaCy "
        "entry points that name its own code ({entry_points}). spaCy imports those itself "
        "(factories whenever it builds a pipeline, other registered functions whenever a "
        "config names them), so that code still runs; nlp_tasks.load refuses the plugin's "
        "components. Uninstall the plugin to keep its code out, or ask its author to "
        "point its spacy_factories entry points at '{gate}' and to register other "
        "functions with spacy.util.registry in its factory module, with no spaCy entry "
        "point (docs/plugins.md, 'Entry points')."
    )
    W008 = (
        "[nlp.after_pipeline_creation.learn_rate_scales] names '{name}', which is not in "
        "the pipeline (left out with exclude=..., or misspelt?); its scale is not used. "
        "The pipeline's trainable components are: {components}."
    )
    W009 = (
        "No dev data for task(s) {tasks} of the pipeline: looked for {looked}. "
        "Their heads are not scored; give --source TASK=PATH for each, or add the file."
    )
    W010 = (
        "Existing component(s) {components} were not compared after adding '{task}': no "
        "doc of their input could be made from the {total} check texts ({reason}). Their "
        "weights were frozen; compare their outputs on records of their own to be sure."
    )
    W011 = (
        "'{component}' was asked for up to {asked} new tokens, but its decoder reads at most "
        "{room} after the BOS (the model's max_positions): outputs end there. Raise "
        "max_positions in the model block and retrain, or ask for fewer tokens."
    )

    W012 = (
        "{component} (task '{task}') overrides GenerativeHead.initialize without its "
        "train_path argument, so the generated config cannot name the task's training "
        "file: its target vocabulary would be learnt from the first 100 examples of the "
        "corpus, of every task. Take train_path=None and pass it on to super().initialize "
        "(docs/plugins.md, 'Heads that write text')."
    )
    W013 = (
        "'{component}' read the first {limit} of this document's {count} tokens "
        "(max_source_tokens), so its output covers only that part. Raise "
        "[components.{component}] max_source_tokens to read more."
    )
    W014 = (
        "{writers} write(s) text and will train in one run with {others}. The generated "
        "batcher sorts records by length, so a decoder's short records come in few steps, "
        "and beside heads of long documents it may never learn to speak (six tasks: BLEU "
        "0.02). Train the other tasks first, then add it with `nlp-tasks add-task "
        "PIPELINE TASK --train ... --dev ... --output ...` (several: `TASK,TASK --data "
        "DIR`; six tasks: BLEU 26.4), or mix "
        "every batch with spacy.batch_by_words.v1 in [training.batcher], which cost QA 17 "
        "F1 there (README, 'Data')."
    )


class Errors(metaclass=CodedMessages):
    # Plugins and tasks
    E001 = (
        "Task '{task}' is provided by two plugins: '{first}' and '{second}'. Uninstall one, "
        "or block one with NLP_TASKS_BLOCK_PLUGINS={second} (or NLP_TASKS_LOAD_PLUGINS)."
    )
    E002 = "No installed plugin provides the task '{task}'. Available tasks: {available}. {hint}"
    E003 = (
        "Plugin '{plugin}' registers task '{task}' for plugin API versions '{supported}', "
        "but this nlp-tasks provides plugin API version {api_version}. Upgrade the plugin, "
        "or install an nlp-tasks release whose API version it supports."
    )
    E004 = "Plugin '{plugin}' registered {value!r} as a task; expected an nlp_tasks.Task."
    E005 = (
        "Pipeline component '{component}' uses the factory '{factory}', which no installed "
        "plugin or package provides (pipeline: {path}). Install the plugin for it; "
        "`nlp-tasks plugins` lists what is installed."
    )
    E006 = (
        "Pipeline component '{component}' (factory '{factory}', pipeline {path}) needs the "
        "plugin '{plugin}', which is {status} by {setting}, so nlp-tasks does not run its "
        "code. {remedy}, or leave the component out: "
        "nlp_tasks.load(..., exclude=['{component}'])."
    )
    E007 = (
        "Pipeline component '{component}' (factory '{factory}', pipeline {path}) needs the "
        "plugin '{plugin}', which failed to load and was quarantined: {error}. Fix or "
        "reinstall the plugin (`nlp-tasks plugins` shows its status, "
        "NLP_TASKS_STRICT_PLUGINS=1 the traceback), or leave the component out: "
        "nlp_tasks.load(..., exclude=['{component}'])."
    )
    E082 = (
        "A task declares inputs that cannot be used: {problem}. Fix the task's "
        "TaskInputs (docs/plugins.md, 'Inputs')."
    )
    # Pipelines: loading and predicting
    E008 = (
        "No pipeline directory or installed pipeline package named '{name}'. Give the "
        "directory that `spacy train` wrote (e.g. training/model-best), or `pip install` "
        "the package that `spacy package` built."
    )
    E145 = "{path} is not a pipeline directory: it has no config.cfg. {hint}"
    E009 = (
        "Pipeline {path}: its {file} cannot be read ({error}). The file is damaged or was "
        "edited by hand; restore the pipeline directory from a good copy, or save the "
        "pipeline again (nlp.to_disk, or retrain)."
    )
    E010 = (
        "Pipeline {path}: {what} of component '{component}' cannot be loaded "
        "({error}). It is damaged or incomplete (an interrupted copy or download?); restore "
        "the pipeline directory from a good copy, or retrain."
    )
    E011 = (
        "predict: item {index} is {kind}, not a text. Give str texts (decode bytes first, "
        "e.g. data.decode('utf-8')) or records with a str 'text' field."
    )
    E152 = "{function}: {argument} must be {rule}, not {kind}."
    E085 = (
        "predict: item {index} is a str, but no task of the pipeline reads a single text: "
        "they read {shapes}. Give records with those fields instead."
    )
    E012 = (
        "predict: the text of item {index} holds a lone surrogate {char} at position "
        "{position}, which is not valid Unicode (text decoded with errors='surrogateescape' "
        "or a broken UTF-16 pair?). Decode the source with errors='replace', or fix the text."
    )
    # Backbones and the heads that listen to them
    E013 = (
        "The backbone '{name}' could not be loaded: it is not a registered backbone alias "
        "({aliases}), not an existing local directory, and Hugging Face could not provide "
        "it ({error}). Give a local model directory, an alias, or a Hub name with network "
        "access. Setting: [components.transformer.model] name."
    )
    E014 = (
        "The backbone path '{name}' looks like a local path but does not exist. Setting: "
        "[components.transformer.model] name (or --backbone)."
    )
    E015 = (
        "The backbone '{name}' is not a Hugging Face model directory: {problem}. A model "
        "directory holds config.json, the weights (model.safetensors or pytorch_model.bin) "
        "and the tokenizer's files (tokenizer.json, or vocab files), as save_pretrained "
        "writes them. Give such a directory, an alias (`nlp-tasks plugins --all` lists "
        "them) or a Hub name. Setting: [components.transformer.model] name (or --backbone)."
    )
    E172 = (
        "The backbone alias '{name}' points to '{path}', which does not exist. The alias "
        "is registered by the plugin '{plugin}' (its register_backbones hook): put the "
        "model there, or give a model directory or Hub name instead. Setting: "
        "[components.transformer.model] name (or --backbone)."
    )
    E173 = (
        "The backbone alias '{name}' is registered by the plugin '{plugin}', which has no "
        "model for it on this machine (its locator returned None), and Hugging Face could "
        "not provide a model of that name ({error}). Install what the plugin needs for "
        "it, or give a model directory or Hub name. Setting: "
        "[components.transformer.model] name (or --backbone)."
    )
    E016 = (
        "Component '{component}' needs the pipeline's shared transformer (a component made "
        "by the 'transformer' factory), but the pipeline has none (components: {components}). "
        "Generate the config with `nlp-tasks init config`, which puts it first."
    )
    # Text generation
    E017 = (
        "The target tokenizer '{source}' is not a fast (Rust) Hugging Face tokenizer. Give a "
        'tokenizer that has a fast version, or target_tokenizer = "train".'
    )
    E018 = (
        "The target tokenizer '{source}' has neither BOS/EOS nor CLS/SEP tokens, so targets "
        'cannot be framed for the decoder. Choose another tokenizer, or "train".'
    )
    E019 = (
        "The target tokenizer '{name}' could not be loaded ({error}). Give a local "
        'tokenizer directory, a Hub name with network access, "backbone" or "train".'
    )
    E020 = (
        "Unknown generation setting '{key}' for '{component}' ({near}). "
        "Settings are those of Hugging Face's GenerationConfig, e.g. num_beams, "
        "max_new_tokens, length_penalty, no_repeat_ngram_size."
    )
    E021 = (
        "No training example has a target for '{component}'. Check that the corpus names "
        "this task's JSONL file ([corpora.train.sources])."
    )
    E022 = (
        "'{component}' warm-starts its decoder from the backbone (init_from_backbone = true), "
        "which needs target_tokenizer = \"backbone\", not '{tokenizer}'. Use the backbone's "
        "tokenizer, or a fresh decoder (init_from_backbone = false)."
    )
    E023 = "max_target_tokens of '{component}' must be at least 3 (BOS, a token, EOS), got {value}."
    E156 = (
        "'{component}' writes one text per doc, so its num_return_sequences must be 1, "
        "got {value!r}."
    )
    E157 = "Generation setting '{key}' of '{component}' must be {rule}, got {value!r}."
    E158 = (
        "The generation settings of '{component}' do not work together: {reason} "
        "(Hugging Face GenerationConfig.validate)"
    )
    E159 = "Setting '{key}' of '{component}' must be {rule}, got {value!r}."
    E160 = (
        "'{component}' got a doc the shared transformer has not processed (doc {index} of "
        "the batch has no doc._.trf_data): make docs with nlp(text) or nlp.pipe(texts), "
        "not nlp.make_doc."
    )
    E161 = (
        "Component '{component}' has the name of a field of this pipeline's output records "
        "({fields}), so its output would overwrite that field, or the field its "
        "output. Rename the component in the training config and train again, or rename "
        "it in the loaded pipeline: nlp.rename_pipe('{component}', 'NEW'), then "
        "nlp.to_disk(PATH) (and in [nlp.after_pipeline_creation.learn_rate_scales] of "
        "the saved config.cfg, if it is named there)."
    )
    E155 = (
        "The output limit of '{component}' must have max_new_tokens_ratio a number above 0 "
        "(target tokens per source token) or null (no limit that follows the source), and "
        "max_new_tokens_offset a whole number of at least 0; got ratio {ratio!r}, offset "
        "{offset!r}."
    )
    E024 = (
        "'{component}' needs the shared transformer (its tokenizer or checkpoint) at "
        "initialize, but was initialized without the pipeline. Initialize it through "
        "nlp.initialize() (or spacy train), which passes the pipeline on."
    )
    E025 = (
        "'{component}' has no target tokenizer yet: initialize the pipeline (spacy train) "
        "or load a trained one."
    )
    E026 = (
        "The decoder's hidden_width ({hidden_width}) must be a multiple of its heads "
        "({heads}): each attention head takes an equal share of the width. Change "
        "hidden_width or heads in the component's model block (nlp_tasks.TransformerDecoder.v1)."
    )
    E027 = (
        "{head} is a GenerativeHead but does not define {method}(), which {purpose}. Define "
        "it in {head} (docs/plugins.md, 'Heads that write text')."
    )
    E028 = (
        "The decoder's model has no transformer listener with a known width; its tok2vec "
        "must be a spacy-transformers TransformerListener (see nlp_tasks.listener_config)."
    )

    # Training corpora and configs
    E029 = "{path}, line {line}: {reason}"
    E030 = "The {role} file for task '{task}' cannot be read: {path} ({problem}). Check the path."
    E031 = (
        "{path}, line {line}: label {label!r} is not one of the labels of component "
        "'{component}' ({labels}), which it learned from its training data. Fix the "
        "record, or add records with this label to the training data and train again."
    )
    E032 = "Sampling temperature must be > 0, got {temperature}."
    E033 = "The corpus names no sources. Give at least one task and its JSONL file."
    E034 = "No tasks given. Use --tasks with one or more of: {available}."
    E175 = (
        "The components '{first}' and '{second}' both write doc._.{attribute} (their "
        "factories' `assigns`): each would overwrite the other's output, and one head "
        "would train on the other's gold. Two tasks of one pipeline must write "
        "different attributes; rename one task's extension in its plugin."
    )
    E035 = (
        "Task '{task}' is given more than once in the task list ({tasks}); a pipeline has "
        "one head per task. Name each task once (--tasks)."
    )
    E165 = (
        "Unknown language code {lang!r} (--lang): spaCy has no language, and so no "
        "tokenizer, of that name. Give one of spaCy's codes (en, de, fr, ...; xx for "
        "several languages)."
    )
    # Evaluating, adding a task, new plugins
    E036 = "Pipeline '{path}' has no component of task '{task}'. Its components: {components}."
    E037 = (
        "The pipeline already has a component for task '{task}' (components: {components}). "
        "To retrain it, train a new pipeline with `nlp-tasks init config`."
    )
    E038 = (
        "Pipeline '{name}' was not loaded from a directory, so its components cannot be "
        "sourced. Give the pipeline's directory or installed package name."
    )
    E039 = (
        "Pipeline '{path}' has no shared transformer component (components: {components}); "
        "a task can only be added to a pipeline built by nlp-tasks."
    )
    E040 = (
        "Adding task '{task}' changed the output of existing components on some of "
        "{total} texts: {changed} (component: texts changed). The extended pipeline was "
        "not accepted; please report this as a bug."
    )
    E041 = (
        "'{name}' cannot name a task plugin: use lowercase letters, digits and underscores, "
        "starting with a letter (e.g. keyphrases, topic_tags)."
    )
    E042 = (
        "A task named '{name}' is already provided by an installed plugin (see `nlp-tasks "
        "plugins`). Choose another name: two plugins may not claim one task."
    )
    E174 = "'{name}' cannot name a task plugin: {reason}. Choose another name."
    E043 = "{path} already exists and is not empty; choose another --directory or remove it."
    E086 = "A plugin's input kind (--input) must be {kinds}, got {value!r}."
    # Command line
    E044 = (
        "The --data directory '{path}' {problem}. Give the directory that holds "
        "<task>/dev.jsonl for the pipeline's tasks (e.g. assets), or name each task's file "
        "with --source TASK=PATH."
    )
    E045 = (
        "The --data directory '{path}' has no dev file for any task of the pipeline "
        "({tasks}); looked for: {looked}. Put each task's records in <task>/dev.jsonl "
        "there, or name the files with --source TASK=PATH."
    )
    E143 = (
        "{path}, the dev data of task '{task}', holds no records: there is nothing to score "
        "its head on. Fill it, or leave the task out (--source for the others)."
    )
    E146 = (
        "{path}, the training data of task '{task}', holds no records: its head would not "
        "be trained. Fill it, or leave the task out of the training config."
    )
    E164 = (
        "{path}, the dev data of task '{task}' (read in order, shuffle = false), holds no "
        "records: training would score its head on nothing, as 0, and choose model-best by "
        "the other tasks alone. Fill it, or leave the task out of the training config."
    )
    E168 = (
        "Task weight '{task}' of the training corpus ([corpora.train.weights]): {problem}. "
        "A weight multiplies how often that task is drawn; leave a task out for 1.0."
    )
    E169 = (
        "The input '{input}' changed since the run that wrote the checkpoint {checkpoint} "
        "({what} was {old}, now {new}), so the records it counts as done may not be the "
        "input's any more. Pass --overwrite to process the input from the start; to resume "
        "instead, put back the input that run read (its size and modification time)."
    )
    E170 = (
        "{path} is {encoding} text (it starts with the byte-order mark {bom}); inputs are "
        "read as UTF-8. Convert it first, e.g. `{command}`, and give the converted file."
    )
    E171 = (
        "{path} ends its lines with a carriage return alone (\\r, as classic Mac OS did), "
        "so it would be read as one record holding all of them; lines end at \\n or \\r\\n. "
        "Convert it first, e.g. `{command}`, and give the converted file."
    )
    E150 = (
        "Cannot fetch '{url}': it is not a well-formed URL ({error}). Check the URL (in "
        "project.yml, its --vars.*_url variable); {output} was not written."
    )
    E147 = (
        "{path} is {what}, with no splits to choose from: --split {split} cannot apply. "
        "Leave --split out to convert all of it, or give the folder that holds the "
        "dataset's splits."
    )
    E148 = "Cannot read {path} as {encoding!r} text: the encoding {problem}."
    E046 = "Cannot read '{path}' ({option}): {problem}. Check the path."
    E047 = "Cannot write '{path}' ({option}): {problem}. Choose another path."
    E083 = (
        "The field mapping (--field, the field= parameter or fields=) maps the task field(s) "
        "{names}, but no task of the pipeline reads such a field. The fields its tasks "
        "read: {known}."
    )
    # Batch processing: bad records (each goes to the errors file; the run goes on)
    E048 = "{path}, line {line}: cannot parse the record ({error}). Fix or remove the line."
    E049 = "{path}, line {line}: expected a JSON object with a {field!r} field, got {type}."
    E050 = "{path}, line {line}: the record has no {field!r} field (its fields: {keys}).{hint}"
    E051 = "{path}, line {line}: field {field!r} must be a string, got {type}: {value}."
    E052 = (
        "{path}, line {line}: the {what} is longer than the limit ({length} > {limit}). Split "
        "the document, or raise --max-chars (memory and time grow with a document's length)."
    )
    E053 = "{path}, line {line}: the record is not valid UTF-8 ({error})."
    E054 = "{path}, line {line}: field {field!r} must be {rule}, got {value}."
    E055 = (
        "{path}, line {line}: the pipeline failed on this record ({error}). The record is left "
        "out of the output and the run goes on. If the text looks ordinary, the failing "
        "component has a bug: run the pipeline on this text alone (nlp_tasks.load(PIPELINE)"
        "(text)) to see the traceback, and report it to the component's plugin."
    )
    E056 = (
        "{path}, line {line}: the quote that opens a field on line {quote_line} {problem}, so "
        "read as CSV it would join the lines after it into this record. {outcome} Close the "
        'quote, or write a quote inside a quoted field twice ("").'
    )
    E057 = (
        "{path}, line {line}: {what} is {type}, but texts must be str. Decode it first, "
        "e.g. value.decode('utf-8')."
    )
    E080 = (
        "{path}, line {line}: field {field!r} is empty, and a record of several texts needs "
        "text in each (an empty side of a pair). Fill it in or leave the record out."
    )
    E081 = (
        "{path}, line {line}: the record has the fields of more than one input ({shapes}), "
        "so it is unclear which doc to make. Keep one set of fields in each record."
    )
    # Batch processing: the input as a whole
    E058 = (
        "Cannot tell the input format of '{path}'. Give --input-format, one of: {formats}; or "
        "end the file's name in .jsonl, .txt, .csv, .tsv or .parquet (.gz may follow)."
    )
    E059 = "Cannot read the input file {path}: {problem}."
    E060 = (
        "{path} has no column {field!r} (columns: {columns}). Name the column that holds it: "
        "--field {name}=COLUMN (--text-field COLUMN for 'text')."
    )
    E061 = (
        "{path}: the compressed data is truncated or corrupt after line {line} ({error}). "
        "Nothing after that line can be read; the run stops here and keeps the output it "
        "wrote for the records before it. Check the file with `gzip -t {path}`, replace it "
        "with a complete copy and rerun with --overwrite."
    )
    E062 = (
        "{path} starts like a gzip file but cannot be read ({error}). Check it with "
        "`gzip -t {path}` and replace it with a complete copy, or give it uncompressed."
    )
    E063 = (
        "{path} cannot be read as Parquet ({error}). Check that it is a complete Parquet "
        "file, or give --input-format if its name says the wrong format."
    )
    E064 = "Reading or writing Parquet needs pyarrow: pip install 'nlp-tasks[parquet]'."
    E084 = (
        "{path} is plain text, one text a line, but no task of the pipeline reads a single "
        "text: they read {shapes}. Give JSONL, CSV or Parquet records with those fields."
    )
    # Batch processing: settings and engines
    E065 = "{name} must be {rule}, got {value!r}."
    E066 = (
        "Returning Docs needs n_process=1 and the local engine: worker processes send back "
        "each record's JSON output only."
    )
    E067 = (
        "The Ray engine needs Ray Data: pip install 'nlp-tasks[ray]' (or 'ray[data]'). "
        "The local engine (--engine local, with --n-process) needs nothing more."
    )
    E068 = (
        "A worker stopped unexpectedly ({error}) while processing lines {first}-{last}: it "
        "failed to start (see the messages above) or ran out of memory. Work up to the last "
        "checkpoint is kept: rerun the same command to resume, if need be with a smaller "
        "--batch-size, --batch-words or --max-chars."
    )
    # Batch processing: the job, its checkpoint and its outputs
    E069 = (
        "The output '{output}' exists and has no checkpoint ({checkpoint}), so no unfinished "
        "run of this command wrote it. Pass --overwrite to replace it, or choose another path."
    )
    E070 = (
        "The checkpoint {checkpoint} belongs to another job: {what} was {old!r}, now {new!r}. "
        "Rerun the original command to resume it, or pass --overwrite to start again."
    )
    E071 = (
        "The output '{output}' does not match its checkpoint {checkpoint} ({problem}); it "
        "was changed after the run stopped. Pass --overwrite to start again."
    )
    E072 = (
        "Lines {first}-{last} give Parquet column(s) {fields} another type than the lines "
        "before ({error}). Write JSONL output instead (a .jsonl path), which takes any JSON."
    )
    E154 = (
        "Lines {first}-{last}: the values of field {field!r} are of more than one type "
        "({error}), and a Parquet column holds one. Write JSONL output instead (a .jsonl "
        "path), which takes any JSON."
    )
    E073 = (
        "Another run is writing '{path}': it holds the lock {lock}{holder}. Two runs on one "
        "output (or one errors file) would mix their records. Wait for that run to end, or "
        "stop it and rerun this command to resume; or give this run another output path "
        "(and --errors file)."
    )
    E074 = (
        "The pipeline '{pipeline}' is not the one the checkpoint {checkpoint} was written "
        "with ({changes}): resuming would mix the outputs of two pipelines. Put the old "
        "pipeline back and rerun to resume, or pass --overwrite to start again with this one."
    )
    E075 = (
        "Cannot write '{path}': {error}. {progress} Free disk space (or fix the cause: "
        "permissions, quota, a file where a folder should be) and rerun the same command: "
        "{rerun}"
    )
    E076 = "Cannot write '{path}': {error}."
    E077 = (
        "The {role} '{path}' is {what}, and the run writes or removes it: {lost} would be lost. "
        "Choose another output path (or --errors file)."
    )
    E078 = (
        "Cannot tell the output format of '{path}' from its name: end it in one of {formats} "
        "(.parquet needs pyarrow)."
    )
    E079 = (
        "The errors file '{errors}' exists, but no checkpoint of '{output}' accounts for it: "
        "it is probably another run's (outputs with one stem, such as out.jsonl and "
        "out.parquet, share the default errors file), and --overwrite would delete it. Give "
        "this run its own with --errors PATH, or move that file away."
    )
    # Serving (nlp-tasks serve)
    E087 = (
        "POST /predict: the body is not JSON ({error}). Send a JSON object (one record), a "
        "JSON string (one text) or a JSON list of these, encoded as UTF-8."
    )
    E088 = (
        "{method} {path}: the body is {size} bytes, over the service's limit of {limit} "
        "bytes. Send fewer or shorter records per request, or start the service with a "
        "higher --max-body-bytes."
    )
    E089 = (
        "POST /predict: the request holds {count} records, over the service's limit of "
        "{limit}. Send them in requests of at most {limit}, or start the service with a "
        "higher --max-records."
    )
    E090 = (
        "POST {path}: record {index}: field {field!r} is {length} characters long, over the "
        "service's limit of {limit}. Split the text, or start the service with a higher "
        "--max-chars."
    )
    E091 = (
        "{option}: expected TASK_FIELD=FIELD (e.g. questions=q), got {value!r}. It reads the "
        "task's field TASK_FIELD from the records' field FIELD."
    )
    E153 = (
        "{option} map the task's field {name!r} twice, to different fields: {first} and "
        "{second}. Give it once."
    )
    E092 = (
        "The pipeline failed on this request ({error}). The service goes on serving. If the "
        "input looks ordinary, a component has a bug: run nlp_tasks.predict on the same "
        "input to see the traceback, and report it to the component's plugin."
    )
    E093 = "{method} {path}: no such route. The service has: {routes}."
    E094 = "{method} {path}: method not allowed; use {allowed}."
    E095 = "The service is shutting down and takes no more requests. Retry once it is back."
    E096 = "POST /: the form is empty. Fill in {fields}."
    # Converters (nlp-tasks convert)
    E097 = (
        "Converter '{name}' is provided by two plugins: '{first}' and '{second}'. Uninstall "
        "one, or block one with NLP_TASKS_BLOCK_PLUGINS={second} (or NLP_TASKS_LOAD_PLUGINS)."
    )
    E098 = (
        "Plugin '{plugin}' registered {value!r} as a converter; expected an "
        "nlp_tasks.convert.Converter."
    )
    E099 = (
        "No converter named '{name}'. Available converters: {available}. `nlp-tasks convert "
        "--list` shows what each reads and its options; plugins may add more."
    )
    E100 = (
        "Converter '{converter}' has no option '{option}'. Its options: {options}. "
        "`nlp-tasks convert --list {converter}` describes them."
    )
    E101 = (
        "Converter '{converter}': --{option} {problem}; got {value!r}. `nlp-tasks convert "
        "--list {converter}` describes its options."
    )
    E102 = "{option}: expected {form} (e.g. {example}), got {value!r}."
    E103 = (
        "Converter '{converter}' takes {expected} ({usage}), got {count}: {inputs}. Usage: "
        "nlp-tasks convert {converter} {usage} --output OUTPUT."
    )
    E104 = "{where}: cannot parse {what} ({error}). Fix or remove the line."
    E105 = (
        "{path} holds no {what}: there is nothing to convert. Check that it is the file "
        "you meant; nothing was written."
    )
    E106 = (
        "{path} has no column {column!r} (named by {option}). Its columns: {columns}. "
        "Name one of them."
    )
    E107 = "{where}: column {column!r} ({option}) {problem}. Fix the row, or leave it out."
    E108 = (
        "{where}: the {field!r} value {value!r} is not in --label-map ({known}). Add "
        "--label-map {value}=LABEL, or fix the row."
    )
    E109 = "{where}: the row has {count} fields but the header has {expected}. {hint}"
    E110 = "{what} needs pyarrow: pip install 'nlp-tasks[parquet]' (or pip install pyarrow)."
    E111 = (
        "'{name}' is not a local file or folder, and loading a dataset from the Hugging Face "
        "Hub needs the datasets package: pip install datasets. A folder written by "
        "save_to_disk, or Parquet files, need only pyarrow."
    )
    E112 = (
        "{path} is not a dataset nlp-tasks can read: {problem}. Give a folder written by "
        "Dataset.save_to_disk or DatasetDict.save_to_disk, Parquet files (or a folder of "
        "them), or a Hub name with the datasets package installed."
    )
    E113 = "{source}: {problem} (its splits: {splits}). Choose one with --split NAME."
    E114 = (
        "Loading '{name}' from the Hugging Face Hub failed ({error}). Check the name, "
        "--config and --split, and the network; or give the folder the dataset was saved "
        "to with save_to_disk."
    )
    E115 = "Converter '{converter}' made no records of {inputs}{skipped}; nothing was written."
    E116 = (
        "{where}: the line is not valid {encoding} ({error}). Convert the file to UTF-8, or "
        "give its encoding with --encoding where the converter takes it."
    )
    E117 = (
        "{path}: the gzip data cannot be read {place} ({error}): the file is "
        "truncated, or not gzip. Check it with `gzip -t {path}`; nothing was written."
    )
    E118 = (
        "Record {number} made by the converter cannot be written as JSON ({error}). This is "
        "a bug of the converter; please report it to its plugin."
    )
    E119 = (
        "Cannot tell the format of '{path}' from its name. Give --input-format "
        "({formats}), or end the name in one of {suffixes} (.gz may follow a text format)."
    )
    E162 = (
        "{path} has {count} columns named {column!r}, and a record field holds one value: "
        "{problem}. Rename the columns apart in the file{hint}."
    )
    E163 = (
        "{path}: column {column!r} holds {type} values, which JSON has no type for. Cast the "
        "column to a string or a number first{hint}."
    )
    # The training recipe (generated configs)
    E120 = (
        "The learning-rate schedule nlp_tasks.warmup_linear.v1 needs total_steps >= 1, got "
        "{value!r}. Generated configs set it to ${{training.max_steps}}: give the run a "
        "length with --training.max_steps N (0, no limit, has no end for the rate to fall "
        "to), or set [training.optimizer.learn_rate] total_steps."
    )
    E121 = (
        "The learning-rate schedule nlp_tasks.warmup_linear.v1 needs warmup_fraction from 0 "
        "(no warmup) to below 1, got {value!r}."
    )
    # Serving (continued)
    E122 = (
        "POST {path}: record {index}: field {field!r} is empty or blank: there is nothing "
        "for the pipeline to read. Leave the record out, or send its text."
    )
    # E166 is retired (a blank question at the service, never released): E054 covers it.
    E167 = (
        "POST {path}: record {index}: field {field!r} holds {count} items, over the service's "
        "limit of {limit}. Send them in several records with the same text, or start the "
        "service with a higher --max-list-items."
    )
    # Fetching corpus files (nlp-tasks fetch) and holding out dev splits (nlp-tasks holdout)
    E123 = (
        "--{algorithm} must be {length} hexadecimal digits, got {value!r}. Copy the checksum "
        "as the source publishes it, or leave the option out to check none."
    )
    E124 = (
        "Cannot fetch '{url}': nlp-tasks fetches http:// and https:// URLs only. For a file "
        "you already have, copy it to {output} instead."
    )
    E125 = (
        "Fetching {url} failed: the server answered {status} {reason}. Check the URL (in "
        "project.yml, its --vars.*_url variable); {output} was not written."
    )
    E126 = (
        "Cannot reach {url} ({error}). Check the network and the URL, then run the same "
        "command again. {kept}"
    )
    E127 = (
        "The download of {url} stopped after {received} of {expected} bytes ({error}). "
        "{partial} keeps what arrived: run the same command again to resume it."
    )
    E128 = (
        "{url} does not match its {algorithm} checksum: expected {expected}, got {actual}. "
        "The download was deleted; {output} was not written. Check the URL and the checksum "
        "(if the source has changed the file, it publishes a new checksum)."
    )
    E142 = (
        "The download of {url} came to {size} bytes, but the server said the file has "
        "{total}: the resumed part did not fit onto what had arrived. The download was "
        "deleted and {output} was not written; run the same command again to start over."
    )
    E129 = (
        "--size {size}: {path} has {count} record(s) that can go to dev{eligible}, and the "
        "train file must keep at least one record. Give a --size from 1 to {most}."
    )
    E130 = (
        "{option} needs --nested FIELD: it says which records can go to dev by the words of "
        "FIELD. Give --nested (e.g. --nested text), or leave {option} out."
    )
    E131 = (
        "{path}, line {line}: {problem}. --nested {field} needs every record to hold its text "
        "in {field!r}; fix the record, or name the field that holds it."
    )
    E132 = (
        "{path} holds no records, so no dev split can be held out of it. Check that it is "
        "the converted file you meant; nothing was written."
    )

    # -- fetching corpus files
    # Serving (continued)
    E133 = (
        "Cannot listen on {host}:{port} ({error}). Another program (another `nlp-tasks "
        "serve`?) may hold the port: stop it, or choose another with --port."
    )
    E144 = (
        "--host {host!r} is not an address or host name of this machine ({error}). Give "
        "127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its addresses."
    )

    # Numeric precision
    E134 = (
        "Unknown precision {value!r}. Use one of: {choices} (auto: bf16 where the device "
        "computes bf16 natively, fp32 elsewhere)."
    )
    E135 = (
        "Cannot run '{component}' at {precision}: its task '{task}' supports {supported} "
        "only (Task.precisions), since its metrics were not shown to hold at {precision}. "
        "Load the pipeline at one of those, or leave '{component}' out (exclude=[...])."
    )
    E136 = (
        "Cannot save this pipeline: its PyTorch modules were quantized to int8 when it was "
        "loaded, and quantized weights do not load back into the model. Save the pipeline "
        'loaded at fp32 instead, with `precision = "int8"` in its config\'s '
        "[nlp.after_pipeline_creation] block: int8 is then applied each time it loads."
    )
    E137 = (
        "Cannot change the precision of this pipeline from int8 to {precision}: quantized "
        "weights cannot be restored. Load the pipeline again at {precision}."
    )
    E138 = (
        "int8 runs on CPU only, and this pipeline's modules are on {device}. Use bf16 there "
        "(or auto), or load the pipeline on CPU for int8."
    )

    # Learning rates of the heads
    E139 = (
        "Task.learn_rate_scale of task '{task}' (plugin '{plugin}') must be a number above 0, "
        "got {value!r}: the head's learning rate as a multiple of the heads' rate "
        "([training.optimizer]); 1.0 trains it at that rate."
    )
    E140 = (
        "[nlp.after_pipeline_creation.learn_rate_scales]: the scale of '{name}' must be a "
        "number above 0, got {value!r}. Give each head's learning rate as a multiple of the "
        "heads' rate ([training.optimizer]); 1.0 trains it at that rate."
    )
    E141 = (
        "'{component}' was given train_path={path!r} to read its targets from, but no "
        "installed task makes its component, so its records cannot be read. Remove "
        "[initialize.components.{component}] train_path, or install the task's plugin."
    )


def why_not_a_file(path: str | Path) -> str:
    """Why a path given as an input file cannot be read as one, for E046.

    path (str | Path): A path that is not a regular file.
    RETURNS (str): "it is a directory", "it is not a regular file (...)" or "it does not
        exist".
    """
    path = Path(path)
    if path.is_dir():
        return "it is a directory"
    if path.exists():
        return "it is not a regular file (a device, a pipe or a socket)"
    return "it does not exist"


def not_a_regular_file(path: str | Path) -> str:
    """What is wrong with an output that exists but is not a regular file.

    The commands write a temporary file and rename it into place, or remove an
    output to start again, either of which would replace a device, a pipe or a
    socket (``/dev/null``) with a file, for every program that uses it. A link is
    followed: the file it points to counts.

    path (str | Path): The output file.
    RETURNS (str): The problem, for an E047 message; "" if the path is a regular
        file or nothing (yet).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ""  # nothing there (or a dangling link): a new file takes its place
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "it is a directory"
    return (
        "it is not a regular file (a device, pipe or socket), which writing the output "
        "would replace"
    )
