// The expert x cluster perplexity matrix: every trained expert of a run on every cluster's
// held-out chunks (a sample of them beyond maxClusters), the base on each, the specialisation
// margins and what a negative one most likely comes from. Scoring reuses evaluation.h (the
// training's held-out split, batched perplexity); this file only chooses, keys and stores cells.
#include "moin/specialisation.h"

#include "moin/clustering.h"
#include "moin/error.h"
#include "moin/evaluation.h"
#include "moin/model.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <random>
#include <set>

namespace fs = std::filesystem;

namespace moin {

namespace {

constexpr int kBase = -1; // the base's row in specialisation_cells
const double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Path, size and modification time of the files that make a model or an adapter: a retrained
/// expert (or a replaced base) changes at least one of them.
std::string fileIdentity(const fs::path& folder, const std::vector<std::string>& names)
{
    std::string key = fs::absolute(folder).lexically_normal().string();
    for (const std::string& name : names) {
        std::error_code error;
        const fs::path file = folder / name;
        const auto size = fs::file_size(file, error);
        if (error)
            continue; // a sharded base has no model.safetensors; its index names the shards
        const auto time = fs::last_write_time(file, error);
        key += "|" + name + ":" + std::to_string(size) + ":"
               + std::to_string(error ? 0 : time.time_since_epoch().count());
    }
    return key;
}

std::string baseIdentity(const std::string& folder)
{
    std::vector<std::string> names = {"config.json", "model.safetensors",
                                      "model.safetensors.index.json"};
    std::error_code error;
    std::vector<std::string> shards;
    for (const auto& entry : fs::directory_iterator(folder, error)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("model-", 0) == 0 && entry.path().extension() == ".safetensors")
            shards.push_back(name);
    }
    std::sort(shards.begin(), shards.end());
    names.insert(names.end(), shards.begin(), shards.end());
    return fileIdentity(folder, names);
}

std::string adapterIdentity(const std::string& folder)
{
    return fileIdentity(folder, {"adapter_config.json", "adapter_model.safetensors"});
}

double squaredDistance(const std::vector<float>& centroids, int64_t d, int a, int b)
{
    double sum = 0;
    for (int64_t t = 0; t < d; ++t) {
        const double diff = double(centroids[size_t(a * d + t)])
                            - double(centroids[size_t(b * d + t)]);
        sum += diff * diff;
    }
    return sum;
}

/// The other clusters nearest to `own` by centroid, nearest first (ties by id).
std::vector<int> nearestClusters(int own, const std::vector<int>& candidates,
                                 const std::vector<float>& centroids, int64_t k, int64_t d,
                                 int count)
{
    std::vector<std::pair<double, int>> byDistance;
    for (int c : candidates) {
        if (c != own && c < k && own < k)
            byDistance.push_back({squaredDistance(centroids, d, own, c), c});
    }
    std::sort(byDistance.begin(), byDistance.end());
    std::vector<int> nearest;
    for (size_t i = 0; i < byDistance.size() && int(i) < count; ++i)
        nearest.push_back(byDistance[i].second);
    return nearest;
}

/// `count` of `pool` chosen by a partial Fisher-Yates shuffle with a generator seeded from
/// `seed` and the expert, so that every platform draws the same sample.
std::vector<int> randomClusters(std::vector<int> pool, int count, uint64_t seed, int expert)
{
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + uint64_t(expert) + 1);
    std::vector<int> chosen;
    for (size_t i = 0; i < pool.size() && int(chosen.size()) < count; ++i) {
        const size_t j = i + size_t(rng() % uint64_t(pool.size() - i));
        std::swap(pool[i], pool[j]);
        chosen.push_back(pool[i]);
    }
    std::sort(chosen.begin(), chosen.end());
    return chosen;
}

struct StoredCell {
    std::string key;
    double perplexity = 0;
};

struct NewCell {
    int expert = 0;
    int cluster = 0;
    std::string key;
    PerplexityResult result;
};

void storeCells(Workspace& workspace, int64_t runId, const std::vector<NewCell>& cells)
{
    if (cells.empty())
        return;
    Database& db = workspace.database();
    Transaction transaction(db);
    Statement insert = db.prepare(
        "INSERT OR REPLACE INTO specialisation_cells (run_id, expert, cluster, model_key, "
        "perplexity, tokens) VALUES (?, ?, ?, ?, ?, ?)");
    for (const NewCell& cell : cells) {
        if (!std::isfinite(cell.result.perplexity))
            continue; // no token to score: computed again (cheaply) next time
        insert.reset();
        insert.bind(1, runId)
            .bind(2, cell.expert)
            .bind(3, cell.cluster)
            .bind(4, cell.key)
            .bind(5, cell.result.perplexity)
            .bind(6, cell.result.tokens)
            .run();
    }
    transaction.commit();
}

