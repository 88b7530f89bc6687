// Clustering and routing at the paper's scale (issue 4): moin::kmeans on 1,000,000 vectors of
// 256 dimensions into 5,000 clusters (plain and balanced), and the latency of routing one query
// among 5,000 centroids through moin::Router, with and without the embedding.
//
//   build/bin/bench_scale                               # full scale: see README.md for time
//   build/bin/bench_scale --n 100000 --k 500            # a quick run
//
// The k-means data are synthetic but structured: `--blobs` Gaussian blobs around random unit
// centres, so that the result can be checked against the blob that generated each point (NMI,
// purity). The routing part builds a real workspace from a synthetic corpus of topic documents,
// clusters it with the tf-idf embedder and opens a Router on the run, as the application does.
// The table goes to stdout, progress to stderr, and the last stdout line is one JSON object.
#include "cpu_share.h"
#include "machine_limits.h"
#include "process_memory.h"

#include "moin/blaskernels.h"
#include "moin/clustering.h"
#include "moin/corpus.h"
#include "moin/database.h"
#include "moin/router.h"
#include "moin/tokenizer.h"
#include "moin/workspace.h"

#include <CLI/CLI.hpp>
#include <cblas.h>
#include <faiss/IndexFlat.h>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <torch/torch.h>

#include <dlfcn.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace moin::bench;

namespace {

const Clock::time_point kStart = Clock::now();

double since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format(const char* pattern, ...)
{
    char buffer[1024];
    va_list args;
    va_start(args, pattern);
    std::vsnprintf(buffer, sizeof buffer, pattern, args);
    va_end(args);
    return buffer;
}

void progress(const std::string& message)
{
    std::fprintf(stderr, "[%7.1f s] %s\n", since(kStart), message.c_str());
    std::fflush(stderr);
}

// User + system CPU seconds of this process (all threads).
double cpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto s = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
    return s(usage.ru_utime) + s(usage.ru_stime);
}

double mib(int64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

std::string openblasCore()
{
    if (auto core = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename")))
        return core();
    return "unknown";
}

void setOpenblasThreads(int threads)
{
    if (auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(threads);
}

std::string cpuName()
{
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0)
            return line.substr(line.find(':') + 2);
    }
    return "unknown CPU";
}

double loadAverage()
{
    std::ifstream in("/proc/loadavg");
    double oneMinute = -1;
    in >> oneMinute;
    return oneMinute;
}

// ---- synthetic blobs ----

struct Blobs {
    std::vector<float> points; // (n, d)
    std::vector<int32_t> label; // (n) generating blob
};

// Blob centres: random unit vectors. Points: a centre drawn uniformly plus N(0, noise^2) in every
// dimension. Generated in blocks of 4,096 rows, each from its own seed, on `threads` threads:
// the data do not depend on the thread count.
Blobs makeBlobs(int64_t n, int64_t d, int blobs, double noise, uint64_t seed, int threads)
{
    std::vector<float> centres(size_t(blobs * d));
    {
        std::mt19937_64 rng(seed);
        std::normal_distribution<double> normal;
        for (int b = 0; b < blobs; ++b) {
            double norm = 0;
            for (int64_t t = 0; t < d; ++t) {
                const double v = normal(rng);
                centres[size_t(b * d + t)] = float(v);
                norm += v * v;
            }
            const double scale = 1.0 / std::sqrt(norm);
            for (int64_t t = 0; t < d; ++t)
                centres[size_t(b * d + t)] = float(centres[size_t(b * d + t)] * scale);
        }
    }
    Blobs out;
    out.points.resize(size_t(n * d));
    out.label.resize(size_t(n));
    constexpr int64_t kBlock = 4096;
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int64_t block = t; block < blocks; block += threads) {
                std::mt19937_64 rng(seed * 1000003 + uint64_t(block) + 1);
                std::uniform_int_distribution<int> pick(0, blobs - 1);
                std::normal_distribution<float> normal(0.f, float(noise));
                for (int64_t i = block * kBlock; i < std::min(n, (block + 1) * kBlock); ++i) {
                    const int b = pick(rng);
                    out.label[size_t(i)] = b;
                    float* p = out.points.data() + i * d;
                    const float* c = centres.data() + int64_t(b) * d;
                    for (int64_t j = 0; j < d; ++j)
                        p[j] = c[j] + normal(rng);
                }
            }
        });
    }
    for (std::thread& thread : pool)
        thread.join();
    return out;
}

// Mean squared distance of each point to the mean of its generating blob: the objective of the
// true partition, the figure a k-means that recovered the blobs should reach.
double trueObjective(const float* x, int64_t n, int64_t d, const std::vector<int32_t>& label,
                     int blobs)
{
    std::vector<double> sums(size_t(blobs * d), 0.0);
    std::vector<int64_t> counts(size_t(blobs), 0);
    for (int64_t i = 0; i < n; ++i) {
        const int b = label[size_t(i)];
        ++counts[size_t(b)];
        for (int64_t t = 0; t < d; ++t)
            sums[size_t(b * d + t)] += x[i * d + t];
    }
    for (int b = 0; b < blobs; ++b) {
        for (int64_t t = 0; t < d; ++t)
            sums[size_t(b * d + t)] /= double(std::max<int64_t>(1, counts[size_t(b)]));
    }
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double* m = sums.data() + int64_t(label[size_t(i)]) * d;
        for (int64_t t = 0; t < d; ++t) {
            const double diff = x[i * d + t] - m[t];
            total += diff * diff;
        }
    }
    return total / double(n);
}

// ---- agreement of two labelings ----

struct Agreement {
    double nmi = 0;
    /// Share of points whose cluster's majority blob is their own blob.
    double purity = 0;
    /// Share of points in the cluster that holds most of their blob.
    double inversePurity = 0;
    /// Blobs whose points all went to one cluster that holds nothing else.
    int64_t exactBlobs = 0;
};

