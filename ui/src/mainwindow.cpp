#include "moin/ui/mainwindow.h"

#include "chatengine.h"
#include "chatview.h"
#include "clustermapview.h"
#include "corpusview.h"
#include "emptystateview.h"
#include "moin/blaskernels.h"
#include "moin/device.h"
#include "moin/ui/appsettings.h"
#include "moin/ui/recentworkspaces.h"
#include "moin/ui/workspacecontroller.h"
#include "moin/version.h"
#include "moin/workspace.h"
#include "settingsdialog.h"
#include "trainingview.h"
#include "welcomepage.h"
#include "workspaceoverview.h"

#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QStyle>

// moin_ui is a static library: its compiled-in resources must be registered explicitly.
static void initUiResources() { Q_INIT_RESOURCE(resources); }

namespace moin::ui {

namespace {
constexpr auto kGeometryKey = "mainwindow/geometry";
constexpr auto kStateKey = "mainwindow/state";
constexpr auto kViewKey = "mainwindow/view";

bool isMissingOrEmptyFolder(const QString& directory)
{
    const QDir dir(directory);
    return !dir.exists() || dir.isEmpty(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden);
}
} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    initUiResources();
    setWindowIcon(QIcon(":/moin/icons/moin-studio.svg"));
    m_controller = new WorkspaceController(this);

    m_welcome = new WelcomePage;
    connect(m_welcome, &WelcomePage::newWorkspaceRequested, this,
            &MainWindow::newWorkspaceDialog);
    connect(m_welcome, &WelcomePage::openWorkspaceRequested, this,
            &MainWindow::openWorkspaceDialog);
    connect(m_welcome, &WelcomePage::recentWorkspaceActivated, this,
            [this](const QString& directory) { openWorkspace(directory); });

    buildWorkspacePages();
    m_pages = new QStackedWidget;
    m_pages->addWidget(m_welcome);
    m_pages->addWidget(m_workspacePage);
    setCentralWidget(m_pages);

    m_statusWorkspace = new QLabel;
    m_statusDevice = new QLabel;
    m_busy = new QProgressBar;
    m_busy->setRange(0, 0); // indeterminate: opening has no measurable steps
    m_busy->setMaximumWidth(160);
    m_busy->hide();
    statusBar()->addWidget(m_statusWorkspace, 1);
    statusBar()->addPermanentWidget(m_busy);
    statusBar()->addPermanentWidget(m_statusDevice);
    updateDeviceStatus();

    buildMenus();

    connect(m_controller, &WorkspaceController::opened, this, &MainWindow::onOpened);
    connect(m_controller, &WorkspaceController::closed, this, &MainWindow::onClosed);
    connect(m_controller, &WorkspaceController::failed, this, [this](const QString& message) {
        showError(tr("Cannot open workspace"), message);
    });
    connect(m_controller, &WorkspaceController::busyChanged, this,
            [this](bool busy, const QString& what) {
                m_busy->setVisible(busy);
                if (busy)
                    statusBar()->showMessage(what);
                else
                    statusBar()->clearMessage();
            });