void computeMargins(SpecialisationMatrix& matrix)
{
    for (ExpertSpecialisation& e : matrix.experts) {
        e.ownReduction = e.bestOtherReduction = e.margin = kNaN;
        e.bestOtherCluster = -1;
        auto reduction = [&](int cluster) {
            const auto expert = e.perplexity.find(cluster);
            const auto base = matrix.basePerplexity.find(cluster);
            if (expert == e.perplexity.end() || base == matrix.basePerplexity.end())
                return kNaN;
            return relativeReduction(base->second, expert->second);
        };
        e.ownReduction = reduction(e.expert);
        for (const auto& [cluster, perplexity] : e.perplexity) {
            (void)perplexity;
            const double r = reduction(cluster);
            if (cluster == e.expert || !std::isfinite(r))
                continue;
            if (e.bestOtherCluster < 0 || r > e.bestOtherReduction) {
                e.bestOtherReduction = r;
                e.bestOtherCluster = cluster;
            }
        }
        if (std::isfinite(e.ownReduction) && e.bestOtherCluster >= 0)
            e.margin = e.ownReduction - e.bestOtherReduction;
    }
}

} // namespace

double relativeReduction(double basePerplexity, double expertPerplexity)
{
    if (!std::isfinite(basePerplexity) || !std::isfinite(expertPerplexity) || basePerplexity <= 0)
        return kNaN;
    return 1 - expertPerplexity / basePerplexity;
}

