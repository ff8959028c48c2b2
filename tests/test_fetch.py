"""``nlp-tasks fetch`` and ``nlp-tasks holdout``: downloads that resume, verify and
leave nothing partial, and dev splits held out of a training file.

Offline: every file is served from memory by a server on 127.0.0.1
(``nlp_tasks.fetch.testing``), shut down after each test.
"""

import hashlib
import json
import os
import socket
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from nlp_tasks.errors import ConvertError, DataError, FetchError, NlpTasksError
from nlp_tasks.fetch import fetch, hold_out, partial_path, record_path
from nlp_tasks.fetch.command import fetch_command, holdout_command
from nlp_tasks.fetch.testing import serve_files

DATA = os.urandom(300_000)
MD5 = hashlib.md5(DATA).hexdigest()
SHA256 = hashlib.sha256(DATA).hexdigest()
OTHER = os.urandom(450_000)


@pytest.fixture
def server():
    with serve_files({"/data/train.tsv": DATA}) as running:
        yield running


@pytest.fixture
def plain_server():
    """A server that ignores Range requests, answering each with the whole file."""
    with serve_files({"/data/train.tsv": DATA}, ranges=False) as running:
        yield running


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


def interrupt(server, path: str, output: Path, after: int) -> None:
    """A download of ``path`` to ``output`` whose connection drops after ``after``
    bytes, not resumed: it leaves the partial file and its record."""
    server.drop_after[path] = [after]
    with pytest.raises(FetchError, match=r"\[E127\]"):
        fetch(server.url(path), output, retries=0)
    assert partial_path(output).stat().st_size == after and record_path(output).is_file()


class Killed(Exception):
    """The run was killed (here, from its progress callback)."""


def kill_at_end(server, path: str, output: Path) -> None:
    """A download killed between its last byte and the rename: the partial file is whole."""

    def progress(done: int, total: int | None) -> None:
        if done and done == total:
            raise Killed

    with pytest.raises(Killed):
        fetch(server.url(path), output, progress=progress)


# -- fetch


def test_fetch_verifies_the_checksums_and_renames_into_place(server, tmp_path):
    output = tmp_path / "raw" / "train.tsv"
    result = fetch(server.url("data/train.tsv"), output, md5=MD5, sha256=SHA256.upper())
    assert output.read_bytes() == DATA
    assert result.downloaded == result.size == len(DATA) and not result.resumed
    assert result.digests == {"md5": MD5, "sha256": SHA256}
    assert leftovers(output.parent) == []
    assert "md5, sha256 verified" in result.summary()


def test_a_wrong_checksum_fails_and_keeps_nothing(server, tmp_path):
    output = tmp_path / "train.tsv"
    wrong = "0" * 32
    with pytest.raises(FetchError) as error:
        fetch(server.url("data/train.tsv"), output, md5=wrong)
    message = str(error.value)
    assert message.startswith("[E128]")
    assert server.url("data/train.tsv") in message and wrong in message and MD5 in message
    assert not output.exists() and leftovers(tmp_path) == []


def test_a_wrong_checksum_after_resuming_keeps_nothing(server, tmp_path):
    # The bytes kept were damaged on disk: resuming them gives the wrong file.
    output = tmp_path / "train.tsv"
    interrupt(server, "/data/train.tsv", output, 1000)
    partial_path(output).write_bytes(b"x" * 1000)
    with pytest.raises(FetchError, match=r"\[E128\]"):
        fetch(server.url("data/train.tsv"), output, md5=MD5)
    assert server.requests[-1] == ("/data/train.tsv", "bytes=1000-")
    assert not output.exists() and leftovers(tmp_path) == []
    # The next run starts over, and succeeds.
    assert fetch(server.url("data/train.tsv"), output, md5=MD5).downloaded == len(DATA)
    assert output.read_bytes() == DATA


def test_a_connection_dropped_midway_is_resumed_with_a_range_request(server, tmp_path):
    output = tmp_path / "train.tsv"
    server.drop_after["/data/train.tsv"] = [100_000]
    result = fetch(server.url("data/train.tsv"), output, md5=MD5)
    assert output.read_bytes() == DATA and result.resumed
    assert server.requests == [("/data/train.tsv", None), ("/data/train.tsv", "bytes=100000-")]
    assert result.downloaded == len(DATA)


