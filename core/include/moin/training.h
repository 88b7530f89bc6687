#pragma once
// Expert training jobs: the complete specification of one expert's training, and the persistent
// queue of jobs a workspace keeps (states, priorities, retries, metrics). The training loop is in
// trainer.h, the local process backend in coordinator.h.
#include "moin/model.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moin {

class Workspace;

/// Everything one expert's training needs. Every field is checked by validate().
struct TrainingSpec {
    /// The clustering run and the cluster whose chunks the expert learns.
    int64_t runId = 0;
    int cluster = 0;
    /// Base model folder; empty = the workspace's base model.
    std::string baseModel;
    /// LoRA rank, alpha, dropout, target modules (baseModel is filled in when the adapter is
    /// saved).
    LoraConfig lora;
    /// AdamW: peak learning rate, reached after warmupSteps, then cosine decay to
    /// minLearningRate.
    double learningRate = 2e-3;
    double minLearningRate = 2e-4;
    double weightDecay = 0.0;
    double beta1 = 0.9;
    double beta2 = 0.999;
    int64_t warmupSteps = 10;
    /// Gradient norm clip; 0 disables.
    double gradientClip = 1.0;
    /// Sequences per micro-batch, tokens per sequence, micro-batches per optimizer step.
    int batchSize = 8;
    int sequenceLength = 128;
    int gradientAccumulation = 1;
    /// Optimizer steps; ignored when tokenBudget is set.
    int64_t steps = 100;
    /// Training tokens to consume; when positive, steps = ceil(tokenBudget / tokensPerStep()).
    int64_t tokenBudget = 0;
    /// Fraction of the cluster's chunks held out for evaluation (chosen by chunk id, so the
    /// same chunks whatever the order or the run of the job).
    double heldOutFraction = 0.1;
    /// Steps between held-out evaluations and between checkpoints.
    int64_t evalEvery = 25;
    int64_t checkpointEvery = 25;
    uint64_t seed = 1;
    /// "auto", "cpu", "cuda", "cuda:N"; the coordinator may assign a device to "auto" jobs.
    std::string device = "auto";
    /// "auto" (bf16 mixed precision where the hardware runs it fast, else fp32), "fp32",
    /// "bf16"; see precision.h. The worker logs what auto chose.
    std::string precision = "auto";

    int64_t tokensPerStep() const;
    /// Optimizer steps the job runs.
    int64_t totalSteps() const;
    /// Throws moin::Error naming the first field out of range, what it must be, and what it is.
    void validate() const;
    /// JSON object with snake_case keys (lora as PEFT's adapter_config keys).
    std::string toJson() const;
    /// Parses toJson()'s format; missing keys keep their defaults; unknown keys are refused.
    static TrainingSpec fromJson(const std::string& json, const std::string& source);

    /// "quick" (a demo in a minute on a CPU), "standard", "thorough".
    static std::vector<std::string> presetNames();
    /// A preset's settings; throws moin::Error for an unknown name, listing the known ones.
    static TrainingSpec preset(const std::string& name);
};

/// Where a job is in its life.
enum class JobState { Queued, Running, Paused, Done, Failed, Cancelled };
std::string toString(JobState state);
/// Throws moin::Error for an unknown name.
JobState jobStateFromString(const std::string& name);

/// The queue's state machine: the only moves a job's state may make. Every write of a job's
/// state goes through TrainingQueue (its bulk actions and move()), which checks this table:
///   queued    -> running (a worker starts), paused, cancelled, failed (it could not start)
///   running   -> done, failed, cancelled, paused (its worker stopped at a request),
///                queued (interrupted: it resumes from its checkpoint)
///   paused    -> queued (resumed), cancelled
///   failed    -> queued (retried)
///   cancelled -> queued (retried)
///   done      -> nothing (training the cluster again makes a new job)
bool isAllowedTransition(JobState from, JobState to);

/// What TrainingQueue::move() records besides the new state.
struct JobMove {
    /// The job's note: why it failed or went back to the queue; "" clears it.
    std::string error;
    /// Moving to running: the worker's pid (0 for a Slurm task) and host.
    int64_t workerPid = 0;
    std::string workerHost;
    /// Moving to running: the device it runs on ("" keeps the job's).
    std::string device;

    static JobMove note(std::string error)
    {
        JobMove move;
        move.error = std::move(error);
        return move;
    }
    static JobMove worker(int64_t pid, std::string host, std::string device = {})
    {
        JobMove move;
        move.workerPid = pid;
        move.workerHost = std::move(host);
        move.device = std::move(device);
        return move;
    }
};

/// One row of the queue.
struct TrainingJob {
    int64_t id = 0;
    int64_t runId = 0;
    int cluster = 0;
    JobState state = JobState::Queued;
    /// Higher runs first; ties by position, then id.
    int priority = 0;
    int64_t position = 0;
    /// A pause or cancel the coordinator has yet to carry out ("" if none).
    std::string request;
    /// Starts so far (a resumed job counts again) and the limit before it is failed.
    int attempts = 0;
    int maxAttempts = 3;
    int64_t step = 0;
    int64_t totalSteps = 0;
    /// Latest training loss, held-out loss, learning rate, tokens/s (NaN while unknown).
    double loss = 0;
    double heldOutLoss = 0;
    double learningRate = 0;
    double tokensPerSecond = 0;
    /// Held-out perplexity of the base and of the expert on the expert's own cluster (NaN
    /// until the job is done).
    double basePerplexity = 0;
    double expertPerplexity = 0;
    /// Worker process while running (0 otherwise) and the host it runs on.
    int64_t workerPid = 0;
    std::string workerHost;
    std::string device;
    std::string createdAt;
    std::string startedAt;
    std::string finishedAt;
    /// Why it failed (or was retried), for people.
    std::string error;
    /// The finished PEFT adapter folder.
    std::string adapterPath;
    TrainingSpec spec;
};

