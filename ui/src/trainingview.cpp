#include "trainingview.h"
#include "widgetstyle.h"

#include "jobtablemodel.h"
#include "losscurvepanel.h"
#include "specialisationpanel.h"
#include "moin/ui/appsettings.h"
#include "moin/workspace.h"
#include "trainingform.h"

#include <QAbstractButton>
#include <QAction>
#include <QCoreApplication>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLocale>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QPainterPath>
#include <QPushButton>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <random>

namespace moin::ui {

namespace {
constexpr int kPollIntervalMs = 1000;
/// Curves drawn at once; more selected jobs are listed but not drawn.
constexpr int kMaxCurves = 8;
/// Curves drawn while no row is selected.
constexpr int kDefaultCurves = 5;
/// Columns the user hid (header context menu).
constexpr auto kHiddenColumnsKey = "training/table/hiddenColumns";
enum Page { NoRunPage, NoJobsPage, ContentPage };

/// `singular` or `plural` (both translated, with %L1 for the count) by `count`.
QString counted(qint64 count, const QString& singular, const QString& plural)
{
    return (count == 1 ? singular : plural).arg(count);
}

/// 950, 12.3k, 4.56M, 7.89G: a count that fits a card.
QString compactNumber(double value)
{
    const QLocale locale;
    if (!std::isfinite(value))
        return QStringLiteral("0");
    if (std::abs(value) < 10'000)
        return locale.toString(qint64(std::llround(value)));
    const char* units[] = {"k", "M", "G", "T"};
    int unit = -1;
    while (std::abs(value) >= 1000 && unit < 3) {
        value /= 1000;
        ++unit;
    }
    const int decimals = std::abs(value) < 10 ? 2 : std::abs(value) < 100 ? 1 : 0;
    return locale.toString(value, 'f', decimals) + QLatin1String(units[unit]);
}

enum class Illustration { Clusters, Curves };

/// The picture of an empty state, drawn rather than shipped: three clouds of points (no
/// clustering run) or falling loss curves (no jobs).
QPixmap illustration(Illustration kind, qreal ratio)
{
    constexpr int kSize = 96;
    QPixmap pixmap(QSize(kSize, kSize) * ratio);
    pixmap.setDevicePixelRatio(ratio);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    if (kind == Illustration::Clusters) {
        const QPointF centres[] = {{30, 34}, {66, 30}, {48, 68}};
        std::mt19937 rng(7);
        std::normal_distribution<double> spread(0, 7);
        for (int c = 0; c < 3; ++c) {
            QColor color = LossCurvePanel::curveColor(c);
            color.setAlpha(200);
            painter.setPen(Qt::NoPen);
            painter.setBrush(color);
            for (int i = 0; i < 16; ++i)
                painter.drawEllipse(centres[c] + QPointF(spread(rng), spread(rng)), 3.2, 3.2);
        }
    } else {
        const QColor axis(0x8c, 0x95, 0x9f);
        painter.setPen(QPen(axis, 2, Qt::SolidLine, Qt::RoundCap));
        painter.drawLine(QPointF(14, 12), QPointF(14, 82));
        painter.drawLine(QPointF(14, 82), QPointF(86, 82));
        for (int c = 0; c < 2; ++c) {
            // loss(x) = floor + (start - floor) * exp(-x / tau), drawn upwards.
            const double start = 54 - 8 * c, floor = 12 + 9 * c, tau = 10 + 9 * c;
            QPainterPath curve;
            for (int x = 0; x <= 64; x += 2) {
                const QPointF point(20 + x, 78 - floor - (start - floor) * std::exp(-x / tau));
                if (x == 0)
                    curve.moveTo(point);
                else
                    curve.lineTo(point);
            }
            painter.setPen(QPen(LossCurvePanel::curveColor(c), 3, Qt::SolidLine, Qt::RoundCap,
                                Qt::RoundJoin));
            painter.setBrush(Qt::NoBrush);
            painter.drawPath(curve);
        }
    }
    return pixmap;
}

/// A centred empty state: picture, title, explanation and one button.
QWidget* emptyStatePage(const char* objectName, const QPixmap& picture, const QString& title,
                        const QString& text, QPushButton* button)
{
    auto* icon = new QLabel;
    icon->setPixmap(picture);
    icon->setAlignment(Qt::AlignCenter);
    auto* heading = new QLabel(title);
    heading->setObjectName(QStringLiteral("%1Title").arg(QLatin1String(objectName)));
    heading->setFont(scaledFont(heading->font(), 1.35, true));
    heading->setAlignment(Qt::AlignCenter);
    auto* explanation = mutedLabel(text);
    explanation->setWordWrap(true);
    explanation->setAlignment(Qt::AlignCenter);
    constexpr int kTextWidth = 540;
    explanation->setFixedWidth(kTextWidth);
    // A fixed height as well: a label that wraps would make the page lay out by
    // height-for-width, which gives its stretches nothing and sticks everything to the top.
    explanation->setFixedHeight(explanation->heightForWidth(kTextWidth));

    auto* page = new QWidget;
    page->setObjectName(QLatin1String(objectName));
    auto* layout = new QVBoxLayout(page);
    layout->addStretch(2);
    layout->addWidget(icon);
    layout->addSpacing(4);
    layout->addWidget(heading);
    layout->addWidget(explanation, 0, Qt::AlignHCenter);
    layout->addSpacing(16);
    layout->addWidget(button, 0, Qt::AlignHCenter);
    layout->addStretch(3);
    return page;
}

bool isActive(JobState state)
{
    return state == JobState::Queued || state == JobState::Running || state == JobState::Paused;
}
} // namespace

TrainingView::TrainingView(QWidget* parent) : QWidget(parent)
{
    qRegisterMetaType<moin::ui::TrainingSnapshot>();

    m_store = new TrainingStore;
    m_store->moveToThread(&m_storeThread);
    m_storeThread.setObjectName("training-store");
    // Queued: the store lives on m_storeThread, these slots on the UI thread.
    connect(m_store, &TrainingStore::polled, this, &TrainingView::onPolled,
            Qt::QueuedConnection);
    connect(m_store, &TrainingStore::acted, this, &TrainingView::onActed, Qt::QueuedConnection);
    connect(m_store, &TrainingStore::enqueued, this, &TrainingView::onEnqueued,
            Qt::QueuedConnection);
    m_storeThread.start();

    m_runner = new CoordinatorRunner(&m_cancel);
    m_runner->moveToThread(&m_coordinatorThread);
    m_coordinatorThread.setObjectName("training-coordinator");
    connect(m_runner, &CoordinatorRunner::updated, this, &TrainingView::onCoordinatorUpdate,
            Qt::QueuedConnection);
    connect(m_runner, &CoordinatorRunner::finished, this, &TrainingView::onCoordinatorFinished,
            Qt::QueuedConnection);
    m_coordinatorThread.start();

    m_model = new JobTableModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(JobTableModel::SortRole);

    m_stack = new QStackedWidget;
    m_stack->addWidget(buildNoRunState());
    m_stack->addWidget(buildNoJobsState());
    m_stack->addWidget(buildContent());

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 10, 12, 12);
    layout->setSpacing(8);
    layout->addWidget(buildHeader());
    layout->addWidget(m_stack, 1);

