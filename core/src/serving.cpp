// The serving engine: routing, an LRU adapter cache bounded by bytes, and one decode loop that
// runs every active request in one batch, each row multiplied by its own request's adapter.
#include "moin/serving.h"

#include "llama.h"
#include "sampling.h"

#include "moin/clustering.h"
#include "moin/device.h"
#include "moin/error.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

namespace moin {

namespace {

using Clock = std::chrono::steady_clock;

double secondsBetween(Clock::time_point from, Clock::time_point to)
{
    return std::chrono::duration<double>(to - from).count();
}

} // namespace

ExpertChoice ExpertChoice::parse(const std::string& text)
{
    ExpertChoice choice;
    if (text.empty() || text == "auto" || text == "moin-router" || text == "router")
        return choice;
    if (text == "base") {
        choice.kind = Kind::Base;
        return choice;
    }
    std::string digits = text;
    if (digits.rfind("expert-", 0) == 0)
        digits = digits.substr(7);
    if (!digits.empty() && digits.size() < 9
        && digits.find_first_not_of("0123456789") == std::string::npos) {
        choice.kind = Kind::Expert;
        choice.expert = std::stoi(digits);
        return choice;
    }
    throw Error("unknown expert \"" + text + "\"; use auto, base, an expert id (3) or expert-3");
}

std::string ExpertChoice::toString() const
{
    switch (kind) {
    case Kind::Auto: return "auto";
    case Kind::Base: return "base";
    case Kind::Expert: return std::to_string(expert);
    }
    return "auto";
}

std::string expertModelName(int expert) { return "expert-" + std::to_string(expert); }

struct ServingEngine::Impl {
    struct Pending {
        CompletionRequest request;
        std::promise<CompletionResult> promise;
        Clock::time_point submitted;
    };

    struct Active {
        Pending pending;
        int slot = 0;
        int64_t length = 0; ///< tokens in the slot's KV cache
        int32_t nextInput = 0;
        std::vector<int32_t> prompt; ///< BOS + the prompt's tokens, until its prefill
        std::shared_ptr<const LoadedAdapter> adapter;
        std::unique_ptr<Sampler> sampler;
        std::unique_ptr<TextStream> stream;
        std::vector<int64_t> seen;
        std::unordered_set<int64_t> seenSet;
        CompletionResult result;
        Clock::time_point started;
        Clock::time_point firstToken;
        bool done = false;
    };

    struct CachedAdapter {
        std::shared_ptr<const LoadedAdapter> adapter;
        bool pinned = false;
        uint64_t lastUse = 0;
    };

    std::string directory;
    ServingOptions options;
    std::unique_ptr<LanguageModel> model; ///< null on a routing-only engine
    std::string baseDirectory;
    std::optional<Router> router;
    int64_t runId = 0;
    std::map<int, ServedExpert> experts;
    std::map<int, std::vector<std::string>> keywords;

    // The model runs on the decode thread; route() with the model embedder shares it.
    mutable std::mutex computeMutex;

    mutable std::mutex cacheMutex;
    std::map<int, CachedAdapter> cache;
    uint64_t useClock = 0;
    int64_t cacheBytes = 0;
    int64_t hits = 0, misses = 0, evictions = 0;
    double coldLoadSeconds = 0;

    mutable std::mutex queueMutex;
    std::condition_variable wake;
    std::deque<Pending> pending;
    bool stopping = false;
    std::atomic<int> activeCount{0};
    std::thread loop;

    KvCache slots;
    std::vector<bool> slotUsed;

    // ---- adapter cache ----

