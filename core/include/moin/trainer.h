#pragma once
// The LoRA training loop of one expert: what `moin train-worker` runs in its own process.
// It reads its job and the cluster's chunks from the workspace (read-only), trains, writes
// checkpoints and the finished adapter atomically, and reports through an append-only log that
// the coordinator reads into the workspace.
#include "moin/cancel.h"

#include <cstdint>
#include <string>

namespace moin {

class Database;

/// Settings of the process, not of the job.
struct WorkerOptions {
    /// LibTorch threads; 0 keeps the default (one per core).
    int threads = 0;
    /// Overrides the job's device ("" keeps it).
    std::string device;
};

/// How a worker run ended.
enum class WorkerOutcome {
    /// The adapter is saved and evaluated.
    Done,
    /// Stopped by the cancel token after writing a checkpoint; resumable.
    Interrupted,
    /// A permanent failure (bad data, NaN loss, disk full, ...); the log says why.
    Failed,
};

/// Exit codes of `moin train-worker`.
constexpr int kWorkerExitDone = 0;
constexpr int kWorkerExitFailed = 1;
constexpr int kWorkerExitInterrupted = 75; // EX_TEMPFAIL: try again later

/// Path of a job's log: one JSON object per line, each written with a single append.
std::string jobLogPath(const std::string& workspaceDirectory, int64_t jobId);

/// Path of a job's input file (jobs/ID/input.json): its spec and its cluster's chunks.
std::string jobInputPath(const std::string& workspaceDirectory, int64_t jobId);
/// Writes the job's input file atomically from the database: what the worker would read from
/// it. Workers on other machines use the file (SQLite's WAL mode needs one host's shared memory,
/// so they must not open the database over a network file system). Throws moin::Error for an
/// unknown job.
void writeJobInput(Database& db, const std::string& workspaceDirectory, int64_t jobId);

/// Runs (or resumes, from the job's checkpoint) one training job, reading the job from its
/// input file when there is one, else from the workspace database. Never throws for a failure of
/// the job itself: it is logged as an "error" event and Failed is returned; `message` gets the
/// reason.
WorkerOutcome runTrainingJob(const std::string& workspaceDirectory, int64_t jobId,
                             const WorkerOptions& options, const CancelToken* cancel,
                             std::string* message = nullptr);

} // namespace moin
