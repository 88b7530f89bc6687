#include "specialisationpanel.h"
#include "widgetstyle.h"

#include "moin/clustering.h"
#include "moin/error.h"
#include "moin/ui/appsettings.h"
#include "moin/workspace.h"

#include <qcustomplot.h>

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QStyle>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>

namespace moin::ui {

namespace {

enum Column { ExpertColumn, OwnColumn, BestOtherColumn, MarginColumn, ColumnCount };

/// Red for help lost, white for none, blue for help gained (ColorBrewer's RdBu, which reads
/// for colour-blind people too); NaN (not scored) is transparent.
QCPColorGradient divergingGradient()
{
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.0, QColor(0xb2, 0x18, 0x2b));
    gradient.setColorStopAt(0.25, QColor(0xef, 0x8a, 0x62));
    gradient.setColorStopAt(0.5, QColor(0xf7, 0xf7, 0xf7));
    gradient.setColorStopAt(0.75, QColor(0x67, 0xa9, 0xcf));
    gradient.setColorStopAt(1.0, QColor(0x21, 0x66, 0xac));
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    return gradient;
}

/// "+12.3 %" (fractions as percent, locale-formatted).
QString percentText(double fraction)
{
    if (!std::isfinite(fraction))
        return QStringLiteral("–");
    const QString number = QLocale().toString(100 * std::abs(fraction), 'f', 1);
    return (fraction < 0 ? QStringLiteral("−") : QStringLiteral("+")) + number
           + QStringLiteral(" %");
}

/// A table cell that sorts by the number in Qt::UserRole + 1, not by its text.
class SortByValueItem : public QTableWidgetItem {
public:
    bool operator<(const QTableWidgetItem& other) const override
    {
        return data(Qt::UserRole + 1).toDouble() < other.data(Qt::UserRole + 1).toDouble();
    }
};

/// A table cell that sorts by `value` and shows `text`.
QTableWidgetItem* numberItem(double value, const QString& text)
{
    auto* item = new SortByValueItem;
    item->setData(Qt::DisplayRole, text);
    item->setData(Qt::UserRole + 1, std::isfinite(value) ? value : -1e300);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

std::shared_ptr<SpecialisationResult> work(const QString& directory, bool compute,
                                           const QString& device,
                                           const std::shared_ptr<CancelToken>& cancel,
                                           const std::function<void(int, int)>& onProgress)
{
    auto result = std::make_shared<SpecialisationResult>();
    result->directory = directory;
    result->thread = QThread::currentThread();
    try {
        Workspace workspace = Workspace::open(directory.toStdString());
        SpecialisationOptions options;
        options.compute = compute;
        options.device = device.toStdString();
        result->matrix = computeSpecialisation(workspace, options, onProgress, cancel.get());
        result->advice = adviseSpecialisation(workspace, result->matrix);
        std::vector<float> centroids;
        int64_t k = 0, d = 0;
        try {
            VectorFile file = readRunCentroids(workspace, result->matrix.runId);
            centroids = std::move(file.values);
            k = file.rows;
            d = file.cols;
        } catch (const Error&) {
            // Without centroids the heatmap keeps cluster order.
        }
        result->order = neighbourOrder(result->matrix.clusters, centroids, d);
        // Rows: the experts in the columns' order, so that the diagonal runs from top left to
        // bottom right; an expert without a column of its own goes last.
        const auto& experts = result->matrix.experts;
        auto hasExpert = [&](int cluster) {
            return std::any_of(experts.begin(), experts.end(),
                               [&](const ExpertSpecialisation& e) { return e.expert == cluster; });
        };
        for (int cluster : result->order) {
            if (hasExpert(cluster))
                result->rows.push_back(cluster);
        }
        for (const ExpertSpecialisation& e : experts) {
            if (std::find(result->order.begin(), result->order.end(), e.expert)
                == result->order.end())
                result->rows.push_back(e.expert);
        }
    } catch (const std::exception& e) {
        result->error = QString::fromUtf8(e.what());
    }
    return result;
}

} // namespace

SpecialisationPanel::SpecialisationPanel(QWidget* parent) : QWidget(parent)
{
    auto* title = new QLabel(tr("Do the experts specialise?"));
    title->setFont(scaledFont(font(), 1.1, true));
    auto* explanation = mutedLabel(
        tr("Each expert scored on every cluster's held-out chunks: blue where it lowers the "
           "base's perplexity, red where it raises it. An expert should be bluest on its own "
           "cluster (outlined); its margin is that reduction minus its best one elsewhere."));
    explanation->setWordWrap(true);

    m_computeButton = new QPushButton(tr("Compute"));
    m_computeButton->setObjectName("computeSpecialisation");
    m_computeButton->setToolTip(
        tr("Score every trained expert and the base on every cluster's held-out chunks (off "
           "the interface; the results are kept in the workspace and only what changed is "
           "scored again)"));
    m_cancelButton = new QPushButton(tr("Cancel"));
    m_cancelButton->setObjectName("cancelSpecialisation");
    m_cancelButton->setToolTip(tr("Stop after the perplexity being computed; what is done is "
                                  "kept"));
    m_progress = new QProgressBar;
    m_progress->setObjectName("specialisationProgress");
    m_progress->setTextVisible(true);
    m_progress->setMaximumWidth(260);
    m_status = mutedLabel();
    m_status->setObjectName("specialisationStatus");
    m_status->setWordWrap(true);
    connect(m_computeButton, &QPushButton::clicked, this, [this] { compute(); });
    connect(m_cancelButton, &QPushButton::clicked, this, &SpecialisationPanel::cancel);

    auto* controls = new QHBoxLayout;
    controls->addWidget(m_computeButton);
    controls->addWidget(m_progress);
    controls->addWidget(m_cancelButton);
    controls->addWidget(m_status, 1);

    m_plot = new QCustomPlot;
    m_plot->setObjectName("specialisationPlot");
    m_plot->setMinimumSize(260, 220);
    m_plot->setBackground(palette().color(QPalette::Base));
    m_plot->setMouseTracking(true);
    m_plot->axisRect()->setupFullAxesBox(true);
    m_plot->xAxis->setLabel(tr("Cluster (held-out chunks)"));
    m_plot->yAxis->setLabel(tr("Expert"));
    m_plot->yAxis->setRangeReversed(true);
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis, m_plot->xAxis2, m_plot->yAxis2}) {
        axis->grid()->setVisible(false);
        axis->setSubTicks(false);
    }
    m_colourMap = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_colourMap->setInterpolate(false);
    m_colourMap->setTightBoundary(false);
    m_colourMap->setGradient(divergingGradient());
    auto* scale = new QCPColorScale(m_plot);
    scale->setType(QCPAxis::atRight);
    scale->axis()->setLabel(tr("Perplexity reduction against the base"));
    scale->axis()->setNumberFormat(QStringLiteral("f"));
    m_plot->plotLayout()->addElement(0, 1, scale);
    m_colourMap->setColorScale(scale);
    // After setColorScale: the scale hands its own (default) gradient to the map.
    scale->setGradient(divergingGradient());
    scale->axis()->setNumberPrecision(2);
    auto* marginGroup = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, marginGroup);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, marginGroup);
    connect(m_plot, &QCustomPlot::mouseMove, this, &SpecialisationPanel::showCellToolTip);

    m_table = new QTableWidget(0, ColumnCount);
    m_table->setObjectName("marginTable");
    m_table->setHorizontalHeaderLabels(
        {tr("Expert"), tr("Own cluster"), tr("Best other"), tr("Margin")});
    m_table->horizontalHeaderItem(OwnColumn)
        ->setToolTip(tr("Perplexity reduction against the base on the expert's own cluster"));
    m_table->horizontalHeaderItem(BestOtherColumn)
        ->setToolTip(tr("Its largest reduction on any other cluster, and which"));
    m_table->horizontalHeaderItem(MarginColumn)
        ->setToolTip(tr("Own reduction minus the best other one, in percentage points: "
                        "negative when the expert helps another cluster more than its own"));
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSortingEnabled(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);

    m_advice = new QLabel;
    m_advice->setObjectName("specialisationAdvice");
    m_advice->setWordWrap(true);
    m_advice->setTextFormat(Qt::RichText);
    m_advice->setAlignment(Qt::AlignTop | Qt::AlignLeft);

    auto* side = new QWidget;
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    sideLayout->addWidget(m_table, 3);
    sideLayout->addWidget(m_advice, 2);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(m_plot);
    splitter->addWidget(side);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 6, 0, 0);
    layout->addWidget(title);
    layout->addWidget(explanation);
    layout->addLayout(controls);
    layout->addWidget(splitter, 1);

    connect(&m_watcher, &QFutureWatcher<std::shared_ptr<SpecialisationResult>>::finished, this,
            &SpecialisationPanel::onFinished);
    showResult();
    updateControls();
}

