// 2-D layout of embeddings: PCA, and a UMAP-class layout (McInnes et al. 2018, following
// umap-learn's defaults): kNN graph (exact with FAISS, or NN-descent) -> fuzzy-set weights ->
// SGD from the PCA layout. Trustworthiness (Venna & Kaski 2001) as the quality measure.
#include "moin/layout.h"

#include "moin/error.h"

#include <faiss/IndexFlat.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <numeric>
#include <sstream>
#include <thread>

namespace moin {

namespace {

// Exact kNN (brute force, BLAS) up to this many points; NN-descent above.
constexpr int64_t kExactKnnLimit = 8192;
// Queries per exact search call, between two progress and cancel checks.
constexpr int64_t kExactBatch = 2048;
// The covariance for PCA is estimated on a seeded sample of rows: at most kPcaMaxRows, and at
// most kPcaWork / dim^2 (but kPcaMinRows) so that wide embeddings (2048-D) take seconds.
constexpr int64_t kPcaMaxRows = 50000;
constexpr int64_t kPcaMinRows = 2000;
constexpr double kPcaWork = 2e9;
constexpr int kPcaBlock = 8;
constexpr int64_t kPcaRowBlock = 32;
constexpr int kPcaMaxIterations = 100;
// Above this many points the epochs shrink (see LayoutOptions::epochs).
constexpr int64_t kEpochScaleStart = 250000;
constexpr int kMinScaledEpochs = 50;
// UMAP scales the initial layout to this largest absolute coordinate and adds this jitter.
constexpr double kInitExtent = 10.0;
constexpr double kInitJitter = 1e-4;
// SGD work units: fixed, so that the work does not depend on the number of threads.
constexpr int64_t kMaxSgdChunks = 256;
constexpr int64_t kMinSgdChunkEdges = 1024;
constexpr float kGradientClip = 4.0f;
// Share of the progress bar per stage of the UMAP layout.
constexpr double kProgressPca = 0.03;
constexpr double kProgressKnn = 0.55;
constexpr double kProgressGraph = 0.60;

// ---- small helpers ----------------------------------------------------------------------------

class SplitMix64 {
public:
    explicit SplitMix64(uint64_t seed) : m_state(seed) {}
    uint64_t next()
    {
        uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, bound), Lemire's multiply-shift (bias below 2^-32 for bound < 2^32).
    uint64_t below(uint64_t bound)
    {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double normal()
    {
        const double u1 = std::max(uniform(), 1e-300);
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * uniform());
    }

private:
    uint64_t m_state;
};

uint64_t mixSeed(uint64_t seed, uint64_t a, uint64_t b = 0)
{
    SplitMix64 rng(seed ^ (a * 0xD1B54A32D192ED03ull) ^ (b * 0x8CB92BA72F3D8DD7ull));
    return rng.next();
}

int resolveThreads(int threads)
{
    if (threads > 0)
        return threads;
    return std::max(1u, std::thread::hardware_concurrency());
}

// Runs body(begin, end, worker) on `threads` contiguous slices of [0, count); the caller runs
// slice 0. The first exception of any slice is rethrown.
template <typename Body>
void parallelRanges(int64_t count, int threads, const Body& body)
{
    const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, count));
    if (workers == 1) {
        body(int64_t(0), count, 0);
        return;
    }
    std::vector<std::exception_ptr> errors(workers);
    auto run = [&](int64_t w) {
        try {
            body(count * w / workers, count * (w + 1) / workers, static_cast<int>(w));
        } catch (...) {
            errors[w] = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    for (int64_t w = 1; w < workers; ++w)
        pool.emplace_back(run, w);
    run(0);
    for (auto& thread : pool)
        thread.join();
    for (auto& error : errors) {
        if (error)
            std::rethrow_exception(error);
    }
}

// FAISS parallelises with OpenMP; its thread count is per calling thread, restored on exit.
class OmpThreadScope {
public:
    explicit OmpThreadScope(int threads) : m_saved(omp_get_max_threads())
    {
        omp_set_num_threads(threads);
    }
    ~OmpThreadScope() { omp_set_num_threads(m_saved); }
    OmpThreadScope(const OmpThreadScope&) = delete;
    OmpThreadScope& operator=(const OmpThreadScope&) = delete;

private:
    int m_saved;
};

void checkShape(const char* function, const void* data, int64_t n, int64_t dim)
{
    if (n < 3) {
        std::ostringstream message;
        message << function << ": needs at least 3 points, got " << n
                << " (hint: a map of fewer points carries no information)";
        throw Error(message.str());
    }
    if (dim < 1) {
        std::ostringstream message;
        message << function << ": dimension must be at least 1, got " << dim;
        throw Error(message.str());
    }
    if (!data)
        throw Error(std::string(function) + ": points is null but n is " + std::to_string(n));
}

// As FAISS before k-means: a NaN or Inf found up front spares a meaningless layout.
void checkFinite(const char* function, const char* what, const float* data, int64_t rows,
                 int64_t cols, int threads)
{
    std::vector<int64_t> firstBad(std::max(1, threads), -1);
    const int64_t total = rows * cols;
    parallelRanges(total, threads, [&](int64_t begin, int64_t end, int worker) {
        for (int64_t i = begin; i < end; ++i) {
            if (!std::isfinite(data[i])) {
                firstBad[worker] = i;
                return;
            }
        }
    });
    for (int64_t bad : firstBad) {
        if (bad >= 0) {
            std::ostringstream message;
            message << function << ": " << what << " must be finite, found NaN or Inf (first at "
                    << "row " << bad / cols << ", column " << bad % cols << ": " << data[bad]
                    << "); hint: check what produced the " << what;
            throw Error(message.str());
        }
    }
}

void report(const std::function<void(double)>& onProgress, double fraction)
{
    if (onProgress)
        onProgress(std::clamp(fraction, 0.0, 1.0));
}

bool isCancelled(const CancelToken* cancel)
{
    return cancel && cancel->isCancelled();
}

// ---- SIMD ------------------------------------------------------------------------------------

// Distances and SGD dominate the time. Debian's FAISS and the project are built for baseline
// x86-64, so the hot loops are compiled for AVX-512, AVX2 and baseline, picked at load time by
// CPU feature ("arch=" clones would pick by CPU model and miss newer ones).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MOIN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MOIN_SIMD_CLONES
#endif

// Eight-lane vectors (GCC vector extensions): compiled to AVX registers in the AVX clones and to
// pairs of SSE registers in the baseline one. They never cross a non-inlined call, so the ABI
// note GCC gives for them does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float Float8 __attribute__((vector_size(32)));
typedef double Double4 __attribute__((vector_size(32)));

// row[b] += xa * x[b] for b in [from, dim): one row of a rank-one update.
MOIN_SIMD_CLONES
void addScaledRow(double* row, double xa, const double* x, int64_t from, int64_t dim)
{
    int64_t b = from;
    for (; b + 4 <= dim; b += 4) {
        Double4 r, v;
        std::memcpy(&r, row + b, sizeof r);
        std::memcpy(&v, x + b, sizeof v);
        r += xa * v;
        std::memcpy(row + b, &r, sizeof r);
    }
    for (; b < dim; ++b)
        row[b] += xa * x[b];
}

// z = a q for a (dim, dim) and q, z (dim, 8), all row-major.
MOIN_SIMD_CLONES
void multiplyBy8Columns(const double* a, const double* q, double* z, int64_t dim)
{
    for (int64_t r = 0; r < dim; ++r) {
        Double4 low = {}, high = {};
        for (int64_t c = 0; c < dim; ++c) {
            Double4 ql, qh;
            std::memcpy(&ql, q + c * 8, sizeof ql);
            std::memcpy(&qh, q + c * 8 + 4, sizeof qh);
            low += a[r * dim + c] * ql;
            high += a[r * dim + c] * qh;
        }
        std::memcpy(z + r * 8, &low, sizeof low);
        std::memcpy(z + r * 8 + 4, &high, sizeof high);
    }
}

// ---- PCA --------------------------------------------------------------------------------------

// Symmetric eigen-decomposition of a small (m, m) matrix by cyclic Jacobi rotations.
// On return a's diagonal holds the eigenvalues and the columns of v the eigenvectors.
void jacobiEigen(std::vector<double>& a, std::vector<double>& v, int m)
{
    v.assign(size_t(m) * m, 0.0);
    for (int i = 0; i < m; ++i)
        v[size_t(i) * m + i] = 1.0;
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0;
        for (int p = 0; p < m; ++p)
            for (int q = p + 1; q < m; ++q)
                off += a[size_t(p) * m + q] * a[size_t(p) * m + q];
        double diagonal = 0.0;
        for (int p = 0; p < m; ++p)
            diagonal += a[size_t(p) * m + p] * a[size_t(p) * m + p];
        if (off <= 1e-30 * diagonal || off < 1e-300)
            return;
        for (int p = 0; p < m; ++p) {
            for (int q = p + 1; q < m; ++q) {
                const double apq = a[size_t(p) * m + q];
                if (std::abs(apq) < 1e-300)
                    continue;
                const double theta = (a[size_t(q) * m + q] - a[size_t(p) * m + p]) / (2 * apq);
                const double t = (theta >= 0 ? 1.0 : -1.0)
                    / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0);
                const double s = t * c;
                for (int r = 0; r < m; ++r) {
                    const double arp = a[size_t(r) * m + p];
                    const double arq = a[size_t(r) * m + q];
                    a[size_t(r) * m + p] = c * arp - s * arq;
                    a[size_t(r) * m + q] = s * arp + c * arq;
                }
                for (int r = 0; r < m; ++r) {
                    const double apr = a[size_t(p) * m + r];
                    const double aqr = a[size_t(q) * m + r];
                    a[size_t(p) * m + r] = c * apr - s * aqr;
                    a[size_t(q) * m + r] = s * apr + c * aqr;
                }
                for (int r = 0; r < m; ++r) {
                    const double vrp = v[size_t(r) * m + p];
                    const double vrq = v[size_t(r) * m + q];
                    v[size_t(r) * m + p] = c * vrp - s * vrq;
                    v[size_t(r) * m + q] = s * vrp + c * vrq;
                }
            }
        }
    }
}