/// One point of a job's curves.
struct TrainingMetric {
    int64_t step = 0;
    double loss = 0;
    double learningRate = 0;
    double tokensPerSecond = 0;
    /// NaN at steps without a held-out evaluation.
    double heldOutLoss = 0;
    /// Seconds since the job's first start.
    double seconds = 0;
};

/// Counts for the dashboard.
struct QueueTotals {
    int64_t queued = 0, running = 0, paused = 0, done = 0, failed = 0, cancelled = 0;
    /// Training tokens of all steps done so far, and the summed tokens/s of running jobs.
    int64_t tokensTrained = 0;
    double tokensPerSecond = 0;
};

/// A finished expert: the adapter of the newest done job of a (run, cluster).
struct ExpertInfo {
    int64_t runId = 0;
    int cluster = 0;
    int64_t jobId = 0;
    std::string adapterPath;
    double basePerplexity = 0;
    double expertPerplexity = 0;
};

/// The workspace's job queue. Every change is one transaction; states move only along the
/// allowed edges (a running job is paused or cancelled through a request the coordinator
/// carries out). Lists, reorders and updates stay fast at 5,000 jobs (indexed, set-based SQL).
class TrainingQueue {
public:
    explicit TrainingQueue(Workspace& workspace);

    /// Adds one job per spec, in one transaction. Each spec is validated, its run and cluster
    /// must exist, and the cluster must have enough text to train on (at least 2 chunks and one
    /// sequence of training tokens after the held-out part); otherwise moin::Error names the
    /// cluster and the reason, and nothing is added. A cluster that already has a queued,
    /// running or paused job is refused too. Returns the new ids in spec order.
    std::vector<int64_t> enqueue(const std::vector<TrainingSpec>& specs, int priority = 0);

    /// All jobs (or those of one state), in queue order: state, priority, position, id.
    std::vector<TrainingJob> list(std::optional<JobState> state = std::nullopt);
    /// Throws moin::Error for an unknown id.
    TrainingJob job(int64_t id);
    /// Jobs of one run, one per cluster: the newest job of each cluster.
    std::vector<TrainingJob> latestPerCluster(int64_t runId);

    /// Queued jobs become paused; running ones get a pause request. Others are left alone.
    /// Each returns how many jobs it changed.
    int64_t pause(const std::vector<int64_t>& ids);
    /// Paused jobs become queued again (resuming from their checkpoint when they run).
    int64_t resume(const std::vector<int64_t>& ids);
    /// Queued or paused jobs become cancelled; running ones get a cancel request.
    int64_t cancel(const std::vector<int64_t>& ids);
    /// Failed or cancelled jobs are queued again with their attempts reset (from their
    /// checkpoint if one is left).
    int64_t retry(const std::vector<int64_t>& ids);
    /// Moves one job to `to` in one statement, if isAllowedTransition() allows it from the state
    /// the job is in at that moment: clears its pending request; to running it counts an attempt
    /// and records the worker; leaving running it forgets the worker's pid; to done, failed or
    /// cancelled it records the finish time. Returns false, changing nothing, when the job's state
    /// may not move there (say it was cancelled meanwhile); throws for a job that does not exist.
    bool move(int64_t id, JobState to, const JobMove& details = {});
    int64_t setPriority(const std::vector<int64_t>& ids, int priority);
    /// Moves the jobs ahead of (or behind) every other job of the same priority, keeping
    /// their order among themselves.
    int64_t moveToFront(const std::vector<int64_t>& ids);
    int64_t moveToBack(const std::vector<int64_t>& ids);

    /// A job's metrics with step > afterStep, in step order.
    std::vector<TrainingMetric> metrics(int64_t jobId, int64_t afterStep = -1);
    QueueTotals totals();
    /// Finished experts of a run (0 = the active run), by cluster.
    std::vector<ExpertInfo> experts(int64_t runId = 0);

private:
    Workspace& m_workspace;
};

/// Folder of a job's files: checkpoint/, worker log.
std::string jobDirectory(Workspace& workspace, int64_t jobId);
std::string jobDirectory(const std::string& workspaceDirectory, int64_t jobId);
/// Where the finished expert of (run, cluster) is saved, as a PEFT adapter.
std::string expertDirectory(const std::string& workspaceDirectory, int64_t runId, int cluster);

/// Copies a finished expert's PEFT adapter folder to `destination` (created; files written
/// atomically). Throws moin::Error if the expert has not been trained.
void exportExpert(Workspace& workspace, int64_t runId, int cluster,
                  const std::string& destination);

/// Whether a chunk is held out of training at `fraction` (a hash of its id, so stable).
bool isHeldOutChunk(int64_t chunkId, double fraction);

/// The training and held-out chunks of a cluster, by the rule every job and evaluation uses:
/// isHeldOutChunk, but at least one chunk on each side when the cluster has two or more.
struct ClusterSplit {
    std::vector<int64_t> trainChunks;
    std::vector<int64_t> heldOutChunks;
};
ClusterSplit splitCluster(const std::vector<int64_t>& chunkIdsAscending, double fraction);

} // namespace moin