// Contingency table from sorted (cluster, blob) pair codes: O(n log n), no hash maps.
Agreement agreement(const std::vector<int32_t>& clusters, int k, const std::vector<int32_t>& blobs,
                    int nBlobs)
{
    const auto n = int64_t(clusters.size());
    std::vector<int64_t> codes(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        codes[size_t(i)] = int64_t(clusters[size_t(i)]) * nBlobs + blobs[size_t(i)];
    std::sort(codes.begin(), codes.end());
    std::vector<int64_t> clusterSize(size_t(k), 0), blobSize(size_t(nBlobs), 0);
    std::vector<int64_t> clusterBest(size_t(k), 0), blobBest(size_t(nBlobs), 0);
    std::vector<int> clusterCells(size_t(k), 0), blobCells(size_t(nBlobs), 0);
    struct Cell {
        int64_t cluster, blob, count;
    };
    std::vector<Cell> cells;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && codes[size_t(j)] == codes[size_t(i)])
            ++j;
        cells.push_back({codes[size_t(i)] / nBlobs, codes[size_t(i)] % nBlobs, j - i});
        i = j;
    }
    for (const Cell& c : cells) {
        clusterSize[size_t(c.cluster)] += c.count;
        blobSize[size_t(c.blob)] += c.count;
        clusterBest[size_t(c.cluster)] = std::max(clusterBest[size_t(c.cluster)], c.count);
        blobBest[size_t(c.blob)] = std::max(blobBest[size_t(c.blob)], c.count);
        ++clusterCells[size_t(c.cluster)];
        ++blobCells[size_t(c.blob)];
    }
    const double N = double(n);
    auto entropy = [&](const std::vector<int64_t>& sizes) {
        double h = 0;
        for (const int64_t s : sizes) {
            if (s > 0)
                h -= double(s) / N * std::log(double(s) / N);
        }
        return h;
    };
    double mi = 0;
    for (const Cell& c : cells) {
        mi += double(c.count) / N
              * std::log(double(c.count) * N
                         / (double(clusterSize[size_t(c.cluster)]) * double(blobSize[size_t(c.blob)])));
    }
    Agreement a;
    const double mean = (entropy(clusterSize) + entropy(blobSize)) / 2;
    a.nmi = mean > 0 ? mi / mean : 1.0;
    a.purity = double(std::accumulate(clusterBest.begin(), clusterBest.end(), int64_t(0))) / N;
    a.inversePurity = double(std::accumulate(blobBest.begin(), blobBest.end(), int64_t(0))) / N;
    for (const Cell& c : cells) {
        if (blobCells[size_t(c.blob)] == 1 && clusterCells[size_t(c.cluster)] == 1)
            ++a.exactBlobs;
    }
    return a;
}

// ---- k-means at scale ----

struct KMeansReport {
    std::string mode;
    int64_t n = 0, d = 0;
    int k = 0, iterations = 0;
    bool kmeansPlusPlus = false;
    double wallSeconds = 0, cpuSeconds = 0, othersCpu = -1;
    /// Until kmeans() reports 0.7: initial centroids and the FAISS Lloyd iterations.
    double trainSeconds = 0;
    /// Of which the k-means++ seeding (0 for random starts).
    double seedSeconds = 0;
    /// From 0.7 to the end: the final nearest-centroid assignment (one pass over all points),
    /// and in balanced mode the capacity-bounded rounds.
    double finishSeconds = 0;
    int64_t rssBefore = 0, peakRss = 0;
    double objective = 0;
    int64_t empty = 0, smallest = 0, largest = 0;
    Agreement quality;
    double trueObjective = 0;
    /// Counted FLOPs (2 n k d per assignment pass) per second over the Lloyd iterations.
    double iterationGflops = 0;
    double finalPassGflops = 0;
    /// Counted FLOPs of every assignment pass (iterations, final, and each balanced round's
    /// top-16 search) per CPU-second of this process.
    double cpuGflops = 0;
    int threads = 0;
};

KMeansReport runKMeans(const std::string& mode, const float* x, int64_t n, int64_t d,
                       const std::vector<int32_t>& labels, int blobs,
                       const moin::KMeansOptions& options, double trueObj)
{
    KMeansReport r;
    r.mode = mode;
    r.n = n;
    r.d = d;
    r.k = options.k;
    r.iterations = options.iterations;
    r.kmeansPlusPlus = options.kmeansPlusPlus;
    progress(format("k-means (%s): n=%lld d=%lld k=%d iterations=%d%s", mode.c_str(),
                    (long long)n, (long long)d, options.k, options.iterations,
                    options.balanced ? format(", balanced (bound %.2f x n/k, %d rounds)",
                                              options.maxClusterSizeFactor,
                                              options.balancedIterations).c_str()
                                     : ""));
    malloc_trim(0); // freed heap memory would otherwise hide part of the peak
    r.rssBefore = readMemory().rssBytes;
    resetPeakMemory();
    const CpuTimes shareStart = readCpuTimes();
    const double cpuStart = cpuSeconds();
    const auto start = Clock::now();
    Clock::time_point trained = start, seeded = start;
    const moin::KMeansResult result = moin::kmeans(x, n, d, options, [&](double f) {
        // kmeans() reports 0.07 (a tenth of 0.7) when its k-means++ seeding is done.
        if (options.kmeansPlusPlus && f >= 0.07 - 1e-9 && seeded == start) {
            seeded = Clock::now();
            progress(format("  k-means++ seeding took %.1f s", since(start)));
        }
        if (f >= 0.7 && trained == start) {
            trained = Clock::now();
            progress(format("  training (initialisation + %d iterations) took %.1f s",
                            options.iterations, since(start)));
        }
    });
    r.wallSeconds = since(start);
    r.cpuSeconds = cpuSeconds() - cpuStart;
    r.othersCpu = othersCpuShare(shareStart, readCpuTimes());
    r.peakRss = readMemory().peakBytes;
    r.trainSeconds = std::chrono::duration<double>(trained - start).count();
    r.seedSeconds = std::chrono::duration<double>(seeded - start).count();
    r.finishSeconds = r.wallSeconds - r.trainSeconds;
    r.objective = result.objective;
    r.empty = std::count(result.sizes.begin(), result.sizes.end(), 0);
    r.smallest = *std::min_element(result.sizes.begin(), result.sizes.end());
    r.largest = *std::max_element(result.sizes.begin(), result.sizes.end());
    const double passFlops = 2.0 * double(n) * double(options.k) * double(d);
    r.iterationGflops = passFlops * options.iterations / (r.trainSeconds - r.seedSeconds) / 1e9;
    r.cpuGflops = passFlops
                  * (options.iterations + 1 + (options.balanced ? options.balancedIterations : 0))
                  / r.cpuSeconds / 1e9;
    r.threads = omp_get_max_threads();
    if (!options.balanced)
        r.finalPassGflops = passFlops / r.finishSeconds / 1e9;
    progress(format("  done in %.1f s; objective %.4f; measuring agreement with the blobs",
                    r.wallSeconds, r.objective));
    r.quality = agreement(result.assignment, options.k, labels, blobs);
    r.trueObjective = trueObj;
    return r;
}

// ---- routing ----

// Pseudo-words: syllables of consonant + vowel, 2 to 4 of them, all distinct.
std::vector<std::string> makeWords(size_t count, std::mt19937_64& rng,
                                   std::unordered_set<std::string>& used)
{
    static const char* consonants = "bcdfghjklmnprstvwz";
    static const char* vowels = "aeiou";
    std::vector<std::string> out;
    while (out.size() < count) {
        const int syllables = 2 + int(rng() % 3);
        std::string word;
        for (int s = 0; s < syllables; ++s) {
            word += consonants[rng() % 18];
            word += vowels[rng() % 5];
        }
        if (used.insert(word).second)
            out.push_back(word);
    }
    return out;
}

