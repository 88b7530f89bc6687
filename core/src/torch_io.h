#pragma once
// Conversions between safetensors entries and LibTorch tensors (internal to moin_core).
#include "moin/safetensors.h"

#include <torch/types.h>

namespace moin {

/// A read-only view of a float32/float16/bfloat16 entry of `file` (no copy; valid as long as
/// `file` lives; copy or convert it before use). Throws moin::Error for other dtypes.
torch::Tensor tensorView(const SafetensorsFile& file, const TensorInfo& info);
/// Adds a contiguous CPU float32/float16/bfloat16 tensor to `writer` without copying: the tensor
/// must outlive writer.write().
void addTensor(SafetensorsWriter& writer, const std::string& name, const torch::Tensor& tensor);

} // namespace moin
