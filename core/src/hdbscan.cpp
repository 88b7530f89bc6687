// HDBSCAN: core distances -> minimum spanning tree of mutual-reachability distances (Prim over
// all pairs) -> single-linkage hierarchy -> condensed tree -> excess-of-mass selection, following
// the hdbscan package (McInnes, Healy & Astels 2017) step by step.
#include "moin/hdbscan.h"

#include "moin/error.h"
#include "moin/layout.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <omp.h>
#include <string>

namespace moin {

namespace {

// Prim's update of the remaining points runs in blocks of this many; one minimum per block,
// combined in block order, so that the tree does not depend on the number of threads.
constexpr int64_t kPrimBlock = 4096;
// The neighbour search for core distances finds at least this many neighbours: NN-descent is
// more accurate with more (its candidates come from neighbours' neighbours).
constexpr int kMinSearchNeighbours = 10;
// And a few more than the core distance needs, so that the one it needs is among them even
// where FAISS's coarse distances misorder near ties at the edge of the list.
constexpr int kExtraNeighbours = 4;

bool isCancelled(const CancelToken* cancel)
{
    return cancel && cancel->isCancelled();
}

void report(const std::function<void(double)>& onProgress, double fraction)
{
    if (onProgress)
        onProgress(fraction);
}

// Points left to join the tree, stored column by column so that the distance loop runs over
// contiguous memory and vectorises across points.
struct PrimState {
    int64_t dim = 0;
    int64_t remaining = 0;
    int64_t stride = 0;
    std::vector<float> coordinates; // (dim, stride): coordinate c of slot r at c * stride + r
    std::vector<float> core2; // (stride) squared core distance
    std::vector<float> best2; // (stride) squared distance to the tree so far
    std::vector<int32_t> from; // (stride) the tree point that distance is to
    std::vector<int32_t> point; // (stride) which point the slot holds

