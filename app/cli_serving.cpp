// `moin serve`, `moin chat` and `moin generate DIR`: routed inference over a workspace's experts
// from the command line and as an OpenAI-compatible local HTTP API.
#include "cli_common.h"

#include "moin/conversations.h"
#include "moin/device.h"
#include "moin/error.h"
#include "moin/httpapi.h"
#include "moin/serving.h"
#include "moin/servingexport.h"
#include "moin/workspace.h"

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace {

struct EngineOptions {
    std::string device = "auto";
    int threads = 0;
    int cacheMb = 256;
    int64_t runId = 0;
};

void addEngineOptions(CLI::App* cmd, EngineOptions& options)
{
    cmd->add_option("--device", options.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--threads", options.threads, "CPU threads for the model (0: one per core)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--cache-mb", options.cacheMb, "MiB of expert adapters kept loaded")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--run", options.runId,
        "Clustering run whose experts answer (default: the "
        "active run)");
}

std::unique_ptr<moin::ServingEngine> openEngine(
    const std::string& dir, const EngineOptions& options, int maxBatch)
{
    if (!moin::Workspace::exists(dir))
        throw moin::Error("'" + dir + "' is not a workspace folder (hint: `moin init DIR`)");
    moin::ServingOptions serving;
    serving.device = options.device;
    serving.threads = options.threads;
    serving.adapterCacheBytes = int64_t(options.cacheMb) << 20;
    serving.maxBatch = maxBatch;
    serving.runId = options.runId;
    return moin::ServingEngine::open(dir, serving);
}

/// Parses --expert and checks that a forced expert is trained.
moin::ExpertChoice expertChoice(const std::string& text, const moin::ServingEngine& engine)
{
    const moin::ExpertChoice choice = moin::ExpertChoice::parse(text);
    if (choice.kind != moin::ExpertChoice::Kind::Expert)
        return choice;
    std::string trained;
    for (const moin::ServedExpert& expert : engine.experts()) {
        if (expert.id == choice.expert)
            return choice;
        trained += (trained.empty() ? "" : ", ") + std::to_string(expert.id);
    }
    throw moin::Error("expert " + std::to_string(choice.expert) + " has no trained adapter; "
        + (trained.empty() ? std::string("no expert is trained yet (see `moin train`)")
                           : "trained: " + trained));
}

double answerDistance(const moin::CompletionResult& result)
{
    if (result.answeredBy == "base")
        return std::nan("");
    for (const moin::RouteCandidate& c : result.route.candidates)
        if (std::to_string(c.expert) == result.answeredBy)
            return c.distance;
    return std::nan("");
}

double tokensPerSecond(const moin::CompletionResult& result)
{
    const moin::GenerationResult& g = result.generation;
    return g.decodeSeconds > 0 ? double(g.tokens.size()) / g.decodeSeconds : 0.0;
}

/// "[expert 3 · distance 0.42 · runner-ups 1 (0.55), 4 (0.61) · 35 tok/s]"
std::string badge(const moin::CompletionResult& result)
{
    std::ostringstream out;
    out << std::fixed << std::setprecision(2) << "[";
    const bool base = result.answeredBy == "base";
    out << (base ? std::string("base") : "expert " + result.answeredBy);
    const double distance = answerDistance(result);
    if (std::isfinite(distance))
        out << " · distance " << distance;
    std::string others;
    for (const moin::RouteCandidate& c : result.route.candidates) {
        if (std::to_string(c.expert) == result.answeredBy)
            continue;
        std::ostringstream one;
        one << std::fixed << std::setprecision(2) << c.expert << " (" << c.distance << ")";
        others += (others.empty() ? "" : ", ") + one.str();
    }
    if (!others.empty())
        out << (base ? " · nearest experts " : " · runner-ups ") << others;
    out << std::setprecision(0) << " · " << tokensPerSecond(result) << " tok/s]";
    return out.str();
}

// Ctrl-C during an answer stops the answer; at the prompt it ends the chat (the read is not
// restarted, so getline returns).
void installChatInterruptHandler()
{
    struct sigaction action { };
    action.sa_handler = [](int) { g_interrupt.cancel(); };
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

std::shared_ptr<moin::CancelToken> interruptToken()
{
    return std::shared_ptr<moin::CancelToken>(&g_interrupt, [](moin::CancelToken*) {});
}

void addServe(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "serve", "Serve the workspace's experts as an OpenAI-compatible HTTP API (/v1)");
    static std::string dir;
    static EngineOptions engineOptions;
    static moin::HttpApiOptions api;
    static int maxBatch = 16;
    static int maxQueue = 256;
    static bool noRecord = false;
    static int64_t maxBodyKb = 1024;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("--host", api.host, "Address to listen on (0.0.0.0: every interface)")
        ->capture_default_str();
    cmd->add_option("--port", api.port, "TCP port (0: a free one)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    cmd->add_option(
           "--api-key", api.apiKey, "Require 'Authorization: Bearer KEY' (also from MOIN_API_KEY)")
        ->envname("MOIN_API_KEY");
    cmd->add_option("--max-batch", maxBatch, "Requests decoded together at most")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    cmd->add_option("--max-queue", maxQueue, "Requests waiting at most (more get HTTP 503)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--http-threads", api.threads, "Connections served at once")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    cmd->add_option("--max-body-kb", maxBodyKb, "Largest request body, in KiB")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_flag("--no-record", noRecord, "Do not record requests as conversations");
    cmd->add_option("--upstream", api.upstream.url,
        "Route here, generate on this OpenAI-compatible server holding the experts as adapters "
        "expert-N (vLLM --enable-lora, another moin serve), e.g. http://127.0.0.1:8000");
    cmd->add_option("--upstream-key", api.upstream.apiKey,
           "Bearer key for the upstream (also from MOIN_UPSTREAM_KEY)")
        ->envname("MOIN_UPSTREAM_KEY");
    cmd->add_option("--upstream-timeout", api.upstream.timeoutSeconds,
           "Seconds to wait for the upstream to connect and for each piece of its answer")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    addEngineOptions(cmd, engineOptions);
    cmd->callback([] {
        api.maxBodyBytes = maxBodyKb << 10;
        moin::ServingOptions serving;
        serving.device = engineOptions.device;
        serving.threads = engineOptions.threads;
        serving.adapterCacheBytes = int64_t(engineOptions.cacheMb) << 20;
        serving.maxBatch = maxBatch;
        serving.maxQueue = maxQueue;
        serving.runId = engineOptions.runId;
        // With an upstream this process only routes: no base model unless the router embeds
        // with it.
        serving.routingOnly = !api.upstream.url.empty();
        if (!moin::Workspace::exists(dir))
            throw moin::Error("'" + dir + "' is not a workspace folder (hint: `moin init DIR`)");
        std::unique_ptr<moin::ServingEngine> engine = moin::ServingEngine::open(dir, serving);
        api.workspaceDirectory = noRecord ? std::string() : dir;
        moin::HttpApiServer server(*engine, api);
        installInterruptHandler();
        server.start();
        std::string experts;
        for (const moin::ServedExpert& expert : engine->experts())
            experts += (experts.empty() ? "" : " ") + std::to_string(expert.id);
        if (serving.routingOnly)
            std::cerr << "moin serve: routing here, generating on " << api.upstream.url
                      << " (experts as expert-N, the base as 'base')";
        else
            std::cerr << "moin serve: base " << engine->baseModelDirectory() << " on "
                      << engine->device();
        std::cerr << "; run " << engine->runId()
                  << ", experts: " << (experts.empty() ? "(none trained)" : experts)
                  << (engine->hasRouter() ? "" : "; no clustering run, so only 'base' answers")
                  << "\n";
        std::cout << "Serving on " << server.url() << "/v1 (OpenAI-compatible"
                  << (api.apiKey.empty() ? "" : ", API key required") << "); Ctrl-C stops\n"
                  << std::flush;
        server.run(g_interrupt);
        const moin::HttpApiStats stats = server.stats();
        std::cerr << "moin serve: stopped; " << stats.completions << " completions, "
                  << stats.errors << " refused, " << stats.disconnects
                  << " streams cut by their client, " << stats.recorded << " conversations recorded"
                  << (serving.routingOnly ? ", " + std::to_string(stats.forwarded) + " forwarded ("
                              + std::to_string(stats.upstreamFailures) + " failed upstream)"
                                          : std::string())
                  << (stats.recordFailures
                             ? ", " + std::to_string(stats.recordFailures) + " NOT recorded"
                             : std::string())
                  << "\n";
    });
}

void addChat(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "chat", "Chat with the workspace's experts in the terminal (each answer is routed)");
    static std::string dir;
    static std::string expert = "auto";
    static std::string system;
    static EngineOptions engineOptions;
    static moin::GenerationOptions options;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("--expert", expert, "Who answers: auto (routed), base, or an expert id")
        ->capture_default_str();
    cmd->add_option("--system", system, "System prompt");
    cmd->add_option("--max-tokens", options.maxNewTokens, "New tokens per answer at most")
        ->capture_default_str();
    cmd->add_option("--temperature", options.temperature, "0 for greedy decoding")
        ->capture_default_str();
    cmd->add_option("--top-k", options.topK, "0 disables")->capture_default_str();
    cmd->add_option("--top-p", options.topP, "1 disables")->capture_default_str();
    cmd->add_option("--seed", options.seed, "Sampler seed")->capture_default_str();
    addEngineOptions(cmd, engineOptions);
    cmd->callback([] {
        options.validate();
        std::unique_ptr<moin::ServingEngine> engine = openEngine(dir, engineOptions, 1);
        moin::ExpertChoice choice = expertChoice(expert, *engine);
        moin::Workspace workspace = moin::Workspace::open(dir);
        moin::ConversationStore store(workspace);
        moin::Conversation conversation;
        conversation.systemPrompt = system;
        conversation.options = options;
        conversation.expertChoice = choice.toString();
        conversation.source = "cli";
        std::vector<std::pair<std::string, std::string>> turns;
        const bool tty = isatty(0);
        installChatInterruptHandler();
        std::cerr << "moin chat: answering: " << choice.toString()
                  << "; commands: /expert auto|base|ID, /system TEXT, /quit\n";
        const int64_t context = engine->baseConfig().maxPositions;
        while (true) {
            if (tty)
                std::cerr << "> " << std::flush;
            g_interrupt.reset();
            std::string line;
            if (!std::getline(std::cin, line) || g_interrupt.isCancelled())
                break;
            while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
                line.pop_back();
            if (line.empty())
                continue;
            if (line == "/quit" || line == "/exit")
                break;
            if (line.rfind("/expert", 0) == 0) {
                try {
                    choice = expertChoice(line.size() > 8 ? line.substr(8) : "auto", *engine);
                    conversation.expertChoice = choice.toString();
                    if (conversation.id)
                        store.update(conversation);
                    std::cerr << "moin chat: answering: " << choice.toString() << "\n";
                } catch (const moin::Error& e) {
                    std::cerr << "moin chat: " << e.what() << "\n";
                }
                continue;
            }
            if (line.rfind("/system", 0) == 0) {
                system = line.size() > 8 ? line.substr(8) : std::string();
                conversation.systemPrompt = system;
                if (conversation.id)
                    store.update(conversation);
                std::cerr << "moin chat: system prompt " << (system.empty() ? "cleared" : "set")
                          << "\n";
                continue;
            }
            if (line[0] == '/') {
                std::cerr << "moin chat: unknown command " << line
                          << " (commands: /expert auto|base|ID, /system TEXT, /quit)\n";
                continue;
            }
            if (!conversation.id) {
                size_t end = std::min<size_t>(line.size(), 60);
                while (end < line.size() && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80)
                    --end; // not inside a UTF-8 character
                conversation.title = line.substr(0, end);
                conversation.id = store.create(conversation);
            }
            turns.push_back({"user", line});
            const int64_t budget
                = std::max<int64_t>(context / 2, context - 1 - int64_t(options.maxNewTokens));
            moin::CompletionRequest request;
            request.prompt = moin::buildChatPrompt(system, turns, engine->tokenizer(), int(budget));
            request.routingText = line;
            request.expert = choice;
            request.options = options;
            request.cancel = interruptToken();
            request.onToken = [](const std::string& delta, int32_t) {
                std::cout << delta << std::flush;
                return true;
            };
            moin::ChatMessage question;
            question.conversationId = conversation.id;
            question.role = "user";
            question.content = line;
            store.addMessage(question);
            moin::CompletionResult result;
            try {
                result = engine->complete(std::move(request));
            } catch (const moin::Error& e) {
                std::cout << "\n";
                std::cerr << "moin chat: " << e.what() << "\n";
                turns.pop_back();
                continue;
            }
            std::cout << "\n" << std::flush;
            std::string answer = result.generation.text;
            // Leading space of the first piece: "Assistant:" is followed by it.
            if (!answer.empty() && answer[0] == ' ')
                answer.erase(0, 1);
            std::cerr << badge(result)
                      << (result.generation.stopReason == "cancelled" ? " (interrupted)" : "")
                      << "\n";
            turns.push_back({"assistant", answer});
            moin::ChatMessage reply;
            reply.conversationId = conversation.id;
            reply.role = "assistant";
            reply.content = answer;
            reply.answeredBy = result.answeredBy;
            reply.expertChoice = choice.toString();
            reply.distance = answerDistance(result);
            std::ostringstream candidates;
            candidates << "[";
            for (size_t i = 0; i < result.route.candidates.size(); ++i)
                candidates << (i ? ", " : "")
                           << "{\"expert\": " << result.route.candidates[i].expert
                           << ", \"distance\": " << result.route.candidates[i].distance << "}";
            candidates << "]";
            reply.candidatesJson = candidates.str();
            reply.promptTokens = result.generation.promptTokens;
            reply.completionTokens = int(result.generation.tokens.size());
            reply.latencySeconds = result.totalSeconds;
            reply.firstTokenSeconds = result.firstTokenSeconds;
            reply.tokensPerSecond = tokensPerSecond(result);
            reply.stopReason = result.generation.stopReason;
            store.addMessage(reply);
        }
        if (conversation.id)
            std::cerr << "moin chat: saved as conversation " << conversation.id << "\n";
    });
}

} // namespace

