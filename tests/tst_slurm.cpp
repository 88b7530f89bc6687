// The Slurm backend of the training queue against a real Slurm: a single-node cluster started
// on localhost for this suite (tests/slurm/cluster.sh: munged, slurmctld, slurmd with their own
// configuration in a temporary folder), experts trained as a job array, a task killed mid-run
// and resumed from its checkpoint in a new array, pause and cancel through scancel, the
// coordinator's stop, a restarted coordinator re-attaching to a running task, and Slurm's own
// message for a bad partition.
#include "testsupport.h"

#include "moin/clustering.h"
#include "moin/coordinator.h"
#include "moin/corpus.h"
#include "moin/error.h"
#include "moin/trainer.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

namespace {

/// A spec that runs long enough to be interrupted: a few seconds of steps on the tiny base.
moin::TrainingSpec tinySpec(int64_t runId, int cluster, int64_t steps)
{
    moin::TrainingSpec spec = testsupport::tinyTrainingSpec(runId, cluster);
    spec.steps = steps;
    spec.evalEvery = 10;
    spec.checkpointEvery = 5;
    return spec;
}

struct LogLine {
    QString event;
    qint64 step = 0;
    qint64 pid = 0;
};

std::vector<LogLine> logLines(const std::string& workspace, int64_t jobId)
{
    QFile file(QString::fromStdString(moin::jobLogPath(workspace, jobId)));
    std::vector<LogLine> lines;
    if (!file.open(QIODevice::ReadOnly))
        return lines;
    for (const QByteArray& text : file.readAll().split('\n')) {
        const QJsonObject e = QJsonDocument::fromJson(text).object();
        if (!e.isEmpty())
            lines.push_back({e.value("event").toString(), e.value("step").toInteger(),
                             e.value("pid").toInteger()});
    }
    return lines;
}

/// Output of a Slurm command (squeue, sbatch, ...) run with the suite's SLURM_CONF.
QString slurmCommand(const QString& program, const QStringList& arguments)
{
    QProcess process;
    process.start(program, arguments);
    if (!process.waitForFinished(30000))
        return "timeout";
    return QString::fromUtf8(process.readAllStandardOutput() + process.readAllStandardError())
        .trimmed();
}

/// Runs the queue on its own thread and connection (as the app does), collecting events.
class CoordinatorThread {
public:
    CoordinatorThread(const QString& directory, const moin::CoordinatorOptions& options,
                      const moin::CancelToken* cancel = nullptr)
    {
        m_clock.start();
        m_thread = std::thread([=] {
            try {
                moin::Workspace own = moin::Workspace::open(directory.toStdString());
                moin::runTrainingQueue(
                    own, options,
                    [&](const moin::CoordinatorUpdate& update) {
                        std::lock_guard<std::mutex> lock(m_mutex);
                        for (const std::string& line : update.events) {
                            m_events << QString::fromStdString(line);
                            m_eventMs << m_clock.elapsed();
                        }
                    },
                    cancel);
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(m_mutex);
                m_error = QString::fromUtf8(e.what());
            }
            m_finished = true;
        });
    }
    ~CoordinatorThread()
    {
        if (m_thread.joinable())
            m_thread.join();
    }
    bool finished() const { return m_finished; }
    void join() { m_thread.join(); }
    QStringList events()
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        return m_events;
    }
    /// Milliseconds since the coordinator started at which the first event matching the
    /// regular expression `pattern` came, or -1.
    qint64 eventTime(const QString& pattern)
    {
        const QRegularExpression expression(pattern);
        std::lock_guard<std::mutex> lock(m_mutex);
        for (int i = 0; i < m_events.size(); ++i)
            if (m_events[i].contains(expression))
                return m_eventMs[i];
        return -1;
    }
    QString error()
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        return m_error;
    }

private:
    QElapsedTimer m_clock;
    std::thread m_thread;
    std::atomic<bool> m_finished{false};
    std::mutex m_mutex;
    QStringList m_events; // guarded by m_mutex
    QList<qint64> m_eventMs; // guarded by m_mutex
    QString m_error;      // guarded by m_mutex
};

} // namespace

