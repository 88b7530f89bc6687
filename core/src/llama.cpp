#include "llama.h"

#include "kernels/decoder.h"

#include "moin/error.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace moin {

using json = nlohmann::json;

// ---- configuration ----

namespace {

template <typename T>
T required(const json& j, const char* key, const std::string& source)
{
    if (!j.contains(key) || j[key].is_null())
        throw Error(source + ": the model config has no \"" + key + "\" (expected a Hugging Face "
                    "Llama config.json)");
    try {
        return j[key].get<T>();
    } catch (const json::exception&) {
        throw Error(source + ": \"" + key + "\" has the wrong type: " + j[key].dump());
    }
}

template <typename T>
T optional(const json& j, const char* key, T fallback, const std::string& source)
{
    if (!j.contains(key) || j[key].is_null())
        return fallback;
    try {
        return j[key].get<T>();
    } catch (const json::exception&) {
        throw Error(source + ": \"" + key + "\" has the wrong type: " + j[key].dump());
    }
}

int tokenId(const json& j, const char* key, int fallback, const std::string& source)
{
    if (!j.contains(key) || j[key].is_null())
        return fallback;
    // Llama 3 lists several end tokens; the first is the one generation stops at by default.
    if (j[key].is_array() && !j[key].empty())
        return j[key][0].get<int>();
    return optional<int>(j, key, fallback, source);
}

} // namespace

LlamaConfig LlamaConfig::fromJson(const std::string& text, const std::string& source)
{
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw Error(source + " is not valid JSON: " + e.what());
    }
    if (!j.is_object())
        throw Error(source + " must hold a JSON object (a Hugging Face config.json)");
    const std::string modelType = optional<std::string>(j, "model_type", "llama", source);
    if (modelType != "llama") {
        throw Error(source + ": model_type is \"" + modelType
                    + "\"; MoIN Studio runs Llama-family models (model_type \"llama\", e.g. "
                      "TinyLlama, Llama 2/3)");
    }
    const std::string act = optional<std::string>(j, "hidden_act", "silu", source);
    if (act != "silu")
        throw Error(source + ": hidden_act is \"" + act + "\"; only \"silu\" (SwiGLU) is supported");
    if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
        throw Error(source + ": rope_scaling " + j["rope_scaling"].dump()
                    + " is not supported yet; use a model without it");
    }
    if (optional<bool>(j, "attention_bias", false, source)
        || optional<bool>(j, "mlp_bias", false, source)) {
        throw Error(source + ": attention_bias/mlp_bias are not supported (Llama has no biases)");
    }

    LlamaConfig c;
    c.vocabSize = required<int64_t>(j, "vocab_size", source);
    c.hiddenSize = required<int64_t>(j, "hidden_size", source);
    c.intermediateSize = required<int64_t>(j, "intermediate_size", source);
    c.numLayers = required<int64_t>(j, "num_hidden_layers", source);
    c.numHeads = required<int64_t>(j, "num_attention_heads", source);
    c.numKvHeads = optional<int64_t>(j, "num_key_value_heads", c.numHeads, source);
    c.maxPositions = optional<int64_t>(j, "max_position_embeddings", 2048, source);
    c.rmsNormEps = optional<double>(j, "rms_norm_eps", 1e-6, source);
    c.ropeTheta = optional<double>(j, "rope_theta", 10000.0, source);
    c.tieWordEmbeddings = optional<bool>(j, "tie_word_embeddings", false, source);
    c.bosTokenId = tokenId(j, "bos_token_id", 1, source);
    c.eosTokenId = tokenId(j, "eos_token_id", 2, source);
    c.torchDtype = optional<std::string>(j, "torch_dtype", "float32", source);
    try {
        c.validate();
    } catch (const Error& e) {
        throw Error(source + ": " + e.what());
    }
    return c;
}

LlamaConfig LlamaConfig::load(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw Error("cannot read model config " + path + " (expected a Hugging Face config.json)");
    std::stringstream text;
    text << in.rdbuf();
    return fromJson(text.str(), path);
}

