#include "losscurvepanel.h"

#include <qcustomplot.h>

#include <QBuffer>
#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QSlider>
#include <QStyle>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace moin::ui {

namespace {
constexpr auto kSmoothingKey = "training/plot/smoothing";
constexpr auto kLogScaleKey = "training/plot/logScale";
constexpr auto kExportDirKey = "training/plot/exportDirectory";
/// Slider positions per unit of EMA weight.
constexpr int kSmoothingSteps = 100;
constexpr double kMaxSmoothing = 0.99;

QString csvNumber(double value)
{
    return std::isfinite(value) ? QString::number(value, 'g', 9) : QString();
}
} // namespace

LossCurvePanel::LossCurvePanel(QWidget* parent) : QWidget(parent)
{
    m_caption = new QLabel;
    m_caption->setObjectName("curveCaption");
    m_caption->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    QFont bold = m_caption->font();
    bold.setBold(true);
    m_caption->setFont(bold);
    m_caption->setToolTip(tr("Select rows in the table (Ctrl or Shift for several) to choose "
                             "the curves"));

    auto* smoothingLabel = new QLabel(tr("Smoothing"));
    m_smoothing = new QSlider(Qt::Horizontal);
    m_smoothing->setObjectName("smoothingSlider");
    m_smoothing->setRange(0, int(kMaxSmoothing * kSmoothingSteps));
    m_smoothing->setFixedWidth(110);
    const QString smoothingTip =
        tr("Weight of the exponential moving average drawn over the training loss: 0 draws "
           "the raw loss, 0.9 averages over about the last ten steps. The faint line is always "
           "the raw loss.");
    m_smoothing->setToolTip(smoothingTip);
    smoothingLabel->setToolTip(smoothingTip);
    m_smoothingValue = new QLabel;
    m_smoothingValue->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("0.00")) + 4);
    m_logScale = new QCheckBox(tr("Log scale"));
    m_logScale->setObjectName("logScale");
    m_logScale->setToolTip(tr("Draw the loss axis logarithmically, which shows the late, small "
                              "improvements better"));
    m_exportCsv = new QPushButton(tr("Export CSV…"));
    m_exportCsv->setObjectName("exportCsv");
    m_exportCsv->setToolTip(tr("Save every point of the shown curves as a CSV file"));
    m_exportPng = new QPushButton(tr("Export PNG…"));
    m_exportPng->setObjectName("exportPng");
    m_exportPng->setToolTip(tr("Save the plot as a PNG picture"));
    connect(m_exportCsv, &QPushButton::clicked, this, &LossCurvePanel::chooseCsv);
    connect(m_exportPng, &QPushButton::clicked, this, &LossCurvePanel::choosePng);

    m_plot = new QCustomPlot;
    m_plot->setObjectName("lossPlot");
    m_plot->setMinimumHeight(160);
    m_plot->setAntialiasedElements(QCP::aePlottables | QCP::aeItems | QCP::aeLegendItems);
    m_plot->setBackground(palette().color(QPalette::Base));
    const QColor ink = palette().color(QPalette::Text);
    QColor grid = ink;
    grid.setAlpha(28);
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis}) {
        axis->setBasePen(QPen(ink.lighter(250)));
        axis->setTickPen(QPen(ink.lighter(250)));
        axis->setSubTickPen(QPen(ink.lighter(250)));
        axis->setTickLabelColor(ink);
        axis->setLabelColor(ink);
        axis->grid()->setPen(QPen(grid, 1, Qt::SolidLine));
        axis->grid()->setZeroLinePen(Qt::NoPen);
    }
    m_plot->xAxis->setLabel(tr("Optimizer step"));
    m_plot->yAxis->setLabel(tr("Loss (nats per token)"));
    m_plot->axisRect()->setAutoMargins(QCP::msLeft | QCP::msBottom | QCP::msTop);
    m_plot->axisRect()->setMargins(QMargins(0, 0, 16, 0));
    m_plot->legend->setVisible(true);
    QFont legendFont = font();
    legendFont.setPointSizeF(legendFont.pointSizeF() * 0.9);
    m_plot->legend->setFont(legendFont);
    // The legend to the right of the plot, not over the curves; a filler below keeps it
    // at the top.
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    auto* side = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(0, 1, side);
    m_plot->plotLayout()->setColumnStretchFactor(1, 0.001);
    side->addElement(0, 0, m_plot->legend);
    side->addElement(1, 0, new QCPLayoutElement(m_plot));
    side->setRowStretchFactor(0, 0.001);
    side->setMargins(QMargins(0, 8, 8, 0));
    m_plot->legend->setMargins(QMargins(6, 4, 8, 4));
    m_plot->legend->setBrush(Qt::NoBrush);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_placeholder = new QCPItemText(m_plot);
    m_placeholder->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_placeholder->position->setCoords(0.5, 0.5);
    m_placeholder->setPositionAlignment(Qt::AlignCenter);
    m_placeholder->setColor(ink.lighter(200));
    m_placeholder->setText(tr("Select experts in the table to see their loss curves"));
    m_plot->xAxis->setRange(0, 10);
    m_plot->yAxis->setRange(0, 1);

    connect(m_smoothing, &QSlider::valueChanged, this, [this](int value) {
        m_smoothingValue->setText(QString::number(double(value) / kSmoothingSteps, 'f', 2));
        QSettings().setValue(kSmoothingKey, double(value) / kSmoothingSteps);
        for (Series& series : m_series)
            rebuild(series);
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    });
    connect(m_logScale, &QCheckBox::toggled, this, [this](bool on) {
        QSettings().setValue(kLogScaleKey, on);
        m_plot->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        if (on) {
            m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
            m_plot->yAxis->setNumberFormat(QStringLiteral("gb"));
        } else {
            m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
            m_plot->yAxis->setNumberFormat(QStringLiteral("g"));
        }
        refit();
    });

    auto* controls = new QHBoxLayout;
    controls->setSpacing(8);
    controls->addWidget(m_caption, 1);
    controls->addWidget(smoothingLabel);
    controls->addWidget(m_smoothing);
    controls->addWidget(m_smoothingValue);
    controls->addSpacing(8);
    controls->addWidget(m_logScale);
    controls->addSpacing(8);
    controls->addWidget(m_exportCsv);
    controls->addWidget(m_exportPng);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(6);
    layout->addLayout(controls);
    layout->addWidget(m_plot, 1);

    QSettings settings;
    const double weight = settings.value(kSmoothingKey, 0.6).toDouble();
    m_smoothing->setValue(int(std::lround(std::clamp(weight, 0.0, kMaxSmoothing)
                                          * kSmoothingSteps)));
    m_smoothingValue->setText(QString::number(smoothing(), 'f', 2));
    m_logScale->setChecked(settings.value(kLogScaleKey, false).toBool());
    setCurves({});
}

