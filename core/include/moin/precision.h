#pragma once
// Numeric precision of model work (training, evaluation, the model embedder; later generation
// and serving): fp32, or bf16 mixed precision as PyTorch's autocast does it (bf16 matmuls, fp32
// master LoRA weights, optimizer state, loss, softmax and norms). `auto` picks bf16 only where
// the hardware runs bf16 matmuls fast: a CPU with AVX512-BF16 or AMX-BF16, or a CUDA device
// with bf16 tensor cores. Elsewhere bf16 arithmetic is emulated and many times slower than fp32.
#include <string>

namespace moin {

class LanguageModel;

enum class Precision { Auto, Fp32, Bf16 };

/// "auto", "fp32", "bf16".
std::string precisionName(Precision precision);
/// Parses "auto", "fp32" (or "float32") and "bf16" (or "bfloat16"); throws moin::Error naming
/// the accepted values otherwise.
Precision parsePrecision(const std::string& text);

/// What the bf16 check found, for `moin version` and logs.
struct Bf16Support {
    /// The CPU has AVX512-BF16 instructions (and the OS saves AVX-512 state).
    bool avx512Bf16 = false;
    /// The CPU has AMX-BF16 tiles (and the OS saves tile state).
    bool amxBf16 = false;
    /// Either of the two: the CPU runs bf16 matmuls faster than fp32.
    bool cpuFast() const { return avx512Bf16 || amxBf16; }
    /// For people: "AVX512-BF16", "AMX-BF16, AVX512-BF16" or "none".
    std::string describe() const;
};

/// Checked once (CPUID and XGETBV) and remembered.
const Bf16Support& cpuBf16Support();

/// Fp32 or Bf16 for work on `device` (a resolved LibTorch device string, "cpu" or "cuda:N"):
/// Auto becomes Bf16 only where bf16 is fast there. The MOIN_PRECISION environment variable
/// ("fp32" or "bf16"), when set, replaces what Auto picks (for benchmarks and tests).
Precision resolvePrecision(Precision requested, const std::string& device);

/// For people: what `requested` resolves to on `device` and why, e.g. "fp32 (auto: the CPU
/// has no bf16 matmul units)" or "bf16 (auto: AVX512-BF16)". Throws as resolveDevice().
std::string describePrecision(Precision requested, const std::string& device);

/// Makes model work on this thread run in `precision` (Fp32 or Bf16, resolved) on `device` for
/// the scope's lifetime: bf16 turns on LibTorch's autocast for the device's type; fp32 turns it
/// off. Scopes nest; each restores what it found.
class PrecisionScope {
public:
    PrecisionScope(Precision precision, const std::string& device);
    ~PrecisionScope();
    PrecisionScope(const PrecisionScope&) = delete;
    PrecisionScope& operator=(const PrecisionScope&) = delete;

    /// Drops autocast's cached bf16 copies of trainable weights; call after each optimizer step
    /// (the copies are of the weights before the step).
    static void clearCache();

private:
    bool m_cuda = false;
    bool m_wasEnabled = false;
    int m_previousType = 0;
};

/// For Bf16: stores the base model's frozen projection weights (and an untied output head) in
/// bf16 once, so that no step casts them again; embeddings, norms and any attached or later
/// LoRA weights stay fp32. The model must then run inside a Bf16 PrecisionScope (a bf16 weight
/// with an fp32 input is refused outside autocast). For Fp32: nothing changes.
void storeBaseWeightsFor(LanguageModel& model, Precision precision);

} // namespace moin
