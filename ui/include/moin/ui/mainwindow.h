#pragma once
#include <QMainWindow>

class QLabel;
class QListWidget;
class QMenu;
class QProgressBar;
class QStackedWidget;

namespace moin::ui {

class ChatView;
class CorpusView;
class EmptyStateView;
class SettingsDialog;
class TrainingView;
class WelcomePage;
class WorkspaceController;
class WorkspaceOverview;

/// The application window: a welcome page while no workspace is open; otherwise a navigation
/// bar (Overview, Corpus, Cluster map, Experts & training, Chat) beside the chosen view.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    /// The views of an open workspace, in navigation order.
    enum class View { Overview, Corpus, ClusterMap, Experts, Chat };
    Q_ENUM(View)

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Opens (or, with createIfMissing and a missing or empty folder, creates) a workspace in the
    /// background; errors are shown in a message box and emitted as errorShown().
    void openWorkspace(const QString& directory, bool createIfMissing = false);
    void closeWorkspace();
    WorkspaceController* controller() const { return m_controller; }

    void showView(View view);
    View currentView() const;

    /// Opens the Settings dialog (not modal; deleted when closed); what it changes is applied
    /// when it is accepted.
    SettingsDialog* showSettings();

signals:
    /// A message box with `message` was shown (it does not block; for tests and logs).
    void errorShown(const QString& message);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void buildWorkspacePages();
    void newWorkspaceDialog();
    void openWorkspaceDialog();
    void showAbout();
    void showError(const QString& title, const QString& message);
    void onOpened(const QString& directory);
    void onClosed();
    void refreshRecentMenu();
    void updateTitle();
    /// Applies SettingsDialog::Changes: workers to the training view, options to a loaded
    /// chat model, the device to the status bar.
    void applySettings(int changes);
    void updateDeviceStatus();
    /// After a language change: asks whether to restart now (when no training or answer runs).
    void offerRestart();
    /// Starts MoIN Studio again on the open workspace and view, and quits.
    void restart();

    WorkspaceController* m_controller = nullptr;
    QStackedWidget* m_pages = nullptr;        // welcome page | workspace page
    WelcomePage* m_welcome = nullptr;
    QWidget* m_workspacePage = nullptr;
    QListWidget* m_navigation = nullptr;
    QStackedWidget* m_views = nullptr;        // one per View, in order
    WorkspaceOverview* m_overview = nullptr;
    CorpusView* m_corpus = nullptr;
    TrainingView* m_training = nullptr;
    ChatView* m_chat = nullptr;
    QMenu* m_recentMenu = nullptr;
    QAction* m_closeAction = nullptr;
    QLabel* m_statusWorkspace = nullptr;
    QLabel* m_statusDevice = nullptr;
    QProgressBar* m_busy = nullptr;
};

} // namespace moin::ui
