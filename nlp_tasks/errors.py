"""Coded errors and warnings.

Every message says what went wrong, shows the values involved and names the
next step. Codes are stable, so a user can search for them and a test can
match them. Access a message through the class (``Errors.E001``) to get it
with its ``[E001]`` prefix, then ``.format()`` the named fields.
"""


class _CodedMessages(type):
    def __getattribute__(cls, code: str) -> str:
        message = super().__getattribute__(code)
        if code.startswith("_"):
            return message
        return f"[{code}] {message}"


class Warnings(metaclass=_CodedMessages):
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
        "Its tasks are unavailable; the other plugins work."
    )


class Errors(metaclass=_CodedMessages):
    # Plugins and tasks
    E001 = (
        "Task '{task}' is provided by two plugins: '{first}' and '{second}'. Uninstall one, "
        "or block one with NLP_TASKS_BLOCK_PLUGINS={second} (or NLP_TASKS_LOAD_PLUGINS)."
    )
    E002 = (
        "No installed plugin provides the task '{task}'. Available tasks: {available}. "
        "Install the plugin that provides it (for example `pip install nlp-tasks-{task}`) "
        "and check `nlp-tasks plugins` for plugins that failed to load."
    )
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
        "No pipeline directory or installed pipeline package named '{name}'. Give the "
        "directory that `spacy train` wrote (e.g. training/model-best), or `pip install` "
        "the package that `spacy package` built."
    )
    # Backbones
    E010 = (
        "The backbone '{name}' could not be loaded: it is not a registered backbone alias "
        "({aliases}), not an existing local directory, and Hugging Face could not provide "
        "it ({error}). Give a local model directory, an alias, or a Hub name with network "
        "access. Setting: [components.transformer.model] name."
    )
    E011 = (
        "The backbone path '{name}' looks like a local path but does not exist. Setting: "
        "[components.transformer.model] name (or --backbone)."
    )
    E012 = "Backbone alias '{alias}' is registered by both '{first}' and '{second}'."
    # Data
    E020 = "{path}, line {line}: {reason}"
    E021 = "The {role} file for task '{task}' does not exist: {path}"
    E022 = (
        "{path}, line {line}: label {label!r} is not one of the labels of component "
        "'{component}' ({labels}). Fix the record, or add the label and retrain."
    )
    E023 = "Sampling temperature must be > 0, got {temperature}."
    E024 = "The corpus names no sources. Give at least one task and its JSONL file."
    # Config and CLI
    E030 = "No tasks given. Use --tasks with one or more of: {available}."
    E031 = "Pipeline '{path}' has no component of task '{task}'. Its components: {components}."
