#pragma once
// The machine's physical limits, measured in the same run as the engine so that the engine's
// figures can be read as fractions of them: memory bandwidth and fp32 matmul throughput.
#include <cstdint>
#include <string>
#include <vector>

namespace moin::bench {

/// One measured kernel; the best repetition counts, as in STREAM.
struct KernelResult {
    /// What ran, e.g. "triad (C++)" or "matmul 2048 (torch)".
    std::string name;
    /// Bytes read + written (bandwidth kernels) or FLOPs (matmul) per repetition.
    double workPerRep = 0;
    /// Fastest repetition, in seconds.
    double bestSeconds = 0;
    int reps = 0;
    /// workPerRep / bestSeconds / 1e9: GB/s or GFLOP/s.
    double rate() const { return bestSeconds > 0 ? workPerRep / bestSeconds / 1e9 : 0; }
    /// False for diagnostics that run an engine kernel rather than probe a limit.
    bool countsForCeiling = true;
    /// Reads memory without writing it, as a decode step reads the weights.
    bool readOnly = false;
};

struct MachineLimits {
    /// Bandwidth kernels, GB/s (1e9 bytes per second).
    std::vector<KernelResult> bandwidth;
    /// Compute kernels, GFLOP/s: the FMA peak (a diagnostic) and the matmuls.
    std::vector<KernelResult> matmul;
    /// The highest bandwidth kernel that counts for the ceiling, GB/s.
    double bandwidthCeiling = 0;
    /// The highest read-only bandwidth kernel, GB/s: the ceiling of a pass that only reads.
    double readCeiling = 0;
    /// The highest matmul (torch, hence the BLAS the engine uses), GFLOP/s.
    double matmulCeiling = 0;
};

struct LimitOptions {
    /// Size of each array of the bandwidth kernels, in MiB. Default 512: far beyond any cache.
    int64_t arrayMiB = 512;
    /// Threads of the plain C++ kernels; torch's kernels use torch's (and OpenBLAS's) threads.
    int threads = 2;
    /// Repetitions of each bandwidth kernel. Default 5.
    int bandwidthReps = 5;
    /// Repetitions of each matmul. Default 5.
    int matmulReps = 5;
};

/// Runs every kernel: a few seconds, and 3 x arrayMiB of memory at the peak.
MachineLimits measureMachineLimits(const LimitOptions& options);

} // namespace moin::bench
