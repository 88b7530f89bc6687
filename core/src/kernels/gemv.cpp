// Matrix-vector kernels (see gemv.h). Each output row is one dot product per input row; the
// input rows go four at a time while that weight row sits in L1, so memory sees each weight
// once. Within a level, an input row's sums do not depend on the other rows of the call or on
// how the output rows are split: a request decodes the same alone and in a batch.
#include "gemv.h"

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which its flow analysis reports
// as uninitialised inside target("avx512f") functions (a false positive in the system headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace moin::kernels {

namespace {

constexpr int64_t kRowBlock = 4; // input rows per register block

float fromBFloat16(uint16_t bits)
{
    const uint32_t wide = uint32_t(bits) << 16;
    float value;
    std::memcpy(&value, &wide, sizeof value);
    return value;
}

// ---- scalar ----

template <typename T>
float scalarLoad(const T* p, int64_t i);
template <>
float scalarLoad<float>(const float* p, int64_t i)
{
    return p[i];
}

struct BF16Tag {
    uint16_t bits;
};
struct F16Tag {
    uint16_t bits;
};
template <>
float scalarLoad<BF16Tag>(const BF16Tag* p, int64_t i)
{
    return fromBFloat16(p[i].bits);
}
template <>
float scalarLoad<F16Tag>(const F16Tag* p, int64_t i)
{
    return fromFloat16(p[i].bits);
}

// ---- AVX2 + FMA (+ F16C for float16 weights) ----

#define MOIN_AVX2 __attribute__((target("avx2,fma,f16c")))

MOIN_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
MOIN_AVX2 inline __m256 load8(const BF16Tag* p)
{
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
}
MOIN_AVX2 inline __m256 load8(const F16Tag* p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

MOIN_AVX2 inline float sum8(__m256 v)
{
    const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
    return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
}

// R input rows against one weight row: two accumulators per row hide the FMA latency.
template <int R, typename T>
MOIN_AVX2 void dotAvx2(const T* row, int64_t cols, const float* x, int64_t ldx, float* out)
{
    __m256 acc0[R], acc1[R];
    for (int r = 0; r < R; ++r) {
        acc0[r] = _mm256_setzero_ps();
        acc1[r] = _mm256_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 16 <= cols; i += 16) {
        const __m256 w0 = load8(row + i);
        const __m256 w1 = load8(row + i + 8);
        for (int r = 0; r < R; ++r) {
            acc0[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * ldx + i), acc0[r]);
            acc1[r] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + r * ldx + i + 8), acc1[r]);
        }
    }
    if (i + 8 <= cols) {
        const __m256 w0 = load8(row + i);
        for (int r = 0; r < R; ++r)
            acc0[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * ldx + i), acc0[r]);
        i += 8;
    }
    for (int r = 0; r < R; ++r) {
        float s = sum8(_mm256_add_ps(acc0[r], acc1[r]));
        for (int64_t j = i; j < cols; ++j)
            s += scalarLoad(row, j) * x[r * ldx + j];
        out[r] = s;
    }
}

// ---- AVX-512F ----

#define MOIN_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))

MOIN_AVX512 inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
MOIN_AVX512 inline __m512 load16(const BF16Tag* p)
{
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
}
MOIN_AVX512 inline __m512 load16(const F16Tag* p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

template <int R, typename T>
MOIN_AVX512 void dotAvx512(const T* row, int64_t cols, const float* x, int64_t ldx, float* out)
{
    __m512 acc0[R], acc1[R];
    for (int r = 0; r < R; ++r) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 32 <= cols; i += 32) {
        const __m512 w0 = load16(row + i);
        const __m512 w1 = load16(row + i + 16);
        for (int r = 0; r < R; ++r) {
            acc0[r] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + r * ldx + i), acc0[r]);
            acc1[r] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + r * ldx + i + 16), acc1[r]);
        }
    }
    if (i + 16 <= cols) {
        const __m512 w0 = load16(row + i);
        for (int r = 0; r < R; ++r)
            acc0[r] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + r * ldx + i), acc0[r]);
        i += 16;
    }
    for (int r = 0; r < R; ++r) {
        float s = _mm512_reduce_add_ps(_mm512_add_ps(acc0[r], acc1[r]));
        for (int64_t j = i; j < cols; ++j)
            s += scalarLoad(row, j) * x[r * ldx + j];
        out[r] = s;
    }
}

