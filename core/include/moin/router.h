#pragma once
// Routing: a query goes to the single expert whose cluster centroid is nearest (top-1, the
// paper's "introvert" routing), embedded exactly as the chunks of the active run were.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moin {

class LanguageModel;
class Workspace;

/// An expert and how far the query is from its centroid: the L2 distance (not squared), in
/// embedding space.
struct RouteCandidate {
    int expert = 0;
    float distance = 0;
};

/// Where a query goes.
struct RouteDecision {
    /// The chosen expert: the nearest cluster of the active run.
    int expert = 0;
    float distance = 0;
    /// The nearest experts, best first; the first is the chosen one.
    std::vector<RouteCandidate> candidates;
};

/// Nearest centroids by squared L2 distance. A query's distances to all k centroids come from
/// one BLAS product against the (k, d) centroid matrix (||c||^2 - 2 c.x, the query's own norm
/// being common to all); a partial sort keeps the best few, whose distances are then measured
/// exactly (double sums of squared differences) and which are ranked by them, ties to the lower
/// index. No process-wide state: searches may run from several threads at once.
class CentroidSearch {
public:
    CentroidSearch() = default;
    /// `centroids` row-major (k, d); k and d at least 1, values finite.
    CentroidSearch(std::vector<float> centroids, int64_t k, int64_t d);

    /// For each of the n row-major query vectors (n, d): the m nearest centroids (1 <= m <= k),
    /// nearest first, into `labels` (n, m) and their squared L2 distances into
    /// `squaredDistances` (n, m).
    void search(const float* queries, int64_t n, int m, int32_t* labels,
                float* squaredDistances) const;

    int64_t size() const { return m_k; }
    int64_t dimensions() const { return m_d; }
    /// (k, d) row-major.
    const std::vector<float>& centroids() const { return m_centroids; }

private:
    std::vector<float> m_centroids; // (k, d)
    std::vector<float> m_norms;     // (k) squared L2 norms
    int64_t m_k = 0;
    int64_t m_d = 0;
};

/// The centroids of one clustering run, searched with CentroidSearch, with that run's embedder.
class Router {
public:
    /// Opens the workspace's active run (or `runId`). The "model" embedder needs `model` (the
    /// workspace's base model is loaded when it is null). Throws moin::Error if the workspace
    /// has no clustering run.
    static Router open(Workspace& workspace, int64_t runId = 0,
                       const LanguageModel* model = nullptr);

    Router(Router&&) noexcept;
    Router& operator=(Router&&) noexcept;
    ~Router();

    /// Routes each text; `candidates` nearest experts are listed (at least 1).
    std::vector<RouteDecision> route(const std::vector<std::string>& texts,
                                     int candidates = 3) const;
    /// Routes vectors already embedded: row-major (n, dimensions()).
    std::vector<RouteDecision> routeVectors(const float* vectors, int64_t n,
                                            int candidates = 3) const;
    /// Embeds texts as route() does: row-major (texts.size(), dimensions()).
    std::vector<float> embed(const std::vector<std::string>& texts) const;

    int64_t runId() const;
    int experts() const;
    int dimensions() const;

private:
    struct Impl;
    explicit Router(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace moin