QColor LossCurvePanel::curveColor(int cluster)
{
    static const QRgb kPalette[] = {0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f,
                                    0xedc948, 0xb07aa1, 0xff9da7, 0x9c755f, 0xbab0ac};
    const int n = int(std::size(kPalette));
    return QColor(kPalette[((cluster % n) + n) % n]);
}

std::vector<double> LossCurvePanel::smooth(const std::vector<double>& values, double weight)
{
    std::vector<double> out(values.size(), NAN);
    double average = 0;
    double correction = 1; // weight^n: removes the bias towards the initial 0
    for (size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i]))
            continue;
        average = weight * average + (1 - weight) * values[i];
        correction *= weight;
        out[i] = weight > 0 ? average / (1 - correction) : values[i];
    }
    return out;
}

void LossCurvePanel::setCurves(const std::vector<Curve>& curves)
{
    const bool same = curves.size() == m_series.size()
                      && std::equal(curves.begin(), curves.end(), m_series.begin(),
                                    [](const Curve& c, const Series& s) {
                                        return c.jobId == s.curve.jobId && c.label == s.curve.label
                                               && c.color == s.curve.color;
                                    });
    if (same && m_plot->graphCount() > 0)
        return;
    std::vector<Series> next;
    next.reserve(curves.size());
    for (const Curve& curve : curves) {
        auto old = std::find_if(m_series.begin(), m_series.end(),
                                [&](const Series& s) { return s.curve.jobId == curve.jobId; });
        if (old != m_series.end()) {
            next.push_back(std::move(*old));
            m_series.erase(old);
        } else {
            next.push_back(Series{curve, {}, nullptr, nullptr, nullptr});
        }
        next.back().curve = curve;
    }
    m_series = std::move(next);
    // Re-created in order, so that the legend follows the curve order. The first two graphs
    // hold no data: they are the legend's key to the line and marker styles.
    m_plot->clearGraphs();
    if (!m_series.empty()) {
        const QColor key = palette().color(QPalette::Text).lighter(160);
        QCPGraph* trainingKey = m_plot->addGraph();
        trainingKey->setPen(QPen(key, 1.6));
        trainingKey->setName(tr("Training loss (smoothed; faint: raw)"));
        QCPGraph* heldOutKey = m_plot->addGraph();
        heldOutKey->setPen(QPen(key, 1, Qt::DotLine));
        heldOutKey->setScatterStyle(
            QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(key, 1.5), QBrush(Qt::white), 7));
        heldOutKey->setName(tr("Held-out loss"));
    }
    for (Series& series : m_series) {
        const QColor color = series.curve.color;
        QColor faint = color;
        faint.setAlpha(70);
        series.raw = m_plot->addGraph();
        series.raw->setPen(QPen(faint, 1));
        series.raw->removeFromLegend();
        series.smoothed = m_plot->addGraph();
        series.smoothed->setPen(QPen(color, 1.6));
        series.smoothed->setName(series.curve.label);
        series.heldOut = m_plot->addGraph();
        series.heldOut->setPen(QPen(color, 1, Qt::DotLine));
        series.heldOut->setScatterStyle(
            QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(color, 1.5), QBrush(Qt::white), 7));
        series.heldOut->removeFromLegend();
        rebuild(series);
    }
    refit();
}

