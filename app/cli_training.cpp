// `moin train`, `train-worker`, `jobs`, `eval` and `export-expert`: the expert training queue
// from the command line.
#include "cli_common.h"
#include "progressbar.h"

#include "moin/clustering.h"
#include "moin/coordinator.h"
#include "moin/device.h"
#include "moin/error.h"
#include "moin/evaluation.h"
#include "moin/precision.h"
#include "moin/specialisation.h"
#include "moin/trainer.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <set>
#include <sstream>

namespace {

using json = nlohmann::json;

/// "all", or "3,5,8" (also "3 5 8").
std::vector<int64_t> parseIdList(const std::string& text, const std::string& what)
{
    std::vector<int64_t> ids;
    std::string normalised = text;
    for (char& c : normalised)
        if (c == ',')
            c = ' ';
    std::istringstream in(normalised);
    std::string word;
    while (in >> word) {
        try {
            size_t used = 0;
            const long long id = std::stoll(word, &used);
            if (used != word.size() || id < 0)
                throw std::invalid_argument(word);
            ids.push_back(id);
        } catch (const std::exception&) {
            throw moin::Error(what + " must be 'all' or ids separated by commas; got '" + word
                              + "'");
        }
    }
    return ids;
}

json numberOrNull(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json jobJson(const moin::TrainingJob& job)
{
    return {{"id", job.id},
            {"run", job.runId},
            {"expert", job.cluster},
            {"state", moin::toString(job.state)},
            {"request", job.request},
            {"priority", job.priority},
            {"attempts", job.attempts},
            {"step", job.step},
            {"total_steps", job.totalSteps},
            {"loss", numberOrNull(job.loss)},
            {"held_out_loss", numberOrNull(job.heldOutLoss)},
            {"tokens_per_second", numberOrNull(job.tokensPerSecond)},
            {"base_perplexity", numberOrNull(job.basePerplexity)},
            {"expert_perplexity", numberOrNull(job.expertPerplexity)},
            {"device", job.device},
            {"adapter", job.adapterPath},
            {"error", job.error}};
}

std::string self()
{
    char path[PATH_MAX] = {};
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    return n > 0 ? std::string(path, size_t(n)) : std::string("moin");
}

// Runs the coordinator with one progress bar over the jobs it has to do and a line per event.
void runQueueWithProgress(moin::Workspace& workspace, const moin::CoordinatorOptions& options)
{
    moin::Database& db = workspace.database();
    std::unique_ptr<ProgressBar> bar;
    installInterruptHandler();
    moin::runTrainingQueue(
        workspace, options,
        [&](const moin::CoordinatorUpdate& update) {
            if (!update.events.empty()) {
                if (bar)
                    bar->finish();
                for (const std::string& line : update.events)
                    std::fprintf(stderr, "%s\n", line.c_str());
            }
            // Steps over every job that is live or finished in this session's queue.
            moin::Statement sums = db.prepare(
                "SELECT COALESCE(SUM(step), 0), COALESCE(SUM(total_steps), 0) FROM training_jobs "
                "WHERE state IN ('queued', 'running') OR (state IN ('done', 'failed') AND "
                "finished_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day'))");
            sums.step();
            const auto& t = update.totals;
            char detail[160];
            std::snprintf(detail, sizeof detail,
                          "steps; %lld running, %lld queued, %lld done, %lld failed, %.0f tok/s",
                          (long long)t.running, (long long)t.queued, (long long)t.done,
                          (long long)t.failed, t.tokensPerSecond);
            if (!bar)
                bar = std::make_unique<ProgressBar>("training");
            bar->update(sums.columnInt64(0), sums.columnInt64(1), detail);
        },
        &g_interrupt);
    if (bar)
        bar->finish();
}

void addTrain(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "train", "Train one LoRA expert per cluster of the active run (queued, in worker "
                 "processes; an interrupted run continues where it stopped)");
    static std::string dir;
    static std::string experts = "all";
    static std::string preset = "quick";
    static int64_t runId = 0;
    static moin::CoordinatorOptions coordinator;
    static std::string workerPrefix;
    static std::string targets;
    static bool retrain = false;
    static bool queueOnly = false;
    static int priority = 0;
    // Overrides of the preset; unset ones keep the preset's value.
    static std::optional<int64_t> steps, tokens, warmup, evalEvery, checkpointEvery;
    static std::optional<int> rank, batch, seqLen, accumulation;
    static std::optional<double> alpha, dropout, lr, minLr, weightDecay, heldOut, clip;
    static std::optional<uint64_t> seed;
    static std::optional<std::string> device;
    static std::string precision = "auto";
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("--experts", experts, "'all' or cluster ids, e.g. 0,3,7")
        ->capture_default_str();
    cmd->add_option("--run", runId, "Clustering run (default: the active run)");
    cmd->add_option("--preset", preset, "Settings to start from")
        ->check(CLI::IsMember(moin::TrainingSpec::presetNames()))
        ->capture_default_str();
    cmd->add_option("--steps", steps, "Optimizer steps per expert");
    cmd->add_option("--tokens", tokens, "Training tokens per expert (instead of --steps)");
    cmd->add_option("--rank", rank, "LoRA rank");
    cmd->add_option("--alpha", alpha, "LoRA alpha (scale = alpha / rank)");
    cmd->add_option("--dropout", dropout, "LoRA dropout");
    cmd->add_option("--targets", targets, "LoRA target modules, e.g. q_proj,v_proj");
    cmd->add_option("--lr", lr, "Peak learning rate (AdamW)");
    cmd->add_option("--min-lr", minLr, "Learning rate at the end of the cosine decay");
    cmd->add_option("--weight-decay", weightDecay, "AdamW weight decay");
    cmd->add_option("--warmup", warmup, "Warm-up steps");
    cmd->add_option("--clip", clip, "Gradient norm clip (0: off)");
    cmd->add_option("--batch", batch, "Sequences per micro-batch");
    cmd->add_option("--seq-len", seqLen, "Tokens per sequence");
    cmd->add_option("--accumulation", accumulation, "Micro-batches per optimizer step");
    cmd->add_option("--held-out", heldOut, "Fraction of each cluster held out for evaluation");
    cmd->add_option("--eval-every", evalEvery, "Steps between held-out evaluations");
    cmd->add_option("--checkpoint-every", checkpointEvery, "Steps between checkpoints");
    cmd->add_option("--seed", seed, "Seed of the adapter's initialisation and data order");
    cmd->add_option("--device", device, "auto, cpu, cuda or cuda:N for every job");
    cmd->add_option("--precision", precision,
                    "fp32, bf16 mixed precision, or auto: bf16 where the hardware runs it fast")
        ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
        ->capture_default_str();
    cmd->add_option("--workers", coordinator.workers, "Jobs running at once")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--threads-per-worker", coordinator.threadsPerWorker,
                    "CPU threads per worker (0: the cores divided by the workers)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--worker-prefix", workerPrefix,
                    "Command put before each worker, e.g. 'nice -n 5' or 'prlimit --as=8G'");
    static std::string backend = "local";
    static std::string slurmExtra;
    cmd->add_option("--backend", backend,
                    "Where workers run: local processes, or tasks of a Slurm job array")
        ->check(CLI::IsMember({"local", "slurm"}))
        ->capture_default_str();
    moin::SlurmOptions& slurm = coordinator.slurm;
    const char* slurmGroup = "Slurm (with --backend slurm)";
    cmd->add_option("--partition", slurm.partition, "Slurm partition (default: the cluster's)")
        ->group(slurmGroup);
    cmd->add_option("--account", slurm.account, "Slurm account to charge")->group(slurmGroup);
    cmd->add_option("--time", slurm.timeLimit,
                    "Time limit per task, e.g. 2:00:00 (a task that reaches it resumes from its "
                    "checkpoint in a new task)")
        ->group(slurmGroup);
    cmd->add_option("--gres", slurm.gres, "Generic resources per task, e.g. gpu:1")
        ->group(slurmGroup);
    cmd->add_option("--cpus-per-task", slurm.cpusPerTask, "CPUs (and worker threads) per task")
        ->check(CLI::PositiveNumber)
        ->capture_default_str()
        ->group(slurmGroup);
    cmd->add_option("--mem", slurm.memory, "Memory per task, e.g. 8G")->group(slurmGroup);
    cmd->add_option("--max-concurrent", slurm.maxConcurrent,
                    "Slurm tasks submitted and not yet ended at once, over all arrays (0: no limit)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str()
        ->group(slurmGroup);
    cmd->add_option("--sbatch-args", slurmExtra,
                    "More sbatch arguments, e.g. '--qos=long --constraint=a100'")
        ->group(slurmGroup);
    cmd->add_option("--priority", priority, "Priority of the new jobs (higher runs first)");
    cmd->add_flag("--retrain", retrain, "Also queue experts that are already trained");
    cmd->add_flag("--queue-only", queueOnly, "Queue the jobs but do not run them");
    cmd->callback([] {
        moin::Workspace workspace = moin::Workspace::open(dir);
        const int64_t run = runId ? runId : moin::activeClusterRun(workspace);
        if (run == 0)
            throw moin::Error("the workspace has no clustering run; run `moin cluster` first");
        moin::TrainingSpec base = moin::TrainingSpec::preset(preset);
        base.runId = run;
        if (steps) base.steps = *steps;
        if (tokens) base.tokenBudget = *tokens;
        if (rank) base.lora.rank = *rank;
        if (alpha) base.lora.alpha = *alpha;
        if (dropout) base.lora.dropout = *dropout;
        if (!targets.empty()) {
            base.lora.targetModules.clear();
            std::string list = targets;
            for (char& c : list)
                if (c == ',')
                    c = ' ';
            std::istringstream in(list);
            for (std::string word; in >> word;)
                base.lora.targetModules.push_back(word);
        }
        if (lr) base.learningRate = *lr;
        if (minLr) base.minLearningRate = *minLr;
        else if (lr) base.minLearningRate = std::min(base.minLearningRate, *lr);
        if (weightDecay) base.weightDecay = *weightDecay;
        if (warmup) base.warmupSteps = *warmup;
        if (clip) base.gradientClip = *clip;
        if (batch) base.batchSize = *batch;
        if (seqLen) base.sequenceLength = *seqLen;
        if (accumulation) base.gradientAccumulation = *accumulation;
        if (heldOut) base.heldOutFraction = *heldOut;
        if (evalEvery) base.evalEvery = *evalEvery;
        if (checkpointEvery) base.checkpointEvery = *checkpointEvery;
        if (seed) base.seed = *seed;
        if (device) base.device = *device;
        base.precision = precision;
        base.validate();

        // Which clusters: those asked for, minus those trained or in the queue already.
        std::set<int> wanted;
        const auto clusters = moin::listClusters(workspace, run);
        if (experts == "all") {
            for (const auto& cluster : clusters)
                wanted.insert(cluster.cluster);
        } else {
            for (int64_t id : parseIdList(experts, "--experts")) {
                if (id >= int64_t(clusters.size())) {
                    throw moin::Error("run " + std::to_string(run) + " has experts 0 to "
                                      + std::to_string(clusters.size() - 1) + "; got "
                                      + std::to_string(id));
                }
                wanted.insert(int(id));
            }
        }
        moin::TrainingQueue queue(workspace);
        int skipped = 0;
        for (const moin::TrainingJob& job : queue.latestPerCluster(run)) {
            const bool live = job.state == moin::JobState::Queued
                              || job.state == moin::JobState::Running
                              || job.state == moin::JobState::Paused;
            if (wanted.count(job.cluster) && (live || (job.state == moin::JobState::Done && !retrain))) {
                wanted.erase(job.cluster);
                ++skipped;
            }
        }
        std::vector<moin::TrainingSpec> specs;
        for (int cluster : wanted) {
            moin::TrainingSpec spec = base;
            spec.cluster = cluster;
            specs.push_back(spec);
        }
        const std::vector<int64_t> ids = queue.enqueue(specs, priority);
        std::fprintf(stderr, "queued %zu job(s)%s (%lld steps of %lld tokens each)\n",
                     ids.size(),
                     skipped ? (", " + std::to_string(skipped)
                                + " expert(s) already trained or queued").c_str()
                             : "",
                     (long long)base.totalSteps(), (long long)base.tokensPerStep());
        std::fprintf(stderr, "precision: %s\n",
                     moin::describePrecision(moin::parsePrecision(precision),
                                             moin::resolveDevice(base.device))
                         .c_str());
        if (queueOnly)
            return;
        coordinator.workerExecutable = self();
        std::istringstream words(workerPrefix);
        for (std::string word; words >> word;)
            coordinator.workerPrefix.push_back(word);
        coordinator.backend = moin::trainingBackendFromString(backend);
        std::istringstream extraWords(slurmExtra);
        for (std::string word; extraWords >> word;)
            coordinator.slurm.extraArguments.push_back(word);
        runQueueWithProgress(workspace, coordinator);
        const moin::QueueTotals totals = queue.totals();
        std::fprintf(stderr, "%lld done, %lld failed, %lld queued, %lld paused\n",
                     (long long)totals.done, (long long)totals.failed, (long long)totals.queued,
                     (long long)totals.paused);
        if (g_interrupt.isCancelled())
            throw moin::Error("interrupted; running jobs were checkpointed and queued again "
                              "(run `moin train` to continue)");
        if (totals.failed > 0)
            throw moin::Error(std::to_string(totals.failed)
                              + " job(s) failed; see `moin jobs " + dir + "`");
    });
}

void addTrainWorker(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "train-worker", "Run one training job (started by `moin train`, the app or a scheduler)");
    static std::string dir;
    static int64_t jobId = 0;
    static moin::WorkerOptions options;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("--job", jobId, "Job id")->required();
    cmd->add_option("--threads", options.threads, "CPU threads (0: one per core)");
    cmd->add_option("--device", options.device, "Overrides the job's device");
    cmd->callback([] {
        installInterruptHandler();
        // A full disk or a file size limit must fail a write, not kill the process.
        std::signal(SIGXFSZ, SIG_IGN);
        std::string message;
        const moin::WorkerOutcome outcome =
            moin::runTrainingJob(dir, jobId, options, &g_interrupt, &message);
        switch (outcome) {
        case moin::WorkerOutcome::Done:
            return;
        case moin::WorkerOutcome::Interrupted:
            std::fprintf(stderr, "moin train-worker: job %lld %s\n", (long long)jobId,
                         message.c_str());
            std::exit(moin::kWorkerExitInterrupted);
        case moin::WorkerOutcome::Failed:
            throw moin::Error("job " + std::to_string(jobId) + ": " + message);
        }
    });
}

