"""Scores targets after prompts with Hugging Face transformers, for alphaedit's interop test.

usage: transformers_scores.py MODEL_DIR REQUESTS_JSON
Prints one JSON list: per request {"probability": p(target_new | prompt), "missing": [...], "unexpected": [...]}.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

model_dir, requests_path = sys.argv[1], sys.argv[2]
model, info = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, output_loading_info=True)
model.eval()
tok = AutoTokenizer.from_pretrained(model_dir)
requests = json.load(open(requests_path))
out = []
with torch.no_grad():
    for r in requests:
        rewrite = r.get("requested_rewrite", r)
        prompt = rewrite["prompt"].replace("{}", rewrite["subject"])
        target = rewrite["target_new"]["str"] if isinstance(rewrite["target_new"], dict) else rewrite["target_new"]
        target = target if target.startswith(" ") else " " + target
        prompt_ids = tok(prompt)["input_ids"]
        target_ids = tok(target)["input_ids"]
        if target_ids and target_ids[0] == tok.bos_token_id:
            target_ids = target_ids[1:]
        ids = torch.tensor([prompt_ids + target_ids])
        logp = torch.log_softmax(model(ids).logits[0], dim=-1)
        total = sum(float(logp[len(prompt_ids) + i - 1, t]) for i, t in enumerate(target_ids))
        out.append({"probability": float(torch.exp(torch.tensor(total))),
                    "missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"])})
print(json.dumps(out))
