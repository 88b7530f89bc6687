#include "torch_io.h"

#include "moin/error.h"

#include <torch/torch.h>

namespace moin {

torch::Tensor tensorView(const SafetensorsFile& file, const TensorInfo& info)
{
    torch::ScalarType type;
    switch (info.dtype) {
    case DType::F32: type = torch::kFloat32; break;
    case DType::F16: type = torch::kFloat16; break;
    case DType::BF16: type = torch::kBFloat16; break;
    default:
        throw Error("tensor '" + info.name + "' in " + file.path() + " has dtype "
                    + dtypeName(info.dtype) + "; model weights must be F32, F16 or BF16");
    }
    // The mapping is read-only: the view is only ever read (copied or converted) by callers.
    return torch::from_blob(const_cast<void*>(file.data(info)), info.shape,
                            torch::TensorOptions().dtype(type));
}

void addTensor(SafetensorsWriter& writer, const std::string& name, const torch::Tensor& tensor)
{
    DType dtype;
    switch (tensor.scalar_type()) {
    case torch::kFloat32: dtype = DType::F32; break;
    case torch::kFloat16: dtype = DType::F16; break;
    case torch::kBFloat16: dtype = DType::BF16; break;
    default: throw Error("cannot save tensor '" + name + "' of dtype "
                         + std::string(c10::toString(tensor.scalar_type())));
    }
    writer.addBorrowed(name, dtype, tensor.sizes().vec(), tensor.data_ptr(), tensor.nbytes());
}

} // namespace moin
