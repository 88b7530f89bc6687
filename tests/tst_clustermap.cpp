// The Cluster map view on the offscreen platform: empty states, a run's chunks as points with a
// label per cluster, selecting by clicking the map or the list, hover, search marks, the density
// image, a new run through the dialog (and a cancelled one), making a run active, a routing
// decision, and the view inside the main window. Screenshots go to build/screenshots/.
#include "testsupport.h"

#include "../ui/src/clustermapview.h"
#include "../ui/src/clusterrundialog.h"
#include "moin/clustering.h"
#include "moin/corpus.h"
#include "moin/database.h"
#include "moin/ui/mainwindow.h"
#include "moin/ui/workspacecontroller.h"
#include "moin/workspace.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QRegularExpression>
#include <QScreen>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QToolTip>

#include <map>
#include <optional>
#include <set>
#include <random>

using moin::ClusterInfo;
using moin::Workspace;
using moin::ui::ClusterMapView;
using moin::ui::ClusterRunDialog;

namespace {

const char* const kTopics[3][8] = {
    {"compiler", "parser", "register", "assembly", "linker", "bytecode", "kernel", "pointer"},
    {"shepherd", "temple", "prophet", "psalm", "covenant", "pharaoh", "altar", "tribe"},
    {"ballroom", "carriage", "bonnet", "marriage", "estate", "cousin", "parsonage", "suitor"},
};
constexpr int kPerTopic = 40;
constexpr int kChunks = 3 * kPerTopic;

QString topicText(int topic, int i)
{
    std::mt19937 rng(uint32_t(topic * 1000 + i));
    QStringList words;
    for (int w = 0; w < 30; ++w)
        words << kTopics[topic][rng() % 8];
    return words.join(' ') + QString(" number%1").arg(i);
}

void saveScreenshot(QWidget& widget, const QString& name)
{
    // Pending layouts first; then a plot paints its last buffer, so replot it.
    QApplication::processEvents();
    for (QCustomPlot* plot : widget.findChildren<QCustomPlot*>())
        plot->replot();
    const QString dir = QStringLiteral(MOIN_BINARY_DIR) + "/screenshots";
    QDir().mkpath(dir);
    QVERIFY(widget.grab().save(dir + "/" + name + ".png"));
}

QString labelText(const QWidget& view, const char* name)
{
    auto* label = view.findChild<QLabel*>(name);
    return label ? label->text() : QStringLiteral("<no label %1>").arg(name);
}

QWidget* currentPage(const ClusterMapView& view)
{
    const auto stacks = view.findChildren<QStackedWidget*>();
    return stacks.isEmpty() ? nullptr : stacks.first()->currentWidget();
}

QPoint pixelOf(const QCustomPlot* plot, double x, double y)
{
    return QPoint(int(std::lround(plot->xAxis->coordToPixel(x))),
                  int(std::lround(plot->yAxis->coordToPixel(y))));
}

/// The label's box on screen, padding and border included, from the item's own anchors.
QRectF labelBox(QCPItemText* label)
{
    return QRectF(label->topLeft->pixelPosition(), label->bottomRight->pixelPosition())
        .normalized();
}

/// Checks what a person sees of a cluster's label, whatever the font and window size: it is
/// shown, names its cluster, lies inside the plot, and sits on the cluster's centre, unless a
/// box centred there would stick out of the plot, in which case it is moved inward only, by no
/// more than its own size. Returns the label's offset from the centre in pixels.
QPointF checkLabelPlacement(const ClusterMapView& view, const ClusterInfo& cluster)
{
    QCustomPlot* plot = view.plot();
    auto* label = plot->findChild<QCPItemText*>(
        QStringLiteral("clusterLabel%1").arg(cluster.cluster));
    [&] {
        QVERIFY(label);
        QVERIFY2(label->visible(), qPrintable(label->text()));
        QVERIFY2(label->text().startsWith(QString::fromStdString(cluster.keywords.front())),
                 qPrintable(label->text()));
    }();
    if (QTest::currentTestFailed())
        return {};
    const QRectF area = plot->axisRect()->rect();
    const QRectF box = labelBox(label);
    const QPointF centre(plot->xAxis->coordToPixel(cluster.x),
                         plot->yAxis->coordToPixel(cluster.y));
    const QPointF offset = box.center() - centre;
    const QString where = QStringLiteral("cluster %1: centre (%2, %3), label box (%4, %5 %6x%7), "
                                         "plot (%8, %9 %10x%11)")
                              .arg(cluster.cluster)
                              .arg(centre.x()).arg(centre.y())
                              .arg(box.x()).arg(box.y()).arg(box.width()).arg(box.height())
                              .arg(area.x()).arg(area.y()).arg(area.width()).arg(area.height());
    // Whole pixels: the view places labels on the pixel grid.
    constexpr double kSlack = 1.5;
    [&] {
        QVERIFY2(area.adjusted(-kSlack, -kSlack, kSlack, kSlack).contains(box), qPrintable(where));
        QVERIFY2(area.contains(centre), qPrintable(where));
        QRectF centred = box;
        centred.moveCenter(centre);
        const double stickLeft = area.left() - centred.left();
        const double stickRight = centred.right() - area.right();
        const double stickTop = area.top() - centred.top();
        const double stickBottom = centred.bottom() - area.bottom();
        // On the centre where the label fits there; else moved inward (toward the side it
        // would stick out of), by no more than its own size. Being inside the plot (above)
        // says it moved far enough.
        if (stickLeft > kSlack)
            QVERIFY2(offset.x() > 0, qPrintable(where));
        else if (stickRight > kSlack)
            QVERIFY2(offset.x() < 0, qPrintable(where));
        else
            QVERIFY2(std::abs(offset.x()) <= kSlack, qPrintable(where));
        if (stickTop > kSlack)
            QVERIFY2(offset.y() > 0, qPrintable(where));
        else if (stickBottom > kSlack)
            QVERIFY2(offset.y() < 0, qPrintable(where));
        else
            QVERIFY2(std::abs(offset.y()) <= kSlack, qPrintable(where));
        QVERIFY2(std::abs(offset.x()) <= box.width() && std::abs(offset.y()) <= box.height(),
                 qPrintable(where));
    }();
    return offset;
}

} // namespace

