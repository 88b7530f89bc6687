#pragma once
// Routing: a query is embedded exactly as the chunks of the active run were and goes to the
// expert whose cluster centroid is nearest (top-1, the paper's "introvert" routing), or to a
// mixture of the k nearest weighted by softmax(-d^2 / T) (c-BTM, Gururangan et al. 2023), or,
// when no expert is near enough, to the base model alone.
#include <cstdint>
#include <limits>
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

enum class RoutingMode {
    /// The nearest expert alone.
    Top1,
    /// The k nearest experts, their next-token distributions mixed with weights
    /// softmax(-d^2 / T) renormalised over the k.
    Mix,
};

/// Parses "top1" or "mix"; throws moin::Error naming the accepted values otherwise.
RoutingMode parseRoutingMode(const std::string& text);
std::string toString(RoutingMode mode);

/// How queries are routed: the mode, and what it needs. A workspace stores its defaults
/// (workspaceRoutingPolicy); commands and requests override them.
struct RoutingPolicy {
    RoutingMode mode = RoutingMode::Top1;
    /// Experts mixed in Mix mode (1 to the number of experts).
    int k = 2;
    /// T of softmax(-d^2 / T) in Mix mode, in squared embedding distance; > 0. Small T gives
    /// the nearest expert almost all the weight.
    double temperature = 0.1;
    /// L2 distance beyond which an expert is not near enough to answer: when the nearest is
    /// farther the base model answers (RouteDecision::fallback); in Mix mode experts farther
    /// than this are left out of the mixture. Infinity (the default) never falls back.
    double fallbackDistance = std::numeric_limits<double>::infinity();

    /// Experts this policy routes to at most: 1 for Top1, k for Mix.
    int expertsUsed() const { return mode == RoutingMode::Mix ? k : 1; }
    /// Throws moin::Error naming the first bad field (k < 1 or above `experts`, T <= 0 or not
    /// finite, a negative or NaN fallback distance) and what is expected. `experts` < 1 skips
    /// the upper bound on k (no run known yet).
    void validate(int experts) const;
};

/// An expert a query is routed to, with its share of the answer.
struct RoutedExpert {
    int expert = 0;
    /// L2 distance (not squared) from the query to the expert's centroid.
    float distance = 0;
    /// Weights of one decision's experts sum to 1.
    double weight = 1;
};

/// Where a query goes.
struct RouteDecision {
    /// The nearest cluster of the run and its distance (also when the base answers).
    int expert = 0;
    float distance = 0;
    /// The nearest experts, best first; the first is the nearest.
    std::vector<RouteCandidate> candidates;
    /// The experts that answer, nearest first, weights summing to 1; empty when `fallback`.
    std::vector<RoutedExpert> experts;
    /// No expert is within the fallback distance: the base model answers alone.
    bool fallback = false;
};

/// Applies `policy` to nearest-first `candidates` (at least policy.expertsUsed() of them, or
/// all experts): fills decision.experts and decision.fallback. The Mix weights are
/// exp(-(d_i^2 - d_1^2) / T) / sum_j exp(-(d_j^2 - d_1^2) / T) over the experts kept (the
/// shift by the nearest's d_1^2 cancels, and keeps the largest term at 1 for any T).
void applyRoutingPolicy(RouteDecision& decision, const RoutingPolicy& policy);

/// The workspace's default routing (settings "routing.mode", "routing.k",
/// "routing.temperature", "routing.fallback_distance"); the built-in defaults where unset.
/// Throws moin::Error naming the setting when a stored value does not parse.
RoutingPolicy workspaceRoutingPolicy(Workspace& workspace);
/// Stores `policy` as the workspace's default (validated first; experts not bounded).
void setWorkspaceRoutingPolicy(Workspace& workspace, const RoutingPolicy& policy);

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

    /// Routes each text to its nearest expert (top-1); `candidates` nearest experts are
    /// listed (at least 1).
    std::vector<RouteDecision> route(const std::vector<std::string>& texts,
                                     int candidates = 3) const;
    /// Routes each text by `policy` (validated against experts()); at least
    /// policy.expertsUsed() candidates are listed.
    std::vector<RouteDecision> route(const std::vector<std::string>& texts,
                                     const RoutingPolicy& policy, int candidates = 3) const;
    /// Routes vectors already embedded: row-major (n, dimensions()).
    std::vector<RouteDecision> routeVectors(const float* vectors, int64_t n,
                                            int candidates = 3) const;
    std::vector<RouteDecision> routeVectors(const float* vectors, int64_t n,
                                            const RoutingPolicy& policy,
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
