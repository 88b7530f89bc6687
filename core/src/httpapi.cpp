// The OpenAI-compatible HTTP API over a ServingEngine (cpp-httplib, Debian's build). Handlers
// run on httplib's worker threads: each parses its request, submits it to the engine and waits
// for the answer (or streams it as server-sent events), then records it in the workspace.
#include "moin/httpapi.h"

#include "moin/chatturn.h"
#include "moin/conversations.h"
#include "moin/error.h"
#include "moin/serving.h"
#include "moin/workspace.h"
#include "upstream.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

namespace moin {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Generated text of a tiny or unlucky model may hold invalid UTF-8: replace, never throw.
std::string dumpJson(const json& value)
{
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// A request refused with an HTTP status and OpenAI's error object.
struct HttpError : std::runtime_error {
    HttpError(int status, const std::string& message, std::string type, std::string code,
        std::string param = {})
        : std::runtime_error(message)
        , status(status)
        , type(std::move(type))
        , code(std::move(code))
        , param(std::move(param))
    {
    }
    int status;
    std::string type;
    std::string code;
    std::string param;
};

HttpError badRequest(const std::string& message, const std::string& param = {},
    const std::string& code = "invalid_value")
{
    return HttpError(400, message, "invalid_request_error", code, param);
}

json errorBody(const std::string& message, const std::string& type, const std::string& code,
    const std::string& param)
{
    return {{"error",
        {{"message", message}, {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

void sendError(httplib::Response& res, int status, const std::string& message,
    const std::string& type, const std::string& code, const std::string& param = {})
{
    res.status = status;
    res.set_content(dumpJson(errorBody(message, type, code, param)), "application/json");
}

json numberOrNull(double value)
{
    return std::isfinite(value) ? json(value) : json(nullptr);
}

std::string randomId(const char* prefix)
{
    static std::atomic<uint64_t> counter {0};
    thread_local std::mt19937_64 rng(std::random_device {}() ^ uint64_t(std::time(nullptr)));
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%s%012llx%06llx", prefix,
        (unsigned long long)(rng() & 0xffffffffffffULL),
        (unsigned long long)(++counter & 0xffffff));
    return buffer;
}

/// The first `maxBytes` of UTF-8 text, not cutting a character in two.
std::string utf8Prefix(const std::string& text, size_t maxBytes)
{
    if (text.size() <= maxBytes)
        return text;
    size_t end = maxBytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;
    return text.substr(0, end) + "...";
}

/// One parsed /v1/chat/completions or /v1/completions request.
struct ApiRequest {
    bool chat = true;
    bool stream = false;
    bool echo = false;
    /// As the client named it ("auto" when absent); echoed in responses.
    std::string model = "auto";
    ExpertChoice choice;
    GenerationOptions options;
    std::vector<std::string> stops;
    /// "return_token_ids" (vLLM's extension): the response carries "prompt_token_ids".
    bool returnTokenIds = false;
    std::string systemPrompt;
    /// The request's user and assistant messages, (role, content), oldest first.
    std::vector<std::pair<std::string, std::string>> turns;
    std::string prompt;
    /// What the model reads: BOS and the prompt's tokens (empty when forwarding).
    std::vector<int32_t> promptTokens;
    std::string routingText;
    /// The body as received: what a forward sends upstream (with its model replaced).
    json body;
};

// ---- request parsing ----

json parseBody(const httplib::Request& req)
{
    json body;
    try {
        body = json::parse(req.body);
    } catch (const json::exception& e) {
        throw HttpError(400,
            std::string("the request body is not valid JSON: ") + e.what()
                + " (hint: send one JSON object with Content-Type: "
                  "application/json)",
            "invalid_request_error", "invalid_json");
    }
    if (!body.is_object())
        throw HttpError(400,
            std::string("the request body must be a JSON object; got ") + body.type_name(),
            "invalid_request_error", "invalid_json");
    return body;
}

bool present(const json& body, const char* key)
{
    const auto found = body.find(key);
    return found != body.end() && !found->is_null();
}

double numberField(const json& body, const char* key)
{
    const json& value = body.at(key);
    if (!value.is_number())
        throw badRequest(std::string("'") + key + "' must be a number; got " + value.type_name(),
            key, "invalid_type");
    return value.get<double>();
}

int64_t integerField(const json& body, const char* key)
{
    const json& value = body.at(key);
    if (value.is_number_integer())
        return value.get<int64_t>();
    if (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>()
        && std::abs(value.get<double>()) < 9e15)
        return int64_t(value.get<double>());
    throw badRequest(
        std::string("'") + key + "' must be an integer; got " + value.dump(), key, "invalid_type");
}

bool boolField(const json& body, const char* key)
{
    const json& value = body.at(key);
    if (!value.is_boolean())
        throw badRequest(std::string("'") + key + "' must be true or false; got " + value.dump(),
            key, "invalid_type");
    return value.get<bool>();
}

// A message's content: a string, or OpenAI's list of parts of which only text is understood.
std::string messageContent(const json& message, size_t index)
{
    const std::string where = "messages[" + std::to_string(index) + "].content";
    const auto content = message.find("content");
    if (content == message.end() || content->is_null())
        return {};
    if (content->is_string())
        return content->get<std::string>();
    if (content->is_array()) {
        std::string text;
        for (const json& part : *content) {
            if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text")
                || !part["text"].is_string())
                throw badRequest(where
                        + " may only hold text parts ({\"type\": \"text\", "
                          "\"text\": ...}); images and audio are not supported",
                    where);
            text += part["text"].get<std::string>();
        }
        return text;
    }
    throw badRequest(where + " must be a string or a list of text parts", where, "invalid_type");
}

void parseMessages(const json& body, ApiRequest& r)
{
    if (!present(body, "messages"))
        throw badRequest("'messages' is required: a list of {\"role\", \"content\"} objects",
            "messages", "missing_required_parameter");
    const json& messages = body["messages"];
    if (!messages.is_array() || messages.empty())
        throw badRequest("'messages' must be a non-empty list", "messages", "invalid_type");
    for (size_t i = 0; i < messages.size(); ++i) {
        const json& message = messages[i];
        const std::string where = "messages[" + std::to_string(i) + "]";
        if (!message.is_object() || !message.contains("role") || !message["role"].is_string())
            throw badRequest(
                where + " must be an object with a string 'role'", where, "invalid_type");
        const std::string role = message["role"].get<std::string>();
        const std::string content = messageContent(message, i);
        if (role == "system" || role == "developer") {
            r.systemPrompt += (r.systemPrompt.empty() ? "" : "\n") + content;
        } else if (role == "user" || role == "assistant") {
            r.turns.push_back({role, content});
            if (role == "user")
                r.routingText = content;
        } else {
            throw badRequest(where + " has role '" + role
                    + "'; only system, developer, user and assistant are "
                      "supported (no tools)",
                where + ".role");
        }
    }
    if (std::none_of(
            r.turns.begin(), r.turns.end(), [](const auto& turn) { return turn.first == "user"; }))
        throw badRequest("'messages' needs at least one user message", "messages");
}

void parsePrompt(const json& body, ApiRequest& r)
{
    if (!present(body, "prompt"))
        throw badRequest(
            "'prompt' is required: the text to continue", "prompt", "missing_required_parameter");
    const json& prompt = body["prompt"];
    if (prompt.is_string()) {
        r.prompt = prompt.get<std::string>();
    } else if (prompt.is_array() && prompt.size() == 1 && prompt[0].is_string()) {
        r.prompt = prompt[0].get<std::string>();
    } else {
        throw badRequest("'prompt' must be one string (lists of prompts and token ids are not "
                         "supported; send one request per prompt)",
            "prompt", "invalid_type");
    }
    r.routingText = r.prompt;
    r.turns.push_back({"user", r.prompt});
}

// `forwarding`: the upstream applies its own chat template and context limit, so the prompt is
// not built here (a routing-only engine has no tokenizer).
ApiRequest parseRequest(
    const httplib::Request& req, bool chat, const ServingEngine& engine, bool forwarding)
{
    const json body = parseBody(req);
    ApiRequest r;
    r.chat = chat;
    if (forwarding)
        r.body = body;
    if (present(body, "model")) {
        if (!body["model"].is_string())
            throw badRequest("'model' must be a string", "model", "invalid_type");
        r.model = body["model"].get<std::string>();
    }
    try {
        r.choice = ExpertChoice::parse(r.model);
    } catch (const Error&) {
        throw HttpError(404,
            "The model '" + r.model
                + "' does not exist; use auto (routed), base, or expert-N "
                  "(GET /v1/models lists them)",
            "invalid_request_error", "model_not_found", "model");
    }
    if (r.choice.kind == ExpertChoice::Kind::Expert) {
        const auto experts = engine.experts();
        if (std::none_of(experts.begin(), experts.end(),
                [&](const ServedExpert& e) { return e.id == r.choice.expert; }))
            throw HttpError(404,
                "The model '" + r.model + "' does not exist: expert "
                    + std::to_string(r.choice.expert) + " has no trained adapter in run "
                    + std::to_string(engine.runId())
                    + " (GET /v1/models lists the trained experts)",
                "invalid_request_error", "model_not_found", "model");
    }

    if (present(body, "n") && integerField(body, "n") != 1)
        throw badRequest(
            "only n = 1 is supported; got " + body["n"].dump() + " (send several requests instead)",
            "n", "unsupported_value");
    if (present(body, "best_of") && integerField(body, "best_of") != 1)
        throw badRequest("only best_of = 1 is supported", "best_of", "unsupported_value");
    if (present(body, "logprobs")
        && !(body["logprobs"].is_boolean() && !body["logprobs"].get<bool>()))
        throw badRequest("logprobs are not supported", "logprobs", "unsupported_value");
    if (present(body, "tools") || present(body, "functions"))
        throw badRequest("tools and functions are not supported", "tools", "unsupported_value");
    if (present(body, "stream"))
        r.stream = boolField(body, "stream");
    if (!chat && present(body, "echo"))
        r.echo = boolField(body, "echo");
    if (present(body, "return_token_ids"))
        r.returnTokenIds = boolField(body, "return_token_ids");

    GenerationOptions& o = r.options;
    for (const char* key : {"max_tokens", "max_completion_tokens"}) {
        if (present(body, key)) {
            const int64_t value = integerField(body, key);
            if (value < 1 || value > 1000000)
                throw badRequest(
                    std::string("'") + key + "' must be at least 1; got " + std::to_string(value),
                    key);
            o.maxNewTokens = int(value);
        }
    }
    if (present(body, "temperature"))
        o.temperature = numberField(body, "temperature");
    if (present(body, "top_p"))
        o.topP = numberField(body, "top_p");
    if (present(body, "top_k"))
        o.topK = int(integerField(body, "top_k"));
    if (present(body, "repetition_penalty"))
        o.repetitionPenalty = numberField(body, "repetition_penalty");
    if (present(body, "seed"))
        o.seed = uint64_t(integerField(body, "seed"));
    // frequency_penalty, presence_penalty, logit_bias, user: accepted and ignored.
    try {
        o.validate();
    } catch (const Error& e) {
        throw badRequest(e.what());
    }

    if (present(body, "stop")) {
        const json& stop = body["stop"];
        if (stop.is_string()) {
            r.stops.push_back(stop.get<std::string>());
        } else if (stop.is_array()) {
            for (const json& s : stop) {
                if (!s.is_string())
                    throw badRequest(
                        "'stop' must be a string or a list of strings", "stop", "invalid_type");
                r.stops.push_back(s.get<std::string>());
            }
        } else {
            throw badRequest(
                "'stop' must be a string or a list of strings", "stop", "invalid_type");
        }
        r.stops.erase(std::remove(r.stops.begin(), r.stops.end(), std::string()), r.stops.end());
    }

    if (forwarding) {
        if (chat)
            parseMessages(body, r);
        else
            parsePrompt(body, r);
        return r;
    }
    if (chat) {
        parseMessages(body, r);
        // The one chat turn (chatturn.h): its budget rule and template.
        try {
            const ChatTurn turn = prepareChatTurn(r.systemPrompt, r.turns, o, engine);
            r.prompt = turn.prompt.text;
            r.promptTokens = turn.prompt.tokens;
        } catch (const PromptTooLongError& e) {
            throw HttpError(400, e.what(), "invalid_request_error", "context_length_exceeded",
                "messages");
        }
        return r;
    }
    parsePrompt(body, r);
    const int64_t context = engine.baseConfig().maxPositions;
    r.promptTokens = {engine.baseConfig().bosTokenId};
    const std::vector<int32_t> text = engine.tokenizer().encode(r.prompt);
    r.promptTokens.insert(r.promptTokens.end(), text.begin(), text.end());
    const int64_t promptTokens = int64_t(r.promptTokens.size());
    if (promptTokens >= context)
        throw HttpError(400,
            "the prompt has " + std::to_string(promptTokens) + " tokens; the model's context holds "
                + std::to_string(context) + " (hint: shorten the prompt)",
            "invalid_request_error", "context_length_exceeded", "prompt");
    return r;
}

// ---- responses ----

std::string finishReason(const std::string& stopReason, bool stopSequence)
{
    if (stopSequence || stopReason == "eos")
        return "stop";
    if (stopReason == "length")
        return "length";
    return "stop";
}

json candidatesJson(const RouteDecision& route)
{
    json list = json::array();
    for (const RouteCandidate& c : route.candidates)
        list.push_back({{"expert", c.expert}, {"distance", numberOrNull(c.distance)}});
    return list;
}

json moinField(const ApiRequest& r, const std::optional<RouteDecision>& route,
    const std::string& answeredBy, double distance, const std::vector<std::string>& keywords)
{
    json out = {{"requested", r.choice.toString()}, {"answered_by", answeredBy},
        {"answer_distance", numberOrNull(distance)}, {"keywords", keywords}};
    if (route) {
        out["expert"] = route->expert;
        out["distance"] = numberOrNull(route->distance);
        out["candidates"] = candidatesJson(*route);
    } else {
        out["expert"] = nullptr;
        out["distance"] = nullptr;
        out["candidates"] = json::array();
    }
    return out;
}

json moinField(const ApiRequest& r, const CompletionResult& result)
{
    std::optional<RouteDecision> route;
    if (!result.route.candidates.empty())
        route = result.route;
    json out = moinField(r, route, result.answeredBy, answerDistance(result), result.keywords);
    out["queue_seconds"] = result.queueSeconds;
    out["adapter_load_seconds"] = result.adapterLoadSeconds;
    out["first_token_seconds"] = result.firstTokenSeconds;
    out["total_seconds"] = result.totalSeconds;
    out["batch_peers"] = result.batchPeers;
    return out;
}

json usageJson(const CompletionResult& result)
{
    const int prompt = result.generation.promptTokens;
    const int completion = int(result.generation.tokens.size());
    return {{"prompt_tokens", prompt}, {"completion_tokens", completion},
        {"total_tokens", prompt + completion}};
}

/// Who answers a request by this server's router: the decision (when there is a router), the
/// answering expert (-1: the base) and what the "moin" field says of it.
struct Routed {
    std::optional<RouteDecision> route;
    int expert = -1;
    std::string answeredBy = "base";
    std::vector<std::string> keywords;
    double distance = std::nan("");
};

Routed routeRequest(const ServingEngine& engine, const ApiRequest& request)
{
    Routed out;
    if (engine.hasRouter()) {
        try {
            out.route = engine.route(request.routingText);
        } catch (const Error&) {
        }
    }
    int answering = -1;
    if (request.choice.kind == ExpertChoice::Kind::Expert)
        answering = request.choice.expert;
    else if (request.choice.kind == ExpertChoice::Kind::Auto && out.route)
        answering = out.route->expert;
    for (const ServedExpert& expert : engine.experts()) {
        if (expert.id == answering) {
            out.expert = expert.id;
            out.answeredBy = std::to_string(expert.id);
            out.keywords = expert.keywords;
        }
    }
    if (out.route && out.expert >= 0) {
        for (const RouteCandidate& c : out.route->candidates)
            if (c.expert == out.expert)
                out.distance = c.distance;
    }
    return out;
}

// ---- one request between the HTTP thread and the engine's thread ----

struct Exchange {
    ApiRequest request;
    std::string id;
    int64_t created = 0;
    Clock::time_point received;
    std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
    std::future<CompletionResult> future;
    /// Touched only on the engine's thread until the future is ready.
    AnswerText filter {AnswerText::Kind::Chat};
    std::atomic<bool> clientGone {false};

    std::mutex mutex;
    std::condition_variable changed;
    std::string ready; // guarded by mutex: filtered text not yet sent
    bool sentFirst = false; // the streaming thread's own
    bool completed = false; // the streaming thread's own: the final chunk went out
};

// httplib listens with a backlog of 5: a burst of clients (64 connecting at once) overflows it
// and waits for SYN retransmits (1 s, 3 s, 7 s, ...). This lets start() raise the backlog.
class ListeningServer : public httplib::Server {
public:
    void raiseBacklog() { ::listen(svr_sock_, SOMAXCONN); }
};

} // namespace

struct HttpApiServer::Impl {
    ServingEngine& engine;
    HttpApiOptions options;
    std::unique_ptr<ListeningServer> server;
    std::thread listener;
    std::atomic<int> boundPort {0};

    std::mutex tokensMutex;
    std::set<std::shared_ptr<CancelToken>> tokens; // guarded by tokensMutex: requests running

    std::mutex recordMutex;
    std::optional<Workspace> workspace; // guarded by recordMutex: one connection, one writer

    std::atomic<int64_t> completions {0};
    std::atomic<int64_t> errors {0};
    std::atomic<int64_t> disconnects {0};
    std::atomic<int64_t> recorded {0};
    std::atomic<int64_t> recordFailures {0};
    std::atomic<int64_t> forwarded {0};
    std::atomic<int64_t> upstreamFailures {0};

    /// Set by start() when options.upstream.url is: generation goes there.
    std::unique_ptr<UpstreamClient> upstream;

    Impl(ServingEngine& engine, HttpApiOptions options)
        : engine(engine)
        , options(std::move(options))
    {
    }

    // ---- handlers ----

    json modelsJson() const
    {
        const auto now = int64_t(std::time(nullptr));
        json data = json::array();
        auto entry = [&](const std::string& id, const std::string& description) {
            return json {{"id", id}, {"object", "model"}, {"created", now}, {"owned_by", "moin"},
                {"description", description}};
        };
        if (engine.hasRouter()) {
            data.push_back(entry("auto", "routed: each query goes to its nearest expert"));
            data.push_back(entry("moin-router", "the same as auto"));
        }
        data.push_back(entry("base", "the base model alone, no expert"));
        for (const ServedExpert& expert : engine.experts()) {
            json model = entry(expertModelName(expert.id),
                "the expert of cluster " + std::to_string(expert.id));
            model["expert"] = expert.id;
            model["keywords"] = expert.keywords;
            model["cluster_size"] = expert.clusterSize;
            model["base_perplexity"] = numberOrNull(expert.basePerplexity);
            model["expert_perplexity"] = numberOrNull(expert.expertPerplexity);
            model["run"] = engine.runId();
            data.push_back(std::move(model));
        }
        return {{"object", "list"}, {"data", data}};
    }

    void handleModels(const httplib::Request&, httplib::Response& res)
    {
        res.set_content(dumpJson(modelsJson()), "application/json");
    }

    void handleModel(const httplib::Request& req, httplib::Response& res)
    {
        const std::string id = req.matches[1];
        const json models = modelsJson();
        for (const json& model : models["data"]) {
            if (model["id"] == id) {
                res.set_content(dumpJson(model), "application/json");
                return;
            }
        }
        throw HttpError(404, "The model '" + id + "' does not exist", "invalid_request_error",
            "model_not_found", "model");
    }

    std::shared_ptr<Exchange> submit(ApiRequest request)
    {
        auto exchange = std::make_shared<Exchange>();
        exchange->request = std::move(request);
        exchange->id = randomId(exchange->request.chat ? "chatcmpl-" : "cmpl-");
        exchange->created = int64_t(std::time(nullptr));
        exchange->received = Clock::now();
        exchange->filter = AnswerText(
            exchange->request.chat ? AnswerText::Kind::Chat : AnswerText::Kind::Continuation,
            &engine.tokenizer(), exchange->request.stops);

        CompletionRequest completion;
        completion.prompt = exchange->request.prompt;
        completion.routingText = exchange->request.routingText;
        completion.expert = exchange->request.choice;
        completion.options = exchange->request.options;
        completion.cancel = exchange->cancel;
        Exchange* raw = exchange.get(); // lives until the future is ready (the caller waits)
        completion.onToken = [raw](const std::string& delta, int32_t token) {
            const std::string out = raw->filter.push(delta, token);
            if (!out.empty()) {
                std::lock_guard<std::mutex> lock(raw->mutex);
                raw->ready += out;
            }
            raw->changed.notify_all();
            return !raw->filter.stopped() && !raw->clientGone.load();
        };
        {
            std::lock_guard<std::mutex> lock(tokensMutex);
            tokens.insert(exchange->cancel);
        }
        try {
            exchange->future = engine.submit(std::move(completion));
        } catch (const Error& e) {
            release(*exchange);
            const std::string message = e.what();
            if (message.find("busy") != std::string::npos
                || message.find("shutting down") != std::string::npos)
                throw HttpError(503, message, "server_error", "server_busy");
            throw badRequest(message);
        }
        return exchange;
    }

    void release(Exchange& exchange)
    {
        std::lock_guard<std::mutex> lock(tokensMutex);
        tokens.erase(exchange.cancel);
    }

    // The engine's answer; maps its failures to HTTP errors.
    static CompletionResult resultOf(Exchange& exchange)
    {
        try {
            return exchange.future.get();
        } catch (const Error& e) {
            const std::string message = e.what();
            if (message.find("shutting down") != std::string::npos)
                throw HttpError(503, message, "server_error", "server_busy");
            throw badRequest(message);
        } catch (const std::exception& e) {
            throw HttpError(500, std::string("generation failed: ") + e.what(), "server_error",
                "internal_error");
        }
    }

    // A client that left after the whole answer was generated did not cut it: the record keeps
    // why generation ended.
    std::string stopReasonOf(const Exchange& exchange, const CompletionResult& result) const
    {
        const std::string& reason = result.generation.stopReason;
        if (exchange.clientGone && (reason == "cancelled" || reason == "callback"))
            return "cancelled";
        if (exchange.filter.stopped())
            return "stop";
        return reason;
    }

    void handleCompletion(const httplib::Request& req, httplib::Response& res, bool chat)
    {
        if (upstream) {
            handleForward(req, res, chat);
            return;
        }
        ApiRequest request = parseRequest(req, chat, engine, false);
        if (request.stream) {
            startStream(std::move(request), res);
            return;
        }
        std::shared_ptr<Exchange> exchange = submit(std::move(request));
        CompletionResult result;
        try {
            result = resultOf(*exchange);
        } catch (...) {
            release(*exchange);
            throw;
        }
        release(*exchange);
        exchange->filter.finish();
        const ApiRequest& r = exchange->request;
        std::string text = exchange->filter.text();
        record(*exchange, result, text);
        if (r.echo)
            text = r.prompt + text;
        const std::string finish
            = finishReason(result.generation.stopReason, exchange->filter.stopped());
        json choice = {{"index", 0}, {"finish_reason", finish}, {"logprobs", nullptr}};
        if (chat)
            choice["message"] = {{"role", "assistant"}, {"content", text}};
        else
            choice["text"] = text;
        if (r.returnTokenIds)
            choice["token_ids"] = result.generation.tokens;
        json body
            = {{"id", exchange->id}, {"object", chat ? "chat.completion" : "text_completion"},
                {"created", exchange->created}, {"model", r.model}, {"system_fingerprint", nullptr},
                {"choices", json::array({choice})}, {"usage", usageJson(result)},
                {"moin", moinField(r, result)}};
        if (r.returnTokenIds)
            body["prompt_token_ids"] = r.promptTokens;
        ++completions;
        res.set_content(dumpJson(body), "application/json");
    }

    // ---- streaming ----

    json chunk(const Exchange& exchange, const std::string& text, bool first) const
    {
        const ApiRequest& r = exchange.request;
        json choice = {{"index", 0}, {"finish_reason", nullptr}, {"logprobs", nullptr}};
        if (r.chat) {
            choice["delta"] = first ? json {{"role", "assistant"}, {"content", text}}
                                    : json {{"content", text}};
        } else {
            choice["text"] = text;
        }
        return {{"id", exchange.id},
            {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
            {"created", exchange.created}, {"model", r.model}, {"system_fingerprint", nullptr},
            {"choices", json::array({choice})}};
    }

    static bool writeEvent(httplib::DataSink& sink, const json& data)
    {
        const std::string event = "data: " + dumpJson(data) + "\n\n";
        return sink.write(event.data(), event.size());
    }

    void startStream(ApiRequest request, httplib::Response& res)
    {
        // The routing decision for the first chunk (the engine routes again, identically).
        const Routed routed = routeRequest(engine, request);
        json first;
        std::shared_ptr<Exchange> exchange = submit(std::move(request));
        first = chunk(*exchange, "", true);
        first["moin"] = moinField(
            exchange->request, routed.route, routed.answeredBy, routed.distance, routed.keywords);
        if (exchange->request.returnTokenIds)
            first["prompt_token_ids"] = exchange->request.promptTokens;

        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, exchange, first](
                size_t, httplib::DataSink& sink) { return streamStep(*exchange, first, sink); },
            [this, exchange](bool) { endStream(*exchange); });
    }

    // One call per piece written; httplib calls again until sink.done() or false (the client
    // went away: the request is cancelled).
    bool streamStep(Exchange& exchange, const json& first, httplib::DataSink& sink)
    {
        auto gone = [&] {
            exchange.clientGone = true;
            exchange.cancel->cancel();
            ++disconnects;
            return false;
        };
        if (!exchange.sentFirst) {
            exchange.sentFirst = true;
            if (!writeEvent(sink, first))
                return gone();
            return true;
        }
        // The engine does not signal the end on our condition variable: poll the future often,
        // and send an SSE comment now and then, so that a client that left is noticed.
        std::string text;
        bool finished = false;
        const auto idleSince = Clock::now();
        while (true) {
            {
                std::unique_lock<std::mutex> lock(exchange.mutex);
                exchange.changed.wait_for(
                    lock, std::chrono::milliseconds(5), [&] { return !exchange.ready.empty(); });
                text.swap(exchange.ready);
            }
            finished
                = exchange.future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
            if (!text.empty() || finished)
                break;
            if (Clock::now() - idleSince > std::chrono::seconds(1)) {
                static const char kKeepAlive[] = ": keep-alive\n\n";
                if (!sink.write(kKeepAlive, sizeof kKeepAlive - 1))
                    return gone();
                return true;
            }
        }
        if (finished) {
            // Everything the engine's thread produced is visible now that the future is ready.
            std::lock_guard<std::mutex> lock(exchange.mutex);
            text += exchange.ready;
            exchange.ready.clear();
        }
        if (!text.empty() && !writeEvent(sink, chunk(exchange, text, false)))
            return gone();
        if (!finished)
            return true;

        CompletionResult result;
        try {
            result = resultOf(exchange);
        } catch (const HttpError& e) {
            release(exchange);
            exchange.completed = true;
            ++errors;
            writeEvent(sink, errorBody(e.what(), e.type, e.code, e.param));
            static const char kDone[] = "data: [DONE]\n\n";
            sink.write(kDone, sizeof kDone - 1);
            sink.done();
            return true;
        }
        release(exchange);
        exchange.completed = true;
        const std::string rest = exchange.filter.finish();
        record(exchange, result, exchange.filter.text());
        if (!rest.empty() && !writeEvent(sink, chunk(exchange, rest, false)))
            return gone();
        json last = chunk(exchange, "", false);
        last["choices"][0]["finish_reason"]
            = finishReason(result.generation.stopReason, exchange.filter.stopped());
        if (exchange.request.chat)
            last["choices"][0]["delta"] = json::object();
        last["usage"] = usageJson(result);
        last["moin"] = moinField(exchange.request, result);
        ++completions;
        static const char kDone[] = "data: [DONE]\n\n";
        if (!writeEvent(sink, last) || !sink.write(kDone, sizeof kDone - 1))
            return gone();
        sink.done();
        return true;
    }

    // Always called when the response ends: a stream cut short is cancelled and still recorded.
    void endStream(Exchange& exchange)
    {
        if (exchange.completed)
            return;
        exchange.clientGone = true;
        exchange.cancel->cancel();
        try {
            CompletionResult result = exchange.future.get();
            exchange.filter.finish();
            record(exchange, result, exchange.filter.text());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "moin api: a cancelled stream failed: %s\n", e.what());
        }
        release(exchange);
    }

    // ---- forwarding to an upstream server ----

    /// One streamed forward, between the HTTP worker's calls of the content provider.
    struct Forward {
        ApiRequest request;
        Routed routed;
        std::string upstreamModel;
        std::string id;
        Clock::time_point received;
        std::shared_ptr<UpstreamStream> stream;
        std::string text;
        std::string finishReason;
        json usage;
        double firstTokenSeconds = 0;
        bool sentMoin = false;
        bool completed = false;
        /// The client asked for the usage chunk (stream_options.include_usage).
        bool clientWantsUsage = false;
    };

    static double secondsSince(Clock::time_point start)
    {
        return std::chrono::duration<double>(Clock::now() - start).count();
    }

    json forwardMoinField(
        const ApiRequest& r, const Routed& routed, const std::string& model, double seconds) const
    {
        json out = moinField(r, routed.route, routed.answeredBy, routed.distance, routed.keywords);
        out["upstream"] = upstream->url();
        out["upstream_model"] = model;
        out["total_seconds"] = seconds;
        return out;
    }

    static ChatMessage forwardedAnswer(const ApiRequest& r, const Routed& routed,
        const std::string& text, const json& usage, double seconds, double firstTokenSeconds,
        const std::string& stopReason)
    {
        ChatMessage answer;
        answer.role = "assistant";
        answer.content = text;
        answer.answeredBy = routed.answeredBy;
        answer.expertChoice = r.choice.toString();
        answer.distance = routed.distance;
        if (routed.route)
            answer.candidatesJson = candidatesToJson(routed.route->candidates);
        if (usage.is_object()) {
            answer.promptTokens = usage.value("prompt_tokens", 0);
            answer.completionTokens = usage.value("completion_tokens", 0);
        }
        answer.latencySeconds = seconds;
        answer.firstTokenSeconds = firstTokenSeconds;
        answer.tokensPerSecond = seconds > 0 ? answer.completionTokens / seconds : 0.0;
        answer.stopReason = stopReason;
        return answer;
    }

    static std::string textOf(const json& choice, bool chat, bool delta)
    {
        const json* holder = &choice;
        if (chat) {
            const char* key = delta ? "delta" : "message";
            if (!choice.contains(key) || !choice[key].is_object())
                return {};
            holder = &choice[key];
        }
        const char* field = chat ? "content" : "text";
        if (holder->contains(field) && (*holder)[field].is_string())
            return (*holder)[field].get<std::string>();
        return {};
    }

    // Routing and the record stay here; the upstream generates, asked for the chosen expert by
    // the name it holds the adapter under.
    void handleForward(const httplib::Request& req, httplib::Response& res, bool chat)
    {
        ApiRequest r = parseRequest(req, chat, engine, true);
        const Routed routed = routeRequest(engine, r);
        const std::string model = routed.expert >= 0 ? expertModelName(routed.expert) : "base";
        json body = r.body;
        body["model"] = model;
        const std::string id = randomId(chat ? "chatcmpl-" : "cmpl-");
        const Clock::time_point received = Clock::now();
        const char* path = chat ? "/v1/chat/completions" : "/v1/completions";
        ++forwarded;
        if (r.stream) {
            startForwardStream(std::move(r), routed, model, id, received, path, body, res);
            return;
        }
        json answer;
        try {
            answer = upstream->post(path, dumpJson(body));
        } catch (const UpstreamFailure& e) {
            ++upstreamFailures;
            record(r, id, std::nullopt); // the question is kept
            throw HttpError(e.status, e.what(), e.type, e.code, e.param);
        }
        const double seconds = secondsSince(received);
        const json& choice = answer["choices"][0];
        const std::string text = textOf(choice, chat, false);
        std::string finish = "stop";
        if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
            finish = choice["finish_reason"].get<std::string>();
        const json usage = answer.value("usage", json());
        answer["model"] = r.model;
        answer["moin"] = forwardMoinField(r, routed, model, seconds);
        record(r, id, forwardedAnswer(r, routed, text, usage, seconds, seconds, finish));
        ++completions;
        res.set_content(dumpJson(answer), "application/json");
    }

    void startForwardStream(ApiRequest r, const Routed& routed, const std::string& model,
        const std::string& id, Clock::time_point received, const char* path, json body,
        httplib::Response& res)
    {
        body["stream"] = true;
        auto forward = std::make_shared<Forward>();
        // vLLM sends token counts in a stream only when asked; the record needs them. A usage
        // chunk the client did not ask for is kept from it.
        const json* options = body.contains("stream_options") && body["stream_options"].is_object()
                                  ? &body["stream_options"]
                                  : nullptr;
        forward->clientWantsUsage = options && options->value("include_usage", false);
        if (!options)
            body.erase("stream_options");
        body["stream_options"]["include_usage"] = true;
        forward->stream = upstream->stream(path, dumpJson(body));
        try {
            // Failures before the first byte get a status of their own, not a broken stream.
            forward->stream->waitForStart();
        } catch (const UpstreamFailure& e) {
            ++upstreamFailures;
            record(r, id, std::nullopt);
            throw HttpError(e.status, e.what(), e.type, e.code, e.param);
        }
        forward->request = std::move(r);
        forward->routed = routed;
        forward->upstreamModel = model;
        forward->id = id;
        forward->received = received;
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, forward](size_t, httplib::DataSink& sink) {
                return forwardStep(*forward, sink);
            },
            [this, forward](bool) {
                if (!forward->completed) {
                    forward->stream->cancel();
                    finishForward(*forward, "cancelled");
                }
            });
    }

