// k-means (FAISS), balanced assignment, cluster keywords, and clustering runs in the workspace.
#include "moin/clustering.h"

#include "moin/atomicfile.h"
#include "moin/basemodel.h"
#include "moin/error.h"
#include "moin/model.h"
#include "moin/router.h"
#include "moin/workspace.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <random>
#include <unordered_map>

namespace fs = std::filesystem;

namespace moin {

using json = nlohmann::json;

namespace {

void checkFinite(const float* points, int64_t count)
{
    for (int64_t i = 0; i < count; ++i) {
        if (!std::isfinite(points[i])) {
            throw Error("the vectors to cluster contain NaN or infinity (value " + std::to_string(i)
                        + "); the embedding went wrong");
        }
    }
}

// Lets FAISS's long loops see our CancelToken. FAISS keeps one global callback: runs are
// serialised by the mutex.
class FaissCancel : public faiss::InterruptCallback {
public:
    explicit FaissCancel(const CancelToken* token) : m_token(token) {}
    bool want_interrupt() override { return m_token && m_token->isCancelled(); }

private:
    const CancelToken* m_token;
};
std::mutex g_faissInterruptMutex;

// Assigns every point to its nearest centroid with room, nearest pairs first, so that no
// cluster exceeds `capacity`; then moves the centroids to the means.
void balancedRounds(const float* x, int64_t n, int64_t d, int k, int64_t capacity, int rounds,
                    KMeansResult& result, const CancelToken* cancel)
{
    const int m = std::min(k, 16);
    std::vector<float> distances(size_t(n * m));
    std::vector<int32_t> labels(size_t(n * m));
    for (int round = 0; round < rounds; ++round) {
        if (cancel && cancel->isCancelled())
            return;
        CentroidSearch(result.centroids, k, d).search(x, n, m, labels.data(), distances.data());
        std::vector<int64_t> order(static_cast<size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
            return distances[size_t(a * m)] < distances[size_t(b * m)];
        });
        std::vector<int64_t> load(size_t(k), 0);
        for (const int64_t i : order) {
            int32_t chosen = -1;
            for (int64_t j = 0; j < m && chosen < 0; ++j) {
                const int32_t c = labels[size_t(i * m + j)];
                if (load[size_t(c)] < capacity) {
                    chosen = c;
                    result.distances[size_t(i)] = distances[size_t(i * m + j)];
                }
            }
            if (chosen < 0) {
                // All of its m nearest are full: the nearest centroid with room, by brute force.
                float best = std::numeric_limits<float>::infinity();
                for (int c = 0; c < k; ++c) {
                    if (load[size_t(c)] >= capacity)
                        continue;
                    float sum = 0;
                    for (int64_t t = 0; t < d; ++t) {
                        const float diff = x[i * d + t] - result.centroids[size_t(c * d + t)];
                        sum += diff * diff;
                    }
                    if (sum < best) {
                        best = sum;
                        chosen = c;
                    }
                }
                result.distances[size_t(i)] = best;
            }
            result.assignment[size_t(i)] = chosen;
            ++load[size_t(chosen)];
        }
        // Means of the new groups; an empty group keeps its centroid.
        std::vector<double> sums(size_t(k * d), 0.0);
        for (int64_t i = 0; i < n; ++i) {
            const int32_t c = result.assignment[size_t(i)];
            for (int64_t t = 0; t < d; ++t)
                sums[size_t(c * d + t)] += x[i * d + t];
        }
        for (int c = 0; c < k; ++c) {
            if (load[size_t(c)] == 0)
                continue;
            for (int64_t t = 0; t < d; ++t)
                result.centroids[size_t(c * d + t)] = float(sums[size_t(c * d + t)] / double(load[size_t(c)]));
        }
    }
}

float squaredDistance(const float* a, const float* b, int64_t d)
{
    float sum = 0;
    // Vectorised in a fixed order chosen at compile time: the same sum on every thread.
#pragma omp simd reduction(+ : sum)
    for (int64_t t = 0; t < d; ++t) {
        const float diff = a[t] - b[t];
        sum += diff * diff;
    }
    return sum;
}

} // namespace

