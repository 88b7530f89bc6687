#include "moin/precision.h"

#include "llama.h"

#include "moin/error.h"

#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace moin {

std::string precisionName(Precision precision)
{
    switch (precision) {
    case Precision::Auto:
        return "auto";
    case Precision::Fp32:
        return "fp32";
    case Precision::Bf16:
        return "bf16";
    }
    return "auto";
}

Precision parsePrecision(const std::string& text)
{
    if (text == "auto" || text.empty())
        return Precision::Auto;
    if (text == "fp32" || text == "float32")
        return Precision::Fp32;
    if (text == "bf16" || text == "bfloat16")
        return Precision::Bf16;
    throw Error("precision \"" + text
                + "\" is not known; use auto (bf16 where the hardware runs it fast), fp32 or "
                  "bf16");
}

std::string Bf16Support::describe() const
{
    if (amxBf16 && avx512Bf16)
        return "AMX-BF16, AVX512-BF16";
    if (amxBf16)
        return "AMX-BF16";
    if (avx512Bf16)
        return "AVX512-BF16";
    return "none";
}

namespace {

Bf16Support detectCpuBf16()
{
    Bf16Support support;
#if defined(__x86_64__) || defined(__i386__)
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_max(0, nullptr) < 7 || !__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return support;
    // The instructions are usable only if the OS saves their registers (OSXSAVE, then XCR0).
    if (!(ecx & (1u << 27)))
        return support;
    unsigned xcr0Low = 0, xcr0High = 0;
    __asm__ volatile("xgetbv" : "=a"(xcr0Low), "=d"(xcr0High) : "c"(0));
    const bool avx512State = (xcr0Low & 0xE6u) == 0xE6u;       // SSE, AVX, opmask, ZMM
    const bool tileState = (xcr0Low & (3u << 17)) == (3u << 17); // XTILECFG, XTILEDATA
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned maxSubleaf = eax;
    const bool avx512f = ebx & (1u << 16);
    support.amxBf16 = tileState && (edx & (1u << 22)) && (edx & (1u << 24));
    if (maxSubleaf >= 1) {
        __cpuid_count(7, 1, eax, ebx, ecx, edx);
        support.avx512Bf16 = avx512State && avx512f && (eax & (1u << 5));
    }
#endif
    return support;
}

} // namespace

const Bf16Support& cpuBf16Support()
{
    static const Bf16Support support = detectCpuBf16();
    return support;
}

Precision resolvePrecision(Precision requested, const std::string& device)
{
    if (requested != Precision::Auto)
        return requested;
    if (const char* forced = std::getenv("MOIN_PRECISION"); forced && *forced) {
        const Precision chosen = parsePrecision(forced);
        if (chosen != Precision::Auto)
            return chosen;
    }
    if (device.rfind("cuda", 0) == 0) {
        // bf16 tensor cores came with compute capability 8.0; LibTorch says so through cuDNN's
        // bf16 support check (major >= 8), the one capability query its CPU headers offer.
        return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8()
                   ? Precision::Bf16
                   : Precision::Fp32;
    }
    return cpuBf16Support().cpuFast() ? Precision::Bf16 : Precision::Fp32;
}

std::string describePrecision(Precision requested, const std::string& device)
{
    const Precision chosen = resolvePrecision(requested, device);
    std::string text = precisionName(chosen);
    if (requested != Precision::Auto)
        return text + " (as asked)";
    const char* forced = std::getenv("MOIN_PRECISION");
    if (forced && *forced && parsePrecision(forced) != Precision::Auto)
        return text + " (auto: MOIN_PRECISION)";
    if (device.rfind("cuda", 0) == 0)
        return text + (chosen == Precision::Bf16 ? " (auto: CUDA bf16 tensor cores)"
                                                 : " (auto: the GPU has no bf16 tensor cores)");
    return text + (chosen == Precision::Bf16
                       ? " (auto: " + cpuBf16Support().describe() + ")"
                       : std::string(" (auto: the CPU has no bf16 matmul units)"));
}

PrecisionScope::PrecisionScope(Precision precision, const std::string& device)
    : m_cuda(device.rfind("cuda", 0) == 0)
{
    if (precision == Precision::Auto)
        throw Error("internal: PrecisionScope needs a resolved precision (fp32 or bf16)");
    const bool bf16 = precision == Precision::Bf16;
    if (m_cuda) {
        m_wasEnabled = at::autocast::is_enabled();
        m_previousType = int(at::autocast::get_autocast_gpu_dtype());
        at::autocast::set_enabled(bf16);
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    } else {
        m_wasEnabled = at::autocast::is_cpu_enabled();
        m_previousType = int(at::autocast::get_autocast_cpu_dtype());
        at::autocast::set_cpu_enabled(bf16);
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
    at::autocast::increment_nesting();
}

PrecisionScope::~PrecisionScope()
{
    // As torch.autocast's __exit__: the outermost scope drops the cached casts.
    if (at::autocast::decrement_nesting() == 0)
        at::autocast::clear_cache();
    if (m_cuda) {
        at::autocast::set_enabled(m_wasEnabled);
        at::autocast::set_autocast_gpu_dtype(at::ScalarType(m_previousType));
    } else {
        at::autocast::set_cpu_enabled(m_wasEnabled);
        at::autocast::set_autocast_cpu_dtype(at::ScalarType(m_previousType));
    }
}

void PrecisionScope::clearCache() { at::autocast::clear_cache(); }

void storeBaseWeightsFor(LanguageModel& model, Precision precision)
{
    if (precision != Precision::Bf16)
        return;
    torch::NoGradGuard noGrad;
    LlamaImpl& llama = *model.impl().model;
    // set_data keeps the registered parameter and the member one tensor, as Module::to() does.
    for (auto& [name, projection] : llama.namedProjections())
        projection->weight.set_data(projection->weight.to(torch::kBFloat16));
    if (llama.lmHead)
        llama.lmHead->weight.set_data(llama.lmHead->weight.to(torch::kBFloat16));
}

} // namespace moin