void LossCurvePanel::addPoints(qint64 jobId, const std::vector<TrainingMetric>& points,
                               bool replace)
{
    auto it = std::find_if(m_series.begin(), m_series.end(),
                           [&](const Series& s) { return s.curve.jobId == jobId; });
    if (it == m_series.end())
        return;
    if (replace)
        it->points.clear();
    for (const TrainingMetric& point : points) {
        if (it->points.empty() || point.step > it->points.back().step)
            it->points.push_back(point);
    }
    if (points.empty() && !replace)
        return;
    rebuild(*it);
    refit();
}

qint64 LossCurvePanel::lastStep(qint64 jobId) const
{
    for (const Series& series : m_series) {
        if (series.curve.jobId == jobId)
            return series.points.empty() ? -1 : qint64(series.points.back().step);
    }
    return -1;
}

int LossCurvePanel::pointCount(qint64 jobId) const
{
    for (const Series& series : m_series) {
        if (series.curve.jobId == jobId)
            return int(series.points.size());
    }
    return 0;
}

std::vector<qint64> LossCurvePanel::jobIds() const
{
    std::vector<qint64> ids;
    for (const Series& series : m_series)
        ids.push_back(series.curve.jobId);
    return ids;
}

void LossCurvePanel::setCaption(const QString& caption) { m_caption->setText(caption); }

void LossCurvePanel::setSmoothing(double weight)
{
    m_smoothing->setValue(int(std::lround(std::clamp(weight, 0.0, kMaxSmoothing)
                                          * kSmoothingSteps)));
}

double LossCurvePanel::smoothing() const
{
    return double(m_smoothing->value()) / kSmoothingSteps;
}

void LossCurvePanel::setLogScale(bool on) { m_logScale->setChecked(on); }

bool LossCurvePanel::logScale() const { return m_logScale->isChecked(); }

void LossCurvePanel::rebuild(Series& series)
{
    QVector<double> steps, losses, heldOutSteps, heldOut;
    std::vector<double> raw;
    steps.reserve(qsizetype(series.points.size()));
    raw.reserve(series.points.size());
    for (const TrainingMetric& point : series.points) {
        steps << double(point.step);
        raw.push_back(point.loss);
        if (std::isfinite(point.heldOutLoss)) {
            heldOutSteps << double(point.step);
            heldOut << point.heldOutLoss;
        }
    }
    const std::vector<double> smoothed = smooth(raw, smoothing());
    losses = QVector<double>(raw.begin(), raw.end());
    series.raw->setData(steps, losses, true);
    series.smoothed->setData(steps, QVector<double>(smoothed.begin(), smoothed.end()), true);
    series.heldOut->setData(heldOutSteps, heldOut, true);
    // The raw line only adds noise when it is what the smoothed line shows anyway.
    series.raw->setVisible(smoothing() > 0);
}