void addJobs(CLI::App& app)
{
    auto* cmd = app.add_subcommand("jobs", "List and steer the training jobs of a workspace");
    static std::string dir;
    static bool asJson = false;
    static std::string state;
    static std::string pause, resume, cancel, retry, front, back;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_flag("--json", asJson, "Print JSON");
    cmd->add_option("--state", state, "Only jobs in this state")
        ->check(CLI::IsMember({"queued", "running", "paused", "done", "failed", "cancelled"}));
    cmd->add_option("--pause", pause, "Pause jobs: ids or 'all'");
    cmd->add_option("--resume", resume, "Resume paused jobs: ids or 'all'");
    cmd->add_option("--cancel", cancel, "Cancel jobs: ids or 'all'");
    cmd->add_option("--retry", retry, "Queue failed or cancelled jobs again: ids or 'all'");
    cmd->add_option("--front", front, "Move jobs to the front of the queue");
    cmd->add_option("--back", back, "Move jobs to the back of the queue");
    cmd->callback([] {
        moin::Workspace workspace = moin::Workspace::open(dir);
        moin::TrainingQueue queue(workspace);
        auto idsOf = [&](const std::string& text, const char* option) {
            if (text == "all") {
                std::vector<int64_t> all;
                for (const auto& job : queue.list())
                    all.push_back(job.id);
                return all;
            }
            return parseIdList(text, option);
        };
        struct Action {
            const std::string& ids;
            const char* option;
            int64_t (moin::TrainingQueue::*apply)(const std::vector<int64_t>&);
            const char* verb;
        };
        const Action actions[] = {{pause, "--pause", &moin::TrainingQueue::pause, "paused"},
                                  {resume, "--resume", &moin::TrainingQueue::resume, "resumed"},
                                  {cancel, "--cancel", &moin::TrainingQueue::cancel, "cancelled"},
                                  {retry, "--retry", &moin::TrainingQueue::retry, "queued again"},
                                  {front, "--front", &moin::TrainingQueue::moveToFront,
                                   "moved to the front"},
                                  {back, "--back", &moin::TrainingQueue::moveToBack,
                                   "moved to the back"}};
        bool acted = false;
        for (const Action& action : actions) {
            if (action.ids.empty())
                continue;
            const int64_t changed = (queue.*action.apply)(idsOf(action.ids, action.option));
            std::fprintf(stderr, "%lld job(s) %s\n", (long long)changed, action.verb);
            acted = true;
        }
        if (acted && !asJson)
            return;
        std::optional<moin::JobState> filter;
        if (!state.empty())
            filter = moin::jobStateFromString(state);
        const auto jobs = queue.list(filter);
        if (asJson) {
            json list = json::array();
            for (const auto& job : jobs)
                list.push_back(jobJson(job));
            const moin::QueueTotals t = queue.totals();
            std::cout << json{{"jobs", list},
                              {"totals",
                               {{"queued", t.queued},
                                {"running", t.running},
                                {"paused", t.paused},
                                {"done", t.done},
                                {"failed", t.failed},
                                {"cancelled", t.cancelled},
                                {"tokens_trained", t.tokensTrained}}}}
                             .dump(2)
                      << "\n";
            return;
        }
        std::printf("%6s %6s %-10s %11s %8s %9s %9s %9s  %s\n", "job", "expert", "state",
                    "steps", "loss", "held-out", "base ppl", "expt ppl", "note");
        auto cell = [](double v, const char* format) {
            char text[32];
            if (std::isfinite(v))
                std::snprintf(text, sizeof text, format, v);
            else
                std::snprintf(text, sizeof text, "-");
            return std::string(text);
        };
        for (const auto& job : jobs) {
            const std::string steps = std::to_string(job.step) + "/" + std::to_string(job.totalSteps);
            std::string note = job.request.empty() ? job.error : job.request + " requested";
            std::printf("%6lld %6d %-10s %11s %8s %9s %9s %9s  %s\n", (long long)job.id,
                        job.cluster, moin::toString(job.state).c_str(), steps.c_str(),
                        cell(job.loss, "%.3f").c_str(), cell(job.heldOutLoss, "%.3f").c_str(),
                        cell(job.basePerplexity, "%.2f").c_str(),
                        cell(job.expertPerplexity, "%.2f").c_str(), note.c_str());
        }
    });
}

