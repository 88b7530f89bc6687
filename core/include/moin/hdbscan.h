#pragma once
// HDBSCAN (Campello, Moulavi & Sander 2013; McInnes & Healy 2017): density-based clustering that
// finds the number of groups from the data and leaves points in sparse regions as noise. The
// paper's MoIN-500 expert set runs it on embeddings reduced by UMAP to a few dimensions.
#include "moin/cancel.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace moin {

/// HDBSCAN settings (names as the hdbscan Python package's).
struct HdbscanOptions {
    /// The smallest group that counts as a cluster; 2 or more. Default 15.
    int minClusterSize = 15;
    /// Points in a neighbourhood, the point itself included, for it to be a core point: a
    /// point's core distance is the distance to its (minSamples - 1)-th nearest other point.
    /// Larger values call more points noise. 0 = minClusterSize (hdbscan's default). Default 0.
    int minSamples = 0;
    /// Seeds the approximate neighbour search above 8,192 points. Default 42.
    uint64_t seed = 42;
    /// Worker threads; 0 = all cores. The result does not depend on it. Default 0.
    int threads = 0;

    /// minSamples as used: minClusterSize when 0.
    int effectiveMinSamples() const { return minSamples > 0 ? minSamples : minClusterSize; }
    /// Throws moin::Error naming the field, the value and the allowed range.
    void validate() const;
};

/// What HDBSCAN found for n points.
struct HdbscanResult {
    /// (n) cluster of each point, 0 .. clusters - 1, or -1 for noise.
    std::vector<int32_t> labels;
    int clusters = 0;
    int64_t noise = 0;
    /// (clusters) excess of mass of each selected cluster (its stability), in 1/distance units
    /// times points.
    std::vector<double> stability;
};

/// The labelled value of a noise point in HdbscanResult::labels.
constexpr int32_t kNoiseLabel = -1;

/// Clusters `points` (row-major (n, dim), all finite): core distances from the kNN graph (exact
/// up to 8,192 points, NN-descent above: the layout's search), the minimum spanning tree of the
/// mutual-reachability distances max(core(a), core(b), |a - b|) (exact: Prim's algorithm over
/// all pairs, O(n^2 dim) time and O(n dim) memory; fine for the few dimensions UMAP leaves),
/// the condensed tree with minClusterSize, and excess-of-mass selection (the root is never a
/// cluster). Throws moin::Error for bad input or options, and when no cluster is found (naming
/// minClusterSize). Returns an empty result when cancelled. onProgress receives 0..1.
HdbscanResult hdbscan(const float* points, int64_t n, int64_t dim, const HdbscanOptions& options,
    const std::function<void(double)>& onProgress = {}, const CancelToken* cancel = nullptr);

/// One edge of a minimum spanning tree.
struct SpanningEdge {
    int32_t a = 0;
    int32_t b = 0;
    float distance = 0;
};

/// The first half of hdbscan(): the exact minimum spanning tree (n - 1 edges, in the order Prim
/// adds them) of the mutual-reachability distances of `points` (row-major (n, dim)), with core
/// distances from options.effectiveMinSamples(). Validates as hdbscan() does; returns nothing
/// when cancelled.
std::vector<SpanningEdge> mutualReachabilityTree(const float* points, int64_t n, int64_t dim,
    const HdbscanOptions& options, const std::function<void(double)>& onProgress = {},
    const CancelToken* cancel = nullptr);

/// The HDBSCAN hierarchy from a spanning tree of mutual-reachability distances (n - 1 edges
/// over points 0..n-1, any order): single linkage, condensed with minClusterSize, clusters
/// chosen by excess of mass. Labels as hdbscan(); does not throw when no cluster is found
/// (clusters is then 0 and every point noise).
HdbscanResult hdbscanFromSpanningTree(
    std::vector<SpanningEdge> tree, int64_t n, int minClusterSize);

} // namespace moin
