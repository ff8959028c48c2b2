"""One pipeline, a mixed stream: texts and sentence pairs, each to the heads meant for it.

The pair task is the built-in similarity plugin, installed like any third-party
plugin and found through its entry points.
"""

import json
import multiprocessing
import subprocess
import sys

import pytest

import nlp_tasks
from nlp_tasks.batch import process_file, process_records
from nlp_tasks.batch.files import checkpoint_path

PAIRS = [
    {"text_a": "A man is playing a flute.", "text_b": "A man plays the flute.", "score": 4.6},
    {"text_a": "A woman is slicing onions.", "text_b": "Jane Smith visited Paris.", "score": 0.2},
    {"text_a": "I loved this film.", "text_b": "The film was wonderful.", "score": 3.8},
    {"text_a": "Acme Corp opened in London.", "text_b": "Acme opened in London.", "score": 4.8},
]
TEXT_KEYS = {"line", "sentiment", "ner"}
PAIR_KEYS = {"line", "similarity"}


@pytest.fixture(scope="module")
def mixed_pipeline(tiny_backbone, data_dir, tmp_path_factory):
    """Sentiment + NER + similarity on the tiny backbone, trained a few steps, saved."""
    pytest.importorskip("nlp_tasks_similarity")
    from spacy.training.initialize import init_nlp

    from nlp_tasks.testing import train_steps
    from nlp_tasks.training.config import make_config
    from nlp_tasks.training.corpus import MultiTaskCorpus

    root = tmp_path_factory.mktemp("mixed")
    for task in ("sentiment", "ner"):
        for split in ("train", "dev"):
            (root / task).mkdir(exist_ok=True)
            (root / task / f"{split}.jsonl").write_bytes(
                (data_dir / task / f"{split}.jsonl").read_bytes()
            )
    for split in ("train", "dev"):
        write_jsonl(root / "similarity" / f"{split}.jsonl", PAIRS)
    tasks = ("sentiment", "ner", "similarity")
    config = make_config(list(tasks), backbone=str(tiny_backbone), max_steps=10)
    config["paths"]["data"] = str(root)
    config["training"]["optimizer"]["learn_rate"] = 0.002
    nlp = init_nlp(config.interpolate())
    examples = list(MultiTaskCorpus({t: root / t / "train.jsonl" for t in tasks})(nlp))
    train_steps(nlp, nlp.create_optimizer(), examples, steps=6, batch_size=8)
    path = root / "pipeline"
    nlp.to_disk(path)
    return nlp, path


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")
    return path


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def mixed_records(n: int) -> list[dict]:
    records = []
    for i in range(n):
        if i % 2:
            pair = PAIRS[i % len(PAIRS)]
            records.append({"id": i, "text_a": pair["text_a"], "text_b": pair["text_b"]})
        else:
            records.append({"id": i, "text": f"Jane Smith visited Paris on day {i}."})
    return records


def test_predict_gives_each_record_the_heads_of_its_kind(mixed_pipeline):
    nlp, _ = mixed_pipeline
    output = nlp_tasks.predict(
        nlp,
        [
            "I loved this film.",
            {"text_a": "A man is playing a flute.", "text_b": "A man plays the flute."},
            {"text": "The service was slow."},
        ],
    )
    assert [set(record) - {"text", "text_a", "text_b"} for record in output] == [
        {"sentiment", "ner"},
        {"similarity"},
        {"sentiment", "ner"},
    ]
    assert output[1]["text_a"] == "A man is playing a flute."
    assert 0.0 <= output[1]["similarity"]["score"] <= 1.0


def test_process_keeps_order_and_sends_bad_pairs_to_the_errors_file(mixed_pipeline, tmp_path):
    nlp, path = mixed_pipeline
    records = mixed_records(20)
    records[3] = {"id": 3, "text_a": "Only one side."}
    records[5] = {"id": 5, "text_a": "A side.", "text_b": "   "}
    corpus = write_jsonl(tmp_path / "in.jsonl", records)
    output = tmp_path / "out.jsonl"
    summary = process_file(path, corpus, output, batch_size=4, progress=False)
    assert (summary.processed, summary.failed) == (18, 2)
    rows = read_jsonl(output)
    assert [row["id"] for row in rows] == [i for i in range(20) if i not in (3, 5)]
    for row in rows:
        assert set(row) - {"id"} == (PAIR_KEYS if row["id"] % 2 else TEXT_KEYS)
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert [(e["line"], e["code"]) for e in errors] == [(4, "E050"), (6, "E080")]
    assert "'text_b'" in errors[0]["error"] and "'text_b'" in errors[1]["error"]
    # The Python API agrees with the file run.
    results = list(process_records(nlp, records, batch_size=4))
    assert [r.output for r in results if r.ok] == [
        {k: v for k, v in row.items() if k not in ("line", "id")} for row in rows
    ]


