#!/usr/bin/env python3
"""An independent causal trace of a GPT-2 checkpoint, in NumPy (no torch needed).

Reads model.safetensors and config.json directly, runs GPT-2 in float32, corrupts the subject's
embeddings with the same noise as `alphaedit trace` (SplitMix64 + Box-Muller, drawn sample by
sample, token by token, element by element), and restores block, MLP and attention outputs as
ROME's `trace_with_patch` does. Prints JSON: clean, corrupted, and [token][layer] tables.

  python3 scripts/trace-reference.py MODEL_DIR --ids 464,3290,... --subject 4:6 --target 4881 \
      --noise 0.1 --samples 3 --seed 1 --window 10

Used by Tests/EvaluationTests/CausalTraceTests.swift (skipped when NumPy is missing).
"""
import argparse
import json
import math
import struct
import sys

import numpy as np

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK
        self.spare = None

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return float(self.next() >> 11) * 2.0 ** -53

    def gaussian(self):
        if self.spare is not None:
            value, self.spare = self.spare, None
            return value
        u1 = max(self.uniform(), 1e-300)
        u2 = self.uniform()
        radius = math.sqrt(-2 * math.log(u1))
        self.spare = np.float32(radius * math.sin(2 * math.pi * u2))
        return np.float32(radius * math.cos(2 * math.pi * u2))


def load_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: only float32 checkpoints are supported"
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype=np.float32).reshape(info["shape"])
    return tensors


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def gelu(x):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(x.dtype)


# config.json's activation_function (GPT-2 checkpoints `alphaedit train` writes).
ACTIVATIONS = {"gelu_new": gelu_new, "gelu_pytorch_tanh": gelu_new, "gelu": gelu, "relu": lambda x: np.maximum(x, 0)}


class GPT2:
    def __init__(self, directory):
        self.config = json.load(open(f"{directory}/config.json"))
        assert self.config["model_type"] == "gpt2", "the reference runs GPT-2 checkpoints only"
        t = load_safetensors(f"{directory}/model.safetensors")
        self.t = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in t.items()}
        self.layers = self.config["n_layer"]
        self.heads = self.config["n_head"]
        self.eps = self.config.get("layer_norm_epsilon", 1e-5)
        name = self.config.get("activation_function", "gelu_new")
        assert name in ACTIVATIONS, f"activation_function {name!r} is not one of {sorted(ACTIVATIONS)}"
        self.activation = ACTIVATIONS[name]

    def embed(self, ids):
        return self.t["wte.weight"][ids] + self.t["wpe.weight"][np.arange(len(ids))]

    def attention(self, l, h):
        """The attention output of block l on h [B, T, d] (before the residual add)."""
        p = f"h.{l}."
        B, T, d = h.shape
        hd = d // self.heads
        x = layer_norm(h, self.t[p + "ln_1.weight"], self.t[p + "ln_1.bias"], self.eps)
        qkv = x @ self.t[p + "attn.c_attn.weight"] + self.t[p + "attn.c_attn.bias"]
        q, k, v = np.split(qkv, 3, axis=-1)
        q = q.reshape(B, T, self.heads, hd).transpose(0, 2, 1, 3)
        k = k.reshape(B, T, self.heads, hd).transpose(0, 2, 1, 3)
        v = v.reshape(B, T, self.heads, hd).transpose(0, 2, 1, 3)
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(hd))
        scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, np.float32(-1e30))
        scores = scores - scores.max(-1, keepdims=True)
        weights = np.exp(scores)
        weights = weights / weights.sum(-1, keepdims=True)
        heads = (weights @ v).transpose(0, 2, 1, 3).reshape(B, T, d)
        return heads @ self.t[p + "attn.c_proj.weight"] + self.t[p + "attn.c_proj.bias"]

    def mlp_key(self, l, h):
        """The MLP's hidden activation of block l (the down projection's input, an edit's key) [B, T, f]."""
        p = f"h.{l}."
        x = layer_norm(h, self.t[p + "ln_2.weight"], self.t[p + "ln_2.bias"], self.eps)
        return self.activation(x @ self.t[p + "mlp.c_fc.weight"] + self.t[p + "mlp.c_fc.bias"])

    def block(self, l, h, patch, keys=None):
        """h: [B, T, d]; patch(kind, l, out) may overwrite rows of 'attn' and 'mlp' outputs; keys(l, key)
        sees the MLP's hidden activation."""
        p = f"h.{l}."
        attn = patch("attention", l, self.attention(l, h))
        h = h + attn
        key = self.mlp_key(l, h)
        if keys is not None:
            keys(l, key)
        mlp = key @ self.t[p + "mlp.c_proj.weight"] + self.t[p + "mlp.c_proj.bias"]
        mlp = patch("mlp", l, mlp)
        h = h + mlp
        return patch("hidden", l, h)

    def run(self, h, patch=lambda kind, l, out: out):
        """h: [B, T, d] embeddings; returns softmax over the vocabulary at the last position [B, V]."""
        for l in range(self.layers):
            h = self.block(l, h, patch)
        h = layer_norm(h, self.t["ln_f.weight"], self.t["ln_f.bias"], self.eps)
        logits = (h[:, -1, :] @ self.t["wte.weight"].T).astype(np.float64)
        logits -= logits.max(-1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(-1, keepdims=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--ids", required=True, help="prompt token ids, comma-separated")
    parser.add_argument("--subject", required=True, help="subject token range START:END")
    parser.add_argument("--target", type=int, required=True, help="token whose probability is traced")
    parser.add_argument("--noise", type=float, required=True, help="absolute noise standard deviation")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--window", type=int, default=10)
    args = parser.parse_args()

    model = GPT2(args.model)
    ids = np.array([int(x) for x in args.ids.split(",")])
    b, e = (int(x) for x in args.subject.split(":"))
    T, S, L = len(ids), args.samples, model.layers
    clean_embeddings = model.embed(ids)[None]
    d = clean_embeddings.shape[-1]

    record = {}

    def recorder(kind, l, out):
        record[(kind, l)] = out[0].copy()
        return out

    clean_p = model.run(clean_embeddings, recorder)[0, args.target]

    noisy = np.repeat(clean_embeddings, S, axis=0).copy()
    rng = SplitMix64(args.seed)
    nu = np.float32(args.noise)
    for s in range(S):
        for t in range(b, e):
            for c in range(d):
                noisy[s, t, c] += nu * rng.gaussian()
    corrupted_p = model.run(noisy)[:, args.target].mean()

    def restored(kind, layers, token):
        def patch(k, l, out):
            if k == kind and l in layers:
                out = out.copy()
                out[:, token, :] = record[(kind, l)][token]
            return out
        return model.run(noisy, patch)[:, args.target].mean()

    tables = {}
    for kind in ("hidden", "mlp", "attention"):
        table = []
        for t in range(T):
            row = []
            for l in range(L):
                if kind == "hidden":
                    layers = {l}
                else:
                    layers = set(range(max(0, l - args.window // 2), min(L, l - (-args.window // 2))))
                row.append(float(restored(kind, layers, t)))
            table.append(row)
        tables[kind] = table
    json.dump({"clean": float(clean_p), "corrupted": float(corrupted_p), "restored": tables}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
