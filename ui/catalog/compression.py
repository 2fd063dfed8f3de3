"""Strings of the Compression lab page."""

STRINGS = {
    "compression.title": {
        "en": "Compression lab: smaller, faster — at what price?",
        "zh": "模型压缩实验室：更小、更快——代价是什么？",
    },
    "compression.intro": {
        "en": "Quantize, prune or distil a copy of the selected model, then measure it against "
        "the original on the same held-out text: size, speed, perplexity, how often both pick "
        "the same next token, how far their distributions drift, and what one attention head "
        "now looks at.",
        "zh": "对所选模型的副本做量化、剪枝或蒸馏，然后在同一段留出文本上与原模型对比："
        "大小、速度、困惑度、两者选出相同下一个词元的比例、分布的偏移，以及某个注意力头现在关注什么。",
    },
    "compression.technique": {"en": "Technique", "zh": "压缩方法"},
    "compression.method.int8": {"en": "int8 quantization", "zh": "int8 量化"},
    "compression.method.bf16": {"en": "bfloat16 weights", "zh": "bfloat16 权重"},
    "compression.method.prune": {"en": "Magnitude pruning", "zh": "幅值剪枝"},
    "compression.method.heads": {"en": "Attention-head pruning", "zh": "注意力头剪枝"},
    "compression.method.distill": {"en": "Distillation", "zh": "知识蒸馏"},
    "compression.method.sweep": {"en": "Sparsity sweep", "zh": "稀疏度扫描"},
    "compression.explain.int8": {
        "en": "Linear-layer weights stored as 8-bit integers with one scale per output channel "
        "(torch's dynamic quantization); activations are quantized on the fly.",
        "zh": "线性层权重以 8 位整数存储，每个输出通道一个缩放因子（torch 动态量化）；激活值在运行时量化。",
    },
    "compression.explain.bf16": {
        "en": "Every weight in bfloat16: the same range as float32 with 8 bits of mantissa "
        "instead of 24. Half the bytes.",
        "zh": "所有权重改用 bfloat16：数值范围与 float32 相同，但尾数只有 8 位（float32 为 24 位）。字节数减半。",
    },
    "compression.explain.prune": {
        "en": "The smallest weights (by |w|) of the linear layers are set to exactly zero.",
        "zh": "把线性层中绝对值最小的权重精确地置为零。",
    },
    "compression.explain.heads": {
        "en": "Whole attention heads that write least into the residual stream are switched off.",
        "zh": "关闭那些对残差流贡献最小的整个注意力头。",
    },
    "compression.explain.distill": {
        "en": "A smaller student learns to reproduce the model's next-token distributions "
        "(KL divergence at a temperature, mixed with the usual language-model loss).",
        "zh": "一个更小的学生模型学习复现原模型的下一个词元分布（带温度的 KL 散度，并与普通语言模型损失混合）。",
    },
    "compression.explain.sweep": {
        "en": "Prune to several sparsities in turn and chart perplexity and speed against sparsity.",
        "zh": "依次剪枝到多个稀疏度，画出困惑度和速度随稀疏度的变化。",
    },
    "compression.keep_outliers": {
        "en": "Handle massive activations (recommended)",
        "zh": "处理超大激活值（推荐）",
    },
    "compression.keep_outliers_help": {
        "en": "SmolLM2 has a few tokens with activations ~10,000× larger than the rest. Torch "
        "quantizes a whole input with one scale, so they crush everything else. With this on, "
        "tokens of similar size share a scale and the few layers that see the outliers stay "
        "float32. Off: torch's plain quantize_dynamic.",
        "zh": "SmolLM2 中少数词元的激活值比其他词元大约一万倍。torch 对整个输入只用一个缩放因子，"
        "这些值会把其他值全部压扁。开启后，大小相近的词元共用缩放因子，"
        "少数看到离群值的层保持 float32。关闭：torch 原生的 quantize_dynamic。",
    },
    "compression.sparsity": {
        "en": "Sparsity (share of weights zeroed)",
        "zh": "稀疏度（置零权重的比例）",
    },
    "compression.scope": {"en": "Ranking", "zh": "排序范围"},
    "compression.scope.global": {"en": "global (all layers together)", "zh": "全局（所有层一起）"},
    "compression.scope.layer": {"en": "per layer", "zh": "逐层"},
    "compression.head_fraction": {
        "en": "Share of attention heads removed",
        "zh": "移除的注意力头比例",
    },
    "compression.sweep_levels": {"en": "Sparsities to measure", "zh": "要测量的稀疏度"},
    "compression.student_layers": {"en": "Student layers", "zh": "学生模型层数"},
    "compression.width": {"en": "Student width (× teacher)", "zh": "学生宽度（× 教师）"},
    "compression.steps": {"en": "Training steps", "zh": "训练步数"},
    "compression.temperature": {"en": "Temperature T", "zh": "温度 T"},
    "compression.alpha": {"en": "Weight of the KL term (α)", "zh": "KL 项权重（α）"},
    "compression.alpha_help": {
        "en": "Loss = α · T² · KL(teacher ‖ student) + (1 − α) · cross-entropy.",
        "zh": "损失 = α · T² · KL(教师 ‖ 学生) + (1 − α) · 交叉熵。",
    },
    "compression.measure_heading": {"en": "What to measure on", "zh": "测量设置"},
    "compression.corpus": {"en": "Corpus (held-out part measured)", "zh": "语料（测量其留出部分）"},
    "compression.upload": {"en": "…or upload a corpus", "zh": "……或上传语料"},
    "compression.eval_tokens_input": {"en": "Held-out tokens measured", "zh": "测量的留出词元数"},
    "compression.eval_tokens_help": {
        "en": "Both models read these tokens; more is more exact and slower (about 1 s per "
        "256 tokens per model for the default model on 2 CPU cores).",
        "zh": "两个模型都会读这些词元；越多越准确也越慢（默认模型在 2 核 CPU 上每个模型每 256 个词元约 1 秒）。",
    },
    "compression.prompt": {"en": "Sample prompt", "zh": "生成示例的提示词"},
    "compression.prompt_help": {
        "en": "Empty: the first line of a held-out document.",
        "zh": "留空：使用留出文档的第一行。",
    },
    "compression.seed": {"en": "Seed", "zh": "随机种子"},
    "compression.drift_layer": {"en": "Attention drift: layer", "zh": "注意力偏移：层"},
    "compression.drift_head": {"en": "Attention drift: head", "zh": "注意力偏移：头"},
    "compression.run": {"en": "Compress and measure", "zh": "压缩并测量"},
    "compression.result_heading": {"en": "Result: {method}", "zh": "结果：{method}"},
    "compression.top1": {"en": "Top-1 agreement", "zh": "Top-1 一致率"},
    "compression.top1_help": {
        "en": "Share of positions where both models rank the same next token first.",
        "zh": "两个模型把同一个词元排在第一位的位置所占比例。",
    },
    "compression.kl": {"en": "Mean KL divergence (nats)", "zh": "平均 KL 散度（nats）"},
    "compression.kl_help": {
        "en": "Mean over positions of KL(original ‖ compressed) of the next-token distributions; 0 = identical.",
        "zh": "各位置下一个词元分布的 KL(原模型 ‖ 压缩模型) 的平均值；0 表示完全相同。",
    },
    "compression.eval_tokens": {"en": "Positions compared", "zh": "比较的位置数"},
    "compression.col_measure": {"en": "Measure", "zh": "指标"},
    "compression.col_before": {"en": "Original", "zh": "原模型"},
    "compression.col_after": {"en": "Compressed", "zh": "压缩后"},
    "compression.col_ratio": {"en": "After / before", "zh": "压缩后 / 原模型"},
    "compression.row_params": {"en": "Parameters", "zh": "参数量"},
    "compression.row_size_mb": {"en": "All tensors (MB)", "zh": "全部张量（MB）"},
    "compression.row_linear_mb": {"en": "Linear-layer weights (MB)", "zh": "线性层权重（MB）"},
    "compression.row_sparsity": {"en": "Sparsity of linear weights", "zh": "线性层权重稀疏度"},
    "compression.row_perplexity": {"en": "Validation perplexity", "zh": "验证集困惑度"},
    "compression.row_speed": {"en": "Generation speed (tokens/s)", "zh": "生成速度（词元/秒）"},
    "compression.note.int8": {
        "en": "{layers} linear layers are int8; {kept} stayed float32 (their inputs carry massive "
        "activations); activations used {bits} bits. The embeddings and output head stay float32.",
        "zh": "{layers} 个线性层为 int8；{kept} 个保持 float32（其输入含超大激活值）；激活值使用 {bits} 位。"
        "词嵌入和输出层保持 float32。",
    },
    "compression.note.bf16": {
        "en": "Computed in bfloat16 here; a saved bf16 model is stored in bfloat16 (half the disk) "
        "and loads as float32 on the other pages, with exactly the bfloat16 values.",
        "zh": "此处以 bfloat16 计算；保存的 bf16 模型以 bfloat16 存储（磁盘减半），"
        "在其他页面加载为 float32，数值与 bfloat16 完全相同。",
    },
    "compression.note.prune": {
        "en": "Zeros are still stored in dense tensors: the size and the speed do not change. "
        "Only sparse storage or sparse kernels would turn sparsity into savings.",
        "zh": "零值仍存放在稠密张量中：大小和速度都不变。只有稀疏存储或稀疏计算内核才能把稀疏度变成节省。",
    },
    "compression.note.heads": {
        "en": "{removed} heads removed (their query rows and output columns are zero); the "
        "tensors keep their shape, so the size does not change.",
        "zh": "移除了 {removed} 个注意力头（其查询行和输出列为零）；张量形状不变，所以大小不变。",
    },
    "compression.note.distill": {
        "en": "A {student}-layer student of the {teacher}-layer teacher, after {steps} training steps.",
        "zh": "由 {teacher} 层教师模型蒸馏出的 {student} 层学生模型，训练了 {steps} 步。",
    },
    "compression.heads_heading": {
        "en": "**Heads removed per layer**",
        "zh": "**每层移除的注意力头**",
    },
    "compression.layer": {"en": "layer", "zh": "层"},
    "compression.heads_removed": {"en": "heads removed", "zh": "移除的头数"},
    "compression.samples_heading": {
        "en": "**Samples for the same prompt and seed** (prompt: “{prompt}”, seed {seed})",
        "zh": "**相同提示词和随机种子下的生成示例**（提示词：“{prompt}”，种子 {seed}）",
    },
    "compression.tokens_per_s": {"en": "tokens/s", "zh": "词元/秒"},
    "compression.drift_heading": {
        "en": "**Attention drift, layer {layer} head {head}**: compressed − original "
        "(mean |Δ| {mean}, largest {peak})",
        "zh": "**注意力偏移，第 {layer} 层第 {head} 个头**：压缩后 − 原模型（平均 |Δ| {mean}，最大 {peak}）",
    },
    "compression.drift_student": {
        "en": "The student has fewer layers: its layer {layer} is compared.",
        "zh": "学生模型层数更少：比较的是它的第 {layer} 层。",
    },
    "compression.query": {"en": "query (looking)", "zh": "查询（发出关注）"},
    "compression.key": {"en": "key (looked at)", "zh": "键（被关注）"},
    "compression.difference": {"en": "difference", "zh": "差值"},
    "compression.save_heading": {"en": "Save the compressed model", "zh": "保存压缩后的模型"},
    "compression.save_name": {"en": "Output name", "zh": "输出名称"},
    "compression.save": {"en": "Save", "zh": "保存"},
    "compression.saving": {"en": "Saving…", "zh": "正在保存…"},
    "compression.released": {
        "en": "This result's model was released to free memory (a newer run holds one): run again to save it.",
        "zh": "为节省内存，此结果的模型已释放（较新的运行占用了内存）：请重新运行后再保存。",
    },
    "compression.save_note.int8": {
        "en": "Saved with int8 weights (a quarter of the bytes); loading it rebuilds the same int8 layers.",
        "zh": "以 int8 权重保存（字节数为四分之一）；加载时会重建相同的 int8 层。",
    },
    "compression.save_note.other": {
        "en": "Saved atomically: the folder appears complete or not at all.",
        "zh": "原子化保存：文件夹要么完整出现，要么完全不出现。",
    },
    "compression.sweep_heading": {
        "en": "Perplexity and speed against sparsity",
        "zh": "困惑度和速度随稀疏度的变化",
    },
    "compression.sweep_note": {
        "en": "Each point prunes the original weights afresh; {tokens} held-out positions per "
        "point. Speed stays flat: zeros in dense tensors cost the same to multiply.",
        "zh": "每个点都从原始权重重新剪枝；每个点比较 {tokens} 个留出位置。速度基本不变：稠密张量中的零参与乘法的开销相同。",
    },
}
