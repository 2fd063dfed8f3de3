"""The serving worker on tiny models: a request batched with others gets exactly what it
gets alone (token ids, probabilities, ranks, entropy, attention rows, pieces), whatever
joins or leaves the batch meanwhile; seeded sampling reproduces; Stop, a failing request
and a failing call each end alone; random traffic never deadlocks; interactive work
holds background jobs back; a freed model takes its worker with it."""

from __future__ import annotations

import gc
import random
import threading
import time

import numpy as np
import pytest

from llm_core.errors import InputError
from llm_core.generation import choosing
from llm_core.generation.generate import build_prompt_ids, generate
from llm_core.generation.perplexity import perplexity
from llm_core.generation.sampling import GenerationSettings
from llm_core.models import kernels
from llm_core.models.loading import load_model
from llm_core.serving import batch as batch_module
from llm_core.serving import worker as worker_module
from llm_core.serving.batch import DecodeBatch, can_batch, new_row, prefill_groups
from llm_core.serving.gate import InteractiveGate
from llm_core.serving.worker import Together, generate_many, worker_for

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCHS = ("llama", "gpt2", "qwen2")
PROMPTS = ("我爱吃苹果。The cat sat on", "Hi", "The dog sat on the log. 床前明月光，疑是地上霜。")
WAIT_S = 120  # generous: the machine may be shared


@pytest.fixture(scope="module")
def models(tiny_models):
    return tiny_models


def ids_of(loaded, text: str) -> list[int]:
    return build_prompt_ids(loaded.tokenizer, text)


def mixed_settings() -> list[GenerationSettings]:
    """Different strategies, filters, penalties and lengths: each row its own."""
    return [
        GenerationSettings(max_new_tokens=12, capture_attention=True, stop_at_eos=False),
        GenerationSettings(
            max_new_tokens=5, do_sample=True, temperature=0.8, top_k=20, seed=3,
            capture_attention=True, stop_at_eos=False,
        ),
        GenerationSettings(
            max_new_tokens=9, do_sample=True, top_p=0.9, seed=5, repetition_penalty=1.3,
            capture_attention=True, stop_at_eos=False, n_alternatives=4,
        ),
    ]  # fmt: skip


def assert_same_steps(alone, batched) -> None:
    """Token ids and pieces identical; probabilities, entropy and attention within 1e-4."""
    assert [s.token_id for s in batched] == [s.token_id for s in alone]
    for a, b in zip(alone, batched, strict=True):
        assert (a.index, a.sequence, a.rank, a.piece) == (b.index, b.sequence, b.rank, b.piece)
        for name in ("prob", "prob_after", "entropy", "entropy_after"):
            assert getattr(b, name) == pytest.approx(getattr(a, name), abs=1e-4), name
        assert [c.token_id for c in b.top_before] == [c.token_id for c in a.top_before]
        assert [c.token_id for c in b.top_after] == [c.token_id for c in a.top_after]
        np.testing.assert_allclose(
            [c.prob for c in b.top_after], [c.prob for c in a.top_after], atol=1e-4
        )
        if a.attention is None:
            assert b.attention is None
            continue
        assert b.attention.shape == a.attention.shape  # [layer, head, key_pos]: no padding
        np.testing.assert_allclose(b.attention, a.attention, atol=1e-4)
        np.testing.assert_allclose(b.attention.sum(-1), 1.0, atol=1e-5)


# ---------------------------------------------------------------------------- the batch


def busy_worker(loaded):
    """(worker, release, blocker): the model's worker running a call that holds it (and
    the model's lock) until ``release.set()``; calls submitted meanwhile wait."""
    worker = worker_for(loaded)
    release = threading.Event()
    blocker = worker.submit_call(lambda _loaded: release.wait(WAIT_S), label="busy")
    while blocker.place().ahead:  # until it runs
        time.sleep(0.01)
    return worker, release, blocker


def recorder(batch, got: dict):
    """``record(results)``: each row's step into ``got[its owner]``, finished rows dropped."""

    def record(results) -> None:
        for row, step in results:
            got[row.owner].append(step)
        batch.drop([row for row, _ in results if row.done])

    return record


