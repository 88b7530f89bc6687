#include "cpu_share.h"

#include <fstream>
#include <sstream>
#include <string>

namespace moin::bench {

CpuTimes readCpuTimes()
{
    CpuTimes times;
    {
        std::ifstream stat("/proc/stat");
        std::string cpu;
        int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                steal = 0;
        if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) {
            times.total = user + nice + system + idle + iowait + irq + softirq + steal;
            times.idle = idle + iowait;
        }
    }
    {
        // Fields 14 and 15 are utime and stime; field 2, the command, may contain spaces, so
        // count from the closing parenthesis.
        std::ifstream stat("/proc/self/stat");
        std::string line;
        std::getline(stat, line);
        const size_t close = line.rfind(')');
        if (close != std::string::npos) {
            std::istringstream fields(line.substr(close + 2));
            std::string skip;
            for (int field = 3; field < 14; ++field)
                fields >> skip;
            int64_t utime = 0, stime = 0;
            if (fields >> utime >> stime)
                times.own = utime + stime;
        }
    }
    return times;
}

double othersCpuShare(const CpuTimes& start, const CpuTimes& end)
{
    const int64_t total = end.total - start.total;
    if (total <= 0 || start.total == 0)
        return -1;
    const int64_t busy = total - (end.idle - start.idle);
    const int64_t others = busy - (end.own - start.own);
    return others <= 0 ? 0.0 : double(others) / double(total);
}

} // namespace moin::bench
