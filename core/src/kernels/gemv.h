#pragma once
// Matrix-vector kernels for decoding: each weight row is read once for up to kMaxRows input
// rows, in the weight's stored type (float32, bfloat16 or float16), accumulated in float32.
// Chosen at run time by what the CPU runs (no -march: the binary runs on any x86-64). No torch
// here: the decoder (decode.cpp) threads these over output rows.
#include <cstdint>

namespace moin::kernels {

/// Instruction sets the kernels are compiled for, in order of preference.
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

/// The best level this CPU runs (AVX2 needs FMA and F16C too).
Isa bestIsa();
/// Whether this CPU runs `isa`.
bool isaSupported(Isa isa);
const char* isaName(Isa isa);

enum class WeightType { Float32, BFloat16, Float16 };

/// A row-major weight matrix (rows = output features, cols = input features) in its stored type.
struct WeightMatrix {
    const void* data = nullptr;
    WeightType type = WeightType::Float32;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t stride = 0; ///< elements between rows (>= cols)
};

/// Input rows one weight pass serves; more rows take more passes.
constexpr int64_t kMaxRows = 8;

/// For output rows o in [begin, end) and input rows r < n (any n; x row r at x + r * ldx):
///   y[r * ldy + o] = (accumulate ? y[r * ldy + o] : 0) + sum_i W[o, i] * x[r * ldx + i]
/// float32 accumulation; the result does not depend on how [0, rows) is split into ranges.
void gemvRows(Isa isa, const WeightMatrix& w, int64_t begin, int64_t end, const float* x,
              int64_t n, int64_t ldx, float* y, int64_t ldy, bool accumulate);

/// One weight element as float32 (bfloat16/float16 widened exactly).
float weightAt(const WeightMatrix& w, int64_t row, int64_t col);

/// float32 -> bfloat16 bits, rounded to nearest even (as torch rounds).
uint16_t toBFloat16(float value);
/// float16 bits -> float32, exact.
float fromFloat16(uint16_t bits);

} // namespace moin::kernels
