"""Fine-tuning: settings and model set-up (``settings``), the Hugging Face Trainer glue
(``trainer``), and a whole run measured before and after (``finetune``)."""
