#pragma once
// The decode step without LibTorch's operators: one token per row for a few rows, every weight
// streamed once by the matrix-vector kernels (gemv.h), threaded over output rows, into scratch
// that is allocated once per thread and reused. It runs the same ForwardPlan as the LibTorch
// path (positions, cache slots, per-row adapters) and agrees with it to float32 rounding.
#include <torch/types.h>

namespace moin {

class LlamaImpl;
struct ForwardPlan;

/// Rows one fast step takes; larger batches run LibTorch's matrix products.
constexpr int64_t kFastDecodeRows = 16;

/// Whether decodeHidden runs this call: CPU, no gradients, one token per row, a float32 /
/// bfloat16 / float16 model with contiguous weights and a cache.
bool fastDecodeApplies(const LlamaImpl& model, const ForwardPlan& plan);
/// tokens (B, 1) -> final hidden states (B, 1, H) in float32; stores each row's keys and values.
torch::Tensor decodeHidden(LlamaImpl& model, const torch::Tensor& tokens, const ForwardPlan& plan);

/// Whether projectRows runs: CPU, no gradients, at most kFastDecodeRows rows of hidden.
bool fastProjectApplies(const LlamaImpl& model, const torch::Tensor& hidden);
/// hidden (..., H) -> logits (..., vocab) in float32 by the output matrix.
torch::Tensor projectRows(LlamaImpl& model, const torch::Tensor& hidden);

} // namespace moin