def alone_and_rows(loaded) -> tuple[list, list]:
    """The three prompts with mixed settings: each one's steps generated alone, and a
    batch row for each (owner = its index)."""
    ids = [ids_of(loaded, text) for text in PROMPTS]
    settings = mixed_settings()
    alone = [generate(loaded, i, s).steps for i, s in zip(ids, settings, strict=True)]
    rows = [new_row(loaded, k, ids[k], settings[k], 0, settings[k].seed) for k in range(3)]
    return alone, rows


@pytest.mark.parametrize("arch", ARCHS)
def test_rows_joining_and_leaving_mid_batch_equal_each_alone(models, arch):
    loaded = models[arch]
    assert can_batch(loaded)
    alone, rows = alone_and_rows(loaded)
    got: dict[int, list] = {0: [], 1: [], 2: []}
    batch = DecodeBatch(loaded)

    def record(results) -> None:
        for row, step in results:
            assert not isinstance(step, Exception), step
            got[row.owner].append(step)
        batch.drop([row for row, _ in results if row.done])
        if batch.mask is not None:  # no column is padding in every row
            assert bool(batch.mask[:, 0].any())
            longest = max(len(row.context) - 1 for row in batch.rows)
            assert batch.n_columns == longest

    with loaded.lock:
        record(batch.join(rows[:1]))  # row 0 alone for two steps
        record(batch.step())
        record(batch.step())
        record(batch.join(rows[1:]))  # a shorter and a longer prompt join mid-batch
        while len(batch):
            record(batch.step())  # row 1 leaves after 5 tokens, row 2 after 9
    for k in range(3):
        assert_same_steps(alone[k], got[k])


def test_a_merge_failing_midway_leaves_the_batch_as_it_was(models, monkeypatch):
    """Out of memory while the joining rows' cache is merged, layer by layer: the layers
    merged so far go back, and the rows already in the batch decode as if alone."""
    loaded = models["llama"]
    alone, rows = alone_and_rows(loaded)
    got: dict[int, list] = {0: [], 1: []}
    batch = DecodeBatch(loaded)
    pad_left, calls = batch_module._pad_left, []

    def failing_pad(tensor, width):
        calls.append(1)
        if len(calls) == 7:  # layer 1's values: layer 0 is merged, layer 1's keys too
            raise MemoryError("out of memory")
        return pad_left(tensor, width)

    record = recorder(batch, got)

    with loaded.lock:
        record(batch.join(rows[:2]))
        record(batch.step())
        monkeypatch.setattr(batch_module, "_pad_left", failing_pad)
        with pytest.raises(MemoryError):
            batch.join(rows[2:])
        monkeypatch.setattr(batch_module, "_pad_left", pad_left)
        assert len(calls) == 7 and len(batch) == 2
        for layer in batch.cache.layers:
            assert (
                layer.keys.shape[:3]
                == layer.values.shape[:3]
                == (2, *layer.keys.shape[1:2], batch.n_columns)
            )
        while len(batch):
            record(batch.step())
    for k in range(2):
        assert_same_steps(alone[k], got[k])


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_decode_steps_write_in_place_into_a_cache_with_room(models, arch, monkeypatch):
    """Each step's keys and values go into the room left in the layer's buffers; a cache
    out of room, joined or dropped from moves to new buffers; the rows still decode as
    if alone."""
    monkeypatch.setattr(batch_module, "ROOM_COLUMNS", 3)
    loaded = models[arch]
    alone, rows = alone_and_rows(loaded)
    got: dict[int, list] = {0: [], 1: [], 2: []}
    batch = DecodeBatch(loaded)
    seen = []  # per step: (buffer address, columns used, buffer columns) of layer 0's keys

    record = recorder(batch, got)

    with loaded.lock:
        record(batch.join(rows[:1]))
        for _ in range(5):
            record(batch.step())
            layer = batch.cache.layers[-1]
            assert layer.keys.data_ptr() == layer.buffers[0].data_ptr()
            seen.append(
                (layer.buffers[0].data_ptr(), layer.keys.shape[-2], layer.buffers[0].shape[-2])
            )
        record(batch.join(rows[1:]))
        assert batch.cache.layers[-1].buffers is None  # the join let go of the old room
        while len(batch):
            rows_before = len(batch)
            record(batch.step())
            if batch.cache is not None:  # rows that left let go of the room, or it is kept
                left = len(batch) < rows_before
                assert all((layer.buffers is None) == left for layer in batch.cache.layers)
    first, used, room = seen[0]
    assert room == used + 3
    assert [address for address, _, _ in seen[:4]] == [first] * 4  # three steps in place
    assert seen[4][0] != first and seen[4][2] == seen[4][1] + 3  # then new room
    for k in range(3):
        assert_same_steps(alone[k], got[k])


