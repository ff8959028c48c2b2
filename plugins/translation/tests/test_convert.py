"""The translation plugin's converter: line-aligned parallel files, to records."""

import gzip

import pytest
import spacy

from nlp_tasks.convert import convert, iter_records
from nlp_tasks.errors import ConvertError, DataError
from nlp_tasks.registry import get_task

EN = "Two dogs play in the snow.\nA man rides a bike.  \nA girl reads.\n"
DE = "Zwei Hunde spielen im Schnee.\nEin Mann fährt Fahrrad.\nEin Mädchen liest.\n"


def write(path, text):
    path.write_text(text, encoding="utf8")
    return path


def test_parallel_files_become_translation_records(tmp_path):
    en, de = write(tmp_path / "train.en", EN), write(tmp_path / "train.de", DE)
    records = list(iter_records("parallel", [en, de]))
    assert records == [
        {"src": "Two dogs play in the snow.", "tgt": "Zwei Hunde spielen im Schnee."},
        {"src": "A man rides a bike.", "tgt": "Ein Mann fährt Fahrrad."},
        {"src": "A girl reads.", "tgt": "Ein Mädchen liest."},
    ]
    nlp = spacy.blank("en")
    for record in records:
        get_task("translation").make_example(nlp, record)


def test_gzip_files_are_read_by_their_suffix(tmp_path):
    en, de = tmp_path / "val.en.gz", tmp_path / "val.de.gz"
    for path, text in ((en, EN), (de, DE)):
        with gzip.open(path, "wt", encoding="utf8") as file:
            file.write(text)
    assert len(list(iter_records("parallel", [en, de]))) == 3


@pytest.mark.parametrize("longer", ["source", "target"])
def test_misaligned_files_name_both_files_and_counts(tmp_path, longer):
    en = write(tmp_path / "train.en", EN + ("One more.\n" * 2 if longer == "source" else ""))
    de = write(tmp_path / "train.de", DE + ("Noch eins.\n" if longer == "target" else ""))
    output = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=r"\[TR001\]") as error:
        convert("parallel", [en, de], output)
    counts = (5, 3) if longer == "source" else (3, 4)
    assert f"{en} has {counts[0]} lines but {de} has {counts[1]}" in str(error.value)
    assert not output.exists() and sorted(tmp_path.iterdir()) == sorted([en, de])


@pytest.mark.parametrize("ends", [("\n", ""), ("\n\n", "\n  \n"), ("", "\n")])
def test_blank_lines_at_the_end_of_a_file_do_not_misalign_it(tmp_path, ends):
    en = write(tmp_path / "train.en", EN + ends[0])
    de = write(tmp_path / "train.de", DE + ends[1])
    result = convert("parallel", [en, de], tmp_path / "out.jsonl")
    assert result.records == 3 and result.skipped == {}


def test_a_blank_line_before_the_end_is_still_refused(tmp_path):
    en = write(tmp_path / "train.en", EN + "\nOne more.\n")
    de = write(tmp_path / "train.de", DE + "\nNoch eins.\n")
    with pytest.raises(DataError, match=r"\[TR002\] .*train.en:4: the line is empty"):
        convert("parallel", [en, de], tmp_path / "out.jsonl")
    en = write(tmp_path / "train.en", EN + "\nOne more.\n")
    with pytest.raises(DataError, match=r"\[TR001\] .* has 5 lines but .* has 3"):
        convert("parallel", [en, write(tmp_path / "train.de", DE + "\n")], tmp_path / "out.jsonl")


def test_an_empty_line_names_its_file_and_line(tmp_path):
    en = write(tmp_path / "train.en", "A dog.\n  \nA cat.\n")
    de = write(tmp_path / "train.de", "Ein Hund.\nEin Vogel.\nEine Katze.\n")
    with pytest.raises(DataError, match=r"\[TR002\] .*train.en:2: the line is empty"):
        convert("parallel", [en, de], tmp_path / "out.jsonl")
    result = convert("parallel", [en, de], tmp_path / "out.jsonl", skip_empty=True)
    assert result.records == 2 and result.skipped == {"line pairs with an empty side": 1}


def test_two_files_are_needed_and_empty_ones_refused(tmp_path):
    en = write(tmp_path / "train.en", EN)
    with pytest.raises(ConvertError, match=r"\[E103\].*takes 2 inputs \(SOURCE_FILE TARGET_FILE\)"):
        list(iter_records("parallel", [en]))
    a, b = write(tmp_path / "a.en", ""), write(tmp_path / "b.de", "")
    with pytest.raises(DataError, match=r"\[E105\]"):
        list(iter_records("parallel", [a, b]))
