#include "moin/device.h"

#include "moin/error.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

namespace moin {

std::vector<ComputeDevice> availableDevices()
{
    std::vector<ComputeDevice> devices;
    devices.push_back({"cpu", "CPU (" + std::to_string(at::get_num_threads()) + " threads)"});
    // Asked at run time: the same binary runs on CPU-only LibTorch and on CUDA builds.
    const size_t cudaCount = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
    for (size_t i = 0; i < cudaCount; ++i)
        devices.push_back({"cuda:" + std::to_string(i), "CUDA device " + std::to_string(i)});
    return devices;
}

std::string defaultDeviceId()
{
    return torch::cuda::is_available() && torch::cuda::device_count() > 0 ? "cuda:0" : "cpu";
}

std::string resolveDevice(const std::string& requested)
{
    if (requested.empty() || requested == "auto")
        return defaultDeviceId();
    const auto devices = availableDevices();
    const std::string wanted = requested == "cuda" ? "cuda:0" : requested;
    for (const ComputeDevice& device : devices) {
        if (device.id == wanted)
            return wanted;
    }
    std::string list;
    for (const ComputeDevice& device : devices)
        list += (list.empty() ? "" : ", ") + device.id;
    throw Error("device '" + requested + "' is not available here; available: " + list
                + " (or 'auto')");
}

void setComputeThreads(int threads)
{
    if (threads < 0)
        throw Error("thread count must be 0 (automatic) or positive; got " + std::to_string(threads));
    if (threads > 0)
        at::set_num_threads(threads);
}

int computeThreads() { return at::get_num_threads(); }

} // namespace moin
