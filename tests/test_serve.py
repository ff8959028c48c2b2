"""The HTTP service: answers as ``predict`` does, refuses bad input with coded JSON
and keeps serving, shares batches between concurrent requests, and its form page."""

import asyncio
import json
import math
import socket
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import spacy
from starlette.testclient import TestClient

import nlp_tasks
import nlp_tasks.errors
import nlp_tasks.inference
from nlp_tasks.errors import OptionError, RequestError
from nlp_tasks.registry.manager import get_task
from nlp_tasks.serve import Batcher, ServeSettings, make_app
from nlp_tasks.serve.app import unless_gone
from nlp_tasks.serve.limits import field_pairs
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

RECORDS = {
    "sentiment": [
        {"text": "I loved this film.", "label": "positive"},
        {"text": "Awful and boring.", "label": "negative"},
    ],
    "ner": [{"text": "Jane Smith visited Paris.", "entities": [[0, 10, "PER"], [19, 24, "LOC"]]}],
    "qa": [
        {
            "id": "who",
            "context": "Marta founded the bakery in 1987.",
            "question": "Who founded the bakery?",
            "answers": {"text": ["Marta"], "answer_start": [0]},
        }
    ],
    "similarity": [
        {"text_a": "A man is playing a flute.", "text_b": "A man plays the flute.", "score": 4.6},
        {
            "text_a": "A woman is slicing onions.",
            "text_b": "Jane Smith visited Paris.",
            "score": 0.2,
        },
    ],
}
TEXT = "Jane Smith visited Paris."
QUESTIONS = {"text": "Marta founded the bakery in 1987.", "questions": ["Who founded the bakery?"]}
PAIR = {"text_a": "A man is playing a flute.", "text_b": "A man plays the flute."}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Sentiment, NER, QA and similarity on a tiny backbone, trained two steps, saved
    and loaded back as ``nlp-tasks serve`` loads it. Returns (nlp, path)."""
    pytest.importorskip("nlp_tasks_qa")
    pytest.importorskip("nlp_tasks_similarity")
    root = tmp_path_factory.mktemp("served")
    texts = [
        r.get("text") or r.get("context") or r.get("text_a") for rs in RECORDS.values() for r in rs
    ]
    texts += ["Who founded the bakery?", "A man plays the flute."]
    backbone = make_tiny_backbone(root / "backbone", texts, special_tokens=True)
    tasks = list(RECORDS)
    config = make_config(tasks, backbone=str(backbone))
    for task in tasks:
        config["corpora"]["train"]["sources"][task] = "unused"
        config["corpora"]["dev"]["sources"][task] = "unused"
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [get_task(t).make_example(nlp, r) for t, rs in RECORDS.items() for r in rs]
    train_steps(nlp, nlp.initialize(lambda: examples), examples, steps=2, batch_size=8)
    nlp.to_disk(root / "pipeline")
    return nlp_tasks.load(root / "pipeline"), root / "pipeline"


@pytest.fixture(scope="module")
def nlp(served):
    return served[0]


@pytest.fixture(scope="module")
def client(nlp):
    """A client of the service with small bounds, shared by the tests that do not
    change the pipeline."""
    settings = ServeSettings(
        max_records=50, max_chars=500, max_body_bytes=20_000, max_list_items=8, max_wait_ms=1
    )
    with TestClient(make_app(nlp, settings)) as client:
        yield client


def assert_same(found, expected, path="$"):
    """Equal JSON, floats within 1e-5 (one batch pads its docs unlike another)."""
    if isinstance(expected, float) and isinstance(found, (int, float)):
        assert math.isclose(found, expected, abs_tol=1e-5), f"{path}: {found} != {expected}"
    elif isinstance(expected, dict):
        assert isinstance(found, dict) and list(found) == list(expected), path
        for key in expected:
            assert_same(found[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(found, list) and len(found) == len(expected), path
        for index, (x, y) in enumerate(zip(found, expected)):
            assert_same(x, y, f"{path}[{index}]")
    else:
        assert found == expected, f"{path}: {found!r} != {expected!r}"


def assert_serves(client) -> None:
    response = client.post("/predict", json=TEXT)
    assert response.status_code == 200, response.text
    assert response.json()["text"] == TEXT


# -- answers


@pytest.mark.parametrize(
    "body",
    [
        {"text": TEXT},
        TEXT,
        QUESTIONS,
        PAIR,
        [TEXT, "I loved this film."],
        [TEXT, PAIR, QUESTIONS, {"text": "Awful and boring."}],
    ],
    ids=["record", "string", "questions", "pair", "list", "mixed"],
)
def test_predict_answers_what_predict_gives(client, nlp, body):
    response = client.post("/predict", json=body)
    assert response.status_code == 200, response.text
    items = body if isinstance(body, list) else [body]
    expected = nlp_tasks.predict(nlp, items)
    assert_same(response.json(), expected if isinstance(body, list) else expected[0])


def test_each_record_gets_the_heads_of_its_kind(client):
    found = client.post("/predict", json=[TEXT, PAIR, QUESTIONS]).json()
    assert [set(record) for record in found] == [
        {"text", "sentiment", "ner"},
        {"text_a", "text_b", "similarity"},
        {"text", "questions", "sentiment", "ner", "qa"},
    ]


def test_field_parameters_rename_fields_as_predict_does(client, nlp):
    record = {"body": QUESTIONS["text"], "asked": QUESTIONS["questions"]}
    response = client.post(
        "/predict", params=[("field", "text=body"), ("field", "questions=asked")], json=record
    )
    assert response.status_code == 200, response.text
    fields = {"text": "body", "questions": "asked"}
    assert_same(response.json(), nlp_tasks.predict(nlp, [record], fields=fields)[0])


def test_an_empty_list_is_answered_with_an_empty_list(client):
    response = client.post("/predict", json=[])
    assert (response.status_code, response.json()) == (200, [])


def test_health_and_tasks(client, nlp):
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    tasks = client.get("/tasks").json()
    assert [t["component"] for t in tasks] == ["sentiment", "ner", "qa", "similarity"]
    by_task = {t["task"]: t for t in tasks}
    assert by_task["qa"]["extras"] == ["questions"]
    assert by_task["similarity"]["segments"] == ["text_a", "text_b"]
    assert by_task["ner"]["segments"] == ["text"] and by_task["ner"]["extras"] == []
    assert by_task["ner"]["factory"] == nlp.get_pipe_meta("ner").factory
    assert by_task["ner"]["plugin"] == "nlp-tasks-ner" and by_task["ner"]["version"]
    assert all(t["description"] for t in tasks)


# -- refusals: a coded JSON body, the right status, and the service goes on


def chunks(data: bytes, size: int = 1000):
    for start in range(0, len(data), size):
        yield data[start : start + size]


BAD = [
    ("not json", dict(content=b"{text: 'a'}"), 400, "E087"),
    ("not utf-8", dict(content=b'{"text": "caf\xe9"}'), 400, "E087"),
    ("empty body", dict(content=b""), 400, "E087"),
    ("too deep", dict(content=b"[" * 15_000), 400, "E087"),
    ("declared too large", dict(content=b'"' + b"a" * 30_000 + b'"'), 413, "E088"),
    ("streamed too large", dict(content=chunks(b'"' + b"a" * 30_000 + b'"')), 413, "E088"),
    ("too many records", dict(json=["a"] * 51), 413, "E089"),
    ("text too long", dict(json=[TEXT, {"text": "a" * 501}]), 413, "E090"),
    ("questions too long", dict(json={"text": TEXT, "questions": ["q" * 300] * 2}), 413, "E090"),
    ("text not a string", dict(json={"text": 5}), 422, "E011"),
    ("item a number", dict(json=[TEXT, 7]), 422, "E011"),
    ("no text field", dict(json={"txt": TEXT}), 422, "E011"),
    ("empty text", dict(json={"text": ""}), 422, "E122"),
    ("blank text in a list", dict(json=[TEXT, " \n "]), 422, "E122"),
    ("blank side of a pair", dict(json={"text_a": "A side.", "text_b": "  "}), 422, "E080"),
    ("half a pair", dict(json={"text_a": "A side."}), 422, "E011"),
    ("two inputs at once", dict(json={"text": TEXT, **PAIR}), 422, "E081"),
    ("questions not strings", dict(json={"text": TEXT, "questions": [1, 2]}), 422, "E054"),
    ("blank question", dict(json={"text": TEXT, "questions": ["Who?", " "]}), 422, "E054"),
    ("empty question", dict(json={"text": TEXT, "questions": [""]}), 422, "E054"),
    (
        "lone surrogate in a question",
        dict(content=b'{"text": "a", "questions": ["\\ud800?"]}'),
        422,
        "E054",
    ),
    ("too many questions", dict(json={"text": TEXT, "questions": ["Who?"] * 9}), 413, "E167"),
    ("lone surrogate", dict(content=b'{"text": "a\\ud800b"}'), 422, "E012"),
    ("unknown field", dict(json=TEXT, params={"field": "nope=x"}), 422, "E083"),
    ("field without =", dict(json=TEXT, params={"field": "questions"}), 422, "E091"),
    ("field mapped twice", dict(json=TEXT, params={"field": ["text=a", "text=b"]}), 422, "E153"),
]


@pytest.mark.parametrize("kwargs,status,code", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_requests_get_a_coded_json_error_and_the_service_goes_on(client, kwargs, status, code):
    response = client.post("/predict", **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["error"].startswith(f"[{code}]")
    assert "Traceback" not in response.text
    assert_serves(client)


def test_refusals_name_the_limits_and_the_values(client):
    error = client.post("/predict", json=["a"] * 51).json()["error"]
    assert "51 records" in error and "limit of 50" in error
    error = client.post("/predict", json=[TEXT, {"text": "a" * 501}]).json()["error"]
    assert "record 1" in error and "'text'" in error and "501" in error and "500" in error
    error = client.post("/predict", content=b'"' + b"a" * 30_000 + b'"').json()["error"]
    assert "30002 bytes" in error and "20000" in error
    error = client.post("/predict", json=[TEXT, 7]).json()["error"]
    assert "item 1" in error
    error = client.post("/predict", json=[TEXT, {"text": TEXT, "questions": ["Q?", ""]}]).json()
    assert "item 1: field 'questions'" in error["error"] and "empty or blank" in error["error"]
    error = client.post("/predict", json={"text": TEXT, "questions": ["Q?"] * 9}).json()["error"]
    assert "'questions' holds 9 items" in error and "limit of 8" in error


def test_ten_thousand_records_are_refused_at_once(nlp):
    settings = ServeSettings(max_records=256, max_body_bytes=1_000_000)
    with TestClient(make_app(nlp, settings)) as client:
        start = time.perf_counter()
        response = client.post("/predict", json=[TEXT] * 10_000)
        seconds = time.perf_counter() - start
        assert response.status_code == 413 and response.json()["code"] == "E089"
        assert "10000 records" in response.json()["error"]
        assert seconds < 5
        assert_serves(client)


@pytest.mark.parametrize(
    "method,path,status,code",
    [
        ("get", "/nope", 404, "E093"),
        ("post", "/predict/", 404, "E093"),
        ("get", "/predict", 405, "E094"),
        ("put", "/", 405, "E094"),
    ],
)
def test_unknown_routes_and_methods_get_coded_json(client, method, path, status, code):
    response = client.request(method.upper(), path)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert_serves(client)


def test_settings_and_field_pairs_are_checked():
    with pytest.raises(OptionError, match=r"\[E065\] max_batch_size"):
        ServeSettings(max_batch_size=0)
    with pytest.raises(OptionError, match=r"\[E065\] max_wait_ms"):
        ServeSettings(max_wait_ms=-1)
    with pytest.raises(OptionError, match=r"\[E065\] max_list_items"):
        ServeSettings(max_list_items=0)
    assert field_pairs(["questions=q", " text = body "]) == {"questions": "q", "text": "body"}
    with pytest.raises(RequestError, match=r"\[E091\]"):
        field_pairs(["=q"])


def test_a_field_setting_no_task_reads_is_refused_at_start(nlp):
    with pytest.raises(ValueError, match=r"\[E083\]"):
        make_app(nlp, ServeSettings(fields={"nope": "x"}))


def test_without_its_lifespan_the_service_answers_503(nlp):
    client = TestClient(make_app(nlp))
    response = client.post("/predict", json=TEXT)
    assert response.status_code == 503 and response.json()["code"] == "E095"


# -- batches


@pytest.fixture
def pipe_batches(nlp, monkeypatch):
    """The size of every ``nlp.pipe`` batch from here on; texts holding "BOOM"
    make the batch fail."""
    sizes: list[int] = []
    pipe = nlp.pipe

    def recording_pipe(docs, *args, **kwargs):
        if kwargs.get("as_tuples"):  # nlp_tasks.predict, for the expected outputs
            return pipe(docs, *args, **kwargs)
        docs = list(docs)
        sizes.append(len(docs))
        if any("BOOM" in doc.text for doc in docs):
            raise RuntimeError("the head broke on BOOM")
        return pipe(docs, *args, **kwargs)

    monkeypatch.setattr(nlp, "pipe", recording_pipe)
    return sizes


def test_concurrent_requests_share_batches_and_get_their_own_answers(nlp, pipe_batches):
    texts = [f"Jane Smith visited Paris on day {i}." for i in range(16)]
    expected = {text: nlp_tasks.predict(nlp, [text])[0] for text in texts}
    pipe_batches.clear()
    settings = ServeSettings(max_batch_size=32, max_wait_ms=300)
    with TestClient(make_app(nlp, settings)) as client:
        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(lambda text: client.post("/predict", json=text), texts))
        assert client.get("/health").json()["records"] == 16
    assert sum(pipe_batches) == 16
    assert len(pipe_batches) < 16, pipe_batches
    for text, response in zip(texts, responses):
        assert response.status_code == 200
        assert_same(response.json(), expected[text])


def test_a_request_larger_than_a_batch_is_split_and_answered_in_order(nlp, pipe_batches):
    texts = [f"Day {i}: Jane Smith visited Paris." for i in range(10)]
    settings = ServeSettings(max_batch_size=4, max_wait_ms=0)
    with TestClient(make_app(nlp, settings)) as client:
        response = client.post("/predict", json=texts)
    assert pipe_batches == [4, 4, 2]
    assert [record["text"] for record in response.json()] == texts


class LeavingClient:
    """The receive side of a request whose client disconnects after ``after`` seconds."""

    def __init__(self, after: float) -> None:
        self.after = after

    async def receive(self) -> dict:
        await asyncio.sleep(self.after)
        return {"type": "http.disconnect"}


def test_a_client_that_leaves_takes_its_queued_records_with_it():
    # The server does not cancel a handler whose client has gone: the service must
    # notice, or abandoned records keep the waiting clients behind them.
    release = threading.Event()

    def process(items):
        release.wait(10)
        return [item.upper() for item in items]

    async def scenario():
        batcher = Batcher(process, max_batch_size=2, max_wait_ms=0)
        await batcher.start()
        try:
            running = asyncio.ensure_future(batcher.submit(["first", "batch"]))
            await asyncio.sleep(0.05)  # the worker holds the first batch
            with pytest.raises(RequestError):
                await unless_gone(LeavingClient(0.05), batcher.submit(["a", "b", "c", "d"]))
            assert batcher.queued == 0
            staying = asyncio.ensure_future(
                unless_gone(LeavingClient(60), batcher.submit(["kept"]))
            )
            await asyncio.sleep(0.01)
            assert batcher.queued == 1
            release.set()
            assert await running == ["FIRST", "BATCH"]
            assert await staying == ["KEPT"]
            return batcher.items
        finally:
            release.set()
            await batcher.stop()

    # Only the first batch and the staying request's record were run.
    assert asyncio.run(scenario()) == 3


def test_stopping_answers_every_waiting_request_within_its_grace():
    # uvicorn waits for the requests in progress when told to stop, and a batch may
    # run for minutes: Ctrl+C must answer them (503) and exit without waiting for it.
    release = threading.Event()

    async def scenario(seconds_per_batch, timeout):
        def process(items):
            release.wait(seconds_per_batch)
            return [item.upper() for item in items]

        batcher = Batcher(process, max_batch_size=1, max_wait_ms=0)
        await batcher.start()
        running = asyncio.ensure_future(batcher.submit(["running"]))
        await asyncio.sleep(0.05)  # the worker holds the first batch
        queued = asyncio.ensure_future(batcher.submit(["queued"]))
        await asyncio.sleep(0.01)
        start = time.perf_counter()
        await batcher.stop(timeout)
        seconds = time.perf_counter() - start
        outcomes = await asyncio.gather(running, queued, return_exceptions=True)
        return seconds, outcomes

    try:
        seconds, (running, queued) = asyncio.run(scenario(60, 0.2))
        assert 0.15 < seconds < 2
        for outcome in (running, queued):
            assert isinstance(outcome, RequestError) and outcome.status == 503
            assert str(outcome).startswith("[E095]")
        busy = [t for t in threading.enumerate() if t.name == "nlp-tasks-serve" and t.is_alive()]
        assert busy and all(thread.daemon for thread in busy)  # the exit does not wait for it
    finally:
        release.set()
    # A batch that ends within the grace answers its request; the queued one is refused.
    release.clear()
    seconds, (running, queued) = asyncio.run(scenario(0.3, 10))
    assert running == ["RUNNING"] and isinstance(queued, RequestError) and seconds < 5


def test_the_server_answers_requests_in_progress_promptly_when_told_to_stop(nlp, monkeypatch):
    import nlp_tasks.serve.command as command

    monkeypatch.setattr(command, "STOP_GRACE_SECONDS", 0.5)
    release = threading.Event()
    pipe = nlp.pipe

    def stuck_pipe(docs, *args, **kwargs):
        docs = list(docs)
        release.wait(60)
        return pipe(docs, *args, **kwargs)

    monkeypatch.setattr(nlp, "pipe", stuck_pipe)
    port = free_port()
    app = make_app(nlp, ServeSettings(max_wait_ms=0))
    server = command.make_server(app, "127.0.0.1", port)
    thread = threading.Thread(target=server.run)  # no signals off the main thread
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.05)
        with ThreadPoolExecutor(1) as pool:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/predict", data=json.dumps(TEXT).encode()
            )

            def post():
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        return response.status, json.load(response)
                except urllib.error.HTTPError as error:
                    return error.code, json.load(error)

            answer = pool.submit(post)
            time.sleep(0.5)  # its batch is stuck in the pipeline
            start = time.monotonic()
            server.should_exit = True  # what Ctrl+C and SIGTERM do
            status, body = answer.result(timeout=20)
            thread.join(20)
            seconds = time.monotonic() - start
            left_running = app.state.batcher.batch_left_running  # what run_app exits on
    finally:
        release.set()
        server.should_exit = True
        thread.join(30)
    assert (status, body["code"]) == (503, "E095")
    assert not thread.is_alive() and seconds < 5
    assert left_running
    deadline = time.monotonic() + 30
    while app.state.batcher.batch_left_running and time.monotonic() < deadline:
        time.sleep(0.05)  # released: the batch ends
    assert not app.state.batcher.batch_left_running


def test_a_pipeline_error_gives_a_500_and_the_service_goes_on(nlp, pipe_batches):
    settings = ServeSettings(max_wait_ms=0)
    with TestClient(make_app(nlp, settings)) as client:
        response = client.post("/predict", json={"text": "BOOM goes the head."})
        assert response.status_code == 500
        body = response.json()
        assert body["code"] == "E092" and "RuntimeError: the head broke on BOOM" in body["error"]
        assert "Traceback" not in response.text
        assert_serves(client)


def test_a_failing_request_does_not_fail_the_others_in_its_batch(nlp, pipe_batches):
    texts = [f"Good text {i}." for i in range(6)]
    texts.insert(3, "BOOM text.")
    settings = ServeSettings(max_batch_size=32, max_wait_ms=300)
    with TestClient(make_app(nlp, settings)) as client:
        with ThreadPoolExecutor(len(texts)) as pool:
            responses = list(pool.map(lambda text: client.post("/predict", json=text), texts))
        assert_serves(client)
    assert [r.status_code for r in responses] == [200, 200, 200, 500, 200, 200, 200]
    assert [r.json()["text"] for r in responses if r.status_code == 200] == [
        t for t in texts if "BOOM" not in t
    ]


# -- the page


def test_the_page_has_a_field_for_each_input_the_tasks_read(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for name in ("text", "questions", "text_a", "text_b"):
        assert f'name="{name}"' in page
    assert "one per line" in page and 'method="post"' in page
    # Offline: nothing fetched from elsewhere.
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert "http://" not in page and "https://" not in page


def test_the_form_runs_the_pipeline_and_keeps_the_text_escaped(client, nlp):
    text = "<script>alert(1)</script> Jane Smith visited Paris."
    form = {"text": text, "questions": "Who visited Paris?\n\nWhere did she go?\n", "text_a": ""}
    response = client.post("/", data=form)
    assert response.status_code == 200, response.text
    page = response.text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Jane Smith visited Paris." in page
    assert 'name="text"' in page and "Who visited Paris?" in page
    expected = nlp_tasks.predict(nlp, [{"text": text, "questions": ["Who visited Paris?"]}])
    if expected[0]["ner"]["ents"]:
        assert '<mark class="entity"' in page


def test_the_form_shows_what_render_html_gives(client, monkeypatch):
    import nlp_tasks.views

    calls = []

    def fake_render_html(records, tasks, *, page=True):
        calls.append((records, tasks, page))
        return '<div class="fake-result">rendered</div>'

    monkeypatch.setattr(nlp_tasks.views, "render_html", fake_render_html)
    response = client.post("/", data={"text_a": "A flute.", "text_b": "A flute plays."})
    assert response.status_code == 200
    assert '<div class="fake-result">rendered</div>' in response.text
    ((records, tasks, page),) = calls
    assert page is False and list(tasks) == ["sentiment", "ner", "qa", "similarity"]
    assert set(records[0]) == {"text_a", "text_b", "similarity"}


@pytest.mark.parametrize(
    "form,status,code",
    [({"text": "   "}, 422, "E096"), ({"text_a": "Only one side."}, 422, "E011")],
)
def test_a_bad_form_shows_the_error_on_the_page(client, form, status, code):
    response = client.post("/", data=form)
    assert response.status_code == status
    assert f"[{code}]" in response.text and 'name="text"' in response.text
    assert_serves(client)


# -- the command


@pytest.fixture
def serve_cli():
    """The command alone in a typer app, run in this process."""
    import typer
    from typer.testing import CliRunner

    from nlp_tasks.serve.command import serve_command

    app = typer.Typer()
    app.command()(serve_command)
    return lambda *args: CliRunner().invoke(app, list(args))


def test_the_command_checks_its_options_before_loading(serve_cli):
    result = serve_cli("no-such-pipeline", "--field", "questions")
    assert result.exit_code == 2 and "[E091]" in result.output
    result = serve_cli("no-such-pipeline", "--max-batch-size", "0")
    assert result.exit_code == 2
    result = serve_cli("no-such-pipeline")
    assert isinstance(result.exception, nlp_tasks.errors.PipelineNotFoundError)


def test_a_port_in_use_fails_before_the_pipeline_loads(serve_cli, monkeypatch):
    def load(name):
        raise AssertionError("the pipeline must not load")

    monkeypatch.setattr(nlp_tasks.inference, "load", load)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = serve_cli("some/pipeline", "--port", str(port))
    assert isinstance(result.exception, nlp_tasks.errors.OptionError)
    assert f"[E133] Cannot listen on 127.0.0.1:{port}" in str(result.exception)


@pytest.mark.parametrize("host", ["256.1.1.1", "192.0.2.7"])  # no address; not this machine's
def test_a_host_that_is_not_this_machine_is_named_before_the_pipeline_loads(
    serve_cli, monkeypatch, host
):
    def load(name):
        raise AssertionError("the pipeline must not load")

    monkeypatch.setattr(nlp_tasks.inference, "load", load)
    result = serve_cli("some/pipeline", "--host", host)
    assert isinstance(result.exception, nlp_tasks.errors.OptionError)
    assert f"[E144] --host '{host}' is not an address or host name of this machine" in str(
        result.exception
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("host,warned", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_the_command_runs_uvicorn_with_the_settings(serve_cli, nlp, monkeypatch, host, warned):
    import uvicorn
    from starlette.applications import Starlette

    runs = []
    monkeypatch.setattr(nlp_tasks.inference, "load", lambda name, precision=None: nlp)
    monkeypatch.setattr(uvicorn.Server, "run", lambda server: runs.append(server.config))
    port = free_port()
    result = serve_cli("some/pipeline", "--host", host, "--port", str(port), "--field", "text=body")
    assert result.exit_code == 0, result.output
    (config,) = runs
    assert isinstance(config.app, Starlette)
    assert (config.host, config.port) == (host, port)
    assert config.timeout_graceful_shutdown is not None
    assert ("not loopback" in result.output) == warned


@pytest.mark.slow
def test_the_serve_command_answers_on_loopback(served, tmp_path, start_server):
    _, path = served
    with start_server(path, tmp_path / "serve.log") as base:
        request = urllib.request.Request(
            f"{base}/predict",
            data=json.dumps({"text": TEXT}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            record = json.load(response)
    assert record["text"] == TEXT and {"sentiment", "ner"} <= set(record)
    output = (tmp_path / "serve.log").read_text()
    assert "127.0.0.1" in output and "Traceback" not in output


def test_the_command_module_imports_nothing_heavy(python):
    result = python(
        "import sys, nlp_tasks.serve.command\n"
        "print(sorted(m for m in ('spacy', 'torch', 'starlette', 'uvicorn') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "stop, status",
    [(SystemExit(143), 143), (SystemExit(None), 0), (KeyboardInterrupt(), 130), (None, 0)],
)
def test_a_batch_left_running_at_stop_ends_the_process_at_once(nlp, monkeypatch, stop, status):
    # Finalizing the interpreter while the pipeline thread is inside torch aborted
    # the service (status 134) after Ctrl+C or SIGTERM with a batch in flight.
    import nlp_tasks.serve.command as command

    class LeftBatcher:
        batch_left_running = True

    class Server:
        def run(self):
            if stop is not None:
                raise stop

    class Exited(Exception):
        pass

    def exit_now(code):
        raise Exited(code)

    app = make_app(nlp, ServeSettings())
    app.state.batcher = LeftBatcher()
    monkeypatch.setattr(command, "make_server", lambda *args: Server())
    monkeypatch.setattr(command.os, "_exit", exit_now)
    with pytest.raises(Exited) as exited:
        command.run_app(app, "127.0.0.1", free_port())
    assert exited.value.args == (status,)
    LeftBatcher.batch_left_running = False
    if stop is None:
        command.run_app(app, "127.0.0.1", free_port())
    else:
        with pytest.raises(type(stop)):
            command.run_app(app, "127.0.0.1", free_port())