def test_prompts_are_prefilled_in_groups_of_least_cost():
    """Each prompt once; no cut of the sorted lengths costs less (every cut tried); a
    short and a long prompt do not pad together, similar ones share a pass."""
    lengths = [7, 34, 8, 33, 9, 14, 12, 23, 7, 22, 13, 34]

    def cost(groups) -> int:
        return sum(32 + len(g) * max(lengths[i] for i in g) for g in groups)

    groups = prefill_groups(lengths, overhead=32)
    assert sorted(i for group in groups for i in group) == list(range(len(lengths)))
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    for cuts in range(1 << (len(order) - 1)):
        split, start = [], 0
        for end in range(1, len(order) + 1):
            if end == len(order) or cuts >> (end - 1) & 1:
                split.append(order[start:end])
                start = end
        assert cost(groups) <= cost(split)
    assert cost(groups) < cost([order])  # better than padding all to 34
    assert prefill_groups([3, 200, 4], overhead=32) == [[0, 2], [1]]
    assert prefill_groups([10, 11, 12], overhead=32) == [[0, 1, 2]]  # one pass is cheaper
    assert prefill_groups([5], overhead=32) == [[0]] and prefill_groups([], overhead=32) == []


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_a_join_in_several_prefill_passes_equals_each_alone(models, arch, monkeypatch):
    """With no fixed cost per pass, each prompt length is prefilled on its own; the rows
    then meet in one batch and decode as if alone."""
    monkeypatch.setattr(batch_module, "PREFILL_OVERHEAD_TOKENS", 0)
    loaded = models[arch]
    alone, rows = alone_and_rows(loaded)
    got: dict[int, list] = {0: [], 1: [], 2: []}
    batch = DecodeBatch(loaded)
    with loaded.lock:
        results = batch.join(rows)
        while True:
            for row, step in results:
                got[row.owner].append(step)
            batch.drop([row for row, _ in results if row.done])
            if not len(batch):
                break
            results = batch.step()
    for k in range(3):
        assert_same_steps(alone[k], got[k])


def test_a_prefill_pass_failing_after_others_merged_leaves_no_row_behind(models, monkeypatch):
    """Three prompts joining in three passes; the second pass fails once. The worker
    retries each request alone: the rows the first pass had merged must not stay in the
    batch (their tickets would get every step twice)."""
    monkeypatch.setattr(batch_module, "PREFILL_OVERHEAD_TOKENS", 0)
    loaded = models["llama"]
    ids = [ids_of(loaded, text) for text in PROMPTS]
    assert len({len(prompt) for prompt in ids}) == 3
    forward, passes = DecodeBatch._forward, []

    def second_prefill_fails(self, rows, *args):
        if args[-1] is None:  # no cache yet: a prefill pass
            passes.append(len(rows))
            if len(passes) == 2:
                raise RuntimeError("this prefill pass broke")
        return forward(self, rows, *args)

    monkeypatch.setattr(DecodeBatch, "_forward", second_prefill_fails)
    settings = GenerationSettings(max_new_tokens=6, stop_at_eos=False)
    worker = worker_for(loaded)
    tickets = worker.submit_generations(ids, settings)
    for prompt, ticket in zip(ids, tickets, strict=True):
        result = ticket.result(WAIT_S)
        assert [step.index for step in result.steps] == list(range(6))
        assert result.token_ids == generate(loaded, prompt, settings).token_ids
    assert passes[:2] == [1, 1] and len(passes) == 5  # two passes, then each alone


def test_worker_results_equal_alone_with_several_sampled_sequences(models):
    loaded = models["llama"]
    ids = [ids_of(loaded, text) for text in PROMPTS]
    settings = GenerationSettings(
        max_new_tokens=10, do_sample=True, seed=4, num_return_sequences=3,
        capture_attention=True, stop_at_eos=False,
    )  # fmt: skip
    for prompt, result in zip(ids, generate_many(loaded, ids, settings), strict=True):
        expected = generate(loaded, prompt, settings)
        assert len(result.sequences) == 3 and not result.cancelled
        for a, b in zip(expected.sequences, result.sequences, strict=True):
            assert (b.seed, b.finish_reason, b.text) == (a.seed, a.finish_reason, a.text)
            assert_same_steps(a.steps, b.steps)


