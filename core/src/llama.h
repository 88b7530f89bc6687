#pragma once
// The Llama decoder in LibTorch. Internal to moin_core (and its tests and benchmarks): public
// headers never include this file, so most of the program compiles without torch.
#include "kernels/gemv.h"
#include "moin/model.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace moin {

/// A LoRA pair attached to one projection: out += scaling * B (A dropout(x)).
struct LoraWeights {
    torch::Tensor a; ///< (rank, in)
    torch::Tensor b; ///< (out, rank)
    double scaling = 1.0;
    double dropout = 0.0;
};

/// Rows of a batch that share one adapter: out[rows] += scaling * B (A x[rows]) (gathered LoRA:
/// requests for different experts in one batch).
struct LoraRowGroup {
    torch::Tensor rows; ///< int64 row indices into dimension 0 of the input
    const LoraWeights* lora = nullptr;
};

/// Projections per decoder layer, in namedProjections() order: q k v o gate up down.
constexpr int64_t kProjectionsPerLayer = 7;
enum ProjectionKind : int64_t { kQ, kK, kV, kO, kGate, kUp, kDown };

/// A bias-free linear layer with a frozen weight and an optional LoRA pair. The base weight is
/// never changed by the adapter: its product is added to the base product.
class ProjectionImpl : public torch::nn::Module {
public:
    ProjectionImpl(int64_t in, int64_t out);
    /// x: (..., in) -> (..., out)
    torch::Tensor forward(const torch::Tensor& x);
    /// The same with the adapters of a batch's rows instead of the attached `lora` (`groups`
    /// null: the attached one). The groups belong to the call, never to this shared module.
    torch::Tensor forward(const torch::Tensor& x, const std::vector<LoraRowGroup>* groups);
    torch::Tensor weight; ///< (out, in), requires_grad false
    /// The adapter attached to the model (training, `moin generate --adapter`).
    std::shared_ptr<LoraWeights> lora;
    int64_t inFeatures = 0;
    int64_t outFeatures = 0;
};
TORCH_MODULE(Projection);

/// Keys and values of every layer for positions [0, length); preallocated to `capacity`.
struct KvCache {
    std::vector<torch::Tensor> keys;   ///< per layer (batch, kvHeads, capacity, headDim)
    std::vector<torch::Tensor> values; ///< per layer (batch, kvHeads, capacity, headDim)
    int64_t length = 0;
    int64_t capacity = 0;
};

struct LoadedAdapter;

/// What one forward call runs: for each row of its tokens (B, T), where those tokens sit, which
/// row of the KV cache holds that row's past, and which adapter it runs with. As llama.cpp keeps
/// adapters on the context, never on the model, they belong to the call: one model serves many
/// requests, each with its own expert. The defaults are training's call: no cache, positions
/// from 0, every row with the adapter attached to the model.
struct ForwardBatch {
    /// Null: no cache, positions [0, T) for every row.
    KvCache* cache = nullptr;
    /// Per row: its cache row (batch index of cache->keys). Empty: row b uses cache row b.
    std::vector<int64_t> cacheSlots;
    /// Per row: the position of its first token (the tokens the slot already holds). Empty:
    /// cache->length for every row, and the call advances cache->length by T.
    std::vector<int64_t> starts;
    /// Per row: its real tokens; the rest of the row is right padding, whose keys are not kept
    /// and whose outputs mean nothing. Empty: all T.
    std::vector<int64_t> lengths;
    /// Per row: its adapter (null: the base alone). Empty: every row uses the adapter attached
    /// to the model (Projection::lora), if any.
    std::vector<const LoadedAdapter*> adapters;
};

/// A forward call's rows, resolved once: positions, RoPE rows, mask, adapters.
struct ForwardPlan {
    int64_t B = 0, T = 0;
    KvCache* cache = nullptr;
    /// Every row starts at `start` in cache row b: the cache is narrowed, nothing gathered.
    bool shared = true;
    int64_t start = 0;
    std::vector<int64_t> cacheSlots, starts, lengths; ///< per row (when not shared)
    torch::Tensor slotIndex;                     ///< (B) int64 (when not shared)
    int64_t span = 0;                            ///< keys visible to the call's last query: S
    torch::Tensor cos, sin;                      ///< (B or 1, T, 1, hd) float32
    /// Keys a query must not see: (T, S) when shared, (B, 1, 1, T, S) otherwise; undefined
    /// when no query has a key to hide.
    torch::Tensor blocked;
    /// Rows run with the model's attached adapter (training); otherwise `rowAdapters`.
    bool attached = true;
    std::vector<const LoadedAdapter*> rowAdapters; ///< per row (when not attached)
    std::vector<std::vector<LoraRowGroup>> groups; ///< per projection index (when not attached)

    int64_t slotOf(int64_t row) const { return shared ? row : cacheSlots[size_t(row)]; }
    int64_t startOf(int64_t row) const { return shared ? start : starts[size_t(row)]; }
    const std::vector<LoraRowGroup>* groupsOf(int64_t layer, int64_t kind) const
    {
        return attached ? nullptr : &groups[size_t(layer * kProjectionsPerLayer + kind)];
    }
};

class LlamaImpl;
/// Checks a batch against tokens (B, T), the model and its cache, and resolves it.
ForwardPlan planFor(const LlamaImpl& model, const torch::Tensor& tokens,
                    const ForwardBatch& batch);