SpecialisationMatrix computeSpecialisation(Workspace& workspace,
                                           const SpecialisationOptions& options,
                                           const std::function<void(int, int)>& onProgress,
                                           const CancelToken* cancel)
{
    if (options.maxClusters < 1) {
        throw Error("the number of clusters to score every expert on must be at least 1; got "
                    + std::to_string(options.maxClusters)
                    + " (--max-clusters N; the default is 32)");
    }
    if (options.nearest < 0 || options.random < 0)
        throw Error("the nearest and random cluster counts must not be negative");
    const int64_t runId = options.runId ? options.runId : activeClusterRun(workspace);
    if (runId == 0)
        throw Error("the workspace has no clustering run; run `moin cluster` first");
    TrainingQueue queue(workspace);
    const std::vector<ExpertInfo> experts = queue.experts(runId);
    if (experts.empty()) {
        throw Error("run " + std::to_string(runId)
                    + " has no trained expert yet, so there is nothing to compare; run `moin "
                      "train` first");
    }
    std::map<int, TrainingSpec> specOf;
    for (const ExpertInfo& expert : experts)
        specOf[expert.cluster] = queue.job(expert.jobId).spec;
    const std::vector<ClusterInfo> clusters = listClusters(workspace, runId);

    // A column's held-out chunks are its cluster's own split: the one its expert's training
    // used, or (no expert) the first expert's fraction.
    const double defaultFraction = specOf.begin()->second.heldOutFraction;
    std::map<int, std::string> splitKeyOf;
    std::vector<int> candidates;
    for (const ClusterInfo& cluster : clusters) {
        const auto spec = specOf.find(cluster.cluster);
        const double fraction =
            spec != specOf.end() ? spec->second.heldOutFraction : defaultFraction;
        if (heldOutChunks(workspace, runId, cluster.cluster, fraction).empty())
            continue;
        candidates.push_back(cluster.cluster);
        char key[64];
        std::snprintf(key, sizeof key, "held-out %.17g, at most %d", fraction,
                      options.maxChunks);
        splitKeyOf[cluster.cluster] = key;
    }
    if (candidates.empty()) {
        throw Error("run " + std::to_string(runId)
                    + " has no held-out chunks to score on: none of its clusters holds two "
                      "chunks any more (were its chunks removed from the corpus?); cluster "
                      "the corpus again and train its experts");
    }
    auto fractionOf = [&](int cluster) {
        const auto spec = specOf.find(cluster);
        return spec != specOf.end() ? spec->second.heldOutFraction : defaultFraction;
    };

    SpecialisationMatrix matrix;
    matrix.runId = runId;
    matrix.sampled = int(candidates.size()) > options.maxClusters;
    std::vector<float> centroids;
    int64_t k = 0, d = 0;
    if (matrix.sampled) {
        VectorFile file = readRunCentroids(workspace, runId);
        centroids = std::move(file.values);
        k = file.rows;
        d = file.cols;
    }

    // Which clusters each expert is scored on.
    const std::set<int> candidateSet(candidates.begin(), candidates.end());
    std::map<int, std::vector<int>> columnsOf;
    std::set<int> scored;
    for (const ExpertInfo& info : experts) {
        ExpertSpecialisation row;
        row.expert = info.cluster;
        std::vector<int> columns;
        if (!candidateSet.count(info.cluster)) {
            // Its own cluster has no held-out chunk: no margin to give.
        } else if (!matrix.sampled) {
            columns = candidates;
        } else {
            row.nearest = nearestClusters(info.cluster, candidates, centroids, k, d,
                                          options.nearest);
            std::vector<int> pool;
            for (int c : candidates) {
                if (c != info.cluster
                    && std::find(row.nearest.begin(), row.nearest.end(), c) == row.nearest.end())
                    pool.push_back(c);
            }
            row.random = randomClusters(pool, options.random, options.seed, info.cluster);
            columns = {info.cluster};
            columns.insert(columns.end(), row.nearest.begin(), row.nearest.end());
            columns.insert(columns.end(), row.random.begin(), row.random.end());
            std::sort(columns.begin(), columns.end());
        }
        scored.insert(columns.begin(), columns.end());
        columnsOf[info.cluster] = columns;
        matrix.experts.push_back(row);
    }
    matrix.clusters.assign(scored.begin(), scored.end());

    // What the workspace holds already, where its key still matches.
    const std::string baseFolder = specOf.begin()->second.baseModel.empty()
                                       ? workspace.baseModelDirectory()
                                       : specOf.begin()->second.baseModel;
    const std::string baseKey = baseIdentity(baseFolder);
    std::map<int, std::string> modelKeyOf = {{kBase, baseKey}};
    for (const ExpertInfo& info : experts)
        modelKeyOf[info.cluster] = adapterIdentity(info.adapterPath);
    std::map<std::pair<int, int>, StoredCell> stored;
    {
        Statement query = workspace.database().prepare(
            "SELECT expert, cluster, model_key, perplexity FROM specialisation_cells "
            "WHERE run_id = ?");
        query.bind(1, runId);
        while (query.step()) {
            stored[{int(query.columnInt64(0)), int(query.columnInt64(1))}] = {
                query.columnText(2), query.columnDouble(3)};
        }
    }
    auto cellKey = [&](int model, int cluster) {
        return modelKeyOf[model] + " | " + splitKeyOf[cluster];
    };
    auto storedValue = [&](int model, int cluster) -> std::optional<double> {
        const auto found = stored.find({model, cluster});
        if (found == stored.end() || found->second.key != cellKey(model, cluster))
            return std::nullopt;
        return found->second.perplexity;
    };

    // Cells to compute: the base on every scored column, each expert on its columns.
    std::vector<int> baseTodo;
    for (int cluster : matrix.clusters) {
        if (const auto value = storedValue(kBase, cluster)) {
            matrix.basePerplexity[cluster] = *value;
            ++matrix.storedCells;
        } else {
            baseTodo.push_back(cluster);
        }
    }
    std::map<int, std::vector<int>> expertTodo;
    int total = int(baseTodo.size());
    for (ExpertSpecialisation& row : matrix.experts) {
        for (int cluster : columnsOf[row.expert]) {
            if (const auto value = storedValue(row.expert, cluster)) {
                row.perplexity[cluster] = *value;
                ++matrix.storedCells;
            } else {
                expertTodo[row.expert].push_back(cluster);
                ++total;
            }
        }
    }

    if (total > 0 && !options.compute)
        matrix.missingCells = total;
    if (total > 0 && options.compute) {
        LanguageModel model = LanguageModel::load(baseFolder, {options.device, "auto", true});
        std::map<int, std::vector<std::vector<int32_t>>> sequencesOf;
        auto sequences = [&](int cluster) -> const std::vector<std::vector<int32_t>>& {
            auto found = sequencesOf.find(cluster);
            if (found == sequencesOf.end()) {
                found = sequencesOf
                            .emplace(cluster,
                                     heldOutSequences(workspace, model, runId, cluster,
                                                      fractionOf(cluster), options.maxChunks))
                            .first;
            }
            return found->second;
        };
        std::vector<NewCell> computed;
        int done = 0;
        auto score = [&](int modelId, int cluster) {
            const PerplexityResult result = perplexityOfSequences(model, sequences(cluster));
            computed.push_back({modelId, cluster, cellKey(modelId, cluster), result});
            ++matrix.computedCells;
            ++done;
            if (onProgress)
                onProgress(done, total);
            return result.perplexity;
        };
        for (int cluster : baseTodo) {
            if (cancel && cancel->isCancelled())
                break;
            matrix.basePerplexity[cluster] = score(kBase, cluster);
        }
        // One adapter at a time on the one base. Every cell stands alone (its own key), so a
        // cancel between two cells keeps all that were computed.
        for (ExpertSpecialisation& row : matrix.experts) {
            const auto todo = expertTodo.find(row.expert);
            if (todo == expertTodo.end())
                continue;
            if (cancel && cancel->isCancelled())
                break;
            const auto info = std::find_if(experts.begin(), experts.end(), [&](const auto& e) {
                return e.cluster == row.expert;
            });
            model.loadAdapter(info->adapterPath);
            for (int cluster : todo->second) {
                if (cancel && cancel->isCancelled())
                    break;
                row.perplexity[cluster] = score(row.expert, cluster);
            }
            model.detachAdapter();
        }
        matrix.cancelled = cancel && cancel->isCancelled() && done < total;
        matrix.missingCells = total - done;
        storeCells(workspace, runId, computed);
    }
    computeMargins(matrix);
    return matrix;
}