SpecialisationPanel::~SpecialisationPanel()
{
    if (m_cancel)
        m_cancel->cancel();
    m_watcher.waitForFinished();
}

void SpecialisationPanel::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    reload(); // an expert may have finished (or been retrained) since the last look
}

void SpecialisationPanel::setDirectory(const QString& directory)
{
    if (directory == m_directory)
        return;
    if (m_cancel)
        m_cancel->cancel();
    m_directory = directory;
    m_result.reset();
    showResult();
    reload();
}

void SpecialisationPanel::reload()
{
    if (!m_directory.isEmpty() && !m_computing)
        start(false);
    updateControls();
}

bool SpecialisationPanel::compute()
{
    if (m_directory.isEmpty() || m_computing)
        return false;
    start(true);
    return true;
}

void SpecialisationPanel::cancel()
{
    if (m_cancel && m_computing) {
        m_cancel->cancel();
        m_status->setText(tr("Cancelling…"));
        m_cancelButton->setEnabled(false);
    }
}

void SpecialisationPanel::start(bool compute)
{
    if (m_watcher.isRunning()) {
        // A read-back is running: compute once it is in (a computation never overlaps).
        m_computeRequested = m_computeRequested || compute;
        return;
    }
    m_cancel = std::make_shared<CancelToken>();
    m_computing = compute;
    const int generation = ++m_generation;
    QPointer<SpecialisationPanel> self(this);
    auto onProgress = [self, generation](int done, int total) {
        // Queued to the UI thread; the destructor waits for the work, so `self` outlives it.
        QMetaObject::invokeMethod(
            self.data(),
            [self, generation, done, total] {
                if (!self || generation != self->m_generation)
                    return;
                self->m_progress->setRange(0, total);
                self->m_progress->setValue(done);
                emit self->progressed(done, total);
            },
            Qt::QueuedConnection);
    };
    if (compute) {
        m_progress->setRange(0, 0); // busy until the base is loaded and the first cell is in
        m_status->setText(tr("Loading the base model and the held-out chunks…"));
    }
    m_watcher.setFuture(QtConcurrent::run(work, m_directory, compute, AppSettings::device(),
                                          m_cancel, std::function<void(int, int)>(onProgress)));
    updateControls();
}