    m_pollTimer = new QTimer(this);
    m_pollTimer->setInterval(kPollIntervalMs);
    connect(m_pollTimer, &QTimer::timeout, this, [this] {
        if (isVisible() || m_training)
            poll();
    });
    clear();
}

TrainingView::~TrainingView()
{
    m_cancel.cancel();
    m_coordinatorThread.quit(); // handled once runTrainingQueue has returned
    m_coordinatorThread.wait();
    m_storeThread.quit();
    m_storeThread.wait();
    delete m_runner; // their threads have ended
    delete m_store;
}

// ---------------------------------------------------------------------------------------------
// Building

QWidget* TrainingView::buildHeader()
{
    auto* title = new QLabel(tr("Experts & training"));
    title->setFont(scaledFont(title->font(), 1.6, true));
    m_runLabel = mutedLabel();
    m_runLabel->setObjectName("runLabel");

    m_formButton = new QPushButton(tr("Train experts…"));
    m_formButton->setObjectName("trainExpertsButton");
    m_formButton->setToolTip(tr("Add training jobs for the clusters of the active run, with "
                                "the hyperparameters of your choice"));
    connect(m_formButton, &QPushButton::clicked, this, [this] { openTrainingForm(); });

    m_workers = new QSpinBox;
    m_workers->setObjectName("workersSpin");
    m_workers->setRange(1, 64);
    m_workers->setValue(TrainingForm::lastWorkers());
    m_workers->setPrefix(tr("Workers: "));
    m_workers->setToolTip(tr("Training processes run at once; the CPU's cores are divided "
                             "between them. Applies the next time training starts."));
    // Remembered where Settings and the training form keep it, so all three agree.
    connect(m_workers, &QSpinBox::valueChanged, this, &AppSettings::setTrainingWorkers);

    m_trainButton = new QPushButton;
    m_trainButton->setObjectName("startTrainingButton");
    m_trainButton->setMinimumWidth(150);
    connect(m_trainButton, &QPushButton::clicked, this, [this] {
        if (m_training)
            stopTraining();
        else
            startTraining();
    });

    auto* titleRow = new QHBoxLayout;
    titleRow->addWidget(title);
    titleRow->addSpacing(10);
    titleRow->addWidget(m_runLabel, 0, Qt::AlignBottom);
    titleRow->addStretch();
    titleRow->addWidget(m_formButton);
    titleRow->addSpacing(8);
    titleRow->addWidget(m_workers);
    titleRow->addWidget(m_trainButton);

    m_status = new QLabel;
    m_status->setObjectName("trainingStatus");
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->hide();

    auto* header = new QWidget;
    auto* layout = new QVBoxLayout(header);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(6);
    layout->addLayout(titleRow);
    layout->addWidget(m_status);
    return header;
}

QWidget* TrainingView::buildActions()
{
    const auto makeAction = [this](QStyle::StandardPixmap icon, const QString& text,
                                   const QString& tip, const char* name, QueueAction action,
                                   bool all) {
        auto* a = new QAction(style()->standardIcon(icon), text, this);
        a->setObjectName(QLatin1String(name));
        a->setToolTip(tip);
        connect(a, &QAction::triggered, this, [this, action, all] { act(action, all); });
        return a;
    };
    m_pause = makeAction(QStyle::SP_MediaPause, tr("Pause"),
                         tr("Pause the selected jobs: queued ones wait, running ones stop at "
                            "their next checkpoint"),
                         "pauseAction", QueueAction::Pause, false);
    m_pauseAll = makeAction(QStyle::SP_MediaPause, tr("Pause all jobs"),
                            tr("Pause every queued and running job of this run"),
                            "pauseAllAction", QueueAction::Pause, true);
    m_resume = makeAction(QStyle::SP_MediaPlay, tr("Resume"),
                          tr("Queue the selected paused jobs again; they continue from their "
                             "last checkpoint"),
                          "resumeAction", QueueAction::Resume, false);
    m_resumeAll = makeAction(QStyle::SP_MediaPlay, tr("Resume all jobs"),
                             tr("Queue every paused job of this run again"), "resumeAllAction",
                             QueueAction::Resume, true);
    m_cancelJobs = makeAction(QStyle::SP_DialogCancelButton, tr("Cancel"),
                              tr("Cancel the selected jobs; a finished expert of the same "
                                 "cluster stays"),
                              "cancelAction", QueueAction::Cancel, false);
    m_cancelAll = makeAction(QStyle::SP_DialogCancelButton, tr("Cancel all jobs…"),
                             tr("Cancel every queued, running and paused job of this run"),
                             "cancelAllAction", QueueAction::Cancel, true);
    m_retry = makeAction(QStyle::SP_BrowserReload, tr("Retry"),
                         tr("Queue the selected failed or cancelled jobs again, from their "
                            "checkpoint if one is left"),
                         "retryAction", QueueAction::Retry, false);
    m_retryAll = makeAction(QStyle::SP_BrowserReload, tr("Retry all failed jobs"),
                            tr("Queue every failed or cancelled job of this run again"),
                            "retryAllAction", QueueAction::Retry, true);
    m_toFront = makeAction(QStyle::SP_ArrowUp, tr("To front"),
                           tr("Run the selected waiting jobs before the others of the same "
                              "priority"),
                           "moveToFrontAction", QueueAction::MoveToFront, false);
    m_toBack = makeAction(QStyle::SP_ArrowDown, tr("To back"),
                          tr("Run the selected waiting jobs after the others of the same "
                             "priority"),
                          "moveToBackAction", QueueAction::MoveToBack, false);

    auto* row = new QHBoxLayout;
    row->setSpacing(4);
    const auto addButton = [&](QAction* action, QAction* allAction, const char* name) {
        auto* button = new QToolButton;
        button->setObjectName(QLatin1String(name));
        button->setDefaultAction(action);
        button->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        button->setAutoRaise(false);
        if (allAction) {
            auto* menu = new QMenu(button);
            menu->addAction(allAction);
            button->setMenu(menu);
            button->setPopupMode(QToolButton::MenuButtonPopup);
        }
        row->addWidget(button);
    };
    addButton(m_pause, m_pauseAll, "pauseButton");
    addButton(m_resume, m_resumeAll, "resumeButton");
    addButton(m_cancelJobs, m_cancelAll, "cancelButton");
    addButton(m_retry, m_retryAll, "retryButton");
    row->addSpacing(10);
    addButton(m_toFront, nullptr, "moveToFrontButton");
    addButton(m_toBack, nullptr, "moveToBackButton");
    row->addStretch();
    m_selectionLabel = mutedLabel();
    m_selectionLabel->setObjectName("selectionLabel");
    row->addWidget(m_selectionLabel);

    auto* bar = new QWidget;
    bar->setLayout(row);
    row->setContentsMargins(0, 0, 0, 0);
    return bar;
}

QWidget* TrainingView::buildNoRunState()
{
    auto* button = new QPushButton(tr("Open the Cluster map"));
    button->setObjectName("openClusterMapButton");
    button->setMinimumHeight(34);
    connect(button, &QPushButton::clicked, this, &TrainingView::clusterMapRequested);
    return emptyStatePage(
        "noRunState", illustration(Illustration::Clusters, devicePixelRatioF()),
        tr("No clustering run yet"),
        tr("Each expert learns one cluster of the corpus. Group the chunks into clusters in the "
           "Cluster map view first (or run moin cluster on the command line); its clusters "
           "then appear here, ready to train."),
        button);
}

QWidget* TrainingView::buildNoJobsState()
{
    auto* button = new QPushButton(tr("Train experts…"));
    button->setObjectName("emptyTrainButton");
    button->setDefault(true);
    button->setFont(scaledFont(button->font(), 1.25, true));
    button->setMinimumSize(260, 50);
    connect(button, &QPushButton::clicked, this, [this] { openTrainingForm(); });
    return emptyStatePage(
        "noJobsState", illustration(Illustration::Curves, devicePixelRatioF()),
        tr("No experts trained yet"),
        tr("Train one LoRA expert per cluster on the frozen base model: choose a preset and "
           "the clusters, then watch each expert's loss fall and its perplexity on its own "
           "cluster drop below the base model's."),
        button);
}

QWidget* TrainingView::buildContent()
{
    struct Card {
        QLabel** value;
        const char* objectName;
        QString caption;
        QString tip;
    };
    const Card cards[] = {
        {&m_running, "runningTotal", tr("running"), tr("Jobs training now")},
        {&m_queued, "queuedTotal", tr("queued"), tr("Jobs waiting for a worker")},
        {&m_done, "doneTotal", tr("done"), tr("Jobs finished: their experts are ready")},
        {&m_failed, "failedTotal", tr("failed"),
         tr("Jobs that failed after their last attempt; select them and press Retry")},
        {&m_tokens, "tokensTrainedTotal", tr("tokens trained"),
         tr("Training tokens of every step done so far, in all jobs of the workspace")},
        {&m_throughput, "throughputTotal", tr("tokens / s"),
         tr("Training tokens per second of all running jobs together")},
    };
    auto* cardRow = new QHBoxLayout;
    cardRow->setSpacing(10);
    for (const Card& card : cards) {
        QFrame* frame = statCard(card.value, card.objectName, card.caption, card.tip, 6);
        cardRow->addWidget(frame, 1);
    }

    m_table = new QTableView;
    m_table->setObjectName("jobTable");
    m_table->setModel(m_proxy);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->setTextElideMode(Qt::ElideRight);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(JobTableModel::ExpertColumn, Qt::AscendingOrder);
    m_table->verticalHeader()->hide();
    // Fixed row heights: the view never measures 5,000 rows.
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 12);
    m_table->setItemDelegateForColumn(JobTableModel::ExpertColumn, new ExpertDelegate(m_table));
    m_table->setItemDelegateForColumn(JobTableModel::StateColumn,
                                      new StateBadgeDelegate(m_table));
    m_table->setItemDelegateForColumn(JobTableModel::ProgressColumn,
                                      new ProgressBarDelegate(m_table));
    m_table->setContextMenuPolicy(Qt::CustomContextMenu);
    QHeaderView* header = m_table->horizontalHeader();
    header->setHighlightSections(false);
    header->setStretchLastSection(true);
    header->setSectionResizeMode(QHeaderView::Interactive);
    const QFontMetrics metrics = fontMetrics();
    const auto fit = [&](int column, const QString& sample, int extra = 18) {
        const QString title = m_model->headerData(column, Qt::Horizontal, Qt::DisplayRole)
                                  .toString();
        header->resizeSection(column, std::max(metrics.horizontalAdvance(sample),
                                               metrics.horizontalAdvance(title)) + extra);
    };
    fit(JobTableModel::ExpertColumn, QStringLiteral("#000  compiler, parser, regist"));
    fit(JobTableModel::ChunksColumn, QStringLiteral("00,000"));
    fit(JobTableModel::StateColumn, QStringLiteral("Cancelling…"), 30);
    fit(JobTableModel::ProgressColumn, QStringLiteral("000 / 000 █████"));
    fit(JobTableModel::LossColumn, QStringLiteral("0.000"), 14);
    fit(JobTableModel::HeldOutColumn, QStringLiteral("0.000"), 14);
    fit(JobTableModel::BasePplColumn, QStringLiteral("000.0"), 14);
    fit(JobTableModel::ExpertPplColumn, QStringLiteral("000.0"), 14);
    fit(JobTableModel::GainColumn, QStringLiteral("−00.0 %"), 14);
    fit(JobTableModel::QuestionsColumn, QStringLiteral("00,000"), 14);
    fit(JobTableModel::DistanceColumn, QStringLiteral("0.000"), 14);
    // The health columns come last in the model (saved hidden columns keep their numbers) but
    // sit beside the perplexities they summarise.
    for (int column : {JobTableModel::GainColumn, JobTableModel::QuestionsColumn,
                       JobTableModel::DistanceColumn}) {
        header->moveSection(header->visualIndex(column),
                            header->visualIndex(column - 1 == JobTableModel::ErrorColumn
                                                    ? int(JobTableModel::ExpertPplColumn)
                                                    : column - 1)
                                + 1);
    }
    fit(JobTableModel::SpeedColumn, QStringLiteral("00,000"), 14);
    fit(JobTableModel::EtaColumn, QStringLiteral("00 min 00 s"), 14);
    fit(JobTableModel::AttemptsColumn, QStringLiteral("0 of 0"), 14);
    header->setMinimumSectionSize(40);
    // Right-click on the header chooses the columns; the chunk counts (also in the expert's
    // tooltip) start hidden, so that the error column fits beside the numbers.
    const QStringList hidden =
        QSettings().value(kHiddenColumnsKey, QStringList{QString::number(
                                                 int(JobTableModel::ChunksColumn))})
            .toStringList();
    for (const QString& column : hidden)
        m_table->setColumnHidden(column.toInt(), true);
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        QMenu menu;
        for (int column = 1; column < JobTableModel::ColumnCount; ++column) {
            QAction* action = menu.addAction(
                m_model->headerData(column, Qt::Horizontal, Qt::DisplayRole).toString());
            action->setCheckable(true);
            action->setChecked(!m_table->isColumnHidden(column));
            connect(action, &QAction::toggled, this, [this, column](bool shown) {
                m_table->setColumnHidden(column, !shown);
                QStringList hiddenColumns;
                for (int c = 0; c < JobTableModel::ColumnCount; ++c) {
                    if (m_table->isColumnHidden(c))
                        hiddenColumns << QString::number(c);
                }
                QSettings().setValue(kHiddenColumnsKey, hiddenColumns);
            });
        }
        menu.exec(m_table->horizontalHeader()->mapToGlobal(pos));
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        updateActions();
        updateCurves();
    });
    connect(m_table, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        QMenu menu;
        menu.addActions({m_pause, m_resume, m_cancelJobs, m_retry});
        menu.addSeparator();
        menu.addActions({m_toFront, m_toBack});
        menu.exec(m_table->viewport()->mapToGlobal(pos));
    });

    m_curves = new LossCurvePanel;
    m_curves->setObjectName("lossCurves");

    auto* tablePane = new QWidget;
    auto* tableLayout = new QVBoxLayout(tablePane);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->setSpacing(6);
    tableLayout->addWidget(buildActions());
    tableLayout->addWidget(m_table, 1);

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->setObjectName("trainingSplitter");
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(tablePane);
    splitter->addWidget(m_curves);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({330, 260});

    // The jobs and their curves in one tab; whether the finished experts specialise in the
    // other.
    m_specialisation = new SpecialisationPanel;
    m_specialisation->setObjectName("specialisationPanel");
    connect(m_specialisation, &SpecialisationPanel::marginsChanged, this,
            &TrainingView::specialisationChanged);
    m_tabs = new QTabWidget;
    m_tabs->setObjectName("trainingTabs");
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(splitter, tr("Jobs"));
    m_tabs->setTabToolTip(0, tr("The training jobs, their progress and loss curves"));
    m_tabs->addTab(m_specialisation, tr("Specialisation"));
    m_tabs->setTabToolTip(1, tr("Each expert scored on every cluster: does it help its own "
                                "group more than the others?"));

    auto* page = new QWidget;
    page->setObjectName("trainingContent");
    auto* layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(10);
    layout->addLayout(cardRow);
    layout->addWidget(m_tabs, 1);
    return page;
}