class TestSlurm : public QObject {
    Q_OBJECT
public:
    ~TestSlurm() override { stopCluster(); }

private slots:
    void initTestCase();
    void cleanupTestCase();
    void missingSlurmAndBadPartitionAreClearErrors();
    void trainsArrayAndResumesKilledTask();
    void pauseAndCancelBecomeScancel();
    void stopCheckpointsTasksAndRestartReattaches();
    void maxConcurrentCapsTasksOverArrays();
    void workspacePathWithShellAndSlurmCharacters();
    void clusterScriptStopsOnlyItsOwnFolder();
    void refusedSubmissionWhileTasksRunIsRetried();

private:
    void stopCluster();
    moin::CoordinatorOptions slurmOptions() const;

    QTemporaryDir m_tmp;
    QString m_clusterDir;
    bool m_clusterRunning = false;
    QString m_dir;
    std::optional<moin::Workspace> m_workspace;
    int64_t m_run = 0;
};

void TestSlurm::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    m_clusterDir = m_tmp.filePath("cluster");
    QProcess start;
    start.start("bash", {MOIN_SOURCE_DIR "/tests/slurm/cluster.sh", "start", m_clusterDir,
                         QString::number(::getpid())});
    QVERIFY(start.waitForFinished(90000));
    const QString output = QString::fromUtf8(start.readAllStandardOutput());
    const QString errors = QString::fromUtf8(start.readAllStandardError());
    m_clusterRunning = true;
    QVERIFY2(start.exitCode() == 0, qPrintable("the test cluster did not start: " + errors));
    QVERIFY2(output.contains("SLURM_CONF="), qPrintable(output + errors));
    qputenv("SLURM_CONF", (m_clusterDir + "/slurm.conf").toLocal8Bit());
    QVERIFY(slurmCommand("sinfo", {"-h", "-o", "%T"}).contains("idle"));

    const testsupport::TopicWorkspace topics = testsupport::makeTopicWorkspace(m_tmp.path());
    m_dir = topics.directory;
    m_workspace = moin::Workspace::open(m_dir.toStdString());
    m_run = topics.runId;
    QVERIFY(m_run > 0);
}

void TestSlurm::cleanupTestCase() { stopCluster(); }

void TestSlurm::stopCluster()
{
    if (!m_clusterRunning)
        return;
    m_clusterRunning = false;
    QProcess::execute("bash", {MOIN_SOURCE_DIR "/tests/slurm/cluster.sh", "stop", m_clusterDir});
}

moin::CoordinatorOptions TestSlurm::slurmOptions() const
{
    moin::CoordinatorOptions options;
    options.workerExecutable = MOIN_CLI_PATH;
    options.backend = moin::TrainingBackend::Slurm;
    options.pollSeconds = 0.1;
    options.slurm.cpusPerTask = 1;
    options.slurm.squeueSeconds = 0.5;
    options.slurm.timeLimit = "10";
    return options;
}

void TestSlurm::missingSlurmAndBadPartitionAreClearErrors()
{
    moin::TrainingQueue queue(*m_workspace);
    const int64_t id = queue.enqueue({tinySpec(m_run, 0, 10)}).at(0);
    moin::CoordinatorOptions options = slurmOptions();
    options.onlyJobs = {id};

    // No Slurm commands on PATH: says which command and what to install.
    const QByteArray path = qgetenv("PATH");
    qputenv("PATH", m_tmp.path().toLocal8Bit());
    const QString missing =
        testsupport::errorOf([&] { moin::runTrainingQueue(*m_workspace, options); });
    qputenv("PATH", path);
    QVERIFY2(missing.contains("squeue") && missing.contains("slurm-client"),
             qPrintable(missing));

    // A Slurm command that takes too long (a hung controller) is killed, and says so. squeue
    // cannot load its configuration and ask the controller within a millisecond.
    options.slurm.commandTimeoutSeconds = 0.001;
    const QString hung =
        testsupport::errorOf([&] { moin::runTrainingQueue(*m_workspace, options); });
    QVERIFY2(hung.contains("squeue did not finish within 0.001 s and was killed"),
             qPrintable(hung));
    options.slurm.commandTimeoutSeconds = 60;

    // A partition the cluster does not have: Slurm's own words, and the job stays queued.
    options.slurm.partition = "no-such-partition";
    const QString refused =
        testsupport::errorOf([&] { moin::runTrainingQueue(*m_workspace, options); });
    QVERIFY2(refused.contains("Slurm refused") && refused.contains("partition", Qt::CaseInsensitive)
                 && refused.contains("no-such-partition"),
             qPrintable(refused));
    const moin::TrainingJob job = queue.job(id);
    QCOMPARE(moin::toString(job.state), std::string("queued"));
    QCOMPARE(job.attempts, 0);
    QCOMPARE(queue.cancel({id}), int64_t(1));
}

