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

/// An expert and how far the query is from its centroid (L2, in embedding space).
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

/// The centroids of one clustering run in a FAISS index, with that run's embedder.
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