void SpecialisationPanel::onFinished()
{
    const std::shared_ptr<SpecialisationResult> result = m_watcher.result();
    const bool computed = m_computing;
    m_computing = false;
    if (result && result->directory == m_directory) {
        m_result = result;
        showResult();
        if (computed) {
            emit finished(result->matrix.cancelled, result->error);
            if (result->error.isEmpty())
                emit marginsChanged();
        }
    }
    if (m_computeRequested) {
        m_computeRequested = false;
        start(true);
    } else if (!result || result->directory != m_directory) {
        reload(); // the workspace changed while it ran
    }
    updateControls();
}

void SpecialisationPanel::updateControls()
{
    const bool hasWorkspace = !m_directory.isEmpty();
    m_computeButton->setEnabled(hasWorkspace && !m_computing);
    const bool anyStored = m_result && m_result->error.isEmpty()
                           && (m_result->matrix.storedCells + m_result->matrix.computedCells) > 0;
    m_computeButton->setText(anyStored ? tr("Refresh") : tr("Compute"));
    m_cancelButton->setVisible(m_computing);
    m_cancelButton->setEnabled(m_computing && !(m_cancel && m_cancel->isCancelled()));
    m_progress->setVisible(m_computing);
}

QString SpecialisationPanel::causeText(const SpecialisationCause& cause) const
{
    const QLocale locale;
    switch (cause.kind) {
    case SpecialisationCause::Kind::TooFewSteps:
        return tr("too few steps for its cluster's size: its training read %1 epochs of the "
                  "cluster's text, so it learned the corpus's common style first (train it "
                  "again with more steps)")
            .arg(locale.toString(cause.epochs, 'f', 2));
    case SpecialisationCause::Kind::Overlap:
        return tr("its cluster overlaps cluster %1 on the map: %2 % of its points lie nearer to "
                  "that cluster's centre (cluster into fewer groups, or with the model "
                  "embedder)")
            .arg(cause.otherCluster)
            .arg(locale.toString(100 * cause.fraction, 'f', 0));
    case SpecialisationCause::Kind::TooSmall:
        return tr("its cluster is small: %L1 chunks against a median of %L2 (cluster into "
                  "fewer groups, or balanced)")
            .arg(cause.chunks)
            .arg(cause.medianChunks);
    case SpecialisationCause::Kind::SharedStyle:
        return tr("it helps cluster %1 as much as its own: what it learned is common to both "
                  "groups (train it longer, or merge the two clusters)")
            .arg(cause.otherCluster);
    }
    return {};
}

