"""The example bank's vote, the fusion with the head, and the contrastive loss (fast: no e5)."""

from __future__ import annotations

import pytest
import torch

from vtm.nlu.model.bank import ExampleBank, fuse
from vtm.nlu.model.train import supervised_contrastive


def _unit(*rows: list[float]) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


BANK = ExampleBank(
    embeddings=_unit([1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 1.0, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]),
    labels=torch.tensor([0, 0, 1, 1, 2]),
    n_labels=3,
)


def test_the_nearest_examples_decide_the_vote() -> None:
    votes = BANK.vote(_unit([1.0, 0.05, 0.0], [0.0, 0.2, 1.0]), k=2, temperature=0.05)
    assert votes.shape == (2, 3)
    assert torch.allclose(votes.sum(dim=-1), torch.ones(2))
    assert votes[0].argmax() == 0
    assert votes[0, 0] == pytest.approx(1.0)  # both neighbours are label 0
    assert votes[1].argmax() == 2


def test_a_low_temperature_trusts_the_closest_neighbour_more() -> None:
    query = _unit([0.7, 0.6, 0.0])  # a little closer to label 0 than to label 1
    sharp = BANK.vote(query, k=4, temperature=0.01)[0]
    soft = BANK.vote(query, k=4, temperature=1.0)[0]
    assert sharp[0] > soft[0] > soft[1]


def test_k_larger_than_the_bank_uses_every_example() -> None:
    votes = BANK.vote(_unit([0.0, 0.0, 1.0]), k=50, temperature=10.0)
    assert (votes > 0).all()


def test_an_empty_bank_votes_uniformly() -> None:
    empty = ExampleBank(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), n_labels=4)
    assert torch.allclose(empty.vote(_unit([1.0, 0.0, 0.0]), k=3, temperature=0.1), torch.full((1, 4), 0.25))


def test_a_bank_with_mismatched_shapes_is_refused() -> None:
    with pytest.raises(ValueError, match="bank shapes disagree"):
        ExampleBank(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), n_labels=2)


def test_fusion_is_a_mixture_that_keeps_a_distribution() -> None:
    head = torch.tensor([[0.8, 0.2, 0.0]])
    votes = torch.tensor([[0.0, 0.0, 1.0]])
    assert torch.allclose(fuse(head, votes, 0.0), head)
    assert torch.allclose(fuse(head, votes, 1.0), votes)
    mixed = fuse(head, votes, 0.25)
    assert torch.allclose(mixed, torch.tensor([[0.6, 0.15, 0.25]]))
    assert mixed.sum() == pytest.approx(1.0)


def test_the_contrastive_loss_is_lower_when_same_intent_lines_are_close() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    clustered = _unit([1.0, 0.0], [0.95, 0.05], [0.0, 1.0], [0.05, 0.95])
    mixed = _unit([1.0, 0.0], [0.0, 1.0], [0.95, 0.05], [0.05, 0.95])
    assert supervised_contrastive(clustered, labels, 0.1) < supervised_contrastive(mixed, labels, 0.1)


def test_out_of_scope_rows_are_not_pulled_together() -> None:
    # Two out_of_scope lines far apart cost nothing: out_of_scope is not a meaning to cluster around.
    labels = torch.tensor([2, 2, 0, 0])
    embedded = _unit([1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.99, 0.1])
    with_oos_anchors = supervised_contrastive(embedded, labels, 0.1)
    without = supervised_contrastive(embedded, labels, 0.1, exclude=2)
    assert without < with_oos_anchors
    assert supervised_contrastive(embedded[:2], labels[:2], 0.1, exclude=2) == 0.0


def test_the_contrastive_loss_carries_a_gradient() -> None:
    embedded = _unit([1.0, 0.2], [0.3, 1.0], [0.5, 0.5]).requires_grad_(True)
    supervised_contrastive(embedded, torch.tensor([0, 0, 1]), 0.1).backward()  # type: ignore[no-untyped-call]
    assert embedded.grad is not None
    assert embedded.grad.abs().sum() > 0