def test_a_resumed_part_that_does_not_fit_is_refused_not_saved(server, tmp_path):
    # The server says 206 for bytes 100000- but sends the file from its first byte,
    # with no Content-Length: without a checksum only the declared size can tell.
    output = tmp_path / "train.tsv"
    interrupt(server, "/data/train.tsv", output, 100_000)
    server.whole_body_for_ranges = True
    with pytest.raises(FetchError, match=r"\[E142\]") as error:
        fetch(server.url("data/train.tsv"), output)
    assert f"came to {100_000 + len(DATA)} bytes" in str(error.value)
    assert f"the file has {len(DATA)}" in str(error.value)
    assert not output.exists() and leftovers(tmp_path) == []
    server.whole_body_for_ranges = False
    assert fetch(server.url("data/train.tsv"), output).downloaded == len(DATA)
    assert output.read_bytes() == DATA


def test_a_server_without_ranges_makes_the_download_start_over(plain_server, tmp_path):
    output = tmp_path / "train.tsv"
    plain_server.drop_after["/data/train.tsv"] = [100_000]
    result = fetch(plain_server.url("data/train.tsv"), output, md5=MD5)
    assert output.read_bytes() == DATA
    assert plain_server.requests[1] == ("/data/train.tsv", "bytes=100000-")
    assert result.downloaded == 100_000 + len(DATA) and not result.resumed


def test_a_partial_file_left_by_an_earlier_run_is_resumed(server, tmp_path):
    output = tmp_path / "train.tsv"
    interrupt(server, "/data/train.tsv", output, 123_456)
    assert json.loads(record_path(output).read_text())["url"] == server.url("data/train.tsv")
    result = fetch(server.url("data/train.tsv"), output, sha256=SHA256)
    assert output.read_bytes() == DATA and result.resumed and not result.restarted
    assert server.requests[-1] == ("/data/train.tsv", "bytes=123456-")
    assert server.request_headers[-1]["If-Range"] == f'"{MD5}"'
    assert result.downloaded == len(DATA) - 123_456 and leftovers(tmp_path) == []
    assert "resumed" in result.summary() and "restarted" not in result.summary()


def test_a_partial_file_left_by_an_earlier_run_restarts_where_ranges_are_ignored(
    plain_server, tmp_path
):
    output = tmp_path / "train.tsv"
    interrupt(plain_server, "/data/train.tsv", output, 50_000)
    result = fetch(plain_server.url("data/train.tsv"), output, md5=MD5)
    assert plain_server.requests[-1] == ("/data/train.tsv", "bytes=50000-")
    assert output.read_bytes() == DATA and result.downloaded == len(DATA)
    assert result.restarted and not result.resumed and leftovers(tmp_path) == []


def test_a_partial_file_from_another_url_is_not_resumed(server, tmp_path):
    # The first 100 kB of one file must not be spliced onto the rest of another.
    server.files["/other.bin"] = OTHER
    output = tmp_path / "m.bin"
    interrupt(server, "/data/train.tsv", output, 100_000)
    result = fetch(server.url("other.bin"), output)
    assert output.read_bytes() == OTHER
    assert server.requests[-1] == ("/other.bin", None)
    assert result.restarted and not result.resumed and result.downloaded == len(OTHER)
    assert "restarted" in result.summary() and "resumed" not in result.summary()
    assert leftovers(tmp_path) == []


def test_a_partial_file_without_its_record_is_not_resumed(server, tmp_path):
    # Left by a version that kept no record, or its record was lost: whose bytes?
    output = tmp_path / "train.tsv"
    partial_path(output).write_bytes(OTHER[:100_000])
    result = fetch(server.url("data/train.tsv"), output)
    assert output.read_bytes() == DATA and server.requests == [("/data/train.tsv", None)]
    assert result.restarted and not result.resumed and leftovers(tmp_path) == []


