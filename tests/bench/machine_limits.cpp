// Bandwidth: STREAM's triad and copy plus a read-only sum in plain C++ threads, and torch's
// copy_ and sum. Compute: torch::mm_out on square fp32 matrices, beside the cores' FMA peak.
// Best of several repetitions each.
#include "machine_limits.h"

#include <torch/torch.h>

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace moin::bench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point start, Clock::time_point end)
{
    return std::chrono::duration<double>(end - start).count();
}

// Runs body(thread, begin, end) over [0, n) split into `threads` contiguous chunks.
void parallelChunks(int64_t n, int threads,
                    const std::function<void(int, int64_t, int64_t)>& body)
{
    std::vector<std::thread> pool;
    const int64_t chunk = (n + threads - 1) / threads;
    for (int t = 0; t < threads; ++t) {
        const int64_t begin = std::min(n, t * chunk);
        const int64_t end = std::min(n, begin + chunk);
        pool.emplace_back(body, t, begin, end);
    }
    for (std::thread& thread : pool)
        thread.join();
}

// Best of `reps` timed calls of `run`, after one untimed call.
KernelResult timeKernel(const std::string& name, double workPerRep, int reps,
                        const std::function<void()>& run)
{
    KernelResult result{name, workPerRep, 0, reps};
    run();
    for (int r = 0; r < reps; ++r) {
        const auto start = Clock::now();
        run();
        const double s = seconds(start, Clock::now());
        if (r == 0 || s < result.bestSeconds)
            result.bestSeconds = s;
    }
    return result;
}

// Keeps the compiler from dropping a loop whose result is otherwise unused.
volatile double g_sink = 0;