def test_seeded_sampling_is_the_same_alone_and_batched(models):
    loaded = models["gpt2"]
    ids = ids_of(loaded, PROMPTS[0])
    settings = [
        GenerationSettings(do_sample=True, seed=seed, max_new_tokens=15, stop_at_eos=False)
        for seed in (1, 2, 3, 1)
    ]
    worker = worker_for(loaded)
    tickets = [worker.submit_generation(ids, s) for s in settings]
    batched = [ticket.result(WAIT_S).token_ids for ticket in tickets]
    assert batched == [generate(loaded, ids, s).token_ids for s in settings]
    assert batched[0] == batched[3] and batched[0] != batched[1]  # the seed decides


def test_stop_ends_one_request_and_leaves_the_others_intact(models):
    loaded = models["llama"]
    ids = [ids_of(loaded, text) for text in PROMPTS]
    long = GenerationSettings(max_new_tokens=60, stop_at_eos=False)
    worker = worker_for(loaded)
    stopped, *others = worker.submit_generations(ids, long)
    for n, _item in enumerate(i for i in stopped.stream() if not hasattr(i, "ahead")):
        if n == 2:
            stopped.cancel()
    result = stopped.result(WAIT_S)
    assert result.cancelled and result.finish_reason == "cancelled"
    assert 3 <= len(result.steps) < 60
    expected = generate(loaded, ids[0], long).token_ids
    assert result.token_ids == expected[: len(result.token_ids)]  # what it made is kept
    for prompt, ticket in zip(ids[1:], others, strict=True):
        done = ticket.result(WAIT_S)
        assert not done.cancelled and done.token_ids == generate(loaded, prompt, long).token_ids


def test_bad_requests_fail_alone_with_their_message(models, monkeypatch):
    loaded = models["llama"]
    ids = ids_of(loaded, PROMPTS[0])
    worker = worker_for(loaded)
    with pytest.raises(InputError, match="temperature"):
        worker.submit_generation(ids, GenerationSettings(do_sample=True, temperature=0))
    filter_logits = choosing.filter_logits

    def failing_filter(logits, settings):  # a fault in one request's own computation
        if settings.temperature == 0.37:
            raise ValueError("this request's filter broke")
        return filter_logits(logits, settings)

    monkeypatch.setattr(choosing, "filter_logits", failing_filter)
    good = GenerationSettings(max_new_tokens=8, stop_at_eos=False)
    sampled = GenerationSettings(do_sample=True, seed=2, max_new_tokens=8, stop_at_eos=False)
    broken = GenerationSettings(do_sample=True, temperature=0.37, max_new_tokens=8)
    tickets = worker.submit_generations([ids], good) + [
        worker.submit_generation(ids, broken),
        worker.submit_generation(ids, sampled),
    ]
    failing_call = worker.submit_call(perplexity, ids[:1])  # one token: InputError
    assert tickets[0].result(WAIT_S).token_ids == generate(loaded, ids, good).token_ids
    assert tickets[2].result(WAIT_S).token_ids == generate(loaded, ids, sampled).token_ids
    with pytest.raises(ValueError, match="filter broke"):
        tickets[1].result(WAIT_S)
    with pytest.raises(InputError, match="at least 2 tokens"):
        failing_call.result(WAIT_S)
    assert worker.run(perplexity, ids).perplexity == pytest.approx(
        perplexity(loaded, ids).perplexity, rel=1e-5
    )


def test_beam_search_runs_alone_through_the_queue(models):
    loaded = models["gpt2"]
    ids = ids_of(loaded, PROMPTS[2])
    settings = GenerationSettings(num_beams=3, num_return_sequences=2, max_new_tokens=6)
    ticket = worker_for(loaded).submit_generation(ids, settings)
    streamed = [item for item in ticket.stream() if not hasattr(item, "ahead")]
    result, expected = ticket.result(WAIT_S), generate(loaded, ids, settings)
    assert [s.token_ids for s in result.sequences] == [s.token_ids for s in expected.sequences]
    assert len(streamed) == sum(len(s.steps) for s in expected.sequences)


