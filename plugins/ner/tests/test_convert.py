"""The NER plugin's converters: CoNLL files (and back) and DocBins, to NER records."""

import gzip
import json
import os
import stat
import threading

import pytest
import spacy
from nlp_tasks_ner.convert import to_iob2, write_conll
from spacy.tokens import Doc, DocBin, Span

from nlp_tasks.convert import convert, iter_records
from nlp_tasks.errors import ConvertError, DataError
from nlp_tasks.registry import get_task

# CoNLL-2003 as published: four columns, IOB1 tags, -DOCSTART- between documents.
CONLL_IOB1 = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
to TO B-VP O
boycott VB I-VP O
British JJ B-NP I-MISC
lamb NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP I-LOC
1996-08-22 CD I-NP O

In IN B-PP O
Sweden NNP B-NP I-LOC
Denmark NNP I-NP B-LOC
"""

BILUO = "Ann\tU-PER\nvisited\tO\nNew\tB-LOC\nYork\tI-LOC\nCity\tL-LOC\n"


def write(path, text):
    path.write_text(text, encoding="utf8")
    return path


# NER records of one sentence each, in document order: two documents, then two
# sentences without a doc_id (each a document of its own).
SENTENCE_RECORDS = [
    {"tokens": ["Ann", "left", "."], "tags": ["B-PER", "O", "O"], "doc_id": 3},
    {"tokens": ["She", "went", "to", "Oslo"], "tags": ["O", "O", "O", "B-LOC"], "doc_id": 3},
    {"tokens": ["Bob", "stayed"], "tags": ["B-PER", "O"], "doc_id": 4},
    {"tokens": ["No", "id"], "tags": ["O", "O"]},
    {"tokens": ["Alone"], "tags": ["O"]},
]


def write_records(path, records):
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def check_records(records):
    nlp = spacy.blank("en")
    for record in records:
        get_task("ner").make_example(nlp, record)


def test_conll_iob1_with_docstart_becomes_iob2_records(tmp_path):
    source = write(tmp_path / "eng.train", CONLL_IOB1)
    records = list(iter_records("conll", source, scheme="iob1"))
    assert records[0] == {
        "tokens": ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
        "tags": ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"],
        "doc_id": 0,
    }
    assert records[1] == {"tokens": ["Peter", "Blackburn"], "tags": ["B-PER", "I-PER"], "doc_id": 0}
    assert records[2]["doc_id"] == 1 and records[2]["tags"] == ["B-LOC", "O"]
    # IOB1's B- separates two entities of one type.
    assert records[3]["tags"] == ["O", "B-LOC", "B-LOC"] and records[3]["doc_id"] == 1
    check_records(records)


def test_biluo_and_bioes_become_iob2(tmp_path):
    source = write(tmp_path / "biluo.tsv", BILUO)
    records = list(iter_records("conll", source, scheme="biluo"))
    assert records == [
        {
            "tokens": ["Ann", "visited", "New", "York", "City"],
            "tags": ["B-PER", "O", "B-LOC", "I-LOC", "I-LOC"],
            "doc_id": 0,
        }
    ]
    check_records(records)
    assert to_iob2(["S-PER", "B-ORG", "E-ORG"], "bioes") == ["B-PER", "B-ORG", "I-ORG"]


def test_columns_can_be_chosen_and_gzip_is_read(tmp_path):
    source = tmp_path / "wnut.conll.gz"
    with gzip.open(source, "wt", encoding="utf8") as file:
        file.write("1\tB-PER\tAnn\textra\n2\tO\tsmiled\textra\n")
    records = list(iter_records("conll", source, token_column=2, tag_column=1))
    assert records[0]["tokens"] == ["Ann", "smiled"] and records[0]["tags"] == ["B-PER", "O"]


@pytest.mark.parametrize(
    "text,scheme,line,expected",
    [
        ("Ann B-PER\nsaw O\nBob I-PER\n", "iob2", 3, "'I-PER' follows 'O'"),
        ("Ann I-PER\n", "iob2", 1, "'I-PER' starts the sentence"),
        ("Ann B-PER\n\nBob I-PER\n", "iob2", 3, "starts the sentence"),
        ("Ann O\nLee L-PER\n", "biluo", 2, "L- continues an entity that B- starts"),
        ("Ann B-PER\nsaw O\n", "biluo", 2, "whose entity is not closed by L-"),
        ("Ann O\nNew B-LOC\n\nx O\n", "biluo", 2, "the sentence ends after 'B-LOC'"),
        ("Ann B-PER\nLee U-PER\n", "biluo", 2, "not closed"),
        ("Ann X-PER\n", "iob1", 1, "'X-PER' is not one of the iob1 tags"),
        ("Ann E-PER\n", "biluo", 1, "'E-PER' is not one of the biluo tags"),
    ],
)
def test_an_invalid_tag_sequence_names_file_and_line(tmp_path, text, scheme, line, expected):
    source = write(tmp_path / "bad.conll", text)
    with pytest.raises(DataError, match=r"\[NER011\]") as error:
        list(iter_records("conll", source, scheme=scheme))
    assert f"bad.conll:{line}: " in str(error.value) and expected in str(error.value)
    assert f"tag scheme {scheme}" in str(error.value)


def test_a_line_with_too_few_columns_names_file_and_line(tmp_path):
    source = write(tmp_path / "short.conll", "Ann B-PER\nsmiled\n")
    with pytest.raises(DataError, match=r"\[NER010\] .*short.conll:2: the line has 1 column"):
        list(iter_records("conll", source))
    source = write(tmp_path / "wide.conll", "Ann NNP B-PER\nsmiled VBD O\n")
    with pytest.raises(DataError, match=r"\[NER010\] .*wide.conll:1: .*--tag-column 5"):
        list(iter_records("conll", source, tag_column=5))
    with pytest.raises(ConvertError, match=r"\[NER012\]"):
        list(iter_records("conll", source, token_column=1, tag_column=1))


def test_a_token_holding_other_whitespace_names_file_and_line(tmp_path):
    source = write(tmp_path / "nbsp.conll", "Ann B-PER\n\nNew\u00a0York B-LOC\nis O\n")
    with pytest.raises(DataError, match=r"\[NER017\] .*nbsp.conll:3: the token 'New\\xa0York'"):
        list(iter_records("conll", source))


def test_nothing_is_written_when_the_input_is_bad(tmp_path):
    source = write(tmp_path / "bad.conll", "Ann B-PER\n\n" * 500 + "Bob I-PER\n")
    output = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=r"bad.conll:1001"):
        convert("conll", source, output)
    assert list(tmp_path.iterdir()) == [source]
    empty = write(tmp_path / "empty.conll", "-DOCSTART- -X- -X- O\n\n")
    with pytest.raises(DataError, match=r"\[E105\] .*empty.conll holds no sentences"):
        convert("conll", empty, output)
    assert not output.exists()


def test_conll_round_trip(tmp_path):
    source = write(tmp_path / "eng.train", CONLL_IOB1)
    records = list(iter_records("conll", source, scheme="iob1"))
    conll = tmp_path / "eng.iob2.conll"
    assert write_conll(records, conll) == len(records)
    text = conll.read_text(encoding="utf8")
    assert text.startswith("-DOCSTART- O\n\nEU B-ORG\nrejects O\n")
    assert "Sweden B-LOC\nDenmark B-LOC\n\n" in text
    assert list(iter_records("conll", conll)) == records  # iob2, the default scheme


def test_document_records_round_trip_with_their_sentences(tmp_path):
    records = [
        {
            "tokens": ["Ann", "smiled", ".", "Bob", "left"],
            "tags": ["B-PER", "O", "O", "B-PER", "O"],
            "sentences": [3, 2],
            "doc_id": 0,
        },
        {"tokens": ["Rome", "."], "tags": ["B-LOC", "O"], "sentences": [2], "doc_id": 1},
    ]
    conll = tmp_path / "docs.conll"
    write_conll(records, conll)
    assert "Ann B-PER\nsmiled O\n. O\n\nBob B-PER\nleft O\n\n" in conll.read_text("utf8")
    assert list(iter_records("conll", conll, documents=True)) == records
    bad = [{**records[0], "sentences": [3, 3]}]
    with pytest.raises(ConvertError, match=r"\[NER015\] Record 1 .*add up to 5"):
        write_conll(bad, tmp_path / "bad.conll")


def test_write_conll_refuses_what_conll_cannot_hold(tmp_path):
    bad = [{"tokens": ["New York"], "tags": ["B-LOC"]}]
    with pytest.raises(ConvertError, match=r"\[NER015\] Record 1 .*space"):
        write_conll(bad, tmp_path / "out.conll")
    records = [{"tokens": ["Ann"], "tags": ["B-PER"]}, {"tokens": ["York"], "tags": ["I-LOC"]}]
    with pytest.raises(ConvertError, match=r"\[NER015\] Record 2 .*'I-LOC' starts"):
        write_conll(records, tmp_path / "out.conll")
    assert list(tmp_path.iterdir()) == []


def test_write_conll_writes_into_a_pipe_and_leaves_it_a_pipe(tmp_path):
    # A rename into place would swap the pipe (or /dev/stdout) for a regular file.
    fifo = tmp_path / "out.conll"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text("utf8")), daemon=True)
    reader.start()
    records = [{"tokens": ["Ann", "left"], "tags": ["B-PER", "O"]}]
    assert write_conll(records, fifo) == 1
    reader.join(timeout=30)
    assert received == ["Ann B-PER\nleft O\n\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def make_docbin(path, docs):
    DocBin(docs=docs).to_disk(path)
    return path


def test_docbin_ents_become_records(tmp_path):
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["Ann", "Lee", "visited", "\n", "New", "York", "."])
    doc.ents = [Span(doc, 0, 2, "PER"), Span(doc, 4, 6, "LOC")]
    other = nlp("Nothing here.")
    source = make_docbin(tmp_path / "train.spacy", [doc, other])
    records = list(iter_records("docbin-ents", source))
    assert records == [
        {
            "tokens": ["Ann", "Lee", "visited", "New", "York", "."],
            "tags": ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"],
            "doc_id": 0,
        },
        {"tokens": ["Nothing", "here", "."], "tags": ["O", "O", "O"], "doc_id": 1},
    ]
    check_records(records)


def test_docbin_ents_by_sentence(tmp_path):
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["Ann", "ran", ".", "Bob", "Lee", "sat", "."])
    doc.ents = [Span(doc, 0, 1, "PER"), Span(doc, 3, 5, "PER")]
    for token in doc:
        token.is_sent_start = token.i in (0, 3)
    source = make_docbin(tmp_path / "sents.spacy", [doc])
    records = list(iter_records("docbin-ents", source, sentences=True))
    assert [r["tags"] for r in records] == [["B-PER", "O", "O"], ["B-PER", "I-PER", "O", "O"]]
    assert [r["doc_id"] for r in records] == [0, 0]


def test_bad_docbins_are_named(tmp_path):
    broken = write(tmp_path / "broken.spacy", "not a docbin")
    with pytest.raises(ConvertError, match=r"\[NER014\] .*broken.spacy"):
        list(iter_records("docbin-ents", broken))
    empty = make_docbin(tmp_path / "empty.spacy", [])
    with pytest.raises(DataError, match=r"\[E105\] .*empty.spacy holds no docs"):
        list(iter_records("docbin-ents", empty))


def test_a_token_and_tag_column_that_meet_on_a_line_are_named(tmp_path):
    # It read "the line has 3 column(s), but ... need 3".
    source = write(tmp_path / "three.conll", "Ann NNP B-PER\n")
    with pytest.raises(
        DataError,
        match=r"\[NER019\] .*three.conll:1: the line has 3 columns, "
        r"so --token-column 2 and --tag-column -1 both read column 2",
    ):
        list(iter_records("conll", source, token_column=2))


def test_a_docbin_without_any_entity_annotation_is_refused(tmp_path):
    # A DocBin of text categories, given by mistake, became records tagged O throughout.
    nlp = spacy.blank("en")
    docs = [nlp("Great film."), nlp("Dull plot.")]
    docs[0].cats = {"positive": 1.0}
    source = make_docbin(tmp_path / "cats.spacy", docs)
    output = tmp_path / "ner.jsonl"
    with pytest.raises(DataError, match=r"\[NER018\] .*cats.spacy: none of its 2 doc\(s\)"):
        convert("docbin-ents", source, output)
    assert not output.exists()
    # A doc annotated with no entities is data: doc.ents = [] marks its tokens O.
    docs[1].ents = []
    records = list(iter_records("docbin-ents", make_docbin(tmp_path / "ok.spacy", docs)))
    assert [r["tags"] for r in records] == [["O", "O", "O"], ["O", "O", "O"]]


def test_conll_documents_join_each_document_s_sentences(tmp_path):
    source = write(tmp_path / "eng.train", CONLL_IOB1)
    sentences = list(iter_records("conll", source, scheme="iob1"))
    documents = list(iter_records("conll", source, scheme="iob1", documents=True))
    assert [d["doc_id"] for d in documents] == [0, 1]
    assert documents[0]["tokens"] == sentences[0]["tokens"] + sentences[1]["tokens"]
    assert documents[0]["tags"] == sentences[0]["tags"] + sentences[1]["tags"]
    assert documents[0]["sentences"] == [9, 2]
    assert documents[1]["sentences"] == [2, 3]
    check_records(documents)


def test_conll_with_sentences_writes_each_document_then_its_sentences(tmp_path):
    source = write(tmp_path / "eng.train", CONLL_IOB1)
    sentences = list(iter_records("conll", source, scheme="iob1"))
    documents = list(iter_records("conll", source, scheme="iob1", documents=True))
    # --with-sentences implies --documents.
    mixed = list(iter_records("conll", source, scheme="iob1", with_sentences=True))
    assert mixed == [documents[0], *sentences[:2], documents[1], *sentences[2:]]
    check_records(mixed)


def test_ner_documents_with_sentences_keeps_every_sentence_once_alone(tmp_path):
    source = write_records(tmp_path / "ner.jsonl", SENTENCE_RECORDS)
    output = tmp_path / "mixed.jsonl"
    result = convert("ner-documents", source, output, with_sentences=True)
    written = [json.loads(line) for line in output.read_text(encoding="utf8").splitlines()]
    assert result.records == len(written) == 4 + 5
    documents = [r for r in written if "sentences" in r]
    alone = [r for r in written if "sentences" not in r]
    assert [d["sentences"] for d in documents] == [[3, 4], [2], [2], [1]]
    # A one-sentence document is written alone too: each sentence is read once in
    # its document and once by itself, as the measured recipe trained.
    assert alone == SENTENCE_RECORDS
    assert written[1:3] == SENTENCE_RECORDS[:2]
    check_records(written)


def test_a_document_record_keeps_its_sentences_and_their_entities(tmp_path):
    # Entities on the joined doc are those of its sentences, at the same tokens
    # and characters of each sentence, and each lies in the sentence it came from.
    source = write(tmp_path / "eng.train", CONLL_IOB1)
    nlp = spacy.blank("en")
    task = get_task("ner")
    sentences = [task.make_example(nlp, r) for r in iter_records("conll", source, scheme="iob1")]
    documents = [
        task.make_example(nlp, r)
        for r in iter_records("conll", source, scheme="iob1", documents=True)
    ]
    joined = []
    for document in documents:
        assert [s.text for s in document.predicted.sents] == [
            s.text for s in document.reference.sents
        ]
        for sent in document.reference.sents:
            joined.append(
                [
                    (e.start_char - sent.start_char, e.end_char - sent.start_char, e.label_)
                    for e in document.reference.ents
                    if e.sent == sent
                ]
            )
    alone = [[(e.start_char, e.end_char, e.label_) for e in eg.reference.ents] for eg in sentences]
    assert joined == alone
    texts = [s.text for d in documents for s in d.reference.sents]
    assert texts == [eg.reference.text.rstrip() for eg in sentences]


def test_ner_documents_joins_sentence_records_by_doc_id(tmp_path):
    source = write_records(tmp_path / "ner.jsonl", SENTENCE_RECORDS)
    output = tmp_path / "documents.jsonl"
    result = convert("ner-documents", source, output)
    assert result.records == 4
    documents = [json.loads(line) for line in output.read_text(encoding="utf8").splitlines()]
    assert [d.get("doc_id") for d in documents] == [3, 4, None, None]
    assert documents[0]["sentences"] == [3, 4]
    assert documents[0]["tags"] == ["B-PER", "O", "O", "O", "O", "O", "B-LOC"]
    check_records(documents)


@pytest.mark.parametrize(
    "line, pattern",
    [
        ("{not json", r"\[E104\] .*ner.jsonl:2"),
        ('{"tokens": ["a"], "tags": ["O", "O"]}', r"\[NER016\] .*ner.jsonl:2: 1 tokens but 2 tags"),
        ('["a"]', r"\[NER016\] .*ner.jsonl:2: expected a JSON object"),
        (
            '{"tokens": ["a"], "tags": ["I-PER"]}',
            r"\[NER016\] .*ner.jsonl:2: tag 0 'I-PER' follows",
        ),
        ('{"text": "a b"}', r"\[NER016\] .*ner.jsonl:2: the record needs 'tokens' and 'tags'"),
    ],
)
def test_ner_documents_names_the_bad_line(tmp_path, line, pattern):
    source = write(tmp_path / "ner.jsonl", '{"tokens": ["a"], "tags": ["O"]}\n' + line + "\n")
    output = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=pattern):
        convert("ner-documents", source, output)
    assert not output.exists()


@pytest.mark.parametrize(
    "sentences, message",
    [
        ([2, 2], "'sentences' counts 4 tokens but the record has 3"),
        ([3, 0], "'sentences' must be a list of positive token counts"),
        ("3", "'sentences' must be a list of positive token counts"),
        ([], "'sentences' must be a list of positive token counts"),
    ],
)
def test_bad_sentence_counts_are_refused(sentences, message):
    from nlp_tasks import RecordError

    record = {"tokens": ["a", "b", "c"], "tags": ["O", "O", "O"], "sentences": sentences}
    with pytest.raises(RecordError, match=message):
        get_task("ner").make_example(spacy.blank("en"), record)