def test_a_csv_of_pairs_under_other_column_names(mixed_pipeline, tmp_path):
    _, path = mixed_pipeline
    corpus = tmp_path / "pairs.csv"
    corpus.write_text("left,right\nA man plays.,A man is playing.\n", encoding="utf8")
    output = tmp_path / "out.jsonl"
    fields = {"text_a": "left", "text_b": "right"}
    process_file(path, corpus, output, fields=fields, include_text=True, progress=False)
    row = json.loads(output.read_text())
    assert set(row) == {"line", "text_a", "text_b", "similarity"}
    assert row["text_a"] == "A man plays."


@pytest.mark.slow
def test_a_killed_mixed_run_resumes_to_the_same_bytes(mixed_pipeline, tmp_path, killed_run):
    _, path = mixed_pipeline
    corpus = write_jsonl(tmp_path / "in.jsonl", mixed_records(240))
    reference = tmp_path / "reference.jsonl"
    process_file(path, corpus, reference, batch_size=8, progress=False)
    output = tmp_path / "out.jsonl"
    checkpoint = checkpoint_path(output)
    args = [str(path), str(corpus), str(output), "--batch-size", "8", "--no-progress"]
    command = [sys.executable, "-c", "from nlp_tasks.cli import main; main()", "process", *args]
    state = killed_run(command, checkpoint)
    assert 0 < state["done"] < 240 and not state["complete"], "killed in mid-run"
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"resumed after line {state['done']}" in result.stderr
    assert output.read_bytes() == reference.read_bytes()


@pytest.mark.slow
def test_worker_processes_give_the_same_mixed_output(mixed_pipeline, tmp_path):
    _, path = mixed_pipeline
    corpus = write_jsonl(tmp_path / "in.jsonl", mixed_records(60))
    single, multi = tmp_path / "single.jsonl", tmp_path / "multi.jsonl"
    process_file(path, corpus, single, batch_size=8, progress=False)
    process_file(path, corpus, multi, batch_size=8, n_process=2, progress=False)
    # The workers have exited when it returns: a wait left to the interpreter's exit
    # turned a Ctrl+C after the summary into a traceback.
    assert multiprocessing.active_children() == []
    a, b = read_jsonl(single), read_jsonl(multi)
    assert [(r["id"], set(r)) for r in a] == [(r["id"], set(r)) for r in b]
    for x, y in zip(a, b):
        if "similarity" in x:
            assert x["similarity"]["score"] == pytest.approx(y["similarity"]["score"], abs=1e-5)


@pytest.mark.slow
def test_the_ray_engine_reads_a_mixed_stream_as_the_local_engine(mixed_pipeline, tmp_path):
    pytest.importorskip("ray.data")
    _, path = mixed_pipeline
    records = mixed_records(30)
    records[7] = {"id": 7, "text_a": "One side only."}
    corpus = write_jsonl(tmp_path / "in.jsonl", records)
    local, ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    process_file(path, corpus, local, batch_size=4, progress=False)
    summary = process_file(
        path,
        corpus,
        ray,
        batch_size=4,
        engine="ray",
        n_process=2,
        threads=1,
        ray_init={"num_cpus": 2},
        progress=False,
    )
    assert (summary.processed, summary.failed) == (29, 1)
    a, b = read_jsonl(local), read_jsonl(ray)
    assert [(r["id"], set(r)) for r in a] == [(r["id"], set(r)) for r in b]
    assert (tmp_path / "ray.errors.jsonl").read_bytes() == (
        tmp_path / "local.errors.jsonl"
    ).read_bytes()


def test_predict_reads_a_file_of_pairs_and_texts(mixed_pipeline, tmp_path, cli):
    _, path = mixed_pipeline
    pair = {"id": "p1", "left": "A man plays.", "text_b": "A man is playing."}
    corpus = tmp_path / "in.jsonl"
    # A blank line between the records: the outputs still say which line each is.
    corpus.write_text(json.dumps(pair) + "\n\n" + json.dumps({"text": "A fine film."}) + "\n")
    result = cli("predict", str(path), "--file", str(corpus), "--field", "text_a=left")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert set(lines[0]) == {"line", "id", "text_a", "text_b", "similarity"}
    assert (lines[0]["line"], lines[0]["id"]) == (1, "p1")
    assert set(lines[1]) == {"line", "text", "sentiment", "ner"} and lines[1]["line"] == 3
    given = cli(
        "predict", str(path), "A text given.", "--file", str(corpus), "--field", "text_a=left"
    )
    assert [json.loads(line).get("line") for line in given.stdout.splitlines()] == [None, 1, 3]
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text_a": "One side."}])
    refused = cli("predict", str(path), "--file", str(bad))
    assert refused.returncode == 1 and "[E050]" in refused.stderr and "line 1" in refused.stderr


