#pragma once
// The Experts & training view's work off the UI thread: reading and changing the job queue
// (TrainingStore, one SQLite connection on its own thread) and running the coordinator
// (CoordinatorRunner, another thread, blocking in runTrainingQueue until idle or stopped).
#include "moin/cancel.h"
#include "moin/clustering.h"
#include "moin/coordinator.h"
#include "moin/experthealth.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <QMetaType>
#include <QObject>
#include <QString>
#include <QStringList>

#include <optional>
#include <utility>
#include <vector>

namespace moin::ui {

/// What one poll of the queue found.
struct TrainingSnapshot {
    /// Workspace folder it was read from.
    QString directory;
    /// The active clustering run (0: the workspace has none).
    qint64 runId = 0;
    /// True when `clusters` holds the run's clusters (first poll of a run); else it is empty.
    bool clustersLoaded = false;
    std::vector<ClusterInfo> clusters;
    /// The newest job of each cluster of the run.
    std::vector<TrainingJob> jobs;
    /// True when `health` holds the run's expert health (read again only when the run, a
    /// job's state or the recorded messages changed); else it is empty.
    bool healthLoaded = false;
    std::vector<ExpertHealth> health;
    /// Counts over the whole workspace queue.
    QueueTotals totals;
    /// New metric points of the jobs asked for: (job id, points after the step asked for).
    std::vector<std::pair<qint64, std::vector<TrainingMetric>>> metrics;
    /// Why the poll failed, or empty.
    QString error;
};

/// Which metrics a poll should read: points of `jobId` with step > `afterStep`.
struct MetricsRequest {
    qint64 jobId = 0;
    qint64 afterStep = -1;
};

/// A change to queued jobs the view asks for.
enum class QueueAction { Pause, Resume, Cancel, Retry, MoveToFront, MoveToBack };

/// Owns a connection to the shown workspace on its own thread; every call is queued to it and
/// answers with a signal. All members are used on that thread only.
class TrainingStore : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    /// Switches to `directory` (empty: none); the next poll loads its clusters afresh.
    void setDirectory(const QString& directory);
    /// Reads the active run's jobs, the totals and the metrics asked for; emits polled().
    void poll(const std::vector<MetricsRequest>& metrics);
    /// Applies `action` to `ids`; emits acted().
    void act(QueueAction action, const std::vector<qint64>& ids);
    /// Adds the jobs in one transaction; if that is refused (a cluster with too little text,
    /// or one already queued), adds them one by one and lists the refused ones. Emits
    /// enqueued().
    void enqueue(const std::vector<TrainingSpec>& specs, int priority);

signals:
    void polled(const moin::ui::TrainingSnapshot& snapshot);
    /// `changed` jobs were changed; `error` is empty unless the action failed.
    void acted(int action, qint64 changed, const QString& error);
    /// `added` jobs were added; `problems` says why the others were refused.
    void enqueued(qint64 added, const QStringList& problems);

private:
    Workspace* workspace();

    QString m_directory;
    std::optional<Workspace> m_workspace;
    qint64 m_loadedRun = -1; // run whose clusters the view has
    std::string m_healthKey; // what the view's expert health was read from
};

/// Runs runTrainingQueue on its own thread with its own connection; updates go to the UI as
/// queued signals. The cancel token belongs to the owner and outlives the thread.
class CoordinatorRunner : public QObject {
    Q_OBJECT
public:
    explicit CoordinatorRunner(const CancelToken* cancel) : m_cancel(cancel) {}

    /// Blocks until the queue is idle or the token is cancelled; then emits finished().
    void run(const QString& directory, const moin::CoordinatorOptions& options);

signals:
    /// A poll of the coordinator changed something; `events` are lines for people.
    void updated(const QStringList& events);
    /// The coordinator returned; `error` is empty unless it threw.
    void finished(const QString& error);

private:
    const CancelToken* m_cancel;
};

} // namespace moin::ui

Q_DECLARE_METATYPE(moin::ui::TrainingSnapshot)
