#pragma once
// Routed inference: each request goes to one expert (the router's choice, a forced one, or the
// base alone); experts are LoRA adapters loaded lazily onto one shared, never-modified base and
// kept in an LRU cache bounded by bytes; requests for different experts decode together in one
// batch, each token multiplied by its own request's adapter (gathered LoRA, as S-LoRA and
// Punica), and a request can join while others are decoding.
#include "moin/cancel.h"
#include "moin/model.h"
#include "moin/router.h"

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace moin {

class Workspace;

struct ServingOptions {
    /// "auto", "cpu", "cuda", "cuda:N".
    std::string device = "auto";
    /// LibTorch threads; 0 keeps the default.
    int threads = 0;
    /// Bytes of adapter weights kept loaded (pinned adapters count too). Default 256 MiB.
    int64_t adapterCacheBytes = int64_t(256) << 20;
    /// Requests decoding together at most. Default 16.
    int maxBatch = 16;
    /// Requests waiting for a batch slot at most; more are refused (HTTP 503). Default 256.
    int maxQueue = 256;
    /// Clustering run whose experts serve; 0 = the active run.
    int64_t runId = 0;
    /// Runner-up experts reported with each routing decision. Default 3.
    int candidates = 3;
    /// Load only what routing needs: the router and the expert list, but no base model (unless
    /// the run embeds with it) and no decode loop; submit() throws. For a front that forwards
    /// generation to another server (HttpApiOptions::upstream). Default false.
    bool routingOnly = false;
};

/// Which expert answers: the router's choice, the base model alone, or a forced expert.
struct ExpertChoice {
    enum class Kind { Auto, Base, Expert };
    Kind kind = Kind::Auto;
    int expert = -1;
    /// Parses "auto", "base", an expert id ("3") or "expert-3"; throws moin::Error otherwise.
    static ExpertChoice parse(const std::string& text);
    std::string toString() const;
};

/// The model name of an expert in the API ("expert-3"): what /v1/models lists, and what an
/// upstream server (`moin serve --upstream`) must hold the expert's adapter as.
std::string expertModelName(int expert);

struct CompletionRequest {
    /// The text to continue (chat templates are applied by the caller); BOS is prepended.
    std::string prompt;
    /// Text to route on; empty = the prompt (a chat routes on the latest user message).
    std::string routingText;
    ExpertChoice expert;
    GenerationOptions options;
    /// Called on the engine's thread for every new token (text may be empty while a UTF-8
    /// character is incomplete); return false to stop.
    TokenCallback onToken;
    /// Checked between tokens; set it to stop a request mid-answer.
    std::shared_ptr<CancelToken> cancel;
};

struct CompletionResult {
    GenerationResult generation;
    /// "base" or the expert id that answered.
    std::string answeredBy;
    /// The routing decision (also computed for forced experts and the base, for comparison).
    RouteDecision route;
    /// The answering expert's keywords (empty for the base).
    std::vector<std::string> keywords;
    /// Seconds waiting for a batch slot, loading the adapter, and to the first token.
    double queueSeconds = 0;
    double adapterLoadSeconds = 0;
    double firstTokenSeconds = 0;
    double totalSeconds = 0;
    /// Requests in the decode batch when this one finished (1 = alone).
    int batchPeers = 1;
};

struct AdapterCacheStats {
    int64_t capacityBytes = 0;
    int64_t usedBytes = 0;
    int loaded = 0;
    int pinned = 0;
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t evictions = 0;
    /// Mean seconds of a cold load (read + validate + copy to the device).
    double meanColdLoadSeconds = 0;
    /// Loaded experts, most recently used first.
    std::vector<int> residents;
};

/// A trained expert the engine can serve.
struct ServedExpert {
    int id = 0;
    std::string adapterPath;
    std::vector<std::string> keywords;
    int64_t clusterSize = 0;
    double basePerplexity = 0;
    double expertPerplexity = 0;
};

/// The serving engine of one workspace: base model, router, adapter cache and a decode thread.
/// Thread-safe: any thread may submit.
class ServingEngine {
public:
    /// Loads the base model and, when the workspace has a clustering run, its router and
    /// trained experts. Without a run only the base answers (route() throws). The expert list
    /// is read here: open a new engine to serve experts trained later.
    static std::unique_ptr<ServingEngine> open(const std::string& workspaceDirectory,
                                               const ServingOptions& options = {});
    ~ServingEngine();
    ServingEngine(const ServingEngine&) = delete;
    ServingEngine& operator=(const ServingEngine&) = delete;

    /// Queues a request. Throws moin::Error for bad options, an expert that has no trained
    /// adapter, or a full queue (the message says which). The future throws moin::Error if the
    /// request fails while running (e.g. the prompt is longer than the context).
    std::future<CompletionResult> submit(CompletionRequest request);
    /// submit() and wait.
    CompletionResult complete(CompletionRequest request);

    /// The routing decision for a text, as a request would get it.
    RouteDecision route(const std::string& text) const;

    /// Trained experts of the run, by id.
    std::vector<ServedExpert> experts() const;
    bool hasRouter() const;
    int64_t runId() const;
    /// Whether the engine generates (false when opened with routingOnly).
    bool canGenerate() const;
    /// The base model's config and tokenizer; throw moin::Error on a routing-only engine.
    const LlamaConfig& baseConfig() const;
    const Tokenizer& tokenizer() const;
    std::string baseModelDirectory() const;
    /// Where the base model runs; "none" on a routing-only engine.
    std::string device() const;

    /// Keeps an expert loaded (loads it now); unpin lets the LRU evict it again.
    void pin(int expert);
    void unpin(int expert);
    /// Loads experts ahead of their first request (most recently used last).
    void preload(const std::vector<int>& experts);
    AdapterCacheStats cacheStats() const;
    /// Requests waiting and decoding now.
    int queuedRequests() const;
    int activeRequests() const;

private:
    struct Impl;
    explicit ServingEngine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace moin