    QSettings settings;
    if (!restoreGeometry(settings.value(kGeometryKey).toByteArray()))
        resize(1180, 760);
    restoreState(settings.value(kStateKey).toByteArray());
    m_navigation->setCurrentRow(settings.value(kViewKey, 0).toInt());
    onClosed();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildWorkspacePages()
{
    m_navigation = new QListWidget;
    m_navigation->setObjectName("navigation");
    m_navigation->setIconSize(QSize(22, 22));
    m_navigation->setFixedWidth(190);
    m_navigation->setSpacing(2);
    m_navigation->setFrameShape(QFrame::NoFrame);
    QPalette navPalette = m_navigation->palette();
    navPalette.setColor(QPalette::Base, navPalette.color(QPalette::Window).darker(106));
    m_navigation->setPalette(navPalette);

    m_views = new QStackedWidget;
    m_overview = new WorkspaceOverview;
    m_views->addWidget(m_overview);
    m_corpus = new CorpusView;
    m_corpus->setObjectName("corpusView");
    auto* clusterMap = new ClusterMapView;
    clusterMap->setObjectName("clusterMapView");
    // An import writes to the activity log that the Overview shows, and changes what the map
    // can show.
    connect(m_corpus, &CorpusView::corpusChanged, this, [this, clusterMap] {
        if (Workspace* workspace = m_controller->workspace())
            m_overview->showWorkspace(*workspace);
        clusterMap->refresh();
    });
    connect(m_controller, &WorkspaceController::opened, clusterMap,
            [this, clusterMap] { clusterMap->showWorkspace(*m_controller->workspace()); });
    connect(m_controller, &WorkspaceController::closed, clusterMap, &ClusterMapView::clear);
    connect(clusterMap, &ClusterMapView::corpusViewRequested, this,
            [this] { showView(View::Corpus); });

    auto* training = new TrainingView;
    m_training = training;
    training->setObjectName("trainingView");
    connect(m_controller, &WorkspaceController::opened, training,
            [this, training] { training->showWorkspace(*m_controller->workspace()); });
    connect(m_controller, &WorkspaceController::closed, training, &TrainingView::clear);
    connect(training, &TrainingView::clusterMapRequested, this,
            [this] { showView(View::ClusterMap); });
    // The map marks experts whose specialisation margin is negative.
    connect(training, &TrainingView::specialisationChanged, clusterMap,
            &ClusterMapView::refresh);

    auto* chat = new ChatView;
    m_chat = chat;
    chat->setObjectName("chatView");
    connect(m_controller, &WorkspaceController::opened, chat,
            [this, chat] { chat->showWorkspace(*m_controller->workspace()); });
    connect(m_controller, &WorkspaceController::closed, chat, &ChatView::clear);
    connect(chat, &ChatView::expertsViewRequested, this, [this] { showView(View::Experts); });
    // Chat -> Cluster map: an answer's badge shows where its question went. The map reads its
    // run when first shown, so the route waits for it when needed.
    connect(chat, &ChatView::showExpertOnMap, this,
            [this, clusterMap](int expert, const QString& query,
                               const QList<QPair<int, float>>& candidates) {
                showView(View::ClusterMap);
                const auto show = [clusterMap, expert, query, candidates] {
                    clusterMap->centreOnCluster(expert);
                    clusterMap->showRoute(query, expert, candidates);
                };
                if (clusterMap->isLoading() || clusterMap->shownRun() == 0)
                    connect(clusterMap, &ClusterMapView::loaded, this, show,
                            Qt::SingleShotConnection);
                else
                    show();
            });
    // A run made active on the map changes who answers: the chat reloads its engine.
    connect(clusterMap, &ClusterMapView::activeRunChanged, chat, &ChatView::refresh);

    QStyle* s = style();
    struct Entry {
        QString name;
        QIcon icon;
        QWidget* view;
    };
    const Entry entries[] = {
        {tr("Overview"), QIcon(":/moin/icons/moin-studio.svg"), m_overview},
        {tr("Corpus"), s->standardIcon(QStyle::SP_FileDialogContentsView), m_corpus},
        {tr("Cluster map"), s->standardIcon(QStyle::SP_DesktopIcon), clusterMap},
        {tr("Experts & training"), s->standardIcon(QStyle::SP_ComputerIcon), training},
        {tr("Chat"), s->standardIcon(QStyle::SP_MessageBoxQuestion), chat},
    };
    for (const Entry& entry : entries) {
        auto* item = new QListWidgetItem(entry.icon, entry.name);
        item->setSizeHint(QSize(0, 40));
        m_navigation->addItem(item);
        if (entry.view == m_overview)
            continue;
        if (auto* empty = qobject_cast<EmptyStateView*>(entry.view)) {
            empty->setStatus(tr("This view is not in this version of MoIN Studio yet. From the "
                                "command line: moin cluster, moin clusters and moin route."));
        }
        m_views->addWidget(entry.view);
    }
    connect(m_navigation, &QListWidget::currentRowChanged, m_views,
            &QStackedWidget::setCurrentIndex);

    m_workspacePage = new QWidget;
    auto* layout = new QHBoxLayout(m_workspacePage);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_navigation);
    layout->addWidget(m_views, 1);
}

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* newAction = file->addAction(tr("&New Workspace…"), this,
                                         &MainWindow::newWorkspaceDialog);
    newAction->setShortcut(QKeySequence::New);
    QAction* openAction = file->addAction(tr("&Open Workspace…"), this,
                                          &MainWindow::openWorkspaceDialog);
    openAction->setShortcut(QKeySequence::Open);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, &MainWindow::refreshRecentMenu);
    m_closeAction = file->addAction(tr("&Close Workspace"), this, &MainWindow::closeWorkspace);
    m_closeAction->setShortcut(QKeySequence::Close);
    file->addSeparator();
    QAction* settings = file->addAction(tr("&Settings…"), this, &MainWindow::showSettings);
    settings->setObjectName("settingsAction");
    settings->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    settings->setMenuRole(QAction::PreferencesRole);
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (int row = 0; row < m_navigation->count(); ++row) {
        // '&&': the view names are plain text, and "Experts & training" has an ampersand.
        const QString name = m_navigation->item(row)->text().replace(QLatin1Char('&'),
                                                                     QLatin1String("&&"));
        QAction* action = view->addAction(name, this,
                                          [this, row] { m_navigation->setCurrentRow(row); });
        action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + row)));
    }

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About MoIN Studio"), this, &MainWindow::showAbout);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
    refreshRecentMenu();
}