std::vector<SpecialisationAdvice> adviseSpecialisation(Workspace& workspace,
                                                       const SpecialisationMatrix& matrix)
{
    std::vector<SpecialisationAdvice> advice;
    std::vector<const ExpertSpecialisation*> negative;
    for (const ExpertSpecialisation& e : matrix.experts) {
        if (std::isfinite(e.margin) && e.margin < 0)
            negative.push_back(&e);
    }
    if (negative.empty())
        return advice;
    TrainingQueue queue(workspace);
    std::map<int, TrainingSpec> specOf;
    for (const ExpertInfo& expert : queue.experts(matrix.runId))
        specOf[expert.cluster] = queue.job(expert.jobId).spec;
    const std::vector<ClusterInfo> clusters = listClusters(workspace, matrix.runId);
    std::map<int, const ClusterInfo*> clusterOf;
    std::vector<int64_t> sizes;
    for (const ClusterInfo& c : clusters) {
        clusterOf[c.cluster] = &c;
        sizes.push_back(c.size);
    }
    std::sort(sizes.begin(), sizes.end());
    const int64_t median = sizes.empty() ? 0 : sizes[sizes.size() / 2];
    const std::vector<ChunkPlacement> placements = listPlacements(workspace, matrix.runId);
    Statement tokensOf = workspace.database().prepare("SELECT tokens FROM chunks WHERE id = ?");

    for (const ExpertSpecialisation* e : negative) {
        SpecialisationAdvice item;
        item.expert = e->expert;
        item.margin = e->margin;
        item.bestOtherCluster = e->bestOtherCluster;
        const auto spec = specOf.find(e->expert);
        // Epochs: training tokens against the cluster's training text.
        if (spec != specOf.end()) {
            std::vector<int64_t> ids;
            for (const ChunkPlacement& p : placements) {
                if (p.cluster == e->expert)
                    ids.push_back(p.chunkId);
            }
            int64_t trainTokens = 0;
            for (int64_t id : splitCluster(ids, spec->second.heldOutFraction).trainChunks) {
                tokensOf.reset();
                tokensOf.bind(1, id);
                if (tokensOf.step())
                    trainTokens += tokensOf.columnInt64(0);
            }
            const double seen =
                double(spec->second.totalSteps()) * double(spec->second.tokensPerStep());
            if (trainTokens > 0 && seen < double(trainTokens)) {
                SpecialisationCause cause;
                cause.kind = SpecialisationCause::Kind::TooFewSteps;
                cause.epochs = seen / double(trainTokens);
                item.causes.push_back(cause);
            }
        }
        // Overlap on the map: own points nearer to the other cluster's centre.
        const auto own = clusterOf.find(e->expert);
        const auto other = clusterOf.find(e->bestOtherCluster);
        if (own != clusterOf.end() && other != clusterOf.end()) {
            int64_t points = 0, nearer = 0;
            for (const ChunkPlacement& p : placements) {
                if (p.cluster != e->expert)
                    continue;
                ++points;
                const double toOwn = std::hypot(p.x - own->second->x, p.y - own->second->y);
                const double toOther =
                    std::hypot(p.x - other->second->x, p.y - other->second->y);
                nearer += toOther < toOwn;
            }
            const double fraction = points ? double(nearer) / double(points) : 0;
            if (fraction >= 0.1) {
                SpecialisationCause cause;
                cause.kind = SpecialisationCause::Kind::Overlap;
                cause.otherCluster = e->bestOtherCluster;
                cause.fraction = fraction;
                item.causes.push_back(cause);
            }
            if (own->second->size * 2 < median) {
                SpecialisationCause cause;
                cause.kind = SpecialisationCause::Kind::TooSmall;
                cause.chunks = own->second->size;
                cause.medianChunks = median;
                item.causes.push_back(cause);
            }
        }
        if (item.causes.empty()) {
            SpecialisationCause cause;
            cause.kind = SpecialisationCause::Kind::SharedStyle;
            cause.otherCluster = e->bestOtherCluster;
            item.causes.push_back(cause);
        }
        advice.push_back(std::move(item));
    }
    return advice;
}

