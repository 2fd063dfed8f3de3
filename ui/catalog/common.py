"""Strings shared by every page: app title, navigation, sidebar, model loading."""

STRINGS = {
    "app.title": {"en": "LLM Explorer", "zh": "大模型探索器"},
    "nav.home": {"en": "Home", "zh": "首页"},
    "nav.tokenizer": {"en": "Tokenizer", "zh": "分词器"},
    "nav.attention": {"en": "Attention", "zh": "注意力"},
    "nav.attention_math": {"en": "Attention math", "zh": "注意力公式"},
    "nav.generation": {"en": "Generation", "zh": "文本生成"},
    "nav.perplexity": {"en": "Perplexity & logit lens", "zh": "困惑度与 logit lens"},
    "nav.finetune": {"en": "Fine-tuning studio", "zh": "微调工作室"},
    "nav.compression": {"en": "Compression lab", "zh": "模型压缩实验室"},
    "nav.attribution": {"en": "Why this token?", "zh": "为什么是这个词元？"},
    "nav.patching": {"en": "Activation patching", "zh": "激活修补"},
    "nav.compare": {"en": "Compare models", "zh": "模型对比"},
    "sidebar.language": {"en": "Language", "zh": "语言"},
    "sidebar.model": {"en": "Model", "zh": "模型"},
    "sidebar.model_default": {
        "en": "default: SmolLM2-135M-Instruct (offline)",
        "zh": "默认：SmolLM2-135M-Instruct（离线）",
    },
    "sidebar.model_custom": {
        "en": "Other: hub id or local folder…",
        "zh": "其他：Hub 模型名或本地文件夹…",
    },
    "sidebar.model_output": {"en": "saved: {name}", "zh": "已保存：{name}"},
    "sidebar.custom_spec": {"en": "Hub id or local folder", "zh": "Hub 模型名或本地文件夹"},
    "sidebar.custom_help": {
        "en": "A Hugging Face id such as HuggingFaceTB/SmolLM2-135M-Instruct (needs the hub), "
        "or a folder with config.json and *.safetensors.",
        "zh": "Hugging Face 模型名，例如 HuggingFaceTB/SmolLM2-135M-Instruct（需要能访问 Hub），"
        "或包含 config.json 和 *.safetensors 的文件夹。",
    },
    "sidebar.custom_empty": {
        "en": "Type a hub id or folder above; using the default model meanwhile.",
        "zh": "请在上方输入模型名或文件夹；暂时使用默认模型。",
    },
    "loader.converting": {
        "en": "Preparing the default model (first run only: converting GGUF to safetensors)…",
        "zh": "正在准备默认模型（仅首次运行：把 GGUF 转换为 safetensors）…",
    },
    "loader.converted": {"en": "Default model ready", "zh": "默认模型已就绪"},
    "loader.loading": {"en": "Loading {name}…", "zh": "正在加载 {name}…"},
    "loader.failed": {"en": "Could not load the model: {error}", "zh": "无法加载模型：{error}"},
    "loader.fallback": {
        "en": "Showing the default model instead.",
        "zh": "改为显示默认模型。",
    },
    "serve.waiting": {
        "en": "{n} requests ahead of you, about {s} s",
        "zh": "前面还有 {n} 个请求，大约 {s} 秒",
    },
    "serve.waiting_one": {
        "en": "1 request ahead of you, about {s} s",
        "zh": "前面还有 1 个请求，大约 {s} 秒",
    },
    "serve.waiting_unknown": {
        "en": "{n} request(s) ahead of you…",
        "zh": "前面还有 {n} 个请求……",
    },
    "serve.starting": {"en": "Starting…", "zh": "即将开始……"},
}