std::string percent(double value)
{
    if (!std::isfinite(value))
        return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%+.1f%%", 100 * value);
    return text;
}

/// A difference of two fractions, in percentage points.
std::string points(double value)
{
    if (!std::isfinite(value))
        return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%+.1f pt", 100 * value);
    return text;
}

/// `moin eval --matrix`: the matrix as one JSON object, or as a table with the advice.
void printMatrix(const std::string& dir, const moin::SpecialisationOptions& options, bool asJson)
{
    moin::Workspace workspace = moin::Workspace::open(dir);
    installInterruptHandler();
    ProgressBar bar("scoring");
    const moin::SpecialisationMatrix m = moin::computeSpecialisation(
        workspace, options,
        [&](int done, int total) { bar.update(done, total, "perplexities"); }, &g_interrupt);
    bar.finish();
    if (m.cancelled) {
        throw moin::Error("interrupted: " + std::to_string(m.computedCells) + " of "
                          + std::to_string(m.computedCells + m.missingCells)
                          + " perplexities computed; the experts finished are stored, and the "
                            "same command continues from there");
    }
    const auto advice = moin::adviseSpecialisation(workspace, m);
    std::fprintf(stderr, "%d perplexities computed, %d reused from the workspace\n",
                 m.computedCells, m.storedCells);
    if (asJson) {
        json base = json::object();
        for (const auto& [cluster, perplexity] : m.basePerplexity)
            base[std::to_string(cluster)] = numberOrNull(perplexity);
        json rows = json::array();
        for (const auto& e : m.experts) {
            json perplexities = json::object();
            for (const auto& [cluster, perplexity] : e.perplexity)
                perplexities[std::to_string(cluster)] = numberOrNull(perplexity);
            json row = {{"expert", e.expert},
                        {"perplexity", perplexities},
                        {"margin", numberOrNull(e.margin)}};
            if (m.sampled) {
                row["nearest"] = e.nearest;
                row["random"] = e.random;
            }
            rows.push_back(row);
        }
        json notes = json::array();
        for (const auto& a : advice) {
            json causes = json::array();
            for (const auto& cause : a.causes)
                causes.push_back(moin::describeCause(cause));
            notes.push_back({{"expert", a.expert},
                             {"margin", numberOrNull(a.margin)},
                             {"best_other_cluster", a.bestOtherCluster},
                             {"causes", causes}});
        }
        const json out = {{"run", m.runId},         {"clusters", m.clusters},
                          {"base_perplexity", base}, {"experts", rows},
                          {"sampled", m.sampled},    {"negative_margins", notes}};
        std::cout << out.dump(2) << "\n";
        return;
    }
    // Columns in neighbour order; with sampling (or many clusters) one line per expert.
    std::vector<float> centroids;
    int64_t k = 0, d = 0;
    try {
        moin::VectorFile file = moin::readRunCentroids(workspace, m.runId);
        centroids = std::move(file.values);
        k = file.rows;
        d = file.cols;
    } catch (const moin::Error&) {
        // Without centroids the table keeps cluster order.
    }
    const std::vector<int> order = moin::neighbourOrder(m.clusters, centroids, d);
    std::printf("Run %lld: %zu experts on %zu clusters%s. Cells: perplexity reduction against "
                "the base; [own cluster].\n",
                (long long)m.runId, m.experts.size(), m.clusters.size(),
                m.sampled ? " (each expert on a sample of the clusters)" : "");
    if (!m.sampled && order.size() <= 16) {
        std::printf("%-8s", "");
        for (int c : order)
            std::printf(" %9s", ("c" + std::to_string(c)).c_str());
        std::printf(" %9s\n%-8s", "margin", "base ppl");
        for (int c : order)
            std::printf(" %9.2f", m.basePerplexity.count(c) ? m.basePerplexity.at(c) : NAN);
        std::printf("\n");
        for (const auto& e : m.experts) {
            std::printf("%-8s", ("expert " + std::to_string(e.expert)).c_str());
            for (int c : order) {
                const auto found = e.perplexity.find(c);
                std::string cell = found == e.perplexity.end()
                                       ? "-"
                                       : percent(moin::relativeReduction(
                                           m.basePerplexity.at(c), found->second));
                if (c == e.expert)
                    cell = "[" + cell + "]";
                std::printf(" %9s", cell.c_str());
            }
            std::printf(" %9s\n", points(e.margin).c_str());
        }
    } else {
        for (const auto& e : m.experts) {
            std::printf("expert %4d: own cluster %s, best other (cluster %d) %s, margin %s\n",
                        e.expert, percent(e.ownReduction).c_str(), e.bestOtherCluster,
                        percent(e.bestOtherReduction).c_str(), points(e.margin).c_str());
        }
    }
    if (advice.empty()) {
        std::printf("\nEvery expert helps its own cluster more than any other.\n");
        return;
    }
    std::printf("\nExperts that help another cluster more than their own:\n");
    for (const auto& a : advice) {
        std::printf("  expert %d (margin %s, best on cluster %d):\n", a.expert,
                    points(a.margin).c_str(), a.bestOtherCluster);
        for (const auto& cause : a.causes)
            std::printf("    - %s\n", moin::describeCause(cause).c_str());
    }
}