def test_requests_ending_at_one_step_leave_the_batch_in_one_drop(models, monkeypatch):
    """A drop copies the whole KV cache: three requests ending together drop once, and
    their tickets are told after it (a script exiting on its results finds no drop
    still running)."""
    loaded = models["llama"]
    drops, told = [], []
    real_drop = DecodeBatch.drop

    def drop(self, leaving):
        drops.append(len(leaving))
        told.append(sum(request.ticket.done for request in {r.owner for r in leaving}))
        real_drop(self, leaving)

    monkeypatch.setattr(DecodeBatch, "drop", drop)
    settings = GenerationSettings(max_new_tokens=4, stop_at_eos=False)
    worker, release, _ = busy_worker(loaded)
    tickets = worker.submit_generations([ids_of(loaded, p) for p in PROMPTS], settings)
    release.set()
    assert [len(t.result(WAIT_S).token_ids) for t in tickets] == [4, 4, 4]
    assert drops == [3] and told == [0]


@pytest.mark.parametrize("one", [True, False])
def test_a_server_runs_decode_steps_on_one_thread(models, monkeypatch, one):
    loaded = models["llama"]
    asked = []
    real_step = DecodeBatch.step
    monkeypatch.setattr(
        DecodeBatch, "step", lambda self, all_threads=False: asked.append(all_threads)
        or real_step(self, all_threads)
    )  # fmt: skip
    worker_module.steps_on_one_thread(one)
    try:
        worker_for(loaded).submit_generation(
            ids_of(loaded, PROMPTS[0]), GenerationSettings(max_new_tokens=3)
        ).result(WAIT_S)
    finally:
        worker_module.steps_on_one_thread(False)
    assert asked and set(asked) == {not one}


def test_a_ticket_knows_when_more_steps_wait_to_be_read(models):
    loaded = models["llama"]
    worker, release, _ = busy_worker(loaded)
    ticket = worker.submit_generation(
        ids_of(loaded, PROMPTS[1]), GenerationSettings(max_new_tokens=3, stop_at_eos=False)
    )
    release.set()
    ticket.wait(WAIT_S)
    stream = ticket.stream()
    assert next(stream).index == 0 and ticket.behind()  # two more steps and the end
    assert next(stream).index == 1 and next(stream).index == 2
    assert ticket.behind()  # the end of the stream
    assert list(stream) == [] and not ticket.behind()


def test_fifty_random_requests_never_deadlock(models):
    loaded = models["qwen2"]
    ids = [ids_of(loaded, text) for text in PROMPTS]
    worker = worker_for(loaded)
    rng = random.Random(0)
    plans = []
    for n in range(50):
        kind = rng.choice(["greedy", "sample", "beam", "call", "bad"])
        options = {"max_new_tokens": rng.randint(1, 10), "stop_at_eos": rng.random() < 0.5}
        if kind == "sample":
            options.update(do_sample=True, seed=n, top_k=rng.choice([0, 5]))
            options["num_return_sequences"] = rng.randint(1, 3)
        if kind == "beam":
            options["num_beams"] = 2
        if kind == "bad":
            options["top_p"] = 1.5
        plans.append((kind, rng.choice(ids), GenerationSettings(**options), rng.random() < 0.2))
    outcomes: list[str] = []

    def client(share: list) -> None:
        for kind, prompt, settings, cancel in share:
            try:
                if kind == "call":
                    ticket = worker.submit_call(perplexity, prompt + prompt)
                else:
                    ticket = worker.submit_generation(prompt, settings)
            except InputError:
                outcomes.append("refused")
                continue
            if cancel:
                ticket.cancel()
            try:
                ticket.result(WAIT_S)
                outcomes.append("done")
            except Exception as error:  # a call cancelled before it ran
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=client, args=(plans[k::5],)) for k in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 2)
    assert not any(thread.is_alive() for thread in threads)
    assert len(outcomes) == 50
    assert outcomes.count("refused") == sum(kind == "bad" for kind, *_ in plans)
    assert set(outcomes) <= {"done", "refused", "CancelledRequestError"}


# ---------------------------------------------------------------------------- the queue


