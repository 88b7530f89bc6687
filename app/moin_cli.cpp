// moin: every core capability from the command line, headless (servers, schedulers, scripts).
// User mistakes end with "moin: error: ..." on stderr and a non-zero exit code, never a trace.
#include "cli_common.h"
#include "progressbar.h"

#include "moin/blaskernels.h"
#include "moin/clustering.h"
#include "moin/corpus.h"
#include "moin/device.h"
#include "moin/error.h"
#include "moin/mixture.h"
#include "moin/model.h"
#include "moin/pretrain.h"
#include "moin/precision.h"
#include "moin/router.h"
#include "moin/tokenizer.h"
#include "moin/training.h"
#include "moin/version.h"
#include "moin/workspace.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace {

using json = nlohmann::json;

// Exit codes: 0 success, 1 the command failed (message says why), 2 the command line is wrong.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInternal = 70;

void addInit(CLI::App& app)
{
    auto* cmd = app.add_subcommand("init", "Create a new workspace folder");
    static std::string dir;
    static std::string name;
    static std::string base;
    cmd->add_option("DIR", dir, "Folder for the workspace (created if missing)")->required();
    cmd->add_option("--name", name, "Display name (default: the folder's name)");
    cmd->add_option("--base", base,
                    "Base model: a Hugging Face Llama folder (default: the built-in small base)");
    cmd->callback([] {
        moin::WorkspaceOptions options;
        options.name = name;
        options.baseModel = base;
        moin::Workspace workspace = moin::Workspace::create(dir, options);
        std::cout << "Created workspace '" << workspace.name() << "' in " << workspace.directory()
                  << " (schema version " << workspace.schemaVersion() << ", base model "
                  << workspace.baseModelDirectory() << ")\n";
    });
}

void addInfo(CLI::App& app)
{
    auto* cmd = app.add_subcommand("info", "Show a workspace's settings and recent activity");
    static std::string dir;
    static bool asJson = false;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_flag("--json", asJson, "Print one JSON object");
    cmd->callback([] {
        moin::Workspace workspace = moin::Workspace::open(dir);
        const auto activity = workspace.activity(10);
        if (asJson) {
            json out = {
                {"name", workspace.name()},
                {"directory", workspace.directory()},
                {"schema_version", workspace.schemaVersion()},
                {"upgraded_from", workspace.openedFromVersion()},
                {"created_at", workspace.meta("created_at").value_or("")},
                {"created_by", workspace.meta("created_by").value_or("")},
                {"base_model", workspace.meta("base_model").value_or("")},
                {"activity", json::array()},
            };
            for (const auto& entry : activity)
                out["activity"].push_back(
                    {{"at", entry.at}, {"pid", entry.pid}, {"message", entry.message}});
            std::cout << out.dump(2) << "\n";
            return;
        }
        std::cout << "Workspace:      " << workspace.name() << "\n"
                  << "Folder:         " << workspace.directory() << "\n"
                  << "Schema version: " << workspace.schemaVersion() << "\n"
                  << "Base model:     " << workspace.meta("base_model").value_or("(none)") << "\n"
                  << "Created:        " << workspace.meta("created_at").value_or("?") << " by "
                  << workspace.meta("created_by").value_or("?") << "\n"
                  << "Recent activity:\n";
        for (const auto& entry : activity)
            std::cout << "  " << entry.at << "  [" << entry.pid << "]  " << entry.message << "\n";
    });
}

std::string joinIds(const std::vector<int32_t>& ids)
{
    std::ostringstream out;
    for (size_t i = 0; i < ids.size(); ++i)
        out << (i ? " " : "") << ids[i];
    return out.str();
}

