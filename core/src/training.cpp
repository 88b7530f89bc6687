// Expert training specs and the workspace's persistent job queue. No LibTorch here: the training
// loop is in trainer.cpp, run by worker processes.
#include "moin/training.h"

#include "moin/atomicfile.h"
#include "moin/error.h"
#include "moin/workspace.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace moin {

namespace {

using json = nlohmann::json;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string number(double value)
{
    json j = value;
    return j.dump();
}

void require(bool ok, const std::string& field, const std::string& rule, const std::string& got)
{
    if (!ok)
        throw Error("training setting " + field + " must be " + rule + "; got " + got);
}

// The ids as a JSON array, for `id IN (SELECT value FROM json_each(?))`: one statement for any
// number of jobs.
std::string idArray(const std::vector<int64_t>& ids)
{
    return json(ids).dump();
}

const char* kJobColumns =
    "id, run_id, cluster, state, priority, position, request, attempts, max_attempts, step, "
    "total_steps, loss, held_out_loss, learning_rate, tokens_per_second, base_perplexity, "
    "expert_perplexity, worker_pid, worker_host, device, created_at, "
    "COALESCE(started_at, ''), COALESCE(finished_at, ''), error, adapter_path, spec";

double realOrNaN(const Statement& row, int column)
{
    return row.isNull(column) ? kNaN : row.columnDouble(column);
}

TrainingJob readJob(const Statement& row)
{
    TrainingJob job;
    job.id = row.columnInt64(0);
    job.runId = row.columnInt64(1);
    job.cluster = int(row.columnInt64(2));
    job.state = jobStateFromString(row.columnText(3));
    job.priority = int(row.columnInt64(4));
    job.position = row.columnInt64(5);
    job.request = row.columnText(6);
    job.attempts = int(row.columnInt64(7));
    job.maxAttempts = int(row.columnInt64(8));
    job.step = row.columnInt64(9);
    job.totalSteps = row.columnInt64(10);
    job.loss = realOrNaN(row, 11);
    job.heldOutLoss = realOrNaN(row, 12);
    job.learningRate = realOrNaN(row, 13);
    job.tokensPerSecond = realOrNaN(row, 14);
    job.basePerplexity = realOrNaN(row, 15);
    job.expertPerplexity = realOrNaN(row, 16);
    job.workerPid = row.columnInt64(17);
    job.workerHost = row.columnText(18);
    job.device = row.columnText(19);
    job.createdAt = row.columnText(20);
    job.startedAt = row.columnText(21);
    job.finishedAt = row.columnText(22);
    job.error = row.columnText(23);
    job.adapterPath = row.columnText(24);
    job.spec = TrainingSpec::fromJson(row.columnText(25), "job " + std::to_string(job.id));
    return job;
}

const char* kQueueOrder =
    " ORDER BY CASE state WHEN 'running' THEN 0 WHEN 'queued' THEN 1 WHEN 'paused' THEN 2 "
    "ELSE 3 END, priority DESC, position, id";

uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// TrainingSpec

int64_t TrainingSpec::tokensPerStep() const
{
    return int64_t(batchSize) * sequenceLength * gradientAccumulation;
}

int64_t TrainingSpec::totalSteps() const
{
    if (tokenBudget > 0) {
        const int64_t perStep = std::max<int64_t>(1, tokensPerStep());
        return (tokenBudget + perStep - 1) / perStep;
    }
    return steps;
}

void TrainingSpec::validate() const
{
    require(runId > 0, "run", "a clustering run id (1 or more)", std::to_string(runId));
    require(cluster >= 0, "cluster", "0 or more", std::to_string(cluster));
    lora.validate();
    require(std::isfinite(learningRate) && learningRate > 0, "learning rate",
            "a positive number", number(learningRate));
    require(std::isfinite(minLearningRate) && minLearningRate >= 0
                && minLearningRate <= learningRate,
            "minimum learning rate", "between 0 and the learning rate (" + number(learningRate)
                                         + ")",
            number(minLearningRate));
    require(std::isfinite(weightDecay) && weightDecay >= 0, "weight decay", "0 or more",
            number(weightDecay));
    require(beta1 >= 0 && beta1 < 1, "beta1", "in [0, 1)", number(beta1));
    require(beta2 >= 0 && beta2 < 1, "beta2", "in [0, 1)", number(beta2));
    require(warmupSteps >= 0, "warm-up steps", "0 or more", std::to_string(warmupSteps));
    require(std::isfinite(gradientClip) && gradientClip >= 0, "gradient clip",
            "0 (off) or more", number(gradientClip));
    require(batchSize >= 1 && batchSize <= 4096, "batch size", "between 1 and 4096",
            std::to_string(batchSize));
    require(sequenceLength >= 8 && sequenceLength <= 65536, "sequence length",
            "between 8 and 65536 tokens", std::to_string(sequenceLength));
    require(gradientAccumulation >= 1 && gradientAccumulation <= 1024, "gradient accumulation",
            "between 1 and 1024", std::to_string(gradientAccumulation));
    require(tokenBudget >= 0, "token budget", "0 (use steps) or more",
            std::to_string(tokenBudget));
    if (tokenBudget == 0)
        require(steps >= 1, "steps", "1 or more", std::to_string(steps));
    require(totalSteps() <= 10'000'000, "steps", "at most 10,000,000",
            std::to_string(totalSteps()));
    require(heldOutFraction > 0 && heldOutFraction < 0.5, "held-out fraction",
            "in (0, 0.5)", number(heldOutFraction));
    require(evalEvery >= 1, "evaluation interval", "1 step or more", std::to_string(evalEvery));
    require(checkpointEvery >= 1, "checkpoint interval", "1 step or more",
            std::to_string(checkpointEvery));
    require(!device.empty(), "device", "auto, cpu, cuda or cuda:N", "an empty string");
    require(precision == "auto" || precision == "fp32" || precision == "bf16", "precision",
            "auto, fp32 or bf16", "\"" + precision + "\"");
}

std::string TrainingSpec::toJson() const
{
    const json j = {{"run_id", runId},
                    {"cluster", cluster},
                    {"base_model", baseModel},
                    {"lora", json::parse(lora.toJson())},
                    {"learning_rate", learningRate},
                    {"min_learning_rate", minLearningRate},
                    {"weight_decay", weightDecay},
                    {"beta1", beta1},
                    {"beta2", beta2},
                    {"warmup_steps", warmupSteps},
                    {"gradient_clip", gradientClip},
                    {"batch_size", batchSize},
                    {"sequence_length", sequenceLength},
                    {"gradient_accumulation", gradientAccumulation},
                    {"steps", steps},
                    {"token_budget", tokenBudget},
                    {"held_out_fraction", heldOutFraction},
                    {"eval_every", evalEvery},
                    {"checkpoint_every", checkpointEvery},
                    {"seed", seed},
                    {"device", device},
                    {"precision", precision}};
    return j.dump();
}

TrainingSpec TrainingSpec::fromJson(const std::string& text, const std::string& source)
{
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw Error(source + ": the training settings are not valid JSON: " + e.what());
    }
    if (!j.is_object())
        throw Error(source + ": the training settings must be a JSON object");
    TrainingSpec s;
    try {
        for (const auto& [key, value] : j.items()) {
            if (key == "run_id") s.runId = value.get<int64_t>();
            else if (key == "cluster") s.cluster = value.get<int>();
            else if (key == "base_model") s.baseModel = value.get<std::string>();
            else if (key == "lora") s.lora = LoraConfig::fromJson(value.dump(), source + " lora");
            else if (key == "learning_rate") s.learningRate = value.get<double>();
            else if (key == "min_learning_rate") s.minLearningRate = value.get<double>();
            else if (key == "weight_decay") s.weightDecay = value.get<double>();
            else if (key == "beta1") s.beta1 = value.get<double>();
            else if (key == "beta2") s.beta2 = value.get<double>();
            else if (key == "warmup_steps") s.warmupSteps = value.get<int64_t>();
            else if (key == "gradient_clip") s.gradientClip = value.get<double>();
            else if (key == "batch_size") s.batchSize = value.get<int>();
            else if (key == "sequence_length") s.sequenceLength = value.get<int>();
            else if (key == "gradient_accumulation") s.gradientAccumulation = value.get<int>();
            else if (key == "steps") s.steps = value.get<int64_t>();
            else if (key == "token_budget") s.tokenBudget = value.get<int64_t>();
            else if (key == "held_out_fraction") s.heldOutFraction = value.get<double>();
            else if (key == "eval_every") s.evalEvery = value.get<int64_t>();
            else if (key == "checkpoint_every") s.checkpointEvery = value.get<int64_t>();
            else if (key == "seed") s.seed = value.get<uint64_t>();
            else if (key == "device") s.device = value.get<std::string>();
            else if (key == "precision") s.precision = value.get<std::string>();
            else
                throw Error(source + ": unknown training setting \"" + key + "\"");
        }
    } catch (const json::exception& e) {
        throw Error(source + ": a training setting has the wrong type: " + e.what());
    }
    return s;
}

