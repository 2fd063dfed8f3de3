"""Strings of the Attention page."""

STRINGS = {
    "attention.title": {
        "en": "Attention: what every head looks at",
        "zh": "注意力：每个注意力头在看什么",
    },
    "attention.how_to_read": {
        "en": "Each **row** is a token that is looking (the query); each **column** is what it "
        "looks at (the key). A row's weights sum to 1. The upper triangle is empty because a "
        "causal model cannot look ahead. The first column often lights up: many heads park "
        "their attention on the first token (an *attention sink*) when nothing else is useful.",
        "zh": "每一**行**是正在“看”的词元（查询 query），每一**列**是它看向的词元（键 key）。"
        "每行的权重之和为 1。右上三角是空的，因为因果模型不能看到后面的词元。"
        "第一列常常很亮：当没有更有用的信息时，许多注意力头会把注意力放在第一个词元上"
        "（称为*注意力汇聚点*，attention sink）。",
    },
    "attention.default_text": {"en": "我爱吃苹果", "zh": "我爱吃苹果"},
    "attention.text": {"en": "Text", "zh": "文本"},
    "attention.empty_text": {
        "en": "The text is empty: type a sentence above to see its attention.",
        "zh": "文本为空：请在上方输入一句话来查看注意力。",
    },
    "attention.level": {"en": "Show attention between", "zh": "显示注意力的单位"},
    "attention.level.token": {"en": "tokens", "zh": "词元"},
    "attention.level.character": {"en": "characters", "zh": "字符"},
    "attention.level.word": {"en": "words", "zh": "词"},
    "attention.level_help": {
        "en": "Characters and words add up the attention to their tokens (columns) and average "
        "it over their tokens (rows), so rows still sum to 1.",
        "zh": "字符和词级别会把“看向”其各个词元的注意力相加（列），并对其各个词元“发出”的注意力取平均（行），"
        "因此每行之和仍为 1。",
    },
    "attention.reduction": {"en": "View", "zh": "视图"},
    "attention.reduction.head": {"en": "one head", "zh": "单个注意力头"},
    "attention.reduction.mean_heads": {"en": "mean over heads", "zh": "各头平均"},
    "attention.reduction.mean_layers": {"en": "mean over layers", "zh": "各层平均"},
    "attention.reduction.rollout": {"en": "rollout (all layers)", "zh": "注意力累积（rollout）"},
    "attention.reduction_help": {
        "en": "Rollout multiplies the layers' head means (each mixed half-and-half with the "
        "identity for the residual stream) to trace how much of the last layer's token comes "
        "from each input token.",
        "zh": "Rollout 把各层的平均注意力（每层与单位矩阵各占一半，代表残差连接）依次相乘，"
        "追踪最后一层的每个位置有多少信息来自各个输入词元。",
    },
    "attention.layer": {"en": "Layer", "zh": "层"},
    "attention.head": {"en": "Head", "zh": "注意力头"},
    "attention.counts": {
        "en": "{n_tokens} tokens · {n_characters} characters · {n_words} words · model {name}",
        "zh": "{n_tokens} 个词元 · {n_characters} 个字符 · {n_words} 个词 · 模型 {name}",
    },
    "attention.limits": {
        "en": "The model runs once per text; every layer, head and view is then read from that "
        "one pass. At most {max_tokens} tokens, and no more than the model's context length "
        "({context}).",
        "zh": "每段文本只运行一次模型；之后的每一层、每个头和每种视图都从这一次计算中读取。"
        "最多 {max_tokens} 个词元，且不超过模型的上下文长度（{context}）。",
    },
    "attention.running": {
        "en": "Running the model once over {n_tokens} tokens…",
        "zh": "正在对 {n_tokens} 个词元运行一次模型……",
    },
    "attention.finishing": {
        "en": "Running the rest of the model's {n_layers} layers, so every other view opens at once…",
        "zh": "正在计算模型其余各层（共 {n_layers} 层），之后切换任何视图都无需再等……",
    },
    "attention.summary_progress": {
        "en": "Reading every layer: {done} of {n_layers}…",
        "zh": "正在读取每一层：第 {done} 层，共 {n_layers} 层……",
    },
    "attention.overview_heading": {"en": "Every layer × head", "zh": "所有层 × 头"},
    "attention.summary_button": {
        "en": "Compute every layer's statistics",
        "zh": "计算所有层的统计",
    },
    "attention.summary_on_request": {
        "en": "This text has {n_tokens} tokens (over {limit}): reading all {n_layers} layers "
        "for the overview and the ranking takes a few seconds, so it waits for this button. "
        "The view above reads one layer and is ready now.",
        "zh": "这段文本有 {n_tokens} 个词元（超过 {limit}）：为总览和排行读取全部 {n_layers} 层"
        "需要几秒钟，所以点击此按钮后才计算。上方的视图只读取一层，已经可以查看。",
    },
    "attention.pooled": {
        "en": "{n_units} rows are too many cells to draw, so each cell pools {block} neighbouring "
        "ones (attention to a block is summed, from a block averaged: rows still sum to 1). "
        "The CSV and JSON downloads hold every value.",
        "zh": "{n_units} 行的格子太多，无法逐个绘制，因此每格合并了相邻的 {block} 个单位"
        "（看向一块的注意力相加，从一块发出的取平均：每行之和仍为 1）。CSV 和 JSON 下载包含全部数值。",
    },
    "attention.view_title.head": {
        "en": "Layer {layer} · head {head}",
        "zh": "第 {layer} 层 · 第 {head} 个头",
    },
    "attention.view_title.mean_heads": {
        "en": "Layer {layer} · mean of {n_heads} heads",
        "zh": "第 {layer} 层 · {n_heads} 个头的平均",
    },
    "attention.view_title.mean_layers": {
        "en": "Mean of all {n_layers} layers and their heads",
        "zh": "全部 {n_layers} 层（及其所有头）的平均",
    },
    "attention.view_title.rollout": {
        "en": "Rollout through {n_layers} layers",
        "zh": "贯穿 {n_layers} 层的注意力累积（rollout）",
    },
    "attention.axis_query": {"en": "looking (query)", "zh": "正在看（查询）"},
    "attention.axis_key": {"en": "looked at (key)", "zh": "被看（键）"},
    "attention.weight": {"en": "weight", "zh": "权重"},
    "attention.role.previous": {
        "en": "Layer {layer} head {head} mostly attends to the previous token ({share}).",
        "zh": "第 {layer} 层第 {head} 个头主要关注前一个词元（{share}）。",
    },
    "attention.role.first": {
        "en": "Layer {layer} head {head} mostly attends to the first token, an attention sink "
        "({share}).",
        "zh": "第 {layer} 层第 {head} 个头主要关注第一个词元，即注意力汇聚点（{share}）。",
    },
    "attention.role.self": {
        "en": "Layer {layer} head {head} mostly attends to the token itself ({share}).",
        "zh": "第 {layer} 层第 {head} 个头主要关注词元自身（{share}）。",
    },
    "attention.role.broad": {
        "en": "Layer {layer} head {head} spreads its attention broadly (entropy {entropy} of at "
        "most {max_entropy} nats).",
        "zh": "第 {layer} 层第 {head} 个头把注意力分散在许多词元上（熵 {entropy}，最大 {max_entropy} 奈特）。",
    },
    "attention.role.mixed": {
        "en": "Layer {layer} head {head} mixes patterns: previous token {previous}, first token "
        "{first}, itself {itself} (entropy {entropy} nats).",
        "zh": "第 {layer} 层第 {head} 个头混合多种模式：前一个词元 {previous}，第一个词元 {first}，"
        "自身 {itself}（熵 {entropy} 奈特）。",
    },
    "attention.role_basis": {
        "en": "Averaged over the text's tokens after the first.",
        "zh": "按本文本第一个词元之后的所有词元平均计算。",
    },
    "attention.flow_heading": {"en": "Text flow", "zh": "文本连线图"},
    "attention.flow_caption": {
        "en": "Each line joins a unit on the left to one it looks at on the right; darker and "
        "thicker means more attention. Lines under {min_weight} are not drawn.",
        "zh": "每条线把左侧的单位连到它所看的右侧单位；线越深越粗，注意力越大。小于 {min_weight} 的线不绘制。",
    },
    "attention.flow_focus": {"en": "Lines from", "zh": "只看来自"},
    "attention.flow_all": {"en": "every row", "zh": "所有行"},
    "attention.flow_too_long": {
        "en": "The text flow is drawn for up to {max_units} units; this view has {n_units}. "
        "Switch to words or shorten the text.",
        "zh": "文本连线图最多绘制 {max_units} 个单位，当前有 {n_units} 个。请切换到“词”级别或缩短文本。",
    },
    "attention.download_csv": {"en": "Download CSV", "zh": "下载 CSV"},
    "attention.download_json": {"en": "Download JSON", "zh": "下载 JSON"},
    "attention.download_html": {"en": "Download HTML", "zh": "下载 HTML"},
    "attention.export_hint": {
        "en": "CSV and JSON hold the matrix shown; the HTML file is the interactive chart and "
        "opens offline. For a PNG, use the camera icon in the chart's toolbar. The page address "
        "keeps the text, model, layer, head, level and view: copy it to share this view.",
        "zh": "CSV 和 JSON 包含当前显示的矩阵；HTML 文件是可交互的图表，离线也能打开。"
        "需要 PNG 图片时，点击图表工具栏中的相机图标。网址中保存了文本、模型、层、头、单位和视图："
        "复制网址即可分享此画面。",
    },
    "attention.url_text_dropped": {
        "en": "This text is longer than {limit} characters, so the page address does not keep it.",
        "zh": "文本超过 {limit} 个字符，网址中不会保存它。",
    },
    "attention.tab_grid": {"en": "All heads of layer {layer}", "zh": "第 {layer} 层的所有头"},
    "attention.tab_numbers": {"en": "Numbers", "zh": "数值"},
    "attention.grid_head": {"en": "head {head}", "zh": "头 {head}"},
    "attention.grid_caption": {
        "en": "Heads of one layer differ: side by side on one colour scale.",
        "zh": "同一层的各个头各不相同：在同一色标下并排比较。",
    },
    "attention.stat": {"en": "Colour by", "zh": "着色依据"},
    "attention.stat.previous_token": {
        "en": "share on the previous token",
        "zh": "看前一个词元的比例",
    },
    "attention.stat.first_token": {
        "en": "share on the first token (sink)",
        "zh": "看第一个词元的比例（汇聚点）",
    },
    "attention.stat.current_token": {"en": "share on itself", "zh": "看自身的比例"},
    "attention.stat.entropy": {"en": "entropy (spread, nats)", "zh": "熵（分散程度，奈特）"},
    "attention.overview_caption": {
        "en": "One cell per head, computed over this text's tokens. Click a cell to open that "
        "head above (or pick a row in the ranking).",
        "zh": "每格是一个注意力头，按本文本的词元计算。点击某格即可在上方打开该头（或在排行中选择一行）。",
    },
    "attention.layer_axis": {"en": "layer", "zh": "层"},
    "attention.head_axis": {"en": "head", "zh": "头"},
    "attention.ranked_heading": {"en": "Top heads by {stat}", "zh": "按“{stat}”排名的前几个头"},
    "attention.col_layer": {"en": "layer", "zh": "层"},
    "attention.col_head": {"en": "head", "zh": "头"},
    "attention.col_value": {"en": "value", "zh": "数值"},
    "attention.col_role": {"en": "what it does", "zh": "作用"},
    "attention.numbers_too_big": {
        "en": "{n_units} rows are too many for a table; download the CSV instead.",
        "zh": "{n_units} 行太多，无法用表格显示；请下载 CSV。",
    },
}
