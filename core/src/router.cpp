#include "moin/router.h"

#include "moin/clustering.h"
#include "moin/database.h"
#include "moin/embedding.h"
#include "moin/error.h"
#include "moin/model.h"
#include "moin/workspace.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>

namespace moin {

namespace {

// Candidates kept beyond the m asked for, to be re-ranked by their exact distance: the BLAS
// form ||c||^2 - 2 c.x rounds differently from (x - c)^2, so two centroids at nearly equal
// distances can swap places in it.
constexpr int kSpareCandidates = 8;
// Queries multiplied by the centroids at once: (256, k) scores stay small (5 MB at k = 5,000).
constexpr int64_t kQueryBlock = 256;

double exactSquaredDistance(const float* x, const float* c, int64_t d)
{
    double sum = 0;
    for (int64_t t = 0; t < d; ++t) {
        const double diff = double(x[t]) - double(c[t]);
        sum += diff * diff;
    }
    return sum;
}

// The `keep` smallest of `scores` (k) as (score, index), smallest first, ties to the lower
// index: one pass with a small sorted buffer, since keep is a handful and k is thousands.
void smallest(const float* scores, int64_t k, int keep, std::pair<float, int32_t>* best)
{
    int filled = 0;
    for (int64_t c = 0; c < k; ++c) {
        const float s = scores[c];
        if (filled == keep && !(s < best[keep - 1].first))
            continue;
        int at = filled == keep ? keep - 1 : filled++;
        while (at > 0 && s < best[at - 1].first) {
            best[at] = best[at - 1];
            --at;
        }
        best[at] = {s, int32_t(c)};
    }
}

std::string numberText(double value)
{
    std::ostringstream out;
    out.precision(17);
    out << value;
    return out.str();
}

// A stored setting as a number: the whole text must parse.
double storedNumber(Workspace& workspace, const std::string& key, double fallback)
{
    const std::optional<std::string> text = workspace.meta(key);
    if (!text)
        return fallback;
    if (*text == "off")
        return std::numeric_limits<double>::infinity();
    char* end = nullptr;
    const double value = std::strtod(text->c_str(), &end);
    if (text->empty() || end != text->c_str() + text->size()) {
        throw Error("workspace setting " + key + " is '" + *text
                    + "'; expected a number (hint: set it again with the routing defaults)");
    }
    return value;
}

} // namespace

RoutingMode parseRoutingMode(const std::string& text)
{
    if (text == "top1")
        return RoutingMode::Top1;
    if (text == "mix")
        return RoutingMode::Mix;
    throw Error("unknown routing mode '" + text + "'; expected top1 or mix");
}

std::string toString(RoutingMode mode) { return mode == RoutingMode::Mix ? "mix" : "top1"; }

void RoutingPolicy::validate(int experts) const
{
    if (mode != RoutingMode::Top1 && mode != RoutingMode::Mix)
        throw Error("unknown routing mode " + std::to_string(int(mode))
                    + "; expected top1 or mix");
    if (k < 1)
        throw Error("routing k (experts mixed) must be 1 or more; got " + std::to_string(k));
    if (experts >= 1 && mode == RoutingMode::Mix && k > experts) {
        throw Error("routing k is " + std::to_string(k) + " but the run has "
                    + std::to_string(experts) + " experts; give k from 1 to "
                    + std::to_string(experts));
    }
    if (!(temperature > 0) || !std::isfinite(temperature)) {
        throw Error("routing temperature must be a positive number (T of softmax(-d^2/T)); got "
                    + numberText(temperature));
    }
    if (std::isnan(fallbackDistance) || fallbackDistance < 0) {
        throw Error("routing fallback distance must be 0 or more (or off); got "
                    + numberText(fallbackDistance));
    }
}

void applyRoutingPolicy(RouteDecision& decision, const RoutingPolicy& policy)
{
    const size_t wanted = size_t(policy.expertsUsed());
    if (decision.candidates.empty())
        throw Error("a routing decision without candidates cannot be applied");
    decision.experts.clear();
    for (const RouteCandidate& c : decision.candidates) {
        if (decision.experts.size() == wanted)
            break;
        // Candidates come nearest first: once one is too far, so are the rest.
        if (!(double(c.distance) <= policy.fallbackDistance))
            break;
        decision.experts.push_back({c.expert, c.distance, 1.0});
    }
    decision.fallback = decision.experts.empty();
    if (decision.experts.size() < 2)
        return;
    const double nearest = double(decision.experts.front().distance);
    double sum = 0;
    for (RoutedExpert& e : decision.experts) {
        const double d = double(e.distance);
        e.weight = std::exp(-(d * d - nearest * nearest) / policy.temperature);
        sum += e.weight;
    }
    for (RoutedExpert& e : decision.experts)
        e.weight /= sum;
}

RoutingPolicy workspaceRoutingPolicy(Workspace& workspace)
{
    RoutingPolicy policy;
    if (const auto mode = workspace.meta("routing.mode")) {
        try {
            policy.mode = parseRoutingMode(*mode);
        } catch (const Error& e) {
            throw Error("workspace setting routing.mode: " + std::string(e.what()));
        }
    }
    const double k = storedNumber(workspace, "routing.k", policy.k);
    if (k != std::floor(k) || !(std::abs(k) < 1e6))
        throw Error("workspace setting routing.k is " + numberText(k)
                    + "; expected a whole number");
    policy.k = int(k);
    policy.temperature = storedNumber(workspace, "routing.temperature", policy.temperature);
    policy.fallbackDistance =
        storedNumber(workspace, "routing.fallback_distance", policy.fallbackDistance);
    try {
        policy.validate(0);
    } catch (const Error& e) {
        throw Error("the workspace's routing defaults are invalid: " + std::string(e.what()));
    }
    return policy;
}

void setWorkspaceRoutingPolicy(Workspace& workspace, const RoutingPolicy& policy)
{
    policy.validate(0);
    Transaction transaction(workspace.database());
    workspace.setMeta("routing.mode", toString(policy.mode));
    workspace.setMeta("routing.k", std::to_string(policy.k));
    workspace.setMeta("routing.temperature", numberText(policy.temperature));
    workspace.setMeta("routing.fallback_distance", std::isinf(policy.fallbackDistance)
                                                      ? std::string("off")
                                                      : numberText(policy.fallbackDistance));
    transaction.commit();
}

CentroidSearch::CentroidSearch(std::vector<float> centroids, int64_t k, int64_t d)
    : m_centroids(std::move(centroids)), m_k(k), m_d(d)
{
    if (k < 1 || d < 1 || int64_t(m_centroids.size()) != k * d) {
        throw Error("centroid search needs k x d values with k, d >= 1; got "
                    + std::to_string(m_centroids.size()) + " values for k = " + std::to_string(k)
                    + ", d = " + std::to_string(d));
    }
    m_norms.resize(size_t(k));
    for (int64_t c = 0; c < k; ++c) {
        const float* row = m_centroids.data() + c * d;
        m_norms[size_t(c)] = cblas_sdot(int(d), row, 1, row, 1);
    }
}

void CentroidSearch::search(const float* queries, int64_t n, int m, int32_t* labels,
                            float* squaredDistances) const
{
    if (m < 1 || m > m_k) {
        throw Error("asked for the " + std::to_string(m) + " nearest of "
                    + std::to_string(m_k) + " centroids; ask for 1 to " + std::to_string(m_k));
    }
    const int keep = int(std::min<int64_t>(m_k, m + kSpareCandidates));
    const int64_t k = m_k;
    const int64_t d = m_d;
    std::vector<float> products(size_t(std::min(n, kQueryBlock) * k)); // (block rows, k)
    for (int64_t start = 0; start < n; start += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, n - start);
        const float* x = queries + start * d;
        // products = x (rows, d) . centroids^T (d, k); one query is a gemv.
        if (rows == 1) {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, int(k), int(d), 1.f, m_centroids.data(),
                        int(d), x, 1, 0.f, products.data(), 1);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(k), int(d), 1.f,
                        x, int(d), m_centroids.data(), int(d), 0.f, products.data(), int(k));
        }
        // Rows are independent; each is done by one thread, so the result does not depend on
        // the thread count.