void MainWindow::refreshRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = RecentWorkspaces::list();
    for (const QString& directory : recent) {
        m_recentMenu->addAction(QDir::toNativeSeparators(directory), this,
                                [this, directory] { openWorkspace(directory); });
    }
    if (recent.isEmpty()) {
        m_recentMenu->addAction(tr("(none)"))->setEnabled(false);
        return;
    }
    m_recentMenu->addSeparator();
    m_recentMenu->addAction(tr("Clear List"), this, [this] {
        RecentWorkspaces::clear();
        m_welcome->refresh();
    });
}

void MainWindow::openWorkspace(const QString& directory, bool createIfMissing)
{
    if (createIfMissing && isMissingOrEmptyFolder(directory))
        m_controller->create(directory);
    else
        m_controller->open(directory);
}

void MainWindow::closeWorkspace() { m_controller->close(); }

void MainWindow::showView(View view) { m_navigation->setCurrentRow(static_cast<int>(view)); }

MainWindow::View MainWindow::currentView() const
{
    return static_cast<View>(m_navigation->currentRow());
}

void MainWindow::newWorkspaceDialog()
{
    const QString directory = QFileDialog::getExistingDirectory(
        this, tr("Choose an empty folder for the new workspace"), QDir::homePath());
    if (directory.isEmpty())
        return;
    if (Workspace::exists(directory.toStdString())) {
        showError(tr("Cannot create workspace"),
                  tr("%1 already holds a workspace. Use Open Workspace to open it.")
                      .arg(QDir::toNativeSeparators(directory)));
        return;
    }
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("New workspace"), tr("Name:"),
                                               QLineEdit::Normal, QDir(directory).dirName(), &ok);
    if (ok)
        m_controller->create(directory, name);
}

void MainWindow::openWorkspaceDialog()
{
    const QString directory = QFileDialog::getExistingDirectory(
        this, tr("Open a workspace folder"), QDir::homePath());
    if (!directory.isEmpty())
        openWorkspace(directory);
}

void MainWindow::onOpened(const QString& directory)
{
    RecentWorkspaces::add(directory);
    m_welcome->refresh();
    m_overview->showWorkspace(*m_controller->workspace());
    m_corpus->showWorkspace(*m_controller->workspace());
    m_pages->setCurrentWidget(m_workspacePage);
    m_closeAction->setEnabled(true);
    const int upgradedFrom = m_controller->workspace()->openedFromVersion();
    const int version = m_controller->workspace()->schemaVersion();
    m_statusWorkspace->setText(QDir::toNativeSeparators(directory));
    if (upgradedFrom != version) {
        statusBar()->showMessage(
            tr("Upgraded the workspace from schema version %1 to %2.").arg(upgradedFrom).arg(version),
            8000);
    }
    updateTitle();
}

void MainWindow::onClosed()
{
    m_overview->clear();
    m_corpus->clear();
    m_welcome->refresh();
    m_pages->setCurrentWidget(m_welcome);
    m_closeAction->setEnabled(false);
    m_statusWorkspace->setText(tr("No workspace open"));
    updateTitle();
}

void MainWindow::updateTitle()
{
    Workspace* workspace = m_controller->workspace();
    setWindowTitle(workspace ? tr("%1 — MoIN Studio").arg(QString::fromStdString(workspace->name()))
                             : tr("MoIN Studio"));
}

SettingsDialog* MainWindow::showSettings()
{
    auto* dialog = new SettingsDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this,
            [this, dialog] { applySettings(dialog->changes()); });
    dialog->open();
    return dialog;
}

void MainWindow::applySettings(int changes)
{
    if (changes & SettingsDialog::TrainingChanged)
        m_training->setWorkers(AppSettings::trainingWorkers());
    // A loaded chat model takes the new options now, unless that would stop an answer.
    if ((changes & SettingsDialog::ServingChanged)
        && (m_chat->engine()->isOpen() || m_chat->engine()->isOpening()) && !m_chat->isBusy())
        m_chat->reloadEngine();
    updateDeviceStatus();
    if (changes & SettingsDialog::LanguageChanged)
        offerRestart();
}