    std::shared_ptr<const LoadedAdapter> acquire(int expert, double* loadSeconds)
    {
        {
            std::lock_guard<std::mutex> lock(cacheMutex);
            if (auto found = cache.find(expert); found != cache.end()) {
                found->second.lastUse = ++useClock;
                ++hits;
                return found->second.adapter;
            }
        }
        const auto info = experts.find(expert);
        if (info == experts.end())
            throw Error("expert " + std::to_string(expert) + " has no trained adapter");
        const auto start = Clock::now();
        auto loaded = std::make_shared<LoadedAdapter>(
            readAdapter(*model->impl().model, info->second.adapterPath, model->directory()));
        const double seconds = secondsBetween(start, Clock::now());
        if (loadSeconds)
            *loadSeconds = seconds;
        std::lock_guard<std::mutex> lock(cacheMutex);
        ++misses;
        coldLoadSeconds += seconds;
        CachedAdapter& entry = cache[expert];
        entry.adapter = loaded;
        entry.lastUse = ++useClock;
        cacheBytes += loaded->bytes;
        evictLocked(expert);
        return loaded;
    }

    // Least recently used, unpinned adapters go until the cache fits (never `keep`). Requests
    // decoding with an evicted adapter keep their reference until they finish.
    void evictLocked(int keep)
    {
        while (cacheBytes > options.adapterCacheBytes) {
            auto victim = cache.end();
            for (auto it = cache.begin(); it != cache.end(); ++it) {
                if (it->first == keep || it->second.pinned)
                    continue;
                if (victim == cache.end() || it->second.lastUse < victim->second.lastUse)
                    victim = it;
            }
            if (victim == cache.end())
                return;
            cacheBytes -= victim->second.adapter->bytes;
            cache.erase(victim);
            ++evictions;
        }
    }

    // ---- the decode loop ----

    // The prompts of the requests that join this step, each into its slot, in one forward call
    // (right-padded to the longest): arrivals do not wait behind each other's prefill. Returns
    // each one's logits at its last prompt position (vocab).
    std::vector<torch::Tensor> prefill(const std::vector<Active*>& joining)
    {
        LlamaImpl& llama = *model->impl().model;
        const int64_t B = int64_t(joining.size());
        int64_t width = 0;
        for (const Active* a : joining)
            width = std::max(width, int64_t(a->prompt.size()));
        ForwardBatch batch;
        batch.cache = &slots;
        std::vector<int64_t> tokens(size_t(B * width), 0);
        for (int64_t b = 0; b < B; ++b) {
            const Active& a = *joining[size_t(b)];
            std::copy(a.prompt.begin(), a.prompt.end(), tokens.begin() + b * width);
            batch.cacheSlots.push_back(a.slot);
            batch.starts.push_back(0);
            batch.lengths.push_back(int64_t(a.prompt.size()));
            batch.adapters.push_back(a.adapter.get());
        }
        const torch::Tensor input =
            torch::tensor(tokens, torch::kLong).view({B, width}).to(llama.deviceOf());
        const torch::Tensor h = llama.hidden(input, batch); // (B, width, H)
        std::vector<int64_t> lastRows;
        for (int64_t b = 0; b < B; ++b)
            lastRows.push_back(b * width + int64_t(joining[size_t(b)]->prompt.size()) - 1);
        const torch::Tensor last = h.reshape({B * width, -1}).index_select(
            0, torch::tensor(lastRows, torch::kLong).to(h.device())); // (B, H)
        const torch::Tensor logits = llama.project(last);             // (B, vocab)
        std::vector<torch::Tensor> out;
        for (int64_t b = 0; b < B; ++b) {
            Active& a = *joining[size_t(b)];
            a.length = int64_t(a.prompt.size());
            a.prompt.clear();
            out.push_back(logits[b]);
        }
        return out;
    }

    // One token for every active request in one forward call: each row at its own slot,
    // position and adapter. Returns logits (B, vocab).
    torch::Tensor decodeStep(std::vector<Active*>& rows)
    {
        LlamaImpl& llama = *model->impl().model;
        std::vector<int64_t> tokens;
        ForwardBatch batch;
        batch.cache = &slots;
        for (Active* a : rows) {
            tokens.push_back(a->nextInput);
            batch.cacheSlots.push_back(a->slot);
            batch.starts.push_back(a->length);
            batch.adapters.push_back(a->adapter.get());
        }
        const torch::Tensor input = torch::tensor(tokens, torch::kLong)
                                        .view({int64_t(rows.size()), 1})
                                        .to(llama.deviceOf());
        return llama.forward(input, batch).select(1, 0);
    }