def test_a_waiting_call_knows_its_place(models):
    loaded = models["llama"]
    worker, release, _ = busy_worker(loaded)
    waiting = worker.submit_call(perplexity, ids_of(loaded, PROMPTS[0]))
    place = waiting.place()
    assert (place.ahead, place.started) == (1, False)
    release.set()
    assert waiting.result(WAIT_S).perplexity > 1
    assert waiting.place().started


def test_calls_waiting_together_run_as_one_and_each_gets_its_own_value(models):
    loaded = models["llama"]
    worker, release, _ = busy_worker(loaded)
    seen: list[list] = []

    def many(_loaded, items: list) -> list:
        seen.append(list(items))
        return [ValueError("odd") if item % 2 else item * 10 for item in items]

    def alone(_loaded, item):
        return item * 10

    def submit(item: int, size: int = 1):
        return worker.submit_call(alone, item, together=Together(many, item, size, budget=8))

    before = worker.counts["together"]
    tickets = [submit(0), submit(1), submit(2), worker.submit_call(alone, 3), submit(4, size=4)]
    release.set()
    assert tickets[0].result(WAIT_S) == 0 and tickets[2].result(WAIT_S) == 20
    with pytest.raises(ValueError, match="odd"):
        tickets[1].result(WAIT_S)
    assert tickets[3].result(WAIT_S) == 30  # not one of them: runs alone
    assert tickets[4].result(WAIT_S) == 40  # 4 rows x 4 would pass the budget: alone
    assert seen == [[0, 1, 2]] and worker.counts["together"] == before + 1


def test_a_group_that_fails_as_a_whole_runs_each_call_alone(models):
    loaded = models["llama"]
    worker, release, _ = busy_worker(loaded)

    def many(_loaded, items: list) -> list:
        raise RuntimeError("the batch broke")

    def alone(_loaded, item):
        if item == 1:
            raise ValueError("this one is bad")
        return item

    together = [Together(many, item, 1, budget=8) for item in range(3)]
    tickets = [worker.submit_call(alone, i, together=t) for i, t in enumerate(together)]
    release.set()
    assert tickets[0].result(WAIT_S) == 0 and tickets[2].result(WAIT_S) == 2
    with pytest.raises(ValueError, match="this one is bad"):
        tickets[1].result(WAIT_S)


def test_interactive_work_holds_background_steps(models):
    loaded = models["llama"]
    gate = worker_module.INTERACTIVE
    before = gate.active
    release = threading.Event()
    ticket = worker_for(loaded).submit_call(lambda _loaded: release.wait(WAIT_S))
    assert gate.active == before + 1
    waited: list[float] = []
    job = threading.Thread(target=lambda: waited.append(gate.yield_to_interactive(WAIT_S)))
    job.start()
    time.sleep(0.3)
    assert job.is_alive()  # the "training step" waits while the request is in flight
    release.set()
    ticket.result(WAIT_S)
    job.join(WAIT_S)
    assert gate.active == before and waited[0] >= 0.3


def test_gate_lets_a_job_go_after_its_longest_wait():
    gate = InteractiveGate()
    gate.enter()
    assert gate.yield_to_interactive(max_wait_s=0.05) >= 0.05  # never starved for good
    gate.leave()
    assert gate.yield_to_interactive(max_wait_s=5) < 1


def test_a_freed_model_takes_its_worker_with_it(tiny_model_dirs):
    loaded = load_model(str(tiny_model_dirs["llama"]))
    ids = ids_of(loaded, PROMPTS[0])
    worker_for(loaded).run(perplexity, ids)
    key = id(loaded)
    assert key in worker_module._WORKERS
    del loaded
    gc.collect()
    assert key not in worker_module._WORKERS


def test_a_fault_in_the_worker_fails_its_requests_and_the_worker_goes_on(models, monkeypatch):
    loaded = models["gpt2"]
    ids = ids_of(loaded, PROMPTS[0])
    settings = GenerationSettings(max_new_tokens=3, stop_at_eos=False)
    worker = worker_for(loaded)
    collect = worker_module.collect_result

    def broken(*args, **kwargs):
        raise RuntimeError("the worker itself broke")

    monkeypatch.setattr(worker_module, "collect_result", broken)
    ticket = worker.submit_generation(ids, settings)
    with pytest.raises(RuntimeError, match="broke"):
        ticket.result(WAIT_S)
    monkeypatch.setattr(worker_module, "collect_result", collect)
    assert worker.submit_generation(ids, settings).result(WAIT_S).token_ids == (
        generate(loaded, ids, settings).token_ids
    )
    assert worker_module.INTERACTIVE.active == 0  # nothing left holding jobs back