void TestSlurm::trainsArrayAndResumesKilledTask()
{
    moin::TrainingQueue queue(*m_workspace);
    // The tiny model runs a step in 20 to 100 ms: kills land in steps 7 to 59 of 150, after
    // the first checkpoint (every 5 steps) and long before the end.
    const int64_t kSteps = 150;
    const int64_t kKillBefore = 60;
    const std::vector<int64_t> ids = queue.enqueue(
        {tinySpec(m_run, 0, kSteps), tinySpec(m_run, 1, kSteps), tinySpec(m_run, 2, kSteps)});
    moin::CoordinatorOptions options = slurmOptions();
    options.onlyJobs = ids;
    QElapsedTimer clock;
    clock.start();
    CoordinatorThread coordinator(m_dir, options);

    // Kill the first job's worker once it has a checkpoint and has gone on past it.
    const int64_t victim = ids[0];
    const QString checkpoint =
        QString::fromStdString(moin::jobDirectory(m_dir.toStdString(), victim))
        + "/checkpoint/state.json";
    qint64 firstStartMs = -1;
    qint64 killedPid = 0;
    qint64 killedAtStep = 0;
    qint64 killedMs = 0;
    qint64 resumedMs = -1;
    QSet<QString> waitingNotes;
    QString preemptedTask;
    qint64 preemptedAtStep = 0;
    QDeadlineTimer deadline(150000);
    // Progress from the logs themselves: the database's step lags the worker's by a poll.
    auto progress = [&](int64_t id) {
        struct {
            int starts = 0;
            qint64 step = 0;
            qint64 pid = 0;
        } p;
        for (const LogLine& line : logLines(m_dir.toStdString(), id)) {
            if (line.event == "start") {
                ++p.starts;
                p.pid = line.pid;
            }
            if (line.event == "step")
                p.step = line.step;
        }
        return p;
    };
    while (!coordinator.finished() && !deadline.hasExpired()) {
        const auto victimProgress = progress(victim);
        if (firstStartMs < 0 && victimProgress.starts > 0)
            firstStartMs = clock.elapsed();
        if (killedPid == 0 && victimProgress.starts == 1 && QFile::exists(checkpoint)
            && victimProgress.step >= 7 && victimProgress.step < kKillBefore) {
            killedPid = victimProgress.pid;
            QVERIFY(killedPid > 0);
            killedAtStep = victimProgress.step;
            QCOMPARE(::kill(pid_t(killedPid), SIGKILL), 0);
            killedMs = clock.elapsed();
        }
        if (killedPid != 0 && resumedMs < 0 && victimProgress.starts == 2)
            resumedMs = clock.elapsed();
        // The second job's task is cancelled from outside, as an administrator, a preemption
        // or a time limit would: SIGTERM, a checkpoint, and the job goes out again.
        const auto preemptedProgress = progress(ids[1]);
        if (preemptedTask.isEmpty() && preemptedProgress.starts == 1
            && preemptedProgress.step >= 7 && preemptedProgress.step < kKillBefore) {
            preemptedTask = QString::fromStdString(queue.job(ids[1]).workerHost).mid(6);
            preemptedAtStep = preemptedProgress.step;
            const QString answer = slurmCommand("scancel", {preemptedTask});
            QVERIFY2(answer.isEmpty(), qPrintable(answer));
        }
        // The node's 2 CPUs hold the third task back; its note says so.
        const QString note = QString::fromStdString(queue.job(ids[2]).error);
        if (note.startsWith("waiting in Slurm"))
            waitingNotes.insert(note);
        QThread::msleep(10);
    }
    QVERIFY2(coordinator.finished(), "the coordinator did not finish within 150 s");
    coordinator.join();
    QVERIFY2(coordinator.error().isEmpty(), qPrintable(coordinator.error()));
    QVERIFY2(killedPid != 0, "the job finished before it could be killed");
    // Figures for the report (the two clocks start within a millisecond of each other).
    const qint64 submittedMs = coordinator.eventTime("submitted to Slurm");
    const qint64 runningMs = coordinator.eventTime("running as Slurm task");
    const qint64 resubmittedMs =
        coordinator.eventTime(QString("^job %1 .*\\(attempt 2\\)").arg(victim));
    qInfo("first sbatch at %lld ms; a task seen RUNNING by squeue %lld ms later; its worker's "
          "first log line %lld ms after sbatch; kill -> resubmitted %lld ms -> resumed worker "
          "started %lld ms; all done in %lld ms",
          (long long)submittedMs, (long long)(runningMs - submittedMs),
          (long long)(firstStartMs - submittedMs), (long long)(resubmittedMs - killedMs),
          (long long)(resumedMs - resubmittedMs), (long long)clock.elapsed());

    QVERIFY2(waitingNotes.contains("waiting in Slurm (JobArrayTaskLimit)")
                 || waitingNotes.contains("waiting in Slurm (Resources)"),
             qPrintable(QStringList(waitingNotes.values()).join(", ")));
    const QStringList events = coordinator.events();
    for (int64_t id : ids) {
        const moin::TrainingJob job = queue.job(id);
        QVERIFY2(job.state == moin::JobState::Done,
                 qPrintable(QString("job %1: %2; events: %3")
                                .arg(id)
                                .arg(QString::fromStdString(job.error), events.join(" | "))));
        QCOMPARE(job.step, kSteps);
        QVERIFY2(job.error.empty(), job.error.c_str());
        QVERIFY(QString::fromStdString(job.workerHost).startsWith("slurm:"));
        QVERIFY(QFile::exists(QString::fromStdString(job.adapterPath)
                              + "/adapter_model.safetensors"));
        QCOMPARE(QString::fromStdString(job.adapterPath),
                 QString::fromStdString(moin::expertDirectory(m_dir.toStdString(), m_run,
                                                              job.cluster)));
        QVERIFY(std::isfinite(job.expertPerplexity) && job.expertPerplexity > 0);
        QCOMPARE(queue.metrics(id).size(), size_t(kSteps));
        QVERIFY2(job.attempts == (id == ids[2] ? 1 : 2),
                 qPrintable(QString("job %1: %2 attempts; events: %3")
                                .arg(id)
                                .arg(job.attempts)
                                .arg(events.join("\n"))));
    }
    // The killed task went back to the queue and came back in a second array, from its
    // checkpoint: its second start is at the checkpoint's step, not 0.
    const std::vector<LogLine> lines = logLines(m_dir.toStdString(), victim);
    std::vector<qint64> startSteps;
    for (const LogLine& line : lines)
        if (line.event == "start")
            startSteps.push_back(line.step);
    QCOMPARE(startSteps.size(), size_t(2));
    QCOMPARE(startSteps[0], qint64(0));
    QVERIFY2(startSteps[1] > 0 && startSteps[1] <= killedAtStep,
             qPrintable(QString("resumed at %1, killed at %2").arg(startSteps[1]).arg(killedAtStep)));
    QVERIFY(!preemptedTask.isEmpty());
    const std::vector<LogLine> preemptedLines = logLines(m_dir.toStdString(), ids[1]);
    std::vector<qint64> preemptedStarts;
    bool interrupted = false;
    for (const LogLine& line : preemptedLines) {
        interrupted = interrupted || line.event == "interrupted";
        if (line.event == "start")
            preemptedStarts.push_back(line.step);
    }
    QVERIFY(interrupted);
    QCOMPARE(preemptedStarts.size(), size_t(2));
    // It checkpointed when it was stopped, so it resumes exactly where it was cancelled.
    QVERIFY2(preemptedStarts[1] >= preemptedAtStep,
             qPrintable(QString("resumed at %1, cancelled at %2")
                            .arg(preemptedStarts[1])
                            .arg(preemptedAtStep)));
    QVERIFY2(!events.filter(QRegularExpression("job " + QString::number(victim)
                                               + " .*ended FAILED.*resumes from its last "
                                                 "checkpoint"))
                  .isEmpty(),
             qPrintable(events.join("\n")));
    QVERIFY2(!events.filter(QRegularExpression("job " + QString::number(ids[1])
                                               + " .*stopped at step"))
                  .isEmpty(),
             qPrintable(events.join("\n")));
    // The first array had all three tasks; the two jobs that came
    // back went out again in one or two later arrays, and only they.
    const int submitted = int(events.filter("submitted to Slurm").size());
    QVERIFY2(submitted == 5, qPrintable(events.join("\n")));
    QVERIFY2(events.filter("(attempt 2)").size() == 2, qPrintable(events.join("\n")));
    QFile first(m_dir + "/jobs/slurm/submit-1.tasks");
    QVERIFY(first.open(QIODevice::ReadOnly));
    QCOMPARE(first.readAll().split('\n').count("") , 1); // three lines, one final newline
    QByteArrayList again;
    for (int array = 2; QFile::exists(m_dir + QString("/jobs/slurm/submit-%1.tasks").arg(array));
         ++array) {
        QFile tasks(m_dir + QString("/jobs/slurm/submit-%1.tasks").arg(array));
        QVERIFY(tasks.open(QIODevice::ReadOnly));
        again += tasks.readAll().trimmed().split('\n');
    }
    std::sort(again.begin(), again.end());
    QCOMPARE(again, (QByteArrayList{QByteArray::number(qlonglong(std::min(victim, ids[1]))),
                                    QByteArray::number(qlonglong(std::max(victim, ids[1])))}));
    // Each task's output went to its job's worker.log.
    QFile workerLog(QString::fromStdString(moin::jobDirectory(m_dir.toStdString(), victim))
                    + "/worker.log");
    QVERIFY(workerLog.open(QIODevice::ReadOnly));
    QCOMPARE(workerLog.readAll().count("slurm: job"), 2);
    // Tasks read their job from its input file, not from the database over the network.
    for (int64_t id : ids) {
        QFile input(QString::fromStdString(moin::jobInputPath(m_dir.toStdString(), id)));
        QVERIFY(input.open(QIODevice::ReadOnly));
        const QJsonObject object = QJsonDocument::fromJson(input.readAll()).object();
        QCOMPARE(object.value("job").toInteger(), qint64(id));
        QVERIFY(!object.value("chunks").toArray().isEmpty());
    }
}

