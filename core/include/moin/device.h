#pragma once
// Compute device selection at run time: CUDA where the LibTorch in use has it, else the CPU.
#include <string>
#include <vector>

namespace moin {

/// A device LibTorch can run on here.
struct ComputeDevice {
    /// LibTorch device string: "cpu", "cuda:0", "cuda:1", ...
    std::string id;
    /// For people: "CPU (2 threads)", "CUDA device 0".
    std::string label;
};

/// Every usable device, the CPU first.
std::vector<ComputeDevice> availableDevices();
/// The device work goes to when the user chose none: the first CUDA device, else the CPU.
std::string defaultDeviceId();
/// Checks a user's choice ("auto", "cpu", "cuda", "cuda:N") and resolves "auto"/"cuda".
/// Throws moin::Error for an unknown or unavailable device, listing the available ones.
std::string resolveDevice(const std::string& requested);

/// Threads LibTorch uses for intra-op parallelism; 0 keeps its default (one per core).
void setComputeThreads(int threads);
int computeThreads();

} // namespace moin
