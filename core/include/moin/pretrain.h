#pragma once
// Training a small Llama and its tokenizer from scratch: the built-in base model.
#include "moin/cancel.h"
#include "moin/model.h"

#include <functional>
#include <string>
#include <vector>

namespace moin {

/// Everything `moin pretrain` needs.
struct PretrainOptions {
    /// Corpus files (.jsonl with a text field, .txt, .md).
    std::vector<std::string> corpusFiles;
    /// JSON Lines field that holds the text. Default "text".
    std::string textField = "text";
    /// Output folder: a Hugging Face model folder when done; `checkpoint/` inside while training.
    std::string outputDir;
    /// Tokenizer vocabulary size (BPE, Llama-style). Default 4096.
    int vocabSize = 4096;
    /// Model shape; vocabSize is taken from the tokenizer.
    LlamaConfig model;
    /// Training sequence length in tokens. Default 128.
    int sequenceLength = 128;
    /// Sequences per step. Default 16.
    int batchSize = 16;
    /// Optimizer steps. Default 1000.
    int64_t steps = 1000;
    /// Peak learning rate (AdamW), reached after warmupSteps, then cosine decay to minLr.
    double learningRate = 3e-3;
    double minLearningRate = 3e-4;
    int64_t warmupSteps = 50;
    double weightDecay = 0.1;
    /// Gradient norm clip. Default 1.0.
    double gradientClip = 1.0;
    /// Fraction of documents held out for validation. Default 0.02.
    double heldOutFraction = 0.02;
    /// Steps between held-out evaluations and between checkpoints.
    int64_t evalEvery = 100;
    int64_t checkpointEvery = 100;
    /// Resume from `outputDir/checkpoint` when present.
    bool resume = true;
    /// dtype of the final weights: float32, float16 or bfloat16. Default float16 (half size).
    std::string saveDtype = "float16";
    uint64_t seed = 1;
    /// "auto", "cpu", "cuda", "cuda:N".
    std::string device = "auto";
};

/// One report of training progress.
struct PretrainProgress {
    /// Phase: "tokenizer", "tokenizing", "training", "saving".
    std::string phase;
    int64_t step = 0;
    int64_t totalSteps = 0;
    double loss = 0;
    /// Held-out loss of the latest evaluation (NaN before the first).
    double heldOutLoss = 0;
    double learningRate = 0;
    double tokensPerSecond = 0;
    double elapsedSeconds = 0;
};

/// What pretrain() produced.
struct PretrainResult {
    std::string modelDir;
    int64_t steps = 0;
    int64_t trainTokens = 0;
    int64_t heldOutTokens = 0;
    double finalLoss = 0;
    double heldOutLoss = 0;
    bool cancelled = false;
};

/// Trains a tokenizer (unless outputDir already has one), then the model, checkpointing every
/// checkpointEvery steps (a killed run resumes where its last checkpoint was). Cancelling
/// writes a checkpoint and returns with cancelled = true. Throws moin::Error for bad options or
/// corpora.
PretrainResult pretrain(const PretrainOptions& options,
                        const std::function<void(const PretrainProgress&)>& onProgress = {},
                        const CancelToken* cancel = nullptr);

} // namespace moin
