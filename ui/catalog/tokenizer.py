"""Strings of the Tokenizer page."""

STRINGS = {
    "tokenizer.title": {
        "en": "Tokenizer: how text becomes tokens",
        "zh": "分词器：文本如何变成词元",
    },
    "tokenizer.intro": {
        "en": "A model never sees letters: it sees token ids from a fixed vocabulary. "
        "Type any text to see how the selected model's tokenizer cuts it, and compare "
        "tokenizers side by side.",
        "zh": "模型看不到文字本身，只看到固定词表中的词元编号（token id）。"
        "输入任意文本，看看所选模型的分词器如何切分它，并把几个分词器并排比较。",
    },
    "tokenizer.default_text": {
        "en": "我爱吃苹果。The cat sat on the mat. 🙂",
        "zh": "我爱吃苹果。小猫坐在垫子上。The cat sat on the mat. 🙂",
    },
    "tokenizer.text_label": {"en": "Text", "zh": "文本"},
    "tokenizer.limit": {
        "en": "Up to {limit} characters. The text and the view are kept in the page address, "
        "so a copied link shows the same thing (texts over {url_limit} characters are not).",
        "zh": "最多 {limit} 个字符。文本和视图会保存在网址中，复制链接即可分享同样的画面"
        "（超过 {url_limit} 个字符的文本不会保存）。",
    },
    "tokenizer.tokenizer_of": {"en": "Tokenizer of **{name}**", "zh": "**{name}** 的分词器"},
    "tokenizer.level": {"en": "One chip per", "zh": "每个色块对应"},
    "tokenizer.level.token": {"en": "token", "zh": "词元"},
    "tokenizer.level.character": {"en": "character", "zh": "字符"},
    "tokenizer.level.word": {"en": "word", "zh": "词"},
    "tokenizer.metric_tokens": {"en": "Tokens", "zh": "词元数"},
    "tokenizer.metric_characters": {"en": "Characters", "zh": "字符数"},
    "tokenizer.metric_words": {"en": "Words", "zh": "词数"},
    "tokenizer.metric_ratio": {"en": "Tokens per character", "zh": "每字符词元数"},
    "tokenizer.metric_characters_help": {
        "en": "Characters as a reader counts them: an emoji with a skin tone is one.",
        "zh": "按读者的感受计数：带肤色的表情符号算一个字符。",
    },
    "tokenizer.metric_words_help": {
        "en": "Chinese is cut into words by jieba; other text at spaces and punctuation. "
        "Each punctuation mark and emoji counts as a word.",
        "zh": "中文用 jieba 分词；其他文字按空格和标点切分。每个标点和表情符号各算一个词。",
    },
    "tokenizer.legend": {
        "en": "Each chip shows a {unit} with its tokens beneath: the token id, and for a byte "
        "fragment (dashed) its bytes in hex. A red chip is a special token. "
        "␣ is a space, ↵ a newline. Hover over a token for its vocabulary piece.",
        "zh": "每个色块是一个{unit}，下方是它包含的词元：词元编号；若是字节片段（虚线框），"
        "还显示其十六进制字节。红框表示特殊词元。␣ 表示空格，↵ 表示换行。"
        "鼠标悬停在词元上可看到它在词表中的原始形式。",
    },
    "tokenizer.fragments": {
        "en": "{n_fragments} of these {n_tokens} tokens are byte fragments. This tokenizer works "
        "on UTF-8 bytes: “{char}” is {n_bytes} bytes ({hex}) and became {n_parts} tokens. "
        "Decoded alone, a fragment is not valid text and shows as “�”; switch the chips to "
        "*character* or *word* to see the fragments joined back into what you typed.",
        "zh": "这 {n_tokens} 个词元中有 {n_fragments} 个是字节片段。这个分词器按 UTF-8 字节工作："
        "“{char}” 占 {n_bytes} 个字节（{hex}），被切成了 {n_parts} 个词元。"
        "单独解码时，片段不是合法文字，会显示为“�”；把色块切换为“字符”或“词”，"
        "就能看到片段重新拼回你输入的文字。",
    },
    "tokenizer.hidden": {
        "en": "Showing the first {shown} of {total} chips to keep the page fast; "
        "the table below lists every token.",
        "zh": "为保持页面流畅，只显示前 {shown} 个色块（共 {total} 个）；下方表格列出了全部词元。",
    },
    "tokenizer.hidden_short": {
        "en": "First {shown} of {total} chips shown.",
        "zh": "仅显示前 {shown} 个色块（共 {total} 个）。",
    },
    "tokenizer.special_tip": {"en": "special token", "zh": "特殊词元"},
    "tokenizer.fragment_tip": {"en": "byte fragment", "zh": "字节片段"},
    "tokenizer.table_heading": {"en": "Every token", "zh": "全部词元"},
    "tokenizer.col_index": {"en": "#", "zh": "序号"},
    "tokenizer.col_id": {"en": "id", "zh": "编号"},
    "tokenizer.col_piece": {"en": "piece (vocabulary)", "zh": "词表中的形式"},
    "tokenizer.col_text": {"en": "text (decoded alone)", "zh": "单独解码的文本"},
    "tokenizer.col_bytes": {"en": "bytes (hex)", "zh": "字节（十六进制）"},
    "tokenizer.col_characters": {"en": "characters it touches", "zh": "涉及的字符"},
    "tokenizer.col_special": {"en": "special", "zh": "特殊词元"},
    "tokenizer.compare_heading": {"en": "Compare tokenizers", "zh": "比较分词器"},
    "tokenizer.compare_intro": {
        "en": "The same text through several tokenizers: fewer tokens means a shorter, cheaper "
        "input for that model. Saved outputs (fine-tuned or compressed models) are listed "
        "here; any hub id or folder can be added below.",
        "zh": "同一段文本交给不同分词器：词元越少，对该模型来说输入越短、计算越省。"
        "已保存的输出（微调或压缩后的模型）会列在这里；也可以在下方添加任意 Hub 模型名或文件夹。",
    },
    "tokenizer.compare_pick": {"en": "Tokenizers", "zh": "分词器"},
    "tokenizer.compare_default": {
        "en": "default (SmolLM2-135M-Instruct)",
        "zh": "默认（SmolLM2-135M-Instruct）",
    },
    "tokenizer.compare_output": {"en": "saved: {name}", "zh": "已保存：{name}"},
    "tokenizer.compare_custom": {
        "en": "Add a hub id or local folder (optional)",
        "zh": "添加 Hub 模型名或本地文件夹（可选）",
    },
    "tokenizer.compare_custom_help": {
        "en": "Only the tokenizer is loaded (no weights), e.g. Qwen/Qwen2.5-0.5B; a hub id needs "
        "the model hub.",
        "zh": "只加载分词器（不加载权重），例如 Qwen/Qwen2.5-0.5B；Hub 模型名需要能访问 Hub。",
    },
    "tokenizer.compare_empty": {
        "en": "Pick at least one tokenizer above.",
        "zh": "请在上方至少选择一个分词器。",
    },
    "tokenizer.compare_counts": {
        "en": "**{tokens}** tokens · **{ratio}** tokens per character",
        "zh": "**{tokens}** 个词元 · 每字符 **{ratio}** 个词元",
    },
    "tokenizer.compare_failed": {
        "en": "Could not load this tokenizer: {error}",
        "zh": "无法加载这个分词器：{error}",
    },
}