// ---------------------------------------------------------------------------------------------
// Workspace and polling

void TrainingView::showWorkspace(Workspace& workspace)
{
    const QString directory = QString::fromStdString(workspace.directory());
    m_directory = directory;
    m_loaded = false;
    m_model->clear();
    m_curves->setCurves({});
    m_specialisation->setDirectory(directory);
    showStatus({});
    QMetaObject::invokeMethod(
        m_store, [store = m_store, directory] { store->setDirectory(directory); },
        Qt::QueuedConnection);
    m_pollTimer->start();
    updatePage();
    updateTrainButton();
    poll();
}

void TrainingView::clear()
{
    if (m_training && !m_stopping)
        stopTraining();
    if (m_form)
        m_form->reject();
    m_directory.clear();
    m_loaded = false;
    m_pollTimer->stop();
    QMetaObject::invokeMethod(
        m_store, [store = m_store] { store->setDirectory({}); }, Qt::QueuedConnection);
    m_model->clear();
    m_curves->setCurves({});
    m_specialisation->setDirectory({});
    updateTotals(QueueTotals{});
    m_runLabel->clear();
    showStatus({});
    updatePage();
    updateActions();
    updateTrainButton();
}

void TrainingView::refresh() { poll(); }

void TrainingView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    poll();
}