void addTokenizer(CLI::App& app)
{
    auto* tokenizer = app.add_subcommand("tokenizer", "Train and use sentencepiece tokenizers");
    tokenizer->require_subcommand(1);

    auto* train = tokenizer->add_subcommand("train", "Train a new tokenizer from text files");
    static moin::TokenizerTrainOptions options;
    train->add_option("--input", options.inputFiles, "UTF-8 text files")
        ->required()
        ->check(CLI::ExistingFile);
    train->add_option("--output", options.modelPrefix,
                      "Output prefix: writes PREFIX.model and PREFIX.vocab")
        ->required();
    train->add_option("--vocab-size", options.vocabSize, "Vocabulary size")
        ->capture_default_str();
    train->add_option("--type", options.modelType, "Model type")
        ->check(CLI::IsMember({"bpe", "unigram"}))
        ->capture_default_str();
    train->callback([] {
        const std::string model = moin::Tokenizer::train(options);
        const moin::Tokenizer loaded = moin::Tokenizer::load(model);
        std::cout << "Wrote " << model << " (" << loaded.vocabSize() << " pieces)\n";
    });

    static std::string modelPath;
    static std::string text;
    static bool pieces = false;
    auto* encode = tokenizer->add_subcommand("encode", "Print the token ids of a text");
    encode->add_option("--model", modelPath, "sentencepiece .model file")->required();
    encode->add_option("TEXT", text, "Text to encode")->required();
    encode->add_flag("--pieces", pieces, "Print pieces instead of ids");
    encode->callback([] {
        const moin::Tokenizer tok = moin::Tokenizer::load(modelPath);
        const auto ids = tok.encode(text);
        if (!pieces) {
            std::cout << joinIds(ids) << "\n";
            return;
        }
        for (size_t i = 0; i < ids.size(); ++i)
            std::cout << (i ? " " : "") << tok.idToPiece(ids[i]);
        std::cout << "\n";
    });

    static std::vector<int32_t> ids;
    auto* decode = tokenizer->add_subcommand("decode", "Print the text of token ids");
    decode->add_option("--model", modelPath, "sentencepiece .model file")->required();
    decode->add_option("IDS", ids, "Token ids")->required();
    decode->callback([] {
        const moin::Tokenizer tok = moin::Tokenizer::load(modelPath);
        std::cout << tok.decode(ids) << "\n";
    });
}

struct ComputeOptions {
    std::string device = "auto";
    int threads = 0;
};

void addComputeOptions(CLI::App* cmd, ComputeOptions& options)
{
    cmd->add_option("--device", options.device, "auto, cpu, cuda or cuda:N")
        ->capture_default_str();
    cmd->add_option("--threads", options.threads, "CPU threads (0: one per core)")
        ->check(CLI::NonNegativeNumber);
}

void applyCompute(const ComputeOptions& options) { moin::setComputeThreads(options.threads); }

// A routing decision in words: "expert 2 (distance 0.41, weight 0.73) + expert 0 (...)", or
// the base model when it falls back; then the runners-up.
std::string describeDecision(const moin::RouteDecision& d, const moin::RoutingPolicy& policy)
{
    std::ostringstream out;
    if (d.fallback) {
        out << "base model (nearest expert " << d.expert << " at distance " << d.distance
            << " is beyond the fallback distance " << policy.fallbackDistance << ")";
        return out.str();
    }
    for (size_t j = 0; j < d.experts.size(); ++j) {
        out << (j ? " + " : "") << "expert " << d.experts[j].expert << " (distance "
            << d.experts[j].distance;
        if (d.experts.size() > 1)
            out << ", weight " << d.experts[j].weight;
        out << ")";
    }
    bool first = true;
    for (const auto& c : d.candidates) {
        const bool used = std::any_of(d.experts.begin(), d.experts.end(),
                                      [&](const auto& e) { return e.expert == c.expert; });
        if (used)
            continue;
        out << (first ? "; then " : ", ") << c.expert << " (" << c.distance << ")";
        first = false;
    }
    return out.str();
}

// `moin generate DIR --routing top1|mix PROMPT`: the prompt routed by the policy and answered by
// its expert, its mixture of experts, or the base; the decision on stderr.
void generateRouted(const std::string& dir, const std::string& prompt,
                    const moin::RoutingPolicy& policy, const moin::GenerationOptions& options,
                    const std::string& device)
{
    moin::Workspace workspace = moin::Workspace::open(dir);
    moin::ModelLoadOptions load;
    load.device = device;
    const moin::LanguageModel model =
        moin::LanguageModel::load(workspace.baseModelDirectory(), load);
    const moin::Router router = moin::Router::open(workspace, 0, &model);
    const moin::RouteDecision decision = router.route({prompt}, policy).at(0);
    std::map<int, std::string> adapterOf;
    for (const moin::ExpertInfo& e : moin::TrainingQueue(workspace).experts(router.runId()))
        adapterOf[e.cluster] = e.adapterPath;
    const std::vector<moin::MixtureMember> members = moin::mixtureOf(decision, adapterOf);
    std::vector<int32_t> tokens = {model.config().bosTokenId};
    const std::vector<int32_t> body = model.tokenizer().encode(prompt);
    tokens.insert(tokens.end(), body.begin(), body.end());
    installInterruptHandler();
    std::cout << prompt << std::flush;
    // Decoding the new tokens alone drops the space a word-initial first token carries.
    bool first = true;
    const moin::GenerationResult result = moin::generateMixture(
        model, members, tokens, options,
        [&](const std::string& delta, int32_t token) {
            if (first && token >= 0) {
                first = false;
                if (model.tokenizer().idToPiece(token).rfind("\xE2\x96\x81", 0) == 0
                    && (delta.empty() || delta[0] != ' '))
                    std::cout << ' ';
            }
            std::cout << delta << std::flush;
            return true;
        },
        &g_interrupt);
    std::cout << "\n";
    const double rate =
        result.decodeSeconds > 0 ? double(result.tokens.size()) / result.decodeSeconds : 0;
    std::fprintf(stderr,
                 "[%s: %s]\n[%zu tokens (%s), %.1f tokens/s; prompt %d tokens in %.0f ms; "
                 "%zu rows; %s]\n",
                 moin::toString(policy.mode).c_str(), describeDecision(decision, policy).c_str(),
                 result.tokens.size(), result.stopReason.c_str(), rate, result.promptTokens,
                 result.prefillSeconds * 1000, members.size(), model.device().c_str());
}