class TestClusterMap : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void emptyStates();
    void everyChunkIsPlottedWithALabelPerCluster();
    void aLabelAtThePlotsEdgeMovesInward();
    void clickingAClusterFillsTheSidePanel();
    void clickingARowSelectsAndCentres();
    void hoverNamesTheNearestChunk();
    void searchMarksMatchingChunks();
    void densityImageAboveTheThreshold();
    void routeIsDrawn();
    void colourModesShowExpertHealth();
    void dialogStartsANewRun();
    void cancelledRunStoresNothing();
    void makeActiveSwitchesTheActiveRun();
    void mainWindowShowsTheMap();
    void dialogRunsHdbscan();

private:
    /// A view on the shared workspace, shown and loaded.
    void openView(ClusterMapView& view);

    QTemporaryDir m_tmp;
    QTemporaryDir m_settingsDir;
    QString m_base;
    QString m_directory;
    std::optional<Workspace> m_workspace;
    int64_t m_firstRun = 0;
};

void TestClusterMap::initTestCase()
{
    QApplication::setOrganizationName("MoIN-tests");
    QApplication::setApplicationName("tst_clustermap");
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QSettings().clear();
    m_base = m_tmp.filePath("base");
    testsupport::makeTinyBaseModel(m_base);
    qputenv("MOIN_BASE_MODEL", m_base.toLocal8Bit());

    moin::WorkspaceOptions options;
    options.baseModel = m_base.toStdString();
    m_directory = m_tmp.filePath("ws");
    m_workspace = Workspace::create(m_directory.toStdString(), options);
    QFile corpus(m_tmp.filePath("topics.jsonl"));
    QVERIFY(corpus.open(QIODevice::WriteOnly));
    for (int i = 0; i < kPerTopic; ++i) {
        for (int topic = 0; topic < 3; ++topic)
            corpus.write(QJsonDocument(QJsonObject{{"text", topicText(topic, i)}})
                             .toJson(QJsonDocument::Compact)
                         + "\n");
    }
    corpus.close();
    moin::ImportOptions import;
    import.chunkTokens = 512; // one chunk per document
    const auto report = moin::importCorpus(*m_workspace, {corpus.fileName().toStdString()}, import);
    QCOMPARE(report.chunksAdded, int64_t(kChunks));

    moin::ClusterRunOptions run;
    run.kmeans.k = 3;
    run.layout.epochs = 60;
    run.layout.threads = 1;
    m_firstRun = moin::runClustering(*m_workspace, run);
    QVERIFY(m_firstRun > 0);
}

void TestClusterMap::openView(ClusterMapView& view)
{
    QSignalSpy loaded(&view, &ClusterMapView::loaded);
    view.resize(1100, 700);
    view.showWorkspace(*m_workspace);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), 20000);
    QVERIFY(!view.isLoading());
    view.plot()->replot(); // lay out, fit, place labels
}

void TestClusterMap::emptyStates()
{
    QTemporaryDir dir;
    moin::WorkspaceOptions options;
    options.baseModel = m_base.toStdString();
    Workspace empty = Workspace::create(dir.filePath("empty").toStdString(), options);

    ClusterMapView view;
    view.resize(900, 600);
    view.showWorkspace(empty);
    view.show();
    QTRY_VERIFY_WITH_TIMEOUT(!view.isLoading(), 20000);
    QCOMPARE(currentPage(view)->objectName(), QString("mapNoChunks"));
    QSignalSpy corpusRequested(&view, &ClusterMapView::corpusViewRequested);
    QTest::mouseClick(view.findChild<QPushButton*>("goToCorpusButton"), Qt::LeftButton);
    QCOMPARE(corpusRequested.size(), 1);

    // Chunks but no run: the page says so and offers a run.
    QFile file(dir.filePath("one.jsonl"));
    QVERIFY(file.open(QIODevice::WriteOnly));
    for (int i = 0; i < 4; ++i)
        file.write(QJsonDocument(QJsonObject{{"text", topicText(0, i)}}).toJson(
                       QJsonDocument::Compact)
                   + "\n");
    file.close();
    moin::ImportOptions import;
    import.chunkTokens = 512;
    QCOMPARE(moin::importCorpus(empty, {file.fileName().toStdString()}, import).chunksAdded,
             int64_t(4));
    view.refresh();
    QTRY_VERIFY_WITH_TIMEOUT(!view.isLoading(), 20000);
    QCOMPARE(currentPage(view)->objectName(), QString("mapNoRun"));
    QVERIFY(labelText(view, "mapNoRunText").contains("4"));
    auto* firstRun = view.findChild<QPushButton*>("firstRunButton");
    QVERIFY(firstRun && firstRun->isVisible());
    QCOMPARE(view.shownRun(), qint64(0));
    QCOMPARE(view.plottedPointCount(), qint64(0));
    saveScreenshot(view, "cluster-map-no-run");
}

