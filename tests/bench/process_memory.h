#pragma once
// Resident memory of this process, from /proc/self/status (Linux).
#include <cstdint>

namespace moin::bench {

struct MemorySample {
    /// Resident set size now (VmRSS), in bytes; -1 when unavailable.
    int64_t rssBytes = -1;
    /// Highest resident set size since start or since the last resetPeakMemory() (VmHWM), in
    /// bytes; -1 when unavailable.
    int64_t peakBytes = -1;
};

MemorySample readMemory();

/// Resets VmHWM to the current RSS (writes "5" to /proc/self/clear_refs), so that the next
/// peak belongs to one phase. Returns false when the kernel refused; peaks are then cumulative.
bool resetPeakMemory();

} // namespace moin::bench