void addGenerate(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "generate", "Generate text with a model (and an adapter), or with a workspace's experts:\n"
                    "  moin generate --model FOLDER [--adapter A] PROMPT\n"
                    "  moin generate DIR [--expert auto|base|ID] PROMPT\n"
                    "  moin generate DIR --routing top1|mix [--mix-k K] [--mix-temperature T] "
                    "PROMPT");
    static std::string model;
    static std::string adapter;
    static std::string expert = "auto";
    static std::vector<std::string> words;
    static moin::GenerationOptions options;
    static ComputeOptions compute;
    static RoutingOptions routing;
    cmd->add_option("--model", model, "Hugging Face model folder");
    cmd->add_option("--adapter", adapter, "PEFT LoRA adapter folder");
    auto* expertOption =
        cmd->add_option("--expert", expert,
                        "With a workspace DIR: auto (routed), base, or an expert id")
            ->capture_default_str();
    cmd->add_option("ARGS", words, "[DIR] PROMPT: a workspace folder (without --model), then "
                                   "the text to continue")
        ->required()
        ->expected(1, 2);
    cmd->add_option("--max-tokens", options.maxNewTokens, "New tokens at most")
        ->capture_default_str();
    cmd->add_option("--temperature", options.temperature, "0 for greedy decoding")
        ->capture_default_str();
    cmd->add_option("--top-k", options.topK, "0 disables")->capture_default_str();
    cmd->add_option("--top-p", options.topP, "1 disables")->capture_default_str();
    cmd->add_option("--repetition-penalty", options.repetitionPenalty, "1 disables")
        ->capture_default_str();
    cmd->add_option("--seed", options.seed, "Sampler seed")->capture_default_str();
    // --top-k and --temperature are the sampler's here; the routing's are --mix-k and
    // --mix-temperature (as `moin serve` names them).
    routing.add(cmd, "--routing", "--mix-k", "--mix-temperature");
    addComputeOptions(cmd, compute);
    cmd->callback([expertOption, cmd] {
        options.validate();
        applyCompute(compute);
        const bool routed = cmd->count("--routing") + cmd->count("--mix-k")
                                + cmd->count("--mix-temperature")
                                + cmd->count("--fallback-distance")
                            > 0;
        if (words.size() == 2) {
            if (!model.empty() || !adapter.empty())
                throw moin::Error("give either --model FOLDER PROMPT or a workspace DIR PROMPT, "
                                  "not both");
            if (!moin::Workspace::exists(words[0]))
                throw moin::Error("'" + words[0] + "' is not a workspace folder (hint: for a "
                                  "model folder use --model; quote a prompt of several words)");
            if (routed && expertOption->count() > 0)
                throw moin::Error("give either --expert (one expert, or the base) or --routing "
                                  "options, not both");
            if (routed) {
                moin::Workspace workspace = moin::Workspace::open(words[0]);
                const moin::RoutingPolicy policy = routing.policyFor(workspace);
                generateRouted(words[0], words[1], policy, options, compute.device);
                return;
            }
            generateInWorkspace(words[0], words[1], expert, options, compute.device);
            return;
        }
        if (routed)
            throw moin::Error("--routing needs a workspace DIR (moin generate DIR --routing mix "
                              "PROMPT)");
        if (model.empty())
            throw moin::Error("give --model FOLDER (a Hugging Face model) or a workspace DIR "
                              "before the PROMPT");
        if (expertOption->count() > 0)
            throw moin::Error("--expert needs a workspace DIR (moin generate DIR --expert ID "
                              "PROMPT)");
        const std::string& prompt = words[0];
        moin::ModelLoadOptions load;
        load.device = compute.device;
        moin::LanguageModel lm = moin::LanguageModel::load(model, load);
        if (!adapter.empty())
            lm.loadAdapter(adapter);
        installInterruptHandler();
        std::cout << prompt << std::flush;
        const moin::GenerationResult result = lm.generate(
            prompt, options,
            [](const std::string& delta, int32_t) {
                std::cout << delta << std::flush;
                return true;
            },
            &g_interrupt);
        std::cout << "\n";
        const double rate = result.decodeSeconds > 0 ? result.tokens.size() / result.decodeSeconds
                                                     : 0;
        std::fprintf(stderr,
                     "[%zu tokens (%s), %.1f tokens/s; prompt %d tokens in %.0f ms; %s]\n",
                     result.tokens.size(), result.stopReason.c_str(), rate, result.promptTokens,
                     result.prefillSeconds * 1000, lm.device().c_str());
    });
}