// Sum of p[begin, end) with 64-byte loads: one load per cache line keeps more lines in flight
// than eight scalar loads per line do, as a BLAS gemv kernel does. Four accumulators cover the
// add latency.
__attribute__((target("avx512f"))) double readSumAvx512(const double* p, int64_t begin,
                                                         int64_t end)
{
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = begin;
    for (; i + 32 <= end; i += 32) {
        s0 = _mm512_add_pd(s0, _mm512_loadu_pd(p + i));
        s1 = _mm512_add_pd(s1, _mm512_loadu_pd(p + i + 8));
        s2 = _mm512_add_pd(s2, _mm512_loadu_pd(p + i + 16));
        s3 = _mm512_add_pd(s3, _mm512_loadu_pd(p + i + 24));
    }
    alignas(64) double lanes[8];
    _mm512_store_pd(lanes, _mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
    double total = 0;
    for (double v : lanes)
        total += v;
    for (; i < end; ++i)
        total += p[i];
    return total;
}

std::vector<KernelResult> measureBandwidth(const LimitOptions& o)
{
    const int64_t n = o.arrayMiB * 1024 * 1024 / int64_t(sizeof(double));
    const double arrayBytes = double(n) * sizeof(double);
    std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
    double* __restrict pa = a.get();
    double* __restrict pb = b.get();
    double* __restrict pc = c.get();
    // First touch from the threads that later use each chunk.
    parallelChunks(n, o.threads, [=](int, int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            pa[i] = 1.0;
            pb[i] = 2.0;
            pc[i] = 0.5;
        }
    });

    std::vector<KernelResult> out;
    const std::string cxx = " (C++, " + std::to_string(o.threads) + " threads)";
    // STREAM counts bytes the program reads and writes; the write-allocate read of a[] that
    // the hardware adds is not counted, so triad and copy understate the traffic by 1/3 and 1/2.
    out.push_back(timeKernel("triad a=b+s*c" + cxx, 3 * arrayBytes, o.bandwidthReps, [&] {
        parallelChunks(n, o.threads, [=](int, int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i)
                pa[i] = pb[i] + 3.0 * pc[i];
        });
    }));
    out.push_back(timeKernel("copy a=b" + cxx, 2 * arrayBytes, o.bandwidthReps, [&] {
        parallelChunks(n, o.threads, [=](int, int64_t begin, int64_t end) {
            std::copy(pb + begin, pb + end, pa + begin);
        });
    }));
    // Read-only, like a decode step streaming the weights. Eight accumulators break the
    // floating-point dependency chain that would otherwise bound the loop at one add per 4 cycles.
    out.push_back(timeKernel("read sum(b)" + cxx, arrayBytes, o.bandwidthReps, [&] {
        std::vector<double> partial(o.threads);
        parallelChunks(n, o.threads, [&, pb](int thread, int64_t begin, int64_t end) {
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            int64_t i = begin;
            for (; i + 8 <= end; i += 8) {
                s0 += pb[i];
                s1 += pb[i + 1];
                s2 += pb[i + 2];
                s3 += pb[i + 3];
                s4 += pb[i + 4];
                s5 += pb[i + 5];
                s6 += pb[i + 6];
                s7 += pb[i + 7];
            }
            for (; i < end; ++i)
                s0 += pb[i];
            partial[thread] = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        });
        double total = 0;
        for (double v : partial)
            total += v;
        g_sink = total;
    }));
    out.back().readOnly = true;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        const std::string avx = " (C++ AVX-512, " + std::to_string(o.threads) + " threads)";
        out.push_back(timeKernel("read sum(b)" + avx, arrayBytes, o.bandwidthReps, [&] {
            std::vector<double> partial(o.threads);
            parallelChunks(n, o.threads, [&, pb](int thread, int64_t begin, int64_t end) {
                partial[thread] = readSumAvx512(pb, begin, end);
            });
            g_sink = partial[0];
        }));
        out.back().readOnly = true;
    }
    a.reset();
    b.reset();
    c.reset();

    {
        const int64_t floats = o.arrayMiB * 1024 * 1024 / int64_t(sizeof(float));
        torch::Tensor src = torch::full({floats}, 1.0f);
        torch::Tensor dst = torch::zeros({floats});
        out.push_back(timeKernel("copy_ (torch)", 2 * double(floats) * sizeof(float),
                                 o.bandwidthReps, [&] { dst.copy_(src); }));
        out.push_back(timeKernel("sum (torch)", double(floats) * sizeof(float), o.bandwidthReps,
                                 [&] { g_sink = src.sum().item<double>(); }));
        out.back().readOnly = true;
    }
    {
        // A batch-1 linear layer over a weight as large as the arrays: what a decode step runs.
        const int64_t in = 4096;
        const int64_t outFeatures = o.arrayMiB * 1024 * 1024 / int64_t(sizeof(float)) / in;
        const torch::Tensor weight = torch::randn({outFeatures, in});
        const torch::Tensor x = torch::randn({1, in});
        KernelResult gemv = timeKernel(
            "linear 1x" + std::to_string(in) + " by " + std::to_string(outFeatures) + "x"
                + std::to_string(in) + " (torch; engine kernel)",
            double(weight.numel()) * sizeof(float), o.bandwidthReps,
            [&] { g_sink = torch::linear(x, weight).sum().item<double>(); });
        gemv.countsForCeiling = false;
        out.push_back(gemv);
        // The same product as a matrix-vector product (BLAS gemv instead of gemm).
        const torch::Tensor vector = x.view({in});
        KernelResult mv = timeKernel(
            "mv " + std::to_string(outFeatures) + "x" + std::to_string(in)
                + " by vector (torch gemv; for comparison)",
            double(weight.numel()) * sizeof(float), o.bandwidthReps,
            [&] { g_sink = torch::mv(weight, vector).sum().item<double>(); });
        mv.countsForCeiling = false;
        out.push_back(mv);
    }
    return out;
}

// Independent FMA chains on vector registers only: the cores' arithmetic peak, which no
// matmul exceeds. Compiled for the instruction set by attribute (the project builds without
// -march=native) and run only when the CPU has it. Returns a value to keep the loop alive.
constexpr int64_t kFmaIterations = 20'000'000;
constexpr int kFmaChains = 12; // more than FMA latency x FMA ports, so the ports never idle

