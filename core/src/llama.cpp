#include "llama.h"

#include "moin/error.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
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

// ---- modules ----

ProjectionImpl::ProjectionImpl(int64_t in, int64_t out) : inFeatures(in), outFeatures(out)
{
    weight = register_parameter("weight", torch::empty({out, in}), /*requires_grad=*/false);
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x)
{
    torch::Tensor y = torch::linear(x, weight);
    if (!gathered.empty()) {
        for (const LoraRowGroup& group : gathered) {
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

namespace {
// (..., hd) -> (..., hd): [-x2, x1] for the halves x1, x2 (Hugging Face's RoPE layout).
torch::Tensor rotateHalf(const torch::Tensor& x)
{
    const int64_t half = x.size(-1) / 2;
    return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}
} // namespace

AttentionImpl::AttentionImpl(const LlamaConfig& c)
    : numHeads(c.numHeads), numKvHeads(c.numKvHeads), headDim(c.headDim())
{
    qProj = register_module("q_proj", Projection(c.hiddenSize, numHeads * headDim));
    kProj = register_module("k_proj", Projection(c.hiddenSize, numKvHeads * headDim));
    vProj = register_module("v_proj", Projection(c.hiddenSize, numKvHeads * headDim));
    oProj = register_module("o_proj", Projection(numHeads * headDim, c.hiddenSize));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                     const torch::Tensor& sin, torch::Tensor* cacheKeys,
                                     torch::Tensor* cacheValues, int64_t start)
{
    const int64_t B = x.size(0);
    const int64_t T = x.size(1);
    const int64_t rep = numHeads / numKvHeads;
    const torch::Tensor c = cos.view({1, T, 1, headDim}).to(x.scalar_type());
    const torch::Tensor s = sin.view({1, T, 1, headDim}).to(x.scalar_type());

    torch::Tensor q = qProj(x).view({B, T, numHeads, headDim});   // (B, T, nh, hd)
    torch::Tensor k = kProj(x).view({B, T, numKvHeads, headDim}); // (B, T, nkv, hd)
    torch::Tensor v = vProj(x).view({B, T, numKvHeads, headDim}); // (B, T, nkv, hd)
    q = q * c + rotateHalf(q) * s;
    k = k * c + rotateHalf(k) * s;
    // Query head h uses kv head h / rep (Hugging Face's repeat_kv). Grouping the rep query
    // heads of a kv head into the row dimension lets one matmul serve them without copying K/V.
    q = q.view({B, T, numKvHeads, rep, headDim})
            .permute({0, 2, 3, 1, 4})
            .reshape({B, numKvHeads, rep * T, headDim}); // (B, nkv, rep*T, hd)
    k = k.transpose(1, 2);                                // (B, nkv, T, hd)
    v = v.transpose(1, 2);                                // (B, nkv, T, hd)
    if (cacheKeys) {
        cacheKeys->narrow(2, start, T).copy_(k);
        cacheValues->narrow(2, start, T).copy_(v);
        k = cacheKeys->narrow(2, 0, start + T); // (B, nkv, S, hd)
        v = cacheValues->narrow(2, 0, start + T);
    }
    const int64_t S = k.size(2);
    torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)).to(torch::kFloat32)
                           * (1.0 / std::sqrt(double(headDim))); // (B, nkv, rep*T, S)
    if (T > 1) {
        // Query t (absolute position start + t) sees keys 0..start + t.
        const auto options = torch::TensorOptions().device(x.device()).dtype(torch::kLong);
        const torch::Tensor queryPos = torch::arange(start, start + T, options).view({T, 1});
        const torch::Tensor keyPos = torch::arange(0, S, options).view({1, S});
        const torch::Tensor blocked = keyPos > queryPos; // (T, S)
        scores = scores.view({B, numKvHeads, rep, T, S})
                     .masked_fill(blocked, -std::numeric_limits<float>::infinity())
                     .view({B, numKvHeads, rep * T, S});
    }
    const torch::Tensor probs = torch::softmax(scores, -1).to(v.scalar_type());
    const torch::Tensor out = torch::matmul(probs, v)               // (B, nkv, rep*T, hd)
                                  .view({B, numKvHeads, rep, T, headDim})
                                  .permute({0, 3, 1, 2, 4})          // (B, T, nkv, rep, hd)
                                  .reshape({B, T, numHeads * headDim});
    return oProj(out);
}

MlpImpl::MlpImpl(const LlamaConfig& c)
{
    gateProj = register_module("gate_proj", Projection(c.hiddenSize, c.intermediateSize));
    upProj = register_module("up_proj", Projection(c.hiddenSize, c.intermediateSize));
    downProj = register_module("down_proj", Projection(c.intermediateSize, c.hiddenSize));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x)
{
    return downProj(torch::silu(gateProj(x)) * upProj(x));
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

torch::Tensor LlamaImpl::hidden(const torch::Tensor& tokens, KvCache* cache)
{
    const int64_t T = tokens.size(1);
    const int64_t start = cache ? cache->length : 0;
    if (start + T > config.maxPositions) {
        throw Error("sequence of " + std::to_string(start + T)
                    + " tokens exceeds the model's context length "
                    + std::to_string(config.maxPositions));
    }
    if (cache && start + T > cache->capacity) {
        throw Error("KV cache full: " + std::to_string(start + T) + " tokens for a capacity of "
                    + std::to_string(cache->capacity));
    }
    const torch::Tensor cos = ropeCos.narrow(0, start, T);
    const torch::Tensor sin = ropeSin.narrow(0, start, T);
    torch::Tensor x = torch::embedding(embedTokens, tokens); // (B, T, H)
    for (size_t i = 0; i < layers.size(); ++i) {
        DecoderLayerImpl& layer = *layers[i];
        torch::Tensor* keys = cache ? &cache->keys[i] : nullptr;
        torch::Tensor* values = cache ? &cache->values[i] : nullptr;
        x = x + layer.attention->forward(layer.inputNorm(x), cos, sin, keys, values, start);
        x = x + layer.mlp(layer.postAttentionNorm(x));
    }
    if (cache)
        cache->length = start + T;
    return norm(x);
}

torch::Tensor LlamaImpl::project(const torch::Tensor& h)
{
    return lmHead ? lmHead(h) : torch::linear(h, embedTokens);
}

torch::Tensor LlamaImpl::forward(const torch::Tensor& tokens, KvCache* cache)
{
    return project(hidden(tokens, cache));
}

KvCache LlamaImpl::makeCache(int64_t batch, int64_t capacity) const
{
    KvCache cache;
    cache.capacity = std::min(capacity, config.maxPositions);
    const auto options = torch::TensorOptions().device(deviceOf()).dtype(dtypeOf());
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