void addPerplexity(CLI::App& app)
{
    auto* cmd = app.add_subcommand("perplexity", "Perplexity of a model on a text file");
    static std::string model;
    static std::string adapter;
    static std::string file;
    static bool asJson = false;
    static ComputeOptions compute;
    cmd->add_option("--model", model, "Hugging Face model folder")->required();
    cmd->add_option("--adapter", adapter, "PEFT LoRA adapter folder");
    cmd->add_option("FILE", file, "UTF-8 text file")->required()->check(CLI::ExistingFile);
    cmd->add_flag("--json", asJson, "Print one JSON object");
    addComputeOptions(cmd, compute);
    cmd->callback([] {
        applyCompute(compute);
        moin::ModelLoadOptions load;
        load.device = compute.device;
        moin::LanguageModel lm = moin::LanguageModel::load(model, load);
        if (!adapter.empty())
            lm.loadAdapter(adapter);
        std::ifstream in(file, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        const moin::PerplexityResult result = lm.perplexity(text.str());
        if (asJson) {
            std::cout << json{{"tokens", result.tokens},
                              {"perplexity", result.perplexity},
                              {"mean_nll", result.meanNll}}
                             .dump()
                      << "\n";
        } else {
            std::cout << "perplexity " << result.perplexity << " over " << result.tokens
                      << " tokens (mean NLL " << result.meanNll << " nats)\n";
        }
    });
}

void addPretrain(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "pretrain", "Train a small Llama and its tokenizer from scratch (the built-in base)");
    static moin::PretrainOptions options;
    static ComputeOptions compute;
    static bool noResume = false;
    options.model.vocabSize = 4096;
    options.model.hiddenSize = 192;
    options.model.intermediateSize = 512;
    options.model.numLayers = 4;
    options.model.numHeads = 6;
    options.model.numKvHeads = 2;
    options.model.maxPositions = 512;
    options.model.tieWordEmbeddings = true;
    cmd->add_option("--corpus", options.corpusFiles, "Corpus files (.jsonl, .txt, .md)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--field", options.textField, "JSON Lines text field")->capture_default_str();
    cmd->add_option("--output", options.outputDir, "Output model folder")->required();
    cmd->add_option("--vocab-size", options.vocabSize, "Tokenizer vocabulary")
        ->capture_default_str();
    cmd->add_option("--hidden", options.model.hiddenSize, "Hidden size")->capture_default_str();
    cmd->add_option("--intermediate", options.model.intermediateSize, "MLP size")
        ->capture_default_str();
    cmd->add_option("--layers", options.model.numLayers, "Decoder layers")->capture_default_str();
    cmd->add_option("--heads", options.model.numHeads, "Attention heads")->capture_default_str();
    cmd->add_option("--kv-heads", options.model.numKvHeads, "Key/value heads")
        ->capture_default_str();
    cmd->add_option("--context", options.model.maxPositions, "Context length")
        ->capture_default_str();
    cmd->add_option("--seq-len", options.sequenceLength, "Training sequence length")
        ->capture_default_str();
    cmd->add_option("--batch", options.batchSize, "Sequences per step")->capture_default_str();
    cmd->add_option("--steps", options.steps, "Optimizer steps")->capture_default_str();
    cmd->add_option("--lr", options.learningRate, "Peak learning rate")->capture_default_str();
    cmd->add_option("--min-lr", options.minLearningRate, "Final learning rate")
        ->capture_default_str();
    cmd->add_option("--warmup", options.warmupSteps, "Warm-up steps")->capture_default_str();
    cmd->add_option("--checkpoint-every", options.checkpointEvery, "Steps between checkpoints")
        ->capture_default_str();
    cmd->add_option("--eval-every", options.evalEvery, "Steps between held-out evaluations")
        ->capture_default_str();
    cmd->add_option("--dtype", options.saveDtype, "dtype of the saved weights")
        ->check(CLI::IsMember({"float32", "float16", "bfloat16"}))
        ->capture_default_str();
    cmd->add_option("--seed", options.seed, "Random seed")->capture_default_str();
    cmd->add_flag("--no-resume", noResume, "Start over even if a checkpoint exists");
    addComputeOptions(cmd, compute);
    cmd->callback([] {
        applyCompute(compute);
        options.device = compute.device;
        options.resume = !noResume;
        installInterruptHandler();
        ProgressBar bar("pretrain");
        const moin::PretrainResult result = moin::pretrain(
            options,
            [&bar](const moin::PretrainProgress& p) {
                if (p.phase != "training") {
                    bar.finish();
                    std::fprintf(stderr, "pretrain: %s...\n", p.phase.c_str());
                    return;
                }
                char detail[128];
                std::snprintf(detail, sizeof detail, "loss %.3f, held-out %.3f, %.0f tok/s",
                              p.loss, p.heldOutLoss, p.tokensPerSecond);
                bar.update(p.step, p.totalSteps, detail);
            },
            &g_interrupt);
        bar.finish();
        if (result.cancelled) {
            std::cerr << "pretrain: interrupted at step " << result.steps
                      << "; the checkpoint is saved, run the same command to resume\n";
            throw moin::Error("interrupted");
        }
        std::cout << "Wrote " << result.modelDir << ": " << result.steps << " steps, train loss "
                  << result.finalLoss << ", held-out loss " << result.heldOutLoss
                  << " (perplexity " << std::exp(result.heldOutLoss) << ")\n";
    });
}

