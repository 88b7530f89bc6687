#pragma once
// The 2-D layout of chunk embeddings for the cluster map: every chunk is a point, and points that
// are neighbours in embedding space stay neighbours on the map. Two methods: PCA (fast, linear,
// clusters may overlap) and a UMAP-class neighbour-graph layout (clusters visibly separate).
// Trustworthiness measures how faithful a layout is.
#include "moin/cancel.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace moin {

/// How the 2-D layout is computed. Defaults follow UMAP's (n_neighbors 15, min_dist 0.1,
/// negative_sample_rate 5, 200 epochs for large data).
struct LayoutOptions {
    /// "pca" (top two principal components, in the data's units) or "umap" (a kNN graph with
    /// fuzzy-set weights, laid out by SGD from the PCA layout). Default "umap".
    std::string method = "umap";
    /// UMAP: k of the kNN graph, self excluded; 2 or more, at most n - 1 are used. Default 15.
    int neighbours = 15;
    /// UMAP: SGD epochs, 1 or more. Above 250,000 points the count is scaled by
    /// sqrt(250,000 / n), but not below min(epochs, 50) (1,000,000 points: 100). Default 200.
    int epochs = 200;
    /// UMAP: how tightly points pack in 2-D, as UMAP's min_dist (spread 1); 0 to 1. Default 0.1.
    double minDistance = 0.1;
    /// UMAP: repulsive (negative) samples per attractive edge sample; 0 or more. Default 5.
    int negativeSamples = 5;
    /// Seeds the initial jitter, the negative sampling and the kNN search. Default 42.
    uint64_t seed = 42;
    /// Worker threads; 0 = all cores. With 1 thread the result is a function of the input and
    /// the seed (on one kind of CPU: SIMD code differs); with more, SGD updates race as in
    /// UMAP (Hogwild) and results vary slightly from run to run. Default 0.
    int threads = 0;
    /// UMAP: dimensions of the result, 2 (the map) to 16 (a reduction for clustering, as the
    /// paper's MoIN-500 recipe before HDBSCAN). Beyond 2 the SGD runs a scalar loop (slower
    /// per point) and the start is PCA's top axes (at most 8, then random). Default 2.
    int dimensions = 2;

    /// Throws moin::Error if a field is out of range.
    void validate() const;
};

/// The k nearest neighbours of every point, self excluded.
struct KnnGraph {
    int k = 0;
    /// (n, k), nearest first; -1 where fewer were found.
    std::vector<int32_t> index;
    /// (n, k), Euclidean.
    std::vector<float> distance;
};

/// The UMAP layout's kNN search: exact (FAISS brute force) up to 8,192 points, NN-descent
/// from a random projection forest above. points: (n, dim), finite; 1 <= k < n. Returns a graph
/// with k = 0 when cancelled. Throws moin::Error for bad input.
KnnGraph nearestNeighbours(const float* points, int64_t n, int64_t dim, int k, uint64_t seed,
                           int threads = 0,
                           const std::function<void(double fraction)>& onProgress = {},
                           const CancelToken* cancel = nullptr);

/// Lays `points` out in 2-D (options.dimensions with UMAP).
/// points: row-major (n, dim) float32, valid for the call; n >= 3, dim >= 1, all finite.
/// Returns row-major (n, options.dimensions) float32, or an empty vector if `cancel` was set.
/// UMAP's kNN graph is exact (FAISS brute force) up to 8,192 points and approximate above
/// (NN-descent from a random projection forest, as umap-learn's pynndescent).
/// Measured on 2 cores shared with a training job (Gaussian blobs, dim 128, threads 0):
/// 100,000 points about 26 s (kNN 10 s, SGD 15 s); 1,000,000 points 4.5 to 5.5 minutes (epochs
/// scaled to 100): it works, but a sample of 100,000 gives as readable a map in a tenth of the
/// time. The kNN time grows about linearly with dim (2048-D: about ten times that of 128-D).
/// Memory beyond the input: under 1 KB per point (1,000,000 points: 0.75 GB).
/// PCA estimates its axes on a sample of rows (at most 50,000) and takes about a second.
/// onProgress receives rising fractions in [0, 1] from the calling thread. Throws moin::Error
/// for bad input or options.
std::vector<float> computeLayout(const float* points, int64_t n, int64_t dim,
                                 const LayoutOptions& options,
                                 const std::function<void(double fraction)>& onProgress = {},
                                 const CancelToken* cancel = nullptr);

/// Trustworthiness (Venna & Kaski 2001) of `layout` w.r.t. `points` with k neighbours,
/// estimated on a random sample of `sampleSize` query points (exact ranks over all n points);
/// 1 = perfect. With sampleSize >= n every point is a query and the value is exact:
///   T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_i} (r(i, j) - k),
/// U_i = the k layout neighbours of i that are not among its k neighbours in `points`,
/// r(i, j) = rank of j by distance from i in `points` (nearest = 1). Ties are broken by index.
/// A sample of S queries replaces n by S in the n k factor. points: (n, dim); layout: (n, 2);
/// 1 <= k < n / 2. Uses all cores. Throws moin::Error for bad input.
double trustworthiness(const float* points, const float* layout, int64_t n, int64_t dim,
                       int k = 10, int64_t sampleSize = 2000, uint64_t seed = 1);

/// UMAP's curve 1 / (1 + a d^(2b)) fitted (least squares on [0, 3]) to the target membership
/// 1 for d < minDistance, exp(-(d - minDistance)) beyond, as umap-learn's find_ab_params with
/// spread 1. Returns {a, b}; minDistance 0.1 gives about {1.577, 0.895}.
std::pair<double, double> umapCurveParameters(double minDistance);

} // namespace moin