    void finishForward(Forward& f, const std::string& stopReason)
    {
        if (f.completed)
            return;
        f.completed = true;
        record(f.request, f.id,
            forwardedAnswer(f.request, f.routed, f.text, f.usage, secondsSince(f.received),
                f.firstTokenSeconds, stopReason));
    }

    // Ends a stream the upstream broke: an error event, then [DONE]; the partial answer is
    // recorded as such.
    bool failForward(Forward& f, httplib::DataSink& sink, const std::string& what)
    {
        ++upstreamFailures;
        f.stream->cancel();
        finishForward(f, "upstream_error");
        const std::string message = "the upstream server " + upstream->url() + " " + what
            + "; the stream ends here after " + std::to_string(f.text.size())
            + " bytes of answer, which are recorded as a partial answer (retry the request)";
        writeEvent(sink, errorBody(message, "server_error", "upstream_stream_failed", ""));
        static const char kDone[] = "data: [DONE]\n\n";
        sink.write(kDone, sizeof kDone - 1);
        sink.done();
        return true;
    }

    // One upstream event per call, passed on with our model name and "moin" field.
    bool forwardStep(Forward& f, httplib::DataSink& sink)
    {
        auto gone = [&] {
            ++disconnects;
            f.stream->cancel();
            finishForward(f, "cancelled");
            return false;
        };
        static const char kDone[] = "data: [DONE]\n\n";
        const std::optional<std::string> event = f.stream->nextEvent(1.0);
        if (!event) {
            if (!f.stream->finished()) {
                // Nothing new: a comment notices a client that left.
                static const char kKeepAlive[] = ": keep-alive\n\n";
                return sink.write(kKeepAlive, sizeof kKeepAlive - 1) ? true : gone();
            }
            const std::string why = f.stream->failure();
            if (why.empty() && !f.finishReason.empty()) {
                // Complete (a finish reason came) but without [DONE]: end it as the upstream
                // meant to.
                finishForward(f, f.finishReason);
                ++completions;
                if (!sink.write(kDone, sizeof kDone - 1))
                    return false;
                sink.done();
                return true;
            }
            return failForward(f, sink,
                why.empty() ? "closed the stream before its end ([DONE])"
                            : "broke the stream: " + why);
        }
        std::string data;
        bool isData = false;
        size_t start = 0;
        while (start <= event->size()) {
            size_t end = event->find('\n', start);
            if (end == std::string::npos)
                end = event->size();
            std::string line = event->substr(start, end - start);
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            if (line.rfind("data:", 0) == 0) {
                std::string value = line.substr(5);
                if (!value.empty() && value[0] == ' ')
                    value.erase(0, 1);
                data += (isData ? "\n" : "") + value;
                isData = true;
            }
            start = end + 1;
        }
        if (!isData) {
            const std::string comment = *event + "\n\n"; // keep-alives pass through
            return sink.write(comment.data(), comment.size()) ? true : gone();
        }
        if (data == "[DONE]") {
            finishForward(f, f.finishReason.empty() ? "stop" : f.finishReason);
            ++completions;
            if (!sink.write(kDone, sizeof kDone - 1))
                return false;
            sink.done();
            return true;
        }
        json piece;
        try {
            piece = json::parse(data);
        } catch (const json::exception&) {
            return failForward(
                f, sink, "sent an event that is not JSON: '" + utf8Prefix(data, 80) + "'");
        }
        if (!piece.is_object())
            return failForward(f, sink, "sent an event that is not a JSON object");
        if (piece.contains("error")) {
            std::string message = piece["error"].dump();
            if (piece["error"].is_object() && piece["error"].contains("message")
                && piece["error"]["message"].is_string())
                message = piece["error"]["message"].get<std::string>();
            return failForward(f, sink, "reported an error mid-stream: " + message);
        }
        bool last = false;
        if (piece.contains("choices") && piece["choices"].is_array()
            && !piece["choices"].empty()) {
            const json& choice = piece["choices"][0];
            const std::string text = textOf(choice, f.request.chat, true);
            if (!text.empty() && f.text.empty())
                f.firstTokenSeconds = secondsSince(f.received);
            f.text += text;
            if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
                f.finishReason = choice["finish_reason"].get<std::string>();
                last = true;
            }
        }
        if (piece.contains("usage") && piece["usage"].is_object()) {
            f.usage = piece["usage"];
            if (!f.clientWantsUsage) {
                piece.erase("usage");
                if (!piece.contains("choices") || !piece["choices"].is_array()
                    || piece["choices"].empty())
                    return true; // only the usage the client did not ask for
            } else {
                last = true;
            }
        }
        piece["model"] = f.request.model;
        piece.erase("moin"); // an upstream moin's own decision (it was told the expert)
        if (!f.sentMoin || last) {
            piece["moin"] = forwardMoinField(
                f.request, f.routed, f.upstreamModel, secondsSince(f.received));
            f.sentMoin = true;
        }
        return writeEvent(sink, piece) ? true : gone();
    }

    // ---- the record in the workspace ----

    void record(const Exchange& exchange, const CompletionResult& result, const std::string& answer)
    {
        const ApiRequest& r = exchange.request;
        record(r, exchange.id,
            turnOf(r).answer(result, answer, r.choice.toString(), stopReasonOf(exchange, result)));
    }

    /// The request as a chat turn: what is recorded (the prompt was built in parseRequest).
    static ChatTurn turnOf(const ApiRequest& r)
    {
        ChatTurn turn;
        turn.systemPrompt = r.systemPrompt;
        turn.turns = r.turns;
        turn.question = r.routingText;
        turn.options = r.options;
        return turn;
    }

    /// Records the request's messages and, unless it failed before any answer, the answer: a
    /// new conversation per request (the API is stateless).
    void record(const ApiRequest& r, const std::string& requestId,
        const std::optional<ChatMessage>& answer)
    {
        if (options.workspaceDirectory.empty())
            return;
        try {
            std::lock_guard<std::mutex> lock(recordMutex);
            if (!workspace)
                workspace = Workspace::open(options.workspaceDirectory);
            Conversation settings;
            settings.expertChoice = r.choice.toString();
            settings.source = "api";
            ChatSession::recordExchange(
                *workspace, settings, turnOf(r), answer ? &*answer : nullptr);
            ++recorded;
        } catch (const std::exception& e) {
            ++recordFailures;
            std::fprintf(stderr, "moin api: could not record request %s: %s\n", requestId.c_str(),
                e.what());
        }
    }

    // ---- plumbing ----

    template<typename Handler> httplib::Server::Handler guarded(Handler handler)
    {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            try {
                handler(req, res);
            } catch (const HttpError& e) {
                if (e.status == 503)
                    res.set_header("Retry-After", "1");
                sendError(res, e.status, e.what(), e.type, e.code, e.param);
            } catch (const Error& e) {
                sendError(res, 400, e.what(), "invalid_request_error", "invalid_value");
            } catch (const std::exception& e) {
                sendError(res, 500, std::string("internal error: ") + e.what(), "server_error",
                    "internal_error");
            }
        };
    }

    bool authorized(const httplib::Request& req) const
    {
        if (options.apiKey.empty())
            return true;
        const std::string expected = "Bearer " + options.apiKey;
        const std::string given = req.get_header_value("Authorization");
        // Constant time in the key's length: no early exit on the first differing byte.
        unsigned difference = given.size() != expected.size();
        for (size_t i = 0; i < expected.size(); ++i)
            difference |= unsigned(i < given.size() ? given[i] ^ expected[i] : 1);
        return difference == 0;
    }

    static const char* allowedMethods(const std::string& path)
    {
        if (path == "/v1/chat/completions" || path == "/v1/completions")
            return "POST";
        if (path == "/v1/models" || path.rfind("/v1/models/", 0) == 0 || path == "/health")
            return "GET";
        return nullptr;
    }

    void setUp()
    {
        server = std::make_unique<ListeningServer>();
        const int threads = options.threads;
        server->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
        server->set_payload_max_length(size_t(options.maxBodyBytes));
        server->set_keep_alive_timeout(options.keepAliveSeconds);
        server->set_tcp_nodelay(true);
        server->set_pre_routing_handler(
            [this](const httplib::Request& req, httplib::Response& res) {
                if (req.path == "/health" || authorized(req))
                    return httplib::Server::HandlerResponse::Unhandled;
                res.set_header("WWW-Authenticate", "Bearer");
                sendError(res, 401,
                    "Incorrect or missing API key: send the header 'Authorization: "
                    "Bearer <key>' with the key `moin serve --api-key` was given",
                    "invalid_request_error", "invalid_api_key");
                return httplib::Server::HandlerResponse::Handled;
            });
        server->Get("/health", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("{\"status\":\"ok\"}", "application/json");
        });
        server->Get(
            "/v1/models", guarded([this](const httplib::Request& req, httplib::Response& res) {
                handleModels(req, res);
            }));
        server->Get(R"(/v1/models/([^/]+))",
            guarded([this](const httplib::Request& req, httplib::Response& res) {
                handleModel(req, res);
            }));
        server->Post("/v1/chat/completions",
            guarded([this](const httplib::Request& req, httplib::Response& res) {
                handleCompletion(req, res, true);
            }));
        server->Post(
            "/v1/completions", guarded([this](const httplib::Request& req, httplib::Response& res) {
                handleCompletion(req, res, false);
            }));
        // Called for every status >= 400; fills in the body of httplib's own refusals.
        server->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
            ++errors; // every refusal passes here, before it is written
            if (!res.body.empty())
                return;
            const char* allowed = allowedMethods(req.path);
            if (res.status == 404 && allowed) {
                res.set_header("Allow", allowed);
                sendError(res, 405,
                    req.method + " is not allowed on " + req.path + "; use " + allowed,
                    "invalid_request_error", "method_not_allowed");
            } else if (res.status == 404) {
                sendError(res, 404, "Invalid URL (" + req.method + " " + req.path + ")",
                    "invalid_request_error", "not_found");
            } else if (res.status == 413) {
                sendError(res, 413,
                    "the request body is larger than the limit of "
                        + std::to_string(options.maxBodyBytes) + " bytes",
                    "invalid_request_error", "request_too_large");
            } else {
                sendError(res, res.status,
                    "the request was refused (HTTP " + std::to_string(res.status) + ")",
                    "invalid_request_error", "");
            }
        });
        server->set_exception_handler(
            [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
                std::string message = "internal error";
                try {
                    std::rethrow_exception(error);
                } catch (const std::exception& e) {
                    message += std::string(": ") + e.what();
                } catch (...) {
                }
                sendError(res, 500, message, "server_error", "internal_error");
            });
    }
};