void SpecialisationPanel::showResult()
{
    m_plot->clearItems();
    m_table->setSortingEnabled(false);
    m_table->setRowCount(0);
    QCPColorMapData* data = m_colourMap->data();
    if (!m_result || !m_result->error.isEmpty() || m_result->matrix.experts.empty()) {
        data->setSize(0, 0);
        m_colourMap->setVisible(false);
        m_advice->clear();
        if (m_computing)
            ; // the status says what runs
        else if (m_directory.isEmpty())
            m_status->clear();
        else if (m_result && !m_result->error.isEmpty())
            m_status->setText(m_result->error);
        else
            m_status->setText(tr("Reading the stored results…"));
        m_plot->replot();
        return;
    }
    const SpecialisationMatrix& matrix = m_result->matrix;
    const std::vector<int>& columns = m_result->order;
    std::vector<const ExpertSpecialisation*> rows;
    for (int expert : m_result->rows) {
        for (const ExpertSpecialisation& e : matrix.experts) {
            if (e.expert == expert)
                rows.push_back(&e);
        }
    }

    const int width = int(columns.size());
    const int height = int(rows.size());
    data->setSize(std::max(width, 1), std::max(height, 1));
    data->setRange(QCPRange(0, std::max(width - 1, 1)), QCPRange(0, std::max(height - 1, 1)));
    double extent = 0.01;
    for (int r = 0; r < height; ++r) {
        for (int c = 0; c < width; ++c) {
            const auto found = rows[size_t(r)]->perplexity.find(columns[size_t(c)]);
            const auto base = matrix.basePerplexity.find(columns[size_t(c)]);
            const double value = found == rows[size_t(r)]->perplexity.end()
                                         || base == matrix.basePerplexity.end()
                                     ? std::nan("")
                                     : relativeReduction(base->second, found->second);
            data->setCell(c, r, value);
            if (std::isfinite(value))
                extent = std::max(extent, std::abs(value));
        }
    }
    // Centred at 0, so that white means "no change".
    m_colourMap->setDataRange(QCPRange(-extent, extent));
    m_colourMap->setVisible(true);

    QSharedPointer<QCPAxisTickerText> xTicks(new QCPAxisTickerText);
    QSharedPointer<QCPAxisTickerText> yTicks(new QCPAxisTickerText);
    const int step = std::max(1, width / 24);
    for (int c = 0; c < width; c += step)
        xTicks->addTick(c, QString::number(columns[size_t(c)]));
    for (int r = 0; r < height; r += std::max(1, height / 24))
        yTicks->addTick(r, QString::number(rows[size_t(r)]->expert));
    m_plot->xAxis->setTicker(xTicks);
    m_plot->yAxis->setTicker(yTicks);
    m_plot->xAxis->setRange(-0.5, width - 0.5);
    m_plot->yAxis->setRange(-0.5, height - 0.5);

    // The diagonal: each expert on its own cluster.
    const QColor ink = palette().color(QPalette::Text);
    for (int r = 0; r < height; ++r) {
        const auto column = std::find(columns.begin(), columns.end(), rows[size_t(r)]->expert);
        if (column == columns.end())
            continue;
        const int c = int(column - columns.begin());
        auto* outline = new QCPItemRect(m_plot);
        outline->setObjectName(QStringLiteral("diagonal%1").arg(rows[size_t(r)]->expert));
        outline->topLeft->setCoords(c - 0.5, r - 0.5);
        outline->bottomRight->setCoords(c + 0.5, r + 0.5);
        outline->setPen(QPen(ink, 2));
        outline->setBrush(Qt::NoBrush);
    }
    m_plot->replot();

    // The margins, and what to do about the negative ones.
    const QIcon warning = style()->standardIcon(QStyle::SP_MessageBoxWarning);
    const QColor bad = QColor(0xb2, 0x18, 0x2b);
    m_table->setRowCount(int(matrix.experts.size()));
    for (int r = 0; r < int(matrix.experts.size()); ++r) {
        const ExpertSpecialisation& e = matrix.experts[size_t(r)];
        const bool negative = std::isfinite(e.margin) && e.margin < 0;
        auto* expert = new SortByValueItem;
        expert->setData(Qt::DisplayRole, tr("Expert %1").arg(e.expert));
        expert->setData(Qt::UserRole + 1, double(e.expert));
        expert->setData(Qt::UserRole, e.expert);
        m_table->setItem(r, ExpertColumn, expert);
        m_table->setItem(r, OwnColumn, numberItem(e.ownReduction, percentText(e.ownReduction)));
        const QString bestText =
            e.bestOtherCluster < 0
                ? QStringLiteral("–")
                : tr("%1 (cluster %2)").arg(percentText(e.bestOtherReduction)).arg(e.bestOtherCluster);
        m_table->setItem(r, BestOtherColumn, numberItem(e.bestOtherReduction, bestText));
        QString marginText = QStringLiteral("–");
        if (std::isfinite(e.margin)) {
            marginText = tr("%1 pt").arg((e.margin < 0 ? QStringLiteral("−") : QStringLiteral("+"))
                                         + QLocale().toString(100 * std::abs(e.margin), 'f', 1));
        }
        QTableWidgetItem* margin = numberItem(e.margin, marginText);
        margin->setData(Qt::UserRole, negative);
        if (negative) {
            QStringList causes;
            for (const SpecialisationAdvice& a : m_result->advice) {
                if (a.expert != e.expert)
                    continue;
                for (const SpecialisationCause& cause : a.causes)
                    causes << causeText(cause);
            }
            const QString tip = tr("Expert %1 helps cluster %2 more than its own. Likely: %3")
                                    .arg(e.expert)
                                    .arg(e.bestOtherCluster)
                                    .arg(causes.join(QStringLiteral("; ")));
            for (QTableWidgetItem* item : {static_cast<QTableWidgetItem*>(expert), margin}) {
                item->setForeground(bad);
                item->setToolTip(tip);
            }
            expert->setIcon(warning);
        }
        m_table->setItem(r, MarginColumn, margin);
    }
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(MarginColumn, Qt::AscendingOrder);

    if (m_result->advice.empty()) {
        m_advice->setText(matrix.complete() ? tr("Every expert helps its own cluster more than "
                                                 "any other.")
                                            : QString());
    } else {
        QString html = QStringLiteral("<b>%1</b><ul style=\"margin-left: -20px\">")
                           .arg(tr("Experts that help another cluster more than their own:")
                                    .toHtmlEscaped());
        for (const SpecialisationAdvice& a : m_result->advice) {
            QStringList causes;
            for (const SpecialisationCause& cause : a.causes)
                causes << causeText(cause).toHtmlEscaped();
            html += QStringLiteral("<li>%1 %2</li>")
                        .arg(tr("Expert %1 (margin %2 pt, best on cluster %3):")
                                 .arg(a.expert)
                                 .arg(QLocale().toString(100 * a.margin, 'f', 1))
                                 .arg(a.bestOtherCluster)
                                 .toHtmlEscaped(),
                             causes.join(QStringLiteral("; ")));
        }
        m_advice->setText(html + QStringLiteral("</ul>"));
    }

    if (m_computing)
        return;
    if (matrix.cancelled) {
        m_status->setText(tr("Cancelled: %L1 perplexities computed are kept; Refresh continues.")
                              .arg(matrix.computedCells));
    } else if (matrix.missingCells > 0) {
        m_status->setText(tr("%L1 of %L2 perplexities are missing or out of date (an expert was "
                             "trained again): press Refresh.")
                              .arg(matrix.missingCells)
                              .arg(matrix.missingCells + matrix.storedCells));
    } else {
        m_status->setText(
            tr("%1 experts on %2 clusters%3.")
                .arg(matrix.experts.size())
                .arg(matrix.clusters.size())
                .arg(matrix.sampled ? tr(", each on its own, 8 nearest and 8 random clusters")
                                    : QString()));
    }
}