std::vector<float> kmeansPlusPlus(const float* x, int64_t n, int64_t d, int k,
                                  int64_t sampleSize, uint64_t seed, const CancelToken* cancel,
                                  const std::function<void(double)>& onProgress)
{
    if (k < 1 || n < k || sampleSize < k || d < 1)
        throw Error("k-means++ needs 1 <= k <= sample size <= n points of >= 1 dimensions; got k = "
                    + std::to_string(k) + ", sample " + std::to_string(sampleSize) + ", n = "
                    + std::to_string(n) + ", d = " + std::to_string(d));
    std::mt19937_64 rng(seed);
    std::vector<int64_t> sample(static_cast<size_t>(n));
    std::iota(sample.begin(), sample.end(), 0);
    if (n > sampleSize) {
        // A uniform sample, visited in memory order.
        for (int64_t i = 0; i < sampleSize; ++i)
            std::swap(sample[size_t(i)],
                      sample[size_t(i) + std::uniform_int_distribution<size_t>(
                                             0, size_t(n - 1 - i))(rng)]);
        sample.resize(size_t(sampleSize));
        std::sort(sample.begin(), sample.end());
    }
    const auto m = int64_t(sample.size());
    // Squared distance of each sample point to its nearest centre so far, and their sums over
    // fixed blocks: the block sums are added in block order, so the draw does not depend on how
    // many threads computed them.
    constexpr int64_t kBlock = 2048;
    const int64_t blocks = (m + kBlock - 1) / kBlock;
    std::vector<float> nearest(size_t(m), std::numeric_limits<float>::infinity());
    std::vector<double> blockSums(size_t(blocks), 0.0);
    std::vector<float> centroids(size_t(int64_t(k) * d));
    int64_t chosen = sample[std::uniform_int_distribution<size_t>(0, size_t(m - 1))(rng)];
    for (int c = 0; c < k; ++c) {
        std::copy(x + chosen * d, x + (chosen + 1) * d, centroids.begin() + int64_t(c) * d);
        if (c + 1 == k)
            break;
        if (cancel && c % 64 == 0 && cancel->isCancelled())
            return {};
        if (onProgress && c % 256 == 0)
            onProgress(double(c) / k);
        const float* centre = centroids.data() + int64_t(c) * d;
#pragma omp parallel for schedule(static)
        for (int64_t b = 0; b < blocks; ++b) {
            double sum = 0;
            for (int64_t i = b * kBlock; i < std::min(m, (b + 1) * kBlock); ++i) {
                const float dist = squaredDistance(x + sample[size_t(i)] * d, centre, d);
                if (dist < nearest[size_t(i)])
                    nearest[size_t(i)] = dist;
                sum += nearest[size_t(i)];
            }
            blockSums[size_t(b)] = sum;
        }
        double total = 0;
        for (const double sum : blockSums)
            total += sum;
        // The next centre: a point drawn with probability proportional to its squared distance
        // (every point lies on a centre already when the total is 0: then uniformly).
        int64_t pick = -1;
        if (total > 0) {
            double target = std::uniform_real_distribution<double>(0, total)(rng);
            int64_t b = 0;
            while (b + 1 < blocks && target >= blockSums[size_t(b)])
                target -= blockSums[size_t(b++)];
            const int64_t end = std::min(m, (b + 1) * kBlock);
            for (int64_t i = b * kBlock; i < end && pick < 0; ++i) {
                target -= nearest[size_t(i)];
                if (target < 0)
                    pick = i;
            }
            // Rounding left the target past the block's last point: its last point with weight.
            for (int64_t i = end - 1; pick < 0 && i >= b * kBlock; --i) {
                if (nearest[size_t(i)] > 0)
                    pick = i;
            }
        }
        if (pick < 0)
            pick = int64_t(std::uniform_int_distribution<size_t>(0, size_t(m - 1))(rng));
        chosen = sample[size_t(pick)];
    }
    return centroids;
}

namespace {

int64_t kmeansPlusPlusSample(int64_t n, int k)
{
    // 32 points per centre (160,000 at the paper's k = 5,000): enough for the seeding to find
    // every group of that size; k-means's iterations then use every point.
    return std::min<int64_t>(n, std::max<int64_t>(32 * int64_t(k), 4096));
}

} // namespace

void KMeansOptions::validate() const
{
    if (k < 2 || k > 1000000)
        throw Error("the number of clusters k must be between 2 and 1,000,000; got "
                    + std::to_string(k));
    if (iterations < 1 || iterations > 1000)
        throw Error("k-means iterations must be between 1 and 1,000; got "
                    + std::to_string(iterations));
    if (balanced && !(maxClusterSizeFactor >= 1.0))
        throw Error("the balanced size bound must be at least 1 (x the mean cluster size); got "
                    + std::to_string(maxClusterSizeFactor));
    if (restarts < 1 || restarts > 100)
        throw Error("k-means restarts must be between 1 and 100; got " + std::to_string(restarts));
    if (balancedIterations < 1)
        throw Error("balanced k-means needs at least one round");
}

