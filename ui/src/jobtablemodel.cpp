#include "jobtablemodel.h"

#include <QApplication>
#include <QColor>
#include <QDateTime>
#include <QLocale>
#include <QPainter>
#include <QPainterPath>
#include <QPointF>

#include <cmath>
#include <limits>

namespace moin::ui {

namespace {
/// Keywords shown in the expert column; the tooltip has all of them.
constexpr int kShownKeywords = 3;
/// Sorts after every real value (unknown losses, speeds and times go last).
constexpr double kUnknownSort = std::numeric_limits<double>::max();

bool known(double value) { return std::isfinite(value); }

bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

/// Whether anything the table shows differs between two versions of a job.
bool sameJob(const TrainingJob& a, const TrainingJob& b)
{
    return a.id == b.id && a.state == b.state && a.request == b.request && a.step == b.step
           && a.totalSteps == b.totalSteps && same(a.loss, b.loss)
           && same(a.heldOutLoss, b.heldOutLoss) && same(a.tokensPerSecond, b.tokensPerSecond)
           && same(a.basePerplexity, b.basePerplexity)
           && same(a.expertPerplexity, b.expertPerplexity) && a.attempts == b.attempts
           && a.maxAttempts == b.maxAttempts && a.error == b.error && a.priority == b.priority
           && a.position == b.position && a.device == b.device && a.workerPid == b.workerPid
           && a.startedAt == b.startedAt && a.finishedAt == b.finishedAt
           && a.adapterPath == b.adapterPath;
}

QString number(double value, int decimals) { return QLocale().toString(value, 'f', decimals); }

QString perplexityText(double value)
{
    return known(value) ? number(value, value < 100 ? 2 : 1) : QString();
}

QString firstLine(const std::string& text)
{
    const QString all = QString::fromStdString(text).trimmed();
    const qsizetype end = all.indexOf(QLatin1Char('\n'));
    return end < 0 ? all : all.left(end) + QStringLiteral(" …");
}

/// The muted text colour of a palette: between its text and its background.
QColor mutedColor(const QPalette& palette, QPalette::ColorRole text = QPalette::Text,
                  QPalette::ColorRole paper = QPalette::Base)
{
    const QColor ink = palette.color(text);
    const QColor back = palette.color(paper);
    return QColor((ink.red() * 55 + back.red() * 45) / 100,
                  (ink.green() * 55 + back.green() * 45) / 100,
                  (ink.blue() * 55 + back.blue() * 45) / 100);
}
} // namespace

JobTableModel::JobTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void JobTableModel::setClusters(qint64 runId, std::vector<ClusterInfo> clusters)
{
    std::sort(clusters.begin(), clusters.end(),
              [](const ClusterInfo& a, const ClusterInfo& b) { return a.cluster < b.cluster; });
    beginResetModel();
    m_runId = runId;
    m_rows.clear();
    m_rowOfCluster.clear();
    m_jobCount = 0;
    m_rows.reserve(clusters.size());
    for (ClusterInfo& cluster : clusters) {
        QStringList words;
        for (size_t i = 0; i < cluster.keywords.size() && i < size_t(kShownKeywords); ++i)
            words << QString::fromStdString(cluster.keywords[i]);
        m_rowOfCluster.insert(cluster.cluster, int(m_rows.size()));
        m_rows.push_back(
            {std::move(cluster), words.join(QStringLiteral(", ")), std::nullopt, std::nullopt});
    }
    endResetModel();
}

void JobTableModel::clear() { setClusters(0, {}); }

int JobTableModel::updateJobs(const std::vector<TrainingJob>& jobs)
{
    std::vector<char> seen(m_rows.size(), 0);
    std::vector<char> changed(m_rows.size(), 0);
    std::vector<const TrainingJob*> strays; // clusters the run does not list
    for (const TrainingJob& job : jobs) {
        const int r = rowOfCluster(job.cluster);
        if (r < 0) {
            strays.push_back(&job);
            continue;
        }
        seen[size_t(r)] = 1;
        Row& row = m_rows[size_t(r)];
        if (!row.job || !sameJob(*row.job, job)) {
            row.job = job;
            changed[size_t(r)] = 1;
        }
    }
    for (size_t r = 0; r < m_rows.size(); ++r) {
        if (!seen[r] && m_rows[r].job) {
            m_rows[r].job.reset();
            changed[r] = 1;
        }
    }

    int changedRows = announce(changed, 0, ColumnCount - 1);

    if (!strays.empty()) {
        const int first = int(m_rows.size());
        beginInsertRows({}, first, first + int(strays.size()) - 1);
        for (const TrainingJob* job : strays) {
            ClusterInfo cluster;
            cluster.cluster = job->cluster;
            m_rowOfCluster.insert(job->cluster, int(m_rows.size()));
            m_rows.push_back({cluster, QString(), *job, std::nullopt});
        }
        endInsertRows();
        changedRows += int(strays.size());
    }

    m_jobCount = 0;
    for (const Row& row : m_rows)
        m_jobCount += row.job ? 1 : 0;
    return changedRows;
}

int JobTableModel::announce(const std::vector<char>& changed, int first, int last)
{
    int changedRows = 0;
    // One dataChanged per run of adjacent changed rows: a poll that changes the few running
    // jobs of 5,000 costs a few small repaints, not a reset.
    for (size_t r = 0; r < changed.size();) {
        if (!changed[r]) {
            ++r;
            continue;
        }
        size_t end = r;
        while (end + 1 < changed.size() && changed[end + 1])
            ++end;
        changedRows += int(end - r + 1);
        emit dataChanged(index(int(r), first), index(int(end), last));
        r = end + 1;
    }
    return changedRows;
}

int JobTableModel::updateHealth(const std::vector<ExpertHealth>& health)
{
    std::vector<char> changed(m_rows.size(), 0);
    for (const ExpertHealth& h : health) {
        const int r = rowOfCluster(h.cluster);
        if (r < 0)
            continue;
        std::optional<ExpertHealth>& old = m_rows[size_t(r)].health;
        if (!old || !same(old->gain, h.gain) || old->chatQuestions != h.chatQuestions
            || old->apiQuestions != h.apiQuestions || !same(old->meanDistance, h.meanDistance)) {
            old = h;
            changed[size_t(r)] = 1;
        }
    }
    return announce(changed, GainColumn, DistanceColumn);
}

QString JobTableModel::gainText(double gain)
{
    if (!known(gain))
        return {};
    return tr("%1%2 %").arg(gain < 0 ? QStringLiteral("−") : QStringLiteral("+"),
                            number(std::abs(gain) * 100, 1));
}

int JobTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int JobTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString JobTableModel::stateText(const std::optional<TrainingJob>& job)
{
    if (!job)
        return tr("Not trained");
    if (job->state == JobState::Running && job->request == "pause")
        return tr("Pausing…");
    if (job->state == JobState::Running && job->request == "cancel")
        return tr("Cancelling…");
    switch (job->state) {
    case JobState::Queued: return tr("Queued");
    case JobState::Running: return tr("Running");
    case JobState::Paused: return tr("Paused");
    case JobState::Done: return tr("Done");
    case JobState::Failed: return tr("Failed");
    case JobState::Cancelled: return tr("Cancelled");
    }
    return {};
}

QColor JobTableModel::stateColor(const std::optional<TrainingJob>& job)
{
    if (!job)
        return QColor(0x8c, 0x95, 0x9f);
    switch (job->state) {
    case JobState::Queued: return QColor(0x57, 0x60, 0x6a);
    case JobState::Running: return QColor(0x09, 0x69, 0xda);
    case JobState::Paused: return QColor(0x9a, 0x67, 0x00);
    case JobState::Done: return QColor(0x1a, 0x7f, 0x37);
    case JobState::Failed: return QColor(0xcf, 0x22, 0x2e);
    case JobState::Cancelled: return QColor(0x6e, 0x77, 0x81);
    }
    return {};
}

double JobTableModel::etaSeconds(const TrainingJob& job)
{
    if (job.state != JobState::Running || job.totalSteps <= 0)
        return -1;
    const int64_t remaining = std::max<int64_t>(0, job.totalSteps - job.step);
    const int64_t tokensPerStep = job.spec.tokensPerStep();
    if (known(job.tokensPerSecond) && job.tokensPerSecond > 0 && tokensPerStep > 0)
        return double(remaining) * double(tokensPerStep) / job.tokensPerSecond;
    // No speed yet: extrapolate from the time since the start.
    const QDateTime started = QDateTime::fromString(QString::fromStdString(job.startedAt),
                                                    Qt::ISODateWithMs);
    if (started.isValid() && job.step > 0) {
        const double elapsed = double(started.msecsTo(QDateTime::currentDateTimeUtc())) / 1000;
        if (elapsed > 0)
            return elapsed / double(job.step) * double(remaining);
    }
    return -1;
}

QString JobTableModel::formatDuration(double seconds)
{
    if (!(seconds >= 0))
        return {};
    const qint64 s = qint64(std::llround(seconds));
    if (s < 60)
        return tr("%1 s").arg(s);
    if (s < 3600)
        return tr("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    if (s < 86400)
        return tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
    return tr("%1 d %2 h").arg(s / 86400).arg((s % 86400) / 3600);
}

QVariant JobTableModel::displayData(const Row& row, int column) const
{
    const std::optional<TrainingJob>& job = row.job;
    switch (column) {
    case ExpertColumn:
        return row.keywords.isEmpty()
                   ? tr("#%1").arg(row.cluster.cluster)
                   : tr("#%1  %2").arg(row.cluster.cluster).arg(row.keywords);
    case ChunksColumn: return QLocale().toString(qint64(row.cluster.size));
    case StateColumn: return stateText(job);
    case ProgressColumn:
        if (!job)
            return {};
        return tr("%1 / %2").arg(QLocale().toString(qint64(job->step)),
                                 QLocale().toString(qint64(job->totalSteps)));
    case LossColumn: return job && known(job->loss) ? number(job->loss, 3) : QString();
    case HeldOutColumn:
        return job && known(job->heldOutLoss) ? number(job->heldOutLoss, 3) : QString();
    case BasePplColumn: return job ? perplexityText(job->basePerplexity) : QString();
    case ExpertPplColumn: return job ? perplexityText(job->expertPerplexity) : QString();
    case SpeedColumn:
        return job && known(job->tokensPerSecond) && job->tokensPerSecond > 0
                   ? QLocale().toString(qint64(std::llround(job->tokensPerSecond)))
                   : QString();
    case EtaColumn: return job ? formatDuration(etaSeconds(*job)) : QString();
    case AttemptsColumn:
        return job && job->attempts > 0 ? tr("%1 of %2").arg(job->attempts).arg(job->maxAttempts)
                                        : QString();
    case ErrorColumn: return job ? firstLine(job->error) : QString();
    case GainColumn: return row.health ? gainText(row.health->gain) : QString();
    case QuestionsColumn:
        return row.health ? QLocale().toString(qint64(row.health->questions())) : QString();
    case DistanceColumn:
        return row.health && known(row.health->meanDistance)
                   ? number(row.health->meanDistance, 3)
                   : QString();
    }
    return {};
}

QVariant JobTableModel::sortData(const Row& row, int column) const
{
    const std::optional<TrainingJob>& job = row.job;
    const auto value = [&](double v) { return QVariant(known(v) ? v : kUnknownSort); };
    switch (column) {
    case ExpertColumn: return row.cluster.cluster;
    case ChunksColumn: return qint64(row.cluster.size);
    case StateColumn: return job ? int(job->state) : -1;
    case ProgressColumn:
        return job && job->totalSteps > 0 ? double(job->step) / double(job->totalSteps) : -1.0;
    case LossColumn: return value(job ? job->loss : NAN);
    case HeldOutColumn: return value(job ? job->heldOutLoss : NAN);
    case BasePplColumn: return value(job ? job->basePerplexity : NAN);
    case ExpertPplColumn: return value(job ? job->expertPerplexity : NAN);
    case SpeedColumn: return value(job ? job->tokensPerSecond : NAN);
    case EtaColumn: {
        const double eta = job ? etaSeconds(*job) : -1;
        return eta >= 0 ? eta : kUnknownSort;
    }
    case AttemptsColumn: return job ? job->attempts : -1;
    case ErrorColumn: return job ? QString::fromStdString(job->error) : QString();
    case GainColumn: return value(row.health ? row.health->gain : NAN);
    case QuestionsColumn: return row.health ? qint64(row.health->questions()) : qint64(-1);
    case DistanceColumn: return value(row.health ? row.health->meanDistance : NAN);
    }
    return {};
}

QString JobTableModel::tooltip(const Row& row, int column) const
{
    const std::optional<TrainingJob>& job = row.job;
    switch (column) {
    case ExpertColumn:
    case ChunksColumn: {
        QStringList words;
        for (const std::string& word : row.cluster.keywords)
            words << QString::fromStdString(word);
        QString text = tr("Cluster %1 · %2 chunks").arg(row.cluster.cluster)
                           .arg(QLocale().toString(qint64(row.cluster.size)));
        if (!words.isEmpty())
            text += QLatin1Char('\n') + tr("Keywords: %1").arg(words.join(QStringLiteral(", ")));
        if (job && !job->adapterPath.empty())
            text += QLatin1Char('\n') + tr("Expert: %1").arg(QString::fromStdString(
                                                             job->adapterPath));
        return text;
    }
    case StateColumn: {
        if (!job)
            return tr("No expert has been trained for this cluster yet");
        QStringList lines{tr("Job %1: %2").arg(job->id).arg(stateText(job))};
        if (!job->device.empty())
            lines << tr("Device: %1").arg(QString::fromStdString(job->device));
        if (job->workerPid > 0)
            lines << tr("Worker process %1").arg(job->workerPid);
        if (!job->startedAt.empty())
            lines << tr("Started %1").arg(QString::fromStdString(job->startedAt));
        if (!job->finishedAt.empty())
            lines << tr("Finished %1").arg(QString::fromStdString(job->finishedAt));
        if (job->priority != 0)
            lines << tr("Priority %1").arg(job->priority);
        if (!job->error.empty())
            lines << QString::fromStdString(job->error);
        return lines.join(QLatin1Char('\n'));
    }
    case ProgressColumn:
        return job ? tr("Optimizer step %1 of %2").arg(job->step).arg(job->totalSteps)
                   : QString();
    case LossColumn: return tr("Latest training loss (cross-entropy, nats per token)");
    case HeldOutColumn:
        return tr("Latest loss on the cluster's held-out chunks, which the expert never "
                  "trains on");
    case BasePplColumn:
        return tr("Perplexity of the base model alone on the cluster's held-out chunks");
    case ExpertPplColumn:
        return tr("Perplexity of the base with this expert on the cluster's held-out chunks; "
                  "lower is better; the Gain column compares it with the base");
    case SpeedColumn: return tr("Training tokens per second");
    case EtaColumn: return tr("Time left at the current speed");
    case AttemptsColumn:
        return tr("Starts so far (a resumed job counts again) and the limit before the job is "
                  "failed");
    case ErrorColumn: return job ? QString::fromStdString(job->error) : QString();
    case GainColumn:
        return tr("Share of the base's held-out perplexity the expert removes (1 − expert / "
                  "base); at or below zero the expert does not help its cluster");
    case QuestionsColumn:
        if (!row.health)
            return {};
        return tr("Questions the router sent to this cluster: %L1 from chat, %L2 through the "
                  "API")
            .arg(qint64(row.health->chatQuestions))
            .arg(qint64(row.health->apiQuestions));
    case DistanceColumn:
        return tr("Mean distance of those questions to the cluster's centre (embedding space); "
                  "far questions fit the expert less well");
    }
    return {};
}

QVariant JobTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_rows.size()))
        return {};
    const Row& row = m_rows[size_t(index.row())];
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole: return displayData(row, column);
    case Qt::ToolTipRole: {
        const QString text = tooltip(row, column);
        return text.isEmpty() ? QVariant() : QVariant(text);
    }
    case Qt::TextAlignmentRole: {
        const bool left = column == ExpertColumn || column == StateColumn
                          || column == ErrorColumn || column == ProgressColumn;
        return QVariant::fromValue((left ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
    }
    case Qt::ForegroundRole:
        if (column == ExpertPplColumn && row.job && known(row.job->expertPerplexity)
            && known(row.job->basePerplexity)) {
            return row.job->expertPerplexity <= row.job->basePerplexity
                       ? QColor(0x1a, 0x7f, 0x37)
                       : QColor(0xcf, 0x22, 0x2e);
        }
        if (column == ErrorColumn)
            return QColor(0xcf, 0x22, 0x2e);
        if (column == GainColumn && row.health && known(row.health->gain))
            return row.health->gain > 0 ? QColor(0x1a, 0x7f, 0x37) : QColor(0xcf, 0x22, 0x2e);
        if (column == QuestionsColumn && row.health && row.health->questions() == 0)
            return QColor(0x8a, 0x8a, 0x8a);
        return {};
    case JobIdRole: return row.job ? qint64(row.job->id) : qint64(0);
    case ClusterRole: return row.cluster.cluster;
    case StateRole: return row.job ? int(row.job->state) : -1;
    case SortRole: return sortData(row, column);
    case ProgressRole:
        return row.job ? QPointF(double(row.job->step), double(row.job->totalSteps)) : QVariant();
    case BadgeColorRole: return stateColor(row.job);
    case KeywordsRole: return row.keywords;
    }
    return {};
}

