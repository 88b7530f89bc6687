// The training queue's coordinator: the loop, log ingestion and job states every backend
// shares (coordinatorbase.h), and the local backend, worker processes on this machine. POSIX
// processes; no LibTorch here.
#include "coordinatorbase.h"

#include "moin/device.h"
#include "moin/error.h"
#include "moin/trainer.h"
#include "moin/workspace.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

extern char** environ;

namespace fs = std::filesystem;

namespace moin {

using json = nlohmann::json;

std::string toString(TrainingBackend backend)
{
    return backend == TrainingBackend::Slurm ? "slurm" : "local";
}

TrainingBackend trainingBackendFromString(const std::string& name)
{
    if (name == "local")
        return TrainingBackend::Local;
    if (name == "slurm")
        return TrainingBackend::Slurm;
    throw Error("unknown training backend '" + name + "'; expected 'local' or 'slurm'");
}

std::string localHostName()
{
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

bool isWorkerOf(int64_t pid, int64_t jobId)
{
    if (pid <= 0 || ::kill(pid_t(pid), 0) != 0)
        return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    const std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    const std::string job = std::string("--job") + '\0' + std::to_string(jobId) + '\0';
    return cmdline.find("train-worker") != std::string::npos
           && cmdline.find(job) != std::string::npos;
}

CoordinatorBase::CoordinatorBase(Workspace& workspace, const CoordinatorOptions& options)
    : m_workspace(workspace), m_db(workspace.database()), m_options(options),
      m_host(localHostName())
{
    if (m_options.workerExecutable.empty()
        || ::access(m_options.workerExecutable.c_str(), X_OK) != 0) {
        throw Error("the worker program '" + m_options.workerExecutable
                    + "' is missing or not executable (it is the `moin` command-line tool)");
    }
    m_only.insert(m_options.onlyJobs.begin(), m_options.onlyJobs.end());
}

void CoordinatorBase::run(const std::function<void(const CoordinatorUpdate&)>& onUpdate,
                          const CancelToken* cancel)
{
    m_cancel = cancel;
    recover();
    flush(onUpdate);
    bool stopping = false;
    while (true) {
        if (!stopping && cancel && cancel->isCancelled()) {
            stopping = true;
            for (Worker& worker : m_workers)
                requestStop(worker);
            event("stopping: running jobs write a checkpoint and go back to the queue");
        }
        carryOutRequests();
        pollWorkers(stopping);
        if (!stopping)
            startQueued();
        flush(onUpdate);
        if (m_workers.empty() && (stopping || (m_options.exitWhenIdle && queuedJobs(1).empty())))
            break;
        std::this_thread::sleep_for(std::chrono::duration<double>(m_options.pollSeconds));
    }
    flush(onUpdate);
}

std::string CoordinatorBase::jobName(int64_t jobId, int cluster) const
{
    return "job " + std::to_string(jobId) + " (expert " + std::to_string(cluster) + ")";
}

// Jobs left "running" by a coordinator that is gone.
void CoordinatorBase::recover()
{
    Statement query = m_db.prepare(
        "SELECT id, cluster, worker_pid, worker_host FROM training_jobs WHERE state = "
        "'running'");
    std::vector<Worker> orphans;
    std::vector<std::string> hosts;
    while (query.step()) {
        Worker worker;
        worker.jobId = query.columnInt64(0);
        worker.cluster = int(query.columnInt64(1));
        worker.pid = pid_t(query.columnInt64(2));
        orphans.push_back(worker);
        hosts.push_back(query.columnText(3));
    }
    for (size_t i = 0; i < orphans.size(); ++i) {
        Worker& worker = orphans[i];
        if (!m_only.empty() && !m_only.count(worker.jobId))
            continue;
        if (adopt(worker, hosts[i])) {
            event(jobName(worker.jobId, worker.cluster) + ": adopted its running worker ("
                  + (worker.slurmTask.empty() ? "pid " + std::to_string(worker.pid)
                                              : "Slurm task " + worker.slurmTask)
                  + ")");
            m_workers.push_back(worker);
            m_touched.insert(worker.jobId);
        } else if (hosts[i].empty()
                   || (hosts[i] == m_host && !isWorkerOf(worker.pid, worker.jobId))) {
            finish(worker, "the worker (pid " + std::to_string(worker.pid)
                               + ") ended while no coordinator watched it");
        }
        // Else the worker belongs to another backend (a live local process while this is the
        // Slurm backend, a Slurm task while this is the local one) or to another host.
    }
}

std::vector<int64_t> CoordinatorBase::queuedJobs(size_t limit)
{
    std::vector<int64_t> ids;
    Statement query = m_db.prepare(
        "SELECT id FROM training_jobs WHERE state = 'queued' ORDER BY priority DESC, "
        "position, id");
    while (ids.size() < limit && query.step()) {
        const int64_t id = query.columnInt64(0);
        if (m_only.empty() || m_only.count(id))
            ids.push_back(id);
    }
    return ids;
}

void CoordinatorBase::requestStop(Worker& worker)
{
    if (worker.stopping)
        return;
    worker.stopping = true;
    worker.stopSent = Worker::Clock::now();
    stop(worker);
}

// Pause and cancel requests on running jobs stop the worker: it checkpoints and exits.
void CoordinatorBase::carryOutRequests()
{
    for (Worker& worker : m_workers) {
        if (!worker.stopping) {
            Statement query = m_db.prepare("SELECT request FROM training_jobs WHERE id = ?");
            query.bind(1, worker.jobId);
            if (query.step() && !query.columnText(0).empty())
                requestStop(worker);
        } else if (!worker.killed
                   && std::chrono::duration<double>(Worker::Clock::now() - worker.stopSent)
                              .count()
                          > m_options.stopGraceSeconds) {
            worker.killed = true;
            kill(worker);
            event(jobName(worker.jobId, worker.cluster) + " did not stop in time and was killed");
        }
    }
}

void CoordinatorBase::pollWorkers(bool stopping)
{
    refresh();
    for (auto it = m_workers.begin(); it != m_workers.end();) {
        Worker& worker = *it;
        ingest(worker.jobId);
        if (const std::optional<std::string> how = ended(worker)) {
            finish(worker, *how, stopping);
            it = m_workers.erase(it);
        } else {
            ++it;
        }
    }
}

LogState CoordinatorBase::ingest(int64_t jobId)
{
    LogState state;
    Statement offsetQuery = m_db.prepare("SELECT log_offset FROM training_jobs WHERE id = ?");
    offsetQuery.bind(1, jobId);
    if (!offsetQuery.step())
        return state;
    const int64_t offset = offsetQuery.columnInt64(0);
    offsetQuery.reset(); // ends its read, so the transaction below starts from a fresh snapshot
    std::ifstream in(jobLogPath(m_workspace.directory(), jobId), std::ios::binary);
    if (!in)
        return state;
    in.seekg(0, std::ios::end);
    const int64_t size = int64_t(in.tellg());
    if (size <= offset)
        return state;
    std::string text(size_t(size - offset), '\0');
    in.seekg(offset);
    in.read(text.data(), std::streamsize(text.size()));
    const size_t end = text.rfind('\n');
    if (end == std::string::npos)
        return state;

    Transaction transaction(m_db);
    Statement metric = m_db.prepare(
        "INSERT INTO training_metrics (job_id, step, loss, learning_rate, tokens_per_second, "
        "seconds) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, step) DO UPDATE SET loss = "
        "excluded.loss, learning_rate = excluded.learning_rate, tokens_per_second = "
        "excluded.tokens_per_second, seconds = excluded.seconds, held_out_loss = NULL");
    Statement heldOut = m_db.prepare(
        "INSERT INTO training_metrics (job_id, step, held_out_loss) VALUES (?, ?, ?) "
        "ON CONFLICT (job_id, step) DO UPDATE SET held_out_loss = excluded.held_out_loss");
    json lastStep;
    json lastEval;
    size_t begin = 0;
    size_t finalBegin = std::string::npos; // where the final line after the last start begins
    while (begin <= end) {
        const size_t lineBegin = begin;
        const size_t newline = text.find('\n', begin);
        const std::string line = text.substr(begin, newline - begin);
        begin = newline + 1;
        json e;
        try {
            e = json::parse(line);
        } catch (const json::exception&) {
            continue; // a torn line from an earlier crash
        }
        const std::string kind = e.value("event", "");
        if (kind == "step") {
            metric.reset();
            metric.bind(1, jobId)
                .bind(2, e.value("step", int64_t(0)))
                .bind(3, e.value("loss", 0.0))
                .bind(4, e.value("lr", 0.0))
                .bind(5, e.value("tokens_per_second", 0.0))
                .bind(6, e.value("seconds", 0.0))
                .run();
            lastStep = e;
        } else if (kind == "eval") {
            heldOut.reset();
            heldOut.bind(1, jobId)
                .bind(2, e.value("step", int64_t(0)))
                .bind(3, e.value("held_out_loss", 0.0))
                .run();
            lastEval = e;
        } else if (kind == "start") {
            m_db.prepare("UPDATE training_jobs SET total_steps = ?, device = ? WHERE id = ?")
                .bind(1, e.value("total_steps", int64_t(0)))
                .bind(2, e.value("device", std::string()))
                .bind(3, jobId)
                .run();
            state = {};
            finalBegin = std::string::npos;
            m_finals.erase(jobId);
            m_startSteps[jobId] = e.value("step", int64_t(0));
        } else if (kind == "done" || kind == "error" || kind == "interrupted") {
            state.final = kind;
            state.finalEvent = e;
            finalBegin = lineBegin;
        }
    }
    if (!lastStep.is_null()) {
        m_db.prepare("UPDATE training_jobs SET step = ?, loss = ?, learning_rate = ?, "
                     "tokens_per_second = ? WHERE id = ?")
            .bind(1, lastStep.value("step", int64_t(0)))
            .bind(2, lastStep.value("loss", 0.0))
            .bind(3, lastStep.value("lr", 0.0))
            .bind(4, lastStep.value("tokens_per_second", 0.0))
            .bind(5, jobId)
            .run();
    }
    if (!lastEval.is_null()) {
        m_db.prepare("UPDATE training_jobs SET held_out_loss = ? WHERE id = ?")
            .bind(1, lastEval.value("held_out_loss", 0.0))
            .bind(2, jobId)
            .run();
    }
    // The final line is consumed only by finish(), with the job's new state: else a
    // coordinator killed between here and there would leave a finished job without its end
    // (a done job would train again from step 0, its checkpoint gone).
    state.readTo = offset + int64_t(end) + 1;
    m_db.prepare("UPDATE training_jobs SET log_offset = ? WHERE id = ?")
        .bind(1, finalBegin == std::string::npos ? state.readTo : offset + int64_t(finalBegin))
        .bind(2, jobId)
        .run();
    if (!state.final.empty())
        m_finals[jobId] = state;
    transaction.commit();
    m_touched.insert(jobId);
    return state;
}

void CoordinatorBase::finish(const Worker& worker, const std::string& how, bool coordinatorStopping)
{
    ingest(worker.jobId);
    LogState log;
    if (auto found = m_finals.find(worker.jobId); found != m_finals.end()) {
        log = found->second;
        m_finals.erase(found);
    }
    const TrainingJob job = TrainingQueue(m_workspace).job(worker.jobId);
    const std::string name = jobName(job.id, job.cluster);
    Transaction transaction(m_db);
    if (!log.final.empty()) {
        m_db.prepare("UPDATE training_jobs SET log_offset = ? WHERE id = ?")
            .bind(1, log.readTo)
            .bind(2, job.id)
            .run();
    }
    // The worker is gone: the job leaves running along the queue's state machine.
    TrainingQueue queue(m_workspace);
    // Only the coordinator moves a running job (the queue's actions leave it requests), so a
    // job read as running here is still running.
    auto set = [&](const std::string& state, const std::string& error) {
        if (job.state != JobState::Running
            || !queue.move(job.id, jobStateFromString(state), JobMove::note(error)))
            event(name + " was " + toString(job.state) + ", not running; left as it was");
    };
    if (log.final == "done") {
        set("done", "");
        m_db.prepare("UPDATE training_jobs SET base_perplexity = ?, expert_perplexity = ?, "
                     "adapter_path = ?, step = ? WHERE id = ?")
            .bind(1, log.finalEvent.value("base_perplexity", 0.0))
            .bind(2, log.finalEvent.value("expert_perplexity", 0.0))
            .bind(3, log.finalEvent.value("adapter", std::string()))
            .bind(4, log.finalEvent.value("step", int64_t(0)))
            .bind(5, job.id)
            .run();
        event(name + " done: held-out perplexity "
              + std::to_string(log.finalEvent.value("base_perplexity", 0.0)) + " (base) -> "
              + std::to_string(log.finalEvent.value("expert_perplexity", 0.0)) + " (expert)");
    } else if (job.request == "cancel") {
        set("cancelled", "");
        event(name + " cancelled");
    } else if (log.final == "error") {
        const std::string message = log.finalEvent.value("message", std::string("failed"));
        set("failed", message);
        event(name + " failed: " + message);
    } else if (job.request == "pause") {
        set("paused", "");
        event(name + " paused at step " + std::to_string(job.step));
    } else if (log.final == "interrupted" && !coordinatorStopping && !worker.stopping
               && m_startSteps.count(job.id)
               && log.finalEvent.value("step", int64_t(0)) <= m_startSteps[job.id]) {
        // Stopped from outside (a Slurm time limit, a preemption, a SIGTERM) before a single
        // step: resubmitting it as it is would only repeat that, so it counts as an attempt.
        const std::string why = "stopped at step " + std::to_string(job.step)
                                + " before it trained a single step (attempt "
                                + std::to_string(job.attempts) + " of "
                                + std::to_string(job.maxAttempts) + ")";
        if (job.attempts >= job.maxAttempts) {
            set("failed", why + "; a time limit (Slurm's --time) or a preemption ended the "
                                "worker while it loaded the model and data each time: raise the "
                                "time limit (e.g. --time 1:00:00) and retry the job");
            event(name + " failed: " + why);
        } else {
            set("queued", why + "; trying again from its last checkpoint");
            event(name + " " + why + "; it is tried again");
        }
    } else if (log.final == "interrupted" || coordinatorStopping) {
        set("queued", "");
        event(name + " stopped at step " + std::to_string(job.step)
              + "; it resumes from its checkpoint when training starts again");
    } else if (job.attempts >= job.maxAttempts) {
        set("failed", how + " at step " + std::to_string(job.step) + "; gave up after "
                          + std::to_string(job.attempts) + " attempts (see "
                          + jobDirectory(m_workspace, job.id) + "/worker.log)");
        event(name + " failed: " + how);
    } else {
        set("queued", how + " at step " + std::to_string(job.step)
                          + "; resuming from its last checkpoint");
        event(name + ": " + how + "; it resumes from its last checkpoint");
    }
    transaction.commit();
    m_touched.insert(job.id);
}

void CoordinatorBase::flush(const std::function<void(const CoordinatorUpdate&)>& onUpdate)
{
    if (!onUpdate || (m_touched.empty() && m_events.empty()))
        return;
    CoordinatorUpdate update;
    TrainingQueue queue(m_workspace);
    update.totals = queue.totals();
    for (int64_t id : m_touched)
        update.jobs.push_back(queue.job(id));
    update.events = std::move(m_events);
    m_events.clear();
    m_touched.clear();
    onUpdate(update);
}

namespace {

using Clock = std::chrono::steady_clock;

// Workers are processes on this machine, at most `workers` at once.
class LocalCoordinator : public CoordinatorBase {
public:
    LocalCoordinator(Workspace& workspace, const CoordinatorOptions& options)
        : CoordinatorBase(workspace, options)
    {
        if (m_options.workers < 1)
            throw Error("workers must be 1 or more; got " + std::to_string(m_options.workers));
        if (m_options.threadsPerWorker < 0)
            throw Error("threads per worker must be 0 (automatic) or more");
        m_threads = m_options.threadsPerWorker;
        if (m_threads == 0) {
            const int cores = std::max(1u, std::thread::hardware_concurrency());
            m_threads = std::max(1, cores / m_options.workers);
        }
        m_devices = m_options.devices;
        if (m_devices.empty()) {
            for (const ComputeDevice& device : availableDevices()) {
                if (device.id != "cpu")
                    m_devices.push_back(device.id);
            }
            if (m_devices.empty())
                m_devices.push_back("cpu");
        }
    }

private:
    bool adopt(Worker& worker, const std::string& host) override
    {
        if (host != m_host || !isWorkerOf(worker.pid, worker.jobId))
            return false;
        worker.child = false;
        return true;
    }

    void startQueued() override
    {
        while (int(m_workers.size()) < m_options.workers) {
            const std::vector<int64_t> next = queuedJobs(1);
            if (next.empty())
                return;
            start(next.front());
        }
    }

    void stop(Worker& worker) override { ::kill(worker.pid, SIGTERM); }
    void kill(Worker& worker) override { ::kill(worker.pid, SIGKILL); }

    std::optional<std::string> ended(Worker& worker) override
    {
        if (!worker.child) {
            if (isWorkerOf(worker.pid, worker.jobId))
                return std::nullopt;
            return std::string("the adopted worker ended");
        }
        int status = 0;
        const pid_t result = ::waitpid(worker.pid, &status, WNOHANG);
        if (result == worker.pid) {
            if (WIFSIGNALED(status))
                return "the worker was killed by signal " + std::to_string(WTERMSIG(status))
                       + " (" + strsignal(WTERMSIG(status)) + ")";
            return "the worker exited with code " + std::to_string(WEXITSTATUS(status));
        }
        if (result < 0)
            return std::string("the worker vanished");
        return std::nullopt;
    }

    void start(int64_t jobId)
    {
        const TrainingJob job = TrainingQueue(m_workspace).job(jobId);
        std::string device = job.spec.device;
        if (device == "auto")
            device = m_devices[m_nextDevice++ % m_devices.size()];
        const fs::path dir = jobDirectory(m_workspace, jobId);
        fs::create_directories(dir);
        // A local worker reads the database; an input file left by a Slurm submission of this
        // job would otherwise take precedence.
        std::error_code ignored;
        fs::remove(jobInputPath(m_workspace.directory(), jobId), ignored);

        std::vector<std::string> args = m_options.workerPrefix;
        args.insert(args.end(), {m_options.workerExecutable, "train-worker",
                                 m_workspace.directory(), "--job", std::to_string(jobId),
                                 "--threads", std::to_string(m_threads), "--device", device});
        std::vector<char*> argv;
        for (std::string& arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);

        posix_spawn_file_actions_t files;
        posix_spawn_file_actions_init(&files);
        const std::string output = (dir / "worker.log").string();
        posix_spawn_file_actions_addopen(&files, 1, output.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&files, 1, 2);
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        // Its own process group: a Ctrl-C in the terminal reaches the coordinator, which stops
        // the workers at a checkpoint; and default signal handling whatever ours is.
        sigset_t defaults;
        sigemptyset(&defaults);
        for (int signal : {SIGINT, SIGTERM, SIGPIPE, SIGXFSZ})
            sigaddset(&defaults, signal);
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        posix_spawnattr_setsigmask(&attributes, &none);
        posix_spawnattr_setpgroup(&attributes, 0);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF
                                                  | POSIX_SPAWN_SETSIGMASK);
        // torch's thread setting does not reach OpenBLAS's own pool (one thread per core by
        // default), so the worker's environment caps it too: workers x threads <= cores.
        std::vector<std::string> environment;
        for (char** entry = environ; *entry; ++entry) {
            if (std::strncmp(*entry, "OPENBLAS_NUM_THREADS=", 21) != 0)
                environment.emplace_back(*entry);
        }
        environment.push_back("OPENBLAS_NUM_THREADS=" + std::to_string(m_threads));
        std::vector<char*> envp;
        for (std::string& entry : environment)
            envp.push_back(entry.data());
        envp.push_back(nullptr);
        pid_t pid = 0;
        const int error = posix_spawnp(&pid, argv[0], &files, &attributes, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&files);
        posix_spawnattr_destroy(&attributes);
        TrainingQueue queue(m_workspace);
        if (error != 0) {
            queue.move(jobId, JobState::Failed,
                       JobMove::note(std::string("cannot start the worker ") + argv[0] + ": "
                                     + std::strerror(error)));
            event(jobName(jobId, job.cluster) + " failed to start: " + std::strerror(error));
            m_touched.insert(jobId);
            return;
        }
        if (!queue.move(jobId, JobState::Running, JobMove::worker(pid, m_host, device))) {
            // Paused or cancelled between our pick and the start: the worker, which has not
            // trained or written anything yet, goes again.
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            event(jobName(jobId, job.cluster) + " was no longer queued; not started");
            m_touched.insert(jobId);
            return;
        }
        Worker worker;
        worker.jobId = jobId;
        worker.cluster = job.cluster;
        worker.pid = pid;
        worker.child = true;
        m_workers.push_back(worker);
        m_touched.insert(jobId);
        event(jobName(jobId, job.cluster) + " started on " + device + " with "
              + std::to_string(m_threads) + " thread(s)"
              + (job.attempts > 0 ? " (attempt " + std::to_string(job.attempts + 1) + ")" : ""));
    }

    int m_threads = 1;
    std::vector<std::string> m_devices;
    size_t m_nextDevice = 0;
};

} // namespace

namespace {

// One coordinator per workspace: two (the app and `moin train`, or two `moin train`) would
// submit the same queued jobs twice and adopt the same workers. An exclusive flock on
// jobs/coordinator.lock, held for the whole run; the kernel drops it when the process dies, and
// O_CLOEXEC keeps it out of the workers (a dead coordinator's live workers must not hold it).
class CoordinatorLock {
public:
    explicit CoordinatorLock(const Workspace& workspace)
    {
        const fs::path jobs = fs::path(workspace.directory()) / "jobs";
        fs::create_directories(jobs);
        const std::string path = (jobs / "coordinator.lock").string();
        m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (m_fd < 0)
            throw Error("cannot open " + path + ": " + std::strerror(errno)
                        + "; check that the workspace folder is writable");
        if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
            const int error = errno;
            char holder[256] = {};
            const ssize_t n = ::pread(m_fd, holder, sizeof holder - 1, 0);
            std::string who(holder, size_t(std::max<ssize_t>(n, 0)));
            while (!who.empty() && (who.back() == '\n' || who.back() == ' '))
                who.pop_back();
            ::close(m_fd);
            m_fd = -1;
            if (error != EWOULDBLOCK)
                throw Error("cannot lock " + path + ": " + std::strerror(error));
            throw Error("another coordinator (`moin train` or MoIN Studio"
                        + (who.empty() ? std::string() : ", " + who)
                        + ") is running this workspace's training queue; let it run the jobs, "
                          "or stop it (Stop in MoIN Studio, Ctrl-C for `moin train`) and start "
                          "training again");
        }
        const std::string me = "pid " + std::to_string(::getpid()) + " on " + localHostName() + "\n";
        if (::ftruncate(m_fd, 0) == 0 && ::pwrite(m_fd, me.data(), me.size(), 0) < 0) {
            // Only the message of a second coordinator names us; the lock holds regardless.
        }
    }
    ~CoordinatorLock()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    CoordinatorLock(const CoordinatorLock&) = delete;
    CoordinatorLock& operator=(const CoordinatorLock&) = delete;

private:
    int m_fd = -1;
};

} // namespace

void runTrainingQueue(Workspace& workspace, const CoordinatorOptions& options,
                      const std::function<void(const CoordinatorUpdate&)>& onUpdate,
                      const CancelToken* cancel)
{
    const CoordinatorLock lock(workspace);
    std::unique_ptr<CoordinatorBase> coordinator;
    if (options.backend == TrainingBackend::Slurm)
        coordinator = makeSlurmCoordinator(workspace, options);
    else
        coordinator = std::make_unique<LocalCoordinator>(workspace, options);
    coordinator->run(onUpdate, cancel);
}

} // namespace moin
