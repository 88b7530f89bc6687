#pragma once
// Pieces every training loop here shares (pretraining the base, training experts): the
// learning-rate schedule, token windows, the language-modelling loss, and checkpoint folders
// that are swapped in whole so a kill never leaves a half-written one. Internal to moin_core.
#include "llama.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <vector>

namespace moin {

/// Linear warm-up to `peak` over `warmup` steps, then cosine decay to `minimum` at `total`.
inline double cosineLearningRate(double peak, double minimum, int64_t warmup, int64_t total,
                                 int64_t step)
{
    if (step < warmup)
        return peak * double(step + 1) / double(warmup);
    const double progress =
        double(step - warmup) / double(std::max<int64_t>(1, total - warmup));
    return minimum + 0.5 * (peak - minimum) * (1 + std::cos(M_PI * std::min(1.0, progress)));
}

/// (B, length) windows of `stream` starting at `offsets`.
inline torch::Tensor tokenWindows(const std::vector<int64_t>& stream,
                                  const std::vector<int64_t>& offsets, int64_t length)
{
    torch::Tensor batch = torch::empty({int64_t(offsets.size()), length}, torch::kLong);
    int64_t* out = batch.data_ptr<int64_t>();
    for (size_t b = 0; b < offsets.size(); ++b)
        std::copy_n(stream.begin() + offsets[b], length, out + b * length);
    return batch;
}

/// Mean next-token cross-entropy of a (B, T + 1) batch: positions 0..T-1 predict 1..T.
inline torch::Tensor languageModelLoss(LlamaImpl& model, const torch::Tensor& batch)
{
    const int64_t T = batch.size(1) - 1;
    // fp32 whatever the matmuls ran in (bf16 under autocast): log-softmax over the vocabulary
    // in bf16 would lose the small probabilities the loss is made of.
    const torch::Tensor logits = model.forward(batch.narrow(1, 0, T)).to(torch::kFloat32);
    return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                                batch.narrow(1, 1, T).reshape({-1}));
}

/// Mean loss over up to `maxWindows` consecutive windows of `stream` (NaN if it has none).
inline double meanWindowLoss(LlamaImpl& model, const std::vector<int64_t>& stream,
                             int64_t length, int batchSize, const torch::Device& device,
                             size_t maxWindows = 64)
{
    torch::NoGradGuard noGrad;
    const bool wasTraining = model.is_training();
    model.eval();
    std::vector<int64_t> offsets;
    for (int64_t start = 0; start + length <= int64_t(stream.size()) && offsets.size() < maxWindows;
         start += length)
        offsets.push_back(start);
    double total = 0;
    int64_t count = 0;
    for (size_t i = 0; i < offsets.size(); i += size_t(batchSize)) {
        const std::vector<int64_t> part(
            offsets.begin() + i, offsets.begin() + std::min(offsets.size(), i + batchSize));
        total += languageModelLoss(model, tokenWindows(stream, part, length).to(device))
                     .item<double>()
                 * double(part.size());
        count += int64_t(part.size());
    }
    model.train(wasTraining);
    return count ? total / double(count) : std::nan("");
}

/// `<parent>/checkpoint`, written as `checkpoint.tmp` and swapped in with two renames; a kill
/// between them leaves `checkpoint.old`, which existing() then returns.
struct CheckpointFolders {
    std::filesystem::path dir;
    std::filesystem::path temporary;
    std::filesystem::path previous;

    explicit CheckpointFolders(const std::filesystem::path& parent)
        : dir(parent / "checkpoint"), temporary(parent / "checkpoint.tmp"),
          previous(parent / "checkpoint.old")
    {
    }
    /// The newest complete checkpoint (its state.json is written last), or an empty path.
    std::filesystem::path existing() const
    {
        std::error_code ec;
        if (std::filesystem::exists(dir / "state.json", ec))
            return dir;
        if (std::filesystem::exists(previous / "state.json", ec))
            return previous;
        return {};
    }
    /// Calls write(temporary folder), which must write state.json last, then swaps it in.
    void save(const std::function<void(const std::filesystem::path&)>& write) const
    {
        std::error_code ec;
        std::filesystem::remove_all(temporary, ec);
        std::filesystem::create_directories(temporary);
        write(temporary);
        std::filesystem::remove_all(previous, ec);
        if (std::filesystem::exists(dir, ec))
            std::filesystem::rename(dir, previous);
        std::filesystem::rename(temporary, dir);
        std::filesystem::remove_all(previous, ec);
    }
    void remove() const
    {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        std::filesystem::remove_all(temporary, ec);
        std::filesystem::remove_all(previous, ec);
    }
};

} // namespace moin
