#include "moin/blaskernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace moin {

namespace {

constexpr const char* kCoretypeVariable = "OPENBLAS_CORETYPE";
constexpr const char* kFastCore = "Haswell";
constexpr const char* kAssumedCoreVariable = "MOIN_TEST_OPENBLAS_CORE";

// OpenBLAS is reached through libblas.so.3 (Debian's alternatives), not linked by name: look
// its functions up in the loaded libraries, and report nothing for another BLAS.
std::string callString(const char* symbol)
{
    using Function = char* (*)();
    if (auto function = reinterpret_cast<Function>(dlsym(RTLD_DEFAULT, symbol))) {
        if (const char* value = function())
            return value;
    }
    return {};
}

// OpenBLAS's kernels that use neither AVX nor FMA: the fallbacks of an OpenBLAS that does not
// know the CPU ("Prescott" on Debian's 0.3.21 for new Intel and AMD server CPUs).
bool isPreAvxCore(std::string core)
{
    std::transform(core.begin(), core.end(), core.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    static const char* const slow[] = {"unknown", "generic",  "katmai",     "coppermine",
                                       "northwood", "prescott", "banias",   "atom",
                                       "core2",   "penryn",   "dunnington", "nehalem",
                                       "athlon",  "opteron",  "opteron_sse3", "barcelona",
                                       "nano",    "bobcat"};
    return std::find(std::begin(slow), std::end(slow), core) != std::end(slow);
}

bool cpuHasAvx2Fma()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

} // namespace

BlasKernels blasKernels()
{
    BlasKernels info;
    info.core = callString("openblas_get_corename");
    info.config = callString("openblas_get_config");
    if (const char* value = std::getenv(kCoretypeVariable))
        info.coretypeVariable = value;
    const char* marker = std::getenv(kBlasReexecMarker);
    info.chosenByMoin = marker && !info.coretypeVariable.empty() && info.coretypeVariable == marker;
    info.cpuHasAvx2Fma = cpuHasAvx2Fma();
    return info;
}

void ensureFastBlasKernels(char** argv)
{
    if (std::getenv(kCoretypeVariable) || std::getenv(kBlasReexecMarker))
        return; // the user's choice, or already re-executed once
    std::string core = callString("openblas_get_corename");
    // For tests on CPUs that OpenBLAS knows: the core it is assumed to have reported, so that
    // the re-exec itself can be run where OpenBLAS would not fall back.
    if (const char* assumed = std::getenv(kAssumedCoreVariable))
        core = assumed;
    if (core.empty() || !isPreAvxCore(core) || !cpuHasAvx2Fma())
        return;
    if (setenv(kCoretypeVariable, kFastCore, 1) != 0 || setenv(kBlasReexecMarker, kFastCore, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    // Only reached when exec failed: run on with the kernels loaded, the environment as it was.
    unsetenv(kCoretypeVariable);
    unsetenv(kBlasReexecMarker);
}

} // namespace moin
