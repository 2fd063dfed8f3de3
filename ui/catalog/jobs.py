"""Strings of the job panel (``ui/job_panel.py``: stages, progress, time left, the busy
slot) and of a finished result's actions (``ui/result_actions.py``). One
``jobs.stage.<key>`` per key of ``llm_core.jobs.STAGES`` (a test checks it)."""

STRINGS = {
    "jobs.stage.starting": {"en": "Starting", "zh": "正在启动"},
    "jobs.stage.preparing": {"en": "Preparing the corpus", "zh": "准备语料"},
    "jobs.stage.measuring_before": {"en": "Measuring before training", "zh": "测量训练前的模型"},
    "jobs.stage.training": {"en": "Training", "zh": "训练中"},
    "jobs.stage.measuring_after": {"en": "Measuring after training", "zh": "测量训练后的模型"},
    "jobs.stage.saving": {"en": "Saving", "zh": "保存中"},
    "jobs.stage.compressing": {"en": "Compressing a copy", "zh": "正在压缩副本"},
    "jobs.stage.building_student": {"en": "Building the student", "zh": "构建学生模型"},
    "jobs.stage.distilling": {"en": "Distilling", "zh": "蒸馏训练中"},
    "jobs.stage.measuring_quality": {
        "en": "Measuring both models on held-out text",
        "zh": "在留出文本上测量两个模型",
    },
    "jobs.stage.sampling": {"en": "Sampling from both models", "zh": "两个模型分别生成样例"},
    "jobs.stage.attention": {"en": "Comparing attention", "zh": "比较注意力"},
    "jobs.stage.pruning_to": {"en": "Pruning to {sparsity}", "zh": "剪枝到 {sparsity}"},
    "jobs.stage.done": {"en": "Done", "zh": "完成"},
    "jobs.progress": {
        "en": "{stage} · step {step}/{total}",
        "zh": "{stage} · 第 {step}/{total} 步",
    },
    "jobs.speed": {"en": "{speed} tokens/s", "zh": "每秒 {speed} 词元"},
    "jobs.eta": {"en": "about {time} left", "zh": "约剩 {time}"},
    "jobs.eta_unknown": {"en": "estimating time left…", "zh": "正在估算剩余时间…"},
    "jobs.seconds": {"en": "{seconds} s", "zh": "{seconds} 秒"},
    "jobs.minutes_seconds": {"en": "{minutes} min {seconds} s", "zh": "{minutes} 分 {seconds} 秒"},
    "jobs.cancel": {"en": "Cancel", "zh": "取消"},
    "jobs.cancelling": {
        "en": "Cancelling at the end of this step…",
        "zh": "将在本步结束时取消…",
    },
    "jobs.cancelled": {
        "en": "The job was cancelled; nothing was saved.",
        "zh": "任务已取消，没有保存任何内容。",
    },
    "jobs.failed": {"en": "The job failed: {error}", "zh": "任务失败：{error}"},
    "jobs.busy": {
        "en": "The job slot is busy: {what} ({description}), step {step}/{total}. One job "
        "runs at a time on this server; {when}.",
        "zh": "任务通道正忙：{what}（{description}），第 {step}/{total} 步。本服务器一次只运行"
        "一个任务；{when}。",
    },
    "jobs.busy_eta": {"en": "it should end in about {time}", "zh": "预计约 {time} 后结束"},
    "jobs.busy_unknown": {"en": "it is just starting", "zh": "它刚刚开始"},
    "jobs.kind.finetune": {"en": "fine-tuning", "zh": "微调"},
    "jobs.kind.compress": {"en": "compression", "zh": "模型压缩"},
    "jobs.method.lora": {"en": "LoRA fine-tuning", "zh": "LoRA 微调"},
    "jobs.method.full": {"en": "full fine-tuning", "zh": "全参数微调"},
    "jobs.method.scratch": {"en": "training from scratch", "zh": "从零训练"},
    "jobs.method.int8": {"en": "int8 quantization", "zh": "int8 量化"},
    "jobs.method.bf16": {"en": "bfloat16 weights", "zh": "bfloat16 权重"},
    "jobs.method.prune": {"en": "magnitude pruning", "zh": "幅值剪枝"},
    "jobs.method.heads": {"en": "attention-head pruning", "zh": "注意力头剪枝"},
    "jobs.method.distill": {"en": "distillation", "zh": "知识蒸馏"},
    "jobs.method.sweep": {"en": "a sparsity sweep", "zh": "稀疏度扫描"},
    "jobs.train_loss": {"en": "training loss", "zh": "训练损失"},
    "jobs.eval_loss": {"en": "validation loss", "zh": "验证损失"},
    "jobs.step": {"en": "step", "zh": "步数"},
    "jobs.loss_axis": {"en": "loss (nats per token)", "zh": "损失（每词元，奈特）"},
    "results.saved_as": {
        "en": "Saved as **{name}** (from {base}): pick it in the sidebar's model list to "
        "explore it on every page.",
        "zh": "已保存为 **{name}**（基于 {base}）：在侧边栏的模型列表中选择它，即可在每个页面上探索。",
    },
    "results.compare": {
        "en": "Compare with the base model",
        "zh": "与原模型对比",
    },
}