std::string LlamaConfig::toJson() const
{
    const json j = {
        {"architectures", {"LlamaForCausalLM"}},
        {"model_type", "llama"},
        {"hidden_act", "silu"},
        {"vocab_size", vocabSize},
        {"hidden_size", hiddenSize},
        {"intermediate_size", intermediateSize},
        {"num_hidden_layers", numLayers},
        {"num_attention_heads", numHeads},
        {"num_key_value_heads", numKvHeads},
        {"max_position_embeddings", maxPositions},
        {"rms_norm_eps", rmsNormEps},
        {"rope_theta", ropeTheta},
        {"rope_scaling", nullptr},
        {"attention_bias", false},
        {"tie_word_embeddings", tieWordEmbeddings},
        {"bos_token_id", bosTokenId},
        {"eos_token_id", eosTokenId},
        {"torch_dtype", torchDtype},
        {"initializer_range", 0.02},
        {"use_cache", true},
    };
    return j.dump(2) + "\n";
}

void LlamaConfig::validate() const
{
    auto positive = [](int64_t value, const char* name) {
        if (value <= 0)
            throw Error(std::string(name) + " must be positive; got " + std::to_string(value));
    };
    positive(vocabSize, "vocab_size");
    positive(hiddenSize, "hidden_size");
    positive(intermediateSize, "intermediate_size");
    positive(numLayers, "num_hidden_layers");
    positive(numHeads, "num_attention_heads");
    positive(numKvHeads, "num_key_value_heads");
    positive(maxPositions, "max_position_embeddings");
    if (hiddenSize % numHeads != 0) {
        throw Error("hidden_size " + std::to_string(hiddenSize)
                    + " is not a multiple of num_attention_heads " + std::to_string(numHeads));
    }
    if (headDim() % 2 != 0)
        throw Error("the head dimension " + std::to_string(headDim()) + " must be even for RoPE");
    if (numHeads % numKvHeads != 0) {
        throw Error("num_attention_heads " + std::to_string(numHeads)
                    + " is not a multiple of num_key_value_heads " + std::to_string(numKvHeads));
    }
    if (!(rmsNormEps > 0) || !(ropeTheta > 0))
        throw Error("rms_norm_eps and rope_theta must be positive");
    parseTorchDtype(torchDtype);
}

int64_t LlamaConfig::parameterCount() const
{
    const int64_t kvDim = numKvHeads * headDim();
    const int64_t attention = 2 * hiddenSize * hiddenSize + 2 * hiddenSize * kvDim;
    const int64_t mlp = 3 * hiddenSize * intermediateSize;
    const int64_t perLayer = attention + mlp + 2 * hiddenSize;
    const int64_t embeddings = vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2);
    return embeddings + numLayers * perLayer + hiddenSize;
}

LlamaConfig LlamaConfig::tinyLlama()
{
    LlamaConfig c;
    c.vocabSize = 32000;
    c.hiddenSize = 2048;
    c.intermediateSize = 5632;
    c.numLayers = 22;
    c.numHeads = 32;
    c.numKvHeads = 4;
    c.maxPositions = 2048;
    c.rmsNormEps = 1e-5;
    c.ropeTheta = 10000.0;
    c.torchDtype = "bfloat16";
    return c;
}

torch::ScalarType parseTorchDtype(const std::string& name)
{
    if (name == "float32" || name == "float")
        return torch::kFloat32;
    if (name == "float16" || name == "half")
        return torch::kFloat16;
    if (name == "bfloat16")
        return torch::kBFloat16;
    throw Error("dtype \"" + name + "\" is not supported; use float32, float16 or bfloat16");
}

// ---- the forward plan ----