// Orthonormalises the `m` columns of the row-major (dim, m) matrix q (modified Gram-Schmidt);
// a column that vanishes is replaced by a fresh random one.
void orthonormalise(std::vector<double>& q, int64_t dim, int m, SplitMix64& rng)
{
    for (int c = 0; c < m; ++c) {
        for (int attempt = 0; attempt < 3; ++attempt) {
            for (int p = 0; p < c; ++p) {
                double dot = 0.0;
                for (int64_t r = 0; r < dim; ++r)
                    dot += q[r * m + p] * q[r * m + c];
                for (int64_t r = 0; r < dim; ++r)
                    q[r * m + c] -= dot * q[r * m + p];
            }
            double norm = 0.0;
            for (int64_t r = 0; r < dim; ++r)
                norm += q[r * m + c] * q[r * m + c];
            norm = std::sqrt(norm);
            if (norm > 1e-150) {
                for (int64_t r = 0; r < dim; ++r)
                    q[r * m + c] /= norm;
                break;
            }
            for (int64_t r = 0; r < dim; ++r)
                q[r * m + c] = rng.normal();
        }
    }
}

struct PrincipalAxes {
    std::vector<double> mean; // (dim)
    std::vector<double> axes; // (count, dim), unit length; zero rows beyond min(dim, 8)
};

// The top `count` (at most kPcaBlock) principal axes; convergence is judged on the top two.
PrincipalAxes principalAxes(const float* points, int64_t n, int64_t dim, uint64_t seed,
                            int threads, int count = 2)
{
    // Rows that enter the covariance: all of them, or a seeded sample.
    const int64_t maxRows = std::clamp<int64_t>(int64_t(kPcaWork / double(dim) / double(dim)),
                                                kPcaMinRows, kPcaMaxRows);
    std::vector<int64_t> rows;
    if (n > maxRows) {
        SplitMix64 rng(mixSeed(seed, 1));
        std::vector<int64_t> all(n);
        std::iota(all.begin(), all.end(), 0);
        for (int64_t i = 0; i < maxRows; ++i)
            std::swap(all[i], all[i + int64_t(rng.below(uint64_t(n - i)))]);
        rows.assign(all.begin(), all.begin() + maxRows);
        std::sort(rows.begin(), rows.end());
    } else {
        rows.resize(n);
        std::iota(rows.begin(), rows.end(), 0);
    }
    const int64_t m = int64_t(rows.size());

    PrincipalAxes result;
    result.mean.assign(dim, 0.0);
    for (int64_t r : rows)
        for (int64_t c = 0; c < dim; ++c)
            result.mean[c] += points[r * dim + c];
    for (double& value : result.mean)
        value /= double(m);

    // Upper triangle of the (dim, dim) covariance, one partial sum per worker.
    const int workers = int(std::max<int64_t>(1, std::min<int64_t>(threads, m / 256 + 1)));
    std::vector<std::vector<double>> partial(workers);
    parallelRanges(m, workers, [&](int64_t begin, int64_t end, int worker) {
        std::vector<double>& cov = partial[worker];
        cov.assign(size_t(dim * dim), 0.0);
        // Rank-kPcaRowBlock updates: a covariance row stays in cache for a block of rows.
        std::vector<double> centred(size_t(kPcaRowBlock * dim));
        for (int64_t first = begin; first < end; first += kPcaRowBlock) {
            const int64_t count = std::min(kPcaRowBlock, end - first);
            for (int64_t i = 0; i < count; ++i) {
                const float* x = points + rows[first + i] * dim;
                for (int64_t c = 0; c < dim; ++c)
                    centred[i * dim + c] = double(x[c]) - result.mean[c];
            }
            for (int64_t a = 0; a < dim; ++a)
                for (int64_t i = 0; i < count; ++i)
                    addScaledRow(cov.data() + a * dim, centred[i * dim + a],
                                 centred.data() + i * dim, a, dim);
        }
    });
    std::vector<double> cov(size_t(dim * dim), 0.0);
    for (const auto& part : partial)
        for (size_t i = 0; i < cov.size(); ++i)
            cov[i] += part[i];
    for (int64_t a = 0; a < dim; ++a)
        for (int64_t b = a; b < dim; ++b)
            cov[b * dim + a] = cov[a * dim + b] /= double(m);

    // Subspace iteration on a block of vectors, then Rayleigh-Ritz for the top two.
    const int block = int(std::min<int64_t>(dim, kPcaBlock));
    SplitMix64 rng(mixSeed(seed, 2));
    std::vector<double> q(size_t(dim * block));
    for (double& value : q)
        value = rng.normal();
    orthonormalise(q, dim, block, rng);
    std::vector<double> z(q.size());
    // With dim <= 8 the block spans the whole space: Rayleigh-Ritz alone is exact.
    static_assert(kPcaBlock == 8, "multiplyBy8Columns");
    const int iterations = dim <= kPcaBlock ? 0 : kPcaMaxIterations;
    for (int it = 0; it < iterations; ++it) {
        multiplyBy8Columns(cov.data(), q.data(), z.data(), dim);
        q.swap(z);
        orthonormalise(q, dim, block, rng);
        // Converged when the span of the two leading vectors no longer turns: the squared
        // cosines of its principal angles with the previous span sum to 2.
        double cosines = 0.0;
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j) {
                double dot = 0.0;
                for (int64_t r = 0; r < dim; ++r)
                    dot += q[r * block + i] * z[r * block + j];
                cosines += dot * dot;
            }
        const double turn = 2.0 - cosines;
        if (turn < 1e-12)
            break;
    }
    // h = q^T cov q, (block, block)
    std::vector<double> cq(q.size(), 0.0);
    for (int64_t r = 0; r < dim; ++r)
        for (int64_t c = 0; c < dim; ++c)
            for (int j = 0; j < block; ++j)
                cq[r * block + j] += cov[r * dim + c] * q[c * block + j];
    std::vector<double> h(size_t(block) * block, 0.0), eigenvectors;
    for (int i = 0; i < block; ++i)
        for (int j = 0; j < block; ++j)
            for (int64_t r = 0; r < dim; ++r)
                h[size_t(i) * block + j] += q[r * block + i] * cq[r * block + j];
    jacobiEigen(h, eigenvectors, block);
    std::vector<int> order(block);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int x, int y) {
        return h[size_t(x) * block + x] > h[size_t(y) * block + y];
    });

    result.axes.assign(size_t(count * dim), 0.0);
    for (int axis = 0; axis < std::min(count, block); ++axis) {
        const int e = order[axis];
        double* out = result.axes.data() + axis * dim;
        for (int64_t r = 0; r < dim; ++r)
            for (int j = 0; j < block; ++j)
                out[r] += q[r * block + j] * eigenvectors[size_t(j) * block + e];
        // Eigenvectors have no sign: make the largest component positive, for stable maps.
        int64_t largest = 0;
        for (int64_t r = 1; r < dim; ++r)
            if (std::abs(out[r]) > std::abs(out[largest]))
                largest = r;
        if (out[largest] < 0)
            for (int64_t r = 0; r < dim; ++r)
                out[r] = -out[r];
    }
    return result;
}

