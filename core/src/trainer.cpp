// One expert's LoRA training, as a worker process runs it: the cluster's chunks from the
// workspace, AdamW with warm-up and cosine decay, gradient accumulation, checkpoints that resume
// the same run exactly, held-out evaluation, and an append-only JSON Lines log for the
// coordinator.
#include "moin/trainer.h"

#include "llama.h"
#include "trainloop.h"

#include "moin/atomicfile.h"
#include "moin/database.h"
#include "moin/device.h"
#include "moin/error.h"
#include "moin/evaluation.h"
#include "moin/precision.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>

namespace fs = std::filesystem;

namespace moin {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

/// Appends one JSON object per line with a single write() each, so a reader sees whole lines
/// (a line cut by a kill has no newline and is ignored).
class EventLog {
public:
    explicit EventLog(const std::string& path)
    {
        fs::create_directories(fs::path(path).parent_path());
        m_fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (m_fd < 0)
            throw Error("cannot open the job log " + path + ": " + std::strerror(errno));
    }
    ~EventLog()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;

    /// Durable events (start, checkpoint, the end) are fsynced; step lines are not.
    void write(json event, bool durable = false)
    {
        event["t"] = std::chrono::duration<double>(Clock::now() - m_started).count();
        const std::string line = event.dump() + "\n";
        // A full disk must not hide the job's outcome: failures here are reported on stderr
        // and the coordinator treats a worker without a final event as died.
        if (::write(m_fd, line.data(), line.size()) != ssize_t(line.size()))
            std::fprintf(stderr, "moin train-worker: cannot append to the job log: %s\n",
                         std::strerror(errno));
        else if (durable)
            ::fsync(m_fd);
    }

private:
    int m_fd = -1;
    Clock::time_point m_started = Clock::now();
};

struct ChunkText {
    int64_t id = 0;
    std::string text;
};

std::vector<ChunkText> clusterChunks(Database& db, int64_t runId, int cluster)
{
    Statement query = db.prepare(
        "SELECT c.id, c.text FROM chunk_clusters cc JOIN chunks c ON c.id = cc.chunk_id "
        "WHERE cc.run_id = ? AND cc.cluster = ? ORDER BY c.id");
    query.bind(1, runId).bind(2, cluster);
    std::vector<ChunkText> chunks;
    while (query.step())
        chunks.push_back({query.columnInt64(0), query.columnText(1)});
    return chunks;
}

std::vector<int64_t> tokenStream(const Tokenizer& tokenizer, const std::vector<ChunkText>& chunks,
                                 const std::vector<int64_t>& ids, int bos, int eos)
{
    std::vector<int64_t> stream;
    size_t next = 0;
    for (int64_t id : ids) {
        while (chunks[next].id != id)
            ++next;
        stream.push_back(bos);
        for (int32_t token : tokenizer.encode(chunks[next].text))
            stream.push_back(token);
        stream.push_back(eos);
    }
    return stream;
}

/// Every LoRA matrix of the attached adapter, in a fixed order (the optimizer's).
std::vector<torch::Tensor> adapterParameters(LlamaImpl& model)
{
    std::vector<torch::Tensor> parameters;
    for (auto& [name, projection] : model.namedProjections()) {
        if (projection->lora) {
            parameters.push_back(projection->lora->a.set_requires_grad(true));
            parameters.push_back(projection->lora->b.set_requires_grad(true));
        }
    }
    return parameters;
}

/// Batches of windows in an order that depends only on (seed, epoch): the data position
/// (epoch, cursor) is all a checkpoint needs to continue the same sequence.
class WindowSampler {
public:
    WindowSampler(int64_t windows, uint64_t seed) : m_windows(windows), m_seed(seed)
    {
        shuffle();
    }
    int64_t next()
    {
        if (m_cursor == m_windows) {
            ++m_epoch;
            m_cursor = 0;
            shuffle();
        }
        return m_order[size_t(m_cursor++)];
    }
    int64_t epoch() const { return m_epoch; }
    int64_t cursor() const { return m_cursor; }
    void seek(int64_t epoch, int64_t cursor)
    {
        m_epoch = epoch;
        m_cursor = cursor;
        shuffle();
    }

private:
    void shuffle()
    {
        m_order.resize(size_t(m_windows));
        std::iota(m_order.begin(), m_order.end(), 0);
        std::mt19937_64 rng(m_seed * 0x9E3779B97F4A7C15ull + uint64_t(m_epoch));
        std::shuffle(m_order.begin(), m_order.end(), rng);
    }
    int64_t m_windows;
    uint64_t m_seed;
    int64_t m_epoch = 0;
    int64_t m_cursor = 0;
    std::vector<int64_t> m_order;
};

// The moving parts of one run, so that checkpoints stay in one place.
json runShape(const TrainingSpec& spec)
{
    // What must not change between a checkpoint and its resumption.
    json shape = json::parse(spec.toJson());
    shape.erase("device");
    // A job may resume on another machine, where auto picks another precision: the numbers
    // then differ within bf16's rounding, the run stays valid.
    shape.erase("precision");
    shape.erase("eval_every");
    shape.erase("checkpoint_every");
    return shape;
}

} // namespace

