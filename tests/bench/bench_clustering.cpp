// Clustering quality on the demo corpus, whose five files are five known domains: NMI and
// purity of the clusters against the domains, for each embedder, and the time each run takes.
//
//   build/bin/bench_clustering [--k 5] [--embedders tfidf,model] [--corpus DIR]
//
// Scale figures (1M x 256 into 5,000 clusters, k-means++ against random starts, route latency
// at 5,000 centroids) are bench_scale's.
#include "nmi.h"
#include "moin/clustering.h"
#include "moin/corpus.h"
#include "moin/workspace.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using moin::bench::nmi;

// Share of chunks whose cluster's majority domain is their own.
double purity(const std::vector<int>& clusters, const std::vector<int>& labels)
{
    std::map<int, std::map<int, int>> counts;
    for (size_t i = 0; i < clusters.size(); ++i)
        ++counts[clusters[i]][labels[i]];
    double majority = 0;
    for (const auto& [cluster, byLabel] : counts) {
        int best = 0;
        for (const auto& [label, c] : byLabel)
            best = std::max(best, c);
        majority += best;
    }
    return majority / double(clusters.size());
}

std::string argument(int argc, char** argv, const std::string& name, const std::string& fallback)
{
    for (int i = 1; i + 1 < argc; ++i) {
        if (argv[i] == name)
            return argv[i + 1];
    }
    return fallback;
}

} // namespace

int main(int argc, char** argv)
{
    const int k = std::stoi(argument(argc, argv, "--k", "5"));
    const std::string corpus = argument(argc, argv, "--corpus", MOIN_DEMO_CORPUS);
    std::vector<std::string> embedders;
    {
        std::string list = argument(argc, argv, "--embedders", "tfidf,model");
        size_t start = 0;
        while (start <= list.size()) {
            const size_t comma = list.find(',', start);
            embedders.push_back(list.substr(start, comma - start));
            if (comma == std::string::npos)
                break;
            start = comma + 1;
        }
    }
    try {
        const fs::path dir =
            fs::temp_directory_path() / ("bench-clustering-" + std::to_string(::getpid()));
        moin::Workspace workspace = moin::Workspace::create(dir.string());
        std::vector<std::string> files;
        for (const auto& entry : fs::directory_iterator(corpus)) {
            if (entry.path().extension() == ".jsonl")
                files.push_back(entry.path().string());
        }
        std::sort(files.begin(), files.end());
        const auto importStart = std::chrono::steady_clock::now();
        const auto report = moin::importCorpus(workspace, files, {});
        const double importSeconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - importStart).count();
        std::printf("demo corpus: %lld chunks of <= 256 tokens from %zu domains, imported in "
                    "%.1f s\n",
                    (long long)report.chunksAdded, files.size(), importSeconds);

        // Domain of every chunk: the file it came from.
        std::map<int64_t, int> domainOf;
        {
            moin::Statement query = workspace.database().prepare(
                "SELECT c.id, s.path FROM chunks c JOIN documents d ON d.id = c.document_id "
                "JOIN sources s ON s.id = d.source_id");
            std::map<std::string, int> ids;
            while (query.step()) {
                const std::string path = query.columnText(1);
                domainOf[query.columnInt64(0)] = ids.emplace(path, int(ids.size())).first->second;
            }
        }

        std::printf("\n%-8s %4s %8s %8s %10s\n", "embedder", "k", "NMI", "purity", "seconds");
        for (const std::string& kind : embedders) {
            moin::ClusterRunOptions options;
            options.kmeans.k = k;
            options.embedder.kind = kind;
            options.layout.method = "pca";
            const auto start = std::chrono::steady_clock::now();
            const int64_t run = moin::runClustering(workspace, options);
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::vector<int> clusters, labels;
            for (const auto& placement : moin::listPlacements(workspace, run)) {
                clusters.push_back(placement.cluster);
                labels.push_back(domainOf.at(placement.chunkId));
            }
            std::printf("%-8s %4d %8.3f %8.3f %10.1f\n", kind.c_str(), k, nmi(clusters, labels),
                        purity(clusters, labels), seconds);
        }
        fs::remove_all(dir);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_clustering: %s\n", e.what());
        return 1;
    }
    return 0;
}
