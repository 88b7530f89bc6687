#pragma once
#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>

namespace moin {
class Workspace;
}

namespace moin::ui {

/// Owns the open workspace of a window. Opening and creating run off the UI thread (an integrity
/// check or a schema upgrade of a large workspace takes time); results arrive as signals.
class WorkspaceController : public QObject {
    Q_OBJECT
public:
    explicit WorkspaceController(QObject* parent = nullptr);
    ~WorkspaceController() override;

    /// Starts opening `directory`; emits opened() or failed(). Ignored while busy.
    void open(const QString& directory);
    /// Starts creating a workspace in `directory`, then opens it; emits opened() or failed().
    void create(const QString& directory, const QString& name = {});
    void close();

    bool isOpen() const { return m_workspace != nullptr; }
    bool isBusy() const { return m_watcher.isRunning(); }
    /// The open workspace, or nullptr. Valid until close() or the next opened().
    Workspace* workspace() const { return m_workspace.get(); }
    QString directory() const;

signals:
    void busyChanged(bool busy, const QString& what);
    void opened(const QString& directory);
    void closed();
    /// `message` says what went wrong and what to do; nothing was changed.
    void failed(const QString& message);

private:
    struct Outcome;
    void start(std::function<std::shared_ptr<Outcome>()> work, const QString& what);
    void finish();

    std::unique_ptr<Workspace> m_workspace;
    QFutureWatcher<std::shared_ptr<Outcome>> m_watcher;
};

} // namespace moin::ui
