import copy
import inspect
import itertools
import pickle

import pytest
import torch

from nlp_tasks.components.length_buckets import (
    DEFAULT_GROUP_OVERHEAD,
    LengthBucketedForward,
    bucket_lengths,
    install_length_buckets,
    padding_counts,
    remove_length_buckets,
    reset_padding_counts,
)

LENGTHS = [40, 3, 17, 40, 5, 38, 1, 12, 33, 9, 40, 21]


def tiny_bert(seed: int = 0):
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        type_vocab_size=2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertModel(config).eval()


def padded_batch(lengths: list[int], *, token_types: bool = False, seed: int = 1) -> dict:
    """Right-padded inputs: random ids at real positions, 0 (padding) after."""
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    mask = (torch.arange(width) < torch.tensor(lengths).unsqueeze(1)).long()
    ids = torch.randint(5, 100, (len(lengths), width), generator=generator) * mask
    batch = {"input_ids": ids, "attention_mask": mask}
    if token_types:
        # The second half of each row is segment 1, as for a text pair.
        halves = torch.arange(width) >= (torch.tensor(lengths).unsqueeze(1) // 2)
        batch["token_type_ids"] = halves.long() * mask
    return batch


def plain_forward(module, **kwargs):
    return type(module).forward(module, **kwargs)


def assert_real_positions_equal(ours, plain, mask, atol=1e-5):
    real = mask.bool()
    assert ours.last_hidden_state.shape == plain.last_hidden_state.shape
    assert ours.last_hidden_state.dtype == plain.last_hidden_state.dtype
    torch.testing.assert_close(
        ours.last_hidden_state[real], plain.last_hidden_state[real], atol=atol, rtol=1e-4
    )


def partition_cost(lengths: list[int], groups: list[list[int]], overhead: int) -> int:
    return sum(len(g) * max(1, max(lengths[i] for i in g)) + overhead for g in groups)


def test_bucket_lengths_finds_the_cheapest_grouping():
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        n = int(torch.randint(1, 8, (1,), generator=generator))
        lengths = torch.randint(0, 60, (n,), generator=generator).tolist()
        overhead = int(torch.randint(0, 80, (1,), generator=generator))
        groups = bucket_lengths(lengths, overhead)
        assert sorted(i for g in groups for i in g) == list(range(n))
        for group in groups:
            assert [lengths[i] for i in group] == sorted(lengths[i] for i in group)
        order = sorted(range(n), key=lambda i: lengths[i])
        best = min(
            partition_cost(
                lengths,
                [order[a:b] for a, b in zip((0, *cuts), (*cuts, n))],
                overhead,
            )
            for k in range(n)
            for cuts in itertools.combinations(range(1, n), k)
        )
        assert partition_cost(lengths, groups, overhead) == best


def test_bucket_lengths_default_overhead_splits_off_short_windows():
    # 30 full windows and 10 short last windows: worth a second forward call.
    groups = bucket_lengths([128] * 30 + [20] * 10)
    assert [len(g) for g in groups] == [10, 30]
    # Two short rows are not worth a call of their own.
    assert len(bucket_lengths([128] * 30 + [120] * 2, DEFAULT_GROUP_OVERHEAD)) == 1
    assert bucket_lengths([]) == []


@pytest.mark.parametrize("token_types", [False, True])
def test_outputs_match_the_plain_forward(token_types):
    module = tiny_bert()
    batch = padded_batch(LENGTHS, token_types=token_types)
    with torch.no_grad():
        plain = plain_forward(module, **batch)
        assert install_length_buckets(module, group_overhead=8)
        ours = module(**batch)
    assert padding_counts(module)["forwards"] > 1
    assert type(ours) is type(plain)
    assert set(ours.keys()) == set(plain.keys())
    assert_real_positions_equal(ours, plain, batch["attention_mask"])
    # Each row is its own input's row (the order is restored), pooler too.
    torch.testing.assert_close(ours.pooler_output, plain.pooler_output, atol=1e-5, rtol=1e-4)
    padding = ~batch["attention_mask"].bool()
    assert torch.count_nonzero(ours.last_hidden_state[padding]) == 0


def test_each_row_comes_back_in_its_place():
    module = tiny_bert()
    install_length_buckets(module, group_overhead=0)
    batch = padded_batch(LENGTHS)
    with torch.no_grad():
        together = module(**batch).last_hidden_state
        for row, length in enumerate(LENGTHS):
            alone = plain_forward(
                module,
                input_ids=batch["input_ids"][row : row + 1, :length],
                attention_mask=batch["attention_mask"][row : row + 1, :length],
            ).last_hidden_state[0]
            torch.testing.assert_close(together[row, :length], alone, atol=1e-5, rtol=1e-4)


def test_hidden_states_are_padded_back_and_attentions_fall_back():
    module = tiny_bert()
    batch = padded_batch(LENGTHS)
    with torch.no_grad():
        plain = plain_forward(module, output_hidden_states=True, **batch)
        install_length_buckets(module, group_overhead=8)
        ours = module(output_hidden_states=True, **batch)
        real = batch["attention_mask"].bool()
        assert len(ours.hidden_states) == len(plain.hidden_states)
        for mine, theirs in zip(ours.hidden_states, plain.hidden_states):
            assert mine.shape == theirs.shape
            torch.testing.assert_close(mine[real], theirs[real], atol=1e-5, rtol=1e-4)
        before = padding_counts(module)["forwards"]
        attended = module(output_attentions=True, **batch)
        expected = plain_forward(module, output_attentions=True, **batch)
    assert padding_counts(module)["forwards"] == before + 1
    for mine, theirs in zip(attended.attentions, expected.attentions):
        assert torch.equal(mine, theirs)


def test_parameter_gradients_match_the_plain_forward():
    batch = padded_batch(LENGTHS, token_types=True)
    real = batch["attention_mask"].bool()
    weights = torch.randn(
        len(LENGTHS), max(LENGTHS), 32, generator=torch.Generator().manual_seed(3)
    )

    def gradients(module):
        module.train()
        module.zero_grad()
        output = module(**batch)
        loss = (output.last_hidden_state * weights)[real].sum() + output.pooler_output.sum()
        loss.backward()
        return {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}

    expected = gradients(tiny_bert())
    module = tiny_bert()
    install_length_buckets(module, group_overhead=8)
    ours = gradients(module)
    assert padding_counts(module)["forwards"] > 1
    assert ours.keys() == expected.keys()
    for name, grad in expected.items():
        torch.testing.assert_close(ours[name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_batches_grouping_cannot_help_run_exactly_as_before():
    module = tiny_bert()
    install_length_buckets(module, group_overhead=0)
    equal = padded_batch([17, 17, 17])
    unmasked = {"input_ids": equal["input_ids"]}
    left = padded_batch([5, 9, 9])
    left["attention_mask"] = left["attention_mask"].flip(1)
    with torch.no_grad():
        for batch in (equal, unmasked, left):
            before = padding_counts(module)["forwards"]
            ours = module(**batch)
            plain = plain_forward(module, **batch)
            assert padding_counts(module)["forwards"] == before + 1
            assert torch.equal(ours.last_hidden_state, plain.last_hidden_state)
            assert torch.equal(ours.pooler_output, plain.pooler_output)
        # Positional inputs and tuple outputs run plain as well.
        positional = module(equal["input_ids"]).last_hidden_state
        expected = plain_forward(module, input_ids=equal["input_ids"]).last_hidden_state
        assert torch.equal(positional, expected)
        mixed = padded_batch(LENGTHS)
        assert isinstance(module(return_dict=False, **mixed), tuple)


def test_install_is_idempotent_and_removable():
    module = tiny_bert()
    keys = set(module.state_dict())
    assert install_length_buckets(module)
    forward = module.forward
    assert isinstance(forward, LengthBucketedForward)
    assert not install_length_buckets(module, group_overhead=1)
    assert module.forward is forward and forward.group_overhead == DEFAULT_GROUP_OVERHEAD
    assert set(module.state_dict()) == keys
    assert "input_ids" in str(inspect.signature(module.forward))
    assert remove_length_buckets(module)
    assert not remove_length_buckets(module)
    assert "forward" not in module.__dict__
    with pytest.raises(ValueError):
        padding_counts(module)


def test_the_module_pickles_and_still_works():
    module = tiny_bert()
    install_length_buckets(module, group_overhead=8)
    batch = padded_batch(LENGTHS)
    with torch.no_grad():
        expected = module(**batch)
        for restored in (pickle.loads(pickle.dumps(module)), copy.deepcopy(module)):
            forward = restored.__dict__["forward"]
            assert isinstance(forward, LengthBucketedForward)
            assert forward.module is restored
            assert not install_length_buckets(restored)
            reset_padding_counts(restored)
            output = restored(**batch)
            assert padding_counts(restored)["forwards"] > 1
            assert_real_positions_equal(output, expected, batch["attention_mask"], atol=1e-6)


def test_counts_add_up():
    module = tiny_bert()
    install_length_buckets(module, group_overhead=8)
    batches = [padded_batch(LENGTHS), padded_batch([7, 7]), {"input_ids": torch.ones(2, 5).long()}]
    with torch.no_grad():
        for batch in batches:
            module(**batch)
    counts = padding_counts(module)
    groups = bucket_lengths(LENGTHS, 8)
    bucketed = sum(len(g) * max(LENGTHS[i] for i in g) for g in groups)
    assert counts == {
        "calls": 3,
        "forwards": len(groups) + 2,
        "rows": len(LENGTHS) + 4,
        "real": sum(LENGTHS) + 14 + 10,
        "plain": len(LENGTHS) * max(LENGTHS) + 14 + 10,
        "bucketed": bucketed + 14 + 10,
    }
    assert counts["real"] <= counts["bucketed"] < counts["plain"]
    reset_padding_counts(module)
    assert set(padding_counts(module).values()) == {0}


# -- through spacy-transformers

WORDS = [
    "I loved this film, it was wonderful.",
    "Terrible plot and awful acting.",
    "Jane Smith visited Paris.",
    "The service was slow and the food cold.",
    "Acme Corp opened in London.",
]


def texts_of_many_lengths() -> list[str]:
    # Windows are 128 tokens with a stride of 96: the long texts end in short
    # windows, and the short texts are one short window each.
    return [
        " ".join(WORDS[i % len(WORDS)] for i in range(sentences))
        for sentences in (1, 60, 3, 22, 45, 2)
    ]


def load_plain(pipeline_dir):
    import nlp_tasks

    nlp = nlp_tasks.load(pipeline_dir)
    module = nlp.get_pipe("transformer").model.transformer
    remove_length_buckets(module)
    return nlp, module


def test_pipeline_outputs_are_unchanged(pipeline_dir):
    nlp, module = load_plain(pipeline_dir)
    texts = texts_of_many_lengths()
    plain = list(nlp.pipe(texts, batch_size=len(texts)))
    assert install_length_buckets(module, group_overhead=8)
    ours = list(nlp.pipe(texts, batch_size=len(texts)))
    counts = padding_counts(module)
    assert counts["bucketed"] < counts["plain"]
    assert counts["forwards"] > counts["calls"]
    for before, after in zip(plain, ours):
        old, new = before._.trf_data, after._.trf_data
        mask = old.wordpieces.attention_mask.astype(bool)
        assert (new.wordpieces.attention_mask == old.wordpieces.attention_mask).all()
        torch.testing.assert_close(
            torch.as_tensor(new.model_output.last_hidden_state[mask]),
            torch.as_tensor(old.model_output.last_hidden_state[mask]),
            atol=1e-5,
            rtol=1e-4,
        )
        assert before.cats.keys() == after.cats.keys()
        for label, score in before.cats.items():
            assert after.cats[label] == pytest.approx(score, abs=1e-5)
        assert [(e.start, e.end, e.label_) for e in before.ents] == [
            (e.start, e.end, e.label_) for e in after.ents
        ]
    # nlp.pipe(n_process > 1) pickles the pipeline: the buckets go with it.
    restored = pickle.loads(pickle.dumps(nlp))
    restored_module = restored.get_pipe("transformer").model.transformer
    assert isinstance(restored_module.__dict__["forward"], LengthBucketedForward)
    reset_padding_counts(restored_module)
    again = list(restored.pipe(texts, batch_size=len(texts)))
    assert padding_counts(restored_module) == counts
    for before, after in zip(plain, again):
        assert after.cats == pytest.approx(before.cats, abs=1e-5)


def test_training_through_the_pipeline_matches(pipeline_dir, data_dir):
    from nlp_tasks.testing import train_steps
    from nlp_tasks.training.corpus import MultiTaskCorpus

    trained = []
    for buckets in (False, True):
        nlp, module = load_plain(pipeline_dir)
        # No dropout: both runs must see the same function.
        for layer in module.modules():
            if isinstance(layer, torch.nn.Dropout):
                layer.p = 0.0
            if hasattr(layer, "dropout_prob"):
                layer.dropout_prob = 0.0
        if buckets:
            install_length_buckets(module, group_overhead=0)
        tasks = {t: data_dir / t / "train.jsonl" for t in ("sentiment", "ner")}
        examples = list(MultiTaskCorpus(tasks)(nlp))
        losses = train_steps(nlp, nlp.create_optimizer(), examples, steps=3, batch_size=13)
        if buckets:
            assert padding_counts(module)["forwards"] > padding_counts(module)["calls"]
        trained.append((losses, {k: v.detach().clone() for k, v in module.state_dict().items()}))
    (plain_losses, plain_weights), (our_losses, our_weights) = trained
    for plain_step, our_step in zip(plain_losses, our_losses):
        assert our_step == pytest.approx(plain_step, rel=1e-4, abs=1e-6)
    for name, weight in plain_weights.items():
        torch.testing.assert_close(our_weights[name], weight, atol=1e-5, rtol=1e-4, msg=name)
    before = load_plain(pipeline_dir)[1].state_dict()
    assert any(not torch.equal(w, before[name]) for name, w in plain_weights.items())
