#pragma once
// The Llama decoder in LibTorch. Internal to moin_core (and its tests and benchmarks): public
// headers never include this file, so most of the program compiles without torch.
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
    std::shared_ptr<LoraWeights> lora;
};

/// A bias-free linear layer with a frozen weight and an optional LoRA pair. The base weight is
/// never changed by the adapter: its product is added to the base product.
class ProjectionImpl : public torch::nn::Module {
public:
    ProjectionImpl(int64_t in, int64_t out);
    /// x: (..., in) -> (..., out)
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight; ///< (out, in), requires_grad false
    std::shared_ptr<LoraWeights> lora;
    /// Per-row adapters of the current batch, set by the serving engine around a forward pass
    /// (used instead of `lora` when not empty).
    std::vector<LoraRowGroup> gathered;
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
    /// x: (B, T, H); cos/sin: (T, headDim) for the positions of x; returns (B, T, H).
    /// With a cache, appends this step's keys/values at cache positions [start, start + T).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin, torch::Tensor* cacheKeys,
                          torch::Tensor* cacheValues, int64_t start);
    Projection qProj{nullptr}, kProj{nullptr}, vProj{nullptr}, oProj{nullptr};
    int64_t numHeads, numKvHeads, headDim;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    explicit MlpImpl(const LlamaConfig& config);
    /// SwiGLU: down(silu(gate(x)) * up(x)); (B, T, H) -> (B, T, H)
    torch::Tensor forward(const torch::Tensor& x);
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

    /// tokens: (B, T) int64 at positions [start, start + T) -> final hidden states (B, T, H)
    /// after the last RMSNorm. With a cache, start must equal cache->length; the cache grows.
    torch::Tensor hidden(const torch::Tensor& tokens, KvCache* cache = nullptr);
    /// tokens: (B, T) -> logits (B, T, vocab)
    torch::Tensor forward(const torch::Tensor& tokens, KvCache* cache = nullptr);
    /// hidden (..., H) -> logits (..., vocab)
    torch::Tensor project(const torch::Tensor& hidden);

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
