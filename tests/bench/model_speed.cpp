#include "model_speed.h"

#include "llama.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <stdexcept>

namespace moin::bench {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// (batch, length) random token ids, never BOS/EOS so that nothing depends on their meaning.
torch::Tensor randomTokens(const LlamaConfig& config, int64_t batch, int64_t length,
                           uint64_t seed)
{
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::randint(3, config.vocabSize, {batch, length}, generator,
                          torch::TensorOptions().dtype(torch::kLong));
}

// logits (B, T, vocab) -> the greedy next token of each sequence, (B, 1).
torch::Tensor greedyNext(const torch::Tensor& logits)
{
    return logits.select(1, -1).argmax(-1, /*keepdim=*/true);
}

void keepFastest(PhaseResult& best, const PhaseResult& run)
{
    if (best.seconds == 0 || run.seconds < best.seconds)
        best = run;
}

} // namespace

int64_t matmulWeightCount(const LlamaConfig& c)
{
    const int64_t kvDim = c.numKvHeads * c.headDim();
    const int64_t attention = 2 * c.hiddenSize * c.hiddenSize + 2 * c.hiddenSize * kvDim;
    const int64_t mlp = 3 * c.hiddenSize * c.intermediateSize;
    return c.numLayers * (attention + mlp) + c.vocabSize * c.hiddenSize;
}

Workload forwardWorkload(const LlamaConfig& c, int64_t batch, int64_t length, int64_t start,
                         int64_t bytesPerValue)
{
    const double tokens = double(batch) * double(length);
    const double keys = double(start + length);
    const double layers = double(c.numLayers);
    const double kvWidth = double(c.numKvHeads * c.headDim());
    Workload w;
    // Each query head scores `keys` keys (QK^T) and mixes as many values (PV): 2 x 2 FLOPs per
    // (query head, key, head dim) triple.
    w.flops = 2.0 * tokens * double(matmulWeightCount(c))
              + layers * 4.0 * tokens * double(c.numHeads) * keys * double(c.headDim());
    const double normWeights = double(2 * c.numLayers + 1) * double(c.hiddenSize);
    const double weights = double(matmulWeightCount(c)) + normWeights;
    const double embeddingRows = tokens * double(c.hiddenSize);
    const double kvRead = layers * 2.0 * double(batch) * keys * kvWidth;
    const double kvWrite = layers * 2.0 * tokens * kvWidth;
    w.bytes = double(bytesPerValue) * (weights + embeddingRows + kvRead + kvWrite)
              + tokens * double(c.vocabSize) * sizeof(float);
    return w;
}

std::vector<PhaseResult> measureSpeed(const LanguageModel& languageModel,
                                      const SpeedOptions& o)
{
    torch::InferenceMode inference;
    LlamaImpl& model = *languageModel.impl().model;
    const LlamaConfig& config = model.config;
    const int64_t bytesPerValue = int64_t(torch::elementSize(model.dtypeOf()));
    if (o.promptTokens + o.decodeSteps > config.maxPositions) {
        throw std::invalid_argument(
            "a prompt of " + std::to_string(o.promptTokens) + " tokens and "
            + std::to_string(o.decodeSteps) + " decode steps exceed the model's context of "
            + std::to_string(config.maxPositions) + " tokens (hint: lower --prompt-tokens)");
    }

    {
        KvCache cache = model.makeCache(1, o.promptTokens + 2);
        torch::Tensor next = greedyNext(
            model.forward(randomTokens(config, 1, o.promptTokens, o.seed), &cache));
        for (int step = 0; step < 2; ++step)
            next = greedyNext(model.forward(next, &cache));
    }

    std::vector<PhaseResult> out;
    for (int64_t batch : o.batches) {
        PhaseResult prefill;
        prefill.phase = "prefill";
        prefill.batch = batch;
        prefill.tokens = batch * o.promptTokens;
        prefill.work = forwardWorkload(config, batch, o.promptTokens, 0, bytesPerValue);
        PhaseResult decode;
        decode.phase = "decode";
        decode.batch = batch;
        decode.forwardCalls = o.decodeSteps;
        decode.tokens = batch * o.decodeSteps;
        for (int64_t step = 0; step < o.decodeSteps; ++step) {
            const Workload w = forwardWorkload(config, batch, 1, o.promptTokens + step,
                                               bytesPerValue);
            decode.work.flops += w.flops;
            decode.work.bytes += w.bytes;
        }
        PhaseResult bestPrefill = prefill;
        PhaseResult bestDecode = decode;
        for (int rep = 0; rep < o.reps; ++rep) {
            const torch::Tensor prompt =
                randomTokens(config, batch, o.promptTokens, o.seed + uint64_t(rep));
            KvCache cache = model.makeCache(batch, o.promptTokens + o.decodeSteps);
            auto start = Clock::now();
            torch::Tensor next = greedyNext(model.forward(prompt, &cache));
            prefill.seconds = secondsSince(start);
            keepFastest(bestPrefill, prefill);

            start = Clock::now();
            for (int64_t step = 0; step < o.decodeSteps; ++step)
                next = greedyNext(model.forward(next, &cache));
            decode.seconds = secondsSince(start);
            keepFastest(bestDecode, decode);
        }
        out.push_back(bestPrefill);
        out.push_back(bestDecode);
    }
    return out;
}

GenerateResult measureGenerate(const LanguageModel& model, int promptTokens, int newTokens,
                               int reps, uint64_t seed)
{
    const LlamaConfig& config = model.config();
    const torch::Tensor ids = randomTokens(config, 1, promptTokens - 1, seed);
    std::vector<int32_t> prompt = {config.bosTokenId};
    for (int64_t i = 0; i < ids.size(1); ++i)
        prompt.push_back(int32_t(ids[0][i].item<int64_t>()));

    GenerationOptions options;
    options.maxNewTokens = newTokens;
    options.temperature = 0; // greedy
    options.repetitionPenalty = 1.0;
    options.stopAtEos = false;

    GenerateResult best;
    best.promptTokens = promptTokens;
    best.reps = reps;
    model.generateTokens(prompt, options); // warm-up
    for (int rep = 0; rep < reps; ++rep) {
        const auto start = Clock::now();
        const GenerationResult result = model.generateTokens(prompt, options);
        const double wall = secondsSince(start);
        if (rep == 0 || wall < best.wallSeconds) {
            best.newTokens = int(result.tokens.size());
            best.wallSeconds = wall;
            best.prefillSeconds = result.prefillSeconds;
            best.decodeSeconds = result.decodeSeconds;
        }
    }
    return best;
}

} // namespace moin::bench