// (n, count) projections of all points onto the principal axes, in double.
std::vector<double> projectPca(const float* points, int64_t n, int64_t dim,
                               const PrincipalAxes& pca, int threads)
{
    const int64_t count = int64_t(pca.axes.size()) / dim;
    std::vector<double> out(size_t(count * n));
    parallelRanges(n, threads, [&](int64_t begin, int64_t end, int) {
        for (int64_t i = begin; i < end; ++i) {
            double u[kPcaBlock] = {};
            for (int64_t c = 0; c < dim; ++c) {
                const double x = double(points[i * dim + c]) - pca.mean[c];
                for (int64_t a = 0; a < count; ++a)
                    u[a] += x * pca.axes[a * dim + c];
            }
            for (int64_t a = 0; a < count; ++a)
                out[count * i + a] = u[a];
        }
    });
    return out;
}

// |x - y|^2 over dim floats, 16 at a time in two accumulators; inlined into each clone, so it
// is compiled for that clone's instruction set.
__attribute__((always_inline)) inline float squaredDistanceKernel(const float* x, const float* y,
                                                                  int64_t dim)
{
    Float8 acc0 = {}, acc1 = {}, a0, b0, a1, b1;
    int64_t c = 0;
    for (; c + 16 <= dim; c += 16) {
        std::memcpy(&a0, x + c, sizeof a0);
        std::memcpy(&b0, y + c, sizeof b0);
        std::memcpy(&a1, x + c + 8, sizeof a1);
        std::memcpy(&b1, y + c + 8, sizeof b1);
        a0 -= b0;
        a1 -= b1;
        acc0 += a0 * a0;
        acc1 += a1 * a1;
    }
    for (; c + 8 <= dim; c += 8) {
        std::memcpy(&a0, x + c, sizeof a0);
        std::memcpy(&b0, y + c, sizeof b0);
        a0 -= b0;
        acc0 += a0 * a0;
    }
    acc0 += acc1;
    float sum = 0.0f;
    for (int lane = 0; lane < 8; ++lane)
        sum += acc0[lane];
    for (; c < dim; ++c) {
        const float t = x[c] - y[c];
        sum += t * t;
    }
    return sum;
}

// out[q] = normal . base[ids[q]] for q < count.
MOIN_SIMD_CLONES
void dotProducts(const float* normal, const float* base, const int32_t* ids, int64_t count,
                 int64_t dim, float* out)
{
    for (int64_t q = 0; q < count; ++q) {
        const float* y = base + int64_t(ids[q]) * dim;
        Float8 acc = {}, a, b;
        int64_t c = 0;
        for (; c + 8 <= dim; c += 8) {
            std::memcpy(&a, normal + c, sizeof a);
            std::memcpy(&b, y + c, sizeof b);
            acc += a * b;
        }
        float sum = 0.0f;
        for (int lane = 0; lane < 8; ++lane)
            sum += acc[lane];
        for (; c < dim; ++c)
            sum += normal[c] * y[c];
        out[q] = sum;
    }
}

// out[q] = |x - base[ids[q]]|^2 for q < count. base: (n, dim) row-major.
MOIN_SIMD_CLONES
void squaredDistances(const float* x, const float* base, const int32_t* ids, int count,
                      int64_t dim, float* out)
{
    for (int q = 0; q < count; ++q)
        out[q] = squaredDistanceKernel(x, base + int64_t(ids[q]) * dim, dim);
}

// out[q * n + l] = |queries[q] - base[l]|^2 for q < count (at most 8), l < n: each base row is
// read once for all queries, so the pass is bound by arithmetic, not memory.
MOIN_SIMD_CLONES
void squaredDistancesToAll(const float* const* queries, int count, const float* base, int64_t n,
                           int64_t dim, float* out)
{
    for (int64_t l = 0; l < n; ++l)
        for (int q = 0; q < count; ++q)
            out[q * n + l] = squaredDistanceKernel(queries[q], base + l * dim, dim);
}

// ---- kNN graph --------------------------------------------------------------------------------

// Exact kNN by brute force (FAISS, BLAS). Returns false if cancelled.
bool exactKnn(const float* points, int64_t n, int64_t dim, int k, int threads,
              const std::function<void(double)>& onProgress, double from, double to,
              const CancelToken* cancel, KnnGraph& graph)
{
    OmpThreadScope ompThreads(threads);
    faiss::IndexFlatL2 index(static_cast<faiss::Index::idx_t>(dim));
    index.add(n, points);
    std::vector<faiss::Index::idx_t> labels(size_t(kExactBatch * (k + 1)));
    std::vector<float> sqDistances(labels.size());
    for (int64_t begin = 0; begin < n; begin += kExactBatch) {
        if (isCancelled(cancel))
            return false;
        const int64_t count = std::min(kExactBatch, n - begin);
        index.search(count, points + begin * dim, k + 1, sqDistances.data(), labels.data());
        for (int64_t q = 0; q < count; ++q) {
            // Keep k of the k + 1 results, without the query itself (duplicates may come first).
            const int64_t self = begin + q;
            const faiss::Index::idx_t* row = labels.data() + q * (k + 1);
            int out = 0;
            bool selfSeen = false;
            for (int j = 0; j <= k && out < k; ++j) {
                if (row[j] == self && !selfSeen) {
                    selfSeen = true;
                    continue;
                }
                graph.index[self * k + out] = row[j] < 0 ? -1 : int32_t(row[j]);
                graph.distance[self * k + out] =
                    std::sqrt(std::max(0.0f, sqDistances[q * (k + 1) + j]));
                ++out;
            }
        }
        report(onProgress, from + (to - from) * double(begin + count) / double(n));
    }
    return true;
}

// Approximate kNN by NN-descent (Dong, Charikar & Li 2011) started from a random projection
// forest, as pynndescent does for umap-learn. Deterministic for a seed, whatever the number of
// threads: every phase either owns disjoint nodes or applies updates in a fixed order.
class NnDescent {
public:
    NnDescent(const float* points, int64_t n, int64_t dim, int k, uint64_t seed, int threads)
        : m_points(points), m_n(n), m_dim(dim), m_k(k), m_seed(seed), m_threads(threads),
          m_maxCandidates(std::min(kMaxCandidates, 2 * k)),
          m_index(size_t(n * k), -1),
          m_distance(size_t(n * k), std::numeric_limits<float>::infinity()),
          m_isNew(size_t(n * k), 0)
    {
    }

    // Returns false if cancelled.
    bool run(const std::function<void(double)>& onProgress, double from, double to,
             const CancelToken* cancel, KnnGraph& graph)
    {
        // Progress: building the forest 20%, joining its leaves 10%, NN-descent the rest.
        const double built = from + 0.2 * (to - from), joined = from + 0.3 * (to - from);
        {
            std::vector<Tree> forest(forestSize());
            parallelRanges(int64_t(forest.size()), m_threads,
                           [&](int64_t b, int64_t e, int worker) {
                for (int64_t tree = b; tree < e; ++tree) {
                    forest[tree] = buildTree(int(tree), cancel);
                    if (worker == 0) // the calling thread
                        report(onProgress, from + (built - from) * double(tree + 1) / e);
                }
            });
            for (size_t tree = 0; tree < forest.size(); ++tree) {
                if (isCancelled(cancel))
                    return false;
                joinLeaves(forest[tree]);
                report(onProgress, built + (joined - built) * double(tree + 1) / forest.size());
            }
        }
        const int64_t minChanges = std::max<int64_t>(1, int64_t(kDelta * double(m_n * m_k)));
        const int iterations = maxIterations();
        for (int it = 0; it < iterations; ++it) {
            buildCandidates(it);
            int64_t changes = 0;
            for (int64_t begin = 0; begin < m_n; begin += kJoinBlock) {
                if (isCancelled(cancel))
                    return false;
                changes += localJoin(begin, std::min(m_n, begin + kJoinBlock));
            }
            report(onProgress, joined + (to - joined) * double(it + 1) / iterations);
            if (changes < minChanges)
                break;
        }
        finish(graph);
        return true;
    }

private:
    static constexpr int kMaxCandidates = 60;
    static constexpr double kDelta = 0.001;    // stop when fewer than this share of edges change
    static constexpr int64_t kJoinBlock = 4096; // bounds the updates buffered at once

    struct Update {
        int32_t p, q;
        float distance;
    };

    int forestSize() const
    {
        return int(std::clamp<int64_t>(4 + std::lround(std::pow(double(m_n), 0.25) / 4), 4, 12));
    }
    int maxIterations() const { return std::max(5, int(std::lround(std::log2(double(m_n))))); }
    int leafSize() const { return std::max(2 * m_k, 32); }

    float* distances(int64_t i) { return m_distance.data() + i * m_k; }
    int32_t* neighbours(int64_t i) { return m_index.data() + i * m_k; }

