"""The public corpora as project assets: project.yml's sources, its fetch and convert
steps, its two-stage workflows (`real`, and `all` on the sample corpus), and bench/
finding its data under a DATA root.

Offline: a server on 127.0.0.1 serves small files in each source's official
format (GLUE TSV, CoNLL-2003 columns, SQuAD v1.1 JSON, Multi30k gzip lines), and
the project's ``*_url`` variables point at it. The steps run on a copy of
project.yml in a temporary folder: nothing is written into the repository.
"""

import ast
import gzip
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import srsly
import typer
from typer.testing import CliRunner

from nlp_tasks.convert.command import CONTEXT_SETTINGS, convert_command
from nlp_tasks.fetch.command import fetch_command, holdout_command
from nlp_tasks.fetch.testing import serve_files
from nlp_tasks.registry import get_task

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("sentiment", "ner", "qa", "translation", "similarity")
FETCH = [f"fetch-{task}" for task in TASKS]
CORPUS = [f"corpus-{task}" for task in TASKS]
TRAIN = ["config-real", "train-real", "add-real", "evaluate-real", "package-real"]

# -- small files in the sources' own formats

SST2 = (
    "sentence\tlabel\n"
    "a gorgeous , witty , seductive movie . \t1\n"
    "gorgeous \t1\n"
    "witty , seductive \t1\n"
    "the plot is nothing but boilerplate clichés from start to finish \t0\n"
    "boilerplate clichés \t0\n"
    "from start to finish \t0\n"
    "an utterly charming and hilarious film that reminded me why i love movies \t1\n"
    "charming and hilarious \t1\n"
    'the "twist" is obvious from the first reel and dull by the last \t0\n'
    "dull \t0\n"
)
CONLL = (
    "-DOCSTART- -X- O O\n\n"
    "EU NNP I-NP I-ORG\nrejects VBZ I-VP O\nGerman JJ I-NP I-MISC\ncall NN I-NP O\n"
    ". . O O\n\n"
    "Peter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\n"
    "-DOCSTART- -X- O O\n\n"
    "BRUSSELS NNP I-NP I-LOC\n1996-08-22 CD I-NP O\n\n"
)
CONLL_DEV = (
    "-DOCSTART- -X- O O\n\n"
    "CRICKET NNP I-NP O\n- : O O\nLEICESTERSHIRE NNP I-NP I-ORG\nTAKE NNP I-NP O\n\n"
)


def squad(title: str, context: str, qas: list[tuple[str, str]]) -> bytes:
    questions = [
        {
            "id": f"{title}-{n}",
            "question": question,
            "answers": [{"text": answer, "answer_start": context.index(answer)}],
        }
        for n, (question, answer) in enumerate(qas)
    ]
    data = [{"title": title, "paragraphs": [{"context": context, "qas": questions}]}]
    return json.dumps({"version": "1.1", "data": data}).encode()


def lines_gz(*lines: str) -> bytes:
    return gzip.compress("".join(line + "\n" for line in lines).encode())


STSB = "".join(
    "\t".join([str(n), genre, "MSRvid", "2012test", f"{n:04d}", "none", "none", a, b, score]) + "\n"
    for n, (genre, a, b, score) in enumerate(
        [
            ("main-captions", "A plane is taking off.", "An air plane is taking off.", "5.000"),
            ("main-captions", "A man is playing a flute.", "A man is playing a guitar.", "2.200"),
            ("main-news", "Stocks fell on Monday.", "Shares dropped on Monday.", "4.400"),
            ("main-forum", "I like tea.", "The sky is blue.", "0.000"),
            ("main-captions", "A cat sleeps.", "A kitten is sleeping.", "4.000"),
        ]
    )
)

FILES = {
    "/SST-2/train.tsv": SST2.encode(),
    "/conll2003/eng.train": CONLL.encode(),
    "/conll2003/eng.testa": CONLL_DEV.encode(),
    "/squad/train-v1.1.json": squad(
        "Normans",
        "The Normans were the people who gave their name to Normandy, a region in France.",
        [("Who gave their name to Normandy?", "The Normans"), ("Where is it?", "France")],
    ),
    "/squad/dev-v1.1.json": squad(
        "Warsaw", "Warsaw is the capital of Poland.", [("What is Warsaw?", "the capital")]
    ),
    "/multi30k/train.en.gz": lines_gz("A dog runs.", "Two men talk. "),
    "/multi30k/train.de.gz": lines_gz("Ein Hund rennt.", "Zwei Männer reden."),
    "/multi30k/val.en.gz": lines_gz("A girl sings."),
    "/multi30k/val.de.gz": lines_gz("Ein Mädchen singt."),
    "/STS-B/train.tsv": STSB.encode(),
}
URLS = {
    "sst2": "/SST-2/train.tsv",
    "conll_train": "/conll2003/eng.train",
    "conll_dev": "/conll2003/eng.testa",
    "squad_train": "/squad/train-v1.1.json",
    "squad_dev": "/squad/dev-v1.1.json",
    "multi30k_train_en": "/multi30k/train.en.gz",
    "multi30k_train_de": "/multi30k/train.de.gz",
    "multi30k_dev_en": "/multi30k/val.en.gz",
    "multi30k_dev_de": "/multi30k/val.de.gz",
    "stsb": "/STS-B/train.tsv",
}
SUMMARIZATION = [
    {
        "text": "The council met. It voted to build a bridge.",
        "summary": "It voted to build a bridge.",
    }
]


