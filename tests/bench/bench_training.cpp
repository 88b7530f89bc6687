// bench_training: expert training on the demo corpus (issue 5). Quality: one LoRA expert per
// cluster (k = 5, tf-idf) with the "quick" preset under the real coordinator and `moin
// train-worker` processes, then held-out perplexity of base and expert on each expert's own
// cluster and on a control cluster. Speed: training tokens/s per worker, as model FLOPs
// utilisation against the matmul ceiling measured in the same run, and against the same LoRA
// step written in PyTorch's Python API (lora_step_reference.py) on the same data and threads.
// Not a test: run it by hand (see README.md).
#include "cpu_share.h"
#include "machine_limits.h"

#include "llama.h"
#include "trainloop.h"

#include "moin/basemodel.h"
#include "moin/clustering.h"
#include "moin/coordinator.h"
#include "moin/corpus.h"
#include "moin/database.h"
#include "moin/error.h"
#include "moin/evaluation.h"
#include "moin/model.h"
#include "moin/precision.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using namespace moin::bench;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const Clock::time_point kStart = Clock::now();

double now() { return std::chrono::duration<double>(Clock::now() - kStart).count(); }

std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* pattern, ...)
{
    char buffer[1024];
    va_list args;
    va_start(args, pattern);
    std::vsnprintf(buffer, sizeof buffer, pattern, args);
    va_end(args);
    return buffer;
}

// Progress goes to stderr; stdout holds the report and the final JSON line.
void progress(const std::string& message)
{
    std::fprintf(stderr, "[%7.1f s] %s\n", now(), message.c_str());
}

json numberOrNull(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

double median(std::vector<double> values)
{
    if (values.empty())
        return std::nan("");
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// ---- machine ----------------------------------------------------------------------------

std::string cpuName()
{
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0)
            return line.substr(line.find(':') + 2);
    }
    return "unknown CPU";
}

double loadAverage()
{
    std::ifstream in("/proc/loadavg");
    double oneMinute = -1;
    in >> oneMinute;
    return oneMinute;
}

// OpenBLAS keeps its own thread pool, which torch::set_num_threads does not reach; looked up at
// run time because the BLAS may not be OpenBLAS.
struct BlasInfo {
    std::string config = "unknown BLAS";
    std::string core;
    int threads = -1;
};