    void removeSlot(int64_t slot)
    {
        const int64_t last = --remaining;
        for (int64_t c = 0; c < dim; ++c)
            coordinates[size_t(c * stride + slot)] = coordinates[size_t(c * stride + last)];
        core2[size_t(slot)] = core2[size_t(last)];
        best2[size_t(slot)] = best2[size_t(last)];
        from[size_t(slot)] = from[size_t(last)];
        point[size_t(slot)] = point[size_t(last)];
    }
};

// Lowers best2 of slots [begin, end) by the mutual-reachability distance to the point just
// joined (q, its squared core distance qCore2, index joined) and returns the block's nearest
// slot. Squared distances throughout: max and min commute with squaring.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
int64_t
primBlock(PrimState& s, const float* q, float qCore2, int32_t joined, int64_t begin, int64_t end)
{
    float* best2 = s.best2.data();
    int32_t* from = s.from.data();
    const float* core2 = s.core2.data();
    // Distances first (vectorised over slots), then the update.
    float d2[kPrimBlock];
    const int64_t count = end - begin;
    for (int64_t r = 0; r < count; ++r)
        d2[r] = 0.0f;
    for (int64_t c = 0; c < s.dim; ++c) {
        const float* column = s.coordinates.data() + c * s.stride + begin;
        const float qc = q[c];
#pragma omp simd
        for (int64_t r = 0; r < count; ++r) {
            const float t = column[r] - qc;
            d2[r] += t * t;
        }
    }
    for (int64_t r = 0; r < count; ++r) {
        const float m = std::max(d2[r], std::max(qCore2, core2[begin + r]));
        if (m < best2[begin + r]) {
            best2[begin + r] = m;
            from[begin + r] = joined;
        }
    }
    int64_t nearest = begin;
    for (int64_t r = begin + 1; r < end; ++r)
        if (best2[r] < best2[nearest])
            nearest = r;
    return nearest;
}

// Exact minimum spanning tree of the mutual-reachability graph. Returns false if cancelled.
bool primTree(const float* points, int64_t n, int64_t dim, const std::vector<float>& core,
    int threads, const std::function<void(double)>& onProgress, const CancelToken* cancel,
    std::vector<SpanningEdge>& tree)
{
    PrimState s;
    s.dim = dim;
    s.stride = n;
    s.remaining = n - 1;
    s.coordinates.resize(size_t(dim * n));
    s.core2.resize(size_t(n));
    s.best2.assign(size_t(n), std::numeric_limits<float>::infinity());
    s.from.assign(size_t(n), -1);
    s.point.resize(size_t(n));
    // Slot r holds point r + 1: point 0 starts the tree.
    for (int64_t r = 0; r < n - 1; ++r) {
        for (int64_t c = 0; c < dim; ++c)
            s.coordinates[size_t(c * n + r)] = points[(r + 1) * dim + c];
        s.core2[size_t(r)] = core[size_t(r + 1)] * core[size_t(r + 1)];
        s.point[size_t(r)] = int32_t(r + 1);
    }
    tree.clear();
    tree.reserve(size_t(n - 1));
    std::vector<int64_t> blockNearest;
    int32_t joined = 0;
    for (int64_t step = 0; step < n - 1; ++step) {
        if (step % 256 == 0) {
            if (isCancelled(cancel))
                return false;
            // Work per step falls with the points left: progress by pairs done.
            const double left = double(n - step) / double(n);
            report(onProgress, 1.0 - left * left);
        }
        const float* q = points + int64_t(joined) * dim;
        const float qCore2 = core[size_t(joined)] * core[size_t(joined)];
        const int64_t blocks = (s.remaining + kPrimBlock - 1) / kPrimBlock;
        blockNearest.resize(size_t(blocks));
#pragma omp parallel for schedule(static) num_threads(threads) if (blocks > 1)
        for (int64_t b = 0; b < blocks; ++b) {
            blockNearest[size_t(b)] = primBlock(
                s, q, qCore2, joined, b * kPrimBlock, std::min(s.remaining, (b + 1) * kPrimBlock));
        }
        int64_t nearest = blockNearest[0];
        for (int64_t b = 1; b < blocks; ++b)
            if (s.best2[size_t(blockNearest[size_t(b)])] < s.best2[size_t(nearest)])
                nearest = blockNearest[size_t(b)];
        joined = s.point[size_t(nearest)];
        tree.push_back({ s.from[size_t(nearest)], joined, std::sqrt(s.best2[size_t(nearest)]) });
        s.removeSlot(nearest);
    }
    return true;
}

struct UnionFind {
    explicit UnionFind(int64_t size)
        : parent(size_t(size))
    {
        std::iota(parent.begin(), parent.end(), 0);
    }
    int64_t find(int64_t x)
    {
        while (parent[size_t(x)] != x) {
            parent[size_t(x)] = parent[size_t(parent[size_t(x)])];
            x = parent[size_t(x)];
        }
        return x;
    }
    std::vector<int64_t> parent;
};

} // namespace

void HdbscanOptions::validate() const
{
    if (minClusterSize < 2)
        throw Error("HDBSCAN's minimum cluster size must be at least 2; got "
            + std::to_string(minClusterSize));
    if (minSamples < 0)
        throw Error("HDBSCAN's minimum samples must be 0 (= the minimum cluster size) or more; "
                    "got "
            + std::to_string(minSamples));
    if (threads < 0)
        throw Error(
            "HDBSCAN's threads must be 0 (all cores) or more; got " + std::to_string(threads));
}

HdbscanResult hdbscanFromSpanningTree(std::vector<SpanningEdge> tree, int64_t n, int minClusterSize)
{
    HdbscanResult result;
    result.labels.assign(size_t(n), kNoiseLabel);
    result.noise = n;
    if (n < 2 || int64_t(tree.size()) != n - 1)
        return result;

    // 1. Single linkage: merges in order of distance; node n + i is the i-th merge.
    std::stable_sort(tree.begin(), tree.end(),
        [](const SpanningEdge& x, const SpanningEdge& y) { return x.distance < y.distance; });
    const int64_t nodes = 2 * n - 1;
    std::vector<int64_t> left(size_t(nodes), -1), right(size_t(nodes), -1), size(size_t(nodes), 1);
    std::vector<double> height(size_t(nodes), 0.0);
    {
        UnionFind sets(nodes);
        for (int64_t i = 0; i < n - 1; ++i) {
            const int64_t a = sets.find(tree[size_t(i)].a), b = sets.find(tree[size_t(i)].b);
            const int64_t node = n + i;
            left[size_t(node)] = a;
            right[size_t(node)] = b;
            size[size_t(node)] = size[size_t(a)] + size[size_t(b)];
            height[size_t(node)] = tree[size_t(i)].distance;
            sets.parent[size_t(a)] = node;
            sets.parent[size_t(b)] = node;
        }
    }
    // lambda = 1 / distance; a zero distance (duplicates) gets half the smallest positive one's
    // inverse doubled, so that stabilities stay finite.
    double smallest = std::numeric_limits<double>::infinity();
    for (const SpanningEdge& e : tree)
        if (e.distance > 0)
            smallest = std::min(smallest, double(e.distance));
    const double floorDistance = std::isfinite(smallest) ? smallest / 2 : 1.0;
    auto lambdaOf = [&](double distance) { return 1.0 / std::max(distance, floorDistance); };

    // 2. Condensed tree, top down from the root (breadth first, as hdbscan numbers clusters).
    // Cluster 0 is the root; a split into two parts of at least minClusterSize makes two
    // clusters; a smaller part's points fall out of their cluster at that lambda.
    std::vector<int64_t> clusterParent = { -1 };
    std::vector<double> birth = { 0.0 };
    std::vector<double> stability = { 0.0 };
    std::vector<int64_t> pointCluster(size_t(n), 0); // the cluster each point falls out of
    std::vector<int64_t> clusterOf(size_t(nodes), -1);
    std::vector<int64_t> queue = { nodes - 1 }, stack;
    clusterOf[size_t(nodes - 1)] = 0;
    auto fallOut = [&](int64_t subtree, int64_t cluster, double lambda) {
        stability[size_t(cluster)]
            += (lambda - birth[size_t(cluster)]) * double(size[size_t(subtree)]);
        stack.assign(1, subtree);
        while (!stack.empty()) {
            const int64_t node = stack.back();
            stack.pop_back();
            if (node < n) {
                pointCluster[size_t(node)] = cluster;
            } else {
                stack.push_back(left[size_t(node)]);
                stack.push_back(right[size_t(node)]);
            }
        }
    };
    for (size_t head = 0; head < queue.size(); ++head) {
        const int64_t node = queue[head];
        const int64_t cluster = clusterOf[size_t(node)];
        if (node < n) {
            // A single point left in a cluster (minClusterSize 1 cannot happen: at least 2).
            fallOut(node, cluster, lambdaOf(0.0));
            continue;
        }
        const double lambda = lambdaOf(height[size_t(node)]);
        const int64_t a = left[size_t(node)], b = right[size_t(node)];
        const bool bigA = size[size_t(a)] >= minClusterSize;
        const bool bigB = size[size_t(b)] >= minClusterSize;
        if (bigA && bigB) {
            for (const int64_t child : { a, b }) {
                stability[size_t(cluster)]
                    += (lambda - birth[size_t(cluster)]) * double(size[size_t(child)]);
                clusterOf[size_t(child)] = int64_t(clusterParent.size());
                clusterParent.push_back(cluster);
                birth.push_back(lambda);
                stability.push_back(0.0);
                queue.push_back(child);
            }
        } else {
            for (const int64_t child : { a, b }) {
                if (size[size_t(child)] >= minClusterSize) {
                    clusterOf[size_t(child)] = cluster;
                    queue.push_back(child);
                } else {
                    fallOut(child, cluster, lambda);
                }
            }
        }
    }

    // 3. Excess of mass: children before parents (children have larger ids); a cluster is kept
    // when its stability is at least that of its kept descendants. The root is never kept.
    const auto count = int64_t(clusterParent.size());
    std::vector<double> subtree(size_t(count), 0.0);
    std::vector<char> selected(size_t(count), 0);
    std::vector<std::vector<int64_t>> children(static_cast<size_t>(count));
    for (int64_t c = 1; c < count; ++c)
        children[size_t(clusterParent[size_t(c)])].push_back(c);
    for (int64_t c = count - 1; c >= 1; --c) {
        double below = 0.0;
        for (const int64_t child : children[size_t(c)])
            below += subtree[size_t(child)];
        if (!children[size_t(c)].empty() && below > stability[size_t(c)]) {
            subtree[size_t(c)] = below;
        } else {
            subtree[size_t(c)] = stability[size_t(c)];
            selected[size_t(c)] = 1;
        }
    }
    // A kept cluster hides every kept cluster below it: walk down from the root.
    std::vector<int64_t> label(size_t(count), -1);
    for (int64_t c = 1; c < count; ++c) {
        const int64_t parentLabel = label[size_t(clusterParent[size_t(c)])];
        if (parentLabel >= 0) {
            label[size_t(c)] = parentLabel;
        } else if (selected[size_t(c)]) {
            label[size_t(c)] = result.clusters++;
            result.stability.push_back(stability[size_t(c)]);
        }
    }
    result.noise = 0;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t l = label[size_t(pointCluster[size_t(i)])];
        result.labels[size_t(i)] = l >= 0 ? int32_t(l) : kNoiseLabel;
        result.noise += l < 0;
    }
    return result;
}

