"""Strings of the Home page."""

STRINGS = {
    "home.title": {"en": "See how a language model works", "zh": "看见大语言模型如何工作"},
    "home.intro": {
        "en": "This explorer runs a real language model on your machine and shows what happens "
        "inside it: how text becomes tokens, what every attention head looks at, how the next "
        "token is chosen, and what fine-tuning and compression change. Every number on screen "
        "is computed from the model.",
        "zh": "本工具在你的电脑上运行一个真实的大语言模型，并展示其内部发生了什么：文本如何变成词元（token），"
        "每个注意力头在关注什么，下一个词元如何被选出，以及微调和压缩会改变什么。"
        "屏幕上的每个数字都由模型实时计算得出。",
    },
    "home.learn_heading": {"en": "What you can learn here", "zh": "你可以在这里学到"},
    "home.learn_tokens": {
        "en": "**Tokens**: text is cut into pieces from a fixed vocabulary; a Chinese character "
        "may take several byte-level pieces.",
        "zh": "**词元**：文本被切分成固定词表中的片段；一个汉字可能由多个字节级片段组成。",
    },
    "home.learn_attention": {
        "en": "**Attention**: softmax(QKᵀ/√dₖ)V lets every token gather information from earlier "
        "tokens; each head learns its own pattern.",
        "zh": "**注意力**：softmax(QKᵀ/√dₖ)V 让每个词元从前面的词元汇集信息；每个注意力头学到不同的模式。",
    },
    "home.learn_generation": {
        "en": "**Generation**: the model outputs a probability for every token in its vocabulary; "
        "greedy, temperature, top-k and top-p decide which one is written.",
        "zh": "**生成**：模型为词表中每个词元给出概率；贪心、温度、top-k 和 top-p 决定写出哪一个。",
    },
    "home.learn_training": {
        "en": "**Training**: the loss L = −Σ log p(xᵢ | x₍<ᵢ₎) falls as a model learns a corpus; "
        "fine-tuning adapts a pre-trained model to a small domain.",
        "zh": "**训练**：模型学习语料时，损失 L = −Σ log p(xᵢ | x₍<ᵢ₎) 不断下降；微调让预训练模型适应小领域。",
    },
    "home.learn_compression": {
        "en": "**Compression**: int8 or bfloat16 weights, pruning and distillation make a model "
        "smaller and often faster; the price shows up as perplexity and changed predictions.",
        "zh": "**压缩**：int8 或 bfloat16 权重、剪枝和蒸馏让模型更小、往往更快；代价体现在困惑度和改变了的预测上。",
    },
    "home.learn_interpret": {
        "en": "**Interpretability**: attribution scores which words made the model say a "
        "token, activation patching finds the layer and position that carry a fact, and two "
        "models side by side show what fine-tuning or compression changed.",
        "zh": "**可解释性**：归因分析给出是哪些词让模型说出某个词元，激活修补找出携带某个事实的层和位置，"
        "两个模型并排对比则显示微调或压缩改变了什么。",
    },
    "home.model_heading": {"en": "The model you are exploring", "zh": "当前探索的模型"},
    "home.metric_layers": {"en": "Layers", "zh": "层数"},
    "home.metric_heads": {"en": "Attention heads", "zh": "注意力头"},
    "home.metric_heads_help": {
        "en": "{n_heads} query heads per layer sharing {n_kv_heads} key/value heads "
        "(grouped-query attention when fewer).",
        "zh": "每层 {n_heads} 个查询头，共享 {n_kv_heads} 个键/值头（键/值头更少时即分组查询注意力）。",
    },
    "home.metric_d_model": {"en": "Hidden size", "zh": "隐藏维度"},
    "home.metric_vocab": {"en": "Vocabulary", "zh": "词表大小"},
    "home.metric_context": {"en": "Context length", "zh": "上下文长度"},
    "home.metric_params": {"en": "Parameters", "zh": "参数量"},
    "home.architecture_heading": {"en": "Architecture", "zh": "模型结构"},
    "home.architecture_caption": {
        "en": "Text flows top to bottom: token ids → embeddings → {n_layers} identical blocks "
        "(attention with {n_heads} heads, then an MLP) → a head that scores all {vocab_size} "
        "tokens.",
        "zh": "数据自上而下流动：词元 id → 词嵌入 → {n_layers} 个相同的模块（{n_heads} 头注意力，然后 MLP）"
        "→ 输出层为全部 {vocab_size} 个词元打分。",
    },
    "home.params_heading": {"en": "Where the parameters are", "zh": "参数都在哪里"},
    "home.params_tied": {
        "en": "The output head reuses the input embedding matrix (tied weights), so it adds no "
        "parameters of its own.",
        "zh": "输出层与输入词嵌入共享同一个矩阵（权重绑定），因此不额外增加参数。",
    },
    "home.component.embeddings": {"en": "Embeddings", "zh": "词嵌入"},
    "home.component.attention": {"en": "Attention", "zh": "注意力"},
    "home.component.mlp": {"en": "MLP", "zh": "前馈网络 MLP"},
    "home.component.norms": {"en": "Norms", "zh": "归一化"},
    "home.component.head": {"en": "Output head", "zh": "输出层"},
    "home.component.other": {"en": "Other", "zh": "其他"},
    "home.axis_params": {"en": "parameters", "zh": "参数量"},
    "home.details": {"en": "All figures and where the model came from", "zh": "全部数据与模型来源"},
    "home.field": {"en": "Field", "zh": "字段"},
    "home.value": {"en": "Value", "zh": "值"},
    "home.memory": {
        "en": "In float32 the weights take about {gb:.2f} GB of memory.",
        "zh": "以 float32 存储时，权重约占 {gb:.2f} GB 内存。",
    },
    # Node captions of the architecture diagram; \\n is a line break in graphviz.
    "home.arch.ids": {
        "en": "token ids\\n(up to {context} positions)",
        "zh": "词元 id\\n（最多 {context} 个位置）",
    },
    "home.arch.emb": {
        "en": "embeddings\\n{vocab} × {d_model}",
        "zh": "词嵌入\\n{vocab} × {d_model}",
    },
    "home.arch.attn": {
        "en": "attention\\n{n_heads} heads × {d_head} dims{kv}",
        "zh": "注意力\\n{n_heads} 个头 × {d_head} 维{kv}",
    },
    "home.arch.kv": {"en": ", {n_kv_heads} kv heads", "zh": "，{n_kv_heads} 个键值头"},
    "home.arch.mlp": {
        "en": "MLP\\n{d_model} → {d_ff} → {d_model}",
        "zh": "前馈网络 MLP\\n{d_model} → {d_ff} → {d_model}",
    },
    "home.arch.head": {"en": "output head\\n{head_note}", "zh": "输出层\\n{head_note}"},
    "home.arch.tied": {"en": "tied to embeddings", "zh": "与词嵌入共享权重"},
    "home.arch.probs": {
        "en": "next-token probabilities\\n({vocab} tokens)",
        "zh": "下一个词元的概率\\n（{vocab} 个词元）",
    },
    "home.arch.layers": {"en": "× {n_layers} layers", "zh": "× {n_layers} 层"},
    "home.arch.next": {"en": "next layer", "zh": "下一层"},
}
