#pragma once
#include <QWidget>

class QListWidget;
class QListWidgetItem;

namespace moin::ui {

/// Shown while no workspace is open: create, open, or pick a recent workspace.
class WelcomePage : public QWidget {
    Q_OBJECT
public:
    explicit WelcomePage(QWidget* parent = nullptr);
    /// Re-reads the recent list (folders that no longer exist are shown greyed out).
    void refresh();
    QListWidget* recentList() const { return m_recent; }

signals:
    void newWorkspaceRequested();
    void openWorkspaceRequested();
    void recentWorkspaceActivated(const QString& directory);

private:
    QListWidget* m_recent = nullptr;
};

} // namespace moin::ui
