"""Strings of the three pages past attention: Why this token? ("attr.*"), activation
patching ("patch.*") and Compare two models ("vs.*")."""

STRINGS = {
    # ------------------------------------------------------------------ attribution
    "attr.title": {"en": "Why this token? Attribution", "zh": "为什么是这个词元？归因分析"},
    "attr.intro": {
        "en": "The model reads the prompt and predicts its next token. Attribution scores "
        "every word of the prompt by how much it raised (red) or lowered (blue) the log "
        "probability of that token. Below, the same words are set beside the attention the "
        "last position pays them: the two are not the same thing.",
        "zh": "模型读入提示词，预测下一个词元。归因分析给提示词中的每个词打分：它让这个词元的"
        "对数概率升高（红）还是降低（蓝），幅度多大。下方把同样的词和最后一个位置分给它们的"
        "注意力放在一起比较：两者并不是一回事。",
    },
    "attr.text": {"en": "Prompt", "zh": "提示词"},
    "attr.examples": {"en": "Examples:", "zh": "示例："},
    "attr.target": {"en": "Token to explain", "zh": "要解释的词元"},
    "attr.target_top": {"en": "the most likely next token", "zh": "最可能的下一个词元"},
    "attr.target_typed": {"en": "a token I type", "zh": "我输入的词元"},
    "attr.target_link": {"en": "the token from Generation", "zh": "来自文本生成页的词元"},
    "attr.target_text": {"en": "Token text", "zh": "词元文本"},
    "attr.target_help": {
        "en": "The first token of this text as the tokenizer encodes it. A leading space "
        "matters: ' Paris' is one token of the default model, 'Paris' another.",
        "zh": "取这段文本经分词器编码后的第一个词元。开头的空格有影响：默认模型里 ' Paris' "
        "和 'Paris' 是两个不同的词元。",
    },
    "attr.method": {"en": "Method", "zh": "方法"},
    "attr.method_gradient-x-input": {"en": "Gradient × input", "zh": "梯度 × 输入"},
    "attr.method_integrated-gradients": {"en": "Integrated gradients", "zh": "积分梯度"},
    "attr.method_occlusion": {"en": "Occlusion", "zh": "遮挡"},
    "attr.method_help": {
        "en": "Gradient × input: the embedding times the gradient of log p (one backward "
        "pass, a local view). Integrated gradients: the gradient averaged along the way from "
        "zero embeddings to the real ones, so the scores add up to the whole change in log p. "
        "Occlusion: how much log p drops when the word is replaced by a neutral token.",
        "zh": "梯度 × 输入：嵌入向量乘以 log p 的梯度（一次反向传播，只看局部）。积分梯度："
        "沿着从全零嵌入到真实嵌入的路径平均梯度，所以各词得分之和等于 log p 的总变化。"
        "遮挡：把这个词换成一个中性词元后，log p 下降了多少。",
    },
    "attr.level": {"en": "Score per", "zh": "得分单位"},
    "attr.level_word": {"en": "word", "zh": "词"},
    "attr.level_character": {"en": "character", "zh": "字符"},
    "attr.level_token": {"en": "token", "zh": "词元"},
    "attr.steps": {"en": "Steps", "zh": "步数"},
    "attr.steps_help": {
        "en": "Integrated gradients starts with this many steps on the path and adds steps "
        "where the sum is still off, until the check below holds (at most 8×).",
        "zh": "积分梯度先在路径上取这么多步，在求和仍有偏差的地方再加步，直到下面的检验通过"
        "（最多 8 倍）。",
    },
    "attr.explaining": {
        "en": "Explaining the token {token}: the model gives it p = {prob} after this prompt.",
        "zh": "解释词元 {token}：读完这段提示词后，模型给它的概率 p = {prob}。",
    },
    "attr.m_sum": {"en": "Sum of the scores", "zh": "得分之和"},
    "attr.m_sum_help": {"en": "Σ over the prompt's tokens.", "zh": "对提示词所有词元求和。"},
    "attr.m_expected": {"en": "log p(input) − log p(baseline)", "zh": "log p(输入) − log p(基线)"},
    "attr.m_expected_help": {
        "en": "The baseline is the prompt with every embedding set to zero (the start token "
        "kept). Completeness: the scores must add up to this.",
        "zh": "基线是把每个嵌入都置零的提示词（保留起始词元）。完备性：得分之和应当等于它。",
    },
    "attr.m_gap": {"en": "Gap", "zh": "偏差"},
    "attr.m_steps": {"en": "Steps used", "zh": "实际步数"},
    "attr.m_steps_help": {
        "en": "Near zero embeddings the model changes abruptly, so a fixed grid misses; "
        "steps are added where the sum disagrees with the change in log p.",
        "zh": "在全零嵌入附近模型变化剧烈，固定网格会漏掉；在求和与 log p 变化不符的地方加步。",
    },
    "attr.complete": {
        "en": "Completeness holds: the scores add up to the change in log p within 2%.",
        "zh": "完备性成立：得分之和与 log p 的变化相差不到 2%。",
    },
    "attr.incomplete": {
        "en": "Completeness fails by more than 2%: read the scores with care, or take more steps.",
        "zh": "完备性偏差超过 2%：请谨慎看待这些得分，或增加步数。",
    },
    "attr.neutral": {
        "en": "Each word was replaced by {token}: an ordinary placeholder word. Not a space "
        "or the document separator: the model turns those into attention sinks, which "
        "would lower every word's score alike.",
        "zh": "每个词依次被替换成 {token}：一个普通的占位词。没有用空格或文档分隔符：模型会把"
        "它们当作注意力汇聚点，这会让每个词的得分一起降低。",
    },
    "attr.legend": {
        "en": "Score (red raised log p, blue lowered it):",
        "zh": "得分（红：提高 log p，蓝：降低）：",
    },
    "attr.versus_heading": {"en": "Attention is not attribution", "zh": "注意力不等于归因"},
    "attr.versus_intro": {
        "en": "Left: how much each word moved log p. Right: how much attention the last "
        "position (the one that predicts) pays each word.",
        "zh": "左：每个词让 log p 变化了多少。右：最后一个位置（做预测的位置）分给每个词多少注意力。",
    },
    "attr.source": {"en": "Attention from", "zh": "注意力来源"},
    "attr.source_mean": {"en": "mean of all heads", "zh": "所有头的平均"},
    "attr.source_rollout": {"en": "rollout", "zh": "注意力展开（rollout）"},
    "attr.source_head": {"en": "one head", "zh": "单个头"},
    "attr.layer": {"en": "Layer", "zh": "层"},
    "attr.head": {"en": "Head", "zh": "头"},
    "attr.scores_heading": {"en": "Attribution", "zh": "归因得分"},
    "attr.attention_heading": {
        "en": "Attention of the last position",
        "zh": "最后一个位置的注意力",
    },
    "attr.score_axis": {"en": "score (Δ log p)", "zh": "得分（Δ log p）"},
    "attr.attention_axis": {"en": "attention weight", "zh": "注意力权重"},
    "attr.m_correlation": {"en": "Rank correlation", "zh": "秩相关"},
    "attr.m_correlation_help": {
        "en": "Spearman's correlation between the attention and the size of the score "
        "(|score|). 1: the same order; 0: unrelated. — when undefined (one word).",
        "zh": "注意力与得分大小（|得分|）之间的 Spearman 秩相关。1：顺序相同；0：无关。"
        "无法计算时（只有一个词）显示 —。",
    },
    "attr.m_context": {"en": "Attention to the start token", "zh": "分给起始词元的注意力"},
    "attr.m_context_help": {
        "en": "Weight the last position gives the start token, which belongs to no word: "
        "heads park attention they do not need there.",
        "zh": "最后一个位置分给起始词元的权重，它不属于任何词：注意力头把用不上的注意力停放在那里。",
    },
    "attr.lesson": {
        "en": "Where a head looks is not why the model chose the token: a word can get little "
        "attention and still decide the answer, through what earlier layers wrote into other "
        "positions.",
        "zh": "注意力头看向哪里，并不等于模型为什么选了这个词元：一个词可能只得到很少的注意力，"
        "却通过前面各层写进其他位置的信息决定了答案。",
    },
    # ------------------------------------------------------------------ patching
    "patch.title": {
        "en": "Where does the model keep the fact? Activation patching",
        "zh": "模型把知识存在哪里？激活修补",
    },
    "patch.intro": {
        "en": "Run a corrupted prompt, but put back one activation (one layer, one position) "
        "from the clean prompt. If the clean answer returns, that activation carried it.",
        "zh": "运行被破坏的提示词，但把其中一个激活（某一层、某一个位置）换回干净提示词里的值。"
        "如果干净的答案回来了，就说明这个激活携带了它。",
    },
    "patch.examples": {"en": "Examples:", "zh": "示例："},
    "patch.clean": {"en": "Clean prompt", "zh": "干净的提示词"},
    "patch.clean_help": {
        "en": "The prompt whose answer we look for.",
        "zh": "我们要追踪其答案的提示词。",
    },
    "patch.corrupt": {"en": "Corrupted prompt", "zh": "被破坏的提示词"},
    "patch.corrupt_help": {
        "en": "The same number of tokens, with the fact changed (France → Italy).",
        "zh": "词元数相同，只改掉关键事实（France → Italy）。",
    },
    "patch.target": {"en": "Target token", "zh": "目标词元"},
    "patch.target_help": {
        "en": "The first token of this text; leave empty for the clean prompt's most likely "
        "next token.",
        "zh": "取这段文本的第一个词元；留空则用干净提示词最可能的下一个词元。",
    },
    "patch.m_target": {"en": "Target", "zh": "目标"},
    "patch.m_clean": {"en": "p(target | clean)", "zh": "p(目标 | 干净)"},
    "patch.m_clean_help": {"en": "After the clean prompt.", "zh": "读完干净提示词之后。"},
    "patch.m_corrupt": {"en": "p(target | corrupted)", "zh": "p(目标 | 被破坏)"},
    "patch.m_corrupt_help": {"en": "After the corrupted prompt.", "zh": "读完被破坏的提示词之后。"},
    "patch.differs": {
        "en": "The prompts differ at {changed} ({n_tokens} tokens each).",
        "zh": "两个提示词的不同之处：{changed}（各 {n_tokens} 个词元）。",
    },
    "patch.component": {"en": "Activation to restore", "zh": "要恢复的激活"},
    "patch.component_residual": {"en": "Residual stream", "zh": "残差流"},
    "patch.component_attention": {"en": "Attention output", "zh": "注意力输出"},
    "patch.component_mlp": {"en": "MLP output", "zh": "MLP 输出"},
    "patch.heatmap_residual": {
        "en": "Restoring the output of each layer",
        "zh": "恢复每一层的输出",
    },
    "patch.heatmap_attention": {
        "en": "Restoring the attention output of each layer",
        "zh": "恢复每一层注意力的输出",
    },
    "patch.heatmap_mlp": {
        "en": "Restoring the MLP output of each layer",
        "zh": "恢复每一层 MLP 的输出",
    },
    "patch.layer_axis": {"en": "layer", "zh": "层"},
    "patch.position_axis": {"en": "position", "zh": "位置"},
    "patch.effect": {"en": "effect", "zh": "效果"},
    "patch.read_residual": {
        "en": "1 (red): that position's residual stream alone brings the clean answer back. "
        "The fact sits at the changed word in the early layers and moves to the last "
        "position, which predicts, in the late layers.",
        "zh": "1（红）：仅恢复这个位置的残差流，就能把干净的答案找回来。早期层中信息停留在被改动的词上，"
        "到后期层转移到做预测的最后一个位置。",
    },
    "patch.read_attention": {
        "en": "An attention output that restores the answer at the last position is a head "
        "layer that moves the fact there from the changed word.",
        "zh": "如果某层注意力输出在最后一个位置能恢复答案，说明这一层的注意力把信息从被改动的词搬到了这里。",
    },
    "patch.read_mlp": {
        "en": "An MLP output that restores the answer at the changed word is where the model "
        "looks the word up (often the first layers).",
        "zh": "如果某层 MLP 输出在被改动的词上能恢复答案，说明模型在这里“查找”这个词的含义（常在最初几层）。",
    },
    "patch.lesson": {
        "en": "Patching is causal: it changes the computation and measures what happens, "
        "where attention maps only show weights.",
        "zh": "修补是因果性的：它改动计算并测量结果，而注意力图只展示权重。",
    },
    # ------------------------------------------------------------------ compare
    "vs.title": {"en": "Compare two models", "zh": "对比两个模型"},
    "vs.intro": {
        "en": "The same text read by two models: a fine-tuned or compressed model and its "
        "base, or any two. Where is each surprised, do they predict the same next token, and "
        "how does each continue?",
        "zh": "两个模型读同一段文本：比如微调或压缩后的模型与原模型，或者任意两个模型。各自在哪里"
        "感到意外？预测的下一个词元是否相同？各自会怎样续写？",
    },
    "vs.model_a": {"en": "Model A (the sidebar's)", "zh": "模型 A（侧边栏所选）"},
    "vs.model_a_help": {"en": "Change it in the sidebar.", "zh": "在侧边栏中更换。"},
    "vs.model_b": {"en": "Model B", "zh": "模型 B"},
    "vs.custom_empty": {
        "en": "Type model B's hub id or folder.",
        "zh": "请输入模型 B 的 Hub 名称或文件夹。",
    },
    "vs.text": {"en": "Text", "zh": "文本"},
    "vs.layer": {"en": "Layer (attention difference)", "zh": "层（注意力差异）"},
    "vs.head": {"en": "Head", "zh": "头"},
    "vs.basis_tokens": {
        "en": "Both models read the text as the same tokens: compared token by token.",
        "zh": "两个模型把文本切成相同的词元：逐词元比较。",
    },
    "vs.basis_words": {
        "en": "The tokenizers differ: compared word by word.",
        "zh": "两个分词器不同：逐词比较。",
    },
    "vs.m_mean_a": {"en": "Mean surprisal, A", "zh": "平均意外度，A"},
    "vs.m_mean_b": {"en": "Mean surprisal, B", "zh": "平均意外度，B"},
    "vs.m_mean_help": {
        "en": "−log p of each token given the text before it, in nats; lower = less surprised.",
        "zh": "每个词元在给定前文时的 −log p（单位 nat）；越低越不意外。",
    },
    "vs.m_agreement": {"en": "Top-1 agreement", "zh": "Top-1 一致率"},
    "vs.m_agreement_help": {
        "en": "Share of positions where both models' most likely next token is the same.",
        "zh": "两个模型最可能的下一个词元相同的位置所占比例。",
    },
    "vs.m_kl": {"en": "Mean KL(A ‖ B)", "zh": "平均 KL(A ‖ B)"},
    "vs.m_kl_help": {
        "en": "How far B's next-token distribution is from A's, averaged over positions (nats).",
        "zh": "B 的下一个词元分布与 A 的差距，对所有位置取平均（nat）。",
    },
    "vs.level": {"en": "Surprisal per", "zh": "意外度单位"},
    "vs.surprisal_heading": {"en": "Surprisal of each", "zh": "各自的意外度"},
    "vs.difference_heading": {"en": "B − A", "zh": "B − A"},
    "vs.nats": {"en": "surprisal (nats)", "zh": "意外度（nat）"},
    "vs.difference_axis": {
        "en": "difference (nats; red: B more surprised)",
        "zh": "差值（nat；红：B 更意外）",
    },
    "vs.continuations_heading": {"en": "How each continues (greedy)", "zh": "各自的续写（贪心）"},
    "vs.attention_heading": {
        "en": "Attention difference, layer {layer} head {head} (B − A)",
        "zh": "注意力差异：第 {layer} 层第 {head} 个头（B − A）",
    },
    "vs.query_axis": {"en": "query (looking)", "zh": "查询（看的词元）"},
    "vs.key_axis": {"en": "key (looked at)", "zh": "键（被看的词元）"},
    "vs.attention_value": {"en": "difference", "zh": "差值"},
    "vs.attention_caption": {
        "en": "Red: B attends more than A; blue: less; white: the same. The start token is left out.",
        "zh": "红：B 比 A 注意得多；蓝：少；白：相同。起始词元不计在内。",
    },
}
