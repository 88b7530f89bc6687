// Serving speed: 16 concurrent requests spread over 16 experts, decoded in one batch across
// experts (gathered LoRA) versus one request at a time; time to first token; cold adapter load
// and warm hit; route latency of the engine.
//
//   build/bin/bench_serving [--workspace DIR] [--experts 16] [--tokens 32] [--threads 2]
//
// Without --workspace it builds one from the demo corpus and the built-in base: clusters into
// --experts groups and trains every expert for a few steps (their quality does not matter here,
// only that each is a real adapter of the same shape as a trained one).
#include "cpu_share.h"

#include "moin/basemodel.h"
#include "moin/clustering.h"
#include "moin/coordinator.h"
#include "moin/corpus.h"
#include "moin/device.h"
#include "moin/serving.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

double percentile(std::vector<double> values, double p)
{
    std::sort(values.begin(), values.end());
    if (values.empty())
        return 0;
    const size_t index = std::min(values.size() - 1, size_t(p * double(values.size() - 1) + 0.5));
    return values[index];
}

std::string executableDirectory()
{
    char path[PATH_MAX] = {};
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    return fs::path(std::string(path, size_t(std::max<ssize_t>(n, 0)))).parent_path().string();
}

void buildWorkspace(const std::string& dir, int experts)
{
    std::fprintf(stderr, "building a workspace with %d experts in %s ...\n", experts, dir.c_str());
    moin::Workspace workspace = moin::Workspace::create(dir);
    moin::importCorpus(workspace, {MOIN_DEMO_CORPUS}, {});
    moin::ClusterRunOptions cluster;
    cluster.kmeans.k = experts;
    cluster.layout.method = "pca";
    const int64_t run = moin::runClustering(workspace, cluster);
    std::vector<moin::TrainingSpec> specs;
    for (int c = 0; c < experts; ++c) {
        moin::TrainingSpec spec = moin::TrainingSpec::preset("quick");
        spec.runId = run;
        spec.cluster = c;
        spec.steps = 3;
        spec.evalEvery = 3;
        spec.device = "cpu";
        specs.push_back(spec);
    }
    moin::TrainingQueue(workspace).enqueue(specs);
    moin::CoordinatorOptions coordinator;
    coordinator.workerExecutable = executableDirectory() + "/moin";
    coordinator.workers = 2;
    moin::runTrainingQueue(workspace, coordinator);
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"Serving speed: batched across experts vs one at a time"};
    std::string dir;
    int experts = 16;
    int tokens = 32;
    int threads = 2;
    app.add_option("--workspace", dir, "Workspace with trained experts (built when missing)");
    app.add_option("--experts", experts, "Experts (and concurrent requests)")->capture_default_str();
    app.add_option("--tokens", tokens, "New tokens per request")->capture_default_str();
    app.add_option("--threads", threads, "Torch threads")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    moin::setComputeThreads(threads);
    if (dir.empty())
        dir = (fs::temp_directory_path() / ("moin-bench-serving-" + std::to_string(::getpid())))
                  .string();
    if (!moin::Workspace::exists(dir))
        buildWorkspace(dir, experts);

    const moin::bench::CpuTimes cpuStart = moin::bench::readCpuTimes();
    moin::ServingOptions options;
    options.device = "cpu";
    options.maxBatch = experts;
    auto engine = moin::ServingEngine::open(dir, options);
    const std::vector<moin::ServedExpert> served = engine->experts();
    if (int(served.size()) < experts) {
        std::fprintf(stderr, "the workspace has %zu trained experts; %d needed\n", served.size(),
                     experts);
        return 1;
    }

    // One prompt per expert: the start of a sample chunk of its cluster.
    std::vector<std::string> prompts;
    {
        moin::Workspace workspace = moin::Workspace::open(dir);
        const auto clusters = moin::listClusters(workspace, engine->runId());
        for (int e = 0; e < experts; ++e) {
            moin::Statement text =
                workspace.database().prepare("SELECT text FROM chunks WHERE id = ?");
            text.bind(1, clusters[size_t(e)].sampleChunks.at(0));
            text.step();
            prompts.push_back(text.columnText(0).substr(0, 160));
        }
    }
    auto requestFor = [&](int e) {
        moin::CompletionRequest r;
        r.prompt = prompts[size_t(e)];
        r.expert.kind = moin::ExpertChoice::Kind::Expert;
        r.expert.expert = served[size_t(e)].id;
        r.options.temperature = 0;
        r.options.repetitionPenalty = 1.0;
        r.options.maxNewTokens = tokens;
        r.options.stopAtEos = false;
        return r;
    };

    // Cold loads: every adapter once; then a warm hit.
    auto t0 = Clock::now();
    for (const auto& e : served)
        engine->preload({e.id});
    const double coldTotal = seconds(t0, Clock::now());
    const moin::AdapterCacheStats cold = engine->cacheStats();
    t0 = Clock::now();
    for (int i = 0; i < 100; ++i)
        engine->preload({served[0].id});
    const double warmHit = seconds(t0, Clock::now()) / 100;

    // Warm-up, then one at a time.
    engine->complete(requestFor(0));
    std::vector<moin::CompletionResult> alone;
    t0 = Clock::now();
    for (int e = 0; e < experts; ++e)
        alone.push_back(engine->complete(requestFor(e)));
    const double aloneSeconds = seconds(t0, Clock::now());

    // All at once: one batch across the experts.
    std::vector<std::future<moin::CompletionResult>> futures;
    t0 = Clock::now();
    for (int e = 0; e < experts; ++e)
        futures.push_back(engine->submit(requestFor(e)));
    std::vector<moin::CompletionResult> batched;
    for (auto& f : futures)
        batched.push_back(f.get());
    const double batchedSeconds = seconds(t0, Clock::now());

    int64_t totalTokens = 0;
    bool identical = true;
    int identicalRequests = 0;
    double prefixShare = 0; // mean share of tokens before the first difference
    std::vector<double> ttftAlone, ttftBatched;
    int maxPeers = 0;
    for (int e = 0; e < experts; ++e) {
        totalTokens += int64_t(batched[size_t(e)].generation.tokens.size());
        const auto& a = alone[size_t(e)].generation.tokens;
        const auto& b = batched[size_t(e)].generation.tokens;
        identical = identical && a == b;
        identicalRequests += a == b ? 1 : 0;
        size_t same = 0;
        while (same < a.size() && same < b.size() && a[same] == b[same])
            ++same;
        prefixShare += double(same) / double(std::max<size_t>(1, a.size())) / experts;
        ttftAlone.push_back(alone[size_t(e)].generation.prefillSeconds
                            + alone[size_t(e)].adapterLoadSeconds);
        ttftBatched.push_back(batched[size_t(e)].firstTokenSeconds);
        maxPeers = std::max(maxPeers, batched[size_t(e)].batchPeers);
    }

    // Route latency of the engine (embedding included), one query at a time.
    std::vector<double> routeMs;
    for (int i = 0; i < 1000; ++i) {
        const auto start = Clock::now();
        engine->route(prompts[size_t(i % experts)]);
        routeMs.push_back(seconds(start, Clock::now()) * 1000);
    }
    const double others = moin::bench::othersCpuShare(cpuStart, moin::bench::readCpuTimes());

    const double aloneRate = double(totalTokens) / aloneSeconds;
    const double batchedRate = double(totalTokens) / batchedSeconds;
    std::printf("MoIN serving benchmark: %d requests over %d experts, %d new tokens each, %d "
                "threads, device %s\n",
                experts, experts, tokens, threads, engine->device().c_str());
    std::printf("  base model: %s\n", engine->baseModelDirectory().c_str());
    std::printf("  %-44s %10.1f tokens/s  (%.2f s)\n", "one request at a time", aloneRate,
                aloneSeconds);
    std::printf("  %-44s %10.1f tokens/s  (%.2f s, up to %d in a batch)\n",
                "all at once, batched across experts", batchedRate, batchedSeconds, maxPeers);
    std::printf("  %-44s %10.2fx\n", "batched / one at a time", batchedRate / aloneRate);
    std::printf("  %-44s %d of %d requests; tokens before the first difference: %.0f%%\n",
                "greedy outputs identical in both modes", identicalRequests, experts,
                prefixShare * 100);
    std::printf("  %-44s p50 %.1f ms, max %.1f ms\n", "time to first token, alone",
                percentile(ttftAlone, 0.5) * 1000, percentile(ttftAlone, 1.0) * 1000);
    std::printf("  %-44s p50 %.1f ms, max %.1f ms\n", "time to first token, all submitted at once",
                percentile(ttftBatched, 0.5) * 1000, percentile(ttftBatched, 1.0) * 1000);
    std::printf("  %-44s %.2f ms per adapter (%d adapters, %.1f KiB each)\n",
                "cold adapter load (read, check, copy)", cold.meanColdLoadSeconds * 1000,
                cold.loaded, double(cold.usedBytes) / cold.loaded / 1024);
    std::printf("  %-44s %.1f us\n", "warm cache hit", warmHit * 1e6);
    std::printf("  %-44s p50 %.3f ms, p99 %.3f ms (%d experts, tf-idf embedding included)\n",
                "route latency", percentile(routeMs, 0.5), percentile(routeMs, 0.99), experts);
    std::printf("  other processes took %.0f%% of the CPUs during the run%s\n", others * 100,
                others > 0.05 ? " -- figures are pessimistic" : "");
    (void)coldTotal;
    const nlohmann::json out = {{"experts", experts},
                                {"tokens", tokens},
                                {"threads", threads},
                                {"alone_tokens_per_second", aloneRate},
                                {"batched_tokens_per_second", batchedRate},
                                {"speedup", batchedRate / aloneRate},
                                {"identical", identical},
                                {"identical_requests", identicalRequests},
                                {"common_prefix_share", prefixShare},
                                {"ttft_alone_p50_ms", percentile(ttftAlone, 0.5) * 1000},
                                {"ttft_batched_p50_ms", percentile(ttftBatched, 0.5) * 1000},
                                {"cold_load_ms", cold.meanColdLoadSeconds * 1000},
                                {"warm_hit_us", warmHit * 1e6},
                                {"route_p50_ms", percentile(routeMs, 0.5)},
                                {"route_p99_ms", percentile(routeMs, 0.99)},
                                {"others_cpu_share", others}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
}
