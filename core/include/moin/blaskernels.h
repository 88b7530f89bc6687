#pragma once
// OpenBLAS's kernel choice. Debian's OpenBLAS 0.3.21 picks its kernels when it is loaded and
// falls back to its SSE3 "Prescott" kernels on CPUs newer than itself: a third of the matmul
// speed on an AVX2/AVX-512 CPU. It reads OPENBLAS_CORETYPE only at load, so a program can fix
// the choice only by starting again with the variable set.
#include <string>

namespace moin {

/// The variable ensureFastBlasKernels() sets beside OPENBLAS_CORETYPE in the re-executed
/// process: it marks the choice as MoIN's and stops a second re-exec.
inline constexpr const char* kBlasReexecMarker = "MOIN_OPENBLAS_CORETYPE_CHOSEN";

/// Which BLAS kernels this process runs.
struct BlasKernels {
    /// openblas_get_corename(), e.g. "Haswell"; empty when the BLAS loaded is not OpenBLAS.
    std::string core;
    /// openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    std::string config;
    /// OPENBLAS_CORETYPE as this process found it; empty when unset.
    std::string coretypeVariable;
    /// The variable was set by ensureFastBlasKernels() (false: by the user, or unset).
    bool chosenByMoin = false;
    /// The CPU has AVX2 and FMA.
    bool cpuHasAvx2Fma = false;
};

BlasKernels blasKernels();

/// Call first thing in main(), before any library work: when OPENBLAS_CORETYPE is unset and
/// OpenBLAS runs a pre-AVX kernel (Prescott, generic, ...) on a CPU with AVX2 and FMA,
/// re-executes this program (/proc/self/exe, same argv) once with OPENBLAS_CORETYPE=Haswell,
/// the choice safe on every AVX2 CPU. A value the user set is never changed. Returns when no
/// re-exec was needed (or it failed: then the program runs on as it is). Tests set
/// MOIN_TEST_OPENBLAS_CORE to the core OpenBLAS is to be taken to have reported, to run the
/// re-exec on CPUs that OpenBLAS knows.
void ensureFastBlasKernels(char** argv);

} // namespace moin
