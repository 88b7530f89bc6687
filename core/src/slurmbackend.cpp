// The Slurm backend of the training queue: queued jobs go to Slurm as one job array per batch
// (`sbatch --array`), each task running `moin train-worker` on the shared workspace folder;
// squeue (and sacct, where accounting runs) says when a task ended, the job's log says how.
// Everything else, logs into the database, states, retries from checkpoints, is shared with the
// local backend (coordinatorbase.h).
#include "coordinatorbase.h"

#include "moin/atomicfile.h"
#include "moin/error.h"
#include "moin/trainer.h"
#include "moin/workspace.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

extern char** environ;

namespace fs = std::filesystem;

namespace moin {

namespace {

using Clock = std::chrono::steady_clock;

struct CommandResult {
    int exitCode = 0;
    std::string out;
    std::string err;
    /// Killed because the run was cancelled while it ran.
    bool stopped = false;
    /// Both streams, trimmed, for messages.
    std::string message() const
    {
        std::string text = err.empty() ? out : err;
        while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
            text.pop_back();
        // Slurm's messages span lines ("sbatch: error: ..." twice): one line for people.
        for (size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at))
            text.replace(at, 1, "; ");
        return text;
    }
};

std::string shellQuote(const std::string& word)
{
    std::string quoted = "'";
    for (char c : word)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

// `text` as literal text in a Slurm filename pattern (--output), where % starts a field.
std::string slurmPattern(const std::string& text)
{
    std::string escaped;
    for (char c : text)
        escaped += c == '%' ? std::string("%%") : std::string(1, c);
    return escaped;
}

std::string commandLine(const std::vector<std::string>& args)
{
    std::string line;
    for (const std::string& arg : args)
        line += (line.empty() ? "" : " ") + arg;
    return line;
}

// Runs a Slurm command and collects its output. Throws moin::Error when it cannot start. A
// command still running after `timeoutSeconds` (a hung controller), or when `cancel` is set
// while it runs, is killed and counts as failed (exit code -1, the reason in err).
CommandResult runCommand(const std::vector<std::string>& args, double timeoutSeconds,
                         const CancelToken* cancel = nullptr)
{
    int outPipe[2], errPipe[2];
    if (::pipe2(outPipe, O_CLOEXEC) != 0)
        throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
    if (::pipe2(errPipe, O_CLOEXEC) != 0) {
        ::close(outPipe[0]);
        ::close(outPipe[1]);
        throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_adddup2(&files, outPipe[1], 1);
    posix_spawn_file_actions_adddup2(&files, errPipe[1], 2);
    posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
    std::vector<std::string> words = args;
    std::vector<char*> argv;
    for (std::string& word : words)
        argv.push_back(word.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int error = posix_spawnp(&pid, argv[0], &files, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    ::close(outPipe[1]);
    ::close(errPipe[1]);
    if (error != 0) {
        ::close(outPipe[0]);
        ::close(errPipe[0]);
        throw Error("cannot run " + args[0] + ": " + std::strerror(error)
                    + (error == ENOENT ? " (install the Slurm client commands, Debian package "
                                         "slurm-client, or train with the local backend)"
                                       : ""));
    }
    CommandResult result;
    pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open = 2;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(timeoutSeconds));
    std::string abandoned;
    while (open > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - Clock::now()).count();
        if (left <= 0) {
            char seconds[32];
            std::snprintf(seconds, sizeof seconds, "%g", timeoutSeconds);
            abandoned = args[0] + " did not finish within " + seconds
                        + " s and was killed; Slurm's controller may be overloaded or hung";
        } else if (cancel && cancel->isCancelled()) {
            abandoned = args[0] + " was stopped";
            result.stopped = true;
        }
        if (!abandoned.empty()) {
            ::kill(pid, SIGKILL);
            break;
        }
        // Wake up now and then to see the cancel token.
        const int wait = int(std::min<long long>(left, cancel ? 100 : left));
        if (::poll(fds, 2, wait) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buffer[4096];
            const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                sinks[i]->append(buffer, size_t(n));
            } else if (n == 0 || errno != EINTR) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open;
            }
        }
    }
    for (const pollfd& fd : fds)
        if (fd.fd >= 0)
            ::close(fd.fd);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!abandoned.empty()) {
        result.exitCode = -1;
        result.out.clear();
        result.err = abandoned;
    }
    return result;
}