def overrides(server, summarization: Path | None = None) -> dict[str, str]:
    """The project variables that point every source at the loopback server."""
    values = {}
    for name, path in URLS.items():
        values[f"vars.{name}_url"] = server.url(path)
        values[f"vars.{name}_md5"] = hashlib.md5(FILES[path]).hexdigest()
    values["vars.sst2_dev_size"] = "2"
    values["vars.stsb_dev_size"] = "2"
    if summarization is not None:
        values["vars.summarization_data"] = str(summarization)
    return values


@pytest.fixture
def server():
    with serve_files(FILES) as running:
        yield running


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project's project.yml in a folder of its own."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(ROOT / "project.yml", folder / "project.yml")
    return folder


def summarization_folder(root: Path) -> Path:
    folder = root / "my-summaries"
    folder.mkdir()
    for split in ("train", "dev"):
        (folder / f"{split}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in SUMMARIZATION), encoding="utf8"
        )
    return folder


def check_corpus(corpus: Path, tasks=(*TASKS, "summarization")) -> dict[str, dict[str, list]]:
    """Every task's train and dev records, each accepted by the task's make_example."""
    import spacy

    nlp = spacy.blank("en")
    found = {}
    for task in tasks:
        found[task] = {}
        for split in ("train", "dev"):
            path = corpus / task / f"{split}.jsonl"
            records = [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]
            assert records, path
            for record in records:
                get_task(task).make_example(nlp, record)
            found[task][split] = records
    return found


def check_records(found: dict[str, dict[str, list]]) -> None:
    sentiment = found["sentiment"]
    assert len(sentiment["dev"]) == 2
    dev_texts = [" ".join(r["text"].split()) for r in sentiment["dev"]]
    for record in sentiment["train"]:  # no dev sentence, nor any part of one, in train
        assert not any(f" {' '.join(record['text'].split())} " in f" {d} " for d in dev_texts)
    assert {r["label"] for r in sentiment["train"] + sentiment["dev"]} <= {"positive", "negative"}
    # NER trains on each document, then its sentences alone; dev stays sentences.
    first = {
        "tokens": ["EU", "rejects", "German", "call", "."],
        "tags": ["B-ORG", "O", "B-MISC", "O", "O"],
        "doc_id": 0,
    }
    train = found["ner"]["train"]
    assert train[0]["tokens"] == first["tokens"] + ["Peter", "Blackburn"]
    assert train[0]["sentences"] == [5, 2]
    assert train[1] == first
    assert [(r["doc_id"], "sentences" in r) for r in train] == [
        (0, True),
        (0, False),
        (0, False),
        (1, True),
        (1, False),
    ]
    assert [len(r["tokens"]) for r in found["ner"]["dev"]] == [4]
    assert found["qa"]["dev"][0]["answers"] == {"text": ["the capital"], "answer_start": [10]}
    assert found["translation"]["train"][1] == {"src": "Two men talk.", "tgt": "Zwei Männer reden."}
    similarity = found["similarity"]
    assert len(similarity["dev"]) == 2 and len(similarity["train"]) == 3
    for record in similarity["train"] + similarity["dev"]:
        assert isinstance(record["score"], float) and record["genre"].startswith("main-")


# -- project.yml: the sources


def load_project() -> dict:
    return srsly.read_yaml(ROOT / "project.yml")