@pytest.mark.parametrize("n_rows", [1, 3, 30])
def test_the_fast_linears_give_each_layers_output_and_put_the_layers_back(models, n_rows):
    import torch

    loaded = models["llama"]
    head = loaded.model.get_output_embeddings()
    layers = [m for m in loaded.model.modules() if type(m) is torch.nn.Linear]
    assert head in layers and len(layers) > 1
    inputs = {layer: torch.randn(n_rows, 1, layer.in_features) for layer in layers}
    with torch.inference_mode():
        expected = {layer: layer(x) for layer, x in inputs.items()}
        with kernels.fast_linears(loaded.model, n_rows):
            swapped = [layer for layer in layers if "forward" in vars(layer)]
            if kernels.onednn_linear() is not None:
                assert swapped == layers  # the body on oneDNN, and the head
            else:
                assert swapped == ([head] if n_rows > 1 else [])
            got = {layer: layer(x) for layer, x in inputs.items()}
        with kernels.fast_linears(loaded.model, kernels.FAST_HEAD_ROWS + 1):
            assert "forward" not in vars(head)  # many rows: F.linear is as fast
    assert not any("forward" in vars(layer) for layer in layers)
    for layer in layers:
        assert got[layer].shape == expected[layer].shape
        torch.testing.assert_close(got[layer], expected[layer], atol=1e-5, rtol=1e-5)


def test_the_fast_linears_leave_layers_with_a_forward_of_their_own(models):
    import torch

    loaded = models["llama"]
    layer = next(m for m in loaded.model.modules() if type(m) is torch.nn.Linear)
    own = layer.forward
    layer.forward = own  # as an accelerate hook sets it
    try:
        with kernels.fast_linears(loaded.model, 3):
            assert vars(layer)["forward"] is own
        assert vars(layer)["forward"] is own
    finally:
        del layer.forward


def test_pages_tokenize_while_the_model_is_busy(models):
    """Text work takes the model's text tokenizer (a copy under its own lock), not the
    model's lock, which a forward pass of another session holds."""
    from llm_core.generation.generate import prompt_ids_for
    from llm_core.generation.perplexity import start_token_of, text_ids_after
    from llm_core.interpret.prompts import first_token_id, prepare_prompt, token_text
    from llm_core.text.pieces import decoded_text
    from llm_core.text.tokens import tokenize, tokenize_with

    loaded = models["llama"]
    worker, release, blocker = busy_worker(loaded)
    done: list = []
    page = threading.Thread(
        target=lambda: done.append(
            (
                tokenize_with(loaded, PROMPTS[0]).ids,
                prompt_ids_for(loaded, PROMPTS[0], GenerationSettings()),
                decoded_text(loaded, ids_of(loaded, PROMPTS[0])),
                text_ids_after(loaded, PROMPTS[0], start_token_of(loaded)),
                prepare_prompt(loaded, PROMPTS[0]).ids,
                token_text(loaded, first_token_id(loaded, " cat")),
            )
        )
    )
    page.start()
    page.join(20)
    release.set()
    blocker.result(WAIT_S)
    assert done, "text work waited for the model's lock"
    ids, prompt_ids, text, perplexity_ids, interpret_ids, target = done[0]
    assert perplexity_ids[-len(ids) :] == ids and interpret_ids[-len(ids) :] == ids
    assert target == loaded.tokenizer.decode(
        loaded.tokenizer(" cat", add_special_tokens=False)["input_ids"][:1]
    )
    assert ids == tokenize(loaded.tokenizer, PROMPTS[0]).ids
    assert prompt_ids == ids_of(loaded, PROMPTS[0])
    assert text == loaded.tokenizer.decode(ids_of(loaded, PROMPTS[0]), skip_special_tokens=True)


def test_small_passes_run_on_one_thread_and_the_setting_comes_back():
    import torch

    from llm_core.models.threads import ONE_THREAD_UP_TO, threads_for

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threads_for(ONE_THREAD_UP_TO):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with threads_for(ONE_THREAD_UP_TO + 1):
            assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), threads_for(1):
            raise RuntimeError("a failing pass")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