ForwardPlan planFor(const LlamaImpl& model, const torch::Tensor& tokens,
                    const ForwardBatch& batch)
{
    const LlamaConfig& config = model.config;
    ForwardPlan plan;
    plan.B = tokens.size(0);
    plan.T = tokens.size(1);
    plan.cache = batch.cache;
    const int64_t B = plan.B, T = plan.T;
    auto perRow = [&](const auto& values, const char* what) {
        if (!values.empty() && int64_t(values.size()) != B) {
            throw Error(std::string("the forward batch has ") + std::to_string(values.size())
                        + " " + what + " for " + std::to_string(B) + " rows of tokens");
        }
    };
    perRow(batch.cacheSlots, "cache slots");
    perRow(batch.starts, "start positions");
    perRow(batch.lengths, "row lengths");
    perRow(batch.adapters, "adapters");
    if (!batch.cache && (!batch.cacheSlots.empty() || !batch.starts.empty()))
        throw Error("cache slots and start positions need a KV cache");
    const auto device = model.deviceOf();
    const auto longs = torch::TensorOptions().dtype(torch::kLong);

    plan.shared = batch.cacheSlots.empty() && batch.starts.empty() && batch.lengths.empty();
    if (plan.shared) {
        plan.start = batch.cache ? batch.cache->length : 0;
        plan.span = plan.start + T;
        if (batch.cache && B > int64_t(batch.cache->keys.empty() ? 0 : batch.cache->keys[0].size(0)))
            throw Error("the batch has " + std::to_string(B) + " rows; the KV cache holds "
                        + std::to_string(batch.cache->keys[0].size(0)));
    } else {
        const int64_t cacheRows = batch.cache->keys.empty() ? 0 : batch.cache->keys[0].size(0);
        for (int64_t b = 0; b < B; ++b) {
            const int64_t slot = batch.cacheSlots.empty() ? b : batch.cacheSlots[size_t(b)];
            const int64_t start =
                batch.starts.empty() ? batch.cache->length : batch.starts[size_t(b)];
            const int64_t length = batch.lengths.empty() ? T : batch.lengths[size_t(b)];
            if (slot < 0 || slot >= cacheRows)
                throw Error("cache slot " + std::to_string(slot) + " is outside the KV cache's "
                            + std::to_string(cacheRows) + " rows");
            if (start < 0 || length < 1 || length > T)
                throw Error("row " + std::to_string(b) + " starts at " + std::to_string(start)
                            + " with " + std::to_string(length) + " of " + std::to_string(T)
                            + " tokens; expected a start of 0 or more and 1 to T tokens");
            plan.cacheSlots.push_back(slot);
            plan.starts.push_back(start);
            plan.lengths.push_back(length);
            plan.span = std::max(plan.span, start + length);
        }
        plan.slotIndex = torch::tensor(plan.cacheSlots, longs).to(device);
    }
    if (plan.span > config.maxPositions) {
        throw Error("sequence of " + std::to_string(plan.span)
                    + " tokens exceeds the model's context length "
                    + std::to_string(config.maxPositions));
    }
    if (batch.cache && plan.span > batch.cache->capacity) {
        throw Error("KV cache full: " + std::to_string(plan.span) + " tokens for a capacity of "
                    + std::to_string(batch.cache->capacity));
    }

    const int64_t hd = config.headDim();
    const int64_t S = plan.span;
    if (plan.shared) {
        plan.cos = model.ropeCos.narrow(0, plan.start, T).view({1, T, 1, hd});
        plan.sin = model.ropeSin.narrow(0, plan.start, T).view({1, T, 1, hd});
        if (T > 1) {
            // Query t (absolute position start + t) sees keys 0..start + t.
            const auto options = longs.device(device);
            const torch::Tensor queryPos =
                torch::arange(plan.start, plan.start + T, options).view({T, 1});
            plan.blocked = torch::arange(0, S, options).view({1, S}) > queryPos; // (T, S)
        }
    } else {
        // Padding's positions are clamped into the table: their outputs are not used.
        std::vector<int64_t> positions;
        for (int64_t b = 0; b < B; ++b) {
            for (int64_t t = 0; t < T; ++t)
                positions.push_back(std::min(plan.starts[size_t(b)] + t, config.maxPositions - 1));
        }
        const torch::Tensor pos = torch::tensor(positions, longs).to(device); // (B*T)
        plan.cos = model.ropeCos.index_select(0, pos).view({B, T, 1, hd});
        plan.sin = model.ropeSin.index_select(0, pos).view({B, T, 1, hd});
        const torch::Tensor keyPos =
            torch::arange(0, S, longs.device(device)).view({1, 1, S});
        plan.blocked = (keyPos > pos.view({B, T, 1})).view({B, 1, 1, T, S});
    }

    plan.attached = batch.adapters.empty();
    if (!plan.attached) {
        plan.rowAdapters = batch.adapters;
        // Rows that share an adapter form one group per projection.
        std::map<const LoadedAdapter*, std::vector<int64_t>> rowsOf;
        for (int64_t b = 0; b < B; ++b) {
            if (const LoadedAdapter* adapter = batch.adapters[size_t(b)])
                rowsOf[adapter].push_back(b);
        }
        const size_t count = size_t(config.numLayers * kProjectionsPerLayer);
        plan.groups.resize(count);
        for (const auto& [adapter, rows] : rowsOf) {
            if (adapter->byIndex.size() != count)
                throw Error("the adapter was read for a model of another shape");
            const torch::Tensor rowIndex = torch::tensor(rows, longs).to(device);
            for (size_t p = 0; p < count; ++p) {
                if (const LoraWeights* lora = adapter->byIndex[p])
                    plan.groups[p].push_back({rowIndex, lora});
            }
        }
    }
    return plan;
}

