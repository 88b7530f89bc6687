#pragma once
// The training queue's coordinator: runs `moin train-worker` for queued jobs, follows their logs
// into the workspace, carries out pause and cancel requests, and recovers jobs whose worker or
// coordinator died. Two backends start the workers: local processes (a bounded number at once,
// threads divided between them, spread over the GPUs) or Slurm job arrays (one `sbatch --array`
// per batch of queued jobs, followed with squeue/sacct, stopped with scancel). The app and
// `moin train` both run it.
#include "moin/cancel.h"
#include "moin/training.h"

#include <functional>
#include <string>
#include <vector>

namespace moin {

class Workspace;

/// Where workers run.
enum class TrainingBackend { Local, Slurm };
/// "local", "slurm"; trainingBackendFromString throws moin::Error for other names.
std::string toString(TrainingBackend backend);
TrainingBackend trainingBackendFromString(const std::string& name);

/// Job settings of the Slurm backend (sbatch options). Every task of an array gets the same
/// ones. The workspace folder and the worker executable must be at the same path on the
/// compute nodes (a shared file system).
struct SlurmOptions {
    /// --partition; empty = the cluster's default partition.
    std::string partition;
    /// --account; empty = the user's default account.
    std::string account;
    /// --time per task, in Slurm's formats ("30", "2:00:00", "1-00:00:00"); empty = the
    /// partition's default. A task stopped by its limit resumes from its checkpoint.
    std::string timeLimit;
    /// --gres, e.g. "gpu:1"; empty = none (CPU training).
    std::string gres;
    /// --cpus-per-task, 1 or more; also the worker's LibTorch and OpenBLAS threads. Default 1.
    int cpusPerTask = 1;
    /// --mem per task, e.g. "4G"; empty = the partition's default.
    std::string memory;
    /// Tasks of this coordinator submitted and not ended at once, over all its arrays (also
    /// the `%` throttle of each --array); 0 = no limit.
    int maxConcurrent = 0;
    /// More sbatch arguments, one word each, e.g. {"--qos=long", "--constraint=a100"}.
    std::vector<std::string> extraArguments;
    /// Seconds between squeue polls (logs are read every pollSeconds). Default 2.
    double squeueSeconds = 2;
    /// When sbatch refuses an array while tasks of this coordinator run, it is tried again
    /// after this many seconds, doubling up to 5 minutes. (With nothing running, a refusal is
    /// an error.)
    double submitRetrySeconds = 10;
    /// Seconds an sbatch, squeue, sacct or scancel may take before it is killed and counts as
    /// failed (a hung controller must not block the coordinator).
    double commandTimeoutSeconds = 60;
};

struct CoordinatorOptions {
    /// The `moin` executable that provides `train-worker`.
    std::string workerExecutable;
    /// Workers running at once, 1 or more.
    int workers = 1;
    /// LibTorch threads per worker; 0 = the cores divided by the workers (at least 1).
    int threadsPerWorker = 0;
    /// Devices workers are spread over, round robin; empty = every CUDA device if there is
    /// one, else the CPU. Jobs whose spec names a device keep it.
    std::vector<std::string> devices;
    /// Run only these jobs (empty = every queued job).
    std::vector<int64_t> onlyJobs;
    /// Words put before the worker command, e.g. {"nice", "-n", "5"} or
    /// {"prlimit", "--as=8000000000"}.
    std::vector<std::string> workerPrefix;
    /// Return once nothing is queued or running (else keep watching until cancelled).
    bool exitWhenIdle = true;
    /// Seconds between polls of logs, processes and requests.
    double pollSeconds = 0.25;
    /// Seconds a stopped worker gets to write its checkpoint before it is killed.
    double stopGraceSeconds = 30;
    /// Local processes (workers, threadsPerWorker, devices, workerPrefix apply) or Slurm
    /// (slurm applies; the cluster is found the way sbatch finds it, e.g. SLURM_CONF).
    TrainingBackend backend = TrainingBackend::Local;
    SlurmOptions slurm;
};

/// What the coordinator reports after each poll that changed something.
struct CoordinatorUpdate {
    QueueTotals totals;
    /// The jobs whose row changed since the last update.
    std::vector<TrainingJob> jobs;
    /// Lines for people: "job 3 (cluster 2) started on cpu", "job 3 failed: ...".
    std::vector<std::string> events;
};

/// Runs the queue until it is idle (or until cancelled: running workers, local or Slurm tasks,
/// are then stopped at a checkpoint and their jobs queued again). Jobs left "running" by a
/// coordinator that died are adopted if their worker still runs (a Slurm task still pending or
/// running: by the Slurm backend), finished from their log if it ended, or queued again to
/// resume from their checkpoint. A worker that dies without finishing (killed, preempted, out
/// of time, its node failed) is started again from its checkpoint, up to the job's
/// maxAttempts. Throws moin::Error for bad options, and for a Slurm that cannot be reached or
/// refuses the jobs (with Slurm's own message); queued jobs then stay queued.
void runTrainingQueue(Workspace& workspace, const CoordinatorOptions& options,
                      const std::function<void(const CoordinatorUpdate&)>& onUpdate = {},
                      const CancelToken* cancel = nullptr);

} // namespace moin