void TrainingView::poll()
{
    if (m_directory.isEmpty())
        return;
    if (m_pollInFlight) {
        m_pollAgain = true; // once the answer is in
        return;
    }
    m_pollInFlight = true;
    m_pollAgain = false;
    std::vector<MetricsRequest> requests;
    for (qint64 id : m_curves->jobIds())
        requests.push_back({id, m_curves->lastStep(id)});
    QMetaObject::invokeMethod(
        m_store, [store = m_store, requests] { store->poll(requests); }, Qt::QueuedConnection);
}

void TrainingView::onPolled(const TrainingSnapshot& snapshot)
{
    m_pollInFlight = false;
    ++m_pollCount;
    if (snapshot.directory != m_directory || m_directory.isEmpty()) {
        if (!m_directory.isEmpty())
            poll(); // the answer was for the workspace shown before
        return;
    }
    if (!snapshot.error.isEmpty()) {
        showStatus(tr("Cannot read the training queue: %1").arg(snapshot.error), true);
        m_status->setProperty("pollError", true);
        m_loaded = true;
        updatePage();
        return;
    }
    if (snapshot.clustersLoaded) {
        m_model->setClusters(snapshot.runId, snapshot.clusters);
        m_curves->setCurves({});
    }
    m_model->updateJobs(snapshot.jobs);
    if (snapshot.healthLoaded)
        m_model->updateHealth(snapshot.health);

    // A curve without points asked for all of them; the others for the steps after their last.
    for (const auto& [jobId, points] : snapshot.metrics)
        m_curves->addPoints(jobId, points, m_curves->lastStep(jobId) < 0);

    updateTotals(snapshot.totals);
    if (snapshot.runId > 0) {
        int trained = 0;
        for (const JobTableModel::Row& row : m_model->rows())
            trained += row.job && row.job->state == JobState::Done ? 1 : 0;
        m_runLabel->setText(tr("Clustering run %1 · %2 · %3")
                                .arg(snapshot.runId)
                                .arg(counted(qint64(m_model->rowCount()), tr("%L1 cluster"),
                                             tr("%L1 clusters")),
                                     counted(trained, tr("%L1 expert trained"),
                                             tr("%L1 experts trained"))));
    } else {
        m_runLabel->clear();
    }
    m_loaded = true;
    if (m_status->property("pollError").toBool())
        showStatus({}); // the queue reads again
    updatePage();
    updateActions();
    updateCurves();
    updateTrainButton();
    if (m_pollAgain)
        poll();
}