void TestSlurm::pauseAndCancelBecomeScancel()
{
    moin::TrainingQueue queue(*m_workspace);
    const std::vector<int64_t> ids =
        queue.enqueue({tinySpec(m_run, 0, 1000000), tinySpec(m_run, 1, 1000000)});
    moin::CoordinatorOptions options = slurmOptions();
    options.onlyJobs = ids;
    CoordinatorThread coordinator(m_dir, options);
    QTRY_VERIFY_WITH_TIMEOUT(coordinator.finished()
                                 || (queue.job(ids[0]).step >= 3 && queue.job(ids[1]).step >= 3),
                             90000);
    QVERIFY2(!coordinator.finished(), qPrintable(coordinator.error()));
    const std::string pausedTask = queue.job(ids[0]).workerHost.substr(6);
    // Requests come from another connection, as from the app or `moin jobs`.
    QCOMPARE(queue.pause({ids[0]}), int64_t(1));
    QCOMPARE(queue.cancel({ids[1]}), int64_t(1));
    QTRY_VERIFY_WITH_TIMEOUT(coordinator.finished(), 60000);
    coordinator.join();
    QVERIFY2(coordinator.error().isEmpty(), qPrintable(coordinator.error()));
    const moin::TrainingJob paused = queue.job(ids[0]);
    QCOMPARE(moin::toString(paused.state), std::string("paused"));
    QVERIFY(paused.step >= 3);
    QCOMPARE(moin::toString(queue.job(ids[1]).state), std::string("cancelled"));
    // scancel's SIGTERM reached the worker, which checkpointed before it exited.
    for (int64_t id : ids) {
        const std::vector<LogLine> lines = logLines(m_dir.toStdString(), id);
        QVERIFY(!lines.empty());
        QCOMPARE(lines.back().event, QString("interrupted"));
    }
    QVERIFY(QFile::exists(QString::fromStdString(moin::jobDirectory(m_dir.toStdString(), ids[0]))
                          + "/checkpoint/state.json"));
    QCOMPARE(slurmCommand("squeue", {"-h", "-t", "all", "-j", QString::fromStdString(pausedTask),
                                     "-o", "%T"}),
             QString("CANCELLED"));
}