    void fail(Pending& p, const std::string& message)
    {
        p.promise.set_exception(std::make_exception_ptr(Error(message)));
    }

    // Routes, loads the adapter, tokenizes; its prefill follows with the others that join in
    // this step. A request that cannot start (prompt too long, unreadable adapter) fails alone:
    // nullptr.
    std::unique_ptr<Active> start(Pending&& p, int slot)
    {
        auto a = std::make_unique<Active>();
        a->pending = std::move(p);
        try {
            begin(*a, slot);
            return a;
        } catch (const std::exception& e) {
            fail(a->pending, e.what());
            return nullptr;
        }
    }

    void begin(Active& active, int slot)
    {
        Active* a = &active;
        a->slot = slot;
        a->started = Clock::now();
        CompletionRequest& request = a->pending.request;
        CompletionResult& result = a->result;
        result.queueSeconds = secondsBetween(a->pending.submitted, a->started);
        const std::string& routingText =
            request.routingText.empty() ? request.prompt : request.routingText;
        if (router)
            result.route = router->route({routingText}, options.candidates).at(0);
        int expert = -1;
        switch (request.expert.kind) {
        case ExpertChoice::Kind::Auto:
            if (router && experts.count(result.route.expert))
                expert = result.route.expert;
            break;
        case ExpertChoice::Kind::Expert:
            expert = request.expert.expert;
            break;
        case ExpertChoice::Kind::Base:
            break;
        }
        if (expert >= 0) {
            a->adapter = acquire(expert, &result.adapterLoadSeconds);
            result.answeredBy = std::to_string(expert);
            result.keywords = keywords[expert];
        } else {
            result.answeredBy = "base";
        }
        const LlamaConfig& config = model->config();
        std::vector<int32_t> prompt = {config.bosTokenId};
        const std::vector<int32_t> body = model->tokenizer().encode(request.prompt);
        prompt.insert(prompt.end(), body.begin(), body.end());
        if (int64_t(prompt.size()) >= config.maxPositions) {
            throw Error("the prompt has " + std::to_string(prompt.size())
                        + " tokens; the model's context holds "
                        + std::to_string(config.maxPositions)
                        + " (hint: shorten the prompt or the conversation history)");
        }
        result.generation.promptTokens = int(prompt.size());
        a->sampler = std::make_unique<Sampler>(request.options);
        a->stream = std::make_unique<TextStream>(&model->tokenizer());
        for (int32_t token : prompt) {
            if (a->seenSet.insert(token).second)
                a->seen.push_back(token);
        }
        a->prompt = std::move(prompt);
    }

    // Samples the next token of `a` from its logits and decides whether it goes on.
    void accept(Active& a, const torch::Tensor& logits)
    {
        CompletionRequest& request = a.pending.request;
        GenerationResult& g = a.result.generation;
        const LlamaConfig& config = model->config();
        if (g.tokens.empty() && a.firstToken == Clock::time_point())
            a.firstToken = Clock::now();
        if (int64_t(g.tokens.size()) >= request.options.maxNewTokens) {
            finish(a, "length");
            return;
        }
        if (request.cancel && request.cancel->isCancelled()) {
            finish(a, "cancelled");
            return;
        }
        const int32_t next =
            a.sampler->pick(logits.to(torch::kCPU, torch::kFloat32).clone(), a.seen);
        if (request.options.stopAtEos && next == config.eosTokenId) {
            finish(a, "eos");
            return;
        }
        g.tokens.push_back(next);
        if (a.seenSet.insert(next).second)
            a.seen.push_back(next);
        if (request.onToken && !request.onToken(a.stream->delta(g.tokens, false), next)) {
            finish(a, "callback");
            return;
        }
        if (int64_t(g.tokens.size()) >= request.options.maxNewTokens) {
            finish(a, "length");
            return;
        }
        if (a.length >= slots.capacity) {
            finish(a, "length"); // context full
            return;
        }
        a.nextInput = next;
    }

