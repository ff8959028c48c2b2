"""Plugin discovery through real entry points, load control, quarantine, conflicts."""

import json
import textwrap
import threading
import time
from pathlib import Path

import pytest

from nlp_tasks import Task, hookimpl
from nlp_tasks.registry.manager import PluginError, PluginWarning


def make_distribution(site: Path, dist: str, module: str, source: str, factories=()) -> None:
    """Install a plugin distribution into ``site`` as pip would: package + dist-info."""
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(textwrap.dedent(source), encoding="utf8")
    info = site / f"{dist.replace('-', '_')}-0.3.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.0\n", encoding="utf8"
    )
    entry_points = f"[nlp_tasks]\n{module} = {module}\n"
    if factories:
        entry_points += "\n[spacy_factories]\n" + "".join(
            f"{name} = {module}:{name}\n" for name in factories
        )
    (info / "entry_points.txt").write_text(entry_points, encoding="utf8")


GOOD_PLUGIN = """
from nlp_tasks import Task, hookimpl

@hookimpl
def register_tasks(register):
    register(Task(name="keyphrases", factory="keyphrase_head",
                  make_example=lambda nlp, record: None, to_json=lambda doc: {}))
"""
BROKEN_PLUGIN = "raise ImportError('this plugin needs a library that is not installed')\n"
RAISING_HOOK_PLUGIN = """
from nlp_tasks import hookimpl

@hookimpl
def register_tasks(register):
    raise FileNotFoundError("the keyphrases labels file is missing")
"""
DUPLICATE_PLUGIN = """
from nlp_tasks import Task, hookimpl

@hookimpl
def register_tasks(register):
    register(Task(name="sentiment", factory="other_sentiment",
                  make_example=lambda nlp, record: None, to_json=lambda doc: {}))
"""


