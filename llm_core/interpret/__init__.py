"""Beyond attention: which prompt tokens made the model say a token (``attribution``),
where a fact lives inside the model (``patching``), and two models on one text
(``comparison``). ``prompts`` turns texts and target tokens into checked ids for all
three; ``attention_agreement`` sets an attribution beside the attention of the last
position."""
