#pragma once
// The local backend of the training queue: starts `moin train-worker` processes for queued jobs
// (a bounded number at once, threads divided between them, spread over the GPUs), follows their
// logs into the workspace, carries out pause and cancel requests, and recovers jobs whose worker
// or coordinator died. The app and `moin train` both run it.
#include "moin/cancel.h"
#include "moin/training.h"

#include <functional>
#include <string>
#include <vector>

namespace moin {

class Workspace;

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
};

/// What the coordinator reports after each poll that changed something.
struct CoordinatorUpdate {
    QueueTotals totals;
    /// The jobs whose row changed since the last update.
    std::vector<TrainingJob> jobs;
    /// Lines for people: "job 3 (cluster 2) started on cpu", "job 3 failed: ...".
    std::vector<std::string> events;
};

/// Runs the queue until it is idle (or until cancelled: running workers are then stopped at a
/// checkpoint and their jobs queued again). Jobs left "running" by a coordinator that died are
/// adopted if their worker still runs, finished from their log if it ended, or queued again
/// to resume from their checkpoint. Throws moin::Error for bad options.
void runTrainingQueue(Workspace& workspace, const CoordinatorOptions& options,
                      const std::function<void(const CoordinatorUpdate&)>& onUpdate = {},
                      const CancelToken* cancel = nullptr);

} // namespace moin