@pytest.fixture
def site(tmp_path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    return site


def list_plugins(cli, site: Path, **env) -> dict:
    result = cli("plugins", env={"PYTHONPATH": str(site), **env})
    assert result.returncode == 0, result.stderr
    return {info["name"]: info for info in json.loads(result.stdout)}, result


def test_builtin_plugins_are_discovered_through_entry_points(cli, python, site):
    listed, _ = list_plugins(cli, site)
    assert listed["nlp-tasks-sentiment"]["tasks"] == ["sentiment"]
    assert listed["nlp-tasks-sentiment"]["factories"] == ["nlp_tasks_sentiment"]
    assert listed["nlp-tasks-ner"]["tasks"] == ["ner"]
    assert listed["nlp-tasks-ner"]["status"] == "loaded"
    assert listed["nlp-tasks-ner"]["version"] == "0.1.0"


def test_installed_third_party_plugin_is_listed(cli, python, site):
    make_distribution(site, "nlp-tasks-keyphrases", "nlp_tasks_keyphrases", GOOD_PLUGIN)
    listed, _ = list_plugins(cli, site)
    info = listed["nlp-tasks-keyphrases"]
    assert info["status"] == "loaded"
    assert info["version"] == "0.3.0"
    assert info["tasks"] == ["keyphrases"]
    assert info["hooks"] == ["register_tasks"]


DESCRIBED_PLUGIN = """
from nlp_tasks import Task, hookimpl

@hookimpl
def register_tasks(register):
    register(Task(name="keyphrases", factory="keyphrase_head",
                  description="Keyphrases of a document.",
                  make_example=lambda nlp, record: None, to_json=lambda doc: {}))

@hookimpl
def register_backbones(register):
    register("kp-bert", "/models/kp-bert")
"""


def test_listing_shows_task_descriptions_and_backbone_aliases(cli, python, site):
    make_distribution(site, "nlp-tasks-keyphrases", "nlp_tasks_keyphrases", DESCRIBED_PLUGIN)
    listed, _ = list_plugins(cli, site)
    info = listed["nlp-tasks-keyphrases"]
    assert info["descriptions"] == {"keyphrases": "Keyphrases of a document."}
    assert info["backbones"] == ["kp-bert"]
    assert listed["nlp-tasks-sentiment"]["backbones"] == []
    result = cli("plugins", "--all", env={"PYTHONPATH": str(site)})
    core = {i["name"]: i for i in json.loads(result.stdout)}["nlp_tasks.registry.default_backbones"]
    assert "all-MiniLM-L6-v2" in core["backbones"]


def test_broken_plugin_is_quarantined_and_the_rest_work(cli, python, site):
    make_distribution(site, "nlp-tasks-broken", "nlp_tasks_broken", BROKEN_PLUGIN)
    listed, result = list_plugins(cli, site)
    assert listed["nlp-tasks-broken"]["status"] == "failed"
    assert "needs a library that is not installed" in listed["nlp-tasks-broken"]["error"]
    assert "[W001]" in result.stderr and "nlp-tasks-broken" in result.stderr
    assert listed["nlp-tasks-sentiment"]["status"] == "loaded"
    code = "import spacy, nlp_tasks.registry as p;spacy.blank('en');print(sorted(p.get_tasks()))"
    result = python(code, env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    assert "'ner'" in result.stdout and "'sentiment'" in result.stdout


def test_plugin_whose_hook_raises_is_quarantined_and_the_rest_work(cli, python, site):
    make_distribution(site, "nlp-tasks-faulty", "nlp_tasks_faulty", RAISING_HOOK_PLUGIN)
    listed, result = list_plugins(cli, site)
    assert listed["nlp-tasks-faulty"]["status"] == "failed"
    assert "labels file is missing" in listed["nlp-tasks-faulty"]["error"]
    assert "[W003]" in result.stderr and "register_tasks" in result.stderr
    code = "import nlp_tasks.registry as p; print(sorted(p.get_tasks()))"
    result = python(code, env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    assert "'ner'" in result.stdout and "'sentiment'" in result.stdout
    assert "keyphrases" not in result.stdout


def test_strict_mode_raises_for_a_broken_plugin(cli, python, site):
    make_distribution(site, "nlp-tasks-broken", "nlp_tasks_broken", BROKEN_PLUGIN)
    code = "import nlp_tasks.registry as p; p.load_plugins()"
    result = python(code, env={"PYTHONPATH": str(site), "NLP_TASKS_STRICT_PLUGINS": "1"})
    assert result.returncode != 0
    assert "needs a library that is not installed" in result.stderr


def test_duplicate_task_name_names_both_plugins(cli, python, site):
    make_distribution(site, "nlp-tasks-sentiment2", "nlp_tasks_sentiment2", DUPLICATE_PLUGIN)
    code = "import nlp_tasks.registry as p; p.get_task('sentiment')"
    result = python(code, env={"PYTHONPATH": str(site)})
    assert result.returncode != 0
    assert "[E001]" in result.stderr
    assert "nlp-tasks-sentiment" in result.stderr and "nlp-tasks-sentiment2" in result.stderr
    # The conflict is confined to its task: the others stay usable.
    code = "import nlp_tasks.registry as p; print(p.get_task('ner').factory)"
    assert python(code, env={"PYTHONPATH": str(site)}).stdout.strip() == "nlp_tasks_ner"


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"NLP_TASKS_LOAD_PLUGINS": "nlp-tasks-ner"}, {"nlp-tasks-ner"}),
        ({"NLP_TASKS_LOAD_PLUGINS": ""}, set()),
        ({"NLP_TASKS_BLOCK_PLUGINS": "nlp_tasks_ner"}, {"nlp-tasks-sentiment", "nlp-tasks-topics"}),
    ],
)
def test_load_and_block_variables_filter_plugins(cli, python, site, env, expected):
    make_distribution(site, "nlp-tasks-topics", "nlp_tasks_topics_copy", GOOD_PLUGIN)
    listed, _ = list_plugins(cli, site, **env)
    loaded = {name for name, info in listed.items() if info["status"] == "loaded"}
    assert loaded & {"nlp-tasks-ner", "nlp-tasks-sentiment", "nlp-tasks-topics"} == expected


def test_unknown_name_in_load_variable_is_reported(cli, python, site):
    _, result = list_plugins(cli, site, NLP_TASKS_LOAD_PLUGINS="nlp-tasks-nope")
    assert "[W002]" in result.stderr and "nlp-tasks-nope" in result.stderr


def test_importing_the_core_imports_no_plugin(python):
    code = (
        "import sys, nlp_tasks, spacy; spacy.blank('en');"
        "print([m for m in sys.modules if m.startswith('nlp_tasks_') and m.endswith('plugin')])"
    )
    result = python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_hook_register_tasks(fresh_plugins):
    class Plugin:
        @hookimpl
        def register_tasks(self, register):
            register(Task(name="toy", factory="toy_head", make_example=print, to_json=dict))

    fresh_plugins.register_plugin(Plugin(), name="toy-plugin")
    try:
        assert fresh_plugins.get_task("toy").factory == "toy_head"
        assert fresh_plugins.task_for_factory("toy_head").name == "toy"
    finally:
        fresh_plugins.unregister_plugin("toy-plugin")
    with pytest.raises(PluginError, match=r"\[E002\].*toy.*pip install nlp-tasks-toy"):
        fresh_plugins.get_task("toy")