#pragma omp parallel if (rows >= 16)
        {
            std::vector<std::pair<float, int32_t>> top(static_cast<size_t>(keep));
            std::vector<std::pair<double, int32_t>> exact(static_cast<size_t>(keep));
#pragma omp for schedule(static)
            for (int64_t r = 0; r < rows; ++r) {
                float* scores = products.data() + r * k;
                // ||x - c||^2 - ||x||^2 = ||c||^2 - 2 c.x: the ranking without the query's norm.
                for (int64_t c = 0; c < k; ++c)
                    scores[c] = m_norms[size_t(c)] - 2.f * scores[c];
                smallest(scores, k, keep, top.data());
                const float* query = x + r * d;
                for (int j = 0; j < keep; ++j) {
                    const float* centroid = m_centroids.data() + int64_t(top[size_t(j)].second) * d;
                    exact[size_t(j)] = {exactSquaredDistance(query, centroid, d),
                                        top[size_t(j)].second};
                }
                std::partial_sort(exact.begin(), exact.begin() + m, exact.end());
                for (int j = 0; j < m; ++j) {
                    labels[(start + r) * m + j] = exact[size_t(j)].second;
                    squaredDistances[(start + r) * m + j] = float(exact[size_t(j)].first);
                }
            }
        }
    }
}