namespace {

// (..., hd) -> (..., hd): [-x2, x1] for the halves x1, x2 (Hugging Face's RoPE layout).
torch::Tensor rotateHalf(const torch::Tensor& x)
{
    const int64_t half = x.size(-1) / 2;
    return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

} // namespace

// ---- modules ----

ProjectionImpl::ProjectionImpl(int64_t in, int64_t out) : inFeatures(in), outFeatures(out)
{
    weight = register_parameter("weight", torch::empty({out, in}), /*requires_grad=*/false);
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x) { return forward(x, nullptr); }

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x,
                                      const std::vector<LoraRowGroup>* groups)
{
    torch::Tensor y = torch::linear(x, weight);
    if (groups) {
        for (const LoraRowGroup& group : *groups) {
            const torch::Tensor rows = x.index_select(0, group.rows);
            y.index_add_(0, group.rows,
                         torch::linear(torch::linear(rows, group.lora->a), group.lora->b)
                             * group.lora->scaling);
        }
        return y;
    }
    if (lora) {
        torch::Tensor input = x;
        if (lora->dropout > 0 && is_training())
            input = torch::dropout(x, lora->dropout, /*train=*/true);
        y = y + torch::linear(torch::linear(input, lora->a), lora->b) * lora->scaling;
    }
    return y;
}

RmsNormImpl::RmsNormImpl(int64_t dim, double eps_) : eps(eps_)
{
    weight = register_parameter("weight", torch::ones({dim}), /*requires_grad=*/false);
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x)
{
    const torch::Tensor x32 = x.to(torch::kFloat32);
    const torch::Tensor normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + eps);
    return weight * normed.to(x.scalar_type());
}

AttentionImpl::AttentionImpl(const LlamaConfig& c)
    : numHeads(c.numHeads), numKvHeads(c.numKvHeads), headDim(c.headDim())
{
    qProj = register_module("q_proj", Projection(c.hiddenSize, numHeads * headDim));
    kProj = register_module("k_proj", Projection(c.hiddenSize, numKvHeads * headDim));
    vProj = register_module("v_proj", Projection(c.hiddenSize, numKvHeads * headDim));
    oProj = register_module("o_proj", Projection(numHeads * headDim, c.hiddenSize));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const ForwardPlan& plan,
                                     int64_t layer)
{
    const int64_t B = x.size(0);
    const int64_t T = x.size(1);
    const int64_t rep = numHeads / numKvHeads;
    const torch::Tensor c = plan.cos.to(x.scalar_type()); // (B or 1, T, 1, hd)
    const torch::Tensor s = plan.sin.to(x.scalar_type());

    torch::Tensor q = qProj->forward(x, plan.groupsOf(layer, kQ)).view({B, T, numHeads, headDim});
    torch::Tensor k =
        kProj->forward(x, plan.groupsOf(layer, kK)).view({B, T, numKvHeads, headDim});
    torch::Tensor v =
        vProj->forward(x, plan.groupsOf(layer, kV)).view({B, T, numKvHeads, headDim});
    q = q * c + rotateHalf(q) * s;
    k = k * c + rotateHalf(k) * s;
    // Query head h uses kv head h / rep (Hugging Face's repeat_kv). Grouping the rep query
    // heads of a kv head into the row dimension lets one matmul serve them without copying K/V.
    q = q.view({B, T, numKvHeads, rep, headDim})
            .permute({0, 2, 3, 1, 4})
            .reshape({B, numKvHeads, rep * T, headDim}); // (B, nkv, rep*T, hd)
    k = k.transpose(1, 2);                                // (B, nkv, T, hd)
    v = v.transpose(1, 2);                                // (B, nkv, T, hd)
    if (plan.cache) {
        torch::Tensor& keys = plan.cache->keys[size_t(layer)];     // (slots, nkv, cap, hd)
        torch::Tensor& values = plan.cache->values[size_t(layer)]; // (slots, nkv, cap, hd)
        if (plan.shared) {
            keys.narrow(0, 0, B).narrow(2, plan.start, T).copy_(k);
            values.narrow(0, 0, B).narrow(2, plan.start, T).copy_(v);
            k = keys.narrow(0, 0, B).narrow(2, 0, plan.span); // (B, nkv, S, hd)
            v = values.narrow(0, 0, B).narrow(2, 0, plan.span);
        } else {
            for (int64_t b = 0; b < B; ++b) {
                const int64_t n = plan.lengths[size_t(b)];
                const int64_t slot = plan.cacheSlots[size_t(b)];
                const int64_t start = plan.starts[size_t(b)];
                keys.select(0, slot).narrow(1, start, n).copy_(k[b].narrow(1, 0, n));
                values.select(0, slot).narrow(1, start, n).copy_(v[b].narrow(1, 0, n));
            }
            k = keys.index_select(0, plan.slotIndex).narrow(2, 0, plan.span); // (B, nkv, S, hd)
            v = values.index_select(0, plan.slotIndex).narrow(2, 0, plan.span);
        }
    }
    // A float32 cache (the decoder's, on the CPU) serves a half-precision model too.
    k = k.to(x.scalar_type());
    v = v.to(x.scalar_type());
    const int64_t S = k.size(2);
    torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)).to(torch::kFloat32)
                           * (1.0 / std::sqrt(double(headDim))); // (B, nkv, rep*T, S)
    if (plan.blocked.defined()) {
        scores = scores.view({B, numKvHeads, rep, T, S})
                     .masked_fill(plan.blocked, -std::numeric_limits<float>::infinity())
                     .view({B, numKvHeads, rep * T, S});
    }
    const torch::Tensor probs = torch::softmax(scores, -1).to(v.scalar_type());
    const torch::Tensor out = torch::matmul(probs, v)               // (B, nkv, rep*T, hd)
                                  .view({B, numKvHeads, rep, T, headDim})
                                  .permute({0, 3, 1, 2, 4})          // (B, T, nkv, rep, hd)
                                  .reshape({B, T, numHeads * headDim});
    return oProj->forward(out, plan.groupsOf(layer, kO));
}