std::string jobLogPath(const std::string& workspaceDirectory, int64_t jobId)
{
    return (fs::path(jobDirectory(workspaceDirectory, jobId)) / "log.jsonl").string();
}

std::string jobInputPath(const std::string& workspaceDirectory, int64_t jobId)
{
    return (fs::path(jobDirectory(workspaceDirectory, jobId)) / "input.json").string();
}

void writeJobInput(Database& db, const std::string& workspaceDirectory, int64_t jobId)
{
    Statement query = db.prepare("SELECT spec FROM training_jobs WHERE id = ?");
    query.bind(1, jobId);
    if (!query.step())
        throw Error("there is no training job " + std::to_string(jobId) + " in the workspace "
                    + workspaceDirectory);
    const std::string specText = query.columnText(0);
    const TrainingSpec spec = TrainingSpec::fromJson(specText, "job " + std::to_string(jobId));
    json chunks = json::array();
    for (const ChunkText& chunk : clusterChunks(db, spec.runId, spec.cluster))
        chunks.push_back({{"id", chunk.id}, {"text", chunk.text}});
    const json input = {{"job", jobId}, {"spec", json::parse(specText)}, {"chunks", chunks}};
    fs::create_directories(jobDirectory(workspaceDirectory, jobId));
    writeFileAtomically(jobInputPath(workspaceDirectory, jobId), input.dump());
}