struct SyntheticCorpus {
    std::vector<std::vector<std::string>> topicWords;
    std::vector<std::string> general;
    std::vector<std::string> documents;
    std::vector<int> documentTopic;
};

std::string sentence(const SyntheticCorpus& c, int topic, int topicCount, int generalCount,
                     std::mt19937_64& rng)
{
    std::vector<std::string> words;
    const auto& own = c.topicWords[size_t(topic)];
    for (int i = 0; i < topicCount; ++i)
        words.push_back(own[rng() % own.size()]);
    for (int i = 0; i < generalCount; ++i)
        words.push_back(c.general[rng() % c.general.size()]);
    std::shuffle(words.begin(), words.end(), rng);
    std::string text;
    for (const std::string& w : words)
        text += (text.empty() ? "" : " ") + w;
    return text;
}

// `documents` documents over `topics` topics (document i has topic i % topics). Each topic has 8
// words of its own; a document is 20 of them plus 10 of 3,000 words shared by all topics.
SyntheticCorpus makeCorpus(int documents, int topics, uint64_t seed)
{
    SyntheticCorpus c;
    std::mt19937_64 rng(seed);
    std::unordered_set<std::string> used;
    c.general = makeWords(3000, rng, used);
    for (int t = 0; t < topics; ++t)
        c.topicWords.push_back(makeWords(8, rng, used));
    for (int i = 0; i < documents; ++i) {
        c.documentTopic.push_back(i % topics);
        c.documents.push_back(sentence(c, i % topics, 20, 10, rng));
    }
    return c;
}

struct Latency {
    std::string name;
    int64_t queries = 0;
    double p50 = 0, p99 = 0, mean = 0, max = 0; // seconds
    double perSecond = 0;
};

Latency summarise(const std::string& name, std::vector<double> seconds)
{
    Latency l;
    l.name = name;
    l.queries = int64_t(seconds.size());
    std::sort(seconds.begin(), seconds.end());
    auto quantile = [&](double q) {
        return seconds[std::min(seconds.size() - 1, size_t(q * double(seconds.size())))];
    };
    l.p50 = quantile(0.50);
    l.p99 = quantile(0.99);
    l.max = seconds.back();
    l.mean = std::accumulate(seconds.begin(), seconds.end(), 0.0) / double(seconds.size());
    l.perSecond = 1.0 / l.mean;
    return l;
}

std::string duration(double seconds)
{
    if (seconds < 1e-3)
        return format("%.1f us", seconds * 1e6);
    if (seconds < 1.0)
        return format("%.2f ms", seconds * 1e3);
    return format("%.2f s", seconds);
}

struct RouteReport {
    int documents = 0, topics = 0, k = 0, dimensions = 0, candidates = 3;
    int64_t chunks = 0;
    double importSeconds = 0, clusterSeconds = 0, openSeconds = 0;
    std::string runMetrics;
    std::vector<Latency> latencies;
    double batchVectorsPerSecond = 0;
    double topicAgreement = -1;
    bool consistent = true;
    double chunkTokens = 0, queryTokens = 0;
    /// The search alone, one query, for comparison with (a): a BLAS matrix-vector product of
    /// the centroids (cblas_sgemv and torch::mv; the distances follow from it and the centroid
    /// norms), and FAISS IndexFlatL2::search on the run's centroids.
    Latency faissOnly, blasMv, blasGemv;
    // The model embedder (optional): its own smaller workspace.
    int modelDocuments = 0, modelTopics = 0, modelK = 0;
    int64_t modelChunks = 0;
    double modelClusterSeconds = -1, modelOpenSeconds = -1, modelChunkTokens = 0;
    int modelDimensions = 0;
    std::string modelNote;
};

struct RouteSettings {
    int documents = 10000;
    int topics = 5000;
    int k = 5000;
    int dimensions = 256;
    int queries = 10000;
    int modelQueries = 500;
    int modelDocuments = 1000;
    int modelTopics = 500;
    int modelK = 500;
    int candidates = 3;
    uint64_t seed = 7;
};

template <class F>
std::vector<double> timeEach(int64_t count, F&& body)
{
    std::vector<double> seconds(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        const auto start = Clock::now();
        body(i);
        seconds[size_t(i)] = since(start);
    }
    return seconds;
}

void printPhase(const std::string& phase, double)
{
    static std::string last;
    if (phase != last) {
        progress("  clustering: " + phase);
        last = phase;
    }
}

// A workspace of one chunk per synthetic document.
moin::Workspace makeWorkspace(const fs::path& dir, const SyntheticCorpus& corpus,
                              double* importSeconds, int64_t* chunks, double* meanTokens)
{
    const fs::path jsonl = dir.string() + ".jsonl";
    {
        std::ofstream out(jsonl);
        for (const std::string& text : corpus.documents)
            out << json{{"text", text}}.dump() << "\n";
    }
    moin::Workspace workspace = moin::Workspace::create(dir.string());
    const auto start = Clock::now();
    moin::ImportOptions import;
    import.chunkTokens = 512; // one chunk per document
    const moin::ImportReport imported = moin::importCorpus(workspace, {jsonl.string()}, import);
    *importSeconds = since(start);
    *chunks = imported.chunksAdded;
    *meanTokens = double(
        workspace.database().queryInt64("SELECT CAST(AVG(tokens) * 1000 AS INTEGER) FROM chunks")
            .value_or(0)) / 1000.0;
    progress(format("  imported %lld chunks (%.1f tokens each on average) in %.1f s",
                    (long long)*chunks, *meanTokens, *importSeconds));
    return workspace;
}