    // Offers j as a neighbour of i (squared distance d); returns true if kept. A max-heap on
    // distance; equal distances keep the incumbent.
    bool push(int64_t i, int32_t j, float d)
    {
        float* dist = distances(i);
        int32_t* idx = neighbours(i);
        uint8_t* fresh = m_isNew.data() + i * m_k;
        if (!(d < dist[0]) || j == i)
            return false;
        for (int a = 0; a < m_k; ++a)
            if (idx[a] == j)
                return false;
        int pos = 0;
        for (;;) {
            const int left = 2 * pos + 1, right = left + 1;
            int largest = pos;
            float largestDistance = d;
            if (left < m_k && dist[left] > largestDistance) {
                largest = left;
                largestDistance = dist[left];
            }
            if (right < m_k && dist[right] > largestDistance)
                largest = right;
            if (largest == pos)
                break;
            dist[pos] = dist[largest];
            idx[pos] = idx[largest];
            fresh[pos] = fresh[largest];
            pos = largest;
        }
        dist[pos] = d;
        idx[pos] = j;
        fresh[pos] = 1;
        return true;
    }

    struct Tree {
        std::vector<int32_t> order;                       // points, leaf after leaf
        std::vector<std::pair<int64_t, int64_t>> leaves;  // [begin, end) in order
    };

    // A random projection tree: nodes split by the hyperplane halfway between two of their
    // points until at most leafSize() remain. Left unfinished if cancelled.
    Tree buildTree(int tree, const CancelToken* cancel) const
    {
        Tree result;
        std::vector<int32_t>& order = result.order;
        order.resize(m_n);
        std::iota(order.begin(), order.end(), 0);
        std::vector<std::pair<int64_t, int64_t>> stack{{0, m_n}};
        SplitMix64 rng(mixSeed(m_seed, 100, uint64_t(tree)));
        std::vector<float> normal(m_dim), margin;
        std::vector<int32_t> right;
        const int64_t leaf = leafSize();
        while (!stack.empty() && !isCancelled(cancel)) {
            const auto [begin, end] = stack.back();
            stack.pop_back();
            const int64_t size = end - begin;
            if (size <= leaf) {
                result.leaves.push_back({begin, end});
                continue;
            }
            const int64_t a = order[begin + int64_t(rng.below(uint64_t(size)))];
            int64_t b = order[begin + int64_t(rng.below(uint64_t(size - 1)))];
            if (b == a)
                b = order[end - 1];
            const float* xa = m_points + a * m_dim;
            const float* xb = m_points + b * m_dim;
            double offset = 0.0;
            for (int64_t c = 0; c < m_dim; ++c) {
                normal[c] = xa[c] - xb[c];
                offset -= double(normal[c]) * (double(xa[c]) + double(xb[c])) / 2;
            }
            margin.resize(size);
            dotProducts(normal.data(), m_points, order.data() + begin, size, m_dim,
                        margin.data());
            // Stable partition: left (margin > 0) first; ties and degenerate splits at random.
            right.clear();
            int64_t left = begin;
            for (int64_t r = 0; r < size; ++r) {
                const double value = double(margin[r]) + offset;
                if (value > 0 || (value == 0 && (rng.next() & 1)))
                    order[left++] = order[begin + r];
                else
                    right.push_back(order[begin + r]);
            }
            std::copy(right.begin(), right.end(), order.begin() + left);
            if (left == begin || left == end) { // all on one side (duplicates): halve
                for (int64_t r = size - 1; r > 0; --r)
                    std::swap(order[begin + r], order[begin + int64_t(rng.below(uint64_t(r + 1)))]);
                left = begin + size / 2;
            }
            stack.push_back({begin, left});
            stack.push_back({left, end});
        }
        return result;
    }

    // Joins the points of each leaf pairwise. Leaves are disjoint, so threads need no locks.
    void joinLeaves(const Tree& tree)
    {
        const int64_t leaf = leafSize();
        parallelRanges(int64_t(tree.leaves.size()), m_threads, [&](int64_t lb, int64_t le, int) {
            std::vector<float> d(leaf);
            for (int64_t l = lb; l < le; ++l) {
                const auto [begin, end] = tree.leaves[l];
                for (int64_t r = begin; r + 1 < end; ++r) {
                    const int32_t p = tree.order[r];
                    squaredDistances(m_points + int64_t(p) * m_dim, m_points,
                                     tree.order.data() + r + 1, int(end - r - 1), m_dim, d.data());
                    for (int64_t s = r + 1; s < end; ++s) {
                        push(p, tree.order[s], d[s - r - 1]);
                        push(tree.order[s], p, d[s - r - 1]);
                    }
                }
            }
        });
    }

    // Samples up to m_maxCandidates new and old neighbours (forward and reverse) per node, by
    // a random priority; new ones that were sampled become old.
    void buildCandidates(int iteration)
    {
        const int64_t slots = m_n * m_maxCandidates;
        m_newCandidates.assign(size_t(slots), -1);
        m_oldCandidates.assign(size_t(slots), -1);
        m_newPriority.assign(size_t(slots), 0);
        m_oldPriority.assign(size_t(slots), 0);
        m_newCount.assign(size_t(m_n), 0);
        m_oldCount.assign(size_t(m_n), 0);
        // Each thread owns a range of nodes and scans all edges for them: no locks, and the
        // insertion order is the same for any number of threads.
        parallelRanges(m_n, m_threads, [&](int64_t own0, int64_t own1, int) {
            for (int64_t i = 0; i < m_n; ++i) {
                const int32_t* idx = neighbours(i);
                const uint8_t* fresh = m_isNew.data() + i * m_k;
                for (int a = 0; a < m_k; ++a) {
                    const int32_t j = idx[a];
                    const bool ownI = i >= own0 && i < own1, ownJ = j >= own0 && j < own1;
                    if (j < 0 || (!ownI && !ownJ))
                        continue;
                    const uint32_t priority = uint32_t(mixSeed(
                        m_seed, 1000 + uint64_t(iteration), uint64_t(i) << 32 | uint32_t(j)));
                    auto& list = fresh[a] ? m_newCandidates : m_oldCandidates;
                    auto& prio = fresh[a] ? m_newPriority : m_oldPriority;
                    auto& count = fresh[a] ? m_newCount : m_oldCount;
                    if (ownI)
                        offer(list, prio, count, i, j, priority);
                    if (ownJ)
                        offer(list, prio, count, j, int32_t(i), priority);
                }
            }
        });
        parallelRanges(m_n, m_threads, [&](int64_t begin, int64_t end, int) {
            for (int64_t i = begin; i < end; ++i) {
                const int32_t* idx = neighbours(i);
                uint8_t* fresh = m_isNew.data() + i * m_k;
                const int32_t* list = m_newCandidates.data() + i * m_maxCandidates;
                for (int a = 0; a < m_k; ++a) {
                    if (!fresh[a])
                        continue;
                    for (int c = 0; c < m_newCount[i]; ++c) {
                        if (list[c] == idx[a]) {
                            fresh[a] = 0;
                            break;
                        }
                    }
                }
            }
        });
    }

    // Bounded max-heap on priority: keeps the m_maxCandidates lowest.
    void offer(std::vector<int32_t>& list, std::vector<uint32_t>& prio,
               std::vector<int32_t>& count, int64_t i, int32_t j, uint32_t priority)
    {
        int32_t* ids = list.data() + i * m_maxCandidates;
        uint32_t* pr = prio.data() + i * m_maxCandidates;
        const int size = count[i];
        for (int c = 0; c < size; ++c)
            if (ids[c] == j)
                return;
        int pos;
        if (size < m_maxCandidates) {
            pos = size;
            ++count[i];
            while (pos > 0) { // sift up
                const int parent = (pos - 1) / 2;
                if (pr[parent] >= priority)
                    break;
                ids[pos] = ids[parent];
                pr[pos] = pr[parent];
                pos = parent;
            }
        } else {
            if (priority >= pr[0])
                return;
            pos = 0;
            for (;;) { // sift down
                const int left = 2 * pos + 1, right = left + 1;
                int largest = pos;
                uint32_t largestPriority = priority;
                if (left < size && pr[left] > largestPriority) {
                    largest = left;
                    largestPriority = pr[left];
                }
                if (right < size && pr[right] > largestPriority)
                    largest = right;
                if (largest == pos)
                    break;
                ids[pos] = ids[largest];
                pr[pos] = pr[largest];
                pos = largest;
            }
        }
        ids[pos] = j;
        pr[pos] = priority;
    }

