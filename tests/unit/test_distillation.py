"""Distillation on a tiny Llama: the student's shape, KL to the teacher falls with
training, cancelling keeps nothing, bad settings are refused, the student saves."""

from __future__ import annotations

import pytest
import torch

from llm_core.compression.distillation import (
    DistillSettings,
    build_student,
    teacher_layers_for,
    train_student,
)
from llm_core.compression.metrics import compare_quality
from llm_core.compression.run import CompressionRequest, run_compression, save_compressed
from llm_core.errors import InputError
from llm_core.jobs import Job, JobCancelledError
from llm_core.models.loading import as_loaded, load_model
from llm_core.text.corpus import load_corpus
from llm_core.text.packing import pack_blocks, split_corpus

TRAIN = {"block_length": 32, "batch_size": 4}


@pytest.fixture(scope="module")
def documents():
    train, validation = split_corpus(load_corpus("tang300"), 0.1, 0)
    return train[:60], validation


@pytest.fixture
def teacher(tiny_model_dirs):
    """A tiny Llama with confident next-token distributions: its tied embeddings scaled up
    (a random model at the usual init predicts almost uniformly, leaving nothing to learn)."""
    loaded = load_model(str(tiny_model_dirs["llama"]))
    with torch.no_grad():
        loaded.model.model.embed_tokens.weight.mul_(40.0)
    return loaded


def _kl(teacher, student, blocks) -> float:
    return compare_quality(
        teacher, as_loaded(student, teacher.tokenizer, "s"), blocks
    ).kl_divergence


def test_a_full_width_student_copies_evenly_spaced_teacher_layers(teacher):
    assert teacher_layers_for(30, 15)[:3] == [0, 2, 4] and teacher_layers_for(30, 15)[-1] == 29
    student = build_student(teacher.model, DistillSettings(student_layers=1))
    assert student.config.num_hidden_layers == 1
    for name, tensor in student.model.layers[0].state_dict().items():
        assert torch.equal(tensor, teacher.model.model.layers[0].state_dict()[name]), name
    assert torch.equal(student.model.embed_tokens.weight, teacher.model.model.embed_tokens.weight)


def test_a_narrow_student_keeps_the_heads_and_the_vocabulary(teacher):
    student = build_student(teacher.model, DistillSettings(student_layers=2, width_factor=0.5))
    assert student.config.hidden_size == 16 and student.config.num_attention_heads == 4
    assert student.config.vocab_size == teacher.model.config.vocab_size
    n_student = sum(p.numel() for p in student.parameters())
    assert n_student < sum(p.numel() for p in teacher.model.parameters()) / 2


def test_distillation_lowers_the_students_kl_to_the_teacher(teacher, documents):
    # a narrow student starts from random weights, far from the teacher (a full-width
    # copy of this tiny teacher's layers is already within 1e-6 of it)
    train, validation = documents
    blocks = pack_blocks(teacher.tokenizer, validation, 32)[:4]
    settings = DistillSettings(
        student_layers=1, width_factor=0.5, steps=12, learning_rate=1e-2, alpha=1.0, **TRAIN
    )
    before = _kl(teacher, build_student(teacher.model, settings), blocks)  # the same seeded start
    job = Job("distill", "t", lambda job: train_student(job, teacher, train, settings))
    student, details = job.run()
    after = _kl(teacher, student, blocks)
    assert before > 0.05
    assert after < 0.8 * before, (before, after)
    assert details["steps"] == 12 and len(details["train_losses"]) == 12
    assert not student.training


def test_cancelling_distillation_keeps_nothing(teacher, documents, isolated_outputs):
    settings = DistillSettings(student_layers=1, steps=50, **TRAIN)
    request = CompressionRequest(method="distill", eval_tokens=512, distill=settings)
    corpus = load_corpus("tang300")

    def work(job: Job):
        job.cancel()  # as if the button were pressed during training
        return run_compression(job, teacher, corpus, request)

    job = Job("distill", "t", work)
    with pytest.raises(JobCancelledError):
        job.run()
    assert job.state == "cancelled" and list(isolated_outputs.iterdir()) == []


@pytest.mark.parametrize(
    "settings",
    [
        DistillSettings(steps=0),
        DistillSettings(temperature=0.0),
        DistillSettings(alpha=1.5),
        DistillSettings(width_factor=2.0),
        DistillSettings(student_layers=0),
    ],
)
def test_bad_settings_are_refused_clearly(settings):
    with pytest.raises(InputError):
        settings.validate()


def test_a_student_as_big_as_the_teacher_is_refused(teacher):
    with pytest.raises(InputError, match="teacher"):
        build_student(teacher.model, DistillSettings(student_layers=5))
    with pytest.raises(InputError, match="size"):
        build_student(teacher.model, DistillSettings(student_layers=2))


def test_a_distilled_student_is_saved_and_reloads(teacher, isolated_outputs):
    settings = DistillSettings(student_layers=1, steps=2, **TRAIN)
    request = CompressionRequest(
        method="distill", eval_tokens=512, sample_tokens=3, distill=settings
    )
    corpus = load_corpus("tang300")
    result = Job("d", "t", lambda job: run_compression(job, teacher, corpus, request)).run()
    assert result.size_after.n_params < result.size_before.n_params
    assert result.details["student_layers"] == 1 and result.drift.candidate_layer == 0
    save_compressed(result, isolated_outputs / "student")
    back = load_model("student")
    ids = torch.arange(1, 20)[None]
    with torch.inference_mode():
        assert torch.equal(back.model(ids).logits, result.candidate.model(ids).logits)
    assert back.description.n_layers == 1
