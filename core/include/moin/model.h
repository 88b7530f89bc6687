#pragma once
// Llama-family language models (TinyLlama, Llama 2/3 shapes, the built-in small base) with LoRA
// adapters in PEFT's format. LibTorch stays behind this header: callers see std:: types only.
#include "moin/cancel.h"
#include "moin/tokenizer.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moin {

/// The architecture of a Llama-family model, as in Hugging Face's `config.json`.
struct LlamaConfig {
    /// Tokens in the vocabulary (`vocab_size`).
    int64_t vocabSize = 32000;
    /// Width of the residual stream (`hidden_size`).
    int64_t hiddenSize = 2048;
    /// Width of the SwiGLU MLP (`intermediate_size`).
    int64_t intermediateSize = 5632;
    /// Decoder layers (`num_hidden_layers`).
    int64_t numLayers = 22;
    /// Query heads (`num_attention_heads`).
    int64_t numHeads = 32;
    /// Key/value heads, fewer than numHeads for grouped-query attention (`num_key_value_heads`).
    int64_t numKvHeads = 4;
    /// Longest sequence the model was trained for (`max_position_embeddings`).
    int64_t maxPositions = 2048;
    /// RMSNorm epsilon (`rms_norm_eps`).
    double rmsNormEps = 1e-5;
    /// Rotary embedding base (`rope_theta`).
    double ropeTheta = 10000.0;
    /// lm_head shares the input embedding's weights (`tie_word_embeddings`).
    bool tieWordEmbeddings = false;
    /// Special token ids (`bos_token_id`, `eos_token_id`).
    int bosTokenId = 1;
    int eosTokenId = 2;
    /// dtype the weights are stored in (`torch_dtype`): float32, float16 or bfloat16.
    std::string torchDtype = "float32";

    /// Parses a config.json text; `source` names it in errors. Refuses architectures and
    /// options this implementation does not compute (rope_scaling, attention_bias, ...).
    static LlamaConfig fromJson(const std::string& json, const std::string& source);
    static LlamaConfig load(const std::string& configJsonPath);
    /// config.json text in Hugging Face's keys.
    std::string toJson() const;
    /// Throws moin::Error naming the first inconsistent field.
    void validate() const;
    int64_t headDim() const { return hiddenSize / numHeads; }
    /// Number of weights (embeddings counted once when tied).
    int64_t parameterCount() const;
    /// TinyLlama-1.1B's shape (the MoIN paper's base).
    static LlamaConfig tinyLlama();
};

/// A LoRA adapter's settings, as in PEFT's `adapter_config.json`.
struct LoraConfig {
    /// Rank r of A (r, in) and B (out, r).
    int rank = 8;
    /// Scale numerator: the update is (alpha / r) B A x (alpha / sqrt(r) with rsLoRA).
    double alpha = 16.0;
    /// Dropout on the adapter's input during training; 0 disables.
    double dropout = 0.05;
    /// Projections that get an adapter: any of q_proj k_proj v_proj o_proj gate_proj up_proj
    /// down_proj.
    std::vector<std::string> targetModules = {"q_proj", "v_proj"};
    /// `base_model_name_or_path`: the base this adapter was trained on.
    std::string baseModel;
    /// Rank-stabilised scaling alpha / sqrt(r) (`use_rslora`).
    bool useRslora = false;

    double scaling() const;
    void validate() const;
    /// adapter_config.json text in PEFT's keys.
    std::string toJson() const;
    static LoraConfig fromJson(const std::string& json, const std::string& source);
};

/// How to pick each next token.
struct GenerationOptions {
    /// Upper bound on new tokens; generation also stops at the context length.
    int maxNewTokens = 128;
    /// Softmax temperature; 0 (or less) means greedy decoding.
    double temperature = 0.8;
    /// Keep only the k most likely tokens; 0 disables.
    int topK = 40;
    /// Keep the smallest set of tokens whose probability reaches p; 1 disables.
    double topP = 0.95;
    /// Divide (or multiply, when negative) the logits of tokens already present; 1 disables.
    double repetitionPenalty = 1.1;
    /// Stop when the model emits its end-of-sequence token.
    bool stopAtEos = true;
    /// Seed of the sampler: the same seed, prompt and options give the same text.
    uint64_t seed = 42;

    /// Throws moin::Error naming the first option out of range.
    void validate() const;
};

/// Receives the text each new token adds (possibly empty while a UTF-8 character is
/// incomplete) and the token; returns false to stop generating.
using TokenCallback = std::function<bool(const std::string& textDelta, int32_t token)>;