void addImport(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "import", "Import .txt, .md and .jsonl files or folders into a workspace's corpus");
    static std::string dir;
    static std::vector<std::string> paths;
    static moin::ImportOptions options;
    static bool asJson = false;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("PATH", paths, "Files or folders to import")->required();
    cmd->add_option("--field", options.textField, "JSON Lines field that holds the text")
        ->capture_default_str();
    cmd->add_option("--chunk-tokens", options.chunkTokens, "Tokens per chunk")
        ->capture_default_str();
    cmd->add_option("--overlap", options.overlapTokens, "Tokens shared by consecutive chunks")
        ->capture_default_str();
    cmd->add_option("--min-chunk-tokens", options.minChunkTokens,
                    "Shorter document tails are dropped")
        ->capture_default_str();
    cmd->add_flag("--json", asJson, "Print the report as one JSON object");
    cmd->callback([] {
        options.validate();
        moin::Workspace workspace = moin::Workspace::open(dir);
        installInterruptHandler();
        ProgressBar bar("import");
        const moin::ImportReport report = moin::importCorpus(
            workspace, paths, options,
            [&bar](const moin::ImportProgress& p) {
                char detail[96];
                std::snprintf(detail, sizeof detail, "MB, %lld chunks",
                              (long long)p.chunksAdded);
                bar.update(p.bytesDone >> 20, std::max<int64_t>(1, p.bytesTotal >> 20), detail);
            },
            &g_interrupt);
        bar.finish();
        if (asJson) {
            json problems = json::array();
            for (const auto& problem : report.problems)
                problems.push_back(
                    {{"path", problem.path}, {"line", problem.line}, {"message", problem.message}});
            std::cout << json{{"files_imported", report.filesImported},
                              {"files_already_imported", report.filesAlreadyImported},
                              {"files_refused", report.filesRefused},
                              {"lines_skipped", report.linesSkipped},
                              {"documents", report.documentsAdded},
                              {"chunks", report.chunksAdded},
                              {"duplicate_chunks", report.chunksDuplicate},
                              {"tokens", report.tokensAdded},
                              {"cancelled", report.cancelled},
                              {"problems", problems}}
                             .dump(2)
                      << "\n";
        } else {
            std::cout << "Imported " << report.chunksAdded << " chunks (" << report.tokensAdded
                      << " tokens) from " << report.documentsAdded << " documents in "
                      << report.filesImported << " file(s); " << report.chunksDuplicate
                      << " duplicate chunks dropped, " << report.filesAlreadyImported
                      << " file(s) already imported, " << report.filesRefused
                      << " refused, " << report.linesSkipped << " line(s) skipped\n";
            for (size_t i = 0; i < report.problems.size() && i < 20; ++i) {
                const auto& problem = report.problems[i];
                std::cerr << "  " << problem.path
                          << (problem.line ? ":" + std::to_string(problem.line) : "") << ": "
                          << problem.message << "\n";
            }
            if (report.problems.size() > 20)
                std::cerr << "  ... and " << report.problems.size() - 20 << " more\n";
        }
        if (report.cancelled)
            throw moin::Error("interrupted; the files finished before stay imported");
        if (report.filesImported == 0 && report.filesAlreadyImported == 0)
            throw moin::Error("nothing was imported (see the reasons above)");
    });
}