void TrainingView::updateTotals(const QueueTotals& totals)
{
    const QLocale locale;
    m_running->setText(locale.toString(qint64(totals.running)));
    m_queued->setText(locale.toString(qint64(totals.queued)));
    m_queued->parentWidget()->setToolTip(
        totals.paused > 0 ? tr("Jobs waiting for a worker; %L1 more are paused")
                                .arg(qint64(totals.paused))
                          : tr("Jobs waiting for a worker"));
    m_done->setText(locale.toString(qint64(totals.done)));
    m_failed->setText(locale.toString(qint64(totals.failed)));
    QPalette failedPalette = m_running->palette();
    if (totals.failed > 0)
        failedPalette.setColor(QPalette::WindowText, QColor(0xcf, 0x22, 0x2e));
    m_failed->setPalette(failedPalette);
    m_tokens->setText(compactNumber(double(totals.tokensTrained)));
    m_tokens->setToolTip(tr("%L1 training tokens").arg(qint64(totals.tokensTrained)));
    m_throughput->setText(compactNumber(std::isfinite(totals.tokensPerSecond)
                                            ? totals.tokensPerSecond
                                            : 0.0));
}

void TrainingView::updatePage()
{
    int page = ContentPage;
    if (m_directory.isEmpty())
        page = NoRunPage;
    else if (m_loaded && m_model->runId() == 0)
        page = NoRunPage;
    else if (m_loaded && m_model->jobCount() == 0)
        page = NoJobsPage;
    m_stack->setCurrentIndex(page);
    m_formButton->setEnabled(m_loaded && m_model->runId() > 0 && m_model->rowCount() > 0);
}

