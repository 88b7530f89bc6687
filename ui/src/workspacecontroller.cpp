#include "moin/ui/workspacecontroller.h"

#include "moin/error.h"
#include "moin/workspace.h"

#include <QtConcurrent/QtConcurrentRun>

namespace moin::ui {

struct WorkspaceController::Outcome {
    std::unique_ptr<Workspace> workspace;
    QString error;
};

WorkspaceController::WorkspaceController(QObject* parent) : QObject(parent)
{
    connect(&m_watcher, &QFutureWatcherBase::finished, this, &WorkspaceController::finish);
}

WorkspaceController::~WorkspaceController() { m_watcher.waitForFinished(); }

QString WorkspaceController::directory() const
{
    return m_workspace ? QString::fromStdString(m_workspace->directory()) : QString();
}

void WorkspaceController::open(const QString& directory)
{
    const std::string dir = directory.toStdString();
    start(
        [dir] {
            auto outcome = std::make_shared<Outcome>();
            try {
                outcome->workspace = std::make_unique<Workspace>(Workspace::open(dir));
            } catch (const std::exception& e) {
                outcome->error = QString::fromStdString(e.what());
            }
            return outcome;
        },
        tr("Opening workspace %1…").arg(directory));
}

void WorkspaceController::create(const QString& directory, const QString& name)
{
    const std::string dir = directory.toStdString();
    WorkspaceOptions options;
    options.name = name.toStdString();
    start(
        [dir, options] {
            auto outcome = std::make_shared<Outcome>();
            try {
                outcome->workspace = std::make_unique<Workspace>(Workspace::create(dir, options));
            } catch (const std::exception& e) {
                outcome->error = QString::fromStdString(e.what());
            }
            return outcome;
        },
        tr("Creating workspace %1…").arg(directory));
}

void WorkspaceController::close()
{
    if (!m_workspace)
        return;
    m_workspace.reset();
    emit closed();
}

void WorkspaceController::start(std::function<std::shared_ptr<Outcome>()> work,
                                const QString& what)
{
    if (m_watcher.isRunning())
        return;
    emit busyChanged(true, what);
    m_watcher.setFuture(QtConcurrent::run(std::move(work)));
}

void WorkspaceController::finish()
{
    std::shared_ptr<Outcome> outcome = m_watcher.result();
    emit busyChanged(false, {});
    if (!outcome->workspace) {
        emit failed(outcome->error);
        return;
    }
    if (m_workspace) {
        m_workspace.reset();
        emit closed();
    }
    m_workspace = std::move(outcome->workspace);
    emit opened(directory());
}

} // namespace moin::ui