// A stable name for this workspace's arrays (FNV-1a of its folder), so squeue finds exactly
// ours and a restarted coordinator finds them again.
std::string arrayName(const std::string& workspaceDirectory)
{
    uint64_t hash = 1469598103934665603ull;
    for (unsigned char c : fs::absolute(workspaceDirectory).lexically_normal().string()) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    char text[32];
    std::snprintf(text, sizeof text, "moin-train-%08llx", (unsigned long long)(hash >> 32));
    return text;
}

bool isFinalSlurmState(const std::string& state)
{
    static const std::set<std::string> live = {"PENDING",   "CONFIGURING", "RUNNING",
                                               "COMPLETING", "SUSPENDED",  "REQUEUED",
                                               "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING",
                                               "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD",
                                               "STOPPED"};
    return !live.count(state);
}

// What squeue said about one array task.
struct TaskState {
    std::string state;  // RUNNING, PENDING, COMPLETED, FAILED, ...
    std::string reason; // why pending, or why it ended
    std::string node;
};

constexpr const char* kHostPrefix = "slurm:";
constexpr size_t kMaxArrayTasks = 1000;
// squeue may fail for a while (the controller restarts); after this long the coordinator gives up.
constexpr double kSqueueGiveUpSeconds = 120;
// A task Slurm calls COMPLETED whose log has no final line yet: how long to wait for the line
// to appear (a shared file system can show it late) before the job counts as lost.
constexpr double kLogGraceSeconds = 10;
// The longest wait before an array Slurm refused is submitted again.
constexpr double kSubmitBackoffMaxSeconds = 300;

class SlurmCoordinator : public CoordinatorBase {
public:
    SlurmCoordinator(Workspace& workspace, const CoordinatorOptions& options)
        : CoordinatorBase(workspace, options), m_slurm(options.slurm),
          m_arrayName(arrayName(workspace.directory()))
    {
        if (m_slurm.cpusPerTask < 1)
            throw Error("Slurm CPUs per task must be 1 or more; got "
                        + std::to_string(m_slurm.cpusPerTask));
        if (m_slurm.submitRetrySeconds <= 0)
            throw Error("the Slurm submit retry delay must be more than 0 s");
        m_submitBackoff = m_slurm.submitRetrySeconds;
        if (m_slurm.maxConcurrent < 0)
            throw Error("Slurm concurrent tasks must be 0 (no limit) or more; got "
                        + std::to_string(m_slurm.maxConcurrent));
        // Slurm must answer before anything is submitted: a clear error now, not a failed job.
        if (!(m_slurm.commandTimeoutSeconds > 0))
            throw Error("the Slurm command timeout must be more than 0 s");
        const CommandResult probe = runCommand({"squeue", "-h", "-o", "%i", "--name",
                                                m_arrayName},
                                               m_slurm.commandTimeoutSeconds);
        if (probe.exitCode != 0)
            throw Error("Slurm does not answer (squeue: " + probe.message()
                        + "); check that slurmctld runs and SLURM_CONF points to its "
                          "configuration, or train with the local backend");
        // Tasks start in other folders, on other machines: every path they get is absolute.
        m_directory = fs::absolute(m_workspace.directory()).lexically_normal().string();
        m_executable = fs::absolute(m_options.workerExecutable).string();
        m_slurmDirectory = fs::path(m_directory) / "jobs" / "slurm";
        fs::create_directories(m_slurmDirectory);
    }

private:
    bool adopt(Worker& worker, const std::string& host) override
    {
        if (host.rfind(kHostPrefix, 0) != 0)
            return false;
        worker.slurmTask = host.substr(std::strlen(kHostPrefix));
        // Whether it still lives is for the next squeue to say (ended()).
        return true;
    }

    void startQueued() override
    {
        if (m_submitRetryAt && Clock::now() < *m_submitRetryAt)
            return;
        // --max-concurrent caps this coordinator's live tasks, not only those of one array
        // (retries and later submissions go out as new arrays, each with its own %N).
        size_t room = SIZE_MAX;
        if (m_slurm.maxConcurrent > 0) {
            if (m_workers.size() >= size_t(m_slurm.maxConcurrent))
                return;
            room = size_t(m_slurm.maxConcurrent) - m_workers.size();
        }
        const std::vector<int64_t> jobs = queuedJobs(room);
        // Slurm refuses arrays beyond its MaxArraySize (1001 by default): larger queues go in
        // several arrays.
        for (size_t first = 0; first < jobs.size(); first += kMaxArrayTasks) {
            const size_t end = std::min(jobs.size(), first + kMaxArrayTasks);
            if (!submit(std::vector<int64_t>(jobs.begin() + long(first), jobs.begin() + long(end))))
                return;
        }
    }