@pytest.mark.parametrize("validator", ["etag", "last-modified"])
def test_a_file_changed_on_the_server_is_fetched_again_whole(server, tmp_path, validator):
    path, output = "/data/train.tsv", tmp_path / "train.tsv"
    if validator == "last-modified":
        server.etags = False
        server.last_modified[path] = "Mon, 01 Jan 2024 00:00:00 GMT"
    interrupt(server, path, output, 100_000)
    server.files[path] = OTHER
    server.last_modified[path] = "Tue, 02 Jan 2024 00:00:00 GMT"
    result = fetch(server.url(path), output)
    assert output.read_bytes() == OTHER
    sent = server.request_headers[-1]
    assert sent["Range"] == "bytes=100000-"
    assert sent["If-Range"] == (
        f'"{MD5}"' if validator == "etag" else "Mon, 01 Jan 2024 00:00:00 GMT"
    )
    assert result.restarted and not result.resumed and leftovers(tmp_path) == []


def test_a_changed_file_is_fetched_again_whole_where_if_range_is_ignored(server, tmp_path):
    # The server sends the part asked for whatever If-Range says; its new ETag tells.
    output = tmp_path / "train.tsv"
    interrupt(server, "/data/train.tsv", output, 100_000)
    server.files["/data/train.tsv"] = OTHER
    server.if_range = False
    result = fetch(server.url("data/train.tsv"), output)
    assert output.read_bytes() == OTHER and result.restarted
    assert server.requests[-2:] == [
        ("/data/train.tsv", "bytes=100000-"),
        ("/data/train.tsv", None),
    ]


def test_a_changed_file_is_fetched_again_whole_where_the_server_has_no_validator(server, tmp_path):
    # No ETag nor date to send with If-Range: the file's size, recorded, tells.
    output = tmp_path / "train.tsv"
    server.etags = False
    interrupt(server, "/data/train.tsv", output, 100_000)
    server.files["/data/train.tsv"] = OTHER
    result = fetch(server.url("data/train.tsv"), output)
    assert "If-Range" not in server.request_headers[-2]
    assert output.read_bytes() == OTHER and result.restarted


def test_a_partial_file_that_is_complete_or_too_long(server, tmp_path):
    output = tmp_path / "train.tsv"
    kill_at_end(server, "/data/train.tsv", output)  # between the last byte and the rename
    result = fetch(server.url("data/train.tsv"), output, md5=MD5)
    assert result.downloaded == 0 and "from the partial file" in result.summary()
    assert output.read_bytes() == DATA and leftovers(tmp_path) == []
    other = tmp_path / "other.tsv"
    kill_at_end(server, "/data/train.tsv", other)
    with partial_path(other).open("ab") as file:
        file.write(b"more")  # not a part of this file: start over
    assert fetch(server.url("data/train.tsv"), other, md5=MD5).downloaded == len(DATA)
    assert other.read_bytes() == DATA
    assert server.requests[-2:] == [
        ("/data/train.tsv", f"bytes={len(DATA) + 4}-"),
        ("/data/train.tsv", None),
    ]


def test_a_complete_partial_file_of_a_file_since_changed_is_not_kept(server, tmp_path):
    # A Range from the partial file's end gets 416 whatever the file now holds; the
    # validators of that answer tell the old file from a new one of the same size.
    output = tmp_path / "train.tsv"
    kill_at_end(server, "/data/train.tsv", output)
    changed = bytes(reversed(DATA))
    server.files["/data/train.tsv"] = changed
    server.if_range = False  # a server that ignores If-Range, as some do
    result = fetch(server.url("data/train.tsv"), output)
    assert output.read_bytes() == changed and result.restarted


def test_a_download_that_keeps_stopping_keeps_its_partial_file_to_resume(server, tmp_path):
    output = tmp_path / "train.tsv"
    server.drop_after["/data/train.tsv"] = [1000, 1000]
    with pytest.raises(FetchError) as error:
        fetch(server.url("data/train.tsv"), output, md5=MD5, retries=1)
    assert str(error.value).startswith("[E127]") and "2000 of 300000 bytes" in str(error.value)
    assert not output.exists() and partial_path(output).stat().st_size == 2000
    result = fetch(server.url("data/train.tsv"), output, md5=MD5)
    assert output.read_bytes() == DATA and result.resumed
    assert server.requests[-1] == ("/data/train.tsv", "bytes=2000-")


