#!/usr/bin/python3
"""Independent reference for the Hugging Face Llama forward pass and PEFT LoRA.

Written from the public format descriptions only (safetensors, HF LlamaConfig / LlamaForCausalLM
weight names, PEFT adapter_config.json / adapter_model.safetensors): no code is shared with the
C++ implementation, and neither transformers, safetensors nor peft is used. The forward pass runs
in float64 so that it is a tight reference for the LibTorch logits.

Run with Debian's interpreter (/usr/bin/python3, which has python3-torch and numpy).

  llama_reference.py logits MODEL_DIR --tokens 1,5,9 [--adapter ADAPTER_DIR] [--out FILE.json]
      prints / writes {"shape": [T, V], "logits": [[...], ...]} (float64 values, full precision)

  llama_reference.py make-random OUT_DIR --config JSON --seed N [--dtype F32|F16|BF16] [--shards K]
      writes a random HF Llama folder: config.json + model.safetensors
      (or K shards + model.safetensors.index.json)

  llama_reference.py make-adapter OUT_DIR --model MODEL_DIR --r R --alpha A
                                  --targets q_proj,v_proj --seed N [--zero-b] [--use-rslora]
      writes a random PEFT LoRA adapter: adapter_config.json + adapter_model.safetensors

Exit status: 0 success, 1 error (bad input, unexpected tensor, ...), 2 usage error,
77 torch or numpy is not installed (lets a test skip).
"""
import argparse
import json
import math
import os
import re
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError:
    sys.exit(77)


class ReferenceError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length N, N bytes of JSON, then the raw tensor bytes.
# JSON: {name: {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {}}
# with offsets relative to the first byte after the header.
# ---------------------------------------------------------------------------------------------

def read_safetensors(path):
    """Returns {name: numpy float32 array} for every tensor in the file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ReferenceError(f"{path}: too short for a safetensors file")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if 8 + header_len > len(blob):
        raise ReferenceError(f"{path}: header length {header_len} exceeds the file")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]

    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape = info["dtype"], [int(d) for d in info["shape"]]
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        count = int(np.prod(shape)) if shape else 1
        if dtype == "F32":
            values = np.frombuffer(raw, dtype="<f4")
        elif dtype == "F16":
            values = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dtype == "BF16":
            # bfloat16 is the top half of a float32: shift the 16 bits up and reinterpret.
            upper = np.frombuffer(raw, dtype="<u2").astype(np.uint32)
            values = (upper << 16).view(np.float32)
        else:
            raise ReferenceError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        if values.size != count:
            raise ReferenceError(f"{path}: tensor {name}: {values.size} values for shape {shape}")
        tensors[name] = values.reshape(shape).astype(np.float32)
    return tensors


def float32_to_bf16_bits(values):
    """Round-to-nearest-even float32 -> bfloat16 bit patterns (uint16); NaN stays NaN."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    nan = np.isnan(values)
    rounded[nan] = (bits[nan] >> 16) | 0x40
    return rounded.astype(np.uint16)


def encode_tensor(values, dtype):
    """float32 numpy array -> little-endian bytes in the given safetensors dtype."""
    if dtype == "F32":
        return np.ascontiguousarray(values, dtype="<f4").tobytes()
    if dtype == "F16":
        return np.ascontiguousarray(values, dtype="<f2").tobytes()
    if dtype == "BF16":
        return float32_to_bf16_bits(values).astype("<u2").tobytes()
    raise ReferenceError(f"unsupported dtype {dtype}")