void TestClusterMap::everyChunkIsPlottedWithALabelPerCluster()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(view.shownRun(), qint64(m_firstRun));
    QCOMPARE(currentPage(view)->objectName(), QString("mapPage"));
    QCOMPARE(view.pointCount(), qint64(kChunks));
    QCOMPARE(view.plottedPointCount(), qint64(kChunks));
    // The point graphs, counted from the plot itself: every chunk once.
    qint64 inGraphs = 0;
    for (int i = 0; i < view.plot()->graphCount(); ++i) {
        QCPGraph* graph = view.plot()->graph(i);
        if (graph->visible())
            inGraphs += graph->dataCount();
    }
    QCOMPARE(inGraphs, qint64(kChunks));
    QVERIFY(!view.isDensityShown());

    const std::vector<ClusterInfo> clusters = moin::listClusters(*m_workspace, m_firstRun);
    QCOMPARE(view.clusterCount(), int(clusters.size()));
    const QList<QCPItemText*> labels = view.labels();
    QCOMPARE(labels.size(), int(clusters.size()));
    // Three well-separated topics: every label shows, on its centre or moved inward.
    for (const ClusterInfo& cluster : clusters) {
        checkLabelPlacement(view, cluster);
        if (QTest::currentTestFailed())
            return;
    }
    // The list has a row per cluster.
    auto* table = view.findChild<QTableView*>("clusterTable");
    QCOMPARE(table->model()->rowCount(), int(clusters.size()));
    QVERIFY(labelText(view, "mapSummary").contains("120"));
    saveScreenshot(view, "cluster-map-view");
}

void TestClusterMap::aLabelAtThePlotsEdgeMovesInward()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    const std::vector<ClusterInfo> clusters = moin::listClusters(*m_workspace, m_firstRun);
    QVERIFY(!clusters.empty());
    const ClusterInfo& cluster = clusters.front();
    QCustomPlot* plot = view.plot();
    const QRect area = plot->axisRect()->rect();
    // Pan so the cluster's centre is 3 px inside one edge, then another: half its label would
    // stick out, so the label moves inward by less than its own size and stays whole.
    struct Edge {
        const char* name;
        QPoint pixel;
    };
    const Edge edges[] = {{"right", {area.right() - 3, area.center().y()}},
                          {"left", {area.left() + 3, area.center().y()}},
                          {"top", {area.center().x(), area.top() + 3}},
                          {"bottom", {area.center().x(), area.bottom() - 3}}};
    for (const Edge& edge : edges) {
        const QPoint now = pixelOf(plot, cluster.x, cluster.y);
        const double dx = plot->xAxis->pixelToCoord(now.x())
                          - plot->xAxis->pixelToCoord(edge.pixel.x());
        const double dy = plot->yAxis->pixelToCoord(now.y())
                          - plot->yAxis->pixelToCoord(edge.pixel.y());
        plot->xAxis->moveRange(dx);
        plot->yAxis->moveRange(dy);
        plot->replot();
        const QPoint moved = pixelOf(plot, cluster.x, cluster.y);
        QVERIFY2((moved - edge.pixel).manhattanLength() <= 2, edge.name);
        const QPointF offset = checkLabelPlacement(view, cluster);
        if (QTest::currentTestFailed())
            return;
        const QString why = QStringLiteral("%1 edge: offset (%2, %3)")
                                .arg(edge.name).arg(offset.x()).arg(offset.y());
        // Moved, and away from the edge it sits at.
        if (QByteArray(edge.name) == "right")
            QVERIFY2(offset.x() < -1, qPrintable(why));
        else if (QByteArray(edge.name) == "left")
            QVERIFY2(offset.x() > 1, qPrintable(why));
        else if (QByteArray(edge.name) == "top")
            QVERIFY2(offset.y() > 1, qPrintable(why));
        else
            QVERIFY2(offset.y() < -1, qPrintable(why));
    }
    saveScreenshot(view, "cluster-map-label-at-edge");
}