// Output rows [begin, end) of W against the input rows, kRowBlock input rows at a time while
// the weight row is in L1; Dot<R>::run is the level's dot product of R input rows.
template <typename T, template <int, typename> class Dot>
void rowsWith(const WeightMatrix& w, int64_t begin, int64_t end, const float* x, int64_t n,
              int64_t ldx, float* y, int64_t ldy, bool accumulate)
{
    const T* base = static_cast<const T*>(w.data);
    float sum[kRowBlock];
    for (int64_t o = begin; o < end; ++o) {
        const T* row = base + o * w.stride;
        for (int64_t r0 = 0; r0 < n; r0 += kRowBlock) {
            const int64_t R = std::min(kRowBlock, n - r0);
            const float* xr = x + r0 * ldx;
            switch (R) {
            case 1: Dot<1, T>::run(row, w.cols, xr, ldx, sum); break;
            case 2: Dot<2, T>::run(row, w.cols, xr, ldx, sum); break;
            case 3: Dot<3, T>::run(row, w.cols, xr, ldx, sum); break;
            default: Dot<4, T>::run(row, w.cols, xr, ldx, sum); break;
            }
            for (int64_t r = 0; r < R; ++r) {
                float& out = y[(r0 + r) * ldy + o];
                out = (accumulate ? out : 0.0f) + sum[r];
            }
        }
    }
}

template <int R, typename T>
struct Avx2Dot {
    static void run(const T* row, int64_t cols, const float* x, int64_t ldx, float* out)
    {
        dotAvx2<R>(row, cols, x, ldx, out);
    }
};

template <int R, typename T>
struct Avx512Dot {
    static void run(const T* row, int64_t cols, const float* x, int64_t ldx, float* out)
    {
        dotAvx512<R>(row, cols, x, ldx, out);
    }
};

template <int R, typename T>
struct ScalarDot {
    static void run(const T* row, int64_t cols, const float* x, int64_t ldx, float* out)
    {
        for (int r = 0; r < R; ++r)
            out[r] = 0;
        for (int64_t i = 0; i < cols; ++i) {
            const float v = scalarLoad(row, i);
            for (int r = 0; r < R; ++r)
                out[r] += v * x[r * ldx + i];
        }
    }
};

template <typename T>
void rowsOf(Isa isa, const WeightMatrix& w, int64_t begin, int64_t end, const float* x,
            int64_t n, int64_t ldx, float* y, int64_t ldy, bool accumulate)
{
    switch (isa) {
    case Isa::Avx512: rowsWith<T, Avx512Dot>(w, begin, end, x, n, ldx, y, ldy, accumulate); return;
    case Isa::Avx2: rowsWith<T, Avx2Dot>(w, begin, end, x, n, ldx, y, ldy, accumulate); return;
    case Isa::Scalar: rowsWith<T, ScalarDot>(w, begin, end, x, n, ldx, y, ldy, accumulate); return;
    }
}

} // namespace

bool isaSupported(Isa isa)
{
    // libgcc's checks include the OS's XSAVE support for the wider registers.
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                      && __builtin_cpu_supports("f16c");
    switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return avx2;
    case Isa::Avx512: return avx2 && __builtin_cpu_supports("avx512f");
    }
    return false;
}

Isa bestIsa()
{
    static const Isa best = isaSupported(Isa::Avx512) ? Isa::Avx512
                            : isaSupported(Isa::Avx2) ? Isa::Avx2
                                                      : Isa::Scalar;
    return best;
}

const char* isaName(Isa isa)
{
    switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2+fma";
    case Isa::Avx512: return "avx512";
    }
    return "?";
}

void gemvRows(Isa isa, const WeightMatrix& w, int64_t begin, int64_t end, const float* x,
              int64_t n, int64_t ldx, float* y, int64_t ldy, bool accumulate)
{
    switch (w.type) {
    case WeightType::Float32:
        rowsOf<float>(isa, w, begin, end, x, n, ldx, y, ldy, accumulate);
        return;
    case WeightType::BFloat16:
        rowsOf<BF16Tag>(isa, w, begin, end, x, n, ldx, y, ldy, accumulate);
        return;
    case WeightType::Float16:
        rowsOf<F16Tag>(isa, w, begin, end, x, n, ldx, y, ldy, accumulate);
        return;
    }
}

float weightAt(const WeightMatrix& w, int64_t row, int64_t col)
{
    const int64_t i = row * w.stride + col;
    switch (w.type) {
    case WeightType::Float32: return static_cast<const float*>(w.data)[i];
    case WeightType::BFloat16: return fromBFloat16(static_cast<const uint16_t*>(w.data)[i]);
    case WeightType::Float16: return fromFloat16(static_cast<const uint16_t*>(w.data)[i]);
    }
    return 0;
}

uint16_t toBFloat16(float value)
{
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return uint16_t((bits >> 16) | 0x40); // NaN stays a quiet NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return uint16_t(bits >> 16);
}

float fromFloat16(uint16_t h)
{
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13); // inf, NaN
    } else if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {
            // Subnormal: normalise into float32's range.
            int shift = 0;
            while (!(mantissa & 0x400u)) {
                mantissa <<= 1;
                ++shift;
            }
            mantissa &= 0x3ffu;
            bits = sign | (uint32_t(127 - 15 + 1 - shift) << 23) | (mantissa << 13);
        }
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

} // namespace moin::kernels
