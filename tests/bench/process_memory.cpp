#include "process_memory.h"

#include <fstream>
#include <sstream>
#include <string>

namespace moin::bench {

namespace {

// "VmRSS:	  123456 kB" -> bytes
int64_t parseKiB(const std::string& line)
{
    std::istringstream in(line.substr(line.find(':') + 1));
    int64_t kib = -1;
    in >> kib;
    return kib < 0 ? -1 : kib * 1024;
}

} // namespace

MemorySample readMemory()
{
    MemorySample sample;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            sample.rssBytes = parseKiB(line);
        else if (line.rfind("VmHWM:", 0) == 0)
            sample.peakBytes = parseKiB(line);
    }
    return sample;
}

bool resetPeakMemory()
{
    std::ofstream clearRefs("/proc/self/clear_refs");
    clearRefs << "5";
    clearRefs.flush();
    return bool(clearRefs);
}

} // namespace moin::bench