void TestClusterMap::clickingAClusterFillsTheSidePanel()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(view.selectedCluster(), -1);
    QVERIFY(view.findChild<QWidget*>("clusterPlaceholder")->isVisible());
    const std::vector<ClusterInfo> clusters = moin::listClusters(*m_workspace, m_firstRun);
    const auto chunks = moin::findChunks(*m_workspace, "", kChunks);
    QSignalSpy selected(&view, &ClusterMapView::clusterSelected);
    for (const ClusterInfo& cluster : clusters) {
        QTest::mouseClick(view.plot(), Qt::LeftButton, {},
                          pixelOf(view.plot(), cluster.x, cluster.y));
        QCOMPARE(view.selectedCluster(), cluster.cluster);
        QCOMPARE(selected.last().at(0).toInt(), cluster.cluster);
        QCOMPARE(labelText(view, "clusterTitle"),
                 QStringLiteral("Cluster %1").arg(cluster.cluster));
        const QString size = labelText(view, "clusterSize");
        QVERIFY2(size.startsWith(QString::number(cluster.size) + " chunks"), qPrintable(size));
        QVERIFY(labelText(view, "clusterKeywords")
                    .startsWith(QString::fromStdString(cluster.keywords.front())));
        // The samples are the texts of the chunks nearest the centre.
        QString sampleText;
        for (const auto& chunk : chunks) {
            if (chunk.id == cluster.sampleChunks.front())
                sampleText = QString::fromStdString(chunk.text);
        }
        QVERIFY(!sampleText.isEmpty());
        const QString samples = view.findChild<QTextBrowser*>("clusterSamples")->toPlainText();
        QVERIFY2(samples.contains(sampleText.left(60)), qPrintable(samples.left(200)));
        // The selected cluster is drawn on top; the list follows.
        auto* table = view.findChild<QTableView*>("clusterTable");
        QCOMPARE(table->currentIndex().data(moin::ui::ClusterTableModel::ClusterRole).toInt(),
                 cluster.cluster);
    }
    saveScreenshot(view, "cluster-map-selected");

    // A click on empty map clears the selection.
    QTest::mouseClick(view.plot(), Qt::LeftButton, {}, QPoint(3, 3));
    QCOMPARE(view.selectedCluster(), -1);
    QVERIFY(view.findChild<QWidget*>("clusterPlaceholder")->isVisible());
    // A drag is not a click: it pans and keeps the selection.
    view.selectCluster(1);
    const QCPRange before = view.plot()->xAxis->range();
    const QPoint from = pixelOf(view.plot(), clusters[0].x, clusters[0].y);
    QTest::mousePress(view.plot(), Qt::LeftButton, {}, from);
    QTest::mouseMove(view.plot(), from + QPoint(40, 10));
    QTest::mouseRelease(view.plot(), Qt::LeftButton, {}, from + QPoint(40, 10));
    QCOMPARE(view.selectedCluster(), 1);
    QVERIFY(view.plot()->xAxis->range().lower != before.lower);
}

void TestClusterMap::clickingARowSelectsAndCentres()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    const std::vector<ClusterInfo> clusters = moin::listClusters(*m_workspace, m_firstRun);
    auto* table = view.findChild<QTableView*>("clusterTable");
    for (int row = 0; row < table->model()->rowCount(); ++row) {
        const QModelIndex index = table->model()->index(row, 1);
        const int cluster = index.data(moin::ui::ClusterTableModel::ClusterRole).toInt();
        table->scrollTo(index);
        QTest::mouseClick(table->viewport(), Qt::LeftButton, {},
                          table->visualRect(index).center());
        QCOMPARE(view.selectedCluster(), cluster);
        const ClusterInfo& info = clusters[size_t(cluster)];
        QVERIFY(std::abs(view.plot()->xAxis->range().center() - info.x) < 1e-6);
        QVERIFY(std::abs(view.plot()->yAxis->range().center() - info.y) < 1e-6);
        QVERIFY(labelText(view, "clusterSize").startsWith(QString::number(info.size)));
    }
}

void TestClusterMap::hoverNamesTheNearestChunk()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    const auto placements = moin::listPlacements(*m_workspace, m_firstRun);
    // Exactly on a point: that point (or one drawn on the same pixel) is the nearest.
    for (size_t i = 0; i < placements.size(); i += 17) {
        const QPoint pixel = pixelOf(view.plot(), placements[i].x, placements[i].y);
        const int index = view.pointNear(pixel);
        QVERIFY(index >= 0);
        const moin::ChunkPlacement found = view.placement(index);
        QVERIFY(QLineF(pixel, pixelOf(view.plot(), found.x, found.y)).length() <= 1.5);
    }
    QCOMPARE(view.pointNear(QPoint(-50, -50)), -1);

    // Moving the mouse there shows the chunk's text and cluster. A tool tip shows only on a
    // screen: take a point the (offscreen, possibly small or scaled) screen holds.
    const QRect screen = view.screen()->geometry();
    const auto onScreen = std::find_if(placements.begin(), placements.end(), [&](const auto& p) {
        const QPoint at = pixelOf(view.plot(), p.x, p.y);
        return view.plot()->axisRect()->rect().contains(at)
               && screen.adjusted(20, 20, -20, -20).contains(view.plot()->mapToGlobal(at));
    });
    QVERIFY2(onScreen != placements.end(), "no point of the map lies on the screen");
    const moin::ChunkPlacement target = *onScreen;
    const QPoint pixel = pixelOf(view.plot(), target.x, target.y);
    const moin::ChunkPlacement shown = view.placement(view.pointNear(pixel));
    QTest::mouseMove(view.plot(), pixel);
    QTRY_VERIFY_WITH_TIMEOUT(QToolTip::isVisible(), 3000);
    QVERIFY(QToolTip::text().contains(QStringLiteral("Cluster %1").arg(shown.cluster)));
    QVERIFY(QToolTip::text().contains(QStringLiteral("Chunk %1").arg(shown.chunkId)));
    QVERIFY(QToolTip::text().contains(QStringLiteral("number")));
    QToolTip::hideText();
}