QString SpecialisationPanel::cellToolTip(int expert, int cluster) const
{
    if (!m_result)
        return {};
    const SpecialisationMatrix& matrix = m_result->matrix;
    const auto row = std::find_if(matrix.experts.begin(), matrix.experts.end(),
                                  [&](const ExpertSpecialisation& e) { return e.expert == expert; });
    if (row == matrix.experts.end())
        return {};
    const auto found = row->perplexity.find(cluster);
    const auto base = matrix.basePerplexity.find(cluster);
    if (found == row->perplexity.end() || base == matrix.basePerplexity.end())
        return tr("Expert %1 on cluster %2: not scored (sampled)").arg(expert).arg(cluster);
    const QLocale locale;
    return tr("Expert %1 on cluster %2%3\nPerplexity %4 (base %5): %6")
        .arg(expert)
        .arg(cluster)
        .arg(expert == cluster ? tr(" (its own)") : QString())
        .arg(locale.toString(found->second, 'f', 2))
        .arg(locale.toString(base->second, 'f', 2))
        .arg(percentText(relativeReduction(base->second, found->second)));
}

void SpecialisationPanel::showCellToolTip(QMouseEvent* event)
{
    if (!m_result || !m_colourMap->visible())
        return;
    const int c = int(std::lround(m_plot->xAxis->pixelToCoord(event->pos().x())));
    const int r = int(std::lround(m_plot->yAxis->pixelToCoord(event->pos().y())));
    const std::vector<int>& columns = m_result->order;
    QCPColorMapData* data = m_colourMap->data();
    if (c < 0 || r < 0 || c >= int(columns.size()) || r >= data->valueSize()) {
        QToolTip::hideText();
        return;
    }
    if (r >= int(m_result->rows.size()))
        return;
    QToolTip::showText(event->globalPosition().toPoint(),
                       cellToolTip(m_result->rows[size_t(r)], columns[size_t(c)]), m_plot);
}

} // namespace moin::ui
