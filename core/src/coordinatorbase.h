#pragma once
// What every training backend shares (private to core): the poll loop, reading job logs into
// the workspace, deciding a job's state when its worker is gone, recovering jobs a dead
// coordinator left "running", and reporting. A backend says only how workers start, stop and
// end: local processes (coordinator.cpp) or Slurm array tasks (slurmbackend.cpp).
#include "moin/coordinator.h"
#include "moin/database.h"

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace moin {

/// One running job as its backend sees it.
struct Worker {
    using Clock = std::chrono::steady_clock;
    int64_t jobId = 0;
    int cluster = 0;
    /// Local backend: the worker process; started by this coordinator (waitpid works) or
    /// adopted from one that died.
    pid_t pid = 0;
    bool child = false;
    /// Slurm backend: "<array job>_<task>", and whether Slurm was seen running it.
    std::string slurmTask;
    bool slurmRunning = false;
    /// What the job's note says about its Slurm task ("waiting in Slurm (Resources)").
    std::string slurmNote;
    /// When Slurm reported the task completed while its log had no final line yet.
    std::optional<Clock::time_point> completedUnlogged;
    Clock::time_point stopSent{};
    bool stopping = false;
    bool killed = false;
};

/// What the last lines of a job's log said about its end.
struct LogState {
    std::string final; ///< "", "done", "error", "interrupted"
    nlohmann::json finalEvent;
    /// Log offset just past the lines read (the final line included), for finish().
    int64_t readTo = 0;
};

class CoordinatorBase {
public:
    CoordinatorBase(Workspace& workspace, const CoordinatorOptions& options);
    virtual ~CoordinatorBase() = default;

    void run(const std::function<void(const CoordinatorUpdate&)>& onUpdate,
             const CancelToken* cancel);

protected:
    // What a backend provides.
    /// Takes over a job a dead coordinator left running on `host` if its worker belongs to this
    /// backend and still lives (fills `worker` and returns true).
    virtual bool adopt(Worker& worker, const std::string& host) = 0;
    /// Starts workers for queued jobs (queuedJobs()), as many as the backend takes now.
    virtual void startQueued() = 0;
    /// Asks a worker to checkpoint and exit (SIGTERM); kill() ends one that did not in time.
    virtual void stop(Worker& worker) = 0;
    virtual void kill(Worker& worker) = 0;
    /// Called once per poll before ended() is asked for each worker.
    virtual void refresh() {}
    /// How the worker ended ("the worker exited with code 1"), or nothing while it runs.
    virtual std::optional<std::string> ended(Worker& worker) = 0;

    // What backends share.
    void event(const std::string& line) { m_events.push_back(line); }
    std::string jobName(int64_t jobId, int cluster) const;
    /// Queued jobs this coordinator runs, in queue order.
    std::vector<int64_t> queuedJobs(size_t limit = SIZE_MAX);
    /// Reads the log lines written since the last time into the job row and its metrics. A
    /// final line stays unconsumed (log_offset stops before it) until finish() has acted on it
    /// in the same transaction: a coordinator killed in between leaves it to the next one.
    LogState ingest(int64_t jobId);
    /// Whether the job's log has a final line (done, error, interrupted) not yet acted on.
    bool hasFinalLine(int64_t jobId) const { return m_finals.count(jobId) > 0; }
    /// The worker is gone: decides the job's state from its last log line and its request.
    void finish(const Worker& worker, const std::string& how, bool coordinatorStopping = false);
    /// Asks the worker to stop (once): stop() now, kill() if it lingers past the grace time.
    void requestStop(Worker& worker);

    Workspace& m_workspace;
    Database& m_db;
    CoordinatorOptions m_options;
    std::string m_host;
    std::set<int64_t> m_only;
    std::vector<Worker> m_workers;
    std::set<int64_t> m_touched;
    /// The run's cancel token (may be null).
    const CancelToken* m_cancel = nullptr;

private:
    void recover();
    void carryOutRequests();
    void pollWorkers(bool stopping);
    void flush(const std::function<void(const CoordinatorUpdate&)>& onUpdate);

    std::map<int64_t, LogState> m_finals;
    /// The step each job's current attempt started at (its last start line), as far as read.
    std::map<int64_t, int64_t> m_startSteps;
    std::vector<std::string> m_events;
};

/// This machine's host name (what worker_host holds for local workers).
std::string localHostName();
/// True if `pid` is a live `moin train-worker` process of this job (not a recycled pid).
bool isWorkerOf(int64_t pid, int64_t jobId);

std::unique_ptr<CoordinatorBase> makeSlurmCoordinator(Workspace& workspace,
                                                      const CoordinatorOptions& options);

} // namespace moin
