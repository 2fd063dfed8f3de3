"""Strings of the Fine-tuning studio page."""

STRINGS = {
    "finetune.title": {"en": "Fine-tuning studio", "zh": "微调工作室"},
    "finetune.intro": {
        "en": "A language model is trained to predict each next token: it lowers the loss "
        "$L = -\\sum_i \\log p(x_i \\mid x_{<i})$ over its training text. *Pre-training* does this on a huge "
        "corpus, from random weights; *fine-tuning* continues from a trained model on a small "
        "corpus of your own, so it borrows everything it already knows (transfer learning). "
        "Pick a corpus, press Train, and watch the validation loss fall; then see what "
        "changed: perplexity on held-out text, samples, and attention.",
        "zh": "语言模型的训练目标是预测下一个词元：在训练文本上降低损失 "
        "$L = -\\sum_i \\log p(x_i \\mid x_{<i})$。*预训练*从随机权重出发，在海量语料上做这件事；"
        "*微调*则从已训练好的模型出发，在你自己的小语料上继续训练，借用它已经学到的一切"
        "（迁移学习）。选一份语料，按下“训练”，看验证损失下降；再看看变化了什么："
        "留出文本上的困惑度、生成样例和注意力。",
    },
    "finetune.base_model": {
        "en": "Base model: **{name}** (the model picked in the sidebar). Training works on a "
        "copy; the shared model is never changed.",
        "zh": "基础模型：**{name}**（侧边栏中选择的模型）。训练在副本上进行，共享的模型不会被修改。",
    },
    # corpus
    "finetune.corpus_heading": {"en": "1. Corpus", "zh": "1. 语料"},
    "finetune.corpus_source": {"en": "Corpus", "zh": "语料来源"},
    "finetune.source.sample": {"en": "Bundled sample", "zh": "内置示例"},
    "finetune.source.upload": {"en": "Upload a file", "zh": "上传文件"},
    "finetune.sample_pick": {"en": "Sample corpus", "zh": "示例语料"},
    "finetune.sample.tang300": {
        "en": "Tang poems (唐诗三百首, 313 poems)",
        "zh": "唐诗三百首（313 首）",
    },
    "finetune.sample.shakespeare_romeo_juliet": {
        "en": "Shakespeare, Romeo and Juliet (836 speeches)",
        "zh": "莎士比亚《罗密欧与朱丽叶》（836 段台词）",
    },
    "finetune.upload": {"en": "Corpus file", "zh": "语料文件"},
    "finetune.upload_help": {
        "en": "UTF-8 text. .txt and .md: documents separated by a blank line. .jsonl: one "
        "JSON object per line. .csv: a header row, one document per row. At most {limit} MB.",
        "zh": "UTF-8 文本。.txt 和 .md：文档之间用空行分隔。.jsonl：每行一个 JSON 对象。"
        ".csv：首行为列名，每行一个文档。最大 {limit} MB。",
    },
    "finetune.upload_prompt": {
        "en": "Upload a corpus file to train on it, or pick a bundled sample.",
        "zh": "上传语料文件来训练，或选择一份内置示例。",
    },
    "finetune.text_field": {"en": "Field or column holding the text", "zh": "文本所在的字段或列"},
    "finetune.metric_documents": {"en": "Documents", "zh": "文档数"},
    "finetune.metric_characters": {"en": "Characters", "zh": "字符数"},
    "finetune.metric_tokens": {"en": "Tokens", "zh": "词元数"},
    "finetune.metric_duplicates": {"en": "Duplicates dropped", "zh": "去除的重复文档"},
    "finetune.preview": {"en": "Preview: the first documents", "zh": "预览：前几篇文档"},
    "finetune.source_line": {"en": "Source: {source}", "zh": "来源：{source}"},
    "finetune.source_sample": {
        "en": "Source: the bundled sample {name} (provenance in assets/corpora/README.md)",
        "zh": "来源：内置样例 {name}（出处见 assets/corpora/README.md）",
    },
    # settings
    "finetune.settings_heading": {"en": "2. Method and settings", "zh": "2. 方法与设置"},
    "finetune.method": {"en": "Method", "zh": "方法"},
    "finetune.method.lora": {"en": "LoRA (small adapters)", "zh": "LoRA（小型适配器）"},
    "finetune.method.full": {"en": "Full fine-tuning", "zh": "全参数微调"},
    "finetune.method.scratch": {"en": "From scratch (tiny model)", "zh": "从零训练（小模型）"},
    "finetune.method_help.lora": {
        "en": "LoRA freezes every weight and learns a small low-rank update W + (α/r)·B·A for "
        "the chosen projections: about 1% of the parameters, faster and lighter.",
        "zh": "LoRA 冻结全部权重，只为所选投影层学习一个低秩增量 W + (α/r)·B·A："
        "约 1% 的参数，更快、更省内存。",
    },
    "finetune.method_help.full": {
        "en": "Every weight of the copy trains. Slower, needs about four times the model's "
        "memory (weights, gradients and the optimizer's two moments).",
        "zh": "副本的所有权重都参与训练。更慢，约需模型四倍的内存（权重、梯度和优化器的两个动量）。",
    },
    "finetune.method_help.scratch": {
        "en": "A small model of the same family and tokenizer starts from random weights: "
        "this is what pre-training is. Before training its perplexity is about the "
        "vocabulary size; it learns the corpus's characters and shape first.",
        "zh": "用同一架构和分词器新建一个小模型，从随机权重开始：这就是预训练。训练前它的困惑度"
        "大约等于词表大小；它会先学会语料中的字符和格式。",
    },
    "finetune.steps": {"en": "Steps", "zh": "训练步数"},
    "finetune.block_length": {"en": "Block length (tokens)", "zh": "块长度（词元）"},
    "finetune.batch_size": {"en": "Batch size (blocks per step)", "zh": "批大小（每步的块数）"},
    "finetune.learning_rate": {"en": "Learning rate", "zh": "学习率"},
    "finetune.validation_fraction": {
        "en": "Held out for validation",
        "zh": "留作验证的比例",
    },
    "finetune.plan": {
        "en": "{steps} steps × {batch} blocks × {block} tokens = {tokens} training tokens "
        "(about {epochs} passes over the {train_tokens} training tokens). {n_validation} "
        "documents are held out and never trained on.",
        "zh": "{steps} 步 × {batch} 块 × {block} 词元 = {tokens} 个训练词元"
        "（约为 {train_tokens} 个训练词元的 {epochs} 遍）。{n_validation} 篇文档被留出，"
        "从不参与训练。",
    },
    "finetune.lora_settings": {"en": "LoRA settings", "zh": "LoRA 设置"},
    "finetune.lora_rank": {"en": "Rank r", "zh": "秩 r"},
    "finetune.lora_alpha": {"en": "Alpha α", "zh": "缩放 α"},
    "finetune.target_modules": {"en": "Target modules", "zh": "目标模块"},
    "finetune.scratch_settings": {"en": "Size of the new model", "zh": "新模型的规模"},
    "finetune.scratch_layers": {"en": "Layers", "zh": "层数"},
    "finetune.scratch_d_model": {"en": "Width (d_model)", "zh": "宽度（d_model）"},
    "finetune.scratch_heads": {"en": "Heads", "zh": "头数"},
    "finetune.more_settings": {"en": "Samples, attention and seed", "zh": "样例、注意力与随机种子"},
    "finetune.sample_prompt": {"en": "Sample prompt", "zh": "样例提示词"},
    "finetune.attention_text": {
        "en": "Text for the attention comparison",
        "zh": "用于比较注意力的文本",
    },
    "finetune.auto_text_help": {
        "en": "Leave empty to take it from the first held-out document.",
        "zh": "留空则取自第一篇留出文档。",
    },
    "finetune.seed": {"en": "Seed", "zh": "随机种子"},
    "finetune.output_name": {"en": "Save as", "zh": "保存名称"},
    "finetune.output_help": {
        "en": "Letters, digits, '-', '_', '.'. Leave empty for an automatic name.",
        "zh": "字母、数字、“-”、“_”、“.”。留空则自动命名。",
    },
    # running
    "finetune.run_heading": {"en": "3. Train", "zh": "3. 训练"},
    "finetune.start": {"en": "Train", "zh": "开始训练"},
    # results
    "finetune.results_heading": {"en": "4. Before and after", "zh": "4. 训练前后对比"},
    "finetune.ppl_before": {"en": "Validation perplexity before", "zh": "训练前验证困惑度"},
    "finetune.ppl_after": {"en": "Validation perplexity after", "zh": "训练后验证困惑度"},
    "finetune.ppl_help": {
        "en": "exp(mean loss) on {tokens} held-out tokens: how many tokens the model is, on "
        "average, as unsure as if choosing among. Lower is better.",
        "zh": "在 {tokens} 个留出词元上的 exp(平均损失)：模型平均而言相当于在多少个词元之间犹豫不决。越低越好。",
    },
    "finetune.metric_speed": {"en": "Training speed", "zh": "训练速度"},
    "finetune.metric_speed_value": {"en": "{value} tokens/s", "zh": "{value} 词元/秒"},
    "finetune.metric_time": {"en": "Wall time", "zh": "总耗时"},
    "finetune.metric_trainable": {"en": "Parameters trained", "zh": "训练的参数"},
    "finetune.samples_heading": {
        "en": "Samples for the same prompt and seed",
        "zh": "同一提示词与随机种子的生成样例",
    },
    "finetune.sample_prompt_shown": {"en": "Prompt: {prompt}", "zh": "提示词：{prompt}"},
    "finetune.before": {"en": "Before", "zh": "训练前"},
    "finetune.after": {"en": "After", "zh": "训练后"},
    "finetune.attention_heading": {"en": "Attention on the same text", "zh": "同一文本上的注意力"},
    "finetune.attention_layer": {"en": "Layer", "zh": "层"},
    "finetune.attention_head": {"en": "Head", "zh": "头"},
    "finetune.attention_level": {"en": "Show per", "zh": "显示单位"},
    "finetune.level.token": {"en": "token", "zh": "词元"},
    "finetune.level.character": {"en": "character", "zh": "字符"},
    "finetune.difference": {"en": "After − before", "zh": "训练后 − 训练前"},
    "finetune.difference_caption": {
        "en": "Red: this head looks more at that key after training; blue: less. Each row of "
        "the difference sums to 0, because each row of attention sums to 1. Largest change "
        "here: {change:.2f}. The head that changed most: layer {layer}, head {head}.",
        "zh": "红色：训练后该头更关注这个键；蓝色：更少。差值的每一行之和为 0，因为注意力的每一行之和为 1。"
        "这里最大的变化：{change:.2f}。变化最大的头：第 {layer} 层第 {head} 个头。",
    },
    "finetune.query": {"en": "query (looking)", "zh": "查询（发出关注）"},
    "finetune.key": {"en": "key (looked at)", "zh": "键（被关注）"},
    "finetune.weight": {"en": "weight", "zh": "权重"},
    # outputs
    "finetune.outputs_heading": {"en": "Saved models", "zh": "已保存的模型"},
    "finetune.outputs_empty": {
        "en": "No saved models yet: a finished training run appears here and in the model picker.",
        "zh": "还没有保存的模型：训练完成后会出现在这里和模型选择器中。",
    },
    "finetune.col_name": {"en": "Name", "zh": "名称"},
    "finetune.col_method": {"en": "Method", "zh": "方法"},
    "finetune.col_base": {"en": "Base model", "zh": "基础模型"},
    "finetune.col_corpus": {"en": "Corpus", "zh": "语料"},
    "finetune.col_steps": {"en": "Steps", "zh": "步数"},
    "finetune.col_ppl": {"en": "Perplexity before → after", "zh": "困惑度 前 → 后"},
    "finetune.col_size": {"en": "Size (MB)", "zh": "大小（MB）"},
    "finetune.col_saved": {"en": "Saved (UTC)", "zh": "保存时间（UTC）"},
    "finetune.output_pick": {"en": "Saved model", "zh": "已保存的模型"},
    "finetune.download_model": {"en": "Download model (.zip)", "zh": "下载模型（.zip）"},
    "finetune.download_adapter": {
        "en": "Download LoRA adapter (.zip)",
        "zh": "下载 LoRA 适配器（.zip）",
    },
    "finetune.delete": {"en": "Delete", "zh": "删除"},
    "finetune.delete_confirm": {"en": "Yes, delete {name}", "zh": "确定删除 {name}"},
    "finetune.deleted": {"en": "Deleted {name}.", "zh": "已删除 {name}。"},
}