def test_two_threads_building_the_task_table_both_see_every_task(fresh_plugins):
    # The second thread starts while the first is inside a slow register_tasks
    # hook: it must wait for the table, not reset it under the first thread.
    entered = threading.Event()

    class SlowPlugin:
        @hookimpl
        def register_tasks(self, register):
            entered.set()
            time.sleep(0.3)
            register(Task(name="slow", factory="slow_head", make_example=print, to_json=dict))

    fresh_plugins.register_plugin(SlowPlugin(), name="slow-plugin")
    seen: dict[str, set[str]] = {}

    def build(thread_name):
        seen[thread_name] = set(fresh_plugins.get_tasks())

    first = threading.Thread(target=build, args=("first",))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=build, args=("second",))
    second.start()
    first.join(10)
    second.join(10)
    assert "slow" in seen["first"] and "sentiment" in seen["first"]
    assert seen["first"] == seen["second"]


def test_a_plugin_failing_after_registering_leaves_no_task_or_conflict(fresh_plugins):
    def toy():
        return Task(name="toy", factory="toy_head", make_example=print, to_json=dict)

    class Good:
        @hookimpl
        def register_tasks(self, register):
            register(toy())

    class Faulty:
        @hookimpl
        def register_tasks(self, register):
            register(toy())
            raise RuntimeError("its labels file is missing")

    fresh_plugins.register_plugin(Faulty(), name="faulty-plugin")
    fresh_plugins.register_plugin(Good(), name="good-plugin")
    with pytest.warns(PluginWarning, match=r"\[W003\].*faulty-plugin"):
        assert fresh_plugins.get_task("toy").factory == "toy_head"
    infos = {info.name: info for info in fresh_plugins.plugin_infos(all_plugins=True)}
    assert infos["faulty-plugin"].status == "failed" and infos["faulty-plugin"].tasks == []
    assert infos["good-plugin"].tasks == ["toy"]
    # A task missing while a plugin is quarantined points at that plugin, not at pip.
    missing = r"\[E002\] .*'lost'.*failed to load, whose tasks are missing: faulty-plugin"
    with pytest.raises(PluginError, match=missing):
        fresh_plugins.get_task("lost")


def test_hook_register_backbones(fresh_plugins, tiny_backbone):
    from nlp_tasks.components.backbone import resolve_backbone

    class Plugin:
        @hookimpl
        def register_backbones(self, register):
            register("my-backbone", lambda: str(tiny_backbone))

    fresh_plugins.register_plugin(Plugin(), name="backbone-plugin")
    try:
        assert resolve_backbone("my-backbone") == str(tiny_backbone)
    finally:
        fresh_plugins.unregister_plugin("backbone-plugin")
    assert resolve_backbone("my-backbone") == "my-backbone"  # left to Hugging Face


def test_a_backbone_alias_to_a_missing_or_empty_directory_is_refused(fresh_plugins, tmp_path):
    from nlp_tasks.components.backbone import resolve_backbone
    from nlp_tasks.errors import BackboneError

    class Plugin:
        @hookimpl
        def register_backbones(self, register):
            register("gone-bert", lambda: str(tmp_path / "models" / "gone-bert"))
            register("empty-bert", str(tmp_path))

    fresh_plugins.register_plugin(Plugin(), name="backbone-plugin")
    missing = r"\[E172\] The backbone alias 'gone-bert' points to '.*gone-bert'.*'backbone-plugin'"
    with pytest.raises(BackboneError, match=missing):
        resolve_backbone("gone-bert")
    with pytest.raises(BackboneError, match=r"\[E015\].*no config\.json"):
        resolve_backbone("empty-bert")


def test_an_unavailable_alias_that_hugging_face_lacks_is_named_as_registered(fresh_plugins):
    from nlp_tasks.components.backbone import _ResolvingInit
    from nlp_tasks.errors import BackboneError

    class Plugin:
        @hookimpl
        def register_backbones(self, register):
            register("none-bert", lambda: None)

    class Backbone:
        attrs = {"has_transformer": False, "name": "none-bert"}

    def hub_lacks_it(model, X=None, Y=None):
        raise OSError(f"{model.attrs['name']} is not a model on the Hub")

    fresh_plugins.register_plugin(Plugin(), name="backbone-plugin")
    init = _ResolvingInit(hub_lacks_it)
    with pytest.raises(
        BackboneError,
        match=r"\[E173\].*'none-bert' is registered by .*'backbone-plugin'.*returned None"
        r".*not a model on the Hub",
    ):
        init(Backbone())
    Backbone.attrs = {"has_transformer": False, "name": "other-bert"}
    with pytest.raises(
        BackboneError, match=r"\[E013\].*'other-bert'.*not a registered backbone alias"
    ):
        init(Backbone())