def test_make_doc_gives_nlp_a_pair(mixed_pipeline):
    nlp, _ = mixed_pipeline
    pair = {"text_a": "A man is playing a flute.", "text_b": "A man plays the flute."}
    doc = nlp(nlp_tasks.make_doc(nlp, pair))
    assert doc._.similarity == pytest.approx(
        nlp_tasks.predict(nlp, [pair])[0]["similarity"]["score"]
    )
    assert doc.cats == {} and not doc.ents, "the document heads pass a pair over"
    plain = nlp(nlp_tasks.make_doc(nlp, "I loved this film."))
    assert plain._.similarity is None and plain.cats
    with pytest.raises(ValueError, match=r"\[E080\] predict: item 0: field 'text_b' is empty"):
        nlp_tasks.make_doc(nlp, {"text_a": "One.", "text_b": " "})


def test_a_parquet_output_of_a_mixed_stream_has_every_head_as_a_column(mixed_pipeline, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    _, path = mixed_pipeline
    # Texts first, pairs later: the similarity column appears mid-file.
    records = [r for r in mixed_records(16) if "text" in r] + [
        r for r in mixed_records(16) if "text_a" in r
    ]
    corpus = write_jsonl(tmp_path / "in.jsonl", records)
    jsonl, parquet = tmp_path / "out.jsonl", tmp_path / "out.parquet"
    process_file(path, corpus, jsonl, batch_size=4, progress=False)
    expected = read_jsonl(jsonl)
    # One part, and parts of 4 rows, the first parts without the similarity column.
    for part_rows in (10_000, 4):
        process_file(
            path,
            corpus,
            parquet,
            batch_size=4,
            parquet_part_rows=part_rows,
            overwrite=True,
            progress=False,
        )
        rows = pq.read_table(parquet).to_pylist()
        assert [r["id"] for r in rows] == [r["id"] for r in expected]
        for row, want in zip(rows, expected):
            assert {key for key, value in row.items() if value is not None} == set(want)


def test_an_evaluation_runs_each_head_on_its_own_task_s_docs_only(mixed_pipeline, data_dir):
    # The dev docs of a multi-task corpus are each for one task: another
    # head's output on them would be thrown away by every scorer, so it is not
    # computed, and the figures are those of scoring each task alone.
    from nlp_tasks.training.corpus import MultiTaskCorpus
    from nlp_tasks.training.evaluate import evaluate

    nlp, _ = mixed_pipeline
    sources = {t: data_dir / t / "dev.jsonl" for t in ("sentiment", "ner")}
    examples = list(MultiTaskCorpus(sources)(nlp))
    docs = list(nlp.pipe(eg.predicted for eg in examples))
    n_sentiment = len(examples) - len(list(MultiTaskCorpus({"ner": sources["ner"]})(nlp)))
    assert all(doc.cats for doc in docs[:n_sentiment])
    assert not any(doc.cats for doc in docs[n_sentiment:])
    # The same texts, not read from a corpus, get every head.
    assert all(doc.cats for doc in nlp.pipe(doc.text for doc in docs[n_sentiment:]))
    together = evaluate(nlp, sources)["components"]
    alone = {t: evaluate(nlp, {t: sources[t]})["components"][t] for t in sources}
    assert together["sentiment"] == alone["sentiment"]
    assert together["ner"] == alone["ner"]


def test_add_task_check_compares_a_pair_head_on_pairs(mixed_pipeline):
    # add-task's "existing heads unchanged" check must run every head: a pair
    # head compared on plain texts would never run, and pass without looking.
    from nlp_tasks.training.extend import compare_outputs

    _, path = mixed_pipeline
    texts = ["A man plays the flute.", "Acme opened in London.", "I loved it.", ""]
    before, after = nlp_tasks.load(path), nlp_tasks.load(path)
    same = compare_outputs(before, after, texts)
    assert {name: (r.compared, r.changed) for name, r in same.items()} == {
        "sentiment": (4, 0),
        "ner": (4, 0),
        "similarity": (3, 0),
    }
    for node in after.get_pipe("similarity").model.walk():
        for name in node.param_names:
            if node.has_param(name):
                node.set_param(name, node.get_param(name) + 0.5)
    changed = compare_outputs(before, after, texts)
    assert changed["similarity"].changed > 0
    assert changed["sentiment"].changed == changed["ner"].changed == 0