QVariant JobTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case ExpertColumn: return tr("Expert");
        case ChunksColumn: return tr("Chunks");
        case StateColumn: return tr("State");
        case ProgressColumn: return tr("Progress");
        case LossColumn: return tr("Loss");
        case HeldOutColumn: return tr("Held-out");
        case BasePplColumn: return tr("Base ppl");
        case ExpertPplColumn: return tr("Expert ppl");
        case SpeedColumn: return tr("Tokens/s");
        case EtaColumn: return tr("ETA");
        case AttemptsColumn: return tr("Attempts");
        case ErrorColumn: return tr("Error");
        case GainColumn: return tr("Gain");
        case QuestionsColumn: return tr("Questions");
        case DistanceColumn: return tr("Distance");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case ExpertColumn: return tr("The cluster the expert learns, and its top keywords");
        case ChunksColumn: return tr("Chunks of the corpus in the cluster");
        case StateColumn: return tr("Where the cluster's newest training job is");
        case ProgressColumn: return tr("Optimizer steps done of the job's total");
        case LossColumn: return tr("Latest training loss (nats per token)");
        case HeldOutColumn: return tr("Latest loss on the held-out chunks (nats per token)");
        case BasePplColumn: return tr("Held-out perplexity of the base model alone");
        case ExpertPplColumn: return tr("Held-out perplexity with the expert; lower is better");
        case SpeedColumn: return tr("Training tokens per second");
        case EtaColumn: return tr("Time left at the current speed");
        case AttemptsColumn: return tr("Starts so far and the limit before the job fails");
        case ErrorColumn: return tr("Why the job failed; hover for the whole message");
        case GainColumn:
            return tr("Share of the base's held-out perplexity the expert removes");
        case QuestionsColumn:
            return tr("Recorded questions (chat and API) the router sent to the cluster");
        case DistanceColumn:
            return tr("Mean distance of the routed questions to the cluster's centre");
        }
    } else if (role == Qt::TextAlignmentRole) {
        const bool left = section == ExpertColumn || section == StateColumn
                          || section == ErrorColumn || section == ProgressColumn;
        return QVariant::fromValue((left ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
    }
    return {};
}

// ---------------------------------------------------------------------------------------------

void StateBadgeDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                               const QModelIndex& index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const QString text = opt.text;
    opt.text.clear();
    const QWidget* widget = opt.widget;
    QStyle* style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

    const QColor color = index.data(JobTableModel::BadgeColorRole).value<QColor>();
    const bool none = index.data(JobTableModel::StateRole).toInt() < 0;
    QFont font = opt.font;
    font.setPointSizeF(font.pointSizeF() * 0.92);
    font.setBold(!none);
    const QFontMetrics metrics(font);
    const int height = metrics.height() + 4;
    const bool running = index.data(JobTableModel::StateRole).toInt() == int(JobState::Running);
    const int width = metrics.horizontalAdvance(text) + 18 + (running ? 10 : 0);
    const QRectF badge(opt.rect.left() + 6, opt.rect.center().y() - height / 2.0 + 0.5,
                       std::min(width, opt.rect.width() - 10), height);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    if (none) {
        painter->setPen(QPen(color, 1, Qt::DashLine));
        painter->setBrush(Qt::NoBrush);
    } else {
        // Opaque, so that the badge reads the same on a selected row.
        const QColor paper = Qt::white;
        const QColor fill((color.red() + 7 * paper.red()) / 8,
                          (color.green() + 7 * paper.green()) / 8,
                          (color.blue() + 7 * paper.blue()) / 8);
        painter->setPen(QPen(color.lighter(140), 1));
        painter->setBrush(fill);
    }
    painter->drawRoundedRect(badge, height / 2.0, height / 2.0);
    QRectF textRect = badge.adjusted(8, 0, -8, 0);
    if (index.data(JobTableModel::StateRole).toInt() == int(JobState::Running)) {
        // A dot in front of the running state: it is live.
        const double radius = 3;
        painter->setPen(Qt::NoPen);
        painter->setBrush(color);
        painter->drawEllipse(QPointF(textRect.left() + radius, badge.center().y()), radius,
                             radius);
        textRect.setLeft(textRect.left() + 2 * radius + 4);
    }
    painter->setFont(font);
    painter->setPen(none ? color : color.darker(115));
    painter->drawText(textRect, Qt::AlignCenter,
                      metrics.elidedText(text, Qt::ElideRight, int(textRect.width())));
    painter->restore();
}