// ---------------------------------------------------------------------------------------------
// Selection, actions and curves

std::vector<qint64> TrainingView::selectedJobIds() const
{
    std::vector<qint64> ids;
    for (const QModelIndex& index : m_table->selectionModel()->selectedRows()) {
        const qint64 id = index.data(JobTableModel::JobIdRole).toLongLong();
        if (id > 0)
            ids.push_back(id);
    }
    return ids;
}

std::vector<int> TrainingView::selectedClusters() const
{
    std::vector<int> clusters;
    for (const QModelIndex& index : m_table->selectionModel()->selectedRows())
        clusters.push_back(index.data(JobTableModel::ClusterRole).toInt());
    std::sort(clusters.begin(), clusters.end());
    return clusters;
}

void TrainingView::updateActions()
{
    struct Counts {
        int pausable = 0, resumable = 0, cancellable = 0, retryable = 0, movable = 0;
        void add(const TrainingJob& job)
        {
            const bool requested = !job.request.empty();
            pausable += (job.state == JobState::Queued
                         || (job.state == JobState::Running && !requested)) ? 1 : 0;
            resumable += job.state == JobState::Paused ? 1 : 0;
            cancellable += isActive(job.state) && job.request != "cancel" ? 1 : 0;
            retryable += job.state == JobState::Failed || job.state == JobState::Cancelled;
            movable += job.state == JobState::Queued || job.state == JobState::Paused;
        }
    };
    Counts selected, all;
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    for (const QModelIndex& index : rows) {
        const JobTableModel::Row& row = m_model->row(m_proxy->mapToSource(index).row());
        if (row.job)
            selected.add(*row.job);
    }
    for (const JobTableModel::Row& row : m_model->rows()) {
        if (row.job)
            all.add(*row.job);
    }
    m_pause->setEnabled(selected.pausable > 0);
    m_resume->setEnabled(selected.resumable > 0);
    m_cancelJobs->setEnabled(selected.cancellable > 0);
    m_retry->setEnabled(selected.retryable > 0);
    m_toFront->setEnabled(selected.movable > 0);
    m_toBack->setEnabled(selected.movable > 0);
    m_pauseAll->setEnabled(all.pausable > 0);
    m_resumeAll->setEnabled(all.resumable > 0);
    m_cancelAll->setEnabled(all.cancellable > 0);
    m_retryAll->setEnabled(all.retryable > 0);
    // The menu arrows stay usable while only the "all" variant applies.
    for (QToolButton* button : findChildren<QToolButton*>()) {
        if (button->menu())
            button->setEnabled(button->defaultAction()->isEnabled()
                               || button->menu()->actions().value(0)->isEnabled());
    }
    m_selectionLabel->setText(
        rows.isEmpty() ? tr("Select rows to act on them (Ctrl or Shift for several)")
                       : counted(rows.size(), tr("%L1 row selected"), tr("%L1 rows selected")));
}

void TrainingView::act(QueueAction action, bool all)
{
    std::vector<qint64> ids;
    if (all) {
        for (const JobTableModel::Row& row : m_model->rows()) {
            if (row.job)
                ids.push_back(row.job->id);
        }
    } else {
        ids = selectedJobIds();
    }
    if (ids.empty() || m_directory.isEmpty())
        return;
    const auto run = [this, action, ids] {
        QMetaObject::invokeMethod(
            m_store, [store = m_store, action, ids] { store->act(action, ids); },
            Qt::QueuedConnection);
    };
    if (action == QueueAction::Cancel && all) {
        auto* box = new QMessageBox(
            QMessageBox::Question, tr("Cancel all jobs"),
            tr("Cancel every queued, running and paused job of this run? Running jobs stop at "
               "their next checkpoint; finished experts stay."),
            QMessageBox::Yes | QMessageBox::No, this);
        box->setObjectName("cancelAllBox");
        box->setDefaultButton(QMessageBox::No);
        box->setAttribute(Qt::WA_DeleteOnClose);
        connect(box, &QMessageBox::buttonClicked, this, [box, run](QAbstractButton* button) {
            if (box->standardButton(button) == QMessageBox::Yes)
                run();
        });
        box->open();
        return;
    }
    run();
}