RouteReport runRouting(const RouteSettings& s)
{
    RouteReport r;
    r.documents = s.documents;
    r.topics = s.topics;
    r.k = s.k;
    r.candidates = s.candidates;
    const fs::path dir = fs::temp_directory_path() / ("bench-scale-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    struct Cleanup {
        fs::path dir;
        ~Cleanup()
        {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{dir};

    progress(format("routing: %d synthetic documents over %d topics", s.documents, s.topics));
    const SyntheticCorpus corpus = makeCorpus(s.documents, s.topics, s.seed);
    moin::Workspace workspace =
        makeWorkspace(dir / "ws", corpus, &r.importSeconds, &r.chunks, &r.chunkTokens);

    moin::ClusterRunOptions options;
    options.embedder.kind = "tfidf";
    options.embedder.dimensions = s.dimensions;
    options.kmeans.k = s.k;
    options.layout.method = "pca";
    auto start = Clock::now();
    const int64_t run = moin::runClustering(workspace, options, printPhase);
    r.clusterSeconds = since(start);
    for (const moin::ClusterRunInfo& info : moin::listClusterRuns(workspace)) {
        if (info.id == run)
            r.runMetrics = info.metrics;
    }
    start = Clock::now();
    const moin::Router router = moin::Router::open(workspace, run);
    r.openSeconds = since(start);
    r.dimensions = router.dimensions();
    progress(format("  run %lld: tf-idf %d dims, %d clusters, %.1f s; Router::open %.3f s",
                    (long long)run, r.dimensions, router.experts(), r.clusterSeconds,
                    r.openSeconds));

    // Majority topic of each cluster, to check where queries go.
    std::vector<int> clusterTopic(size_t(router.experts()), -1);
    {
        std::unordered_map<int64_t, int> chunkTopic;
        moin::Statement query = workspace.database().prepare(
            "SELECT c.id, d.line FROM chunks c JOIN documents d ON d.id = c.document_id");
        while (query.step()) {
            const int64_t line = query.columnInt64(1); // 1-based
            if (line >= 1 && line <= int64_t(corpus.documentTopic.size()))
                chunkTopic[query.columnInt64(0)] = corpus.documentTopic[size_t(line - 1)];
        }
        std::vector<std::unordered_map<int, int>> votes(clusterTopic.size());
        for (const moin::ChunkPlacement& p : moin::listPlacements(workspace, run)) {
            const auto it = chunkTopic.find(p.chunkId);
            if (it != chunkTopic.end())
                ++votes[size_t(p.cluster)][it->second];
        }
        for (size_t c = 0; c < votes.size(); ++c) {
            int best = 0;
            for (const auto& [topic, count] : votes[c]) {
                if (count > best || (count == best && topic < clusterTopic[c])) {
                    best = count;
                    clusterTopic[c] = topic;
                }
            }
        }
    }

    // Queries: 8 words of a topic and 4 shared words, new draws (not copies of documents).
    std::mt19937_64 rng(s.seed + 1);
    std::vector<std::string> queries;
    std::vector<int> queryTopic;
    for (int i = 0; i < s.queries; ++i) {
        const int topic = int(rng() % uint64_t(s.topics));
        queryTopic.push_back(topic);
        queries.push_back(sentence(corpus, topic, 8, 4, rng));
    }
    {
        const moin::Tokenizer tokenizer = moin::Tokenizer::load(workspace.tokenizerPath());
        double tokens = 0;
        const int sample = std::min(1000, s.queries);
        for (int i = 0; i < sample; ++i)
            tokens += double(tokenizer.encode(queries[size_t(i)]).size());
        r.queryTokens = tokens / sample;
    }
    const std::vector<float> vectors = router.embed(queries); // batch; not timed per query
    const int64_t d = router.dimensions();

    // Warm-up (page faults, FAISS/OpenMP thread start).
    for (int i = 0; i < std::min(100, s.queries); ++i)
        router.routeVectors(vectors.data() + i * d, 1, s.candidates);

    progress(format("  (a) routeVectors, %d queries one at a time", s.queries));
    std::vector<int> expertA(static_cast<size_t>(s.queries));
    r.latencies.push_back(summarise(
        format("(a) routeVectors, 1 query, top-%d (no embedding)", s.candidates),
        timeEach(s.queries, [&](int64_t i) {
            expertA[size_t(i)] = router.routeVectors(vectors.data() + i * d, 1, s.candidates)
                                     .front()
                                     .expert;
        })));

    progress(format("  (b) route(text), %d queries one at a time", s.queries));
    std::vector<int> expertB(static_cast<size_t>(s.queries));
    r.latencies.push_back(summarise(
        format("(b) route(text), 1 query, top-%d (tf-idf embedding + search)", s.candidates),
        timeEach(s.queries, [&](int64_t i) {
            expertB[size_t(i)] = router.route({queries[size_t(i)]}, s.candidates).front().expert;
        })));
    int64_t agree = 0;
    for (int i = 0; i < s.queries; ++i) {
        if (expertA[size_t(i)] != expertB[size_t(i)])
            r.consistent = false;
        if (clusterTopic[size_t(expertA[size_t(i)])] == queryTopic[size_t(i)])
            ++agree;
    }
    r.topicAgreement = double(agree) / double(s.queries);

    // Throughput reference: all queries in one call (FAISS's BLAS path).
    start = Clock::now();
    router.routeVectors(vectors.data(), s.queries, s.candidates);
    r.batchVectorsPerSecond = double(s.queries) / since(start);

    // The search alone, for comparison: a plain BLAS gemv of the centroids by the query (the
    // product a route cannot avoid; through cblas and through torch::mv), and FAISS's
    // IndexFlatL2::search, which main used before (with FAISS's default settings: fewer than 20
    // queries are searched without BLAS).
    {
        const moin::VectorFile centroids = moin::readRunCentroids(workspace, run);
        const int64_t rows = centroids.rows, cols = centroids.cols;
        const int count = std::min(s.queries, 2000);
        std::vector<float> y(static_cast<size_t>(rows));
        auto gemv = [&](int64_t i) {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, int(rows), int(cols), 1.f,
                        centroids.values.data(), int(cols), vectors.data() + i * d, 1, 0.f,
                        y.data(), 1);
        };
        for (int i = 0; i < 100; ++i)
            gemv(i);
        r.blasGemv = summarise("  plain BLAS gemv centroids x query (cblas_sgemv), 1 query",
                               timeEach(count, gemv));
        torch::InferenceMode inference;
        const torch::Tensor c =
            torch::from_blob(const_cast<float*>(centroids.values.data()), {rows, cols});
        torch::Tensor out = torch::empty({rows});
        auto mv = [&](int64_t i) {
            torch::mv_out(out, c,
                          torch::from_blob(const_cast<float*>(vectors.data() + i * d), {cols}));
        };
        for (int i = 0; i < 100; ++i)
            mv(i);
        r.blasMv = summarise("  BLAS gemv centroids x query (torch::mv), 1 query",
                             timeEach(count, mv));
        faiss::IndexFlatL2 index(cols);
        index.add(rows, centroids.values.data());
        std::vector<float> dist(static_cast<size_t>(s.candidates));
        std::vector<faiss::Index::idx_t> label(static_cast<size_t>(s.candidates));
        auto search = [&](int64_t i) {
            index.search(1, vectors.data() + i * d, s.candidates, dist.data(), label.data());
        };
        for (int i = 0; i < 100; ++i)
            search(i);
        r.faissOnly = summarise("  FAISS IndexFlatL2::search (default settings), 1 query",
                                timeEach(count, search));
    }

    if (s.modelQueries > 0) {
        r.modelDocuments = s.modelDocuments;
        r.modelTopics = s.modelTopics;
        r.modelK = s.modelK;
        progress(format("  (c) model embedder: a smaller workspace of %d documents over %d topics, "
                        "k=%d",
                        s.modelDocuments, s.modelTopics, s.modelK));
        const SyntheticCorpus small = makeCorpus(s.modelDocuments, s.modelTopics, s.seed + 2);
        double importSeconds = 0;
        moin::Workspace modelWorkspace = makeWorkspace(dir / "ws-model", small, &importSeconds,
                                                       &r.modelChunks, &r.modelChunkTokens);
        moin::ClusterRunOptions modelOptions;
        modelOptions.embedder.kind = "model";
        modelOptions.kmeans.k = s.modelK;
        modelOptions.layout.method = "pca";
        start = Clock::now();
        const int64_t modelRun = moin::runClustering(modelWorkspace, modelOptions, printPhase);
        r.modelClusterSeconds = since(start);
        start = Clock::now();
        const moin::Router modelRouter = moin::Router::open(modelWorkspace, modelRun);
        r.modelOpenSeconds = since(start);
        r.modelDimensions = modelRouter.dimensions();
        std::vector<std::string> modelQueries;
        for (int i = 0; i < s.modelQueries; ++i)
            modelQueries.push_back(sentence(small, int(rng() % uint64_t(s.modelTopics)), 8, 4, rng));
        for (int i = 0; i < std::min(10, s.modelQueries); ++i)
            modelRouter.route({modelQueries[size_t(i)]}, s.candidates);
        progress(format("  (c) route(text) with the model embedder, %d queries one at a time",
                        s.modelQueries));
        r.latencies.push_back(summarise(
            format("(c) route(text), 1 query, top-%d (model embedding + search; k=%d)",
                   s.candidates, s.modelK),
            timeEach(s.modelQueries, [&](int64_t i) {
                modelRouter.route({modelQueries[size_t(i)]}, s.candidates);
            })));
        r.modelNote = format("(c) ran on its own workspace: %lld chunks (%.1f tokens each) of %d "
                             "documents over %d topics, k=%d; embedding + clustering them with "
                             "the model took %.1f s (%d dims); Router::open %.2f s (loads the "
                             "base)",
                             (long long)r.modelChunks, r.modelChunkTokens, s.modelDocuments,
                             s.modelTopics, s.modelK, r.modelClusterSeconds, r.modelDimensions,
                             r.modelOpenSeconds);
    }
    return r;
}

json toJson(const KMeansReport& r)
{
    return {{"mode", r.mode},
            {"n", r.n},
            {"d", r.d},
            {"k", r.k},
            {"iterations", r.iterations},
            {"kmeansPlusPlus", r.kmeansPlusPlus},
            {"seedSeconds", r.seedSeconds},
            {"wallSeconds", r.wallSeconds},
            {"cpuSeconds", r.cpuSeconds},
            {"trainSeconds", r.trainSeconds},
            {"finishSeconds", r.finishSeconds},
            {"othersCpuShare", r.othersCpu},
            {"rssBeforeBytes", r.rssBefore},
            {"peakRssBytes", r.peakRss},
            {"beyondInputBytes", r.peakRss - r.rssBefore},
            {"objective", r.objective},
            {"trueObjective", r.trueObjective},
            {"emptyClusters", r.empty},
            {"smallestCluster", r.smallest},
            {"largestCluster", r.largest},
            {"nmi", r.quality.nmi},
            {"purity", r.quality.purity},
            {"inversePurity", r.quality.inversePurity},
            {"exactBlobs", r.quality.exactBlobs},
            {"iterationGflops", r.iterationGflops},
            {"finalPassGflops", r.finalPassGflops},
            {"gflopsPerCpuSecond", r.cpuGflops}};
}

void printKMeans(const KMeansReport& r, double ceiling, int blobs)
{
    std::printf("\nk-means %s: n=%lld d=%lld k=%d, %d iterations, init %s\n", r.mode.c_str(),
                (long long)r.n, (long long)r.d, r.k, r.iterations,
                r.kmeansPlusPlus ? "k-means++ (moin, multithreaded, on min(n, max(32k, 4096)) points)"
                                 : "k random points (FAISS's start; for comparison)");
    std::printf("  %-40s %12.1f s\n", "wall time", r.wallSeconds);
    std::printf("  %-40s %12.1f s  (%.2f cores busy on average)\n", "CPU time (user+sys)",
                r.cpuSeconds, r.cpuSeconds / r.wallSeconds);
    std::printf("  %-40s %12.1f s  (%.1f s per iteration after the seeding)\n",
                "  training (init + iterations)", r.trainSeconds,
                (r.trainSeconds - r.seedSeconds) / r.iterations);
    if (r.kmeansPlusPlus)
        std::printf("  %-40s %12.1f s\n", "    of which k-means++ seeding", r.seedSeconds);
    std::printf("  %-40s %12.1f s\n",
                r.mode == "balanced" ? "  final assignment + balanced rounds"
                                     : "  final assignment (one pass)",
                r.finishSeconds);
    std::printf("  %-40s %12.0f%%\n", "other processes' share of the CPUs", 100 * r.othersCpu);
    std::printf("  %-40s %12.1f MiB\n", "RSS before (input resident)", mib(r.rssBefore));
    std::printf("  %-40s %12.1f MiB\n", "peak RSS during k-means", mib(r.peakRss));
    std::printf("  %-40s %12.1f MiB\n", "memory beyond the input (peak - before)",
                mib(r.peakRss - r.rssBefore));
    std::printf("  %-40s %12.1f GFLOP/s  (%.0f%% of the matmul ceiling)\n",
                "iterations: 2nkd per iteration / time", r.iterationGflops,
                100 * r.iterationGflops / ceiling);
    if (r.finalPassGflops > 0)
        std::printf("  %-40s %12.1f GFLOP/s  (%.0f%% of the matmul ceiling)\n",
                    "final assignment pass: 2nkd / time", r.finalPassGflops,
                    100 * r.finalPassGflops / ceiling);
    // Robust to other processes: counted work per CPU-second of this process (all its threads,
    // spinning included), times the thread count = the rate on that many free cores.
    std::printf("  %-40s %12.1f GFLOP/s  (x %d threads = %.1f; %.0f%% of the ceiling)\n",
                r.mode == "balanced" ? "all passes (a round = 1) / CPU time"
                                     : "all passes: 2nkd x passes / CPU time",
                r.cpuGflops, r.threads,
                r.cpuGflops * r.threads, 100 * r.cpuGflops * r.threads / ceiling);
    std::printf("  %-40s %12.4f  (true blob partition: %.4f)\n", "objective (mean sq. distance)",
                r.objective, r.trueObjective);
    std::printf("  %-40s %12lld\n", "empty clusters", (long long)r.empty);
    std::printf("  %-40s %5lld / %lld  (mean %.1f)\n", "cluster size min / max",
                (long long)r.smallest, (long long)r.largest, double(r.n) / r.k);
    std::printf("  %-40s %12.4f\n", "NMI vs generating blobs", r.quality.nmi);
    std::printf("  %-40s %12.4f\n", "purity (cluster's majority blob)", r.quality.purity);
    std::printf("  %-40s %12.4f\n", "inverse purity (blob's main cluster)",
                r.quality.inversePurity);
    std::printf("  %-40s %5lld / %d\n", "blobs recovered exactly", (long long)r.quality.exactBlobs,
                blobs);
}

} // namespace