std::vector<std::string> TrainingSpec::presetNames() { return {"quick", "standard", "thorough"}; }

TrainingSpec TrainingSpec::preset(const std::string& name)
{
    TrainingSpec s;
    if (name == "quick") {
        // Minutes on a laptop CPU with the built-in base: enough to see every expert help.
        s.lora.rank = 8;
        s.lora.alpha = 16;
        s.lora.dropout = 0.0;
        s.lora.targetModules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                "down_proj"};
        s.learningRate = 3e-3;
        s.minLearningRate = 3e-4;
        s.warmupSteps = 5;
        s.batchSize = 8;
        s.sequenceLength = 128;
        s.steps = 60;
        s.evalEvery = 20;
        s.checkpointEvery = 20;
    } else if (name == "standard") {
        s.lora.rank = 16;
        s.lora.alpha = 32;
        s.lora.dropout = 0.05;
        s.lora.targetModules = {"q_proj", "k_proj", "v_proj", "o_proj"};
        s.learningRate = 2e-3;
        s.minLearningRate = 2e-4;
        s.warmupSteps = 20;
        s.batchSize = 16;
        s.sequenceLength = 256;
        s.steps = 500;
        s.evalEvery = 50;
        s.checkpointEvery = 50;
    } else if (name == "thorough") {
        s.lora.rank = 32;
        s.lora.alpha = 64;
        s.lora.dropout = 0.05;
        s.lora.targetModules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                "down_proj"};
        s.learningRate = 1e-3;
        s.minLearningRate = 1e-4;
        s.weightDecay = 0.01;
        s.warmupSteps = 50;
        s.batchSize = 16;
        s.sequenceLength = 512;
        s.gradientAccumulation = 2;
        s.steps = 2000;
        s.evalEvery = 100;
        s.checkpointEvery = 100;
    } else {
        throw Error("unknown training preset \"" + name + "\"; choose quick, standard or thorough");
    }
    return s;
}