WorkerOutcome runTrainingJob(const std::string& workspaceDirectory, int64_t jobId,
                             const WorkerOptions& options, const CancelToken* cancel,
                             std::string* message)
{
    const fs::path jobDir = jobDirectory(workspaceDirectory, jobId);
    EventLog log(jobLogPath(workspaceDirectory, jobId));
    auto fail = [&](const std::string& reason) {
        log.write({{"event", "error"}, {"message", reason}}, true);
        if (message)
            *message = reason;
        return WorkerOutcome::Failed;
    };
    try {
        // 1. The job and its data, read once; the connection is closed before training.
        TrainingSpec spec;
        std::vector<ChunkText> chunks;
        const std::string inputPath = jobInputPath(workspaceDirectory, jobId);
        if (fs::exists(inputPath)) {
            // Written by the Slurm backend: no database access from other machines.
            json input;
            try {
                input = json::parse(readFile(inputPath));
                spec = TrainingSpec::fromJson(input.at("spec").dump(), inputPath);
                for (const json& chunk : input.at("chunks"))
                    chunks.push_back(
                        {chunk.at("id").get<int64_t>(), chunk.at("text").get<std::string>()});
            } catch (const json::exception& e) {
                return fail("the job input " + inputPath + " is not valid (" + e.what()
                            + "); delete it and train again to have it written anew");
            }
        } else {
            Database db = Database::open(
                (fs::path(workspaceDirectory) / Workspace::kDatabaseFileName).string(),
                Database::OpenMode::ReadOnly);
            Statement query = db.prepare("SELECT spec FROM training_jobs WHERE id = ?");
            query.bind(1, jobId);
            if (!query.step())
                return fail("there is no training job " + std::to_string(jobId)
                            + " in the workspace " + workspaceDirectory);
            spec = TrainingSpec::fromJson(query.columnText(0), "job " + std::to_string(jobId));
            chunks = clusterChunks(db, spec.runId, spec.cluster);
        }
        spec.validate();
        std::vector<int64_t> ids;
        for (const ChunkText& chunk : chunks)
            ids.push_back(chunk.id);
        const ClusterSplit split = splitCluster(ids, spec.heldOutFraction);
        if (split.heldOutChunks.empty() || split.trainChunks.empty()) {
            return fail("cluster " + std::to_string(spec.cluster) + " has "
                        + std::to_string(chunks.size())
                        + " chunk(s); training needs at least 2");
        }

        if (options.threads > 0)
            setComputeThreads(options.threads);
        const std::string device =
            resolveDevice(options.device.empty() ? spec.device : options.device);
        const torch::Device torchDevice(device);
        LanguageModel model = LanguageModel::load(spec.baseModel, {device, "float32", true});
        // bf16: frozen weights cast once here; the adapter and AdamW's moments stay fp32, and
        // every forward pass below runs under autocast (bf16 matmuls, fp32 loss and norms).
        const Precision precision = resolvePrecision(parsePrecision(spec.precision), device);
        storeBaseWeightsFor(model, precision);
        const PrecisionScope precisionScope(precision, device);
        const LlamaConfig& config = model.config();
        if (spec.sequenceLength > config.maxPositions) {
            return fail("sequence length " + std::to_string(spec.sequenceLength)
                        + " exceeds the base model's context of "
                        + std::to_string(config.maxPositions) + " tokens");
        }
        const Tokenizer& tokenizer = model.tokenizer();
        const std::vector<int64_t> train = tokenStream(tokenizer, chunks, split.trainChunks,
                                                       config.bosTokenId, config.eosTokenId);
        const std::vector<int64_t> heldOut = tokenStream(tokenizer, chunks, split.heldOutChunks,
                                                         config.bosTokenId, config.eosTokenId);
        const int64_t window = spec.sequenceLength + 1;
        // Windows overlap by one token, so every token but the first is a target once.
        const int64_t windows = (int64_t(train.size()) - 1) / spec.sequenceLength;
        if (windows < 1) {
            return fail("cluster " + std::to_string(spec.cluster) + " has "
                        + std::to_string(train.size()) + " training tokens; one sequence needs "
                        + std::to_string(window) + " (lower the sequence length)");
        }

        // 2. Adapter, optimizer and data position: fresh, or from the checkpoint.
        const CheckpointFolders checkpoint(jobDir);
        const fs::path resumeFrom = checkpoint.existing();
        LlamaImpl& llama = *model.impl().model;
        if (resumeFrom.empty())
            model.attachNewAdapter(spec.lora, spec.seed);
        else
            model.loadAdapter((resumeFrom / "adapter").string());
        std::vector<torch::Tensor> parameters = adapterParameters(llama);
        torch::optim::AdamW optimizer(parameters, torch::optim::AdamWOptions(spec.learningRate)
                                                      .betas({spec.beta1, spec.beta2})
                                                      .weight_decay(spec.weightDecay));
        const int64_t totalSteps = spec.totalSteps();
        WindowSampler sampler(windows, spec.seed);
        int64_t step = 0;
        double lastHeldOut = std::nan("");
        double secondsBefore = 0;
        if (!resumeFrom.empty()) {
            const json state = json::parse(readFile((resumeFrom / "state.json").string()));
            if (state.at("shape") != runShape(spec)) {
                return fail("the checkpoint in " + resumeFrom.string()
                            + " was made with other settings; cancel this job and queue a new "
                              "one");
            }
            torch::load(optimizer, (resumeFrom / "optimizer.pt").string(), torchDevice);
            step = state.at("step").get<int64_t>();
            sampler.seek(state.at("epoch").get<int64_t>(), state.at("cursor").get<int64_t>());
            if (state.at("held_out_loss").is_number())
                lastHeldOut = state.at("held_out_loss").get<double>();
            secondsBefore = state.value("seconds", 0.0);
        }
        const auto started = Clock::now();
        auto elapsed = [&] {
            return secondsBefore + std::chrono::duration<double>(Clock::now() - started).count();
        };
        auto saveCheckpoint = [&] {
            checkpoint.save([&](const fs::path& folder) {
                model.saveAdapter((folder / "adapter").string());
                const std::string optimizerTemp = (folder / "optimizer.pt.tmp").string();
                torch::save(optimizer, optimizerTemp);
                fs::rename(optimizerTemp, folder / "optimizer.pt");
                const json state = {{"step", step},
                                    {"epoch", sampler.epoch()},
                                    {"cursor", sampler.cursor()},
                                    {"held_out_loss", std::isnan(lastHeldOut)
                                                          ? json(nullptr)
                                                          : json(lastHeldOut)},
                                    {"seconds", elapsed()},
                                    {"shape", runShape(spec)}};
                writeFileAtomically((folder / "state.json").string(), state.dump(2));
            });
            log.write({{"event", "checkpoint"}, {"step", step}}, true);
        };

        log.write({{"event", "start"},
                   {"step", step},
                   {"total_steps", totalSteps},
                   // Shown as the job's device in the app and `moin jobs`.
                   {"device", device + " " + precisionName(precision)},
                   {"precision", precisionName(precision)},
                   {"threads", computeThreads()},
                   {"pid", int64_t(::getpid())},
                   {"train_tokens", int64_t(train.size())},
                   {"held_out_tokens", int64_t(heldOut.size())},
                   {"resumed", !resumeFrom.empty()}},
                  true);

        // 3. Training.
        llama.train();
        const int64_t tokensPerStep = spec.tokensPerStep();
        while (step < totalSteps) {
            if (cancel && cancel->isCancelled()) {
                saveCheckpoint();
                log.write({{"event", "interrupted"}, {"step", step}}, true);
                if (message)
                    *message = "stopped at step " + std::to_string(step);
                return WorkerOutcome::Interrupted;
            }
            const auto stepStarted = Clock::now();
            // Dropout draws depend only on (seed, step): a resumed run repeats them exactly.
            torch::manual_seed(spec.seed * 1000003ull + uint64_t(step));
            const double lr = cosineLearningRate(spec.learningRate, spec.minLearningRate,
                                                 spec.warmupSteps, totalSteps, step);
            for (auto& group : optimizer.param_groups())
                static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
            optimizer.zero_grad();
            double loss = 0;
            for (int micro = 0; micro < spec.gradientAccumulation; ++micro) {
                std::vector<int64_t> offsets(size_t(spec.batchSize));
                for (int64_t& offset : offsets)
                    offset = sampler.next() * spec.sequenceLength;
                // Autocast caches its bf16 copies of the adapter: copies from before the last
                // step, or made under no_grad by the held-out evaluation (no path back to the
                // fp32 masters), must not be used, as torch.autocast drops them on exit.
                PrecisionScope::clearCache();
                torch::Tensor microLoss =
                    languageModelLoss(llama, tokenWindows(train, offsets, window).to(torchDevice))
                    / double(spec.gradientAccumulation);
                loss += microLoss.item<double>();
                microLoss.backward();
            }
            if (!std::isfinite(loss)) {
                return fail("the training loss became " + std::string(std::isnan(loss) ? "NaN"
                                                                                      : "infinite")
                            + " at step " + std::to_string(step + 1)
                            + "; lower the learning rate (now "
                            + std::to_string(spec.learningRate)
                            + ") and retry. The last checkpoint is kept");
            }
            if (spec.gradientClip > 0)
                torch::nn::utils::clip_grad_norm_(parameters, spec.gradientClip);
            optimizer.step();
            ++step;
            const double seconds =
                std::chrono::duration<double>(Clock::now() - stepStarted).count();
            log.write({{"event", "step"},
                       {"step", step},
                       {"loss", loss},
                       {"lr", lr},
                       {"tokens_per_second", seconds > 0 ? double(tokensPerStep) / seconds : 0.0},
                       {"seconds", elapsed()}});
            if (step % spec.evalEvery == 0 || step == totalSteps) {
                lastHeldOut = meanWindowLoss(llama, heldOut, window, spec.batchSize, torchDevice, 32);
                if (std::isfinite(lastHeldOut))
                    log.write({{"event", "eval"}, {"step", step}, {"held_out_loss", lastHeldOut}});
            }
            if (step % spec.checkpointEvery == 0 && step < totalSteps)
                saveCheckpoint();
        }

        // 4. The expert: saved (whole folder swapped in), then scored against the base.
        llama.eval();
        std::vector<std::vector<int32_t>> heldOutSequences;
        for (int64_t id : split.heldOutChunks) {
            for (const ChunkText& chunk : chunks) {
                if (chunk.id == id) {
                    std::vector<int32_t> tokens = tokenizer.encode(chunk.text);
                    tokens.insert(tokens.begin(), config.bosTokenId);
                    heldOutSequences.push_back(std::move(tokens));
                    break;
                }
            }
        }
        const PerplexityResult expert = perplexityOfSequences(model, heldOutSequences);
        const std::string expertDir = expertDirectory(workspaceDirectory, spec.runId, spec.cluster);
        const fs::path staging = fs::path(expertDir).string() + ".tmp-" + std::to_string(::getpid());
        fs::remove_all(staging);
        model.saveAdapter(staging.string());
        const json summary = {{"job", jobId},
                              {"run", spec.runId},
                              {"cluster", spec.cluster},
                              {"steps", step},
                              {"held_out_chunks", int64_t(split.heldOutChunks.size())},
                              {"held_out_tokens", expert.tokens},
                              {"expert_perplexity", expert.perplexity},
                              {"seconds", elapsed()},
                              {"spec", json::parse(spec.toJson())}};
        model.detachAdapter();
        const PerplexityResult base = perplexityOfSequences(model, heldOutSequences);
        json withBase = summary;
        withBase["base_perplexity"] = base.perplexity;
        writeFileAtomically((staging / "moin_training.json").string(), withBase.dump(2) + "\n");
        {
            std::error_code ec;
            const fs::path old = fs::path(expertDir).string() + ".old";
            fs::remove_all(old, ec);
            if (fs::exists(expertDir, ec))
                fs::rename(expertDir, old);
            fs::rename(staging, expertDir);
            fs::remove_all(old, ec);
        }
        checkpoint.remove();
        log.write({{"event", "done"},
                   {"step", step},
                   {"adapter", expertDir},
                   {"base_perplexity", base.perplexity},
                   {"expert_perplexity", expert.perplexity},
                   {"held_out_tokens", expert.tokens}},
                  true);
        return WorkerOutcome::Done;
    } catch (const std::exception& e) {
        return fail(e.what());
    }
}

} // namespace moin