    // Compares the candidates of nodes [begin, end) pairwise (new with new, new with old), then
    // applies the improvements. Returns the number of heap changes.
    int64_t localJoin(int64_t begin, int64_t end)
    {
        const int workers = int(std::max<int64_t>(1, std::min<int64_t>(m_threads, end - begin)));
        std::vector<std::vector<Update>> updates(workers);
        parallelRanges(end - begin, workers, [&](int64_t b, int64_t e, int worker) {
            std::vector<Update>& out = updates[worker];
            std::vector<int32_t> others;
            std::vector<float> d;
            for (int64_t i = begin + b; i < begin + e; ++i) {
                const int32_t* fresh = m_newCandidates.data() + i * m_maxCandidates;
                const int32_t* old = m_oldCandidates.data() + i * m_maxCandidates;
                const int freshCount = m_newCount[i], oldCount = m_oldCount[i];
                for (int a = 0; a < freshCount; ++a) {
                    const int32_t p = fresh[a];
                    others.assign(fresh + a + 1, fresh + freshCount);
                    for (int c = 0; c < oldCount; ++c)
                        if (old[c] != p)
                            others.push_back(old[c]);
                    d.resize(others.size());
                    squaredDistances(m_points + int64_t(p) * m_dim, m_points, others.data(),
                                     int(others.size()), m_dim, d.data());
                    const float pWorst = distances(p)[0];
                    for (size_t c = 0; c < others.size(); ++c) {
                        const int32_t q = others[c];
                        if (d[c] < pWorst || d[c] < distances(q)[0])
                            out.push_back({p, q, d[c]});
                    }
                }
            }
        });
        std::vector<int64_t> changes(m_threads, 0);
        parallelRanges(m_n, m_threads, [&](int64_t own0, int64_t own1, int worker) {
            int64_t changed = 0;
            for (const auto& list : updates) {
                for (const Update& u : list) {
                    if (u.p >= own0 && u.p < own1)
                        changed += push(u.p, u.q, u.distance);
                    if (u.q >= own0 && u.q < own1)
                        changed += push(u.q, u.p, u.distance);
                }
            }
            changes[worker] = changed;
        });
        return std::accumulate(changes.begin(), changes.end(), int64_t(0));
    }

    // Heaps -> rows sorted by distance (ties by index), Euclidean distances.
    void finish(KnnGraph& graph)
    {
        parallelRanges(m_n, m_threads, [&](int64_t begin, int64_t end, int) {
            std::vector<std::pair<float, int32_t>> row(m_k);
            for (int64_t i = begin; i < end; ++i) {
                for (int a = 0; a < m_k; ++a)
                    row[a] = {distances(i)[a], neighbours(i)[a]};
                std::sort(row.begin(), row.end());
                for (int a = 0; a < m_k; ++a) {
                    const bool found = row[a].second >= 0;
                    graph.index[i * m_k + a] = found ? row[a].second : -1;
                    graph.distance[i * m_k + a] = found ? std::sqrt(row[a].first) : 0.0f;
                }
            }
        });
    }

    const float* m_points;
    int64_t m_n, m_dim;
    int m_k;
    uint64_t m_seed;
    int m_threads;
    int m_maxCandidates;
    std::vector<int32_t> m_index;   // (n, k) max-heaps on distance
    std::vector<float> m_distance;  // (n, k) squared
    std::vector<uint8_t> m_isNew;   // (n, k) not yet used in a local join
    std::vector<int32_t> m_newCandidates, m_oldCandidates; // (n, maxCandidates)
    std::vector<uint32_t> m_newPriority, m_oldPriority;
    std::vector<int32_t> m_newCount, m_oldCount;           // (n)
};

// Returns false if cancelled.
bool buildKnnGraph(const float* points, int64_t n, int64_t dim, int k, uint64_t seed,
                   int threads, const std::function<void(double)>& onProgress, double from,
                   double to, const CancelToken* cancel, KnnGraph& graph)
{
    graph.k = k;
    graph.index.assign(size_t(n * k), -1);
    graph.distance.assign(size_t(n * k), 0.0f);
    if (n <= kExactKnnLimit)
        return exactKnn(points, n, dim, k, threads, onProgress, from, to, cancel, graph);
    NnDescent search(points, n, dim, k, seed, threads);
    return search.run(onProgress, from, to, cancel, graph);
}

// ---- fuzzy simplicial set ---------------------------------------------------------------------

struct Edge {
    int32_t head;
    int32_t tail;
    float weight;
};

// Directed membership strengths exp(-(d - rho_i) / sigma_i), umap-learn's smooth_knn_dist
// with local_connectivity 1 and bandwidth 1 (sum of memberships = log2 k).
std::vector<float> memberships(const KnnGraph& graph, int64_t n, int threads)
{
    const int k = graph.k;
    const double target = std::log2(double(k));
    double meanAll = 0.0;
    int64_t found = 0;
    for (size_t e = 0; e < graph.distance.size(); ++e) {
        if (graph.index[e] >= 0) {
            meanAll += graph.distance[e];
            ++found;
        }
    }
    meanAll /= double(std::max<int64_t>(1, found));

    std::vector<float> strength(graph.distance.size(), 0.0f);
    parallelRanges(n, threads, [&](int64_t begin, int64_t end, int) {
        for (int64_t i = begin; i < end; ++i) {
            const float* d = graph.distance.data() + i * k;
            const int32_t* idx = graph.index.data() + i * k;
            double rho = 0.0, mean = 0.0;
            int valid = 0;
            for (int j = 0; j < k; ++j) {
                if (idx[j] < 0)
                    continue;
                if (rho == 0.0 && d[j] > 0.0f)
                    rho = d[j];
                mean += d[j];
                ++valid;
            }
            if (valid == 0)
                continue;
            mean /= valid;
            double lo = 0.0, hi = std::numeric_limits<double>::infinity(), sigma = 1.0;
            for (int it = 0; it < 64; ++it) {
                double sum = 0.0;
                for (int j = 0; j < k; ++j) {
                    if (idx[j] < 0)
                        continue;
                    const double excess = d[j] - rho;
                    sum += excess > 0 ? std::exp(-excess / sigma) : 1.0;
                }
                if (std::abs(sum - target) < 1e-5)
                    break;
                if (sum > target) {
                    hi = sigma;
                    sigma = (lo + hi) / 2;
                } else {
                    lo = sigma;
                    sigma = std::isinf(hi) ? sigma * 2 : (lo + hi) / 2;
                }
            }
            const double floor = 1e-3 * (rho > 0 ? mean : meanAll);
            sigma = std::max(sigma, floor);
            for (int j = 0; j < k; ++j) {
                if (idx[j] < 0)
                    continue;
                const double excess = d[j] - rho;
                strength[i * k + j] =
                    float(excess <= 0 || sigma <= 0 ? 1.0 : std::exp(-excess / sigma));
            }
        }
    });
    return strength;
}

// Undirected edges with the fuzzy union w_ij + w_ji - w_ij w_ji, each once, ordered by head.
std::vector<Edge> symmetrise(const KnnGraph& graph, const std::vector<float>& strength,
                             int64_t n, int threads)
{
    const int k = graph.k;
    const int workers = int(std::max<int64_t>(1, std::min<int64_t>(threads, n / 1024 + 1)));
    std::vector<std::vector<Edge>> parts(workers);
    parallelRanges(n, workers, [&](int64_t begin, int64_t end, int worker) {
        std::vector<Edge>& out = parts[worker];
        out.reserve(size_t((end - begin) * k));
        for (int64_t i = begin; i < end; ++i) {
            for (int a = 0; a < k; ++a) {
                const int32_t j = graph.index[i * k + a];
                if (j < 0 || j == i)
                    continue;
                // A repeated neighbour (possible with approximate search) counts once.
                bool repeated = false;
                for (int b = 0; b < a && !repeated; ++b)
                    repeated = graph.index[i * k + b] == j;
                if (repeated)
                    continue;
                const float wij = strength[i * k + a];
                float wji = 0.0f;
                bool mutual = false;
                for (int b = 0; b < k; ++b) {
                    if (graph.index[int64_t(j) * k + b] == int32_t(i)) {
                        wji = strength[int64_t(j) * k + b];
                        mutual = true;
                        break;
                    }
                }
                if (mutual && j < i)
                    continue; // emitted from j's side
                const float w = wij + wji - wij * wji;
                if (w > 0.0f)
                    out.push_back({int32_t(i), j, w});
            }
        }
    });
    std::vector<Edge> edges;
    size_t total = 0;
    for (const auto& part : parts)
        total += part.size();
    edges.reserve(total);
    for (auto& part : parts) {
        edges.insert(edges.end(), part.begin(), part.end());
        std::vector<Edge>().swap(part);
    }
    return edges;
}

// ---- SGD --------------------------------------------------------------------------------------

int effectiveEpochs(int64_t n, int epochs)
{
    if (n <= kEpochScaleStart)
        return epochs;
    const int scaled = int(std::lround(epochs * std::sqrt(double(kEpochScaleStart) / double(n))));
    return std::max(std::min(epochs, kMinScaledEpochs), scaled);
}

typedef int32_t Int8 __attribute__((vector_size(32)));

