"""Generation: how a token is chosen (``sampling``), the KV-cache loops (``decoding``),
prompts and whole generations (``generate``), surprisal (``perplexity``) and what each
layer would predict (``logit_lens``)."""
