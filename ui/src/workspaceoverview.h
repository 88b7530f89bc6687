#pragma once
#include <QWidget>

class QFormLayout;
class QLabel;
class QTreeWidget;

namespace moin {
class Workspace;
}

namespace moin::ui {

/// The workspace at a glance: where it is, what it holds, and its activity log.
class WorkspaceOverview : public QWidget {
    Q_OBJECT
public:
    explicit WorkspaceOverview(QWidget* parent = nullptr);
    /// Re-reads everything from `workspace` (small queries; called on the UI thread).
    void showWorkspace(Workspace& workspace);
    void clear();

private:
    QLabel* m_title = nullptr;
    QLabel* m_folder = nullptr;
    QLabel* m_schema = nullptr;
    QLabel* m_created = nullptr;
    QLabel* m_baseModel = nullptr;
    QTreeWidget* m_activity = nullptr;
};

} // namespace moin::ui