def test_a_verified_file_is_not_fetched_again(server, tmp_path):
    output = tmp_path / "train.tsv"
    fetch(server.url("data/train.tsv"), output, md5=MD5)
    result = fetch(server.url("data/train.tsv"), output, md5=MD5)
    assert result.downloaded == 0 and server.count("data/train.tsv") == 1
    assert "not fetched again" in result.summary()
    fetch(server.url("data/train.tsv"), output)  # no checksum: OUTPUT is complete
    assert server.count("data/train.tsv") == 1
    fetch(server.url("data/train.tsv"), output, force=True)
    assert server.count("data/train.tsv") == 2


def test_a_file_with_another_checksum_is_replaced_once_the_right_one_arrived(server, tmp_path):
    output = tmp_path / "train.tsv"
    output.write_bytes(b"an older version")
    with pytest.raises(FetchError, match=r"\[E128\]"):
        fetch(server.url("data/train.tsv"), output, md5="f" * 32)
    assert output.read_bytes() == b"an older version"
    fetch(server.url("data/train.tsv"), output, md5=MD5)
    assert output.read_bytes() == DATA


def test_an_http_error_names_the_status_and_writes_nothing(server, tmp_path):
    output = tmp_path / "missing.tsv"
    with pytest.raises(FetchError) as error:
        fetch(server.url("data/missing.tsv"), output)
    assert str(error.value).startswith("[E125]") and "404" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_server_is_a_coded_error(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match=r"\[E126\].*Nothing was written"):
        fetch(f"http://127.0.0.1:{port}/train.tsv", tmp_path / "train.tsv", timeout=5)