void TestSlurm::stopCheckpointsTasksAndRestartReattaches()
{
    // `moin train --backend slurm` submits; the coordinator process dies (SIGKILL) while its
    // task runs; a new coordinator takes the task over instead of submitting it again.
    QProcess train;
    train.setProcessChannelMode(QProcess::MergedChannels);
    // A relative workspace path: the tasks start elsewhere and must get it absolute.
    train.setWorkingDirectory(m_tmp.path());
    train.start(MOIN_CLI_PATH,
                {"train", "ws", "--experts", "2", "--retrain", "--steps", "1000000", "--rank",
                 "4", "--batch", "2", "--seq-len", "32", "--checkpoint-every", "5",
                 "--device", "cpu", "--backend", "slurm", "--cpus-per-task", "1", "--time",
                 "10", "--max-concurrent", "1"});
    QVERIFY(train.waitForStarted());
    moin::TrainingQueue queue(*m_workspace);
    int64_t id = 0;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (const moin::TrainingJob& job : queue.list(moin::JobState::Running))
                if (job.cluster == 2 && job.step >= 3)
                    id = job.id;
            return id != 0 || train.state() == QProcess::NotRunning;
        }(),
        90000);
    QVERIFY2(id != 0, train.readAll().constData());
    train.kill();
    QVERIFY(train.waitForFinished(10000));
    const std::string task = queue.job(id).workerHost;
    QVERIFY(QString::fromStdString(task).startsWith("slurm:"));
    QCOMPARE(slurmCommand("squeue", {"-h", "-j", QString::fromStdString(task.substr(6)), "-o",
                                     "%T"}),
             QString("RUNNING"));
    const qint64 stepAtAdoption = queue.job(id).step;

    // The app's Stop: the adopted task is cancelled in Slurm, checkpoints, and is queued again.
    moin::CancelToken stop;
    moin::CoordinatorOptions options = slurmOptions();
    options.onlyJobs = {id};
    CoordinatorThread coordinator(m_dir, options, &stop);
    QTRY_VERIFY_WITH_TIMEOUT(!coordinator.events().filter("adopted").isEmpty(), 30000);
    QTRY_VERIFY_WITH_TIMEOUT(queue.job(id).step > stepAtAdoption + 2, 60000);
    QVERIFY(!coordinator.finished());
    stop.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(coordinator.finished(), 60000);
    coordinator.join();
    QVERIFY2(coordinator.error().isEmpty(), qPrintable(coordinator.error()));
    const moin::TrainingJob job = queue.job(id);
    QCOMPARE(moin::toString(job.state), std::string("queued"));
    QCOMPARE(job.attempts, 1); // taken over, not submitted again
    QVERIFY(coordinator.events().filter("submitted to Slurm").isEmpty());
    QCOMPARE(logLines(m_dir.toStdString(), id).back().event, QString("interrupted"));
    QCOMPARE(slurmCommand("squeue", {"-h", "-t", "all", "-j", QString::fromStdString(task.substr(6)),
                                     "-o", "%T"}),
             QString("CANCELLED"));
    QCOMPARE(queue.cancel({id}), int64_t(1));
}