void TestClusterMap::searchMarksMatchingChunks()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    QSignalSpy finished(&view, &ClusterMapView::searchFinished);

    // "number7" ends exactly one document of each topic.
    view.setSearch("number7");
    QVERIFY(finished.wait(10000));
    QCOMPARE(finished.last().at(0).toLongLong(), qint64(3));
    QCOMPARE(view.searchMatchCount(), qint64(3));
    QVERIFY(labelText(view, "mapMatchCount").contains("3"));

    // A topic word: as many as the generated texts have it, counted here independently.
    int expected = 0;
    const QRegularExpression word(QStringLiteral("\\bcompiler\\b"));
    for (int topic = 0; topic < 3; ++topic) {
        for (int i = 0; i < kPerTopic; ++i)
            expected += topicText(topic, i).contains(word) ? 1 : 0;
    }
    QVERIFY(expected > 0 && expected <= kPerTopic);
    auto* search = view.findChild<QLineEdit*>("mapSearch");
    search->clear();
    QTest::keyClicks(search, "compiler");
    QVERIFY(finished.wait(10000)); // after the debounce
    QCOMPARE(view.searchMatchCount(), qint64(expected));
    auto* marks = view.plot()->findChild<QCPGraph*>("searchMarks");
    QVERIFY(marks && marks->visible());
    QCOMPARE(marks->dataCount(), expected);
    // The list shows the matches per cluster: all in one cluster.
    auto* table = view.findChild<QTableView*>("clusterTable");
    QVERIFY(!table->isColumnHidden(moin::ui::ClusterTableModel::MatchesColumn));
    qint64 sum = 0, largest = 0;
    for (int row = 0; row < table->model()->rowCount(); ++row) {
        const qint64 count = table->model()
                                 ->index(row, moin::ui::ClusterTableModel::MatchesColumn)
                                 .data(moin::ui::ClusterTableModel::SortRole)
                                 .toLongLong();
        sum += count;
        largest = std::max(largest, count);
    }
    QCOMPARE(sum, qint64(expected));
    QCOMPARE(largest, qint64(expected));
    saveScreenshot(view, "cluster-map-search");

    search->clear();
    QTRY_COMPARE_WITH_TIMEOUT(view.searchMatchCount(), qint64(-1), 3000);
    QVERIFY(table->isColumnHidden(moin::ui::ClusterTableModel::MatchesColumn));
}

void TestClusterMap::densityImageAboveTheThreshold()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    QVERIFY(!view.isDensityShown());
    auto* density = view.plot()->findChild<QCPColorMap*>();
    QVERIFY(density && !density->visible());

    view.setDensityThreshold(50); // 120 points in view are now "many"
    QVERIFY(view.isDensityShown());
    QVERIFY(density->visible());
    // Every chunk is in one bin of the image; no colour graph is drawn.
    int bins = 0;
    QCPColorMapData* data = density->data();
    for (int x = 0; x < data->keySize(); ++x) {
        for (int y = 0; y < data->valueSize(); ++y)
            bins += std::isnan(data->cell(x, y)) ? 0 : 1;
    }
    QVERIFY(bins > 0 && bins <= kChunks);
    QCOMPARE(view.plottedPointCount(), qint64(kChunks));
    const auto graphs = view.plot()->findChildren<QCPGraph*>(QRegularExpression("^colourPoints"));
    QCOMPARE(graphs.size(), 10);
    for (QCPGraph* graph : graphs)
        QVERIFY(!graph->visible());
    view.plot()->replot();
    saveScreenshot(view, "cluster-map-density");

    // Zoomed in far enough, fewer points are in view than the threshold: points again.
    const std::vector<ClusterInfo> clusters = moin::listClusters(*m_workspace, m_firstRun);
    view.plot()->xAxis->setRange(clusters[0].x, view.plot()->xAxis->range().size() / 1000,
                                 Qt::AlignCenter);
    view.plot()->yAxis->setRange(clusters[0].y, view.plot()->yAxis->range().size() / 1000,
                                 Qt::AlignCenter);
    QTRY_VERIFY_WITH_TIMEOUT(!view.isDensityShown(), 3000);
    QVERIFY(!density->visible());

    view.setDensityThreshold(ClusterMapView::kDensityThreshold);
    view.fitAll();
    QVERIFY(!view.isDensityShown());
}

