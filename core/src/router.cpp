#include "moin/router.h"

#include "moin/clustering.h"
#include "moin/embedding.h"
#include "moin/error.h"
#include "moin/model.h"
#include "moin/workspace.h"

#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

namespace fs = std::filesystem;

namespace moin {

struct Router::Impl {
    int64_t runId = 0;
    int k = 0;
    int64_t d = 0;
    std::optional<LanguageModel> ownModel;
    std::unique_ptr<Embedder> embedder;
    std::unique_ptr<faiss::IndexFlatL2> index;
};

Router::Router(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;
Router::~Router() = default;

Router Router::open(Workspace& workspace, int64_t runId, const LanguageModel* model)
{
    // FAISS searches fewer than 20 queries without BLAS, one centroid at a time: measured 4x
    // slower than BLAS for one query against 5,000 x 256 centroids (bench_scale). A router
    // mostly sees one query at a time.
    faiss::distance_compute_blas_threshold = 1;
    if (runId == 0)
        runId = activeClusterRun(workspace);
    if (runId == 0) {
        throw Error("workspace " + workspace.directory()
                    + " has no clustering run to route with; run `moin cluster` first");
    }
    auto impl = std::make_unique<Impl>();
    impl->runId = runId;
    const fs::path dir = clusterRunDirectory(workspace, runId);
    std::ifstream in(dir / "centroids.f32", std::ios::binary);
    char magic[8] = {};
    uint64_t shape[2] = {0, 0};
    in.read(magic, 8);
    in.read(reinterpret_cast<char*>(shape), sizeof shape);
    if (!in || std::memcmp(magic, "MOINVEC1", 8) != 0 || shape[0] < 1 || shape[1] < 1)
        throw Error("the centroids of run " + std::to_string(runId) + " in " + dir.string()
                    + " are missing or damaged (hint: cluster again)");
    impl->k = int(shape[0]);
    impl->d = int64_t(shape[1]);
    std::vector<float> centroids(size_t(shape[0] * shape[1]));
    in.read(reinterpret_cast<char*>(centroids.data()),
            std::streamsize(centroids.size() * sizeof(float)));
    if (!in)
        throw Error("the centroids file of run " + std::to_string(runId) + " is truncated");
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
    impl->embedder = Embedder::load((dir / "embedder").string(), model);
    if (impl->embedder->dimensions() != impl->d) {
        throw Error("run " + std::to_string(runId) + ": the embedder has "
                    + std::to_string(impl->embedder->dimensions())
                    + " dimensions but the centroids " + std::to_string(impl->d));
    }
    impl->index = std::make_unique<faiss::IndexFlatL2>(impl->d);
    impl->index->add(impl->k, centroids.data());
    return Router(std::move(impl));
}

std::vector<float> Router::embed(const std::vector<std::string>& texts) const
{
    std::vector<float> vectors(texts.size() * size_t(m_impl->d));
    if (!texts.empty())
        m_impl->embedder->embed(texts, vectors.data());
    return vectors;
}

std::vector<RouteDecision> Router::routeVectors(const float* vectors, int64_t n,
                                                int candidates) const
{
    const int64_t m = std::max(1, std::min(candidates, m_impl->k));
    std::vector<float> distances(size_t(n * m));
    std::vector<faiss::Index::idx_t> labels(size_t(n * m));
    if (n > 0)
        m_impl->index->search(n, vectors, m, distances.data(), labels.data());
    std::vector<RouteDecision> decisions(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        RouteDecision& decision = decisions[size_t(i)];
        for (int64_t j = 0; j < m; ++j) {
            decision.candidates.push_back({int(labels[size_t(i * m + j)]),
                                           std::sqrt(std::max(0.f, distances[size_t(i * m + j)]))});
        }
        decision.expert = decision.candidates.front().expert;
        decision.distance = decision.candidates.front().distance;
    }
    return decisions;
}

std::vector<RouteDecision> Router::route(const std::vector<std::string>& texts,
                                         int candidates) const
{
    const std::vector<float> vectors = embed(texts);
    return routeVectors(vectors.data(), int64_t(texts.size()), candidates);
}

int64_t Router::runId() const { return m_impl->runId; }
int Router::experts() const { return m_impl->k; }
int Router::dimensions() const { return int(m_impl->d); }

} // namespace moin