std::string toString(JobState state)
{
    switch (state) {
    case JobState::Queued: return "queued";
    case JobState::Running: return "running";
    case JobState::Paused: return "paused";
    case JobState::Done: return "done";
    case JobState::Failed: return "failed";
    case JobState::Cancelled: return "cancelled";
    }
    return "queued";
}

JobState jobStateFromString(const std::string& name)
{
    static const std::map<std::string, JobState> states = {
        {"queued", JobState::Queued}, {"running", JobState::Running},
        {"paused", JobState::Paused}, {"done", JobState::Done},
        {"failed", JobState::Failed}, {"cancelled", JobState::Cancelled}};
    const auto found = states.find(name);
    if (found == states.end())
        throw Error("unknown job state \"" + name + "\"");
    return found->second;
}

bool isAllowedTransition(JobState from, JobState to)
{
    using S = JobState;
    switch (from) {
    case S::Queued:
        return to == S::Running || to == S::Paused || to == S::Cancelled || to == S::Failed;
    case S::Running:
        return to == S::Done || to == S::Failed || to == S::Cancelled || to == S::Paused
               || to == S::Queued;
    case S::Paused: return to == S::Queued || to == S::Cancelled;
    case S::Failed:
    case S::Cancelled: return to == S::Queued;
    case S::Done: return false;
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Held-out split

bool isHeldOutChunk(int64_t chunkId, double fraction)
{
    const double u = double(splitmix64(uint64_t(chunkId) ^ 0x6D6F696E68656C64ull) >> 11)
                     * (1.0 / 9007199254740992.0);
    return u < fraction;
}

ClusterSplit splitCluster(const std::vector<int64_t>& chunkIds, double fraction)
{
    ClusterSplit split;
    for (int64_t id : chunkIds)
        (isHeldOutChunk(id, fraction) ? split.heldOutChunks : split.trainChunks).push_back(id);
    if (chunkIds.size() >= 2) {
        // Small clusters: keep one chunk on each side so that both training and evaluation run.
        if (split.heldOutChunks.empty()) {
            split.heldOutChunks.push_back(split.trainChunks.back());
            split.trainChunks.pop_back();
        } else if (split.trainChunks.empty()) {
            split.trainChunks.push_back(split.heldOutChunks.front());
            split.heldOutChunks.erase(split.heldOutChunks.begin());
        }
    }
    return split;
}

// ---------------------------------------------------------------------------------------------
// Paths

std::string jobDirectory(const std::string& workspaceDirectory, int64_t jobId)
{
    return (fs::path(workspaceDirectory) / "jobs" / std::to_string(jobId)).string();
}

std::string jobDirectory(Workspace& workspace, int64_t jobId)
{
    return jobDirectory(workspace.directory(), jobId);
}

std::string expertDirectory(const std::string& workspaceDirectory, int64_t runId, int cluster)
{
    return (fs::path(workspaceDirectory) / "adapters" / ("run-" + std::to_string(runId))
            / ("expert-" + std::to_string(cluster)))
        .string();
}

void exportExpert(Workspace& workspace, int64_t runId, int cluster, const std::string& destination)
{
    TrainingQueue queue(workspace);
    for (const ExpertInfo& expert : queue.experts(runId)) {
        if (expert.cluster != cluster)
            continue;
        std::error_code ec;
        fs::create_directories(destination, ec);
        if (ec)
            throw Error("cannot create " + destination + ": " + ec.message());
        for (const char* name : {"adapter_config.json", "adapter_model.safetensors"}) {
            copyFileAtomically((fs::path(expert.adapterPath) / name).string(),
                               (fs::path(destination) / name).string());
        }
        return;
    }
    throw Error("expert " + std::to_string(cluster) + " of run " + std::to_string(runId)
                + " has not been trained (see `moin jobs`)");
}

// ---------------------------------------------------------------------------------------------
// TrainingQueue

TrainingQueue::TrainingQueue(Workspace& workspace) : m_workspace(workspace) {}

std::vector<int64_t> TrainingQueue::enqueue(const std::vector<TrainingSpec>& specs, int priority)
{
    Database& db = m_workspace.database();
    Transaction transaction(db);
    const std::string workspaceBase = m_workspace.baseModelDirectory();
    std::map<std::string, LlamaConfig> baseConfigs;
    std::set<std::pair<int64_t, int>> seen;
    int64_t position = db.queryInt64("SELECT COALESCE(MAX(position), 0) FROM training_jobs")
                           .value_or(0);
    Statement runExists =
        db.prepare("SELECT k FROM cluster_runs WHERE id = ? AND status = 'done'");
    Statement chunksOf = db.prepare(
        "SELECT cc.chunk_id, c.tokens FROM chunk_clusters cc JOIN chunks c ON c.id = cc.chunk_id "
        "WHERE cc.run_id = ? AND cc.cluster = ? ORDER BY cc.chunk_id");
    Statement active = db.prepare(
        "SELECT id, state FROM training_jobs WHERE run_id = ? AND cluster = ? "
        "AND state IN ('queued', 'running', 'paused')");
    Statement insert = db.prepare(
        "INSERT INTO training_jobs (run_id, cluster, state, priority, position, spec, "
        "total_steps, device) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)");
    std::vector<int64_t> ids;
    for (TrainingSpec spec : specs) {
        const std::string who = "expert " + std::to_string(spec.cluster);
        try {
            spec.validate();
        } catch (const Error& e) {
            throw Error(who + ": " + e.what());
        }
        runExists.reset();
        runExists.bind(1, spec.runId);
        if (!runExists.step())
            throw Error(who + ": there is no finished clustering run " + std::to_string(spec.runId));
        const int64_t k = runExists.columnInt64(0);
        if (spec.cluster >= k) {
            throw Error(who + ": run " + std::to_string(spec.runId) + " has clusters 0 to "
                        + std::to_string(k - 1));
        }
        if (!seen.insert({spec.runId, spec.cluster}).second)
            throw Error(who + " is listed twice");
        active.reset();
        active.bind(1, spec.runId).bind(2, spec.cluster);
        if (active.step()) {
            throw Error(who + " already has job " + std::to_string(active.columnInt64(0)) + " ("
                        + active.columnText(1) + "); cancel it first or resume it");
        }
        if (spec.baseModel.empty())
            spec.baseModel = workspaceBase;
        auto config = baseConfigs.find(spec.baseModel);
        if (config == baseConfigs.end()) {
            config = baseConfigs
                         .emplace(spec.baseModel, LlamaConfig::load(
                                                      (fs::path(spec.baseModel) / "config.json")
                                                          .string()))
                         .first;
        }
        if (spec.sequenceLength > config->second.maxPositions) {
            throw Error(who + ": sequence length " + std::to_string(spec.sequenceLength)
                        + " is longer than the base model's context ("
                        + std::to_string(config->second.maxPositions) + " tokens)");
        }
        // Enough text? The split is the one the worker will use.
        std::vector<int64_t> chunkIds;
        std::map<int64_t, int64_t> tokensOf;
        chunksOf.reset();
        chunksOf.bind(1, spec.runId).bind(2, spec.cluster);
        while (chunksOf.step()) {
            chunkIds.push_back(chunksOf.columnInt64(0));
            tokensOf[chunkIds.back()] = chunksOf.columnInt64(1);
        }
        if (chunkIds.size() < 2) {
            throw Error(who + " has " + std::to_string(chunkIds.size())
                        + " chunk(s); training needs at least 2 (one to learn, one to evaluate "
                          "on). Cluster with a smaller k, or leave this expert out");
        }
        const ClusterSplit split = splitCluster(chunkIds, spec.heldOutFraction);
        int64_t trainTokens = 0;
        for (int64_t id : split.trainChunks)
            trainTokens += tokensOf[id] + 2; // BOS and EOS around each chunk
        if (trainTokens < spec.sequenceLength + 1) {
            throw Error(who + " has " + std::to_string(trainTokens)
                        + " training tokens; one sequence needs "
                        + std::to_string(spec.sequenceLength + 1)
                        + ". Lower the sequence length, or leave this expert out");
        }
        insert.reset();
        insert.bind(1, spec.runId)
            .bind(2, spec.cluster)
            .bind(3, priority)
            .bind(4, ++position)
            .bind(5, spec.toJson())
            .bind(6, spec.totalSteps())
            .bind(7, spec.device)
            .run();
        ids.push_back(db.lastInsertRowId());
    }
    transaction.commit();
    if (!ids.empty())
        m_workspace.logActivity("queued " + std::to_string(ids.size()) + " training job(s)");
    return ids;
}

std::vector<TrainingJob> TrainingQueue::list(std::optional<JobState> state)
{
    std::string sql = std::string("SELECT ") + kJobColumns + " FROM training_jobs";
    if (state)
        sql += " WHERE state = ?";
    sql += kQueueOrder;
    Statement query = m_workspace.database().prepare(sql);
    if (state)
        query.bind(1, toString(*state));
    std::vector<TrainingJob> jobs;
    while (query.step())
        jobs.push_back(readJob(query));
    return jobs;
}

TrainingJob TrainingQueue::job(int64_t id)
{
    Statement query = m_workspace.database().prepare(std::string("SELECT ") + kJobColumns
                                                     + " FROM training_jobs WHERE id = ?");
    query.bind(1, id);
    if (!query.step())
        throw Error("there is no training job " + std::to_string(id) + " (see `moin jobs`)");
    return readJob(query);
}

std::vector<TrainingJob> TrainingQueue::latestPerCluster(int64_t runId)
{
    Statement query = m_workspace.database().prepare(
        std::string("SELECT ") + kJobColumns
        + " FROM training_jobs WHERE id IN (SELECT MAX(id) FROM training_jobs WHERE run_id = ? "
          "GROUP BY cluster) ORDER BY cluster");
    query.bind(1, runId);
    std::vector<TrainingJob> jobs;
    while (query.step())
        jobs.push_back(readJob(query));
    return jobs;
}

namespace {

// Runs `sql` (with `?1` = the ids as a JSON array) in one transaction; returns the rows changed.
int64_t updateJobs(Database& db, const std::vector<std::string>& statements,
                   const std::vector<int64_t>& ids)
{
    Transaction transaction(db);
    int64_t changed = 0;
    for (const std::string& sql : statements) {
        db.prepare(sql).bind(1, idArray(ids)).run();
        changed += db.changes();
    }
    transaction.commit();
    return changed;
}

const char* kSelected = " id IN (SELECT value FROM json_each(?1))";

} // namespace

namespace {

// "state IN ('queued', 'paused')": an SQL condition for jobs in `from` that move to `to`; each
// of those moves must be in the table, or this is a programming error caught by every test.
std::string stateMovesTo(JobState to, std::initializer_list<JobState> from)
{
    std::string condition = "state IN (";
    for (JobState state : from) {
        if (!isAllowedTransition(state, to))
            throw Error("internal error: a job may not move from " + toString(state) + " to "
                        + toString(to));
        condition += (condition.back() == '(' ? "'" : ", '") + toString(state) + "'";
    }
    return condition + ")";
}

const char* kFinishedNow = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

} // namespace

// A running job's state is its worker's to end: actions on it leave a request (pause, cancel)
// that the coordinator carries out, and its move then follows the table too.
int64_t TrainingQueue::pause(const std::vector<int64_t>& ids)
{
    return updateJobs(m_workspace.database(),
                      {"UPDATE training_jobs SET state = 'paused' WHERE "
                           + stateMovesTo(JobState::Paused, {JobState::Queued}) + " AND"
                           + kSelected,
                       std::string("UPDATE training_jobs SET request = 'pause' WHERE state = "
                                   "'running' AND request = '' AND")
                           + kSelected},
                      ids);
}

int64_t TrainingQueue::resume(const std::vector<int64_t>& ids)
{
    return updateJobs(m_workspace.database(),
                      {"UPDATE training_jobs SET state = 'queued', request = '' WHERE "
                           + stateMovesTo(JobState::Queued, {JobState::Paused}) + " AND"
                           + kSelected,
                       // Resuming a job whose pause is still pending just withdraws the request.
                       std::string("UPDATE training_jobs SET request = '' WHERE state = "
                                   "'running' AND request = 'pause' AND")
                           + kSelected},
                      ids);
}

int64_t TrainingQueue::cancel(const std::vector<int64_t>& ids)
{
    return updateJobs(
        m_workspace.database(),
        {"UPDATE training_jobs SET state = 'cancelled', request = '', finished_at = "
             + std::string(kFinishedNow) + " WHERE "
             + stateMovesTo(JobState::Cancelled, {JobState::Queued, JobState::Paused}) + " AND"
             + kSelected,
         std::string("UPDATE training_jobs SET request = 'cancel' WHERE state = 'running' AND")
             + kSelected},
        ids);
}

int64_t TrainingQueue::retry(const std::vector<int64_t>& ids)
{
    Database& db = m_workspace.database();
    // A cluster that meanwhile got another live job is left alone.
    return updateJobs(
        db,
        {"UPDATE training_jobs SET state = 'queued', request = '', attempts = 0, error = '', "
         "finished_at = NULL WHERE "
             + stateMovesTo(JobState::Queued, {JobState::Failed, JobState::Cancelled})
             + " AND NOT EXISTS (SELECT 1 FROM training_jobs other WHERE other.run_id = "
               "training_jobs.run_id AND other.cluster = training_jobs.cluster AND "
               "other.id <> training_jobs.id AND other.state IN ('queued', 'running', "
               "'paused')) AND"
             + kSelected},
        ids);
}

bool TrainingQueue::move(int64_t id, JobState to, const JobMove& details)
{
    static const std::vector<JobState> kStates = {JobState::Queued, JobState::Running,
                                                  JobState::Paused, JobState::Done,
                                                  JobState::Failed, JobState::Cancelled};
    std::string from = "state IN (";
    for (JobState state : kStates) {
        if (isAllowedTransition(state, to))
            from += (from.back() == '(' ? "'" : ", '") + toString(state) + "'";
    }
    from += ")";
    const bool final = to == JobState::Done || to == JobState::Failed || to == JobState::Cancelled;
    // A job going back to running keeps its note (why it was requeued) until it ends again.
    std::string sql = "UPDATE training_jobs SET state = ?1, request = ''";
    if (to == JobState::Running) {
        sql += ", attempts = attempts + 1, worker_pid = ?3, worker_host = ?4, device = "
               "CASE WHEN ?5 = '' THEN device ELSE ?5 END, started_at = COALESCE(started_at, "
               + std::string(kFinishedNow) + ")";
    } else {
        sql += ", error = ?2, worker_pid = 0, finished_at = "
               + (final ? std::string(kFinishedNow) : std::string("NULL"));
    }
    sql += " WHERE id = ?6 AND " + from;
    Database& db = m_workspace.database();
    Statement update = db.prepare(sql);
    update.bind(1, toString(to)).bind(6, id);
    if (to == JobState::Running)
        update.bind(3, details.workerPid).bind(4, details.workerHost).bind(5, details.device);
    else
        update.bind(2, details.error);
    update.run();
    if (db.changes() == 1)
        return true;
    if (!db.queryInt64("SELECT COUNT(*) FROM training_jobs WHERE id = " + std::to_string(id))
             .value_or(0))
        throw Error("there is no training job " + std::to_string(id));
    return false;
}

int64_t TrainingQueue::setPriority(const std::vector<int64_t>& ids, int priority)
{
    Database& db = m_workspace.database();
    Transaction transaction(db);
    db.prepare(std::string("UPDATE training_jobs SET priority = ?2 WHERE") + kSelected)
        .bind(1, idArray(ids))
        .bind(2, priority)
        .run();
    const int64_t changed = db.changes();
    transaction.commit();
    return changed;
}

int64_t TrainingQueue::moveToFront(const std::vector<int64_t>& ids)
{
    // New positions below every other: MIN - count + rank in the current order.
    return updateJobs(
        m_workspace.database(),
        {std::string("WITH chosen AS (SELECT id, ROW_NUMBER() OVER (ORDER BY position, id) AS "
                     "rank, COUNT(*) OVER () AS n FROM training_jobs WHERE")
             + kSelected
             + "), base AS (SELECT MIN(position) AS low FROM training_jobs) "
               "UPDATE training_jobs SET position = (SELECT low FROM base) - (SELECT n FROM "
               "chosen WHERE chosen.id = training_jobs.id) - 1 + (SELECT rank FROM chosen WHERE "
               "chosen.id = training_jobs.id) WHERE id IN (SELECT id FROM chosen)"},
        ids);
}

int64_t TrainingQueue::moveToBack(const std::vector<int64_t>& ids)
{
    return updateJobs(
        m_workspace.database(),
        {std::string("WITH chosen AS (SELECT id, ROW_NUMBER() OVER (ORDER BY position, id) AS "
                     "rank FROM training_jobs WHERE")
             + kSelected
             + "), base AS (SELECT MAX(position) AS high FROM training_jobs) "
               "UPDATE training_jobs SET position = (SELECT high FROM base) + (SELECT rank FROM "
               "chosen WHERE chosen.id = training_jobs.id) WHERE id IN (SELECT id FROM chosen)"},
        ids);
}

std::vector<TrainingMetric> TrainingQueue::metrics(int64_t jobId, int64_t afterStep)
{
    Statement query = m_workspace.database().prepare(
        "SELECT step, loss, learning_rate, tokens_per_second, held_out_loss, seconds FROM "
        "training_metrics WHERE job_id = ? AND step > ? ORDER BY step");
    query.bind(1, jobId).bind(2, afterStep);
    std::vector<TrainingMetric> metrics;
    while (query.step()) {
        metrics.push_back({query.columnInt64(0), realOrNaN(query, 1), realOrNaN(query, 2),
                           realOrNaN(query, 3), realOrNaN(query, 4), realOrNaN(query, 5)});
    }
    return metrics;
}

QueueTotals TrainingQueue::totals()
{
    QueueTotals totals;
    Statement query = m_workspace.database().prepare(
        "SELECT state, COUNT(*), SUM(step * json_extract(spec, '$.batch_size') * "
        "json_extract(spec, '$.sequence_length') * json_extract(spec, "
        "'$.gradient_accumulation')), SUM(COALESCE(tokens_per_second, 0)) FROM training_jobs "
        "GROUP BY state");
    while (query.step()) {
        const JobState state = jobStateFromString(query.columnText(0));
        const int64_t count = query.columnInt64(1);
        totals.tokensTrained += query.columnInt64(2);
        switch (state) {
        case JobState::Queued: totals.queued = count; break;
        case JobState::Running:
            totals.running = count;
            totals.tokensPerSecond = query.columnDouble(3);
            break;
        case JobState::Paused: totals.paused = count; break;
        case JobState::Done: totals.done = count; break;
        case JobState::Failed: totals.failed = count; break;
        case JobState::Cancelled: totals.cancelled = count; break;
        }
    }
    return totals;
}

std::vector<ExpertInfo> TrainingQueue::experts(int64_t runId)
{
    Database& db = m_workspace.database();
    if (runId == 0) {
        runId = db.queryInt64("SELECT id FROM cluster_runs WHERE active = 1 AND status = 'done'")
                    .value_or(0);
    }
    Statement query = db.prepare(
        "SELECT run_id, cluster, id, adapter_path, base_perplexity, expert_perplexity FROM "
        "training_jobs WHERE id IN (SELECT MAX(id) FROM training_jobs WHERE run_id = ? AND "
        "state = 'done' GROUP BY cluster) ORDER BY cluster");
    query.bind(1, runId);
    std::vector<ExpertInfo> experts;
    while (query.step()) {
        experts.push_back({query.columnInt64(0), int(query.columnInt64(1)), query.columnInt64(2),
                           query.columnText(3), realOrNaN(query, 4), realOrNaN(query, 5)});
    }
    return experts;
}

} // namespace moin