void TestClusterMap::routeIsDrawn()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    const int itemsBefore = view.plot()->itemCount();
    view.showRoute("the linker and the parser", 0, {{0, 0.4f}, {1, 1.2f}, {2, 1.3f}});
    int solid = 0, dashed = 0;
    for (int i = 0; i < view.plot()->itemCount(); ++i) {
        if (auto* line = qobject_cast<QCPItemLine*>(view.plot()->item(i)))
            (line->pen().style() == Qt::DashLine ? dashed : solid) += 1;
    }
    QCOMPARE(solid, 1);
    QCOMPARE(dashed, 2);
    auto* label = view.plot()->findChild<QCPItemText*>("routeLabel");
    QVERIFY(label && label->text().contains("cluster 0"));
    view.plot()->replot();
    saveScreenshot(view, "cluster-map-route");
    view.clearRoute();
    QCOMPARE(view.plot()->itemCount(), itemsBefore);
}

void TestClusterMap::colourModesShowExpertHealth()
{
    // Experts for clusters 0 and 1 (2 has none); questions routed 3 : 1 : 0.
    testsupport::trainTinyExperts(m_directory, m_firstRun, {0, 1});
    for (int cluster : {0, 0, 0, 1})
        testsupport::recordRoutedAnswer(*m_workspace, cluster, 0.5);
    // Gains from the finished jobs, as the workspace holds them.
    std::map<int, double> gain;
    moin::Statement jobs = m_workspace->database().prepare(
        "SELECT cluster, base_perplexity, expert_perplexity FROM training_jobs WHERE run_id = ? "
        "AND state = 'done'");
    jobs.bind(1, m_firstRun);
    while (jobs.step())
        gain[int(jobs.columnInt64(0))] = 1 - jobs.columnDouble(2) / jobs.columnDouble(1);
    QCOMPARE(gain.size(), size_t(2));
    const double extent = std::max({0.01, std::abs(gain[0]), std::abs(gain[1])});

    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(view.colourMode(), ClusterMapView::ColourMode::Cluster);
    auto* legend = view.legend();
    QVERIFY(legend && !legend->isVisible());
    const std::vector<ClusterInfo> clusters = moin::listClusters(*m_workspace, m_firstRun);
    const auto graphs = view.plot()->findChildren<QCPGraph*>(QRegularExpression("^colourPoints"));
    QCOMPARE(graphs.size(), 10);
    // Each band's graph holds exactly the points of the clusters in that band.
    const auto checkGraphs = [&] {
        for (QCPGraph* graph : graphs) {
            const int band = graph->objectName().mid(QString("colourPoints").size()).toInt();
            qint64 expected = 0;
            for (const ClusterInfo& c : clusters)
                expected += view.colourBand(c.cluster) == band ? c.size : 0;
            QCOMPARE(qint64(graph->dataCount()), expected);
        }
        QCOMPARE(view.plottedPointCount(), qint64(kChunks));
    };
    checkGraphs();
    if (QTest::currentTestFailed())
        return;

    // Gain: a scale around zero; the cluster without an expert in the grey band.
    auto* combo = view.findChild<QComboBox*>("colourModeCombo");
    QVERIFY(combo);
    const int gainItem = combo->findData(int(ClusterMapView::ColourMode::Gain));
    combo->setCurrentIndex(gainItem);
    emit combo->activated(gainItem);
    QCOMPARE(view.colourMode(), ClusterMapView::ColourMode::Gain);
    QVERIFY(legend->isVisible());
    QCOMPARE(view.colourBand(2), ClusterMapView::noValueBand());
    for (int c : {0, 1}) {
        const int band = std::clamp(
            int(std::floor((gain[c] + extent) / (2 * extent) * 9)), 0, 8);
        QCOMPARE(view.colourBand(c), band);
        QCOMPARE(view.clusterColourShown(c), legend->colours()[size_t(band)]);
    }
    // The larger gain sits at an end of the scale.
    const int top = std::abs(gain[0]) >= std::abs(gain[1]) ? 0 : 1;
    QCOMPARE(view.colourBand(top), gain[top] >= 0 ? 8 : 0);
    QCOMPARE(legend->colours().size(), size_t(9));
    const QString extentText = QLocale().toString(extent * 100, 'f', 1);
    QCOMPARE(legend->lowText(), QStringLiteral("−%1 %").arg(extentText));
    QCOMPARE(legend->highText(), QStringLiteral("+%1 %").arg(extentText));
    QCOMPARE(legend->noneText(), QString("no expert"));
    QVERIFY(legend->title().contains("gain"));
    checkGraphs();
    if (QTest::currentTestFailed())
        return;
    saveScreenshot(view, "cluster-map-gain");

    // The density image takes the same bands.
    view.setDensityThreshold(50);
    QVERIFY(view.isDensityShown());
    std::set<int> bands;
    QCPColorMapData* data = view.plot()->findChild<QCPColorMap*>()->data();
    for (int x = 0; x < data->keySize(); ++x) {
        for (int y = 0; y < data->valueSize(); ++y) {
            if (!std::isnan(data->cell(x, y)))
                bands.insert(int(std::floor(data->cell(x, y))));
        }
    }
    for (int band : bands) {
        QVERIFY2(band == view.colourBand(0) || band == view.colourBand(1)
                     || band == view.colourBand(2),
                 qPrintable(QString::number(band)));
    }
    view.setDensityThreshold(ClusterMapView::kDensityThreshold);
    QVERIFY(!view.isDensityShown());

    // Traffic: the busiest cluster at the top, the one without questions grey.
    view.setColourMode(ClusterMapView::ColourMode::Traffic);
    QCOMPARE(combo->currentData().toInt(), int(ClusterMapView::ColourMode::Traffic));
    QCOMPARE(view.colourBand(0), 8);
    QCOMPARE(view.colourBand(1), 2); // 1 of 3 questions: the third ninth of the scale
    QCOMPARE(view.colourBand(2), ClusterMapView::noValueBand());
    QCOMPARE(legend->lowText(), QString("1"));
    QCOMPARE(legend->highText(), QString("3"));
    QCOMPARE(legend->noneText(), QString("no questions"));
    QVERIFY(view.clusterColourShown(0) != view.clusterColourShown(1));
    checkGraphs();
    if (QTest::currentTestFailed())
        return;
    saveScreenshot(view, "cluster-map-traffic");

    // Back to clusters: the legend goes, every cluster has its own colour again.
    view.setColourMode(ClusterMapView::ColourMode::Cluster);
    QVERIFY(!legend->isVisible());
    QVERIFY(view.clusterColourShown(0) != view.clusterColourShown(1));
    QVERIFY(view.clusterColourShown(1) != view.clusterColourShown(2));
    checkGraphs();
}