MlpImpl::MlpImpl(const LlamaConfig& c)
{
    gateProj = register_module("gate_proj", Projection(c.hiddenSize, c.intermediateSize));
    upProj = register_module("up_proj", Projection(c.hiddenSize, c.intermediateSize));
    downProj = register_module("down_proj", Projection(c.intermediateSize, c.hiddenSize));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x, const ForwardPlan& plan, int64_t layer)
{
    return downProj->forward(torch::silu(gateProj->forward(x, plan.groupsOf(layer, kGate)))
                                 * upProj->forward(x, plan.groupsOf(layer, kUp)),
                             plan.groupsOf(layer, kDown));
}

DecoderLayerImpl::DecoderLayerImpl(const LlamaConfig& c)
{
    inputNorm = register_module("input_layernorm", RmsNorm(c.hiddenSize, c.rmsNormEps));
    attention = register_module("self_attn", Attention(c));
    postAttentionNorm =
        register_module("post_attention_layernorm", RmsNorm(c.hiddenSize, c.rmsNormEps));
    mlp = register_module("mlp", Mlp(c));
}

LlamaImpl::LlamaImpl(const LlamaConfig& c) : config(c)
{
    config.validate();
    embedTokens = register_parameter("embed_tokens",
                                     torch::empty({c.vocabSize, c.hiddenSize}), false);
    for (int64_t i = 0; i < c.numLayers; ++i)
        layers.push_back(register_module("layer" + std::to_string(i), DecoderLayer(c)));
    norm = register_module("norm", RmsNorm(c.hiddenSize, c.rmsNormEps));
    if (!c.tieWordEmbeddings)
        lmHead = register_module("lm_head", Projection(c.hiddenSize, c.vocabSize));

    const int64_t hd = c.headDim();
    const torch::Tensor invFreq =
        1.0 / torch::pow(c.ropeTheta, torch::arange(0, hd, 2, torch::kFloat64) / double(hd));
    const torch::Tensor positions = torch::arange(0, c.maxPositions, torch::kFloat64);
    const torch::Tensor freqs = torch::outer(positions, invFreq); // (P, hd/2)
    const torch::Tensor angles = torch::cat({freqs, freqs}, -1);  // (P, hd)
    ropeCos = register_buffer("rope_cos", angles.cos().to(torch::kFloat32));
    ropeSin = register_buffer("rope_sin", angles.sin().to(torch::kFloat32));
}