struct Router::Impl {
    int64_t runId = 0;
    std::optional<LanguageModel> ownModel;
    std::unique_ptr<Embedder> embedder;
    CentroidSearch centroids;
};

Router::Router(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;
Router::~Router() = default;

Router Router::open(Workspace& workspace, int64_t runId, const LanguageModel* model)
{
    if (runId == 0)
        runId = activeClusterRun(workspace);
    if (runId == 0) {
        throw Error("workspace " + workspace.directory()
                    + " has no clustering run to route with; run `moin cluster` first");
    }
    auto impl = std::make_unique<Impl>();
    impl->runId = runId;
    VectorFile centroids = readRunCentroids(workspace, runId);
    const int64_t d = centroids.cols;
    impl->centroids = CentroidSearch(std::move(centroids.values), centroids.rows, d);
    std::string embedderKind = "tfidf";
    {
        Statement query = workspace.database().prepare("SELECT embedder FROM cluster_runs WHERE id = ?");
        query.bind(1, runId);
        if (query.step())
            embedderKind = query.columnText(0);
    }
    if (embedderKind == "model" && !model) {
        impl->ownModel = LanguageModel::load(workspace.baseModelDirectory());
        model = &*impl->ownModel;
    }
    const std::string dir = clusterRunDirectory(workspace, runId);
    impl->embedder = Embedder::load(dir + "/embedder", model);
    if (impl->embedder->dimensions() != d) {
        throw Error("run " + std::to_string(runId) + ": the embedder has "
                    + std::to_string(impl->embedder->dimensions())
                    + " dimensions but the centroids " + std::to_string(d));
    }
    return Router(std::move(impl));
}

std::vector<float> Router::embed(const std::vector<std::string>& texts) const
{
    std::vector<float> vectors(texts.size() * size_t(dimensions()));
    if (!texts.empty())
        m_impl->embedder->embed(texts, vectors.data());
    return vectors;
}

std::vector<RouteDecision> Router::routeVectors(const float* vectors, int64_t n,
                                                int candidates) const
{
    const int m = std::max(1, std::min(candidates, experts()));
    std::vector<float> distances(size_t(n * m));
    std::vector<int32_t> labels(size_t(n * m));
    if (n > 0)
        m_impl->centroids.search(vectors, n, m, labels.data(), distances.data());
    std::vector<RouteDecision> decisions(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        RouteDecision& decision = decisions[size_t(i)];
        decision.candidates.reserve(size_t(m));
        for (int64_t j = 0; j < m; ++j) {
            decision.candidates.push_back({labels[size_t(i * m + j)],
                                           std::sqrt(std::max(0.f, distances[size_t(i * m + j)]))});
        }
        decision.expert = decision.candidates.front().expert;
        decision.distance = decision.candidates.front().distance;
        decision.experts = {{decision.expert, decision.distance, 1.0}};
    }
    return decisions;
}

std::vector<RouteDecision> Router::routeVectors(const float* vectors, int64_t n,
                                                const RoutingPolicy& policy,
                                                int candidates) const
{
    policy.validate(experts());
    std::vector<RouteDecision> decisions =
        routeVectors(vectors, n, std::max(candidates, policy.expertsUsed()));
    for (RouteDecision& decision : decisions)
        applyRoutingPolicy(decision, policy);
    return decisions;
}

std::vector<RouteDecision> Router::route(const std::vector<std::string>& texts,
                                         int candidates) const
{
    const std::vector<float> vectors = embed(texts);
    return routeVectors(vectors.data(), int64_t(texts.size()), candidates);
}

std::vector<RouteDecision> Router::route(const std::vector<std::string>& texts,
                                         const RoutingPolicy& policy, int candidates) const
{
    policy.validate(experts());
    const std::vector<float> vectors = embed(texts);
    return routeVectors(vectors.data(), int64_t(texts.size()), policy, candidates);
}

int64_t Router::runId() const { return m_impl->runId; }
int Router::experts() const { return int(m_impl->centroids.size()); }
int Router::dimensions() const { return int(m_impl->centroids.dimensions()); }

} // namespace moin