void LossCurvePanel::refit()
{
    bool any = false;
    double minStep = 0, maxStep = 0, low = 0, high = 0;
    for (const Series& series : m_series) {
        for (const TrainingMetric& point : series.points) {
            for (double value : {point.loss, point.heldOutLoss}) {
                if (!std::isfinite(value) || (logScale() && value <= 0))
                    continue;
                if (!any) {
                    low = high = value;
                    minStep = maxStep = double(point.step);
                    any = true;
                }
                low = std::min(low, value);
                high = std::max(high, value);
                minStep = std::min(minStep, double(point.step));
                maxStep = std::max(maxStep, double(point.step));
            }
        }
    }
    m_placeholder->setVisible(!any);
    if (m_series.empty()) {
        m_placeholder->setText(tr("Select experts in the table to see their loss curves"));
    } else {
        m_placeholder->setText(tr("No steps trained yet: the curves appear as the jobs run"));
    }
    if (any) {
        if (maxStep <= minStep)
            maxStep = minStep + 1;
        // A little room on both sides, so that the first and last markers are whole.
        const double margin = (maxStep - minStep) * 0.02;
        m_plot->xAxis->setRange(minStep - margin, maxStep + margin);
        if (logScale()) {
            m_plot->yAxis->setRange(low / 1.1, high * 1.1);
        } else {
            const double pad = std::max((high - low) * 0.08, 1e-3);
            m_plot->yAxis->setRange(std::max(0.0, low - pad), high + pad);
        }
    }
    m_plot->legend->setVisible(!m_series.empty());
    m_exportCsv->setEnabled(any);
    m_exportPng->setEnabled(any);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool LossCurvePanel::exportCsv(const QString& path, QString* error) const
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
        if (error)
            *error = file.errorString();
        return false;
    }
    QByteArray text = "job_id,cluster,step,seconds,loss,smoothed_loss,held_out_loss,"
                      "learning_rate,tokens_per_second\n";
    for (const Series& series : m_series) {
        std::vector<double> raw;
        raw.reserve(series.points.size());
        for (const TrainingMetric& point : series.points)
            raw.push_back(point.loss);
        const std::vector<double> smoothed = smooth(raw, smoothing());
        for (size_t i = 0; i < series.points.size(); ++i) {
            const TrainingMetric& p = series.points[i];
            const QStringList fields = {
                QString::number(series.curve.jobId), QString::number(series.curve.cluster),
                QString::number(p.step),             csvNumber(p.seconds),
                csvNumber(p.loss),                   csvNumber(smoothed[i]),
                csvNumber(p.heldOutLoss),            csvNumber(p.learningRate),
                csvNumber(p.tokensPerSecond)};
            text += fields.join(QLatin1Char(',')).toUtf8() + '\n';
        }
    }
    if (file.write(text) != text.size() || !file.commit()) {
        if (error)
            *error = file.errorString();
        return false;
    }
    return true;
}

bool LossCurvePanel::exportPng(const QString& path, QString* error) const
{
    const QPixmap picture = m_plot->toPixmap(0, 0, 2.0);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !picture.save(&file, "PNG") || !file.commit()) {
        if (error)
            *error = file.errorString().isEmpty() ? tr("cannot encode the picture")
                                                  : file.errorString();
        return false;
    }
    return true;
}

void LossCurvePanel::chooseCsv()
{
    QSettings settings;
    const QString start = settings.value(kExportDirKey, QDir::homePath()).toString();
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export loss curves"), start + QStringLiteral("/loss-curves.csv"),
        tr("CSV files (*.csv)"));
    if (path.isEmpty())
        return;
    settings.setValue(kExportDirKey, QFileInfo(path).absolutePath());
    QString error;
    if (!exportCsv(path, &error))
        showExportError(tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(path), error));
}

void LossCurvePanel::choosePng()
{
    QSettings settings;
    const QString start = settings.value(kExportDirKey, QDir::homePath()).toString();
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export loss plot"), start + QStringLiteral("/loss-curves.png"),
        tr("PNG pictures (*.png)"));
    if (path.isEmpty())
        return;
    settings.setValue(kExportDirKey, QFileInfo(path).absolutePath());
    QString error;
    if (!exportPng(path, &error))
        showExportError(tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(path), error));
}

void LossCurvePanel::showExportError(const QString& message)
{
    auto* box = new QMessageBox(QMessageBox::Warning, tr("Export failed"), message,
                                QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

} // namespace moin::ui