void generateInWorkspace(const std::string& dir, const std::string& prompt,
    const std::string& expert, const moin::GenerationOptions& options, const std::string& device)
{
    EngineOptions engineOptions;
    engineOptions.device = device;
    std::unique_ptr<moin::ServingEngine> engine = openEngine(dir, engineOptions, 1);
    moin::CompletionRequest request;
    request.prompt = prompt;
    request.expert = expertChoice(expert, *engine);
    request.options = options;
    installInterruptHandler();
    request.cancel = interruptToken();
    // The prompt's continuation: a first token that begins a word keeps its space (decoding
    // the new tokens alone drops it).
    const moin::Tokenizer& tokenizer = engine->tokenizer();
    bool first = true;
    bool spacePending = false;
    request.onToken = [&](const std::string& delta, int32_t token) {
        if (first && token >= 0) {
            first = false;
            spacePending = tokenizer.idToPiece(token).rfind("\xE2\x96\x81", 0) == 0;
        }
        if (spacePending && !delta.empty()) {
            spacePending = false;
            if (delta[0] != ' ')
                std::cout << ' ';
        }
        std::cout << delta << std::flush;
        return true;
    };
    std::cout << prompt << std::flush;
    const moin::CompletionResult result = engine->complete(std::move(request));
    std::cout << "\n";
    std::fprintf(stderr, "%s [%zu tokens (%s); prompt %d tokens in %.0f ms; %s]\n",
        badge(result).c_str(), result.generation.tokens.size(),
        result.generation.stopReason.c_str(), result.generation.promptTokens,
        result.generation.prefillSeconds * 1000, engine->device().c_str());
}