QTEST_GUILESS_MAIN(TestSlurm)
// --max-concurrent caps the coordinator's live tasks, not only one array's: with 1, the second
// job goes to Slurm only once the first has ended, in an array of its own.
void TestSlurm::maxConcurrentCapsTasksOverArrays()
{
    moin::TrainingQueue queue(*m_workspace);
    // Earlier tests leave jobs paused or queued; their clusters are needed here.
    for (const moin::TrainingJob& job : queue.list())
        if (job.state == moin::JobState::Paused || job.state == moin::JobState::Queued)
            queue.cancel({job.id});
    const std::vector<int64_t> ids =
        queue.enqueue({tinySpec(m_run, 0, 10), tinySpec(m_run, 1, 10)});
    moin::CoordinatorOptions options = slurmOptions();
    options.onlyJobs = ids;
    options.slurm.maxConcurrent = 1;
    CoordinatorThread coordinator(m_dir, options);
    QTRY_VERIFY_WITH_TIMEOUT(coordinator.finished(), 90000);
    coordinator.join();
    QVERIFY2(coordinator.error().isEmpty(), qPrintable(coordinator.error()));
    const QStringList events = coordinator.events();
    for (int64_t id : ids)
        QVERIFY2(queue.job(id).state == moin::JobState::Done, qPrintable(events.join("\n")));
    auto at = [&](int64_t id, const QString& what) {
        return events.indexOf(QRegularExpression(QString("job %1 .*%2.*").arg(id).arg(what)));
    };
    QVERIFY2(at(ids[0], "submitted to Slurm") >= 0 && at(ids[0], "done") >= 0
                 && at(ids[1], "submitted to Slurm") > at(ids[0], "done"),
             qPrintable(events.join("\n")));
    const QString first = QString::fromStdString(queue.job(ids[0]).workerHost);
    const QString second = QString::fromStdString(queue.job(ids[1]).workerHost);
    QVERIFY2(first.section('_', 0, 0) != second.section('_', 0, 0),
             qPrintable(first + " " + second));
}