KMeansResult kmeans(const float* points, int64_t n, int64_t d, const KMeansOptions& options,
                    const std::function<void(double)>& onProgress, const CancelToken* cancel)
{
    options.validate();
    if (n < options.k) {
        throw Error("k-means into " + std::to_string(options.k) + " clusters needs at least "
                    + std::to_string(options.k) + " chunks; the corpus has " + std::to_string(n)
                    + " (hint: import more text or choose a smaller k)");
    }
    if (d < 1)
        throw Error("the vectors to cluster have no dimensions");
    checkFinite(points, n * d);

    KMeansResult result;
    const int k = options.k;
    {
        std::lock_guard<std::mutex> lock(g_faissInterruptMutex);
        double bestObjective = std::numeric_limits<double>::infinity();
        for (int restart = 0; restart < options.restarts; ++restart) {
            faiss::ClusteringParameters parameters;
            parameters.niter = options.iterations;
            parameters.nredo = 1; // restarts are ours, each from its own k-means++ seeds
            parameters.seed = int((options.seed + uint64_t(restart)) & 0x7fffffff);
            parameters.verbose = false;
            // Use every point (FAISS otherwise subsamples 256 per centroid) and do not warn
            // about few points per centroid: tiny clusters are legitimate here.
            parameters.max_points_per_centroid = int(std::max<int64_t>(256, n / k + 1));
            parameters.min_points_per_centroid = 1;
            faiss::Clustering clustering(int(d), k, parameters);
            // The share of the work before the final assignment (0.7) is split: a tenth for
            // the seeding, the rest for the iterations.
            const double share = 0.7 / options.restarts;
            const double base = share * restart;
            if (options.kmeansPlusPlus) {
                clustering.centroids = kmeansPlusPlus(
                    points, n, d, k, kmeansPlusPlusSample(n, k), options.seed + uint64_t(restart),
                    cancel, [&](double f) {
                        if (onProgress)
                            onProgress(base + 0.1 * share * f);
                    });
                if (cancel && cancel->isCancelled())
                    return {};
                if (onProgress)
                    onProgress(base + 0.1 * share);
            }
            faiss::InterruptCallback::instance.reset(new FaissCancel(cancel));
            faiss::IndexFlatL2 index(d);
            try {
                clustering.train(n, points, index);
            } catch (const faiss::FaissException& e) {
                faiss::InterruptCallback::instance.reset();
                if (cancel && cancel->isCancelled())
                    return {};
                throw Error(std::string("k-means failed: ") + e.what());
            }
            faiss::InterruptCallback::instance.reset();
            const double objective = clustering.iteration_stats.empty()
                                         ? 0
                                         : clustering.iteration_stats.back().obj;
            if (restart == 0 || objective < bestObjective) {
                bestObjective = objective;
                result.centroids = clustering.centroids;
            }
            if (onProgress && restart + 1 < options.restarts)
                onProgress(base + share);
        }
    }
    if (onProgress)
        onProgress(0.7);

    // Final assignment: the nearest centroid, searched as the router searches (so that routing
    // and assignment agree).
    result.assignment.assign(size_t(n), 0);
    result.distances.assign(size_t(n), 0.f);
    CentroidSearch(result.centroids, k, d)
        .search(points, n, 1, result.assignment.data(), result.distances.data());
    if (options.balanced) {
        const auto capacity = int64_t(
            std::ceil(options.maxClusterSizeFactor * double(n) / double(k)));
        balancedRounds(points, n, d, k, capacity, options.balancedIterations, result, cancel);
        if (cancel && cancel->isCancelled())
            return {};
    }
    result.sizes.assign(size_t(k), 0);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
        ++result.sizes[size_t(result.assignment[size_t(i)])];
        total += result.distances[size_t(i)];
    }
    result.objective = total / double(n);
    if (onProgress)
        onProgress(1.0);
    return result;
}

std::vector<std::vector<std::pair<std::string, double>>>
clusterKeywords(const std::vector<std::string>& texts, const std::vector<int32_t>& assignment,
                int k, int top)
{
    std::vector<std::unordered_map<std::string, int64_t>> counts(static_cast<size_t>(k));
    std::vector<int64_t> totals(size_t(k), 0);
    std::unordered_map<std::string, int64_t> overall;
    for (size_t i = 0; i < texts.size(); ++i) {
        const int32_t c = assignment[i];
        for (const std::string& word : keywordTokens(texts[i])) {
            ++counts[size_t(c)][word];
            ++totals[size_t(c)];
            ++overall[word];
        }
    }
    // c-TF-IDF: (count in cluster / words in cluster) * log(1 + mean words per cluster / count
    // in all clusters).
    const double meanWords =
        double(std::accumulate(totals.begin(), totals.end(), int64_t(0))) / double(k);
    std::vector<std::vector<std::pair<std::string, double>>> keywords(static_cast<size_t>(k));
    for (int c = 0; c < k; ++c) {
        auto& list = keywords[size_t(c)];
        for (const auto& [word, count] : counts[size_t(c)]) {
            // A word seen once is noise, not a topic.
            if (count < 2)
                continue;
            const double tf = double(count) / double(totals[size_t(c)]);
            list.emplace_back(word, tf * std::log(1.0 + meanWords / double(overall[word])));
        }
        const size_t keep = std::min(list.size(), size_t(top));
        std::partial_sort(list.begin(), list.begin() + long(keep), list.end(),
                          [](const auto& a, const auto& b) {
                              return a.second != b.second ? a.second > b.second : a.first < b.first;
                          });
        list.resize(keep);
    }
    return keywords;
}