void TrainingView::onActed(int action, qint64 changed, const QString& error)
{
    if (!error.isEmpty()) {
        showStatus(tr("The queue refused the change: %1").arg(error), true);
        poll();
        return;
    }
    QString text;
    switch (QueueAction(action)) {
    case QueueAction::Pause:
        text = counted(changed, tr("%L1 job paused (a running one stops at its next "
                                   "checkpoint)."),
                       tr("%L1 jobs paused (running ones stop at their next checkpoint)."));
        break;
    case QueueAction::Resume:
        text = counted(changed, tr("%L1 job queued again."), tr("%L1 jobs queued again."));
        break;
    case QueueAction::Cancel:
        text = counted(changed, tr("%L1 job cancelled."), tr("%L1 jobs cancelled."));
        break;
    case QueueAction::Retry:
        text = counted(changed, tr("%L1 job queued for another attempt."),
                       tr("%L1 jobs queued for another attempt."));
        break;
    case QueueAction::MoveToFront:
        text = counted(changed, tr("%L1 job moved to the front of the queue."),
                       tr("%L1 jobs moved to the front of the queue."));
        break;
    case QueueAction::MoveToBack:
        text = counted(changed, tr("%L1 job moved to the back of the queue."),
                       tr("%L1 jobs moved to the back of the queue."));
        break;
    }
    if ((QueueAction(action) == QueueAction::Resume || QueueAction(action) == QueueAction::Retry)
        && changed > 0 && !m_training)
        text += QLatin1Char(' ') + tr("Press Start training to run them.");
    showStatus(text);
    poll();
}