QSize StateBadgeDelegate::sizeHint(const QStyleOptionViewItem& option,
                                   const QModelIndex& index) const
{
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    size.setWidth(size.width() + 24);
    return size;
}

void ProgressBarDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                                const QModelIndex& index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const QString text = opt.text;
    opt.text.clear();
    const QWidget* widget = opt.widget;
    QStyle* style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);
    const QVariant progress = index.data(JobTableModel::ProgressRole);
    if (!progress.isValid())
        return;
    if (index.data(JobTableModel::StateRole).toInt() == int(JobState::Failed)) {
        // Why it failed matters more than how far it got: the reason, where the eye is.
        const QString error =
            index.sibling(index.row(), JobTableModel::ErrorColumn).data().toString();
        if (!error.isEmpty()) {
            painter->save();
            const bool selected = opt.state & QStyle::State_Selected;
            painter->setPen(selected
                                ? opt.palette.color(QPalette::HighlightedText)
                                : index.data(JobTableModel::BadgeColorRole).value<QColor>());
            const QRect area = opt.rect.adjusted(6, 0, -4, 0);
            painter->drawText(area, Qt::AlignLeft | Qt::AlignVCenter,
                              QFontMetrics(opt.font).elidedText(error, Qt::ElideRight,
                                                                area.width()));
            painter->restore();
            return;
        }
    }
    const QPointF stepOfTotal = progress.toPointF();
    const double fraction =
        stepOfTotal.y() > 0 ? std::clamp(stepOfTotal.x() / stepOfTotal.y(), 0.0, 1.0) : 0.0;
    const QColor color = index.data(JobTableModel::BadgeColorRole).value<QColor>();

    const QFontMetrics metrics(opt.font);
    const int textWidth = std::min(metrics.horizontalAdvance(text) + 8, opt.rect.width() / 2);
    const QRect area = opt.rect.adjusted(6, 0, -4, 0);
    const QRectF track(area.left(), area.center().y() - 3, area.width() - textWidth - 4, 6);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(Qt::NoPen);
    QColor trackColor = opt.palette.color(QPalette::Text);
    trackColor.setAlpha(28);
    painter->setBrush(trackColor);
    painter->drawRoundedRect(track, 3, 3);
    if (fraction > 0) {
        painter->setBrush(color);
        painter->drawRoundedRect(QRectF(track.left(), track.top(),
                                        std::max(6.0, track.width() * fraction), track.height()),
                                 3, 3);
    }
    const bool selected = opt.state & QStyle::State_Selected;
    painter->setPen(selected ? opt.palette.color(QPalette::HighlightedText)
                             : mutedColor(opt.palette));
    painter->setFont(opt.font);
    painter->drawText(QRect(int(track.right()) + 4, area.top(), textWidth, area.height()),
                      Qt::AlignRight | Qt::AlignVCenter, text);
    painter->restore();
}

void ExpertDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                           const QModelIndex& index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    opt.text.clear();
    const QWidget* widget = opt.widget;
    QStyle* style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

    const QString id = QStringLiteral("#%1").arg(index.data(JobTableModel::ClusterRole).toInt());
    const QString keywords = index.data(JobTableModel::KeywordsRole).toString();
    const bool selected = opt.state & QStyle::State_Selected;
    QFont bold = opt.font;
    bold.setBold(true);
    const QFontMetrics boldMetrics(bold);
    const QRect area = opt.rect.adjusted(6, 0, -4, 0);
    const int idWidth = std::max(boldMetrics.horizontalAdvance(id),
                                 boldMetrics.horizontalAdvance(QStringLiteral("#000"))) + 8;

    painter->save();
    painter->setFont(bold);
    painter->setPen(opt.palette.color(selected ? QPalette::HighlightedText : QPalette::Text));
    painter->drawText(QRect(area.left(), area.top(), idWidth, area.height()),
                      Qt::AlignLeft | Qt::AlignVCenter, id);
    painter->setFont(opt.font);
    painter->setPen(selected ? opt.palette.color(QPalette::HighlightedText)
                             : mutedColor(opt.palette));
    const QRect rest(area.left() + idWidth, area.top(), area.width() - idWidth, area.height());
    painter->drawText(rest, Qt::AlignLeft | Qt::AlignVCenter,
                      QFontMetrics(opt.font).elidedText(keywords, Qt::ElideRight, rest.width()));
    painter->restore();
}

} // namespace moin::ui