void addEval(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "eval", "Held-out perplexity of the base and of each expert on its own cluster");
    static std::string dir;
    static bool asJson = false;
    static moin::EvaluationOptions options;
    static std::string experts;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_flag("--json", asJson,
                  "Print one JSON line per expert (with --matrix: one JSON object)");
    cmd->add_option("--run", options.runId, "Clustering run (default: the active run)");
    cmd->add_option("--experts", experts, "Cluster ids (default: every trained expert)");
    cmd->add_flag("--control", options.control,
                  "Also score each expert on another expert's cluster");
    cmd->add_option("--max-chunks", options.maxChunks, "Held-out chunks per cluster at most");
    cmd->add_option("--device", options.device, "auto, cpu, cuda or cuda:N")
        ->capture_default_str();
    static bool matrix = false;
    static moin::SpecialisationOptions matrixOptions;
    cmd->add_flag("--matrix", matrix,
                  "Score every expert on every cluster: the expert x cluster perplexity matrix "
                  "and each expert's specialisation margin (stored and reused)");
    cmd->add_option("--max-clusters", matrixOptions.maxClusters,
                    "With --matrix and more clusters than this, score each expert on its own "
                    "cluster, its 8 nearest and 8 random ones")
        ->capture_default_str();
    cmd->add_option("--seed", matrixOptions.seed, "With --matrix: seed of the random clusters")
        ->capture_default_str();
    cmd->add_option("--precision", options.precision,
                    "fp32, bf16 mixed precision, or auto: bf16 where the hardware runs it fast")
        ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
        ->capture_default_str();
    static std::string routingName;
    static RoutingOptions routing;
    cmd->add_option("--routing", routingName,
                    "Also score the routed answer on every trained expert's held-out chunks, "
                    "each routed by its own text: top1, mix, or oracle (each chunk's own "
                    "expert)")
        ->check(CLI::IsMember({"top1", "mix", "oracle"}));
    routing.add(cmd, "", "--top-k,--mix-k",
                "--temperature,--mix-temperature");
    cmd->callback([] {
        if (matrix) {
            if (!routingName.empty())
                throw moin::Error("--matrix and --routing are separate evaluations; give one");
            if (options.control || !experts.empty()) {
                throw moin::Error("--matrix scores every expert on every cluster; it does not "
                                  "take --control or --experts");
            }
            matrixOptions.runId = options.runId;
            matrixOptions.maxChunks = options.maxChunks;
            matrixOptions.device = options.device;
            printMatrix(dir, matrixOptions, asJson);
            return;
        }
        std::fprintf(stderr, "precision: %s\n",
                     moin::describePrecision(moin::parsePrecision(options.precision),
                                             moin::resolveDevice(options.device))
                         .c_str());
        for (int64_t id : parseIdList(experts, "--experts"))
            options.experts.push_back(int(id));
        moin::Workspace workspace = moin::Workspace::open(dir);
        // The routing is checked before the per-expert rows take their time.
        moin::RoutedEvaluationOptions routed;
        routed.runId = options.runId;
        routed.maxChunks = options.maxChunks;
        routed.device = options.device;
        routed.precision = options.precision;
        routed.oracle = routingName == "oracle";
        routed.policy = routing.policyFor(workspace);
        if (!routingName.empty() && !routed.oracle)
            routed.policy.mode = moin::parseRoutingMode(routingName);
        routed.policy.validate(0);
        installInterruptHandler();
        ProgressBar bar("evaluating");
        const auto results = moin::evaluateExperts(
            workspace, options, [&](int done, int total) { bar.update(done, total, "experts"); },
            &g_interrupt);
        bar.finish();
        double sumOwn = 0, sumControl = 0;
        int controls = 0;
        for (const auto& r : results) {
            const double reduction = 1 - r.expertPerplexity / r.basePerplexity;
            sumOwn += reduction;
            json line = {{"expert", r.expert},
                         {"held_out_chunks", r.heldOutChunks},
                         {"held_out_tokens", r.heldOutTokens},
                         {"base_perplexity", numberOrNull(r.basePerplexity)},
                         {"expert_perplexity", numberOrNull(r.expertPerplexity)},
                         {"relative_reduction", numberOrNull(reduction)}};
            if (r.controlCluster >= 0) {
                const double controlReduction =
                    1 - r.controlExpertPerplexity / r.controlBasePerplexity;
                sumControl += controlReduction;
                ++controls;
                line["control_cluster"] = r.controlCluster;
                line["control_base_perplexity"] = numberOrNull(r.controlBasePerplexity);
                line["control_expert_perplexity"] = numberOrNull(r.controlExpertPerplexity);
                line["control_relative_reduction"] = numberOrNull(controlReduction);
            }
            if (asJson) {
                std::cout << line.dump() << "\n";
            } else {
                std::printf("expert %3d: base %8.2f -> expert %8.2f (%+.1f%%)", r.expert,
                            r.basePerplexity, r.expertPerplexity, -100 * reduction);
                if (r.controlCluster >= 0)
                    std::printf("; on cluster %d: %8.2f -> %8.2f", r.controlCluster,
                                r.controlBasePerplexity, r.controlExpertPerplexity);
                std::printf("\n");
            }
        }
        if (!results.empty()) {
            std::fprintf(stderr, "mean relative perplexity reduction: %.1f%% on own clusters",
                         100 * sumOwn / double(results.size()));
            if (controls)
                std::fprintf(stderr, ", %.1f%% on other clusters (control)",
                             100 * sumControl / controls);
            std::fprintf(stderr, "\n");
        }
        if (routingName.empty() || g_interrupt.isCancelled())
            return;
        ProgressBar routedBar("routed evaluation");
        const moin::RoutedEvaluation r = moin::evaluateRouting(
            workspace, routed,
            [&](int done, int total) { routedBar.update(done, total, "per mille"); },
            &g_interrupt);
        routedBar.finish();
        const json line = {{"routing", r.routing},
                           {"k", r.k},
                           {"temperature", r.temperature},
                           {"chunks", r.chunks},
                           {"tokens", r.tokens},
                           {"fallback_chunks", r.fallbackChunks},
                           {"routed_to_own_cluster", r.routedToOwnCluster},
                           {"untrained_routes", r.untrainedRoutes},
                           {"base_perplexity", numberOrNull(r.basePerplexity)},
                           {"routed_perplexity", numberOrNull(r.routedPerplexity)}};
        if (asJson) {
            std::cout << line.dump() << "\n";
            return;
        }
        std::printf("routed (%s, k %d): base %8.2f -> routed %8.2f (%+.1f%%) on %lld chunks, "
                    "%lld tokens; %lld routed to their own cluster, %lld to the base\n",
                    r.routing.c_str(), r.k, r.basePerplexity, r.routedPerplexity,
                    -100 * (1 - r.routedPerplexity / r.basePerplexity), (long long)r.chunks,
                    (long long)r.tokens, (long long)r.routedToOwnCluster,
                    (long long)r.fallbackChunks);
    });
}

void addExportExpert(CLI::App& app)
{
    auto* cmd = app.add_subcommand("export-expert",
                                   "Copy a trained expert's PEFT adapter folder anywhere");
    static std::string dir;
    static int expert = 0;
    static std::string destination;
    static int64_t runId = 0;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("EXPERT", expert, "Expert (cluster id)")->required();
    cmd->add_option("DEST", destination, "Destination folder")->required();
    cmd->add_option("--run", runId, "Clustering run (default: the active run)");
    cmd->callback([] {
        moin::Workspace workspace = moin::Workspace::open(dir);
        const int64_t run = runId ? runId : moin::activeClusterRun(workspace);
        moin::exportExpert(workspace, run, expert, destination);
        std::fprintf(stderr, "expert %d written to %s (PEFT LoRA adapter)\n", expert,
                     destination.c_str());
    });
}

} // namespace

void addTrainingCommands(CLI::App& app)
{
    addTrain(app);
    addTrainWorker(app);
    addJobs(app);
    addEval(app);
    addExportExpert(app);
}