void TestClusterMap::dialogStartsANewRun()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    const size_t runsBefore = moin::listClusterRuns(*m_workspace).size();
    QSignalSpy created(&view, &ClusterMapView::runCreated);

    QTest::mouseClick(view.findChild<QPushButton*>("newRunButton"), Qt::LeftButton);
    ClusterRunDialog* dialog = nullptr;
    QTRY_VERIFY((dialog = view.findChild<ClusterRunDialog*>()) && dialog->isVisible());
    QCOMPARE(dialog->findChild<QSpinBox*>("clusters")->value(), 3); // the shown run's k
    dialog->findChild<QSpinBox*>("clusters")->setValue(4);
    auto* layout = dialog->findChild<QComboBox*>("layout");
    layout->setCurrentIndex(layout->findData("pca"));
    QSignalSpy finished(dialog, &ClusterRunDialog::runFinished);
    QSignalSpy stopped(dialog, &ClusterRunDialog::runStopped);
    QTest::mouseClick(dialog->findChild<QPushButton*>("runButton"), Qt::LeftButton);
    QVERIFY(dialog->isRunning());
    QVERIFY(dialog->findChild<QProgressBar*>("runProgress")->isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !stopped.isEmpty(), 120000);
    QVERIFY2(stopped.isEmpty(), qPrintable(stopped.value(0).value(0).toString()));
    QCOMPARE(created.size(), 1);
    const qint64 runId = created.first().at(0).toLongLong();
    QCOMPARE(finished.first().at(0).toLongLong(), runId);
    QVERIFY(runId > m_firstRun);

    const auto runs = moin::listClusterRuns(*m_workspace);
    QCOMPARE(runs.size(), runsBefore + 1);
    QCOMPARE(runs.back().id, runId);
    QCOMPARE(runs.back().k, 4);
    QCOMPARE(moin::activeClusterRun(*m_workspace), runId);
    // The view shows the new run.
    QTRY_COMPARE_WITH_TIMEOUT(view.shownRun(), runId, 20000);
    QCOMPARE(view.clusterCount(), 4);
    QCOMPARE(view.plottedPointCount(), qint64(kChunks));
    auto* combo = view.findChild<QComboBox*>("runCombo");
    QCOMPARE(combo->count(), int(runsBefore + 1));
    QCOMPARE(combo->currentData().toLongLong(), runId);
    QVERIFY(combo->currentText().contains("active"));
    QVERIFY(!view.findChild<QPushButton*>("makeActiveButton")->isEnabled());
}

void TestClusterMap::cancelledRunStoresNothing()
{
    const size_t runsBefore = moin::listClusterRuns(*m_workspace).size();
    ClusterRunDialog dialog(m_directory, kChunks);
    QSignalSpy stopped(&dialog, &ClusterRunDialog::runStopped);
    QSignalSpy finished(&dialog, &ClusterRunDialog::runFinished);
    moin::ClusterRunOptions options = dialog.options();
    options.kmeans.k = 5;
    options.embedder.kind = "tfidf";
    dialog.setOptions(options);
    dialog.show();
    QVERIFY(dialog.start());
    dialog.cancel(); // before the worker's first check
    QTRY_VERIFY_WITH_TIMEOUT(!stopped.isEmpty() || !finished.isEmpty(), 60000);
    QVERIFY(stopped.first().at(0).toString().isEmpty()); // cancelled, not failed
    QCOMPARE(finished.size(), 0);
    QVERIFY(dialog.isVisible()); // back to the form
    QVERIFY(dialog.findChild<QLabel*>("runMessage")->text().contains("cancelled"));
    QCOMPARE(moin::listClusterRuns(*m_workspace).size(), runsBefore);

    // k above the number of chunks is refused before anything runs.
    options.kmeans.k = kChunks + 1;
    dialog.findChild<QSpinBox*>("clusters")->setMaximum(kChunks + 10);
    dialog.setOptions(options);
    QVERIFY(!dialog.start());
    QVERIFY(dialog.findChild<QLabel*>("runMessage")->text().contains("Cannot run"));
}