HttpApiServer::HttpApiServer(ServingEngine& engine, HttpApiOptions options)
    : m_impl(std::make_unique<Impl>(engine, std::move(options)))
{
}

HttpApiServer::~HttpApiServer()
{
    stop();
}

void HttpApiServer::start()
{
    Impl& d = *m_impl;
    if (d.server)
        throw Error(
            "the HTTP API server is already running on port " + std::to_string(d.boundPort.load()));
    const HttpApiOptions& o = d.options;
    if (o.port < 0 || o.port > 65535)
        throw Error("the port must be between 0 and 65535; got " + std::to_string(o.port));
    if (o.threads < 1 || o.threads > 4096)
        throw Error("HTTP threads must be between 1 and 4096; got " + std::to_string(o.threads));
    if (o.maxBodyBytes < 1)
        throw Error("the request body limit must be at least 1 byte");
    if (o.keepAliveSeconds < 0)
        throw Error("the keep-alive time must be 0 or more seconds");
    if (!o.upstream.url.empty())
        d.upstream = std::make_unique<UpstreamClient>(o.upstream);
    else if (!d.engine.canGenerate())
        throw Error("the serving engine only routes; give an upstream server that generates "
                    "(moin serve --upstream URL)");
    d.setUp();
    int port = o.port;
    if (port == 0) {
        port = d.server->bind_to_any_port(o.host);
    } else if (!d.server->bind_to_port(o.host, port)) {
        port = -1;
    }
    if (port <= 0) {
        d.server.reset();
        throw Error("cannot listen on " + o.host + ":" + std::to_string(o.port)
            + " (hint: is another server using the port? try --port 0 for a free one)");
    }
    d.boundPort = port;
    d.server->raiseBacklog();
    httplib::Server* server = d.server.get();
    d.listener = std::thread([server] { server->listen_after_bind(); });
    // The socket already accepts (bound and listening); wait until the loop serves it too, so
    // that isRunning() and run() see a running server.
    for (int i = 0; i < 5000 && !server->is_running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void HttpApiServer::stop()
{
    Impl& d = *m_impl;
    if (!d.server)
        return;
    {
        std::lock_guard<std::mutex> lock(d.tokensMutex);
        for (const auto& token : d.tokens)
            token->cancel();
    }
    d.server->stop();
    if (d.listener.joinable())
        d.listener.join();
    d.server.reset();
    d.boundPort = 0;
    std::lock_guard<std::mutex> lock(d.recordMutex);
    d.workspace.reset();
}

void HttpApiServer::run(const CancelToken& cancel)
{
    if (!m_impl->server)
        start();
    while (!cancel.isCancelled() && m_impl->server->is_running())
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop();
}

bool HttpApiServer::isRunning() const
{
    return m_impl->server && m_impl->server->is_running();
}

int HttpApiServer::port() const
{
    return m_impl->boundPort.load();
}

std::string HttpApiServer::url() const
{
    const std::string& host = m_impl->options.host;
    const bool v6 = host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port());
}

HttpApiStats HttpApiServer::stats() const
{
    HttpApiStats s;
    s.completions = m_impl->completions;
    s.errors = m_impl->errors;
    s.disconnects = m_impl->disconnects;
    s.recorded = m_impl->recorded;
    s.recordFailures = m_impl->recordFailures;
    s.forwarded = m_impl->forwarded;
    s.upstreamFailures = m_impl->upstreamFailures;
    return s;
}

} // namespace moin