// The batch script and sbatch's --output take the workspace path literally: quotes, $(...)
// and a % (a Slurm filename field) in it neither break the task nor run anything.
void TestSlurm::workspacePathWithShellAndSlurmCharacters()
{
    const QString odd = m_tmp.filePath("odd \"ws\" $(touch pwned) `touch pwned` 100%a");
    QVERIFY(QFile::link(m_dir, odd));
    moin::Workspace workspace = moin::Workspace::open(odd.toStdString());
    moin::TrainingQueue queue(workspace);
    const int64_t id = queue.enqueue({tinySpec(m_run, 2, 5)}).at(0);
    const QDir slurmDir(odd + "/jobs/slurm");
    const QStringList scriptsBefore = slurmDir.entryList({"submit-*.sh"});
    moin::CoordinatorOptions options = slurmOptions();
    options.onlyJobs = {id};
    CoordinatorThread coordinator(odd, options);
    QTRY_VERIFY_WITH_TIMEOUT(coordinator.finished(), 60000);
    coordinator.join();
    QVERIFY2(coordinator.error().isEmpty(), qPrintable(coordinator.error()));
    const moin::TrainingJob job = queue.job(id);
    QVERIFY2(job.state == moin::JobState::Done,
             qPrintable(QString::fromStdString(job.error) + " | " + coordinator.events().join(" | ")));
    // The task's own output file is in the folder, its % kept and %a filled in.
    QStringList scripts = slurmDir.entryList({"submit-*.sh"});
    for (const QString& before : scriptsBefore)
        scripts.removeAll(before);
    QCOMPARE(scripts.size(), 1);
    const QString stem = slurmDir.filePath(scripts.first().chopped(3));
    QVERIFY2(QFile::exists(stem + "-0.out"), qPrintable(slurmDir.entryList().join(", ")));
    QVERIFY(!QFile::exists(m_dir + "/pwned") && !QFile::exists(m_tmp.filePath("pwned")));
    QFile script(stem + ".sh");
    QProcess check;
    check.start("sh", {"-n", script.fileName()});
    QVERIFY(check.waitForFinished(10000));
    QVERIFY2(check.exitCode() == 0, check.readAllStandardError().constData());
}