BlasInfo setThreads(int threads)
{
    torch::set_num_threads(threads);
    BlasInfo info;
    if (auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(threads);
    if (auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
        info.threads = get();
    if (auto config = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
        info.config = config();
    if (auto core = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename")))
        info.core = core();
    return info;
}

// CPU time of reaped children (the workers and the Python reference are children of this
// process): /proc/self/stat fields 16 and 17, cutime and cstime. cpu_share.h counts only this
// process's own time, so without these the workers would count as "other processes".
int64_t childrenTicks()
{
    std::ifstream stat("/proc/self/stat");
    std::string line;
    std::getline(stat, line);
    const size_t close = line.rfind(')');
    if (close == std::string::npos)
        return 0;
    std::istringstream fields(line.substr(close + 2));
    std::string skip;
    for (int field = 3; field < 16; ++field)
        fields >> skip;
    int64_t cutime = 0, cstime = 0;
    fields >> cutime >> cstime;
    return cutime + cstime;
}

struct UsageSample {
    CpuTimes cpu;
    int64_t children = 0;
    double wall = 0;
};

UsageSample sampleUsage() { return {readCpuTimes(), childrenTicks(), now()}; }

// CPU use over a phase: the share of all CPUs that processes other than this one and its
// (reaped) children took, and how many cores this process and its children kept busy.
struct PhaseUsage {
    std::string name;
    double seconds = 0;
    double othersShare = -1;
    double ownCores = 0;
    double childCores = 0;
    double loadStart = -1, loadEnd = -1;
};

PhaseUsage usageBetween(const std::string& name, const UsageSample& a, const UsageSample& b,
                        double loadStart)
{
    PhaseUsage usage;
    usage.name = name;
    usage.seconds = b.wall - a.wall;
    usage.loadStart = loadStart;
    usage.loadEnd = loadAverage();
    const double tick = double(sysconf(_SC_CLK_TCK));
    if (usage.seconds > 0) {
        usage.ownCores = double(b.cpu.own - a.cpu.own) / tick / usage.seconds;
        usage.childCores = double(b.children - a.children) / tick / usage.seconds;
    }
    const int64_t total = b.cpu.total - a.cpu.total;
    if (total > 0 && a.cpu.total > 0) {
        const int64_t busy = total - (b.cpu.idle - a.cpu.idle);
        const int64_t mine = (b.cpu.own - a.cpu.own) + (b.children - a.children);
        usage.othersShare = busy > mine ? double(busy - mine) / double(total) : 0.0;
    }
    return usage;
}

class Phase {
public:
    Phase(std::string name, std::vector<PhaseUsage>& out)
        : m_name(std::move(name)), m_out(out), m_start(sampleUsage()), m_load(loadAverage())
    {
    }
    PhaseUsage finish()
    {
        PhaseUsage usage = usageBetween(m_name, m_start, sampleUsage(), m_load);
        m_out.push_back(usage);
        return usage;
    }

private:
    std::string m_name;
    std::vector<PhaseUsage>& m_out;
    UsageSample m_start;
    double m_load;
};

// ---- FLOPs ------------------------------------------------------------------------------

// What one trained token costs, counted as described in README.md.
struct FlopCount {
    int64_t linearWeights = 0; // every projection of every layer + lm_head (tied or not)
    int64_t loraWeights = 0;   // r x (in + out) per adapted projection
    double attentionForward = 0; // 4 L T d: QK^T and PV over the full T x T
    double forward = 0;          // 2 N_linear + attention (+ 2 N_lora)
    double perToken = 0;         // 3 x (2 N_linear + attention) + 6 N_lora
};

FlopCount flopsPerToken(const moin::LlamaConfig& c, const moin::TrainingSpec& spec)
{
    const int64_t H = c.hiddenSize, I = c.intermediateSize;
    const int64_t qOut = c.numHeads * c.headDim(), kvOut = c.numKvHeads * c.headDim();
    const std::map<std::string, std::pair<int64_t, int64_t>> shapes = {
        {"q_proj", {qOut, H}},  {"k_proj", {kvOut, H}}, {"v_proj", {kvOut, H}},
        {"o_proj", {H, qOut}},  {"gate_proj", {I, H}},  {"up_proj", {I, H}},
        {"down_proj", {H, I}}};
    FlopCount f;
    for (const auto& [name, shape] : shapes)
        f.linearWeights += c.numLayers * shape.first * shape.second;
    f.linearWeights += c.vocabSize * H;
    for (const std::string& target : spec.lora.targetModules) {
        const auto& shape = shapes.at(target);
        f.loraWeights += c.numLayers * int64_t(spec.lora.rank) * (shape.first + shape.second);
    }
    f.attentionForward = 4.0 * double(c.numLayers) * double(spec.sequenceLength)
                         * double(c.numHeads * c.headDim());
    const double base = 2.0 * double(f.linearWeights) + f.attentionForward;
    f.forward = base + 2.0 * double(f.loraWeights);
    f.perToken = 3.0 * base + 6.0 * double(f.loraWeights);
    return f;
}

// ---- training runs ----------------------------------------------------------------------

struct JobRecord {
    int64_t id = 0;
    int cluster = 0;
    double startedAt = -1; // bench clock, first seen running
    double endedAt = -1;   // bench clock, first seen finished
    moin::TrainingJob job;
    std::vector<moin::TrainingMetric> metrics;
    double medianTokensPerSecond = std::nan("");
    double wallTokensPerSecond = std::nan("");
    double overlap = 0; // share of its run time another job of the same round ran too
    int stepsUsed = 0;
    // The worker process, sampled at each coordinator update: (step, CPU ticks) and the most
    // threads seen.
    std::vector<std::pair<int64_t, int64_t>> cpuSamples;
    int maxThreads = 0;
    double cpuSecondsPerStep = std::nan("");
};

// utime + stime (ticks) and thread count of a process; false if it is gone.
bool processCpu(int64_t pid, int64_t* ticks, int* threads)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        return false;
    const size_t close = line.rfind(')');
    if (close == std::string::npos)
        return false;
    std::istringstream fields(line.substr(close + 2));
    std::string value;
    int64_t utime = 0, stime = 0;
    for (int field = 3; field <= 20 && (fields >> value); ++field) {
        if (field == 14)
            utime = std::stoll(value);
        else if (field == 15)
            stime = std::stoll(value);
        else if (field == 20)
            *threads = std::stoi(value);
    }
    *ticks = utime + stime;
    return true;
}

struct Round {
    std::string label;
    moin::TrainingSpec spec;
    int workers = 1;
    int threads = 1;
    double seconds = 0;
    std::vector<JobRecord> jobs;
    PhaseUsage usage;
    int failed = 0;
};

double overlapShare(const JobRecord& self, const std::vector<JobRecord>& all)
{
    if (self.startedAt < 0 || self.endedAt <= self.startedAt)
        return 0;
    std::vector<std::pair<double, double>> others;
    for (const JobRecord& other : all) {
        if (other.id == self.id || other.startedAt < 0)
            continue;
        const double a = std::max(self.startedAt, other.startedAt);
        const double b = std::min(self.endedAt, other.endedAt);
        if (b > a)
            others.emplace_back(a, b);
    }
    std::sort(others.begin(), others.end());
    double covered = 0, end = self.startedAt;
    for (const auto& [a, b] : others) {
        const double from = std::max(a, end);
        if (b > from) {
            covered += b - from;
            end = b;
        }
    }
    return covered / (self.endedAt - self.startedAt);
}

Round runRound(moin::Workspace& workspace, const std::string& label,
               const std::vector<moin::TrainingSpec>& specs, int workers, int threads,
               const std::string& moinExecutable, int skipSteps, std::vector<PhaseUsage>& usages)
{
    Round round;
    round.label = label;
    round.spec = specs.front();
    round.workers = workers;
    round.threads = threads;
    moin::TrainingQueue queue(workspace);
    const std::vector<int64_t> ids = queue.enqueue(specs);
    std::map<int64_t, size_t> index;
    for (size_t i = 0; i < ids.size(); ++i) {
        JobRecord record;
        record.id = ids[i];
        record.cluster = specs[i].cluster;
        round.jobs.push_back(record);
        index[ids[i]] = i;
    }
    moin::CoordinatorOptions options;
    options.workerExecutable = moinExecutable;
    options.workers = workers;
    options.threadsPerWorker = threads;
    options.onlyJobs = ids;
    options.pollSeconds = 0.1;
    progress(format("%s: %zu job(s), %d worker(s) x %d thread(s), %lld steps of %lld tokens",
                    label.c_str(), ids.size(), workers, threads,
                    (long long)specs.front().totalSteps(),
                    (long long)specs.front().tokensPerStep()));
    Phase phase(label, usages);
    const double started = now();
    moin::runTrainingQueue(workspace, options, [&](const moin::CoordinatorUpdate& update) {
        const double t = now();
        for (const moin::TrainingJob& job : update.jobs) {
            const auto found = index.find(job.id);
            if (found == index.end())
                continue;
            JobRecord& record = round.jobs[found->second];
            if (job.state == moin::JobState::Running && record.startedAt < 0)
                record.startedAt = t;
            const bool finished = job.state == moin::JobState::Done
                                  || job.state == moin::JobState::Failed
                                  || job.state == moin::JobState::Cancelled;
            if (finished && record.endedAt < 0)
                record.endedAt = t;
            int64_t ticks = 0;
            int threads = 0;
            if (job.state == moin::JobState::Running && job.workerPid > 0
                && processCpu(job.workerPid, &ticks, &threads)) {
                record.cpuSamples.emplace_back(job.step, ticks);
                record.maxThreads = std::max(record.maxThreads, threads);
            }
        }
        for (const std::string& line : update.events)
            progress("  " + line);
    });
    round.seconds = now() - started;
    round.usage = phase.finish();

    for (JobRecord& record : round.jobs) {
        record.job = queue.job(record.id);
        record.metrics = queue.metrics(record.id);
        if (record.job.state != moin::JobState::Done) {
            ++round.failed;
            progress(format("  job %lld (cluster %d) ended %s: %s", (long long)record.id,
                            record.cluster, moin::toString(record.job.state).c_str(),
                            record.job.error.c_str()));
        }
        if (record.endedAt < 0)
            record.endedAt = now();
        std::vector<double> rates;
        double lastSeconds = 0;
        int64_t lastStep = 0;
        for (const moin::TrainingMetric& m : record.metrics) {
            if (m.step > skipSteps && std::isfinite(m.tokensPerSecond) && m.tokensPerSecond > 0)
                rates.push_back(m.tokensPerSecond);
            if (std::isfinite(m.seconds) && m.step >= lastStep && std::isfinite(m.loss)) {
                lastStep = m.step;
                lastSeconds = m.seconds;
            }
        }
        if (record.startedAt < 0) // started and finished between two updates
            record.startedAt = record.endedAt - lastSeconds;
        record.stepsUsed = int(rates.size());
        // CPU time per step of the worker (all its threads) between the first sample past the
        // skipped steps and the last sample before the final step (whose evaluation and scoring
        // of the expert follow it).
        const int64_t total = record.job.spec.totalSteps();
        std::optional<std::pair<int64_t, int64_t>> from, to;
        for (const auto& sample : record.cpuSamples) {
            if (sample.first < skipSteps || sample.first >= total)
                continue;
            if (!from || sample.first < from->first)
                from = sample;
            if (!to || sample.first > to->first || (sample.first == to->first
                                                    && sample.second < to->second))
                to = sample;
        }
        if (from && to && to->first > from->first)
            record.cpuSecondsPerStep = double(to->second - from->second)
                                       / double(sysconf(_SC_CLK_TCK))
                                       / double(to->first - from->first);
        record.medianTokensPerSecond = median(rates);
        if (lastSeconds > 0)
            record.wallTokensPerSecond =
                double(lastStep) * double(record.job.spec.tokensPerStep()) / lastSeconds;
    }
    for (JobRecord& record : round.jobs)
        record.overlap = overlapShare(record, round.jobs);
    return round;
}

// ---- quality ----------------------------------------------------------------------------

struct Quality {
    std::string label;
    int64_t steps = 0;
    std::vector<moin::ExpertEvaluation> experts;
    bool everyBelowBase = false;
    double meanOwn = 0, meanControl = 0;
    int controls = 0;
    double evalSeconds = 0;
    int maxChunks = 0;
};

Quality evaluate(moin::Workspace& workspace, int64_t runId, const std::string& label,
                 int64_t steps, int maxChunks, std::vector<PhaseUsage>& usages)
{
    Quality q;
    q.label = label;
    q.steps = steps;
    q.maxChunks = maxChunks;
    moin::EvaluationOptions options;
    options.runId = runId;
    options.control = true;
    options.device = "cpu";
    options.maxChunks = maxChunks;
    progress("evaluating the experts (" + label + ") on held-out chunks, with controls");
    Phase phase("evaluation (" + label + ")", usages);
    q.experts = moin::evaluateExperts(workspace, options);
    q.evalSeconds = phase.finish().seconds;
    q.everyBelowBase = !q.experts.empty();
    double own = 0, control = 0;
    for (const moin::ExpertEvaluation& e : q.experts) {
        if (!(e.expertPerplexity < e.basePerplexity))
            q.everyBelowBase = false;
        own += 1 - e.expertPerplexity / e.basePerplexity;
        if (e.controlCluster >= 0) {
            control += 1 - e.controlExpertPerplexity / e.controlBasePerplexity;
            ++q.controls;
        }
    }
    q.meanOwn = q.experts.empty() ? std::nan("") : own / double(q.experts.size());
    q.meanControl = q.controls ? control / q.controls : std::nan("");
    return q;
}

// ---- data for the PyTorch reference -----------------------------------------------------

// The training token stream of a cluster exactly as the worker builds it: the training chunks of
// the held-out split, in id order, each as BOS + tokens + EOS.
std::vector<int64_t> trainingStream(moin::Workspace& workspace, const moin::Tokenizer& tokenizer,
                                    const moin::LlamaConfig& config, int64_t runId, int cluster,
                                    double heldOutFraction)
{
    moin::Statement query = workspace.database().prepare(
        "SELECT c.id, c.text FROM chunk_clusters cc JOIN chunks c ON c.id = cc.chunk_id "
        "WHERE cc.run_id = ? AND cc.cluster = ? ORDER BY c.id");
    query.bind(1, runId).bind(2, cluster);
    std::vector<int64_t> ids;
    std::map<int64_t, std::string> texts;
    while (query.step()) {
        ids.push_back(query.columnInt64(0));
        texts[ids.back()] = query.columnText(1);
    }
    const moin::ClusterSplit split = moin::splitCluster(ids, heldOutFraction);
    std::vector<int64_t> stream;
    for (int64_t id : split.trainChunks) {
        stream.push_back(config.bosTokenId);
        for (int32_t token : tokenizer.encode(texts[id]))
            stream.push_back(token);
        stream.push_back(config.eosTokenId);
    }
    return stream;
}

struct Reference {
    bool ran = false;
    std::string error;
    json output;
    double cppBaseLossPerplexity = std::nan(""); // mean of perplexityOfTokens().meanNll
    double cppBaseLossTrainLoop = std::nan("");  // trainloop.h's languageModelLoss
    double seconds = 0;
};

std::string shellQuote(const std::string& text)
{
    std::string quoted = "'";
    for (char c : text)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

// Runs a command, returns its stdout (stderr passes through) and exit status.
std::pair<std::string, int> capture(const std::string& command)
{
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return {"", -1};
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
        out.append(buffer, n);
    const int status = ::pclose(pipe);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

Reference runReference(moin::Workspace& workspace, const std::string& baseDir, int64_t runId,
                       const moin::TrainingSpec& spec, int threads, int warmup, int steps,
                       const std::string& python, const std::string& script,
                       const fs::path& scratch, std::vector<PhaseUsage>& usages)
{
    Reference ref;
    progress("PyTorch reference: writing token windows of cluster " + std::to_string(spec.cluster));
    moin::LanguageModel model = moin::LanguageModel::load(baseDir, {"cpu", "float32", true});
    const moin::LlamaConfig& config = model.config();
    const std::vector<int64_t> stream = trainingStream(
        workspace, model.tokenizer(), config, runId, spec.cluster, spec.heldOutFraction);
    const int64_t window = spec.sequenceLength + 1;
    const int64_t windows = (int64_t(stream.size()) - 1) / spec.sequenceLength;
    if (windows < 1) {
        ref.error = "the cluster has too few tokens for one window";
        return ref;
    }
    // Windows in a shuffled order, as the worker's sampler draws them (another permutation).
    std::vector<int64_t> order(static_cast<size_t>(windows));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(spec.seed);
    std::shuffle(order.begin(), order.end(), rng);
    const int64_t batches = warmup + steps;
    std::vector<int32_t> data;
    std::vector<int64_t> firstOffsets;
    for (int64_t b = 0; b < batches; ++b) {
        for (int s = 0; s < spec.batchSize; ++s) {
            const int64_t offset =
                order[size_t((b * spec.batchSize + s) % windows)] * spec.sequenceLength;
            if (b == 0)
                firstOffsets.push_back(offset);
            for (int64_t i = 0; i < window; ++i)
                data.push_back(int32_t(stream[size_t(offset + i)]));
        }
    }
    const fs::path windowsFile = scratch / "bench-training-windows.i32";
    {
        std::ofstream out(windowsFile, std::ios::binary);
        out.write(reinterpret_cast<const char*>(data.data()),
                  std::streamsize(data.size() * sizeof(int32_t)));
        if (!out)
            throw moin::Error("cannot write " + windowsFile.string());
    }

    // The base's loss on the first batch, two ways: the public API (each window scored alone,
    // every token after the first) and the training loop's own loss function.
    setThreads(threads);
    {
        double sum = 0;
        for (int64_t offset : firstOffsets) {
            const std::vector<int32_t> tokens(stream.begin() + offset,
                                              stream.begin() + offset + window);
            sum += model.perplexityOfTokens(tokens).meanNll;
        }
        ref.cppBaseLossPerplexity = sum / double(firstOffsets.size());
        torch::NoGradGuard noGrad;
        moin::LlamaImpl& llama = *model.impl().model;
        llama.eval();
        ref.cppBaseLossTrainLoop =
            moin::languageModelLoss(llama, moin::tokenWindows(stream, firstOffsets, window))
                .item<double>();
    }

    std::string targets;
    for (const std::string& t : spec.lora.targetModules)
        targets += (targets.empty() ? "" : ",") + t;
    std::string command = shellQuote(python) + " " + shellQuote(script);
    auto arg = [&](const std::string& name, const std::string& value) {
        command += " " + name + " " + shellQuote(value);
    };
    arg("--model", baseDir);
    arg("--windows", windowsFile.string());
    arg("--batch", std::to_string(spec.batchSize));
    arg("--seq", std::to_string(spec.sequenceLength));
    arg("--rank", std::to_string(spec.lora.rank));
    arg("--alpha", format("%.17g", spec.lora.alpha));
    arg("--dropout", format("%.17g", spec.lora.dropout));
    arg("--targets", targets);
    arg("--lr", format("%.17g", spec.learningRate));
    arg("--min-lr", format("%.17g", spec.minLearningRate));
    arg("--lr-warmup", std::to_string(spec.warmupSteps));
    arg("--weight-decay", format("%.17g", spec.weightDecay));
    arg("--beta1", format("%.17g", spec.beta1));
    arg("--beta2", format("%.17g", spec.beta2));
    arg("--clip", format("%.17g", spec.gradientClip));
    arg("--threads", std::to_string(threads));
    arg("--warmup", std::to_string(warmup));
    arg("--steps", std::to_string(steps));
    arg("--seed", std::to_string(spec.seed));
    if (spec.lora.useRslora)
        command += " --rslora";
    progress("PyTorch reference: " + std::to_string(warmup) + " + " + std::to_string(steps)
             + " steps with " + std::to_string(threads) + " thread(s)");
    Phase phase("PyTorch reference, " + std::to_string(threads) + " thread(s)", usages);
    const auto [out, status] = capture(command);
    ref.seconds = phase.finish().seconds;
    std::error_code ec;
    fs::remove(windowsFile, ec);
    if (status != 0) {
        ref.error = status == 77 ? python + " has no torch or numpy (exit 77)"
                                 : "the reference exited with status " + std::to_string(status);
        return ref;
    }
    std::istringstream lines(out);
    std::string line, last;
    while (std::getline(lines, line))
        if (!line.empty() && line.front() == '{')
            last = line;
    try {
        ref.output = json::parse(last);
        ref.ran = true;
    } catch (const json::exception& e) {
        ref.error = std::string("cannot parse the reference's output: ") + e.what();
    }
    return ref;
}

// ---- report -----------------------------------------------------------------------------

std::string targetsText(const moin::TrainingSpec& spec)
{
    std::string text;
    for (const std::string& t : spec.lora.targetModules)
        text += (text.empty() ? "" : ",") + t.substr(0, t.find('_'));
    return text;
}

void printQuality(const Quality& q, const std::map<int, int64_t>& sizes)
{
    std::printf("\nQuality: %s (%lld steps per expert); held-out perplexity (moin::evaluateExperts, "
                "control = next trained cluster%s)\n",
                q.label.c_str(), (long long)q.steps,
                q.maxChunks ? format("; at most %d chunks per cluster", q.maxChunks).c_str() : "");
    std::printf("  %6s %7s %9s %10s %10s %9s | %7s %10s %10s %9s\n", "expert", "chunks",
                "held-out", "base ppl", "expert ppl", "reduction", "control", "base ppl",
                "expert ppl", "reduction");
    for (const moin::ExpertEvaluation& e : q.experts) {
        const auto size = sizes.find(e.expert);
        std::printf("  %6d %7lld %9lld %10.3f %10.3f %8.2f%% | ", e.expert,
                    size == sizes.end() ? -1LL : (long long)size->second,
                    (long long)e.heldOutChunks, e.basePerplexity, e.expertPerplexity,
                    100 * (1 - e.expertPerplexity / e.basePerplexity));
        if (e.controlCluster >= 0)
            std::printf("%7d %10.3f %10.3f %8.2f%%\n", e.controlCluster, e.controlBasePerplexity,
                        e.controlExpertPerplexity,
                        100 * (1 - e.controlExpertPerplexity / e.controlBasePerplexity));
        else
            std::printf("%7s\n", "-");
    }
    std::printf("  every expert below the base on its own cluster: %s\n",
                q.everyBelowBase ? "YES" : "NO");
    std::printf("  mean relative perplexity reduction: %.2f%% on own clusters, %.2f%% on control "
                "clusters\n",
                100 * q.meanOwn, 100 * q.meanControl);
}

json qualityJson(const Quality& q)
{
    json experts = json::array();
    for (const moin::ExpertEvaluation& e : q.experts) {
        experts.push_back({{"expert", e.expert},
                           {"held_out_chunks", e.heldOutChunks},
                           {"held_out_tokens", e.heldOutTokens},
                           {"base_ppl", numberOrNull(e.basePerplexity)},
                           {"expert_ppl", numberOrNull(e.expertPerplexity)},
                           {"reduction", numberOrNull(1 - e.expertPerplexity / e.basePerplexity)},
                           {"control_cluster", e.controlCluster},
                           {"control_base_ppl", numberOrNull(e.controlBasePerplexity)},
                           {"control_expert_ppl", numberOrNull(e.controlExpertPerplexity)},
                           {"control_reduction",
                            numberOrNull(1 - e.controlExpertPerplexity / e.controlBasePerplexity)}});
    }
    return {{"label", q.label},
            {"steps", q.steps},
            {"experts", experts},
            {"every_expert_below_base", q.everyBelowBase},
            {"mean_reduction_own", numberOrNull(q.meanOwn)},
            {"mean_reduction_control", numberOrNull(q.meanControl)},
            {"eval_seconds", q.evalSeconds},
            {"eval_max_chunks", q.maxChunks}};
}

json roundJson(const Round& r, double flopsPerToken, double ceilingPerWorker)
{
    json jobs = json::array();
    for (const JobRecord& j : r.jobs) {
        jobs.push_back({{"job", j.id},
                        {"cluster", j.cluster},
                        {"state", moin::toString(j.job.state)},
                        {"steps", j.job.step},
                        {"median_tokens_per_second", numberOrNull(j.medianTokensPerSecond)},
                        {"steps_in_median", j.stepsUsed},
                        {"wall_tokens_per_second", numberOrNull(j.wallTokensPerSecond)},
                        {"overlap", j.overlap},
                        {"cpu_seconds_per_step", numberOrNull(j.cpuSecondsPerStep)},
                        {"tokens_per_cpu_second",
                         numberOrNull(double(r.spec.tokensPerStep()) / j.cpuSecondsPerStep)},
                        {"worker_threads_max", j.maxThreads},
                        {"gflops", numberOrNull(j.medianTokensPerSecond * flopsPerToken / 1e9)},
                        {"mfu", numberOrNull(j.medianTokensPerSecond * flopsPerToken / 1e9
                                             / ceilingPerWorker)},
                        {"final_loss", numberOrNull(j.job.loss)},
                        {"held_out_loss", numberOrNull(j.job.heldOutLoss)}});
    }
    return {{"label", r.label},
            {"workers", r.workers},
            {"threads_per_worker", r.threads},
            {"steps", r.spec.totalSteps()},
            {"tokens_per_step", r.spec.tokensPerStep()},
            {"seconds", r.seconds},
            {"failed", r.failed},
            {"others_cpu_share", r.usage.othersShare},
            {"worker_cores", r.usage.childCores},
            {"jobs", jobs}};
}

std::string cell(double value, const char* pattern)
{
    return std::isfinite(value) ? format(pattern, value) : std::string("-");
}

void printRound(const Round& r, double flopsPerToken, double ceilingPerWorker, int skipSteps)
{
    std::printf("\n%s: %d worker(s) x %d thread(s), %lld steps x %lld tokens; %.1f s wall; "
                "workers used %.2f cores; other processes took %.0f%% of the CPUs\n",
                r.label.c_str(), r.workers, r.threads, (long long)r.spec.totalSteps(),
                (long long)r.spec.tokensPerStep(), r.seconds, r.usage.childCores,
                100 * r.usage.othersShare);
    std::printf("  %5s %7s %-6s %7s %12s %8s %10s %8s %6s %9s %10s %7s %8s\n", "job", "cluster",
                "state", "overlap", "median tok/s", "step ms", "job tok/s", "GFLOP/s", "MFU",
                "CPU s/step", "tok/CPU-s", "threads", "loss");
    for (const JobRecord& j : r.jobs) {
        const double gflops = j.medianTokensPerSecond * flopsPerToken / 1e9;
        std::printf("  %5lld %7d %-6s %6.0f%% %12s %8s %10s %8s %6s %9s %10s %7d %8s\n",
                    (long long)j.id, j.cluster, moin::toString(j.job.state).c_str(),
                    100 * j.overlap, cell(j.medianTokensPerSecond, "%.1f").c_str(),
                    cell(1000.0 * double(r.spec.tokensPerStep()) / j.medianTokensPerSecond,
                         "%.0f")
                        .c_str(),
                    cell(j.wallTokensPerSecond, "%.1f").c_str(), cell(gflops, "%.2f").c_str(),
                    cell(100 * gflops / ceilingPerWorker, "%.1f%%").c_str(),
                    cell(j.cpuSecondsPerStep, "%.2f").c_str(),
                    cell(double(r.spec.tokensPerStep()) / j.cpuSecondsPerStep, "%.1f").c_str(),
                    j.maxThreads, cell(j.job.loss, "%.4f").c_str());
    }
    std::printf("  (median tok/s over steps > %d; step ms = tokens per step / that; job tok/s = "
                "all steps' tokens / the job's training time, evaluations and checkpoints "
                "included;\n   overlap = share of the job's run time another job of this round "
                "ran too; MFU against the %d-thread matmul ceiling; CPU s/step = the worker "
                "process's\n   user + system time per step, all its threads, steps %d to the last "
                "but one; threads = most threads the worker process had)\n",
                skipSteps, r.threads, skipSteps);
}

} // namespace

// ---- LoRA step against PyTorch-Python on a peer model (issue 15) ------------------------

// Tokens/s of the LoRA step our worker runs (forward, fp32 loss, backward, clip, AdamW) at
// `precision`, on random token windows: median of `steps` timed steps after 2 untimed ones.
struct StepSpeed {
    double tokensPerSecond = 0;
    double firstLoss = 0;
};

StepSpeed timeLoraSteps(const std::string& modelDir, moin::Precision precision, int batch,
                        int seq, int rank, int steps)
{
    moin::LanguageModel model = moin::LanguageModel::load(modelDir, {"cpu", "float32", false});
    moin::LoraConfig lora;
    lora.rank = rank;
    lora.alpha = 2.0 * rank; // scale 2, as the peer
    lora.dropout = 0;
    lora.targetModules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                          "down_proj"};
    model.attachNewAdapter(lora, 1);
    moin::LlamaImpl& llama = *model.impl().model;
    std::vector<torch::Tensor> parameters;
    for (auto& [name, projection] : llama.namedProjections()) {
        parameters.push_back(projection->lora->a.set_requires_grad(true));
        parameters.push_back(projection->lora->b.set_requires_grad(true));
    }
    // As runTrainingJob does it.
    moin::storeBaseWeightsFor(model, precision);
    const moin::PrecisionScope scope(precision, "cpu");
    torch::optim::AdamW optimizer(parameters, torch::optim::AdamWOptions(1e-4));
    llama.train();
    torch::manual_seed(0);
    const torch::Tensor data =
        torch::randint(0, model.config().vocabSize, {steps + 2, batch, seq + 1}, torch::kLong);
    std::vector<double> seconds;
    StepSpeed speed;
    for (int i = 0; i < steps + 2; ++i) {
        const auto started = Clock::now();
        moin::PrecisionScope::clearCache();
        optimizer.zero_grad();
        torch::Tensor loss = moin::languageModelLoss(llama, data[i]);
        loss.backward();
        torch::nn::utils::clip_grad_norm_(parameters, 1.0);
        optimizer.step();
        const double value = loss.item<double>();
        if (i == 0)
            speed.firstLoss = value;
        if (i >= 2)
            seconds.push_back(std::chrono::duration<double>(Clock::now() - started).count());
    }
    speed.tokensPerSecond = double(batch) * seq / median(seconds);
    return speed;
}

int peerLoraComparison(const std::string& modelDir, const std::string& python,
                       const std::string& peerScript, int threads, int steps, bool forceBf16)
{
    const int batch = 4, seq = 256, rank = 16;
    const BlasInfo blas = setThreads(threads);
    const moin::Precision automatic = moin::resolvePrecision(moin::Precision::Auto, "cpu");
    std::printf("LoRA training step at %s: batch %d x %d, rank %d on all 7 projections, "
                "%d thread(s)\n",
                modelDir.c_str(), batch, seq, rank, threads);
    std::printf("CPU %s; BLAS %s (core %s); CPU bf16 units: %s; --precision auto = %s\n",
                cpuName().c_str(), blas.config.c_str(), blas.core.c_str(),
                moin::cpuBf16Support().describe().c_str(),
                moin::describePrecision(moin::Precision::Auto, "cpu").c_str());
    const bool runBf16 = automatic == moin::Precision::Bf16 || forceBf16;
    json report = {{"model", modelDir}, {"threads", threads}, {"load_start", loadAverage()}};
    auto peer = [&](bool bf16) {
        const std::string command =
            shellQuote(python) + " " + shellQuote(peerScript) + " " + shellQuote(modelDir)
            + format(" --batch %d --seq %d --rank %d --steps %d --threads %d%s", batch, seq,
                     rank, steps, threads, bf16 ? " --bf16" : "");
        progress("peer: " + command);
        const auto [out, status] = capture(command);
        if (status != 0)
            throw moin::Error("the peer failed (" + std::to_string(status) + "): " + command);
        return json::parse(out.substr(out.find('{'))).at("tokens_per_s").get<double>();
    };
    progress("ours, fp32");
    const StepSpeed fp32 = timeLoraSteps(modelDir, moin::Precision::Fp32, batch, seq, rank, steps);
    const double peerFp32 = peer(false);
    std::printf("%-34s %10.1f tok/s   peer PyTorch fp32 %8.1f tok/s   ours/peer %.2fx\n",
                "ours fp32 (main's path)", fp32.tokensPerSecond, peerFp32,
                fp32.tokensPerSecond / peerFp32);
    report["ours_fp32"] = fp32.tokensPerSecond;
    report["peer_fp32"] = peerFp32;
    if (runBf16) {
        progress("ours, bf16");
        const StepSpeed bf16 =
            timeLoraSteps(modelDir, moin::Precision::Bf16, batch, seq, rank, steps);
        const double peerBf16 = peer(true);
        std::printf("%-34s %10.1f tok/s   peer PyTorch autocast bf16 %8.1f tok/s   ours/peer "
                    "%.2fx (target >= 1.2x); bf16/fp32 %.2fx (target >= 2.5x)\n",
                    "ours bf16", bf16.tokensPerSecond, peerBf16, bf16.tokensPerSecond / peerBf16,
                    bf16.tokensPerSecond / fp32.tokensPerSecond);
        std::printf("first-step loss fp32 %.5f, bf16 %.5f (relative difference %.2e)\n",
                    fp32.firstLoss, bf16.firstLoss,
                    std::abs(bf16.firstLoss - fp32.firstLoss) / fp32.firstLoss);
        report["ours_bf16"] = bf16.tokensPerSecond;
        report["peer_bf16"] = peerBf16;
    } else {
        std::printf("bf16 not measured: this CPU has no bf16 matmul units, so auto runs fp32 "
                    "(--force-bf16 measures the emulated path anyway)\n");
    }
    report["load_end"] = loadAverage();
    std::printf("load average %.2f at the start, %.2f at the end\n%s\n",
                report["load_start"].get<double>(), report["load_end"].get<double>(),
                report.dump().c_str());
    return 0;
}

int main(int argc, char** argv)
{
    CLI::App app{"Expert training on the demo corpus: quality (perplexity of each expert against "
                 "the base) and speed (tokens/s, MFU, and against the same step in PyTorch)."};
    std::string workspaceDir;
    std::string corpus = MOIN_DEMO_CORPUS;
    std::string moinExecutable;
    std::string python = "/usr/bin/python3";
    std::string script = MOIN_LORA_REFERENCE_SCRIPT;
    std::string preset = "quick";
    int k = 5;
    int64_t steps = 0;
    int64_t moreSteps = 200;
    int workers = 2;
    int threads = 2;
    int64_t speedSteps = 40;
    int speedCluster = 0;
    int skipSteps = 5;
    int pythonWarmup = 3;
    int pythonSteps = 20;
    int evalMaxChunks = 0;
    bool skipPython = false;
    bool skipSingleThread = false;
    bool keep = false;
    std::string peerModel;
    std::string peerScript;
    int peerSteps = 6;
    bool forceBf16 = false;
    app.add_option("--peer-model", peerModel,
                   "only compare the LoRA step (batch 4 x 256, rank 16) with PyTorch-Python on "
                   "this Hugging Face folder (the peers' m/), in fp32 and bf16");
    app.add_option("--peer-script", peerScript, "the peers' lora_train_ref.py");
    app.add_option("--peer-steps", peerSteps, "timed steps of each side")
        ->check(CLI::Range(1, 1000))->capture_default_str();
    app.add_flag("--force-bf16", forceBf16,
                 "with --peer-model: measure bf16 even where the CPU has no bf16 units");
    app.add_option("--workspace", workspaceDir,
                   "workspace to use (created with the demo corpus if missing; an existing one "
                   "keeps its corpus and active run, and its experts are retrained); default: a "
                   "temporary one, removed at the end");
    app.add_option("--corpus", corpus, "corpus folder to import (.jsonl files)")
        ->capture_default_str();
    app.add_option("--moin", moinExecutable, "the moin executable (default: next to this one)");
    app.add_option("--python", python, "Python with torch and numpy")->capture_default_str();
    app.add_option("--k", k, "clusters = experts")->check(CLI::Range(2, 100))->capture_default_str();
    app.add_option("--preset", preset, "training preset")
        ->check(CLI::IsMember(moin::TrainingSpec::presetNames()))
        ->capture_default_str();
    app.add_option("--steps", steps, "optimizer steps per expert (0: the preset's)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--more-steps", moreSteps,
                   "if an expert is not below the base, train every expert again with this many "
                   "steps and report both (0: don't)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--workers", workers, "workers of the quality run (1 thread each)")
        ->check(CLI::Range(1, 64))->capture_default_str();
    app.add_option("--threads", threads,
                   "threads of the dedicated speed run, of the PyTorch reference and of this "
                   "process")
        ->check(CLI::Range(1, 256))->capture_default_str();
    app.add_option("--speed-steps", speedSteps, "steps of the dedicated speed runs")
        ->check(CLI::Range(int64_t(2), int64_t(100000)))->capture_default_str();
    app.add_option("--speed-cluster", speedCluster,
                   "cluster of the speed runs and of the PyTorch reference's data")
        ->capture_default_str();
    app.add_option("--skip-steps", skipSteps, "first steps of each job left out of the median")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--python-warmup", pythonWarmup, "untimed PyTorch steps")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--python-steps", pythonSteps, "timed PyTorch steps")
        ->check(CLI::Range(1, 100000))->capture_default_str();
    app.add_option("--eval-max-chunks", evalMaxChunks,
                   "held-out chunks scored per cluster at most (0: all; less for a smoke run)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_flag("--skip-python", skipPython, "no PyTorch reference");
    app.add_flag("--skip-single-thread", skipSingleThread,
                 "no dedicated 1-worker x 1-thread speed run (nor its PyTorch reference)");
    app.add_flag("--keep", keep, "keep the temporary workspace");
    CLI11_PARSE(app, argc, argv);
    if (!peerModel.empty()) {
        try {
            if (peerScript.empty())
                throw moin::Error("--peer-model needs --peer-script (lora_train_ref.py)");
            return peerLoraComparison(peerModel, python, peerScript, threads, peerSteps,
                                      forceBf16);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_training: %s\n", e.what());
            return 1;
        }
    }

    std::vector<PhaseUsage> usages;
    const UsageSample runStart = sampleUsage();
    const double loadStart = loadAverage();
    try {
        if (moinExecutable.empty()) {
            char self[4096] = {};
            const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
            moinExecutable =
                (fs::path(std::string(self, size_t(std::max<ssize_t>(n, 0)))).parent_path()
                 / "moin")
                    .string();
        }
        if (::access(moinExecutable.c_str(), X_OK) != 0)
            throw moin::Error("the moin executable " + moinExecutable
                              + " is missing (build the `moin` target or pass --moin)");
        const BlasInfo blas = setThreads(threads);
        json setup = {{"cpu", cpuName()},
                      {"cores", int(sysconf(_SC_NPROCESSORS_ONLN))},
                      {"torch_version", TORCH_VERSION},
                      {"blas", blas.config},
                      {"blas_core", blas.core},
                      {"threads", threads},
                      {"nice", ::nice(0)},
                      {"load_average_start", loadStart},
                      {"moin", moinExecutable}};
        json warnings = json::array();
        __builtin_cpu_init();
        if (blas.core == "Prescott" && __builtin_cpu_supports("avx2")) {
            // OpenBLAS's DYNAMIC_ARCH falls back to its oldest x86-64 kernels for CPU models
            // newer than its release; the workers and the reference inherit the environment.
            warnings.push_back("OpenBLAS did not recognise this CPU and runs its Prescott (SSE3) "
                               "kernels in this process, the workers and the reference; "
                               "OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2) in the "
                               "environment selects faster ones");
        }

        // 1. Matmul ceilings, per thread count (the workers use 1 thread, the dedicated run and
        // the reference `threads`).
        progress("measuring the matmul ceiling (1 thread and " + std::to_string(threads)
                 + " threads)");
        std::map<int, double> ceiling;
        json limitsJson = json::object();
        for (int t : std::set<int>{1, threads}) {
            setThreads(t);
            LimitOptions limitOptions;
            limitOptions.arrayMiB = 16;
            limitOptions.threads = t;
            limitOptions.bandwidthReps = 2;
            limitOptions.matmulReps = 3;
            Phase phase("matmul ceiling, " + std::to_string(t) + " thread(s)", usages);
            const MachineLimits limits = measureMachineLimits(limitOptions);
            phase.finish();
            ceiling[t] = limits.matmulCeiling;
            json kernels = json::array();
            for (const KernelResult& kernel : limits.matmul)
                kernels.push_back({{"name", kernel.name}, {"gflops", kernel.rate()},
                                   {"counts", kernel.countsForCeiling}});
            limitsJson[std::to_string(t)] = {{"matmul_ceiling_gflops", limits.matmulCeiling},
                                             {"kernels", kernels}};
            progress(format("  %d thread(s): matmul ceiling %.1f GFLOP/s", t,
                            limits.matmulCeiling));
        }
        setThreads(threads);

        // 2. Workspace, corpus, clustering.
        bool temporary = false;
        if (workspaceDir.empty()) {
            workspaceDir = (fs::temp_directory_path()
                            / ("bench-training-" + std::to_string(::getpid())))
                               .string();
            temporary = true;
        }
        std::optional<moin::Workspace> workspace;
        if (moin::Workspace::exists(workspaceDir)) {
            progress("opening the workspace " + workspaceDir);
            workspace.emplace(moin::Workspace::open(workspaceDir));
        } else {
            progress("creating the workspace " + workspaceDir + " on the built-in base");
            moin::WorkspaceOptions options;
            options.baseModel = moin::builtinBaseModelDirectory();
            workspace.emplace(moin::Workspace::create(workspaceDir, options));
        }
        const std::string baseDir = workspace->baseModelDirectory();
        double importSeconds = 0, clusterSeconds = 0;
        if (moin::corpusStats(*workspace).chunks == 0) {
            std::vector<std::string> files;
            for (const auto& entry : fs::directory_iterator(corpus))
                if (entry.path().extension() == ".jsonl")
                    files.push_back(entry.path().string());
            std::sort(files.begin(), files.end());
            progress("importing " + std::to_string(files.size()) + " files of " + corpus);
            Phase phase("import", usages);
            moin::importCorpus(*workspace, files, {});
            importSeconds = phase.finish().seconds;
        }
        const moin::CorpusStats stats = moin::corpusStats(*workspace);
        int64_t runId = moin::activeClusterRun(*workspace);
        if (runId == 0 || int(moin::listClusters(*workspace, runId).size()) != k) {
            progress("clustering: tf-idf, k = " + std::to_string(k) + ", PCA layout");
            moin::ClusterRunOptions options;
            options.embedder.kind = "tfidf";
            options.kmeans.k = k;
            options.layout.method = "pca";
            Phase phase("clustering", usages);
            runId = moin::runClustering(*workspace, options);
            clusterSeconds = phase.finish().seconds;
        }
        std::map<int, int64_t> sizes;
        for (const moin::ClusterInfo& c : moin::listClusters(*workspace, runId))
            sizes[c.cluster] = c.size;
        const moin::LlamaConfig config =
            moin::LlamaConfig::load((fs::path(baseDir) / "config.json").string());

        moin::TrainingSpec quick = moin::TrainingSpec::preset(preset);
        quick.runId = runId;
        if (steps > 0)
            quick.steps = steps;
        quick.validate();
        const FlopCount flops = flopsPerToken(config, quick);

        // 3. Quality, round 1: every cluster, `workers` workers of 1 thread.
        auto specsFor = [&](const moin::TrainingSpec& base) {
            std::vector<moin::TrainingSpec> specs;
            for (const auto& [cluster, size] : sizes) {
                moin::TrainingSpec spec = base;
                spec.cluster = cluster;
                specs.push_back(spec);
            }
            return specs;
        };
        std::vector<Round> rounds;
        std::vector<Quality> qualities;
        const std::string label1 =
            preset + " preset" + (steps > 0 ? ", " + std::to_string(steps) + " steps" : "");
        rounds.push_back(runRound(*workspace, "training (" + label1 + ")", specsFor(quick),
                                  workers, 1, moinExecutable, skipSteps, usages));
        if (rounds.back().failed)
            warnings.push_back(std::to_string(rounds.back().failed) + " job(s) of the "
                               + label1 + " round did not finish");
        qualities.push_back(evaluate(*workspace, runId, label1, quick.totalSteps(), evalMaxChunks, usages));

        // 3b. More steps if some expert is not below the base.
        if (!qualities.back().everyBelowBase && moreSteps > 0) {
            moin::TrainingSpec more = quick;
            more.steps = moreSteps;
            more.tokenBudget = 0;
            more.evalEvery = std::max<int64_t>(quick.evalEvery, moreSteps / 4);
            more.checkpointEvery = more.evalEvery;
            const std::string label2 = preset + " preset, " + std::to_string(moreSteps) + " steps";
            progress("an expert is not below the base: training again with "
                     + std::to_string(moreSteps) + " steps");
            rounds.push_back(runRound(*workspace, "training (" + label2 + ")", specsFor(more),
                                      workers, 1, moinExecutable, skipSteps, usages));
            qualities.push_back(evaluate(*workspace, runId, label2, moreSteps, evalMaxChunks, usages));
        }

        // 4. Dedicated speed runs on one cluster: 1 worker x `threads`, 1 worker x 1 thread.
        if (!sizes.count(speedCluster))
            throw moin::Error("there is no cluster " + std::to_string(speedCluster));
        moin::TrainingSpec speed = quick;
        speed.cluster = speedCluster;
        speed.steps = speedSteps;
        speed.tokenBudget = 0;
        speed.evalEvery = speedSteps;
        speed.checkpointEvery = speedSteps;
        std::vector<Round> speedRounds;
        speedRounds.push_back(runRound(*workspace,
                                       "speed, 1 worker x " + std::to_string(threads) + " threads",
                                       {speed}, 1, threads, moinExecutable, skipSteps, usages));
        if (!skipSingleThread && threads != 1)
            speedRounds.push_back(runRound(*workspace, "speed, 1 worker x 1 thread", {speed}, 1,
                                           1, moinExecutable, skipSteps, usages));

        // 5. The same step in PyTorch's Python API.
        // One reference per dedicated run, at its thread count.
        std::vector<std::pair<const Round*, Reference>> references;
        for (const Round& r : speedRounds) {
            if (skipPython)
                break;
            references.emplace_back(&r, runReference(*workspace, baseDir, runId, speed,
                                                      r.threads, pythonWarmup, pythonSteps,
                                                      python, script, fs::path(workspaceDir),
                                                      usages));
            if (!references.back().second.ran)
                warnings.push_back("PyTorch reference: " + references.back().second.error);
        }

        const PhaseUsage whole = usageBetween("whole run", runStart, sampleUsage(), loadStart);
        setup["load_average_end"] = loadAverage();
        if (whole.othersShare > 0.05)
            warnings.push_back(format("other processes took %.0f%% of the CPUs during the run: "
                                      "the speed figures are low",
                                      100 * whole.othersShare));

        // ---- report ----
        std::printf("MoIN Studio training benchmark (issue 5)\n");
        std::printf("  %s, %d cores; torch %s; %s (%s, %d threads in this process)\n",
                    setup["cpu"].get<std::string>().c_str(), setup["cores"].get<int>(),
                    TORCH_VERSION, blas.config.c_str(), blas.core.c_str(), blas.threads);
        std::printf("  other processes took %.0f%% of the CPUs during the run (load average "
                    "%.2f at start, %.2f at end); nice %d\n",
                    100 * whole.othersShare, loadStart, setup["load_average_end"].get<double>(),
                    setup["nice"].get<int>());
        std::printf("  base %s: %lld parameters (vocab %lld, hidden %lld, MLP %lld, %lld layers, "
                    "%lld heads, %lld KV heads, tied %s)\n",
                    baseDir.c_str(), (long long)config.parameterCount(),
                    (long long)config.vocabSize, (long long)config.hiddenSize,
                    (long long)config.intermediateSize, (long long)config.numLayers,
                    (long long)config.numHeads, (long long)config.numKvHeads,
                    config.tieWordEmbeddings ? "yes" : "no");
        std::printf("  workspace %s: %lld chunks, %lld tokens%s; clustering run %lld (tf-idf, "
                    "k = %d%s); cluster sizes:",
                    workspaceDir.c_str(), (long long)stats.chunks, (long long)stats.tokens,
                    importSeconds > 0 ? format(" (imported in %.1f s)", importSeconds).c_str()
                                      : "",
                    (long long)runId, k,
                    clusterSeconds > 0 ? format(", %.1f s", clusterSeconds).c_str() : "");
        for (const auto& [cluster, size] : sizes)
            std::printf(" %d:%lld", cluster, (long long)size);
        std::printf("\n  training: preset %s, LoRA r=%d alpha=%g dropout=%g on %s, batch %d x "
                    "%d tokens, AdamW lr %g -> %g (warm-up %lld), clip %g\n",
                    preset.c_str(), quick.lora.rank, quick.lora.alpha, quick.lora.dropout,
                    targetsText(quick).c_str(), quick.batchSize, quick.sequenceLength,
                    quick.learningRate, quick.minLearningRate, (long long)quick.warmupSteps,
                    quick.gradientClip);

        for (const Quality& q : qualities)
            printQuality(q, sizes);

        std::printf("\nFLOPs per trained token (T = %d): forward 2 x %lld projection weights "
                    "(lm_head included) = %.3f M + attention 4 L T d = %.3f M;\n"
                    "  backward = 2 x that (activation gradients; frozen weights get none); LoRA "
                    "6 x %lld = %.3f M  =>  %.3f MFLOP per token\n",
                    quick.sequenceLength, (long long)flops.linearWeights,
                    2e-6 * double(flops.linearWeights), 1e-6 * flops.attentionForward,
                    (long long)flops.loraWeights, 6e-6 * double(flops.loraWeights),
                    1e-6 * flops.perToken);
        std::printf("Matmul ceiling (torch::mm_out of 1024^2 and 2048^2 fp32, best of "
                    "repetitions, same run):");
        for (const auto& [t, gflops] : ceiling)
            std::printf("  %d thread(s) %.1f GFLOP/s", t, gflops);
        std::printf("\n");

        for (const Round& r : rounds)
            printRound(r, flops.perToken, ceiling[1], skipSteps);
        // Per worker while another worker ran beside it (overlap >= 90%).
        const Round& first = rounds.front();
        std::vector<double> concurrent, alone;
        for (const JobRecord& j : first.jobs) {
            if (!std::isfinite(j.medianTokensPerSecond))
                continue;
            (j.overlap >= 0.9 ? concurrent : alone).push_back(j.medianTokensPerSecond);
        }
        const double perWorker = median(concurrent);
        const double machine = double(workers) * perWorker;
        std::printf("  => per worker while %d ran at once (jobs with overlap >= 90%%, median): "
                    "%.1f tokens/s, %.2f GFLOP/s, MFU %.1f%% of the 1-thread ceiling\n",
                    workers, perWorker, perWorker * flops.perToken / 1e9,
                    100 * perWorker * flops.perToken / 1e9 / ceiling[1]);
        std::printf("  => machine, %d workers: %.1f tokens/s, MFU %.1f%% of the %d-thread "
                    "ceiling\n",
                    workers, machine, 100 * machine * flops.perToken / 1e9 / ceiling[threads],
                    threads);
        for (const Round& r : speedRounds)
            printRound(r, flops.perToken, ceiling[r.threads], skipSteps);

        const double dedicated = speedRounds.front().jobs.front().medianTokensPerSecond;
        json referenceArray = json::array();
        for (const auto& [round, reference] : references) {
            const int t = round->threads;
            const JobRecord& ours = round->jobs.front();
            if (!reference.ran) {
                std::printf("\nPyTorch reference, %d thread(s): did not run: %s\n", t,
                            reference.error.c_str());
                continue;
            }
            const json& o = reference.output;
            const double pyTps = o.at("tokens_per_second").get<double>();
            const double pyLoss = o.at("base_loss_first_batch").get<double>();
            const double diff = std::max(std::fabs(pyLoss - reference.cppBaseLossPerplexity),
                                         std::fabs(pyLoss - reference.cppBaseLossTrainLoop));
            const double ourCpu = ours.cpuSecondsPerStep;
            const double pyCpu = o.value("cpu_ms_per_step", std::nan("")) / 1000;
            std::printf("\nPyTorch reference (lora_step_reference.py, %s, torch %s, %d thread(s), "
                        "OpenBLAS threads %d): the same step on cluster %d's token windows\n",
                        python.c_str(), o.value("torch_version", "?").c_str(),
                        o.value("threads", -1), o.value("openblas_threads", -1), speedCluster);
            std::printf("  base loss of the first batch (%d x %d tokens, LoRA B = 0): C++ "
                        "perplexityOfTokens %.6f, C++ training loss %.6f, Python %.6f; max "
                        "|difference| %.2e (%s 1e-3)\n",
                        quick.batchSize, quick.sequenceLength, reference.cppBaseLossPerplexity,
                        reference.cppBaseLossTrainLoop, pyLoss, diff,
                        diff <= 1e-3 ? "within" : "NOT within");
            std::printf("  PyTorch: median step %.1f ms over %d steps after %d warm-up (mean %.1f, "
                        "min %.1f) = %.1f tokens/s, %.2f GFLOP/s, MFU %.1f%%; CPU %.2f s per step; "
                        "loss %.4f -> %.4f\n",
                        o.at("step_ms").get<double>(), o.at("timed_steps").get<int>(),
                        o.at("warmup_steps").get<int>(), o.at("step_ms_mean").get<double>(),
                        o.at("step_ms_min").get<double>(), pyTps, pyTps * flops.perToken / 1e9,
                        100 * pyTps * flops.perToken / 1e9 / ceiling[t], pyCpu,
                        o.at("first_step_loss").get<double>(), o.at("last_step_loss").get<double>());
            std::printf("  ours (moin train-worker, 1 worker x %d thread(s)): median step %.1f ms = "
                        "%.1f tokens/s; CPU %.2f s per step\n",
                        t, 1000.0 * double(speed.tokensPerStep()) / ours.medianTokensPerSecond,
                        ours.medianTokensPerSecond, ourCpu);
            std::printf("  => ours / PyTorch = %.2f in tokens/s (wall time), %.2f in tokens per "
                        "CPU-second (all threads; less sensitive to other processes)\n",
                        ours.medianTokensPerSecond / pyTps, pyCpu / ourCpu);
            if (diff > 1e-3)
                warnings.push_back("the base loss of the C++ model and of the PyTorch reference "
                                   "differ by more than 1e-3");
            json entry = o;
            entry["cpp_base_loss_perplexity_api"] = reference.cppBaseLossPerplexity;
            entry["cpp_base_loss_training_loss"] = reference.cppBaseLossTrainLoop;
            entry["base_loss_max_abs_difference"] = diff;
            entry["ours_tokens_per_second"] = numberOrNull(ours.medianTokensPerSecond);
            entry["ours_over_pytorch"] = numberOrNull(ours.medianTokensPerSecond / pyTps);
            entry["ours_cpu_seconds_per_step"] = numberOrNull(ourCpu);
            entry["ours_over_pytorch_cpu"] = numberOrNull(pyCpu / ourCpu);
            entry["mfu"] = pyTps * flops.perToken / 1e9 / ceiling[t];
            entry["seconds"] = reference.seconds;
            referenceArray.push_back(entry);
        }

        std::printf("\nCPU use per phase (others = share of all CPUs taken by other processes; "
                    "ours = cores kept busy by this process + by its workers/children)\n");
        json phases = json::array();
        for (const PhaseUsage& u : usages) {
            std::printf("  %-48s %8.1f s  others %5.1f%%  ours %.2f + %.2f cores  load %.2f -> "
                        "%.2f\n",
                        u.name.c_str(), u.seconds, 100 * u.othersShare, u.ownCores, u.childCores,
                        u.loadStart, u.loadEnd);
            phases.push_back({{"name", u.name},
                              {"seconds", u.seconds},
                              {"others_cpu_share", u.othersShare},
                              {"own_cores", u.ownCores},
                              {"child_cores", u.childCores},
                              {"load_start", u.loadStart},
                              {"load_end", u.loadEnd}});
        }
        std::printf("  %-48s %8.1f s  others %5.1f%%\n", "whole run", whole.seconds,
                    100 * whole.othersShare);
        for (const json& w : warnings)
            std::printf("WARNING: %s\n", w.get<std::string>().c_str());

        json roundsJson = json::array(), qualityArray = json::array();
        for (const Round& r : rounds)
            roundsJson.push_back(roundJson(r, flops.perToken, ceiling[1]));
        for (const Round& r : speedRounds)
            roundsJson.push_back(roundJson(r, flops.perToken, ceiling[r.threads]));
        for (const Quality& q : qualities)
            qualityArray.push_back(qualityJson(q));
        setup["others_cpu_share"] = whole.othersShare;
        setup["total_seconds"] = whole.seconds;
        json sizesJson = json::object();
        for (const auto& [cluster, size] : sizes)
            sizesJson[std::to_string(cluster)] = size;
        const json result = {
            {"bench", "training"},
            {"setup", setup},
            {"corpus", {{"chunks", stats.chunks}, {"tokens", stats.tokens}, {"run", runId},
                        {"k", k}, {"cluster_sizes", sizesJson}}},
            {"quality", qualityArray},
            {"flops_per_token",
             {{"total", flops.perToken}, {"linear_weights", flops.linearWeights},
              {"lora_weights", flops.loraWeights}, {"attention_forward", flops.attentionForward},
              {"sequence_length", quick.sequenceLength}}},
            {"limits", limitsJson},
            {"rounds", roundsJson},
            {"per_worker_tokens_per_second", numberOrNull(perWorker)},
            {"per_worker_mfu", numberOrNull(perWorker * flops.perToken / 1e9 / ceiling[1])},
            {"machine_tokens_per_second", numberOrNull(machine)},
            {"machine_mfu", numberOrNull(machine * flops.perToken / 1e9 / ceiling[threads])},
            {"dedicated_tokens_per_second", numberOrNull(dedicated)},
            {"dedicated_mfu", numberOrNull(dedicated * flops.perToken / 1e9 / ceiling[threads])},
            {"pytorch", referenceArray},
            {"phases", phases},
            {"warnings", warnings}};
        std::printf("%s\n", result.dump().c_str());
        std::fflush(stdout);

        workspace.reset();
        if (temporary && !keep) {
            std::error_code ec;
            fs::remove_all(workspaceDir, ec);
        } else if (temporary) {
            progress("kept the workspace " + workspaceDir);
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_training: %s\n", e.what());
        return 1;
    }
}