// x^p lane by lane, for x >= 1e-30 and |p| of order 1, without branches: log2 by the atanh
// series (to t^5) on [sqrt 1/2, sqrt 2), exp2 by a degree-5 Taylor polynomial on [-1/2, 1/2]
// evaluated in Estrin's scheme (short dependency chains: SGD is bound by latency); relative
// error below 1e-5 for x in [1e-12, 1e4], ample for gradients. Eight lanes cost about what one
// std::pow does.
__attribute__((always_inline)) inline Float8 fastPow8(Float8 x, float p)
{
    Int8 bits;
    std::memcpy(&bits, &x, sizeof bits);
    // x = m 2^e, m in [sqrt 1/2, sqrt 2): the exponent moves by one where the mantissa bits
    // exceed those of sqrt 2 (0x3504F3); high is -1 there.
    const Int8 high = (bits & 0x007FFFFF) > 0x003504F3;
    const Int8 exponent = ((bits >> 23) & 0xFF) - 127 - high;
    const Int8 mantissaBits = (bits & 0x007FFFFF) | ((127 + high) << 23);
    Float8 m;
    std::memcpy(&m, &mantissaBits, sizeof m);
    const Float8 t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
    // log2 m = 2 / ln 2 (t + t^3 / 3 + t^5 / 5)
    const Float8 log2x = __builtin_convertvector(exponent, Float8)
        + t * (2.88539008f + t2 * (0.961796694f + t2 * 0.577078016f));
    Float8 y = p * log2x;
    y = y < -126.0f ? Float8{} - 126.0f : y;
    y = y > 126.0f ? Float8{} + 126.0f : y;
    const Float8 whole = (y + 12582912.0f) - 12582912.0f; // round to nearest (1.5 * 2^23)
    const Float8 u = (y - whole) * 0.693147181f, u2 = u * u;
    // e^u = (1 + u) + u^2 (1/2 + u/6) + u^4 (1/24 + u/120)
    const Float8 fraction = (1.0f + u) + u2 * (0.5f + u * 0.166666667f)
        + (u2 * u2) * (0.0416666667f + u * 0.00833333333f);
    const Int8 scaleBits = (__builtin_convertvector(whole, Int8) + 127) << 23;
    Float8 scale;
    std::memcpy(&scale, &scaleBits, sizeof scale);
    return fraction * scale;
}

__attribute__((always_inline)) inline Float8 clipGradient8(Float8 value)
{
    value = value > kGradientClip ? Float8{} + kGradientClip : value;
    return value < -kGradientClip ? Float8{} - kGradientClip : value;
}

__attribute__((always_inline)) inline Float8 broadcast8(float value)
{
    return Float8{} + value;
}

struct SgdState {
    float* y;                  // (n, dims)
    int64_t n;
    float a, b;
    int negativeSamples;
    int dims = 2;
};

// One SGD step for up to eight directed edges from[l] -> to[l], one per SIMD lane, taken from
// eight streams of the edge list (so heads differ): attraction of both ends along the curve
// 1 / (1 + a d^2b), then repulsion of each head from negativeSamples random points
// (umap-learn's optimize_layout_euclidean, move_other).
// umap-learn updates after every term; here the eight lanes, and a head's repulsions, are
// computed from the same positions and applied together, a difference of order alpha^2 that
// makes SGD twice as fast (the scalar chain is bound by latency). Races with other threads
// are accepted, as in umap-learn.
__attribute__((always_inline)) inline void sampleEdges(const SgdState& s, const int32_t* from,
                                                       const int32_t* to, int lanes,
                                                       float alpha, SplitMix64& rng)
{
    float* y = s.y;
    float fx[8], fy[8], tx[8], ty[8];
    for (int l = 0; l < 8; ++l) {
        const int64_t i = from[l < lanes ? l : 0], j = to[l < lanes ? l : 0];
        fx[l] = y[2 * i];
        fy[l] = y[2 * i + 1];
        tx[l] = y[2 * j];
        ty[l] = y[2 * j + 1];
    }
    Float8 headX, headY, tailX, tailY;
    std::memcpy(&headX, fx, sizeof headX);
    std::memcpy(&headY, fy, sizeof headY);
    std::memcpy(&tailX, tx, sizeof tailX);
    std::memcpy(&tailY, ty, sizeof tailY);
    Int8 live;
    for (int l = 0; l < 8; ++l)
        live[l] = l < lanes ? -1 : 0;

    const Float8 dx = headX - tailX, dy = headY - tailY;
    const Float8 d2 = dx * dx + dy * dy;
    const Float8 safe = d2 > 1e-30f ? d2 : broadcast8(1e-30f);
    const Float8 p = fastPow8(safe, s.b); // d^2b
    Float8 g = (-2.0f * s.a * s.b) * (p / safe) / (s.a * p + 1.0f);
    g = d2 > 0.0f ? g : Float8{};
    const Float8 pullX = clipGradient8(g * dx) * alpha;
    const Float8 pullY = clipGradient8(g * dy) * alpha;
    for (int l = 0; l < lanes; ++l) {
        y[2 * int64_t(from[l])] += pullX[l];
        y[2 * int64_t(from[l]) + 1] += pullY[l];
        y[2 * int64_t(to[l])] -= pullX[l];
        y[2 * int64_t(to[l]) + 1] -= pullY[l];
    }
    headX += pullX;
    headY += pullY;

    Float8 pushX = {}, pushY = {};
    float kx[8], ky[8];
    Int8 other;
    for (int q = 0; q < s.negativeSamples; ++q) {
        for (int l = 0; l < 8; ++l) {
            const int64_t k = int64_t(rng.below(uint64_t(s.n)));
            other[l] = k == from[l < lanes ? l : 0] ? 0 : -1;
            kx[l] = y[2 * k];
            ky[l] = y[2 * k + 1];
        }
        Float8 otherX, otherY;
        std::memcpy(&otherX, kx, sizeof otherX);
        std::memcpy(&otherY, ky, sizeof otherY);
        const Float8 ex = headX - otherX, ey = headY - otherY;
        const Float8 e2 = ex * ex + ey * ey;
        const Float8 e2safe = e2 > 1e-30f ? e2 : broadcast8(1e-30f);
        const Float8 h = (2.0f * s.b) / ((0.001f + e2) * (s.a * fastPow8(e2safe, s.b) + 1.0f));
        // Coincident points are pushed apart by the clip value.
        const Float8 hx = e2 > 0.0f ? clipGradient8(h * ex) : broadcast8(kGradientClip);
        const Float8 hy = e2 > 0.0f ? clipGradient8(h * ey) : broadcast8(kGradientClip);
        pushX += other ? hx : Float8{};
        pushY += other ? hy : Float8{};
    }
    pushX = live ? pushX * alpha : Float8{};
    pushY = live ? pushY * alpha : Float8{};
    for (int l = 0; l < lanes; ++l) {
        y[2 * int64_t(from[l])] += pushX[l];
        y[2 * int64_t(from[l]) + 1] += pushY[l];
    }
}

// Samples the due edges of [begin, end) in one epoch, eight at a time. Edges are sorted by
// head, so the range is cut into eight streams, one per lane: the lanes' heads differ.
MOIN_SIMD_CLONES
void sgdChunk(const SgdState& s, const Edge* edges, float* nextSample, int64_t begin,
              int64_t end, float now, float alpha, SplitMix64& rng)
{
    constexpr int kLanes = 8;
    const int64_t stride = (end - begin + kLanes - 1) / kLanes;
    int64_t cursor[kLanes], limit[kLanes];
    for (int l = 0; l < kLanes; ++l) {
        cursor[l] = std::min(end, begin + l * stride);
        limit[l] = std::min(end, cursor[l] + stride);
    }
    int32_t heads[kLanes], tails[kLanes];
    for (;;) {
        int lanes = 0;
        for (int l = 0; l < kLanes; ++l) {
            while (cursor[l] < limit[l] && nextSample[cursor[l]] > now)
                ++cursor[l];
            if (cursor[l] < limit[l]) {
                const int64_t e = cursor[l]++;
                heads[lanes] = edges[e].head;
                tails[lanes] = edges[e].tail;
                nextSample[e] += edges[e].weight;
                ++lanes;
            }
        }
        if (lanes == 0)
            break;
        // The graph is symmetric: sample both directions, as umap-learn does.
        sampleEdges(s, heads, tails, lanes, alpha, rng);
        sampleEdges(s, tails, heads, lanes, alpha, rng);
    }
}