void addCorpus(CLI::App& app)
{
    auto* cmd = app.add_subcommand("corpus", "Show a workspace's corpus: totals and sources");
    static std::string dir;
    static bool asJson = false;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_flag("--json", asJson, "Print one JSON object");
    cmd->callback([] {
        moin::Workspace workspace = moin::Workspace::open(dir);
        const moin::CorpusStats stats = moin::corpusStats(workspace);
        const auto sources = moin::listSources(workspace);
        if (asJson) {
            json list = json::array();
            for (const auto& source : sources)
                list.push_back({{"path", source.path},
                                {"format", source.format},
                                {"documents", source.documents},
                                {"chunks", source.chunks},
                                {"tokens", source.tokens},
                                {"lines_skipped", source.linesSkipped}});
            std::cout << json{{"sources", list},
                              {"documents", stats.documents},
                              {"chunks", stats.chunks},
                              {"tokens", stats.tokens}}
                             .dump(2)
                      << "\n";
            return;
        }
        std::cout << stats.chunks << " chunks, " << stats.tokens << " tokens, "
                  << stats.documents << " documents, " << stats.sources << " source file(s)\n";
        for (const auto& source : sources)
            std::cout << "  " << source.chunks << "\t" << source.path << "\n";
    });
}

void addCluster(CLI::App& app)
{
    auto* cmd = app.add_subcommand("cluster", "Embed and cluster a workspace's chunks");
    static std::string dir;
    static moin::ClusterRunOptions options;
    static bool noActivate = false;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("--method", options.method,
                    "kmeans (k clusters) or hdbscan (UMAP to a few dimensions, then HDBSCAN: the "
                    "number of clusters comes from the data)")
        ->check(CLI::IsMember({"kmeans", "hdbscan"}))
        ->capture_default_str();
    auto* kOption =
        cmd->add_option("-k", options.kmeans.k, "Number of clusters (experts); kmeans only");
    cmd->add_option("--min-cluster-size", options.hdbscan.minClusterSize,
                    "hdbscan: the smallest group that counts as a cluster")
        ->capture_default_str();
    cmd->add_option("--min-samples", options.hdbscan.minSamples,
                    "hdbscan: neighbours (itself included) a chunk needs to be dense; larger "
                    "calls more chunks noise; 0 = the minimum cluster size")
        ->capture_default_str();
    cmd->add_option("--reduce-dimensions", options.reduceDimensions,
                    "hdbscan: dimensions UMAP reduces the embeddings to first")
        ->capture_default_str();
    cmd->add_option("--embedder", options.embedder.kind, "tf-idf + SVD, or base-model states")
        ->check(CLI::IsMember({"tfidf", "model"}))
        ->capture_default_str();
    cmd->add_option("--dimensions", options.embedder.dimensions, "tf-idf SVD dimensions")
        ->capture_default_str();
    cmd->add_option("--precision", options.embedder.precision,
                    "Model embedder: fp32, bf16, or auto (bf16 where the hardware runs it fast)")
        ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
        ->capture_default_str();
    cmd->add_option("--iterations", options.kmeans.iterations, "k-means iterations")
        ->capture_default_str();
    cmd->add_option("--seed", options.kmeans.seed, "k-means seed")->capture_default_str();
    cmd->add_flag("--balanced", options.kmeans.balanced,
                  "Bound every cluster's size (c-BTM's balanced k-means)");
    cmd->add_option("--max-size-factor", options.kmeans.maxClusterSizeFactor,
                    "Balanced bound, times the mean cluster size")
        ->capture_default_str();
    cmd->add_option("--layout", options.layout.method, "2-D layout of the cluster map")
        ->check(CLI::IsMember({"umap", "pca"}))
        ->capture_default_str();
    cmd->add_flag("--no-activate", noActivate, "Keep the current active run");
    cmd->callback([cmd, kOption] {
        const bool hdbscan = options.method == "hdbscan";
        if (!hdbscan && kOption->count() == 0)
            throw CLI::RequiredError("-k (the number of clusters, for --method kmeans)");
        for (const char* name : {"--min-cluster-size", "--min-samples", "--reduce-dimensions"}) {
            if (!hdbscan && cmd->count(name) > 0)
                throw CLI::ValidationError(std::string(name) + " applies to --method hdbscan only");
        }
        if (hdbscan && (kOption->count() > 0 || cmd->count("--balanced") > 0))
            throw CLI::ValidationError("--method hdbscan finds the number of clusters itself; "
                                       "-k and --balanced apply to kmeans only");
        options.activate = !noActivate;
        options.validate();
        moin::Workspace workspace = moin::Workspace::open(dir);
        if (options.embedder.kind == "model")
            std::fprintf(stderr, "precision: %s\n",
                         moin::describePrecision(moin::parsePrecision(options.embedder.precision),
                                                 moin::defaultDeviceId())
                             .c_str());
        installInterruptHandler();
        std::string phase;
        std::unique_ptr<ProgressBar> bar;
        const int64_t runId = moin::runClustering(
            workspace, options,
            [&](const std::string& now, double fraction) {
                if (now != phase) {
                    phase = now;
                    bar = std::make_unique<ProgressBar>(now);
                }
                bar->update(int64_t(fraction * 100), 100, "");
            },
            &g_interrupt);
        bar.reset();
        if (runId == 0)
            throw moin::Error("interrupted; nothing was stored");
        for (const auto& run : moin::listClusterRuns(workspace)) {
            if (run.id == runId) {
                std::cout << "Run " << runId << ": " << run.chunks << " chunks into " << run.k
                          << " clusters (" << run.embedder << ", " << run.dimensions
                          << " dimensions" << (hdbscan ? ", HDBSCAN" : "") << ") in "
                          << run.seconds << " s; " << run.metrics << "\n";
                const json metrics = json::parse(run.metrics);
                if (hdbscan) {
                    std::cout << metrics.value("noise", 0) << " chunks HDBSCAN called noise "
                              << "are assigned to their nearest cluster for training and "
                                 "routing, and shown as noise on the map\n";
                }
            }
        }
    });
}