namespace {

void addExportServing(CLI::App& app)
{
    auto* cmd = app.add_subcommand("export-serving",
        "Write a run's experts, launch command and manifest for a multi-LoRA server (vLLM)");
    static std::string dir;
    static std::string destination;
    static moin::ServingExportOptions options;
    std::string formats;
    for (const std::string& f : moin::servingExportFormats())
        formats += (formats.empty() ? "" : ", ") + f;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("DEST", destination, "Folder to write (new or empty)")->required();
    cmd->add_option("--format", options.format, "Server: " + formats)->capture_default_str();
    cmd->add_option("--run", options.runId, "Clustering run (default: the active run)");
    cmd->add_flag("--copy-base", options.copyBase,
        "Copy the base model into DEST/base (default: name the workspace's base folder)");
    cmd->add_flag("--force", options.force, "Replace an earlier export in DEST (a folder with its manifest.json)");
    cmd->callback([] {
        if (!moin::Workspace::exists(dir))
            throw moin::Error("'" + dir + "' is not a workspace folder (hint: `moin init DIR`)");
        moin::Workspace workspace = moin::Workspace::open(dir);
        const moin::ServingExportResult result
            = moin::exportServing(workspace, destination, options);
        std::cout << "Exported " << result.experts.size() << " experts of run " << result.runId
                  << " to " << result.directory << " (max LoRA rank " << result.maxRank
                  << ")\n"
                  << "  start the server:  " << result.directory << "/launch-vllm.sh --port 8000\n"
                  << "  route to it:       " << result.directory
                  << "/moin-upstream.sh http://127.0.0.1:8000\n";
    });
}

} // namespace

void addServingCommands(CLI::App& app)
{
    addServe(app);
    addChat(app);
    addExportServing(app);
}
