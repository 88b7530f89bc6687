// Autoregressive generation with a KV cache: sampling, streaming, cancellation.
#include "llama.h"
#include "sampling.h"

#include "moin/error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <unordered_set>

namespace moin {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

void GenerationOptions::validate() const
{
    const GenerationOptions& o = *this;
    if (o.maxNewTokens < 0)
        throw Error("max new tokens must be 0 or more; got " + std::to_string(o.maxNewTokens));
    if (!std::isfinite(o.temperature) || o.temperature < 0)
        throw Error("temperature must be 0 (greedy) or positive; got "
                    + std::to_string(o.temperature));
    if (o.topK < 0)
        throw Error("top-k must be 0 (off) or positive; got " + std::to_string(o.topK));
    if (!(o.topP > 0 && o.topP <= 1))
        throw Error("top-p must be in (0, 1]; got " + std::to_string(o.topP));
    if (!(o.repetitionPenalty > 0) || !std::isfinite(o.repetitionPenalty))
        throw Error("repetition penalty must be positive (1 = off); got "
                    + std::to_string(o.repetitionPenalty));
}

GenerationResult LanguageModel::generateTokens(const std::vector<int32_t>& prompt,
                                               const GenerationOptions& options,
                                               const TokenCallback& onToken,
                                               const CancelToken* cancel) const
{
    options.validate();
    LlamaImpl& model = *m_impl->model;
    const LlamaConfig& config = model.config;
    if (prompt.empty())
        throw Error("the prompt is empty: generation needs at least one token (BOS)");
    if (int64_t(prompt.size()) >= config.maxPositions) {
        throw Error("the prompt has " + std::to_string(prompt.size())
                    + " tokens; the model's context holds " + std::to_string(config.maxPositions)
                    + " (hint: shorten the prompt or the conversation history)");
    }
    for (int32_t token : prompt) {
        if (token < 0 || token >= config.vocabSize)
            throw Error("prompt token " + std::to_string(token) + " is outside the vocabulary");
    }

    torch::InferenceMode guard;
    GenerationResult result;
    result.promptTokens = static_cast<int>(prompt.size());
    const int64_t capacity =
        std::min<int64_t>(config.maxPositions, int64_t(prompt.size()) + options.maxNewTokens);
    KvCache cache = model.makeCache(1, capacity);
    Sampler sampler(options);
    TextStream stream(m_impl->tokenizer ? &*m_impl->tokenizer : nullptr);
    std::vector<int64_t> seen(prompt.begin(), prompt.end());
    std::unordered_set<int64_t> seenSet(seen.begin(), seen.end());
    seen.assign(seenSet.begin(), seenSet.end());

    auto start = Clock::now();
    const torch::Tensor input =
        torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), torch::kLong)
            .view({1, -1})
            .to(model.deviceOf());
    torch::Tensor last = model.forward(input, &cache).select(1, -1).squeeze(0);
    result.prefillSeconds = secondsSince(start);
    start = Clock::now();

    result.stopReason = "length";
    while (int64_t(result.tokens.size()) < options.maxNewTokens) {
        if (cancel && cancel->isCancelled()) {
            result.stopReason = "cancelled";
            break;
        }
        const int32_t next = sampler.pick(last.to(torch::kCPU, torch::kFloat32).clone(), seen);
        if (options.stopAtEos && next == config.eosTokenId) {
            result.stopReason = "eos";
            break;
        }
        result.tokens.push_back(next);
        if (seenSet.insert(next).second)
            seen.push_back(next);
        if (onToken && !onToken(stream.delta(result.tokens, false), next)) {
            result.stopReason = "callback";
            break;
        }
        if (cache.length >= cache.capacity)
            break; // context full: "length"
        const torch::Tensor step =
            torch::full({1, 1}, int64_t(next), torch::TensorOptions().dtype(torch::kLong))
                .to(model.deviceOf());
        last = model.forward(step, &cache).select(1, -1).squeeze(0);
    }
    result.decodeSeconds = secondsSince(start);
    if (m_impl->tokenizer) {
        result.text = m_impl->tokenizer->decode(result.tokens);
        const std::string rest = stream.delta(result.tokens, true);
        if (onToken && !rest.empty())
            onToken(rest, -1);
    }
    return result;
}

GenerationResult LanguageModel::generate(const std::string& prompt,
                                         const GenerationOptions& options,
                                         const TokenCallback& onToken,
                                         const CancelToken* cancel) const
{
    std::vector<int32_t> tokens = {config().bosTokenId};
    const std::vector<int32_t> body = tokenizer().encode(prompt);
    tokens.insert(tokens.end(), body.begin(), body.end());
    return generateTokens(tokens, options, onToken, cancel);
}

} // namespace moin