void addClusters(CLI::App& app)
{
    auto* cmd = app.add_subcommand("clusters", "List the clusters of a clustering run");
    static std::string dir;
    static int64_t runId = 0;
    static bool asJson = false;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("--run", runId, "Run id (default: the active run)");
    cmd->add_flag("--json", asJson, "Print JSON");
    cmd->callback([] {
        moin::Workspace workspace = moin::Workspace::open(dir);
        const int64_t id = runId ? runId : moin::activeClusterRun(workspace);
        if (id == 0)
            throw moin::Error("the workspace has no clustering run; run `moin cluster` first");
        const auto clusters = moin::listClusters(workspace, id);
        if (clusters.empty())
            throw moin::Error("there is no clustering run " + std::to_string(id));
        if (asJson) {
            json list = json::array();
            for (const auto& c : clusters)
                list.push_back({{"id", c.cluster},
                                {"size", c.size},
                                {"keywords", c.keywords},
                                {"sample_chunks", c.sampleChunks}});
            std::cout << json{{"run", id}, {"clusters", list}}.dump(2) << "\n";
            return;
        }
        for (const auto& c : clusters) {
            std::cout << c.cluster << "\t" << c.size << "\t";
            for (size_t i = 0; i < c.keywords.size() && i < 8; ++i)
                std::cout << (i ? ", " : "") << c.keywords[i];
            std::cout << "\n";
        }
    });
}

void addRoute(CLI::App& app)
{
    auto* cmd = app.add_subcommand("route", "Route queries to their expert(s) or the base model");
    static std::string dir;
    static std::string text;
    static std::string file;
    static int candidates = 3;
    static bool asJson = false;
    static RoutingOptions routing;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    auto* textOption = cmd->add_option("TEXT", text, "The query");
    cmd->add_option("--file", file, "A file with one query per line")
        ->check(CLI::ExistingFile)
        ->excludes(textOption);
    cmd->add_option("--candidates", candidates, "Runner-up experts listed")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    routing.add(cmd, "--mode", "--top-k,--mix-k", "--temperature,--mix-temperature");
    static bool saveDefault = false;
    cmd->add_flag("--save-default", saveDefault,
                  "Store the routing options given (the rest as they are) as the workspace's "
                  "default, used when a command does not name them; a query is then optional");
    cmd->add_flag("--json", asJson, "One JSON line per query");
    cmd->callback([] {
        if (saveDefault) {
            moin::Workspace workspace = moin::Workspace::open(dir);
            const moin::RoutingPolicy policy = routing.policyFor(workspace);
            if (const int64_t run = moin::activeClusterRun(workspace))
                policy.validate(int(moin::readRunCentroids(workspace, run).rows));
            moin::setWorkspaceRoutingPolicy(workspace, policy);
            std::fprintf(stderr, "routing default of %s: %s, k %d, temperature %g, fallback "
                                 "distance %g\n",
                         dir.c_str(), moin::toString(policy.mode).c_str(), policy.k,
                         policy.temperature, policy.fallbackDistance);
            if (text.empty() && file.empty())
                return;
        }
        std::vector<std::string> queries;
        if (!file.empty()) {
            std::ifstream in(file);
            std::string line;
            while (std::getline(in, line))
                queries.push_back(line);
        } else if (!text.empty()) {
            queries.push_back(text);
        } else {
            throw moin::Error("give a query TEXT or --file F with one query per line");
        }
        moin::Workspace workspace = moin::Workspace::open(dir);
        const moin::RoutingPolicy policy = routing.policyFor(workspace);
        const moin::Router router = moin::Router::open(workspace);
        const auto decisions = router.route(queries, policy, candidates);
        for (size_t i = 0; i < decisions.size(); ++i) {
            const auto& d = decisions[i];
            if (asJson) {
                json list = json::array();
                for (const auto& c : d.candidates)
                    list.push_back({{"expert", c.expert}, {"distance", c.distance}});
                json used = json::array();
                for (const auto& e : d.experts)
                    used.push_back(
                        {{"expert", e.expert}, {"distance", e.distance}, {"weight", e.weight}});
                std::cout << json{{"expert", d.expert},
                                  {"distance", d.distance},
                                  {"candidates", list},
                                  {"run", router.runId()},
                                  {"mode", moin::toString(policy.mode)},
                                  {"experts", used},
                                  {"fallback", d.fallback}}
                                 .dump()
                          << "\n";
                continue;
            }
            std::cout << describeDecision(d, policy) << "\n";
        }
    });
}

