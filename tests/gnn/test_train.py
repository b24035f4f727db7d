from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch

from gnn.data import TrainGraph
from gnn.metrics import Ranking, recall_at_k
from gnn.model import GraphLightGCN, _spmm, normalized_adjacency, recommend
from gnn.train import (
    EMA_DECAY,
    MAX_TRAIN_USERS,
    TrainConfig,
    _holdout,
    _recent_holdout,
    _run,
    _Serve,
    _user_sample,
    _validation,
    choose_half_life,
    default_config,
    fit,
    pair_keys,
    recency_weight,
    resolve_config,
    split_positives,
)

FAST = TrainConfig(embedding_dim=16, epochs=40, batch_size=256, lr=0.05, patience=40, num_threads=1)


def planted(seed: int = 0) -> tuple[TrainGraph, torch.Tensor]:
    """40 users and 40 programs in 4 communities; users like programs of their own.

    Returns the training graph and held-out (user node, program node) test pairs.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for u in range(40):
        community = u % 4
        liked = rng.permutation(np.arange(community, 40, 4))  # 10 programs
        train += [(u, 40 + p) for p in liked[:6]]
        test += [(u, 40 + p) for p in liked[6:]]
    graph = TrainGraph(
        num_nodes=80,
        edge_index=torch.empty(2, 0, dtype=torch.long),
        user_nodes=torch.arange(40),
        program_nodes=torch.arange(40, 80),
        positives=torch.tensor(train).T,
    )
    return graph, torch.tensor(test).T


def recall(embeddings: torch.Tensor, graph: TrainGraph, test: torch.Tensor) -> float:
    top, _ = recommend(
        embeddings,
        users=graph.user_nodes,
        programs=graph.program_nodes,
        exclude=graph.positives,
        k=4,
    )
    return recall_at_k(Ranking.from_arrays(top.numpy(), test[0].numpy(), test[1].numpy()))


def test_training_beats_random_on_planted_communities() -> None:
    graph, test = planted()
    result = fit(graph, FAST, progress=False)
    random = GraphLightGCN(80, 16, 2)
    adj = normalized_adjacency(graph.positives, 80)
    with torch.no_grad():
        untrained = random.get_embedding(adj)
    # Random lists hit ~4/34 of the 4 held-out programs; trained ones nearly all.
    assert recall(result.embeddings, graph, test) > 0.8
    assert recall(result.embeddings, graph, test) > recall(untrained, graph, test) + 0.4
    assert result.history and result.fit_seconds > 0
    assert 1 <= result.best_epoch <= FAST.epochs


@pytest.mark.parametrize(
    ("num_negatives", "groups"), [(8, 1), (8, 3), (1000, 1)]
)  # sampled, sampled in groups of users, full softmax
def test_same_seed_same_embeddings(num_negatives: int, groups: int) -> None:
    graph, _ = planted()
    update = {"epochs": 5, "num_negatives": num_negatives, "negative_groups": groups}
    config = FAST.model_copy(update=update)
    a = fit(graph, config, progress=False).embeddings
    b = fit(graph, config, progress=False).embeddings
    c = fit(graph, config.model_copy(update={"seed": 1}), progress=False).embeddings
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_the_moving_average_of_the_parameters_is_what_is_judged_and_served() -> None:
    graph, test = planted()
    config = FAST.model_copy(update={"epochs": 12, "patience": 12, "ema_decay": None})
    plain = fit(graph, config, progress=False)
    # A decay of ~0 averages nothing: the last parameters, as without an average.
    last = fit(graph, config.model_copy(update={"ema_decay": 1e-9}), progress=False)
    averaged = fit(graph, config.model_copy(update={"ema_decay": 0.9}), progress=False)
    assert torch.allclose(plain.embeddings, last.embeddings, atol=1e-5)
    assert [h["val_ndcg"] for h in plain.history] == pytest.approx(
        [h["val_ndcg"] for h in last.history], abs=1e-6
    )
    assert not torch.allclose(plain.embeddings, averaged.embeddings, atol=1e-3)
    assert averaged.best_val_ndcg is not None
    assert recall(averaged.embeddings, graph, test) > 0.8
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)


def test_extra_node_types_take_part_in_propagation() -> None:
    graph, test = planted()
    # One Genre node per community, linked to its programs: nodes 80..83.
    programs = torch.arange(40)
    genre_edges = torch.stack([40 + programs, 80 + programs % 4])
    with_genres = TrainGraph(
        num_nodes=84,
        edge_index=genre_edges,
        user_nodes=graph.user_nodes,
        program_nodes=graph.program_nodes,
        positives=graph.positives,
        edge_weight=torch.full((40,), 2.0),
    )
    result = fit(with_genres, FAST, progress=False)
    # Six positives per user: the sparse recipe, whose last column holds the program bias.
    assert result.config.program_bias
    assert result.embeddings.shape == (84, 16 + 1)
    assert recall(result.embeddings, with_genres, test) > 0.8


def test_recommend_excludes_seen_and_pads_short_lists() -> None:
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 0.0], [2.0, 0.0], [1.0, 1.0]])
    users, programs = torch.tensor([0, 1]), torch.tensor([2, 3, 4])
    seen = torch.tensor([[0, 0, 1], [2, 4, 4]])
    top, scores = recommend(emb, users=users, programs=programs, exclude=seen, k=3, max_scores=3)
    assert top.tolist() == [[3, -1, -1], [2, 3, -1]]  # user 1 ties 2 and 3 at score 0
    assert scores[0, 0] == 2.0 and torch.isinf(scores[0, 1:]).all()


def test_normalized_adjacency_is_symmetric_and_normalised() -> None:
    edges = torch.tensor([[0, 1, 2, 1], [1, 2, 0, 0]])  # 0-1 listed in both directions
    adj = normalized_adjacency(edges, 4, edge_weight=torch.tensor([1.0, 2.0, 1.0, 3.0]))
    dense = adj.to_dense()
    a = torch.tensor([[0, 2, 1, 0], [2, 0, 2, 0], [1, 2, 0, 0], [0, 0, 0, 0]], dtype=torch.float)
    d = a.sum(1).pow(-0.5).nan_to_num(posinf=0.0)
    assert torch.allclose(dense, d[:, None] * a * d[None, :])
    with pytest.raises(ValueError, match=r"outside 0\.\.3"):
        normalized_adjacency(torch.tensor([[0], [4]]), 4)


def test_custom_backward_matches_dense_autograd() -> None:
    graph, _ = planted()
    adj = normalized_adjacency(graph.positives, 80)
    model = GraphLightGCN(80, 8, 2)
    model.get_embedding(adj).pow(2).sum().backward()
    sparse_grad = model.embedding.weight.grad.clone()
    model.zero_grad()
    x, dense = model.embedding.weight, adj.to_dense()
    ((x + dense @ x + dense @ dense @ x) / 3).pow(2).sum().backward()
    assert torch.allclose(sparse_grad, model.embedding.weight.grad, atol=1e-5)


def test_frozen_nodes_leave_the_parameters_and_the_average_keeps_their_ids() -> None:
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    model = GraphLightGCN(40, 3, 2)
    model.reset_parameters_(std=0.1, generator=torch.Generator().manual_seed(0))
    drawn = model.embedding.weight.detach().clone()
    users, others = torch.arange(0, 40, 2), torch.arange(1, 40, 2)
    model.freeze_ego_(users)
    assert model.embedding.weight.shape == (20, 3)  # only the other nodes' rows
    ego = model.ego_embeddings()
    assert torch.equal(ego[users], torch.zeros(20, 3))
    assert torch.equal(ego[others], drawn[others])
    # Averaged as numbers, 0.9 x id + 0.1 x id truncates some ids (e.g. 3 to 2).
    ema = get_ema_multi_avg_fn(0.9)  # type: ignore[no-untyped-call]
    averaged = AveragedModel(model, multi_avg_fn=ema, use_buffers=True)
    for _ in range(3):
        averaged.update_parameters(model)
    assert torch.equal(averaged.module.ego_rows, others)  # node ids are not averaged


def test_the_sparse_product_gives_torchs_values() -> None:
    graph, _ = planted()
    adj = normalized_adjacency(graph.positives, 80)
    x = torch.randn(80, 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(_spmm(adj, x), torch.sparse.mm(adj, x))
    assert torch.equal(_spmm(adj, x.T.contiguous().T), torch.sparse.mm(adj, x))  # any layout


def test_the_refit_takes_as_many_steps_as_the_best_epochs_did() -> None:
    """With one batch less than every positive, the search (its holdout out) takes one
    step an epoch and the refit two: the refit runs half the epochs, not as many."""
    graph, _ = planted()
    batch = graph.positives.size(1) - 1
    config = FAST.model_copy(
        update={"epochs": 8, "patience": 8, "folds": 1, "batch_size": batch, "refit": True}
    )
    result = fit(graph, config, progress=False)
    search = [h for h in result.history if h["phase"] == "search"]
    refit = [h for h in result.history if h["phase"] == "refit"]
    assert {h["steps"] for h in search} == {1} and {h["steps"] for h in refit} == {2}
    assert result.best_epoch > 2 and len(refit) == round(result.best_epoch / 2)


def test_split_keeps_one_positive_per_user() -> None:
    positives = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [5] * 11])
    train, val = split_positives(positives, fraction=0.3, generator=torch.Generator())
    assert int(val[:10].sum()) == 3 and not val[10]
    assert bool(train[10]) and (train ^ val).all()


def _held_out(pairs: list[tuple[str, str]], **split: Any) -> set[tuple[str, str]]:
    """The pairs held out of ``pairs``, numbered as a fresh export would (sorted ids)."""
    users = {u: i for i, u in enumerate(sorted({u for u, _ in pairs}))}
    programs = {p: len(users) + i for i, p in enumerate(sorted({p for _, p in pairs}))}
    positives = torch.tensor([[users[u] for u, _ in pairs], [programs[p] for _, p in pairs]])
    if split.pop("keyed", False):
        split["keys"] = pair_keys([u for u, _ in pairs], [p for _, p in pairs], seed=7)
    _, val = split_positives(positives, fraction=0.2, **split)
    return {pair for pair, held in zip(pairs, val.tolist(), strict=True) if held}


def test_keyed_split_holds_out_the_same_pairs_again_in_a_grown_graph() -> None:
    rng = np.random.default_rng(0)
    drawn = zip(rng.integers(0, 300, 6000), rng.integers(0, 500, 6000), strict=True)
    pairs = list(dict.fromkeys((f"u{u:03d}", f"p{p:03d}") for u, p in drawn))
    before, grown = pairs[:5000], pairs  # new pairs, and users and programs renumbered
    rng.shuffle(grown)
    old = _held_out(before, keyed=True)
    again = _held_out(grown, keyed=True) & set(before)
    assert len(again & old) >= 0.9 * len(old)
    assert _held_out(before, keyed=True) == old  # and it is reproducible
    # A random draw, as before: most of the old holdout lands in the new training set.
    drawn_again = _held_out(grown, generator=torch.Generator().manual_seed(7)) & set(before)
    assert len(drawn_again & old) < 0.5 * len(old)


DAY = 86_400.0


def _dated() -> TrainGraph:
    """20 users, 12 programs. User u watched the nine of programs 0-9 other than u % 10 on
    day 0 (each of them has 18 viewers), then programs 10 and 11 on day 10: everyone's
    latest watches are the same two programs, each with 20 viewers."""
    pairs, times = [], []
    for u in range(20):
        for p in range(10):
            if p != u % 10:
                pairs.append((u, 20 + p))
                times.append(float(u))
        for p in (10, 11):
            pairs.append((u, 20 + p))
            times.append(10 * DAY + u)
    return TrainGraph(
        num_nodes=32,
        edge_index=torch.empty(2, 0, dtype=torch.long),
        user_nodes=torch.arange(20),
        program_nodes=torch.arange(20, 32),
        positives=torch.tensor(pairs).T,
        positive_time=torch.tensor(times, dtype=torch.float64),
    )


def test_without_a_refit_the_served_embeddings_propagate_over_every_positive() -> None:
    graph, _ = planted()
    config = resolve_config(
        graph, FAST.model_copy(update={"epochs": 3, "val_fraction": 0.2, "refit": False})
    )
    train, val = _holdout(graph, config, torch.Generator().manual_seed(0))
    only_train = _Serve(replace(graph, positives=graph.positives[:, train], positive_time=None))
    runs = {
        name: _run(
            graph,
            config,
            train_mask=train,
            epochs=3,
            progress=False,
            history=[],
            validation=_validation(graph, train, val),
            phase="search",
            serve=served,
        )
        for name, served in (("train", only_train), ("every", _Serve(graph)))
    }
    emb, _, on_train = runs["train"]
    same_emb, _, on_every = runs["every"]
    assert on_train is not None and on_every is not None
    assert torch.equal(emb, same_emb)  # the same training, whatever is served
    assert torch.allclose(on_train, emb)  # the best epoch's parameters, on the same graph
    held_users = torch.unique(graph.positives[0, val])
    moved = (on_every[held_users] - emb[held_users]).abs().sum(1)
    assert bool((moved > 0).all())  # each held-out user now sees their held-out programs
    result = fit(graph, config, progress=False)
    assert torch.allclose(result.embeddings, on_every)


def test_recency_weight_halves_with_each_half_life_of_age() -> None:
    times = torch.tensor([0.0, 2 * DAY, 3 * DAY])
    weight = recency_weight(times, 1.0)
    assert weight.tolist() == pytest.approx([0.125, 0.5, 1.0])


def test_the_latest_holdout_holds_out_each_users_latest_positives() -> None:
    graph = _dated()
    config = TrainConfig(holdout="latest", val_fraction=0.1, epochs=1, num_threads=1)
    train, val = _holdout(graph, config, torch.Generator().manual_seed(0))
    assert graph.positive_time is not None
    held = graph.positive_time[val]
    assert int(val.sum()) == 20 and bool((held >= 10 * DAY).all())  # one of day 10 each
    assert (train ^ val).all()
    with pytest.raises(ValueError, match=r"needs TrainGraph\.positive_time"):
        _holdout(planted()[0], config, torch.Generator())


def test_half_lives_are_judged_on_the_positives_after_a_cut_in_time() -> None:
    graph = _dated()
    config = TrainConfig(holdout="latest", val_fraction=0.1, epochs=1, num_threads=1)
    train, val = _recent_holdout(graph, config, torch.Generator().manual_seed(0))
    assert graph.positive_time is not None
    # 220 positives, the latest 22 of them: both day-10 watches of users 9-19 (times 10
    # days + the user); every one of those users keeps their day-0 watches.
    held = graph.positives[:, val]
    assert sorted(held[0].tolist()) == sorted(list(range(9, 20)) * 2)
    assert bool((graph.positive_time[val] >= 10 * DAY + 9).all())
    assert set(graph.positives[0, train].tolist()) == set(range(20))
    assert (train ^ val).all()
    few = config.model_copy(update={"val_max_users": 3})
    _, val_few = _recent_holdout(graph, few, torch.Generator().manual_seed(0))
    assert len(set(graph.positives[0, val_few].tolist())) == 3
    assert int(val_few.sum()) == 6
    with pytest.raises(ValueError, match=r"needs TrainGraph\.positive_time"):
        _recent_holdout(planted()[0], config, torch.Generator())


def test_the_half_life_is_chosen_only_where_recent_watches_predict_the_next() -> None:
    graph = _dated()
    chosen = {}
    for holdout in ("latest", "random"):
        config = TrainConfig(holdout=holdout, val_fraction=0.1, num_threads=1)
        train, val = _holdout(graph, config, torch.Generator().manual_seed(0))
        chosen[holdout] = choose_half_life(graph, train, _validation(graph, train, val), 1)
    # Held out: program 10 or 11, the one not seen being ranked under the one old program
    # each user has not seen (18 viewers against 19) unless recent viewers count more.
    assert chosen["latest"] is not None
    # Held out: mostly old programs (17 viewers left, ranked under the unseen one's 18 by any
    # count, as they are all as old) and otherwise 10 or 11 (19 left, first by any count).
    assert chosen["random"] is None


def test_auto_half_life_is_recorded_and_without_times_there_is_none() -> None:
    latest = FAST.model_copy(update={"holdout": "latest", "epochs": 2})
    result = fit(_dated(), latest, progress=False)
    assert isinstance(result.config.half_life_days, float)
    graph, _ = planted()
    undated = fit(graph, FAST.model_copy(update={"epochs": 2}), progress=False)
    assert undated.config.half_life_days is None
    with pytest.raises(ValueError, match=r"half_life_days=1\.0 .* has no positive_time"):
        fit(graph, FAST.model_copy(update={"half_life_days": 1.0, "epochs": 1}), progress=False)


def test_grouped_samples_score_each_user_against_their_share_only() -> None:
    """Two users, four samples in two groups: user 0 is scored against samples 0-1, user 1
    against 2-3, each standing for programs / 2 of them (the logQ correction)."""
    import math

    from gnn.train import _grouped_sampled_loss

    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    uniq, sampled = torch.tensor([0, 1]), torch.tensor([2, 3, 4, 5])
    pos_score, inv = torch.tensor([1.0, 0.5]), torch.tensor([0, 1])
    loss = _grouped_sampled_loss(
        emb[uniq], emb[sampled], sampled, pos_score, inv, groups=2, num_programs=8, inv_tau=1.0,
        bias=None, weight=None,
    )  # fmt: skip
    correction = math.log(8 / 2)
    others = [
        math.log(math.exp(1.0 + correction) + math.exp(0.0 + correction)),  # user 0: 2, 3
        math.log(math.exp(1.0 + correction) + math.exp(0.0 + correction)),  # user 1: 4, 5
    ]
    expected = [
        math.log(math.exp(p) + math.exp(o)) - p for p, o in zip([1.0, 0.5], others, strict=True)
    ]
    assert float(loss) == pytest.approx(sum(expected) / 2, rel=1e-6)


def test_bad_graphs_and_configs_are_rejected() -> None:
    graph, _ = planted()
    with pytest.raises(ValueError, match="positives\\[0\\] must hold user nodes"):
        TrainGraph(
            num_nodes=80,
            edge_index=graph.edge_index,
            user_nodes=graph.user_nodes,
            program_nodes=graph.program_nodes,
            positives=graph.positives.flip(0),
        )
    with pytest.raises(ValueError, match="layer_weights has 2 values"):
        fit(graph, FAST.model_copy(update={"layer_weights": (0.5, 0.5)}), progress=False)
    with pytest.raises(ValueError, match="embedding_dim"):
        TrainConfig(embedding_dim=0)


def test_defaults_follow_the_graph_density() -> None:
    sparse, _ = planted()  # six positives per user
    chosen = default_config(sparse)
    assert (chosen.user_ego, chosen.program_bias, chosen.folds) == (False, True, 10)
    assert chosen.ema_decay == EMA_DECAY
    assert chosen.num_negatives == 40  # never more than the programs: the exact softmax
    assert chosen.batch_size == 1_024
    assert not chosen.refit  # 40 users: the holdout takes a tenth of the positives
    big = TrainGraph(
        num_nodes=sparse.num_nodes + 20_000,
        edge_index=sparse.edge_index,
        user_nodes=sparse.user_nodes,
        program_nodes=torch.cat([sparse.program_nodes, torch.arange(20_000) + sparse.num_nodes]),
        positives=sparse.positives,
    )
    assert default_config(big).num_negatives == (20_000 + 40) // 4  # a quarter of them
    assert default_config(big).negative_groups == 4  # each user against 1,252 of the 5,010
    for users, refits in ((60_000, False), (20_000, True)):
        many = torch.arange(users)
        crowd = TrainGraph(  # the holdout (5,000 users') takes 0.8 % or 2.5 % of it all
            num_nodes=users + 10,
            edge_index=torch.empty(2, 0, dtype=torch.long),
            user_nodes=many,
            program_nodes=torch.arange(users, users + 10),
            positives=torch.stack([many, users + many % 10]),
        )
        assert default_config(crowd).refit is refits
    users = torch.arange(2)
    dense = TrainGraph(
        num_nodes=32,
        edge_index=torch.empty(2, 0, dtype=torch.long),
        user_nodes=users,
        program_nodes=torch.arange(2, 32),
        positives=torch.stack([users.repeat_interleave(30), torch.arange(2, 32).repeat(2)]),
    )
    assert default_config(dense) == TrainConfig()  # the dense recipe, tuned on ms100k


def with_bundles(graph: TrainGraph) -> TrainGraph:
    """``graph`` plus one bundle node per community, each user subscribed to theirs."""
    bundles = torch.arange(4) + graph.num_nodes
    users = graph.user_nodes
    return replace(
        graph,
        num_nodes=graph.num_nodes + 4,
        edge_index=torch.stack([users, bundles[users % 4]]),
    )


def test_a_user_sample_keeps_the_chosen_users_edges_and_every_other_node() -> None:
    graph = with_bundles(planted()[0])  # 40 users, 40 programs, 4 bundles
    config = TrainConfig(max_train_users=10, user_ego=False)
    sample, nodes = _user_sample(graph, config, torch.Generator().manual_seed(0))
    assert nodes is not None
    assert (sample.num_nodes, sample.user_nodes.numel()) == (54, 10)
    assert torch.equal(nodes[sample.program_nodes], graph.program_nodes)
    users = nodes[sample.user_nodes]
    assert bool(torch.isin(users, graph.user_nodes).all())
    # All six positives of each of the ten, and their bundle edges only, on the same nodes.
    pairs = set(map(tuple, nodes[sample.positives].T.tolist()))
    assert pairs == {p for p in map(tuple, graph.positives.T.tolist()) if p[0] in users}
    edges = set(map(tuple, nodes[sample.edge_index].T.tolist()))
    assert edges == {e for e in map(tuple, graph.edge_index.T.tolist()) if e[0] in users}
    again, _ = _user_sample(graph, config, torch.Generator().manual_seed(0))
    assert torch.equal(again.positives, sample.positives)  # the seed decides
    everyone = config.model_copy(update={"max_train_users": 40})
    assert _user_sample(graph, everyone, torch.Generator()) == (graph, None)
    with pytest.raises(ValueError, match="max_train_users=10 needs user_ego=False"):
        _user_sample(graph, config.model_copy(update={"user_ego": True}), torch.Generator())


def test_a_fit_on_a_user_sample_serves_every_user_from_their_own_programs() -> None:
    graph, test = planted()
    graph = with_bundles(graph)
    config = FAST.model_copy(
        update={"user_ego": False, "max_train_users": 16, "val_fraction": 0.2, "refit": False}
    )
    result = fit(graph, config, progress=False)
    sample, nodes = _user_sample(
        graph, resolve_config(graph, config), torch.Generator().manual_seed(config.seed)
    )
    assert nodes is not None
    left_out = ~torch.isin(graph.user_nodes, nodes[sample.user_nodes])
    assert int(left_out.sum()) == 24
    # Users never seen in training still find their community's programs.
    outside = torch.isin(test[0], graph.user_nodes[left_out])
    assert recall(result.embeddings, graph, test[:, outside]) > 0.6
    assert default_config(graph).max_train_users == MAX_TRAIN_USERS


def test_beyond_the_user_cap_a_step_keeps_the_size_it_has_on_the_whole_graph() -> None:
    users = 2 * MAX_TRAIN_USERS  # one positive each
    graph = TrainGraph(
        num_nodes=users + 100,
        edge_index=torch.empty(2, 0, dtype=torch.long),
        user_nodes=torch.arange(users),
        program_nodes=torch.arange(users, users + 100),
        positives=torch.stack([torch.arange(users), users + torch.arange(users) % 100]),
    )
    # A 32nd of every positive: a pass over the sample's takes 16 steps here, not 32.
    assert default_config(graph).batch_size == users // 32


def test_the_fields_a_caller_sets_win_over_the_size_based_ones() -> None:
    graph, _ = planted()
    resolved = resolve_config(graph, TrainConfig(embedding_dim=8, folds=1))
    assert (resolved.embedding_dim, resolved.folds) == (8, 1)
    assert resolved.user_ego is False  # not set: chosen from the size


def test_the_bias_column_makes_dot_products_the_training_scores() -> None:
    graph, _ = planted()
    result = fit(graph, FAST.model_copy(update={"epochs": 3}), progress=False)
    emb = result.embeddings
    assert torch.all(emb[graph.user_nodes, -1] == 1.0)
    programs = emb[graph.program_nodes]
    # The other columns are unit vectors for programs and 1/tau-long ones for users.
    assert torch.allclose(programs[:, :-1].norm(dim=1), torch.ones(40), atol=1e-5)
    user_norms = emb[graph.user_nodes, :-1].norm(dim=1)
    assert torch.allclose(user_norms, torch.full((40,), 1 / result.config.temperature), atol=1e-4)
