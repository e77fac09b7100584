#!/usr/bin/env python3
"""Check this model folder with Hugging Face transformers (not needed to use the model).

Loads the folder with AutoTokenizer / AutoModelForCausalLM, and for every fact of a facts.jsonl
compares, with alphaedit's own runtime (`alphaedit train recall --per-fact`):
  - the token ids of the prompt and of " " + target,
  - the greedy (arg-max) token at every target position (teacher forcing),
  - log P(target | prompt).
Prints the largest differences and the recall that transformers measures.

usage: verify_transformers.py MODEL_DIR FACTS_JSONL [ALPHAEDIT_BINARY] [--all]
"""
import json
import subprocess
import sys
import tempfile

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    torch.set_num_threads(1)  # small model: threads only spin-wait on a busy machine
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    folder, facts_path = args[0], args[1]
    binary = args[2] if len(args) > 2 else "alphaedit"
    primary_only = "--all" not in sys.argv

    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        command = [binary, "train", "recall", "--model", folder, "--facts", facts_path, "--per-fact", out.name]
        if primary_only:
            command.append("--primary-only")
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        ours = [json.loads(line) for line in open(out.name)]

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    assert tokenizer.eos_token_id == 0 and tokenizer.bos_token_id == 0 and tokenizer.pad_token_id == 0

    id_mismatches = argmax_mismatches = 0
    max_logprob_diff = 0.0
    by_source = {}
    for fact in ours:
        prompt = tokenizer(fact["prompt"])["input_ids"]
        target = tokenizer(" " + fact["target"])["input_ids"]
        if target != fact["target_ids"]:
            id_mismatches += 1
            continue
        ids = torch.tensor([prompt + target])
        with torch.no_grad():
            logits = model(ids).logits[0].double()
        rows = logits[len(prompt) - 1 : len(prompt) - 1 + len(target)]
        predicted = rows.argmax(dim=-1).tolist()
        logprob = torch.log_softmax(rows, dim=-1)[range(len(target)), target].sum().item()
        if predicted != fact["predicted_ids"]:
            argmax_mismatches += 1
        max_logprob_diff = max(max_logprob_diff, abs(logprob - fact["target_logprob"]))
        s = by_source.setdefault(fact["source"], [0, 0, 0])
        s[0] += 1
        s[1] += predicted == target
        s[2] += predicted[0] == target[0]

    print(f"facts: {len(ours)}; token-id mismatches: {id_mismatches}; arg-max mismatches: {argmax_mismatches}; "
          f"max |log P(target) difference|: {max_logprob_diff:.2e}")
    for source, (n, exact, first) in by_source.items():
        print(f"  transformers {source}: exact {100 * exact / n:.1f}%  first-token {100 * first / n:.1f}%  ({n} facts)")
    ok = id_mismatches == 0 and argmax_mismatches == 0 and max_logprob_diff < 1e-3
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
