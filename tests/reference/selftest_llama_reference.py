#!/usr/bin/python3
"""Self-checks of llama_reference.py (run: /usr/bin/python3 selftest_llama_reference.py).

Drives the command line in a temporary folder and checks properties that do not depend on the
C++ code: causality, zero-B adapter == base, sharded == single file, F16/BF16 loading, LoRA ==
merged weights, GQA == the equivalent multi-head model, and agreement with a second, loop-style
numpy forward that uses Meta's original interleaved (complex) rotary layout on un-permuted weights.
Exit status 0 when every check passes, 1 otherwise, 77 when torch/numpy is missing.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
except ImportError:
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "llama_reference.py")
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import llama_reference as ref  # noqa: E402

CONFIG = {"vocab_size": 97, "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
          "rope_theta": 10000.0, "max_position_embeddings": 128, "tie_word_embeddings": False}
TOKENS = [1, 5, 9, 42, 0, 96, 17, 17, 3, 60, 11, 88]

failures = []
slowest = [0.0, ""]


def check(ok, what):
    print(("PASS  " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def run(*args):
    start = time.time()
    result = subprocess.run([sys.executable, SCRIPT] + [str(a) for a in args],
                            capture_output=True, text=True)
    elapsed = time.time() - start
    if elapsed > slowest[0]:
        slowest[:] = [elapsed, args[0]]
    if result.returncode != 0:
        raise RuntimeError(f"{args}: exit {result.returncode}: {result.stderr}")
    return result.stdout


def logits(model, tokens, adapter=None):
    args = ["logits", model, "--tokens", ",".join(map(str, tokens))]
    if adapter:
        args += ["--adapter", adapter]
    out = json.loads(run(*args))
    arr = np.array(out["logits"], dtype=np.float64)
    assert list(arr.shape) == out["shape"] == [len(tokens), CONFIG["vocab_size"]]
    return arr


def max_diff(a, b):
    return float(np.max(np.abs(a - b)))


def meta_style_forward(config, weights, tokens, lora=None):
    """Second implementation, numpy float64, one position at a time with a KV cache, Meta's
    original rotary layout: HF q/k weights are un-permuted to interleaved (real, imag) pairs and
    rotated as complex numbers. LoRA is merged into the weights (W + scale * B A)."""
    W = {k: v.numpy() for k, v in weights.items()}
    for name, (A, B, scale) in (lora or {}).items():
        W[name] = W[name] + scale * (B.numpy() @ A.numpy())
    nh, nkv, hd, eps = config.num_heads, config.num_kv_heads, config.head_dim, config.rms_norm_eps
    rep = nh // nkv

    def unpermute(w, heads):  # inverse of HF's convert_llama_weights_to_hf permute()
        return w.reshape(heads, 2, hd // 2, w.shape[1]).transpose(0, 2, 1, 3).reshape(w.shape)

    def norm(x, w):
        return x / np.sqrt(np.mean(x * x) + eps) * w

    def rotate(vec, pos):  # vec: (hd,) interleaved pairs
        c = vec[0::2] + 1j * vec[1::2]
        freqs = pos / config.rope_theta ** (np.arange(0, hd, 2) / hd)
        c = c * np.exp(1j * freqs)
        out = np.empty(hd)
        out[0::2], out[1::2] = c.real, c.imag
        return out

    cache = [([], []) for _ in range(config.num_layers)]
    rows = []
    for pos, tok in enumerate(tokens):
        x = W["model.embed_tokens.weight"][tok].copy()
        for i in range(config.num_layers):
            p = f"model.layers.{i}."
            xn = norm(x, W[p + "input_layernorm.weight"])
            q = (unpermute(W[p + "self_attn.q_proj.weight"], nh) @ xn).reshape(nh, hd)
            k = (unpermute(W[p + "self_attn.k_proj.weight"], nkv) @ xn).reshape(nkv, hd)
            v = (W[p + "self_attn.v_proj.weight"] @ xn).reshape(nkv, hd)
            q = np.stack([rotate(q[h], pos) for h in range(nh)])
            k = np.stack([rotate(k[h], pos) for h in range(nkv)])
            keys, values = cache[i]
            keys.append(k)
            values.append(v)
            out = np.zeros((nh, hd))
            for h in range(nh):
                s = np.array([q[h] @ kk[h // rep] for kk in keys]) / np.sqrt(hd)
                e = np.exp(s - s.max())
                e /= e.sum()
                out[h] = sum(e[t] * values[t][h // rep] for t in range(len(keys)))
            x = x + W[p + "self_attn.o_proj.weight"] @ out.reshape(-1)
            hn = norm(x, W[p + "post_attention_layernorm.weight"])
            g = W[p + "mlp.gate_proj.weight"] @ hn
            u = W[p + "mlp.up_proj.weight"] @ hn
            x = x + W[p + "mlp.down_proj.weight"] @ (g / (1 + np.exp(-g)) * u)
        rows.append(W["lm_head.weight"] @ norm(x, W["model.norm.weight"]))
    return np.stack(rows)


def main():
    tmp = tempfile.mkdtemp(prefix="llama_ref_selftest_")
    d = lambda name: os.path.join(tmp, name)  # noqa: E731
    cfg = json.dumps(CONFIG)

    run("make-random", d("f32"), "--config", cfg, "--seed", 7)
    base = logits(d("f32"), TOKENS)
    check(np.all(np.isfinite(base)) and base.std() > 1e-3, "logits are finite and non-trivial")

    # (a) causality
    changed = TOKENS[:6] + [2, 70, 33, 33, 4, 50]
    other = logits(d("f32"), changed)
    check(max_diff(base[:6], other[:6]) == 0.0, "causal: positions 0..5 unchanged when later tokens change")
    check(max_diff(base[6:], other[6:]) > 1e-3, "causal: later positions do change")
    prefix = logits(d("f32"), TOKENS[:4])
    check(max_diff(prefix, base[:4]) < 1e-12, "prefix run equals the first rows of the full run")

    # (b) zero-B adapter == base; random adapter changes logits; LoRA == merged weights
    run("make-adapter", d("zero"), "--model", d("f32"), "--r", 4, "--alpha", 8,
        "--targets", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", "--seed", 3, "--zero-b")
    check(max_diff(logits(d("f32"), TOKENS, d("zero")), base) == 0.0, "zero-B adapter gives the base logits")
    run("make-adapter", d("lora"), "--model", d("f32"), "--r", 4, "--alpha", 8,
        "--targets", "q_proj,v_proj,down_proj", "--seed", 3)
    with_lora = logits(d("f32"), TOKENS, d("lora"))
    check(max_diff(with_lora, base) > 1e-3, f"random adapter changes logits (max |diff| {max_diff(with_lora, base):.3g})")
    run("make-adapter", d("rslora"), "--model", d("f32"), "--r", 4, "--alpha", 8,
        "--targets", "q_proj,v_proj,down_proj", "--seed", 3, "--use-rslora")
    with_rslora = logits(d("f32"), TOKENS, d("rslora"))
    check(max_diff(with_rslora, with_lora) > 1e-4, "rslora scale (alpha/sqrt r) differs from alpha/r")

    config = ref.load_config(d("f32"))
    weights = ref.load_weights(d("f32"), config)
    lora = ref.load_adapter(d("lora"), config)
    check(all(s == 2.0 for _, _, s in lora.values()) and len(lora) == 3 * CONFIG["num_hidden_layers"],
          "adapter: 3 modules x 2 layers, scale alpha/r = 2")
    merged = dict(weights)
    for name, (A, B, scale) in lora.items():
        merged[name] = weights[name] + scale * (B @ A)
    check(max_diff(ref.forward(config, merged, TOKENS).numpy(), with_lora) < 1e-12,
          "LoRA forward equals the forward with merged weights W + scale*B@A")

    # unexpected adapter key fails loudly
    bad = d("bad")
    os.makedirs(bad)
    with open(os.path.join(d("lora"), "adapter_config.json")) as f:
        json.dump(json.load(f), open(os.path.join(bad, "adapter_config.json"), "w"))
    tensors = ref.read_safetensors(os.path.join(d("lora"), "adapter_model.safetensors"))
    tensors["base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight"] = np.zeros((4, 64), np.float32)
    ref.write_safetensors(os.path.join(bad, "adapter_model.safetensors"), list(tensors.items()), "F32")
    r = subprocess.run([sys.executable, SCRIPT, "logits", d("f32"), "--tokens", "1,2", "--adapter", bad],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "k_proj" in r.stderr, "untargeted adapter key is rejected")

    # (c) sharded == single file
    run("make-random", d("sharded"), "--config", cfg, "--seed", 7, "--shards", 3)
    with open(os.path.join(d("sharded"), "model.safetensors.index.json")) as f:
        shard_files = sorted(set(json.load(f)["weight_map"].values()))
    check(shard_files == [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)], "3 shard files named HF-style")
    check(max_diff(logits(d("sharded"), TOKENS), base) == 0.0, "sharded model gives identical logits")

    # safetensors header: padded to a multiple of 8 with spaces, valid JSON
    with open(os.path.join(d("f32"), "model.safetensors"), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = f.read(n)
    check(n % 8 == 0 and json.loads(header)["__metadata__"] == {"format": "pt"}, "header length % 8 == 0")

    # (d) F16 / BF16 models load; values are the rounded F32 ones
    for dtype, tol in (("F16", 0.05), ("BF16", 0.3)):
        run("make-random", d(dtype), "--config", cfg, "--seed", 7, "--dtype", dtype)
        lg = logits(d(dtype), TOKENS)
        check(max_diff(lg, base) < tol and np.all(np.isfinite(lg)),
              f"{dtype} model loads, logits close to F32 (max |diff| {max_diff(lg, base):.3g})")
        w16 = ref.read_safetensors(os.path.join(d(dtype), "model.safetensors"))
        w32 = ref.read_safetensors(os.path.join(d("f32"), "model.safetensors"))
        tdt = torch.float16 if dtype == "F16" else torch.bfloat16
        same = all(torch.equal(torch.from_numpy(w32[k]).to(tdt).float(), torch.from_numpy(w16[k]))
                   for k in w32)
        check(same, f"{dtype} values equal torch's own float32 -> {dtype} rounding")
    with open(os.path.join(d("BF16"), "config.json")) as f:
        check(json.load(f)["torch_dtype"] == "bfloat16", "config.json torch_dtype matches dtype")

    # tied embeddings: no lm_head.weight written, embed used for the output
    tied = dict(CONFIG, tie_word_embeddings=True)
    run("make-random", d("tied"), "--config", json.dumps(tied), "--seed", 7)
    names = ref.read_safetensors(os.path.join(d("tied"), "model.safetensors")).keys()
    tcfg = ref.load_config(d("tied"))
    tw = ref.load_weights(d("tied"), tcfg)
    check("lm_head.weight" not in names and tw["lm_head.weight"] is tw["model.embed_tokens.weight"],
          "tied embeddings: lm_head = embed_tokens")

    # GQA equals the multi-head model whose k/v heads are repeated (HF repeat_kv order)
    rep = config.num_heads // config.num_kv_heads
    mha_cfg = ref.Config(dict(CONFIG, num_key_value_heads=CONFIG["num_attention_heads"]))
    mha = dict(weights)
    for i in range(config.num_layers):
        for m in ("k_proj", "v_proj"):
            name = f"model.layers.{i}.self_attn.{m}.weight"
            w = weights[name].view(config.num_kv_heads, config.head_dim, -1)
            mha[name] = w.repeat_interleave(rep, dim=0).reshape(-1, w.shape[-1])
    check(max_diff(ref.forward(mha_cfg, mha, TOKENS).numpy(), base) < 1e-12,
          "GQA equals MHA with kv heads repeated (query head j -> kv head j // rep)")

    # second, loop-style implementation with Meta's interleaved complex rotary
    meta = meta_style_forward(config, weights, TOKENS)
    check(max_diff(meta, base) < 1e-10, f"Meta-layout loop forward agrees (max |diff| {max_diff(meta, base):.3g})")
    meta_lora = meta_style_forward(config, weights, TOKENS, lora)
    check(max_diff(meta_lora, with_lora) < 1e-10, "Meta-layout loop forward with merged LoRA agrees")
    long_tokens = [(i * 37 + 5) % 97 for i in range(100)]
    long_ref = logits(d("f32"), long_tokens)
    check(max_diff(meta_style_forward(config, weights, long_tokens), long_ref) < 1e-10,
          "Meta-layout loop forward agrees over 100 positions")

    check(slowest[0] < 5.0, f"slowest CLI call {slowest[0]:.2f} s ({slowest[1]})")
    if failures:
        print(f"{len(failures)} failure(s); files kept in {tmp}")
        return 1
    shutil.rmtree(tmp)
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