def test_every_source_has_a_variable_an_asset_and_a_fetch_step():
    project = load_project()
    variables = project["vars"]
    urls = sorted(name[: -len("_url")] for name in variables if name.endswith("_url"))
    assert urls == sorted(URLS)
    assets = {asset["url"]: asset for asset in project["assets"]}
    commands = {command["name"]: command for command in project["commands"]}
    fetched = [line for name in FETCH for line in commands[name]["script"]]
    for name in urls:
        asset = assets[f"${{vars.{name}_url}}"]
        assert asset["description"]
        # The asset states the checksum the fetch step checks, or says there is none.
        assert asset.get("checksum", "") == variables[f"{name}_md5"]
        if not variables[f"{name}_md5"]:
            assert "checksum not published" in asset["description"].lower()
        (line,) = [line for line in fetched if f"${{vars.{name}_url}} " in line]
        assert shlex.split(line)[:3] == ["nlp-tasks", "fetch", f"${{vars.{name}_url}}"]
        assert shlex.split(line)[3] == asset["dest"]
        assert line.endswith(f" --md5=${{vars.{name}_md5}}")
        url = variables[f"{name}_url"]
        # GitHub files are pinned to a commit.
        if url.startswith("https://raw.githubusercontent.com/"):
            assert re.match(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/", url)
        else:
            assert url.startswith("https://rajpurkar.github.io/SQuAD-explorer/dataset/")


def test_the_real_workflows():
    project = load_project()
    workflows = project["workflows"]
    assert workflows["corpora"] == FETCH + CORPUS
    assert workflows["real"] == FETCH + CORPUS + TRAIN
    assert workflows["real-own"] == TRAIN
    assert project["vars"]["real_data"] == "corpus"
    commands = {command["name"]: command for command in project["commands"]}
    # Each conversion reads what a fetch step wrote, and writes <task>/{train,dev}.jsonl.
    fetched = {out for name in FETCH for out in commands[name]["outputs"]}
    for task in TASKS:
        corpus = commands[f"corpus-{task}"]
        assert set(corpus["deps"]) <= fetched
        assert {f"corpus/{task}/train.jsonl", f"corpus/{task}/dev.jsonl"} <= set(corpus["outputs"])
    for name in ("train-real", "add-real", "evaluate-real"):
        assert "${vars.real_data}" in " ".join(commands[name]["script"])
    # Nothing in project.yml lies outside the repository.
    assert "../" not in (ROOT / "project.yml").read_text(encoding="utf8")


@pytest.mark.parametrize(
    "prefix, step, start, tasks",
    [
        ("", "add", "training/joint/model-best", (*TASKS, "summarization")),
        ("real_", "add-real", "training/real/model-best", TASKS),
    ],
)
def test_the_workflows_train_the_heads_that_write_text_after_the_others(
    tiny_backbone, prefix, step, start, tasks
):
    # W014's route, in `all` and in `real`: no head of the joint run writes text,
    # and every added one does.
    from weasel.util import load_project_config

    from nlp_tasks.training.config import make_config

    variables = load_project()["vars"]
    joint = variables[f"{prefix}tasks"].split(",")
    added = variables[f"{prefix}added_tasks"].split(",")
    assert set(joint) | set(added) == set(tasks) and not set(joint) & set(added)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_config(joint, backbone=str(tiny_backbone))
        assert not [w for w in caught if "[W014]" in str(w.message)]
        make_config(joint + added, backbone=str(tiny_backbone))
    (warned,) = [str(w.message) for w in caught if "[W014]" in str(w.message)]
    assert f"[W014] {', '.join(added)} write(s) text" in warned
    # "" adds none: the step passes add-task an empty task list, not a missing argument.
    config = load_project_config(ROOT, overrides={f"vars.{prefix}added_tasks": ""})
    (command,) = [c for c in config["commands"] if c["name"] == step]
    (line,) = command["script"]
    assert shlex.split(line)[:4] == ["nlp-tasks", "add-task", start, ""]


# -- the fetch and convert steps


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("fetch")(fetch_command)
    cli.command("holdout")(holdout_command)
    cli.command("convert", context_settings=CONTEXT_SETTINGS)(convert_command)
    return cli


def run_in_process(project: Path, names: list[str], values: dict[str, str]) -> None:
    """Run the project's commands' script lines with the command line's functions."""
    from weasel.util import load_project_config

    config = load_project_config(project, overrides=values)
    commands = {command["name"]: command for command in config["commands"]}
    cli = app()
    for name in names:
        for line in commands[name]["script"]:
            args = shlex.split(line)
            assert args[0] == "nlp-tasks", line
            result = CliRunner().invoke(cli, args[1:], catch_exceptions=False)
            assert result.exit_code == 0, f"{line}\n{result.output}"


def test_the_fetch_and_convert_steps_make_every_corpus(server, project, monkeypatch):
    monkeypatch.chdir(project)
    values = overrides(server, summarization_folder(project.parent))
    run_in_process(project, [*FETCH, *CORPUS, "corpus-summarization"], values)
    check_records(check_corpus(project / "corpus"))
    assert all(server.count(path) == 1 for path in FILES)
    # The files are there and verified: a second run downloads nothing.
    run_in_process(project, FETCH, values)
    assert all(server.count(path) == 1 for path in FILES)
    assert not [p for p in project.rglob("*") if ".partial" in p.name]


def test_a_changed_source_fails_its_checksum_and_leaves_nothing(server, project, monkeypatch):
    monkeypatch.chdir(project)
    values = overrides(server)
    values["vars.sst2_md5"] = "0" * 32
    with pytest.raises(Exception, match=r"\[E128\]"):
        run_in_process(project, ["fetch-sentiment"], values)
    assert list((project / "corpus" / "raw" / "sst2").iterdir()) == []


def nlp_tasks_env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if shutil.which("nlp-tasks") is None:  # the tests' interpreter's scripts
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.slow
def test_spacy_project_run_corpora_against_a_loopback_server(server, project):
    values = overrides(server, summarization_folder(project.parent))
    args = [f"--{name}={value}" for name, value in values.items()]
    command = [sys.executable, "-m", "spacy", "project", "run"]
    for name in ("corpora", "corpus-summarization"):
        result = subprocess.run(
            [*command, name, str(project), *args],
            capture_output=True,
            text=True,
            env=nlp_tasks_env(),
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    check_records(check_corpus(project / "corpus"))
    # A second run skips the steps whose inputs and outputs have not changed.
    result = subprocess.run(
        [*command, "corpora", str(project), *args],
        capture_output=True,
        text=True,
        env=nlp_tasks_env(),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Skipping 'fetch-sentiment'" in result.stdout
    assert all(server.count(path) == 1 for path in FILES)


def run_workflow_without_w014(project: Path, workflow: str, values: dict[str, str]) -> None:
    """`spacy project run WORKFLOW` in a fresh interpreter; it succeeds and never warns W014."""
    args = [f"--{name}={value}" for name, value in values.items()]
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", workflow, str(project), *args],
        capture_output=True,
        text=True,
        env=nlp_tasks_env(),
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "[W014]" not in result.stdout + result.stderr


@pytest.mark.slow
def test_spacy_project_run_real_trains_then_adds_then_scores_and_packages(server, project):
    # The whole `real` workflow on the loopback corpora, a few steps each, with the
    # offline default backbone: the joint run, add-task, evaluate and package.
    values = overrides(server)
    values.update({"vars.real_max_steps": "4", "vars.real_added_max_steps": "4"})
    run_workflow_without_w014(project, "real", values)
    import spacy

    joint = spacy.load(project / "training" / "real" / "model-best")
    final = spacy.load(project / "training" / "real-added" / "model-best")
    assert final.pipe_names == [*joint.pipe_names, "translation"]
    scores = json.loads((project / "metrics" / "real-dev.json").read_text(encoding="utf8"))
    assert set(scores["components"]) == set(TASKS), scores
    assert "translation_bleu" in scores["scores"], scores
    package = project / "packages" / "en_nlp_tasks_real-0.1.0"
    assert (package / "setup.py").is_file()


@pytest.mark.slow
def test_spacy_project_run_all_trains_then_adds_then_scores_and_packages(project):
    # The README's main job on the sample corpus, a few steps each: the joint run,
    # the added text-writing head, evaluate, demo and package, without W014.
    folder = project
    shutil.copytree(ROOT / "assets", folder / "assets")
    values = {"vars.max_steps": "4", "vars.added_max_steps": "4", "vars.eval_frequency": "2"}
    run_workflow_without_w014(folder, "all", values)
    import spacy

    variables = load_project()["vars"]
    joint = spacy.load(folder / "training" / "joint" / "model-best")
    final = spacy.load(folder / "training" / "model-best")
    assert final.pipe_names == [*joint.pipe_names, *variables["added_tasks"].split(",")]
    scores = json.loads((folder / "metrics" / "dev.json").read_text(encoding="utf8"))
    assert set(scores["components"]) == {*TASKS, "summarization"}, scores
    assert "translation_bleu" in scores["scores"], scores
    assert (folder / "metrics" / "demo.html").is_file()
    assert (folder / "packages" / "en_nlp_tasks_demo-0.1.0" / "setup.py").is_file()


# -- bench/ finds its data under DATA


def code_lines(path: Path) -> list[str]:
    """The lines of a bench script that are code: no docstrings, no comments."""
    text = path.read_text(encoding="utf8")
    if path.suffix == ".sh":
        return [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    docstrings = set()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    return [
        line.split("#")[0]
        for number, line in enumerate(text.splitlines(), start=1)
        if number not in docstrings
    ]


BENCH_SCRIPTS = sorted(
    path.relative_to(ROOT).as_posix()
    for pattern in ("*.py", "*.sh", "gpu/*.py", "gpu/*.sh")
    for path in (ROOT / "bench").glob(pattern)
)


@pytest.mark.parametrize("script", BENCH_SCRIPTS)
def test_bench_scripts_hard_code_no_path_outside_the_repository(script):
    for line in code_lines(ROOT / script):
        assert not re.search(r'["/]shared["/]', line) and "../" not in line, line