void MainWindow::offerRestart()
{
    // Quitting stops training and answers: only offered when nothing would be lost.
    if (m_training->isTraining() || m_chat->isBusy()) {
        statusBar()->showMessage(
            tr("The new language is shown when MoIN Studio starts again."), 10000);
        return;
    }
    auto* box = new QMessageBox(QMessageBox::Question, tr("Language"),
                                tr("The new language is shown when MoIN Studio starts again. "
                                   "Restart now? The open workspace and view are opened "
                                   "again."),
                                QMessageBox::NoButton, this);
    box->setObjectName("restartBox");
    QPushButton* restart = box->addButton(tr("&Restart Now"), QMessageBox::AcceptRole);
    restart->setObjectName("restartNow");
    box->addButton(tr("&Later"), QMessageBox::RejectRole);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(restart, &QPushButton::clicked, this, &MainWindow::restart, Qt::QueuedConnection);
    box->open();
}

void MainWindow::restart()
{
    QStringList arguments;
    if (Workspace* workspace = m_controller->workspace()) {
        static const char* const viewNames[] = {"overview", "corpus", "map", "experts", "chat"};
        arguments << QString::fromStdString(workspace->directory()) << QStringLiteral("--view")
                  << QLatin1String(viewNames[int(currentView())]);
    }
    // Started first, so that a failure leaves this window as it was.
    if (!QProcess::startDetached(QCoreApplication::applicationFilePath(), arguments)) {
        showError(tr("Cannot restart"),
                  tr("MoIN Studio could not start itself again; quit and start it as usual."));
        return;
    }
    close(); // saves the geometry and view as quitting does
    QCoreApplication::quit();
}

void MainWindow::updateDeviceStatus()
{
    QString device = AppSettings::device();
    const bool automatic = device == QLatin1String("auto");
    if (automatic)
        device = QString::fromStdString(defaultDeviceId());
    const QString label = device == QLatin1String("cpu") ? tr("CPU") : device;
    m_statusDevice->setText(tr("Device: %1").arg(label));
    m_statusDevice->setToolTip(automatic ? tr("Compute device for training and generation, "
                                              "chosen automatically (Settings)")
                                         : tr("Compute device for training and generation, "
                                              "chosen in Settings"));
}

void MainWindow::showAbout()
{
    // OpenBLAS's kernels and who chose them (see moin/blaskernels.h).
    const BlasKernels blas = blasKernels();
    QString kernels = QString::fromStdString(blas.core);
    if (blas.core.empty())
        kernels = tr("not reported (the BLAS is not OpenBLAS)");
    else if (blas.chosenByMoin)
        kernels = tr("%1 (OPENBLAS_CORETYPE chosen by MoIN Studio for this CPU)").arg(kernels);
    else if (!blas.coretypeVariable.empty())
        kernels = tr("%1 (OPENBLAS_CORETYPE=%2, set by you)")
                      .arg(kernels, QString::fromStdString(blas.coretypeVariable));
    const QString text =
        tr("<h3>MoIN Studio %1</h3>"
           "<p>Train, inspect and chat with a mixture of introvert experts: one LoRA adapter per "
           "semantic group of a corpus, on a frozen base model, each query answered by its "
           "nearest expert.</p>"
           "<table>"
           "<tr><td>Qt</td><td>%2</td></tr>"
           "<tr><td>LibTorch</td><td>%3</td></tr>"
           "<tr><td>FAISS</td><td>%4</td></tr>"
           "<tr><td>SQLite</td><td>%5</td></tr>"
           "<tr><td>QCustomPlot</td><td>%6</td></tr>"
           "<tr><td>Device</td><td>%7</td></tr>"
           "<tr><td>BLAS kernels</td><td>%8</td></tr>"
           "</table>")
            .arg(QString::fromStdString(moinVersion()), QString::fromLatin1(qVersion()),
                 QString::fromStdString(torchVersion()), QString::fromStdString(faissVersion()),
                 QString::fromStdString(sqliteLibraryVersion()),
                 QString::fromLatin1(QCUSTOMPLOT_VERSION_STR),
                 QString::fromStdString(defaultDeviceId()), kernels.toHtmlEscaped());
    auto* box = new QMessageBox(QMessageBox::NoIcon, tr("About MoIN Studio"), text,
                                QMessageBox::Ok, this);
    box->setObjectName("aboutBox");
    box->setIconPixmap(QIcon(":/moin/icons/moin-studio.svg").pixmap(72, 72));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::showError(const QString& title, const QString& message)
{
    // open(), not exec(): a message never blocks the event loop (or a test driving it).
    auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setObjectName("errorBox");
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
    emit errorShown(message);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState());
    settings.setValue(kViewKey, m_navigation->currentRow());
    QMainWindow::closeEvent(event);
}

} // namespace moin::ui