struct GenerationResult {
    /// New tokens only (the prompt excluded).
    std::vector<int32_t> tokens;
    /// Their text.
    std::string text;
    /// "eos", "length" (max tokens or context full), "cancelled" or "callback".
    std::string stopReason;
    int promptTokens = 0;
    /// Wall time of the prompt's forward pass (time to first token) and of the rest.
    double prefillSeconds = 0;
    double decodeSeconds = 0;
};

struct PerplexityResult {
    /// Tokens scored.
    int64_t tokens = 0;
    /// Mean negative log-likelihood per scored token, in nats.
    double meanNll = 0;
    /// exp(meanNll).
    double perplexity = 0;
};

/// Options for loading a model.
struct ModelLoadOptions {
    /// "auto" (CUDA if available, else CPU), "cpu", "cuda", "cuda:N".
    std::string device = "auto";
    /// Compute dtype: "auto" (float32 on CPU; the checkpoint's dtype on CUDA), "float32",
    /// "float16", "bfloat16".
    std::string dtype = "auto";
    /// Load tokenizer.model from the folder when present.
    bool loadTokenizer = true;
};

/// A Llama-family model with at most one LoRA adapter attached. Not copyable; movable.
/// One thread at a time may run it; the base weights are never modified except by
/// mergeAdapter().
class LanguageModel {
public:
    /// Loads a Hugging Face folder: config.json, model.safetensors (or its sharded index and
    /// shards; float32, float16 or bfloat16), and tokenizer.model when present.
    static LanguageModel load(const std::string& directory, const ModelLoadOptions& options = {});
    /// A model with random weights (std 0.02; norms 1), for tests and benchmarks.
    static LanguageModel random(const LlamaConfig& config, uint64_t seed,
                                const ModelLoadOptions& options = {});

    LanguageModel(LanguageModel&&) noexcept;
    LanguageModel& operator=(LanguageModel&&) noexcept;
    ~LanguageModel();

    /// Writes config.json, generation_config.json, model.safetensors (in `dtype`: float32,
    /// float16 or bfloat16) and the tokenizer, each file atomically.
    void save(const std::string& directory, const std::string& dtype = "float32") const;

    const LlamaConfig& config() const;
    /// The folder the model was loaded from (empty for random models).
    const std::string& directory() const;
    /// LibTorch device string, e.g. "cpu" or "cuda:0".
    std::string device() const;
    bool hasTokenizer() const;
    /// Throws moin::Error if the model has no tokenizer.
    const Tokenizer& tokenizer() const;
    void setTokenizer(const Tokenizer& tokenizer);

    /// Attaches a new adapter (A Kaiming-uniform, B zero: the output is unchanged at first).
    void attachNewAdapter(const LoraConfig& config, uint64_t seed);
    /// Loads a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) and
    /// attaches it, replacing any other. Throws moin::Error naming the tensor for a missing
    /// tensor, a tensor the base lacks, or a wrong shape or rank; the model is then unchanged.
    void loadAdapter(const std::string& directory);
    /// Writes the attached adapter in PEFT's format, each file atomically.
    void saveAdapter(const std::string& directory) const;
    void detachAdapter();
    bool hasAdapter() const;
    std::optional<LoraConfig> adapterConfig() const;
    /// W += scaling * B A for every adapted projection, then detaches the adapter. Load the
    /// model again for an unmerged copy.
    void mergeAdapter();

    /// Logits of every position, row-major (tokens.size(), vocabSize), float32.
    std::vector<float> logits(const std::vector<int32_t>& tokens) const;
    /// Perplexity of `text` as the tokenizer encodes it, BOS prepended: each token after the
    /// first is scored given those before it, in windows of maxPositions tokens that overlap
    /// by one token so that every token is scored exactly once.
    PerplexityResult perplexity(const std::string& text) const;
    PerplexityResult perplexityOfTokens(const std::vector<int32_t>& tokensWithBos) const;

    /// Generates a continuation of `prompt` (BOS prepended). Streams through `onToken`; stops
    /// early when `cancel` is set (stopReason "cancelled"). Throws moin::Error on bad options.
    GenerationResult generate(const std::string& prompt, const GenerationOptions& options,
                              const TokenCallback& onToken = {},
                              const CancelToken* cancel = nullptr) const;
    GenerationResult generateTokens(const std::vector<int32_t>& prompt,
                                    const GenerationOptions& options,
                                    const TokenCallback& onToken = {},
                                    const CancelToken* cancel = nullptr) const;

    /// The LibTorch-level model, for core modules (training, serving) that include
    /// core/src/llama.h. Not part of the stable interface.
    struct Impl;
    Impl& impl() const { return *m_impl; }

private:
    explicit LanguageModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace moin