int main(int argc, char** argv)
{
    // As `moin` does: OpenBLAS's fast kernels when it would fall back to Prescott's.
    moin::ensureFastBlasKernels(argv);
    CLI::App app{"k-means at the paper's scale and route latency at 5,000 experts (issue 4)."};
    int64_t n = 1000000;
    int64_t d = 256;
    int k = 5000;
    int iterations = 10;
    int blobs = 0;
    double noise = 0.05;
    uint64_t seed = 1234;
    int threads = 2;
    int64_t balancedN = 200000;
    int balancedK = 1000;
    bool skipKMeans = false, skipRoute = false, skipRandom = false;
    int64_t arrayMiB = 512;
    RouteSettings route;
    app.add_option("--n", n, "vectors to cluster")->check(CLI::Range(int64_t(2), int64_t(1) << 40))
        ->capture_default_str();
    app.add_option("--d", d, "dimensions")->check(CLI::Range(1, 65536))->capture_default_str();
    app.add_option("--k", k, "clusters")->check(CLI::Range(2, 1000000))->capture_default_str();
    app.add_option("--iterations", iterations, "Lloyd iterations")->check(CLI::Range(1, 1000))
        ->capture_default_str();
    app.add_option("--blobs", blobs, "generating blobs (default: k)")->check(CLI::Range(0, 10000000));
    app.add_option("--noise", noise, "per-dimension standard deviation around the unit centres")
        ->capture_default_str();
    app.add_option("--seed", seed, "data seed (k-means keeps its default seed)")
        ->capture_default_str();
    app.add_option("--threads", threads, "OpenMP, OpenBLAS and torch threads")
        ->check(CLI::Range(1, 256))->capture_default_str();
    app.add_option("--balanced-n", balancedN,
                   "points of the balanced run (0 skips it; capped at n); below n it gets its "
                   "own data, blobs scaled as k, and a plain run at its scale for comparison")
        ->capture_default_str();
    app.add_option("--balanced-k", balancedK,
                   "clusters of the balanced run (0: k scaled with balanced-n / n)")
        ->capture_default_str();
    app.add_flag("--skip-kmeans", skipKMeans, "only the routing part");
    app.add_flag("--skip-route", skipRoute, "only the k-means part");
    app.add_flag("--skip-random", skipRandom,
                 "no second plain run from random starts (the comparison with k-means++)");
    app.add_option("--route-docs", route.documents, "documents of the routing workspace")
        ->capture_default_str();
    app.add_option("--route-topics", route.topics, "topics of those documents")
        ->capture_default_str();
    app.add_option("--route-k", route.k, "clusters (experts) of the routing workspace")
        ->capture_default_str();
    app.add_option("--route-dims", route.dimensions, "tf-idf dimensions")->capture_default_str();
    app.add_option("--queries", route.queries, "queries routed one at a time")
        ->check(CLI::Range(1, 100000000))->capture_default_str();
    app.add_option("--model-queries", route.modelQueries,
                   "queries routed with the model embedder (0 skips its run)")
        ->capture_default_str();
    app.add_option("--model-docs", route.modelDocuments,
                   "documents of the model embedder's own (smaller) workspace")
        ->capture_default_str();
    app.add_option("--model-topics", route.modelTopics, "topics of those documents")
        ->capture_default_str();
    app.add_option("--model-k", route.modelK, "clusters of the model embedder's run")
        ->capture_default_str();
    app.add_option("--array-mib", arrayMiB, "size of each bandwidth array of the machine limits")
        ->check(CLI::Range(16, 65536))->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (blobs <= 0)
        blobs = k;
    balancedN = std::min(balancedN, n);
    if (balancedK <= 0)
        balancedK = std::max<int>(2, int(double(k) * double(balancedN) / double(n)));
    balancedK = std::min<int64_t>(balancedK, std::max<int64_t>(balancedN, 2));

    try {
        omp_set_num_threads(threads);
        setOpenblasThreads(threads);
        torch::set_num_threads(threads);
        const CpuTimes runStart = readCpuTimes();
        json out = {{"cpu", cpuName()},
                    {"threads", threads},
                    {"ompThreads", omp_get_max_threads()},
                    {"openblasCore", openblasCore()},
                    {"openblasCoretype", std::getenv("OPENBLAS_CORETYPE")
                                             ? json(std::getenv("OPENBLAS_CORETYPE"))
                                             : json(nullptr)},
                    {"nice", ::nice(0)},
                    {"loadAverageStart", loadAverage()}};
        std::printf("bench_scale: %s, %d threads (OpenMP %d), OpenBLAS core %s%s, nice %d, load "
                    "average %.2f\n",
                    out["cpu"].get<std::string>().c_str(), threads, omp_get_max_threads(),
                    out["openblasCore"].get<std::string>().c_str(),
                    out["openblasCoretype"].is_null()
                        ? " (OPENBLAS_CORETYPE not set)"
                        : (" (OPENBLAS_CORETYPE=" + out["openblasCoretype"].get<std::string>() + ")")
                              .c_str(),
                    ::nice(0), loadAverage());
        std::printf("command line:");
        for (int i = 0; i < argc; ++i)
            std::printf(" %s", argv[i]);
        std::printf("\n");

        // Machine reference: the matmul ceiling, and what FAISS's own assignment pass reaches.
        progress("measuring the machine's limits (bandwidth, matmul)");
        LimitOptions limitOptions;
        limitOptions.threads = threads;
        limitOptions.arrayMiB = arrayMiB;
        const MachineLimits limits = measureMachineLimits(limitOptions);
        json machine = {{"matmulCeilingGflops", limits.matmulCeiling},
                        {"bandwidthCeilingGBs", limits.bandwidthCeiling}};
        std::printf("\nMachine reference (same run; best of several repetitions)\n");
        for (const KernelResult& kernel : limits.matmul) {
            std::printf("  %-58s %8.1f GFLOP/s\n", kernel.name.c_str(), kernel.rate());
            machine["kernels"][kernel.name] = kernel.rate();
        }
        // FAISS's IndexFlatL2 multiplies blocks of 4,096 queries by 1,024 centroids.
        {
            torch::InferenceMode inference;
            const torch::Tensor a = torch::randn({4096, d});
            const torch::Tensor b = torch::randn({d, 1024});
            torch::Tensor c = torch::empty({4096, 1024});
            torch::mm_out(c, a, b);
            double best = 1e30;
            for (int r = 0; r < 10; ++r) {
                const auto start = Clock::now();
                torch::mm_out(c, a, b);
                best = std::min(best, since(start));
            }
            const double rate = 2.0 * 4096 * 1024 * double(d) / best / 1e9;
            const std::string name = format("matmul 4096x%lldx1024 fp32 (FAISS's block shape)",
                                            (long long)d);
            std::printf("  %-58s %8.1f GFLOP/s\n", name.c_str(), rate);
            machine["faissBlockSgemmGflops"] = rate;
        }
        std::printf("  %-58s %8.1f GFLOP/s\n", "matmul ceiling (highest square matmul)",
                    limits.matmulCeiling);
        std::printf("  %-58s %8.1f GB/s\n", "bandwidth ceiling", limits.bandwidthCeiling);
        out["machine"] = machine;

        if (!skipKMeans) {
            // One data set per scale: blobs scale with k, so that each run can be checked.
            struct DataSet {
                Blobs blobs;
                int blobCount = 0;
                double trueObjective = 0;
                double generateSeconds = 0;
            };
            auto makeData = [&](int64_t count, int blobCount, uint64_t dataSeed) {
                progress(format("generating %lld x %lld points in %d blobs (noise %.3f)",
                                (long long)count, (long long)d, blobCount, noise));
                DataSet set;
                set.blobCount = blobCount;
                const int64_t rssEmpty = readMemory().rssBytes;
                const auto start = Clock::now();
                set.blobs = makeBlobs(count, d, blobCount, noise, dataSeed, threads);
                set.generateSeconds = since(start);
                progress(format("  %.1f s; input %.1f MiB (RSS %.1f -> %.1f MiB); objective of "
                                "the true blob partition",
                                set.generateSeconds, mib(count * d * int64_t(sizeof(float))),
                                mib(rssEmpty), mib(readMemory().rssBytes)));
                set.trueObjective =
                    trueObjective(set.blobs.points.data(), count, d, set.blobs.label, blobCount);
                return set;
            };
            moin::KMeansOptions options;
            options.k = k;
            options.iterations = iterations;
            {
                const DataSet data = makeData(n, blobs, seed);
                // FAISS's assignment pass alone, on a slice, for its GFLOP/s.
                {
                    const int64_t slice = std::min<int64_t>(n, 65536);
                    faiss::IndexFlatL2 index(d);
                    index.add(k, data.blobs.points.data());
                    std::vector<float> dist(static_cast<size_t>(slice));
                    std::vector<faiss::Index::idx_t> label(static_cast<size_t>(slice));
                    index.search(4096, data.blobs.points.data(), 1, dist.data(), label.data());
                    const auto start = Clock::now();
                    index.search(slice, data.blobs.points.data(), 1, dist.data(), label.data());
                    const double passGflops = 2.0 * double(slice) * k * double(d) / since(start) / 1e9;
                    std::printf("  %-58s %8.1f GFLOP/s\n",
                                format("FAISS IndexFlatL2 nearest of %lld points among %d",
                                       (long long)slice, k)
                                    .c_str(),
                                passGflops);
                    out["machine"]["faissAssignmentPassGflops"] = passGflops;
                }
                const int64_t inputBytes = n * d * int64_t(sizeof(float));
                std::printf("\nData: %lld x %lld fp32 (%.1f MiB), %d blobs around random unit "
                            "centres, noise sd %.3f per dimension (noise norm ~%.2f), seed %llu; "
                            "generated in %.1f s\n",
                            (long long)n, (long long)d, mib(inputBytes), blobs, noise,
                            noise * std::sqrt(double(d)), (unsigned long long)seed,
                            data.generateSeconds);
                std::printf("FAISS training set: every point (moin sets max_points_per_centroid = "
                            "max(256, n/k+1) = %lld, so k x that = %lld >= n: no subsampling)\n",
                            (long long)std::max<int64_t>(256, n / k + 1),
                            (long long)(k * std::max<int64_t>(256, n / k + 1)));
                out["data"] = {{"n", n}, {"d", d}, {"blobs", blobs}, {"noise", noise},
                               {"seed", seed}, {"generateSeconds", data.generateSeconds},
                               {"inputBytes", inputBytes},
                               {"faissMaxPointsPerCentroid", std::max<int64_t>(256, n / k + 1)},
                               {"subsampled", false}};
                const KMeansReport plain = runKMeans("plain", data.blobs.points.data(), n, d,
                                                     data.blobs.label, blobs, options,
                                                     data.trueObjective);
                printKMeans(plain, limits.matmulCeiling, blobs);
                std::fflush(stdout);
                out["kmeans"] = toJson(plain);
                if (!skipRandom) {
                    moin::KMeansOptions random = options;
                    random.kmeansPlusPlus = false;
                    const KMeansReport r = runKMeans("plain, random start", data.blobs.points.data(),
                                                     n, d, data.blobs.label, blobs, random,
                                                     data.trueObjective);
                    printKMeans(r, limits.matmulCeiling, blobs);
                    std::printf("\nblobs recovered exactly: k-means++ %lld / %d, random start %lld "
                                "/ %d; objective %.4f vs %.4f (true partition %.4f)\n",
                                (long long)plain.quality.exactBlobs, blobs,
                                (long long)r.quality.exactBlobs, blobs, plain.objective,
                                r.objective, data.trueObjective);
                    std::fflush(stdout);
                    out["kmeansRandomStart"] = toJson(r);
                }
            }

            if (balancedN > 0) {
                const int64_t bn = balancedN;
                const bool sameScale = bn == n && balancedK == k;
                const int bBlobs = sameScale ? blobs
                                             : std::max(2, int(double(blobs) * balancedK / k));
                const DataSet data = makeData(bn, bBlobs, sameScale ? seed : seed + 1);
                if (!sameScale) {
                    std::printf("\nBalanced mode at a smaller scale: %lld x %lld points in %d "
                                "blobs (same noise); plain first, for comparison\n",
                                (long long)bn, (long long)d, bBlobs);
                    moin::KMeansOptions reference = options;
                    reference.k = balancedK;
                    const KMeansReport p =
                        runKMeans("plain (balanced run's scale)", data.blobs.points.data(), bn, d,
                                  data.blobs.label, bBlobs, reference, data.trueObjective);
                    printKMeans(p, limits.matmulCeiling, bBlobs);
                    std::fflush(stdout);
                    out["kmeansPlainSmall"] = toJson(p);
                    out["kmeansPlainSmall"]["blobs"] = bBlobs;
                }
                moin::KMeansOptions balanced = options;
                balanced.k = balancedK;
                balanced.balanced = true;
                const KMeansReport b = runKMeans("balanced", data.blobs.points.data(), bn, d,
                                                 data.blobs.label, bBlobs, balanced,
                                                 data.trueObjective);
                printKMeans(b, limits.matmulCeiling, bBlobs);
                const auto capacity =
                    int64_t(std::ceil(balanced.maxClusterSizeFactor * double(bn) / balancedK));
                std::printf("  %-40s %12lld  (largest %s it)\n", "size bound (1.5 x n/k)",
                            (long long)capacity, b.largest <= capacity ? "within" : "EXCEEDS");
                std::fflush(stdout);
                out["kmeansBalanced"] = toJson(b);
                out["kmeansBalanced"]["sizeBound"] = capacity;
                out["kmeansBalanced"]["blobs"] = bBlobs;
            }
        }

        if (!skipRoute) {
            const RouteReport r = runRouting(route);
            std::printf("\nRouting: workspace of %lld chunks (%d synthetic documents, %d topics), "
                        "tf-idf %d dims, k=%d experts, top-%d candidates\n",
                        (long long)r.chunks, r.documents, r.topics, r.dimensions, r.k,
                        r.candidates);
            std::printf("  import %.1f s, runClustering (tf-idf, k-means, pca layout) %.1f s, "
                        "Router::open %.3f s\n",
                        r.importSeconds, r.clusterSeconds, r.openSeconds);
            std::printf("  run metrics: %s\n", r.runMetrics.c_str());
            std::printf("  %-64s %10s %10s %10s %10s %10s\n", "one query at a time", "p50", "p99",
                        "mean", "max", "queries/s");
            json latencies = json::array();
            for (const Latency& l : r.latencies) {
                std::printf("  %-64s %10s %10s %10s %10s %10.0f\n", l.name.c_str(),
                            duration(l.p50).c_str(), duration(l.p99).c_str(),
                            duration(l.mean).c_str(), duration(l.max).c_str(), l.perSecond);
                latencies.push_back({{"name", l.name},
                                     {"queries", l.queries},
                                     {"p50Us", l.p50 * 1e6},
                                     {"p99Us", l.p99 * 1e6},
                                     {"meanUs", l.mean * 1e6},
                                     {"maxUs", l.max * 1e6},
                                     {"queriesPerSecond", l.perSecond}});
            }
            for (const Latency& l : {r.blasGemv, r.blasMv, r.faissOnly}) {
                std::printf("  %-64s %10s %10s %10s %10s %10.0f\n", l.name.c_str(),
                            duration(l.p50).c_str(), duration(l.p99).c_str(),
                            duration(l.mean).c_str(), duration(l.max).c_str(), l.perSecond);
            }
            std::printf("  %-64s %10.0f\n", "batch: all query vectors in one routeVectors call, q/s",
                        r.batchVectorsPerSecond);
            const Latency& a = r.latencies.at(0);
            const Latency& b = r.latencies.at(1);
            std::printf("  (a) p99 %s = %.2f x the plain gemv's p99 (%s); target <= 100 us: %s\n",
                        duration(a.p99).c_str(), a.p99 / r.blasGemv.p99,
                        duration(r.blasGemv.p99).c_str(), a.p99 <= 100e-6 ? "met" : "MISSED");
            std::printf("  (b) p99 %s = %.2f x the plain gemv's p99; target <= 300 us: %s\n",
                        duration(b.p99).c_str(), b.p99 / r.blasGemv.p99,
                        b.p99 <= 300e-6 ? "met" : "MISSED");
            std::printf("  chunks: %.1f tokens on average; queries: %.1f tokens on average (12 "
                        "words)\n",
                        r.chunkTokens, r.queryTokens);
            std::printf("  (a) and (b) chose the same expert for every query: %s\n",
                        r.consistent ? "yes" : "NO");
            std::printf("  queries routed to a cluster whose majority topic is theirs: %.1f%%\n",
                        100 * r.topicAgreement);
            if (!r.modelNote.empty())
                std::printf("  %s\n", r.modelNote.c_str());
            else
                std::printf("  (c) model embedder: skipped (--model-queries 0)\n");
            out["route"] = {{"documents", r.documents},
                            {"topics", r.topics},
                            {"chunks", r.chunks},
                            {"k", r.k},
                            {"dimensions", r.dimensions},
                            {"candidates", r.candidates},
                            {"importSeconds", r.importSeconds},
                            {"clusterSeconds", r.clusterSeconds},
                            {"openSeconds", r.openSeconds},
                            {"runMetrics", json::parse(r.runMetrics.empty() ? "{}" : r.runMetrics)},
                            {"latencies", latencies},
                            {"batchQueriesPerSecond", r.batchVectorsPerSecond},
                            {"consistent", r.consistent},
                            {"topicAgreement", r.topicAgreement},
                            {"searchOnlyFaissUs", {{"p50", r.faissOnly.p50 * 1e6},
                                                   {"p99", r.faissOnly.p99 * 1e6},
                                                   {"mean", r.faissOnly.mean * 1e6}}},
                            {"searchOnlyBlasMvUs", {{"p50", r.blasMv.p50 * 1e6},
                                                    {"p99", r.blasMv.p99 * 1e6},
                                                    {"mean", r.blasMv.mean * 1e6}}},
                            {"searchOnlyCblasGemvUs", {{"p50", r.blasGemv.p50 * 1e6},
                                                       {"p99", r.blasGemv.p99 * 1e6},
                                                       {"mean", r.blasGemv.mean * 1e6}}},
                            {"chunkTokens", r.chunkTokens},
                            {"queryTokens", r.queryTokens},
                            {"modelDocuments", r.modelDocuments},
                            {"modelK", r.modelK},
                            {"modelChunks", r.modelChunks},
                            {"modelClusterSeconds", r.modelClusterSeconds},
                            {"modelOpenSeconds", r.modelOpenSeconds},
                            {"modelDimensions", r.modelDimensions}};
        }

        out["othersCpuShare"] = othersCpuShare(runStart, readCpuTimes());
        out["loadAverageEnd"] = loadAverage();
        // Peaks are reset per k-means phase: this is the routing part's peak (or the last
        // k-means phase's when routing was skipped); each phase reports its own above.
        out["lastPhasePeakRssBytes"] = readMemory().peakBytes;
        out["totalSeconds"] = since(kStart);
        std::printf("\nTotal %.1f s; other processes took %.0f%% of the CPUs during the run (load "
                    "average %.2f at the end)\n",
                    since(kStart), 100 * out["othersCpuShare"].get<double>(), loadAverage());
        std::printf("%s\n", out.dump().c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_scale: %s\n", e.what());
        return 1;
    }
}