std::string describeCause(const SpecialisationCause& cause)
{
    char text[400];
    switch (cause.kind) {
    case SpecialisationCause::Kind::TooFewSteps:
        std::snprintf(text, sizeof text,
                      "too few steps for its cluster's size: its training read %.2f epochs of "
                      "the cluster's text, so it learned the corpus's common style first (train "
                      "it again with more steps or --tokens)",
                      cause.epochs);
        break;
    case SpecialisationCause::Kind::Overlap:
        std::snprintf(text, sizeof text,
                      "its cluster overlaps cluster %d on the map: %.0f%% of its points lie "
                      "nearer to cluster %d's centre (cluster with fewer groups or the model "
                      "embedder)",
                      cause.otherCluster, 100 * cause.fraction, cause.otherCluster);
        break;
    case SpecialisationCause::Kind::TooSmall:
        std::snprintf(text, sizeof text,
                      "its cluster is small: %lld chunks against a median of %lld (cluster "
                      "with fewer groups or --balanced)",
                      (long long)cause.chunks, (long long)cause.medianChunks);
        break;
    case SpecialisationCause::Kind::SharedStyle:
        std::snprintf(text, sizeof text,
                      "it helps cluster %d as much as its own: what it learned is common to "
                      "both groups (train it longer, or merge the two clusters)",
                      cause.otherCluster);
        break;
    }
    return text;
}

std::vector<int> neighbourOrder(const std::vector<int>& clusters,
                                const std::vector<float>& centroids, int64_t dimensions)
{
    const int64_t k = dimensions > 0 ? int64_t(centroids.size()) / dimensions : 0;
    std::vector<int> known, unknown;
    for (int c : clusters)
        (c >= 0 && c < k ? known : unknown).push_back(c);
    if (known.size() < 3) {
        known.insert(known.end(), unknown.begin(), unknown.end());
        return known;
    }
    // Start at an end of the cloud: the cluster farthest from the mean of the others.
    std::vector<double> mean(size_t(dimensions), 0.0);
    for (int c : known) {
        for (int64_t t = 0; t < dimensions; ++t)
            mean[size_t(t)] += centroids[size_t(c * dimensions + t)] / double(known.size());
    }
    size_t start = 0;
    double farthest = -1;
    for (size_t i = 0; i < known.size(); ++i) {
        double sum = 0;
        for (int64_t t = 0; t < dimensions; ++t) {
            const double diff = centroids[size_t(known[i] * dimensions + t)] - mean[size_t(t)];
            sum += diff * diff;
        }
        if (sum > farthest) {
            farthest = sum;
            start = i;
        }
    }
    std::vector<int> order = {known[start]};
    std::vector<bool> used(known.size(), false);
    used[start] = true;
    for (size_t step = 1; step < known.size(); ++step) {
        size_t next = 0;
        double best = std::numeric_limits<double>::infinity();
        for (size_t i = 0; i < known.size(); ++i) {
            if (used[i])
                continue;
            const double distance = squaredDistance(centroids, dimensions, order.back(), known[i]);
            if (distance < best) {
                best = distance;
                next = i;
            }
        }
        used[next] = true;
        order.push_back(known[next]);
    }
    order.insert(order.end(), unknown.begin(), unknown.end());
    return order;
}

} // namespace moin