def test_hook_register_converters(fresh_plugins, tmp_path):
    from nlp_tasks.convert import Converter, Option, convert

    class Plugin:
        @hookimpl
        def register_converters(self, register):
            register(
                Converter(
                    name="toy-format",
                    task="toy",
                    description="Toy records.",
                    convert=lambda inputs, options, report: iter(
                        [{"text": "x", "shout": options["shout"]}]
                    ),
                    options=(Option("shout", "Shout.", kind="flag"),),
                )
            )

    source = tmp_path / "in.txt"
    source.write_text("anything", encoding="utf8")
    fresh_plugins.register_plugin(Plugin(), name="toy-plugin")
    try:
        registry = fresh_plugins.converter_registry()
        assert registry.owners["toy-format"] == "toy-plugin"
        assert registry.owners["columns"] == "nlp_tasks.convert.builtin"
        result = convert("toy-format", source, tmp_path / "out.jsonl", shout=True)
        assert result.task == "toy" and result.records == 1
        written = (tmp_path / "out.jsonl").read_text(encoding="utf8").splitlines()
        assert [json.loads(line) for line in written] == [{"text": "x", "shout": True}]
    finally:
        fresh_plugins.unregister_plugin("toy-plugin")
    assert "toy-format" not in fresh_plugins.get_converters()


# A plugin command whose docstring is wrapped in the source, with a "-" list.
HELLO_PLUGIN = """
from nlp_tasks import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command()
    def hello(name: str):
        \"\"\"Greet someone.

        The greeting is printed on one line
        of standard output.

        - a listed line
        - keeps its break
        \"\"\"
        print(f"hello {name}")
"""


def test_hook_register_commands(cli, python, site):
    make_distribution(site, "nlp-tasks-hello", "nlp_tasks_hello", HELLO_PLUGIN)
    result = cli("hello", "world", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello world"


def test_command_help_shows_each_docstring_paragraph_unbroken(cli, python, site):
    # Typer keeps the source's line breaks after a docstring's first paragraph;
    # rich then wraps again, so a wrapped docstring showed ragged in --help.
    make_distribution(site, "nlp-tasks-hello", "nlp_tasks_hello", HELLO_PLUGIN)
    wide = {"PYTHONPATH": str(site), "COLUMNS": "200"}
    plugin_help = cli("hello", "--help", env=wide)
    assert plugin_help.returncode == 0, plugin_help.stderr
    assert "The greeting is printed on one line of standard output." in plugin_help.stdout
    assert "- a listed line" in plugin_help.stdout and "- keeps its break" in plugin_help.stdout
    assert "- a listed line - keeps its break" not in plugin_help.stdout
    builtin_help = cli("process", "--help", env=wide)
    assert builtin_help.returncode == 0, builtin_help.stderr
    assert "crash or kill and it goes on from its checkpoint." in builtin_help.stdout
    group_help = cli("init", "config", "--help", env=wide)
    assert "the learning rate warms up over the first tenth" in group_help.stdout


def test_incompatible_api_version_is_refused(fresh_plugins):
    class Plugin:
        @hookimpl
        def register_tasks(self, register):
            register(
                Task(
                    name="future",
                    factory="f",
                    make_example=print,
                    to_json=dict,
                    api_version=">=2.0",
                )
            )

    fresh_plugins.register_plugin(Plugin(), name="future-plugin")
    try:
        with pytest.warns(PluginWarning, match=r"\[E003\].*future-plugin.*>=2.0"):
            tasks = fresh_plugins.get_tasks()
        assert "future" not in tasks and "sentiment" in tasks
        info = {i.name: i for i in fresh_plugins.plugin_infos()}["future-plugin"]
        assert info.status == "failed" and "E003" in info.error
    finally:
        fresh_plugins.unregister_plugin("future-plugin")


def test_every_hook_is_documented_with_its_signature():
    import inspect

    from nlp_tasks.registry import hookspecs

    docs = (Path(__file__).parent.parent / "docs" / "plugin_hooks.md").read_text(encoding="utf8")
    for name in sorted(n for n in dir(hookspecs) if n.startswith("register_")):
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"## {name}({params})" in docs, f"docs/plugin_hooks.md lacks {name}({params})"
        assert f"def test_hook_{name}(" in Path(__file__).read_text(encoding="utf8")