// sgdChunk in any number of dimensions, one directed edge after the other as umap-learn's
// optimize_layout_euclidean (scalar: used for the reduction before clustering, not the map).
void sgdChunkAnyDimensions(const SgdState& s, const Edge* edges, float* nextSample,
                           int64_t begin, int64_t end, float now, float alpha, SplitMix64& rng)
{
    const int dims = s.dims;
    auto clip = [](float v) { return std::clamp(v, -kGradientClip, kGradientClip); };
    auto step = [&](int64_t i, int64_t j) {
        float* yi = s.y + i * dims;
        float* yj = s.y + j * dims;
        float d2 = 0.0f;
        for (int c = 0; c < dims; ++c)
            d2 += (yi[c] - yj[c]) * (yi[c] - yj[c]);
        if (d2 > 0.0f) {
            const float p = std::pow(d2, s.b);
            const float g = -2.0f * s.a * s.b * (p / d2) / (s.a * p + 1.0f);
            for (int c = 0; c < dims; ++c) {
                const float pull = clip(g * (yi[c] - yj[c])) * alpha;
                yi[c] += pull;
                yj[c] -= pull;
            }
        }
        for (int q = 0; q < s.negativeSamples; ++q) {
            const int64_t k = int64_t(rng.below(uint64_t(s.n)));
            if (k == i)
                continue;
            const float* yk = s.y + k * dims;
            float e2 = 0.0f;
            for (int c = 0; c < dims; ++c)
                e2 += (yi[c] - yk[c]) * (yi[c] - yk[c]);
            const float h =
                e2 > 0.0f ? 2.0f * s.b / ((0.001f + e2) * (s.a * std::pow(e2, s.b) + 1.0f)) : 0.f;
            for (int c = 0; c < dims; ++c)
                yi[c] += (e2 > 0.0f ? clip(h * (yi[c] - yk[c])) : kGradientClip) * alpha;
        }
    };
    for (int64_t e = begin; e < end; ++e) {
        if (nextSample[e] > now)
            continue;
        nextSample[e] += edges[e].weight;
        step(edges[e].head, edges[e].tail);
        step(edges[e].tail, edges[e].head);
    }
}

// Returns false if cancelled.
bool optimiseLayout(std::vector<float>& y, int64_t n, std::vector<Edge>& edges,
                    const LayoutOptions& options, int epochs, int threads,
                    const std::function<void(double)>& onProgress, double from,
                    const CancelToken* cancel)
{
    const auto [a, b] = umapCurveParameters(options.minDistance);
    SgdState state{y.data(), n, float(a), float(b), options.negativeSamples, options.dimensions};

    // umap-learn's make_epochs_per_sample: the heaviest edge is sampled every epoch, an edge
    // of weight w every wmax / w epochs; edges sampled less than once in all epochs are cut.
    // From here on Edge::weight holds that period.
    float maxWeight = 0.0f;
    for (const Edge& e : edges)
        maxWeight = std::max(maxWeight, e.weight);
    edges.erase(std::remove_if(edges.begin(), edges.end(),
                               [&](const Edge& e) { return e.weight < maxWeight / epochs; }),
                edges.end());
    for (Edge& e : edges)
        e.weight = maxWeight / e.weight;
    std::vector<float> nextSample(edges.size());
    for (size_t e = 0; e < edges.size(); ++e)
        nextSample[e] = edges[e].weight;
    const int64_t count = int64_t(edges.size());
    const int64_t chunks =
        std::clamp<int64_t>(count / kMinSgdChunkEdges, 1, kMaxSgdChunks);
    const int workers = int(std::min<int64_t>(threads, chunks));

    for (int epoch = 0; epoch < epochs; ++epoch) {
        if (isCancelled(cancel))
            return false;
        const float alpha = 1.0f - float(epoch) / float(epochs);
        const float now = float(epoch + 1);
        std::atomic<int64_t> nextChunk{0};
        auto work = [&](int64_t, int64_t, int) {
            for (int64_t c = nextChunk++; c < chunks; c = nextChunk++) {
                SplitMix64 rng(mixSeed(options.seed, uint64_t(epoch) + 3, uint64_t(c)));
                if (state.dims == 2)
                    sgdChunk(state, edges.data(), nextSample.data(), count * c / chunks,
                             count * (c + 1) / chunks, now, alpha, rng);
                else
                    sgdChunkAnyDimensions(state, edges.data(), nextSample.data(),
                                          count * c / chunks, count * (c + 1) / chunks, now,
                                          alpha, rng);
            }
        };
        parallelRanges(workers, workers, work);
        report(onProgress, from + (1.0 - from) * double(epoch + 1) / double(epochs));
    }
    return true;
}

void validateInput(const char* function, const float* points, int64_t n, int64_t dim,
                   int threads)
{
    checkShape(function, points, n, dim);
    checkFinite(function, "points", points, n, dim, threads);
}

// Exact squared distance, summed in order in double: the reference for ranks.
double exactSquaredDistance(const float* x, const float* y, int64_t dim)
{
    double sum = 0.0;
    for (int64_t c = 0; c < dim; ++c) {
        const double diff = double(x[c]) - double(y[c]);
        sum += diff * diff;
    }
    return sum;
}

} // namespace

void LayoutOptions::validate() const
{
    auto fail = [](const std::string& message) { throw Error("LayoutOptions: " + message); };
    if (method != "pca" && method != "umap")
        fail("method must be \"pca\" or \"umap\", got \"" + method + "\"");
    if (neighbours < 2)
        fail("neighbours must be at least 2, got " + std::to_string(neighbours)
             + " (hint: 15 is UMAP's default)");
    if (epochs < 1)
        fail("epochs must be at least 1, got " + std::to_string(epochs));
    if (!(minDistance >= 0.0 && minDistance <= 1.0))
        fail("minDistance must be between 0 and 1, got " + std::to_string(minDistance));
    if (negativeSamples < 0)
        fail("negativeSamples must be 0 or more, got " + std::to_string(negativeSamples));
    if (threads < 0)
        fail("threads must be 0 (all cores) or more, got " + std::to_string(threads));
    if (dimensions < 2 || dimensions > 16)
        fail("dimensions must be between 2 and 16, got " + std::to_string(dimensions));
    if (method == "pca" && dimensions != 2)
        fail("the PCA layout is 2-D only, got dimensions " + std::to_string(dimensions)
             + " (hint: use \"umap\" to reduce to more dimensions)");
}

KnnGraph nearestNeighbours(const float* points, int64_t n, int64_t dim, int k, uint64_t seed,
                           int threads, const std::function<void(double)>& onProgress,
                           const CancelToken* cancel)
{
    const int workers = resolveThreads(threads);
    validateInput("nearestNeighbours", points, n, dim, workers);
    if (k < 1 || k >= n)
        throw Error("nearestNeighbours: k must be between 1 and n - 1 = " + std::to_string(n - 1)
                    + ", got " + std::to_string(k));
    if (n > int64_t(std::numeric_limits<int32_t>::max()))
        throw Error("nearestNeighbours: at most 2^31 - 1 points, got " + std::to_string(n));
    KnnGraph graph;
    if (!buildKnnGraph(points, n, dim, k, seed, workers, onProgress, 0.0, 1.0, cancel, graph))
        return {};
    return graph;
}

std::pair<double, double> umapCurveParameters(double minDistance)
{
    if (!(minDistance >= 0.0 && minDistance <= 1.0))
        throw Error("umapCurveParameters: minDistance must be between 0 and 1, got "
                    + std::to_string(minDistance));
    // Levenberg-Marquardt on 300 points of [0, 3] from (1, 1), as scipy's curve_fit.
    constexpr int kSamples = 300;
    constexpr double kSpread = 1.0;
    std::vector<double> xs(kSamples), ys(kSamples);
    for (int i = 0; i < kSamples; ++i) {
        xs[i] = 3.0 * kSpread * i / (kSamples - 1);
        ys[i] = xs[i] < minDistance ? 1.0 : std::exp(-(xs[i] - minDistance) / kSpread);
    }
    auto residuals = [&](double a, double b, double* jacobian, double* residual) {
        double cost = 0.0;
        for (int i = 0; i < kSamples; ++i) {
            const double u = xs[i] > 0 ? std::pow(xs[i], 2 * b) : 0.0;
            const double f = 1.0 / (1.0 + a * u);
            const double r = f - ys[i];
            cost += r * r;
            if (jacobian) {
                jacobian[2 * i] = -u * f * f;
                jacobian[2 * i + 1] = xs[i] > 0 ? -a * f * f * u * 2 * std::log(xs[i]) : 0.0;
                residual[i] = r;
            }
        }
        return cost;
    };
    double a = 1.0, b = 1.0, lambda = 1e-3;
    std::vector<double> jacobian(2 * kSamples), residual(kSamples);
    double cost = residuals(a, b, jacobian.data(), residual.data());
    for (int it = 0; it < 500; ++it) {
        double jtj[3] = {0, 0, 0}, jtr[2] = {0, 0};
        for (int i = 0; i < kSamples; ++i) {
            const double ja = jacobian[2 * i], jb = jacobian[2 * i + 1];
            jtj[0] += ja * ja;
            jtj[1] += ja * jb;
            jtj[2] += jb * jb;
            jtr[0] += ja * residual[i];
            jtr[1] += jb * residual[i];
        }
        bool improved = false;
        for (int attempt = 0; attempt < 30 && !improved; ++attempt) {
            const double m00 = jtj[0] * (1 + lambda), m11 = jtj[2] * (1 + lambda);
            const double det = m00 * m11 - jtj[1] * jtj[1];
            if (det == 0) {
                lambda *= 10;
                continue;
            }
            const double da = -(m11 * jtr[0] - jtj[1] * jtr[1]) / det;
            const double db = -(m00 * jtr[1] - jtj[1] * jtr[0]) / det;
            const double trial = residuals(a + da, b + db, nullptr, nullptr);
            if (trial < cost && std::isfinite(trial)) {
                const bool converged = cost - trial < 1e-15 * std::max(1.0, cost);
                a += da;
                b += db;
                cost = residuals(a, b, jacobian.data(), residual.data());
                lambda = std::max(lambda / 10, 1e-12);
                improved = true;
                if (converged)
                    return {a, b};
            } else {
                lambda *= 10;
            }
        }
        if (!improved)
            break;
    }
    return {a, b};
}

