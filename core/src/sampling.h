#pragma once
// Token sampling and UTF-8-safe text streaming, shared by single-request generation and the
// batched serving engine. Internal to moin_core.
#include "moin/model.h"
#include "moin/tokenizer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <limits>
#include <string>
#include <vector>

namespace moin {

// Picks the next token from the last position's logits (vocab,), float32 on the CPU.
class Sampler {
public:
    explicit Sampler(const GenerationOptions& options)
        : m_options(options), m_generator(at::make_generator<at::CPUGeneratorImpl>(options.seed))
    {
    }

    int32_t pick(torch::Tensor logits, const std::vector<int64_t>& seen)
    {
        if (m_options.repetitionPenalty != 1.0 && !seen.empty()) {
            // As in Hugging Face: shrink the logits of tokens already present toward "less likely".
            const torch::Tensor ids = torch::tensor(seen, torch::kLong);
            const torch::Tensor values = logits.index_select(0, ids);
            const double p = m_options.repetitionPenalty;
            logits.index_put_({ids}, torch::where(values < 0, values * p, values / p));
        }
        if (m_options.temperature <= 0)
            return static_cast<int32_t>(logits.argmax().item<int64_t>());
        logits = logits / m_options.temperature;
        const int64_t vocab = logits.size(0);
        if (m_options.topK > 0 && m_options.topK < vocab) {
            const torch::Tensor kth = std::get<0>(logits.topk(m_options.topK)).min();
            logits = logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
        }
        if (m_options.topP < 1.0) {
            auto [sorted, order] = logits.sort(/*dim=*/0, /*descending=*/true);
            const torch::Tensor probs = torch::softmax(sorted, 0);
            // Drop a token when the tokens before it already reach top_p (the first stays).
            const torch::Tensor drop = (probs.cumsum(0) - probs) > m_options.topP;
            sorted = sorted.masked_fill(drop, -std::numeric_limits<float>::infinity());
            logits = torch::empty_like(logits).scatter_(0, order, sorted);
        }
        const torch::Tensor probs = torch::softmax(logits, 0);
        return static_cast<int32_t>(
            torch::multinomial(probs, 1, /*replacement=*/false, m_generator).item<int64_t>());
    }

private:
    GenerationOptions m_options;
    at::Generator m_generator;
};

// Turns growing token lists into text deltas, holding back an incomplete UTF-8 character.
class TextStream {
public:
    explicit TextStream(const Tokenizer* tokenizer) : m_tokenizer(tokenizer) {}

    std::string delta(const std::vector<int32_t>& tokens, bool final)
    {
        if (!m_tokenizer)
            return {};
        const std::string text = m_tokenizer->decode(tokens);
        // sentencepiece renders a partial byte sequence as U+FFFD; wait for the rest.
        static const std::string kReplacement = "\xEF\xBF\xBD";
        const bool incomplete = text.size() >= 3
                                && text.compare(text.size() - 3, 3, kReplacement) == 0;
        if ((incomplete && !final) || text.size() < m_emitted)
            return {};
        std::string out = text.substr(m_emitted);
        m_emitted = text.size();
        return out;
    }

private:
    const Tokenizer* m_tokenizer;
    size_t m_emitted = 0;
};

} // namespace moin