    // One array for all of `jobs`: a task list (task id -> job id) and a batch script, both
    // written atomically before sbatch sees them.
    // Returns false if Slurm refused the array while tasks of ours run (it is tried again
    // later); throws if it refused with nothing of ours live (a bad partition, say).
    bool submit(const std::vector<int64_t>& jobs)
    {
        // The number is claimed by creating its script exclusively: tasks of earlier arrays
        // still read their submit-K.tasks, which must never be overwritten.
        std::string stem;
        for (int number = 1;; ++number) {
            stem = (m_slurmDirectory / ("submit-" + std::to_string(number))).string();
            const int fd = ::open((stem + ".sh").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                  0644);
            if (fd >= 0) {
                ::close(fd);
                break;
            }
            if (errno != EEXIST)
                throw Error("cannot create " + stem + ".sh: " + std::strerror(errno)
                            + "; check that the workspace folder is writable");
        }
        std::string tasks;
        for (int64_t id : jobs) {
            tasks += std::to_string(id) + "\n";
            // Tasks on other nodes read their job from this file, never from the database.
            writeJobInput(m_db, m_directory, id);
        }
        writeFileAtomically(stem + ".tasks", tasks);
        const std::string jobsDirectory = (fs::path(m_directory) / "jobs").string();
        const std::string script =
            "#!/bin/sh\n"
            "# MoIN Studio: training jobs of one workspace as a Slurm job array. Task i runs the\n"
            "# job on line i+1 of the task list; its output goes to that job's worker.log.\n"
            "job=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" " + shellQuote(stem + ".tasks") + ")\n"
            "if [ -z \"$job\" ]; then\n"
            "  echo \"no job for array task $SLURM_ARRAY_TASK_ID in\" " + shellQuote(stem + ".tasks")
            + " >&2\n"
            "  exit 1\n"
            "fi\n"
            "exec >>" + shellQuote(jobsDirectory) + "/\"$job\"/worker.log 2>&1\n"
            "echo \"slurm: job $SLURM_ARRAY_JOB_ID task $SLURM_ARRAY_TASK_ID on $(hostname)\"\n"
            "threads=${SLURM_CPUS_PER_TASK:-1}\n"
            "export OPENBLAS_NUM_THREADS=$threads\n"
            "exec " + shellQuote(m_executable) + " train-worker "
            + shellQuote(m_directory) + " --job \"$job\" --threads \"$threads\"\n";
        writeFileAtomically(stem + ".sh", script);
        fs::permissions(stem + ".sh", fs::perms::owner_exec, fs::perm_options::add);

