// Times the 2-D layout of synthetic embeddings (Gaussian blobs) and reports its quality:
// trustworthiness (sampled) and how far apart the clusters land. Not a test; run by hand:
//   bench_layout [--n 100000] [--dim 128] [--clusters 20] [--method umap|pca|both]
//                [--threads 0] [--epochs 200] [--negative-samples 5] [--trust-sample 2000]
#include "moin/layout.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

struct Args {
    int64_t n = 100000;
    int64_t dim = 128;
    int clusters = 20;
    std::string method = "both";
    int threads = 0;
    int epochs = 200;
    int negativeSamples = 5;
    int64_t trustSample = 2000;
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
        else if (key == "--clusters")
            args.clusters = std::atoi(value);
        else if (key == "--method")
            args.method = value;
        else if (key == "--threads")
            args.threads = std::atoi(value);
        else if (key == "--epochs")
            args.epochs = std::atoi(value);
        else if (key == "--negative-samples")
            args.negativeSamples = std::atoi(value);
        else if (key == "--trust-sample")
            args.trustSample = std::atoll(value);
        else {
            std::fprintf(stderr, "unknown option %s\n", key.c_str());
            std::exit(2);
        }
    }
    return args;
}

// Peak resident set size in MiB (VmHWM), or -1.
double peakRssMiB()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0)
            return std::atof(line.c_str() + 6) / 1024.0;
    }
    return -1;
}

// Mean distance of a point to its cluster's 2-D centroid over the mean distance between
// centroids: small means tight, separate clusters.
double spreadRatio(const std::vector<float>& layout, const std::vector<int>& label, int clusters)
{
    std::vector<double> cx(clusters, 0), cy(clusters, 0), count(clusters, 0);
    const size_t n = label.size();
    for (size_t i = 0; i < n; ++i) {
        cx[label[i]] += layout[2 * i];
        cy[label[i]] += layout[2 * i + 1];
        count[label[i]] += 1;
    }
    for (int c = 0; c < clusters; ++c) {
        cx[c] /= count[c];
        cy[c] /= count[c];
    }
    double intra = 0;
    for (size_t i = 0; i < n; ++i)
        intra += std::hypot(layout[2 * i] - cx[label[i]], layout[2 * i + 1] - cy[label[i]]);
    intra /= double(n);
    double inter = 0;
    int pairs = 0;
    for (int a = 0; a < clusters; ++a)
        for (int b = a + 1; b < clusters; ++b, ++pairs)
            inter += std::hypot(cx[a] - cx[b], cy[a] - cy[b]);
    return intra / (inter / pairs);
}

// CPU seconds of this process (all threads): on a shared machine wall time overstates the cost.
double cpuSeconds()
{
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double seconds(std::chrono::steady_clock::time_point since)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

} // namespace

int main(int argc, char** argv)
{
    const Args args = parse(argc, argv);
    std::mt19937_64 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> centres(size_t(args.clusters * args.dim));
    for (float& value : centres)
        value = 3.0f * normal(rng);
    std::vector<float> points(size_t(args.n * args.dim));
    std::vector<int> label(args.n);
    for (int64_t i = 0; i < args.n; ++i) {
        label[i] = int(i % args.clusters);
        for (int64_t c = 0; c < args.dim; ++c)
            points[i * args.dim + c] = centres[label[i] * args.dim + c] + normal(rng);
    }
    std::fprintf(stderr, "data: %lld points x %lld dims, %d blobs; peak RSS %.0f MiB\n",
                 (long long)args.n, (long long)args.dim, args.clusters, peakRssMiB());

    for (const std::string method : {"pca", "umap"}) {
        if (args.method != "both" && args.method != method)
            continue;
        moin::LayoutOptions options;
        options.method = method;
        options.threads = args.threads;
        options.epochs = args.epochs;
        options.negativeSamples = args.negativeSamples;
        int lastPercent = -1;
        const auto start = std::chrono::steady_clock::now();
        const double cpuStart = cpuSeconds();
        const std::vector<float> layout = moin::computeLayout(
            points.data(), args.n, args.dim, options, [&](double fraction) {
                const int percent = int(fraction * 100);
                if (percent / 10 != lastPercent / 10)
                    std::fprintf(stderr, "  %s %3d%% at %.1f s (cpu %.1f s)\n", method.c_str(),
                                 percent, seconds(start), cpuSeconds() - cpuStart);
                lastPercent = percent;
            });
        const double layoutSeconds = seconds(start);
        const double layoutCpu = cpuSeconds() - cpuStart;
        const auto trustStart = std::chrono::steady_clock::now();
        const double trust = moin::trustworthiness(points.data(), layout.data(), args.n,
                                                   args.dim, 10, args.trustSample);
        std::printf("%-4s n=%lld dim=%lld: layout %.1f s (cpu %.1f s), trustworthiness(k=10, "
                    "%lld queries) %.4f in %.1f s, spread ratio %.3f, peak RSS %.0f MiB\n",
                    method.c_str(), (long long)args.n, (long long)args.dim, layoutSeconds,
                    layoutCpu,
                    (long long)std::min(args.trustSample, args.n), trust, seconds(trustStart),
                    spreadRatio(layout, label, args.clusters), peakRssMiB());
        std::fflush(stdout);
    }
    return 0;
}