torch::Tensor LlamaImpl::hidden(const torch::Tensor& tokens, const ForwardBatch& batch)
{
    if (tokens.dim() != 2)
        throw Error("the forward pass takes tokens of shape (batch, length); got "
                    + std::to_string(tokens.dim()) + " dimensions");
    const ForwardPlan plan = planFor(*this, tokens, batch);
    if (fastDecodeApplies(*this, plan)) {
        torch::Tensor h = decodeHidden(*this, tokens, plan);
        if (batch.cache && plan.shared)
            batch.cache->length = plan.span;
        return h;
    }
    torch::Tensor x = torch::embedding(embedTokens, tokens); // (B, T, H)
    for (size_t i = 0; i < layers.size(); ++i) {
        DecoderLayerImpl& layer = *layers[i];
        x = x + layer.attention->forward(layer.inputNorm(x), plan, int64_t(i));
        x = x + layer.mlp->forward(layer.postAttentionNorm(x), plan, int64_t(i));
    }
    if (batch.cache && plan.shared)
        batch.cache->length = plan.span;
    return norm(x);
}

torch::Tensor LlamaImpl::hidden(const torch::Tensor& tokens, KvCache* cache)
{
    ForwardBatch batch;
    batch.cache = cache;
    return hidden(tokens, batch);
}

torch::Tensor LlamaImpl::project(const torch::Tensor& h)
{
    if (fastProjectApplies(*this, h))
        return projectRows(*this, h);
    // The decoder's hidden states are float32 whatever the model's type.
    const torch::Tensor x = h.to(dtypeOf());
    return lmHead ? lmHead->forward(x) : torch::linear(x, embedTokens);
}

torch::Tensor LlamaImpl::forward(const torch::Tensor& tokens, const ForwardBatch& batch)
{
    return project(hidden(tokens, batch));
}

torch::Tensor LlamaImpl::forward(const torch::Tensor& tokens, KvCache* cache)
{
    return project(hidden(tokens, cache));
}

void LlamaImpl::place(torch::Device device, torch::ScalarType dtype)
{
    to(device, dtype);
    ropeCos.set_data(ropeCos.to(torch::kFloat32));
    ropeSin.set_data(ropeSin.to(torch::kFloat32));
}

KvCache LlamaImpl::makeCache(int64_t batch, int64_t capacity) const
{
    KvCache cache;
    cache.capacity = std::min(capacity, config.maxPositions);
    // On the CPU keys and values stay float32 whatever the weights: the decoder reads them so.
    const auto options = torch::TensorOptions().device(deviceOf()).dtype(
        deviceOf().is_cpu() ? torch::kFloat32 : dtypeOf());
    // Zeros, not empty(): a batched decode step reads every slot up to the batch's longest
    // position, and a masked position's weight of 0 times a NaN left in uninitialised memory
    // is NaN (seen as "probability tensor contains inf or nan" under 64 concurrent clients).
    for (int64_t i = 0; i < config.numLayers; ++i) {
        cache.keys.push_back(
            torch::zeros({batch, config.numKvHeads, cache.capacity, config.headDim()}, options));
        cache.values.push_back(
            torch::zeros({batch, config.numKvHeads, cache.capacity, config.headDim()}, options));
    }
    return cache;
}

std::vector<std::pair<std::string, Projection>> LlamaImpl::namedProjections() const
{
    std::vector<std::pair<std::string, Projection>> out;
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string prefix = "model.layers." + std::to_string(i) + ".";
        const DecoderLayerImpl& layer = *layers[i];
        out.emplace_back(prefix + "self_attn.q_proj", layer.attention->qProj);
        out.emplace_back(prefix + "self_attn.k_proj", layer.attention->kProj);
        out.emplace_back(prefix + "self_attn.v_proj", layer.attention->vProj);
        out.emplace_back(prefix + "self_attn.o_proj", layer.attention->oProj);
        out.emplace_back(prefix + "mlp.gate_proj", layer.mlp->gateProj);
        out.emplace_back(prefix + "mlp.up_proj", layer.mlp->upProj);
        out.emplace_back(prefix + "mlp.down_proj", layer.mlp->downProj);
    }
    return out;
}

std::vector<std::pair<std::string, torch::Tensor>> LlamaImpl::namedWeights() const
{
    std::vector<std::pair<std::string, torch::Tensor>> out;
    out.emplace_back("model.embed_tokens.weight", embedTokens);
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string prefix = "model.layers." + std::to_string(i) + ".";
        out.emplace_back(prefix + "input_layernorm.weight", layers[i]->inputNorm->weight);
        out.emplace_back(prefix + "post_attention_layernorm.weight",
                         layers[i]->postAttentionNorm->weight);
    }
    for (const auto& [name, projection] : namedProjections())
        out.emplace_back(name + ".weight", projection->weight);
    out.emplace_back("model.norm.weight", norm->weight);
    if (lmHead)
        out.emplace_back("lm_head.weight", lmHead->weight);
    return out;
}

} // namespace moin