        std::string array = "--array=0-" + std::to_string(jobs.size() - 1);
        if (m_slurm.maxConcurrent > 0)
            array += "%" + std::to_string(m_slurm.maxConcurrent);
        std::vector<std::string> args = {"sbatch", "--parsable", array,
                                         "--job-name=" + m_arrayName,
                                         // A lost task is resubmitted by us (attempts count).
                                         "--no-requeue",
                                         "--cpus-per-task=" + std::to_string(m_slurm.cpusPerTask),
                                         "--chdir=" + m_directory,
                                         // A filename pattern: a % of the path is %%.
                                         "--output=" + slurmPattern(stem) + "-%a.out"};
        if (!m_slurm.partition.empty())
            args.push_back("--partition=" + m_slurm.partition);
        if (!m_slurm.account.empty())
            args.push_back("--account=" + m_slurm.account);
        if (!m_slurm.timeLimit.empty())
            args.push_back("--time=" + m_slurm.timeLimit);
        if (!m_slurm.gres.empty())
            args.push_back("--gres=" + m_slurm.gres);
        if (!m_slurm.memory.empty())
            args.push_back("--mem=" + m_slurm.memory);
        args.insert(args.end(), m_slurm.extraArguments.begin(), m_slurm.extraArguments.end());
        args.push_back(stem + ".sh");
        // No cancel here: a killed sbatch may have submitted the array without telling us.
        const CommandResult result = runCommand(args, m_slurm.commandTimeoutSeconds);
        // --parsable prints "<job id>" or "<job id>;<cluster>".
        const std::string arrayJob = result.out.substr(0, result.out.find_first_of(";\n"));
        if (result.exitCode != 0 || arrayJob.empty()
            || arrayJob.find_first_not_of("0123456789") != std::string::npos) {
            std::error_code ignored;
            fs::remove(stem + ".sh", ignored);
            fs::remove(stem + ".tasks", ignored);
            const std::string refusal = "Slurm refused the training jobs: " + result.message();
            if (m_workers.empty())
                throw Error(refusal + " (the command was: " + commandLine(args)
                            + "); check the partition, account, time limit and GPU request; the "
                              "jobs stay queued");
            // Tasks of ours run: a refusal now is most likely passing ("Socket timed out",
            // "temporarily unable to accept job", a submit limit), and they must stay watched.
            char seconds[32];
            std::snprintf(seconds, sizeof seconds, "%g", m_submitBackoff);
            event(refusal + "; the jobs stay queued and are submitted again in " + seconds
                  + " s");
            m_submitRetryAt = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(m_submitBackoff));
            m_submitBackoff = std::min(m_submitBackoff * 2, kSubmitBackoffMaxSeconds);
            return false;
        }
        m_submitRetryAt.reset();
        m_submitBackoff = m_slurm.submitRetrySeconds;
        Transaction transaction(m_db);
        for (size_t task = 0; task < jobs.size(); ++task) {
            Worker worker;
            worker.jobId = jobs[task];
            worker.slurmTask = arrayJob + "_" + std::to_string(task);
            const bool started = TrainingQueue(m_workspace)
                                     .move(worker.jobId, JobState::Running,
                                           JobMove::worker(0, kHostPrefix + worker.slurmTask));
            Statement cluster = m_db.prepare("SELECT cluster, attempts FROM training_jobs WHERE id = ?");
            cluster.bind(1, worker.jobId);
            int attempts = 1;
            if (cluster.step()) {
                worker.cluster = int(cluster.columnInt64(0));
                attempts = int(cluster.columnInt64(1));
            }
            m_workers.push_back(worker);
            m_touched.insert(worker.jobId);
            if (!started) {
                // Paused or cancelled while sbatch ran: its task is cancelled again at once.
                requestStop(m_workers.back());
                event(jobName(worker.jobId, worker.cluster) + " was no longer queued; its Slurm "
                      "task " + worker.slurmTask + " is cancelled");
                continue;
            }
            event(jobName(worker.jobId, worker.cluster) + " submitted to Slurm as task "
                  + worker.slurmTask
                  + (attempts > 1 ? " (attempt " + std::to_string(attempts) + ")" : ""));
        }
        transaction.commit();
        m_squeueDue = true; // see the new tasks at the next poll
        return true;
    }

    // Collected and sent as one scancel per poll (a stop of thousands of tasks is one command).
    // scancel's SIGTERM reaches the worker, which checkpoints; Slurm sends SIGKILL itself after
    // its KillWait, and kill() is for a task that lingers beyond our grace too.
    void stop(Worker& worker) override { m_toCancel.push_back(worker.slurmTask); }
    void kill(Worker& worker) override { m_toKill.push_back(worker.slurmTask); }

    void scancel(std::vector<std::string>& tasks, const std::vector<std::string>& options)
    {
        if (tasks.empty())
            return;
        std::vector<std::string> args = {"scancel"};
        args.insert(args.end(), options.begin(), options.end());
        args.insert(args.end(), tasks.begin(), tasks.end());
        tasks.clear();
        const CommandResult result = runCommand(args, m_slurm.commandTimeoutSeconds);
        // A task that ended meanwhile is no error; squeue tells how each one ended.
        if (result.exitCode != 0)
            event("scancel failed: " + result.message());
        m_squeueDue = true;
    }

    // One squeue for every task of this workspace's arrays, at most every squeueSeconds.
    void refresh() override
    {
        scancel(m_toCancel, {});
        scancel(m_toKill, {"--signal=KILL", "--full"});
        m_fresh = false;
        if (m_workers.empty())
            return;
        const auto now = Clock::now();
        if (!m_squeueDue && std::chrono::duration<double>(now - m_squeueAt).count()
                                < m_slurm.squeueSeconds)
            return;
        const CommandResult result =
            runCommand({"squeue", "-h", "-r", "-t", "all", "--name", m_arrayName, "-o",
                        "%i|%T|%r|%N"},
                       m_slurm.commandTimeoutSeconds, newCancel());
        if (result.stopped)
            return; // Stop was pressed: the next poll asks again, stopping
        if (result.exitCode != 0) {
            if (!m_squeueFailingSince) {
                m_squeueFailingSince = now;
                event("squeue failed (" + result.message() + "); trying again");
            } else if (std::chrono::duration<double>(now - *m_squeueFailingSince).count()
                       > kSqueueGiveUpSeconds) {
                throw Error("squeue has failed for " + std::to_string(int(kSqueueGiveUpSeconds))
                            + " s: " + result.message()
                            + "; the Slurm tasks keep running, and `moin train --backend slurm` "
                              "started again picks them up");
            }
            return;
        }
        m_squeueFailingSince.reset();
        m_squeueDue = false;
        m_squeueAt = now;
        m_fresh = true;
        m_tasks.clear();
        std::istringstream lines(result.out);
        for (std::string line; std::getline(lines, line);) {
            std::vector<std::string> fields;
            std::istringstream words(line);
            for (std::string field; std::getline(words, field, '|');)
                fields.push_back(field);
            if (fields.size() >= 2)
                m_tasks[fields[0]] = {fields[1], fields.size() > 2 ? fields[2] : "",
                                      fields.size() > 3 ? fields[3] : ""};
        }
    }

    std::optional<std::string> ended(Worker& worker) override
    {
        if (!m_fresh)
            return std::nullopt;
        TaskState task;
        if (auto found = m_tasks.find(worker.slurmTask); found != m_tasks.end()) {
            task = found->second;
        } else {
            task.state = sacctState(worker.slurmTask);
            if (task.state.empty())
                return "the Slurm task " + worker.slurmTask + " is no longer known to Slurm";
        }
        if (!isFinalSlurmState(task.state)) {
            if (task.state == "RUNNING" && !worker.slurmRunning) {
                worker.slurmRunning = true;
                event(jobName(worker.jobId, worker.cluster) + " running as Slurm task "
                      + worker.slurmTask + (task.node.empty() ? "" : " on " + task.node));
                note(worker, "");
            } else if (task.state == "PENDING") {
                // A handed-over job counts as running; its note says that Slurm holds it, why.
                note(worker, "waiting in Slurm (" + task.reason + ")");
            }
            return std::nullopt;
        }
        if (task.state == "COMPLETED" && !hasFinalLine(worker.jobId)) {
            const auto now = Clock::now();
            if (!worker.completedUnlogged)
                worker.completedUnlogged = now;
            if (std::chrono::duration<double>(now - *worker.completedUnlogged).count()
                < kLogGraceSeconds)
                return std::nullopt;
        }
        if (worker.stopping && !worker.slurmRunning && task.state == "CANCELLED") {
            // Cancelled while still pending: this submission was no attempt at training.
            m_db.prepare("UPDATE training_jobs SET attempts = MAX(attempts - 1, 0) WHERE id = ?")
                .bind(1, worker.jobId)
                .run();
        }
        std::string how = "the Slurm task " + worker.slurmTask + " ended " + task.state;
        if (!task.reason.empty() && task.reason != "None")
            how += " (" + task.reason + ")";
        return how;
    }

    // The job's note (its error column) while Slurm holds the task; cleared once it runs.
    void note(Worker& worker, const std::string& text)
    {
        if (worker.slurmNote == text)
            return;
        m_db.prepare("UPDATE training_jobs SET error = ? WHERE id = ? AND state = 'running'")
            .bind(1, text)
            .bind(2, worker.jobId)
            .run();
        worker.slurmNote = text;
        m_touched.insert(worker.jobId);
    }

    // The cancel token while Stop has not been pressed yet: a query waiting then is abandoned
    // so that the stop starts at once (once stopping, queries must run to see tasks end).
    const CancelToken* newCancel() const
    {
        return m_cancel && !m_cancel->isCancelled() ? m_cancel : nullptr;
    }

    // The state sacct knows of a task squeue no longer lists; "" without accounting.
    std::string sacctState(const std::string& slurmTask)
    {
        CommandResult result;
        try {
            result = runCommand({"sacct", "-n", "-P", "-X", "-o", "State", "-j", slurmTask},
                                m_slurm.commandTimeoutSeconds, newCancel());
        } catch (const Error&) {
            return {};
        }
        if (result.exitCode != 0)
            return {};
        const std::string line = result.out.substr(0, result.out.find('\n'));
        // "CANCELLED by 0" -> "CANCELLED"
        return line.substr(0, line.find(' '));
    }

    SlurmOptions m_slurm;
    std::string m_arrayName;
    std::string m_directory;  // the workspace, absolute
    std::string m_executable; // `moin`, absolute
    fs::path m_slurmDirectory;
    std::map<std::string, TaskState> m_tasks;
    std::vector<std::string> m_toCancel;
    std::vector<std::string> m_toKill;
    Clock::time_point m_squeueAt{};
    std::optional<Clock::time_point> m_squeueFailingSince;
    bool m_squeueDue = true;
    std::optional<Clock::time_point> m_submitRetryAt;
    double m_submitBackoff = 10;
    bool m_fresh = false;
};

} // namespace

std::unique_ptr<CoordinatorBase> makeSlurmCoordinator(Workspace& workspace,
                                                      const CoordinatorOptions& options)
{
    return std::make_unique<SlurmCoordinator>(workspace, options);
}

} // namespace moin