void TrainingView::updateCurves()
{
    std::vector<int> rows;
    QString caption;
    const QModelIndexList selected = m_table->selectionModel()->selectedRows();
    if (!selected.isEmpty()) {
        QModelIndexList sorted = selected;
        std::sort(sorted.begin(), sorted.end(),
                  [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
        int withJobs = 0;
        for (const QModelIndex& index : sorted) {
            const int row = m_proxy->mapToSource(index).row();
            if (!m_model->row(row).job)
                continue;
            ++withJobs;
            if (int(rows.size()) < kMaxCurves)
                rows.push_back(row);
        }
        if (withJobs > kMaxCurves) {
            caption = tr("Loss curves of %L1 of the %L2 selected experts")
                          .arg(kMaxCurves)
                          .arg(withJobs);
        } else if (withJobs == 1) {
            caption = tr("Loss curves of the selected expert");
        } else {
            caption = tr("Loss curves of the %L1 selected experts").arg(withJobs);
        }
        if (withJobs == 0)
            caption = tr("The selected clusters have no training jobs yet");
    } else {
        // Nothing selected: the running jobs, then the latest to finish, a few at most.
        std::vector<int> running, finished;
        for (int row = 0; row < m_model->rowCount(); ++row) {
            const std::optional<TrainingJob>& job = m_model->row(row).job;
            if (job && job->state == JobState::Running)
                running.push_back(row);
            else if (job && job->step > 0)
                finished.push_back(row);
        }
        std::stable_sort(finished.begin(), finished.end(), [this](int a, int b) {
            return m_model->row(a).job->finishedAt > m_model->row(b).job->finishedAt;
        });
        rows = running;
        rows.insert(rows.end(), finished.begin(), finished.end());
        if (int(rows.size()) > kDefaultCurves)
            rows.resize(kDefaultCurves);
        if (!rows.empty()) {
            caption = running.empty() ? tr("Loss curves · the latest experts")
                                      : tr("Loss curves · running and latest jobs");
        }
        if (rows.empty())
            caption = tr("Loss curves");
    }

    std::vector<LossCurvePanel::Curve> curves;
    QList<QRgb> used; // each cluster keeps its colour unless another shown curve has it
    for (int row : rows) {
        const JobTableModel::Row& r = m_model->row(row);
        const QStringList words = r.keywords.split(QStringLiteral(", "), Qt::SkipEmptyParts);
        QString label = QStringLiteral("#%1").arg(r.cluster.cluster);
        if (!words.isEmpty())
            label += QStringLiteral(" ") + QStringList(words.mid(0, 2)).join(QStringLiteral(", "));
        QColor color = LossCurvePanel::curveColor(r.cluster.cluster);
        for (int shift = 1; used.contains(color.rgb()) && shift < 10; ++shift)
            color = LossCurvePanel::curveColor(r.cluster.cluster + shift);
        used << color.rgb();
        curves.push_back({r.job->id, r.cluster.cluster, label, color});
    }
    const std::vector<qint64> before = m_curves->jobIds();
    m_curves->setCurves(curves);
    m_curves->setCaption(caption);
    const bool added = std::any_of(curves.begin(), curves.end(), [&](const auto& curve) {
        return std::find(before.begin(), before.end(), curve.jobId) == before.end();
    });
    if (added)
        poll(); // read the new curves' points now, not at the next tick
}

// ---------------------------------------------------------------------------------------------
// The form

TrainingForm* TrainingView::openTrainingForm()
{
    if (m_form) {
        m_form->raise();
        m_form->activateWindow();
        return m_form;
    }
    if (m_model->runId() <= 0)
        return nullptr;
    std::vector<ClusterChoice> clusters;
    clusters.reserve(m_model->rows().size());
    for (const JobTableModel::Row& row : m_model->rows()) {
        ClusterChoice choice;
        choice.cluster = row.cluster.cluster;
        choice.chunks = row.cluster.size;
        choice.keywords = row.keywords;
        choice.busy = row.job && isActive(row.job->state);
        choice.trained = row.job && row.job->state == JobState::Done;
        clusters.push_back(choice);
    }
    auto* form = new TrainingForm(m_model->runId(), std::move(clusters), selectedClusters(),
                                  this);
    form->setAttribute(Qt::WA_DeleteOnClose);
    form->setWorkers(workers());
    m_form = form;
    connect(form, &TrainingForm::submitted, this, [this, form] {
        setWorkers(form->workers());
        updateTrainButton(); // the backend may have changed
        const std::vector<TrainingSpec> specs = form->specs();
        const int priority = form->priority();
        form->setProperty("startAfter", form->startNow());
        QMetaObject::invokeMethod(
            m_store, [store = m_store, specs, priority] { store->enqueue(specs, priority); },
            Qt::QueuedConnection);
    });
    form->open();
    return form;
}

void TrainingView::onEnqueued(qint64 added, const QStringList& problems)
{
    const bool startAfter = m_form && m_form->property("startAfter").toBool();
    if (m_form)
        m_form->finishSubmit(added, problems);
    if (added > 0) {
        QString text = counted(added, tr("%L1 training job added."),
                               tr("%L1 training jobs added."));
        if (!problems.isEmpty()) {
            text += QLatin1Char(' ')
                    + counted(problems.size(), tr("%L1 cluster was refused: %2"),
                              tr("%L1 clusters were refused: %2"))
                          .arg(problems.join(QStringLiteral("; ")));
        }
        showStatus(text, !problems.isEmpty());
        if (startAfter && !m_training)
            startTraining();
    }
    poll();
}

// ---------------------------------------------------------------------------------------------
// The coordinator

QString TrainingView::workerExecutable() const
{
    return m_workerExecutable.isEmpty()
               ? QCoreApplication::applicationDirPath() + QStringLiteral("/moin")
               : m_workerExecutable;
}

void TrainingView::setWorkers(int workers) { m_workers->setValue(workers); }

int TrainingView::workers() const { return m_workers->value(); }

bool TrainingView::startTraining()
{
    if (m_directory.isEmpty() || m_training)
        return false;
    const QString executable = workerExecutable();
    if (!QFileInfo(executable).isExecutable()) {
        showStatus(tr("Cannot start training: the worker program %1 is missing. Reinstall MoIN "
                      "Studio, or run moin train in a terminal.")
                       .arg(executable),
                   true);
        return false;
    }
    CoordinatorOptions options;
    options.workerExecutable = executable.toStdString();
    AppSettings::applyTo(options); // device and threads per worker from Settings
    options.workers = workers();
    options.exitWhenIdle = true;
    // Where workers run is a setting of the training form (remembered across sessions).
    options.backend = TrainingForm::lastBackend();
    options.slurm = TrainingForm::lastSlurmOptions();
    m_cancel.reset();
    m_training = true;
    m_stopping = false;
    const QString directory = m_directory;
    QMetaObject::invokeMethod(
        m_runner, [runner = m_runner, directory, options] { runner->run(directory, options); },
        Qt::QueuedConnection);
    if (options.backend == TrainingBackend::Slurm)
        showStatus(tr("Training started on the Slurm cluster: queued jobs are submitted with "
                      "sbatch as one job array."));
    else
        showStatus(counted(options.workers, tr("Training started with %L1 worker."),
                           tr("Training started with %L1 workers.")));
    updateTrainButton();
    emit trainingChanged(true);
    return true;
}

void TrainingView::stopTraining()
{
    if (!m_training || m_stopping)
        return;
    m_stopping = true;
    m_cancel.cancel();
    showStatus(tr("Stopping: each running job finishes its step, writes a checkpoint and goes "
                  "back to the queue…"));
    updateTrainButton();
}

void TrainingView::onCoordinatorUpdate(const QStringList& events)
{
    // Steps and losses arrive with the next timed poll; a job starting or ending is shown now.
    if (events.isEmpty())
        return;
    showStatus(events.constLast());
    m_status->setToolTip(events.join(QLatin1Char('\n')));
    poll();
}

void TrainingView::onCoordinatorFinished(const QString& error)
{
    const bool stopped = m_stopping;
    m_training = false;
    m_stopping = false;
    if (!error.isEmpty())
        showStatus(tr("Training stopped on an error: %1").arg(error), true);
    else if (stopped)
        showStatus(tr("Training stopped. Unfinished jobs are queued again and resume from their "
                      "last checkpoint when training starts again."));
    else
        showStatus(tr("Training finished: no job is left in the queue."));
    updateTrainButton();
    emit trainingChanged(false);
    poll();
}

void TrainingView::updateTrainButton()
{
    if (m_stopping) {
        m_trainButton->setText(tr("Stopping…"));
        m_trainButton->setIcon(style()->standardIcon(QStyle::SP_BrowserStop));
        m_trainButton->setEnabled(false);
        m_trainButton->setToolTip(tr("Waiting for the workers to write their checkpoints"));
    } else if (m_training) {
        m_trainButton->setText(tr("Stop"));
        m_trainButton->setIcon(style()->standardIcon(QStyle::SP_MediaStop));
        m_trainButton->setEnabled(true);
        m_trainButton->setToolTip(tr("Stop training: running jobs write a checkpoint and go "
                                     "back to the queue"));
    } else {
        m_trainButton->setText(tr("Start training"));
        m_trainButton->setIcon(style()->standardIcon(QStyle::SP_MediaPlay));
        m_trainButton->setEnabled(!m_directory.isEmpty());
        m_trainButton->setToolTip(tr("Run the queued jobs, a few workers at a time, until the "
                                     "queue is empty"));
    }
    m_workers->setEnabled(!m_training);
    // On a Slurm cluster the form's "Jobs at once" throttles the job array instead.
    m_workers->setVisible(TrainingForm::lastBackend() != TrainingBackend::Slurm);
}

void TrainingView::showStatus(const QString& text, bool error)
{
    m_status->setText(text);
    m_status->setVisible(!text.isEmpty());
    m_status->setProperty("pollError", false);
    m_status->setToolTip(QString());
    QPalette palette = this->palette();
    if (error)
        palette.setColor(QPalette::WindowText, QColor(0xcf, 0x22, 0x2e));
    m_status->setPalette(palette);
}

} // namespace moin::ui