void TestClusterMap::makeActiveSwitchesTheActiveRun()
{
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    const qint64 active = moin::activeClusterRun(*m_workspace);
    QVERIFY(active != m_firstRun); // dialogStartsANewRun made its run active
    auto* combo = view.findChild<QComboBox*>("runCombo");
    const int index = combo->findData(QVariant::fromValue(qint64(m_firstRun)));
    QVERIFY(index >= 0);
    combo->setCurrentIndex(index);
    emit combo->activated(index);
    QTRY_COMPARE_WITH_TIMEOUT(view.shownRun(), qint64(m_firstRun), 20000);
    QCOMPARE(view.clusterCount(), 3);
    auto* makeActive = view.findChild<QPushButton*>("makeActiveButton");
    QVERIFY(makeActive->isEnabled());
    QSignalSpy changed(&view, &ClusterMapView::activeRunChanged);
    QTest::mouseClick(makeActive, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!changed.isEmpty(), 20000);
    QCOMPARE(moin::activeClusterRun(*m_workspace), m_firstRun);
    QTRY_VERIFY_WITH_TIMEOUT(!view.isLoading() && !makeActive->isEnabled(), 20000);
    QVERIFY(combo->currentText().contains("active"));
}

void TestClusterMap::mainWindowShowsTheMap()
{
    moin::ui::MainWindow window;
    window.resize(1180, 760);
    window.show();
    QSignalSpy opened(window.controller(), &moin::ui::WorkspaceController::opened);
    QSignalSpy failed(window.controller(), &moin::ui::WorkspaceController::failed);
    window.openWorkspace(m_directory);
    QTRY_VERIFY_WITH_TIMEOUT(!opened.isEmpty() || !failed.isEmpty(), 20000);
    QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    window.showView(moin::ui::MainWindow::View::ClusterMap);
    auto* view = window.findChild<ClusterMapView*>("clusterMapView");
    QVERIFY(view && view->isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(view->shownRun(), moin::activeClusterRun(*m_workspace), 20000);
    QCOMPARE(view->plottedPointCount(), qint64(kChunks));
    view->selectCluster(0);
    saveScreenshot(window, "cluster-map");

    // The empty state's button leads to the Corpus view; closing empties the map.
    emit view->corpusViewRequested();
    QCOMPARE(window.currentView(), moin::ui::MainWindow::View::Corpus);
    window.closeWorkspace();
    QCOMPARE(view->shownRun(), qint64(0));
    QCOMPARE(view->plottedPointCount(), qint64(0));
}

void TestClusterMap::dialogRunsHdbscan()
{
    ClusterRunDialog dialog(m_directory, kChunks);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    auto* method = dialog.findChild<QComboBox*>("method");
    auto* clusters = dialog.findChild<QSpinBox*>("clusters");
    auto* minClusterSize = dialog.findChild<QSpinBox*>("minClusterSize");
    QVERIFY(clusters->isVisible() && !minClusterSize->isVisible());
    // Each method shows its own settings.
    method->setCurrentIndex(method->findData("hdbscan"));
    QVERIFY(!clusters->isVisible() && !dialog.findChild<QCheckBox*>("balanced")->isVisible());
    QVERIFY(minClusterSize->isVisible());
    QVERIFY(dialog.findChild<QSpinBox*>("minSamples")->isVisible());
    QCOMPARE(dialog.findChild<QSpinBox*>("reduceDimensions")->value(), 8);
    minClusterSize->setValue(10);
    saveScreenshot(dialog, "cluster-run-dialog-hdbscan");
    QCOMPARE(dialog.options().method, std::string("hdbscan"));
    QCOMPARE(dialog.options().hdbscan.minClusterSize, 10);

    QSignalSpy finished(&dialog, &ClusterRunDialog::runFinished);
    QSignalSpy stopped(&dialog, &ClusterRunDialog::runStopped);
    QVERIFY(dialog.start());
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !stopped.isEmpty(), 120000);
    QVERIFY2(stopped.isEmpty(), qPrintable(stopped.value(0).value(0).toString()));
    const qint64 runId = finished.first().at(0).toLongLong();
    const auto runs = moin::listClusterRuns(*m_workspace);
    QCOMPARE(runs.back().id, runId);
    QCOMPARE(runs.back().k, 3); // the three topics, found by HDBSCAN
    QCOMPARE(moin::activeClusterRun(*m_workspace), runId);

    // The map draws every chunk; those HDBSCAN called noise on their own grey graph.
    ClusterMapView view;
    openView(view);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(view.shownRun(), runId);
    QCOMPARE(view.plottedPointCount(), qint64(kChunks));
    qint64 noise = 0;
    for (const auto& p : moin::listPlacements(*m_workspace, runId))
        noise += p.noise;
    auto* noiseGraph = view.plot()->findChild<QCPGraph*>("noisePoints");
    QVERIFY(noiseGraph);
    QCOMPARE(qint64(noiseGraph->dataCount()), noise);
    QVERIFY(labelText(view, "runInfo").contains("HDBSCAN"));
    saveScreenshot(view, "cluster-map-hdbscan");
}

QTEST_MAIN(TestClusterMap)
#include "tst_clustermap.moc"