// Twelve named accumulators, not an array: GCC at -O2 keeps an array on the stack, and the
// store-to-load round trip would then bound the loop instead of the FMA units.
#define MOIN_FMA_LOOP(Vec, set1, fmadd, lanes)                                                    \
    Vec a0 = set1(0.f), a1 = set1(1.f), a2 = set1(2.f), a3 = set1(3.f), a4 = set1(4.f);          \
    Vec a5 = set1(5.f), a6 = set1(6.f), a7 = set1(7.f), a8 = set1(8.f), a9 = set1(9.f);          \
    Vec a10 = set1(10.f), a11 = set1(11.f);                                                      \
    const Vec scale = set1(0.999999f);                                                           \
    const Vec add = set1(1e-6f);                                                                 \
    for (int64_t i = 0; i < kFmaIterations; ++i) {                                               \
        a0 = fmadd(a0, scale, add);                                                              \
        a1 = fmadd(a1, scale, add);                                                              \
        a2 = fmadd(a2, scale, add);                                                              \
        a3 = fmadd(a3, scale, add);                                                              \
        a4 = fmadd(a4, scale, add);                                                              \
        a5 = fmadd(a5, scale, add);                                                              \
        a6 = fmadd(a6, scale, add);                                                              \
        a7 = fmadd(a7, scale, add);                                                              \
        a8 = fmadd(a8, scale, add);                                                              \
        a9 = fmadd(a9, scale, add);                                                              \
        a10 = fmadd(a10, scale, add);                                                            \
        a11 = fmadd(a11, scale, add);                                                            \
    }                                                                                            \
    const Vec sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)); \
    alignas(64) float out[lanes];                                                                \
    std::memcpy(out, &sum, sizeof out);                                                          \
    float total = 0;                                                                             \
    for (float v : out)                                                                          \
        total += v;                                                                              \
    return total;

__attribute__((target("avx512f"))) float fmaLoopAvx512()
{
    MOIN_FMA_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
}

__attribute__((target("avx2,fma"))) float fmaLoopAvx2()
{
    MOIN_FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
}

#undef MOIN_FMA_LOOP

std::optional<KernelResult> measureFmaPeak(const LimitOptions& o)
{
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f");
    if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return std::nullopt;
    const int lanes = avx512 ? 16 : 8;
    const double flops = 2.0 * lanes * kFmaChains * double(kFmaIterations) * o.threads;
    KernelResult peak = timeKernel(
        std::string("FMA peak, ") + (avx512 ? "AVX-512" : "AVX2") + " (C++, "
            + std::to_string(o.threads) + " threads; not a ceiling)",
        flops, 3, [&] {
            std::vector<float> results(o.threads);
            parallelChunks(o.threads, o.threads, [&](int thread, int64_t, int64_t) {
                results[thread] = avx512 ? fmaLoopAvx512() : fmaLoopAvx2();
            });
            g_sink = results[0];
        });
    peak.countsForCeiling = false;
    return peak;
}

std::vector<KernelResult> measureMatmul(const LimitOptions& o)
{
    std::vector<KernelResult> out;
    if (std::optional<KernelResult> peak = measureFmaPeak(o))
        out.push_back(*peak);
    for (int64_t size : {1024, 2048}) {
        const torch::Tensor a = torch::randn({size, size});
        const torch::Tensor b = torch::randn({size, size});
        torch::Tensor c = torch::empty({size, size});
        const double flops = 2.0 * double(size) * double(size) * double(size);
        const int reps = size <= 1024 ? 2 * o.matmulReps : o.matmulReps;
        out.push_back(timeKernel("matmul " + std::to_string(size) + "x" + std::to_string(size)
                                     + " fp32 (torch)",
                                 flops, reps, [&] { torch::mm_out(c, a, b); }));
    }
    return out;
}

} // namespace

MachineLimits measureMachineLimits(const LimitOptions& options)
{
    torch::InferenceMode inference;
    MachineLimits limits;
    limits.bandwidth = measureBandwidth(options);
    limits.matmul = measureMatmul(options);
    for (const KernelResult& k : limits.bandwidth) {
        if (k.countsForCeiling)
            limits.bandwidthCeiling = std::max(limits.bandwidthCeiling, k.rate());
        if (k.countsForCeiling && k.readOnly)
            limits.readCeiling = std::max(limits.readCeiling, k.rate());
    }
    for (const KernelResult& k : limits.matmul) {
        if (k.countsForCeiling)
            limits.matmulCeiling = std::max(limits.matmulCeiling, k.rate());
    }
    return limits;
}

} // namespace moin::bench
