"""Strings of the Generation page ("gen.*") and the Perplexity and logit lens page ("ppl.*")."""

STRINGS = {
    "gen.why_link": {
        "en": "Why this token? Attribute it to the prompt",
        "zh": "为什么是这个词元？把它归因到提示词",
    },
    # ------------------------------------------------------------------ generation: inputs
    "gen.title": {
        "en": "Generation: how the next token is chosen",
        "zh": "文本生成：下一个词元是怎么选出来的",
    },
    "gen.intro": {
        "en": "The model reads the prompt and gives every token of its vocabulary a probability; "
        "a strategy picks one, appends it, and the model reads again. Each chip below is one "
        "generated token, coloured by the probability the model gave it.",
        "zh": "模型读入提示词，为词表中的每个词元给出一个概率；解码策略从中选出一个，接到文本后面，"
        "模型再接着读。下面每个小块是一个生成的词元，颜色表示模型给它的概率。",
    },
    "gen.prompt": {"en": "Prompt", "zh": "提示词"},
    "gen.examples": {"en": "Examples:", "zh": "示例："},
    "gen.mode": {"en": "Mode", "zh": "模式"},
    "gen.mode.raw": {"en": "raw text (continue it)", "zh": "原始文本（续写）"},
    "gen.mode.chat": {"en": "chat (the model answers)", "zh": "对话（模型回答）"},
    "gen.mode_help": {
        "en": "Raw text: the model continues the prompt as it stands. Chat: the prompt is wrapped "
        "in the model's chat template (system message, user turn, then the assistant's turn), "
        "so an instruction-tuned model answers it.",
        "zh": "原始文本：模型直接续写提示词。对话：提示词会套上模型的对话模板（系统消息、用户发言，"
        "然后轮到助手），经过指令微调的模型就会回答它。",
    },
    "gen.system": {"en": "System message (chat mode)", "zh": "系统消息（对话模式）"},
    "gen.system_help": {
        "en": "Optional instructions placed before the user's message, e.g. “Answer in one sentence.”",
        "zh": "可选，放在用户消息之前的指令，例如“用一句话回答。”",
    },
    "gen.settings": {"en": "Strategy and settings", "zh": "解码策略与参数"},
    "gen.strategy": {"en": "Strategy", "zh": "解码策略"},
    "gen.strategy.greedy": {"en": "greedy", "zh": "贪心"},
    "gen.strategy.sample": {"en": "sampling", "zh": "采样"},
    "gen.strategy.beam": {"en": "beam search", "zh": "束搜索"},
    "gen.strategy_help": {
        "en": "Greedy always takes the most likely token. Sampling draws a token at random in "
        "proportion to its probability, after temperature, top-k and top-p reshape the "
        "distribution. Beam search keeps several candidate continuations and returns the one "
        "with the highest average log probability.",
        "zh": "贪心：总是选概率最高的词元。采样：按概率随机抽取一个词元，抽取前由温度、top-k 和 top-p "
        "改变分布形状。束搜索：同时保留多个候选续写，最后返回平均对数概率最高的那个。",
    },
    "gen.temperature": {"en": "Temperature", "zh": "温度"},
    "gen.temperature_help": {
        "en": "Divides the logits before the softmax: below 1 sharpens the distribution (more "
        "predictable), above 1 flattens it (more surprising).",
        "zh": "在 softmax 之前把 logits 除以温度：小于 1 让分布更尖锐（更可预测），大于 1 让分布更平坦（更出人意料）。",
    },
    "gen.top_k": {"en": "Top-k (0 = off)", "zh": "Top-k（0 = 关闭）"},
    "gen.top_k_help": {
        "en": "Keep only the k most likely tokens and sample among them.",
        "zh": "只保留概率最高的 k 个词元，在其中采样。",
    },
    "gen.top_p": {"en": "Top-p (1.0 = off)", "zh": "Top-p（1.0 = 关闭）"},
    "gen.top_p_help": {
        "en": "Nucleus sampling: keep the smallest set of most likely tokens whose probabilities "
        "add up to at least p.",
        "zh": "核采样：保留概率最高、且概率之和至少为 p 的最小词元集合。",
    },
    "gen.seed": {"en": "Seed", "zh": "随机种子"},
    "gen.seed_help": {
        "en": "The same seed and settings give the same sample again.",
        "zh": "相同的种子和参数会得到相同的采样结果。",
    },
    "gen.max_new": {"en": "Max new tokens", "zh": "最多生成词元数"},
    "gen.penalty": {"en": "Repetition penalty (1.0 = off)", "zh": "重复惩罚（1.0 = 关闭）"},
    "gen.penalty_help": {
        "en": "Makes every token already in the text less likely: positive logits are divided "
        "by the penalty, negative ones multiplied.",
        "zh": "降低文本中已出现词元的概率：正的 logit 除以惩罚系数，负的乘以惩罚系数。",
    },
    "gen.beams": {"en": "Beams", "zh": "束宽"},
    "gen.n_sequences": {"en": "Sequences to return", "zh": "返回序列数"},
    "gen.n_sequences_help": {
        "en": "Sampling draws this many continuations (each with its own seed); beam search "
        "returns this many best beams. Greedy always gives one.",
        "zh": "采样时抽取这么多条续写（每条有自己的种子）；束搜索返回这么多条最佳候选。贪心只有一条。",
    },
    "gen.stops": {"en": "Stop strings (comma-separated)", "zh": "停止字符串（用逗号分隔）"},
    "gen.stops_help": {
        "en": "Generation ends as soon as the text contains one of them. Write \\n for a line "
        "break. At most {n}.",
        "zh": "生成的文本一旦包含其中任意一个就停止。用 \\n 表示换行。最多 {n} 个。",
    },
    "gen.attention": {"en": "Record attention", "zh": "记录注意力"},
    "gen.attention_help": {
        "en": "Keep each generated token's attention over the context, read from the cached "
        "decoding step itself (not available for beam search).",
        "zh": "保存每个生成词元对上下文的注意力，直接取自带缓存的解码步骤本身（束搜索不支持）。",
    },
    # ------------------------------------------------------------------ generation: running
    "gen.tab_generate": {"en": "Generate", "zh": "生成"},
    "gen.tab_walk": {"en": "Step through", "zh": "逐步生成"},
    "gen.tab_compare": {"en": "Compare two settings", "zh": "对比两种设置"},
    "gen.generate": {"en": "Generate", "zh": "生成"},
    "gen.stop": {"en": "Stop", "zh": "停止"},
    "gen.stop_help": {
        "en": "Ends the generation after the current token; the tokens so far are kept.",
        "zh": "在当前词元之后结束生成，已生成的词元会保留。",
    },
    "gen.press_generate": {
        "en": "Press Generate: the tokens appear here as the model produces them.",
        "zh": "点击“生成”：模型每生成一个词元，就会显示在这里。",
    },
    "gen.beam_progress": {
        "en": "Beam search, step {step} of at most {total}… the best beam is known only at the end.",
        "zh": "束搜索：第 {step} 步（最多 {total} 步）……最佳候选要到最后才能确定。",
    },
    "gen.stopped": {"en": "stopped", "zh": "已停止"},
    "gen.stopped_empty": {
        "en": "Stopped before the first token was produced.",
        "zh": "在生成第一个词元之前就停止了。",
    },
    "gen.finish.length": {"en": "reached the token limit", "zh": "达到词元数上限"},
    "gen.finish.eos": {"en": "the model ended its text", "zh": "模型给出了结束符"},
    "gen.finish.stop_string": {"en": "met a stop string", "zh": "遇到了停止字符串"},
    "gen.finish.cancelled": {"en": "stopped", "zh": "已停止"},
    "gen.summary": {
        "en": "{n_tokens} tokens · {reason} · mean probability of the chosen tokens {mean}",
        "zh": "{n_tokens} 个词元 · {reason} · 所选词元的平均概率 {mean}",
    },
    "gen.legend": {"en": "Probability of the chosen token:", "zh": "所选词元的概率："},
    "gen.chip_tip": {
        "en": "step {index} · p = {prob} (after filters {after}) · rank {rank}",
        "zh": "第 {index} 步 · 概率 {prob}（过滤后 {after}）· 排名 {rank}",
    },
    "gen.plain_text": {"en": "Generated text (to copy)", "zh": "生成的文本（可复制）"},
    "gen.sequence": {"en": "Sequence", "zh": "序列"},
    "gen.sequence_label": {"en": "#{number}", "zh": "第 {number} 条"},
    "gen.step": {"en": "Step", "zh": "步骤"},
    "gen.to_perplexity": {
        "en": "Score this text (perplexity and logit lens)",
        "zh": "为这段文本打分（困惑度与 logit lens）",
    },
    # ------------------------------------------------------------------ generation: one step
    "gen.m_token": {"en": "Chosen token", "zh": "所选词元"},
    "gen.m_prob": {"en": "Probability", "zh": "概率"},
    "gen.m_prob_help": {
        "en": "In the model's own distribution (softmax of its logits, after the repetition "
        "penalty if any), before temperature, top-k and top-p.",
        "zh": "在模型自己的分布中（logits 的 softmax，如有重复惩罚则在惩罚之后），即温度、top-k、top-p 之前。",
    },
    "gen.m_prob_after": {"en": "After filters", "zh": "过滤后概率"},
    "gen.m_after_help": {
        "en": "In the distribution the token was actually drawn from.",
        "zh": "在实际用于抽取该词元的分布中的概率。",
    },
    "gen.m_rank": {"en": "Rank", "zh": "排名"},
    "gen.m_entropy": {"en": "Entropy (nats)", "zh": "熵（nats）"},
    "gen.m_entropy_help": {
        "en": "How spread out the model's distribution is: 0 when it is certain; the change "
        "shows the entropy after the filters.",
        "zh": "模型分布的分散程度：完全确定时为 0；变化值表示过滤之后的熵。",
    },
    "gen.topk_title": {"en": "Top candidates for this step", "zh": "这一步的候选词元"},
    "gen.before": {"en": "model (before filters)", "zh": "模型分布（过滤前）"},
    "gen.after": {"en": "sampled from (after filters)", "zh": "采样分布（过滤后）"},
    "gen.probability": {"en": "probability", "zh": "概率"},
    "gen.chosen": {"en": "chosen", "zh": "被选中"},
    "gen.filtered": {"en": "filtered out", "zh": "已被过滤"},
    "gen.no_filters": {
        "en": "Greedy and beam search use the model's distribution as it is: no filters, so "
        "“after” equals “before”.",
        "zh": "贪心和束搜索直接使用模型的分布，不做过滤，所以“过滤后”等于“过滤前”。",
    },
    "gen.looking_heading": {"en": "Where was it looking?", "zh": "它在看哪里？"},
    "gen.looking_caption": {
        "en": "Step {step} was chosen at the position of the token before it; this is that "
        "position's attention over the {n_keys} tokens of the context, taken from the cached "
        "decoding step itself.",
        "zh": "第 {step} 步的词元是在它前一个位置上选出的；这里显示该位置对上下文中 {n_keys} 个词元的注意力，"
        "直接取自带缓存的解码步骤。",
    },
    "gen.no_attention": {
        "en": "No attention was recorded for this run: turn on “Record attention” (greedy or "
        "sampling) and generate again.",
        "zh": "这次生成没有记录注意力：请打开“记录注意力”（贪心或采样），然后重新生成。",
    },
    "gen.layer": {"en": "Layer", "zh": "层"},
    "gen.head": {"en": "Head", "zh": "注意力头"},
    "gen.head_name": {"en": "layer {layer}, head {head}", "zh": "第 {layer} 层第 {head} 个头"},
    "gen.mean_heads": {"en": "mean over heads", "zh": "各头平均"},
    "gen.context_axis": {"en": "context (looked at)", "zh": "上下文（被看的词元）"},
    "gen.attention_weight": {"en": "attention weight", "zh": "注意力权重"},
    # ------------------------------------------------------------------ step-through
    "gen.walk_intro": {
        "en": "One token per click. Take the model's choice, or pick any candidate yourself "
        "(even one the filters removed) and the text continues from there. The settings above "
        "apply to every step.",
        "zh": "每点一次生成一个词元。可以采用模型的选择，也可以自己从候选中挑一个（即使它已被过滤），"
        "文本会从你的选择继续。上面的设置对每一步都有效。",
    },
    "gen.walk_start": {"en": "Start from the prompt", "zh": "从提示词开始"},
    "gen.walk_next": {"en": "Next token (model's choice)", "zh": "下一个词元（模型的选择）"},
    "gen.walk_undo": {"en": "Undo", "zh": "撤销"},
    "gen.walk_count": {"en": "{n} tokens added", "zh": "已添加 {n} 个词元"},
    "gen.walk_pick": {"en": "Or pick the next token", "zh": "或者自己挑选下一个词元"},
    "gen.walk_use": {"en": "Use my pick", "zh": "使用我挑选的词元"},
    "gen.walk_tip": {"en": "p = {prob} · rank {rank}", "zh": "概率 {prob} · 排名 {rank}"},
    "gen.walk_beam": {
        "en": "Beam search has no single next token: step-through takes the most likely one.",
        "zh": "束搜索没有唯一的“下一个词元”：逐步模式按概率最高的词元前进。",
    },
    "gen.walk_limit": {
        "en": "Step-through stops at {limit} tokens: press “Start from the prompt” to begin again.",
        "zh": "逐步生成最多 {limit} 个词元：点击“从提示词开始”重新开始。",
    },
    # ------------------------------------------------------------------ comparison
    "gen.compare_intro": {
        "en": "The same prompt with two strategies, side by side. Length, seed, repetition "
        "penalty and stop strings come from the settings above.",
        "zh": "同一个提示词，两种策略并排对比。长度、随机种子、重复惩罚和停止字符串使用上面的设置。",
    },
    "gen.compare_side": {"en": "Setting {side}", "zh": "设置 {side}"},
    "gen.compare_run": {"en": "Compare", "zh": "开始对比"},
    "gen.preset.greedy": {"en": "greedy", "zh": "贪心"},
    "gen.preset.temperature_0.7": {"en": "sampling, temperature 0.7", "zh": "采样，温度 0.7"},
    "gen.preset.temperature_1.2": {"en": "sampling, temperature 1.2", "zh": "采样，温度 1.2"},
    "gen.preset.top_k_40": {"en": "sampling, top-k 40", "zh": "采样，top-k 40"},
    "gen.preset.top_p_0.9": {"en": "sampling, top-p 0.9", "zh": "采样，top-p 0.9"},
    "gen.preset.beam_4": {"en": "beam search, 4 beams", "zh": "束搜索，束宽 4"},
    "gen.preset.current": {"en": "the settings above", "zh": "上面的设置"},
    # ------------------------------------------------------------------ perplexity page
    "ppl.title": {"en": "Perplexity and the logit lens", "zh": "困惑度与 logit lens"},
    "ppl.intro": {
        "en": "A language model is trained to make each token likely given the ones before it. "
        "Surprisal −log p(token) measures how unexpected each token is; perplexity is e to the "
        "mean surprisal: roughly how many tokens the model hesitates between.",
        "zh": "语言模型的训练目标是：在给定前文的情况下让每个词元的概率尽量高。惊奇度 −log p(词元) 衡量每个词元"
        "有多出乎意料；困惑度是平均惊奇度的指数，大致表示模型在多少个词元之间犹豫。",
    },
    "ppl.text": {"en": "Text", "zh": "文本"},
    "ppl.examples": {"en": "Examples:", "zh": "示例："},
    "ppl.start": {"en": "Start the text with", "zh": "文本开头加上"},
    "ppl.start_none": {"en": "nothing", "zh": "不加"},
    "ppl.start_help": {
        "en": "This tokenizer adds no start token, so the first word has nothing to be "
        "predicted from and the model reads a text that seems to begin mid-document. The "
        "document separator it was trained with gives the first word a proper start.",
        "zh": "这个分词器不会自动添加起始词元，因此第一个词无从预测，模型读到的文本像是从文档中间开始的。"
        "加上训练时使用的文档分隔符，第一个词就有了合适的开头。",
    },
    "ppl.m_perplexity": {"en": "Perplexity", "zh": "困惑度"},
    "ppl.m_perplexity_help": {
        "en": "exp(mean negative log-likelihood), over every token after the first.",
        "zh": "exp(平均负对数似然)，对第一个词元之后的每个词元计算。",
    },
    "ppl.m_nll": {"en": "Mean surprisal (nats)", "zh": "平均惊奇度（nats）"},
    "ppl.m_predicted": {"en": "Predicted tokens", "zh": "被预测的词元数"},
    "ppl.first_tip": {
        "en": "first token: nothing before it, so no prediction",
        "zh": "第一个词元：前面没有内容，因此没有预测",
    },
    "ppl.chip_tip": {
        "en": "−log p = {nll} nats · p = {prob}",
        "zh": "−log p = {nll} nats · 概率 {prob}",
    },
    "ppl.legend": {
        "en": "Probability the model gave each token (red = surprising):",
        "zh": "模型给每个词元的概率（红色 = 出乎意料）：",
    },
    "ppl.token_axis": {"en": "token", "zh": "词元"},
    "ppl.surprisal_axis": {"en": "surprisal −log p (nats)", "zh": "惊奇度 −log p（nats）"},
    "ppl.lens_heading": {
        "en": "Logit lens: the prediction layer by layer",
        "zh": "Logit lens：逐层的预测",
    },
    "ppl.lens_intro": {
        "en": "Each layer's hidden state at one position is passed through the final norm and "
        "the unembedding, as if the model stopped there. The top row (the last layer) is the "
        "model's real prediction for the next token.",
        "zh": "把某个位置在每一层的隐藏状态送入最终的归一化层和输出层（反嵌入），就好像模型在这一层停下。"
        "最上面一行（最后一层）就是模型对下一个词元的真实预测。",
    },
    "ppl.position": {"en": "Position to read", "zh": "读取的位置"},
    "ppl.ranks": {"en": "Ranks shown", "zh": "显示的名次数"},
    "ppl.lens_reading": {
        "en": "What comes after position {position} ({token})?",
        "zh": "位置 {position}（{token}）之后是什么？",
    },
    "ppl.embeddings": {"en": "embeddings", "zh": "嵌入层"},
    "ppl.layer_axis": {"en": "layer", "zh": "层"},
    "ppl.rank_axis": {"en": "rank", "zh": "名次"},
    "ppl.probability": {"en": "probability", "zh": "概率"},
    "ppl.final_heading": {
        "en": "How early does the model settle on {token}? Its probability after each layer:",
        "zh": "模型多早确定 {token}？它在每一层之后的概率：",
    },
}