class RmsNormImpl : public torch::nn::Module {
public:
    RmsNormImpl(int64_t dim, double eps);
    /// x: (..., dim); normalised in float32 whatever x's dtype, as Hugging Face does.
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight; ///< (dim)
    double eps;
};
TORCH_MODULE(RmsNorm);

class AttentionImpl : public torch::nn::Module {
public:
    explicit AttentionImpl(const LlamaConfig& config);
    /// x: (B, T, H) -> (B, T, H) for layer `layer`; with a cache, stores each row's keys and
    /// values at its slot and positions.
    torch::Tensor forward(const torch::Tensor& x, const ForwardPlan& plan, int64_t layer);
    Projection qProj{nullptr}, kProj{nullptr}, vProj{nullptr}, oProj{nullptr};
    int64_t numHeads, numKvHeads, headDim;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    explicit MlpImpl(const LlamaConfig& config);
    /// SwiGLU: down(silu(gate(x)) * up(x)); (B, T, H) -> (B, T, H)
    torch::Tensor forward(const torch::Tensor& x, const ForwardPlan& plan, int64_t layer);
    Projection gateProj{nullptr}, upProj{nullptr}, downProj{nullptr};
};
TORCH_MODULE(Mlp);

class DecoderLayerImpl : public torch::nn::Module {
public:
    explicit DecoderLayerImpl(const LlamaConfig& config);
    RmsNorm inputNorm{nullptr}, postAttentionNorm{nullptr};
    Attention attention{nullptr};
    Mlp mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

/// The whole decoder. Weight names follow Hugging Face's LlamaForCausalLM.
class LlamaImpl : public torch::nn::Module {
public:
    explicit LlamaImpl(const LlamaConfig& config);

    /// The forward pass: tokens (B, T) int64 -> final hidden states (B, T, H) after the last
    /// RMSNorm, each row at its positions, cache slot and adapter (see ForwardBatch).
    torch::Tensor hidden(const torch::Tensor& tokens, const ForwardBatch& batch);
    /// Rows at positions [cache->length, + T) of cache rows 0..B-1 (or [0, T) without a
    /// cache), with the attached adapter; the cache grows by T.
    torch::Tensor hidden(const torch::Tensor& tokens, KvCache* cache = nullptr);
    /// tokens: (B, T) -> logits (B, T, vocab)
    torch::Tensor forward(const torch::Tensor& tokens, const ForwardBatch& batch);
    torch::Tensor forward(const torch::Tensor& tokens, KvCache* cache = nullptr);
    /// hidden (..., H) -> logits (..., vocab)
    torch::Tensor project(const torch::Tensor& hidden);

    /// Moves the weights to `device` and `dtype`; the RoPE tables stay float32 (as Hugging Face
    /// computes the angles), whatever the weights.
    void place(torch::Device device, torch::ScalarType dtype);
    /// An empty cache for `batch` sequences of up to `capacity` tokens, on the model's device.
    KvCache makeCache(int64_t batch, int64_t capacity) const;
    /// Every weight by its Hugging Face name (lm_head absent when tied).
    std::vector<std::pair<std::string, torch::Tensor>> namedWeights() const;
    /// Every projection by its Hugging Face module path, e.g. "model.layers.0.self_attn.q_proj".
    std::vector<std::pair<std::string, Projection>> namedProjections() const;
    torch::Device deviceOf() const { return embedTokens.device(); }
    torch::ScalarType dtypeOf() const { return embedTokens.scalar_type(); }

    LlamaConfig config;
    torch::Tensor embedTokens; ///< (vocab, H)
    std::vector<DecoderLayer> layers;
    RmsNorm norm{nullptr};
    Projection lmHead{nullptr}; ///< null when tied to embedTokens
    torch::Tensor ropeCos;      ///< (maxPositions, headDim), float32
    torch::Tensor ropeSin;      ///< (maxPositions, headDim), float32
    /// Decode steps (one token per row, few rows, no gradients, on the CPU) run the
    /// matrix-vector decoder (kernels/decoder.h) instead of LibTorch's operators; tests turn
    /// it off to compare the two, and force `kernelIsa` to test every dispatch level.
    bool fastDecode = true;
    kernels::Isa kernelIsa = kernels::bestIsa();
};
TORCH_MODULE(Llama);

/// What LanguageModel wraps.
struct LanguageModel::Impl {
    Llama model{nullptr};
    std::string directory;
    std::optional<Tokenizer> tokenizer;
    std::optional<LoraConfig> adapter;
};

/// An adapter read from a PEFT folder and checked against a model, not attached to it.
struct LoadedAdapter {
    LoraConfig config;
    /// By Hugging Face module path, e.g. "model.layers.0.self_attn.q_proj".
    std::map<std::string, std::shared_ptr<LoraWeights>> byProjection;
    /// The same by projection index, layer * kProjectionsPerLayer + kind in namedProjections()
    /// order (null where the adapter has none): what the forward pass looks up.
    std::vector<const LoraWeights*> byIndex;
    /// Bytes of its tensors on the device.
    int64_t bytes = 0;
};

/// Reads and validates a PEFT adapter folder for `model` (on its device and dtype). Throws
/// moin::Error naming the tensor and the expected and found shapes.
LoadedAdapter readAdapter(LlamaImpl& model, const std::string& directory,
                          const std::string& baseDirectory);

/// torch dtype of a config/CLI name ("float32", "float16", "bfloat16").
torch::ScalarType parseTorchDtype(const std::string& name);

} // namespace moin