    void finish(Active& a, const std::string& reason)
    {
        GenerationResult& g = a.result.generation;
        g.stopReason = reason;
        g.text = model->tokenizer().decode(g.tokens);
        const std::string rest = a.stream->delta(g.tokens, true);
        if (a.pending.request.onToken && !rest.empty())
            a.pending.request.onToken(rest, -1);
        const auto now = Clock::now();
        a.result.totalSeconds = secondsBetween(a.pending.submitted, now);
        a.result.firstTokenSeconds = secondsBetween(a.pending.submitted, a.firstToken);
        g.decodeSeconds = secondsBetween(a.firstToken, now);
        a.result.batchPeers = std::max(1, activeCount.load());
        a.done = true;
    }

    void run()
    {
        torch::InferenceMode inference;
        std::vector<std::unique_ptr<Active>> active;
        while (true) {
            std::vector<Pending> admitted;
            {
                std::unique_lock<std::mutex> lock(queueMutex);
                wake.wait(lock, [&] { return stopping || !pending.empty() || !active.empty(); });
                if (stopping && active.empty())
                    break;
                while (!stopping && !pending.empty()
                       && int(active.size() + admitted.size()) < options.maxBatch) {
                    admitted.push_back(std::move(pending.front()));
                    pending.pop_front();
                }
            }
            std::lock_guard<std::mutex> compute(computeMutex);
            std::vector<Active*> joining;
            for (Pending& p : admitted) {
                int slot = 0;
                while (slotUsed[size_t(slot)])
                    ++slot;
                std::unique_ptr<Active> a = start(std::move(p), slot);
                if (a) {
                    slotUsed[size_t(slot)] = true;
                    joining.push_back(a.get());
                    active.push_back(std::move(a));
                    activeCount = int(active.size());
                }
            }
            if (!joining.empty()) {
                try {
                    const std::vector<torch::Tensor> logits = prefill(joining);
                    const auto now = Clock::now();
                    for (size_t i = 0; i < joining.size(); ++i) {
                        Active& a = *joining[i];
                        a.result.generation.prefillSeconds = secondsBetween(a.started, now);
                        accept(a, logits[i]);
                    }
                } catch (const std::exception& e) {
                    for (Active* a : joining) {
                        fail(a->pending, std::string("prefill failed: ") + e.what());
                        a->done = true;
                        a->result.generation.stopReason = "error";
                    }
                }
            }
            std::vector<Active*> decoding;
            for (auto& a : active) {
                if (!a->done)
                    decoding.push_back(a.get());
            }
            if (!decoding.empty()) {
                try {
                    const torch::Tensor logits = decodeStep(decoding);
                    for (size_t i = 0; i < decoding.size(); ++i) {
                        ++decoding[i]->length;
                        accept(*decoding[i], logits[int64_t(i)]);
                    }
                } catch (const std::exception& e) {
                    for (Active* a : decoding) {
                        fail(a->pending, std::string("generation failed: ") + e.what());
                        a->done = true;
                        a->result.generation.stopReason = "error";
                    }
                }
            }
            for (auto it = active.begin(); it != active.end();) {
                Active& a = **it;
                if (a.done) {
                    if (a.result.generation.stopReason != "error")
                        a.pending.promise.set_value(std::move(a.result));
                    slotUsed[size_t(a.slot)] = false;
                    it = active.erase(it);
                } else {
                    ++it;
                }
            }
            activeCount = int(active.size());
        }
    }
};

ServingEngine::ServingEngine(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

ServingEngine::~ServingEngine()
{
    {
        std::lock_guard<std::mutex> lock(m_impl->queueMutex);
        m_impl->stopping = true;
        for (Impl::Pending& p : m_impl->pending)
            m_impl->fail(p, "the serving engine is shutting down");
        m_impl->pending.clear();
    }
    m_impl->wake.notify_all();
    if (m_impl->loop.joinable())
        m_impl->loop.join();
}

std::unique_ptr<ServingEngine> ServingEngine::open(const std::string& workspaceDirectory,
                                                   const ServingOptions& options)
{
    if (options.maxBatch < 1 || options.maxBatch > 256)
        throw Error("max batch must be between 1 and 256; got " + std::to_string(options.maxBatch));
    if (options.maxQueue < 1)
        throw Error("max queue must be 1 or more; got " + std::to_string(options.maxQueue));
    if (options.adapterCacheBytes < 0)
        throw Error("the adapter cache size must be 0 or more bytes");
    if (options.candidates < 1)
        throw Error("candidates must be 1 or more");
    auto impl = std::make_unique<Impl>();
    impl->directory = workspaceDirectory;
    impl->options = options;
    if (options.threads > 0)
        setComputeThreads(options.threads);
    Workspace workspace = Workspace::open(workspaceDirectory);
    impl->baseDirectory = workspace.baseModelDirectory();
    if (!options.routingOnly)
        impl->model = std::make_unique<LanguageModel>(LanguageModel::load(
            impl->baseDirectory, {resolveDevice(options.device), "auto", true}));
    impl->runId = options.runId ? options.runId : activeClusterRun(workspace);
    if (impl->runId != 0) {
        // A routing-only engine passes no model: the router loads the base only if it embeds
        // with it.
        impl->router = Router::open(workspace, impl->runId, impl->model.get());
        for (const ClusterInfo& cluster : listClusters(workspace, impl->runId))
            impl->keywords[cluster.cluster] = cluster.keywords;
        std::map<int, int64_t> sizes;
        for (const ClusterInfo& cluster : listClusters(workspace, impl->runId))
            sizes[cluster.cluster] = cluster.size;
        for (const ExpertInfo& expert : TrainingQueue(workspace).experts(impl->runId)) {
            impl->experts[expert.cluster] = {expert.cluster, expert.adapterPath,
                                             impl->keywords[expert.cluster],
                                             sizes[expert.cluster], expert.basePerplexity,
                                             expert.expertPerplexity};
        }
    }
    if (options.routingOnly)
        return std::unique_ptr<ServingEngine>(new ServingEngine(std::move(impl)));
    LlamaImpl& llama = *impl->model->impl().model;
    impl->slots = llama.makeCache(options.maxBatch, llama.config.maxPositions);
    impl->slotUsed.assign(size_t(options.maxBatch), false);
    Impl* raw = impl.get();
    impl->loop = std::thread([raw] { raw->run(); });
    return std::unique_ptr<ServingEngine>(new ServingEngine(std::move(impl)));
}

std::future<CompletionResult> ServingEngine::submit(CompletionRequest request)
{
    if (!m_impl->model)
        throw Error("this serving engine only routes (opened for a front that forwards "
                    "generation to an upstream server); it cannot generate");
    request.options.validate();
    if (request.expert.kind == ExpertChoice::Kind::Expert
        && !m_impl->experts.count(request.expert.expert)) {
        throw Error("expert " + std::to_string(request.expert.expert)
                    + " has no trained adapter in run " + std::to_string(m_impl->runId)
                    + " (see `moin jobs`)");
    }
    Impl::Pending p;
    p.request = std::move(request);
    p.submitted = Clock::now();
    std::future<CompletionResult> future = p.promise.get_future();
    {
        std::lock_guard<std::mutex> lock(m_impl->queueMutex);
        if (m_impl->stopping)
            throw Error("the serving engine is shutting down");
        if (int(m_impl->pending.size()) >= m_impl->options.maxQueue) {
            throw Error("the server is busy: " + std::to_string(m_impl->pending.size())
                        + " requests are waiting (the limit); retry shortly");
        }
        m_impl->pending.push_back(std::move(p));
    }
    m_impl->wake.notify_one();
    return future;
}

CompletionResult ServingEngine::complete(CompletionRequest request)
{
    return submit(std::move(request)).get();
}

RouteDecision ServingEngine::route(const std::string& text) const
{
    if (!m_impl->router)
        throw Error("the workspace has no clustering run, so nothing routes; run `moin cluster`");
    std::lock_guard<std::mutex> compute(m_impl->computeMutex);
    return m_impl->router->route({text}, m_impl->options.candidates).at(0);
}

std::vector<ServedExpert> ServingEngine::experts() const
{
    std::vector<ServedExpert> out;
    for (const auto& [id, expert] : m_impl->experts)
        out.push_back(expert);
    return out;
}

bool ServingEngine::hasRouter() const { return m_impl->router.has_value(); }
int64_t ServingEngine::runId() const { return m_impl->runId; }
bool ServingEngine::canGenerate() const { return m_impl->model != nullptr; }

const LlamaConfig& ServingEngine::baseConfig() const
{
    if (!m_impl->model)
        throw Error("this serving engine only routes: it has no base model loaded");
    return m_impl->model->config();
}

const Tokenizer& ServingEngine::tokenizer() const
{
    if (!m_impl->model)
        throw Error("this serving engine only routes: it has no tokenizer loaded");
    return m_impl->model->tokenizer();
}

std::string ServingEngine::baseModelDirectory() const
{
    return m_impl->model ? m_impl->model->directory() : m_impl->baseDirectory;
}

std::string ServingEngine::device() const
{
    return m_impl->model ? m_impl->model->device() : std::string("none");
}

void ServingEngine::pin(int expert)
{
    if (!m_impl->model)
        throw Error("this serving engine only routes: it loads no adapters");
    std::lock_guard<std::mutex> compute(m_impl->computeMutex);
    m_impl->acquire(expert, nullptr);
    std::lock_guard<std::mutex> lock(m_impl->cacheMutex);
    m_impl->cache[expert].pinned = true;
}

void ServingEngine::unpin(int expert)
{
    std::lock_guard<std::mutex> lock(m_impl->cacheMutex);
    if (auto found = m_impl->cache.find(expert); found != m_impl->cache.end()) {
        found->second.pinned = false;
        m_impl->evictLocked(-1);
    }
}

void ServingEngine::preload(const std::vector<int>& experts)
{
    if (!m_impl->model)
        throw Error("this serving engine only routes: it loads no adapters");
    std::lock_guard<std::mutex> compute(m_impl->computeMutex);
    for (int expert : experts)
        m_impl->acquire(expert, nullptr);
}

AdapterCacheStats ServingEngine::cacheStats() const
{
    std::lock_guard<std::mutex> lock(m_impl->cacheMutex);
    AdapterCacheStats stats;
    stats.capacityBytes = m_impl->options.adapterCacheBytes;
    stats.usedBytes = m_impl->cacheBytes;
    stats.loaded = int(m_impl->cache.size());
    stats.hits = m_impl->hits;
    stats.misses = m_impl->misses;
    stats.evictions = m_impl->evictions;
    stats.meanColdLoadSeconds =
        m_impl->misses ? m_impl->coldLoadSeconds / double(m_impl->misses) : 0.0;
    std::vector<std::pair<uint64_t, int>> byUse;
    for (const auto& [id, entry] : m_impl->cache) {
        byUse.push_back({entry.lastUse, id});
        if (entry.pinned)
            ++stats.pinned;
    }
    std::sort(byUse.rbegin(), byUse.rend());
    for (const auto& [use, id] : byUse)
        stats.residents.push_back(id);
    return stats;
}

int ServingEngine::queuedRequests() const
{
    std::lock_guard<std::mutex> lock(m_impl->queueMutex);
    return int(m_impl->pending.size());
}

int ServingEngine::activeRequests() const { return m_impl->activeCount.load(); }

} // namespace moin
