// Autoregressive generation with a KV cache: sampling, streaming, cancellation; one model or a
// mixture of experts decoding as rows of one batch.
#include "llama.h"
#include "sampling.h"

#include "moin/error.h"
#include "moin/mixture.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <map>
#include <unordered_set>

namespace moin {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// What a generation runs: one row with the model's attached adapter (`adapters` empty), or one
// row per mixture member, each with its own adapter, weighted by `logWeights` (log w_i).
struct DecodeRows {
    std::vector<const LoadedAdapter*> adapters;
    std::vector<double> logWeights;
    int64_t count() const { return adapters.empty() ? 1 : int64_t(adapters.size()); }
};

// The next-token scores of the rows' last positions `last` (R, vocab): the logits themselves
// for one row, else the mixture's log-probabilities log sum_i w_i softmax(logits_i), (vocab).
torch::Tensor nextTokenScores(const torch::Tensor& last, const DecodeRows& rows)
{
    if (last.size(0) == 1)
        return last.select(0, 0).to(torch::kCPU, torch::kFloat32).clone();
    const torch::Tensor logProbs = torch::log_softmax(last.to(torch::kCPU, torch::kFloat32), -1);
    const torch::Tensor logWeights =
        torch::tensor(rows.logWeights, torch::kDouble).to(torch::kFloat32).view({-1, 1});
    return torch::logsumexp(logProbs + logWeights, 0); // (vocab)
}

GenerationResult decode(LlamaImpl& model, const Tokenizer* tokenizer,
                        const std::vector<int32_t>& prompt, const GenerationOptions& options,
                        const DecodeRows& rows, const TokenCallback& onToken,
                        const CancelToken* cancel)
{
    options.validate();
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
    const int64_t R = rows.count();
    const int64_t capacity =
        std::min<int64_t>(config.maxPositions, int64_t(prompt.size()) + options.maxNewTokens);
    KvCache cache = model.makeCache(R, capacity);
    ForwardBatch batch;
    batch.cache = &cache;
    batch.adapters = rows.adapters;
    Sampler sampler(options);
    TextStream stream(tokenizer);
    std::vector<int64_t> seen(prompt.begin(), prompt.end());
    std::unordered_set<int64_t> seenSet(seen.begin(), seen.end());
    seen.assign(seenSet.begin(), seenSet.end());

    auto start = Clock::now();
    // Every row continues the same text: (R, prompt) and (R, 1) tokens.
    const torch::Tensor input =
        torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), torch::kLong)
            .view({1, -1})
            .expand({R, -1})
            .contiguous()
            .to(model.deviceOf());
    torch::Tensor last = model.forward(input, batch).select(1, -1); // (R, vocab)
    result.prefillSeconds = secondsSince(start);
    start = Clock::now();

    result.stopReason = "length";
    while (int64_t(result.tokens.size()) < options.maxNewTokens) {
        if (cancel && cancel->isCancelled()) {
            result.stopReason = "cancelled";
            break;
        }
        const int32_t next = sampler.pick(nextTokenScores(last, rows), seen);
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
            torch::full({R, 1}, int64_t(next), torch::TensorOptions().dtype(torch::kLong))
                .to(model.deviceOf());
        last = model.forward(step, batch).select(1, -1);
    }
    result.decodeSeconds = secondsSince(start);
    if (tokenizer) {
        result.text = tokenizer->decode(result.tokens);
        const std::string rest = stream.delta(result.tokens, true);
        if (onToken && !rest.empty())
            onToken(rest, -1);
    }
    return result;
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
    return decode(*m_impl->model, m_impl->tokenizer ? &*m_impl->tokenizer : nullptr, prompt,
                  options, DecodeRows{}, onToken, cancel);
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

std::vector<MixtureMember> mixtureOf(const RouteDecision& decision,
                                     const std::map<int, std::string>& adapterOf)
{
    if (decision.fallback)
        return {MixtureMember{"", 1.0}};
    if (decision.experts.empty())
        throw Error("the routing decision names no expert and does not fall back to the base");
    std::vector<MixtureMember> members;
    double baseWeight = 0;
    for (const RoutedExpert& e : decision.experts) {
        const auto found = adapterOf.find(e.expert);
        if (found == adapterOf.end())
            baseWeight += e.weight; // as serving does: an untrained expert's share is the base's
        else if (e.weight > 0) // one that underflowed to 0 (far, tiny T) adds nothing: no row
            members.push_back({found->second, e.weight});
    }
    if (baseWeight > 0)
        members.push_back({"", baseWeight});
    return members;
}

GenerationResult generateMixture(const LanguageModel& model,
                                 const std::vector<MixtureMember>& members,
                                 const std::vector<int32_t>& prompt,
                                 const GenerationOptions& options, const TokenCallback& onToken,
                                 const CancelToken* cancel)
{
    if (members.empty())
        throw Error("a mixture needs at least one member (an expert's adapter or the base)");
    double sum = 0;
    for (const MixtureMember& m : members) {
        if (!(m.weight > 0) || !std::isfinite(m.weight)) {
            throw Error("mixture weight of '"
                        + (m.adapterDirectory.empty() ? std::string("base") : m.adapterDirectory)
                        + "' is " + std::to_string(m.weight) + "; expected a positive number");
        }
        sum += m.weight;
    }
    LlamaImpl& llama = *model.impl().model;
    // Members with the same adapter folder share one copy of its weights.
    std::map<std::string, LoadedAdapter> loaded;
    DecodeRows rows;
    for (const MixtureMember& m : members) {
        const LoadedAdapter* adapter = nullptr;
        if (!m.adapterDirectory.empty()) {
            auto found = loaded.find(m.adapterDirectory);
            if (found == loaded.end()) {
                found = loaded
                            .emplace(m.adapterDirectory,
                                     readAdapter(llama, m.adapterDirectory, model.directory()))
                            .first;
            }
            adapter = &found->second;
        }
        rows.adapters.push_back(adapter);
        rows.logWeights.push_back(std::log(m.weight / sum));
    }
    return decode(llama, model.hasTokenizer() ? &model.tokenizer() : nullptr, prompt, options,
                  rows, onToken, cancel);
}

} // namespace moin
