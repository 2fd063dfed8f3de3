"""Strings of the Attention math page (softmax(QKᵀ/√dₖ)V step by step, then a real head).

Strings shown with st.markdown may hold inline LaTeX ($...$); in those formatted with
values, literal LaTeX braces are doubled ({{ }}).
"""

STRINGS = {
    "math.title": {"en": "Attention, step by step", "zh": "注意力公式，一步一步算"},
    "math.intro": {
        "en": "Every token asks a question (its query Q), offers a label (its key K) and "
        "carries content (its value V). Attention compares each query with every key, turns "
        "the scores into weights with softmax, and mixes the values with those weights.",
        "zh": "每个词元提出一个问题（查询 Q），亮出一个标签（键 K），并携带内容（值 V）。"
        "注意力把每个查询与所有键比较，用 softmax 把得分变成权重，再按权重混合各个值。",
    },
    "math.tab_toy": {"en": "Toy example: 我 爱 吃 苹果", "zh": "玩具示例：我 爱 吃 苹果"},
    "math.tab_real": {"en": "A real head of the model", "zh": "模型中真实的注意力头"},
    # ------------------------------------------------------------------ toy inputs
    "math.words": {"en": "Words (separated by spaces)", "zh": "词（用空格分隔）"},
    "math.words_help": {
        "en": "One label per row of X, e.g. 我 爱 吃 苹果.",
        "zh": "每行向量 X 对应一个标签，例如：我 爱 吃 苹果。",
    },
    "math.x": {"en": "X: one vector per word", "zh": "X：每个词一个向量"},
    "math.matrix_help": {
        "en": "One row per line, numbers separated by commas or spaces.",
        "zh": "每行一行数字，用逗号或空格分隔。",
    },
    "math.w_q": {"en": "W_Q (query weights)", "zh": "W_Q（查询权重）"},
    "math.w_k": {"en": "W_K (key weights)", "zh": "W_K（键权重）"},
    "math.w_v": {"en": "W_V (value weights)", "zh": "W_V（值权重）"},
    "math.causal": {"en": "Causal mask", "zh": "因果掩码"},
    "math.causal_help": {
        "en": "On: a word sees only itself and the words before it, as in GPT-style models. "
        "Off: every word sees every word, as in BERT.",
        "zh": "开启：每个词只能看到自己和前面的词（GPT 类模型）。关闭：每个词能看到所有词（BERT）。",
    },
    "math.n_heads": {"en": "Heads", "zh": "头数"},
    "math.n_heads_help": {
        "en": "Multi-head attention splits the d dimensions into equal parts, one per head.",
        "zh": "多头注意力把 d 个维度平均分成几份，每个头一份。",
    },
    "math.reset": {"en": "Reset the example", "zh": "恢复示例"},
    "math.limits": {
        "en": "Up to {max_tokens} words and {max_dims} dimensions. W_Q, W_K and W_V are "
        "d × d (identity at first, so Q = K = V = X).",
        "zh": "最多 {max_tokens} 个词、{max_dims} 个维度。W_Q、W_K、W_V 都是 d × d 矩阵"
        "（初始为单位矩阵，所以 Q = K = V = X）。",
    },
    "math.bad_matrix": {"en": "{name}: {error}", "zh": "{name}：{error}"},
    # ------------------------------------------------------------------ toy steps
    "math.step.q": {
        "en": "**1. $Q = XW_Q$**: the query, what each word is looking for.",
        "zh": "**1. $Q = XW_Q$**：查询，每个词在寻找什么。",
    },
    "math.step.k": {
        "en": "**2. $K = XW_K$**: the key, what each word can be found by.",
        "zh": "**2. $K = XW_K$**：键，每个词凭什么被找到。",
    },
    "math.step.v": {
        "en": "**3. $V = XW_V$**: the value, what each word passes on when attended to.",
        "zh": "**3. $V = XW_V$**：值，每个词被关注时传递出去的内容。",
    },
    "math.step.scores": {
        "en": "**4. $QK^\\top$**: each query dotted with each key; row = query word, "
        "column = key word. Bigger means a better match.",
        "zh": "**4. $QK^\\top$**：每个查询与每个键做点积；行是查询词，列是键词。数值越大越匹配。",
    },
    "math.step.scaled": {
        "en": "**5. $QK^\\top / \\sqrt{{d_k}}$**: divided by $\\sqrt{{{d_k}}} = {sqrt:.3f}$ "
        "so the scores do not grow with the dimension and softmax stays smooth.",
        "zh": "**5. $QK^\\top / \\sqrt{{d_k}}$**：除以 $\\sqrt{{{d_k}}} = {sqrt:.3f}$，"
        "使得分不随维度增大，softmax 不会过于尖锐。",
    },
    "math.step.masked_causal": {
        "en": "**6. Causal mask**: a word may not look at later words, so those scores "
        "become $-\\infty$ (grey).",
        "zh": "**6. 因果掩码**：词不能看后面的词，这些得分变为 $-\\infty$（灰色）。",
    },
    "math.step.masked_none": {
        "en": "**6. No mask**: every word may look at every word, so nothing changes.",
        "zh": "**6. 不加掩码**：每个词都能看所有词，得分不变。",
    },
    "math.step.weights": {
        "en": "**7. softmax** of each row, $e^{s_j} / \\sum_i e^{s_i}$: the attention weights. "
        "Every row sums to 1 (last column); $-\\infty$ becomes 0.",
        "zh": "**7. 对每行做 softmax**，$e^{s_j} / \\sum_i e^{s_i}$：得到注意力权重。"
        "每行之和为 1（最后一列）；$-\\infty$ 变为 0。",
    },
    "math.step.output": {
        "en": "**8. weights · V**: each word's output is a weighted average of the value "
        "vectors it attends to.",
        "zh": "**8. 权重 · V**：每个词的输出是它所关注的各个值向量的加权平均。",
    },
    "math.heads_intro": {
        "en": "d = {d_model} is split into {n_heads} heads of $d_k = {d_k}$ columns each: every "
        "head works on its own columns of Q, K and V, and their outputs are put side by side.",
        "zh": "d = {d_model} 被分成 {n_heads} 个头，每个头 $d_k = {d_k}$ 列：每个头只用 Q、K、V "
        "中属于自己的列，最后把各头的输出拼接起来。",
    },
    "math.head_tab": {"en": "Head {number}", "zh": "第 {number} 个头"},
    "math.concat_output": {
        "en": "**Output of all heads, side by side** (a real model would then multiply by $W_O$).",
        "zh": "**所有头的输出拼接在一起**（真实模型随后还会乘以 $W_O$）。",
    },
    "math.dim": {"en": "d{index}", "zh": "d{index}"},
    "math.axis_query": {"en": "query", "zh": "查询"},
    "math.axis_key": {"en": "key", "zh": "键"},
    "math.row_sum": {"en": "Σ row", "zh": "行和"},
    # ------------------------------------------------------------------ real head
    "math.real_intro": {
        "en": "The same formula inside **{model}**: its own Q and K for one head, the softmax "
        "recomputed here, and the attention the model itself reported.",
        "zh": "同一个公式在 **{model}** 内部：取出某个头自己的 Q 和 K，在这里重新计算 softmax，"
        "再与模型自己给出的注意力对比。",
    },
    "math.real_text": {"en": "Text", "zh": "文本"},
    "math.layer": {"en": "Layer (0–{last})", "zh": "层（0–{last}）"},
    "math.head": {"en": "Head (0–{last})", "zh": "头（0–{last}）"},
    "math.real_limit": {
        "en": "Up to {max_tokens} tokens; numbers are written in the cells up to {annotated} "
        "tokens (hover for longer texts).",
        "zh": "最多 {max_tokens} 个词元；不超过 {annotated} 个词元时在格子里写出数值（更长的文本请悬停查看）。",
    },
    "math.metric_diff": {"en": "Max difference", "zh": "最大差异"},
    "math.metric_diff_help": {
        "en": "The largest |recomputed − reported| over all cells.",
        "zh": "所有格子中 |重新计算 − 模型给出| 的最大值。",
    },
    "math.metric_tokens": {"en": "Tokens", "zh": "词元数"},
    "math.metric_scale": {"en": "Scale 1/√d_k", "zh": "缩放系数 1/√d_k"},
    "math.metric_kv": {"en": "K/V head", "zh": "K/V 头"},
    "math.metric_kv_help": {
        "en": "{n_heads} query heads share {n_kv_heads} key/value heads (grouped-query "
        "attention): head {head} uses K and V of head {kv_head}.",
        "zh": "{n_heads} 个查询头共享 {n_kv_heads} 个键/值头（分组查询注意力）："
        "第 {head} 个头使用第 {kv_head} 个键/值头的 K 和 V。",
    },
    "math.rope": {
        "en": "Before the dot product the model rotates Q and K by each token's position "
        "(RoPE, rotary position encoding), so $QK^\\top$ already reflects how far apart two "
        "tokens are. The recomputation uses the rotated Q and K, exactly as the model does.",
        "zh": "在做点积之前，模型会按每个词元的位置旋转 Q 和 K（RoPE，旋转位置编码），"
        "因此 $QK^\\top$ 已经包含了两个词元相距多远的信息。这里的重新计算使用旋转后的 Q 和 K，"
        "与模型完全一致。",
    },
    "math.learned_positions": {
        "en": "This model adds a learned position vector to each token's embedding before the "
        "first layer, so Q and K are used exactly as projected.",
        "zh": "该模型在第一层之前把学到的位置向量加到每个词元的嵌入上，因此 Q 和 K 直接按投影结果使用。",
    },
    "math.match": {
        "en": "Recomputed by hand and reported by the model agree to {diff:.1e}: the model "
        "computes exactly softmax(QKᵀ/√d_k); the rest is float32 rounding.",
        "zh": "手工重新计算与模型给出的注意力相差不超过 {diff:.1e}：模型计算的正是 "
        "softmax(QKᵀ/√d_k)，剩下的只是 float32 舍入误差。",
    },
    "math.mismatch": {
        "en": "Recomputed and reported attention differ by up to {diff:.1e}.",
        "zh": "重新计算与模型给出的注意力最多相差 {diff:.1e}。",
    },
    "math.fig_scaled": {"en": "QKᵀ/√d_k (scaled scores)", "zh": "QKᵀ/√d_k（缩放后得分）"},
    "math.fig_recomputed": {"en": "softmax, recomputed here", "zh": "softmax（此处重新计算）"},
    "math.fig_reported": {"en": "attention reported by the model", "zh": "模型给出的注意力"},
    "math.fig_difference": {
        "en": "|recomputed − reported|",
        "zh": "|重新计算 − 模型给出|",
    },
}