// `cluster.sh stop DIR` removes DIR: a folder it did not start a cluster in is left alone.
void TestSlurm::clusterScriptStopsOnlyItsOwnFolder()
{
    const QString other = m_tmp.filePath("not-a-cluster");
    QVERIFY(QDir().mkpath(other));
    QFile keep(other + "/slurm.conf");
    QVERIFY(keep.open(QIODevice::WriteOnly));
    keep.write("ClusterName=production\n");
    keep.close();
    QProcess stop;
    stop.start("bash", {MOIN_SOURCE_DIR "/tests/slurm/cluster.sh", "stop", other});
    QVERIFY(stop.waitForFinished(30000));
    QCOMPARE(stop.exitCode(), 1);
    QVERIFY(stop.readAllStandardError().contains("not a test cluster"));
    QVERIFY(QFile::exists(other + "/slurm.conf"));
    // The running test cluster's own folder is still accepted (cleanupTestCase stops it).
    QVERIFY(QFile::exists(m_clusterDir + "/slurm.conf"));
}

// sbatch refusing an array while a task of ours runs (a passing "Socket timed out", a submit
// limit; here the partition made INACTIVE) must not end the coordinator: it keeps watching
// the running task and submits the job again once Slurm takes it.
void TestSlurm::refusedSubmissionWhileTasksRunIsRetried()
{
    moin::TrainingQueue queue(*m_workspace);
    for (const moin::TrainingJob& job : queue.list())
        if (job.state == moin::JobState::Paused || job.state == moin::JobState::Queued)
            queue.cancel({job.id});
    const int64_t running = queue.enqueue({tinySpec(m_run, 0, 1000000)}).at(0);
    moin::CoordinatorOptions options = slurmOptions();
    options.exitWhenIdle = true;
    options.slurm.submitRetrySeconds = 0.5;
    moin::CancelToken stop;
    CoordinatorThread coordinator(m_dir, options, &stop);
    QTRY_VERIFY_WITH_TIMEOUT(coordinator.finished() || queue.job(running).step >= 1, 60000);
    QVERIFY2(!coordinator.finished(), qPrintable(coordinator.error()));

    struct PartitionUp {
        ~PartitionUp() { slurmCommand("scontrol", {"update", "PartitionName=debug", "State=UP"}); }
    } restore;
    QCOMPARE(slurmCommand("scontrol", {"update", "PartitionName=debug", "State=INACTIVE"}),
             QString());
    const int64_t later = queue.enqueue({tinySpec(m_run, 1, 1000000)}).at(0);
    QTRY_VERIFY_WITH_TIMEOUT(coordinator.finished()
                                 || !coordinator.events().filter("submitted again in").isEmpty(),
                             30000);
    QVERIFY2(!coordinator.finished(), qPrintable(coordinator.error()));
    QCOMPARE(moin::toString(queue.job(later).state), std::string("queued"));
    QCOMPARE(slurmCommand("scontrol", {"update", "PartitionName=debug", "State=UP"}), QString());
    QTRY_VERIFY_WITH_TIMEOUT(coordinator.finished() || queue.job(later).step >= 1, 60000);
    QVERIFY2(!coordinator.finished(), qPrintable(coordinator.error()));
    // The first task was watched throughout: it still trains, and stops when asked.
    QVERIFY(queue.job(running).step >= 2);
    stop.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(coordinator.finished(), 60000);
    coordinator.join();
    QVERIFY2(coordinator.error().isEmpty(), qPrintable(coordinator.error()));
    QVERIFY2(!coordinator.events()
                  .filter(QRegularExpression("Slurm refused the training jobs: .*; the jobs stay "
                                             "queued and are submitted again in 0.5 s"))
                  .isEmpty(),
             qPrintable(coordinator.events().join("\n")));
    QCOMPARE(queue.cancel({running, later}), int64_t(2));
}

#include "tst_slurm.moc"