def write_safetensors(path, tensors, dtype, metadata=None):
    """tensors: list of (name, float32 numpy array), written in that order as `dtype`."""
    header = {"__metadata__": metadata or {"format": "pt"}}
    chunks, offset = [], 0
    for name, values in tensors:
        raw = encode_tensor(values, dtype)
        header[name] = {"dtype": dtype, "shape": list(values.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)  # pad with spaces to a multiple of 8
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for raw in chunks:
            f.write(raw)
    return offset


# ---------------------------------------------------------------------------------------------
# Model folder: config.json + model.safetensors or model.safetensors.index.json + shards
# ---------------------------------------------------------------------------------------------

class Config:
    def __init__(self, raw):
        if raw.get("hidden_act", "silu") != "silu":
            raise ReferenceError(f"hidden_act must be silu, got {raw.get('hidden_act')}")
        if raw.get("rope_scaling"):
            raise ReferenceError("rope_scaling is not supported by the reference")
        if raw.get("attention_bias") or raw.get("mlp_bias"):
            raise ReferenceError("attention_bias / mlp_bias are not supported by the reference")
        self.vocab_size = int(raw["vocab_size"])
        self.hidden_size = int(raw["hidden_size"])
        self.intermediate_size = int(raw["intermediate_size"])
        self.num_layers = int(raw["num_hidden_layers"])
        self.num_heads = int(raw["num_attention_heads"])
        kv = raw.get("num_key_value_heads")
        self.num_kv_heads = int(kv) if kv is not None else self.num_heads
        hd = raw.get("head_dim")
        self.head_dim = int(hd) if hd is not None else self.hidden_size // self.num_heads
        self.rms_norm_eps = float(raw["rms_norm_eps"])
        theta = raw.get("rope_theta")
        self.rope_theta = float(theta) if theta is not None else 10000.0
        self.max_position_embeddings = int(raw.get("max_position_embeddings", 2048))
        self.tie_word_embeddings = bool(raw.get("tie_word_embeddings", False))
        if self.num_heads % self.num_kv_heads != 0:
            raise ReferenceError("num_attention_heads must be a multiple of num_key_value_heads")
        if self.head_dim % 2 != 0:
            raise ReferenceError("head_dim must be even for rotary embeddings")

    def weight_shapes(self):
        """Every tensor of LlamaForCausalLM, in a fixed order, with its (out, in) shape."""
        H, I, V = self.hidden_size, self.intermediate_size, self.vocab_size
        q_out = self.num_heads * self.head_dim
        kv_out = self.num_kv_heads * self.head_dim
        shapes = [("model.embed_tokens.weight", (V, H))]
        for i in range(self.num_layers):
            p = f"model.layers.{i}."
            shapes += [
                (p + "input_layernorm.weight", (H,)),
                (p + "self_attn.q_proj.weight", (q_out, H)),
                (p + "self_attn.k_proj.weight", (kv_out, H)),
                (p + "self_attn.v_proj.weight", (kv_out, H)),
                (p + "self_attn.o_proj.weight", (H, q_out)),
                (p + "post_attention_layernorm.weight", (H,)),
                (p + "mlp.gate_proj.weight", (I, H)),
                (p + "mlp.up_proj.weight", (I, H)),
                (p + "mlp.down_proj.weight", (H, I)),
            ]
        shapes.append(("model.norm.weight", (H,)))
        if not self.tie_word_embeddings:
            shapes.append(("lm_head.weight", (V, H)))
        return shapes

    def module_shape(self, module):
        """(out_features, in_features) of a linear module name such as "q_proj"."""
        H, I = self.hidden_size, self.intermediate_size
        q_out = self.num_heads * self.head_dim
        kv_out = self.num_kv_heads * self.head_dim
        shapes = {"q_proj": (q_out, H), "k_proj": (kv_out, H), "v_proj": (kv_out, H),
                  "o_proj": (H, q_out), "gate_proj": (I, H), "up_proj": (I, H),
                  "down_proj": (H, I)}
        if module not in shapes:
            raise ReferenceError(f"unknown Llama linear module {module!r}")
        return shapes[module]


MODULE_PARENT = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn",
                 "o_proj": "self_attn", "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        return Config(json.load(f))


def load_weights(model_dir, config):
    """Returns {name: torch.float64 tensor}; checks names and shapes against the config."""
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    raw = {}
    if os.path.exists(single):
        raw = read_safetensors(single)
    elif os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
        for shard in sorted(set(weight_map.values())):
            for name, values in read_safetensors(os.path.join(model_dir, shard)).items():
                if weight_map.get(name) != shard:
                    raise ReferenceError(f"{shard}: tensor {name} is not mapped to this shard")
                raw[name] = values
        missing_from_shards = set(weight_map) - set(raw)
        if missing_from_shards:
            raise ReferenceError(f"index names tensors not in shards: {sorted(missing_from_shards)}")
    else:
        raise ReferenceError(f"{model_dir}: no model.safetensors or model.safetensors.index.json")

    expected = dict(config.weight_shapes())
    if config.tie_word_embeddings:
        raw.pop("lm_head.weight", None)  # some exporters still write the tied copy
    raw = {k: v for k, v in raw.items() if not k.endswith("rotary_emb.inv_freq")}
    unexpected = sorted(set(raw) - set(expected))
    missing = sorted(set(expected) - set(raw))
    if unexpected or missing:
        raise ReferenceError(f"weight names differ: missing {missing}, unexpected {unexpected}")
    weights = {}
    for name, shape in expected.items():
        if tuple(raw[name].shape) != shape:
            raise ReferenceError(f"{name}: shape {list(raw[name].shape)}, expected {list(shape)}")
        weights[name] = torch.from_numpy(raw[name]).to(torch.float64)
    if config.tie_word_embeddings:
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
    return weights


# ---------------------------------------------------------------------------------------------
# PEFT LoRA adapter: adapter_config.json + adapter_model.safetensors
# ---------------------------------------------------------------------------------------------

def load_adapter(adapter_dir, config):
    """Returns {"model.layers.{i}.{parent}.{module}.weight": (A (r,in), B (out,r), scale)}."""
    with open(os.path.join(adapter_dir, "adapter_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    if cfg.get("peft_type") != "LORA":
        raise ReferenceError(f"peft_type must be LORA, got {cfg.get('peft_type')}")
    for unsupported in ("modules_to_save", "layers_to_transform", "rank_pattern",
                        "alpha_pattern", "use_dora"):
        if cfg.get(unsupported):
            raise ReferenceError(f"adapter_config {unsupported} is not supported by the reference")
    if cfg.get("bias", "none") != "none":
        raise ReferenceError("adapter bias must be none")
    if cfg.get("fan_in_fan_out"):
        raise ReferenceError("fan_in_fan_out must be false for Llama")
    r = int(cfg["r"])
    alpha = float(cfg["lora_alpha"])
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora", False) else alpha / r
    targets = cfg["target_modules"]

    def targeted(module_key):  # module_key like "model.layers.0.self_attn.q_proj"
        if isinstance(targets, str):  # PEFT: a string is a regex full-matched on the key
            return re.fullmatch(targets, module_key) is not None
        return module_key.split(".")[-1] in targets

    tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    key_re = re.compile(r"base_model\.model\.(model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+))"
                        r"\.lora_([AB])\.weight")
    pairs = {}
    for key, values in tensors.items():
        m = key_re.fullmatch(key)
        if not m:
            raise ReferenceError(f"unexpected adapter tensor {key}")
        module_key, layer, parent, module, which = m.groups()
        if (int(layer) >= config.num_layers or MODULE_PARENT.get(module) != parent
                or not targeted(module_key)):
            raise ReferenceError(f"adapter tensor {key} is not a targeted module of this model")
        out_features, in_features = config.module_shape(module)
        shape = (r, in_features) if which == "A" else (out_features, r)
        if tuple(values.shape) != shape:
            raise ReferenceError(f"{key}: shape {list(values.shape)}, expected {list(shape)}")
        pairs.setdefault(module_key, {})[which] = torch.from_numpy(values).to(torch.float64)

    lora = {}
    for module_key, ab in pairs.items():
        if set(ab) != {"A", "B"}:
            raise ReferenceError(f"{module_key}: needs both lora_A and lora_B")
        lora[module_key + ".weight"] = (ab["A"], ab["B"], scale)
    if not lora:
        raise ReferenceError(f"{adapter_dir}: adapter has no LoRA tensors")
    return lora


# ---------------------------------------------------------------------------------------------
# Forward pass, float64, one sequence of T tokens at positions 0..T-1
# ---------------------------------------------------------------------------------------------

def rms_norm(x, weight, eps):
    # x: (T, H), weight: (H,)
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    # x: (..., hd) -> cat(-second_half, first_half)
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(config, weights, tokens, lora=None):
    """tokens: list of ints. Returns logits (T, V) as a torch.float64 tensor."""
    lora = lora or {}
    W = weights
    T = len(tokens)
    nh, nkv, hd = config.num_heads, config.num_kv_heads, config.head_dim
    eps = config.rms_norm_eps
    for t in tokens:
        if not 0 <= t < config.vocab_size:
            raise ReferenceError(f"token {t} outside the vocabulary (size {config.vocab_size})")

    def linear(name, x):
        # x: (T, in), W[name]: (out, in) -> (T, out); LoRA adds scale * B (A x)
        y = x @ W[name].T
        if name in lora:
            A, B, scale = lora[name]            # A: (r, in), B: (out, r)
            y = y + scale * ((x @ A.T) @ B.T)
        return y

    # Rotary embeddings (HF layout: the two halves of each head are rotated against each other)
    inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    positions = torch.arange(T, dtype=torch.float64)            # (T,)
    freqs = torch.outer(positions, inv_freq)                    # (T, hd/2)
    emb = torch.cat((freqs, freqs), dim=-1)                     # (T, hd)
    cos, sin = emb.cos(), emb.sin()                             # (T, hd), broadcast over heads

    # Causal mask: position t attends to positions 0..t
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)  # (T, T)

    x = W["model.embed_tokens.weight"][torch.tensor(tokens, dtype=torch.long)]  # (T, H)

    for i in range(config.num_layers):
        p = f"model.layers.{i}."

        # ---- self-attention ----
        xn = rms_norm(x, W[p + "input_layernorm.weight"], eps)                 # (T, H)
        q = linear(p + "self_attn.q_proj.weight", xn).view(T, nh, hd).transpose(0, 1)   # (nh, T, hd)
        k = linear(p + "self_attn.k_proj.weight", xn).view(T, nkv, hd).transpose(0, 1)  # (nkv, T, hd)
        v = linear(p + "self_attn.v_proj.weight", xn).view(T, nkv, hd).transpose(0, 1)  # (nkv, T, hd)

        q = q * cos + rotate_half(q) * sin                                      # (nh, T, hd)
        k = k * cos + rotate_half(k) * sin                                      # (nkv, T, hd)

        # grouped-query attention: query head j uses kv head j // (nh / nkv) (HF repeat_kv)
        k = k.repeat_interleave(nh // nkv, dim=0)                               # (nh, T, hd)
        v = v.repeat_interleave(nh // nkv, dim=0)                               # (nh, T, hd)

        scores = q @ k.transpose(1, 2) / math.sqrt(hd) + mask                   # (nh, T, T)
        probs = torch.softmax(scores, dim=-1)                                   # (nh, T, T)
        attn = (probs @ v).transpose(0, 1).reshape(T, nh * hd)                  # (T, nh*hd)
        h = x + linear(p + "self_attn.o_proj.weight", attn)                     # (T, H)

        # ---- MLP (SwiGLU) ----
        hn = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)         # (T, H)
        gate = linear(p + "mlp.gate_proj.weight", hn)                           # (T, I)
        up = linear(p + "mlp.up_proj.weight", hn)                               # (T, I)
        x = h + linear(p + "mlp.down_proj.weight", torch.nn.functional.silu(gate) * up)  # (T, H)

    x = rms_norm(x, W["model.norm.weight"], eps)                                # (T, H)
    return x @ W["lm_head.weight"].T                                            # (T, V)


# ---------------------------------------------------------------------------------------------
# Random model / adapter writers
# ---------------------------------------------------------------------------------------------

TORCH_DTYPE_NAME = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def make_random(out_dir, config_raw, seed, dtype, shards):
    config_raw = dict(config_raw)
    config_raw.update({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                       "hidden_act": "silu", "torch_dtype": TORCH_DTYPE_NAME[dtype]})
    config = Config(config_raw)
    rng = np.random.default_rng(seed)
    tensors = []
    for name, shape in config.weight_shapes():  # fixed order: same seed -> same values
        if name.endswith("norm.weight"):
            values = 1.0 + rng.normal(0.0, 0.1, size=shape)
        else:
            values = rng.normal(0.0, 0.02, size=shape)
        tensors.append((name, values.astype(np.float32)))

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config_raw, f, indent=2)
    if shards <= 1:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, dtype)
        return
    if shards > len(tensors):
        raise ReferenceError(f"--shards {shards} exceeds the {len(tensors)} tensors")
    weight_map, total = {}, 0
    n = len(tensors)
    for s in range(shards):
        part = tensors[s * n // shards:(s + 1) * n // shards]  # contiguous, never empty
        file_name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        total += write_safetensors(os.path.join(out_dir, file_name), part, dtype)
        for name, _ in part:
            weight_map[name] = file_name
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def make_adapter(out_dir, model_dir, r, alpha, targets, seed, zero_b, use_rslora):
    config = load_config(model_dir)
    for module in targets:
        config.module_shape(module)  # raises on an unknown module name
    rng = np.random.default_rng(seed)
    tensors = []
    for i in range(config.num_layers):
        for module in targets:
            out_features, in_features = config.module_shape(module)
            key = f"base_model.model.model.layers.{i}.{MODULE_PARENT[module]}.{module}"
            a = rng.normal(0.0, 0.05, size=(r, in_features)).astype(np.float32)
            b = rng.normal(0.0, 0.05, size=(out_features, r)).astype(np.float32)
            if zero_b:
                b[:] = 0.0  # PEFT's own initialisation: the adapter starts as a no-op
            tensors += [(key + ".lora_A.weight", a), (key + ".lora_B.weight", b)]
    adapter_config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha,
        "lora_dropout": 0.0, "target_modules": list(targets),
        "base_model_name_or_path": model_dir, "bias": "none", "fan_in_fan_out": False,
        "inference_mode": True, "use_rslora": use_rslora, "modules_to_save": None,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "adapter_config.json"), "w", encoding="utf-8") as f:
        json.dump(adapter_config, f, indent=2)
    write_safetensors(os.path.join(out_dir, "adapter_model.safetensors"), tensors, "F32")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def parse_int_list(text):
    return [int(t) for t in text.split(",") if t.strip() != ""]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("logits", help="float64 logits of a model (optionally with a LoRA adapter)")
    p.add_argument("model_dir")
    p.add_argument("--tokens", required=True, help="comma-separated token ids")
    p.add_argument("--adapter", help="PEFT LoRA adapter folder")
    p.add_argument("--out", help="write the JSON here instead of stdout")

    p = sub.add_parser("make-random", help="write a random HF Llama model folder")
    p.add_argument("out_dir")
    p.add_argument("--config", required=True, help="LlamaConfig JSON string")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    p.add_argument("--shards", type=int, default=1)

    p = sub.add_parser("make-adapter", help="write a random PEFT LoRA adapter folder")
    p.add_argument("out_dir")
    p.add_argument("--model", required=True, help="base model folder (for the shapes)")
    p.add_argument("--r", type=int, required=True)
    p.add_argument("--alpha", type=float, required=True)
    p.add_argument("--targets", required=True, help="comma-separated module names, e.g. q_proj,v_proj")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--zero-b", action="store_true", help="B = 0 (the adapter is a no-op)")
    p.add_argument("--use-rslora", action="store_true", help="scale alpha/sqrt(r) instead of alpha/r")

    args = parser.parse_args(argv)
    try:
        if args.command == "logits":
            config = load_config(args.model_dir)
            weights = load_weights(args.model_dir, config)
            lora = load_adapter(args.adapter, config) if args.adapter else None
            tokens = parse_int_list(args.tokens)
            if not tokens:
                raise ReferenceError("--tokens is empty")
            logits = forward(config, weights, tokens, lora)
            text = json.dumps({"shape": list(logits.shape), "logits": logits.tolist()})
            if args.out:
                with open(args.out, "w", encoding="utf-8") as f:
                    f.write(text + "\n")
            else:
                sys.stdout.write(text + "\n")
        elif args.command == "make-random":
            make_random(args.out_dir, json.loads(args.config), args.seed, args.dtype, args.shards)
        elif args.command == "make-adapter":
            alpha = int(args.alpha) if float(args.alpha).is_integer() else args.alpha
            targets = [t.strip() for t in args.targets.split(",") if t.strip()]
            make_adapter(args.out_dir, args.model, args.r, alpha,
                         targets, args.seed, args.zero_b, args.use_rslora)
    except (ReferenceError, KeyError, ValueError, OSError) as e:
        sys.stderr.write(f"llama_reference.py: error: {type(e).__name__}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