// ---- runs in the workspace ----

namespace {

json embedderKey(const EmbedderOptions& o)
{
    json key = {{"kind", o.kind}};
    if (o.kind == "tfidf") {
        key.update({{"dimensions", o.dimensions},
                    {"max_vocabulary", o.maxVocabulary},
                    {"min_document_frequency", o.minDocumentFrequency},
                    {"max_document_fraction", o.maxDocumentFraction},
                    {"power_iterations", o.powerIterations},
                    {"seed", o.seed}});
    }
    return key;
}

} // namespace

std::string clusterRunDirectory(Workspace& workspace, int64_t runId)
{
    return (fs::path(workspace.indexesDirectory()) / ("run-" + std::to_string(runId))).string();
}

namespace {

constexpr char kVectorMagic[8] = {'M', 'O', 'I', 'N', 'V', 'E', 'C', '1'};
constexpr uint64_t kVectorHeaderBytes = sizeof kVectorMagic + 2 * sizeof(uint64_t);

// The first bytes of a file, printable, for an error message.
std::string shownBytes(const char* bytes, size_t count)
{
    std::string out;
    for (size_t i = 0; i < count; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c >= 32 && c < 127 && c != '\\') {
            out += char(c);
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out;
}

} // namespace

VectorFile readVectorFile(const std::string& path)
{
    const std::string hint = " (hint: the run's files are damaged; cluster again)";
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    std::ifstream in(path, std::ios::binary);
    if (ec || !in)
        throw Error("cannot read the vector file " + path + ": "
                    + (ec ? ec.message() : std::string("it cannot be opened")) + hint);
    char header[kVectorHeaderBytes] = {};
    in.read(header, std::streamsize(std::min<uint64_t>(size, kVectorHeaderBytes)));
    if (std::memcmp(header, kVectorMagic, std::min<size_t>(size, sizeof kVectorMagic)) != 0
        || size < sizeof kVectorMagic) {
        throw Error(path + " is not a MoIN vector file: expected it to start with \"MOINVEC1\", "
                    "found \"" + shownBytes(header, size_t(std::min<uint64_t>(size, 8))) + "\""
                    + hint);
    }
    if (size < kVectorHeaderBytes) {
        throw Error(path + " is truncated: a MoIN vector file has a " + std::to_string(kVectorHeaderBytes)
                    + "-byte header, the file has " + std::to_string(size) + " bytes" + hint);
    }
    uint64_t shape[2] = {0, 0};
    std::memcpy(shape, header + sizeof kVectorMagic, sizeof shape);
    // At most 2^40 values: a damaged header must not ask for an absurd allocation or overflow.
    const bool plausible = shape[0] >= 1 && shape[1] >= 1 && shape[1] <= (uint64_t(1) << 24)
                           && shape[0] <= (uint64_t(1) << 40) / shape[1];
    const uint64_t expected =
        plausible ? kVectorHeaderBytes + shape[0] * shape[1] * sizeof(float) : 0;
    if (!plausible || expected != size) {
        throw Error(path + " does not match its header: " + std::to_string(shape[0]) + " x "
                    + std::to_string(shape[1]) + " vectors"
                    + (plausible ? " need " + std::to_string(expected) + " bytes"
                                 : std::string(" is not a valid shape"))
                    + ", the file has " + std::to_string(size) + " bytes"
                    + (plausible && size < expected ? " (truncated)" : "") + hint);
    }
    VectorFile file;
    file.rows = int64_t(shape[0]);
    file.cols = int64_t(shape[1]);
    file.values.resize(size_t(shape[0] * shape[1]));
    in.read(reinterpret_cast<char*>(file.values.data()),
            std::streamsize(file.values.size() * sizeof(float)));
    if (!in)
        throw Error("reading " + path + " failed after its header" + hint);
    return file;
}

void writeVectorFile(const std::string& path, const float* values, int64_t rows, int64_t cols)
{
    AtomicFileWriter file(path);
    file.write(kVectorMagic, sizeof kVectorMagic);
    const uint64_t shape[2] = {uint64_t(rows), uint64_t(cols)};
    file.write(shape, sizeof shape);
    file.write(values, size_t(rows * cols) * sizeof(float));
    file.commit();
}

void ClusterRunOptions::validate() const
{
    embedder.validate();
    if (method == "kmeans") {
        kmeans.validate();
    } else if (method == "hdbscan") {
        hdbscan.validate();
        if (reduceDimensions < 2 || reduceDimensions > 16)
            throw Error("the dimensions to reduce to before HDBSCAN must be between 2 and 16; got "
                        + std::to_string(reduceDimensions));
    } else {
        throw Error("the clustering method must be \"kmeans\" or \"hdbscan\"; got \"" + method
                    + "\"");
    }
    layout.validate();
}

namespace {

// k clusters from HDBSCAN's labels in the shape k-means gives them: the noise points (label -1)
// join the cluster whose centroid (mean of its clustered points) is nearest, searched as the
// router searches; then the centroids become the means of that final assignment, so that
// routing and training see every chunk in a cluster.
KMeansResult clustersFromLabels(const float* x, int64_t n, int64_t d,
                                const std::vector<int32_t>& labels, int k)
{
    auto means = [&](const std::vector<int32_t>& assignment, std::vector<int64_t>& sizes) {
        std::vector<double> sums(size_t(k * d), 0.0);
        sizes.assign(size_t(k), 0);
        for (int64_t i = 0; i < n; ++i) {
            const int32_t c = assignment[size_t(i)];
            if (c < 0)
                continue;
            ++sizes[size_t(c)];
            for (int64_t t = 0; t < d; ++t)
                sums[size_t(c * d + t)] += x[i * d + t];
        }
        std::vector<float> centroids(size_t(k * d));
        for (int c = 0; c < k; ++c)
            for (int64_t t = 0; t < d; ++t)
                centroids[size_t(c * d + t)] =
                    float(sums[size_t(c * d + t)] / double(std::max<int64_t>(1, sizes[size_t(c)])));
        return centroids;
    };
    KMeansResult result;
    result.assignment = labels;
    std::vector<int64_t> noise;
    for (int64_t i = 0; i < n; ++i)
        if (labels[size_t(i)] < 0)
            noise.push_back(i);
    if (!noise.empty()) {
        const CentroidSearch search(means(labels, result.sizes), k, d);
        std::vector<float> rows(size_t(int64_t(noise.size()) * d));
        for (size_t j = 0; j < noise.size(); ++j)
            std::copy(x + noise[j] * d, x + (noise[j] + 1) * d, rows.begin() + int64_t(j) * d);
        std::vector<int32_t> nearest(noise.size());
        std::vector<float> unused(noise.size());
        search.search(rows.data(), int64_t(noise.size()), 1, nearest.data(), unused.data());
        for (size_t j = 0; j < noise.size(); ++j)
            result.assignment[size_t(noise[j])] = nearest[j];
    }
    result.centroids = means(result.assignment, result.sizes);
    result.distances.resize(size_t(n));
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
        result.distances[size_t(i)] = squaredDistance(
            x + i * d, result.centroids.data() + int64_t(result.assignment[size_t(i)]) * d, d);
        total += result.distances[size_t(i)];
    }
    result.objective = total / double(n);
    return result;
}

} // namespace