std::vector<float> computeLayout(const float* points, int64_t n, int64_t dim,
                                 const LayoutOptions& options,
                                 const std::function<void(double fraction)>& onProgress,
                                 const CancelToken* cancel)
{
    options.validate();
    const int threads = resolveThreads(options.threads);
    validateInput("computeLayout", points, n, dim, threads);
    if (options.method == "umap" && n > int64_t(std::numeric_limits<int32_t>::max()))
        throw Error("computeLayout: the UMAP layout takes at most 2^31 - 1 points, got "
                    + std::to_string(n) + " (hint: lay out a sample)");
    report(onProgress, 0.0);
    if (isCancelled(cancel))
        return {};

    const int dims = options.dimensions;
    const int axes = std::min(dims, kPcaBlock);
    const PrincipalAxes pca = principalAxes(points, n, dim, options.seed, threads, axes);
    std::vector<double> projected = projectPca(points, n, dim, pca, threads);
    if (options.method == "pca") {
        report(onProgress, 1.0);
        return std::vector<float>(projected.begin(), projected.end());
    }
    report(onProgress, kProgressPca);

    // Initial layout: PCA scaled to +-10, plus a little noise so that duplicates can part.
    // Coordinates without a principal axis (beyond 8, or beyond the data's dimensions) start
    // uniform in +-10, umap-learn's random start.
    double extent = 0.0;
    for (double v : projected)
        extent = std::max(extent, std::abs(v));
    const double scale = extent > 0 ? kInitExtent / extent : 1.0;
    const int withAxis = int(std::min<int64_t>(axes, dim));
    std::vector<float> y(size_t(dims * n));
    SplitMix64 jitter(mixSeed(options.seed, 0));
    for (int64_t i = 0; i < n; ++i) {
        for (int c = 0; c < dims; ++c) {
            y[size_t(i * dims + c)] =
                c < withAxis
                    ? float(projected[size_t(i * axes + c)] * scale
                            + kInitJitter * jitter.normal())
                    : float(kInitExtent * (2.0 * jitter.uniform() - 1.0));
        }
    }
    std::vector<double>().swap(projected);

    const int k = int(std::min<int64_t>(options.neighbours, n - 1));
    KnnGraph graph;
    if (!buildKnnGraph(points, n, dim, k, options.seed, threads, onProgress, kProgressPca,
                       kProgressKnn, cancel, graph))
        return {};
    if (isCancelled(cancel))
        return {};
    std::vector<Edge> edges;
    {
        const std::vector<float> strength = memberships(graph, n, threads);
        edges = symmetrise(graph, strength, n, threads);
    }
    std::vector<int32_t>().swap(graph.index);
    std::vector<float>().swap(graph.distance);
    report(onProgress, kProgressGraph);

    const int epochs = effectiveEpochs(n, options.epochs);
    if (!optimiseLayout(y, n, edges, options, epochs, threads, onProgress, kProgressGraph,
                        cancel))
        return {};
    report(onProgress, 1.0);
    return y;
}

double trustworthiness(const float* points, const float* layout, int64_t n, int64_t dim, int k,
                       int64_t sampleSize, uint64_t seed)
{
    const int threads = resolveThreads(0);
    validateInput("trustworthiness", points, n, dim, threads);
    if (!layout)
        throw Error("trustworthiness: layout is null");
    checkFinite("trustworthiness", "layout", layout, n, 2, threads);
    if (k < 1 || 2 * int64_t(k) >= n)
        throw Error("trustworthiness: k must be at least 1 and less than n / 2 = "
                    + std::to_string(n / 2) + ", got " + std::to_string(k));
    if (sampleSize < 1)
        throw Error("trustworthiness: sampleSize must be at least 1, got "
                    + std::to_string(sampleSize));

    std::vector<int64_t> queries;
    if (sampleSize >= n) {
        queries.resize(n);
        std::iota(queries.begin(), queries.end(), 0);
    } else {
        SplitMix64 rng(seed);
        std::vector<int64_t> all(n);
        std::iota(all.begin(), all.end(), 0);
        for (int64_t i = 0; i < sampleSize; ++i)
            std::swap(all[i], all[i + int64_t(rng.below(uint64_t(n - i)))]);
        queries.assign(all.begin(), all.begin() + sampleSize);
    }
    const int64_t s = int64_t(queries.size());

    // Float distances (SIMD) screen; pairs within the float error of a threshold are
    // compared exactly in double, so ranks are exact.
    const double relativeMargin = 1e-4 + 2.4e-7 * double(dim);
    std::vector<int64_t> penalties(std::max(1, threads), 0);
    constexpr int kGroup = 8; // queries per pass over the points
    const int64_t groups = (s + kGroup - 1) / kGroup;
    parallelRanges(groups, threads, [&](int64_t groupBegin, int64_t groupEnd, int worker) {
        std::vector<double> layoutDistance(n);
        std::vector<int64_t> order(n);
        std::vector<float> screen(size_t(kGroup * n));
        std::vector<int64_t> rank(k);
        std::vector<double> exact(k), lo(k), hi(k);
        int64_t penalty = 0;
        for (int64_t group = groupBegin; group < groupEnd; ++group) {
            const int64_t first = group * kGroup;
            const int count = int(std::min<int64_t>(kGroup, s - first));
            const float* groupPoints[kGroup];
            for (int q = 0; q < count; ++q)
                groupPoints[q] = points + queries[first + q] * dim;
            squaredDistancesToAll(groupPoints, count, points, n, dim, screen.data());
            for (int q = 0; q < count; ++q) {
                const int64_t i = queries[first + q];
                const float* distanceFromI = screen.data() + q * n;
                const double ui = layout[2 * i], vi = layout[2 * i + 1];
                for (int64_t l = 0; l < n; ++l) {
                    const double du = double(layout[2 * l]) - ui;
                    const double dv = double(layout[2 * l + 1]) - vi;
                    layoutDistance[l] = du * du + dv * dv;
                }
                std::iota(order.begin(), order.end(), 0);
                std::swap(order[i], order[n - 1]); // the query is not its own neighbour
                auto closer = [&](int64_t x, int64_t y) {
                    return layoutDistance[x] < layoutDistance[y]
                        || (layoutDistance[x] == layoutDistance[y] && x < y);
                };
                std::nth_element(order.begin(), order.begin() + k, order.end() - 1, closer);

                // rank[a] = 1 + #points closer to i than its layout neighbour order[a].
                const float* xi = points + i * dim;
                double highest = 0.0;
                for (int a = 0; a < k; ++a) {
                    exact[a] = exactSquaredDistance(xi, points + order[a] * dim, dim);
                    lo[a] = exact[a] * (1 - relativeMargin) - 1e-30;
                    hi[a] = exact[a] * (1 + relativeMargin) + 1e-30;
                    highest = std::max(highest, hi[a]);
                    rank[a] = 1;
                }
                for (int64_t l = 0; l < n; ++l) {
                    const double f = distanceFromI[l];
                    if (f > highest || l == i)
                        continue;
                    for (int a = 0; a < k; ++a) {
                        if (f < lo[a]) {
                            ++rank[a];
                        } else if (f <= hi[a] && l != order[a]) {
                            const double d = exactSquaredDistance(xi, points + l * dim, dim);
                            if (d < exact[a] || (d == exact[a] && l < order[a]))
                                ++rank[a];
                        }
                    }
                }
                for (int a = 0; a < k; ++a)
                    penalty += std::max<int64_t>(0, rank[a] - k);
            }
        }
        penalties[worker] = penalty;
    });
    const int64_t total = std::accumulate(penalties.begin(), penalties.end(), int64_t(0));
    const double norm = double(s) * k * (2.0 * double(n) - 3.0 * k - 1.0);
    return 1.0 - 2.0 * double(total) / norm;
}

} // namespace moin
