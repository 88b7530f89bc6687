#!/usr/bin/python3
"""The LoRA training step of `moin train-worker`, written in PyTorch's Python API, for
bench_training to time against the C++ worker on the same machine, threads and data.

Independent of the C++ code: the model folder is read from its published formats only
(Hugging Face config.json; safetensors parsed here with json + numpy), and the Llama forward pass
(RMSNorm, rotary embeddings in Hugging Face's rotate-half layout, grouped-query attention,
SwiGLU MLP, tied or separate lm_head as the config says) and PEFT-style LoRA
(y = W x + (alpha / r) B A dropout(x), A Kaiming-uniform, B zero) are written out here.

One step = what the worker does per optimizer step with gradient accumulation 1: the learning
rate of a linear warm-up + cosine schedule, zero the gradients, forward a (B, T + 1) window batch,
mean next-token cross-entropy over B x T targets, backward, clip the gradient norm, AdamW step on
the LoRA matrices only (the base weights are frozen: requires_grad False), read the loss.

  lora_step_reference.py --model DIR --windows FILE --batch 8 --seq 128 --rank 8 --alpha 16 \
      --dropout 0 --targets q_proj,k_proj,... --lr 3e-3 --min-lr 3e-4 --lr-warmup 5 \
      --weight-decay 0 --beta1 0.9 --beta2 0.999 --clip 1 --threads 2 --warmup 3 --steps 20

FILE holds int32 little-endian token ids, batch x (seq + 1) per step, steps one after another
(reused from the start when it holds fewer batches than warm-up + timed steps).

Prints one JSON object on stdout: tokens_per_second (B x T / median timed step), step_ms
(median), step_ms_mean, step_ms_min, cpu_ms_per_step (mean CPU time of this process per timed
step, all threads), the loss of the first batch with B = 0 (the base's loss, for the caller to
compare with its own), the losses, threads. Run with /usr/bin/python3
(Debian's python3-torch). Exit status 77 when torch or numpy is missing.
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit(77)


# --- safetensors: u64 LE header size, JSON header {name: {dtype, shape, data_offsets}}, data ---

NUMPY_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}


def load_safetensors(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        base = 8 + size
        tensors = {}
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            begin, end = meta["data_offsets"]
            f.seek(base + begin)
            raw = f.read(end - begin)
            if meta["dtype"] == "BF16":
                bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
                array = bits.view(np.float32)
            elif meta["dtype"] in NUMPY_DTYPES:
                array = np.frombuffer(raw, dtype=NUMPY_DTYPES[meta["dtype"]])
            else:
                raise SystemExit(f"{path}: tensor {name} has dtype {meta['dtype']}")
            tensors[name] = torch.from_numpy(
                array.astype(np.float32).reshape(meta["shape"]).copy())
    return tensors


def load_weights(model_dir):
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return load_safetensors(single)
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    weights = {}
    for shard in shards:
        weights.update(load_safetensors(os.path.join(model_dir, shard)))
    return weights


# --- the model ---

class Lora:
    def __init__(self, out_features, in_features, rank, alpha, dropout, rslora):
        self.a = torch.empty(rank, in_features)
        torch.nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))  # PEFT's (and nn.Linear's) init
        self.b = torch.zeros(out_features, rank)
        self.a.requires_grad_(True)
        self.b.requires_grad_(True)
        self.scaling = alpha / (math.sqrt(rank) if rslora else rank)
        self.dropout = dropout


class Llama:
    PROJECTIONS = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn",
                   "o_proj": "self_attn", "gate_proj": "mlp", "up_proj": "mlp",
                   "down_proj": "mlp"}

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            c = json.load(f)
        if c.get("rope_scaling"):
            raise SystemExit("rope_scaling is not implemented here")
        if c.get("hidden_act", "silu") != "silu":
            raise SystemExit("only hidden_act silu is implemented here")
        self.hidden = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = float(c.get("rms_norm_eps", 1e-6))
        self.theta = float(c.get("rope_theta") or 10000.0)
        self.max_positions = int(c.get("max_position_embeddings", 2048))
        self.vocab = c["vocab_size"]
        w = load_weights(model_dir)
        for t in w.values():
            t.requires_grad_(False)
        self.w = w
        self.embed = w["model.embed_tokens.weight"]
        if c.get("tie_word_embeddings", False):
            self.lm_head = self.embed
        else:
            self.lm_head = w["lm_head.weight"]
        self.lora = {}
        # Rotary tables in Hugging Face's layout: angles for the two halves of each head.
        inv_freq = 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float64)
                                         / self.head_dim))
        angles = torch.outer(torch.arange(self.max_positions, dtype=torch.float64), inv_freq)
        angles = torch.cat([angles, angles], dim=-1)
        self.cos = angles.cos().float()
        self.sin = angles.sin().float()
        self.training = True

    def attach_lora(self, rank, alpha, dropout, targets, rslora):
        params = []
        for i in range(self.layers):
            for name in targets:
                weight = self.w[f"model.layers.{i}.{self.PROJECTIONS[name]}.{name}.weight"]
                lora = Lora(weight.shape[0], weight.shape[1], rank, alpha, dropout, rslora)
                self.lora[(i, name)] = lora
                params += [lora.a, lora.b]
        return params

    def proj(self, i, name, x):
        y = F.linear(x, self.w[f"model.layers.{i}.{self.PROJECTIONS[name]}.{name}.weight"])
        lora = self.lora.get((i, name))
        if lora is not None:
            if lora.dropout > 0 and self.training:
                x = F.dropout(x, lora.dropout, training=True)
            y = y + F.linear(F.linear(x, lora.a), lora.b) * lora.scaling
        return y

    def rms_norm(self, x, weight):
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat([-x[..., half:], x[..., :half]], dim=-1)

    def forward(self, tokens):
        B, T = tokens.shape
        nh, nkv, hd = self.heads, self.kv_heads, self.head_dim
        cos, sin = self.cos[:T], self.sin[:T]  # (T, hd), broadcast over (B, heads, T, hd)
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = F.embedding(tokens, self.embed)
        for i in range(self.layers):
            p = f"model.layers.{i}."
            h = self.rms_norm(x, self.w[p + "input_layernorm.weight"])
            q = self.proj(i, "q_proj", h).view(B, T, nh, hd).transpose(1, 2)
            k = self.proj(i, "k_proj", h).view(B, T, nkv, hd).transpose(1, 2)
            v = self.proj(i, "v_proj", h).view(B, T, nkv, hd).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if nh != nkv:  # Hugging Face's repeat_kv: query head j reads kv head j // rep
                rep = nh // nkv
                k = k[:, :, None].expand(B, nkv, rep, T, hd).reshape(B, nh, T, hd)
                v = v[:, :, None].expand(B, nkv, rep, T, hd).reshape(B, nh, T, hd)
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + mask
            probs = torch.softmax(scores, dim=-1)
            out = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, nh * hd)
            x = x + self.proj(i, "o_proj", out)
            h = self.rms_norm(x, self.w[p + "post_attention_layernorm.weight"])
            x = x + self.proj(i, "down_proj",
                              F.silu(self.proj(i, "gate_proj", h)) * self.proj(i, "up_proj", h))
        x = self.rms_norm(x, self.w["model.norm.weight"])
        return F.linear(x, self.lm_head)

    def loss(self, batch):
        logits = self.forward(batch[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))


def cosine_lr(peak, minimum, warmup, total, step):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return minimum + 0.5 * (peak - minimum) * (1 + math.cos(math.pi * min(1.0, progress)))


def openblas_threads():
    for name in ("libblas.so.3", "libopenblas.so.0"):
        try:
            lib = ctypes.CDLL(name)
            return int(lib.openblas_get_num_threads())
        except (OSError, AttributeError):
            continue
    return -1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--windows", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--rank", type=int, required=True)
    ap.add_argument("--alpha", type=float, required=True)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--targets", required=True)
    ap.add_argument("--rslora", action="store_true")
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--min-lr", type=float, required=True)
    ap.add_argument("--lr-warmup", type=int, default=0)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = Llama(a.model)
    targets = [t for t in a.targets.replace(",", " ").split() if t]
    params = model.attach_lora(a.rank, a.alpha, a.dropout, targets, a.rslora)

    data = np.fromfile(a.windows, dtype="<i4")
    per_step = a.batch * (a.seq + 1)
    if data.size < per_step or data.size % per_step:
        raise SystemExit(f"{a.windows}: {data.size} tokens, not a multiple of {per_step}")
    batches = data.reshape(-1, a.batch, a.seq + 1)

    # The base's loss on the first batch: B = 0, so the adapter adds nothing.
    with torch.no_grad():
        model.training = False
        base_loss = model.loss(torch.from_numpy(batches[0].astype(np.int64))).item()
        model.training = True

    optimizer = torch.optim.AdamW(params, lr=a.lr, betas=(a.beta1, a.beta2),
                                  weight_decay=a.weight_decay)
    total = a.warmup + a.steps
    times, cpu_times, losses = [], [], []
    for step in range(total):
        started = time.perf_counter()
        cpu_started = time.process_time()  # this process, all threads
        lr = cosine_lr(a.lr, a.min_lr, a.lr_warmup, total, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad()
        batch = torch.from_numpy(batches[step % len(batches)].astype(np.int64))
        loss = model.loss(batch)
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(params, a.clip)
        optimizer.step()
        losses.append(loss.item())
        if step >= a.warmup:
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu_started)

    median = statistics.median(times)
    print(json.dumps({
        "tokens_per_second": a.batch * a.seq / median,
        "step_ms": 1000 * median,
        "step_ms_mean": 1000 * statistics.fmean(times),
        "step_ms_min": 1000 * min(times),
        "cpu_ms_per_step": 1000 * statistics.fmean(cpu_times),
        "timed_steps": len(times),
        "warmup_steps": a.warmup,
        "tokens_per_step": a.batch * a.seq,
        "base_loss_first_batch": base_loss,
        "first_step_loss": losses[0],
        "last_step_loss": losses[-1],
        "lora_parameters": sum(p.numel() for p in params),
        "threads": torch.get_num_threads(),
        "openblas_threads": openblas_threads(),
        "torch_version": torch.__version__,
    }))


if __name__ == "__main__":
    main()