@pytest.mark.parametrize(
    "url, options, code",
    [
        ("ftp://127.0.0.1/train.tsv", {}, "E124"),
        ("file:///etc/hostname", {}, "E124"),
        ("http://[::1", {}, "E150"),
        ("http://[zz]/x", {}, "E150"),
        ("http://127.0.0.1:99999/train.tsv", {}, "E150"),
        ("http:///train.tsv", {}, "E150"),
        ("http://127.0.0.1:1/train.tsv", {"md5": "abc"}, "E123"),
        ("http://127.0.0.1:1/train.tsv", {"sha256": "z" * 64}, "E123"),
    ],
)
def test_bad_urls_and_checksums_are_refused_before_any_request(tmp_path, url, options, code):
    with pytest.raises(FetchError, match=rf"\[{code}\]") as error:
        fetch(url, tmp_path / "train.tsv", **options)
    assert code == "E123" or url in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_url_with_a_space_or_control_character_is_malformed_not_unreachable(tmp_path):
    # Sent as it was, the server's refusal read as E126, "check the network".
    with pytest.raises(
        FetchError,
        match=r"\[E150\] .*'http://127.0.0.1:1/my data.tsv'.*"
        r"character 22 is ' '; percent-encode it",
    ):
        fetch("http://127.0.0.1:1/my data.tsv", tmp_path / "train.tsv")
    with pytest.raises(FetchError, match=r"\[E150\] .*/a\\x00b.tsv'.*character 21 is '\\x00'"):
        fetch("http://127.0.0.1:1/a\x00b.tsv", tmp_path / "train.tsv")
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_a_pipe_is_refused_not_replaced(server, tmp_path):
    fifo = tmp_path / "train.tsv"
    os.mkfifo(fifo)
    with pytest.raises(FetchError, match=r"\[E047\] .*train\.tsv.*not a regular file"):
        fetch(server.url("data/train.tsv"), fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["train.tsv"]


def test_an_empty_checksum_checks_nothing(server, tmp_path):
    result = fetch(server.url("data/train.tsv"), tmp_path / "train.tsv", md5="", sha256=" ")
    assert result.digests == {} and "no checksum given" in result.summary()


def test_fetch_errors_are_os_errors():
    assert issubclass(FetchError, OSError) and issubclass(FetchError, NlpTasksError)


# -- the commands


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("fetch")(fetch_command)
    cli.command("holdout")(holdout_command)
    return cli


def test_fetch_command(server, tmp_path):
    output = tmp_path / "train.tsv"
    args = ["fetch", server.url("data/train.tsv"), str(output), "--md5", MD5]
    result = CliRunner().invoke(app(), args)
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == DATA and "md5 verified" in result.output
    result = CliRunner().invoke(app(), [*args, "--quiet"])
    assert result.exit_code == 0 and result.output == ""
    result = CliRunner().invoke(app(), [*args[:2], str(tmp_path / "o.tsv"), "--md5=" + "0" * 32])
    assert isinstance(result.exception, FetchError) and "[E128]" in str(result.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.tsv"]


def test_fetch_command_says_when_a_partial_file_was_not_resumed(server, tmp_path):
    server.files["/other.bin"] = OTHER
    output = tmp_path / "m.bin"
    interrupt(server, "/data/train.tsv", output, 100_000)
    result = CliRunner().invoke(app(), ["fetch", server.url("other.bin"), str(output)])
    assert result.exit_code == 0, result.output
    assert "restarted" in result.output and "resumed" not in result.output
    assert output.read_bytes() == OTHER


@pytest.mark.parametrize("url", ["http://[::1", "http://[zz]/x"])
def test_fetch_command_refuses_a_malformed_url_without_a_traceback(cli, tmp_path, url):
    result = cli("fetch", url, str(tmp_path / "e.bin"))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"Error: [E150] Cannot fetch '{url}'")
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []


# -- holdout


def write_lines(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")
    return path


def read_lines(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def test_holdout_draws_dev_with_a_seed_and_keeps_order_and_lines(tmp_path):
    records = [{"text_a": f"A {i}.", "text_b": f"B {i}.", "score": i / 10} for i in range(40)]
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(json.dumps(r, indent=None) + "\n" for r in records))
    result = hold_out(source, tmp_path / "train.jsonl", tmp_path / "dev.jsonl", size=10, seed=13)
    train, dev = read_lines(tmp_path / "train.jsonl"), read_lines(tmp_path / "dev.jsonl")
    assert (result.train_records, result.dev_records, result.left_out) == (30, 10, 0)
    assert sorted(train + dev, key=records.index) == records
    assert train == sorted(train, key=records.index) and dev == sorted(dev, key=records.index)
    # The same seed, the same split; the lines are copied as they are.
    hold_out(source, tmp_path / "train2.jsonl", tmp_path / "dev2.jsonl", size=10, seed=13)
    assert (tmp_path / "dev2.jsonl").read_bytes() == (tmp_path / "dev.jsonl").read_bytes()
    hold_out(source, tmp_path / "train3.jsonl", tmp_path / "dev3.jsonl", size=10, seed=14)
    assert read_lines(tmp_path / "dev3.jsonl") != dev
    assert leftovers(tmp_path) == []


SST_LIKE = [
    {"text": "a gorgeous , witty , seductive movie . ", "label": "positive"},
    {"text": "gorgeous", "label": "positive"},
    {"text": "witty , seductive", "label": "positive"},
    {
        "text": "the plot is nothing but boilerplate clichés from start to finish",
        "label": "negative",
    },
    {"text": "boilerplate clichés", "label": "negative"},
    {"text": "from start to finish", "label": "negative"},
    {
        "text": "an utterly charming and hilarious film that reminded me why i love movies",
        "label": "positive",
    },
    {"text": "charming and hilarious", "label": "positive"},
    {"text": "boilerplate", "label": "negative"},
    {"text": "a gorgeous , witty , seductive movie .", "label": "positive"},
]


def test_holdout_nested_keeps_every_sub_phrase_of_dev_out_of_train(tmp_path):
    source = write_lines(tmp_path / "full.jsonl", SST_LIKE)
    result = hold_out(
        source,
        tmp_path / "train.jsonl",
        tmp_path / "dev.jsonl",
        size=2,
        seed=0,
        nested="text",
        min_words=6,
    )
    dev = [r["text"] for r in read_lines(tmp_path / "dev.jsonl")]
    train = [r["text"] for r in read_lines(tmp_path / "train.jsonl")]
    # Only whole sentences of 6 words or more go to dev, each text once.
    whole = {SST_LIKE[0]["text"], SST_LIKE[3]["text"], SST_LIKE[6]["text"]}
    assert len(dev) == 2 and set(dev) <= whole and len({" ".join(t.split()) for t in dev}) == 2
    for text in train:
        assert not any(f" {text.strip()} " in f" {d.strip()} " for d in dev)
    assert result.left_out == len(SST_LIKE) - len(train) - len(dev) > 0


def test_holdout_errors_are_coded_and_write_nothing(tmp_path):
    source = write_lines(tmp_path / "full.jsonl", SST_LIKE)
    train, dev = tmp_path / "train.jsonl", tmp_path / "dev.jsonl"
    with pytest.raises(ConvertError, match=r"\[E129\].*--size 4.*3 record"):
        hold_out(source, train, dev, size=4, nested="text", min_words=6)
    with pytest.raises(ConvertError, match=r"\[E129\]"):
        hold_out(source, train, dev, size=len(SST_LIKE))  # train would be empty
    with pytest.raises(ConvertError, match=r"\[E130\]"):
        hold_out(source, train, dev, size=1, min_words=3)
    with pytest.raises(DataError, match=r"\[E131\].*line 1.*'sentence'"):
        hold_out(source, train, dev, size=1, nested="sentence")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ConvertError, match=r"\[E132\]"):
        hold_out(empty, train, dev, size=1)
    with pytest.raises(ConvertError, match=r"\[E046\].*it does not exist"):
        hold_out(tmp_path / "missing.jsonl", train, dev, size=1)
    with pytest.raises(ConvertError, match=r"\[E046\] .*'/dev/null'.*not a regular file"):
        hold_out("/dev/null", train, dev, size=1)
    with pytest.raises(ConvertError, match=r"\[E047\].*--train"):
        hold_out(source, source, dev, size=1)
    with pytest.raises(ConvertError, match=r"\[E047\].*--dev"):
        hold_out(source, train, train, size=1)
    with pytest.raises(ConvertError, match=r"\[E047\] .*train\.jsonl\.gz.*--train.*'\.gz'"):
        hold_out(source, tmp_path / "train.jsonl.gz", dev, size=1)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)  # renaming the dev file into place would replace the pipe
    with pytest.raises(ConvertError, match=r"\[E047\] .*fifo\.jsonl.*--dev.*not a regular file"):
        hold_out(source, train, fifo, size=1)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": \n')
    with pytest.raises(DataError, match=r"\[E104\].*bad.jsonl:2"):
        hold_out(bad, train, dev, size=1)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["bad.jsonl", "empty.jsonl", "fifo.jsonl", "full.jsonl"]


def test_holdout_command(tmp_path):
    source = write_lines(tmp_path / "full.jsonl", SST_LIKE)
    args = ["holdout", str(source), "--train", str(tmp_path / "t.jsonl")]
    args += ["--dev", str(tmp_path / "d.jsonl"), "--size", "1", "--seed", "13", "--nested", "text"]
    result = CliRunner().invoke(app(), args)
    assert result.exit_code == 0, result.output
    assert "Wrote 1 records to" in result.output and "left out" in result.output
    assert len(read_lines(tmp_path / "d.jsonl")) == 1


def test_holdout_refuses_a_line_that_is_not_a_record(tmp_path):
    # Lines are copied as they are: a JSON list went to train (or dev) as a "record".
    source = write_lines(tmp_path / "full.jsonl", [*SST_LIKE[:3], [1, 2], *SST_LIKE[3:]])
    train, dev = tmp_path / "train.jsonl", tmp_path / "dev.jsonl"
    with pytest.raises(DataError, match=r"\[E104\] .*full.jsonl:4: .*a JSON object, got list"):
        hold_out(source, train, dev, size=1)
    assert not train.exists() and not dev.exists()
