#pragma once
// Prefill and decode speed of the Llama engine at the LibTorch level (LlamaImpl::forward with
// a KV cache), with the FLOPs and bytes each timed region needs, and generation speed through
// the public API.
#include "moin/model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace moin::bench {

/// Work one forward pass needs, counted from the model's shape.
struct Workload {
    /// Multiply-adds x 2 of every projection and lm_head, plus attention's two matmuls
    /// (QK^T and PV) over all (query, key) pairs the engine computes, masked ones included.
    double flops = 0;
    /// Minimum memory traffic in bytes: every projection/lm_head/norm weight read once, the
    /// embedding rows gathered, the KV cache read (all positions so far) and written (new
    /// positions), and the logits written. Activations are not counted.
    double bytes = 0;
};

/// Weights that take part in a matmul: the projections and lm_head (the tied embedding when
/// tied). The embedding table, read one row per token, is not among them.
int64_t matmulWeightCount(const LlamaConfig& config);

/// Work of one forward over tokens (batch, length) at positions [start, start + length).
Workload forwardWorkload(const LlamaConfig& config, int64_t batch, int64_t length, int64_t start,
                         int64_t bytesPerValue);

/// One timed region: a prefill (one forward) or a run of decode steps.
struct PhaseResult {
    /// "prefill" or "decode".
    std::string phase;
    int64_t batch = 1;
    /// Forward calls in the timed region: 1 for a prefill, the step count for decode.
    int64_t forwardCalls = 1;
    /// Tokens processed in the timed region (batch x length, or batch x steps).
    int64_t tokens = 0;
    /// Fastest repetition, in seconds.
    double seconds = 0;
    /// Work of the whole timed region.
    Workload work;
    double tokensPerSecond() const { return seconds > 0 ? tokens / seconds : 0; }
    double gflops() const { return seconds > 0 ? work.flops / seconds / 1e9 : 0; }
    double gbps() const { return seconds > 0 ? work.bytes / seconds / 1e9 : 0; }
};

struct SpeedOptions {
    /// Batch sizes to measure, each with a fresh KV cache.
    std::vector<int64_t> batches = {1, 8};
    /// Prompt length of the prefill, in tokens. Default 128.
    int64_t promptTokens = 128;
    /// Single-token steps after the prefill. Default 32.
    int64_t decodeSteps = 32;
    /// Repetitions of each (prefill, decode) pair; the fastest of each counts. Default 1.
    int reps = 1;
    /// Seed of the random prompts.
    uint64_t seed = 7;
};

/// Warms up once (a batch-1 prefill and two decode steps), then for each batch size times a
/// prefill of promptTokens with a fresh cache and decodeSteps greedy single-token steps after
/// it, under torch::InferenceMode. Returns prefill and decode for each batch, in that order.
std::vector<PhaseResult> measureSpeed(const LanguageModel& model, const SpeedOptions& options);

/// Generation through LanguageModel::generateTokens (batch 1, greedy, EOS ignored).
struct GenerateResult {
    int promptTokens = 0;
    int newTokens = 0;
    /// Fastest repetition by wall time around generateTokens, in seconds.
    double wallSeconds = 0;
    /// That repetition's own split (GenerationResult::prefillSeconds / decodeSeconds).
    double prefillSeconds = 0;
    double decodeSeconds = 0;
    int reps = 0;
    /// New tokens per second of wall time, prefill included.
    double tokensPerSecond() const { return wallSeconds > 0 ? newTokens / wallSeconds : 0; }
    /// New tokens per second of the decode loop (sampling included): one forward per token.
    double decodeTokensPerSecond() const
    {
        return decodeSeconds > 0 ? newTokens / decodeSeconds : 0;
    }
};

GenerateResult measureGenerate(const LanguageModel& model, int promptTokens, int newTokens,
                               int reps, uint64_t seed);

} // namespace moin::bench
