// `moin serve`, `moin chat` and `moin generate DIR`: routed inference over a workspace's experts
// from the command line and as an OpenAI-compatible local HTTP API.
#include "cli_common.h"

#include "moin/chatturn.h"
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
#include <optional>
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

/// "[expert 3 · distance 0.42 · runner-ups 1 (0.55), 4 (0.61) · 35 tok/s]"
std::string badge(const moin::CompletionResult& result)
{
    std::ostringstream out;
    out << std::fixed << std::setprecision(2) << "[";
    const bool base = result.answeredBy == "base";
    out << (base ? std::string("base") : "expert " + result.answeredBy);
    const double distance = moin::answerDistance(result);
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
    out << std::setprecision(0) << " · " << moin::tokensPerSecond(result.generation) << " tok/s]";
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

/// "moin chat: prompt of 57 tokens (2 earlier messages left out): 1 306 ..." for --verbose-prompt.
void printPrompt(const moin::ChatPrompt& prompt)
{
    std::cerr << "moin chat: prompt of " << prompt.tokens.size() << " tokens";
    if (prompt.droppedMessages > 0)
        std::cerr << " (" << prompt.droppedMessages << " earlier messages left out)";
    std::cerr << ":";
    for (int32_t token : prompt.tokens)
        std::cerr << ' ' << token;
    std::cerr << "\n";
}

void addChat(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "chat", "Chat with the workspace's experts in the terminal (each answer is routed)");
    static std::string dir;
    static std::string expert = "auto";
    static std::string system;
    static int64_t conversationId = 0;
    static bool verbosePrompt = false;
    static EngineOptions engineOptions;
    static moin::GenerationOptions options;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("--expert", expert, "Who answers: auto (routed), base, or an expert id")
        ->capture_default_str();
    cmd->add_option("--system", system, "System prompt");
    cmd->add_option("--conversation", conversationId,
        "Continue recorded conversation ID (from the app, the API or an earlier chat) with its "
        "settings; options given here change them");
    cmd->add_flag("--verbose-prompt", verbosePrompt,
        "Print each prompt's token ids to stderr before its answer");
    cmd->add_option("--max-tokens", options.maxNewTokens, "New tokens per answer at most")
        ->capture_default_str();
    cmd->add_option("--temperature", options.temperature, "0 for greedy decoding")
        ->capture_default_str();
    cmd->add_option("--top-k", options.topK, "0 disables")->capture_default_str();
    cmd->add_option("--top-p", options.topP, "1 disables")->capture_default_str();
    cmd->add_option("--seed", options.seed, "Sampler seed")->capture_default_str();
    addEngineOptions(cmd, engineOptions);
    cmd->callback([cmd] {
        options.validate();
        std::unique_ptr<moin::ServingEngine> engine = openEngine(dir, engineOptions, 1);
        moin::Workspace workspace = moin::Workspace::open(dir);
        std::optional<moin::ChatSession> session;
        moin::Conversation settings;
        if (conversationId != 0) {
            session.emplace(workspace, conversationId);
            // The conversation's settings, but for the options given on this command line.
            settings = session->conversation();
            const auto given = [cmd](const char* name) { return cmd->count(name) > 0; };
            if (given("--system"))
                settings.systemPrompt = system;
            if (given("--expert"))
                settings.expertChoice = expert;
            moin::GenerationOptions& o = settings.options;
            if (given("--max-tokens"))
                o.maxNewTokens = options.maxNewTokens;
            if (given("--temperature"))
                o.temperature = options.temperature;
            if (given("--top-k"))
                o.topK = options.topK;
            if (given("--top-p"))
                o.topP = options.topP;
            if (given("--seed"))
                o.seed = options.seed;
        } else {
            settings.systemPrompt = system;
            settings.options = options;
            settings.expertChoice = expert;
            settings.source = "cli";
        }
        moin::ExpertChoice choice = expertChoice(settings.expertChoice, *engine);
        settings.expertChoice = choice.toString();
        if (session)
            session->update(settings);
        else
            session.emplace(workspace, settings);
        const bool tty = isatty(0);
        installChatInterruptHandler();
        std::cerr << "moin chat: answering: " << choice.toString()
                  << "; commands: /expert auto|base|ID, /system TEXT, /quit\n";
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
                    settings.expertChoice = choice.toString();
                    session->update(settings);
                    std::cerr << "moin chat: answering: " << choice.toString() << "\n";
                } catch (const moin::Error& e) {
                    std::cerr << "moin chat: " << e.what() << "\n";
                }
                continue;
            }
            if (line.rfind("/system", 0) == 0) {
                settings.systemPrompt = line.size() > 8 ? line.substr(8) : std::string();
                session->update(settings);
                std::cerr << "moin chat: system prompt "
                          << (settings.systemPrompt.empty() ? "cleared" : "set") << "\n";
                continue;
            }
            if (line[0] == '/') {
                std::cerr << "moin chat: unknown command " << line
                          << " (commands: /expert auto|base|ID, /system TEXT, /quit)\n";
                continue;
            }
            moin::ChatTurn turn;
            try {
                turn = session->ask(line, *engine);
            } catch (const moin::Error& e) {
                std::cerr << "moin chat: " << e.what() << "\n";
                continue;
            }
            if (verbosePrompt)
                printPrompt(turn.prompt);
            moin::CompletionRequest request = turn.request(choice);
            request.cancel = interruptToken();
            moin::AnswerText answer(moin::AnswerText::Kind::Chat);
            request.onToken = [&answer](const std::string& delta, int32_t token) {
                std::cout << answer.push(delta, token) << std::flush;
                return true;
            };
            moin::CompletionResult result;
            try {
                result = engine->complete(std::move(request));
            } catch (const moin::Error& e) {
                std::cout << "\n";
                std::cerr << "moin chat: " << e.what() << "\n";
                continue; // the question stays recorded, unanswered
            }
            std::cout << answer.finish() << "\n" << std::flush;
            std::cerr << badge(result)
                      << (result.generation.stopReason == "cancelled" ? " (interrupted)" : "")
                      << "\n";
            session->record(turn.answer(result, answer.text(), choice.toString()));
        }
        if (session->conversationId())
            std::cerr << "moin chat: saved as conversation " << session->conversationId()
                      << "\n";
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
    // The prompt's continuation (the leading-space fix of chatturn.h).
    moin::AnswerText text(moin::AnswerText::Kind::Continuation, &engine->tokenizer());
    request.onToken = [&text](const std::string& delta, int32_t token) {
        std::cout << text.push(delta, token) << std::flush;
        return true;
    };
    std::cout << prompt << std::flush;
    const moin::CompletionResult result = engine->complete(std::move(request));
    std::cout << text.finish() << "\n";
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
