#include "trainingbackend.h"

#include "moin/database.h"
#include "moin/error.h"

#include <QCoreApplication>

namespace moin::ui {

namespace {
QString messageOf(const std::exception& e) { return QString::fromUtf8(e.what()); }
} // namespace

void TrainingStore::setDirectory(const QString& directory)
{
    if (directory != m_directory)
        m_workspace.reset();
    m_directory = directory;
    m_loadedRun = -1;
    m_healthKey.clear();
}

Workspace* TrainingStore::workspace()
{
    if (m_directory.isEmpty())
        return nullptr;
    if (!m_workspace)
        m_workspace.emplace(Workspace::open(m_directory.toStdString()));
    return &*m_workspace;
}

void TrainingStore::poll(const std::vector<MetricsRequest>& metrics)
{
    TrainingSnapshot snapshot;
    snapshot.directory = m_directory;
    try {
        Workspace* ws = workspace();
        if (!ws) {
            emit polled(snapshot);
            return;
        }
        snapshot.runId = activeClusterRun(*ws);
        if (snapshot.runId != m_loadedRun) {
            if (snapshot.runId > 0)
                snapshot.clusters = listClusters(*ws, snapshot.runId);
            snapshot.clustersLoaded = true;
        }
        TrainingQueue queue(*ws);
        if (snapshot.runId > 0)
            snapshot.jobs = queue.latestPerCluster(snapshot.runId);
        std::string healthKey;
        if (snapshot.runId > 0) {
            // Health changes when a job ends (its perplexities) or a question is recorded.
            Statement messages = ws->database().prepare(
                "SELECT COALESCE(MAX(id), 0), COUNT(*) FROM messages");
            messages.step();
            healthKey = std::to_string(snapshot.runId) + "|" + messages.columnText(0) + "|"
                        + messages.columnText(1);
            for (const TrainingJob& job : snapshot.jobs)
                healthKey += "|" + std::to_string(job.id) + toString(job.state);
            if (healthKey != m_healthKey || snapshot.clustersLoaded) {
                snapshot.health = expertHealth(*ws, snapshot.runId).experts;
                snapshot.healthLoaded = true;
            }
        }
        snapshot.totals = queue.totals();
        snapshot.metrics.reserve(metrics.size());
        for (const MetricsRequest& request : metrics)
            snapshot.metrics.emplace_back(request.jobId,
                                          queue.metrics(request.jobId, request.afterStep));
        // Only now: a poll that failed half-way loads the clusters again next time.
        m_loadedRun = snapshot.runId;
        m_healthKey = healthKey;
    } catch (const std::exception& e) {
        snapshot = TrainingSnapshot{};
        snapshot.directory = m_directory;
        snapshot.error = messageOf(e);
        m_workspace.reset(); // reopen next time: the folder may have been repaired
    }
    emit polled(snapshot);
}

void TrainingStore::act(QueueAction action, const std::vector<qint64>& ids)
{
    qint64 changed = 0;
    QString error;
    try {
        Workspace* ws = workspace();
        if (!ws)
            throw Error("no workspace is open");
        TrainingQueue queue(*ws);
        const std::vector<int64_t> jobIds(ids.begin(), ids.end());
        switch (action) {
        case QueueAction::Pause: changed = queue.pause(jobIds); break;
        case QueueAction::Resume: changed = queue.resume(jobIds); break;
        case QueueAction::Cancel: changed = queue.cancel(jobIds); break;
        case QueueAction::Retry: changed = queue.retry(jobIds); break;
        case QueueAction::MoveToFront: changed = queue.moveToFront(jobIds); break;
        case QueueAction::MoveToBack: changed = queue.moveToBack(jobIds); break;
        }
    } catch (const std::exception& e) {
        error = messageOf(e);
    }
    emit acted(int(action), changed, error);
}

void TrainingStore::enqueue(const std::vector<TrainingSpec>& specs, int priority)
{
    QStringList problems;
    qint64 added = 0;
    try {
        Workspace* ws = workspace();
        if (!ws)
            throw Error("no workspace is open");
        TrainingQueue queue(*ws);
        try {
            added = qint64(queue.enqueue(specs, priority).size());
        } catch (const std::exception& e) {
            if (specs.size() <= 1)
                throw;
            // The batch is all or nothing: add what can be added, one by one, and say why
            // the rest was refused.
            for (const TrainingSpec& spec : specs) {
                try {
                    added += qint64(queue.enqueue({spec}, priority).size());
                } catch (const std::exception& refused) {
                    problems << messageOf(refused);
                }
            }
        }
    } catch (const std::exception& e) {
        problems << messageOf(e);
    }
    emit enqueued(added, problems);
}

void CoordinatorRunner::run(const QString& directory, const CoordinatorOptions& options)
{
    QString error;
    try {
        Workspace workspace = Workspace::open(directory.toStdString());
        runTrainingQueue(
            workspace, options,
            [this](const CoordinatorUpdate& update) {
                QStringList events;
                for (const std::string& event : update.events)
                    events << QString::fromStdString(event);
                emit updated(events);
            },
            m_cancel);
    } catch (const std::exception& e) {
        error = messageOf(e);
    } catch (...) {
        error = QCoreApplication::translate("moin::ui::TrainingView", "an unknown error");
    }
    emit finished(error);
}

} // namespace moin::ui
