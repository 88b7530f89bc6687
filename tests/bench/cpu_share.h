#pragma once
// How much of the machine's CPU time other processes took while this one measured: the
// benchmark's figures mean little on a shared machine unless that share is near zero.
#include <cstdint>

namespace moin::bench {

/// Cumulative CPU time counters, in clock ticks (USER_HZ).
struct CpuTimes {
    /// All CPUs, every state (/proc/stat's first line, guest time excluded as it is in user).
    int64_t total = 0;
    /// All CPUs, idle or waiting for I/O.
    int64_t idle = 0;
    /// This process, user + system (/proc/self/stat).
    int64_t own = 0;
};

CpuTimes readCpuTimes();

/// Share of all CPUs' time between `start` and `end` spent busy outside this process (other
/// processes, the kernel on their behalf, time stolen by the hypervisor), 0..1; -1 when the
/// counters are unavailable.
double othersCpuShare(const CpuTimes& start, const CpuTimes& end);

} // namespace moin::bench