// What --precision auto picks on the default device, and the CPU's bf16 units.
std::string precisionLine()
{
    return "auto = " + moin::describePrecision(moin::Precision::Auto, moin::defaultDeviceId())
           + "; CPU bf16 units: " + moin::cpuBf16Support().describe();
}

void addVersion(CLI::App& app)
{
    auto* cmd = app.add_subcommand("version", "Show versions of MoIN Studio and its libraries");
    static bool asJson = false;
    cmd->add_flag("--json", asJson, "Print one JSON object");
    cmd->callback([] {
        json devices = json::array();
        for (const auto& device : moin::availableDevices())
            devices.push_back(device.id);
        const moin::BlasKernels blas = moin::blasKernels();
        const json blasJson = {
            {"core", blas.core},
            {"config", blas.config},
            {"openblas_coretype",
             blas.coretypeVariable.empty() ? json(nullptr) : json(blas.coretypeVariable)},
            {"coretype_chosen_by", blas.coretypeVariable.empty()
                                       ? json(nullptr)
                                       : json(blas.chosenByMoin ? "moin" : "user")},
            {"cpu_avx2_fma", blas.cpuHasAvx2Fma}};
        const json out = {{"moin", moin::moinVersion()},        {"libtorch", moin::torchVersion()},
                          {"faiss", moin::faissVersion()},      {"sqlite", moin::sqliteLibraryVersion()},
                          {"openblas", blasJson},
                          {"devices", devices},
                          {"default_device", moin::defaultDeviceId()},
                          {"precision", precisionLine()}};
        if (asJson) {
            std::cout << out.dump(2) << "\n";
            return;
        }
        std::string kernels = blas.core.empty() ? "not OpenBLAS (no kernel report)" : blas.core;
        if (!blas.coretypeVariable.empty())
            kernels += std::string(" (OPENBLAS_CORETYPE=") + blas.coretypeVariable
                       + (blas.chosenByMoin ? ", chosen by moin for this CPU)" : ", set by you)");
        std::cout << "MoIN Studio " << moin::moinVersion() << "\n"
                  << "LibTorch    " << moin::torchVersion() << "\n"
                  << "FAISS       " << moin::faissVersion() << "\n"
                  << "SQLite      " << moin::sqliteLibraryVersion() << "\n"
                  << "BLAS        " << kernels << "\n";
        if (!blas.config.empty())
            std::cout << "            " << blas.config << "\n";
        std::cout << "Devices     " << devices.dump() << " (default " << moin::defaultDeviceId()
                  << ")\n"
                  << "Precision   " << precisionLine() << "\n";
    });
}

} // namespace

moin::CancelToken g_interrupt;

void installInterruptHandler()
{
    std::signal(SIGINT, [](int) { g_interrupt.cancel(); });
    std::signal(SIGTERM, [](int) { g_interrupt.cancel(); });
}

int main(int argc, char** argv)
{
    moin::ensureFastBlasKernels(argv); // may start this program again, before any work
    CLI::App app{"moin: build, inspect and serve a mixture of introvert experts.\n"
                 "Every command has --help.",
                 "moin"};
    app.require_subcommand(1);
    app.set_version_flag("--version", moin::moinVersion());
    addInit(app);
    addInfo(app);
    addImport(app);
    addCorpus(app);
    addCluster(app);
    addClusters(app);
    addRoute(app);
    addTokenizer(app);
    addGenerate(app);
    addPerplexity(app);
    addPretrain(app);
    addTrainingCommands(app);
    addExpertsCommand(app);
    addServingCommands(app);
    addVersion(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    } catch (const moin::Error& e) {
        std::cerr << "moin: error: " << e.what() << "\n";
        return kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "moin: internal error: " << e.what()
                  << "\n(please report this, with the command that caused it)\n";
        return kExitInternal;
    }
    return 0;
}
