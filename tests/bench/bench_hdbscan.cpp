// The MoIN-500 recipe (UMAP to a few dimensions, then HDBSCAN) against k-means, on synthetic
// chunk embeddings or on a workspace's stored runs. Not a test; run by hand:
//   bench_hdbscan [--n 100000] [--dim 128] [--groups 50] [--reduce 8]
//                 [--min-cluster-size 50] [--min-samples 0] [--threads 0]
//       times each phase and the peak memory, with FAISS k-means (k = groups) on the same
//       embeddings as the figure measured beside it; NMI of both against the generating groups.
//   bench_hdbscan --workspace DIR --runs A,B,...
//       NMI of each stored run's clusters against the chunks' source files (the demo corpus's
//       five domains); for an HDBSCAN run also over the chunks it did not call noise.
#include "nmi.h"
#include "moin/clustering.h"
#include "moin/database.h"
#include "moin/hdbscan.h"
#include "moin/layout.h"
#include "moin/workspace.h"
#include "process_memory.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Args {
    int64_t n = 100000;
    int64_t dim = 128;
    int groups = 50;
    int reduce = 8;
    int minClusterSize = 50;
    int minSamples = 0;
    int threads = 0;
    std::string workspace;
    std::string runs;
};

Args parse(int argc, char** argv)
{
    Args args;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const char* value = argv[i + 1];
        if (key == "--n")
            args.n = std::atoll(value);
        else if (key == "--dim")
            args.dim = std::atoll(value);
        else if (key == "--groups")
            args.groups = std::atoi(value);
        else if (key == "--reduce")
            args.reduce = std::atoi(value);
        else if (key == "--min-cluster-size")
            args.minClusterSize = std::atoi(value);
        else if (key == "--min-samples")
            args.minSamples = std::atoi(value);
        else if (key == "--threads")
            args.threads = std::atoi(value);
        else if (key == "--workspace")
            args.workspace = value;
        else if (key == "--runs")
            args.runs = value;
        else {
            std::fprintf(stderr, "unknown option %s\n", key.c_str());
            std::exit(2);
        }
    }
    return args;
}

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string loadAverage()
{
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

double gib(int64_t bytes)
{
    return double(bytes) / double(1 << 30);
}

using moin::bench::nmi;

int synthetic(const Args& args)
{
    // Groups of different sizes (sizes ~ 1/rank) and spreads around random unit-scale centres,
    // like chunk embeddings of topics of unequal weight.
    std::mt19937_64 rng(7);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<double> weight(size_t(args.groups));
    double total = 0;
    for (int g = 0; g < args.groups; ++g)
        total += weight[size_t(g)] = 1.0 / (1.0 + 0.1 * g);
    std::vector<float> centres(size_t(args.groups * args.dim));
    for (float& c : centres)
        c = normal(rng);
    std::vector<float> points(size_t(args.n * args.dim));
    std::vector<int> truth(size_t(args.n));
    std::discrete_distribution<int> pick(weight.begin(), weight.end());
    for (int64_t i = 0; i < args.n; ++i) {
        const int g = pick(rng);
        truth[size_t(i)] = g;
        const float spread = 0.15f + 0.1f * float(g % 4);
        for (int64_t c = 0; c < args.dim; ++c)
            points[size_t(i * args.dim + c)]
                = centres[size_t(g * args.dim + c)] + spread * normal(rng);
    }
    std::printf("bench_hdbscan: %lld points x %lld dims in %d groups; load %s\n", (long long)args.n,
        (long long)args.dim, args.groups, loadAverage().c_str());
    moin::bench::resetPeakMemory();
    const int64_t baseline = moin::bench::readMemory().rssBytes;

    moin::LayoutOptions reduction;
    reduction.dimensions = args.reduce;
    reduction.minDistance = 0.0;
    reduction.threads = args.threads;
    auto start = std::chrono::steady_clock::now();
    const std::vector<float> reduced
        = moin::computeLayout(points.data(), args.n, args.dim, reduction);
    const double reduceSeconds = secondsSince(start);
    const int64_t reducePeak = moin::bench::readMemory().peakBytes;

    moin::bench::resetPeakMemory();
    moin::HdbscanOptions options;
    options.minClusterSize = args.minClusterSize;
    options.minSamples = args.minSamples;
    options.threads = args.threads;
    double coreSeconds = 0;
    start = std::chrono::steady_clock::now();
    const moin::HdbscanResult found
        = moin::hdbscan(reduced.data(), args.n, args.reduce, options, [&](double f) {
              // The first quarter of the progress is the neighbour search for core distances.
              if (coreSeconds == 0 && f >= 0.25)
                  coreSeconds = secondsSince(start);
          });
    const double hdbscanSeconds = secondsSince(start);
    const int64_t hdbscanPeak = moin::bench::readMemory().peakBytes;

    start = std::chrono::steady_clock::now();
    moin::KMeansOptions kmeansOptions;
    kmeansOptions.k = args.groups;
    const moin::KMeansResult kmeans = moin::kmeans(points.data(), args.n, args.dim, kmeansOptions);
    const double kmeansSeconds = secondsSince(start);

    std::vector<int> labels(found.labels.begin(), found.labels.end());
    std::vector<int> kmeansLabels(kmeans.assignment.begin(), kmeans.assignment.end());
    std::vector<int> keptTruth, keptLabels;
    for (int64_t i = 0; i < args.n; ++i) {
        if (labels[size_t(i)] >= 0) {
            keptTruth.push_back(truth[size_t(i)]);
            keptLabels.push_back(labels[size_t(i)]);
        }
    }
    std::printf("input %.2f GiB resident before the recipe\n", gib(baseline));
    std::printf("UMAP to %d dims: %.1f s, peak resident %.2f GiB\n", args.reduce, reduceSeconds,
        gib(reducePeak));
    std::printf("HDBSCAN (min cluster size %d, min samples %d): %.1f s (core distances %.1f s, "
                "spanning tree and hierarchy %.1f s), peak resident %.2f GiB\n",
        args.minClusterSize, options.effectiveMinSamples(), hdbscanSeconds, coreSeconds,
        hdbscanSeconds - coreSeconds, gib(hdbscanPeak));
    std::printf("recipe total %.1f s = %.2f x FAISS k-means (k = %d) on the same embeddings, "
                "%.1f s, measured in this run\n",
        reduceSeconds + hdbscanSeconds, (reduceSeconds + hdbscanSeconds) / kmeansSeconds,
        args.groups, kmeansSeconds);
    std::printf("HDBSCAN: %d clusters, noise %.1f%%; NMI vs groups: all points (noise as a "
                "class) %.3f, clustered points %.3f; k-means NMI %.3f\n",
        found.clusters, 100.0 * double(found.noise) / double(args.n), nmi(labels, truth),
        nmi(keptLabels, keptTruth), nmi(kmeansLabels, truth));
    std::printf("load after: %s\n", loadAverage().c_str());
    return 0;
}

int workspaceRuns(const Args& args)
{
    moin::Workspace workspace = moin::Workspace::open(args.workspace);
    // Each chunk's source file: the demo corpus has one file per domain.
    std::map<int64_t, int> domainOf;
    std::map<std::string, int> domains;
    moin::Statement query = workspace.database().prepare(
        "SELECT chunks.id, sources.path FROM chunks JOIN documents ON documents.id = "
        "chunks.document_id JOIN sources ON sources.id = documents.source_id");
    while (query.step())
        domainOf[query.columnInt64(0)]
            = domains.emplace(query.columnText(1), int(domains.size())).first->second;
    std::printf("%zu chunks from %zu source files\n", domainOf.size(), domains.size());
    std::stringstream list(args.runs);
    for (std::string item; std::getline(list, item, ',');) {
        const int64_t run = std::atoll(item.c_str());
        std::vector<int> clusters, truth, keptClusters, keptTruth;
        int64_t noise = 0;
        for (const moin::ChunkPlacement& p : moin::listPlacements(workspace, run)) {
            clusters.push_back(p.cluster);
            truth.push_back(domainOf.at(p.chunkId));
            noise += p.noise;
            if (!p.noise) {
                keptClusters.push_back(p.cluster);
                keptTruth.push_back(domainOf.at(p.chunkId));
            }
        }
        if (clusters.empty()) {
            std::fprintf(stderr, "run %lld has no chunks\n", (long long)run);
            return 1;
        }
        double seconds = 0;
        int k = 0;
        for (const moin::ClusterRunInfo& info : moin::listClusterRuns(workspace))
            if (info.id == run) {
                seconds = info.seconds;
                k = info.k;
            }
        std::printf("run %lld: %d clusters, %.1f s, noise %lld (%.1f%%); NMI vs source files: "
                    "all chunks %.3f",
            (long long)run, k, seconds, (long long)noise,
            100.0 * double(noise) / double(clusters.size()), nmi(clusters, truth));
        if (noise > 0)
            std::printf(", chunks not noise %.3f", nmi(keptClusters, keptTruth));
        std::printf("\n");
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    const Args args = parse(argc, argv);
    try {
        return args.workspace.empty() ? synthetic(args) : workspaceRuns(args);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_hdbscan: %s\n", e.what());
        return 1;
    }
}