std::vector<SpanningEdge> mutualReachabilityTree(const float* points, int64_t n, int64_t dim,
    const HdbscanOptions& options, const std::function<void(double)>& onProgress,
    const CancelToken* cancel)
{
    options.validate();
    if (n == 0 || !points)
        throw Error("HDBSCAN got no points to cluster");
    if (dim < 1)
        throw Error("HDBSCAN got points without dimensions");
    if (n > int64_t(std::numeric_limits<int32_t>::max()))
        throw Error("HDBSCAN takes at most 2^31 - 1 points, got " + std::to_string(n));
    const int minSamples = options.effectiveMinSamples();
    if (n < 2)
        throw Error("HDBSCAN needs at least 2 points, got " + std::to_string(n));
    if (options.minClusterSize > n)
        throw Error("HDBSCAN's minimum cluster size " + std::to_string(options.minClusterSize)
            + " is larger than the " + std::to_string(n)
            + " points to cluster (hint: choose a minimum cluster size below "
            + std::to_string(n / 2 + 1) + ")");
    if (minSamples > n)
        throw Error("HDBSCAN's minimum samples " + std::to_string(minSamples)
            + " is larger than the " + std::to_string(n) + " points to cluster");
    for (int64_t i = 0; i < n * dim; ++i) {
        if (!std::isfinite(points[i]))
            throw Error("the points to cluster contain NaN or infinity (value " + std::to_string(i)
                + "); the embedding or its reduction went wrong");
    }
    const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();

    // Core distances: to the (minSamples - 1)-th nearest other point (the point itself counts
    // as the first of minSamples, as in hdbscan and scikit-learn).
    std::vector<float> core(size_t(n), 0.0f);
    constexpr double kCoreShare = 0.25;
    if (minSamples > 1 && n > 1) {
        const int k = int(std::min<int64_t>(
            n - 1, std::max(minSamples - 1, kMinSearchNeighbours) + kExtraNeighbours));
        const KnnGraph graph = nearestNeighbours(
            points, n, dim, k, options.seed, threads,
            [&](double f) { report(onProgress, kCoreShare * f); }, cancel);
        if (graph.k == 0 || isCancelled(cancel))
            return {};
        // FAISS's distances come from |x|^2 + |y|^2 - 2 x.y, too coarse for close points:
        // the neighbours' distances are computed again, directly, and sorted.
        std::vector<float> exact;
        for (int64_t i = 0; i < n; ++i) {
            exact.clear();
            for (int j = 0; j < k; ++j) {
                const int32_t other = graph.index[size_t(i * k + j)];
                if (other < 0)
                    continue;
                float sum = 0;
                for (int64_t c = 0; c < dim; ++c) {
                    const float t = points[i * dim + c] - points[int64_t(other) * dim + c];
                    sum += t * t;
                }
                exact.push_back(std::sqrt(sum));
            }
            std::sort(exact.begin(), exact.end());
            // Fewer found (approximate search): the farthest one found.
            core[size_t(i)] = exact.empty()
                ? 0.0f
                : exact[std::min(exact.size(), size_t(minSamples - 1)) - 1];
        }
    }
    report(onProgress, kCoreShare);

    std::vector<SpanningEdge> tree;
    if (!primTree(
            points, n, dim, core, threads,
            [&](double f) { report(onProgress, kCoreShare + (1 - kCoreShare) * f); }, cancel,
            tree))
        return {};
    return tree;
}

HdbscanResult hdbscan(const float* points, int64_t n, int64_t dim, const HdbscanOptions& options,
    const std::function<void(double)>& onProgress, const CancelToken* cancel)
{
    constexpr double kTreeShare = 0.95;
    std::vector<SpanningEdge> tree = mutualReachabilityTree(
        points, n, dim, options, [&](double f) { report(onProgress, kTreeShare * f); }, cancel);
    if (tree.empty() || isCancelled(cancel))
        return {};
    const int minSamples = options.effectiveMinSamples();
    HdbscanResult result = hdbscanFromSpanningTree(std::move(tree), n, options.minClusterSize);
    if (result.clusters == 0) {
        throw Error("HDBSCAN found no cluster among the " + std::to_string(n)
            + " points: no split leaves two groups of at least the minimum cluster size "
            + std::to_string(options.minClusterSize) + " (minimum samples "
            + std::to_string(minSamples)
            + "; hint: choose a smaller minimum cluster size, or k-means)");
    }
    report(onProgress, 1.0);
    return result;
}

} // namespace moin