VectorFile readRunCentroids(Workspace& workspace, int64_t runId)
{
    return readVectorFile(
        (fs::path(clusterRunDirectory(workspace, runId)) / "centroids.f32").string());
}

int64_t runClustering(Workspace& workspace, const ClusterRunOptions& options,
                      const ClusterProgress& onProgress, const CancelToken* cancel,
                      const LanguageModel* model)
{
    options.validate();
    const bool useHdbscan = options.method == "hdbscan";
    const auto started = std::chrono::steady_clock::now();
    auto report = [&](const std::string& phase, double fraction) {
        if (onProgress)
            onProgress(phase, fraction);
    };
    auto cancelled = [&] { return cancel && cancel->isCancelled(); };
    Database& db = workspace.database();

    // 1. The chunks, in id order (the row order of every matrix below).
    report("reading chunks", 0);
    std::vector<int64_t> ids;
    std::vector<std::string> texts;
    {
        Statement query = db.prepare("SELECT id, text FROM chunks ORDER BY id");
        while (query.step()) {
            ids.push_back(query.columnInt64(0));
            texts.push_back(query.columnText(1));
        }
    }
    const auto n = int64_t(ids.size());
    if (n == 0)
        throw Error("the workspace has no chunks to cluster; import a corpus first (moin import)");
    if (!useHdbscan && n < options.kmeans.k) {
        throw Error("clustering into " + std::to_string(options.kmeans.k)
                    + " clusters needs at least as many chunks; the corpus has "
                    + std::to_string(n));
    }

    std::optional<LanguageModel> ownModel;
    if (options.embedder.kind == "model" && !model) {
        report("loading the base model", 0);
        ownModel = LanguageModel::load(workspace.baseModelDirectory());
        model = &*ownModel;
    }

    // The run's number is reserved now so that its files have a folder.
    json parameters = {{"embedder", embedderKey(options.embedder)},
                       {"method", options.method},
                       {"layout", options.layout.method}};
    if (useHdbscan) {
        parameters.update({{"min_cluster_size", options.hdbscan.minClusterSize},
                           {"min_samples", options.hdbscan.effectiveMinSamples()},
                           {"reduce_dimensions", options.reduceDimensions},
                           {"reduce_neighbours", options.layout.neighbours},
                           {"seed", options.layout.seed}});
    } else {
        parameters.update({{"k", options.kmeans.k},
                           {"iterations", options.kmeans.iterations},
                           {"seed", options.kmeans.seed},
                           {"balanced", options.kmeans.balanced},
                           {"max_cluster_size_factor", options.kmeans.maxClusterSizeFactor}});
    }
    const std::string fingerprint = std::to_string(n) + ":" + std::to_string(ids.front()) + ":"
                                    + std::to_string(ids.back());
    db.prepare("INSERT INTO cluster_runs (embedder, k, balanced, parameters, chunk_fingerprint, "
               "status) VALUES (?, ?, ?, ?, ?, 'running')")
        .bind(1, options.embedder.kind)
        .bind(2, useHdbscan ? 0 : options.kmeans.k)
        .bind(3, int64_t(!useHdbscan && options.kmeans.balanced))
        .bind(4, parameters.dump())
        .bind(5, fingerprint)
        .run();
    const int64_t runId = db.lastInsertRowId();
    const fs::path dir = clusterRunDirectory(workspace, runId);
    auto abandon = [&] {
        db.prepare("DELETE FROM cluster_runs WHERE id = ?").bind(1, runId).run();
        std::error_code ec;
        fs::remove_all(dir, ec);
    };

    int clusterCount = 0;
    try {
        fs::create_directories(dir);
        // 2. Embeddings: reused from an earlier run with the same embedder and chunks.
        std::vector<float> vectors;
        int64_t d = 0;
        std::unique_ptr<Embedder> embedder;
        int64_t previousRun = 0;
        {
            // Read and finished here: the transaction below may not begin while it reads.
            Statement previous = db.prepare(
                "SELECT id FROM cluster_runs WHERE status = 'done' AND chunk_fingerprint = ? "
                "AND json_extract(parameters, '$.embedder') = json(?) ORDER BY id DESC LIMIT 1");
            previous.bind(1, fingerprint).bind(2, embedderKey(options.embedder).dump());
            if (previous.step())
                previousRun = previous.columnInt64(0);
        }
        if (previousRun > 0) {
            const fs::path from = clusterRunDirectory(workspace, previousRun);
            VectorFile stored = readVectorFile((from / "embeddings.f32").string());
            vectors = std::move(stored.values);
            d = stored.cols;
            if (stored.rows == n) {
                report("reusing embeddings of run " + std::to_string(previousRun), 1);
                embedder = Embedder::load((from / "embedder").string(), model);
            }
        }
        if (!embedder) {
            report("fitting the embedder", 0);
            embedder = Embedder::fit(texts, options.embedder, model,
                                     [&](double f) { report("fitting the embedder", f); },
                                     cancel);
            if (!embedder || cancelled()) {
                abandon();
                return 0;
            }
            d = embedder->dimensions();
            vectors.assign(size_t(n * d), 0.f);
            constexpr int64_t kBlock = 512;
            for (int64_t start = 0; start < n; start += kBlock) {
                if (cancelled()) {
                    abandon();
                    return 0;
                }
                const int64_t end = std::min(n, start + kBlock);
                embedder->embed(std::vector<std::string>(texts.begin() + start, texts.begin() + end),
                                vectors.data() + start * d);
                report("embedding chunks", double(end) / double(n));
            }
        }
        embedder->save((dir / "embedder").string());
        writeVectorFile((dir / "embeddings.f32").string(), vectors.data(), n, d);

        // 3. k-means, or UMAP to a few dimensions and HDBSCAN.
        KMeansResult clusters;
        std::vector<int32_t> hdbscanLabels; // (n), -1 for noise
        json hdbscanMetrics = json::object();
        if (useHdbscan) {
            std::vector<float> reduced;
            int64_t reducedDimensions = d;
            if (d > options.reduceDimensions && n >= 3) {
                LayoutOptions reduction = options.layout;
                reduction.method = "umap";
                reduction.dimensions = options.reduceDimensions;
                // umap-learn's advice for clustering: pack neighbours as tightly as it can.
                reduction.minDistance = 0.0;
                report("reducing dimensions", 0);
                reduced = computeLayout(vectors.data(), n, d, reduction,
                                        [&](double f) { report("reducing dimensions", f); },
                                        cancel);
                if (cancelled() || reduced.empty()) {
                    abandon();
                    return 0;
                }
                reducedDimensions = options.reduceDimensions;
            }
            report("HDBSCAN", 0);
            const HdbscanResult found =
                hdbscan(reduced.empty() ? vectors.data() : reduced.data(), n, reducedDimensions,
                        options.hdbscan, [&](double f) { report("HDBSCAN", f); }, cancel);
            if (cancelled() || found.labels.empty()) {
                abandon();
                return 0;
            }
            hdbscanLabels = found.labels;
            clusters = clustersFromLabels(vectors.data(), n, d, found.labels, found.clusters);
            hdbscanMetrics = {{"method", "hdbscan"},
                              {"clusters", found.clusters},
                              {"noise", found.noise},
                              {"noise_fraction", double(found.noise) / double(n)},
                              {"noise_assignment", "nearest cluster"},
                              {"reduced_dimensions", reducedDimensions}};
        } else {
            report("k-means", 0);
            clusters = kmeans(vectors.data(), n, d, options.kmeans,
                              [&](double f) { report("k-means", f); }, cancel);
            if (cancelled() || clusters.assignment.empty()) {
                abandon();
                return 0;
            }
        }
        const int k = int(clusters.sizes.size());
        clusterCount = k;
        writeVectorFile((dir / "centroids.f32").string(), clusters.centroids.data(), k, d);

        // 4. Keywords and samples.
        report("keywords", 0);
        const auto keywords = clusterKeywords(texts, clusters.assignment, k, options.keywords);
        std::vector<std::vector<std::pair<float, int64_t>>> nearest(static_cast<size_t>(k));
        for (int64_t i = 0; i < n; ++i)
            nearest[size_t(clusters.assignment[size_t(i)])].emplace_back(clusters.distances[size_t(i)], ids[size_t(i)]);
        for (auto& list : nearest) {
            const size_t keep = std::min(list.size(), size_t(options.samples));
            std::partial_sort(list.begin(), list.begin() + long(keep), list.end());
            list.resize(keep);
        }

        // 5. The 2-D layout for the map.
        report("layout", 0);
        const std::vector<float> layout =
            n >= 3 ? computeLayout(vectors.data(), n, d, options.layout,
                                   [&](double f) { report("layout", f); }, cancel)
                   : std::vector<float>(size_t(n * 2), 0.f);
        if (cancelled() || layout.size() != size_t(n * 2)) {
            abandon();
            return 0;
        }
        json metrics = {{"objective", clusters.objective},
                        {"empty_clusters", std::count(clusters.sizes.begin(), clusters.sizes.end(), 0)},
                        {"largest_cluster", *std::max_element(clusters.sizes.begin(), clusters.sizes.end())},
                        {"smallest_cluster", *std::min_element(clusters.sizes.begin(), clusters.sizes.end())}};
        metrics.update(hdbscanMetrics);
        if (n >= 30) {
            metrics["trustworthiness"] =
                trustworthiness(vectors.data(), layout.data(), n, d, 10, 1000, 1);
        }

        // 6. Store everything in one transaction.
        report("saving", 0);
        Transaction transaction(db);
        std::vector<double> sumX(size_t(k), 0), sumY(size_t(k), 0);
        Statement place = db.prepare("INSERT INTO chunk_clusters (run_id, chunk_id, cluster, "
                                     "distance, x, y, noise) VALUES (?, ?, ?, ?, ?, ?, ?)");
        for (int64_t i = 0; i < n; ++i) {
            const int32_t c = clusters.assignment[size_t(i)];
            sumX[size_t(c)] += layout[size_t(2 * i)];
            sumY[size_t(c)] += layout[size_t(2 * i + 1)];
            place.bind(1, runId)
                .bind(2, ids[size_t(i)])
                .bind(3, int64_t(c))
                .bind(4, double(std::sqrt(std::max(0.f, clusters.distances[size_t(i)]))))
                .bind(5, double(layout[size_t(2 * i)]))
                .bind(6, double(layout[size_t(2 * i + 1)]))
                .bind(7, int64_t(!hdbscanLabels.empty() && hdbscanLabels[size_t(i)] < 0));
            place.run();
            place.reset();
        }
        Statement cluster = db.prepare("INSERT INTO clusters (run_id, cluster, size, keywords, "
                                       "samples, x, y) VALUES (?, ?, ?, ?, ?, ?, ?)");
        for (int c = 0; c < k; ++c) {
            json words = json::array();
            for (const auto& [word, weight] : keywords[size_t(c)])
                words.push_back(word);
            json samples = json::array();
            for (const auto& [distance, id] : nearest[size_t(c)])
                samples.push_back(id);
            const double size = double(std::max<int64_t>(1, clusters.sizes[size_t(c)]));
            cluster.bind(1, runId)
                .bind(2, int64_t(c))
                .bind(3, clusters.sizes[size_t(c)])
                .bind(4, words.dump())
                .bind(5, samples.dump())
                .bind(6, sumX[size_t(c)] / size)
                .bind(7, sumY[size_t(c)] / size);
            cluster.run();
            cluster.reset();
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        db.prepare("UPDATE cluster_runs SET status = 'done', chunks = ?, dimensions = ?, "
                   "seconds = ?, metrics = ?, k = ? WHERE id = ?")
            .bind(1, n)
            .bind(2, d)
            .bind(3, seconds)
            .bind(4, metrics.dump())
            .bind(5, int64_t(k))
            .bind(6, runId)
            .run();
        if (options.activate) {
            db.exec("UPDATE cluster_runs SET active = 0");
            db.prepare("UPDATE cluster_runs SET active = 1 WHERE id = ?").bind(1, runId).run();
        }
        transaction.commit();
    } catch (...) {
        abandon();
        throw;
    }
    workspace.logActivity("clustered " + std::to_string(n) + " chunks into "
                          + std::to_string(clusterCount) + " groups (run " + std::to_string(runId) + ", "
                          + options.embedder.kind + (useHdbscan ? ", HDBSCAN" : "") + ")");
    report("done", 1);
    return runId;
}

std::vector<ClusterRunInfo> listClusterRuns(Workspace& workspace)
{
    Statement query = workspace.database().prepare(
        "SELECT id, created_at, embedder, k, balanced, active, COALESCE(chunks, 0), "
        "COALESCE(dimensions, 0), COALESCE(seconds, 0), COALESCE(metrics, '{}'), parameters "
        "FROM cluster_runs WHERE status = 'done' ORDER BY id");
    std::vector<ClusterRunInfo> runs;
    while (query.step()) {
        runs.push_back({query.columnInt64(0), query.columnText(1), query.columnText(2),
                        int(query.columnInt64(3)), query.columnInt64(4) != 0,
                        query.columnInt64(5) != 0, query.columnInt64(6),
                        int(query.columnInt64(7)), query.columnDouble(8), query.columnText(9),
                        query.columnText(10)});
    }
    return runs;
}

int64_t activeClusterRun(Workspace& workspace)
{
    return workspace.database()
        .queryInt64("SELECT id FROM cluster_runs WHERE active = 1 AND status = 'done'")
        .value_or(0);
}

void setActiveClusterRun(Workspace& workspace, int64_t runId)
{
    Database& db = workspace.database();
    Transaction transaction(db);
    if (!db.prepare("SELECT 1 FROM cluster_runs WHERE id = ? AND status = 'done'")
             .bind(1, runId)
             .step())
        throw Error("there is no finished clustering run " + std::to_string(runId));
    db.exec("UPDATE cluster_runs SET active = 0");
    db.prepare("UPDATE cluster_runs SET active = 1 WHERE id = ?").bind(1, runId).run();
    transaction.commit();
}

std::vector<ClusterInfo> listClusters(Workspace& workspace, int64_t runId)
{
    Statement query = workspace.database().prepare(
        "SELECT cluster, size, keywords, samples, x, y FROM clusters WHERE run_id = ? "
        "ORDER BY cluster");
    query.bind(1, runId);
    std::vector<ClusterInfo> clusters;
    while (query.step()) {
        ClusterInfo info;
        info.cluster = int(query.columnInt64(0));
        info.size = query.columnInt64(1);
        info.keywords = json::parse(query.columnText(2)).get<std::vector<std::string>>();
        info.sampleChunks = json::parse(query.columnText(3)).get<std::vector<int64_t>>();
        info.x = query.columnDouble(4);
        info.y = query.columnDouble(5);
        clusters.push_back(std::move(info));
    }
    return clusters;
}

std::vector<ChunkPlacement> listPlacements(Workspace& workspace, int64_t runId)
{
    Statement query = workspace.database().prepare(
        "SELECT chunk_id, cluster, distance, x, y, noise FROM chunk_clusters WHERE run_id = ? "
        "ORDER BY chunk_id");
    query.bind(1, runId);
    std::vector<ChunkPlacement> placements;
    while (query.step()) {
        placements.push_back({query.columnInt64(0), int(query.columnInt64(1)),
                              float(query.columnDouble(2)), float(query.columnDouble(3)),
                              float(query.columnDouble(4)), query.columnInt64(5) != 0});
    }
    return placements;
}

} // namespace moin
