#pragma once
// The experts of a clustering run as a table: one row per cluster, with the newest training job
// of that cluster (if any), and the delegates that draw its state badge and progress bar.
#include "moin/clustering.h"
#include "moin/experthealth.h"
#include "moin/training.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QStyledItemDelegate>

#include <optional>
#include <vector>

namespace moin::ui {

/// One row per cluster of a run, in cluster order. Rows are built once per run (setClusters);
/// polls then update their jobs in place (updateJobs), announcing only the rows that changed.
class JobTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        ExpertColumn, ChunksColumn, StateColumn, ProgressColumn, LossColumn, HeldOutColumn,
        BasePplColumn, ExpertPplColumn, SpeedColumn, EtaColumn, AttemptsColumn, ErrorColumn,
        // Expert health (expertHealth); last so that hidden-column settings saved by number
        // keep their meaning, and shown after ExpertPplColumn by the view.
        GainColumn, QuestionsColumn, DistanceColumn,
        ColumnCount
    };
    /// qint64 job id of the row's newest job, 0 if the cluster has none (any column).
    static constexpr int JobIdRole = Qt::UserRole + 1;
    /// int cluster id (any column).
    static constexpr int ClusterRole = Qt::UserRole + 2;
    /// int JobState of the row's job, -1 if none (any column).
    static constexpr int StateRole = Qt::UserRole + 3;
    /// The value columns sort by (numbers as numbers; unknown values last).
    static constexpr int SortRole = Qt::UserRole + 4;
    /// ProgressColumn: QPointF(step, totalSteps).
    static constexpr int ProgressRole = Qt::UserRole + 5;
    /// StateColumn: the badge's colour (QColor).
    static constexpr int BadgeColorRole = Qt::UserRole + 6;
    /// ExpertColumn: the keywords alone (QString), drawn beside the cluster id.
    static constexpr int KeywordsRole = Qt::UserRole + 7;

    /// What a row stands for.
    struct Row {
        ClusterInfo cluster;
        QString keywords; ///< top keywords, joined for display
        std::optional<TrainingJob> job;
        /// The cluster's expert health, once read.
        std::optional<ExpertHealth> health;
    };

    explicit JobTableModel(QObject* parent = nullptr);

    /// Replaces every row by the clusters of `runId` (no jobs yet): one model reset.
    void setClusters(qint64 runId, std::vector<ClusterInfo> clusters);
    /// Removes every row.
    void clear();
    /// Takes the newest job of each cluster (TrainingQueue::latestPerCluster). Rows whose job is
    /// unchanged are left alone; changed rows are announced with dataChanged, in contiguous
    /// ranges; clusters without a job in `jobs` lose theirs. Jobs of clusters the run does not
    /// list get rows of their own, appended. Returns the number of rows that changed.
    int updateJobs(const std::vector<TrainingJob>& jobs);
    /// Takes the expert health of the run's clusters (expertHealth): gain, questions and mean
    /// distance. Changed rows are announced with dataChanged over those columns; clusters not
    /// in `health` keep what they had. Returns the number of rows that changed.
    int updateHealth(const std::vector<ExpertHealth>& health);

    qint64 runId() const { return m_runId; }
    const Row& row(int row) const { return m_rows[size_t(row)]; }
    const std::vector<Row>& rows() const { return m_rows; }
    /// Row of a cluster, or -1.
    int rowOfCluster(int cluster) const { return m_rowOfCluster.value(cluster, -1); }
    /// Rows that have a job.
    int jobCount() const { return m_jobCount; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    /// The state's name for people ("Queued", "Running", ...; "Not trained" without a job), and
    /// "Pausing…" / "Cancelling…" for a running job with a pending request.
    static QString stateText(const std::optional<TrainingJob>& job);
    static QColor stateColor(const std::optional<TrainingJob>& job);
    /// "+12.5 %" / "−3.0 %" (empty for NaN): an expert's gain as a percentage.
    static QString gainText(double gain);
    /// Seconds until a running job is done, from its speed; negative when unknown.
    static double etaSeconds(const TrainingJob& job);
    /// "45 s", "3 min 05 s", "2 h 10 min".
    static QString formatDuration(double seconds);

private:
    /// Emits dataChanged over `first`..`last` columns for each run of adjacent changed rows;
    /// returns the rows changed.
    int announce(const std::vector<char>& changed, int first, int last);
    QVariant displayData(const Row& row, int column) const;
    QVariant sortData(const Row& row, int column) const;
    QString tooltip(const Row& row, int column) const;

    qint64 m_runId = 0;
    std::vector<Row> m_rows;
    QHash<int, int> m_rowOfCluster;
    int m_jobCount = 0;
};

/// Draws JobTableModel's state as a rounded, coloured badge.
class StateBadgeDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

/// Draws JobTableModel's progress (step of total) as a slim bar with the numbers beside it.
class ProgressBarDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
};

/// Draws the expert column: the cluster id in bold, then its keywords in a muted colour.
class ExpertDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
};

} // namespace moin::ui
